//! A block that jumps unconditionally into another pays the other's entry gas with its own.
//!
//! A loop's head is a JUMPDEST block of its own (it has two ways in), so every iteration paid
//! two gas checks: the head's and the body's. When the body ends in an unconditional jump to
//! the head, the head's entry section is added to the body's last section and the edge enters
//! the head past its charge: one check per iteration. The rules are those of block merging:
//! nothing after the start of the predecessor's last section observes the remaining gas, so
//! charging the successor's gas there only moves an out-of-gas halt earlier on a path that
//! runs out of gas anyway. Other ways into the successor still pay at its entry.
//!
//! Only successors whose own sections this pass leaves alone are prepaid (they do not end in
//! an unconditional static edge themselves), so every prepaid amount is final.

use crate::function::Function;
use crate::passes::merge_blocks::tail_clean;

pub fn run(f: &mut Function) {
    for a in 0..f.blocks.len() {
        let block = &f.blocks[a];
        let Some(s) = block.term.unconditional() else { continue };
        if s == a || block.prepaid > 0 || block.sections.is_empty() || !tail_clean(block) {
            continue;
        }
        let succ = &f.blocks[s];
        if succ.term.unconditional().is_some() {
            continue;
        }
        let Some(first) = succ.sections.first().filter(|first| first.at == 0) else { continue };
        let gas = first.gas;
        let block = &mut f.blocks[a];
        block.sections.last_mut().expect("checked non-empty").gas += gas;
        block.prepaid = gas;
    }
}

#[cfg(test)]
mod tests {
    use crate::function::{Target, Terminator};
    use kiln_frontend::SpecId;

    #[test]
    fn a_loop_body_pays_for_the_loop_head() {
        // fibonacci-calldata: the head (JUMPDEST ... JUMPI) and the body (... JUMP back).
        let code = [
            0x5f, 0x35, 0x5f, 0x60, 0x01, 0x5b, 0x82, 0x15, 0x60, 0x1a, 0x57, 0x81, 0x81, 0x01,
            0x91, 0x50, 0x90, 0x91, 0x60, 0x01, 0x90, 0x03, 0x91, 0x60, 0x05, 0x56, 0x5b, 0x91,
            0x50, 0x50, 0x5f, 0x52, 0x60, 0x20, 0x5f, 0xf3,
        ];
        let f = crate::build(&code, SpecId::Osaka);
        assert_eq!(crate::verify(&f), Ok(()));
        let (body, head) = f
            .blocks
            .iter()
            .enumerate()
            .find_map(|(i, b)| match b.term {
                Terminator::Jump(Target::Block(h)) if b.prepaid > 0 => Some((i, h)),
                _ => None,
            })
            .expect("the body prepays");
        assert_eq!(f.blocks[head].pc, 5);
        assert_eq!(f.blocks[body].prepaid, f.blocks[head].sections[0].gas);
        // The body's own gas (43) plus the head's (20), charged once.
        assert_eq!(f.blocks[body].gas(), 43 + 20);
        // The entry block falls into the head too, and pays for it as well.
        assert_eq!(f.blocks[0].prepaid, 20);
    }

    #[test]
    fn gas_observed_at_the_end_keeps_the_charge_at_the_successor() {
        // PUSH0 CALLDATALOAD GAS (falls through), JUMPDEST PUSH0 CALLDATALOAD JUMP.
        let f = crate::build(&[0x5f, 0x35, 0x5a, 0x5b, 0x5f, 0x35, 0x56], SpecId::Osaka);
        assert_eq!(crate::verify(&f), Ok(()));
        assert_eq!(f.blocks[0].prepaid, 0);
    }
}
