"""BLAKE-512, the SHA-3 finalist (Aumasson, Henzen, Meier, Phan, "SHA-3 proposal BLAKE",
version 1.3, 2010), NOT BLAKE2b: circomlibjs derives EdDSA keys with it (npm ``blake-hash``).

Section 2.2 of the proposal (BLAKE-64/BLAKE-512): 64-bit words, 16 rounds of the G function
with rotations 32, 25, 16, 11, the initial value of SHA-512, the constants c_0..c_15 (the
digits of pi) and the ten permutations sigma. Padding (section 2.2.1): a 1 bit, zeros, a 1 bit
so that the length is 895 mod 1024 bits, then the 128-bit big-endian message length. The
counter of a block is the number of message bits hashed up to its end, 0 for a block that holds
only padding. Salt is zero. Byte-aligned messages only.

No maintained PyPI package implements the original BLAKE-512 (only BLAKE2 / BLAKE3 bindings and
a BLAKE-256 one); this is compact and slow (~1 ms a block), which is fine for key derivation.
Checked in tests/test_eddsa_native.py against the submission's known answers and against
``blake-hash``.
"""

from __future__ import annotations

__all__ = ["blake512"]

_MASK = (1 << 64) - 1

_IV = (
    0x6A09E667F3BCC908, 0xBB67AE8584CAA73B, 0x3C6EF372FE94F82B, 0xA54FF53A5F1D36F1,
    0x510E527FADE682D1, 0x9B05688C2B3E6C1F, 0x1F83D9ABFB41BD6B, 0x5BE0CD19137E2179,
)  # fmt: skip
_C = (
    0x243F6A8885A308D3, 0x13198A2E03707344, 0xA4093822299F31D0, 0x082EFA98EC4E6C89,
    0x452821E638D01377, 0xBE5466CF34E90C6C, 0xC0AC29B7C97C50DD, 0x3F84D5B5B5470917,
    0x9216D5D98979FB1B, 0xD1310BA698DFB5AC, 0x2FFD72DBD01ADFB7, 0xB8E1AFED6A267E96,
    0xBA7C9045F12C7F99, 0x24A19947B3916CF7, 0x0801F2E2858EFC16, 0x636920D871574E69,
)  # fmt: skip
_SIGMA = (
    (0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
    (14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3),
    (11, 8, 12, 0, 5, 2, 15, 13, 10, 14, 3, 6, 7, 1, 9, 4),
    (7, 9, 3, 1, 13, 12, 11, 14, 2, 6, 5, 10, 4, 0, 15, 8),
    (9, 0, 5, 7, 2, 4, 10, 15, 14, 1, 11, 12, 6, 8, 3, 13),
    (2, 12, 6, 10, 0, 11, 8, 3, 4, 13, 7, 5, 15, 14, 1, 9),
    (12, 5, 1, 15, 14, 13, 4, 10, 0, 7, 6, 3, 9, 2, 8, 11),
    (13, 11, 7, 14, 12, 1, 3, 9, 5, 0, 15, 4, 8, 6, 2, 10),
    (6, 15, 14, 9, 11, 3, 0, 8, 12, 2, 13, 7, 1, 4, 10, 5),
    (10, 2, 8, 4, 7, 6, 1, 5, 15, 11, 9, 14, 3, 12, 13, 0),
)
# G_i acts on (a, b, c, d): four columns, then four diagonals.
_STEPS = (
    (0, 4, 8, 12), (1, 5, 9, 13), (2, 6, 10, 14), (3, 7, 11, 15),
    (0, 5, 10, 15), (1, 6, 11, 12), (2, 7, 8, 13), (3, 4, 9, 14),
)  # fmt: skip
# Per round, per step: (message/constant index pairs) sigma_r(2i), sigma_r(2i+1).
_SCHEDULE = tuple(
    tuple((_SIGMA[r % 10][2 * i], _SIGMA[r % 10][2 * i + 1]) for i in range(8)) for r in range(16)
)


def _compress(h: list[int], block: bytes, counter: int) -> list[int]:
    m = [int.from_bytes(block[8 * i : 8 * i + 8], "big") for i in range(16)]
    t0, t1 = counter & _MASK, counter >> 64
    v = [*h, _C[0], _C[1], _C[2], _C[3], t0 ^ _C[4], t0 ^ _C[5], t1 ^ _C[6], t1 ^ _C[7]]
    mk = _MASK
    for sched in _SCHEDULE:
        for (a, b, c, d), (x, y) in zip(_STEPS, sched):
            va, vb, vc, vd = v[a], v[b], v[c], v[d]
            va = (va + vb + (m[x] ^ _C[y])) & mk
            vd ^= va
            vd = (vd >> 32) | (vd << 32) & mk
            vc = (vc + vd) & mk
            vb ^= vc
            vb = (vb >> 25) | (vb << 39) & mk
            va = (va + vb + (m[y] ^ _C[x])) & mk
            vd ^= va
            vd = (vd >> 16) | (vd << 48) & mk
            vc = (vc + vd) & mk
            vb ^= vc
            vb = (vb >> 11) | (vb << 53) & mk
            v[a], v[b], v[c], v[d] = va, vb, vc, vd
    return [h[i] ^ v[i] ^ v[i + 8] for i in range(8)]


def blake512(data: bytes | bytearray | memoryview) -> bytes:
    """The 64-byte BLAKE-512 digest of ``data`` (salt 0)."""
    msg = bytes(data)
    n_bits = 8 * len(msg)
    if len(msg) % 128 == 111:
        padded = msg + b"\x81"
    else:
        zeros = (111 - len(msg) - 1) % 128
        padded = msg + b"\x80" + b"\x00" * zeros + b"\x01"
    padded += n_bits.to_bytes(16, "big")
    h = list(_IV)
    for i in range(0, len(padded), 128):
        # Message bits hashed through this block; 0 when the block is padding only.
        counter = min(n_bits, 8 * (i + 128)) if 8 * i < n_bits else 0
        h = _compress(h, padded[i : i + 128], counter)
    return b"".join(x.to_bytes(8, "big") for x in h)
