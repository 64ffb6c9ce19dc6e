//! A plain driver over the benchmark fixtures, for profilers and for a quick comparison that
//! is robust on a busy machine (criterion's medians are not: other processes inflate them).
//!
//! ```text
//! cargo bench --bench profile -- [--compare | --kiln | --revm] [--mode M] [--iters N] [FILTER...]
//! ```
//!
//! - `--compare` (default): for each fixture, runs Kiln and revm alternately `N` times
//!   (default 15) and prints a table of the minimum and median per EVM and the ratio of the
//!   minimums. Interleaving and the minimum keep load from other processes out of the ratio.
//! - `--kiln` / `--revm`: runs only that EVM `N` times (default 10) per fixture, nothing else,
//!   for `valgrind --tool=callgrind` or `perf record` on the binary.
//! - `--mode interp|jit|aot`: Kiln's mode (default interp).
//!
//! FILTER selects fixtures whose name contains it (all when none is given). The fixtures are
//! `$KILN_BENCH_FIXTURES` or `../shared/benchmarks`; runs are `kiln bench`'s workloads (fresh
//! pre-state per run, warm code, a reused revm EVM), under Prague.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::fixtures_dir;
use tools::bench::table::show_duration;
use tools::bench::{self, Engine, Runner};

/// The `kiln` tool's code, private to the binary, compiled into this benchmark as well.
#[allow(dead_code, unused_imports)]
#[path = "../src/tools/mod.rs"]
mod tools;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Choice {
    Compare,
    Kiln,
    Revm,
}

fn main() {
    let mut choice = Choice::Compare;
    let mut kiln_mode = "interp".to_string();
    let mut iters: Option<usize> = None;
    let mut filters = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--compare" => choice = Choice::Compare,
            "--kiln" => choice = Choice::Kiln,
            "--revm" => choice = Choice::Revm,
            "--mode" => kiln_mode = args.next().unwrap_or_else(|| panic!("--mode needs a name")),
            "--iters" => {
                let n = args.next().and_then(|n| n.parse().ok());
                iters = Some(n.unwrap_or_else(|| panic!("--iters needs a number")));
            }
            // `cargo bench` passes `--bench`; other harness flags are not ours either.
            a if a.starts_with("--") => {}
            filter => filters.push(filter.to_string()),
        }
    }
    let iters = iters.unwrap_or(if choice == Choice::Compare { 15 } else { 10 }).max(1);
    let kiln = Engine::parse(&kiln_mode).unwrap_or_else(|e| panic!("{e}"));

    let (fixtures, errors) = bench::inputs::load(&[fixtures_dir()]);
    if let Some(e) = errors.first() {
        panic!("{e} (set KILN_BENCH_FIXTURES)");
    }
    let runner = |engine, fixture: &Arc<_>| {
        Runner::new(engine, Arc::clone(fixture), bench::DEFAULT_SPEC)
            .unwrap_or_else(|e| panic!("{engine}: {e}"))
    };
    if choice == Choice::Compare {
        println!("| fixture | kiln min | revm min | kiln/revm (min) | kiln median | revm median |");
        println!("| --- | ---: | ---: | ---: | ---: | ---: |");
    }
    for (name, fixture) in fixtures {
        if !filters.is_empty() && !filters.iter().any(|f| name.contains(f.as_str())) {
            continue;
        }
        let fixture = Arc::new(fixture);
        match choice {
            Choice::Kiln | Choice::Revm => {
                let engine = if choice == Choice::Kiln { kiln } else { Engine::Revm };
                let mut r = runner(engine, &fixture);
                let total: Duration = (0..iters).map(|_| r.workload().run_once()).sum();
                eprintln!("{name}: {iters} runs, {} each", show_duration(total / iters as u32));
            }
            Choice::Compare => {
                let mut k = runner(kiln, &fixture);
                let mut r = runner(Engine::Revm, &fixture);
                // One untimed run of each warms the code cache and the allocator.
                k.workload().run_once();
                r.workload().run_once();
                let (mut kt, mut rt) = (Vec::new(), Vec::new());
                for _ in 0..iters {
                    kt.push(k.workload().run_once());
                    rt.push(r.workload().run_once());
                }
                kt.sort();
                rt.sort();
                let ratio = kt[0].as_secs_f64() / rt[0].as_secs_f64();
                println!(
                    "| {name} | {} | {} | {ratio:.2}{} | {} | {} |",
                    show_duration(kt[0]),
                    show_duration(rt[0]),
                    if ratio > 1.5 { " (>1.5)" } else { "" },
                    show_duration(kt[iters / 2]),
                    show_duration(rt[iters / 2]),
                );
            }
        }
    }
}
