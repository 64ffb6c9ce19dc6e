//! Kiln's code generator: IR to Cranelift, finished by the JIT (in memory) or as an object
//! file linked into a shared library (AOT).

pub mod analysis;
pub mod aot;
mod dead_code;
pub mod define;
pub mod jit;
pub mod jit_unit;
pub mod lower;
pub mod stack_proof;
#[cfg(test)]
mod stack_safety_tests;
pub mod tier;
pub mod word;

pub use aot::{AotCompiler, AotLibrary, LoadError};
pub use jit::{JitCompiler, JitStats};
pub use jit_unit::{compile_standalone, CompiledContract, UnitCompiler};
pub use tier::{CodeTier, UnknownTier};

/// Whether code generation is checked (`KILN_CHECKED=1` in the environment, read once):
/// every access compiled code makes to a stack slot, to EVM memory, to the call data or to
/// the jump tables first asserts its bounds at run time, and halts the frame with
/// `Status::BoundsFault` (a fatal error) instead of touching memory outside its buffer. For
/// CI and for hunting compiler defects: the checks cost run time.
pub fn checked_mode() -> bool {
    static CHECKED: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *CHECKED.get_or_init(|| std::env::var("KILN_CHECKED").is_ok_and(|v| v == "1"))
}

/// Functions the stack proof refused in this process ([`CompileError::UnprovenStack`]): each
/// runs in the interpreter instead, which tools report, since a refusal is either a proof too
/// weak for real code or a lowering defect the proof caught.
pub fn refused_by_stack_proof() -> u64 {
    REFUSED.load(std::sync::atomic::Ordering::Relaxed)
}

static REFUSED: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// Why a contract could not be compiled.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CompileError {
    #[error("code generation failed: {0}")]
    Backend(String),
    #[error("linking failed: {0}")]
    Link(String),
    /// The compiler could not prove every stack access of the code inside the stack buffer:
    /// the code runs in the interpreter.
    #[error("refused: {0}")]
    UnprovenStack(#[from] stack_proof::Unproven),
    /// The library was built but could not be loaded back ([`AotCompiler::into_library`]).
    #[error(transparent)]
    Load(#[from] aot::LoadError),
}
