"""bench.report and ``zkperp bench --report-only``: the summary and the two PNG plots from the
suites' JSON (synthetic inputs in the suites' formats), and a missing input leaves a series out
rather than failing."""

from __future__ import annotations

import json

from click.testing import CliRunner

from bench.report import load_points, write_report

PNG = b"\x89PNG\r\n\x1a\n"


def _inputs(out):
    plonk = {
        "benchmarks": [
            {"name": f"test_plonk_prove[{k}]",
             "extra_info": {"n": 1 << k, "gates": (1 << k) - 300, "ours_ms": 100.0 * 4 ** (k - 14),
                            "snarkjs_ms": 4000.0 * 4 ** (k - 14)}}
            for k in (14, 16)
        ] + [{"name": "test_msm[16]", "extra_info": {}}]
    }  # fmt: skip
    batch = {
        str(n): {"n_slots": n, "gates": 120_000 * n, "ours_ms": 5000.0 * n,
                 "trades_per_s": 0.2, "snarkjs_ms": 170_000.0 * n, "snarkjs_trades_per_s": 0.006}
        for n in (1, 2)
    }  # fmt: skip
    (out / "plonk.json").write_text(json.dumps(plonk))
    (out / "batch_prove.json").write_text(json.dumps(batch))


def test_points_summary_and_plots(tmp_path):
    _inputs(tmp_path)
    prove, trades = load_points(tmp_path)
    assert [p.circuit for p in prove] == ["plonk 2^14", "plonk 2^16", "batch 1", "batch 2"]
    assert prove[0].ours_s == 0.1 and prove[0].snarkjs_s == 4.0
    assert [t.slots for t in trades] == [1, 2] and trades[0].ours_trades_per_s == 0.2
    summary = write_report(tmp_path, tmp_path / "r")
    assert summary["prove"][0]["ratio"] == 40.0
    for name in ("prove_time.png", "trades_per_s.png"):
        assert (tmp_path / "r" / name).read_bytes().startswith(PNG)
    assert json.loads((tmp_path / "r" / "summary.json").read_text()) == summary


def test_missing_inputs_still_draw(tmp_path):
    (tmp_path / "plonk.json").write_text("{not json")
    summary = write_report(tmp_path, tmp_path / "r")
    assert summary["prove"] == [] and summary["trades"] == []
    assert (tmp_path / "r" / "trades_per_s.png").read_bytes().startswith(PNG)


def test_cli_report_only(tmp_path, monkeypatch):
    from cli import bench_cmd

    repo = tmp_path / "repo"  # a stand-in checkout: bench/conftest.py and bench/out/
    (repo / "bench" / "out").mkdir(parents=True)
    (repo / "bench" / "conftest.py").write_text("")
    _inputs(repo / "bench" / "out")
    monkeypatch.setattr(bench_cmd, "REPO", repo)
    res = CliRunner().invoke(bench_cmd.bench, ["--report-only", "--out", str(tmp_path / "rep")])
    assert res.exit_code == 0, res.output
    assert "40.0x snarkjs" in res.output and "0.20 trades/s" in res.output
    assert (tmp_path / "rep" / "prove_time.png").is_file()
