"""The sequencer's database: SQLite in WAL mode, one transaction per accepted request (or per
cut), so that a process killed at any instant loses nothing it acknowledged and repeats
nothing.

Tables (schema version ``SCHEMA_VERSION``)::

    meta(key PRIMARY KEY, value)       schema_version, genesis (JSON), settings (JSON): fixed
                                       when the database is created
    requests(seq PRIMARY KEY, kind, body, now, outcome)
                                       every *accepted* request, in order: its canonical JSON
                                       (rollup.requests_json), the time it was applied at, and
                                       its outcome (JSON). Rejected requests are not stored.
    batches(number PRIMARY KEY, timestamp, pre_root, post_root, n_txs, size, pubdata,
            l1_start, l1_end, last_seq)
    batch_txs(batch, pos, tx)          the transactions of each batch (JSON, signatures
                                       included), padding not stored
    snapshots(last_seq PRIMARY KEY, n_batches, body)
                                       the sequencer after request ``last_seq`` with
                                       ``n_batches`` batches cut (zlib-compressed JSON: state,
                                       order book, open batch); the latest two are kept
    operator_batches(number PRIMARY KEY, status, proof, public, prove_seconds, nonce, tx_hash,
            block, gas_used, updated)
                                       the operator's progress per batch (``rollup.operator``):
                                       proven -> submitting -> submitted -> confirmed (a batch
                                       without a row is only cut). Created on first use
                                       (``CREATE TABLE IF NOT EXISTS``): a database made before
                                       it still opens; not part of ``fingerprint``.

Durability: ``synchronous=FULL`` by default (a commit survives power loss; a killed process
needs only NORMAL, which is faster: the option is there). ``commit`` writes a request, the
batches it completed and a snapshot in one ``BEGIN IMMEDIATE`` transaction, after checking that
the database still ends where this writer left it (another writer makes it fail cleanly).

Recovery (``rollup.sequencer.Sequencer.open``): load the latest snapshot (its state root is
recomputed from its content and checked), then replay the requests after it, in order, at their
recorded times; each batch is re-cut where the stored one ends and must come out byte-identical
(same post root, same pubdata), else ``StorageError``. A snapshot that does not load falls back
to a replay from the genesis.

State snapshots are ``rollup.state.State.dump()`` / ``State.load()`` data; the recomputed root
guards them. ``state_before_batch(n)`` gives the state a batch starts from (the witness
generator's input): the latest snapshot taken at a batch boundary at or before batch ``n``,
else the genesis, plus the pubdata of the batches in between (``rollup.pubdata.rebuild``).
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rollup.batch import Batch
from rollup.errors import (
    StorageError,
)
from rollup.pubdata import decode_records, replay_batches
from rollup.requests_json import (
    dumps,
    genesis_from_json,
    transaction_from_json,
    transaction_to_json,
)
from rollup.state import SignatureVerifier, State
from rollup.types import Genesis

__all__ = [
    "OPERATOR_STATUSES",
    "SCHEMA_VERSION",
    "BatchRow",
    "OperatorRow",
    "RequestRow",
    "Storage",
    "StorageError",
    "dump_state",
    "load_state",
]

SCHEMA_VERSION = 1
KEEP_SNAPSHOTS = 2

_SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE requests (
    seq INTEGER PRIMARY KEY, kind TEXT NOT NULL, body TEXT NOT NULL,
    now INTEGER NOT NULL, outcome TEXT NOT NULL);
CREATE TABLE batches (
    number INTEGER PRIMARY KEY, timestamp INTEGER NOT NULL,
    pre_root TEXT NOT NULL, post_root TEXT NOT NULL, n_txs INTEGER NOT NULL,
    size INTEGER NOT NULL, pubdata BLOB NOT NULL, l1_start INTEGER NOT NULL,
    l1_end INTEGER NOT NULL, last_seq INTEGER NOT NULL);
CREATE TABLE batch_txs (
    batch INTEGER NOT NULL REFERENCES batches(number), pos INTEGER NOT NULL,
    tx TEXT NOT NULL, PRIMARY KEY (batch, pos));
CREATE TABLE snapshots (
    last_seq INTEGER PRIMARY KEY, n_batches INTEGER NOT NULL, body BLOB NOT NULL);
"""

_OPERATOR_SCHEMA = """
CREATE TABLE IF NOT EXISTS operator_batches (
    number INTEGER PRIMARY KEY, status TEXT NOT NULL, proof TEXT, public TEXT,
    prove_seconds REAL, nonce INTEGER, tx_hash TEXT, block INTEGER, gas_used INTEGER,
    updated REAL NOT NULL)
"""

OPERATOR_STATUSES = ("proven", "submitting", "submitted", "confirmed")


@dataclass(frozen=True)
class OperatorRow:
    """The operator's record of one batch (``rollup.operator``): ``proof`` and ``public`` are
    snarkjs JSON texts; ``nonce`` the operator's L1 nonce of the submission (written before it
    is sent); ``tx_hash``, ``block``, ``gas_used`` once known."""

    number: int
    status: str
    proof: str | None = None
    public: str | None = None
    prove_seconds: float | None = None
    nonce: int | None = None
    tx_hash: str | None = None
    block: int | None = None
    gas_used: int | None = None
    updated: float = 0.0


@dataclass(frozen=True)
class RequestRow:
    seq: int
    kind: str
    body: str  # canonical JSON (rollup.requests_json)
    now: int
    outcome: str  # JSON


@dataclass(frozen=True)
class BatchRow:
    number: int
    timestamp: int
    pre_root: int
    post_root: int
    n_txs: int
    size: int
    pubdata: bytes
    l1_start: int
    l1_end: int
    last_seq: int


class Storage:
    """One sequencer database (module docstring). Use ``create`` or ``open``."""

    def __init__(self, conn: sqlite3.Connection, path: str) -> None:
        self._conn = conn
        self.path = path

    # --- opening -----------------------------------------------------------------------------

    @staticmethod
    def _connect(path: str, mode: str, synchronous: str) -> sqlite3.Connection:
        if synchronous not in ("FULL", "NORMAL"):
            raise ValueError("synchronous must be FULL or NORMAL")
        uri = f"file:{Path(path).resolve().as_posix()}?mode={mode}"
        try:
            # one caller at a time (the sequencer is not thread-safe; an HTTP front end holds a
            # lock), but not always the thread that opened it: check_same_thread=False
            conn = sqlite3.connect(
                uri, uri=True, isolation_level=None, timeout=10.0, check_same_thread=False
            )
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute(f"PRAGMA synchronous={synchronous}")
            conn.execute("PRAGMA foreign_keys=ON")
        except sqlite3.Error as exc:
            raise StorageError(f"{path}: cannot open the database: {exc}") from None
        return conn

    @classmethod
    def create(
        cls, path: str | Path, genesis: dict, settings: dict, *, synchronous: str = "FULL"
    ) -> Storage:
        """A new database at ``path`` (which must not exist) holding the genesis and the
        sequencer settings."""
        path = str(path)
        if Path(path).exists():
            raise StorageError(f"{path} already exists (a sequencer database is created once)")
        conn = cls._connect(path, "rwc", synchronous)
        rows = [
            ("schema_version", str(SCHEMA_VERSION)),
            ("genesis", dumps(genesis)),
            ("settings", dumps(settings)),
        ]
        try:
            conn.execute("BEGIN IMMEDIATE")
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    conn.execute(statement)
            conn.executemany("INSERT INTO meta VALUES (?, ?)", rows)
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            conn.close()
            for suffix in ("", "-wal", "-shm"):
                Path(path + suffix).unlink(missing_ok=True)
            raise StorageError(f"{path}: cannot create the database: {exc}") from None
        return cls(conn, path)

    @classmethod
    def open(cls, path: str | Path, *, synchronous: str = "FULL") -> Storage:
        """An existing sequencer database."""
        path = str(path)
        if not Path(path).is_file():
            raise StorageError(
                f"no sequencer database at {path} (create one with `zkperp sequencer init`)"
            )
        conn = cls._connect(path, "rw", synchronous)
        try:
            rows = dict(conn.execute("SELECT key, value FROM meta").fetchall())
        except sqlite3.Error as exc:
            conn.close()
            raise StorageError(f"{path} is not a sequencer database ({exc})") from None
        version = rows.get("schema_version")
        if version != str(SCHEMA_VERSION) or "genesis" not in rows or "settings" not in rows:
            conn.close()
            raise StorageError(
                f"{path}: schema version {version}, this zkperp reads version {SCHEMA_VERSION}"
            )
        return cls(conn, path)

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> Storage:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- reading -----------------------------------------------------------------------------

    def _meta(self, key: str) -> Any:
        row = self._conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return json.loads(row[0])

    @property
    def genesis_json(self) -> dict:
        return self._meta("genesis")

    @property
    def settings_json(self) -> dict:
        return self._meta("settings")

    def last_seq(self) -> int:
        row = self._conn.execute("SELECT max(seq) FROM requests").fetchone()
        return row[0] or 0

    def batch_count(self) -> int:
        row = self._conn.execute("SELECT max(number) FROM batches").fetchone()
        return 0 if row[0] is None else row[0] + 1

    def requests_after(self, seq: int) -> Iterator[RequestRow]:
        cur = self._conn.execute(
            "SELECT seq, kind, body, now, outcome FROM requests WHERE seq > ? ORDER BY seq",
            (seq,),
        )
        for row in cur:
            yield RequestRow(*row)

    def request(self, seq: int) -> RequestRow | None:
        row = self._conn.execute(
            "SELECT seq, kind, body, now, outcome FROM requests WHERE seq = ?", (seq,)
        ).fetchone()
        return RequestRow(*row) if row else None

    def batch_rows(self, start: int = 0) -> dict[int, BatchRow]:
        cur = self._conn.execute(
            "SELECT number, timestamp, pre_root, post_root, n_txs, size, pubdata, l1_start, "
            "l1_end, last_seq FROM batches WHERE number >= ? ORDER BY number",
            (start,),
        )
        out = {}
        for r in cur:
            out[r[0]] = BatchRow(
                r[0], r[1], int(r[2]), int(r[3]), r[4], r[5], bytes(r[6]), r[7], r[8], r[9]
            )
        return out

    def batch(self, number: int) -> Batch:
        """Batch ``number``, its transactions and records decoded."""
        rows = self.batch_rows(number)
        row = rows.get(number)
        if row is None:
            raise StorageError(f"no batch {number} (there are {self.batch_count()})")
        txs = tuple(
            transaction_from_json(json.loads(t))
            for (t,) in self._conn.execute(
                "SELECT tx FROM batch_txs WHERE batch = ? ORDER BY pos", (number,)
            )
        )
        return Batch(
            row.number,
            row.timestamp,
            row.pre_root,
            row.post_root,
            txs,
            tuple(decode_records(row.pubdata)),
            row.pubdata,
            (row.l1_start, row.l1_end),
        )

    def state_before_batch(
        self, number: int, *, verifier: SignatureVerifier | None = None, backend: str = "numba"
    ) -> State:
        """The state after batches 0..number-1 (batch ``number``'s pre-state; its root is the
        batch's pre-root): the latest snapshot taken at a batch boundary (no open
        transactions) with at most ``number`` batches, else the genesis, then the pubdata of
        the batches in between, each closed by ``end_batch``."""
        count = self.batch_count()
        if not isinstance(number, int) or isinstance(number, bool) or not 0 <= number <= count:
            raise StorageError(f"no batch {number!r} (there are {count})")
        genesis = genesis_from_json(self.genesis_json)
        state, start = None, 0
        for n_batches, body in self._snapshots():
            if n_batches > number or body.get("open", {}).get("records"):
                continue
            try:
                state = State.load(body["state"], genesis, verifier=verifier, backend=backend)  # type: ignore[arg-type]
                start = n_batches
                break
            except (StorageError, KeyError, TypeError):
                continue
        if state is None:
            state = State(genesis, verifier=verifier, backend=backend)  # type: ignore[arg-type]
        cur = self._conn.execute(
            "SELECT pubdata FROM batches WHERE number >= ? AND number < ? ORDER BY number",
            (start, number),
        )
        replay_batches(state, [bytes(r[0]) for r in cur])
        if number < count:
            pre = self.batch_rows(number)[number].pre_root
            if state.root != pre:
                raise StorageError(f"the state rebuilt for batch {number} misses its pre-root")
        return state

    def _snapshots(self) -> list[tuple[int, dict]]:
        """(n_batches, content) of every readable snapshot, the newest first."""
        out = []
        for n_batches, blob in self._conn.execute(
            "SELECT n_batches, body FROM snapshots ORDER BY last_seq DESC"
        ):
            try:
                out.append((n_batches, json.loads(zlib.decompress(blob))))
            except (zlib.error, ValueError):
                continue
        return out

    def pubdata(self) -> list[bytes]:
        """The pubdata of every batch, in order (what ``rollup.pubdata.rebuild`` takes)."""
        cur = self._conn.execute("SELECT pubdata FROM batches ORDER BY number")
        return [bytes(r[0]) for r in cur]

    def latest_snapshot(self) -> tuple[int, int, dict] | None:
        """(last_seq, n_batches, content) of the newest snapshot, or None."""
        row = self._conn.execute(
            "SELECT last_seq, n_batches, body FROM snapshots ORDER BY last_seq DESC LIMIT 1"
        ).fetchone()
        if row is None:
            return None
        try:
            body = json.loads(zlib.decompress(row[2]))
        except (zlib.error, ValueError) as exc:
            raise StorageError(f"snapshot after request {row[0]} is unreadable: {exc}") from None
        return row[0], row[1], body

    def fingerprint(self) -> str:
        """A digest of every row of every table (tests: "the database did not change")."""
        h = hashlib.sha256()
        for table in ("meta", "requests", "batches", "batch_txs", "snapshots"):
            for row in self._conn.execute(f"SELECT * FROM {table} ORDER BY 1, 2"):  # noqa: S608
                h.update(repr(row).encode())
        return h.hexdigest()

    # --- the operator's table (rollup.operator) ------------------------------------------------

    def ensure_operator_table(self) -> None:
        """Create ``operator_batches`` if this database has none yet."""
        try:
            self._conn.execute(_OPERATOR_SCHEMA)
        except sqlite3.Error as exc:
            raise StorageError(f"{self.path}: cannot create the operator table: {exc}") from None

    def operator_rows(self, start: int = 0) -> dict[int, OperatorRow]:
        """The operator's rows of batches ``start`` and later, by number."""
        self.ensure_operator_table()
        cur = self._conn.execute(
            "SELECT number, status, proof, public, prove_seconds, nonce, tx_hash, block, "
            "gas_used, updated FROM operator_batches WHERE number >= ? ORDER BY number",
            (start,),
        )
        return {r[0]: OperatorRow(*r) for r in cur}

    def operator_row(self, number: int) -> OperatorRow | None:
        return self.operator_rows(number).get(number)

    def put_operator_row(self, row: OperatorRow) -> None:
        """Write (insert or replace) one batch's operator row, durably, in its own
        transaction; StorageError for a status not in ``OPERATOR_STATUSES`` or a batch that was
        never cut."""
        if row.status not in OPERATOR_STATUSES:
            raise StorageError(f"operator status {row.status!r}: one of {OPERATOR_STATUSES}")
        self.ensure_operator_table()
        conn = self._conn
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                if not conn.execute(
                    "SELECT 1 FROM batches WHERE number = ?", (row.number,)
                ).fetchone():
                    raise StorageError(f"no batch {row.number} to record the operator's work of")
                conn.execute(
                    "INSERT OR REPLACE INTO operator_batches VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        row.number,
                        row.status,
                        row.proof,
                        row.public,
                        row.prove_seconds,
                        row.nonce,
                        row.tx_hash,
                        row.block,
                        row.gas_used,
                        row.updated,
                    ),
                )
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            raise StorageError(f"{self.path}: the operator's commit failed: {exc}") from exc

    def delete_operator_row(self, number: int) -> None:
        """Forget the operator's work on batch ``number`` (it is then only cut: proven again)."""
        self.ensure_operator_table()
        try:
            self._conn.execute("DELETE FROM operator_batches WHERE number = ?", (number,))
        except sqlite3.Error as exc:
            raise StorageError(f"{self.path}: the operator's commit failed: {exc}") from exc

    # --- writing -----------------------------------------------------------------------------

    def commit(
        self,
        requests: list[RequestRow],
        batches: list[Batch],
        snapshot: tuple[int, int, dict] | None,
        *,
        expect_seq: int,
        expect_batches: int,
    ) -> None:
        """Write accepted requests, cut batches and a snapshot in one transaction, provided
        the database still holds ``expect_seq`` requests and ``expect_batches`` batches."""
        conn = self._conn
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                if self.last_seq() != expect_seq or self.batch_count() != expect_batches:
                    raise StorageError(
                        f"{self.path} changed under this sequencer (another writer?): it holds "
                        f"{self.last_seq()} requests and {self.batch_count()} batches, "
                        f"expected {expect_seq} and {expect_batches}"
                    )
                conn.executemany(
                    "INSERT INTO requests VALUES (?, ?, ?, ?, ?)",
                    [(r.seq, r.kind, r.body, r.now, r.outcome) for r in requests],
                )
                last_seq = requests[-1].seq if requests else expect_seq
                for b in batches:
                    conn.execute(
                        "INSERT INTO batches VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        (
                            b.number,
                            b.timestamp,
                            str(b.pre_root),
                            str(b.post_root),
                            b.n_txs,
                            b.size,
                            b.pubdata,
                            b.l1_queue[0],
                            b.l1_queue[1],
                            last_seq,
                        ),
                    )
                    conn.executemany(
                        "INSERT INTO batch_txs VALUES (?, ?, ?)",
                        [
                            (b.number, i, dumps(transaction_to_json(tx)))
                            for i, tx in enumerate(b.transactions)
                        ],
                    )
                if snapshot is not None:
                    seq, n_batches, body = snapshot
                    blob = zlib.compress(dumps(body).encode(), 1)
                    conn.execute(
                        "INSERT OR REPLACE INTO snapshots VALUES (?, ?, ?)", (seq, n_batches, blob)
                    )
                    conn.execute(
                        "DELETE FROM snapshots WHERE last_seq NOT IN "
                        "(SELECT last_seq FROM snapshots ORDER BY last_seq DESC LIMIT ?)",
                        (KEEP_SNAPSHOTS,),
                    )
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            raise StorageError(f"{self.path}: the commit failed: {exc}") from exc


# --- state snapshots (rollup.state.State.dump / State.load) ---------------------------------


def dump_state(state: State) -> dict:
    """A state's content as JSON-ready data (``State.dump``; ``load_state`` rebuilds it)."""
    return state.dump()


def load_state(
    genesis: Genesis,
    data: dict,
    *,
    verifier: SignatureVerifier | None = None,
    backend: str = "numba",
) -> State:
    """The state ``dump_state`` gave, every hash recomputed; StorageError unless its root is
    the recorded one (``State.load``)."""
    return State.load(data, genesis, verifier=verifier, backend=backend)  # type: ignore[arg-type]
