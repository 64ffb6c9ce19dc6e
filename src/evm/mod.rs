//! `kiln::Evm`: a library API over Kiln's runtime with tiered execution.
//!
//! An [`Evm`] owns a [`Database`] and a fork and block environment, and executes transactions
//! with [`Evm::transact`] (result and state changes, nothing committed) or
//! [`Evm::transact_commit`]. Contract code runs in tiers decided by a [`Tiers`] policy:
//! every contract starts in the interpreter; after [`TierConfig::threshold`] executions it
//! is compiled on a background thread and later executions run the native code; contracts
//! found in an AOT library given at construction run natively from the first call.
//! Compilation never blocks execution, and a transaction's result is the same whichever tier
//! runs it.
//!
//! - [`config`]: the policy's knobs ([`TierConfig`]);
//! - [`tiers`]: the policy, shared between EVMs and threads ([`Tiers`]);
//! - `cache`: the code cache keyed by (code hash, fork), within a memory budget;
//! - `worker`: the bounded compile queue and its threads;
//! - [`stats`]: what ran where, and why a contract stays interpreted ([`TierStats`]).

mod cache;
pub mod config;
pub mod stats;
pub mod tiers;
mod worker;

pub use config::{TierConfig, DEFAULT_THRESHOLD};
pub use stats::{ContractStats, InterpReason, Tier, TierStats};
pub use tiers::{Session, TierError, Tiers};

/// Observes a transaction as it runs: each instruction (`step`, then `frame_end` when a
/// frame's loop stops), each call or create (`call`, `call_end`) and each log (`log`). See
/// [`Evm::inspect`].
pub use kiln_runtime::Tracer as Inspector;

use kiln_codegen::AotLibrary;
use kiln_runtime::{
    BlockEnv, CfgEnv, CodeCache, Database, DatabaseCommit, EvmError, ExecutionResult, NoTracer,
    SpecId, StateChanges, Transact, TxEnv,
};
use std::sync::Arc;

/// The README's examples, compiled and run as doc tests.
#[doc = include_str!("../../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;

/// A transaction's result and the state changes it would make.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResultAndState {
    pub result: ExecutionResult,
    pub state: StateChanges,
}

/// An EVM over a database, for one fork and block, running code in tiers.
pub struct Evm<DB> {
    db: DB,
    cfg: CfgEnv,
    block: BlockEnv,
    tiers: Arc<Tiers>,
    /// Bytecode analyses (jump tables), kept across transactions.
    analyses: CodeCache,
}

impl<DB: Database> Evm<DB> {
    /// A builder for an EVM over `db`: latest fork, the default tier policy, and block 0
    /// with no gas limit and no base fee (set a real block with [`EvmBuilder::block`]).
    pub fn builder(db: DB) -> EvmBuilder<DB> {
        EvmBuilder {
            db,
            cfg: CfgEnv::new(SpecId::LATEST),
            block: BlockEnv { gas_limit: u64::MAX, ..BlockEnv::default() },
            config: TierConfig::default(),
            aot: None,
            tiers: None,
        }
    }

    /// Executes `tx` without committing it.
    pub fn transact(&mut self, tx: &TxEnv) -> Result<ResultAndState, EvmError> {
        let Evm { db, cfg, block, tiers, analyses: cache } = self;
        let native = Some(&mut tiers.session() as &mut dyn kiln_runtime::NativeCode);
        let (result, state) = Transact { db, cfg, block, tx, cache, native }.run(&mut NoTracer)?;
        Ok(ResultAndState { result, state })
    }

    pub fn db(&self) -> &DB {
        &self.db
    }

    pub fn db_mut(&mut self) -> &mut DB {
        &mut self.db
    }

    pub fn into_db(self) -> DB {
        self.db
    }

    pub fn cfg(&self) -> &CfgEnv {
        &self.cfg
    }

    pub fn block(&self) -> &BlockEnv {
        &self.block
    }

    /// Moves to another block (a node executing block after block keeps its EVM).
    pub fn set_block(&mut self, block: BlockEnv) {
        self.block = block;
    }

    /// The tier policy, to share with other EVMs ([`EvmBuilder::tiers`]).
    pub fn tiers(&self) -> &Arc<Tiers> {
        &self.tiers
    }

    /// What the tier policy did so far (shared with every EVM using the same [`Tiers`]).
    pub fn stats(&self) -> TierStats {
        self.tiers.stats()
    }
}

impl<DB: Database> Evm<DB> {
    /// Executes `tx` without committing it, reporting every instruction, call, create and log
    /// to `inspector` (an [`Inspector`]; [`kiln_runtime::JsonTracer`] writes EIP-3155 lines).
    /// Compiled code does not step, so the transaction runs in the interpreter throughout and
    /// does not count towards any contract's tier; its result is the one [`Evm::transact`]
    /// gives.
    pub fn inspect<I: Inspector>(
        &mut self,
        tx: &TxEnv,
        inspector: &mut I,
    ) -> Result<ResultAndState, EvmError> {
        let Evm { db, cfg, block, analyses: cache, .. } = self;
        let (result, state) =
            Transact { db, cfg, block, tx, cache, native: None }.run(inspector)?;
        Ok(ResultAndState { result, state })
    }
}

impl<DB: Database + DatabaseCommit> Evm<DB> {
    /// Executes `tx` and commits its changes. An invalid transaction changes nothing.
    pub fn transact_commit(&mut self, tx: &TxEnv) -> Result<ExecutionResult, EvmError> {
        let ResultAndState { result, state } = self.transact(tx)?;
        self.db.commit(state);
        Ok(result)
    }
}

/// Builds an [`Evm`]; see [`Evm::builder`].
pub struct EvmBuilder<DB> {
    db: DB,
    cfg: CfgEnv,
    block: BlockEnv,
    config: TierConfig,
    aot: Option<AotLibrary>,
    tiers: Option<Arc<Tiers>>,
}

impl<DB: Database> EvmBuilder<DB> {
    /// The fork, with the chain configuration's other fields at their defaults.
    pub fn spec(mut self, spec: SpecId) -> Self {
        self.cfg = CfgEnv::new(spec);
        self
    }

    /// The whole chain configuration (fork, chain id, blob schedule).
    pub fn cfg(mut self, cfg: CfgEnv) -> Self {
        self.cfg = cfg;
        self
    }

    pub fn block(mut self, block: BlockEnv) -> Self {
        self.block = block;
        self
    }

    /// The tier policy of a new [`Tiers`] (ignored with [`EvmBuilder::tiers`]).
    pub fn tier_config(mut self, config: TierConfig) -> Self {
        self.config = config;
        self
    }

    /// Contracts in `lib` run from it from their first call (ignored with
    /// [`EvmBuilder::tiers`], whose own library applies).
    pub fn aot_library(mut self, lib: AotLibrary) -> Self {
        self.aot = Some(lib);
        self
    }

    /// Shares an existing policy and code cache, e.g. with EVMs on other threads.
    pub fn tiers(mut self, tiers: Arc<Tiers>) -> Self {
        self.tiers = Some(tiers);
        self
    }

    pub fn build(self) -> Result<Evm<DB>, TierError> {
        let tiers = match self.tiers {
            Some(tiers) => tiers,
            None => Tiers::with_aot(self.config, self.aot)?,
        };
        Ok(Evm {
            db: self.db,
            cfg: self.cfg,
            block: self.block,
            tiers,
            analyses: CodeCache::default(),
        })
    }
}
