"""``zkperp plonk prove [in.zkey] [in.wtns] [proof.json] [public.json]``, shaped like snarkjs
0.7.6's ``plonk prove`` (``cli.js``: the same arguments, the same defaults, the same JSON files).

The prover is ``prover.plonk.prover`` (PLONK, ePrint 2019/953 section 8.3, with snarkjs's
transcript, so ``snarkjs plonk verify`` accepts the proof). Progress goes to stderr, one line per
round as it finishes, then a final timing line; ``-v`` adds the time per kernel family. Bad input
(an unreadable or malformed zkey or witness, a witness of the wrong length, a witness that breaks
a gate: the gate is named) is one ``Error:`` line and a non-zero exit, never a traceback.
"""

from __future__ import annotations

import time
from pathlib import Path

import click

_IN = click.Path(dir_okay=False, path_type=Path)
_OUT = click.Path(dir_okay=False, writable=True, path_type=Path)

_ROUND_LABELS = {
    1: "wire commitments [a], [b], [c]",
    2: "permutation [z]",
    3: "quotient [T1], [T2], [T3]",
    4: "evaluations at xi",
    5: "openings [Wxi], [Wxiw]",
}


def _progress(k: int, name: str, seconds: float | None) -> None:
    if seconds is not None:
        click.echo(f"  round {k}/5  {_ROUND_LABELS.get(k, name):<34}{seconds:8.3f} s", err=True)


def register(plonk_group: click.Group) -> None:
    """Add ``plonk prove`` to the ``plonk`` group."""

    @plonk_group.command("prove")
    @click.argument("zkey", metavar="[IN.ZKEY]", type=_IN, default="circuit_final.zkey")
    @click.argument("wtns", metavar="[IN.WTNS]", type=_IN, default="witness.wtns")
    @click.argument("proof_json", metavar="[PROOF.JSON]", type=_OUT, default="proof.json")
    @click.argument("public_json", metavar="[PUBLIC.JSON]", type=_OUT, default="public.json")
    @click.option("-q", "--quiet", is_flag=True, help="No progress lines, only errors.")
    @click.option("-v", "--verbose", is_flag=True, help="Also print the time per kernel family.")
    def plonk_prove(
        zkey: Path, wtns: Path, proof_json: Path, public_json: Path, quiet: bool, verbose: bool
    ) -> None:
        """Prove: IN.ZKEY (a snarkjs PLONK zkey) + IN.WTNS -> PROOF.JSON + PUBLIC.JSON.

        Defaults as snarkjs: circuit_final.zkey, witness.wtns, proof.json, public.json.
        """
        from prover import formats
        from prover.plonk.prover import KERNEL_NAMES, ProverContext, prove_with_timings
        from prover.wtns import read_wtns
        from prover.zkey import read_zkey

        for path in (zkey, wtns):
            if not path.is_file():
                raise click.ClickException(f"{path}: no such file")
        t0 = time.perf_counter()
        pk = read_zkey(zkey)
        witness = read_wtns(wtns)
        t_read = time.perf_counter() - t0
        if not quiet:
            click.echo(
                f"zkperp plonk prove: domain 2^{pk.power}, {pk.n_constraints} gates, "
                f"{pk.n_public} public signals, {len(pk.additions)} additions "
                f"(files read in {t_read:.2f} s)",
                err=True,
            )
        t0 = time.perf_counter()
        ctx = ProverContext.from_key(pk)
        t_ctx = time.perf_counter() - t0
        if not quiet:
            click.echo(f"  per-key precomputation{'':<27}{t_ctx:8.3f} s", err=True)
        result = prove_with_timings(pk, witness, progress=None if quiet else _progress, context=ctx)
        formats.write_json(proof_json, formats.proof_to_json(result.proof))
        formats.write_json(public_json, formats.public_to_json(result.public_signals))
        if quiet:
            return
        tm = result.timings
        if verbose:
            parts = ", ".join(
                f"{name} {tm[f'kernel_{name}_s']:.3f}"
                for name in KERNEL_NAMES
                if tm.get(f"kernel_{name}_s", 0.0) >= 0.0005
            )
            click.echo(
                f"  kernels (s): {parts}; {int(tm['msm_count'])} MSMs of "
                f"{int(tm['msm_points'])} points in all",
                err=True,
            )
        click.echo(
            f"proof written to {proof_json}, public signals to {public_json}: "
            f"prove {tm['total_s']:.3f} s (MSM {tm['kernel_msm_s']:.3f} s, NTT "
            f"{tm['kernel_ntt_s']:.3f} s, quotient {tm['kernel_quotient_s']:.3f} s), "
            f"per-key {t_ctx:.3f} s, read {t_read:.3f} s",
            err=True,
        )
