"""rollup.storage: opening and creating databases (clean errors), atomic commits (all or
nothing, and only on top of what this writer last saw), batches read back exactly, state
snapshots that rebuild the same root (and are refused when they do not)."""

from __future__ import annotations

import sqlite3

import pytest

from circuits.gadgets import babyjubjub as bj
from circuits.gadgets import eddsa
from rollup.batch import Batch, L1Request
from rollup.orderbook import PlaceOrder
from rollup.pubdata import encode_records
from rollup.sequencer import Sequencer, SequencerConfig
from rollup.storage import (
    KEEP_SNAPSHOTS,
    SCHEMA_VERSION,
    RequestRow,
    Storage,
    StorageError,
    dump_state,
    load_state,
)
from rollup.types import (
    DEMO_INSURANCE_KEY,
    PRICE_SCALE,
    Deposit,
    ExchangeConfig,
    Genesis,
    MarketParams,
    NoopRecord,
    Order,
    Side,
    Signature,
    SignedOrder,
)

P = PRICE_SCALE
T0 = 1_700_000_000
SIG = Signature((0, 1), 0)


class Trusting:
    def verify(self, pubkey, message, signature) -> bool:
        return True


def genesis() -> Genesis:
    markets = (MarketParams("BTC", 8, 50_000, 100_000, 10_000, 10**9, 10**6, 10**4 * P),)
    oracle = (eddsa.prv2pub(b"\x42" * 32),)
    return Genesis(ExchangeConfig(9, markets, oracle, 1, 60, 4, 2), (100 * P,), T0)


def key(i: int) -> bytes:
    """Account i's packed key (0: the insurance account's development key)."""
    return bj.pack_point(eddsa.prv2pub(DEMO_INSURANCE_KEY if i == 0 else bytes([i + 1]) * 32))


def order(account, side, size, price, oid) -> PlaceOrder:
    o = Order(account, 0, side, size, price * P, 100, T0 + 1000, oid)
    return PlaceOrder(SignedOrder(o, SIG))


@pytest.fixture
def seq(tmp_path):
    config = SequencerConfig(shapes=(2,), snapshot_every=1)
    s = Sequencer.create(tmp_path / "s.db", genesis(), config, verifier=Trusting())
    for i in range(3):
        s.submit(L1Request(i, Deposit(key(i), 0x100 + i, 10**6)), T0 + 1)
    s.submit(order(1, Side.SELL, 10, 100, 1), T0 + 2)
    s.submit(order(0, Side.BUY, 4, 100, 1), T0 + 3)
    yield s
    s.close()


def test_create_and_open_errors(tmp_path):
    path = tmp_path / "x.db"
    Storage.create(path, {"g": 1}, {"s": 2}).close()
    with pytest.raises(StorageError, match="already exists"):
        Storage.create(path, {}, {})
    with pytest.raises(StorageError, match="sequencer init"):
        Storage.open(tmp_path / "missing.db")
    assert not (tmp_path / "missing.db").exists()
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"not a database at all" * 100)
    with pytest.raises(StorageError):
        Storage.open(junk)
    other = tmp_path / "other.db"
    with sqlite3.connect(other) as conn:
        conn.execute("CREATE TABLE t (a)")
    with pytest.raises(StorageError, match="not a sequencer database"):
        Storage.open(other)
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE meta SET value = '999' WHERE key = 'schema_version'")
    with pytest.raises(StorageError, match=f"reads version {SCHEMA_VERSION}"):
        Storage.open(path)
    with pytest.raises(StorageError):
        Sequencer.open(junk)


def test_wal_and_meta(tmp_path):
    st = Storage.create(tmp_path / "m.db", {"g": [1, 2]}, {"shapes": [4]})
    assert st._conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert st.genesis_json == {"g": [1, 2]} and st.settings_json == {"shapes": [4]}
    assert st.last_seq() == 0 and st.batch_count() == 0 and st.latest_snapshot() is None
    st.close()


def test_batches_read_back_exactly(seq):
    assert seq.batch_number == 2  # 4 transactions in batches of 2
    seq.submit(order(2, Side.BUY, 1, 100, 1), T0 + 4)
    b = seq.cut(T0 + 5)
    assert isinstance(b, Batch) and (b.n_txs, b.size) == (1, 2)
    assert seq.storage.batch(b.number) == b
    for n in range(seq.batch_number):
        stored = seq.storage.batch(n)
        assert stored.pubdata == encode_records(stored.records) and stored.number == n
    assert seq.storage.pubdata()[-1] == b.pubdata
    with pytest.raises(StorageError, match="no batch"):
        seq.storage.batch(99)


def test_commit_is_all_or_nothing(seq):
    st = seq.storage
    before = st.fingerprint()
    row = RequestRow(st.last_seq() + 1, "order", "{}", T0 + 9, "{}")
    bad = Batch(seq.batch_number, T0, 0, 0, ("not a transaction",), (NoopRecord(),), b"", (0, 0))
    with pytest.raises(Exception):  # noqa: B017 (the transaction cannot be encoded)
        st.commit([row], [bad], None, expect_seq=st.last_seq(), expect_batches=st.batch_count())
    assert st.fingerprint() == before
    with pytest.raises(StorageError, match="changed under"):
        st.commit([row], [], None, expect_seq=st.last_seq() - 1, expect_batches=st.batch_count())
    with pytest.raises(StorageError, match="changed under"):
        st.commit([row], [], None, expect_seq=st.last_seq(), expect_batches=99)
    assert st.fingerprint() == before
    with pytest.raises(StorageError):  # a duplicate sequence number: the UNIQUE key refuses
        st.commit([row, row], [], None, expect_seq=st.last_seq(), expect_batches=st.batch_count())
    assert st.fingerprint() == before
    st.commit([row], [], None, expect_seq=st.last_seq(), expect_batches=st.batch_count())
    assert st.last_seq() == row.seq


def test_only_the_latest_snapshots_are_kept(seq):
    for k in range(4):
        seq.submit(order(2, Side.SELL, 1, 100, 4 + 4 * k), T0 + 10 + k)
        seq.submit(order(0, Side.BUY, 1, 100, 5 + 4 * k), T0 + 10 + k)
        seq.cut(T0 + 10 + k)
    n = seq.storage._conn.execute("SELECT count(*) FROM snapshots").fetchone()[0]
    assert n == KEEP_SNAPSHOTS
    last_seq, n_batches, body = seq.storage.latest_snapshot()
    assert last_seq == seq.next_seq - 1 and n_batches == seq.batch_number
    assert body["state"]["root"] == str(seq.root)


def test_state_dump_and_load(seq):
    data = dump_state(seq.state)
    again = load_state(genesis(), data, backend="python")
    assert again.root == seq.root
    assert list(again.accounts()) == list(seq.state.accounts())
    assert again.order_slot(1, 1) == seq.state.order_slot(1, 1) == (1, 4)
    assert again.insurance == seq.state.insurance
    assert again.pending_insurance == seq.state.pending_insurance
    assert again.insurance_dust == seq.state.insurance_dust
    tampered = dict(data, insurance_dust=(seq.state.insurance_dust + 1) % (1 << 32))
    with pytest.raises(StorageError, match="recorded root"):
        load_state(genesis(), tampered)
    with pytest.raises(StorageError, match="does not load"):
        load_state(genesis(), {k: v for k, v in data.items() if k != "slots"})
