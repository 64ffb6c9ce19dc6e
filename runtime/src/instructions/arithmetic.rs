//! ADD … SIGNEXTEND. Operands: `a` is the top of the stack, `b` the next.

use crate::context::{Context, OpResult};
use alloy_primitives::U256;
use kiln_frontend::opcode as op;
use kiln_frontend::semantics as sem;

pure_ops!(binary: add, mul, sub, div, rem; unary: );

#[inline]
pub fn sdiv(ctx: &mut Context) {
    binop!(ctx, |a, b| signed(op::SDIV, a, b));
}

#[inline]
pub fn smod(ctx: &mut Context) {
    binop!(ctx, |a, b| signed(op::SMOD, a, b));
}

/// SDIV or SMOD on words, through the one signed division compiled code uses too.
#[inline(always)]
fn signed(opcode: u8, a: U256, b: U256) -> U256 {
    let r = divide_limbs(opcode, *a.as_limbs(), *b.as_limbs());
    U256::from_limbs(r.expect("SDIV and SMOD are divisions"))
}

#[inline]
pub fn addmod(ctx: &mut Context) {
    let [a, b] = ctx.stack.popn::<2>();
    let n = ctx.stack.top();
    *n = sem::addmod(a, b, *n);
}

#[inline]
pub fn mulmod(ctx: &mut Context) {
    let [a, b] = ctx.stack.popn::<2>();
    let n = ctx.stack.top();
    *n = sem::mulmod(a, b, *n);
}

#[inline]
pub fn exp(ctx: &mut Context, gas_per_byte: u64) -> OpResult {
    let base = ctx.stack.pop();
    let exponent = *ctx.stack.peek(0);
    let bytes = exponent.bit_len().div_ceil(8) as u64;
    ctx.spend(gas_per_byte * bytes)?;
    *ctx.stack.top() = base.wrapping_pow(exponent);
    Ok(())
}

/// SIGNEXTEND(ext, x): extends the sign of byte `ext` of `x`, as [`sem::signextend`] defines
/// it (a test checks the two agree). Writes the result in place through the limbs: building a new word and storing it whole after partial reads stalls
/// store forwarding.
#[inline(always)]
pub fn signextend(ctx: &mut Context) {
    let ext = ctx.stack.pop();
    let e = ext.as_limbs();
    if (e[1] | e[2] | e[3]) != 0 || e[0] >= 31 {
        return;
    }
    let bit = e[0] as usize * 8 + 7;
    let (li, bi) = (bit / 64, bit % 64);
    // SAFETY: a U256 is exactly four fully used limbs; any limb values are a valid word.
    let limbs = unsafe { ctx.stack.top().as_limbs_mut() };
    let v = limbs[li & 3];
    let fill = 0u64.wrapping_sub((v >> bi) & 1);
    let low = u64::MAX >> (63 - bi);
    limbs[li & 3] = (v & low) | (fill & !low);
    for (j, limb) in limbs.iter_mut().enumerate() {
        if j > li {
            *limb = fill;
        }
    }
}

/// DIV, SDIV, MOD or SMOD of `a` (the top of the stack) by `b`, as little-endian limbs;
/// `None` for other opcodes. The one signed division: the interpreter's SDIV and SMOD use it,
/// and so does the builtin compiled code calls for divisions its inline 64-bit path cannot
/// do. It works on limbs in registers: built from `U256` methods, the words went
/// through the stack as scalar stores read back by vector loads, which miss store forwarding
/// (measured on snailtracer: the largest cost of the call).
#[inline(always)]
pub fn divide_limbs(opcode: u8, a: [u64; 4], b: [u64; 4]) -> Option<[u64; 4]> {
    let (signed, rem) = match opcode {
        op::DIV => (false, false),
        op::MOD => (false, true),
        op::SDIV => (true, false),
        op::SMOD => (true, true),
        _ => return None,
    };
    let (ma, na) = if signed { abs_limbs(a) } else { (a, false) };
    let (mb, nb) = if signed { abs_limbs(b) } else { (b, false) };
    if mb == [0; 4] {
        return Some([0; 4]);
    }
    let r = if (ma[2] | ma[3] | mb[2] | mb[3]) == 0 {
        let x = ma[0] as u128 | (ma[1] as u128) << 64;
        let y = mb[0] as u128 | (mb[1] as u128) << 64;
        let r = if rem { x % y } else { x / y };
        [r as u64, (r >> 64) as u64, 0, 0]
    } else {
        let (x, y) = (U256::from_limbs(ma), U256::from_limbs(mb));
        *(if rem { x % y } else { x / y }).as_limbs()
    };
    // The quotient is negative when the signs differ, the remainder when the dividend is.
    let negative = if rem { na } else { na != nb };
    Some(if negative { neg_limbs(r) } else { r })
}

#[inline(always)]
fn neg_limbs(x: [u64; 4]) -> [u64; 4] {
    let mut r = [0; 4];
    let mut carry = true;
    for i in 0..4 {
        (r[i], carry) = (!x[i]).overflowing_add(carry as u64);
    }
    r
}

/// The magnitude of a two's-complement word and whether it was negative (the magnitude of
/// -2^255 is 2^255, read unsigned).
#[inline(always)]
fn abs_limbs(x: [u64; 4]) -> ([u64; 4], bool) {
    if x[3] >> 63 == 1 {
        (neg_limbs(x), true)
    } else {
        (x, false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // The word-level signed division the runtime used before `divide_limbs`, kept as the
    // reference the limb version is checked against.

    /// `a / b` for a non-zero `b`, in 128-bit division when both fit.
    fn udiv(a: U256, b: U256) -> U256 {
        match (u128::try_from(a), u128::try_from(b)) {
            (Ok(a), Ok(b)) => U256::from(a / b),
            _ => a / b,
        }
    }

    /// `a % b` for a non-zero `b`; see [`udiv`].
    fn urem(a: U256, b: U256) -> U256 {
        match (u128::try_from(a), u128::try_from(b)) {
            (Ok(a), Ok(b)) => U256::from(a % b),
            _ => a % b,
        }
    }

    fn is_negative(x: U256) -> bool {
        x.bit(255)
    }

    fn abs(x: U256) -> U256 {
        if is_negative(x) {
            x.wrapping_neg()
        } else {
            x
        }
    }

    /// Signed division truncating toward zero; MIN / -1 = MIN; x / 0 = 0.
    fn i256_div(a: U256, b: U256) -> U256 {
        if b.is_zero() {
            return U256::ZERO;
        }
        let q = udiv(abs(a), abs(b));
        if is_negative(a) != is_negative(b) {
            q.wrapping_neg()
        } else {
            q
        }
    }

    /// Signed remainder with the dividend's sign; x % 0 = 0.
    fn i256_mod(a: U256, b: U256) -> U256 {
        if b.is_zero() {
            return U256::ZERO;
        }
        let r = urem(abs(a), abs(b));
        if is_negative(a) {
            r.wrapping_neg()
        } else {
            r
        }
    }

    fn neg(n: u64) -> U256 {
        U256::from(n).wrapping_neg()
    }

    #[test]
    fn signextend_matches_reference() {
        let words = [
            U256::ZERO,
            U256::from(1),
            U256::from(0x80),
            U256::from(0x7f),
            U256::from(0xff80),
            U256::MAX,
            U256::from_be_bytes([0xa5; 32]),
            U256::from_be_bytes([0x5a; 32]),
            U256::from(1) << 255,
            U256::from(0x8000_0000_0000_0000u64),
        ];
        for ext in (0..40u64).map(U256::from).chain([U256::MAX, U256::from(1) << 64]) {
            for &x in &words {
                let mut ctx = crate::context::Context::new(
                    std::sync::Arc::new(crate::code::AnalyzedCode::new(
                        Default::default(),
                        Default::default(),
                    )),
                    Default::default(),
                    Default::default(),
                    Default::default(),
                    U256::ZERO,
                    0,
                    false,
                    0,
                );
                ctx.stack.push(x);
                ctx.stack.push(ext);
                signextend(&mut ctx);
                assert_eq!(ctx.stack.pop(), sem::signextend(ext, x), "ext {ext} x {x:#x}");
            }
        }
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

    /// Operands on both sides of the 128-bit fast path, with both signs.
    fn division_edges() -> Vec<U256> {
        let one = U256::from(1);
        let mut v = vec![one, U256::from(3), U256::from(1_000_000)];
        for bits in [63, 64, 100, 127, 128, 129, 192, 255] {
            let p = one << bits;
            v.extend([p - one, p, p + one]);
        }
        v.push(U256::MAX >> 1);
        let negs: Vec<U256> = v.iter().map(|x| x.wrapping_neg()).collect();
        v.extend(negs);
        v
    }

    #[test]
    fn limb_division_agrees_with_the_word_division() {
        let edges = division_edges();
        let limbs = |x: U256| *x.as_limbs();
        for &a in edges.iter().chain(&[U256::ZERO, U256::MAX, U256::from(1) << 255]) {
            for &b in edges.iter().chain(&[U256::ZERO, U256::MAX, U256::from(1) << 255]) {
                let (la, lb) = (limbs(a), limbs(b));
                let want = [
                    (op::DIV, a.checked_div(b).unwrap_or_default()),
                    (op::MOD, a.checked_rem(b).unwrap_or_default()),
                    (op::SDIV, i256_div(a, b)),
                    (op::SMOD, i256_mod(a, b)),
                ];
                for (opcode, w) in want {
                    assert_eq!(divide_limbs(opcode, la, lb), Some(limbs(w)), "{opcode:#x} {a} {b}");
                }
            }
        }
        assert_eq!(divide_limbs(op::ADD, [1; 4], [1; 4]), None);
    }

    #[test]
    fn division_agrees_with_its_definition_around_128_bits() {
        let edges = division_edges();
        for &a in &edges {
            for &b in &edges {
                assert_eq!(udiv(a, b), a / b, "{a} / {b}");
                assert_eq!(urem(a, b), a % b, "{a} % {b}");
                let (q, r) = (i256_div(a, b), i256_mod(a, b));
                // Truncating division: a = q * b + r, |r| < |b|, r takes a's sign.
                assert_eq!(q.wrapping_mul(b).wrapping_add(r), a, "{a} sdiv {b}");
                assert!(abs(r) < abs(b), "{a} smod {b}");
                assert!(r.is_zero() || is_negative(r) == is_negative(a), "{a} smod {b}");
                // The quotient is rounded toward zero: |q| * |b| <= |a|.
                assert!(abs(q).checked_mul(abs(b)).is_some_and(|m| m <= abs(a)), "{a} sdiv {b}");
            }
        }
    }
}
