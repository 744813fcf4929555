"""The benchmark report of ``zkperp bench``: one summary JSON and two PNG plots (matplotlib)
from what the bench suites wrote under ``bench/out/``:

- ``prove_time.png``: PLONK prove time against circuit size (gates, log-log), ours and snarkjs
  0.7.6 on the same zkeys and witnesses (``bench/test_bench_plonk.py``'s pytest-benchmark JSON,
  ``extra_info`` of each ``test_plonk_prove[k]``; and the batch circuit's sizes from
  ``bench/test_bench_batch_prove.py``'s ``batch_prove.json``);
- ``trades_per_s.png``: trades proven per second against batch size (trade slots), ours and
  snarkjs's (``batch_prove.json``).

``summary.json`` holds the same points and their ratios. A missing input leaves its series out
(the plot says which suite makes it) rather than failing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

__all__ = ["ProvePoint", "TradePoint", "load_points", "write_report"]


@dataclass(frozen=True)
class ProvePoint:
    circuit: str  # "plonk 2^k" (the benchmark circuit) or "batch n" (the rollup's)
    gates: int
    ours_s: float
    snarkjs_s: float | None


@dataclass(frozen=True)
class TradePoint:
    slots: int
    gates: int
    ours_trades_per_s: float
    snarkjs_trades_per_s: float | None


def _read_json(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        return None


def load_points(out: Path) -> tuple[list[ProvePoint], list[TradePoint]]:
    """The prove-time and trades-per-second points found under ``out``."""
    prove: list[ProvePoint] = []
    trades: list[TradePoint] = []
    plonk = _read_json(out / "plonk.json") or {}
    for bench in plonk.get("benchmarks", []):
        info = bench.get("extra_info", {})
        if not bench.get("name", "").startswith("test_plonk_prove") or "ours_ms" not in info:
            continue
        snark = info.get("snarkjs_ms")
        prove.append(
            ProvePoint(
                f"plonk 2^{int(info['n']).bit_length() - 1}",
                int(info["gates"]),
                info["ours_ms"] / 1e3,
                snark / 1e3 if snark else None,
            )
        )
    batches = _read_json(out / "batch_prove.json") or {}
    for key in sorted(batches, key=lambda k: int(k) if str(k).isdigit() else 0):
        row = batches[key]
        if not isinstance(row, dict) or "ours_ms" not in row:
            continue
        snark = row.get("snarkjs_ms")
        prove.append(
            ProvePoint(
                f"batch {row['n_slots']}",
                int(row["gates"]),
                row["ours_ms"] / 1e3,
                snark / 1e3 if snark else None,
            )
        )
        trades.append(
            TradePoint(
                int(row["n_slots"]),
                int(row["gates"]),
                float(row["trades_per_s"]),
                row.get("snarkjs_trades_per_s"),
            )
        )
    prove.sort(key=lambda p: p.gates)
    trades.sort(key=lambda t: t.slots)
    return prove, trades


def _plot_prove(points: list[ProvePoint], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5), dpi=120)
    if points:
        ax.loglog([p.gates for p in points], [p.ours_s for p in points], "o-", label="zkperp")
        theirs = [p for p in points if p.snarkjs_s]
        if theirs:
            ax.loglog(
                [p.gates for p in theirs], [p.snarkjs_s for p in theirs], "s--", label="snarkjs"
            )
        for p in points:
            ax.annotate(p.circuit, (p.gates, p.ours_s), fontsize=7, xytext=(4, -10),
                        textcoords="offset points")  # fmt: skip
        ax.legend()
    else:
        ax.text(0.5, 0.5, "no data: run bench/test_bench_plonk.py", ha="center",
                transform=ax.transAxes)  # fmt: skip
    ax.set_xlabel("circuit size (PLONK gates)")
    ax.set_ylabel("prove time (s)")
    ax.set_title("PLONK prove time, same zkey and witness")
    ax.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def _plot_trades(points: list[TradePoint], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5), dpi=120)
    if points:
        xs = [t.slots for t in points]
        ax.plot(xs, [t.ours_trades_per_s for t in points], "o-", label="zkperp")
        theirs = [t for t in points if t.snarkjs_trades_per_s]
        if theirs:
            ax.plot([t.slots for t in theirs], [t.snarkjs_trades_per_s for t in theirs], "s--",
                    label="snarkjs")  # fmt: skip
        ax.set_xscale("log", base=2)
        ax.set_xticks(xs, [str(x) for x in xs])
        ax.legend()
    else:
        ax.text(0.5, 0.5, "no data: run bench/test_bench_batch_prove.py", ha="center",
                transform=ax.transAxes)  # fmt: skip
    ax.set_xlabel("batch size (trade slots)")
    ax.set_ylabel("trades proven per second")
    ax.set_title("Batch proving throughput")
    ax.grid(True, alpha=0.3)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def write_report(bench_out: Path, dest: Path) -> dict:
    """summary.json, prove_time.png and trades_per_s.png in ``dest`` from ``bench_out``'s
    results; returns the summary."""
    dest.mkdir(parents=True, exist_ok=True)
    prove, trades = load_points(bench_out)
    summary = {
        "prove": [
            p.__dict__ | {"ratio": round(p.snarkjs_s / p.ours_s, 1) if p.snarkjs_s else None}
            for p in prove
        ],
        "trades": [t.__dict__ for t in trades],
        "plots": ["prove_time.png", "trades_per_s.png"],
    }
    (dest / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    _plot_prove(prove, dest / "prove_time.png")
    _plot_trades(trades, dest / "trades_per_s.png")
    return summary
