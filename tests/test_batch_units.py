"""Account units of a batch (the batch circuit loads and stores every account a batch touches
once, ``circuits.gadgets.account_memory``): ``rollup.batch.accessed_accounts`` for every
transaction type, executed and refused; ``padded_size`` picks a shape with enough units; the
sequencer cuts a batch before a transaction that would touch more distinct accounts than
the largest shape's units (``default_units(capacity)``, or the deployment's
``SequencerConfig.units``: validated, stored in the settings, used by the cut, the padding and
the keys' shape), and not before; a restart from the database re-cuts the same batches and
restores the open batch's accounts.

Fixtures and signed orders come from ``tests.test_sequencer`` (genesis with 5 keys; one extra
key here for account 5)."""

from __future__ import annotations

import functools
from dataclasses import replace

import pytest

from circuits.gadgets import babyjubjub as bj
from circuits.gadgets import eddsa
from circuits.state_transition import default_units
from rollup.batch import L1Request, accessed_accounts, padded_size
from rollup.errors import (
    BadNonceError,
    ConfigError,
    MalformedTransactionError,
    UnknownAccountError,
)
from rollup.orderbook import PlaceOrder
from rollup.sequencer import Sequencer, SequencerConfig
from rollup.types import (
    Deleverage,
    Deposit,
    ForcedWithdrawal,
    FundingTick,
    Liquidate,
    NoopRecord,
    Order,
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
