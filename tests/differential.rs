//! Differential test: random EVM programs through Kiln's interpreter, Kiln's JIT and revm.
//!
//! Every case (see `differential/gen.rs` for the shapes, and `differential/control.rs` for
//! those whose stack heights differ with the path: dynamic jumps, loops that move the height,
//! self-recursion) runs with its gas limit, then with
//! gas limits derived from that first run: the exact gas it needed and a little less (so that
//! execution stops at, or just before, the last block), intrinsic gas plus a few, points in
//! between, and the boundary found by bisection. The three must agree on status (success,
//! revert, halt, refused; not on the halt reason), gas used, output, logs and post-state root.
//!
//! `cargo test --release --test differential` runs 3000 cases. Environment:
//! - `KILN_DIFF_CASES=N` — number of cases (default 3000);
//! - `KILN_DIFF_SEED=S` — run seed, decimal or 0x-hex (default fixed, so CI is reproducible);
//! - `KILN_DIFF_FIRST=I` — index of the first case (with `KILN_DIFF_CASES=1`: one case);
//! - `KILN_DIFF_SHAPE=NAME` — only cases of that shape (straight, loop, jumps, memory, calls,
//!   stack, raw, mutant, mixed, dynjump, heights, recurse); the others are still generated
//!   (a case is a function of seed and index) but not run;
//! - `KILN_DIFF_THREADS=T` — worker threads (default 1);
//! - `KILN_DIFF_MAX_FAILURES=K` — stop after K failing cases (default 10);
//! - `KILN_DIFF_BIG_INITCODE=0` — keep CREATE initcode under 2 KiB (by default it goes up to
//!   the EIP-3860 limit);
//! - `KILN_DIFF_AOT_EVERY=K` — also run every K-th case (default 10; 0 for none) from an AOT
//!   shared object of its contracts (linking one per case is what limits this);
//! - `KILN_DIFF_GAS_VARIANTS=0` — run every case with its first gas limit only (big runs, and
//!   under valgrind, where each run costs a hundred times more);
//! - `KILN_DIFF_ORACLE=interp` — compare the JIT (and AOT) with Kiln's interpreter only,
//!   skipping revm (default `revm`: all three);
//! - `KILN_DIFF_TIMEOUT=S` — seconds one case may run (default 120; 0 for no limit): past it
//!   the watchdog prints the case's reproduce command and exits the process, since compiled
//!   code that never runs out of gas cannot be interrupted;
//! - `KILN_DIFF_VERBOSE=1` — one line per run, with the time each EVM took;
//! - `KILN_DIFF_DUMP=1` — print every case (pre-state and transaction) before running it.
//!
//! A failure prints the command that reproduces it, the fork, the transaction, every account
//! of the pre-state with its code in hex, and the three outcomes.
//!
//! Compiled code that writes outside its stack buffer corrupts the heap instead of disagreeing:
//! the process aborts, often only when the batch's thread frees its pooled stack buffers. The
//! first such case is the least `KILN_DIFF_CASES` that aborts (cases are independent), or the
//! one valgrind stops at (the larger redzone keeps a write just below a buffer from reaching
//! valgrind's own bookkeeping):
//!
//! ```text
//! KILN_DIFF_GAS_VARIANTS=0 KILN_DIFF_AOT_EVERY=0 KILN_DIFF_ORACLE=interp KILN_DIFF_TIMEOUT=0 \
//!   valgrind --error-exitcode=99 --exit-on-first-error=yes --redzone-size=128 <test binary>
//! ```

mod differential {
    pub mod asm;
    pub mod control;
    pub mod gen;
    pub mod oracle;
    pub mod rng;
}

use differential::gen::{self, Case, Shape};
use differential::oracle::{self, Outcome, Status};
use differential::rng::Rng;

use alloy_primitives::hex;
use kiln_codegen::{AotCompiler, AotLibrary, CompileError, JitCompiler};
use kiln_runtime::handler::intrinsic_gas;
use kiln_runtime::SpecId;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// revm's results in Kiln's terms, as `kiln bench` reads them.
#[path = "../src/tools/bench/revm_results.rs"]
mod revm_results;

const DEFAULT_SEED: u64 = 0x6b69_6c6e_6469_6666; // "kilndiff"
const BATCH: u64 = 250;
/// A run slower than this is listed in the summary.
const SLOW_MS: u128 = 500;

#[derive(Clone)]
struct Config {
    cases: u64,
    seed: u64,
    first: u64,
    shape: Option<Shape>,
    threads: u64,
    max_failures: usize,
    timeout: Option<Duration>,
    verbose: bool,
    dump: bool,
    aot_every: u64,
    gas_variants: bool,
    revm: bool,
    options: gen::Options,
}

fn env_u64(name: &str) -> Option<u64> {
    let v = std::env::var(name).ok()?;
    let v = v.trim();
    let parsed = match v.strip_prefix("0x") {
        Some(h) => u64::from_str_radix(h, 16),
        None => v.parse(),
    };
    Some(parsed.unwrap_or_else(|_| panic!("{name}={v} is not a number")))
}

impl Config {
    fn from_env() -> Self {
        let shape = std::env::var("KILN_DIFF_SHAPE").ok().map(|s| {
            *Shape::ALL
                .iter()
                .find(|sh| sh.name() == s.trim())
                .unwrap_or_else(|| panic!("KILN_DIFF_SHAPE={s}: unknown shape"))
        });
        Config {
            cases: env_u64("KILN_DIFF_CASES").unwrap_or(3000),
            seed: env_u64("KILN_DIFF_SEED").unwrap_or(DEFAULT_SEED),
            first: env_u64("KILN_DIFF_FIRST").unwrap_or(0),
            shape,
            threads: env_u64("KILN_DIFF_THREADS").unwrap_or(1).max(1),
            max_failures: env_u64("KILN_DIFF_MAX_FAILURES").unwrap_or(10) as usize,
            timeout: match env_u64("KILN_DIFF_TIMEOUT").unwrap_or(120) {
                0 => None,
                s => Some(Duration::from_secs(s)),
            },
            verbose: std::env::var("KILN_DIFF_VERBOSE").is_ok_and(|v| v != "0"),
            dump: std::env::var("KILN_DIFF_DUMP").is_ok_and(|v| v != "0"),
            aot_every: env_u64("KILN_DIFF_AOT_EVERY").unwrap_or(10),
            gas_variants: env_u64("KILN_DIFF_GAS_VARIANTS").is_none_or(|v| v != 0),
            revm: match std::env::var("KILN_DIFF_ORACLE").as_deref().map(str::trim) {
                Err(_) | Ok("revm") => true,
                Ok("interp") => false,
                Ok(o) => panic!("KILN_DIFF_ORACLE={o}: expected revm or interp"),
            },
            options: gen::Options {
                big_initcode: std::env::var("KILN_DIFF_BIG_INITCODE").map_or(true, |v| v != "0"),
            },
        }
    }
}

struct Stats {
    cases: u64,
    runs: u64,
    shapes: BTreeMap<&'static str, u64>,
    forks: BTreeMap<&'static str, u64>,
    /// revm's status of every run (the interpreter's without revm).
    statuses: BTreeMap<String, u64>,
    /// Opcodes present (as instructions) in generated code.
    opcodes: [u64; 256],
    jit_compiled: usize,
    jit_failed: usize,
    /// Runs also checked from an AOT library.
    aot_runs: u64,
    /// Runs where one EVM took much longer than the others (not a failure: a lead).
    slow: Vec<String>,
}

impl Default for Stats {
    fn default() -> Self {
        Stats {
            cases: 0,
            runs: 0,
            shapes: BTreeMap::new(),
            forks: BTreeMap::new(),
            statuses: BTreeMap::new(),
            opcodes: [0; 256],
            jit_compiled: 0,
            jit_failed: 0,
            aot_runs: 0,
            slow: Vec::new(),
        }
    }
}

impl Stats {
    fn merge(&mut self, o: &Stats) {
        self.cases += o.cases;
        self.runs += o.runs;
        for (k, v) in &o.shapes {
            *self.shapes.entry(k).or_default() += v;
        }
        for (k, v) in &o.forks {
            *self.forks.entry(k).or_default() += v;
        }
        for (k, v) in &o.statuses {
            *self.statuses.entry(k.clone()).or_default() += v;
        }
        for (a, b) in self.opcodes.iter_mut().zip(o.opcodes.iter()) {
            *a += b;
        }
        self.jit_compiled += o.jit_compiled;
        self.jit_failed += o.jit_failed;
        self.aot_runs += o.aot_runs;
        self.slow.extend(o.slow.iter().cloned());
    }

    fn scan(&mut self, code: &[u8]) {
        let mut i = 0;
        while i < code.len() {
            let o = code[i];
            self.opcodes[o as usize] += 1;
            i += 1 + kiln_frontend::opcode::immediate_size(o);
        }
    }
}

/// Gas limits to run the case with besides the first, from the interpreter's first outcome.
fn gas_variants(
    rng: &mut Rng,
    case: &Case,
    env: &oracle::KilnEnv,
    first: &Outcome,
    gas: u64,
) -> Vec<u64> {
    let spent = match first.status {
        Status::Success => first.gas_used + first.refunded,
        Status::Revert => first.gas_used,
        Status::Halt => gas,
        Status::Invalid | Status::Panic => return vec![],
    };
    let tx = oracle::kiln_tx(case, gas);
    let ig = intrinsic_gas(&tx, case.spec);
    let intrinsic = ig.initial.max(ig.floor);
    let cap = if case.spec.is_enabled_in(SpecId::Osaka) { 1 << 24 } else { 30_000_000 };
    let mut out = Vec::new();
    let n = if rng.percent(20) { 6 } else { 2 };
    for _ in 0..n {
        let g = match rng.below(9) {
            0 => spent,
            1 => spent.saturating_sub(1),
            2 => spent.saturating_sub(rng.range(2, 8)),
            3 => spent.saturating_sub(rng.range(9, 500)),
            4 => intrinsic + rng.range(0, 30),
            5 => intrinsic.saturating_sub(1),
            6 if spent > intrinsic => rng.range(intrinsic, spent),
            7 => spent + rng.range(1, 20_000),
            _ => gas.saturating_sub(rng.range(1, 64)),
        };
        out.push(g.min(cap));
    }
    // The exact boundary: the least gas with which the interpreter still ends as it did with
    // the full limit (bisection; behaviour need not be monotonic in gas, but the result is a
    // point where one more unit of gas changes the status).
    if matches!(first.status, Status::Success | Status::Revert) && rng.percent(15) {
        let status_at = |g: u64| oracle::run_interp(env, &oracle::kiln_tx(case, g)).status;
        let (mut lo, mut hi) = (intrinsic.saturating_sub(1), gas);
        if status_at(lo) != first.status {
            while hi - lo > 1 {
                let mid = lo + (hi - lo) / 2;
                if status_at(mid) == first.status {
                    hi = mid;
                } else {
                    lo = mid;
                }
            }
            out.push(hi);
            out.push(lo);
        }
    }
    out.retain(|&g| g != gas);
    out.sort_unstable();
    out.dedup();
    out
}

fn describe(case: &Case, cfg: &Config, index: u64, gas: u64) -> String {
    let mut s = String::new();
    let shape_env =
        cfg.shape.map(|sh| format!("KILN_DIFF_SHAPE={} ", sh.name())).unwrap_or_default();
    s += &format!(
        "reproduce: {shape_env}KILN_DIFF_SEED={:#x} KILN_DIFF_FIRST={index} KILN_DIFF_CASES=1 \
         cargo test --release --test differential -- --nocapture\n",
        cfg.seed
    );
    s += &format!(
        "shape {}, fork {}, tx type {:?}{}, gas limit {gas}, value {}, nonce {}\n",
        case.shape.name(),
        case.spec.name(),
        case.tx_type,
        if case.create { " (create)" } else { "" },
        case.value,
        case.nonce,
    );
    s += &format!("calldata 0x{}\n", hex::encode(&case.data));
    if !case.access_list.is_empty() {
        s += &format!("access list {:?}\n", case.access_list);
    }
    for a in &case.accounts {
        s += &format!("account {} balance {} nonce {}", a.address, a.balance, a.nonce);
        if !a.storage.is_empty() {
            s += &format!(" storage {:?}", a.storage);
        }
        if !a.code.is_empty() {
            s += &format!("\n  code 0x{}", hex::encode(&a.code));
        }
        s += "\n";
    }
    s
}

/// Runs one case. `Err` is the report of a disagreement.
/// `codes` compiled ahead of time into one library, leaving out what the stack proof refuses
/// (the interpreter runs it), as `kiln statetest --mode aot` builds its libraries.
fn aot_library(codes: impl Iterator<Item = (Vec<u8>, SpecId)>) -> Result<AotLibrary, CompileError> {
    let mut compiler = AotCompiler::new()?;
    for (code, spec) in codes.filter(|(code, _)| !code.is_empty()) {
        match compiler.add(&code, spec) {
            Err(CompileError::UnprovenStack(_)) => {}
            other => other?,
        }
    }
    compiler.into_library()
}

fn run_case(
    cfg: &Config,
    index: u64,
    jit: &mut JitCompiler,
    stats: &mut Stats,
) -> Result<(), String> {
    let mut rng = Rng::for_case(cfg.seed, index);
    let case = gen::case(&mut rng, cfg.options);
    if cfg.shape.is_some_and(|s| s != case.shape) {
        return Ok(());
    }
    stats.cases += 1;
    *stats.shapes.entry(case.shape.name()).or_default() += 1;
    *stats.forks.entry(case.spec.name()).or_default() += 1;
    for a in &case.accounts {
        stats.scan(&a.code);
    }

    if cfg.dump {
        println!("=== case {index} ===\n{}", describe(&case, cfg, index, case.gas_limit));
    }
    let env = oracle::kiln_env(&case);
    let revm_db = oracle::revm_db(&case);
    let mut aot = if cfg.aot_every > 0 && index.is_multiple_of(cfg.aot_every) {
        let codes = case.accounts.iter().map(|a| (a.code.clone(), case.spec));
        Some(aot_library(codes).map_err(|e| format!("case {index}: {e}"))?)
    } else {
        None
    };
    let mut gases = vec![case.gas_limit];
    let mut i = 0;
    while i < gases.len() {
        let gas = gases[i];
        watch(Some((index, gas)));
        let tx = oracle::kiln_tx(&case, gas);
        let t0 = Instant::now();
        let interp = oracle::run_interp(&env, &tx);
        let t1 = Instant::now();
        let jitted = oracle::run_native(jit, &env, &tx);
        let t2 = Instant::now();
        let revm = cfg.revm.then(|| oracle::run_revm(&case, &revm_db, &env.pre, gas));
        let t3 = Instant::now();
        stats.runs += 1;
        let times = [t1 - t0, t2 - t1, t3 - t2];
        if times.iter().any(|t| t.as_millis() >= SLOW_MS) {
            stats.slow.push(format!(
                "case {index} ({}, {}, gas {gas}): interp {:?}, jit {:?}, revm {:?}; \
                 KILN_DIFF_SEED={:#x} KILN_DIFF_FIRST={index} KILN_DIFF_CASES=1",
                case.shape.name(),
                case.spec.name(),
                times[0],
                times[1],
                times[2],
                cfg.seed
            ));
        }
        // The status counted and shown: revm's, or the interpreter's without revm.
        let reference = revm.as_ref().unwrap_or(&interp);
        *stats.statuses.entry(format!("{:?}", reference.status)).or_default() += 1;
        if cfg.verbose {
            println!(
                "case {index} {} {} gas {gas}: {:?} {} ({}) interp {:?} jit {:?} revm {:?}",
                case.shape.name(),
                case.spec.name(),
                reference.status,
                reference.gas_used,
                reference.detail,
                t1 - t0,
                t2 - t1,
                t3 - t2,
            );
        }

        let aot_vs_interp = match aot.as_mut() {
            Some(lib) => {
                stats.aot_runs += 1;
                let out = oracle::run_native(lib, &env, &tx);
                oracle::differences(&interp, &out, true)
            }
            None => Vec::new(),
        };
        if !aot_vs_interp.is_empty() {
            let mut r = format!("=== MISMATCH in case {index} (aot) ===\n");
            r += &describe(&case, cfg, index, gas);
            r += &format!("interp vs aot:  {}\n", aot_vs_interp.join(", "));
            return Err(r);
        }
        let jit_vs_interp = oracle::differences(&interp, &jitted, true);
        let (revm_vs_interp, revm_vs_jit) = match &revm {
            Some(revm) => (
                oracle::differences(revm, &interp, false),
                oracle::differences(revm, &jitted, false),
            ),
            None => (Vec::new(), Vec::new()),
        };
        if !jit_vs_interp.is_empty() || !revm_vs_interp.is_empty() || !revm_vs_jit.is_empty() {
            let mut r = format!("=== MISMATCH in case {index} ===\n");
            r += &describe(&case, cfg, index, gas);
            let list = |d: &[String]| if d.is_empty() { "agree".into() } else { d.join(", ") };
            r += &format!("interp vs jit:  {}\n", list(&jit_vs_interp));
            if revm.is_some() {
                r += &format!("revm vs interp: {}\n", list(&revm_vs_interp));
                r += &format!("revm vs jit:    {}\n", list(&revm_vs_jit));
            }
            r += &format!("interp: {}\n", interp.summary());
            r += &format!("jit:    {}\n", jitted.summary());
            if let Some(revm) = &revm {
                r += &format!("revm:   {}\n", revm.summary());
            }
            return Err(r);
        }
        if i == 0 && cfg.gas_variants {
            gases.extend(gas_variants(&mut rng, &case, &env, &interp, gas));
        }
        i += 1;
    }
    Ok(())
}

/// The case and gas limit each batch thread is running, and since when.
static RUNNING: Mutex<Vec<(std::thread::ThreadId, u64, u64, Instant)>> = Mutex::new(Vec::new());

/// Records what this thread runs (`None`: nothing).
fn watch(what: Option<(u64, u64)>) {
    let me = std::thread::current().id();
    let mut running = RUNNING.lock().unwrap();
    running.retain(|r| r.0 != me);
    if let Some((index, gas)) = what {
        running.push((me, index, gas, Instant::now()));
    }
}

/// Exits the process when a case runs longer than `limit`: a hang (a loop the compiled code
/// never charges gas for, say) would otherwise hold the test until CI gives up, and the
/// thread running it cannot be stopped.
fn watchdog(cfg: &Config, limit: Duration) {
    let cfg = cfg.clone();
    std::thread::spawn(move || loop {
        std::thread::sleep(Duration::from_millis(500));
        let running = RUNNING.lock().unwrap();
        if let Some(&(_, index, gas, since)) = running.iter().find(|r| r.3.elapsed() > limit) {
            let shape =
                cfg.shape.map(|sh| format!("KILN_DIFF_SHAPE={} ", sh.name())).unwrap_or_default();
            eprintln!(
                "=== HANG in case {index} ===\ngas limit {gas}: still running after {:.0?} \
                 (KILN_DIFF_TIMEOUT={})\nreproduce: {shape}KILN_DIFF_SEED={:#x} \
                 KILN_DIFF_FIRST={index} KILN_DIFF_CASES=1 cargo test --release --test \
                 differential -- --nocapture",
                since.elapsed(),
                limit.as_secs(),
                cfg.seed
            );
            std::process::exit(1);
        }
    });
}

fn run_batch(
    cfg: &Config,
    range: std::ops::Range<u64>,
    failures: &Mutex<Vec<String>>,
    stop: &AtomicBool,
) -> Stats {
    let mut stats = Stats::default();
    let mut jit = JitCompiler::new().expect("JIT available");
    for index in range {
        if stop.load(Ordering::Relaxed) {
            break;
        }
        let result = run_case(cfg, index, &mut jit, &mut stats);
        watch(None);
        if let Err(report) = result {
            eprintln!("{report}");
            let mut f = failures.lock().unwrap();
            f.push(report);
            if f.len() >= cfg.max_failures {
                stop.store(true, Ordering::Relaxed);
            }
        }
    }
    stats.jit_compiled = jit.stats().compiled;
    stats.jit_failed = jit.stats().failed;
    stats
}

#[test]
fn interp_jit_aot_and_revm_agree_on_random_programs() {
    let cfg = Config::from_env();
    if let Some(limit) = cfg.timeout {
        watchdog(&cfg, limit);
    }
    let start = Instant::now();
    let failures = Arc::new(Mutex::new(Vec::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let total = Arc::new(Mutex::new(Stats::default()));
    let next = Arc::new(AtomicUsize::new(0));
    let batches: Vec<_> = (0..cfg.cases.div_ceil(BATCH))
        .map(|b| {
            let lo = cfg.first + b * BATCH;
            lo..(lo + BATCH).min(cfg.first + cfg.cases)
        })
        .collect();
    let batches = Arc::new(batches);

    // Each batch gets a fresh JIT (compiled code is never freed while its module lives) on a
    // fresh thread; `threads` workers take batches in turn.
    let workers: Vec<_> = (0..cfg.threads)
        .map(|_| {
            let (cfg, failures, stop, total, next, batches) = (
                cfg.clone(),
                failures.clone(),
                stop.clone(),
                total.clone(),
                next.clone(),
                batches.clone(),
            );
            std::thread::spawn(move || loop {
                let b = next.fetch_add(1, Ordering::Relaxed);
                let Some(range) = batches.get(b).cloned() else { break };
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                let (cfg2, failures2, stop2) = (cfg.clone(), failures.clone(), stop.clone());
                let stats = std::thread::spawn(move || run_batch(&cfg2, range, &failures2, &stop2))
                    .join()
                    .expect("batch thread");
                total.lock().unwrap().merge(&stats);
            })
        })
        .collect();
    for w in workers {
        w.join().expect("worker");
    }

    let stats = total.lock().unwrap();
    let elapsed = start.elapsed();
    println!(
        "differential: {} cases, {} runs of each of interp/jit/revm in {:.1} s (seed {:#x}, first {})",
        stats.cases,
        stats.runs,
        elapsed.as_secs_f64(),
        cfg.seed,
        cfg.first
    );
    println!("  shapes: {:?}", stats.shapes);
    println!("  forks: {:?}", stats.forks);
    println!("  outcomes: {:?}", stats.statuses);
    println!("  JIT: {} contracts compiled, {} refused", stats.jit_compiled, stats.jit_failed);
    println!("  AOT: {} runs checked from shared objects", stats.aot_runs);
    if cfg.aot_every > 0 && stats.cases >= cfg.aot_every {
        assert!(stats.aot_runs > 0, "AOT was asked for but never ran");
    }
    if !stats.slow.is_empty() {
        println!("  slow runs (over {SLOW_MS} ms):");
        for s in &stats.slow {
            println!("    {s}");
        }
    }
    let missing: Vec<&str> = (0..=255u8)
        .filter_map(|o| kiln_frontend::opcode::info_in(o, SpecId::Osaka).map(|i| (o, i)))
        .filter(|(o, _)| stats.opcodes[*o as usize] == 0)
        .map(|(_, i)| i.name)
        .collect();
    println!(
        "  opcodes of Osaka never generated: {}",
        if missing.is_empty() { "none".to_string() } else { missing.join(" ") }
    );

    let failures = failures.lock().unwrap();
    assert!(
        failures.is_empty(),
        "{} case(s) disagree (reports above); first:\n{}",
        failures.len(),
        failures[0]
    );
}
