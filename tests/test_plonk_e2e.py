"""Issue B's acceptance, end to end through the ``zkperp`` CLI and the pinned snarkjs 0.7.6.

One circom circuit (an output, two public inputs, private inputs, linear constraints that force
snarkjs's "additions", a constant) is compiled by circom2, then:

1. snarkjs's zkey + snarkjs's witness -> ``zkperp plonk prove`` -> ``snarkjs plonk verify`` accepts.
2. ``snarkjs plonk prove`` -> ``zkperp plonk verify`` accepts.
3. ``zkperp ptau new`` -> ``zkperp plonk setup`` -> ``snarkjs plonk prove`` ->
   ``zkperp plonk verify`` accepts (and so does snarkjs, with the verification key exported by
   either tool).
Plus: the vk.json of ``zkperp plonk setup`` equals snarkjs's for the same r1cs and ptau;
``zkperp zkey verify`` accepts snarkjs's zkey and rejects a tampered one; ``plonk verify`` exits
1 for a well-formed proof that fails and 2 for unreadable input.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from cli.main import zkperp
from tests.interop import circom_witness, compile_circom, snarkjs, snarkjs_ok, snarkjs_ptau

pytestmark = pytest.mark.node

CIRCUIT = """pragma circom 2.0.0;

template Sample(N) {
    signal input x;           // public
    signal input y;           // public
    signal input s[N];        // private
    signal output out;
    signal acc[N + 1];
    signal sq[N];
    acc[0] <== x + 3 * y + 7;
    for (var i = 0; i < N; i++) {
        sq[i] <== s[i] * s[i];
        acc[i + 1] <== acc[i] * (sq[i] + 2 * s[i] + x - y + 5);
    }
    out <== acc[N] + x + y + s[0] + s[1] + s[2];
}

component main {public [x, y]} = Sample(6);
"""
INPUTS = {"x": 5, "y": 9, "s": [3, 1, 4, 1, 5, 9]}


def run(*args: str | Path) -> tuple[int, str]:
    result = CliRunner().invoke(zkperp, [str(a) for a in args], prog_name="zkperp")
    assert "Traceback" not in result.output, result.output
    return result.exit_code, result.output


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    """The compiled circuit, a witness, snarkjs's setup, vk and proof: shared by every test."""
    d = tmp_path_factory.mktemp("e2e")
    build = compile_circom(CIRCUIT, "sample")
    wtns = circom_witness(build, INPUTS)
    ptau = snarkjs_ptau(8)
    snarkjs("plonk", "setup", build.r1cs, ptau, d / "snarkjs.zkey")
    snarkjs("zkey", "export", "verificationkey", d / "snarkjs.zkey", d / "snarkjs_vk.json")
    snarkjs(
        "plonk", "prove", d / "snarkjs.zkey", wtns, d / "snarkjs_proof.json",
        d / "snarkjs_public.json",
    )  # fmt: skip
    return {"dir": d, "build": build, "wtns": wtns, "ptau": ptau}


def test_1_our_proof_of_a_snarkjs_zkey_verifies_in_snarkjs(work):
    d = work["dir"]
    code, out = run(
        "plonk", "prove", d / "snarkjs.zkey", work["wtns"], d / "ours_proof.json",
        d / "ours_public.json",
    )  # fmt: skip
    assert code == 0, out
    assert json.loads((d / "ours_public.json").read_text()) == json.loads(
        (d / "snarkjs_public.json").read_text()
    )
    assert snarkjs_ok("plonk", "verify", d / "snarkjs_vk.json", d / "ours_public.json",
                      d / "ours_proof.json")  # fmt: skip
    code, out = run(
        "plonk", "verify", d / "snarkjs_vk.json", d / "ours_public.json", d / "ours_proof.json"
    )
    assert code == 0, out


def test_2_snarkjs_proof_verifies_in_ours(work):
    d = work["dir"]
    code, out = run(
        "plonk", "verify", d / "snarkjs_vk.json", d / "snarkjs_public.json",
        d / "snarkjs_proof.json",
    )  # fmt: skip
    assert code == 0, out


def test_3_our_setup_proven_by_snarkjs_verified_by_ours(work):
    d = work["dir"]
    code, out = run("ptau", "new", "--power", "8", d / "ours.ptau")
    assert code == 0, out
    assert "insecure" in out.lower()
    code, out = run("ptau", "verify", d / "ours.ptau")
    assert code == 0, out
    code, out = run("plonk", "setup", work["build"].r1cs, d / "ours.ptau", d / "ours.zkey")
    assert code == 0, out
    code, out = run("zkey", "export", "verificationkey", d / "ours.zkey", d / "ours_vk.json")
    assert code == 0, out
    snarkjs("zkey", "export", "verificationkey", d / "ours.zkey", d / "ours_vk_by_snarkjs.json")
    assert json.loads((d / "ours_vk.json").read_text()) == json.loads(
        (d / "ours_vk_by_snarkjs.json").read_text()
    )
    snarkjs(
        "plonk", "prove", d / "ours.zkey", work["wtns"], d / "p3_proof.json", d / "p3_public.json"
    )
    code, out = run(
        "plonk", "verify", d / "ours_vk.json", d / "p3_public.json", d / "p3_proof.json"
    )
    assert code == 0, out
    assert snarkjs_ok("plonk", "verify", d / "ours_vk.json", d / "p3_public.json",
                      d / "p3_proof.json")  # fmt: skip
    # ... and our own prover on our own zkey, checked by snarkjs.
    code, out = run(
        "plonk", "prove", d / "ours.zkey", work["wtns"], d / "p3b_proof.json", d / "p3b_public.json"
    )
    assert code == 0, out
    assert snarkjs_ok("plonk", "verify", d / "ours_vk.json", d / "p3b_public.json",
                      d / "p3b_proof.json")  # fmt: skip


def test_setup_vk_identical_to_snarkjs_and_zkey_verify(work):
    d = work["dir"]
    code, out = run("plonk", "setup", work["build"].r1cs, work["ptau"], d / "same.zkey")
    assert code == 0, out
    code, out = run("zkey", "export", "verificationkey", d / "same.zkey", d / "same_vk.json")
    assert code == 0, out
    assert json.loads((d / "same_vk.json").read_text()) == json.loads(
        (d / "snarkjs_vk.json").read_text()
    )
    code, out = run("zkey", "verify", work["build"].r1cs, work["ptau"], d / "snarkjs.zkey")
    assert code == 0, out
    blob = bytearray((d / "snarkjs.zkey").read_bytes())
    blob[-40] ^= 1  # inside X_2 (snarkjs writes the header section 2 last)
    (d / "tampered.zkey").write_bytes(bytes(blob))
    code, out = run("zkey", "verify", work["build"].r1cs, work["ptau"], d / "tampered.zkey")
    assert code == 1, out


def test_verify_exit_codes(work):
    d = work["dir"]
    proof = json.loads((d / "snarkjs_proof.json").read_text())
    proof["eval_a"] = str(int(proof["eval_a"]) + 1)
    (d / "bad_proof.json").write_text(json.dumps(proof))
    code, out = run("plonk", "verify", d / "snarkjs_vk.json", d / "snarkjs_public.json",
                    d / "bad_proof.json")  # fmt: skip
    assert code == 1, out
    (d / "garbage.json").write_text("{not json")
    code, out = run("plonk", "verify", d / "snarkjs_vk.json", d / "snarkjs_public.json",
                    d / "garbage.json")  # fmt: skip
    assert code == 2, out
    code, out = run("plonk", "verify", d / "snarkjs_vk.json", d / "snarkjs_public.json",
                    d / "missing.json")  # fmt: skip
    assert code == 2, out
    (d / "schema.json").write_text(json.dumps({"protocol": "plonk", "A": [1, 2]}))
    code, out = run("plonk", "verify", d / "snarkjs_vk.json", d / "snarkjs_public.json",
                    d / "schema.json")  # fmt: skip
    assert code == 2, out
