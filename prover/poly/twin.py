"""Plain-Python twins of the kernels of ``prover.poly.ntt``, ``prover.poly.domain`` and
``prover.poly.polynomial``: same names, same signatures, Python ints inside.

They read and write the same (n, 4) uint64 Montgomery arrays as the Numba kernels, so a test can
run a kernel and its twin on one input and compare the arrays bit for bit. The NTT twins do not
trust the twiddle table they are given: they take omega from ``prover.params`` (snarkjs's root)
and run a textbook recursive radix-2 Cooley-Tukey transform.
"""

from __future__ import annotations

import numpy as np

from prover import params

R = params.R_ORDER
_MONT = 1 << params.MONT_R_BITS
_MONT_INV = pow(_MONT, -1, R)


def _get(a: np.ndarray, i: int) -> int:
    """Row i as the canonical int it represents (out of Montgomery form)."""
    return sum(int(a[i, k]) << (64 * k) for k in range(4)) * _MONT_INV % R


def _put(a: np.ndarray, i: int, x: int) -> None:
    for k, w in enumerate(params.to_limbs(x * _MONT % R)):
        a[i, k] = w


def _scalar(t: tuple) -> int:
    """A Montgomery tuple as the canonical int it represents."""
    return sum(int(w) << (64 * k) for k, w in enumerate(t)) * _MONT_INV % R


def _read(a: np.ndarray) -> list[int]:
    return [_get(a, i) for i in range(a.shape[0])]


def _write(a: np.ndarray, xs: list[int]) -> None:
    for i, x in enumerate(xs):
        _put(a, i, x)


def _log2(n: int) -> int:
    if n < 1 or n & (n - 1):
        raise ValueError(f"length must be a power of two, got {n}")
    return n.bit_length() - 1


def _fft(xs: list[int], w: int) -> list[int]:
    """sum_j xs[j] w^(ij) for i < len(xs), w of order len(xs) (recursive radix 2)."""
    n = len(xs)
    if n == 1:
        return list(xs)
    even = _fft(xs[0::2], w * w % R)
    odd = _fft(xs[1::2], w * w % R)
    out = [0] * n
    t = 1
    for i in range(n // 2):
        v = t * odd[i] % R
        out[i] = (even[i] + v) % R
        out[i + n // 2] = (even[i] - v) % R
        t = t * w % R
    return out


def bit_reverse_m(a_m):
    n = a_m.shape[0]
    k = _log2(n)
    xs = _read(a_m)
    _write(a_m, [xs[int(format(i, f"0{k}b")[::-1], 2) if k else 0] for i in range(n)])


def butterflies_m(a_m, tw_m, first_bits, late_bits):
    """The DIT stages alone: bit-reversed input, natural-order transform out."""
    n = a_m.shape[0]
    k = _log2(n)
    xs = _read(a_m)
    natural = [xs[int(format(i, f"0{k}b")[::-1], 2) if k else 0] for i in range(n)]
    _write(a_m, _fft(natural, params.fr_root_of_unity(k)))


def ntt_m(a_m, tw_m):
    n = a_m.shape[0]
    _write(a_m, _fft(_read(a_m), params.fr_root_of_unity(_log2(n))))


def intt_m(a_m, tw_m, n_inv):
    n = a_m.shape[0]
    w_inv = pow(params.fr_root_of_unity(_log2(n)), -1, R)
    c = _scalar(n_inv)
    _write(a_m, [c * y % R for y in _fft(_read(a_m), w_inv)])


def coset_ntt_m(a_m, tw_m, shift):
    g = _scalar(shift)
    xs = [x * pow(g, j, R) % R for j, x in enumerate(_read(a_m))]
    _write(a_m, _fft(xs, params.fr_root_of_unity(_log2(a_m.shape[0]))))


def coset_intt_m(a_m, tw_m, n_inv, shift_inv):
    n = a_m.shape[0]
    w_inv = pow(params.fr_root_of_unity(_log2(n)), -1, R)
    c, g_inv = _scalar(n_inv), _scalar(shift_inv)
    ys = _fft(_read(a_m), w_inv)
    _write(a_m, [c * pow(g_inv, j, R) * y % R for j, y in enumerate(ys)])


def geometric_m(start, ratio, out_m):
    s, r = _scalar(start), _scalar(ratio)
    _write(out_m, [s * pow(r, i, R) % R for i in range(out_m.shape[0])])


# --- polynomial kernels -----------------------------------------------------------------------


def horner_m(p_m, x):
    xv = _scalar(x)
    acc = 0
    for c in reversed(_read(p_m)):
        acc = (acc * xv + c) % R
    return tuple(np.uint64(w) for w in params.to_limbs(acc * _MONT % R))


def div_vanishing_m(p_m, n, q_m):
    """Long division by x^n - 1, top down: q[i] = p[i+n] + q[i+n]; remainder p[i] + q[i]."""
    ps = _read(p_m)
    size = len(ps)
    qs = [0] * size
    for i in range(size - n - 1, -1, -1):
        qs[i] = (ps[i + n] + (qs[i + n] if i + n < size else 0)) % R
    _write(q_m, qs)
    return all((ps[i] + qs[i]) % R == 0 for i in range(min(n, size)))


def mul_periodic_m(a_m, table_m, out_m):
    t = _read(table_m)
    _write(out_m, [x * t[i % len(t)] % R for i, x in enumerate(_read(a_m))])
