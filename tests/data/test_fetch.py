"""`data fetch davis2017` against archives served from 127.0.0.1 (good, truncated, corrupt,
interrupted and resumed, not DAVIS), and `data prepare youtube-vos` (resize, layout, resume)."""

from __future__ import annotations

import hashlib
import http.server
import io
import json
import socket
import threading
import zipfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from davis_fixtures import moving_ellipses, write_davis
from rpmbench.cli import main
from rpmbench.data import download
from rpmbench.data.davis import DavisDataset
from rpmbench.data.fetch import MANIFEST_NAME
from rpmbench.training.frames import discover_sequences

ARCHIVE = "DAVIS-2017-trainval-480p.zip"


class ArchiveServer:
    """Serves ``files`` (URL path -> bytes) over HTTP with ``Range: bytes=N-`` support.

    ``cut[path] = K``: the next answer for ``path`` announces the full length but the connection
    is closed after K bytes (an interrupted transfer). ``ignore_range``: answer 200 with the whole
    file, as servers without range support do. ``log``: (path, Range header, bytes sent) per request.
    """

    def __init__(self, files: dict[str, bytes]) -> None:
        self.files = files
        self.cut: dict[str, int] = {}
        self.ignore_range = False
        self.log: list[tuple[str, str | None, int]] = []
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
                body = server.files.get(self.path)
                ranged = self.headers.get("Range")
                if body is None:
                    self.send_error(404)
                    server.log.append((self.path, ranged, 0))
                    return
                start = int(ranged.split("=")[1].rstrip("-")) if ranged and not server.ignore_range else 0
                if start >= len(body) and ranged:
                    self.send_response(416)
                    self.send_header("Content-Range", f"bytes */{len(body)}")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    server.log.append((self.path, ranged, 0))
                    return
                self.send_response(206 if start else 200)
                if start:
                    self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
                self.send_header("Content-Length", str(len(body) - start))
                self.end_headers()
                payload = body[start:start + server.cut.pop(self.path, len(body))]
                self.wfile.write(payload)
                self.wfile.flush()
                server.log.append((self.path, ranged, len(payload)))
                if start + len(payload) < len(body):
                    self.connection.shutdown(socket.SHUT_RDWR)
                    self.close_connection = True

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server() -> Iterator[ArchiveServer]:
    served = ArchiveServer({})
    yield served
    served.close()


def davis_zip(tmp_path: Path, resolution: str = "480p") -> bytes:
    """A DAVIS-2017-layout zip (top folder ``DAVIS/``, train and val splits), deflated."""
    rng = np.random.default_rng(0)
    root = tmp_path / "source" / resolution / "DAVIS"
    write_davis(root, {"bear": moving_ellipses(rng, 3, 24, 32, 1)}, "train", resolution)
    write_davis(root, {"car": moving_ellipses(rng, 3, 24, 32, 2),
                       "dog": moving_ellipses(rng, 3, 24, 32, 1)}, "val", resolution)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(root.rglob("*")):
            archive.write(path, path.relative_to(root.parent).as_posix())
    return buffer.getvalue()


def corrupt(data: bytes) -> bytes:
    """``data`` with bytes flipped inside the first JPEG member's compressed data."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        info = next(i for i in archive.infolist() if i.filename.endswith(".jpg"))
    header = 30 + len(info.filename.encode()) + len(info.extra)
    start = info.header_offset + header + info.compress_size // 2
    damaged = bytearray(data)
    for offset in range(start, start + 8):
        damaged[offset] ^= 0xFF
    return bytes(damaged)


def fetch(server: ArchiveServer, root: Path, name: str = ARCHIVE) -> int:
    return main(["data", "fetch", "davis2017", "--root", str(root), "--url", f"{server.url}/{name}",
                 "--no-progress"])


def one_line_error(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1, err
    return err


def leftovers(parent: Path, root: Path) -> list[str]:
    """What a fetch of ``root`` left in ``parent`` (besides the test's source files)."""
    return sorted(p.name for p in parent.iterdir() if p.name != "source" and p.name != root.name) + (
        [root.name] if root.exists() else [])


def test_good_archive_is_fetched_checked_and_recorded(tmp_path: Path, server: ArchiveServer, capsys) -> None:
    data = davis_zip(tmp_path)
    server.files[f"/{ARCHIVE}"] = data
    root = tmp_path / "DAVIS"
    assert fetch(server, root) == 0
    assert "fetched and checked" in capsys.readouterr().out
    manifest = json.loads((root / MANIFEST_NAME).read_text())
    assert manifest["sha256"] == hashlib.sha256(data).hexdigest()
    assert manifest["archive_bytes"] == len(data) and manifest["sequences"] == {"train": 1, "val": 2}
    assert DavisDataset(root, "val").sequences == ["car", "dog"]
    assert leftovers(tmp_path, root) == ["DAVIS"]  # no work folder, archive or staging left
    # a rerun finds the data in place and does not download again
    assert fetch(server, root) == 0
    assert "already there" in capsys.readouterr().out and len(server.log) == 1
    # ... after checking the layout again: a sequence lost since is named
    for path in sorted((root / "Annotations" / "480p" / "dog").iterdir()):
        path.unlink()
    assert fetch(server, root) == 2
    assert str(root / "Annotations" / "480p" / "dog") in one_line_error(capsys)


def test_killed_extraction_restarts_from_the_kept_download(tmp_path: Path, server: ArchiveServer) -> None:
    data = davis_zip(tmp_path)
    server.files[f"/{ARCHIVE}"] = data
    work = tmp_path / ".DAVIS.fetch"
    (work / "staging" / "DAVIS" / "JPEGImages").mkdir(parents=True)  # a half-extracted archive
    (work / ARCHIVE).write_bytes(data)  # the download it came from, complete
    root = tmp_path / "DAVIS"
    assert fetch(server, root) == 0 and server.log == []  # not downloaded again
    assert DavisDataset(root, "train").sequences == ["bear"] and leftovers(tmp_path, root) == ["DAVIS"]


def test_full_resolution_archive_and_the_layout_check(tmp_path: Path, server: ArchiveServer, capsys) -> None:
    full = "DAVIS-2017-trainval-Full-Resolution.zip"
    server.files[f"/{full}"] = davis_zip(tmp_path, "Full-Resolution")
    server.files[f"/{ARCHIVE}"] = davis_zip(tmp_path)
    root = tmp_path / "DAVIS-full"
    args = ["data", "fetch", "davis2017", "--full-resolution", "--no-progress", "--root", str(root)]
    assert main([*args, "--url", f"{server.url}/{ARCHIVE}"]) == 2  # the 480p archive: wrong layout
    one_line_error(capsys)
    assert leftovers(tmp_path, root) == []
    assert main([*args, "--url", f"{server.url}/{full}"]) == 0
    assert json.loads((root / MANIFEST_NAME).read_text())["resolution"] == "Full-Resolution"
    assert DavisDataset(root, "train", "Full-Resolution").sequences == ["bear"]


def test_truncated_archive_is_refused_and_deleted(tmp_path: Path, server: ArchiveServer, capsys) -> None:
    data = davis_zip(tmp_path)
    server.files[f"/{ARCHIVE}"] = data[: len(data) * 2 // 3]  # served whole, but a cut-off zip
    root = tmp_path / "DAVIS"
    assert fetch(server, root) == 2
    err = one_line_error(capsys)
    assert "not a complete zip archive" in err and ARCHIVE in err and "rerun" in err
    assert leftovers(tmp_path, root) == []
    server.files[f"/{ARCHIVE}"] = data  # the rerun downloads afresh and succeeds
    assert fetch(server, root) == 0 and server.log[-1][1] is None
    assert leftovers(tmp_path, root) == ["DAVIS"]


def test_corrupt_archive_is_refused_before_extraction(tmp_path: Path, server: ArchiveServer, capsys) -> None:
    server.files[f"/{ARCHIVE}"] = corrupt(davis_zip(tmp_path))
    root = tmp_path / "DAVIS"
    assert fetch(server, root) == 2
    err = one_line_error(capsys)
    assert ARCHIVE in err and "member DAVIS/JPEGImages/480p/bear/00000.jpg is corrupt" in err
    assert leftovers(tmp_path, root) == []


def test_interrupted_transfer_resumes_where_it_stopped(tmp_path: Path, server: ArchiveServer, capsys) -> None:
    data = davis_zip(tmp_path)
    server.files[f"/{ARCHIVE}"] = data
    cut = len(data) // 3
    server.cut[f"/{ARCHIVE}"] = cut
    root = tmp_path / "DAVIS"
    assert fetch(server, root) == 2
    err = one_line_error(capsys)
    assert f"interrupted after {cut:,} of {len(data):,} bytes" in err and "resume" in err
    assert not root.exists()
    assert (tmp_path / ".DAVIS.fetch" / f"{ARCHIVE}.part").stat().st_size == cut
    assert fetch(server, root) == 0
    assert server.log[-1] == (f"/{ARCHIVE}", f"bytes={cut}-", len(data) - cut)  # only the rest
    manifest = json.loads((root / MANIFEST_NAME).read_text())
    assert manifest["sha256"] == hashlib.sha256(data).hexdigest()
    assert leftovers(tmp_path, root) == ["DAVIS"]


def test_ctrl_c_keeps_the_partial_download_to_resume(tmp_path: Path, server: ArchiveServer, capsys,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    data = davis_zip(tmp_path)
    server.files[f"/{ARCHIVE}"] = data
    monkeypatch.setattr(download, "CHUNK", 4096)

    received = []

    class CtrlC(download.tqdm):  # the user presses Ctrl-C once 8 KiB have arrived
        def update(self, n: float | None = 1) -> bool | None:
            received.append(n)
            if sum(received) >= 8192:
                raise KeyboardInterrupt
            return super().update(n)

    monkeypatch.setattr(download, "tqdm", CtrlC)
    root = tmp_path / "DAVIS"
    assert fetch(server, root) == 130
    assert "rerun the same command to resume" in capsys.readouterr().err
    assert (tmp_path / ".DAVIS.fetch" / f"{ARCHIVE}.part").stat().st_size == 8192 and not root.exists()
    monkeypatch.undo()
    assert fetch(server, root) == 0 and server.log[-1][1] == "bytes=8192-"
    assert json.loads((root / MANIFEST_NAME).read_text())["sha256"] == hashlib.sha256(data).hexdigest()


def test_server_without_ranges_restarts_the_download(tmp_path: Path, server: ArchiveServer) -> None:
    data = davis_zip(tmp_path)
    server.files[f"/{ARCHIVE}"] = data
    server.cut[f"/{ARCHIVE}"] = 1000
    server.ignore_range = True
    root = tmp_path / "DAVIS"
    assert fetch(server, root) == 2
    assert fetch(server, root) == 0
    assert server.log[-1][2] == len(data)  # sent whole and written from the start, not appended
    assert json.loads((root / MANIFEST_NAME).read_text())["sha256"] == hashlib.sha256(data).hexdigest()


def test_archive_that_is_not_davis_leaves_nothing(tmp_path: Path, server: ArchiveServer, capsys) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("something/readme.txt", "not DAVIS")
    server.files[f"/{ARCHIVE}"] = buffer.getvalue()
    root = tmp_path / "DAVIS"
    assert fetch(server, root) == 2
    err = one_line_error(capsys)
    assert "not a DAVIS-2017 480p archive" in err and "ImageSets" in err
    assert leftovers(tmp_path, root) == []


def test_missing_url_and_occupied_root_are_refused(tmp_path: Path, server: ArchiveServer, capsys) -> None:
    root = tmp_path / "DAVIS"
    assert fetch(server, root, "nothing-here.zip") == 2
    assert "HTTP 404" in one_line_error(capsys) and leftovers(tmp_path, root) == []
    with socket.socket() as closed:  # a port nobody listens on
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    assert main(["data", "fetch", "davis2017", "--root", str(root), "--url",
                 f"http://127.0.0.1:{port}/{ARCHIVE}", "--no-progress"]) == 2
    assert "cannot connect" in one_line_error(capsys) and leftovers(tmp_path, root) == []
    root.mkdir()
    (root / "notes.txt").write_text("mine")
    assert fetch(server, root) == 2
    assert "expected an empty or new folder" in one_line_error(capsys)
    assert [p.name for p in root.iterdir()] == ["notes.txt"] and server.log[-1][0] == "/nothing-here.zip"


# ---- data prepare youtube-vos ------------------------------------------------------------------

def write_video(folder: Path, frames: int, height: int, width: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(frames)
    for index in range(frames):
        image = rng.integers(0, 255, (height, width, 3), dtype=np.uint8)
        Image.fromarray(image).save(folder / f"{index * 5:05d}.jpg", quality=90)


def prepare(src: Path, root: Path, *extra: str) -> int:
    return main(["data", "prepare", "youtube-vos", "--src", str(src), "--root", str(root),
                 "--no-progress", *extra])


def test_prepare_resizes_to_480_short_side_in_the_training_layout(tmp_path: Path) -> None:
    src = tmp_path / "train"
    write_video(src / "JPEGImages" / "0a2f", 2, 720, 1280)
    write_video(src / "JPEGImages" / "1b3c", 3, 360, 640)  # already small: copied, not upscaled
    root = tmp_path / "ytvos"
    assert prepare(src, root) == 0
    with Image.open(root / "JPEGImages" / "0a2f" / "00005.jpg") as image:
        assert image.size == (853, 480)
    small = root / "JPEGImages" / "1b3c" / "00010.jpg"
    assert small.read_bytes() == (src / "JPEGImages" / "1b3c" / "00010.jpg").read_bytes()
    manifest = json.loads((root / MANIFEST_NAME).read_text())
    assert manifest["complete"] and manifest["videos"] == 2 and manifest["frames"] == 5
    assert sorted(p.name for p in root.iterdir()) == ["JPEGImages", MANIFEST_NAME]
    sequences = discover_sequences([root], [], None)
    assert [(s.name, len(s)) for s in sequences] == [("ytvos/0a2f", 2), ("ytvos/1b3c", 3)]


def test_prepare_stops_at_a_corrupt_frame_and_resumes(tmp_path: Path, capsys) -> None:
    src = tmp_path / "train"
    for name in ("a", "b", "c"):
        write_video(src / "JPEGImages" / name, 2, 40, 60)
    bad = src / "JPEGImages" / "b" / "00005.jpg"
    good = bad.read_bytes()
    bad.write_bytes(good[: len(good) // 2])
    root = tmp_path / "ytvos"
    assert prepare(src, root, "--short-side", "20") == 2
    err = one_line_error(capsys)
    assert str(bad) in err and "cannot read frame" in err and "finished videos are kept" in err
    assert [p.name for p in (root / "JPEGImages").iterdir()] == ["a"]  # whole videos only
    assert not (root / ".staging").exists()
    assert not json.loads((root / MANIFEST_NAME).read_text())["complete"]
    done = (root / "JPEGImages" / "a" / "00000.jpg").stat().st_mtime_ns
    bad.write_bytes(good)
    assert prepare(src, root, "--short-side", "20") == 0
    assert "2 prepared now, 1 were already done" in capsys.readouterr().out
    assert (root / "JPEGImages" / "a" / "00000.jpg").stat().st_mtime_ns == done
    assert json.loads((root / MANIFEST_NAME).read_text())["complete"]


def test_prepare_with_workers_matches_one_process(tmp_path: Path) -> None:
    src = tmp_path / "train"
    for name in ("a", "b", "c"):
        write_video(src / name, 2, 50, 70)  # a folder of video folders (no JPEGImages/)
    assert prepare(src, tmp_path / "one", "--short-side", "25") == 0
    assert prepare(src, tmp_path / "two", "--short-side", "25", "--workers", "2") == 0
    for frame in sorted((tmp_path / "one").rglob("*.jpg")):
        assert frame.read_bytes() == (tmp_path / "two" / frame.relative_to(tmp_path / "one")).read_bytes()


def test_prepare_refuses_bad_source_and_mixed_sizes(tmp_path: Path, capsys) -> None:
    (tmp_path / "empty").mkdir()
    assert prepare(tmp_path / "empty", tmp_path / "out") == 2
    assert "no video folders with .jpg frames" in one_line_error(capsys)
    assert not (tmp_path / "out").exists()
    write_video(tmp_path / "train" / "a", 2, 40, 60)
    assert prepare(tmp_path / "train", tmp_path / "out", "--short-side", "20") == 0
    capsys.readouterr()
    assert prepare(tmp_path / "train", tmp_path / "out", "--short-side", "30") == 2
    assert "short side 20" in one_line_error(capsys)
    assert prepare(tmp_path / "train", tmp_path / "train" / "small") == 2
    assert "overlaps the source" in one_line_error(capsys) and not (tmp_path / "train" / "small").exists()
