//! The tier policy's knobs: when a contract is compiled, what stays interpreted, and how much
//! compiled code is kept.

use kiln_codegen::CodeTier;
use std::time::Duration;

/// How [`super::Tiers`] decides what runs natively. Every contract starts in the interpreter.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TierConfig {
    /// Executions of a contract (per fork) after which it is queued for compilation. 0 and 1
    /// both queue it on its first execution, which itself is interpreted.
    pub threshold: u64,
    /// Gas run in the interpreter (frames' gas, calls included) after which a contract is
    /// queued for compilation however few its executions: one execution of a loop can
    /// outweigh thousands of a token transfer. `u64::MAX`: executions alone decide.
    pub gas_threshold: u64,
    /// The tier a contract that turned hot is compiled in first.
    pub first_tier: CodeTier,
    /// Native executions of a contract's quick-tier code after which it is compiled again in
    /// the optimizing tier, which replaces it. `u64::MAX`: never.
    pub optimize_after: u64,
    /// Gas run in quick-tier code after which it is compiled again in the optimizing tier
    /// however few its executions. `u64::MAX`: executions alone decide.
    pub optimize_gas: u64,
    /// Background compile threads.
    pub workers: usize,
    /// Compile jobs waiting for a worker. A contract that finds the queue full stays
    /// interpreted and is offered again on its next execution.
    pub queue_capacity: usize,
    /// Contracts (or initcode) longer than this many bytes are never compiled.
    pub max_code_size: usize,
    /// A compilation that takes longer than this is thrown away and its contract stays
    /// interpreted. Cranelift cannot be interrupted, so the worker finishes it first;
    /// execution never waits for it either way.
    pub compile_timeout: Duration,
    /// Bytes of executable memory the code cache may hold; the least recently used units are
    /// evicted beyond it.
    pub cache_budget: usize,
    /// Compile only the blocks interpreted runs of the contract entered (recorded while it
    /// was interpreted, up to the moment a worker takes the job): the rest hands a frame to
    /// the interpreter where it is reached, and a unit its frames leave too often is compiled
    /// again with what runs entered since. `false`: whole contracts.
    pub partial: bool,
}

/// Measured on the benchmark contracts (`cargo bench --bench tiered`, see docs/benchmarks.md): the
/// break-even of compile cost against the per-execution gain of native code.
pub const DEFAULT_THRESHOLD: u64 = 100;

/// See [`TierConfig::optimize_after`]; measured like [`DEFAULT_THRESHOLD`].
pub const DEFAULT_OPTIMIZE_AFTER: u64 = 1000;

/// See [`TierConfig::gas_threshold`]: about a hundred token transfers' gas.
pub const DEFAULT_GAS_THRESHOLD: u64 = 3_000_000;

/// See [`TierConfig::optimize_gas`]: ten times [`DEFAULT_GAS_THRESHOLD`], as
/// [`DEFAULT_OPTIMIZE_AFTER`] is ten times [`DEFAULT_THRESHOLD`].
pub const DEFAULT_OPTIMIZE_GAS: u64 = 30_000_000;

impl Default for TierConfig {
    fn default() -> Self {
        Self {
            threshold: DEFAULT_THRESHOLD,
            gas_threshold: DEFAULT_GAS_THRESHOLD,
            first_tier: CodeTier::Quick,
            optimize_after: DEFAULT_OPTIMIZE_AFTER,
            optimize_gas: DEFAULT_OPTIMIZE_GAS,
            workers: 1,
            queue_capacity: 256,
            // EIP-170's deployed-code limit: every deployable contract qualifies; only large
            // initcode (up to 48 KiB) stays interpreted.
            max_code_size: 24_576,
            compile_timeout: Duration::from_secs(2),
            cache_budget: 64 << 20,
            partial: true,
        }
    }
}

/// A `KILN_TIER_*` variable that does not hold what it should.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{name}={value}: expected {expected}")]
pub struct BadTierVar {
    pub name: &'static str,
    pub value: String,
    pub expected: &'static str,
}

impl TierConfig {
    /// A policy that never compiles: the interpreter alone, through the same API.
    pub fn interpreter_only() -> Self {
        Self { threshold: u64::MAX, gas_threshold: u64::MAX, ..Self::default() }
    }

    /// Every contract compiled in `tier` alone: quick code is never replaced, and optimizing
    /// code is compiled without a quick tier first.
    pub fn only(tier: CodeTier) -> Self {
        Self {
            first_tier: tier,
            optimize_after: u64::MAX,
            optimize_gas: u64::MAX,
            ..Self::default()
        }
    }

    /// The defaults, overridden by `KILN_TIER_THRESHOLD`, `KILN_TIER_GAS`, `KILN_TIER_FIRST`
    /// (`quick` or `optimizing`), `KILN_TIER_OPTIMIZE_AFTER` (a number or `never`),
    /// `KILN_TIER_OPTIMIZE_GAS`, `KILN_TIER_WORKERS`,
    /// `KILN_TIER_QUEUE`, `KILN_TIER_MAX_SIZE` (bytes), `KILN_TIER_TIMEOUT_MS`,
    /// `KILN_TIER_CACHE_MB` and `KILN_TIER_PARTIAL` (`1` or `0`) where set.
    pub fn from_env() -> Result<Self, BadTierVar> {
        let mut config = Self::default();
        const NUMBER: &str = "a non-negative integer";
        let var = |name: &'static str| -> Result<Option<u64>, BadTierVar> {
            match std::env::var(name) {
                Ok(value) => value.trim().parse().map(Some).map_err(|_| BadTierVar {
                    name,
                    value,
                    expected: NUMBER,
                }),
                Err(_) => Ok(None),
            }
        };
        if let Ok(value) = std::env::var("KILN_TIER_FIRST") {
            config.first_tier = value.parse().map_err(|_| BadTierVar {
                name: "KILN_TIER_FIRST",
                value,
                expected: "quick or optimizing",
            })?;
        }
        if let Ok(value) = std::env::var("KILN_TIER_OPTIMIZE_AFTER") {
            config.optimize_after = parse_optimize_after(&value).ok_or(BadTierVar {
                name: "KILN_TIER_OPTIMIZE_AFTER",
                value,
                expected: "a non-negative integer or never",
            })?;
        }
        let size = |n: u64| usize::try_from(n).unwrap_or(usize::MAX);
        if let Some(n) = var("KILN_TIER_THRESHOLD")? {
            config.threshold = n;
        }
        if let Some(n) = var("KILN_TIER_GAS")? {
            config.gas_threshold = n;
        }
        if let Some(n) = var("KILN_TIER_OPTIMIZE_GAS")? {
            config.optimize_gas = n;
        }
        if let Some(n) = var("KILN_TIER_WORKERS")? {
            config.workers = size(n);
        }
        if let Some(n) = var("KILN_TIER_QUEUE")? {
            config.queue_capacity = size(n);
        }
        if let Some(n) = var("KILN_TIER_MAX_SIZE")? {
            config.max_code_size = size(n);
        }
        if let Some(n) = var("KILN_TIER_TIMEOUT_MS")? {
            config.compile_timeout = Duration::from_millis(n);
        }
        if let Some(n) = var("KILN_TIER_CACHE_MB")? {
            config.cache_budget = size(n.saturating_mul(1 << 20));
        }
        if let Ok(value) = std::env::var("KILN_TIER_PARTIAL") {
            config.partial = match value.trim() {
                "1" => true,
                "0" => false,
                _ => {
                    return Err(BadTierVar { name: "KILN_TIER_PARTIAL", value, expected: "1 or 0" })
                }
            };
        }
        Ok(config)
    }
}

/// A number of executions, or `never` (`u64::MAX`), as `KILN_TIER_OPTIMIZE_AFTER` and
/// `--tier-optimize-after` take it.
pub fn parse_optimize_after(value: &str) -> Option<u64> {
    let value = value.trim();
    if value.eq_ignore_ascii_case("never") {
        Some(u64::MAX)
    } else {
        value.parse().ok()
    }
}
