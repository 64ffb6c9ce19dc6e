//! 256-bit arithmetic on four i64 limbs (least significant first): Cranelift has no i256.

use cranelift_codegen::ir::{
    condcodes::IntCC, types, DataFlowGraph, InstBuilder, InstructionData, Opcode, Value, ValueDef,
};
use cranelift_frontend::FunctionBuilder;

/// A 256-bit EVM word as four little-endian 64-bit limbs.
pub type Word = [Value; 4];

pub fn from_flag(b: &mut FunctionBuilder, flag: Value) -> Word {
    let lo = b.ins().uextend(types::I64, flag);
    let zero = b.ins().iconst(types::I64, 0);
    [lo, zero, zero, zero]
}

pub fn add(b: &mut FunctionBuilder, x: Word, y: Word) -> Word {
    add_or_sub(b, x, y, false)
}

pub fn sub(b: &mut FunctionBuilder, x: Word, y: Word) -> Word {
    add_or_sub(b, x, y, true)
}

/// `x + y` or `x - y` in two 128-bit halves: x86-64 lowers an i128 add or sub to add/adc
/// (sub/sbb), the carry chain Cranelift cannot express on 64-bit limbs.
fn add_or_sub(b: &mut FunctionBuilder, x: Word, y: Word, sub: bool) -> Word {
    let xl = b.ins().iconcat(x[0], x[1]);
    let yl = b.ins().iconcat(y[0], y[1]);
    let xh = b.ins().iconcat(x[2], x[3]);
    let yh = b.ins().iconcat(y[2], y[3]);
    let (lo, carry, hi) = if sub {
        let (lo, borrow) = b.ins().usub_overflow(xl, yl);
        (lo, borrow, b.ins().isub(xh, yh))
    } else {
        let (lo, carry) = b.ins().uadd_overflow(xl, yl);
        (lo, carry, b.ins().iadd(xh, yh))
    };
    // Through i64: x86-64 then adds the carry with `add`/`adc $0`, with no register for a
    // zero high half (one register matters in a loop carrying three words).
    let carry = b.ins().uextend(types::I64, carry);
    let carry = b.ins().uextend(types::I128, carry);
    let hi = if sub { b.ins().isub(hi, carry) } else { b.ins().iadd(hi, carry) };
    let (r0, r1) = b.ins().isplit(lo);
    let (r2, r3) = b.ins().isplit(hi);
    [r0, r1, r2, r3]
}

/// The low 256 bits of the product, schoolbook over 64-bit limbs with 128-bit partial sums.
/// Limbs known to be zero (the high limbs of a shifted-down or masked value, the low ones of
/// a shifted-up one, an empty running sum or carry) take no multiply and no add: with the
/// mid-end off nothing else would fold them, and each would stay on the carry chain.
pub fn mul(b: &mut FunctionBuilder, x: Word, y: Word) -> Word {
    let ny = significant_limbs(b, y);
    let mut r: [Option<Value>; 4] = [None; 4];
    for (i, &xi) in x.iter().enumerate() {
        if is_zero_const(b, xi) {
            continue;
        }
        let row = ny.min(4 - i);
        let mut carry: Option<Value> = None;
        for (j, &yj) in y.iter().enumerate().take(row) {
            let k = i + j;
            if is_zero_const(b, yj) {
                // No product: the carry moves into this limb, carrying on out of it.
                let Some(c) = carry.take() else { continue };
                r[k] = Some(match r[k] {
                    None => c,
                    Some(rk) if k == 3 => b.ins().iadd(rk, c),
                    Some(rk) => {
                        let (s, o) = b.ins().uadd_overflow(rk, c);
                        carry = Some(b.ins().uextend(types::I64, o));
                        s
                    }
                });
                continue;
            }
            let lo = b.ins().imul(xi, yj);
            if k == 3 {
                let mut s = lo;
                for v in [r[3], carry].into_iter().flatten() {
                    s = b.ins().iadd(s, v);
                }
                r[3] = Some(s);
                carry = None;
                continue;
            }
            let hi = b.ins().umulhi(xi, yj);
            let mut p = b.ins().iconcat(lo, hi);
            for v in [r[k], carry].into_iter().flatten() {
                let v = b.ins().uextend(types::I128, v);
                p = b.ins().iadd(p, v);
            }
            let (lo, hi) = b.ins().isplit(p);
            r[k] = Some(lo);
            carry = Some(hi);
        }
        // The row's last carry lands on a limb no earlier row reached (row `i - 1` ended at
        // limb `i - 1 + ny`).
        if let Some(c) = carry {
            if i + row < 4 {
                debug_assert!(r[i + row].is_none(), "a row's carry lands on a fresh limb");
                r[i + row] = Some(c);
            }
        }
    }
    let zero = b.ins().iconst(types::I64, 0);
    r.map(|v| v.unwrap_or(zero))
}

/// One past the most significant limb of `x` not known to be zero.
fn significant_limbs(b: &FunctionBuilder, x: Word) -> usize {
    (0..4).rev().find(|&i| !is_zero_const(b, x[i])).map_or(0, |i| i + 1)
}

/// Whether `x` is known below 2^64: its high limbs are the constant zero.
pub fn known_u64(b: &FunctionBuilder, x: Word) -> bool {
    significant_limbs(b, x) <= 1
}

/// The low 256 bits of `x * y` for a `y` below 2^64: four partial products, each with the
/// carry from the one below (`(2^64-1)^2 + 2^64-1` fits 128 bits).
pub fn mul_u64(b: &mut FunctionBuilder, x: Word, y: Value) -> Word {
    let mut r = x;
    let mut carry: Option<Value> = None;
    for i in 0..4 {
        if is_zero_const(b, x[i]) {
            // No product: the carry (below 2^64) is the whole limb.
            r[i] = carry.take().unwrap_or(x[i]);
            continue;
        }
        let lo = b.ins().imul(x[i], y);
        if i == 3 {
            r[3] = match carry {
                Some(c) => b.ins().iadd(lo, c),
                None => lo,
            };
            break;
        }
        let hi = b.ins().umulhi(x[i], y);
        let p = b.ins().iconcat(lo, hi);
        let p = match carry {
            Some(c) => {
                let c = b.ins().uextend(types::I128, c);
                b.ins().iadd(p, c)
            }
            None => p,
        };
        let (lo, hi) = b.ins().isplit(p);
        r[i] = lo;
        carry = Some(hi);
    }
    r
}

/// The low 256 bits of `x * y` for a `y` that is the sign extension of its low limb `y0`,
/// `sign` being that limb's sign in every bit (`y` in [-2^63, 2^63)): `x * y0` as unsigned,
/// less `x << 64` when `y` is negative (two's complement makes `y` equal to `y0 - 2^64`
/// then). Four partial products and a 192-bit subtraction, where a general product takes ten
/// (and a check of the operands for the four-product path would branch on the sign, which
/// fixed-point code's operands flip unpredictably).
pub fn mul_i64(b: &mut FunctionBuilder, x: Word, y0: Value, sign: Value) -> Word {
    let r = mul_u64(b, x, y0);
    let t = [x[0], x[1], x[2]].map(|l| b.ins().band(l, sign));
    let rl = b.ins().iconcat(r[1], r[2]);
    let tl = b.ins().iconcat(t[0], t[1]);
    let (lo, borrow) = b.ins().usub_overflow(rl, tl);
    let hi = b.ins().isub(r[3], t[2]);
    let borrow = b.ins().uextend(types::I64, borrow);
    let hi = b.ins().isub(hi, borrow);
    let (r1, r2) = b.ins().isplit(lo);
    [r[0], r1, r2, hi]
}

/// When `x` is known to be the sign extension of its low limb (the result of SAR by 192 or
/// more, or of SIGNEXTEND from a byte of the low limb): that limb's sign in every bit.
pub fn known_i64_sign(b: &FunctionBuilder, x: Word) -> Option<Value> {
    let sign = x[1];
    if x[2] != sign || x[3] != sign {
        return None;
    }
    let (a, 63) = sshr_by_const(b, sign)? else { return None };
    // The low limb is `a`, or `a` shifted right arithmetically by less than 64: its sign
    // is `a`'s either way.
    let same = x[0] == a || sshr_by_const(b, x[0]).is_some_and(|(v, k)| v == a && k < 64);
    same.then_some(sign)
}

/// `(v, k)` when `x` is `v >> k` (arithmetic) for a constant `k`.
fn sshr_by_const(b: &FunctionBuilder, x: Value) -> Option<(Value, i64)> {
    let dfg = &b.func.dfg;
    let ValueDef::Result(inst, _) = dfg.value_def(x) else { return None };
    let InstructionData::Binary { opcode: Opcode::Sshr, args } = dfg.insts[inst] else {
        return None;
    };
    const_value(dfg, args[1]).map(|k| (args[0], k))
}

pub fn and(b: &mut FunctionBuilder, x: Word, y: Word) -> Word {
    [0, 1, 2, 3].map(|i| b.ins().band(x[i], y[i]))
}

pub fn or(b: &mut FunctionBuilder, x: Word, y: Word) -> Word {
    [0, 1, 2, 3].map(|i| b.ins().bor(x[i], y[i]))
}

pub fn xor(b: &mut FunctionBuilder, x: Word, y: Word) -> Word {
    [0, 1, 2, 3].map(|i| b.ins().bxor(x[i], y[i]))
}

pub fn not(b: &mut FunctionBuilder, x: Word) -> Word {
    x.map(|l| b.ins().bnot(l))
}

/// Non-zero test as an i8 flag.
pub fn is_nonzero(b: &mut FunctionBuilder, x: Word) -> Value {
    let all = or_limbs(b, x);
    b.ins().icmp_imm_s(IntCC::NotEqual, all, 0)
}

pub fn is_zero(b: &mut FunctionBuilder, x: Word) -> Value {
    let all = or_limbs(b, x);
    b.ins().icmp_imm_s(IntCC::Equal, all, 0)
}

/// The OR of the four limbs, as a chain: one scratch register where a balanced tree takes
/// two (a loop that keeps three words in registers has one to spare). Limbs known to be zero
/// (a flag's or a counter's upper limbs) are left out.
fn or_limbs(b: &mut FunctionBuilder, x: Word) -> Value {
    let mut acc = None;
    for l in x {
        if !is_zero_const(b, l) {
            acc = Some(match acc {
                None => l,
                Some(a) => b.ins().bor(a, l),
            });
        }
    }
    acc.unwrap_or(x[0])
}

/// Whether `v` is the constant zero.
fn is_zero_const(b: &FunctionBuilder, v: Value) -> bool {
    const_value(&b.func.dfg, v) == Some(0)
}

/// The constant `v` is, if an `iconst` defines it.
pub fn const_value(dfg: &DataFlowGraph, v: Value) -> Option<i64> {
    let ValueDef::Result(inst, _) = dfg.value_def(v) else { return None };
    match dfg.insts[inst] {
        InstructionData::UnaryImm { opcode: Opcode::Iconst, imm } => Some(imm.bits()),
        _ => None,
    }
}

pub fn eq(b: &mut FunctionBuilder, x: Word, y: Word) -> Value {
    let d = xor(b, x, y);
    is_zero(b, d)
}

/// `x < y` as an i8 flag; `top` is the comparison for the most significant limb
/// (unsigned or signed).
fn less_than(b: &mut FunctionBuilder, x: Word, y: Word, top: IntCC) -> Value {
    let mut lt = b.ins().icmp(IntCC::UnsignedLessThan, x[0], y[0]);
    for i in 1..4 {
        let cc = if i == 3 { top } else { IntCC::UnsignedLessThan };
        let li = b.ins().icmp(cc, x[i], y[i]);
        let ei = b.ins().icmp(IntCC::Equal, x[i], y[i]);
        let carry = b.ins().band(ei, lt);
        lt = b.ins().bor(li, carry);
    }
    lt
}

/// `x == c` for a constant `c`: limbs where `c` is zero are tested as they are.
pub fn eq_const(b: &mut FunctionBuilder, x: Word, c: [u64; 4]) -> Value {
    let mut d = x;
    for (limb, &ci) in d.iter_mut().zip(&c) {
        if ci != 0 {
            *limb = b.ins().bxor_imm_s(*limb, ci as i64);
        }
    }
    is_zero(b, d)
}

/// `x < c`, or with `greater` `x > c`, unsigned, for a constant `c`. Limbs above `c`'s
/// highest non-zero limb only need testing for zero, the rest compare with immediates: the
/// common `c` below 2^64 (Solidity's checks of memory pointers and lengths) costs one OR
/// chain and one comparison instead of a chain of comparisons over all four limbs.
pub fn cmp_const(b: &mut FunctionBuilder, x: Word, c: [u64; 4], greater: bool) -> Value {
    let Some(k) = (0..4).rev().find(|&i| c[i] != 0) else {
        // Nothing is below zero; above it is everything but zero.
        return if greater { is_nonzero(b, x) } else { b.ins().iconst(types::I8, 0) };
    };
    let strict = if greater { IntCC::UnsignedGreaterThan } else { IntCC::UnsignedLessThan };
    let mut r = b.ins().icmp_imm_s(strict, x[0], c[0] as i64);
    for i in 1..=k {
        let li = b.ins().icmp_imm_s(strict, x[i], c[i] as i64);
        let ei = b.ins().icmp_imm_s(IntCC::Equal, x[i], c[i] as i64);
        let carry = b.ins().band(ei, r);
        r = b.ins().bor(li, carry);
    }
    if k < 3 {
        let mut hi = x[k + 1];
        for &limb in &x[k + 2..] {
            hi = b.ins().bor(hi, limb);
        }
        r = if greater {
            let nz = b.ins().icmp_imm_s(IntCC::NotEqual, hi, 0);
            b.ins().bor(r, nz)
        } else {
            let z = b.ins().icmp_imm_s(IntCC::Equal, hi, 0);
            b.ins().band(r, z)
        };
    }
    r
}

/// `x < 0`, signed: the sign bit.
pub fn is_negative(b: &mut FunctionBuilder, x: Word) -> Value {
    b.ins().icmp_imm_s(IntCC::SignedLessThan, x[3], 0)
}

/// `x > 0`, signed: not negative and not zero.
pub fn is_positive(b: &mut FunctionBuilder, x: Word) -> Value {
    let non_negative = b.ins().icmp_imm_s(IntCC::SignedGreaterThanOrEqual, x[3], 0);
    let nonzero = is_nonzero(b, x);
    b.ins().band(non_negative, nonzero)
}

pub fn ult(b: &mut FunctionBuilder, x: Word, y: Word) -> Value {
    less_than(b, x, y, IntCC::UnsignedLessThan)
}

pub fn slt(b: &mut FunctionBuilder, x: Word, y: Word) -> Value {
    less_than(b, x, y, IntCC::SignedLessThan)
}

/// Shift left by a constant `s < 256`.
pub fn shl_const(b: &mut FunctionBuilder, x: Word, s: u32) -> Word {
    let zero = b.ins().iconst(types::I64, 0);
    let (k, r) = ((s / 64) as usize, (s % 64) as i64);
    let mut out = [zero; 4];
    for i in k..4 {
        let lo = x[i - k];
        out[i] = if r == 0 { lo } else { b.ins().ishl_imm_s(lo, r) };
        if r != 0 && i > k {
            let carry = b.ins().ushr_imm_s(x[i - k - 1], 64 - r);
            out[i] = b.ins().bor(out[i], carry);
        }
    }
    out
}

/// The parts of a run-time shift amount `s`: whether it is 256 or more (every bit shifted
/// out), the whole limbs it moves (`(s / 64) % 4`), the bits within a limb (`s % 64`) and
/// `63 - s % 64`, for the carry between limbs (`(y >> 1) >> (63 - r)` is `y >> (64 - r)`,
/// and 0 when `r` is 0, where a single shift by 64 would be a shift by 0).
fn shift_amount(b: &mut FunctionBuilder, s: Word) -> (Value, Value, Value, Value) {
    let high = b.ins().bor(s[1], s[2]);
    let high = b.ins().bor(high, s[3]);
    let high = b.ins().icmp_imm_s(IntCC::NotEqual, high, 0);
    let low = b.ins().icmp_imm_u(IntCC::UnsignedGreaterThan, s[0], 255);
    let out = b.ins().bor(high, low);
    let limbs = b.ins().ushr_imm_s(s[0], 6);
    let limbs = b.ins().band_imm_s(limbs, 3);
    let r = b.ins().band_imm_s(s[0], 63);
    let inv = b.ins().bxor_imm_s(r, 63);
    (out, limbs, r, inv)
}

/// `y[i + k]` (`y[i - k]` when `left`) for the run-time limb count `k` in 0..4, `fill` where
/// that index falls outside the word: a word moved by whole limbs, through selects.
fn move_limbs(b: &mut FunctionBuilder, y: Word, k: Value, left: bool, fill: Value) -> Word {
    let is = [0, 1, 2].map(|n| b.ins().icmp_imm_s(IntCC::Equal, k, n));
    std::array::from_fn(|i| {
        let at = |n: usize| {
            let j = if left { i.checked_sub(n) } else { Some(i + n).filter(|&j| j < 4) };
            j.map_or(fill, |j| y[j])
        };
        let v = b.ins().select(is[2], at(2), at(3));
        let v = b.ins().select(is[1], at(1), v);
        b.ins().select(is[0], at(0), v)
    })
}

/// Shift left by a run-time amount `s` (a word): zero when `s >= 256`.
pub fn shl(b: &mut FunctionBuilder, x: Word, s: Word) -> Word {
    let (out, k, r, inv) = shift_amount(b, s);
    let zero = b.ins().iconst(types::I64, 0);
    let y: Word = std::array::from_fn(|i| {
        let v = b.ins().ishl(x[i], r);
        if i == 0 {
            return v;
        }
        let carry = b.ins().ushr_imm_s(x[i - 1], 1);
        let carry = b.ins().ushr(carry, inv);
        b.ins().bor(v, carry)
    });
    let moved = move_limbs(b, y, k, true, zero);
    moved.map(|v| b.ins().select(out, zero, v))
}

/// Logical (or, with `arith`, arithmetic) shift right by a run-time amount `s` (a word): zero
/// (or the sign in every bit) when `s >= 256`.
pub fn shr(b: &mut FunctionBuilder, x: Word, s: Word, arith: bool) -> Word {
    let (out, k, r, inv) = shift_amount(b, s);
    let fill = if arith { b.ins().sshr_imm_s(x[3], 63) } else { b.ins().iconst(types::I64, 0) };
    let y: Word = std::array::from_fn(|i| {
        if i == 3 {
            return if arith { b.ins().sshr(x[3], r) } else { b.ins().ushr(x[3], r) };
        }
        let v = b.ins().ushr(x[i], r);
        let carry = b.ins().ishl_imm_s(x[i + 1], 1);
        let carry = b.ins().ishl(carry, inv);
        b.ins().bor(v, carry)
    });
    let moved = move_limbs(b, y, k, false, fill);
    moved.map(|v| b.ins().select(out, fill, v))
}

/// Logical (or, with `arith`, arithmetic) shift right by a constant `s < 256`.
pub fn shr_const(b: &mut FunctionBuilder, x: Word, s: u32, arith: bool) -> Word {
    let fill = if arith { b.ins().sshr_imm_s(x[3], 63) } else { b.ins().iconst(types::I64, 0) };
    let (k, r) = ((s / 64) as usize, (s % 64) as i64);
    let mut out = [fill; 4];
    for i in 0..4 - k {
        let hi_src = x[i + k];
        let last = i + k == 3;
        out[i] = if r == 0 {
            hi_src
        } else if last && arith {
            b.ins().sshr_imm_s(hi_src, r)
        } else {
            b.ins().ushr_imm_s(hi_src, r)
        };
        // The top limb's shift brings in zeros, or (arithmetic) the sign: nothing to carry in.
        if r != 0 && !last {
            let carry = b.ins().ishl_imm_s(x[i + k + 1], 64 - r);
            out[i] = b.ins().bor(out[i], carry);
        }
    }
    out
}

/// SDIV by the constant 2^k, `k < 255` (a positive divisor): an arithmetic shift, after
/// adding 2^k - 1 to a negative dividend so that the quotient rounds toward zero as SDIV's
/// does (the shift alone rounds toward minus infinity).
pub fn sdiv_pow2(b: &mut FunctionBuilder, x: Word, k: u32) -> Word {
    let sign = b.ins().sshr_imm_s(x[3], 63);
    // 2^k - 1 where the dividend is negative, else zero: the low k bits of its sign.
    let bias = low_bits(b, [sign; 4], k);
    let t = add(b, x, bias);
    shr_const(b, t, k, true)
}

/// SMOD by the constant 2^k, `k < 255`: the dividend less its quotient's multiple, so the
/// remainder takes the dividend's sign.
pub fn smod_pow2(b: &mut FunctionBuilder, x: Word, k: u32) -> Word {
    let q = sdiv_pow2(b, x, k);
    let m = shl_const(b, q, k);
    sub(b, x, m)
}

/// The low `k < 256` bits of `x` (MOD by 2^k).
pub fn low_bits(b: &mut FunctionBuilder, x: Word, k: u32) -> Word {
    let zero = b.ins().iconst(types::I64, 0);
    std::array::from_fn(|i| {
        let bits = k.saturating_sub(i as u32 * 64).min(64);
        match bits {
            0 => zero,
            64 => x[i],
            _ => b.ins().band_imm_s(x[i], (u64::MAX >> (64 - bits)) as i64),
        }
    })
}

/// BYTE with a constant index `i < 32` (0 is the most significant byte).
pub fn byte_const(b: &mut FunctionBuilder, x: Word, i: u32) -> Word {
    let from_lsb = 31 - i;
    let limb = x[(from_lsb / 8) as usize];
    let shifted = b.ins().ushr_imm_s(limb, ((from_lsb % 8) * 8) as i64);
    let v = b.ins().band_imm_s(shifted, 0xff);
    let zero = b.ins().iconst(types::I64, 0);
    [v, zero, zero, zero]
}

/// SIGNEXTEND with a constant byte index `k < 31`: bit `8k + 7` is copied into every bit above.
pub fn signextend_const(b: &mut FunctionBuilder, x: Word, k: u32) -> Word {
    let bit = 8 * k + 7;
    let (limb, off) = ((bit / 64) as usize, (bit % 64) as i64);
    let mut out = x;
    // Move the sign bit to the top of its limb, then shift back arithmetically.
    let up = b.ins().ishl_imm_s(x[limb], 63 - off);
    out[limb] = b.ins().sshr_imm_s(up, 63 - off);
    let fill = b.ins().sshr_imm_s(out[limb], 63);
    for o in out.iter_mut().skip(limb + 1) {
        *o = fill;
    }
    out
}

/// `x + c` or `x - c` for a constant `c`, in 128-bit halves (add/adc with immediates): a
/// half of `c` that is zero costs nothing in the low half and only the carry in the high one.
pub fn add_sub_const(b: &mut FunctionBuilder, x: Word, c: [u64; 4], sub: bool) -> Word {
    let half = |b: &mut FunctionBuilder, lo: u64, hi: u64| {
        let lo = b.ins().iconst(types::I64, lo as i64);
        let hi = b.ins().iconst(types::I64, hi as i64);
        b.ins().iconcat(lo, hi)
    };
    let ((r0, r1), carry) = if c[0] | c[1] == 0 {
        ((x[0], x[1]), None)
    } else {
        let xl = b.ins().iconcat(x[0], x[1]);
        let cl = half(b, c[0], c[1]);
        let (lo, o) =
            if sub { b.ins().usub_overflow(xl, cl) } else { b.ins().uadd_overflow(xl, cl) };
        (b.ins().isplit(lo), Some(o))
    };
    if c[2] | c[3] == 0 && carry.is_none() {
        return [r0, r1, x[2], x[3]];
    }
    let mut hi = b.ins().iconcat(x[2], x[3]);
    if c[2] | c[3] != 0 {
        let ch = half(b, c[2], c[3]);
        hi = if sub { b.ins().isub(hi, ch) } else { b.ins().iadd(hi, ch) };
    }
    if let Some(o) = carry {
        let o = b.ins().uextend(types::I64, o);
        let o = b.ins().uextend(types::I128, o);
        hi = if sub { b.ins().isub(hi, o) } else { b.ins().iadd(hi, o) };
    }
    let (r2, r3) = b.ins().isplit(hi);
    [r0, r1, r2, r3]
}

/// Whether `x` is the zero-extension of its low limb: a value below 2^64.
pub fn fits_u64(b: &mut FunctionBuilder, x: Word) -> Value {
    let high = b.ins().bor(x[1], x[2]);
    let high = b.ins().bor(high, x[3]);
    b.ins().icmp_imm_s(IntCC::Equal, high, 0)
}

/// Whether `x` is below 2^128.
pub fn fits_u128(b: &mut FunctionBuilder, x: Word) -> Value {
    let high = b.ins().bor(x[2], x[3]);
    b.ins().icmp_imm_s(IntCC::Equal, high, 0)
}

/// Whether `x` is the sign-extension of its low two limbs: a value in [-2^127, 2^127).
pub fn fits_i128(b: &mut FunctionBuilder, x: Word) -> Value {
    let sign = b.ins().sshr_imm_s(x[1], 63);
    let d2 = b.ins().bxor(x[2], sign);
    let d3 = b.ins().bxor(x[3], sign);
    let d = b.ins().bor(d2, d3);
    b.ins().icmp_imm_s(IntCC::Equal, d, 0)
}

/// Whether `x` is the sign-extension of its low limb: a value in [-2^63, 2^63).
pub fn fits_i64(b: &mut FunctionBuilder, x: Word) -> Value {
    let sign = b.ins().sshr_imm_s(x[0], 63);
    let d1 = b.ins().bxor(x[1], sign);
    let d2 = b.ins().bxor(x[2], sign);
    let d3 = b.ins().bxor(x[3], sign);
    let d = b.ins().bor(d1, d2);
    let d = b.ins().bor(d, d3);
    b.ins().icmp_imm_s(IntCC::Equal, d, 0)
}

/// DIV, MOD, SDIV or SMOD of two words that fit the 64-bit operation (the caller checks:
/// [`fits_u64`] for the unsigned ones; [`fits_i64`] and a dividend other than -2^63 for the
/// signed ones, whose hardware division would overflow). A zero divisor gives zero, as in
/// the EVM; SMOD's result takes the dividend's sign, as the hardware's does.
pub fn div_rem_64(b: &mut FunctionBuilder, x: Word, y: Word, signed: bool, rem: bool) -> Word {
    let zero_div = b.ins().icmp_imm_s(IntCC::Equal, y[0], 0);
    let one = b.ins().iconst(types::I64, 1);
    let divisor = b.ins().select(zero_div, one, y[0]);
    let r = match (signed, rem) {
        (false, false) => b.ins().udiv(x[0], divisor),
        (false, true) => b.ins().urem(x[0], divisor),
        (true, false) => b.ins().sdiv(x[0], divisor),
        (true, true) => b.ins().srem(x[0], divisor),
    };
    let zero = b.ins().iconst(types::I64, 0);
    let r = b.ins().select(zero_div, zero, r);
    let high = if signed { b.ins().sshr_imm_s(r, 63) } else { zero };
    [r, high, high, high]
}

/// The EVM's total memory cost of `words` words (`words` below 2^32), as the runtime's
/// `gas::memory_cost` computes it from the same constants.
pub fn memory_cost(b: &mut FunctionBuilder, words: Value) -> Value {
    use kiln_runtime::gas::{MEMORY_QUAD_DIVISOR, MEMORY_WORD};
    const _: () = assert!(MEMORY_QUAD_DIVISOR.is_power_of_two(), "divided by a shift");
    let linear = b.ins().imul_imm_s(words, MEMORY_WORD as i64);
    let square = b.ins().imul(words, words);
    let quad = b.ins().ushr_imm_s(square, MEMORY_QUAD_DIVISOR.trailing_zeros() as i64);
    b.ins().iadd(linear, quad)
}

/// For a run-time offset word and an access of `width` bytes: the OR of the offset's high
/// limbs, whether the offset is 2^32 or more (an i8 flag), and the end of the access
/// (`off[0] + width`, meaningful when the offset is not that far).
pub fn offset_end(b: &mut FunctionBuilder, off: Word, width: i64) -> (Value, Value, Value) {
    let high = b.ins().bor(off[1], off[2]);
    let high = b.ins().bor(high, off[3]);
    let top = b.ins().ushr_imm_s(off[0], 32);
    let far = b.ins().bor(high, top);
    let far = b.ins().icmp_imm_s(IntCC::NotEqual, far, 0);
    let end = b.ins().iadd_imm_s(off[0], width);
    (high, far, end)
}
