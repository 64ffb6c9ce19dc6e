//! Code shared by the benchmarks: where the fixtures are, and the revm side of the comparison.

// Each bench target compiles this module separately and may not use every item.
#![allow(dead_code)]

pub mod revm_adapter;

use std::path::PathBuf;

/// The benchmark fixtures: `$KILN_BENCH_FIXTURES`, or `../shared/benchmarks` next to the
/// workspace.
pub fn fixtures_dir() -> PathBuf {
    match std::env::var_os("KILN_BENCH_FIXTURES") {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/benchmarks"),
    }
}
