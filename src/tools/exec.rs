//! How the tools execute a [`Mode`]: the one place a mode maps to the library's [`Execution`].
//! Transactions then run through `kiln::Evm` on an [`Engine`], as an embedder's do.

use crate::tools::mode::Mode;
use kiln::evm::{Engine, EngineError, Execution, TierConfig, Tiers};
use kiln_codegen::{AotCompiler, AotLibrary, CompileError, LoadError};
use kiln_runtime::SpecId;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Why a mode cannot run here (the transaction itself was not looked at).
#[derive(Clone, Debug, thiserror::Error)]
pub enum ExecError {
    /// Starting the tier policy failed (a bad `KILN_TIER_*` variable, no worker thread); kept
    /// as text (cloneable) because every case of the run reports the same failure.
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

impl From<EngineError> for ExecError {
    fn from(e: EngineError) -> Self {
        match e {
            EngineError::Jit(e) => ExecError::Jit(e),
            EngineError::Tiers(e) => ExecError::TiersFailed(e.to_string()),
        }
    }
}

/// A tier policy for [`Mode::Tiered`]: `config`, or without it [`TierConfig::from_env`].
pub fn tiers(config: Option<TierConfig>) -> Result<Arc<Tiers>, ExecError> {
    let failed = |e: &dyn std::fmt::Display| ExecError::TiersFailed(e.to_string());
    let config = match config {
        Some(config) => config,
        None => TierConfig::from_env().map_err(|e| failed(&e))?,
    };
    Tiers::new(config).map_err(|e| failed(&e))
}

/// An engine executing `mode`: a new interpreter or JIT (each keeps its compiled code and
/// analyses for as long as it is used); for [`Mode::Aot`] the library `aot`; for
/// [`Mode::Tiered`] the policy `tiers`, or a new one from `KILN_TIER_*` when `None`.
pub fn engine(
    mode: Mode,
    tiers: Option<&Arc<Tiers>>,
    aot: Option<AotLibrary>,
) -> Result<Engine, ExecError> {
    let execution = match mode {
        Mode::Interp => Execution::Interpreter,
        Mode::Jit => Execution::Jit,
        Mode::Aot => Execution::Aot(aot.ok_or(ExecError::NoAotLibrary)?),
        Mode::Tiered => Execution::Tiered(match tiers {
            Some(tiers) => Arc::clone(tiers),
            None => self::tiers(None)?,
        }),
    };
    Ok(Engine::new(execution)?)
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
