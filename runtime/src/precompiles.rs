//! Precompiled contracts, built on `revm-precompile` (the crates the field relies on: k256,
//! sha2, ripemd, bn254 arithmetic, blst, c-kzg, p256, aurora-engine-modexp).

use alloy_primitives::{Address, Bytes};
use kiln_frontend::SpecId;
use revm_precompile::{PrecompileSpecId, PrecompileStatus, Precompiles};

/// The precompiles active in one fork.
#[derive(Clone, Copy)]
pub struct PrecompileSet {
    inner: &'static Precompiles,
}

/// What a precompile call did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PrecompileOutcome {
    Success {
        gas_used: u64,
        output: Bytes,
    },
    /// Out of gas or invalid input: the call fails and consumes all gas given to it.
    Failure,
}

impl PrecompileSet {
    pub fn for_spec(spec: SpecId) -> Self {
        let id = match spec {
            SpecId::Frontier
            | SpecId::Homestead
            | SpecId::TangerineWhistle
            | SpecId::SpuriousDragon => PrecompileSpecId::HOMESTEAD,
            SpecId::Byzantium | SpecId::Constantinople | SpecId::Petersburg => {
                PrecompileSpecId::BYZANTIUM
            }
            SpecId::Istanbul => PrecompileSpecId::ISTANBUL,
            SpecId::Berlin | SpecId::London | SpecId::Paris | SpecId::Shanghai => {
                PrecompileSpecId::BERLIN
            }
            SpecId::Cancun => PrecompileSpecId::CANCUN,
            SpecId::Prague => PrecompileSpecId::PRAGUE,
            SpecId::Osaka => PrecompileSpecId::OSAKA,
        };
        Self { inner: Precompiles::new(id) }
    }

    #[inline]
    pub fn contains(&self, address: &Address) -> bool {
        self.inner.get(address).is_some()
    }

    pub fn addresses(&self) -> impl Iterator<Item = &Address> {
        self.inner.addresses()
    }

    /// Runs the precompile at `address` (which must be one) with `gas_limit`.
    /// `Err` is a fatal error of the precompile library itself, not of the input.
    pub fn run(
        &self,
        address: &Address,
        input: &[u8],
        gas_limit: u64,
    ) -> Result<PrecompileOutcome, String> {
        let Some(p) = self.inner.get(address) else {
            return Err(format!("{address} is not a precompile"));
        };
        let out = p.execute(input, gas_limit, 0).map_err(|e| e.to_string())?;
        Ok(match out.status {
            PrecompileStatus::Success if out.gas_used <= gas_limit => {
                PrecompileOutcome::Success { gas_used: out.gas_used, output: out.bytes }
            }
            _ => PrecompileOutcome::Failure,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy_primitives::hex;

    fn run(spec: SpecId, n: u8, input: &[u8], gas: u64) -> PrecompileOutcome {
        PrecompileSet::for_spec(spec).run(&Address::with_last_byte(n), input, gas).unwrap()
    }

    #[test]
    fn active_sets_per_fork() {
        let count = |s| PrecompileSet::for_spec(s).addresses().count();
        assert_eq!(count(SpecId::Cancun), 10);
        assert_eq!(count(SpecId::Prague), 17);
        assert_eq!(count(SpecId::Osaka), 18);
        let p256 = Address::with_last_byte(0).into_array();
        let mut p256 = p256;
        p256[18] = 0x01;
        assert!(PrecompileSet::for_spec(SpecId::Osaka).contains(&Address::from(p256)));
    }

    #[test]
    fn identity_and_sha256_vectors() {
        assert_eq!(
            run(SpecId::Cancun, 4, b"abc", 100),
            PrecompileOutcome::Success { gas_used: 18, output: Bytes::from_static(b"abc") }
        );
        // sha256("abc"), FIPS 180-2 appendix B.1.
        let PrecompileOutcome::Success { gas_used, output } = run(SpecId::Cancun, 2, b"abc", 100)
        else {
            panic!("sha256 failed")
        };
        assert_eq!(gas_used, 72);
        assert_eq!(
            output[..],
            hex!("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        );
    }

    #[test]
    fn ripemd160_vector() {
        // RIPEMD-160("abc") from the algorithm's reference test vectors, left-padded to 32 bytes.
        let PrecompileOutcome::Success { output, .. } = run(SpecId::Cancun, 3, b"abc", 1000) else {
            panic!("ripemd failed")
        };
        assert_eq!(output[12..], hex!("8eb208f7e05d987a9b044a8e98c6b087f15a0bfc"));
    }

    #[test]
    fn ecrecover_vector() {
        // The well-known vector from the Ethereum yellow-paper tests (go-ethereum's
        // contracts_test "ValidKey").
        let input = hex!("38d18acb67d25c8bb9942764b62f18e17054f66a817bd4295423adf9ed98873e000000000000000000000000000000000000000000000000000000000000001b38d18acb67d25c8bb9942764b62f18e17054f66a817bd4295423adf9ed98873e789d1dd423d25f0772d2748d60f7e4b81bb14d086eba8e8e8efb6dcff8a4ae02");
        let PrecompileOutcome::Success { gas_used, output } = run(SpecId::Cancun, 1, &input, 3000)
        else {
            panic!("ecrecover failed")
        };
        assert_eq!(gas_used, 3000);
        assert_eq!(
            output[..],
            hex!("000000000000000000000000ceaccac640adf55b2028469bd36ba501f28b699d")
        );
    }

    #[test]
    fn out_of_gas_is_failure() {
        assert_eq!(run(SpecId::Cancun, 4, b"abc", 17), PrecompileOutcome::Failure);
    }

    #[test]
    fn modexp_osaka_pricing_differs() {
        // 3^5 mod 7 = 5 with one-byte operands.
        let input = hex!("000000000000000000000000000000000000000000000000000000000000000100000000000000000000000000000000000000000000000000000000000000010000000000000000000000000000000000000000000000000000000000000001030507");
        let prague = run(SpecId::Prague, 5, &input, 10_000);
        let osaka = run(SpecId::Osaka, 5, &input, 10_000);
        let PrecompileOutcome::Success { gas_used: g1, output } = prague else { panic!() };
        assert_eq!(output[..], [5]);
        let PrecompileOutcome::Success { gas_used: g2, .. } = osaka else { panic!() };
        assert_eq!((g1, g2), (200, 500), "EIP-2565 minimum 200, EIP-7883 minimum 500");
    }
}
