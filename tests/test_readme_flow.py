"""The README's "Using it" flow as a new user types it: the real ``zkperp`` command in
subprocesses, in a fresh directory, on a hardhat node.

An operator creates the database (a genesis file with the shallowest trees, 1 market, batches
of 1 slot: small keys, quick proofs), sets up the batch keys, starts a development chain,
deploys; two traders make keys and deposit on L1 (``chain deposit --mint``); ``zkperp run``
serves the HTTP API and proves and submits every batch; the traders POST a resting sell and a
crossing buy signed with ``wallet sign order``, then a withdrawal; once ``chain status`` shows
every batch on chain, ``chain withdraw`` pays the L1 address; ``sequencer genesis`` and
``zkperp audit`` check the chain's history. Every background process is stopped with SIGTERM
and must exit 0; none is left behind.
"""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from verifier_contract.node import free_port, node_answers

REPO = Path(__file__).resolve().parent.parent
PRICE = 600 * 2**32  # the BTC genesis price: 600 collateral quanta per synthetic quantum
DEPOSIT = 10**10  # 10,000 USDC
WITHDRAW = 10**9

pytestmark = [pytest.mark.node, pytest.mark.slow]


def _zkperp() -> list[str]:
    exe = Path(sys.executable).parent / "zkperp"
    return [str(exe)] if exe.is_file() else [sys.executable, "-m", "cli.main"]


class Shell:
    """Runs ``zkperp ...`` in ``cwd`` as a user would; remembers background processes."""

    def __init__(self, cwd: Path) -> None:
        self.cwd = cwd
        self.env = {
            **os.environ,
            "PYTHONPATH": str(REPO),
            "NUMBA_CACHE_DIR": os.environ.get("NUMBA_CACHE_DIR", str(REPO / ".numba_cache")),
            "ZKPERP_WALLET_PASSWORD": "correct horse battery staple",
        }
        self.env.pop("ZKPERP_DEBUG", None)
        self.background: list[tuple[subprocess.Popen, Path]] = []

    def run(self, *args: object, code: int = 0, timeout: float = 600) -> str:
        proc = subprocess.run(
            [*_zkperp(), *(str(a) for a in args)],
            cwd=self.cwd,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        out = proc.stdout + proc.stderr
        assert proc.returncode == code, f"zkperp {' '.join(map(str, args))}: {out}"
        assert "Traceback" not in out, out
        return proc.stdout if code == 0 else out

    def start(self, name: str, *args: object) -> tuple[subprocess.Popen, Path]:
        log = self.cwd / f"{name}.log"
        with open(log, "w") as f:
            proc = subprocess.Popen(
                [*_zkperp(), *(str(a) for a in args)],
                cwd=self.cwd,
                env=self.env,
                stdout=f,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.background.append((proc, log))
        return proc, log

    def wait_for(self, log: Path, text: str, proc: subprocess.Popen, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if text in log.read_text():
                return
            assert proc.poll() is None, f"exited {proc.returncode}:\n{log.read_text()}"
            time.sleep(0.2)
        raise AssertionError(f"no {text!r} after {timeout} s:\n{log.read_text()}")

    def stop_all(self) -> list[int | None]:
        """SIGTERM each background process (last started first); their exit statuses."""
        codes = []
        for proc, _log in reversed(self.background):
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)
            codes.append(proc.returncode)
        return codes


def _http(url: str, body: bytes | None = None) -> tuple[int, dict]:
    request = urllib.request.Request(
        url,
        data=body,
        headers={"Content-Type": "application/json"} if body is not None else {},
        method="POST" if body is not None else "GET",
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def _write_small_genesis(path: Path) -> None:
    """The demo genesis (now) cut to 1 market and the shallowest trees: 4^2 accounts, 4
    order slots each (``sequencer init`` has no depth options; a genesis file sets them)."""
    from rollup.requests_json import genesis_to_json
    from rollup.sequencer import demo_genesis

    g = demo_genesis(int(time.time()))
    cfg = dataclasses.replace(
        g.config, markets=g.config.markets[:1], account_depth=2, order_depth=1
    )
    genesis = dataclasses.replace(g, config=cfg, prices=g.prices[:1])
    path.write_text(json.dumps(genesis_to_json(genesis), indent=2))


def test_readme_operator_and_trader_flow(tmp_path):
    from tests.test_hardhat import require_hardhat

    require_hardhat()
    sh = Shell(tmp_path)
    db = "run/seq.db"
    node_port, http_port = free_port(), free_port()
    rpc = f"http://127.0.0.1:{node_port}"
    api = f"http://127.0.0.1:{http_port}/v1"
    try:
        # --- the operator -----------------------------------------------------------------
        _write_small_genesis(tmp_path / "genesis_in.json")
        out = sh.run("sequencer", "init", db, "--genesis", "genesis_in.json", "--shapes", "1")
        assert f"created {db}" in out and "batch shapes [1]" in out
        assert "keys for shapes [1]" in sh.run("batch", "setup", db)
        node, node_log = sh.start("node", "chain", "node", "--port", node_port)
        sh.wait_for(node_log, "stop with Ctrl-C", node, 120)
        accounts = [
            line.split()[1] for line in node_log.read_text().splitlines() if line.startswith("  #")
        ]
        assert len(accounts) == 10
        out = sh.run("chain", "deploy", db, "--rpc-url", rpc)
        assert "written: run/seq.db.d/chain.json" in out
        rollup = json.loads((tmp_path / "run/seq.db.d/chain.json").read_text())["rollup"]

        # --- two traders: keys, then deposits from dev accounts #1 and #2 ------------------
        pubkeys = {}
        for name in ("alice", "bob"):
            out = sh.run("wallet", "new", f"{name}.json")
            pubkeys[name] = out.split("public key: ")[1].split()[0]
        for i, name in enumerate(("alice", "bob"), start=1):
            out = sh.run(
                "chain", "deposit", db, "--amount", DEPOSIT, "--key", f"{name}.json",
                "--from", i, "--mint",
            )  # fmt: skip
            assert f"L1 request {i - 1}" in out and f"from {accounts[i]}" in out

        # --- the operator's loop ------------------------------------------------------------
        runner, run_log = sh.start(
            "run", "run", "--db", db, "--rpc-url", rpc, "--dev-account", 0, "--port", http_port
        )
        sh.wait_for(run_log, "running (Ctrl-C stops)", runner, 300)
        index = {}
        deadline = time.monotonic() + 300
        while len(index) < 2 and time.monotonic() < deadline:
            for name, pub in pubkeys.items():
                status, body = _http(f"{api}/accounts/{pub}")
                if status == 200:
                    index[name] = int(body["index"])
            assert runner.poll() is None, run_log.read_text()
            time.sleep(0.5)
        assert set(index) == {"alice", "bob"}, run_log.read_text()

        # --- a resting sell (bob) and a crossing buy (alice), then alice's withdrawal ------
        status, info = _http(f"{api}/status")
        assert status == 200
        exchange = str(info.get("exchange_id", 1))

        def sign(*args: object) -> bytes:
            return sh.run("wallet", "sign", *args, "--exchange-id", exchange).encode()

        common = ("--market", 0, "--size", 1000, "--limit-price", PRICE, "--max-fee", 10**6)
        common += ("--expiry", 2**32 - 1)
        sell = sign("order", "bob.json", "--account", index["bob"], "--side", "sell", *common,
                    "--order-id", 1)  # fmt: skip
        status, body = _http(f"{api}/requests", sell)
        assert status == 200 and body["status"] == "resting", body
        buy = sign("order", "alice.json", "--account", index["alice"], "--side", "buy", *common,
                   "--order-id", 1)  # fmt: skip
        status, body = _http(f"{api}/requests", buy)
        assert status == 200 and body["filled"] == 1000, body
        status, account = _http(f"{api}/accounts/{index['alice']}")
        withdrawal = sign(
            "withdrawal", "alice.json", "--account", index["alice"], "--amount", WITHDRAW,
            "--nonce", account["nonce"],
        )  # fmt: skip
        status, body = _http(f"{api}/requests", withdrawal)
        assert status == 200, body
        status, info = _http(f"{api}/status")
        cut = int(info["batches"]) if "batches" in info else None

        # --- every batch on chain --------------------------------------------------------
        deadline = time.monotonic() + 600
        while True:
            report = json.loads(sh.run("chain", "status", db, "--json"))
            on_chain = report["chain"]["next_batch_number"]
            if (
                on_chain == report["database"]["batches_cut"]
                and report["chain"]["queue_length"] == 0
            ):
                if cut is None or on_chain >= cut:
                    break
            assert runner.poll() is None, run_log.read_text()
            assert time.monotonic() < deadline, run_log.read_text()
            time.sleep(2)
        assert report["in_sync"] is True

        # --- alice takes her withdrawal on L1 ----------------------------------------------
        out = sh.run("chain", "withdraw", db, "--from", 1)
        assert f"withdrew {WITHDRAW} quanta to {accounts[1]}" in out
        assert f"token balance is now {WITHDRAW}" in out
        assert "nothing pending" in sh.run("chain", "withdraw", db, "--from", 1, code=1)

        # --- the auditor -------------------------------------------------------------------
        sh.run("sequencer", "genesis", db, "-o", "genesis.json")
        out = sh.run(
            "audit", "--rpc-url", rpc, "--contract", rollup, "--genesis", "genesis.json",
            "--vk-dir", "run/seq.db.d/keys",
        )  # fmt: skip
        assert "audit OK: no divergence" in out, out
        assert f"{on_chain} batches" in out
        assert f"proofs verified (Python): {on_chain} of {on_chain}" in out
    finally:
        codes = sh.stop_all()
        logs = {log.name: log.read_text() for _, log in sh.background}
    assert codes == [0] * len(codes), logs
    assert "stopped" in logs.get("run.log", "stopped")
    assert not node_answers(rpc, timeout=1.0)
