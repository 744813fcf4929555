"""The signature table (circuits.gadgets.signature_table): each distinct signed message is
verified once; every request must equal a verified unit's triple or the free triple."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from circuits.builder import CircuitBuilder, UnsatisfiedGate
from circuits.gadgets import eddsa
from circuits.gadgets import signature_table as stab
from circuits.state_transition import DUMMY_MESSAGE, dummy_signature
from circuits.witness import WitnessError

DPK, DSIG = dummy_signature()
FREE = (DUMMY_MESSAGE, DPK[0], DPK[1])
FREE_SIG = (DSIG.r8[0], DSIG.r8[1], DSIG.s)
KEYS = [bytes([i + 1]) * 32 for i in range(3)]
PUBS = [eddsa.prv2pub(k) for k in KEYS]


def _req(m: int, k: int, signer: int | None = None) -> tuple[int, ...]:
    """Message m under key k, signed by key ``signer`` (default k: a valid signature)."""
    sig = eddsa.sign_poseidon(KEYS[k if signer is None else signer], m)
    return (m, PUBS[k][0], PUBS[k][1], sig.r8[0], sig.r8[1], sig.s)


FREE_REQ = FREE + FREE_SIG


def _circuit(n_requests: int, n_units: int):
    b = CircuitBuilder()
    ins = b.private_inputs("req", 6 * n_requests)
    table = stab.SignatureTable(b, n_units, FREE, FREE_SIG)
    for i in range(n_requests):
        table.request(*ins[6 * i : 6 * i + 6])
    table.finish()
    return b.compile(), table


def _inputs(reqs):
    return {"req": [x for r in reqs for x in r]}


@pytest.fixture(scope="module")
def c8_3():
    return _circuit(8, 3)


def test_duplicates_and_free_requests_take_no_unit(c8_3):
    circuit, table = c8_3
    a, b = _req(11, 0), _req(22, 1)
    reqs = [a, FREE_REQ, b, a, a, FREE_REQ, b, FREE_REQ]  # 2 distinct, 3 units
    w = circuit.check(_inputs(reqs))
    units = [circuit.value(v, w) for v in table.unit_vars]
    assert units[0:3] == list(a[:3]) and units[6:9] == list(b[:3])
    assert units[12:18] == list(FREE_REQ)  # the unused unit verifies the free triple


def test_three_distinct_fill_three_units(c8_3):
    circuit, _ = c8_3
    reqs = [_req(11, 0), _req(11, 1), _req(12, 0)] + [FREE_REQ] * 5  # same m, other key: distinct
    circuit.check(_inputs(reqs))


def test_more_distinct_than_units_is_named(c8_3):
    circuit, _ = c8_3
    reqs = [_req(m, 0) for m in (1, 2, 3, 4)] + [FREE_REQ] * 4
    with pytest.raises(WitnessError, match="4 distinct signed messages, the shape has 3"):
        circuit.witness(_inputs(reqs))
    with pytest.raises(stab.SignatureTableError):
        stab.native_plan([r[:3] for r in reqs], 3, FREE)


def test_forged_signature_fails_at_its_unit(c8_3):
    circuit, _ = c8_3
    reqs = [_req(11, 0), _req(22, 1, signer=2)] + [FREE_REQ] * 6  # key 1's message, key 2 signed
    with pytest.raises(UnsatisfiedGate) as info:
        circuit.check(_inputs(reqs))
    assert info.value.label == "signatures/unit1/eddsa/check"


def test_a_request_no_unit_holds_fails_at_the_chain(c8_3):
    """The prover swaps a unit's triple for another validly signed one: the unit verifies, but
    the request that needed it is then equal to neither its predecessor nor the free triple."""
    circuit, table = c8_3
    a, b = _req(11, 0), _req(22, 1)
    reqs = [a, b] + [FREE_REQ] * 6
    other = _req(33, 2)
    over = {v: x for v, x in zip(table.unit_vars[6:12], other)}
    with pytest.raises(UnsatisfiedGate) as info:
        circuit.check(_inputs(reqs), overrides=over)
    assert info.value.label.startswith("signatures/chain")


def test_the_free_triple_unit_cannot_stand_for_a_request(c8_3):
    circuit, table = c8_3
    reqs = [_req(11, 0)] + [FREE_REQ] * 7
    over = {v: x for v, x in zip(table.unit_vars[0:6], FREE_REQ)}  # unit 0 verifies the free one
    with pytest.raises(UnsatisfiedGate) as info:
        circuit.check(_inputs(reqs), overrides=over)
    assert info.value.label.startswith("signatures/chain")


def test_switch_bits_are_boolean_and_bind_the_routing(c8_3):
    circuit, table = c8_3
    reqs = [_req(11, 0), _req(22, 1), _req(11, 0)] + [FREE_REQ] * 5
    w = circuit.check(_inputs(reqs))
    with pytest.raises(UnsatisfiedGate) as info:
        circuit.check(_inputs(reqs), overrides={table.switch_bits[0]: 2})
    assert info.value.label.startswith("signatures/benes")
    failures = []
    for bit in table.switch_bits:
        flipped = 1 - circuit.value(bit, w)
        try:
            circuit.check(_inputs(reqs), overrides={bit: flipped})
        except UnsatisfiedGate as exc:
            failures.append(exc.label)
    assert failures and all(lbl.startswith("signatures/chain") for lbl in failures)


def _routed_ok(reqs, n_units, plan) -> bool:
    """The gadget's chain rule on the plan's routed rows, on ints."""
    rows = [(t, 0) for t in reqs] + [(t, 1) for t, _ in plan.units]
    n = stab.table_rows(len(reqs), n_units)
    rows += [(FREE[:3], 0)] * (n - len(rows))
    routed = [None] * n
    for i, p in enumerate(plan.perm):
        routed[p] = rows[i]
    prev = FREE[:3]
    for t, is_unit in routed:
        if not is_unit and t != prev:
            return False
        prev = t
    return True


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(0, 5), min_size=1, max_size=12), st.integers(0, 4))
def test_native_plan_routes_every_request_under_its_unit(picks, spare):
    triples = [FREE if p == 0 else (p, 7, 9) for p in picks]
    distinct = {t for t in triples if t != FREE}
    n_units = len(distinct) + spare
    if n_units == 0:
        n_units = 1
    plan = stab.native_plan(triples, n_units, FREE)
    assert sorted(plan.perm) == list(range(stab.table_rows(len(triples), n_units)))
    assert {t for t, _ in plan.units} - {FREE} == distinct
    assert all(i < 0 or triples[i] == t for t, i in plan.units)
    assert _routed_ok(triples, n_units, plan)
    if distinct:
        with pytest.raises(stab.SignatureTableError):
            stab.native_plan(triples, len(distinct) - 1, FREE)
