"""Benchmark set-up: the Numba cache location and the output folder bench/out/.

``make bench`` runs ``pytest bench --benchmark-json=bench/out/latest.json``. Unless told otherwise,
pytest-benchmark's saved runs (``--benchmark-autosave``) also go under ``bench/out/``, and every
JSON report records the Numba version and thread count beside pytest-benchmark's machine and
commit information. Anchor scripts exchange data through files in ``bench_out``.
"""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
BENCH_OUT = REPO_ROOT / "bench" / "out"

os.environ.setdefault("NUMBA_CACHE_DIR", str(REPO_ROOT / ".numba_cache"))

import pytest  # noqa: E402  (after NUMBA_CACHE_DIR on purpose)


@pytest.hookimpl(tryfirst=True)  # before pytest-benchmark reads the storage option
def pytest_configure(config: pytest.Config) -> None:
    BENCH_OUT.mkdir(parents=True, exist_ok=True)
    storage = getattr(config.option, "benchmark_storage", None)
    if storage in (None, "file://./.benchmarks"):  # pytest-benchmark's default
        config.option.benchmark_storage = f"file://{BENCH_OUT / 'history'}"


@pytest.fixture(scope="session")
def bench_out() -> Path:
    """bench/out/ (ignored by git): where benchmark outputs and anchor data files go."""
    BENCH_OUT.mkdir(parents=True, exist_ok=True)
    return BENCH_OUT


def pytest_benchmark_update_json(
    config: pytest.Config, benchmarks: list, output_json: dict
) -> None:
    import numba

    output_json.setdefault("machine_info", {}).update(
        {
            "numba_version": numba.__version__,
            "numba_num_threads": numba.config.NUMBA_NUM_THREADS,
            "numba_threading_layer": os.environ.get("NUMBA_THREADING_LAYER", "default"),
        }
    )
