//! Comparisons, bit operations and shifts. `a` is the top of the stack; what each computes is
//! [`kiln_frontend::semantics`].

use crate::context::Context;

pure_ops!(binary: lt, gt, slt, sgt, eq, and, or, xor, byte, shl, shr, sar; unary: iszero, not, clz);

#[cfg(test)]
mod tests {
    use alloy_primitives::U256;
    use kiln_frontend::semantics as sem;

    #[test]
    fn signed_less_than() {
        let m1 = U256::MAX;
        assert!(sem::signed_lt(m1, U256::ZERO));
        assert!(!sem::signed_lt(U256::ZERO, m1));
        assert!(sem::signed_lt(U256::from(1), U256::from(2)));
        assert!(sem::signed_lt(U256::from(1) << 255, m1));
    }
}
