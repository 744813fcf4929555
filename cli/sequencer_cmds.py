"""``zkperp sequencer ...`` and ``zkperp batch show``: run the exchange's sequencer on a SQLite
database (``rollup.sequencer``, ``rollup.storage``).

- ``sequencer init DB [--genesis demo|FILE]``: create the database (genesis, batch shapes,
  fees). The demo genesis has BTC, ETH and SOL markets and three demo oracles whose private
  keys are public (``rollup.sequencer.DEMO_ORACLE_KEYS``): for development only.
- ``sequencer submit DB REQUEST.json`` (``-`` reads stdin): one signed request (JSON formats in
  ``rollup.requests_json``). Accepted: its outcome, exit 0. Rejected or malformed: one line
  ``Error: rejected (<code>): <why>``, exit 1, and nothing changes.
- ``sequencer cut DB``: cut the open batch.
- ``sequencer status DB``, ``sequencer account DB INDEX|PUBKEY``, ``sequencer book DB MARKET``.
- ``batch show DB N``: a batch's number, timestamp, roots, transactions and pubdata.

Every command opens the database, recovers the sequencer (latest snapshot, then the requests
after it), acts, and commits before it exits. ``--json`` prints machine-readable output.
"""

from __future__ import annotations

import json
import sys
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import click

PRICE_SCALE = 1 << 32


def _echo_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, sort_keys=True))


def _price(p: int) -> str:
    """A 2^-32 fixed-point price in collateral quanta per synthetic quantum."""
    return f"{(Decimal(p) / PRICE_SCALE).quantize(Decimal('0.000001'))}"


def _usdc(quanta: int) -> str:
    return f"{Decimal(quanta) / 10**6:.6f}"


def _open(db: str, **kwargs: Any):
    from rollup.sequencer import Sequencer

    return Sequencer.open(db, **kwargs)


def _rejected(exc: Exception) -> click.ClickException:
    code = getattr(exc, "code", None)
    return click.ClickException(f"rejected ({code}): {exc}" if code else str(exc))


_now_option = click.option(
    "--now",
    type=click.IntRange(0, 2**32 - 1),
    default=None,
    metavar="T",
    help="Apply at time T (Unix seconds; default: the clock). For replays and tests.",
)
_json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON.")


def _ints(text: str, hint: str, what: str) -> tuple[int, ...]:
    try:
        return tuple(int(s) for s in text.split(","))
    except ValueError:
        raise click.BadParameter(f"a comma-separated list of {what}, got {text!r}",
                                 param_hint=hint) from None  # fmt: skip


def _shapes(text: str) -> tuple[int, ...]:
    return _ints(text, "--shapes", "sizes")


@click.command("init")
@click.argument("db", type=click.Path(dir_okay=False))
@click.option(
    "--genesis",
    "genesis_spec",
    default="demo",
    show_default=True,
    metavar="demo|FILE",
    help="The demo genesis, or a genesis JSON file (rollup.requests_json.genesis_from_json).",
)
@click.option(
    "--time",
    "timestamp",
    type=click.IntRange(0, 2**32 - 1),
    default=None,
    help="Genesis time of the demo genesis (default: now).",
)
@click.option("--exchange-id", type=click.IntRange(0, 2**32 - 1), default=1, show_default=True)
@click.option(
    "--shapes",
    default="2,4,8",
    show_default=True,
    help="Batch sizes in transaction slots, comma-separated; the largest is the capacity.",
)
@click.option(
    "--units",
    default=None,
    help="Account units of each shape (the most distinct accounts a batch of it may touch), "
    "comma-separated, one per shape in the order of --shapes; each in 2..2T, nondecreasing "
    "with T. Default: T // 2 + 1 (at least 2). A unit costs ~15-20k gates at account depth 8.",
)
@click.option(
    "--signatures",
    default=None,
    help="Signature units of each shape (the most distinct signed messages a batch of it may "
    "verify: orders, withdrawals, transfers, oracle prices; an order filled twice counts once), "
    "comma-separated, one per shape in the order of --shapes; each in 2..2T, nondecreasing "
    "with T. Default: T + 1 (at most 2T). A unit costs one EdDSA verification.",
)
@click.option("--no-pad", is_flag=True, help="Do not pad batches with no-ops to a shape.")
@click.option(
    "--max-age",
    type=click.IntRange(1, 2**32 - 1),
    default=None,
    help="Cut a batch once it is this many seconds old (at the next command).",
)
@click.option(
    "--snapshot-every",
    type=click.IntRange(1, 1 << 20),
    default=8,
    show_default=True,
    help="Snapshot the state every N batches (a restart replays at most N).",
)
@click.option(
    "--maker-fee",
    type=click.IntRange(0, 10**6),
    default=200,
    show_default=True,
    help="Maker fee, parts per million of the notional.",
)
@click.option(
    "--taker-fee",
    type=click.IntRange(0, 10**6),
    default=500,
    show_default=True,
    help="Taker fee, parts per million of the notional.",
)
def init(
    db: str,
    genesis_spec: str,
    timestamp: int | None,
    exchange_id: int,
    shapes: str,
    units: str | None,
    signatures: str | None,
    no_pad: bool,
    max_age: int | None,
    snapshot_every: int,
    maker_fee: int,
    taker_fee: int,
) -> None:
    """Create a sequencer database DB from a genesis."""
    from rollup.orderbook import FeeSchedule
    from rollup.requests_json import genesis_from_json, loads
    from rollup.sequencer import Sequencer, SequencerConfig, demo_genesis

    if genesis_spec == "demo":
        genesis = demo_genesis(int(time.time()) if timestamp is None else timestamp, exchange_id)
    else:
        path = Path(genesis_spec)
        if not path.is_file():
            raise click.BadParameter(f"no genesis file {genesis_spec}", param_hint="--genesis")
        data = loads(path.read_bytes())
        if isinstance(data, dict) and "genesis" in data and "exchange_id" not in data:
            data = data["genesis"]  # `sequencer genesis --with-units`: the genesis in it
        genesis = genesis_from_json(data)
    config = SequencerConfig(
        _shapes(shapes),
        not no_pad,
        max_age,
        FeeSchedule(maker_fee, taker_fee),
        snapshot_every,
        None if units is None else _ints(units, "--units", "account counts"),
        None if signatures is None else _ints(signatures, "--signatures", "signature counts"),
    )
    config.validate()  # before anything is created on disk
    Path(db).parent.mkdir(parents=True, exist_ok=True)
    seq = Sequencer.create(db, genesis, config)
    try:
        click.echo(
            f"created {db}: exchange {genesis.config.exchange_id}, genesis time {genesis.timestamp}"
        )
        click.echo(f"  state root {seq.root}")
        for m, p in zip(genesis.config.markets, genesis.prices):
            click.echo(f"  market {m.symbol:<4} price {_price(p)} quanta/quantum")
        cfg = seq.config
        units = [cfg.units_for(t) for t in cfg.shapes]
        default = "" if cfg.units is not None else " (default)"
        sigs = [cfg.signatures_for(t) for t in cfg.shapes]
        sig_default = "" if cfg.signatures is not None else " (default)"
        click.echo(
            f"  batch shapes {list(cfg.shapes)}, account units {units}{default}, pad {cfg.pad}"
        )
        click.echo(f"  signature units {sigs}{sig_default} (signed messages a batch verifies)")
        if genesis_spec == "demo":
            click.echo("  demo oracles: their private keys are public (development only)")
            click.echo(
                "  insurance account 0: the development key rollup.types.DEMO_INSURANCE_KEY "
                "(public; set insurance_pubkey in a genesis file for a deployment)"
            )
    finally:
        seq.close()


@click.command("submit")
@click.argument("db", type=click.Path(exists=True, dir_okay=False))
@click.argument("request", type=click.Path(allow_dash=True, dir_okay=False))
@_now_option
@_json_option
def submit(db: str, request: str, now: int | None, as_json: bool) -> None:
    """Submit one signed REQUEST (a JSON file, or - for stdin) to the sequencer of DB."""
    from rollup.errors import RollupError
    from rollup.requests_json import parse_request

    if request == "-":
        text = sys.stdin.buffer.read()
    else:
        path = Path(request)
        if not path.is_file():
            raise click.BadParameter(f"no file {request}", param_hint="REQUEST")
        text = path.read_bytes()
    try:
        parsed = parse_request(text)
    except RollupError as exc:
        raise _rejected(exc) from exc
    with _open(db) as seq:
        try:
            outcome = seq.submit(parsed, now)
        except RollupError as exc:
            raise _rejected(exc) from exc
        if as_json:
            _echo_json(outcome.to_json())
            return
        click.echo(f"accepted as request {outcome.seq} at {outcome.now}: {outcome.status}")
        if outcome.reason:
            click.echo(f"  reason: {outcome.reason}")
        for r in outcome.receipts:
            rec = r.record
            kind = type(rec).__name__.removesuffix("Record").lower()
            if kind == "trade":
                click.echo(
                    f"  trade: {rec.size} at {_price(rec.price)}, taker {rec.taker} "
                    f"(fee {rec.taker_fee}) / maker {rec.maker} (fee {rec.maker_fee})"
                )
            else:
                click.echo(f"  {kind}: {json.dumps(_record(rec))}")
        for c in outcome.cancelled:
            click.echo(
                f"  cancelled order {c.order_id} of account {c.account} "
                f"({c.remaining} left): {c.code}"
            )
        if outcome.status == "resting":
            click.echo(f"  resting: {outcome.remaining}")
        for b in outcome.batches:
            click.echo(f"  cut batch {b}")


def _record(rec: Any) -> dict:
    from rollup.requests_json import record_to_json

    d = record_to_json(rec)
    d.pop("type")
    return d


@click.command("cut")
@click.argument("db", type=click.Path(exists=True, dir_okay=False))
@_now_option
def cut(db: str, now: int | None) -> None:
    """Cut the open batch of DB."""
    from rollup.errors import RollupError

    with _open(db) as seq:
        try:
            batch = seq.cut(now)
        except RollupError as exc:
            raise _rejected(exc) from exc
        if batch is None:
            click.echo("nothing to cut: the open batch holds no transaction")
            return
        click.echo(
            f"cut batch {batch.number}: {batch.n_txs} transactions in {batch.size} slots, "
            f"timestamp {batch.timestamp}"
        )
        click.echo(f"  pre-root  {batch.pre_root}\n  post-root {batch.post_root}")
        click.echo(f"  pubdata   {len(batch.pubdata)} bytes, L1 queue {list(batch.l1_queue)}")


@click.command("status")
@click.argument("db", type=click.Path(exists=True, dir_okay=False))
@_json_option
def status(db: str, as_json: bool) -> None:
    """The state of the sequencer of DB: root, batches, markets."""
    with _open(db) as seq:
        st = seq.status()
    if as_json:
        _echo_json(st)
        return
    click.echo(f"exchange {st['exchange_id']}, time {st['time']}")
    click.echo(f"  state root      {st['root']}")
    click.echo(f"  requests        {st['requests']}")
    ob = st["open_batch"]
    click.echo(
        f"  batches cut     {st['batches']} (open batch {ob['number']}: "
        f"{ob['transactions']} transactions)"
    )
    click.echo(f"  L1 queue next   {st['l1_queue_next']}")
    click.echo(f"  accounts        {st['accounts']}")
    click.echo(
        f"  insurance fund  {_usdc(st['insurance'] // PRICE_SCALE)} USDC "
        f"(account 0; dust {st['insurance_dust']}, pending {st['pending_insurance']} "
        "in 2^-32 quanta)"
    )
    click.echo(f"  resting orders  {st['resting_orders']}")
    for m in st["markets"]:
        bid = _price(m["best_bid"]) if m["best_bid"] else "-"
        ask = _price(m["best_ask"]) if m["best_ask"] else "-"
        click.echo(
            f"  {m['symbol']:<4} oracle {_price(m['price'])} (at {m['price_time']}), "
            f"funding {m['funding_index']}, bid {bid}, ask {ask}, open interest "
            f"{m['open_interest']}"
        )


@click.command("account")
@click.argument("db", type=click.Path(exists=True, dir_okay=False))
@click.argument("account")
@_json_option
def account(db: str, account: str, as_json: bool) -> None:
    """An account of DB by index or packed public key (0x + 64 hex digits)."""
    with _open(db) as seq:
        info = seq.account_info(seq.account_index(account))
        symbols = [m.symbol for m in seq.genesis.config.markets]
    if as_json:
        _echo_json(info)
        return
    click.echo(f"account {info['index']}")
    click.echo(f"  public key  {info['pubkey']}")
    click.echo(f"  L1 address  {info['l1_address']}")
    click.echo(f"  collateral  {_usdc(info['collateral'])} USDC, nonce {info['nonce']}")
    for sym, size in zip(symbols, info["positions"]):
        if size:
            click.echo(f"  position    {sym} {size:+d}")
    scale = PRICE_SCALE * 10**6
    click.echo(
        f"  value       {_usdc(info['total_value'] // PRICE_SCALE)} USDC, "
        f"risk {_usdc(info['total_risk'] // scale)} (maintenance) / "
        f"{_usdc(info['total_risk_initial'] // scale)} (initial)"
    )
    if info["liquidatable"]:
        click.echo("  LIQUIDATABLE: total risk exceeds total value")
    for o in info["orders"]:
        click.echo(
            f"  order {o['order_id']}: {o['side']} {o['remaining']}/{o['size']} "
            f"{symbols[o['market']]} at {_price(o['limit_price'])} "
            f"({o['time_in_force']}, expires {o['expiry']})"
        )


@click.command("book")
@click.argument("db", type=click.Path(exists=True, dir_okay=False))
@click.argument("market")
@click.option("--levels", type=click.IntRange(1, 1000), default=10, show_default=True)
@_json_option
def book(db: str, market: str, levels: int, as_json: bool) -> None:
    """The order book of MARKET (index or symbol) in DB."""
    from rollup.errors import UnknownMarketError

    with _open(db) as seq:
        symbols = [m.symbol for m in seq.genesis.config.markets]
        try:
            m = seq.market_index(market)
        except UnknownMarketError:
            raise click.BadParameter(f"one of {', '.join(symbols)}", param_hint="MARKET") from None
        bids, asks = seq.book.depth(m, levels, seq.now)
    if as_json:
        _echo_json({"market": m, "bids": bids, "asks": asks})
        return
    click.echo(f"{symbols[m]}: price, size, orders")
    for price, size, n in reversed(asks):
        click.echo(f"  ask {_price(price):>22} {size:>16} {n:>4}")
    for price, size, n in bids:
        click.echo(f"  bid {_price(price):>22} {size:>16} {n:>4}")


@click.command("show")
@click.argument("db", type=click.Path(exists=True, dir_okay=False))
@click.argument("number", type=click.IntRange(0))
@click.option("--pubdata", "show_pubdata", is_flag=True, help="Print the pubdata hex.")
@_json_option
def show(db: str, number: int, show_pubdata: bool, as_json: bool) -> None:
    """Batch NUMBER of DB: timestamp, roots, transactions, pubdata."""
    from rollup.requests_json import record_to_json, transaction_to_json
    from rollup.storage import Storage

    with Storage.open(db) as storage:
        b = storage.batch(number)
    if as_json:
        _echo_json(
            {
                "number": b.number,
                "timestamp": b.timestamp,
                "pre_root": str(b.pre_root),
                "post_root": str(b.post_root),
                "size": b.size,
                "l1_queue": list(b.l1_queue),
                "transactions": [transaction_to_json(t) for t in b.transactions],
                "records": [record_to_json(r) for r in b.records],
                "pubdata": "0x" + b.pubdata.hex(),
            }
        )
        return
    click.echo(
        f"batch {b.number}: timestamp {b.timestamp}, {b.n_txs} transactions "
        f"in {b.size} slots, L1 queue {list(b.l1_queue)}"
    )
    click.echo(f"  pre-root  {b.pre_root}\n  post-root {b.post_root}")
    click.echo(f"  pubdata   {len(b.pubdata)} bytes")
    used = b.size  # the records up to the padding (continuation NoOps of a tick included)
    while used and type(b.records[used - 1]).__name__ == "NoopRecord":
        used -= 1
    for i, r in enumerate(b.records[:used]):
        d = record_to_json(r)
        kind = d.pop("type")
        click.echo(f"  {i:>4} {kind:<18} {json.dumps(d)}")
    if b.size > used:
        click.echo(f"  ({b.size - used} no-op slots of padding)")
    if show_pubdata:
        click.echo("0x" + b.pubdata.hex())


@click.command("genesis")
@click.argument("db", type=click.Path(exists=True, dir_okay=False))
@click.option("--out", "-o", type=click.Path(dir_okay=False), help="Write it here (else stdout).")
@click.option(
    "--with-units",
    is_flag=True,
    help='Also the batch shapes and their account and signature units: {"genesis": ..., '
    '"shapes": [...], "units": [...], "signatures": [...]} (what `zkperp audit --ptau` needs '
    "to rebuild each shape's circuit).",
)
def genesis(db: str, out: str | None, with_units: bool) -> None:
    """The genesis of DB as JSON: what an auditor needs besides the chain (zkperp audit
    --genesis), and what `sequencer init --genesis FILE` takes. With --with-units, wrapped with
    the batch shapes and their account units and signature units (zkperp audit and sequencer
    init read both)."""
    from rollup.sequencer import SequencerConfig
    from rollup.storage import Storage

    with Storage.open(db) as storage:
        data = storage.genesis_json
        if with_units:
            cfg = SequencerConfig.from_json(storage.settings_json)
            data = {
                "genesis": data,
                "shapes": list(cfg.shapes),
                "units": [cfg.units_for(t) for t in cfg.shapes],
                "signatures": [cfg.signatures_for(t) for t in cfg.shapes],
            }
        text = json.dumps(data, indent=2, sort_keys=True) + "\n"
    if out is None:
        click.echo(text, nl=False)
    else:
        Path(out).write_text(text, encoding="utf-8")
        click.echo(f"wrote {out}", err=True)


def register(sequencer: click.Group, batch: click.Group) -> None:
    """Add init / submit / cut / status / account / book / genesis to ``zkperp sequencer`` and
    ``show`` to ``zkperp batch`` (cli/main.py)."""
    for cmd in (init, submit, cut, status, account, book, genesis):
        sequencer.add_command(cmd)
    batch.add_command(show)
