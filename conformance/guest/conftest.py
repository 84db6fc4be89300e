"""Fixtures of the guest suite: the integration suite's own (rt, bundle, make_bundle, scratch, and
the host leak check after every test), loaded from conformance/integration/conftest.py, so that
the tests here run exactly like that suite's, against mkrun and, for parity tests, runc."""
import importlib.util
import sys
from pathlib import Path

_INTEGRATION = Path(__file__).resolve().parent.parent / "integration"
sys.path.insert(0, str(_INTEGRATION))  # for `import harness`, as there

_spec = importlib.util.spec_from_file_location("mkrun_integration_conftest",
                                               _INTEGRATION / "conftest.py")
_conftest = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_conftest)
globals().update({k: v for k, v in vars(_conftest).items() if not k.startswith("_")})
