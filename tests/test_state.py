"""rollup.state with real EdDSA-Poseidon signatures: every transaction type's effect, and every
rejection reason: a typed error with a stable code, and the state and its root unchanged.
Layout v2: 4-ary trees, the sub-hashed account leaf, the insurance account 0 and
``end_batch``, packed signed messages, ``dump``/``load``.

Keys and a funded starting state are built once per module (signing costs milliseconds);
each test works on a ``snapshot()`` of it. Account 0 is the insurance account (genesis, the
development key ``DEMO_INSURANCE_KEY`` = KEYS[0]); it is an ordinary account otherwise, so the
tests fund it and trade with it like accounts 1..3."""

from __future__ import annotations

from dataclasses import replace

import pytest

from circuits.gadgets import babyjubjub as bj
from circuits.gadgets import eddsa
from circuits.gadgets.merkle import quad_empty_hashes, verify_quad_proof
from circuits.gadgets.poseidon import FIELD_MODULUS, poseidon
from rollup import errors
from rollup.state import EdDSAVerifier, State
from rollup.types import (
    DEMO_INSURANCE_KEY,
    PRICE_SCALE,
    Deleverage,
    Deposit,
    DepositRecord,
    ExchangeConfig,
    ForcedWithdrawal,
    FundingTick,
    Genesis,
    Liquidate,
    MarketParams,
    OraclePriceTick,
    Order,
    Side,
    Signature,
    SignedOrder,
    Trade,
    Transfer,
    Withdrawal,
    cancel_message,
    oracle_message,
    order_message,
    sign_oracle_price,
    sign_order,
    sign_transfer,
    sign_withdrawal,
)

P = PRICE_SCALE
X = 3  # exchange id
T0 = 1_700_000_000
DEPOSIT = 10_000
KEYS = [DEMO_INSURANCE_KEY] + [bytes([i + 1]) * 32 for i in range(1, 5)]
ORACLE_KEYS = [bytes([0x40 + i]) * 32 for i in range(3)]
ADDR = [0x1000 + i for i in range(5)]
MARKETS = (
    MarketParams("BTC", 8, 50_000, 100_000, 10_000, 10**9, 10**6, 10**4 * P),
    MarketParams("ETH", 9, 50_000, 100_000, 10_000, 10**9, 10**6, 10**4 * P),
)


@pytest.fixture(scope="module")
def pubs():
    return [eddsa.prv2pub(k) for k in KEYS]


@pytest.fixture(scope="module")
def genesis():
    config = ExchangeConfig(
        exchange_id=X,
        markets=MARKETS,
        oracle_keys=tuple(eddsa.prv2pub(k) for k in ORACLE_KEYS),
        oracle_quorum=2,
        oracle_validity=60,
        account_depth=4,
        order_depth=2,
    )
    return Genesis(config, (100 * P, 10 * P), T0, insurance_l1_address=ADDR[0])


@pytest.fixture(scope="module")
def base(genesis, pubs):
    """Accounts 0..3 with DEPOSIT quanta each (account 0, the insurance account, exists from
    the genesis; account 4's key has no account)."""
    s = State(genesis)
    for i in range(4):
        s.apply(Deposit(bj.pack_point(pubs[i]), ADDR[i], DEPOSIT))
    s.set_time(T0 + 10)
    s.flush()
    return s


@pytest.fixture
def state(base):
    return base.snapshot()


def order(i, side, size, limit, *, market=0, max_fee=100, expiry=T0 + 1000, oid=1, key=None):
    o = Order(i, market, side, size, limit * P if limit < 10**6 else limit, max_fee, expiry, oid)
    return sign_order(KEYS[i] if key is None else key, o, X)


def trade(taker, maker, size, price, taker_fee=0, maker_fee=0):
    return Trade(taker, maker, size, price * P, taker_fee, maker_fee)


def fingerprint(s: State):
    return (
        tuple(s.accounts()),
        {a: tuple(s.order_slots(a)) for a, _ in s.accounts()},
        s.markets,
        s.insurance_dust,
        s.pending_insurance,
        s.next_account,
        s.funding_time,
    )


def rejected(s: State, tx, exc, now=None):
    root, fp = s.root, fingerprint(s)
    with pytest.raises(exc) as info:
        s.apply(tx, now)
    assert info.value.code == exc.code
    assert isinstance(info.value, errors.RollupError) and isinstance(info.value, ValueError)
    assert str(info.value)
    assert s.root == root
    assert fingerprint(s) == fp
    return info.value


def conserved(s: State, deposits: int, withdrawals: int) -> bool:
    """2^32 * sum(collateral, account 0 included) + insurance_dust + pending - unsettled
    funding = 2^32 * (deposits - withdrawals), exactly."""
    total = PRICE_SCALE * s.total_collateral() + s.insurance_dust + s.pending_insurance
    total -= s.unsettled_funding()
    alt = PRICE_SCALE * s.total_collateral() + s.insurance_dust + s.pending_insurance
    alt += sum(sum(f * p for f, p in zip(a.funding, a.positions)) for _, a in s.accounts())
    assert alt == total  # positions sum to zero per market, so sum g * s = 0
    return total == PRICE_SCALE * (deposits - withdrawals)


def oracle_tick(market, price, ts, signers=(0, 1), prices=None, stamps=None):
    prices = prices or [price] * len(signers)
    stamps = stamps or [ts] * len(signers)
    sigs = tuple(
        sign_oracle_price(ORACLE_KEYS[o], o, market, p * P, t, X)
        for o, p, t in zip(signers, prices, stamps)
    )
    return OraclePriceTick(market, ts, price * P, sigs)


# --- deposits ------------------------------------------------------------------------------


def test_deposits_create_accounts_in_the_next_free_leaf(base, pubs):
    assert base.next_account == 4 and len(base) == 4
    for i in range(4):
        acc = base.account(i)
        assert acc.pubkey == pubs[i] and acc.l1_address == ADDR[i]
        assert acc.collateral == DEPOSIT and acc.nonce == 0
        assert base.account_index(pubs[i]) == i
    assert base.account_index(pubs[4]) is None


def test_deposit_to_a_known_key_credits_its_account(state, pubs):
    r = state.apply(Deposit(bj.pack_point(pubs[2]), 0xBEEF, 5))
    assert r.executed and r.record.account == 2 and r.accounts == (2,)
    assert state.account(2).collateral == DEPOSIT + 5
    assert state.account(2).l1_address == ADDR[2]  # the withdrawal address stays
    assert state.next_account == 4


@pytest.mark.parametrize(
    "pubkey, why",
    [
        (bj.pack_point(bj.mul(bj.GENERATOR, bj.SUBORDER)), "small order"),  # order 8
        ((2).to_bytes(32, "little"), "unpack"),  # y = 2 is no point's y
    ],
)
def test_deposit_with_a_bad_key_is_refused_not_rejected(state, pubkey, why):
    root = state.root
    r = state.apply(Deposit(pubkey, 0xBEEF, 5))
    assert not r.executed and why in r.reason
    assert r.record.executed is False and r.record.account == 0
    assert state.root == root and state.next_account == 4


def test_deposit_key_outside_the_subgroup_opens_an_account(state):
    """valid_deposit_key: only small-order keys are refused (the contract rejects them at
    deposit time); a key with a torsion part is accepted, and a signer that hashes that key
    signs for it (cofactored verification)."""
    prv = b"\x07" * 32
    key = bj.add(eddsa.prv2pub(prv), (0, bj.P - 1))  # the wallet's key plus a point of order 2
    assert not bj.in_subgroup(key)
    r = state.apply(Deposit(bj.pack_point(key), 0xBEEF, 5))
    assert r.executed and state.account(r.record.account).pubkey == key
    s = eddsa.private_scalar(prv)
    msg, nonce = 99, 12345
    r8 = bj.mul_base8(nonce)
    sig = eddsa.Signature(r8=r8, s=(nonce + eddsa.challenge(r8, key, msg) * s) % bj.SUBORDER)
    assert eddsa.verify_poseidon(msg, sig, key, check_subgroup=False)
    assert not eddsa.verify_poseidon(msg, eddsa.sign_poseidon(prv, msg), key, check_subgroup=False)


def test_deposit_refused_when_the_tree_is_full(genesis, pubs):
    cfg = replace(genesis.config, account_depth=1)  # 4 leaves: account 0 and three more
    s = State(replace(genesis, config=cfg))
    for i in range(4):
        assert s.apply(Deposit(bj.pack_point(pubs[i]), 1, 1)).executed
    r = s.apply(Deposit(bj.pack_point(pubs[4]), 1, 1))
    assert not r.executed and "full" in r.reason


def test_deposit_refused_when_the_balance_would_overflow(state, pubs):
    r = state.apply(Deposit(bj.pack_point(pubs[0]), 1, (1 << 63) - 1))
    assert not r.executed and "2^63" in r.reason


@pytest.mark.parametrize("amount", [0, 1 << 63, -1])
def test_deposit_amount_out_of_bounds(state, pubs, amount):
    rejected(state, Deposit(bj.pack_point(pubs[0]), 1, amount), errors.OutOfBoundsError)


def test_malformed_transactions(state, pubs):
    rejected(state, "deposit", errors.MalformedTransactionError)
    rejected(state, Deposit(b"\x00" * 31, 1, 1), errors.MalformedTransactionError)
    rejected(state, Deposit(bj.pack_point(pubs[0]), 1, 1.5), errors.MalformedTransactionError)
    rejected(state, Deposit(bj.pack_point(pubs[0]), 1, True), errors.MalformedTransactionError)
    bad_side = SignedOrder(Order(0, 0, 2, 1, P, 0, T0 + 99, 1), Signature((0, 1), 0))
    rejected(state, Trade(bad_side, order(1, Side.SELL, 10, 100), 1, P, 0, 0),
             errors.MalformedTransactionError)  # fmt: skip
    rejected(state, FundingTick(T0 + 5, (0,)), errors.MalformedTransactionError)


# --- trades --------------------------------------------------------------------------------


def test_trade_moves_positions_cash_and_fees(state):
    buy = order(0, Side.BUY, 100, 101, max_fee=10)
    sell = order(1, Side.SELL, 100, 99, max_fee=20, oid=6)
    r = state.apply(trade(buy, sell, 40, 100, taker_fee=4, maker_fee=8))
    a, b = state.account(0), state.account(1)
    assert a.positions[0] == 40 and b.positions[0] == -40
    assert a.collateral == DEPOSIT - 4000 - 4 and b.collateral == DEPOSIT + 4000 - 8
    assert state.pending_insurance == 12 * P and r.insurance_delta == 12 * P
    assert r.accounts == (0, 1) and r.slots == ((0, 1), (1, 6))
    assert r.record.taker_side == Side.BUY and r.record.maker_order_id == 6
    assert state.order_slot(0, 1) == (1, 40) and state.order_slot(1, 6) == (6, 40)
    assert state.filled(0, 1) == 40
    assert conserved(state, 4 * DEPOSIT, 0)


def test_trade_rounding_dust_goes_to_the_fund(state):
    price = 100 * P + 1  # 3 * price / 2^32 is not a whole number of quanta
    buy = order(0, Side.BUY, 3, 101)
    sell = order(1, Side.SELL, 3, 99)
    state.apply(Trade(buy, sell, 3, price, 0, 0))
    assert state.account(0).collateral == DEPOSIT - 301  # the buyer pays ceil
    assert state.account(1).collateral == DEPOSIT + 300  # the seller gets floor
    assert state.pending_insurance == P
    assert conserved(state, 4 * DEPOSIT, 0)


def test_partial_fills_then_overfill(state):
    buy = order(0, Side.BUY, 100, 100)
    state.apply(trade(buy, order(1, Side.SELL, 60, 100), 60, 100))
    state.apply(trade(buy, order(2, Side.SELL, 60, 100), 30, 100))
    assert state.filled(0, 1) == 90
    err = rejected(
        state, trade(buy, order(3, Side.SELL, 60, 100), 11, 100), errors.OrderOverfilledError
    )
    assert "90 + 11" in str(err)
    state.apply(trade(buy, order(3, Side.SELL, 60, 100), 10, 100))
    rejected(state, trade(buy, order(3, Side.SELL, 60, 100, oid=2), 1, 100),
             errors.OrderOverfilledError)  # fmt: skip


def test_slot_reuse_cancels_the_old_order_and_rejects_replays(state):
    # order_depth 2 (4-ary): 16 slots, ids 1 and 17 share slot 1
    old = order(0, Side.BUY, 100, 100, oid=1)
    new = order(0, Side.BUY, 100, 100, oid=17)
    state.apply(trade(old, order(1, Side.SELL, 100, 100), 10, 100))
    state.apply(trade(new, order(1, Side.SELL, 100, 100, oid=2), 20, 100))
    assert state.order_slot(0, 1) == (17, 20)
    err = rejected(state, trade(old, order(1, Side.SELL, 100, 100, oid=3), 1, 100),
                   errors.OrderReplayedError)  # fmt: skip
    assert "holds order 17" in str(err)


def test_trade_rejections(state):
    buy, sell = order(0, Side.BUY, 100, 101), order(1, Side.SELL, 100, 99)
    # bad signatures: signed by another key, or a field changed after signing
    rejected(state, trade(order(0, Side.BUY, 100, 101, key=KEYS[1]), sell, 1, 100),
             errors.BadSignatureError)  # fmt: skip
    forged = SignedOrder(replace(sell.order, limit_price=1 * P), sell.signature)
    rejected(state, trade(buy, forged, 1, 100), errors.BadSignatureError)
    # expiry: fillable up to and including its expiry
    late = order(0, Side.BUY, 100, 101, expiry=T0 + 9)
    rejected(state, trade(late, sell, 1, 100), errors.OrderExpiredError)
    state.apply(trade(order(0, Side.BUY, 100, 101, expiry=T0 + 10, oid=2), sell, 1, 100))
    # prices outside either limit, or above the market's maximum
    rejected(state, trade(buy, sell, 1, 102), errors.PriceOutsideLimitError)
    rejected(state, trade(buy, sell, 1, 98), errors.PriceOutsideLimitError)
    big = order(0, Side.BUY, 100, 10**4 * P + 1, oid=3)
    rejected(state, Trade(big, sell, 1, 10**4 * P + 1, 0, 0), errors.PriceOutsideLimitError)
    # fees above the pro-rata cap (max_fee 100 for 100: at most 1 per unit filled)
    rejected(state, trade(buy, sell, 10, 100, taker_fee=11), errors.FeeTooHighError)
    rejected(state, trade(buy, sell, 10, 100, maker_fee=11), errors.FeeTooHighError)
    # orders that cannot meet
    rejected(state, trade(buy, order(1, Side.BUY, 100, 101), 1, 100), errors.OrderMismatchError)
    other = order(1, Side.SELL, 100, 9, market=1)
    rejected(state, trade(buy, other, 1, 100), errors.OrderMismatchError)
    rejected(
        state, trade(buy, order(0, Side.SELL, 100, 99, oid=2), 1, 100), errors.SameAccountError
    )
    rejected(state, trade(order(3, Side.BUY, 1, 100, market=2), sell, 1, 100),
             errors.UnknownMarketError)  # fmt: skip
    ghost = sign_order(KEYS[4], Order(4, 0, Side.BUY, 100, 101 * P, 100, T0 + 99, 1), X)
    rejected(state, trade(ghost, sell, 1, 100), errors.UnknownAccountError)
    # amounts out of bounds
    rejected(state, trade(buy, sell, 0, 100), errors.OutOfBoundsError)
    rejected(state, Trade(buy, sell, 1 << 48, 100 * P, 0, 0), errors.OutOfBoundsError)
    rejected(state, Trade(buy, sell, 1, 1 << 56, 0, 0), errors.OutOfBoundsError)
    rejected(state, Trade(buy, sell, 1, 100 * P, -1, 0), errors.OutOfBoundsError)


def test_trade_beyond_initial_margin_is_rejected(state):
    # 10% initial margin: 10,000 quanta carry a notional of 100,000 = 1,000 units at 100
    rejected(state, trade(order(0, Side.BUY, 2000, 100), order(1, Side.SELL, 2000, 100), 1001,
                          100), errors.InsufficientMarginError)  # fmt: skip
    state.apply(trade(order(0, Side.BUY, 2000, 100), order(1, Side.SELL, 2000, 100), 1000, 100))


def test_position_limit(state):
    state.apply(Deposit(bj.pack_point(eddsa.prv2pub(KEYS[0])), 1, 10**9))
    state.apply(Deposit(bj.pack_point(eddsa.prv2pub(KEYS[1])), 1, 10**9))
    buy, sell = order(0, Side.BUY, 2 * 10**6, 100), order(1, Side.SELL, 2 * 10**6, 100)
    rejected(state, trade(buy, sell, 10**6 + 1, 100), errors.PositionLimitError)


def test_under_margined_account_may_only_reduce_risk(state):
    state.apply(trade(order(0, Side.BUY, 2000, 100), order(1, Side.SELL, 2000, 100), 1000, 100))
    state.set_time(T0 + 20)
    state.apply(oracle_tick(0, 95, T0 + 20))  # TV 5,000, TRi 9,500: below initial margin
    # adding risk is rejected
    add = order(0, Side.BUY, 10, 100, oid=2)
    rejected(state, trade(add, order(2, Side.SELL, 10, 90), 10, 95), errors.InsufficientMarginError)
    # selling far below the oracle lowers TV/TR: rejected; at the oracle: accepted
    cut = order(0, Side.SELL, 500, 1, oid=3)
    rejected(
        state, trade(cut, order(2, Side.BUY, 500, 95), 500, 50), errors.InsufficientMarginError
    )
    state.apply(trade(cut, order(2, Side.BUY, 500, 95), 500, 95))
    assert state.account(0).positions[0] == 500


# --- withdrawals, transfers, forced withdrawals ---------------------------------------------


def test_withdrawal_and_its_rejections(state):
    w = sign_withdrawal(KEYS[0], 0, 1000, 5, 0, X)
    r = state.apply(w)
    assert r.record.l1_address == ADDR[0] and r.record.amount == 1000
    assert state.account(0).collateral == DEPOSIT - 1005 and state.account(0).nonce == 1
    assert state.pending_insurance == 5 * P
    rejected(state, w, errors.BadNonceError)  # a replay
    rejected(state, sign_withdrawal(KEYS[0], 0, 1000, 5, 7, X), errors.BadNonceError)
    rejected(state, sign_withdrawal(KEYS[1], 0, 1000, 5, 1, X), errors.BadSignatureError)
    rejected(state, replace(sign_withdrawal(KEYS[0], 0, 10, 5, 1, X), amount=20),
             errors.BadSignatureError)  # fmt: skip
    rejected(
        state, sign_withdrawal(KEYS[0], 0, DEPOSIT, 0, 1, X), errors.InsufficientCollateralError
    )
    rejected(state, Withdrawal(0, 0, 0, 1, Signature((0, 1), 0)), errors.OutOfBoundsError)
    rejected(state, Withdrawal(0, 1 << 63, 0, 1, Signature((0, 1), 0)), errors.OutOfBoundsError)
    rejected(state, sign_withdrawal(KEYS[4], 4, 1, 0, 0, X), errors.UnknownAccountError)
    assert conserved(state, 4 * DEPOSIT, 1000)


def test_withdrawal_needs_free_collateral_not_just_cash(state):
    # account 0 holds a position needing 10% initial margin: 1,000 units at 100 need 10,000
    state.apply(trade(order(0, Side.BUY, 500, 100), order(1, Side.SELL, 500, 100), 500, 100))
    # TV = 10,000, TRi = 5,000: 5,000 is free, 5,001 is not
    rejected(state, sign_withdrawal(KEYS[0], 0, 5001, 0, 0, X), errors.InsufficientCollateralError)
    # account 1 has cash 60,000 but is short: it cannot withdraw its sale proceeds
    rejected(
        state, sign_withdrawal(KEYS[1], 1, 50_000, 0, 0, X), errors.InsufficientCollateralError
    )
    state.apply(sign_withdrawal(KEYS[0], 0, 5000, 0, 0, X))


def test_transfer_and_its_rejections(state):
    state.apply(sign_transfer(KEYS[0], 0, 2, 3000, 1, 0, X))
    assert state.account(0).collateral == DEPOSIT - 3001
    assert state.account(2).collateral == DEPOSIT + 3000
    assert state.account(0).nonce == 1 and state.account(2).nonce == 0
    rejected(state, sign_transfer(KEYS[0], 0, 0, 1, 0, 1, X), errors.SameAccountError)
    rejected(state, sign_transfer(KEYS[0], 0, 9, 1, 0, 1, X), errors.UnknownAccountError)
    rejected(state, sign_transfer(KEYS[0], 0, 2, 1, 0, 0, X), errors.BadNonceError)
    rejected(state, sign_transfer(KEYS[0], 0, 2, 7000, 0, 1, X), errors.InsufficientCollateralError)
    t = sign_transfer(KEYS[0], 0, 2, 5, 0, 1, X)
    rejected(state, replace(t, recipient=3), errors.BadSignatureError)
    rejected(state, Transfer(0, 2, 5, 0, 1, "sig"), errors.BadSignatureError)
    assert conserved(state, 4 * DEPOSIT, 0)


def test_forced_withdrawals_execute_or_are_refused(state):
    r = state.apply(ForcedWithdrawal(1, ADDR[1], 2500))
    assert r.executed and r.record.executed and state.account(1).collateral == DEPOSIT - 2500
    assert state.account(1).nonce == 0
    root = state.root
    for tx, why in [
        (ForcedWithdrawal(9, ADDR[1], 1), "no account"),
        (ForcedWithdrawal(1, ADDR[0], 1), "L1 address"),
        (ForcedWithdrawal(1, ADDR[1], DEPOSIT), "free collateral"),
    ]:
        r = state.apply(tx)
        assert not r.executed and not r.record.executed and why in r.reason
        assert state.root == root
    rejected(state, ForcedWithdrawal(1, 1 << 160, 1), errors.OutOfBoundsError)


# --- funding and oracle ticks ---------------------------------------------------------------


def test_funding_is_settled_when_touched_and_conserved(state, pubs):
    state.apply(trade(order(0, Side.BUY, 900, 100), order(1, Side.SELL, 900, 100), 900, 100))
    state.set_time(T0 + 100)
    g = P + P // 3  # longs pay 1.333.. quanta per unit
    state.apply(FundingTick(T0 + 100, (g, 0)))
    assert state.funding_time == T0 + 100 and state.markets[0].funding_index == g
    before0, before1 = state.account(0).collateral, state.account(1).collateral
    assert conserved(state, 4 * DEPOSIT, 0)  # unsettled funding is counted exactly
    for i in (0, 1):
        state.apply(Deposit(bj.pack_point(pubs[i]), 1, 1))
    assert state.account(0).collateral == before0 + 1 - 1200  # pays ceil(1199.99..)
    assert state.account(1).collateral == before1 + 1 + 1199  # gets floor
    assert state.account(0).funding[0] == g and state.account(1).funding[0] == g
    assert conserved(state, 4 * DEPOSIT + 2, 0)


def test_funding_tick_rejections(state):
    state.set_time(T0 + 100)
    # cap: 10^-3 per second * 100 s since genesis * price 100 (10) = 10 (1) quanta per unit
    rejected(state, FundingTick(T0 + 100, (10 * P + 1, 0)), errors.FundingTooLargeError)
    rejected(state, FundingTick(T0 + 100, (0, -P - 1)), errors.FundingTooLargeError)
    state.apply(FundingTick(T0 + 100, (10 * P, -P)))
    rejected(state, FundingTick(T0 + 100, (10 * P, 0)), errors.TimestampError)  # not after the last
    rejected(state, FundingTick(T0 + 101, (10 * P, 0)), errors.TimestampError)  # in the future
    rejected(state, FundingTick(T0 + 200, (1 << 56, 0)), errors.OutOfBoundsError, now=T0 + 10**6)


def test_oracle_tick_and_its_rejections(state):
    ts = T0 + 10
    r = state.apply(oracle_tick(0, 110, ts, signers=(0, 1, 2), prices=[100, 110, 120]))
    assert state.markets[0].price == 110 * P and state.markets[0].price_time == ts
    assert r.record.price == 110 * P
    rejected(state, oracle_tick(0, 110, ts, signers=(1,)), errors.OracleQuorumError)
    rejected(state, oracle_tick(0, 110, ts, signers=(1, 0)), errors.OracleSignersError)
    rejected(state, oracle_tick(0, 110, ts, signers=(1, 1)), errors.OracleSignersError)
    # an index beyond the whitelist: signed by a key that is not an oracle's
    stranger = sign_oracle_price(KEYS[0], 2, 0, 110 * P, ts, X)
    tick = oracle_tick(0, 110, ts, signers=(0, 1))
    rejected(
        state, replace(tick, signatures=(tick.signatures[0], stranger)), errors.BadSignatureError
    )
    rejected(state, replace(tick, signatures=(tick.signatures[0], replace(stranger, oracle=3))),
             errors.OracleSignersError)  # fmt: skip
    # stale: signed more than 60 s before the tick, or after it
    rejected(state, oracle_tick(0, 110, ts, stamps=[ts, ts - 61]), errors.OracleStaleError)
    rejected(state, oracle_tick(0, 110, ts - 1, stamps=[ts - 1, ts]), errors.OracleStaleError)
    state.apply(oracle_tick(0, 111, ts, stamps=[ts, ts - 60]))
    # the tick's price must be a median
    rejected(state, oracle_tick(0, 121, ts, signers=(0, 1, 2), prices=[100, 110, 120]),
             errors.OracleMedianError)  # fmt: skip
    rejected(state, oracle_tick(0, 105, ts, signers=(0, 1, 2), prices=[100, 110, 120]),
             errors.OracleMedianError)  # fmt: skip
    # a price signed for another market, time in the future, above the market maximum
    wrong = oracle_tick(1, 110, ts)
    rejected(state, replace(wrong, market=0), errors.BadSignatureError)
    rejected(state, oracle_tick(0, 110, ts + 1), errors.TimestampError)
    rejected(state, oracle_tick(0, 10**4 + 1, ts), errors.PriceOutsideLimitError)
    rejected(state, oracle_tick(0, 110, ts - 5), errors.TimestampError)  # before the last tick


# --- liquidation and deleverage -------------------------------------------------------------


@pytest.fixture
def leveraged(state):
    """Account 0 long 900 at 100 (TV 10,000), account 1 short 900; oracle then moves."""
    state.apply(trade(order(0, Side.BUY, 900, 100), order(1, Side.SELL, 900, 100), 900, 100))
    state.set_time(T0 + 20)
    return state


def test_liquidation(leveraged):
    s = leveraged
    liq = order(2, Side.BUY, 1000, 95, max_fee=100, oid=3)
    rejected(s, Liquidate(liq, 0, 500, 89 * P, 0, 0), errors.AccountNotLiquidatableError)
    s.apply(oracle_tick(0, 90, T0 + 20))  # TV 1,000 < TR 4,050
    assert s.is_liquidatable(0)
    # the price bound: at least 90 * (1 - 5%) = 85.5 for the liquidated long
    rejected(s, Liquidate(liq, 0, 500, 85 * P, 0, 0), errors.PriceOutsideLimitError)
    # shrink only: no more than the position, and no liquidation on the wrong side
    rejected(s, Liquidate(liq, 0, 901, 89 * P, 0, 0), errors.InvalidReductionError)
    wrong_side = order(2, Side.SELL, 900, 80, oid=2)
    rejected(s, Liquidate(wrong_side, 0, 10, 89 * P, 0, 0), errors.InvalidReductionError)
    # the penalty: at most 1% of 500 * 89 = 445 and at most TV after the fill (500)
    rejected(s, Liquidate(liq, 0, 500, 89 * P, 0, 446), errors.FeeTooHighError)
    rejected(s, Liquidate(liq, 0, 500, 89 * P, 51, 0), errors.FeeTooHighError)  # liquidator's fee
    rejected(s, Liquidate(liq, 1, 500, 89 * P, 0, 0), errors.AccountNotLiquidatableError)
    rejected(s, Liquidate(liq, 2, 500, 89 * P, 0, 0), errors.SameAccountError)
    forged = SignedOrder(replace(liq.order, limit_price=200 * P), liq.signature)
    rejected(s, Liquidate(forged, 0, 500, 89 * P, 0, 0), errors.BadSignatureError)
    r = s.apply(Liquidate(liq, 0, 500, 89 * P, 5, 445))
    assert r.accounts == (2, 0) and r.slots == ((2, 3),)
    assert s.account(0).positions[0] == 400 and s.account(2).positions[0] == 500
    assert s.account(0).collateral == DEPOSIT - 90_000 + 44_500 - 445
    assert s.account(2).collateral == DEPOSIT - 44_500 - 5
    assert s.pending_insurance == 450 * P
    assert conserved(s, 4 * DEPOSIT, 0)


def test_deleverage(leveraged):
    s = leveraged
    rejected(s, Deleverage(0, 0, 1, 900, 100 * P), errors.AccountNotDeleveragableError)
    s.apply(oracle_tick(0, 85, T0 + 20))  # account 0: TV = -80,000 + 76,500 = -3,500
    # worse than the oracle for the deleveraged, or leaving it a profit
    rejected(s, Deleverage(0, 0, 1, 900, 84 * P), errors.UnfairDeleverageError)
    rejected(s, Deleverage(0, 0, 1, 900, 89 * P), errors.UnfairDeleverageError)
    # both positions shrink: account 2 has no short to take over, 901 is more than there is
    rejected(s, Deleverage(0, 0, 2, 100, 85 * P), errors.InvalidReductionError)
    rejected(s, Deleverage(0, 0, 1, 901, 85 * P), errors.InvalidReductionError)
    rejected(s, Deleverage(0, 2, 1, 100, 85 * P), errors.InvalidReductionError)  # no position
    rejected(s, Deleverage(0, 0, 0, 100, 85 * P), errors.SameAccountError)
    r = s.apply(Deleverage(0, 0, 1, 900, 85 * P))
    assert r.record.deleveraged_side == Side.SELL
    assert s.account(0).positions[0] == 0 and s.account(1).positions[0] == 0
    assert s.account(0).collateral == -3500  # the loss stays with the bankrupt account
    assert conserved(s, 4 * DEPOSIT, 0)


# --- the machinery: check, snapshot, proofs, backends, the verifier -------------------------


def test_check_changes_nothing_and_snapshots_are_independent(state):
    tx = trade(order(0, Side.BUY, 10, 100), order(1, Side.SELL, 10, 100), 10, 100)
    root, fp = state.root, fingerprint(state)
    receipt = state.check(tx)
    assert state.root == root and fingerprint(state) == fp
    copy = state.snapshot()
    assert state.apply(tx) == receipt
    assert copy.root == root and state.root != root
    assert copy.apply(tx) == receipt and copy.root == state.root


def test_proofs_lead_to_the_roots(state):
    state.apply(trade(order(0, Side.BUY, 10, 100, oid=7), order(1, Side.SELL, 10, 100), 10, 100))
    root_fields = state.root_fields()
    assert poseidon(list(root_fields)) == state.root
    assert root_fields == (
        state.accounts_root,
        state.markets_hash,
        state.config_hash,
        state.insurance_dust,
        4,
        T0,
    )
    for i in range(4):
        proof = state.account_proof(i)
        static, collateral, orders_root, sizes, funding = state.account_leaf_parts(i)
        acc = state.account(i)
        assert static == (*acc.pubkey, acc.l1_address, acc.nonce)
        assert collateral == acc.collateral % FIELD_MODULUS and orders_root == state.orders_root(i)
        assert sizes == tuple(x % FIELD_MODULUS for x in acc.positions)
        assert funding == tuple(x % FIELD_MODULUS for x in acc.funding)
        leaf = poseidon(
            [poseidon(list(static)), collateral, orders_root, poseidon(list(sizes)),
             poseidon(list(funding))]
        )  # fmt: skip
        assert proof.leaf == leaf == acc.leaf(orders_root) == state.account_leaf(i)
        assert proof.depth == 4 and verify_quad_proof(state.accounts_root, proof)
    assert state.account(1).positions[0] == -10
    assert state.account_leaf_parts(1)[3][0] == FIELD_MODULUS - 10  # signed sizes mod r
    empty = state.account_proof(9)
    assert empty.leaf == 0 and verify_quad_proof(state.accounts_root, empty)
    proof = state.order_proof(0, 7)
    assert proof.leaf == (7 << 48) + 10 and proof.depth == 2
    assert verify_quad_proof(state.orders_root(0), proof)
    assert state.account_leaf_parts(0)[2] == state.orders_root(0)
    # an account without orders: the empty orders tree, and its proofs
    assert state.orders_root(3) == quad_empty_hashes(2)[2]
    assert verify_quad_proof(state.orders_root(3), state.order_proof(3, 5))
    with pytest.raises(errors.OutOfBoundsError):
        state.order_proof(0, 16)
    with pytest.raises(errors.OutOfBoundsError):
        state.account_proof(256)


def test_python_and_numba_hashing_agree(genesis, pubs, state):
    state.apply(trade(order(0, Side.BUY, 10, 100), order(1, Side.SELL, 10, 100), 10, 100))
    slow = State(genesis, backend="python")
    for i in range(4):
        slow.apply(Deposit(bj.pack_point(pubs[i]), ADDR[i], DEPOSIT))
    slow.set_time(T0 + 10)
    slow.apply(trade(order(0, Side.BUY, 10, 100), order(1, Side.SELL, 10, 100), 10, 100))
    assert slow.root == state.root


def test_verifier_remembers_only_valid_signatures(pubs):
    v = EdDSAVerifier(max_entries=2)
    msg = (1, 2, 3)
    good = eddsa.sign_poseidon(KEYS[0], poseidon(list(msg)))
    assert v.verify(pubs[0], msg, good) and v.verify(pubs[0], msg, good)
    assert not v.verify(pubs[1], msg, good)
    assert not v.verify(pubs[0], (1, 2, 4), good)
    assert not v.verify(pubs[0], msg, Signature(good.r8, good.s + 1))
    assert not v.verify(pubs[0], msg, "signature")
    assert not v.verify(pubs[0], msg, Signature([0, 1], 0))  # unhashable parts


@pytest.mark.parametrize(
    "change",
    [
        {"markets": ()},
        {"markets": MARKETS * 3},  # more than 4
        {"markets": (replace(MARKETS[0], initial_margin=40_000),)},  # imf < mmf
        {"markets": (replace(MARKETS[0], maintenance_margin=0),)},
        {"markets": (replace(MARKETS[0], max_price=1 << 56),)},
        {"markets": (replace(MARKETS[0], symbol="TOOLONGSYM"),)},
        {"markets": (MARKETS[0], MARKETS[0])},  # one symbol twice
        {"oracle_quorum": 4},
        {"oracle_quorum": 0},
        {"oracle_keys": (bj.GENERATOR,)},  # not in the prime-order subgroup
        {"oracle_keys": (bj.IDENTITY,)},
        {"account_depth": 17},
        {"order_depth": 9},
        {"order_depth": 0},
        {"exchange_id": 1 << 32},
        {"oracle_validity": 0},
    ],
)
def test_bad_configs_are_refused(genesis, change):
    with pytest.raises(errors.ConfigError):
        State(replace(genesis, config=replace(genesis.config, **change)))


@pytest.mark.parametrize(
    "change", [{"prices": (100 * P,)}, {"prices": (0, P)}, {"prices": (10**4 * P + 1, P)},
               {"timestamp": -1}, {"timestamp": 1 << 32}],
)  # fmt: skip
def test_bad_genesis_values_are_refused(genesis, change):
    with pytest.raises(errors.ConfigError):
        State(replace(genesis, **change))


# --- the insurance account and end_batch (layout v2, section 4) ------------------------------


def test_insurance_account_exists_at_genesis(genesis):
    s = State(genesis)
    acc = s.account(0)
    assert acc.pubkey == eddsa.prv2pub(DEMO_INSURANCE_KEY) and acc.l1_address == ADDR[0]
    assert acc.collateral == 0 and s.next_account == 1 and len(s) == 1
    assert s.account_index(acc.pubkey) == 0
    assert s.root_fields()[3:] == (0, 1, T0)
    assert s.pending_insurance == 0 and s.insurance == 0
    own = eddsa.prv2pub(bytes([0x77]) * 32)
    other = State(replace(genesis, insurance_pubkey=own))
    assert other.account(0).pubkey == own and other.root != s.root
    with pytest.raises(errors.ConfigError):
        State(replace(genesis, insurance_pubkey=bj.GENERATOR))  # not in the subgroup
    with pytest.raises(errors.ConfigError):
        State(replace(genesis, insurance_l1_address=1 << 160))


def test_end_batch_moves_the_pending_insurance_to_account_0(state, pubs):
    state.apply(trade(order(1, Side.BUY, 900, 100), order(2, Side.SELL, 900, 100), 900, 100,
                      taker_fee=7, maker_fee=3))  # fmt: skip
    state.set_time(T0 + 100)
    state.apply(FundingTick(T0 + 100, (P + P // 3, 0)))
    state.apply(Deposit(bj.pack_point(pubs[1]), 1, 1))  # settles account 1: fractional dust
    pending, dust0 = state.pending_insurance, state.insurance_dust
    assert pending % P and pending > 10 * P
    before = state.account(0).collateral
    root = state.root
    credited = state.end_batch()
    total = pending + dust0
    assert credited == total >> 32 and state.account(0).collateral == before + credited
    assert state.insurance_dust == total % P and state.pending_insurance == 0
    assert state.root != root and state.root_fields()[3] == state.insurance_dust
    assert state.insurance == P * state.account(0).collateral + state.insurance_dust
    assert conserved(state, 4 * DEPOSIT + 1, 0)
    # a second end_batch with nothing pending keeps account 0's collateral and the dust
    c, d = state.account(0).collateral, state.insurance_dust
    assert state.end_batch() == 0
    assert (state.account(0).collateral, state.insurance_dust) == (c, d)
    # account 0's own funding is settled by end_batch, like any write
    assert state.account(0).funding == state.funding_indices


def test_insurance_account_trades_and_withdraws_like_any_account(state):
    state.apply(trade(order(0, Side.BUY, 10, 100), order(1, Side.SELL, 10, 100), 10, 100, 1, 1))
    state.end_batch()
    assert state.account(0).collateral == DEPOSIT - 1000 - 1 + 2
    state.apply(sign_withdrawal(KEYS[0], 0, 500, 0, 0, X))
    assert conserved(state, 4 * DEPOSIT, 500)


def test_deposit_records_follow_the_circuit_rule(state, pubs):
    """A record may open a second account for a known key at next_account (the circuit does
    not prove key uniqueness); a record naming another account must hold its key."""
    key = bj.pack_point(pubs[1])
    root, fp = state.root, fingerprint(state)
    for bad in (DepositRecord(2, key, ADDR[1], 5, True), DepositRecord(9, key, ADDR[1], 5, True)):
        with pytest.raises(errors.RebuildError):
            state.apply_record(bad)
        assert state.root == root and fingerprint(state) == fp
    r = state.apply_record(DepositRecord(4, key, 0xABC, 5, True))
    assert r.accounts == (4,) and state.next_account == 5
    assert state.account(4).pubkey == pubs[1] and state.account(4).collateral == 5
    assert state.account_index(pubs[1]) == 1  # the sequencer's policy keeps the first
    state.apply_record(DepositRecord(1, key, ADDR[1], 6, True))
    assert state.account(1).collateral == DEPOSIT + 6


def test_dump_and_load(state, genesis):
    state.apply(trade(order(0, Side.BUY, 10, 100, oid=7), order(1, Side.SELL, 10, 100), 10, 100,
                      3, 4))  # fmt: skip
    data = state.dump()
    assert data["pending_insurance"] == str(7 * P)
    import json

    copy = State.load(json.loads(json.dumps(data)))
    assert copy.root == state.root and copy.pending_insurance == state.pending_insurance
    assert fingerprint(copy) == fingerprint(state) and copy.genesis == state.genesis
    assert State.load(data, genesis).root == state.root
    for change in (
        {"root": str(state.root + 1)},
        {"pending_insurance": "1"},  # pending is not in the root: but the fingerprint is
        {"insurance_dust": 1 << 32},
        {"version": 1},
        {"accounts": data["accounts"][1:]},  # no insurance account
    ):
        bad = {**data, **change}
        if change.get("pending_insurance"):
            assert State.load(bad).pending_insurance == 1  # loads: pending is not committed
            continue
        with pytest.raises(errors.StorageError):
            State.load(bad)


def test_packed_messages(pubs):
    o = Order(5, 2, Side.SELL, 7, 9 * P, 11, T0, 13)
    w0, w1 = o.message(X)
    assert w0 == (1 + 256 * X) + (5 << 40) + (2 << 72) + (1 << 80) + (13 << 88) + (T0 << 120)
    assert w1 == 7 + ((9 * P) << 48) + (11 << 104)
    assert order_message(5, 2, 1, 7, 9 * P, 11, T0, 13, X) == (w0, w1)
    w = sign_withdrawal(KEYS[1], 3, 100, 2, 9, X).message(X)
    assert w == ((2 + 256 * X) + (3 << 40) + (9 << 72), 100 + (2 << 64))
    t = sign_transfer(KEYS[1], 3, 4, 100, 2, 9, X).message(X)
    assert t == ((3 + 256 * X) + (3 << 40) + (4 << 72) + (9 << 104), 100 + (2 << 64))
    assert oracle_message(1, 5 * P, T0, X) == (
        (4 + 256 * X) + (1 << 40) + (T0 << 48) + (5 * P << 80),
    )
    assert cancel_message(3, 77, X) == ((5 + 256 * X) + (3 << 40) + (77 << 72),)
    # each message signs M = P_k(words)
    so = sign_order(KEYS[1], o, X)
    assert eddsa.verify_poseidon(poseidon([w0, w1]), so.signature, pubs[1])
    # fields beyond their bounds never pack (no overlap)
    for bad in (replace(o, account=1 << 32), replace(o, size=1 << 48), replace(o, side=256),
                replace(o, limit_price=1 << 56), replace(o, order_id=-1)):  # fmt: skip
        with pytest.raises(errors.OutOfBoundsError):
            bad.message(X)
    with pytest.raises(errors.MalformedTransactionError):
        replace(o, expiry="1").message(X)
    with pytest.raises(errors.OutOfBoundsError):
        o.message(1 << 32)
