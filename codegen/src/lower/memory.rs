//! Memory and call data: inline MLOAD, MSTORE and MSTORE8 behind their (possibly grouped)
//! bounds checks, growth through the runtime, and CALLDATALOAD.

use super::*;

impl super::Lower<'_, '_> {
    /// The end of a `width`-byte access at `offset` when the offset is a constant below 2^32
    /// (a bounds check against it is then one comparison with an immediate).
    pub(super) fn const_end(&self, offset: kiln_ir::Value, width: i64) -> Option<i64> {
        let c = u32::try_from(self.const_arg(offset)?).ok()?;
        Some(i64::from(c) + width)
    }

    /// MLOAD/MSTORE/MSTORE8 inline when the access lies in memory already paid for. Growth
    /// within the buffer's zeroed part is inline too (charge the expansion, move the length);
    /// past it, at an offset of 2^32 or more, or short of gas, the `memory_expand` builtin
    /// grows memory and charges for it (or halts), with the offset in registers. The access
    /// then goes ahead inline.
    pub(super) fn memory_op(&mut self, inst: &kiln_ir::Inst, opcode: u8) -> Option<Word> {
        let off = self.word(inst.args[0]);
        let width = match self.cur.mem {
            // An earlier access of the block checked this one's bytes.
            Check::Covered => return self.memory_access(inst, opcode, off[0]),
            Check::Span(span) => span as i64,
            Check::Own => memory_checks::access_width(opcode) as i64,
        };
        let mem_len = self.load_ctx(types::I64, offsets::MEMORY_LEN);
        let access = self.b.create_block();
        let call = self.b.create_block();
        self.b.set_cold_block(call);
        let high = match self.const_end(inst.args[0], width) {
            // A constant offset (Solidity's free-memory pointer at 0x40, scratch space at 0):
            // one comparison, and growth through the runtime (rare: memory is grown past the
            // scratch space early).
            Some(end) => {
                let ok = self.b.ins().icmp_imm_s(IntCC::SignedGreaterThanOrEqual, mem_len, end);
                let high = self.b.ins().iconst(types::I64, 0);
                self.b.ins().brif(ok, access, &[], call, &[]);
                high
            }
            None => {
                // An offset of 2^32 or more is the runtime's to price; otherwise the end is
                // compared with the memory paid for.
                let (high, far, end) = word::offset_end(self.b, off, width);
                let over = self.b.ins().icmp(IntCC::UnsignedGreaterThan, end, mem_len);
                let out = self.b.ins().bor(far, over);
                let grow = self.b.create_block();
                self.b.ins().brif(out, grow, &[], access, &[]);
                self.b.switch_to_block(grow);
                self.grow_inline(end, far, mem_len, call, access);
                high
            }
        };

        // Past the zeroed part, at an offset of 2^32 or more, or short of gas: the runtime
        // grows memory (or halts).
        self.b.switch_to_block(call);
        self.store_gas();
        let w = self.b.ins().iconst(types::I64, width);
        let ctx = self.ctx();
        let status = self.call_builtin_for_status(Builtin::MemoryExpand, &[ctx, off[0], high, w]);
        self.b.ins().brif(status, self.exit, &[BlockArg::Value(status)], access, &[]);

        self.b.switch_to_block(access);
        self.memory_access(inst, opcode, off[0])
    }

    /// The access itself, at `offset` (the operand's low limb) inside memory already grown.
    pub(super) fn memory_access(
        &mut self,
        inst: &kiln_ir::Inst,
        opcode: u8,
        offset: Value,
    ) -> Option<Word> {
        if self.checked {
            let len = self.load_ctx(types::I64, offsets::MEMORY_LEN);
            let width = memory_checks::access_width(opcode) as i64;
            self.assert_range(offset, width, len);
        }
        // After growth the buffer may have moved: the pointer is read here, on every path.
        let base = self.load_ctx(types::I64, offsets::MEMORY_PTR);
        let addr = self.b.ins().iadd(base, offset);
        match opcode {
            op::MLOAD => Some([24, 16, 8, 0].map(|o| {
                let v = self.b.ins().load(types::I64, flags(), addr, o);
                self.b.ins().bswap(v)
            })),
            op::MSTORE => {
                let v = self.word(inst.args[1]);
                for (i, o) in [24, 16, 8, 0].into_iter().enumerate() {
                    let be = self.bswap(v[i]);
                    self.b.ins().store(flags(), be, addr, o);
                }
                None
            }
            _ => {
                let v = self.word(inst.args[1]);
                let byte = self.b.ins().ireduce(types::I8, v[0]);
                self.b.ins().store(flags(), byte, addr, 0);
                None
            }
        }
    }

    /// KECCAK256 through the `keccak256` builtin: offset, length and hash pass in the scratch
    /// slot and the gas through the context, so the stack stays where it is (in registers)
    /// and the call skips `exec_op`'s dispatch; a halt (out of gas) leaves through the exit.
    pub(super) fn keccak(&mut self, inst: &kiln_ir::Inst) -> Word {
        let (off, len) = (self.word(inst.args[0]), self.word(inst.args[1]));
        let addr = self.scratch_words(off, len);
        self.store_gas();
        let ctx = self.ctx();
        let status = self.call_builtin_for_status(Builtin::Keccak256, &[ctx, addr]);
        self.continue_unless_halted(status);
        self.load_word_at(addr, 0)
    }

    /// CALLDATALOAD inline when the 32 bytes lie inside the call data; the runtime's (which
    /// pads with zeros) for a word that reaches past its end or an offset of 2^32 or more.
    pub(super) fn calldataload(&mut self, inst: &kiln_ir::Inst, len: Value) -> Word {
        let off = self.word(inst.args[0]);
        let size = self.load_ctx(types::I64, offsets::INPUT_LEN);
        let ok = match self.const_end(inst.args[0], 32) {
            Some(end) => self.b.ins().icmp_imm_s(IntCC::SignedGreaterThanOrEqual, size, end),
            None => {
                let (_, far, end) = word::offset_end(self.b, off, 32);
                let near = self.b.ins().bxor_imm_s(far, 1);
                let inside = self.b.ins().icmp(IntCC::UnsignedLessThanOrEqual, end, size);
                self.b.ins().band(near, inside)
            }
        };
        self.inline_or_runtime(ok, inst, op::CALLDATALOAD, len, |lw| {
            if lw.checked {
                let size = lw.load_ctx(types::I64, offsets::INPUT_LEN);
                lw.assert_range(off[0], 32, size);
            }
            let base = lw.load_ctx(types::I64, offsets::INPUT_PTR);
            let addr = lw.b.ins().iadd(base, off[0]);
            [24, 16, 8, 0].map(|o| {
                let v = lw.b.ins().load(types::I64, flags(), addr, o);
                lw.b.ins().bswap(v)
            })
        })
    }

    /// Growth to `end` within the buffer's zeroed part (the runtime keeps it zero past the
    /// length, up to `limit`): charge the expansion and move the length, branch-free, then
    /// `access`; past the zeroed part, at a `far` offset or short of gas, `call` the runtime
    /// with length and gas as they were. Not laid out cold: where memory grows on every access
    /// (a buffer filled in order) a jump to the far end of the function and back per access
    /// would cost more than the growth.
    pub(super) fn grow_inline(
        &mut self,
        end: Value,
        far: Value,
        mem_len: Value,
        call: Block,
        access: Block,
    ) {
        let limit = self.load_ctx(types::I64, offsets::MEMORY_LIMIT);
        let beyond = self.b.ins().icmp(IntCC::UnsignedGreaterThan, end, limit);
        let rounded = self.b.ins().iadd_imm_s(end, 31);
        let new_words = self.b.ins().ushr_imm_s(rounded, 5);
        let old_words = self.b.ins().ushr_imm_s(mem_len, 5);
        let cost_new = word::memory_cost(self.b, new_words);
        let cost_old = word::memory_cost(self.b, old_words);
        let cost = self.b.ins().isub(cost_new, cost_old);
        let g = self.b.use_var(self.gas);
        let short = self.b.ins().icmp(IntCC::UnsignedLessThan, g, cost);
        let to_runtime = self.b.ins().bor(far, beyond);
        let to_runtime = self.b.ins().bor(to_runtime, short);
        let paid = self.b.ins().isub(g, cost);
        let g = self.b.ins().select(to_runtime, g, paid);
        self.b.def_var(self.gas, g);
        let grown = self.b.ins().ishl_imm_s(new_words, 5);
        let len = self.b.ins().select(to_runtime, mem_len, grown);
        self.store_ctx(len, offsets::MEMORY_LEN);
        self.b.ins().brif(to_runtime, call, &[], access, &[]);
    }
}
