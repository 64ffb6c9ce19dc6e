//! Compile time against contract size: every distinct contract of the benchmark fixtures
//! (`kiln bench`'s embedded set, or `$KILN_BENCH_FIXTURES`), compiled by the JIT and by the
//! AOT compiler (object file only: the `cc` link is a fixed cost that `kiln bench` reports
//! within AOT compile time). Benchmarks are `jit/BYTES` and `aot/BYTES` with byte throughput,
//! so the report reads as compile speed per contract size.

mod common;

use std::time::Duration;

use alloy_primitives::Bytes;
use criterion::{criterion_group, criterion_main, BatchSize, BenchmarkId, Criterion, Throughput};
use kiln_codegen::{AotCompiler, JitCompiler};
use tools::bench;

/// The `kiln` tool's code, private to the binary, compiled into this benchmark as well.
#[allow(dead_code, unused_imports)]
#[path = "../src/tools/mod.rs"]
mod tools;

fn contracts() -> Vec<Bytes> {
    let (fixtures, errors) = bench::inputs::load(&common::selected_paths());
    if let Some(e) = errors.first() {
        panic!("cannot load benchmark fixture {e}");
    }
    let mut codes: Vec<Bytes> =
        fixtures.iter().flat_map(|(_, f)| f.contracts()).map(|(_, c)| c).collect();
    codes.sort_by_key(|c| (c.len(), c.clone()));
    codes.dedup();
    codes
}

fn compile(c: &mut Criterion) {
    let spec = bench::DEFAULT_SPEC;
    let codes = contracts();
    let mut group = c.benchmark_group("compile");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(1));
    for code in &codes {
        group.throughput(Throughput::Bytes(code.len() as u64));
        // A fresh compiler per iteration (made outside the timed section): the JIT caches.
        group.bench_with_input(BenchmarkId::new("jit", code.len()), code, |b, code| {
            b.iter_batched(
                || JitCompiler::new().expect("host supported"),
                |mut jit| {
                    jit.compile(code, spec).expect("compiles");
                    jit
                },
                BatchSize::PerIteration,
            )
        });
        group.bench_with_input(BenchmarkId::new("aot", code.len()), code, |b, code| {
            b.iter_batched(
                || AotCompiler::new().expect("host supported"),
                |mut aot| {
                    aot.add(code, spec).expect("compiles");
                    aot.finish().expect("object written")
                },
                BatchSize::PerIteration,
            )
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().without_plots();
    targets = compile
}
criterion_main!(benches);
