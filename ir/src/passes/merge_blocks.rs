//! Block merging: a block whose only way in is an unconditional edge from one predecessor is
//! appended to that predecessor.
//!
//! Fewer blocks mean fewer stack and gas checks at run time and far less code to compile (a
//! contract of 24 KiB of JUMPDESTs becomes one block). Appending B to A is the lifting of A's
//! and B's code as one block: B's stack inputs become A's exit values (or deeper inputs of A),
//! and B's gas sections follow A's, coalesced where no instruction in between observes the
//! remaining gas. Checking B's stack bounds and gas at A's entry can only move an exceptional
//! halt earlier on a path that halts anyway; both consume all gas and revert the frame.

use crate::function::{Block, Function, GasSection, Inst, InstKind, Target, Terminator, Value};
use kiln_frontend::opcode::observes_gas;
use std::collections::HashMap;

pub fn run(f: &mut Function) {
    if f.blocks.is_empty() {
        return;
    }
    let n = f.blocks.len();
    let mut preds = vec![0u32; n];
    for b in &f.blocks {
        for s in b.successors() {
            preds[s] += 1;
        }
    }
    // Blocks entered other than by a static edge keep their identity.
    let mut pinned = vec![false; n];
    pinned[0] = true;
    for &r in &f.resumes {
        pinned[r] = true;
    }
    if f.has_dynamic_jumps() {
        for &b in f.jumpdests.iter().flatten() {
            pinned[b] = true;
        }
    }
    let mut clean: Vec<bool> = f.blocks.iter().map(tail_clean).collect();
    let mut merged_away = vec![false; n];
    for a in 0..n {
        if merged_away[a] {
            continue;
        }
        while let Terminator::FallThrough(next) | Terminator::Jump(Target::Block(next)) =
            f.blocks[a].term
        {
            if next == a || pinned[next] || preds[next] != 1 || merged_away[next] {
                break;
            }
            let pc = f.blocks[next].pc;
            let b = std::mem::replace(&mut f.blocks[next], stub(pc));
            let b_clean = clean[next];
            clean[a] = append(&mut f.blocks[a], clean[a], b, b_clean, &mut f.num_values);
            merged_away[next] = true;
        }
    }
    for slot in &mut f.jumpdests {
        if slot.is_some_and(|b| merged_away[b]) {
            *slot = None;
        }
    }
}

/// What is left where a block was merged away: nothing references it.
fn stub(pc: u32) -> Block {
    Block {
        pc,
        is_jumpdest: false,
        resume_index: None,
        insts: Vec::new(),
        sections: Vec::new(),
        stack_in: 0,
        stack_growth: 0,
        exit: Vec::new(),
        term: Terminator::InvalidOpcode,
        prepaid: 0,
    }
}

/// Whether no instruction after the start of the block's last gas section (of the whole block
/// when it has none) observes the remaining gas: gas of code appended later may then be
/// charged with that section.
pub(crate) fn tail_clean(block: &Block) -> bool {
    let from = block.sections.last().map_or(0, |s| s.at);
    block.insts[from..].iter().all(|i| !matches!(i.kind, InstKind::Op(op) if observes_gas(op)))
}

/// Appends `b` to `a`, which ends with an unconditional edge to it, and returns whether the
/// merged block's tail is clean (see [`tail_clean`]).
fn append(a: &mut Block, a_clean: bool, b: Block, b_clean: bool, num_values: &mut u32) -> bool {
    // Height of A's exit relative to A's entry: B's entry.
    let h = a.exit.len() as i32 - a.stack_in as i32;
    let mut subst: HashMap<Value, Value> = HashMap::new();
    // Where each of B's instructions lands in A (B's mapped inputs disappear).
    let mut new_index = Vec::with_capacity(b.insts.len() + 1);
    for inst in b.insts {
        new_index.push(a.insts.len());
        match inst.kind {
            InstKind::Input(d) => {
                let result = inst.result.expect("inputs have results");
                // Slot relative to A's entry (0 is one above the entry top).
                let slot = h - d as i32 - 1;
                let mapped = if slot >= -(a.stack_in as i32) {
                    a.exit[(slot + a.stack_in as i32) as usize]
                } else {
                    let v = Value(*num_values);
                    *num_values += 1;
                    a.insts.push(Inst {
                        kind: InstKind::Input(a.stack_in),
                        args: vec![],
                        result: Some(v),
                        sp: inst.sp + h,
                        pc: inst.pc,
                    });
                    a.stack_in += 1;
                    a.exit.insert(0, v);
                    v
                };
                subst.insert(result, mapped);
            }
            _ => {
                let args = inst.args.iter().map(|v| *subst.get(v).unwrap_or(v)).collect();
                a.insts.push(Inst { args, sp: inst.sp + h, ..inst });
            }
        }
    }
    new_index.push(a.insts.len());
    let map = |v: Value| *subst.get(&v).unwrap_or(&v);
    // A's exit below B's reads stays; B's exit replaces the rest.
    let keep = (h - b.stack_in as i32 + a.stack_in as i32) as usize;
    a.exit.truncate(keep);
    a.exit.extend(b.exit.iter().map(|&v| map(v)));
    a.stack_growth = a.stack_growth.max((h + b.stack_growth as i32).max(0) as u16);
    let merged_clean = if b.sections.is_empty() { a_clean && b_clean } else { b_clean };
    let mut sections =
        b.sections.iter().map(|s| GasSection { at: new_index[s.at], gas: s.gas }).peekable();
    // B's first section joins A's last when nothing in between observes the remaining gas.
    if a_clean && !a.sections.is_empty() {
        if let Some(first) = sections.next_if(|s| s.at == new_index[0]) {
            a.sections.last_mut().expect("open section exists").gas += first.gas;
        }
    }
    a.sections.extend(sections);
    a.term = match b.term {
        Terminator::Jump(Target::Dynamic(v)) => Terminator::Jump(Target::Dynamic(map(v))),
        Terminator::JumpI { cond, target, fallthrough } => Terminator::JumpI {
            cond: map(cond),
            target: match target {
                Target::Dynamic(v) => Target::Dynamic(map(v)),
                t => t,
            },
            fallthrough,
        },
        t => t,
    };
    merged_clean
}

#[cfg(test)]
mod tests {
    use super::*;
    use kiln_frontend::SpecId;

    fn build(code: &[u8]) -> Function {
        let f = crate::build(code, SpecId::Osaka);
        assert_eq!(crate::verify(&f), Ok(()));
        f
    }

    fn live_blocks(f: &Function) -> usize {
        f.blocks
            .iter()
            .filter(|b| !b.insts.is_empty() || b.term != Terminator::InvalidOpcode)
            .count()
    }

    #[test]
    fn fallthrough_chain_of_jumpdests_becomes_one_block_with_summed_gas() {
        // JUMPDEST x3, PUSH1 1, STOP: no dynamic jumps, so nothing pins the JUMPDESTs.
        let f = build(&[0x5b, 0x5b, 0x5b, 0x60, 0x01, 0x00]);
        assert_eq!(f.blocks[0].gas(), 1 + 1 + 1 + 3);
        assert_eq!(f.blocks[0].sections.len(), 1);
        assert_eq!(f.blocks[0].term, Terminator::Stop);
        assert_eq!(live_blocks(&f), 1);
    }

    #[test]
    fn appended_block_reads_the_predecessors_exit_and_deeper_inputs() {
        // PUSH1 2 PUSH1 5 JUMP; 5: JUMPDEST ADD ADD PUSH0 MSTORE ... reads one item below entry.
        // 0: PUSH1 2, 2: PUSH1 6, 4: JUMP, 5: INVALID, 6: JUMPDEST ADD ADD STOP
        let f = build(&[0x60, 0x02, 0x60, 0x06, 0x56, 0xfe, 0x5b, 0x01, 0x01, 0x00]);
        let b = &f.blocks[0];
        // The ADD of the pushed 2 needs one entry item, the second ADD another.
        assert_eq!(b.stack_in, 2);
        assert_eq!(b.exit.len(), 1);
        assert_eq!(b.term, Terminator::Stop);
        assert_eq!(b.gas(), 3 + 3 + 8 + 1 + 3 + 3);
    }

    #[test]
    fn gas_observed_between_keeps_sections_apart() {
        // GAS POP JUMPDEST STOP: the JUMPDEST's gas must not be charged before GAS reads it.
        let f = build(&[0x5a, 0x50, 0x5b, 0x00]);
        let b = &f.blocks[0];
        assert_eq!(b.sections.len(), 2);
        assert_eq!(b.sections[0].gas, 2);
        assert_eq!(b.sections[1].gas, 2 + 1);
    }

    #[test]
    fn dynamic_jumps_pin_jumpdests() {
        // PUSH0 CALLDATALOAD POP JUMPDEST PUSH0 CALLDATALOAD JUMP: the JUMPDEST stays a block.
        let f = build(&[0x5f, 0x35, 0x50, 0x5b, 0x5f, 0x35, 0x56]);
        assert_eq!(live_blocks(&f), 2);
    }
}
