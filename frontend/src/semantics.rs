//! What the pure opcodes compute: the one definition of each, which the interpreter runs and
//! constant folding evaluates (compiled code's inline 64-bit paths are checked against the
//! interpreter by the differential test). Operands are in stack order: `a` is the top.

use crate::opcode as op;
use ruint::aliases::U256;

#[inline(always)]
fn flag(b: bool) -> U256 {
    U256::from(b as u64)
}

#[inline(always)]
pub fn add(a: U256, b: U256) -> U256 {
    a.wrapping_add(b)
}

#[inline(always)]
pub fn mul(a: U256, b: U256) -> U256 {
    a.wrapping_mul(b)
}

#[inline(always)]
pub fn sub(a: U256, b: U256) -> U256 {
    a.wrapping_sub(b)
}

/// DIV: zero for a zero divisor.
#[inline(always)]
pub fn div(a: U256, b: U256) -> U256 {
    a.checked_div(b).unwrap_or_default()
}

/// MOD: zero for a zero divisor.
#[inline(always)]
pub fn rem(a: U256, b: U256) -> U256 {
    a.checked_rem(b).unwrap_or_default()
}

#[inline(always)]
pub fn addmod(a: U256, b: U256, n: U256) -> U256 {
    a.add_mod(b, n)
}

#[inline(always)]
pub fn mulmod(a: U256, b: U256, n: U256) -> U256 {
    a.mul_mod(b, n)
}

/// Signed less-than on two's-complement words.
#[inline(always)]
pub fn signed_lt(a: U256, b: U256) -> bool {
    let (an, bn) = (a.bit(255), b.bit(255));
    if an != bn {
        an
    } else {
        a < b
    }
}

#[inline(always)]
pub fn lt(a: U256, b: U256) -> U256 {
    flag(a < b)
}

#[inline(always)]
pub fn gt(a: U256, b: U256) -> U256 {
    flag(a > b)
}

#[inline(always)]
pub fn slt(a: U256, b: U256) -> U256 {
    flag(signed_lt(a, b))
}

#[inline(always)]
pub fn sgt(a: U256, b: U256) -> U256 {
    flag(signed_lt(b, a))
}

#[inline(always)]
pub fn eq(a: U256, b: U256) -> U256 {
    flag(a == b)
}

#[inline(always)]
pub fn iszero(a: U256) -> U256 {
    flag(a.is_zero())
}

#[inline(always)]
pub fn and(a: U256, b: U256) -> U256 {
    a & b
}

#[inline(always)]
pub fn or(a: U256, b: U256) -> U256 {
    a | b
}

#[inline(always)]
pub fn xor(a: U256, b: U256) -> U256 {
    a ^ b
}

#[inline(always)]
pub fn not(a: U256) -> U256 {
    !a
}

/// BYTE(i, x): the i-th byte of x counting from the most significant.
#[inline(always)]
pub fn byte(i: U256, x: U256) -> U256 {
    if i < U256::from(32) {
        U256::from(x.byte(31 - i.as_limbs()[0] as usize))
    } else {
        U256::ZERO
    }
}

#[inline(always)]
pub fn shl(shift: U256, x: U256) -> U256 {
    if shift < U256::from(256) {
        x << shift.as_limbs()[0] as usize
    } else {
        U256::ZERO
    }
}

#[inline(always)]
pub fn shr(shift: U256, x: U256) -> U256 {
    if shift < U256::from(256) {
        x >> shift.as_limbs()[0] as usize
    } else {
        U256::ZERO
    }
}

#[inline(always)]
pub fn sar(shift: U256, x: U256) -> U256 {
    if shift < U256::from(256) {
        x.arithmetic_shr(shift.as_limbs()[0] as usize)
    } else if x.bit(255) {
        U256::MAX
    } else {
        U256::ZERO
    }
}

/// SIGNEXTEND(ext, x): extends the sign of byte `ext` of `x`.
#[inline(always)]
pub fn signextend(ext: U256, x: U256) -> U256 {
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
}

/// CLZ (EIP-7939): leading zero bits, 256 for zero.
#[inline(always)]
pub fn clz(a: U256) -> U256 {
    U256::from(a.leading_zeros())
}

/// Evaluates a pure opcode on constant operands (top of the stack first), or `None` for an
/// opcode constant folding leaves to run time: one that is not pure, EXP (its gas depends on
/// the exponent), and SDIV and SMOD (the runtime's limb division does them).
pub fn eval(opcode: u8, args: &[U256]) -> Option<U256> {
    Some(match (opcode, args) {
        (op::ADD, &[a, b]) => add(a, b),
        (op::MUL, &[a, b]) => mul(a, b),
        (op::SUB, &[a, b]) => sub(a, b),
        (op::DIV, &[a, b]) => div(a, b),
        (op::MOD, &[a, b]) => rem(a, b),
        (op::ADDMOD, &[a, b, n]) => addmod(a, b, n),
        (op::MULMOD, &[a, b, n]) => mulmod(a, b, n),
        (op::LT, &[a, b]) => lt(a, b),
        (op::GT, &[a, b]) => gt(a, b),
        (op::SLT, &[a, b]) => slt(a, b),
        (op::SGT, &[a, b]) => sgt(a, b),
        (op::EQ, &[a, b]) => eq(a, b),
        (op::ISZERO, &[a]) => iszero(a),
        (op::AND, &[a, b]) => and(a, b),
        (op::OR, &[a, b]) => or(a, b),
        (op::XOR, &[a, b]) => xor(a, b),
        (op::NOT, &[a]) => not(a),
        (op::BYTE, &[i, x]) => byte(i, x),
        (op::SHL, &[s, x]) => shl(s, x),
        (op::SHR, &[s, x]) => shr(s, x),
        (op::SAR, &[s, x]) => sar(s, x),
        (op::SIGNEXTEND, &[e, x]) => signextend(e, x),
        (op::CLZ, &[a]) => clz(a),
        _ => return None,
    })
}
