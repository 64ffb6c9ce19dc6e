//! Defining a lowered function in a module, with the register allocator chosen by its size.
//!
//! The backtracking allocator makes the fast code (see [`crate::jit::host_isa`]) but its cost
//! grows faster than linearly with the number of blocks: a contract of 24K JUMPDESTs behind one
//! dynamic jump lowers to about 50K blocks and took seconds. Functions past a size where no
//! real contract goes (fiat_token, 23 KB, lowers to about 7K blocks and 140K instructions) are
//! given the single-pass allocator, which keeps compile time linear; they run slower, which
//! is the right trade for code that is mostly padding.

use crate::CompileError;
use cranelift_codegen::control::ControlPlane;
use cranelift_codegen::isa::TargetIsa;
use cranelift_codegen::Context;
use cranelift_module::{FuncId, Module, ModuleReloc};

/// Blocks past which a function is compiled with the single-pass allocator.
const LARGE_BLOCKS: usize = 20_000;
/// Instructions past which a function is compiled with the single-pass allocator.
const LARGE_INSTS: usize = 300_000;

/// Compiles `ctx.func` and defines it as `id` in `module`: with the module's own ISA, or with
/// `large` (the same target and flags, single-pass allocation) when the function is large.
/// Returns the machine code size.
pub(crate) fn define<M: Module>(
    module: &mut M,
    id: FuncId,
    ctx: &mut Context,
    large: &dyn TargetIsa,
) -> Result<usize, CompileError> {
    let blocks = ctx.func.layout.blocks().count();
    if blocks <= LARGE_BLOCKS && ctx.func.dfg.num_insts() <= LARGE_INSTS {
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
