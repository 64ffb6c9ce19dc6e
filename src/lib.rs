//! Kiln: an ahead-of-time and just-in-time EVM-to-native compiler built on Cranelift.
//!
//! This crate ties the pipeline crates together and hosts what the `kiln` tool needs:
//! - [`statetest`]: runs execution-spec-tests state-test fixtures;
//! - [`disasm`]: a bytecode disassembler;
//! - [`input`]: reading bytecode given on the command line;
//! - [`evm`]: [`Evm`], the library API: transactions over a database with tiered execution;
//! - [`mode`]: how code is executed (interpreter, JIT, AOT, tiered);
//! - [`run`]: running bytecode as a contract called by a funded sender (`kiln run`);
//! - [`bench`]: differential benchmarking of the modes against each other and revm.

pub use kiln_frontend::disasm;
pub mod bench;
pub mod evm;
pub mod exec;
pub mod fixture;
pub mod input;
pub mod mode;
pub mod run;
pub mod statetest;

pub use evm::{Evm, EvmBuilder, ResultAndState, TierConfig, TierStats, Tiers};
pub use kiln_runtime::{
    AccountChange, AccountInfo, BlockEnv, CfgEnv, Database, DatabaseCommit, EvmError,
    ExecutionResult, InMemoryDb, SpecId, StateChanges, TxEnv, TxKind,
};
pub use mode::Mode;

/// Addresses, words and bytes as `kiln`'s API takes them.
pub use alloy_primitives as primitives;
/// A shared object of contracts compiled ahead of time (`kiln compile`, [`AotCompiler`]).
pub use kiln_codegen::{AotCompiler, AotLibrary};
