//! Defining a lowered function in a module, with the register allocator chosen by its size.
//!
//! The backtracking allocator makes the fast code (see `jit::host_isa`) but its cost
//! grows faster than linearly with the number of blocks: a contract of 24K JUMPDESTs behind one
//! dynamic jump lowers to about 50K blocks and took seconds. It also grows quadratically with
//! the block parameters that chain into one bundle: 24 KiB of small loops, each jumping two
//! blocks back, lowers to 16K parameters (one stack slot and the gas through every block) and
//! took 1.4 s, against 0.12 s single-pass. Functions past a size where no real contract goes
//! (fiat_token, 23 KB, lowers to about 7K blocks, 140K instructions and 8.7K parameters) are
//! given the single-pass allocator, which keeps compile time linear; they run slower, which
//! is the right trade for code that is mostly padding or built to be slow to compile.
//!
//! Its cost also grows quadratically with the values live at once: a block of 1,000 GAS
//! instructions before a dynamic jump keeps 1,000 values live until the jump writes them to
//! the stack, and took 0.7 s for 1 KB (1.3 s for a 1.3 KB program of the differential test);
//! single-pass, 26 ms. [`pressure`] measures that, and past `LARGE_PRESSURE` the single-pass
//! allocator takes the function too.
//!
//! A function lowered for the backtracking allocator carries whole regions of the stack in
//! variables ([`Carry::Regions`]); the single-pass allocator keeps each of them in a stack slot
//! and copies it on every edge (onchain-lm-v2 with one block of a hundred GAS values added ran
//! at 0.68x the interpreter; lowered again, 2.05x). So a large function is lowered again as the quick tier lowers,
//! carrying each block's inputs only ([`Carry::Inputs`]), before the single-pass allocator
//! compiles it.

use crate::analysis::uses::exit_uses;
use crate::lower::{lower, Carry};
use crate::CompileError;
use cranelift_codegen::control::ControlPlane;
use cranelift_codegen::ir::Function;
use cranelift_codegen::isa::TargetIsa;
use cranelift_codegen::Context;
use cranelift_frontend::FunctionBuilderContext;
use cranelift_module::{FuncId, Module, ModuleReloc};
use kiln_ir::InstKind;
use std::collections::HashMap;

/// Blocks past which a function is compiled with the single-pass allocator.
const LARGE_BLOCKS: usize = 20_000;
/// Instructions past which a function is compiled with the single-pass allocator.
const LARGE_INSTS: usize = 300_000;
/// Block parameters past which a function is compiled with the single-pass allocator.
const LARGE_PARAMS: usize = 12_000;

/// Words live at once in a block ([`pressure`]) past which a function is compiled with the
/// single-pass allocator. The busiest block of the contracts in `shared/benchmarks` keeps 19
/// (Solidity reaches 16 stack items); GAS values before a dynamic jump compile in 2 ms at 50,
/// 12 ms at 150 and 0.7 s at 1,000, where single-pass takes 27 ms.
pub(crate) const LARGE_PRESSURE: usize = 64;

/// Whether `func` is past the sizes the backtracking allocator handles in bounded time.
pub fn is_large(func: &Function, f: &kiln_ir::Function) -> bool {
    let blocks = func.layout.blocks().count();
    let params: usize = func.layout.blocks().map(|b| func.dfg.block_params(b).len()).sum();
    blocks > LARGE_BLOCKS
        || func.dfg.num_insts() > LARGE_INSTS
        || params > LARGE_PARAMS
        || pressure(f) > LARGE_PRESSURE
}

/// The most words computed at run time that one block of `f` keeps live at once: each from
/// the instruction or entry load that defines it to its last use in the block, or to the
/// block's end when its exit stack or terminator uses it. Constants are left out: the x64
/// backend folds them into their uses, so they take no register.
pub fn pressure(f: &kiln_ir::Function) -> usize {
    let mut most = 0;
    let mut last: HashMap<u32, usize> = HashMap::new();
    let mut deaths = Vec::new();
    for block in &f.blocks {
        let n = block.insts.len();
        last.clear();
        for (pos, inst) in block.insts.iter().enumerate() {
            for a in &inst.args {
                last.insert(a.0, pos);
            }
        }
        for v in exit_uses(block) {
            last.insert(v, n);
        }
        deaths.clear();
        deaths.resize(n + 1, 0usize);
        let mut live = 0usize;
        for (pos, inst) in block.insts.iter().enumerate() {
            // Operands used for the last time here die before the result is defined.
            live -= deaths[pos];
            let Some(r) = inst.result else { continue };
            if matches!(inst.kind, InstKind::Const(_)) {
                continue;
            }
            if let Some(&l) = last.get(&r.0).filter(|&&l| l > pos) {
                live += 1;
                deaths[l] += 1;
                most = most.max(live);
            }
        }
    }
    most
}

/// Compiles `ctx.func` (`f` lowered as `carry` says) and defines it as `id` in `module`: with
/// the module's own ISA, or with `large` (the same target and flags, single-pass allocation)
/// when the function is large, lowered again carrying inputs if it carried regions. Returns
/// the machine code size.
pub(crate) fn define<M: Module>(
    module: &mut M,
    id: FuncId,
    f: &kiln_ir::Function,
    ctx: &mut Context,
    large: &dyn TargetIsa,
    (fctx, carry): (&mut FunctionBuilderContext, Carry),
) -> Result<usize, CompileError> {
    if !is_large(&ctx.func, f) {
        module.define_function(id, ctx).map_err(|e| CompileError::Backend(format!("{e:?}")))?;
        return Ok(ctx.compiled_code().map_or(0, |c| c.code_buffer().len()));
    }
    if carry == Carry::Regions {
        lower_again(ctx, f, fctx, large)?;
    }
    let alignment = ctx
        .compile(large, &mut ControlPlane::default())
        .map_err(|e| CompileError::Backend(format!("{:?}", e.inner)))?
        .buffer
        .alignment as u64;
    let compiled = ctx.compiled_code().expect("just compiled");
    let relocs: Vec<ModuleReloc> = compiled
        .buffer
        .relocs()
        .iter()
        .map(|r| ModuleReloc::from_mach_reloc(r, &ctx.func, id))
        .collect();
    let bytes = compiled.code_buffer().to_vec();
    let alignment = alignment.max(large.function_alignment().minimum as u64);
    module
        .define_function_bytes(id, alignment, &bytes, &relocs)
        .map_err(|e| CompileError::Backend(format!("{e:?}")))?;
    Ok(bytes.len())
}

/// Lowers `f` into `ctx.func` again, carrying each block's inputs only, for the single-pass
/// allocator. The signature and name stay.
fn lower_again(
    ctx: &mut Context,
    f: &kiln_ir::Function,
    fctx: &mut FunctionBuilderContext,
    large: &dyn TargetIsa,
) -> Result<(), CompileError> {
    let (signature, name) = (ctx.func.signature.clone(), ctx.func.name.clone());
    ctx.clear();
    ctx.func.signature = signature;
    ctx.func.name = name;
    lower(f, &mut ctx.func, fctx, large.frontend_config(), Carry::Inputs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lower::native_signature;
    use cranelift_jit::{JITBuilder, JITModule};
    use cranelift_module::{default_libcall_names, Linkage};
    use kiln_frontend::SpecId;

    fn lowered(code: &[u8]) -> cranelift_codegen::ir::Function {
        let isa = crate::jit::host_isa_for_tools().unwrap();
        let mut func = cranelift_codegen::ir::Function::new();
        func.signature = native_signature(isa.default_call_conv());
        let f = kiln_ir::build(code, SpecId::Prague);
        let config = isa.frontend_config();
        lower(&f, &mut func, &mut FunctionBuilderContext::new(), config, Carry::Regions)
            .expect("lowered");
        func
    }

    /// `blocks` loops of `JUMPDEST PUSH1 1 ADD DUP1 PUSH2 back JUMPI`, each jumping two back.
    fn chained_loops(blocks: usize) -> Vec<u8> {
        let mut code = Vec::new();
        for i in 0..blocks {
            let back = (i.saturating_sub(2) * 9) as u16;
            code.extend_from_slice(&[0x5b, 0x60, 0x01, 0x01, 0x80, 0x61]);
            code.extend_from_slice(&back.to_be_bytes());
            code.push(0x57);
        }
        code
    }

    /// `n` GAS instructions (each its own gas section, so its own Cranelift block), then a jump
    /// to a target read from call data: all `n` values stay live until the jump writes them to
    /// the stack.
    fn gas_then_dynamic_jump(n: usize) -> Vec<u8> {
        let mut code = vec![0x5a; n];
        code.extend_from_slice(&[0x5f, 0x35, 0x56, 0x5b, 0x00]);
        code
    }

    fn block_params(func: &cranelift_codegen::ir::Function) -> usize {
        func.layout.blocks().map(|b| func.dfg.block_params(b).len()).sum()
    }

    /// Sixteen items under a loop that only touches the top, then a hundred GAS values live
    /// at once (past `LARGE_PRESSURE`): the single-pass allocator compiles it, from a
    /// lowering that hands each block only its inputs, not the loop's whole stack.
    #[test]
    fn large_functions_are_lowered_again_carrying_inputs() {
        let mut code = vec![0x5f; 16]; // PUSH0 x16
        code.extend_from_slice(&[0x5b, 0x60, 0x01, 0x01, 0x80, 0x36, 0x11, 0x60, 0x10, 0x57]);
        code.extend_from_slice(&[0x5a; 100]); // GAS x100
        code.extend_from_slice(&[0x5f, 0x35, 0x56, 0x5b, 0x00]); // PUSH0 CALLDATALOAD JUMP
        let f = kiln_ir::build(&code, SpecId::Prague);
        let isa = crate::jit::host_isa_for_tools().unwrap();
        let large = crate::jit::large_isa(false).unwrap();
        let mut module = JITModule::new(JITBuilder::with_isa(isa.clone(), default_libcall_names()));
        let sig = native_signature(isa.default_call_conv());
        let id = module.declare_function("large", Linkage::Local, &sig).unwrap();
        let mut ctx = module.make_context();
        ctx.func.signature = sig;
        let mut fctx = FunctionBuilderContext::new();
        lower(&f, &mut ctx.func, &mut fctx, isa.frontend_config(), Carry::Regions).unwrap();
        assert!(is_large(&ctx.func, &f));
        let regions = block_params(&ctx.func);

        define(&mut module, id, &f, &mut ctx, &*large, (&mut fctx, Carry::Regions)).unwrap();
        let mut inputs = cranelift_codegen::ir::Function::new();
        inputs.signature = ctx.func.signature.clone();
        lower(&f, &mut inputs, &mut fctx, isa.frontend_config(), Carry::Inputs).unwrap();
        assert_eq!(block_params(&ctx.func), block_params(&inputs), "lowered carrying inputs");
        assert!(block_params(&inputs) < regions, "{} against {regions}", block_params(&inputs));
    }

    /// Byte swaps and additions of zero in `func`.
    fn foldable(func: &cranelift_codegen::ir::Function) -> (usize, usize) {
        use cranelift_codegen::ir::{InstructionData, Opcode};
        let (mut swaps, mut zeros) = (0, 0);
        for b in func.layout.blocks() {
            for i in func.layout.block_insts(b) {
                match func.dfg.insts[i] {
                    InstructionData::Unary { opcode: Opcode::Bswap, .. } => swaps += 1,
                    InstructionData::Binary { opcode: Opcode::Iadd, args } => {
                        let zero = |v| crate::word::const_value(&func.dfg, v) == Some(0);
                        zeros += usize::from(zero(args[0]) || zero(args[1]));
                    }
                    _ => {}
                }
            }
        }
        (swaps, zeros)
    }

    /// Solidity's prologue (MSTORE of a constant) and a JUMPDEST at height 0 that a dynamic
    /// JUMPI and its fall-through both reach: code for the single-pass allocator swaps the
    /// constant and skips the landing pad's `height - 0` at compile time; code for the
    /// backtracking allocator keeps both (the addition splits a live range there).
    #[test]
    fn constants_are_folded_for_the_single_pass_allocator_only() {
        // PUSH1 0x80 PUSH1 0x40 MSTORE, CALLDATASIZE CALLDATASIZE JUMPI, JUMPDEST STOP.
        let code = [0x60, 0x80, 0x60, 0x40, 0x52, 0x36, 0x36, 0x57, 0x5b, 0x00];
        let f = kiln_ir::build(&code, SpecId::Prague);
        let isa = crate::jit::host_isa_for_tools().unwrap();
        let lowered_as = |carry| {
            let mut func = cranelift_codegen::ir::Function::new();
            func.signature = native_signature(isa.default_call_conv());
            let mut fctx = FunctionBuilderContext::new();
            lower(&f, &mut func, &mut fctx, isa.frontend_config(), carry).unwrap();
            func
        };
        let (swaps, zeros) = foldable(&lowered_as(Carry::Regions));
        assert!(swaps >= 4 && zeros >= 1, "regions: {swaps} swaps, {zeros} additions of 0");
        assert_eq!(foldable(&lowered_as(Carry::Inputs)), (0, 0), "inputs: folded");
    }

    #[test]
    fn a_thousand_live_values_take_the_single_pass_allocator() {
        let code = gas_then_dynamic_jump(1000);
        let f = kiln_ir::build(&code, SpecId::Prague);
        assert_eq!(pressure(&f), 1001, "the GAS values and the jump target");
        assert!(is_large(&lowered(&code), &f));
        // As many as the busiest block of the benchmark contracts (19) stay with the
        // backtracking allocator, and so do constants, which take no register.
        let code = gas_then_dynamic_jump(20);
        let f = kiln_ir::build(&code, SpecId::Prague);
        assert!(!is_large(&lowered(&code), &f));
        let mut pushes = [0x60, 0x01].repeat(1000);
        pushes.extend_from_slice(&[0x5f, 0x35, 0x56, 0x5b, 0x00]);
        let f = kiln_ir::build(&pushes, SpecId::Prague);
        assert_eq!(pressure(&f), 1, "only the jump target is computed");
    }

    #[test]
    fn parameters_chained_through_thousands_of_loops_take_the_single_pass_allocator() {
        // 24 KiB of them: about 16K block parameters.
        let code = chained_loops(24 * 1024 / 9);
        assert!(is_large(&lowered(&code), &kiln_ir::build(&code, SpecId::Prague)));
        // A few hundred, as real contracts have, stay with the backtracking allocator.
        let code = chained_loops(300);
        assert!(!is_large(&lowered(&code), &kiln_ir::build(&code, SpecId::Prague)));
    }
}
