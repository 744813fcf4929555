"""``zkperp run`` (the operator's loop as one long-running command) and ``zkperp config``
(issue G, "Operator").

- ``run [--config FILE] [flags]``: opens the sequencer's database, serves the HTTP API
  (``rollup.http_api``, 127.0.0.1:8080 by default) and runs ``rollup.operator.Operator``: the
  L1 queue's deposits and forced withdrawals into the sequencer, batches cut when full or
  ``max_age`` old, proven with the keys of ``<db>.d/keys`` (``zkperp batch setup``; the
  prover's per-round progress on stderr, as ``zkperp plonk prove`` shows it), submitted to the
  rollup of ``<db>.d/chain.json`` (``zkperp chain deploy``), confirmed. One log line per event,
  with batch numbers, roots, proof times and gas. Ctrl-C or SIGTERM stops it cleanly: the HTTP
  server is shut, the database closed; a proof in progress is abandoned (the batch is proven
  again at the next start) and a submission already sent is picked up at the next start from
  the chain (``rollup.operator``'s docstring: no batch is lost or submitted twice).
- ``config show [--config FILE]``: the effective configuration, each value with its source
  (default, file, environment variable or flag); ``config init FILE``: a commented template.

Settings (``rollup.config``): defaults < the TOML file < ``ZKPERP_<SECTION>_<KEY>`` environment
variables < these flags. Errors (a bad config key, a missing database, keys or chain.json, no
node, a key that is not the rollup's operator) are one ``Error:`` line and a non-zero exit.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any

import click

_ROUND_LABELS = {
    1: "wire commitments [a], [b], [c]",
    2: "permutation [z]",
    3: "quotient [T1], [T2], [T3]",
    4: "evaluations at xi",
    5: "openings [Wxi], [Wxiw]",
}

_config_option = click.option(
    "--config",
    "config_file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    envvar="ZKPERP_CONFIG",
    help="The operator's TOML config (default: $ZKPERP_CONFIG, else none).",
)


def _load(config_file: Path | None, overrides: dict[str, Any]):
    from rollup.config import ConfigFileError, load_config

    try:
        return load_config(config_file, overrides=overrides)
    except ConfigFileError as exc:
        raise click.ClickException(str(exc)) from None


def _log(line: str) -> None:
    click.echo(f"{time.strftime('%H:%M:%S')} {line}", err=True)


def _progress(k: int, name: str, seconds: float | None) -> None:
    if seconds is not None:
        click.echo(f"  round {k}/5  {_ROUND_LABELS.get(k, name):<34}{seconds:8.3f} s", err=True)


def _chain(cfg: Any):
    """(chain, sender) for the config's RPC URL and operator account."""
    from verifier_contract.chain import Chain, ChainError

    url = cfg["chain.rpc_url"]
    kind, which = cfg.operator_account()
    try:
        if kind == "dev":
            chain = Chain.connect(url, timeout=600.0)
            accounts = chain.accounts
            if which >= len(accounts):
                raise click.ClickException(
                    f"keys.dev_account = {which}, but the node at {url} has {len(accounts)} "
                    "unlocked accounts"
                )
            chain.sender = accounts[which]
            return chain, accounts[which]
        from eth_account import Account
        from web3.middleware import SignAndSendRawMiddlewareBuilder

        var = cfg["keys.password_env"]
        password = os.environ.get(var)
        if password is None:
            raise click.ClickException(f"the keystore {which} needs its password in ${var}")
        try:
            key = Account.decrypt(Path(which).read_text(), password)
        except (OSError, ValueError) as exc:
            raise click.ClickException(f"keys.keystore {which}: {exc}") from None
        account = Account.from_key(key)
        chain = Chain.connect(url, timeout=600.0, sender=account.address)
        chain.w3.middleware_onion.inject(SignAndSendRawMiddlewareBuilder.build(account), layer=0)
        return chain, account.address
    except ChainError as exc:
        where = cfg.sources["chain.rpc_url"]
        raise click.ClickException(f"{exc} (chain.rpc_url, from {where})") from None


def _check_operator_key(cfg: Any, genesis: Any) -> None:
    path = cfg["keys.operator_key"]
    if path is None:
        return
    from circuits.gadgets import babyjubjub as bj
    from rollup.wallet import WalletError, load_key_file

    try:
        wallet = load_key_file(path, os.environ.get(cfg["keys.operator_key_password_env"]))
    except (WalletError, OSError) as exc:
        raise click.ClickException(f"keys.operator_key: {exc}") from None
    if wallet.pubkey != genesis.insurance_pubkey:
        want = "0x" + bj.pack_point(genesis.insurance_pubkey).hex()
        raise click.ClickException(
            f"keys.operator_key {path} holds {wallet.pubkey_hex}, the genesis's insurance "
            f"account (account 0) has {want}"
        )


@click.command("run")
@_config_option
@click.option(
    "--db",
    type=click.Path(dir_okay=False),
    default=None,
    help="The sequencer database (database.path).",
)
@click.option("--rpc-url", default=None, help="The L1 node's JSON-RPC URL (chain.rpc_url).")
@click.option(
    "--dev-account",
    type=int,
    default=None,
    help="Operator account: a dev node's unlocked account by index (keys.dev_account).",
)
@click.option(
    "--keystore",
    type=click.Path(dir_okay=False),
    default=None,
    help="Operator account: an Ethereum keystore file (keys.keystore).",
)
@click.option("--host", default=None, help="The HTTP API's interface (http.host).")
@click.option("--port", type=int, default=None, help="The HTTP API's port (http.port).")
@click.option(
    "--no-http",
    is_flag=True,
    default=None,
    help="Do not serve the HTTP API (http.enabled = false).",
)
@click.option(
    "--max-batch-age",
    type=int,
    default=None,
    help="Cut a batch this many seconds after its first transaction (batch.max_age).",
)
@click.option(
    "--threads", type=int, default=None, help="Proving threads (prover.threads; 0: all cores)."
)
@click.option(
    "--poll-interval",
    type=float,
    default=None,
    help="Seconds between looks at the chain when idle (chain.poll_interval).",
)
@click.option("-q", "--quiet", is_flag=True, help="No per-round proving progress.")
def run_command(
    config_file: Path | None,
    db: str | None,
    rpc_url: str | None,
    dev_account: int | None,
    keystore: str | None,
    host: str | None,
    port: int | None,
    no_http: bool | None,
    max_batch_age: int | None,
    threads: int | None,
    poll_interval: float | None,
    quiet: bool,
) -> None:
    """Run the operator: HTTP API, L1 queue, batches cut, proven, submitted, confirmed."""
    cfg = _load(
        config_file,
        {
            "database.path": db,
            "chain.rpc_url": rpc_url,
            "keys.dev_account": dev_account,
            "keys.keystore": keystore,
            "http.host": host,
            "http.port": port,
            "http.enabled": False if no_http else None,
            "batch.max_age": max_batch_age,
            "prover.threads": threads,
            "chain.poll_interval": poll_interval,
        },
    )
    from rollup.errors import RollupError, StorageError
    from rollup.keys import KeysError
    from rollup.operator import Operator, OperatorError, PlonkBatchProver, describe
    from rollup.sequencer import Sequencer
    from verifier_contract import rollup as ro

    if cfg["prover.threads"]:
        import numba

        n = cfg["prover.threads"]
        if n > numba.config.NUMBA_NUM_THREADS:
            raise click.ClickException(
                f"prover.threads = {n}: at most {numba.config.NUMBA_NUM_THREADS} here"
            )
        numba.set_num_threads(n)
    db_path = cfg.db_path
    if not db_path.is_file():
        raise click.ClickException(
            f"no sequencer database at {db_path} (database.path, from "
            f"{cfg.sources['database.path']}): create it with `zkperp sequencer init`"
        )
    try:
        seq = Sequencer.open(db_path, synchronous=cfg["database.synchronous"])
    except StorageError as exc:
        raise click.ClickException(str(exc)) from None
    server = None
    op = None
    previous = signal.getsignal(signal.SIGTERM)
    try:
        shapes = tuple(seq.config.shapes)
        if cfg["batch.shapes"] is not None and tuple(cfg["batch.shapes"]) != shapes:
            raise click.ClickException(
                f"batch.shapes = {list(cfg['batch.shapes'])} ({cfg.sources['batch.shapes']}), "
                f"but {db_path} was created with shapes {list(shapes)}"
            )
        units = [seq.config.units_for(n) for n in shapes]
        if cfg["batch.units"] is not None and list(cfg["batch.units"]) != units:
            raise click.ClickException(
                f"batch.units = {list(cfg['batch.units'])} ({cfg.sources['batch.units']}), "
                f"but {db_path} was created with units {units} (shapes {list(shapes)})"
            )
        sigs = [seq.config.signatures_for(n) for n in shapes]
        if cfg["batch.signatures"] is not None and list(cfg["batch.signatures"]) != sigs:
            raise click.ClickException(
                f"batch.signatures = {list(cfg['batch.signatures'])} "
                f"({cfg.sources['batch.signatures']}), but {db_path} was created with "
                f"signature units {sigs} (shapes {list(shapes)})"
            )
        _check_operator_key(cfg, seq.genesis)
        chain_json = cfg.chain_json
        if not chain_json.is_file():
            raise click.ClickException(
                f"no deployment file {chain_json}: deploy the rollup with "
                f"`zkperp chain deploy {db_path}`"
            )
        try:
            saved = json.loads(chain_json.read_text())
            if cfg["chain.rollup"] is not None:
                saved["rollup"] = cfg["chain.rollup"]
            dep = ro.RollupDeployment.from_json(saved)
        except (OSError, ValueError) as exc:
            raise click.ClickException(f"{chain_json}: {exc}") from None
        chain, sender = _chain(cfg)
        if not chain.w3.eth.get_code(dep.rollup):
            raise click.ClickException(
                f"no contract at {dep.rollup} on {cfg['chain.rpc_url']}: a restarted "
                f"development node forgets its contracts; deploy again: "
                f"zkperp chain deploy {db_path}"
            )
        prover = PlonkBatchProver(
            db_path, seq.genesis, config=seq.config, progress=None if quiet else _progress
        )
        t0 = time.perf_counter()
        try:
            for n in shapes:
                prover.load(n)
        except KeysError as exc:
            raise click.ClickException(str(exc)) from None
        from prover.plonk.prover import warm_up

        t_jit = warm_up()
        _log(
            f"proving keys for shapes {list(shapes)} loaded in {time.perf_counter() - t0:.1f} s "
            f"(JIT warm-up {t_jit:.1f} s)"
        )
        lock = threading.Lock()
        if cfg["http.enabled"]:
            from rollup.http_api import SequencerServer

            try:
                server = SequencerServer(
                    seq,
                    (cfg["http.host"], cfg["http.port"]),
                    max_body=cfg["http.max_body"],
                    tick_interval=None,
                    log=_log,
                )
            except OSError as exc:
                raise click.ClickException(
                    f"cannot serve on {cfg['http.host']}:{cfg['http.port']}: {exc}"
                ) from None
            lock = server.lock
            threading.Thread(target=server.serve_forever, daemon=True).start()

        def on_event(ev: Any) -> None:
            _log(describe(ev))

        op = Operator(
            seq,
            chain,
            dep,
            prover,
            lock=lock,
            sender=sender,
            max_age=cfg["batch.max_age"],
            on_event=on_event,
        )
        status = op.preflight()
        _log(
            f"operator {sender} on {cfg['chain.rpc_url']}: rollup {dep.rollup}, "
            f"{status['next_batch_number']} batches on chain, {seq.batch_number} cut; "
            + (f"HTTP API on {server.url}/v1" if server else "no HTTP API")
        )
        click.echo("running (Ctrl-C stops)", err=True)
        sys.stderr.flush()

        def on_term(signum: int, frame: Any) -> None:
            raise KeyboardInterrupt

        signal.signal(signal.SIGTERM, on_term)
        stop = threading.Event()
        try:
            op.run(stop, poll_interval=cfg["chain.poll_interval"])
        except KeyboardInterrupt:
            stop.set()
            _log("stopping (a proof in progress is made again at the next start)")
    except OperatorError as exc:
        raise click.ClickException(str(exc)) from None
    except RollupError as exc:
        raise click.ClickException(f"{type(exc).__name__}: {exc}") from None
    finally:
        signal.signal(signal.SIGTERM, previous)
        if server is not None:
            server.shutdown()
            server.server_close()
        if op is not None:
            op.close()
        seq.close()
    _log("stopped")


@click.command("show")
@_config_option
def show_command(config_file: Path | None) -> None:
    """Print the effective configuration and where each value comes from."""
    click.echo(_load(config_file, {}).show(), nl=False)


@click.command("init")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Overwrite an existing file.")
def init_command(path: Path, force: bool) -> None:
    """Write a commented config template to PATH."""
    from rollup.config import template

    if path.exists() and not force:
        raise click.ClickException(f"{path} exists (pass --force to overwrite it)")
    path.write_text(template())
    click.echo(f"written: {path} (edit it, then: zkperp run --config {path})")


def register(root: click.Group) -> None:
    """Add ``run`` and the ``config`` group (show, init) to ``root``."""
    root.add_command(run_command)

    @root.group("config", cls=type(root))
    def config_group() -> None:
        """The operator's config file (TOML): show the effective values, write a template."""

    config_group.add_command(show_command)
    config_group.add_command(init_command)
