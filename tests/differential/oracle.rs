//! Running a [`Case`] on both sides: Kiln (interpreter and JIT) and revm 43, the independent
//! oracle. Each run yields an [`Outcome`]: status, gas used, output, logs and post-state root.
//!
//! revm's post-state is not read from revm: its state changes are applied to a clone of the
//! Kiln pre-state ([`InMemoryDb`]) and the root is computed there, so the same trie code hashes
//! both sides and a difference in the root is a difference in the state. EIP-161: an account
//! that revm reports as touched and empty is removed, as is one it self-destructed.

use super::gen::{Case, BLOCK_NUMBER, COINBASE, MAIN, SENDER};
use alloy_primitives::{hex, keccak256, Address, Bytes, B256, U256};
use kiln_runtime::handler::Transact;
use kiln_runtime::{
    BlockEnv, CfgEnv, CodeCache, DatabaseCommit, EvmError, ExecutionResult, InMemoryDb, NativeCode,
    NoTracer, SpecId, TxEnv, TxKind, TxType,
};
use revm::bytecode::Bytecode;
use revm::context::result::ExecutionResult as RevmResult;
use revm::context::transaction::{AccessList, AccessListItem};
use revm::context::{BlockEnv as RevmBlock, Context, TxEnv as RevmTx};
use revm::context_interface::block::BlobExcessGasAndPrice;
use revm::database::{CacheDB, EmptyDB};
use revm::primitives::hardfork::SpecId as RevmSpec;
use revm::state::AccountInfo as RevmAccountInfo;
use revm::{ExecuteEvm, MainBuilder, MainContext};
use std::panic::{catch_unwind, AssertUnwindSafe};

pub const GAS_PRICE: u64 = 10;
pub const BASEFEE: u64 = 7;
pub const MAX_FEE: u64 = 20;
pub const PRIORITY_FEE: u64 = 3;
pub const EXCESS_BLOB_GAS: u64 = 10_000_000;
pub const BLOCK_GAS_LIMIT: u64 = 30_000_000;
const TIMESTAMP: u64 = 1_750_000_000;
const PREVRANDAO: B256 = B256::repeat_byte(0x5a);
/// What DIFFICULTY reads before the merge.
const DIFFICULTY: u64 = 0x2_0000_0000;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    Success,
    Revert,
    /// Exceptional halt (the reason is not compared: it legitimately differs between
    /// per-block and per-instruction checks).
    Halt,
    /// The transaction was refused.
    Invalid,
    /// The engine panicked.
    Panic,
}

/// What is compared for one run.
#[derive(Clone, Debug)]
pub struct Outcome {
    pub status: Status,
    pub gas_used: u64,
    /// Kiln only: the refund already deducted (to find the gas a run really needs).
    pub refunded: u64,
    pub output: Bytes,
    pub logs: Vec<(Address, Vec<B256>, Bytes)>,
    /// `None` for a refused transaction (nothing is committed).
    pub state_root: Option<B256>,
    /// Halt reason, error or panic message: shown, never compared across EVMs.
    pub detail: String,
}

impl Outcome {
    fn invalid(status: Status, detail: String) -> Self {
        Outcome {
            status,
            gas_used: 0,
            refunded: 0,
            output: Bytes::new(),
            logs: vec![],
            state_root: None,
            detail,
        }
    }

    pub fn summary(&self) -> String {
        let mut s = format!("{:?} gas_used {}", self.status, self.gas_used);
        if self.refunded > 0 {
            s += &format!(" (refund {})", self.refunded);
        }
        s += &format!(" output 0x{}", short_hex(&self.output));
        for (address, topics, data) in &self.logs {
            s += &format!("\n      log {address} topics [");
            s += &topics.iter().map(|t| t.to_string()).collect::<Vec<_>>().join(", ");
            s += &format!("] data 0x{}", short_hex(data));
        }
        if let Some(root) = self.state_root {
            s += &format!("\n      state root {root}");
        }
        if !self.detail.is_empty() {
            s += &format!("\n      ({})", self.detail);
        }
        s
    }
}

fn short_hex(bytes: &[u8]) -> String {
    const MAX: usize = 160;
    if bytes.len() > MAX {
        format!("{}... ({} bytes)", hex::encode(&bytes[..MAX]), bytes.len())
    } else {
        hex::encode(bytes)
    }
}

/// What differs between two outcomes; empty when they agree. `strict` also compares the
/// error text of refused transactions (between Kiln's two modes, which share the validation).
pub fn differences(a: &Outcome, b: &Outcome, strict: bool) -> Vec<String> {
    let mut d = Vec::new();
    if a.status == Status::Panic || b.status == Status::Panic {
        d.push("panic".to_string());
        return d;
    }
    if a.status != b.status {
        d.push(format!("status {:?} vs {:?}", a.status, b.status));
    }
    if a.status == Status::Invalid && b.status == Status::Invalid {
        if strict && a.detail != b.detail {
            d.push("refusal reason".to_string());
        }
        return d;
    }
    if a.gas_used != b.gas_used {
        d.push(format!(
            "gas used {} vs {} ({:+})",
            a.gas_used,
            b.gas_used,
            i128::from(a.gas_used) - i128::from(b.gas_used)
        ));
    }
    if a.output != b.output {
        d.push("output".to_string());
    }
    if a.logs != b.logs {
        d.push(format!("logs ({} vs {})", a.logs.len(), b.logs.len()));
    }
    if a.state_root != b.state_root {
        d.push("state root".to_string());
    }
    d
}

/// The environment of a case, in Kiln's types.
pub struct KilnEnv {
    pub cfg: CfgEnv,
    pub block: BlockEnv,
    pub pre: InMemoryDb,
}

pub fn kiln_env(case: &Case) -> KilnEnv {
    let mut pre = InMemoryDb::new();
    for a in &case.accounts {
        pre.insert_account(
            a.address,
            a.balance,
            a.nonce,
            Bytes::from(a.code.clone()),
            a.storage.iter().copied(),
        );
    }
    let block = BlockEnv {
        number: U256::from(BLOCK_NUMBER),
        coinbase: COINBASE,
        timestamp: U256::from(TIMESTAMP),
        gas_limit: BLOCK_GAS_LIMIT,
        basefee: BASEFEE,
        prevrandao: PREVRANDAO,
        difficulty: U256::from(DIFFICULTY),
        excess_blob_gas: EXCESS_BLOB_GAS,
    };
    KilnEnv { cfg: CfgEnv::new(case.spec), block, pre }
}

pub fn kiln_tx(case: &Case, gas_limit: u64) -> TxEnv {
    let (gas_price, gas_priority_fee) = match case.tx_type {
        TxType::Eip1559 => (U256::from(MAX_FEE), Some(U256::from(PRIORITY_FEE))),
        _ => (U256::from(GAS_PRICE), None),
    };
    TxEnv {
        tx_type: case.tx_type,
        caller: SENDER,
        gas_limit,
        gas_price,
        gas_priority_fee,
        kind: if case.create { TxKind::Create } else { TxKind::Call(MAIN) },
        value: case.value,
        data: Bytes::from(case.data.clone()),
        nonce: case.nonce,
        chain_id: Some(1),
        access_list: case
            .access_list
            .iter()
            .map(|(address, keys)| kiln_runtime::AccessListItem {
                address: *address,
                storage_keys: keys.clone(),
            })
            .collect(),
        ..TxEnv::default()
    }
}

fn panic_text(p: Box<dyn std::any::Any + Send>) -> String {
    p.downcast_ref::<String>()
        .cloned()
        .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_else(|| "panic".into())
}

fn from_kiln(result: Result<ExecutionResult, EvmError>, db: &InMemoryDb) -> Outcome {
    match result {
        Err(e) => Outcome::invalid(Status::Invalid, e.to_string()),
        Ok(r) => {
            let (status, refunded, detail) = match &r {
                ExecutionResult::Success { gas_refunded, .. } => {
                    (Status::Success, *gas_refunded, String::new())
                }
                ExecutionResult::Revert { .. } => (Status::Revert, 0, String::new()),
                ExecutionResult::Halt { reason, .. } => (Status::Halt, 0, format!("{reason:?}")),
            };
            Outcome {
                status,
                gas_used: r.gas_used(),
                refunded,
                output: Bytes::copy_from_slice(r.output()),
                logs: r
                    .logs()
                    .iter()
                    .map(|l| (l.address, l.topics.clone(), l.data.clone()))
                    .collect(),
                state_root: Some(db.state_root()),
                detail,
            }
        }
    }
}

/// Kiln's interpreter, through the public entry point.
pub fn run_interp(env: &KilnEnv, tx: &TxEnv) -> Outcome {
    let mut db = env.pre.clone();
    let run = catch_unwind(AssertUnwindSafe(|| {
        kiln_runtime::transact_commit(&mut db, &env.cfg, &env.block, tx)
    }));
    match run {
        Err(p) => Outcome::invalid(Status::Panic, panic_text(p)),
        Ok(result) => {
            for (a, acc) in db.accounts() {
                eprintln!("KILN {a} {:?} {:?}", acc.info.balance, acc.info.nonce);
            }
            from_kiln(result, &db)
        }
    }
}

/// Kiln's JIT or an AOT library: what `kiln run --mode jit|aot`
/// does, with native code the harness owns so that it can read the JIT's compile statistics (a
/// contract the JIT refuses runs in the interpreter, which would otherwise go unnoticed) and
/// start afresh per batch.
pub fn run_native(native: &mut dyn NativeCode, env: &KilnEnv, tx: &TxEnv) -> Outcome {
    let mut db = env.pre.clone();
    let run = catch_unwind(AssertUnwindSafe(|| {
        Transact {
            db: &mut db,
            cfg: &env.cfg,
            block: &env.block,
            tx,
            cache: &mut CodeCache::default(),
            native: Some(native),
        }
        .run(&mut NoTracer)
    }));
    match run {
        Err(p) => Outcome::invalid(Status::Panic, panic_text(p)),
        Ok(result) => {
            let result = result.map(|(r, changes)| {
                db.commit(changes);
                r
            });
            from_kiln(result, &db)
        }
    }
}

pub fn revm_spec(spec: SpecId) -> RevmSpec {
    crate::revm_results::revm_spec(spec).expect("the generator picks forks revm implements")
}

pub type RevmDb = CacheDB<EmptyDB>;

pub fn revm_db(case: &Case) -> RevmDb {
    let mut db = RevmDb::new(EmptyDB::default());
    for a in &case.accounts {
        let info = if a.code.is_empty() {
            RevmAccountInfo { balance: a.balance, nonce: a.nonce, ..RevmAccountInfo::default() }
        } else {
            let code = Bytes::from(a.code.clone());
            let hash = keccak256(&code);
            let bytecode = Bytecode::new_raw_checked(code).expect("generated code is legal");
            RevmAccountInfo::new(a.balance, a.nonce, hash, bytecode)
        };
        db.insert_account_info(a.address, info);
        for &(k, v) in &a.storage {
            db.insert_account_storage(a.address, k, v).expect("in-memory");
        }
    }
    db
}

pub fn revm_tx(case: &Case, gas_limit: u64) -> RevmTx {
    let (tx_type, gas_price, priority) = match case.tx_type {
        TxType::Legacy => (0, GAS_PRICE, None),
        TxType::AccessList => (1, GAS_PRICE, None),
        TxType::Eip1559 => (2, MAX_FEE, Some(u128::from(PRIORITY_FEE))),
        other => panic!("transaction type {other:?} is not generated"),
    };
    let access_list = AccessList(
        case.access_list
            .iter()
            .map(|(address, keys)| AccessListItem { address: *address, storage_keys: keys.clone() })
            .collect(),
    );
    RevmTx::builder()
        .tx_type(Some(tx_type))
        .caller(SENDER)
        .gas_limit(gas_limit)
        .gas_price(u128::from(gas_price))
        .gas_priority_fee(priority)
        .kind(if case.create {
            revm::primitives::TxKind::Create
        } else {
            revm::primitives::TxKind::Call(MAIN)
        })
        .value(case.value)
        .data(Bytes::from(case.data.clone()))
        .nonce(case.nonce)
        .chain_id(Some(1))
        .access_list(access_list)
        .build()
        .expect("revm accepts the transaction fields")
}

/// The block of every case, in revm's types.
pub fn revm_block(case: &Case) -> RevmBlock {
    RevmBlock {
        number: U256::from(BLOCK_NUMBER),
        beneficiary: COINBASE,
        timestamp: U256::from(TIMESTAMP),
        gas_limit: BLOCK_GAS_LIMIT,
        basefee: BASEFEE,
        difficulty: U256::from(DIFFICULTY),
        prevrandao: Some(PREVRANDAO),
        blob_excess_gas_and_price: Some(BlobExcessGasAndPrice::new(
            EXCESS_BLOB_GAS,
            kiln_runtime::BlobSchedule::for_spec(case.spec).update_fraction,
        )),
        ..RevmBlock::default()
    }
}

/// revm, with its post-state applied to a clone of Kiln's pre-state for the root.
pub fn run_revm(case: &Case, db: &RevmDb, pre: &InMemoryDb, gas_limit: u64) -> Outcome {
    let spec = revm_spec(case.spec);
    let block = revm_block(case);
    let tx = revm_tx(case, gas_limit);
    let run = catch_unwind(AssertUnwindSafe(|| {
        let mut evm = Context::mainnet()
            .with_db(db.clone())
            .with_block(block)
            .modify_cfg_chained(|cfg| {
                cfg.set_spec_and_mainnet_gas_params(spec);
                cfg.chain_id = 1;
            })
            .build_mainnet();
        evm.transact(tx)
    }));
    let out = match run {
        Err(p) => return Outcome::invalid(Status::Panic, format!("revm: {}", panic_text(p))),
        Ok(Err(e)) => return Outcome::invalid(Status::Invalid, e.to_string()),
        Ok(Ok(out)) => out,
    };

    let changes = crate::revm_results::kiln_changes(&out.state, spec);
    let mut post = pre.clone();
    post.commit(changes);
    for (a, acc) in post.accounts() {
        eprintln!("REVM {a} {:?} {:?}", acc.info.balance, acc.info.nonce);
    }

    let r = out.result;
    let (status, detail) = match &r {
        RevmResult::Success { .. } => (Status::Success, String::new()),
        RevmResult::Revert { .. } => (Status::Revert, String::new()),
        RevmResult::Halt { reason, .. } => (Status::Halt, format!("{reason:?}")),
    };
    Outcome {
        status,
        gas_used: r.tx_gas_used(),
        refunded: 0,
        output: crate::revm_results::comparable_output(&r, case.create),
        logs: crate::revm_results::receipt_logs(&r),
        state_root: Some(post.state_root()),
        detail,
    }
}
