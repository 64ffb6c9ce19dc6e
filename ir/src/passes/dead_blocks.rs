//! Dead-block removal: blocks no path reaches are emptied and dropped from the jump table.
//! Block ids stay stable (removed blocks become empty `InvalidOpcode` stubs that nothing
//! references), which keeps the pass simple and the verifier's view of targets intact.

use crate::function::{Function, Terminator};

pub fn run(f: &mut Function) {
    if f.blocks.is_empty() {
        return;
    }
    // Resume blocks are reached through their call.
    let live = f.reachable(&[]);
    for (b, block) in f.blocks.iter_mut().enumerate() {
        if !live[b] {
            block.insts.clear();
            block.sections.clear();
            block.exit.clear();
            block.stack_in = 0;
            block.stack_growth = 0;
            block.term = Terminator::InvalidOpcode;
            block.prepaid = 0;
        }
    }
    for slot in &mut f.jumpdests {
        if slot.is_some_and(|b| !live[b]) {
            *slot = None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kiln_frontend::SpecId;

    #[test]
    fn unreachable_jumpdest_is_removed_without_dynamic_jumps() {
        // STOP; JUMPDEST PUSH1 1 STOP
        let mut f = crate::lift(&[0x00, 0x5b, 0x60, 0x01, 0x00], SpecId::Osaka);
        crate::passes::jump_resolve::run(&mut f);
        run(&mut f);
        assert_eq!(f.jumpdests, vec![None]);
        assert!(f.blocks[1].insts.is_empty());
        assert_eq!(crate::verify(&f), Ok(()));
    }

    #[test]
    fn dynamic_jumps_keep_every_jumpdest() {
        // CALLDATALOAD-driven jump: PUSH0 CALLDATALOAD JUMP; JUMPDEST STOP
        let mut f = crate::lift(&[0x5f, 0x35, 0x56, 0x5b, 0x00], SpecId::Osaka);
        run(&mut f);
        assert_eq!(f.jumpdests, vec![Some(1)]);
    }
}
