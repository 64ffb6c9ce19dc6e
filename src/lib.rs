//! Kiln: an ahead-of-time and just-in-time EVM-to-native compiler built on Cranelift.
//!
//! The library is what an embedder needs to run transactions with compiled contracts:
//! - [`Evm`] and [`EvmBuilder`]: transactions over a [`Database`], contract code run in tiers
//!   (interpreter first, compiled in the background once hot, or from an AOT library);
//! - [`Tiers`], [`TierConfig`], [`TierStats`]: the tier policy, shareable between EVMs and
//!   threads, and what ran where;
//! - [`AotCompiler`] and [`AotLibrary`]: compiling contracts ahead of time into one shared
//!   object and loading it;
//! - the environment, database and result types of Kiln's runtime, and [`primitives`].
//!
//! The `kiln` command-line tool (state tests, benchmarks, `kiln run`) is built on this API and
//! on the pipeline crates; its code is private to the binary.

pub mod evm;

pub use evm::{Evm, EvmBuilder, ResultAndState, TierConfig, TierStats, Tiers};
pub use kiln_runtime::{
    AccountChange, AccountInfo, BlockEnv, CfgEnv, Database, DatabaseCommit, EvmError,
    ExecutionResult, InMemoryDb, SpecId, StateChanges, TxEnv, TxKind,
};

/// Addresses, words and bytes as `kiln`'s API takes them.
pub use alloy_primitives as primitives;
/// A shared object of contracts compiled ahead of time (`kiln compile`, [`AotCompiler`]).
pub use kiln_codegen::{AotCompiler, AotLibrary};
