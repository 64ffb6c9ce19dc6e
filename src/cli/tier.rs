//! The tier flags shared by subcommands that take `--mode tiered`, and `--stats`.

use crate::tools::mode::Mode;
use kiln::{CodeTier, TierConfig, Tiers};
use std::sync::Arc;
use std::time::Duration;

use super::CliError;

#[derive(clap::Args, Debug)]
pub struct TierArgs {
    /// With --mode tiered: executions of a contract before it is compiled in the background
    /// (0 and 1 both compile after the first) [default: KILN_TIER_THRESHOLD, else 100].
    #[arg(long, value_name = "N")]
    tier_threshold: Option<u64>,
    /// With --mode tiered: the tier a hot contract is compiled in first, quick or optimizing
    /// [default: KILN_TIER_FIRST, else quick].
    #[arg(long, value_name = "TIER")]
    tier_first: Option<CodeTier>,
    /// With --mode tiered: native executions of quick code after which the contract is
    /// compiled again in the optimizing tier, or `never` [default: KILN_TIER_OPTIMIZE_AFTER,
    /// else 1000].
    #[arg(long, value_name = "N|never", value_parser = optimize_after)]
    tier_optimize_after: Option<u64>,
    /// With --mode tiered: background compile threads [default: 1].
    #[arg(long, value_name = "N")]
    tier_workers: Option<usize>,
    /// With --mode tiered: code longer than this many bytes stays interpreted [default: 24576].
    #[arg(long, value_name = "BYTES")]
    tier_max_size: Option<usize>,
    /// With --mode tiered: a compile taking longer is discarded and its contract stays
    /// interpreted [default: 2000].
    #[arg(long, value_name = "MS")]
    tier_timeout_ms: Option<u64>,
    /// With --mode tiered: executable memory the code cache may hold [default: 64].
    #[arg(long, value_name = "MIB")]
    tier_cache_mb: Option<usize>,
    /// With --mode tiered: after the run, wait for background compiles and print what ran in
    /// which tier, and why contracts stay interpreted.
    #[arg(long)]
    stats: bool,
}

impl TierArgs {
    /// The tier policy the flags (over `KILN_TIER_*`) describe, when `mode` is tiered: the one
    /// every thread of the run shares.
    pub fn configure(&self, mode: Mode) -> Result<Option<Arc<Tiers>>, CliError> {
        if mode != Mode::Tiered {
            let tier_flag = self.tier_threshold.is_some()
                || self.tier_first.is_some()
                || self.tier_optimize_after.is_some()
                || self.tier_workers.is_some()
                || self.tier_max_size.is_some()
                || self.tier_timeout_ms.is_some()
                || self.tier_cache_mb.is_some()
                || self.stats;
            if tier_flag {
                return Err("the --tier-* flags and --stats need --mode tiered".into());
            }
            return Ok(None);
        }
        let mut config = TierConfig::from_env()?;
        if let Some(n) = self.tier_threshold {
            config.threshold = n;
        }
        if let Some(tier) = self.tier_first {
            config.first_tier = tier;
        }
        if let Some(n) = self.tier_optimize_after {
            config.optimize_after = n;
        }
        if let Some(n) = self.tier_workers {
            config.workers = n;
        }
        if let Some(n) = self.tier_max_size {
            config.max_code_size = n;
        }
        if let Some(ms) = self.tier_timeout_ms {
            config.compile_timeout = Duration::from_millis(ms);
        }
        if let Some(mb) = self.tier_cache_mb {
            config.cache_budget = mb.saturating_mul(1 << 20);
        }
        Ok(Some(crate::tools::exec::tiers(Some(config))?))
    }

    /// The statistics of `tiers` (after waiting for pending compiles) if `--stats` was given.
    pub fn stats(&self, tiers: Option<&Arc<Tiers>>) -> Option<kiln::TierStats> {
        let tiers = tiers.filter(|_| self.stats)?;
        tiers.wait_idle();
        Some(tiers.stats())
    }
}

fn optimize_after(value: &str) -> Result<u64, String> {
    kiln::evm::parse_optimize_after(value)
        .ok_or_else(|| format!("{value:?}: expected a non-negative integer or never"))
}
