"""Plain-Python twins of the kernels of ``prover.curve.fq2``, ``g2`` and ``fixed_base_g2``.

Same names, same signatures, same formulas, Python ints inside: an Fq element travels as its
Montgomery 4-tuple of np.uint64 (as in the kernels) and is computed on as the int x * 2^256 mod p,
so every twin returns bit-for-bit what its kernel returns, Jacobian coordinates included. Tests
run a kernel and its twin on one input and compare the outputs, and compare both with py_ecc.
"""

from __future__ import annotations

import numpy as np

from prover import params
from prover.curve import ref

P = params.P
_R = 1 << params.MONT_R_BITS
_R_INV = pow(_R, -1, P)
_RAW_R_INV_FR = pow(_R, -1, params.R_ORDER)

_KIND_NONE, _KIND_ADD, _KIND_DOUBLE = 0, 1, 2
STATUS_OK, STATUS_NOT_CANONICAL, STATUS_NOT_ON_CURVE, STATUS_NOT_IN_SUBGROUP = 0, 1, 2, 3


# --- boundary: tuples of np.uint64 limbs <-> ints ---------------------------------------------


def _int(t) -> int:
    return sum(int(w) << (64 * k) for k, w in enumerate(t))


def _limbs(x: int) -> tuple:
    return tuple(np.uint64(v) for v in params.to_limbs(x))


def _e(a) -> tuple[int, int]:  # Fq2 tuple -> (int, int), Montgomery values
    return _int(a[0]), _int(a[1])


def _t(a: tuple[int, int]) -> tuple:  # (int, int) -> Fq2 tuple
    return _limbs(a[0]), _limbs(a[1])


def _mm(x: int, y: int) -> int:
    return x * y * _R_INV % P


_ONE = _R % P
_TWIST_B = (params.TWIST_B[0] * _R % P, params.TWIST_B[1] * _R % P)
_PSI_X = (ref.PSI_COEFF_X[0] * _R % P, ref.PSI_COEFF_X[1] * _R % P)
_PSI_Y = (ref.PSI_COEFF_Y[0] * _R % P, ref.PSI_COEFF_Y[1] * _R % P)
_I_ZERO = (0, 0)
_I_ONE = (_ONE, 0)


# --- Fq2 on Montgomery ints (internal) --------------------------------------------------------


def _add(a, b):
    return (a[0] + b[0]) % P, (a[1] + b[1]) % P


def _sub(a, b):
    return (a[0] - b[0]) % P, (a[1] - b[1]) % P


def _dbl(a):
    return _add(a, a)


def _neg(a):
    return -a[0] % P, -a[1] % P


def _conj(a):
    return a[0], -a[1] % P


def _mul(a, b):
    return (
        (_mm(a[0], b[0]) - _mm(a[1], b[1])) % P,
        (_mm(a[0], b[1]) + _mm(a[1], b[0])) % P,
    )


def _sqr(a):
    return _mul(a, a)


def _mul_fq(a, s):
    return _mm(a[0], s), _mm(a[1], s)


def _inv(a):
    norm = (_mm(a[0], a[0]) + _mm(a[1], a[1])) % P
    if norm == 0:
        return _I_ZERO
    t = pow(norm * _R_INV % P, -1, P) * _R % P  # Montgomery inverse
    return _mm(a[0], t), -_mm(a[1], t) % P


def _is_zero(a):
    return a[0] == 0 and a[1] == 0


# --- Fq2 scalar twins (tuples in, tuples out) ---------------------------------------------------


def add(a, b):
    return _t(_add(_e(a), _e(b)))


def sub(a, b):
    return _t(_sub(_e(a), _e(b)))


def double(a):
    return _t(_dbl(_e(a)))


def neg(a):
    return _t(_neg(_e(a)))


def conj(a):
    return _t(_conj(_e(a)))


def mul(a, b):
    return _t(_mul(_e(a), _e(b)))


def sqr(a):
    return _t(_sqr(_e(a)))


def mul_fq(a, s):
    return _t(_mul_fq(_e(a), _int(s)))


def inv(a):
    return _t(_inv(_e(a)))


def is_zero(a):
    return _is_zero(_e(a))


def eq(a, b):
    return _e(a) == _e(b)


def is_canonical(a):
    x0, x1 = _e(a)
    return x0 < P and x1 < P


# --- Fq2 array twins on (n, 2, 4) --------------------------------------------------------------


def _get2(a, i):
    return _int(a[i, 0]), _int(a[i, 1])


def _put2(a, i, x):
    a[i, 0] = params.to_limbs(x[0])
    a[i, 1] = params.to_limbs(x[1])


def add_m(a_m, b_m, out_m):
    for i in range(a_m.shape[0]):
        _put2(out_m, i, _add(_get2(a_m, i), _get2(b_m, i)))


def sub_m(a_m, b_m, out_m):
    for i in range(a_m.shape[0]):
        _put2(out_m, i, _sub(_get2(a_m, i), _get2(b_m, i)))


def neg_m(a_m, out_m):
    for i in range(a_m.shape[0]):
        _put2(out_m, i, _neg(_get2(a_m, i)))


def mul_m(a_m, b_m, out_m):
    for i in range(a_m.shape[0]):
        _put2(out_m, i, _mul(_get2(a_m, i), _get2(b_m, i)))


def sqr_m(a_m, out_m):
    for i in range(a_m.shape[0]):
        _put2(out_m, i, _sqr(_get2(a_m, i)))


def mul_fq_m(a_m, s_m, out_m):
    for i in range(a_m.shape[0]):
        _put2(out_m, i, _mul_fq(_get2(a_m, i), _int(s_m[i])))


def inv_m(a_m, out_m):
    for i in range(a_m.shape[0]):
        _put2(out_m, i, _inv(_get2(a_m, i)))


def batch_inv_m(a_m, out_m):
    inv_m(a_m, out_m)


def eq_m(a_m, b_m, out):
    for i in range(a_m.shape[0]):
        out[i] = _get2(a_m, i) == _get2(b_m, i)


def is_zero_m(a_m, out):
    for i in range(a_m.shape[0]):
        out[i] = _is_zero(_get2(a_m, i))


# --- G2 on Montgomery ints (internal; the same formulas as prover.curve.g2) ----------------------

_JAC_INF = (_I_ONE, _I_ONE, _I_ZERO)


def _aff_inf(q):
    return _is_zero(q[0]) and _is_zero(q[1])


def _jdouble(p):
    if _is_zero(p[2]):
        return _JAC_INF
    X1, Y1, Z1 = p
    A = _sqr(X1)
    B = _sqr(Y1)
    C = _sqr(B)
    D = _dbl(_sub(_sub(_sqr(_add(X1, B)), A), C))
    E = _add(_dbl(A), A)
    X3 = _sub(_sqr(E), _dbl(D))
    Y3 = _sub(_mul(E, _sub(D, X3)), _dbl(_dbl(_dbl(C))))
    return X3, Y3, _dbl(_mul(Y1, Z1))


def _jadd(p, q):
    if _is_zero(p[2]):
        return q
    if _is_zero(q[2]):
        return p
    X1, Y1, Z1 = p
    X2, Y2, Z2 = q
    Z1Z1, Z2Z2 = _sqr(Z1), _sqr(Z2)
    U1, U2 = _mul(X1, Z2Z2), _mul(X2, Z1Z1)
    S1 = _mul(_mul(Y1, Z2), Z2Z2)
    S2 = _mul(_mul(Y2, Z1), Z1Z1)
    H = _sub(U2, U1)
    R = _dbl(_sub(S2, S1))
    if _is_zero(H):
        return _jdouble(p) if _is_zero(R) else _JAC_INF
    I = _sqr(_dbl(H))  # noqa: E741
    J = _mul(H, I)
    V = _mul(U1, I)
    X3 = _sub(_sub(_sqr(R), J), _dbl(V))
    Y3 = _sub(_mul(R, _sub(V, X3)), _dbl(_mul(S1, J)))
    Z3 = _mul(_sub(_sub(_sqr(_add(Z1, Z2)), Z1Z1), Z2Z2), H)
    return X3, Y3, Z3


def _jmadd(p, q):
    if _aff_inf(q):
        return p
    if _is_zero(p[2]):
        return q[0], q[1], _I_ONE
    X1, Y1, Z1 = p
    X2, Y2 = q
    Z1Z1 = _sqr(Z1)
    U2 = _mul(X2, Z1Z1)
    S2 = _mul(_mul(Y2, Z1), Z1Z1)
    H = _sub(U2, X1)
    R = _dbl(_sub(S2, Y1))
    if _is_zero(H):
        return _jdouble(p) if _is_zero(R) else _JAC_INF
    HH = _sqr(H)
    I = _dbl(_dbl(HH))  # noqa: E741
    J = _mul(H, I)
    V = _mul(X1, I)
    X3 = _sub(_sub(_sqr(R), J), _dbl(V))
    Y3 = _sub(_mul(R, _sub(V, X3)), _dbl(_mul(Y1, J)))
    Z3 = _sub(_sub(_sqr(_add(Z1, H)), Z1Z1), HH)
    return X3, Y3, Z3


def _jmul(q, e: int):
    acc = _JAC_INF
    for bit in range(255, -1, -1):
        acc = _jdouble(acc)
        if (e >> bit) & 1:
            acc = _jmadd(acc, q)
    return acc


def _jeq_aff(p, q):
    if _is_zero(p[2]):
        return _aff_inf(q)
    if _aff_inf(q):
        return False
    z2 = _sqr(p[2])
    return p[0] == _mul(q[0], z2) and p[1] == _mul(q[1], _mul(z2, p[2]))


def _psi(q):
    if _aff_inf(q):
        return q
    return _mul(_conj(q[0]), _PSI_X), _mul(_conj(q[1]), _PSI_Y)


def _to_affine(p):
    if _is_zero(p[2]):
        return _I_ZERO, _I_ZERO
    zinv = _inv(p[2])
    z2 = _sqr(zinv)
    return _mul(p[0], z2), _mul(p[1], _mul(z2, zinv))


def _status(q, subgroup=False):
    if not (q[0][0] < P and q[0][1] < P and q[1][0] < P and q[1][1] < P):
        return STATUS_NOT_CANONICAL
    if _aff_inf(q):
        return STATUS_OK
    if _sqr(q[1]) != _add(_mul(_sqr(q[0]), q[0]), _TWIST_B):
        return STATUS_NOT_ON_CURVE
    if subgroup and not _jeq_aff(_jmul(q, ref.PSI_EIGENVALUE), _psi(q)):
        return STATUS_NOT_IN_SUBGROUP
    return STATUS_OK


def _affine_add(a, q):
    """Affine a + q with the formulas (and special cases) of g2.affine_add_chunk."""
    if _aff_inf(q):
        return a
    if _aff_inf(a):
        return q
    dx = _sub(q[0], a[0])
    if _is_zero(dx):
        if q[1] != a[1]:
            return _I_ZERO, _I_ZERO
        x2 = _sqr(a[0])
        lam = _mul(_add(_dbl(x2), x2), _inv(_dbl(a[1])))
    else:
        lam = _mul(_sub(q[1], a[1]), _inv(dx))
    x3 = _sub(_sub(_sqr(lam), a[0]), q[0])
    return x3, _sub(_mul(lam, _sub(a[0], x3)), a[1])


# --- G2 scalar twins (tuples in, tuples out) ---------------------------------------------------


def _pt(p):
    return tuple(_e(c) for c in p)


def _tp(p):
    return tuple(_t(c) for c in p)


def jac_double(p):
    return _tp(_jdouble(_pt(p)))


def jac_add(p, q):
    return _tp(_jadd(_pt(p), _pt(q)))


def jac_add_mixed(p, q):
    return _tp(_jmadd(_pt(p), _pt(q)))


def affine_is_infinity(q):
    return _aff_inf(_pt(q))


def jac_is_infinity(p):
    return _is_zero(_e(p[2]))


def jac_neg(p):
    return _tp((_e(p[0]), _neg(_e(p[1])), _e(p[2])))


def affine_neg(q):
    return _tp((_e(q[0]), _neg(_e(q[1]))))


def affine_to_jac(q):
    q = _pt(q)
    return _tp(_JAC_INF if _aff_inf(q) else (q[0], q[1], _I_ONE))


def jac_mul_affine(q, e):
    return _tp(_jmul(_pt(q), _int(e)))


def jac_eq_affine(p, q):
    return _jeq_aff(_pt(p), _pt(q))


def affine_psi(q):
    return _tp(_psi(_pt(q)))


def affine_in_subgroup(q):
    return _status(_pt(q), subgroup=True) == STATUS_OK


def affine_status(q):
    return _status(_pt(q))


# --- G2 array twins on (n, 2|3, 2, 4) ----------------------------------------------------------


def _get_pt(a, i):
    return tuple((_int(a[i, k, 0]), _int(a[i, k, 1])) for k in range(a.shape[1]))


def _put_pt(a, i, p):
    for k, c in enumerate(p):
        a[i, k, 0] = params.to_limbs(c[0])
        a[i, k, 1] = params.to_limbs(c[1])


def jac_double_m(a_jac, out_jac):
    for i in range(a_jac.shape[0]):
        _put_pt(out_jac, i, _jdouble(_get_pt(a_jac, i)))


def jac_add_m(a_jac, b_jac, out_jac):
    for i in range(a_jac.shape[0]):
        _put_pt(out_jac, i, _jadd(_get_pt(a_jac, i), _get_pt(b_jac, i)))


def jac_add_mixed_m(a_jac, b_aff, out_jac):
    for i in range(a_jac.shape[0]):
        _put_pt(out_jac, i, _jmadd(_get_pt(a_jac, i), _get_pt(b_aff, i)))


def affine_to_jac_m(a_aff, out_jac):
    for i in range(a_aff.shape[0]):
        q = _get_pt(a_aff, i)
        _put_pt(out_jac, i, _JAC_INF if _aff_inf(q) else (q[0], q[1], _I_ONE))


def affine_neg_m(a_aff, out_aff):
    for i in range(a_aff.shape[0]):
        q = _get_pt(a_aff, i)
        _put_pt(out_aff, i, (q[0], _neg(q[1])))


def jac_to_affine_m(a_jac, out_aff):
    for i in range(a_jac.shape[0]):
        _put_pt(out_aff, i, _to_affine(_get_pt(a_jac, i)))


def affine_status_m(a_aff, subgroup, out_status):
    for i in range(a_aff.shape[0]):
        out_status[i] = _status(_get_pt(a_aff, i), subgroup)


def affine_add_m(a_aff, q_aff, chunk, out_aff):
    for i in range(a_aff.shape[0]):
        _put_pt(out_aff, i, _affine_add(_get_pt(a_aff, i), _get_pt(q_aff, i)))


# --- fixed-base twins ---------------------------------------------------------------------------


def window_value(s, bit, window):
    return (_int(s) >> bit) & ((1 << window) - 1)


def _digits(scalar_m, window: int, windows: int) -> list[int]:
    k = _int(scalar_m) * _RAW_R_INV_FR % params.R_ORDER  # out of Montgomery form
    half, full = 1 << (window - 1), 1 << window
    out, carry = [], 0
    for j in range(windows):
        d = ((k >> (j * window)) & (full - 1)) + carry
        d, carry = (d - full, 1) if d > half else (d, 0)
        out.append(d)
    return out


def _table_point(table_aff, half, j, d):
    if d > 0:
        return _get_pt(table_aff, j * half + d - 1)
    q = _get_pt(table_aff, j * half - d - 1)
    return q[0], _neg(q[1])


def window_bases_m(base_aff, window, windows, out_jac):
    q = _get_pt(base_aff, 0)
    p = _JAC_INF if _aff_inf(q) else (q[0], q[1], _I_ONE)
    for j in range(windows):
        _put_pt(out_jac, j, p)
        for _ in range(window):
            p = _jdouble(p)


def fixed_base_mul_m(table_aff, window, windows, scalars_m, out_jac):
    half = 1 << (window - 1)
    for i in range(scalars_m.shape[0]):
        acc = _JAC_INF
        for j, d in enumerate(_digits(scalars_m[i], window, windows)):
            if d:
                acc = _jmadd(acc, _table_point(table_aff, half, j, d))
        _put_pt(out_jac, i, acc)


def fixed_base_mul_affine_m(table_aff, window, windows, scalars_m, chunk, out_aff):
    half = 1 << (window - 1)
    for i in range(scalars_m.shape[0]):
        acc = (_I_ZERO, _I_ZERO)
        for j, d in enumerate(_digits(scalars_m[i], window, windows)):
            if d:
                acc = _affine_add(acc, _table_point(table_aff, half, j, d))
        _put_pt(out_aff, i, acc)
