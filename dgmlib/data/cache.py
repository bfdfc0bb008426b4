"""Where data lives, and writing it without ever leaving half a file behind."""
from __future__ import annotations

import contextlib
import http.client
import os
import tempfile
import urllib.request
from pathlib import Path
from typing import IO, Iterator


class DataUnavailableError(RuntimeError):
    """Data is neither cached nor downloadable; the message says how to provide it."""


def data_dir(root: str | os.PathLike | None = None) -> Path:
    """The data folder: ``root`` if given, else ``$DGMLIB_DATA``, else ``~/.cache/dgmlib``."""
    if root is None:
        root = os.environ.get("DGMLIB_DATA") or Path.home() / ".cache" / "dgmlib"
    return Path(root).expanduser()


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike, mode: str = "wb") -> Iterator[IO]:
    """Write to a temporary file beside ``path`` and rename it into place on success.

    Readers see either the old file or the complete new one; an exception (or a
    killed process) leaves no partial file under ``path``.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    try:
        with os.fdopen(fd, mode) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes it private; a shared cache must stay readable
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def fetch(url: str, timeout: float = 60.0) -> bytes:
    """Download ``url`` into memory. Raises ``OSError`` (e.g. ``URLError``) when offline or
    when the connection breaks off (a truncated transfer is not returned as data)."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.read()
    except http.client.HTTPException as error:  # e.g. IncompleteRead: not an OSError
        raise ConnectionError(f"download of {url} broke off: {error!r}") from error


__all__ = ["DataUnavailableError", "data_dir", "atomic_write", "fetch"]
