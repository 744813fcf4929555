"""Poseidon in circuit (circuits.gadgets.poseidon_circuit) against the native Poseidon: equal
values on the golden vectors and random inputs of 1..6 inputs (and the permutation of widths
2..7, PoseidonEx with an initial state and several outputs), exact gate counts, constants folded
for free, and mutated witnesses failing inside the hash with its label."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from circuits.builder import CircuitBuilder, CircuitError, UnsatisfiedGate
from circuits.gadgets import poseidon as native
from circuits.gadgets import poseidon_circuit as pc
from circuits.gadgets.poseidon_constants import N_ROUNDS_F, N_ROUNDS_P

R = native.FIELD_MODULUS

GOLDEN = {
    (1, 2): 0x115CC0F5E7D690413DF64C6B9662E9CF2A3617F2743245519E19607A4417189A,
    (1, 2, 3, 4): 0x299C867DB6C1FDD79DCEFA40E4510B9837E60EBB1CE0663DBAA525DF65250465,
}


def hash_circuit(n: int, materialize: bool = True):
    b = CircuitBuilder()
    xs = b.private_inputs("x", n)
    out = pc.hash_var(b, xs) if materialize else pc.poseidon(b, xs)
    return b, xs, out, b.compile()


_CIRCUITS: dict[int, tuple] = {}


def cached(n: int):
    if n not in _CIRCUITS:
        _CIRCUITS[n] = hash_circuit(n)
    return _CIRCUITS[n]


def expected_gates(n: int, materialized: bool = True) -> int:
    """The count the module docstring promises, round by round (t = n + 1): the first full
    round S-boxes the n inputs as they are (the capacity 0 + c is a constant: free); the second
    materialises t cells of n variables; the other full rounds t cells of t variables, except
    the first after the partial rounds, whose rest cells are variables already; a partial round
    is 3 + 2 (t - 1); the rest cells are materialised once before them ((t - 1)^2); the output
    is an LC of t variables (t - 1 gates to make it one)."""
    t = n + 1
    sboxes = 3 * t
    full = 3 * n + (t * (n - 1) + sboxes) + 2 * (t * (t - 1) + sboxes)
    full += (t - 1 + sboxes) + (N_ROUNDS_F // 2 - 1) * (t * (t - 1) + sboxes)
    partial = N_ROUNDS_P[t - 2] * (3 + 2 * (t - 1)) + (t - 1) ** 2
    return full + partial + (t - 1 if materialized else 0)


@pytest.mark.parametrize("inputs", list(GOLDEN))
def test_golden_vectors(inputs):
    _, _, out, c = cached(len(inputs))
    w = c.check({"x": list(inputs)})
    assert c.value(out, w) == GOLDEN[inputs]


@pytest.mark.parametrize("n", range(1, 7))
def test_random_inputs_equal_native(n):
    rng = random.Random(100 + n)
    _, _, out, c = cached(n)
    for _ in range(3):
        vals = [rng.randrange(R) for _ in range(n)]
        w = c.check({"x": vals})
        assert c.value(out, w) == native.poseidon(vals)
    edge = [0] * n, [R - 1] * n
    for vals in edge:
        assert c.value(out, c.check({"x": vals})) == native.poseidon(vals)


@settings(max_examples=15, deadline=None)
@given(st.lists(st.integers(0, R - 1), min_size=2, max_size=2))
def test_poseidon2_hypothesis(vals):
    _, _, out, c = cached(2)
    assert c.value(out, c.check({"x": vals})) == native.poseidon2(*vals)


@pytest.mark.parametrize("n", range(1, 7))
def test_gate_counts(n):
    _, _, _, c = cached(n)
    assert c.n_gates == expected_gates(n)
    assert hash_circuit(n, materialize=False)[3].n_gates == expected_gates(n, False)


def test_poseidon2_gate_count_and_labels():
    _, _, _, c = cached(2)
    assert c.n_gates == 509  # circomlib's Poseidon(2): 597 PLONK gates
    report = c.report(1)
    assert report == {"poseidon2": 509}
    detail = c.report(2)
    assert detail["poseidon2/full0"] == 6  # two S-boxes on the inputs, the capacity is constant
    assert detail["poseidon2/partial0"] == 2 + 3 + 2  # input materialised, S-box, rest cells
    assert sum(v for k, v in detail.items() if "partial" in k) == 4 + 57 * 7


@pytest.mark.parametrize("t", range(2, 8))
def test_permutation_equals_native(t):
    rng = random.Random(t)
    b = CircuitBuilder()
    xs = b.private_inputs("s", t)
    out = pc.permute(b, xs)
    c = b.compile()
    state = [rng.randrange(R) for _ in range(t)]
    w = c.check({"s": state})
    assert [c.value(o, w) for o in out] == native.permute(state)


def test_poseidon_ex_with_initial_state_and_outputs():
    rng = random.Random(5)
    b = CircuitBuilder()
    xs = b.private_inputs("x", 3)
    init = b.private_input("init")
    outs = pc.poseidon_ex(b, xs, init, n_out=3)
    c = b.compile()
    vals, iv = [rng.randrange(R) for _ in range(3)], rng.randrange(R)
    w = c.check({"x": vals, "init": iv})
    assert [c.value(o, w) for o in outs] == native.poseidon_ex(vals, iv, 3)
    with pytest.raises(CircuitError, match="n_out"):
        pc.poseidon_ex(b, xs, 0, n_out=5)


def test_inputs_as_lcs_and_constants():
    """LC inputs fold into the first round; constant inputs cost nothing; an all-constant hash
    is a constant LC equal to the native hash."""
    rng = random.Random(9)
    b = CircuitBuilder()
    x = b.private_input("x")
    before = b.n_gates
    out = pc.poseidon(b, [3 * x + 7, 11])
    n_lc = b.n_gates - before
    before = b.n_gates
    const = pc.poseidon(b, [5, 6])
    assert b.n_gates == before and const.is_constant()
    assert const.k == native.poseidon([5, 6])
    c = b.compile()
    xv = rng.randrange(R)
    w = c.check({"x": xv})
    assert c.value(out, w) == native.poseidon([(3 * xv + 7) % R, 11])
    assert n_lc < expected_gates(2, False)  # the constant input's first S-box is free


def test_mutated_witness_fails_inside_the_hash():
    b, xs, out, c = hash_circuit(2)
    w = c.check({"x": [1, 2]})
    # force the output variable to the wrong value: the gate that defines it fails
    out_var = out.variables()[0]
    from circuits.builder import Var

    with pytest.raises(UnsatisfiedGate) as exc:
        c.check({"x": [1, 2]}, overrides={Var(out_var): (c.value(out, w) + 1) % R})
    assert exc.value.label == "poseidon2"
    # an S-box variable of the first round, forced: its own gate fails
    first = next(i for i, lab in enumerate(c.cs.labels) if lab == "poseidon2/full0")
    v = c.order[c.cs.c[first]]
    with pytest.raises(UnsatisfiedGate) as exc:
        c.check({"x": [1, 2]}, overrides={Var(v): 12345})
    assert exc.value.label == "poseidon2/full0"
    assert exc.value.row == first


def test_sbox_constant_and_bad_arity():
    b = CircuitBuilder()
    assert pc.sbox(b, 3).k == 243 and b.n_gates == 0
    with pytest.raises(Exception):  # noqa: B017 - PoseidonParamsError from the shared params
        pc.poseidon(b, [])
    with pytest.raises(Exception):  # noqa: B017
        pc.poseidon(b, [1] * 17)
