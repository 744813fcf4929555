"""``zkperp demo`` (cli/demo_cmd.py): the quick run end to end, every check reported as passed,
and a failure anywhere inside (a bad witness, a verifier that accepts what it should reject)
gives a one-line error and exit status 1, never a traceback or a success message.

The full run compiles the Solidity verifier with the pinned solc (Node): ``@pytest.mark.node``.
The failure tests stop before the contract step and need no Node.
"""

from __future__ import annotations

import random
import re

import pytest
from click.testing import CliRunner

from cli import demo_cmd
from cli.main import zkperp
from prover.plonk.verifier import VerificationResult


def invoke(*args: str):
    return CliRunner().invoke(zkperp, list(args), prog_name="zkperp")


def assert_failed(result) -> None:
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.output
    assert "Error: " in result.output
    assert "checks passed" not in result.output


@pytest.mark.node
def test_demo_quick_passes_every_check():
    result = invoke("demo", "--quick", "--seed", "1")
    assert result.exit_code == 0, result.output
    out = result.output
    assert "seed 1 " in out and f"Merkle depth {demo_cmd.DEPTH_QUICK}" in out
    assert "INSECURE" in out
    for gadget in ("order_hash", "eddsa", "range64", "muldiv_floor", "merkle_update"):
        assert re.search(rf"^\s+{gadget}\s+[\d,]+$", out, re.M), gadget
    for k in range(1, 6):
        assert f"round {k}:" in out
    for check in (
        "commitment == p(tau)G1, opening verifies",
        "the witness satisfies every gate",
        "public signals == the native computation",
        "the proof verifies",
        "a tampered public signal is rejected",
        "the contract accepts the proof",
        "the contract rejects the tampered signal",
    ):
        assert re.search(rf"{re.escape(check)}\s+OK$", out, re.M), check
    assert "FAILED" not in out and "Error" not in out
    gas = re.search(r"^\s+verify gas ([\d,]+) ", out, re.M)
    assert gas and 200_000 < int(gas.group(1).replace(",", "")) < 400_000
    assert re.search(r"^All 8 checks passed: ", out, re.M)


def test_demo_inputs_are_seeded_and_match_the_circuit():
    """The native side alone: the same seed gives the same inputs; the circuit accepts them and
    its public signals are the native key, roots and notional."""
    a = demo_cmd.make_inputs(2, random.Random(7))
    assert a == demo_cmd.make_inputs(2, random.Random(7))
    assert a != demo_cmd.make_inputs(2, random.Random(8))
    circuit = demo_cmd.build_circuit(2)
    witness = circuit.check(a.inputs)
    assert circuit.public_signals(witness) == a.public
    price, size = a.inputs["price"], a.inputs["size"]
    assert a.public[-1] == price * size // demo_cmd.SCALE


def test_demo_bad_signature_fails_cleanly(monkeypatch):
    """A forged signature: the witness check fails inside the demo -> error line, exit 1."""
    from circuits.gadgets import eddsa

    real = eddsa.sign_poseidon

    def forged(prv, msg):
        sig = real(prv, msg)
        return eddsa.Signature(sig.r8, (sig.s + 1) % eddsa.bj.SUBORDER)

    monkeypatch.setattr(eddsa, "sign_poseidon", forged)
    monkeypatch.delenv("ZKPERP_DEBUG", raising=False)
    result = invoke("demo", "--quick", "--seed", "1")
    assert_failed(result)
    assert "Error: demo check failed: the witness does not satisfy the circuit" in result.output
    assert "(eddsa/" in result.output  # the failing gate's label names the gadget
    assert re.search(r"the witness satisfies every gate\s+FAILED$", result.output, re.M)


def test_demo_failed_check_exits_nonzero(monkeypatch):
    """A verifier that accepts everything: the tampered-signal check fails -> exit 1."""
    from prover.plonk import verifier

    monkeypatch.setattr(verifier, "verify", lambda vk, public, proof: VerificationResult(True, ""))
    result = invoke("demo", "--quick", "--seed", "1")
    assert_failed(result)
    assert "Error: demo check failed: a tampered signal verifies" in result.output
    assert re.search(r"a tampered public signal is rejected\s+FAILED$", result.output, re.M)
