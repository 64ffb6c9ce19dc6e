//! Compiled units: one contract's native code in executable memory of its own, so that a
//! cache can hand it between threads and free it when evicted.
//!
//! [`crate::JitCompiler`] keeps every function in one module that lives as long as the
//! compiler; a tiered cache instead needs code it can compile on a worker thread, run on any
//! thread and drop individually. Each [`CompiledContract`] owns a `JITModule` holding its one
//! function and frees the module's memory when dropped. Callers keep the unit alive (behind an
//! `Arc`) for as long as any frame may run or be suspended in its code.

use crate::jit::{host_isa, large_isa};
use crate::lower::{lower, native_signature};
use crate::tier::CodeTier;
use crate::CompileError;
use cranelift_codegen::isa::OwnedTargetIsa;
use cranelift_frontend::FunctionBuilderContext;
use cranelift_jit::{JITBuilder, JITModule};
use cranelift_module::{default_libcall_names, Linkage, Module};
use kiln_frontend::SpecId;
use kiln_runtime::NativeFn;
use std::time::{Duration, Instant};

/// Executable memory is mapped in whole pages; a unit costs at least one page of code.
const PAGE: usize = 4096;

/// One contract compiled for one fork, owning its executable memory.
pub struct CompiledContract {
    // `Option` so that `Drop` can move the module into `free_memory`.
    module: Option<JITModule>,
    entry: NativeFn,
    tier: CodeTier,
    /// Compiled from a coverage bitmap: blocks no run had entered leave for the interpreter.
    partial: bool,
    code_bytes: usize,
    compile_time: Duration,
}

// SAFETY: after `compile` finishes, the module is never used again except to free its memory
// in `Drop`, which runs once, on whichever thread drops the last owner; no `&self` method
// touches it, so sharing references across threads cannot reach its interior mutability.
// The entry is a plain function pointer into memory that stays mapped until that drop.
unsafe impl Send for CompiledContract {}
// SAFETY: see `Send`: `&CompiledContract` only exposes copies of plain data.
unsafe impl Sync for CompiledContract {}

impl CompiledContract {
    /// The function to call for a frame of this contract. Valid while `self` is alive: keep
    /// the unit alive until no frame can be running or suspended in it.
    pub fn entry(&self) -> NativeFn {
        self.entry
    }

    /// The tier it was compiled for.
    pub fn tier(&self) -> CodeTier {
        self.tier
    }

    /// Whether it holds only the blocks runs had entered ([`UnitCompiler::compile_covered`]).
    pub fn is_partial(&self) -> bool {
        self.partial
    }

    /// Bytes of machine code emitted.
    pub fn code_bytes(&self) -> usize {
        self.code_bytes
    }

    /// Executable memory this unit holds: its code rounded up to whole pages.
    pub fn memory_bytes(&self) -> usize {
        self.code_bytes.max(1).div_ceil(PAGE) * PAGE
    }

    /// Wall time from bytecode to callable code.
    pub fn compile_time(&self) -> Duration {
        self.compile_time
    }
}

impl Drop for CompiledContract {
    fn drop(&mut self) {
        if let Some(module) = self.module.take() {
            // SAFETY: `self` is being dropped, so no owner is left: by the contract of
            // `entry`, no frame is running or suspended in this code and its pointer will not
            // be called again.
            unsafe { module.free_memory() };
        }
    }
}

impl std::fmt::Debug for CompiledContract {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CompiledContract")
            .field("tier", &self.tier)
            .field("code_bytes", &self.code_bytes)
            .field("compile_time", &self.compile_time)
            .finish_non_exhaustive()
    }
}

/// Compiles contracts into [`CompiledContract`]s. Reusable: one per worker thread keeps the
/// ISA and builder context across compilations.
pub struct UnitCompiler {
    isa: OwnedTargetIsa,
    large: OwnedTargetIsa,
    fctx: FunctionBuilderContext,
    /// Kept across compiles, cleared in between: a fresh context allocated its buffers anew
    /// each time, and a tenth of a quick compile went to page faults on them.
    ctx: cranelift_codegen::Context,
}

impl UnitCompiler {
    pub fn new() -> Result<Self, CompileError> {
        Ok(Self {
            isa: host_isa(false)?,
            large: large_isa(false)?,
            fctx: FunctionBuilderContext::new(),
            ctx: cranelift_codegen::Context::new(),
        })
    }

    /// Compiles `code` for `spec` in `tier` into a unit of its own.
    pub fn compile(
        &mut self,
        code: &[u8],
        spec: SpecId,
        tier: CodeTier,
    ) -> Result<CompiledContract, CompileError> {
        self.compile_covered(code, spec, tier, None)
    }

    /// As [`UnitCompiler::compile`]; with `covered` (a bit per code offset, see
    /// [`kiln_ir::passes::uncovered`]), only the blocks whose starts it holds, and what
    /// they reach without passing through another block: the rest hands the frame to the
    /// interpreter ([`kiln_runtime::context::Status::Interpret`]).
    pub fn compile_covered(
        &mut self,
        code: &[u8],
        spec: SpecId,
        tier: CodeTier,
        covered: Option<&[u64]>,
    ) -> Result<CompiledContract, CompileError> {
        let start = Instant::now();
        let backend = |e: &dyn std::fmt::Display| CompileError::Backend(e.to_string());
        let isa = match tier {
            CodeTier::Quick => self.large.clone(),
            CodeTier::Optimizing => self.isa.clone(),
        };
        let mut module = JITModule::new(JITBuilder::with_isa(isa, default_libcall_names()));
        let f = kiln_ir::build_covered(code, spec, covered);
        let sig = native_signature(module.isa().default_call_conv());
        let id =
            module.declare_function("kiln_unit", Linkage::Local, &sig).map_err(|e| backend(&e))?;
        let ctx = &mut self.ctx;
        module.clear_context(ctx);
        ctx.func.signature = sig;
        lower(&f, &mut ctx.func, &mut self.fctx, module.target_config(), tier.carry())?;
        let lowered = (&mut self.fctx, tier.carry());
        let code_bytes = crate::define::define(&mut module, id, &f, ctx, &*self.large, lowered)?;
        module.finalize_definitions().map_err(|e| backend(&e))?;
        let ptr = module.get_finalized_function(id);
        // SAFETY: `ptr` is the entry of a function just compiled with `native_signature`,
        // which is the C ABI of `NativeFn`; the module, kept in the unit, owns the memory.
        let entry = unsafe { std::mem::transmute::<*const u8, NativeFn>(ptr) };
        Ok(CompiledContract {
            module: Some(module),
            entry,
            tier,
            partial: covered.is_some(),
            code_bytes,
            compile_time: start.elapsed(),
        })
    }
}

/// Compiles `code` for `spec` in `tier` into a unit of its own (a fresh [`UnitCompiler`]).
pub fn compile_standalone(
    code: &[u8],
    spec: SpecId,
    tier: CodeTier,
) -> Result<CompiledContract, CompileError> {
    UnitCompiler::new()?.compile(code, spec, tier)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_compile_on_one_thread_and_drop_on_another() {
        for tier in CodeTier::ALL {
            // PUSH1 1 PUSH1 2 ADD STOP
            let unit =
                compile_standalone(&[0x60, 0x01, 0x60, 0x02, 0x01, 0x00], SpecId::Cancun, tier)
                    .expect("compiles");
            assert_eq!(unit.tier(), tier);
            assert!(unit.code_bytes() > 0);
            assert_eq!(unit.memory_bytes() % PAGE, 0);
            assert!(unit.memory_bytes() >= unit.code_bytes());
            std::thread::spawn(move || drop(unit)).join().expect("dropped elsewhere");
        }
    }
}
