//! Kiln's runtime: everything compiled code calls, and the rest of the EVM.
//!
//! - [`db`]: the [`Database`] trait and [`InMemoryDb`];
//! - [`env`](mod@env): chain, block and transaction environment;
//! - [`result`]: execution results and invalid-transaction kinds;
//! - [`handler`]: transaction processing (validation, intrinsic gas, fees, refunds).

pub mod accounts;
pub mod builtins;
pub mod code;
pub mod context;
pub mod db;
pub mod env;
pub mod frame;
pub mod gas;
pub mod handler;
pub mod host;
pub mod instructions;
pub mod interpreter;
pub mod journal;
pub mod keccak;
pub mod keccak_cache;
pub mod memory;
mod pool;
pub mod precompiles;
pub mod result;
pub mod rules;
pub mod stack;
pub mod tracer;

pub use builtins::{NativeCode, NativeFn};
pub use code::CodeCache;
pub use db::{
    AccountChange, AccountInfo, Database, DatabaseCommit, DbError, InMemoryDb, StateChanges,
};
pub use env::{
    AccessListItem, Authorization, BlobSchedule, BlockEnv, CfgEnv, TxEnv, TxKind, TxType,
};
pub use handler::{
    system_call, transact, transact_commit, Transact, SYSTEM_ADDRESS, SYSTEM_CALL_GAS,
};
pub use interpreter::{NoTracer, Tracer};
pub use kiln_frontend::SpecId;
pub use result::{logs_hash, EvmError, ExecutionResult, HaltReason, InvalidTransaction, Log};
pub use rules::Rules;
pub use tracer::{JsonTracer, Summary as TraceSummary};
