"""Fused Numba kernels of the PLONK prover (Gabizon, Williamson, Ciobotaru, ePrint 2019/953,
section 8.3), each beside a plain-Python twin of the same signature (``*_twin``, Python ints
inside) that the tests run on tiny inputs and compare bit for bit.

Every array is an ``(n, 4)`` uint64 Fr Montgomery array (names end in ``_m``) unless said
otherwise; scalar arguments are Montgomery tuples (``FR_M.element``). The kernels:

- ``additions_m``: snarkjs's "additions", internal signals ``f1 * s[sig1] + f2 * s[sig2]``, in
  order (an addition may read an earlier one), as ``plonk_prove.js:calculateAdditions``.
- ``wires_m``: the wire columns a, b, c on H from the witness and the wire maps (round 1).
- ``gate_check_m``: the first gate row whose identity
  ``qM a b + qL a + qR b + qO c + qC + PI = 0`` fails, or -1.
- ``permutation_z_m``: round 2's grand product z on H: z[0] = 1,
  z[i+1] = z[i] (a_i + beta w^i + gamma)(b_i + beta k1 w^i + gamma)(c_i + beta k2 w^i + gamma)
  / ((a_i + beta S1_i + gamma)(b_i + beta S2_i + gamma)(c_i + beta S3_i + gamma)),
  numerators and denominators in parallel chunks, one inversion per chunk (Montgomery's trick
  folded into the backward pass), chunk carries in between.
- ``quotient_m``: round 3's t(x) = (gate(x) + PI(x) + alpha perm(x) + alpha^2 (z(x) - 1) L1(x))
  / Z_H(x) pointwise on the 4n coset x_i = shift * w_4n^i. t has degree <= 3n + 5 < 4n, so the
  4n values determine it; Z_H(x_i) = shift^n w_4n^(n i) - 1 takes 4 values (index i mod 4);
  z(w x_i) is z's value at index i + 4. With L_j the Lagrange polynomial of row j and L1 = L_0
  (snarkjs's L[1]), L_j(X) = L1(w^-j X), and w^-j x_i = x_(i - 4j), so PI(x_i) = -sum_j pub_j
  L1(x_(i - 4j)) needs no table per public input (for many public inputs the caller passes PI's
  coset evaluations instead). With snarkjs's k1 = 2, k2 = 3, k x is x + x (+ x), not a product.
- ``linearise_m``: round 5's numerator of W_xi, r(X) + v a(X) + v^2 b(X) + v^3 c(X) + v^4 S1(X)
  + v^5 S2(X) - (v a(xi) + ... ), coefficient by coefficient, with snarkjs's linearisation r
  (``plonk_prove.js:computeR``).
- ``evaluate6_m``: round 4's six evaluations (Horner) in one parallel region.
- ``div_linear_m``: the quotient of p(X) by (X - x) (synthetic division, the remainder
  returned), in parallel chunks whose carries are fixed up afterwards (on few cores, where the
  chunked form's extra work does not pay, the prover uses ``prover.kzg.divide_by_linear_m``).
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from prover import params
from prover.field import mont
from prover.poly.domain import geometric_starts, pow_small

R = params.R_ORDER
_MONT = 1 << params.MONT_R_BITS
_MONT_INV = pow(_MONT, -1, R)
MOD = mont.FR_MOD
ONE = mont.FR_ONE

# Rows of the ``scalars_m`` argument of ``linearise_m`` (one Montgomery element each).
LIN_AB, LIN_A, LIN_B, LIN_C, LIN_Z, LIN_S3, LIN_ZH = 0, 1, 2, 3, 4, 5, 6
LIN_ZH_XIN, LIN_ZH_XIN2, LIN_V1, LIN_V2, LIN_V3, LIN_V4, LIN_V5, LIN_CONST = range(7, 15)
LIN_ROWS = 15


@njit(inline="always")
def _zero():
    return (np.uint64(0), np.uint64(0), np.uint64(0), np.uint64(0))


# k1 = 2 and k2 = 3 (snarkjs's, always): k x is then x + x and x + x + x, not a multiplication
_K_TWO = tuple(np.uint64(w) for w in params.to_limbs(2 * _MONT % R))
_K_THREE = tuple(np.uint64(w) for w in params.to_limbs(3 * _MONT % R))


@njit(inline="always")
def _k_bx(k1, k2, bx, small_k):
    """(k1 bx, k2 bx); additions instead of multiplications when (k1, k2) = (2, 3)."""
    if small_k:
        b2 = mont.add(bx, bx, MOD)
        return b2, mont.add(b2, bx, MOD)
    return mont.mul(k1, bx, MOD), mont.mul(k2, bx, MOD)


@njit(inline="always")
def _load_or_zero(a_m, i):
    if i < a_m.shape[0]:
        return mont.load(a_m, i)
    return (np.uint64(0), np.uint64(0), np.uint64(0), np.uint64(0))


# --- additions and wires (round 1) ------------------------------------------------------------


@njit(cache=True)
def additions_m(w_m, n_vars, sig1, sig2, f1_m, f2_m):
    """w[n_vars + i] = f1[i] * w[sig1[i]] + f2[i] * w[sig2[i]] for each addition, in order.
    Signals at or past ``w_m.shape[0]`` read as zero (snarkjs's ``getWitness``)."""
    size = w_m.shape[0]
    for i in range(sig1.shape[0]):
        x = _zero()
        y = _zero()
        if sig1[i] < size:
            x = mont.load(w_m, sig1[i])
        if sig2[i] < size:
            y = mont.load(w_m, sig2[i])
        v = mont.mul(mont.load(f1_m, i), x, MOD)
        v = mont.add(v, mont.mul(mont.load(f2_m, i), y, MOD), MOD)
        mont.store(w_m, n_vars + i, v)


@njit(parallel=True, cache=True)
def wires_m(w_m, a_map, b_map, c_map, a_out, b_out, c_out):
    """a[i] = w[a_map[i]] (same for b, c) for the gate rows; rows past the maps are zero."""
    n = a_out.shape[0]
    rows = a_map.shape[0]
    for i in prange(n):
        if i < rows:
            mont.store(a_out, i, mont.load(w_m, a_map[i]))
            mont.store(b_out, i, mont.load(w_m, b_map[i]))
            mont.store(c_out, i, mont.load(w_m, c_map[i]))
        else:
            for k in range(4):
                a_out[i, k] = 0
                b_out[i, k] = 0
                c_out[i, k] = 0


# --- the gate check ---------------------------------------------------------------------------


@njit(inline="always")
def _gate(a, b, c, qm, ql, qr, qo, qc):
    g = mont.mul(mont.mul(a, b, MOD), qm, MOD)
    g = mont.add(g, mont.mul(a, ql, MOD), MOD)
    g = mont.add(g, mont.mul(b, qr, MOD), MOD)
    g = mont.add(g, mont.mul(c, qo, MOD), MOD)
    return mont.add(g, qc, MOD)


@njit(parallel=True, cache=True)
def gate_check_m(a_m, b_m, c_m, qm_m, ql_m, qr_m, qo_m, qc_m, pub_m, chunks):
    """The first row i with qM a b + qL a + qR b + qO c + qC + PI_i != 0, or -1. Selectors are
    evaluations on H; PI_i = -pub[i] for i < len(pub), else 0."""
    n = a_m.shape[0]
    npub = pub_m.shape[0]
    step = (n + chunks - 1) // chunks
    first = np.full(chunks, -1, dtype=np.int64)
    for ch in prange(chunks):
        for i in range(ch * step, min(n, (ch + 1) * step)):
            g = _gate(
                mont.load(a_m, i), mont.load(b_m, i), mont.load(c_m, i), mont.load(qm_m, i),
                mont.load(ql_m, i), mont.load(qr_m, i), mont.load(qo_m, i), mont.load(qc_m, i),
            )  # fmt: skip
            if i < npub:
                g = mont.sub(g, mont.load(pub_m, i), MOD)
            if not mont.is_zero(g):
                first[ch] = i
                break
    for ch in range(chunks):
        if first[ch] >= 0:
            return first[ch]
    return -1


# --- the permutation grand product (round 2) --------------------------------------------------


@njit(parallel=True, cache=True)
def permutation_z_m(
    a_m, b_m, c_m, s1_m, s2_m, s3_m, beta, gamma, k1, k2, omega, z_out, num_tmp, den_tmp, chunks
):
    """z on H (natural order) into z_out: z[0] = 1, z[i+1] = z[i] num_i / den_i (see the module
    docstring). num_tmp and den_tmp are (n, 4) scratch. Returns z[n] (the wrap-around product,
    1 when the copy constraints hold)."""
    n = a_m.shape[0]
    step = (n + chunks - 1) // chunks
    starts = geometric_starts(beta, omega, n, chunks)  # beta w^lo per chunk
    small_k = mont.eq(k1, _K_TWO) and mont.eq(k2, _K_THREE)
    tot_num = np.empty((chunks, 4), dtype=np.uint64)
    tot_den = np.empty((chunks, 4), dtype=np.uint64)
    # pass 1: per row num_i, den_i; local prefix product of num (kept), den_i itself (kept)
    for ch in prange(chunks):
        bx = mont.load(starts, ch)
        pn = ONE
        pd = ONE
        for i in range(ch * step, min(n, (ch + 1) * step)):
            kb, kc = _k_bx(k1, k2, bx, small_k)
            ag = mont.add(mont.load(a_m, i), gamma, MOD)
            bg = mont.add(mont.load(b_m, i), gamma, MOD)
            cg = mont.add(mont.load(c_m, i), gamma, MOD)
            num = mont.mul(
                mont.mul(mont.add(ag, bx, MOD), mont.add(bg, kb, MOD), MOD),
                mont.add(cg, kc, MOD),
                MOD,
            )
            d1 = mont.add(ag, mont.mul(beta, mont.load(s1_m, i), MOD), MOD)
            d2 = mont.add(bg, mont.mul(beta, mont.load(s2_m, i), MOD), MOD)
            d3 = mont.add(cg, mont.mul(beta, mont.load(s3_m, i), MOD), MOD)
            den = mont.mul(mont.mul(d1, d2, MOD), d3, MOD)
            pn = mont.mul(pn, num, MOD)
            pd = mont.mul(pd, den, MOD)
            mont.store(num_tmp, i, pn)
            mont.store(den_tmp, i, den)
            bx = mont.mul(bx, omega, MOD)
        mont.store(tot_num, ch, pn)
        mont.store(tot_den, ch, pd)
    # carries: products of the earlier chunks' totals
    carry_num = np.empty((chunks, 4), dtype=np.uint64)
    carry_den = np.empty((chunks, 4), dtype=np.uint64)
    cn = ONE
    cd = ONE
    for ch in range(chunks):
        mont.store(carry_num, ch, cn)
        mont.store(carry_den, ch, cd)
        cn = mont.mul(cn, mont.load(tot_num, ch), MOD)
        cd = mont.mul(cd, mont.load(tot_den, ch), MOD)
    # pass 2, backward in each chunk: q = carry_num / (carry_den * den_lo..den_i), so
    # z[i+1] = num_prefix[i] * q, and stepping i -> i-1 multiplies q by den_i.
    for ch in prange(chunks):
        lo = ch * step
        hi = min(n, lo + step)
        if lo >= hi:
            continue
        full_den = mont.mul(mont.load(carry_den, ch), mont.load(tot_den, ch), MOD)
        q = mont.mul(mont.load(carry_num, ch), mont.inv(full_den, ONE, MOD), MOD)
        for i in range(hi - 1, lo - 1, -1):
            if i + 1 < n:
                mont.store(z_out, i + 1, mont.mul(mont.load(num_tmp, i), q, MOD))
            q = mont.mul(q, mont.load(den_tmp, i), MOD)
    mont.store(z_out, 0, ONE)
    return mont.mul(cn, mont.inv(cd, ONE, MOD), MOD)


# --- the quotient on the 4n coset (round 3) ---------------------------------------------------


@njit(parallel=True, cache=True)
def quotient_m(
    a_m, b_m, c_m, z_m, qm_m, ql_m, qr_m, qo_m, qc_m, s1_m, s2_m, s3_m, l1_m, zh_inv_m, pub_m,
    pi_m, beta, gamma, alpha, k1, k2, beta_shift, omega4, out_m, chunks,
):  # fmt: skip
    """t(x_i) on the 4n coset x_i = shift w_4n^i (see the module docstring). All (4n, 4) arrays
    are coset evaluations; zh_inv_m (4, 4) holds 1 / Z_H(x_i) by i mod 4; pub_m the public
    signals (used when pi_m is empty) or pi_m PI's coset evaluations; beta_shift = beta * shift."""
    size = a_m.shape[0]
    mask = size - 1
    npub = pub_m.shape[0]
    use_pi = pi_m.shape[0] > 0
    small_k = mont.eq(k1, _K_TWO) and mont.eq(k2, _K_THREE)
    step = (size + chunks - 1) // chunks
    starts = geometric_starts(beta_shift, omega4, size, chunks)  # beta x_lo per chunk
    zh0 = mont.load(zh_inv_m, 0)
    zh1 = mont.load(zh_inv_m, 1)
    zh2 = mont.load(zh_inv_m, 2)
    zh3 = mont.load(zh_inv_m, 3)
    for ch in prange(chunks):
        bx = mont.load(starts, ch)
        for i in range(ch * step, min(size, (ch + 1) * step)):
            a = mont.load(a_m, i)
            b = mont.load(b_m, i)
            c = mont.load(c_m, i)
            z = mont.load(z_m, i)
            zw = mont.load(z_m, (i + 4) & mask)
            l1 = mont.load(l1_m, i)
            # gate + PI
            g = mont.mul(mont.mul(a, b, MOD), mont.load(qm_m, i), MOD)
            g = mont.add(g, mont.mul(a, mont.load(ql_m, i), MOD), MOD)
            g = mont.add(g, mont.mul(b, mont.load(qr_m, i), MOD), MOD)
            g = mont.add(g, mont.mul(c, mont.load(qo_m, i), MOD), MOD)
            g = mont.add(g, mont.load(qc_m, i), MOD)
            if use_pi:
                g = mont.add(g, mont.load(pi_m, i), MOD)
            else:
                for j in range(npub):
                    lj = mont.load(l1_m, (i - 4 * j) & mask)
                    g = mont.sub(g, mont.mul(mont.load(pub_m, j), lj, MOD), MOD)
            # permutation: z(x) prod(w + beta k x + gamma) - z(w x) prod(w + beta S(x) + gamma)
            kb, kc = _k_bx(k1, k2, bx, small_k)
            ag = mont.add(a, gamma, MOD)
            bg = mont.add(b, gamma, MOD)
            cg = mont.add(c, gamma, MOD)
            idp = mont.mul(
                mont.mul(mont.add(ag, bx, MOD), mont.add(bg, kb, MOD), MOD),
                mont.add(cg, kc, MOD),
                MOD,
            )
            idp = mont.mul(idp, z, MOD)
            sp = mont.mul(
                mont.add(ag, mont.mul(beta, mont.load(s1_m, i), MOD), MOD),
                mont.add(bg, mont.mul(beta, mont.load(s2_m, i), MOD), MOD),
                MOD,
            )
            sp = mont.mul(sp, mont.add(cg, mont.mul(beta, mont.load(s3_m, i), MOD), MOD), MOD)
            sp = mont.mul(sp, zw, MOD)
            perm = mont.sub(idp, sp, MOD)
            # alpha (perm + alpha (z - 1) L1)
            l1t = mont.mul(mont.sub(z, ONE, MOD), l1, MOD)
            num = mont.add(
                g, mont.mul(alpha, mont.add(perm, mont.mul(alpha, l1t, MOD), MOD), MOD), MOD
            )
            r = i & 3
            if r == 0:
                zi = zh0
            elif r == 1:
                zi = zh1
            elif r == 2:
                zi = zh2
            else:
                zi = zh3
            mont.store(out_m, i, mont.mul(num, zi, MOD))
            bx = mont.mul(bx, omega4, MOD)


# --- linearisation and openings (round 5) -----------------------------------------------------


@njit(parallel=True, cache=True)
def linearise_m(
    qm_m, ql_m, qr_m, qo_m, qc_m, s1_m, s2_m, s3_m, a_m, b_m, c_m, z_m, t1_m, t2_m, t3_m,
    scalars_m, out_m,
):  # fmt: skip
    """out = the numerator of W_xi, coefficient by coefficient (coefficient arrays of any
    lengths, missing rows are zero; the scalars' rows are the ``LIN_*`` constants):

    r = ab qM + a qL + b qR + c qO + qC + zc z - sc S3 - zh (T1 + xi^n T2 + xi^2n T3) + r0
    out = r + v1 a + v2 b + v3 c + v4 S1 + v5 S2 + const, const = r0 - sum v_i eval_i."""
    ab = mont.load(scalars_m, LIN_AB)
    ea = mont.load(scalars_m, LIN_A)
    eb = mont.load(scalars_m, LIN_B)
    ec = mont.load(scalars_m, LIN_C)
    zc = mont.load(scalars_m, LIN_Z)
    sc = mont.load(scalars_m, LIN_S3)
    zh = mont.load(scalars_m, LIN_ZH)
    zh1 = mont.load(scalars_m, LIN_ZH_XIN)
    zh2 = mont.load(scalars_m, LIN_ZH_XIN2)
    v1 = mont.load(scalars_m, LIN_V1)
    v2 = mont.load(scalars_m, LIN_V2)
    v3 = mont.load(scalars_m, LIN_V3)
    v4 = mont.load(scalars_m, LIN_V4)
    v5 = mont.load(scalars_m, LIN_V5)
    k0 = mont.load(scalars_m, LIN_CONST)
    for i in prange(out_m.shape[0]):
        acc = mont.mul(ab, _load_or_zero(qm_m, i), MOD)
        acc = mont.add(acc, mont.mul(ea, _load_or_zero(ql_m, i), MOD), MOD)
        acc = mont.add(acc, mont.mul(eb, _load_or_zero(qr_m, i), MOD), MOD)
        acc = mont.add(acc, mont.mul(ec, _load_or_zero(qo_m, i), MOD), MOD)
        acc = mont.add(acc, _load_or_zero(qc_m, i), MOD)
        acc = mont.add(acc, mont.mul(zc, _load_or_zero(z_m, i), MOD), MOD)
        acc = mont.sub(acc, mont.mul(sc, _load_or_zero(s3_m, i), MOD), MOD)
        tt = mont.mul(zh, _load_or_zero(t1_m, i), MOD)
        tt = mont.add(tt, mont.mul(zh1, _load_or_zero(t2_m, i), MOD), MOD)
        tt = mont.add(tt, mont.mul(zh2, _load_or_zero(t3_m, i), MOD), MOD)
        acc = mont.sub(acc, tt, MOD)
        acc = mont.add(acc, mont.mul(v1, _load_or_zero(a_m, i), MOD), MOD)
        acc = mont.add(acc, mont.mul(v2, _load_or_zero(b_m, i), MOD), MOD)
        acc = mont.add(acc, mont.mul(v3, _load_or_zero(c_m, i), MOD), MOD)
        acc = mont.add(acc, mont.mul(v4, _load_or_zero(s1_m, i), MOD), MOD)
        acc = mont.add(acc, mont.mul(v5, _load_or_zero(s2_m, i), MOD), MOD)
        if i == 0:
            acc = mont.add(acc, k0, MOD)
        mont.store(out_m, i, acc)


@njit(parallel=True, cache=True)
def div_linear_m(p_m, x, q_m, chunks):
    """q = p div (X - x) (len(q) = len(p) - 1), returns the remainder p(x). Descending synthetic
    division q[j] = p[j+1] + x q[j+1] in chunks: each chunk runs it from a zero carry, then the
    true carry c entering the chunk from above adds c x^(hi - j) to its rows."""
    L = p_m.shape[0]
    m = L - 1
    if m <= 0:
        return _load_or_zero(p_m, 0)
    step = (m + chunks - 1) // chunks
    for ch in prange(chunks):
        lo = ch * step
        hi = min(m, lo + step)
        acc = _zero()
        for j in range(hi - 1, lo - 1, -1):
            acc = mont.add(mont.load(p_m, j + 1), mont.mul(x, acc, MOD), MOD)
            mont.store(q_m, j, acc)
    # carry[ch] = the true q[hi_ch] (0 above the top); true q[lo] = local q[lo] + x^len carry
    carry = np.zeros((chunks, 4), dtype=np.uint64)
    c = _zero()
    for ch in range(chunks - 1, -1, -1):
        lo = ch * step
        hi = min(m, lo + step)
        mont.store(carry, ch, c)
        if lo < hi:
            c = mont.add(mont.load(q_m, lo), mont.mul(pow_small(x, hi - lo), c, MOD), MOD)
    for ch in prange(chunks):
        lo = ch * step
        hi = min(m, lo + step)
        f = mont.load(carry, ch)
        if mont.is_zero(f):
            continue
        for j in range(hi - 1, lo - 1, -1):
            f = mont.mul(f, x, MOD)
            mont.store(q_m, j, mont.add(mont.load(q_m, j), f, MOD))
    return mont.add(mont.load(p_m, 0), mont.mul(x, mont.load(q_m, 0), MOD), MOD)


# --- evaluations (round 4) --------------------------------------------------------------------


@njit(inline="always")
def _pick(k, p0, p1, p2, p3, p4, p5):
    if k == 0:
        return p0
    if k == 1:
        return p1
    if k == 2:
        return p2
    if k == 3:
        return p3
    if k == 4:
        return p4
    return p5


@njit(parallel=True, cache=True)
def evaluate6_m(p0, p1, p2, p3, p4, p5, xs_m, out_m, chunks):
    """out[k] = p_k(xs[k]) for six coefficient arrays (any lengths), in ONE parallel region:
    (polynomial, chunk) pairs run Horner on their slice, then each polynomial's chunk values are
    combined by Horner in x^step (round 4's a, b, c, S1, S2 at xi and z at xi w)."""
    partial = np.zeros((6 * chunks, 4), dtype=np.uint64)
    for item in prange(6 * chunks):
        k = item // chunks
        ch = item - k * chunks
        p = _pick(k, p0, p1, p2, p3, p4, p5)
        x = mont.load(xs_m, k)
        n = p.shape[0]
        step = (n + chunks - 1) // chunks
        lo = min(n, ch * step)
        hi = min(n, lo + step)
        acc = _zero()
        for i in range(hi - 1, lo - 1, -1):
            acc = mont.add(mont.mul(acc, x, MOD), mont.load(p, i), MOD)
        mont.store(partial, item, acc)
    for k in range(6):
        n = _pick(k, p0, p1, p2, p3, p4, p5).shape[0]
        x_step = pow_small(mont.load(xs_m, k), (n + chunks - 1) // chunks)
        acc = _zero()
        for ch in range(chunks - 1, -1, -1):
            acc = mont.add(mont.mul(acc, x_step, MOD), mont.load(partial, k * chunks + ch), MOD)
        mont.store(out_m, k, acc)


# --- plain-Python twins (same signatures; Python ints inside) ---------------------------------


def _get(a: np.ndarray, i: int) -> int:
    return sum(int(a[i, k]) << (64 * k) for k in range(4)) * _MONT_INV % R


def _get0(a: np.ndarray, i: int) -> int:
    return _get(a, i) if i < a.shape[0] else 0


def _put(a: np.ndarray, i: int, x: int) -> None:
    for k, w in enumerate(params.to_limbs(x * _MONT % R)):
        a[i, k] = w


def _s(t: tuple) -> int:
    return sum(int(w) << (64 * k) for k, w in enumerate(t)) * _MONT_INV % R


def _t(x: int) -> tuple:
    return tuple(np.uint64(w) for w in params.to_limbs(x * _MONT % R))


def additions_twin(w_m, n_vars, sig1, sig2, f1_m, f2_m):
    size = w_m.shape[0]
    for i in range(sig1.shape[0]):
        x = _get(w_m, int(sig1[i])) if sig1[i] < size else 0
        y = _get(w_m, int(sig2[i])) if sig2[i] < size else 0
        _put(w_m, n_vars + i, (_get(f1_m, i) * x + _get(f2_m, i) * y) % R)


def wires_twin(w_m, a_map, b_map, c_map, a_out, b_out, c_out):
    for i in range(a_out.shape[0]):
        for m, out in ((a_map, a_out), (b_map, b_out), (c_map, c_out)):
            _put(out, i, _get(w_m, int(m[i])) if i < m.shape[0] else 0)


def gate_check_twin(a_m, b_m, c_m, qm_m, ql_m, qr_m, qo_m, qc_m, pub_m, chunks):
    for i in range(a_m.shape[0]):
        a, b, c = _get(a_m, i), _get(b_m, i), _get(c_m, i)
        g = _get(qm_m, i) * a * b + _get(ql_m, i) * a + _get(qr_m, i) * b + _get(qo_m, i) * c
        g += _get(qc_m, i) - _get0(pub_m, i)
        if g % R:
            return i
    return -1


def permutation_z_twin(
    a_m, b_m, c_m, s1_m, s2_m, s3_m, beta, gamma, k1, k2, omega, z_out, num_tmp, den_tmp, chunks
):
    be, ga, k1i, k2i, w = _s(beta), _s(gamma), _s(k1), _s(k2), _s(omega)
    n = a_m.shape[0]
    z = 1
    x = 1
    for i in range(n):
        _put(z_out, i, z)
        a, b, c = _get(a_m, i), _get(b_m, i), _get(c_m, i)
        num = (a + be * x + ga) * (b + be * k1i * x + ga) * (c + be * k2i * x + ga)
        den = (a + be * _get(s1_m, i) + ga) * (b + be * _get(s2_m, i) + ga)
        den = den * (c + be * _get(s3_m, i) + ga) % R
        z = z * num * pow(den, -1, R) % R
        x = x * w % R
    return _t(z)


def quotient_twin(
    a_m, b_m, c_m, z_m, qm_m, ql_m, qr_m, qo_m, qc_m, s1_m, s2_m, s3_m, l1_m, zh_inv_m, pub_m,
    pi_m, beta, gamma, alpha, k1, k2, beta_shift, omega4, out_m, chunks,
):  # fmt: skip
    be, ga, al, k1i, k2i = _s(beta), _s(gamma), _s(alpha), _s(k1), _s(k2)
    size = a_m.shape[0]
    shift = _s(beta_shift) * pow(be, -1, R) % R
    w4 = _s(omega4)
    for i in range(size):
        x = shift * pow(w4, i, R) % R
        a, b, c, z = _get(a_m, i), _get(b_m, i), _get(c_m, i), _get(z_m, i)
        zw = _get(z_m, (i + 4) % size)
        g = _get(qm_m, i) * a * b + _get(ql_m, i) * a + _get(qr_m, i) * b + _get(qo_m, i) * c
        g += _get(qc_m, i)
        if pi_m.shape[0]:
            g += _get(pi_m, i)
        else:
            g -= sum(_get(pub_m, j) * _get(l1_m, (i - 4 * j) % size) for j in range(pub_m.shape[0]))
        idp = (a + be * x + ga) * (b + be * k1i * x + ga) * (c + be * k2i * x + ga) * z
        sp = (a + be * _get(s1_m, i) + ga) * (b + be * _get(s2_m, i) + ga)
        sp = sp * (c + be * _get(s3_m, i) + ga) * zw
        num = g + al * (idp - sp) + al * al * (z - 1) * _get(l1_m, i)
        _put(out_m, i, num * _get(zh_inv_m, i % 4) % R)


def linearise_twin(
    qm_m, ql_m, qr_m, qo_m, qc_m, s1_m, s2_m, s3_m, a_m, b_m, c_m, z_m, t1_m, t2_m, t3_m,
    scalars_m, out_m,
):  # fmt: skip
    s = [_get(scalars_m, k) for k in range(LIN_ROWS)]
    for i in range(out_m.shape[0]):
        acc = (
            s[LIN_AB] * _get0(qm_m, i)
            + s[LIN_A] * _get0(ql_m, i)
            + s[LIN_B] * _get0(qr_m, i)
            + s[LIN_C] * _get0(qo_m, i)
            + _get0(qc_m, i)
            + s[LIN_Z] * _get0(z_m, i)
            - s[LIN_S3] * _get0(s3_m, i)
            - s[LIN_ZH] * _get0(t1_m, i)
            - s[LIN_ZH_XIN] * _get0(t2_m, i)
            - s[LIN_ZH_XIN2] * _get0(t3_m, i)
            + s[LIN_V1] * _get0(a_m, i)
            + s[LIN_V2] * _get0(b_m, i)
            + s[LIN_V3] * _get0(c_m, i)
            + s[LIN_V4] * _get0(s1_m, i)
            + s[LIN_V5] * _get0(s2_m, i)
        )
        if i == 0:
            acc += s[LIN_CONST]
        _put(out_m, i, acc % R)


def div_linear_twin(p_m, x, q_m, chunks):
    xv = _s(x)
    L = p_m.shape[0]
    acc = 0
    for j in range(L - 2, -1, -1):
        acc = (_get(p_m, j + 1) + xv * acc) % R
        _put(q_m, j, acc)
    return _t((_get0(p_m, 0) + xv * acc) % R)


def evaluate6_twin(p0, p1, p2, p3, p4, p5, xs_m, out_m, chunks):
    for k, p in enumerate((p0, p1, p2, p3, p4, p5)):
        x = _get(xs_m, k)
        _put(out_m, k, sum(_get(p, i) * pow(x, i, R) for i in range(p.shape[0])) % R)


TWINS = {
    additions_m: additions_twin,
    wires_m: wires_twin,
    gate_check_m: gate_check_twin,
    permutation_z_m: permutation_z_twin,
    quotient_m: quotient_twin,
    linearise_m: linearise_twin,
    div_linear_m: div_linear_twin,
    evaluate6_m: evaluate6_twin,
}
