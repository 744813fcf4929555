"""``zkperp batch setup | prove | verify``: validity proofs of a sequencer's batches (issue E,
"Witness and proving"), with the files of layout v2 section 9 under ``<db>.d/``
(``rollup.keys.Deployment``).

- ``batch setup DB [--ptau FILE] [--force]``: one PLONK setup (``prover.plonk.setup``) per batch
  shape of DB's sequencer config (each with its account units and signature units,
  ``SequencerConfig.units_for``, ``SequencerConfig.signatures_for``):
  ``keys/batch_<n>.zkey`` (snarkjs's PLONK zkey), ``keys/batch_<n>.vk.json`` and a
  ``.meta.json`` (the shape, both units included, and the circuit digest: a shape whose
  circuit and ptau did not change is skipped; ``prove`` and ``verify`` refuse keys made for
  another shape). Without ``--ptau`` a development SRS of the power the
  largest shape needs is written to ``keys/dev_pot<K>.ptau`` (``zkperp ptau new``'s one-party
  SRS: insecure for production, the command says so).
- ``batch prove DB N [--out DIR]``: the state before batch N (``Storage.state_before_batch``),
  the witness of the batch circuit (``rollup.proving.batch_witness``), a PLONK proof
  (``prover.plonk.prover``, progress per round on stderr, JIT warm-up and per-key
  precomputation timed apart), checked by the Python verifier, written as
  ``proofs/batch_<N>.proof.json``, ``.public.json`` (snarkjs formats) and ``.wtns`` (the witness,
  for ``snarkjs plonk prove``).
- ``batch verify DB N [--dir DIR]``: the Python verifier (``prover.plonk.verifier``) on the
  shape's ``vk.json``, after checking that ``public.json`` equals the public inputs rebuilt from
  the database's batch (``rollup.pubdata.public_inputs``: old root, new root, number, timestamp,
  pubdata words). Exit 0: valid ("OK!"); 1: invalid (the reason is printed); 2: usage, an unknown
  batch, missing keys or proof files, files not in snarkjs's format.

Errors are one ``Error:`` line, never a traceback (``cli.main._Group``).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from rollup.batch import Batch
    from rollup.state import State
    from rollup.storage import Storage
    from rollup.types import Genesis

EXIT_VALID = 0
EXIT_INVALID = 1
EXIT_USAGE = 2

_ROUND_LABELS = {
    1: "wire commitments [a], [b], [c]",
    2: "permutation [z]",
    3: "quotient [T1], [T2], [T3]",
    4: "evaluations at xi",
    5: "openings [Wxi], [Wxiw]",
}


class UsageProblem(click.ClickException):
    """A missing database, batch, key or file, or a file in the wrong format: exit status 2."""

    exit_code = EXIT_USAGE


# --- the library side (the benchmark uses these too) -----------------------------------------


def open_db(db: str | Path) -> tuple[Storage, Genesis]:
    """DB's storage (open: close it) and genesis; UsageProblem if DB is not a database."""
    from rollup.errors import StorageError
    from rollup.requests_json import genesis_from_json
    from rollup.storage import Storage

    try:
        storage = Storage.open(db)
    except StorageError as exc:
        raise UsageProblem(str(exc)) from None
    try:
        return storage, genesis_from_json(storage.genesis_json)
    except BaseException:
        storage.close()
        raise


def _config(storage: Storage) -> Any:
    """DB's ``SequencerConfig`` (its shapes' account and signature units); UsageProblem if it
    does not read."""
    from rollup.errors import ConfigError
    from rollup.sequencer import SequencerConfig

    try:
        return SequencerConfig.from_json(storage.settings_json)
    except ConfigError as exc:
        raise UsageProblem(str(exc)) from None


def open_batch(db: str | Path, number: int) -> tuple[Storage, Genesis, Batch]:
    """DB's storage (open: close it), genesis and batch ``number``; UsageProblem if DB or the
    batch does not exist."""
    from rollup.errors import StorageError

    storage, genesis = open_db(db)
    try:
        batch = storage.batch(number)
    except StorageError as exc:
        storage.close()
        raise UsageProblem(str(exc)) from None
    except BaseException:
        storage.close()
        raise
    return storage, genesis, batch


def state_before(storage: Storage, number: int) -> State:
    """The state batch ``number`` starts from (``Storage.state_before_batch``: the nearest
    snapshot, then the pubdata of the batches in between)."""
    return storage.state_before_batch(number)


def public_inputs_of(batch: Batch) -> list[int]:
    """The public inputs of ``batch``'s proof as the contract rebuilds them from calldata
    (``rollup.pubdata.public_inputs``, layout v2 section 6)."""
    from rollup.pubdata import public_inputs

    return public_inputs(
        batch.pre_root, batch.post_root, batch.number, batch.timestamp, batch.pubdata, batch.size
    )


def witness_of(state: State, batch: Batch, shape: Any) -> tuple[list[int], list[int]]:
    """(witness, public inputs) of ``batch`` in ``shape``'s circuit from the state before it
    (``rollup.proving.batch_witness``: it replays the batch, checks the roots and pubdata
    against it, and checks every gate)."""
    from rollup.proving import batch_witness

    return batch_witness(state, batch, shape)


def _first_difference(got: list[int], want: list[int]) -> str:
    if len(got) != len(want):
        return f"{len(got)} public inputs, the batch has {len(want)}"
    names = ["old root", "new root", "batch number", "timestamp"]
    for i, (g, w) in enumerate(zip(got, want)):
        if g != w:
            if i < len(names):
                what = names[i]
            else:
                what = f"pubdata word {(i - 4) % 3} of slot {(i - 4) // 3}"
            return f"public input {i} ({what}) is {g}, the batch gives {w}"
    return "no difference"


def _progress(k: int, name: str, seconds: float | None) -> None:
    if seconds is not None:
        click.echo(f"  round {k}/5  {_ROUND_LABELS.get(k, name):<34}{seconds:8.3f} s", err=True)


# --- setup -----------------------------------------------------------------------------------


@click.command("setup")
@click.argument("db", type=click.Path(dir_okay=False))
@click.option(
    "--ptau",
    "ptau_file",
    type=click.Path(dir_okay=False),
    default=None,
    help="A powers-of-tau file (a ceremony's, prepared for phase 2). Default: a development "
    "SRS written to <db>.d/keys/dev_pot<K>.ptau (insecure).",
)
@click.option("--force", is_flag=True, help="Redo the setup even of keys that are up to date.")
def setup_cmd(db: str, ptau_file: str | None, force: bool) -> None:
    """Make the proving and verification keys of every batch shape of DB into <db>.d/keys/."""
    from cli.ptau_cmds import INSECURE_WARNING
    from prover.plonk.constraint_system import domain_power
    from rollup.keys import (
        MAX_POWER,
        Deployment,
        KeysError,
        batch_shape,
        compiled_circuit,
        setup_keys,
    )
    from rollup.keys import dev_ptau as make_dev_ptau
    from rollup.sequencer import SequencerConfig

    storage, genesis = open_db(db)
    try:
        config = SequencerConfig.from_json(storage.settings_json)
    finally:
        storage.close()
    dep = Deployment(Path(db))
    shapes = [
        batch_shape(genesis, n, config.units_for(n), config.signatures_for(n))
        for n in config.shapes
    ]
    circuits, powers = {}, {}
    for shape in shapes:
        t0 = time.perf_counter()
        cs = compiled_circuit(shape).cs
        circuits[shape.n_slots], powers[shape.n_slots] = cs, domain_power(cs)
        click.echo(
            f"batch shape {shape.n_slots} slots, {shape.n_units} account units, "
            f"{shape.n_signatures} signature units (account depth "
            f"{shape.account_depth}, order depth {shape.order_depth}, {shape.n_markets} "
            f"markets): {cs.n_gates:,} gates, "
            f"domain 2^{powers[shape.n_slots]}, {cs.n_public} public inputs "
            f"(built in {time.perf_counter() - t0:.1f} s)"
        )
        if powers[shape.n_slots] > MAX_POWER:
            raise click.ClickException(
                f"batches of {shape.n_slots} slots need a domain of 2^{powers[shape.n_slots]}, "
                f"more than the 2^{MAX_POWER} a setup here allows: choose smaller batch shapes"
            )
    need = max(powers.values())
    if ptau_file is None:
        click.echo(INSECURE_WARNING, err=True)
        t0 = time.perf_counter()
        ptau = make_dev_ptau(dep, need)
        made = time.perf_counter() - t0
        click.echo(f"development ptau {ptau}" + (f" (written in {made:.1f} s)" if made > 1 else ""))
    else:
        ptau = Path(ptau_file)
        if not ptau.is_file():
            raise UsageProblem(f"{ptau}: no such file")

    def report(info: Any) -> None:
        what = "up to date" if info.cached else f"set up in {info.seconds:.1f} s"
        click.echo(f"  batch_{info.n_slots}: {what} -> {dep.zkey(info.n_slots)}")

    try:
        setup_keys(dep, shapes, ptau, force=force, circuits=circuits, on_shape=report)
    except KeysError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"keys for shapes {list(config.shapes)} in {dep.keys_dir}")


# --- prove -----------------------------------------------------------------------------------


@click.command("prove")
@click.argument("db", type=click.Path(dir_okay=False))
@click.argument("number", type=click.IntRange(0))
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Where to write the proof files (default: <db>.d/proofs/).",
)
@click.option("-q", "--quiet", is_flag=True, help="No progress lines, only errors.")
def prove_cmd(db: str, number: int, out_dir: Path | None, quiet: bool) -> None:
    """Prove batch NUMBER of DB: proof.json, public.json and the witness (.wtns)."""
    from prover import formats
    from prover.plonk import verifier
    from prover.plonk.prover import ProverContext, prove_with_timings, warm_up
    from prover.wtns import write_wtns
    from prover.zkey import read_zkey
    from rollup.keys import Deployment, KeysError, batch_shape, compiled_circuit

    def say(text: str) -> None:
        if not quiet:
            click.echo(text, err=True)

    dep = Deployment(Path(db))
    storage, genesis, batch = open_batch(db, number)
    try:
        config = _config(storage)
        shape = batch_shape(
            genesis, batch.size, config.units_for(batch.size), config.signatures_for(batch.size)
        )
        try:
            info = dep.require_keys(batch.size)
        except KeysError as exc:
            raise UsageProblem(str(exc)) from None
        t0 = time.perf_counter()
        cs = compiled_circuit(shape).cs
        try:
            dep.check_fresh(info, shape, cs)
        except KeysError as exc:
            raise UsageProblem(str(exc)) from None
        t_circuit = time.perf_counter() - t0
        t0 = time.perf_counter()
        state = state_before(storage, number)
        t_state = time.perf_counter() - t0
    finally:
        storage.close()
    if state.root != batch.pre_root:
        raise click.ClickException(
            f"the state rebuilt before batch {number} has root {state.root}, the batch's "
            f"pre-root is {batch.pre_root}: the database is inconsistent"
        )
    say(
        f"zkperp batch prove: batch {number} of {db}: {batch.n_txs} transactions in "
        f"{batch.size} slots; circuit {cs.n_gates:,} gates ({t_circuit:.2f} s), state before "
        f"the batch ({t_state:.2f} s)"
    )
    t0 = time.perf_counter()
    witness, public = witness_of(state, batch, shape)
    t_witness = time.perf_counter() - t0
    expected = public_inputs_of(batch)
    if list(public) != expected:
        raise click.ClickException(
            f"the witness's public inputs differ from batch {number}'s: "
            f"{_first_difference(list(public), expected)}"
        )
    t0 = time.perf_counter()
    pk = read_zkey(dep.zkey(batch.size))
    t_read = time.perf_counter() - t0
    if pk.n_vars != len(witness) or pk.n_public != len(public):
        raise UsageProblem(
            f"{dep.zkey(batch.size)} does not fit the circuit ({pk.n_vars} signals, "
            f"{pk.n_public} public; the witness has {len(witness)}, {len(public)}): run "
            f"`zkperp batch setup {db} --force`"
        )
    t_jit = warm_up()
    t0 = time.perf_counter()
    ctx = ProverContext.from_key(pk)
    t_ctx = time.perf_counter() - t0
    for label, seconds in (
        (f"witness ({len(witness):,} signals)", t_witness),
        (f"zkey read (domain 2^{pk.power})", t_read),
        ("JIT warm-up (Numba kernels)", t_jit),
        ("per-key precomputation", t_ctx),
    ):
        say(f"  {label:<45}{seconds:8.3f} s")
    result = prove_with_timings(
        pk, witness, progress=None if quiet else _progress, check=True, context=ctx
    )
    t0 = time.perf_counter()
    check = verifier.verify(pk.vk, result.public_signals, result.proof)
    t_verify = time.perf_counter() - t0
    if not check.valid:  # a prover bug, not the user's: say so plainly
        raise click.ClickException(f"the new proof does not verify: {check.reason}")
    directory = out_dir if out_dir is not None else dep.proofs_dir
    directory.mkdir(parents=True, exist_ok=True)
    proof_path, public_path, wtns_path = dep.proof_files(directory, number)
    formats.write_json(proof_path, formats.proof_to_json(result.proof))
    formats.write_json(public_path, formats.public_to_json(result.public_signals))
    write_wtns(wtns_path, witness)
    tm = result.timings
    trades = sum(type(r).__name__ == "TradeRecord" for r in batch.records)
    say(
        f"proved batch {number} in {tm['total_s']:.3f} s (MSM {tm['kernel_msm_s']:.3f} s, NTT "
        f"{tm['kernel_ntt_s']:.3f} s, quotient {tm['kernel_quotient_s']:.3f} s; {trades} "
        f"trades), verified in {t_verify:.2f} s"
    )
    click.echo(f"proof written to {proof_path}")
    click.echo(f"public inputs written to {public_path}")
    click.echo(f"witness written to {wtns_path}")


# --- verify ----------------------------------------------------------------------------------


@click.command("verify")
@click.argument("db", type=click.Path(dir_okay=False))
@click.argument("number", type=click.IntRange(0))
@click.option(
    "--dir",
    "in_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Where the proof files are (default: <db>.d/proofs/).",
)
def verify_cmd(db: str, number: int, in_dir: Path | None) -> None:
    """Verify the proof of batch NUMBER of DB (exit 0 valid, 1 invalid, 2 missing files)."""
    from prover import formats
    from prover.plonk import verifier
    from rollup.keys import Deployment, KeysError, batch_shape

    dep = Deployment(Path(db))
    storage, genesis, batch = open_batch(db, number)
    try:
        config = _config(storage)
        units, sigs = config.units_for(batch.size), config.signatures_for(batch.size)
    finally:
        storage.close()
    try:
        info = dep.key_info(batch.size)
        if info is not None:  # keys made for another shape (account or signature units)
            dep.check_shape(info, batch_shape(genesis, batch.size, units, sigs))
        vk = dep.load_verifying_key(batch.size)
    except KeysError as exc:
        raise UsageProblem(str(exc)) from None
    except formats.FormatError as exc:
        raise UsageProblem(f"{dep.vk(batch.size)}: {exc}") from None
    directory = in_dir if in_dir is not None else dep.proofs_dir
    proof_path, public_path, _ = dep.proof_files(directory, number)
    for path in (proof_path, public_path):
        if not path.is_file():
            raise UsageProblem(f"{path}: no such file (run `zkperp batch prove {db} {number}`)")
    try:
        public = formats.parse_public_json(formats.load_json(public_path))
    except formats.FormatError as exc:
        raise UsageProblem(f"{public_path}: {exc}") from None
    try:
        proof = formats.parse_proof_json(formats.load_json(proof_path))
    except formats.FormatError as exc:
        raise UsageProblem(f"{proof_path}: {exc}") from None
    expected = public_inputs_of(batch)
    ctx = click.get_current_context()
    if public != expected:
        click.echo(
            f"Invalid: {public_path} does not match batch {number} in {db}: "
            f"{_first_difference(public, expected)}"
        )
        ctx.exit(EXIT_INVALID)
    t0 = time.perf_counter()
    result = verifier.verify(vk, public, proof)
    elapsed = time.perf_counter() - t0
    if not result.valid:
        click.echo(f"Invalid proof of batch {number}: {result.reason}")
        ctx.exit(EXIT_INVALID)
    click.echo(f"OK! batch {number}: valid proof ({batch.size} slots, verified in {elapsed:.2f} s)")


def register(batch_group: click.Group) -> None:
    """Add ``setup``, ``prove`` and ``verify`` to ``zkperp batch`` (cli/main.py)."""
    for cmd in (setup_cmd, prove_cmd, verify_cmd):
        batch_group.add_command(cmd)
