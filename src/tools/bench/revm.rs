//! The revm 43 baseline: a [`BenchFixture`] translated to revm's types and run there.
//!
//! Only `kiln bench` and the benchmarks use revm (behind the `revm-baseline` feature); Kiln
//! itself never runs on it. The fixture's Kiln types (pre-state, block, transactions) are
//! translated once by [`prepare`]; bytecode is analyzed there (revm analyzes when a `Bytecode`
//! is built), so the timed part is transaction execution only, as on the Kiln side with a
//! warm code cache. An EVM is built once and given a fresh copy of the pre-state per run
//! ([`swap_db`]), as a node reuses its EVM from block to block.
//!
//! For the agreement check, revm's state changes are also applied to a copy of Kiln's
//! pre-state, so the same trie code computes both sides' state roots.

use std::sync::Arc;
use std::time::{Duration, Instant};

use kiln_runtime::{BlobSchedule, Database as _, DatabaseCommit, InMemoryDb, TxType};
use revm::bytecode::Bytecode;
use revm::context::result::ExecutionResult;
use revm::context::transaction::{AccessList, AccessListItem, Authorization, SignedAuthorization};
use revm::context::{BlockEnv, Context, TxEnv};
use revm::context_interface::block::BlobExcessGasAndPrice;
use revm::database::{CacheDB, EmptyDB};
use revm::handler::MainnetContext;
use revm::primitives::hardfork::SpecId;
use revm::primitives::{TxKind, U256};
use revm::state::AccountInfo;
use revm::{ExecuteCommitEvm, ExecuteEvm, MainBuilder, MainContext, MainnetEvm};

use super::compare::{End, Outcome};
use super::measure::Workload;
pub use super::revm_results::revm_spec;
use super::revm_results::{comparable_output, kiln_changes, receipt_logs};
use crate::tools::fixture::BenchFixture;

pub type RevmDb = CacheDB<EmptyDB>;
pub type RevmEvm = MainnetEvm<MainnetContext<RevmDb>>;

/// A fixture in revm's types.
#[derive(Clone, Debug)]
pub struct RevmFixture {
    pub db: RevmDb,
    pub block: BlockEnv,
    pub chain_id: u64,
    pub txs: Vec<TxEnv>,
}

/// Translates `fixture` for revm under `spec` (the block's blob fee depends on the fork).
pub fn prepare(fixture: &BenchFixture, spec: SpecId) -> Result<RevmFixture, String> {
    let mut pre = fixture.pre.clone();
    let mut db = RevmDb::new(EmptyDB::default());
    for (address, account) in fixture.pre.accounts() {
        let info = &account.info;
        let code = match &info.code {
            Some(code) => code.clone(),
            None => pre.code_by_hash(info.code_hash).map_err(|e| format!("{address}: {e}"))?,
        };
        let revm_info = if code.is_empty() {
            AccountInfo { balance: info.balance, nonce: info.nonce, ..AccountInfo::default() }
        } else {
            let bytecode = Bytecode::new_raw_checked(code)
                .map_err(|e| format!("code of {address} is refused by revm: {e:?}"))?;
            AccountInfo::new(info.balance, info.nonce, info.code_hash, bytecode)
        };
        db.insert_account_info(*address, revm_info);
        for (slot, value) in &account.storage {
            db.insert_account_storage(*address, *slot, *value)
                .map_err(|e| format!("storage of {address}: {e}"))?;
        }
    }

    let b = &fixture.block;
    let update_fraction = if spec.is_enabled_in(SpecId::PRAGUE) {
        BlobSchedule::for_spec(kiln_runtime::SpecId::Prague).update_fraction
    } else {
        BlobSchedule::for_spec(kiln_runtime::SpecId::Cancun).update_fraction
    };
    let block = BlockEnv {
        number: b.number,
        beneficiary: b.coinbase,
        timestamp: b.timestamp,
        gas_limit: b.gas_limit,
        basefee: b.basefee,
        difficulty: b.difficulty,
        prevrandao: Some(b.prevrandao),
        blob_excess_gas_and_price: Some(BlobExcessGasAndPrice::new(
            b.excess_blob_gas,
            update_fraction,
        )),
        ..BlockEnv::default()
    };

    let txs = fixture
        .txs
        .iter()
        .enumerate()
        .map(|(i, tx)| tx_env(tx).map_err(|e| format!("transaction {i}: {e}")))
        .collect::<Result<_, _>>()?;
    Ok(RevmFixture { db, block, chain_id: fixture.chain_id, txs })
}

fn u128_of(value: U256, what: &str) -> Result<u128, String> {
    u128::try_from(value).map_err(|_| format!("{what} {value} does not fit in 128 bits"))
}

fn tx_env(tx: &kiln_runtime::TxEnv) -> Result<TxEnv, String> {
    let access_list = AccessList(
        tx.access_list
            .iter()
            .map(|item| AccessListItem {
                address: item.address,
                storage_keys: item.storage_keys.clone(),
            })
            .collect(),
    );
    let authorizations = tx
        .authorization_list
        .iter()
        .map(|auth| {
            let y_parity = u8::try_from(auth.y_parity)
                .map_err(|_| format!("authorization y_parity {} too large", auth.y_parity))?;
            let inner =
                Authorization { chain_id: auth.chain_id, address: auth.address, nonce: auth.nonce };
            Ok(SignedAuthorization::new_unchecked(inner, y_parity, auth.r, auth.s))
        })
        .collect::<Result<Vec<_>, String>>()?;
    let kind = match tx.kind {
        kiln_runtime::TxKind::Call(to) => TxKind::Call(to),
        kiln_runtime::TxKind::Create => TxKind::Create,
    };
    let tx_type = match tx.tx_type {
        TxType::Legacy => 0,
        TxType::AccessList => 1,
        TxType::Eip1559 => 2,
        TxType::Blob => 3,
        TxType::SetCode => 4,
    };
    TxEnv::builder()
        .tx_type(Some(tx_type))
        .caller(tx.caller)
        .gas_limit(tx.gas_limit)
        .gas_price(u128_of(tx.gas_price, "gas price")?)
        .gas_priority_fee(tx.gas_priority_fee.map(|f| u128_of(f, "priority fee")).transpose()?)
        .kind(kind)
        .value(tx.value)
        .data(tx.data.clone())
        .nonce(tx.nonce)
        .chain_id(tx.chain_id)
        .access_list(access_list)
        .blob_hashes(tx.blob_hashes.clone())
        .max_fee_per_blob_gas(u128_of(tx.max_fee_per_blob_gas, "max fee per blob gas")?)
        .authorization_list_signed(authorizations)
        .build()
        .map_err(|e| format!("revm refuses the transaction: {e:?}"))
}

/// An EVM over a fresh copy of the fixture's pre-state.
pub fn build_evm(fixture: &RevmFixture, spec: SpecId) -> RevmEvm {
    let chain_id = fixture.chain_id;
    Context::mainnet()
        .with_db(fixture.db.clone())
        .with_block(fixture.block.clone())
        .modify_cfg_chained(|cfg| {
            cfg.set_spec_and_mainnet_gas_params(spec);
            cfg.chain_id = chain_id;
            // As `BenchFixture::cfg` does for Kiln.
            cfg.tx_gas_limit_cap = Some(u64::MAX);
        })
        .build_mainnet()
}

/// Puts `db` under `evm` and returns the database it had: a fresh pre-state for an EVM that is
/// reused, as a node reuses its EVM from block to block.
pub fn swap_db(evm: &mut RevmEvm, db: RevmDb) -> RevmDb {
    std::mem::replace(&mut evm.ctx.journaled_state.database, db)
}

/// Runs `txs` in order, committing each. A rejected transaction is an `Err` in its slot.
pub fn run(evm: &mut RevmEvm, txs: Vec<TxEnv>) -> Vec<Result<ExecutionResult, String>> {
    txs.into_iter().map(|tx| evm.transact_commit(tx).map_err(|e| e.to_string())).collect()
}

/// revm ready to run one fixture.
pub struct RevmRunner {
    fixture: Arc<BenchFixture>,
    revm: RevmFixture,
    spec: SpecId,
    evm: RevmEvm,
}

impl RevmRunner {
    pub fn new(fixture: Arc<BenchFixture>, spec: kiln_runtime::SpecId) -> Result<Self, String> {
        let spec = revm_spec(spec).ok_or_else(|| format!("revm mode: fork {spec} not mapped"))?;
        let revm = prepare(&fixture, spec)?;
        let evm = build_evm(&revm, spec);
        Ok(Self { fixture, revm, spec, evm })
    }

    /// One untimed run on a fresh EVM, with the outcome of every transaction.
    pub fn outcomes(&self) -> Vec<Outcome> {
        let mut evm = build_evm(&self.revm, self.spec);
        let mut mirror: InMemoryDb = self.fixture.pre.clone();
        let creates = self.fixture.txs.iter().map(|t| t.kind == kiln_runtime::TxKind::Create);
        self.revm
            .txs
            .iter()
            .zip(creates)
            .map(|(tx, create)| match evm.transact(tx.clone()) {
                Err(e) => Outcome::invalid(e.to_string(), mirror.state_root()),
                Ok(out) => {
                    mirror.commit(kiln_changes(&out.state, self.spec));
                    evm.commit(out.state);
                    outcome(&out.result, create, &mirror)
                }
            })
            .collect()
    }
}

fn outcome(r: &ExecutionResult, create: bool, post: &InMemoryDb) -> Outcome {
    let end = match r {
        ExecutionResult::Success { .. } => End::Success,
        ExecutionResult::Revert { .. } => End::Revert,
        ExecutionResult::Halt { reason, .. } => End::Halt(format!("{reason:?}")),
    };
    let (output, logs) = (comparable_output(r, create), receipt_logs(r));
    Outcome::executed(end, r.tx_gas_used(), output, logs, post.state_root())
}

impl Workload for RevmRunner {
    fn run_once(&mut self) -> Duration {
        let db = self.revm.db.clone();
        let txs = self.revm.txs.clone();
        let start = Instant::now();
        let used = swap_db(&mut self.evm, db);
        let results = run(&mut self.evm, txs);
        let elapsed = start.elapsed();
        drop((used, results));
        elapsed
    }
}
