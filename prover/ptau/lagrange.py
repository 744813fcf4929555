"""The Lagrange scalars L_i(tau) of the sections 12-15 that ``prepare phase2`` adds.

Mirrors snarkjs 0.7.6 ``powersoftau_preparephase2.js``, which computes block q (domain size
N = 2^q) as the inverse FFT of the first 2^q points of the monomial section; we compute the
scalars directly. L_i is the Lagrange basis of the 2^q-th roots of unity (snarkjs's w_q,
natural order). The block q = power + 1 of section 12 has one monomial point fewer than it
needs (section 2 stops at tau^(N-2)); snarkjs puts the point at infinity in its place, so that
block holds [L_i(tau) - w^i tau^(N-1) / N]_1, and so do we (``drop_top``). (PLONK setup never
reads it: circuits of a power-K file have at most 2^K gates.)
"""

from __future__ import annotations

import numpy as np

from prover import params
from prover.field.kernels import FR_M

R = params.R_ORDER


def lagrange_scalars_m(tau: int, q: int, drop_top: bool = False) -> np.ndarray:
    """L_i(tau) for the domain of the 2^q-th roots of unity (snarkjs's w_q), i < 2^q, as an
    (2^q, 4) Fr Montgomery array: (tau^N - 1) / N * w^i / (tau - w^i), one batch inversion.

    ``drop_top``: the basis of the polynomial with its X^(N-1) coefficient removed, i.e.
    L_i(tau) - w^i tau^(N-1) / N (what snarkjs's block q = power + 1 of section 12 holds)."""
    n = 1 << q
    w = params.fr_root_of_unity(q)
    wp = FR_M.powers(w, n)
    t = tau % R
    n_inv = pow(n, -1, R)
    if pow(t, n, R) == 1:  # tau is a root of unity of this domain: L_i(tau) = [w^i == tau]
        out = np.zeros((n, 4), dtype=np.uint64)
        hit = np.flatnonzero(np.all(wp == np.array(FR_M.element(t), dtype=np.uint64), axis=1))
        out[int(hit[0])] = np.array(FR_M.element(1), dtype=np.uint64)
    else:
        tau_row = np.tile(np.array(FR_M.element(t), dtype=np.uint64), (n, 1))
        inv = FR_M.batch_inv(FR_M.sub(tau_row, wp))
        out = FR_M.scale(FR_M.mul(wp, inv), (pow(t, n, R) - 1) * n_inv % R)
    if drop_top:
        out = FR_M.sub(out, FR_M.scale(wp, pow(t, n - 1, R) * n_inv % R))
    return out
