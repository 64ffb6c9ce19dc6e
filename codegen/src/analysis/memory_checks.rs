//! Which memory accesses of a block share one bounds check.
//!
//! Solidity reads and writes a struct's fields as `p`, `p + 32`, `p + 64`: three MSTOREs
//! whose offsets differ by constants. When nothing between them can tell, the first access
//! can check and grow memory for all of them, and the others access it unchecked.
//!
//! Why that is exact:
//! - Memory growth costs `C(new size) - C(old size)`, so growing to the group's highest end
//!   at once charges what growing access by access charges in total, and leaves the same
//!   size. The only difference is when an out-of-gas halt happens: it can come at the first
//!   access where the EVM would reach it at a later one. Gas sections make the same move
//!   (static gas is charged at a section's start), under the same condition: nothing in
//!   between observes the remaining gas. So a group ends where a gas section ends.
//! - Nothing in between may observe the memory size (MSIZE), or halt for another reason (a
//!   LOG, SSTORE or TSTORE in a static frame, RETURNDATACOPY out of bounds), where the EVM
//!   would report that reason rather than running out of gas. Such instructions end a group.
//! - Every access of a group lies at `o + d` with `o` the first access's offset and
//!   `0 <= d < MAX_SPAN` known at compile time (the IR's `add` of a constant wraps as the EVM
//!   does). The first access checks `[o, o + span)`. When `o` is 2^32 or more, the runtime
//!   prices that range (and a range past 2^64 halts, as the first access alone would);
//!   otherwise `o + d` does not wrap and each access lies inside the checked range.

use kiln_frontend::opcode as op;
use kiln_ir::{Block, InstKind, Value};
use kiln_runtime::memory::MAX_ACCESS_SPAN;
use ruint::aliases::U256;
use std::collections::HashMap;

/// How one instruction's memory access is checked.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Check {
    /// Not a grouped access (not a memory access, a constant offset, or alone): its own check.
    #[default]
    Own,
    /// The first access of a group: checks `span` bytes from its offset.
    Span(u32),
    /// A later access of a group: inside memory the group's first access made addressable.
    Covered,
}

/// Bytes an MLOAD, MSTORE or MSTORE8 accesses ([`op::OpInfo::memory_access`]).
pub fn access_width(opcode: u8) -> u64 {
    op::info(opcode).map_or(0, |i| i.memory_access as u64)
}

/// A group still open to later accesses.
struct Group {
    /// Index of its first access.
    first: usize,
    /// The first access's distance above the base.
    d: u64,
    /// The highest end of its accesses, above the base.
    end: u64,
    /// Some later access joined it.
    joined: bool,
}

impl Group {
    /// The first access's check: the span when others joined, else its own.
    fn check(&self) -> Check {
        if self.joined {
            Check::Span((self.end - self.d) as u32)
        } else {
            Check::Own
        }
    }
}

/// Per instruction of `block`, how its memory access is checked.
pub fn plan(block: &Block) -> Vec<Check> {
    let mut checks = vec![Check::Own; block.insts.len()];
    let mut consts: HashMap<u32, U256> = HashMap::new();
    // Per value: a value it exceeds by a constant (`add` chains), and that constant.
    let mut based: HashMap<u32, (Value, u64)> = HashMap::new();
    // Per base value: its open group.
    let mut open: HashMap<u32, Group> = HashMap::new();
    let mut section_starts = block.sections.iter().map(|s| s.at).peekable();
    let close = |open: &mut HashMap<u32, Group>, checks: &mut [Check]| {
        for (_, g) in open.drain() {
            checks[g.first] = g.check();
        }
    };
    for (i, inst) in block.insts.iter().enumerate() {
        let mut new_section = false;
        while section_starts.next_if(|&at| at <= i).is_some() {
            new_section = true;
        }
        if new_section {
            close(&mut open, &mut checks);
        }
        let opcode = match inst.kind {
            InstKind::Const(c) => {
                if let Some(r) = inst.result {
                    consts.insert(r.0, c);
                }
                continue;
            }
            InstKind::Input(_) => continue,
            InstKind::Op(opcode) => opcode,
        };
        match opcode {
            op::ADD => {
                let (a, b) = (inst.args[0], inst.args[1]);
                let small = |v: Value| {
                    consts
                        .get(&v.0)
                        .filter(|c| **c < U256::from(MAX_ACCESS_SPAN))
                        .map(|c| c.to::<u64>())
                };
                let step = match (small(a), small(b)) {
                    (_, Some(c)) => Some((a, c)),
                    (Some(c), _) => Some((b, c)),
                    _ => None,
                };
                if let (Some((x, c)), Some(r)) = (step, inst.result) {
                    let (root, d) = based.get(&x.0).copied().unwrap_or((x, 0));
                    if d + c < MAX_ACCESS_SPAN {
                        based.insert(r.0, (root, d + c));
                    }
                }
            }
            op::MLOAD | op::MSTORE | op::MSTORE8 => {
                let offset = inst.args[0];
                if consts.contains_key(&offset.0) {
                    continue;
                }
                let width = access_width(opcode);
                let (root, d) = based.get(&offset.0).copied().unwrap_or((offset, 0));
                match open.get_mut(&root.0) {
                    Some(g) if g.d <= d && d + width - g.d <= MAX_ACCESS_SPAN => {
                        checks[i] = Check::Covered;
                        g.end = g.end.max(d + width);
                        g.joined = true;
                    }
                    _ => {
                        // Below the open group's first access (or too far above it): this
                        // access starts a new group.
                        let g = Group { first: i, d, end: d + width, joined: false };
                        if let Some(old) = open.insert(root.0, g) {
                            checks[old.first] = old.check();
                        }
                    }
                }
            }
            _ if ends_group(opcode) => close(&mut open, &mut checks),
            _ => {}
        }
    }
    close(&mut open, &mut checks);
    checks
}

/// Instructions that observe the remaining gas or the memory size, or can halt for a reason
/// other than gas. (The gas observers end gas sections too.)
fn ends_group(opcode: u8) -> bool {
    op::info(opcode).is_some_and(|i| i.observes_gas || i.observes_memory_size || i.may_halt)
}

#[cfg(test)]
mod tests {
    use super::*;
    use kiln_frontend::SpecId;

    /// The checks of the memory accesses in `code`'s first block that has any.
    fn checks(code: &str) -> Vec<Check> {
        let code = alloy_primitives::hex::decode(code.replace(' ', "")).unwrap();
        let f = kiln_ir::build(&code, SpecId::Prague);
        let block = f
            .blocks
            .iter()
            .find(|b| b.insts.iter().any(|i| matches!(i.kind, InstKind::Op(op::MSTORE))))
            .expect("a block with memory accesses");
        let is_access = |i: &kiln_ir::Inst| {
            matches!(i.kind, InstKind::Op(op::MLOAD | op::MSTORE | op::MSTORE8))
        };
        let plan = plan(block);
        block.insts.iter().zip(plan).filter(|(i, _)| is_access(i)).map(|(_, c)| c).collect()
    }

    // p = calldataload(0), then mstore(p, 1), mstore(p + 32, 2), mstore(p + 64, 3) with
    // `between` after the first store.
    fn fields(between: &str) -> String {
        format!("5f35600181 52{between}6002602082015260036040820152 00")
    }

    #[test]
    fn fields_at_constant_distances_share_the_first_access_check() {
        assert_eq!(checks(&fields("")), [Check::Span(96), Check::Covered, Check::Covered]);
        // mstore8(p), then mstore(p): the byte store checks the word's 32 bytes.
        assert_eq!(checks("5f35 600181 53 600281 52 00"), [Check::Span(32), Check::Covered]);
        // mstore8(p + 100) after mstore(p): the span reaches its byte.
        assert_eq!(checks("5f356001815260ff6064820153 00"), [Check::Span(101), Check::Covered]);
    }

    #[test]
    fn what_observes_gas_or_memory_size_or_halts_otherwise_ends_a_group() {
        for (between, what) in [("5a50", "GAS"), ("5950", "MSIZE"), ("5f5fa0", "LOG0")] {
            assert_eq!(
                checks(&fields(between)),
                [Check::Own, Check::Span(64), Check::Covered],
                "{what} between the first and the second store"
            );
        }
        // Pure arithmetic and other memory accesses do not.
        assert_eq!(
            checks(&fields("600260030250")),
            [Check::Span(96), Check::Covered, Check::Covered]
        );
    }

    #[test]
    fn accesses_below_the_first_far_apart_or_at_constant_offsets_check_themselves() {
        // mstore(p + 32, 1), then mstore(p, 2): the second starts a group of its own.
        assert_eq!(checks("5f35600160208201526002815200"), [Check::Own, Check::Own]);
        // mstore(p, 1), then mstore(p + 2000, 2): past the largest span.
        assert_eq!(checks("5f356001815260026107d0820152 00"), [Check::Own, Check::Own]);
        // mstore(0x40, 1), mstore(0x60, 2): constant offsets have their own cheaper check.
        assert_eq!(checks("6001604052600260605200"), [Check::Own, Check::Own]);
    }
}
