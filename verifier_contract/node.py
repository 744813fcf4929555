"""Development Ethereum nodes on 127.0.0.1 that outlive a CLI call (issue F: separate
``zkperp chain`` calls share one chain): hardhat 2 in a child process (``HardhatNode``), or the
embedded EVM served over JSON-RPC from this process (``EmbeddedNode``, below).

``HardhatNode.start(port=None)`` runs the hardhat CLI the project pins in package.json
(``node_modules/.bin/hardhat``, what ``npx hardhat`` resolves to) with the committed
``hardhat.config.cjs`` (chain id 31337, Cancun rules: the ``evmVersion`` of
``verifier_contract.compile``; a 100M block gas limit; EIP-170 enforced), on a free port unless
one is given, and returns once the node answers ``eth_chainId``. Its ten dev accounts are funded
with 10,000 ETH each and unlocked on the node (hardhat's public test mnemonic: the keys are
known to everyone, for development only). ``stop()`` (or leaving the ``with`` block) ends the
node's whole process group: SIGINT, then SIGKILL after a grace period. On Linux the node also
gets SIGTERM when the thread that started it dies (``prctl(PR_SET_PDEATHSIG)``): start it from
a thread that outlives it (the main thread in the CLI and the tests).

The node's output (one line per JSON-RPC call) goes to a log file, never to a pipe nobody reads
(a full pipe would block the node). ``NodeError`` says why a node did not start, with the tail
of that log.
"""

from __future__ import annotations

import ast
import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from eth_utils import to_checksum_address

from verifier_contract.compile import REPO_ROOT, node_modules

HOST = "127.0.0.1"
HARDHAT_CONFIG = REPO_ROOT / "hardhat.config.cjs"
HARDHAT_CHAIN_ID = 31337
START_TIMEOUT = 90.0
STOP_TIMEOUT = 10.0
_PR_SET_PDEATHSIG = 1  # linux/prctl.h
_KEY_LINE = re.compile(r"Account #\d+: (0x[0-9a-fA-F]{40}).*\n\s*Private Key: (0x[0-9a-fA-F]{64})")


class NodeError(RuntimeError):
    """The development node could not be started (hardhat missing, port taken, no answer)."""


def free_port(host: str = HOST) -> int:
    """A TCP port free on ``host`` now (the OS's choice; another process may still take it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def rpc_request(url: str, method: str, params: list[Any] | None = None, timeout: float = 5.0):
    """One JSON-RPC call over HTTP with the standard library; returns ``result``.

    Raises ``OSError`` (``urllib.error.URLError``) when nothing answers at ``url`` and
    ``NodeError`` for a JSON-RPC error or a reply that is not JSON-RPC."""
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params or []})
    request = urllib.request.Request(
        url, data=body.encode(), headers={"Content-Type": "application/json"}, method="POST"
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:
        try:
            reply = json.loads(response.read())
        except ValueError as exc:
            raise NodeError(f"{url} did not answer JSON-RPC ({exc})") from None
    if not isinstance(reply, dict) or ("result" not in reply and "error" not in reply):
        raise NodeError(f"{url} did not answer JSON-RPC: {str(reply)[:200]}")
    if "error" in reply:
        raise NodeError(f"{url}: {method} failed: {reply['error']}")
    return reply["result"]


def node_answers(url: str, timeout: float = 2.0) -> bool:
    """Whether a JSON-RPC node answers ``eth_chainId`` at ``url``."""
    try:
        rpc_request(url, "eth_chainId", timeout=timeout)
    except (OSError, NodeError, ValueError):
        return False
    return True


def _die_with_parent() -> None:
    """In the child, before exec (Linux): SIGTERM when the thread that started the node dies,
    so a killed test run or CLI leaves no node behind. Elsewhere a no-op."""
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    except (OSError, AttributeError):
        pass


def hardhat_executable() -> Path:
    """``node_modules/.bin/hardhat`` (installed by ``make install`` from package.json)."""
    path = node_modules() / ".bin" / "hardhat"
    if not path.exists():
        raise NodeError(f"hardhat is not installed ({path} is missing): run `make install`")
    if shutil.which("node") is None:
        raise NodeError("`node` is not on PATH: Node.js 20 is needed to run hardhat")
    return path


@dataclass(frozen=True)
class DevAccount:
    """A funded account of the development node (checksummed address); ``private_key`` when
    the node printed it."""

    address: str
    balance_wei: int
    private_key: str | None = None


@dataclass
class HardhatNode:
    """A running ``hardhat node`` (see the module docstring). Not frozen: it owns a process."""

    host: str
    port: int
    process: subprocess.Popen
    log_path: Path
    _log: IO[bytes] | None = field(default=None, repr=False)
    _own_log_dir: Path | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @classmethod
    def start(
        cls,
        port: int | None = None,
        *,
        host: str = HOST,
        log_path: str | os.PathLike | None = None,
        timeout: float = START_TIMEOUT,
        attempts: int = 3,
    ) -> HardhatNode:
        """Start a node on ``host:port`` (a free port when ``port`` is None; a port taken
        between the choice and hardhat's bind is retried) and wait until it answers."""
        last: NodeError | None = None
        for _ in range(attempts if port is None else 1):
            chosen = free_port(host) if port is None else port
            if port is not None and node_answers(f"http://{host}:{chosen}", timeout=1.0):
                raise NodeError(f"port {chosen} on {host} is already serving a node")
            try:
                return cls._start_once(host, chosen, log_path, timeout)
            except NodeError as exc:
                last = exc
                if "EADDRINUSE" not in str(exc) and "address already in use" not in str(exc):
                    raise
        assert last is not None
        raise last

    @classmethod
    def _start_once(
        cls, host: str, port: int, log_path: str | os.PathLike | None, timeout: float
    ) -> HardhatNode:
        executable = hardhat_executable()
        if not HARDHAT_CONFIG.is_file():
            raise NodeError(f"{HARDHAT_CONFIG} is missing")
        own_dir = None
        if log_path is None:
            own_dir = Path(tempfile.mkdtemp(prefix="zkperp-hardhat-"))
            log_path = own_dir / "hardhat.log"
        log_path = Path(log_path)
        log = open(log_path, "wb")  # noqa: SIM115 (closed by stop())
        env = {
            **os.environ,
            "HARDHAT_DISABLE_TELEMETRY_PROMPT": "true",
            "HARDHAT_CONFIG": str(HARDHAT_CONFIG),
        }
        cmd = [str(executable), "--config", str(HARDHAT_CONFIG), "node"]
        cmd += ["--hostname", host, "--port", str(port)]
        process = subprocess.Popen(
            cmd,
            cwd=REPO_ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: stop() ends hardhat's children too
            preexec_fn=_die_with_parent,
        )
        node = cls(host, port, process, log_path, log, own_dir)
        try:
            node._wait_ready(timeout)
        except BaseException:
            node.stop()
            raise
        return node

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise NodeError(
                    f"hardhat node exited with status {self.process.returncode} before "
                    f"answering on {self.url}:\n{self.log_tail()}"
                )
            try:
                chain_id = int(rpc_request(self.url, "eth_chainId", timeout=2.0), 16)
            except (OSError, NodeError):
                time.sleep(0.1)
                continue
            if chain_id != HARDHAT_CHAIN_ID:  # something else answered on that port
                raise NodeError(f"{self.url} answers with chain id {chain_id}, not hardhat's")
            return
        raise NodeError(f"hardhat node did not answer on {self.url} in {timeout:.0f} s")

    def log_tail(self, n_bytes: int = 3000) -> str:
        try:
            return self.log_path.read_bytes()[-n_bytes:].decode(errors="replace")
        except OSError:
            return ""

    def accounts(self) -> list[DevAccount]:
        """The node's unlocked accounts with their balances, and the private keys hardhat
        printed for them (its public test mnemonic)."""
        keys = {a.lower(): k for a, k in _KEY_LINE.findall(self.log_tail(1 << 20))}
        out = []
        for address in rpc_request(self.url, "eth_accounts"):
            balance = int(rpc_request(self.url, "eth_getBalance", [address, "latest"]), 16)
            key = keys.get(address.lower())
            out.append(DevAccount(to_checksum_address(address), balance, key))
        return out

    @property
    def running(self) -> bool:
        return self.process.poll() is None

    def stop(self, timeout: float = STOP_TIMEOUT) -> int | None:
        """End the node (SIGINT to its process group, SIGKILL after ``timeout`` s); returns its
        exit status. Idempotent."""
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGINT)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout)
        if self._log is not None:
            self._log.close()
            self._log = None
        if self._own_log_dir is not None:
            shutil.rmtree(self._own_log_dir, ignore_errors=True)
            self._own_log_dir = None
        return self.process.returncode

    def __enter__(self) -> HardhatNode:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


# --- the embedded EVM behind JSON-RPC -------------------------------------------------------------

# eth-tester's ten funded accounts are those of the private keys 1, 2, ..., 10
EMBEDDED_KEYS = tuple("0x" + i.to_bytes(32, "big").hex() for i in range(1, 11))
EMBEDDED_BLOCK_GAS_LIMIT = 1_000_000_000


def _rpc_value(value: Any, key: str = "") -> Any:
    """A web3 / eth-tester result as JSON-RPC writes it: quantities as 0x-hex, bytes as 0x-hex
    data (``logsBloom`` as 256 bytes), mappings and lists element by element."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int):
        return "0x" + value.to_bytes(256, "big").hex() if key == "logsBloom" else hex(value)
    if isinstance(value, bytes | bytearray):
        return "0x" + bytes(value).hex()
    if hasattr(value, "items"):
        return {str(k): _rpc_value(v, str(k)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_rpc_value(v, key) for v in value]
    return value


def _revert_error(exc: Exception) -> dict[str, Any]:
    """eth-tester's ``TransactionFailed`` as a node's JSON-RPC error: code 3, the revert data."""
    raw: Any = exc.args[0] if exc.args else b""
    if isinstance(raw, Exception):
        raw = raw.args[0] if raw.args else b""
    if isinstance(raw, str) and raw[:2] in ("b'", 'b"'):  # eth-tester writes the bytes' repr
        try:
            raw = ast.literal_eval(raw)
        except (ValueError, SyntaxError):
            pass
    if isinstance(raw, bytes | bytearray):
        return {"code": 3, "message": "execution reverted", "data": "0x" + bytes(raw).hex()}
    return {"code": 3, "message": f"execution reverted: {raw}"}


def _tester_provider(block_gas_limit: int) -> Any:
    """web3's EthereumTesterProvider on py-evm (Cancun rules, as ``Chain.embedded``), whose
    reverts come back as JSON-RPC errors with the revert data, as a node reports them."""
    from eth.vm.forks import CancunVM
    from eth_tester import EthereumTester, PyEVMBackend
    from eth_tester.exceptions import TransactionFailed
    from web3 import EthereumTesterProvider

    class _Provider(EthereumTesterProvider):
        def make_request(self, method: Any, params: Any) -> Any:
            self._current_request_id += 1
            return {"jsonrpc": "2.0", "id": self._current_request_id, **self._reply(method, params)}

        def _reply(self, method: Any, params: Any) -> dict[str, Any]:
            namespace, _, endpoint = str(method).partition("_")
            delegator = self.api_endpoints.get(namespace, {}).get(endpoint)
            if delegator is None:
                return {"error": {"code": -32601, "message": f"method {method} not found"}}
            try:
                return {"result": delegator(self.ethereum_tester, params)}
            except NotImplementedError:
                return {"error": {"code": -32601, "message": f"method {method} not implemented"}}
            except TransactionFailed as exc:
                return {"error": _revert_error(exc)}

    genesis = PyEVMBackend.generate_genesis_params(overrides={"gas_limit": block_gas_limit})
    backend = PyEVMBackend(genesis_parameters=genesis, vm_configuration=((0, CancunVM),))
    return _Provider(EthereumTester(backend))


_AT_WALL_CLOCK = frozenset({"eth_sendTransaction", "eth_sendRawTransaction", "eth_call"})


class _Dispatcher:
    """JSON-RPC requests to the embedded EVM, one at a time (eth-tester is not thread-safe).

    A transaction that fails is mined (as on any node) and answered as hardhat answers it: an
    error carrying the revert data (found by replaying the call, on failures only)."""

    def __init__(self, block_gas_limit: int) -> None:
        import threading

        from web3 import Web3

        self.w3 = Web3(_tester_provider(block_gas_limit))
        self.lock = threading.Lock()

    def _sync_clock(self) -> None:
        """eth-tester stamps a block with the time the PREVIOUS one was mined, so after an idle
        spell the next transaction would run in the past (a batch cut at wall time then fails
        the rollup's ``t <= block.timestamp``): move the pending block to the wall clock first,
        as hardhat mines at wall time."""
        tester = self.w3.provider.ethereum_tester
        now = int(time.time())
        if tester.get_block_by_number("pending")["timestamp"] < now:
            tester.time_travel(now)

    def _request(self, method: str, params: Any) -> dict[str, Any]:
        try:
            return dict(self.w3.manager._make_request(method, params))
        except Exception as exc:  # noqa: BLE001 (any failure becomes the caller's error reply)
            return {"error": {"code": -32000, "message": str(exc) or type(exc).__name__}}

    def answer(self, request: Any) -> dict[str, Any]:
        if not isinstance(request, dict) or not isinstance(request.get("method"), str):
            return {
                "jsonrpc": "2.0",
                "id": None,
                "error": {"code": -32600, "message": "bad request"},
            }
        method, params = request["method"], request.get("params") or []
        with self.lock:
            if method in _AT_WALL_CLOCK:
                self._sync_clock()
            reply = self._request(method, params)
            if method == "eth_sendTransaction" and reply.get("error") is None:
                receipt = self._request("eth_getTransactionReceipt", [reply.get("result")])
                if (receipt.get("result") or {}).get("status") == 0:
                    call = {k: v for k, v in dict(params[0]).items() if k != "nonce"}
                    replay = self._request("eth_call", [call, "latest"])
                    if replay.get("error") is not None:
                        reply = replay
        out: dict[str, Any] = {"jsonrpc": "2.0", "id": request.get("id")}
        if reply.get("error") is not None:
            out["error"] = dict(reply["error"])
        else:
            out["result"] = _rpc_value(reply.get("result"))
        return out


@dataclass
class EmbeddedNode:
    """The embedded EVM (eth-tester on py-evm, Cancun rules, as ``Chain.embedded``) served over
    JSON-RPC (HTTP) on ``host:port`` by a small threaded server of this process, through web3's
    eth-tester provider; results are written as a node writes them (hex quantities). Enough for
    web3.py clients such as this project's CLI; not a full node (no filters, no websockets).
    Blocks are mined one per transaction, at the wall-clock time. The same interface as
    ``HardhatNode``: ``url``, ``accounts()``, ``running``, ``stop()``; the dev accounts are
    eth-tester's (private keys 1..10: public, development only)."""

    host: str
    port: int
    server: Any
    thread: Any

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @classmethod
    def start(
        cls,
        port: int | None = None,
        *,
        host: str = HOST,
        block_gas_limit: int = EMBEDDED_BLOCK_GAS_LIMIT,
    ) -> EmbeddedNode:
        """Serve a fresh embedded chain on ``host:port`` (a free port when None); ``NodeError``
        if the port is taken."""
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        dispatcher = _Dispatcher(block_gas_limit)

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as web3's session expects

            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                length = int(self.headers.get("Content-Length") or 0)
                try:
                    body = json.loads(self.rfile.read(length))
                except ValueError:
                    error = {"code": -32700, "message": "parse error"}
                    replies: Any = {"jsonrpc": "2.0", "id": None, "error": error}
                else:
                    if isinstance(body, list):
                        replies = [dispatcher.answer(r) for r in body]
                    else:
                        replies = dispatcher.answer(body)
                data = json.dumps(replies).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (quiet)
                pass

        try:
            server = ThreadingHTTPServer((host, port or 0), Handler)
        except OSError as exc:
            raise NodeError(f"cannot serve on {host}:{port}: {exc.strerror or exc}") from None
        server.daemon_threads = True
        thread = threading.Thread(target=server.serve_forever, name="zkperp-embedded-node")
        thread.daemon = True
        thread.start()
        return cls(host, int(server.server_address[1]), server, thread)

    def accounts(self) -> list[DevAccount]:
        """The funded accounts with their balances and (eth-tester's public) private keys."""
        from eth_account import Account

        keys = {Account.from_key(k).address.lower(): k for k in EMBEDDED_KEYS}
        out = []
        for address in rpc_request(self.url, "eth_accounts"):
            balance = int(rpc_request(self.url, "eth_getBalance", [address, "latest"]), 16)
            key = keys.get(address.lower())
            out.append(DevAccount(to_checksum_address(address), balance, key))
        return out

    @property
    def running(self) -> bool:
        return self.thread.is_alive()

    def stop(self, timeout: float = STOP_TIMEOUT) -> None:
        """Stop serving (idempotent)."""
        if self.thread.is_alive():
            self.server.shutdown()
            self.thread.join(timeout)
        self.server.server_close()

    def __enter__(self) -> EmbeddedNode:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
