"""Put onnxruntime-web's runtime (JS + WebAssembly) where the in-browser page finds it.

The in-browser mode (``fuzzypeople site``, and the page ``fuzzypeople serve``
shows) runs the shipped ONNX models with npm ``onnxruntime-web`` (MIT). Its
files are fetched at *install* time, never at run time:

    python tools/fetch_ort_web.py           # npm pack the pinned version, verify, extract
    python tools/fetch_ort_web.py --check   # verify what is there; exit 1 if missing or changed

The tarball's sha512 must equal the registry's published integrity pinned
here, and each extracted file its pinned sha256. The files land in
``src/fuzzypeople/web/static/ort/`` (gitignored: 14 MB of wasm do not belong
in git). Only the plain WebAssembly build is taken (``ort.wasm.min.js`` and
``ort-wasm-simd-threaded.{mjs,wasm}``): the page runs on the wasm backend,
and the WebGPU/JSEP build would double the download for nothing it uses.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

SPEC = "onnxruntime-web@1.30.0"
# `npm view onnxruntime-web@1.30.0 dist.integrity`
INTEGRITY = "sha512-q0y+JrrtukXSzsBWEMccVfqX25LRmosXHF+CaRJmg8pZClzcV7svNc4rKY3jL02Vb7QmRMDs1SigqR4CXAfKYQ=="
FILES = {  # member of the tarball -> sha256 of its bytes
    "package/dist/ort.wasm.min.js": "faece07e84faa9001f5104bbe4e5c70861d06cb2376a0dea1fa0ad33a67adc81",
    "package/dist/ort-wasm-simd-threaded.mjs": "e13f7f94fc51b4ca72b12faeb1ee95f4ace6dfbc8939bc718aabdc0a27c4299b",
    "package/dist/ort-wasm-simd-threaded.wasm": "3398c10d07d229bd91b364548e130e0e51a8e5704b88c7c083ebbeb78842dee2",
}
DEST = Path(__file__).resolve().parent.parent / "src" / "fuzzypeople" / "web" / "static" / "ort"


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def missing_or_changed(dest: Path = DEST) -> list[str]:
    """Names of the runtime files that are absent from ``dest`` or differ from their pinned hash."""
    bad = []
    for member, digest in FILES.items():
        f = dest / Path(member).name
        if not f.is_file() or sha256(f) != digest:
            bad.append(f.name)
    return bad


def fetch(dest: Path = DEST) -> None:
    """``npm pack`` the pinned tarball, check its integrity and each file's hash, write the files."""
    with tempfile.TemporaryDirectory() as d:
        subprocess.run(["npm", "pack", "--silent", SPEC], cwd=d, check=True, stdout=subprocess.DEVNULL)
        tgz = next(Path(d).glob("*.tgz"))
        algo, want = INTEGRITY.split("-", 1)
        got = base64.b64encode(hashlib.new(algo, tgz.read_bytes()).digest()).decode()
        if got != want:
            sys.exit(f"fetch_ort_web: {tgz.name}: integrity {algo}-{got} is not the pinned {INTEGRITY}")
        dest.mkdir(parents=True, exist_ok=True)
        with tarfile.open(tgz) as t:
            for member, digest in FILES.items():
                data = t.extractfile(member).read()
                if hashlib.sha256(data).hexdigest() != digest:
                    sys.exit(f"fetch_ort_web: {member}: sha256 differs from the pinned one")
                tmp = dest / (Path(member).name + ".part")
                tmp.write_bytes(data)
                tmp.replace(dest / Path(member).name)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="only verify the files already in place")
    ap.add_argument("--dest", type=Path, default=DEST)
    args = ap.parse_args(argv)
    bad = missing_or_changed(args.dest)
    if args.check:
        if bad:
            print(f"fetch_ort_web: missing or changed in {args.dest}: {', '.join(bad)}", file=sys.stderr)
            return 1
        return 0
    if bad:
        fetch(args.dest)
        bad = missing_or_changed(args.dest)
        if bad:
            print(f"fetch_ort_web: still missing: {', '.join(bad)}", file=sys.stderr)
            return 1
    print(f"onnxruntime-web runtime ({SPEC}) in {args.dest}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
