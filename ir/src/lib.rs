//! Kiln's SSA IR.
//!
//! Each basic block is lifted by abstract interpretation of the EVM stack: stack slots become
//! SSA values, so `PUSH1 4 PUSH1 5 ADD` is one constant after folding and DUP, SWAP and POP
//! vanish. At block boundaries the stack lives in memory (the context's stack), which keeps
//! blocks independent and makes resuming after a call trivial. Each block carries its static
//! gas in sections and its stack requirement, so both are checked once per block.
//!
//! - [`function`]: the IR types;
//! - [`lift`](mod@lift): bytecode → IR;
//! - [`passes`]: constant folding, jump resolution, dead-block removal;
//! - [`bounds`]: values that provably fit 64 bits (gas-bounded loop counters);
//! - [`verify`](mod@verify): the verifier every pass is tested against;
//! - [`print`](mod@print): the text form (`kiln ir CODE`).

pub mod bounds;
pub mod function;
pub mod lift;
pub mod passes;
pub mod print;
pub mod verify;

pub use function::{
    Block, BlockId, Function, GasSection, Inst, InstKind, Target, Terminator, Value,
};
pub use lift::lift;
pub use verify::{verify, VerifyError, VerifyErrors};

/// Lifts `code` for `spec` and runs the standard pass pipeline, verifying in debug builds.
pub fn build(code: &[u8], spec: kiln_frontend::SpecId) -> Function {
    build_covered(code, spec, None)
}

/// As [`build`]; with `covered` (a bit per code offset), the blocks whose start it lacks are
/// left to the interpreter ([`passes::uncovered`]).
pub fn build_covered(
    code: &[u8],
    spec: kiln_frontend::SpecId,
    covered: Option<&[u64]>,
) -> Function {
    let mut f = lift(code, spec);
    if let Some(bits) = covered {
        passes::uncovered::run(&mut f, bits);
    }
    debug_assert_eq!(verify(&f), Ok(()), "lifted IR");
    passes::run_all(&mut f);
    debug_assert_eq!(verify(&f), Ok(()), "optimized IR");
    f
}
