//! Kiln: an ahead-of-time and just-in-time EVM-to-native compiler built on Cranelift.
//!
//! The library is what an embedder needs to run transactions with compiled contracts:
//! - [`Evm`] and [`EvmBuilder`]: transactions over a [`Database`] (owned or borrowed);
//! - [`Engine`] and [`Execution`]: how contract code runs (interpreter only, JIT on first call,
//!   an AOT library, or tiered: interpreter first, compiled in the background once hot), with
//!   the compiled code and bytecode analyses kept across transactions and shared by every EVM
//!   built from one engine;
//! - [`Tiers`], [`TierConfig`], [`TierStats`]: the tier policy, shareable between EVMs and
//!   threads, and what ran where;
//! - [`AotCompiler`] and [`AotLibrary`]: compiling contracts ahead of time into one shared
//!   object and loading it;
//! - [`Evm::inspect`] and [`Inspector`]: a transaction observed instruction by instruction,
//!   call by call and log by log ([`JsonTracer`] writes EIP-3155 traces);
//! - [`block`]: the rules a block runs under and its header's validation (the block executor
//!   of issue 19 is in progress there);
//! - the environment, database and result types of Kiln's runtime, and [`primitives`].
//!
//! The `kiln` command-line tool (state tests, benchmarks, `kiln run`) is built on this API and
//! on the pipeline crates; its code is private to the binary.

pub mod block;
pub mod evm;

pub use evm::{
    Engine, EngineError, Evm, EvmBuilder, Execution, Inspector, ResultAndState, TierConfig,
    TierStats, Tiers,
};
/// What an [`Inspector`] is shown: a frame's state, a call's or create's inputs, a frame's
/// result.
pub use kiln_runtime::context::{Action, Context, FrameResult, Status};
pub use kiln_runtime::{
    AccountChange, AccountInfo, BlockEnv, CfgEnv, Database, DatabaseCommit, EvmError,
    ExecutionResult, InMemoryDb, JsonTracer, Log, SpecId, StateChanges, TxEnv, TxKind,
};

/// Addresses, words and bytes as `kiln`'s API takes them.
pub use alloy_primitives as primitives;
/// The compiled tiers ([`TierConfig::first_tier`], `KILN_JIT_TIER`).
pub use kiln_codegen::CodeTier;
/// What a JIT engine compiled ([`Engine::jit_stats`]).
pub use kiln_codegen::JitStats;
/// A shared object of contracts compiled ahead of time (`kiln compile`, [`AotCompiler`]).
pub use kiln_codegen::{AotCompiler, AotLibrary};
