"""``rollup.wallet`` and ``zkperp wallet``: key files (encrypted with eth-keyfile, or 0600 in the
clear), and signed requests that the sequencer's parser and the signature check accept."""

from __future__ import annotations

import json
import os
import stat

import pytest
from click.testing import CliRunner

from circuits.gadgets import babyjubjub as bj
from circuits.gadgets import eddsa
from cli.main import zkperp
from rollup.orderbook import CancelOrder, PlaceOrder
from rollup.requests_json import parse_request
from rollup.types import Transfer, Withdrawal, message_hash
from rollup.wallet import (
    Wallet,
    WalletError,
    create_key_file,
    is_encrypted,
    load_key_file,
    read_key_file,
)

PW = "correct horse battery staple"
FAST = {"kdf": "pbkdf2", "iterations": 2}  # tests only: the CLI default is scrypt


def _fixed(n: int) -> bytes:
    return bytes(range(1, 33))[:n]


def _sig_ok(wallet: Wallet, request: object) -> bool:
    if isinstance(request, PlaceOrder):
        msg, sig = request.order.order.message(wallet.exchange_id), request.order.signature
    else:
        msg, sig = request.message(wallet.exchange_id), request.signature  # type: ignore[attr-defined]
    return eddsa.verify_poseidon(message_hash(msg), sig, wallet.pubkey)


def test_encrypted_round_trip_and_file_mode(tmp_path):
    path = tmp_path / "k.json"
    w = create_key_file(path, PW, rng=_fixed, **FAST)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    doc = json.loads(path.read_text())
    assert "private_key" not in doc and "address" not in doc["crypto"]
    assert bytes(range(1, 33)).hex() not in path.read_text()  # the key is not in the clear
    assert is_encrypted(path)
    # the public key is circomlibjs's packing of prv2pub(prv)
    assert doc["pubkey"] == "0x" + bj.pack_point(eddsa.prv2pub(bytes(range(1, 33)))).hex()
    w2 = load_key_file(path, PW, exchange_id=7)
    assert w2.private_key == w.private_key and w2.exchange_id == 7
    assert "0102" not in repr(w2)


def test_wrong_password_missing_password_and_no_overwrite(tmp_path):
    path = tmp_path / "k.json"
    create_key_file(path, PW, **FAST)
    before = path.read_bytes()
    with pytest.raises(WalletError, match="wrong password"):
        load_key_file(path, "nope")
    with pytest.raises(WalletError, match="password is needed"):
        load_key_file(path, None)
    with pytest.raises(WalletError, match="never overwritten"):
        create_key_file(path, PW, **FAST)
    assert path.read_bytes() == before
    with pytest.raises(WalletError, match="empty password"):
        create_key_file(tmp_path / "e.json", "", **FAST)


def test_unencrypted_key_refused_when_readable_by_others(tmp_path):
    path = tmp_path / "dev.json"
    w = create_key_file(path, None)
    assert load_key_file(path, None).private_key == w.private_key
    os.chmod(path, 0o644)
    with pytest.raises(WalletError, match="chmod 600"):
        load_key_file(path, None)


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda d: d.update(kind="other"), "not a zkperp key file"),
        (lambda d: d.update(version=2), "unsupported key file version"),
        (lambda d: d.update(pubkey="0x" + "00" * 31 + "80"), "does not match|not a packed"),
        (lambda d: d.update(crypto={}), "either crypto or private_key"),
    ],
)
def test_tampered_key_files(tmp_path, mutate, message):
    path = tmp_path / "dev.json"
    create_key_file(path, None)
    doc = json.loads(path.read_text())
    mutate(doc)
    path.write_text(json.dumps(doc))
    with pytest.raises(WalletError, match=message):
        load_key_file(path, None)


def test_not_json(tmp_path):
    path = tmp_path / "x.json"
    path.write_text("{")
    with pytest.raises(WalletError, match="not a key file"):
        read_key_file(path)
    with pytest.raises(WalletError, match="no key file"):
        read_key_file(tmp_path / "missing.json")


def test_signed_requests_verify_and_round_trip(tmp_path):
    w = Wallet(bytes(range(32)), exchange_id=3)
    reqs = [
        w.order(
            account=5,
            market=1,
            side=1,
            size=100,
            limit_price=3 << 32,
            max_fee=10,
            expiry=2_000_000_000,
            order_id=9,
        ),
        w.cancel(account=5, order_id=9),
        w.withdrawal(account=5, amount=1_000, fee=1, nonce=0),
        w.transfer(sender=5, recipient=6, amount=1_000, fee=0, nonce=1),
    ]
    assert [type(r) for r in reqs] == [PlaceOrder, CancelOrder, Withdrawal, Transfer]
    for r in reqs:
        assert _sig_ok(w, r)
        # another exchange's id makes the signature invalid (replay across exchanges)
        assert not _sig_ok(Wallet(w.private_key, exchange_id=4), r)


def _cli(args, env=None, input=None):
    return CliRunner().invoke(zkperp, args, env=env, input=input, catch_exceptions=False)


def test_cli_new_show_sign(tmp_path):
    key = str(tmp_path / "k.json")
    env = {"ZKPERP_WALLET_PASSWORD": PW}
    res = _cli(["wallet", "new", key, "--kdf", "pbkdf2"], env=env)
    assert res.exit_code == 0, res.output
    pub = read_key_file(key)["pubkey"]
    assert pub in res.output
    res = _cli(["wallet", "show", key, "--json"])
    assert res.exit_code == 0 and json.loads(res.output)["pubkey"] == pub
    res = _cli(
        [
            "wallet",
            "sign",
            "order",
            key,
            "--exchange-id",
            "1",
            "--account",
            "2",
            "--market",
            "0",
            "--side",
            "buy",
            "--size",
            "10",
            "--limit-price",
            str(600 << 32),
            "--max-fee",
            "5",
            "--expiry",
            "4000000000",
            "--order-id",
            "1",
            "--tif",
            "ioc",
        ],
        env=env,
    )
    assert res.exit_code == 0, res.output
    req = parse_request(res.output)
    assert isinstance(req, PlaceOrder) and req.time_in_force == "ioc"
    assert _sig_ok(load_key_file(key, PW, exchange_id=1), req)
    out = tmp_path / "w.json"
    res = _cli(
        [
            "wallet",
            "sign",
            "withdrawal",
            key,
            "--account",
            "2",
            "--amount",
            "7",
            "--nonce",
            "0",
            "-o",
            str(out),
        ],
        env=env,
    )
    assert res.exit_code == 0 and isinstance(parse_request(out.read_text()), Withdrawal)


def test_cli_errors_are_clean(tmp_path):
    key = str(tmp_path / "k.json")
    env = {"ZKPERP_WALLET_PASSWORD": PW}
    assert _cli(["wallet", "new", key, "--kdf", "pbkdf2"], env=env).exit_code == 0
    res = _cli(["wallet", "new", key, "--kdf", "pbkdf2"], env=env)
    assert res.exit_code == 1 and "never overwritten" in res.output
    res = _cli(
        ["wallet", "sign", "cancel", key, "--account", "1", "--order-id", "2"],
        env={"ZKPERP_WALLET_PASSWORD": "wrong"},
    )
    assert res.exit_code == 1 and "wrong password" in res.output
    assert "Traceback" not in res.output
    res = _cli(["wallet", "show", str(tmp_path / "none.json")])
    assert res.exit_code == 1 and "no key file" in res.output
    res = _cli(
        [
            "wallet",
            "sign",
            "transfer",
            key,
            "--sender",
            "1",
            "--recipient",
            "2",
            "--amount",
            "-1",
            "--nonce",
            "0",
        ],
        env=env,
    )
    assert res.exit_code == 2  # click's usage error for an out-of-range amount
