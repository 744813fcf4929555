"""Keccak-256 Fiat-Shamir transcript, byte-identical to snarkjs 0.7.6 ``Keccak256Transcript.js``.

PLONK (Gabizon, Williamson, Ciobotaru, ePrint 2019/953, section 8.3) derives its challenges by
hashing the transcript. snarkjs's form, which ours must equal byte for byte (the Solidity verifier
recomputes it too):

- a challenge is ``keccak256(data) mod r`` where ``data`` is the concatenation of what was added
  since the last ``reset()``; the transcript is reset before every challenge (not chained);
- a scalar is 32 bytes big-endian (canonical, < r);
- a G1 point is 64 bytes, x || y big-endian affine; the point at infinity is 64 zero bytes.

Keccak-256 is the original Keccak padding (Ethereum's), not NIST SHA3-256.
"""

from __future__ import annotations

from eth_hash.auto import keccak

from prover import params

R = params.R_ORDER
P = params.P


class Transcript:
    """Accumulates scalars and G1 points, then yields a challenge in Fr."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []

    def reset(self) -> None:
        self._parts = []

    def add_scalar(self, x: int) -> None:
        if not 0 <= x < R:
            raise ValueError("transcript scalar must be a canonical Fr element (0 <= x < r)")
        self._parts.append(x.to_bytes(32, "big"))

    def add_point(self, pt: tuple[int, int]) -> None:
        x, y = pt
        if not (0 <= x < P and 0 <= y < P):
            raise ValueError("transcript point coordinates must be canonical (< p)")
        self._parts.append(x.to_bytes(32, "big") + y.to_bytes(32, "big"))

    def data(self) -> bytes:
        return b"".join(self._parts)

    def challenge(self) -> int:
        """keccak256(everything added since the last reset) mod r. Does not reset."""
        if not self._parts:
            raise ValueError("no data to derive a challenge from")
        return int.from_bytes(keccak(self.data()), "big") % R
