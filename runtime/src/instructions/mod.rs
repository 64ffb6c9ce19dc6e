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

/// Stack instructions for the pure binary and unary operations of
/// [`kiln_frontend::semantics`], each named as its definition there.
macro_rules! pure_ops {
    (binary: $($bin:ident),*; unary: $($un:ident),*) => {
        $(
            #[inline(always)]
            pub fn $bin(ctx: &mut Context) {
                binop!(ctx, |a, b| kiln_frontend::semantics::$bin(a, b));
            }
        )*
        $(
            #[inline(always)]
            pub fn $un(ctx: &mut Context) {
                let top = ctx.stack.top();
                *top = kiln_frontend::semantics::$un(*top);
            }
        )*
    };
}

pub mod arithmetic;
pub mod bitwise;
pub mod contract;
pub mod control;
pub mod host_ops;
pub mod memory;
pub mod system;
