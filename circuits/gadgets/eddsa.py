"""EdDSA-Poseidon on Baby Jubjub, natively, exactly as circomlibjs 0.1.7 ``src/eddsa.js``
(``prv2pub``, ``signPoseidon``, ``verifyPoseidon``, ``packSignature``, ``unpackSignature``).

The scheme (Bernstein, Duif, Lange, Schwabe, Yang, "High-speed high-security signatures",
CHES 2011, section 3, with circomlib's choices):

- key: h = BLAKE-512(prv) (the SHA-3 finalist, not BLAKE2b), pruned (low 3 bits of byte 0
  cleared, bit 255 cleared, bit 254 set); s = h[0:32] little-endian; A = (s >> 3) * BASE8;
- sign(msg), msg a field element: r = LE(BLAKE-512(h[32:64] || LE32(msg))) mod l;
  R8 = r * BASE8; hm = Poseidon(R8.x, R8.y, A.x, A.y, msg); S = (r + hm * s) mod l;
- verify: S < l, R8 and A on the curve, and S * BASE8 == R8 + (8 * hm) * A.

``verify_poseidon`` is stricter than circomlibjs, which only asks R8 and A to be on the curve:
with ``check_subgroup=True`` (the default) both must also lie in the prime-order subgroup, and
A must not be the identity (circomlib's in-circuit verifier rejects a small-order A too). Every
signature circomlibjs's ``signPoseidon`` makes passes both; the tests check both directions.
"""

from __future__ import annotations

from dataclasses import dataclass

from circuits.gadgets import babyjubjub as bj
from circuits.gadgets.blake512 import blake512
from circuits.gadgets.poseidon import poseidon

__all__ = [
    "EdDSAError",
    "Signature",
    "challenge",
    "pack_signature",
    "private_scalar",
    "prune_buffer",
    "prv2pub",
    "sign_poseidon",
    "unpack_signature",
    "verify_poseidon",
]


class EdDSAError(ValueError):
    """A malformed private key, message, signature or packed signature."""


@dataclass(frozen=True)
class Signature:
    """circomlibjs's ``{R8, S}``."""

    r8: bj.Point
    s: int


def _check_prv(prv: bytes | bytearray) -> bytes:
    if not isinstance(prv, bytes | bytearray):
        raise EdDSAError(f"a private key is bytes, got {type(prv).__name__}")
    return bytes(prv)


def _check_msg(msg: int) -> int:
    if not isinstance(msg, int) or isinstance(msg, bool) or not 0 <= msg < bj.P:
        raise EdDSAError(f"the message must be a field element, an int in [0, r), got {msg!r}")
    return msg


def prune_buffer(buf: bytes | bytearray) -> bytes:
    """circomlibjs ``pruneBuffer``: clear the low 3 bits and bit 255, set bit 254."""
    out = bytearray(buf)
    out[0] &= 0xF8
    out[31] &= 0x7F
    out[31] |= 0x40
    return bytes(out)


def _key_hash(prv: bytes | bytearray) -> bytes:
    return prune_buffer(blake512(_check_prv(prv)))


def private_scalar(prv: bytes | bytearray) -> int:
    """s: the pruned first half of BLAKE-512(prv), little-endian (a multiple of 8)."""
    return int.from_bytes(_key_hash(prv)[:32], "little")


def prv2pub(prv: bytes | bytearray) -> bj.Point:
    """The public key A = (s >> 3) * BASE8 of the private key bytes ``prv``."""
    return bj.mul_base8(private_scalar(prv) >> 3)


def challenge(r8: bj.Point, pub: bj.Point, msg: int) -> int:
    """hm = Poseidon(R8.x, R8.y, A.x, A.y, msg)."""
    return poseidon([r8[0], r8[1], pub[0], pub[1], msg])


def sign_poseidon(prv: bytes | bytearray, msg: int) -> Signature:
    """circomlibjs ``signPoseidon(prv, msg)`` (deterministic)."""
    _check_msg(msg)
    h = _key_hash(prv)
    s = int.from_bytes(h[:32], "little")
    pub = bj.mul_base8(s >> 3)
    r = int.from_bytes(blake512(h[32:] + msg.to_bytes(32, "little")), "little") % bj.SUBORDER
    r8 = bj.mul_base8(r)
    hm = challenge(r8, pub, msg)
    return Signature(r8=r8, s=(r + hm * s) % bj.SUBORDER)


def verify_poseidon(
    msg: int, sig: Signature, pub: bj.Point, *, check_subgroup: bool = True
) -> bool:
    """circomlibjs ``verifyPoseidon(msg, sig, A)``; False for any invalid signature or key.

    With ``check_subgroup`` (default) R8 and A must also be in the prime-order subgroup and A
    must not be the identity; circomlibjs checks neither.
    """
    if not isinstance(sig, Signature):
        return False
    if not isinstance(msg, int) or isinstance(msg, bool) or not 0 <= msg < bj.P:
        return False
    if not (bj.on_curve(sig.r8) and bj.on_curve(pub)):
        return False
    if not isinstance(sig.s, int) or isinstance(sig.s, bool) or not 0 <= sig.s < bj.SUBORDER:
        return False
    r8, pub = (sig.r8[0], sig.r8[1]), (pub[0], pub[1])
    if check_subgroup and (pub == bj.IDENTITY or not bj.in_subgroup(r8) or not bj.in_subgroup(pub)):
        return False
    hm = challenge(r8, pub, msg)
    left = bj.mul_base8(sig.s)
    right = bj.add(r8, bj.mul(pub, 8 * hm))
    return left == right


def pack_signature(sig: Signature) -> bytes:
    """circomlibjs ``packSignature``: packed R8 (32 bytes) || S (32 bytes little-endian)."""
    if not isinstance(sig.s, int) or not 0 <= sig.s < 1 << 256:
        raise EdDSAError(f"S must be an int in [0, 2^256), got {sig.s!r}")
    return bj.pack_point(sig.r8) + sig.s.to_bytes(32, "little")


def unpack_signature(data: bytes | bytearray) -> Signature:
    """circomlibjs ``unpackSignature``; raises ``EdDSAError`` where R8 does not unpack
    (circomlibjs returns R8 = null there). S is not range-checked here: ``verify_poseidon``
    rejects S >= l."""
    if not isinstance(data, bytes | bytearray) or len(data) != 64:
        raise EdDSAError("a packed signature is 64 bytes")
    try:
        r8 = bj.unpack_point(bytes(data[:32]))
    except bj.BabyJubJubError as exc:
        raise EdDSAError(f"packed signature: R8 does not unpack: {exc}") from exc
    return Signature(r8=r8, s=int.from_bytes(data[32:], "little"))
