"""Inputs and outputs given as URIs (``s3://``, ``gs://``, ``hdfs://``, ``file://``...).

Through pyarrow's file systems (installed with the ``ray`` extra), or any
fsspec file system pyarrow does not know, with the credentials the user
already has (environment, config files, instance roles). A worker copies
its input into a private temporary folder (mode 0700), anonymises it there
with the same code as a local file, and uploads the result under a
temporary name that is then moved to the output (the output appears whole
or not at all; on object stores a move is a copy, then a delete). The
temporary folder is removed whatever happens.

>>> is_uri("s3://bucket/photos"), is_uri("photos/a.jpg"), is_uri("C:/photos")
(True, False, False)
"""

from __future__ import annotations

import contextlib
import re
import shutil
import tempfile
import uuid
from pathlib import Path, PurePosixPath

from ..errors import FuzzyError

_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")


def is_uri(value) -> bool:
    """Is ``value`` a URI (``scheme://...``) rather than a local path?"""
    return isinstance(value, str) and bool(_SCHEME.match(value))


def filesystem(uri: str):
    """``(pyarrow file system, path inside it)`` for ``uri``."""
    try:
        import pyarrow.fs as pafs
    except ImportError:
        raise FuzzyError(uri, "URIs need pyarrow: pip install 'fuzzypeople[ray]'") from None
    try:
        return pafs.FileSystem.from_uri(uri)
    except (ValueError, OSError) as first:  # pyarrow.ArrowInvalid is a ValueError: a scheme it does not know
        try:
            import fsspec
            from pyarrow.fs import FSSpecHandler, PyFileSystem

            fs, path = fsspec.core.url_to_fs(uri)
            return PyFileSystem(FSSpecHandler(fs)), path
        except ImportError:
            raise FuzzyError(uri, f"cannot open: {first}") from None
        except Exception as exc:
            raise FuzzyError(uri, f"cannot open: {exc}") from None


def sibling(uri: str, suffix: str | None = None) -> str:
    """``.../photo.jpg`` -> ``.../photo_anonymized.jpg`` (``suffix`` replaces the extension).

    >>> sibling("s3://b/x/photo.heic", ".jpg")
    's3://b/x/photo_anonymized.jpg'
    """
    head, name = uri.rsplit("/", 1)
    p = PurePosixPath(name)
    return f"{head}/{p.stem}_anonymized{suffix or p.suffix}"


def join(base: str, rel: str) -> str:
    """``base`` URI with the relative path ``rel`` appended.

    >>> join("s3://b/out/", "sub/a.jpg"), join("s3://b/out", "a.jpg")
    ('s3://b/out/sub/a.jpg', 's3://b/out/a.jpg')
    """
    return base.rstrip("/") + "/" + rel


def expand(uri: str, extensions: set[str], skipped: list) -> tuple[list[tuple[str, str]], bool]:
    """Files under ``uri`` with their relative paths, and whether ``uri`` is a folder (searched recursively)."""
    import pyarrow.fs as pafs

    fs, path = filesystem(uri)
    try:
        info = fs.get_file_info(path)
        if info.type == pafs.FileType.File:
            return [(uri, PurePosixPath(path).name)], False
        if info.type == pafs.FileType.NotFound:
            raise FuzzyError(uri, "not found")
        found = []
        for f in sorted(fs.get_file_info(pafs.FileSelector(path, recursive=True)), key=lambda i: i.path):
            if f.type != pafs.FileType.File:
                continue
            rel = PurePosixPath(f.path).relative_to(PurePosixPath(path)).as_posix()
            suffix = PurePosixPath(f.path).suffix.lower()
            if suffix not in extensions:
                skipped.append((join(uri, rel), f"not a photo or video this version reads ({suffix or 'no extension'})"))
            elif PurePosixPath(f.path).stem.endswith("_anonymized"):
                skipped.append((join(uri, rel), "looks like an output of fuzzypeople"))
            else:
                found.append((join(uri, rel), rel))
        return found, True
    except OSError as exc:
        raise FuzzyError(uri, f"cannot list: {exc}") from None


def exists(uri: str) -> bool:
    """Is there a file (or anything) at ``uri``?"""
    import pyarrow.fs as pafs

    fs, path = filesystem(uri)
    return fs.get_file_info(path).type != pafs.FileType.NotFound


@contextlib.contextmanager
def private_folder():
    """A temporary folder only this user can read (0700), removed on exit."""
    folder = Path(tempfile.mkdtemp(prefix="fuzzypeople."))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def download(uri: str, folder: Path) -> Path:
    """Copy ``uri`` into ``folder`` (same file name, so the extension still says the format)."""
    fs, path = filesystem(uri)
    local = folder / "in" / PurePosixPath(path).name
    local.parent.mkdir()
    try:
        with fs.open_input_stream(path) as src, open(local, "wb") as dst:
            shutil.copyfileobj(src, dst, 1 << 20)
    except OSError as exc:
        raise FuzzyError(uri, f"cannot read: {exc}") from None
    return local


def upload(local: Path, uri: str) -> None:
    """Copy ``local`` to ``uri``: written under a temporary name beside it, then moved into place."""
    fs, path = filesystem(uri)
    parent = str(PurePosixPath(path).parent)
    tmp = f"{parent}/.{PurePosixPath(path).name}.{uuid.uuid4().hex[:8]}.part"
    try:
        fs.create_dir(parent, recursive=True)
        with open(local, "rb") as src, fs.open_output_stream(tmp) as dst:
            shutil.copyfileobj(src, dst, 1 << 20)
        fs.move(tmp, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            fs.delete_file(tmp)
        raise FuzzyError(uri, f"cannot write: {exc}") from None
    except BaseException:
        with contextlib.suppress(OSError):
            fs.delete_file(tmp)
        raise
