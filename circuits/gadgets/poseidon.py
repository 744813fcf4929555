"""Native Poseidon over BN254 Fr, circomlib's instance (x^5, 8 full rounds, circomlib's partial
rounds), for 1..16 inputs exactly as circomlibjs 0.1.7's ``poseidon`` (``src/poseidon_wasm.js``).

Poseidon: Grassi et al., ePrint 2019/458, section 2 (the HADES design) and section 4 (the
instance). The state is ``[init_state, *inputs]`` (circomlib's capacity element first, 0 by
default); the output is ``state[0]`` (or the first ``n_out`` elements) after the permutation.

Two implementations of the same permutation:

- ``permute_reference``: the paper's rounds one after another (circomlibjs
  ``poseidon_reference.js``): add round constants, S-box (all cells in a full round, cell 0 in
  a partial round), multiply by the MDS matrix;
- ``permute``: the equivalent optimised form of circomlib's ``poseidon.circom`` /
  circomlibjs ``poseidon_opt.js`` (constants folded through M^-1, partial-round matrices
  factored into sparse ones, Filecoin's neptune): 2t - 1 multiplications a partial round
  instead of t^2. This is the one ``poseidon`` uses; the tests check both against each other
  and against circomlibjs.

Speed: ``poseidon`` is pure Python (no Numba start-up; about 3.5k Poseidon(2) a second on the
development VM, circomlibjs does about 16k); ``poseidon_many`` hashes batches through the Numba
kernels of ``circuits.gadgets.poseidon_kernels`` (about 70k a second per core), and the Merkle
tree hashes whole paths there (bench/test_bench_natives.py).

Values are canonical Python ints; inputs must already be field elements (0 <= x < r).
Parameters (round constants, matrices) live in ``circuits.gadgets.poseidon_constants`` and are
shared with the in-circuit twin.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import cache

from circuits.gadgets.poseidon_constants import (
    FIELD_MODULUS,
    MAX_WIDTH,
    PoseidonParams,
    PoseidonParamsError,
    params,
    params_for_inputs,
)

__all__ = [
    "FIELD_MODULUS",
    "MAX_INPUTS",
    "PoseidonInputError",
    "PoseidonParams",
    "PoseidonParamsError",
    "params",
    "permute",
    "permute_reference",
    "poseidon",
    "poseidon2",
    "poseidon_ex",
    "poseidon_many",
]

MAX_INPUTS = MAX_WIDTH - 1  # 16


class PoseidonInputError(ValueError):
    """An input that is not a canonical field element."""


def _check_elements(values: Sequence[int], what: str) -> None:
    p = FIELD_MODULUS
    for i, x in enumerate(values):
        if not isinstance(x, int) or isinstance(x, bool) or not 0 <= x < p:
            raise PoseidonInputError(
                f"Poseidon {what}[{i}] must be an int in [0, r) (BN254 scalar field), got {x!r}"
            )


def permute_reference(state: Sequence[int]) -> list[int]:
    """The Poseidon permutation of width len(state), round by round (the paper's form)."""
    pp = params(len(state))
    p, t, c, m = FIELD_MODULUS, pp.t, pp.c, pp.m
    half = pp.n_rounds_f // 2
    s = list(state)
    for r in range(pp.n_rounds_f + pp.n_rounds_p):
        s = [(x + c[r * t + i]) % p for i, x in enumerate(s)]
        if r < half or r >= half + pp.n_rounds_p:
            s = [pow(x, 5, p) for x in s]
        else:
            s[0] = pow(s[0], 5, p)
        s = [sum(row[j] * s[j] for j in range(t)) % p for row in m]
    return s


@cache
def _compiled(t: int) -> Callable[[list[int]], list[int]]:
    """The optimised permutation of width t as a closure over local tuples."""
    pp = params(t)
    p = FIELD_MODULUS
    half = pp.n_rounds_f // 2
    n_p = pp.n_rounds_p
    C = pp.opt_c
    # Columns of circomlib's M and P: new[i] = sum_j M[j][i] * s[j] = dot(col_i, s).
    m_cols = tuple(tuple(pp.opt_m[j][i] for j in range(t)) for i in range(t))
    p_cols = tuple(tuple(pp.opt_p[j][i] for j in range(t)) for i in range(t))
    first_c = C[:t]
    full1_c = tuple(C[(r + 1) * t : (r + 2) * t] for r in range(half))  # last one precedes P
    part_c = C[(half + 1) * t : (half + 1) * t + n_p]
    base2 = (half + 1) * t + n_p
    full2_c = tuple(C[base2 + r * t : base2 + (r + 1) * t] for r in range(half - 1))
    w = 2 * t - 1
    # Per partial round: (S row of t entries, t - 1 column entries).
    sparse = tuple(
        (pp.opt_s[w * r : w * r + t], pp.opt_s[w * r + t : w * r + w]) for r in range(n_p)
    )
    rng_t = range(t)

    def mix(cols: tuple[tuple[int, ...], ...], s: list[int]) -> list[int]:
        return [sum(a * b for a, b in zip(col, s)) % p for col in cols]

    def sbox_all(s: list[int]) -> list[int]:
        out = []
        for x in s:
            x2 = x * x % p
            out.append(x2 * x2 % p * x % p)
        return out

    def perm(state: list[int]) -> list[int]:
        s = [(x + k) % p for x, k in zip(state, first_c)]
        for r in range(half - 1):
            s = sbox_all(s)
            k = full1_c[r]
            s = mix(m_cols, [s[i] + k[i] for i in rng_t])
        s = sbox_all(s)
        k = full1_c[half - 1]
        s = mix(p_cols, [s[i] + k[i] for i in rng_t])
        s0 = s[0]
        rest = s[1:]
        for r in range(n_p):
            x2 = s0 * s0 % p
            s0 = (x2 * x2 % p * s0 + part_c[r]) % p
            row, col = sparse[r]
            new0 = row[0] * s0
            for j in range(t - 1):
                new0 += row[j + 1] * rest[j]
                rest[j] = (rest[j] + s0 * col[j]) % p
            s0 = new0 % p
        s = [s0, *rest]
        for r in range(half - 1):
            s = sbox_all(s)
            k = full2_c[r]
            s = mix(m_cols, [s[i] + k[i] for i in rng_t])
        return mix(m_cols, sbox_all(s))

    return perm


def permute(state: Sequence[int]) -> list[int]:
    """The Poseidon permutation of width len(state) (2..17), circomlib's optimised form."""
    return _compiled(len(state))(list(state))


def poseidon_ex(inputs: Sequence[int], init_state: int = 0, n_out: int = 1) -> list[int]:
    """circomlib's ``PoseidonEx``: the first ``n_out`` state elements after permuting
    ``[init_state, *inputs]``."""
    pp = params_for_inputs(len(inputs))
    _check_elements(inputs, "inputs")
    _check_elements([init_state], "init_state")
    if not isinstance(n_out, int) or not 1 <= n_out <= pp.t:
        raise PoseidonInputError(f"n_out must be in 1..{pp.t}, got {n_out!r}")
    return _compiled(pp.t)([init_state, *inputs])[:n_out]


def poseidon(inputs: Sequence[int]) -> int:
    """Poseidon hash of 1..16 field elements, equal to circomlibjs's ``poseidon(inputs)``."""
    n = len(inputs)
    if not 1 <= n <= MAX_INPUTS:
        params_for_inputs(n)  # raises PoseidonParamsError
    _check_elements(inputs, "inputs")
    return _compiled(n + 1)([0, *inputs])[0]


def poseidon2(a: int, b: int) -> int:
    """``poseidon([a, b])``: the Merkle node hash."""
    return poseidon((a, b))


# --- batches through the Numba kernels (circuits.gadgets.poseidon_kernels) -------------------

PARALLEL_MIN_ROWS = 4096  # below this a single thread is faster than Numba's thread pool


def poseidon_many(rows: Sequence[Sequence[int]]) -> list[int]:
    """``[poseidon(row) for row in rows]`` through the Numba kernel (all rows the same length;
    threads for large batches). Loads Numba on first use (about a second with a warm cache)."""
    import numpy as np

    from circuits.gadgets import poseidon_kernels as pk
    from prover.field import convert

    rows = [list(row) for row in rows]
    if not rows:
        return []
    n_in = len(rows[0])
    params_for_inputs(n_in)
    flat: list[int] = []
    for k, row in enumerate(rows):
        if len(row) != n_in:
            raise PoseidonInputError(f"row {k} has {len(row)} inputs, row 0 has {n_in}")
        _check_elements(row, f"rows[{k}]")
        flat += row
    raw = convert.ints_to_raw(flat, FIELD_MODULUS).reshape(len(rows), n_in, 4)
    out = np.empty((len(rows), 4), dtype=np.uint64)
    kc = pk.kernel_constants(n_in + 1)
    consts = (kc.c_m, kc.s_m, kc.mc_m, kc.pc_m, kc.n_rounds_f, kc.n_rounds_p)
    if len(rows) >= PARALLEL_MIN_ROWS:
        pk.hash_many_raw_parallel(raw, out, *consts, 256)
    else:
        pk.hash_many_raw(raw, out, *consts)
    return convert.raw_to_ints(out)
