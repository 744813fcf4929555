"""KZG polynomial commitments over BN254.

Kate, Zaverucha, Goldberg, "Constant-size commitments to polynomials and their applications",
ASIACRYPT 2010, section 3.2 (PolyCommit_DL), in the form PLONK uses (Gabizon, Williamson,
Ciobotaru, ePrint 2019/953, section 3.1):

- SRS: [1]_1, [tau]_1, ..., [tau^(n-1)]_1 and [1]_2, [tau]_2.
- commit(p) = [p(tau)]_1 = sum_i p_i [tau^i]_1   (one multi-scalar multiplication)
- open(p, z) = (p(z), W) with W = [q(tau)]_1, q(X) = (p(X) - p(z)) / (X - z)
- verify: e(C - p(z) [1]_1 + z W, [1]_2) == e(W, [tau]_2)

Polynomials are coefficient arrays in Fr Montgomery form (``(n, 4)`` uint64, ``_m``); points
leaving this module are canonical int pairs (``prover.curve.ref`` conventions).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

import numpy as np
from numba import njit

from prover import params
from prover.curve import ref as curve
from prover.curve.fixed_base_g1 import fixed_base_g1
from prover.curve.msm import msm_g1
from prover.field import mont
from prover.field.kernels import FR_M
from prover.field.ref import FR

G1Point = tuple[int, int]


@dataclass(frozen=True)
class SRS:
    """A structured reference string: [tau^i]_1 for i < len, and [tau]_2."""

    g1_powers_m: np.ndarray  # (n, 2, 4) affine Fq Montgomery: [tau^i]_1
    g2_tau: tuple  # ((x.c0, x.c1), (y.c0, y.c1)) ints

    @property
    def max_degree(self) -> int:
        return self.g1_powers_m.shape[0] - 1

    @staticmethod
    def insecure_from_tau(n: int, tau: int) -> SRS:
        """An SRS from a KNOWN tau: for tests and development only (anyone knowing tau can
        forge openings). Production SRS come from a multi-party powers-of-tau ceremony."""
        if n < 1:
            raise ValueError("an SRS needs at least one point")
        if not 0 < tau < params.R_ORDER:
            raise ValueError("tau must be in [1, r)")
        powers_m = FR_M.powers(tau, n)
        g1_powers_m = fixed_base_g1(params.G1_GENERATOR, powers_m)
        g2_tau = curve.g2_mul(params.G2_GENERATOR, tau)
        return SRS(g1_powers_m, g2_tau)

    @staticmethod
    def insecure_random(n: int, rng: secrets.SystemRandom | None = None) -> SRS:
        """An SRS from a random tau that is then forgotten; still one-party, so not for
        production."""
        rng = rng or secrets.SystemRandom()
        return SRS.insecure_from_tau(n, rng.randrange(1, params.R_ORDER))


@dataclass(frozen=True)
class KnownTauPowers:
    """Powers of a KNOWN tau, with the accessors ``prover.plonk.setup`` reads from a ptau
    (``tau_g1_m``, ``tau_g2``; see ``prover.ptau.Ptau``): for tests and development only, since
    whoever knows tau can forge proofs. Real keys come from a ceremony's ptau file."""

    power: int
    tau: int

    def tau_g1_m(self, count: int) -> np.ndarray:
        """[tau^i]_1 for i < count, (count, 2, 4) affine Fq Montgomery."""
        return SRS.insecure_from_tau(count, self.tau).g1_powers_m

    def tau_g2(self, i: int) -> tuple:
        """[tau^i]_2 as ints."""
        return curve.g2_mul(params.G2_GENERATOR, pow(self.tau, i, params.R_ORDER))


@dataclass(frozen=True)
class Opening:
    point: int  # z
    value: int  # p(z)
    proof: G1Point  # W = [q(tau)]_1


def _check_coeffs(srs: SRS, coeffs_m: np.ndarray) -> None:
    if coeffs_m.ndim != 2 or coeffs_m.shape[1] != 4 or coeffs_m.dtype != np.uint64:
        raise ValueError("coefficients must be an (n, 4) uint64 Fr Montgomery array")
    if coeffs_m.shape[0] > srs.g1_powers_m.shape[0]:
        raise ValueError(
            f"polynomial of degree {coeffs_m.shape[0] - 1} exceeds the SRS "
            f"(max degree {srs.max_degree})"
        )


def commit(srs: SRS, coeffs_m: np.ndarray) -> G1Point:
    """[p(tau)]_1 for p given by its coefficients (lowest degree first)."""
    _check_coeffs(srs, coeffs_m)
    n = coeffs_m.shape[0]
    return msm_g1(srs.g1_powers_m[:n], coeffs_m)


@njit(cache=True)
def divide_by_linear_m(coeffs_m, z, quotient_m, mod):
    """Synthetic division: p(X) = q(X) (X - z) + p(z). Writes q (len n - 1), returns p(z).
    Horner from the top: q_{n-2} = p_{n-1}, q_{i-1} = p_i + z q_i, p(z) = p_0 + z q_0."""
    n = coeffs_m.shape[0]
    acc = (np.uint64(0), np.uint64(0), np.uint64(0), np.uint64(0))
    for i in range(n - 1, 0, -1):
        acc = mont.add(mont.mul(acc, z, mod), mont.load(coeffs_m, i), mod)
        mont.store(quotient_m, i - 1, acc)
    if n == 0:
        return acc
    return mont.add(mont.mul(acc, z, mod), mont.load(coeffs_m, 0), mod)


def divide_by_linear_twin(coeffs_m, z, quotient_m, mod):
    """Plain-int twin of ``divide_by_linear_m`` (same signature, Montgomery arrays in and out)."""
    m = sum(int(w) << (64 * k) for k, w in enumerate(mod[:4]))
    r_inv = pow(1 << 256, -1, m)
    as_int = [sum(int(w) << (64 * k) for k, w in enumerate(row)) * r_inv % m for row in coeffs_m]
    zv = sum(int(w) << (64 * k) for k, w in enumerate(z)) * r_inv % m
    acc = 0
    for i in range(len(as_int) - 1, 0, -1):
        acc = (acc * zv + as_int[i]) % m
        for k, w in enumerate(params.to_limbs(acc * (1 << 256) % m)):
            quotient_m[i - 1, k] = w
    value = (acc * zv + as_int[0]) % m if as_int else 0
    return tuple(np.uint64(w) for w in params.to_limbs(value * (1 << 256) % m))


def open_at(srs: SRS, coeffs_m: np.ndarray, z: int) -> Opening:
    """Evaluate p at z and prove it: W = [(p(X) - p(z)) / (X - z)]_1."""
    _check_coeffs(srs, coeffs_m)
    z = FR.check(z)
    n = coeffs_m.shape[0]
    quotient_m = np.zeros((max(n - 1, 1), 4), dtype=np.uint64)
    value_t = divide_by_linear_m(coeffs_m, FR_M.element(z), quotient_m, FR_M.mod)
    value = FR_M.element_int(value_t)
    proof = msm_g1(srs.g1_powers_m[: quotient_m.shape[0]], quotient_m)
    return Opening(z, value, proof)


def verify_opening(
    g2_tau: tuple, commitment: G1Point, opening: Opening, g2_one: tuple = params.G2_GENERATOR
) -> bool:
    """e(C - v [1]_1 + z W, [1]_2) * e(-W, [tau]_2) == 1. Validates every input first; returns
    False (never raises) for a malformed or wrong opening."""
    try:
        curve.check_g1(commitment)
        curve.check_g1(opening.proof)
        curve.check_g2(g2_tau)
        z = FR.check(opening.point)
        v = FR.check(opening.value)
    except (ValueError, TypeError, AttributeError):
        return False
    lhs = curve.g1_add(
        curve.g1_add(commitment, curve.g1_neg(curve.g1_mul(params.G1_GENERATOR, v))),
        curve.g1_mul(opening.proof, z),
    )
    return curve.pairing_check(
        [(lhs, g2_one), (curve.g1_neg(opening.proof), g2_tau)], validate=False
    )
