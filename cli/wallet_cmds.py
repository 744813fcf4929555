"""``zkperp wallet ...``: a trader's BabyJubJub key and the signed requests it makes
(``rollup.wallet``).

- ``wallet new KEYFILE``: a fresh key, encrypted with a password (asked twice, or taken from
  ``$ZKPERP_WALLET_PASSWORD``); ``--no-encrypt`` for a development key (file mode 0600).
- ``wallet show KEYFILE``: the public key (packed, as deposits carry it, and as x, y).
- ``wallet sign order|cancel|withdrawal|transfer KEYFILE ...``: the signed request as the
  sequencer's JSON (``rollup.requests_json``), to stdout or ``--out``; feed it to
  ``zkperp sequencer submit DB FILE``.

Quantities are the exchange's integer units (``rollup.types``): collateral quanta (10^-6 USDC),
synthetic quanta, prices in 2^-32 fixed point of collateral quanta per synthetic quantum.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import click

PASSWORD_ENV = "ZKPERP_WALLET_PASSWORD"
U32 = click.IntRange(0, 2**32 - 1)
U63 = click.IntRange(0, 2**63 - 1)


def _password(confirm: bool) -> str:
    pw = os.environ.get(PASSWORD_ENV)
    if pw is not None:
        return pw
    return click.prompt("Password", hide_input=True, confirmation_prompt=confirm)


def _load(keyfile: str, exchange_id: int):
    from rollup.wallet import is_encrypted, load_key_file

    password = _password(False) if is_encrypted(keyfile) else None
    return load_key_file(keyfile, password, exchange_id=exchange_id)


def _emit(request: Any, out: str | None) -> None:
    from rollup.requests_json import dumps, request_to_json

    text = dumps(request_to_json(request))
    if out is None:
        click.echo(text)
    else:
        Path(out).write_text(text + "\n", encoding="utf-8")
        click.echo(f"wrote {out}", err=True)


_keyfile = click.argument("keyfile", type=click.Path(dir_okay=False))
_exchange = click.option(
    "--exchange-id",
    type=U32,
    default=1,
    show_default=True,
    help="The exchange signed for (as `sequencer init`; `sequencer status` shows it).",
)
_out = click.option("--out", "-o", type=click.Path(dir_okay=False), help="Write here.")


@click.command("new")
@_keyfile
@click.option("--no-encrypt", is_flag=True, help="Store the key unencrypted (development).")
@click.option("--kdf", type=click.Choice(["scrypt", "pbkdf2"]), default="scrypt", show_default=True)
def wallet_new(keyfile: str, no_encrypt: bool, kdf: str) -> None:
    """Create a key file at KEYFILE (never overwrites one)."""
    from rollup.wallet import create_key_file

    password = None if no_encrypt else _password(True)
    wallet = create_key_file(keyfile, password, kdf=kdf)  # type: ignore[arg-type]
    click.echo(f"created {keyfile} (mode 600, {'unencrypted' if no_encrypt else kdf})")
    click.echo(f"public key: {wallet.pubkey_hex}")


@click.command("show")
@_keyfile
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def wallet_show(keyfile: str, as_json: bool) -> None:
    """Show the public key of KEYFILE (no password needed)."""
    from circuits.gadgets import babyjubjub as bj
    from rollup.wallet import read_key_file

    doc = read_key_file(keyfile)
    x, y = bj.unpack_point(bytes.fromhex(doc["pubkey"][2:]))
    info = {"pubkey": doc["pubkey"], "x": str(x), "y": str(y), "encrypted": "crypto" in doc}
    if as_json:
        click.echo(json.dumps(info, indent=2))
    else:
        click.echo(f"public key: {info['pubkey']}\nx: {x}\ny: {y}")
        click.echo(f"encrypted: {'yes' if info['encrypted'] else 'no'}")


@click.group("sign")
def wallet_sign() -> None:
    """Sign a request with a key file; prints the sequencer's JSON."""


@wallet_sign.command("order")
@_keyfile
@_exchange
@click.option("--account", type=U32, required=True)
@click.option("--market", type=click.IntRange(0, 3), required=True, help="Market index.")
@click.option("--side", type=click.Choice(["buy", "sell"]), required=True)
@click.option("--size", type=click.IntRange(1, 2**48 - 1), required=True, help="Synthetic quanta.")
@click.option(
    "--limit-price", type=click.IntRange(1, 2**56 - 1), required=True, help="2^-32 fixed point."
)
@click.option("--max-fee", type=U63, required=True, help="Collateral quanta for the whole size.")
@click.option("--expiry", type=U32, required=True, help="Unix time after which it is void.")
@click.option("--order-id", type=U32, required=True)
@click.option(
    "--tif", type=click.Choice(["gtc", "ioc", "post_only"]), default="gtc", show_default=True
)
@_out
def sign_order(keyfile: str, exchange_id: int, side: str, tif: str, out: str | None, **kw) -> None:
    """A signed limit order."""
    from rollup.orderbook import TimeInForce
    from rollup.types import Side

    wallet = _load(keyfile, exchange_id)
    request = wallet.order(
        side=Side.BUY if side == "buy" else Side.SELL, time_in_force=TimeInForce(tif), **kw
    )
    _emit(request, out)


@wallet_sign.command("cancel")
@_keyfile
@_exchange
@click.option("--account", type=U32, required=True)
@click.option("--order-id", type=U32, required=True)
@_out
def sign_cancel(keyfile: str, exchange_id: int, out: str | None, **kw) -> None:
    """A signed cancel of a resting order."""
    _emit(_load(keyfile, exchange_id).cancel(**kw), out)


@wallet_sign.command("withdrawal")
@_keyfile
@_exchange
@click.option("--account", type=U32, required=True)
@click.option("--amount", type=U63, required=True, help="Collateral quanta.")
@click.option("--fee", type=U63, default=0, show_default=True)
@click.option("--nonce", type=U32, required=True, help="The account's current nonce.")
@_out
def sign_withdrawal(keyfile: str, exchange_id: int, out: str | None, **kw) -> None:
    """A signed withdrawal to the account's L1 address."""
    _emit(_load(keyfile, exchange_id).withdrawal(**kw), out)


@wallet_sign.command("transfer")
@_keyfile
@_exchange
@click.option("--sender", type=U32, required=True)
@click.option("--recipient", type=U32, required=True)
@click.option("--amount", type=U63, required=True, help="Collateral quanta.")
@click.option("--fee", type=U63, default=0, show_default=True)
@click.option("--nonce", type=U32, required=True, help="The sender's current nonce.")
@_out
def sign_transfer(keyfile: str, exchange_id: int, out: str | None, **kw) -> None:
    """A signed transfer of collateral to another account."""
    _emit(_load(keyfile, exchange_id).transfer(**kw), out)


def register(wallet: click.Group) -> None:
    for cmd in (wallet_new, wallet_show, wallet_sign):
        wallet.add_command(cmd)
