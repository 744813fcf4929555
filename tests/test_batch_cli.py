"""``zkperp batch setup | prove | verify`` (cli/batch_cmds.py, rollup/keys.py) on a small
sequencer database: the smallest shape (1 slot, 1 market, shallow trees: account depth 1 and
order depth 1 in 4-ary levels), three batches (two deposits, then a trade).

- setup writes ``<db>.d/keys/batch_1.{zkey,vk.json,meta.json}`` from a development ptau, and a
  second run finds them up to date;
- prove writes ``<db>.d/proofs/batch_<n>.{proof,public}.json`` + ``.wtns``; public.json holds
  the public inputs rebuilt from the database's batch; verify exits 0;
- negative: a tampered proof or public.json, or another batch's proof, exits 1; an unknown
  batch, a missing database, missing keys, missing or malformed proof files, keys of another
  circuit version or another shape (account units, signature units) exit 2, each with one
  clear line and no traceback;
- interop (``@pytest.mark.node``): snarkjs 0.7.6 ``plonk prove`` on our zkey and our .wtns
  gives a proof that ``snarkjs plonk verify`` and ``zkperp batch verify`` accept, with the same
  public signals; ``snarkjs plonk verify`` accepts our proof.
"""

from __future__ import annotations

import dataclasses
import json
import shutil

import pytest
from click.testing import CliRunner

from circuits.gadgets import babyjubjub as bj
from circuits.gadgets import eddsa
from cli.batch_cmds import public_inputs_of
from cli.main import zkperp
from rollup.batch import L1Request
from rollup.keys import Deployment
from rollup.orderbook import PlaceOrder
from rollup.sequencer import Sequencer, SequencerConfig, demo_genesis
from rollup.storage import Storage
from rollup.types import PRICE_SCALE, Deposit, Order, Side, sign_order

T0 = 1_700_000_000
KEYS = [bytes([i + 1]) * 32 for i in range(2)]
TRADE_BATCH = 2


def run(*args):
    return CliRunner().invoke(zkperp, [str(a) for a in args], prog_name="zkperp")


def ok(*args) -> str:
    result = run(*args)
    assert result.exit_code == 0, result.output
    return result.output


def fails(code: int, *args) -> str:
    result = run(*args)
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output and isinstance(result.exception, SystemExit)
    return result.output


def make_db(path) -> None:
    """Two deposits and a trade, one batch each (shape: 1 slot)."""
    g = demo_genesis(T0)  # only its first market (BTC), 4 accounts, 4 order slots each
    cfg = dataclasses.replace(
        g.config, markets=g.config.markets[:1], account_depth=1, order_depth=1
    )
    genesis = dataclasses.replace(g, config=cfg, prices=g.prices[:1])
    with Sequencer.create(path, genesis, SequencerConfig(shapes=(1,))) as seq:
        index = []
        for i, key in enumerate(KEYS):
            pub = bj.pack_point(eddsa.prv2pub(key))
            seq.submit(L1Request(i, Deposit(pub, 0x100 + i, 10**10)), T0 + 1 + i)
            index.append(seq.account_index("0x" + pub.hex()))

        def order(k: int, side: Side) -> PlaceOrder:
            o = Order(index[k], 0, side, 1000, 600 * PRICE_SCALE, 10**6, 2**32 - 1, 1)
            return PlaceOrder(sign_order(KEYS[k], o, cfg.exchange_id))

        assert seq.submit(order(1, Side.SELL), T0 + 5).status == "resting"
        assert seq.submit(order(0, Side.BUY), T0 + 6).batches == (TRADE_BATCH,)


@pytest.fixture(scope="module")
def proven(tmp_path_factory):
    """The database, set up, with batches 0 (a deposit) and 2 (a trade) proven."""
    db = tmp_path_factory.mktemp("batch") / "seq.db"
    make_db(db)
    out = ok("batch", "setup", db)
    assert "ONE-PARTY" in out and "batch_1: set up" in out
    assert "batch shape 1 slots, 2 account units, 2 signature units" in out
    for n in (0, TRADE_BATCH):
        out = ok("batch", "prove", db, n)
        assert "round 5/5" in out and f"batch_{n}.proof.json" in out
    return db


def batch(db, n):
    with Storage.open(db) as s:
        return s.batch(n)


def test_setup_writes_the_keys_and_is_cached(proven):
    dep = Deployment(proven)
    for path in (dep.zkey(1), dep.vk(1), dep.meta(1)):
        assert path.is_file(), path
    meta = json.loads(dep.meta(1).read_text())
    assert meta["shape"] == {
        "n_slots": 1, "account_depth": 1, "order_depth": 1, "n_markets": 1, "n_units": 2,
        "n_signatures": 2,
    }  # fmt: skip
    # the vk.json is the zkey's, as `zkey export verificationkey` writes it
    exported = proven.parent / "exported.vk.json"
    ok("zkey", "export", "verificationkey", dep.zkey(1), exported)
    assert json.loads(exported.read_text()) == json.loads(dep.vk(1).read_text())
    zkey_before = dep.zkey(1).stat().st_mtime_ns
    assert "batch_1: up to date" in ok("batch", "setup", proven)
    assert dep.zkey(1).stat().st_mtime_ns == zkey_before


def test_proofs_verify_and_public_inputs_come_from_the_batch(proven):
    dep = Deployment(proven)
    for n in (0, TRADE_BATCH):
        proof, public, wtns = dep.proof_files(dep.proofs_dir, n)
        assert proof.is_file() and wtns.is_file()
        b = batch(proven, n)
        assert [int(v) for v in json.loads(public.read_text())] == public_inputs_of(b)
        assert "OK!" in ok("batch", "verify", proven, n)
    b = batch(proven, TRADE_BATCH)
    assert b.n_txs == 1 and type(b.records[0]).__name__ == "TradeRecord"


def _copy_proof(db, n, dest, as_number=None):
    dep = Deployment(db)
    dest.mkdir(exist_ok=True)
    target = dep.proof_files(dest, n if as_number is None else as_number)
    for src, dst in zip(dep.proof_files(dep.proofs_dir, n), target):
        shutil.copyfile(src, dst)
    return target


def test_tampered_proof_is_invalid(proven, tmp_path):
    proof, _, _ = _copy_proof(proven, TRADE_BATCH, tmp_path / "p")
    obj = json.loads(proof.read_text())
    obj["eval_a"] = str(int(obj["eval_a"]) + 1)
    proof.write_text(json.dumps(obj))
    out = fails(1, "batch", "verify", proven, TRADE_BATCH, "--dir", tmp_path / "p")
    assert "Invalid proof" in out
    obj = json.loads(_copy_proof(proven, TRADE_BATCH, tmp_path / "q")[0].read_text())
    obj["A"], obj["B"] = obj["B"], obj["A"]
    (tmp_path / "q" / f"batch_{TRADE_BATCH}.proof.json").write_text(json.dumps(obj))
    assert "Invalid proof" in fails(1, "batch", "verify", proven, TRADE_BATCH,
                                    "--dir", tmp_path / "q")  # fmt: skip


def test_tampered_public_json_is_invalid(proven, tmp_path):
    _, public, _ = _copy_proof(proven, TRADE_BATCH, tmp_path)
    values = json.loads(public.read_text())
    values[1] = str(int(values[1]) + 1)  # the new root
    public.write_text(json.dumps(values))
    out = fails(1, "batch", "verify", proven, TRADE_BATCH, "--dir", tmp_path)
    assert "does not match batch" in out and "new root" in out


def test_another_batchs_proof_is_invalid(proven, tmp_path):
    _copy_proof(proven, 0, tmp_path, as_number=TRADE_BATCH)
    out = fails(1, "batch", "verify", proven, TRADE_BATCH, "--dir", tmp_path)
    assert "does not match batch" in out


def test_unknown_batch_missing_files_and_database(proven, tmp_path):
    assert "no batch 9" in fails(2, "batch", "prove", proven, 9)
    assert "no batch 9" in fails(2, "batch", "verify", proven, 9)
    # batch 1 exists but was not proven
    assert "no such file" in fails(2, "batch", "verify", proven, 1)
    assert "no sequencer database" in fails(2, "batch", "prove", tmp_path / "none.db", 0)
    assert "no sequencer database" in fails(2, "batch", "setup", tmp_path / "none.db")
    fails(2, "batch", "prove", proven, -1)  # click usage error


def test_malformed_proof_file_exits_2(proven, tmp_path):
    proof, _, _ = _copy_proof(proven, 0, tmp_path)
    proof.write_text("{not json")
    fails(2, "batch", "verify", proven, 0, "--dir", tmp_path)
    proof.write_text(json.dumps({"A": ["1", "2", "1"]}))
    fails(2, "batch", "verify", proven, 0, "--dir", tmp_path)


def test_missing_and_stale_keys_exit_2(proven, tmp_path):
    other = tmp_path / "other.db"
    shutil.copyfile(proven, other)  # the same batches, no <db>.d/
    out = fails(2, "batch", "prove", other, TRADE_BATCH)
    assert "no keys for batches of 1 slots" in out and "zkperp batch setup" in out
    assert "zkperp batch setup" in fails(2, "batch", "verify", other, TRADE_BATCH)
    # keys of another circuit version: the meta's digest no longer matches the circuit
    dep, dep2 = Deployment(proven), Deployment(other)
    dep2.keys_dir.mkdir(parents=True)
    for src, dst in ((dep.zkey(1), dep2.zkey(1)), (dep.vk(1), dep2.vk(1))):
        dst.symlink_to(src)
    meta = json.loads(dep.meta(1).read_text())
    meta["circuit_digest"] = "0" * 64
    dep2.meta(1).write_text(json.dumps(meta))
    assert "another version of the batch circuit" in fails(2, "batch", "prove", other, 0)
    # keys made for other account units (the meta's shape): stale for prove and verify
    meta = json.loads(dep.meta(1).read_text())
    meta["shape"]["n_units"] = 1
    dep2.meta(1).write_text(json.dumps(meta))
    for cmd in ("prove", "verify"):
        out = fails(2, "batch", cmd, other, 0)
        assert "another shape (n_units 1 (now 2))" in out and "zkperp batch setup" in out
    # keys made for other signature units: stale too
    meta = json.loads(dep.meta(1).read_text())
    meta["shape"]["n_signatures"] = 3
    dep2.meta(1).write_text(json.dumps(meta))
    for cmd in ("prove", "verify"):
        out = fails(2, "batch", cmd, other, 0)
        assert "another shape (n_signatures 3 (now 2))" in out and "zkperp batch setup" in out
    # a meta written before shapes recorded n_signatures: the default (2), not stale for verify
    del meta["shape"]["n_signatures"]
    dep2.meta(1).write_text(json.dumps(meta))
    assert "another shape" not in run("batch", "verify", other, 0).output


@pytest.mark.node
@pytest.mark.slow  # snarkjs proves a 2^17 domain (the 1-slot circuit): minutes on 2 cores
def test_snarkjs_proves_our_zkey_and_witness(proven, tmp_path):
    from tests.interop import snarkjs, snarkjs_ok

    dep = Deployment(proven)
    proof, public, wtns = dep.proof_files(dep.proofs_dir, TRADE_BATCH)
    # our proof verifies in snarkjs
    assert snarkjs_ok("plonk", "verify", dep.vk(1), public, proof)
    # snarkjs proves our zkey + our witness; both verifiers accept its proof
    theirs = tmp_path / "theirs"
    theirs.mkdir()
    s_proof, s_public, _ = dep.proof_files(theirs, TRADE_BATCH)
    snarkjs("plonk", "prove", dep.zkey(1), wtns, s_proof, s_public)
    assert json.loads(s_public.read_text()) == json.loads(public.read_text())
    assert snarkjs_ok("plonk", "verify", dep.vk(1), s_public, s_proof)
    assert "OK!" in ok("batch", "verify", proven, TRADE_BATCH, "--dir", theirs)
    # and a tampered copy fails in both
    obj = json.loads(s_proof.read_text())
    obj["eval_zw"] = str(int(obj["eval_zw"]) + 1)
    s_proof.write_text(json.dumps(obj))
    assert not snarkjs_ok("plonk", "verify", dep.vk(1), s_public, s_proof)
    fails(1, "batch", "verify", proven, TRADE_BATCH, "--dir", theirs)


def test_setup_with_a_ptau_too_small_or_missing(proven, tmp_path):
    from prover.ptau import write_dev_ptau

    other = tmp_path / "other.db"
    shutil.copyfile(proven, other)
    small = tmp_path / "pot8.ptau"
    write_dev_ptau(small, 8)
    out = fails(1, "batch", "setup", other, "--ptau", small)
    assert "too big for this powers of tau" in out and "the file supports 2^8" in out
    assert not Deployment(other).zkey(1).exists()
    assert "no such file" in fails(2, "batch", "setup", other, "--ptau", tmp_path / "none")


def _tiny(label: str, k: int):
    from circuits.builder import CircuitBuilder

    b = CircuitBuilder()
    x, y = b.public_input("x"), b.private_input("y")
    with b.scope(label):
        b.assert_equal(b.mul(x, y), k)
    return b.compile().cs


def test_circuit_digest_follows_the_gates_not_the_labels():
    from rollup.keys import circuit_digest

    assert circuit_digest(_tiny("a", 6)) == circuit_digest(_tiny("b", 6))
    assert circuit_digest(_tiny("a", 6)) != circuit_digest(_tiny("a", 7))
