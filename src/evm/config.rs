//! The tier policy's knobs: when a contract is compiled, what stays interpreted, and how much
//! compiled code is kept.

use std::time::Duration;

/// How [`super::Tiers`] decides what runs natively. Every contract starts in the interpreter.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TierConfig {
    /// Executions of a contract (per fork) after which it is queued for compilation. 0 and 1
    /// both queue it on its first execution, which itself is interpreted.
    pub threshold: u64,
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
}

/// Measured on the benchmark contracts (`cargo bench --bench tiered`, see docs/benchmarks.md): the
/// break-even of compile cost against the per-execution gain of native code.
pub const DEFAULT_THRESHOLD: u64 = 100;

impl Default for TierConfig {
    fn default() -> Self {
        Self {
            threshold: DEFAULT_THRESHOLD,
            workers: 1,
            queue_capacity: 256,
            // EIP-170's deployed-code limit: every deployable contract qualifies; only large
            // initcode (up to 48 KiB) stays interpreted.
            max_code_size: 24_576,
            compile_timeout: Duration::from_secs(2),
            cache_budget: 64 << 20,
        }
    }
}

/// A `KILN_TIER_*` variable that does not hold a number.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{name}={value}: expected a non-negative integer")]
pub struct BadTierVar {
    pub name: &'static str,
    pub value: String,
}

impl TierConfig {
    /// A policy that never compiles: the interpreter alone, through the same API.
    pub fn interpreter_only() -> Self {
        Self { threshold: u64::MAX, ..Self::default() }
    }

    /// The defaults, overridden by `KILN_TIER_THRESHOLD`, `KILN_TIER_WORKERS`,
    /// `KILN_TIER_QUEUE`, `KILN_TIER_MAX_SIZE` (bytes), `KILN_TIER_TIMEOUT_MS` and
    /// `KILN_TIER_CACHE_MB` where set.
    pub fn from_env() -> Result<Self, BadTierVar> {
        let mut config = Self::default();
        let var = |name: &'static str| -> Result<Option<u64>, BadTierVar> {
            match std::env::var(name) {
                Ok(value) => value.trim().parse().map(Some).map_err(|_| BadTierVar { name, value }),
                Err(_) => Ok(None),
            }
        };
        let size = |n: u64| usize::try_from(n).unwrap_or(usize::MAX);
        if let Some(n) = var("KILN_TIER_THRESHOLD")? {
            config.threshold = n;
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
        Ok(config)
    }
}
