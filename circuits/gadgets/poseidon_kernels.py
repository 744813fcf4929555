"""Numba kernels for native Poseidon: the optimised permutation of ``circuits.gadgets.poseidon``
on Montgomery limbs (``prover.field.mont``), for batches and for Merkle paths.

Same algorithm and constants as ``poseidon._compiled`` (circomlib ``poseidon.circom``'s
optimised form, Grassi et al. ePrint 2019/458 with neptune's sparse partial rounds); the tests
check these kernels against the pure-Python permutation and circomlibjs.

Kernels take and return *canonical* (non-Montgomery) ``(.., 4)`` uint64 limbs made by
``prover.field.convert.ints_to_raw`` and read back by ``raw_to_ints``; they enter and leave
Montgomery form inside (one multiplication by R^2, one by 1), so a call costs two conversions
per value at the boundary, not per round.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np
from numba import njit, prange

from circuits.gadgets.poseidon_constants import params
from prover.field import convert
from prover.field import mont as fm
from prover.field.kernels import FR_M

_MOD = fm.FR_MOD
_R2 = fm.FR_R2
_RAW_ONE = fm.RAW_ONE


@dataclass(frozen=True)
class KernelConstants:
    """``params(t)``'s optimised constants as Montgomery arrays, in the kernels' layout."""

    t: int
    n_rounds_f: int
    n_rounds_p: int
    c_m: np.ndarray  # (t * R_F + R_P, 4) circomlib's POSEIDON_C
    s_m: np.ndarray  # (R_P * (2t - 1), 4) circomlib's POSEIDON_S
    mc_m: np.ndarray  # (t, t, 4): mc_m[i, j] = M[j][i] (row i of the applied matrix)
    pc_m: np.ndarray  # (t, t, 4): same for P


@cache
def kernel_constants(t: int) -> KernelConstants:
    pp = params(t)

    def mat(a: tuple[tuple[int, ...], ...]) -> np.ndarray:
        flat = [a[j][i] for i in range(t) for j in range(t)]
        return np.ascontiguousarray(convert.to_mont(FR_M, flat).reshape(t, t, 4))

    return KernelConstants(
        t=t,
        n_rounds_f=pp.n_rounds_f,
        n_rounds_p=pp.n_rounds_p,
        c_m=convert.to_mont(FR_M, pp.opt_c),
        s_m=convert.to_mont(FR_M, pp.opt_s),
        mc_m=mat(pp.opt_m),
        pc_m=mat(pp.opt_p),
    )


@njit(inline="always")
def _pow5(x):
    x2 = fm.mul(x, x, _MOD)
    x4 = fm.mul(x2, x2, _MOD)
    return fm.mul(x4, x, _MOD)


@njit(inline="always")
def _full_round(s, tmp, c_m, c_off, mat, t, add_constants):
    """s <- mat * (sbox(s) + c): S-box on every cell, constants (optional), matrix."""
    for i in range(t):
        x = _pow5(fm.load(s, i))
        if add_constants:
            x = fm.add(x, fm.load(c_m, c_off + i), _MOD)
        fm.store(tmp, i, x)
    for i in range(t):
        acc = fm.mul(fm.load(mat[i], 0), fm.load(tmp, 0), _MOD)
        for j in range(1, t):
            acc = fm.add(acc, fm.mul(fm.load(mat[i], j), fm.load(tmp, j), _MOD), _MOD)
        fm.store(s, i, acc)


@njit(cache=True)
def permute_m(s, tmp, c_m, s_m, mc_m, pc_m, n_rounds_f, n_rounds_p):
    """The permutation in place on s, a (t, 4) Montgomery state; tmp is (t, 4) scratch."""
    t = s.shape[0]
    half = n_rounds_f // 2
    for i in range(t):
        fm.store(s, i, fm.add(fm.load(s, i), fm.load(c_m, i), _MOD))
    for r in range(half - 1):
        _full_round(s, tmp, c_m, (r + 1) * t, mc_m, t, True)
    _full_round(s, tmp, c_m, half * t, pc_m, t, True)
    w = 2 * t - 1
    base = (half + 1) * t
    s0 = fm.load(s, 0)
    for r in range(n_rounds_p):
        s0 = fm.add(_pow5(s0), fm.load(c_m, base + r), _MOD)
        off = w * r
        acc = fm.mul(fm.load(s_m, off), s0, _MOD)
        for j in range(1, t):
            sj = fm.load(s, j)
            acc = fm.add(acc, fm.mul(fm.load(s_m, off + j), sj, _MOD), _MOD)
            fm.store(s, j, fm.add(sj, fm.mul(s0, fm.load(s_m, off + t + j - 1), _MOD), _MOD))
        s0 = acc
    fm.store(s, 0, s0)
    base2 = base + n_rounds_p
    for r in range(half - 1):
        _full_round(s, tmp, c_m, base2 + r * t, mc_m, t, True)
    _full_round(s, tmp, c_m, 0, mc_m, t, False)


@njit(cache=True)
def _hash_rows(inputs, out, c_m, s_m, mc_m, pc_m, n_rounds_f, n_rounds_p, lo, hi):
    t = inputs.shape[1] + 1
    s = np.empty((t, 4), dtype=np.uint64)
    tmp = np.empty((t, 4), dtype=np.uint64)
    zero = (np.uint64(0), np.uint64(0), np.uint64(0), np.uint64(0))
    for k in range(lo, hi):
        fm.store(s, 0, zero)
        for i in range(t - 1):
            fm.store(s, i + 1, fm.mul(fm.load(inputs[k], i), _R2, _MOD))
        permute_m(s, tmp, c_m, s_m, mc_m, pc_m, n_rounds_f, n_rounds_p)
        fm.store(out, k, fm.mul(fm.load(s, 0), _RAW_ONE, _MOD))


@njit(cache=True)
def hash_many_raw(inputs, out, c_m, s_m, mc_m, pc_m, n_rounds_f, n_rounds_p):
    """out[k] = poseidon(inputs[k]) for inputs (n, t - 1, 4) canonical limbs, one thread."""
    _hash_rows(inputs, out, c_m, s_m, mc_m, pc_m, n_rounds_f, n_rounds_p, 0, inputs.shape[0])


@njit(cache=True, parallel=True)
def hash_many_raw_parallel(inputs, out, c_m, s_m, mc_m, pc_m, n_rounds_f, n_rounds_p, chunk):
    """``hash_many_raw`` split into chunks of ``chunk`` rows across Numba's threads."""
    n = inputs.shape[0]
    n_chunks = (n + chunk - 1) // chunk
    for c in prange(n_chunks):
        lo = c * chunk
        hi = min(n, lo + chunk)
        _hash_rows(inputs, out, c_m, s_m, mc_m, pc_m, n_rounds_f, n_rounds_p, lo, hi)


@njit(cache=True)
def hash_path_raw(leaf, siblings, bits, nodes, c_m, s_m, mc_m, pc_m, n_rounds_f, n_rounds_p):
    """A Merkle path with Poseidon(2) nodes, canonical limbs in and out.

    nodes[0] = leaf; nodes[i + 1] = H(nodes[i], siblings[i]) when bits[i] == 0 (a left child),
    H(siblings[i], nodes[i]) when bits[i] == 1. nodes has len(siblings) + 1 rows.
    """
    s = np.empty((3, 4), dtype=np.uint64)
    tmp = np.empty((3, 4), dtype=np.uint64)
    zero = (np.uint64(0), np.uint64(0), np.uint64(0), np.uint64(0))
    cur = fm.mul(fm.load(leaf, 0), _R2, _MOD)
    fm.store(nodes, 0, fm.load(leaf, 0))
    for i in range(siblings.shape[0]):
        sib = fm.mul(fm.load(siblings, i), _R2, _MOD)
        fm.store(s, 0, zero)
        if bits[i]:
            fm.store(s, 1, sib)
            fm.store(s, 2, cur)
        else:
            fm.store(s, 1, cur)
            fm.store(s, 2, sib)
        permute_m(s, tmp, c_m, s_m, mc_m, pc_m, n_rounds_f, n_rounds_p)
        cur = fm.load(s, 0)
        fm.store(nodes, i + 1, fm.mul(cur, _RAW_ONE, _MOD))
