"""Find, download and verify the data files that datasets read.

A file is named by its path under a data folder (the layout of the verified copies, e.g.
`ptb/ptb.train.txt`). `fetch` looks for it in `$BENCH_DATA_DIR` and then in the per-user cache
(`$XDG_CACHE_HOME/benchbench`, by default `~/.cache/benchbench`), checks its sha256 and returns its
path. A file found nowhere is downloaded into the cache, never into `$BENCH_DATA_DIR`: into a
temporary file in the same folder, renamed into place only once its checksum matches, so a failed or
corrupted download leaves nothing behind, not even the cache folders made for it. A file that could
not be downloaded is not tried again in the same process: every cell of a matrix that needs it gets
the same one-line answer at once.

A URL with a fragment names a member of an archive: `https://host/SST-2.zip#SST-2/train.tsv` downloads
the zip (or tar, tar.gz, tgz) and keeps only `SST-2/train.tsv`. The fragment is never sent to the
server; the checksum is that of the member.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import tarfile
import tempfile
import urllib.error
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, BinaryIO

from benchbench.errors import BenchError

__all__ = ["RemoteFile", "data_dirs", "fetch"]

_CHUNK = 1 << 20  # bytes per read while downloading and copying
_TIMEOUT = 30.0  # seconds without an answer before a download attempt gives up
# What a bad network, server or archive raises; anything else is a bug and keeps its traceback.
_DOWNLOAD_ERRORS = (OSError, http.client.HTTPException, tarfile.TarError, zipfile.BadZipFile, KeyError)


@dataclass(frozen=True)
class RemoteFile:
    """A data file: where it lives under a data folder, where to download it, and its checksum."""

    path: str  # relative path under a data folder, e.g. "ptb/ptb.train.txt" (same layout as the shared copies)
    urls: tuple[str, ...]  # canonical URLs, tried in order; "archive-url#member" takes one file out of an archive
    sha256: str  # expected digest (hex) of the file itself, not of an archive holding it
    size: int | None = None  # bytes, when known (only used to size the progress bar)

    def __post_init__(self) -> None:
        parts = PurePosixPath(self.path).parts
        if not parts or PurePosixPath(self.path).is_absolute() or ".." in parts:
            raise ValueError(f"RemoteFile.path must be a relative path inside a data folder, got {self.path!r}")


def data_dirs() -> list[Path]:
    """Folders searched for data files, in order: `$BENCH_DATA_DIR` if set, then the per-user cache.

    The last folder is the cache, the only one downloads are written to.
    """
    dirs = []
    if data_dir := os.environ.get("BENCH_DATA_DIR"):
        dirs.append(Path(data_dir).expanduser())
    dirs.append(_cache_dir())
    return dirs


def _cache_dir() -> Path:
    # The XDG spec says to ignore a relative XDG_CACHE_HOME.
    xdg = os.environ.get("XDG_CACHE_HOME", "")
    root = Path(xdg) if xdg and Path(xdg).is_absolute() else Path.home() / ".cache"
    return root / "benchbench"


_FAILED: dict[tuple[str, str], BenchError] = {}  # (file, cache folder) -> why it could not be downloaded, this process


def fetch(remote: RemoteFile) -> Path:
    """The local path of `remote`, checked against its sha256; downloaded into the cache if missing.

    Raises `BenchError` (one line) when a found or downloaded file has the wrong checksum, or when the
    file is missing and cannot be downloaded (the message says where to put it). A download that
    failed is not attempted again by this process.
    """
    dirs = data_dirs()
    for folder in dirs:
        candidate = folder / remote.path
        if candidate.is_file():
            _verify(candidate, remote.sha256)
            return candidate
    key = (remote.path, str(dirs[-1]))
    if key in _FAILED:
        raise _FAILED[key]
    try:
        return _download(remote, dirs[-1] / remote.path)
    except BenchError as err:
        _FAILED[key] = err
        raise


def _sha256(path: Path) -> str:
    with path.open("rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def _verify(path: Path, expected: str) -> None:
    actual = _sha256(path)
    if actual != expected.lower():
        raise BenchError(
            f"checksum mismatch for {path}: expected sha256 {expected}, got {actual}; "
            "delete the file or replace it with a verified copy"
        )


def _download(remote: RemoteFile, target: Path) -> Path:
    made = [p for p in (target.parent, *target.parent.parents) if not p.exists()]  # removed again if nothing is saved
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise BenchError(
            f"cannot create the data cache folder {target.parent} ({exc.strerror}); "
            f"set XDG_CACHE_HOME to a writable folder, or set BENCH_DATA_DIR to a folder holding {remote.path}"
        ) from None
    try:
        return _try_urls(remote, target)
    finally:
        if not target.is_file():
            for folder in made:  # deepest first; a folder something else wrote into stays
                try:
                    folder.rmdir()
                except OSError:
                    break


def _try_urls(remote: RemoteFile, target: Path) -> Path:
    failures: list[str] = []  # one short reason per URL
    mismatch: str | None = None
    for url in remote.urls:
        fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
        tmp, saved = Path(tmp_name), False
        try:
            with os.fdopen(fd, "wb") as out:
                digest = _download_to(url, out, remote, scratch=target.parent)
            if digest == remote.sha256.lower():
                os.replace(tmp, target)  # atomic: readers see no file or the whole verified file
                saved = True
                return target
            mismatch = (
                f"checksum mismatch for {remote.path} downloaded from {url}: "
                f"expected sha256 {remote.sha256}, got {digest}; nothing was saved"
            )
            failures.append(f"{url}: wrong checksum")
        except _DOWNLOAD_ERRORS as exc:
            failures.append(f"{url}: {_reason(exc)}")
        finally:
            if not saved:
                tmp.unlink(missing_ok=True)
    if mismatch is not None:
        raise BenchError(mismatch)
    tried = failures[0] if failures else "no URL"
    more = f" (and {len(failures) - 1} mirror{'s' if len(failures) > 2 else ''})" if len(failures) > 1 else ""
    raise BenchError(
        f"{remote.path} could not be downloaded from {tried}{more}; put the file at {target} "
        f"(or at {remote.path} under $BENCH_DATA_DIR)"
    )


def _reason(exc: BaseException) -> str:
    if isinstance(exc, urllib.error.HTTPError):
        return f"HTTP {exc.code}"
    if isinstance(exc, urllib.error.URLError):
        return str(exc.reason)
    if isinstance(exc, KeyError):
        return f"no member {exc.args[0]} in the archive"
    return str(exc) or type(exc).__name__


def _download_to(url: str, out: BinaryIO, remote: RemoteFile, *, scratch: Path) -> str:
    """Download `url` into `out` (the member named by its fragment, for an archive); its sha256."""
    base, _, member = url.partition("#")
    if not member:
        return _copy_url(base, out, remote)
    # The archive goes to an unnamed temporary file in `scratch`, gone once the member is copied.
    with tempfile.TemporaryFile(dir=scratch) as archive:
        _copy_url(base, archive, remote)
        archive.seek(0)
        return _copy_member(archive, base, member, out)


def _copy_url(url: str, out: BinaryIO, remote: RemoteFile) -> str:
    from rich.console import Console
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn, TransferSpeedColumn

    digest = hashlib.sha256()
    with urllib.request.urlopen(url, timeout=_TIMEOUT) as response:  # noqa: S310 (https/http URLs from our registry)
        length = response.headers.get("Content-Length")
        total = int(length) if length and length.isdigit() else None
        columns = (
            TextColumn("[bold]{task.description}"), BarColumn(), DownloadColumn(),
            TransferSpeedColumn(), TimeRemainingColumn(),
        )
        with Progress(*columns, console=Console(stderr=True), transient=True) as progress:
            task = progress.add_task(f"downloading {remote.path}", total=total)
            while chunk := response.read(_CHUNK):
                out.write(chunk)
                digest.update(chunk)
                progress.advance(task, len(chunk))
    out.flush()
    return digest.hexdigest()


def _copy_member(archive: BinaryIO, url: str, member: str, out: BinaryIO) -> str:
    """Copy one member of a zip or tar archive into `out`; its sha256. Reads, never extracts paths."""
    digest = hashlib.sha256()
    if zipfile.is_zipfile(archive):
        archive.seek(0)
        with zipfile.ZipFile(archive) as zf:
            src = zf.open(_member_name(zf.namelist(), member))
            _copy_stream(src, out, digest)
    else:
        archive.seek(0)
        with tarfile.open(fileobj=archive, mode="r:*") as tf:
            info = tf.getmember(_member_name(tf.getnames(), member))
            src = tf.extractfile(info)
            if src is None:
                raise KeyError(member)
            _copy_stream(src, out, digest)
    out.flush()
    return digest.hexdigest()


def _member_name(names: list[str], member: str) -> str:
    # Tar files often store "./dir/file"; accept the name with or without that prefix.
    wanted = member.removeprefix("./")
    for name in names:
        if name.removeprefix("./") == wanted:
            return name
    raise KeyError(member)


def _copy_stream(src: BinaryIO, out: BinaryIO, digest: Any) -> None:
    with src:
        while chunk := src.read(_CHUNK):
            out.write(chunk)
            digest.update(chunk)

