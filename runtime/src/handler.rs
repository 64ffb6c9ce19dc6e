//! Transaction processing.

use crate::{
    BlockEnv, CfgEnv, Database, DatabaseCommit, EvmError, ExecutionResult, StateChanges, TxEnv,
};

/// Executes `tx` against `db` without committing. Returns the result and the state changes.
pub fn transact<DB: Database>(
    db: &mut DB,
    cfg: &CfgEnv,
    block: &BlockEnv,
    tx: &TxEnv,
) -> Result<(ExecutionResult, StateChanges), EvmError> {
    let _ = (db, block, tx);
    Err(EvmError::UnsupportedFork(cfg.spec))
}

/// Executes `tx` and commits its changes to `db`. An invalid transaction changes nothing.
pub fn transact_commit<DB: Database + DatabaseCommit>(
    db: &mut DB,
    cfg: &CfgEnv,
    block: &BlockEnv,
    tx: &TxEnv,
) -> Result<ExecutionResult, EvmError> {
    let (result, changes) = transact(db, cfg, block, tx)?;
    db.commit(changes);
    Ok(result)
}
