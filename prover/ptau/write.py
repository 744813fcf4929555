"""Writing a development powers-of-tau file (``write_dev_ptau``), prepared for phase 2.

Mirrors snarkjs 0.7.6 ``powersoftau_new.js`` + ``powersoftau_contribute.js`` +
``powersoftau_preparephase2.js`` in one pass: draws tau, alpha and beta, computes every section
with the fixed-base kernels (``prover.curve.fixed_base_g1`` / ``fixed_base_g2``), the Lagrange
scalars L_i(tau) = (tau^N - 1) / N * w^i / (tau - w^i) with one batch inversion per block
(``prover.ptau.lagrange``), and records ONE contribution exactly as ``snarkjs powersoftau
contribute`` would (public key with the proof-of-knowledge points from snarkjs's hash-to-G2, the
BLAKE2b response state, the next challenge hash), so that ``snarkjs powersoftau verify`` accepts
the file. A file with no contribution would mean tau = 1 (what ``powersoftau new`` writes), which
snarkjs refuses.
"""

from __future__ import annotations

import hashlib
import os
import random
import secrets
import struct
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from prover import params
from prover.curve import g2, ref
from prover.curve.fixed_base_g1 import FixedBaseTableG1
from prover.curve.fixed_base_g1 import optimal_window as g1_window
from prover.curve.fixed_base_g2 import FixedBaseTableG2
from prover.field.kernels import FR_M
from prover.ptau.blake2b import Blake2b, first_challenge_hash
from prover.ptau.contribution import Contribution, PublicKey, encode_contributions, public_key
from prover.ptau.encodings import g2_encodings, point_encodings
from prover.ptau.hash_to_g2 import g2_mul
from prover.ptau.lagrange import lagrange_scalars_m
from prover.ptau.sections import (
    CHUNK,
    DEV_CONTRIBUTION_NAME,
    G1_BYTES,
    G2_BYTES,
    MAGIC,
    MAX_POWER,
    N8,
    VERSION,
    PtauError,
    is_g2_section,
    section_label,
    section_size,
)

P = params.P
R = params.R_ORDER
G1_GEN = params.G1_GENERATOR
G2_GEN = params.G2_GENERATOR


@dataclass(frozen=True)
class _Secrets:
    tau: int
    alpha: int
    beta: int
    key_s: tuple[int, int, int]  # the dlogs of the proofs' G1 points s (then forgotten too)


class _SectionWriter:
    """Streams a container: each section's table entry is written as the section starts (the
    sizes are known in advance), so at most one chunk of points is in memory at a time."""

    def __init__(self, fh, n_sections: int) -> None:
        self.fh = fh
        self.offsets: dict[int, tuple[int, int]] = {}
        fh.write(struct.pack("<4sII", MAGIC.encode(), VERSION, n_sections))

    def section(self, sid: int, size: int, chunks: Iterator[bytes]) -> None:
        self.fh.write(struct.pack("<IQ", sid, size))
        self.offsets[sid] = (self.fh.tell(), size)
        written = 0
        for chunk in chunks:
            self.fh.write(chunk)
            written += len(chunk)
        if written != size:
            raise AssertionError(f"section {sid}: wrote {written} bytes, announced {size}")

    def read_back(self, sid: int) -> Iterator[np.ndarray]:
        """The points of a section already written, in chunks (as snarkjs's ``hashSection``)."""
        self.fh.flush()
        offset, size = self.offsets[sid]
        psize = G2_BYTES if is_g2_section(sid) else G1_BYTES
        shape = (-1, 2, 2, 4) if psize == G2_BYTES else (-1, 2, 4)
        with open(self.fh.name, "rb") as rd:
            rd.seek(offset)
            for lo in range(0, size, CHUNK * psize):
                data = rd.read(min(CHUNK * psize, size - lo))
                yield np.frombuffer(data, dtype="<u8").astype(np.uint64).reshape(shape)


def write_dev_ptau(
    path: str | os.PathLike,
    power: int,
    rng: random.Random | None = None,
    progress: Callable[[str, float], None] | None = None,
) -> None:
    """Write a development powers-of-tau file of ``power``, prepared for phase 2.

    tau, alpha, beta (and the proof-of-knowledge scalars) come from ``rng`` (default
    ``secrets.SystemRandom()``, the OS entropy) and are dropped when the function returns. Anyone
    who knew them could forge proofs: a one-party setup is for development only.

    Sections 1-7 and 12-15 in snarkjs's order and layout, one contribution recorded as snarkjs's
    ``contribute`` writes it. ``progress(label, seconds)`` is called after each section.
    """
    if not isinstance(power, int) or isinstance(power, bool) or not 1 <= power <= MAX_POWER:
        raise PtauError(f"power must be an int in [1, {MAX_POWER}], got {power!r}")
    rng = rng or secrets.SystemRandom()
    sec = _Secrets(
        rng.randrange(1, R),
        rng.randrange(1, R),
        rng.randrange(1, R),
        (rng.randrange(1, R), rng.randrange(1, R), rng.randrange(1, R)),
    )
    target = Path(path)
    tmp = target.with_name(target.name + ".tmp")
    try:
        with open(tmp, "w+b") as fh:
            _write_sections(_SectionWriter(fh, 11), power, sec, progress)
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _write_sections(
    out: _SectionWriter, power: int, sec: _Secrets, progress: Callable[[str, float], None] | None
) -> None:
    n = 1 << power
    tau, alpha, beta = sec.tau, sec.alpha, sec.beta
    report = progress or (lambda label, seconds: None)
    t0 = time.perf_counter()
    g1_table = FixedBaseTableG1.build(G1_GEN, g1_window(12 * n))
    g2_table = FixedBaseTableG2.build(G2_GEN, n_hint=3 * n)
    report("fixed-base tables (G1, G2)", time.perf_counter() - t0)

    # Section 1: the header (ceremony power = power, as `powersoftau new` writes it).
    header = struct.pack("<I", N8) + P.to_bytes(N8, "little") + struct.pack("<II", power, power)
    out.section(1, len(header), iter([header]))

    # The contribution's public key answers the first challenge (`new`, then `contribute`); the
    # response hash absorbs the challenge and every new point of sections 2-6, compressed.
    t = time.perf_counter()
    challenge = first_challenge_hash(power)
    key = _public_key(challenge, sec)
    response = Blake2b().update(challenge)
    report("contribution key (proofs of knowledge)", time.perf_counter() - t)

    def monomial(sid: int, count: int, factor: int) -> None:
        t = time.perf_counter()
        mul = g2_table.multiply if sid == 3 else g1_table.multiply

        def chunks() -> Iterator[bytes]:
            for lo in range(0, count, CHUNK):
                m = min(CHUNK, count - lo)
                pts = mul(FR_M.scale(FR_M.powers(tau, m), factor * pow(tau, lo, R) % R))
                response.update(point_encodings(pts)[1])
                yield pts.tobytes()

        out.section(sid, section_size(sid, power), chunks())
        report(section_label(sid), time.perf_counter() - t)

    monomial(2, 2 * n - 1, 1)
    monomial(3, n, 1)
    monomial(4, n, alpha)
    monomial(5, n, beta)
    t = time.perf_counter()
    beta_g2 = g2_mul(G2_GEN, beta)
    beta_g2_m = g2.affine_from_ints([beta_g2])
    response.update(g2_encodings(beta_g2_m)[1])
    out.section(6, G2_BYTES, iter([beta_g2_m.tobytes()]))
    report(section_label(6), time.perf_counter() - t)

    # Section 7: the contribution record; the next challenge hashes the response hash, then the
    # points of sections 2-6 uncompressed, read back from the file (snarkjs `hashSection`).
    t = time.perf_counter()
    partial = response.partial()
    response.update(key.to_uncompressed())
    nxt = hashlib.blake2b(response.digest(), digest_size=64)
    for sid in (2, 3, 4, 5, 6):
        for pts in out.read_back(sid):
            nxt.update(point_encodings(pts)[0])
    contribution = Contribution(
        tau_g1=ref.g1_mul(G1_GEN, tau),
        tau_g2=g2_mul(G2_GEN, tau),
        alpha_g1=ref.g1_mul(G1_GEN, alpha),
        beta_g1=ref.g1_mul(G1_GEN, beta),
        beta_g2=beta_g2,
        key=key,
        partial_hash=partial,
        next_challenge=nxt.digest(),
        type=0,
        name=DEV_CONTRIBUTION_NAME,
    )
    body = encode_contributions([contribution])
    out.section(7, len(body), iter([body]))
    report(section_label(7), time.perf_counter() - t)

    # Sections 12-15: the Lagrange blocks q = 0 .. power (.. power + 1 for section 12).
    def lagrange(sid: int, factor: int, top: int) -> None:
        t = time.perf_counter()
        mul = g2_table.multiply if sid == 13 else g1_table.multiply

        def chunks() -> Iterator[bytes]:
            pending: list[np.ndarray] = []  # small blocks share one fixed-base call
            count = 0
            for q in range(top + 1):
                scalars = lagrange_scalars_m(tau, q, drop_top=(q == power + 1))
                if factor != 1:
                    scalars = FR_M.scale(scalars, factor)
                for lo in range(0, scalars.shape[0], CHUNK):
                    pending.append(scalars[lo : lo + CHUNK])
                    count += pending[-1].shape[0]
                    if count >= CHUNK:
                        yield mul(np.concatenate(pending)).tobytes()
                        pending, count = [], 0
            if pending:
                yield mul(np.concatenate(pending)).tobytes()

        out.section(sid, section_size(sid, power), chunks())
        report(section_label(sid), time.perf_counter() - t)

    lagrange(12, 1, power + 1)
    lagrange(13, 1, power)
    lagrange(14, alpha, power)
    lagrange(15, beta, power)


def _public_key(challenge: bytes, sec: _Secrets) -> PublicKey:
    """The contribution's public key for our secrets (``prover.ptau.contribution.public_key``)."""
    return public_key(challenge, (sec.tau, sec.alpha, sec.beta), sec.key_s)
