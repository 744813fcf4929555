"""``zkperp audit``: re-verify a deployed rollup from the chain alone (issue G, "Auditor";
the checks are ``rollup.audit``'s).

    zkperp audit --rpc-url URL --contract ADDRESS --genesis GENESIS.json
                 (--vk-dir DIR | --zkey FILE ... |
                  --ptau FILE [--units T:D,...] [--signatures T:S,...]) [--snarkjs]
                 [--from-block N] [--log-chunk BLOCKS]
                 [--export-escape ACCOUNT --out FILE] [--json]

The trusted verifying keys (one per batch size) are what the auditor rebuilt from the published
circuit: ``--vk-dir`` holds ``batch_<n>.vk.json`` (e.g. ``<db>.d/keys`` after ``zkperp batch
setup``), ``--zkey`` reads the key of each batch zkey given, ``--ptau`` sets up the batch circuit
of every verifier registered in the contract (``rollup.keys.batch_shape`` of the genesis config
and the shape's account units and signature units) on that ptau (slow: one PLONK setup per
shape). The units are the deployment's: ``--genesis`` may be what ``zkperp sequencer genesis
--with-units`` writes (``{"genesis": ..., "shapes": [...], "units": [...], "signatures":
[...]}``), ``--units 4:4,8:5`` and ``--signatures 4:5,8:9`` give them (they win); a plain
genesis file: the defaults T // 2 + 1 account units and T + 1 signature units.

Exit status: 0 no divergence (a summary: batches, transactions by type, the final root), 1 a
divergence (each one with its batch and field), 2 bad arguments, an unreadable file, no node at
the URL, or no rollup at the address. ``--export-escape ACCOUNT --out FILE`` writes the
account's exit data from the rebuilt final state (``rollup.audit.escape_json``; what
``verifier_contract.rollup.exit`` takes after ``rollup.audit.opening_from_json``), only when the
audit passed.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

EXIT_DIVERGENCE = 1
EXIT_USAGE = 2
NO_SENDER = "0x0000000000000000000000000000000000000000"


class UsageProblem(click.ClickException):
    """Unreadable input or an unreachable node: exit status 2."""

    exit_code = EXIT_USAGE


class Divergent(click.ClickException):
    """The audit found a divergence (the report is already printed): exit status 1."""

    exit_code = EXIT_DIVERGENCE


def _genesis(path: str):
    """(genesis, {T: D} or None, {T: S} or None) of a genesis JSON, or of a wrapper holding one
    (a state dump; ``zkperp sequencer genesis --with-units``: with the shapes' account units
    and signature units)."""
    from rollup.audit import AuditError, signatures_from_json, units_from_json
    from rollup.requests_json import genesis_from_json

    try:
        data = json.loads(Path(path).read_text())
        units = sigs = None
        if isinstance(data, dict) and "genesis" in data and "exchange_id" not in data:
            units = units_from_json(data)
            sigs = signatures_from_json(data)
            data = data["genesis"]  # a state dump or a wrapper
        return genesis_from_json(data), units, sigs
    except (OSError, ValueError, AuditError) as exc:
        raise UsageProblem(f"{path}: not a genesis JSON: {exc}") from None


def _pairs(text: str, hint: str, example: str) -> dict[int, int]:
    """``--units T:D,T:D,...`` (``--signatures T:S,...``) as ``{T: D}``."""
    out = {}
    word = "UNITS" if hint == "--units" else "SIGNATURES"
    for part in text.split(","):
        t, sep, d = part.partition(":")
        try:
            if not sep:
                raise ValueError(part)
            out[int(t)] = int(d)
        except ValueError:
            raise click.BadParameter(
                f"SLOTS:{word} pairs, comma-separated (e.g. {example}), got {text!r}",
                param_hint=hint,
            ) from None
    return out


def _units(text: str) -> dict[int, int]:
    """``--units T:D,T:D,...`` as ``{T: D}``."""
    return _pairs(text, "--units", "2:2,4:3,8:5")


def _signatures(text: str) -> dict[int, int]:
    """``--signatures T:S,T:S,...`` as ``{T: S}``."""
    return _pairs(text, "--signatures", "2:3,4:5,8:9")


def _connect(url: str):
    """A read-only connection: an auditor's node need not hold unlocked accounts."""
    from verifier_contract.chain import Chain, ChainError

    try:
        return Chain.connect(url, timeout=600.0, sender=NO_SENDER)
    except ChainError as exc:
        if "eth_accounts" not in str(exc):
            raise UsageProblem(str(exc)) from None
    from web3 import HTTPProvider, Web3

    chain = Chain.__new__(Chain)
    chain.w3 = Web3(HTTPProvider(url, request_kwargs={"timeout": 600.0}))
    chain.sender = NO_SENDER
    return chain


@click.command("audit")
@click.option("--rpc-url", default=None, help="JSON-RPC URL of a node (default :8545).")
@click.option("--contract", "address", required=True, help="The rollup contract's address.")
@click.option(
    "--genesis",
    "genesis_path",
    required=True,
    type=click.Path(dir_okay=False),
    help="The genesis JSON (rollup.requests_json.genesis_to_json).",
)
@click.option(
    "--vk-dir",
    type=click.Path(file_okay=False),
    default=None,
    help="Trusted keys: a directory of batch_<n>.vk.json.",
)
@click.option(
    "--zkey",
    "zkeys",
    multiple=True,
    type=click.Path(dir_okay=False),
    help="Trusted keys: a batch zkey (repeat per shape).",
)
@click.option(
    "--ptau",
    type=click.Path(dir_okay=False),
    default=None,
    help="Trusted keys: set up the batch circuit of each registered shape on this ptau.",
)
@click.option(
    "--units",
    "units_text",
    default=None,
    metavar="T:D,...",
    help="With --ptau: the account units D of each shape T (default: those in the --genesis "
    "file of `zkperp sequencer genesis --with-units`, else T // 2 + 1).",
)
@click.option(
    "--signatures",
    "signatures_text",
    default=None,
    metavar="T:S,...",
    help="With --ptau: the signature units S of each shape T (default: those in the --genesis "
    "file of `zkperp sequencer genesis --with-units`, else T + 1).",
)
@click.option("--snarkjs", "use_snarkjs", is_flag=True, help="Also verify with snarkjs.")
@click.option(
    "--from-block",
    type=click.IntRange(0),
    default=None,
    help="Read from this block (the deployment's); needed on nodes without history.",
)
@click.option(
    "--log-chunk",
    type=click.IntRange(1),
    default=None,
    help="Blocks per eth_getLogs query (default 5,000; halved when the node refuses one).",
)
@click.option("--export-escape", "account", type=click.IntRange(0), default=None,
              help="Write this account's exit data (needs --out).")  # fmt: skip
@click.option("--out", type=click.Path(dir_okay=False), default=None, help="Escape data file.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.option("--quiet", "-q", is_flag=True, help="No progress lines on stderr.")
def audit_command(
    rpc_url: str | None,
    address: str,
    genesis_path: str,
    vk_dir: str | None,
    zkeys: tuple[str, ...],
    ptau: str | None,
    units_text: str | None,
    signatures_text: str | None,
    use_snarkjs: bool,
    from_block: int | None,
    log_chunk: int | None,
    account: int | None,
    out: str | None,
    as_json: bool,
    quiet: bool,
) -> None:
    """Re-verify a rollup from chain data alone: rebuild the state from every batch's pubdata,
    recompute every root and public input, verify every proof (Python; --snarkjs too), check
    the genesis root and that each verifier contract is the trusted key's. Exit 0 if all
    agree, 1 on any divergence (reported with its batch and field), 2 on bad input."""
    from rollup import audit
    from verifier_contract.chain import DEFAULT_RPC_URL

    if (account is None) != (out is None):
        raise UsageProblem("--export-escape ACCOUNT and --out FILE go together")
    if sum((vk_dir is not None, bool(zkeys), ptau is not None)) != 1:
        raise UsageProblem("give the trusted keys: one of --vk-dir, --zkey or --ptau")
    if units_text is not None and ptau is None:
        raise UsageProblem("--units sets the circuits --ptau rebuilds: give --ptau")
    if signatures_text is not None and ptau is None:
        raise UsageProblem("--signatures sets the circuits --ptau rebuilds: give --ptau")
    genesis, units, sigs = _genesis(genesis_path)
    if units_text is not None:
        units = {**(units or {}), **_units(units_text)}
    if signatures_text is not None:
        sigs = {**(sigs or {}), **_signatures(signatures_text)}
    vks: dict[int, Any] = {}
    try:
        if vk_dir is not None:
            vks = audit.load_vk_dir(vk_dir)
        for z in zkeys:
            n, vk = audit.vk_from_zkey(z)
            vks[n] = vk
    except audit.AuditError as exc:
        raise UsageProblem(str(exc)) from None
    url = rpc_url or DEFAULT_RPC_URL
    chain = _connect(url)
    say = None if quiet or as_json else (lambda msg: click.echo(msg, err=True))
    try:
        if ptau is not None:
            reader = audit.ChainReader(chain, address, from_block=from_block, log_chunk=log_chunk)
            created = reader.creation()
            shapes = set(created.verifiers) if created and created.code_matches else set()
            shapes |= {e.n_slots for e in reader.events()}
            if not shapes:
                raise UsageProblem("no registered verifier found to rebuild keys for")
            if say:
                from circuits.state_transition import default_signatures, default_units

                what = ", ".join(
                    f"{n} slots ({(units or {}).get(n, default_units(n))} account units, "
                    f"{(sigs or {}).get(n, default_signatures(n))} signature units)"
                    for n in sorted(shapes)
                )
                say(f"setting up the batch circuit for {what} on {ptau}")
            vks = audit.trusted_vks_from_circuit(genesis, shapes, ptau, units, sigs)
        report = audit.audit_chain(
            chain, address, genesis, vks, snarkjs=use_snarkjs, from_block=from_block,
            log_chunk=log_chunk, progress=say,
        )  # fmt: skip
    except audit.AuditError as exc:
        raise UsageProblem(str(exc)) from None
    escape: dict[str, Any] | None = None
    if account is not None and report.ok:
        assert out is not None and report.state is not None
        try:
            data = audit.escape_json(report.state, account)
        except audit.AuditError as exc:
            raise click.ClickException(str(exc)) from None
        Path(out).write_text(json.dumps(data, indent=1) + "\n")
        escape = {"account": account, "file": out, "value_owner": data["l1_address"]}
    if as_json:
        payload = report.to_json()
        if escape is not None:
            payload["escape"] = escape
        click.echo(json.dumps(payload, indent=1))
    else:
        click.echo(report.summary())
        if escape is not None:
            click.echo(f"escape data of account {account} (pays {escape['value_owner']}): {out}")
    if not report.ok:
        tail = " (no escape data written)" if account is not None else ""
        raise Divergent(f"the chain diverges from its pubdata, proofs or keys{tail}")


def register(root: click.Group) -> None:
    root.add_command(audit_command)
