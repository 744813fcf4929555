"""Poseidon in circuit: the twin of ``circuits.gadgets.poseidon`` (circomlib's instance over
BN254, x^5, 8 full rounds, circomlib's partial rounds), on a ``circuits.builder.CircuitBuilder``.

Poseidon: Grassi et al., ePrint 2019/458, section 2 (HADES) and section 4 (the instance). The
circuit runs circomlib's *optimised* form (``poseidon.circom``, the same constants as the
native ``permute``: ``opt_c``, ``opt_m``, ``opt_p``, ``opt_s`` from
``circuits.gadgets.poseidon_constants``): round constants folded through M^-1 and each partial
round's matrix factored into a sparse one, [[s0, s], [v, I]], so a partial round touches the
S-box cell plus one multiple of its output per other cell.

Gates (the three-wire gate qM a b + qL a + qR b + qO c + qC = 0, PLONK section 6). The state is
a list of linear combinations: round constants and the MDS mixes are free (they only change LC
coefficients and constants). Gates appear where the algebra needs a product:

- an S-box x^5 is 3 gates (x^2, x^4, x^5), each with x's coefficient and constant folded into the
  selectors; its input must be one variable, so an LC of m variables is first materialised
  (m - 1 gates, the builder's partial-sum chain);
- a full round of width t: t S-boxes on t-variable LCs, t (t - 1) + 3 t gates (the first round's
  inputs are single variables, and a constant cell, e.g. the capacity 0, costs nothing);
- a partial round: the S-box (3), the next S-box input s0 y + sum_j s_j r_j (t variables: t - 1
  gates when the next S-box materialises it) and the t - 1 rest cells r_j + v_j y, each
  materialised (one gate) so that the LCs never grow: 3 + 2 (t - 1) gates.

Poseidon(2) (t = 3, 57 partial rounds): 507 gates, 509 with the output materialised (circomlib's
Poseidon(2) is 597 PLONK gates in snarkjs: 0.85x); Poseidon(5), EdDSA's challenge: 1,125. The
partial rounds are 399 of the 509: 171 S-box gates and 228 linear ones. Designs considered for
the linear part: rest cells kept as growing LCs (quadratic in the rounds), rest cells
materialised every second round (4.5 linear gates a round instead of 4), and representations
of the rest in other bases, with a multiple of the S-box input folded into the x^5 gate (its
qR): a partial round is a step of a time-varying linear recurrence of order t - 1 (the rest
cells) driven by the S-box output, and each variant we could build still needed 2 (t - 1)
two-input linear gates a step for generic constants. The 0.7x target would need about 2.3.

Labels: ``poseidon<n>`` (n inputs), with ``full<r>`` / ``partial<r>`` inside.
"""

from __future__ import annotations

from collections.abc import Sequence

from circuits.builder import LC, CircuitBuilder, CircuitError, Operand, as_lc
from circuits.gadgets.poseidon_constants import (
    FIELD_MODULUS,
    PoseidonParams,
    params,
    params_for_inputs,
)

__all__ = ["sbox", "permute", "poseidon", "poseidon_ex", "hash_var"]

P = FIELD_MODULUS


def sbox(b: CircuitBuilder, x: Operand) -> LC:
    """x^5: 3 gates for a one-variable x (plus the materialisation of a wider LC); free for a
    constant."""
    x = as_lc(x)
    if x.is_constant():
        return LC({}, pow(x.k, 5, P))
    x2 = b.mul(x, x)  # materialises x (cached on the LC) when it has several variables
    x4 = b.mul(x2, x2)
    return b.mul(x4, x)


def _compact(b: CircuitBuilder, x: LC) -> LC:
    """x itself when it has at most one variable, else x materialised (one variable)."""
    return x if len(x.terms) <= 1 else b.materialize(x)


def _mix(cols: Sequence[Sequence[int]], s: Sequence[LC]) -> list[LC]:
    """new[i] = sum_j cols[i][j] s[j] (free)."""
    out = []
    for col in cols:
        acc = LC()
        for coef, cell in zip(col, s):
            acc = acc + cell * coef
        out.append(acc)
    return out


def _layout(pp: PoseidonParams):
    """The optimised constants split as ``poseidon.permute`` uses them."""
    t = pp.t
    half = pp.n_rounds_f // 2
    n_p = pp.n_rounds_p
    C = pp.opt_c
    m_cols = tuple(tuple(pp.opt_m[j][i] for j in range(t)) for i in range(t))
    p_cols = tuple(tuple(pp.opt_p[j][i] for j in range(t)) for i in range(t))
    first_c = C[:t]
    full1_c = tuple(C[(r + 1) * t : (r + 2) * t] for r in range(half))
    part_c = C[(half + 1) * t : (half + 1) * t + n_p]
    base2 = (half + 1) * t + n_p
    full2_c = tuple(C[base2 + r * t : base2 + (r + 1) * t] for r in range(half - 1))
    w = 2 * t - 1
    sparse = tuple(
        (pp.opt_s[w * r : w * r + t], pp.opt_s[w * r + t : w * r + w]) for r in range(n_p)
    )
    return half, m_cols, p_cols, first_c, full1_c, part_c, full2_c, sparse


def permute(b: CircuitBuilder, state: Sequence[Operand]) -> list[LC]:
    """The Poseidon permutation of width len(state) (2..17) in circuit, circomlib's optimised
    form: equal to ``poseidon.permute`` on the values. Returns the final state as LCs."""
    t = len(state)
    pp = params(t)
    half, m_cols, p_cols, first_c, full1_c, part_c, full2_c, sparse = _layout(pp)
    s = [as_lc(x) + k for x, k in zip(state, first_c)]
    rnd = 0

    def full(s: list[LC], consts: Sequence[int] | None, cols) -> list[LC]:
        nonlocal rnd
        with b.scope(f"full{rnd}"):
            y = [sbox(b, x) for x in s]
        rnd += 1
        if consts is not None:
            y = [v + k for v, k in zip(y, consts)]
        return _mix(cols, y)

    for r in range(half - 1):
        s = full(s, full1_c[r], m_cols)
    s = full(s, full1_c[half - 1], p_cols)
    s0, rest = s[0], s[1:]
    with b.scope("partial"):
        rest = [_compact(b, x) for x in rest]
    for r in range(pp.n_rounds_p):
        row, col = sparse[r]
        with b.scope(f"partial{r}"):
            y = sbox(b, s0) + part_c[r]
            new0 = y * row[0]
            for j in range(t - 1):
                new0 = new0 + rest[j] * row[j + 1]
            # r_j + v_j y: one gate each, so the rest cells stay single variables
            rest = [_compact(b, rest[j] + y * col[j]) for j in range(t - 1)]
        s0 = new0
    s = [s0, *rest]
    for r in range(half - 1):
        s = full(s, full2_c[r], m_cols)
    return full(s, None, m_cols)


def poseidon_ex(
    b: CircuitBuilder, inputs: Sequence[Operand], init_state: Operand = 0, n_out: int = 1
) -> list[LC]:
    """circomlib's ``PoseidonEx``: the first ``n_out`` state elements after permuting
    ``[init_state, *inputs]`` (1..16 inputs), as LCs."""
    pp = params_for_inputs(len(inputs))
    if not isinstance(n_out, int) or isinstance(n_out, bool) or not 1 <= n_out <= pp.t:
        raise CircuitError(f"n_out must be in 1..{pp.t}, got {n_out!r}")
    with b.scope(f"poseidon{len(inputs)}"):
        return permute(b, [as_lc(init_state), *map(as_lc, inputs)])[:n_out]


def poseidon(b: CircuitBuilder, inputs: Sequence[Operand]) -> LC:
    """Poseidon of 1..16 field elements in circuit (circomlib's ``Poseidon(n)``), as an LC of
    t variables: ``hash_var`` for a single variable. Equal to ``poseidon.poseidon``."""
    return poseidon_ex(b, inputs)[0]


def hash_var(b: CircuitBuilder, inputs: Sequence[Operand]) -> LC:
    """``poseidon`` materialised into one variable (t - 1 more gates): what a circom
    ``Poseidon(n).out`` signal is, and what a Merkle level or a range check wants."""
    out = poseidon(b, inputs)
    with b.scope(f"poseidon{len(inputs)}"):
        return b.materialize(out)
