//! The JIT against the interpreter on small programs.

use alloy_primitives::{Address, Bytes, U256};
use kiln_codegen::lower::Carry;
use kiln_codegen::JitCompiler;
use kiln_runtime::handler::Transact;
use kiln_runtime::{
    BlockEnv, CfgEnv, CodeCache, ExecutionResult, InMemoryDb, NoTracer, SpecId, TxEnv, TxKind,
};

fn run(code: &[u8], calldata: &[u8], jit: bool) -> (ExecutionResult, alloy_primitives::B256) {
    run_with_gas(code, calldata, 1_000_000, jit)
}

fn run_with_gas(
    code: &[u8],
    calldata: &[u8],
    gas_limit: u64,
    jit: bool,
) -> (ExecutionResult, alloy_primitives::B256) {
    let contract = Address::repeat_byte(0xcc);
    let sender = Address::repeat_byte(0x11);
    let mut db = InMemoryDb::new();
    db.insert_account(contract, U256::ZERO, 1, Bytes::copy_from_slice(code), []);
    db.insert_account(sender, U256::from(1u128 << 100), 0, Bytes::new(), []);
    let block = BlockEnv { gas_limit: 30_000_000, number: U256::from(1), ..Default::default() };
    let tx = TxEnv {
        caller: sender,
        kind: TxKind::Call(contract),
        data: Bytes::copy_from_slice(calldata),
        gas_limit,
        ..Default::default()
    };
    let mut compiler = JitCompiler::new().unwrap();
    let result = transact_and_commit(&mut db, &block, &tx, jit.then_some(&mut compiler));
    (result, db.state_root())
}

/// Runs `tx` under Prague (compiled by `jit`, or interpreted) and commits it to `db`.
fn transact_and_commit(
    db: &mut InMemoryDb,
    block: &BlockEnv,
    tx: &TxEnv,
    jit: Option<&mut JitCompiler>,
) -> ExecutionResult {
    let cfg = CfgEnv::new(SpecId::Prague);
    let (cfg, cache) = (&cfg, &mut CodeCache::default());
    let native = jit.map(|j| j as &mut dyn kiln_runtime::NativeCode);
    let (result, changes) =
        Transact { db, cfg, block, tx, cache, native }.run(&mut NoTracer).unwrap();
    kiln_runtime::DatabaseCommit::commit(db, changes);
    result
}

/// Runs `code` with calldata `a ‖ b` for every pair of `values`, JIT against interpreter, and
/// hands the output to `check`.
fn each_pair(code: &[u8], values: &[U256], mut check: impl FnMut(U256, U256, &[u8])) {
    for &a in values {
        for &b in values {
            let mut calldata = a.to_be_bytes::<32>().to_vec();
            calldata.extend_from_slice(&b.to_be_bytes::<32>());
            let r = same(code, &calldata);
            check(a, b, r.output());
        }
    }
}

/// The least gas limit Prague accepts for a call with `calldata` (EIP-7623's floor).
fn calldata_floor(calldata: &[u8]) -> u64 {
    let tx = TxEnv { data: Bytes::copy_from_slice(calldata), ..Default::default() };
    kiln_runtime::handler::intrinsic_gas(&tx, SpecId::Prague).floor
}

/// Runs `code` with `gas_limit`, JIT against interpreter; `case` names the run on failure.
fn same_with_gas(code: &[u8], calldata: &[u8], gas_limit: u64, case: &str) -> ExecutionResult {
    let interp = run_with_gas(code, calldata, gas_limit, false);
    let jit = run_with_gas(code, calldata, gas_limit, true);
    assert_eq!(interp, jit, "{case}, gas limit {gas_limit}");
    interp.0
}

fn same(code: &[u8], calldata: &[u8]) -> ExecutionResult {
    let interp = run(code, calldata, false);
    let jit = run(code, calldata, true);
    assert_eq!(interp, jit, "code {}", alloy_primitives::hex::encode(code));
    interp.0
}

/// An instruction short of both its stack items and its static gas halts for its stack in
/// compiled code, which checks a block's stack bounds before charging its gas, as in the
/// interpreter, traced or not (the runtime's `interpreter::tests` holds the loops to it).
#[test]
fn stack_is_checked_before_static_gas() {
    use kiln_runtime::HaltReason::{StackOverflow, StackUnderflow};
    let overflow = [0x5f; 1025]; // PUSH0 x 1025
                                 // ADD on an empty stack; PUSH0 SWAP1; 1025 PUSH0s. Gas for all but one of the last
                                 // instruction's static cost.
    let cases: [(&[u8], u64, _); 3] = [
        (&[0x01], 2, StackUnderflow),
        (&[0x5f, 0x90], 4, StackUnderflow),
        (&overflow, 2049, StackOverflow),
    ];
    for (code, gas, reason) in cases {
        let halt = ExecutionResult::Halt { gas_used: 21_000 + gas, reason };
        let (result, _) = run_with_gas(code, &[], 21_000 + gas, true);
        assert_eq!(result, halt, "jit {code:02x?}");
        same_with_gas(code, &[], 21_000 + gas, "stack and gas both short");
    }
}

#[test]
fn stop() {
    same(&[0x00], &[]);
}

#[test]
fn add_and_return() {
    // PUSH1 2 PUSH1 3 ADD PUSH0 MSTORE PUSH1 32 PUSH0 RETURN
    let r = same(&[0x60, 0x02, 0x60, 0x03, 0x01, 0x5f, 0x52, 0x60, 0x20, 0x5f, 0xf3], &[]);
    assert_eq!(r.output()[31], 5);
}

#[test]
fn calldata_arith() {
    // x = calldataload(0); y = calldataload(32); return x*y - x + (x<y)
    let code = [
        0x5f, 0x35, // x
        0x60, 0x20, 0x35, // y x
        0x81, 0x81, // x y x ... DUP2 DUP2 -> y x y x? keep simple
        0x02, // x*y
        0x03, // -
        0x5f, 0x52, 0x60, 0x20, 0x5f, 0xf3,
    ];
    let mut data = vec![0u8; 64];
    data[31] = 7;
    data[63] = 9;
    same(&code, &data);
}

#[test]
fn loop_with_sstore() {
    // i = 10; while i != 0 { sstore(i, i); i -= 1 }
    let code = [
        0x60, 0x0a, // PUSH1 10
        0x5b, // 2: JUMPDEST
        0x80, 0x15, 0x60, 0x13, 0x57, // DUP1 ISZERO PUSH1 19 JUMPI
        0x80, 0x80, 0x55, // DUP1 DUP1 SSTORE
        0x60, 0x01, 0x90, 0x03, // PUSH1 1 SWAP1 SUB
        0x60, 0x02, 0x56, // PUSH1 2 JUMP
        0x00, // 18: STOP (unreached)
        0x5b, 0x00, // 19: JUMPDEST STOP
    ];
    same(&code, &[]);
}

/// A contract that counts its depth in storage and calls itself with all its gas: under the
/// JIT the chain reaches the 1024 limit on an ordinary 8 MiB thread stack, because calls
/// suspend compiled frames instead of recursing natively.
#[test]
fn call_chain_of_1024_compiled_frames_on_8mib_stack() {
    let handle = std::thread::Builder::new()
        .stack_size(8 << 20)
        .spawn(|| {
            // PUSH1 1 PUSH0 SLOAD ADD PUSH0 SSTORE
            // PUSH0 PUSH0 PUSH0 PUSH0 PUSH0 ADDRESS GAS CALL STOP
            let code = [
                0x60, 0x01, 0x5f, 0x54, 0x01, 0x5f, 0x55, 0x5f, 0x5f, 0x5f, 0x5f, 0x5f, 0x30, 0x5a,
                0xf1, 0x00,
            ];
            let contract = Address::repeat_byte(0xcc);
            let sender = Address::repeat_byte(0x11);
            let mut db = InMemoryDb::new();
            db.insert_account(contract, U256::ZERO, 1, Bytes::copy_from_slice(&code), []);
            db.insert_account(sender, U256::ZERO, 0, Bytes::new(), []);
            let cfg = CfgEnv::new(SpecId::Prague);
            let block = BlockEnv { gas_limit: u64::MAX / 2, ..Default::default() };
            let tx = TxEnv {
                caller: sender,
                kind: TxKind::Call(contract),
                gas_limit: 1 << 40,
                ..Default::default()
            };
            let mut cache = CodeCache::default();
            let mut jit = JitCompiler::new().unwrap();
            let (result, changes) = Transact {
                db: &mut db,
                cfg: &cfg,
                block: &block,
                tx: &tx,
                cache: &mut cache,
                native: Some(&mut jit),
            }
            .run(&mut NoTracer)
            .unwrap();
            assert!(result.is_success(), "{result:?}");
            kiln_runtime::DatabaseCommit::commit(&mut db, changes);
            let depth = db.account(&contract).unwrap().storage[&U256::ZERO];
            assert_eq!(
                depth,
                U256::from(1025),
                "frames at depths 0 through 1024 each counted once"
            );
            assert_eq!(jit.stats().compiled, 1);
        })
        .unwrap();
    handle.join().expect("no stack overflow");
}

/// Code no path reaches is not lowered, and fall-through chains become one block: 24 KiB of
/// STOP (one reachable block), of JUMPDEST (one block after merging) or of PUSH2/JUMP to the
/// next chunk (one block after jump resolution and merging) all make a few hundred bytes of
/// machine code, where lowering every block made hundreds of kilobytes.
#[test]
fn degenerate_24k_contracts_compile_to_small_code() {
    const N: usize = 24 * 1024;
    let stops = vec![0x00u8; N];
    let jumpdests = vec![0x5bu8; N];
    let mut chain = Vec::with_capacity(N);
    while chain.len() + 5 <= N {
        let next = (chain.len() + 5) as u16;
        chain.extend_from_slice(&[0x5b, 0x61, (next >> 8) as u8, next as u8, 0x56]);
    }
    for (name, code) in [("STOP", stops), ("JUMPDEST", jumpdests), ("PUSH2/JUMP", chain)] {
        let mut jit = JitCompiler::new().unwrap();
        jit.compile(&code, SpecId::Prague).unwrap();
        let bytes = jit.stats().code_bytes;
        assert!(bytes < 4096, "{name}: {bytes} bytes of machine code for {} bytes", code.len());
    }
}

/// Arbitrary bytes up to the EIP-170 limit (and initcode up to EIP-3860's) compile or are
/// refused with an error: never a panic or a crash. Half the inputs are raw random bytes
/// (mostly undefined opcodes), half random valid opcodes with their immediates, which make
/// long blocks, deep stacks and many jumps.
#[test]
fn random_bytes_up_to_the_size_limits_compile_or_are_refused() {
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let defined: Vec<u8> = (0..=255u8)
        .filter(|&op| kiln_frontend::opcode::info_in(op, SpecId::Osaka).is_some())
        .collect();
    let mut jit = JitCompiler::new().unwrap();
    for case in 0..16 {
        let limit = if case % 4 == 3 { 49_152 } else { 24_576 };
        let len = limit - next() as usize % 2048;
        let code: Vec<u8> = if case % 2 == 0 {
            (0..len).map(|_| next() as u8).collect()
        } else {
            let mut code = Vec::with_capacity(len);
            while code.len() < len {
                let op = defined[next() as usize % defined.len()];
                code.push(op);
                for _ in 0..kiln_frontend::opcode::immediate_size(op) {
                    code.push(next() as u8);
                }
            }
            code.truncate(len);
            code
        };
        match jit.compile(&code, SpecId::Osaka) {
            Ok(_) => {}
            Err(e) => assert!(!e.to_string().is_empty(), "case {case}: an error names itself"),
        }
    }
}

/// 24 KiB of JUMPDEST behind one dynamic jump (evmone's `loop_with_many_jumpdests`): the run
/// is bypassed, so a JUMPDEST costs one jump-table entry and no code of its own (before, each
/// was a block with its gas check and stack bookkeeping, and each landing pad loaded the
/// stack).
#[test]
fn jumpdests_behind_a_dynamic_jump_make_linear_code() {
    let mut per_block = Vec::new();
    for n in [6_000usize, 24_000] {
        // PUSH0 CALLDATALOAD JUMP, then n JUMPDESTs, then a JUMPI back to a computed target.
        let mut code = vec![0x5f, 0x35, 0x56];
        code.extend(std::iter::repeat_n(0x5b, n));
        code.extend_from_slice(&[0x60, 0x03, 0x5f, 0x35, 0x01, 0x80, 0x57, 0x00]);
        let mut jit = JitCompiler::new().unwrap();
        jit.compile(&code, SpecId::Prague).unwrap();
        per_block.push(jit.stats().code_bytes / n);
    }
    assert!(per_block.iter().all(|&b| b <= 8), "bytes of machine code per JUMPDEST: {per_block:?}");
}

/// Runs of JUMPDESTs are bypassed: static edges into a run and dynamic jumps into its middle
/// pay its gas up front. Every entry point, with every gas limit around the exact cost, must
/// end as in the interpreter; the contract returns the gas left, so the amount is checked too.
#[test]
fn jumpdest_runs_charge_exactly_what_the_interpreter_charges() {
    // 0: PUSH0 CALLDATALOAD DUP1 JUMPI (to x when x != 0), 4: PUSH1 1 POP (falls into the
    // run), 7..407: JUMPDEST x400, 407: JUMPDEST GAS PUSH0 MSTORE PUSH1 32 PUSH0 RETURN. The run
    // is long enough for execution to cost more than Prague's calldata floor.
    let mut code = vec![0x5f, 0x35, 0x80, 0x57, 0x60, 0x01, 0x50];
    code.extend([0x5b; 400]);
    code.extend_from_slice(&[0x5b, 0x5a, 0x5f, 0x52, 0x60, 0x20, 0x5f, 0xf3]);
    for x in [0u64, 7, 8, 200, 406, 407, 408] {
        let calldata = U256::from(x).to_be_bytes::<32>();
        let (mut halted, mut ok) = (0, 0);
        for gas in (21_380..21_460).chain((21_460..21_700).step_by(3)) {
            if same_with_gas(&code, &calldata, gas, &format!("jump to {x}")).is_success() {
                ok += 1;
            } else {
                halted += 1;
            }
        }
        if x <= 200 {
            assert!(halted > 0 && ok > 0, "jump to {x}: {halted} halted, {ok} succeeded");
        }
    }
}

/// SIGNEXTEND with a constant byte index is inline code: every index (including the ones past
/// the word) on values whose sign bit at each position is set or clear.
#[test]
fn signextend_with_constant_index_matches_the_interpreter() {
    let values = [
        U256::ZERO,
        U256::from(0x80u64),
        U256::from(0x7fu64),
        U256::from(0xff80u64),
        U256::MAX,
        U256::from(1u64) << 255,
        U256::from_be_bytes([0x5a; 32]),
        U256::from_be_bytes([0xa5; 32]),
    ];
    for k in [0u8, 1, 6, 7, 8, 15, 16, 23, 24, 29, 30, 31, 32, 255] {
        // PUSH0 CALLDATALOAD PUSH1 k SIGNEXTEND PUSH0 MSTORE PUSH1 32 PUSH0 RETURN
        let code = [0x5f, 0x35, 0x60, k, 0x0b, 0x5f, 0x52, 0x60, 0x20, 0x5f, 0xf3];
        for v in values {
            let r = same(&code, &v.to_be_bytes::<32>());
            assert!(r.is_success());
        }
    }
}

/// ADD and SUB with a constant operand take a specialised carry chain: every carry and
/// borrow pattern against the interpreter.
#[test]
fn add_and_sub_with_constants_match_the_interpreter() {
    let consts = [
        U256::from(1u64),
        U256::from(u64::MAX),
        U256::from(1u64) << 64,
        U256::from(1u64) << 255,
        U256::MAX,
    ];
    let values = [
        U256::ZERO,
        U256::from(1u64),
        U256::from(u64::MAX),
        U256::from(u128::MAX),
        U256::MAX,
        U256::MAX - U256::from(1u64),
        U256::from(1u64) << 192,
    ];
    for c in consts {
        for (op, const_first) in [(0x01u8, true), (0x01, false), (0x03, false), (0x03, true)] {
            // PUSH0 CALLDATALOAD, PUSH32 c, [SWAP1], op, PUSH0 MSTORE PUSH1 32 PUSH0 RETURN
            let mut code = vec![0x5f, 0x35, 0x7f];
            code.extend_from_slice(&c.to_be_bytes::<32>());
            if !const_first {
                code.push(0x90);
            }
            code.extend_from_slice(&[op, 0x5f, 0x52, 0x60, 0x20, 0x5f, 0xf3]);
            for v in values {
                assert!(same(&code, &v.to_be_bytes::<32>()).is_success());
            }
        }
    }
}

/// EQ, LT, GT, SLT and SGT with a constant operand take shorter comparisons (immediates, zero
/// tests of the limbs above the constant, sign tests): each against every value around the
/// constants' limb boundaries, constant first and second, checked against the interpreter
/// and against `U256`'s own ordering.
#[test]
fn comparisons_with_constants_match_the_interpreter() {
    let one = U256::from(1u64);
    let consts = [
        U256::ZERO,
        one,
        U256::from(0x7fff_ffffu64),
        U256::from(u64::MAX),
        one << 64,
        (one << 128) + U256::from(5u64),
        U256::MAX - U256::from(1u64),
        U256::MAX,
    ];
    let mut values = vec![U256::ZERO, one << 255, (one << 255) + one];
    for c in consts {
        values.extend([c, c.wrapping_sub(one), c.wrapping_add(one)]);
    }
    let signed_lt = |a: U256, b: U256| {
        let (na, nb) = (a.bit(255), b.bit(255));
        if na != nb {
            na
        } else {
            a < b
        }
    };
    for c in consts {
        for (op, const_first) in
            [0x14u8, 0x10, 0x11, 0x12, 0x13].into_iter().flat_map(|op| [(op, true), (op, false)])
        {
            // PUSH0 CALLDATALOAD, PUSH32 c, [SWAP1], op, PUSH0 MSTORE PUSH1 32 PUSH0 RETURN:
            // the stack is [v, c] with c on top unless swapped, and the op's first operand is
            // the top.
            let mut code = vec![0x5f, 0x35, 0x7f];
            code.extend_from_slice(&c.to_be_bytes::<32>());
            if !const_first {
                code.push(0x90);
            }
            code.extend_from_slice(&[op, 0x5f, 0x52, 0x60, 0x20, 0x5f, 0xf3]);
            for &v in &values {
                let r = same(&code, &v.to_be_bytes::<32>());
                let (x, y) = if const_first { (c, v) } else { (v, c) };
                let expected = match op {
                    0x10 => x < y,
                    0x11 => x > y,
                    0x12 => signed_lt(x, y),
                    0x13 => signed_lt(y, x),
                    _ => x == y,
                };
                assert_eq!(
                    U256::from_be_slice(r.output()),
                    U256::from(expected as u8),
                    "op {op:#x} on {x:#x}, {y:#x}"
                );
            }
        }
    }
}

/// AND, OR and XOR of two comparison results stay flags (and ISZERO of them, and a JUMPI on
/// them, test one register): every combination against the interpreter and the truth table.
#[test]
fn logic_on_comparison_results_matches_the_interpreter() {
    let values = [U256::ZERO, U256::from(1u64), U256::from(7u64), U256::MAX];
    for (op, f) in [
        (0x16u8, (|x, y| x & y) as fn(bool, bool) -> bool),
        (0x17, |x, y| x | y),
        (0x18, |x, y| x ^ y),
    ] {
        // a = calldata[0..32], b = calldata[32..64]; r = lt(b, a) OP eq(b, a); stores r and
        // iszero(r), and returns them after a JUMPI on r that skips nothing.
        let code = [
            0x5f, 0x35, 0x60, 0x20, 0x35, // 00: a b
            0x81, 0x81, 0x10, // 05: a b (b<a)
            0x82, 0x82, 0x14, // 08: a b (b<a) (b==a)
            op,   // 0b: a b r
            0x80, 0x5f, 0x52, // 0c: mstore(0, r)
            0x80, 0x15, 0x60, 0x20, 0x52, // 0f: mstore(32, iszero(r))
            0x60, 0x17, 0x57, // 14: jumpi(0x17, r)
            0x5b, 0x60, 0x40, 0x5f, 0xf3, // 17: return(0, 64)
        ];
        each_pair(&code, &values, |a, b, out| {
            let r = f(b < a, b == a);
            assert_eq!(
                U256::from_be_slice(&out[..32]),
                U256::from(r as u8),
                "op {op:#x}, {a}, {b}"
            );
            assert_eq!(U256::from_be_slice(&out[32..]), U256::from(!r as u8));
        });
    }
}

/// DIV, MOD, SDIV and SMOD take an inline 64-bit path when both operands fit: every pair of
/// edge values (zero divisors, -1, -2^63, values just past 64 bits) against the interpreter,
/// so both the inline path and the runtime's are crossed.
#[test]
fn division_matches_the_interpreter_on_both_sides_of_64_bits() {
    let neg = |v: U256| U256::ZERO.wrapping_sub(v);
    let values = [
        U256::ZERO,
        U256::from(1u64),
        U256::from(3u64),
        U256::from(7u64),
        neg(U256::from(1u64)),
        neg(U256::from(2u64)),
        neg(U256::from(7u64)),
        neg(U256::from(1u64) << 63),
        neg((U256::from(1u64) << 63) + U256::from(1u64)),
        (U256::from(1u64) << 63) - U256::from(1u64),
        U256::from(1u64) << 63,
        U256::from(u64::MAX),
        U256::from(1u64) << 64,
        U256::from(10u64).pow(U256::from(18u64)),
        neg(U256::from(10u64).pow(U256::from(18u64))),
        U256::from(1u64) << 255,
        U256::MAX - U256::from(1u64),
    ];
    // b = calldata[32..], a = calldata[..32]; returns a/b, a%b, a sdiv b, a smod b.
    let code = [
        0x60, 0x20, 0x35, 0x5f, 0x35, // b a
        0x81, 0x81, 0x04, 0x5f, 0x52, // DIV -> [0]
        0x81, 0x81, 0x06, 0x60, 0x20, 0x52, // MOD -> [32]
        0x81, 0x81, 0x05, 0x60, 0x40, 0x52, // SDIV -> [64]
        0x81, 0x81, 0x07, 0x60, 0x60, 0x52, // SMOD -> [96]
        0x60, 0x80, 0x5f, 0xf3,
    ];
    each_pair(&code, &values, |a, b, out| {
        assert_eq!(out.len(), 128);
        // The interpreter's DIV is the reference; its result is checked here too, so a
        // shared mistake cannot pass.
        let div = U256::from_be_slice(&out[..32]);
        assert_eq!(div, if b.is_zero() { U256::ZERO } else { a / b }, "{a} / {b}");
    });
}

/// MLOAD/MSTORE/MSTORE8 at constant offsets take a one-comparison bounds check: offsets on
/// both sides of the memory already paid for (64 bytes here), up to ones no gas can pay for.
#[test]
fn constant_offset_memory_access_matches_the_interpreter() {
    let offsets: [&[u8]; 9] = [
        &[0x00],
        &[0x01],
        &[0x20],
        &[0x21],
        &[0x3f],
        &[0x40],
        &[0xff, 0xff, 0xff, 0xff],
        &[0x01, 0x00, 0x00, 0x00, 0x00],
        &[0x01, 0, 0, 0, 0, 0, 0, 0, 0],
    ];
    for off in offsets {
        for op in [0x51u8, 0x52, 0x53] {
            // PUSH0 CALLDATALOAD PUSH1 0x20 MSTORE (memory is 64 bytes), then the access at
            // PUSHn off; MLOAD's result is stored at 0; RETURN the first 64 bytes.
            let mut code = vec![0x5f, 0x35, 0x60, 0x20, 0x52];
            if op != 0x51 {
                code.extend_from_slice(&[0x60, 0xab]); // the value
            }
            code.push(0x5f + off.len() as u8);
            code.extend_from_slice(off);
            code.push(op);
            if op == 0x51 {
                code.extend_from_slice(&[0x5f, 0x52]);
            }
            code.extend_from_slice(&[0x60, 0x40, 0x5f, 0xf3]);
            // One byte of calldata keeps the cost above the calldata floor: gas is compared.
            same(&code, &[0x5a]);
        }
    }
}

/// MUL takes four partial products when either run-time operand fits 64 bits (and when a
/// constant operand does): every pair of values on both sides of 2^64, against the
/// interpreter and against ruint's product.
#[test]
fn multiplication_matches_the_interpreter_on_both_sides_of_64_bits() {
    let values = [
        U256::ZERO,
        U256::from(1u64),
        U256::from(3u64),
        U256::from(u64::MAX),
        U256::from(1u64) << 64,
        (U256::from(1u64) << 64) + U256::from(1u64),
        U256::from(10u64).pow(U256::from(18u64)),
        U256::from(1u64) << 255,
        U256::MAX,
        U256::from_be_bytes([0xa5; 32]),
    ];
    // a*b, and a * 0xffffffffffffffff (a constant operand).
    let code = [
        0x60, 0x20, 0x35, 0x5f, 0x35, // b a
        0x81, 0x81, 0x02, 0x5f, 0x52, // a*b -> [0]
        0x80, 0x67, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0x60, 0x20,
        0x52, // a * (2^64-1) -> [32]
        0x60, 0x40, 0x5f, 0xf3,
    ];
    each_pair(&code, &values, |a, b, out| {
        assert_eq!(U256::from_be_slice(&out[..32]), a.wrapping_mul(b), "{a} * {b}");
        assert_eq!(U256::from_be_slice(&out[32..64]), a.wrapping_mul(U256::from(u64::MAX)));
    });
}

/// An operand of [`products_code`]: `(opcode, n)` puts the loaded word through `opcode` with
/// the constant `n` on top (a shift's amount, SIGNEXTEND's byte); `None` leaves it as loaded.
type Operand = Option<(u8, u8)>;

/// For each case `(a', b')`: b (call data word 1) and a (word 0) loaded and put through
/// their operand's opcode, MUL, stored at `32 * i`. Returns nothing yet: see [`push_mstore`]
/// and [`push_return`].
fn products_code(cases: &[(Operand, Operand)]) -> Vec<u8> {
    let mut code = Vec::new();
    for (i, (sa, sb)) in cases.iter().enumerate() {
        for (offset, s) in [(0x20u8, sb), (0x00, sa)] {
            code.extend([0x60, offset, 0x35]);
            if let Some((op, n)) = s {
                code.extend([0x60, *n, *op]);
            }
        }
        code.push(0x02);
        push_mstore(&mut code, i);
    }
    code
}

/// MSTORE of the top word at `32 * i`.
fn push_mstore(code: &mut Vec<u8>, i: usize) {
    code.push(0x61);
    code.extend((32 * i as u16).to_be_bytes());
    code.push(0x52);
}

/// RETURN of the first `n` words of memory.
fn push_return(code: &mut Vec<u8>, n: usize) {
    code.push(0x61);
    code.extend((32 * n as u16).to_be_bytes());
    code.extend([0x5f, 0xf3]);
}

/// The products [`products_code`] stored for `a` and `b`, against `apply`'s operands
/// multiplied by ruint.
fn assert_products(
    out: &[u8],
    (a, b): (U256, U256),
    cases: &[(Operand, Operand)],
    apply: impl Fn(U256, Operand) -> U256,
) {
    for (i, &(sa, sb)) in cases.iter().enumerate() {
        let want = apply(a, sa).wrapping_mul(apply(b, sb));
        let got = U256::from_be_slice(&out[32 * i..32 * i + 32]);
        assert_eq!(got, want, "case {i}: a {a:#x}, b {b:#x}");
    }
}

/// MUL of words whose limbs lowered to the constant zero (values shifted down or up by a
/// constant) skips those limbs' partial products and carries: every pair of shifted values,
/// in both operand orders, against the interpreter and against ruint's product.
#[test]
fn multiplication_of_shifted_words_matches_the_interpreter() {
    let values = [
        U256::ZERO,
        U256::from(1u64),
        U256::from(u64::MAX),
        (U256::from(1u64) << 64) + U256::from(3u64),
        U256::from(1u64) << 255,
        U256::MAX,
        U256::from_be_bytes([0xa5; 32]),
        U256::from_be_bytes([0x5a; 32]),
        // Its partial sums carry out of a limb that a constant's zero limb leaves unmultiplied.
        "0x1e2feb89414c343c1027c4d1c386bbc4cd613e30d8f16adf91b7584a2265b1f5".parse().unwrap(),
    ];
    // (SHL or SHR, amount) for each operand; `None` leaves it as loaded.
    const SHL: u8 = 0x1b;
    const SHR: u8 = 0x1c;
    let cases: [(Operand, Operand); 9] = [
        (Some((SHR, 192)), None),
        (None, Some((SHR, 192))),
        (Some((SHR, 128)), Some((SHR, 64))),
        (Some((SHL, 128)), None),
        (None, Some((SHL, 64))),
        (Some((SHL, 192)), Some((SHL, 64))),
        (Some((SHR, 64)), Some((SHL, 128))),
        (Some((SHR, 192)), Some((SHR, 192))),
        (Some((SHL, 64)), Some((SHR, 128))),
    ];
    let shifted = |v: U256, s: Operand| match s {
        Some((SHL, n)) => v << n as usize,
        Some((_, n)) => v >> n as usize,
        None => v,
    };
    let mut code = products_code(&cases);
    // Constants with zero limbs between non-zero ones, on top of the stack and below it:
    // MUL(c, a) and MUL(a, c) for each after the cases.
    let consts = [
        U256::from_limbs([u64::MAX, 0, u64::MAX, 0]),
        U256::from_limbs([0, u64::MAX, 0, u64::MAX]),
    ];
    let mut at = cases.len();
    for c in consts {
        let push_c = [[0x7f].as_slice(), &c.to_be_bytes::<32>()].concat();
        let load = [0x5f, 0x35];
        for c_on_top in [true, false] {
            match c_on_top {
                true => code.extend(load.iter().chain(&push_c)),
                false => code.extend(push_c.iter().chain(&load)),
            }
            code.push(0x02);
            push_mstore(&mut code, at);
            at += 1;
        }
    }
    push_return(&mut code, at);
    each_pair(&code, &values, |a, b, out| {
        assert_products(out, (a, b), &cases, shifted);
        let word = |i: usize| U256::from_be_slice(&out[32 * i..32 * i + 32]);
        for (k, c) in consts.iter().enumerate() {
            for order in 0..2 {
                let got = word(cases.len() + 2 * k + order);
                assert_eq!(got, a.wrapping_mul(*c), "a {a:#x} * {c:#x}, order {order}");
            }
        }
    });
}

/// MUL by a word known to be the sign extension of its low limb (SAR by 192 or more,
/// SIGNEXTEND from a low byte: fixed-point code's narrow signed weights) takes four partial
/// products and subtracts `x << 64` for a negative operand: every pair of values, negative
/// and positive, in both operand orders, against the interpreter and ruint's product.
#[test]
fn multiplication_by_sign_extended_words_matches_the_interpreter() {
    let values = [
        U256::ZERO,
        U256::from(1u64),
        U256::from(u64::MAX),
        U256::from(1u64) << 255,
        U256::MAX,
        U256::MAX - U256::from(0x1234u64),
        U256::from_be_bytes([0xa5; 32]),
        U256::from_be_bytes([0x5a; 32]),
        "0x1e2feb89414c343c1027c4d1c386bbc4cd613e30d8f16adf91b7584a2265b1f5".parse().unwrap(),
    ];
    const SAR: u8 = 0x1d;
    const SIGNEXTEND: u8 = 0x0b;
    // (opcode, its constant operand) for each MUL operand; `None` leaves it as loaded.
    let cases: [(Operand, Operand); 8] = [
        (Some((SAR, 240)), None),
        (None, Some((SAR, 192))),
        (Some((SAR, 200)), Some((SAR, 250))),
        (Some((SIGNEXTEND, 1)), None),
        (None, Some((SIGNEXTEND, 7))),
        (Some((SIGNEXTEND, 0)), Some((SAR, 255))),
        // Not sign extensions of the low limb: the general product.
        (Some((SAR, 191)), None),
        (None, Some((SIGNEXTEND, 8))),
    ];
    let apply = |v: U256, s: Operand| match s {
        Some((SAR, n)) => v.arithmetic_shr(n as usize),
        Some((_, k)) => {
            let bit = 8 * k as usize + 7;
            let low = (U256::from(1u64) << (bit + 1)) - U256::from(1u64);
            if v.bit(bit) {
                v | !low
            } else {
                v & low
            }
        }
        None => v,
    };
    let mut code = products_code(&cases);
    push_return(&mut code, cases.len());
    each_pair(&code, &values, |a, b, out| assert_products(out, (a, b), &cases, apply));
}

/// Signed division as the Yellow Paper defines it (truncating; MIN / -1 = MIN; x / 0 = 0),
/// written here from `U256`'s unsigned division as a reference independent of the runtime.
fn sdiv_ref(a: U256, b: U256) -> U256 {
    if b.is_zero() {
        return U256::ZERO;
    }
    let (na, nb) = (a.bit(255), b.bit(255));
    let abs = |x: U256, neg: bool| if neg { x.wrapping_neg() } else { x };
    abs(abs(a, na) / abs(b, nb), na != nb)
}

/// Signed modulo: the remainder takes the dividend's sign; x % 0 = 0.
fn smod_ref(a: U256, b: U256) -> U256 {
    if b.is_zero() {
        return U256::ZERO;
    }
    let (na, nb) = (a.bit(255), b.bit(255));
    let abs = |x: U256, neg: bool| if neg { x.wrapping_neg() } else { x };
    abs(abs(a, na) % abs(b, nb), na)
}

/// DIV, MOD, SDIV and SMOD by a constant power of two become shifts and masks of the whole
/// word: every power around the limb boundaries (and 2^255, which SDIV reads as negative and
/// which takes the division), against dividends around the rounding edges of each, checked
/// against the interpreter and against independent references.
#[test]
fn division_by_constant_powers_of_two_matches_the_interpreter() {
    let one = U256::from(1u64);
    for k in [1usize, 2, 5, 63, 64, 65, 127, 128, 129, 191, 192, 254, 255] {
        let c = one << k;
        let mut values = vec![U256::ZERO, one, U256::MAX, one << 255, (one << 255) - one];
        for v in [c, c - one, c + one, c + c - one, U256::from_be_bytes([0xa5; 32])] {
            values.extend([v, v.wrapping_neg()]);
        }
        // PUSH0 CALLDATALOAD, then per op: PUSH32 c, DUP2, op, PUSH1 at, MSTORE.
        let mut code = vec![0x5f, 0x35];
        for (i, op) in [0x04u8, 0x06, 0x05, 0x07].into_iter().enumerate() {
            code.push(0x7f);
            code.extend_from_slice(&c.to_be_bytes::<32>());
            code.extend_from_slice(&[0x81, op, 0x60, 32 * i as u8, 0x52]);
        }
        code.extend_from_slice(&[0x60, 0x80, 0x5f, 0xf3]);
        for v in values {
            let r = same(&code, &v.to_be_bytes::<32>());
            let out = r.output();
            let word = |i: usize| U256::from_be_slice(&out[32 * i..32 * (i + 1)]);
            assert_eq!(word(0), v / c, "{v:#x} / 2^{k}");
            assert_eq!(word(1), v % c, "{v:#x} % 2^{k}");
            assert_eq!(word(2), sdiv_ref(v, c), "{v:#x} sdiv 2^{k}");
            assert_eq!(word(3), smod_ref(v, c), "{v:#x} smod 2^{k}");
        }
    }
}

/// A product divided back by one of its factors (Solidity's checked multiplication) is the
/// other factor when the product cannot have wrapped, and goes through the division
/// otherwise: every pair of factors on both sides of 2^127 and 2^128 (signed and not), zero
/// and -1 among them, with a run-time and a constant divisor, either factor order.
#[test]
fn products_divided_back_match_the_interpreter() {
    let one = U256::from(1u64);
    let mut values = vec![U256::ZERO, U256::MAX, one << 255, (one << 255) - one];
    for v in [one, U256::from(3u64), U256::from(10u64).pow(U256::from(18u64))] {
        values.extend([v, v.wrapping_neg()]);
    }
    for k in [63usize, 64, 127, 128] {
        let p = one << k;
        for v in [p - one, p, p + one] {
            values.extend([v, v.wrapping_neg()]);
        }
    }
    let c = U256::from(0x7d5dcu64);
    // a = calldata[0], b = calldata[32]; [a, b] with a on top.
    let mut code = vec![0x60, 0x20, 0x35, 0x5f, 0x35];
    // mul(a, b) / a, sdiv too; then mul(b, a) sdiv a: DUP2 DUP2 MUL DUP2 SWAP1 op.
    for (at, op, swap) in [(0u8, 0x04u8, false), (0x20, 0x05, false), (0x40, 0x05, true)] {
        if swap {
            code.extend_from_slice(&[0x81, 0x81, 0x90, 0x02]);
        } else {
            code.extend_from_slice(&[0x81, 0x81, 0x02]);
        }
        code.extend_from_slice(&[0x81, 0x90, op, 0x60, at, 0x52]);
    }
    // mul(a, c) / c and sdiv by c, c pushed twice (two values, one constant).
    for (at, op) in [(0x60u8, 0x04u8), (0x80, 0x05)] {
        code.push(0x7f);
        code.extend_from_slice(&c.to_be_bytes::<32>());
        code.extend_from_slice(&[0x81, 0x02, 0x7f]);
        code.extend_from_slice(&c.to_be_bytes::<32>());
        code.extend_from_slice(&[0x90, op, 0x60, at, 0x52]);
    }
    code.extend_from_slice(&[0x60, 0xa0, 0x5f, 0xf3]);
    each_pair(&code, &values, |a, b, out| {
        let word = |i: usize| U256::from_be_slice(&out[32 * i..32 * (i + 1)]);
        let div = |p: U256, d: U256| if d.is_zero() { U256::ZERO } else { p / d };
        assert_eq!(word(0), div(a.wrapping_mul(b), a), "mul({a:#x}, {b:#x}) / a");
        assert_eq!(word(1), sdiv_ref(a.wrapping_mul(b), a), "mul({a:#x}, {b:#x}) sdiv a");
        assert_eq!(word(2), sdiv_ref(b.wrapping_mul(a), a), "mul({b:#x}, {a:#x}) sdiv a");
        assert_eq!(word(3), div(a.wrapping_mul(c), c), "mul({a:#x}, c) / c");
        assert_eq!(word(4), sdiv_ref(a.wrapping_mul(c), c), "mul({a:#x}, c) sdiv c");
    });
}

/// A loop body pays its head's entry gas with its own (one gas check per iteration): gas
/// limits across the whole run, one unit apart, end exactly as in the interpreter.
#[test]
fn prepaid_loop_heads_run_out_of_gas_where_the_interpreter_does() {
    // fibonacci-calldata: PUSH0 CALLDATALOAD PUSH0 PUSH1 1, loop: JUMPDEST DUP3 ISZERO ...
    let code = alloy_primitives::hex::decode(
        "5f355f60015b8215601a578181019150909160019003916005565b9150505f5260205ff3",
    )
    .unwrap();
    let calldata = U256::from(6u64).to_be_bytes::<32>();
    let full = run_with_gas(&code, &calldata, 1_000_000, false).0;
    assert!(full.is_success());
    let used = full.gas_used();
    let (mut halted, mut ok) = (0, 0);
    for gas in used - 200..=used + 2 {
        if same_with_gas(&code, &calldata, gas, "fibonacci of 6").is_success() {
            ok += 1;
        } else {
            halted += 1;
        }
    }
    assert_eq!((halted, ok), (200, 3), "the sweep ends at the exact cost");
}

/// A block that static jumps reach at different heights starts a region of its own; its
/// predecessors hand it the stack height, the gas and its two inputs in variables rather than
/// through memory (from memory themselves where an input lies below their own variables),
/// and a dynamic jump to it enters through a pad that loads them. On each way in, the sum of
/// its inputs, the GAS it returns and every gas limit across the exact cost end as in the
/// interpreter; so do an underflowing dynamic entry and a jump one byte past it.
#[test]
fn blocks_entered_at_several_heights_and_by_dynamic_jumps_match_the_interpreter() {
    // [5], c = calldata[0]: 0 falls through to a jump to H with [2, 1, 5]; 1 jumps to A,
    // which jumps to H with [7, 5]; 2 jumps to D, which pops c and jumps to calldata[1] with
    // [5]: to P, a block only that dynamic jump reaches, which jumps to H with [9, 5] (its 5
    // below P's own entry), or to H itself (one item: underflow). H: JUMPDEST, a cold SLOAD
    // (so that the EIP-7623 floor stays below the cost), ADD, +3 to memory, GAS to memory.
    let code = alloy_primitives::hex::decode(
        "60055f3560f81c80600214601e5760185760016002602d565b6007602d565b5060013560f81c565b\
         6009602d565b5f5450016003015f525a60205260405ff3",
    )
    .unwrap();
    let (p, h) = (0x27u8, 0x2du8);
    let f = kiln_ir::build(&code, SpecId::Prague);
    let plan =
        kiln_codegen::analysis::stack_plan::plan(&f, &vec![true; f.blocks.len()], Carry::Regions);
    let at = |pc: u8| plan.blocks[f.blocks.iter().position(|b| b.pc == pc as u32).unwrap()];
    assert!(at(h).static_head && at(h).head_pad, "H: static jumps enter it, and a pad");
    assert!(at(p).head && !at(p).static_head, "P: only a dynamic jump enters it");
    let ways: [(&str, &[u8], u64); 3] = [
        ("the fallthrough, three items", &[], 2 + 1 + 3),
        ("the static jump, two items", &[1], 7 + 5 + 3),
        ("through P, an input from below it", &[2, p], 9 + 5 + 3),
    ];
    for (way, calldata, sum) in ways {
        let full = same_with_gas(&code, calldata, 1_000_000, way);
        assert!(full.is_success(), "{way}");
        assert_eq!(U256::from_be_slice(&full.output()[..32]), U256::from(sum), "{way}");
        let used = full.gas_used();
        let mut ok = 0;
        for gas in used - 40..=used + 2 {
            ok += same_with_gas(&code, calldata, gas, way).is_success() as u32;
        }
        assert_eq!(ok, 3, "{way}: the sweep ends at the exact cost");
    }
    let under = same_with_gas(&code, &[2, h], 1_000_000, "a dynamic jump to H with one item");
    assert!(!under.is_success(), "H needs two items");
    let past = same_with_gas(&code, &[2, h + 1], 1_000_000, "a jump past H");
    assert!(!past.is_success(), "H + 1 is no JUMPDEST");
}

/// Memory growth at run-time offsets is inline within the buffer's zeroed part and goes
/// through the runtime past it: offsets that grow by a word, by many words, past the zeroed
/// part and past 2^32, each under gas limits across the exact cost, end as in the
/// interpreter (MSIZE and the gas left are returned, so both are compared).
#[test]
fn memory_growth_at_runtime_offsets_matches_the_interpreter() {
    // mstore(0, 32), then MSTOREs at x, x+32, x+64, x+96 (x = calldata[0]: growth a word at
    // a time, so the zeroed part doubles ahead and later words grow inline), an MLOAD at
    // calldata[32], and return MSIZE and GAS.
    let mut code = vec![0x60, 0x20, 0x5f, 0x52, 0x5f, 0x35, 0x60, 0x07, 0x81, 0x52];
    for _ in 0..3 {
        code.extend_from_slice(&[0x60, 0x20, 0x01, 0x60, 0x07, 0x81, 0x52]);
    }
    code.extend_from_slice(&[
        0x50, 0x60, 0x20, 0x35, 0x51, 0x50, // pop(x); pop(mload(calldata[32]))
        0x59, 0x5f, 0x52, // mstore(0, msize)
        0x5a, 0x60, 0x20, 0x52, // mstore(32, gas)
        0x60, 0x40, 0x5f, 0xf3,
    ]);
    // The four stores share one check of 128 bytes at x (`memory_checks`): also x just
    // below 2^32 (the check's end crosses it) and x near 2^256 (x + 32 wraps to 0).
    let cases: [(U256, u64); 12] = [
        (U256::from(0x20), 0x00),
        (U256::from(0x21), 0xa0),
        (U256::from(0x20), 0xe0),
        (U256::from(0x3e0), 0x4000),
        (U256::from(0x10_000), 0x10_080),
        (U256::from(0x30_000), 0x50_000),
        (U256::from(1u64 << 32), 0x20),
        (U256::from(0x40), 1 << 33),
        (U256::from((1u64 << 32) - 64), 0x20),
        (U256::from((1u64 << 32) - 128), 0x20),
        (U256::MAX - U256::from(31), 0x20),
        (U256::MAX - U256::from(95), 0x20),
    ];
    for (store_at, load_at) in cases {
        let mut calldata = store_at.to_be_bytes::<32>().to_vec();
        calldata.extend_from_slice(&U256::from(load_at).to_be_bytes::<32>());
        let full = run_with_gas(&code, &calldata, 10_000_000, false).0;
        let floor = calldata_floor(&calldata);
        let top = if full.is_success() { full.gas_used() + 2 } else { floor + 2_000 };
        let mut limits: Vec<u64> = (top.saturating_sub(60)..=top).collect();
        limits.extend((floor..top).step_by(997));
        for gas in limits.into_iter().filter(|&g| g >= floor) {
            same_with_gas(
                &code,
                &calldata,
                gas,
                &format!("store {store_at:#x}, load {load_at:#x}"),
            );
        }
    }
}

/// KECCAK256 through its own builtin charges the memory growth and the per-word gas and halts
/// where the interpreter does: offsets and lengths on both sides of one block, of 2^32 and of
/// 2^64, each at every gas limit near the one that just suffices. The code stores a word at
/// 0, reads GAS (so that the hash's gas section starts after the store's memory growth
/// handed the gas to the runtime), hashes (calldata[0], calldata[32]), and returns the
/// hash, MSIZE and GAS.
#[test]
fn keccak_matches_the_interpreter_at_every_gas_limit_near_the_end() {
    let code = [
        0x60, 0x2a, 0x5f, 0x52, // mstore(0, 42)
        0x5a, 0x50, // pop(gas)
        0x60, 0x20, 0x35, 0x5f, 0x35, 0x20, // keccak256(calldata[0], calldata[32])
        0x5f, 0x52, // mstore(0, hash)
        0x59, 0x60, 0x20, 0x52, // mstore(32, msize)
        0x5a, 0x60, 0x40, 0x52, // mstore(64, gas)
        0x60, 0x60, 0x5f, 0xf3,
    ];
    let big = |bits: usize| U256::from(1u64) << bits;
    let cases = [
        (U256::ZERO, U256::ZERO),
        (U256::ZERO, U256::from(32)),
        (U256::from(1), U256::from(64)),
        (U256::from(0x40), U256::from(135)),
        (U256::from(0x40), U256::from(136)),
        (U256::from(0x1000), U256::from(300)),
        (U256::from(7), U256::from(0x3000)),
        // An empty range costs nothing wherever it is.
        (U256::MAX, U256::ZERO),
        (big(64), U256::from(32)),
        (U256::from(0), big(32)),
        (U256::from(0), big(64)),
        (big(32) - U256::from(1), U256::from(2)),
    ];
    for (offset, len) in cases {
        let mut calldata = offset.to_be_bytes::<32>().to_vec();
        calldata.extend_from_slice(&len.to_be_bytes::<32>());
        let full = run_with_gas(&code, &calldata, 10_000_000, false).0;
        let floor = calldata_floor(&calldata);
        let top = if full.is_success() { full.gas_used() + 2 } else { floor + 2_000 };
        let mut limits: Vec<u64> = (top.saturating_sub(40)..=top).collect();
        limits.extend((floor..top).step_by(499));
        for gas in limits.into_iter().filter(|&g| g >= floor) {
            same_with_gas(&code, &calldata, gas, &format!("offset {offset:#x}, len {len:#x}"));
        }
    }
}

/// Accesses at constant distances share one bounds check only where nothing between them
/// observes the memory size or the gas: x = calldata[0]; mstore(x, 1); mstore(x + 32,
/// msize()); mstore(x + 64, gas()); return mload(x + 32) and mload(x + 64). A check for the
/// three stores at the first would change both values read back. Offsets that grow memory
/// inline, through the runtime and past 2^32, under gas limits across the exact cost.
#[test]
fn memory_size_and_gas_read_between_grouped_accesses_match_the_interpreter() {
    let code = alloy_primitives::hex::decode(
        "5f35600181525960208201525a6040820152602081015160005260408101516020526040 5ff3"
            .replace(' ', ""),
    )
    .unwrap();
    for x in [0u64, 0x20, 0x1000, 0x20_000, (1 << 32) - 64, 1 << 32] {
        let calldata = U256::from(x).to_be_bytes::<32>();
        let full = same_with_gas(&code, &calldata, 10_000_000, &format!("x = {x:#x}"));
        // Past a few MiB, memory costs more than the 10M gas.
        if x < 1 << 20 {
            assert!(full.is_success(), "x = {x:#x}");
            let out = full.output();
            assert_eq!(U256::from_be_slice(&out[..32]), U256::from(x + 32), "MSIZE at x = {x:#x}");
        }
        let floor = calldata_floor(&calldata);
        let top = if full.is_success() { full.gas_used() + 2 } else { floor + 2_000 };
        for gas in (top.saturating_sub(40)..=top).filter(|&g| g >= floor) {
            same_with_gas(&code, &calldata, gas, &format!("x = {x:#x}"));
        }
    }
}

/// A byte store, then a word store at the same offset: the byte store's check covers the
/// word's 32 bytes. At offsets that are not word-aligned the word reaches a memory word
/// the byte does not, so a check of one byte would leave the word store outside memory.
/// Returns MSIZE, under gas limits across the exact cost.
#[test]
fn a_byte_store_then_a_word_store_at_one_offset_match_the_interpreter() {
    // x = calldata[0]; mstore8(x, 0xff); mstore(x, 2); return msize()
    let code = alloy_primitives::hex::decode("5f3560ff8153600281525f5f52595f5260205ff3").unwrap();
    for x in [0x21u64, 0x3f, 0x1001, 0x20_011] {
        let calldata = U256::from(x).to_be_bytes::<32>();
        let full = same_with_gas(&code, &calldata, 10_000_000, &format!("x = {x:#x}"));
        assert!(full.is_success(), "x = {x:#x}");
        let msize = (x + 32).div_ceil(32) * 32;
        assert_eq!(U256::from_be_slice(full.output()), U256::from(msize), "x = {x:#x}");
        let floor = calldata_floor(&calldata);
        let top = full.gas_used() + 2;
        for gas in (top.saturating_sub(40)..=top).filter(|&g| g >= floor) {
            same_with_gas(&code, &calldata, gas, &format!("x = {x:#x}"));
        }
    }
}

/// CALLDATALOAD is inline when the word lies inside the call data and the runtime's past its
/// end; CALLDATASIZE reads the length. Constant and run-time offsets around the end of call
/// data of several lengths, and offsets past 2^32 and 2^64, against the interpreter.
#[test]
fn calldataload_matches_the_interpreter_around_the_end_of_the_data() {
    for n in [0usize, 1, 31, 32, 33, 64, 100] {
        let data: Vec<u8> = (0..n).map(|i| (i as u8).wrapping_mul(37).wrapping_add(1)).collect();
        for k in [0u8, 1, 31, 32, 33, 68] {
            for d in [0u8, 1, 31, 32, 33] {
                // calldataload(k) -> [0]; calldataload(calldatasize - d) -> [32];
                // calldatasize -> [64]; calldataload(2^64 + k) -> [96]
                let mut code = vec![0x60, k, 0x35, 0x5f, 0x52];
                code.extend_from_slice(&[0x60, d, 0x36, 0x03, 0x35, 0x60, 0x20, 0x52]);
                code.extend_from_slice(&[0x36, 0x60, 0x40, 0x52]);
                code.extend_from_slice(&[
                    0x68, 0x01, 0, 0, 0, 0, 0, 0, 0, k, 0x35, 0x60, 0x60, 0x52,
                ]);
                code.extend_from_slice(&[0x60, 0x80, 0x5f, 0xf3]);
                let r = same(&code, &data);
                let out = r.output();
                // The word at k, zero-padded: checked against the data itself too.
                let mut want = [0u8; 32];
                for (i, w) in want.iter_mut().enumerate() {
                    *w = data.get(k as usize + i).copied().unwrap_or(0);
                }
                assert_eq!(&out[..32], &want, "length {n}, offset {k}");
                assert_eq!(U256::from_be_slice(&out[64..96]), U256::from(n));
            }
        }
    }
}

/// `n = calldata[0]; i = 0; while n != 0 { i += step; n -= 1 }; return i`.
fn counter_loop(step: u8) -> Vec<u8> {
    vec![
        0x5f, 0x35, 0x5f, 0x5b, 0x81, 0x15, 0x60, 0x15, 0x57, 0x60, step, 0x01, 0x90, 0x60, 0x01,
        0x90, 0x03, 0x90, 0x60, 0x03, 0x56, 0x5b, 0x5f, 0x52, 0x60, 0x20, 0x5f, 0xf3,
    ]
}

#[test]
fn gas_bounded_counters_count_as_the_interpreter_does() {
    // Steps up to ADD's gas are proven to fit 64 bits (one limb in the compiled loop); larger
    // ones are not. Either way the count and the gas match the interpreter's.
    for step in [1u8, 3, 4, 0xff] {
        let code = counter_loop(step);
        for n in [0u64, 1, 7, 100] {
            let r = same(&code, &U256::from(n).to_be_bytes::<32>());
            assert_eq!(U256::from_be_slice(r.output()), U256::from(n * step as u64), "step {step}");
        }
        let data = U256::from(50).to_be_bytes::<32>();
        let needed = run(&code, &data, false).0.gas_used();
        for gas in (needed - 120..=needed).step_by(3) {
            same_with_gas(&code, &data, gas, &format!("step {step}"));
        }
    }
}

#[test]
fn a_counter_feeds_full_width_arithmetic() {
    // i = counter_loop(1)'s count; return (i * 2^200) + (3 > i) - calldata[0]: the counter's
    // high limbs must read as zeros wherever it meets a full word.
    let mut code = counter_loop(1);
    code.truncate(0x16); // up to the JUMPDEST after the loop, stack [n, i]
    code.extend_from_slice(&[
        0x80, // DUP1 i
        0x60, 0x03, 0x11, // GT with 3 on top: 3 > i
        0x81, // DUP2 i
        0x60, 0x01, 0x60, 0xc8, 0x1b, // 1 << 200
        0x02, // MUL
        0x01, // ADD flag
        0x5f, 0x35, 0x90, 0x03, // SUB: word - calldata[0]
        0x5f, 0x52, 0x60, 0x20, 0x5f, 0xf3,
    ]);
    for n in [0u64, 2, 5] {
        let r = same(&code, &U256::from(n).to_be_bytes::<32>());
        let expect = (U256::from(n) << 200) + U256::from((3 > n) as u8) - U256::from(n);
        assert_eq!(U256::from_be_slice(r.output()), expect, "n {n}");
    }
}

#[test]
fn frames_with_more_gas_than_native_code_assumes_run_in_the_interpreter() {
    let contract = Address::repeat_byte(0xcc);
    let sender = Address::repeat_byte(0x11);
    let mut db = InMemoryDb::new();
    db.insert_account(contract, U256::ZERO, 1, Bytes::from(counter_loop(1)), []);
    db.insert_account(sender, U256::from(1u128 << 100), 0, Bytes::new(), []);
    let block = BlockEnv { gas_limit: u64::MAX, number: U256::from(1), ..Default::default() };
    let mut jit = JitCompiler::new().unwrap();
    for (gas_limit, compiled) in [(1u64 << 62, 1), ((1u64 << 63) + 1_000_000, 0)] {
        let tx = TxEnv {
            caller: sender,
            kind: TxKind::Call(contract),
            data: Bytes::copy_from_slice(&U256::from(3).to_be_bytes::<32>()),
            gas_limit,
            nonce: jit.stats().compiled as u64,
            ..Default::default()
        };
        let before = jit.stats().compiled + jit.stats().cache_hits;
        let r = transact_and_commit(&mut db, &block, &tx, Some(&mut jit));
        assert_eq!(U256::from_be_slice(r.output()), U256::from(3));
        let lookups = jit.stats().compiled + jit.stats().cache_hits - before;
        assert_eq!(lookups, compiled, "gas limit {gas_limit}");
    }
}

/// `n = calldata[0]; x = calldata[32]; while n != 0 { x += step (or -= step); n -= 1 };
/// return x`: a full-width value stepped by a constant in a loop.
fn stepping_loop(step: u8, sub: bool) -> Vec<u8> {
    let op: &[u8] = if sub { &[0x60, step, 0x90, 0x03] } else { &[0x60, step, 0x01] };
    let end = 0x0b + op.len() as u8 + 9;
    let mut code = vec![0x5f, 0x35, 0x60, 0x20, 0x35, 0x5b, 0x81, 0x15, 0x60, end, 0x57];
    code.extend_from_slice(op);
    code.extend_from_slice(&[0x90, 0x60, 0x01, 0x90, 0x03, 0x90, 0x60, 0x05, 0x56]);
    assert_eq!(code.len(), end as usize);
    code.extend_from_slice(&[0x5b, 0x5f, 0x52, 0x60, 0x20, 0x5f, 0xf3]);
    code
}

#[test]
fn constant_steps_carry_across_limbs_in_loops() {
    // The compiled loop steps the low limb alone and carries into the high limbs on a cold
    // path: start just below (and at) each limb boundary so the carry or borrow is taken.
    let max = U256::MAX;
    let starts = [
        U256::ZERO,
        U256::from(1),
        U256::from(u64::MAX - 1),
        U256::from(1u128 << 64),
        U256::from(u128::MAX - 2),
        U256::from(1) << 128usize,
        (U256::from(1) << 192usize) - U256::from(2),
        U256::from(1) << 192usize,
        max - U256::from(3),
        max,
    ];
    for sub in [false, true] {
        for step in [1u8, 3, 0xff] {
            let code = stepping_loop(step, sub);
            for &x in &starts {
                let n = 4u64;
                let mut data = U256::from(n).to_be_bytes::<32>().to_vec();
                data.extend_from_slice(&x.to_be_bytes::<32>());
                let r = same(&code, &data);
                let d = U256::from(n * step as u64);
                let want = if sub { x.wrapping_sub(d) } else { x.wrapping_add(d) };
                assert_eq!(U256::from_be_slice(r.output()), want, "x {x:#x} step {step} sub {sub}");
            }
        }
    }
    // A counter whose decrement borrows out of its low limb on the first step: it runs out of
    // gas in both, after the same work.
    let code = stepping_loop(1, false);
    let mut data = (U256::from(1) << 64usize).to_be_bytes::<32>().to_vec();
    data.extend_from_slice(&[0; 32]);
    for gas in [30_000u64, 30_001, 30_002, 50_000] {
        same_with_gas(&code, &data, gas, "counter from 2^64");
    }
}

/// SHL, SHR and SAR by run-time amounts, compiled inline, against the Yellow Paper's
/// definitions written here with `U256`'s own shifts: every amount around the limb
/// boundaries, 256 and past it, and amounts whose high limbs alone are non-zero.
#[test]
fn shifts_by_runtime_amounts_match_the_interpreter() {
    let one = U256::from(1u64);
    let amounts = [0u64, 1, 63, 64, 65, 127, 128, 129, 191, 192, 200, 255, 256, 257, u64::MAX];
    let words = [
        (one << 64) + one,
        (one << 128) + U256::from(3u64),
        one << 255,
        (one << 255) | U256::from(0xffu64),
        U256::from_be_bytes([0xa5; 32]),
        U256::MAX,
    ];
    let values: Vec<U256> = amounts.map(U256::from).into_iter().chain(words).collect();
    // shift value: [0] = value << shift, [32] = value >> shift, [64] = value >>> shift.
    let code = [
        0x60, 0x20, 0x35, 0x5f, 0x35, // value shift
        0x81, 0x81, 0x1b, 0x5f, 0x52, // SHL -> [0]
        0x81, 0x81, 0x1c, 0x60, 0x20, 0x52, // SHR -> [32]
        0x1d, 0x60, 0x40, 0x52, // SAR -> [64]
        0x60, 0x60, 0x5f, 0xf3,
    ];
    each_pair(&code, &values, |shift, value, out| {
        let small = usize::try_from(shift).ok().filter(|&s| s < 256);
        let negative = value.bit(255);
        let shl = small.map_or(U256::ZERO, |s| value << s);
        let shr = small.map_or(U256::ZERO, |s| value >> s);
        let sar = match (small, negative) {
            (Some(s), false) => value >> s,
            (Some(s), true) => !(!value >> s),
            (None, false) => U256::ZERO,
            (None, true) => U256::MAX,
        };
        assert_eq!(U256::from_be_slice(&out[..32]), shl, "{value:#x} << {shift}");
        assert_eq!(U256::from_be_slice(&out[32..64]), shr, "{value:#x} >> {shift}");
        assert_eq!(U256::from_be_slice(&out[64..96]), sar, "{value:#x} >>> {shift}");
    });
}

/// A function called from two sites returns to each by a static edge (the stack plan's
/// return edges), and to a third site the analysis never saw (reached only through a jump to
/// a calldata pc) through the dispatcher: storage and results are the interpreter's either
/// way.
#[test]
fn returns_take_static_edges_and_unseen_returns_the_dispatcher() {
    // 0: PUSH1 0 CALLDATALOAD DUP1 PUSH1 G JUMPI POP; call F(3) returning to R1 (15), store
    // at 0; call F(5) returning to R2 (26), store at 1; STOP. G (31): JUMP to the calldata
    // pc. X (33): call F(7) returning to R3 (41), store at 2; STOP. F (46): 2 * arg +
    // CALLDATASIZE, SWAP1 JUMP.
    let code = alloy_primitives::hex::decode(
        "60003580601f5750600f6003602e565b600055601a6005602e565b600155005b565b60296007602e565b\
         600255005b800136019056",
    )
    .unwrap();
    let f = kiln_ir::build(&code, SpecId::Prague);
    let live = f.reachable(&f.resumes);
    let plan = kiln_codegen::analysis::stack_plan::plan(&f, &live, Carry::Regions);
    let func = f.blocks.iter().position(|b| b.pc == 46).expect("F's block");
    let mut pcs: Vec<u32> =
        plan.returns[func].clone().expect("return edges").iter().map(|r| r.0).collect();
    pcs.sort();
    assert_eq!(pcs, [15, 26], "F's returns to the two sites the analysis saw");
    for pc in [0u64, 33] {
        let calldata = U256::from(pc).to_be_bytes::<32>();
        let (interp, interp_root) = run(&code, &calldata, false);
        let (jit, jit_root) = run(&code, &calldata, true);
        assert!(interp.is_success(), "{interp:?}");
        assert_eq!(jit, interp, "calldata pc {pc}");
        assert_eq!(jit_root, interp_root, "calldata pc {pc}");
    }
}
