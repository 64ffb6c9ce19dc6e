//! IR → Cranelift IR.
//!
//! One Cranelift function per contract: `fn(ctx, host) -> status`. The entry block dispatches on
//! `ctx.pc` (0 = start, n = resume point n-1). Within a block, EVM values are SSA values of
//! four limbs; at block boundaries the stack lives in `ctx.stack`. Anything not inlined is a
//! call through the builtin table's `exec_op`, with its operands written to the stack first.

use crate::memory_checks::{self, Check};
use crate::stack_plan::{self, StackPlan};
use crate::stack_proof::{Access, BlockChecks, Record, Site};
use crate::word::{self, Word};
use crate::CompileError;
use cranelift_codegen::cursor::{Cursor, FuncCursor};
use cranelift_codegen::ir::{
    condcodes::IntCC, types, AbiParam, Block, BlockArg, InstBuilder, JumpTableData, MemFlagsData,
    SigRef, Signature, StackSlot, StackSlotData, StackSlotKind, Value,
};
use cranelift_codegen::isa::CallConv;
use cranelift_frontend::{FunctionBuilder, FunctionBuilderContext, Variable};
use kiln_frontend::opcode as op;
use kiln_ir::{Function, InstKind, Target, Terminator};
use kiln_runtime::builtins::{AbiType, Builtin};
use kiln_runtime::context::{offsets, Status};
use kiln_runtime::gas::STACK_LIMIT;
use ruint::aliases::U256;
use std::collections::HashMap;

/// The largest constant [`Lower::add_sub_const`] adds or subtracts with a cold carry.
const SMALL_STEP: u64 = 1 << 32;
/// How many of those a function gets: each costs two blocks, and a hot loop needs few, so
/// code made of thousands of tiny loops does not pay for it in compile time.
const COLD_CARRY_SITES: u32 = 256;

/// Bytes of a stack slot.
const WORD_BYTES: i32 = 32;

// Values [`kiln_ir::bounds`] proves to fit 64 bits do so for frames with at most its assumed
// gas; the runtime runs larger frames in the interpreter.
const _: () = assert!(kiln_runtime::context::MAX_NATIVE_GAS <= kiln_ir::bounds::ASSUMED_MAX_GAS);

/// The signature of every compiled contract: `(ctx, host) -> status`.
pub fn native_signature(call_conv: CallConv) -> Signature {
    let mut sig = Signature::new(call_conv);
    sig.params.push(AbiParam::new(types::I64));
    sig.params.push(AbiParam::new(types::I64));
    sig.returns.push(AbiParam::new(types::I8));
    sig
}

/// The calling convention of the builtin table's entries.
fn builtin_call_conv(call_conv: CallConv) -> CallConv {
    if kiln_runtime::builtins::BUILTINS_PRESERVE_ALL {
        CallConv::PreserveAll
    } else {
        call_conv
    }
}

/// The signature of a builtin table entry, from its declaration.
fn builtin_signature(builtin: Builtin, call_conv: CallConv) -> Signature {
    let mut sig = Signature::new(builtin_call_conv(call_conv));
    for param in builtin.params() {
        let ty = match param {
            AbiType::Ptr | AbiType::U64 => types::I64,
            AbiType::U32 => types::I32,
        };
        sig.params.push(AbiParam::new(ty));
    }
    sig
}

/// `k` for a divisor of 2^k with `0 < k < 255`: positive read signed too, so one shift
/// serves the signed divisions as well.
fn pow2_divisor(c: U256) -> Option<u32> {
    let k = c.trailing_zeros() as u32;
    (c.count_ones() == 1 && (1..255).contains(&k)).then_some(k)
}

fn flags() -> MemFlagsData {
    MemFlagsData::trusted()
}

struct Lower<'a, 'b> {
    b: &'a mut FunctionBuilder<'b>,
    f: &'a Function,
    /// Where the entry stores its two parameters, the context and the host pointers: blocks
    /// load them from there (see [`Self::ctx`]) rather than keep them in registers throughout.
    params: StackSlot,
    /// The signature of each builtin, by [`Builtin`] index.
    builtin_sigs: Vec<SigRef>,
    /// Eight limbs of stack frame for the division builtin's operands, made on first use.
    scratch: Option<StackSlot>,
    /// Cranelift block of each IR block; `None` for blocks no path reaches.
    blocks: Vec<Option<Block>>,
    /// Returns its i8 parameter (a status computed at run time).
    exit: Block,
    /// One parameterless block per constant status, so the many exits of a large function
    /// do not all merge into one block with an argument (costly for register allocation).
    exits: HashMap<u8, Block>,
    /// Dynamic jump dispatch; takes the target pc (already range-checked) as an i64.
    dispatch: Option<Block>,
    values: Vec<Option<Word>>,
    consts: HashMap<u32, U256>,
    /// The current block's entry items something reads ([`used_inputs`]).
    used: std::collections::HashSet<u32>,
    /// Per MUL result: its two operands, for divisions that divide a product back
    /// ([`Lower::divided_back`]).
    products: HashMap<u32, [kiln_ir::Value; 2]>,
    /// Values that are 0 or 1 from a comparison, with that comparison's i8 flag: a JUMPI or
    /// ISZERO on them tests the flag instead of four limbs.
    flags: HashMap<u32, Value>,
    plan: StackPlan,
    /// Per region: the base is zero (the entry region, entered only at frame start).
    base_zero: Vec<bool>,
    /// Landing pad of each block dynamic jumps reach without it being a head, and of each
    /// head static edges enter that dynamic jumps reach too ([`StackPlan`]'s `head_pad`).
    landings: Vec<Option<Block>>,
    /// Entry past the first gas charge, for blocks whose predecessors prepay it
    /// ([`kiln_ir::Block::prepaid`]); `None` for the rest (and for heads, which are refunded).
    prepaid_entries: Vec<Option<Block>>,
    /// Per block: inside a loop of static jumps ([`crate::loops`]).
    in_loop: Vec<bool>,
    /// Cold-carry steps still allowed ([`COLD_CARRY_SITES`]).
    cold_carries: u32,
    /// Per IR value: it fits 64 bits ([`kiln_ir::bounds`]), so its high limbs are `zero`.
    fits: Vec<bool>,
    /// The zero of the high limbs of values that fit 64 bits: being one value, a stack slot
    /// holding such a value on every way into a loop needs no block parameters for them.
    zero: Value,
    /// Remaining gas: kept in a variable, written to `ctx.gas` only where the runtime or the
    /// frame loop reads it.
    gas: Variable,
    /// The current region's base height.
    base: Variable,
    /// Stack slots by height relative to the region base, four limbs each.
    slots: HashMap<i32, [Variable; 4]>,
    cur: Cur,
    /// What [`crate::stack_proof`] checks once the function is lowered.
    proof: Record,
    /// Every native access asserts its bounds ([`crate::checked_mode`]).
    checked: bool,
}

/// The block being lowered.
#[derive(Clone, Copy, Default)]
struct Cur {
    /// The block's region's base is zero (see [`Lower::base`]).
    base_zero: bool,
    /// The first Cranelift block of the block's body, and its base there: where the frame
    /// pointer is defined when a slot access first needs it (see [`Lower::frame`]).
    top: Option<(Block, Value)>,
    /// `stack + base * 32`, once defined.
    frame: Option<Value>,
    /// The context pointer, once loaded in the block ([`Lower::ctx`]).
    ctx: Option<Value>,
    /// The block lies inside a loop of static jumps ([`crate::loops`]).
    in_loop: bool,
    /// The instruction being lowered: its second operand is last used there and its first
    /// is not ([`last_uses`]).
    only_second_dies: bool,
    /// Gas of the successor's entry section the block already charged.
    prepaid: u64,
    entry: i32,
    vars_from: i32,
    /// Slots below are in memory (lowered as runtime calls write the stack).
    synced: i32,
    /// How the instruction being lowered checks its memory access ([`memory_checks`]).
    mem: Check,
    /// Slots below this (relative to the base) may lie below the stack's bottom on some way
    /// into the block: writes to them are clamped (see [`Lower::flush`]).
    clamp_below: i32,
    /// The IR block being lowered, for the proof's record.
    block: usize,
    /// The landing pad being lowered (of this IR block), if any.
    pad: Option<usize>,
}

/// Ways to put defects back, so tests can show the proof and checked mode catch them.
#[cfg(test)]
#[derive(Clone, Copy, Default)]
pub(crate) struct TestKnobs {
    /// Flushes slots below a block's inputs without clamping (the heap corruption of
    /// `regressions/stack_safety`).
    pub unclamped_flush: bool,
    /// Skips [`crate::stack_proof::verify`].
    pub skip_proof: bool,
    /// Lowers in checked mode whatever the environment says.
    pub checked: bool,
}

#[cfg(test)]
thread_local! {
    pub(crate) static TEST_KNOBS: std::cell::Cell<TestKnobs> =
        const { std::cell::Cell::new(TestKnobs { unclamped_flush: false, skip_proof: false, checked: false }) };
}

#[cfg(test)]
fn knobs() -> TestKnobs {
    TEST_KNOBS.with(|k| k.get())
}

#[cfg(not(test))]
#[derive(Clone, Copy, Default)]
struct TestKnobs {
    unclamped_flush: bool,
    skip_proof: bool,
    checked: bool,
}

#[cfg(not(test))]
#[inline(always)]
fn knobs() -> TestKnobs {
    TestKnobs::default()
}

/// Lowers `f` into the builder's function, which must have [`native_signature`].
pub fn lower(
    f: &Function,
    func: &mut cranelift_codegen::ir::Function,
    fctx: &mut FunctionBuilderContext,
    config: cranelift_codegen::isa::TargetFrontendConfig,
) -> Result<(), CompileError> {
    let call_conv = func.signature.call_conv;
    let mut b = FunctionBuilder::new(func, fctx);
    let entry = b.create_block();
    b.append_block_params_for_function_params(entry);
    let exit = b.create_block();
    b.append_block_param(exit, types::I8);
    let builtin_sigs =
        Builtin::ALL.iter().map(|&f| b.import_signature(builtin_signature(f, call_conv))).collect();
    // Only blocks some path reaches get Cranelift blocks: unreachable ones would cost compile
    // time (Cranelift prunes them with work that grows with their number) and nothing else.
    // Resume points are entered from the entry's dispatch on `ctx.pc`.
    let live = f.reachable(&f.resumes);
    let blocks: Vec<Option<Block>> = live.iter().map(|&l| l.then(|| b.create_block())).collect();
    let plan = stack_plan::plan(f, &live);
    let landings: Vec<Option<Block>> =
        plan.blocks.iter().map(|p| (p.landing || p.head_pad).then(|| b.create_block())).collect();
    let mut prepaid_entries: Vec<Option<Block>> = vec![None; f.blocks.len()];
    for (i, block) in f.blocks.iter().enumerate() {
        let Some(s) = block.term.unconditional().filter(|_| live[i] && block.prepaid > 0) else {
            continue;
        };
        if !plan.blocks[s].head && prepaid_entries[s].is_none() {
            prepaid_entries[s] = Some(b.create_block());
        }
    }
    let mut static_into_entry = false;
    for (i, block) in f.blocks.iter().enumerate() {
        if live[i] && block.successors().contains(&0) {
            static_into_entry = true;
        }
    }
    let base_zero: Vec<bool> = (0..f.blocks.len())
        .map(|r| r == 0 && !static_into_entry && !plan.region_has_landing[0])
        .collect();
    let gas = b.declare_var(types::I64);
    let base = b.declare_var(types::I64);
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
        return Ok(());
    }
    let ctx = b.block_params(entry)[0];
    let host = b.block_params(entry)[1];
    let params = b.create_sized_stack_slot(StackSlotData::new(StackSlotKind::ExplicitSlot, 16, 3));
    b.ins().stack_store(types::I64, ctx, params, 0);
    b.ins().stack_store(types::I64, host, params, 8);
    let zero = b.ins().iconst(types::I64, 0);
    let g = b.ins().load(types::I64, flags(), ctx, offsets::GAS);
    b.def_var(gas, g);
    let mut lw = Lower {
        b: &mut b,
        f,
        params,
        builtin_sigs,
        scratch: None,
        blocks,
        exit,
        exits: HashMap::new(),
        dispatch,
        values: vec![None; f.num_values as usize],
        consts: HashMap::new(),
        products: HashMap::new(),
        used: Default::default(),
        flags: HashMap::new(),
        plan,
        base_zero,
        landings,
        prepaid_entries,
        in_loop: crate::loops::in_loops(f),
        cold_carries: COLD_CARRY_SITES,
        fits: kiln_ir::bounds::fits_u64(f),
        zero,
        gas,
        base,
        slots: HashMap::new(),
        cur: Cur::default(),
        proof: Record {
            checks: vec![BlockChecks::default(); f.blocks.len()],
            accesses: Vec::new(),
        },
        checked: crate::checked_mode() || knobs().checked,
    };
    lw.entry_dispatch();
    for (i, &is_live) in live.iter().enumerate() {
        if is_live {
            lw.block(i);
            // What the block defined lazily does not dominate what is lowered next.
            lw.cur = Cur::default();
        }
        if lw.landings[i].is_some() {
            lw.landing(i);
        }
    }
    if let Some(d) = lw.dispatch {
        lw.dynamic_dispatch(d);
    }
    lw.fill_exits();
    lw.b.switch_to_block(exit);
    let status = lw.b.block_params(exit)[0];
    lw.b.ins().return_(&[status]);
    let Lower { proof, plan, base_zero, .. } = lw;
    b.seal_all_blocks();
    b.finalize(config);
    // Checked before anything runs: a function whose slot accesses are not all proven inside
    // the stack is refused, and the interpreter runs the contract instead.
    if !knobs().skip_proof {
        crate::stack_proof::verify(f, &plan, &base_zero, &proof).inspect_err(|_| {
            crate::REFUSED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        })?;
    }
    crate::dead_code::remove(func);
    Ok(())
}

/// Per instruction of `block`: bit `k` is set when its operand `k` is used for the last time
/// there (not by a later instruction, the terminator or the block's exit stack).
fn last_uses(block: &kiln_ir::Block) -> Vec<u8> {
    let mut live = exit_uses(block);
    let mut dies = vec![0u8; block.insts.len()];
    for (i, inst) in block.insts.iter().enumerate().rev() {
        for (k, a) in inst.args.iter().enumerate().take(8) {
            if !live.contains(&a.0) {
                dies[i] |= 1 << k;
            }
        }
        for a in &inst.args {
            live.insert(a.0);
        }
    }
    dies
}

/// The values a block's exit reads: its exit stack and its terminator's operands.
fn exit_uses(block: &kiln_ir::Block) -> std::collections::HashSet<u32> {
    let mut used: std::collections::HashSet<u32> = block.exit.iter().map(|v| v.0).collect();
    match block.term {
        Terminator::JumpI { cond, target, .. } => {
            used.insert(cond.0);
            if let Target::Dynamic(t) = target {
                used.insert(t.0);
            }
        }
        Terminator::Jump(Target::Dynamic(t)) => {
            used.insert(t.0);
        }
        _ => {}
    }
    used
}

/// The block's entry items something reads (an instruction or the exit): the stack items a
/// block only pops are not loaded from memory or taken from their variables.
fn used_inputs(block: &kiln_ir::Block) -> std::collections::HashSet<u32> {
    let mut used = exit_uses(block);
    used.extend(block.insts.iter().flat_map(|i| i.args.iter().map(|a| a.0)));
    used
}

impl Lower<'_, '_> {
    /// The Cranelift block of a block that is reached.
    fn cl_block(&self, id: usize) -> Block {
        self.blocks[id].expect("successors of reachable blocks are reachable")
    }

    fn status(&mut self, s: Status) -> Value {
        self.b.ins().iconst(types::I8, s as i64)
    }

    /// The block that returns status `s`.
    fn exit_block(&mut self, s: Status) -> Block {
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
        if s == Status::Stop {
            // The one clean exit that is not the runtime's: the frame loop reads the gas left.
            self.store_gas();
        }
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
        let ctx = self.ctx();
        self.b.ins().load(ty, flags(), ctx, offset)
    }

    fn store_ctx(&mut self, v: Value, offset: i32) {
        let ctx = self.ctx();
        self.b.ins().store(flags(), v, ctx, offset);
    }

    fn entry_dispatch(&mut self) {
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

    fn word(&self, v: kiln_ir::Value) -> Word {
        self.values[v.0 as usize].expect("IR verified: defined before use")
    }

    /// Address of stack slot `index` (from the bottom).
    fn slot_addr(&mut self, stack: Value, index: Value) -> Value {
        if self.checked {
            self.assert_slot_index(index);
        }
        let off = self.b.ins().ishl_imm_u(index, 5);
        self.b.ins().iadd(stack, off)
    }

    fn load_word(&mut self, addr: Value) -> Word {
        self.load_word_at(addr, 0)
    }

    fn load_word_at(&mut self, addr: Value, at: i32) -> Word {
        [0, 8, 16, 24].map(|o| self.b.ins().load(types::I64, flags(), addr, at + o))
    }

    fn store_word_at(&mut self, addr: Value, at: i32, w: Word) {
        for (i, o) in [0, 8, 16, 24].into_iter().enumerate() {
            self.b.ins().store(flags(), w[i], addr, at + o);
        }
    }

    /// Stores a word the runtime reads next, in 16-byte halves. Rust code copies a `U256`
    /// with 16-byte loads, and a load that spans two smaller stores misses store forwarding
    /// (measured on snailtracer: the largest cost of a storage read from compiled code).
    fn store_word_for_runtime(&mut self, addr: Value, at: i32, w: Word) {
        for half in 0..2 {
            let v = self.b.ins().scalar_to_vector(types::I64X2, w[2 * half]);
            let v = self.b.ins().insertlane(v, w[2 * half + 1], 1);
            self.b.ins().store(flags(), v, addr, at + 16 * half as i32);
        }
    }

    /// The current block's frame pointer and the byte offset from it of slot `o` (relative
    /// to the region base): one address per block, so slot accesses are plain displacements.
    fn slot(&mut self, o: i32) -> (Value, i32) {
        let site = Site::Block(self.cur.block);
        self.proof.accesses.push(Access { site, slot: o, clamped: false, height: false });
        if self.checked {
            let base = self.base();
            let idx = self.b.ins().iadd_imm_s(base, o as i64);
            self.assert_slot_index(idx);
        }
        (self.frame(), o * WORD_BYTES)
    }

    /// Records that the height `x` (relative to the base) is stored in `ctx.stack_len`, which
    /// heads and pads trust to lie in `[0, STACK_LIMIT]`.
    fn record_height(&mut self, x: i32) {
        let site = Site::Block(self.cur.block);
        self.proof.accesses.push(Access { site, slot: x, clamped: false, height: true });
    }

    /// Checked mode: halts with [`Status::BoundsFault`] unless `0 <= idx < STACK_LIMIT`.
    fn assert_slot_index(&mut self, idx: Value) {
        let out =
            self.b.ins().icmp_imm_u(IntCC::UnsignedGreaterThanOrEqual, idx, STACK_LIMIT as i64);
        self.exit_if(out, Status::BoundsFault);
    }

    /// Checked mode: halts with [`Status::BoundsFault`] unless `[offset, offset + width)` lies
    /// inside `[0, len)`.
    fn assert_range(&mut self, offset: Value, width: i64, len: Value) {
        let end = self.b.ins().iadd_imm_s(offset, width);
        let wraps = self.b.ins().icmp(IntCC::UnsignedLessThan, end, offset);
        let past = self.b.ins().icmp(IntCC::UnsignedGreaterThan, end, len);
        let out = self.b.ins().bor(wraps, past);
        self.exit_if(out, Status::BoundsFault);
    }

    /// The context pointer. Inside a block it is loaded once, where it dominates the rest of
    /// the block ([`Self::at_top`]), on first use: kept in one value for the whole function,
    /// it would be live through every loop, taking a register where most loops never use it
    /// (a 256-bit loop needs four per word), and in large functions the register allocator
    /// spilled it anyway and reloaded it several times a block.
    fn ctx(&mut self) -> Value {
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
    fn host(&mut self) -> Value {
        self.b.ins().stack_load(types::I64, types::I64, self.params, 8)
    }

    /// Emits `build` where it dominates the rest of the current block: at the end of its
    /// first Cranelift block (before the terminator, if that block is already complete).
    fn at_top(&mut self, build: impl FnOnce(&mut FuncCursor) -> Value) -> Value {
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
    fn frame(&mut self) -> Value {
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

    fn slot_vars(&mut self, o: i32) -> [Variable; 4] {
        if let Some(v) = self.slots.get(&o) {
            return *v;
        }
        let vars = [(); 4].map(|_| self.b.declare_var(types::I64));
        self.slots.insert(o, vars);
        vars
    }

    fn use_slot(&mut self, o: i32) -> Word {
        self.slot_vars(o).map(|v| self.b.use_var(v))
    }

    fn def_slot(&mut self, o: i32, w: Word) {
        let vars = self.slot_vars(o);
        for (v, x) in vars.into_iter().zip(w) {
            self.b.def_var(v, x);
        }
    }

    fn block(&mut self, id: usize) {
        let block = &self.f.blocks[id];
        let p = self.plan.blocks[id];
        let cl = self.cl_block(id);
        self.b.switch_to_block(cl);
        let base_zero = self.base_zero[p.region];
        self.cur.base_zero = base_zero;
        let base = if p.static_head {
            // Every way in defined the base, the gas and the inputs' variables: the static
            // edges ([`Self::edge_writes_out`]) and the pad for dynamic jumps.
            self.b.use_var(self.base)
        } else if p.head {
            let v = if base_zero {
                self.b.ins().iconst(types::I64, 0)
            } else {
                self.load_ctx(types::I64, offsets::STACK_LEN)
            };
            self.b.def_var(self.base, v);
            // Heads take the gas from memory as they take the stack: no variable has to merge
            // at a block that a jump table enters (appending a block argument to an edge of a
            // jump table with thousands of entries costs a scan of all of them).
            let g = self.load_ctx(types::I64, offsets::GAS);
            self.b.def_var(self.gas, g);
            v
        } else {
            self.base()
        };
        if !self.stack_checks(id, base) {
            if let Some(entry) = self.prepaid_entries[id] {
                // The block cannot complete: the prepaid way in exits as the other does.
                self.b.switch_to_block(entry);
                let base = self.base();
                self.stack_checks(id, base);
            }
            return;
        }
        let mut skip = 0;
        if let Some(entry) = self.prepaid_entries[id] {
            // The first section is charged here, on the way in for predecessors that did not
            // pay it; those that did enter at `entry`, which checks the stack bounds again.
            let first = block.sections[0];
            debug_assert_eq!(first.at, 0, "verified: prepaid sections start the block");
            self.charge(first.gas);
            let body = self.b.create_block();
            self.b.ins().jump(body, &[]);
            self.b.switch_to_block(entry);
            let base = self.base();
            if self.stack_checks(id, base) {
                self.b.ins().jump(body, &[]);
            }
            self.b.switch_to_block(body);
            skip = 1;
        }
        let base = self.base();
        // Absolute height at entry.
        let len = self.b.ins().iadd_imm_s(base, p.entry as i64);
        let top = self.b.current_block().expect("inside a block");
        self.cur = Cur {
            base_zero,
            top: Some((top, base)),
            frame: None,
            ctx: None,
            in_loop: self.in_loop[id],
            only_second_dies: false,
            prepaid: block.prepaid,
            entry: p.entry,
            vars_from: p.vars_from,
            synced: p.synced,
            mem: Check::Own,
            block: id,
            pad: None,
            clamp_below: if self.plan.region_has_landing[p.region] {
                p.entry - block.stack_in as i32
            } else {
                i32::MIN
            },
        };
        self.used = used_inputs(block);
        let mut sections = block.sections.iter().skip(skip).peekable();
        let n = block.insts.len();
        let suspend = matches!(block.term, Terminator::Suspend { .. });
        let dies = last_uses(block);
        let checks = memory_checks::plan(block);
        for (i, inst) in block.insts.iter().enumerate() {
            self.cur.only_second_dies = dies[i] & 0b11 == 0b10;
            self.cur.mem = checks[i];
            while let Some(s) = sections.next_if(|s| s.at == i) {
                self.charge(s.gas);
            }
            if suspend && i == n - 1 {
                // Suspending call: the stack below the operands goes to memory, then the
                // frame loop takes over; the resume point reads it back.
                let (x, synced) = self.exit_slots(id);
                self.flush(synced, x);
                let resume = match block.term {
                    Terminator::Suspend { resume } => resume,
                    _ => unreachable!(),
                };
                let idx = self.f.blocks[resume].resume_index.expect("verified") as i64 + 1;
                let idx = self.b.ins().iconst(types::I64, idx);
                self.store_ctx(idx, offsets::PC);
                let InstKind::Op(opcode) = inst.kind else { unreachable!("calls are ops") };
                let status = self.runtime_call(opcode, &inst.args, inst.sp, len);
                self.b.ins().jump(self.exit, &[BlockArg::Value(status)]);
                return;
            }
            self.inst(inst, len);
        }
        for s in sections {
            self.charge(s.gas);
        }
        self.terminator(id);
    }

    /// The block's stack bounds checks at entry, with the region's `base`. Returns false when
    /// the block overflows whatever the height (the current block then exits).
    fn stack_checks(&mut self, id: usize, base: Value) -> bool {
        let block = &self.f.blocks[id];
        let p = self.plan.blocks[id];
        let base_zero = self.base_zero[p.region];
        let len = self.b.ins().iadd_imm_s(base, p.entry as i64);
        let low = p.entry - block.stack_in as i32;
        let mut checks = BlockChecks { lowered: true, ..BlockChecks::default() };
        let completes = 'checks: {
            if base_zero {
                if low < 0 {
                    self.exit_with(Status::StackUnderflow);
                    break 'checks false;
                }
            } else if low < 0 || self.plan.region_has_landing[p.region] {
                // A landing pad's base comes from a height the analysis did not see.
                let under =
                    self.b.ins().icmp_imm_s(IntCC::SignedLessThan, len, block.stack_in as i64);
                self.exit_if(under, Status::StackUnderflow);
                checks.underflow = true;
            }
            if block.stack_growth as usize > STACK_LIMIT
                || (base_zero && (p.entry + block.stack_growth as i32) as usize > STACK_LIMIT)
            {
                // The block overflows whatever the entry height: no path through it completes.
                self.exit_with(Status::StackOverflow);
                break 'checks false;
            }
            if block.stack_growth > 0 && !base_zero {
                let limit = (STACK_LIMIT - block.stack_growth as usize) as i64;
                let over = self.b.ins().icmp_imm_s(IntCC::SignedGreaterThan, len, limit);
                self.exit_if(over, Status::StackOverflow);
                checks.overflow = true;
            }
            true
        };
        checks.never_completes = !completes;
        self.proof.checks[id] = checks;
        completes
    }

    fn charge(&mut self, gas: u64) {
        let g = self.b.use_var(self.gas);
        let short = self.b.ins().icmp_imm_s(IntCC::UnsignedLessThan, g, gas as i64);
        self.exit_if(short, Status::OutOfGas);
        let rest = self.b.ins().iadd_imm_s(g, -(gas as i64));
        self.b.def_var(self.gas, rest);
    }

    /// Defines the variables of the block's exit slots and returns the exit height and the
    /// `synced` watermark after the block.
    fn exit_slots(&mut self, id: usize) -> (i32, i32) {
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
    fn flush(&mut self, from: i32, to: i32) {
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

    /// The current region's base. In a region whose base is zero it is a constant rather than
    /// the variable: a variable would be carried through every loop of the region as a block
    /// parameter, taking a register for a value that never changes.
    fn base(&mut self) -> Value {
        if self.cur.base_zero {
            self.b.ins().iconst(types::I64, 0)
        } else {
            self.b.use_var(self.base)
        }
    }

    fn store_gas(&mut self) {
        let g = self.b.use_var(self.gas);
        self.store_ctx(g, offsets::GAS);
    }

    /// Stores the absolute height `x` (relative to the base) in `ctx.stack_len`.
    fn store_len(&mut self, x: i32) {
        self.record_height(x);
        let base = self.base();
        let len = self.b.ins().iadd_imm_s(base, x as i64);
        self.store_ctx(len, offsets::STACK_LEN);
    }

    /// The Cranelift block an edge (exit height `x`, watermark `synced`) to `to` branches to:
    /// the block itself, or a new edge block that first writes what `to` expects in memory,
    /// which [`Self::fill_edge`] fills once the caller has emitted its branch (a builder must
    /// not leave a block half built).
    fn edge(&mut self, x: i32, synced: i32, to: usize) -> (Block, bool) {
        if self.edge_writes(x, synced, to) {
            (self.b.create_block(), true)
        } else {
            (self.cl_block(to), false)
        }
    }

    fn fill_edge(&mut self, (edge, writes): (Block, bool), x: i32, synced: i32, to: usize) {
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
    fn edge_writes_out(&mut self, x: i32, synced: i32, to: usize) {
        let q = self.plan.blocks[to];
        if !q.static_head {
            self.flush(synced, x);
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
        let base = self.b.ins().iadd_imm_s(base, x as i64);
        self.b.def_var(self.base, base);
        for (i, w) in inputs.into_iter().enumerate() {
            self.def_slot(q.vars_from + i as i32, w);
        }
    }

    /// Slot `o` of the current block's exit: its variable, or memory below the variables.
    fn exit_slot(&mut self, o: i32) -> Word {
        if o >= self.cur.vars_from {
            return self.use_slot(o);
        }
        let base = self.base();
        let stack = self.load_ctx(types::I64, offsets::STACK_PTR);
        self.load_slot_clamped(stack, base, o)
    }

    /// Slot `o` above `base`, loaded from `stack` memory ahead of the underflow check that
    /// guards the block reading it: a slot below the real stack is never used (the check
    /// stops first), and clamping its index at the stack's bottom keeps the load inside the
    /// buffer.
    fn load_slot_clamped(&mut self, stack: Value, base: Value, o: i32) -> Word {
        let addr = self.slot_addr_clamped(stack, base, o);
        self.load_word(addr)
    }

    /// The address of slot `o` above `base`, its index clamped at the stack's bottom.
    fn slot_addr_clamped(&mut self, stack: Value, base: Value, o: i32) -> Value {
        let site = self.cur.pad.map_or(Site::Block(self.cur.block), Site::Pad);
        self.proof.accesses.push(Access { site, slot: o, clamped: true, height: false });
        let idx = self.b.ins().iadd_imm_s(base, o as i64);
        let zero = self.b.ins().iconst(types::I64, 0);
        let idx = self.b.ins().smax(idx, zero);
        self.slot_addr(stack, idx)
    }

    fn edge_writes(&self, x: i32, synced: i32, to: usize) -> bool {
        let q = self.plan.blocks[to];
        q.head || q.flush_entry && synced < x
    }

    /// An unconditional jump to `to`: what the edge writes goes in the current block.
    fn jump_edge(&mut self, x: i32, synced: i32, to: usize) {
        let prepaid = std::mem::take(&mut self.cur.prepaid);
        if prepaid > 0 {
            if let Some(entry) = self.prepaid_entries[to] {
                if self.edge_writes(x, synced, to) {
                    self.flush(synced, x);
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
    fn landing(&mut self, id: usize) {
        let pad = self.landings[id].expect("landing block");
        let p = self.plan.blocks[id];
        self.b.switch_to_block(pad);
        self.cur.pad = Some(id);
        let len = self.load_ctx(types::I64, offsets::STACK_LEN);
        let base = self.b.ins().iadd_imm_s(len, -(p.entry as i64));
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

    /// Calls `builtin` through the context's table with `args`, in its declared order.
    fn call_builtin(&mut self, builtin: Builtin, args: &[Value]) {
        debug_assert_eq!(args.len(), builtin.params().len(), "{}", builtin.name());
        let table = self.load_ctx(types::I64, offsets::BUILTINS);
        let callee = self.b.ins().load(types::I64, flags(), table, builtin.offset());
        let sig = self.builtin_sigs[builtin as usize];
        self.b.ins().call_indirect(sig, callee, args);
    }

    /// Calls the runtime for `opcode` with `args` (top first) at relative height `sp`.
    /// Returns the status; the result, if any, is left on top of the memory stack.
    fn runtime_call(&mut self, opcode: u8, args: &[kiln_ir::Value], sp: i32, len: Value) -> Value {
        self.record_height(self.cur.entry + sp);
        let top = self.b.ins().iadd_imm_s(len, sp as i64);
        for (i, a) in args.iter().enumerate() {
            let w = self.word(*a);
            let (frame, at) = self.slot(self.cur.entry + sp - i as i32 - 1);
            self.store_word_for_runtime(frame, at, w);
        }
        self.store_ctx(top, offsets::STACK_LEN);
        self.cur.synced = self.cur.synced.min(self.cur.entry + sp - args.len() as i32);
        let g = self.b.use_var(self.gas);
        self.store_ctx(g, offsets::GAS);
        let opv = self.b.ins().iconst(types::I32, opcode as i64);
        let (ctx, host) = (self.ctx(), self.host());
        self.call_builtin(Builtin::ExecOp, &[ctx, host, opv]);
        let status = self.load_ctx(types::I8, offsets::BUILTIN_STATUS);
        let g = self.load_ctx(types::I64, offsets::GAS);
        self.b.def_var(self.gas, g);
        status
    }

    /// A runtime call that continues on success, with its result read back.
    fn runtime_op(&mut self, inst: &kiln_ir::Inst, opcode: u8, len: Value) -> Option<Word> {
        let status = self.runtime_call(opcode, &inst.args, inst.sp, len);
        let cont = self.b.create_block();
        let here = self.b.current_block().expect("inside a block");
        if self.b.func.layout.is_cold(here) {
            self.b.set_cold_block(cont);
        }
        self.b.ins().brif(status, self.exit, &[BlockArg::Value(status)], cont, &[]);
        self.b.switch_to_block(cont);
        inst.result.map(|_| {
            let (frame, at) = self.slot(self.cur.entry + inst.sp - inst.args.len() as i32);
            self.load_word_at(frame, at)
        })
    }

    /// The word of comparison flag `f`, remembered for later tests of the result.
    fn flag_word(&mut self, inst: &kiln_ir::Inst, f: Value) -> Word {
        if let Some(r) = inst.result {
            self.flags.insert(r.0, f);
        }
        word::from_flag(self.b, f)
    }

    /// Whether `v` is non-zero, as an i8 flag.
    fn nonzero(&mut self, v: kiln_ir::Value) -> Value {
        match self.flags.get(&v.0) {
            Some(&f) => f,
            None => {
                let w = self.word(v);
                word::is_nonzero(self.b, w)
            }
        }
    }

    /// The flags of a two-operand instruction's operands, if both are comparison results.
    fn flag_args(&self, inst: &kiln_ir::Inst) -> Option<(Value, Value)> {
        let x = *self.flags.get(&inst.args[0].0)?;
        let y = *self.flags.get(&inst.args[1].0)?;
        Some((x, y))
    }

    fn const_arg(&self, v: kiln_ir::Value) -> Option<U256> {
        self.consts.get(&v.0).copied()
    }

    /// LT, GT, SLT or SGT against a constant operand, where a shorter comparison exists:
    /// any unsigned constant, and the signed comparisons with zero (sign tests).
    fn compare_const(&mut self, inst: &kiln_ir::Inst, opcode: u8) -> Option<Value> {
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

    /// The end of a `width`-byte access at `offset` when the offset is a constant below 2^32
    /// (a bounds check against it is then one comparison with an immediate).
    fn const_end(&self, offset: kiln_ir::Value, width: i64) -> Option<i64> {
        let c = u32::try_from(self.const_arg(offset)?).ok()?;
        Some(i64::from(c) + width)
    }

    fn inst(&mut self, inst: &kiln_ir::Inst, len: Value) {
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
    fn constant(&mut self, limbs: [u64; 4]) -> Word {
        limbs.map(|l| self.b.ins().iconst(types::I64, l as i64))
    }

    fn op(&mut self, inst: &kiln_ir::Inst, opcode: u8, len: Value) -> Option<Word> {
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
                // Known below 2^64: a constant, or a value the bounds analysis proved small.
                let small = |s: &Self, v: kiln_ir::Value| {
                    s.fits[v.0 as usize] || s.const_arg(v).is_some_and(|c| u64::try_from(c).is_ok())
                };
                Some(if small(self, inst.args[0]) {
                    word::mul_u64(self.b, y, x[0])
                } else if small(self, inst.args[1]) {
                    word::mul_u64(self.b, x, y[0])
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
            op::MLOAD | op::MSTORE | op::MSTORE8 => self.memory_op(inst, opcode),
            op::DIV | op::MOD | op::SDIV | op::SMOD => self.div_op(inst, opcode),
            _ => self.runtime_op(inst, opcode, len),
        }
    }

    /// MLOAD/MSTORE/MSTORE8 inline when the access lies in memory already paid for. Growth
    /// within the buffer's zeroed part is inline too (charge the expansion, move the length);
    /// past it, at an offset of 2^32 or more, or short of gas, the `memory_expand` builtin
    /// grows memory and charges for it (or halts), with the offset in registers. The access
    /// then goes ahead inline.
    fn memory_op(&mut self, inst: &kiln_ir::Inst, opcode: u8) -> Option<Word> {
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
        self.call_builtin(Builtin::MemoryExpand, &[ctx, off[0], high, w]);
        let status = self.load_ctx(types::I8, offsets::BUILTIN_STATUS);
        let g = self.load_ctx(types::I64, offsets::GAS);
        self.b.def_var(self.gas, g);
        self.b.ins().brif(status, self.exit, &[BlockArg::Value(status)], access, &[]);

        self.b.switch_to_block(access);
        self.memory_access(inst, opcode, off[0])
    }

    /// The access itself, at `offset` (the operand's low limb) inside memory already grown.
    fn memory_access(&mut self, inst: &kiln_ir::Inst, opcode: u8, offset: Value) -> Option<Word> {
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
        }
    }

    /// MUL of two run-time words: when either fits 64 bits (a loop counter, a scale factor)
    /// four partial products instead of ten.
    fn mul_dispatch(&mut self, x: Word, y: Word) -> Word {
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

    /// CALLDATALOAD inline when the 32 bytes lie inside the call data; the runtime's (which
    /// pads with zeros) for a word that reaches past its end or an offset of 2^32 or more.
    fn calldataload(&mut self, inst: &kiln_ir::Inst, len: Value) -> Word {
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

    /// DIV/MOD/SDIV/SMOD: shifts for a constant power of two, the other factor for a product
    /// divided back, else [`Self::div_general`].
    fn div_op(&mut self, inst: &kiln_ir::Inst, opcode: u8) -> Option<Word> {
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
    fn divided_back(&self, inst: &kiln_ir::Inst, opcode: u8) -> Option<kiln_ir::Value> {
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
    fn exact_quotient(
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
    fn div_general(&mut self, opcode: u8, x: Word, y: Word) -> Word {
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
    fn divide(&mut self, opcode: u8, x: Word, y: Word) -> Word {
        let slot = *self.scratch.get_or_insert_with(|| {
            let data = StackSlotData::new(StackSlotKind::ExplicitSlot, 64, 3);
            self.b.create_sized_stack_slot(data)
        });
        let addr = self.b.ins().stack_addr(types::I64, slot, 0);
        for (i, &limb) in x.iter().chain(y.iter()).enumerate() {
            self.b.ins().store(flags(), limb, addr, i as i32 * 8);
        }
        let opv = self.b.ins().iconst(types::I32, opcode as i64);
        self.call_builtin(Builtin::Divide, &[addr, opv]);
        self.load_word_at(addr, 0)
    }

    /// `inline` (emitted in a block of its own) when `ok`, else the runtime's implementation
    /// of `opcode` on a cold path; the result word either way.
    fn inline_or_runtime(
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
    fn add_sub_const(&mut self, x: Word, c: U256, sub: bool) -> Word {
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
    fn either_word(
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

    /// Growth to `end` within the buffer's zeroed part (the runtime keeps it zero past the
    /// length, up to `limit`): charge the expansion and move the length, branch-free, then
    /// `access`; past the zeroed part, at a `far` offset or short of gas, `call` the runtime
    /// with length and gas as they were. Not laid out cold: where memory grows on every access
    /// (a buffer filled in order) a jump to the far end of the function and back per access
    /// would cost more than the growth.
    fn grow_inline(&mut self, end: Value, far: Value, mem_len: Value, call: Block, access: Block) {
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

    /// Jumps to `t` from a block whose exit height is `x` with watermark `synced`.
    fn jump_to(&mut self, t: Target, x: i32, synced: i32) {
        match t {
            Target::Block(b) => {
                self.jump_edge(x, synced, b);
            }
            Target::Invalid => self.exit_with(Status::InvalidJump),
            Target::Dynamic(v) => {
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

    fn terminator(&mut self, id: usize) {
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
            Terminator::Jump(t) => self.jump_to(t, x, synced),
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
                        self.jump_to(target, x, synced);
                    }
                }
            }
            Terminator::FallThrough(b) => {
                self.jump_edge(x, synced, b);
            }
            _ => unreachable!("frame ends and suspension are handled above"),
        }
    }

    /// pc → JUMPDEST rank (bitmap popcount) → block, through one jump table.
    fn dynamic_dispatch(&mut self, d: Block) {
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

#[cfg(test)]
mod tests {
    use super::*;
    use kiln_frontend::SpecId;

    #[test]
    fn last_uses_mark_operands_not_needed_after_the_instruction() {
        // fibonacci's loop body: DUP2 DUP2 ADD SWAP2 POP ... on [n, a, b]: the ADD's operands
        // are b (top) and a; a is popped, b stays on the stack.
        let code = alloy_primitives::hex!(
            "5f355f60015b8215601a578181019150909160019003916005565b9150505f5260205ff3"
        );
        let f = kiln_ir::build(&code, SpecId::Prague);
        // The last-use bits of the first instruction with `opcode`.
        let dies = |opcode: u8| {
            f.blocks
                .iter()
                .find_map(|b| {
                    let i = b.insts.iter().position(|i| i.kind == InstKind::Op(opcode))?;
                    Some(last_uses(b)[i])
                })
                .expect("the loop has it")
        };
        assert_eq!(dies(op::ADD), 0b10);
        // The loop counter's ISZERO reads n, which the JUMPI's fallthrough still needs.
        assert_eq!(dies(op::ISZERO), 0);
    }
}
