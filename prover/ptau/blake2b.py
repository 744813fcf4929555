"""BLAKE2b-512 with snarkjs's saved ("partial hash") state, and the first challenge hash.

Mirrors snarkjs 0.7.6 ``misc.js`` (``toPartialHash`` / ``fromPartialHash`` over
@noble/hashes' BLAKE2b state) and ``powersoftau_utils.js`` (``calculateFirstChallengeHash``);
the compression function is RFC 7693's.
"""

from __future__ import annotations

import hashlib
import struct
from functools import lru_cache

import numpy as np
from numba import njit

from prover import params
from prover.curve import ref
from prover.ptau.sections import PARTIAL_HASH_BYTES, PtauError

G1_GEN = params.G1_GENERATOR
G2_GEN = params.G2_GENERATOR

_B2B_IV = np.array(
    [
        0x6A09E667F3BCC908,
        0xBB67AE8584CAA73B,
        0x3C6EF372FE94F82B,
        0xA54FF53A5F1D36F1,
        0x510E527FADE682D1,
        0x9B05688C2B3E6C1F,
        0x1F83D9ABFB41BD6B,
        0x5BE0CD19137E2179,
    ],
    dtype=np.uint64,
)
_B2B_SIGMA = np.array(
    [
        [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15],
        [14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3],
        [11, 8, 12, 0, 5, 2, 15, 13, 10, 14, 3, 6, 7, 1, 9, 4],
        [7, 9, 3, 1, 13, 12, 11, 14, 2, 6, 5, 10, 4, 0, 15, 8],
        [9, 0, 5, 7, 2, 4, 10, 15, 14, 1, 11, 12, 6, 8, 3, 13],
        [2, 12, 6, 10, 0, 11, 8, 3, 4, 13, 7, 5, 15, 14, 1, 9],
        [12, 5, 1, 15, 14, 13, 4, 10, 0, 7, 6, 3, 9, 2, 8, 11],
        [13, 11, 7, 14, 12, 1, 3, 9, 5, 0, 15, 4, 8, 6, 2, 10],
        [6, 15, 14, 9, 11, 3, 0, 8, 12, 2, 13, 7, 1, 4, 10, 5],
        [10, 2, 8, 4, 7, 6, 1, 5, 15, 11, 9, 14, 3, 12, 13, 0],
        [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15],
        [14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3],
    ],
    dtype=np.int64,
)


@njit(cache=True)
def _rotr64(x, n):
    return (x >> np.uint64(n)) | (x << np.uint64(64 - n))


@njit(cache=True)
def _b2b_mix(v, a, b, c, d, x, y):
    v[a] = v[a] + v[b] + x
    v[d] = _rotr64(v[d] ^ v[a], 32)
    v[c] = v[c] + v[d]
    v[b] = _rotr64(v[b] ^ v[c], 24)
    v[a] = v[a] + v[b] + y
    v[d] = _rotr64(v[d] ^ v[a], 16)
    v[c] = v[c] + v[d]
    v[b] = _rotr64(v[b] ^ v[c], 63)


@njit(cache=True)
def b2b_compress_m(h, words, first, nblocks, t0, last):
    """BLAKE2b compression (RFC 7693) of blocks first .. first + nblocks of ``words`` (16 uint64
    per block) into the state h; block k's byte counter is t0 + 128 (k + 1) (t0 + 128 if
    ``last``, which flags the final block: callers pass t0 = total - 128 then)."""
    v = np.empty(16, dtype=np.uint64)
    for k in range(nblocks):
        base = (first + k) * 16
        for i in range(8):
            v[i] = h[i]
            v[i + 8] = _B2B_IV[i]
        v[12] ^= np.uint64(t0 + 128 * (k + 1))
        if last:
            v[14] = ~v[14]
        for rnd in range(12):
            s = _B2B_SIGMA[rnd]
            _b2b_mix(v, 0, 4, 8, 12, words[base + s[0]], words[base + s[1]])
            _b2b_mix(v, 1, 5, 9, 13, words[base + s[2]], words[base + s[3]])
            _b2b_mix(v, 2, 6, 10, 14, words[base + s[4]], words[base + s[5]])
            _b2b_mix(v, 3, 7, 11, 15, words[base + s[6]], words[base + s[7]])
            _b2b_mix(v, 0, 5, 10, 15, words[base + s[8]], words[base + s[9]])
            _b2b_mix(v, 1, 6, 11, 12, words[base + s[10]], words[base + s[11]])
            _b2b_mix(v, 2, 7, 8, 13, words[base + s[12]], words[base + s[13]])
            _b2b_mix(v, 3, 4, 9, 14, words[base + s[14]], words[base + s[15]])
        for i in range(8):
            h[i] ^= v[i] ^ v[i + 8]


class Blake2b:
    """BLAKE2b-512 whose internal state can be saved as snarkjs's 216-byte "partial hash".

    The state follows @noble/hashes (what snarkjs 0.7.6 uses): a full block stays in the buffer
    until more input arrives (the last block is compressed with the final flag), ``length``
    counts every byte absorbed. ``partial()`` is ``misc.toPartialHash``: the 128-byte buffer,
    h[0..7] as little-endian u64, then u32 (length - pos), u32 0, u32 pos, u32 0, 8 zero bytes.
    Digests equal ``hashlib.blake2b(digest_size=64)``'s; hashlib is used wherever the state is
    not needed.
    """

    BLOCK = 128

    def __init__(self) -> None:
        self.h = _B2B_IV.copy()
        self.h[0] ^= np.uint64(0x01010000 | 64)  # digest length 64, no key, fanout = depth = 1
        self.buf = bytearray(self.BLOCK)
        self.pos = 0
        self.length = 0

    def _compress_buffer(self, last: bool) -> None:
        words = np.frombuffer(bytes(self.buf), dtype="<u8").astype(np.uint64)
        b2b_compress_m(self.h, words, 0, 1, self.length - self.BLOCK, last)

    def update(self, data: bytes | bytearray | memoryview) -> Blake2b:
        data = memoryview(data).cast("B")
        n, i = len(data), 0
        while i < n:
            if self.pos == self.BLOCK:
                self._compress_buffer(False)
                self.pos = 0
            take = min(self.BLOCK - self.pos, n - i)
            if take == self.BLOCK and i + take < n:  # whole blocks, not the last of the input
                nb = (n - i - 1) // self.BLOCK
                words = np.frombuffer(data[i : i + nb * self.BLOCK], dtype="<u8")
                b2b_compress_m(self.h, words.astype(np.uint64), 0, nb, self.length, False)
                self.length += nb * self.BLOCK
                i += nb * self.BLOCK
                continue
            self.buf[self.pos : self.pos + take] = data[i : i + take]
            self.pos += take
            self.length += take
            i += take
        return self

    def digest(self) -> bytes:
        """The 64-byte digest (the state is left unchanged)."""
        h, buf = self.h.copy(), bytearray(self.buf)
        buf[self.pos :] = bytes(self.BLOCK - self.pos)
        words = np.frombuffer(bytes(buf), dtype="<u8").astype(np.uint64)
        b2b_compress_m(h, words, 0, 1, self.length - self.BLOCK, True)
        return h.astype("<u8").tobytes()

    def partial(self) -> bytes:
        tail = struct.pack("<IIII", (self.length - self.pos) & 0xFFFFFFFF, 0, self.pos, 0)
        return bytes(self.buf) + self.h.astype("<u8").tobytes() + tail + bytes(8)

    @classmethod
    def from_partial(cls, partial: bytes) -> Blake2b:
        """``misc.fromPartialHash``."""
        if len(partial) != PARTIAL_HASH_BYTES:
            raise PtauError(f"a partial hash has {PARTIAL_HASH_BYTES} bytes, got {len(partial)}")
        h = cls()
        h.buf = bytearray(partial[:128])
        h.h = np.frombuffer(partial[128:192], dtype="<u8").astype(np.uint64)
        lo, hi, pos, pos_hi = struct.unpack_from("<IIII", partial, 192)
        h.pos = pos + (pos_hi << 32)
        h.length = lo + (hi << 32) + h.pos
        if h.pos > cls.BLOCK:
            raise PtauError(f"a partial hash with buffer position {h.pos} > 128")
        return h


def blake2b_512(*parts: bytes) -> bytes:
    h = hashlib.blake2b(digest_size=64)
    for part in parts:
        h.update(part)
    return h.digest()


@lru_cache(maxsize=8)
def first_challenge_hash(power: int) -> bytes:
    """``calculateFirstChallengeHash``: BLAKE2b of BLAKE2b(""), then the points of a fresh
    accumulator (every point the generator) uncompressed: 2^(p+1) - 1 G1, 2^p G2, 2^p G1, 2^p G1,
    then one G2."""
    g1u, g2u = ref.g1_to_bytes_be(G1_GEN), ref.g2_to_bytes_be(G2_GEN)
    h = hashlib.blake2b(digest_size=64)
    h.update(blake2b_512())

    def repeat(unit: bytes, n: int) -> None:
        block = unit * min(n, 1 << 14)
        full, rest = divmod(n, 1 << 14)
        for _ in range(full):
            h.update(block)
        h.update(unit * rest)

    n = 1 << power
    repeat(g1u, 2 * n - 1)
    repeat(g2u, n)
    repeat(g1u, n)
    repeat(g1u, n)
    h.update(g2u)
    return h.digest()
