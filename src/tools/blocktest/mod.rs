//! The blockchain-test runner (issue 19; plan in `docs/blocks.md`): execution-spec-tests
//! `blockchain_test` fixtures, chains of blocks from a genesis and a pre-state.
//!
//! - [`fixture`]: the JSON format as serde types.
//!
//! Not yet wired into the `kiln` command line, hence the allowance for unused code.
#![allow(dead_code)]

pub mod fixture;
