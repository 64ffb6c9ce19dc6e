//! IR → Cranelift IR.
//!
//! One Cranelift function per contract: `fn(ctx, host) -> status`. The entry block dispatches on
//! `ctx.pc` (0 = start, n = resume point n-1). Within a block, EVM values are SSA values of
//! four limbs; at block boundaries the stack lives in `ctx.stack`. Anything not inlined is a
//! call through the builtin table's `exec_op`, with its operands written to the stack first.

use crate::word::{self, Word};
use cranelift_codegen::ir::{
    condcodes::IntCC, types, AbiParam, Block, BlockArg, InstBuilder, JumpTableData, MemFlagsData,
    SigRef, Signature, Value,
};
use cranelift_codegen::isa::CallConv;
use cranelift_frontend::{FunctionBuilder, FunctionBuilderContext};
use kiln_frontend::opcode as op;
use kiln_ir::{Function, InstKind, Target, Terminator};
use kiln_runtime::context::{offsets, Status};
use kiln_runtime::gas::STACK_LIMIT;
use ruint::aliases::U256;
use std::collections::HashMap;

/// The signature of every compiled contract: `(ctx, host) -> status`.
pub fn native_signature(call_conv: CallConv) -> Signature {
    let mut sig = Signature::new(call_conv);
    sig.params.push(AbiParam::new(types::I64));
    sig.params.push(AbiParam::new(types::I64));
    sig.returns.push(AbiParam::new(types::I8));
    sig
}

fn exec_op_signature(call_conv: CallConv) -> Signature {
    let mut sig = Signature::new(call_conv);
    sig.params.push(AbiParam::new(types::I64));
    sig.params.push(AbiParam::new(types::I64));
    sig.params.push(AbiParam::new(types::I32));
    sig.returns.push(AbiParam::new(types::I8));
    sig
}

fn flags() -> MemFlagsData {
    MemFlagsData::trusted()
}

struct Lower<'a, 'b> {
    b: &'a mut FunctionBuilder<'b>,
    f: &'a Function,
    ctx: Value,
    host: Value,
    exec_sig: SigRef,
    blocks: Vec<Block>,
    /// Returns its i8 parameter (a status computed at run time).
    exit: Block,
    /// One parameterless block per constant status, so the many exits of a large function
    /// do not all merge into one block with an argument (costly for register allocation).
    exits: HashMap<u8, Block>,
    /// Dynamic jump dispatch; takes the target pc (already range-checked) as an i64.
    dispatch: Option<Block>,
    values: Vec<Option<Word>>,
    consts: HashMap<u32, U256>,
}

/// Lowers `f` into the builder's function, which must have [`native_signature`].
pub fn lower(
    f: &Function,
    func: &mut cranelift_codegen::ir::Function,
    fctx: &mut FunctionBuilderContext,
    config: cranelift_codegen::isa::TargetFrontendConfig,
) {
    let call_conv = func.signature.call_conv;
    let mut b = FunctionBuilder::new(func, fctx);
    let entry = b.create_block();
    b.append_block_params_for_function_params(entry);
    let exit = b.create_block();
    b.append_block_param(exit, types::I8);
    let exec_sig = b.import_signature(exec_op_signature(call_conv));
    let blocks: Vec<Block> = f.blocks.iter().map(|_| b.create_block()).collect();
    let dispatch = if f.has_dynamic_jumps() {
        let d = b.create_block();
        b.append_block_param(d, types::I64);
        Some(d)
    } else {
        None
    };

    b.switch_to_block(entry);
    if f.blocks.is_empty() {
        // Empty code: STOP.
        let stop = b.ins().iconst(types::I8, Status::Stop as i64);
        b.ins().return_(&[stop]);
        b.switch_to_block(exit);
        let status = b.block_params(exit)[0];
        b.ins().return_(&[status]);
        b.seal_all_blocks();
        b.finalize(config);
        return;
    }
    let ctx = b.block_params(entry)[0];
    let host = b.block_params(entry)[1];
    let mut lw = Lower {
        b: &mut b,
        f,
        ctx,
        host,
        exec_sig,
        blocks,
        exit,
        exits: HashMap::new(),
        dispatch,
        values: vec![None; f.num_values as usize],
        consts: HashMap::new(),
    };
    lw.entry_dispatch();
    for i in 0..f.blocks.len() {
        lw.block(i);
    }
    if let Some(d) = lw.dispatch {
        lw.dynamic_dispatch(d);
    }
    lw.fill_exits();
    lw.b.switch_to_block(exit);
    let status = lw.b.block_params(exit)[0];
    lw.b.ins().return_(&[status]);
    b.seal_all_blocks();
    b.finalize(config);
}

impl Lower<'_, '_> {
    fn status(&mut self, s: Status) -> Value {
        self.b.ins().iconst(types::I8, s as i64)
    }

    /// The block that returns status `s`.
    fn exit_block(&mut self, s: Status) -> Block {
        if let Some(&b) = self.exits.get(&(s as u8)) {
            return b;
        }
        // Filled in at the end (`fill_exits`): a builder may not leave a block half built.
        let block = self.b.create_block();
        self.exits.insert(s as u8, block);
        block
    }

    fn fill_exits(&mut self) {
        let mut exits: Vec<(u8, Block)> = self.exits.iter().map(|(k, v)| (*k, *v)).collect();
        exits.sort();
        for (s, block) in exits {
            self.b.switch_to_block(block);
            let v = self.b.ins().iconst(types::I8, s as i64);
            self.b.ins().return_(&[v]);
        }
    }

    fn exit_with(&mut self, s: Status) {
        let target = self.exit_block(s);
        self.b.ins().jump(target, &[]);
    }

    /// Continues in a fresh block if `cond` is false; otherwise leaves with `s`.
    fn exit_if(&mut self, cond: Value, s: Status) {
        let cont = self.b.create_block();
        let target = self.exit_block(s);
        self.b.ins().brif(cond, target, &[], cont, &[]);
        self.b.switch_to_block(cont);
    }

    fn load_ctx(&mut self, ty: types::Type, offset: i32) -> Value {
        self.b.ins().load(ty, flags(), self.ctx, offset)
    }

    fn store_ctx(&mut self, v: Value, offset: i32) {
        self.b.ins().store(flags(), v, self.ctx, offset);
    }

    fn entry_dispatch(&mut self) {
        if self.f.resumes.is_empty() {
            self.b.ins().jump(self.blocks[0], &[]);
            return;
        }
        let pc = self.load_ctx(types::I64, offsets::PC);
        let pc = self.b.ins().ireduce(types::I32, pc);
        let invalid = self.b.create_block();
        let mut table = vec![self.b.func.dfg.block_call(self.blocks[0], &[])];
        for &r in &self.f.resumes {
            table.push(self.b.func.dfg.block_call(self.blocks[r], &[]));
        }
        let default = self.b.func.dfg.block_call(invalid, &[]);
        let jt = self.b.create_jump_table(JumpTableData::new(default, &table));
        self.b.ins().br_table(pc, jt);
        self.b.switch_to_block(invalid);
        self.exit_with(Status::Fatal);
    }

    fn word(&self, v: kiln_ir::Value) -> Word {
        self.values[v.0 as usize].expect("IR verified: defined before use")
    }

    /// Address of stack slot `index` (from the bottom).
    fn slot_addr(&mut self, stack: Value, index: Value) -> Value {
        let off = self.b.ins().imul_imm_s(index, 32);
        self.b.ins().iadd(stack, off)
    }

    fn load_word(&mut self, addr: Value) -> Word {
        [0, 8, 16, 24].map(|o| self.b.ins().load(types::I64, flags(), addr, o))
    }

    fn store_word(&mut self, addr: Value, w: Word) {
        for (i, o) in [0, 8, 16, 24].into_iter().enumerate() {
            self.b.ins().store(flags(), w[i], addr, o);
        }
    }

    fn block(&mut self, id: usize) {
        let block = &self.f.blocks[id];
        let cl = self.blocks[id];
        self.b.switch_to_block(cl);
        let len = self.load_ctx(types::I64, offsets::STACK_LEN);
        if block.stack_in > 0 {
            let under =
                self.b.ins().icmp_imm_s(IntCC::UnsignedLessThan, len, block.stack_in as i64);
            self.exit_if(under, Status::StackUnderflow);
        }
        if block.stack_growth as usize > STACK_LIMIT {
            // The block overflows whatever the entry height: no path through it completes.
            self.exit_with(Status::StackOverflow);
            return;
        }
        if block.stack_growth > 0 {
            let limit = (STACK_LIMIT - block.stack_growth as usize) as i64;
            let over = self.b.ins().icmp_imm_s(IntCC::UnsignedGreaterThan, len, limit);
            self.exit_if(over, Status::StackOverflow);
        }
        let stack = self.load_ctx(types::I64, offsets::STACK_PTR);
        let mut sections = block.sections.iter().peekable();
        let n = block.insts.len();
        let suspend = matches!(block.term, Terminator::Suspend { .. });
        for (i, inst) in block.insts.iter().enumerate() {
            while let Some(s) = sections.next_if(|s| s.at == i) {
                self.charge(s.gas);
            }
            if suspend && i == n - 1 {
                // Suspending call: flush the stack below the operands, then hand over.
                self.flush_exit(id, len, stack);
                let resume = match block.term {
                    Terminator::Suspend { resume } => resume,
                    _ => unreachable!(),
                };
                let idx = self.f.blocks[resume].resume_index.expect("verified") as i64 + 1;
                let idx = self.b.ins().iconst(types::I64, idx);
                self.store_ctx(idx, offsets::PC);
                let InstKind::Op(opcode) = inst.kind else { unreachable!("calls are ops") };
                let status = self.runtime_call(opcode, &inst.args, inst.sp, len, stack);
                self.b.ins().jump(self.exit, &[BlockArg::Value(status)]);
                return;
            }
            self.inst(inst, len, stack);
        }
        for s in sections {
            self.charge(s.gas);
        }
        self.flush_exit(id, len, stack);
        self.terminator(id);
    }

    fn charge(&mut self, gas: u64) {
        let g = self.load_ctx(types::I64, offsets::GAS);
        let short = self.b.ins().icmp_imm_s(IntCC::UnsignedLessThan, g, gas as i64);
        self.exit_if(short, Status::OutOfGas);
        let rest = self.b.ins().iadd_imm_s(g, -(gas as i64));
        self.store_ctx(rest, offsets::GAS);
    }

    /// Writes the block's exit stack to memory and stores the new length. Slots that still
    /// hold the entry value they were read from, below anything a runtime call wrote, are
    /// left alone: memory already has them.
    fn flush_exit(&mut self, id: usize, len: Value, stack: Value) {
        let block = &self.f.blocks[id];
        // Lowest slot (relative to the entry height) a runtime call may have written.
        let lowest_write = block
            .insts
            .iter()
            .filter(|i| matches!(i.kind, InstKind::Op(_)))
            .map(|i| i.sp - i.args.len() as i32)
            .min()
            .unwrap_or(i32::MAX);
        let input_depth: HashMap<u32, u16> = block
            .insts
            .iter()
            .filter_map(|i| match (i.kind.clone(), i.result) {
                (InstKind::Input(d), Some(r)) => Some((r.0, d)),
                _ => None,
            })
            .collect();
        let base = self.b.ins().iadd_imm_s(len, -(block.stack_in as i64));
        for (i, v) in block.exit.iter().enumerate() {
            let rel = i as i32 - block.stack_in as i32;
            let in_place = input_depth.get(&v.0).is_some_and(|&d| rel == -(d as i32) - 1);
            if in_place && rel < lowest_write {
                continue;
            }
            let w = self.word(*v);
            let idx = self.b.ins().iadd_imm_s(base, i as i64);
            let addr = self.slot_addr(stack, idx);
            self.store_word(addr, w);
        }
        let new_len = self.b.ins().iadd_imm_s(base, block.exit.len() as i64);
        self.store_ctx(new_len, offsets::STACK_LEN);
    }

    /// Calls the runtime for `opcode` with `args` (top first) at relative height `sp`.
    /// Returns the status; the result, if any, is left on top of the memory stack.
    fn runtime_call(
        &mut self,
        opcode: u8,
        args: &[kiln_ir::Value],
        sp: i32,
        len: Value,
        stack: Value,
    ) -> Value {
        let top = self.b.ins().iadd_imm_s(len, sp as i64);
        for (i, a) in args.iter().enumerate() {
            let w = self.word(*a);
            let idx = self.b.ins().iadd_imm_s(top, -(i as i64) - 1);
            let addr = self.slot_addr(stack, idx);
            self.store_word(addr, w);
        }
        self.store_ctx(top, offsets::STACK_LEN);
        let table = self.load_ctx(types::I64, offsets::BUILTINS);
        let callee = self.b.ins().load(types::I64, flags(), table, offsets::EXEC_OP);
        let opv = self.b.ins().iconst(types::I32, opcode as i64);
        let call = self.b.ins().call_indirect(self.exec_sig, callee, &[self.ctx, self.host, opv]);
        self.b.inst_results(call)[0]
    }

    /// A runtime call that continues on success, with its result read back.
    fn runtime_op(
        &mut self,
        inst: &kiln_ir::Inst,
        opcode: u8,
        len: Value,
        stack: Value,
    ) -> Option<Word> {
        let status = self.runtime_call(opcode, &inst.args, inst.sp, len, stack);
        let cont = self.b.create_block();
        self.b.ins().brif(status, self.exit, &[BlockArg::Value(status)], cont, &[]);
        self.b.switch_to_block(cont);
        inst.result.map(|_| {
            let idx = self.b.ins().iadd_imm_s(len, (inst.sp - inst.args.len() as i32) as i64);
            let addr = self.slot_addr(stack, idx);
            self.load_word(addr)
        })
    }

    fn const_arg(&self, v: kiln_ir::Value) -> Option<U256> {
        self.consts.get(&v.0).copied()
    }

    fn inst(&mut self, inst: &kiln_ir::Inst, len: Value, stack: Value) {
        let result: Option<Word> = match inst.kind {
            InstKind::Const(c) => {
                if let Some(r) = inst.result {
                    self.consts.insert(r.0, c);
                }
                Some(word::constant(self.b, c.into_limbs()))
            }
            InstKind::Input(d) => {
                let idx = self.b.ins().iadd_imm_s(len, -(d as i64) - 1);
                let addr = self.slot_addr(stack, idx);
                Some(self.load_word(addr))
            }
            InstKind::Op(opcode) => self.op(inst, opcode, len, stack),
        };
        if let (Some(r), Some(w)) = (inst.result, result) {
            self.values[r.0 as usize] = Some(w);
        }
    }

    fn op(&mut self, inst: &kiln_ir::Inst, opcode: u8, len: Value, stack: Value) -> Option<Word> {
        let a = |s: &Self, i: usize| s.word(inst.args[i]);
        match opcode {
            op::ADD => {
                let (x, y) = (a(self, 0), a(self, 1));
                Some(word::add(self.b, x, y))
            }
            op::SUB => {
                let (x, y) = (a(self, 0), a(self, 1));
                Some(word::sub(self.b, x, y))
            }
            op::MUL => {
                let (x, y) = (a(self, 0), a(self, 1));
                Some(word::mul(self.b, x, y))
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
                let x = a(self, 0);
                let f = word::is_zero(self.b, x);
                Some(word::from_flag(self.b, f))
            }
            op::EQ => {
                let (x, y) = (a(self, 0), a(self, 1));
                let f = word::eq(self.b, x, y);
                Some(word::from_flag(self.b, f))
            }
            op::LT | op::GT | op::SLT | op::SGT => {
                let (mut x, mut y) = (a(self, 0), a(self, 1));
                if matches!(opcode, op::GT | op::SGT) {
                    std::mem::swap(&mut x, &mut y);
                }
                let f = if matches!(opcode, op::LT | op::GT) {
                    word::ult(self.b, x, y)
                } else {
                    word::slt(self.b, x, y)
                };
                Some(word::from_flag(self.b, f))
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
            op::BYTE if self.const_arg(inst.args[0]).is_some() => {
                let i = self.const_arg(inst.args[0]).expect("checked");
                if i >= U256::from(32) {
                    return Some(word::constant(self.b, [0; 4]));
                }
                let x = a(self, 1);
                Some(word::byte_const(self.b, x, i.to::<u32>()))
            }
            op::GAS => {
                let g = self.load_ctx(types::I64, offsets::GAS);
                let zero = self.b.ins().iconst(types::I64, 0);
                Some([g, zero, zero, zero])
            }
            op::MSIZE => {
                let m = self.load_ctx(types::I64, offsets::MEMORY_LEN);
                let zero = self.b.ins().iconst(types::I64, 0);
                Some([m, zero, zero, zero])
            }
            op::MLOAD | op::MSTORE | op::MSTORE8 => self.memory_op(inst, opcode, len, stack),
            _ => self.runtime_op(inst, opcode, len, stack),
        }
    }

    /// MLOAD/MSTORE/MSTORE8 inline when the access lies in memory already paid for;
    /// otherwise the runtime grows memory and charges for it.
    fn memory_op(
        &mut self,
        inst: &kiln_ir::Inst,
        opcode: u8,
        len: Value,
        stack: Value,
    ) -> Option<Word> {
        let off = self.word(inst.args[0]);
        let width = if opcode == op::MSTORE8 { 1 } else { 32 };
        let high = self.b.ins().bor(off[1], off[2]);
        let high = self.b.ins().bor(high, off[3]);
        let mem_len = self.load_ctx(types::I64, offsets::MEMORY_LEN);
        // off[0] + width <= mem_len, without overflow: off[0] <= mem_len - width (mem_len >= width).
        let room = self.b.ins().iadd_imm_s(mem_len, -width);
        let enough = self.b.ins().icmp_imm_s(IntCC::SignedGreaterThanOrEqual, room, 0);
        let fits = self.b.ins().icmp(IntCC::UnsignedLessThanOrEqual, off[0], room);
        let low_ok = self.b.ins().icmp_imm_s(IntCC::Equal, high, 0);
        let ok = self.b.ins().band(fits, enough);
        let ok = self.b.ins().band(ok, low_ok);
        let fast = self.b.create_block();
        let slow = self.b.create_block();
        let join = self.b.create_block();
        let has_result = inst.result.is_some();
        if has_result {
            for _ in 0..4 {
                self.b.append_block_param(join, types::I64);
            }
        }
        self.b.ins().brif(ok, fast, &[], slow, &[]);

        self.b.switch_to_block(fast);
        let base = self.load_ctx(types::I64, offsets::MEMORY_PTR);
        let addr = self.b.ins().iadd(base, off[0]);
        let fast_result = match opcode {
            op::MLOAD => {
                let limbs = [24, 16, 8, 0].map(|o| {
                    let v = self.b.ins().load(types::I64, flags(), addr, o);
                    self.b.ins().bswap(v)
                });
                Some(limbs)
            }
            op::MSTORE => {
                let v = self.word(inst.args[1]);
                for (i, o) in [24, 16, 8, 0].into_iter().enumerate() {
                    let be = self.b.ins().bswap(v[i]);
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
        };
        let args: Vec<BlockArg> =
            fast_result.map_or(vec![], |w| w.iter().map(|&v| BlockArg::Value(v)).collect());
        self.b.ins().jump(join, &args);

        self.b.switch_to_block(slow);
        let slow_result = self.runtime_op(inst, opcode, len, stack);
        let args: Vec<BlockArg> =
            slow_result.map_or(vec![], |w| w.iter().map(|&v| BlockArg::Value(v)).collect());
        self.b.ins().jump(join, &args);

        self.b.switch_to_block(join);
        has_result.then(|| {
            let p = self.b.block_params(join);
            [p[0], p[1], p[2], p[3]]
        })
    }

    fn jump_to(&mut self, t: Target) {
        match t {
            Target::Block(b) => {
                self.b.ins().jump(self.blocks[b], &[]);
            }
            Target::Invalid => self.exit_with(Status::InvalidJump),
            Target::Dynamic(v) => {
                let w = self.word(v);
                let high = self.b.ins().bor(w[1], w[2]);
                let high = self.b.ins().bor(high, w[3]);
                let code_len = self.load_ctx(types::I64, offsets::CODE_LEN);
                let in_code = self.b.ins().icmp(IntCC::UnsignedLessThan, w[0], code_len);
                let low_ok = self.b.ins().icmp_imm_s(IntCC::Equal, high, 0);
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

    fn terminator(&mut self, id: usize) {
        match self.f.blocks[id].term {
            Terminator::Jump(t) => self.jump_to(t),
            Terminator::JumpI { cond, target, fallthrough } => {
                let c = self.word(cond);
                let nz = word::is_nonzero(self.b, c);
                let taken = self.b.create_block();
                self.b.ins().brif(nz, taken, &[], self.blocks[fallthrough], &[]);
                self.b.switch_to_block(taken);
                self.jump_to(target);
            }
            Terminator::FallThrough(b) => {
                self.b.ins().jump(self.blocks[b], &[]);
            }
            Terminator::Stop => self.exit_with(Status::Stop),
            // The runtime already returned RETURN/REVERT/SELFDESTRUCT's status; never reached.
            Terminator::Exit => self.exit_with(Status::Fatal),
            Terminator::InvalidOpcode => self.exit_with(Status::InvalidOpcode),
            Terminator::Suspend { .. } => unreachable!("handled with the call"),
        }
    }

    /// pc → JUMPDEST rank (bitmap popcount) → block, through one jump table.
    fn dynamic_dispatch(&mut self, d: Block) {
        self.b.switch_to_block(d);
        let pc = self.b.block_params(d)[0];
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
        let table: Vec<_> = self
            .f
            .jumpdests
            .iter()
            .map(|b| {
                let target = b.map_or(invalid, |b| self.blocks[b]);
                self.b.func.dfg.block_call(target, &[])
            })
            .collect();
        let default = self.b.func.dfg.block_call(invalid, &[]);
        let jt = self.b.create_jump_table(JumpTableData::new(default, &table));
        self.b.ins().br_table(rank, jt);
        self.b.switch_to_block(invalid);
        self.exit_with(Status::InvalidJump);
    }
}
