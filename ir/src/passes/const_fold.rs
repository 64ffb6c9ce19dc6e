//! Constant folding: pure opcodes whose operands are all constants become constants.

use crate::function::{Function, InstKind, Value};
use kiln_frontend::opcode as op;
use ruint::aliases::U256;
use std::collections::HashMap;

/// Evaluates a pure opcode on constant operands (top of the stack first), or `None` if the
/// opcode is not pure or not folded.
pub fn eval(opcode: u8, args: &[U256]) -> Option<U256> {
    let b = |x: bool| U256::from(x as u8);
    let neg = |x: U256| x.bit(255);
    let slt = |a: U256, c: U256| if neg(a) != neg(c) { neg(a) } else { a < c };
    Some(match (opcode, args) {
        (op::ADD, [a, c]) => a.wrapping_add(*c),
        (op::MUL, [a, c]) => a.wrapping_mul(*c),
        (op::SUB, [a, c]) => a.wrapping_sub(*c),
        (op::DIV, [a, c]) => a.checked_div(*c).unwrap_or_default(),
        (op::MOD, [a, c]) => a.checked_rem(*c).unwrap_or_default(),
        (op::ADDMOD, [a, c, n]) => a.add_mod(*c, *n),
        (op::MULMOD, [a, c, n]) => a.mul_mod(*c, *n),
        (op::EXP, _) => return None,
        (op::LT, [a, c]) => b(a < c),
        (op::GT, [a, c]) => b(a > c),
        (op::SLT, [a, c]) => b(slt(*a, *c)),
        (op::SGT, [a, c]) => b(slt(*c, *a)),
        (op::EQ, [a, c]) => b(a == c),
        (op::ISZERO, [a]) => b(a.is_zero()),
        (op::AND, [a, c]) => a & c,
        (op::OR, [a, c]) => a | c,
        (op::XOR, [a, c]) => a ^ c,
        (op::NOT, [a]) => !a,
        (op::BYTE, [i, x]) => {
            if *i < U256::from(32) {
                U256::from(x.byte(31 - i.to::<usize>()))
            } else {
                U256::ZERO
            }
        }
        (op::SHL, [s, x]) => {
            if *s < U256::from(256) {
                *x << s.to::<usize>()
            } else {
                U256::ZERO
            }
        }
        (op::SHR, [s, x]) => {
            if *s < U256::from(256) {
                *x >> s.to::<usize>()
            } else {
                U256::ZERO
            }
        }
        (op::SAR, [s, x]) => {
            if *s < U256::from(256) {
                x.arithmetic_shr(s.to::<usize>())
            } else if neg(*x) {
                U256::MAX
            } else {
                U256::ZERO
            }
        }
        (op::SIGNEXTEND, [e, x]) => {
            if *e < U256::from(31) {
                let bit = e.to::<usize>() * 8 + 7;
                let mask = (U256::from(1) << bit) - U256::from(1);
                if x.bit(bit) {
                    x | !mask
                } else {
                    x & mask
                }
            } else {
                *x
            }
        }
        (op::CLZ, [a]) => U256::from(a.leading_zeros()),
        _ => return None,
    })
}

/// Folds every pure instruction with constant operands, in program order so chains fold.
pub fn run(f: &mut Function) {
    let mut consts: HashMap<Value, U256> = HashMap::new();
    for block in &mut f.blocks {
        for inst in &mut block.insts {
            match inst.kind {
                InstKind::Const(c) => {
                    if let Some(v) = inst.result {
                        consts.insert(v, c);
                    }
                }
                InstKind::Op(opcode) => {
                    let Some(result) = inst.result else { continue };
                    let args: Option<Vec<U256>> =
                        inst.args.iter().map(|a| consts.get(a).copied()).collect();
                    if let Some(folded) = args.and_then(|args| eval(opcode, &args)) {
                        inst.kind = InstKind::Const(folded);
                        inst.args.clear();
                        consts.insert(result, folded);
                    }
                }
                InstKind::Input(_) => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_push_push_add() {
        // PUSH1 4 PUSH1 5 ADD PUSH1 0 MSTORE
        let mut f = crate::lift(
            &[0x60, 0x04, 0x60, 0x05, 0x01, 0x60, 0x00, 0x52],
            kiln_frontend::SpecId::Osaka,
        );
        run(&mut f);
        let consts: Vec<_> = f.blocks[0]
            .insts
            .iter()
            .filter_map(|i| match i.kind {
                InstKind::Const(c) => Some(c),
                _ => None,
            })
            .collect();
        assert!(consts.contains(&U256::from(9)));
        assert!(!f.blocks[0].insts.iter().any(|i| i.kind == InstKind::Op(op::ADD)));
        assert_eq!(crate::verify(&f), Ok(()));
    }

    #[test]
    fn eval_matches_evm_semantics() {
        let m1 = U256::MAX;
        assert_eq!(eval(op::SDIV, &[m1, m1]), None, "SDIV is left to the runtime");
        assert_eq!(eval(op::SAR, &[U256::from(300), m1]), Some(m1));
        assert_eq!(eval(op::BYTE, &[U256::from(31), U256::from(0xab)]), Some(U256::from(0xab)));
        assert_eq!(
            eval(op::SIGNEXTEND, &[U256::ZERO, U256::from(0x80)]),
            Some(m1 - U256::from(0x7f))
        );
        assert_eq!(eval(op::DIV, &[U256::from(1), U256::ZERO]), Some(U256::ZERO));
        assert_eq!(eval(op::SLT, &[m1, U256::ZERO]), Some(U256::from(1)));
    }
}
