"""Gas of the rollup contract (``verifier_contract/templates/Rollup.sol``) on the embedded EVM
(py-evm, Cancun rules), with real PLONK proofs of the stand-in circuit of
``tests/test_rollup_contract.py`` (public inputs with layout v2's shape, 4 + 3 * n_slots; the
verifier's cost depends only on that count, not on the circuit).

Measured: deployment (each contract), deposit (first and later; the deposit key is checked:
one 0x05 modexp), forced-withdrawal request, ``submitBatch`` for n_slots = 1, 2, 4 (all-trade
batches; all-deposit batches for the queue's cost), the marginal gas per slot (per trade),
withdraw, freeze and exit (accounts tree of the production depth, 8 four-ary levels). Reported:
the receipt's ``gasUsed`` and the execution gas (without the 21,000 base and the calldata,
EIP-2028). Gas is deterministic. Run: ``pytest bench/test_bench_rollup_gas.py -s``; the table
is printed and written to ``bench/out/rollup_gas.json``.

``test_rollup_gas_real_circuit``: the same figures with the REAL batch circuit's verifiers and
proofs (``circuits.state_transition`` at the shallow shape of tests/test_rollup_e2e.py: account
depth 2, order depth 1, 2 markets; 1 and 2 slots), batches cut by the sequencer from deposits
made on the contract: a 1-slot and a 2-slot deposit batch, a 1-slot and a 2-slot trade batch,
a withdrawal. A verifier's gas does not depend on the tree depths (only on the number of
public inputs and, by a few squarings, the domain size), so these stand for the production
shape's. Written to ``bench/out/rollup_gas_real.json`` (a few minutes: two PLONK setups, five
proofs).
"""

from __future__ import annotations

import json

import pytest

from bench.anchor import node_available
from circuits.gadgets import babyjubjub as bj
from circuits.gadgets import eddsa
from circuits.gadgets.merkle import QuadMerkleTree
from circuits.gadgets.poseidon import poseidon
from rollup import pubdata as pd
from rollup.types import DepositRecord, NoopRecord, TradeRecord, WithdrawalRecord, sign_withdrawal
from tests.test_rollup_contract import _leaf, prove_public, standin_key
from tests.test_rollup_e2e import ALICE, BOB, KEYS, Flow, X, _order
from verifier_contract import rollup as ro
from verifier_contract.chain import Chain

pytestmark = [
    pytest.mark.node,
    pytest.mark.skipif(not node_available(), reason="needs node and node_modules"),
]

SLOTS = (1, 2, 4)
DEPTH = 8
KEY = bj.pack_point(eddsa.prv2pub(b"\x42" * 32))


def _trade(i: int) -> TradeRecord:
    return TradeRecord(i % 4, i % 2, 2 * i + 1, 2 * i + 2, 1000 + i, 2000 + i, 5_000 + i,
                       (40 << 32) + i, 123 + i, 45 + i)  # fmt: skip


def test_rollup_gas_table(bench_out):
    chain = Chain.embedded()
    w3 = chain.w3
    users = w3.eth.accounts[1:4]
    vks = {n: standin_key(n)[1].vk for n in SLOTS}
    dep = ro.deploy_rollup(chain, genesis_root=1, vks=vks, forced_deadline=10,
                           account_depth=DEPTH, genesis_prices=(40 << 32,))  # fmt: skip
    rows: dict[str, dict[str, int]] = {}
    for name, gas in dep.gas.items():
        rows[f"deploy {name}"] = {"gas_used": gas}

    def record(name: str, out: dict) -> None:
        rows[name] = {"gas_used": out["gas_used"], "execution_gas": out["execution_gas"]}

    # deposits: the all-deposit batches consume 1 + 2 + 4 of them, the refund one more
    n_deposits = 1 + sum(SLOTS)
    ro.mint(chain, dep, to=users[0], amount=10**12)
    for i in range(n_deposits):
        out = ro.deposit(chain, dep, pubkey_packed=KEY, amount=1_000 + i, sender=users[0])
        if i < 2:
            record(["deposit (first)", "deposit (later)"][i], out)
    root, number = 1, 0

    def submit(records, label):
        nonlocal root, number
        data = pd.encode_records(records)
        ts = w3.eth.get_block("latest")["timestamp"]
        public = pd.public_inputs(root, root + 1, number, ts, data, len(records))
        out = ro.submit_batch(chain, dep, batch_number=number, new_root=root + 1, timestamp=ts,
                              pubdata=data, proof=prove_public(public, number))  # fmt: skip
        root, number = root + 1, number + 1
        record(label, out)

    dep_i = 0
    for n in SLOTS:
        records = []
        for _ in range(n):
            records.append(DepositRecord(1, KEY, int(users[0], 16), 1_000 + dep_i, True))
            dep_i += 1
        submit(records, f"submitBatch {n} slot(s): deposits")
    for n in SLOTS:
        submit([_trade(i) for i in range(n)], f"submitBatch {n} slot(s): trades")
    t1 = rows["submitBatch 1 slot(s): trades"]
    t4 = rows["submitBatch 4 slot(s): trades"]
    d1 = rows["submitBatch 1 slot(s): deposits"]
    d4 = rows["submitBatch 4 slot(s): deposits"]
    rows["per trade slot (marginal, 1 -> 4)"] = {
        k: (t4[k] - t1[k]) // 3 for k in ("gas_used", "execution_gas")
    }
    rows["per deposit slot (marginal, 1 -> 4)"] = {
        k: (d4[k] - d1[k]) // 3 for k in ("gas_used", "execution_gas")
    }
    # withdraw: credit a refund through a refused deposit, then withdraw it
    submit([DepositRecord(0, KEY, int(users[0], 16), 1_000 + dep_i, False)], "submitBatch refund")
    record("withdraw", ro.withdraw(chain, dep, sender=users[0]))
    # freeze and exit at depth 8: the L2 state is set by a batch whose new root opens one account
    tree = QuadMerkleTree(DEPTH, backend="python")
    static = (5, 6, int(users[1], 16), 0)
    for i in (0, 1, 4_000):
        tree.set(i, _leaf(static, 100 + i, 0, (10, -5, 0, 0), (0, 0, 0, 0)))
    fields = (11, 22, 0, 3, 0)
    state_root = poseidon([tree.root, *fields])
    records = [NoopRecord()]
    root_before = root
    data = pd.encode_records(records)
    ts = w3.eth.get_block("latest")["timestamp"]
    public = pd.public_inputs(root_before, state_root, number, ts, data, 1)
    ro.submit_batch(chain, dep, batch_number=number, new_root=state_root, timestamp=ts,
                    pubdata=data, proof=prove_public(public, 99))  # fmt: skip
    rf = ro.request_forced_withdrawal(chain, dep, account=1, amount=5, sender=users[1])
    record("requestForcedWithdrawal", rf)
    w3.provider.ethereum_tester.time_travel(ts + 100)
    w3.provider.ethereum_tester.mine_blocks(1)
    record("freeze", ro.freeze(chain, dep, request_index=rf["request_index"]))
    proof = tree.proof(4_000)
    opening = ro.ExitOpening(4_000, static, 4_100, 0, (10, -5, 0, 0), (0, 0, 0, 0), fields,
                             proof.siblings)  # fmt: skip
    out = ro.exit(chain, dep, opening=opening)
    assert out["value"] == 4_100 + (10 * (40 << 32) >> 32) and out["paid"] > 0
    record(f"exit (depth {DEPTH}: {DEPTH + 5} Poseidon calls)", out)

    width = max(len(k) for k in rows)
    print(f"\n{'what':<{width}}  {'gasUsed':>10}  {'execution':>10}")
    for name, row in rows.items():
        print(f"{name:<{width}}  {row['gas_used']:>10,}  {row.get('execution_gas', 0):>10,}")
    (bench_out / "rollup_gas.json").write_text(json.dumps(rows, indent=2) + "\n")
    assert rows["submitBatch 1 slot(s): trades"]["gas_used"] < 1_000_000


def _print(rows: dict[str, dict[str, int]]) -> None:
    width = max(len(k) for k in rows)
    print(f"\n{'what':<{width}}  {'gasUsed':>10}  {'execution':>10}")
    for name, row in rows.items():
        print(f"{name:<{width}}  {row['gas_used']:>10,}  {row.get('execution_gas', 0):>10,}")


def test_rollup_gas_real_circuit(bench_out, tmp_path):
    chain = Chain.embedded()
    f = Flow(chain, tmp_path / "seq.db", slots=(1, 2))
    rows: dict[str, dict[str, int]] = {}
    for name in ("verifier_1", "verifier_2", "rollup"):
        rows[f"deploy {name}"] = {"gas_used": f.dep.gas[name]}

    def record(name: str, out: dict) -> None:
        rows[name] = {"gas_used": out["gas_used"], "execution_gas": out["execution_gas"]}

    def accept(number: int, label: str, kinds: list[type]) -> None:
        assert [type(r) for r in f.seq.batch(number).records] == kinds, label
        record(label, f.accept(f.proven(number)))

    expiry = f.now() + 10**6
    record("deposit (first)", f.deposit(0, 50_000))
    f.seq.cut(now=f.now())
    accept(0, "submitBatch 1 slot: deposit", [DepositRecord])
    f.deposit(1, 40_000)
    record("deposit (later)", f.deposit(0, 5_000))
    accept(1, "submitBatch 2 slots: deposits", [DepositRecord] * 2)
    f.submit(_order(1, BOB, 1, 7, 99, 3, expiry), "resting")
    f.submit(_order(0, ALICE, 0, 7, 101, 4, expiry), "filled")
    f.seq.cut(now=f.now())
    accept(2, "submitBatch 1 slot: trade", [TradeRecord])
    f.submit(_order(1, BOB, 1, 5, 99, 5, expiry), "resting")
    f.submit(_order(1, BOB, 1, 6, 98, 6, expiry), "resting")
    f.submit(_order(0, ALICE, 0, 11, 101, 7, expiry), "filled")
    accept(3, "submitBatch 2 slots: trades", [TradeRecord] * 2)
    f.submit(sign_withdrawal(KEYS[0], ALICE, 1_000, 5, 0, X))
    f.seq.cut(now=f.now())
    accept(4, "submitBatch 1 slot: withdrawal", [WithdrawalRecord])
    record("withdraw", ro.withdraw(chain, f.dep, sender=f.users[0]))
    t1, t2 = rows["submitBatch 1 slot: trade"], rows["submitBatch 2 slots: trades"]
    rows["per trade slot (marginal, 1 -> 2)"] = {k: t2[k] - t1[k] for k in t1}
    d1, d2 = rows["submitBatch 1 slot: deposit"], rows["submitBatch 2 slots: deposits"]
    rows["per deposit slot (marginal, 1 -> 2)"] = {k: d2[k] - d1[k] for k in d1}
    f.seq.close()
    _print(rows)
    (bench_out / "rollup_gas_real.json").write_text(json.dumps(rows, indent=2) + "\n")
