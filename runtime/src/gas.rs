//! Gas constants and formulas for the forks Kiln executes (Cancun and later). Static per-opcode
//! costs live in the frontend's opcode table; these are the dynamic parts.

/// Gas of the transaction itself (EIP-2028 calldata, EIP-2930 access lists, EIP-3860 initcode,
/// EIP-7623 floor, EIP-7702 authorizations).
pub const TX_BASE: u64 = 21_000;
pub const TX_CREATE: u64 = 32_000;
pub const TX_DATA_ZERO: u64 = 4;
pub const TX_DATA_NONZERO: u64 = 16;
pub const TX_ACCESS_LIST_ADDRESS: u64 = 2_400;
pub const TX_ACCESS_LIST_STORAGE_KEY: u64 = 1_900;
pub const TOTAL_COST_FLOOR_PER_TOKEN: u64 = 10;
pub const PER_EMPTY_ACCOUNT_COST: u64 = 25_000;
pub const PER_AUTH_BASE_COST: u64 = 12_500;

/// Memory: 3 per word plus words²/512.
pub const MEMORY_WORD: u64 = 3;
pub const MEMORY_QUAD_DIVISOR: u64 = 512;
pub const COPY_WORD: u64 = 3;
pub const KECCAK_WORD: u64 = 6;
pub const LOG_DATA_BYTE: u64 = 8;
pub const EXP_BYTE: u64 = 50;
pub const INITCODE_WORD: u64 = 2;
pub const CODE_DEPOSIT_BYTE: u64 = 200;

/// EIP-2929 access costs. Opcodes' static gas already contains the warm cost.
pub const COLD_ACCOUNT_ACCESS: u64 = 2_600;
pub const WARM_STORAGE_READ: u64 = 100;
pub const COLD_SLOAD: u64 = 2_100;
/// What a cold account access costs beyond the warm cost in the opcode table.
pub const COLD_ACCOUNT_SURCHARGE: u64 = COLD_ACCOUNT_ACCESS - WARM_STORAGE_READ;
/// What a cold SLOAD costs beyond the warm cost in the opcode table.
pub const COLD_SLOAD_SURCHARGE: u64 = COLD_SLOAD - WARM_STORAGE_READ;

/// EIP-2200 / EIP-3529 SSTORE.
pub const SSTORE_SET: u64 = 20_000;
pub const SSTORE_RESET: u64 = 5_000 - COLD_SLOAD;
pub const SSTORE_SENTRY: u64 = 2_300;
pub const SSTORE_CLEARS_REFUND: i64 = 4_800;

/// CALL family.
pub const CALL_VALUE: u64 = 9_000;
pub const CALL_STIPEND: u64 = 2_300;
pub const NEW_ACCOUNT: u64 = 25_000;

/// SELFDESTRUCT to a dead account with a balance to send.
pub const SELFDESTRUCT_NEW_ACCOUNT: u64 = 25_000;

/// EIP-4844.
pub const GAS_PER_BLOB: u64 = 1 << 17;

/// Limits.
pub const MAX_CODE_SIZE: usize = 0x6000;
pub const MAX_INITCODE_SIZE: usize = 2 * MAX_CODE_SIZE;
pub const CALL_DEPTH_LIMIT: usize = 1024;
pub const STACK_LIMIT: usize = 1024;
/// EIP-7825 (Osaka): no transaction may ask for more gas than this.
pub const TX_GAS_LIMIT_CAP: u64 = 1 << 24;
/// EIP-7594 (Osaka): blobs per transaction.
pub const MAX_BLOBS_PER_TX_OSAKA: u64 = 6;
/// EIP-3529: refunds are capped at a fifth of the gas used.
pub const MAX_REFUND_QUOTIENT: u64 = 5;

/// Words needed to hold `len` bytes.
#[inline]
pub const fn words(len: u64) -> u64 {
    len.div_ceil(32)
}

/// Total cost of a memory of `words` words. Callers keep `words` below 2^32, so no overflow.
#[inline]
pub const fn memory_cost(words: u64) -> u64 {
    MEMORY_WORD * words + words * words / MEMORY_QUAD_DIVISOR
}

/// Cost of copying `len` bytes.
#[inline]
pub const fn copy_cost(len: u64) -> u64 {
    COPY_WORD * words(len)
}

/// All but one 64th (EIP-150).
#[inline]
pub const fn all_but_one_64th(gas: u64) -> u64 {
    gas - gas / 64
}

/// The EIP-4844 `fake_exponential(factor, numerator, denominator)`, saturating at `u128::MAX`
/// (a fee that large exceeds any balance, so saturation cannot change an outcome).
pub fn fake_exponential(factor: u64, numerator: u64, denominator: u64) -> u128 {
    use alloy_primitives::U256;
    if denominator == 0 {
        // Undefined; configurations are checked for it, and saturating keeps it harmless.
        return u128::MAX;
    }
    if numerator == 0 {
        // The series is its first term, factor * denominator / denominator: the blob base
        // fee of every block without excess blob gas, computed for every transaction.
        return factor as u128;
    }
    let factor = U256::from(factor);
    let numerator = U256::from(numerator);
    let denominator = U256::from(denominator);
    let mut i = U256::from(1);
    let mut output = U256::ZERO;
    let mut acc = factor * denominator;
    while !acc.is_zero() {
        output = output.saturating_add(acc);
        acc = acc.saturating_mul(numerator) / (denominator * i);
        i += U256::from(1);
        if output == U256::MAX {
            break;
        }
    }
    u128::try_from(output / denominator).unwrap_or(u128::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_cost_is_quadratic() {
        assert_eq!(memory_cost(0), 0);
        assert_eq!(memory_cost(1), 3);
        assert_eq!(memory_cost(32), 96 + 2);
        // 1 MiB of memory: 32768 words.
        assert_eq!(memory_cost(32_768), 3 * 32_768 + 32_768 * 32_768 / 512);
    }

    #[test]
    fn words_round_up() {
        assert_eq!(words(0), 0);
        assert_eq!(words(1), 1);
        assert_eq!(words(32), 1);
        assert_eq!(words(33), 2);
    }

    #[test]
    fn blob_base_fee_vectors() {
        // From EIP-4844's reference tests of fake_exponential.
        assert_eq!(fake_exponential(1, 0, 1), 1);
        assert_eq!(fake_exponential(1, 5, 0), u128::MAX, "no division by zero");
        let vectors: [(u64, u64, u64, u128); 13] = [
            (38493, 0, 1000, 38493),
            (0, 1234, 2345, 0),
            (1, 2, 1, 6),
            (1, 4, 2, 6),
            (1, 3, 1, 16),
            (1, 6, 2, 18),
            (1, 4, 1, 49),
            (1, 8, 2, 50),
            (10, 8, 2, 542),
            (11, 8, 2, 596),
            (1, 5, 1, 136),
            (1, 5, 2, 11),
            (2, 5, 2, 23),
        ];
        for (factor, numerator, denominator, want) in vectors {
            assert_eq!(
                fake_exponential(factor, numerator, denominator),
                want,
                "{factor} {numerator} {denominator}"
            );
        }
    }
}
