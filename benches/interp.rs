//! Kiln's interpreter against revm's on the benchmark fixtures.
//!
//! Fixtures: every `.json` file under `$KILN_BENCH_FIXTURES` (default `../shared/benchmarks`,
//! i.e. `contracts/` and `evmone-suite/`), run under Prague (the fixtures' gas limits exceed
//! Osaka's EIP-7825 cap).
//!
//! Before anything is timed, every fixture runs once through both EVMs and their results are
//! compared per transaction (status, gas used, output, logs); any disagreement, or a
//! transaction either EVM rejects, aborts the benchmark with the list of them.
//!
//! Then each fixture is a group with `kiln_interp` and `revm_interp`, each timing the
//! fixture's transactions on a fresh copy of the pre-state (copied outside the timed section).
//! Both sides run as a node would from block to block: revm reuses one EVM per fixture (its
//! database swapped for the fresh copy inside the timed section, which is a pointer move) and
//! has its bytecode analyzed when the pre-state's `Bytecode` was built; Kiln keeps one
//! `CodeCache` per fixture across iterations.
//!
//! Sampling is kept short (10 samples, 2 s, flat for runs over 20 ms) so that the whole run
//! takes about four minutes on two cores; onchain-lm-v2 (about 1 s a run) is the longest.
//! Fixtures whose single run takes longer than three seconds are verified but not timed unless
//! `KILN_BENCH_ALL=1`.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::fixtures_dir;
use common::revm_adapter::{self, disagreement, Outcome, RevmFixture};
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, SamplingMode};
use kiln::fixture::{collect_fixture_files, load_file, run_kiln, run_kiln_on, BenchFixture};
use kiln_runtime::{CodeCache, SpecId};

const KILN_SPEC: SpecId = SpecId::Prague;
const REVM_SPEC: revm::primitives::hardfork::SpecId = revm::primitives::hardfork::SpecId::PRAGUE;

/// Runs slower than this are verified but not timed (unless `KILN_BENCH_ALL=1`).
const MAX_TIMED_RUN: Duration = Duration::from_secs(3);
/// Runs slower than this are sampled flat (one iteration per sample) to bound the time.
const FLAT_SAMPLING_FROM: Duration = Duration::from_millis(20);
/// Pre-states with more storage slots than this are cloned one per iteration.
const LARGE_STATE_SLOTS: usize = 10_000;

struct Prepared {
    /// `directory/fixture`, e.g. `contracts/snailtracer`, `evmone-suite/swap_math/spent`.
    group: String,
    fixture: BenchFixture,
    revm: RevmFixture,
    /// Wall time of one Kiln run during verification (cold code cache).
    kiln_run: Duration,
    slots: usize,
}

/// Loads every fixture and checks that Kiln and revm agree on it; panics listing every
/// disagreement otherwise.
fn prepare_all(dir: &Path) -> Vec<Prepared> {
    let files = collect_fixture_files(&[dir.to_path_buf()])
        .unwrap_or_else(|e| panic!("benchmark fixtures: {e}"));
    let mut prepared = Vec::new();
    let mut problems = Vec::new();
    for file in files {
        let dir_name = file
            .parent()
            .and_then(Path::file_name)
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let fixtures =
            load_file(&file).unwrap_or_else(|e| panic!("cannot load benchmark fixture {e}"));
        for fixture in fixtures {
            let group = format!("{dir_name}/{}", fixture.name);
            let revm = revm_adapter::prepare(&fixture, REVM_SPEC)
                .unwrap_or_else(|e| panic!("{group}: cannot translate for revm: {e}"));

            let start = Instant::now();
            let kiln_results = run_kiln(&fixture, KILN_SPEC);
            let kiln_run = start.elapsed();
            let start = Instant::now();
            let mut evm = revm_adapter::build_evm(&revm, REVM_SPEC);
            let revm_results = revm_adapter::run(&mut evm, revm.txs.clone());
            let revm_run = start.elapsed();

            let mut summaries = Vec::new();
            for (i, (k, r)) in kiln_results.iter().zip(&revm_results).enumerate() {
                let (k, r) = (Outcome::from_kiln(k), Outcome::from_revm(r));
                if let Some(diff) = disagreement(&k, &r) {
                    problems.push(format!("{group} ({}) tx {i}: {diff}", file.display()));
                } else if k.status == "invalid" {
                    problems.push(format!(
                        "{group} ({}) tx {i}: rejected by both EVMs, nothing to time: {}",
                        file.display(),
                        k.detail
                    ));
                }
                summaries.push(format!("{} gas {}", k.status, k.gas_used));
            }
            println!(
                "verified {group}: {} tx [{}] kiln {:.3} ms, revm {:.3} ms (one cold run)",
                kiln_results.len(),
                summaries.join(", "),
                kiln_run.as_secs_f64() * 1e3,
                revm_run.as_secs_f64() * 1e3,
            );
            let slots = fixture.pre.accounts().map(|(_, a)| a.storage.len()).sum();
            prepared.push(Prepared { group, fixture, revm, kiln_run, slots });
        }
    }
    if !problems.is_empty() {
        panic!(
            "Kiln and revm disagree (a correctness bug, not a benchmark result) on {} \
             transaction(s):\n  {}",
            problems.len(),
            problems.join("\n  ")
        );
    }
    println!("verification: Kiln and revm agree on all {} fixtures", prepared.len());
    prepared
}

fn interp(c: &mut Criterion) {
    let dir = fixtures_dir();
    if !dir.is_dir() {
        eprintln!(
            "benchmark fixtures not found at {} (set KILN_BENCH_FIXTURES); nothing to run",
            dir.display()
        );
        return;
    }
    let run_all = std::env::var_os("KILN_BENCH_ALL").is_some_and(|v| v == "1");
    for p in prepare_all(&dir) {
        if p.kiln_run > MAX_TIMED_RUN && !run_all {
            println!(
                "skipping {}: one run takes {:.2} s (set KILN_BENCH_ALL=1 to time it)",
                p.group,
                p.kiln_run.as_secs_f64()
            );
            continue;
        }
        let mut group = c.benchmark_group(&p.group);
        group
            .sample_size(10)
            .warm_up_time(Duration::from_millis(500))
            .measurement_time(Duration::from_secs(2));
        if p.kiln_run > FLAT_SAMPLING_FROM {
            group.sampling_mode(SamplingMode::Flat);
        }
        let batch =
            if p.slots > LARGE_STATE_SLOTS { BatchSize::LargeInput } else { BatchSize::SmallInput };

        let cfg = p.fixture.cfg(KILN_SPEC);
        let mut cache = CodeCache::default();
        group.bench_function("kiln_interp", |b| {
            b.iter_batched(
                || p.fixture.pre.clone(),
                |mut db| {
                    let results = run_kiln_on(&p.fixture, &cfg, &mut db, &mut cache);
                    // Returned so that dropping them is not timed.
                    (db, results)
                },
                batch,
            )
        });
        let mut evm = revm_adapter::build_evm(&p.revm, REVM_SPEC);
        group.bench_function("revm_interp", |b| {
            b.iter_batched(
                || (p.revm.db.clone(), p.revm.txs.clone()),
                |(db, txs)| {
                    let used = revm_adapter::swap_db(&mut evm, db);
                    let results = revm_adapter::run(&mut evm, txs);
                    (used, results)
                },
                batch,
            )
        });
        group.finish();
    }
}

criterion_group! {
    name = benches;
    // Plots cost about a second per benchmark; the numbers are in the terminal and in
    // target/criterion/*/new/estimates.json.
    config = Criterion::default().without_plots();
    targets = interp
}
criterion_main!(benches);
