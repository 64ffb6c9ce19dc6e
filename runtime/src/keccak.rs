//! Keccak-256 of inputs shorter than one block, as one absorb of a padded block.
//!
//! What contracts hash is short: a 32-byte word (chains of hashes, array slots), 64 bytes (a
//! mapping key and its slot), an address and a nonce. For such an input the general digest
//! (alloy's `keccak256` over keccak-asm) still runs its buffering, padding and squeeze
//! machinery around the one permutation that matters, about a tenth of hash_10k's time. Here
//! the block is padded in place and handed to the same CRYPTOGAMS absorb routine, and the
//! hash read straight from the state: same permutation, same result, less around it.

use alloy_primitives::{B256, U256};

/// Keccak-256's rate: the bytes one permutation absorbs.
const RATE: usize = 136;

/// Keccak-256 of `input`.
#[inline]
pub fn keccak256(input: &[u8]) -> B256 {
    if input.len() < RATE {
        let mut out = B256::ZERO;
        for (bytes, lane) in out.0.chunks_exact_mut(8).zip(one_block(input)) {
            bytes.copy_from_slice(&lane.to_le_bytes());
        }
        out
    } else {
        alloy_primitives::keccak256(input)
    }
}

/// Keccak-256 of `input` as the big-endian word KECCAK256 pushes. Built from the state's
/// lanes in registers: going through the hash's bytes in memory made the word's loads wait
/// on the stores just made (a sixth of this function's time on hash_10k).
#[inline]
pub fn keccak256_word(input: &[u8]) -> U256 {
    if input.len() < RATE {
        let [a, b, c, d] = one_block(input);
        // The hash's bytes are the lanes' little-endian bytes in order; the word's most
        // significant limb is the first eight of them read big-endian.
        let limb = |lane: u64| u64::from_be_bytes(lane.to_le_bytes());
        U256::from_limbs([limb(d), limb(c), limb(b), limb(a)])
    } else {
        U256::from_be_bytes(alloy_primitives::keccak256(input).0)
    }
}

/// The first four lanes of the state after absorbing `input` (`input.len() < RATE`) as one
/// padded block: the hash.
///
/// The padded block is XORed into the state by hand: absorbing into the zero state is
/// writing the block's lanes into it. The absorb routine then gets a block of zeros (a
/// constant), so what it adds changes nothing and it only permutes: no block buffer to
/// clear, fill and pad per hash, and no second state to clear.
#[inline]
fn one_block(input: &[u8]) -> [u64; 4] {
    debug_assert!(input.len() < RATE);
    let mut state = [0u64; 25];
    let mut lanes = input.chunks_exact(8);
    for (lane, bytes) in state.iter_mut().zip(&mut lanes) {
        *lane = u64::from_le_bytes(bytes.try_into().expect("eight bytes"));
    }
    // The input's last bytes and Keccak's pad10*1 (the 0x01 domain byte right after the
    // input; the final bit is the block's last, and both land in the last byte when the
    // input is one byte short of the rate). The lane is built in a register: bytes stored
    // one by one and read back as a word would wait for the stores.
    let tail = lanes.remainder();
    let mut lane = 0x01u64 << (8 * tail.len());
    for (i, &byte) in tail.iter().enumerate() {
        lane |= u64::from(byte) << (8 * i);
    }
    state[input.len() / 8] = lane;
    state[RATE / 8 - 1] ^= 0x80 << 56;
    let left = sha3_asm::sha3_absorb(&mut state, &ZERO_BLOCK, RATE);
    debug_assert_eq!(left, 0, "one whole block absorbed");
    [state[0], state[1], state[2], state[3]]
}

/// A block that adds nothing to the state it is absorbed into.
static ZERO_BLOCK: [u8; RATE] = [0; RATE];

#[cfg(test)]
mod tests {
    use super::*;

    /// Every length on both sides of the one-block limit, including the one where both
    /// padding bytes share the last byte, hashes as the general digest does, as bytes and as
    /// a word.
    #[test]
    fn equals_the_general_digest_at_every_length() {
        for len in 0..=2 * RATE + 1 {
            for fill in [0u8, 0xff, 0x5a] {
                let input: Vec<u8> =
                    (0..len).map(|i| (i as u8).wrapping_mul(31).wrapping_add(fill)).collect();
                let expected = alloy_primitives::keccak256(&input);
                assert_eq!(keccak256(&input), expected, "len {len}");
                assert_eq!(keccak256_word(&input), U256::from_be_bytes(expected.0), "len {len}");
            }
        }
    }

    /// Known answers, independent of any implementation in this build.
    #[test]
    fn known_answers() {
        assert_eq!(
            keccak256(b""),
            "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470"
                .parse::<B256>()
                .unwrap()
        );
        assert_eq!(
            keccak256(&[0u8; 32]),
            "290decd9548b62a8d60345a988386fc84ba6bc95484008f6362f93160ef3e563"
                .parse::<B256>()
                .unwrap()
        );
    }
}
