//! The JIT: compiles contracts into executable memory with `cranelift-jit` and keeps them,
//! keyed by (code hash, fork), for reuse across calls and transactions.

use crate::lower::{lower, native_signature, Carry};
use crate::tier::CodeTier;
use crate::CompileError;
use alloy_primitives::map::HashMap;
use alloy_primitives::{keccak256, B256};
use cranelift_codegen::settings::{self, Configurable};
use cranelift_frontend::FunctionBuilderContext;
use cranelift_jit::{JITBuilder, JITModule};
use cranelift_module::{default_libcall_names, Linkage, Module};
use kiln_frontend::SpecId;
use kiln_runtime::code::AnalyzedCode;
use kiln_runtime::{NativeCode, NativeFn};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Counters for what the JIT did.
#[derive(Clone, Debug, Default)]
pub struct JitStats {
    pub compiled: usize,
    pub failed: usize,
    /// Of `failed`: refused because the stack proof did not hold ([`crate::stack_proof`]).
    pub unproven: usize,
    pub cache_hits: usize,
    pub compile_time: Duration,
    pub code_bytes: usize,
}

/// A JIT compiler with its code cache. Not `Send`: each thread that runs compiled code owns
/// one (compiled code is tied to the module's memory).
pub struct JitCompiler {
    module: JITModule,
    large: std::sync::Arc<dyn cranelift_codegen::isa::TargetIsa>,
    ctx: cranelift_codegen::Context,
    fctx: FunctionBuilderContext,
    cache: HashMap<(B256, SpecId), Option<NativeFn>>,
    stats: JitStats,
    next_id: u32,
    /// How the tier compiled for carries the stack between blocks ([`CodeTier::carry`]).
    carry: Carry,
}

/// The Cranelift ISA for this machine. `pic` for code that goes into shared objects.
pub(crate) fn host_isa(
    pic: bool,
) -> Result<std::sync::Arc<dyn cranelift_codegen::isa::TargetIsa>, CompileError> {
    host_isa_with(pic, None)
}

/// [`host_isa`] with single-pass register allocation, for large functions (see
/// [`crate::define`]).
pub(crate) fn large_isa(
    pic: bool,
) -> Result<std::sync::Arc<dyn cranelift_codegen::isa::TargetIsa>, CompileError> {
    host_isa_with(pic, Some("single_pass"))
}

fn host_isa_with(
    pic: bool,
    regalloc: Option<&str>,
) -> Result<std::sync::Arc<dyn cranelift_codegen::isa::TargetIsa>, CompileError> {
    let mut flags = settings::builder();
    let set = |flags: &mut settings::Builder, k: &str, v: &str| {
        flags.set(k, v).map_err(|e| CompileError::Backend(format!("setting {k}={v}: {e}")))
    };
    // Cranelift's single-pass register allocator compiles 4-5x faster but keeps every value
    // in a stack slot across block boundaries, and compiled EVM code is all block boundaries
    // (every gas and stack check branches): its code runs snailtracer 1.6x and fibonacci 3x
    // slower than the backtracking allocator's (docs/design.md, "Register allocation"). The
    // backtracking allocator keeps stack slots and gas in registers through loops; compile
    // latency is what the tiered mode's background workers are for. KILN_REGALLOC overrides
    // the choice, for experiments.
    //
    // The mid-end stays off (`opt_level=none`), and not only for compile time: the builtins'
    // trampolines save the general-purpose registers that `preserve_all` promises but not the
    // vector registers, which Rust code clobbers. Lowering builds each vector (a runtime
    // call's operand halves) right before its store, so none is live across a call; the
    // mid-end's value numbering shares equal vectors between calls and broke that (with
    // `opt_level=speed`, 10,751 state-test cases failed).
    set(&mut flags, "opt_level", "none")?;
    let ra = match regalloc {
        Some(ra) => ra.to_string(),
        None => std::env::var("KILN_REGALLOC").unwrap_or_else(|_| "backtracking".into()),
    };
    set(&mut flags, "regalloc_algorithm", &ra)?;
    set(&mut flags, "is_pic", if pic { "true" } else { "false" })?;
    set(&mut flags, "use_colocated_libcalls", "false")?;
    set(&mut flags, "enable_verifier", if cfg!(debug_assertions) { "true" } else { "false" })?;
    let isa = cranelift_native::builder()
        .map_err(|e| CompileError::Backend(format!("host not supported: {e}")))?
        .finish(settings::Flags::new(flags))
        .map_err(|e| CompileError::Backend(e.to_string()))?;
    Ok(isa)
}

impl JitCompiler {
    /// A JIT compiling in the tier `KILN_JIT_TIER` names, optimizing when unset
    /// ([`CodeTier::from_env`]).
    pub fn new() -> Result<Self, CompileError> {
        Self::with_tier(CodeTier::from_env()?)
    }

    /// A JIT compiling everything in `tier`.
    pub fn with_tier(tier: CodeTier) -> Result<Self, CompileError> {
        let isa = match tier {
            CodeTier::Quick => large_isa(false)?,
            CodeTier::Optimizing => host_isa(false)?,
        };
        let module = JITModule::new(JITBuilder::with_isa(isa, default_libcall_names()));
        let ctx = module.make_context();
        Ok(Self {
            module,
            large: large_isa(false)?,
            ctx,
            fctx: FunctionBuilderContext::new(),
            cache: HashMap::default(),
            stats: JitStats::default(),
            next_id: 0,
            carry: tier.carry(),
        })
    }

    pub fn stats(&self) -> &JitStats {
        &self.stats
    }

    /// Compiles `code` for `spec` (uncached).
    pub fn compile(&mut self, code: &[u8], spec: SpecId) -> Result<NativeFn, CompileError> {
        let start = Instant::now();
        let f = kiln_ir::build_covered(code, spec, crate::sparse_coverage(code.len()).as_deref());
        let sig = native_signature(self.module.isa().default_call_conv());
        let name = format!("kiln_{}", self.next_id);
        self.next_id += 1;
        self.module.clear_context(&mut self.ctx);
        self.ctx.func.signature = sig.clone();
        // Lowered before the function is declared: code the compiler refuses leaves no
        // undefined function behind in the module.
        lower(&f, &mut self.ctx.func, &mut self.fctx, self.module.target_config(), self.carry)?;
        let id = self
            .module
            .declare_function(&name, Linkage::Local, &sig)
            .map_err(|e| CompileError::Backend(e.to_string()))?;
        let lowered = (&mut self.fctx, self.carry);
        let size =
            crate::define::define(&mut self.module, id, &f, &mut self.ctx, &*self.large, lowered)?;
        self.module.clear_context(&mut self.ctx);
        self.module.finalize_definitions().map_err(|e| CompileError::Backend(e.to_string()))?;
        let ptr = self.module.get_finalized_function(id);
        self.stats.compile_time += start.elapsed();
        self.stats.code_bytes += size;
        self.stats.compiled += 1;
        // SAFETY: `ptr` is the entry of a function just compiled with `native_signature`,
        // which is the C ABI of `NativeFn`; the module keeps the memory alive as long as self.
        Ok(unsafe { std::mem::transmute::<*const u8, NativeFn>(ptr) })
    }

    /// The compiled function for `code`, compiling it on first use.
    pub fn get(&mut self, code: &AnalyzedCode, spec: SpecId) -> Option<NativeFn> {
        let hash = if code.hash() == B256::ZERO { keccak256(code.bytes()) } else { code.hash() };
        if let Some(f) = self.cache.get(&(hash, spec)) {
            self.stats.cache_hits += 1;
            return *f;
        }
        let compiled = match self.compile(code.bytes(), spec) {
            Ok(f) => Some(f),
            Err(e) => {
                self.stats.failed += 1;
                if matches!(e, CompileError::UnprovenStack(_)) {
                    self.stats.unproven += 1;
                }
                None
            }
        };
        self.cache.insert((hash, spec), compiled);
        compiled
    }
}

impl NativeCode for JitCompiler {
    fn lookup(&mut self, code: &Arc<AnalyzedCode>, spec: SpecId) -> Option<NativeFn> {
        self.get(code, spec)
    }
}

/// The JIT's target, for tools that drive Cranelift directly (the `disasm` example).
pub fn host_isa_for_tools(
) -> Result<std::sync::Arc<dyn cranelift_codegen::isa::TargetIsa>, CompileError> {
    host_isa(false)
}

/// The JIT's target with the named register allocator (`backtracking` or `single_pass`), for
/// tools that compare them (the `compile_time` example).
pub fn host_isa_for_tools_with(
    regalloc: &str,
) -> Result<std::sync::Arc<dyn cranelift_codegen::isa::TargetIsa>, CompileError> {
    host_isa_with(false, Some(regalloc))
}

#[cfg(test)]
mod tests {
    use super::*;
    use cranelift_codegen::settings::OptLevel;

    /// The builtins' trampolines do not save vector registers, which is sound only while no
    /// pass moves a vector value across a call: every ISA Kiln compiles with must keep
    /// Cranelift's mid-end off (see `host_isa_with`).
    #[test]
    fn every_isa_keeps_the_mid_end_off() {
        for isa in [host_isa(false), host_isa(true), large_isa(false), large_isa(true)] {
            assert_eq!(isa.expect("host ISA").flags().opt_level(), OptLevel::None);
        }
    }
}
