//! The blockchain-test runner (issue 19; plan in `docs/blocks.md`): execution-spec-tests
//! `blockchain_test` fixtures, chains of blocks from a genesis and a pre-state.
//!
//! - [`fixture`]: the JSON format as serde types;
//! - [`chain`]: a test's network and config as the library's `ChainConfig`;
//! - [`decode`]: each block's `rlp` decoded with alloy-consensus, and compared with the
//!   fixture's JSON decoding of it;
//! - [`run`]: one test through the library's prototype executor;
//! - [`runner`]: a file's tests as a [`crate::tools::suite::Suite`], which `kiln blocktest`
//!   (`src/cli/blocktest.rs`) runs as `kiln statetest` runs state tests.
//!
//! Some of this is used only by the tests (the JSON decodings, the comparisons), hence the
//! allowance.
#![allow(dead_code)]

pub mod chain;
pub mod decode;
pub mod fixture;
pub mod run;
pub mod runner;

/// The shared blockchain tests: `$KILN_BLOCK_FIXTURES`, default
/// `../shared/fixtures/blockchain_tests` beside the repository.
#[cfg(test)]
pub(crate) fn fixtures_dir() -> std::path::PathBuf {
    match std::env::var_os("KILN_BLOCK_FIXTURES") {
        Some(dir) => std::path::PathBuf::from(dir),
        None => std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../shared/fixtures/blockchain_tests"),
    }
}

/// The end of a test that walked every shared fixture: prints what it counted and fails
/// with the first problems it found, if any.
#[cfg(test)]
pub(crate) fn report_walk(counts: &std::collections::BTreeMap<&str, usize>, problems: &[String]) {
    for (what, n) in counts {
        println!("{what}: {n}");
    }
    let shown = problems.len().min(40);
    assert!(
        problems.is_empty(),
        "{} problem(s), the first {shown}:\n{}",
        problems.len(),
        problems[..shown].join("\n")
    );
}
