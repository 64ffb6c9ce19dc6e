//! JUMPDEST analysis: which offsets are valid jump targets.

use crate::opcode::{immediate_size, JUMPDEST};

/// A bitmap of valid JUMPDEST offsets. PUSH data is never a destination.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct JumpTable {
    bits: Vec<u64>,
    /// JUMPDESTs before each 64-bit word of `bits`: with a popcount, the rank of any JUMPDEST
    /// (its index among all JUMPDESTs in code order) in constant time. Compiled code turns a
    /// dynamic jump target into a block-table index this way.
    ranks: Vec<u32>,
    len: usize,
}

impl JumpTable {
    /// Scans `code` once, in linear time. Truncated PUSH data at the end is treated as
    /// zero-padded, as the EVM does.
    pub fn analyze(code: &[u8]) -> Self {
        let mut bits = vec![0u64; code.len().div_ceil(64)];
        let mut pc = 0;
        while pc < code.len() {
            let op = code[pc];
            if op == JUMPDEST {
                bits[pc / 64] |= 1 << (pc % 64);
            }
            pc += 1 + immediate_size(op);
        }
        let mut ranks = Vec::with_capacity(bits.len());
        let mut total = 0u32;
        for word in &bits {
            ranks.push(total);
            total += word.count_ones();
        }
        Self { bits, ranks, len: code.len() }
    }

    /// The index of the JUMPDEST at `pc` among all JUMPDESTs, if `pc` is one.
    pub fn rank(&self, pc: usize) -> Option<u32> {
        if !self.is_valid(pc) {
            return None;
        }
        let below = self.bits[pc / 64] & ((1u64 << (pc % 64)) - 1);
        Some(self.ranks[pc / 64] + below.count_ones())
    }

    /// The bitmap, one bit per code byte (ABI: read by compiled code).
    pub fn bits(&self) -> &[u64] {
        &self.bits
    }

    /// Per-word prefix counts (ABI: read by compiled code).
    pub fn ranks(&self) -> &[u32] {
        &self.ranks
    }

    /// Whether `pc` is a JUMPDEST instruction (not PUSH data).
    #[inline]
    pub fn is_valid(&self, pc: usize) -> bool {
        pc < self.len && self.bits[pc / 64] & (1 << (pc % 64)) != 0
    }

    /// Offsets of all valid JUMPDESTs, ascending.
    pub fn iter(&self) -> impl Iterator<Item = usize> + '_ {
        (0..self.len).filter(|&pc| self.is_valid(pc))
    }

    pub fn code_len(&self) -> usize {
        self.len
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn push_data_is_not_a_destination() {
        // PUSH1 0x5b JUMPDEST PUSH2 0x5b5b
        let code = [0x60, 0x5b, 0x5b, 0x61, 0x5b, 0x5b];
        let t = JumpTable::analyze(&code);
        assert!(!t.is_valid(1));
        assert!(t.is_valid(2));
        assert!(!t.is_valid(4));
        assert!(!t.is_valid(5));
        assert_eq!(t.iter().collect::<Vec<_>>(), vec![2]);
        assert_eq!(t.rank(2), Some(0));
        assert_eq!(t.rank(1), None);
    }

    #[test]
    fn ranks_count_earlier_jumpdests() {
        let mut code = vec![0x00; 200];
        for pc in [0, 63, 64, 130, 199] {
            code[pc] = 0x5b;
        }
        let t = JumpTable::analyze(&code);
        let ranks: Vec<_> = [0, 63, 64, 130, 199].iter().map(|&pc| t.rank(pc)).collect();
        assert_eq!(ranks, vec![Some(0), Some(1), Some(2), Some(3), Some(4)]);
    }

    #[test]
    fn truncated_push_and_out_of_range() {
        // PUSH32 with only two bytes of data: both are data.
        let code = [0x7f, 0x5b, 0x5b];
        let t = JumpTable::analyze(&code);
        assert_eq!(t.iter().count(), 0);
        assert!(!t.is_valid(100));
        assert!(!JumpTable::analyze(&[]).is_valid(0));
    }

    #[test]
    fn all_jumpdests() {
        let code = vec![0x5b; 24 * 1024];
        let t = JumpTable::analyze(&code);
        assert_eq!(t.iter().count(), code.len());
    }
}
