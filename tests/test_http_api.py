"""``rollup.http_api``: a real server on 127.0.0.1 (a free port) in front of a sequencer with a
database; signed requests accepted, and every malformed, oversized, unsupported or rejected
request answered with its 4xx and no change to the root, the book or the database."""

from __future__ import annotations

import hashlib
import http.client
import json
import threading

import pytest

from circuits.gadgets import babyjubjub as bj
from circuits.gadgets import eddsa
from rollup.batch import L1Request
from rollup.http_api import SequencerServer
from rollup.requests_json import dumps, request_to_json
from rollup.sequencer import Sequencer, SequencerConfig, demo_genesis
from rollup.types import PRICE_SCALE, Deposit
from rollup.wallet import Wallet

T0 = 1_700_000_000
KEY = bytes(range(32))


def _fingerprint(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture()
def server(tmp_path):
    db = tmp_path / "seq.db"
    clock = [T0]
    genesis = demo_genesis(T0)
    seq = Sequencer.create(db, genesis, SequencerConfig(), clock=lambda: clock[0])
    pub = bj.pack_point(eddsa.prv2pub(KEY))
    seq.submit(L1Request(0, Deposit(pub, 0xABC, 10_000_000_000)))
    srv = SequencerServer(seq, ("127.0.0.1", 0), max_body=4096, tick_interval=None)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        yield srv, seq, db, Wallet(KEY, genesis.config.exchange_id)
    finally:
        srv.shutdown()
        srv.server_close()
        seq.close()


def _call(srv, method, path, body=None, headers=None):
    conn = http.client.HTTPConnection(*srv.server_address[:2], timeout=30)
    hdrs = {"Content-Type": "application/json"} if body is not None else {}
    hdrs.update(headers or {})
    conn.request(method, path, body=body, headers=hdrs)
    res = conn.getresponse()
    data = json.loads(res.read() or b"null")
    conn.close()
    return res.status, data


def _order(wallet, account, order_id=1, side=0, size=1000):
    return wallet.order(
        account=account,
        market=0,
        side=side,
        size=size,
        limit_price=600 * PRICE_SCALE,
        max_fee=10_000,
        expiry=T0 + 3600,
        order_id=order_id,
    )


def _account_of(seq) -> int:
    return seq.account_index("0x" + bj.pack_point(eddsa.prv2pub(KEY)).hex())


def test_queries(server):
    srv, seq, _, _ = server
    status, data = _call(srv, "GET", "/v1/status")
    assert status == 200 and data["root"] == str(seq.root)
    acct = _account_of(seq)
    status, data = _call(srv, "GET", f"/v1/accounts/{acct}")
    assert status == 200 and data["index"] == acct and data["collateral"] == 10_000_000_000
    pub = "0x" + bj.pack_point(eddsa.prv2pub(KEY)).hex()
    assert _call(srv, "GET", f"/v1/accounts/{pub}")[1]["index"] == acct
    status, data = _call(srv, "GET", "/v1/book/BTC?levels=3")
    assert status == 200 and data["market"] == 0 and data["bids"] == []
    assert _call(srv, "GET", "/v1/accounts/999")[0] == 404
    assert _call(srv, "GET", "/v1/book/DOGE")[0] == 404
    assert _call(srv, "GET", "/v1/book/BTC?levels=0")[0] == 400
    assert _call(srv, "GET", "/v1/nothing")[0] == 404
    assert _call(srv, "GET", "/v1/batches/0")[0] == 404  # none cut yet
    assert _call(srv, "POST", "/v1/status", body=b"{}")[0] == 405


def test_signed_order_accepted_then_replay_rejected(server):
    srv, seq, db, wallet = server
    body = dumps(request_to_json(_order(wallet, _account_of(seq)))).encode()
    status, data = _call(srv, "POST", "/v1/requests", body=body)
    assert status == 200, data
    assert data["status"] == "resting"
    status, book = _call(srv, "GET", "/v1/book/0")
    assert book["bids"] == [[600 * PRICE_SCALE, 1000, 1]]
    root, fp = seq.root, _fingerprint(db)
    status, data = _call(srv, "POST", "/v1/requests", body=body)  # the same order again
    assert status == 422 and data["error"]["code"]
    assert (seq.root, _fingerprint(db)) == (root, fp)


def test_bad_requests_change_nothing(server):
    srv, seq, db, wallet = server
    good = request_to_json(_order(wallet, _account_of(seq), order_id=2))
    forged = json.loads(json.dumps(good))
    forged["order"]["size"] = 2000  # the signature no longer matches
    deposit = {
        "type": "deposit",
        "queue_index": 1,
        "pubkey": "0x" + "11" * 32,
        "l1_address": "0x" + "22" * 20,
        "amount": 5,
    }
    cases = [
        ("POST", b"{not json", {}, 400),
        ("POST", b"[]", {}, 400),
        ("POST", json.dumps({"type": "order"}).encode(), {}, 400),
        ("POST", json.dumps(deposit).encode(), {}, 400),  # operator-only kind
        ("POST", json.dumps(forged).encode(), {}, 422),  # bad signature
        ("POST", b"{}" + b" " * 5000, {}, 413),
        ("POST", json.dumps(good).encode(), {"Content-Type": "text/plain"}, 415),
    ]
    root, book, fp = seq.root, len(seq.book), _fingerprint(db)
    for method, body, headers, want in cases:
        status, data = _call(srv, method, "/v1/requests", body=body, headers=headers)
        assert status == want, (body[:40], data)
        assert data["error"]["code"] and data["error"]["message"]
        assert (seq.root, len(seq.book), _fingerprint(db)) == (root, book, fp)
    conn = http.client.HTTPConnection(*srv.server_address[:2], timeout=30)
    conn.putrequest("POST", "/v1/requests")
    conn.putheader("Content-Type", "application/json")
    conn.endheaders()  # no Content-Length
    res = conn.getresponse()
    assert res.status == 411
    conn.close()
    assert (seq.root, _fingerprint(db)) == (root, fp)
