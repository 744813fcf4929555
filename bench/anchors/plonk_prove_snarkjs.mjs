// Anchor: snarkjs 0.7.6 `plonk prove` (src/plonk_prove.js, the function the CLI calls), timed
// per round from its own debug log lines ("> ROUND k"), on the same zkey and witness as ours.
// Usage: node bench/anchors/plonk_prove_snarkjs.mjs <in.zkey> <in.wtns> <proof.json> <public.json>
// The curve (ffjavascript's wasm + one worker per core) is built first and timed apart
// ("warmup_ms"), as our JIT warm-up is; "total_ms" is the prove call itself, which includes
// reading the zkey and witness ("read_ms": until "> ROUND 1").
// Prints {"op": "plonk_prove", "threads": t, "warmup_ms": w, "total_ms": ms, "read_ms": r,
//         "rounds_ms": {"1": .., ..., "5": ..}, "peak_rss_kib": VmHWM}
import * as snarkjs from "snarkjs";
import { readFileSync, writeFileSync } from "node:fs";

const [zkeyPath, wtnsPath, proofPath, publicPath] = process.argv.slice(2);
if (!publicPath) throw new Error("usage: plonk_prove_snarkjs.mjs zkey wtns proof.json public.json");

const now = () => Number(process.hrtime.bigint()) / 1e6;

let t0 = now();
const curve = await snarkjs.curves.getCurveFromName("bn128");
const warmupMs = now() - t0;

const marks = [];
const note = (msg) => {
    const m = /^> ROUND (\d)$/.exec(msg);
    if (m) marks.push([Number(m[1]), now()]);
    else if (msg === "PLONK PROVER FINISHED") marks.push([6, now()]);
};
const logger = { debug: note, info: note, warn: () => {}, error: (m) => console.error(m) };

t0 = now();
const { proof, publicSignals } = await snarkjs.plonk.prove(zkeyPath, wtnsPath, logger);
const totalMs = now() - t0;

writeFileSync(proofPath, JSON.stringify(proof, null, 1));
writeFileSync(publicPath, JSON.stringify(publicSignals, null, 1));

// Peak memory: VmHWM of this process's address space (workers included). Not maxRSS: Linux's
// getrusage keeps the high-water mark of the address space exec replaced (the parent's copy).
function peakRssKib() {
    try {
        const m = /VmHWM:\s+(\d+)/.exec(readFileSync("/proc/self/status", "utf8"));
        if (m) return Number(m[1]);
    } catch (e) {
        // not Linux: fall back to getrusage
    }
    return process.resourceUsage().maxRSS;
}

const at = Object.fromEntries(marks);
const roundsMs = {};
for (let k = 1; k <= 5; k++) roundsMs[String(k)] = at[k + 1] - at[k];
console.log(
    JSON.stringify({
        op: "plonk_prove",
        threads: curve.tm.concurrency,
        warmup_ms: warmupMs,
        total_ms: totalMs,
        read_ms: at[1] - t0,
        rounds_ms: roundsMs,
        peak_rss_kib: peakRssKib(),
    })
);
process.exit(0);
