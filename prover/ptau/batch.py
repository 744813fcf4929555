"""The verifier's batched group arithmetic: multi-scalar multiplications with 64-bit random
weights (G1 and G2), the batched G2 subgroup test, and ``PairingBatch``, which checks many
pairing equations in one product and names the failing ones by bisection.

The equations it checks mirror snarkjs 0.7.6 ``powersoftau_verify.js`` (``sameRatio`` of
``misc.js``, ``verifyContribution``), which checks them one pairing at a time.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from prover import params
from prover.curve import g2, ref
from prover.curve.msm import msm_g1, msm_g1_raw
from prover.ptau.hash_to_g2 import g2_mul
from prover.ptau.sections import first_invalid_point

G1_GEN = params.G1_GENERATOR

SUBGROUP_ROUNDS = 5  # batched G2 subgroup test: false accept <= 10069^-5 (see in_g2)
_G2_WINDOW = 8  # bits per window of the 64-bit random scalars: 8 windows, 255 buckets each


@njit(parallel=True, cache=True)
def g2_msm_u64_windows_m(points, scalars, c, out_jac):
    """Bucket sums of a G2 multi-scalar multiplication with 64-bit scalars, one window of c
    bits per row of out_jac (windows in parallel): out[w] = sum_b b * (sum of the points whose
    w-th digit is b), Jacobian."""
    nwin = out_jac.shape[0]
    nb = (1 << c) - 1
    mask = np.uint64(nb)
    for w in prange(nwin):
        buckets = np.empty((nb, 3, 2, 4), dtype=np.uint64)
        for b in range(nb):
            g2.store_jac(buckets, b, g2.JAC_INFINITY)
        shift = np.uint64(w * c)
        for i in range(points.shape[0]):
            d = (scalars[i] >> shift) & mask
            if d != 0:
                k = np.int64(d) - 1
                acc = g2.jac_add_mixed(g2.load_jac(buckets, k), g2.load_affine(points, i))
                g2.store_jac(buckets, k, acc)
        run = g2.JAC_INFINITY
        total = g2.JAC_INFINITY
        for b in range(nb - 1, -1, -1):
            run = g2.jac_add(run, g2.load_jac(buckets, b))
            total = g2.jac_add(total, run)
        g2.store_jac(out_jac, w, total)


@njit(cache=True)
def g2_combine_windows_m(sums_jac, c, out_jac):
    """out[0] = sum_w 2^(c w) sums[w] (Horner from the top window)."""
    acc = g2.JAC_INFINITY
    for w in range(sums_jac.shape[0] - 1, -1, -1):
        for _ in range(c):
            acc = g2.jac_double(acc)
        acc = g2.jac_add(acc, g2.load_jac(sums_jac, w))
    g2.store_jac(out_jac, 0, acc)


def g2_msm_u64(points_m: np.ndarray, scalars: np.ndarray) -> ref.G2Point:
    """sum_i s_i P_i for validated affine G2 points (n, 2, 2, 4) and uint64 scalars (n,): the
    random linear combinations of the verifier (64-bit weights: a forgery passes with
    probability about 2^-64)."""
    if points_m.shape[0] != scalars.shape[0]:
        raise ValueError(f"{points_m.shape[0]} points but {scalars.shape[0]} scalars")
    c = _G2_WINDOW
    sums = np.empty((64 // c, 3, 2, 4), dtype=np.uint64)
    g2_msm_u64_windows_m(
        np.ascontiguousarray(points_m), np.ascontiguousarray(scalars, dtype=np.uint64), c, sums
    )
    total = np.empty((1, 3, 2, 4), dtype=np.uint64)
    g2_combine_windows_m(sums, c, total)
    return g2.affine_to_ints(g2.to_affine(total))[0]


def g2_all_in_subgroup(arr: np.ndarray, nprng: np.random.Generator) -> bool:
    """Are all these twist points (n, 2, 2, 4) in G2? Exactly (the psi test per point) for a
    few points; for many, SUBGROUP_ROUNDS random combinations S = sum r_i P_i with 64-bit
    weights must each be in G2. A point with a component outside G2, of order divisible by a
    prime l dividing the cofactor 2p - r = 10069 * (a 241-bit number with no factor below
    10^6), passes one round with probability <= 1/l, so all of them with <= 10069^-5 < 2^-66.
    About 5x faster than the per-point test."""
    if arr.shape[0] <= 512:
        return first_invalid_point(arr, subgroup=True) is None
    for _ in range(SUBGROUP_ROUNDS):
        weights = nprng.integers(1, np.iinfo(np.uint64).max, size=arr.shape[0], dtype=np.uint64)
        total = g2_msm_u64(arr, weights)
        if first_invalid_point(g2.affine_from_ints([total]), subgroup=True) is not None:
            return False
    return True


def u64_raw(scalars: np.ndarray) -> np.ndarray:
    """uint64 values -> (n, 4) canonical Fr limbs."""
    raw = np.zeros((scalars.shape[0], 4), dtype=np.uint64)
    raw[:, 0] = scalars
    return raw


def g1_msm_u64(points_m: np.ndarray, scalars: np.ndarray) -> ref.G1Point:
    if not points_m.shape[0]:
        return ref.G1_INFINITY
    return msm_g1_raw(np.ascontiguousarray(points_m), u64_raw(scalars), validate=False)


def g1_msm_m(points_m: np.ndarray, scalars_m: np.ndarray) -> ref.G1Point:
    """sum_j s_j P_j over the first len(scalars_m) points (Fr Montgomery scalars)."""
    m = scalars_m.shape[0]
    if not m:
        return ref.G1_INFINITY
    return msm_g1(np.ascontiguousarray(points_m[:m]), scalars_m, validate=False)


Pairs = list[tuple[ref.G1Point, ref.G2Point]]


class PairingBatch:
    """Collects pairing equations (each: a product of pairings that must be 1) and checks them
    all at once: a random 64-bit weight per equation, pairs with the same G2 point merged (and
    pairs whose G1 point is +-G1, merged on that side), so one Miller loop per distinct point
    and one final exponentiation. If the batch fails, bisection (batched halves) names the
    failing equations."""

    def __init__(self, nprng: np.random.Generator) -> None:
        self.nprng = nprng
        self.equations: list[tuple[str, Pairs]] = []

    def same_ratio(self, label: str, a, b, c, d) -> str | None:
        """snarkjs ``sameRatio``: e(a, d) == e(b, c), none of them infinity (checked now; the
        pairing part later)."""
        if ref.G1_INFINITY in (a, b) or ref.G2_INFINITY in (c, d):
            return f"{label} (a point at infinity)"
        self.equations.append((label, [(a, d), (ref.g1_neg(b), c)]))
        return None

    def equation(self, label: str, pairs: Pairs) -> None:
        self.equations.append((label, pairs))

    def _holds(self, equations: list[tuple[str, Pairs]]) -> bool:
        gens = (G1_GEN, ref.g1_neg(G1_GEN))
        by_g2: dict[ref.G2Point, list[ref.G1Point]] = {}
        by_g1: dict[ref.G1Point, list[ref.G2Point]] = {}
        for _, pairs in equations:
            rho = int(self.nprng.integers(1, 1 << 63))
            for p1, q2 in pairs:
                if p1 in gens and q2 not in by_g2:
                    by_g1.setdefault(p1, []).append(g2_mul(q2, rho))
                else:
                    by_g2.setdefault(q2, []).append(ref.g1_mul(p1, rho))
        batch = [(ref.g1_sum(ps), q2) for q2, ps in by_g2.items()]
        for p1, qs in by_g1.items():
            acc = ref.G2_INFINITY
            for q2 in qs:
                acc = ref.g2_add(acc, q2)
            batch.append((p1, acc))
        return ref.pairing_check(batch, validate=False)

    def _failing(self, equations: list[tuple[str, Pairs]], known_bad: bool) -> list[str]:
        if not known_bad and self._holds(equations):
            return []
        if len(equations) == 1:
            return [equations[0][0]]
        mid = len(equations) // 2
        left = self._failing(equations[:mid], False)
        return left + self._failing(equations[mid:], known_bad=not left)

    def failures(self) -> list[str]:
        return self._failing(self.equations, False) if self.equations else []
