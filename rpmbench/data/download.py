"""Resumable HTTP downloads with a progress bar, and zip archive checks.

A download goes to ``<dest>.part`` beside a small ``<dest>.part.json`` naming the URL. A rerun
after an interruption (a dropped connection, Ctrl-C) asks the server for the missing bytes only
(``Range: bytes=<size>-``); a server that ignores ranges sends the whole file again, which is then
written from the start. Only a complete transfer is renamed to ``dest``.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import re
import urllib.error
import urllib.request
import zipfile
import zlib
from pathlib import Path

from tqdm import tqdm

from rpmbench.errors import DataError

CHUNK = 1 << 20  # bytes per read and per progress update
TIMEOUT_S = 60.0  # seconds without data before a transfer counts as interrupted


def _part_paths(dest: Path) -> tuple[Path, Path]:
    return dest.with_name(dest.name + ".part"), dest.with_name(dest.name + ".part.json")


def _resume_offset(part: Path, meta: Path, url: str) -> int:
    """Bytes already downloaded from ``url`` (0, and the part file dropped, if from another URL)."""
    if part.is_file() and meta.is_file():
        try:
            if json.loads(meta.read_text()).get("url") == url:
                return part.stat().st_size
        except (OSError, ValueError):
            pass
    part.unlink(missing_ok=True)
    return 0


def _total_size(response: http.client.HTTPResponse, offset: int) -> int | None:
    """The full file size from Content-Range (a 206 answer) or Content-Length (a 200 answer)."""
    if response.status == 206:
        match = re.fullmatch(r"bytes (\d+)-\d+/(\d+)", response.headers.get("Content-Range", ""))
        if not match or int(match.group(1)) != offset:
            return None
        return int(match.group(2))
    length = response.headers.get("Content-Length")
    return int(length) if length is not None and length.isdigit() else None


def download(url: str, dest: Path, progress: bool = True) -> Path:
    """Download ``url`` to ``dest``, resuming an earlier partial transfer; returns ``dest``.

    Raises :class:`DataError` if the server cannot be reached or refuses, or if the transfer stops
    early; the bytes received so far are kept for the next call to resume from.
    """
    dest.parent.mkdir(parents=True, exist_ok=True)
    part, meta = _part_paths(dest)
    offset = _resume_offset(part, meta, url)
    request = urllib.request.Request(url, headers={"Range": f"bytes={offset}-"} if offset else {})
    try:
        response = urllib.request.urlopen(request, timeout=TIMEOUT_S)
    except urllib.error.HTTPError as error:
        if error.code == 416 and offset:  # nothing left to send: the part file is already whole
            part.replace(dest)
            meta.unlink()
            return dest
        raise DataError(f"{url}: the server answered HTTP {error.code} ({error.reason}); check the "
                        "URL, or pass --url with a mirror.") from None
    except (urllib.error.URLError, OSError) as error:
        reason = getattr(error, "reason", error)
        raise DataError(f"{url}: cannot connect ({reason}); check the network or pass --url with a "
                        "mirror, then rerun (a partial download resumes).") from None
    meta.write_text(json.dumps({"url": url}) + "\n")  # the part file's origin, for a resume
    with response:
        if response.status != 206:
            offset = 0  # the server sent the whole file
        total = _total_size(response, offset)
        if response.status == 206 and total is None:
            part.unlink()
            raise DataError(f"{url}: the server sent a range other than the one asked for "
                            f"(Content-Range {response.headers.get('Content-Range')!r}); dropped the "
                            "partial download, rerun to download it from the start.")
        received = offset
        with part.open("r+b" if offset else "wb") as out, tqdm(
                total=total, initial=offset, unit="B", unit_scale=True, unit_divisor=1024,
                desc=dest.name, disable=not progress, dynamic_ncols=True) as bar:
            out.seek(offset)
            out.truncate()
            while True:
                try:
                    chunk = response.read(CHUNK)
                except (http.client.HTTPException, OSError):
                    break  # the connection dropped: judged below by the byte count
                if not chunk:
                    break
                try:
                    out.write(chunk)
                except OSError as error:
                    raise DataError(f"{part}: cannot write the download ({error.strerror}); free disk "
                                    "space, then rerun the same command to resume.") from None
                received += len(chunk)
                bar.update(len(chunk))
    if total is not None and received != total:
        raise DataError(f"{url}: download interrupted after {received:,} of {total:,} bytes (kept in "
                        f"{part}); rerun the same command to resume.")
    part.replace(dest)
    meta.unlink()
    return dest


def sha256(path: Path) -> str:
    """Hex SHA-256 of the file at ``path``."""
    digest = hashlib.sha256()
    with path.open("rb") as file:
        while block := file.read(CHUNK):
            digest.update(block)
    return digest.hexdigest()


def _bad_member(archive: zipfile.ZipFile) -> str | None:
    """A description of the first member whose data fails to decompress or its CRC, else None."""
    for info in archive.infolist():
        try:
            with archive.open(info) as member:
                while member.read(CHUNK):
                    pass
        except (zipfile.BadZipFile, zlib.error, EOFError) as error:
            return f"member {info.filename} is corrupt ({error})"
    return None


def check_zip(path: Path, url: str) -> None:
    """Raise :class:`DataError` (and delete ``path``) unless it is a zip whose every member reads
    back with the right CRC: a truncated or corrupt archive is refused before anything is extracted."""
    try:
        with zipfile.ZipFile(path) as archive:
            problem = _bad_member(archive)
    except zipfile.BadZipFile as error:
        problem = f"not a complete zip archive ({error}; truncated or not a zip)"
    except (OSError, zipfile.LargeZipFile, NotImplementedError) as error:
        problem = f"unreadable zip archive ({error})"
    if problem is not None:
        path.unlink(missing_ok=True)
        raise DataError(f"{path}: {problem}; expected the zip served at {url}. Deleted it: rerun to "
                        "download it again, or pass --url with a mirror.")
