//! IR → Cranelift IR.
//!
//! One Cranelift function per contract: `fn(ctx, host) -> status`. The entry block dispatches on
//! `ctx.pc` (0 = start, n = resume point n-1). Within a block, EVM values are SSA values of
//! four limbs; at block boundaries the stack lives in `ctx.stack`. Anything not inlined is a
//! call through the builtin table's `exec_op`, with its operands written to the stack first.
//!
//! This file holds the state and the block loop (entry, gas sections, stack checks); the rest
//! is split by concern: `frame` (context fields and stack slots), `edges` (what crosses a
//! block boundary, landing pads), `control` (entry dispatch, exits, jumps), `calls` (the
//! builtin table), `ops` (instruction selection), `division` and `memory`. What lowering
//! reads about the IR is computed apart, in [`crate::analysis`].

mod calls;
mod control;
mod division;
mod edges;
mod frame;
mod memory;
mod ops;

use crate::analysis::memory_checks::{self, Check};
pub use crate::analysis::stack_plan::Carry;
use crate::analysis::stack_plan::{self, StackPlan};
use crate::analysis::uses::{last_uses, used_inputs};
use crate::stack_proof::{Access, BlockChecks, Record, Site};
use crate::word::{self, Word};
use crate::CompileError;
use calls::builtin_signature;
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
    /// Per block: inside a loop of static jumps ([`crate::analysis::loops`]).
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
    /// Lowered for the single-pass allocator (carrying inputs, [`Carry::Inputs`]): trivial
    /// additions and byte swaps of constants are folded. For the backtracking allocator
    /// they stay: `base + 0` is a copy that splits the base's live range, and folding it
    /// made snailtracer's optimizing code 15% slower.
    fold: bool,
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
    /// The block lies inside a loop of static jumps ([`crate::analysis::loops`]).
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

/// Lowers `f` into the builder's function, which must have [`native_signature`], carrying
/// the stack between blocks as `carry` says.
pub fn lower(
    f: &Function,
    func: &mut cranelift_codegen::ir::Function,
    fctx: &mut FunctionBuilderContext,
    config: cranelift_codegen::isa::TargetFrontendConfig,
    carry: Carry,
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
    let plan = stack_plan::plan(f, &live, carry);
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
        in_loop: crate::analysis::loops::in_loops(f),
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
        fold: carry == Carry::Inputs,
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

impl Lower<'_, '_> {
    /// The Cranelift block of a block that is reached.
    fn cl_block(&self, id: usize) -> Block {
        self.blocks[id].expect("successors of reachable blocks are reachable")
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
        let len = self.add_imm(base, p.entry as i64);
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
        let len = self.add_imm(base, p.entry as i64);
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
}
