//! The reference interpreter: one loop over the same instruction functions compiled code calls.

use crate::context::{CallKind, Context, OpResult, Status};
use crate::host::Host;
use crate::instructions::{
    arithmetic as a, bitwise as b, contract, control, host_ops as h, memory as m, system as s,
};
use alloy_primitives::U256;
use kiln_frontend::{opcode as op, SpecId};
use std::sync::OnceLock;

/// Per-fork facts from the opcode table, arranged for one load each in the hot loop.
pub struct OpTables {
    /// Static gas; undefined opcodes are flagged in `defined`.
    pub gas: [u16; 256],
    /// Stack items the opcode needs.
    pub min_stack: [u16; 256],
    /// The largest stack height at which the opcode may run without overflowing.
    pub max_stack: [u16; 256],
    pub defined: [bool; 256],
}

impl OpTables {
    fn build(spec: SpecId) -> Self {
        let mut t = OpTables {
            gas: [0; 256],
            min_stack: [0; 256],
            max_stack: [0; 256],
            defined: [false; 256],
        };
        for code in 0..=255u8 {
            let i = code as usize;
            match op::info_in(code, spec) {
                Some(info) => {
                    t.gas[i] = info.static_gas;
                    t.min_stack[i] = info.inputs as u16;
                    t.max_stack[i] =
                        (crate::gas::STACK_LIMIT as i32 - info.stack_delta().max(0)) as u16;
                    t.defined[i] = true;
                }
                None => t.max_stack[i] = crate::gas::STACK_LIMIT as u16,
            }
        }
        t
    }

    /// The tables of `spec`, built once per process.
    pub fn get(spec: SpecId) -> &'static OpTables {
        static TABLES: [OnceLock<OpTables>; 15] = [const { OnceLock::new() }; 15];
        TABLES[spec as usize].get_or_init(|| OpTables::build(spec))
    }
}

/// Observes each instruction before it runs (EIP-3155 traces).
pub trait Tracer {
    /// Whether `step` should be called; lets the untraced loop compile the hook away.
    const ENABLED: bool;
    fn step(&mut self, ctx: &Context, opcode: u8, static_gas: u64);
}

/// No tracing.
pub struct NoTracer;

impl Tracer for NoTracer {
    const ENABLED: bool = false;
    #[inline(always)]
    fn step(&mut self, _: &Context, _: u8, _: u64) {}
}

/// Runs `ctx` from `ctx.pc` until it ends or suspends for a call.
pub fn run<T: Tracer>(ctx: &mut Context, host: &mut Host, tracer: &mut T) -> Status {
    let tables = OpTables::get(host.spec);
    let code = ctx.code.clone();
    let bytes = code.padded();
    loop {
        let pc = ctx.pc;
        // SAFETY: `pc` is at most the code length plus 32: it only advances past instructions
        // that start inside the code, and jumps land on JUMPDESTs inside it. The padding of
        // 33 zero bytes keeps the fetch and any PUSH immediate inside `bytes`.
        let opcode = unsafe { *bytes.get_unchecked(pc) };
        let i = opcode as usize;
        let len = ctx.stack.len() as u16;
        if !tables.defined[i] {
            return Status::InvalidOpcode;
        }
        if len < tables.min_stack[i] {
            return Status::StackUnderflow;
        }
        if len > tables.max_stack[i] {
            return Status::StackOverflow;
        }
        let static_gas = tables.gas[i] as u64;
        if T::ENABLED {
            tracer.step(ctx, opcode, static_gas);
        }
        if ctx.gas < static_gas {
            return Status::OutOfGas;
        }
        ctx.gas -= static_gas;
        ctx.pc = pc + 1;
        if let Err(status) = execute(ctx, host, opcode, pc, bytes) {
            return status;
        }
    }
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
    match opcode {
        op::STOP => return Err(Status::Stop),
        op::ADD => a::add(ctx),
        op::MUL => a::mul(ctx),
        op::SUB => a::sub(ctx),
        op::DIV => a::div(ctx),
        op::SDIV => a::sdiv(ctx),
        op::MOD => a::rem(ctx),
        op::SMOD => a::smod(ctx),
        op::ADDMOD => a::addmod(ctx),
        op::MULMOD => a::mulmod(ctx),
        op::EXP => a::exp(ctx)?,
        op::SIGNEXTEND => a::signextend(ctx),
        op::LT => b::lt(ctx),
        op::GT => b::gt(ctx),
        op::SLT => b::slt(ctx),
        op::SGT => b::sgt(ctx),
        op::EQ => b::eq(ctx),
        op::ISZERO => b::iszero(ctx),
        op::AND => b::and(ctx),
        op::OR => b::or(ctx),
        op::XOR => b::xor(ctx),
        op::NOT => b::not(ctx),
        op::BYTE => b::byte(ctx),
        op::SHL => b::shl(ctx),
        op::SHR => b::shr(ctx),
        op::SAR => b::sar(ctx),
        op::CLZ => b::clz(ctx),
        op::KECCAK256 => s::keccak(ctx)?,
        op::ADDRESS => ctx.stack.push(ctx.address.into_word().into()),
        op::BALANCE => h::balance(ctx, host)?,
        op::ORIGIN => ctx.stack.push(host.tx.caller.into_word().into()),
        op::CALLER => ctx.stack.push(ctx.caller.into_word().into()),
        op::CALLVALUE => ctx.stack.push(ctx.value),
        op::CALLDATALOAD => s::calldataload(ctx),
        op::CALLDATASIZE => ctx.stack.push(U256::from(ctx.input.len())),
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
        op::PREVRANDAO => ctx.stack.push(host.block.prevrandao.into()),
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
        op::POP => {
            ctx.stack.pop();
        }
        op::MLOAD => m::mload(ctx)?,
        op::MSTORE => m::mstore(ctx)?,
        op::MSTORE8 => m::mstore8(ctx)?,
        op::SLOAD => h::sload(ctx, host)?,
        op::SSTORE => h::sstore(ctx, host)?,
        op::JUMP => control::jump(ctx)?,
        op::JUMPI => control::jumpi(ctx)?,
        op::PC => ctx.stack.push(U256::from(pc)),
        op::MSIZE => m::msize(ctx),
        op::GAS => ctx.stack.push(U256::from(ctx.gas)),
        op::JUMPDEST => {}
        op::TLOAD => h::tload(ctx, host),
        op::TSTORE => h::tstore(ctx, host)?,
        op::MCOPY => m::mcopy(ctx)?,
        op::PUSH0 => ctx.stack.push(U256::ZERO),
        op::PUSH1 => {
            ctx.stack.push(U256::from(bytes[pc + 1]));
            ctx.pc = pc + 2;
        }
        op::PUSH2..=op::PUSH32 => {
            let n = (opcode - op::PUSH1 + 1) as usize;
            ctx.stack.push(U256::from_be_slice(&bytes[pc + 1..pc + 1 + n]));
            ctx.pc = pc + 1 + n;
        }
        op::DUP1..=op::DUP16 => ctx.stack.dup((opcode - op::DUP1 + 1) as usize),
        op::SWAP1..=op::SWAP16 => ctx.stack.swap((opcode - op::SWAP1 + 1) as usize),
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
    }
    Ok(())
}
