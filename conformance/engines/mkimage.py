#!/usr/bin/python3
"""Build a single-layer image archive from a rootfs directory, with no registry and no podman.
The output tar is BOTH an OCI image layout (index.json, oci-layout, blobs/) and a docker-archive
(manifest.json), so it loads with `docker load` (20.10), `ctr images import` and
`podman load`.
Adapted from the engine recipes (shared/engines/mkimage.py).
Usage: mkimage.py ROOTFS_DIR OUT.tar [NAME:TAG]   (default name busybox:latest)"""
import hashlib, io, json, os, sys, tarfile

rootfs, out = sys.argv[1], sys.argv[2]
ref = sys.argv[3] if len(sys.argv) > 3 else "busybox:latest"
name, tag = ref.rsplit(":", 1) if ":" in ref.split("/")[-1] else (ref, "latest")
full = name if "/" in name else "docker.io/library/" + name

# 1. layer: tar of rootfs, sorted, fixed mtime/owner so the digest is reproducible
buf = io.BytesIO()
with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
    for dirpath, dirnames, filenames in os.walk(rootfs):
        dirnames.sort()
        for n in [""] + sorted(filenames) + [d for d in dirnames if os.path.islink(os.path.join(dirpath, d))]:
            p = os.path.join(dirpath, n) if n else dirpath
            arc = os.path.relpath(p, rootfs)
            if arc == ".":
                continue
            ti = t.gettarinfo(p, arc)
            ti.mtime, ti.uid, ti.gid, ti.uname, ti.gname = 0, 0, 0, "root", "root"
            if ti.isreg():
                with open(p, "rb") as f:
                    t.addfile(ti, f)
            else:
                t.addfile(ti)
layer = buf.getvalue()

def sha(b): return hashlib.sha256(b).hexdigest()
blobs = {}
def blob(b):
    d = sha(b); blobs[d] = b; return d

layer_d = blob(layer)
config = {
    "architecture": "amd64", "os": "linux", "created": "1970-01-01T00:00:00Z",
    "config": {"Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"], "Cmd": ["sh"]},
    "rootfs": {"type": "layers", "diff_ids": ["sha256:" + layer_d]},
    "history": [{"created": "1970-01-01T00:00:00Z", "created_by": "mkimage.py"}],
}
cfg = json.dumps(config, separators=(",", ":")).encode()
cfg_d = blob(cfg)
manifest = {
    "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
    "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": "sha256:" + cfg_d, "size": len(cfg)},
    "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": "sha256:" + layer_d, "size": len(layer)}],
}
man = json.dumps(manifest, separators=(",", ":")).encode()
man_d = blob(man)
index = {"schemaVersion": 2, "manifests": [{
    "mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": "sha256:" + man_d, "size": len(man),
    "annotations": {"io.containerd.image.name": full + ":" + tag, "org.opencontainers.image.ref.name": tag}}]}
docker_manifest = [{"Config": "blobs/sha256/" + cfg_d, "RepoTags": [name + ":" + tag],
                    "Layers": ["blobs/sha256/" + layer_d]}]

with tarfile.open(out, "w") as t:
    def add(path, data):
        ti = tarfile.TarInfo(path); ti.size = len(data); ti.mode = 0o644
        t.addfile(ti, io.BytesIO(data))
    for d in ("blobs", "blobs/sha256"):
        ti = tarfile.TarInfo(d); ti.type = tarfile.DIRTYPE; ti.mode = 0o755; t.addfile(ti)
    add("oci-layout", b'{"imageLayoutVersion":"1.0.0"}')
    add("index.json", json.dumps(index).encode())
    add("manifest.json", json.dumps(docker_manifest).encode())
    for d, b in blobs.items():
        add("blobs/sha256/" + d, b)
print(f"wrote {out}: {name}:{tag} manifest sha256:{man_d} layer {len(layer)} bytes")
