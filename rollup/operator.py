"""The operator's loop (issue G, "Operator": ``zkperp run``): take requests, cut batches, prove
them, submit them, and resume correctly after a crash or a restart at any step.

State machine (persisted in the sequencer's database, ``rollup.storage``'s
``operator_batches``; one row per batch, written in its own SQLite transaction)::

    cut ──prove──> proven ──(nonce written)──> submitting ──(tx sent)──> submitted ──> confirmed
     ^                                             │                                 (block)
     └──── (no row: only cut; a crash mid-prove)   └── the tx did not land: back to proven

``Operator.step()`` does the next unit of work and returns what it did (None: nothing to do).
In order of priority:

1. **confirm**: every batch the contract already has (``nextBatchNumber`` > n) is marked
   confirmed, after checking that its ``BatchAccepted`` event carries the database's post-root
   (else ``OperatorError``: the chain and the database diverged). So a batch whose submission
   was mined but not recorded (a crash between the send and the write) is never sent again.
2. **submit** batch n = the contract's next one, when it is proven: the operator's L1 nonce is
   written first (status ``submitting``), then ``verifier_contract.rollup.submit_batch`` sends
   it, then the tx hash and gas are written (``submitted``). On restart a ``submitting`` /
   ``submitted`` batch that the chain does not have is in flight while a transaction with that
   nonce is pending (wait), else it did not land (mined and failed, dropped, or never sent): it
   goes back to ``proven`` and is submitted again. A nonce is used once, so two submissions of
   one batch can never both be mined; the operator's L1 account must send nothing else.
3. **prove** the lowest batch without a proof (the witness from ``Storage.state_before_batch``,
   ``rollup.proving.batch_witness``, ``prover.plonk``; ``PlonkBatchProver``), checked against
   the public inputs rebuilt from the batch (``rollup.pubdata.public_inputs``), written to
   ``<db>.d/proofs/batch_<n>.{proof,public}.json`` (layout v2 section 9) and into its row. A
   crash mid-prove leaves no row: the batch is proven again.
4. **intake**: the contract's L1 queue (``DepositRequested`` / ``ForcedWithdrawalRequested``
   events past the sequencer's ``next_l1``) into the sequencer as ``L1Request``s, in queue order;
   then the open batch is cut once its first transaction is ``max_age`` seconds old. Users'
   requests come in through the HTTP API (``rollup.http_api``) in the same process: every call
   into the sequencer holds the server's ``lock``.

``Operator.run(stop)`` loops on ``step()`` until ``stop`` is set, sleeping ``poll_interval``
when idle; a node that does not answer (``OSError``, a ``ChainError`` that is not a revert) is
logged and retried; ``OperatorError`` (divergence, a batch the contract refuses for good, a
wrong operator key) stops it. Every step reports ``OperatorEvent``s (``describe`` turns one into
a log line with the batch number, roots, proof time and gas).

Prior art: zkSync Lite's server (``eth_sender``: operations stored with their nonce before they
are sent, resent with the same nonce), Loopring's relayer, StarkEx's batch lifecycle.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from rollup.batch import Batch, L1Request
from rollup.errors import RollupError
from rollup.pubdata import public_inputs
from rollup.state import State
from rollup.storage import OperatorRow, Storage
from rollup.types import Deposit, ForcedWithdrawal

__all__ = [
    "BatchProver",
    "Operator",
    "OperatorError",
    "OperatorEvent",
    "PlonkBatchProver",
    "ProvedBatch",
    "describe",
]


class OperatorError(RollupError):
    """The operator cannot go on by itself: the chain and the database diverged, the contract
    refuses a batch for good, the key is not the contract's operator."""

    code = "operator"


@dataclass(frozen=True)
class ProvedBatch:
    """A batch's proof (``prover.formats.Proof``), its public inputs and the prover's time."""

    proof: Any
    public: list[int]
    seconds: float
    timings: dict = field(default_factory=dict)


class BatchProver(Protocol):
    def prove(self, state_before: State, batch: Batch) -> ProvedBatch: ...


@dataclass(frozen=True)
class OperatorEvent:
    """``kind``: cut, l1, proving, proven, submitting, sent, submitted, confirmed, resubmit,
    waiting, retry; ``batch``: its number (None for l1 / retry); ``info``: details."""

    kind: str
    batch: int | None
    info: dict = field(default_factory=dict)


def _short(root: int) -> str:
    text = f"{root:064x}"
    return f"0x{text[:8]}..{text[-6:]}"


def describe(ev: OperatorEvent) -> str:
    """One log line for an event."""
    i, n = ev.info, ev.batch
    if ev.kind == "cut":
        return (
            f"cut batch {n}: {i['n_txs']} transactions in {i['size']} slots, "
            f"root {_short(i['pre_root'])} -> {_short(i['post_root'])}"
        )
    if ev.kind == "l1":
        return f"L1 queue: {i['count']} request(s) taken (next queue index {i['next']})"
    if ev.kind == "proving":
        return f"proving batch {n} ({i['size']} slots)"
    if ev.kind == "proven":
        return f"proved batch {n} in {i['seconds']:.2f} s"
    if ev.kind == "submitting":
        return f"submitting batch {n} (nonce {i['nonce']})"
    if ev.kind == "sent":
        return f"sent batch {n}: tx {i['tx_hash']}"
    if ev.kind == "submitted":
        return f"submitted batch {n}: tx {i['tx_hash']}, gas {i['gas_used']:,}"
    if ev.kind == "confirmed":
        return f"confirmed batch {n} in block {i['block']}: new root {_short(i['root'])}" + (
            f", gas {i['gas_used']:,}" if i.get("gas_used") else ""
        )
    if ev.kind == "resubmit":
        return f"batch {n}: the submission (nonce {i['nonce']}) did not land: submitting again"
    if ev.kind == "waiting":
        return f"batch {n}: {i['why']}"
    if ev.kind == "retry":
        return f"{i['why']} (retrying in {i['seconds']:.0f} s)"
    return f"{ev.kind} {n} {i}"


# --- the prover (rollup.keys + rollup.proving + prover.plonk) ------------------------------------


class PlonkBatchProver:
    """Proves batches with the keys of ``<db>.d/keys`` (``zkperp batch setup``): one proving
    key per shape, loaded once and checked fresh against the circuit as it is now
    (``rollup.keys.Deployment.check_fresh``). ``config``: the ``SequencerConfig`` the sequencer
    runs with (each shape's circuit has its account units and signature units, ``units_for``,
    ``signatures_for``; None: the defaults). ``progress(k, name, seconds)``: the prover's
    per-round callback (``prover.plonk.prover.prove_with_timings``)."""

    def __init__(
        self,
        db: str | Path,
        genesis: Any,
        *,
        config: Any = None,
        progress: Callable[[int, str, float | None], None] | None = None,
        verify: bool = True,
    ) -> None:
        from rollup.keys import Deployment

        self.dep = Deployment(Path(db))
        self.genesis = genesis
        self.config = config
        self.progress = progress
        self.verify = verify
        self._keys: dict[int, tuple[Any, Any, Any]] = {}

    def load(self, n_slots: int) -> tuple[Any, Any, Any]:
        """(shape, proving key, prover context) of batches of ``n_slots`` slots."""
        if n_slots not in self._keys:
            from prover.plonk.prover import ProverContext
            from rollup.keys import batch_shape, compiled_circuit

            info = self.dep.require_keys(n_slots)
            cfg = self.config
            units = None if cfg is None else cfg.units_for(n_slots)
            sigs = None if cfg is None else cfg.signatures_for(n_slots)
            shape = batch_shape(self.genesis, n_slots, units, sigs)
            self.dep.check_fresh(info, shape, compiled_circuit(shape).cs)
            pk = self.dep.load_proving_key(n_slots)
            self._keys[n_slots] = (shape, pk, ProverContext.from_key(pk))
        return self._keys[n_slots]

    def prove(self, state_before: State, batch: Batch) -> ProvedBatch:
        from prover.plonk import verifier
        from prover.plonk.prover import prove_with_timings
        from rollup.proving import batch_witness

        shape, pk, ctx = self.load(batch.size)
        t0 = time.perf_counter()
        witness, public = batch_witness(state_before, batch, shape)
        result = prove_with_timings(pk, witness, progress=self.progress, check=True, context=ctx)
        seconds = time.perf_counter() - t0
        if self.verify:
            check = verifier.verify(pk.vk, result.public_signals, result.proof)
            if not check.valid:
                raise OperatorError(f"the proof of batch {batch.number} does not verify: "
                                    f"{check.reason}")  # fmt: skip
        return ProvedBatch(result.proof, list(public), seconds, dict(result.timings))


# --- the operator ---------------------------------------------------------------------------------


def _write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


class Operator:
    """See the module docstring. ``sequencer``: a ``Sequencer`` on its database (the operator
    opens a second connection to it for its own reads and writes); ``chain`` and
    ``deployment``: ``verifier_contract.chain.Chain`` and ``verifier_contract.rollup.
    RollupDeployment``; ``prover``: a ``BatchProver`` (``PlonkBatchProver``); ``lock``: the lock
    that serialises calls into the sequencer (the HTTP server's); ``sender``: the operator's L1
    account (default the chain's sender); ``max_age``: cut the open batch once its first
    transaction is this many seconds old (None or 0: only when full); ``on_event``: called with
    each ``OperatorEvent`` (an exception it raises propagates out of ``step``)."""

    def __init__(
        self,
        sequencer: Any,
        chain: Any,
        deployment: Any,
        prover: BatchProver,
        *,
        lock: Any = None,
        sender: str | None = None,
        max_age: int | None = None,
        on_event: Callable[[OperatorEvent], None] | None = None,
        proofs_dir: Path | None = None,
    ) -> None:
        if sequencer.storage is None:
            raise OperatorError("the operator needs a sequencer on a database")
        self.sequencer = sequencer
        self.chain = chain
        self.dep = deployment
        self.prover = prover
        self.lock = lock if lock is not None else threading.Lock()
        self.sender = sender or chain.sender
        self.max_age = max_age or None
        self.on_event = on_event
        db = sequencer.storage.path
        self.proofs_dir = proofs_dir if proofs_dir is not None else Path(f"{db}.d") / "proofs"
        self.storage = Storage.open(db)
        self.storage.ensure_operator_table()
        self._seen = self.storage.batch_count()
        self._low = 0  # every batch below it is known confirmed
        self._genesis_root: int | None = None

    def close(self) -> None:
        self.storage.close()

    def __enter__(self) -> Operator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- chain reads ------------------------------------------------------------------------------

    def _api(self) -> Any:
        from verifier_contract import rollup

        return rollup

    def chain_status(self) -> dict:
        return self._api().rollup_status(self.chain, self.dep)

    def _emit(self, kind: str, batch: int | None, **info: Any) -> None:
        if self.on_event is not None:
            self.on_event(OperatorEvent(kind, batch, info))

    def genesis_root(self) -> int:
        if self._genesis_root is None:
            with self.lock:
                self._genesis_root = State(self.sequencer.genesis).root
        return self._genesis_root

    def preflight(self) -> dict:
        """Check before running: the rollup's operator is our sender, and the chain's root is
        the database's root after the chain's batches. Returns the chain's status."""
        status = self.chain_status()
        if str(status["operator"]).lower() != str(self.sender).lower():
            raise OperatorError(
                f"the rollup's operator is {status['operator']}, this operator sends from "
                f"{self.sender}: configure the operator's key (keys.dev_account / keys.keystore)"
            )
        self._check_chain_root(status)
        return status

    def _check_chain_root(self, status: dict) -> None:
        n = int(status["next_batch_number"])
        count = self.storage.batch_count()
        if n > count:
            raise OperatorError(
                f"the chain has {n} batches, the database {self.storage.path} only {count}: "
                "a different database, or one restored from an old backup"
            )
        want = self.genesis_root() if n == 0 else self.storage.batch_rows(n - 1)[n - 1].post_root
        if int(status["state_root"]) != want:
            raise OperatorError(
                f"the chain's state root {status['state_root']} after {n} batches is not the "
                f"database's ({want}): the chain and {self.storage.path} diverged"
            )

    def _accepted_event(self, n: int) -> dict | None:
        contract = self.dep.contract(self.chain)
        logs = contract.events.BatchAccepted().get_logs(
            from_block=self.dep.deploy_block, argument_filters={"batchNumber": n}
        )
        for log in logs:
            if int(log["args"]["batchNumber"]) == n:
                return {
                    "root": int(log["args"]["newRoot"]),
                    "block": int(log["blockNumber"]),
                    "tx_hash": "0x" + bytes(log["transactionHash"]).hex(),
                }
        return None

    def _nonces(self) -> tuple[int, int]:
        eth = self.chain.w3.eth
        return (
            int(eth.get_transaction_count(self.sender, "latest")),
            int(eth.get_transaction_count(self.sender, "pending")),
        )

    # --- the state machine --------------------------------------------------------------------

    def step(self) -> str | None:
        """Do the next unit of work (module docstring); returns its kind, None when idle."""
        count = self.storage.batch_count()  # batches cut later are seen by the next step
        self._report_cuts(count)
        status = self.chain_status()
        chain_next = int(status["next_batch_number"])
        if chain_next > count:
            self._check_chain_root(status)  # raises: the chain is ahead of the database
        rows = self.storage.operator_rows(self._low)
        for n in range(self._low, chain_next):
            row = rows.get(n)
            if row is None or row.status != "confirmed":
                self._confirm(n, row)
                return "confirmed"
            self._low = n + 1
        waiting = False
        if chain_next < count:
            row = rows.get(chain_next)
            if row is not None and row.status in ("submitting", "submitted"):
                if self._in_flight(row):
                    waiting = True
                else:
                    self._emit("resubmit", chain_next, nonce=row.nonce)
                    row = OperatorRow(
                        chain_next,
                        "proven",
                        row.proof,
                        row.public,
                        row.prove_seconds,
                        updated=time.time(),
                    )
                    self.storage.put_operator_row(row)
            if row is not None and row.status == "proven":
                return self._submit(chain_next, row, status)
        for m in range(chain_next, count):
            if m not in rows:
                self._prove(m)
                return "proven"
        if self._intake(status):
            return "intake"
        return "waiting" if waiting else None

    def _report_cuts(self, count: int | None = None) -> None:
        """A ``cut`` event for each batch cut since the last report (up to ``count``)."""
        count = self.storage.batch_count() if count is None else count
        if count > self._seen:
            for n, r in self.storage.batch_rows(self._seen).items():
                if n >= count:
                    break
                self._seen = n + 1
                self._emit(
                    "cut", n, n_txs=r.n_txs, size=r.size, pre_root=r.pre_root,
                    post_root=r.post_root, timestamp=r.timestamp,
                )  # fmt: skip

    def _confirm(self, n: int, row: OperatorRow | None) -> None:
        event = self._accepted_event(n)
        post = self.storage.batch_rows(n)[n].post_root
        if event is None:
            raise OperatorError(f"the chain counts batch {n} but has no BatchAccepted event of it")
        if event["root"] != post:
            raise OperatorError(
                f"batch {n} on chain has root {event['root']}, the database's is {post}: "
                "the chain and the database diverged"
            )
        gas = row.gas_used if row is not None else None
        if gas is None:
            receipt = self.chain.w3.eth.get_transaction_receipt(event["tx_hash"])
            gas = int(receipt["gasUsed"])
        new = OperatorRow(
            n,
            "confirmed",
            row.proof if row else None,
            row.public if row else None,
            row.prove_seconds if row else None,
            row.nonce if row else None,
            event["tx_hash"],
            event["block"],
            gas,
            time.time(),
        )
        self.storage.put_operator_row(new)
        self._emit("confirmed", n, block=event["block"], root=post, gas_used=gas,
                   tx_hash=event["tx_hash"])  # fmt: skip

    def _in_flight(self, row: OperatorRow) -> bool:
        """Whether the submission of ``row`` (not on chain) may still land: a transaction with
        its nonce is pending and none is mined."""
        if row.nonce is None:
            return False
        latest, pending = self._nonces()
        return latest <= row.nonce < pending

    def _submit(self, n: int, row: OperatorRow, status: dict) -> str:
        from prover import formats

        api = self._api()
        batch = self.storage.batch(n)
        if int(status["state_root"]) != batch.pre_root:
            raise OperatorError(
                f"the chain's root {status['state_root']} is not batch {n}'s pre-root "
                f"{batch.pre_root}: the chain and the database diverged"
            )
        if status.get("frozen"):
            raise OperatorError("the rollup is frozen: no batch is accepted any more")
        proof = formats.parse_proof_json(json.loads(row.proof or "null"))
        _, nonce = self._nonces()
        base = dict(proof=row.proof, public=row.public, prove_seconds=row.prove_seconds)
        self.storage.put_operator_row(
            OperatorRow(n, "submitting", **base, nonce=nonce, updated=time.time())
        )
        self._emit("submitting", n, nonce=nonce)
        try:
            result = api.submit_batch(
                self.chain,
                self.dep,
                batch_number=n,
                new_root=batch.post_root,
                timestamp=batch.timestamp,
                pubdata=batch.pubdata,
                proof=proof,
                sender=self.sender,
            )
        except api.RollupRevertError as exc:
            self.storage.put_operator_row(OperatorRow(n, "proven", **base, updated=time.time()))
            return self._refused(n, batch, exc)
        tx_hash, gas = str(result["tx_hash"]), int(result["gas_used"])
        self._emit("sent", n, tx_hash=tx_hash, gas_used=gas)
        self.storage.put_operator_row(
            OperatorRow(
                n, "submitted", **base, nonce=nonce, tx_hash=tx_hash,
                block=int(result.get("block") or 0) or None, gas_used=gas, updated=time.time(),
            )
        )  # fmt: skip
        self._emit("submitted", n, tx_hash=tx_hash, gas_used=gas)
        return "submitted"

    def _refused(self, n: int, batch: Batch, exc: Any) -> str:
        """A revert of ``submitBatch``: wait (the L1 clock behind the batch, the chain moved)
        or stop (OperatorError)."""
        name = getattr(exc, "error", "")
        if name == "BadTimestamp":
            latest = int(self.chain.w3.eth.get_block("latest")["timestamp"])
            if batch.timestamp > latest:
                self._emit("waiting", n, why=f"L1's clock ({latest}) is behind the batch's "
                           f"timestamp {batch.timestamp}")  # fmt: skip
                return "waiting"
            raise OperatorError(
                f"batch {n}'s timestamp {batch.timestamp} is older than the contract's window "
                f"(L1 time {latest}): it can no longer be accepted"
            ) from exc
        if name == "BadBatchNumber":
            self._emit("waiting", n, why="the contract's batch number moved: reading it again")
            return "waiting"
        hint = ""
        if name == "InvalidProof":
            hint = (
                " (the verifier deployed for this shape does not accept the proof: keys set up "
                "again after `zkperp chain deploy`? The verifiers are fixed at deployment)"
            )
        elif name in ("RequestMismatch", "QueueEmpty"):
            hint = " (the database's L1 requests are not the contract's queue)"
        raise OperatorError(f"the contract refused batch {n}: {exc}{hint}") from exc

    def _prove(self, m: int) -> None:
        from prover import formats

        batch = self.storage.batch(m)
        self._emit("proving", m, size=batch.size, n_txs=batch.n_txs)
        state = self.storage.state_before_batch(m)
        proved = self.prover.prove(state, batch)
        want = public_inputs(
            batch.pre_root, batch.post_root, batch.number, batch.timestamp, batch.pubdata,
            batch.size,
        )  # fmt: skip
        if list(proved.public) != want:
            raise OperatorError(f"the proof of batch {m} has other public inputs than the batch")
        proof_text = formats.dumps_json(formats.proof_to_json(proved.proof))
        public_text = formats.dumps_json(formats.public_to_json(proved.public))
        stem = self.proofs_dir / f"batch_{m}"
        _write_atomic(stem.with_name(stem.name + ".proof.json"), proof_text)
        _write_atomic(stem.with_name(stem.name + ".public.json"), public_text)
        self.storage.put_operator_row(
            OperatorRow(m, "proven", proof_text, public_text, proved.seconds, updated=time.time())
        )
        self._emit("proven", m, seconds=proved.seconds, timings=proved.timings)

    # --- intake ---------------------------------------------------------------------------------

    def _intake(self, status: dict) -> bool:
        did = self._sync_l1(status)
        if self.max_age:
            with self.lock:
                seq = self.sequencer
                batch = None
                if seq.open_transactions:
                    opened = seq.status()["open_batch"]["opened"]
                    now = seq.clock()
                    if opened is not None and now - opened >= self.max_age:
                        batch = seq.cut()
            if batch is not None:
                self._report_cuts()
                did = True
        return did

    def _sync_l1(self, status: dict) -> bool:
        tail = int(status["queue_head"]) + int(status["queue_length"])
        with self.lock:
            start = self.sequencer.next_l1
        if tail <= start:
            return False
        contract = self.dep.contract(self.chain)
        found: dict[int, L1Request] = {}
        for log in contract.events.DepositRequested().get_logs(from_block=self.dep.deploy_block):
            a = log["args"]
            if int(a["index"]) >= start:
                tx = Deposit(bytes(a["pubkey"]), int(a["depositor"], 16), int(a["amount"]))
                found[int(a["index"])] = L1Request(int(a["index"]), tx)
        forced = contract.events.ForcedWithdrawalRequested()
        for log in forced.get_logs(from_block=self.dep.deploy_block):
            a = log["args"]
            if int(a["index"]) >= start:
                tx = ForcedWithdrawal(int(a["account"]), int(a["requester"], 16), int(a["amount"]))
                found[int(a["index"])] = L1Request(int(a["index"]), tx)
        taken = 0
        for index in range(start, tail):
            request = found.get(index)
            if request is None:
                break  # the node has not indexed it yet: next time
            with self.lock:
                try:
                    self.sequencer.submit(request)
                except RollupError as exc:
                    raise OperatorError(f"L1 request {index} does not apply: {exc}") from exc
            taken += 1
        if taken:
            self._emit("l1", None, count=taken, next=start + taken)
            self._report_cuts()
        return taken > 0

    # --- the loop -------------------------------------------------------------------------------

    def run(
        self,
        stop: threading.Event,
        *,
        poll_interval: float = 1.0,
        retry_interval: float = 5.0,
    ) -> None:
        """Call ``step`` until ``stop`` is set (module docstring)."""
        from verifier_contract.chain import ChainError

        revert = self._api().RollupRevertError
        while not stop.is_set():
            try:
                did = self.step()
            except (OSError, ChainError) as exc:
                if isinstance(exc, revert):
                    raise OperatorError(f"the rollup contract reverted a read: {exc}") from exc
                self._emit("retry", None, why=f"the chain did not answer: {exc}",
                           seconds=retry_interval)  # fmt: skip
                stop.wait(retry_interval)
                continue
            if did in (None, "waiting"):
                stop.wait(poll_interval)
