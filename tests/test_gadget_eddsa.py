"""Baby Jubjub and EdDSA-Poseidon in circuit (circuits.gadgets.babyjubjub_circuit,
eddsa_circuit) against the natives: point operations and both scalar multiplications equal
``babyjubjub`` on random points and scalars; limbs and lookups are exact; honest signatures (ours
and circomlibjs's) verify in circuit; forged ones (wrong S, S >= l, a point off the curve, a
wrong message or key, a small-order key, an aliased challenge) fail at the right gate with the
right label, and the in-circuit verdict equals ``native_verify`` on every case."""

from __future__ import annotations

import json
import random
import subprocess
from functools import cache

import pytest

from circuits.builder import CircuitBuilder, CircuitError, UnsatisfiedGate, Var
from circuits.gadgets import babyjubjub as bj
from circuits.gadgets import babyjubjub_circuit as bjc
from circuits.gadgets import eddsa
from circuits.gadgets import eddsa_circuit as ec
from tests.conftest import REPO_ROOT

R = bj.P
L = bj.SUBORDER
ORDER2 = (0, R - 1)  # the point of order 2


def rand_point(rng: random.Random) -> bj.Point:
    return bj.mul_base8(rng.randrange(1, L))


def point_value(c, pt, w) -> bj.Point:
    return (c.value(pt[0], w), c.value(pt[1], w))


# --- Baby Jubjub -------------------------------------------------------------------------------


@cache
def point_circuit():
    b = CircuitBuilder()
    p = (b.private_input("px"), b.private_input("py"))
    q = (b.private_input("qx"), b.private_input("qy"))
    with b.scope("p"):
        px2 = bjc.assert_on_curve(b, p)
    with b.scope("q"):
        bjc.assert_on_curve(b, q)
    s = bjc.add(b, p, q)
    d = bjc.double(b, p, px2)
    sc = bjc.add(b, p, bjc.constant_point(bj.BASE8))
    return b.compile(), s, d, sc


def test_add_double_equal_native():
    rng = random.Random(1)
    c, s, d, sc = point_circuit()
    cases = [(rand_point(rng), rand_point(rng)) for _ in range(4)]
    p0 = rand_point(rng)
    cases += [(p0, p0), (p0, bj.neg(p0)), (bj.IDENTITY, p0), (p0, ORDER2), (ORDER2, ORDER2)]
    cases += [(bj.GENERATOR, bj.mul(bj.GENERATOR, 5))]  # outside the prime subgroup
    for p, q in cases:
        w = c.check({"px": p[0], "py": p[1], "qx": q[0], "qy": q[1]})
        assert point_value(c, s, w) == bj.add(p, q)
        assert point_value(c, d, w) == bj.double(p)
        assert point_value(c, sc, w) == bj.add(p, bj.BASE8)


def test_point_gate_counts():
    b = CircuitBuilder()
    p = (b.private_input("px"), b.private_input("py"))
    q = (b.private_input("qx"), b.private_input("qy"))
    n = b.n_gates
    x2 = bjc.assert_on_curve(b, p)
    assert b.n_gates - n == 3
    n = b.n_gates
    bjc.add(b, p, q)
    assert b.n_gates - n == 9
    n = b.n_gates
    bjc.double(b, p)
    assert b.n_gates - n == 5
    n = b.n_gates
    bjc.double(b, p, x2)
    assert b.n_gates - n == 4
    n = b.n_gates
    bjc.add(b, p, bjc.constant_point(bj.BASE8))
    assert b.n_gates - n == 5
    n = b.n_gates
    assert (
        bjc.add(b, bjc.constant_point(bj.BASE8), bjc.constant_point(bj.GENERATOR))[0].k
        == (bj.add(bj.BASE8, bj.GENERATOR)[0])
    )
    assert b.n_gates == n


def test_off_curve_point_fails_on_curve_check():
    c, *_ = point_circuit()
    good = rand_point(random.Random(2))
    with pytest.raises(UnsatisfiedGate) as exc:
        c.check({"px": good[0], "py": (good[1] + 1) % R, "qx": good[0], "qy": good[1]})
    assert exc.value.label == "p/on_curve"
    with pytest.raises(UnsatisfiedGate) as exc:
        c.check({"px": good[0], "py": good[1], "qx": 1, "qy": 1})
    assert exc.value.label == "q/on_curve"


def test_forged_addition_result_fails():
    b = CircuitBuilder()
    p = (b.private_input("px"), b.private_input("py"))
    s = bjc.add(b, p, bjc.constant_point(bj.BASE8))
    c = b.compile()
    pt = rand_point(random.Random(3))
    with pytest.raises(UnsatisfiedGate) as exc:
        c.check({"px": pt[0], "py": pt[1]}, overrides={s[0]: 5})
    assert exc.value.label == "add"


def test_constant_point_checks():
    b = CircuitBuilder()
    bjc.assert_on_curve(b, bjc.constant_point(bj.BASE8))
    assert b.n_gates == 0
    with pytest.raises(CircuitError, match="not on Baby Jubjub"):
        bjc.assert_on_curve(b, bjc.constant_point((1, 1)))
    with pytest.raises(CircuitError, match="pair"):
        bjc.add(b, (1, 2, 3), (1, 2))


# --- limbs, lookups, scalar multiplication ---------------------------------------------------


def test_limbs_and_lookup():
    b = CircuitBuilder()
    x = b.private_input("x")
    limbs, lo = bjc.limbs2(b, x, 5, low=2)
    assert b.n_gates == 5 * 2 + 1 + 3  # limb checks; low partial sum; the equation (5 terms)
    table = [11, R - 7, 0, 123456789]
    outs = [bjc.lookup(b, limb, table) for limb in limbs]
    assert b.n_gates == 14 + 5
    c = b.compile()
    rng = random.Random(4)
    for xv in [0, 4**5 - 1] + [rng.randrange(4**5) for _ in range(5)]:
        w = c.check({"x": xv})
        assert [c.value(lb.v, w) for lb in limbs] == [(xv >> (2 * i)) & 3 for i in range(5)]
        assert c.value(lo, w) == xv & 15
        assert [c.value(o, w) for o in outs] == [table[(xv >> (2 * i)) & 3] for i in range(5)]
    with pytest.raises(UnsatisfiedGate) as exc:
        c.check({"x": 4**5})
    assert exc.value.label == "sum"
    # a limb forced to 4 (and the next one lowered so that the sum still holds) fails its check
    with pytest.raises(UnsatisfiedGate) as exc:
        c.check({"x": 16}, overrides={limbs[1].v: 4, limbs[2].v: 0})
    assert exc.value.label == "limbs"
    with pytest.raises(CircuitError):
        bjc.limbs2(b, x, 128)
    with pytest.raises(CircuitError):
        bjc.lookup(b, limbs[0], [1, 2, 3])


@pytest.mark.parametrize("n_limbs", [1, 6])
def test_scalar_multiplications_equal_native(n_limbs):
    rng = random.Random(n_limbs)
    b = CircuitBuilder()
    e = b.private_input("e")
    p = (b.private_input("px"), b.private_input("py"))
    bjc.assert_on_curve(b, p)
    limbs, _ = bjc.limbs2(b, e, n_limbs)
    fixed = bjc.mul_fixed(b, limbs, bj.BASE8, p)
    fixed0 = bjc.mul_fixed(b, limbs, bj.GENERATOR, bjc.constant_point(bj.IDENTITY))
    var = bjc.mul_var(b, limbs, p)
    c = b.compile()
    for ev in [0, 4**n_limbs - 1, rng.randrange(4**n_limbs)]:
        for pt in (rand_point(rng), bj.GENERATOR):
            w = c.check({"e": ev, "px": pt[0], "py": pt[1]})
            assert point_value(c, fixed, w) == bj.add(pt, bj.mul_base8(ev))
            assert point_value(c, fixed0, w) == bj.mul(bj.GENERATOR, ev)
            assert point_value(c, var, w) == bjc.native_mul_var_result(pt, ev)
            assert point_value(c, var, w) == bj.mul(pt, 2 * ev + 1)


def test_full_size_scalars():
    """A 254-bit scalar through mul_var and a 252-bit one through mul_fixed."""
    rng = random.Random(7)
    b = CircuitBuilder()
    e, s = b.private_input("e"), b.private_input("s")
    p = (b.private_input("px"), b.private_input("py"))
    e_limbs, _ = bjc.limbs2(b, e, 127)
    s_limbs, _ = bjc.limbs2(b, s, 126)
    var = bjc.mul_var(b, e_limbs, p)
    fixed = bjc.mul_fixed(b, s_limbs, bj.BASE8, bjc.constant_point(bj.IDENTITY))
    c = b.compile()
    ev, sv, pt = rng.randrange(R), rng.randrange(1 << 252), rand_point(rng)
    w = c.check({"e": ev, "s": sv, "px": pt[0], "py": pt[1]})
    assert point_value(c, var, w) == bj.mul(pt, 2 * ev + 1)
    assert point_value(c, fixed, w) == bj.mul_base8(sv)


# --- EdDSA-Poseidon ----------------------------------------------------------------------------

NAMES = ("msg", "ax", "ay", "r8x", "r8y", "s")


@cache
def verifier(subgroup_check: bool = False):
    b = CircuitBuilder()
    v = [b.public_input(n) if n == "msg" else b.private_input(n) for n in NAMES]
    ec.verify(b, *v, subgroup_check=subgroup_check)
    return b.compile()


def sig_inputs(msg: int, sig: eddsa.Signature, pub: bj.Point) -> dict:
    return {"msg": msg, "ax": pub[0], "ay": pub[1], "r8x": sig.r8[0], "r8y": sig.r8[1], "s": sig.s}


def signed(seed: int, msg: int | None = None):
    rng = random.Random(seed)
    prv = rng.randbytes(32)
    msg = rng.randrange(R) if msg is None else msg
    return msg, eddsa.sign_poseidon(prv, msg), eddsa.prv2pub(prv), prv


def expect_failure(c, inputs, label: str) -> None:
    with pytest.raises(UnsatisfiedGate) as exc:
        c.check(inputs)
    assert exc.value.label is not None and exc.value.label.startswith(label), exc.value.label


def test_gate_count_and_report():
    c = verifier()
    assert c.n_gates < 22_115 // 2  # circomlib's EdDSAPoseidonVerifier: 22,115 PLONK gates
    report = c.report(2)
    assert report["eddsa/hash"] == 1125 + 5  # Poseidon(5), its output a variable
    assert report["eddsa/check"] == 2
    assert verifier(True).n_gates - c.n_gates == 19  # A = 8 A', minus nothing else


@pytest.mark.parametrize("seed", range(4))
def test_honest_signatures_verify(seed):
    msg, sig, pub, _ = signed(seed)
    assert ec.native_verify(msg, sig, pub)
    assert ec.native_verify(msg, sig, pub, subgroup_check=True)
    for strict in (False, True):
        c = verifier(strict)
        w = c.check(sig_inputs(msg, sig, pub))
        assert c.public_signals(w) == [msg]


def forgeries(seed: int):
    """(name, inputs, expected failing label or None when valid) for one honest signature."""
    msg, sig, pub, prv = signed(seed)
    other_msg, other_sig, other_pub, _ = signed(seed + 100)
    s = sig.s
    base = sig_inputs(msg, sig, pub)
    yield "honest", base, None
    yield "S + 1", dict(base, s=(s + 1) % L), "eddsa/check"
    yield "S + l", dict(base, s=s + L), "eddsa/S_range"
    yield "S = r - 1", dict(base, s=R - 1), "eddsa/S_bits"
    yield "wrong message", dict(base, msg=(msg + 1) % R), "eddsa/check"
    yield "other key", dict(base, ax=other_pub[0], ay=other_pub[1]), "eddsa/check"
    yield "other R8", dict(base, r8x=other_sig.r8[0], r8y=other_sig.r8[1]), "eddsa/check"
    yield "A off curve", dict(base, ay=(pub[1] + 1) % R), "eddsa/A_on_curve"
    yield "R8 off curve", dict(base, r8x=(sig.r8[0] + 1) % R), "eddsa/R8_on_curve"
    yield "another's signature", sig_inputs(msg, other_sig, pub), "eddsa/check"
    # A + T (T of order 2): outside the subgroup, not small order; signed for that key, circomlib
    # accepts it (8 (A + T) = 8 A), the subgroup check does not
    tors = bj.add(pub, ORDER2)
    r8 = sig.r8
    h = eddsa.challenge(r8, tors, msg)
    r = (s - eddsa.challenge(r8, pub, msg) * eddsa.private_scalar(prv)) % L
    s_t = (r + h * eddsa.private_scalar(prv)) % L
    yield "A + T", sig_inputs(msg, eddsa.Signature(r8, s_t), tors), None
    # a small-order key: 8 A = O
    yield "A of order 2", dict(base, ax=ORDER2[0], ay=ORDER2[1]), "eddsa/A_small_order"
    yield "A = identity", dict(base, ax=0, ay=1), "eddsa/A_small_order"


def _case_sig(inputs: dict) -> tuple[int, eddsa.Signature, bj.Point]:
    return (
        inputs["msg"],
        eddsa.Signature((inputs["r8x"], inputs["r8y"]), inputs["s"]),
        (inputs["ax"], inputs["ay"]),
    )


@pytest.mark.parametrize("seed", [11, 12])
def test_forgeries_fail_at_the_right_gate(seed):
    c = verifier()
    for name, inputs, label in forgeries(seed):
        msg, sig, pub = _case_sig(inputs)
        assert ec.native_verify(msg, sig, pub) == (label is None), name
        if label is None:
            c.check(inputs)
        else:
            expect_failure(c, inputs, label)


def test_subgroup_check():
    c = verifier(True)
    for name, inputs, label in forgeries(13):
        msg, sig, pub = _case_sig(inputs)
        if name == "A + T":
            label = "eddsa/A_subgroup"
        if name in ("A of order 2", "A = identity"):
            label = "eddsa/A_subgroup" if name == "A of order 2" else "eddsa/A_small_order"
        strict = ec.native_verify(msg, sig, pub, subgroup_check=True)
        assert strict == (label is None), name
        # the native default verifier (subgroup checks) agrees with the strict circuit
        assert eddsa.verify_poseidon(msg, sig, pub) == strict, name
        if label is None:
            c.check(inputs)
        else:
            expect_failure(c, inputs, label)


def test_native_twin_agrees_with_circomlibjs_semantics():
    """``native_verify`` = ``verify_poseidon(check_subgroup=False)`` (circomlibjs) except for a
    small-order key, which only the circuit semantics reject."""
    for name, inputs, _ in forgeries(14):
        msg, sig, pub = _case_sig(inputs)
        lax = eddsa.verify_poseidon(msg, sig, pub, check_subgroup=False)
        if name in ("A of order 2", "A = identity"):
            assert not ec.native_verify(msg, sig, pub)
        else:
            assert ec.native_verify(msg, sig, pub) == lax, name


def test_aliased_challenge_is_refused():
    """h's limbs spell e = h + r (< 2^254 when h < 2^254 - r): the sum holds mod r and every
    limb is in range, so only the h <= r - 1 comparison stops it."""
    b = CircuitBuilder()
    h = b.private_input("h")
    limbs, e_lo = bjc.limbs2(b, h, ec.H_LIMBS, low=ec.H_LOW)
    with b.scope("below"):
        ec._assert_below_r(b, h, e_lo)
    c = b.compile()
    rng = random.Random(8)
    for hv in (0, R - 1, rng.randrange(R), (1 << 254) - R - 1):
        c.check({"h": hv})
    hv = 12345
    alias = hv + R
    assert alias < 1 << 254
    forced = {limb.v: (alias >> (2 * i)) & 3 for i, limb in enumerate(limbs)}
    with pytest.raises(UnsatisfiedGate) as exc:
        c.check({"h": hv}, overrides=forced)
    assert exc.value.label.startswith("below/")


def test_forced_intermediate_fails():
    """Forcing a hinted coordinate (the first fixed-base addition's x3) breaks its check."""
    msg, sig, pub, _ = signed(21)
    c = verifier()
    label = "eddsa/mul_s/mul_fixed/window0/add"
    rows = [i for i, lab in enumerate(c.cs.labels) if lab == label]
    assert len(rows) == 9
    x3 = Var(c.order[c.cs.a[rows[5]]])  # A, B, C, D, T, then x3 (1 + T) = C + D
    with pytest.raises(UnsatisfiedGate) as exc:
        c.check(sig_inputs(msg, sig, pub), overrides={x3: 7})
    assert exc.value.label == label


# --- circomlibjs -------------------------------------------------------------------------------

_SIGN_JS = """
import { buildEddsa } from "circomlibjs";
import { readFileSync } from "node:fs";
const q = JSON.parse(readFileSync(0, "utf8"));
const eddsa = await buildEddsa();
const F = eddsa.babyJub.F;
const str = (p) => [F.toString(p[0]), F.toString(p[1])];
const out = q.map(([k, m]) => {
    const prv = Buffer.from(k, "hex");
    const sig = eddsa.signPoseidon(prv, F.e(BigInt(m)));
    return { A: str(eddsa.prv2pub(prv)), R8: str(sig.R8), S: sig.S.toString() };
});
console.log(JSON.stringify(out));
process.exit(0);
"""


@pytest.mark.node
def test_circomlibjs_signatures_verify_in_circuit():
    rng = random.Random(31)
    cases = [(rng.randbytes(32).hex(), rng.randrange(R)) for _ in range(3)]
    cases.append(("00" * 32, 0))
    proc = subprocess.run(
        ["node", "--input-type=module", "-e", _SIGN_JS],
        input=json.dumps([[k, str(m)] for k, m in cases]),
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    for (key, msg), got in zip(cases, out):
        pub = (int(got["A"][0]), int(got["A"][1]))
        sig = eddsa.Signature((int(got["R8"][0]), int(got["R8"][1])), int(got["S"]))
        assert pub == eddsa.prv2pub(bytes.fromhex(key))
        assert ec.native_verify(msg, sig, pub, subgroup_check=True)
        for strict in (False, True):
            verifier(strict).check(sig_inputs(msg, sig, pub))
        expect_failure(verifier(), sig_inputs((msg + 1) % R, sig, pub), "eddsa/check")
