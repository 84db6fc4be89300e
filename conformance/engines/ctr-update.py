#!/usr/bin/python3
"""ctr 1.6 has no `task update`: this sends containerd's Tasks/Update itself, which makes the
runc v2 shim run `<runtime> update --resources=- <id>` exactly as Docker's `docker update` does.

usage: ctr-update.py SOCKET NAMESPACE CONTAINER-ID RESOURCES-JSON
  RESOURCES-JSON is an OCI LinuxResources object, e.g. '{"memory":{"limit":67108864}}'.
Needs python3-grpcio (Debian). The request is encoded by hand (no generated stubs):
  UpdateTaskRequest{container_id=1: string, resources=2: google.protobuf.Any{type_url=1, value=2}}
and containerd's typeurl registers specs.LinuxResources as JSON under the URL below."""
import json
import sys

import grpc

TYPE_URL = "types.containerd.io/opencontainers/runtime-spec/1/LinuxResources"


def varint(n: int) -> bytes:
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def field(num: int, payload: bytes) -> bytes:  # length-delimited field
    return varint(num << 3 | 2) + varint(len(payload)) + payload


def main() -> int:
    sock, ns, cid, resources = sys.argv[1:5]
    value = json.dumps(json.loads(resources), separators=(",", ":")).encode()
    any_msg = field(1, TYPE_URL.encode()) + field(2, value)
    request = field(1, cid.encode()) + field(2, any_msg)
    channel = grpc.insecure_channel("unix://" + sock)
    update = channel.unary_unary("/containerd.services.tasks.v1.Tasks/Update",
                                 request_serializer=lambda b: b, response_deserializer=lambda b: b)
    try:
        update(request, metadata=[("containerd-namespace", ns)], timeout=30)
    except grpc.RpcError as e:
        print(f"ctr-update: {e.code().name}: {e.details()}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
