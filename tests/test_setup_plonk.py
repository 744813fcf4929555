"""prover.plonk.setup (and the `plonk setup` / `zkey` commands): golden against snarkjs 0.7.6.

For circom circuits with 0, 1 and many public signals, long linear sums (additions) and
constants, from domain 8 up to 2^12, on snarkjs's own ptau: our vk.json equals snarkjs's, our
zkey is byte-identical to the one `snarkjs plonk setup` writes, and snarkjs proves with our zkey
(`snarkjs plonk verify` accepts). At 2^16 (no snarkjs ptau that large) the commitments are
checked against p(tau) computed from the evaluations with Python ints, for a known tau.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from cli.main import zkperp
from prover import params
from prover.curve import ref as curve
from prover.field import convert
from prover.field.kernels import FQ_M, FR_M
from prover.kzg import KnownTauPowers as KnownTauPtau
from prover.plonk.constraint_system import (
    ConstraintSystem,
    domain_power,
    from_r1cs,
    save_circuit,
)
from prover.plonk.setup import SetupError, selector_evaluations_m, setup, sigma_evaluations_m
from prover.poly.domain import Domain
from prover.poly.ntt import ntt
from prover.ptau import read_ptau, write_dev_ptau
from prover.r1cs import read_r1cs
from prover.zkey import compare_zkey, read_zkey, verification_key_json, write_zkey
from tests.interop import (
    SnarkjsError,
    circom_witness,
    compile_circom,
    snarkjs,
    snarkjs_ok,
    snarkjs_ptau,
)

R = params.R_ORDER

NO_PUBLIC = """pragma circom 2.0.0;
template NoPublic() {
    signal input a;
    signal input b;
    signal c;
    signal d;
    signal e;
    c <== a * b;
    d <== (c + a + 3) * (b - 1);
    e <== c + d + a + b + 10;
}
component main = NoPublic();
"""
ONE_PUBLIC = """pragma circom 2.0.0;
template Mul() {
    signal input a;
    signal input b;
    signal output c;
    c <== a * b;
}
component main = Mul();
"""
MANY_PUBLIC = """pragma circom 2.0.0;
template Many(N) {
    signal input x[N];
    signal input y;
    signal input z;
    signal output o[4];
    signal t[N];
    t[0] <== x[0] * y;
    for (var i = 1; i < N; i++) {
        t[i] <== t[i - 1] * x[i] + z;
    }
    o[0] <== t[N - 1] + 1;
    o[1] <== t[0] * z;
    o[2] <== o[1] + o[0] + y + x[0] + x[1] + x[2] + x[3] - 9;
    o[3] <== 5 * x[1] - 2;
}
component main {public [y, z, x]} = Many(5);
"""
LINEAR = """pragma circom 2.0.0;
template Linear() {
    signal input a[6];
    signal input k;
    signal output s;
    signal output p;
    signal m;
    s <== a[0] + 2*a[1] + 3*a[2] - a[3] + 5*a[4] + 6*a[5] + 11;
    m <== (a[0] + a[1] + a[2] + 4) * (k - a[3] + a[4] - 9);
    p <== m * 3 + s - 2 * k + 1;
}
component main {public [k]} = Linear();
"""
BIG = """pragma circom 2.0.0;
template Big(N) {
    signal input x;
    signal input y;
    signal output out;
    signal acc[N + 1];
    acc[0] <== x;
    for (var i = 0; i < N; i++) {
        acc[i + 1] <== acc[i] * (acc[i] + i + y);
    }
    out <== acc[N] + 3;
}
component main {public [y]} = Big(1500);
"""
CIRCUITS = {
    "setup_nopub": (NO_PUBLIC, {"a": 3, "b": 5}, 8),
    "setup_onepub": (ONE_PUBLIC, {"a": 3, "b": 11}, 8),
    "setup_manypub": (MANY_PUBLIC, {"x": [1, 2, 3, 4, 5], "y": 6, "z": 7}, 8),
    "setup_linear": (LINEAR, {"a": [1, 2, 3, 4, 5, 6], "k": 7}, 8),
    "setup_big": (BIG, {"x": 2, "y": 3}, 12),
}


def run_cli(*args: str | Path) -> tuple[int, str]:
    result = CliRunner().invoke(zkperp, [str(a) for a in args], prog_name="zkperp")
    assert "Traceback" not in result.output, result.output
    return result.exit_code, result.output


@pytest.fixture(scope="module")
def golden(tmp_path_factory):
    """name -> (build, ptau, snarkjs zkey, snarkjs vk.json path), made once per module."""
    out = {}
    base = tmp_path_factory.mktemp("snarkjs_setup")

    def get(name: str):
        if name not in out:
            source, _, power = CIRCUITS[name]
            build = compile_circom(source, name)
            ptau = snarkjs_ptau(power)
            zkey, vk = base / f"{name}.zkey", base / f"{name}_vk.json"
            snarkjs("plonk", "setup", build.r1cs, ptau, zkey)
            snarkjs("zkey", "export", "verificationkey", zkey, vk)
            out[name] = (build, ptau, zkey, vk)
        return out[name]

    return get


@pytest.mark.node
@pytest.mark.parametrize("name", list(CIRCUITS))
def test_setup_identical_to_snarkjs(name, golden, tmp_path):
    build, ptau_path, their_zkey, their_vk = golden(name)
    cs = from_r1cs(read_r1cs(build.r1cs))
    pk = setup(cs, read_ptau(ptau_path))
    # vk.json: the same dict, and the same text as snarkjs's file
    vk_json = verification_key_json(pk.vk)
    assert vk_json == json.loads(their_vk.read_text())
    assert json.dumps(vk_json, indent=1) == their_vk.read_text()
    # the zkey: byte for byte
    write_zkey(pk, tmp_path / "ours.zkey")
    assert (tmp_path / "ours.zkey").read_bytes() == their_zkey.read_bytes()
    assert compare_zkey(pk, their_zkey) is None
    # reading snarkjs's zkey gives the same key
    theirs = read_zkey(their_zkey)
    assert theirs.vk == pk.vk and theirs.additions == pk.additions
    for field in ("a_map", "b_map", "c_map", "qm_m", "ql_m", "qr_m", "qo_m", "qc_m", "s1_m",
                  "s2_m", "s3_m", "srs_g1_m"):  # fmt: skip
        assert np.array_equal(getattr(theirs, field), getattr(pk, field)), field
    assert (theirs.n_vars, theirs.n_public, theirs.n_constraints, theirs.power) == (
        cs.n_vars, cs.n_public, cs.n_gates, domain_power(cs)
    )  # fmt: skip
    if name == "setup_nopub":
        assert pk.n_public == 0
    if name == "setup_onepub":
        assert pk.n_public == 1 and vk_json["Qc"] == ["0", "1", "0"]  # no constants: infinity
    if name == "setup_manypub":
        assert pk.n_public == 11
    if name == "setup_big":
        assert pk.power == 12


@pytest.mark.node
@pytest.mark.parametrize("name", ["setup_manypub", "setup_onepub"])
def test_snarkjs_proves_with_our_zkey(name, golden, tmp_path):
    build, ptau_path, _, _ = golden(name)
    source, inputs, _ = CIRCUITS[name]
    pk = setup(from_r1cs(read_r1cs(build.r1cs)), read_ptau(ptau_path))
    zkey, vk = tmp_path / "ours.zkey", tmp_path / "vk.json"
    write_zkey(pk, zkey)
    vk.write_text(json.dumps(verification_key_json(pk.vk), indent=1))
    wtns = circom_witness(build, inputs)
    proof, public = tmp_path / "proof.json", tmp_path / "public.json"
    snarkjs("plonk", "prove", zkey, wtns, proof, public)
    assert len(json.loads(public.read_text())) == pk.n_public
    assert snarkjs_ok("plonk", "verify", vk, public, proof)
    # and a changed public signal is rejected (the check has teeth)
    values = json.loads(public.read_text())
    if values:
        values[0] = str(int(values[0]) + 1)
        public.write_text(json.dumps(values))
        assert not snarkjs_ok("plonk", "verify", vk, public, proof)


@pytest.mark.node
def test_snarkjs_cannot_prove_a_circuit_without_public_signals(golden, tmp_path):
    """A snarkjs 0.7.6 bug, recorded: its prover reads nPublic Lagrange polynomials but always
    uses L_1 (for z(X) - 1), so with nPublic = 0 `plonk prove` fails even on its own zkey
    (which holds max(nPublic, 1) = 1 of them). Our prover must not inherit this."""
    build, _, their_zkey, _ = golden("setup_nopub")
    wtns = circom_witness(build, CIRCUITS["setup_nopub"][1])
    with pytest.raises(SnarkjsError, match="out of bounds"):
        snarkjs("plonk", "prove", their_zkey, wtns, tmp_path / "p.json", tmp_path / "pub.json")


# --- without snarkjs: known tau, big domains, the permutation twin ----------------------------


def sigma_twin(cs: ConstraintSystem, power: int) -> list[list[int]]:
    """snarkjs's writeSigma, line by line, on Python ints."""
    n = 1 << power
    w_gen = params.fr_root_of_unity(power)
    sigma = [0] * (3 * n)
    last: dict[int, int] = {}
    first: dict[int, int] = {}

    def build(s: int, p: int, w: int) -> None:
        if s not in last:
            first[s] = p
        else:
            sigma[p] = last[s]
        last[s] = w if p < n else (w * params.PLONK_K1 % R if p < 2 * n else w * 3 % R)

    w = 1
    for i in range(n):
        if i < cs.n_gates:
            build(cs.a[i], i, w)
            build(cs.b[i], n + i, w)
            build(cs.c[i], 2 * n + i, w)
        else:
            build(0, i, w)
            build(0, n + i, w)
            build(0, 2 * n + i, w)
        w = w * w_gen % R
    for s, p in first.items():
        sigma[p] = last[s]
    return [sigma[:n], sigma[n : 2 * n], sigma[2 * n :]]


def random_cs(n_gates: int, n_public: int, n_vars: int, seed: int) -> ConstraintSystem:
    rng = random.Random(seed)
    n_adds = n_vars // 4
    additions = [
        (rng.randrange(1, n_vars + i), rng.randrange(1, n_vars + i), rng.randrange(R), 1)
        for i in range(n_adds)
    ]
    rows = [(i + 1, 0, 0, 0, 1, 0, 0, 0) for i in range(n_public)]
    small = [0, 1, R - 1, 2, 5]
    for _ in range(n_gates - n_public):
        wires = [rng.randrange(n_vars + n_adds) for _ in range(3)]
        sel = [rng.choice(small) if rng.random() < 0.9 else rng.randrange(R) for _ in range(5)]
        rows.append((*wires, *sel))
    return ConstraintSystem(n_vars, n_public, *zip(*rows, strict=True), additions=additions)


def check_against_tau(cs: ConstraintSystem, ptau: KnownTauPtau) -> None:
    """setup's key vs Python ints: sigma vs the twin, each commitment == [p(tau)]_1 with p(tau)
    = sum_i p(w^i) L_i(tau) (the evaluations, not our coefficients), coefficients vs NTT."""
    pk = setup(cs, ptau)
    power = domain_power(cs)
    n = 1 << power
    dom = Domain(power)
    lag = dom.lagrange_range_at(ptau.tau)
    evals = [convert.from_mont(FR_M, e) for e in selector_evaluations_m(cs, power)]
    twin = sigma_twin(cs, power)
    assert [convert.from_mont(FR_M, s) for s in sigma_evaluations_m(cs, power)] == twin
    evals += twin
    coeffs = (pk.qm_m, pk.ql_m, pk.qr_m, pk.qo_m, pk.qc_m, pk.s1_m, pk.s2_m, pk.s3_m)
    for values, commitment, coeffs_m in zip(evals, pk.vk.commitments(), coeffs, strict=True):
        p_tau = sum(v * l_i for v, l_i in zip(values, lag, strict=True)) % R
        assert commitment == curve.g1_mul(params.G1_GENERATOR, p_tau)
        assert convert.from_mont(FR_M, ntt(coeffs_m.copy(), dom)) == values
    assert pk.vk.X_2 == curve.g2_mul(params.G2_GENERATOR, ptau.tau)
    assert pk.vk.w == params.fr_root_of_unity(power) and (pk.k1, pk.k2) == (2, 3)
    assert pk.srs_g1_m.shape == (n + 6, 2, 4)
    last = convert.from_mont(FQ_M, np.ascontiguousarray(pk.srs_g1_m[n + 5]))
    assert tuple(last) == curve.g1_mul(params.G1_GENERATOR, pow(ptau.tau, n + 5, R))


@pytest.mark.parametrize(
    "n_gates, n_public, n_vars, seed",
    [(1, 1, 2, 1), (8, 0, 5, 2), (9, 3, 12, 3), (200, 7, 90, 4), (1000, 1, 400, 5)],
)
def test_setup_against_known_tau(n_gates, n_public, n_vars, seed):
    check_against_tau(random_cs(n_gates, n_public, n_vars, seed), KnownTauPtau(12, 0xC0FFEE + seed))


def test_setup_domain_2_16():
    """A 2^16 domain (40000 gates): checked against Python ints like the small ones."""
    cs = random_cs(40_000, 4, 9000, 16)
    assert domain_power(cs) == 16
    check_against_tau(cs, KnownTauPtau(16, 987654321987654321))


def test_setup_matches_lagrange_basis_of_a_dev_ptau(tmp_path):
    """snarkjs commits with the Lagrange points of ptau section 12; we use the monomial ones:
    the same points, on a ptau written by `zkperp ptau new`'s writer."""
    from prover.curve.msm import msm_g1

    write_dev_ptau(tmp_path / "dev.ptau", 5, rng=random.Random(5))
    ptau = read_ptau(tmp_path / "dev.ptau")
    cs = random_cs(20, 2, 15, 6)
    pk = setup(cs, ptau)
    power = domain_power(cs)
    lagrange = ptau.lagrange_g1_m(power)
    evals = (*selector_evaluations_m(cs, power), *sigma_evaluations_m(cs, power))
    for values_m, commitment in zip(evals, pk.vk.commitments(), strict=True):
        assert msm_g1(lagrange, values_m) == commitment
    assert np.array_equal(pk.srs_g1_m, ptau.tau_g1_m(pk.domain_size + 6))
    assert pk.vk.X_2 == ptau.tau_g2(1)


def test_setup_refuses_a_too_small_ptau():
    cs = random_cs(20, 2, 15, 7)  # 2^5 domain
    with pytest.raises(SetupError, match="need a domain of 2\\^5, the file supports 2\\^4"):
        setup(cs, KnownTauPtau(4, 12345))


# --- the CLI ----------------------------------------------------------------------------------


@pytest.mark.node
def test_cli_setup_export_verify(golden, tmp_path):
    build, ptau, their_zkey, their_vk = golden("setup_manypub")
    ours = tmp_path / "ours.zkey"
    code, out = run_cli("plonk", "setup", build.r1cs, ptau, ours)
    assert code == 0, out
    assert ours.read_bytes() == their_zkey.read_bytes()
    code, out = run_cli("zkey", "export", "verificationkey", ours, tmp_path / "vk.json")
    assert code == 0, out
    assert (tmp_path / "vk.json").read_text() == their_vk.read_text()
    code, out = run_cli("zkey", "verify", build.r1cs, ptau, their_zkey)
    assert code == 0 and "zkey OK" in out, out
    # a .zkpc of the same circuit gives the same zkey
    save_circuit(from_r1cs(read_r1cs(build.r1cs)), tmp_path / "c.zkpc")
    code, out = run_cli("zkey", "verify", tmp_path / "c.zkpc", ptau, their_zkey)
    assert code == 0 and "zkey OK" in out, out
    # tampering: the first differing part is named
    blob = bytearray(their_zkey.read_bytes())
    blob[-150] ^= 1  # snarkjs writes section 2 last: S3 (64 bytes) is just before X_2 (128)
    (tmp_path / "bad.zkey").write_bytes(bytes(blob))
    code, out = run_cli("zkey", "verify", build.r1cs, ptau, tmp_path / "bad.zkey")
    assert code == 1 and "section 2 (PLONK header): S3 differs" in out, out
    # another circuit's zkey
    other = golden("setup_onepub")[2]
    code, out = run_cli("zkey", "verify", build.r1cs, ptau, other)
    assert code == 1 and "MISMATCH" in out, out


def test_cli_errors(tmp_path):
    (tmp_path / "junk.r1cs").write_bytes(b"junk" + bytes(30))
    (tmp_path / "p.ptau").write_bytes(b"ptau" + bytes(30))
    code, out = run_cli("plonk", "setup", tmp_path / "junk.r1cs", tmp_path / "p.ptau",
                        tmp_path / "o.zkey")  # fmt: skip
    assert code == 1 and "not a circuit file" in out, out
    save_circuit(random_cs(20, 2, 15, 8), tmp_path / "c.zkpc")
    code, out = run_cli("plonk", "setup", tmp_path / "c.zkpc", tmp_path / "p.ptau",
                        tmp_path / "o.zkey")  # fmt: skip
    assert code == 1 and "Error" in out, out
    code, out = run_cli("zkey", "export", "verificationkey", tmp_path / "p.ptau",
                        tmp_path / "vk.json")  # fmt: skip
    assert code == 1 and "not a 'zkey' file" in out, out
    code, out = run_cli("zkey", "export", "verificationkey", tmp_path / "none.zkey",
                        tmp_path / "vk.json")  # fmt: skip
    assert code == 2 and "does not exist" in out, out
    write_dev_ptau(tmp_path / "dev.ptau", 4, rng=random.Random(1))
    code, out = run_cli("plonk", "setup", tmp_path / "c.zkpc", tmp_path / "dev.ptau",
                        tmp_path / "o.zkey")  # fmt: skip
    assert code == 1 and "circuit too big for this powers of tau" in out, out
