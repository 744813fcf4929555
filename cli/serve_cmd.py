"""``zkperp sequencer serve DB``: the local HTTP API (``rollup.http_api``) in front of the
sequencer of DB, until interrupted (Ctrl-C). Bound to 127.0.0.1 unless ``--host`` says
otherwise; routes and error codes are in ``rollup.http_api``'s docstring."""

from __future__ import annotations

import time

import click


@click.command("serve")
@click.argument("db", type=click.Path(exists=True, dir_okay=False))
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to bind.")
@click.option("--port", type=click.IntRange(0, 65535), default=8080, show_default=True)
@click.option(
    "--max-body",
    type=click.IntRange(256),
    default=64 * 1024,
    show_default=True,
    help="Largest request body accepted (bytes).",
)
@click.option(
    "--tick-interval",
    type=click.FloatRange(0.05),
    default=1.0,
    show_default=True,
    help="Seconds between checks that cut a batch by age.",
)
def serve(db: str, host: str, port: int, max_body: int, tick_interval: float) -> None:
    """Serve the HTTP API of the sequencer of DB."""
    from rollup.http_api import SequencerServer
    from rollup.sequencer import Sequencer

    def log(line: str) -> None:
        click.echo(f"{time.strftime('%H:%M:%S')} {line}", err=True)

    with Sequencer.open(db) as seq:
        server = SequencerServer(
            seq, (host, port), max_body=max_body, tick_interval=tick_interval, log=log
        )
        click.echo(f"serving {db} on {server.url}/v1 (Ctrl-C stops)")
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            click.echo("stopping", err=True)
        finally:
            server.server_close()


def register(sequencer: click.Group) -> None:
    sequencer.add_command(serve)
