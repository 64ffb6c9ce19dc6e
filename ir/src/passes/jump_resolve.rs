//! Resolves jump targets that are constants: to the block at that JUMPDEST, or to an invalid
//! jump when the constant is not one.

use crate::function::{Function, InstKind, Target, Terminator, Value};
use ruint::aliases::U256;
use std::collections::HashMap;

/// The live JUMPDEST block at `pc`, or an invalid jump.
fn block_at(blocks_by_pc: &HashMap<u32, usize>, pc: U256) -> Target {
    match u32::try_from(pc).ok().and_then(|pc| blocks_by_pc.get(&pc)) {
        Some(&b) => Target::Block(b),
        None => Target::Invalid,
    }
}

pub fn run(f: &mut Function) {
    // After `jumpdest_chains` the table no longer names a block for every JUMPDEST.
    debug_assert!(f.jumpdest_gas.iter().all(|&g| g == 0), "runs before jumpdest_chains");
    let blocks_by_pc: HashMap<u32, usize> =
        f.jumpdests.iter().flatten().map(|&b| (f.blocks[b].pc, b)).collect();
    let mut consts: HashMap<Value, U256> = HashMap::new();
    for block in &f.blocks {
        for inst in &block.insts {
            if let (InstKind::Const(c), Some(v)) = (&inst.kind, inst.result) {
                consts.insert(v, *c);
            }
        }
    }
    let resolve = |t: Target| match t {
        Target::Dynamic(v) => match consts.get(&v) {
            Some(&pc) => block_at(&blocks_by_pc, pc),
            None => t,
        },
        t => t,
    };
    let new_terms: Vec<Option<Terminator>> = f
        .blocks
        .iter()
        .map(|b| match b.term {
            Terminator::Jump(t) => Some(Terminator::Jump(resolve(t))),
            Terminator::JumpI { cond, target, fallthrough } => match consts.get(&cond) {
                // A constant condition decides the branch now.
                Some(c) if c.is_zero() => Some(Terminator::FallThrough(fallthrough)),
                Some(_) => Some(Terminator::Jump(resolve(target))),
                None => Some(Terminator::JumpI { cond, target: resolve(target), fallthrough }),
            },
            _ => None,
        })
        .collect();
    for (b, t) in f.blocks.iter_mut().zip(new_terms) {
        if let Some(t) = t {
            b.term = t;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kiln_frontend::SpecId;

    #[test]
    fn resolves_jump_through_dup_and_arithmetic() {
        // 0: PUSH1 4 PUSH1 5 ADD (=9) DUP1 POP JUMP; 8: INVALID; 9: JUMPDEST STOP
        let code = [0x60, 0x04, 0x60, 0x05, 0x01, 0x80, 0x50, 0x56, 0xfe, 0x5b, 0x00];
        let mut f = crate::lift(&code[..], SpecId::Osaka);
        assert!(matches!(f.blocks[0].term, Terminator::Jump(Target::Dynamic(_))));
        crate::passes::const_fold::run(&mut f);
        run(&mut f);
        let target = f.blocks.iter().position(|b| b.pc == 9).unwrap();
        assert_eq!(f.blocks[0].term, Terminator::Jump(Target::Block(target)));
    }

    #[test]
    fn constant_condition_decides_branch() {
        // PUSH1 0 PUSH1 6 JUMPI STOP; 6: JUMPDEST STOP  (condition 0: falls through)
        let code = [0x60, 0x00, 0x60, 0x06, 0x57, 0x00, 0x5b, 0x00];
        let mut f = crate::lift(&code[..], SpecId::Osaka);
        run(&mut f);
        assert_eq!(f.blocks[0].term, Terminator::FallThrough(1));
    }
}
