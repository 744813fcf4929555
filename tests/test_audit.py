"""The auditor (``rollup.audit``, ``zkperp audit``) against rollups on the embedded EVM.

The chain is made as an operator would make it, from the rollup's own rules: L1 deposits, then
batches whose records are replayed on a ``rollup.state.State`` (deposits, a trade, a transfer, a
withdrawal, NoOp padding), their roots taken from that state, their proofs made with the keys of
a stand-in circuit that has the batch circuit's public inputs (layout v2 section 6) and no other
constraint on them (as tests/test_rollup_contract.py: the contract and the auditor check the
proof against the key and rebuild the public inputs themselves, so the whole path runs in
seconds; the real batch circuit's keys are issue E's).

Checked: an honest chain of 3 batches passes (the summary: batches, transactions by type, the
final root); the auditor reports, with the batch and the field: one pubdata byte changed in the
data it reads (the calldata-reading layer, ``ChainReader.submit_call``, wrapped), a record that
no longer decodes, a wrong genesis, a trusted key from another circuit (the proofs do not verify
and the deployed verifier is not that key's), a rollup whose verifier accepts the proofs but is
not the trusted key's contract; the escape data of the rebuilt state opens the contract's root
and, after a freeze, ``exit`` pays it. The CLI over JSON-RPC: exit 0 with a summary, 1 on a
divergence, 2 for an unreachable node or bad arguments, ``--json``, ``--export-escape``.
"""

from __future__ import annotations

import functools
import json
import random
from dataclasses import replace

import pytest
from click.testing import CliRunner

from circuits.builder import CircuitBuilder
from circuits.gadgets import babyjubjub as bj
from circuits.gadgets import eddsa
from prover import formats
from prover.kzg import KnownTauPowers
from prover.plonk.prover import prove
from prover.plonk.setup import setup
from rollup import audit
from rollup import pubdata as pd
from rollup.requests_json import genesis_to_json
from rollup.sequencer import demo_genesis
from rollup.state import State
from rollup.types import (
    PRICE_SCALE,
    DepositRecord,
    NoopRecord,
    TradeRecord,
    TransferRecord,
    WithdrawalRecord,
)
from verifier_contract import rollup as ro
from verifier_contract.chain import Chain
from verifier_contract.compile import compile_contract

pytestmark = pytest.mark.node  # solc (npm) compiles the contracts

SHAPES = (2, 4)
DEADLINE = 1000  # seconds before an unserved forced withdrawal allows the freeze
KEYS = (b"audit-trader-a".ljust(32, b"\0"), b"audit-trader-b".ljust(32, b"\0"))
AMOUNT = 10**9


# --- stand-in keys -------------------------------------------------------------------------------


def _standin(n_slots: int):
    b = CircuitBuilder()
    xs = b.public_inputs("pi", 4 + 3 * n_slots)
    acc = b.private_input("s")
    for x in xs:
        acc = b.mul(acc, acc + x)
    return b.compile()


@functools.cache
def standin_key(n_slots: int, seed: int = 0xA0D17):
    circuit = _standin(n_slots)
    return circuit, setup(circuit.cs, KnownTauPowers(8, seed + n_slots))


def _prove(public: list[int], seed: int, keys=None):
    n = (len(public) - 4) // 3
    circuit, pk = standin_key(n) if keys is None else keys[n]
    proof, signals = prove(pk, circuit.witness({"pi": public, "s": 5}), rng=random.Random(seed))
    assert signals == public
    return proof


def trusted_vks(seed: int = 0xA0D17):
    return {n: standin_key(n, seed)[1].vk for n in SHAPES}


# --- an operator making a chain ------------------------------------------------------------------


class Operator:
    """Deploys a rollup for ``genesis`` and submits batches whose roots come from ``State``."""

    def __init__(self, chain: Chain, genesis, *, verifiers=None, base=None, keys=None) -> None:
        self.chain, self.genesis, self.keys = chain, genesis, keys
        self.state = State(genesis)
        reuse = None
        if verifiers is not None:  # a deployment with these verifier contracts
            reuse = replace(base, verifiers=verifiers)
        vks = trusted_vks() if keys is None else {n: pk.vk for n, (_, pk) in keys.items()}
        self.dep = ro.deploy_rollup(
            chain, genesis_root=self.state.root, vks=vks if reuse is None else {},
            account_depth=genesis.config.account_depth, genesis_prices=genesis.prices,
            forced_deadline=DEADLINE, reuse=reuse,
        )  # fmt: skip
        self.number = 0
        self.users = chain.w3.eth.accounts[1:3]

    def now(self) -> int:
        return self.chain.w3.eth.get_block("latest")["timestamp"]

    def deposit(self, k: int) -> DepositRecord:
        user, pub = self.users[k], bj.pack_point(eddsa.prv2pub(KEYS[k]))
        ro.mint(self.chain, self.dep, to=user, amount=AMOUNT)
        ro.deposit(self.chain, self.dep, pubkey_packed=pub, amount=AMOUNT, sender=user)
        return DepositRecord(k + 1, pub, int(user, 16), AMOUNT, True)  # accounts 1 and 2

    def submit(self, records, n_slots: int) -> dict:
        records = list(records) + [NoopRecord()] * (n_slots - len(records))
        old = self.state.root
        for r in records:
            self.state.apply_record(r)
        self.state.end_batch()
        data = pd.encode_records(records)
        ts = self.now()
        public = pd.public_inputs(old, self.state.root, self.number, ts, data, n_slots)
        out = ro.submit_batch(self.chain, self.dep, batch_number=self.number,
                              new_root=self.state.root, timestamp=ts, pubdata=data,
                              proof=_prove(public, self.number, self.keys))  # fmt: skip
        self.number += 1
        return out

    def scenario(self, n_batches: int = 3) -> None:
        """Batch 0: two deposits (4 slots); 1: a trade, a transfer, a withdrawal (4 slots);
        2: one more transfer (2 slots)."""
        self.submit([self.deposit(0), self.deposit(1)], 4)
        if n_batches == 1:
            return
        trade = TradeRecord(0, 0, 1, 2, 7, 9, 1_000, 600 * PRICE_SCALE, 30, 20)
        self.submit(
            [trade, TransferRecord(1, 2, 5_000, 10),
             WithdrawalRecord(2, int(self.users[1], 16), 123_456, 7)], 4,
        )  # fmt: skip
        if n_batches == 2:
            return
        self.submit([TransferRecord(2, 1, 777, 0)], 2)


@pytest.fixture(scope="module", autouse=True)
def remembered_verdicts():
    """The Python verifier's verdict on each (key, public inputs, proof) is computed once (the
    audits here see the same honest proofs many times; ~2 s a pairing check)."""
    from prover.plonk import verifier

    real = verifier.verify

    @functools.cache
    def verify(vk, public, proof):
        return real(vk, list(public), proof)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(verifier, "verify", lambda vk, public, proof: verify(vk, tuple(public), proof))
        yield


@pytest.fixture(scope="module")
def genesis():
    return demo_genesis(1_700_000_000)


@pytest.fixture(scope="module")
def honest(genesis):
    chain = Chain.embedded()
    op = Operator(chain, genesis)
    op.scenario()
    return op


def _audit(op: Operator, genesis=None, vks=None, **kw) -> audit.AuditReport:
    return audit.audit_chain(op.chain, op.dep.rollup, genesis or op.genesis,
                             trusted_vks() if vks is None else vks, **kw)  # fmt: skip


def _fields(report: audit.AuditReport) -> set[tuple[int | None, str]]:
    return {(d.batch, d.field) for d in report.divergences}


# --- library -------------------------------------------------------------------------------------


def test_honest_chain_passes(honest):
    report = _audit(honest)
    assert report.ok, report.summary()
    assert len(report.batches) == 3 and report.rebuilt_through == 3
    assert report.transactions == {"deposit": 2, "trade": 1, "transfer": 2, "withdrawal": 1}
    assert report.padding == 4
    assert report.rebuilt_root == report.contract_root == honest.state.root
    assert report.genesis_root == State(honest.genesis).root
    assert all(b.proof_valid for b in report.batches)
    assert set(report.verifiers) == set(SHAPES)
    assert report.notes == ()  # the creation transaction was found and decoded
    data = report.to_json()
    assert data["ok"] and data["batches"] == 3 and data["proofs_verified"] == 3
    assert json.loads(json.dumps(data)) == data
    assert "audit OK" in report.summary()


class _RangeCappedEvent:
    """An event whose node refuses eth_getLogs over more than ``cap`` blocks, as public RPC
    endpoints do; logs are one per block of ``blocks``."""

    def __init__(self, blocks: list[int], cap: int) -> None:
        self.blocks, self.cap, self.calls = blocks, cap, []

    def get_logs(self, *, from_block: int, to_block: int) -> list[int]:
        if to_block - from_block + 1 > self.cap:
            raise ValueError("query exceeds max block range")
        self.calls.append((from_block, to_block))  # the windows served
        return [b for b in self.blocks if from_block <= b <= to_block]


def test_logs_are_read_in_windows_the_node_accepts():
    from verifier_contract.rollup import get_logs_chunked

    blocks = [3, 4, 17, 40, 41, 99]
    ev = _RangeCappedEvent(blocks, cap=7)
    assert get_logs_chunked(ev, 0, 120, chunk=50) == blocks  # 50 refused, halved to 6
    # the served windows tile [0, 120] in order, none over the node's cap
    assert ev.calls[0][0] == 0 and ev.calls[-1][1] == 120
    assert all(b[0] == a[1] + 1 for a, b in zip(ev.calls, ev.calls[1:]))
    assert {hi - lo + 1 for lo, hi in ev.calls[:-1]} == {6}
    assert get_logs_chunked(_RangeCappedEvent(blocks, cap=1000), 5, 41, chunk=10) == [17, 40, 41]
    with pytest.raises(ValueError, match="max block range"):
        get_logs_chunked(_RangeCappedEvent(blocks, cap=0), 0, 5)  # even one block refused
    with pytest.raises(ValueError, match="positive"):
        get_logs_chunked(ev, 0, 5, chunk=0)


def test_audit_reads_the_events_one_block_at_a_time(honest):
    """A node that serves one block per eth_getLogs gives the auditor the same events."""
    one = audit.ChainReader(honest.chain, honest.dep.rollup, log_chunk=1)
    whole = audit.ChainReader(honest.chain, honest.dep.rollup, log_chunk=10**9)
    assert [e.number for e in one.events()] == [0, 1, 2]
    assert one.events() == whole.events()
    assert _audit(honest, reader=one).ok


class Tamper(audit.ChainReader):
    """Alters one byte of one batch's pubdata as the auditor reads it."""

    def __init__(self, *args, batch: int, offset: int, value: int | None = None, **kw) -> None:
        super().__init__(*args, **kw)
        self.batch, self.offset, self.value = batch, offset, value

    def submit_call(self, event):
        call = super().submit_call(event)
        if event.number != self.batch:
            return call
        data = bytearray(call.pubdata)
        data[self.offset] = data[self.offset] ^ 1 if self.value is None else self.value
        return replace(call, pubdata=bytes(data))


def test_tampered_pubdata_byte_is_reported(honest):
    # batch 1, record 1 (a transfer at offset 48): the last byte of its amount
    reader = Tamper(honest.chain, honest.dep.rollup, batch=1, offset=48 + 16)
    assert pd.decode_records(reader.submit_call(reader.events()[1]).pubdata)[1] == (
        TransferRecord(1, 2, 5_000 ^ 1, 10)
    )
    report = _audit(honest, reader=reader)
    assert not report.ok
    assert _fields(report) == {(1, "pubdata_hash"), (1, "new_root"), (1, "proof")}
    assert report.rebuilt_through == 1 and report.rebuilt_root == report.batches[0].new_root
    (d,) = [d for d in report.divergences if d.field == "new_root"]
    assert d.found == str(report.batches[1].new_root) != d.expected
    assert report.batches[2].proof_valid  # later batches are still checked
    assert any("rebuild stopped at batch 1" in n for n in report.notes)
    text = report.summary()
    assert "batch 1: pubdata_hash" in text and "audit FAILED" in text


def test_undecodable_record_is_reported(honest):
    reader = Tamper(honest.chain, honest.dep.rollup, batch=2, offset=32, value=0xEE)  # a type byte
    report = _audit(honest, reader=reader)
    assert _fields(report) == {(2, "pubdata_hash"), (2, "record_decoding"), (2, "public_inputs")}
    assert report.rebuilt_through == 2


def test_wrong_genesis_is_reported(honest):
    other = demo_genesis(1_700_000_000, exchange_id=2)
    report = _audit(honest, genesis=other)
    assert _fields(report) == {(None, "genesis_root"), (0, "old_root")}
    assert report.rebuilt_through == 0
    assert all(b.proof_valid for b in report.batches)


def test_key_of_another_circuit_is_reported(honest):
    vks = trusted_vks(seed=0xBAD)
    report = _audit(honest, vks=vks)
    assert _fields(report) == {
        (None, "verifier_bytecode"), (0, "proof"), (1, "proof"), (2, "proof"),
    }  # fmt: skip
    assert report.rebuilt_through == 3  # the state itself is fine
    missing = _audit(honest, vks={4: trusted_vks()[4]})
    assert _fields(missing) == {(None, "verifying_key"), (2, "verifying_key")}


ALWAYS_TRUE = """// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;
contract Permissive {
    function verifyProof(uint256[24] calldata, uint256[16] calldata) external pure returns (bool) {
        return true;
    }
}
"""


def test_verifier_that_is_not_the_trusted_keys_is_reported(honest, genesis):
    """A rollup whose 4-slot verifier accepts anything: the proofs on chain are honest, but the
    contract is not the trusted key's verifier."""
    chain = honest.chain
    fake = chain.deploy(compile_contract(ALWAYS_TRUE, "Permissive")).address
    op = Operator(chain, genesis, verifiers={**honest.dep.verifiers, 4: fake}, base=honest.dep)
    op.scenario(1)
    report = _audit(op)
    assert _fields(report) == {(None, "verifier_bytecode")}
    (d,) = report.divergences
    assert fake in d.message and "4 slots" in d.message


def test_escape_export_round_trips_into_an_exit(honest):
    """Last in this module: it freezes the honest rollup."""
    report = _audit(honest)
    assert report.ok
    chain, dep = honest.chain, honest.dep
    for account in (1, 2):
        data = json.loads(json.dumps(audit.escape_json(report.state, account)))
        opening = audit.opening_from_json(data)
        assert opening == ro.exit_opening(honest.state, account)
        assert int(data["state_root"]) == ro.rollup_status(chain, dep)["state_root"]
    with pytest.raises(audit.AuditError):
        audit.escape_json(report.state, 3)
    with pytest.raises(audit.AuditError):
        audit.opening_from_json({**data, "sizes": [1, 2]})

    user = honest.users[0]
    forced = ro.request_forced_withdrawal(chain, dep, account=1, amount=1, sender=user)
    tester = chain.w3.provider.ethereum_tester
    tester.time_travel(honest.now() + DEADLINE + 1)
    tester.mine_blocks(1)
    ro.freeze(chain, dep, request_index=forced["request_index"])
    opening = audit.opening_from_json(audit.escape_json(report.state, 1))
    value, to = ro.exit_value(chain, dep, opening)
    before = dep.token_contract(chain).functions.balanceOf(user).call()
    out = ro.exit(chain, dep, opening=opening)
    assert out["value"] == value > 0 and out["paid"] == value and to == user
    assert dep.token_contract(chain).functions.balanceOf(user).call() == before + value


def test_snarkjs_agrees(honest):
    report = _audit(honest, snarkjs=True)
    assert report.ok and all(b.snarkjs_valid for b in report.batches)
    reader = Tamper(honest.chain, honest.dep.rollup, batch=0, offset=20)
    report = _audit(honest, reader=reader, snarkjs=True)
    assert {(0, "proof"), (0, "snarkjs_proof")} <= _fields(report)
    assert report.batches[0].snarkjs_valid is False and report.batches[1].snarkjs_valid


def test_not_a_rollup(honest):
    with pytest.raises(audit.AuditError, match="no contract"):
        audit.audit_chain(honest.chain, "0x" + "12" * 20, honest.genesis, trusted_vks())
    with pytest.raises(audit.AuditError, match="not a zkperp rollup"):
        audit.audit_chain(honest.chain, honest.dep.token, honest.genesis, trusted_vks())
    with pytest.raises(audit.AuditError, match="not an Ethereum address"):
        audit.audit_chain(honest.chain, "nope", honest.genesis, trusted_vks())


def test_load_vk_dir(tmp_path):
    with pytest.raises(audit.AuditError):
        audit.load_vk_dir(tmp_path)
    for n, vk in trusted_vks().items():
        formats.write_json(tmp_path / f"batch_{n}.vk.json", formats.vk_to_json(vk))
    assert audit.load_vk_dir(tmp_path) == trusted_vks()
    formats.write_json(tmp_path / "batch_3.vk.json", formats.vk_to_json(trusted_vks()[2]))
    with pytest.raises(audit.AuditError, match="public inputs"):
        audit.load_vk_dir(tmp_path)


# --- the CLI over JSON-RPC -----------------------------------------------------------------------


def _cli():
    from cli.main import zkperp

    if "audit" not in zkperp.commands:  # not registered yet: a test copy
        import click

        from cli import audit_cmd
        from cli.main import _Group

        @click.group(cls=_Group)
        def root() -> None:
            """zkperp (test copy)."""

        audit_cmd.register(root)
        return root
    return zkperp


def run(*args):
    result = CliRunner().invoke(_cli(), [str(a) for a in args], prog_name="zkperp")
    assert "Traceback" not in result.output, result.output
    return result


@pytest.fixture(scope="module")
def served(genesis, tmp_path_factory):
    from verifier_contract.node import EmbeddedNode

    work = tmp_path_factory.mktemp("audit_cli")
    (work / "genesis.json").write_text(json.dumps(genesis_to_json(genesis)))
    (work / "keys").mkdir()
    for n, vk in trusted_vks().items():
        formats.write_json(work / "keys" / f"batch_{n}.vk.json", formats.vk_to_json(vk))
    with EmbeddedNode.start() as node:
        op = Operator(Chain.connect(node.url), genesis)
        op.scenario(2)
        yield node, op, work


def test_cli_honest_and_escape(served):
    node, op, work = served
    base = ["audit", "--rpc-url", node.url, "--contract", op.dep.rollup,
            "--genesis", work / "genesis.json", "--vk-dir", work / "keys"]  # fmt: skip
    result = run(*base)
    assert result.exit_code == 0, result.output
    assert "2 batches" in result.output and "1 trade" in result.output
    assert "audit OK" in result.output and str(op.state.root) in result.output
    # a node that serves two blocks of logs per query: the same audit
    chunked = run(*base, "--log-chunk", 2)
    assert chunked.exit_code == 0 and "2 batches" in chunked.output, chunked.output
    assert run(*base, "--log-chunk", 0).exit_code == 2
    out = work / "escape.json"
    result = run(*base, "--json", "--export-escape", 2, "--out", out)
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["ok"] and data["batches"] == 2 and data["final_root"] == str(op.state.root)
    assert data["escape"]["account"] == 2 and data["escape"]["file"] == str(out)
    opening = audit.load_escape(out)
    value, to = ro.exit_value(op.chain, op.dep, opening)  # opens the contract's root
    assert to == op.users[1] and value > 0


def test_cli_divergence_and_usage(served, tmp_path):
    node, op, work = served
    other = tmp_path / "other.json"
    other.write_text(json.dumps(genesis_to_json(demo_genesis(1_700_000_000, exchange_id=3))))
    args = ["--contract", op.dep.rollup, "--vk-dir", work / "keys"]
    result = run("audit", "--rpc-url", node.url, "--genesis", other, *args)
    assert result.exit_code == 1, result.output
    assert "genesis_root" in result.output and "batch 0: old_root" in result.output
    result = run("audit", "--rpc-url", node.url, "--genesis", other, *args,
                 "--export-escape", 1, "--out", tmp_path / "x.json")  # fmt: skip
    assert result.exit_code == 1 and not (tmp_path / "x.json").exists()

    genesis = ["--genesis", work / "genesis.json"]
    for bad, code in (
        (["--rpc-url", "http://127.0.0.1:9", *genesis, *args], 2),  # nothing listens
        (["--rpc-url", node.url, *genesis, "--contract", op.dep.token,
          "--vk-dir", work / "keys"], 2),  # not a rollup
        (["--rpc-url", node.url, *genesis, "--contract", op.dep.rollup,
          "--vk-dir", tmp_path], 2),  # no keys there
        (["--rpc-url", node.url, *genesis, "--contract", op.dep.rollup], 2),  # no keys at all
        (["--rpc-url", node.url, "--genesis", tmp_path / "missing.json", *args], 2),
        (["--rpc-url", node.url, *genesis, *args, "--export-escape", 1], 2),  # no --out
        (["--rpc-url", node.url, *genesis, *args, "--export-escape", 9,
          "--out", tmp_path / "e.json"], 1),  # no such account
    ):  # fmt: skip
        result = run("audit", *bad)
        assert result.exit_code == code, (bad, result.output)
        assert "Error" in result.output


def test_cli_keys_from_zkeys_and_from_the_circuit(served, tmp_path, monkeypatch):
    """--zkey: the keys of the operator's zkeys; --ptau: the circuit set up again on the ptau
    (here the stand-in circuit, patched in for the batch circuit, and a development ptau)."""
    from prover.ptau import read_ptau, write_dev_ptau
    from prover.zkey import write_zkey

    node, op, work = served
    for n in SHAPES:
        write_zkey(standin_key(n)[1], tmp_path / f"batch_{n}.zkey")
    base = ["audit", "--rpc-url", node.url, "--genesis", work / "genesis.json"]
    zkeys = [a for n in SHAPES for a in ("--zkey", tmp_path / f"batch_{n}.zkey")]
    result = run(*base, "--contract", op.dep.rollup, *zkeys)
    assert result.exit_code == 0, result.output
    assert run(*base, "--contract", op.dep.rollup, *zkeys, "--vk-dir", work).exit_code == 2

    ptau = tmp_path / "dev.ptau"
    write_dev_ptau(ptau, 8, rng=random.Random(3))
    srs = read_ptau(ptau)
    other = Operator(op.chain, op.genesis, keys={4: (_standin(4), setup(_standin(4).cs, srs))})
    other.scenario(1)  # one batch of 4 slots
    monkeypatch.setattr("rollup.keys.compiled_circuit", lambda shape: _standin(shape.n_slots))
    result = run(*base, "--contract", other.dep.rollup, "--ptau", ptau)
    assert result.exit_code == 0, result.output
    assert "1 batches" in result.output and "verifier for 4 slots" in result.output


def _standin_units(n_slots: int, n_units: int):
    """A stand-in whose circuit (so whose key and verifier) depends on the account units, as
    the batch circuit's does."""
    return _standin_shape(n_slots, n_units, 0)


def test_cli_rebuilds_each_shape_with_the_deployments_units(served, tmp_path, monkeypatch):
    """--ptau rebuilds each shape with its account units: from the genesis export of `zkperp
    sequencer genesis --with-units`, from --units, else the default (T // 2 + 1: 3 for 4 slots,
    which is not this deployment's 4: the verifier is not the rebuilt key's)."""
    from prover.ptau import read_ptau, write_dev_ptau

    node, op, work = served
    ptau = tmp_path / "dev.ptau"
    write_dev_ptau(ptau, 8, rng=random.Random(5))
    srs = read_ptau(ptau)
    circuit = _standin_units(4, 4)
    deployed = Operator(op.chain, op.genesis, keys={4: (circuit, setup(circuit.cs, srs))})
    deployed.scenario(1)  # one batch of 4 slots, made with 4 units
    built = []

    def compiled(shape):
        built.append((shape.n_slots, shape.n_units))
        return _standin_units(shape.n_slots, shape.n_units)

    monkeypatch.setattr("rollup.keys.compiled_circuit", compiled)
    plain = work / "genesis.json"
    wrapped = tmp_path / "genesis_units.json"
    gj = json.loads(plain.read_text())
    wrapped.write_text(json.dumps({"genesis": gj, "shapes": [2, 4], "units": [2, 4]}))
    base = ["audit", "--rpc-url", node.url, "--contract", deployed.dep.rollup, "--ptau", ptau]
    result = run(*base, "--genesis", wrapped)
    assert result.exit_code == 0, result.output
    assert "4 slots (4 account units, 5 signature units)" in result.output and built == [(4, 4)]
    result = run(*base, "--genesis", plain, "--units", "4:4")
    assert result.exit_code == 0, result.output
    built.clear()
    result = run(*base, "--genesis", plain)  # an older export: the default units
    assert result.exit_code == 1 and built == [(4, 3)], result.output
    assert "verifier" in result.output
    result = run(*base, "--genesis", wrapped, "--units", "4:3")  # --units wins
    assert result.exit_code == 1, result.output
    # the library: the units of each shape, the default for the others
    vks = audit.trusted_vks_from_circuit(op.genesis, [4], ptau, {4: 4})
    assert vks[4] == setup(circuit.cs, srs).vk
    assert audit.units_from_json({"genesis": gj}) is None
    assert audit.units_from_json({"genesis": gj, "shapes": [4, 2], "units": [4, 2]}) == {
        2: 2,
        4: 4,
    }
    # bad units: exit 2 with one clear line
    for bad in (["--units", "4"], ["--units", "4:x"]):
        result = run(*base, "--genesis", plain, *bad)
        assert result.exit_code == 2 and "--units" in result.output, result.output
    result = run("audit", "--rpc-url", node.url, "--contract", deployed.dep.rollup,
                 "--genesis", plain, "--vk-dir", work / "keys", "--units", "4:4")  # fmt: skip
    assert result.exit_code == 2 and "give --ptau" in result.output
    wrapped.write_text(json.dumps({"genesis": gj, "shapes": [2, 4], "units": [2]}))
    result = run(*base, "--genesis", wrapped)
    assert result.exit_code == 2 and "1 counts for 2 shapes" in result.output, result.output


def _standin_shape(n_slots: int, n_units: int, n_signatures: int):
    """A stand-in whose circuit (so whose key and verifier) depends on the account units and
    the signature units, as the batch circuit's does."""
    b = CircuitBuilder()
    xs = b.public_inputs("pi", 4 + 3 * n_slots)
    acc = b.private_input("s")
    for x in xs:
        acc = b.mul(acc, acc + x)
    for k in range(n_units):
        acc = b.mul(acc, acc + k + 1)
    for k in range(n_signatures):
        acc = b.mul(acc, acc + 2 * k + 7)
    return b.compile()


def test_cli_rebuilds_each_shape_with_the_deployments_signature_units(
    served, tmp_path, monkeypatch
):
    """--ptau rebuilds each shape with its signature units too: from the genesis export of
    `zkperp sequencer genesis --with-units`, from --signatures (it wins), else the default
    (T + 1: 5 for 4 slots, which is not this deployment's 8: the verifier is not the rebuilt
    key's)."""
    from prover.ptau import read_ptau, write_dev_ptau

    node, op, work = served
    ptau = tmp_path / "dev.ptau"
    write_dev_ptau(ptau, 8, rng=random.Random(6))
    srs = read_ptau(ptau)
    circuit = _standin_shape(4, 3, 8)
    deployed = Operator(op.chain, op.genesis, keys={4: (circuit, setup(circuit.cs, srs))})
    deployed.scenario(1)  # one batch of 4 slots, made with 3 account units and 8 signature units
    built = []

    def compiled(shape):
        built.append((shape.n_slots, shape.n_units, shape.n_signatures))
        return _standin_shape(shape.n_slots, shape.n_units, shape.n_signatures)

    monkeypatch.setattr("rollup.keys.compiled_circuit", compiled)
    plain = work / "genesis.json"
    gj = json.loads(plain.read_text())
    wrapped = tmp_path / "genesis_units.json"
    export = {"genesis": gj, "shapes": [2, 4], "units": [2, 3], "signatures": [3, 8]}
    wrapped.write_text(json.dumps(export))
    base = ["audit", "--rpc-url", node.url, "--contract", deployed.dep.rollup, "--ptau", ptau]
    result = run(*base, "--genesis", wrapped)
    assert result.exit_code == 0, result.output
    assert "4 slots (3 account units, 8 signature units)" in result.output
    assert built == [(4, 3, 8)]
    result = run(*base, "--genesis", plain, "--signatures", "4:8")
    assert result.exit_code == 0, result.output
    built.clear()
    result = run(*base, "--genesis", plain)  # a plain genesis: the default signature units
    assert result.exit_code == 1 and built == [(4, 3, 5)], result.output
    assert "verifier" in result.output
    result = run(*base, "--genesis", wrapped, "--signatures", "4:5")  # --signatures wins
    assert result.exit_code == 1, result.output
    older = tmp_path / "genesis_older.json"  # an export from before signature units
    older.write_text(json.dumps({k: v for k, v in export.items() if k != "signatures"}))
    built.clear()
    result = run(*base, "--genesis", older)
    assert result.exit_code == 1 and built == [(4, 3, 5)], result.output
    # the library: the signature units of each shape, the default for the others
    vks = audit.trusted_vks_from_circuit(op.genesis, [4], ptau, None, {4: 8})
    assert vks[4] == setup(circuit.cs, srs).vk
    assert audit.signatures_from_json({"genesis": gj}) is None
    assert audit.signatures_from_json({**export, "shapes": [4, 2], "signatures": [8, 3]}) == {
        2: 3,
        4: 8,
    }
    # bad signature units: exit 2 with one clear line
    for bad in (["--signatures", "4"], ["--signatures", "4:x"], ["--signatures", ":8"]):
        result = run(*base, "--genesis", plain, *bad)
        assert result.exit_code == 2 and "--signatures" in result.output, result.output
        assert "SLOTS:SIGNATURES" in result.output
    result = run("audit", "--rpc-url", node.url, "--contract", deployed.dep.rollup,
                 "--genesis", plain, "--vk-dir", work / "keys", "--signatures", "4:8")  # fmt: skip
    assert result.exit_code == 2 and "--signatures sets the circuits" in result.output
    for sigs, why in (([3], "1 counts for 2 shapes"), ([3, 9], "signature units of shape 4"),
                      ([4, 3], "signatures must not decrease")):  # fmt: skip
        wrapped.write_text(json.dumps({**export, "signatures": sigs}))
        result = run(*base, "--genesis", wrapped)
        assert result.exit_code == 2 and why in result.output, result.output
        assert "signature units" in result.output
