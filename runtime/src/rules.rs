//! The rules of each fork that are not opcode facts (those, with each fork's static gas, are in
//! the frontend's opcode table): transaction costs, dynamic gas, refunds, account semantics.
//!
//! As in the opcode table, Frontier is written out whole and every later fork as its changes
//! over the fork before (`fork_changes`), so a reader sees what a fork changed in one place.
//! The runtime reads these fields instead of comparing forks.

use crate::gas;
use kiln_frontend::SpecId;

/// How SSTORE is metered and refunded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SstoreRules {
    /// Net gas metering (EIP-1283 in Constantinople, EIP-2200 from Istanbul): the cost
    /// depends on the slot's value at the start of the transaction, not only the present one.
    pub net_metering: bool,
    /// EIP-2200's sentry: SSTORE fails unless more than the call stipend is left.
    pub sentry: bool,
    /// What a no-op or dirty write costs under net metering (the fork's SLOAD price, the warm
    /// read from Berlin on).
    pub noop: u64,
    /// Writing a non-zero value to a zero slot.
    pub set: u64,
    /// Any other write of a clean slot (without the cold surcharge from Berlin on).
    pub reset: u64,
    /// Refunded for clearing a slot.
    pub clears_refund: i64,
}

/// One fork's rules.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rules {
    /// The fork these are the rules of.
    pub spec: SpecId,
    /// Intrinsic gas of a contract-creating transaction beyond [`gas::TX_BASE`] (EIP-2).
    pub tx_create: u64,
    /// Intrinsic gas per non-zero byte of call data (EIP-2028 lowered it).
    pub tx_data_nonzero: u64,
    /// EIP-3860: init code is limited to [`gas::MAX_INITCODE_SIZE`] and costs
    /// [`gas::INITCODE_WORD`] per word, in a creating transaction and in CREATE/CREATE2.
    pub initcode_limit: bool,
    /// EIP-3651: the coinbase is warm from the start of the transaction.
    pub warm_coinbase: bool,
    /// EIP-2929: accounts and slots are cold until first accessed, and a cold access costs
    /// more than the opcode's static (warm) gas.
    pub cold_access: bool,
    /// EIP-150: a call gets at most all but one 64th of the caller's gas, and a creation all
    /// but one 64th; before it, a call must be able to pay what it asks for and a creation
    /// gets all the gas.
    pub all_but_one_64th: bool,
    /// Gas per byte of EXP's exponent (EIP-160 raised it).
    pub exp_byte: u64,
    pub sstore: SstoreRules,
    /// Refunds are capped at the gas used divided by this (EIP-3529 lowered the cap).
    pub max_refund_quotient: u64,
    /// Refunded by SELFDESTRUCT, once per account (EIP-3529 removed it).
    pub selfdestruct_refund: i64,
    /// SELFDESTRUCT pays [`gas::SELFDESTRUCT_NEW_ACCOUNT`] for a beneficiary it brings into
    /// existence (EIP-150).
    pub selfdestruct_new_account: bool,
    /// EIP-6780: SELFDESTRUCT deletes the account only if it was created in the same
    /// transaction; otherwise it only moves the balance.
    pub selfdestruct_only_created: bool,
    /// EIP-161 state clearing: an empty account that a transaction touches is deleted, a call
    /// pays for a new account only when it sends value to an empty one, and a new contract
    /// starts with nonce 1. Before it, empty accounts exist and a call pays for creating any
    /// account that does not.
    pub state_clearing: bool,
    /// EIP-2: a creation that cannot pay for its code deposit fails; before Homestead it
    /// succeeds and leaves the contract without code.
    pub failed_deposit_halts: bool,
    /// EIP-170: the largest code a creation may deploy.
    pub max_code_size: usize,
    /// EIP-3541: deployed code may not start with 0xEF.
    pub reject_ef_code: bool,
    /// EIP-1559: blocks have a base fee, which is burnt; the coinbase gets only the tip.
    pub base_fee: bool,
    /// EIP-4399: opcode 0x44 reads PREVRANDAO instead of the block's difficulty.
    pub prevrandao: bool,
    /// EIP-7623: a transaction pays at least a floor per call-data token.
    pub calldata_floor: bool,
    /// EIP-7702: delegation designators in code are followed.
    pub delegation: bool,
}

const FRONTIER: Rules = Rules {
    spec: SpecId::Frontier,
    tx_create: 0,
    tx_data_nonzero: 68,
    initcode_limit: false,
    warm_coinbase: false,
    cold_access: false,
    all_but_one_64th: false,
    exp_byte: 10,
    sstore: SstoreRules {
        net_metering: false,
        sentry: false,
        noop: 0,
        set: gas::SSTORE_SET,
        reset: 5_000,
        clears_refund: 15_000,
    },
    max_refund_quotient: 2,
    selfdestruct_refund: 24_000,
    selfdestruct_new_account: false,
    selfdestruct_only_created: false,
    state_clearing: false,
    failed_deposit_halts: false,
    max_code_size: usize::MAX,
    reject_ef_code: false,
    base_fee: false,
    prevrandao: false,
    calldata_floor: false,
    delegation: false,
};

/// What `spec` changed over the fork before it.
const fn fork_changes(r: Rules, spec: SpecId) -> Rules {
    use SpecId::*;
    let r = Rules { spec, ..r };
    match spec {
        Frontier => r,
        Homestead => Rules { tx_create: gas::TX_CREATE, failed_deposit_halts: true, ..r },
        TangerineWhistle => Rules { all_but_one_64th: true, selfdestruct_new_account: true, ..r },
        SpuriousDragon => Rules {
            exp_byte: gas::EXP_BYTE,
            state_clearing: true,
            max_code_size: gas::MAX_CODE_SIZE,
            ..r
        },
        Byzantium => r,
        // EIP-1283, withdrawn again in Petersburg.
        Constantinople => {
            Rules { sstore: SstoreRules { net_metering: true, noop: 200, ..r.sstore }, ..r }
        }
        Petersburg => Rules { sstore: FRONTIER.sstore, ..r },
        // EIP-2200 (with EIP-1884's SLOAD price) and EIP-2028.
        Istanbul => Rules {
            tx_data_nonzero: gas::TX_DATA_NONZERO,
            sstore: SstoreRules { net_metering: true, sentry: true, noop: 800, ..r.sstore },
            ..r
        },
        // EIP-2929: the cold surcharge of a write is charged apart from its price.
        Berlin => Rules {
            cold_access: true,
            sstore: SstoreRules {
                noop: gas::WARM_STORAGE_READ,
                reset: gas::SSTORE_RESET,
                ..r.sstore
            },
            ..r
        },
        // EIP-3529 and EIP-3541.
        London => Rules {
            sstore: SstoreRules { clears_refund: gas::SSTORE_CLEARS_REFUND, ..r.sstore },
            max_refund_quotient: gas::MAX_REFUND_QUOTIENT,
            selfdestruct_refund: 0,
            reject_ef_code: true,
            base_fee: true,
            ..r
        },
        Paris => Rules { prevrandao: true, ..r },
        Shanghai => Rules { initcode_limit: true, warm_coinbase: true, ..r },
        Cancun => Rules { selfdestruct_only_created: true, ..r },
        Prague => Rules { calldata_floor: true, delegation: true, ..r },
        Osaka => r,
    }
}

const fn build() -> [Rules; SpecId::COUNT] {
    let mut out = [FRONTIER; SpecId::COUNT];
    let mut r = FRONTIER;
    let mut i = 0;
    while i < SpecId::COUNT {
        r = fork_changes(r, SpecId::ALL[i]);
        out[i] = r;
        i += 1;
    }
    out
}

static RULES: [Rules; SpecId::COUNT] = build();

impl Rules {
    /// The rules of `spec`.
    #[inline]
    pub fn of(spec: SpecId) -> &'static Rules {
        &RULES[spec as usize]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_fork_is_its_own() {
        for spec in SpecId::all() {
            assert_eq!(Rules::of(spec).spec, spec);
        }
    }

    #[test]
    fn sstore_metering_by_fork() {
        let s = |spec| Rules::of(spec).sstore;
        assert!(!s(SpecId::Byzantium).net_metering);
        assert!(s(SpecId::Constantinople).net_metering && !s(SpecId::Constantinople).sentry);
        assert_eq!(s(SpecId::Constantinople).noop, 200);
        assert!(!s(SpecId::Petersburg).net_metering, "EIP-1283 was withdrawn");
        assert!(s(SpecId::Istanbul).sentry);
        assert_eq!((s(SpecId::Istanbul).noop, s(SpecId::Istanbul).reset), (800, 5_000));
        assert_eq!((s(SpecId::Berlin).noop, s(SpecId::Berlin).reset), (100, 2_900));
        assert_eq!(s(SpecId::Berlin).clears_refund, 15_000);
        assert_eq!(s(SpecId::London).clears_refund, 4_800);
        assert_eq!(s(SpecId::Osaka), s(SpecId::London));
    }

    #[test]
    fn refunds_and_accounts_by_fork() {
        let r = Rules::of;
        assert_eq!(r(SpecId::Berlin).max_refund_quotient, 2);
        assert_eq!(r(SpecId::London).max_refund_quotient, 5);
        assert_eq!(r(SpecId::Berlin).selfdestruct_refund, 24_000);
        assert_eq!(r(SpecId::London).selfdestruct_refund, 0);
        assert!(
            !r(SpecId::TangerineWhistle).state_clearing && r(SpecId::SpuriousDragon).state_clearing
        );
        assert_eq!(r(SpecId::TangerineWhistle).max_code_size, usize::MAX);
        assert_eq!(r(SpecId::SpuriousDragon).max_code_size, 0x6000);
        assert!(
            !r(SpecId::Frontier).failed_deposit_halts && r(SpecId::Homestead).failed_deposit_halts
        );
        assert_eq!((r(SpecId::Frontier).tx_create, r(SpecId::Homestead).tx_create), (0, 32_000));
        assert_eq!(
            (r(SpecId::Petersburg).tx_data_nonzero, r(SpecId::Istanbul).tx_data_nonzero),
            (68, 16)
        );
        assert!(!r(SpecId::Shanghai).selfdestruct_only_created);
        assert!(r(SpecId::Cancun).selfdestruct_only_created);
    }
}
