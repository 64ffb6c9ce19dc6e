//! KECCAK256 and the frame's own environment: address, call data, code, return data.

use crate::context::{Context, OpResult, Status};
use crate::gas;
use crate::keccak_cache::keccak256_cached;
use alloy_primitives::U256;

pub fn keccak(ctx: &mut Context) -> OpResult {
    let [offset, len] = ctx.stack.popn::<2>();
    let hash = keccak_word(ctx, offset, len)?;
    ctx.stack.push(hash);
    Ok(())
}

/// KECCAK256 of the `len` bytes of memory at `offset`, after charging the memory expansion
/// and the per-word gas: the instruction's work without its stack, shared by the
/// interpreter and compiled code's `keccak256` builtin. Inlined into both: called, it took
/// its operands and returned the hash through memory, and its wide loads of words just
/// written limb by limb waited for the stores (hash_10k, a sixth of the time around the
/// permutation).
#[inline(always)]
pub fn keccak_word(ctx: &mut Context, offset: U256, len: U256) -> Result<U256, Status> {
    let (off, n) = ctx.memory_range(offset, len)?;
    ctx.spend_copy(n, gas::KECCAK_WORD)?;
    Ok(keccak256_cached(ctx.memory.slice(off, n)))
}

#[inline]
pub fn calldataload(ctx: &mut Context) {
    let top = ctx.stack.top();
    let mut word = [0u8; 32];
    if let Ok(off) = usize::try_from(*top) {
        if off < ctx.input.len() {
            let n = (ctx.input.len() - off).min(32);
            word[..n].copy_from_slice(&ctx.input[off..off + n]);
        }
    }
    *top = U256::from_be_bytes(word);
}

/// The shared tail of CALLDATACOPY, CODECOPY, RETURNDATACOPY and EXTCODECOPY: pop the
/// destination, source offset and length, pay for memory and the copy.
/// Returns (memory offset, source offset saturated to u64, length).
#[inline]
pub fn copy_operands(ctx: &mut Context) -> Result<(usize, u64, usize), Status> {
    let [dst, src, len] = ctx.stack.popn::<3>();
    let (dst, n) = ctx.memory_range(dst, len)?;
    ctx.spend_copy(n, gas::COPY_WORD)?;
    Ok((dst, crate::context::saturating_u64(src), n))
}

pub fn calldatacopy(ctx: &mut Context) -> OpResult {
    let (dst, src, n) = copy_operands(ctx)?;
    if n > 0 {
        let input = ctx.input.clone();
        ctx.memory.set_data(dst, src, n, &input);
    }
    Ok(())
}

pub fn codecopy(ctx: &mut Context) -> OpResult {
    let (dst, src, n) = copy_operands(ctx)?;
    if n > 0 {
        let code = ctx.code.clone();
        ctx.memory.set_data(dst, src, n, code.bytes());
    }
    Ok(())
}

pub fn returndatacopy(ctx: &mut Context) -> OpResult {
    let [dst, src, len] = ctx.stack.popn::<3>();
    // Reading past the return data is an exceptional halt, checked before any memory charge.
    let end = src.checked_add(len);
    if end.is_none_or(|e| e > U256::from(ctx.return_data.len())) {
        return Err(Status::ReturnDataOutOfBounds);
    }
    let (dst, n) = ctx.memory_range(dst, len)?;
    ctx.spend_copy(n, gas::COPY_WORD)?;
    if n > 0 {
        let src = src.as_limbs()[0] as usize;
        let data = ctx.return_data.clone();
        ctx.memory.slice_mut(dst, n).copy_from_slice(&data[src..src + n]);
    }
    Ok(())
}
