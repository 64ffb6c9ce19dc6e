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

/// With `KILN_JIT_PARTIAL=N` in the environment (read once; N a positive number), the JIT of
/// `--mode jit` compiles every contract as if no run had entered about three block starts in
/// eight, chosen by a hash of the offset and N: those blocks hand the frame to the
/// interpreter. For tests: the state tests then cross from compiled code to the interpreter
/// at thousands of places, which the tier policy's partial units do only where runs went
/// differently; each N cuts in other places. Unset, `0` or not a number: whole contracts.
pub fn sparse_coverage(code_len: usize) -> Option<Vec<u64>> {
    static SEED: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    let seed = *SEED.get_or_init(|| {
        std::env::var("KILN_JIT_PARTIAL").ok().and_then(|v| v.trim().parse().ok()).unwrap_or(0)
    });
    (seed != 0).then(|| sparse_bits(code_len, seed))
}

/// Every offset up to `code_len` but three in eight, chosen by a hash of the offset and
/// `seed`.
fn sparse_bits(code_len: usize, seed: u64) -> Vec<u64> {
    let mut bits = vec![0u64; code_len / 64 + 1];
    let salt = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ 0x9e37_79b9;
    for pc in 0..=code_len {
        let eighth = (pc as u64 ^ salt).wrapping_mul(0x2545_f491_4f6c_dd1d) >> 61;
        if eighth >= 3 {
            bits[pc / 64] |= 1 << (pc % 64);
        }
    }
    bits
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
