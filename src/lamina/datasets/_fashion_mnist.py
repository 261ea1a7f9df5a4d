"""Fashion-MNIST: from the Debian package's files, or downloaded once into a verified cache."""

from __future__ import annotations

import gzip
import hashlib
import os
import zlib
from collections.abc import Callable
from pathlib import Path

import numpy as np

from .._errors import DataError
from .._validation import check_bool, check_float
from ._dataset import Dataset
from ._download import download_file
from ._idx import read_idx
from ._packages import Requirement

__all__ = ["fashion_mnist", "FASHION_MNIST_URL", "CLASSES", "REQUIREMENT", "default_cache_dir"]

#: where the authors publish the files (the README's download links)
FASHION_MNIST_URL = "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"

#: the Debian package ``dataset-fashion-mnist`` installs the files here
SYSTEM_DIR = "/usr/share/datasets/fashion-mnist"

CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker",
           "Bag", "Ankle boot"]

# file -> (md5 of the published .gz, sha256 of its decompressed IDX content).
# The md5s are the ones the authors publish for the canonical files. Debian re-gzipped the same
# data without the stored file name (each .gz is 23-24 bytes shorter, so its md5 differs);
# the sha256 of the decompressed content, computed from the Debian files, accepts such copies:
# what must match is the data, not the compressor's header.
FILES = {
    "train-images-idx3-ubyte.gz": (
        "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
        "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888"),
    "train-labels-idx1-ubyte.gz": (
        "25c81989df183df01b3e8a0aad5dffbe",
        "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9"),
    "t10k-images-idx3-ubyte.gz": (
        "bef4ecab320f06d8554ea6380940ec79",
        "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b"),
    "t10k-labels-idx1-ubyte.gz": (
        "bb300cfdad3c16e7a12a480ee83cd310",
        "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34"),
}

REQUIREMENT = Requirement(
    "debian", "dataset-fashion-mnist", paths=(SYSTEM_DIR,),
    alternative="lamina.datasets.load('fashion_mnist', download=True)")


def _requirement() -> Requirement:
    # built at call time from SYSTEM_DIR (tests point it at an empty folder)
    return Requirement("debian", REQUIREMENT.package, paths=(SYSTEM_DIR,),
                       alternative=REQUIREMENT.alternative)


def default_cache_dir() -> Path:
    """``$LAMINA_CACHE/fashion_mnist`` when ``LAMINA_CACHE`` is set, else ``~/.cache/lamina/...``."""
    base = os.environ.get("LAMINA_CACHE") or os.path.join("~", ".cache", "lamina")
    return Path(base).expanduser() / "fashion_mnist"


def fashion_mnist(*, root: str | Path | None = None, download: bool = False,
                  cache_dir: str | Path | None = None, base_url: str = FASHION_MNIST_URL,
                  timeout: float = 60.0) -> Dataset:
    """Fashion-MNIST: 60000 training + 10000 test images of clothing, 28x28 grey, 10 classes.

    Looks for the four IDX files in ``root`` if given; otherwise in the Debian package's folder
    (``/usr/share/datasets/fashion-mnist``, ``apt-get install dataset-fashion-mnist``), then in
    the cache. With ``download=True`` missing files are downloaded from ``base_url`` into
    ``root`` (or the cache), each checked against its known checksum; already verified files
    are skipped and an interrupted download resumes.

    Parameters
    ----------
    root : str or Path, optional
        Folder holding ``{train,t10k}-{images-idx3,labels-idx1}-ubyte.gz``.
    download : bool, default False
        Download missing files (about 30 MB) instead of raising.
    cache_dir : str or Path, optional
        Download folder when ``root`` is not given; default ``$LAMINA_CACHE/fashion_mnist`` or
        ``~/.cache/lamina/fashion_mnist``.
    base_url : str
        Where to download from; the authors' server by default. A mirror must serve the same
        files (the checksums are verified).
    timeout : float, default 60
        Seconds to wait for the server to connect or send more data.

    Returns
    -------
    Dataset
        ``X`` float32 ``(60000, 784)`` in [0, 1], ``y`` int64 in 0..9, ``X_test``/``y_test``
        the 10000 official test images, ``image_shape=(1, 28, 28)``, ``target_names`` the class
        names (``"T-shirt/top"``, ``"Trouser"``, ...).

    Examples
    --------
    >>> ds = fashion_mnist()
    >>> ds.X.shape, ds.X_test.shape, ds.target_names[9]
    ((60000, 784), (10000, 784), 'Ankle boot')
    """
    download = check_bool("download", download)
    timeout = check_float("timeout", timeout, 0, None, low_open=True)
    folder = _locate(root, cache_dir)
    missing = [f for f in FILES if not (folder / f).is_file()]
    if missing and download:
        url = base_url if base_url.endswith("/") else base_url + "/"
        for fname in missing:
            download_file(url + fname, folder / fname, _verifier(fname), timeout=timeout,
                          fix="Or install the Debian package: apt-get install dataset-fashion-mnist.")
    elif missing:
        if root is not None:
            raise DataError(f"Fashion-MNIST files missing in root={str(root)!r}: "
                            f"{', '.join(missing)}. Pass download=True to download them there, "
                            "or point root= at the folder that holds them.")
        _requirement().require("fashion_mnist")  # no Debian folder: raises with the install hint
        broken = [f for f in FILES if not (Path(SYSTEM_DIR) / f).is_file()]
        raise DataError(f"Fashion-MNIST files missing in {SYSTEM_DIR}: {', '.join(broken)}. "
                        "Reinstall: apt-get install --reinstall dataset-fashion-mnist, or "
                        "pass download=True.")
    fix = (f"Delete it and run lamina.datasets.load('fashion_mnist', download=True, "
           f"cache_dir={str(folder)!r}).")
    X = read_idx(folder / "train-images-idx3-ubyte.gz", fix)
    y = read_idx(folder / "train-labels-idx1-ubyte.gz", fix)
    X_test = read_idx(folder / "t10k-images-idx3-ubyte.gz", fix)
    y_test = read_idx(folder / "t10k-labels-idx1-ubyte.gz", fix)
    for images, labels, split in ((X, y, "train"), (X_test, y_test, "t10k")):
        if images.shape[1:] != (28, 28) or labels.ndim != 1 or len(images) != len(labels):
            raise DataError(f"Fashion-MNIST {split} files in {str(folder)!r} do not match: images "
                            f"{images.shape}, labels {labels.shape}; expected (N, 28, 28) and "
                            f"(N,). {fix}")
    return Dataset(
        name="fashion_mnist", task="classification",
        X=_scale(X), y=y.astype(np.int64), X_test=_scale(X_test), y_test=y_test.astype(np.int64),
        feature_names=None, target_names=list(CLASSES), image_shape=(1, 28, 28),
        description=("Fashion-MNIST (Xiao, Rasul & Vollgraf 2017, MIT licence): Zalando article "
                     "images, 28x28 grey, pixels scaled to [0, 1], flattened row-major; "
                     f"read from {folder}."),
        extras={"folder": str(folder)},
    )


def _scale(images: np.ndarray) -> np.ndarray:
    # float32 in [0, 1], flattened row-major so X.reshape(-1, 1, 28, 28) restores the images
    out = images.reshape(len(images), -1).astype(np.float32)
    out *= np.float32(1.0 / 255.0)
    return out


def _locate(root: str | Path | None, cache_dir: str | Path | None) -> Path:
    if root is not None:
        return Path(root).expanduser()
    system = Path(SYSTEM_DIR)
    if all((system / f).is_file() for f in FILES):
        return system
    return Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir()


def available() -> bool:
    """All four files are in the Debian folder or the default cache."""
    return any(all((d / f).is_file() for f in FILES)
               for d in (Path(SYSTEM_DIR), default_cache_dir()))


def _verifier(fname: str) -> Callable[[Path], str | None]:
    md5, sha256 = FILES[fname]

    def verify(path: Path) -> str | None:
        got = _digest(path, "md5", gunzip=False)
        if got == md5:
            return None
        try:
            content = _digest(path, "sha256", gunzip=True)
        except (OSError, EOFError, zlib.error):
            return f"md5 {got} instead of the published {md5}, and it is not a valid gzip file"
        if content == sha256:
            return None  # a re-compressed copy of the same data (e.g. Debian's)
        return (f"md5 {got} instead of the published {md5}, and its decompressed content "
                f"(sha256 {content[:12]}...) is not Fashion-MNIST's either")

    return verify


def _digest(path: Path, algorithm: str, *, gunzip: bool) -> str:
    h = hashlib.new(algorithm)
    opener = gzip.open if gunzip else open
    with opener(path, "rb") as f:
        while block := f.read(1 << 20):
            h.update(block)
    return h.hexdigest()
