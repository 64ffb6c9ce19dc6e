//! Jumps, PC, GAS, and the instructions that end a frame normally.

use crate::context::{Context, OpResult, Status};
use alloy_primitives::{Bytes, U256};

/// The offset `target` names if it is a valid jump destination (a JUMPDEST, not PUSH data).
/// Reads the JUMPDEST bitmap through the context's ABI fields: two loads from the context.
#[inline(always)]
pub fn jump_dest(ctx: &Context, target: U256) -> Option<usize> {
    let limbs = target.as_limbs();
    if (limbs[1] | limbs[2] | limbs[3]) != 0 || limbs[0] >= ctx.code_len as u64 {
        return None;
    }
    let dest = limbs[0] as usize;
    // SAFETY: `jump_bits` points at the running code's bitmap, one bit per code byte, which
    // `ctx.code` keeps alive; `dest < code_len` so word `dest / 64` is inside it.
    let word = unsafe { *ctx.jump_bits.add(dest / 64) };
    ((word >> (dest % 64)) & 1 != 0).then_some(dest)
}

#[inline]
fn jump_to(ctx: &mut Context, target: U256) -> OpResult {
    let dest = jump_dest(ctx, target).ok_or(Status::InvalidJump)?;
    debug_assert!(ctx.code.is_jumpdest(dest));
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
