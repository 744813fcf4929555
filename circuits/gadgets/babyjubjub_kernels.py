"""Numba kernels for Baby Jubjub (``circuits.gadgets.babyjubjub``) on Fr Montgomery limbs
(``prover.field.mont``), and batch EdDSA-Poseidon verification (``circuits.gadgets.eddsa``).

Points live in extended twisted Edwards coordinates (X : Y : T : Z), x = X/Z, y = Y/Z,
T = XY/Z (Hisil, Wong, Carter, Dawson, "Twisted Edwards curves revisited", ASIACRYPT 2008,
section 3.1): the same complete a-general formulas add-2008-hwcd / dbl-2008-hwcd as the
pure-Python ``babyjubjub._ext_add`` / ``_ext_double``, so every kernel yields the very same
projective coordinates as its twin. Arrays of points are ``(n, 4, 4)`` uint64, rows X, Y, T, Z
in Montgomery form; scalars are ``(n, 4)`` *canonical* little-endian limbs.

- ``mul_m``: variable-base e * P, 4-bit fixed windows, exact for any e < 2^256 (not reduced,
  so right also outside the prime-order subgroup); a doubling that another doubling follows
  skips T (never read by a doubling), which leaves X, Y, Z and the final point unchanged;
- ``mul_base8_m``: e * BASE8 from a table of j * 256^i * BASE8 (affine, ``base8_table_m``):
  at most 32 mixed additions, no doubling;
- ``verify_raw`` / ``verify_raw_parallel``: ``eddsa.verify_poseidon`` for a batch, one
  signature a row, each row independent (no random-linear-combination batching).

In ``verify_raw`` with ``check_subgroup`` the R8 subgroup test is implied, not computed: once A
is in the subgroup, S * BASE8 == R8 + 8 hm A makes R8 = S * BASE8 - 8 hm A a subgroup element,
and where the equation fails the answer is False either way. The result is therefore exactly
``verify_poseidon``'s. A row whose A the caller vouches for (``a_known``: a cache of keys that
passed before) skips the l A multiplication too.

Every kernel has a plain-Python twin of the same signature (name + ``_twin``, at the bottom),
on Python ints through ``babyjubjub``'s own formulas; the tests compare them bit for bit.
"""

from __future__ import annotations

from functools import cache

import numpy as np
from numba import njit, prange

from circuits.gadgets import babyjubjub as bj
from circuits.gadgets import poseidon_kernels as pk
from prover import params
from prover.field import mont as fm

__all__ = [
    "base8_table_m",
    "ext_add_m",
    "ext_add_m_twin",
    "ext_double_m",
    "ext_double_m_twin",
    "mul_base8_m",
    "mul_base8_m_twin",
    "mul_m",
    "mul_m_twin",
    "verify_raw",
    "verify_raw_parallel",
    "verify_raw_parallel_twin",
    "verify_raw_twin",
]

_P = bj.P
_RB = params.MONT_R_BITS
_R = (1 << _RB) % _P
_RINV = pow(1 << _RB, -1, _P)
_MOD = fm.FR_MOD
_ONE = fm.FR_ONE
_ZERO = fm.ZERO
_R2 = fm.FR_R2
_RAW_ONE = fm.RAW_ONE
_A_M = fm._element_tuple(bj.A * _R % _P)
_D_M = fm._element_tuple(bj.D * _R % _P)
_L_LIMBS = fm._element_tuple(bj.SUBORDER)
_U64 = np.uint64

N_WINDOWS_BASE8 = 32  # 8-bit windows: 256 bits
_WIN = 4  # window of the variable-base multiplication

# --- field and point helpers (inline) -------------------------------------------------------


@njit(inline="always")
def _identity():
    return (_ZERO, _ONE, _ZERO, _ONE)


@njit(inline="always")
def _load_c(a, i, c):
    return a[i, c, 0], a[i, c, 1], a[i, c, 2], a[i, c, 3]


@njit(inline="always")
def _store_c(a, i, c, x):
    a[i, c, 0] = x[0]
    a[i, c, 1] = x[1]
    a[i, c, 2] = x[2]
    a[i, c, 3] = x[3]


@njit(inline="always")
def _load_pt(a, i):
    return (_load_c(a, i, 0), _load_c(a, i, 1), _load_c(a, i, 2), _load_c(a, i, 3))


@njit(inline="always")
def _store_pt(a, i, p):
    _store_c(a, i, 0, p[0])
    _store_c(a, i, 1, p[1])
    _store_c(a, i, 2, p[2])
    _store_c(a, i, 3, p[3])


@njit(inline="always")
def _add(p, q):
    """add-2008-hwcd, as ``babyjubjub._ext_add``."""
    a_ = fm.mul(p[0], q[0], _MOD)
    b_ = fm.mul(p[1], q[1], _MOD)
    c_ = fm.mul(fm.mul(_D_M, p[2], _MOD), q[2], _MOD)
    d_ = fm.mul(p[3], q[3], _MOD)
    e_ = fm.mul(fm.add(p[0], p[1], _MOD), fm.add(q[0], q[1], _MOD), _MOD)
    e_ = fm.sub(fm.sub(e_, a_, _MOD), b_, _MOD)
    f_ = fm.sub(d_, c_, _MOD)
    g_ = fm.add(d_, c_, _MOD)
    h_ = fm.sub(b_, fm.mul(_A_M, a_, _MOD), _MOD)
    return (
        fm.mul(e_, f_, _MOD),
        fm.mul(g_, h_, _MOD),
        fm.mul(e_, h_, _MOD),
        fm.mul(f_, g_, _MOD),
    )


@njit(inline="always")
def _madd(p, x2, y2, dt2):
    """``_add(p, (x2, y2, x2 y2, 1))`` with dt2 = d x2 y2 precomputed: same values."""
    a_ = fm.mul(p[0], x2, _MOD)
    b_ = fm.mul(p[1], y2, _MOD)
    c_ = fm.mul(p[2], dt2, _MOD)
    d_ = p[3]
    e_ = fm.mul(fm.add(p[0], p[1], _MOD), fm.add(x2, y2, _MOD), _MOD)
    e_ = fm.sub(fm.sub(e_, a_, _MOD), b_, _MOD)
    f_ = fm.sub(d_, c_, _MOD)
    g_ = fm.add(d_, c_, _MOD)
    h_ = fm.sub(b_, fm.mul(_A_M, a_, _MOD), _MOD)
    return (
        fm.mul(e_, f_, _MOD),
        fm.mul(g_, h_, _MOD),
        fm.mul(e_, h_, _MOD),
        fm.mul(f_, g_, _MOD),
    )


@njit(inline="always")
def _double(p):
    """dbl-2008-hwcd, as ``babyjubjub._ext_double``."""
    a_ = fm.sqr(p[0], _MOD)
    b_ = fm.sqr(p[1], _MOD)
    c_ = fm.double(fm.sqr(p[3], _MOD), _MOD)
    d_ = fm.mul(_A_M, a_, _MOD)
    e_ = fm.sub(fm.sub(fm.sqr(fm.add(p[0], p[1], _MOD), _MOD), a_, _MOD), b_, _MOD)
    g_ = fm.add(d_, b_, _MOD)
    f_ = fm.sub(g_, c_, _MOD)
    h_ = fm.sub(d_, b_, _MOD)
    return (
        fm.mul(e_, f_, _MOD),
        fm.mul(g_, h_, _MOD),
        fm.mul(e_, h_, _MOD),
        fm.mul(f_, g_, _MOD),
    )


@njit(inline="always")
def _double_xyz(p):
    """``_double`` without T3 = E H (T is never read by a doubling): for a doubling that
    another doubling follows. X, Y, Z are the same as ``_double``'s, T is zero."""
    a_ = fm.sqr(p[0], _MOD)
    b_ = fm.sqr(p[1], _MOD)
    c_ = fm.double(fm.sqr(p[3], _MOD), _MOD)
    d_ = fm.mul(_A_M, a_, _MOD)
    e_ = fm.sub(fm.sub(fm.sqr(fm.add(p[0], p[1], _MOD), _MOD), a_, _MOD), b_, _MOD)
    g_ = fm.add(d_, b_, _MOD)
    f_ = fm.sub(g_, c_, _MOD)
    h_ = fm.sub(d_, b_, _MOD)
    return (fm.mul(e_, f_, _MOD), fm.mul(g_, h_, _MOD), _ZERO, fm.mul(f_, g_, _MOD))


@njit(inline="always")
def _from_affine(x, y):
    return (x, y, fm.mul(x, y, _MOD), _ONE)


@njit(inline="always")
def _on_curve(x, y):
    """a x^2 + y^2 == 1 + d x^2 y^2 (Montgomery x, y)."""
    x2 = fm.sqr(x, _MOD)
    y2 = fm.sqr(y, _MOD)
    lhs = fm.add(fm.mul(_A_M, x2, _MOD), y2, _MOD)
    rhs = fm.add(_ONE, fm.mul(fm.mul(_D_M, x2, _MOD), y2, _MOD), _MOD)
    return fm.eq(lhs, rhs)


@njit(inline="always")
def _is_identity(p):
    return fm.is_zero(p[0]) and fm.eq(p[1], p[3])


@njit(inline="always")
def _proj_eq(p, q):
    return fm.eq(fm.mul(p[0], q[3], _MOD), fm.mul(q[0], p[3], _MOD)) and fm.eq(
        fm.mul(p[1], q[3], _MOD), fm.mul(q[1], p[3], _MOD)
    )


@njit(inline="always")
def _mul_point(p, e, tbl):
    """e * p, e four canonical limbs; tbl is (16, 4, 4) scratch for the window table.

    tbl[k] = k p (k even: a doubling of tbl[k / 2], odd: tbl[k - 1] + p); then 4-bit windows
    from the top, doublings only after the first non-zero window, zero windows not added."""
    _store_pt(tbl, 0, _identity())
    _store_pt(tbl, 1, p)
    for k in range(2, 16):
        if k % 2 == 0:
            _store_pt(tbl, k, _double(_load_pt(tbl, k // 2)))
        else:
            _store_pt(tbl, k, _add(_load_pt(tbl, k - 1), p))
    acc = _identity()
    started = False
    for w in range(63, -1, -1):
        digit = np.int64((e[w // 16] >> _U64((w % 16) * 4)) & _U64(15))
        if started:
            acc = _double(_double_xyz(_double_xyz(_double_xyz(acc))))
        if digit != 0:
            acc = _add(acc, _load_pt(tbl, digit))
            started = True
    return acc


@njit(inline="always")
def _mul_base8(e, table_m):
    """e * BASE8 from the 8-bit window table (32 * 256 rows x, y, d x y)."""
    acc = _identity()
    for w in range(N_WINDOWS_BASE8):
        digit = np.int64((e[w // 8] >> _U64((w % 8) * 8)) & _U64(255))
        if digit != 0:
            j = w * 256 + digit
            acc = _madd(acc, _load_c(table_m, j, 0), _load_c(table_m, j, 1), _load_c(table_m, j, 2))
    return acc


# --- array kernels ------------------------------------------------------------------------------


# The prange bodies call plain (not inlined) row functions: Numba's parfor array analysis
# trips over the nested point tuples when they are inlined into a parallel loop.


@njit(cache=True)
def _add_row(p_m, q_m, out_m, i):
    _store_pt(out_m, i, _add(_load_pt(p_m, i), _load_pt(q_m, i)))


@njit(cache=True)
def _double_row(p_m, out_m, i):
    _store_pt(out_m, i, _double(_load_pt(p_m, i)))


@njit(cache=True)
def _mul_row(p_m, scalars_raw, out_m, tbl, i):
    _store_pt(out_m, i, _mul_point(_load_pt(p_m, i), fm.load(scalars_raw, i), tbl))


@njit(cache=True)
def _mul_base8_row(scalars_raw, table_m, out_m, i):
    _store_pt(out_m, i, _mul_base8(fm.load(scalars_raw, i), table_m))


@njit(cache=True, parallel=True)
def ext_add_m(p_m, q_m, out_m):
    """out[i] = p[i] + q[i] on (n, 4, 4) extended Montgomery points (out may alias)."""
    for i in prange(p_m.shape[0]):
        _add_row(p_m, q_m, out_m, i)


@njit(cache=True, parallel=True)
def ext_double_m(p_m, out_m):
    """out[i] = 2 p[i]."""
    for i in prange(p_m.shape[0]):
        _double_row(p_m, out_m, i)


@njit(cache=True, parallel=True)
def mul_m(p_m, scalars_raw, out_m):
    """out[i] = scalars[i] * p[i], exact (not reduced mod l); scalars canonical (n, 4) limbs."""
    for i in prange(p_m.shape[0]):
        tbl = np.empty((16, 4, 4), dtype=np.uint64)
        _mul_row(p_m, scalars_raw, out_m, tbl, i)


@njit(cache=True, parallel=True)
def mul_base8_m(scalars_raw, table_m, out_m):
    """out[i] = scalars[i] * BASE8 (any scalar < 2^256) with ``base8_table_m()``."""
    for i in prange(scalars_raw.shape[0]):
        _mul_base8_row(scalars_raw, table_m, out_m, i)


@njit(cache=True)
def _verify_rows(
    msg_raw,
    r8_raw,
    a_raw,
    s_raw,
    a_known,
    out,
    a_ok,
    check_subgroup,
    table_m,
    c_m,
    s_m,
    mc_m,
    pc_m,
    nf,
    np_,
    lo,
    hi,
):
    tbl = np.empty((16, 4, 4), dtype=np.uint64)
    st = np.empty((6, 4), dtype=np.uint64)
    tmp = np.empty((6, 4), dtype=np.uint64)
    for k in range(lo, hi):
        xr = fm.mul(_load_c(r8_raw, k, 0), _R2, _MOD)
        yr = fm.mul(_load_c(r8_raw, k, 1), _R2, _MOD)
        xa = fm.mul(_load_c(a_raw, k, 0), _R2, _MOD)
        ya = fm.mul(_load_c(a_raw, k, 1), _R2, _MOD)
        if not (_on_curve(xr, yr) and _on_curve(xa, ya)):
            continue
        pa = _from_affine(xa, ya)
        if check_subgroup:
            if a_known[k] == 0:
                if fm.is_zero(xa) and fm.eq(ya, _ONE):
                    continue  # A is the identity
                if not _is_identity(_mul_point(pa, _L_LIMBS, tbl)):
                    continue
            a_ok[k] = 1
        # hm = Poseidon(R8x, R8y, Ax, Ay, M)
        fm.store(st, 0, _ZERO)
        fm.store(st, 1, xr)
        fm.store(st, 2, yr)
        fm.store(st, 3, xa)
        fm.store(st, 4, ya)
        fm.store(st, 5, fm.mul(fm.load(msg_raw, k), _R2, _MOD))
        pk.permute_m(st, tmp, c_m, s_m, mc_m, pc_m, nf, np_)
        hm = fm.mul(fm.load(st, 0), _RAW_ONE, _MOD)
        q = _mul_point(pa, hm, tbl)
        q = _double(_double_xyz(_double_xyz(q)))
        right = _add(_from_affine(xr, yr), q)
        left = _mul_base8(fm.load(s_raw, k), table_m)
        if _proj_eq(left, right):
            out[k] = 1


@njit(cache=True)
def verify_raw(
    msg_raw,
    r8_raw,
    a_raw,
    s_raw,
    a_known,
    out,
    a_ok,
    check_subgroup,
    table_m,
    c_m,
    s_m,
    mc_m,
    pc_m,
    nf,
    np_,
):
    """out[k] = 1 where signature k verifies, else 0, one thread.

    msg_raw (n, 4), r8_raw and a_raw (n, 2, 4) affine (x, y), s_raw (n, 4): canonical limbs,
    coordinates < r and S < l checked by the caller; the curve, subgroup, identity checks and
    the equation are here. c_m..np_: ``poseidon_kernels.kernel_constants(6)``.

    With ``check_subgroup``, a_known[k] = 1 vouches that A is already known to be in the
    subgroup and not the identity (the l A multiplication is skipped; the caller's cache), and
    a_ok[k] is set to 1 where A is on the curve and passes (or skipped) those checks; out and
    a_ok are written only where due (zero them first)."""
    _verify_rows(
        msg_raw,
        r8_raw,
        a_raw,
        s_raw,
        a_known,
        out,
        a_ok,
        check_subgroup,
        table_m,
        c_m,
        s_m,
        mc_m,
        pc_m,
        nf,
        np_,
        0,
        msg_raw.shape[0],
    )


@njit(cache=True, parallel=True)
def verify_raw_parallel(
    msg_raw,
    r8_raw,
    a_raw,
    s_raw,
    a_known,
    out,
    a_ok,
    check_subgroup,
    table_m,
    c_m,
    s_m,
    mc_m,
    pc_m,
    nf,
    np_,
    chunk,
):
    """``verify_raw`` in chunks of ``chunk`` rows across Numba's threads."""
    n = msg_raw.shape[0]
    n_chunks = (n + chunk - 1) // chunk
    for c in prange(n_chunks):
        lo = c * chunk
        hi = min(n, lo + chunk)
        _verify_rows(
            msg_raw,
            r8_raw,
            a_raw,
            s_raw,
            a_known,
            out,
            a_ok,
            check_subgroup,
            table_m,
            c_m,
            s_m,
            mc_m,
            pc_m,
            nf,
            np_,
            lo,
            hi,
        )


@cache
def base8_table_m() -> np.ndarray:
    """(32 * 256, 3, 4) Montgomery rows (x, y, d x y) of j * 256^i * BASE8 at row 256 i + j
    (row 256 i is the identity). Built once a process with Python ints (~0.1 s)."""
    rows: list[int] = []
    base = bj.BASE8
    for _ in range(N_WINDOWS_BASE8):
        pt = bj.IDENTITY
        for _j in range(256):
            x, y = pt
            rows += [x, y, bj.D * x % _P * y % _P]
            pt = bj.add(pt, base)
        base = pt  # 256 * base
    buf = b"".join((v * _R % _P).to_bytes(32, "little") for v in rows)
    out = np.frombuffer(buf, dtype="<u8").astype(np.uint64).reshape(N_WINDOWS_BASE8 * 256, 3, 4)
    return np.ascontiguousarray(out)


# --- plain-Python twins (same signatures, Python ints inside) -----------------------------------

_Ext = tuple[int, int, int, int]


def _get(a: np.ndarray) -> int:
    return sum(int(a[k]) << (64 * k) for k in range(4))


def _put(a: np.ndarray, x: int) -> None:
    for k, w in enumerate(params.to_limbs(x)):
        a[k] = w


def _get_m(a: np.ndarray) -> int:
    return _get(a) * _RINV % _P


def _put_m(a: np.ndarray, x: int) -> None:
    _put(a, x * _R % _P)


def _get_pt(a: np.ndarray, i: int) -> _Ext:
    return tuple(_get_m(a[i, c]) for c in range(4))  # type: ignore[return-value]


def _put_pt(a: np.ndarray, i: int, p: _Ext) -> None:
    for c in range(4):
        _put_m(a[i, c], p[c])


_ID: _Ext = (0, 1, 0, 1)


def _mul_point_twin(p: _Ext, e: int) -> _Ext:
    tbl = [_ID, p]
    for k in range(2, 16):
        tbl.append(bj._ext_double(tbl[k // 2]) if k % 2 == 0 else bj._ext_add(tbl[k - 1], p))
    acc, started = _ID, False
    for w in range(63, -1, -1):
        digit = (e >> (4 * w)) & 15
        if started:
            for _ in range(4):
                acc = bj._ext_double(acc)
        if digit:
            acc = bj._ext_add(acc, tbl[digit])
            started = True
    return acc


def _mul_base8_twin(e: int, table_m: np.ndarray) -> _Ext:
    acc = _ID
    for w in range(N_WINDOWS_BASE8):
        digit = (e >> (8 * w)) & 255
        if digit:
            r = table_m[w * 256 + digit]
            x, y = _get_m(r[0]), _get_m(r[1])
            acc = bj._ext_add(acc, (x, y, x * y % _P, 1))
    return acc


def ext_add_m_twin(p_m, q_m, out_m):
    for i in range(p_m.shape[0]):
        _put_pt(out_m, i, bj._ext_add(_get_pt(p_m, i), _get_pt(q_m, i)))


def ext_double_m_twin(p_m, out_m):
    for i in range(p_m.shape[0]):
        _put_pt(out_m, i, bj._ext_double(_get_pt(p_m, i)))


def mul_m_twin(p_m, scalars_raw, out_m):
    for i in range(p_m.shape[0]):
        _put_pt(out_m, i, _mul_point_twin(_get_pt(p_m, i), _get(scalars_raw[i])))


def mul_base8_m_twin(scalars_raw, table_m, out_m):
    for i in range(scalars_raw.shape[0]):
        _put_pt(out_m, i, _mul_base8_twin(_get(scalars_raw[i]), table_m))


def _proj_eq_twin(p: _Ext, q: _Ext) -> bool:
    return p[0] * q[3] % _P == q[0] * p[3] % _P and p[1] * q[3] % _P == q[1] * p[3] % _P


def verify_raw_twin(
    msg_raw,
    r8_raw,
    a_raw,
    s_raw,
    a_known,
    out,
    a_ok,
    check_subgroup,
    table_m,
    c_m,
    s_m,
    mc_m,
    pc_m,
    nf,
    np_,
):
    """Twin of ``verify_raw``; the Poseidon constants are unused (pure-Python ``poseidon``)."""
    from circuits.gadgets.poseidon import poseidon

    for k in range(msg_raw.shape[0]):
        xr, yr = _get(r8_raw[k, 0]), _get(r8_raw[k, 1])
        xa, ya = _get(a_raw[k, 0]), _get(a_raw[k, 1])
        if not (bj.on_curve((xr, yr)) and bj.on_curve((xa, ya))):
            continue
        pa = (xa, ya, xa * ya % _P, 1)
        if check_subgroup:
            if a_known[k] == 0:
                if (xa, ya) == bj.IDENTITY:
                    continue
                z = _mul_point_twin(pa, bj.SUBORDER)
                if not (z[0] == 0 and z[1] == z[3]):
                    continue
            a_ok[k] = 1
        hm = poseidon([xr, yr, xa, ya, _get(msg_raw[k])])
        q = _mul_point_twin(pa, hm)
        q = bj._ext_double(bj._ext_double(bj._ext_double(q)))
        right = bj._ext_add((xr, yr, xr * yr % _P, 1), q)
        left = _mul_base8_twin(_get(s_raw[k]), table_m)
        if _proj_eq_twin(left, right):
            out[k] = 1


def verify_raw_parallel_twin(
    msg_raw,
    r8_raw,
    a_raw,
    s_raw,
    a_known,
    out,
    a_ok,
    check_subgroup,
    table_m,
    c_m,
    s_m,
    mc_m,
    pc_m,
    nf,
    np_,
    chunk,
):
    verify_raw_twin(
        msg_raw,
        r8_raw,
        a_raw,
        s_raw,
        a_known,
        out,
        a_ok,
        check_subgroup,
        table_m,
        c_m,
        s_m,
        mc_m,
        pc_m,
        nf,
        np_,
    )
