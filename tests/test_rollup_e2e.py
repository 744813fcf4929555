"""End to end with the REAL batch circuit (issue F's acceptance, "valid batches are accepted in
order", on the embedded EVM): L1 deposits -> the sequencer -> proofs -> the rollup contract.

A shallow deployment (4-ary account depth 2, order depth 1, 2 markets; batches of 2 slots):

1. two users deposit on the contract (``Rollup.deposit``, wallet keys); the sequencer
   (``rollup.sequencer.Sequencer`` on SQLite) takes the two queued requests as ``L1Request``s
   at their queue indices, which fills batch 0 (two new accounts);
2. a resting sell and a crossing buy (a trade with the sequencer's fees) and a withdrawal by
   the buyer fill batch 1; a second deposit of the seller (to its existing account) and NoOp
   padding make batch 2;
3. each batch is proven with the batch circuit (``circuits.state_transition``, witness from
   ``rollup.proving.batch_witness(seq.state_before(n), seq.batch(n), shape)``; PLONK setup
   on a known-tau development SRS, once per shape, as tests/test_state_transition.py) and
   submitted with ``verifier_contract.rollup.submit_batch``: the contract rebuilds the same
   public inputs from its stored root, its queue and the calldata, and accepts;
4. the withdrawal is claimed on L1 and the token balances checked; a batch with one pubdata
   byte changed (a byte of the trade) is refused (``InvalidProof``), as is a repeated one.
"""

from __future__ import annotations

import functools
import random
from pathlib import Path

import pytest

from circuits.gadgets import babyjubjub as bj
from circuits.gadgets import eddsa
from circuits.state_transition import BatchShape, build_batch_circuit
from prover.kzg import KnownTauPowers
from prover.plonk.constraint_system import domain_power
from prover.plonk.prover import prove
from prover.plonk.setup import setup
from rollup.batch import L1Request
from rollup.orderbook import PlaceOrder
from rollup.proving import batch_witness
from rollup.pubdata import public_inputs
from rollup.sequencer import Sequencer, SequencerConfig
from rollup.types import (
    PRICE_SCALE,
    Deposit,
    ExchangeConfig,
    Genesis,
    MarketParams,
    Order,
    TradeRecord,
    WithdrawalRecord,
    sign_order,
    sign_withdrawal,
)
from verifier_contract import rollup as ro
from verifier_contract.chain import Chain

pytestmark = pytest.mark.node

P = PRICE_SCALE
X = 5  # exchange id
AD, OD, N_MARKETS, SLOTS = 2, 1, 2, 2
MARKETS = (
    MarketParams("BTC", 8, 50_000, 100_000, 10_000, 10**9, 10**6, 10**4 * P),
    MarketParams("ETH", 9, 50_000, 100_000, 10_000, 10**9, 10**6, 10**4 * P),
)
KEYS = [bytes([0xE1 + i]) * 32 for i in range(2)]
ALICE, BOB = 1, 2  # accounts in deposit order (0 is the insurance fund)


@functools.cache
def proving_key(shape: BatchShape):
    """The batch circuit of ``shape`` and its proving key (known-tau SRS), once per session."""
    circuit = build_batch_circuit(shape).circuit
    return circuit, setup(circuit.cs, KnownTauPowers(domain_power(circuit.cs), 0xE2E))


class Flow:
    """The chain, the deployment and the sequencer of one end-to-end run: batches of the sizes
    ``slots`` (one circuit, key and verifier each)."""

    def __init__(self, chain: Chain, db: Path, slots: tuple[int, ...] = (SLOTS,)) -> None:
        self.chain = chain
        self.users = chain.w3.eth.accounts[1:3]
        t0 = self.now()
        cfg = ExchangeConfig(
            X, MARKETS, (eddsa.prv2pub(b"\x40" * 32),), 1, 60, account_depth=AD, order_depth=OD
        )
        self.genesis = Genesis(cfg, (100 * P, 10 * P), t0, insurance_l1_address=0xFEE)
        self.shapes = {n: BatchShape(n, AD, OD, N_MARKETS) for n in slots}
        self.keys = {n: proving_key(shape)[1] for n, shape in self.shapes.items()}
        self.seq = Sequencer.create(db, self.genesis, SequencerConfig(shapes=tuple(slots)))
        self.dep = ro.deploy_rollup(
            chain, genesis_root=self.seq.root, vks={n: pk.vk for n, pk in self.keys.items()},
            account_depth=AD, genesis_prices=self.genesis.prices,
        )  # fmt: skip

    def now(self) -> int:
        return self.chain.w3.eth.get_block("latest")["timestamp"]

    def key(self, k: int) -> bytes:
        return bj.pack_point(eddsa.prv2pub(KEYS[k]))

    def deposit(self, k: int, amount: int) -> dict:
        """Deposit on L1, then hand the queued request to the sequencer; returns the deposit
        transaction's receipt (``verifier_contract.rollup.deposit``)."""
        user = self.users[k]
        ro.mint(self.chain, self.dep, to=user, amount=amount)
        out = ro.deposit(
            self.chain, self.dep, pubkey_packed=self.key(k), amount=amount, sender=user
        )
        request = L1Request(out["request_index"], Deposit(self.key(k), int(user, 16), amount))
        assert self.seq.submit(request, now=self.now()).status == "applied"
        return out

    def submit(self, request, status: str = "applied") -> None:
        assert self.seq.submit(request, now=self.now()).status == status

    def proven(self, number: int) -> dict:
        """submit_batch's arguments for batch ``number``, proven with the batch circuit."""
        batch = self.seq.batch(number)
        n = len(batch.records)
        witness, public = batch_witness(self.seq.state_before(number), batch, self.shapes[n])
        proof, signals = prove(self.keys[n], witness, rng=random.Random(number))
        want = public_inputs(
            batch.pre_root, batch.post_root, number, batch.timestamp, batch.pubdata, n
        )
        assert signals == public == want
        onchain = ro.public_inputs_onchain(
            self.chain, self.dep, old_root=batch.pre_root, new_root=batch.post_root,
            batch_number=number, timestamp=batch.timestamp, pubdata=batch.pubdata,
        )  # fmt: skip
        assert onchain == public
        return dict(batch_number=number, new_root=batch.post_root, timestamp=batch.timestamp,
                    pubdata=batch.pubdata, proof=proof)  # fmt: skip

    def accept(self, args: dict) -> dict:
        out = ro.submit_batch(self.chain, self.dep, **args)
        status = ro.rollup_status(self.chain, self.dep)
        batch = self.seq.batch(args["batch_number"])
        assert status["state_root"] == args["new_root"] == batch.post_root
        assert status["next_batch_number"] == args["batch_number"] + 1
        return out


@pytest.fixture(scope="module")
def chain():
    return Chain.embedded()


def _order(k: int, account: int, side: int, size: int, limit: int, oid: int, expiry: int):
    order = Order(account, 0, side, size, limit * P, 1_000, expiry, oid)
    return PlaceOrder(sign_order(KEYS[k], order, X))


def test_deposit_trade_withdraw_with_the_real_circuit(chain, tmp_path):
    f = Flow(chain, tmp_path / "seq.db")
    alice, bob = f.users
    expiry = f.now() + 10**6

    # batch 0: two deposits from the L1 queue (new accounts 1 and 2)
    f.deposit(0, 50_000)
    f.deposit(1, 40_000)
    assert f.seq.batch_number == 1
    assert ro.rollup_status(chain, f.dep)["queued_deposits"] == 90_000
    f.accept(f.proven(0))
    status = ro.rollup_status(chain, f.dep)
    assert status["queue_length"] == 0 and status["queued_deposits"] == 0
    assert status["token_balance"] == 90_000

    # batch 1: a trade (Bob's resting sell, Alice's crossing buy) and Alice's withdrawal
    f.submit(_order(1, BOB, 1, 7, 99, 3, expiry), "resting")
    f.submit(_order(0, ALICE, 0, 7, 101, 4, expiry), "filled")
    f.submit(sign_withdrawal(KEYS[0], ALICE, 1_234, 5, 0, X))
    assert f.seq.batch_number == 2
    batch1 = f.seq.batch(1)
    assert [type(r) for r in batch1.records] == [TradeRecord, WithdrawalRecord]
    args = f.proven(1)

    # a tampered pubdata byte (in the trade record: its price) is refused, nothing changes
    root = ro.rollup_status(chain, f.dep)["state_root"]
    bad = bytearray(args["pubdata"])
    bad[20] ^= 0x01  # inside the trade's fields; the contract walks the records the same way
    with pytest.raises(ro.RollupRevertError) as info:
        ro.submit_batch(chain, f.dep, **{**args, "pubdata": bytes(bad)})
    assert info.value.error == "InvalidProof"
    assert ro.rollup_status(chain, f.dep)["state_root"] == root
    bad[20] ^= 0x01
    bad[55] ^= 0x80  # the withdrawal's amount (bytes 53..60): a larger credit, the same proof
    assert ro.dry_run_batch(chain, f.dep, **{**args, "pubdata": bytes(bad)}) == "InvalidProof"
    f.accept(args)
    with pytest.raises(ro.RollupRevertError, match="BadBatchNumber"):
        ro.submit_batch(chain, f.dep, **args)

    # the withdrawal is claimed on L1
    assert ro.pending_withdrawal(chain, f.dep, alice) == 1_234
    token = f.dep.token_contract(chain).functions
    before = token.balanceOf(alice).call()
    ro.withdraw(chain, f.dep, sender=alice)
    assert token.balanceOf(alice).call() == before + 1_234
    with pytest.raises(ro.RollupRevertError, match="NothingToWithdraw"):
        ro.withdraw(chain, f.dep, sender=alice)

    # batch 2: Bob deposits again (his existing account), padded with a NoOp by the cut
    f.deposit(1, 3_000)
    assert f.seq.cut(now=f.now()) is not None
    batch2 = f.seq.batch(2)
    assert batch2.records[0].account == BOB and batch2.records[0].executed
    assert len(batch2.records) == SLOTS
    f.accept(f.proven(2))
    status = ro.rollup_status(chain, f.dep)
    assert status["token_balance"] == 90_000 - 1_234 + 3_000
    assert status["queue_length"] == 0 and status["total_pending"] == 0
    # the contract's root is the sequencer's, and its account balances add up
    assert status["state_root"] == f.seq.root
    state = f.seq.state
    assert state.account(BOB).l1_address == int(bob, 16)
    events = ro.batch_events(chain, f.dep)
    assert [e["batchNumber"] for e in events] == [0, 1, 2]
    f.seq.close()
