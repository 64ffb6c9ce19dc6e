//! KECCAK256 results kept for the rest of the transaction that computed them.
//!
//! Solidity finds a mapping's storage slot by hashing 64 bytes (the key, then the mapping's
//! slot), and a transaction hashes the same few keys again and again: a transfer reads and
//! writes `balances[from]` and `balances[to]`, often through modifiers and internal calls that
//! each hash the key anew. One permutation of Keccak-f\[1600\] costs thousands of
//! instructions; comparing 64 bytes costs a few. So 64-byte inputs are looked up in a small
//! direct-mapped table first, and a hit must equal the input byte for byte: a result is only
//! ever reused for the same input. Other lengths are hashed directly: 32-byte inputs are
//! mostly chains of hashes (each input the last output), which never hit, and a lookup that
//! misses cost hash_10k 4% of its time.
//!
//! The table is per thread and its entries are valid for one transaction only
//! ([`new_transaction`] retires them all at once): what a transaction gains comes from its own
//! repetitions, never from an earlier transaction's work, so a benchmark that runs one
//! transaction many times sees what a node executing it once would see.

use crate::keccak::{keccak256, keccak256_word};
use alloy_primitives::{B256, U256};
use std::cell::{Cell, RefCell};

/// The inputs the table holds: a mapping key and the mapping's slot.
const INPUT: usize = 64;
/// Entries in the table (a power of two): enough for the distinct keys one transaction
/// hashes in all but bulk operations, small enough (26 KiB) to stay in the L2 cache.
const ENTRIES: usize = 256;

#[derive(Clone, Copy)]
struct Entry {
    /// The transaction the entry belongs to; entries of any other are empty.
    generation: u64,
    input: [u8; INPUT],
    hash: B256,
}

const EMPTY: Entry = Entry { generation: 0, input: [0; INPUT], hash: B256::ZERO };

thread_local! {
    /// The current transaction on this thread; starts at 1, so that no entry (generation 0)
    /// is valid before the first one.
    static GENERATION: Cell<u64> = const { Cell::new(1) };
    /// Allocated on the thread's first hash.
    static TABLE: RefCell<Option<Box<[Entry; ENTRIES]>>> = const { RefCell::new(None) };
}

/// Starts a transaction on this thread: every result kept so far is forgotten.
pub fn new_transaction() {
    GENERATION.with(|g| g.set(g.get() + 1));
}

/// Keccak-256 of `input` as KECCAK256's big-endian word, from the table when this
/// transaction hashed the same 64 bytes before.
#[inline]
pub fn keccak256_cached(input: &[u8]) -> U256 {
    match <&[u8; INPUT]>::try_from(input) {
        Ok(input) => U256::from_be_bytes(cached(input).0),
        Err(_) => keccak256_word(input),
    }
}

fn cached(input: &[u8; INPUT]) -> B256 {
    let generation = GENERATION.with(Cell::get);
    let slot = index(input);
    let cached = TABLE.try_with(|table| {
        // Hashing calls nothing back, so the table is never borrowed here already; if it
        // were, hashing without it would still be right.
        let mut table = table.try_borrow_mut().ok()?;
        let table = table.get_or_insert_with(|| Box::new([EMPTY; ENTRIES]));
        let entry = &mut table[slot];
        if entry.generation == generation && entry.input == *input {
            return Some(entry.hash);
        }
        let hash = keccak256(input);
        *entry = Entry { generation, input: *input, hash };
        Some(hash)
    });
    // None: the thread is being torn down, or the table was borrowed.
    cached.ok().flatten().unwrap_or_else(|| keccak256(input))
}

/// The table slot of `input`: its 8-byte words folded together by multiplication, so that
/// keys differing only in the low bytes of an address or a slot number spread over the table.
#[inline]
fn index(input: &[u8; INPUT]) -> usize {
    const K: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut h = 0u64;
    for word in input.chunks_exact(8) {
        let word = u64::from_le_bytes(word.try_into().expect("8 bytes"));
        h = (h ^ word).wrapping_mul(K);
    }
    (h >> (64 - ENTRIES.trailing_zeros())) as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every result equals the plain hash, for inputs that share slots, differ in one byte,
    /// or have lengths the table does not keep.
    #[test]
    fn results_are_the_plain_hash() {
        new_transaction();
        let mut inputs: Vec<Vec<u8>> = Vec::new();
        for len in [0, 1, 31, 32, 33, 63, 64, 65, 200] {
            for fill in 0..3u8 {
                inputs.push((0..len).map(|i| (i as u8).wrapping_mul(7) ^ fill).collect());
            }
        }
        // Many more keys than entries: every slot is overwritten several times.
        for k in 0..(ENTRIES as u32 * 4) {
            let mut key = [0u8; 64];
            key[28..32].copy_from_slice(&k.to_be_bytes());
            key[63] = 3;
            inputs.push(key.to_vec());
        }
        for _ in 0..2 {
            for input in &inputs {
                let expected = alloy_primitives::keccak256(input);
                assert_eq!(
                    keccak256_cached(input),
                    U256::from_be_bytes(expected.0),
                    "{input:02x?}"
                );
            }
        }
    }

    /// A hit returns what the same bytes hashed to, and a new transaction forgets it.
    #[test]
    fn entries_last_one_transaction() {
        new_transaction();
        let key = [0x11u8; 64];
        let hash = B256::from(keccak256_cached(&key).to_be_bytes());
        let slot = index(&key);
        let stored = |f: &dyn Fn(&Entry) -> bool| {
            TABLE.with(|t| f(&t.borrow().as_ref().expect("allocated")[slot]))
        };
        let generation = GENERATION.with(Cell::get);
        assert!(stored(&|e| e.generation == generation && e.hash == hash));
        // Corrupt the stored hash: a second lookup in the same transaction returns it (so
        // the table is what answers), the next transaction does not.
        TABLE.with(|t| t.borrow_mut().as_mut().unwrap()[slot].hash = B256::repeat_byte(9));
        assert_eq!(keccak256_cached(&key), U256::from_be_bytes([9; 32]));
        new_transaction();
        assert_eq!(keccak256_cached(&key), U256::from_be_bytes(alloy_primitives::keccak256(key).0));
    }

    #[test]
    fn keys_spread_over_the_table() {
        // 64-byte mapping keys of consecutive addresses at one slot: most land apart.
        let mut used = std::collections::HashSet::new();
        for k in 0..64u8 {
            let mut key = [0u8; 64];
            key[31] = k;
            key[63] = 1;
            used.insert(index(&key));
        }
        assert!(used.len() > 48, "{} distinct slots of 64", used.len());
    }
}
