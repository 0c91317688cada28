"""Generate flamed._gen from proto/ with the system protoc and grpc_python_plugin.

The stubs are build products, never committed: ``bindings/python/generate`` runs this
module, and importing :mod:`flamed` runs :func:`ensure`, which regenerates them when
proto/ changed (a stamp file holds a hash of every .proto). This file imports nothing
from the package, so it also runs as a plain script.

protoc emits absolute imports (``from flame.v1 import runner_service_pb2``); they are
rewritten to ``flamed._gen.flame.v1`` so that generated modules do not claim a
top-level ``flame`` package. ``google/protobuf/struct.proto`` is not generated: the
protobuf runtime ships ``google.protobuf.struct_pb2``, which the stubs import.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
GEN_DIR = PACKAGE_DIR / "_gen"
STAMP = "STAMP"
# Bump when this generator's output changes for the same protos.
GENERATOR_REV = "1"

_IMPORT_RE = re.compile(r"^(from|import) flame(\.|\s)", re.MULTILINE)


def proto_dir() -> Path | None:
    """The proto/ root: $FLAMED_PROTO_DIR, else the repository's proto/ (None if absent)."""
    env = os.environ.get("FLAMED_PROTO_DIR")
    if env:
        return Path(env).resolve()
    if not (PACKAGE_DIR.parent / "pyproject.toml").is_file():
        return None  # an installed package: use the stubs it was built with
    candidate = PACKAGE_DIR.parent.parent.parent / "proto"
    return candidate if (candidate / "flame").is_dir() else None


def _protos(root: Path) -> list[Path]:
    return sorted(p for p in (root / "flame").rglob("*.proto"))


def proto_hash(root: Path) -> str:
    """A hash of every .proto under root/flame (names and contents) and the generator."""
    h = hashlib.sha256(GENERATOR_REV.encode())
    for p in _protos(root):
        h.update(str(p.relative_to(root)).encode() + b"\0")
        h.update(p.read_bytes() + b"\0")
    return h.hexdigest()


def _stamp() -> str | None:
    try:
        return (GEN_DIR / STAMP).read_text().strip()
    except OSError:
        return None


def _rewrite_imports(path: Path) -> None:
    text = path.read_text()
    text = _IMPORT_RE.sub(lambda m: f"{m.group(1)} flamed._gen.flame{m.group(2)}", text)
    path.write_text(text)


def generate(root: Path | None = None) -> Path:
    """Run protoc into a fresh flamed/_gen and return its path.

    Raises RuntimeError (with protoc's stderr) when protoc or the plugin fails or is
    missing. Safe against concurrent runs: the new tree is built aside and swapped in
    under a lock file.
    """
    root = root or proto_dir()
    if root is None:
        raise RuntimeError("proto/ not found: set FLAMED_PROTO_DIR to the repository's proto/")
    protoc = os.environ.get("PROTOC") or shutil.which("protoc") or "protoc"
    plugin = (os.environ.get("GRPC_PYTHON_PLUGIN") or shutil.which("grpc_python_plugin")
              or "/usr/bin/grpc_python_plugin")
    protos = _protos(root)
    if not protos:
        raise RuntimeError(f"no .proto files under {root / 'flame'}")
    digest = proto_hash(root)
    tmp = Path(tempfile.mkdtemp(prefix="_gen.tmp-", dir=PACKAGE_DIR))
    try:
        cmd = [protoc, f"-I{root}", f"--python_out={tmp}", f"--grpc_out={tmp}",
               f"--plugin=protoc-gen-grpc={plugin}", *map(str, protos)]
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True)
        except FileNotFoundError as e:
            raise RuntimeError(f"{e.filename} not found: install protobuf-compiler and "
                               "protobuf-compiler-grpc (apt-get install protobuf-compiler "
                               "protobuf-compiler-grpc)") from None
        if proc.returncode != 0:
            raise RuntimeError(f"protoc failed ({' '.join(cmd)}):\n{proc.stderr}")
        for d in [tmp, *[p for p in tmp.rglob("*") if p.is_dir()]]:
            (d / "__init__.py").touch()
        for py in tmp.rglob("*_pb2*.py"):
            _rewrite_imports(py)
        (tmp / STAMP).write_text(digest + "\n")
        old = PACKAGE_DIR / f"_gen.old-{os.getpid()}"
        if GEN_DIR.exists():
            GEN_DIR.rename(old)
        tmp.rename(GEN_DIR)
        shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return GEN_DIR


def ensure(force: bool = False) -> Path:
    """Make flamed/_gen current: regenerate when missing, forced, or proto/ changed.

    Without a proto/ tree (an installed package), existing stubs are used as they are.
    Raises ImportError when there are no stubs and they cannot be generated.
    """
    root = proto_dir()
    if root is None:
        if not (GEN_DIR / "flame" / "v1" / "runner_service_pb2_grpc.py").is_file():
            raise ImportError("flamed: generated stubs missing and proto/ not found; run "
                              "bindings/python/generate or set FLAMED_PROTO_DIR")
        return GEN_DIR
    digest = proto_hash(root)
    if not force and _stamp() == digest:
        return GEN_DIR
    with open(PACKAGE_DIR / "_gen.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if force or _stamp() != digest:
            try:
                generate(root)
            except RuntimeError as e:
                raise ImportError(f"flamed: cannot generate stubs: {e}") from None
    return GEN_DIR


def main(argv: list[str]) -> int:
    force = "--force" in argv
    try:
        path = ensure(force=force)
    except ImportError as e:
        print(e, file=sys.stderr)
        return 1
    print(f"flamed stubs up to date with proto/ in {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
