"""A small local HTTP API in front of one sequencer (JSON in, JSON out), for traders' clients.

Bound to 127.0.0.1 by default: it is an operator's front door to put behind its own proxy
(TLS, rate limits), not an internet-facing server. Built on the standard library's
``http.server`` (``ThreadingHTTPServer``); every call into the sequencer holds one lock, since a
``Sequencer`` serves one caller at a time (``rollup.sequencer``). A background thread calls
``Sequencer.tick`` every ``tick_interval`` seconds so that batches are cut by age even when no
request arrives.

Routes (``/v1``)
----------------
=======  ========================  ==========================================================
POST     /v1/requests              one signed request (``rollup.requests_json``; only the
                                   public kinds ``USER_REQUEST_KINDS``: order, cancel,
                                   withdrawal, transfer, liquidate, oracle_price) -> the outcome
GET      /v1/status                the sequencer's status (root, batches, markets, ...)
GET      /v1/accounts/<key>        an account by index or packed public key (0x + 64 hex)
GET      /v1/book/<market>?levels  the order book of a market (index or symbol), best first
GET      /v1/batches/<n>           a cut batch: timestamp, roots, transactions, pubdata
=======  ========================  ==========================================================

Errors are ``{"error": {"code": ..., "message": ...}}`` with a 4xx status, and change nothing
(the sequencer's ``submit`` is all-or-nothing): 400 malformed JSON or request
(``malformed_request``, ``malformed_transaction``, ``out_of_bounds``), 404 unknown route,
account, market or batch, 405 wrong method, 411 no Content-Length, 413 body over ``max_body``
(64 KiB by default; read no further), 415 not ``application/json``, 422 a well-formed request
that the rules reject (its code: ``bad_signature``, ``insufficient_margin``, ...).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from rollup.errors import (
    MalformedRequestError,
    MalformedTransactionError,
    RollupError,
    UnknownAccountError,
    UnknownMarketError,
)
from rollup.requests_json import USER_REQUEST_KINDS, parse_request, record_to_json
from rollup.sequencer import Sequencer

__all__ = ["DEFAULT_MAX_BODY", "SequencerServer", "serve"]

DEFAULT_MAX_BODY = 64 * 1024
_BAD_INPUT = (MalformedRequestError, MalformedTransactionError)


class _HttpError(Exception):
    def __init__(self, status: HTTPStatus, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def _rule_error(exc: RollupError) -> _HttpError:
    code = getattr(exc, "code", "rejected")
    if isinstance(exc, _BAD_INPUT) or code == "out_of_bounds":
        return _HttpError(HTTPStatus.BAD_REQUEST, code, str(exc))
    if isinstance(exc, UnknownAccountError | UnknownMarketError):
        return _HttpError(HTTPStatus.NOT_FOUND, code, str(exc))
    return _HttpError(HTTPStatus.UNPROCESSABLE_ENTITY, code, str(exc))


class SequencerServer(ThreadingHTTPServer):
    """The HTTP server; ``sequencer`` is used under ``lock`` only."""

    daemon_threads = True

    def __init__(
        self,
        sequencer: Sequencer,
        address: tuple[str, int] = ("127.0.0.1", 0),
        *,
        max_body: int = DEFAULT_MAX_BODY,
        tick_interval: float | None = 1.0,
        log: Callable[[str], None] | None = None,
    ) -> None:
        super().__init__(address, _Handler)
        self.sequencer = sequencer
        self.lock = threading.Lock()
        self.max_body = max_body
        self.log = log
        self._stop = threading.Event()
        self._ticker: threading.Thread | None = None
        if tick_interval is not None:
            self._ticker = threading.Thread(target=self._tick, args=(tick_interval,), daemon=True)
            self._ticker.start()

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"

    def _tick(self, interval: float) -> None:
        while not self._stop.wait(interval):
            with self.lock:
                batch = self.sequencer.tick()
            if batch is not None and self.log:
                self.log(f"cut batch {batch.number} ({batch.n_txs} transactions)")

    def server_close(self) -> None:
        self._stop.set()
        if self._ticker is not None:
            self._ticker.join(timeout=5)
        super().server_close()

    # --- the routes (called by the handler; each returns a JSON-ready value) ----------------

    def status(self) -> dict:
        with self.lock:
            return self.sequencer.status()

    def account(self, key: str) -> dict:
        with self.lock:
            seq = self.sequencer
            return seq.account_info(seq.account_index(key))

    def book(self, market: str, levels: int) -> dict:
        with self.lock:
            seq = self.sequencer
            m = seq.market_index(market)
            bids, asks = seq.book.depth(m, levels, seq.now)
        symbol = seq.genesis.config.markets[m].symbol
        return {"market": m, "symbol": symbol, "bids": bids, "asks": asks}

    def batch(self, number: int) -> dict:
        with self.lock:
            try:
                b = self.sequencer.batch(number)
            except (KeyError, IndexError, RollupError) as exc:
                raise _HttpError(HTTPStatus.NOT_FOUND, "unknown_batch", str(exc)) from None
        return {
            "number": b.number,
            "timestamp": b.timestamp,
            "pre_root": str(b.pre_root),
            "post_root": str(b.post_root),
            "size": b.size,
            "transactions": b.n_txs,
            "records": [record_to_json(r) for r in b.records],
            "pubdata": "0x" + b.pubdata.hex(),
        }

    def submit(self, body: bytes) -> dict:
        request = parse_request(body, allowed=USER_REQUEST_KINDS)
        with self.lock:
            outcome = self.sequencer.submit(request)
        if self.log:
            self.log(f"request {outcome.seq}: {type(request).__name__} {outcome.status}")
        return outcome.to_json()


class _Handler(BaseHTTPRequestHandler):
    server: SequencerServer
    server_version = "zkperp"
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (the stdlib's name)
        pass  # the server's own log line per request is enough

    def _send(self, status: HTTPStatus, payload: Any) -> None:
        body = (json.dumps(payload, sort_keys=True) + "\n").encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _route(self, method: str) -> None:
        try:
            self._send(HTTPStatus.OK, self._dispatch(method))
        except _HttpError as exc:
            if exc.status in (HTTPStatus.LENGTH_REQUIRED, HTTPStatus.REQUEST_ENTITY_TOO_LARGE):
                self.close_connection = True  # the body was not read
            self._send(exc.status, {"error": {"code": exc.code, "message": exc.message}})
        except RollupError as exc:
            err = _rule_error(exc)
            self._send(err.status, {"error": {"code": err.code, "message": err.message}})
        except Exception as exc:  # a bug, not bad input: answer 500, keep serving, log it
            if self.server.log:
                self.server.log(f"internal error on {method} {self.path}: {exc!r}")
            self._send(
                HTTPStatus.INTERNAL_SERVER_ERROR,
                {"error": {"code": "internal", "message": type(exc).__name__}},
            )

    def _dispatch(self, method: str) -> Any:
        url = urlsplit(self.path)
        parts = [p for p in url.path.split("/") if p]
        if len(parts) < 2 or parts[0] != "v1":
            raise _HttpError(HTTPStatus.NOT_FOUND, "not_found", f"no route {url.path}")
        route, args = parts[1], parts[2:]
        if route == "requests" and not args:
            self._require(method, "POST")
            return self.server.submit(self._body())
        self._require(method, "GET")
        if route == "status" and not args:
            return self.server.status()
        if route == "accounts" and len(args) == 1:
            return self.server.account(args[0])
        if route == "book" and len(args) == 1:
            levels = parse_qs(url.query).get("levels", ["10"])[-1]
            if not levels.isdigit() or not 1 <= int(levels) <= 1000:
                raise _HttpError(HTTPStatus.BAD_REQUEST, "bad_query", "levels: 1..1000")
            return self.server.book(args[0], int(levels))
        if route == "batches" and len(args) == 1 and args[0].isdigit():
            return self.server.batch(int(args[0]))
        raise _HttpError(HTTPStatus.NOT_FOUND, "not_found", f"no route {url.path}")

    def _require(self, method: str, wanted: str) -> None:
        if method != wanted:
            raise _HttpError(
                HTTPStatus.METHOD_NOT_ALLOWED, "method_not_allowed", f"use {wanted} here"
            )

    def _body(self) -> bytes:
        ctype = self.headers.get("Content-Type", "").split(";")[0].strip().lower()
        length = self.headers.get("Content-Length")
        if length is None or not length.isdigit():
            raise _HttpError(HTTPStatus.LENGTH_REQUIRED, "length_required", "Content-Length")
        if int(length) > self.server.max_body:
            raise _HttpError(
                HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                "too_large",
                f"a request is at most {self.server.max_body} bytes",
            )
        body = self.rfile.read(int(length))
        if ctype != "application/json":
            raise _HttpError(
                HTTPStatus.UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type", "application/json"
            )
        return body

    def do_GET(self) -> None:  # noqa: N802 (the stdlib's name)
        self._route("GET")

    def do_POST(self) -> None:  # noqa: N802
        self._route("POST")

    def do_PUT(self) -> None:  # noqa: N802
        self._route("PUT")

    def do_DELETE(self) -> None:  # noqa: N802
        self._route("DELETE")


def serve(
    sequencer: Sequencer,
    host: str = "127.0.0.1",
    port: int = 8080,
    **kwargs: Any,
) -> SequencerServer:
    """A started server (in a background thread); ``server.shutdown()`` stops it."""
    server = SequencerServer(sequencer, (host, port), **kwargs)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server
