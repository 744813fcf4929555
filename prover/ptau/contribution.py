"""Contribution records (section 7) and a contributor's public key (proofs of knowledge).

Mirrors snarkjs 0.7.6 ``powersoftau_utils.js`` (``readContribution`` / ``writeContribution``,
``toPtauPubKeyRpr``) and ``keypair.js`` (``createPTauKey``: the public key of a contribution).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from prover import params
from prover.curve import g2, ref
from prover.ptau.blake2b import Blake2b
from prover.ptau.hash_to_g2 import g2_mul, g2_sp
from prover.ptau.sections import (
    G1_BYTES,
    G2_BYTES,
    HASH_BYTES,
    PARTIAL_HASH_BYTES,
    PtauError,
    first_invalid_point,
    section_label,
)

G1_GEN = params.G1_GENERATOR


@dataclass(frozen=True)
class PublicKey:
    """A contributor's proof of knowledge of tau, alpha, beta (snarkjs ``key``): for each secret
    x, a G1 pair (s, s x) and [x] times the hash-to-G2 point of (challenge, s, s x)."""

    tau_g1_s: ref.G1Point
    tau_g1_sx: ref.G1Point
    alpha_g1_s: ref.G1Point
    alpha_g1_sx: ref.G1Point
    beta_g1_s: ref.G1Point
    beta_g1_sx: ref.G1Point
    tau_g2_spx: ref.G2Point
    alpha_g2_spx: ref.G2Point
    beta_g2_spx: ref.G2Point

    def g1_points(self) -> list[ref.G1Point]:
        return [
            self.tau_g1_s,
            self.tau_g1_sx,
            self.alpha_g1_s,
            self.alpha_g1_sx,
            self.beta_g1_s,
            self.beta_g1_sx,
        ]

    def g2_points(self) -> list[ref.G2Point]:
        return [self.tau_g2_spx, self.alpha_g2_spx, self.beta_g2_spx]

    def to_lem(self) -> bytes:
        """The record's bytes (``toPtauPubKeyRpr`` with montgomery = true)."""
        return b"".join(ref.g1_to_lem(p) for p in self.g1_points()) + b"".join(
            ref.g2_to_lem(p) for p in self.g2_points()
        )

    def to_uncompressed(self) -> bytes:
        """What the response hash absorbs (``toPtauPubKeyRpr`` with montgomery = false)."""
        return b"".join(ref.g1_to_bytes_be(p) for p in self.g1_points()) + b"".join(
            ref.g2_to_bytes_be(p) for p in self.g2_points()
        )


@dataclass(frozen=True)
class Contribution:
    """One record of section 7 (snarkjs ``readContribution``)."""

    tau_g1: ref.G1Point
    tau_g2: ref.G2Point
    alpha_g1: ref.G1Point
    beta_g1: ref.G1Point
    beta_g2: ref.G2Point
    key: PublicKey
    partial_hash: bytes
    next_challenge: bytes
    type: int = 0  # 1: a beacon
    name: str | None = None
    num_iterations_exp: int | None = None
    beacon_hash: bytes | None = None

    @property
    def response_hash(self) -> bytes:
        """BLAKE2b of (previous challenge, compressed new points, public key), resumed from the
        stored partial state as snarkjs does."""
        h = Blake2b.from_partial(self.partial_hash)
        h.update(self.key.to_uncompressed())
        return h.digest()

    def to_bytes(self) -> bytes:
        out = [
            ref.g1_to_lem(self.tau_g1),
            ref.g2_to_lem(self.tau_g2),
            ref.g1_to_lem(self.alpha_g1),
            ref.g1_to_lem(self.beta_g1),
            ref.g2_to_lem(self.beta_g2),
            self.key.to_lem(),
            self.partial_hash,
            self.next_challenge,
            struct.pack("<I", self.type),
        ]
        prm = bytearray()
        if self.name:
            name = self.name[:64].encode("utf-8")
            prm += bytes([1, len(name)]) + name
        if self.type == 1:
            beacon = self.beacon_hash or b""
            prm += bytes([2, self.num_iterations_exp or 0, 3, len(beacon)]) + beacon
        out += [struct.pack("<I", len(prm)), bytes(prm)]
        return b"".join(out)


def encode_contributions(contributions: list[Contribution]) -> bytes:
    return struct.pack("<I", len(contributions)) + b"".join(c.to_bytes() for c in contributions)


class _Reader:
    def __init__(self, data: bytes, what: str) -> None:
        self.data, self.pos, self.what = data, 0, what

    def take(self, n: int) -> bytes:
        if self.pos + n > len(self.data):
            raise PtauError(f"{self.what}: truncated at byte {self.pos} (needs {n} more)")
        out = self.data[self.pos : self.pos + n]
        self.pos += n
        return out

    def u32(self) -> int:
        return struct.unpack("<I", self.take(4))[0]

    def g1(self, label: str) -> ref.G1Point:
        try:
            return ref.g1_from_lem(self.take(G1_BYTES))
        except PtauError:
            raise
        except ValueError as exc:
            raise PtauError(f"{self.what}: {label}: {exc}") from exc

    def g2(self, label: str) -> ref.G2Point:
        try:
            return ref.g2_from_lem(self.take(G2_BYTES), subgroup=False)  # subgroup: in batch
        except PtauError:
            raise
        except ValueError as exc:
            raise PtauError(f"{self.what}: {label}: {exc}") from exc


def decode_contributions(data: bytes, what: str = section_label(7)) -> list[Contribution]:
    """Parse section 7 (every point validated; G2 points in the subgroup)."""
    rd = _Reader(bytes(data), what)
    count = rd.u32()
    out = []
    for k in range(1, count + 1):
        tag = f"contribution #{k}"
        tau_g1, tau_g2 = rd.g1(f"{tag} tauG1"), rd.g2(f"{tag} tauG2")
        alpha_g1, beta_g1 = rd.g1(f"{tag} alphaG1"), rd.g1(f"{tag} betaG1")
        beta_g2 = rd.g2(f"{tag} betaG2")
        g1s = [rd.g1(f"{tag} public key G1 point {i}") for i in range(6)]
        g2s = [rd.g2(f"{tag} public key G2 point {i}") for i in range(3)]
        key = PublicKey(*g1s, *g2s)
        names = ["tauG2", "betaG2", *(f"public key G2 point {i}" for i in range(3))]
        bad = first_invalid_point(g2.affine_from_ints([tau_g2, beta_g2, *g2s]), subgroup=True)
        if bad is not None:
            raise PtauError(f"{what}: {tag} {names[bad[0]]}: on the twist but not in G2")
        partial, nxt = rd.take(PARTIAL_HASH_BYTES), rd.take(HASH_BYTES)
        ctype = rd.u32()
        plen = rd.u32()
        prm = _Reader(rd.take(plen), f"{what}: {tag} parameters")
        name = exp = beacon = None
        last = 0
        while prm.pos < plen:
            t = prm.take(1)[0]
            if t <= last:
                raise PtauError(f"{what}: {tag}: parameters must be sorted (type {t} after {last})")
            last = t
            if t == 1:
                name = prm.take(prm.take(1)[0]).decode("utf-8", errors="replace")
            elif t == 2:
                exp = prm.take(1)[0]
            elif t == 3:
                beacon = prm.take(prm.take(1)[0])
            else:
                raise PtauError(f"{what}: {tag}: unknown parameter type {t}")
        out.append(
            Contribution(
                tau_g1=tau_g1,
                tau_g2=tau_g2,
                alpha_g1=alpha_g1,
                beta_g1=beta_g1,
                beta_g2=beta_g2,
                key=key,
                partial_hash=partial,
                next_challenge=nxt,
                type=ctype,
                name=name,
                num_iterations_exp=exp,
                beacon_hash=beacon,
            )
        )
    if rd.pos != len(rd.data):
        raise PtauError(f"{what}: {len(rd.data) - rd.pos} bytes left after {count} contributions")
    return out


def public_key(
    challenge: bytes, secrets: tuple[int, int, int], key_s: tuple[int, int, int]
) -> PublicKey:
    """``createPTauKey``'s public part for the secrets (tau, alpha, beta) (keypair.js
    ``calculatePubKey``): for each secret x (personalisation 0 tau, 1 alpha, 2 beta) and its
    proof scalar s from ``key_s``, s G1, x s G1 and x times the hash-to-G2 point of
    (challenge, s G1, x s G1)."""
    g1s: list[ref.G1Point] = []
    g2s: list[ref.G2Point] = []
    for pers, (x, s) in enumerate(zip(secrets, key_s, strict=True)):
        g1_s = ref.g1_mul(G1_GEN, s)
        g1_sx = ref.g1_mul(g1_s, x)
        g1s += [g1_s, g1_sx]
        g2s.append(g2_mul(g2_sp(pers, challenge, g1_s, g1_sx), x))
    return PublicKey(*g1s, *g2s)
