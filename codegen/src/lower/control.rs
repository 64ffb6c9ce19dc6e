//! Control flow: the entry's dispatch on `ctx.pc`, exits with a status, terminators, static
//! jumps and the dispatch of dynamic jumps through the jump tables.

use super::*;

impl super::Lower<'_, '_> {
    pub(super) fn status(&mut self, s: Status) -> Value {
        self.b.ins().iconst(types::I8, s as i64)
    }

    /// The block that returns status `s`.
    pub(super) fn exit_block(&mut self, s: Status) -> Block {
        if let Some(&b) = self.exits.get(&(s as u8)) {
            return b;
        }
        // Filled in at the end (`fill_exits`): a builder may not leave a block half built.
        // Cold: laid out after the hot code, so straight-line code stays dense in the cache.
        let block = self.b.create_block();
        self.b.set_cold_block(block);
        self.exits.insert(s as u8, block);
        block
    }

    pub(super) fn fill_exits(&mut self) {
        let mut exits: Vec<(u8, Block)> = self.exits.iter().map(|(k, v)| (*k, *v)).collect();
        exits.sort();
        for (s, block) in exits {
            self.b.switch_to_block(block);
            let v = self.b.ins().iconst(types::I8, s as i64);
            self.b.ins().return_(&[v]);
        }
    }

    pub(super) fn exit_with(&mut self, s: Status) {
        if s == Status::Stop {
            // The one clean exit that is not the runtime's: the frame loop reads the gas left.
            self.store_gas();
        }
        let target = self.exit_block(s);
        self.b.ins().jump(target, &[]);
    }

    /// Continues in a fresh block if `cond` is false; otherwise leaves with `s`.
    pub(super) fn exit_if(&mut self, cond: Value, s: Status) {
        let cont = self.b.create_block();
        let target = self.exit_block(s);
        self.b.ins().brif(cond, target, &[], cont, &[]);
        self.b.switch_to_block(cont);
    }

    pub(super) fn entry_dispatch(&mut self) {
        if self.f.resumes.is_empty() {
            let first = self.cl_block(0);
            self.b.ins().jump(first, &[]);
            return;
        }
        let pc = self.load_ctx(types::I64, offsets::PC);
        let pc = self.b.ins().ireduce(types::I32, pc);
        let invalid = self.b.create_block();
        let first = self.cl_block(0);
        let mut table = vec![self.b.func.dfg.block_call(first, &[])];
        for &r in &self.f.resumes {
            let target = self.cl_block(r);
            table.push(self.b.func.dfg.block_call(target, &[]));
        }
        let default = self.b.func.dfg.block_call(invalid, &[]);
        let jt = self.b.create_jump_table(JumpTableData::new(default, &table));
        self.b.ins().br_table(pc, jt);
        self.b.switch_to_block(invalid);
        self.exit_with(Status::Fatal);
    }

    /// Jumps to `t` from block `from`, whose exit height is `x` with watermark `synced`.
    pub(super) fn jump_to(&mut self, from: usize, t: Target, x: i32, synced: i32) {
        match t {
            Target::Block(b) => {
                self.jump_edge(x, synced, b);
            }
            Target::Invalid => self.exit_with(Status::InvalidJump),
            Target::Dynamic(v) => {
                // Return edges: a target equal to one of the pcs the jump was seen to take
                // goes to that block by a static edge, its stack in variables; any other
                // value goes through the dispatcher below.
                let returns = self.plan.returns.get(from).cloned().flatten().unwrap_or_default();
                if !returns.is_empty() {
                    let w = self.word(v);
                    let fits = word::fits_u64(self.b, w);
                    for (pc, to) in returns {
                        let is_pc = self.b.ins().icmp_imm_s(IntCC::Equal, w[0], i64::from(pc));
                        let hit = self.b.ins().band(fits, is_pc);
                        let edge = self.edge(x, synced, to);
                        let next = self.b.create_block();
                        self.b.ins().brif(hit, edge.0, &[], next, &[]);
                        self.fill_edge(edge, x, synced, to);
                        self.b.switch_to_block(next);
                    }
                }
                // The target's landing pad reads the stack from memory.
                self.flush(synced, x);
                self.store_len(x);
                self.store_gas();
                let w = self.word(v);
                let code_len = self.load_ctx(types::I64, offsets::CODE_LEN);
                let in_code = self.b.ins().icmp(IntCC::UnsignedLessThan, w[0], code_len);
                let low_ok = word::fits_u64(self.b, w);
                let ok = self.b.ins().band(in_code, low_ok);
                let dispatch =
                    self.dispatch.expect("functions with dynamic jumps have a dispatcher");
                let bad = self.status(Status::InvalidJump);
                self.b.ins().brif(
                    ok,
                    dispatch,
                    &[BlockArg::Value(w[0])],
                    self.exit,
                    &[BlockArg::Value(bad)],
                );
            }
        }
    }

    pub(super) fn terminator(&mut self, id: usize) {
        let term = self.f.blocks[id].term.clone();
        if matches!(term, Terminator::Stop | Terminator::Exit | Terminator::InvalidOpcode) {
            // The frame ends: its stack is dead.
            match term {
                Terminator::Stop => self.exit_with(Status::Stop),
                // The runtime already returned RETURN/REVERT/SELFDESTRUCT's status.
                Terminator::Exit => self.exit_with(Status::Fatal),
                _ => self.exit_with(Status::InvalidOpcode),
            }
            return;
        }
        let (x, synced) = self.exit_slots(id);
        match term {
            Terminator::Jump(t) => self.jump_to(id, t, x, synced),
            Terminator::JumpI { cond, target, fallthrough } => {
                let nz = self.nonzero(cond);
                let not_taken = self.edge(x, synced, fallthrough);
                let taken = match target {
                    Target::Block(t) => self.edge(x, synced, t),
                    _ => (self.b.create_block(), true),
                };
                self.b.ins().brif(nz, taken.0, &[], not_taken.0, &[]);
                self.fill_edge(not_taken, x, synced, fallthrough);
                match target {
                    Target::Block(t) => self.fill_edge(taken, x, synced, t),
                    _ => {
                        self.b.switch_to_block(taken.0);
                        self.jump_to(id, target, x, synced);
                    }
                }
            }
            Terminator::FallThrough(b) => {
                self.jump_edge(x, synced, b);
            }
            Terminator::Interpret { pc } => {
                // As a dynamic jump leaves for the dispatcher: the interpreter reads the
                // stack, its height and the gas from the context.
                self.flush(synced, x);
                self.store_len(x);
                self.store_gas();
                let pc = self.b.ins().iconst(types::I64, i64::from(pc));
                self.store_ctx(pc, offsets::PC);
                self.exit_with(Status::Interpret);
            }
            _ => unreachable!("frame ends and suspension are handled above"),
        }
    }

    /// pc → JUMPDEST rank (bitmap popcount) → block, through one jump table.
    pub(super) fn dynamic_dispatch(&mut self, d: Block) {
        self.b.switch_to_block(d);
        let pc = self.b.block_params(d)[0];
        if self.checked {
            // The bitmap and the ranks cover the code's bytes.
            let code_len = self.load_ctx(types::I64, offsets::CODE_LEN);
            self.assert_range(pc, 1, code_len);
        }
        let word_idx = self.b.ins().ushr_imm_s(pc, 6);
        let bits_base = self.load_ctx(types::I64, offsets::JUMP_BITS);
        let off = self.b.ins().ishl_imm_s(word_idx, 3);
        let addr = self.b.ins().iadd(bits_base, off);
        let bits = self.b.ins().load(types::I64, flags(), addr, 0);
        let bit = self.b.ins().band_imm_s(pc, 63);
        let shifted = self.b.ins().ushr(bits, bit);
        let set = self.b.ins().band_imm_s(shifted, 1);
        let not_dest = self.b.ins().icmp_imm_s(IntCC::Equal, set, 0);
        self.exit_if(not_dest, Status::InvalidJump);
        let one = self.b.ins().iconst(types::I64, 1);
        let mask = self.b.ins().ishl(one, bit);
        let mask = self.b.ins().iadd_imm_s(mask, -1);
        let below = self.b.ins().band(bits, mask);
        let count = self.b.ins().popcnt(below);
        let ranks_base = self.load_ctx(types::I64, offsets::JUMP_RANKS);
        let roff = self.b.ins().ishl_imm_s(word_idx, 2);
        let raddr = self.b.ins().iadd(ranks_base, roff);
        let rank = self.b.ins().load(types::I32, flags(), raddr, 0);
        let count = self.b.ins().ireduce(types::I32, count);
        let rank = self.b.ins().iadd(rank, count);
        let invalid = self.b.create_block();
        // JUMPDESTs of a bypassed run pay their gas in one block per run: each JUMPDEST is one
        // byte and one gas, so what a jump to `pc` owes is the distance to the block after it.
        let mut paying: HashMap<usize, Block> = HashMap::new();
        let table: Vec<_> = (0..self.f.jumpdests.len())
            .map(|r| {
                let Some(b) = self.f.jumpdests[r] else {
                    return self.b.func.dfg.block_call(invalid, &[]);
                };
                if self.f.jumpdest_gas[r] > 0 {
                    let pay = *paying.entry(b).or_insert_with(|| {
                        let pay = self.b.create_block();
                        self.b.append_block_param(pay, types::I64);
                        pay
                    });
                    return self.b.func.dfg.block_call(pay, &[BlockArg::Value(pc)]);
                }
                let target = self.landings[b].unwrap_or_else(|| self.cl_block(b));
                self.b.func.dfg.block_call(target, &[])
            })
            .collect();
        let default = self.b.func.dfg.block_call(invalid, &[]);
        let jt = self.b.create_jump_table(JumpTableData::new(default, &table));
        self.b.ins().br_table(rank, jt);
        self.b.switch_to_block(invalid);
        self.exit_with(Status::InvalidJump);
        let mut paying: Vec<(usize, Block)> = paying.into_iter().collect();
        paying.sort();
        for (b, pay) in paying {
            // Targets of dynamic jumps take the gas from memory, where the jump left it.
            self.b.switch_to_block(pay);
            let pc = self.b.block_params(pay)[0];
            let end = self.b.ins().iconst(types::I64, self.f.blocks[b].pc as i64);
            let gas = self.b.ins().isub(end, pc);
            let g = self.load_ctx(types::I64, offsets::GAS);
            let short = self.b.ins().icmp(IntCC::UnsignedLessThan, g, gas);
            self.exit_if(short, Status::OutOfGas);
            let rest = self.b.ins().isub(g, gas);
            self.store_ctx(rest, offsets::GAS);
            let target = self.landings[b].unwrap_or_else(|| self.cl_block(b));
            self.b.ins().jump(target, &[]);
        }
    }
}
