"""snarkjs / circom witness files (.wtns): read and write.

Mirrors snarkjs 0.7.6 ``src/wtns_utils.js`` (``write``, ``readHeader``, ``read``) on the iden3
binary container (``prover.binfile``), magic ``"wtns"``, version 2:

    section 1 (header):  n8 (u32) | q (n8 bytes, little-endian) | witness count (u32)
    section 2 (values):  count x n8-byte little-endian words, each in NORMAL form (not Montgomery)

For BN254 n8 = 32 and q is the scalar field's modulus r. Witness slot 0 is the constant 1;
public signals are slots 1..nPublic (circom: outputs, then public inputs).

Values come back as canonical Python ints. Reading checks what snarkjs leaves unchecked: the
field is BN254's Fr, every value is < r, and the value section has exactly ``count`` words.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Sequence

import numpy as np

from prover import params
from prover.binfile import BinFile, BinFileError, write_binfile

MAGIC = "wtns"
VERSION = 2
N8 = 32  # bytes per Fr element: (floor((bitlen(r) - 1) / 64) + 1) * 8


class WtnsError(ValueError):
    """A .wtns file that snarkjs would not write for BN254, or a witness that cannot be written."""


def read_wtns(path: str | os.PathLike) -> list[int]:
    """The witness values of a .wtns file, as canonical ints (index 0 is the constant 1)."""
    try:
        bf = BinFile.read(path, MAGIC, max_version=VERSION)
        header = bf.section(1)
        if len(header) < 4:
            raise WtnsError(f"{bf.path}: header section has {len(header)} bytes, expected >= 4")
        (n8,) = struct.unpack_from("<I", header, 0)
        if n8 != N8:
            raise WtnsError(
                f"{bf.path}: field element size n8 = {n8}, expected {N8} (BN254 scalar field)"
            )
        if len(header) != 4 + n8 + 4:
            raise WtnsError(
                f"{bf.path}: header section has {len(header)} bytes, expected {4 + n8 + 4}"
            )
        q = int.from_bytes(bytes(header[4 : 4 + n8]), "little")
        if q != params.R_ORDER:
            raise WtnsError(
                f"{bf.path}: witness field modulus is {q}, not BN254's scalar field r "
                f"({params.R_ORDER}): a witness for another curve?"
            )
        (count,) = struct.unpack_from("<I", header, 4 + n8)
        body = bf.section(2)
        if len(body) != count * n8:
            raise WtnsError(
                f"{bf.path}: the header announces {count} values ({count * n8} bytes) but the "
                f"value section has {len(body)} bytes"
            )
    except BinFileError as exc:
        raise WtnsError(str(exc)) from exc
    words = np.frombuffer(body, dtype="<u8").reshape(count, 4)
    big = _first_not_below_r(words)
    if big is not None:
        raise WtnsError(f"{bf.path}: witness value {big} is not < r (not a canonical Fr element)")
    raw = bytes(body)
    return [int.from_bytes(raw[i : i + n8], "little") for i in range(0, len(raw), n8)]


def write_wtns(path: str | os.PathLike, values: Sequence[int]) -> None:
    """Write ``values`` (canonical ints < r; index 0 should be 1) as snarkjs does."""
    values = list(values)
    for i, v in enumerate(values):
        if not isinstance(v, int) or isinstance(v, bool) or not 0 <= v < params.R_ORDER:
            raise WtnsError(f"witness value {i} is not an int in [0, r): {v!r}")
    if len(values) >= 1 << 32:
        raise WtnsError(f"{len(values)} witness values do not fit the u32 count")
    header = struct.pack("<I", N8) + params.R_ORDER.to_bytes(N8, "little")
    header += struct.pack("<I", len(values))
    body = b"".join(v.to_bytes(N8, "little") for v in values)
    write_binfile(path, MAGIC, VERSION, [(1, header), (2, body)])


_R_LIMBS = params.to_limbs(params.R_ORDER)


def _first_not_below_r(words: np.ndarray) -> int | None:
    """The index of the first 4-limb little-endian word >= r, or None (vectorised compare)."""
    if not words.shape[0]:
        return None
    equal = np.ones(words.shape[0], dtype=bool)  # equal to r so far, from the top limb down
    below = np.zeros(words.shape[0], dtype=bool)
    for k in range(3, -1, -1):
        limb, rk = words[:, k], np.uint64(_R_LIMBS[k])
        below |= equal & (limb < rk)
        equal &= limb == rk
    bad = np.flatnonzero(~below)
    return int(bad[0]) if bad.size else None
