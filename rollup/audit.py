"""The auditor (issue G): re-verify a deployed rollup from the chain alone.

``audit_chain(chain, rollup_address, genesis, vks)`` reads, at one block (the latest when it
starts), what the rollup contract (``verifier_contract/templates/Rollup.sol``) published:

- its creation transaction (the constructor's ``Config``: genesis root, verifiers per batch
  size, account depth, genesis prices), found by bisecting ``eth_getCode`` over block heights
  (or scanning from ``from_block``), and whether the creation code is Rollup.sol as compiled
  here;
- every ``BatchAccepted(batchNumber, oldRoot, newRoot, timestamp, keccak(pubdata), nSlots)``
  event in order, and the calldata of each event's ``submitBatch`` transaction, decoded with
  the contract's ABI.

Then it checks, reporting each divergence with its batch and field (``Divergence``):

- genesis: the contract's genesis root is ``State(genesis).root``; its account depth and
  genesis prices are the genesis config's (the escape hatch uses both);
- verifiers: every registered verifier's runtime code is what ``verifier_contract.render``
  renders and solc compiles (``compile_verifier``) from the trusted verifying key of its batch
  size (the key rebuilt from the published circuit: a ``vk.json`` per shape, a zkey, or a new
  setup of the batch circuit of each shape with the deployment's account units and signature
  units, ``trusted_vks_from_circuit``; ``units_from_json`` and ``signatures_from_json`` read
  them from ``zkperp sequencer genesis --with-units``);
- per batch: the event sequence (numbers 0, 1, ...; each old root the previous new root), the
  calldata against the event (number, new root, timestamp, ``keccak(pubdata)``), the records
  decode (``rollup.pubdata``, strict) and their number is ``nSlots``; the state rebuilt from the
  genesis and the pubdata alone (``State.apply_record``, then ``end_batch``: layout v2 section
  4) has the event's old and new roots; the public inputs rebuilt from the event and the pubdata
  (``rollup.pubdata.public_inputs``, layout v2 section 6) and the proof from calldata verify
  with the Python PLONK verifier (``prover.plonk.verifier``, ePrint 2019/953 section 8.3) under
  the trusted key of the batch's size, and with ``snarkjs plonk verify`` when asked;
- at the end: the contract's stored root and next batch number match the last event and the
  rebuilt state.

A rebuild that diverges (a root, a record that does not decode or replay) stops there: the
state the chain claims after it is unknown, so the later batches' roots are not compared (their
hashes and proofs still are). This is what zkSync Lite's and Loopring's "restore the state from
L1 data" tools do (zksync ``data_restore``, Loopring's ``ExchangeV3`` block data), plus the
proof and verifier checks.

``escape_json`` / ``opening_from_json``: an account's exit data for the escape hatch
(``verifier_contract.rollup.exit_opening`` of the rebuilt final state) as JSON and back to the
``ExitOpening`` that ``verifier_contract.rollup.exit`` takes.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from prover import formats
from prover.formats import PROOF_EVAL_NAMES, PROOF_POINT_NAMES, Proof
from prover.plonk.keys import VerifyingKey
from rollup.errors import PubdataError, RollupError
from rollup.pubdata import decode_records, public_inputs
from rollup.state import Backend, State
from rollup.types import MAX_MARKETS, Genesis

__all__ = [
    "AuditError",
    "AuditReport",
    "BatchAudit",
    "BatchEvent",
    "ChainReader",
    "Divergence",
    "RollupCreation",
    "SubmitCall",
    "audit_chain",
    "escape_json",
    "load_vk_dir",
    "opening_from_json",
    "proof_from_words",
    "signatures_from_json",
    "trusted_vks_from_circuit",
    "units_from_json",
]

CONFIG_ABI = (
    "(uint256,address,address,uint256[],address[],uint256,uint256,uint256,address[3],uint256[4])"
)
SCAN_BLOCKS = 256  # blocks scanned from ``from_block`` when the node keeps no history
SNARKJS_TIMEOUT = 300


class AuditError(ValueError):
    """The audit cannot run: no contract at the address, not a rollup, unreadable keys, a node
    that does not answer. (A divergence is not an error: it is in the report.)"""


# --- what the chain says --------------------------------------------------------------------------


@dataclass(frozen=True)
class BatchEvent:
    """One ``BatchAccepted`` event."""

    number: int
    old_root: int
    new_root: int
    timestamp: int
    pubdata_hash: bytes
    n_slots: int
    tx_hash: str
    block: int


@dataclass(frozen=True)
class SubmitCall:
    """The decoded arguments of a ``submitBatch`` transaction."""

    batch_number: int
    new_root: int
    timestamp: int
    pubdata: bytes
    proof: tuple[int, ...]  # the 24 words
    sender: str


@dataclass(frozen=True)
class RollupCreation:
    """The rollup's creation transaction and its constructor ``Config``; ``code_matches``:
    the creation code is Rollup.sol as compiled here (None when the arguments did not decode)."""

    tx_hash: str
    block: int
    code_matches: bool
    genesis_root: int | None = None
    verifiers: Mapping[int, str] = field(default_factory=dict)
    account_depth: int | None = None
    genesis_prices: tuple[int, ...] = ()
    timestamp_window: int | None = None
    forced_deadline: int | None = None


def _hex(data: Any) -> str:
    text = bytes(data).hex()
    return "0x" + text


class ChainReader:
    """Reads the rollup's data through web3 at one block (``block``: the latest when made).
    Events are read in windows of ``log_chunk`` blocks (default ``LOG_CHUNK_BLOCKS``, halved
    when the node refuses one: public RPC endpoints cap eth_getLogs ranges). Tests subclass it
    to alter what the auditor reads (e.g. one pubdata byte)."""

    def __init__(
        self,
        chain: Any,
        rollup_address: str,
        *,
        from_block: int | None = None,
        log_chunk: int | None = None,
    ) -> None:
        from web3 import Web3

        from verifier_contract.rollup import LOG_CHUNK_BLOCKS, contracts

        self.log_chunk = LOG_CHUNK_BLOCKS if log_chunk is None else log_chunk

        self.w3 = chain.w3
        try:
            self.address = Web3.to_checksum_address(rollup_address)
        except (ValueError, TypeError):
            raise AuditError(f"{rollup_address!r} is not an Ethereum address") from None
        self.compiled = contracts()["Rollup"]
        self.contract = self.w3.eth.contract(address=self.address, abi=list(self.compiled.abi))
        self.from_block = from_block
        try:
            self.block = int(self.w3.eth.block_number)
            code = bytes(self.w3.eth.get_code(self.address, block_identifier=self.block))
        except Exception as exc:  # noqa: BLE001 (any transport failure: unreachable)
            raise AuditError(f"the node does not answer: {exc}") from None
        if not code:
            raise AuditError(f"no contract at {self.address} (block {self.block})")
        try:
            self.state_root()
            self.next_batch_number()
        except Exception as exc:  # noqa: BLE001
            raise AuditError(f"{self.address} is not a zkperp rollup contract: {exc}") from None

    def _view(self, fn: Any) -> Any:
        return fn.call({"gas": 30_000_000}, block_identifier=self.block)

    def state_root(self) -> int:
        return int(self._view(self.contract.functions.stateRoot()))

    def next_batch_number(self) -> int:
        return int(self._view(self.contract.functions.nextBatchNumber()))

    def verifier_of(self, n_slots: int) -> str:
        return str(self._view(self.contract.functions.verifierOf(n_slots)))

    def code(self, address: str) -> bytes:
        return bytes(self.w3.eth.get_code(address, block_identifier=self.block))

    def events(self) -> list[BatchEvent]:
        from verifier_contract.rollup import get_logs_chunked

        start = self.from_block or 0
        logs = get_logs_chunked(
            self.contract.events.BatchAccepted(), start, self.block, chunk=self.log_chunk
        )
        logs = sorted(logs, key=lambda g: (g["blockNumber"], g["logIndex"]))
        return [
            BatchEvent(
                number=int(g["args"]["batchNumber"]),
                old_root=int(g["args"]["oldRoot"]),
                new_root=int(g["args"]["newRoot"]),
                timestamp=int(g["args"]["timestamp"]),
                pubdata_hash=bytes(g["args"]["pubdataHash"]),
                n_slots=int(g["args"]["nSlots"]),
                tx_hash=_hex(g["transactionHash"]),
                block=int(g["blockNumber"]),
            )
            for g in logs
        ]

    def submit_call(self, event: BatchEvent) -> SubmitCall:
        """The ``submitBatch`` arguments of the event's transaction; AuditError when the
        transaction is not a direct call of the rollup's ``submitBatch``."""
        tx = self.w3.eth.get_transaction(event.tx_hash)
        to = tx.get("to")
        if to is None or str(to).lower() != self.address.lower():
            raise AuditError(
                f"transaction {event.tx_hash} calls {to}, not the rollup: the pubdata is not "
                "in its calldata (a contract relayed the call)"
            )
        try:
            fn, args = self.contract.decode_function_input(bytes(tx["input"]))
        except Exception as exc:  # noqa: BLE001 (web3 raises several types)
            raise AuditError(
                f"transaction {event.tx_hash}: calldata does not decode: {exc}"
            ) from None
        if fn.fn_name != "submitBatch":
            raise AuditError(f"transaction {event.tx_hash} calls {fn.fn_name}, not submitBatch")
        return SubmitCall(
            batch_number=int(args["batchNumber"]),
            new_root=int(args["newRoot"]),
            timestamp=int(args["timestamp"]),
            pubdata=bytes(args["pubdata"]),
            proof=tuple(int(w) for w in args["proof"]),
            sender=str(tx["from"]),
        )

    # --- the creation transaction ---------------------------------------------------------------

    def _has_code_at(self, block: int) -> bool:
        return bool(bytes(self.w3.eth.get_code(self.address, block_identifier=block)))

    def creation_block(self) -> int | None:
        """The block that created the rollup: bisection over ``eth_getCode`` at past heights
        (nodes keeping history: hardhat, eth-tester, archive nodes), else a scan of
        ``SCAN_BLOCKS`` blocks from ``from_block``; None if not found."""
        try:
            lo, hi = self.from_block or 0, self.block
            if self._has_code_at(lo):
                return lo if lo == 0 or not self._has_code_at(lo - 1) else None
            while hi - lo > 1:  # code at hi, none at lo
                mid = (lo + hi) // 2
                if self._has_code_at(mid):
                    hi = mid
                else:
                    lo = mid
            return hi
        except Exception:  # noqa: BLE001 (no historical state on this node)
            pass
        if self.from_block is None:
            return None
        for b in range(self.from_block, min(self.block, self.from_block + SCAN_BLOCKS) + 1):
            if self._creation_in(b) is not None:
                return b
        return None

    def _creation_in(self, block: int) -> dict | None:
        for tx in self.w3.eth.get_block(block, full_transactions=True)["transactions"]:
            if tx.get("to"):  # a creation has no recipient (None, or '' from eth-tester)
                continue
            receipt = self.w3.eth.get_transaction_receipt(tx["hash"])
            made = receipt.get("contractAddress")
            if made is not None and str(made).lower() == self.address.lower():
                return dict(self.w3.eth.get_transaction(tx["hash"]))
        return None

    def creation(self) -> RollupCreation | None:
        """The creation transaction and its decoded ``Config`` (None if not found)."""
        from eth_abi import decode

        block = self.creation_block()
        if block is None:
            return None
        tx = self._creation_in(block)
        if tx is None:
            return None
        data = bytes(tx["input"])
        code = bytes(self.compiled.bytecode)
        tx_hash = _hex(tx["hash"])
        if not data.startswith(code):
            return RollupCreation(tx_hash, block, False)
        try:
            (c,) = decode([CONFIG_ABI], data[len(code) :])
        except Exception:  # noqa: BLE001
            return RollupCreation(tx_hash, block, False)
        slots, addresses = c[3], c[4]
        from web3 import Web3

        return RollupCreation(
            tx_hash,
            block,
            True,
            genesis_root=int(c[0]),
            verifiers={int(n): Web3.to_checksum_address(a) for n, a in zip(slots, addresses)},
            account_depth=int(c[7]),
            genesis_prices=tuple(int(p) for p in c[9]),
            timestamp_window=int(c[5]),
            forced_deadline=int(c[6]),
        )


# --- the report -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Divergence:
    """One check that failed: ``batch`` (None for the deployment), ``field`` (one of
    genesis_root, genesis_config, rollup_bytecode, verifier_bytecode, verifying_key,
    batch_number, calldata, pubdata_hash, record_decoding, n_slots, old_root, replay, new_root,
    public_inputs, proof, snarkjs_proof, final_root), and the two values: ``expected`` is the
    auditor's (rebuilt from the genesis and the pubdata, or from the trusted keys; for the
    pubdata hash the event's), ``found`` the chain's."""

    batch: int | None
    field: str
    message: str
    expected: str | None = None
    found: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "batch": self.batch,
            "field": self.field,
            "message": self.message,
            "expected": self.expected,
            "found": self.found,
        }

    def __str__(self) -> str:
        where = "deployment" if self.batch is None else f"batch {self.batch}"
        text = f"{where}: {self.field}: {self.message}"
        if self.expected is not None or self.found is not None:
            text += f" (expected {self.expected}, found {self.found})"
        return text


@dataclass(frozen=True)
class BatchAudit:
    """What was read and checked of one batch."""

    number: int
    tx_hash: str
    block: int
    n_slots: int
    timestamp: int
    old_root: int
    new_root: int
    records: Mapping[str, int]  # record type name -> count (noop included)
    rebuilt: bool  # the rebuilt state reached this batch's new root
    proof_valid: bool | None  # None: not checked (no key, bad public inputs)
    snarkjs_valid: bool | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "number": self.number,
            "tx_hash": self.tx_hash,
            "block": self.block,
            "n_slots": self.n_slots,
            "timestamp": self.timestamp,
            "old_root": str(self.old_root),
            "new_root": str(self.new_root),
            "records": dict(self.records),
            "rebuilt": self.rebuilt,
            "proof_valid": self.proof_valid,
            "snarkjs_valid": self.snarkjs_valid,
        }


@dataclass(frozen=True)
class AuditReport:
    """The audit's result; ``ok`` when no divergence was found. ``rebuilt_root`` is the root
    rebuilt through the last batch that matched the chain; ``state`` the rebuilt state (the
    final state when ``ok``; past that batch otherwise)."""

    rollup: str
    block: int
    genesis_root: int
    contract_root: int
    rebuilt_root: int
    batches: tuple[BatchAudit, ...]
    verifiers: Mapping[int, str]
    divergences: tuple[Divergence, ...]
    notes: tuple[str, ...]
    snarkjs: bool
    state: State | None = field(default=None, compare=False, repr=False)

    @property
    def ok(self) -> bool:
        return not self.divergences

    @property
    def transactions(self) -> dict[str, int]:
        """Records by type over every batch (without the NoOp padding)."""
        total: Counter[str] = Counter()
        for b in self.batches:
            total.update(b.records)
        total.pop("noop", None)
        return dict(sorted(total.items()))

    @property
    def padding(self) -> int:
        return sum(b.records.get("noop", 0) for b in self.batches)

    @property
    def rebuilt_through(self) -> int:
        """The number of batches the rebuild reached (from batch 0 on)."""
        n = 0
        for b in self.batches:
            if not b.rebuilt:
                break
            n += 1
        return n

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "rollup": self.rollup,
            "block": self.block,
            "batches": len(self.batches),
            "transactions": self.transactions,
            "padding": self.padding,
            "genesis_root": str(self.genesis_root),
            "contract_root": str(self.contract_root),
            "final_root": str(self.rebuilt_root),
            "rebuilt_through": self.rebuilt_through,
            "proofs_verified": sum(1 for b in self.batches if b.proof_valid),
            "snarkjs": self.snarkjs,
            "verifiers": {str(n): a for n, a in sorted(self.verifiers.items())},
            "divergences": [d.to_json() for d in self.divergences],
            "notes": list(self.notes),
            "batch_details": [b.to_json() for b in self.batches],
        }

    def summary(self) -> str:
        """A few lines for a person."""
        lines = []
        txs = ", ".join(f"{n} {k}" for k, n in self.transactions.items()) or "none"
        lines.append(
            f"rollup {self.rollup} at block {self.block}: {len(self.batches)} batches, "
            f"transactions: {txs} ({self.padding} padding slots)"
        )
        lines.append(f"genesis root  {self.genesis_root}")
        lines.append(f"rebuilt root  {self.rebuilt_root} (through {self.rebuilt_through} batches)")
        lines.append(f"contract root {self.contract_root}")
        checked = sum(1 for b in self.batches if b.proof_valid)
        sj = " and snarkjs" if self.snarkjs else ""
        lines.append(f"proofs verified (Python{sj}): {checked} of {len(self.batches)}")
        for n, a in sorted(self.verifiers.items()):
            lines.append(f"verifier for {n} slots: {a}")
        for note in self.notes:
            lines.append(f"note: {note}")
        if self.ok:
            lines.append("audit OK: no divergence")
        else:
            lines.append(f"audit FAILED: {len(self.divergences)} divergence(s)")
            lines += [f"  {d}" for d in self.divergences]
        return "\n".join(lines)


# --- keys -----------------------------------------------------------------------------------------


def _vk(value: VerifyingKey | Mapping[str, Any]) -> VerifyingKey:
    return value if isinstance(value, VerifyingKey) else formats.parse_vk_json(value)


def load_vk_dir(directory: str | os.PathLike) -> dict[int, VerifyingKey]:
    """The ``batch_<n>.vk.json`` files of ``directory`` (``<db>.d/keys``, layout v2 section 9)
    by ``n``; AuditError if none or one that does not parse or has the wrong size."""
    path = Path(directory)
    if not path.is_dir():
        raise AuditError(f"{path}: no such directory")
    out: dict[int, VerifyingKey] = {}
    for f in sorted(path.glob("batch_*.vk.json")):
        stem = f.name[len("batch_") : -len(".vk.json")]
        if not stem.isdigit():
            continue
        try:
            vk = formats.parse_vk_json(formats.load_json(f))
        except (OSError, ValueError) as exc:
            raise AuditError(f"{f}: {exc}") from None
        n = int(stem)
        if vk.n_public != 4 + 3 * n:
            raise AuditError(f"{f}: {vk.n_public} public inputs, not 4 + 3 * {n}")
        out[n] = vk
    if not out:
        raise AuditError(f"{path}: no batch_<n>.vk.json file")
    return out


def vk_from_zkey(path: str | os.PathLike) -> tuple[int, VerifyingKey]:
    """(n_slots, vk) of a batch zkey."""
    from prover.zkey import read_verifying_key

    try:
        vk = read_verifying_key(path)
    except (OSError, ValueError) as exc:
        raise AuditError(f"{path}: {exc}") from None
    if vk.n_public < 7 or (vk.n_public - 4) % 3:
        raise AuditError(f"{path}: {vk.n_public} public inputs is not 4 + 3 * n_slots")
    return (vk.n_public - 4) // 3, vk


def units_from_json(d: Any) -> dict[int, int] | None:
    """The deployment's ``{T: D}`` (each batch shape's account units) from what ``zkperp
    sequencer genesis --with-units`` writes (``{"genesis": ..., "shapes": [...], "units":
    [...]}``); None for a plain genesis (an older export: the default units). AuditError if
    the shapes and units do not pair up (``rollup.batch.check_units``)."""
    from rollup.batch import check_units

    return _per_shape_from_json(d, "units", check_units, "units")


def signatures_from_json(d: Any) -> dict[int, int] | None:
    """The deployment's ``{T: S}`` (each batch shape's signature units) from what ``zkperp
    sequencer genesis --with-units`` writes (``{"genesis": ..., "shapes": [...], "units":
    [...], "signatures": [...]}``); None for a plain genesis or an export without them (an
    older one: the default signature units). AuditError if the shapes and signature units do
    not pair up (``rollup.batch.check_signatures``)."""
    from rollup.batch import check_signatures

    return _per_shape_from_json(d, "signatures", check_signatures, "signature units")


def _per_shape_from_json(
    d: Any, key: str, check: Callable[[object, object], tuple], what: str
) -> dict[int, int] | None:
    """``{T: count}`` from an export's ``shapes`` and ``key`` lists (None: no ``key``)."""
    from rollup.errors import ConfigError

    if not isinstance(d, dict) or key not in d:
        return None
    try:
        shapes, counts = check(d.get("shapes"), d[key])
    except ConfigError as exc:
        raise AuditError(f"the deployment's batch shapes and {what}: {exc}") from None
    return None if counts is None else dict(zip(shapes, counts))


def trusted_vks_from_circuit(
    genesis: Genesis,
    shapes: Iterable[int],
    ptau: str | os.PathLike,
    units: Mapping[int, int] | None = None,
    signatures: Mapping[int, int] | None = None,
) -> dict[int, VerifyingKey]:
    """The verifying keys rebuilt from the published circuit: the batch circuit of each shape
    under ``genesis``'s config with the deployment's account units (``units[T]``; a shape not
    in it, or None: ``default_units(T)``) and signature units (``signatures[T]``; else
    ``default_signatures(T)``; ``rollup.keys.batch_shape``) set up on ``ptau``
    (``prover.plonk.setup``; deterministic given the ptau, so it equals the operator's key)."""
    from prover.plonk.setup import SetupError, setup
    from prover.ptau import read_ptau
    from rollup.keys import batch_shape, compiled_circuit

    units = dict(units or {})
    signatures = dict(signatures or {})
    srs = read_ptau(ptau)
    out = {}
    for n in sorted(set(shapes)):
        shape = batch_shape(genesis, n, units.get(n), signatures.get(n))
        cs = compiled_circuit(shape).cs
        try:
            out[n] = setup(cs, srs).vk
        except SetupError as exc:
            raise AuditError(f"{ptau}: {exc}") from None
    return out


def proof_from_words(words: Iterable[int]) -> Proof:
    """The ``Proof`` of the contract's 24 words (``verifier_contract.render.proof_words``)."""
    w = list(words)
    if len(w) != 2 * len(PROOF_POINT_NAMES) + len(PROOF_EVAL_NAMES):
        raise AuditError(f"a proof is 24 words, got {len(w)}")
    kw: dict[str, Any] = {n: (w[2 * i], w[2 * i + 1]) for i, n in enumerate(PROOF_POINT_NAMES)}
    base = 2 * len(PROOF_POINT_NAMES)
    kw.update({n: w[base + i] for i, n in enumerate(PROOF_EVAL_NAMES)})
    return Proof(**kw)


def _snarkjs_bin() -> str | None:
    from verifier_contract.compile import node_modules

    local = node_modules() / ".bin" / "snarkjs"
    return str(local) if local.is_file() else shutil.which("snarkjs")


def snarkjs_verify(vk: VerifyingKey, public: list[int], proof: Proof) -> tuple[bool, str]:
    """``snarkjs plonk verify`` on the three JSON files in a temporary directory."""
    exe = _snarkjs_bin()
    if exe is None:
        raise AuditError("snarkjs is not installed (run `make install`)")
    with tempfile.TemporaryDirectory(prefix="zkperp-audit-") as tmp:
        d = Path(tmp)
        formats.write_json(d / "vk.json", formats.vk_to_json(vk))
        formats.write_json(d / "public.json", formats.public_to_json(public))
        formats.write_json(d / "proof.json", formats.proof_to_json(proof))
        try:
            done = subprocess.run(
                [exe, "plonk", "verify", "vk.json", "public.json", "proof.json"],
                cwd=d,
                capture_output=True,
                text=True,
                timeout=SNARKJS_TIMEOUT,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise AuditError(f"snarkjs did not run: {exc}") from None
    out = (done.stdout + done.stderr).strip()
    return done.returncode == 0 and "OK!" in out, out.splitlines()[-1] if out else ""


# --- the audit ------------------------------------------------------------------------------------


def _record_name(record: object) -> str:
    name = type(record).__name__
    name = name[: -len("Record")] if name.endswith("Record") else name
    return "".join("_" + c.lower() if c.isupper() else c for c in name).lstrip("_")


def audit_chain(
    chain: Any,
    rollup_address: str,
    genesis: Genesis,
    vks: Mapping[int, VerifyingKey | Mapping[str, Any]],
    *,
    snarkjs: bool = False,
    from_block: int | None = None,
    log_chunk: int | None = None,
    reader: ChainReader | None = None,
    backend: Backend = "numba",
    progress: Callable[[str], None] | None = None,
) -> AuditReport:
    """Audit the rollup at ``rollup_address`` (module docstring) against ``genesis`` and the
    trusted verifying keys ``vks`` (n_slots -> vk). Divergences are in the report; AuditError
    when the audit cannot run (no rollup there, a node that does not answer)."""
    from eth_utils import keccak

    from prover.plonk.verifier import verify
    from verifier_contract.render import compile_verifier

    say = progress or (lambda _msg: None)
    rd = reader or ChainReader(chain, rollup_address, from_block=from_block, log_chunk=log_chunk)
    trusted = {int(n): _vk(v) for n, v in vks.items()}
    divs: list[Divergence] = []
    notes: list[str] = []

    def diverge(batch: int | None, fld: str, msg: str, expected: Any = None, found: Any = None):
        d = Divergence(
            batch,
            fld,
            msg,
            None if expected is None else str(expected),
            None if found is None else str(found),
        )
        divs.append(d)
        say(f"DIVERGENCE {d}")

    state = State(genesis, backend=backend)
    genesis_root = state.root

    # --- the deployment: genesis, configuration, verifiers --------------------------------------
    try:
        creation = rd.creation()
    except Exception as exc:  # noqa: BLE001 (a node without some method)
        creation = None
        notes.append(f"reading the creation transaction failed: {exc}")
    events = rd.events()
    say(f"{len(events)} BatchAccepted events up to block {rd.block}")
    if creation is None:
        notes.append(
            "the rollup's creation transaction was not found (pass --from-block near the "
            "deployment on a node without history): the genesis root is taken from batch 0's "
            "old root, the verifiers from verifierOf"
        )
        chain_genesis = events[0].old_root if events else rd.state_root()
        if not events:
            notes.append("no batch yet: the genesis root is the stored root")
    elif not creation.code_matches:
        diverge(
            None,
            "rollup_bytecode",
            f"the creation code of {rd.address} (tx {creation.tx_hash}) is not Rollup.sol as "
            "compiled here",
        )
        chain_genesis = events[0].old_root if events else rd.state_root()
    else:
        assert creation.genesis_root is not None
        chain_genesis = creation.genesis_root
        if creation.account_depth != genesis.config.account_depth:
            diverge(
                None,
                "genesis_config",
                "the contract's account depth differs from the genesis config's",
                genesis.config.account_depth,
                creation.account_depth,
            )
        prices = tuple(genesis.prices) + (0,) * (MAX_MARKETS - len(genesis.prices))
        if tuple(creation.genesis_prices) != prices:
            diverge(
                None,
                "genesis_config",
                "the contract's genesis prices differ from the genesis",
                list(prices),
                list(creation.genesis_prices),
            )
    if chain_genesis != genesis_root:
        diverge(
            None,
            "genesis_root",
            "the contract's genesis root is not the root of the given genesis",
            genesis_root,
            chain_genesis,
        )

    if creation is not None and creation.code_matches:
        registered = dict(creation.verifiers)
    else:
        registered = {}
        for n in sorted(set(trusted) | {e.n_slots for e in events}):
            address = rd.verifier_of(n)
            if int(address, 16):
                registered[n] = address
    compiled_cache: dict[int, bytes] = {}
    for n, address in sorted(registered.items()):
        vk = trusted.get(n)
        if vk is None:
            diverge(
                None,
                "verifying_key",
                f"no trusted verifying key for the verifier of {n} slots at {address}",
            )
            continue
        expected = compiled_cache.setdefault(n, bytes(compile_verifier(vk).deployed_bytecode))
        found = rd.code(address)
        if found != expected:
            diverge(
                None,
                "verifier_bytecode",
                f"the verifier of {n} slots at {address} is not the trusted key's verifier",
                f"{len(expected)} bytes, keccak 0x{keccak(expected).hex()}",
                f"{len(found)} bytes, keccak 0x{keccak(found).hex()}",
            )
        else:
            say(f"verifier of {n} slots at {address}: bytecode matches the trusted key")

    # --- the batches -----------------------------------------------------------------------------
    audits: list[BatchAudit] = []
    rebuilding = True
    good_root = genesis_root  # the rebuilt root after the last batch that rebuilt
    prev_root = chain_genesis
    for k, ev in enumerate(events):
        b = ev.number
        if ev.number != k:
            diverge(b, "batch_number", "batches are not numbered 0, 1, ... in order", k, b)
        if ev.old_root != prev_root:
            diverge(
                b,
                "old_root",
                "the event's old root is not the previous new root",
                prev_root,
                ev.old_root,
            )
        prev_root = ev.new_root
        counts: Counter[str] = Counter()
        proof_valid: bool | None = None
        sj_valid: bool | None = None
        rebuilt = False
        try:
            call: SubmitCall | None = rd.submit_call(ev)
        except AuditError as exc:
            diverge(b, "calldata", str(exc))
            call = None
        except Exception as exc:  # noqa: BLE001 (the node fails to give the transaction)
            diverge(b, "calldata", f"transaction {ev.tx_hash} cannot be read: {exc}")
            call = None
        records = None
        if call is not None:
            for fld, want, got in (
                ("batch_number", ev.number, call.batch_number),
                ("new_root", ev.new_root, call.new_root),
                ("timestamp", ev.timestamp, call.timestamp),
            ):
                if want != got:
                    diverge(
                        b, "calldata", f"the calldata's {fld} differs from the event's", want, got
                    )
            digest = keccak(call.pubdata)
            if digest != ev.pubdata_hash:
                diverge(
                    b,
                    "pubdata_hash",
                    "keccak(pubdata) of the calldata is not the event's",
                    "0x" + ev.pubdata_hash.hex(),
                    "0x" + digest.hex(),
                )
            try:
                records = decode_records(call.pubdata)
            except PubdataError as exc:
                diverge(b, "record_decoding", str(exc))
            if records is not None:
                counts.update(_record_name(r) for r in records)
                if len(records) != ev.n_slots:
                    diverge(
                        b,
                        "n_slots",
                        "the pubdata's record count is not the event's nSlots",
                        ev.n_slots,
                        len(records),
                    )
        # the rebuild
        if rebuilding:
            if state.root != ev.old_root:
                diverge(
                    b,
                    "old_root",
                    "the rebuilt state's root is not the batch's old root",
                    state.root,
                    ev.old_root,
                )
                rebuilding = False
            elif records is None:
                rebuilding = False
            else:
                for i, record in enumerate(records):
                    try:
                        state.apply_record(record)
                    except RollupError as exc:
                        diverge(
                            b,
                            "replay",
                            f"record {i} ({type(record).__name__}) does not replay: {exc}",
                        )
                        rebuilding = False
                        break
                if rebuilding:
                    state.end_batch()
                    if state.root != ev.new_root:
                        diverge(
                            b,
                            "new_root",
                            "the rebuilt state's root is not the new root",
                            state.root,
                            ev.new_root,
                        )
                        rebuilding = False
                    else:
                        rebuilt = True
                        good_root = state.root
            if not rebuilding:
                notes.append(f"the rebuild stopped at batch {b}: later roots are not compared")
        # the proof
        vk = trusted.get(ev.n_slots)
        if vk is None:
            diverge(b, "verifying_key", f"no trusted verifying key for {ev.n_slots} slots")
        elif call is not None:
            try:
                public = public_inputs(
                    ev.old_root, ev.new_root, ev.number, ev.timestamp, call.pubdata, ev.n_slots
                )
            except PubdataError as exc:
                diverge(b, "public_inputs", f"the public inputs cannot be rebuilt: {exc}")
            else:
                proof = proof_from_words(call.proof)
                result = verify(vk, public, proof)
                proof_valid = result.valid
                if not result.valid:
                    diverge(
                        b,
                        "proof",
                        f"the proof does not verify under the trusted key of "
                        f"{ev.n_slots} slots: {result.reason}",
                    )
                if snarkjs:
                    sj_valid, line = snarkjs_verify(vk, public, proof)
                    if not sj_valid:
                        diverge(b, "snarkjs_proof", f"snarkjs plonk verify: {line}")
        say(
            f"batch {b}: {ev.n_slots} slots, proof "
            f"{'OK' if proof_valid else 'not verified' if proof_valid is None else 'INVALID'}, "
            f"{'rebuilt' if rebuilt else 'not rebuilt'}"
        )
        audits.append(
            BatchAudit(
                b,
                ev.tx_hash,
                ev.block,
                ev.n_slots,
                ev.timestamp,
                ev.old_root,
                ev.new_root,
                dict(counts),
                rebuilt,
                proof_valid,
                sj_valid,
            )
        )

    # --- the end ---------------------------------------------------------------------------------
    stored = rd.state_root()
    if stored != prev_root:
        diverge(
            None,
            "final_root",
            "the stored root is not the last batch's new root",
            prev_root,
            stored,
        )
    if rebuilding and state.root != stored:
        diverge(None, "final_root", "the rebuilt root is not the stored root", state.root, stored)
    next_number = rd.next_batch_number()
    if next_number != len(events):
        diverge(
            None,
            "batch_number",
            "the contract's next batch number is not the number of BatchAccepted events",
            len(events),
            next_number,
        )
    return AuditReport(
        rollup=rd.address,
        block=rd.block,
        genesis_root=genesis_root,
        contract_root=stored,
        rebuilt_root=good_root,
        batches=tuple(audits),
        verifiers=registered,
        divergences=tuple(divs),
        notes=tuple(notes),
        snarkjs=snarkjs,
        state=state,
    )


# --- escape data ----------------------------------------------------------------------------------


def escape_json(state: State, account: int) -> dict[str, Any]:
    """Account ``account``'s exit opening in ``state`` (``verifier_contract.rollup.exit_opening``)
    as JSON (field elements as decimal strings), with the root it opens and the L1 address the
    exit pays; ``opening_from_json`` reads it back."""
    from verifier_contract.rollup import exit_opening

    if not isinstance(account, int) or not 0 <= account < state.next_account:
        raise AuditError(
            f"no account {account} in the rebuilt state ({state.next_account} accounts)"
        )
    op = exit_opening(state, account)
    return {
        "account": op.account,
        "state_root": str(state.root),
        "l1_address": f"0x{op.static_fields[2]:040x}",
        "static_fields": [str(v) for v in op.static_fields],
        "collateral": str(op.collateral),
        "orders_root": str(op.orders_root),
        "sizes": [str(v) for v in op.sizes],
        "funding": [str(v) for v in op.funding],
        "root_fields": [str(v) for v in op.root_fields],
        "siblings": [[str(v) for v in s] for s in op.siblings],
    }


def opening_from_json(obj: Any) -> Any:
    """The ``ExitOpening`` (``verifier_contract.rollup``) of ``escape_json``'s output."""
    from verifier_contract.rollup import ExitOpening

    def ints(v: Any, n: int | None, what: str) -> tuple[int, ...]:
        if not isinstance(v, list) or (n is not None and len(v) != n):
            raise AuditError(f"escape data: {what} is a list of {n} integers")
        return tuple(_int(x, what) for x in v)

    def _int(v: Any, what: str) -> int:
        try:
            if isinstance(v, bool):
                raise ValueError
            return int(v)
        except (TypeError, ValueError):
            raise AuditError(f"escape data: {what} is not an integer: {v!r}") from None

    if not isinstance(obj, Mapping):
        raise AuditError("escape data is a JSON object")
    try:
        siblings = obj["siblings"]
        if not isinstance(siblings, list):
            raise AuditError("escape data: siblings is a list")
        return ExitOpening(
            account=_int(obj["account"], "account"),
            static_fields=ints(obj["static_fields"], 4, "static_fields"),  # type: ignore[arg-type]
            collateral=_int(obj["collateral"], "collateral"),
            orders_root=_int(obj["orders_root"], "orders_root"),
            sizes=ints(obj["sizes"], 4, "sizes"),  # type: ignore[arg-type]
            funding=ints(obj["funding"], 4, "funding"),  # type: ignore[arg-type]
            root_fields=ints(obj["root_fields"], 5, "root_fields"),  # type: ignore[arg-type]
            siblings=tuple(ints(s, 3, "siblings") for s in siblings),  # type: ignore[misc]
        )
    except KeyError as exc:
        raise AuditError(f"escape data: missing {exc}") from None


def load_escape(path: str | os.PathLike) -> Any:
    """``opening_from_json`` of a file."""
    try:
        return opening_from_json(json.loads(Path(path).read_text()))
    except (OSError, ValueError) as exc:
        if isinstance(exc, AuditError):
            raise
        raise AuditError(f"{path}: {exc}") from None
