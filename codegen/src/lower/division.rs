//! DIV, SDIV, MOD and SMOD: powers of two and 64-bit operands inline, exact quotients of
//! products, and the runtime's division for the rest.

use super::*;

/// `k` for a divisor of 2^k with `0 < k < 255`: positive read signed too, so one shift
/// serves the signed divisions as well.
pub(super) fn pow2_divisor(c: U256) -> Option<u32> {
    let k = c.trailing_zeros() as u32;
    (c.count_ones() == 1 && (1..255).contains(&k)).then_some(k)
}

impl super::Lower<'_, '_> {
    /// DIV/MOD/SDIV/SMOD: shifts for a constant power of two, the other factor for a product
    /// divided back, else [`Self::div_general`].
    pub(super) fn div_op(&mut self, inst: &kiln_ir::Inst, opcode: u8) -> Option<Word> {
        let (x, y) = (self.word(inst.args[0]), self.word(inst.args[1]));
        if let Some(k) = self.const_arg(inst.args[1]).and_then(pow2_divisor) {
            // By a constant power of two (Solidity's `/ 2` and `% 2^k`): shifts and masks
            // of the whole word, whatever its width.
            return Some(match opcode {
                op::DIV => word::shr_const(self.b, x, k, false),
                op::MOD => word::low_bits(self.b, x, k),
                op::SDIV => word::sdiv_pow2(self.b, x, k),
                _ => word::smod_pow2(self.b, x, k),
            });
        }
        if let Some(factor) = self.divided_back(inst, opcode) {
            return Some(self.exact_quotient(inst.args[1], factor, opcode == op::SDIV, x, y));
        }
        Some(self.div_general(opcode, x, y))
    }

    /// For a DIV or SDIV of a product by one of its factors (Solidity's checked
    /// multiplication: `mul(a, b)`, then `div(product, a) == b` unless `a` is zero), the
    /// other factor.
    pub(super) fn divided_back(&self, inst: &kiln_ir::Inst, opcode: u8) -> Option<kiln_ir::Value> {
        if !matches!(opcode, op::DIV | op::SDIV) {
            return None;
        }
        let [f0, f1] = *self.products.get(&inst.args[0].0)?;
        let divisor = inst.args[1];
        let same = |v: kiln_ir::Value| {
            v == divisor || self.const_arg(v).is_some_and(|c| self.const_arg(divisor) == Some(c))
        };
        if same(f0) {
            Some(f1)
        } else if same(f1) {
            Some(f0)
        } else {
            None
        }
    }

    /// `product / divisor` where `product = divisor * factor` (wrapping): `factor` itself
    /// (zero for a zero divisor) when both factors fit 128 bits, signed for SDIV, as the
    /// product then cannot have wrapped and the division is exact. Overflowing factors (the
    /// case the contract checks for) take the division on a cold path.
    pub(super) fn exact_quotient(
        &mut self,
        divisor: kiln_ir::Value,
        factor: kiln_ir::Value,
        signed: bool,
        product: Word,
        d: Word,
    ) -> Word {
        let opcode = if signed { op::SDIV } else { op::DIV };
        let f = self.word(factor);
        let fits = |lw: &mut Self, w: Word| {
            if signed {
                word::fits_i128(lw.b, w)
            } else {
                word::fits_u128(lw.b, w)
            }
        };
        let f_fits = fits(self, f);
        let ok = match self.const_arg(divisor) {
            Some(c) => {
                let c_fits = if signed {
                    let limbs = c.as_limbs();
                    let sign = ((limbs[1] as i64) >> 63) as u64;
                    limbs[2] == sign && limbs[3] == sign
                } else {
                    c < (U256::from(1u64) << 128)
                };
                if !c_fits || c.is_zero() {
                    return self.div_general(opcode, product, d);
                }
                f_fits
            }
            None => {
                let d_fits = fits(self, d);
                self.b.ins().band(f_fits, d_fits)
            }
        };
        let may_be_zero = self.const_arg(divisor).is_none();
        self.either_word(
            ok,
            |lw| {
                if !may_be_zero {
                    return f;
                }
                let nz = word::is_nonzero(lw.b, d);
                let zero = lw.b.ins().iconst(types::I64, 0);
                f.map(|limb| lw.b.ins().select(nz, limb, zero))
            },
            true,
            |lw| lw.div_general(opcode, product, d),
        )
    }

    /// DIV/MOD/SDIV/SMOD of `x` by `y`: inline when both fit 64 bits (fixed-point contracts
    /// divide small numbers), else the runtime's 256-bit division.
    pub(super) fn div_general(&mut self, opcode: u8, x: Word, y: Word) -> Word {
        let signed = matches!(opcode, op::SDIV | op::SMOD);
        let fast_ok = if signed {
            let fx = word::fits_i64(self.b, x);
            let fy = word::fits_i64(self.b, y);
            // -2^63 / -1 overflows the hardware division; -2^63 goes the slow way.
            let min = self.b.ins().icmp_imm_s(IntCC::NotEqual, x[0], i64::MIN);
            let both = self.b.ins().band(fx, fy);
            self.b.ins().band(both, min)
        } else {
            let fx = word::fits_u64(self.b, x);
            let fy = word::fits_u64(self.b, y);
            self.b.ins().band(fx, fy)
        };
        let rem = matches!(opcode, op::MOD | op::SMOD);
        self.either_word(
            fast_ok,
            |lw| word::div_rem_64(lw.b, x, y, signed, rem),
            true,
            |lw| lw.divide(opcode, x, y),
        )
    }

    /// The runtime's 256-bit division through the divide builtin: operands and result pass
    /// in a scratch slot, and the frame's state (stack, gas) is not involved.
    pub(super) fn divide(&mut self, opcode: u8, x: Word, y: Word) -> Word {
        let addr = self.scratch_words(x, y);
        let opv = self.b.ins().iconst(types::I32, opcode as i64);
        self.call_builtin(Builtin::Divide, &[addr, opv]);
        self.load_word_at(addr, 0)
    }
}
