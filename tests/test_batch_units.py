"""Account units of a batch (the batch circuit loads and stores every account a batch touches
once, ``circuits.gadgets.account_memory``): ``rollup.batch.accessed_accounts`` for every
transaction type, executed and refused; ``padded_size`` picks a shape with enough units; the
sequencer cuts a batch before a transaction that would touch more distinct accounts than
the largest shape's units (``default_units(capacity)``, or the deployment's
``SequencerConfig.units``: validated, stored in the settings, used by the cut, the padding and
the keys' shape), and not before; a restart from the database re-cuts the same batches and
restores the open batch's accounts.

Signature units, the same way: ``rollup.batch.signed_messages`` for every transaction type (an
identity per signed message and signer: an order filled twice is one, an oracle tick's
signatures count one each), ``padded_size`` with enough signature units, the sequencer cutting
before a transaction that would verify more distinct signed messages than the largest shape's
signature units (``default_signatures(capacity)`` or ``SequencerConfig.signatures``), the same
batches after a restart, and keys made for another S stale.

Fixtures and signed orders come from ``tests.test_sequencer`` (genesis with 5 keys; one extra
key here for account 5)."""

from __future__ import annotations

import functools
from dataclasses import replace

import pytest

from circuits.gadgets import babyjubjub as bj
from circuits.gadgets import eddsa
from circuits.state_transition import default_signatures, default_units
from rollup.batch import (
    L1Request,
    accessed_accounts,
    check_signatures,
    padded_size,
    signed_messages,
)
from rollup.errors import (
    BadNonceError,
    BadSignatureError,
    BatchCapacityError,
    ConfigError,
    MalformedTransactionError,
    OrderExpiredError,
    UnknownAccountError,
)
from rollup.orderbook import PlaceOrder
from rollup.sequencer import Sequencer, SequencerConfig
from rollup.storage import StorageError
from rollup.types import (
    Deleverage,
    Deposit,
    ForcedWithdrawal,
    FundingTick,
    Liquidate,
    NoopRecord,
    OraclePriceTick,
    Order,
    Trade,
    Transfer,
    Withdrawal,
    oracle_message,
    sign_order,
    sign_transfer,
    sign_withdrawal,
)
from tests.test_sequencer import (
    ADDR,
    BUY,
    KEYS,
    SELL,
    T0,
    P,
    X,
    deposit,
    genesis,
    oracle_tick,
    place,
    signed,
)

EXTRA = {5: bytes([0x55]) * 32}  # the key of account 5
SMALL_ORDER_KEY = bj.pack_point(bj.mul(bj.GENERATOR, bj.SUBORDER))  # refused: 8 * key = 0
BIG = (1 << 63) - 1  # a deposit that pushes any funded account's collateral out of its bound


@functools.cache
def extra_pubkey(i: int) -> bytes:
    return bj.pack_point(eddsa.prv2pub(EXTRA[i]))


def extra_deposit(q: int, i: int) -> L1Request:
    return L1Request(q, Deposit(extra_pubkey(i), 0x2000 + i, 100_000))


@functools.cache
def extra_place(account: int, side: int, size: int, price: int, oid: int) -> PlaceOrder:
    o = Order(account, 0, side, size, price * P, 100, T0 + 1000, oid)
    return PlaceOrder(sign_order(EXTRA[account], o, X))


# --- accessed_accounts --------------------------------------------------------------------------


def _accesses(s: Sequencer, request, now: int) -> tuple[int, ...]:
    """Submit ``request`` (one transaction) and return its accessed accounts, checking that the
    state before and the state after give the same answer, and that an L1 request wrapped or
    not gives the same answer."""
    before = s.state.snapshot()
    out = s.submit(request, now)
    assert len(out.receipts) == 1
    receipt = out.receipts[0]
    tx = request.tx if isinstance(request, L1Request) else request
    if isinstance(request, PlaceOrder):  # the trade it made
        tx = s._open.txs[-1]
    got = accessed_accounts(tx, receipt.record, s.state)
    assert accessed_accounts(tx, receipt.record, before) == got
    assert accessed_accounts(request if isinstance(request, L1Request) else tx,
                             receipt.record, s.state) == got  # fmt: skip
    if receipt.executed:  # an executed transaction writes exactly the accounts it accesses
        assert set(receipt.accounts) == set(got)
    return got


def test_accessed_accounts_of_every_transaction_type():
    s = Sequencer(genesis(), SequencerConfig(shapes=(64,)))
    t = T0 + 1
    # deposits: new accounts, an existing key's account, refusals
    assert [_accesses(s, deposit(i, i), t) for i in range(4)] == [(0,), (1,), (2,), (3,)]
    assert _accesses(s, deposit(4, 2, 7), t) == (2,)  # the key's account
    assert _accesses(s, deposit(5, 1, BIG), t) == (1,)  # refused: the key's account, bound
    assert s.state.account(1).collateral == 100_000
    assert _accesses(s, L1Request(6, Deposit(SMALL_ORDER_KEY, 1, 5)), t) == ()  # small order
    assert _accesses(s, L1Request(7, Deposit(b"\xff" * 32, 1, 5)), t) == ()  # does not unpack
    # forced withdrawals: executed, refused (another L1 address), refused (no account)
    assert _accesses(s, L1Request(8, ForcedWithdrawal(3, ADDR[3], 10)), t) == (3,)
    assert _accesses(s, L1Request(9, ForcedWithdrawal(3, ADDR[0], 10)), t) == (3,)
    assert _accesses(s, L1Request(10, ForcedWithdrawal(9, ADDR[0], 10)), t) == ()
    # signed user transactions
    assert _accesses(s, sign_withdrawal(KEYS[3], 3, 100, 1, 0, X), t) == (3,)
    assert _accesses(s, sign_transfer(KEYS[3], 3, 2, 100, 1, 1, X), t) == (3, 2)
    # ticks touch no account
    assert _accesses(s, FundingTick(T0 + 5, (0, 0)), T0 + 5) == ()
    assert _accesses(s, oracle_tick(1, 11, T0 + 5), T0 + 5) == ()
    # a trade: taker, then maker (account 0 long 9,000 at 100, account 1 short)
    s.submit(place(1, SELL, 9_000, 100, 1), T0 + 10)
    assert _accesses(s, place(0, BUY, 9_000, 100, 1), T0 + 10) == (0, 1)
    # liquidate: the liquidator order's account, then the liquidated
    assert _accesses(s, oracle_tick(0, 90, T0 + 20), T0 + 20) == ()
    liq = Liquidate(signed(2, BUY, 1000, 95, 3), 0, 500, 89 * P, 0, 445)
    assert _accesses(s, liq, T0 + 20) == (2, 0)
    # deleverage: the deleveraged, then the deleverager
    s.submit(oracle_tick(0, 80, T0 + 30), T0 + 30)
    assert s.state.value_and_risk(0)[0] < 0
    assert _accesses(s, Deleverage(0, 0, 1, 100, 80 * P), T0 + 30) == (0, 1)
    # a NoOp (padding, an oracle tick's continuation slot)
    assert accessed_accounts(None, NoopRecord(), s.state) == ()


def test_a_deposit_refused_for_a_full_tree_touches_no_account():
    g = genesis()
    s = Sequencer(replace(g, config=replace(g.config, account_depth=1)))  # 4 accounts
    assert [_accesses(s, deposit(i, i), T0 + 1) for i in range(4)] == [(0,), (1,), (2,), (3,)]
    out = s.submit(deposit(4, 4), T0 + 1)
    assert out.status == "refused" and "full" in out.reason
    assert accessed_accounts(deposit(4, 4), out.records[0], s.state) == ()
    assert _accesses(s, deposit(5, 2), T0 + 1) == (2,)  # a known key still goes to its account


def test_accessed_accounts_rejects_what_it_cannot_read():
    s = Sequencer(genesis())
    with pytest.raises(MalformedTransactionError, match="DepositRecord"):
        accessed_accounts(deposit(0, 1), None, s.state)  # a deposit's account needs its record
    with pytest.raises(MalformedTransactionError, match="not a transaction"):
        accessed_accounts(PlaceOrder(signed(0, BUY, 1, 100, 1)), None, s.state)


# --- padded_size ---------------------------------------------------------------------------------


def test_padded_size_gives_enough_units():
    assert (default_units(2), default_units(4), default_units(8)) == (2, 3, 5)
    shapes = (2, 4)
    assert padded_size(2, shapes, True) == 2
    assert padded_size(2, shapes, True, 2) == 2
    assert padded_size(2, shapes, True, 3) == 4  # 2 slots, 3 accounts: shape 2 has 2 units
    assert padded_size(1, shapes, True, 3) == 4
    assert padded_size(3, shapes, True, 3) == 4
    with pytest.raises(ConfigError, match="4 accounts exceed the largest batch shape 4"):
        padded_size(3, shapes, True, 4)
    with pytest.raises(ConfigError, match="5 slots"):
        padded_size(5, shapes, True, 0)
    # no padding: the slots themselves, or the fewest slots whose units hold the accounts
    assert [padded_size(n, shapes, False, 2) for n in (1, 2, 3)] == [1, 2, 3]
    assert padded_size(2, shapes, False, 3) == 4 and padded_size(5, shapes, False, 3) == 5
    assert padded_size(1, shapes, False, 5) == 8
    for n in range(1, 9):
        for k in range(0, 2 * n + 1):
            size = padded_size(n, (1, 2, 4, 8, 16), False, k)
            assert size >= n and default_units(size) >= k
            assert size == n or default_units(size - 1) < k  # the fewest


def test_a_batch_of_two_slots_touching_three_accounts_pads_to_four(tmp_path):
    s = Sequencer.create(tmp_path / "pad.db", genesis(), SequencerConfig(shapes=(2, 4)))
    for i in range(3):
        s.submit(deposit(i, i), T0 + 1)
    assert s.batch_number == 0  # 3 slots, 3 accounts = default_units(4)
    b = s.cut(T0 + 1)
    assert (b.n_txs, b.size) == (3, 4)
    s.submit(deposit(3, 2), T0 + 2)  # account 2
    s.submit(sign_transfer(KEYS[0], 0, 1, 100, 0, 0, X), T0 + 2)  # accounts 0, 1
    b = s.cut(T0 + 2)
    assert (b.n_txs, b.size) == (2, 4) and b.records[2:] == (NoopRecord(), NoopRecord())
    s.submit(sign_transfer(KEYS[0], 0, 1, 100, 0, 1, X), T0 + 3)
    s.submit(sign_withdrawal(KEYS[1], 1, 100, 0, 0, X), T0 + 3)
    b = s.cut(T0 + 3)
    assert (b.n_txs, b.size) == (2, 2)  # 2 accounts fit 2 slots
    assert [s.batch(n).size for n in range(3)] == [4, 4, 2]
    s.close()


# --- the sequencer's cuts ----------------------------------------------------------------------

UNITS = 5  # default_units(8): the shapes (4, 8) below


def _scenario(s: Sequencer) -> list[tuple[int, ...]]:
    """Requests that fill the account units three times (shapes (4, 8): 8 slots, 5 accounts);
    returns each request's ``Outcome.batches``."""
    cuts = []

    def go(request, now):
        cuts.append(s.submit(request, now).batches)

    for i in range(5):  # accounts 0..4: 5 slots, 5 accounts; no cut
        go(deposit(i, i), T0 + 1)
    go(L1Request(5, Deposit(SMALL_ORDER_KEY, 1, 5)), T0 + 1)  # refused, no account: no cut
    go(L1Request(6, ForcedWithdrawal(9, ADDR[0], 10)), T0 + 1)  # refused, no account: no cut
    go(FundingTick(T0 + 2, (0, 0)), T0 + 2)  # 8 slots: the slot capacity cuts batch 0
    # batch 1: account 5 (new), then accounts 0..3: 5 accounts in 4 slots
    go(extra_deposit(7, 5), T0 + 3)
    go(sign_transfer(KEYS[0], 0, 1, 100, 0, 0, X), T0 + 3)
    go(sign_transfer(KEYS[2], 2, 3, 100, 0, 0, X), T0 + 3)
    go(sign_withdrawal(KEYS[1], 1, 100, 0, 0, X), T0 + 3)  # known account: no cut
    go(L1Request(8, ForcedWithdrawal(3, ADDR[0], 10)), T0 + 3)  # refused, known account
    # a deposit refused for its balance bound touches its key's account 4: a 6th, cut first
    go(deposit(9, 4, BIG), T0 + 4)
    # batch 2 holds account 4; makers 1, 2, 3, 5 rest, a taker (0) fills them all
    for i in (1, 2, 3):
        go(place(i, SELL, 10, 100, 1), T0 + 5)
    go(extra_place(5, SELL, 10, 100, 1), T0 + 5)
    go(place(0, BUY, 40, 100, 1), T0 + 6)  # the 4th fill (account 5) opens batch 3
    return cuts


def _check_scenario_batches(s: Sequencer, cuts: list[tuple[int, ...]]) -> None:
    assert cuts == [()] * 7 + [(0,)] + [()] * 5 + [(1,)] + [()] * 4 + [(2,)]
    b0, b1, b2 = (s.batch(n) for n in range(3))
    assert (b0.n_txs, b0.size) == (8, 8)
    assert (b1.n_txs, b1.size) == (5, 8)  # 5 slots and 5 accounts: shape 4 has 3 units
    assert (b2.n_txs, b2.size) == (4, 8)  # the refused deposit and 3 trades: 5 accounts
    assert [type(r).__name__ for r in b2.records[: b2.n_txs]] == ["DepositRecord"] + [
        "TradeRecord"
    ] * 3
    assert [(r.taker, r.maker) for r in b2.records[1:4]] == [(0, 1), (0, 2), (0, 3)]
    assert len(s.open_transactions) == 1 and s.open_transactions[0].maker.order.account == 5


def test_the_sequencer_cuts_when_a_new_account_would_exceed_the_units(tmp_path):
    s = Sequencer.create(tmp_path / "cut.db", genesis(), SequencerConfig(shapes=(4, 8)))
    cuts = _scenario(s)
    _check_scenario_batches(s, cuts)
    for n in range(3):  # every batch within the units of its padded shape
        b = s.batch(n)
        touched = set()
        for tx, r in zip(b.transactions, b.records):
            touched.update(accessed_accounts(tx, r, s.state))
        assert len(touched) <= min(UNITS, default_units(b.size))
    s.close()


def test_a_rejected_transaction_near_the_units_cuts_nothing():
    s = Sequencer(genesis(), SequencerConfig(shapes=(4, 8)))
    for i in range(5):
        s.submit(deposit(i, i), T0 + 1)
    root, n = s.root, len(s.open_transactions)
    with pytest.raises(MalformedTransactionError):  # checked before a cut: nothing cut
        s.submit(L1Request(5, Deposit(b"\x01" * 31, 1, 5)), T0 + 1)
    with pytest.raises(BadNonceError):
        s.submit(sign_withdrawal(KEYS[4], 4, 100, 0, 5, X), T0 + 1)
    with pytest.raises(UnknownAccountError):  # a 6th account, but no such account
        s.submit(sign_transfer(KEYS[4], 4, 9, 100, 0, 0, X), T0 + 1)
    unhashable = replace(sign_transfer(KEYS[4], 4, 1, 100, 0, 0, X), recipient=[1])
    with pytest.raises(MalformedTransactionError):  # a typed error, not the set's TypeError
        s.submit(unhashable, T0 + 1)
    assert s.root == root and len(s.open_transactions) == n and s.batch_number == 0
    # a valid new account is cut before
    out = s.submit(extra_deposit(5, 5), T0 + 1)
    assert out.batches == (0,) and len(s.open_transactions) == 1


@pytest.mark.parametrize("snapshot_every", [1, 8])
def test_a_restart_recuts_the_same_batches_and_keeps_the_open_accounts(tmp_path, snapshot_every):
    path = tmp_path / "replay.db"
    config = SequencerConfig(shapes=(4, 8), snapshot_every=snapshot_every)
    s = Sequencer.create(path, genesis(), config)
    twin = Sequencer(genesis(), config)
    cuts = _scenario(s)
    assert _scenario(twin) == cuts
    batches = [s.batch(n) for n in range(s.batch_number)]
    s.close()
    again = Sequencer.open(path)  # replays (from a snapshot or the genesis), re-cutting batches
    _check_scenario_batches(again, cuts)
    assert [again.batch(n) for n in range(again.batch_number)] == batches
    assert again.root == twin.root and again.status() == twin.status()
    # the open batch holds accounts 0 and 5: 3 more fit, a 4th is cut before, on both
    nonces = {1: 1, 2: 1, 3: 0, 4: 0}
    more = [sign_withdrawal(KEYS[i], i, 10, 0, nonce, X) for i, nonce in nonces.items()]
    for r in more:
        assert again.submit(r, T0 + 7).to_json() == twin.submit(r, T0 + 7).to_json()
    assert again.batch_number == twin.batch_number == 4
    assert again.batch(3).n_txs == 4 and again.batch(3).size == 8
    assert again.root == twin.root
    again.close()


def test_an_older_snapshot_without_the_open_accounts_recomputes_them(tmp_path):
    s = Sequencer(genesis(), SequencerConfig(shapes=(4, 8)))
    _scenario(s)
    s.submit(L1Request(10, ForcedWithdrawal(2, ADDR[2], 10)), T0 + 7)
    s.submit(L1Request(11, Deposit(SMALL_ORDER_KEY, 1, 5)), T0 + 7)
    body = s._dump()  # the open batch: trade (0, 5), forced withdrawal (2), refused deposit
    assert body["open"]["accounts"] == [0, 2, 5]
    del body["open"]["accounts"]
    fresh = Sequencer(genesis(), SequencerConfig(shapes=(4, 8)))
    fresh._load(body, fresh.verifier)
    assert fresh._open.accounts == {0, 2, 5} and fresh._open.slots == 3
    assert fresh.root == s.root


# --- configured units (a deployment setting: SequencerConfig.units) ------------------------------


def test_padded_size_takes_the_configured_units_as_a_tuple_or_a_mapping():
    shapes = (2, 4)
    for units in ((2, 4), {2: 2, 4: 4}):
        assert padded_size(2, shapes, True, 2, units) == 2
        assert padded_size(3, shapes, True, 4, units) == 4  # default_units(4) = 3 would refuse
        with pytest.raises(ConfigError, match="5 accounts exceed the largest batch shape 4 "):
            padded_size(3, shapes, True, 5, units)
    assert padded_size(1, (2, 4), True, 2, (3, 4)) == 2  # shape 2 with 3 units
    # no padding: a shape's own units, the default for other sizes
    assert padded_size(3, shapes, False, 4, (2, 4)) == 4
    assert padded_size(4, shapes, False, 4, (2, 4)) == 4
    assert padded_size(2, shapes, False, 3, {2: 2, 4: 3}) == 4


def test_units_config_is_validated_with_clear_errors():
    cfg = SequencerConfig(shapes=(8, 2, 4), units=(6, 2, 4))
    cfg.validate()  # sorted by shape, the units with them
    assert (cfg.shapes, cfg.units) == ((2, 4, 8), (2, 4, 6))
    assert [cfg.units_for(t) for t in (2, 4, 8)] == [2, 4, 6]
    assert cfg.units_for(3) == default_units(3)  # an unpadded size: the default
    assert cfg.max_units == 6 and cfg.unit_map == {2: 2, 4: 4, 8: 6}
    default = SequencerConfig(shapes=(2, 4, 8))
    default.validate()
    assert default.units is None and default.unit_map == {2: 2, 4: 3, 8: 5}
    bad = [
        ((2, 4), (2,), "1 counts for 2 shapes"),
        ((2, 4), (2, 3, 4), "3 counts for 2 shapes"),
        ((2, 4), (1, 3), r"units of shape 2 must be an integer in 2\.\.4"),
        ((2, 4), (2, 9), r"units of shape 4 must be an integer in 2\.\.8"),
        ((1,), (3,), r"units of shape 1 must be an integer in 2\.\.2"),
        ((2, 4), (2, True), "units of shape 4"),
        ((2, 4), (2, "3"), "units of shape 4"),
        ((2, 4), (4, 3), "must not decrease with the shape: shape 4 has 3"),
        ((4, 2), (3, 4), "must not decrease"),  # parallel to the shapes as given
        ((2, 4), 3, "a list of account counts"),
        ((2, 2), (2, 2), "distinct"),
    ]
    for shapes, units, why in bad:
        with pytest.raises(ConfigError, match=why):
            SequencerConfig(shapes=shapes, units=units).validate()
        with pytest.raises(ConfigError, match=why):  # nothing is created with it
            Sequencer(genesis(), SequencerConfig(shapes=shapes, units=units))


def test_units_round_trip_through_the_settings_json_and_old_settings_load_the_defaults():
    cfg = SequencerConfig(shapes=(2, 4), units=(2, 4))
    cfg.validate()
    d = cfg.to_json()
    assert d["units"] == [2, 4]
    assert SequencerConfig.from_json(d) == cfg
    none = SequencerConfig(shapes=(2, 4))
    assert none.to_json()["units"] is None and SequencerConfig.from_json(none.to_json()) == none
    old = {k: v for k, v in none.to_json().items() if k != "units"}  # before units existed
    loaded = SequencerConfig.from_json(old)
    assert loaded.units is None and loaded.unit_map == {2: 2, 4: 3}
    with pytest.raises(ConfigError, match="2 counts for 1 shapes"):
        SequencerConfig.from_json({**d, "shapes": [4]})
    with pytest.raises(ConfigError, match="sequencer settings"):
        SequencerConfig.from_json({**d, "units": 7})


def test_the_sequencer_cuts_at_the_configured_units_and_a_restart_keeps_them(tmp_path):
    path = tmp_path / "units.db"
    config = SequencerConfig(shapes=(2, 4), units=(2, 4))
    s = Sequencer.create(path, genesis(), config)
    for i in range(4):  # 4 accounts in 4 slots: the default 3 units would cut before the 4th
        assert s.submit(deposit(i, i), T0 + 1).batches == ((0,) if i == 3 else ())
    b = s.batch(0)
    assert (b.n_txs, b.size) == (4, 4) and s.status()["units"] == [2, 4]
    s.submit(deposit(4, 4), T0 + 2)
    s.submit(sign_transfer(KEYS[0], 0, 1, 100, 0, 0, X), T0 + 2)  # accounts 4, 0, 1: pad to 4
    b = s.cut(T0 + 2)
    assert (b.n_txs, b.size) == (2, 4)
    # the largest shape's units are the limit: a 5th account is cut before
    for i, q in ((0, 1), (1, 0), (2, 0), (3, 0)):
        s.submit(sign_withdrawal(KEYS[i], i, 10, 0, q, X), T0 + 3)
    assert s.batch_number == 3 and (s.batch(2).n_txs, s.batch(2).size) == (4, 4)
    out = s.submit(sign_withdrawal(KEYS[4], 4, 10, 0, 0, X), T0 + 3)
    assert out.batches == () and len(s.open_transactions) == 1
    batches = [s.batch(n) for n in range(s.batch_number)]
    s.close()
    again = Sequencer.open(path)  # the settings carry the units: the same cuts on replay
    assert again.config.units == (2, 4)
    assert [again.batch(n) for n in range(again.batch_number)] == batches
    again.close()
    # the same requests under the default units (3 for shape 4) cut the first batch earlier
    d = Sequencer(genesis(), SequencerConfig(shapes=(2, 4)))
    outs = [d.submit(deposit(i, i), T0 + 1).batches for i in range(4)]
    assert outs == [(), (), (), (0,)] and len(d.open_transactions) == 1  # batch 0 holds 3


def test_keys_made_for_other_units_are_stale(tmp_path):
    from rollup.keys import Deployment, KeyInfo, StaleKeysError, batch_shape

    g = genesis()
    dep = Deployment(tmp_path / "k.db")
    shape = batch_shape(g, 4, 4)
    assert (shape.n_slots, shape.n_units) == (4, 4)
    assert batch_shape(g, 4).n_units == default_units(4)
    made = KeyInfo(4, dict(_shape_json_of(shape)), "0" * 64, 1, 1, 16, "ptau")
    dep.check_shape(made, shape)  # the same shape: fresh
    with pytest.raises(StaleKeysError, match=r"another shape \(n_units 4 \(now 3\)\)"):
        dep.check_shape(made, batch_shape(g, 4))
    # a meta written before shapes recorded n_units was made with the default units
    old = {k: v for k, v in made.shape.items() if k != "n_units"}
    dep.check_shape(replace(made, shape=old), batch_shape(g, 4))
    with pytest.raises(StaleKeysError, match="n_units 3 \\(now 4\\)"):
        dep.check_shape(replace(made, shape=old), shape)


def _shape_json_of(shape) -> dict:
    from rollup.keys import _shape_json

    return _shape_json(shape)


# --- signature units: signed_messages -----------------------------------------------------------


def _verified(tx, st) -> list[tuple[bytes, tuple[int, ...]]]:
    """(signer key, message) of each signature ``State`` verifies for ``tx``: what an identity
    of ``signed_messages`` stands for."""
    key = lambda a: bj.pack_point(st.account(a).pubkey)  # noqa: E731
    cfg = st.config
    if isinstance(tx, Trade):
        return [(key(o.account), o.message(X)) for o in (tx.taker.order, tx.maker.order)]
    if isinstance(tx, Liquidate):
        return [(key(tx.liquidator.order.account), tx.liquidator.order.message(X))]
    if isinstance(tx, Withdrawal):
        return [(key(tx.account), tx.message(X))]
    if isinstance(tx, Transfer):
        return [(key(tx.sender), tx.message(X))]
    if isinstance(tx, OraclePriceTick):
        return [
            (bj.pack_point(cfg.oracle_keys[s.oracle]),
             oracle_message(tx.market, s.price, s.timestamp, X))
            for s in tx.signatures
        ]  # fmt: skip
    return []


def test_signed_messages_of_every_transaction_type():
    s = Sequencer(genesis(), SequencerConfig(shapes=(64,)))
    t = T0 + 1
    for i in range(5):
        s.submit(deposit(i, i), t)
        assert signed_messages(deposit(i, i)) == () == signed_messages(deposit(i, i).tx)
    s.submit(L1Request(5, ForcedWithdrawal(3, ADDR[3], 10)), t)
    w0, w1 = (sign_withdrawal(KEYS[3], 3, 100, 1, n, X) for n in (0, 1))
    tr = sign_transfer(KEYS[3], 3, 2, 100, 1, 2, X)
    for r in (w0, w1, tr):
        s.submit(r, t)
    s.submit(FundingTick(T0 + 5, (0, 0)), T0 + 5)
    tick3 = oracle_tick(1, 11, T0 + 5, signers=(0, 1, 2))  # a quorum of 3: one slot and a half
    s.submit(tick3, T0 + 5)
    # a maker order filled twice (account 1's sell), a taker sweeping two makers (account 2)
    s.submit(place(1, SELL, 9_000, 100, 1), T0 + 10)
    s.submit(place(0, BUY, 5_000, 100, 1), T0 + 10)
    s.submit(place(0, BUY, 4_000, 100, 2), T0 + 10)
    s.submit(place(3, SELL, 10, 10, 5, market=1), T0 + 10)
    s.submit(place(4, SELL, 10, 10, 5, market=1), T0 + 10)
    s.submit(place(2, BUY, 20, 10, 5, market=1), T0 + 10)
    s.submit(oracle_tick(0, 90, T0 + 20), T0 + 20)
    liq = Liquidate(signed(2, BUY, 1000, 95, 3), 0, 500, 89 * P, 0, 445)
    s.submit(liq, T0 + 20)
    s.submit(oracle_tick(0, 80, T0 + 30), T0 + 30)
    s.submit(Deleverage(0, 0, 1, 100, 80 * P), T0 + 30)
    txs = s.open_transactions
    assert s.batch_number == 0 and len(txs) == 19
    ids = {tx: signed_messages(tx) for tx in txs}
    # none: L1 requests, the operator's ticks and deleverages, a NoOp
    for tx in txs:
        if isinstance(tx, Deposit | ForcedWithdrawal | FundingTick | Deleverage):
            assert ids[tx] == ()
    assert signed_messages(None) == ()
    # one each: a withdrawal, a transfer (its nonce and fields), the liquidator's order
    assert ids[w0] == (("withdrawal", 3, 100, 1, 0),) and ids[w1] == (("withdrawal", 3, 100, 1, 1),)
    assert ids[tr] == (("transfer", 3, 2, 100, 1, 2),)
    assert ids[liq] == (("order", liq.liquidator.order),)
    # an oracle tick: one per signature (3 here), distinct
    assert len(ids[tick3]) == 3 and len(set(ids[tick3])) == 3
    assert ids[tick3][2] == ("oracle", 2, 1, 11 * P, T0 + 5)
    # trades: taker, maker; the maker filled twice and the sweeping taker are one identity each
    trades = [tx for tx in txs if isinstance(tx, Trade)]
    assert len(trades) == 4
    (a, b), (c, d) = ids[trades[0]], ids[trades[1]]
    assert b == d == ("order", signed(1, SELL, 9_000, 100, 1).order) and a != c
    (e, f), (g, h) = ids[trades[2]], ids[trades[3]]
    assert e == g and f != h and len({a, b, c, e, f, h}) == 6
    # in the batch: 2 withdrawals, a transfer, 3 + 2 + 2 oracle prices, 6 orders, a liquidator
    assert len(set().union(*ids.values())) == 2 + 1 + 7 + 6 + 1
    # an identity stands for (signer, message): equal identities exactly when those are equal
    pairs = [(i, v) for tx in txs for i, v in zip(ids[tx], _verified(tx, s.state), strict=True)]
    assert len(pairs) == sum(len(v) for v in ids.values())
    for i1, v1 in pairs:
        for i2, v2 in pairs:
            assert (i1 == i2) == (v1 == v2)
    # the same order in a trade and a liquidation: the same message under the same key
    so = liq.liquidator
    assert signed_messages(Trade(so, signed(1, SELL, 1, 95, 9), 1, 95 * P, 0, 0))[0] == ids[liq][0]
    # the same price and time from another oracle, or for another market: other identities
    other = oracle_tick(0, 11, T0 + 5, signers=(0, 1, 2))
    assert not set(signed_messages(other)) & set(ids[tick3])
    # the same fields signed by another account (another key): another identity
    assert ids[tr] != signed_messages(sign_transfer(KEYS[2], 2, 3, 100, 1, 2, X))


def test_signed_messages_rejects_what_is_not_a_transaction():
    with pytest.raises(MalformedTransactionError, match="not a transaction: PlaceOrder"):
        signed_messages(PlaceOrder(signed(0, BUY, 1, 100, 1)))
    with pytest.raises(MalformedTransactionError, match="not a transaction: str"):
        signed_messages("withdrawal")


# --- signature units: padded_size ---------------------------------------------------------------


def test_padded_size_gives_enough_signature_units():
    assert (default_signatures(1), default_signatures(2), default_signatures(4)) == (2, 3, 5)
    assert default_signatures(8) == 9
    shapes = (2, 4)
    assert padded_size(2, shapes, True, 0, None, 3) == 2
    assert padded_size(2, shapes, True, 0, None, 4) == 4  # shape 2 has 3 signature units
    assert padded_size(1, shapes, True, 2, None, 5) == 4
    assert padded_size(2, shapes, True, 3, None, 3) == 4  # the accounts need shape 4
    with pytest.raises(ConfigError, match=r"verifying 6 signed messages exceed the largest "
                       r"batch shape 4 \(3 accounts, 5 signature units\)"):  # fmt: skip
        padded_size(3, shapes, True, 0, None, 6)
    # configured, as a tuple or a mapping
    for sigs in ((4, 8), {2: 4, 4: 8}):
        assert padded_size(2, shapes, True, 0, None, 4, sigs) == 2
        assert padded_size(2, shapes, True, 0, None, 8, sigs) == 4
        with pytest.raises(ConfigError, match="9 signed messages exceed"):
            padded_size(2, shapes, True, 0, None, 9, sigs)
    assert padded_size(2, shapes, True, 0, None, 3, (2, 4)) == 4  # shape 2 with 2
    # no padding: the fewest slots >= n whose signature units (and account units) hold them
    assert padded_size(2, shapes, False, 0, None, 3) == 2
    assert padded_size(1, shapes, False, 0, None, 4) == 3  # default_signatures(3) = 4
    assert padded_size(1, shapes, False, 0, None, 4, (4, 8)) == 2  # shape 2's own 4
    assert padded_size(3, shapes, False, 0, None, 5, (4, 8)) == 4
    for n in range(1, 9):
        for k in range(0, 2 * n + 1):
            for m in range(0, 2 * n + 1):
                size = padded_size(n, (1, 2, 4, 8, 16), False, k, None, m)
                assert size >= n and default_units(size) >= k and default_signatures(size) >= m
                prev = size - 1
                assert size == n or default_units(prev) < k or default_signatures(prev) < m


# --- signature units: the sequencer's cuts -------------------------------------------------------


def _sig_scenario(
    s: Sequencer, *, end_cut: bool = True, steps: int | None = None
) -> list[tuple[int, ...]]:
    """Trades, withdrawals and a 3-signature oracle tick between accounts 0, 1, 2 (shapes
    (2, 4): 3 account units); returns each request's ``Outcome.batches`` (a manual cut: "cut",
    or "-" if there was nothing to cut). ``steps``: only the first ones."""
    cuts: list = []

    def go(request, now=T0 + 2):
        if steps is None or len(cuts) < steps:
            cuts.append(s.submit(request, now).batches)

    def cut(now=T0 + 2):
        if steps is None or len(cuts) < steps:
            cuts.append("cut" if s.cut(now) is not None else "-")

    for i in range(3):
        go(deposit(i, i), T0 + 1)
    cut(T0 + 1)  # batch 0: the deposits
    go(place(1, SELL, 20, 100, 1))  # rests
    go(place(0, BUY, 10, 100, 1))  # trade b: orders 0/1, 1/1: 2 signed messages
    go(place(2, BUY, 10, 100, 1))  # trade c: order 1/1 filled twice: 3
    go(place(2, SELL, 10, 101, 2))  # rests
    go(place(0, BUY, 10, 101, 2))  # trade e: orders 0/2, 2/2: 5 = default_signatures(4)
    go(sign_withdrawal(KEYS[1], 1, 10, 0, 0, X))  # f: a 6th
    go(place(2, SELL, 5, 120, 4))  # rests: no transaction
    cut()
    go(place(1, SELL, 10, 100, 3))  # rests
    go(place(0, BUY, 10, 100, 3))  # trade h: 2
    go(sign_withdrawal(KEYS[2], 2, 10, 0, 0, X))  # 3, in 2 slots
    go(oracle_tick(0, 100, T0 + 2, signers=(0, 1, 2)))  # 2 slots, 3 signatures: 6
    if end_cut:
        cut(T0 + 3)
    return cuts


def _sig_shapes(s: Sequencer) -> list[tuple[int, int, int]]:
    """(transactions, size, distinct signed messages) of every batch, each within the
    signature units of its size and of the largest shape."""
    out = []
    for n in range(s.batch_number):
        b = s.batch(n)
        m = len(set().union(*(signed_messages(tx) for tx in b.transactions)))
        assert m <= min(s.config.signatures_for(b.size), s.config.max_signatures)
        out.append((b.n_txs, b.size, m))
    return out


def test_the_sequencer_cuts_before_the_default_signature_units_and_not_before(tmp_path):
    s = Sequencer.create(tmp_path / "sig.db", genesis(), SequencerConfig(shapes=(2, 4)))
    assert s.config.max_signatures == 5 and s.status()["signatures"] == [3, 5]
    cuts = _sig_scenario(s)
    # b, c, e fill the 5 signature units in 3 slots; f (a 6th) is cut before; the tick's 3
    # signatures count all: 3 + 3 > 5 is cut before (counted by slot it would have fit)
    assert cuts == [(), (), (), "cut", (), (), (), (), (), (1,), (), "cut",
                    (), (), (), (3,), "cut"]  # fmt: skip
    assert _sig_shapes(s) == [(3, 4, 0), (3, 4, 5), (1, 2, 1), (2, 4, 3), (1, 2, 3)]
    assert isinstance(s.batch(4).transactions[0], OraclePriceTick)
    s.close()


@pytest.mark.parametrize(
    "signatures,cuts,shapes",
    [
        (  # 4 signature units: e is cut before; padding for the signed messages (S(2) = 2)
            (2, 4),
            [(), (), (), "cut", (), (), (), (), (1,), (), (), "cut", (), (), (), (3,), "cut"],
            [(3, 4, 0), (2, 4, 3), (2, 4, 3), (2, 4, 3), (1, 4, 3)],
        ),
        (  # 8 signature units: only the slots cut
            (3, 8),
            [(), (), (), "cut", (), (), (), (), (), (1,), (), "-", (), (), (), (2,), "-"],
            [(3, 4, 0), (4, 4, 6), (3, 4, 6)],
        ),
    ],
)
def test_the_sequencer_cuts_at_the_configured_signature_units(tmp_path, signatures, cuts, shapes):
    path = tmp_path / "sig.db"
    config = SequencerConfig(shapes=(2, 4), signatures=signatures)
    s = Sequencer.create(path, genesis(), config)
    assert s.config.max_signatures == signatures[-1]
    assert _sig_scenario(s) == cuts
    assert _sig_shapes(s) == shapes and s.status()["signatures"] == list(signatures)
    batches = [s.batch(n) for n in range(s.batch_number)]
    s.close()
    again = Sequencer.open(path)  # the settings carry the signature units: the same batches
    assert again.config.signatures == signatures
    assert [again.batch(n) for n in range(again.batch_number)] == batches
    again.close()


def test_a_rejected_transaction_at_the_signature_units_cuts_nothing():
    s = Sequencer(genesis(), SequencerConfig(shapes=(2, 4)))
    cuts = _sig_scenario(s, steps=9)
    assert cuts[-1] == () and len(s._open.signatures) == 5  # after trade e: full
    root, n, ob = s.root, len(s.open_transactions), s.status()["open_batch"]
    bad = [
        (sign_withdrawal(KEYS[1], 1, 10, 0, 5, X), BadNonceError),
        (sign_withdrawal(KEYS[2], 1, 10, 0, 0, X), BadSignatureError),  # another key
        (replace(sign_withdrawal(KEYS[1], 1, 10, 0, 0, X), amount=[10]), MalformedTransactionError),
        (replace(oracle_tick(0, 101, T0 + 2), signatures=[[0]]), MalformedTransactionError),
        (place(0, BUY, 10, 101, 5, expiry=T0), OrderExpiredError),
    ]
    for request, error in bad:
        with pytest.raises(error):  # checked before a cut: a typed error, nothing cut
            s.submit(request, T0 + 2)
        assert s.root == root and len(s.open_transactions) == n and s.batch_number == 1
        assert s.status()["open_batch"] == ob
    out = s.submit(sign_withdrawal(KEYS[1], 1, 10, 0, 0, X), T0 + 2)  # valid: cut before
    assert out.batches == (1,) and len(s.open_transactions) == 1


def test_a_tick_with_more_signatures_than_the_largest_shape_verifies_is_refused():
    s = Sequencer(genesis(), SequencerConfig(shapes=(2, 4), signatures=(2, 2)))
    root = s.root
    with pytest.raises(BatchCapacityError, match="verifies 3 signed messages; the largest "
                       "batch verifies 2 .*shape 4"):  # fmt: skip
        s.submit(oracle_tick(0, 100, T0 + 2, signers=(0, 1, 2)), T0 + 2)
    assert s.root == root and s.open_transactions == () and s.batch_number == 0
    s.submit(oracle_tick(0, 100, T0 + 2), T0 + 2)  # a quorum of 2 fits
    assert len(s.open_transactions) == 1


@pytest.mark.parametrize("snapshot_every", [1, 2, 8])
def test_a_restart_keeps_the_signature_cuts_and_the_open_signed_messages(tmp_path, snapshot_every):
    """With a snapshot after every batch, every second one, and none: the same batches, the
    same open batch (its signed messages recomputed), the same cuts after."""
    path = tmp_path / "sig.db"
    config = SequencerConfig(shapes=(2, 4), snapshot_every=snapshot_every)
    s = Sequencer.create(path, genesis(), config)
    twin = Sequencer(genesis(), config)
    cuts = _sig_scenario(s, end_cut=False)
    assert _sig_scenario(twin, end_cut=False) == cuts
    batches = [s.batch(n) for n in range(s.batch_number)]
    s.close()
    again = Sequencer.open(path)
    assert [again.batch(n) for n in range(again.batch_number)] == batches
    assert again.status() == twin.status() and again.status()["open_batch"]["signatures"] == 3
    assert again._open.signatures == twin._open.signatures
    # the open tick's 3 signed messages: a trade (2 more) fits, a withdrawal is cut before
    more = [place(2, SELL, 10, 100, 6), place(1, BUY, 10, 100, 6),
            sign_withdrawal(KEYS[0], 0, 10, 0, 0, X)]  # fmt: skip
    for r in more:
        assert again.submit(r, T0 + 3).to_json() == twin.submit(r, T0 + 3).to_json()
    assert again.batch_number == twin.batch_number == 5 and again.root == twin.root
    b = again.batch(4)  # the tick and the trade: 5 signed messages in 3 slots
    assert b.n_txs == 2 and isinstance(b.transactions[0], OraclePriceTick) and b.size == 4
    assert again.open_transactions == twin.open_transactions and len(twin.open_transactions) == 1
    again.close()


def test_a_restart_after_a_manual_cut_of_the_snapshots_open_transactions(tmp_path):
    """The snapshot after f (batch 1 was cut before f, in f's request) holds f in the open
    batch; batch 2 = [f] was then cut by hand with no transaction after f: the replay from
    that snapshot cuts it at once (there is no transaction to end it on)."""
    path = tmp_path / "sig.db"
    s = Sequencer.create(path, genesis(), SequencerConfig(shapes=(2, 4), snapshot_every=2))
    cuts = _sig_scenario(s, steps=12)
    assert cuts[-3:] == [(1,), (), "cut"] and s.batch_number == 3
    assert s.storage.latest_snapshot()[1] == 2  # taken with batch 1, before the manual cut
    batches = [s.batch(n) for n in range(3)]
    root = s.root
    s.close()
    again = Sequencer.open(path)
    assert again.batch_number == 3 and again.open_transactions == () and again.root == root
    assert [again.batch(n) for n in range(3)] == batches
    assert again.submit(place(1, SELL, 10, 100, 3), T0 + 2).status == "resting"
    again.close()


def test_a_snapshot_carries_no_signed_messages_they_are_recomputed(tmp_path):
    s = Sequencer(genesis(), SequencerConfig(shapes=(2, 4)))
    _sig_scenario(s, end_cut=False)
    body = s._dump()
    assert "signatures" not in body["open"]
    fresh = Sequencer(genesis(), SequencerConfig(shapes=(2, 4)))
    fresh._load(body, fresh.verifier)
    assert fresh._open.signatures == s._open.signatures and len(s._open.signatures) == 3


def test_a_replay_refuses_a_stored_batch_over_the_signature_units(tmp_path):
    import sqlite3

    from rollup.requests_json import dumps

    path = tmp_path / "sig.db"
    s = Sequencer.create(path, genesis(), SequencerConfig(shapes=(2, 4), signatures=(3, 8)))
    for i in range(3):
        s.submit(deposit(i, i), T0 + 1)
    s.cut(T0 + 1)
    for i, nonce in ((0, 0), (1, 0), (2, 0), (0, 1)):
        out = s.submit(sign_withdrawal(KEYS[i], i, 10, 0, nonce, X), T0 + 2)
    assert out.batches == (1,) and s.batch(1).n_txs == 4  # 4 signed messages: S(4) = 8
    s.close()
    # the settings as if the batches had been cut with 2 signature units: the replay stops at
    # the third withdrawal of batch 1
    settings = SequencerConfig(shapes=(2, 4), signatures=(2, 2))
    settings.validate()
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE meta SET value = ? WHERE key = 'settings'",
                     (dumps(settings.to_json()),))  # fmt: skip
    conn.close()
    with pytest.raises(StorageError, match="batch 1 verifies too many signed messages"):
        Sequencer.open(path)


@pytest.mark.parametrize("signatures", [None, (2, 4)])
def test_every_batch_cut_fits_its_shapes_signature_table(tmp_path, signatures):
    """The batch circuit (``rollup.proving.batch_witness``: every gate checked) of each batch's
    size, with the deployment's units, holds the batch's signed messages: the sequencer's count
    (``signed_messages``) holds in the circuit's table, to the last unit (batch 1 of the default
    run: 5 messages, S(4) = 5). One signature unit fewer than the distinct messages is refused
    by name (``rollup.proving``)."""
    from circuits.builder import CircuitError
    from rollup import pubdata
    from rollup.keys import batch_shape
    from rollup.proving import batch_witness

    config = SequencerConfig(shapes=(2, 4), signatures=signatures)
    s = Sequencer.create(tmp_path / "sig.db", genesis(), config)
    _sig_scenario(s)
    for n in range(s.batch_number):
        b = s.batch(n)
        units, sigs = config.units_for(b.size), config.signatures_for(b.size)
        batch_witness(s.state_before(n), b, batch_shape(s.genesis, b.size, units, sigs))
    # batch 1 of the configured run ([b, c]: 3 messages) without its padding: 2 slots
    b = s.batch(1)
    if signatures is not None:
        assert (b.n_txs, b.size) == (2, 4)
        records = b.records[:2]
        short = replace(b, records=records, pubdata=pubdata.encode_records(records))
        batch_witness(s.state_before(1), short, batch_shape(s.genesis, 2, 4, 3))
        with pytest.raises(CircuitError, match="3 distinct signed messages for 2 signature"):
            batch_witness(s.state_before(1), short, batch_shape(s.genesis, 2, 4, 2))
    s.close()


# --- signature units: the configuration ----------------------------------------------------------


def test_signatures_config_is_validated_with_clear_errors():
    cfg = SequencerConfig(shapes=(8, 2, 4), units=(6, 2, 4), signatures=(16, 3, 8))
    cfg.validate()  # sorted by shape, the units and signature units with them
    assert (cfg.shapes, cfg.units, cfg.signatures) == ((2, 4, 8), (2, 4, 6), (3, 8, 16))
    assert [cfg.signatures_for(t) for t in (2, 4, 8)] == [3, 8, 16]
    assert cfg.signatures_for(3) == default_signatures(3)  # an unpadded size: the default
    assert cfg.max_signatures == 16 and cfg.signature_map == {2: 3, 4: 8, 8: 16}
    default = SequencerConfig(shapes=(2, 4, 8))
    default.validate()
    assert default.signatures is None and default.signature_map == {2: 3, 4: 5, 8: 9}
    assert check_signatures([4, 2], None) == ((2, 4), None)
    bad = [
        ((2, 4), (3,), "batch signatures: 1 counts for 2 shapes"),
        ((2, 4), (3, 5, 9), "3 counts for 2 shapes"),
        ((2, 4), (1, 5), r"signature units of shape 2 must be an integer in 2\.\.4"),
        ((2, 4), (3, 9), r"signature units of shape 4 must be an integer in 2\.\.8"),
        ((1,), (3,), r"signature units of shape 1 must be an integer in 2\.\.2"),
        ((2, 4), (3, True), "signature units of shape 4"),
        ((2, 4), (3, "5"), "signature units of shape 4"),
        ((2, 4), (4, 3), "signatures must not decrease with the shape: shape 4 has 3"),
        ((4, 2), (3, 4), "must not decrease"),  # parallel to the shapes as given
        ((2, 4), 3, "a list of signature counts"),
        ((2, 2), (3, 3), "distinct"),
    ]
    for shapes, sigs, why in bad:
        with pytest.raises(ConfigError, match=why):
            SequencerConfig(shapes=shapes, signatures=sigs).validate()
        with pytest.raises(ConfigError, match=why):  # nothing is created with it
            Sequencer(genesis(), SequencerConfig(shapes=shapes, signatures=sigs))


def test_signatures_round_trip_through_the_settings_json_and_old_settings_load_the_defaults():
    cfg = SequencerConfig(shapes=(2, 4), signatures=(4, 8))
    cfg.validate()
    d = cfg.to_json()
    assert d["signatures"] == [4, 8] and d["units"] is None
    assert SequencerConfig.from_json(d) == cfg
    none = SequencerConfig(shapes=(2, 4))
    assert none.to_json()["signatures"] is None
    assert SequencerConfig.from_json(none.to_json()) == none
    old = {k: v for k, v in none.to_json().items() if k not in ("units", "signatures")}
    loaded = SequencerConfig.from_json(old)  # settings written before either existed
    assert loaded.signatures is None and loaded.signature_map == {2: 3, 4: 5}
    with pytest.raises(ConfigError, match="2 counts for 1 shapes"):
        SequencerConfig.from_json({**d, "shapes": [4]})
    with pytest.raises(ConfigError, match="sequencer settings"):
        SequencerConfig.from_json({**d, "signatures": 7})


def test_keys_made_for_other_signature_units_are_stale(tmp_path):
    from rollup.keys import Deployment, KeyInfo, StaleKeysError, batch_shape

    g = genesis()
    dep = Deployment(tmp_path / "k.db")
    shape = batch_shape(g, 4, None, 8)
    assert (shape.n_slots, shape.n_units, shape.n_signatures) == (4, default_units(4), 8)
    assert batch_shape(g, 4).n_signatures == default_signatures(4)
    assert batch_shape(g, 4, 4, 6) == batch_shape(g, 4, n_units=4, n_signatures=6)
    made = KeyInfo(4, dict(_shape_json_of(shape)), "0" * 64, 1, 1, 16, "ptau")
    assert made.shape["n_signatures"] == 8
    dep.check_shape(made, shape)  # the same shape: fresh
    with pytest.raises(StaleKeysError, match=r"another shape \(n_signatures 8 \(now 5\)\)"):
        dep.check_shape(made, batch_shape(g, 4))
    with pytest.raises(StaleKeysError, match=r"n_units 3 \(now 4\), n_signatures 8 \(now 6\)"):
        dep.check_shape(made, batch_shape(g, 4, 4, 6))
    # a meta written before shapes recorded n_signatures was made with the default
    old = {k: v for k, v in made.shape.items() if k != "n_signatures"}
    dep.check_shape(replace(made, shape=old), batch_shape(g, 4))
    with pytest.raises(StaleKeysError, match=r"n_signatures 5 \(now 8\)"):
        dep.check_shape(replace(made, shape=old), shape)
    # and one from before n_units too: both defaults
    older = {k: v for k, v in old.items() if k != "n_units"}
    dep.check_shape(replace(made, shape=older), batch_shape(g, 4))


# --- the demo: each round is one batch ----------------------------------------------------------


def _demo_rounds(config_of) -> list[int]:
    """The demo's market rounds (``rollup.demo.play_round``, 4 slots) on an in-memory sequencer
    with ``config_of(settings)``: how many batches each round made."""
    import random
    import threading

    from rollup import demo

    settings = demo.DemoSettings()
    now = [T0]
    g = demo.demo_genesis_small(T0, settings.account_depth, settings.order_depth)
    seq = Sequencer(g, config_of(settings), clock=lambda: now[0])
    market = demo._Market(seq, threading.Lock(), g, random.Random(1), lambda: now[0])
    for q, (name, usdc) in enumerate(demo.TRADERS):
        pub = bytes.fromhex(market.wallets[name].pubkey_hex[2:])
        seq.submit(L1Request(q, Deposit(pub, 0x100 + q, usdc * demo.USDC)))
    seq.cut()
    market.resolve_accounts()
    res = demo.DemoResult(settings, g, None, None, None, 0, 0, False)
    made = []
    for events in demo.plan_rounds(settings.batches - 1):
        now[0] += demo.ROUND_SECONDS
        before = seq.batch_number
        demo.play_round(market, res, events, settings.n_slots)
        seq.cut()
        made.append(seq.batch_number - before)
    assert res.liquidation["victim"] == "carol"  # every event of the scenario happened
    return made


def test_the_demo_signature_units_hold_each_round_in_one_batch():
    """2 * n_slots signature units (``DemoSettings.n_signatures``): a round of an oracle tick
    and three trades of new orders signs 8 messages in 4 slots; the default T + 1 = 5 would
    cut such a round in two."""
    from rollup.demo import DemoSettings

    settings = DemoSettings()
    assert (settings.n_slots, settings.n_units, settings.n_signatures) == (4, 4, 8)
    config = settings.sequencer_config()
    assert config.signatures == (8,) and config.units == (4,)
    assert _demo_rounds(lambda st: st.sequencer_config()) == [1, 1, 1]
    default = lambda st: SequencerConfig(shapes=(st.n_slots,), units=(st.n_units,))  # noqa: E731
    assert max(_demo_rounds(default)) == 2
