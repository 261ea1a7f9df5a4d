"""Fashion-MNIST: IDX parsing, the Debian files, and the download path against a local server.

Nothing here touches the network: downloads come from an http.server on 127.0.0.1 serving
copies of the Debian files from a temp dir.
"""

from __future__ import annotations

import gzip
import hashlib
import http.server
import shutil
import socket
import struct
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from lamina import DataError
from lamina.datasets import Dataset, fashion_mnist, load, read_idx
from lamina.datasets import _fashion_mnist as fm
from lamina.datasets._download import download_file

DEBIAN = Path("/usr/share/datasets/fashion-mnist")
LABELS = "train-labels-idx1-ubyte.gz"


@pytest.fixture(scope="module")
def fmnist() -> Dataset:
    return fashion_mnist()  # from the Debian package, parsed once for this module


def test_debian_files_parse_to_the_published_shapes(fmnist: Dataset) -> None:
    assert fmnist.X.shape == (60000, 784) and fmnist.X.dtype == np.float32
    assert fmnist.X_test.shape == (10000, 784) and fmnist.X_test.dtype == np.float32
    assert fmnist.y.dtype == np.int64 and fmnist.y_test.dtype == np.int64
    assert fmnist.X.min() == 0.0 and fmnist.X.max() == 1.0
    # the published class balance: 6000 per class in train, 1000 in test
    assert np.bincount(fmnist.y).tolist() == [6000] * 10
    assert np.bincount(fmnist.y_test).tolist() == [1000] * 10
    assert fmnist.image_shape == (1, 28, 28)
    assert fmnist.target_names[0] == "T-shirt/top" and fmnist.target_names[9] == "Ankle boot"
    assert fmnist.task == "classification"


def test_pixels_are_the_raw_bytes_over_255(fmnist: Dataset) -> None:
    # the reading from DATA.md, independent of our IDX parser
    with gzip.open(DEBIAN / "t10k-images-idx3-ubyte.gz") as f:
        raw = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 28, 28)
    np.testing.assert_array_equal(np.round(fmnist.X_test.reshape(-1, 28, 28) * 255), raw)
    with gzip.open(DEBIAN / LABELS) as f:
        labels = np.frombuffer(f.read(), np.uint8, offset=8)
    np.testing.assert_array_equal(fmnist.y, labels)


def test_load_by_name_with_split_and_subsample(fmnist: Dataset) -> None:
    ds = load("fashion_mnist", n_samples=600, seed=2)
    assert ds.X.shape == (600, 784) and np.bincount(ds.y).tolist() == [60] * 10
    assert ds.X_test.shape == (100, 784) and np.bincount(ds.y_test).tolist() == [10] * 10
    # subsampled rows are real rows of the full set, in their original order
    rows = {hashlib.md5(r.tobytes()).digest(): i for i, r in enumerate(fmnist.X)}
    idx = [rows[hashlib.md5(r.tobytes()).digest()] for r in ds.X]
    assert idx == sorted(idx) and len(set(idx)) == 600
    np.testing.assert_array_equal(ds.y, fmnist.y[idx])


# --- IDX parser on hand-made files -----------------------------------------------------------

def _idx(type_code: int, dims: tuple[int, ...], payload: bytes) -> bytes:
    return bytes([0, 0, type_code, len(dims)]) + struct.pack(f">{len(dims)}I", *dims) + payload


def test_idx_reads_types_big_endian(tmp_path: Path) -> None:
    (tmp_path / "a.idx").write_bytes(_idx(0x08, (2, 3), bytes(range(6))))
    assert read_idx(tmp_path / "a.idx").tolist() == [[0, 1, 2], [3, 4, 5]]
    (tmp_path / "b.idx.gz").write_bytes(gzip.compress(_idx(0x0C, (2,), struct.pack(">2i", -7, 9))))
    b = read_idx(tmp_path / "b.idx.gz")
    assert b.tolist() == [-7, 9] and b.dtype.byteorder in "=|<"
    (tmp_path / "c.idx").write_bytes(_idx(0x0D, (1,), struct.pack(">f", 1.5)))
    assert read_idx(tmp_path / "c.idx").tolist() == [1.5]


def test_idx_corruption_is_a_clear_error(tmp_path: Path) -> None:
    bad_magic = tmp_path / "m.idx"
    bad_magic.write_bytes(b"\x1f\x8b\x08\x03" + bytes(20))
    with pytest.raises(DataError, match=r"is corrupt: magic number 1f8b0803 is not "
                                        r"0000<type><ndim>"):
        read_idx(bad_magic)
    short = tmp_path / "s.idx"
    short.write_bytes(_idx(0x08, (10, 28, 28), bytes(100)))
    with pytest.raises(DataError, match=r"header says shape \(10, 28, 28\) \(7840 data bytes\) "
                                        r"but the file holds 100 data bytes"):
        read_idx(short, fix="Re-download it.")
    truncated = tmp_path / "t.idx.gz"
    truncated.write_bytes((DEBIAN / LABELS).read_bytes()[:3000])
    with pytest.raises(DataError, match=r"is not a valid gzip file"):
        read_idx(truncated)
    with pytest.raises(DataError, match=r"does not exist"):
        read_idx(tmp_path / "missing.gz")


def test_corrupt_file_in_root_names_the_file_and_the_fix(tmp_path: Path) -> None:
    for f in fm.FILES:
        shutil.copy(DEBIAN / f, tmp_path / f)
    (tmp_path / LABELS).write_bytes(gzip.compress(_idx(0x08, (5,), bytes(4))))
    with pytest.raises(DataError, match=rf"{LABELS}' is corrupt: header says shape \(5,\).*"
                                        r"Delete it and run lamina.datasets.load\('fashion_mnist', "
                                        r"download=True"):
        fashion_mnist(root=tmp_path)


# --- download path against a local HTTP server ----------------------------------------------

class _Server:
    def __init__(self, directory: Path, honour_range: bool = True, cut_at: int = 0) -> None:
        self.directory = directory
        self.requests: list[tuple[str, str | None]] = []
        server = self

        class Handler(http.server.SimpleHTTPRequestHandler):
            def __init__(self, *args: Any, **kw: Any) -> None:
                super().__init__(*args, directory=str(directory), **kw)

            def log_message(self, *args: Any) -> None:  # keep test output clean
                pass

            def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
                rng = self.headers.get("Range")
                server.requests.append((self.path, rng))
                path = directory / self.path.lstrip("/")
                if cut_at:  # promise the whole file, send cut_at bytes, hang up
                    data = path.read_bytes()
                    self.send_response(200)
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data[:cut_at])
                    self.wfile.flush()
                    self.close_connection = True
                    return
                if not (rng and honour_range and path.is_file()):
                    super().do_GET()
                    return
                data = path.read_bytes()
                start = int(rng.split("=")[1].split("-")[0])
                if start >= len(data):
                    self.send_error(416)
                    return
                self.send_response(206)
                self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
                self.send_header("Content-Length", str(len(data) - start))
                self.end_headers()
                self.wfile.write(data[start:])

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/"
        # a short poll interval: shutdown() waits up to one interval
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.02,), daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def mirror(tmp_path: Path) -> Iterator[_Server]:
    served = tmp_path / "served"
    served.mkdir()
    for f in fm.FILES:
        shutil.copy(DEBIAN / f, served / f)
    server = _Server(served)
    yield server
    server.close()


def test_download_verifies_and_loads_the_same_data(tmp_path: Path, mirror: _Server,
                                                   fmnist: Dataset) -> None:
    root = tmp_path / "fm"
    ds = fashion_mnist(root=root, download=True, base_url=mirror.url)
    assert sorted(p for p, _ in mirror.requests) == sorted("/" + f for f in fm.FILES)
    assert sorted(p.name for p in root.iterdir()) == sorted(fm.FILES)  # no .part left
    np.testing.assert_array_equal(ds.X, fmnist.X)
    np.testing.assert_array_equal(ds.y_test, fmnist.y_test)
    # a second call finds the verified files and asks the server for nothing
    fashion_mnist(root=root, download=True, base_url=mirror.url)
    assert len(mirror.requests) == 4


def test_download_goes_to_lamina_cache(tmp_path: Path, mirror: _Server,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fm, "SYSTEM_DIR", str(tmp_path / "no-debian-package"))
    monkeypatch.setenv("LAMINA_CACHE", str(tmp_path / "cache"))
    assert fm.default_cache_dir() == tmp_path / "cache" / "fashion_mnist"
    ds = load("fashion_mnist", download=True, base_url=mirror.url, n_samples=100)
    assert ds.X.shape == (100, 784)
    assert all((tmp_path / "cache" / "fashion_mnist" / f).is_file() for f in fm.FILES)
    monkeypatch.delenv("LAMINA_CACHE")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert fm.default_cache_dir() == tmp_path / "home" / ".cache" / "lamina" / "fashion_mnist"


def test_missing_everywhere_names_the_debian_package(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fm, "SYSTEM_DIR", str(tmp_path / "no-debian-package"))
    monkeypatch.setenv("LAMINA_CACHE", str(tmp_path / "empty-cache"))
    with pytest.raises(DataError) as e:
        load("fashion_mnist")
    assert str(e.value) == ("dataset 'fashion_mnist' needs the Debian package "
                            "dataset-fashion-mnist: apt-get install dataset-fashion-mnist, or "
                            "lamina.datasets.load('fashion_mnist', download=True)")
    with pytest.raises(DataError, match=r"files missing in root=.*Pass download=True"):
        fashion_mnist(root=tmp_path)


def _labels_verifier() -> Any:
    return fm._verifier(LABELS)


def test_resume_asks_for_the_rest_only(tmp_path: Path, mirror: _Server) -> None:
    original = (DEBIAN / LABELS).read_bytes()
    dest = tmp_path / LABELS
    (tmp_path / (LABELS + ".part")).write_bytes(original[:10000])
    assert download_file(mirror.url + LABELS, dest, _labels_verifier(), timeout=5)
    assert mirror.requests == [("/" + LABELS, "bytes=10000-")]
    assert dest.read_bytes() == original and not (tmp_path / (LABELS + ".part")).exists()


def test_dropped_connection_keeps_the_part_and_the_next_call_resumes(tmp_path: Path,
                                                                     mirror: _Server) -> None:
    served = tmp_path / "served"
    flaky = _Server(served, cut_at=12000)
    dest = tmp_path / "out" / LABELS
    try:
        with pytest.raises(DataError, match=rf"could not download {flaky.url}{LABELS}: .*Run "
                                            r"again to resume\."):
            download_file(flaky.url + LABELS, dest, _labels_verifier(), timeout=5)
    finally:
        flaky.close()
    part = dest.with_name(LABELS + ".part")
    assert part.stat().st_size == 12000 and not dest.exists()
    assert download_file(mirror.url + LABELS, dest, _labels_verifier(), timeout=5)
    assert mirror.requests == [("/" + LABELS, "bytes=12000-")]
    assert dest.read_bytes() == (DEBIAN / LABELS).read_bytes()


def test_server_ignoring_range_gets_a_full_restart(tmp_path: Path) -> None:
    served = tmp_path / "served"
    served.mkdir()
    shutil.copy(DEBIAN / LABELS, served / LABELS)
    server = _Server(served, honour_range=False)
    try:
        dest = tmp_path / "out" / LABELS
        dest.parent.mkdir()
        (dest.parent / (LABELS + ".part")).write_bytes(b"garbage that must not be kept")
        assert download_file(server.url + LABELS, dest, _labels_verifier(), timeout=5)
        assert dest.read_bytes() == (DEBIAN / LABELS).read_bytes()
    finally:
        server.close()


def test_published_md5_is_accepted(tmp_path: Path, mirror: _Server,
                                   monkeypatch: pytest.MonkeyPatch) -> None:
    # pretend the Debian file is the canonical one: the md5 branch accepts it on its own
    md5 = hashlib.md5((DEBIAN / LABELS).read_bytes()).hexdigest()
    monkeypatch.setitem(fm.FILES, LABELS, (md5, "0" * 64))
    assert download_file(mirror.url + LABELS, tmp_path / LABELS, _labels_verifier(), timeout=5)
    monkeypatch.setitem(fm.FILES, LABELS, ("0" * 32, "0" * 64))
    with pytest.raises(DataError, match="checksum mismatch"):
        download_file(mirror.url + LABELS, tmp_path / "again" / LABELS, _labels_verifier())


def test_corrupted_download_is_deleted_with_a_checksum_error(tmp_path: Path,
                                                            mirror: _Server) -> None:
    # a flipped byte inside the deflate stream: neither md5 nor gzip CRC match
    data = bytearray((DEBIAN / LABELS).read_bytes())
    data[5000] ^= 0xFF
    (mirror.directory / LABELS).write_bytes(bytes(data))
    root = tmp_path / "fm"
    with pytest.raises(DataError) as e:
        fashion_mnist(root=root, download=True, base_url=mirror.url)
    msg = str(e.value)
    assert msg.startswith(f"checksum mismatch for {LABELS} downloaded from {mirror.url}{LABELS}: "
                          f"md5 {hashlib.md5(bytes(data)).hexdigest()} instead of the published "
                          f"{fm.FILES[LABELS][0]}")
    assert "The file was deleted; run again to retry, or check base_url." in msg
    assert not (root / LABELS).exists() and not (root / (LABELS + ".part")).exists()

    # a valid gzip of other content: the decompressed-content check rejects it too
    with gzip.open(DEBIAN / LABELS) as f:
        payload = bytearray(f.read())
    payload[100] = (payload[100] + 1) % 10
    (mirror.directory / LABELS).write_bytes(gzip.compress(bytes(payload)))
    with pytest.raises(DataError, match=r"its decompressed content \(sha256 [0-9a-f]{12}\.\.\.\) "
                                        r"is not Fashion-MNIST's either"):
        fashion_mnist(root=root, download=True, base_url=mirror.url)


def test_http_error_names_the_url(tmp_path: Path, mirror: _Server) -> None:
    (mirror.directory / LABELS).unlink()
    with pytest.raises(DataError, match=rf"could not download {mirror.url}{LABELS}: HTTP 404"):
        fashion_mnist(root=tmp_path / "fm", download=True, base_url=mirror.url)


def test_unreachable_server(tmp_path: Path) -> None:
    with socket.socket() as s:  # find a free port, then leave it closed
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}/"
    with pytest.raises(DataError) as e:
        fashion_mnist(root=tmp_path / "fm", download=True, base_url=url, timeout=2)
    assert str(e.value).startswith(f"could not download {url}")
    assert "Connection refused" in str(e.value)
    assert "pass base_url= a reachable mirror" in str(e.value)
    assert "apt-get install dataset-fashion-mnist" in str(e.value)


def test_silent_server_times_out(tmp_path: Path) -> None:
    # accepts the TCP connection (kernel backlog) but never answers the HTTP request
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(8)
        url = f"http://127.0.0.1:{s.getsockname()[1]}/"
        start = time.perf_counter()
        with pytest.raises(DataError, match=r"could not download .*: no answer within "
                                            r"timeout=0\.3 s"):
            fashion_mnist(root=tmp_path / "fm", download=True, base_url=url, timeout=0.3)
        assert time.perf_counter() - start < 5
