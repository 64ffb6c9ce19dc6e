//! Bytecode ready to run: padded so reads past the end see STOP, with its jump table.

use alloy_primitives::{map::HashMap, Bytes, B256};
use kiln_frontend::JumpTable;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// Bytes appended after the code: a PUSH32 at the last byte reads zeros, and running off the
/// end reads STOP, so the interpreter never bounds-checks its instruction fetch.
const PADDING: usize = 33;

/// Analyzed bytecode, shared between frames and transactions.
#[derive(Debug)]
pub struct AnalyzedCode {
    padded: Vec<u8>,
    len: usize,
    jumps: JumpTable,
    hash: B256,
    original: Bytes,
    /// Where runs entered blocks, a bit per offset (the end of the code included): what the
    /// tier policy compiles when it compiles a contract (see [`AnalyzedCode::coverage`]).
    coverage: Box<[AtomicU64]>,
}

impl AnalyzedCode {
    pub fn new(code: Bytes, hash: B256) -> Self {
        let mut padded = Vec::with_capacity(code.len() + PADDING);
        padded.extend_from_slice(&code);
        padded.resize(code.len() + PADDING, 0);
        let coverage = (0..code.len() / 64 + 1).map(|_| AtomicU64::new(0)).collect();
        Self {
            len: code.len(),
            jumps: JumpTable::analyze(&code),
            padded,
            hash,
            original: code,
            coverage,
        }
    }

    /// The block starts interpreted frames entered, a bit per code offset: each JUMPDEST
    /// executed and each instruction after a JUMPI that fell through, for frames whose
    /// native code provider asked for it ([`crate::NativeCode::records_coverage`]). Bits
    /// are only ever set, from any thread (relaxed: a missed bit only leaves a block to the
    /// interpreter a while longer).
    pub fn coverage(&self) -> &[AtomicU64] {
        &self.coverage
    }

    /// A copy of [`AnalyzedCode::coverage`], for a compile.
    pub fn coverage_bits(&self) -> Vec<u64> {
        self.coverage.iter().map(|w| w.load(Ordering::Relaxed)).collect()
    }

    /// The code followed by zero padding.
    #[inline(always)]
    pub fn padded(&self) -> &[u8] {
        &self.padded
    }

    /// The code as deployed.
    #[inline(always)]
    pub fn bytes(&self) -> &[u8] {
        &self.padded[..self.len]
    }

    pub fn original(&self) -> &Bytes {
        &self.original
    }

    #[inline(always)]
    pub fn len(&self) -> usize {
        self.len
    }

    #[inline(always)]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    #[inline(always)]
    pub fn is_jumpdest(&self, pc: usize) -> bool {
        self.jumps.is_valid(pc)
    }

    pub fn jumps(&self) -> &JumpTable {
        &self.jumps
    }

    pub fn hash(&self) -> B256 {
        self.hash
    }
}

/// Analyses keyed by code hash, so a contract called many times is analyzed once.
#[derive(Default)]
pub struct CodeCache {
    map: HashMap<B256, Arc<AnalyzedCode>>,
}

impl CodeCache {
    pub fn get_or_analyze(&mut self, hash: B256, code: &Bytes) -> Arc<AnalyzedCode> {
        self.map
            .entry(hash)
            .or_insert_with(|| Arc::new(AnalyzedCode::new(code.clone(), hash)))
            .clone()
    }

    /// Number of analyzed codes held.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    pub fn clear(&mut self) {
        self.map.clear();
    }
}

/// EIP-7702 delegation designator prefix.
pub const DELEGATION_PREFIX: [u8; 3] = [0xef, 0x01, 0x00];

/// The delegate of an EIP-7702 designator `0xef0100 ‖ address`, if `code` is one.
pub fn delegation_target(code: &[u8]) -> Option<alloy_primitives::Address> {
    if code.len() == 23 && code[..3] == DELEGATION_PREFIX {
        Some(alloy_primitives::Address::from_slice(&code[3..]))
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn padding_reads_as_stop() {
        let c = AnalyzedCode::new(Bytes::from_static(&[0x7f, 0x01]), B256::ZERO);
        assert_eq!(c.len(), 2);
        assert_eq!(c.padded().len(), 35);
        assert!(c.padded()[2..].iter().all(|&b| b == 0));
    }

    #[test]
    fn delegation_designator() {
        let mut code = vec![0xef, 0x01, 0x00];
        code.extend_from_slice(&[0x11; 20]);
        assert_eq!(delegation_target(&code), Some(alloy_primitives::Address::repeat_byte(0x11)));
        code.push(0);
        assert_eq!(delegation_target(&code), None);
    }
}
