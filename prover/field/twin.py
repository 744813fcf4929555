"""Plain-Python twins of ``prover.field.kernels``: same names, same signatures, Python ints inside.

They read and write the same (n, 4) uint64 Montgomery arrays, so tests can run a kernel and its
twin on one input and compare the outputs bit for bit.
"""

from __future__ import annotations

import numpy as np

from prover import params

_R = 1 << params.MONT_R_BITS


def _modulus(mod: tuple) -> int:
    return sum(int(w) << (64 * k) for k, w in enumerate(mod[:4]))


def _get(a: np.ndarray, i: int) -> int:
    return sum(int(a[i, k]) << (64 * k) for k in range(4))


def _put(a: np.ndarray, i: int, x: int) -> None:
    for k, w in enumerate(params.to_limbs(x)):
        a[i, k] = w


def _tuple_int(t: tuple) -> int:
    return sum(int(w) << (64 * k) for k, w in enumerate(t))


def _mont_mul(x: int, y: int, m: int) -> int:
    return x * y * pow(_R, -1, m) % m


def add_m(a_m, b_m, out_m, mod):
    m = _modulus(mod)
    for i in range(a_m.shape[0]):
        _put(out_m, i, (_get(a_m, i) + _get(b_m, i)) % m)


def sub_m(a_m, b_m, out_m, mod):
    m = _modulus(mod)
    for i in range(a_m.shape[0]):
        _put(out_m, i, (_get(a_m, i) - _get(b_m, i)) % m)


def neg_m(a_m, out_m, mod):
    m = _modulus(mod)
    for i in range(a_m.shape[0]):
        _put(out_m, i, -_get(a_m, i) % m)


def mul_m(a_m, b_m, out_m, mod):
    m = _modulus(mod)
    for i in range(a_m.shape[0]):
        _put(out_m, i, _mont_mul(_get(a_m, i), _get(b_m, i), m))


def sqr_m(a_m, out_m, mod):
    m = _modulus(mod)
    for i in range(a_m.shape[0]):
        x = _get(a_m, i)
        _put(out_m, i, _mont_mul(x, x, m))


def scale_m(a_m, s, out_m, mod):
    m = _modulus(mod)
    sv = _tuple_int(s)
    for i in range(a_m.shape[0]):
        _put(out_m, i, _mont_mul(_get(a_m, i), sv, m))


def pow_m(a_m, e, out_m, one, mod):
    m = _modulus(mod)
    ev = _tuple_int(e)
    for i in range(a_m.shape[0]):
        x = _get(a_m, i) * pow(_R, -1, m) % m  # out of Montgomery form
        _put(out_m, i, pow(x, ev, m) * _R % m)


def inv_m(a_m, out_m, one, mod):
    m = _modulus(mod)
    for i in range(a_m.shape[0]):
        x = _get(a_m, i) * pow(_R, -1, m) % m
        _put(out_m, i, 0 if x == 0 else pow(x, -1, m) * _R % m)


batch_inv_m = inv_m


def all_canonical(raw, mod):
    m = _modulus(mod)
    return all(_get(raw, i) < m for i in range(raw.shape[0]))


def sum_m(a_m, mod):
    m = _modulus(mod)
    total = sum(_get(a_m, i) for i in range(a_m.shape[0])) % m
    return tuple(np.uint64(w) for w in params.to_limbs(total))


def powers_m(base, n, one, out_m, mod):
    m = _modulus(mod)
    b = _tuple_int(base) * pow(_R, -1, m) % m
    for i in range(n):
        _put(out_m, i, pow(b, i, m) * _R % m)
