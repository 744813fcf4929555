"""``zkperp demo``: the rollup end to end, checked and timed; ``zkperp demo --circuit-only``:
the first demo, one circuit of every gadget.

``zkperp demo`` (what ``make demo`` runs) is ``rollup.demo.run_demo`` (see its docstring): keys
for a small batch shape (cached under ``.cache/demo``), the rollup deployed on the embedded
EVM, four simulated traders depositing the test token on L1, a market of ``--batches`` batches
(3 with ``--quick``; 4 by default) with orders around a moving oracle price, a funding tick, a
liquidation and a withdrawal, every batch proven by our PLONK prover and submitted by the
operator's loop (a tampered proof and a tampered pubdata byte refused on the way), the
withdrawal paid on L1, and an audit from the chain's events and calldata alone. The summary
(``print_summary``): batches, trades, gates per batch, proof times, gas (deploy, per batch, per
trade), the L1 withdrawal, the final root, the audit and the timings.

``zkperp demo --circuit-only`` (``circuit_demo``):

One run (a seed makes it reproducible; ``--quick`` makes it smaller, for the tests):

1. a development KZG SRS from a KNOWN random tau (``prover.kzg.SRS.insecure_from_tau``, the
   same powers as ``prover.kzg.KnownTauPowers`` but computed once; Kate, Zaverucha, Goldberg
   2010): insecure, whoever knows tau can forge proofs. Issue A's check is kept: a commitment
   equals p(tau)G1 (Python ints) and its opening at a random point verifies;
2. a circuit built with ``circuits.builder`` from the gadgets: "a signed order settled into the
   state tree". The order (price, size) is hashed with Poseidon; an EdDSA-Poseidon signature of
   that hash under a public Baby Jubjub key is checked (``eddsa_circuit``, the key and signature
   from ``eddsa``); price and size are range-checked to 64 bits (``bits``); the notional
   floor(price size / 10^8) is a fixed-point ``mul_div_floor`` (``fixedpoint``), made public;
   and a Poseidon Merkle update adds it to one leaf (``merkle_circuit``, the native
   ``merkle.SparseMerkleTree`` gives the path and both roots). Its gate count per gadget
   (``circuits.builder.gate_report``);
3. PLONK (Gabizon, Williamson, Ciobotaru, ePrint 2019/953): ``prover.plonk.setup.setup``, a proof
   (``prove_with_timings``: the time of each of the five rounds), the Python verifier
   (``prover.plonk.verifier.verify``, section 8.3) accepts it and rejects a tampered public
   signal;
4. the Solidity verifier (``verifier_contract``): rendered for the key, compiled by the pinned
   solc (Node), deployed on the embedded EVM (py-evm), ``verifyProof`` accepts the proof (an
   ``eth_call``, then a transaction for its gas) and rejects the tampered public signal;
5. a summary of the timings, the one-off costs (Numba JIT compile or cache load, the first solc
   compile) apart.

Every check that fails stops the demo with ``Error: demo check failed: ...`` and exit status 1.
``register(zkperp_group)`` adds the command (``cli.main`` owns the group).
"""

from __future__ import annotations

import random
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import click

T = TypeVar("T")

SCALE = 10**8  # fixed-point prices and sizes: 8 decimals
DEPTH_DEFAULT = 16
DEPTH_QUICK = 3
FILLED_LEAVES = 5  # leaves set in the native tree before the update
SRS_POWER = 16  # the development SRS serves domains up to 2^16 (the circuit needs 2^15)
SRS_POWER_QUICK = 15
KZG_CHECK_SIZE = 1 << 12  # coefficients of the polynomial committed to in the KZG check


class DemoCheckFailed(click.ClickException):
    """A check of the demo did not pass: one line, exit status 1."""

    def __init__(self, message: str) -> None:
        super().__init__(f"demo check failed: {message}")


@dataclass(frozen=True)
class DemoInputs:
    """The witness inputs of the demo circuit and the public signals it must produce."""

    inputs: dict[str, Any]
    public: list[int]


class _Report:
    """Prints timed rows and keeps the timings and check count for the summary."""

    def __init__(self) -> None:
        self.times: dict[str, float] = {}
        self.checks = 0

    @staticmethod
    def section(title: str) -> None:
        click.echo(f"\n{title}")

    @staticmethod
    def line(text: str) -> None:
        click.echo(f"  {text}")

    def row(self, label: str, seconds: float, status: str = "") -> None:
        click.echo(f"  {label:<52}{seconds:9.3f} s  {status}".rstrip())

    def timed(self, key: str, label: str, fn: Callable[[], T]) -> T:
        t0 = time.perf_counter()
        out = fn()
        seconds = time.perf_counter() - t0
        self.times[key] = self.times.get(key, 0.0) + seconds
        self.row(label, seconds)
        return out

    def check(self, ok: bool, label: str, failure: str) -> None:
        if not ok:
            click.echo(f"  {label:<52}{'':>11}  FAILED")
            raise DemoCheckFailed(failure)
        self.checks += 1
        click.echo(f"  {label:<52}{'':>11}  OK")


def _decimal(v: int) -> str:
    """A fixed-point value (8 decimals) as a decimal string."""
    return f"{v // SCALE:,}.{v % SCALE:08d}"


@dataclass(frozen=True)
class DevPowersOfTau:
    """A development SRS computed once, with what ``prover.plonk.setup`` reads from a ptau
    (``power``, ``tau_g1_m``, ``tau_g2``): tau is known, so it is insecure."""

    power: int
    srs: Any  # prover.kzg.SRS: 2^power + 6 points, as many as setup takes at 2^power
    tau: int

    @staticmethod
    def from_tau(power: int, tau: int) -> DevPowersOfTau:
        from prover.kzg import SRS

        return DevPowersOfTau(power, SRS.insecure_from_tau((1 << power) + 6, tau), tau)

    def tau_g1_m(self, count: int) -> Any:
        if count > self.srs.g1_powers_m.shape[0]:
            raise ValueError(f"the development SRS has fewer than {count} points")
        return self.srs.g1_powers_m[:count]

    def tau_g2(self, i: int) -> tuple:
        from prover import params
        from prover.curve import ref

        if i == 1:
            return self.srs.g2_tau
        return ref.g2_mul(params.G2_GENERATOR, pow(self.tau, i, params.R_ORDER))


def _kzg_check(powers: DevPowersOfTau, tau: int, rng: random.Random) -> tuple[bool, float]:
    """Issue A's check, kept: commit to a random polynomial with the MSM, compare with p(tau)G1
    computed on Python ints, open it at a random point and verify the opening (a pairing)."""
    from prover import kzg, params
    from prover.curve import ref
    from prover.field import convert
    from prover.field.kernels import FR_M

    r = params.R_ORDER
    coeffs = [rng.randrange(r) for _ in range(KZG_CHECK_SIZE)]
    z = rng.randrange(r)
    t0 = time.perf_counter()
    coeffs_m = convert.to_mont(FR_M, coeffs)
    commitment = kzg.commit(powers.srs, coeffs_m)
    p_tau = 0
    for c in reversed(coeffs):
        p_tau = (p_tau * tau + c) % r
    same = commitment == ref.g1_mul(params.G1_GENERATOR, p_tau)
    opening = kzg.open_at(powers.srs, coeffs_m, z)
    ok = same and kzg.verify_opening(powers.srs.g2_tau, commitment, opening)
    return ok, time.perf_counter() - t0


# --- the circuit ------------------------------------------------------------------------------


def build_circuit(depth: int) -> Any:
    """The demo circuit (a ``CompiledCircuit``); see the module docstring.

    Public signals, in order: ax, ay (the trader's key), old_root, new_root, notional.
    """
    from circuits.builder import CircuitBuilder
    from circuits.gadgets import bits, fixedpoint
    from circuits.gadgets import eddsa_circuit as ec
    from circuits.gadgets import merkle_circuit as mc
    from circuits.gadgets import poseidon_circuit as pc

    b = CircuitBuilder()
    ax, ay = b.public_input("ax"), b.public_input("ay")
    old_root, new_root = b.public_input("old_root"), b.public_input("new_root")
    price, size = b.private_input("price"), b.private_input("size")
    r8x, r8y, s = b.private_input("r8x"), b.private_input("r8y"), b.private_input("s")
    old_leaf = b.private_input("old_leaf")
    siblings, path = b.private_inputs("siblings", depth), b.private_inputs("bits", depth)

    with b.scope("order_hash"):
        order = pc.hash_var(b, [price, size])
    # the gadgets label their own gates: eddsa, range64, muldiv_floor, merkle_update
    ec.verify(b, order, ax, ay, r8x, r8y, s)
    bits.range_check(b, price, 64)
    bits.range_check(b, size, 64)
    notional = fixedpoint.mul_div_floor(b, price, size, SCALE, q_bits=64)
    mc.assert_update(b, old_root, new_root, old_leaf, old_leaf + notional, siblings, path)
    b.expose(notional, "notional")
    return b.compile()


def make_inputs(depth: int, rng: random.Random) -> DemoInputs:
    """A key, an order signed with it, a tree with a few leaves, and the update: natively."""
    from circuits.gadgets import eddsa
    from circuits.gadgets.merkle import SparseMerkleTree
    from circuits.gadgets.poseidon import poseidon

    prv = rng.randbytes(32)
    ax, ay = eddsa.prv2pub(prv)
    price = rng.randrange(1_000, 100_000) * SCALE + rng.randrange(SCALE)  # 1,000 .. 100,000
    size = rng.randrange(1, 1_000) * SCALE // 100  # 0.01 .. 9.99
    sig = eddsa.sign_poseidon(prv, poseidon([price, size]))
    notional = price * size // SCALE

    tree = SparseMerkleTree(depth, backend="python")
    for _ in range(FILLED_LEAVES):
        tree.set(rng.randrange(1 << depth), rng.randrange(1 << 64))
    index = rng.randrange(1 << depth)
    update = tree.update(index, tree.get(index) + notional)
    inputs = {
        "ax": ax, "ay": ay, "old_root": update.old_root, "new_root": update.new_root,
        "price": price, "size": size, "r8x": sig.r8[0], "r8y": sig.r8[1], "s": sig.s,
        "old_leaf": update.old_leaf, "siblings": list(update.siblings), "bits": list(update.bits),
    }  # fmt: skip
    return DemoInputs(inputs, [ax, ay, update.old_root, update.new_root, notional])


def _warm_up() -> None:
    """Compile (cold cache) or load (warm .numba_cache) the prover's kernels on a tiny circuit,
    so the measured steps below show the steady-state cost."""
    from circuits.builder import CircuitBuilder
    from prover.kzg import KnownTauPowers
    from prover.plonk.prover import prove
    from prover.plonk.setup import setup
    from prover.plonk.verifier import verify

    b = CircuitBuilder()
    x = b.public_input("x")
    acc = b.private_input("y")
    for _ in range(4):
        acc = b.mul(acc, acc + x)
    circuit = b.compile()
    pk = setup(circuit.cs, KnownTauPowers(4, 12345))
    proof, public = prove(pk, circuit.witness({"x": 3, "y": 5}), rng=random.Random(0))
    if not verify(pk.vk, public, proof).valid:
        raise DemoCheckFailed("the warm-up proof does not verify")


# --- the circuit demo (``zkperp demo --circuit-only``) ----------------------------------------


def circuit_demo(seed: int | None, quick: bool) -> None:
    """Build, prove and verify a circuit of every gadget, in Python and on an embedded EVM
    (steps 1-5 of the module docstring)."""
    import numba

    from cli.main import _version

    seed = secrets.randbits(64) if seed is None else seed
    depth = DEPTH_QUICK if quick else DEPTH_DEFAULT
    rng = random.Random(seed)
    rep = _Report()
    t_start = time.perf_counter()

    click.echo(f"zkperp {_version()} demo: a circuit of every gadget, proven with PLONK")
    click.echo(
        f"  seed {seed} (rerun: zkperp demo --circuit-only --seed {seed}"
        f"{' --quick' if quick else ''}), "
        f"Merkle depth {depth}, numba {numba.__version__} "
        f"with {numba.config.NUMBA_NUM_THREADS} threads"
    )

    rep.section("0. one-off costs (apart from the steps below)")
    rep.timed("jit", "JIT warm-up (compile, or load the Numba cache)", _warm_up)

    from circuits.builder import gate_report
    from prover import params
    from prover.plonk.constraint_system import domain_power

    srs_power = SRS_POWER_QUICK if quick else SRS_POWER
    rep.section("1. development SRS (KZG, powers of a known tau)")
    tau = rng.randrange(1, params.R_ORDER)
    rep.line(f"tau = {tau:#x}")
    rep.line("INSECURE: tau is known (it comes from the seed) and whoever knows tau can forge")
    rep.line("proofs. For development only; real keys come from a ceremony's .ptau file.")
    srs = rep.timed(
        "srs",
        f"[tau^i]G1, i < 2^{srs_power} + 6 (fixed-base), [tau]G2",
        lambda: DevPowersOfTau.from_tau(srs_power, tau),
    )
    kzg_ok, kzg_seconds = _kzg_check(srs, tau, rng)
    rep.times["kzg"] = kzg_seconds
    rep.row(f"KZG: commit to {KZG_CHECK_SIZE:,} coefficients, open, verify", kzg_seconds)
    rep.check(
        kzg_ok,
        "commitment == p(tau)G1, opening verifies",
        "the KZG commitment or its opening does not check out",
    )

    rep.section("2. the circuit (circuits.builder + gadgets)")
    circuit = rep.timed("build", "build and compile the circuit", lambda: build_circuit(depth))
    demo_in = rep.timed(
        "native", "key, signed order, native Merkle update", lambda: make_inputs(depth, rng)
    )
    witness: list[int] = []
    why = ""
    try:
        witness = rep.timed(
            "witness", "witness (checks every gate)", lambda: circuit.check(demo_in.inputs)
        )
    except ValueError as exc:  # CircuitError / UnsatisfiedWitness: the failing gate, named
        why = f"the witness does not satisfy the circuit: {exc}"
    rep.check(not why, "the witness satisfies every gate", why)
    power = domain_power(circuit.cs)
    rep.line(f"{circuit.n_gates:,} PLONK gates, domain 2^{power}; gates per gadget:")
    for label, count in gate_report(circuit.cs, 1).items():
        rep.line(f"  {label:<20}{count:>8,}")
    rep.check(
        circuit.public_signals(witness) == demo_in.public,
        "public signals == the native computation",
        "the circuit's public signals differ from the native key, roots and notional",
    )

    from prover.plonk import verifier
    from prover.plonk.prover import ROUND_NAMES, prove_with_timings
    from prover.plonk.setup import setup

    rep.section("3. PLONK (ePrint 2019/953)")
    pk = rep.timed(
        "setup",
        f"setup (2^{power}): commit to the selectors and sigmas",
        lambda: setup(circuit.cs, srs),
    )
    result = rep.timed("prove", "prove", lambda: prove_with_timings(pk, witness, rng=rng))
    for k, name in enumerate(ROUND_NAMES, start=1):
        label = name.split("_", 2)[2].replace("_", " ")
        rep.row(f"  round {k}: {label}", result.timings[f"{name}_s"])
    if result.timings.get("context_s"):
        rep.row("  per-key precomputation (first proof of a key)", result.timings["context_s"])
    proof, public = result.proof, result.public_signals
    rep.check(public == demo_in.public, "prover's public signals", "the prover's signals differ")
    verdict = rep.timed(
        "verify_py", "verify (Python verifier)", lambda: verifier.verify(pk.vk, public, proof)
    )
    rep.check(verdict.valid, "the proof verifies", f"the proof does not verify: {verdict.reason}")
    tampered = [*public[:-1], (public[-1] + 1) % params.R_ORDER]  # another notional
    bad = verifier.verify(pk.vk, tampered, proof)
    rep.check(not bad.valid, "a tampered public signal is rejected", "a tampered signal verifies")
    rep.line(
        f"public: the key, both roots, notional {_decimal(public[-1])} "
        f"(= {_decimal(demo_in.inputs['price'])} x {_decimal(demo_in.inputs['size'])})"
    )

    from verifier_contract.chain import Chain, VerifierContract
    from verifier_contract.render import compile_verifier, render_verifier

    rep.section("4. the Solidity verifier on the embedded EVM (py-evm, Cancun)")
    source = render_verifier(pk.vk)
    rep.line(f"rendered {len(source.splitlines()):,} lines of Solidity for this key")
    compiled = rep.timed(
        "solc",
        "compile (solc via Node; cached after the first run)",
        lambda: compile_verifier(pk.vk),
    )
    chain = rep.timed("chain", "start the embedded chain", Chain.embedded)
    deployment = rep.timed("deploy", "deploy", lambda: chain.deploy(compiled))
    contract = VerifierContract(chain, deployment, pk.vk.n_public)
    rep.line(f"runtime code {compiled.size:,} bytes, deployment gas {deployment.gas_used:,}")
    on_chain = rep.timed(
        "verify_evm", "verifyProof (eth_call)", lambda: contract.verify(proof, public)
    )
    rep.check(on_chain is True, "the contract accepts the proof", "the contract rejects it")
    tx = rep.timed(
        "verify_tx",
        "verifyProof in a transaction",
        lambda: contract.verify_transaction(proof, public),
    )
    rep.line(f"verify gas {tx.gas_used:,} ({tx.execution_gas:,} without the tx base and calldata)")
    rejected = contract.verify(proof, tampered) is False
    rep.check(rejected, "the contract rejects the tampered signal", "the contract accepts it")

    t = rep.times
    total = time.perf_counter() - t_start
    rep.section("5. summary")
    summary = [
        ("one-off: JIT warm-up", t["jit"]),
        ("one-off: solc compile (or its cache)", t["solc"]),
        (f"development SRS (2^{srs_power}) and the KZG check", t["srs"] + t["kzg"]),
        ("circuit: build, native inputs, witness", t["build"] + t["native"] + t["witness"]),
        (f"PLONK setup (2^{power})", t["setup"]),
        (f"PLONK prove ({circuit.n_gates:,} gates)", t["prove"]),
        ("verify, Python", t["verify_py"]),
        ("verify, EVM (py-evm eth_call)", t["verify_evm"]),
        ("whole demo", total),
        ("whole demo without the one-off costs", total - t["jit"] - t["solc"]),
    ]
    for label, seconds in summary:
        rep.row(label, seconds)
    click.echo(
        f"\nAll {rep.checks} checks passed: {circuit.n_gates:,} gates, proof verified in Python "
        f"and on-chain ({tx.gas_used:,} gas)."
    )


# --- the rollup demo (``zkperp demo``) ----------------------------------------------------------


def _gas(v: int) -> str:
    return f"{v:,}"


def _decimal_usd(quanta: int) -> str:
    """Token quanta (6 decimals) in whole units with 2 decimals."""
    return f"{quanta // 10**6:,}.{quanta % 10**6 // 10**4:02d}"


def print_summary(res: Any) -> None:
    """The rollup demo's summary: batches, trades, gates, proof times, gas, audit, timings."""
    st = res.settings
    b = res.batches
    rep = _Report()
    rep.section("summary")
    records = ", ".join(f"{n} {k}" for k, n in sorted(res.records.items()))
    rep.line(
        f"batches           {len(b)} ({st.n_slots} slots, {st.n_units} account units and "
        f"{st.n_signatures} signature units each: {records})"
    )
    rep.line(f"trades            {res.trades} (and {res.records.get('liquidate', 0)} liquidation)")
    rep.line(
        f"gates per batch   {res.n_gates:,} (PLONK domain 2^{res.domain_power}; "
        f"{res.n_gates // st.n_slots:,} a slot with the batch-level checks shared)"
    )
    proofs = [x.prove_seconds for x in b]
    plonk = [x.plonk_seconds for x in b]
    rep.line(
        f"proof time        {sum(proofs) / len(proofs):.1f} s a batch on average "
        f"(min {min(proofs):.1f}, max {max(proofs):.1f}; PLONK alone "
        f"{sum(plonk) / len(plonk):.1f} s, the rest the witness and its checks)"
    )
    deploy = sum(res.deploy_gas.values())
    parts = ", ".join(f"{k} {_gas(v)}" for k, v in res.deploy_gas.items())
    rep.line(f"gas: deploy       {_gas(deploy)} ({parts})")
    per_batch = res.batch_gas // len(b)
    rep.line(
        f"gas: per batch    {_gas(per_batch)} on average (submitBatch: calldata, public "
        f"inputs rebuilt on chain, PLONK verification)"
    )
    rep.line(
        f"gas: per trade    {_gas(per_batch // st.n_slots)} (a batch's gas / its {st.n_slots} "
        f"slots; {_gas(res.batch_gas // max(res.trades, 1))} = all batch gas / {res.trades} "
        f"trades here)"
    )
    dep = sum(res.deposit_gas) // len(res.deposit_gas)
    rep.line(
        f"gas: L1 requests  deposit {_gas(dep)} on average, withdraw() "
        f"{_gas(res.withdrawal['gas_used'])}"
    )
    a = res.audit
    proofs_ok = sum(1 for x in a.batches if x.proof_valid)
    rep.line(
        f"audit             {'OK' if a.ok else 'FAILED'}: {a.rebuilt_through} batches rebuilt "
        f"from calldata, {proofs_ok} proofs verified, final root = contract root"
    )
    rep.line(
        f"tampered          proof refused ({res.tampered.get('proof', 'not tried')}), "
        f"pubdata byte refused ({res.tampered.get('pubdata', 'not tried')})"
    )
    w = res.withdrawal
    rep.line(
        f"L1 withdrawal     {w['trader']} {w['l1']}: +{_decimal_usd(w['amount'])} tUSD, "
        f"token balance {_decimal_usd(w['balance_after'])}"
    )
    rep.line(f"final root        {res.final_root:#066x} (the contract's)")
    s = res.seconds
    keys = "cached" if res.keys_cached else "made now"
    rep.line(
        f"time              {s['total']:.0f} s: keys {s['keys']:.0f} s ({keys}), operator "
        f"(prove, submit) {s['operator']:.0f} s, audit {s['audit']:.0f} s"
    )


@click.command("demo")
@click.option(
    "--seed",
    type=click.IntRange(0, 2**64 - 1),
    default=None,
    help="Seed of the traders' keys, the prices and the orders (--circuit-only: of tau, the "
    "key, the order, the tree and the blinding). Default: fresh randomness, printed.",
)
@click.option(
    "--batches",
    type=click.IntRange(3, 1000),
    default=None,
    help="Batches to run in all, the deposits' included (default 4; --quick: 3).",
)
@click.option(
    "--quick",
    is_flag=True,
    help="The shortest market (3 batches); with --circuit-only, a smaller Merkle tree "
    f"(depth {DEPTH_QUICK} instead of {DEPTH_DEFAULT}).",
)
@click.option(
    "--circuit-only",
    is_flag=True,
    help="Only build, prove and verify one circuit of every gadget (the first demo).",
)
@click.option(
    "--cache-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Where the development ptau and the batch keys are kept (default .cache/demo).",
)
def demo(
    seed: int | None,
    batches: int | None,
    quick: bool,
    circuit_only: bool,
    cache_dir: Path | None,
) -> None:
    """The rollup end to end on an embedded EVM: deploy, deposit, trade, prove, submit,
    withdraw, audit.

    Sets up the batch circuit's keys (a development ptau: INSECURE; cached under
    .cache/demo), deploys the rollup contract and its PLONK verifier on py-evm, lets four
    simulated traders deposit the test token on L1, runs a market for a few batches (orders
    around a moving oracle price, a funding tick, a liquidation, a withdrawal), proves every
    batch with the Numba PLONK prover and submits it, withdraws on L1, and audits the chain
    from its events and calldata alone. Exits 1 if any check fails.

    With --circuit-only: the first demo (one circuit of every gadget, proven and verified in
    Python and on chain).
    """
    if circuit_only:
        if batches is not None or cache_dir is not None:
            raise click.UsageError("--batches and --cache-dir do not apply to --circuit-only")
        circuit_demo(seed, quick)
        return
    rollup_demo(seed, batches or (3 if quick else 4), cache_dir)


def rollup_demo(seed: int | None, batches: int, cache_dir: Path | None) -> None:
    """``zkperp demo`` without ``--circuit-only`` (``rollup.demo.run_demo``)."""
    import numba

    from cli.main import _version
    from rollup.demo import DEFAULT_CACHE, DemoSettings, run_demo
    from rollup.errors import RollupError

    seed = secrets.randbits(64) if seed is None else seed
    settings = DemoSettings(seed=seed, batches=batches, cache_dir=cache_dir or DEFAULT_CACHE)
    click.echo(f"zkperp {_version()} demo: a perpetual-futures rollup on an embedded EVM")
    click.echo(
        f"  seed {seed} (rerun: zkperp demo --seed {seed} --batches {batches}), numba "
        f"{numba.__version__} with {numba.config.NUMBA_NUM_THREADS} threads"
    )
    click.echo(
        "  the first run makes the keys (development ptau 2^18 + PLONK setup) and compiles the "
        "Numba kernels:\n  ~3.5 min on 2 cores; later runs reuse .cache/demo and .numba_cache: "
        "~1 min (4 batches)"
    )
    click.echo()
    try:
        res = run_demo(settings, say=click.echo)
    except RollupError as exc:
        raise DemoCheckFailed(str(exc)) from exc
    print_summary(res)
    click.echo(
        f"\nAll checks passed: {len(res.batches)} batches proven, accepted on chain and "
        f"audited; the contract's root is the rebuilt state's."
    )


def register(zkperp_group: click.Group) -> None:
    """Add ``demo`` to the top-level ``zkperp`` group."""
    zkperp_group.add_command(demo)
