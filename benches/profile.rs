//! A plain driver over the benchmark fixtures, for profilers and for a quick comparison that
//! is robust on a busy machine (criterion's medians are not: other processes inflate them).
//!
//! ```text
//! cargo bench --bench profile -- [--compare | --kiln | --revm] [--iters N] [FILTER...]
//! ```
//!
//! - `--compare` (default): for each fixture, runs Kiln and revm alternately `N` times
//!   (default 15) and prints a table of the minimum and median per EVM and the ratio of the
//!   minimums. Interleaving and the minimum keep load from other processes out of the ratio.
//! - `--kiln` / `--revm`: runs only that EVM `N` times (default 10) per fixture, nothing else,
//!   for `valgrind --tool=callgrind` or `perf record` on the binary.
//!
//! FILTER selects fixtures whose `directory/name` contains it (all when none is given). The
//! fixtures are `$KILN_BENCH_FIXTURES` or `../shared/benchmarks`; both EVMs run under Prague
//! with warm code analysis and a reused revm EVM, as in the `interp` benchmark.

mod common;

use std::time::{Duration, Instant};

use common::fixtures_dir;
use kiln::bench::revm::{self as revm_adapter, RevmEvm, RevmFixture};
use kiln::fixture::{collect_fixture_files, load_file, run_kiln_on, BenchFixture};
use kiln_runtime::{CodeCache, SpecId};

const KILN_SPEC: SpecId = SpecId::Prague;
const REVM_SPEC: revm::primitives::hardfork::SpecId = revm::primitives::hardfork::SpecId::PRAGUE;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Compare,
    Kiln,
    Revm,
}

struct Prepared {
    group: String,
    fixture: BenchFixture,
    revm: RevmFixture,
    /// Kept across runs, as is Kiln's code cache; each run gets a fresh copy of the pre-state.
    evm: RevmEvm,
    cache: CodeCache,
}

impl Prepared {
    fn time_kiln(&mut self) -> Duration {
        let cfg = self.fixture.cfg(KILN_SPEC);
        let mut db = self.fixture.pre.clone();
        let start = Instant::now();
        let results = run_kiln_on(&self.fixture, &cfg, &mut db, &mut self.cache);
        let elapsed = start.elapsed();
        assert!(results.iter().all(Result::is_ok), "{}: Kiln rejected a transaction", self.group);
        drop((db, results));
        elapsed
    }

    fn time_revm(&mut self) -> Duration {
        let db = self.revm.db.clone();
        let txs = self.revm.txs.clone();
        let start = Instant::now();
        let used = revm_adapter::swap_db(&mut self.evm, db);
        let results = revm_adapter::run(&mut self.evm, txs);
        let elapsed = start.elapsed();
        assert!(results.iter().all(Result::is_ok), "{}: revm rejected a transaction", self.group);
        drop((used, results));
        elapsed
    }
}

fn main() {
    let mut mode = Mode::Compare;
    let mut iters: Option<usize> = None;
    let mut filters = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--compare" => mode = Mode::Compare,
            "--kiln" => mode = Mode::Kiln,
            "--revm" => mode = Mode::Revm,
            "--iters" => {
                let n = args.next().and_then(|n| n.parse().ok());
                iters = Some(n.unwrap_or_else(|| panic!("--iters needs a number")));
            }
            // `cargo bench` passes `--bench`; other harness flags are not ours either.
            a if a.starts_with("--") => {}
            filter => filters.push(filter.to_string()),
        }
    }
    let iters = iters.unwrap_or(if mode == Mode::Compare { 15 } else { 10 }).max(1);

    let dir = fixtures_dir();
    if !dir.is_dir() {
        eprintln!("benchmark fixtures not found at {} (set KILN_BENCH_FIXTURES)", dir.display());
        return;
    }
    let files = collect_fixture_files(&[dir]).unwrap_or_else(|e| panic!("{e}"));
    let mut prepared = Vec::new();
    for file in files {
        let dir_name = file
            .parent()
            .and_then(|p| p.file_name())
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        for fixture in load_file(&file).unwrap_or_else(|e| panic!("{e}")) {
            let group = format!("{dir_name}/{}", fixture.name);
            if !filters.is_empty() && !filters.iter().any(|f| group.contains(f.as_str())) {
                continue;
            }
            let revm = revm_adapter::prepare(&fixture, REVM_SPEC)
                .unwrap_or_else(|e| panic!("{group}: {e}"));
            let evm = revm_adapter::build_evm(&revm, REVM_SPEC);
            prepared.push(Prepared { group, fixture, revm, evm, cache: CodeCache::default() });
        }
    }

    match mode {
        Mode::Kiln | Mode::Revm => {
            for p in &mut prepared {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    total += if mode == Mode::Kiln { p.time_kiln() } else { p.time_revm() };
                }
                eprintln!("{}: {iters} runs, {:.3} ms each", p.group, ms(total) / iters as f64);
            }
        }
        Mode::Compare => {
            println!(
                "| fixture | kiln min | revm min | kiln/revm (min) | kiln median | revm median |"
            );
            println!("| --- | ---: | ---: | ---: | ---: | ---: |");
            for p in &mut prepared {
                // One untimed run of each warms the code cache and the allocator.
                p.time_kiln();
                p.time_revm();
                let mut kiln = Vec::with_capacity(iters);
                let mut revm = Vec::with_capacity(iters);
                for _ in 0..iters {
                    kiln.push(p.time_kiln());
                    revm.push(p.time_revm());
                }
                kiln.sort();
                revm.sort();
                let ratio = ms(kiln[0]) / ms(revm[0]);
                println!(
                    "| {} | {} | {} | {ratio:.2}{} | {} | {} |",
                    p.group,
                    show(kiln[0]),
                    show(revm[0]),
                    if ratio > 1.5 { " (>1.5)" } else { "" },
                    show(kiln[iters / 2]),
                    show(revm[iters / 2]),
                );
            }
        }
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn show(d: Duration) -> String {
    let ns = d.as_nanos() as f64;
    if ns >= 1e6 {
        format!("{:.3} ms", ns / 1e6)
    } else {
        format!("{:.2} µs", ns / 1e3)
    }
}
