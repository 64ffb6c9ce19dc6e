//! Running a transaction in a chosen [`Mode`]: the one place modes map to executors.

use crate::tools::mode::Mode;
use kiln::evm::{TierConfig, Tiers};
use kiln_codegen::{AotCompiler, AotLibrary, CompileError, JitCompiler, LoadError};
use kiln_runtime::SpecId;
use kiln_runtime::{
    BlockEnv, CfgEnv, CodeCache, DatabaseCommit, EvmError, ExecutionResult, InMemoryDb, NoTracer,
    Transact, TxEnv,
};
use std::cell::RefCell;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

/// Analyzed codes kept per thread across transactions; past this many the cache starts over,
/// so a run over thousands of distinct contracts keeps bounded memory.
const CODE_CACHE_LIMIT: usize = 4096;

thread_local! {
    /// JUMPDEST analysis of every code this thread ran, by code hash: a transaction that
    /// calls a known contract does not analyze it again.
    static CODE: RefCell<CodeCache> = RefCell::new(CodeCache::default());
    /// One JIT per thread: compiled code is reused across every transaction the thread runs.
    static JIT: RefCell<Option<JitCompiler>> = const { RefCell::new(None) };
    /// The AOT library `Mode::Aot` runs from on this thread (see [`with_aot_library`]).
    static AOT: RefCell<Option<AotLibrary>> = const { RefCell::new(None) };
}

/// Why a mode cannot run here (the transaction itself was not looked at).
#[derive(Clone, Debug, thiserror::Error)]
pub enum ExecError {
    #[error("the tier policy is already in use")]
    TiersInUse,
    #[error("the tier policy is already configured")]
    TiersConfigured,
    /// Starting the tier policy failed (a bad `KILN_TIER_*` variable, no worker thread); kept
    /// as text because every later tiered transaction reports the same first failure.
    #[error("the tier policy cannot start: {0}")]
    TiersFailed(String),
    #[error("the JIT cannot start: {0}")]
    Jit(CompileError),
    #[error("no AOT library is loaded for this run")]
    NoAotLibrary,
    #[error("building the AOT library failed: {0}")]
    Aot(CompileError),
    #[error("loading the AOT library failed: {0}")]
    AotLoad(#[from] LoadError),
}

/// The policy [`Mode::Tiered`] runs under, if set before its first transaction.
static TIER_CONFIG: OnceLock<TierConfig> = OnceLock::new();
/// The one tier policy and code cache of [`Mode::Tiered`], shared by every thread of the
/// process (the state-test runner's workers, a benchmark's loop).
static TIERS: OnceLock<Result<Arc<Tiers>, ExecError>> = OnceLock::new();

/// Sets the policy [`Mode::Tiered`] runs under; without it, [`TierConfig::from_env`] applies.
/// Refused once a tiered transaction has run (the policy is then fixed).
pub fn configure_tiered(config: TierConfig) -> Result<(), ExecError> {
    if TIERS.get().is_some() {
        return Err(ExecError::TiersInUse);
    }
    TIER_CONFIG.set(config).map_err(|_| ExecError::TiersConfigured)
}

/// The process-wide policy of [`Mode::Tiered`], started on first use.
pub fn shared_tiers() -> Result<&'static Arc<Tiers>, ExecError> {
    TIERS
        .get_or_init(|| {
            let failed = |e: &dyn std::fmt::Display| ExecError::TiersFailed(e.to_string());
            let config = match TIER_CONFIG.get() {
                Some(config) => config.clone(),
                None => TierConfig::from_env().map_err(|e| failed(&e))?,
            };
            Tiers::new(config).map_err(|e| failed(&e))
        })
        .as_ref()
        .map_err(Clone::clone)
}

/// Compiles `codes` (each for its fork) into a temporary shared library and loads it. The file
/// is removed once loaded: the mapping stays valid.
pub fn build_aot_library(
    codes: impl IntoIterator<Item = (Vec<u8>, SpecId)>,
) -> Result<AotLibrary, ExecError> {
    build_aot(codes).map(|build| build.library)
}

/// A loaded AOT library and what building it cost.
pub struct AotBuild {
    pub library: AotLibrary,
    /// Compiling every contract and linking the shared object (not loading it).
    pub build_time: Duration,
    /// Size of the shared object file.
    pub file_bytes: u64,
}

/// [`build_aot_library`], measured.
pub fn build_aot(
    codes: impl IntoIterator<Item = (Vec<u8>, SpecId)>,
) -> Result<AotBuild, ExecError> {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let start = Instant::now();
    let mut compiler = AotCompiler::new().map_err(ExecError::Aot)?;
    for (code, spec) in codes {
        if !code.is_empty() {
            match compiler.add(&code, spec) {
                // Left out of the library: the interpreter runs it (and the refusal is
                // counted, see `kiln_codegen::refused_by_stack_proof`).
                Err(kiln_codegen::CompileError::UnprovenStack(_)) => {}
                other => other.map_err(ExecError::Aot)?,
            }
        }
    }
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let path: PathBuf =
        std::env::temp_dir().join(format!("kiln-aot-{}-{n}.so", std::process::id()));
    compiler.write_library(&path).map_err(ExecError::Aot)?;
    let build_time = start.elapsed();
    let file_bytes = std::fs::metadata(&path).map_or(0, |m| m.len());
    let library = AotLibrary::open(&path);
    let _ = std::fs::remove_file(&path);
    Ok(AotBuild { library: library?, build_time, file_bytes })
}

/// Runs `f` with `lib` as this thread's AOT library for [`Mode::Aot`].
pub fn with_aot_library<R>(lib: AotLibrary, f: impl FnOnce() -> R) -> R {
    let previous = AOT.with(|a| a.borrow_mut().replace(lib));
    let out = f();
    AOT.with(|a| *a.borrow_mut() = previous);
    out
}

/// Runs `tx` against `db` in `mode` and commits it. The outer error means the mode cannot run
/// here; the inner result is the runtime's verdict on the transaction.
pub fn transact_commit(
    mode: Mode,
    db: &mut InMemoryDb,
    cfg: &CfgEnv,
    block: &BlockEnv,
    tx: &TxEnv,
) -> Result<Result<ExecutionResult, EvmError>, ExecError> {
    CODE.with(|cache| {
        let mut cache = cache.borrow_mut();
        if cache.len() > CODE_CACHE_LIMIT {
            cache.clear();
        }
        transact_commit_with(mode, db, cfg, block, tx, &mut cache)
    })
}

fn transact_commit_with(
    mode: Mode,
    db: &mut InMemoryDb,
    cfg: &CfgEnv,
    block: &BlockEnv,
    tx: &TxEnv,
    cache: &mut CodeCache,
) -> Result<Result<ExecutionResult, EvmError>, ExecError> {
    let outcome = match mode {
        Mode::Interp => Transact { db, cfg, block, tx, cache, native: None }.run(&mut NoTracer),
        Mode::Jit => JIT.with(|jit| {
            let mut jit = jit.borrow_mut();
            if jit.is_none() {
                *jit = Some(JitCompiler::new().map_err(ExecError::Jit)?);
            }
            let jit = jit.as_mut().expect("just created");
            Ok::<_, ExecError>(
                Transact { db, cfg, block, tx, cache, native: Some(jit) }.run(&mut NoTracer),
            )
        })?,
        Mode::Aot => AOT.with(|aot| {
            let mut aot = aot.borrow_mut();
            let lib = aot.as_mut().ok_or(ExecError::NoAotLibrary)?;
            Ok::<_, ExecError>(
                Transact { db, cfg, block, tx, cache, native: Some(lib) }.run(&mut NoTracer),
            )
        })?,
        Mode::Tiered => {
            let mut session = shared_tiers()?.session();
            Transact { db, cfg, block, tx, cache, native: Some(&mut session) }.run(&mut NoTracer)
        }
    };
    Ok(outcome.map(|(result, changes)| {
        db.commit(changes);
        result
    }))
}
