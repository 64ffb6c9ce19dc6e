//! The few pcs a dynamic jump is seen to take: mostly the return of an internal function,
//! whose target its callers pushed as a constant before jumping to it.
//!
//! A dynamic jump writes the stack to memory and goes through the dispatcher (a bitmap test,
//! a rank count and an indirect branch through a table of every JUMPDEST), and its target's
//! landing pad loads the stack back. When the constants that can reach a jump's target
//! operand are known and few, the stack plan gives the jump a *return edge* to each target
//! ([`crate::analysis::stack_plan::StackPlan::returns`]): lowering compares the target with
//! each pc first and takes a static edge, the results in variables, and keeps the dispatcher
//! for any other value. snailtracer's allocation helper, called in its inner loops, returns
//! that way (snailtracer about 7% faster).
//!
//! The facts are hints, not proofs: a target equal to one of the pcs goes to the block the
//! dispatcher would send it to, with the stack it has, and any other value still goes
//! through the dispatcher. So the analysis may be incomplete (it ignores jumps whose target it
//! does not know, and treats resume points as knowing nothing) without making lowering
//! wrong.
//!
//! It is a forward dataflow over the abstract stack, top first: each slot is a small set of
//! constants or unknown. A block maps its entry stack to its exit stack (a `Const` is itself,
//! an `Input` is the entry slot it reads, anything computed is unknown), and passes it along
//! static edges and along dynamic jumps to the constant targets found so far. It follows
//! no calling context: a function's body joins its callers' stacks, so slots below its own
//! frame are often unknown after it returns, and a caller's own return goes unhinted then.
//! (Following returns in their caller's context needs stack heights per call: Solidity puts
//! a function's results where its return address and arguments were, so "the caller's stack
//! below the return address" is not the stack the return site sees.)

use alloy_primitives::U256;
use kiln_ir::{Function, InstKind, Target, Terminator};
use std::collections::HashMap;

/// Targets past which a jump keeps only the dispatcher: a chain of compares grows with them.
pub const MAX_TARGETS: usize = 6;
/// Stack slots tracked below the top; deeper ones are unknown. DUP and SWAP reach 16.
const DEPTH: usize = 24;

/// One stack slot: the constants it may hold, or unknown (`None`).
type Slot = Option<Vec<U256>>;

fn join_slot(a: &Slot, b: &Slot) -> Slot {
    let (a, b) = (a.as_ref()?, b.as_ref()?);
    let mut out = a.clone();
    for c in b {
        if !out.contains(c) {
            out.push(*c);
        }
    }
    (out.len() <= MAX_TARGETS).then_some(out)
}

/// Joins `incoming` into `entry` (top first; a missing slot is unknown). Whether it changed.
fn join(entry: &mut Option<Vec<Slot>>, incoming: &[Slot]) -> bool {
    let Some(old) = entry else {
        *entry = Some(incoming.to_vec());
        return true;
    };
    let n = old.len().min(incoming.len());
    let mut new: Vec<Slot> = (0..n).map(|i| join_slot(&old[i], &incoming[i])).collect();
    while new.last().is_some_and(Option::is_none) {
        new.pop();
    }
    let changed = new != *old;
    *old = new;
    changed
}

/// Per block: the JUMPDEST blocks its dynamic jump may take, with their pcs, when every
/// constant found for its target names a live block whose table entry charges no gas (see
/// [`Function::jumpdest_gas`]) and there are at most [`MAX_TARGETS`]; `None` otherwise.
pub fn jump_targets(f: &Function, live: &[bool]) -> Vec<Option<Vec<(u32, usize)>>> {
    let rank_by_pc: HashMap<u32, usize> = f
        .jumpdests
        .iter()
        .enumerate()
        .filter_map(|(r, b)| b.map(|b| (f.blocks[b].pc, r)))
        .collect();
    // The block a constant target enters, if it is a JUMPDEST the table sends there directly.
    let direct = |c: &U256| -> Option<(u32, usize)> {
        let pc = u32::try_from(*c).ok()?;
        let &r = rank_by_pc.get(&pc)?;
        let b = f.jumpdests[r]?;
        (f.jumpdest_gas[r] == 0 && live[b]).then_some((pc, b))
    };
    let mut entries: Vec<Option<Vec<Slot>>> = vec![None; f.blocks.len()];
    let mut targets: Vec<Slot> = vec![None; f.blocks.len()];
    if f.blocks.is_empty() {
        return Vec::new();
    }
    entries[0] = Some(Vec::new());
    for &r in &f.resumes {
        entries[r] = Some(Vec::new());
    }
    let mut work: Vec<usize> = (0..f.blocks.len()).filter(|&b| entries[b].is_some()).collect();
    while let Some(id) = work.pop() {
        let Some(entry) = entries[id].clone() else { continue };
        let block = &f.blocks[id];
        let mut values: HashMap<u32, Slot> = HashMap::new();
        for inst in &block.insts {
            let Some(v) = inst.result else { continue };
            let slot = match &inst.kind {
                InstKind::Const(c) => Some(vec![*c]),
                InstKind::Input(d) => entry.get(*d as usize).cloned().flatten(),
                InstKind::Op(_) => None,
            };
            values.insert(v.0, slot);
        }
        let value = |v: kiln_ir::Value| values.get(&v.0).cloned().flatten();
        let mut exit: Vec<Slot> = block.exit.iter().rev().map(|&v| value(v)).collect();
        exit.extend(entry.iter().skip(block.stack_in as usize).cloned());
        exit.truncate(DEPTH);
        let mut succs: Vec<usize> = Vec::new();
        let dynamic = match block.term {
            Terminator::Jump(Target::Dynamic(v))
            | Terminator::JumpI { target: Target::Dynamic(v), .. } => Some(value(v)),
            _ => None,
        };
        if let Some(t) = dynamic {
            targets[id] = t.clone();
            // Unknown targets pass nothing on: the dispatcher handles them, and the hints
            // need not be complete.
            succs.extend(t.iter().flatten().filter_map(&direct).map(|(_, b)| b));
        }
        match block.term {
            Terminator::Jump(Target::Block(t)) | Terminator::FallThrough(t) => succs.push(t),
            Terminator::JumpI { target, fallthrough, .. } => {
                succs.push(fallthrough);
                if let Target::Block(t) = target {
                    succs.push(t);
                }
            }
            // A resume point's stack has the call's result on top: it starts unknown.
            _ => {}
        }
        for s in succs {
            if join(&mut entries[s], &exit) {
                work.push(s);
            }
        }
    }
    targets
        .iter()
        .enumerate()
        .map(|(id, t)| {
            let consts = t.as_ref().filter(|_| live[id])?;
            consts.iter().map(&direct).collect::<Option<Vec<_>>>()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use kiln_frontend::SpecId;

    fn targets_of(code: &[u8]) -> Vec<Option<Vec<(u32, usize)>>> {
        let f = kiln_ir::build(code, SpecId::Prague);
        let live = f.reachable(&f.resumes);
        jump_targets(&f, &live)
    }

    /// An internal function called from two sites returns to either: its JUMP's targets are
    /// both return addresses, and nothing else is claimed.
    #[test]
    fn a_function_called_twice_returns_to_either_caller() {
        let code = [
            0x60, 0x0a, // 0: PUSH1 10 (return address 1)
            0x60, 0x01, // 2: PUSH1 1 (argument)
            0x60, 0x14, // 4: PUSH1 20 (the function)
            0x56, // 6: JUMP
            0x00, 0x00, 0x00, // 7-9: padding
            0x5b, // 10: JUMPDEST (return 1)
            0x60, 0x12, // 11: PUSH1 18 (return address 2)
            0x60, 0x02, // 13: PUSH1 2
            0x60, 0x14, // 15: PUSH1 20
            0x56, // 17: JUMP
            0x5b, // 18: JUMPDEST (return 2)
            0x00, // 19: STOP
            0x5b, // 20: JUMPDEST (the function): [ret, arg]
            0x50, // 21: POP the argument
            0x56, // 22: JUMP to the return address
        ];
        let t = targets_of(&code);
        let f = kiln_ir::build(&code, SpecId::Prague);
        let func = f.blocks.iter().position(|b| b.pc == 20).expect("function block");
        let mut got: Vec<u32> =
            t[func].clone().expect("known targets").iter().map(|p| p.0).collect();
        got.sort();
        assert_eq!(got, [10, 18]);
    }

    /// A target computed at run time is not claimed.
    #[test]
    fn a_computed_target_has_no_hint() {
        // PUSH1 0 CALLDATALOAD JUMP
        let t = targets_of(&[0x60, 0x00, 0x35, 0x56, 0x5b, 0x00]);
        assert!(t.iter().all(Option::is_none), "{t:?}");
    }
}
