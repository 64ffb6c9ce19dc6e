//! Jumps, PC, GAS, and the instructions that end a frame normally.

use crate::context::{Context, OpResult, Status};
use alloy_primitives::{Bytes, U256};

#[inline]
fn jump_to(ctx: &mut Context, target: U256) -> OpResult {
    let dest = usize::try_from(target).map_err(|_| Status::InvalidJump)?;
    if !ctx.code.is_jumpdest(dest) {
        return Err(Status::InvalidJump);
    }
    ctx.pc = dest;
    Ok(())
}

#[inline]
pub fn jump(ctx: &mut Context) -> OpResult {
    let target = ctx.stack.pop();
    jump_to(ctx, target)
}

#[inline]
pub fn jumpi(ctx: &mut Context) -> OpResult {
    let [target, cond] = ctx.stack.popn::<2>();
    if cond.is_zero() {
        return Ok(());
    }
    jump_to(ctx, target)
}

/// RETURN and REVERT: copy the output out of memory and end the frame with `status`.
pub fn ret(ctx: &mut Context, status: Status) -> OpResult {
    let [offset, len] = ctx.stack.popn::<2>();
    let (off, n) = ctx.memory_range(offset, len)?;
    ctx.output =
        if n == 0 { Bytes::new() } else { Bytes::copy_from_slice(ctx.memory.slice(off, n)) };
    Err(status)
}
