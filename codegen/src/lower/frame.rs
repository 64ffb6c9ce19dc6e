//! The frame: the context's fields, stack slots in memory and in variables, and the run-time
//! bounds assertions of checked mode.

use super::*;

impl super::Lower<'_, '_> {
    pub(super) fn load_ctx(&mut self, ty: types::Type, offset: i32) -> Value {
        let ctx = self.ctx();
        self.b.ins().load(ty, flags(), ctx, offset)
    }

    pub(super) fn store_ctx(&mut self, v: Value, offset: i32) {
        let ctx = self.ctx();
        self.b.ins().store(flags(), v, ctx, offset);
    }

    pub(super) fn word(&self, v: kiln_ir::Value) -> Word {
        self.values[v.0 as usize].expect("IR verified: defined before use")
    }

    /// Address of stack slot `index` (from the bottom).
    pub(super) fn slot_addr(&mut self, stack: Value, index: Value) -> Value {
        if self.checked {
            self.assert_slot_index(index);
        }
        let off = self.b.ins().ishl_imm_u(index, 5);
        self.b.ins().iadd(stack, off)
    }

    pub(super) fn load_word(&mut self, addr: Value) -> Word {
        self.load_word_at(addr, 0)
    }

    pub(super) fn load_word_at(&mut self, addr: Value, at: i32) -> Word {
        [0, 8, 16, 24].map(|o| self.b.ins().load(types::I64, flags(), addr, at + o))
    }

    pub(super) fn store_word_at(&mut self, addr: Value, at: i32, w: Word) {
        for (i, o) in [0, 8, 16, 24].into_iter().enumerate() {
            self.b.ins().store(flags(), w[i], addr, at + o);
        }
    }

    /// Stores a word the runtime reads next, in 16-byte halves. Rust code copies a `U256`
    /// with 16-byte loads, and a load that spans two smaller stores misses store forwarding
    /// (measured on snailtracer: the largest cost of a storage read from compiled code).
    pub(super) fn store_word_for_runtime(&mut self, addr: Value, at: i32, w: Word) {
        for half in 0..2 {
            let v = self.b.ins().scalar_to_vector(types::I64X2, w[2 * half]);
            let v = self.b.ins().insertlane(v, w[2 * half + 1], 1);
            self.b.ins().store(flags(), v, addr, at + 16 * half as i32);
        }
    }

    /// The current block's frame pointer and the byte offset from it of slot `o` (relative
    /// to the region base): one address per block, so slot accesses are plain displacements.
    pub(super) fn slot(&mut self, o: i32) -> (Value, i32) {
        let site = Site::Block(self.cur.block);
        self.proof.accesses.push(Access { site, slot: o, clamped: false, height: false });
        if self.checked {
            let base = self.base();
            let idx = self.add_imm(base, o as i64);
            self.assert_slot_index(idx);
        }
        (self.frame(), o * WORD_BYTES)
    }

    /// Records that the height `x` (relative to the base) is stored in `ctx.stack_len`, which
    /// heads and pads trust to lie in `[0, STACK_LIMIT]`.
    pub(super) fn record_height(&mut self, x: i32) {
        let site = Site::Block(self.cur.block);
        self.proof.accesses.push(Access { site, slot: x, clamped: false, height: true });
    }

    /// Checked mode: halts with [`Status::BoundsFault`] unless `0 <= idx < STACK_LIMIT`.
    pub(super) fn assert_slot_index(&mut self, idx: Value) {
        let out =
            self.b.ins().icmp_imm_u(IntCC::UnsignedGreaterThanOrEqual, idx, STACK_LIMIT as i64);
        self.exit_if(out, Status::BoundsFault);
    }

    /// Checked mode: halts with [`Status::BoundsFault`] unless `[offset, offset + width)` lies
    /// inside `[0, len)`.
    pub(super) fn assert_range(&mut self, offset: Value, width: i64, len: Value) {
        let end = self.b.ins().iadd_imm_s(offset, width);
        let wraps = self.b.ins().icmp(IntCC::UnsignedLessThan, end, offset);
        let past = self.b.ins().icmp(IntCC::UnsignedGreaterThan, end, len);
        let out = self.b.ins().bor(wraps, past);
        self.exit_if(out, Status::BoundsFault);
    }

    /// `x + imm`; `x` itself for zero when folding ([`Lower::fold`]): heights over a
    /// region's base are often 0, and the mid-end that would fold it is off.
    pub(super) fn add_imm(&mut self, x: Value, imm: i64) -> Value {
        if imm == 0 && self.fold {
            x
        } else {
            self.b.ins().iadd_imm_s(x, imm)
        }
    }

    /// A limb byte-swapped (memory holds words big-endian); a constant one swapped at compile
    /// time when folding ([`Lower::fold`]), defined anew where it is used.
    pub(super) fn bswap(&mut self, v: Value) -> Value {
        match word::const_value(&self.b.func.dfg, v).filter(|_| self.fold) {
            Some(c) => self.b.ins().iconst(types::I64, c.swap_bytes()),
            None => self.b.ins().bswap(v),
        }
    }

    /// The context pointer. Inside a block it is loaded once, where it dominates the rest of
    /// the block ([`Self::at_top`]), on first use: kept in one value for the whole function,
    /// it would be live through every loop, taking a register where most loops never use it
    /// (a 256-bit loop needs four per word), and in large functions the register allocator
    /// spilled it anyway and reloaded it several times a block.
    pub(super) fn ctx(&mut self) -> Value {
        if let Some(c) = self.cur.ctx {
            return c;
        }
        let params = self.params;
        if self.cur.top.is_none() {
            return self.b.ins().stack_load(types::I64, types::I64, params, 0);
        }
        let c = self.at_top(|pos| pos.ins().stack_load(types::I64, types::I64, params, 0));
        self.cur.ctx = Some(c);
        c
    }

    /// The host pointer, for runtime calls.
    pub(super) fn host(&mut self) -> Value {
        self.b.ins().stack_load(types::I64, types::I64, self.params, 8)
    }

    /// Emits `build` where it dominates the rest of the current block: at the end of its
    /// first Cranelift block (before the terminator, if that block is already complete).
    pub(super) fn at_top(&mut self, build: impl FnOnce(&mut FuncCursor) -> Value) -> Value {
        let (top, _) = self.cur.top.expect("inside a block");
        let mut pos = FuncCursor::new(self.b.func);
        match pos.layout().last_inst(top) {
            Some(i) if pos.func.dfg.insts[i].opcode().is_terminator() => pos.goto_inst(i),
            _ => pos.goto_bottom(top),
        }
        build(&mut pos)
    }

    /// The current block's frame pointer, `ctx.stack.ptr + base * 32`, defined on first use
    /// like the context pointer (see [`Self::ctx`]).
    pub(super) fn frame(&mut self) -> Value {
        if let Some(f) = self.cur.frame {
            return f;
        }
        let ctx = self.ctx();
        let (_, base) = self.cur.top.expect("slots are accessed inside a block");
        let base_zero = self.cur.base_zero;
        let f = self.at_top(|pos| {
            let stack = pos.ins().load(types::I64, flags(), ctx, offsets::STACK_PTR);
            if base_zero {
                stack
            } else {
                let off = pos.ins().ishl_imm_u(base, 5);
                pos.ins().iadd(stack, off)
            }
        });
        self.cur.frame = Some(f);
        f
    }

    pub(super) fn slot_vars(&mut self, o: i32) -> [Variable; 4] {
        if let Some(v) = self.slots.get(&o) {
            return *v;
        }
        let vars = [(); 4].map(|_| self.b.declare_var(types::I64));
        self.slots.insert(o, vars);
        vars
    }

    pub(super) fn use_slot(&mut self, o: i32) -> Word {
        self.slot_vars(o).map(|v| self.b.use_var(v))
    }

    pub(super) fn def_slot(&mut self, o: i32, w: Word) {
        let vars = self.slot_vars(o);
        for (v, x) in vars.into_iter().zip(w) {
            self.b.def_var(v, x);
        }
    }

    /// The current region's base. In a region whose base is zero it is a constant rather than
    /// the variable: a variable would be carried through every loop of the region as a block
    /// parameter, taking a register for a value that never changes.
    pub(super) fn base(&mut self) -> Value {
        if self.cur.base_zero {
            self.b.ins().iconst(types::I64, 0)
        } else {
            self.b.use_var(self.base)
        }
    }

    pub(super) fn store_gas(&mut self) {
        let g = self.b.use_var(self.gas);
        self.store_ctx(g, offsets::GAS);
    }

    /// Stores the absolute height `x` (relative to the base) in `ctx.stack_len`.
    pub(super) fn store_len(&mut self, x: i32) {
        self.record_height(x);
        let base = self.base();
        let len = self.add_imm(base, x as i64);
        self.store_ctx(len, offsets::STACK_LEN);
    }

    /// Slot `o` above `base`, loaded from `stack` memory ahead of the underflow check that
    /// guards the block reading it: a slot below the real stack is never used (the check
    /// stops first), and clamping its index at the stack's bottom keeps the load inside the
    /// buffer.
    pub(super) fn load_slot_clamped(&mut self, stack: Value, base: Value, o: i32) -> Word {
        let addr = self.slot_addr_clamped(stack, base, o);
        self.load_word(addr)
    }

    /// The address of slot `o` above `base`, its index clamped at the stack's bottom.
    pub(super) fn slot_addr_clamped(&mut self, stack: Value, base: Value, o: i32) -> Value {
        let site = self.cur.pad.map_or(Site::Block(self.cur.block), Site::Pad);
        self.proof.accesses.push(Access { site, slot: o, clamped: true, height: false });
        let idx = self.add_imm(base, o as i64);
        let zero = self.b.ins().iconst(types::I64, 0);
        let idx = self.b.ins().smax(idx, zero);
        self.slot_addr(stack, idx)
    }
}
