//! A proof, after lowering, that every EVM stack slot compiled code touches lies inside the
//! buffer, `[0, STACK_LIMIT)`, given the stack checks that dominate the access.
//!
//! Lowering records what it emitted: each block's bounds checks and each slot access (the
//! slot relative to the region's base, and whether its index was clamped at the bottom). This
//! module derives, apart from the lowering's own reasoning, what is known about the base on
//! every way into every block, and refuses the function when an access is not covered. A
//! function it refuses is not run native: the interpreter runs it.
//!
//! Facts are kept as two offsets per block, relative to the region's base `B`:
//! - `lo`: `B + lo >= 0`, so every slot at or above `lo` is at or above the bottom;
//! - `hi`: `B + hi <= STACK_LIMIT`, so every slot below `hi` is below the top.
//!
//! The ways in: a head reads the base from `ctx.stack_len`, which the runtime keeps in
//! `[0, STACK_LIMIT]` (and compiled code too: every height it stores there is proven in that
//! range like a slot) (`lo = 0`, `hi = 0`; a region whose base is the constant zero has
//! `hi = STACK_LIMIT`); a landing pad derives `B = len - entry` (`lo = hi = entry`); a static
//! edge keeps its predecessor's base (a static head's is the predecessor's exit height above
//! it). Where ways meet, the weaker fact holds. A block's underflow check then proves its
//! lowest input (`lo <= entry - stack_in`) and its overflow check its highest growth
//! (`hi >= entry + growth`).

use crate::analysis::stack_plan::StackPlan;
use kiln_ir::Function;
use kiln_runtime::gas::STACK_LIMIT;

/// What lowering emitted for one block's stack bounds.
#[derive(Clone, Copy, Debug, Default)]
pub struct BlockChecks {
    /// The block was lowered (it is reached).
    pub lowered: bool,
    /// An underflow check guards the block: its height is at least `stack_in`.
    pub underflow: bool,
    /// An overflow check guards the block: its height plus `stack_growth` is at most the
    /// limit.
    pub overflow: bool,
    /// The block halts at entry whatever the height: nothing after its checks runs.
    pub never_completes: bool,
}

/// Where a slot access was emitted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Site {
    /// In a block's body or on one of its edges, after its checks.
    Block(usize),
    /// In the landing pad of a block, before the block's checks.
    Pad(usize),
}

/// One access to a stack slot in memory.
#[derive(Clone, Copy, Debug)]
pub struct Access {
    pub site: Site,
    /// The slot, relative to the region's base.
    pub slot: i32,
    /// The index was clamped at the stack's bottom, so only the top needs proving.
    pub clamped: bool,
    /// Not a slot but a height stored in `ctx.stack_len` (what heads and pads read back):
    /// it must lie in `[0, STACK_LIMIT]`.
    pub height: bool,
}

/// What lowering records for the proof.
#[derive(Default)]
pub struct Record {
    pub checks: Vec<BlockChecks>,
    pub accesses: Vec<Access>,
}

/// An access the proof could not cover.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "stack slot {slot} (relative to its region's base) accessed at pc {pc:#x} is not proven \
     inside the stack ({why})"
)]
pub struct Unproven {
    pub pc: u32,
    pub slot: i32,
    pub why: &'static str,
}

/// Past these a fact says nothing (keeps the fixpoint finite on cycles that shift the base).
const NO_LO: i64 = 4 * STACK_LIMIT as i64;
const NO_HI: i64 = -(4 * STACK_LIMIT as i64);

#[derive(Clone, Copy, PartialEq, Eq)]
struct Facts {
    lo: i64,
    hi: i64,
}

impl Facts {
    /// The facts that hold on both ways.
    fn meet(self, other: Facts) -> Facts {
        Facts { lo: self.lo.max(other.lo).min(NO_LO), hi: self.hi.min(other.hi).max(NO_HI) }
    }

    /// The facts with the base moved up by `by` slots.
    fn rebased(self, by: i64) -> Facts {
        Facts { lo: (self.lo - by).min(NO_LO), hi: (self.hi - by).max(NO_HI) }
    }
}

/// Proves every recorded access of `f`'s lowering inside the stack.
pub fn verify(
    f: &Function,
    plan: &StackPlan,
    base_zero: &[bool],
    record: &Record,
) -> Result<(), Unproven> {
    let n = f.blocks.len();
    let checks = |b: usize| record.checks.get(b).copied().unwrap_or_default();
    let read_base = |b: usize| {
        let hi = if base_zero[plan.blocks[b].region] { STACK_LIMIT as i64 } else { 0 };
        Facts { lo: 0, hi }
    };
    // Facts at entry, before the block's checks; `None` until a way in is seen.
    let mut entry: Vec<Option<Facts>> = vec![None; n];
    let mut work = Vec::new();
    for (b, at) in entry.iter_mut().enumerate() {
        let p = plan.blocks[b];
        if !checks(b).lowered {
            continue;
        }
        let own = if p.head && !p.static_head {
            Some(read_base(b))
        } else if p.landing || p.head_pad {
            let e = p.entry as i64;
            Some(Facts { lo: e, hi: e })
        } else {
            None
        };
        if own.is_some() {
            *at = own;
            work.push(b);
        }
    }
    let after_checks = |b: usize, at: Facts| -> Option<Facts> {
        let c = checks(b);
        if c.never_completes {
            return None;
        }
        let p = plan.blocks[b];
        let block = &f.blocks[b];
        let mut out = at;
        if c.underflow {
            out.lo = out.lo.min((p.entry - block.stack_in as i32) as i64);
        }
        if c.overflow {
            out.hi = out.hi.max((p.entry + block.stack_growth as i32) as i64);
        }
        Some(out)
    };
    while let Some(b) = work.pop() {
        let Some(out) = entry[b].and_then(|at| after_checks(b, at)) else { continue };
        let x = plan.blocks[b].exit_height(f, b) as i64;
        for s in plan.static_succs(f, b) {
            let q = plan.blocks[s];
            if !checks(s).lowered {
                continue;
            }
            let way = if q.static_head {
                out.rebased(x)
            } else if q.head {
                // Reads the base from memory: its facts are its own.
                continue;
            } else {
                out
            };
            let met = entry[s].map_or(way, |e| e.meet(way));
            if entry[s] != Some(met) {
                entry[s] = Some(met);
                work.push(s);
            }
        }
    }
    for a in &record.accesses {
        let (b, facts) = match a.site {
            Site::Block(b) => (b, entry[b].and_then(|at| after_checks(b, at))),
            Site::Pad(b) => {
                let e = plan.blocks[b].entry as i64;
                (b, Some(Facts { lo: e, hi: e }))
            }
        };
        let pc = f.blocks[b].pc;
        let unproven = |why| Unproven { pc, slot: a.slot, why };
        let Some(facts) = facts else {
            // No way in reaches the access (code after checks that always halt, or a block
            // only such code enters): it never runs.
            continue;
        };
        let slot = a.slot as i64;
        if a.height {
            if slot < facts.lo || slot > facts.hi {
                return Err(unproven("stored as the height, may lie outside [0, 1024]"));
            }
            continue;
        }
        if !a.clamped && slot < facts.lo {
            return Err(unproven("may lie below the stack's bottom"));
        }
        if slot >= facts.hi {
            return Err(unproven("may lie above the stack's top"));
        }
    }
    Ok(())
}
