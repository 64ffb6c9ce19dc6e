//! Engines: how an [`super::Evm`] runs contract code, and what it keeps between transactions
//! and between EVMs.
//!
//! An [`Engine`] is built for one [`Execution`] (interpreter, JIT, AOT library or tier
//! policy) and holds what outlives a single EVM: compiled code, and the bytecode analyses
//! (JUMPDEST tables) of the contracts it ran. Cloning it is one reference count, and every
//! EVM built from a clone reuses both, so an EVM may be as short-lived as one transaction on a
//! borrowed database without compiling or analyzing anything again.

use alloy_primitives::{Address, Bytes};
use kiln_codegen::{AotLibrary, CompileError, JitCompiler, JitStats};
use kiln_runtime::code::AnalyzedCode;
use kiln_runtime::{
    BlockEnv, CfgEnv, CodeCache, Database, EvmError, ExecutionResult, NativeCode, NativeFn, SpecId,
    StateChanges, Tracer, Transact, TxEnv,
};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use super::tiers::{TierError, Tiers};

/// How contract code runs. Whatever the choice, a transaction's result and state changes are
/// the same; only where the time goes differs.
pub enum Execution {
    /// Every contract in the interpreter.
    Interpreter,
    /// Every contract compiled on its first execution, on the thread executing it (that
    /// transaction waits for the compiler), and run natively from then on. Code the compiler
    /// refuses (see `kiln_codegen::CompileError`) runs in the interpreter. One compiler and its
    /// code serve every EVM of the engine: EVMs on several threads share the code but take
    /// turns at the compiler, so give each thread an engine of its own where compile time
    /// matters.
    Jit,
    /// Contracts in the library (built by [`kiln_codegen::AotCompiler`] or `kiln compile`)
    /// run natively from their first call; all other code in the interpreter. Nothing is
    /// compiled at run time.
    Aot(AotLibrary),
    /// The tier policy decides: the interpreter first, native code once a contract is hot
    /// (compiled on background threads; execution never waits for them), and contracts of
    /// the policy's AOT library natively from their first call ([`Tiers::with_aot`]). The
    /// policy and its code cache may be shared by several engines ([`Tiers`] is an `Arc`).
    Tiered(Arc<Tiers>),
}

impl std::fmt::Debug for Execution {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Execution::Interpreter => f.write_str("Interpreter"),
            Execution::Jit => f.write_str("Jit"),
            Execution::Aot(lib) => f.debug_tuple("Aot").field(&lib.len()).finish(),
            Execution::Tiered(tiers) => f.debug_tuple("Tiered").field(tiers).finish(),
        }
    }
}

/// Why an engine could not start.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The JIT does not support this host, or its compiler could not be set up.
    #[error("the JIT cannot start: {0}")]
    Jit(CompileError),
    /// The tier policy's compile workers could not start.
    #[error(transparent)]
    Tiers(#[from] TierError),
}

/// Analyzed codes an engine keeps per set (see [`Engine::set_analysis_limit`]) unless told
/// otherwise.
pub const DEFAULT_ANALYSIS_LIMIT: usize = 4096;

/// How contract code runs, with the compiled code and bytecode analyses kept for it. Build
/// EVMs from it with [`super::EvmBuilder::engine`] or [`super::Evm::new`]; clones share
/// everything, and an `Engine` may be sent to and shared with other threads.
///
/// Bytecode analyses come in sets: an EVM takes one from the engine when it is built (or a new
/// one when none is free) and gives it back when it is dropped, so EVMs running at the same
/// time never wait for each other, and the next EVM, on any thread, starts with the analyses
/// its predecessors made. A set that has grown past [`Engine::set_analysis_limit`] codes is
/// emptied before the next transaction, so memory stays bounded however many contracts run.
#[derive(Clone)]
pub struct Engine {
    inner: Arc<Inner>,
}

struct Inner {
    code: Code,
    /// Analysis sets no EVM holds now.
    idle: Mutex<Vec<CodeCache>>,
    analysis_limit: AtomicUsize,
}

/// Where native code comes from.
enum Code {
    Interpreter,
    /// Boxed: the compiler's contexts are several KiB.
    Jit(Box<Mutex<JitCompiler>>),
    Aot(AotLibrary),
    Tiered(Arc<Tiers>),
}

// The JIT is shared behind a mutex, which needs its module to be `Send`; what the docs promise
// embedders (engines shared between threads, EVMs sent to them) holds by construction.
const _: () = {
    const fn send<T: Send>() {}
    const fn send_sync<T: Send + Sync>() {}
    send::<JitCompiler>();
    send_sync::<Engine>();
    send::<super::Evm<kiln_runtime::InMemoryDb>>();
};

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while the lock is held (an allocation failure, a compiler bug caught by the
    // caller) leaves the data usable: the JIT's cache and the idle list are consistent between
    // their statements.
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Engine {
    /// An engine for `execution`, keeping up to [`DEFAULT_ANALYSIS_LIMIT`] analyses per set.
    /// Fails only when `execution` is [`Execution::Jit`] and the JIT cannot start on this host.
    pub fn new(execution: Execution) -> Result<Engine, EngineError> {
        let code = match execution {
            Execution::Interpreter => Code::Interpreter,
            Execution::Jit => {
                let jit = JitCompiler::new().map_err(EngineError::Jit)?;
                Code::Jit(Box::new(Mutex::new(jit)))
            }
            Execution::Aot(lib) => Code::Aot(lib),
            Execution::Tiered(tiers) => Code::Tiered(tiers),
        };
        Ok(Engine {
            inner: Arc::new(Inner {
                code,
                idle: Mutex::new(Vec::new()),
                analysis_limit: AtomicUsize::new(DEFAULT_ANALYSIS_LIMIT),
            }),
        })
    }

    /// An engine that interprets everything (cannot fail).
    pub fn interpreter() -> Engine {
        Engine::new(Execution::Interpreter).expect("an interpreter engine starts nothing")
    }

    /// Analyzed codes each set may hold before it is emptied (at the start of a transaction
    /// of the EVM holding it); applies from the next transaction of every EVM of the engine.
    pub fn set_analysis_limit(&self, limit: usize) {
        self.inner.analysis_limit.store(limit, Ordering::Relaxed);
    }

    pub fn analysis_limit(&self) -> usize {
        self.inner.analysis_limit.load(Ordering::Relaxed)
    }

    /// The tier policy of an [`Execution::Tiered`] engine.
    pub fn tiers(&self) -> Option<&Arc<Tiers>> {
        match &self.inner.code {
            Code::Tiered(tiers) => Some(tiers),
            _ => None,
        }
    }

    /// The library of an [`Execution::Aot`] engine.
    pub fn aot_library(&self) -> Option<&AotLibrary> {
        match &self.inner.code {
            Code::Aot(lib) => Some(lib),
            _ => None,
        }
    }

    /// What the JIT of an [`Execution::Jit`] engine did so far (functions compiled, refused,
    /// compile time, machine code size).
    pub fn jit_stats(&self) -> Option<JitStats> {
        match &self.inner.code {
            Code::Jit(jit) => Some(lock(jit).stats().clone()),
            _ => None,
        }
    }

    /// Makes native code for `code` under `spec` ready before its first execution where this
    /// engine compiles at run time: a JIT engine compiles it now, on this thread (a node
    /// warming its hottest contracts, a benchmark keeping compile time out of its timings).
    /// Returns whether the code's next execution runs natively; the other engines compile
    /// nothing here and only say so.
    pub fn prepare(&self, code: &alloy_primitives::Bytes, spec: SpecId) -> bool {
        let hash = alloy_primitives::keccak256(code);
        match &self.inner.code {
            Code::Interpreter => false,
            Code::Jit(jit) => lock(jit).get(&AnalyzedCode::new(code.clone(), hash), spec).is_some(),
            Code::Aot(lib) => lib.get(hash, spec).is_some(),
            Code::Tiered(tiers) => tiers.is_native(hash, spec),
        }
    }

    /// An analysis set for a new EVM.
    pub(crate) fn lease(&self) -> Lease {
        let analyses = lock(&self.inner.idle).pop().unwrap_or_default();
        Lease { engine: self.clone(), analyses }
    }
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let execution = match &self.inner.code {
            Code::Interpreter => "interpreter",
            Code::Jit(_) => "jit",
            Code::Aot(_) => "aot",
            Code::Tiered(_) => "tiered",
        };
        f.debug_struct("Engine")
            .field("execution", &execution)
            .field("tiers", &self.tiers())
            .field("analysis_limit", &self.analysis_limit())
            .finish_non_exhaustive()
    }
}

/// An EVM's hold on its engine: the engine, and the analysis set the EVM works with, given
/// back to the engine when the EVM is dropped.
pub(crate) struct Lease {
    engine: Engine,
    analyses: CodeCache,
}

/// The JIT of an engine, locked per lookup: EVMs on other threads run their compiled code
/// meanwhile and wait only to look code up.
struct JitLookup<'a>(&'a Mutex<JitCompiler>);

impl NativeCode for JitLookup<'_> {
    fn lookup(&mut self, code: &Arc<AnalyzedCode>, spec: SpecId) -> Option<NativeFn> {
        lock(self.0).get(code, spec)
    }
}

impl Lease {
    pub(crate) fn engine(&self) -> &Engine {
        &self.engine
    }

    /// Runs one transaction with the lease's analyses, in the engine's native code unless
    /// `interpret` (an inspected transaction: compiled code does not step).
    pub(crate) fn transact<DB: Database, T: Tracer>(
        &mut self,
        db: &mut DB,
        cfg: &CfgEnv,
        block: &BlockEnv,
        tx: &TxEnv,
        tracer: &mut T,
        interpret: bool,
    ) -> Result<(ExecutionResult, StateChanges), EvmError> {
        self.run(interpret, |cache, native| {
            // `Transact` holds every borrow for one lifetime: the native code's trait object
            // bound shortens to it (a coercion `&mut` allows).
            let native = native.map(|native| native as &mut dyn NativeCode);
            Transact { db, cfg, block, tx, cache, native }.run(tracer)
        })
    }

    /// Runs a system call (EIP-4788, EIP-2935, EIP-7002, EIP-7251) as a transaction runs: in
    /// the engine's native code where it has some for the system contract.
    pub(crate) fn system_call<DB: Database>(
        &mut self,
        db: &mut DB,
        cfg: &CfgEnv,
        block: &BlockEnv,
        target: Address,
        data: Bytes,
    ) -> Result<(ExecutionResult, StateChanges), EvmError> {
        self.run(false, |cache, native| {
            kiln_runtime::system_call(db, cfg, block, target, data, cache, native)
        })
    }

    /// Calls `run` with the lease's analyses and the engine's native code (none when
    /// `interpret`), emptying the analyses first when they have grown past the engine's limit.
    fn run<R>(
        &mut self,
        interpret: bool,
        run: impl FnOnce(&mut CodeCache, Option<&mut dyn NativeCode>) -> R,
    ) -> R {
        let Lease { engine, analyses: cache } = self;
        if cache.len() > engine.analysis_limit() {
            cache.clear();
        }
        let mut jit;
        let mut aot;
        let mut session;
        let native: Option<&mut dyn NativeCode> = match &engine.inner.code {
            _ if interpret => None,
            Code::Interpreter => None,
            Code::Jit(compiler) => {
                jit = JitLookup(compiler);
                Some(&mut jit)
            }
            Code::Aot(lib) => {
                aot = lib;
                Some(&mut aot)
            }
            Code::Tiered(tiers) => {
                session = tiers.session();
                Some(&mut session)
            }
        };
        run(cache, native)
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        let analyses = std::mem::take(&mut self.analyses);
        lock(&self.engine.inner.idle).push(analyses);
    }
}
