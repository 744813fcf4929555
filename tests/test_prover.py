"""The PLONK prover (prover/plonk/prover.py, kernels in prover/plonk/kernels.py).

- Every fused kernel against its plain-Python twin on random inputs (tiny sizes, several chunk
  counts, so the chunk carries of the parallel scans are exercised).
- Proofs for circom circuits set up by ``snarkjs plonk setup`` (snarkjs-made, contributed ptau),
  with snarkjs's own witness (``snarkjs wtns calculate``), read by ``prover.zkey`` and
  ``prover.wtns``: ``snarkjs plonk verify`` accepts them (issue B acceptance 1) and so does our
  Python verifier. Circuits with 0, 1, 6 (L1-rotation path for PI) and 12 (NTT path for PI)
  public signals, domains 2^3 .. 2^10, and one 2^12 circuit (slow).
- A witness that breaks one gate: the prover refuses and names the first failing row (the same
  row ``prover.plonk.constraint_system.check_satisfied`` names, computed independently from the
  r1cs); with ``check=False`` the proof it makes is rejected by both verifiers.
- An injected rng makes proofs reproducible; different blinders give different proofs.
- Bad witnesses (length, values >= r) and malformed keys are typed errors.
"""

from __future__ import annotations

import dataclasses
import json
import random
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from prover import formats, kzg, params
from prover.field import convert
from prover.field.kernels import FR_M
from prover.field.mont import FR_MOD
from prover.plonk import kernels as kern
from prover.plonk import prover as plonk_prover
from prover.plonk import verifier
from prover.plonk.prover import (
    ProverContext,
    ProverError,
    UnsatisfiedWitness,
    WitnessError,
    prove,
    prove_with_timings,
)

R = params.R_ORDER


# --- kernels vs twins -------------------------------------------------------------------------


def rand_m(n: int, rng: random.Random) -> np.ndarray:
    if n == 0:
        return np.zeros((0, 4), dtype=np.uint64)
    return convert.to_mont(FR_M, [rng.randrange(R) for _ in range(n)])


def el(x: int) -> tuple:
    return FR_M.element(x % R)


def ints(a_m: np.ndarray) -> list[int]:
    return convert.from_mont(FR_M, a_m) if a_m.shape[0] else []


def test_additions_kernel_matches_twin():
    rng = random.Random(1)
    n_vars, nadd = 6, 9
    w = rand_m(n_vars + nadd, rng)
    w[n_vars:] = 0
    # each addition reads earlier signals; one reads past the array (reads as zero)
    sig1 = np.array([rng.randrange(n_vars + i) for i in range(nadd)], dtype=np.int64)
    sig2 = np.array([rng.randrange(n_vars + i) for i in range(nadd)], dtype=np.int64)
    sig2[3] = n_vars + nadd + 5
    f1, f2 = rand_m(nadd, rng), rand_m(nadd, rng)
    w_twin = w.copy()
    kern.additions_m(w, n_vars, sig1, sig2, f1, f2)
    kern.additions_twin(w_twin, n_vars, sig1, sig2, f1, f2)
    assert np.array_equal(w, w_twin)
    vals, a, b = ints(w), ints(f1), ints(f2)
    assert vals[n_vars + 3] == a[3] * vals[sig1[3]] % R  # the out-of-range signal read as 0
    assert vals[n_vars + 8] == (a[8] * vals[sig1[8]] + b[8] * vals[sig2[8]]) % R


def test_wires_kernel_matches_twin():
    rng = random.Random(2)
    w = rand_m(11, rng)
    maps = [np.array([rng.randrange(11) for _ in range(5)], dtype=np.int64) for _ in range(3)]
    outs = [np.full((8, 4), 7, dtype=np.uint64) for _ in range(6)]
    kern.wires_m(w, *maps, *outs[:3])
    kern.wires_twin(w, *maps, *outs[3:])
    for k in range(3):
        assert np.array_equal(outs[k], outs[k + 3])
        assert ints(outs[k]) == [ints(w)[j] for j in maps[k]] + [0, 0, 0]


def _satisfied_rows(n: int, npub: int, rng: random.Random):
    """Random a, b, selectors and c chosen so that every gate (PI included) holds."""
    a, b = [rng.randrange(R) for _ in range(n)], [rng.randrange(R) for _ in range(n)]
    qm, ql, qr, qc = ([rng.randrange(R) for _ in range(n)] for _ in range(4))
    qo = [rng.randrange(1, R) for _ in range(n)]
    pub = [rng.randrange(R) for _ in range(npub)]
    c = []
    for i in range(n):
        g = qm[i] * a[i] * b[i] + ql[i] * a[i] + qr[i] * b[i] + qc[i] - (pub[i] if i < npub else 0)
        c.append(-g * pow(qo[i], -1, R) % R)
    to = lambda xs: convert.to_mont(FR_M, xs)  # noqa: E731
    return [to(v) for v in (a, b, c, qm, ql, qr, qo, qc)], to(pub)


@pytest.mark.parametrize("chunks", [1, 3, 8])
def test_gate_check_kernel_matches_twin(chunks):
    rng = random.Random(3)
    cols, pub = _satisfied_rows(32, 3, rng)
    args = (*cols, pub, chunks)
    assert kern.gate_check_m(*args) == kern.gate_check_twin(*args) == -1
    for row in (0, 2, 17, 31):  # a public row, another public row, later rows
        broken = [c.copy() for c in cols]
        broken[2][row] = FR_M.element(rng.randrange(R))  # c
        if row + 5 < 32:
            broken[0][row + 5] = FR_M.element(5)  # a second, later failure (on a)
        args = (*broken, pub, chunks)
        assert kern.gate_check_m(*args) == kern.gate_check_twin(*args) == row


@pytest.mark.parametrize("ks", [(2, 3), (5, 7)])  # snarkjs's k1, k2 (additions) and others
@pytest.mark.parametrize("chunks", [1, 3, 8])
def test_permutation_z_kernel_matches_twin(chunks, ks):
    rng = random.Random(4)
    n = 16
    cols = [rand_m(n, rng) for _ in range(6)]
    scalars = [el(rng.randrange(R)) for _ in range(2)] + [el(ks[0]), el(ks[1])]
    omega = el(params.fr_root_of_unity(4))
    z1, z2 = np.zeros((n, 4), dtype=np.uint64), np.zeros((n, 4), dtype=np.uint64)
    tmp = [np.empty((n, 4), dtype=np.uint64) for _ in range(2)]
    wrap1 = kern.permutation_z_m(*cols, *scalars, omega, z1, *tmp, chunks)
    wrap2 = kern.permutation_z_twin(*cols, *scalars, omega, z2, *tmp, chunks)
    assert np.array_equal(z1, z2)
    assert FR_M.element_int(wrap1) == FR_M.element_int(wrap2) != 1
    assert ints(z1)[0] == 1


def test_permutation_z_wraps_to_one_for_a_permutation():
    """sigma a true permutation of the wire positions and a, b, c constant on its cycles: z
    closes (z(w^n) = 1), as the copy-constraint argument needs."""
    rng = random.Random(5)
    n, k1, k2 = 8, 2, 3
    w = params.fr_root_of_unity(3)
    ident = [pow(w, i, R) for i in range(n)]
    ident = ident + [k1 * x % R for x in ident] + [k2 * x % R for x in ident]
    perm = list(range(3 * n))
    rng.shuffle(perm)
    values = [0] * (3 * n)
    for cycle_start in range(3 * n):  # one value per cycle of perm
        if values[cycle_start]:
            continue
        v, j = rng.randrange(1, R), cycle_start
        while not values[j]:
            values[j] = v
            j = perm[j]
    sigma = [ident[perm[j]] for j in range(3 * n)]
    to = lambda xs: convert.to_mont(FR_M, xs)  # noqa: E731
    cols = [to(values[k * n : (k + 1) * n]) for k in range(3)]
    sig = [to(sigma[k * n : (k + 1) * n]) for k in range(3)]
    z = np.zeros((n, 4), dtype=np.uint64)
    tmp = [np.empty((n, 4), dtype=np.uint64) for _ in range(2)]
    args = (el(rng.randrange(R)), el(rng.randrange(R)), el(k1), el(k2), el(w))
    wrap = kern.permutation_z_m(*cols, *sig, *args, z, *tmp, 3)
    assert FR_M.element_int(wrap) == 1


@pytest.mark.parametrize("ks", [(2, 3), (5, 7)])
@pytest.mark.parametrize("npub, use_pi", [(0, False), (3, False), (3, True)])
@pytest.mark.parametrize("chunks", [1, 5])
def test_quotient_kernel_matches_twin(npub, use_pi, chunks, ks):
    rng = random.Random(6 + npub)
    size = 32
    arrays = [rand_m(size, rng) for _ in range(13)]  # a b c z qm ql qr qo qc s1 s2 s3 l1
    zh_inv = rand_m(4, rng)
    pub = rand_m(npub, rng)
    pi = rand_m(size, rng) if use_pi else np.zeros((0, 4), dtype=np.uint64)
    beta, gamma, alpha = (rng.randrange(1, R) for _ in range(3))
    shift, w4 = 5, params.fr_root_of_unity(5)
    scal = (el(beta), el(gamma), el(alpha), el(ks[0]), el(ks[1]), el(beta * shift), el(w4))
    out1, out2 = np.zeros((size, 4), dtype=np.uint64), np.zeros((size, 4), dtype=np.uint64)
    kern.quotient_m(*arrays, zh_inv, pub, pi, *scal, out1, chunks)
    kern.quotient_twin(*arrays, zh_inv, pub, pi, *scal, out2, chunks)
    assert np.array_equal(out1, out2)


def test_linearise_kernel_matches_twin():
    rng = random.Random(7)
    n = 8
    lengths = [n] * 8 + [n + 2, n + 2, n + 2, n + 3, n + 1, n + 1, n + 6]
    arrays = [rand_m(m, rng) for m in lengths]
    scalars = rand_m(kern.LIN_ROWS, rng)
    out1, out2 = np.zeros((n + 6, 4), dtype=np.uint64), np.zeros((n + 6, 4), dtype=np.uint64)
    kern.linearise_m(*arrays, scalars, out1)
    kern.linearise_twin(*arrays, scalars, out2)
    assert np.array_equal(out1, out2)


@pytest.mark.parametrize("chunks", [1, 3, 16])
def test_evaluate6_kernel_matches_twin(chunks):
    rng = random.Random(12)
    polys = [rand_m(m, rng) for m in (10, 10, 10, 8, 8, 11)]
    xs = rand_m(6, rng)
    out1, out2 = np.zeros((6, 4), dtype=np.uint64), np.zeros((6, 4), dtype=np.uint64)
    kern.evaluate6_m(*polys, xs, out1, chunks)
    kern.evaluate6_twin(*polys, xs, out2, chunks)
    assert np.array_equal(out1, out2)


@pytest.mark.parametrize("length", [1, 2, 13])
def test_div_linear_sequential_and_chunked_agree(length):
    """The one-thread division the prover uses on few cores (prover.kzg.divide_by_linear_m)
    and its twin, against the chunked kernel."""
    rng = random.Random(13 + length)
    p, x = rand_m(length, rng), el(rng.randrange(R))
    q1 = np.zeros((length - 1, 4), dtype=np.uint64)
    q2 = np.zeros((length - 1, 4), dtype=np.uint64)
    q3 = np.zeros((length - 1, 4), dtype=np.uint64)
    r1 = kzg.divide_by_linear_m(p, x, q1, FR_MOD)
    r2 = kzg.divide_by_linear_twin(p, x, q2, FR_MOD)
    r3 = kern.div_linear_m(p, x, q3, 3)
    assert np.array_equal(q1, q2) and np.array_equal(q1, q3)
    assert FR_M.element_int(r1) == FR_M.element_int(r2) == FR_M.element_int(r3)


@pytest.mark.parametrize("length", [1, 2, 13, 64])
@pytest.mark.parametrize("chunks", [1, 2, 5, 16])
def test_div_linear_kernel_matches_twin(length, chunks):
    rng = random.Random(8 + length)
    p = rand_m(length, rng)
    x = rng.randrange(R)
    q1 = np.zeros((length - 1, 4), dtype=np.uint64)
    q2 = np.zeros((length - 1, 4), dtype=np.uint64)
    rem1 = kern.div_linear_m(p, el(x), q1, chunks)
    rem2 = kern.div_linear_twin(p, el(x), q2, chunks)
    assert np.array_equal(q1, q2)
    assert FR_M.element_int(rem1) == FR_M.element_int(rem2)
    # p(X) = q(X) (X - x) + rem, checked on the coefficients with Python ints
    pc, qc, rem = ints(p), ints(q1), FR_M.element_int(rem1)
    prod = [0] * length
    for j, c in enumerate(qc):
        prod[j + 1] += c
        prod[j] -= c * x
    prod[0] += rem
    assert [v % R for v in prod] == pc


# --- a synthetic key (no Node tools) ----------------------------------------------------------


def test_tiny_synthetic_key_proves_and_verifies():
    pk = plonk_prover._tiny_key()
    proof, public = prove(pk, [1, 0], rng=random.Random(1))
    assert public == []
    assert verifier.verify(pk.vk, public, proof).valid


def test_witness_errors():
    pk = plonk_prover._tiny_key()
    with pytest.raises(WitnessError, match="3 values, the proving key expects 2"):
        prove(pk, [1, 0, 0])
    with pytest.raises(WitnessError, match="witness value 1 is not a canonical Fr element"):
        prove(pk, [1, R])
    with pytest.raises(WitnessError, match="witness value 1"):
        prove(pk, [1, -1])


def test_malformed_keys_are_refused():
    pk = plonk_prover._tiny_key()
    bad_map = dataclasses.replace(pk, a_map=np.array([7], dtype=np.uint32))
    with pytest.raises(ProverError, match="a_map refers to a signal outside 0..2"):
        ProverContext.from_key(bad_map)
    bad_add = dataclasses.replace(pk, additions=((2, 1, 1, 1),))
    with pytest.raises(ProverError, match="addition 0 reads a signal not computed before it"):
        ProverContext.from_key(bad_add)
    ctx = ProverContext.from_key(pk)
    other = plonk_prover._tiny_key()
    with pytest.raises(ValueError, match="another proving key"):
        prove(other, [1, 0], context=ctx)


def test_context_cache_does_not_pin_keys():
    import gc
    import weakref

    pk = plonk_prover._tiny_key()
    prove(pk, [1, 2])
    assert plonk_prover._CONTEXTS.get(pk) is not None
    ref = weakref.ref(pk)
    del pk
    gc.collect()
    assert ref() is None


def test_broken_permutation_is_refused():
    """A key whose permutation polynomials do not match its wire maps: z does not close."""
    pk = plonk_prover._tiny_key()
    bad = dataclasses.replace(pk, s1_m=pk.s2_m.copy())
    with pytest.raises(UnsatisfiedWitness, match="copy constraints do not hold") as info:
        prove(bad, [1, 5])
    assert info.value.row is None


def test_progress_and_timings():
    pk = plonk_prover._tiny_key()
    calls = []
    result = prove_with_timings(pk, [1, 0], progress=lambda *a: calls.append(a))
    assert [(k, name) for k, name, _ in calls] == [
        (k, name) for k, name in enumerate(plonk_prover.ROUND_NAMES, start=1) for _ in (0, 1)
    ]
    assert [s is None for _, _, s in calls] == [True, False] * 5
    t = result.timings
    assert t["msm_count"] == 9
    assert t["msm_points"] == 8 * 9 + 2 * 3 + 3 + 1 + 1 + 6 + 5 + 2  # n+2 x3, n+3, ...
    assert t["total_s"] == pytest.approx(sum(t[f"{name}_s"] for name in plonk_prover.ROUND_NAMES))
    for name in plonk_prover.KERNEL_NAMES:
        assert t[f"kernel_{name}_s"] >= 0


# --- circom circuits set up by snarkjs ---------------------------------------------------------

NO_PUBLIC = """pragma circom 2.0.0;
template NoPublic() {
    signal input a;
    signal input b;
    signal ab;
    ab <== a * b;
    ab * b === 147;
}
component main = NoPublic();
"""

ONE_PUBLIC = """pragma circom 2.0.0;
template OnePublic() {
    signal input a;
    signal input b;
    signal output c;
    signal t;
    t <== a * b + 3;
    c <== t * a + b;
}
component main = OnePublic();
"""

MANY_PUBLIC = """pragma circom 2.0.0;
template ManyPublic(N) {
    signal input x[N];
    signal input k;
    signal output y[N];
    signal acc[N + 1];
    acc[0] <== k;
    for (var i = 0; i < N; i++) {
        acc[i + 1] <== acc[i] * x[i];
        y[i] <== acc[i + 1] + x[i] * x[i] + 7;
    }
}
component main {public [x]} = ManyPublic(NN);
"""

CHAIN = """pragma circom 2.0.0;
template Chain(N) {
    signal input x;
    signal input y;
    signal output out;
    signal t[N];
    t[0] <== x * y;
    for (var i = 1; i < N; i++) {
        t[i] <== t[i-1] * t[i-1] + x;
    }
    out <== t[N-1];
}
component main {public [x]} = Chain(NN);
"""

# name: (source, inputs, ptau power, expected nPublic, expected domain power)
CASES = {
    "nopub": (NO_PUBLIC, {"a": 3, "b": 7}, 8, 0, 3),
    "onepub": (ONE_PUBLIC, {"a": 3, "b": 11}, 8, 1, 3),
    "pub6": (MANY_PUBLIC.replace("NN", "3"), {"x": [2, 3, 5], "k": 13}, 8, 6, 4),
    "pub12": (
        MANY_PUBLIC.replace("NN", "6"),
        {"x": [2, 3, 5, 7, 11, str(R - 1)], "k": 13},
        8,
        12,
        5,
    ),
    "chain2p10": (CHAIN.replace("NN", "300"), {"x": 3, "y": 5}, 12, 2, 10),
}


@dataclasses.dataclass(frozen=True)
class Case:
    name: str
    dir: Path
    zkey: Path
    vk_path: Path
    witness: list[int]
    r1cs: Path

    def pk(self):
        from prover.zkey import read_zkey

        return read_zkey(self.zkey)


_CASES: dict[str, Case] = {}


def snarkjs_case(name: str, tmp_root: Path) -> Case:
    from prover.wtns import read_wtns
    from tests.interop import circom_witness, compile_circom, snarkjs, snarkjs_ptau

    if name not in _CASES:
        source, inputs, power, _, _ = CASES[name]
        build = compile_circom(source, f"prover_{name}")
        wtns = circom_witness(build, inputs)
        d = tmp_root / name
        d.mkdir(parents=True, exist_ok=True)
        snarkjs("plonk", "setup", build.r1cs, snarkjs_ptau(power), d / "circuit.zkey")
        snarkjs("zkey", "export", "verificationkey", d / "circuit.zkey", d / "vk.json")
        _CASES[name] = Case(name, d, d / "circuit.zkey", d / "vk.json", read_wtns(wtns), build.r1cs)
    return _CASES[name]


@pytest.fixture(scope="module")
def tmp_root(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("prover")


def snarkjs_accepts(case: Case, proof, public, tag: str) -> bool:
    from tests.interop import snarkjs_ok

    proof_path = case.dir / f"proof-{tag}.json"
    public_path = case.dir / f"public-{tag}.json"
    formats.write_json(proof_path, formats.proof_to_json(proof))
    formats.write_json(public_path, formats.public_to_json(public))
    return snarkjs_ok("plonk", "verify", case.vk_path, public_path, proof_path)


@pytest.mark.node
@pytest.mark.parametrize("name", list(CASES))
def test_proof_verifies_in_snarkjs_and_ours(name, tmp_root):
    case = snarkjs_case(name, tmp_root)
    _, _, _, n_public, power = CASES[name]
    pk = case.pk()
    assert (pk.n_public, pk.power) == (n_public, power)
    vk = formats.parse_vk_json(json.loads(case.vk_path.read_text()))
    assert vk == pk.vk
    proof, public = prove(pk, case.witness, rng=random.Random(11))
    assert public == case.witness[1 : n_public + 1]
    assert verifier.verify(vk, public, proof).valid
    assert snarkjs_accepts(case, proof, public, "ok")


@pytest.mark.node
@pytest.mark.slow
def test_proof_at_2p12_verifies_in_snarkjs(tmp_root):
    CASES["chain2p12"] = (CHAIN.replace("NN", "1500"), {"x": 7, "y": 2}, 12, 2, 12)
    case = snarkjs_case("chain2p12", tmp_root)
    pk = case.pk()
    assert pk.power == 12
    proof, public = prove(pk, case.witness)
    assert verifier.verify(pk.vk, public, proof).valid
    assert snarkjs_accepts(case, proof, public, "ok")


@pytest.mark.node
def test_injected_rng_makes_proofs_reproducible(tmp_root):
    case = snarkjs_case("onepub", tmp_root)
    pk = case.pk()
    p1, pub1 = prove(pk, case.witness, rng=random.Random(42))
    p2, pub2 = prove(pk, case.witness, rng=random.Random(42))
    p3, _ = prove(pk, case.witness, rng=random.Random(43))
    p4, _ = prove(pk, case.witness)  # OS randomness
    assert p1 == p2 and pub1 == pub2
    assert formats.proof_to_json(p1) == formats.proof_to_json(p2)
    for other in (p3, p4):
        for name in formats.PROOF_POINT_NAMES:  # every commitment is blinded
            assert getattr(other, name) != getattr(p1, name)
        assert verifier.verify(pk.vk, pub1, other).valid


def _broken_witness(case: Case) -> tuple[list[int], int]:
    """The witness with one internal (non-public) signal changed, and the first gate row it
    breaks according to the constraint system rebuilt from the r1cs (independent code)."""
    from prover.plonk.constraint_system import UnsatisfiedGate, check_satisfied, from_r1cs
    from prover.r1cs import read_r1cs

    cs = from_r1cs(read_r1cs(case.r1cs))
    bad = list(case.witness)
    k = len(bad) - 2
    assert k > cs.n_public
    bad[k] = (bad[k] + 1) % R
    with pytest.raises(UnsatisfiedGate) as info:
        check_satisfied(cs, bad)
    return bad, info.value.row


@pytest.mark.node
@pytest.mark.parametrize("name", ["onepub", "pub6"])
def test_broken_witness_is_refused_and_unchecked_proof_rejected(name, tmp_root):
    case = snarkjs_case(name, tmp_root)
    pk = case.pk()
    bad, row = _broken_witness(case)
    with pytest.raises(UnsatisfiedWitness, match=rf"\bgate {row} \(a = signal") as info:
        prove(pk, bad)
    assert info.value.row == row
    proof, public = prove(pk, bad, rng=random.Random(3), check=False)
    assert not verifier.verify(pk.vk, public, proof).valid
    assert not snarkjs_accepts(case, proof, public, "bad")


@pytest.mark.node
def test_cli_prove_refuses_a_broken_witness(tmp_root):
    from cli.main import zkperp
    from prover.wtns import write_wtns

    case = snarkjs_case("onepub", tmp_root)
    bad, row = _broken_witness(case)
    write_wtns(case.dir / "bad.wtns", bad)
    out = [case.dir / "cli-proof.json", case.dir / "cli-public.json"]
    result = CliRunner().invoke(
        zkperp, ["plonk", "prove", str(case.zkey), str(case.dir / "bad.wtns"), *map(str, out)]
    )
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    assert f"gate {row} " in result.output
    assert not out[0].exists()


@pytest.mark.node
def test_cli_prove_writes_what_snarkjs_accepts(tmp_root):
    from cli.main import zkperp
    from prover.wtns import write_wtns
    from tests.interop import snarkjs_ok

    case = snarkjs_case("pub6", tmp_root)
    write_wtns(case.dir / "good.wtns", case.witness)
    proof, public = case.dir / "cli-proof.json", case.dir / "cli-public.json"
    args = ["plonk", "prove", str(case.zkey), str(case.dir / "good.wtns"), str(proof), str(public)]
    result = CliRunner().invoke(zkperp, [*args, "-v"])
    assert result.exit_code == 0, result.output
    for k in range(1, 6):
        assert f"round {k}/5" in result.output
    assert "prove " in result.output and "MSM" in result.output
    assert json.loads(public.read_text()) == [str(x) for x in case.witness[1:7]]
    assert snarkjs_ok("plonk", "verify", case.vk_path, public, proof)
