//! Kiln's code generator: IR to Cranelift, finished by the JIT (in memory) or as an object
//! file linked into a shared library (AOT).

pub mod aot;
mod dead_code;
mod define;
pub mod jit;
pub mod jit_unit;
mod loops;
pub mod lower;
pub mod memory_checks;
pub mod stack_plan;
pub mod word;

pub use aot::{AotCompiler, AotLibrary, LoadError};
pub use jit::{JitCompiler, JitStats};
pub use jit_unit::{compile_standalone, CompiledContract, UnitCompiler};

/// Why a contract could not be compiled.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CompileError {
    #[error("code generation failed: {0}")]
    Backend(String),
    #[error("linking failed: {0}")]
    Link(String),
}
