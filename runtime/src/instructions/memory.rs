//! MLOAD, MSTORE, MSTORE8, MSIZE, MCOPY.

use crate::context::{Context, OpResult};
use crate::gas;
use alloy_primitives::U256;

/// MLOAD with the frame's gas counter passed explicitly (the interpreter keeps it in a
/// register).
#[inline(always)]
pub fn mload_gas(ctx: &mut Context, gas: &mut u64) -> OpResult {
    let top = ctx.stack.top();
    let off = ctx.memory.range_fixed(gas, *top, 32)?;
    *top = U256::from_be_bytes(*ctx.memory.word(off));
    Ok(())
}

#[inline(always)]
pub fn mstore_gas(ctx: &mut Context, gas: &mut u64) -> OpResult {
    let [offset, value] = ctx.stack.popn::<2>();
    let off = ctx.memory.range_fixed(gas, offset, 32)?;
    *ctx.memory.word_mut(off) = value.to_be_bytes::<32>();
    Ok(())
}

#[inline(always)]
pub fn mstore8_gas(ctx: &mut Context, gas: &mut u64) -> OpResult {
    let [offset, value] = ctx.stack.popn::<2>();
    let off = ctx.memory.range_fixed(gas, offset, 1)?;
    ctx.memory.slice_mut(off, 1)[0] = value.byte(0);
    Ok(())
}

/// Runs an instruction written against an explicit gas counter on `ctx.gas`.
macro_rules! with_ctx_gas {
    ($ctx:ident, $f:ident) => {{
        let mut gas = $ctx.gas;
        let r = $f($ctx, &mut gas);
        $ctx.gas = gas;
        r
    }};
}

#[inline]
pub fn mload(ctx: &mut Context) -> OpResult {
    with_ctx_gas!(ctx, mload_gas)
}

#[inline]
pub fn mstore(ctx: &mut Context) -> OpResult {
    with_ctx_gas!(ctx, mstore_gas)
}

#[inline]
pub fn mstore8(ctx: &mut Context) -> OpResult {
    with_ctx_gas!(ctx, mstore8_gas)
}

#[inline]
pub fn msize(ctx: &mut Context) {
    let len = ctx.memory.len();
    ctx.stack.push(U256::from(len));
}

/// MCOPY (EIP-5656): pays for the copy and for memory covering both ranges.
pub fn mcopy(ctx: &mut Context) -> OpResult {
    let [dst, src, len] = ctx.stack.popn::<3>();
    if len.is_zero() {
        return Ok(());
    }
    let n = u64::try_from(len).map_err(|_| crate::context::Status::OutOfGas)?;
    ctx.spend(gas::copy_cost(n))?;
    let (src, _) = ctx.memory_range(src, len)?;
    let (dst, n) = ctx.memory_range(dst, len)?;
    ctx.memory.copy_within(dst, src, n);
    Ok(())
}
