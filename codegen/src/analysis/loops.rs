//! Which blocks are in loops, for lowering choices that trade compile time for run time.
//!
//! A loop is a backward static jump whose target dominates its source, over the graph of
//! static edges alone. Dominance is what tells a loop from a Solidity internal-function call:
//! the call's jump to a function body earlier in the code is backward too, but the body does
//! not dominate the caller. Dynamic jumps and resumes are left out (their targets count as
//! entries): this is a heuristic for spending compile time, never a fact code relies on.

use crate::analysis::stack_plan::static_succs as succs;
use kiln_ir::Function;

/// Per block: it lies (by pc) between the header and the latch of a loop.
pub fn in_loops(f: &Function) -> Vec<bool> {
    let n = f.blocks.len();
    let succ: Vec<[Option<usize>; 2]> = f
        .blocks
        .iter()
        .map(|b| {
            let mut s = succs(&b.term);
            [s.next(), s.next()]
        })
        .collect();
    let succ_of = |b: usize| succ[b].into_iter().flatten();
    if !(0..n).any(|b| succ_of(b).any(|t| t <= b)) {
        return vec![false; n];
    }
    // Predecessors, as one array sliced per block.
    let mut first = vec![0usize; n + 1];
    for b in 0..n {
        for t in succ_of(b) {
            first[t + 1] += 1;
        }
    }
    for b in 0..n {
        first[b + 1] += first[b];
    }
    let mut pred_list = vec![0usize; first[n]];
    let mut fill = first.clone();
    for b in 0..n {
        for t in succ_of(b) {
            pred_list[fill[t]] = b;
            fill[t] += 1;
        }
    }
    let preds = |b: usize| &pred_list[first[b]..first[b + 1]];
    // Entries: the code's start, and every block no static edge enters.
    let is_entry: Vec<bool> = (0..n).map(|b| b == 0 || preds(b).is_empty()).collect();
    let entries: Vec<usize> = (0..n).filter(|&b| is_entry[b]).collect();

    // Reverse postorder from a virtual root (index n) whose successors are the entries.
    let mut post = vec![usize::MAX; n + 1];
    let mut order = Vec::with_capacity(n + 1);
    let mut seen = vec![false; n + 1];
    let mut stack: Vec<(usize, usize)> = vec![(n, 0)];
    seen[n] = true;
    while let Some(&mut (b, ref mut i)) = stack.last_mut() {
        let next = if b == n { entries.get(*i).copied() } else { succ_of(b).nth(*i) };
        *i += 1;
        match next {
            Some(s) if !seen[s] => {
                seen[s] = true;
                stack.push((s, 0));
            }
            Some(_) => {}
            None => {
                post[b] = order.len();
                order.push(b);
                stack.pop();
            }
        }
    }

    // Immediate dominators (Cooper, Harvey and Kennedy's iteration).
    let mut idom = vec![usize::MAX; n + 1];
    idom[n] = n;
    let intersect = |idom: &[usize], mut a: usize, mut b: usize| {
        while a != b {
            while post[a] < post[b] {
                a = idom[a];
            }
            while post[b] < post[a] {
                b = idom[b];
            }
        }
        a
    };
    let mut changed = true;
    while changed {
        changed = false;
        for &b in order.iter().rev().skip(1) {
            let mut new = is_entry[b].then_some(n);
            for &p in preds(b) {
                if idom[p] != usize::MAX {
                    new = Some(match new {
                        None => p,
                        Some(d) => intersect(&idom, p, d),
                    });
                }
            }
            let new = new.expect("a block in the order has a processed predecessor or the root");
            if idom[b] != new {
                idom[b] = new;
                changed = true;
            }
        }
    }

    // Dominator-tree intervals: `a` dominates `b` when b's interval lies in a's.
    let mut child_first = vec![0usize; n + 2];
    for &b in &order {
        if b != n {
            child_first[idom[b] + 1] += 1;
        }
    }
    for b in 0..=n {
        child_first[b + 1] += child_first[b];
    }
    let mut child_list = vec![0usize; child_first[n + 1]];
    let mut fill = child_first.clone();
    for &b in &order {
        if b != n {
            child_list[fill[idom[b]]] = b;
            fill[idom[b]] += 1;
        }
    }
    let children = |b: usize| &child_list[child_first[b]..child_first[b + 1]];
    let (mut tin, mut tout) = (vec![0usize; n + 1], vec![0usize; n + 1]);
    let mut clock = 0;
    let mut stack: Vec<(usize, usize)> = vec![(n, 0)];
    tin[n] = clock;
    while let Some(&mut (b, ref mut i)) = stack.last_mut() {
        if let Some(&c) = children(b).get(*i) {
            *i += 1;
            clock += 1;
            tin[c] = clock;
            stack.push((c, 0));
        } else {
            tout[b] = clock;
            stack.pop();
        }
    }
    let dominates = |a: usize, b: usize| tin[a] <= tin[b] && tout[b] <= tout[a];

    let mut depth = vec![0i32; n + 1];
    for b in 0..n {
        for t in succ_of(b) {
            if t <= b && seen[b] && dominates(t, b) {
                depth[t] += 1;
                depth[b + 1] -= 1;
            }
        }
    }
    let mut open = 0;
    depth[..n]
        .iter()
        .map(|d| {
            open += d;
            open > 0
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use kiln_frontend::SpecId;

    fn in_loop_by_pc(code: &[u8]) -> Vec<(u32, bool)> {
        let f = kiln_ir::build(code, SpecId::Prague);
        f.blocks.iter().map(|b| b.pc).zip(in_loops(&f)).collect()
    }

    #[test]
    fn a_backward_jump_to_a_dominating_jumpdest_is_a_loop() {
        // n = calldata[0]; while n != 0 { n -= 1 }; stop
        let code = [
            0x5f, 0x35, // 0: n
            0x5b, 0x80, 0x15, 0x60, 0x0f, 0x57, // 2: loop head, exit when n == 0
            0x60, 0x01, 0x90, 0x03, 0x60, 0x02, 0x56, // 8: n -= 1, jump back
            0x5b, 0x00, // 15: exit
        ];
        let got = in_loop_by_pc(&code);
        assert_eq!(got, vec![(0, false), (2, true), (8, true), (15, false), (17, false)]);
    }

    #[test]
    fn a_backward_jump_into_a_function_body_is_not_a_loop() {
        // A function placed before its caller: the call jumps backward, and returns through
        // a dynamic jump.
        let code = [
            0x60, 0x08, 0x56, // 0: jump over the function
            0x5b, 0x60, 0x01, 0x50, 0x56, // 3: fn: PUSH1 1 POP, return (dynamic)
            0x5b, 0x60, 0x0e, 0x60, 0x03, 0x56, // 8: call fn with return address 14
            0x5b, 0x00, // 14: return site
        ];
        let got = in_loop_by_pc(&code);
        assert!(got.iter().all(|&(_, l)| !l), "{got:?}");
    }
}
