//! Running a piece of bytecode as a contract: what `kiln run` does.
//!
//! [`run`] installs the code as the contract [`CONTRACT`], and sends it one transaction from the
//! funded account [`SENDER`] carrying the request's calldata and value. Fees play no part: the
//! gas price and the base fee are zero. The block is number 1 at timestamp 1 with coinbase
//! [`COINBASE`]; its gas limit is never what stops a transaction.

use std::fmt::Write as _;
use std::io::Write;
use std::time::{Duration, Instant};

use alloy_primitives::{address, hex, Address, Bytes, B256, U256};
use kiln::{Engine, Evm, Tiers};
use kiln_runtime::handler::intrinsic_gas;
use kiln_runtime::{
    gas, BlockEnv, CfgEnv, EvmError, ExecutionResult, HaltReason, InMemoryDb, InvalidTransaction,
    JsonTracer, Log, SpecId, TraceSummary, TxEnv, TxKind, TxType,
};
use std::sync::Arc;

use crate::tools::exec;
use crate::tools::mode::{Mode, ModeNotBuilt};

/// The account holding the code.
pub const CONTRACT: Address = address!("1000000000000000000000000000000000000000");
/// The account that sends the transaction.
pub const SENDER: Address = address!("2000000000000000000000000000000000000000");
/// The block's beneficiary.
pub const COINBASE: Address = address!("3000000000000000000000000000000000000000");
/// The sender's balance before the transaction: 2^128 wei.
pub const SENDER_BALANCE: U256 = U256::from_limbs([0, 0, 1, 0]);
/// The contract's nonce: 1, as for any contract deployed since EIP-161.
pub const CONTRACT_NONCE: u64 = 1;
/// The gas limit of the block, unless the transaction asks for more.
const BLOCK_GAS_LIMIT: u64 = 30_000_000;
/// The default transaction gas limit before Osaka.
const DEFAULT_GAS_PRE_OSAKA: u64 = 10_000_000;

/// The default transaction gas limit under `spec`: the EIP-7825 cap (2^24 = 16,777,216) from
/// Osaka on, 10,000,000 before.
pub fn default_gas(spec: SpecId) -> u64 {
    if spec.is_enabled_in(SpecId::Osaka) {
        gas::TX_GAS_LIMIT_CAP
    } else {
        DEFAULT_GAS_PRE_OSAKA
    }
}

/// What to run, and how.
pub struct RunRequest {
    /// The contract's code. Any bytes are valid input: truncated PUSH data reads as zeros,
    /// undefined opcodes halt.
    pub code: Vec<u8>,
    pub calldata: Vec<u8>,
    /// Wei sent with the call; at most [`SENDER_BALANCE`].
    pub value: U256,
    /// The transaction gas limit, including the intrinsic gas; `None` is [`default_gas`].
    pub gas: Option<u64>,
    pub spec: SpecId,
    /// How the code is executed; a mode that is not built yet is refused.
    pub mode: Mode,
    /// With [`Mode::Tiered`]: the policy to run under (`kiln run --stats` reads it after the
    /// run). `None`: a new one, configured by `KILN_TIER_*`.
    pub tiers: Option<Arc<Tiers>>,
    /// Where to write an EIP-3155 trace (one JSON line per executed instruction, then the
    /// summary line), if anywhere. Only [`Mode::Interp`] traces.
    pub trace: Option<Box<dyn Write>>,
    /// With [`Mode::Aot`]: the shared object to run from (built by `kiln compile`). `None`
    /// compiles the code into a temporary one first.
    pub aot: Option<std::path::PathBuf>,
    /// With `aot`: refuse to run when the library lacks the code for the fork, rather than
    /// run it in the interpreter (and say so in [`RunOutcome::fallback`]).
    pub aot_strict: bool,
    /// Also time the transaction: run it again on copies of the pre-state for this long (at
    /// least [`BENCH_MIN_RUNS`] times), in the same mode, without a tracer.
    pub bench: Option<Duration>,
}

/// Timed runs `--bench` makes at the least, however short its time.
pub const BENCH_MIN_RUNS: usize = 5;

/// How long the transaction took, over repeated runs ([`RunRequest::bench`]): each run
/// executes and commits it on a fresh copy of the pre-state (the copy is not timed). Compiled
/// modes compile once, before the first timed run.
#[derive(Clone, Debug)]
pub struct Timing {
    pub runs: usize,
    pub median: Duration,
    pub min: Duration,
}

/// Runs `tx` on `engine` on copies of `pre` for `budget` (at least [`BENCH_MIN_RUNS`] times),
/// timing the transaction alone (not the copy, nor building the EVM over it).
fn time_runs(
    budget: Duration,
    pre: &InMemoryDb,
    engine: &Engine,
    (cfg, block, tx): (&CfgEnv, &BlockEnv, &TxEnv),
) -> Timing {
    let mut times = Vec::new();
    let start = Instant::now();
    while times.len() < BENCH_MIN_RUNS || start.elapsed() < budget {
        let mut db = pre.clone();
        let mut evm = Evm::new(&mut db, engine, cfg.clone(), block.clone());
        let t = Instant::now();
        let _ = evm.transact_commit(tx);
        times.push(t.elapsed());
    }
    times.sort();
    Timing { runs: times.len(), median: times[times.len() / 2], min: times[0] }
}

impl RunRequest {
    /// A request to run `code` with no calldata, no value, the default gas, under the latest
    /// fork, in the interpreter, without a trace.
    pub fn new(code: Vec<u8>) -> Self {
        Self {
            code,
            calldata: Vec::new(),
            value: U256::ZERO,
            gas: None,
            spec: SpecId::LATEST,
            mode: Mode::Interp,
            tiers: None,
            trace: None,
            aot: None,
            aot_strict: false,
            bench: None,
        }
    }
}

/// How the call ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RunStatus {
    Success,
    Revert,
    /// An exceptional halt: all the gas given to the call is consumed.
    Halt(HaltReason),
}

impl RunStatus {
    /// `success`, `revert` or `halt`.
    pub fn name(self) -> &'static str {
        match self {
            RunStatus::Success => "success",
            RunStatus::Revert => "revert",
            RunStatus::Halt(_) => "halt",
        }
    }

    pub fn halt_reason(self) -> Option<HaltReason> {
        match self {
            RunStatus::Halt(reason) => Some(reason),
            _ => None,
        }
    }
}

/// The result of a run. Reverts and halts are results too, not errors.
#[derive(Debug)]
pub struct RunOutcome {
    pub status: RunStatus,
    /// The transaction gas limit the run had.
    pub gas_limit: u64,
    /// Gas the transaction used, as a receipt reports it: intrinsic gas (21000 plus calldata)
    /// and execution, after refunds, and at least the EIP-7623 calldata floor.
    pub gas_used: u64,
    /// The intrinsic gas: 21000 plus 4 per zero and 16 per non-zero calldata byte.
    pub intrinsic_gas: u64,
    /// `gas_used` minus `intrinsic_gas`: what the code cost, after refunds (and, when the
    /// EIP-7623 floor exceeds the real cost, the top-up to the floor).
    pub execution_gas: u64,
    /// Gas refunded (SSTORE clears), already deducted from `gas_used`.
    pub gas_refunded: u64,
    /// Return data of a success or a revert; empty after a halt.
    pub output: Vec<u8>,
    /// Logs of a successful run; a revert or halt discards them.
    pub logs: Vec<Log>,
    /// The state root after the transaction was committed.
    pub state_root: B256,
    /// The state after the transaction.
    #[cfg_attr(not(test), allow(dead_code))]
    pub post_state: InMemoryDb,
    /// Why the trace is incomplete, if writing it failed. Tracing stops at the first error; the
    /// run itself completes.
    pub trace_error: Option<std::io::Error>,
    /// Why the code ran somewhere other than the mode asked for (an AOT library without it).
    pub fallback: Option<String>,
    /// With [`RunRequest::bench`]: how long the transaction took.
    pub timing: Option<Timing>,
}

/// Why a run could not happen. Each is a problem with the request, not with the code.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    Mode(#[from] ModeNotBuilt),
    #[error(
        "gas limit {gas} exceeds the per-transaction cap of {cap} under {spec} (EIP-7825)",
        cap = gas::TX_GAS_LIMIT_CAP
    )]
    GasAboveCap { gas: u64, spec: SpecId },
    #[error("gas limit {gas} is below the intrinsic gas {intrinsic} (21000 plus calldata)")]
    GasBelowIntrinsic { gas: u64, intrinsic: u64 },
    #[error(
        "gas limit {gas} is below the EIP-7623 calldata floor {floor} \
         (21000 plus 10 per calldata token)"
    )]
    GasBelowFloor { gas: u64, floor: u64 },
    #[error("value {value} exceeds what the sender can pay (its balance is 2^128 wei)")]
    ValueTooLarge { value: U256 },
    #[error("a trace needs the interpreter (mode {0} runs compiled code, which is not traced)")]
    TraceNeedsInterp(Mode),
    #[error("mode cannot run: {0}")]
    ModeFailed(#[from] exec::ExecError),
    #[error(
        "{library} holds no code {hash} compiled for {spec} (--aot-strict refuses to run it in the \
         interpreter)"
    )]
    NotInLibrary { library: String, hash: B256, spec: SpecId },
    #[error(transparent)]
    Evm(EvmError),
}

/// Runs `req.code` as the contract [`CONTRACT`] called by [`SENDER`].
pub fn run(req: RunRequest) -> Result<RunOutcome, RunError> {
    req.mode.ensure_built()?;
    let spec = req.spec;
    let gas_limit = req.gas.unwrap_or_else(|| default_gas(spec));

    let mut db = InMemoryDb::new();
    db.insert_account(SENDER, SENDER_BALANCE, 0, Bytes::new(), []);
    db.insert_account(CONTRACT, U256::ZERO, CONTRACT_NONCE, Bytes::from(req.code.clone()), []);

    let cfg = CfgEnv::new(spec);
    let block = BlockEnv {
        number: U256::from(1),
        coinbase: COINBASE,
        timestamp: U256::from(1),
        gas_limit: gas_limit.max(BLOCK_GAS_LIMIT),
        basefee: 0,
        ..BlockEnv::default()
    };
    let tx = TxEnv {
        tx_type: TxType::Legacy,
        caller: SENDER,
        gas_limit,
        gas_price: U256::ZERO,
        kind: TxKind::Call(CONTRACT),
        value: req.value,
        data: Bytes::from(req.calldata),
        nonce: 0,
        chain_id: Some(cfg.chain_id),
        ..TxEnv::default()
    };
    let intrinsic = intrinsic_gas(&tx, spec).initial;

    let mut trace_error = None;
    let mut fallback = None;
    let mut timing = None;
    let pre = req.bench.map(|_| db.clone());
    // Times the transaction on `engine` when asked.
    let mut time = |engine: &Engine| {
        if let (Some(budget), Some(pre)) = (req.bench, &pre) {
            timing = Some(time_runs(budget, pre, engine, (&cfg, &block, &tx)));
        }
    };
    let result = match (req.mode, req.trace) {
        (Mode::Interp, Some(out)) => {
            let engine = Engine::interpreter();
            let mut tracer = JsonTracer::new(out);
            let mut traced = Evm::new(&mut db, &engine, cfg.clone(), block.clone());
            let start = Instant::now();
            let transacted = traced.inspect_commit(&tx, &mut tracer);
            let elapsed = start.elapsed();
            drop(traced);
            let result = transacted.map_err(|e| request_error(e, &tx, spec))?;
            let summary = TraceSummary {
                state_root: db.state_root(),
                output: result.output(),
                gas_used: result.gas_used(),
                pass: result.is_success(),
                fork: spec.name(),
                time: elapsed,
            };
            tracer.write_line(&summary.to_line());
            trace_error = tracer.error.take();
            let mut out = tracer.into_inner();
            if let Err(e) = out.flush() {
                trace_error.get_or_insert(e);
            }
            time(&engine);
            result
        }
        // Compiled code does not step through the tracer: a trace would be silently empty.
        (mode, Some(_)) => return Err(RunError::TraceNeedsInterp(mode)),
        (Mode::Aot, None) => {
            let lib = match &req.aot {
                Some(path) => kiln_codegen::AotLibrary::open(path).map_err(Into::into),
                None => exec::build_aot_library([(req.code.clone(), spec)]),
            }
            .map_err(RunError::ModeFailed)?;
            let hash = alloy_primitives::keccak256(&req.code);
            if let (Some(path), None) = (&req.aot, lib.get(hash, spec)) {
                let library = path.display().to_string();
                if req.aot_strict {
                    return Err(RunError::NotInLibrary { library, hash, spec });
                }
                fallback = Some(format!(
                    "{library} holds no code {hash} compiled for {spec}: it ran in the interpreter"
                ));
            }
            let engine = exec::engine(Mode::Aot, None, Some(lib))?;
            let result =
                Evm::new(&mut db, &engine, cfg.clone(), block.clone()).transact_commit(&tx);
            time(&engine);
            result.map_err(|e| request_error(e, &tx, spec))?
        }
        (mode, None) => {
            let engine = exec::engine(mode, req.tiers.as_ref(), None)?;
            let result =
                Evm::new(&mut db, &engine, cfg.clone(), block.clone()).transact_commit(&tx);
            time(&engine);
            result.map_err(|e| request_error(e, &tx, spec))?
        }
    };
    let gas_used = result.gas_used();
    let (status, gas_refunded, output, logs) = match result {
        ExecutionResult::Success { gas_refunded, output, logs, .. } => {
            (RunStatus::Success, gas_refunded, output, logs)
        }
        ExecutionResult::Revert { output, .. } => (RunStatus::Revert, 0, output, Vec::new()),
        ExecutionResult::Halt { reason, .. } => (RunStatus::Halt(reason), 0, Bytes::new(), vec![]),
    };
    Ok(RunOutcome {
        status,
        gas_limit,
        gas_used,
        intrinsic_gas: intrinsic,
        execution_gas: gas_used.saturating_sub(intrinsic),
        gas_refunded,
        output: output.to_vec(),
        logs,
        state_root: db.state_root(),
        post_state: db,
        trace_error,
        fallback,
        timing,
    })
}

/// Names the request's fault in its own terms where the runtime's error is about a field.
fn request_error(e: EvmError, tx: &TxEnv, spec: SpecId) -> RunError {
    match e {
        EvmError::Transaction(InvalidTransaction::GasLimitExceedsMaximum { gas_limit }) => {
            RunError::GasAboveCap { gas: gas_limit, spec }
        }
        EvmError::Transaction(InvalidTransaction::IntrinsicGasTooLow { intrinsic, gas_limit }) => {
            RunError::GasBelowIntrinsic { gas: gas_limit, intrinsic }
        }
        EvmError::Transaction(InvalidTransaction::FloorGasTooLow { floor, gas_limit }) => {
            RunError::GasBelowFloor { gas: gas_limit, floor }
        }
        EvmError::Transaction(
            InvalidTransaction::InsufficientFunds | InvalidTransaction::Overflow,
        ) => RunError::ValueTooLarge { value: tx.value },
        e => RunError::Evm(e),
    }
}

impl RunOutcome {
    /// The summary `kiln run` prints, one `key: value` line each.
    pub fn to_text(&self) -> String {
        let mut s = String::new();
        // Writing to a String cannot fail.
        let _ = match self.status {
            RunStatus::Halt(reason) => writeln!(s, "status: halt ({reason:?})"),
            status => writeln!(s, "status: {}", status.name()),
        };
        let _ = writeln!(s, "gas used: {}", self.gas_used);
        let _ = writeln!(s, "execution gas: {}", self.execution_gas);
        let _ = writeln!(s, "output: {}", hex::encode_prefixed(&self.output));
        let _ = writeln!(s, "logs: {}", self.logs.len());
        for (i, log) in self.logs.iter().enumerate() {
            let topics: Vec<String> = log.topics.iter().map(|t| t.to_string()).collect();
            let _ = writeln!(
                s,
                "log {i}: address {} topics [{}] data {}",
                hex::encode_prefixed(log.address),
                topics.join(", "),
                hex::encode_prefixed(&log.data)
            );
        }
        let _ = writeln!(s, "state root: {}", self.state_root);
        if let Some(t) = &self.timing {
            let _ = writeln!(
                s,
                "time: median {:.3} us, min {:.3} us ({} runs)",
                t.median.as_secs_f64() * 1e6,
                t.min.as_secs_f64() * 1e6,
                t.runs
            );
        }
        s
    }

    /// The summary as one JSON object.
    pub fn to_json(&self) -> serde_json::Value {
        let logs: Vec<serde_json::Value> = self
            .logs
            .iter()
            .map(|log| {
                serde_json::json!({
                    "address": hex::encode_prefixed(log.address),
                    "topics": log.topics.iter().map(|t| t.to_string()).collect::<Vec<_>>(),
                    "data": hex::encode_prefixed(&log.data),
                })
            })
            .collect();
        let timing = self.timing.as_ref().map(|t| {
            serde_json::json!({
                "runs": t.runs,
                "median_ns": t.median.as_nanos() as u64,
                "min_ns": t.min.as_nanos() as u64,
            })
        });
        serde_json::json!({
            "timing": timing,
            "status": self.status.name(),
            "halt_reason": self.status.halt_reason().map(|r| format!("{r:?}")),
            "gas_used": self.gas_used,
            "execution_gas": self.execution_gas,
            "intrinsic_gas": self.intrinsic_gas,
            "gas_refunded": self.gas_refunded,
            "gas_limit": self.gas_limit,
            "output": hex::encode_prefixed(&self.output),
            "logs": logs,
            "state_root": self.state_root.to_string(),
        })
    }
}

/// Why a number given on the command line was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum NumberError {
    #[error("`{0}` is not a number (expected decimal digits, or hex digits after 0x)")]
    Invalid(String),
    #[error("`{text}` does not fit in {bits} bits")]
    TooLarge { text: String, bits: usize },
}

/// Splits `0x`-prefixed hex from decimal and checks the digits.
fn number_digits(text: &str) -> Result<(&str, u64), NumberError> {
    let (digits, radix) = match text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
        Some(hex) => (hex, 16),
        None => (text, 10),
    };
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return Err(NumberError::Invalid(text.to_string()));
    }
    Ok((digits, radix as u64))
}

/// A 256-bit number written in decimal or as `0x`-prefixed hex (a value in wei).
pub fn parse_u256(text: &str) -> Result<U256, NumberError> {
    let (digits, radix) = number_digits(text)?;
    U256::from_str_radix(digits, radix)
        .map_err(|_| NumberError::TooLarge { text: text.to_string(), bits: 256 })
}

/// A 64-bit number written in decimal or as `0x`-prefixed hex (a gas amount).
pub fn parse_u64(text: &str) -> Result<u64, NumberError> {
    let (digits, radix) = number_digits(text)?;
    u64::from_str_radix(digits, radix as u32)
        .map_err(|_| NumberError::TooLarge { text: text.to_string(), bits: 64 })
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy_primitives::{keccak256, KECCAK256_EMPTY};

    fn code(hex: &str) -> Vec<u8> {
        crate::tools::input::parse_hex(hex).unwrap()
    }

    fn word(v: u64) -> Vec<u8> {
        U256::from(v).to_be_bytes::<32>().to_vec()
    }

    #[test]
    fn add_and_return() {
        // PUSH1 1, PUSH1 2, ADD, PUSH1 0, MSTORE, PUSH1 32, PUSH1 0, RETURN: six PUSH/ADD at 3,
        // MSTORE 3 plus one word of memory 3, RETURN 0 (memory already paid) = 24.
        let out = run(RunRequest::new(code("6001600201600052 60206000f3"))).unwrap();
        assert_eq!(out.status, RunStatus::Success);
        assert_eq!(out.output, word(3));
        assert_eq!(out.intrinsic_gas, 21_000);
        assert_eq!(out.execution_gas, 24);
        assert_eq!(out.gas_used, 21_024);
        assert_eq!(out.gas_limit, 16_777_216);
        assert!(out.logs.is_empty());
        assert!(out.trace_error.is_none());
    }

    #[test]
    fn calldata_costs_and_floor() {
        // PUSH1 0, CALLDATALOAD, PUSH1 0, MSTORE, PUSH1 32, PUSH1 0, RETURN: 3+3+3+6+3+3 = 21.
        let mut req = RunRequest::new(code("600035600052 60206000f3"));
        req.calldata = vec![0x00, 0xff];
        req.spec = SpecId::Cancun;
        let out = run(req).unwrap();
        let mut expected = vec![0u8; 32];
        expected[1] = 0xff;
        assert_eq!(out.output, expected);
        // 21000 + 4 (zero byte) + 16 (non-zero byte), plus 21 for the code.
        assert_eq!(out.intrinsic_gas, 21_020);
        assert_eq!(out.gas_used, 21_041);
        assert_eq!(out.gas_limit, 10_000_000);

        // Prague's EIP-7623 floor: 21000 + 10 * (1 + 4 * 1) tokens = 21050 > 21041.
        let mut req = RunRequest::new(code("600035600052 60206000f3"));
        req.calldata = vec![0x00, 0xff];
        req.spec = SpecId::Prague;
        let out = run(req).unwrap();
        assert_eq!(out.gas_used, 21_050);
        assert_eq!(out.execution_gas, 30);
    }

    #[test]
    fn sstore_cold_slot() {
        // PUSH1 1, PUSH1 0, SSTORE: 3 + 3 + (20000 set + 2100 cold) = 22106.
        let out = run(RunRequest::new(code("6001600055"))).unwrap();
        assert_eq!(out.status, RunStatus::Success);
        assert_eq!(out.gas_used, 21_000 + 22_106);
        let contract = out.post_state.account(&CONTRACT).unwrap();
        assert_eq!(contract.storage.get(&U256::ZERO), Some(&U256::from(1)));
    }

    #[test]
    fn sstore_clear_refund() {
        // Set slot 0 then clear it in the same transaction: 3+3+22100, 3+3+100 (dirty, warm),
        // = 22212; the refund for restoring the original zero is 20000 - 100 = 19900, capped
        // at a fifth of (21000 + 22212) = 8642.
        let out = run(RunRequest::new(code("6001600055 6000600055"))).unwrap();
        assert_eq!(out.gas_refunded, 8_642);
        assert_eq!(out.gas_used, 21_000 + 22_212 - 8_642);
    }

    #[test]
    fn revert_keeps_output_and_drops_state() {
        // SSTORE 1 at slot 0, then store 3 in memory and REVERT(0, 32).
        let out = run(RunRequest::new(code("6001600055 6003600052 60206000fd"))).unwrap();
        assert_eq!(out.status, RunStatus::Revert);
        assert_eq!(out.output, word(3));
        // 6 + 22100, PUSH1 PUSH1 MSTORE(+3 memory) = 12, PUSH1 PUSH1 REVERT = 6.
        assert_eq!(out.gas_used, 21_000 + 22_106 + 12 + 6);
        assert!(out.post_state.account(&CONTRACT).unwrap().storage.is_empty());
    }

    #[test]
    fn invalid_opcode_consumes_all_gas() {
        let mut req = RunRequest::new(vec![0xfe]);
        req.gas = Some(100_000);
        let out = run(req).unwrap();
        assert_eq!(out.status, RunStatus::Halt(HaltReason::InvalidOpcode));
        assert_eq!(out.gas_used, 100_000);
        assert!(out.output.is_empty());
        let json = out.to_json();
        assert_eq!(json["status"], "halt");
        assert_eq!(json["halt_reason"], "InvalidOpcode");
        assert!(out.to_text().starts_with("status: halt (InvalidOpcode)\ngas used: 100000\n"));
    }

    #[test]
    fn log1() {
        // PUSH1 0xaa, PUSH1 0, MSTORE8 (3 + 3 memory), PUSH1 0x42 (topic), PUSH1 1 (size),
        // PUSH1 0 (offset), LOG1 (375 + 375 per topic + 8 per byte) = 3+3+6+3+3+3+758 = 779.
        let out = run(RunRequest::new(code("60aa600053 604260016000a1"))).unwrap();
        assert_eq!(out.gas_used, 21_779);
        assert_eq!(out.logs.len(), 1);
        let log = &out.logs[0];
        assert_eq!(log.address, CONTRACT);
        assert_eq!(log.topics, vec![B256::from(U256::from(0x42))]);
        assert_eq!(log.data.as_ref(), &[0xaa]);
        let text = out.to_text();
        assert!(
            text.contains(
                "log 0: address 0x1000000000000000000000000000000000000000 topics \
                 [0x0000000000000000000000000000000000000000000000000000000000000042] data 0xaa\n"
            ),
            "{text}"
        );
    }

    #[test]
    fn value_is_transferred() {
        // CALLVALUE, PUSH1 0, MSTORE, PUSH1 32, PUSH1 0, RETURN.
        let mut req = RunRequest::new(code("34600052 60206000f3"));
        req.value = U256::from(1234);
        let out = run(req).unwrap();
        assert_eq!(out.output, word(1234));
        let contract = out.post_state.account(&CONTRACT).unwrap();
        assert_eq!(contract.info.balance, U256::from(1234));
        let sender = out.post_state.account(&SENDER).unwrap();
        assert_eq!(sender.info.balance, SENDER_BALANCE - U256::from(1234));
        assert_eq!(sender.info.nonce, 1);

        let mut req = RunRequest::new(vec![]);
        req.value = SENDER_BALANCE + U256::from(1);
        let err = run(req).unwrap_err();
        assert!(matches!(err, RunError::ValueTooLarge { .. }), "{err}");
    }

    #[test]
    fn state_root_of_an_empty_run() {
        // Computed from the trie directly: the sender with nonce 1 and its full balance (gas
        // is free), the contract unchanged; the coinbase was touched while empty and is gone.
        let out = run(RunRequest::new(vec![0x00])).unwrap();
        let code_hash = keccak256([0x00]);
        let accounts = [
            (
                SENDER,
                alloy_trie::TrieAccount::new(
                    1,
                    SENDER_BALANCE,
                    alloy_trie::EMPTY_ROOT_HASH,
                    KECCAK256_EMPTY,
                ),
            ),
            (
                CONTRACT,
                alloy_trie::TrieAccount::new(1, U256::ZERO, alloy_trie::EMPTY_ROOT_HASH, code_hash),
            ),
        ];
        assert_eq!(out.state_root, alloy_trie::root::state_root_unhashed(accounts));
        assert!(out.post_state.account(&COINBASE).is_none());
    }

    #[test]
    fn truncated_push_is_padded() {
        // PUSH2 with one byte of data reads 0x0100, then the code ends (STOP).
        let out = run(RunRequest::new(code("6101"))).unwrap();
        assert_eq!(out.status, RunStatus::Success);
        assert_eq!(out.gas_used, 21_003);
    }

    #[test]
    fn trace_lines() {
        #[derive(Clone, Default)]
        struct Shared(std::rc::Rc<std::cell::RefCell<Vec<u8>>>);
        impl Write for Shared {
            fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
                self.0.borrow_mut().extend_from_slice(buf);
                Ok(buf.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let sink = Shared::default();
        let mut req = RunRequest::new(code("6001600201 00"));
        req.gas = Some(50_000);
        req.trace = Some(Box::new(sink.clone()));
        let out = run(req).unwrap();
        assert_eq!(out.gas_used, 21_009);
        let text = String::from_utf8(sink.0.borrow().clone()).unwrap();
        let mut lines: Vec<serde_json::Value> =
            text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        let summary = lines.pop().unwrap();
        let pcs: Vec<u64> = lines.iter().map(|l| l["pc"].as_u64().unwrap()).collect();
        assert_eq!(pcs, [0, 2, 4, 5]);
        let names: Vec<&str> = lines.iter().map(|l| l["opName"].as_str().unwrap()).collect();
        assert_eq!(names, ["PUSH1", "PUSH1", "ADD", "STOP"]);
        // The first instruction sees the gas left after the intrinsic 21000.
        assert_eq!(lines[0]["gas"], "0x7148");
        assert_eq!(lines[3]["gas"], format!("{:#x}", 29_000 - 9));
        let costs: Vec<&str> = lines.iter().map(|l| l["gasCost"].as_str().unwrap()).collect();
        assert_eq!(costs, ["0x3", "0x3", "0x3", "0x0"]);
        assert_eq!(lines[3]["stack"], serde_json::json!(["0x3"]));
        assert_eq!(lines[3]["memSize"], 0);
        assert_eq!(lines[3]["depth"], 1);
        assert_eq!(lines[3]["refund"], "0x0");
        assert_eq!(lines[3]["returnData"], "0x");
        assert!(lines.iter().all(|l| l.get("error").is_none()));
        // The summary line: the transaction's gas used (0x5211 = 21009), its state root.
        assert_eq!(summary["gasUsed"], "0x5211");
        assert_eq!(summary["stateRoot"], out.state_root.to_string());
        assert_eq!(summary["output"], "0x");
        assert_eq!(summary["pass"], true);
        assert_eq!(summary["fork"], "Osaka");
    }

    #[test]
    fn request_errors() {
        let mut req = RunRequest::new(vec![]);
        req.gas = Some(gas::TX_GAS_LIMIT_CAP + 1);
        let err = run(req).unwrap_err();
        assert!(err.to_string().contains("16777216"), "{err}");
        assert!(matches!(err, RunError::GasAboveCap { .. }));

        // Prague has no cap.
        let mut req = RunRequest::new(vec![]);
        req.gas = Some(40_000_000);
        req.spec = SpecId::Prague;
        assert_eq!(run(req).unwrap().gas_used, 21_000);

        let mut req = RunRequest::new(vec![]);
        req.gas = Some(20_999);
        let err = run(req).unwrap_err();
        assert!(matches!(err, RunError::GasBelowIntrinsic { intrinsic: 21_000, .. }), "{err}");

        // Every fork runs, under its own rules: PUSH0 is Shanghai's.
        for (spec, halts) in
            [(SpecId::Frontier, true), (SpecId::Paris, true), (SpecId::Shanghai, false)]
        {
            let mut req = RunRequest::new(code("5f00"));
            req.spec = spec;
            let out = run(req).unwrap();
            let halted = matches!(out.status, RunStatus::Halt(HaltReason::InvalidOpcode));
            assert_eq!(halted, halts, "{spec}: {}", out.to_text());
        }
    }

    #[test]
    fn every_built_mode_agrees() {
        for mode in Mode::ALL {
            let mut req = RunRequest::new(code("6001600201600052 60206000f3"));
            req.mode = mode;
            match run(req) {
                Ok(out) => {
                    assert!(mode.is_built(), "{mode}");
                    assert_eq!(out.gas_used, 21_024, "{mode}");
                    assert_eq!(out.output, word(3), "{mode}");
                }
                Err(RunError::Mode(_)) => assert!(!mode.is_built(), "{mode}"),
                Err(e) => panic!("{mode}: {e}"),
            }
            if mode != Mode::Interp && mode.is_built() {
                let mut req = RunRequest::new(vec![0x00]);
                req.mode = mode;
                req.trace = Some(Box::new(std::io::sink()));
                assert!(matches!(run(req), Err(RunError::TraceNeedsInterp(_))), "{mode}");
            }
        }
    }

    #[test]
    fn numbers() {
        assert_eq!(parse_u256("0"), Ok(U256::ZERO));
        assert_eq!(parse_u256("1000"), Ok(U256::from(1000)));
        assert_eq!(parse_u256("0x10"), Ok(U256::from(16)));
        assert_eq!(parse_u256("0XfF"), Ok(U256::from(255)));
        assert_eq!(parse_u256(&U256::MAX.to_string()), Ok(U256::MAX));
        assert!(matches!(
            parse_u256(
                "115792089237316195423570985008687907853269984665640564039457584007913129639936"
            ),
            Err(NumberError::TooLarge { bits: 256, .. })
        ));
        for bad in ["", "0x", "-1", "1_000", "ff", "1e3", " 1", "0x0x1"] {
            assert!(matches!(parse_u256(bad), Err(NumberError::Invalid(_))), "{bad}");
        }
        assert_eq!(parse_u64("0x5208"), Ok(21_000));
        assert!(matches!(parse_u64("18446744073709551616"), Err(NumberError::TooLarge { .. })));
    }
}
