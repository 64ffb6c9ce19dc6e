//! ADD … SIGNEXTEND. Operands: `a` is the top of the stack, `b` the next.

use crate::context::{Context, OpResult};
use crate::gas;
use alloy_primitives::U256;

/// Pops `a`, leaves `b` on top to be overwritten with the result.
macro_rules! binop {
    ($ctx:ident, |$a:ident, $b:ident| $e:expr) => {{
        let $a = $ctx.stack.pop();
        let top = $ctx.stack.top();
        let $b = *top;
        *top = $e;
    }};
}

#[inline(always)]
pub fn add(ctx: &mut Context) {
    binop!(ctx, |a, b| a.wrapping_add(b));
}

#[inline(always)]
pub fn mul(ctx: &mut Context) {
    binop!(ctx, |a, b| a.wrapping_mul(b));
}

#[inline(always)]
pub fn sub(ctx: &mut Context) {
    binop!(ctx, |a, b| a.wrapping_sub(b));
}

#[inline]
pub fn div(ctx: &mut Context) {
    binop!(ctx, |a, b| a.checked_div(b).unwrap_or_default());
}

#[inline]
pub fn rem(ctx: &mut Context) {
    binop!(ctx, |a, b| a.checked_rem(b).unwrap_or_default());
}

#[inline]
pub fn sdiv(ctx: &mut Context) {
    binop!(ctx, |a, b| i256_div(a, b));
}

#[inline]
pub fn smod(ctx: &mut Context) {
    binop!(ctx, |a, b| i256_mod(a, b));
}

#[inline]
pub fn addmod(ctx: &mut Context) {
    let [a, b] = ctx.stack.popn::<2>();
    let n = ctx.stack.top();
    *n = a.add_mod(b, *n);
}

#[inline]
pub fn mulmod(ctx: &mut Context) {
    let [a, b] = ctx.stack.popn::<2>();
    let n = ctx.stack.top();
    *n = a.mul_mod(b, *n);
}

#[inline]
pub fn exp(ctx: &mut Context) -> OpResult {
    let base = ctx.stack.pop();
    let exponent = *ctx.stack.peek(0);
    let bytes = exponent.bit_len().div_ceil(8) as u64;
    ctx.spend(gas::EXP_BYTE * bytes)?;
    *ctx.stack.top() = base.wrapping_pow(exponent);
    Ok(())
}

#[inline]
pub fn signextend(ctx: &mut Context) {
    binop!(ctx, |ext, x| {
        if ext < U256::from(31) {
            let bit = ext.as_limbs()[0] as usize * 8 + 7;
            let mask = (U256::from(1) << bit) - U256::from(1);
            if x.bit(bit) {
                x | !mask
            } else {
                x & mask
            }
        } else {
            x
        }
    });
}

#[inline(always)]
fn is_negative(x: U256) -> bool {
    x.bit(255)
}

#[inline(always)]
fn abs(x: U256) -> U256 {
    if is_negative(x) {
        x.wrapping_neg()
    } else {
        x
    }
}

/// Signed division truncating toward zero; MIN / -1 = MIN; x / 0 = 0.
pub fn i256_div(a: U256, b: U256) -> U256 {
    if b.is_zero() {
        return U256::ZERO;
    }
    let q = abs(a) / abs(b);
    if is_negative(a) != is_negative(b) {
        q.wrapping_neg()
    } else {
        q
    }
}

/// Signed remainder with the dividend's sign; x % 0 = 0.
pub fn i256_mod(a: U256, b: U256) -> U256 {
    if b.is_zero() {
        return U256::ZERO;
    }
    let r = abs(a) % abs(b);
    if is_negative(a) {
        r.wrapping_neg()
    } else {
        r
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn neg(n: u64) -> U256 {
        U256::from(n).wrapping_neg()
    }

    #[test]
    fn signed_division() {
        let min = U256::from(1) << 255;
        assert_eq!(i256_div(min, neg(1)), min);
        assert_eq!(i256_div(neg(7), U256::from(2)), neg(3));
        assert_eq!(i256_div(U256::from(7), neg(2)), neg(3));
        assert_eq!(i256_div(U256::from(7), U256::ZERO), U256::ZERO);
        assert_eq!(i256_mod(neg(7), U256::from(2)), neg(1));
        assert_eq!(i256_mod(U256::from(7), neg(2)), U256::from(1));
        assert_eq!(i256_mod(min, neg(1)), U256::ZERO);
    }
}
