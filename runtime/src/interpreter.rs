//! The reference interpreter: one loop over the same instruction functions compiled code calls.

use crate::context::{Action, CallKind, Context, FrameResult, OpResult, Status};
use crate::host::Host;
use crate::instructions::{
    arithmetic as a, bitwise as b, contract, control, host_ops as h, memory as m, system as s,
};
use crate::result::Log;
use alloy_primitives::U256;
use kiln_frontend::{opcode as op, SpecId};
use std::sync::OnceLock;

/// One opcode's facts for the hot loop, packed in one word so that one load fetches them:
/// bits 0..16 static gas, 16..32 the stack items needed (`u16::MAX` for an undefined opcode,
/// so that the one stack-bounds compare also rejects it), 32..48 the span of allowed stack
/// heights above that (the height is in bounds exactly when `len - min <= span`, unsigned),
/// bit 48 set for a defined opcode.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[repr(transparent)]
pub struct OpInfo(u64);

impl OpInfo {
    const UNDEFINED: OpInfo = OpInfo((u16::MAX as u64) << 16);

    fn new(gas: u16, min_stack: u16, max_stack: u16) -> Self {
        let span = max_stack - min_stack;
        OpInfo(gas as u64 | (min_stack as u64) << 16 | (span as u64) << 32 | 1 << 48)
    }

    /// Static gas.
    #[inline(always)]
    pub fn gas(self) -> u64 {
        self.0 & 0xffff
    }

    /// Stack items the opcode needs.
    #[inline(always)]
    pub fn min_stack(self) -> usize {
        (self.0 >> 16) as u16 as usize
    }

    #[inline(always)]
    pub fn defined(self) -> bool {
        self.0 >> 48 != 0
    }

    /// Whether the opcode may run at stack height `len`; false for undefined opcodes.
    #[inline(always)]
    pub fn stack_ok(self, len: usize) -> bool {
        len.wrapping_sub(self.min_stack()) <= (self.0 >> 32) as u16 as usize
    }

    /// Why [`OpInfo::stack_ok`] failed.
    #[cold]
    pub fn fault(self, len: usize) -> Status {
        if !self.defined() {
            Status::InvalidOpcode
        } else if len < self.min_stack() {
            Status::StackUnderflow
        } else {
            Status::StackOverflow
        }
    }
}

/// Per-fork facts from the opcode table, arranged for one load each in the hot loop.
pub struct OpTables {
    pub ops: [OpInfo; 256],
}

impl OpTables {
    fn build(spec: SpecId) -> Self {
        let mut t = OpTables { ops: [OpInfo::UNDEFINED; 256] };
        for code in 0..=255u8 {
            if let Some(info) = op::info_in(code, spec) {
                let min = info.inputs as u16;
                let max = (crate::gas::STACK_LIMIT as i32 - info.stack_delta().max(0)) as u16;
                t.ops[code as usize] = OpInfo::new(info.static_gas, min, max);
            }
        }
        t
    }

    /// The tables of `spec`, built once per process.
    pub fn get(spec: SpecId) -> &'static OpTables {
        static TABLES: [OnceLock<OpTables>; SpecId::COUNT] =
            [const { OnceLock::new() }; SpecId::COUNT];
        TABLES[spec as usize].get_or_init(|| OpTables::build(spec))
    }
}

/// Observes execution: the interpreter's instructions, the frames it runs (calls and creates
/// at every depth) and the logs it emits. `kiln::Evm::inspect` runs a transaction under one;
/// the EIP-3155 tracer ([`crate::JsonTracer`]) is one. Compiled code does not step: a
/// transaction run under an enabled tracer is interpreted throughout.
///
/// `step` comes before every instruction the loop attempts, with `ctx.pc` and `ctx.gas` in
/// sync, including one that then fails its gas or stack check. The instruction's end is not
/// reported on its own: it is the next `step` of the same frame, or `frame_end` when the loop
/// stops (the frame ended, failed, or suspended for a CALL/CREATE before the callee runs).
/// That keeps the loop's many `continue`s free of hooks, and gives a tracer the gas after each
/// instruction (`ctx.gas`) in both places.
pub trait Tracer {
    /// Whether the hooks are called; lets the untraced loop compile them away.
    const ENABLED: bool;
    fn step(&mut self, ctx: &Context, opcode: u8);
    /// The loop stopped with `status` after the last instruction `step` announced.
    fn frame_end(&mut self, ctx: &Context, status: Status);
    /// A call or create is about to start a frame at `depth` (0: the transaction's own).
    fn call(&mut self, _action: &Action, _depth: usize) {}
    /// The frame the last unmatched [`Tracer::call`] started has ended (a call that fails before
    /// its frame runs, or a precompile, ends here too).
    fn call_end(&mut self, _result: &FrameResult) {}
    /// A LOG instruction emitted `log` (a revert later drops it from the receipt).
    fn log(&mut self, _log: &Log) {}
}

/// No tracing.
pub struct NoTracer;

impl Tracer for NoTracer {
    const ENABLED: bool = false;
    #[inline(always)]
    fn step(&mut self, _: &Context, _: u8) {}
    #[inline(always)]
    fn frame_end(&mut self, _: &Context, _: Status) {}
}

/// A `match` on `$opcode` whose first arms are the instructions that only touch the stack and
/// the frame's own fields, followed by the caller's arms. Both dispatchers (the loop's inline
/// arms and [`execute`], which compiled code and the loop's outlined path reach) are written
/// through it, so an instruction of this kind has one arm for both.
macro_rules! stack_only_ops {
    ($opcode:ident, $ctx:ident, { $($arms:tt)* }) => {
        match $opcode {
            op::ADD => a::add($ctx),
            op::MUL => a::mul($ctx),
            op::SUB => a::sub($ctx),
            op::DIV => a::div($ctx),
            op::SDIV => a::sdiv($ctx),
            op::MOD => a::rem($ctx),
            op::SMOD => a::smod($ctx),
            op::ADDMOD => a::addmod($ctx),
            op::MULMOD => a::mulmod($ctx),
            op::SIGNEXTEND => a::signextend($ctx),
            op::LT => b::lt($ctx),
            op::GT => b::gt($ctx),
            op::SLT => b::slt($ctx),
            op::SGT => b::sgt($ctx),
            op::EQ => b::eq($ctx),
            op::ISZERO => b::iszero($ctx),
            op::AND => b::and($ctx),
            op::OR => b::or($ctx),
            op::XOR => b::xor($ctx),
            op::NOT => b::not($ctx),
            op::BYTE => b::byte($ctx),
            op::SHL => b::shl($ctx),
            op::SHR => b::shr($ctx),
            op::SAR => b::sar($ctx),
            op::CLZ => b::clz($ctx),
            op::ADDRESS => $ctx.stack.push($ctx.address.into_word().into()),
            op::CALLER => $ctx.stack.push($ctx.caller.into_word().into()),
            op::CALLVALUE => $ctx.stack.push($ctx.value),
            op::CALLDATALOAD => s::calldataload($ctx),
            op::CALLDATASIZE => $ctx.stack.push(U256::from($ctx.input.len())),
            op::POP => {
                $ctx.stack.pop();
            }
            op::PUSH0 => $ctx.stack.push(U256::ZERO),
            op::DUP1..=op::DUP16 => $ctx.stack.dup(($opcode - op::DUP1 + 1) as usize),
            op::SWAP1..=op::SWAP16 => $ctx.stack.swap(($opcode - op::SWAP1 + 1) as usize),
            $($arms)*
        }
    };
}

/// Runs `ctx` from `ctx.pc` until it ends or suspends for a call.
///
/// The program counter (as a pointer into the code) and the gas counter live in locals for
/// the whole loop; they are written back to `ctx` before anything that can observe them (the
/// tracer, every instruction that goes through [`execute`]) and read back after it, and on
/// exit. The loop keeps few values live so that the compiler can hold them all in registers:
/// the code's base address is reloaded from `ctx` where it is needed (jumps, PC).
///
/// Never inlined: inlined into the frame loop (as the compiler chose in one build), the loop
/// ran a short interpreted transaction 3 % slower (fibonacci, measured side by side).
#[inline(never)]
pub fn run<T: Tracer>(ctx: &mut Context, host: &mut Host, tracer: &mut T) -> Status {
    let tables = &OpTables::get(host.spec).ops;
    let mut gas = ctx.gas;
    // SAFETY (for every `ip` dereference and offset below): `ip` points into the padded code
    // of `ctx.code`, which the context keeps alive and nothing mutates while the frame runs.
    // Its offset is at most the code length plus 32: it only advances past instructions that
    // start inside the code, and jumps land on JUMPDESTs inside it. The padding of 33 zero
    // bytes keeps the fetch and any PUSH immediate inside the allocation.
    let mut ip = unsafe { code_base(ctx).add(ctx.pc) };

    macro_rules! pc {
        () => {
            // SAFETY: `ip` and the base are in the same allocation, `ip` at or above the base.
            unsafe { ip.offset_from(code_base(ctx)) as usize }
        };
    }
    // Executes an instruction on `ctx` with `ctx.pc` and `ctx.gas` in sync, then reloads them.
    macro_rules! synced {
        ($e:expr) => {{
            ctx.gas = gas;
            ctx.pc = pc!() + 1;
            let r = $e;
            gas = ctx.gas;
            // SAFETY: the instruction leaves `ctx.pc` past itself, inside the padded code.
            ip = unsafe { code_base(ctx).add(ctx.pc) };
            if let Err(status) = r {
                break status;
            }
        }};
    }
    macro_rules! fallible {
        ($e:expr) => {{
            if let Err(status) = $e {
                break status;
            }
        }};
    }
    macro_rules! jump {
        ($target:expr) => {{
            let target = $target;
            match control::jump_dest(ctx, target) {
                // SAFETY: `dest` is a JUMPDEST inside the code.
                Some(dest) => ip = unsafe { code_base(ctx).add(dest) },
                None => break Status::InvalidJump,
            }
        }};
    }

    macro_rules! push {
        ($n:literal) => {{
            // SAFETY: see `ip` above: the immediate and the 32 bytes after its start are
            // inside the padded code.
            unsafe {
                ctx.stack.push(push_value::<$n>(ip.add(1)));
                ip = ip.add(1 + $n);
            }
            continue;
        }};
    }

    let status = loop {
        // SAFETY: see `ip` above.
        let opcode = unsafe { *ip };
        let info = tables[opcode as usize];
        let len = ctx.stack.len();
        if T::ENABLED {
            ctx.pc = pc!();
            ctx.gas = gas;
            tracer.step(ctx, opcode);
        }
        // Traced or not, the stack is checked before the static gas, as compiled code checks
        // a block's stack bounds before charging its gas: an instruction short of both halts
        // for its stack in every mode (geth and revm check gas first and say out of gas; the
        // halt consumes the frame's gas either way).
        if !info.stack_ok(len) {
            break info.fault(len);
        }
        let static_gas = info.gas();
        if gas < static_gas {
            break Status::OutOfGas;
        }
        gas -= static_gas;
        stack_only_ops!(opcode, ctx, {
            op::STOP => break Status::Stop,
            op::MLOAD => fallible!(m::mload_gas(ctx, &mut gas)),
            op::MSTORE => fallible!(m::mstore_gas(ctx, &mut gas)),
            op::MSTORE8 => fallible!(m::mstore8_gas(ctx, &mut gas)),
            op::JUMP => {
                jump!(ctx.stack.pop());
                continue;
            }
            op::JUMPI => {
                let [target, cond] = ctx.stack.popn::<2>();
                if !cond.is_zero() {
                    jump!(target);
                    continue;
                }
                // The next instruction starts a block: record that runs enter it.
                if ctx.records_coverage() {
                    ctx.cover(pc!() + 1);
                }
            }
            op::JUMPDEST => {
                if ctx.records_coverage() {
                    ctx.cover(pc!());
                }
            }
            op::PC => ctx.stack.push(U256::from(pc!())),
            op::GAS => ctx.stack.push(U256::from(gas)),
            op::PUSH1 => {
                // SAFETY: see `ip` above: the immediate is inside the padded code.
                unsafe {
                    ctx.stack.push(U256::from(*ip.add(1)));
                    ip = ip.add(2);
                }
                continue;
            }
            // One arm per width, so that each reads its immediate with constant shifts.
            op::PUSH2 => push!(2),
            op::PUSH3 => push!(3),
            op::PUSH4 => push!(4),
            op::PUSH5 => push!(5),
            op::PUSH6 => push!(6),
            op::PUSH7 => push!(7),
            op::PUSH8 => push!(8),
            op::PUSH9 => push!(9),
            op::PUSH10 => push!(10),
            op::PUSH11 => push!(11),
            op::PUSH12 => push!(12),
            op::PUSH13 => push!(13),
            op::PUSH14 => push!(14),
            op::PUSH15 => push!(15),
            op::PUSH16 => push!(16),
            op::PUSH17 => push!(17),
            op::PUSH18 => push!(18),
            op::PUSH19 => push!(19),
            op::PUSH20 => push!(20),
            op::PUSH21 => push!(21),
            op::PUSH22 => push!(22),
            op::PUSH23 => push!(23),
            op::PUSH24 => push!(24),
            op::PUSH25 => push!(25),
            op::PUSH26 => push!(26),
            op::PUSH27 => push!(27),
            op::PUSH28 => push!(28),
            op::PUSH29 => push!(29),
            op::PUSH30 => push!(30),
            op::PUSH31 => push!(31),
            op::PUSH32 => push!(32),
            _ => {
                synced!(execute_outlined(ctx, host, opcode));
                if T::ENABLED && (op::LOG0..=op::LOG4).contains(&opcode) {
                    if let Some(log) = host.journal.logs.last() {
                        tracer.log(log);
                    }
                }
                continue;
            }
        });
        // SAFETY: see `ip` above.
        ip = unsafe { ip.add(1) };
    };
    ctx.pc = pc!();
    ctx.gas = gas;
    if T::ENABLED {
        tracer.frame_end(ctx, status);
    }
    status
}

/// The start of the running code, padding included.
#[inline(always)]
fn code_base(ctx: &Context) -> *const u8 {
    ctx.code.padded().as_ptr()
}

/// The `N`-byte big-endian immediate at `p` (1 <= N <= 32).
///
/// # Safety
/// 32 bytes from `p` must be readable.
#[inline(always)]
unsafe fn push_value<const N: usize>(p: *const u8) -> U256 {
    const { assert!(N >= 1 && N <= 32) };
    // The bytes read hold the immediate first; shifting drops the bytes after it.
    if N <= 8 {
        // SAFETY: the caller guarantees 32 readable bytes.
        let v = u64::from_be_bytes(unsafe { p.cast::<[u8; 8]>().read_unaligned() });
        U256::from_limbs([v >> (64 - 8 * N), 0, 0, 0])
    } else {
        // SAFETY: the caller guarantees 32 readable bytes.
        let word: [u8; 32] = unsafe { p.cast::<[u8; 32]>().read_unaligned() };
        U256::from_be_bytes(word) >> (256 - 8 * N)
    }
}

/// [`execute`] out of line, for the instructions the interpreter loop does not inline.
/// Marked cold so that the register allocator keeps the loop's state in registers and
/// spills around this call instead.
#[cold]
#[inline(never)]
fn execute_outlined(ctx: &mut Context, host: &mut Host, opcode: u8) -> OpResult {
    // The loop runs PUSH*, JUMP, JUMPI and PC itself: nothing here reads the code or the
    // instruction's offset, as for compiled code's calls through the builtin table.
    debug_assert!(!op::reads_code(opcode));
    execute(ctx, host, opcode, 0, &[])
}

/// Executes one instruction whose static gas and stack bounds were already checked. `pc` is
/// the instruction's offset and `bytes` the padded code (for PUSH immediates); `ctx.pc` already
/// points past the opcode. Compiled code reaches the same function through the builtin table,
/// so every opcode has one implementation.
#[inline(always)]
pub fn execute(
    ctx: &mut Context,
    host: &mut Host,
    opcode: u8,
    pc: usize,
    bytes: &[u8],
) -> OpResult {
    stack_only_ops!(opcode, ctx, {
        op::STOP => return Err(Status::Stop),
        op::EXP => a::exp(ctx, host.rules.exp_byte)?,
        op::KECCAK256 => s::keccak(ctx)?,
        op::BALANCE => h::balance(ctx, host)?,
        op::ORIGIN => ctx.stack.push(host.tx.caller.into_word().into()),
        op::CALLDATACOPY => s::calldatacopy(ctx)?,
        op::CODESIZE => ctx.stack.push(U256::from(ctx.code.len())),
        op::CODECOPY => s::codecopy(ctx)?,
        op::GASPRICE => ctx.stack.push(host.effective_gas_price),
        op::EXTCODESIZE => h::extcodesize(ctx, host)?,
        op::EXTCODECOPY => h::extcodecopy(ctx, host)?,
        op::RETURNDATASIZE => ctx.stack.push(U256::from(ctx.return_data.len())),
        op::RETURNDATACOPY => s::returndatacopy(ctx)?,
        op::EXTCODEHASH => h::extcodehash(ctx, host)?,
        op::BLOCKHASH => h::blockhash(ctx, host)?,
        op::COINBASE => ctx.stack.push(host.block.coinbase.into_word().into()),
        op::TIMESTAMP => ctx.stack.push(host.block.timestamp),
        op::NUMBER => ctx.stack.push(host.block.number),
        op::PREVRANDAO => ctx.stack.push(if host.rules.prevrandao {
            host.block.prevrandao.into()
        } else {
            host.block.difficulty
        }),
        op::GASLIMIT => ctx.stack.push(U256::from(host.block.gas_limit)),
        op::CHAINID => ctx.stack.push(U256::from(host.cfg.chain_id)),
        op::SELFBALANCE => h::selfbalance(ctx, host)?,
        op::BASEFEE => ctx.stack.push(U256::from(host.block.basefee)),
        op::BLOBHASH => {
            let top = ctx.stack.top();
            let hashes = &host.tx.blob_hashes;
            *top = match usize::try_from(*top) {
                Ok(i) if i < hashes.len() => hashes[i].into(),
                _ => U256::ZERO,
            };
        }
        op::BLOBBASEFEE => ctx.stack.push(host.blob_base_fee),
        op::MLOAD => m::mload(ctx)?,
        op::MSTORE => m::mstore(ctx)?,
        op::MSTORE8 => m::mstore8(ctx)?,
        op::SLOAD => h::sload(ctx, host)?,
        op::SSTORE => h::sstore(ctx, host)?,
        op::JUMP => control::jump(ctx)?,
        op::JUMPI => control::jumpi(ctx)?,
        op::JUMPDEST => {}
        op::PC => ctx.stack.push(U256::from(pc)),
        op::MSIZE => m::msize(ctx),
        op::GAS => ctx.stack.push(U256::from(ctx.gas)),
        op::TLOAD => h::tload(ctx, host),
        op::TSTORE => h::tstore(ctx, host)?,
        op::MCOPY => m::mcopy(ctx)?,
        op::PUSH1 => {
            ctx.stack.push(U256::from(bytes[pc + 1]));
            ctx.pc = pc + 2;
        }
        op::PUSH2..=op::PUSH32 => {
            let n = (opcode - op::PUSH1 + 1) as usize;
            ctx.stack.push(U256::from_be_slice(&bytes[pc + 1..pc + 1 + n]));
            ctx.pc = pc + 1 + n;
        }
        op::LOG0..=op::LOG4 => h::log(ctx, host, (opcode - op::LOG0) as usize)?,
        op::CREATE => contract::create(ctx, host, false)?,
        op::CREATE2 => contract::create(ctx, host, true)?,
        op::CALL => contract::call(ctx, host, CallKind::Call)?,
        op::CALLCODE => contract::call(ctx, host, CallKind::CallCode)?,
        op::DELEGATECALL => contract::call(ctx, host, CallKind::DelegateCall)?,
        op::STATICCALL => contract::call(ctx, host, CallKind::StaticCall)?,
        op::RETURN => control::ret(ctx, Status::Return)?,
        op::REVERT => control::ret(ctx, Status::Revert)?,
        op::SELFDESTRUCT => h::selfdestruct(ctx, host)?,
        // INVALID and every byte the table defines but this loop does not know.
        _ => return Err(Status::InvalidOpcode),
    });
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        BlockEnv, CfgEnv, CodeCache, ExecutionResult, HaltReason, InMemoryDb, Transact, TxEnv,
        TxKind,
    };
    use alloy_primitives::{Address, Bytes};

    /// Turns the traced loop on and observes nothing.
    struct Enabled;

    impl Tracer for Enabled {
        const ENABLED: bool = true;
        fn step(&mut self, _: &Context, _: u8) {}
        fn frame_end(&mut self, _: &Context, _: Status) {}
    }

    /// Runs `code` as the called contract with `gas` for execution (past the intrinsic 21,000).
    fn run<T: Tracer>(code: &[u8], gas: u64, tracer: &mut T) -> ExecutionResult {
        let (sender, contract) = (Address::repeat_byte(0x11), Address::repeat_byte(0xcc));
        let mut db = InMemoryDb::new();
        db.insert_account(sender, U256::from(1u64 << 60), 0, Bytes::new(), []);
        db.insert_account(contract, U256::ZERO, 1, Bytes::copy_from_slice(code), []);
        let cfg = CfgEnv::new(SpecId::Prague);
        let block = BlockEnv { gas_limit: u64::MAX, ..BlockEnv::default() };
        let tx = TxEnv {
            caller: sender,
            kind: TxKind::Call(contract),
            gas_limit: 21_000 + gas,
            ..TxEnv::default()
        };
        let (db, cfg, block, tx, cache) = (&mut db, &cfg, &block, &tx, &mut CodeCache::default());
        let (result, _) = Transact { db, cfg, block, tx, cache, native: None }.run(tracer).unwrap();
        result
    }

    /// An instruction short of both its stack items and its static gas halts for its stack,
    /// traced or not (compiled code checks a block's stack bounds before its gas, and every
    /// mode must name a halt alike); and at every gas around that point the two loops agree.
    #[test]
    fn traced_and_untraced_loops_check_the_stack_before_static_gas() {
        let overflow = [op::PUSH0; 1025];
        // Each program's last instruction fails its stack check; `gas` pays for everything
        // before it and for one gas less than its static cost.
        let cases: [(&[u8], u64, HaltReason); 4] = [
            (&[op::ADD], 2, HaltReason::StackUnderflow),
            (&[op::PUSH0, op::SWAP1], 2 + 2, HaltReason::StackUnderflow),
            (&[op::PUSH0, op::EXP], 2 + 9, HaltReason::StackUnderflow),
            (&overflow, 1024 * 2 + 1, HaltReason::StackOverflow),
        ];
        for (code, gas, reason) in cases {
            let halt = ExecutionResult::Halt { gas_used: 21_000 + gas, reason };
            assert_eq!(run(code, gas, &mut NoTracer), halt, "untraced {code:02x?}");
            assert_eq!(run(code, gas, &mut Enabled), halt, "traced {code:02x?}");
            for g in gas.saturating_sub(4)..gas + 4 {
                let untraced = run(code, g, &mut NoTracer);
                assert_eq!(run(code, g, &mut Enabled), untraced, "{code:02x?} with gas {g}");
            }
        }
    }
}
