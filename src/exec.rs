//! Running a transaction in a chosen [`Mode`]: the one place modes map to executors.

use crate::mode::{Mode, ModeNotBuilt};
use kiln_codegen::JitCompiler;
use kiln_runtime::handler::transact_native;
use kiln_runtime::{
    BlockEnv, CfgEnv, CodeCache, DatabaseCommit, EvmError, ExecutionResult, InMemoryDb, NoTracer,
    TxEnv,
};
use std::cell::RefCell;

thread_local! {
    /// One JIT per thread: compiled code is reused across every transaction the thread runs.
    static JIT: RefCell<Option<JitCompiler>> = const { RefCell::new(None) };
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
        Mode::Aot | Mode::Tiered => return Err(ModeNotBuilt(mode).to_string()),
    };
    Ok(outcome.map(|(result, changes)| {
        db.commit(changes);
        result
    }))
}
