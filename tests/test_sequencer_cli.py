"""``zkperp sequencer ...`` and ``zkperp batch show`` (cli/sequencer_cmds.py) on a demo
database: init, submit signed JSON (file or stdin), cut, status, account, book, batch show;
malformed or rejected requests give one clear line, exit 1, and change nothing."""

from __future__ import annotations

import json

import click
import pytest
from click.testing import CliRunner

from circuits.gadgets import babyjubjub as bj
from circuits.gadgets import eddsa
from cli import sequencer_cmds
from cli.main import _Group, zkperp
from rollup.batch import L1Request
from rollup.orderbook import PlaceOrder, TimeInForce, sign_cancel
from rollup.requests_json import request_to_json
from rollup.storage import Storage
from rollup.types import (
    DEMO_INSURANCE_KEY,
    PRICE_SCALE,
    Deposit,
    Order,
    Side,
    sign_order,
    sign_withdrawal,
)

P = PRICE_SCALE
T0 = 1_700_000_000
X = 1  # the demo's exchange id
KEYS = [DEMO_INSURANCE_KEY] + [bytes([i + 1]) * 32 for i in range(1, 3)]  # 0: insurance


def _cli() -> click.Group:
    """``zkperp`` when cli/main.py registers these commands; else the same groups here."""
    if "sequencer" in zkperp.commands and "init" in getattr(
        zkperp.commands["sequencer"], "commands", {}
    ):
        return zkperp

    @click.group(cls=_Group)
    def root() -> None:
        """zkperp (test copy)."""

    @root.group(cls=_Group)
    def sequencer() -> None:
        """The sequencer."""

    @root.group(cls=_Group)
    def batch() -> None:
        """Batches."""

    sequencer_cmds.register(sequencer, batch)
    return root


CLI = _cli()


def run(*args, input=None):
    return CliRunner().invoke(CLI, [str(a) for a in args], input=input, prog_name="zkperp")


def ok(*args, input=None) -> str:
    result = run(*args, input=input)
    assert result.exit_code == 0, result.output
    return result.output


def clean_failure(result, code: int = 1) -> str:
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output and isinstance(result.exception, SystemExit)
    assert "Error" in result.output
    return result.output


def write(tmp_path, name: str, request) -> str:
    path = tmp_path / name
    path.write_text(json.dumps(request_to_json(request)))
    return str(path)


def order(i, side, size, price, oid, tif=TimeInForce.GTC) -> PlaceOrder:
    o = Order(i, 0, side, size, price * P, 10**6, 2**32 - 1, oid)
    return PlaceOrder(sign_order(KEYS[i], o, X), tif)


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    """A demo database with three funded accounts and a resting order (built once)."""
    tmp = tmp_path_factory.mktemp("cli")
    path = tmp / "seq.db"
    out = ok("sequencer", "init", path, "--time", T0, "--shapes", "4,8")
    assert "created" in out and "BTC" in out and "private keys are public" in out
    for i in range(3):
        pub = bj.pack_point(eddsa.prv2pub(KEYS[i]))
        req = write(tmp, f"dep{i}.json", L1Request(i, Deposit(pub, 0x100 + i, 10**10)))
        assert "applied" in ok("sequencer", "submit", path, req, "--now", T0 + 1)
    ok("sequencer", "submit", path, write(tmp, "sell.json", order(1, Side.SELL, 1000, 600, 1)),
       "--now", T0 + 2)  # fmt: skip
    return path


def test_init_refuses_an_existing_database(db):
    out = clean_failure(run("sequencer", "init", db))
    assert "already exists" in out


def test_genesis_export_round_trips(db, tmp_path):
    """`sequencer genesis` prints the genesis an auditor needs; a database made from it has the
    same genesis root."""
    from rollup.requests_json import genesis_from_json
    from rollup.state import State

    out = ok("sequencer", "genesis", db)
    g = genesis_from_json(json.loads(out))
    assert g.timestamp == T0 and g.config.exchange_id == X
    path = tmp_path / "g.json"
    ok("sequencer", "genesis", db, "-o", path)
    assert json.loads(path.read_text()) == json.loads(out)
    ok("sequencer", "init", tmp_path / "copy.db", "--genesis", path)
    again = genesis_from_json(json.loads(ok("sequencer", "genesis", tmp_path / "copy.db")))
    assert State(again).root == State(g).root
    clean_failure(run("sequencer", "genesis", tmp_path / "missing.db"), 2)


def test_init_from_a_genesis_file(tmp_path):
    from rollup.requests_json import genesis_to_json
    from rollup.sequencer import demo_genesis

    g = tmp_path / "genesis.json"
    g.write_text(json.dumps(genesis_to_json(demo_genesis(T0, exchange_id=5))))
    out = ok("sequencer", "init", tmp_path / "g.db", "--genesis", g, "--no-pad")
    assert "exchange 5" in out and "pad False" in out
    g.write_text('{"exchange_id": 1}')
    assert "missing field" in clean_failure(run("sequencer", "init", tmp_path / "h.db",
                                                "--genesis", g))  # fmt: skip
    assert not (tmp_path / "h.db").exists()
    clean_failure(run("sequencer", "init", tmp_path / "i.db", "--genesis", tmp_path / "no"), 2)
    clean_failure(run("sequencer", "init", tmp_path / "i.db", "--shapes", "4,x"), 2)
    assert "shape" in clean_failure(run("sequencer", "init", tmp_path / "i.db", "--shapes", "0"))


def test_submit_trade_cut_and_show(db, tmp_path):
    buy = write(tmp_path, "buy.json", order(0, Side.BUY, 400, 601, 1, TimeInForce.IOC))
    out = ok("sequencer", "submit", db, buy, "--now", T0 + 3, "--json")
    outcome = json.loads(out)
    assert outcome["status"] == "filled" and outcome["transactions"][0]["type"] == "trade"
    out = ok("sequencer", "cut", db, "--now", T0 + 4)
    assert "cut batch 0: 4 transactions in 4 slots" in out
    assert "nothing to cut" in ok("sequencer", "cut", db, "--now", T0 + 4)
    out = ok("batch", "show", db, 0)
    assert "batch 0" in out and "trade" in out and "deposit" in out
    shown = json.loads(ok("batch", "show", db, 0, "--json"))
    with Storage.open(db) as st:
        b = st.batch(0)
    assert shown["pubdata"] == "0x" + b.pubdata.hex() and shown["post_root"] == str(b.post_root)
    assert len(shown["records"]) == 4 and shown["transactions"][3]["type"] == "trade"
    assert "0x" + b.pubdata.hex() in ok("batch", "show", db, 0, "--pubdata")
    assert "no batch 7" in clean_failure(run("batch", "show", db, 7))


def test_status_account_book(db):
    out = ok("sequencer", "status", db)
    assert "state root" in out and "BTC" in out and "accounts        3" in out
    st = json.loads(ok("sequencer", "status", db, "--json"))
    assert st["accounts"] == 3 and st["exchange_id"] == X
    info = json.loads(ok("sequencer", "account", db, "1", "--json"))
    assert info["index"] == 1 and info["orders"][0]["order_id"] == 1
    by_key = json.loads(ok("sequencer", "account", db, info["pubkey"], "--json"))
    assert by_key == info
    assert "account 1" in ok("sequencer", "account", db, "1")
    assert "no account" in clean_failure(run("sequencer", "account", db, "7"))
    assert "ask" in ok("sequencer", "book", db, "btc")
    book = json.loads(ok("sequencer", "book", db, "0", "--json"))
    assert book["asks"][0][0] == 600 * P
    clean_failure(run("sequencer", "book", db, "DOGE"), 2)


def test_stdin_and_cancel(db):
    cancel = json.dumps(request_to_json(sign_cancel(KEYS[2], 2, 9, X)))
    assert "order_not_found" in clean_failure(run("sequencer", "submit", db, "-", input=cancel))
    sell = json.dumps(request_to_json(order(2, Side.SELL, 5, 700, 9)))
    assert "resting" in ok("sequencer", "submit", db, "-", input=sell)
    assert "cancelled" in ok("sequencer", "submit", db, "-", input=cancel)


@pytest.mark.parametrize(
    "text, code",
    [
        ("{not json", "malformed_request"),
        ('{"type": "order"}', "malformed_request"),
        ('{"type": "deposit", "queue_index": 0, "pubkey": "0x' + "00" * 32 + '", '
         '"l1_address": 1, "amount": 5}', "l1_queue_order"),
        (None, "bad_signature"),
        (None, "insufficient_collateral"),
        (None, "order_replayed"),
    ],
)  # fmt: skip
def test_bad_requests_change_nothing(db, tmp_path, text, code):
    if text is None:
        request = {
            "bad_signature": sign_withdrawal(KEYS[1], 0, 5, 0, 0, X),
            "insufficient_collateral": sign_withdrawal(KEYS[0], 0, 10**11, 0, 0, X),
            "order_replayed": order(1, Side.SELL, 1000, 600, 1),
        }[code]
        text = json.dumps(request_to_json(request))
    path = tmp_path / "bad.json"
    path.write_text(text)
    with Storage.open(db) as st:
        before = st.fingerprint()
    out = clean_failure(run("sequencer", "submit", db, path))
    assert f"rejected ({code})" in out and len(out.strip().splitlines()) == 1
    with Storage.open(db) as st:
        assert st.fingerprint() == before


def test_missing_files_and_databases(tmp_path):
    clean_failure(run("sequencer", "status", tmp_path / "none.db"), 2)
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"x" * 4096)
    assert "database" in clean_failure(run("sequencer", "status", junk))
    clean_failure(run("sequencer", "submit", junk, tmp_path / "none.json"), 2)
