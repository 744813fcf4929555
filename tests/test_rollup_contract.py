"""The rollup contract (``verifier_contract/templates/Rollup.sol`` through
``verifier_contract.rollup``) on the embedded EVM, with real PLONK proofs.

The proofs come from a SMALL stand-in circuit (``_standin``: public inputs with the layout of
layout v2 section 6, [old_root, new_root, batch_number, timestamp, 3 words per slot], and
trivial constraints over them) set up and proven with ``prover.plonk``, so that any record
(and any root) can be put in a batch cheaply. So these tests check what the CONTRACT enforces:
that it rebuilds the public inputs from its own state and the calldata, and what it does with
the records. The real batch circuit (issue E) end to end: tests/test_rollup_e2e.py.

Issue F's acceptance items, each tested: batches accepted in order; rejected: every tampered
proof word, a changed public input (new root, timestamp, every pubdata byte changes the inputs),
x + r, a skipped or repeated batch number, a batch proven from another old root, a non-operator
submitter, a withdrawal claimed twice, deposit/forced records that do not match the queue, an
escape before the freeze and twice, a freeze before the deadline. The exit checks a 4-ary
Poseidon Merkle proof of a layout-v2 account leaf with circomlibjs's Poseidon contracts (checked
here against ``circuits.gadgets.poseidon``) and pays at the prices the pubdata committed.

Deposit keys (``rollup.types.valid_deposit_key``): the contract accepts exactly the packed keys
that ``circuits.gadgets.babyjubjub.unpack_point`` unpacks and that are not of small order (its
8 small-order encodings are derived here from the curve's torsion group), a key outside the
prime-order subgroup included; every other key reverts ``InvalidPublicKey`` with no token moved.
"""

from __future__ import annotations

import functools
import json
import random
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from circuits.builder import CircuitBuilder
from circuits.gadgets import babyjubjub as bj
from circuits.gadgets import eddsa
from circuits.gadgets.merkle import QuadMerkleTree
from circuits.gadgets.poseidon import poseidon
from prover import params
from prover.kzg import KnownTauPowers
from prover.plonk.prover import prove
from prover.plonk.setup import setup
from rollup import pubdata as pd
from rollup.types import (
    DepositRecord,
    ForcedWithdrawalRecord,
    FundingRecord,
    NoopRecord,
    OracleRecord,
    TradeRecord,
    WithdrawalRecord,
    valid_deposit_key,
)
from verifier_contract import rollup as ro
from verifier_contract.chain import Chain
from verifier_contract.compile import EIP170_MAX_RUNTIME
from verifier_contract.poseidon_contracts import (
    PoseidonContractError,
    deploy_poseidon,
    poseidon_contract,
)
from verifier_contract.render import proof_words

pytestmark = pytest.mark.node

R = params.R_ORDER
P = params.P
GENESIS = 0x1234
DEADLINE = 1000  # seconds (7 days in production)
WINDOW = 3600
DEPTH = 2  # 4-ary levels of the test accounts tree (16 accounts)
PRICE0 = 40 << 32
VECTORS = Path(__file__).parent / "vectors" / "rollup" / "public_inputs.json"


# --- the stand-in circuit ------------------------------------------------------------------------


def _standin(n_slots: int):
    """4 + 3 n_slots public inputs and a few gates over them (any values satisfy it)."""
    b = CircuitBuilder()
    xs = b.public_inputs("pi", 4 + 3 * n_slots)
    acc = b.private_input("s")
    for x in xs:
        acc = b.mul(acc, acc + x)
    return b.compile()


@functools.cache
def standin_key(n_slots: int):
    circuit = _standin(n_slots)
    return circuit, setup(circuit.cs, KnownTauPowers(8, 0xF1F1 + n_slots))


def prove_public(public: list[int], seed: int = 1):
    circuit, pk = standin_key((len(public) - 4) // 3)
    proof, signals = prove(pk, circuit.witness({"pi": public, "s": 5}), rng=random.Random(seed))
    assert signals == public
    return proof


def _addr(a: str) -> int:
    return int(a, 16)


# --- fixtures ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def chain():
    return Chain.embedded()


@pytest.fixture(scope="module")
def base(chain):
    """The first deployment: its Poseidon contracts and verifiers are reused by the others."""
    vks = {n: standin_key(n)[1].vk for n in (1, 2)}
    return ro.deploy_rollup(
        chain, genesis_root=GENESIS, vks=vks, forced_deadline=DEADLINE,
        timestamp_window=WINDOW, account_depth=DEPTH, genesis_prices=(PRICE0,),
    )  # fmt: skip


@pytest.fixture
def dep(chain, base):
    """A fresh rollup (new token, genesis root GENESIS) per test."""
    return ro.deploy_rollup(
        chain, genesis_root=GENESIS, vks={}, forced_deadline=DEADLINE, timestamp_window=WINDOW,
        account_depth=DEPTH, genesis_prices=(PRICE0,), reuse=base,
    )  # fmt: skip


@pytest.fixture(scope="module")
def users(chain):
    return chain.w3.eth.accounts[1:6]


class Rollup:
    """Test driver: the contract's view of the state (root, batch number) and batch making."""

    def __init__(self, chain: Chain, dep: ro.RollupDeployment) -> None:
        self.chain, self.dep = chain, dep
        self.root, self.number = GENESIS, 0

    def now(self) -> int:
        return self.chain.w3.eth.get_block("latest")["timestamp"]

    def batch(self, records, new_root=None, *, number=None, old_root=None, timestamp=None):
        """(kwargs for submit_batch) with a stand-in proof over the true public inputs."""
        data = pd.encode_records(records)
        new_root = self.root + 1 if new_root is None else new_root
        number = self.number if number is None else number
        ts = self.now() if timestamp is None else timestamp
        old = self.root if old_root is None else old_root
        public = pd.public_inputs(old, new_root, number, ts, data, len(records))
        return dict(batch_number=number, new_root=new_root, timestamp=ts, pubdata=data,
                    proof=prove_public(public, seed=number + 7))  # fmt: skip

    def submit(self, records, new_root=None, **kw) -> dict:
        args = self.batch(records, new_root, **kw)
        out = ro.submit_batch(self.chain, self.dep, **args)
        self.root, self.number = args["new_root"], args["batch_number"] + 1
        return out

    def send(self, args: dict, sender: str | None = None) -> dict:
        out = ro.submit_batch(self.chain, self.dep, sender=sender, **args)
        self.root, self.number = args["new_root"], args["batch_number"] + 1
        return out

    def rejects(self, args: dict, error: str, sender: str | None = None) -> None:
        with pytest.raises(ro.RollupRevertError) as info:
            ro.submit_batch(self.chain, self.dep, sender=sender, **args)
        assert info.value.error == error
        assert ro.rollup_status(self.chain, self.dep)["state_root"] == self.root

    def fund(self, user: str, amount: int) -> None:
        ro.mint(self.chain, self.dep, to=user, amount=amount)

    def deposit(self, user: str, amount: int, key: bytes) -> int:
        self.fund(user, amount)
        return ro.deposit(self.chain, self.dep, pubkey_packed=key, amount=amount, sender=user)[
            "request_index"
        ]

    def balance(self, who: str) -> int:
        return self.dep.token_contract(self.chain).functions.balanceOf(who).call()


@pytest.fixture
def rl(chain, dep):
    return Rollup(chain, dep)


KEY_A = bj.pack_point(eddsa.prv2pub(b"\xa1" * 32))
KEY_B = bj.pack_point(eddsa.prv2pub(b"\xb2" * 32))


def _deposit_record(user, amount, key, account=1, executed=True):
    return DepositRecord(account=account, pubkey=key, l1_address=_addr(user), amount=amount,
                         executed=executed)  # fmt: skip


# --- accepted batches -----------------------------------------------------------------------------


def test_contracts_fit_eip170():
    for name, c in ro.contracts().items():
        assert c.size <= EIP170_MAX_RUNTIME, name
    assert ro.contracts()["Rollup"].size > 0


def test_batches_accepted_in_order(rl, users):
    a, b = users[0], users[1]
    ia = rl.deposit(a, 5_000, KEY_A)
    ib = rl.deposit(b, 700, KEY_B)
    assert (ia, ib) == (0, 1)
    st = ro.rollup_status(rl.chain, rl.dep)
    assert st["queue_length"] == 2 and st["token_balance"] == 5_700
    assert st["queued_deposits"] == 5_700 and st["state_root"] == GENESIS
    # batch 0: A's deposit executed, B's refused (refund)
    r0 = rl.submit([_deposit_record(a, 5_000, KEY_A), _deposit_record(b, 700, KEY_B, 0, False)])
    st = ro.rollup_status(rl.chain, rl.dep)
    assert st["state_root"] == rl.root and st["next_batch_number"] == 1
    assert st["queue_length"] == 0 and st["queued_deposits"] == 0
    assert ro.pending_withdrawal(rl.chain, rl.dep, b) == 700
    # batch 1: a forced withdrawal by A executed, then a withdrawal of A's
    ro.request_forced_withdrawal(rl.chain, rl.dep, account=1, amount=100, sender=a)
    rl.submit(
        [ForcedWithdrawalRecord(account=1, l1_address=_addr(a), amount=100, executed=True),
         WithdrawalRecord(account=1, l1_address=_addr(a), amount=900, fee=3)]
    )  # fmt: skip
    # batch 2: one slot, a trade
    rl.submit([TradeRecord(0, 0, 1, 2, 5, 6, 10, 20, 1, 1)])
    assert ro.pending_withdrawal(rl.chain, rl.dep, a) == 1_000
    before = rl.balance(a)
    ro.withdraw(rl.chain, rl.dep, sender=a)
    assert rl.balance(a) == before + 1_000
    ro.withdraw(rl.chain, rl.dep, sender=b)
    st = ro.rollup_status(rl.chain, rl.dep)
    assert st["next_batch_number"] == 3 and st["total_pending"] == 0
    assert st["token_balance"] == 5_000 - 1_000
    # the events the auditor reads
    events = ro.batch_events(rl.chain, rl.dep)
    assert [e["batchNumber"] for e in events] == [0, 1, 2]
    assert events[0]["oldRoot"] == GENESIS and events[-1]["newRoot"] == rl.root
    assert events[0]["nSlots"] == 2 and events[2]["nSlots"] == 1
    tx = rl.chain.w3.eth.get_transaction(r0["tx_hash"])
    call = rl.dep.contract(rl.chain).decode_function_input(tx["input"])[1]
    from eth_utils import keccak

    assert keccak(call["pubdata"]) == events[0]["pubdataHash"]


def test_withdrawal_claimed_twice(rl, users):
    a = users[0]
    rl.deposit(a, 1_000, KEY_A)
    rl.submit([_deposit_record(a, 1_000, KEY_A)])
    rl.submit([WithdrawalRecord(account=1, l1_address=_addr(a), amount=400, fee=0)])
    ro.withdraw(rl.chain, rl.dep, sender=a)
    with pytest.raises(ro.RollupRevertError) as info:
        ro.withdraw(rl.chain, rl.dep, sender=a)
    assert info.value.error == "NothingToWithdraw"
    with pytest.raises(ro.RollupRevertError, match="NothingToWithdraw"):
        ro.withdraw(rl.chain, rl.dep, sender=users[3])  # never credited


# --- rejected batches -----------------------------------------------------------------------------


@pytest.fixture
def pending(rl, users):
    """A rollup after batch 0, and valid arguments for batch 1 (not sent)."""
    a = users[0]
    rl.deposit(a, 2_000, KEY_A)
    rl.submit([_deposit_record(a, 2_000, KEY_A)])
    rl.deposit(a, 300, KEY_B)
    args = rl.batch([_deposit_record(a, 300, KEY_B, 2), NoopRecord()])
    assert ro.dry_run_batch(rl.chain, rl.dep, **args) is None
    return rl, args


WORD_NAMES = [f"{n}.{c}" for n in ("A", "B", "C", "Z", "T1", "T2", "T3", "Wxi", "Wxiw")
              for c in "xy"] + ["a", "b", "c", "s1", "s2", "zw"]  # fmt: skip


def test_rejects_each_tampered_proof_word(pending):
    rl, args = pending
    words = proof_words(args["proof"])
    for i in range(24):
        bad = list(words)
        bad[i] = (bad[i] + 1) % (P if i < 18 else R)
        assert ro.dry_run_batch(rl.chain, rl.dep, **{**args, "proof": bad}) == "InvalidProof", (
            WORD_NAMES[i]
        )
    rl.rejects({**args, "proof": [*words[:23], words[23] + R]}, "InvalidProof")


def test_rejects_changed_public_inputs(pending):
    rl, args = pending
    rl.rejects({**args, "new_root": args["new_root"] + 1}, "InvalidProof")
    rl.rejects({**args, "new_root": args["new_root"] + R}, "NotAFieldElement")  # x + r
    rl.rejects({**args, "timestamp": args["timestamp"] - 1}, "InvalidProof")
    data = args["pubdata"]
    # pubdata bytes: the deposit's account and padding, the noop's padding: the proof fails;
    # its amount, L1 address and key: the queued request no longer matches (checked first)
    for i in (1, 3, 70, 81, 95, 6, 13, 14, 33, 34, 65):
        bad = bytearray(data)
        bad[i] ^= 1
        error = "InvalidProof" if i in (1, 3, 70, 81, 95) else "RequestMismatch"
        assert ro.dry_run_batch(rl.chain, rl.dep, **{**args, "pubdata": bytes(bad)}) == error, i
    rl.rejects({**args, "pubdata": data + bytes(16)}, "NoVerifier")  # 3 slots: no key
    rl.rejects({**args, "pubdata": data[:-1]}, "BadPubdata")
    rl.rejects({**args, "pubdata": bytes([10]) + data[1:]}, "BadPubdata")  # unknown type
    rl.send(args)


def test_every_pubdata_byte_changes_the_public_inputs(rl):
    """Injectivity of the packing (layout v2 section 6), through the contract's own view: a
    flip of any byte of any record changes the words, so the proof no longer matches."""
    records = [_deposit_record("0x" + "ab" * 20, 77, KEY_A), WithdrawalRecord(1, 5, 6, 7),
               FundingRecord(9, (1, -1, 2, -2)), OracleRecord(1, 2, 3)]  # fmt: skip
    data = pd.encode_records(records)
    call = functools.partial(ro.public_inputs_onchain, rl.chain, rl.dep, old_root=1, new_root=2,
                             batch_number=3, timestamp=4)  # fmt: skip
    base = call(pubdata=data)
    assert base == pd.public_inputs(1, 2, 3, 4, data, 4)
    type_bytes = {0, 80, 128, 176}
    for i in range(len(data)):
        bad = bytearray(data)
        bad[i] ^= 0x80 if i not in type_bytes else 0x01
        try:
            assert call(pubdata=bytes(bad)) != base, i
        except ro.RollupRevertError as exc:  # a changed type byte may not walk at all
            assert i in type_bytes and exc.error == "BadPubdata"


def test_rejects_wrong_batch_number_and_old_root(pending):
    rl, args = pending
    for n in (0, 2, 5):  # repeated, skipped
        rl.rejects(rl.batch([_deposit_record(pd_user(args), 300, KEY_B, 2), NoopRecord()],
                            number=n), "BadBatchNumber")  # fmt: skip
    # proven from another old root (a fork's state): the contract uses its own root
    fork = rl.batch([_deposit_record(pd_user(args), 300, KEY_B, 2), NoopRecord()],
                    old_root=GENESIS)  # fmt: skip
    rl.rejects(fork, "InvalidProof")
    rl.send(args)
    rl.rejects(args, "BadBatchNumber")  # the same batch again


def pd_user(args) -> str:
    """The L1 address of the first record (a deposit) of ``args``' pubdata."""
    from eth_utils import to_checksum_address

    return to_checksum_address(args["pubdata"][14:34])


def test_rejects_non_operator_and_rotates(pending, users):
    rl, args = pending
    rl.rejects(args, "NotOperator", sender=users[2])
    with pytest.raises(ro.RollupRevertError, match="NotOperator"):
        ro.set_operator(rl.chain, rl.dep, new_operator=users[2], sender=users[2])
    ro.set_operator(rl.chain, rl.dep, new_operator=users[2])
    assert ro.rollup_status(rl.chain, rl.dep)["operator"] == users[2]
    rl.rejects(args, "NotOperator")  # the old operator
    rl.send(args, sender=users[2])


def test_rejects_timestamps(pending):
    rl, args = pending
    now = rl.now()
    future = rl.batch([_deposit_record(pd_user(args), 300, KEY_B, 2), NoopRecord()],
                      timestamp=now + 3600)  # fmt: skip
    rl.rejects(future, "BadTimestamp")
    stale = rl.batch([_deposit_record(pd_user(args), 300, KEY_B, 2), NoopRecord()],
                     timestamp=now - WINDOW - 5)  # fmt: skip
    rl.rejects(stale, "BadTimestamp")
    before_previous = rl.batch([_deposit_record(pd_user(args), 300, KEY_B, 2), NoopRecord()],
                               timestamp=now - 100)  # fmt: skip
    prev = ro.rollup_status(rl.chain, rl.dep)["last_timestamp"]
    assert now - 100 < prev
    rl.rejects(before_previous, "BadTimestamp")


def test_rejects_records_not_matching_the_queue(pending, users):
    rl, args = pending
    a = pd_user(args)
    cases = [
        [_deposit_record(a, 301, KEY_B, 2), NoopRecord()],  # amount
        [_deposit_record(a, 300, KEY_A, 2), NoopRecord()],  # key
        [_deposit_record(users[3], 300, KEY_B, 2), NoopRecord()],  # depositor
        [ForcedWithdrawalRecord(2, _addr(a), 300, True), NoopRecord()],  # kind
        [_deposit_record(a, 300, KEY_B, 2), _deposit_record(a, 300, KEY_B, 2)],  # queue empty
    ]
    errors = ["RequestMismatch"] * 4 + ["QueueEmpty"]
    for records, error in zip(cases, errors):
        rl.rejects(rl.batch(records), error)
    ro.request_forced_withdrawal(rl.chain, rl.dep, account=1, amount=50, sender=a)
    rl.send(args)
    bad_forced = [
        ForcedWithdrawalRecord(1, _addr(a), 51, True),
        ForcedWithdrawalRecord(2, _addr(a), 50, True),
        ForcedWithdrawalRecord(1, _addr(users[3]), 50, True),
    ]
    for record in bad_forced:
        rl.rejects(rl.batch([record]), "RequestMismatch")
    rl.submit([ForcedWithdrawalRecord(1, _addr(a), 50, False)])  # refused: pays nothing
    assert ro.pending_withdrawal(rl.chain, rl.dep, a) == 0


# --- freeze, exit, reclaim ------------------------------------------------------------------------


def _leaf(static, collateral, orders_root, sizes, funding) -> int:
    return poseidon([
        poseidon(list(static)), collateral % R, orders_root,
        poseidon([s % R for s in sizes]), poseidon([f % R for f in funding]),
    ])  # fmt: skip


class ExitState:
    """A layout-v2 state (sections 1-3) built natively: accounts in a 4-ary tree of depth DEPTH,
    the other root fields arbitrary."""

    ROOT_FIELDS = (111, 222, 7, 4, 1000)  # markets_hash, config_hash, dust, next, funding_time

    def __init__(self, accounts: dict[int, dict]) -> None:
        self.accounts = accounts
        self.tree = QuadMerkleTree(DEPTH, backend="python")
        for i, a in accounts.items():
            self.tree.set(i, _leaf(a["static"], a["collateral"], 0, a["sizes"], a["funding"]))
        self.root = poseidon([self.tree.root, *self.ROOT_FIELDS])

    def opening(self, i: int) -> ro.ExitOpening:
        a = self.accounts[i]
        return ro.ExitOpening(i, a["static"], a["collateral"], 0, a["sizes"], a["funding"],
                              self.ROOT_FIELDS, self.tree.proof(i).siblings)  # fmt: skip


def _account(l1: str, collateral: int, size0: int = 0, funding0: int = 0, key: int = 1) -> dict:
    return {"static": (key, key + 1, _addr(l1), 3), "collateral": collateral,
            "sizes": (size0, 0, 0, 0), "funding": (funding0, 0, 0, 0)}  # fmt: skip


def test_poseidon_contracts_match_python(chain, base):
    for n, address in zip((4, 5, 6), base.poseidon):
        c = chain.w3.eth.contract(address=address, abi=list(poseidon_contract(n).abi))
        for inputs in ([0] * n, list(range(1, n + 1)), [R - 1 - i for i in range(n)]):
            assert c.functions.poseidon(inputs).call({"gas": 1_000_000}) == poseidon(inputs)
    with pytest.raises(PoseidonContractError):
        poseidon_contract(7)
    assert deploy_poseidon(chain, 2)


def test_freeze_exit_and_reclaim(rl, users):
    a, b, c, d, e = users
    chain, dep = rl.chain, rl.dep
    price, index = 50 << 32, 1 << 32
    st = ExitState({
        0: _account(a, 10),  # the insurance account: 10
        1: _account(b, -45_000, 1_000, 0, 2),  # long: 50,000 - 45,000 - funding 1,000 = 4,000
        2: _account(c, 52_000, -1_000, 0, 4),  # short: 52,000 - 50,000 + 1,000 = 3,000
        3: _account(d, -52_000, 1_000, 0, 6),  # long, bankrupt: -2,000 - 1,000 -> pays 0
    })  # fmt: skip
    # the L2 holds 4,010 (= the sum of the values); e's deposit stays queued
    rl.deposit(a, 4_010, KEY_A)
    rl.submit([_deposit_record(a, 4_010, KEY_A, 0), OracleRecord(0, rl.now(), price)])
    rl.submit([FundingRecord(rl.now(), (index, 0, 0, 0))], st.root)
    ie = rl.deposit(e, 500, KEY_B)
    rf = ro.request_forced_withdrawal(chain, dep, account=1, amount=10, sender=b)["request_index"]
    contract = dep.contract(chain).functions
    assert contract.prices(0).call() == price and contract.fundingIndices(0).call() == index

    # before the freeze: no exit, no reclaim; freeze only after the deadline, on a forced request
    with pytest.raises(ro.RollupRevertError, match="NotFrozen"):
        ro.exit(chain, dep, opening=st.opening(1))
    with pytest.raises(ro.RollupRevertError, match="NotFrozen"):
        ro.reclaim_deposit(chain, dep, request_index=ie, pubkey_packed=KEY_B, amount=500, sender=e)
    with pytest.raises(ro.RollupRevertError, match="NotExpired"):
        ro.freeze(chain, dep, request_index=rf)
    with pytest.raises(ro.RollupRevertError, match="BadRequest"):
        ro.freeze(chain, dep, request_index=ie)  # a deposit, not a forced withdrawal
    chain.w3.provider.ethereum_tester.time_travel(rl.now() + DEADLINE + 1)
    chain.w3.provider.ethereum_tester.mine_blocks(1)
    with pytest.raises(ro.RollupRevertError, match="BadRequest"):
        ro.freeze(chain, dep, request_index=rf + 1)  # not queued
    ro.freeze(chain, dep, request_index=rf, sender=e)
    assert ro.rollup_status(chain, dep)["frozen"] is True
    with pytest.raises(ro.RollupRevertError, match="IsFrozen"):
        ro.freeze(chain, dep, request_index=rf)
    with pytest.raises(ro.RollupRevertError, match="IsFrozen"):
        rl.deposit(a, 1, KEY_A)
    late = rl.batch([NoopRecord()], rl.root + 1, timestamp=rl.now())
    rl.rejects(late, "IsFrozen")

    # exits: bad openings
    good = st.opening(1)
    bad = [
        ro.ExitOpening(**{**good.__dict__, "collateral": -44_000}),
        ro.ExitOpening(**{**good.__dict__, "account": 2}),
        ro.ExitOpening(**{**good.__dict__, "siblings": good.siblings[:1]}),
        ro.ExitOpening(**{**good.__dict__, "root_fields": (111, 222, 7, 4, 1001)}),
        ro.ExitOpening(**{**good.__dict__, "collateral": -45_000 + R}),  # not a canonical value
        ro.ExitOpening(**{**good.__dict__,
                          "siblings": ((good.siblings[0][0] + R, *good.siblings[0][1:]),
                                       good.siblings[1])}),
    ]  # fmt: skip
    for opening in bad:
        with pytest.raises(ro.RollupRevertError, match="BadExitProof"):
            ro.exit(chain, dep, opening=opening)
    assert ro.exit_value(chain, dep, st.opening(1)) == (4_000, b)
    assert ro.exit_value(chain, dep, st.opening(3))[0] == 0

    # first come, first served: e's queued deposit (500) is not part of the pool
    paid = {}
    for i in (1, 0, 3, 2):
        out = ro.exit(chain, dep, opening=st.opening(i), sender=e)
        paid[i] = (out["value"], out["paid"])
    assert paid == {1: (4_000, 4_000), 0: (10, 10), 3: (0, 0), 2: (3_000, 0)}
    assert rl.balance(b) == 4_000 and rl.balance(a) >= 10
    with pytest.raises(ro.RollupRevertError, match="AlreadyExited"):
        ro.exit(chain, dep, opening=st.opening(1))
    # the queued deposit is reclaimed by its depositor, once
    with pytest.raises(ro.RollupRevertError, match="RequestMismatch"):
        ro.reclaim_deposit(chain, dep, request_index=ie, pubkey_packed=KEY_B, amount=500, sender=d)
    before = rl.balance(e)
    ro.reclaim_deposit(chain, dep, request_index=ie, pubkey_packed=KEY_B, amount=500, sender=e)
    assert rl.balance(e) == before + 500
    with pytest.raises(ro.RollupRevertError, match="RequestMismatch"):
        ro.reclaim_deposit(chain, dep, request_index=ie, pubkey_packed=KEY_B, amount=500, sender=e)
    assert ro.rollup_status(chain, dep)["token_balance"] == 0


def test_pending_withdrawals_survive_the_freeze(rl, users):
    a = users[0]
    rl.deposit(a, 1_000, KEY_A)
    rl.submit([_deposit_record(a, 1_000, KEY_A),
               WithdrawalRecord(account=1, l1_address=_addr(a), amount=600, fee=0)])  # fmt: skip
    rf = ro.request_forced_withdrawal(rl.chain, rl.dep, account=1, amount=1, sender=a)
    rl.chain.w3.provider.ethereum_tester.time_travel(rl.now() + DEADLINE + 1)
    rl.chain.w3.provider.ethereum_tester.mine_blocks(1)
    ro.freeze(rl.chain, rl.dep, request_index=rf["request_index"])
    before = rl.balance(a)
    ro.withdraw(rl.chain, rl.dep, sender=a)
    assert rl.balance(a) == before + 600


# --- the public inputs against the shared golden vectors ------------------------------------------


def test_public_inputs_match_golden_vectors(rl):
    """tests/vectors/rollup/public_inputs.json (written by tests/test_pubdata.py from
    rollup.pubdata): the contract's rebuild equals it for every case."""
    if not VECTORS.is_file():
        pytest.skip("tests/vectors/rollup/public_inputs.json not written yet")
    cases = json.loads(VECTORS.read_text())["cases"]
    assert cases
    for case in cases:
        got = ro.public_inputs_onchain(
            rl.chain, rl.dep, old_root=int(case["old_root"]), new_root=int(case["new_root"]),
            batch_number=int(case["batch_number"]), timestamp=int(case["timestamp"]),
            pubdata=bytes.fromhex(case["pubdata"].removeprefix("0x")),
        )  # fmt: skip
        assert got == [int(v) for v in case["public_inputs"]], case["name"]
        assert len(got) == 4 + 3 * int(case["n_slots"])


def test_deployment_json_round_trip(dep):
    again = ro.RollupDeployment.from_json(json.loads(json.dumps(dep.to_json())))
    assert again.to_json() == dep.to_json()
    with pytest.raises(ro.RollupError):
        ro.RollupDeployment.from_json({"rollup": "0x0"})


def test_deploy_rejects_bad_keys(chain, base):
    with pytest.raises(ro.RollupError, match="public inputs"):
        ro.deploy_rollup(chain, genesis_root=1, vks={2: standin_key(1)[1].vk})
    with pytest.raises(ro.RollupError):
        ro.deploy_rollup(chain, genesis_root=1, vks={})


def test_exit_pays_the_value_of_a_real_state(chain, base, users):
    """The escape hatch against ``rollup.state.State`` (layout v2, an independent
    implementation of the leaf and the root): the golden scenario of tests/test_pubdata.py
    (trades, funding, oracle ticks, liquidation, deleverage), its final root accepted with the
    scenario's oracle and funding records; each account's exit (``exit_opening``) pays
    ``rules.total_value`` at the state's prices and indices, floored at 0."""
    from rollup import rules
    from rollup.state import State
    from tests import test_pubdata as tp

    genesis = tp._genesis()
    state = State(genesis)
    for k, (now, tx) in enumerate(tp._scenario_txs([tp.eddsa.prv2pub(k) for k in tp.KEYS])):
        state.set_time(now)
        state.apply(tx)
        if k == tp.BATCH_0 - 1:
            state.end_batch()
    state.end_batch()
    dep = ro.deploy_rollup(
        chain, genesis_root=State(genesis).root, vks={}, forced_deadline=DEADLINE,
        account_depth=genesis.config.account_depth, genesis_prices=genesis.prices, reuse=base,
    )  # fmt: skip
    rl = Rollup(chain, dep)
    rl.root = State(genesis).root
    a = users[0]
    rl.deposit(a, 1_000_000, KEY_A)
    funding = FundingRecord(rl.now(), state.funding_indices)
    n_markets = genesis.config.n_markets
    assert n_markets == 2 and len(state.funding_indices) == 4
    oracle = [OracleRecord(m, rl.now(), state.prices[m]) for m in range(n_markets)]
    rl.submit([_deposit_record(a, 1_000_000, KEY_A, 4), funding])
    rl.submit(oracle, state.root)
    assert ro.rollup_status(chain, dep)["state_root"] == state.root
    rf = ro.request_forced_withdrawal(chain, dep, account=1, amount=1, sender=a)
    chain.w3.provider.ethereum_tester.time_travel(rl.now() + DEADLINE + 1)
    chain.w3.provider.ethereum_tester.mine_blocks(1)
    ro.freeze(chain, dep, request_index=rf["request_index"])
    assert [state.account(i).positions[0] for i in range(4)] == [0, 0, -300, 300]
    for i in range(state.next_account):
        acc = state.account(i)
        tv = rules.total_value(acc.collateral, acc.positions, state.prices, acc.funding,
                               state.funding_indices)  # fmt: skip
        opening = ro.exit_opening(state, i)
        out = ro.exit(chain, dep, opening=opening)
        assert out["value"] == max(tv, 0) >> 32 == out["paid"], i
        assert int(out["to"], 16) == acc.l1_address


def test_request_bounds_and_market_index(rl, users):
    a = users[0]
    rl.fund(a, 10)
    for amount in (0, 1 << 63):
        with pytest.raises(ro.RollupRevertError, match="BadAmount"):
            ro.deposit(rl.chain, rl.dep, pubkey_packed=KEY_A, amount=amount, sender=a)
        with pytest.raises(ro.RollupRevertError, match="BadAmount"):
            ro.request_forced_withdrawal(rl.chain, rl.dep, account=1, amount=amount, sender=a)
    b = users[4]
    rl.fund(b, 10)
    with pytest.raises(ro.RollupRevertError, match="TransferFailed"):  # no allowance
        ro.deposit(rl.chain, rl.dep, pubkey_packed=KEY_A, amount=5, sender=b, approve=False)
    with pytest.raises(ro.RollupError):
        ro.deposit(rl.chain, rl.dep, pubkey_packed=KEY_A[:31], amount=5, sender=a)
    rl.rejects(rl.batch([OracleRecord(4, rl.now(), 1)]), "BadPubdata")  # no market 4
    assert ro.rollup_status(rl.chain, rl.dep)["queue_length"] == 0


# --- deposit keys -------------------------------------------------------------------------------


def _torsion_generator() -> bj.Point:
    """A point of order 8: l * Q for the first on-curve Q (by y = 2, 3, ...) whose torsion part
    has order 8 (Baby Jubjub's torsion group is cyclic of order 8)."""
    for y in range(2, 1000):
        try:
            q = bj.unpack_point(y.to_bytes(32, "little"))
        except bj.BabyJubJubError:
            continue
        t = bj.mul(q, bj.SUBORDER)
        if bj.mul(t, 4) != bj.IDENTITY:
            return t
    raise AssertionError("no point of order 8 found")


def _small_order_points() -> list[bj.Point]:
    t = _torsion_generator()
    pts, pt = [], bj.IDENTITY
    for _ in range(8):
        pts.append(pt)
        pt = bj.add(pt, t)
    assert pt == bj.IDENTITY and len(set(pts)) == 8
    assert all(bj.on_curve(p) and bj.mul(p, 8) == bj.IDENTITY for p in pts)
    return pts


SMALL_ORDER = _small_order_points()


def _packed_y(y: int, sign: bool = False) -> bytes:
    """The 32 bytes of y little-endian with bit 255 = sign (no check that y < r)."""
    return (y | (int(sign) << 255)).to_bytes(32, "little")


def _python_accepts(key: bytes) -> bool:
    try:
        return valid_deposit_key(bj.unpack_point(key))
    except bj.BabyJubJubError:
        return False


def _non_residue_y() -> int:
    """The smallest y for which no x exists (x^2 = (1 - y^2) / (a - d y^2) is not a square)."""
    for y in range(2, 1000):
        x2 = (1 - y * y) * pow(bj.A - bj.D * y * y, -1, R) % R
        if pow(x2, (R - 1) // 2, R) == R - 1:
            return y
    raise AssertionError


def test_small_order_constants(chain, base):
    """The contract's 8 refused encodings are exactly pack_point of the 8 small-order points."""
    packed = sorted(bj.pack_point(p) for p in SMALL_ORDER)
    assert ro.small_order_keys(chain, base) == packed
    assert not any(_python_accepts(k) for k in packed)


def test_deposit_keys_accepted(rl, users):
    """Wallet keys (prv2pub) with either sign of x, and a key outside the prime-order subgroup
    (a subgroup point plus a point of order 8): the deposit is queued and the tokens move."""
    rng = random.Random(0xF3)
    keys = [eddsa.prv2pub(rng.randbytes(32)) for _ in range(6)]
    assert {k[0] > (R - 1) // 2 for k in keys} == {False, True}  # both signs of x
    outside = bj.add(keys[0], SMALL_ORDER[1])
    assert not bj.in_subgroup(outside) and valid_deposit_key(outside)
    a = users[0]
    for i, pt in enumerate([*keys, outside]):
        key = bj.pack_point(pt)
        assert bj.unpack_point(key) == pt
        assert ro.deposit_key_accepted(rl.chain, rl.dep, key)
        before = rl.balance(a)
        assert rl.deposit(a, 10 + i, key) == i
        assert rl.balance(a) == before  # minted 10 + i, then pulled
    st_ = ro.rollup_status(rl.chain, rl.dep)
    assert st_["queue_length"] == 7 and st_["token_balance"] == sum(10 + i for i in range(7))
    # the non-subgroup key's deposit is consumed by a batch like any other
    rl.submit([_deposit_record(a, 10 + i, bj.pack_point(pt), 1 + i)
               for i, pt in enumerate(keys[:2])])  # fmt: skip


def _bad_keys() -> dict[str, bytes]:
    bad = {f"small order {k}": bj.pack_point(p) for k, p in enumerate(SMALL_ORDER)}
    bad["(0, 1) with the sign bit"] = _packed_y(1, True)
    bad["(0, -1) with the sign bit"] = _packed_y(R - 1, True)
    # y >= r: r, r + small, the largest 255-bit value
    bad["y = r"] = _packed_y(R)
    bad["y = r + 5"] = _packed_y(R + 5)
    bad["y = r + 5, sign"] = _packed_y(R + 5, True)
    bad["y = 2^255 - 1"] = _packed_y((1 << 255) - 1, True)
    n = _non_residue_y()
    bad["non-residue y"] = _packed_y(n)
    bad["non-residue y, sign"] = _packed_y(n, True)
    # the encoding of a valid key's y + r (circomlibjs would reduce it mod r)
    pt = eddsa.prv2pub(b"\x07" * 32)
    if pt[1] + R < 1 << 255:
        bad["valid y + r"] = _packed_y(pt[1] + R, pt[0] > (R - 1) // 2)
    return bad


def test_deposit_keys_refused(rl, users):
    """Every small-order encoding, x = 0 with the sign bit, y >= r, a y with no x: the deposit
    reverts InvalidPublicKey, nothing is queued and no token moves."""
    a = users[0]
    rl.fund(a, 1_000)
    bad = _bad_keys()
    assert len(bad) >= 16
    for name, key in bad.items():
        assert not _python_accepts(key), name
        assert not ro.deposit_key_accepted(rl.chain, rl.dep, key), name
        before = ro.rollup_status(rl.chain, rl.dep)
        user_before = rl.balance(a)
        with pytest.raises(ro.RollupRevertError) as info:
            ro.deposit(rl.chain, rl.dep, pubkey_packed=key, amount=100, sender=a)
        assert info.value.error == "InvalidPublicKey", name
        assert ro.rollup_status(rl.chain, rl.dep) == before, name
        assert rl.balance(a) == user_before, name
    # and the same user's valid deposit goes through afterwards
    assert rl.deposit(a, 100, KEY_A) == 0


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(raw=st.binary(min_size=32, max_size=32), low=st.booleans())
def test_deposit_key_rule_matches_python(chain, base, raw, low):
    """Random encodings (half of them with a y below r, where about half unpack): the contract
    accepts exactly what unpack_point + valid_deposit_key accept."""
    key = bytearray(raw)
    if low:
        key[31] &= 0x8F  # y < 2^252 < r
    assert ro.deposit_key_accepted(chain, base, bytes(key)) == _python_accepts(bytes(key))
