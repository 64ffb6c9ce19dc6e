//! Instruction semantics, split by family. The interpreter dispatches here and compiled code
//! calls the same functions through the builtin table, so each opcode's meaning lives once.

/// A binary operation on the stack: pops `a` (the top), leaves `b` on top to be overwritten
/// with the result. Declared before the families' modules, which all use it.
macro_rules! binop {
    ($ctx:ident, |$a:ident, $b:ident| $e:expr) => {{
        let $a = $ctx.stack.pop();
        let top = $ctx.stack.top();
        let $b = *top;
        *top = $e;
    }};
}

pub mod arithmetic;
pub mod bitwise;
pub mod contract;
pub mod control;
pub mod host_ops;
pub mod memory;
pub mod system;
