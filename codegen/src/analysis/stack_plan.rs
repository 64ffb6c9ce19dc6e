//! Where the EVM stack lives between blocks: in Cranelift variables or in `ctx.stack`.
//!
//! Blocks joined by static edges form *regions*. A region starts at a *head* (the entry, a
//! resume point, a block whose predecessors disagree on the stack height, or a JUMPDEST only
//! dynamic jumps reach); the head reads the height from `ctx.stack_len` as the region's
//! *base*, and every block of the region knows its entry height relative to that base. Slots
//! are then named by that relative height and carried in variables, so a loop of static jumps
//! keeps its stack in registers. Memory is written only where something reads it: runtime
//! calls (their operands), suspension, and edges to heads or dynamic jumps.
//!
//! Per block entry two watermarks say where each slot's current value is:
//! - `synced`: slots below it hold their current value in memory;
//! - `vars_from`: slots at or above it hold their current value in a variable.
//!
//! `vars_from <= synced` always holds, so every slot is found one way or the other. Where
//! predecessors would break that, the block is *flush-entry*: each predecessor writes its
//! unsynced slots to memory on the edge.
//!
//! A JUMPDEST that dynamic jumps may reach but that static edges also enter gets a *landing
//! pad*: it derives the base from `ctx.stack_len` and loads the slots the region keeps in
//! variables, so the block itself sees one consistent state.
//!
//! A dynamic JUMP whose targets [`crate::analysis::jump_targets`] knows has *return edges*:
//! static edges to each, taken when the target equals its pc. Their targets are heads (static
//! heads, their inputs in variables): joined to the callee's region, every caller's code after
//! the call would share one region and its slots' variables would flow through all of it.
//!
//! How far variables carry the stack is the [`Carry`] a tier asks for. Regions pay off where
//! a register allocator keeps variables in registers across blocks (the optimizing tier).
//! The quick tier's single-pass allocator keeps every value that crosses a block boundary in
//! a stack slot of its own, so a slot a region carries through blocks that never touch it is
//! a block parameter on every edge and a copy between stack slots on each. There a block
//! takes only its inputs in variables: the edges into it write the slots below them to
//! memory (it enters *flushing*, and its `synced` is its `vars_from`, not its entry), once,
//! and later blocks read them from there. The regions and their bases stay as they are.

use kiln_ir::{Function, InstKind, Target, Terminator};

/// How far the EVM stack is carried in Cranelift variables between blocks.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Carry {
    /// Through regions of blocks joined by static edges: a loop of static jumps keeps its
    /// whole stack in variables (the optimizing tier, AOT).
    #[default]
    Regions,
    /// Into each block only its inputs; deeper slots go to memory on the edge (the quick
    /// tier; see the module docs).
    Inputs,
}

/// How one IR block is entered and left.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BlockPlan {
    pub live: bool,
    /// Starts a region: the base is read from `ctx.stack_len` at entry, unless
    /// `static_head`.
    pub head: bool,
    /// A head that static edges enter (not the entry or a resume point): each edge passes
    /// the base, the gas and the head's inputs in their variables, so none goes through
    /// memory (the rest of the stack does); dynamic
    /// jumps, if they reach it, enter through a pad (`head_pad`) that loads both. (A jump
    /// table cannot carry variables: appending block arguments to an edge of a table with
    /// thousands of entries costs a scan of all of them.)
    pub static_head: bool,
    /// A `static_head` that dynamic jumps also reach, through a pad of its own.
    pub head_pad: bool,
    /// The head of the block's region.
    pub region: usize,
    /// Entry height relative to the region's base.
    pub entry: i32,
    /// Entry watermarks (see the module docs).
    pub synced: i32,
    pub vars_from: i32,
    /// Predecessors write their unsynced slots to memory on the edge.
    pub flush_entry: bool,
    /// Dynamic jumps reach it through a landing pad.
    pub landing: bool,
    /// `synced` after the block (before any edge flush).
    pub exit_synced: i32,
}

impl BlockPlan {
    /// Height relative to the region base after the block.
    pub fn exit_height(&self, f: &Function, id: usize) -> i32 {
        self.entry + f.blocks[id].stack_delta()
    }
}

/// The plan for every block, and which regions have landing pads (their base is not known to
/// be non-negative, so slots at non-negative heights still need underflow checks).
pub struct StackPlan {
    pub blocks: Vec<BlockPlan>,
    pub region_has_landing: Vec<bool>,
    /// Per block ending in a dynamic JUMP: the targets it takes by static edges when its
    /// target equals their pc ([`crate::analysis::jump_targets`]); other values still go
    /// through the dispatcher.
    pub returns: Vec<Option<Vec<(u32, usize)>>>,
}

impl StackPlan {
    /// Block `b`'s successors through static edges: its terminator's and its return edges.
    pub fn static_succs<'a>(
        &'a self,
        f: &'a Function,
        b: usize,
    ) -> impl Iterator<Item = usize> + 'a {
        succs_with(f, &self.returns, b)
    }
}

/// Successors of block `b` through static edges, `returns` among them.
fn succs_with<'a>(
    f: &'a Function,
    returns: &'a [Option<Vec<(u32, usize)>>],
    b: usize,
) -> impl Iterator<Item = usize> + 'a {
    let edges = returns.get(b).into_iter().flatten().flatten().map(|&(_, t)| t);
    static_succs(&f.blocks[b].term).chain(edges)
}

/// The return edges [`crate::analysis::jump_targets`] finds for blocks ending in a dynamic
/// JUMP (a JUMPI keeps the dispatcher).
pub fn return_edges(f: &Function, live: &[bool]) -> Vec<Option<Vec<(u32, usize)>>> {
    let mut hints = crate::analysis::jump_targets::jump_targets(f, live);
    for (b, h) in hints.iter_mut().enumerate() {
        if !matches!(f.blocks[b].term, Terminator::Jump(Target::Dynamic(_))) {
            *h = None;
        }
    }
    hints
}

/// Successors through static edges that stay in registers (not suspension).
pub(crate) fn static_succs(term: &Terminator) -> impl Iterator<Item = usize> {
    let (a, b) = match *term {
        Terminator::Jump(Target::Block(t)) => (Some(t), None),
        Terminator::JumpI { target, fallthrough, .. } => {
            (if let Target::Block(t) = target { Some(t) } else { None }, Some(fallthrough))
        }
        Terminator::FallThrough(t) => (Some(t), None),
        _ => (None, None),
    };
    a.into_iter().chain(b)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Region {
    Unknown,
    In(usize, i32),
    Head,
}

/// Slots all landing pads together may load before dynamic-jump targets fall back to being
/// region heads (a contract of thousands of JUMPDESTs behind one dynamic jump would otherwise
/// get thousands of pads, each loading the region's whole stack: code size, and compile time
/// with it, would grow with blocks times stack height).
const LANDING_SLOT_BUDGET: i64 = 4096;

/// Inputs all static heads together may take in variables before they take them from
/// memory: each is four block parameters per predecessor, and code made of thousands of
/// heads reading deep stacks (24 KiB of them took 37 s to compile) would otherwise grow in
/// compile time with blocks times stack depth. Solidity code stays far below (snailtracer:
/// 132 static heads, 299 inputs; fiat_token, 23 KB, 218).
const STATIC_INPUT_BUDGET: i64 = 2048;

pub fn plan(f: &Function, live: &[bool], carry: Carry) -> StackPlan {
    let returns = return_edges(f, live);
    let inputs_only = carry == Carry::Inputs;
    let mut dynamic_heads = false;
    let mut planned = plan_with(f, live, &returns, inputs_only, dynamic_heads, true);
    if entry_slots(&planned, |p| p.landing) > LANDING_SLOT_BUDGET {
        dynamic_heads = true;
        planned = plan_with(f, live, &returns, inputs_only, dynamic_heads, true);
    }
    if entry_slots(&planned, |p| p.static_head) > STATIC_INPUT_BUDGET {
        planned = plan_with(f, live, &returns, inputs_only, dynamic_heads, false);
    }
    planned
}

/// The slots the blocks `which` selects take in variables at entry, all together.
fn entry_slots(planned: &StackPlan, which: impl Fn(&BlockPlan) -> bool) -> i64 {
    let blocks = planned.blocks.iter().filter(|p| which(p));
    blocks.map(|p| (p.entry as i64 - p.vars_from as i64).max(0)).sum()
}

/// The plan; with `inputs_only`, blocks take only their inputs in variables; with
/// `dynamic_heads`, every block a dynamic jump may reach is a head; with `static_inputs`,
/// static heads take their inputs in variables.
fn plan_with(
    f: &Function,
    live: &[bool],
    returns: &[Option<Vec<(u32, usize)>>],
    inputs_only: bool,
    dynamic_heads: bool,
    static_inputs: bool,
) -> StackPlan {
    let n = f.blocks.len();
    let mut static_preds = vec![0u32; n];
    for (b, _) in live.iter().enumerate().filter(|(_, &l)| l) {
        for s in succs_with(f, returns, b) {
            static_preds[s] += 1;
        }
    }
    let mut dyn_target = vec![false; n];
    if f.has_dynamic_jumps() {
        for &b in f.jumpdests.iter().flatten() {
            dyn_target[b] = live[b];
        }
    }

    // Regions.
    let mut heads = vec![false; n];
    if n > 0 {
        heads[0] = true;
    }
    for &r in &f.resumes {
        heads[r] |= live[r];
    }
    for b in 0..n {
        heads[b] |= dyn_target[b] && (dynamic_heads || static_preds[b] == 0);
    }
    // Return sites start regions of their own, entered like a call's continuation: the base,
    // the gas and the results in variables, the caller's stack beneath in memory (see the
    // module docs; joined regions took onchain-lm-v2 past `define`'s parameter limit).
    for t in returns.iter().flatten().flatten().map(|&(_, t)| t) {
        heads[t] |= live[t];
    }
    let region = regions(f, live, returns, heads);

    let mut resume = vec![false; n];
    for &r in &f.resumes {
        resume[r] = true;
    }
    let mut blocks = vec![BlockPlan::default(); n];
    let mut region_has_landing = vec![false; n];
    for b in 0..n {
        if !live[b] {
            continue;
        }
        let (head, r, e) = match region[b] {
            Region::Head => (true, b, 0),
            Region::In(r, e) => (false, r, e),
            Region::Unknown => unreachable!("every live block has a region"),
        };
        let landing = dyn_target[b] && !head;
        region_has_landing[r] |= landing;
        // A head only dynamic jumps reach reads base and gas itself: a pad would only add a
        // jump.
        let static_head = head && b != 0 && !resume[b] && static_preds[b] > 0;
        // A static head's inputs, below its entry (its base).
        let low = if static_inputs { -(f.blocks[b].stack_in as i32) } else { 0 };
        blocks[b] = BlockPlan {
            live: true,
            head,
            static_head,
            head_pad: static_head && dyn_target[b],
            region: r,
            entry: e,
            // Heads start with everything in memory but what static edges hand a static head
            // in variables, its inputs; others are met from their predecessors.
            synced: if static_head {
                low
            } else if head {
                0
            } else {
                i32::MAX
            },
            vars_from: if static_head {
                low
            } else if head {
                0
            } else {
                i32::MIN
            },
            flush_entry: false,
            landing,
            exit_synced: 0,
        };
    }

    // Watermarks, to a fixed point: `synced` only falls and `vars_from` only rises.
    let mut work: Vec<usize> = (0..n).filter(|&b| blocks[b].head).collect();
    let mut queued = vec![false; n];
    for &b in &work {
        queued[b] = true;
    }
    while let Some(b) = work.pop() {
        queued[b] = false;
        let p = blocks[b];
        let block = &f.blocks[b];
        let x = p.exit_height(f, b);
        let low = p.entry - block.stack_in as i32;
        let synced = exit_synced(f, b, p.entry, p.synced).min(x);
        let vars_from = p.vars_from.min(low);
        blocks[b].exit_synced = synced;
        for s in succs_with(f, returns, b) {
            let q = &mut blocks[s];
            if q.head {
                continue;
            }
            let before = (q.synced, q.vars_from, q.flush_entry);
            q.vars_from = q.vars_from.max(vars_from);
            if inputs_only {
                // Deeper slots are written to memory on the edge, once, rather than carried
                // through every block that leaves them alone.
                q.vars_from = q.vars_from.max(q.entry - f.blocks[s].stack_in as i32);
            }
            if !q.flush_entry {
                q.synced = q.synced.min(synced);
                if q.vars_from > q.synced {
                    q.flush_entry = true;
                }
            }
            if q.flush_entry {
                // Regions: the whole stack in memory (its variables may be stale where the
                // edges disagree). Inputs only: just what lies below the variables.
                q.synced = if inputs_only { q.vars_from } else { q.entry };
            }
            if (q.synced, q.vars_from, q.flush_entry) != before && !queued[s] {
                queued[s] = true;
                work.push(s);
            }
        }
    }
    StackPlan { blocks, region_has_landing, returns: returns.to_vec() }
}

/// Rounds of region assignment that start again from the heads found so far before the
/// assignment settles for turning blocks into heads as it meets them (see [`regions`]).
const REGION_ROUNDS: usize = 16;

/// Each block's region from the `heads` given. A block that two regions (or two heights of
/// one) reach is a head too. Made a head as the walk meets it, such a block would leave the
/// blocks the walk had already given its old region behind it: the new head's successors
/// would then meet those and turn into heads in turn, one after the other around a whole
/// loop (onchain-lm-v2's inner loop was a head at every block, its stack through memory at
/// each). So a round only collects the blocks to turn into heads, and the next starts again
/// with them; after [`REGION_ROUNDS`] the walk turns them into heads as it goes, which
/// always finishes.
fn regions(
    f: &Function,
    live: &[bool],
    returns: &[Option<Vec<(u32, usize)>>],
    mut heads: Vec<bool>,
) -> Vec<Region> {
    let n = f.blocks.len();
    let mut round = 0;
    loop {
        let cascade = round >= REGION_ROUNDS;
        round += 1;
        let mut region: Vec<Region> =
            heads.iter().map(|&h| if h { Region::Head } else { Region::Unknown }).collect();
        let mut work: Vec<usize> = (0..n).filter(|&b| heads[b]).collect();
        let mut found = false;
        // Blocks before it are all placed: a placed block stays placed within a round.
        let mut unplaced = 0;
        loop {
            while let Some(b) = work.pop() {
                let (r, e) = match region[b] {
                    Region::Head => (b, 0),
                    Region::In(r, e) => (r, e),
                    Region::Unknown => continue,
                };
                let x = e + f.blocks[b].stack_delta();
                for s in succs_with(f, returns, b) {
                    match region[s] {
                        Region::Head => {}
                        Region::Unknown => {
                            region[s] = Region::In(r, x);
                            work.push(s);
                        }
                        Region::In(r2, e2) if (r2, e2) == (r, x) => {}
                        Region::In(..) if cascade => {
                            region[s] = Region::Head;
                            work.push(s);
                        }
                        Region::In(..) => {
                            found |= !heads[s];
                            heads[s] = true;
                        }
                    }
                }
            }
            // Live blocks no head reaches (a cycle entered only by a dynamic jump) start one.
            while unplaced < n && !(live[unplaced] && region[unplaced] == Region::Unknown) {
                unplaced += 1;
            }
            if unplaced == n {
                break;
            }
            heads[unplaced] = true;
            region[unplaced] = Region::Head;
            work.push(unplaced);
        }
        // A cascading round finds nothing to collect: it turned such blocks into heads.
        if !found {
            return region;
        }
    }
}

/// `synced` after block `id` given its value at entry: lowered by every slot the block leaves
/// different from memory (exit values not in their own place, slots runtime calls wrote).
pub fn exit_synced(f: &Function, id: usize, entry: i32, synced: i32) -> i32 {
    let block = &f.blocks[id];
    let mut w = synced;
    let mut input_depth = std::collections::HashMap::new();
    for inst in &block.insts {
        match (&inst.kind, inst.result) {
            (InstKind::Input(d), Some(r)) => {
                input_depth.insert(r, *d);
            }
            (InstKind::Op(_), _) => w = w.min(entry + inst.sp - inst.args.len() as i32),
            _ => {}
        }
    }
    let low = entry - block.stack_in as i32;
    for (i, v) in block.exit.iter().enumerate() {
        let o = low + i as i32;
        let in_place = input_depth.get(v).is_some_and(|&d| o == entry - d as i32 - 1);
        if !in_place {
            w = w.min(o);
        }
    }
    w
}

#[cfg(test)]
mod tests {
    use super::*;
    use kiln_frontend::SpecId;

    /// Sixteen items, then `n` heads, each reached by a JUMPI (on CALLDATASIZE) and by a jump
    /// one item higher,
    /// each reading sixteen deep (DUP16).
    fn deep_heads(n: usize) -> Vec<u8> {
        let mut code = vec![0x5f; 16];
        let first = code.len() + 3 + 1;
        code.extend_from_slice(&[0x61, (first >> 8) as u8, first as u8, 0x56]);
        for i in 0..n {
            let next = first + (i + 1) * 13;
            let [hi, lo] = (next as u16).to_be_bytes();
            code.extend_from_slice(&[0x5b, 0x8f, 0x50, 0x36, 0x61, hi, lo, 0x57]);
            code.extend_from_slice(&[0x5f, 0x61, hi, lo, 0x56]);
        }
        code.extend_from_slice(&[0x5b, 0x00]);
        code
    }

    /// Each static head's plan, with its block's entry inputs.
    fn static_heads(n: usize) -> Vec<(BlockPlan, i32)> {
        let f = kiln_ir::build(&deep_heads(n), SpecId::Prague);
        let live = vec![true; f.blocks.len()];
        let plan = plan(&f, &live, Carry::Regions);
        (0..f.blocks.len())
            .filter(|&b| plan.blocks[b].static_head)
            .map(|b| (plan.blocks[b], f.blocks[b].stack_in as i32))
            .collect()
    }

    /// A loop head that a later path reaches at another height becomes a head after the walk
    /// has already carried the old region around the loop: the loop's other blocks stay in
    /// the new head's region rather than turning into heads one after the other.
    #[test]
    fn a_late_head_takes_its_loop_into_its_region() {
        let code = [
            0x60, 0x01, // 0x00: PUSH1 1
            0x5f, 0x35, // 0x02: PUSH0 CALLDATALOAD
            0x60, 0x0f, 0x57, // 0x04: PUSH1 F JUMPI (F: the same loop one item higher)
            0x5b, // 0x07: L: JUMPDEST, reached first by falling through
            0x36, 0x60, 0x15, 0x57, // 0x08: CALLDATASIZE PUSH1 END JUMPI
            0x60, 0x07, 0x56, // 0x0c: B: PUSH1 L JUMP
            0x5b, 0x60, 0x02, 0x60, 0x07, 0x56, // 0x0f: F: JUMPDEST PUSH1 2 PUSH1 L JUMP
            0x5b, 0x00, // 0x15: END: JUMPDEST STOP
        ];
        let f = kiln_ir::build(&code, SpecId::Prague);
        let live = vec![true; f.blocks.len()];
        let plan = plan(&f, &live, Carry::Regions);
        let at = |pc: u32| f.blocks.iter().position(|b| b.pc == pc).expect("block at pc");
        let (l, b, end) = (at(0x07), at(0x0c), at(0x15));
        assert!(plan.blocks[l].head, "two heights reach the loop head");
        for x in [b, end] {
            assert!(!plan.blocks[x].head, "pc {:#x} is a head", f.blocks[x].pc);
            assert_eq!((plan.blocks[x].region, plan.blocks[x].entry), (l, 0));
        }
    }

    /// Eight items, then a loop that adds one to the top until it passes CALLDATASIZE: the
    /// optimizing tier's plan carries all eight in variables around the loop; the quick
    /// tier's keeps the loop in the entry's region but hands it only its one input in a
    /// variable, the seven below written to memory on the way in.
    #[test]
    fn carrying_inputs_leaves_deeper_slots_in_memory() {
        let mut code = vec![0x5f; 8]; // PUSH0 x8
        code.extend_from_slice(&[
            0x5b, // 0x08: L: JUMPDEST
            0x60, 0x01, 0x01, // PUSH1 1 ADD
            0x80, 0x36, 0x11, // DUP1 CALLDATASIZE GT
            0x60, 0x08, 0x57, // PUSH1 L JUMPI
            0x00, // STOP
        ]);
        let f = kiln_ir::build(&code, SpecId::Prague);
        let live = f.reachable(&f.resumes);
        let l = f.blocks.iter().position(|b| b.pc == 0x08).expect("the loop's block");
        assert_eq!(f.blocks[l].stack_in, 1, "the loop reads the top item");
        // Slots from `vars_from` up to the entry height are in variables at entry.
        let in_vars = |p: BlockPlan| p.entry - p.vars_from;

        let regions = plan(&f, &live, Carry::Regions).blocks[l];
        assert!(!regions.head && regions.region == 0, "the loop joins the entry's region");
        assert_eq!(regions.entry, 8);
        assert_eq!(in_vars(regions), 8, "the whole stack in variables");
        assert!(!regions.flush_entry);

        let inputs = plan(&f, &live, Carry::Inputs).blocks[l];
        assert!(!inputs.head && inputs.region == 0, "the loop joins the entry's region");
        assert_eq!(inputs.entry, 8);
        assert_eq!(in_vars(inputs), 1, "only its input in a variable");
        assert!(inputs.flush_entry, "the edges in write the rest");
        assert_eq!(inputs.synced, inputs.vars_from, "memory holds all below the input");
    }

    #[test]
    fn static_heads_take_their_inputs_in_variables_within_the_budget() {
        // Ten blocks (the first, reached only by the entry's jump, is no head): nine heads of
        // sixteen inputs, 144, in variables.
        let few = static_heads(10);
        assert_eq!(few.iter().filter(|(_, k)| *k == 16).count(), 9);
        for (p, k) in few {
            assert_eq!((p.vars_from, p.synced), (-k, -k), "inputs in variables");
        }
        // Two hundred: 3,184 inputs, past the budget: from memory, as other heads take theirs.
        let many = static_heads(200);
        assert_eq!(many.iter().filter(|(_, k)| *k == 16).count(), 199);
        for (p, _) in many {
            assert_eq!((p.vars_from, p.synced), (0, 0), "inputs in memory");
        }
    }
}
