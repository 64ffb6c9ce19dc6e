//! SSTORE metering per fork, against the test tables of the EIPs that define it: EIP-1283's
//! (Constantinople, which revm does not implement, so the differential test cannot check it)
//! and EIP-2200's (Istanbul), plus the plain metering before and after them.

use alloy_primitives::{hex, Address, Bytes, U256};
use kiln_runtime::{
    transact, BlockEnv, CfgEnv, ExecutionResult, InMemoryDb, SpecId, TxEnv, TxKind,
};

const CONTRACT: Address = Address::with_last_byte(0xcc);
const SENDER: Address = Address::with_last_byte(0xaa);
/// Non-zero call data the code ignores: it raises the gas used, so the refund cap (half the
/// gas used before London) never hides a refund.
const PADDING: usize = 1_000;

/// Runs `code` on a contract whose slot 0 holds `original`; returns the gas the code used
/// (without the intrinsic gas) and the refund, or `None` if the call failed.
fn run(spec: SpecId, code: &str, original: u64, gas: u64) -> Option<(u64, u64)> {
    let mut db = InMemoryDb::new();
    db.insert_account(SENDER, U256::from(10u64.pow(18)), 0, Bytes::new(), []);
    let code = Bytes::from(hex::decode(code).unwrap());
    db.insert_account(CONTRACT, U256::ZERO, 1, code, [(U256::ZERO, U256::from(original))]);
    let data = Bytes::from(vec![1u8; PADDING]);
    let intrinsic = kiln_runtime::handler::intrinsic_gas(
        &TxEnv { data: data.clone(), ..TxEnv::default() },
        spec,
    )
    .initial;
    let tx = TxEnv {
        caller: SENDER,
        gas_limit: intrinsic + gas,
        kind: TxKind::Call(CONTRACT),
        data,
        ..TxEnv::default()
    };
    let block = BlockEnv { gas_limit: 30_000_000, ..BlockEnv::default() };
    match transact(&mut db, &CfgEnv::new(spec), &block, &tx).unwrap().0 {
        ExecutionResult::Success { gas_used, gas_refunded, .. } => {
            Some((gas_used + gas_refunded - intrinsic, gas_refunded))
        }
        _ => None,
    }
}

/// (code, original value, gas used, refund) under EIP-1283, from the EIP's table.
const EIP1283: [(&str, u64, u64, u64); 17] = [
    ("60006000556000600055", 0, 412, 0),
    ("60006000556001600055", 0, 20212, 0),
    ("60016000556000600055", 0, 20212, 19800),
    ("60016000556002600055", 0, 20212, 0),
    ("60016000556001600055", 0, 20212, 0),
    ("60006000556000600055", 1, 5212, 15000),
    ("60006000556001600055", 1, 5212, 4800),
    ("60006000556002600055", 1, 5212, 0),
    ("60026000556000600055", 1, 5212, 15000),
    ("60026000556003600055", 1, 5212, 0),
    ("60026000556001600055", 1, 5212, 4800),
    ("60026000556002600055", 1, 5212, 0),
    ("60016000556000600055", 1, 5212, 15000),
    ("60016000556002600055", 1, 5212, 0),
    ("60016000556001600055", 1, 412, 0),
    ("600160005560006000556001600055", 0, 40218, 19800),
    ("600060005560016000556000600055", 1, 10218, 19800),
];

#[test]
fn constantinople_meters_by_eip_1283() {
    for (code, original, used, refund) in EIP1283 {
        let got = run(SpecId::Constantinople, code, original, 100_000);
        assert_eq!(got, Some((used, refund)), "{code} from {original}");
    }
}

/// The same under EIP-2200, from the EIP's table: SLOAD_GAS is 800 instead of 200.
const EIP2200: [(&str, u64, u64, u64); 17] = [
    ("60006000556000600055", 0, 1612, 0),
    ("60006000556001600055", 0, 20812, 0),
    ("60016000556000600055", 0, 20812, 19200),
    ("60016000556002600055", 0, 20812, 0),
    ("60016000556001600055", 0, 20812, 0),
    ("60006000556000600055", 1, 5812, 15000),
    ("60006000556001600055", 1, 5812, 4200),
    ("60006000556002600055", 1, 5812, 0),
    ("60026000556000600055", 1, 5812, 15000),
    ("60026000556003600055", 1, 5812, 0),
    ("60026000556001600055", 1, 5812, 4200),
    ("60026000556002600055", 1, 5812, 0),
    ("60016000556000600055", 1, 5812, 15000),
    ("60016000556002600055", 1, 5812, 0),
    ("60016000556001600055", 1, 1612, 0),
    ("600160005560006000556001600055", 0, 40818, 19200),
    ("600060005560016000556000600055", 1, 10818, 19200),
];

#[test]
fn istanbul_meters_by_eip_2200() {
    for (code, original, used, refund) in EIP2200 {
        let got = run(SpecId::Istanbul, code, original, 100_000);
        assert_eq!(got, Some((used, refund)), "{code} from {original}");
    }
    // The sentry (EIP-1706 within EIP-2200): with 2306 gas, SSTORE starts with 2300 left and
    // fails; with 2307 it runs.
    assert_eq!(run(SpecId::Istanbul, "6001600055", 1, 2306), None);
    assert_eq!(run(SpecId::Istanbul, "6001600055", 1, 2307), Some((806, 0)));
    assert_eq!(run(SpecId::Constantinople, "6001600055", 1, 206), Some((206, 0)), "no sentry");
}

#[test]
fn petersburg_meters_by_the_present_value_only() {
    // Before net metering (and again in Petersburg): 20000 to set a zero slot, 5000 for any
    // other write, 15000 refunded for clearing; the original value plays no part.
    for spec in [SpecId::Byzantium, SpecId::Petersburg] {
        assert_eq!(run(spec, "60006000556000600055", 0, 100_000), Some((10012, 0)));
        assert_eq!(run(spec, "60016000556000600055", 0, 100_000), Some((25012, 15000)));
        assert_eq!(run(spec, "60006000556001600055", 1, 100_000), Some((25012, 15000)));
        assert_eq!(run(spec, "60016000556001600055", 1, 100_000), Some((10012, 0)));
    }
}

#[test]
fn berlin_and_london_price_cold_slots_and_refunds() {
    // EIP-2929: the first write of a cold slot pays 2100 more; a reset costs 2900 (+2100).
    assert_eq!(run(SpecId::Berlin, "60016000556001600055", 1, 100_000), Some((2212 + 100, 0)));
    assert_eq!(run(SpecId::Berlin, "60006000556000600055", 1, 100_000), Some((5112, 15000)));
    // EIP-3529: clearing refunds 4800.
    assert_eq!(run(SpecId::London, "60006000556000600055", 1, 100_000), Some((5112, 4800)));
}
