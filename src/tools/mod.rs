//! What the `kiln` tool runs, private to the binary: the library's users need none of it.
//!
//! - [`statetest`]: runs execution-spec-tests state-test fixtures;
//! - [`blocktest`]: runs execution-spec-tests blockchain-test fixtures (issue 19);
//! - [`suite`]: what both runners share (files, threads, panics, AOT libraries per file, the
//!   known-failures list, the report);
//! - [`fixture`]: benchmark workloads (transaction fixtures and state tests);
//! - [`bench`]: differential benchmarking of the modes against each other and revm;
//! - [`run`]: running bytecode as a contract called by a funded sender (`kiln run`);
//! - [`mode`] and [`exec`]: how code is executed (interpreter, JIT, AOT, tiered) and the one
//!   place a mode maps to an executor;
//! - [`input`]: reading bytecode given on the command line.
//!
//! Integration tests and benchmarks that drive these include this tree with
//! `#[path = "../src/tools/mod.rs"] mod tools;`.

pub mod bench;
pub mod blocktest;
pub mod exec;
pub mod fixture;
pub mod input;
pub mod mode;
pub mod run;
pub mod statetest;
pub mod suite;
