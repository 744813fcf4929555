"""The circuit builder: LC algebra, gate costs (exact), witness solving, labels, public signals,
compiled files, the CLI, and proofs of a built circuit by snarkjs and by our prover."""

from __future__ import annotations

import json
import random

import click
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from circuits.builder import (
    LC,
    CircuitBuilder,
    CircuitError,
    UnsatisfiedGate,
    Var,
    WitnessError,
    fr_inv,
    gate_report,
)
from cli.circuit_cmds import register
from prover import params
from prover.plonk.constraint_system import check_satisfied, load_circuit
from prover.wtns import read_wtns

R = params.R_ORDER


def cost(b: CircuitBuilder, fn):
    """(result of fn(), gates it emitted)."""
    before = b.n_gates
    out = fn()
    return out, b.n_gates - before


# --- linear combinations are free ---------------------------------------------------------------


def test_lc_algebra_is_free_and_canonical():
    b = CircuitBuilder()
    x, y = b.private_input("x"), b.private_input("y")
    e = 3 * x - 2 * y + 5
    assert e.terms == {x.index: 3, y.index: R - 2} and e.k == 5
    assert (e - 3 * x).terms == {y.index: R - 2}  # cancelled terms disappear
    assert (x - x).is_constant() and (x - x).constant_value == 0
    assert (-(x + 1)).k == R - 1
    assert (10 - x).terms == {x.index: R - 1} and (10 - x).k == 10
    assert ((x + 4) / 2).terms == {x.index: fr_inv(2)} and ((x + 4) / 2).k == 2
    assert (x * 0).is_constant()
    assert b.sum([x, y, 3, x]).terms == {x.index: 2, y.index: 1}
    assert b.lincomb([2, -1], [x, y], 7).k == 7
    assert b.n_gates == 0
    with pytest.raises(TypeError, match="builder.mul"):
        _ = x * y
    with pytest.raises(CircuitError):
        _ = x / 0
    with pytest.raises(CircuitError):
        b.const(5).constant_value + x.constant_value  # noqa: B018


# --- gate costs, exact --------------------------------------------------------------------------


def test_mul_folds_constants_and_coefficients_into_one_gate():
    b = CircuitBuilder()
    x, y = b.private_input("x"), b.private_input("y")
    z, n = cost(b, lambda: b.mul(2 * x + 3, 5 * y + 7))
    assert n == 1
    sq, n = cost(b, lambda: b.mul(x - 1, 3 * x + 2))
    assert n == 1
    _, n = cost(b, lambda: b.mul(x, 4))  # a constant operand: free
    assert n == 0
    c = b.compile()
    w = c.check({"x": 6, "y": 11})
    assert c.value(z, w) == (2 * 6 + 3) * (5 * 11 + 7)
    assert c.value(sq, w) == 5 * 20


def test_wide_operands_are_materialised_once():
    b = CircuitBuilder()
    x, y, z, t = (b.private_input(n) for n in "xyzt")
    wide = x + 2 * y + 3 * z + 4 * t + 9  # 4 variables: 3 gates to materialise
    p, n = cost(b, lambda: b.mul(wide, x))
    assert n == 4
    q, n = cost(b, lambda: b.mul(wide, y))  # cached on the LC object
    assert n == 1
    m, n = cost(b, lambda: b.materialize(x + y))
    assert n == 1
    same, n = cost(b, lambda: b.materialize(x))
    assert n == 0 and same.index == x.index
    c = b.compile()
    w = c.check({"x": 1, "y": 2, "z": 3, "t": 4})
    assert c.value(p, w) == 1 + 4 + 9 + 16 + 9
    assert c.value(q, w) == 39 * 2 and c.value(m, w) == 3


@pytest.mark.parametrize("m,gates", [(1, 1), (2, 1), (3, 1), (4, 2), (5, 3), (10, 8)])
def test_linear_assertion_costs(m, gates):
    b = CircuitBuilder()
    xs = b.private_inputs("xs", m)
    _, n = cost(b, lambda: b.assert_equal(b.lincomb(range(1, m + 1), xs), 100))
    assert n == gates
    c = b.compile()
    ok = [1] * (m - 1) + [(100 - sum(range(1, m))) * fr_inv(m) % R]
    c.check({"xs": ok})
    with pytest.raises(UnsatisfiedGate):
        c.check({"xs": [1] * m if m > 1 else [2]})


def test_assert_mul_costs():
    b = CircuitBuilder()
    x, y, z, t = (b.private_input(n) for n in "xyzt")
    _, n = cost(b, lambda: b.assert_mul(x + 1, 2 * y, z + 3 * x))  # z and x, y: one gate
    assert n == 1
    _, n = cost(b, lambda: b.assert_mul(x, y, z + t))  # two extra variables: two gates
    assert n == 2
    _, n = cost(b, lambda: b.assert_mul(3, y, z))  # constant operand: linear, one gate
    assert n == 1
    c = b.compile()
    # x = 2, y = 5: (x + 1) 2y = 30 = z + 3x -> z = 24; x y = 10 = z + t -> t = -14
    bad = {"x": 2, "y": 5, "z": 24, "t": -14}
    with pytest.raises(UnsatisfiedGate):  # 3 y = z fails (15 != 24)
        c.check(bad)
    b2 = CircuitBuilder()
    x, y, z, t = (b2.private_input(n) for n in "xyzt")
    b2.assert_mul(x + 1, 2 * y, z + 3 * x)
    b2.assert_mul(x, y, z + t)
    b2.compile().check(bad)


def test_constant_constraints_are_checked_at_build_time():
    b = CircuitBuilder()
    b.assert_equal(3, b.const(3))
    b.assert_bool(1)
    b.assert_nonzero(5)
    with pytest.raises(CircuitError, match="unsatisfiable"):
        b.assert_equal(3, 4)
    with pytest.raises(CircuitError, match="not a bit"):
        b.assert_bool(2)
    with pytest.raises(CircuitError):
        b.assert_nonzero(0)
    assert b.n_gates == 0


# --- field and boolean operations --------------------------------------------------------------


def test_field_operations_semantics_and_costs():
    b = CircuitBuilder()
    x, y = b.private_input("x"), b.private_input("y")
    ops = {}
    for name, fn, gates in [
        ("iz", lambda: b.is_zero(x - 5), 2),
        ("eq", lambda: b.is_equal(x, y), 3),  # x - y materialised first
        ("inv", lambda: b.inverse(y + 1), 1),
        ("div", lambda: b.div(x, y + 1), 1),
        ("divc", lambda: b.div(x, 4), 0),
        ("sq", lambda: b.square(y), 1),
    ]:
        ops[name], n = cost(b, fn)
        assert n == gates, name
    c = b.compile()
    for xv, yv in [(5, 5), (5, 7), (0, 0), (R - 1, 3)]:
        w = c.check({"x": xv, "y": yv})
        v = {k: c.value(e, w) for k, e in ops.items()}
        assert v["iz"] == int(xv == 5)
        assert v["eq"] == int(xv == yv)
        assert v["inv"] == fr_inv(yv + 1)
        assert v["div"] == xv * fr_inv(yv + 1) % R
        assert v["divc"] == xv * fr_inv(4) % R
        assert v["sq"] == yv * yv % R
    with pytest.raises(UnsatisfiedGate):  # y + 1 = 0 has no inverse
        c.check({"x": 1, "y": R - 1})


def test_is_zero_cannot_be_forged():
    b = CircuitBuilder()
    x = b.private_input("x")
    with b.scope("iz"):
        out = b.is_zero(x)
    c = b.compile()
    c.check({"x": 0})
    # claim "x is zero" for x = 3: out forced to 1 fails x * out = 0
    with pytest.raises(UnsatisfiedGate) as exc:
        c.check({"x": 3}, overrides={out: 1})
    assert exc.value.label == "iz"
    # claim "x is not zero" for x = 0: out forced to 0 fails out = 1 - x inv
    with pytest.raises(UnsatisfiedGate):
        c.check({"x": 0}, overrides={out: 0})


def test_boolean_operations_truth_tables_one_gate_each():
    b = CircuitBuilder()
    p, q = b.bool_input("p"), b.bool_input("q")
    ops = {}
    for name, fn in [
        ("and", lambda: b.and_(p, q)),
        ("or", lambda: b.or_(p, q)),
        ("xor", lambda: b.xor(p, q)),
        ("nand", lambda: b.not_(b.and_(p, q))),
        ("sel", lambda: b.select(p, q, 1 - q)),  # a - b = 2q - 1: one gate
        ("or_not", lambda: b.or_(p, 1 - q)),
    ]:
        ops[name], n = cost(b, fn)
        assert n == 1, name
    c = b.compile()
    for pv in (0, 1):
        for qv in (0, 1):
            w = c.check({"p": pv, "q": qv})
            v = {k: c.value(e, w) for k, e in ops.items()}
            assert v == {
                "and": pv & qv,
                "or": pv | qv,
                "xor": pv ^ qv,
                "nand": 1 - (pv & qv),
                "sel": qv if pv else 1 - qv,
                "or_not": pv | (1 - qv),
            }
    with pytest.raises(UnsatisfiedGate):
        c.check({"p": 2, "q": 0})


def test_select_costs_and_values():
    b = CircuitBuilder()
    c_, x, y = b.bool_input("c"), b.private_input("x"), b.private_input("y")
    s1, n1 = cost(b, lambda: b.select(c_, x, 7))
    s2, n2 = cost(b, lambda: b.select(c_, 9, 3 * y + 1))
    s3, n3 = cost(b, lambda: b.select(c_, x, y))
    s4, n4 = cost(b, lambda: b.select(1, x, y))
    assert (n1, n2, n3, n4) == (1, 1, 2, 0)
    assert s4 is x
    c = b.compile()
    for cv in (0, 1):
        w = c.check({"c": cv, "x": 100, "y": 5})
        assert c.value(s1, w) == (100 if cv else 7)
        assert c.value(s2, w) == (9 if cv else 16)
        assert c.value(s3, w) == (100 if cv else 5)


# --- random programs: native == in circuit -------------------------------------------------------


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32 - 1), n_ops=st.integers(1, 40))
def test_random_programs_match_native_evaluation(seed, n_ops):
    rng = random.Random(seed)
    b = CircuitBuilder()
    values = [rng.randrange(R) if rng.random() < 0.7 else rng.randrange(4) for _ in range(4)]
    pool: list[tuple[LC, int]] = [(v, val) for v, val in zip(b.private_inputs("x", 4), values)]
    bools: list[tuple[LC, int]] = []
    for _ in range(n_ops):
        (e1, v1), (e2, v2) = rng.choice(pool), rng.choice(pool)
        k = rng.choice([0, 1, 2, R - 1, rng.randrange(R)])
        op = rng.randrange(9)
        if op == 0:
            pool.append((e1 + e2 * k, (v1 + v2 * k) % R))
        elif op == 1:
            pool.append((e1 - e2 + k, (v1 - v2 + k) % R))
        elif op == 2:
            pool.append((b.mul(e1 + k, e2), (v1 + k) * v2 % R))
        elif op == 3:
            z = b.is_zero(e1 - e2)
            bools.append((z, int(v1 == v2)))
            pool.append((z, int(v1 == v2)))
        elif op == 4 and bools:
            cond, cv = rng.choice(bools)
            pool.append((b.select(cond, e1, e2), v1 if cv else v2))
        elif op == 5 and (v1 + 1) % R:
            pool.append((b.inverse(e1 + 1), fr_inv(v1 + 1)))
        elif op == 6 and v2:
            pool.append((b.div(e1, e2), v1 * fr_inv(v2) % R))
        elif op == 7 and len(bools) >= 2:
            (p, pv), (q, qv) = rng.sample(bools, 2)
            fn, val = rng.choice([(b.and_, pv & qv), (b.or_, pv | qv), (b.xor, pv ^ qv)])
            bools.append((fn(p, q), val))
        elif op == 8:
            b.assert_equal(e1 * 2 + e2, (2 * v1 + v2) % R)
    outs = [b.expose(e, f"o{i}") for i, (e, _) in enumerate(pool[-3:])]
    c = b.compile()
    w = c.check({"x": values})
    for e, val in pool + bools:
        assert c.value(e, w) == val
    assert c.public_signals(w) == [val for _, val in pool[-3:]]
    assert [c.signal(o) for o in outs] == [1, 2, 3]


# --- inputs, public signals, witness errors -----------------------------------------------------


def test_public_signals_come_first_in_declaration_order():
    b = CircuitBuilder()
    s = b.private_input("s")
    x = b.public_input("x")
    arr = b.public_inputs("arr", 2)
    y = b.mul(s, x)
    out = b.expose(y, "y")  # a plain variable: renumbered, no gate
    again = b.expose(y, "y_again")  # already public: a copy gate
    konst = b.expose(7, "seven")  # a constant: one gate
    assert b.n_public == 6
    c = b.compile()
    cs = c.cs
    assert cs.n_public == 6 and c.public_names == ("x", "arr[0]", "arr[1]", "y", "y_again", "seven")
    for i in range(6):
        assert cs.gate(i).a == i + 1 and cs.gate(i).ql == 1 and cs.label(i).startswith("public/")
    assert [c.signal(v) for v in (x, *arr, out, again, konst)] == [1, 2, 3, 4, 5, 6]
    assert c.signal(s) == 7
    assert cs.n_gates == 6 + 1 + 2  # public rows, the product, two copies
    w = c.check({"s": 3, "x": 5, "arr": [8, 9]})
    assert w[0] == 1 and c.public_signals(w) == [5, 8, 9, 15, 15, 7]
    # no gate uses signal 0 with a nonzero selector: constants live in qC
    for i in range(cs.n_gates):
        g = cs.gate(i)
        assert not (g.a == 0 and (g.ql or g.qm)) and not (g.b == 0 and (g.qr or g.qm))
        assert not (g.c == 0 and g.qo)


def test_witness_input_errors():
    b = CircuitBuilder()
    b.private_input("x")
    b.private_inputs("arr", 2)
    c = b.compile()
    assert c.input_names == ("x", "arr")
    w = c.witness({"x": -1, "arr": [0, R - 1]})
    assert w[c.signal(Var(1))] == R - 1
    for bad, match in [
        ({"arr": [1, 2]}, "missing input 'x'"),
        ({"x": 1, "arr": [1, 2], "z": 3}, "unknown input"),
        ({"x": 1, "arr": [1]}, "expected 2 values"),
        ({"x": 1, "arr": 5}, "expected a list"),
        ({"x": R, "arr": [1, 2]}, "outside"),
        ({"x": -R, "arr": [1, 2]}, "outside"),
        ({"x": "1", "arr": [1, 2]}, "expected an integer"),
        ({"x": True, "arr": [1, 2]}, "expected an integer"),
        ({"x": 1.0, "arr": [1, 2]}, "expected an integer"),
    ]:
        with pytest.raises(WitnessError, match=match):
            c.witness(bad)
    with pytest.raises(CircuitError, match="twice"):
        b.private_input("x")


def test_failing_hint_names_its_scope():
    b = CircuitBuilder()
    x = b.private_input("x")
    with b.scope("gadget"):
        b.hint(lambda v: 1 // (v - 3), x)
    c = b.compile()
    c.witness({"x": 4})
    with pytest.raises(WitnessError, match=r"in gadget\) failed"):
        c.witness({"x": 3})


def test_hint_many_and_custom_gates():
    b = CircuitBuilder()
    x = b.private_input("x")
    q, r = b.hint_many(lambda v: divmod(v, 10), [x], 2)
    b.custom_gate(q, None, r, ql=10, qo=1)  # 10 q + r = x via a raw gate and one linear term
    t = b.custom_output(q, r, qm=2, qc=1)  # t = 2 q r + 1
    b.assert_equal(10 * q + r, x)
    c = b.compile()
    with pytest.raises(UnsatisfiedGate):  # 10 q + r = 0 is false for x != 0 (the raw gate)
        c.check({"x": 47})
    b2 = CircuitBuilder()
    x = b2.private_input("x")
    q, r = b2.hint_many(lambda v: divmod(v, 10), [x], 2)
    t = b2.custom_output(q, r, qm=2, qc=1)
    c2 = b2.compile()
    w = c2.check({"x": 47})
    assert (c2.value(q, w), c2.value(r, w), c2.value(t, w)) == (4, 7, 57)
    with pytest.raises(CircuitError):
        b2.custom_gate(q + 1, None, None)


# --- labels, reports, files ---------------------------------------------------------------------


def _labelled_circuit():
    b = CircuitBuilder()
    x = b.public_input("x")
    s = b.private_input("s")
    with b.scope("outer"):
        with b.scope("inner"):
            y = b.mul(s, s)
        with b.scope("bool"):
            b.assert_bool(s)
        z = b.mul(y, 3 * s + 1)
    b.assert_equal(z, x)
    return b, b.compile()


def test_labels_name_the_failing_gate():
    _, c = _labelled_circuit()
    assert c.cs.labels == ("public/x", "outer/inner", "outer/bool", "outer", None)
    c.check({"x": 4, "s": 1})
    with pytest.raises(UnsatisfiedGate) as exc:
        c.check({"x": 0, "s": 2})
    assert exc.value.label == "outer/bool" and exc.value.row == 2
    assert "gate 2 (outer/bool)" in str(exc.value)
    with pytest.raises(UnsatisfiedGate) as exc:
        c.check({"x": 5, "s": 1})
    assert exc.value.label is None and exc.value.row == 4


def test_gate_report():
    _, c = _labelled_circuit()
    assert gate_report(c.cs) == {"public": 1, "outer": 3, "(unlabelled)": 1}
    assert c.report(depth=2) == {
        "public/x": 1,
        "outer/inner": 1,
        "outer/bool": 1,
        "outer": 1,
        "(unlabelled)": 1,
    }
    assert sum(c.report().values()) == c.n_gates
    with pytest.raises(ValueError):
        gate_report(c.cs, 0)


def test_save_load_and_wtns(tmp_path):
    _, c = _labelled_circuit()
    c.save(tmp_path / "c.zkpc")
    cs = load_circuit(tmp_path / "c.zkpc")
    assert cs.same_gates(c.cs) and cs.labels == c.cs.labels
    w = c.witness({"x": 4, "s": 1})
    c.write_wtns(tmp_path / "w.wtns", w)
    assert read_wtns(tmp_path / "w.wtns") == w
    check_satisfied(cs, w)
    with pytest.raises(WitnessError):
        c.write_wtns(tmp_path / "short.wtns", w[:-1])


def test_compile_is_a_snapshot():
    b = CircuitBuilder()
    x = b.private_input("x")
    b.assert_bool(x)
    c1 = b.compile()
    b.mul(x, x)
    c2 = b.compile()
    assert (c1.n_gates, c2.n_gates) == (1, 2)
    assert len(c1.witness({"x": 1})) == 2 and len(c2.witness({"x": 1})) == 3


def test_scope_names_are_checked():
    b = CircuitBuilder()
    with pytest.raises(CircuitError):
        with b.scope(""):
            pass
    with b.scope("a"):
        assert b.current_scope == "a"
        with b.scope("b/c"):
            assert b.current_scope == "a/b/c"
    assert b.current_scope == ""


# --- CLI ----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def cli_group():
    from cli.main import _Group  # the group class cli/main.py gives its command groups

    @click.group(cls=_Group)
    def circuit() -> None:
        pass

    register(circuit)
    return circuit


def test_cli_info_and_check(cli_group, tmp_path):
    _, c = _labelled_circuit()
    c.save(tmp_path / "c.zkpc")
    runner = CliRunner()
    res = runner.invoke(cli_group, ["info", str(tmp_path / "c.zkpc")])
    assert res.exit_code == 0, res.output
    assert "gates        5" in res.output and "2^3 = 8 rows" in res.output
    assert "outer" in res.output and "public" in res.output
    res = runner.invoke(cli_group, ["info", "--depth", "2", str(tmp_path / "c.zkpc")])
    assert "outer/inner" in res.output

    c.write_wtns(tmp_path / "good.wtns", c.witness({"x": 4, "s": 1}))
    res = runner.invoke(cli_group, ["check", str(tmp_path / "c.zkpc"), str(tmp_path / "good.wtns")])
    assert res.exit_code == 0 and "witness OK" in res.output
    c.write_wtns(tmp_path / "bad.wtns", c.witness({"x": 0, "s": 2}))
    res = runner.invoke(cli_group, ["check", str(tmp_path / "c.zkpc"), str(tmp_path / "bad.wtns")])
    assert res.exit_code == 1 and "gate 2 (outer/bool)" in res.output

    res = runner.invoke(cli_group, ["check", str(tmp_path / "c.zkpc"), str(tmp_path / "c.zkpc")])
    assert res.exit_code == 1 and "Error:" in res.output and "wtns" in res.output
    (tmp_path / "junk.zkpc").write_bytes(b"zkpc-not-really")
    res = runner.invoke(cli_group, ["info", str(tmp_path / "junk.zkpc")])
    assert res.exit_code == 1 and "Error:" in res.output
    _, c2 = _labelled_circuit()
    b3 = CircuitBuilder()
    b3.assert_bool(b3.private_input("x"))
    b3.compile().save(tmp_path / "other.zkpc")
    res = runner.invoke(
        cli_group, ["check", str(tmp_path / "other.zkpc"), str(tmp_path / "good.wtns")]
    )
    assert res.exit_code == 1 and "needs 2" in res.output


def test_cli_wired_into_main_when_present(tmp_path):
    from cli.main import zkperp

    if "circuit" not in zkperp.commands:
        pytest.skip("the `circuit` group is not wired into cli/main.py yet")
    _, c = _labelled_circuit()
    c.save(tmp_path / "c.zkpc")
    res = CliRunner().invoke(zkperp, ["circuit", "info", str(tmp_path / "c.zkpc")])
    assert res.exit_code == 0 and "gates        5" in res.output
    (tmp_path / "junk.zkpc").write_bytes(b"zkpc-not-really")
    res = CliRunner().invoke(zkperp, ["circuit", "info", str(tmp_path / "junk.zkpc")])
    assert res.exit_code == 1 and "Traceback" not in res.output


# --- proofs: snarkjs and ours -------------------------------------------------------------------


def _proof_circuit():
    from circuits.gadgets import bits

    b = CircuitBuilder()
    x = b.public_input("x")
    s = b.private_input("s")
    t = b.private_inputs("t", 3)
    with b.scope("poly"):
        y = b.mul(s, s + 3)
        b.assert_equal(y + b.sum(t), x)
    with b.scope("checks"):
        bits.range_check(b, s, 16)
        small = bits.less_than(b, s, 100, 16)
    b.expose(small, "small")
    b.expose(b.is_zero(t[0]), "t0_is_zero")
    return b.compile()


@pytest.mark.node
def test_snarkjs_proves_a_built_circuit_and_we_do_too(tmp_path):
    from prover.plonk.prover import prove
    from prover.plonk.setup import setup
    from prover.plonk.verifier import verify
    from prover.ptau import read_ptau
    from prover.zkey import dumps_verification_key, write_zkey
    from tests.interop import snarkjs, snarkjs_ok, snarkjs_ptau

    c = _proof_circuit()
    w = c.check({"x": 5 * 8 + 6, "s": 5, "t": [0, 2, 4]})
    assert c.public_signals(w) == [46, 1, 1]
    c.save(tmp_path / "c.zkpc")
    c.write_wtns(tmp_path / "w.wtns", w)
    pk = setup(load_circuit(tmp_path / "c.zkpc"), read_ptau(snarkjs_ptau(8)))
    write_zkey(pk, tmp_path / "c.zkey")
    (tmp_path / "vk.json").write_text(dumps_verification_key(pk.vk))

    snarkjs(
        "plonk", "prove", tmp_path / "c.zkey", tmp_path / "w.wtns", tmp_path / "proof.json",
        tmp_path / "public.json",
    )  # fmt: skip
    assert json.loads((tmp_path / "public.json").read_text()) == ["46", "1", "1"]
    assert snarkjs_ok(
        "plonk", "verify", tmp_path / "vk.json", tmp_path / "public.json", tmp_path / "proof.json"
    )
    (tmp_path / "wrong.json").write_text(json.dumps(["46", "0", "1"]))
    assert not snarkjs_ok(
        "plonk", "verify", tmp_path / "vk.json", tmp_path / "wrong.json", tmp_path / "proof.json"
    )

    proof, public = prove(pk, w, rng=random.Random(7))
    assert public == [46, 1, 1]
    assert verify(pk.vk, public, proof).valid
    assert not verify(pk.vk, [46, 0, 1], proof).valid


def test_builder_check_and_public_name_clash():
    b = CircuitBuilder()
    x = b.private_input("x")
    b.assert_bool(x)
    assert b.check({"x": 1}) == [1, 1]
    with pytest.raises(UnsatisfiedGate):
        b.check({"x": 2})
    b.expose(x, "x")
    with pytest.raises(CircuitError, match="already named"):
        b.expose(x + 1, "x")
    with pytest.raises(WitnessError, match="override keys"):
        b.compile().witness({"x": 1}, overrides={x + 1: 3})


def test_cond_swap():
    b = CircuitBuilder()
    c_, x, y = b.bool_input("c"), b.private_input("x"), b.private_input("y")
    (l1, r1), n = cost(b, lambda: b.cond_swap(c_, x, y))
    (l2, r2), n2 = cost(b, lambda: b.cond_swap(c_, x, 5))
    assert (n, n2) == (2, 1)
    c = b.compile()
    for cv in (0, 1):
        w = c.check({"c": cv, "x": 10, "y": 20})
        assert (c.value(l1, w), c.value(r1, w)) == ((20, 10) if cv else (10, 20))
        assert (c.value(l2, w), c.value(r2, w)) == ((5, 10) if cv else (10, 5))
