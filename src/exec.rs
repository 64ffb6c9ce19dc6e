//! Running a transaction in a chosen [`Mode`]: the one place modes map to executors.

use crate::mode::{Mode, ModeNotBuilt};
use kiln_codegen::{AotCompiler, AotLibrary, JitCompiler};
use kiln_runtime::handler::transact_native;
use kiln_runtime::SpecId;
use kiln_runtime::{
    BlockEnv, CfgEnv, CodeCache, DatabaseCommit, EvmError, ExecutionResult, InMemoryDb, NoTracer,
    TxEnv,
};
use std::cell::RefCell;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

thread_local! {
    /// One JIT per thread: compiled code is reused across every transaction the thread runs.
    static JIT: RefCell<Option<JitCompiler>> = const { RefCell::new(None) };
    /// The AOT library `Mode::Aot` runs from on this thread (see [`with_aot_library`]).
    static AOT: RefCell<Option<AotLibrary>> = const { RefCell::new(None) };
}

/// Compiles `codes` (each for its fork) into a temporary shared library and loads it. The file
/// is removed once loaded: the mapping stays valid.
pub fn build_aot_library(
    codes: impl IntoIterator<Item = (Vec<u8>, SpecId)>,
) -> Result<AotLibrary, String> {
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
pub fn build_aot(codes: impl IntoIterator<Item = (Vec<u8>, SpecId)>) -> Result<AotBuild, String> {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let start = Instant::now();
    let mut compiler = AotCompiler::new().map_err(|e| e.to_string())?;
    for (code, spec) in codes {
        if !code.is_empty() {
            compiler.add(&code, spec).map_err(|e| e.to_string())?;
        }
    }
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let path: PathBuf =
        std::env::temp_dir().join(format!("kiln-aot-{}-{n}.so", std::process::id()));
    compiler.write_library(&path).map_err(|e| e.to_string())?;
    let build_time = start.elapsed();
    let file_bytes = std::fs::metadata(&path).map_or(0, |m| m.len());
    let library = AotLibrary::open(&path).map_err(|e| e.to_string());
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
) -> Result<Result<ExecutionResult, EvmError>, String> {
    let mut cache = CodeCache::default();
    let outcome = match mode {
        Mode::Interp => transact_native(db, cfg, block, tx, &mut cache, None, &mut NoTracer),
        Mode::Jit => JIT.with(|jit| {
            let mut jit = jit.borrow_mut();
            if jit.is_none() {
                *jit = Some(JitCompiler::new().map_err(|e| e.to_string())?);
            }
            let jit = jit.as_mut().expect("just created");
            Ok::<_, String>(transact_native(
                db,
                cfg,
                block,
                tx,
                &mut cache,
                Some(jit),
                &mut NoTracer,
            ))
        })?,
        Mode::Aot => AOT.with(|aot| {
            let mut aot = aot.borrow_mut();
            let lib = aot.as_mut().ok_or("no AOT library is loaded for this run")?;
            Ok::<_, String>(transact_native(
                db,
                cfg,
                block,
                tx,
                &mut cache,
                Some(lib),
                &mut NoTracer,
            ))
        })?,
        Mode::Tiered => return Err(ModeNotBuilt(mode).to_string()),
    };
    Ok(outcome.map(|(result, changes)| {
        db.commit(changes);
        result
    }))
}
