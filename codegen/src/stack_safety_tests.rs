//! The stack-safety layers against the defect they exist for: the smallest program of
//! `regressions/stack_safety` (a loop whose static head is left through a dynamic jump into
//! a landing pad at height 0, which wrote slot -1 of the stack), lowered with the defect put
//! back ([`crate::lower::TestKnobs`]).

use crate::lower::{TestKnobs, TEST_KNOBS};
use crate::{CompileError, JitCompiler};
use alloy_primitives::{hex, Address, Bytes, U256};
use kiln_runtime::handler::Transact;
use kiln_runtime::result::EvmError;
use kiln_runtime::{BlockEnv, CfgEnv, CodeCache, InMemoryDb, NoTracer, SpecId, TxEnv, TxKind};

const CODE: &str = concat!(
    "5f67020000000000000055600261020052600263c0c059765d5b600163c0c04a485d5b5f50600163c0c04a48",
    "5c038063c0c04a485d61002257600163c0c059765c038063c0c059765d610019577fffffffffffffffffffff",
    "ffffffffffffffffffffffffffff648811def0534c0f5f35811317637fffffff5f5c1b7f8000000000000000",
    "0000000000000000000000000000000000000000000000005f900a0311610220526154435160105560165115",
    "196011556100c3617a0755617a075456335b555b600363c0c0353b5d5b61013d60035d60035c7fffffffffff",
    "ffffffffffffffffffffffffffffffffffffffffffffffffffffff90576debeca10128b7795b5d1d15ca6acf",
    "017d1ebd74895da962da516552735b556aab18d6b285d97e86c51b71b1e8349f015b712c255b378902b2c361",
    "5f029e3e1a900de0325b61203567c153c03cda1d514f7fffffffffffffffffffffffffffffffffffffffffff",
    "ffffffffffffffffd9095f67ffa160013b5c038063c0353b5d6100cc57"
);
const CALLDATA: &str = concat!(
    "000000000000000000000000000000000000000085e06fa70c63f823211128f0000000000000000000000000",
    "0000000000000000000000000000006455593371000000000000000000b787c3b3eee822c5992560206e178b",
    "c2c23d25a362e02bffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffdd00000000",
    "00000000000000000000000000000000000000000000000000000002ffffffffffffffffffffffffffffffff",
    "ffffffffffffffffffffffffffffffdb"
);

fn with_knobs<T>(knobs: TestKnobs, run: impl FnOnce() -> T) -> T {
    TEST_KNOBS.with(|k| k.set(knobs));
    let out = run();
    TEST_KNOBS.with(|k| k.set(TestKnobs::default()));
    out
}

/// Runs the program natively (compiled by `jit`) and returns the transaction's outcome.
fn run(jit: &mut JitCompiler) -> Result<kiln_runtime::ExecutionResult, EvmError> {
    let contract = Address::repeat_byte(0xcc);
    let sender = Address::repeat_byte(0x11);
    let mut db = InMemoryDb::new();
    db.insert_account(contract, U256::ZERO, 1, Bytes::from(hex::decode(CODE).unwrap()), []);
    db.insert_account(sender, U256::from(1u128 << 100), 0, Bytes::new(), []);
    let block = BlockEnv { gas_limit: 30_000_000, number: U256::from(1), ..Default::default() };
    let tx = TxEnv {
        caller: sender,
        kind: TxKind::Call(contract),
        data: Bytes::from(hex::decode(CALLDATA).unwrap()),
        gas_limit: 1_000_000,
        ..Default::default()
    };
    let cfg = CfgEnv::new(SpecId::Prague);
    let (db, cfg, block, tx) = (&mut db, &cfg, &block, &tx);
    let cache = &mut CodeCache::default();
    Transact { db, cfg, block, tx, cache, native: Some(jit) }
        .run(&mut NoTracer)
        .map(|(result, _)| result)
}

#[test]
fn the_program_compiles_and_halts_on_overflow_like_the_interpreter() {
    let mut jit = JitCompiler::new().unwrap();
    let code = hex::decode(CODE).unwrap();
    jit.compile(&code, SpecId::Prague).expect("proven safe");
    let result = run(&mut jit).expect("no fatal error");
    assert!(!result.is_success());
    assert_eq!(result.gas_used(), 1_000_000, "a halt consumes all gas");
}

#[test]
fn the_stack_proof_refuses_the_unclamped_flush() {
    let code = hex::decode(CODE).unwrap();
    let knobs = TestKnobs { unclamped_flush: true, ..TestKnobs::default() };
    let err = with_knobs(knobs, || JitCompiler::new().unwrap().compile(&code, SpecId::Prague));
    match err {
        Err(CompileError::UnprovenStack(u)) => {
            // The block at 0x13d (the landing pad's block) flushes slot 0 of its region,
            // below its own inputs.
            assert_eq!((u.pc, u.slot), (0x13d, 0), "{u}");
        }
        other => panic!("expected the proof to refuse the function, got {:?}", other.map(|_| ())),
    }
}

#[test]
fn checked_mode_stops_the_unclamped_flush_with_a_bounds_fault() {
    let knobs = TestKnobs { unclamped_flush: true, skip_proof: true, checked: true };
    let outcome = with_knobs(knobs, || {
        let mut jit = JitCompiler::new().unwrap();
        run(&mut jit)
    });
    assert!(matches!(outcome, Err(EvmError::NativeFault(_))), "{outcome:?}");
}

#[test]
fn checked_mode_passes_correct_code() {
    let knobs = TestKnobs { checked: true, ..TestKnobs::default() };
    let outcome = with_knobs(knobs, || {
        let mut jit = JitCompiler::new().unwrap();
        run(&mut jit)
    });
    let result = outcome.expect("no bounds fault in correct code");
    assert_eq!(result.gas_used(), 1_000_000);
}
