//! MLOAD, MSTORE, MSTORE8, MSIZE, MCOPY.

use crate::context::{Context, OpResult};
use crate::gas;
use alloy_primitives::U256;

#[inline]
pub fn mload(ctx: &mut Context) -> OpResult {
    let offset = *ctx.stack.peek(0);
    let (off, _) = ctx.memory_range(offset, U256::from(32))?;
    let word = U256::from_be_slice(ctx.memory.slice(off, 32));
    *ctx.stack.top() = word;
    Ok(())
}

#[inline]
pub fn mstore(ctx: &mut Context) -> OpResult {
    let [offset, value] = ctx.stack.popn::<2>();
    let (off, _) = ctx.memory_range(offset, U256::from(32))?;
    ctx.memory.slice_mut(off, 32).copy_from_slice(&value.to_be_bytes::<32>());
    Ok(())
}

#[inline]
pub fn mstore8(ctx: &mut Context) -> OpResult {
    let [offset, value] = ctx.stack.popn::<2>();
    let (off, _) = ctx.memory_range(offset, U256::from(1))?;
    ctx.memory.slice_mut(off, 1)[0] = value.byte(0);
    Ok(())
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
