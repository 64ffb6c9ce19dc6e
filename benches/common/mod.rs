//! Code shared by the benchmarks.

// Each bench target compiles this module separately and may not use every item.
#![allow(dead_code)]

use std::path::PathBuf;

/// The benchmark fixtures: `$KILN_BENCH_FIXTURES`, or `../shared/benchmarks` next to the
/// workspace.
pub fn fixtures_dir() -> PathBuf {
    match std::env::var_os("KILN_BENCH_FIXTURES") {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/benchmarks"),
    }
}

/// What the `modes` and `compile` benchmarks run: `$KILN_BENCH_FIXTURES` when set, else
/// `kiln bench`'s embedded set (an empty list).
pub fn selected_paths() -> Vec<PathBuf> {
    std::env::var_os("KILN_BENCH_FIXTURES").map(|dir| vec![PathBuf::from(dir)]).unwrap_or_default()
}
