"""``zkperp demo`` (cli/demo_cmd.py, rollup/demo.py).

The rollup demo: the quick run (3 batches) end to end on the embedded EVM, with its summary's
numbers checked against the chain (the contract's next batch number, its state root, the
withdrawing trader's token balance), the tampered proof and pubdata it sends refused, and a
replayed proof refused afterwards. Failures give a one-line error and exit status 1.

The circuit demo (``--circuit-only``): the quick run end to end, every check reported as
passed, and a failure anywhere inside (a bad witness, a verifier that accepts what it should
reject) gives a one-line error and exit status 1, never a traceback or a success message.

Runs that compile Solidity with the pinned solc (Node) are ``@pytest.mark.node``. The rollup
demo's keys are cached under .cache/demo (the first run makes them: about 1.5 minutes more).
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
    result = invoke("demo", "--circuit-only", "--quick", "--seed", "1")
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
    result = invoke("demo", "--circuit-only", "--quick", "--seed", "1")
    assert_failed(result)
    assert "Error: demo check failed: the witness does not satisfy the circuit" in result.output
    assert "(eddsa/" in result.output  # the failing gate's label names the gadget
    assert re.search(r"the witness satisfies every gate\s+FAILED$", result.output, re.M)


def test_demo_failed_check_exits_nonzero(monkeypatch):
    """A verifier that accepts everything: the tampered-signal check fails -> exit 1."""
    from prover.plonk import verifier

    monkeypatch.setattr(verifier, "verify", lambda vk, public, proof: VerificationResult(True, ""))
    result = invoke("demo", "--circuit-only", "--quick", "--seed", "1")
    assert_failed(result)
    assert "Error: demo check failed: a tampered signal verifies" in result.output
    assert re.search(r"a tampered public signal is rejected\s+FAILED$", result.output, re.M)


# --- the rollup demo ------------------------------------------------------------------------------


def _number(out: str, label: str) -> str:
    m = re.search(rf"^\s+{re.escape(label)}\s+(\S+)", out, re.M)
    assert m, (label, out)
    return m.group(1)


@pytest.fixture(scope="module")
def rollup_run():
    """``zkperp demo --quick --seed 3`` through the CLI, with the library's result captured
    (its chain and deployment) for the checks against the chain."""
    from rollup import demo as rdemo

    captured = {}
    real = rdemo.run_demo

    def capture(settings, say):
        captured["res"] = real(settings, say)
        return captured["res"]

    mp = pytest.MonkeyPatch()
    mp.setattr(rdemo, "run_demo", capture)
    try:
        result = invoke("demo", "--quick", "--seed", "3")
    finally:
        mp.undo()
    return result, captured.get("res")


@pytest.mark.node
def test_rollup_demo_quick_end_to_end(rollup_run):
    from verifier_contract import rollup as ro

    result, res = rollup_run
    assert result.exit_code == 0, result.output
    out = result.output
    assert "Traceback" not in out and "FAILED" not in out
    assert "seed 3 " in out and "INSECURE" in out
    # the summary's numbers against the chain
    status = ro.rollup_status(res.chain, res.deployment)
    n = int(_number(out, "batches"))
    assert n == 3 == status["next_batch_number"] == len(res.batches)
    final = int(_number(out, "final root"), 16)
    assert final == status["state_root"] == res.batches[-1].post_root
    assert final == res.audit.rebuilt_root
    w = res.withdrawal
    token = res.deployment.token_contract(res.chain).functions
    assert (
        token.balanceOf(w["l1"]).call() == w["balance_after"] == w["balance_before"] + w["amount"]
    )
    assert re.search(rf"L1 withdrawal\s+bob {w['l1']}: \+10,000.00 tUSD", out)
    assert ro.pending_withdrawal(res.chain, res.deployment, w["l1"]) == 0
    # what the market did: every record type of the scenario, in the contract's batches
    recs = res.records
    assert recs["deposit"] == 4 and recs["liquidate"] == 1 and recs["withdrawal"] == 1
    assert recs["funding"] == 1 and recs["oracle"] == 2 and recs["trade"] >= 2
    assert int(_number(out, "trades")) == res.trades == recs["trade"]
    assert res.audit.ok and res.audit.rebuilt_through == 3
    assert all(b.proof_valid for b in res.audit.batches)
    assert re.search(
        r"^\s+audit\s+OK: 3 batches rebuilt from calldata, 3 proofs verified", out, re.M
    )
    # gas and timings are reported
    gates = int(_number(out, "gates per batch").replace(",", ""))
    assert gates == res.n_gates > 0
    per_batch = int(re.search(r"gas: per batch\s+([\d,]+)", out).group(1).replace(",", ""))
    assert per_batch == res.batch_gas // 3
    receipts = [res.chain.w3.eth.get_transaction_receipt(b.tx_hash) for b in res.batches]
    assert [r["gasUsed"] for r in receipts] == [b.gas_used for b in res.batches]
    assert all(b.prove_seconds > 0 for b in res.batches)
    assert re.search(r"^All checks passed: 3 batches proven", out, re.M)


@pytest.mark.node
def test_rollup_demo_tampered_proofs_are_refused(rollup_run):
    """In the flow: batch 1 sent with a changed proof word, then with a changed pubdata byte,
    refused by the contract (InvalidProof). After the run: the last batch's proof, read back
    from its calldata, replayed as the next batch, is refused and changes nothing."""
    from verifier_contract import rollup as ro

    result, res = rollup_run
    assert result.exit_code == 0, result.output
    assert res.tampered == {"proof": "InvalidProof", "pubdata": "InvalidProof"}
    assert "batch 1: a tampered proof is refused (InvalidProof)" in result.output
    chain, dep = res.chain, res.deployment
    last = res.batches[-1]
    tx = chain.w3.eth.get_transaction(last.tx_hash)
    _, args = dep.contract(chain).decode_function_input(tx["input"])
    before = ro.rollup_status(chain, dep)
    with pytest.raises(ro.RollupRevertError) as err:
        ro.submit_batch(
            chain, dep, batch_number=before["next_batch_number"], new_root=args["newRoot"],
            timestamp=args["timestamp"], pubdata=args["pubdata"], proof=list(args["proof"]),
        )  # fmt: skip
    assert err.value.error == "InvalidProof"
    assert ro.rollup_status(chain, dep) == before


def test_rollup_demo_failure_exits_nonzero(monkeypatch):
    """A failed check inside the rollup demo: one error line, exit 1, no summary."""
    from rollup import demo as rdemo

    def failing(settings, say):
        say("step one")
        raise rdemo.DemoError("the contract's root is not the last batch's post-root")

    monkeypatch.setattr(rdemo, "run_demo", failing)
    monkeypatch.delenv("ZKPERP_DEBUG", raising=False)
    result = invoke("demo", "--seed", "1")
    assert_failed(result)
    assert "Error: demo check failed: the contract's root is not" in result.output
    assert "summary" not in result.output


def test_rollup_demo_options():
    assert invoke("demo", "--batches", "2").exit_code == 2  # at least 3
    bad = invoke("demo", "--circuit-only", "--batches", "3")
    assert bad.exit_code == 2 and "do not apply to --circuit-only" in bad.output
    from rollup.demo import DemoError, DemoSettings, plan_rounds

    with pytest.raises(DemoError, match="4 to 16 slots"):
        DemoSettings(batches=3, n_slots=2).validate()
    with pytest.raises(DemoError, match="3 to 1000 batches"):
        DemoSettings(batches=2).validate()

    assert plan_rounds(2) == [["walk", "carol_long", "funding"], ["liquidation", "withdrawal"]]
    plan = plan_rounds(4)
    assert plan[0] == ["walk", "carol_long"] and plan[2] == ["walk", "funding"]
    assert plan[-1] == ["liquidation", "withdrawal"] and plan[1] == ["walk"]
