//! Kiln: an ahead-of-time and just-in-time EVM-to-native compiler built on Cranelift.
//!
//! This crate ties the pipeline crates together and hosts what the `kiln` tool needs:
//! - [`statetest`]: runs execution-spec-tests state-test fixtures;
//! - [`disasm`]: a bytecode disassembler;
//! - [`input`]: reading bytecode given on the command line;
//! - [`mode`]: how code is executed (interpreter today; JIT, AOT and tiered later);
//! - [`run`]: running bytecode as a contract called by a funded sender (`kiln run`);
//! - [`bench`]: differential benchmarking of the modes against each other and revm.

pub use kiln_frontend::disasm;
pub mod bench;
pub mod exec;
pub mod fixture;
pub mod input;
pub mod mode;
pub mod run;
pub mod statetest;

pub use mode::Mode;
