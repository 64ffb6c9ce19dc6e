//! Running a [`BenchFixture`] through revm 43, and comparing its results with Kiln's.
//!
//! revm is a dev-dependency only, so this lives with the benchmarks rather than in `src/`.
//! The fixture's Kiln types (pre-state, block, transactions) are translated once by
//! [`prepare`]; bytecode is analyzed there (revm analyzes when a `Bytecode` is built), so the
//! timed part is transaction execution only, as on the Kiln side with a warm code cache. An
//! EVM is built once and given a fresh copy of the pre-state per run ([`swap_db`]).

use kiln::fixture::BenchFixture;
use kiln_runtime::{BlobSchedule, Database as _, EvmError, TxType};
use revm::bytecode::Bytecode;
use revm::context::result::ExecutionResult;
use revm::context::transaction::{AccessList, AccessListItem, Authorization, SignedAuthorization};
use revm::context::{BlockEnv, Context, TxEnv};
use revm::context_interface::block::BlobExcessGasAndPrice;
use revm::database::{CacheDB, EmptyDB};
use revm::handler::MainnetContext;
use revm::primitives::hardfork::SpecId;
use revm::primitives::{Address, Bytes, TxKind, B256, U256};
use revm::state::AccountInfo;
use revm::{ExecuteCommitEvm, MainBuilder, MainContext, MainnetEvm};

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

/// What is compared between the two EVMs for one transaction.
#[derive(Clone, Debug)]
pub struct Outcome {
    /// `success`, `revert`, `halt` or `invalid`.
    pub status: &'static str,
    pub gas_used: u64,
    pub output: Bytes,
    /// `(address, topics, data)` of each log of a successful transaction.
    pub logs: Vec<(Address, Vec<B256>, Bytes)>,
    /// The halt reason or the rejection, for messages only (the two EVMs name them differently).
    pub detail: String,
}

impl Outcome {
    pub fn from_kiln(result: &Result<kiln_runtime::ExecutionResult, EvmError>) -> Self {
        use kiln_runtime::ExecutionResult as R;
        match result {
            Ok(r) => Outcome {
                status: match r {
                    R::Success { .. } => "success",
                    R::Revert { .. } => "revert",
                    R::Halt { .. } => "halt",
                },
                gas_used: r.gas_used(),
                output: Bytes::copy_from_slice(r.output()),
                logs: r
                    .logs()
                    .iter()
                    .map(|l| (l.address, l.topics.clone(), l.data.clone()))
                    .collect(),
                detail: match r {
                    R::Halt { reason, .. } => format!("{reason:?}"),
                    _ => String::new(),
                },
            },
            Err(e) => Outcome::invalid(e.to_string()),
        }
    }

    pub fn from_revm(result: &Result<ExecutionResult, String>) -> Self {
        match result {
            Ok(r) => Outcome {
                status: match r {
                    ExecutionResult::Success { .. } => "success",
                    ExecutionResult::Revert { .. } => "revert",
                    ExecutionResult::Halt { .. } => "halt",
                },
                gas_used: r.tx_gas_used(),
                output: r.output().cloned().unwrap_or_default(),
                logs: if r.is_success() {
                    r.logs()
                        .iter()
                        .map(|l| (l.address, l.data.topics().to_vec(), l.data.data.clone()))
                        .collect()
                } else {
                    Vec::new()
                },
                detail: match r {
                    ExecutionResult::Halt { reason, .. } => format!("{reason:?}"),
                    _ => String::new(),
                },
            },
            Err(e) => Outcome::invalid(e.clone()),
        }
    }

    fn invalid(detail: String) -> Self {
        Outcome { status: "invalid", gas_used: 0, output: Bytes::new(), logs: Vec::new(), detail }
    }

    pub fn summary(&self) -> String {
        let mut s =
            format!("{} gas {} output {} bytes", self.status, self.gas_used, self.output.len());
        if !self.logs.is_empty() {
            s += &format!(" logs {}", self.logs.len());
        }
        if !self.detail.is_empty() {
            s += &format!(" ({})", self.detail);
        }
        s
    }
}

/// `None` when Kiln and revm agree on status, gas used, output and logs; otherwise what differs.
pub fn disagreement(kiln: &Outcome, revm: &Outcome) -> Option<String> {
    let mut diffs = Vec::new();
    if kiln.status != revm.status {
        diffs.push(format!("status kiln {} vs revm {}", kiln.status, revm.status));
    }
    if kiln.gas_used != revm.gas_used {
        diffs.push(format!(
            "gas used kiln {} vs revm {} (kiln {:+})",
            kiln.gas_used,
            revm.gas_used,
            i128::from(kiln.gas_used) - i128::from(revm.gas_used)
        ));
    }
    if kiln.output != revm.output {
        diffs.push(format!(
            "output kiln 0x{} vs revm 0x{}",
            short_hex(&kiln.output),
            short_hex(&revm.output)
        ));
    }
    if kiln.logs != revm.logs {
        diffs.push(format!("logs differ (kiln {} vs revm {})", kiln.logs.len(), revm.logs.len()));
    }
    if diffs.is_empty() {
        None
    } else {
        Some(format!("{}; kiln: {}; revm: {}", diffs.join(", "), kiln.summary(), revm.summary()))
    }
}

fn short_hex(bytes: &[u8]) -> String {
    const MAX: usize = 64;
    let hex = revm::primitives::hex::encode(&bytes[..bytes.len().min(MAX)]);
    if bytes.len() > MAX {
        format!("{hex}… ({} bytes)", bytes.len())
    } else {
        hex
    }
}
