//! Values that fit in 64 bits because the frame's gas bounds them: loop counters.
//!
//! A counter that starts small and grows by a small constant each time around a loop cannot
//! outgrow the gas spent on the loop: every increment is an ADD, and an ADD costs 3 gas. The
//! analysis proves facts of the form `v <= a + G`, where `G` is the gas the frame has spent
//! when `v` is used. `G` only grows and never exceeds the frame's gas limit, which code
//! generation requires to be at most [`ASSUMED_MAX_GAS`] (the runtime runs larger frames in
//! the interpreter), so a value with `a <= MAX_OFFSET` fits in 64 bits and code generation can
//! keep only its low limb.
//!
//! Transfer rules (each sound on its own):
//! - a constant `c` is `c + 0`;
//! - `ADD(x, k)` with `x <= a + G` and constant `k` is `<= a + (k - 3) + G` (`a` when
//!   `k <= 3`): the ADD's own 3 gas were spent after `x` was computed;
//! - `AND(x, y)` is at most either operand; comparisons and ISZERO are at most 1;
//!   `MOD(x, c)` is below `c`;
//! - a block input joins what the predecessors leave at that depth. Blocks that a dynamic
//!   jump or a resumed call may enter know nothing of their inputs.
//!
//! Loops reach a fixpoint by joining to the larger offset; an offset that keeps growing (a
//! counter stepping by more than it pays for) is given up on after a few rounds.

use crate::function::{Function, InstKind, Terminator, Value};
use kiln_frontend::opcode as op;
use ruint::aliases::U256;

/// The largest frame gas limit the facts hold for: far above any block gas limit in use,
/// and leaves room for [`MAX_OFFSET`].
pub const ASSUMED_MAX_GAS: u64 = 1 << 63;

/// Largest offset `a` the analysis keeps: `a + G` stays below 2^64.
pub const MAX_OFFSET: u64 = 1 << 32;

/// Stack depths below the entry top whose inputs are tracked.
const DEPTH: usize = 32;

/// Times a block's inputs may grow before a growing input is given up on.
const WIDEN_AFTER: u32 = 8;

/// What is known of a value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Fact {
    /// Not reached yet (the optimistic start of the fixpoint).
    Unreached,
    /// At most this plus the gas the frame has spent.
    Bounded(u64),
    Unknown,
}

impl Fact {
    fn join(self, other: Fact) -> Fact {
        match (self, other) {
            (Fact::Unreached, f) | (f, Fact::Unreached) => f,
            (Fact::Bounded(a), Fact::Bounded(b)) => Fact::Bounded(a.max(b)),
            _ => Fact::Unknown,
        }
    }

    fn bounded(a: u64) -> Fact {
        if a <= MAX_OFFSET {
            Fact::Bounded(a)
        } else {
            Fact::Unknown
        }
    }

    fn constant(c: U256) -> Fact {
        u64::try_from(c).map_or(Fact::Unknown, Fact::bounded)
    }
}

/// Per value of `f` (indexed by value number): whether it provably fits in 64 bits.
pub fn fits_u64(f: &Function) -> Vec<bool> {
    let n = f.blocks.len();
    let mut entry = vec![[Fact::Unreached; DEPTH]; n];
    // Blocks entered from where the analysis cannot see: the first block (empty stack; any
    // read underflows), resume points (the callee's result) and, with dynamic jumps, every
    // JUMPDEST.
    entry[0] = [Fact::Unknown; DEPTH];
    for &r in &f.resumes {
        entry[r] = [Fact::Unknown; DEPTH];
    }
    if f.has_dynamic_jumps() {
        for &b in f.jumpdests.iter().flatten() {
            entry[b] = [Fact::Unknown; DEPTH];
        }
    }
    let mut facts = vec![Fact::Unknown; f.num_values as usize];
    let mut consts = vec![None; f.num_values as usize];
    for inst in f.blocks.iter().flat_map(|b| &b.insts) {
        if let (InstKind::Const(c), Some(r)) = (&inst.kind, inst.result) {
            consts[r.0 as usize] = Some(*c);
        }
    }
    let mut grown = vec![0u32; n];
    let mut queued = vec![true; n];
    let mut work: Vec<usize> = (0..n).rev().collect();
    while let Some(id) = work.pop() {
        queued[id] = false;
        let block = &f.blocks[id];
        for inst in &block.insts {
            let Some(r) = inst.result else { continue };
            facts[r.0 as usize] = transfer(&inst.kind, &inst.args, &entry[id], &facts, &consts);
        }
        if matches!(block.term, Terminator::Suspend { .. }) {
            continue;
        }
        // The stack at exit, by depth: the exit list, then the entry items below it.
        let exit = &block.exit;
        let at_exit = |d: usize| -> Fact {
            if d < exit.len() {
                facts[exit[exit.len() - 1 - d].0 as usize]
            } else {
                let below = d - exit.len() + block.stack_in as usize;
                entry[id].get(below).copied().unwrap_or(Fact::Unknown)
            }
        };
        let out: [Fact; DEPTH] = std::array::from_fn(at_exit);
        for s in block.successors() {
            let old = entry[s];
            let mut new = old;
            for d in 0..DEPTH {
                new[d] = old[d].join(out[d]);
                if let (Fact::Bounded(a), Fact::Bounded(b)) = (old[d], new[d]) {
                    if b > a && grown[s] >= WIDEN_AFTER {
                        new[d] = Fact::Unknown;
                    }
                }
            }
            if new != old {
                grown[s] += 1;
                entry[s] = new;
                if !queued[s] {
                    queued[s] = true;
                    work.push(s);
                }
            }
        }
    }
    facts.into_iter().map(|f| matches!(f, Fact::Bounded(_))).collect()
}

/// ADD's static gas, the same in every fork: what pays for a counter's step.
fn add_gas() -> u64 {
    op::info(op::ADD).map_or(0, |i| i.static_gas as u64)
}

fn transfer(
    kind: &InstKind,
    args: &[Value],
    entry: &[Fact; DEPTH],
    facts: &[Fact],
    consts: &[Option<U256>],
) -> Fact {
    let arg = |i: usize| facts[args[i].0 as usize];
    let constant = |i: usize| consts[args[i].0 as usize];
    match *kind {
        InstKind::Const(c) => Fact::constant(c),
        InstKind::Input(d) => entry.get(d as usize).copied().unwrap_or(Fact::Unknown),
        InstKind::Op(op::ADD) => {
            let (x, k) = match (constant(0), constant(1)) {
                (Some(k), _) => (arg(1), k),
                (_, Some(k)) => (arg(0), k),
                _ => return Fact::Unknown,
            };
            match (x, u64::try_from(k)) {
                (Fact::Bounded(a), Ok(k)) => {
                    Fact::bounded(a.saturating_add(k.saturating_sub(add_gas())))
                }
                (Fact::Unreached, _) => Fact::Unreached,
                _ => Fact::Unknown,
            }
        }
        InstKind::Op(op::AND) => match (arg(0), arg(1)) {
            (Fact::Bounded(a), Fact::Bounded(b)) => Fact::Bounded(a.min(b)),
            (Fact::Bounded(a), _) | (_, Fact::Bounded(a)) => Fact::Bounded(a),
            (Fact::Unreached, _) | (_, Fact::Unreached) => Fact::Unreached,
            _ => Fact::Unknown,
        },
        InstKind::Op(op::MOD) => match constant(1) {
            Some(c) if !c.is_zero() => Fact::constant(c - U256::from(1)),
            // MOD by zero is zero.
            Some(_) => Fact::Bounded(0),
            None => Fact::Unknown,
        },
        InstKind::Op(op::LT | op::GT | op::SLT | op::SGT | op::EQ | op::ISZERO) => Fact::Bounded(1),
        _ => Fact::Unknown,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kiln_frontend::SpecId;

    /// Whether each result of an `opcode` instruction fits, in block order.
    fn results_of(code: &str, opcode: u8) -> Vec<bool> {
        let f = crate::build(&alloy_primitives::hex::decode(code).unwrap(), SpecId::Prague);
        let fits = fits_u64(&f);
        f.blocks
            .iter()
            .flat_map(|b| &b.insts)
            .filter(|i| i.kind == InstKind::Op(opcode))
            .map(|i| fits[i.result.unwrap().0 as usize])
            .collect()
    }

    /// `n = calldata[0]; i = 0; p = 1; while n != 0 { i += step; p *= i; n -= 1 }`.
    fn counter_loop(step: u8) -> String {
        format!(
            "5f355f60015b8215601b579060{step:02x}018091029160019003916005565b9150505f5260205ff3"
        )
    }

    #[test]
    fn a_counter_stepping_by_what_an_add_costs_fits() {
        assert_eq!(results_of(&counter_loop(1), op::ADD), vec![true]);
        assert_eq!(results_of(&counter_loop(3), op::ADD), vec![true]);
        // The product and the count-down do not.
        assert_eq!(results_of(&counter_loop(1), op::MUL), vec![false]);
        assert_eq!(results_of(&counter_loop(1), op::SUB), vec![false]);
    }

    #[test]
    fn a_counter_stepping_by_more_than_it_pays_for_is_given_up() {
        assert_eq!(results_of(&counter_loop(4), op::ADD), vec![false]);
        assert_eq!(results_of(&counter_loop(0xff), op::ADD), vec![false]);
    }

    #[test]
    fn inputs_of_dynamic_jump_targets_are_unknown() {
        // The same loop with its back edge jumping to a target read from call data.
        let code = "5f355f60015b8215601d57906001018091029160019003916020355b565b9150505f5260205ff3";
        let f = crate::build(&alloy_primitives::hex::decode(code).unwrap(), SpecId::Prague);
        assert!(f.has_dynamic_jumps());
        assert_eq!(results_of(code, op::ADD), vec![false]);
    }

    #[test]
    fn masks_and_flags_are_small_whatever_their_operands() {
        // calldata[0] & 0xffff, calldata[0] < 5, calldata[0] % 7, calldata[0] + calldata[0]
        let code = "61ffff5f3516" /* and */
            .to_string()
            + "60055f3510"
            + "60075f3506"
            + "5f355f3501"
            + "00";
        assert_eq!(results_of(&code, op::AND), vec![true]);
        assert_eq!(results_of(&code, op::LT), vec![true]);
        assert_eq!(results_of(&code, op::MOD), vec![true]);
        assert_eq!(results_of(&code, op::ADD), vec![false]);
    }
}
