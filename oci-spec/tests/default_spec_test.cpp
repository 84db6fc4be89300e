// default_spec_json against what runc 1.1.5 wrote (`runc spec`, and `runc spec --rootless` run as
// uid 1000, gid 1001), captured once and kept here byte for byte.
#include <catch2/catch.hpp>

#include "mkrun/oci/default_spec.hpp"
#include "mkrun/oci/parse.hpp"

namespace {

constexpr const char* kRuncSpec = R"golden({
	"ociVersion": "1.0.2-dev",
	"process": {
		"terminal": true,
		"user": {
			"uid": 0,
			"gid": 0
		},
		"args": [
			"sh"
		],
		"env": [
			"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
			"TERM=xterm"
		],
		"cwd": "/",
		"capabilities": {
			"bounding": [
				"CAP_AUDIT_WRITE",
				"CAP_KILL",
				"CAP_NET_BIND_SERVICE"
			],
			"effective": [
				"CAP_AUDIT_WRITE",
				"CAP_KILL",
				"CAP_NET_BIND_SERVICE"
			],
			"permitted": [
				"CAP_AUDIT_WRITE",
				"CAP_KILL",
				"CAP_NET_BIND_SERVICE"
			],
			"ambient": [
				"CAP_AUDIT_WRITE",
				"CAP_KILL",
				"CAP_NET_BIND_SERVICE"
			]
		},
		"rlimits": [
			{
				"type": "RLIMIT_NOFILE",
				"hard": 1024,
				"soft": 1024
			}
		],
		"noNewPrivileges": true
	},
	"root": {
		"path": "rootfs",
		"readonly": true
	},
	"hostname": "runc",
	"mounts": [
		{
			"destination": "/proc",
			"type": "proc",
			"source": "proc"
		},
		{
			"destination": "/dev",
			"type": "tmpfs",
			"source": "tmpfs",
			"options": [
				"nosuid",
				"strictatime",
				"mode=755",
				"size=65536k"
			]
		},
		{
			"destination": "/dev/pts",
			"type": "devpts",
			"source": "devpts",
			"options": [
				"nosuid",
				"noexec",
				"newinstance",
				"ptmxmode=0666",
				"mode=0620",
				"gid=5"
			]
		},
		{
			"destination": "/dev/shm",
			"type": "tmpfs",
			"source": "shm",
			"options": [
				"nosuid",
				"noexec",
				"nodev",
				"mode=1777",
				"size=65536k"
			]
		},
		{
			"destination": "/dev/mqueue",
			"type": "mqueue",
			"source": "mqueue",
			"options": [
				"nosuid",
				"noexec",
				"nodev"
			]
		},
		{
			"destination": "/sys",
			"type": "sysfs",
			"source": "sysfs",
			"options": [
				"nosuid",
				"noexec",
				"nodev",
				"ro"
			]
		},
		{
			"destination": "/sys/fs/cgroup",
			"type": "cgroup",
			"source": "cgroup",
			"options": [
				"nosuid",
				"noexec",
				"nodev",
				"relatime",
				"ro"
			]
		}
	],
	"linux": {
		"resources": {
			"devices": [
				{
					"allow": false,
					"access": "rwm"
				}
			]
		},
		"namespaces": [
			{
				"type": "pid"
			},
			{
				"type": "network"
			},
			{
				"type": "ipc"
			},
			{
				"type": "uts"
			},
			{
				"type": "mount"
			}
		],
		"maskedPaths": [
			"/proc/acpi",
			"/proc/asound",
			"/proc/kcore",
			"/proc/keys",
			"/proc/latency_stats",
			"/proc/timer_list",
			"/proc/timer_stats",
			"/proc/sched_debug",
			"/sys/firmware",
			"/proc/scsi"
		],
		"readonlyPaths": [
			"/proc/bus",
			"/proc/fs",
			"/proc/irq",
			"/proc/sys",
			"/proc/sysrq-trigger"
		]
	}
})golden";

constexpr const char* kRuncSpecRootless1000 = R"golden({
	"ociVersion": "1.0.2-dev",
	"process": {
		"terminal": true,
		"user": {
			"uid": 0,
			"gid": 0
		},
		"args": [
			"sh"
		],
		"env": [
			"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
			"TERM=xterm"
		],
		"cwd": "/",
		"capabilities": {
			"bounding": [
				"CAP_AUDIT_WRITE",
				"CAP_KILL",
				"CAP_NET_BIND_SERVICE"
			],
			"effective": [
				"CAP_AUDIT_WRITE",
				"CAP_KILL",
				"CAP_NET_BIND_SERVICE"
			],
			"permitted": [
				"CAP_AUDIT_WRITE",
				"CAP_KILL",
				"CAP_NET_BIND_SERVICE"
			],
			"ambient": [
				"CAP_AUDIT_WRITE",
				"CAP_KILL",
				"CAP_NET_BIND_SERVICE"
			]
		},
		"rlimits": [
			{
				"type": "RLIMIT_NOFILE",
				"hard": 1024,
				"soft": 1024
			}
		],
		"noNewPrivileges": true
	},
	"root": {
		"path": "rootfs",
		"readonly": true
	},
	"hostname": "runc",
	"mounts": [
		{
			"destination": "/proc",
			"type": "proc",
			"source": "proc"
		},
		{
			"destination": "/dev",
			"type": "tmpfs",
			"source": "tmpfs",
			"options": [
				"nosuid",
				"strictatime",
				"mode=755",
				"size=65536k"
			]
		},
		{
			"destination": "/dev/pts",
			"type": "devpts",
			"source": "devpts",
			"options": [
				"nosuid",
				"noexec",
				"newinstance",
				"ptmxmode=0666",
				"mode=0620"
			]
		},
		{
			"destination": "/dev/shm",
			"type": "tmpfs",
			"source": "shm",
			"options": [
				"nosuid",
				"noexec",
				"nodev",
				"mode=1777",
				"size=65536k"
			]
		},
		{
			"destination": "/dev/mqueue",
			"type": "mqueue",
			"source": "mqueue",
			"options": [
				"nosuid",
				"noexec",
				"nodev"
			]
		},
		{
			"destination": "/sys",
			"type": "none",
			"source": "/sys",
			"options": [
				"rbind",
				"nosuid",
				"noexec",
				"nodev",
				"ro"
			]
		},
		{
			"destination": "/sys/fs/cgroup",
			"type": "cgroup",
			"source": "cgroup",
			"options": [
				"nosuid",
				"noexec",
				"nodev",
				"relatime",
				"ro"
			]
		}
	],
	"linux": {
		"uidMappings": [
			{
				"containerID": 0,
				"hostID": 1000,
				"size": 1
			}
		],
		"gidMappings": [
			{
				"containerID": 0,
				"hostID": 1001,
				"size": 1
			}
		],
		"namespaces": [
			{
				"type": "pid"
			},
			{
				"type": "ipc"
			},
			{
				"type": "uts"
			},
			{
				"type": "mount"
			},
			{
				"type": "user"
			}
		],
		"maskedPaths": [
			"/proc/acpi",
			"/proc/asound",
			"/proc/kcore",
			"/proc/keys",
			"/proc/latency_stats",
			"/proc/timer_list",
			"/proc/timer_stats",
			"/proc/sched_debug",
			"/sys/firmware",
			"/proc/scsi"
		],
		"readonlyPaths": [
			"/proc/bus",
			"/proc/fs",
			"/proc/irq",
			"/proc/sys",
			"/proc/sysrq-trigger"
		]
	}
})golden";

}  // namespace

using mkrun::oci::default_spec_json;

TEST_CASE("spec: identical to runc spec", "[default_spec]") {
  CHECK(default_spec_json(false) == kRuncSpec);
}

TEST_CASE("spec --rootless: identical to runc spec --rootless for the caller's ids",
          "[default_spec]") {
  CHECK(default_spec_json(true, 1000, 1001) == kRuncSpecRootless1000);
}

TEST_CASE("spec --rootless: the mappings carry the given ids", "[default_spec]") {
  auto spec = mkrun::oci::parse_spec(default_spec_json(true, 4242, 77));
  REQUIRE(spec);
  REQUIRE(spec->linux);
  REQUIRE(spec->linux->uidMappings.size() == 1);
  REQUIRE(spec->linux->gidMappings.size() == 1);
  CHECK(spec->linux->uidMappings[0].hostID == 4242);
  CHECK(spec->linux->gidMappings[0].hostID == 77);
  CHECK(spec->linux->uidMappings[0].containerID == 0);
  CHECK(spec->linux->uidMappings[0].size == 1);
}

TEST_CASE("spec: no trailing newline, as runc writes it", "[default_spec]") {
  CHECK(default_spec_json(false).back() == '}');
  CHECK(default_spec_json(true, 1, 1).back() == '}');
}

TEST_CASE("spec: both templates pass validation", "[default_spec]") {
  for (bool rootless : {false, true}) {
    auto spec = mkrun::oci::parse_spec(default_spec_json(rootless, 1000, 1000));
    REQUIRE(spec);
    auto valid = mkrun::oci::validate_spec(*spec);
    INFO((valid ? std::string() : valid.error().message));
    CHECK(valid);
    CHECK(mkrun::oci::unknown_capabilities(*spec).empty());
  }
}

TEST_CASE("spec: a cgroup namespace on a pure cgroup v2 host, as runc's Example()",
          "[default_spec]") {
  using mkrun::oci::default_namespaces;
  using List = std::vector<std::string_view>;
  CHECK(default_namespaces(false, false) == List{"pid", "network", "ipc", "uts", "mount"});
  CHECK(default_namespaces(false, true) == List{"pid", "network", "ipc", "uts", "mount", "cgroup"});
  CHECK(default_namespaces(true, false) == List{"pid", "ipc", "uts", "mount", "user"});
  CHECK(default_namespaces(true, true) == List{"pid", "ipc", "uts", "mount", "cgroup", "user"});

  auto spec = mkrun::oci::parse_spec(default_spec_json(false, 0, 0, true));
  REQUIRE(spec);
  REQUIRE(spec->linux);
  CHECK(spec->linux->namespaces.back().type == "cgroup");
  CHECK(mkrun::oci::validate_spec(*spec));
}
