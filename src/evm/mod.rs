//! `kiln::Evm`: a library API over Kiln's runtime.
//!
//! An [`Evm`] owns (or borrows: `&mut DB` is a [`Database`] too) a database and a fork and
//! block environment, and executes transactions with [`Evm::transact`] (result and state
//! changes, nothing committed) or [`Evm::transact_commit`], and whole blocks with
//! [`Evm::execute_block`] ([`crate::block`]). It runs contract code on an [`Engine`], chosen by
//! an [`Execution`]:
//!
//! - [`Execution::Interpreter`]: every contract interpreted;
//! - [`Execution::Jit`]: every contract compiled on its first execution;
//! - [`Execution::Aot`]: contracts of an AOT library natively from the first call, the rest
//!   interpreted;
//! - [`Execution::Tiered`] (the default): a [`Tiers`] policy: every contract starts in the
//!   interpreter; after [`TierConfig::threshold`] executions it is compiled on a background
//!   thread and later executions run the native code; contracts found in the policy's AOT
//!   library run natively from the first call. Compilation never blocks execution.
//!
//! The engine keeps compiled code and bytecode analyses across transactions and across the
//! EVMs built from it, so an EVM can be as short-lived as one transaction. A transaction's
//! result is the same whichever engine runs it.
//!
//! - [`engine`]: [`Engine`] and [`Execution`];
//! - [`config`]: the tier policy's knobs ([`TierConfig`]);
//! - [`tiers`]: the policy, shared between EVMs and threads ([`Tiers`]);
//! - `cache`: the code cache keyed by (code hash, fork), within a memory budget;
//! - `worker`: the bounded compile queue and its threads;
//! - [`stats`]: what ran where, and why a contract stays interpreted ([`TierStats`]).

mod cache;
pub mod config;
pub mod engine;
pub mod stats;
pub mod tiers;
mod worker;

pub use config::{parse_optimize_after, TierConfig, DEFAULT_OPTIMIZE_AFTER, DEFAULT_THRESHOLD};
pub use engine::{Engine, EngineError, Execution, DEFAULT_ANALYSIS_LIMIT};
pub use stats::{ContractStats, InterpReason, Tier, TierCompiles, TierStats};
pub use tiers::{Session, TierError, Tiers};

/// Observes a transaction as it runs: each instruction (`step`, then `frame_end` when a
/// frame's loop stops), each call or create (`call`, `call_end`) and each log (`log`). See
/// [`Evm::inspect`].
pub use kiln_runtime::Tracer as Inspector;

use engine::Lease;
use kiln_codegen::AotLibrary;
use kiln_runtime::{
    BlockEnv, CfgEnv, Database, DatabaseCommit, EvmError, ExecutionResult, NoTracer, SpecId,
    StateChanges, TxEnv,
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

/// An EVM over a database, for one fork and block, running code on an [`Engine`].
pub struct Evm<DB> {
    pub(crate) db: DB,
    pub(crate) cfg: CfgEnv,
    pub(crate) block: BlockEnv,
    /// The engine, and the bytecode analyses this EVM works with (given back to the engine
    /// when the EVM is dropped).
    pub(crate) lease: Lease,
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
            engine: None,
        }
    }

    /// An EVM over `db` running code on `engine`, reusing its compiled code and analyses, for
    /// the fork and chain of `cfg` and the block `block`. What [`EvmBuilder::engine`] builds,
    /// without a builder; it cannot fail, and costs a reference count and an analysis set
    /// taken from the engine. A per-transaction EVM over a borrowed database:
    ///
    /// ```
    /// # use kiln::primitives::{Address, Bytes, U256};
    /// # use kiln::{BlockEnv, CfgEnv, Engine, Evm, Execution, InMemoryDb, SpecId, TxEnv, TxKind};
    /// let sender = Address::repeat_byte(0x5e);
    /// let mut pre = InMemoryDb::new();
    /// pre.insert_account(sender, U256::from(10).pow(U256::from(18)), 0, Bytes::new(), []);
    /// let engine = Engine::new(Execution::Interpreter)?;
    /// let (to, gas_limit) = (TxKind::Call(Address::repeat_byte(0xc0)), 100_000);
    /// let tx = TxEnv { caller: sender, kind: to, gas_limit, ..TxEnv::default() };
    /// for _ in 0..3 {
    ///     // A fresh copy of the state each time: the same transaction is valid again.
    ///     let mut db = pre.clone();
    ///     let block = BlockEnv { gas_limit: 30_000_000, ..BlockEnv::default() };
    ///     let mut evm = Evm::new(&mut db, &engine, CfgEnv::new(SpecId::Prague), block);
    ///     assert!(evm.transact_commit(&tx)?.is_success());
    ///     drop(evm);
    ///     assert_eq!(db.account(&sender).unwrap().info.nonce, 1);
    /// }
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn new(db: DB, engine: &Engine, cfg: CfgEnv, block: BlockEnv) -> Self {
        Evm { db, cfg, block, lease: engine.lease() }
    }

    /// Executes `tx` without committing it.
    pub fn transact(&mut self, tx: &TxEnv) -> Result<ResultAndState, EvmError> {
        let Evm { db, cfg, block, lease } = self;
        let (result, state) = lease.transact(db, cfg, block, tx, &mut NoTracer, false)?;
        Ok(ResultAndState { result, state })
    }

    pub fn db(&self) -> &DB {
        &self.db
    }

    pub fn db_mut(&mut self) -> &mut DB {
        &mut self.db
    }

    /// The database, the EVM gone (its analyses go back to the engine).
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

    /// The engine, to build more EVMs on ([`EvmBuilder::engine`], [`Evm::new`]).
    pub fn engine(&self) -> &Engine {
        self.lease.engine()
    }

    /// The tier policy, when the engine runs one ([`Execution::Tiered`], the default), to
    /// share with other engines or wait for its compiler.
    pub fn tiers(&self) -> Option<&Arc<Tiers>> {
        self.engine().tiers()
    }

    /// What the tier policy did so far (shared with every EVM using the same [`Tiers`]), when
    /// the engine runs one.
    pub fn stats(&self) -> Option<TierStats> {
        self.tiers().map(|tiers| tiers.stats())
    }
}

impl<DB: Database> Evm<DB> {
    /// Executes `tx` without committing it, reporting every instruction, call, create and log
    /// to `inspector` (an [`Inspector`]; [`kiln_runtime::JsonTracer`] writes EIP-3155 lines).
    /// Compiled code does not step, so the transaction runs in the interpreter throughout,
    /// whatever the engine, and does not count towards any contract's tier; its result is the
    /// one [`Evm::transact`] gives.
    pub fn inspect<I: Inspector>(
        &mut self,
        tx: &TxEnv,
        inspector: &mut I,
    ) -> Result<ResultAndState, EvmError> {
        let Evm { db, cfg, block, lease } = self;
        let (result, state) = lease.transact(db, cfg, block, tx, inspector, true)?;
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

    /// [`Evm::inspect`], then commits the changes. An invalid transaction changes nothing.
    pub fn inspect_commit<I: Inspector>(
        &mut self,
        tx: &TxEnv,
        inspector: &mut I,
    ) -> Result<ExecutionResult, EvmError> {
        let ResultAndState { result, state } = self.inspect(tx, inspector)?;
        self.db.commit(state);
        Ok(result)
    }
}

/// Builds an [`Evm`]; see [`Evm::builder`].
///
/// The engine is, by the last of these calls: [`EvmBuilder::engine`] (an existing one, shared),
/// [`EvmBuilder::execution`] or [`EvmBuilder::tiers`] (one of the EVM's own); without any, a
/// tiered engine of its own with [`EvmBuilder::tier_config`] and [`EvmBuilder::aot_library`].
pub struct EvmBuilder<DB> {
    db: DB,
    cfg: CfgEnv,
    block: BlockEnv,
    config: TierConfig,
    aot: Option<AotLibrary>,
    engine: Option<EngineChoice>,
}

enum EngineChoice {
    Shared(Engine),
    Own(Execution),
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

    /// Runs on `engine`, sharing its compiled code and bytecode analyses with every EVM built
    /// from it (on any thread); [`EvmBuilder::build`] then cannot fail.
    pub fn engine(mut self, engine: &Engine) -> Self {
        self.engine = Some(EngineChoice::Shared(engine.clone()));
        self
    }

    /// Runs on an engine of its own for `execution` (interpreter only, JIT on first call, an
    /// AOT library, or a tier policy); reach it with [`Evm::engine`] to build more EVMs on it.
    pub fn execution(mut self, execution: Execution) -> Self {
        self.engine = Some(EngineChoice::Own(execution));
        self
    }

    /// The tier policy of the default tiered engine (ignored when an engine or execution is
    /// chosen).
    pub fn tier_config(mut self, config: TierConfig) -> Self {
        self.config = config;
        self
    }

    /// With the default tiered engine, contracts in `lib` run from it from their first call
    /// and the rest is tiered (ignored when an engine or execution is chosen; for `lib` and the
    /// interpreter alone, see [`Execution::Aot`]).
    pub fn aot_library(mut self, lib: AotLibrary) -> Self {
        self.aot = Some(lib);
        self
    }

    /// Shares an existing policy and code cache, e.g. with EVMs on other threads: the same as
    /// `execution(Execution::Tiered(tiers))`.
    pub fn tiers(self, tiers: Arc<Tiers>) -> Self {
        self.execution(Execution::Tiered(tiers))
    }

    /// Fails when the EVM's own engine cannot start (the JIT on an unsupported host, the tier
    /// policy's compile threads); never with [`EvmBuilder::engine`].
    pub fn build(self) -> Result<Evm<DB>, EngineError> {
        let engine = match self.engine {
            Some(EngineChoice::Shared(engine)) => engine,
            Some(EngineChoice::Own(execution)) => Engine::new(execution)?,
            None => Engine::new(Execution::Tiered(Tiers::with_aot(self.config, self.aot)?))?,
        };
        Ok(Evm::new(self.db, &engine, self.cfg, self.block))
    }
}
