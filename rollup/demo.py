"""The simulated market of ``zkperp demo`` (issue G, "``make demo``") as a library: every part
of the rollup, end to end, on the embedded EVM, checked against the chain.

``run_demo(DemoSettings(...), say=print) -> DemoResult``:

1. **keys** (``rollup.keys``): the batch circuit of one small shape
   (``circuits.state_transition.BatchShape``: ``n_slots`` slots, 4-ary account depth
   ``account_depth``, order depth ``order_depth``, one market), a development ptau
   (``prover.ptau.write_dev_ptau``: one party, INSECURE) and the PLONK setup of the shape
   (ePrint 2019/953 section 8.1), cached under ``.cache/demo/`` by circuit digest, so a second
   run only loads them;
2. **deploy** (``verifier_contract.rollup.deploy_rollup``) on a fresh ``Chain.embedded()``
   (py-evm, Cancun; gas passed explicitly everywhere): Poseidon contracts, the PLONK verifier
   of the shape, the test token and ``Rollup.sol`` with the genesis root;
3. **deposits**: the test token is minted to a few simulated traders (``rollup.wallet.Wallet``
   keys from the seed, one L1 account each), who approve and ``deposit`` on L1; the operator
   (``rollup.operator.Operator``) takes them from the contract's queue into the sequencer as
   ``L1Request``s;
4. **the market**, one round per batch: a quorum of oracles signs a moving price
   (``OraclePriceTick``, two signatures around a random walk); makers rest signed limit orders
   around it and takers cross them (``rollup.orderbook`` matches them into ``Trade``s); one
   trader (Carol) opens a leveraged long; then a ``FundingTick`` (within the rate cap), an oracle
   drop that puts Carol under her maintenance margin and her liquidation by another trader's
   signed order (``Liquidate``, penalty to the insurance fund); in the last round a signed
   ``Withdrawal``. Each round is cut into one batch (NoOp-padded to the shape);
5. **prove and submit** every batch with the operator's loop (``PlonkBatchProver``: the witness
   from ``rollup.proving.batch_witness``, our Numba PLONK prover, the Python verifier; then
   ``submitBatch``, which rebuilds the public inputs from the calldata and runs the on-chain
   verifier). Along the way a tampered proof and a tampered pubdata byte are sent and must be
   refused, with no change on chain;
6. **withdraw on L1**: the withdrawing trader calls ``withdraw()``; its token balance must rise
   by exactly the amount;
7. **audit from chain data alone** (``rollup.audit.audit_chain``): the contract's creation
   transaction, its ``BatchAccepted`` events and the calldata of every ``submitBatch``; the state
   is rebuilt from the pubdata, every root and public input recomputed and every proof checked
   with the Python verifier against the trusted key;
8. **checks against the chain**: the contract's next batch number is the number of batches,
   its state root the last batch's post-root and the audit's rebuilt root.

A failed check raises ``DemoError`` (a ``RollupError``: one line at the CLI).

Sizes: the demo's shape is small on purpose (a few minutes on 2 cores): 4 slots a batch with
4 account units (``DemoSettings.n_units``: every trader fits one batch) and 8 signature units
(``DemoSettings.n_signatures``: every signed message of a round fits one batch), at account
depth 3 (64 accounts) and order depth 1 (4 order slots an account), one market (BTC).
"""

from __future__ import annotations

import dataclasses
import random
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rollup.errors import RollupError

__all__ = [
    "DEFAULT_CACHE",
    "MIN_BATCHES",
    "BatchReport",
    "DemoError",
    "DemoResult",
    "DemoSettings",
    "demo_genesis_small",
    "play_round",
    "plan_rounds",
    "run_demo",
]

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CACHE = REPO_ROOT / ".cache" / "demo"
MIN_BATCHES = 3  # deposits; Carol's long and the funding tick; the drop, liquidation, withdrawal
USDC = 10**6  # collateral quanta per USDC
BTC = 10**8  # synthetic quanta (satoshi) per BTC
PRICE_SCALE = 1 << 32
ORDER_TTL = 3600  # seconds an order is valid for
ROUND_SECONDS = 20  # L1 (and sequencer) time between two market rounds
TRADERS = (  # name, deposit in USDC
    ("alice", 200_000),
    ("bob", 200_000),
    ("carol", 2_000),
    ("dave", 50_000),
)
WITHDRAW_USDC = 10_000  # Bob's withdrawal in the last round
WITHDRAW_FEE = USDC // 10


class DemoError(RollupError):
    """A check of the demo failed (the message says which)."""

    code = "demo"


@dataclass(frozen=True)
class DemoSettings:
    """What to run: ``batches`` in all (the first holds the deposits; at least
    ``MIN_BATCHES``), the shape (``n_slots``, ``account_depth``, ``order_depth``), where the
    keys are cached and where the sequencer's database goes (a temporary directory if None)."""

    seed: int = 1
    batches: int = 4
    n_slots: int = 4
    account_depth: int = 3
    order_depth: int = 1
    cache_dir: Path = DEFAULT_CACHE
    work_dir: Path | None = None
    tamper: bool = True  # send a tampered proof and a tampered pubdata byte (must be refused)

    def validate(self) -> None:
        if not isinstance(self.batches, int) or not MIN_BATCHES <= self.batches <= 1000:
            raise DemoError(f"the demo runs {MIN_BATCHES} to 1000 batches, not {self.batches}")
        if not 4 <= self.n_slots <= 16:
            raise DemoError(f"the demo's batches have 4 to 16 slots, not {self.n_slots}")
        if not 2 <= self.account_depth <= 8 or not 1 <= self.order_depth <= 4:
            raise DemoError("account depth 2..8 and order depth 1..4 (4-ary levels)")

    @property
    def n_units(self) -> int:
        """The shape's account units: ``n_slots``, so that a round's batch holds every trader
        (the default T // 2 + 1 would cut a 4-slot round touching 4 traders in two)."""
        return self.n_slots

    @property
    def n_signatures(self) -> int:
        """The shape's signature units: 2 * ``n_slots``, every slot's two signatures distinct,
        so that a round's batch holds every signed message of the round. A round's slots are
        an oracle tick (two oracle signatures) and trades whose maker and taker orders are all
        new (two orders each), or in the last round two ticks, a liquidation and a withdrawal
        (6 for 4 slots); the default T + 1 would cut a 4-slot round of a tick and three trades
        (8 signed messages) in two."""
        return 2 * self.n_slots

    def sequencer_config(self) -> Any:
        """The demo sequencer's ``SequencerConfig``: the one shape with its account and
        signature units, where the keys (``rollup.keys.batch_shape``) and the prover take D
        and S from too."""
        from rollup.sequencer import SequencerConfig

        return SequencerConfig(
            shapes=(self.n_slots,), units=(self.n_units,), signatures=(self.n_signatures,)
        )


@dataclass(frozen=True)
class BatchReport:
    """One batch as the operator proved and submitted it."""

    number: int
    n_slots: int
    records: dict[str, int]  # record type -> count (NoOp padding apart)
    timestamp: int
    post_root: int
    prove_seconds: float  # witness + PLONK proof (the operator's PlonkBatchProver)
    plonk_seconds: float  # the PLONK prover alone (its rounds and per-key precomputation)
    gas_used: int
    tx_hash: str


@dataclass
class DemoResult:
    """What the demo did and measured (the CLI prints it; the tests check it against the
    chain)."""

    settings: DemoSettings
    genesis: Any
    chain: Any
    deployment: Any
    shape: Any
    n_gates: int
    domain_power: int
    keys_cached: bool
    seconds: dict[str, float] = field(default_factory=dict)
    deploy_gas: dict[str, int] = field(default_factory=dict)
    deposit_gas: list[int] = field(default_factory=list)
    batches: list[BatchReport] = field(default_factory=list)
    traders: dict[str, dict] = field(default_factory=dict)
    prices: list[int] = field(default_factory=list)  # the oracle price after each tick
    liquidation: dict = field(default_factory=dict)
    funding: dict = field(default_factory=dict)
    withdrawal: dict = field(default_factory=dict)
    tampered: dict[str, str] = field(default_factory=dict)  # what -> the contract's error
    audit: Any = None  # rollup.audit.AuditReport
    final_root: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def trades(self) -> int:
        return sum(b.records.get("trade", 0) for b in self.batches)

    @property
    def records(self) -> dict[str, int]:
        total: Counter[str] = Counter()
        for b in self.batches:
            total.update(b.records)
        return dict(total)

    @property
    def batch_gas(self) -> int:
        return sum(b.gas_used for b in self.batches)


def demo_genesis_small(timestamp: int, account_depth: int = 3, order_depth: int = 1):
    """``rollup.sequencer.demo_genesis`` cut down to the demo's shape: BTC only, the three demo
    oracles (quorum 2), 4^account_depth accounts, 4^order_depth order slots each."""
    from rollup.sequencer import demo_genesis

    g = demo_genesis(timestamp)
    cfg = dataclasses.replace(
        g.config,
        markets=g.config.markets[:1],
        account_depth=account_depth,
        order_depth=order_depth,
    )
    return dataclasses.replace(g, config=cfg, prices=g.prices[:1])


def _record_name(record: object) -> str:
    return type(record).__name__.removesuffix("Record").lower()


def _usdc(quanta: int) -> str:
    sign = "-" if quanta < 0 else ""
    q = abs(quanta)
    return f"{sign}{q // USDC:,}.{q % USDC // 10**4:02d}"


def _price_usd(price: int) -> str:
    """A BTC price (quanta per satoshi, 2^32 fixed point) in USD per BTC."""
    return f"{price * BTC // PRICE_SCALE // USDC:,}"


class _Market:
    """The simulated traders and oracles around one sequencer (see the module docstring)."""

    def __init__(self, seq: Any, lock: Any, genesis: Any, rng: random.Random, clock) -> None:
        from rollup.sequencer import DEMO_ORACLE_KEYS
        from rollup.wallet import Wallet

        self.seq, self.lock, self.genesis, self.rng, self.clock = seq, lock, genesis, rng, clock
        self.x = genesis.config.exchange_id
        self.oracle_keys = DEMO_ORACLE_KEYS
        self.wallets = {name: Wallet(rng.randbytes(32), self.x) for name, _ in TRADERS}
        self.account: dict[str, int] = {}
        self.next_id: dict[str, int] = {name: 1 for name, _ in TRADERS}
        self.nonce: dict[str, int] = {name: 0 for name, _ in TRADERS}
        self.price = genesis.prices[0]

    def submit(self, request: Any) -> Any:
        with self.lock:
            return self.seq.submit(request)

    def resolve_accounts(self) -> None:
        for name, w in self.wallets.items():
            with self.lock:
                self.account[name] = self.seq.account_index(w.pubkey_hex)

    def _order(self, name: str, side: int, size: int, price: int, tif: Any, fee_ppm: int = 1000):
        from rollup.orderbook import TimeInForce

        oid = self.next_id[name]
        self.next_id[name] += 1
        max_fee = size * price * fee_ppm // (PRICE_SCALE * 10**6) + 1
        return self.wallets[name].order(
            account=self.account[name],
            market=0,
            side=side,
            size=size,
            limit_price=price,
            max_fee=max_fee,
            expiry=self.clock() + ORDER_TTL,
            order_id=oid,
            time_in_force=tif or TimeInForce.GTC,
        )

    def trade(self, maker: str, taker: str, taker_side: int, size: int, price: int) -> int:
        """The maker rests a limit order (post-only) at ``price``, the taker crosses it (IOC):
        one Trade. Returns the filled size."""
        from rollup.orderbook import TimeInForce

        self.submit(self._order(maker, 1 - taker_side, size, price, TimeInForce.POST_ONLY))
        out = self.submit(self._order(taker, taker_side, size, price, TimeInForce.IOC))
        if out.filled != size:
            raise DemoError(f"{taker}'s order filled {out.filled} of {size}: {out.status}")
        return out.filled

    def random_trade(self) -> None:
        names = ["alice", "bob", "dave"]
        maker, taker = self.rng.sample(names, 2)
        side = self.rng.randrange(2)
        size = self.rng.randrange(1, 21) * BTC // 100  # 0.01 .. 0.20 BTC
        bps = self.rng.randrange(1, 16)  # the maker's spread around the oracle price
        price = self.price * (10_000 + (bps if side == 0 else -bps)) // 10_000
        self.trade(maker, taker, side, size, price)

    def oracle_tick(self, price: int) -> int:
        """Two of the three demo oracles sign prices 1 bp apart around ``price``; the tick
        carries their median (any price between them)."""
        from rollup.types import OraclePriceTick, sign_oracle_price

        now = self.clock()
        pair = sorted(self.rng.sample(range(len(self.oracle_keys)), 2))
        signed = (price - price // 20_000, price + price // 20_000)
        sigs = tuple(
            sign_oracle_price(self.oracle_keys[k], k, 0, p, now, self.x)
            for k, p in zip(pair, signed)
        )
        self.submit(OraclePriceTick(0, now, price, sigs))
        self.price = price
        return price

    def random_walk(self) -> int:
        step = self.rng.randrange(-30, 31)  # -0.30% .. +0.30%
        return self.oracle_tick(self.price * (10_000 + step) // 10_000)

    def funding_tick(self) -> dict:
        """Half the capped funding change since the last tick, longs paying shorts."""
        from rollup import rules
        from rollup.types import FundingTick

        st = self.seq.state
        now = self.clock()
        elapsed = now - st.funding_time
        params = self.genesis.config.markets[0]
        old = st.funding_indices[0]
        delta = params.max_funding_rate * self.price * elapsed // 10**12 // 2
        new = old + delta
        if not rules.funding_change_ok(old, new, params.max_funding_rate, self.price, elapsed):
            raise DemoError("the demo's funding change is above the cap")
        self.submit(FundingTick(now, (new,)))
        return {"timestamp": now, "old": old, "new": new, "elapsed": elapsed}

    def liquidate(self, victim: str, liquidator: str) -> dict:
        """The liquidator's signed buy takes over the victim's whole long at the oracle price;
        the penalty is the largest the rules allow (1% of the notional, at most the victim's
        value after the fill)."""
        from rollup import rules
        from rollup.orderbook import TimeInForce
        from rollup.types import Liquidate

        st = self.seq.state
        v = self.account[victim]
        size = st.account(v).positions[0]
        tv, tr, _ = st.value_and_risk(v)
        if size <= 0 or not rules.is_liquidatable(tv, tr):
            raise DemoError(f"{victim} is not liquidatable (TV {tv}, TR {tr}, size {size})")
        price = self.price
        fee_ppm = self.genesis.config.markets[0].liquidation_fee
        _, credit, _ = rules.trade_cash(size, price)
        tv_after = tv - size * price + credit * PRICE_SCALE  # the fill at the oracle price
        cap = size * price * fee_ppm // (PRICE_SCALE * 10**6)
        penalty = max(0, min(cap, (tv_after >> 32) - 1))
        order = self._order(liquidator, 0, size, price, TimeInForce.IOC)
        fee = size * price * 500 // (PRICE_SCALE * 10**6)
        self.submit(Liquidate(order.order, v, size, price, fee, penalty))
        return {
            "victim": victim,
            "liquidator": liquidator,
            "size": size,
            "price": price,
            "tv": tv,
            "tr": tr,
            "penalty": penalty,
            "liquidator_fee": fee,
        }

    def withdraw(self, name: str, amount: int, fee: int) -> None:
        w = self.wallets[name].withdrawal(
            account=self.account[name], amount=amount, fee=fee, nonce=self.nonce[name]
        )
        self.nonce[name] += 1
        self.submit(w)


def plan_rounds(n: int) -> list[list[str]]:
    """What happens in each of ``n`` (>= 2) market rounds besides the random trades that fill
    the batch: round 1 moves the price and opens Carol's leveraged long; the funding tick comes
    in the round before the last (in round 1 when there are only 2); the last round drops the
    price, liquidates Carol and withdraws Bob's funds; the others move the price."""
    plan = [["walk"] for _ in range(n)]
    plan[0].append("carol_long")
    plan[n - 2].append("funding")
    plan[n - 1] = ["liquidation", "withdrawal"]
    return plan


def play_round(market: _Market, res: DemoResult, events: list[str], n_slots: int) -> list[str]:
    """One market round (``plan_rounds``): its events, then random trades filling the round's
    ``n_slots`` slots (one batch: ``DemoSettings.n_units`` and ``n_signatures`` hold all it
    touches and signs); what happened, one phrase each. Records prices, the funding tick and
    the liquidation in ``res``."""
    lines = []
    used = 0
    for ev in events:
        if ev == "walk":
            res.prices.append(market.random_walk())
            used += 1
        elif ev == "carol_long":
            # Carol opens a leveraged long (about 15x) against Bob's resting sell
            price = market.price * 10_010 // 10_000
            market.trade("bob", "carol", 0, BTC // 2, price)
            lev = (BTC // 2) * price // PRICE_SCALE / (dict(TRADERS)["carol"] * USDC)
            lines.append(f"carol buys 0.5 BTC at {_price_usd(price)} ({lev:.0f}x her collateral)")
            used += 1
        elif ev == "funding":
            res.funding = market.funding_tick()
            lines.append("a funding tick (longs pay shorts)")
            used += 1
        elif ev == "liquidation":
            # the drop: Carol falls below her maintenance margin and is liquidated
            res.prices.append(market.oracle_tick(market.price * 95 // 100))
            liq = res.liquidation = market.liquidate("carol", "alice")
            lines.append(
                f"the oracle drops 5%: carol liquidated by alice at "
                f"{_price_usd(liq['price'])} (penalty {_usdc(liq['penalty'])} tUSD)"
            )
            used += 2
        elif ev == "withdrawal":
            market.withdraw("bob", WITHDRAW_USDC * USDC, WITHDRAW_FEE)
            lines.append(f"bob withdraws {WITHDRAW_USDC:,} tUSD")
            used += 1
    trades = n_slots - used
    for _ in range(trades):
        market.random_trade()
    lines.append(f"{trades} trade(s) around the oracle price")
    return lines


def _keys(settings: DemoSettings, genesis: Any, say: Callable[[str], None], res: DemoResult):
    """Compile the shape's circuit, make (or find) the dev ptau and the key; returns the
    key directory's ``rollup.keys.Deployment`` path stem and the verifying key."""
    from prover.plonk.constraint_system import domain_power
    from rollup.keys import Deployment, batch_shape, compiled_circuit, dev_ptau, setup_shape

    config = settings.sequencer_config()
    n = settings.n_slots
    shape = batch_shape(genesis, n, config.units_for(n), config.signatures_for(n))
    t0 = time.perf_counter()
    cs = compiled_circuit(shape).cs
    res.seconds["circuit"] = time.perf_counter() - t0
    power = domain_power(cs)
    res.shape, res.n_gates, res.domain_power = shape, cs.n_gates, power
    say(
        f"batch circuit: {settings.n_slots} slots, {shape.n_units} account units, "
        f"{shape.n_signatures} signature units, account depth {shape.account_depth}, order "
        f"depth {shape.order_depth}, {shape.n_markets} market: {cs.n_gates:,} gates "
        f"(domain 2^{power}), compiled in {res.seconds['circuit']:.1f} s"
    )
    stem = Path(settings.cache_dir) / (
        f"keys_s{shape.n_slots}_u{shape.n_units}_g{shape.n_signatures}_a{shape.account_depth}"
        f"_o{shape.order_depth}_m{shape.n_markets}"
    )
    dep = Deployment(stem)
    t0 = time.perf_counter()
    ptau = dev_ptau(dep, power)
    res.seconds["ptau"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    info = setup_shape(dep, shape, ptau, cs=cs)
    res.seconds["setup"] = time.perf_counter() - t0
    res.keys_cached = info.cached
    if info.cached:
        say(f"keys: cached in {dep.keys_dir} (development ptau 2^{power}: INSECURE)")
    else:
        say(
            f"keys: development ptau 2^{power} ({res.seconds['ptau']:.1f} s; one party, "
            f"INSECURE), PLONK setup {res.seconds['setup']:.1f} s -> {dep.keys_dir}"
        )
    return stem, dep.load_verifying_key(settings.n_slots)


def run_demo(settings: DemoSettings, say: Callable[[str], None] = print) -> DemoResult:
    """Run the demo (module docstring); ``say`` gets one line per step."""
    from rollup.audit import audit_chain
    from rollup.operator import Operator, PlonkBatchProver
    from rollup.sequencer import Sequencer
    from rollup.state import State
    from rollup.storage import Storage
    from verifier_contract import rollup as ro
    from verifier_contract.chain import Chain

    settings.validate()
    t_all = time.perf_counter()
    rng = random.Random(settings.seed)
    chain = Chain.embedded()
    tester = chain.w3.provider.ethereum_tester

    def l1_time() -> int:
        return int(chain.w3.eth.get_block("latest")["timestamp"])

    def advance(seconds: int) -> None:
        """Move L1's clock (the sequencer's clock too) on by ``seconds``: mine a block then."""
        pending = int(tester.get_block_by_number("pending")["timestamp"])
        tester.time_travel(max(l1_time(), pending) + seconds)
        tester.mine_blocks(1)

    genesis = demo_genesis_small(l1_time(), settings.account_depth, settings.order_depth)
    res = DemoResult(settings, genesis, chain, None, None, 0, 0, False)

    # --- 1. keys ---------------------------------------------------------------------------------
    t0 = time.perf_counter()
    stem, vk = _keys(settings, genesis, say, res)
    res.seconds["keys"] = time.perf_counter() - t0

    # --- 2. deploy -------------------------------------------------------------------------------
    t0 = time.perf_counter()
    genesis_root = State(genesis).root
    dep = ro.deploy_rollup(
        chain,
        genesis_root=genesis_root,
        vks={settings.n_slots: vk},
        account_depth=genesis.config.account_depth,
        genesis_prices=tuple(genesis.prices),
    )
    res.deployment = dep
    res.deploy_gas = dict(dep.gas)
    res.seconds["deploy"] = time.perf_counter() - t0
    say(
        f"deployed on the embedded EVM in {res.seconds['deploy']:.1f} s: Rollup {dep.rollup}, "
        f"verifier {dep.verifiers[settings.n_slots]}, token {dep.token}; "
        f"gas {sum(dep.gas.values()):,} in all"
    )

    # --- 3. sequencer, operator, deposits --------------------------------------------------------
    tmp = None
    work = settings.work_dir
    if work is None:
        tmp = tempfile.TemporaryDirectory(prefix="zkperp-demo-")
        work = Path(tmp.name)
    work.mkdir(parents=True, exist_ok=True)
    db = work / "seq.db"
    config = settings.sequencer_config()
    seq = Sequencer.create(db, genesis, config, clock=l1_time)
    prover = PlonkBatchProver(stem, genesis, config=config)
    reports: dict[int, dict] = {}

    def on_event(ev: Any) -> None:
        if ev.batch is None:
            return
        r = reports.setdefault(ev.batch, {})
        if ev.kind == "proven":
            last_proven.append(ev.batch)
            t = ev.info.get("timings") or {}
            r["prove_seconds"] = ev.info["seconds"]
            r["plonk_seconds"] = float(t.get("total_s", 0.0)) + float(t.get("context_s", 0.0))
            say(
                f"  batch {ev.batch}: proved in {ev.info['seconds']:.1f} s (witness and "
                f"checks {ev.info['seconds'] - r['plonk_seconds']:.1f} s, PLONK "
                f"{r['plonk_seconds']:.1f} s)"
            )
        elif ev.kind == "submitted":
            r["gas_used"], r["tx_hash"] = ev.info["gas_used"], ev.info["tx_hash"]
        elif ev.kind == "confirmed":
            r["gas_used"] = r.get("gas_used") or ev.info.get("gas_used") or 0
            say(
                f"  batch {ev.batch}: accepted on chain in block {ev.info['block']}, "
                f"gas {r['gas_used']:,}"
            )

    op = Operator(seq, chain, dep, prover, on_event=on_event, proofs_dir=work / "proofs")
    try:
        op.preflight()
        market = _Market(seq, op.lock, genesis, rng, l1_time)
        users = chain.accounts[1 : 1 + len(TRADERS)]
        addresses = dict(zip(market.wallets, users))
        say(f"\n{len(TRADERS)} traders mint the test token and deposit on L1:")
        for (name, usdc), user in zip(TRADERS, users):
            w = market.wallets[name]
            ro.mint(chain, dep, to=user, amount=usdc * USDC)
            out = ro.deposit(
                chain, dep, pubkey_packed=bytes.fromhex(w.pubkey_hex[2:]), amount=usdc * USDC,
                sender=user,
            )  # fmt: skip
            res.deposit_gas.append(int(out["gas_used"]))
            res.traders[name] = {"l1": user, "deposit": usdc * USDC}
            say(f"  {name:<6} {user}  {usdc:>9,} tUSD  (deposit gas {out['gas_used']:,})")

        t_ops = [0.0]
        last_proven: list[int] = []

        def settle(cut: bool) -> None:
            """Cut the open batch (if asked and not empty), then run the operator until it is
            idle: prove, (tamper), submit, confirm."""
            if cut:
                with op.lock:
                    seq.cut()
            for _ in range(200):
                t0 = time.perf_counter()
                kind = op.step()
                t_ops[0] += time.perf_counter() - t0
                if kind is None:
                    return
                if kind == "proven" and settings.tamper and not res.tampered:
                    n = last_proven[-1]
                    if n >= 1:  # a market batch
                        _tamper(res, chain, dep, op, n, say)
                if kind == "waiting":
                    advance(1)
            raise DemoError("the operator did not finish its work")

        settle(cut=False)  # intake; a full batch of deposits is cut, proven and submitted
        market.resolve_accounts()
        for name in market.wallets:
            res.traders[name]["account"] = market.account[name]
        if seq.open_transactions:
            settle(cut=True)

        # --- 4. the market rounds ----------------------------------------------------------------
        plan = plan_rounds(settings.batches - 1)
        for rnd, events in enumerate(plan, start=1):
            advance(ROUND_SECONDS)
            lines = play_round(market, res, events, settings.n_slots)
            say(f"\nround {rnd}: oracle {_price_usd(market.price)} USD/BTC; " + "; ".join(lines))
            settle(cut=True)
        res.seconds["operator"] = t_ops[0]

        # --- 5. withdraw on L1 -------------------------------------------------------------------
        bob = addresses["bob"]
        token = dep.token_contract(chain).functions
        pending = ro.pending_withdrawal(chain, dep, bob)
        before = int(token.balanceOf(bob).call())
        out = ro.withdraw(chain, dep, sender=bob)
        after = int(token.balanceOf(bob).call())
        res.withdrawal = {
            "trader": "bob",
            "l1": bob,
            "amount": WITHDRAW_USDC * USDC,
            "pending": pending,
            "balance_before": before,
            "balance_after": after,
            "gas_used": int(out["gas_used"]),
        }
        if after - before != WITHDRAW_USDC * USDC or pending != WITHDRAW_USDC * USDC:
            raise DemoError(
                f"bob's L1 withdrawal paid {after - before} (pending {pending}), "
                f"not {WITHDRAW_USDC * USDC}"
            )
        say(
            f"\nL1 withdraw(): bob's token balance {_usdc(before)} -> {_usdc(after)} tUSD "
            f"(+{WITHDRAW_USDC:,}), gas {out['gas_used']:,}"
        )

        # --- the batches as the operator recorded them -------------------------------------------
        with Storage.open(db) as s:
            for n in range(s.batch_count()):
                b = s.batch(n)
                r = reports.get(n, {})
                kinds = Counter(_record_name(rec) for rec in b.records)
                kinds.pop("noop", None)
                res.batches.append(
                    BatchReport(
                        n, b.size, dict(kinds), b.timestamp, b.post_root,
                        float(r.get("prove_seconds", 0.0)), float(r.get("plonk_seconds", 0.0)),
                        int(r.get("gas_used", 0)),
                        str(r.get("tx_hash", "")),
                    )
                )  # fmt: skip
    finally:
        op.close()
        seq.close()
        if tmp is not None:
            tmp.cleanup()

    # --- 6. audit from the chain alone -----------------------------------------------------------
    say("\naudit from chain data alone (events + calldata; rollup.audit):")
    t0 = time.perf_counter()
    report = audit_chain(chain, dep.rollup, genesis, {settings.n_slots: vk})
    res.seconds["audit"] = time.perf_counter() - t0
    res.audit = report
    for line in report.summary().splitlines():
        say(f"  {line}")
    if not report.ok:
        raise DemoError(f"the audit found {len(report.divergences)} divergence(s)")

    # --- 7. the summary's numbers against the chain ----------------------------------------------
    status = ro.rollup_status(chain, dep)
    res.final_root = int(status["state_root"])
    n = len(res.batches)
    if int(status["next_batch_number"]) != n or n != settings.batches:
        raise DemoError(
            f"the contract counts {status['next_batch_number']} batches, the demo made {n} "
            f"(asked for {settings.batches})"
        )
    if res.final_root != res.batches[-1].post_root or res.final_root != report.rebuilt_root:
        raise DemoError("the contract's root is not the last batch's post-root / the audit's")
    res.seconds["total"] = time.perf_counter() - t_all
    return res


def _tamper(res: DemoResult, chain: Any, dep: Any, op: Any, n: int, say) -> None:
    """Batch ``n`` is proven, not yet submitted: send it with one proof word changed, then with
    one pubdata byte changed; the contract must refuse both and nothing may change."""
    import json

    from prover import formats
    from prover.params import R_ORDER
    from verifier_contract import rollup as ro
    from verifier_contract.render import proof_words

    batch = op.storage.batch(n)
    row = op.storage.operator_row(n)
    proof = formats.parse_proof_json(json.loads(row.proof))
    before = ro.rollup_status(chain, dep)
    words = proof_words(proof)
    bad_words = [*words[:18], (words[18] + 1) % R_ORDER, *words[19:]]  # eval_a + 1
    pubdata = bytearray(batch.pubdata)
    pubdata[2] ^= 0x01  # a byte of the first record's fields
    attempts = {
        "proof": dict(pubdata=batch.pubdata, proof=bad_words),
        "pubdata": dict(pubdata=bytes(pubdata), proof=proof),
    }
    for what, kw in attempts.items():
        try:
            ro.submit_batch(
                chain, dep, batch_number=n, new_root=batch.post_root,
                timestamp=batch.timestamp, **kw,
            )  # fmt: skip
        except ro.RollupRevertError as exc:
            res.tampered[what] = exc.error or str(exc)
        else:
            raise DemoError(f"the contract accepted batch {n} with a tampered {what}")
    if ro.rollup_status(chain, dep) != before:
        raise DemoError("a refused submission changed the contract's state")
    say(
        f"  batch {n}: a tampered proof is refused ({res.tampered['proof']}), a tampered "
        f"pubdata byte too ({res.tampered['pubdata']}); the contract is unchanged"
    )
