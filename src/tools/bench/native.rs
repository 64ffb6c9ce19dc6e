//! The limit rows: the work of a benchmark contract written as a plain Rust loop over
//! `ruint`'s 256-bit words, to show how far compiled EVM code is from native code.
//!
//! A fixture gets a limit row when its only transaction calls one of the contracts below
//! (recognised by their exact bytecode) with `n` as the first calldata word. The loops follow
//! the bytecode step by step (same `n`, same wrapping arithmetic, same result word), and the
//! result is checked against the EVM's output before anything is timed.

use std::hint::black_box;
use std::time::{Duration, Instant};

use alloy_primitives::{hex, U256};
use kiln_runtime::{Database as _, TxKind};

use super::measure::Workload;
use crate::tools::fixture::BenchFixture;

/// `n = calldata[0]; a = 0; b = 1; while n != 0 { (a, b) = (b, a + b); n -= 1 }; return b`.
const FIBONACCI: &str = "5f355f60015b8215601a578181019150909160019003916005565b9150505f5260205ff3";
/// `n = calldata[0]; i = 0; p = 1; while n != 0 { i += 1; p *= i; n -= 1 }; return p`.
const FACTORIAL: &str =
    "5f355f60015b8215601b57906001018091029160019003916005565b9150505f5260205ff3";

pub fn fibonacci(n: U256) -> U256 {
    let (mut n, mut a, mut b) = (n, U256::ZERO, U256::from(1));
    while !n.is_zero() {
        (a, b) = (b, a.wrapping_add(b));
        n -= U256::from(1);
    }
    b
}

pub fn factorial(n: U256) -> U256 {
    let (mut n, mut i, mut p) = (n, U256::ZERO, U256::from(1));
    while !n.is_zero() {
        i += U256::from(1);
        p = p.wrapping_mul(i);
        n -= U256::from(1);
    }
    p
}

/// A native loop and its input.
#[derive(Clone, Copy)]
pub struct NativeLoop {
    pub name: &'static str,
    f: fn(U256) -> U256,
    n: U256,
}

impl NativeLoop {
    /// The loop doing `fixture`'s work, if it is one of the known contracts.
    pub fn for_fixture(fixture: &BenchFixture) -> Option<NativeLoop> {
        let [tx] = fixture.txs.as_slice() else { return None };
        let TxKind::Call(to) = tx.kind else { return None };
        let info = fixture.pre.account(&to)?.info.clone();
        let code = match info.code {
            Some(code) => code,
            None => fixture.pre.clone().code_by_hash(info.code_hash).ok()?,
        };
        let n = U256::from_be_slice(tx.data.get(..32)?);
        let code = hex::encode(&code);
        let (name, f): (_, fn(U256) -> U256) = match code.as_str() {
            FIBONACCI => ("fibonacci", fibonacci),
            FACTORIAL => ("factorial", factorial),
            _ => return None,
        };
        Some(NativeLoop { name, f, n })
    }

    /// The 32-byte word the contract returns.
    pub fn output(&self) -> [u8; 32] {
        (self.f)(self.n).to_be_bytes()
    }
}

impl Workload for NativeLoop {
    fn run_once(&mut self) -> Duration {
        let start = Instant::now();
        // `black_box` on the input keeps the loop from being folded at compile time.
        let out = black_box((self.f)(black_box(self.n)));
        let elapsed = start.elapsed();
        black_box(out);
        elapsed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loops_compute_the_known_values() {
        assert_eq!(fibonacci(U256::ZERO), U256::from(1));
        // (a, b) runs through consecutive Fibonacci numbers starting at (F0, F1).
        assert_eq!(fibonacci(U256::from(10)), U256::from(89));
        assert_eq!(factorial(U256::from(5)), U256::from(120));
        // 1000! has far more than 256 bits of factors of two: the word wraps to zero.
        assert_eq!(factorial(U256::from(1000)), U256::ZERO);
    }
}
