"""Multi-scalar multiplication on G1: sum_i s_i P_i by Pippenger's bucket method.

Pippenger, "On the evaluation of powers and monomials", SIAM J. Comput. 9 (1980); the variant
here follows the ZPrize 2022 MSM entries and gnark-crypto (Botrel, El Housni, "Faster Montgomery
multiplication and multi-scalar-multiplication for SNARKs", TCHES 2023/3):

0. GLV split (Gallant, Lambert, Vanstone, CRYPTO 2001), on by default: s = k1 + k2 lambda mod r
   with |k1|, |k2| < 2^127 and phi(P) = (beta x, y) = [lambda] P, so s P = k1 P + k2 phi(P):
   2n points with half-length scalars, the same number of bucket additions in half the windows,
   hence half the bucket reductions.
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

The windows are independent, so they run in parallel (``prange``) across the cores; each thread
owns its buckets. The window c minimises a cost model of steps 0-3 (``optimal_window``) and can
be forced with ``window=`` (tests cover every c in 1..16, with and without GLV).

The plain-Python twin (same signature, ints inside) is ``prover.curve.twin_g1.msm_g1``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np
from numba import njit, prange, types

from prover import params
from prover.curve import g1
from prover.curve.g1 import G1Point
from prover.field import kernels, mont
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


def optimal_window(n: int, threads: int | None = None, glv: bool = True) -> int:
    """The c in [1, 16] that minimises ``msm_cost`` for n points."""
    t = threads or numba.get_num_threads()
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


@njit(cache=True)
def _write_codes(s, c, out, col):
    """out[j, col] = code of the j-th signed c-bit digit of s (four limbs): SKIP for 0, else
    (|d| - 1) << 1 | (d < 0). Digits lie in (-2^(c-1), 2^(c-1)], so codes never reach SKIP."""
    half = 1 << (c - 1)
    full = 1 << c
    carry = 0
    for j in range(out.shape[0]):
        v = window_value(s, j * c, c) + carry
        carry = 1 if v > half else 0  # branch-free: the digit signs are unpredictable
        d = v - carry * full
        code = (((d if d >= 0 else -d) - 1) << 1) | (1 if d < 0 else 0)
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


@njit(cache=True)
def _execute(buckets, in_batch, slot_bucket, slot_point, den, prefix, k):
    """bucket[slot_bucket[t]] += slot_point[t] for t < k (distinct buckets, distinct x), with
    one inversion for the k slopes (Montgomery's trick)."""
    run = g1.FQ_ONE
    for t in range(k):
        mont.store(prefix, t, run)
        run = g1.fq_mul(run, mont.load(den, t))
    inv = mont.inv(run, g1.FQ_ONE, FQ_MOD)
    for t in range(k - 1, -1, -1):
        d_inv = g1.fq_mul(inv, mont.load(prefix, t))
        inv = g1.fq_mul(inv, mont.load(den, t))
        b = slot_bucket[t]
        x2, y2 = g1.load_affine(slot_point, t)
        x1, y1 = g1.load_affine(buckets, b)
        lam = g1.fq_mul(g1.fq_sub(y2, y1), d_inv)
        x3 = g1.fq_sub(g1.fq_sub(g1.fq_sqr(lam), x1), x2)
        y3 = g1.fq_sub(g1.fq_mul(lam, g1.fq_sub(x1, x3)), y1)
        g1.store_affine(buckets, b, (x3, y3))
        in_batch[b] = False


@njit(cache=True)
def _accumulate_affine(points, codes, batch, replicas, buckets, ovf, has_ovf):
    """buckets[r] + ovf[r] = sum of the +-P_i whose digit in this window is +-(b + 1), for row
    r = b * replicas + i mod replicas.

    Additions go into a batch of at most ``batch`` distinct rows, done together by
    ``_execute``. One whose row is already in the batch is deferred to a queue (at most
    ``batch`` waiting) and retried, before any new point, after the next execution."""
    n = points.shape[0]
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
        if in_batch[b]:
            if queued - retry < batch:
                queue[queued] = (idx << 16) | code
                queued += 1
                continue
            p = _signed(g1.load_affine(points, idx), code & 1)
            kind = _OVERFLOW
        else:
            p = _signed(g1.load_affine(points, idx), code & 1)
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
def _accumulate_xyzz(points, codes, ovf, has_ovf):
    """XYZZ buckets only (mixed additions): for windows with few buckets or few points."""
    for i in range(points.shape[0]):
        code = np.int64(codes[i])
        if code == SKIP:
            continue
        b = code >> 1
        p = _signed(g1.load_affine(points, i), code & 1)
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
def _window_sum(points, codes, nb, replicas, batch):
    rows = nb * replicas
    buckets = np.zeros((rows, 2, 4), dtype=np.uint64)  # all infinity
    ovf = np.empty((rows, 4, 4), dtype=np.uint64)
    has_ovf = np.zeros(rows, dtype=np.bool_)
    if batch:
        _accumulate_affine(points, codes, batch, replicas, buckets, ovf, has_ovf)
    else:
        _accumulate_xyzz(points, codes, ovf, has_ovf)
    return _reduce(buckets, ovf, has_ovf, replicas)


@njit(parallel=True, cache=True)
def window_sums_m(points, codes, plan, plan_top, out):
    """out[j] = sum_i d_ij P_i (XYZZ) for every window j, windows in parallel. A plan is
    (buckets, replicas, batch); ``plan_top`` is the top window's."""
    w = codes.shape[0]
    for j in prange(w):
        nb, replicas, batch = plan_top if j == w - 1 else plan
        g1.store_xyzz(out, j, _window_sum(points, codes[j], nb, replicas, batch))


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


def _msm(points_m, scalars, montgomery, window, validate, batch=None, glv=True):
    g1.check_affine_array(points_m)
    n = points_m.shape[0]
    check_scalars(scalars, n, "scalars_m" if montgomery else "scalars")
    if batch is not None and not (isinstance(batch, int) and 0 <= batch <= 1 << 20):
        raise ValueError(f"batch must be an int in [0, 2^20], got {batch!r}")
    c = optimal_window(n, glv=glv) if window is None else window
    if not (isinstance(c, int) and MIN_WINDOW <= c <= MAX_WINDOW):
        raise ValueError(f"window must be an int in [{MIN_WINDOW}, {MAX_WINDOW}], got {c!r}")
    if validate:
        g1.validate_g1_affine_m(points_m)
    if n == 0:
        return g1.AFFINE_INFINITY
    if glv:
        bits, m = GLV_BITS, 2 * n
        codes = np.empty((windows_for(c, bits), m), dtype=np.uint16)
        negative = np.empty(m, dtype=np.bool_)
        if signed_digits_glv_m(scalars, montgomery, c, codes, negative):
            raise AssertionError("GLV split out of bounds")  # unreachable: |k| < 2^127
        points = np.empty((m, 2, 4), dtype=np.uint64)
        glv_points_m(points_m, negative, points)
    else:
        bits, m, points = SCALAR_BITS, n, points_m
        codes = np.empty((windows_for(c, bits), m), dtype=np.uint16)
        signed_digits_m(scalars, montgomery, c, codes)
    plan = WindowPlan.choose(1 << (c - 1), m, batch)
    plan_top = WindowPlan.choose(top_window_buckets(c, bits), m, batch)
    sums = np.empty((codes.shape[0], 4, 4), dtype=np.uint64)
    window_sums_m(points, codes, plan.as_tuple(), plan_top.as_tuple(), sums)
    return combine_windows(sums, c)


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
    Raises ValueError on malformed input: wrong shapes or dtypes, a scalar >= r, an invalid
    point, a bad window or batch."""
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
