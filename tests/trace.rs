//! Differential test of EIP-3155 traces: the same transactions traced by Kiln's interpreter
//! and by revm 43's `TracerEip3155`, every field of every line compared.
//!
//! Two sources of transactions:
//! - generated programs, from the differential test's generator (`differential/gen.rs`), each
//!   run with its gas limit and with about half of it (so that many end out of gas);
//! - the shared state tests (`/work/shared/fixtures/state_tests`, or `KILN_FIXTURES`/
//!   `state_tests`), every third Cancun, Prague and Osaka case by default, or every N-th.
//!
//! What revm prints differently by design, and how it is normalised here (`docs/traces.md`):
//! - `memSize`: revm writes a hex string, Kiln a number (the EIP's type);
//! - `refund`: revm writes the running frame's counter, Kiln the transaction's (the EIP's
//!   "global" refund): the test sums revm's counters over the frames on the call stack;
//! - `returnData`: revm always writes `0x`; Kiln writes the frame's return data buffer. The
//!   test takes revm's buffer from the interpreter at each step and compares with that;
//! - `error`: revm writes its `InstructionResult` on every instruction that ends a frame,
//!   `Stop`/`Return`/`Revert`/`SelfDestruct` included; Kiln writes one only on a failure, named
//!   by its own halt reasons. [`kiln_error`] is the mapping;
//! - `gasCost` of a line with `error` (an exceptional halt): Kiln's is all the gas left, which
//!   the frame loses, as revm's is for `OutOfGas`; for its other halts revm shows what it had
//!   charged before the check that failed, which depends on its order of checks;
//! - `opName`: revm names 0x44 `DIFFICULTY`, Kiln `PREVRANDAO` (its name since the merge); of a
//!   byte that is no opcode revm leaves it out, Kiln writes geth's `opcode 0x.. not defined`
//!   (revm also names the opcodes of forks after Osaka, which are no opcode to Kiln);
//! - revm names a DUPn on too short a stack `StackOverflow`; Kiln `StackUnderflow`;
//! - an instruction that fails two checks at once may be named for a different one where the
//!   EVMs check in a different order ([`ORDER_PAIRS`]); one short of both its stack items and
//!   its static gas is `OutOfGas` to revm (gas first) and `StackUnderflow` or `StackOverflow`
//!   to Kiln, whose loops check the stack first as compiled code does
//!   ([`short_of_stack_and_gas`]);
//! - state tests of EIP-7610 collisions are skipped: revm 43 does not count storage in a
//!   collision and runs initcode the fixtures refuse;
//! - the summary: revm's `stateRoot` is zero, its `gasUsed` is before the refund and the
//!   EIP-7623 floor, and its `output` of a creation is the deployed code; Kiln's are the
//!   post-state root, the receipt's gas used and the creation's (empty) output. The test checks
//!   Kiln's against revm's result and post-state instead. Kiln names the fork as the fixtures
//!   do (`EIP150`, `ConstantinopleFix`, `Paris`), revm by its own names (`Tangerine`,
//!   `Petersburg`, `Merge`).
//!
//! Environment: `KILN_TRACE_CASES` (generated cases, default 300, 50 in a debug build), `KILN_TRACE_SEED`,
//! `KILN_TRACE_EVERY` (every N-th state-test case, default 3, about 3 minutes, or 200 in a debug
//! build; 1 for all 26,131, about 19 minutes on two shared cores), `KILN_TRACE_MAX_LINES`
//! (lines kept per trace, default 20000; longer traces compare their first lines and their
//! length).

/// The `kiln` tool's code (state-test loading, revm's side of `kiln bench`), private to the
/// binary, compiled into this test as well.
#[allow(dead_code, unused_imports)]
#[path = "../src/tools/mod.rs"]
mod tools;
/// For the differential harness, as `tests/differential.rs` includes it.
use tools::bench::revm_results;

#[allow(dead_code)]
mod differential {
    pub mod asm;
    pub mod control;
    pub mod gen;
    pub mod oracle;
    pub mod rng;
}

use std::cell::RefCell;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::time::{Duration, Instant};

use alloy_primitives::{hex, Bytes, B256};
use differential::gen;
use differential::oracle;
use differential::rng::Rng;
use kiln::{Engine, Evm};
use kiln_runtime::{
    BlockEnv, CfgEnv, DatabaseCommit, InMemoryDb, JsonTracer, SpecId, TraceSummary, TxEnv, TxKind,
};
use revm::context::result::ExecutionResult as RevmResult;
use revm::context::{BlockEnv as RevmBlock, Context, TxEnv as RevmTx};
use revm::context_interface::ContextTr;
use revm::database::{CacheDB, EmptyDB};
use revm::inspector::inspectors::TracerEip3155;
use revm::inspector::{InspectEvm, Inspector};
use revm::interpreter::interpreter::EthInterpreter;
use revm::interpreter::interpreter_types::ReturnData;
use revm::interpreter::{CallInputs, CallOutcome, CreateInputs, CreateOutcome, Interpreter};
use revm::primitives::hardfork::SpecId as RevmSpec;
use revm::{MainBuilder, MainContext};
use serde_json::Value;
use tools::statetest::env::{block_env, cfg_env, pre_state, tx_env};
use tools::statetest::fixture::FixtureFile;

type RevmDb = CacheDB<EmptyDB>;

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn max_lines() -> usize {
    env_u64("KILN_TRACE_MAX_LINES", 20_000) as usize
}

/// The lines written to it (the first `limit`) and how many there were.
#[derive(Default)]
struct Lines {
    kept: Vec<String>,
    total: usize,
    partial: Vec<u8>,
    limit: usize,
}

#[derive(Clone)]
struct Sink(Rc<RefCell<Lines>>);

impl Sink {
    fn new() -> Self {
        Sink(Rc::new(RefCell::new(Lines { limit: max_lines(), ..Lines::default() })))
    }
}

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let mut l = self.0.borrow_mut();
        for &b in buf {
            if b == b'\n' {
                let line = String::from_utf8_lossy(&l.partial).into_owned();
                l.partial.clear();
                l.total += 1;
                if l.kept.len() < l.limit {
                    l.kept.push(line);
                }
            } else {
                l.partial.push(b);
            }
        }
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// revm's tracer, plus the return data buffer at each step (revm's lines always say `0x`).
struct Capture {
    inner: TracerEip3155,
    return_data: Rc<RefCell<Vec<String>>>,
    pending: String,
    limit: usize,
}

impl<CTX: ContextTr> Inspector<CTX, EthInterpreter> for Capture {
    fn initialize_interp(&mut self, interp: &mut Interpreter<EthInterpreter>, ctx: &mut CTX) {
        Inspector::<CTX, EthInterpreter>::initialize_interp(&mut self.inner, interp, ctx);
    }
    fn step(&mut self, interp: &mut Interpreter<EthInterpreter>, ctx: &mut CTX) {
        self.pending = hex::encode_prefixed(interp.return_data.buffer());
        Inspector::<CTX, EthInterpreter>::step(&mut self.inner, interp, ctx);
    }
    fn step_end(&mut self, interp: &mut Interpreter<EthInterpreter>, ctx: &mut CTX) {
        Inspector::<CTX, EthInterpreter>::step_end(&mut self.inner, interp, ctx);
        let mut rd = self.return_data.borrow_mut();
        if rd.len() < self.limit {
            rd.push(std::mem::take(&mut self.pending));
        }
    }
    fn call_end(&mut self, ctx: &mut CTX, inputs: &CallInputs, outcome: &mut CallOutcome) {
        Inspector::<CTX, EthInterpreter>::call_end(&mut self.inner, ctx, inputs, outcome);
    }
    fn create_end(&mut self, ctx: &mut CTX, inputs: &CreateInputs, outcome: &mut CreateOutcome) {
        Inspector::<CTX, EthInterpreter>::create_end(&mut self.inner, ctx, inputs, outcome);
    }
}

struct KilnTrace {
    lines: Vec<String>,
    total: usize,
    /// `None`: the transaction was refused.
    ran: Option<(Bytes, u64, bool)>,
}

fn kiln_trace(pre: &InMemoryDb, cfg: &CfgEnv, block: &BlockEnv, tx: &TxEnv) -> KilnTrace {
    let sink = Sink::new();
    let mut tracer = JsonTracer::new(sink.clone());
    let mut db = pre.clone();
    let mut evm = Evm::new(&mut db, &Engine::interpreter(), cfg.clone(), block.clone());
    let start = Instant::now();
    let result = evm.inspect_commit(tx, &mut tracer);
    let time = start.elapsed();
    drop(evm);
    let ran = result.ok().map(|r| {
        let summary = TraceSummary {
            state_root: db.state_root(),
            output: r.output(),
            gas_used: r.gas_used(),
            pass: r.is_success(),
            fork: cfg.spec.name(),
            time,
        };
        tracer.write_line(&summary.to_line());
        (Bytes::copy_from_slice(r.output()), r.gas_used(), r.is_success())
    });
    assert!(tracer.error.is_none());
    let l = sink.0.borrow();
    KilnTrace { lines: l.kept.clone(), total: l.total, ran }
}

struct RevmTrace {
    lines: Vec<String>,
    total: usize,
    return_data: Vec<String>,
    /// The result and the post-state root (computed by Kiln's trie code on Kiln's pre-state
    /// with revm's changes applied); `None` when revm refused the transaction.
    result: Option<(RevmResult, B256)>,
}

fn revm_trace(
    db: RevmDb,
    block: RevmBlock,
    spec: RevmSpec,
    chain_id: u64,
    tx: RevmTx,
    pre: &InMemoryDb,
) -> RevmTrace {
    let sink = Sink::new();
    let return_data = Rc::new(RefCell::new(Vec::new()));
    let capture = Capture {
        inner: TracerEip3155::new(Box::new(sink.clone())),
        return_data: return_data.clone(),
        pending: String::new(),
        limit: max_lines(),
    };
    let mut evm = Context::mainnet()
        .with_db(db)
        .with_block(block)
        .modify_cfg_chained(|cfg| {
            cfg.set_spec_and_mainnet_gas_params(spec);
            cfg.chain_id = chain_id;
        })
        .build_mainnet_with_inspector(capture);
    let result = evm.inspect_tx(tx).ok().map(|out| {
        let mut post = pre.clone();
        post.commit(tools::bench::revm_results::kiln_changes(&out.state, spec));
        (out.result, post.state_root())
    });
    drop(evm);
    let l = sink.0.borrow();
    let return_data = return_data.borrow().clone();
    RevmTrace { lines: l.kept.clone(), total: l.total, return_data, result }
}

/// Kiln's name for the error revm reports on a line; `None` for the ends of a frame that are
/// no failure.
fn kiln_error(revm: &str) -> Option<&str> {
    Some(match revm {
        "Stop" | "Return" | "Revert" | "SelfDestruct" => return None,
        "OutOfGas"
        | "MemoryOOG"
        | "MemoryLimitOOG"
        | "InvalidOperandOOG"
        | "ReentrancySentryOOG"
        | "PrecompileOOG" => "OutOfGas",
        "OpcodeNotFound" | "InvalidFEOpcode" | "NotActivated" => "InvalidOpcode",
        "CallNotAllowedInsideStatic" | "StateChangeDuringStaticCall" => "StaticViolation",
        "OutOfOffset" => "ReturnDataOutOfBounds",
        other => other,
    })
}

/// Halts that revm and Kiln name differently when two checks fail at once, `(revm, Kiln)`:
/// a static frame's write with too short a stack or too little gas for the static cost (revm
/// checks the write first); a CREATE* with initcode over the limit that cannot pay its static
/// gas or memory (revm checks the size first); RETURNDATACOPY past the return data with a
/// length beyond 64 bits (revm checks the operand's size first); a LOG* short of topics on the
/// stack whose memory it cannot pay (revm pops the topics after charging the memory); an
/// opcode of a later fork with less gas left than its static cost there (revm charges the gas
/// before it checks the fork).
const ORDER_PAIRS: [(&str, &str); 8] = [
    ("OutOfGas", "InvalidOpcode"),
    ("MemoryOOG", "StackUnderflow"),
    ("StateChangeDuringStaticCall", "StackUnderflow"),
    ("CallNotAllowedInsideStatic", "StackUnderflow"),
    ("StateChangeDuringStaticCall", "OutOfGas"),
    ("CallNotAllowedInsideStatic", "OutOfGas"),
    ("CreateInitCodeSizeLimit", "OutOfGas"),
    ("InvalidOperandOOG", "ReturnDataOutOfBounds"),
];

/// Whether the instruction of revm's line `r` is short of both its stack (too few items, or too
/// many for its outputs) and its static gas: revm checks the gas first and says `OutOfGas`;
/// Kiln's interpreter, traced or not, checks the stack first, as compiled code checks a block's
/// stack bounds before charging its gas.
fn short_of_stack_and_gas(op: u8, r: &Value) -> bool {
    let Some(info) = kiln_frontend::opcode::info(op) else { return false };
    let (Some(gas), Some(stack)) = (hex_u64(&r["gas"]), r["stack"].as_array()) else {
        return false;
    };
    let (len, inputs) = (stack.len(), usize::from(info.inputs));
    let bad_stack = len < inputs || len - inputs + usize::from(info.outputs) > 1024;
    bad_stack && gas < u64::from(info.static_gas)
}

/// revm's name of an opcode, where it differs from Kiln's: 0x44 is PREVRANDAO since the merge.
fn kiln_name(revm: &str) -> &str {
    match revm {
        "DIFFICULTY" => "PREVRANDAO",
        other => other,
    }
}

fn hex_u64(v: &Value) -> Option<u64> {
    u64::from_str_radix(v.as_str()?.strip_prefix("0x")?, 16).ok()
}

const KILN_KEYS: [&str; 10] =
    ["pc", "op", "gas", "gasCost", "memSize", "stack", "depth", "returnData", "refund", "opName"];

/// Compares two traces; the first difference, described.
fn compare(kiln: &KilnTrace, revm: &RevmTrace, create: bool) -> Result<usize, String> {
    let k_summary = kiln.ran.is_some();
    let r_summary = revm.result.is_some();
    let k_steps = kiln.lines.len() - usize::from(k_summary);
    let r_steps = revm.lines.len() - usize::from(r_summary);
    if kiln.total != revm.total {
        return Err(format!("{} lines vs revm's {}", kiln.total, revm.total));
    }
    // revm's per-frame refund counters, by depth, for the transaction's.
    let mut frame_refunds: Vec<i64> = Vec::new();
    for i in 0..k_steps.min(r_steps) {
        let k: Value =
            serde_json::from_str(&kiln.lines[i]).map_err(|e| format!("line {i}: {e}"))?;
        let r: Value =
            serde_json::from_str(&revm.lines[i]).map_err(|e| format!("revm {i}: {e}"))?;
        let fail = |what: &str| {
            Err(format!("line {i}: {what}\n  kiln: {}\n  revm: {}", kiln.lines[i], revm.lines[i]))
        };
        let obj = k.as_object().ok_or("not an object")?;
        for key in KILN_KEYS {
            if !obj.contains_key(key) {
                return fail(&format!("no {key}"));
            }
        }
        if obj.len() != KILN_KEYS.len() + usize::from(obj.contains_key("error")) {
            return fail("unexpected keys");
        }
        for key in ["pc", "op", "depth", "gas", "stack"] {
            if k[key] != r[key] {
                return fail(key);
            }
        }
        if !k["memSize"].is_u64() || k["memSize"].as_u64() != hex_u64(&r["memSize"]) {
            return fail("memSize");
        }
        let op = k["op"].as_u64().unwrap_or(0) as u8;
        let r_error = r["error"].as_str();
        let mut want_error = r_error.and_then(kiln_error);
        // revm's DUPn reports a stack too short as an overflow.
        let dup = (0x80..=0x8f).contains(&op);
        let short = dup && r["stack"].as_array().is_some_and(|s| s.len() <= usize::from(op - 0x80));
        if want_error == Some("StackOverflow") && short {
            want_error = Some("StackUnderflow");
        }
        // Two checks failing at once, made in a different order: the same halt, named for
        // the check each EVM makes first (see ORDER_PAIRS).
        if let (Some(r_name), Some(k_name)) = (r_error, k["error"].as_str()) {
            if ORDER_PAIRS.contains(&(r_name, k_name)) {
                want_error = Some(k_name);
            }
            let stack_halt = matches!(k_name, "StackUnderflow" | "StackOverflow");
            if r_name == "OutOfGas" && stack_halt && short_of_stack_and_gas(op, &r) {
                want_error = Some(k_name);
            }
        }
        if k["error"].as_str() != want_error {
            return fail("error");
        }
        let want_cost = if want_error.is_some() { r["gas"].clone() } else { r["gasCost"].clone() };
        if k["gasCost"] != want_cost {
            return fail("gasCost");
        }
        let depth = r["depth"].as_u64().ok_or("revm depth")? as usize;
        let refund = hex_u64(&r["refund"]).ok_or("revm refund")? as i64;
        frame_refunds.resize(depth.max(1), 0);
        frame_refunds[depth.max(1) - 1] = refund;
        let global = frame_refunds.iter().sum::<i64>().max(0) as u64;
        if hex_u64(&k["refund"]) != Some(global) {
            return fail(&format!("refund (revm's frames sum to {global:#x})"));
        }
        match revm.return_data.get(i) {
            Some(rd) if k["returnData"] == rd.as_str() => {}
            _ => return fail(&format!("returnData (revm's buffer {:?})", revm.return_data.get(i))),
        }
        let undefined = format!("opcode {op:#x} not defined");
        match r["opName"].as_str() {
            Some(name) if k["opName"] == kiln_name(name) => {}
            // revm also names opcodes of forks after Osaka (EIP-8024's DUPN, SWAPN, EXCHANGE).
            Some(_) if want_error == Some("InvalidOpcode") && k["opName"] == undefined => {}
            None if k["opName"] == undefined => {}
            _ => return fail("opName"),
        }
    }
    if kiln.total > kiln.lines.len() {
        // Long traces: the first lines matched and the lengths do; the summary is past the
        // lines kept.
        return Ok(kiln.total);
    }
    if k_steps != r_steps {
        return Err(format!("{k_steps} steps vs revm's {r_steps}"));
    }
    match (&kiln.ran, &revm.result) {
        (None, None) => {}
        (Some((output, gas_used, pass)), Some((result, root))) => {
            let s: Value = serde_json::from_str(&kiln.lines[k_steps]).map_err(|e| e.to_string())?;
            let r: Value = serde_json::from_str(&revm.lines[r_steps]).map_err(|e| e.to_string())?;
            let fail = |what: &str| {
                Err(format!(
                    "summary {what}\n  kiln: {}\n  revm: {} ({result:?})",
                    kiln.lines[k_steps], revm.lines[r_steps]
                ))
            };
            let keys = ["stateRoot", "output", "gasUsed", "pass", "fork", "time"];
            if s.as_object().map(|o| o.len()) != Some(keys.len())
                || keys.iter().any(|k| s.get(k).is_none())
            {
                return fail("keys");
            }
            // The same fork, named as the fixtures name it (Kiln) or as revm does.
            let fork = |v: &Value| v["fork"].as_str().and_then(|f| f.parse::<SpecId>().ok());
            if fork(&s).is_none() || fork(&s) != fork(&r) {
                return fail("fork");
            }
            if s["gasUsed"] != format!("{:#x}", result.tx_gas_used())
                || *gas_used != result.tx_gas_used()
            {
                return fail("gasUsed");
            }
            if s["pass"] != result.is_success() || *pass != result.is_success() {
                return fail("pass");
            }
            let want = tools::bench::revm_results::comparable_output(result, create);
            if s["output"] != hex::encode_prefixed(&want) || *output != want {
                return fail("output");
            }
            if s["stateRoot"] != root.to_string() {
                return fail("stateRoot");
            }
            if !s["time"].is_u64() {
                return fail("time");
            }
        }
        _ => return Err(format!("kiln ran: {}, revm ran: {}", k_summary, r_summary)),
    }
    Ok(kiln.total)
}

#[test]
fn generated_programs_trace_as_revm() {
    let cases = env_u64("KILN_TRACE_CASES", if cfg!(debug_assertions) { 50 } else { 300 });
    let seed = env_u64("KILN_TRACE_SEED", 0x6b69_6c6e_7472_6163); // "kilntrac"
    let start = Instant::now();
    let (mut runs, mut lines, mut failures) = (0u64, 0usize, Vec::new());
    for index in 0..cases {
        let mut rng = Rng::for_case(seed, index);
        let case = gen::case(&mut rng, gen::Options::default());
        let env = oracle::kiln_env(&case);
        let revm_db = oracle::revm_db(&case);
        let intrinsic = kiln_runtime::handler::intrinsic_gas(&oracle::kiln_tx(&case, 0), case.spec);
        let half = intrinsic.initial + (case.gas_limit.saturating_sub(intrinsic.initial)) / 2;
        for gas in [case.gas_limit, half] {
            let kiln = kiln_trace(&env.pre, &env.cfg, &env.block, &oracle::kiln_tx(&case, gas));
            let revm = revm_trace(
                revm_db.clone(),
                oracle::revm_block(&case),
                oracle::revm_spec(case.spec),
                1,
                oracle::revm_tx(&case, gas),
                &env.pre,
            );
            runs += 1;
            match compare(&kiln, &revm, case.create) {
                Ok(n) => lines += n,
                Err(e) => failures.push(format!(
                    "case {index} (KILN_TRACE_SEED={seed:#x}, shape {}, fork {}, gas {gas}): {e}",
                    case.shape.name(),
                    case.spec.name()
                )),
            }
        }
        if failures.len() >= 5 {
            break;
        }
    }
    println!(
        "generated: {cases} cases, {runs} runs, {lines} lines compared in {:.1?}",
        start.elapsed()
    );
    assert!(failures.is_empty(), "{} traces differ:\n{}", failures.len(), failures.join("\n\n"));
}

/// Instructions short of both their stack and their static gas, traced by both EVMs: revm says
/// `OutOfGas`, Kiln `StackUnderflow` or `StackOverflow` (as its untraced loop and compiled code
/// do), and [`compare`] takes them for the same halt. Neither the generator nor the state tests
/// produce one, so they are written out here.
#[test]
fn short_of_stack_and_gas_traces_as_revm() {
    let overflow = [0x5f; 1025]; // PUSH0 x 1025
    let programs: [(&[u8], u64, &str); 3] = [
        (&[0x01], 2, "StackUnderflow"),       // ADD on an empty stack
        (&[0x5f, 0x90], 4, "StackUnderflow"), // PUSH0 SWAP1
        (&overflow, 2049, "StackOverflow"),
    ];
    for (code, gas, halt) in programs {
        let mut case = gen::case(&mut Rng::for_case(1, 0), gen::Options::default());
        case.spec = SpecId::Prague; // PUSH0 is an opcode
        case.create = false;
        case.data.clear();
        case.access_list.clear();
        case.value = alloy_primitives::U256::ZERO;
        for account in case.accounts.iter_mut().filter(|a| a.address == gen::MAIN) {
            account.code = code.to_vec();
        }
        let env = oracle::kiln_env(&case);
        let tx = oracle::kiln_tx(&case, 0);
        let gas = kiln_runtime::handler::intrinsic_gas(&tx, case.spec).initial + gas;
        let kiln = kiln_trace(&env.pre, &env.cfg, &env.block, &oracle::kiln_tx(&case, gas));
        let revm = revm_trace(
            oracle::revm_db(&case),
            oracle::revm_block(&case),
            oracle::revm_spec(case.spec),
            1,
            oracle::revm_tx(&case, gas),
            &env.pre,
        );
        let last = |lines: &[String]| {
            let step = lines.iter().rev().find(|l| l.contains("\"pc\"")).expect("a step");
            serde_json::from_str::<Value>(step).expect("JSON")["error"].clone()
        };
        assert_eq!(last(&kiln.lines), halt, "{code:02x?}");
        assert_eq!(last(&revm.lines), "OutOfGas", "{code:02x?}");
        compare(&kiln, &revm, false).unwrap_or_else(|e| panic!("{code:02x?}: {e}"));
    }
}

fn fixtures_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("KILN_FIXTURES")
        .map(|d| PathBuf::from(d).join("state_tests"))
        .unwrap_or_else(|| PathBuf::from("/work/shared/fixtures/state_tests"));
    dir.is_dir().then_some(dir)
}

/// One state-test case in both EVMs.
fn state_case(
    test: &tools::statetest::fixture::StateTest,
    spec: SpecId,
    fork: &str,
    case: &tools::statetest::fixture::PostCase,
) -> Result<Option<usize>, String> {
    let text = |e: tools::statetest::fixture::EnvError| e.to_string();
    let cfg = cfg_env(test, spec, fork).map_err(text)?;
    let block = block_env(&test.env).map_err(text)?;
    let tx = tx_env(&test.transaction, &case.indexes, cfg.chain_id).map_err(text)?;
    let pre = pre_state(&test.pre).map_err(text)?;
    let kiln = kiln_trace(&pre, &cfg, &block, &tx);
    if case.expect_exception.is_some() {
        // An invalid transaction runs nothing, and has no summary: revm's validation is not
        // Kiln's oracle (the state-test runner checks the refusal against the fixture).
        return match kiln.total {
            0 => Ok(Some(0)),
            n => Err(format!("an invalid transaction traced {n} lines")),
        };
    }
    let bench = tools::fixture::BenchFixture {
        name: String::new(),
        file: PathBuf::new(),
        pre: pre.clone(),
        block: block.clone(),
        chain_id: cfg.chain_id,
        txs: vec![tx.clone()],
    };
    let revm_spec = tools::bench::revm::revm_spec(spec).ok_or("no revm fork")?;
    let Ok(mut revm_fixture) = tools::bench::revm::prepare(&bench, revm_spec) else {
        // revm cannot take the transaction's fields (a test of an invalid one): no trace.
        return Ok(None);
    };
    let revm = revm_trace(
        revm_fixture.db,
        revm_fixture.block,
        revm_spec,
        revm_fixture.chain_id,
        revm_fixture.txs.remove(0),
        &pre,
    );
    if revm.result.as_ref().is_none_or(|(_, root)| *root != case.hash) {
        // revm's own outcome is not the fixture's (EIP-7610 collisions with storage, say): it
        // is no oracle for this case.
        return Ok(None);
    }
    compare(&kiln, &revm, tx.kind == TxKind::Create).map(Some)
}

fn json_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            json_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "json") {
            out.push(path);
        }
    }
}

#[test]
fn state_tests_trace_as_revm() {
    let Some(dir) = fixtures_dir() else {
        println!("no state tests found: skipped (set KILN_FIXTURES)");
        return;
    };
    // A debug build (CI's second pass, for Cranelift's verifier and debug assertions) runs the
    // interpreter and revm about ten times slower: a small sample keeps it to a minute.
    let every = env_u64("KILN_TRACE_EVERY", if cfg!(debug_assertions) { 200 } else { 3 }).max(1);
    let mut files = Vec::new();
    json_files(&dir, &mut files);
    files.sort();
    let start = Instant::now();
    let (mut seen, mut compared, mut lines, mut failures) = (0u64, 0u64, 0usize, Vec::new());
    let mut slowest = (Duration::ZERO, String::new());
    let mut skipped = Vec::new();
    for path in &files {
        let Ok(text) = std::fs::read_to_string(path) else { continue };
        let Ok(fixture) = serde_json::from_str::<FixtureFile>(&text) else { continue };
        for (name, test) in &fixture {
            for (fork, cases) in &test.post {
                let Ok(spec) = fork.parse::<SpecId>() else { continue };
                if !matches!(spec, SpecId::Cancun | SpecId::Prague | SpecId::Osaka) {
                    continue;
                }
                for (index, case) in cases.iter().enumerate() {
                    seen += 1;
                    if (seen - 1) % every != 0 {
                        continue;
                    }
                    let t = Instant::now();
                    let id = format!("{} {name}[{fork}#{index}]", path.display());
                    if path.to_string_lossy().contains("eip7610_create_collision") {
                        // revm 43 does not count storage in an EIP-7610 collision: it runs
                        // initcode the fixtures (and Kiln) refuse.
                        skipped.push(id);
                        continue;
                    }
                    match state_case(test, spec, fork, case) {
                        Ok(Some(n)) => {
                            compared += 1;
                            lines += n;
                        }
                        Ok(None) => skipped.push(id.clone()),
                        Err(e) => failures.push(format!("{id}: {e}")),
                    }
                    if t.elapsed() > slowest.0 {
                        slowest = (t.elapsed(), id);
                    }
                }
            }
        }
        if failures.len() >= 10 {
            break;
        }
    }
    println!(
        "state tests: {compared} of {seen} Cancun/Prague/Osaka cases compared (every {every}), \
         {lines} lines, in {:.1?}; slowest {:.1?} {}",
        start.elapsed(),
        slowest.0,
        slowest.1
    );
    println!(
        "{} skipped: revm refuses the transaction or misses the fixture's root",
        skipped.len()
    );
    for id in skipped.iter().take(20) {
        println!("  {id}");
    }
    assert!(failures.is_empty(), "{} traces differ:\n{}", failures.len(), failures.join("\n\n"));
}
