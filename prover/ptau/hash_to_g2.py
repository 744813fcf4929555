"""snarkjs's hash to G2: the point a contribution's proof of knowledge is checked against.

Mirrors snarkjs 0.7.6 ``keypair.js`` (``getG2sp``, ``hashToG2``) over ffjavascript's ChaCha20
stream (``src/chacha.js``) and ``G2.fromRng`` (``src/wasm_curve.js``, ``src/wasm_field1.js``
``fromRng``).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from prover import params
from prover.curve import g2, ref
from prover.ptau.blake2b import blake2b_512

P = params.P
R = params.R_ORDER
G2_COFACTOR = 2 * P - R  # ffjavascript's cofactorG2 (0x30644e72...fa8d)
_MONT_R_INV_P = pow(1 << params.MONT_R_BITS, -1, P)


class ChaCha:
    """ffjavascript's ChaCha20 stream (``src/chacha.js``): key = 8 u32 seed words, 64-bit block
    counter in words 12..15 starting at 0, output words in order."""

    _CONST = (0x61707865, 0x3320646E, 0x79622D32, 0x6B206574)

    def __init__(self, seed: list[int]) -> None:
        if len(seed) != 8:
            raise ValueError("ChaCha takes 8 u32 seed words")
        self.state = [*self._CONST, *(s & 0xFFFFFFFF for s in seed), 0, 0, 0, 0]
        self.buf: list[int] = []
        self.idx = 16

    @staticmethod
    def _qr(st: list[int], a: int, b: int, c: int, d: int) -> None:
        m = 0xFFFFFFFF
        st[a] = (st[a] + st[b]) & m
        st[d] ^= st[a]
        st[d] = ((st[d] << 16) | (st[d] >> 16)) & m
        st[c] = (st[c] + st[d]) & m
        st[b] ^= st[c]
        st[b] = ((st[b] << 12) | (st[b] >> 20)) & m
        st[a] = (st[a] + st[b]) & m
        st[d] ^= st[a]
        st[d] = ((st[d] << 8) | (st[d] >> 24)) & m
        st[c] = (st[c] + st[d]) & m
        st[b] ^= st[c]
        st[b] = ((st[b] << 7) | (st[b] >> 25)) & m

    def _update(self) -> None:
        st = list(self.state)
        for _ in range(10):
            for a, b, c, d in (
                (0, 4, 8, 12), (1, 5, 9, 13), (2, 6, 10, 14), (3, 7, 11, 15),
                (0, 5, 10, 15), (1, 6, 11, 12), (2, 7, 8, 13), (3, 4, 9, 14),
            ):  # fmt: skip
                self._qr(st, a, b, c, d)
        self.buf = [(x + y) & 0xFFFFFFFF for x, y in zip(st, self.state, strict=True)]
        self.idx = 0
        for w in range(12, 16):  # the counter, carried across words
            self.state[w] = (self.state[w] + 1) & 0xFFFFFFFF
            if self.state[w]:
                break

    def next_u32(self) -> int:
        if self.idx == 16:
            self._update()
        v = self.buf[self.idx]
        self.idx += 1
        return v

    def next_u64(self) -> int:
        hi = self.next_u32()
        return (hi << 32) + self.next_u32()

    def next_bool(self) -> bool:
        return bool(self.next_u32() & 1)


def _fq_from_rng(rng: ChaCha) -> int:
    """ffjavascript WasmField1.fromRng: 4 u64 limbs masked to 254 bits, rejected until < p. The
    raw value is then used AS a Montgomery word, so the element is v / 2^256 mod p."""
    mask = (1 << P.bit_length()) - 1
    while True:
        v = 0
        for i in range(4):
            v += rng.next_u64() << (64 * i)
        v &= mask
        if v < P:
            return v * _MONT_R_INV_P % P


def _fq_is_negative(v: int) -> bool:
    return v > (P - 1) // 2


def _fq2_is_negative(a: ref.Fq2) -> bool:
    return _fq_is_negative(a[1]) if a[1] else _fq_is_negative(a[0])


@njit(cache=True)
def g2_mul_m(aff, limbs, out_jac):
    """out_jac[0] = e * aff[0] for any point on the twist (e as 4 little-endian u64 limbs)."""
    g2.store_jac(
        out_jac,
        0,
        g2.jac_mul_affine(g2.load_affine(aff, 0), (limbs[0], limbs[1], limbs[2], limbs[3])),
    )


def g2_mul(pt: ref.G2Point, k: int) -> ref.G2Point:
    """k * pt for 0 <= k < 2^256 and pt on the twist (in G2 or not): the Numba double-and-add,
    ~10x faster than py_ecc's (``ref.g2_mul``, which the tests compare it with)."""
    if not 0 <= k < 1 << 256:
        raise ValueError(f"scalar out of range [0, 2^256): {k}")
    out = np.empty((1, 3, 2, 4), dtype=np.uint64)
    g2_mul_m(g2.affine_from_ints([pt]), np.array(params.to_limbs(k), dtype=np.uint64), out)
    return g2.affine_to_ints(g2.to_affine(out))[0]


def hash_to_g2(digest: bytes) -> ref.G2Point:
    """snarkjs ``hashToG2``: ChaCha seeded with the digest's first 8 big-endian u32 words, then
    ffjavascript ``G2.fromRng``: x from the stream, a sign bit, until x^3 + b' is a square; the
    root whose "sign" is the bit; times the cofactor 2p - r."""
    rng = ChaCha([int.from_bytes(digest[4 * i : 4 * i + 4], "big") for i in range(8)])
    while True:
        x = (_fq_from_rng(rng), _fq_from_rng(rng))
        greatest = rng.next_bool()
        rhs = ref.fq2_add(ref.fq2_mul(ref.fq2_sqr(x), x), ref.TWIST_B)
        y = ref.fq2_sqrt(rhs)
        if y is not None:
            break
    if _fq2_is_negative(y) != greatest:
        y = ref.fq2_neg(y)
    return g2_mul((x, y), G2_COFACTOR)


def g2_sp(personalization: int, challenge: bytes, g1_s: ref.G1Point, g1_sx: ref.G1Point):
    """snarkjs ``getG2sp``: the G2 point a proof of knowledge is checked against."""
    digest = blake2b_512(
        bytes([personalization]), challenge, ref.g1_to_bytes_be(g1_s), ref.g1_to_bytes_be(g1_sx)
    )
    return hash_to_g2(digest)
