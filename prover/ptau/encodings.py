"""Uncompressed and compressed point encodings, as the contribution hashes absorb them.

Mirrors ffjavascript's ``batchLEMtoU`` / ``batchLEMtoC`` (``src/wasm_curve.js``), which
snarkjs 0.7.6 ``powersoftau_contribute.js`` (the response hash) and ``powersoftau_utils.js``
(``hashSection``, the next challenge hash) call.
"""

from __future__ import annotations

import numpy as np

from prover import params
from prover.field.kernels import FQ_M

P = params.P
_HALF_P_LIMBS = params.to_limbs((P - 1) // 2)


def _gt_half(raw: np.ndarray) -> np.ndarray:
    """raw (n, 4) canonical limbs > (p - 1) / 2, vectorised (ffjavascript's "negative")."""
    equal = np.ones(raw.shape[0], dtype=bool)
    above = np.zeros(raw.shape[0], dtype=bool)
    for k in range(3, -1, -1):
        limb, hk = raw[:, k], np.uint64(_HALF_P_LIMBS[k])
        above |= equal & (limb > hk)
        equal &= limb == hk
    return above


def _be_words(raw: np.ndarray) -> np.ndarray:
    """(..., 4) little-endian limbs -> (..., 32) big-endian bytes."""
    return np.ascontiguousarray(raw[..., ::-1]).astype(">u8").view(np.uint8)


def g1_encodings(points_m: np.ndarray) -> tuple[bytes, bytes]:
    """(uncompressed, compressed) bytes of (n, 2, 4) Montgomery affine points, as ffjavascript's
    ``batchLEMtoU`` / ``batchLEMtoC``: x || y big-endian; x big-endian with 0x80 on the first
    byte when y > (p-1)/2; infinity all zeros (uncompressed) or 0x40 then zeros (compressed)."""
    n = points_m.shape[0]
    raw = FQ_M.to_raw(np.ascontiguousarray(points_m).reshape(-1, 4)).reshape(n, 2, 4)
    unc = _be_words(raw).reshape(n, 64)
    comp = unc[:, :32].copy()
    comp[:, 0] |= np.where(_gt_half(raw[:, 1]), 0x80, 0).astype(np.uint8)
    inf = ~points_m.reshape(n, 8).any(axis=1)
    comp[inf, 0] = 0x40
    return unc.tobytes(), comp.tobytes()


def g2_encodings(points_m: np.ndarray) -> tuple[bytes, bytes]:
    """The same for G2 (n, 2, 2, 4): coordinates c1 || c0 big-endian; the sign of y is that of
    y.c1, or of y.c0 when y.c1 = 0."""
    n = points_m.shape[0]
    raw = FQ_M.to_raw(np.ascontiguousarray(points_m).reshape(-1, 4)).reshape(n, 2, 2, 4)
    unc = _be_words(raw[:, :, ::-1, :]).reshape(n, 128)
    comp = unc[:, :64].copy()
    y0, y1 = raw[:, 1, 0], raw[:, 1, 1]
    neg = np.where(y1.any(axis=1), _gt_half(y1), _gt_half(y0))
    comp[:, 0] |= np.where(neg, 0x80, 0).astype(np.uint8)
    inf = ~points_m.reshape(n, 16).any(axis=1)
    comp[inf, 0] = 0x40
    return unc.tobytes(), comp.tobytes()


def point_encodings(points_m: np.ndarray) -> tuple[bytes, bytes]:
    return g1_encodings(points_m) if points_m.ndim == 3 else g2_encodings(points_m)
