//! Code no run has reached is left to the interpreter: compile units hold only what runs.
//!
//! The tier policy compiles a contract after the interpreter ran it a while, and the
//! interpreter records which blocks it entered (a bit per code offset, set at each JUMPDEST
//! it executes and after each JUMPI it falls through; see `kiln_runtime::code`). A block no
//! run entered becomes an empty block that hands the frame to the interpreter at its pc: the
//! stack and gas go to the context as for a dynamic jump, and the interpreter goes on from
//! there with nothing charged twice (the block had charged nothing). What only such blocks
//! reach is then dead and never lowered, so a contract whose transactions run a tenth of it
//! compiles about a tenth of it.
//!
//! Run before the other passes, on lifted blocks: merging and gas prepayment then treat the
//! stub like any block without successors or gas.

use crate::function::{Function, Terminator};

/// Whether bit `pc` of `covered` is set; offsets past its end count as not covered.
pub fn is_covered(covered: &[u64], pc: u32) -> bool {
    let pc = pc as usize;
    covered.get(pc / 64).is_some_and(|w| w >> (pc % 64) & 1 != 0)
}

/// Turns every block whose start is not in `covered` into [`Terminator::Interpret`] at its
/// pc. The entry always stays, as does the block past the end of the code (STOP). A resume
/// point shares its call's block: the interpreter marks where blocks start, not where calls
/// return.
pub fn run(f: &mut Function, covered: &[u64]) {
    let last = f.blocks.len().saturating_sub(1);
    let mut keep = true;
    for (b, block) in f.blocks.iter_mut().enumerate() {
        if block.resume_index.is_none() {
            keep = b == 0 || b == last || is_covered(covered, block.pc);
        }
        if keep {
            continue;
        }
        block.insts.clear();
        block.sections.clear();
        block.exit.clear();
        block.stack_in = 0;
        block.stack_growth = 0;
        block.prepaid = 0;
        block.term = Terminator::Interpret { pc: block.pc };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::function::Target;
    use kiln_frontend::SpecId;

    /// PUSH0 CALLDATALOAD PUSH1 8 JUMPI PUSH1 1 STOP; JUMPDEST(8) PUSH1 2 STOP
    const BRANCH: [u8; 12] =
        [0x5f, 0x35, 0x60, 0x08, 0x57, 0x60, 0x01, 0x00, 0x5b, 0x60, 0x02, 0x00];

    fn bits(pcs: &[u32]) -> Vec<u64> {
        let mut v = vec![0u64; 1];
        for &pc in pcs {
            v[pc as usize / 64] |= 1 << (pc % 64);
        }
        v
    }

    #[test]
    fn blocks_no_run_entered_hand_over_to_the_interpreter() {
        // Only the taken side (the JUMPDEST at 8) ran.
        let f = crate::build_covered(&BRANCH, SpecId::Osaka, Some(&bits(&[8])));
        assert_eq!(crate::verify(&f), Ok(()));
        let Terminator::JumpI { target: Target::Block(t), fallthrough, .. } = f.blocks[0].term
        else {
            panic!("the entry branches: {:?}", f.blocks[0].term)
        };
        assert_eq!(f.blocks[fallthrough].term, Terminator::Interpret { pc: 5 });
        assert!(f.blocks[fallthrough].insts.is_empty());
        assert_eq!(f.blocks[t].term, Terminator::Stop);
        assert!(!f.blocks[t].insts.is_empty());
    }

    #[test]
    fn full_coverage_changes_nothing() {
        let all = crate::build(&BRANCH, SpecId::Osaka);
        assert_eq!(crate::build_covered(&BRANCH, SpecId::Osaka, Some(&bits(&[5, 8]))), all);
        // The entry is always compiled, whatever the bitmap says.
        let none = crate::build_covered(&BRANCH, SpecId::Osaka, Some(&[]));
        assert!(!none.blocks[0].insts.is_empty());
        assert!(none.blocks.iter().any(|b| matches!(b.term, Terminator::Interpret { pc: 8 })));
    }
}
