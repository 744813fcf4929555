"""Multi-scalar multiplication on G1: sum_i s_i P_i by Pippenger's bucket method.

Pippenger, "On the evaluation of powers and monomials", SIAM J. Comput. 9 (1980); the variant
here follows the ZPrize 2022 MSM entries and gnark-crypto (Botrel, El Housni, "Faster Montgomery
multiplication and multi-scalar-multiplication for SNARKs", TCHES 2023/3):

0. GLV split (Gallant, Lambert, Vanstone, CRYPTO 2001), on by default: s = k1 + k2 lambda mod r
   with |k1|, |k2| < 2^127 and phi(P) = (beta x, y) = [lambda] P, so s P = k1 P + k2 phi(P):
   2n points with half-length scalars, the same number of bucket additions in half the windows,
   hence half the bucket reductions. The signs of k1, k2 are applied to the points on the fly
   (xor the digit's sign), so the points P_i, phi(P_i) depend on the points only.
1. Signed-digit recoding. Each scalar (< 2^bits) is cut into W = ceil((bits + 1) / c) windows of
   c bits with digits in (-2^(c-1), 2^(c-1)], so a window needs only 2^(c-1) buckets; a negative
   digit adds -P = (x, -y), which is free. Digits are stored as uint16 codes (bucket << 1 | sign,
   SKIP for 0), window-major.
2. Bucket accumulation in batch-affine form. Per window, the additions bucket[b] += +-P_i are
   collected in batches of independent buckets and done together with one shared inversion
   (Montgomery's trick): 3M for the inverse + 2M + 1S for the chord, against 8M + 2S for a
   mixed XYZZ addition. A point whose bucket is already in the batch waits in a queue for the
   next batch; if the queue is full, and for the rare P + P, it goes into a per-bucket XYZZ
   overflow accumulator instead, so no input (all scalars equal, repeated points, infinity
   points) can degrade a batch. A window with few buckets (the short top window) spreads each
   bucket over replicas to fill its batches; with too few points, XYZZ buckets are used.
3. Bucket reduction by running sums, sum_b (b + 1) B_b = sum_b sum_{b' >= b} B_b', in XYZZ.
4. Windows combined by Horner's rule (c doublings between windows).

On CPUs with AVX-512 IFMA (``IFMA``, from ``prover.field.ifma.HAVE_IFMA``) steps 2 and 3 run
on eight lanes at a time in radix 2^52 (see the IFMA sections below): ~3x faster than the scalar
kernels, which remain for other CPUs (and are tested here too). The windows are independent, so
they run in parallel (``prange``) across the cores, each thread owning its buckets (on the IFMA
path, one bucket array per thread for its group of windows). The window c minimises a cost
model of steps 0-3 (``optimal_window``) and can be forced with ``window=`` (tests cover every c
in 1..16, with and without GLV, on both paths).

Fixed bases: ``MSMBases.prepare(points_m)`` validates the points once and precomputes their
GLV images and (IFMA) radix-2^52 rows; ``msm_g1_bases(bases, scalars_m)`` is then the MSM over
the first len(scalars_m) bases, for the many MSMs of a prover over one SRS.

The plain-Python twin (same signature, ints inside) is ``prover.curve.twin_g1.msm_g1``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numba
import numpy as np
from llvmlite import ir
from numba import njit, prange, types
from numba.core import cgutils
from numba.extending import intrinsic

from prover import params
from prover.curve import g1
from prover.curve.g1 import G1Point
from prover.field import ifma, kernels, mont
from prover.field.mont import FQ_MOD, FR_MOD, RAW_ONE

_U64 = types.uint64

SCALAR_BITS = 254  # r < 2^254
GLV_BITS = 127  # |k1|, |k2| < 2^127 for the GLV halves (see glv_split)
MIN_WINDOW = 1
MAX_WINDOW = 16
SKIP = 0xFFFF  # digit code of a zero digit (the code of -2^15, a digit that never occurs)
MAX_BATCH = 1024  # batch-affine additions per shared inversion
MIN_BATCH = 64  # below this the inversion is not amortised: XYZZ buckets instead
BATCH_PER_BUCKETS = 4  # batch size = buckets / this (fewer bucket conflicts), capped above
MAX_AFFINE_ROWS = 1 << 15  # bucket rows (buckets * replicas) considered for a window

# Cost model in field multiplications (the unit of ``optimal_window``).
_COST_AFFINE_ADD = 7.0  # 2M + 1S chord + 3M Montgomery's trick + bookkeeping
_COST_XYZZ_MADD = 11.0  # 8M + 2S + bookkeeping
_COST_INVERSION = 380.0  # Fermat: 254 squarings + ~127 multiplications
_COST_MADD = 13.0  # reduction: running sum += bucket (XYZZ + affine), as measured
_COST_ADD = 19.0  # reduction: total += running sum (XYZZ + XYZZ), as measured
_COST_SPLIT = 4.0  # GLV: the scalar split and phi(P), per point


# --- GLV scalar decomposition ---------------------------------------------------------------------
# s = k1 + k2 lambda (mod r) with |k1|, |k2| small, by Babai rounding on the short basis
# v1 = (a1, b1), v2 = (a2, b2) of the lattice {(x, y): x + y lambda = 0 mod r} (GLV 2001, from the
# extended Euclidean algorithm on (r, lambda); the basis has determinant r): c1 = round(b2 s / r),
# c2 = round(-b1 s / r), k1 = s - c1 a1 - c2 a2, k2 = -c1 b1 - c2 b2. The divisions by r are
# multiplications by G = round(2^256 b / r) and a shift; the approximation moves c by at most
# 1/8 + 1/2 from the exact real, so |k| <= 0.63 (|a1| + |a2|) < 2^127 (checked in the kernel).
_A1 = 9931322734385697763
_B1 = -147946756881789319000765030803803410728
_A2 = 147946756881789319010696353538189108491
_B2 = 9931322734385697763


def _glv_constants() -> tuple:
    r = params.R_ORDER
    assert (_A1 + _B1 * g1.GLV_LAMBDA) % r == 0 and (_A2 + _B2 * g1.GLV_LAMBDA) % r == 0
    assert _A1 * _B2 - _B1 * _A2 == r
    assert 0.63 * (abs(_A1) + abs(_A2)) < 2**GLV_BITS and 0.63 * (abs(_B1) + abs(_B2)) < 2**GLV_BITS

    def limbs(x: int, k: int) -> tuple:
        return tuple(np.uint64((x >> (64 * j)) & ((1 << 64) - 1)) for j in range(k))

    g_1 = (2**256 * _B2 + r // 2) // r  # round(2^256 b2 / r)
    g_2 = (2**256 * -_B1 + r // 2) // r  # round(2^256 (-b1) / r)
    return limbs(g_1, 3), limbs(g_2, 3), limbs(_A1, 3), limbs(_A2, 3), limbs(-_B1, 3), limbs(_B2, 3)


_G1, _G2, _A1_L, _A2_L, _NB1_L, _B2_L = _glv_constants()


def windows_for(c: int, bits: int = SCALAR_BITS) -> int:
    """Windows of c bits for signed digits of a scalar < 2^bits: the top digit must stay
    <= 2^(c-1) after the last carry, i.e. c * W >= bits + 1."""
    return -(-(bits + 1) // c)


def top_window_buckets(c: int, bits: int = SCALAR_BITS) -> int:
    """Buckets of the top window: its digit is at most 2^(bits - c (W - 1)) <= 2^(c-1)."""
    return 1 << (bits - c * (windows_for(c, bits) - 1))


@dataclass(frozen=True)
class WindowPlan:
    """How one window accumulates: ``buckets`` digit values, each spread over ``replicas``
    bucket rows (point i goes to row bucket * replicas + i mod replicas), and a batch-affine
    batch of ``batch`` additions per inversion, or XYZZ buckets when ``batch`` is 0. Replicas
    let a window with few buckets fill large batches (fewer inversions, fewer conflicts) at the
    price of more rows to reduce."""

    buckets: int
    replicas: int
    batch: int

    @staticmethod
    def choose(buckets: int, n: int, batch: int | None = None) -> WindowPlan:
        """The cheapest plan for n points by ``cost``; ``batch`` forces the batch size (0: XYZZ
        buckets), with enough replicas for buckets * replicas >= 4 batch."""
        if batch is not None:
            if batch == 0:
                return WindowPlan(buckets, 1, 0)
            replicas = 1
            while buckets * replicas < BATCH_PER_BUCKETS * batch:
                replicas *= 2
            return WindowPlan(buckets, replicas, batch)
        plans = [WindowPlan(buckets, 1, 0)]
        replicas = 1
        while buckets * replicas <= MAX_AFFINE_ROWS:
            b = min(MAX_BATCH, buckets * replicas // BATCH_PER_BUCKETS)
            if b >= MIN_BATCH and n >= 2 * b:
                plans.append(WindowPlan(buckets, replicas, b))
            replicas *= 2
        return min(plans, key=lambda p: p.cost(n))

    def as_tuple(self) -> tuple[int, int, int]:
        return self.buckets, self.replicas, self.batch

    def cost(self, n: int) -> float:
        """Modelled cost in field multiplications."""
        if self.batch:
            acc = n * (_COST_AFFINE_ADD + _COST_INVERSION / self.batch)
        else:
            acc = n * _COST_XYZZ_MADD
        return acc + self.buckets * (self.replicas * _COST_MADD + _COST_ADD)


def msm_cost(n: int, c: int, threads: int = 1, glv: bool = True) -> float:
    """Modelled cost (field multiplications) of an n-point MSM with window c on ``threads``;
    with ``glv``, 2n points and scalars of GLV_BITS bits."""
    bits, m = (GLV_BITS, 2 * n) if glv else (SCALAR_BITS, n)
    w = windows_for(c, bits)
    full = WindowPlan.choose(1 << (c - 1), m).cost(m)
    top = WindowPlan.choose(top_window_buckets(c, bits), m).cost(m)
    per_window = (full * (w - 1) + top) / w
    split = n * _COST_SPLIT / threads if glv else 0.0
    return -(-w // threads) * per_window + w * c * 12.0 + split  # + the Horner doublings


def msm_cost_ifma(n: int, c: int, threads: int = 1, glv: bool = True) -> float:
    """Modelled time (ns) of an n-point MSM with window c on the IFMA path, from measurements
    at 2^8 .. 2^18 points: ~43 ns a bucket addition plus the batch's inversion (~8.6 us for a
    batch of 2048, or 256 where the scalar plan would be XYZZ buckets), ~110 ns a bucket row
    in the reduction plus ~30 us a window, ~100 ns a scalar for the digits."""
    bits, m = (GLV_BITS, 2 * n) if glv else (SCALAR_BITS, n)
    w = windows_for(c, bits)
    full = WindowPlan.choose(1 << (c - 1), m)
    top = WindowPlan.choose(top_window_buckets(c, bits), m)
    batch = IFMA_BATCH if full.batch and top.batch else IFMA_SMALL_BATCH
    rows = (w - 1) * full.buckets * full.replicas + top.buckets * top.replicas
    per_window = m * (43.0 + 8600.0 / batch) + rows * 110.0 / w + 30_000.0
    return -(-w // threads) * per_window + n * 100.0 / threads


def optimal_window(
    n: int, threads: int | None = None, glv: bool = True, ifma: bool | None = None
) -> int:
    """The c in [1, 16] that minimises ``msm_cost`` for n points, or on the IFMA path (``ifma``,
    default: ``IFMA`` and enough points for that path) the c in [1, 14] that minimises
    ``msm_cost_ifma`` (larger windows' buckets outgrow the L2 cache there)."""
    t = threads or numba.get_num_threads()
    m = 2 * n if glv else n
    if ifma is None:
        ifma = IFMA and m >= IFMA_MIN_POINTS
    if ifma:
        return min(range(MIN_WINDOW, 15), key=lambda c: (msm_cost_ifma(n, c, t, glv), c))
    return min(range(MIN_WINDOW, MAX_WINDOW + 1), key=lambda c: (msm_cost(n, c, t, glv), c))


# --- signed digits ------------------------------------------------------------------------------


@njit(cache=True)
def window_value(s, bit, c):
    """Bits [bit, bit + c) of a 256-bit scalar s (four little-endian uint64 limbs), c <= 16."""
    limb = bit >> 6
    if limb >= 4:
        return 0
    off = bit & 63
    v = s[limb] >> _U64(off)
    if off + c > 64 and limb < 3:
        v |= s[limb + 1] << _U64(64 - off)
    return np.int64(v & ((_U64(1) << _U64(c)) - _U64(1)))


@njit(inline="always")
def _write_codes(s, c, out, col):
    """out[j, col] = code of the j-th signed c-bit digit of s (four limbs): SKIP for 0, else
    (|d| - 1) << 1 | (d < 0). Digits lie in (-2^(c-1), 2^(c-1)], so codes never reach SKIP.
    The scalar is shifted right c bits per digit (straight-line, ~1 ns a digit)."""
    half = np.int64(1) << np.int64(c - 1)
    full = np.int64(1) << np.int64(c)
    mask = (_U64(1) << _U64(c)) - _U64(1)
    right = _U64(c)
    left = _U64(64 - c)
    s0, s1, s2, s3 = s
    carry = np.int64(0)
    for j in range(out.shape[0]):
        v = np.int64(s0 & mask) + carry
        s0 = (s0 >> right) | (s1 << left)
        s1 = (s1 >> right) | (s2 << left)
        s2 = (s2 >> right) | (s3 << left)
        s3 = s3 >> right
        carry = np.int64(v > half)  # branch-free: the digit signs are unpredictable
        d = v - carry * full
        negative = np.int64(d < 0)
        code = ((((d ^ -negative) + negative) - 1) << 1) | negative
        out[j, col] = SKIP if d == 0 else code


@njit(parallel=True, cache=True)
def signed_digits_m(scalars, montgomery, c, out):
    """out[j, i] = code of the j-th signed c-bit digit of scalar i (see ``_write_codes``).
    ``montgomery``: the scalars are Fr Montgomery limbs (else canonical limbs)."""
    for i in prange(scalars.shape[0]):
        s = mont.load(scalars, i)
        if montgomery:
            s = mont.mul(s, RAW_ONE, FR_MOD)
        _write_codes(s, c, out, i)


@njit(cache=True)
def _mul_4x3_round(s, g):
    """round(s * g / 2^256) = floor((s * g + 2^255) / 2^256), three limbs (s: 4, g: 3 limbs)."""
    z = _U64(0)
    t0, c = mont.mac(s[0], g[0], z, z)
    t1, c = mont.mac(s[0], g[1], z, c)
    t2, t3 = mont.mac(s[0], g[2], z, c)
    t1, c = mont.mac(s[1], g[0], t1, z)
    t2, c = mont.mac(s[1], g[1], t2, c)
    t3, t4 = mont.mac(s[1], g[2], t3, c)
    t2, c = mont.mac(s[2], g[0], t2, z)
    t3, c = mont.mac(s[2], g[1], t3, c)
    t4, t5 = mont.mac(s[2], g[2], t4, c)
    t3, c = mont.mac(s[3], g[0], t3, z)
    t4, c = mont.mac(s[3], g[1], t4, c)
    t5, t6 = mont.mac(s[3], g[2], t5, c)
    _, c = mont.adc(t3, _U64(1) << _U64(63), z)
    t4, c = mont.adc(t4, z, c)
    t5, c = mont.adc(t5, z, c)
    t6, _ = mont.adc(t6, z, c)
    return t4, t5, t6


@njit(cache=True)
def _mul_3x3_lo(a, b):
    """a * b mod 2^192."""
    z = _U64(0)
    t0, c = mont.mac(a[0], b[0], z, z)
    t1, c = mont.mac(a[0], b[1], z, c)
    t2, _ = mont.mac(a[0], b[2], z, c)
    t1, c = mont.mac(a[1], b[0], t1, z)
    t2, _ = mont.mac(a[1], b[1], t2, c)
    t2, _ = mont.mac(a[2], b[0], t2, z)
    return t0, t1, t2


@njit(cache=True)
def _sub3(a, b):
    """a - b mod 2^192."""
    d0, c = mont.sbb(a[0], b[0], _U64(0))
    d1, c = mont.sbb(a[1], b[1], c)
    d2, _ = mont.sbb(a[2], b[2], c)
    return d0, d1, d2


@njit(cache=True)
def _signed_magnitude(k):
    """A 192-bit two's complement k -> (|k| as four limbs, k < 0, |k| >= 2^127)."""
    z = _U64(0)
    negative = (k[2] >> _U64(63)) != z
    if negative:
        k = _sub3((z, z, z), k)
    too_big = k[2] != z or (k[1] >> _U64(63)) != z
    return (k[0], k[1], z, z), negative, too_big


@njit(cache=True)
def glv_split(s):
    """(|k1|, k1 < 0, |k2|, k2 < 0, overflow) with s = k1 + k2 lambda (mod r), |ki| < 2^127, for
    a canonical scalar s < r given as four limbs; ``overflow`` never happens (checked)."""
    c1 = _mul_4x3_round(s, _G1)
    c2 = _mul_4x3_round(s, _G2)
    k1 = _sub3(_sub3((s[0], s[1], s[2]), _mul_3x3_lo(c1, _A1_L)), _mul_3x3_lo(c2, _A2_L))
    k2 = _sub3(_mul_3x3_lo(c1, _NB1_L), _mul_3x3_lo(c2, _B2_L))
    m1, n1, o1 = _signed_magnitude(k1)
    m2, n2, o2 = _signed_magnitude(k2)
    return m1, n1, m2, n2, o1 or o2


@njit(parallel=True, cache=True)
def signed_digits_glv_m(scalars, montgomery, c, out, negative):
    """GLV digits: column i gets the digits of |k1| and column n + i those of |k2|, for
    s_i = k1 + k2 lambda; negative[i], negative[n + i] = k1 < 0, k2 < 0 (the signs go into the
    points: a flipped digit 2^(c-1) would leave the digit range). Returns the number of failed
    splits (always 0)."""
    n = scalars.shape[0]
    bad = 0
    for i in prange(n):
        s = mont.load(scalars, i)
        if montgomery:
            s = mont.mul(s, RAW_ONE, FR_MOD)
        m1, n1, m2, n2, overflow = glv_split(s)
        _write_codes(m1, c, out, i)
        _write_codes(m2, c, out, n + i)
        negative[i] = n1
        negative[n + i] = n2
        if overflow:
            bad += 1
    return bad


@njit(parallel=True, cache=True)
def glv_points_m(points, negative, out):
    """out[i] = +-P_i and out[n + i] = +-phi(P_i) = +-(beta x_i, y_i), signs from ``negative``."""
    n = points.shape[0]
    for i in prange(n):
        x, y = g1.load_affine(points, i)
        g1.store_affine(out, i, (x, g1.fq_cond_neg(y, negative[i])))
        phi_x = g1.fq_mul(x, g1.GLV_BETA_M)
        g1.store_affine(out, n + i, (phi_x, g1.fq_cond_neg(y, negative[n + i])))


# --- bucket accumulation --------------------------------------------------------------------------


_CHORD = 0  # distinct x: a batch slot
_NOTHING = 1  # the point is infinity
_COPY = 2  # the bucket is empty: it becomes the point
_CANCEL = 3  # bucket = -point: the bucket empties
_OVERFLOW = 4  # bucket = point (or no room to defer): the XYZZ overflow accumulator takes it


@njit(cache=True)
def _classify(a, p):
    """What bucket a += point p needs (tuples only: no arrays, so no reference counting)."""
    if g1.affine_is_infinity(p):
        return _NOTHING
    if g1.affine_is_infinity(a):
        return _COPY
    if mont.eq(a[0], p[0]):
        return _OVERFLOW if mont.eq(a[1], p[1]) else _CANCEL
    return _CHORD


@njit(cache=True)
def _signed(p, negative):
    """(x, -y) if negative else (x, y); infinity stays (0, 0)."""
    return p[0], g1.fq_cond_neg(p[1], negative)


# The hot loops below index their arrays themselves and call only helpers that take tuples or
# that are straight-line: a Numba helper with several exits that takes arrays gets its arrays'
# reference counts incremented and decremented (atomically) on every call, which costs more than
# the field arithmetic here.


@njit(inline="always")
def _chord(x1, y1, x2, y2, d_inv):
    """(x1, y1) + (x2, y2) for distinct x, given 1 / (x2 - x1)."""
    lam = g1.fq_mul(g1.fq_sub(y2, y1), d_inv)
    x3 = g1.fq_sub(g1.fq_sub(g1.fq_sqr(lam), x1), x2)
    y3 = g1.fq_sub(g1.fq_mul(lam, g1.fq_sub(x1, x3)), y1)
    return x3, y3


@njit(inline="always")
def _row(a, i, k):
    """Coordinate k of the affine point in row i of an (n, 2, 4) array."""
    return a[i, k, 0], a[i, k, 1], a[i, k, 2], a[i, k, 3]


@njit(cache=True)
def _execute(buckets, in_batch, slot_bucket, slot_point, den, prefix, k):
    """bucket[slot_bucket[t]] += slot_point[t] for t < k (distinct buckets, distinct x), with
    one inversion for the k slopes (Montgomery's trick).

    Two interleaved chains (even and odd t) and two chords per step give the out-of-order core
    independent work (one chain of multiplications would run at their latency, not their
    throughput): ~13% faster than one chain."""
    run0 = g1.FQ_ONE
    run1 = g1.FQ_ONE
    half = k >> 1
    for h in range(half):
        t = 2 * h
        mont.store(prefix, t, run0)
        mont.store(prefix, t + 1, run1)
        run0 = g1.fq_mul(run0, mont.load(den, t))
        run1 = g1.fq_mul(run1, mont.load(den, t + 1))
    if k & 1:
        mont.store(prefix, k - 1, run0)
        run0 = g1.fq_mul(run0, mont.load(den, k - 1))
    both = mont.inv(g1.fq_mul(run0, run1), g1.FQ_ONE, FQ_MOD)
    inv0 = g1.fq_mul(both, run1)
    inv1 = g1.fq_mul(both, run0)
    if k & 1:
        t = k - 1
        d_inv = g1.fq_mul(inv0, mont.load(prefix, t))
        inv0 = g1.fq_mul(inv0, mont.load(den, t))
        b = slot_bucket[t]
        x1, y1 = _row(buckets, b, 0), _row(buckets, b, 1)
        x2, y2 = _row(slot_point, t, 0), _row(slot_point, t, 1)
        g1.store_affine(buckets, b, _chord(x1, y1, x2, y2, d_inv))
        in_batch[b] = False
    for h in range(half - 1, -1, -1):
        t = 2 * h
        da = g1.fq_mul(inv0, mont.load(prefix, t))
        db = g1.fq_mul(inv1, mont.load(prefix, t + 1))
        inv0 = g1.fq_mul(inv0, mont.load(den, t))
        inv1 = g1.fq_mul(inv1, mont.load(den, t + 1))
        ba = slot_bucket[t]
        bb = slot_bucket[t + 1]
        x1a, y1a = _row(buckets, ba, 0), _row(buckets, ba, 1)
        x1b, y1b = _row(buckets, bb, 0), _row(buckets, bb, 1)
        x2a, y2a = _row(slot_point, t, 0), _row(slot_point, t, 1)
        x2b, y2b = _row(slot_point, t + 1, 0), _row(slot_point, t + 1, 1)
        # the two chords written side by side (the multiplications are opaque asm blocks, which
        # the compiler keeps in program order)
        lam_a = g1.fq_mul(g1.fq_sub(y2a, y1a), da)
        lam_b = g1.fq_mul(g1.fq_sub(y2b, y1b), db)
        sa = g1.fq_sqr(lam_a)
        sb = g1.fq_sqr(lam_b)
        x3a = g1.fq_sub(g1.fq_sub(sa, x1a), x2a)
        x3b = g1.fq_sub(g1.fq_sub(sb, x1b), x2b)
        y3a = g1.fq_sub(g1.fq_mul(lam_a, g1.fq_sub(x1a, x3a)), y1a)
        y3b = g1.fq_sub(g1.fq_mul(lam_b, g1.fq_sub(x1b, x3b)), y1b)
        for j in range(4):
            buckets[ba, 0, j] = x3a[j]
            buckets[ba, 1, j] = y3a[j]
            buckets[bb, 0, j] = x3b[j]
            buckets[bb, 1, j] = y3b[j]
        in_batch[ba] = False
        in_batch[bb] = False


@njit(cache=True)
def _accumulate_affine(
    points, n_half, half_off, codes, negative, batch, replicas, buckets, ovf, has_ovf
):
    """buckets[r] + ovf[r] = sum of the +-P_i whose digit in this window is +-(b + 1), for row
    r = b * replicas + i mod replicas. Column i of ``codes`` is point row i for i < n_half and
    i + half_off after that (with GLV: the phi(P) rows); the sign of an addition is the digit's
    sign xor negative[i].

    Additions go into a batch of at most ``batch`` distinct rows, done together by
    ``_execute``. One whose row is already in the batch is deferred to a queue (at most
    ``batch`` waiting) and retried, before any new point, after the next execution."""
    n = codes.shape[0]
    in_batch = np.zeros(buckets.shape[0], dtype=np.bool_)
    slot_bucket = np.empty(batch, dtype=np.int64)
    slot_point = np.empty((batch, 2, 4), dtype=np.uint64)  # the signed points
    den = np.empty((batch, 4), dtype=np.uint64)
    prefix = np.empty((batch, 4), dtype=np.uint64)
    # Deferred additions as (i << 16) | code: [retry, retry_end) are retried in this round,
    # [retry_end, queued) were deferred in it; never more than ``batch`` pending.
    queue = np.empty(2 * batch, dtype=np.int64)
    spread = replicas - 1
    k = 0
    i = 0
    retry = 0
    retry_end = 0
    queued = 0
    while True:
        if k == batch or (retry == retry_end and i == n):
            if k == 0 and queued == retry and i == n:
                break
            if k:
                _execute(buckets, in_batch, slot_bucket, slot_point, den, prefix, k)
                k = 0
            pending = queued - retry  # everything pending is retried next, in order
            for t in range(pending):
                queue[t] = queue[retry + t]
            retry = 0
            retry_end = pending
            queued = pending
            continue
        if retry < retry_end:
            entry = queue[retry]
            retry += 1
            idx = entry >> 16
            code = entry & 0xFFFF
        else:
            idx = i
            code = np.int64(codes[i])
            i += 1
            if code == SKIP:
                continue
        b = (code >> 1) * replicas + (idx & spread)
        prow = idx + half_off if idx >= n_half else idx
        sign = (code & 1) ^ np.int64(negative[idx])
        if in_batch[b]:
            if queued - retry < batch:
                queue[queued] = (idx << 16) | code
                queued += 1
                continue
            p = _signed(g1.load_affine(points, prow), sign)
            kind = _OVERFLOW
        else:
            p = _signed(g1.load_affine(points, prow), sign)
            kind = _classify(g1.load_affine(buckets, b), p)
        if kind == _CHORD:
            a_x = (buckets[b, 0, 0], buckets[b, 0, 1], buckets[b, 0, 2], buckets[b, 0, 3])
            mont.store(den, k, g1.fq_sub(p[0], a_x))
            g1.store_affine(slot_point, k, p)
            slot_bucket[k] = b
            in_batch[b] = True
            k += 1
        elif kind == _COPY:
            g1.store_affine(buckets, b, p)
        elif kind == _CANCEL:
            g1.store_affine(buckets, b, g1.AFFINE_INFINITY)
        elif kind == _OVERFLOW:
            cur = g1.load_xyzz(ovf, b) if has_ovf[b] else g1.XYZZ_INFINITY
            g1.store_xyzz(ovf, b, g1.xyzz_add_affine(cur, p))
            has_ovf[b] = True


@njit(cache=True)
def _accumulate_xyzz(points, n_half, half_off, codes, negative, ovf, has_ovf):
    """XYZZ buckets only (mixed additions): for windows with few buckets or few points."""
    for i in range(codes.shape[0]):
        code = np.int64(codes[i])
        if code == SKIP:
            continue
        b = code >> 1
        prow = i + half_off if i >= n_half else i
        p = _signed(g1.load_affine(points, prow), (code & 1) ^ np.int64(negative[i]))
        cur = g1.load_xyzz(ovf, b) if has_ovf[b] else g1.XYZZ_INFINITY
        g1.store_xyzz(ovf, b, g1.xyzz_add_affine(cur, p))
        has_ovf[b] = True


@njit(cache=True)
def _reduce(buckets, ovf, has_ovf, replicas):
    """sum_b (b + 1) * (sum of rows b * replicas .. + replicas - 1) by running sums, in XYZZ."""
    running = g1.XYZZ_INFINITY
    total = g1.XYZZ_INFINITY
    for b in range(buckets.shape[0] // replicas - 1, -1, -1):
        for r in range(b * replicas, (b + 1) * replicas):
            running = g1.xyzz_add_affine(running, g1.load_affine(buckets, r))
            if has_ovf[r]:
                running = g1.xyzz_add(running, g1.load_xyzz(ovf, r))
        total = g1.xyzz_add(total, running)
    return total


@njit(cache=True)
def _window_sum(points, n_half, half_off, codes, negative, nb, replicas, batch):
    rows = nb * replicas
    buckets = np.zeros((rows, 2, 4), dtype=np.uint64)  # all infinity
    ovf = np.empty((rows, 4, 4), dtype=np.uint64)
    has_ovf = np.zeros(rows, dtype=np.bool_)
    if batch:
        _accumulate_affine(
            points, n_half, half_off, codes, negative, batch, replicas, buckets, ovf, has_ovf
        )
    else:
        _accumulate_xyzz(points, n_half, half_off, codes, negative, ovf, has_ovf)
    return _reduce(buckets, ovf, has_ovf, replicas)


@njit(parallel=True, cache=True)
def window_sums_m(points, n_half, half_off, codes, negative, plan, plan_top, out):
    """out[j] = sum_i d_ij P_i (XYZZ) for every window j, windows in parallel. A plan is
    (buckets, replicas, batch); ``plan_top`` is the top window's. Points and signs as in
    ``_accumulate_affine``."""
    w = codes.shape[0]
    for j in prange(w):
        nb, replicas, batch = plan_top if j == w - 1 else plan
        total = _window_sum(points, n_half, half_off, codes[j], negative, nb, replicas, batch)
        g1.store_xyzz(out, j, total)


# --- bucket accumulation with AVX-512 IFMA (eight lanes) ----------------------------------------
# The same batch-affine accumulation, with the batch's work done eight slots at a time by
# prover.field.ifma (radix 2^52, Montgomery form x * 2^260 mod p, "M52"). Points and buckets are
# kept in that form as rows of 16 uint64: x in words 0..4, y in words 8..12, the rest zero; a
# coordinate is one 64-byte line. x is canonical (< p) so that it can be compared; a bucket's y
# is only kept below 4p (one conditional subtraction a chord instead of two), and the scalar
# code reduces it when it reads it. A bucket of zeros is infinity (x = 0 is on no curve point: 3
# is not a square mod p), and so is a point of zeros.
#
# The scalar loop only routes additions: it picks each one's bucket row, defers it when the row
# is already in the batch, and records (row, point row, sign) in the batch's slot. The vector
# kernels do the rest, eight slots (a group) at a time: they load the eight bucket and point
# rows and transpose them into lanes, classify each lane (chord; empty bucket: copy the point;
# point at infinity: keep the bucket; same x: keep the bucket and flag the lane), chain the
# denominators (Montgomery's trick; a lane that is no chord chains 1), and after the one
# inversion, walk back computing the chords and transposing the results into the bucket rows. A
# flagged lane (P + P or P + (-P): rare) is finished by the scalar code afterwards: P + P goes to
# the XYZZ overflow accumulator in prover.field.mont's form, P + (-P) empties the bucket.
#
# A kernel call takes _WAYS = 2 groups, one chain of products each (16 chains in all, inverted
# together), so that two independent multiplications are always in flight (1 or 4 groups a call
# measured 4-6% slower). Per group the scratch array ((rows, 8) uint64) holds the denominators
# and the prefix products (five rows each) and the lanes' kinds; the backward kernel reloads and
# transposes the rows again rather than keeping them there (a smaller scratch, measured faster).
# The windows of a window group (those one thread owns) share one bucket array and one stream
# of batches, the windows of each point routed one after the other: the point's row is read
# once, and batches fill with few conflicts (different windows never conflict). Bucket rows are
# prefetched into L2 when they enter a batch. At 2^16 points (GLV, c = 13) a bucket addition
# costs ~50 ns a point against ~150 ns for the scalar batch-affine kernel (one thread).

_GR = 11  # scratch rows per group of eight slots
_DEN, _PRE, _KIND = 0, 5, 10
_K_CHORD, _K_COPY, _K_KEEP, _K_SAME = 0, 1, 2, 3
_WAYS = 2  # groups per kernel call, one chain of products each
_SPAN = 8 * _WAYS  # slots per kernel call
_RUN, _INV = 0, 5 * _WAYS  # state rows after the groups: chain w's product at _RUN + 5 w, ...
_STATE_ROWS = 10 * _WAYS
ROW_WORDS = 16  # an M52 point or bucket row: x in words 0..4, y in 8..12
IFMA_BATCH = 2048  # slots per inversion (a multiple of _SPAN)
IFMA_SMALL_BATCH = 256  # for MSMs whose scalar plan would be XYZZ buckets (measured 2x faster)
IFMA_MIN_POINTS = 512  # (GLV) points below which XYZZ buckets stay
IFMA_GROUP_ROWS = 1 << 16  # bucket rows (128 B each) a window group may have, about
PREFETCH = True
IFMA = ifma.HAVE_IFMA  # use this path (tests switch it off to test the scalar one)
_FQ52 = ifma.FQ52
_ONE52 = tuple(np.uint64(v) for v in ifma.to_limbs52(_FQ52.to_m52(1)))
# 2^264 mod p: mont.mul(x, 2^264) = 2^8 x, which takes an inverse from mont's form to M52's.
_TWO_264 = tuple(np.uint64(v) for v in params.to_limbs((1 << 264) % params.P))
_I64 = ir.IntType(64)


class _Kernel:
    """IR helpers for one intrinsic call: array data pointers and row access."""

    def __init__(self, context, builder, sig, args):
        self.context, self.builder = context, builder
        self.arrays = [
            context.make_array(ty)(context, builder, a) if isinstance(ty, types.Array) else a
            for ty, a in zip(sig.args, args, strict=True)
        ]

    def const(self, v):
        return ir.Constant(_I64, v)

    def rows(self, arr, row, count=ifma.LIMBS):
        """<8 x i64>* pointers to rows row .. row + count - 1 of a (rows, 8) array."""
        base = self.builder.bitcast(self.arrays[arr].data, _I64.as_pointer())
        out = []
        for j in range(count):
            off = self.builder.mul(self.builder.add(row, self.const(j)), self.const(8))
            ptr = self.builder.gep(base, [off])
            out.append(self.builder.bitcast(ptr, ifma._V8.as_pointer()))
        return out

    def word(self, arr, index):
        """Element ``index`` of a 1-d int64/uint64 array."""
        base = self.builder.bitcast(self.arrays[arr].data, _I64.as_pointer())
        return self.builder.load(self.builder.gep(base, [index]))

    def line(self, arr, row, word):
        """<8 x i64>* to words word .. word + 7 of row ``row`` of an (n, 16) array."""
        base = self.builder.bitcast(self.arrays[arr].data, _I64.as_pointer())
        off = self.builder.add(self.builder.mul(row, self.const(ROW_WORDS)), self.const(word))
        return self.builder.bitcast(self.builder.gep(base, [off]), ifma._V8.as_pointer())


def _c_arrays(*tys) -> bool:
    """Whether the intrinsics' array arguments are C-contiguous 64-bit arrays (they index the
    raw data)."""
    return all(
        isinstance(t, types.Array) and t.layout == "C" and t.dtype in (types.uint64, types.int64)
        for t in tys
    )


def _all_zero(builder, limbs):
    acc = limbs[0]
    for v in limbs[1:]:
        acc = builder.or_(acc, v)
    return builder.icmp_unsigned("==", acc, ifma.splat(0))


def _all_equal(builder, a, b):
    acc = builder.xor(a[0], b[0])
    for x, y in zip(a[1:], b[1:], strict=True):
        acc = builder.or_(acc, builder.xor(x, y))
    return builder.icmp_unsigned("==", acc, ifma.splat(0))


def _load_lanes(k, group):
    """The bucket and point rows of group ``group``'s eight slots, transposed into lanes:
    (x1, y1, x2, y2, sign). Arrays: 0 scratch, 1 buckets, 2 points, 3 slot_row, 4 slot_prow,
    5 slot_sign."""
    b = k.builder
    slot0 = b.mul(group, k.const(8))
    out = []
    for arr, idx_arr in ((1, 3), (2, 4)):
        rows = [k.word(idx_arr, b.add(slot0, k.const(lane))) for lane in range(8)]
        xs = [b.load(k.line(arr, r, 0), align=8) for r in rows]
        ys = [b.load(k.line(arr, r, 8), align=8) for r in rows]
        out += [ifma.transpose8(b, xs)[: ifma.LIMBS], ifma.transpose8(b, ys)[: ifma.LIMBS]]
    sign_base = b.bitcast(k.arrays[5].data, _I64.as_pointer())
    sign_ptr = b.bitcast(b.gep(sign_base, [slot0]), ifma._V8.as_pointer())
    sign = b.icmp_unsigned("!=", b.load(sign_ptr, align=8), ifma.splat(0))
    return (*out, sign)


def _forward_group(k, group, run):
    """Classify group ``group``'s lanes and chain their denominators: returns the chain's new
    running product and the scratch rows to store (den, prefix, kind)."""
    b = k.builder
    x1, _, x2, _, _ = _load_lanes(k, group)
    empty = _all_zero(b, x1)
    infinity = _all_zero(b, x2)
    same = b.and_(_all_equal(b, x1, x2), b.not_(infinity))
    chord = b.not_(b.or_(b.or_(empty, infinity), same))
    kind = b.select(empty, ifma.splat(_K_COPY), ifma.splat(_K_CHORD))
    kind = b.select(same, ifma.splat(_K_SAME), kind)
    kind = b.select(infinity, ifma.splat(_K_KEEP), kind)
    den = ifma.select(b, chord, ifma.sub(b, _FQ52, x2, x1, 2), [ifma.splat(v) for v in _ONE52])
    new_run = ifma.mul(b, _FQ52, run, den)
    return new_run, b.mul(group, k.const(_GR)), [(_DEN, den), (_PRE, run)], kind


def _call_groups(k, call):
    """The _WAYS groups of kernel call ``call``: call * _WAYS + w."""
    first = k.builder.mul(call, k.const(_WAYS))
    return [k.builder.add(first, k.const(w)) for w in range(_WAYS)]


@intrinsic
def _ifma_forward(typingctx, s, buckets, points, slot_row, slot_prow, slot_sign, call, st):
    """Forward step for the _WAYS groups of kernel call ``call`` (group w on chain w)."""

    def codegen(context, builder, sig, args):
        k = _Kernel(context, builder, sig, args)
        call_, st_ = args[6], args[7]
        run_ptrs = [k.rows(0, builder.add(st_, k.const(_RUN + 5 * w))) for w in range(_WAYS)]
        runs = [ifma.load(builder, p) for p in run_ptrs]
        groups = _call_groups(k, call_)
        out = [_forward_group(k, g, run) for g, run in zip(groups, runs, strict=True)]
        for (new_run, base, stores, kind), ptrs in zip(out, run_ptrs, strict=True):
            for off, val in stores:
                ifma.store(builder, k.rows(0, builder.add(base, k.const(off))), val)
            builder.store(kind, k.rows(0, builder.add(base, k.const(_KIND)), 1)[0], align=8)
            ifma.store(builder, ptrs, new_run)
        return context.get_dummy_value()

    if not _c_arrays(s, buckets, points, slot_row, slot_prow, slot_sign):
        return None
    return types.void(
        s, buckets, points, slot_row, slot_prow, slot_sign, types.intp, types.intp
    ), codegen


def _backward_group(k, group, inv):
    """Chords of group ``group`` (walked backwards): returns the eight result rows' x and y
    lines and the chain's next inverse."""
    b = k.builder
    f = _FQ52
    base = b.mul(group, k.const(_GR))
    load = {off: ifma.load(b, k.rows(0, b.add(base, k.const(off)))) for off in (_DEN, _PRE)}
    kind = b.load(k.rows(0, b.add(base, k.const(_KIND)), 1)[0], align=8)
    x1, y1, x2, y2, sign = _load_lanes(k, group)
    d_inv = ifma.mul(b, f, inv, load[_PRE])  # 1 / den
    inv_next = ifma.mul(b, f, inv, load[_DEN])
    y2s = ifma.select(b, sign, ifma.sub(b, f, [ifma.splat(0)] * ifma.LIMBS, y2, 1), y2)
    lam = ifma.mul(b, f, ifma.sub(b, f, y2s, y1, 4), d_inv)  # y1 < 4p
    lam2 = ifma.sqr(b, f, lam, normalized=False)  # only subtracted from: limbs may stay wide
    x3 = ifma.sub(b, f, ifma.sub(b, f, lam2, x1, 1), x2, 1)  # < 4p
    x3 = ifma.canonical(b, f, x3, 4)  # x is compared: canonical
    v = ifma.mul(b, f, lam, ifma.sub(b, f, x1, x3, 1), normalized=False)
    y3 = ifma.cond_sub(b, f, ifma.sub(b, f, v, y1, 4), 4)  # < 6p, then < 4p
    is_copy = b.icmp_unsigned("==", kind, ifma.splat(_K_COPY))
    is_keep = b.icmp_unsigned(">=", kind, ifma.splat(_K_KEEP))
    x3 = ifma.select(b, is_keep, x1, ifma.select(b, is_copy, x2, x3))
    y3 = ifma.select(b, is_keep, y1, ifma.select(b, is_copy, y2s, y3))
    zero = ifma.splat(0)
    pad = [zero] * (8 - ifma.LIMBS)
    return ifma.transpose8(b, x3 + pad), ifma.transpose8(b, y3 + pad), inv_next


@intrinsic
def _ifma_backward(typingctx, s, buckets, points, slot_row, slot_prow, slot_sign, call, st):
    """Backward step for the _WAYS groups of kernel call ``call``: the chords, written into the
    bucket rows; the chains' inverses updated."""

    def codegen(context, builder, sig, args):
        k = _Kernel(context, builder, sig, args)
        call_, st_ = args[6], args[7]
        inv_ptrs = [k.rows(0, builder.add(st_, k.const(_INV + 5 * w))) for w in range(_WAYS)]
        invs = [ifma.load(builder, p) for p in inv_ptrs]
        groups = _call_groups(k, call_)
        out = [_backward_group(k, g, inv) for g, inv in zip(groups, invs, strict=True)]
        for g, (xs, ys, inv_next), ptrs in zip(groups, out, inv_ptrs, strict=True):
            slot0 = builder.mul(g, k.const(8))
            for lane in range(8):
                row = k.word(3, builder.add(slot0, k.const(lane)))
                builder.store(xs[lane], k.line(1, row, 0), align=8)
                builder.store(ys[lane], k.line(1, row, 8), align=8)
            ifma.store(builder, ptrs, inv_next)
        return context.get_dummy_value()

    if not _c_arrays(s, buckets, points, slot_row, slot_prow, slot_sign):
        return None
    return types.void(
        s, buckets, points, slot_row, slot_prow, slot_sign, types.intp, types.intp
    ), codegen


@intrinsic
def _prefetch_row(typingctx, arr, row):
    """Prefetch both lines of row ``row`` of an (n, 16) array into L2 (the batch's rows are read
    a batch later, by the vector kernels)."""

    def codegen(context, builder, sig, args):
        k = _Kernel(context, builder, sig, args)
        i8p = ir.IntType(8).as_pointer()
        i32 = ir.IntType(32)
        fnty = ir.FunctionType(ir.VoidType(), [i8p, i32, i32, i32])
        fn = cgutils.get_or_insert_function(builder.module, fnty, "llvm.prefetch.p0")
        for word in (0, 8):
            ptr = builder.bitcast(k.line(0, args[1], word), i8p)
            builder.call(fn, [ptr, ir.Constant(i32, 0), ir.Constant(i32, 2), ir.Constant(i32, 1)])
        return context.get_dummy_value()

    return (types.void(arr, types.intp), codegen) if _c_arrays(arr) else None


@njit(cache=True)
def _invert_chains(s, st):
    """The 8 _WAYS chain products (state rows _RUN...) -> their inverses (rows _INV...), with one
    field inversion (Montgomery's trick) in prover.field.mont's form.

    A lane value V = x 2^260 read as a mont element is u = V / 2^256; mont's inverse of u is
    2^512 / V, and 2^8 times that is 2^520 / V = x^-1 2^260, the M52 form of 1 / x."""
    vals = np.empty((_SPAN, 4), dtype=np.uint64)
    pre = np.empty((_SPAN, 4), dtype=np.uint64)
    acc = g1.FQ_ONE
    for c in range(_SPAN):
        r = st + _RUN + 5 * (c >> 3)
        lane = c & 7
        v = ifma.join52(
            (s[r, lane], s[r + 1, lane], s[r + 2, lane], s[r + 3, lane], s[r + 4, lane])
        )
        v = mont.reduce_once(v[0], v[1], v[2], v[3], FQ_MOD)
        mont.store(vals, c, v)
        mont.store(pre, c, acc)
        acc = g1.fq_mul(acc, v)
    inv = mont.inv(acc, g1.FQ_ONE, FQ_MOD)
    for c in range(_SPAN - 1, -1, -1):
        w = g1.fq_mul(g1.fq_mul(inv, mont.load(pre, c)), _TWO_264)
        inv = g1.fq_mul(inv, mont.load(vals, c))
        r = st + _INV + 5 * (c >> 3)
        lane = c & 7
        limbs = ifma.split52(w)
        for j in range(5):
            s[r + j, lane] = limbs[j]


@njit(inline="always")
def _coord52(a, row, word):
    return a[row, word], a[row, word + 1], a[row, word + 2], a[row, word + 3], a[row, word + 4]


@njit(cache=True)
def _point52(points, prow, negative):
    """Row prow of an M52 point array in prover.field.mont's affine form, y negated if
    ``negative`` (infinity: (0, 0))."""
    x = _coord52(points, prow, 0)
    if (x[0] | x[1] | x[2] | x[3] | x[4]) == 0:
        return g1.AFFINE_INFINITY
    y = ifma.fq_from_m52(_coord52(points, prow, 8))
    return ifma.fq_from_m52(x), g1.fq_cond_neg(y, negative)


@njit(cache=True)
def _ifma_execute(s, k, buckets, points, slot_row, slot_prow, slot_sign, ovf, has_ovf, in_batch):
    """bucket[slot_row[t]] += +-point[slot_prow[t]] for t < k (distinct rows)."""
    calls = (k + _SPAN - 1) // _SPAN
    st = calls * _WAYS * _GR
    dummy = buckets.shape[0] - 1  # padding lanes read and write this row
    for t in range(k, calls * _SPAN):
        slot_row[t] = dummy
        slot_prow[t] = 0
        slot_sign[t] = 0
    for w in range(_WAYS):
        for c in range(5):
            for lane in range(8):
                s[st + _RUN + 5 * w + c, lane] = _ONE52[c]
    for h in range(calls):
        _ifma_forward(s, buckets, points, slot_row, slot_prow, slot_sign, h, st)
    _invert_chains(s, st)
    for h in range(calls - 1, -1, -1):
        _ifma_backward(s, buckets, points, slot_row, slot_prow, slot_sign, h, st)
    for t in range(k):
        row = slot_row[t]
        in_batch[row] = False
        if s[(t >> 3) * _GR + _KIND, t & 7] == _K_SAME:  # P + P or P + (-P), in mont's form
            p = _point52(points, slot_prow[t], slot_sign[t])
            if mont.eq(ifma.fq_from_m52(_coord52(buckets, row, 8)), p[1]):
                cur = g1.load_xyzz(ovf, row) if has_ovf[row] else g1.XYZZ_INFINITY
                g1.store_xyzz(ovf, row, g1.xyzz_add_affine(cur, p))
                has_ovf[row] = True
            else:
                for j in range(ROW_WORDS):
                    buckets[row, j] = 0


@njit(cache=True)
def _aligned(rows, cols):
    """An uninitialised (rows, cols) uint64 array starting on a 64-byte boundary."""
    flat = np.empty(rows * cols + 8, dtype=np.uint64)
    start = ((64 - flat.ctypes.data % 64) % 64) // 8
    return flat[start : start + rows * cols].reshape((rows, cols))


@njit(cache=True)
def _accumulate_ifma(
    points, n_half, half_off, codes, negative, w0, nw, offs, reps, batch, buckets, ovf, has_ovf
):
    """Batch-affine accumulation of windows w0 .. w0 + nw - 1 into one bucket array (window jj's
    rows start at offs[jj]: row = offs[jj] + b * reps[jj] + i mod reps[jj]; the last row is the
    padding lanes' scratch row), eight slots per IFMA operation, one inversion per ``batch``
    slots. Column i of ``codes`` is point row i for i < n_half and i + half_off after that (the
    GLV half: phi(P) rows); the sign of an addition is the digit's sign xor negative[i]. The
    windows of one point are routed one after the other, so its row is read once."""
    m = codes.shape[1]
    in_batch = np.zeros(buckets.shape[0], dtype=np.bool_)
    s = _aligned(batch // 8 * _GR + _STATE_ROWS, 8)
    slot_row = np.empty(batch, dtype=np.int64)
    slot_prow = np.empty(batch, dtype=np.int64)
    slot_sign = np.empty(batch, dtype=np.uint64)
    queue = np.empty(2 * batch, dtype=np.int64)  # (i << 24) | (jj << 16) | code
    k = 0
    i = 0
    jj = 0
    retry = 0
    retry_end = 0
    queued = 0
    while True:
        if k == batch or (retry == retry_end and i == m):
            if k == 0 and queued == retry and i == m:
                break
            if k:
                _ifma_execute(
                    s, k, buckets, points, slot_row, slot_prow, slot_sign, ovf, has_ovf, in_batch
                )
                k = 0
            pending = queued - retry
            for t in range(pending):
                queue[t] = queue[retry + t]
            retry = 0
            retry_end = pending
            queued = pending
            continue
        if retry < retry_end:
            entry = queue[retry]
            retry += 1
            idx = entry >> 24
            w = (entry >> 16) & 0xFF
            code = entry & 0xFFFF
        else:
            idx = i
            w = jj
            code = np.int64(codes[w0 + jj, i])
            jj += 1
            if jj == nw:
                jj = 0
                i += 1
            if code == SKIP:
                continue
        rep = reps[w]
        row = offs[w] + (code >> 1) * rep + (idx & (rep - 1))
        prow = idx + half_off if idx >= n_half else idx
        sign = (code & 1) ^ np.int64(negative[idx])
        if in_batch[row]:
            if queued - retry < batch:
                queue[queued] = (idx << 24) | (w << 16) | code
                queued += 1
                continue
            # no room to defer: into the row's XYZZ overflow accumulator
            p = _point52(points, prow, sign)
            cur = g1.load_xyzz(ovf, row) if has_ovf[row] else g1.XYZZ_INFINITY
            g1.store_xyzz(ovf, row, g1.xyzz_add_affine(cur, p))
            has_ovf[row] = True
            continue
        slot_row[k] = row
        slot_prow[k] = prow
        slot_sign[k] = sign
        in_batch[row] = True
        if PREFETCH:
            _prefetch_row(buckets, row)
        k += 1


@njit(cache=True)
def _buckets_from_m52(b52, lo, hi, out):
    """Rows lo .. hi - 1 of an M52 bucket array -> (hi - lo, 2, 4) affine in mont's form."""
    for r in range(lo, hi):
        t = r - lo
        x = _coord52(b52, r, 0)
        if (x[0] | x[1] | x[2] | x[3] | x[4]) == 0:
            g1.store_affine(out, t, g1.AFFINE_INFINITY)
            continue
        g1.store_affine(out, t, (ifma.fq_from_m52(x), ifma.fq_from_m52(_coord52(b52, r, 8))))


# --- bucket reduction with IFMA ----------------------------------------------------------------
# The running sums of a window, eight at a time: lane l reduces buckets [l nb/8, (l + 1) nb/8)
# in XYZZ coordinates (M52 form, values kept below 4p or 2p between steps, see prover.field.ifma),
# giving T_l = sum_b (b - lo_l + 1) B_b and S_l = sum_b B_b over its segment; the window sum is
# sum_l T_l + lo_l S_l, finished in prover.field.mont's form. Points at infinity are handled by
# selects; a step that meets P = Q or P = -Q (equal x: possible only for crafted inputs) sets the
# lane's flag and the window is reduced again by the scalar code.

_RX, _RY, _RZZ, _RZZZ = 0, 5, 10, 15  # running sum: X, Y, ZZ, ZZZ (state rows)
_TX = 20  # total: X, Y, ZZ, ZZZ from row 20
_FLAG = 40
_RED_ROWS = 41


def _zero_mod_p(b, a, bound):
    return _all_zero(b, ifma.canonical(b, _FQ52, a, bound))


def _xyzz_madd_ir(b, run, x2, y2):
    """run + (x2, y2) (madd-2008-s) on lanes: run's X, Y < 4p and ZZ, ZZZ < 2p (so is the
    result); (x2, y2) canonical, zeros for infinity. Returns (result, equal-x flag)."""
    f = _FQ52
    X1, Y1, ZZ1, ZZZ1 = run
    P = ifma.sub(b, f, ifma.mul(b, f, x2, ZZ1), X1, 4)  # < 6p
    R = ifma.sub(b, f, ifma.mul(b, f, y2, ZZZ1), Y1, 4)
    PP = ifma.sqr(b, f, P)
    PPP = ifma.mul(b, f, P, PP)
    Q = ifma.mul(b, f, X1, PP)
    t = ifma.add(b, PPP, ifma.add(b, Q, Q))  # < 6p
    X3 = ifma.cond_sub(b, f, ifma.sub(b, f, ifma.sqr(b, f, R), t, 6), 4)  # < 4p
    Y3 = ifma.sub(b, f, ifma.mul(b, f, R, ifma.sub(b, f, Q, X3, 4)), ifma.mul(b, f, Y1, PPP), 2)
    res = [X3, Y3, ifma.mul(b, f, ZZ1, PP), ifma.mul(b, f, ZZZ1, PPP)]
    q_inf = _all_zero(b, x2)
    p_inf = _all_zero(b, ZZ1)
    one = [ifma.splat(v) for v in _ONE52]
    res = [ifma.select(b, p_inf, a, c) for a, c in zip((x2, y2, one, one), res, strict=True)]
    res = [ifma.select(b, q_inf, a, c) for a, c in zip(run, res, strict=True)]
    same = b.and_(_zero_mod_p(b, P, 8), b.not_(b.or_(q_inf, p_inf)))
    return res, same


def _xyzz_add_ir(b, p1, p2):
    """p1 + p2 (add-2008-s) on lanes, both with X, Y < 4p and ZZ, ZZZ < 2p (so is the result).
    Returns (result, equal-x flag)."""
    f = _FQ52
    X1, Y1, ZZ1, ZZZ1 = p1
    X2, Y2, ZZ2, ZZZ2 = p2
    U1 = ifma.mul(b, f, X1, ZZ2)
    S1 = ifma.mul(b, f, Y1, ZZZ2)
    P = ifma.sub(b, f, ifma.mul(b, f, X2, ZZ1), U1, 2)  # < 4p
    R = ifma.sub(b, f, ifma.mul(b, f, Y2, ZZZ1), S1, 2)
    PP = ifma.sqr(b, f, P)
    PPP = ifma.mul(b, f, P, PP)
    Q = ifma.mul(b, f, U1, PP)
    t = ifma.add(b, PPP, ifma.add(b, Q, Q))
    X3 = ifma.cond_sub(b, f, ifma.sub(b, f, ifma.sqr(b, f, R), t, 6), 4)
    Y3 = ifma.sub(b, f, ifma.mul(b, f, R, ifma.sub(b, f, Q, X3, 4)), ifma.mul(b, f, S1, PPP), 2)
    ZZ3 = ifma.mul(b, f, ifma.mul(b, f, ZZ1, ZZ2), PP)
    ZZZ3 = ifma.mul(b, f, ifma.mul(b, f, ZZZ1, ZZZ2), PPP)
    inf1 = _all_zero(b, ZZ1)
    inf2 = _all_zero(b, ZZ2)
    res = [X3, Y3, ZZ3, ZZZ3]
    res = [ifma.select(b, inf1, a, c) for a, c in zip(p2, res, strict=True)]
    res = [ifma.select(b, inf2, a, c) for a, c in zip(p1, res, strict=True)]
    same = b.and_(_zero_mod_p(b, P, 4), b.not_(b.or_(inf1, inf2)))
    return res, same


def _state(k, first):
    return [k.rows(0, k.const(first + 5 * c)) for c in range(4)]


def _or_flag(k, same):
    ptr = k.rows(0, k.const(_FLAG), 1)[0]
    b = k.builder
    b.store(b.or_(b.load(ptr, align=8), b.zext(same, ifma._V8)), ptr, align=8)


@intrinsic
def _red_madd(typingctx, st, buckets, first_row, lane_stride):
    """running += bucket row first_row + l lane_stride, in lane l."""

    def codegen(context, builder, sig, args):
        k = _Kernel(context, builder, sig, args)
        run_ptrs = _state(k, _RX)
        run = [ifma.load(builder, p) for p in run_ptrs]
        rows = [builder.add(args[2], builder.mul(args[3], k.const(lane))) for lane in range(8)]
        x2 = ifma.transpose8(builder, [builder.load(k.line(1, r, 0), align=8) for r in rows])
        y2 = ifma.transpose8(builder, [builder.load(k.line(1, r, 8), align=8) for r in rows])
        res, same = _xyzz_madd_ir(builder, run, x2[: ifma.LIMBS], y2[: ifma.LIMBS])
        for p, v in zip(run_ptrs, res, strict=True):
            ifma.store(builder, p, v)
        _or_flag(k, same)
        return context.get_dummy_value()

    if not _c_arrays(st, buckets):
        return None
    return types.void(st, buckets, types.intp, types.intp), codegen


@intrinsic
def _red_add(typingctx, st):
    """total += running, in every lane."""

    def codegen(context, builder, sig, args):
        k = _Kernel(context, builder, sig, args)
        run = [ifma.load(builder, p) for p in _state(k, _RX)]
        tot_ptrs = _state(k, _TX)
        tot = [ifma.load(builder, p) for p in tot_ptrs]
        res, same = _xyzz_add_ir(builder, tot, run)
        for p, v in zip(tot_ptrs, res, strict=True):
            ifma.store(builder, p, v)
        _or_flag(k, same)
        return context.get_dummy_value()

    return (types.void(st), codegen) if _c_arrays(st) else None


@intrinsic
def _red_canonical(typingctx, st):
    """The state's coordinates made canonical (< p), for the scalar code."""

    def codegen(context, builder, sig, args):
        k = _Kernel(context, builder, sig, args)
        for first in (_RX, _TX):
            for p in _state(k, first):
                ifma.store(builder, p, ifma.canonical(builder, _FQ52, ifma.load(builder, p), 4))
        return context.get_dummy_value()

    return (types.void(st), codegen) if _c_arrays(st) else None


@njit(inline="always")
def _lane_xyzz(st, first, lane):
    """Lane ``lane`` of an XYZZ state block (canonical M52) in prover.field.mont's form."""
    return (
        ifma.fq_from_m52(_coord_lane(st, first, lane)),
        ifma.fq_from_m52(_coord_lane(st, first + 5, lane)),
        ifma.fq_from_m52(_coord_lane(st, first + 10, lane)),
        ifma.fq_from_m52(_coord_lane(st, first + 15, lane)),
    )


@njit(inline="always")
def _coord_lane(st, r, lane):
    return st[r, lane], st[r + 1, lane], st[r + 2, lane], st[r + 3, lane], st[r + 4, lane]


@njit(cache=True)
def _xyzz_mul_small(p, e):
    """e P for 0 <= e < 2^62 (double-and-add, XYZZ)."""
    top = 0
    while (e >> top) > 1:
        top += 1
    acc = g1.XYZZ_INFINITY
    for bit in range(top, -1, -1):
        acc = g1.xyzz_double(acc)
        if (e >> bit) & 1:
            acc = g1.xyzz_add(acc, p)
    return acc


@njit(cache=True)
def _reduce_ifma(buckets, lo, nb, rep, ovf, has_ovf):
    """sum_b (b + 1) * (rows lo + b rep .. + rep - 1 of the M52 bucket array) as XYZZ in mont's
    form; rows with an overflow accumulator are folded into their bucket first. Needs nb a
    multiple of 8."""
    hi = lo + nb * rep
    for r in range(lo, hi):
        if has_ovf[r]:  # rare: bucket + overflow, back into the affine M52 row
            x = _coord52(buckets, r, 0)
            if (x[0] | x[1] | x[2] | x[3] | x[4]) == 0:
                a = g1.AFFINE_INFINITY
            else:
                a = (ifma.fq_from_m52(x), ifma.fq_from_m52(_coord52(buckets, r, 8)))
            total = g1.xyzz_to_affine(g1.xyzz_add_affine(g1.load_xyzz(ovf, r), a))
            xs = ifma.fq_to_m52(total[0])
            ys = ifma.fq_to_m52(total[1])
            for j in range(5):
                buckets[r, j] = xs[j]
                buckets[r, 8 + j] = ys[j]
            has_ovf[r] = False
    st = _aligned(_RED_ROWS, 8)
    st[:] = 0  # running and total at infinity (ZZ = 0), flags clear
    seg = nb // 8
    stride = seg * rep
    for t in range(seg):
        first = lo + (seg - 1 - t) * rep
        for r in range(rep):
            _red_madd(st, buckets, first + r, stride)
        _red_add(st)
    flagged = False
    for lane in range(8):
        if st[_FLAG, lane]:
            flagged = True
    if flagged:  # an equal-x step (crafted input): the scalar reduction handles every case
        aff = np.empty((nb * rep, 2, 4), dtype=np.uint64)
        _buckets_from_m52(buckets, lo, hi, aff)
        return _reduce(aff, ovf[lo:hi], has_ovf[lo:hi], rep)
    _red_canonical(st)
    acc = g1.XYZZ_INFINITY
    for lane in range(8):
        acc = g1.xyzz_add(acc, _lane_xyzz(st, _TX, lane))
        if lane:
            acc = g1.xyzz_add(acc, _xyzz_mul_small(_lane_xyzz(st, _RX, lane), lane * seg))
    return acc


@njit(cache=True)
def _window_group_ifma(
    points, n_half, half_off, codes, negative, w0, nw, plan, plan_top, batch, out
):
    w_all = codes.shape[0]
    offs = np.empty(nw, dtype=np.int64)
    reps = np.empty(nw, dtype=np.int64)
    nbs = np.empty(nw, dtype=np.int64)
    rows = 0
    for jj in range(nw):
        nb, rep, _ = plan_top if w0 + jj == w_all - 1 else plan
        offs[jj] = rows
        reps[jj] = rep
        nbs[jj] = nb
        rows += nb * rep
    buckets = _aligned(rows + 1, ROW_WORDS)
    buckets[:] = 0
    ovf = np.empty((rows + 1, 4, 4), dtype=np.uint64)
    has_ovf = np.zeros(rows + 1, dtype=np.bool_)
    _accumulate_ifma(
        points, n_half, half_off, codes, negative, w0, nw, offs, reps, batch, buckets, ovf, has_ovf
    )
    for jj in range(nw):
        lo = offs[jj]
        if nbs[jj] % 8 == 0:
            total = _reduce_ifma(buckets, lo, nbs[jj], reps[jj], ovf, has_ovf)
        else:
            hi = lo + nbs[jj] * reps[jj]
            aff = np.empty((hi - lo, 2, 4), dtype=np.uint64)
            _buckets_from_m52(buckets, lo, hi, aff)
            total = _reduce(aff, ovf[lo:hi], has_ovf[lo:hi], reps[jj])
        g1.store_xyzz(out, w0 + jj, total)


@njit(parallel=True, cache=True)
def window_sums_ifma_m(
    points, n_half, half_off, codes, negative, plan, plan_top, group, batch, out
):
    """``window_sums_m`` on M52 point rows (see ``_accumulate_ifma``): windows in groups of
    ``group`` sharing a bucket array and its batches, groups in parallel. ``points``: C-contiguous
    (N, ROW_WORDS) M52 rows (``points_to_m52``); ``batch`` a positive multiple of 16."""
    if points.shape[1] != ROW_WORDS or batch <= 0 or batch % _SPAN:
        raise ValueError("window_sums_ifma_m: points must be (N, 16) rows, batch a multiple of 16")
    w = codes.shape[0]
    groups = (w + group - 1) // group
    for gi in prange(groups):
        w0 = gi * group
        _window_group_ifma(
            points,
            n_half,
            half_off,
            codes,
            negative,
            w0,
            min(group, w - w0),
            plan,
            plan_top,
            batch,
            out,
        )


@njit(parallel=True, cache=True)
def points_to_m52(points, glv, out):
    """out[i] = P_i and, with ``glv``, out[n + i] = phi(P_i) = (beta x_i, y_i), as M52 rows
    ((N, 16) uint64: x in words 0..4, y in 8..12, zeros elsewhere; infinity is all zeros)."""
    n = points.shape[0]
    if out.shape[1] != ROW_WORDS or out.shape[0] < (2 * n if glv else n):
        raise ValueError("points_to_m52: out must be (n or 2n, 16)")
    for i in prange(n):
        x, y = g1.load_affine(points, i)
        xs = ifma.fq_to_m52(x)
        ys = ifma.fq_to_m52(y)
        for j in range(ROW_WORDS):
            out[i, j] = 0
        for j in range(5):
            out[i, j] = xs[j]
            out[i, 8 + j] = ys[j]
        if glv:
            ps = ifma.fq_to_m52(g1.fq_mul(x, g1.GLV_BETA_M))
            for j in range(ROW_WORDS):
                out[n + i, j] = 0
            for j in range(5):
                out[n + i, j] = ps[j]
                out[n + i, 8 + j] = ys[j]


@njit(cache=True)
def combine_windows(sums, c):
    """sum_j 2^(c j) sums[j] by Horner's rule, as an affine tuple."""
    acc = g1.XYZZ_INFINITY
    for j in range(sums.shape[0] - 1, -1, -1):
        for _ in range(c):
            acc = g1.xyzz_double(acc)
        acc = g1.xyzz_add(acc, g1.load_xyzz(sums, j))
    return g1.xyzz_to_affine(acc)


# --- Python API -----------------------------------------------------------------------------------


def check_scalars(scalars: np.ndarray, n: int | None = None, name: str = "scalars_m") -> None:
    """ValueError unless scalars is a C-contiguous (n, 4) uint64 array (any n if None) of
    canonical Fr elements (every row, Montgomery form or not, < r)."""
    if (
        not isinstance(scalars, np.ndarray)
        or scalars.dtype != np.uint64
        or scalars.ndim != 2
        or scalars.shape[1] != 4
    ):
        raise ValueError(
            f"{name} must be an (n, 4) uint64 array of Fr elements, got "
            f"{getattr(scalars, 'dtype', type(scalars).__name__)} {getattr(scalars, 'shape', '')}"
        )
    if n is not None and scalars.shape[0] != n:
        raise ValueError(f"{n} points but {scalars.shape[0]} scalars")
    if not scalars.flags.c_contiguous:
        raise ValueError(f"{name} must be C-contiguous (use np.ascontiguousarray)")
    if scalars.shape[0] and not bool(kernels.all_canonical(scalars, FR_MOD)):
        raise ValueError(f"{name}: a scalar's limbs are >= r (not a canonical Fr element)")


def _window_choice(n: int, window, batch, glv: bool) -> int:
    if batch is not None and not (isinstance(batch, int) and 0 <= batch <= 1 << 20):
        raise ValueError(f"batch must be an int in [0, 2^20], got {batch!r}")
    c = optimal_window(n, glv=glv) if window is None else window
    if not (isinstance(c, int) and MIN_WINDOW <= c <= MAX_WINDOW):
        raise ValueError(f"window must be an int in [{MIN_WINDOW}, {MAX_WINDOW}], got {c!r}")
    return c


def _ifma_rows(points_m: np.ndarray, glv: bool) -> np.ndarray:
    """The points' M52 rows (and with ``glv`` phi(P)'s after them), 64-byte aligned so that no
    coordinate straddles two cache lines."""
    count = (2 if glv else 1) * points_m.shape[0]
    flat = np.empty(count * ROW_WORDS + 8, dtype=np.uint64)
    start = (-flat.ctypes.data % 64) // 8
    rows = flat[start : start + count * ROW_WORDS].reshape(count, ROW_WORDS)
    points_to_m52(points_m, glv, rows)
    return rows


def _affine_rows(points_m: np.ndarray, glv: bool) -> np.ndarray:
    if not glv:
        return points_m
    out = np.empty((2 * points_m.shape[0], 2, 4), dtype=np.uint64)
    out[: points_m.shape[0]] = points_m
    g1.endomorphism_m(points_m, out[points_m.shape[0] :])
    return out


def _pippenger(rows_of, size: int, scalars, montgomery: bool, c: int, batch, glv: bool):
    """sum_i s_i P_i over the first n = len(scalars) of ``size`` bases, as an affine tuple.
    ``rows_of(ifma, glv)`` gives the bases' rows: P_0 .. P_{size-1}, then (with GLV) phi(P_0) ..
    phi(P_{size-1}); M52 rows for the IFMA path, affine Montgomery points for the scalar one."""
    n = scalars.shape[0]
    if n == 0:
        return g1.AFFINE_INFINITY
    bits, m = (GLV_BITS, 2 * n) if glv else (SCALAR_BITS, n)
    w = windows_for(c, bits)
    plan = WindowPlan.choose(1 << (c - 1), m, batch).as_tuple()
    plan_top = WindowPlan.choose(top_window_buckets(c, bits), m, batch).as_tuple()
    ifma_batch = batch
    if IFMA and batch is None and not (plan[2] and plan_top[2]) and m >= IFMA_MIN_POINTS:
        # the scalar model's XYZZ buckets: with IFMA, small batch-affine batches still win
        ifma_batch = IFMA_SMALL_BATCH
        plan = WindowPlan.choose(1 << (c - 1), m, ifma_batch).as_tuple()
        plan_top = WindowPlan.choose(top_window_buckets(c, bits), m, ifma_batch).as_tuple()
    use_ifma = IFMA and plan[2] and plan_top[2]
    # codes[j, i]: window-major for the scalar path (a window's codes contiguous), point-major
    # underneath for the IFMA path (which routes a point's windows one after the other)
    codes = np.empty((m, w), dtype=np.uint16).T if use_ifma else np.empty((w, m), np.uint16)
    if glv:
        negative = np.empty(m, dtype=np.bool_)
        if signed_digits_glv_m(scalars, montgomery, c, codes, negative):
            raise AssertionError("GLV split out of bounds")  # unreachable: |k| < 2^127
    else:
        signed_digits_m(scalars, montgomery, c, codes)
        negative = np.zeros(m, dtype=np.bool_)
    sums = np.empty((w, 4, 4), dtype=np.uint64)
    half_off = size - n  # column n + i is row size + i: phi(P_i)
    if use_ifma:
        # one window group per thread, capped so that its bucket array stays below ~8 MiB
        group = min(-(-w // numba.get_num_threads()), max(1, IFMA_GROUP_ROWS >> (c - 1)))
        rows = rows_of(True, glv)
        size = IFMA_BATCH if ifma_batch is None else -(-ifma_batch // _SPAN) * _SPAN
        args = (rows, n, half_off, codes, negative, plan, plan_top, group, size, sums)
        window_sums_ifma_m(*args)
    else:
        rows = rows_of(False, glv)
        window_sums_m(rows, n, half_off, codes, negative, plan, plan_top, sums)
    return combine_windows(sums, c)


def _msm(points_m, scalars, montgomery, window, validate, batch=None, glv=True):
    g1.check_affine_array(points_m)
    n = points_m.shape[0]
    check_scalars(scalars, n, "scalars_m" if montgomery else "scalars")
    c = _window_choice(n, window, batch, glv)
    if validate:
        g1.validate_g1_affine_m(points_m)

    def rows_of(ifma_path: bool, glv_rows: bool) -> np.ndarray:
        return _ifma_rows(points_m, glv_rows) if ifma_path else _affine_rows(points_m, glv_rows)

    return _pippenger(rows_of, n, scalars, montgomery, c, batch, glv)


def msm_g1(
    points_m: np.ndarray,
    scalars_m: np.ndarray,
    *,
    window: int | None = None,
    validate: bool = True,
    batch: int | None = None,
    glv: bool = True,
) -> G1Point:
    """sum_i s_i P_i for affine Montgomery points (n, 2, 4) and Fr Montgomery scalars (n, 4).

    Returns the affine point as canonical ints, (0, 0) for infinity. ``validate`` checks every
    point (canonical coordinates, on the curve; a few percent of the time): pass False only for
    points already validated (e.g. an SRS read from a checked file). ``window`` forces the digit
    width c in [1, 16]; ``batch`` forces the batch-affine batch size (0: XYZZ buckets); both
    default to the cost model's choice. ``glv`` (default) splits each scalar in two halves of
    127 bits with the endomorphism: 2n points, half the windows, half the bucket reductions.
    For many MSMs over the same points (an SRS), ``MSMBases`` + ``msm_g1_bases`` do the points'
    preparation once. Raises ValueError on malformed input: wrong shapes or dtypes, a scalar
    >= r, an invalid point, a bad window or batch."""
    return g1.affine_tuple_to_int(_msm(points_m, scalars_m, True, window, validate, batch, glv))


def msm_g1_raw(
    points_m: np.ndarray,
    scalars: np.ndarray,
    *,
    window: int | None = None,
    validate: bool = True,
    batch: int | None = None,
    glv: bool = True,
) -> G1Point:
    """``msm_g1`` with scalars as canonical (non-Montgomery) little-endian limbs, each < r."""
    return g1.affine_tuple_to_int(_msm(points_m, scalars, False, window, validate, batch, glv))


def msm_g1_m(
    points_m: np.ndarray,
    scalars_m: np.ndarray,
    *,
    window: int | None = None,
    validate: bool = True,
    batch: int | None = None,
    glv: bool = True,
) -> np.ndarray:
    """``msm_g1`` returning the affine point as a (2, 4) Montgomery array (zeros: infinity)."""
    out = _msm(points_m, scalars_m, True, window, validate, batch, glv)
    return np.array(out, dtype=np.uint64)


# --- fixed bases ----------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class MSMBases:
    """G1 points prepared once for many MSMs over them or over a prefix of them (the PLONK
    prover commits to polynomials of n, n + 1, n + 2 and n + 6 coefficients over one SRS).

    ``prepare`` validates the points once and precomputes what every MSM would otherwise redo:
    the GLV images phi(P) = (beta x, y) and, on CPUs with AVX-512 IFMA, the points' M52 rows
    (radix 2^52, x * 2^260 mod p; 16 words a point: 2 x 128 B a base with phi). The points are
    copied (read-only), so later changes to the caller's array do not affect them. Build it with
    ``prepare``: the constructor itself does not validate the points."""

    points_m: np.ndarray
    _rows: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        g1.check_affine_array(self.points_m)

    @staticmethod
    def prepare(points_m: np.ndarray, *, validate: bool = True) -> MSMBases:
        """Bases from an (N, 2, 4) affine Montgomery array (infinity: (0, 0)). ``validate``
        (default) checks every point once (canonical coordinates, on the curve): pass False only
        for points already validated (an SRS read from a checked file). Raises ValueError on a
        malformed array or an invalid point."""
        g1.check_affine_array(points_m)
        if validate:
            g1.validate_g1_affine_m(points_m)
        pts = np.array(points_m, dtype=np.uint64, copy=True)
        pts.setflags(write=False)
        bases = MSMBases(pts)
        bases._rows_of(IFMA, True)
        return bases

    def __len__(self) -> int:
        return self.points_m.shape[0]

    @property
    def size(self) -> int:
        return self.points_m.shape[0]

    def _rows_of(self, ifma_path: bool, glv: bool) -> np.ndarray:
        """The rows ``_pippenger`` reads: always with the phi(P) half (a non-GLV MSM reads only
        the first half)."""
        del glv
        key = "ifma" if ifma_path else "affine"
        if key not in self._rows:
            rows = (
                _ifma_rows(self.points_m, True) if ifma_path else _affine_rows(self.points_m, True)
            )
            rows.setflags(write=False)
            self._rows[key] = rows
        return self._rows[key]


def _msm_bases(bases: MSMBases, scalars, montgomery: bool, window, batch):
    if not isinstance(bases, MSMBases):
        raise TypeError(f"bases must be an MSMBases (MSMBases.prepare(points_m)), got {bases!r}")
    check_scalars(scalars, None, "scalars_m" if montgomery else "scalars")
    n = scalars.shape[0]
    if n > bases.size:
        raise ValueError(f"{n} scalars but only {bases.size} prepared bases")
    c = _window_choice(n, window, batch, True)
    return _pippenger(bases._rows_of, bases.size, scalars, montgomery, c, batch, True)


def msm_g1_bases(
    bases: MSMBases,
    scalars_m: np.ndarray,
    *,
    window: int | None = None,
    batch: int | None = None,
) -> G1Point:
    """sum_{i < n} s_i P_i over the first n = len(scalars_m) prepared bases (n <= len(bases)),
    for Fr Montgomery scalars (n, 4); the same result as ``msm_g1(bases.points_m[:n],
    scalars_m)``, without re-validating or re-preparing the points. Returns canonical ints,
    (0, 0) for infinity. ``window`` and ``batch`` as in ``msm_g1``. Raises ValueError on
    malformed scalars (shape, dtype, >= r) or more scalars than bases."""
    return g1.affine_tuple_to_int(_msm_bases(bases, scalars_m, True, window, batch))


def msm_g1_bases_m(
    bases: MSMBases,
    scalars_m: np.ndarray,
    *,
    window: int | None = None,
    batch: int | None = None,
) -> np.ndarray:
    """``msm_g1_bases`` returning the affine point as a (2, 4) Montgomery array (zeros:
    infinity)."""
    return np.array(_msm_bases(bases, scalars_m, True, window, batch), dtype=np.uint64)
