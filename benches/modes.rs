//! Criterion over the same workloads and modes as `kiln bench`: the embedded set (or every
//! fixture under `$KILN_BENCH_FIXTURES`), each in interp, jit, aot and revm, plus the native
//! limit row where a fixture has one.
//!
//! Every fixture is first checked exactly as `kiln bench` checks it (all modes agree on
//! status, gas, output, logs and state root); a disagreement aborts the benchmark. Each mode
//! is a benchmark `FIXTURE/MODE` timing one run of the fixture's transactions on a fresh copy
//! of the pre-state, the copy made outside the timed section (`iter_custom` with
//! `tools::bench::Workload`, the same code `kiln bench` times). Compile time is the `compile`
//! benchmark's subject, not this one's.

mod common;

use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, SamplingMode};
use tools::bench::{self, Engine, Options, Workload};

/// The `kiln` tool's code, private to the binary, compiled into this benchmark as well.
#[allow(dead_code, unused_imports)]
#[path = "../src/tools/mod.rs"]
mod tools;

/// Runs slower than this are sampled flat (one iteration per sample) to bound the time.
const FLAT_SAMPLING_FROM: Duration = Duration::from_millis(20);

fn bench_workload(
    group: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    id: &str,
    work: &mut dyn Workload,
) {
    let one_run = work.run_once();
    group.sampling_mode(if one_run > FLAT_SAMPLING_FROM {
        SamplingMode::Flat
    } else {
        SamplingMode::Auto
    });
    group.bench_function(id, |b| b.iter_custom(|iters| (0..iters).map(|_| work.run_once()).sum()));
}

fn modes(c: &mut Criterion) {
    let opts = Options { engines: Engine::all(), spec: bench::DEFAULT_SPEC, time: Duration::ZERO };
    let (fixtures, errors) = bench::inputs::load(&common::selected_paths());
    if let Some(e) = errors.first() {
        panic!("cannot load benchmark fixture {e}");
    }
    for (name, fixture) in fixtures {
        let mut verified = bench::verify(fixture, name, &opts).unwrap_or_else(|r| {
            panic!("{}: modes disagree (a correctness bug):\n  {}", r.name, r.problems.join("\n  "))
        });
        let mut group = c.benchmark_group(&verified.name);
        group
            .sample_size(10)
            .warm_up_time(Duration::from_millis(500))
            .measurement_time(Duration::from_secs(2));
        for (engine, runner) in &mut verified.runners {
            bench_workload(&mut group, engine.name(), runner.workload());
        }
        if let Some(mut limit) = verified.native {
            bench_workload(&mut group, "native", &mut limit);
        }
        group.finish();
    }
}

criterion_group! {
    name = benches;
    // Plots cost about a second per benchmark; the numbers are in the terminal and in
    // target/criterion/*/new/estimates.json.
    config = Criterion::default().without_plots();
    targets = modes
}
criterion_main!(benches);
