//! Comparisons, bit operations and shifts. `a` is the top of the stack; what each computes is
//! [`kiln_frontend::semantics`].

use crate::context::Context;
use kiln_frontend::semantics as sem;

#[inline(always)]
pub fn lt(ctx: &mut Context) {
    binop!(ctx, |a, b| sem::lt(a, b));
}

#[inline(always)]
pub fn gt(ctx: &mut Context) {
    binop!(ctx, |a, b| sem::gt(a, b));
}

#[inline(always)]
pub fn slt(ctx: &mut Context) {
    binop!(ctx, |a, b| sem::slt(a, b));
}

#[inline(always)]
pub fn sgt(ctx: &mut Context) {
    binop!(ctx, |a, b| sem::sgt(a, b));
}

#[inline(always)]
pub fn eq(ctx: &mut Context) {
    binop!(ctx, |a, b| sem::eq(a, b));
}

#[inline(always)]
pub fn iszero(ctx: &mut Context) {
    let top = ctx.stack.top();
    *top = sem::iszero(*top);
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

#[inline]
pub fn byte(ctx: &mut Context) {
    binop!(ctx, |i, x| sem::byte(i, x));
}

#[inline]
pub fn shl(ctx: &mut Context) {
    binop!(ctx, |shift, x| sem::shl(shift, x));
}

#[inline]
pub fn shr(ctx: &mut Context) {
    binop!(ctx, |shift, x| sem::shr(shift, x));
}

#[inline]
pub fn sar(ctx: &mut Context) {
    binop!(ctx, |shift, x| sem::sar(shift, x));
}

#[inline]
pub fn clz(ctx: &mut Context) {
    let top = ctx.stack.top();
    *top = sem::clz(*top);
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy_primitives::U256;

    #[test]
    fn signed_less_than() {
        let m1 = U256::MAX;
        assert!(sem::signed_lt(m1, U256::ZERO));
        assert!(!sem::signed_lt(U256::ZERO, m1));
        assert!(sem::signed_lt(U256::from(1), U256::from(2)));
        assert!(sem::signed_lt(U256::from(1) << 255, m1));
    }
}
