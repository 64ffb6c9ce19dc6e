//! The two compiled tiers: what each trades, and how a user picks one.
//!
//! Both tiers lower the same IR and run the same ABI; they differ in Cranelift's register
//! allocator, and in how far the stack is carried in variables between blocks
//! ([`CodeTier::carry`]). Compiled EVM code is all block boundaries (every gas and stack
//! check branches), and the single-pass allocator keeps every value in a stack slot across
//! them: it compiles 4-5x faster, and its code runs snailtracer about 1.6x and fibonacci 3x
//! slower than the backtracking allocator's (docs/design.md, "Register allocation"). So the
//! tier policy compiles a contract quickly first and again for speed once it stays hot.

use crate::lower::Carry;
use crate::CompileError;
use std::fmt;
use std::str::FromStr;

/// Which compiled tier a function is compiled for.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum CodeTier {
    /// Compiled for latency: the single-pass register allocator.
    Quick,
    /// Compiled for speed: the backtracking register allocator (single-pass past the sizes
    /// it handles in bounded time, see [`crate::define`]).
    #[default]
    Optimizing,
}

impl CodeTier {
    pub const ALL: [CodeTier; 2] = [CodeTier::Quick, CodeTier::Optimizing];

    pub fn name(self) -> &'static str {
        match self {
            CodeTier::Quick => "quick",
            CodeTier::Optimizing => "optimizing",
        }
    }

    /// How far the tier's code carries the stack in variables between blocks. Whole regions
    /// only where the allocator keeps variables in registers: with the single-pass allocator
    /// each slot a region carries is a copy between stack slots on every edge, and quick code
    /// carrying regions ran onchain-lm-v2 at 0.69x the interpreter, 2.0x carrying inputs
    /// (docs/benchmarks.md).
    pub fn carry(self) -> Carry {
        match self {
            CodeTier::Quick => Carry::Inputs,
            CodeTier::Optimizing => Carry::Regions,
        }
    }

    /// The tier `KILN_JIT_TIER` names (`quick` or `optimizing`), optimizing when unset: the
    /// JIT of `--mode jit` compiles everything in it, so each tier can be tested on its own.
    pub fn from_env() -> Result<Self, CompileError> {
        match std::env::var("KILN_JIT_TIER") {
            Ok(value) => value
                .parse()
                .map_err(|e: UnknownTier| CompileError::Backend(format!("KILN_JIT_TIER: {e}"))),
            Err(_) => Ok(CodeTier::default()),
        }
    }
}

impl fmt::Display for CodeTier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A tier name that is neither `quick` nor `optimizing`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown compiled tier {0:?} (expected quick or optimizing)")]
pub struct UnknownTier(pub String);

impl FromStr for CodeTier {
    type Err = UnknownTier;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        CodeTier::ALL
            .into_iter()
            .find(|t| t.name().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| UnknownTier(s.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_back_and_others_are_refused() {
        for tier in CodeTier::ALL {
            assert_eq!(tier.name().parse::<CodeTier>(), Ok(tier));
        }
        assert_eq!("Quick".parse::<CodeTier>(), Ok(CodeTier::Quick));
        assert_eq!("fast".parse::<CodeTier>(), Err(UnknownTier("fast".into())));
    }
}
