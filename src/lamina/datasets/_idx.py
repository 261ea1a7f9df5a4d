"""Reader for the IDX format of (Fashion-)MNIST, gzip-compressed or not.

An IDX file is a 4-byte magic number ``00 00 <type> <ndim>``, then ``ndim`` big-endian uint32
dimensions, then the data, big-endian, row-major. Every structural fact is checked so a
truncated or corrupt download fails with a message, not with a reshape error.
"""

from __future__ import annotations

import gzip
import struct
import zlib
from pathlib import Path

import numpy as np

from .._errors import DataError

__all__ = ["read_idx", "parse_idx"]

# IDX type code -> big-endian NumPy dtype
_IDX_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_idx(path: str | Path, fix: str = "") -> np.ndarray:
    """Read an IDX file (``.gz`` decompressed on the fly) into a native-endian array.

    Parameters
    ----------
    path : str or Path
        The file; names ending in ``.gz`` are gunzipped.
    fix : str
        Appended to error messages (how to get a good copy of the file).

    Examples
    --------
    >>> y = read_idx("/usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz")
    >>> y.shape, y.dtype
    ((10000,), dtype('uint8'))
    """
    path = Path(path)
    try:
        if path.suffix == ".gz":
            with gzip.open(path, "rb") as f:
                data = f.read()
        else:
            data = path.read_bytes()
    except FileNotFoundError:
        raise DataError(f"IDX file {str(path)!r} does not exist. {fix}".strip()) from None
    except (OSError, EOFError, zlib.error) as exc:
        # gzip.BadGzipFile is an OSError; a truncated stream raises EOFError.
        raise DataError(f"IDX file {str(path)!r} is not a valid gzip file ({exc}). "
                        f"{fix}".strip()) from None
    return parse_idx(data, str(path), fix)


def parse_idx(data: bytes, name: str = "<bytes>", fix: str = "") -> np.ndarray:
    """Parse the bytes of an (uncompressed) IDX file; see :func:`read_idx`."""
    def bad(what: str) -> DataError:
        return DataError(f"IDX file {name!r} is corrupt: {what}. {fix}".strip())

    if len(data) < 4:
        raise bad(f"{len(data)} bytes, shorter than the 4-byte magic number")
    zero1, zero2, type_code, ndim = data[0], data[1], data[2], data[3]
    if zero1 != 0 or zero2 != 0 or type_code not in _IDX_TYPES:
        raise bad(f"magic number {data[:4].hex()} is not 0000<type><ndim> with type in "
                  + ", ".join(f"{t:02x}" for t in _IDX_TYPES))
    if ndim == 0:
        raise bad("it declares 0 dimensions")
    header = 4 + 4 * ndim
    if len(data) < header:
        raise bad(f"{len(data)} bytes, shorter than its {header}-byte header")
    dims = struct.unpack(f">{ndim}I", data[4:header])
    dtype = np.dtype(_IDX_TYPES[type_code])
    expected = int(np.prod(dims, dtype=np.int64)) * dtype.itemsize
    if len(data) - header != expected:
        raise bad(f"header says shape {tuple(dims)} ({expected} data bytes) but the file holds "
                  f"{len(data) - header} data bytes")
    arr = np.frombuffer(data, dtype=dtype, offset=header).reshape(dims)
    # native byte order, and a writable copy detached from the (immutable) bytes object
    return arr.astype(dtype.newbyteorder("="))
