"""A trader's wallet: a BabyJubJub (EdDSA-Poseidon) key kept in a file, and the signed requests
it makes (orders, cancels, withdrawals, transfers) as the sequencer's JSON.

Key file (JSON, written with permissions 0600, never overwritten)::

    {"kind": "zkperp-babyjubjub-key", "version": 1,
     "pubkey": "0x..",            # circomlibjs's packed point (32 bytes), as deposits carry it
     "crypto": {...}}             # Ethereum's keystore v3 "crypto" section (eth-keyfile):
                                  # scrypt (or pbkdf2) + AES-128-CTR + a keccak MAC
or, with ``password=None`` (a development key), ``"private_key": "0x.."`` in the clear instead
of ``crypto``; such a file is refused when other users can read it (as ssh does).

The private key is circomlibjs's: 32 random bytes, expanded with BLAKE-512 by
``circuits.gadgets.eddsa`` (``prv2pub``, ``sign_poseidon``). Encryption reuses eth-keyfile (the
library web3 and geth keystores use, Web3 Secret Storage Definition) rather than our own
cipher code; its ``address`` field (a secp256k1 address) is dropped, as it means nothing here.
"""

from __future__ import annotations

import json
import os
import secrets
import stat
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import eth_keyfile

from circuits.gadgets import babyjubjub as bj
from circuits.gadgets import eddsa
from rollup.errors import RollupError
from rollup.orderbook import CancelOrder, PlaceOrder, TimeInForce, sign_cancel
from rollup.types import (
    Order,
    SignedOrder,
    Transfer,
    Withdrawal,
    sign_order,
    sign_transfer,
    sign_withdrawal,
)

__all__ = ["KEY_FILE_KIND", "Wallet", "WalletError", "create_key_file", "load_key_file"]

KEY_FILE_KIND = "zkperp-babyjubjub-key"
KEY_FILE_VERSION = 1
Kdf = Literal["scrypt", "pbkdf2"]


class WalletError(RollupError):
    """A key file that cannot be written, read or decrypted."""

    code = "wallet"


@dataclass(frozen=True)
class Wallet:
    """A private key and what it signs; ``exchange_id`` binds every message to one exchange."""

    private_key: bytes
    exchange_id: int = 0

    def __post_init__(self) -> None:
        if not isinstance(self.private_key, bytes) or len(self.private_key) != 32:
            raise WalletError("a private key is 32 bytes")

    def __repr__(self) -> str:  # never print the key
        return f"Wallet(pubkey={self.pubkey_hex}, exchange_id={self.exchange_id})"

    @property
    def pubkey(self) -> bj.Point:
        return eddsa.prv2pub(self.private_key)

    @property
    def pubkey_hex(self) -> str:
        return "0x" + bj.pack_point(self.pubkey).hex()

    def order(
        self,
        *,
        account: int,
        market: int,
        side: int,
        size: int,
        limit_price: int,
        max_fee: int,
        expiry: int,
        order_id: int,
        time_in_force: TimeInForce = TimeInForce.GTC,
    ) -> PlaceOrder:
        order = Order(account, market, side, size, limit_price, max_fee, expiry, order_id)
        signed: SignedOrder = sign_order(self.private_key, order, self.exchange_id)
        return PlaceOrder(signed, time_in_force)

    def cancel(self, *, account: int, order_id: int) -> CancelOrder:
        return sign_cancel(self.private_key, account, order_id, self.exchange_id)

    def withdrawal(self, *, account: int, amount: int, fee: int, nonce: int) -> Withdrawal:
        return sign_withdrawal(self.private_key, account, amount, fee, nonce, self.exchange_id)

    def transfer(
        self, *, sender: int, recipient: int, amount: int, fee: int, nonce: int
    ) -> Transfer:
        return sign_transfer(
            self.private_key, sender, recipient, amount, fee, nonce, self.exchange_id
        )


def _write_private(path: Path, text: str) -> None:
    """Create ``path`` with mode 0600 (refuse to overwrite), write ``text``, fsync."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise WalletError(f"{path} exists: a key file is never overwritten") from None
    except OSError as exc:
        raise WalletError(f"cannot create {path}: {exc.strerror}") from None
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())


def create_key_file(
    path: str | os.PathLike[str],
    password: str | None,
    *,
    kdf: Kdf = "scrypt",
    iterations: int | None = None,
    rng: Callable[[int], bytes] = secrets.token_bytes,
) -> Wallet:
    """A fresh key (``rng(32)``), saved to a new file at ``path`` (encrypted with ``password``,
    or in the clear when it is None); returns the wallet."""
    prv = rng(32)
    if not isinstance(prv, bytes) or len(prv) != 32:
        raise WalletError("rng must return 32 bytes")
    wallet = Wallet(prv)
    doc: dict[str, object] = {
        "kind": KEY_FILE_KIND,
        "version": KEY_FILE_VERSION,
        "pubkey": wallet.pubkey_hex,
    }
    if password is None:
        doc["private_key"] = "0x" + prv.hex()
    else:
        if not password:
            raise WalletError("an empty password; pass None for an unencrypted development key")
        ks = eth_keyfile.create_keyfile_json(
            prv, password.encode("utf-8"), kdf=kdf, iterations=iterations
        )
        doc["crypto"] = ks["crypto"]
    _write_private(Path(path), json.dumps(doc, indent=2) + "\n")
    return wallet


def read_key_file(path: str | os.PathLike[str]) -> dict:
    """The parsed key file (not decrypted), shape-checked."""
    p = Path(path)
    try:
        doc = json.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise WalletError(f"no key file at {p}") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise WalletError(f"{p} is not a key file: {exc}") from None
    if not isinstance(doc, dict) or doc.get("kind") != KEY_FILE_KIND:
        raise WalletError(f"{p} is not a zkperp key file")
    if doc.get("version") != KEY_FILE_VERSION:
        raise WalletError(f"{p}: unsupported key file version {doc.get('version')!r}")
    if ("crypto" in doc) == ("private_key" in doc):
        raise WalletError(f"{p}: a key file holds either crypto or private_key")
    try:
        bj.unpack_point(bytes.fromhex(str(doc.get("pubkey", ""))[2:]))
    except (ValueError, TypeError):
        raise WalletError(f"{p}: pubkey is not a packed Baby Jubjub point") from None
    return doc


def is_encrypted(path: str | os.PathLike[str]) -> bool:
    return "crypto" in read_key_file(path)


def load_key_file(
    path: str | os.PathLike[str], password: str | None, *, exchange_id: int = 0
) -> Wallet:
    """The wallet of a key file; the password is needed for an encrypted one. The decrypted
    key must give the file's public key (a tampered or foreign file is refused)."""
    p = Path(path)
    doc = read_key_file(p)
    if "crypto" in doc:
        if password is None:
            raise WalletError(f"{p} is encrypted: a password is needed")
        try:
            prv = eth_keyfile.decode_keyfile_json(
                {"version": 3, "crypto": doc["crypto"]}, password.encode("utf-8")
            )
        except ValueError:
            raise WalletError(f"{p}: wrong password (MAC mismatch)") from None
        except (KeyError, TypeError) as exc:
            raise WalletError(f"{p}: malformed crypto section ({exc})") from None
    else:
        mode = p.stat().st_mode
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise WalletError(
                f"{p} holds an unencrypted key and other users can read it "
                f"(mode {stat.filemode(mode)}): chmod 600 it"
            )
        try:
            prv = bytes.fromhex(str(doc["private_key"])[2:])
        except ValueError:
            raise WalletError(f"{p}: private_key is not hex") from None
    wallet = Wallet(bytes(prv), exchange_id)
    if wallet.pubkey_hex != doc["pubkey"]:
        raise WalletError(f"{p}: the private key does not match the file's public key")
    return wallet
