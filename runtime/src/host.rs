//! The host: what instructions reach beyond their frame for — the journaled world state, the
//! block and transaction environment, precompiles and the code cache.

use crate::code::{delegation_target, AnalyzedCode, CodeCache};
use crate::context::Status;
use crate::db::DbError;
use crate::env::{BlockEnv, CfgEnv, TxEnv};
use crate::journal::Journal;
use crate::precompiles::PrecompileSet;
use crate::rules::Rules;
use alloy_primitives::{Address, U256};
use kiln_frontend::SpecId;
use std::sync::Arc;

/// Everything a transaction's frames share.
pub struct Host<'a> {
    pub journal: Journal<'a>,
    pub cfg: &'a CfgEnv,
    pub block: &'a BlockEnv,
    pub tx: &'a TxEnv,
    pub spec: SpecId,
    /// The rules of `spec`.
    pub rules: &'static Rules,
    /// The price per gas the sender actually pays (`GASPRICE`).
    pub effective_gas_price: U256,
    /// `BLOBBASEFEE`.
    pub blob_base_fee: U256,
    pub precompiles: PrecompileSet,
    pub code_cache: &'a mut CodeCache,
    /// The first fatal error (database failure); once set the transaction is abandoned.
    pub fatal: Option<String>,
    /// The fatal error is compiled code's failed bounds assertion, not the database's.
    pub native_fault: bool,
    /// Native code for contracts, if any executor provides it.
    pub native: Option<&'a mut (dyn crate::builtins::NativeCode + 'a)>,
}

impl<'a> Host<'a> {
    /// Records a database failure and returns the status that unwinds the frame.
    #[cold]
    pub fn fail(&mut self, err: DbError) -> Status {
        if self.fatal.is_none() {
            self.fatal = Some(err.0);
        }
        Status::Fatal
    }

    /// Lifts a database result into an instruction result.
    #[inline]
    pub fn db<T>(&mut self, r: Result<T, DbError>) -> Result<T, Status> {
        r.map_err(|e| self.fail(e))
    }

    /// The analyzed code of `address`.
    pub fn analyzed_code(&mut self, address: Address) -> Result<Arc<AnalyzedCode>, DbError> {
        // The code is borrowed: the cache clones it only for an analysis it does not hold.
        let cache = &mut self.code_cache;
        self.journal.with_code_and_hash(address, |code, hash| cache.get_or_analyze(hash, code))
    }

    /// The code that runs when `address` is called: its own, or under EIP-7702 its delegate's
    /// (one level; a delegate that is a precompile has empty code). Returns the code and the
    /// delegate, if any.
    pub fn code_to_run(
        &mut self,
        address: Address,
    ) -> Result<(Arc<AnalyzedCode>, Option<Address>), DbError> {
        let code = self.analyzed_code(address)?;
        if !self.rules.delegation {
            return Ok((code, None));
        }
        match delegation_target(code.bytes()) {
            Some(delegate) => {
                let code = if self.precompiles.contains(&delegate) {
                    self.code_cache
                        .get_or_analyze(alloy_primitives::KECCAK256_EMPTY, &Default::default())
                } else {
                    self.analyzed_code(delegate)?
                };
                Ok((code, Some(delegate)))
            }
            None => Ok((code, None)),
        }
    }

    /// EIP-7702: the delegate of `address`, if its code is a designator.
    pub fn delegate_of(&mut self, address: Address) -> Result<Option<Address>, DbError> {
        if !self.rules.delegation {
            return Ok(None);
        }
        self.journal.with_code(address, delegation_target)
    }
}
