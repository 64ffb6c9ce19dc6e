//! Stack edges: what a block's exit writes to memory or hands to its successor in variables,
//! and the landing pads that derive a region's base when a dynamic jump enters it.

use super::*;

impl super::Lower<'_, '_> {
    /// Defines the variables of the block's exit slots and returns the exit height and the
    /// `synced` watermark after the block.
    pub(super) fn exit_slots(&mut self, id: usize) -> (i32, i32) {
        let block = &self.f.blocks[id];
        let p = self.plan.blocks[id];
        let low = p.entry - block.stack_in as i32;
        for (i, v) in block.exit.iter().enumerate() {
            let w = self.word(*v);
            self.def_slot(low + i as i32, w);
        }
        let x = p.exit_height(self.f, id);
        let synced = stack_plan::exit_synced(self.f, id, p.entry, p.synced).min(x);
        debug_assert!(self.cur.synced >= synced, "runtime writes are counted by the plan");
        // The exit slots are in variables now, whatever they were at entry.
        self.cur.vars_from = self.cur.vars_from.min(low);
        (x, synced)
    }

    /// Writes slots `[from, to)` (relative to the base) from their variables to memory.
    ///
    /// In a region with landing pads, slots below the block's own inputs may not exist: a
    /// pad derives the base from the height a dynamic jump left, and a block that needs no
    /// inputs can be entered at height 0 while the region's static paths kept values below it
    /// (loaded by the pad from the clamped bottom slot). Such a slot is written with its index
    /// clamped at the bottom too: where it does not exist, the write lands on slot 0, which
    /// the ascending order then overwrites with its own value if slot 0 is part of the flush,
    /// and which is above the height (dead) if not. Unclamped, it wrote below the buffer.
    pub(super) fn flush(&mut self, from: i32, to: i32) {
        if from >= to {
            return;
        }
        // The stack pointer and the base, for clamped writes: read once per flush.
        let mut bottom: Option<(Value, Value)> = None;
        for o in from..to {
            let w = self.use_slot(o);
            if o < self.cur.clamp_below && !knobs().unclamped_flush {
                let (stack, base) = match bottom {
                    Some(sb) => sb,
                    None => {
                        let sb = (self.load_ctx(types::I64, offsets::STACK_PTR), self.base());
                        bottom = Some(sb);
                        sb
                    }
                };
                let addr = self.slot_addr_clamped(stack, base, o);
                self.store_word_at(addr, 0, w);
            } else {
                let (frame, at) = self.slot(o);
                self.store_word_at(frame, at, w);
            }
        }
    }

    /// The Cranelift block an edge (exit height `x`, watermark `synced`) to `to` branches to:
    /// the block itself, or a new edge block that first writes what `to` expects in memory,
    /// which [`Self::fill_edge`] fills once the caller has emitted its branch (a builder must
    /// not leave a block half built).
    pub(super) fn edge(&mut self, x: i32, synced: i32, to: usize) -> (Block, bool) {
        if self.edge_writes(x, synced, to) {
            (self.b.create_block(), true)
        } else {
            (self.cl_block(to), false)
        }
    }

    pub(super) fn fill_edge(
        &mut self,
        (edge, writes): (Block, bool),
        x: i32,
        synced: i32,
        to: usize,
    ) {
        if !writes {
            return;
        }
        self.b.switch_to_block(edge);
        self.edge_writes_out(x, synced, to);
        let target = self.cl_block(to);
        self.b.ins().jump(target, &[]);
    }

    /// What an edge (exit height `x`, watermark `synced`) into `to` writes: the slots `to`
    /// expects in memory, and for a head its base (the exit height) and the gas: in memory for
    /// a head that reads them from there; in their variables for a static head, with its
    /// inputs, which move from this block's slot variables to the head's.
    pub(super) fn edge_writes_out(&mut self, x: i32, synced: i32, to: usize) {
        let q = self.plan.blocks[to];
        if !q.static_head {
            self.flush(synced, self.flushed_to(x, to));
            if q.head {
                self.store_len(x);
                self.store_gas();
            }
            return;
        }
        let low = x + q.vars_from;
        self.flush(synced, low);
        let inputs: Vec<Word> = (low..x).map(|o| self.exit_slot(o)).collect();
        let base = self.base();
        let base = self.add_imm(base, x as i64);
        self.b.def_var(self.base, base);
        for (i, w) in inputs.into_iter().enumerate() {
            self.def_slot(q.vars_from + i as i32, w);
        }
    }

    /// Slot `o` of the current block's exit: its variable, or memory below the variables.
    pub(super) fn exit_slot(&mut self, o: i32) -> Word {
        if o >= self.cur.vars_from {
            return self.use_slot(o);
        }
        let base = self.base();
        let stack = self.load_ctx(types::I64, offsets::STACK_PTR);
        self.load_slot_clamped(stack, base, o)
    }

    pub(super) fn edge_writes(&self, x: i32, synced: i32, to: usize) -> bool {
        let q = self.plan.blocks[to];
        q.head || q.flush_entry && synced < self.flushed_to(x, to)
    }

    /// The height below which an edge (exit height `x`) into `to`, if it is a head or enters
    /// flushing, writes every slot to memory: all of them for a head; up to where `to`
    /// expects memory to hold them for a flush-entry block (its entry under
    /// [`stack_plan::Carry::Regions`], below its inputs under `Inputs`).
    fn flushed_to(&self, x: i32, to: usize) -> i32 {
        let q = self.plan.blocks[to];
        if q.head {
            x
        } else {
            q.synced.min(x)
        }
    }

    /// An unconditional jump to `to`: what the edge writes goes in the current block.
    pub(super) fn jump_edge(&mut self, x: i32, synced: i32, to: usize) {
        let prepaid = std::mem::take(&mut self.cur.prepaid);
        if prepaid > 0 {
            if let Some(entry) = self.prepaid_entries[to] {
                if self.edge_writes(x, synced, to) {
                    self.flush(synced, self.flushed_to(x, to));
                }
                self.b.ins().jump(entry, &[]);
                return;
            }
            // A head reads the gas from memory and charges its entry itself: give the
            // prepaid gas back (the check it passed covered it).
            let g = self.b.use_var(self.gas);
            let g = self.b.ins().iadd_imm_s(g, prepaid as i64);
            self.b.def_var(self.gas, g);
        }
        if self.edge_writes(x, synced, to) {
            self.edge_writes_out(x, synced, to);
        }
        let target = self.cl_block(to);
        self.b.ins().jump(target, &[]);
    }

    /// Entry for dynamic jumps to a block of a region, or to a static head: derives the base
    /// from the height and loads the slots the block takes in variables (a static head's
    /// inputs).
    pub(super) fn landing(&mut self, id: usize) {
        let pad = self.landings[id].expect("landing block");
        let p = self.plan.blocks[id];
        self.b.switch_to_block(pad);
        self.cur.pad = Some(id);
        let len = self.load_ctx(types::I64, offsets::STACK_LEN);
        let base = self.add_imm(len, -(p.entry as i64));
        self.b.def_var(self.base, base);
        let g = self.load_ctx(types::I64, offsets::GAS);
        self.b.def_var(self.gas, g);
        let stack = self.load_ctx(types::I64, offsets::STACK_PTR);
        for o in p.vars_from.max(p.entry - STACK_LIMIT as i32)..p.entry {
            let w = self.load_slot_clamped(stack, base, o);
            self.def_slot(o, w);
        }
        self.cur.pad = None;
        let target = self.cl_block(id);
        self.b.ins().jump(target, &[]);
    }
}
