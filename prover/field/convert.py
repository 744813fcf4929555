"""The one boundary between canonical ints, 32-byte words and Montgomery arrays.

A Montgomery array (names end in ``_m``) is a C-contiguous ``(n, 4)`` uint64 array, limbs
little-endian, holding x * 2^256 mod m. Everything that enters or leaves the kernels passes here.

Byte layouts:
- ``*_le32``: 32-byte little-endian words (snarkjs's .wtns scalars; with ``montgomery=True``
  the words are the Montgomery form itself, as inside .zkey and .ptau files).
- ``*_be32``: 32-byte big-endian words (proof.json/transcript/EVM words).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

from prover.field import kernels
from prover.field.kernels import MontField


def _check_array(a: np.ndarray, name: str = "array") -> np.ndarray:
    if not isinstance(a, np.ndarray) or a.dtype != np.uint64 or a.ndim != 2 or a.shape[1] != 4:
        raise ValueError(f"{name} must be an (n, 4) uint64 array, got {getattr(a, 'shape', a)!r}")
    return np.ascontiguousarray(a)


def ints_to_raw(xs: Sequence[int], modulus: int) -> np.ndarray:
    """Canonical ints -> (n, 4) uint64 limbs, *not* in Montgomery form. Rejects x >= modulus."""
    xs = list(xs)
    for x in xs:
        if not isinstance(x, int) or not 0 <= x < modulus:
            raise ValueError(f"field element out of range [0, modulus): {x!r}")
    buf = b"".join(x.to_bytes(32, "little") for x in xs)
    return np.frombuffer(buf, dtype="<u8").astype(np.uint64).reshape(len(xs), 4)


def raw_to_ints(a: np.ndarray) -> list[int]:
    a = _check_array(a)
    buf = a.astype("<u8", copy=False).tobytes()
    return [int.from_bytes(buf[i : i + 32], "little") for i in range(0, len(buf), 32)]


def to_mont(field: MontField, xs: Iterable[int]) -> np.ndarray:
    """Canonical ints -> Montgomery array."""
    raw = ints_to_raw(list(xs), field.modulus)
    return field.from_raw(raw)


def from_mont(field: MontField, a_m: np.ndarray) -> list[int]:
    """Montgomery array -> canonical ints."""
    return raw_to_ints(field.to_raw(_check_array(a_m, "a_m")))


def mont_from_le32(field: MontField, data: bytes, montgomery: bool) -> np.ndarray:
    """Parse 32-byte little-endian words (Montgomery form if ``montgomery``); each must be < m."""
    if len(data) % 32:
        raise ValueError(f"byte length {len(data)} is not a multiple of 32")
    raw = np.frombuffer(data, dtype="<u8").astype(np.uint64).reshape(-1, 4)
    if not bool(kernels.all_canonical(raw, field.mod)):
        raise ValueError(f"a 32-byte word is not a canonical {field.name} element")
    return raw.copy() if montgomery else field.from_raw(raw)


def mont_to_le32(field: MontField, a_m: np.ndarray, montgomery: bool) -> bytes:
    a = _check_array(a_m, "a_m")
    raw = a if montgomery else field.to_raw(a)
    return raw.astype("<u8", copy=False).tobytes()


def mont_to_be32(field: MontField, a_m: np.ndarray) -> bytes:
    """Canonical values as concatenated 32-byte big-endian words."""
    raw = field.to_raw(_check_array(a_m, "a_m"))
    return np.ascontiguousarray(raw[:, ::-1]).astype(">u8").tobytes()


def mont_from_be32(field: MontField, data: bytes) -> np.ndarray:
    if len(data) % 32:
        raise ValueError(f"byte length {len(data)} is not a multiple of 32")
    raw = np.frombuffer(data, dtype=">u8").astype(np.uint64).reshape(-1, 4)[:, ::-1]
    raw = np.ascontiguousarray(raw)
    if not bool(kernels.all_canonical(raw, field.mod)):
        raise ValueError(f"a 32-byte word is not a canonical {field.name} element")
    return field.from_raw(raw)
