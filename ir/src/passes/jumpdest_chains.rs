//! Runs of empty JUMPDEST blocks are bypassed.
//!
//! A JUMPDEST that dynamic jumps may reach keeps a block of its own, so code such as evmone's
//! `loop_with_many_jumpdests` (thousands of JUMPDESTs in a row behind a dynamic jump) is
//! thousands of blocks that do nothing but charge one gas each. A block that is only a
//! JUMPDEST behaves exactly like its gas followed by its successor, so:
//!
//! - an unconditional static edge into such a run goes straight to the first block after it,
//!   the predecessor paying the run's gas: with its last section when nothing after that
//!   section's start observes the remaining gas (the charge then only moves an out-of-gas halt
//!   earlier on a path that runs out of gas anyway), else in a section of its own at the end;
//! - a dynamic jump into the run enters the block after it, paying the rest of the run's gas
//!   first ([`Function::jumpdest_gas`]: one gas per JUMPDEST skipped, which is also the
//!   distance in bytes to that block).
//!
//! The bypassed blocks are left to dead-block removal.

use crate::function::{BlockId, Function, GasSection, Target, Terminator};
use crate::passes::merge_blocks::tail_clean;

/// Where entering block `b` really goes, and the gas paid on the way: `None` for a block that
/// is not an empty JUMPDEST.
fn chain_ends(f: &Function) -> Vec<Option<(BlockId, u64)>> {
    let n = f.blocks.len();
    let step: Vec<Option<(BlockId, u64)>> = f
        .blocks
        .iter()
        .enumerate()
        .map(|(b, block)| match block.term {
            Terminator::FallThrough(s)
                if b != 0
                    && s > b
                    && block.is_jumpdest
                    && block.resume_index.is_none()
                    && block.insts.is_empty()
                    && block.stack_in == 0
                    && block.stack_growth == 0
                    && block.exit.is_empty() =>
            {
                Some((s, block.gas()))
            }
            _ => None,
        })
        .collect();
    // Fall-through edges only go forward, so one backward sweep resolves every run.
    let mut end: Vec<Option<(BlockId, u64)>> = vec![None; n];
    for b in (0..n).rev() {
        if let Some((s, g)) = step[b] {
            end[b] = Some(match end[s] {
                Some((t, h)) => (t, g + h),
                None => (s, g),
            });
        }
    }
    end
}

pub fn run(f: &mut Function) {
    let end = chain_ends(f);
    if end.iter().all(Option::is_none) {
        return;
    }
    for b in 0..f.blocks.len() {
        if end[b].is_some() {
            continue;
        }
        let block = &f.blocks[b];
        let Some(e) = block.term.unconditional() else { continue };
        let Some((s, gas)) = end[e] else { continue };
        let clean = tail_clean(block);
        let block = &mut f.blocks[b];
        match block.sections.last_mut() {
            Some(last) if clean => last.gas += gas,
            _ => block.sections.push(GasSection { at: block.insts.len(), gas }),
        }
        block.term = match block.term {
            Terminator::FallThrough(_) => Terminator::FallThrough(s),
            _ => Terminator::Jump(Target::Block(s)),
        };
    }
    for (slot, extra) in f.jumpdests.iter_mut().zip(&mut f.jumpdest_gas) {
        if let Some(e) = *slot {
            if let Some((s, gas)) = end[e] {
                // Code generation relies on this: a JUMPDEST is one byte and one gas.
                debug_assert_eq!(gas, u64::from(f.blocks[s].pc - f.blocks[e].pc), "JUMPDEST run");
                *slot = Some(s);
                *extra = gas;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kiln_frontend::SpecId;

    #[test]
    fn dynamic_jumps_into_a_run_pay_its_gas_and_enter_the_block_after_it() {
        // 0: PUSH0 CALLDATALOAD, 2..5: JUMPDEST x3, 5: JUMPDEST JUMP (to the calldata word).
        let code = [0x5f, 0x35, 0x5b, 0x5b, 0x5b, 0x5b, 0x56];
        let f = crate::build(&code, SpecId::Osaka);
        assert_eq!(crate::verify(&f), Ok(()));
        let last = f.jumpdests[3].expect("the non-empty JUMPDEST stays");
        assert_eq!(f.blocks[last].pc, 5);
        // Every JUMPDEST of the run now enters the last block, paying the JUMPDESTs it skips.
        assert_eq!(f.jumpdests, vec![Some(last); 4]);
        assert_eq!(f.jumpdest_gas, vec![3, 2, 1, 0]);
        // The entry falls into the run: it pays the three JUMPDESTs and goes past them.
        assert_eq!(f.blocks[0].term, Terminator::FallThrough(last));
        // (It also prepays the last block's entry, JUMPDEST and JUMP: see `prepay_gas`.)
        assert_eq!(f.blocks[0].prepaid, 1 + 8);
        assert_eq!(f.blocks[0].sections, vec![GasSection { at: 0, gas: 2 + 3 + 3 + 9 }]);
        assert!(f.blocks[1..last].iter().all(|b| b.sections.is_empty()), "run removed");
    }

    #[test]
    fn a_predecessor_that_observes_gas_last_pays_after_it() {
        // PUSH0 CALLDATALOAD GAS, JUMPDEST, JUMPDEST JUMP: GAS must read the gas before the
        // skipped JUMPDEST is paid for.
        let code = [0x5f, 0x35, 0x5a, 0x5b, 0x5b, 0x56];
        let f = crate::build(&code, SpecId::Osaka);
        assert_eq!(crate::verify(&f), Ok(()));
        let last = f.jumpdests[1].expect("the non-empty JUMPDEST stays");
        assert_eq!(f.blocks[0].term, Terminator::FallThrough(last));
        assert_eq!(
            f.blocks[0].sections,
            vec![GasSection { at: 0, gas: 2 + 3 + 2 }, GasSection { at: 3, gas: 1 + 9 }]
        );
        assert_eq!(f.jumpdest_gas, vec![1, 0]);
    }
}
