//! Defining a lowered function in a module, with the register allocator chosen by its size.
//!
//! The backtracking allocator makes the fast code (see [`crate::jit::host_isa`]) but its cost
//! grows faster than linearly with the number of blocks: a contract of 24K JUMPDESTs behind one
//! dynamic jump lowers to about 50K blocks and took seconds. It also grows quadratically with
//! the block parameters that chain into one bundle: 24 KiB of small loops, each jumping two
//! blocks back, lowers to 16K parameters (one stack slot and the gas through every block) and
//! took 1.4 s, against 0.12 s single-pass. Functions past a size where no real contract goes
//! (fiat_token, 23 KB, lowers to about 7K blocks, 140K instructions and 8.7K parameters) are
//! given the single-pass allocator, which keeps compile time linear; they run slower, which
//! is the right trade for code that is mostly padding or built to be slow to compile.

use crate::CompileError;
use cranelift_codegen::control::ControlPlane;
use cranelift_codegen::isa::TargetIsa;
use cranelift_codegen::Context;
use cranelift_module::{FuncId, Module, ModuleReloc};

/// Blocks past which a function is compiled with the single-pass allocator.
const LARGE_BLOCKS: usize = 20_000;
/// Instructions past which a function is compiled with the single-pass allocator.
const LARGE_INSTS: usize = 300_000;
/// Block parameters past which a function is compiled with the single-pass allocator.
const LARGE_PARAMS: usize = 10_000;

/// Whether `func` is past the sizes the backtracking allocator handles in bounded time.
pub(crate) fn is_large(func: &cranelift_codegen::ir::Function) -> bool {
    let blocks = func.layout.blocks().count();
    let params: usize = func.layout.blocks().map(|b| func.dfg.block_params(b).len()).sum();
    blocks > LARGE_BLOCKS || func.dfg.num_insts() > LARGE_INSTS || params > LARGE_PARAMS
}

/// Compiles `ctx.func` and defines it as `id` in `module`: with the module's own ISA, or with
/// `large` (the same target and flags, single-pass allocation) when the function is large.
/// Returns the machine code size.
pub(crate) fn define<M: Module>(
    module: &mut M,
    id: FuncId,
    ctx: &mut Context,
    large: &dyn TargetIsa,
) -> Result<usize, CompileError> {
    if !is_large(&ctx.func) {
        module.define_function(id, ctx).map_err(|e| CompileError::Backend(format!("{e:?}")))?;
        return Ok(ctx.compiled_code().map_or(0, |c| c.code_buffer().len()));
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lower::{lower, native_signature};
    use cranelift_frontend::FunctionBuilderContext;
    use kiln_frontend::SpecId;

    fn lowered(code: &[u8]) -> cranelift_codegen::ir::Function {
        let isa = crate::jit::host_isa_for_tools().unwrap();
        let mut func = cranelift_codegen::ir::Function::new();
        func.signature = native_signature(isa.default_call_conv());
        let f = kiln_ir::build(code, SpecId::Prague);
        lower(&f, &mut func, &mut FunctionBuilderContext::new(), isa.frontend_config())
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

    #[test]
    fn parameters_chained_through_thousands_of_loops_take_the_single_pass_allocator() {
        // 24 KiB of them: about 16K block parameters.
        assert!(is_large(&lowered(&chained_loops(24 * 1024 / 9))));
        // A few hundred, as real contracts have, stay with the backtracking allocator.
        assert!(!is_large(&lowered(&chained_loops(300))));
    }
}
