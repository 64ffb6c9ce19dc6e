//! Instruction selection: each IR instruction to inline four-limb code or a runtime call.

use super::*;

impl super::Lower<'_, '_> {
    /// The word of comparison flag `f`, remembered for later tests of the result.
    pub(super) fn flag_word(&mut self, inst: &kiln_ir::Inst, f: Value) -> Word {
        if let Some(r) = inst.result {
            self.flags.insert(r.0, f);
        }
        word::from_flag(self.b, f)
    }

    /// Whether `v` is non-zero, as an i8 flag.
    pub(super) fn nonzero(&mut self, v: kiln_ir::Value) -> Value {
        match self.flags.get(&v.0) {
            Some(&f) => f,
            None => {
                let w = self.word(v);
                word::is_nonzero(self.b, w)
            }
        }
    }

    /// The flags of a two-operand instruction's operands, if both are comparison results.
    pub(super) fn flag_args(&self, inst: &kiln_ir::Inst) -> Option<(Value, Value)> {
        let x = *self.flags.get(&inst.args[0].0)?;
        let y = *self.flags.get(&inst.args[1].0)?;
        Some((x, y))
    }

    pub(super) fn const_arg(&self, v: kiln_ir::Value) -> Option<U256> {
        self.consts.get(&v.0).copied()
    }

    /// LT, GT, SLT or SGT against a constant operand, where a shorter comparison exists:
    /// any unsigned constant, and the signed comparisons with zero (sign tests).
    pub(super) fn compare_const(&mut self, inst: &kiln_ir::Inst, opcode: u8) -> Option<Value> {
        let (c0, c1) = (self.const_arg(inst.args[0]), self.const_arg(inst.args[1]));
        // Normalised to `x OP c`: a constant first operand flips the comparison.
        let (x, c, greater) = match (c0, c1) {
            (_, Some(c)) => (inst.args[0], c, matches!(opcode, op::GT | op::SGT)),
            (Some(c), None) => (inst.args[1], c, matches!(opcode, op::LT | op::SLT)),
            (None, None) => return None,
        };
        let signed = matches!(opcode, op::SLT | op::SGT);
        if signed && !c.is_zero() {
            return None;
        }
        let w = self.word(x);
        Some(match (signed, greater) {
            (false, _) => word::cmp_const(self.b, w, *c.as_limbs(), greater),
            (true, false) => word::is_negative(self.b, w),
            (true, true) => word::is_positive(self.b, w),
        })
    }

    pub(super) fn inst(&mut self, inst: &kiln_ir::Inst, len: Value) {
        let result: Option<Word> = match inst.kind {
            InstKind::Const(c) => {
                if let Some(r) = inst.result {
                    self.consts.insert(r.0, c);
                }
                Some(self.constant(c.into_limbs()))
            }
            InstKind::Input(_) if !inst.result.is_some_and(|r| self.used.contains(&r.0)) => None,
            InstKind::Input(d) => {
                let o = self.cur.entry - d as i32 - 1;
                if o >= self.cur.vars_from {
                    Some(self.use_slot(o))
                } else {
                    let (frame, at) = self.slot(o);
                    Some(self.load_word_at(frame, at))
                }
            }
            InstKind::Op(opcode) => self.op(inst, opcode, len),
        };
        if let (Some(r), Some(w)) = (inst.result, result) {
            let w =
                if self.fits[r.0 as usize] { [w[0], self.zero, self.zero, self.zero] } else { w };
            self.values[r.0 as usize] = Some(w);
        }
    }

    /// A constant word. Its limbs are defined where it is used: Cranelift keeps a constant
    /// in a register from its definition on, so one shared zero would be live everywhere.
    pub(super) fn constant(&mut self, limbs: [u64; 4]) -> Word {
        limbs.map(|l| self.b.ins().iconst(types::I64, l as i64))
    }

    pub(super) fn op(&mut self, inst: &kiln_ir::Inst, opcode: u8, len: Value) -> Option<Word> {
        // The opcode table decides which opcodes have native lowerings; the arms below are
        // only reached for those.
        if !kiln_frontend::info(opcode).is_some_and(|i| i.inline) {
            return self.runtime_op(inst, opcode, len);
        }
        let a = |s: &Self, i: usize| s.word(inst.args[i]);
        match opcode {
            op::ADD if self.fits[inst.result.expect("ADD has a result").0 as usize] => {
                // A counter: no carry leaves the low limb.
                let (x, y) = (a(self, 0), a(self, 1));
                let lo = self.b.ins().iadd(x[0], y[0]);
                Some([lo, self.zero, self.zero, self.zero])
            }
            op::ADD => {
                let (x, y) = (a(self, 0), a(self, 1));
                Some(match (self.const_arg(inst.args[0]), self.const_arg(inst.args[1])) {
                    (Some(c), _) => self.add_sub_const(y, c, false),
                    (_, Some(c)) => self.add_sub_const(x, c, false),
                    // x86-64's add writes its first operand's register: give it the operand
                    // that dies here, so the one that lives on needs no copy (and no extra
                    // register).
                    _ if self.cur.only_second_dies => word::add(self.b, y, x),
                    _ => word::add(self.b, x, y),
                })
            }
            op::SUB => {
                let (x, y) = (a(self, 0), a(self, 1));
                Some(match self.const_arg(inst.args[1]) {
                    Some(c) => self.add_sub_const(x, c, true),
                    None => word::sub(self.b, x, y),
                })
            }
            op::MUL => {
                if let Some(r) = inst.result {
                    self.products.insert(r.0, [inst.args[0], inst.args[1]]);
                }
                let (x, y) = (a(self, 0), a(self, 1));
                // Known below 2^64: its high limbs lowered to the constant zero, as a
                // constant's do, a value's the bounds analysis proved small (`fits`), and a
                // shifted-down or masked value's.
                Some(if word::known_u64(self.b, x) {
                    word::mul_u64(self.b, y, x[0])
                } else if word::known_u64(self.b, y) {
                    word::mul_u64(self.b, x, y[0])
                } else if let Some(sign) = word::known_i64_sign(self.b, x) {
                    word::mul_i64(self.b, y, x[0], sign)
                } else if let Some(sign) = word::known_i64_sign(self.b, y) {
                    word::mul_i64(self.b, x, y[0], sign)
                } else {
                    self.mul_dispatch(x, y)
                })
            }
            op::AND | op::OR | op::XOR if self.flag_args(inst).is_some() => {
                // Of two comparison results (Solidity's `or(gt(..), lt(..))` checks): the
                // result is a flag too, so a JUMPI on it tests one register.
                let (x, y) = self.flag_args(inst).expect("checked");
                let f = match opcode {
                    op::AND => self.b.ins().band(x, y),
                    op::OR => self.b.ins().bor(x, y),
                    _ => self.b.ins().bxor(x, y),
                };
                Some(self.flag_word(inst, f))
            }
            op::AND => {
                let (x, y) = (a(self, 0), a(self, 1));
                Some(word::and(self.b, x, y))
            }
            op::OR => {
                let (x, y) = (a(self, 0), a(self, 1));
                Some(word::or(self.b, x, y))
            }
            op::XOR => {
                let (x, y) = (a(self, 0), a(self, 1));
                Some(word::xor(self.b, x, y))
            }
            op::NOT => {
                let x = a(self, 0);
                Some(word::not(self.b, x))
            }
            op::ISZERO => {
                let f = match self.flags.get(&inst.args[0].0) {
                    Some(&f) => self.b.ins().bxor_imm_s(f, 1),
                    None => {
                        let x = a(self, 0);
                        word::is_zero(self.b, x)
                    }
                };
                Some(self.flag_word(inst, f))
            }
            op::EQ => {
                let f = match (self.const_arg(inst.args[0]), self.const_arg(inst.args[1])) {
                    (Some(c), _) => word::eq_const(self.b, a(self, 1), *c.as_limbs()),
                    (_, Some(c)) => word::eq_const(self.b, a(self, 0), *c.as_limbs()),
                    _ => {
                        let (x, y) = (a(self, 0), a(self, 1));
                        word::eq(self.b, x, y)
                    }
                };
                Some(self.flag_word(inst, f))
            }
            op::LT | op::GT | op::SLT | op::SGT => {
                let f = match self.compare_const(inst, opcode) {
                    Some(f) => f,
                    None => {
                        let (mut x, mut y) = (a(self, 0), a(self, 1));
                        if matches!(opcode, op::GT | op::SGT) {
                            std::mem::swap(&mut x, &mut y);
                        }
                        if matches!(opcode, op::LT | op::GT) {
                            word::ult(self.b, x, y)
                        } else {
                            word::slt(self.b, x, y)
                        }
                    }
                };
                Some(self.flag_word(inst, f))
            }
            op::SHL | op::SHR | op::SAR if self.const_arg(inst.args[0]).is_some() => {
                let s = self.const_arg(inst.args[0]).expect("checked");
                let x = a(self, 1);
                if s >= U256::from(256) {
                    let fill = if opcode == op::SAR {
                        self.b.ins().sshr_imm_s(x[3], 63)
                    } else {
                        self.b.ins().iconst(types::I64, 0)
                    };
                    return Some([fill; 4]);
                }
                let s = s.to::<u32>();
                Some(match opcode {
                    op::SHL => word::shl_const(self.b, x, s),
                    op::SHR => word::shr_const(self.b, x, s, false),
                    _ => word::shr_const(self.b, x, s, true),
                })
            }
            op::SHL | op::SHR | op::SAR => {
                let (s, x) = (a(self, 0), a(self, 1));
                Some(match opcode {
                    op::SHL => word::shl(self.b, x, s),
                    op::SHR => word::shr(self.b, x, s, false),
                    _ => word::shr(self.b, x, s, true),
                })
            }
            op::SIGNEXTEND if self.const_arg(inst.args[0]).is_some() => {
                let k = self.const_arg(inst.args[0]).expect("checked");
                let x = a(self, 1);
                if k >= U256::from(31) {
                    return Some(x);
                }
                Some(word::signextend_const(self.b, x, k.to::<u32>()))
            }
            op::BYTE if self.const_arg(inst.args[0]).is_some() => {
                let i = self.const_arg(inst.args[0]).expect("checked");
                if i >= U256::from(32) {
                    return Some(self.constant([0; 4]));
                }
                let x = a(self, 1);
                Some(word::byte_const(self.b, x, i.to::<u32>()))
            }
            op::GAS => {
                let g = self.b.use_var(self.gas);
                let zero = self.b.ins().iconst(types::I64, 0);
                Some([g, zero, zero, zero])
            }
            op::MSIZE => {
                let m = self.load_ctx(types::I64, offsets::MEMORY_LEN);
                let zero = self.b.ins().iconst(types::I64, 0);
                Some([m, zero, zero, zero])
            }
            op::CALLDATASIZE => {
                let n = self.load_ctx(types::I64, offsets::INPUT_LEN);
                let zero = self.b.ins().iconst(types::I64, 0);
                Some([n, zero, zero, zero])
            }
            op::CALLDATALOAD => Some(self.calldataload(inst, len)),
            op::KECCAK256 => Some(self.keccak(inst)),
            op::MLOAD | op::MSTORE | op::MSTORE8 => self.memory_op(inst, opcode),
            op::DIV | op::MOD | op::SDIV | op::SMOD => self.div_op(inst, opcode),
            _ => self.runtime_op(inst, opcode, len),
        }
    }

    /// MUL of two run-time words: when either fits 64 bits (a loop counter, a scale factor)
    /// four partial products instead of ten.
    pub(super) fn mul_dispatch(&mut self, x: Word, y: Word) -> Word {
        let small_y = word::fits_u64(self.b, y);
        let small_x = word::fits_u64(self.b, x);
        let any = self.b.ins().bor(small_y, small_x);
        self.either_word(
            any,
            |lw| {
                let big: Word = std::array::from_fn(|i| lw.b.ins().select(small_y, x[i], y[i]));
                let factor = lw.b.ins().select(small_y, y[0], x[0]);
                word::mul_u64(lw.b, big, factor)
            },
            false,
            |lw| word::mul(lw.b, x, y),
        )
    }

    /// `inline` (emitted in a block of its own) when `ok`, else the runtime's implementation
    /// of `opcode` on a cold path; the result word either way.
    pub(super) fn inline_or_runtime(
        &mut self,
        ok: Value,
        inst: &kiln_ir::Inst,
        opcode: u8,
        len: Value,
        inline: impl FnOnce(&mut Self) -> Word,
    ) -> Word {
        self.either_word(ok, inline, true, |lw| {
            lw.runtime_op(inst, opcode, len).expect("the opcode has a result")
        })
    }

    /// `x + c` or `x - c` for a constant `c`. In a loop, a small `c` (a counter's step) is
    /// one 64-bit operation: the carry into the high limbs happens once in 2^64/c steps, so
    /// it goes to a cold block rather than through three more limbs every time. Elsewhere
    /// the two extra blocks would cost more compile time than they save.
    pub(super) fn add_sub_const(&mut self, x: Word, c: U256, sub: bool) -> Word {
        let small = u64::try_from(c).ok().filter(|&c| c > 0 && c <= SMALL_STEP);
        let (Some(c), true, 1..) = (small, self.cur.in_loop, self.cold_carries) else {
            return word::add_sub_const(self.b, x, c.into_limbs(), sub);
        };
        self.cold_carries -= 1;
        let k = self.b.ins().iconst(types::I64, c as i64);
        let (lo, carry) = if sub {
            self.b.ins().usub_overflow(x[0], k)
        } else {
            self.b.ins().uadd_overflow(x[0], k)
        };
        let cold = self.b.create_block();
        self.b.set_cold_block(cold);
        let join = self.b.create_block();
        for _ in 1..4 {
            self.b.append_block_param(join, types::I64);
        }
        let high = [x[1], x[2], x[3]].map(BlockArg::Value);
        self.b.ins().brif(carry, cold, &[], join, &high);
        self.b.switch_to_block(cold);
        let zero = self.b.ins().iconst(types::I64, 0);
        let w = word::add_sub_const(self.b, [x[1], x[2], x[3], zero], [1, 0, 0, 0], sub);
        self.b.ins().jump(join, &[w[0], w[1], w[2]].map(BlockArg::Value));
        self.b.switch_to_block(join);
        let p = self.b.block_params(join);
        [lo, p[0], p[1], p[2]]
    }

    /// The word `then` computes when `cond`, else the one `other` computes (laid out cold when
    /// `other_cold`), each in a block of its own, joined.
    pub(super) fn either_word(
        &mut self,
        cond: Value,
        then: impl FnOnce(&mut Self) -> Word,
        other_cold: bool,
        other: impl FnOnce(&mut Self) -> Word,
    ) -> Word {
        let yes = self.b.create_block();
        let no = self.b.create_block();
        if other_cold {
            self.b.set_cold_block(no);
        }
        let join = self.b.create_block();
        for _ in 0..4 {
            self.b.append_block_param(join, types::I64);
        }
        self.b.ins().brif(cond, yes, &[], no, &[]);

        self.b.switch_to_block(yes);
        let w = then(self);
        self.b.ins().jump(join, &w.map(BlockArg::Value));

        self.b.switch_to_block(no);
        let w = other(self);
        self.b.ins().jump(join, &w.map(BlockArg::Value));

        self.b.switch_to_block(join);
        let p = self.b.block_params(join);
        [p[0], p[1], p[2], p[3]]
    }
}
