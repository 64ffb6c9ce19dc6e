//! One program, run as a contract by Kiln's interpreter and by its JIT (in checked mode): the
//! two must agree on status (success, revert, halt; not on the halt reason, which
//! legitimately differs), gas used, gas refunded, output, logs and the post-state root. A
//! bounds fault of checked compiled code (`EvmError::NativeFault`) is a crash.
//!
//! Input: `[n, g, calldata (n bytes), code (the rest)]`. `n` is the call data length (cut to
//! what the input has); `g` picks the gas limit: `g >= 0x80` gives 1,000,000, a lower `g`
//! gives the transaction's intrinsic gas plus `4·g²` (0 to 64,516), so that runs stop for
//! want of gas at many points of the program.
//!
//! Environment: `KILN_FUZZ_STATS=1` prints the JIT's counters (compiled, refused by the stack
//! proof, other failures) every 1,000 inputs; `KILN_FUZZ_REUSE_JIT=1` keeps one JIT compiler
//! per thread instead of a fresh one per input.

#![no_main]

use std::cell::RefCell;
use std::sync::atomic::{AtomicU64, Ordering};

use alloy_primitives::{hex, Address, Bytes, B256, U256};
use kiln_codegen::JitCompiler;
use kiln_runtime::handler::{intrinsic_gas, Transact};
use kiln_runtime::{
    BlockEnv, CfgEnv, CodeCache, EvmError, ExecutionResult, InMemoryDb, NativeCode, NoTracer,
    SpecId, TxEnv, TxKind,
};
use libfuzzer_sys::fuzz_target;

const SPEC: SpecId = SpecId::Prague;

/// What is compared: the result without the halt reason, and the post-state root.
#[derive(Debug, PartialEq, Eq)]
enum Outcome {
    Success {
        gas_used: u64,
        gas_refunded: u64,
        output: Bytes,
        logs: Vec<kiln_runtime::Log>,
    },
    Revert {
        gas_used: u64,
        output: Bytes,
    },
    Halt {
        gas_used: u64,
    },
    /// The transaction was refused before execution (both sides must refuse it alike).
    Refused(String),
}

struct Run {
    outcome: Outcome,
    state_root: Option<B256>,
    /// For the failure message only.
    result: Result<ExecutionResult, EvmError>,
}

fn run(code: &[u8], tx: &TxEnv, jit: Option<&mut JitCompiler>) -> Run {
    let contract = Address::repeat_byte(0xcc);
    let sender = Address::repeat_byte(0x11);
    let mut db = InMemoryDb::new();
    db.insert_account(contract, U256::ZERO, 1, Bytes::copy_from_slice(code), []);
    db.insert_account(sender, U256::from(1u128 << 100), 0, Bytes::new(), []);
    let block = BlockEnv { gas_limit: 30_000_000, number: U256::from(1), ..Default::default() };
    let cfg = CfgEnv::new(SPEC);
    let cache = &mut CodeCache::default();
    let native = jit.map(|j| j as &mut dyn NativeCode);
    let (db, cfg, block) = (&mut db, &cfg, &block);
    match (Transact { db, cfg, block, tx, cache, native }).run(&mut NoTracer) {
        Err(e) => {
            if let EvmError::NativeFault(msg) = &e {
                panic!("checked compiled code faulted: {msg}\ncode {}", hex::encode(code));
            }
            Run { outcome: Outcome::Refused(e.to_string()), state_root: None, result: Err(e) }
        }
        Ok((result, changes)) => {
            kiln_runtime::DatabaseCommit::commit(db, changes);
            let outcome = match result.clone() {
                ExecutionResult::Success { gas_used, gas_refunded, output, logs } => {
                    Outcome::Success { gas_used, gas_refunded, output, logs }
                }
                ExecutionResult::Revert { gas_used, output } => {
                    Outcome::Revert { gas_used, output }
                }
                ExecutionResult::Halt { gas_used, .. } => Outcome::Halt { gas_used },
            };
            Run { outcome, state_root: Some(db.state_root()), result: Ok(result) }
        }
    }
}

thread_local! {
    static JIT: RefCell<Option<JitCompiler>> = const { RefCell::new(None) };
}

static INPUTS: AtomicU64 = AtomicU64::new(0);
static COMPILED: AtomicU64 = AtomicU64::new(0);
static UNPROVEN: AtomicU64 = AtomicU64::new(0);
static FAILED: AtomicU64 = AtomicU64::new(0);

fn stats_enabled() -> bool {
    static ON: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *ON.get_or_init(|| std::env::var("KILN_FUZZ_STATS").is_ok_and(|v| v == "1"))
}

fn reuse_jit() -> bool {
    static ON: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *ON.get_or_init(|| std::env::var("KILN_FUZZ_REUSE_JIT").is_ok_and(|v| v == "1"))
}

fn run_jit(code: &[u8], tx: &TxEnv) -> Run {
    let count = |jit: &JitCompiler, before: (usize, usize, usize)| {
        let s = jit.stats();
        COMPILED.fetch_add((s.compiled - before.0) as u64, Ordering::Relaxed);
        UNPROVEN.fetch_add((s.unproven - before.1) as u64, Ordering::Relaxed);
        FAILED
            .fetch_add(((s.failed - before.2) - (s.unproven - before.1)) as u64, Ordering::Relaxed);
    };
    if reuse_jit() {
        JIT.with(|cell| {
            let mut slot = cell.borrow_mut();
            let jit = slot.get_or_insert_with(|| JitCompiler::new().expect("JIT compiler"));
            let s = jit.stats();
            let before = (s.compiled, s.unproven, s.failed);
            let r = run(code, tx, Some(jit));
            count(jit, before);
            r
        })
    } else {
        let mut jit = JitCompiler::new().expect("JIT compiler");
        let r = run(code, tx, Some(&mut jit));
        count(&jit, (0, 0, 0));
        r
    }
}

fuzz_target!(
    init: {
        // Before the first compile: `kiln_codegen::checked_mode()` reads it once per process.
        // SAFETY: no other thread exists yet.
        unsafe { std::env::set_var("KILN_CHECKED", "1") };
        assert!(kiln_codegen::checked_mode(), "checked mode must be on");
    },
    |data: &[u8]| {
        if data.len() < 2 {
            return;
        }
        let (n, g) = (data[0] as usize, data[1]);
        let rest = &data[2..];
        let n = n.min(rest.len());
        let (calldata, code) = rest.split_at(n);

        let mut tx = TxEnv {
            caller: Address::repeat_byte(0x11),
            kind: TxKind::Call(Address::repeat_byte(0xcc)),
            data: Bytes::copy_from_slice(calldata),
            ..Default::default()
        };
        tx.gas_limit = if g >= 0x80 {
            1_000_000
        } else {
            let intrinsic = intrinsic_gas(&tx, SPEC);
            intrinsic.initial.max(intrinsic.floor) + 4 * (g as u64) * (g as u64)
        };

        let interp = run(code, &tx, None);
        let jit = run_jit(code, &tx);
        if interp.outcome != jit.outcome || interp.state_root != jit.state_root {
            panic!(
                "interpreter and JIT disagree\ncode {}\ncalldata {}\ngas limit {}\n\
                 interpreter: {:?}, root {:?}\nJIT:         {:?}, root {:?}",
                hex::encode(code),
                hex::encode(calldata),
                tx.gas_limit,
                interp.result,
                interp.state_root,
                jit.result,
                jit.state_root,
            );
        }

        let i = INPUTS.fetch_add(1, Ordering::Relaxed) + 1;
        if stats_enabled() && i % 1_000 == 0 {
            eprintln!(
                "kiln-fuzz: {i} inputs; JIT compiled {}, refused by the stack proof {}, other \
                 compile failures {}",
                COMPILED.load(Ordering::Relaxed),
                UNPROVEN.load(Ordering::Relaxed),
                FAILED.load(Ordering::Relaxed),
            );
        }
    }
);
