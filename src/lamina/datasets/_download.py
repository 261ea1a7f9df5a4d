"""Download one file into a cache: resumable, verified, atomic, with a timeout.

The file is streamed into ``<dest>.part``; only once its checksum verifies is it renamed onto
``dest`` (``os.replace`` is atomic), so a reader never sees a half-written or unverified file.
An interrupted download leaves the ``.part`` file, and the next call asks the server for the
rest with an HTTP ``Range`` request (falling back to a full download when the server ignores it).
"""

from __future__ import annotations

import http.client
import os
import re
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

from .._errors import DataError

__all__ = ["download_file"]

_CHUNK = 1 << 20


def download_file(url: str, dest: Path, verify: Callable[[Path], str | None], *,
                  timeout: float = 60.0, fix: str = "") -> bool:
    """Make ``dest`` a verified copy of ``url``; return ``True`` if bytes were downloaded.

    Parameters
    ----------
    url : str
        What to download (``http://``, ``https://`` or ``file://``).
    dest : Path
        Final location; its folder is created.
    verify : callable
        ``verify(path)`` returns ``None`` when the file is right, else a short reason
        (e.g. ``"md5 ab12... instead of cd34..."``).
    timeout : float
        Seconds to wait for the connection and for each read.
    fix : str
        Appended to network error messages (an alternative way to get the data).

    Raises
    ------
    DataError
        On a network error or timeout (the partial file is kept for resuming), or when the
        downloaded file fails verification (it is deleted).

    Examples
    --------
    >>> download_file("http://127.0.0.1:8000/a.gz", Path("/tmp/a.gz"),
    ...               lambda p: None)  # doctest: +SKIP
    True
    """
    if dest.exists():
        if verify(dest) is None:
            return False  # already downloaded and verified: nothing to do
        dest.unlink()  # a stale or damaged copy: replace it
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    try:
        _fetch(url, part, timeout)
    except urllib.error.HTTPError as exc:
        raise DataError(f"could not download {url}: HTTP {exc.code} {exc.reason}. "
                        f"Check the URL (base_url=...). {fix}".strip()) from None
    except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:
        # URLError wraps connect-time failures; reads that stall raise TimeoutError directly.
        reason = getattr(exc, "reason", exc)
        if isinstance(reason, TimeoutError) or isinstance(exc, TimeoutError):
            reason = f"no answer within timeout={timeout:g} s"
        kept = " Run again to resume." if part.exists() and part.stat().st_size else ""
        raise DataError(f"could not download {url}: {reason}.{kept} Check the network or "
                        f"proxy, or pass base_url= a reachable mirror. {fix}".strip()) from None
    problem = verify(part)
    if problem is not None:
        part.unlink()
        raise DataError(f"checksum mismatch for {dest.name} downloaded from {url}: {problem}. "
                        "The file was deleted; run again to retry, or check base_url.")
    os.replace(part, dest)
    return True


def _fetch(url: str, part: Path, timeout: float) -> None:
    """Stream ``url`` into ``part``, resuming from its current size when the server allows."""
    offset = part.stat().st_size if part.exists() else 0
    headers = {"User-Agent": "lamina"}
    if offset:
        headers["Range"] = f"bytes={offset}-"
    request = urllib.request.Request(url, headers=headers)
    try:
        response = urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and offset:
            # Range not satisfiable: the .part is already whole (or longer than the file);
            # start over rather than guess.
            part.unlink()
            _fetch(url, part, timeout)
            return
        raise
    with response:
        resumed = offset > 0 and response.status == 206 and _range_start(response) == offset
        mode = "ab" if resumed else "wb"  # a server that ignores Range sends the whole file
        length = response.headers.get("Content-Length")
        received = 0
        with open(part, mode) as f:
            while chunk := response.read(_CHUNK):
                f.write(chunk)
                received += len(chunk)
            f.flush()
            os.fsync(f.fileno())
    if length is not None and received < int(length):
        raise ConnectionError(f"connection closed after {received} of {length} bytes")


def _range_start(response: object) -> int | None:
    header = getattr(response, "headers", {}).get("Content-Range", "")
    match = re.match(r"bytes (\d+)-", header or "")
    return int(match.group(1)) if match else None
