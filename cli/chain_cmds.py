"""``zkperp chain ...``: a development chain, and a sequencer's rollup contract on any node
(issue F, "Python side"; the files of layout v2 section 9; ``verifier_contract.rollup``'s API,
section 10).

- ``chain node [--port N] [--host H] [--embedded] [--log FILE]``: a hardhat 2 node
  (``verifier_contract.node.HardhatNode``: ``npx hardhat node`` with the committed
  ``hardhat.config.cjs``: chain id 31337, Cancun rules) on 127.0.0.1, port 8545 by default,
  until Ctrl-C (or SIGTERM). ``--embedded`` serves the embedded EVM (eth-tester on py-evm, what
  ``Chain.embedded`` runs) over JSON-RPC from this process instead (``EmbeddedNode``: no Node.js
  needed; pairings are slower). It prints the RPC URL and the funded dev accounts with their
  private keys: public test keys, development only.
- ``chain deploy [--rpc-url URL] [--operator ADDR] [--token ADDR] [--force] DB``: one PLONK
  verifier per batch shape of DB's sequencer config (from ``<db>.d/keys/batch_<n>.vk.json``,
  made by ``zkperp batch setup DB``), the collateral token (a test token unless ``--token``) and
  the rollup contract with the genesis root of DB; writes ``<db>.d/chain.json``
  (``{"rpc_url", "rollup", "token", "verifiers": {n_slots: address}, "operator",
  "deploy_block"}``). It refuses to replace a deployment whose rollup still has code on the
  node unless ``--force``.
- ``chain submit [--rpc-url URL] DB N``: batch N of DB with its proof
  (``<db>.d/proofs/batch_<N>.proof.json``, made by ``zkperp batch prove DB N``): checked first
  against the contract's next batch number and state root, and the proof's public.json against
  the public inputs rebuilt from the batch, then ``submitBatch`` (transaction hash, gas used).
- ``chain status [--rpc-url URL] [--json] DB``: the contract's state (root, next batch, L1
  queue, frozen flag, token balance held) next to the database's (batches cut, proven).

- ``chain deposit [--rpc-url URL] DB --amount Q (--pubkey 0x.. | --key KEYFILE) [--from A|I]
  [--mint]``: a user's deposit to the L2 account of a BabyJubJub key (checked first with the
  contract's ``validDepositKey``: a key it refuses is exit 1 and nothing is sent); ``--mint``
  mints the test token to the sender first (a development deployment); then ``approve`` and
  ``deposit``: the L1 request's queue index and gas. The sender becomes the account's L1
  address (its withdrawals are paid there).
- ``chain withdraw [--rpc-url URL] DB [--from A|I]``: claim the sender's pending withdrawals
  (``withdraw``): the amount and the new token balance; nothing pending is exit 1.
- ``chain force-withdraw DB --account N --amount Q [--from A|I]``: ``requestForcedWithdrawal``
  (sent from the account's L1 address); ``chain freeze DB [--request I]``: freeze once a forced
  withdrawal waited past the deadline (default: the oldest still in the queue); ``chain exit DB
  --escape FILE``: after the freeze, an account's exit with the escape data that
  ``zkperp audit --export-escape N --out FILE`` writes (``rollup.audit.load_escape``).

``--from`` takes an address the node holds unlocked, or the index of one of its accounts
(default: its first, #0). A contract refusal names the contract's error and exits 1.

Without ``--rpc-url`` the URL is chain.json's, else ``http://127.0.0.1:8545``. No node answering
there: one ``Error:`` line and exit status 2, as for a missing database, key or proof file. A
transaction the contract rejects: its revert reason and exit status 1. Every transaction passes
``gas`` explicitly (``verifier_contract.chain``: web3's estimate would re-run the pairings).
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from verifier_contract.chain import Chain

DEFAULT_PORT = 8545
EXIT_FAILED = 1
EXIT_USAGE = 2
CHAIN_JSON = "chain.json"


class UsageProblem(click.ClickException):
    """No node at the URL, a missing database, key, proof or chain.json: exit status 2."""

    exit_code = EXIT_USAGE


# --- files (layout v2 section 9) --------------------------------------------------------------


def deployment_dir(db: str | Path) -> Path:
    """``<db>.d/``: keys, proofs and chain.json of a sequencer database."""
    return Path(f"{db}.d")


def chain_json_path(db: str | Path) -> Path:
    return deployment_dir(db) / CHAIN_JSON


def vk_path(db: str | Path, n_slots: int) -> Path:
    return deployment_dir(db) / "keys" / f"batch_{n_slots}.vk.json"


def proof_paths(db: str | Path, number: int) -> tuple[Path, Path]:
    """(proof.json, public.json) of batch ``number``."""
    proofs = deployment_dir(db) / "proofs"
    return proofs / f"batch_{number}.proof.json", proofs / f"batch_{number}.public.json"


def read_chain_json(db: str | Path) -> dict | None:
    """DB's chain.json, or None when there is none; UsageProblem if it does not read."""
    path = chain_json_path(db)
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise UsageProblem(f"{path}: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("rollup"), str):
        raise UsageProblem(f"{path}: not a zkperp chain.json (no rollup address)")
    return data


def write_chain_json(db: str | Path, data: Mapping[str, Any]) -> Path:
    """Write chain.json atomically (a temporary file, then a rename)."""
    path = chain_json_path(db)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
    os.replace(tmp, path)
    return path


def open_db(db: str | Path):
    """(storage, genesis, sequencer config) of DB; the caller closes the storage."""
    from rollup.errors import StorageError
    from rollup.requests_json import genesis_from_json
    from rollup.sequencer import SequencerConfig
    from rollup.storage import Storage

    if not Path(db).is_file():
        raise UsageProblem(f"{db}: no such sequencer database (create it: zkperp sequencer init)")
    try:
        storage = Storage.open(db)
    except StorageError as exc:
        raise UsageProblem(f"{db}: {exc}") from None
    try:
        return (
            storage,
            genesis_from_json(storage.genesis_json),
            SequencerConfig.from_json(storage.settings_json),
        )
    except BaseException:
        storage.close()
        raise


def load_vks(db: str | Path, shapes: tuple[int, ...]) -> dict[int, dict]:
    """The vk.json of every shape (snarkjs format, checked by ``prover.formats``)."""
    from prover import formats

    vks = {}
    for n in shapes:
        path = vk_path(db, n)
        if not path.is_file():
            raise UsageProblem(
                f"no verification key for batches of {n} slots ({path}): "
                f"run `zkperp batch setup {db}`"
            )
        try:
            obj = formats.load_json(path)
            formats.parse_vk_json(obj)
        except (OSError, ValueError) as exc:
            raise UsageProblem(f"{path}: {exc}") from None
        vks[n] = obj
    return vks


def check_key_shapes(db: str | Path, genesis: Any, config: Any) -> None:
    """UsageProblem if a shape's key was made for another shape than DB's (its account units
    and signature units, ``SequencerConfig.units_for``, ``SequencerConfig.signatures_for``; the
    meta, ``rollup.keys.Deployment.check_shape``): a verifier of that key would refuse every
    proof of the circuit the operator proves with."""
    from rollup.keys import Deployment, StaleKeysError, batch_shape

    dep = Deployment(Path(db))
    for n in config.shapes:
        info = dep.key_info(n)
        if info is None:
            continue
        try:
            shape = batch_shape(genesis, n, config.units_for(n), config.signatures_for(n))
            dep.check_shape(info, shape)
        except StaleKeysError as exc:
            raise UsageProblem(str(exc)) from None


def rollup_api():
    """``verifier_contract.rollup`` (layout v2 section 10)."""
    try:
        from verifier_contract import rollup
    except ImportError as exc:  # pragma: no cover (the module ships with the package)
        raise click.ClickException(f"the rollup contract's module is missing: {exc}") from None
    return rollup


def connect(
    rpc_url: str | None, saved: Mapping[str, Any] | None = None, sender: str | None = None
) -> Chain:
    """A chain at ``rpc_url``, else chain.json's URL, else the default, sending from ``sender``
    (an account the node holds unlocked; default its first); UsageProblem (exit 2) when no
    node answers there."""
    from verifier_contract.chain import DEFAULT_RPC_URL, Chain, ChainError

    url = rpc_url or (saved or {}).get("rpc_url") or DEFAULT_RPC_URL
    try:
        return Chain.connect(url, timeout=600.0, sender=sender)
    except ChainError as exc:
        hint = "" if rpc_url else " (start one with `zkperp chain node`, or pass --rpc-url)"
        raise UsageProblem(f"{exc}{hint}") from None


def _deployment(saved: Mapping[str, Any], chain: Chain, db: str | Path):
    """The RollupDeployment of chain.json, after checking its rollup has code on this chain."""
    api = rollup_api()
    try:
        dep = api.RollupDeployment.from_json(dict(saved))
    except (KeyError, TypeError, ValueError) as exc:
        raise UsageProblem(f"{chain_json_path(db)}: {exc}") from None
    if not _has_code(chain, saved["rollup"]):
        raise UsageProblem(
            f"no contract at {saved['rollup']} on this chain (chain.json of {db}): a restarted "
            f"development node forgets its contracts; deploy again: zkperp chain deploy {db}"
        )
    return dep


def _not_deployed(db: str | Path) -> UsageProblem:
    return UsageProblem(
        f"{db} is not deployed ({chain_json_path(db)} is missing): run `zkperp chain deploy {db}`"
    )


def _has_code(chain: Chain, address: str) -> bool:
    try:
        return len(chain.w3.eth.get_code(chain.w3.to_checksum_address(address))) > 0
    except ValueError:  # not an address
        return False


def _rpc_url(chain: Chain) -> str:
    return str(getattr(chain.w3.provider, "endpoint_uri", ""))


def _jsonable(value: Any) -> Any:
    if isinstance(value, bytes):
        return "0x" + value.hex()
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if hasattr(value, "hex") and not isinstance(value, int | str | float):
        text = value.hex()
        return text if text.startswith("0x") else "0x" + text
    return value


def _ether(wei: int) -> str:
    return f"{Decimal(wei) / 10**18:f} ETH"


# --- chain node -------------------------------------------------------------------------------


@click.command("node")
@click.option("--port", type=click.IntRange(1, 65535), default=DEFAULT_PORT, show_default=True)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind.")
@click.option(
    "--embedded",
    is_flag=True,
    help="Serve the embedded EVM (eth-tester on py-evm) from this process instead of hardhat.",
)
@click.option(
    "--log",
    "log_file",
    type=click.Path(dir_okay=False, writable=True),
    default=None,
    help="Keep hardhat's log (one line per RPC call) in this file.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the URL and accounts as JSON.")
def node_command(port: int, host: str, embedded: bool, log_file: str | None, as_json: bool) -> None:
    """Serve a development chain (a hardhat 2 node, or with --embedded the in-process py-evm
    chain) until Ctrl-C; print its RPC URL and its funded dev accounts (their keys are public:
    development only)."""
    from verifier_contract.node import EmbeddedNode, HardhatNode, NodeError, rpc_request

    if embedded and log_file:
        raise click.UsageError("--log is for the hardhat node (the embedded one keeps no log)")
    kind = "embedded py-evm" if embedded else "hardhat"
    try:
        node: Any = (
            EmbeddedNode.start(port, host=host)
            if embedded
            else HardhatNode.start(port, host=host, log_path=log_file)
        )
    except NodeError as exc:
        raise click.ClickException(str(exc)) from None
    previous = signal.getsignal(signal.SIGTERM)

    def on_term(signum: int, frame: Any) -> None:  # SIGTERM stops the node as Ctrl-C does
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_term)
    try:
        accounts = node.accounts()
        chain_id = int(rpc_request(node.url, "eth_chainId"), 16)
        if as_json:
            info = {
                "rpc_url": node.url,
                "chain_id": chain_id,
                "node": kind,
                "accounts": [
                    {"address": a.address, "balance_wei": str(a.balance_wei), "key": a.private_key}
                    for a in accounts
                ],
            }
            click.echo(json.dumps(info, indent=2))
        else:
            click.echo(f"development chain ({kind}, chain id {chain_id}) at {node.url}")
            click.echo("funded accounts (unlocked on the node; the keys are public: dev only):")
            for i, a in enumerate(accounts):
                key = f"  key {a.private_key}" if a.private_key else ""
                click.echo(f"  #{i} {a.address}  {_ether(a.balance_wei)}{key}")
            if log_file:
                click.echo(f"node log: {log_file}")
            click.echo("stop with Ctrl-C")
        sys.stdout.flush()
        while node.running:
            time.sleep(0.2)
        tail = "" if embedded else f":\n{node.log_tail()}"
        raise click.ClickException(f"the {kind} node stopped by itself{tail}")
    except KeyboardInterrupt:
        pass
    finally:
        node.stop()
        signal.signal(signal.SIGTERM, previous)
    if not as_json:
        click.echo("node stopped")


# --- chain deploy / submit / status -----------------------------------------------------------


@click.command("deploy")
@click.argument("db", type=click.Path(dir_okay=False))
@click.option("--rpc-url", default=None, help="JSON-RPC URL (default: chain.json's or :8545).")
@click.option("--operator", default=None, help="The operator's address (default: the sender).")
@click.option("--token", default=None, help="An existing ERC20 collateral (default: a test one).")
@click.option("--force", is_flag=True, help="Replace a deployment that is still on the chain.")
@click.option("--json", "as_json", is_flag=True, help="Print chain.json.")
def deploy_command(
    db: str,
    rpc_url: str | None,
    operator: str | None,
    token: str | None,
    force: bool,
    as_json: bool,
) -> None:
    """Deploy DB's rollup: one verifier per batch shape, the token, the rollup contract with
    DB's genesis root; write <db>.d/chain.json."""
    from rollup.state import State

    api = rollup_api()
    storage, genesis, config = open_db(db)
    storage.close()
    vks = load_vks(db, config.shapes)
    check_key_shapes(db, genesis, config)
    saved = read_chain_json(db)
    chain = connect(rpc_url, saved)
    if saved is not None and not force and _has_code(chain, saved["rollup"]):
        raise click.ClickException(
            f"{db} is already deployed: rollup {saved['rollup']} ({chain_json_path(db)}); "
            "pass --force to deploy a new one"
        )
    genesis_root = State(genesis).root
    kwargs: dict[str, Any] = {
        "genesis_root": genesis_root,
        "vks": vks,
        "account_depth": genesis.config.account_depth,
        "genesis_prices": tuple(genesis.prices),
    }
    if operator is not None:
        kwargs["operator"] = operator
    if token is not None:
        kwargs["token"] = token
    try:
        dep = api.deploy_rollup(chain, **kwargs)
    except ValueError as exc:  # ChainError, the module's typed errors
        raise click.ClickException(f"deployment failed: {exc}") from None
    data = {**_jsonable(dep.to_json()), "rpc_url": _rpc_url(chain)}
    path = write_chain_json(db, data)
    if as_json:
        click.echo(json.dumps(data, indent=2, sort_keys=True))
        return
    click.echo(
        f"deployed on {data['rpc_url']} (chain id {chain.chain_id}), block {data['deploy_block']}"
    )
    click.echo(f"  rollup   {data.get('rollup')}  genesis root {genesis_root}")
    click.echo(f"  token    {data.get('token')}")
    for n, address in sorted((data.get("verifiers") or {}).items(), key=lambda kv: int(kv[0])):
        click.echo(f"  verifier {address}  batches of {n} slots")
    click.echo(f"  operator {data.get('operator')}")
    gas = dict(getattr(dep, "gas", {}) or {})
    if gas:
        parts = ", ".join(f"{k} {v:,}" for k, v in gas.items())
        click.echo(f"deployment gas: {sum(gas.values()):,} ({parts})")
    click.echo(f"written: {path}")


def _expected_public_inputs(batch) -> list[int] | None:
    """The public inputs the contract rebuilds for ``batch`` (``rollup.pubdata.public_inputs``,
    layout v2 section 6), or None before that function exists."""
    from rollup import pubdata

    fn = getattr(pubdata, "public_inputs", None)
    if fn is None:
        return None
    return [
        int(v)
        for v in fn(
            batch.pre_root,
            batch.post_root,
            batch.number,
            batch.timestamp,
            batch.pubdata,
            batch.size,
        )
    ]


def _status(chain: Chain, dep) -> dict:
    try:
        return dict(rollup_api().rollup_status(chain, dep))
    except ValueError as exc:
        raise click.ClickException(f"reading the rollup's state failed: {exc}") from None


def _pick(status: Mapping[str, Any], *names: str) -> Any:
    for name in names:
        if name in status:
            return status[name]
    return None


@click.command("submit")
@click.argument("db", type=click.Path(dir_okay=False))
@click.argument("number", type=click.IntRange(0, 2**32 - 1))
@click.option("--rpc-url", default=None, help="JSON-RPC URL (default: chain.json's or :8545).")
@click.option(
    "--from",
    "sender",
    default=None,
    help="Send from this (unlocked) account (default: chain.json's operator).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def submit_command(
    db: str, number: int, rpc_url: str | None, sender: str | None, as_json: bool
) -> None:
    """Submit batch NUMBER of DB with its proof to the rollup contract of <db>.d/chain.json."""
    from prover import formats
    from rollup.errors import StorageError

    api = rollup_api()
    storage, _genesis, _config = open_db(db)
    saved = read_chain_json(db)
    try:
        if saved is None:
            raise _not_deployed(db)
        batch = storage.batch(number)
    except StorageError as exc:
        raise UsageProblem(str(exc)) from None
    finally:
        storage.close()
    proof_path, public_path = proof_paths(db, number)
    if not proof_path.is_file():
        raise UsageProblem(
            f"no proof of batch {number} ({proof_path}): run `zkperp batch prove {db} {number}`"
        )
    try:
        proof = formats.parse_proof_json(formats.load_json(proof_path))
    except (OSError, ValueError) as exc:
        raise UsageProblem(f"{proof_path}: {exc}") from None
    expected = _expected_public_inputs(batch)
    if expected is not None and public_path.is_file():
        try:
            public = formats.parse_public_json(formats.load_json(public_path))
        except (OSError, ValueError) as exc:
            raise UsageProblem(f"{public_path}: {exc}") from None
        if public != expected:
            raise click.ClickException(
                f"{public_path} is not the public inputs of batch {number} as the database has "
                f"it (a proof of another batch, or the batch changed): prove it again"
            )
    chain = connect(rpc_url, saved, sender or saved.get("operator"))
    dep = _deployment(saved, chain, db)
    status = _status(chain, dep)
    next_batch = _pick(status, "next_batch", "next_batch_number", "batch_number")
    if next_batch is not None and int(next_batch) != number:
        if number < int(next_batch):
            raise click.ClickException(f"batch {number} is already on chain (next: {next_batch})")
        raise click.ClickException(f"batch {next_batch} must be submitted before batch {number}")
    root = _pick(status, "state_root", "root")
    if root is not None and int(root) != batch.pre_root:
        raise click.ClickException(
            f"the contract's state root {root} is not batch {number}'s old root "
            f"{batch.pre_root}: this database and this rollup diverged"
        )
    try:
        result = api.submit_batch(
            chain,
            dep,
            batch_number=number,
            new_root=batch.post_root,
            timestamp=batch.timestamp,
            pubdata=batch.pubdata,
            proof=proof,
        )
    except ValueError as exc:  # ChainError and the module's typed errors (revert reason)
        raise click.ClickException(f"batch {number} rejected: {exc}") from None
    result = _jsonable({k: v for k, v in dict(result).items() if k != "receipt"})
    if as_json:
        click.echo(json.dumps({"batch": number, **result}, indent=2, sort_keys=True))
        return
    tx = _pick(result, "tx_hash", "transaction_hash", "hash")
    gas = _pick(result, "gas_used", "gas")
    click.echo(
        f"batch {number} accepted: {batch.n_txs} transactions in {batch.size} slots, "
        f"new root {batch.post_root}"
    )
    click.echo(f"  tx {tx}  gas used {gas}")


@click.command("status")
@click.argument("db", type=click.Path(dir_okay=False))
@click.option("--rpc-url", default=None, help="JSON-RPC URL (default: chain.json's or :8545).")
@click.option("--json", "as_json", is_flag=True, help="Print the status as JSON.")
def status_command(db: str, rpc_url: str | None, as_json: bool) -> None:
    """The rollup contract's state next to DB's: root, batches on chain, cut and proven."""
    storage, _genesis, _config = open_db(db)
    try:
        rows = storage.batch_rows()
    finally:
        storage.close()
    saved = read_chain_json(db)
    if saved is None:
        raise _not_deployed(db)
    chain = connect(rpc_url, saved)
    dep = _deployment(saved, chain, db)
    status = _jsonable(_status(chain, dep))
    proven = sorted(n for n in rows if proof_paths(db, n)[0].is_file())
    next_batch = _pick(status, "next_batch", "next_batch_number", "batch_number")
    root = _pick(status, "state_root", "root")
    local_root = None
    if next_batch is not None:
        n = int(next_batch)
        if n == 0:
            local_root = None
        elif n - 1 in rows:
            local_root = rows[n - 1].post_root
    in_sync = None if local_root is None or root is None else int(root) == local_root
    report = {
        "rpc_url": _rpc_url(chain),
        "rollup": saved["rollup"],
        "chain": status,
        "database": {"batches_cut": len(rows), "proven": proven},
        "in_sync": in_sync,
    }
    if as_json:
        click.echo(json.dumps(report, indent=2, sort_keys=True, default=str))
        return
    click.echo(f"rollup {saved['rollup']} on {report['rpc_url']}")
    for key, value in status.items():
        click.echo(f"  {key}: {value}")
    pending = [n for n in rows if next_batch is None or n >= int(next_batch)]
    click.echo(
        f"database: {len(rows)} batches cut, {len(proven)} proven, {len(pending)} not on chain yet"
    )
    if in_sync is False:
        click.echo(
            f"  DIVERGED: batch {int(next_batch) - 1}'s root in the database is {local_root}"
        )


# --- a user's side: deposit, withdraw, force-withdraw, freeze, exit ----------------------------


def _user_chain(db: str, rpc_url: str | None, sender: str | None):
    """(chain, deployment, sender address) for a user's transaction on DB's rollup. ``sender``:
    an address, or the index of one of the node's unlocked accounts (default: its first)."""
    saved = read_chain_json(db)
    if saved is None:
        raise _not_deployed(db)
    address = None
    if sender is not None and not sender.isdigit():
        address = sender
    chain = connect(rpc_url, saved, address)
    if sender is not None and sender.isdigit():
        accounts = chain.accounts
        if int(sender) >= len(accounts):
            raise UsageProblem(
                f"--from {sender}: the node has {len(accounts)} unlocked accounts (0.."
                f"{len(accounts) - 1})"
            )
        chain.sender = accounts[int(sender)]
    dep = _deployment(saved, chain, db)
    return chain, dep, str(chain.sender)


def _token_balance(chain: Chain, dep, address: str) -> int:
    fn = dep.token_contract(chain).functions.balanceOf(chain.w3.to_checksum_address(address))
    return int(chain.call(fn, 100_000))


def _revert(what: str, exc: ValueError) -> click.ClickException:
    """A clear message for a contract's refusal (its custom error named)."""
    name = getattr(exc, "error", "")
    reasons = {
        "InvalidPublicKey": "not a valid BabyJubJub public key (the contract's InvalidPublicKey)",
        "BadAmount": "the amount must be 1 .. 2^63 - 1 quanta (the contract's BadAmount)",
        "IsFrozen": "the rollup is frozen (the contract's IsFrozen): only exits remain",
        "NotFrozen": "the rollup is not frozen (the contract's NotFrozen)",
        "NothingToWithdraw": "nothing pending for this address (the contract's NothingToWithdraw)",
        "NotExpired": "the forced withdrawal has not waited its deadline yet (the contract's "
        "NotExpired)",
        "BadRequest": "no such pending forced withdrawal in the queue (the contract's BadRequest)",
        "AlreadyExited": "this account has already exited (the contract's AlreadyExited)",
        "BadExitProof": "the escape data does not open the contract's state root (the "
        "contract's BadExitProof): export it again from the last committed batch",
    }
    return click.ClickException(f"{what} refused: {reasons.get(name, str(exc))}")


def _packed_pubkey(pubkey: str | None, keyfile: str | None) -> bytes:
    if (pubkey is None) == (keyfile is None):
        raise click.UsageError("give the L2 account's key: --pubkey 0x<64 hex> or --key KEYFILE")
    if keyfile is not None:
        from rollup.wallet import WalletError, read_key_file

        try:
            pubkey = str(read_key_file(keyfile)["pubkey"])
        except WalletError as exc:
            raise UsageProblem(str(exc)) from None
    text = str(pubkey)
    hex_part = text[2:] if text.lower().startswith("0x") else text
    try:
        packed = bytes.fromhex(hex_part)
    except ValueError:
        packed = b""
    if len(packed) != 32:
        raise click.BadParameter(
            f"{text!r} is not a packed public key (0x + 64 hex digits)", param_hint="--pubkey"
        )
    return packed


_rpc_option = click.option(
    "--rpc-url", default=None, help="JSON-RPC URL (default: chain.json's or :8545)."
)
_from_option = click.option(
    "--from",
    "sender",
    default=None,
    metavar="ADDRESS|INDEX",
    help="Send from this unlocked account, or the node's account number INDEX (default: 0).",
)
_json_flag = click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
_QUANTA = click.IntRange(1, 2**63 - 1)


def _echo_result(as_json: bool, data: Mapping[str, Any], lines: list[str]) -> None:
    if as_json:
        clean = {k: v for k, v in data.items() if k != "receipt"}
        click.echo(json.dumps(_jsonable(clean), indent=2, sort_keys=True, default=str))
        return
    for line in lines:
        click.echo(line)


@click.command("deposit")
@click.argument("db", type=click.Path(dir_okay=False))
@_rpc_option
@click.option("--amount", type=_QUANTA, required=True, help="Collateral quanta (10^-6 USDC).")
@click.option("--pubkey", default=None, help="The L2 account's packed key (0x + 64 hex).")
@click.option(
    "--key",
    "keyfile",
    type=click.Path(dir_okay=False),
    default=None,
    help="The L2 account's key file (zkperp wallet new; no password needed).",
)
@_from_option
@click.option("--mint", is_flag=True, help="Mint the test token to the sender first (dev only).")
@_json_flag
def deposit_command(
    db: str,
    rpc_url: str | None,
    amount: int,
    pubkey: str | None,
    keyfile: str | None,
    sender: str | None,
    mint: bool,
    as_json: bool,
) -> None:
    """Deposit AMOUNT collateral quanta to the L2 account of a public key: approve the rollup,
    then its ``deposit`` (an L1 request the operator takes in queue order; the sender's address
    becomes the account's L1 address, where its withdrawals are paid)."""
    packed = _packed_pubkey(pubkey, keyfile)
    api = rollup_api()
    chain, dep, address = _user_chain(db, rpc_url, sender)
    try:
        accepted = api.deposit_key_accepted(chain, dep, packed)
    except ValueError as exc:
        raise click.ClickException(f"checking the key failed: {exc}") from None
    if not accepted:
        raise click.ClickException(
            f"deposit refused: 0x{packed.hex()} is not a valid BabyJubJub public key "
            "(the contract's InvalidPublicKey); nothing was sent"
        )
    minted = None
    if mint:
        try:
            minted = api.mint(chain, dep, to=address, amount=amount)
        except ValueError as exc:
            raise click.ClickException(
                f"minting failed (--mint needs the test token a development deployment has): {exc}"
            ) from None
    balance = _token_balance(chain, dep, address)
    if balance < amount:
        raise click.ClickException(
            f"{address} holds {balance} token quanta, less than --amount {amount} "
            "(on a development node, pass --mint)"
        )
    try:
        result = api.deposit(chain, dep, pubkey_packed=packed, amount=amount, sender=address)
    except ValueError as exc:
        raise _revert("deposit", exc) from None
    data = {
        "request_index": result["request_index"],
        "pubkey": "0x" + packed.hex(),
        "amount": amount,
        "l1_address": address,
        "tx_hash": result["tx_hash"],
        "gas_used": result["gas_used"],
        "minted": amount if minted else 0,
    }
    _echo_result(
        as_json,
        data,
        [
            f"deposit queued: L1 request {data['request_index']}, {amount} quanta to "
            f"0x{packed.hex()} from {address}" + (f" (minted {amount} first)" if minted else ""),
            f"  tx {data['tx_hash']}  gas used {data['gas_used']}",
            "the operator applies it in queue order; then the L2 account: "
            f"zkperp sequencer account {db} 0x{packed.hex()}",
        ],
    )


@click.command("withdraw")
@click.argument("db", type=click.Path(dir_okay=False))
@_rpc_option
@_from_option
@_json_flag
def withdraw_command(db: str, rpc_url: str | None, sender: str | None, as_json: bool) -> None:
    """Claim the sender's pending withdrawals (credited by accepted batches) in tokens."""
    api = rollup_api()
    chain, dep, address = _user_chain(db, rpc_url, sender)
    pending = api.pending_withdrawal(chain, dep, address)
    if pending == 0:
        raise click.ClickException(
            f"nothing pending for {address}: a withdrawal is credited when the batch that holds "
            f"it is on chain (zkperp chain status {db})"
        )
    try:
        result = api.withdraw(chain, dep, sender=address)
    except ValueError as exc:
        raise _revert("withdraw", exc) from None
    balance = _token_balance(chain, dep, address)
    data = {
        "address": address,
        "amount": pending,
        "token_balance": balance,
        "tx_hash": result["tx_hash"],
        "gas_used": result["gas_used"],
    }
    _echo_result(
        as_json,
        data,
        [
            f"withdrew {pending} quanta to {address}; its token balance is now {balance}",
            f"  tx {data['tx_hash']}  gas used {data['gas_used']}",
        ],
    )


@click.command("force-withdraw")
@click.argument("db", type=click.Path(dir_okay=False))
@_rpc_option
@click.option("--account", type=click.IntRange(0, 2**32 - 1), required=True, help="L2 account.")
@click.option("--amount", type=_QUANTA, required=True, help="Collateral quanta.")
@_from_option
@_json_flag
def force_withdraw_command(
    db: str, rpc_url: str | None, account: int, amount: int, sender: str | None, as_json: bool
) -> None:
    """Queue a forced withdrawal on L1 (``requestForcedWithdrawal``), sent from the account's L1
    address: the operator must take it within the deadline, else anyone may freeze the rollup
    (``zkperp chain freeze``)."""
    api = rollup_api()
    chain, dep, address = _user_chain(db, rpc_url, sender)
    try:
        result = api.request_forced_withdrawal(
            chain, dep, account=account, amount=amount, sender=address
        )
    except ValueError as exc:
        raise _revert("forced withdrawal", exc) from None
    deadline = int(_call_view(chain, dep, "forcedDeadline") or 0)
    block = chain.w3.eth.get_block(result["block"])
    data = {
        "request_index": result["request_index"],
        "account": account,
        "amount": amount,
        "l1_address": address,
        "freeze_after": int(block["timestamp"]) + deadline,
        "tx_hash": result["tx_hash"],
        "gas_used": result["gas_used"],
    }
    _echo_result(
        as_json,
        data,
        [
            f"forced withdrawal queued: L1 request {data['request_index']}, {amount} quanta from "
            f"account {account} to {address}",
            f"  tx {data['tx_hash']}  gas used {data['gas_used']}",
            f"if no batch takes it, anyone may freeze the rollup after {data['freeze_after']} "
            f"(Unix time): zkperp chain freeze {db}",
        ],
    )


def _call_view(chain: Chain, dep, name: str) -> Any:
    fn = getattr(dep.contract(chain).functions, name, None)
    if fn is None:
        return None
    try:
        return chain.call(fn(), 100_000)
    except ValueError:
        return None


def _pending_forced(chain: Chain, dep) -> list[int]:
    """The queue indices of forced withdrawals still in the queue, oldest first."""
    status = rollup_api().rollup_status(chain, dep)
    head = int(status["queue_head"])
    logs = (
        dep.contract(chain).events.ForcedWithdrawalRequested().get_logs(from_block=dep.deploy_block)
    )
    return sorted(int(log["args"]["index"]) for log in logs if int(log["args"]["index"]) >= head)


@click.command("freeze")
@click.argument("db", type=click.Path(dir_okay=False))
@_rpc_option
@click.option(
    "--request",
    "request_index",
    type=click.IntRange(0, 2**64 - 1),
    default=None,
    help="The expired forced withdrawal's queue index (default: the oldest pending one).",
)
@_from_option
@_json_flag
def freeze_command(
    db: str, rpc_url: str | None, request_index: int | None, sender: str | None, as_json: bool
) -> None:
    """Freeze the rollup: allowed to anyone once a forced withdrawal has waited in the L1 queue
    past the deadline. Then each account exits once (``zkperp chain exit``)."""
    api = rollup_api()
    chain, dep, address = _user_chain(db, rpc_url, sender)
    if request_index is None:
        pending = _pending_forced(chain, dep)
        if not pending:
            raise click.ClickException(
                "no forced withdrawal waits in the L1 queue: nothing allows a freeze"
            )
        request_index = pending[0]
    try:
        result = api.freeze(chain, dep, request_index=request_index, sender=address)
    except ValueError as exc:
        raise _revert("freeze", exc) from None
    data = {"request_index": request_index, "tx_hash": result["tx_hash"]}
    data["gas_used"] = result["gas_used"]
    _echo_result(
        as_json,
        data,
        [
            f"rollup {dep.rollup} frozen (forced withdrawal {request_index} expired)",
            f"  tx {data['tx_hash']}  gas used {data['gas_used']}",
            "each account may now exit once: zkperp audit ... --export-escape N --out FILE, "
            f"then zkperp chain exit {db} --escape FILE",
        ],
    )


@click.command("exit")
@click.argument("db", type=click.Path(dir_okay=False))
@_rpc_option
@click.option(
    "--escape",
    "escape_file",
    type=click.Path(dir_okay=False),
    required=True,
    help="The account's escape data (zkperp audit --export-escape N --out FILE).",
)
@_from_option
@_json_flag
def exit_command(
    db: str, rpc_url: str | None, escape_file: str, sender: str | None, as_json: bool
) -> None:
    """After the freeze: pay an account's value in the last committed state to its L1 address
    (once per account), from the escape data an audit exported."""
    from rollup.audit import load_escape

    if not Path(escape_file).is_file():
        raise UsageProblem(f"no escape data file {escape_file}")
    try:
        opening = load_escape(escape_file)
    except ValueError as exc:
        raise UsageProblem(str(exc)) from None
    api = rollup_api()
    chain, dep, address = _user_chain(db, rpc_url, sender)
    try:
        result = api.exit(chain, dep, opening=opening, sender=address)
    except ValueError as exc:
        raise _revert("exit", exc) from None
    data = {
        "account": opening.account,
        "value": result.get("value"),
        "paid": result.get("paid"),
        "to": result.get("to"),
        "tx_hash": result["tx_hash"],
        "gas_used": result["gas_used"],
    }
    _echo_result(
        as_json,
        data,
        [
            f"account {opening.account} exited: value {data['value']} quanta, paid "
            f"{data['paid']} to {data['to']}",
            f"  tx {data['tx_hash']}  gas used {data['gas_used']}",
        ],
    )


def register(root: click.Group) -> None:
    """Add the ``chain`` group (node, deploy, submit, status, deposit, withdraw,
    force-withdraw, freeze, exit) to ``root``."""

    @root.group("chain", cls=type(root))
    def chain_group() -> None:
        """A development chain and the rollup contract: node, deploy, submit, status; a user's
        deposit, withdraw, force-withdraw, freeze and exit."""

    for command in (
        node_command,
        deploy_command,
        submit_command,
        status_command,
        deposit_command,
        withdraw_command,
        force_withdraw_command,
        freeze_command,
        exit_command,
    ):
        chain_group.add_command(command)
