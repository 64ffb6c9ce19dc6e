//! Constant folding: pure opcodes whose operands are all constants become constants, evaluated
//! by [`kiln_frontend::semantics`], which the interpreter runs too.

use crate::function::{Function, InstKind, Value};
use ruint::aliases::U256;
use std::collections::HashMap;

pub use kiln_frontend::semantics::eval;

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
    use kiln_frontend::opcode as op;

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
