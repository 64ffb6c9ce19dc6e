//! What the tier policy did: per-contract tiers with the reason a contract is interpreted,
//! and totals. Read with [`super::Tiers::stats`]; `--stats` on the command line prints it.

use alloy_primitives::B256;
use kiln_codegen::CodeTier;
use kiln_runtime::SpecId;
use std::fmt;
use std::time::Duration;

/// Why a contract is running in the interpreter.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum InterpReason {
    /// Fewer executions than the threshold so far (or the compile queue was full).
    Cold,
    /// Waiting for, or in, a background compilation.
    Compiling,
    /// Longer than the configured size limit.
    TooLarge { size: usize, limit: usize },
    /// The compiler refused it.
    CompileFailed(String),
    /// The compiler could not prove every stack access of its code inside the stack
    /// buffer ([`kiln_codegen::stack_proof`]), so it never runs native.
    Unproven(String),
    /// Its compilation took longer than the configured limit; the result was thrown away.
    CompileTooSlow { took: Duration, limit: Duration },
    /// Its code alone is larger than the whole cache budget.
    OverBudget { bytes: usize, budget: usize },
}

impl InterpReason {
    /// Whether the contract will never be compiled under this configuration.
    pub fn is_final(&self) -> bool {
        !matches!(self, InterpReason::Cold | InterpReason::Compiling)
    }
}

impl From<kiln_codegen::CompileError> for InterpReason {
    fn from(e: kiln_codegen::CompileError) -> Self {
        match e {
            kiln_codegen::CompileError::UnprovenStack(u) => InterpReason::Unproven(u.to_string()),
            other => InterpReason::CompileFailed(other.to_string()),
        }
    }
}

impl fmt::Display for InterpReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InterpReason::Cold => f.write_str("cold"),
            InterpReason::Compiling => f.write_str("compiling"),
            InterpReason::TooLarge { size, limit } => {
                write!(f, "too large ({size} bytes, limit {limit})")
            }
            InterpReason::CompileFailed(e) => write!(f, "compile failed: {e}"),
            InterpReason::Unproven(e) => write!(f, "stack safety not proven: {e}"),
            InterpReason::CompileTooSlow { took, limit } => {
                write!(f, "compile too slow ({took:.1?}, limit {limit:.1?})")
            }
            InterpReason::OverBudget { bytes, budget } => {
                write!(f, "over cache budget ({bytes} bytes, budget {budget})")
            }
        }
    }
}

/// Where a contract's next execution runs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Tier {
    Interpreter(InterpReason),
    /// Compiled in the background and held in the code cache.
    Native {
        code_tier: CodeTier,
        memory_bytes: usize,
        compile_time: Duration,
    },
    /// Found in the AOT library given at construction.
    Aot,
}

impl fmt::Display for Tier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Tier::Interpreter(reason) => write!(f, "interpreted: {reason}"),
            Tier::Native { code_tier, memory_bytes, compile_time } => write!(
                f,
                "native, {code_tier} ({memory_bytes} bytes, compiled in {compile_time:.1?})"
            ),
            Tier::Aot => f.write_str("aot"),
        }
    }
}

/// One contract (code hash and fork) the policy has seen.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContractStats {
    /// keccak256 of the code (of the initcode, for a creation).
    pub code_hash: B256,
    pub spec: SpecId,
    pub code_size: usize,
    /// Frames that ran this contract, in any tier.
    pub executions: u64,
    /// Of those, frames that ran native code from the cache.
    pub native_executions: u64,
    /// Times its compiled code was evicted from the cache.
    pub evictions: u64,
    pub tier: Tier,
}

/// The compiles of one tier: units kept, and the workers' time (kept or not).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TierCompiles {
    pub compiled: u64,
    pub compile_time: Duration,
}

/// Totals, and every contract seen (AOT-only contracts are counted, not listed).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TierStats {
    pub interp_executions: u64,
    pub native_executions: u64,
    pub aot_executions: u64,
    pub compiled: u64,
    pub compile_failed: u64,
    /// Contracts whose stack accesses the compiler could not prove safe.
    pub unproven: u64,
    pub compile_too_slow: u64,
    pub too_large: u64,
    pub over_budget: u64,
    /// Compilations not queued because the queue was full (retried on a later execution).
    pub queue_full: u64,
    pub evictions: u64,
    /// Time the workers spent compiling, kept or not.
    pub compile_time: Duration,
    /// Of `compiled` and `compile_time`: each tier's share.
    pub quick: TierCompiles,
    pub optimizing: TierCompiles,
    /// Optimizing units that replaced a contract's quick code.
    pub optimized: u64,
    /// Frames that left a partial unit for the interpreter at a block it did not hold.
    pub left_native: u64,
    /// Partial units compiled again, with what runs entered since, because their frames left
    /// them too often ([`super::config::TierConfig::partial`]).
    pub widened: u64,
    /// Executable memory held by the cache now, and its budget.
    pub cache_bytes: usize,
    pub cache_budget: usize,
    pub contracts: Vec<ContractStats>,
}

impl TierStats {
    /// Contracts now running native code from the cache.
    pub fn native_contracts(&self) -> usize {
        self.contracts.iter().filter(|c| matches!(c.tier, Tier::Native { .. })).count()
    }

    /// Contracts that stay interpreted for good, with the reason.
    pub fn kept_interpreted(&self) -> impl Iterator<Item = (&ContractStats, &InterpReason)> {
        self.contracts.iter().filter_map(|c| match &c.tier {
            Tier::Interpreter(reason) if reason.is_final() => Some((c, reason)),
            _ => None,
        })
    }

    /// The totals, then up to `limit` contracts: those kept interpreted first (with their
    /// reason), then the most executed.
    pub fn write_text(&self, out: &mut impl fmt::Write, limit: usize) -> fmt::Result {
        writeln!(
            out,
            "tier executions: {} interpreted, {} native, {} aot",
            self.interp_executions, self.native_executions, self.aot_executions
        )?;
        writeln!(
            out,
            "tier compiles: {} compiled in {:.1?}, {} failed, {} unproven, {} too slow, \
             {} too large, {} over budget, {} queue full",
            self.compiled,
            self.compile_time,
            self.compile_failed,
            self.unproven,
            self.compile_too_slow,
            self.too_large,
            self.over_budget,
            self.queue_full
        )?;
        writeln!(
            out,
            "tier compiles by tier: {} quick in {:.1?}, {} optimizing in {:.1?} ({} replaced \
             quick code)",
            self.quick.compiled,
            self.quick.compile_time,
            self.optimizing.compiled,
            self.optimizing.compile_time,
            self.optimized
        )?;
        writeln!(
            out,
            "tier partial units: {} frames left compiled code for the interpreter, {} units \
             compiled again with more",
            self.left_native, self.widened
        )?;
        writeln!(
            out,
            "tier cache: {} native contracts, {} of {} bytes, {} evictions",
            self.native_contracts(),
            self.cache_bytes,
            self.cache_budget,
            self.evictions
        )?;
        let mut listed: Vec<&ContractStats> = self.kept_interpreted().map(|(c, _)| c).collect();
        let mut rest: Vec<&ContractStats> = self
            .contracts
            .iter()
            .filter(|c| !listed.iter().any(|l| std::ptr::eq(*l, *c)))
            .collect();
        rest.sort_by_key(|c| std::cmp::Reverse(c.executions));
        listed.extend(rest);
        for c in listed.iter().take(limit) {
            writeln!(
                out,
                "  {} {:<7} {:>6} bytes {:>8} runs ({} native): {}",
                c.code_hash,
                c.spec.name(),
                c.code_size,
                c.executions,
                c.native_executions,
                c.tier
            )?;
        }
        if listed.len() > limit {
            writeln!(out, "  ... {} more contracts", listed.len() - limit)?;
        }
        Ok(())
    }

    /// The totals as JSON (contracts kept interpreted are listed with their reason).
    pub fn to_json(&self) -> serde_json::Value {
        let kept: Vec<serde_json::Value> = self
            .kept_interpreted()
            .map(|(c, reason)| {
                serde_json::json!({
                    "code_hash": c.code_hash.to_string(),
                    "fork": c.spec.name(),
                    "reason": reason.to_string(),
                })
            })
            .collect();
        serde_json::json!({
            "interp_executions": self.interp_executions,
            "native_executions": self.native_executions,
            "aot_executions": self.aot_executions,
            "compiled": self.compiled,
            "compile_failed": self.compile_failed,
            "unproven": self.unproven,
            "compile_too_slow": self.compile_too_slow,
            "too_large": self.too_large,
            "over_budget": self.over_budget,
            "queue_full": self.queue_full,
            "evictions": self.evictions,
            "compile_time_us": self.compile_time.as_micros() as u64,
            "quick_compiled": self.quick.compiled,
            "quick_compile_time_us": self.quick.compile_time.as_micros() as u64,
            "optimizing_compiled": self.optimizing.compiled,
            "optimizing_compile_time_us": self.optimizing.compile_time.as_micros() as u64,
            "optimized": self.optimized,
            "left_native": self.left_native,
            "widened": self.widened,
            "cache_bytes": self.cache_bytes,
            "cache_budget": self.cache_budget,
            "native_contracts": self.native_contracts(),
            "kept_interpreted": kept,
        })
    }
}
