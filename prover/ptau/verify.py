"""Verifying a .ptau file: ``verify_ptau`` / ``check_ptau``.

Mirrors snarkjs 0.7.6 ``powersoftau_verify.js``. Checks every section: points canonical and on
their curve, G2 points in the subgroup (per point, or for big sections by random combinations
that must land in G2); the monomial sections by random-linear-combination pairing checks (e.g.
e(sum r_i [tau^(i+1)]_1, G2) == e(sum r_i [tau^i]_1, [tau]_2), and
e(sum r_i [tau^i]_1, G2) == e(G1, sum r_i [tau^i]_2)); each Lagrange block against the monomial
section (the block sums to the monomial point 0: sum_i L_i = 1; and
sum r_i [L_i] == sum c_j [tau^j] with c = IFFT(r): both sides multi-scalar multiplications);
section 13 against section 12 by pairings; the contributions' key proofs and the hash chain as
snarkjs does. Random weights are 64-bit (a forgery passes with probability ~2^-64). All pairing
equations are checked in one product (random weights, one Miller loop per distinct point);
when it fails, bisection names the failing equations (``prover.ptau.batch``).
"""

from __future__ import annotations

import hashlib
import os
import random
import secrets
from dataclasses import dataclass

import numpy as np

from prover import params
from prover.curve import g1, g2, ref
from prover.curve.msm import msm_g1
from prover.field.kernels import FR_M
from prover.poly import ntt
from prover.ptau.batch import (
    PairingBatch,
    g1_msm_m,
    g1_msm_u64,
    g2_all_in_subgroup,
    g2_msm_u64,
    u64_raw,
)
from prover.ptau.blake2b import first_challenge_hash
from prover.ptau.contribution import Contribution
from prover.ptau.encodings import point_encodings
from prover.ptau.format import Ptau, read_ptau
from prover.ptau.hash_to_g2 import g2_sp
from prover.ptau.sections import (
    CHUNK,
    MAX_FIRST_CHALLENGE_POWER,
    PHASE2_SECTIONS,
    PtauError,
    first_invalid_point,
    section_label,
    section_points,
)

R = params.R_ORDER
G1_GEN = params.G1_GENERATOR
G2_GEN = params.G2_GENERATOR


@dataclass(frozen=True)
class PtauReport:
    """What ``check_ptau`` found: ``failures`` (empty: the file is consistent) and ``notes``
    (what was not checked, and why)."""

    path: str
    power: int | None
    failures: list[str]
    notes: list[str]

    @property
    def ok(self) -> bool:
        return not self.failures


def verify_ptau(path: str | os.PathLike, rng: random.Random | None = None) -> list[str]:
    """Check every section of a .ptau file; returns the failures (empty: OK). See
    ``check_ptau`` for the checks and the notes on what was not checked."""
    return check_ptau(path, rng).failures


def check_ptau(path: str | os.PathLike, rng: random.Random | None = None) -> PtauReport:
    """Verify a .ptau file section by section (module docstring); ``rng`` draws the random
    weights (default: OS entropy; inject one only for reproducible tests)."""
    rng = rng or secrets.SystemRandom()
    nprng = np.random.default_rng(rng.getrandbits(128))
    try:
        pt = read_ptau(path)
    except PtauError as exc:
        return PtauReport(os.fspath(path), None, [str(exc)], [])
    return _Verification(pt, nprng).run()


class _Verification:
    def __init__(self, pt: Ptau, nprng: np.random.Generator) -> None:
        self.pt, self.nprng = pt, nprng
        self.fail: list[str] = []
        self.notes: list[str] = []
        self.pairings = PairingBatch(nprng)
        self.points: dict[int, np.ndarray] = {}

    def weights(self, n: int) -> np.ndarray:
        return self.nprng.integers(1, np.iinfo(np.uint64).max, size=n, dtype=np.uint64)

    def run(self) -> PtauReport:
        pt = self.pt
        present = [s for s in (2, 3, 4, 5, 6, *PHASE2_SECTIONS) if pt.binfile.has(s)]
        for sid in present:
            arr = pt._raw(sid, 0, section_points(sid, pt.power))
            bad = first_invalid_point(arr, subgroup=False)
            if bad is None and arr.ndim == 4 and not self.in_g2(arr):
                bad = first_invalid_point(arr, subgroup=True)  # exact, to name the point
            if bad is not None:
                self.fail.append(f"{section_label(sid)}: point {bad[0]} {bad[1]}")
            else:
                self.points[sid] = arr
        self.monomial()
        self.contributions()
        self.lagrange()
        self.fail += self.pairings.failures()
        return PtauReport(pt.path, pt.power, self.fail, self.notes)

    def in_g2(self, arr: np.ndarray) -> bool:
        return g2_all_in_subgroup(arr, self.nprng)

    def _skip(self, sid: int, needs: tuple[int, ...]) -> bool:
        missing = [s for s in needs if s not in self.points]
        if missing:
            self.notes.append(
                f"{section_label(sid)}: not checked, it is checked against "
                + ", ".join(section_label(s) for s in missing)
                + ", which is invalid"
            )
        return bool(missing)

    # sections 2-6
    def monomial(self) -> None:
        pts, n = self.points, 1 << self.pt.power
        g1_gen_m = g1.ints_to_affine_m([G1_GEN])[0]
        g2_gen_m = g2.affine_from_ints([G2_GEN])[0]
        if 2 in pts:
            t = pts[2]
            if not np.array_equal(t[0], g1_gen_m):
                self.fail.append(f"{section_label(2)}: point 0 is not the generator G1")
            if not t[1].any():
                self.fail.append(f"{section_label(2)}: point 1 is infinity (tau = 0)")
            elif np.array_equal(t[1], g1_gen_m):
                self.fail.append(
                    f"{section_label(2)}: tau = 1 ([tau]_1 is the generator): the file has no "
                    "contribution (as written by `snarkjs powersoftau new`); every commitment "
                    "would be p(1) G"
                )
        if 3 in pts and not np.array_equal(pts[3][0], g2_gen_m):
            self.fail.append(f"{section_label(3)}: point 0 is not the generator G2")
        if 2 in pts and not self._skip(2, (3,)):
            self.shift_check(2, pts[2])
        if 3 in pts and not self._skip(3, (2,)):
            # e(sum r_i [tau^i]_1, G2) == e(G1, sum r_i [tau^i]_2)
            r = self.weights(n)
            a = g1_msm_u64(pts[2][:n], r)
            s = g2_msm_u64(pts[3], r)
            self.pairings.equation(
                f"{section_label(3)}: the points are not [tau^i]_2 for the tau of section 2",
                [(a, G2_GEN), (ref.g1_neg(G1_GEN), s)],
            )
        for sid in (4, 5):
            if sid in pts:
                if not pts[sid][0].any():
                    what = "alpha" if sid == 4 else "beta"
                    self.fail.append(f"{section_label(sid)}: point 0 is infinity ({what} = 0)")
                elif not self._skip(sid, (3,)):
                    self.shift_check(sid, pts[sid])
        if 6 in pts and not self._skip(6, (5,)):
            beta_g1 = g1.affine_m_to_ints(pts[5][:1])[0]
            beta_g2 = g2.affine_to_ints(pts[6])[0]
            self.pairings.equation(
                f"{section_label(6)}: [beta]_2 does not match [beta]_1 of section 5",
                [(beta_g1, G2_GEN), (ref.g1_neg(G1_GEN), beta_g2)],
            )

    def shift_check(self, sid: int, t: np.ndarray) -> None:
        """e(sum r_i P_(i+1), G2) == e(sum r_i P_i, [tau]_2): every point is tau times the one
        before it."""
        if t.shape[0] < 2:
            return
        tau_g2 = g2.affine_to_ints(self.points[3][1:2])[0]
        r = self.weights(t.shape[0] - 1)
        a = g1_msm_u64(t[1:], r)
        b = g1_msm_u64(t[:-1], r)
        self.pairings.equation(
            f"{section_label(sid)}: the points are not successive powers of the tau of "
            "[tau]_2 (section 3, point 1)",
            [(a, G2_GEN), (ref.g1_neg(b), tau_g2)],
        )

    # section 7
    def contributions(self) -> None:
        pt, pts = self.pt, self.points
        label = section_label(7)
        try:
            contribs = pt.contributions()
        except PtauError as exc:
            self.fail.append(str(exc))
            return
        if not contribs:
            self.fail.append(
                f"{label}: no contribution (snarkjs refuses such a file: tau = 1 until someone "
                "contributes)"
            )
            return
        last = contribs[-1]
        expected = [
            ("tauG1", 2, 1, last.tau_g1),
            ("tauG2", 3, 1, last.tau_g2),
            ("alphaG1", 4, 0, last.alpha_g1),
            ("betaG1", 5, 0, last.beta_g1),
            ("betaG2", 6, 0, last.beta_g2),
        ]
        for name, sid, idx, point in expected:
            if sid not in pts:
                continue
            got = pts[sid][idx : idx + 1]
            mine = g2.affine_from_ints([point]) if sid in (3, 6) else g1.ints_to_affine_m([point])
            if not np.array_equal(got, mine):
                self.fail.append(
                    f"{label}: the last contribution's {name} differs from "
                    f"{section_label(sid)}, point {idx}"
                )
        if pt.ceremony_power <= MAX_FIRST_CHALLENGE_POWER:
            prev_challenge: bytes | None = first_challenge_hash(pt.ceremony_power)
        else:
            prev_challenge = None
        prev = (G1_GEN, G2_GEN, G1_GEN, G1_GEN, G2_GEN)
        for k, cur in enumerate(contribs, start=1):
            tag = f"{label}: contribution #{k}" + (f" ({cur.name})" if cur.name else "")
            if prev_challenge is None:
                self.notes.append(
                    f"{tag}: key proofs not checked (the first challenge of a power-"
                    f"{pt.ceremony_power} ceremony hashes {(384 << pt.ceremony_power) >> 30} GiB)"
                )
            else:
                self.key_proofs(tag, cur, prev, prev_challenge)
            if cur.type == 1:
                self.notes.append(f"{tag}: a beacon; its key's derivation is not re-checked")
            prev = (cur.tau_g1, cur.tau_g2, cur.alpha_g1, cur.beta_g1, cur.beta_g2)
            prev_challenge = cur.next_challenge
        if pt.power != pt.ceremony_power:
            self.notes.append(
                f"{label}: a file reduced from a power-{pt.ceremony_power} ceremony: the last "
                "next-challenge hash is not checked (snarkjs skips it too)"
            )
        elif not all(s in pts for s in (2, 3, 4, 5, 6)):
            self.notes.append(f"{label}: the next-challenge hash is not checked (invalid points)")
        else:
            nxt = hashlib.blake2b(last.response_hash, digest_size=64)
            for sid in (2, 3, 4, 5, 6):
                arr = pts[sid]
                for lo in range(0, arr.shape[0], CHUNK):
                    nxt.update(point_encodings(arr[lo : lo + CHUNK])[0])
            if nxt.digest() != last.next_challenge:
                self.fail.append(
                    f"{label}: the last contribution's next-challenge hash does not match the "
                    "points of sections 2-6"
                )

    def key_proofs(self, tag: str, cur: Contribution, prev: tuple, challenge: bytes) -> None:
        """snarkjs ``verifyContribution``: the three proofs of knowledge, and that the new
        tau, alpha, beta points are the previous ones times the proven secrets."""
        k = cur.key
        p_tau_g1, p_tau_g2, p_alpha_g1, p_beta_g1, p_beta_g2 = prev
        sp = [
            g2_sp(0, challenge, k.tau_g1_s, k.tau_g1_sx),
            g2_sp(1, challenge, k.alpha_g1_s, k.alpha_g1_sx),
            g2_sp(2, challenge, k.beta_g1_s, k.beta_g1_sx),
        ]
        checks = [
            ("INVALID key (tau)", k.tau_g1_s, k.tau_g1_sx, sp[0], k.tau_g2_spx),
            ("INVALID key (alpha)", k.alpha_g1_s, k.alpha_g1_sx, sp[1], k.alpha_g2_spx),
            ("INVALID key (beta)", k.beta_g1_s, k.beta_g1_sx, sp[2], k.beta_g2_spx),
            ("tauG1 does not follow the previous one", p_tau_g1, cur.tau_g1, sp[0], k.tau_g2_spx),
            ("tauG2 does not follow the previous one", k.tau_g1_s, k.tau_g1_sx, p_tau_g2,
             cur.tau_g2),
            ("alphaG1 does not follow the previous one", p_alpha_g1, cur.alpha_g1, sp[1],
             k.alpha_g2_spx),
            ("betaG1 does not follow the previous one", p_beta_g1, cur.beta_g1, sp[2],
             k.beta_g2_spx),
            ("betaG2 does not follow the previous one", k.beta_g1_s, k.beta_g1_sx, p_beta_g2,
             cur.beta_g2),
        ]  # fmt: skip
        for what, a, b, c, d in checks:
            bad = self.pairings.same_ratio(f"{tag}: {what}", a, b, c, d)
            if bad:
                self.fail.append(bad)

    # sections 12-15
    def lagrange(self) -> None:
        pt, pts = self.pt, self.points
        have = [s for s in PHASE2_SECTIONS if pt.binfile.has(s)]
        if not have:
            self.notes.append(
                "not prepared for phase 2 (no sections 12-15): PLONK setup needs them; run "
                "`snarkjs powersoftau prepare phase2`"
            )
            return
        for sid in PHASE2_SECTIONS:
            if sid not in have:
                self.fail.append(f"{section_label(sid)} is missing (sections 12-15 go together)")
        p = pt.power
        for sid, mono, top in ((12, 2, p + 1), (14, 4, p), (15, 5, p)):
            if sid in pts and not self._skip(sid, (mono,)):
                self.lagrange_g1(sid, mono, top)
        if 13 in pts and not self._skip(13, (12,)):
            self.lagrange_g2()

    def lagrange_g1(self, sid: int, mono: int, top: int) -> None:
        """Blocks q = 0 .. top of a G1 Lagrange section against the monomial section ``mono``:
        (1) each block sums to the monomial point 0 (sum_i L_i = 1); (2) sum_i r_i [L_i] ==
        sum_j c_j [P_j] with c = IFFT(r), the polynomial with values r_i on the domain
        evaluated at tau both ways. Every block at once with random weights (two MSMs a
        side); if that fails, block by block to name the domain."""
        lag, mon = self.points[sid], self.points[mono]
        p = self.pt.power
        want_sum = g1.affine_m_to_ints(mon[:1])[0]
        blocks = [((1 << q) - 1, (2 << q) - 1) for q in range(top + 1)]
        rho = self.weights(top + 1)
        r = self.weights(lag.shape[0])
        rho_all = np.concatenate([np.full(hi - lo, rho[q]) for q, (lo, hi) in enumerate(blocks)])
        rho_sum = sum(int(x) for x in rho) % R
        coeffs = [self._coefficients(r[lo:hi], drop_top=(q == p + 1)) for q, (lo, hi) in
                  enumerate(blocks)]  # fmt: skip
        total = np.zeros((max(c.shape[0] for c in coeffs), 4), dtype=np.uint64)
        for c in coeffs:
            m = c.shape[0]
            total[:m] = FR_M.add(np.ascontiguousarray(total[:m]), c)
        sums_ok = g1_msm_u64(lag, rho_all) == ref.g1_mul(want_sum, rho_sum)
        rlc_ok = g1_msm_u64(lag, r) == msm_g1(
            np.ascontiguousarray(mon[: total.shape[0]]), total, validate=False
        )
        if sums_ok and rlc_ok:
            return
        what = "G1" if sid == 12 else f"{section_label(mono)} point 0"
        named = False
        for q, (lo, hi) in enumerate(blocks):
            where = f"{section_label(sid)}, domain 2^{q}"
            block = lag[lo:hi]
            if g1_msm_u64(block, np.ones(hi - lo, dtype=np.uint64)) != want_sum:
                self.fail.append(f"{where}: the points do not sum to {what} (sum L_i = 1)")
                named = True
            elif g1_msm_u64(block, r[lo:hi]) != g1_msm_m(mon, coeffs[q]):
                self.fail.append(
                    f"{where}: the points are not the Lagrange basis of {section_label(mono)} "
                    "(random linear combination differs)"
                )
                named = True
        if not named:  # a 2^-64 accident of the batch, or a bug: say so rather than hide it
            self.fail.append(f"{section_label(sid)}: the batched Lagrange check failed")

    @staticmethod
    def _coefficients(r: np.ndarray, drop_top: bool) -> np.ndarray:
        """c = IFFT(r) (Fr Montgomery), without the top coefficient if ``drop_top``."""
        c = FR_M.from_raw(u64_raw(r))
        if c.shape[0] > 1:
            ntt.intt(c)
        return np.ascontiguousarray(c[: c.shape[0] - 1] if drop_top else c)

    def lagrange_g2(self) -> None:
        """Per block q <= power: e(sum r_i [L_i]_1, G2) == e(G1, sum r_i [L_i]_2), against
        the (already checked) block of section 12; batched with every other equation."""
        lag1, lag2 = self.points[12], self.points[13]
        r = self.weights(lag2.shape[0])
        for q in range(self.pt.power + 1):
            lo, hi = (1 << q) - 1, (2 << q) - 1
            self.pairings.equation(
                f"{section_label(13)}, domain 2^{q}: the points are not [L_i(tau)]_2 for the "
                "[L_i(tau)]_1 of section 12",
                [
                    (g1_msm_u64(lag1[lo:hi], r[lo:hi]), G2_GEN),
                    (ref.g1_neg(G1_GEN), g2_msm_u64(lag2[lo:hi], r[lo:hi])),
                ],
            )
