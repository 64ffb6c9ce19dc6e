//! Comparisons, bit operations and shifts. `a` is the top of the stack.

use crate::context::Context;
use alloy_primitives::U256;

#[inline(always)]
fn flag(b: bool) -> U256 {
    U256::from(b as u64)
}

#[inline(always)]
fn slt_(a: U256, b: U256) -> bool {
    let (an, bn) = (a.bit(255), b.bit(255));
    if an != bn {
        an
    } else {
        a < b
    }
}

#[inline(always)]
pub fn lt(ctx: &mut Context) {
    binop!(ctx, |a, b| flag(a < b));
}

#[inline(always)]
pub fn gt(ctx: &mut Context) {
    binop!(ctx, |a, b| flag(a > b));
}

#[inline(always)]
pub fn slt(ctx: &mut Context) {
    binop!(ctx, |a, b| flag(slt_(a, b)));
}

#[inline(always)]
pub fn sgt(ctx: &mut Context) {
    binop!(ctx, |a, b| flag(slt_(b, a)));
}

#[inline(always)]
pub fn eq(ctx: &mut Context) {
    binop!(ctx, |a, b| flag(a == b));
}

#[inline(always)]
pub fn iszero(ctx: &mut Context) {
    let top = ctx.stack.top();
    *top = flag(top.is_zero());
}

#[inline(always)]
pub fn and(ctx: &mut Context) {
    binop!(ctx, |a, b| a & b);
}

#[inline(always)]
pub fn or(ctx: &mut Context) {
    binop!(ctx, |a, b| a | b);
}

#[inline(always)]
pub fn xor(ctx: &mut Context) {
    binop!(ctx, |a, b| a ^ b);
}

#[inline(always)]
pub fn not(ctx: &mut Context) {
    let top = ctx.stack.top();
    *top = !*top;
}

/// BYTE(i, x): the i-th byte of x counting from the most significant.
#[inline]
pub fn byte(ctx: &mut Context) {
    binop!(ctx, |i, x| {
        if i < U256::from(32) {
            U256::from(x.byte(31 - i.as_limbs()[0] as usize))
        } else {
            U256::ZERO
        }
    });
}

#[inline]
pub fn shl(ctx: &mut Context) {
    binop!(ctx, |shift, x| if shift < U256::from(256) {
        x << shift.as_limbs()[0] as usize
    } else {
        U256::ZERO
    });
}

#[inline]
pub fn shr(ctx: &mut Context) {
    binop!(ctx, |shift, x| if shift < U256::from(256) {
        x >> shift.as_limbs()[0] as usize
    } else {
        U256::ZERO
    });
}

#[inline]
pub fn sar(ctx: &mut Context) {
    binop!(ctx, |shift, x| {
        if shift < U256::from(256) {
            x.arithmetic_shr(shift.as_limbs()[0] as usize)
        } else if x.bit(255) {
            U256::MAX
        } else {
            U256::ZERO
        }
    });
}

/// CLZ (EIP-7939): leading zero bits, 256 for zero.
#[inline]
pub fn clz(ctx: &mut Context) {
    let top = ctx.stack.top();
    *top = U256::from(top.leading_zeros());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signed_less_than() {
        let m1 = U256::MAX;
        assert!(slt_(m1, U256::ZERO));
        assert!(!slt_(U256::ZERO, m1));
        assert!(slt_(U256::from(1), U256::from(2)));
        assert!(slt_(U256::from(1) << 255, m1));
    }
}
