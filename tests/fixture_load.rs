//! Every benchmark fixture loads and runs through Kiln with a result for every transaction
//! (success, revert or halt; never a rejected transaction or a runtime error).
//!
//! Fixtures: `$KILN_BENCH_FIXTURES`, default `../shared/benchmarks`; the test is skipped with
//! a note when the directory is absent.

use std::path::PathBuf;

use kiln::fixture::{collect_fixture_files, load_file, run_kiln};
use kiln_runtime::SpecId;

fn fixtures_dir() -> PathBuf {
    match std::env::var_os("KILN_BENCH_FIXTURES") {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/benchmarks"),
    }
}

#[test]
fn every_benchmark_fixture_loads_and_runs() {
    let dir = fixtures_dir();
    if !dir.is_dir() {
        println!("note: {} is absent; skipping the benchmark-fixture test", dir.display());
        return;
    }
    let files = collect_fixture_files(std::slice::from_ref(&dir)).expect("listing the fixtures");
    assert!(!files.is_empty(), "no .json files under {}", dir.display());

    let mut failures = Vec::new();
    let mut fixtures_run = 0;
    for file in &files {
        let fixtures = match load_file(file) {
            Ok(fixtures) => fixtures,
            Err(e) => {
                failures.push(format!("load: {e}"));
                continue;
            }
        };
        for fixture in fixtures {
            fixtures_run += 1;
            let results = run_kiln(&fixture, SpecId::Prague);
            assert_eq!(results.len(), fixture.txs.len());
            for (i, result) in results.iter().enumerate() {
                match result {
                    Ok(r) => println!(
                        "{} {} tx {i}: {} gas {}",
                        file.display(),
                        fixture.name,
                        if r.is_success() { "success" } else { "not success" },
                        r.gas_used()
                    ),
                    Err(e) => {
                        failures.push(format!("{} {} tx {i}: {e}", file.display(), fixture.name))
                    }
                }
            }
        }
    }
    assert!(failures.is_empty(), "{} problem(s):\n{}", failures.len(), failures.join("\n"));
    println!("{fixtures_run} fixtures from {} files ran", files.len());
}
