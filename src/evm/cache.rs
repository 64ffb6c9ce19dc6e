//! The code cache: per (code hash, fork), how often a contract ran and which tier it is in,
//! with compiled units held within a memory budget and evicted least recently used first.
//!
//! The cache is plain data behind the [`super::Tiers`] mutex; it never compiles, so holding
//! the lock is always short.

use super::config::TierConfig;
use super::stats::{ContractStats, InterpReason, Tier, TierStats};
use alloy_primitives::{map::HashMap, B256};
use kiln_codegen::{CodeTier, CompiledContract};
use kiln_runtime::SpecId;
use std::sync::Arc;
use std::time::Duration;

pub(crate) type Key = (B256, SpecId);

enum State {
    Interp(InterpReason),
    Native(Arc<CompiledContract>),
}

struct Entry {
    state: State,
    code_size: usize,
    executions: u64,
    /// Executions since the contract last became cold, measured against the threshold.
    warmth: u64,
    /// Gas its interpreted frames ran since it last became cold, measured against the gas
    /// threshold.
    cold_gas: u64,
    /// Gas its interpreted frames ran in all: how much a first compile gains.
    interp_gas: u64,
    /// Gas the unit it holds now ran, measured against `optimize_gas`.
    tier_gas: u64,
    native_executions: u64,
    /// Native executions of the unit it holds now, measured against `optimize_after`.
    tier_executions: u64,
    /// An optimizing compile of it is queued or running.
    optimizing: bool,
    /// Its optimizing compile failed or took too long: it keeps its quick code.
    optimize_failed: bool,
    /// Frames that left the (partial) unit it holds now for the interpreter.
    tier_left: u64,
    /// A compile of it with what runs entered since is queued or running.
    widening: bool,
    /// Times its partial units were compiled again so.
    widenings: u32,
    evictions: u64,
    /// The cache's clock at the last native execution: the eviction order.
    last_used: u64,
}

/// A partial unit is compiled again, with what runs entered since, once its frames left it
/// for the interpreter this many times and in at least one in [`WIDEN_SHARE`] of its
/// executions: a block left out that runs now and then (a rare revert) costs those frames
/// their rest in the interpreter, one that runs often costs a recompile.
pub(crate) const WIDEN_AFTER: u64 = 8;
pub(crate) const WIDEN_SHARE: u64 = 16;
/// Recompiles of one contract's partial units at most: what they leave out after that runs
/// rarely enough to stay interpreted.
pub(crate) const WIDEN_LIMIT: u32 = 4;

/// What a frame about to run a contract should do.
pub(crate) enum Decision {
    Native(Arc<CompiledContract>),
    /// Run the unit, and queue the contract's compile in the given tier: its optimizing
    /// compile (it is marked as optimizing), or one with what runs entered since (widening).
    NativeAndCompile(Arc<CompiledContract>, CodeTier),
    Interpret,
    /// Interpret, and queue the contract for compilation (it is marked as compiling).
    InterpretAndCompile,
}

pub(crate) struct NativeCache {
    entries: HashMap<Key, Entry>,
    /// Keys of the entries holding compiled code: the eviction candidates.
    native: Vec<Key>,
    bytes: usize,
    clock: u64,
    /// Compilations queued or running.
    pub(crate) pending: usize,
    totals: TierStats,
}

impl NativeCache {
    pub(crate) fn new(budget: usize) -> Self {
        Self {
            entries: HashMap::default(),
            native: Vec::new(),
            bytes: 0,
            clock: 0,
            pending: 0,
            totals: TierStats { cache_budget: budget, ..TierStats::default() },
        }
    }

    /// Counts one execution of `key` and decides its tier.
    pub(crate) fn touch(&mut self, key: Key, code_size: usize, config: &TierConfig) -> Decision {
        self.clock += 1;
        let entry = self.entries.entry(key).or_insert_with(|| {
            let state = if code_size > config.max_code_size {
                self.totals.too_large += 1;
                InterpReason::TooLarge { size: code_size, limit: config.max_code_size }
            } else {
                InterpReason::Cold
            };
            Entry {
                state: State::Interp(state),
                code_size,
                executions: 0,
                warmth: 0,
                cold_gas: 0,
                interp_gas: 0,
                tier_gas: 0,
                native_executions: 0,
                tier_executions: 0,
                optimizing: false,
                optimize_failed: false,
                tier_left: 0,
                widening: false,
                widenings: 0,
                evictions: 0,
                last_used: 0,
            }
        });
        entry.executions += 1;
        match &entry.state {
            State::Native(unit) => {
                entry.native_executions += 1;
                entry.tier_executions += 1;
                entry.last_used = self.clock;
                self.totals.native_executions += 1;
                let optimize = unit.tier() == CodeTier::Quick
                    && !entry.optimizing
                    && !entry.widening
                    && !entry.optimize_failed
                    && (entry.tier_executions >= config.optimize_after
                        || entry.tier_gas >= config.optimize_gas)
                    && config.workers > 0;
                if optimize {
                    entry.optimizing = true;
                    self.pending += 1;
                    return Decision::NativeAndCompile(unit.clone(), CodeTier::Optimizing);
                }
                let widen = unit.is_partial()
                    && !entry.optimizing
                    && !entry.widening
                    && entry.widenings < WIDEN_LIMIT
                    && entry.tier_left >= WIDEN_AFTER.max(entry.tier_executions / WIDEN_SHARE)
                    && config.workers > 0;
                if widen {
                    entry.widening = true;
                    entry.widenings += 1;
                    self.totals.widened += 1;
                    self.pending += 1;
                    return Decision::NativeAndCompile(unit.clone(), unit.tier());
                }
                return Decision::Native(unit.clone());
            }
            State::Interp(InterpReason::Cold) => entry.warmth += 1,
            State::Interp(_) => {}
        }
        self.totals.interp_executions += 1;
        let hot = matches!(entry.state, State::Interp(InterpReason::Cold))
            && (entry.warmth >= config.threshold || entry.cold_gas >= config.gas_threshold)
            && config.workers > 0;
        if hot {
            entry.state = State::Interp(InterpReason::Compiling);
            self.pending += 1;
            Decision::InterpretAndCompile
        } else {
            Decision::Interpret
        }
    }

    /// A frame of `key` left its native code for the interpreter.
    pub(crate) fn record_left(&mut self, key: Key) {
        self.totals.left_native += 1;
        if let Some(entry) = self.entries.get_mut(&key) {
            entry.tier_left += 1;
        }
    }

    /// Frames of `key` finished, having used `gas`, natively or interpreted.
    pub(crate) fn record(&mut self, key: Key, gas: u64, native: bool) {
        let Some(entry) = self.entries.get_mut(&key) else { return };
        if native {
            entry.tier_gas = entry.tier_gas.saturating_add(gas);
        } else {
            entry.cold_gas = entry.cold_gas.saturating_add(gas);
            entry.interp_gas = entry.interp_gas.saturating_add(gas);
        }
    }

    /// How much compiling `key` in `tier` is worth per unit of compile time, to order the
    /// queue: for a first compile the gas it ran interpreted, for an optimizing one the gas
    /// its quick code ran, over its code size (what a compile's time grows with). By gas
    /// alone, a 23 KB token's compile went before a 97-byte system contract's that three
    /// times as many transactions waited for, and took ten times as long.
    pub(crate) fn worth(&self, key: &Key, tier: CodeTier) -> u64 {
        self.entries.get(key).map_or(0, |e| {
            let gas = match tier {
                CodeTier::Quick => e.interp_gas,
                CodeTier::Optimizing => e.tier_gas,
            };
            gas.saturating_mul(1024) / e.code_size.max(1) as u64
        })
    }

    /// The queue refused `key`'s job in `tier`: a contract waiting for its first compile is
    /// cold again, one waiting for its optimizing compile keeps its quick code; either
    /// retries on its next execution.
    pub(crate) fn queue_full(&mut self, key: Key, tier: CodeTier) {
        self.pending -= 1;
        self.totals.queue_full += 1;
        if let Some(entry) = self.entries.get_mut(&key) {
            if std::mem::take(&mut entry.widening) {
                // Its unit stays; it may widen again.
                entry.widenings -= 1;
            } else if tier == CodeTier::Optimizing {
                entry.optimizing = false;
            } else {
                entry.state = State::Interp(InterpReason::Cold);
            }
        }
    }

    /// A worker finished `key` in `tier`: keep the unit (in place of the quick one an
    /// optimizing unit replaces, evicting others to fit the budget) or record why the
    /// contract stays interpreted, or keeps its quick code.
    pub(crate) fn finish(
        &mut self,
        key: Key,
        tier: CodeTier,
        outcome: Result<CompiledContract, InterpReason>,
    ) {
        self.pending -= 1;
        // An optimizing job queued for quick code (not a first compile in that tier).
        let mut upgrade = false;
        let mut widened = false;
        let held = self.entries.get_mut(&key).and_then(|entry| {
            if tier == CodeTier::Optimizing && entry.optimizing {
                upgrade = std::mem::take(&mut entry.optimizing);
            } else {
                widened = std::mem::take(&mut entry.widening);
            }
            match &entry.state {
                State::Native(unit) => Some(unit.tier()),
                State::Interp(_) => None,
            }
        });
        let took = match &outcome {
            Ok(unit) => unit.compile_time(),
            Err(InterpReason::CompileTooSlow { took, .. }) => *took,
            Err(_) => Duration::ZERO,
        };
        self.totals.compile_time += took;
        let per_tier = match tier {
            CodeTier::Quick => &mut self.totals.quick,
            CodeTier::Optimizing => &mut self.totals.optimizing,
        };
        per_tier.compile_time += took;
        let state = match outcome {
            // A quick unit finished after the optimizing one (the contract was evicted and
            // turned hot again meanwhile): the better code stays.
            Ok(_) if tier == CodeTier::Quick && held == Some(CodeTier::Optimizing) => return,
            Ok(unit) => {
                self.totals.compiled += 1;
                per_tier.compiled += 1;
                if held == Some(CodeTier::Quick) && tier == CodeTier::Optimizing {
                    self.totals.optimized += 1;
                }
                self.admit(key, unit)
            }
            // The quick code it runs stays (or, evicted meanwhile, it may compile quick code
            // again); no optimizing compile is tried again.
            Err(reason) if held.is_some() || upgrade || widened => {
                self.count_failure(&reason);
                if let Some(entry) = self.entries.get_mut(&key) {
                    if widened {
                        entry.widenings = WIDEN_LIMIT;
                    } else {
                        entry.optimize_failed = true;
                    }
                }
                return;
            }
            Err(reason) => {
                self.count_failure(&reason);
                State::Interp(reason)
            }
        };
        if let Some(entry) = self.entries.get_mut(&key) {
            entry.state = state;
            entry.tier_executions = 0;
            entry.tier_gas = 0;
            entry.tier_left = 0;
            entry.last_used = self.clock;
        }
    }

    fn count_failure(&mut self, reason: &InterpReason) {
        match reason {
            InterpReason::CompileTooSlow { .. } => self.totals.compile_too_slow += 1,
            InterpReason::CompileFailed(_) => self.totals.compile_failed += 1,
            InterpReason::Unproven(_) => self.totals.unproven += 1,
            _ => {}
        }
    }

    /// Takes `key`'s unit, if it holds one, out of the cache's accounting (not out of its
    /// entry, which the caller overwrites): frames running it keep it alive.
    fn release(&mut self, key: Key) {
        if let Some(i) = self.native.iter().position(|k| *k == key) {
            self.native.swap_remove(i);
        }
        if let Some(State::Native(unit)) = self.entries.get(&key).map(|e| &e.state) {
            self.bytes -= unit.memory_bytes();
        }
    }

    fn admit(&mut self, key: Key, unit: CompiledContract) -> State {
        self.release(key);
        let bytes = unit.memory_bytes();
        let budget = self.totals.cache_budget;
        if bytes > budget {
            self.totals.over_budget += 1;
            return State::Interp(InterpReason::OverBudget { bytes, budget });
        }
        while self.bytes + bytes > budget {
            if !self.evict_one() {
                break;
            }
        }
        self.bytes += bytes;
        self.native.push(key);
        State::Native(Arc::new(unit))
    }

    /// Drops the cache's reference to the least recently used unit. Frames running or
    /// suspended in it hold their own reference, so its memory outlives them.
    fn evict_one(&mut self) -> bool {
        let entries = &self.entries;
        let oldest = self
            .native
            .iter()
            .enumerate()
            .min_by_key(|(_, key)| entries.get(*key).map_or(0, |e| e.last_used))
            .map(|(i, _)| i);
        let Some(i) = oldest else { return false };
        let key = self.native.swap_remove(i);
        if let Some(entry) = self.entries.get_mut(&key) {
            if let State::Native(unit) = &entry.state {
                self.bytes -= unit.memory_bytes();
            }
            entry.state = State::Interp(InterpReason::Cold);
            entry.warmth = 0;
            entry.cold_gas = 0;
            entry.evictions += 1;
            self.totals.evictions += 1;
        }
        true
    }

    pub(crate) fn is_native(&self, key: &Key) -> bool {
        self.entries.get(key).is_some_and(|e| matches!(e.state, State::Native(_)))
    }

    pub(crate) fn stats(&self) -> TierStats {
        let mut stats = self.totals.clone();
        stats.cache_bytes = self.bytes;
        stats.contracts = self
            .entries
            .iter()
            .map(|(&(code_hash, spec), e)| ContractStats {
                code_hash,
                spec,
                code_size: e.code_size,
                executions: e.executions,
                native_executions: e.native_executions,
                evictions: e.evictions,
                tier: match &e.state {
                    State::Interp(reason) => Tier::Interpreter(reason.clone()),
                    State::Native(unit) => Tier::Native {
                        code_tier: unit.tier(),
                        memory_bytes: unit.memory_bytes(),
                        compile_time: unit.compile_time(),
                    },
                },
            })
            .collect();
        stats.contracts.sort_by_key(|c| (std::cmp::Reverse(c.executions), c.code_hash));
        stats
    }
}

/// The verdict on a compilation that took `took`.
pub(crate) fn judge_compile(
    outcome: Result<CompiledContract, InterpReason>,
    took: Duration,
    limit: Duration,
) -> Result<CompiledContract, InterpReason> {
    match outcome {
        Ok(_) if took > limit => Err(InterpReason::CompileTooSlow { took, limit }),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kiln_codegen::compile_standalone;
    use CodeTier::{Optimizing, Quick};

    // PUSH1 1 PUSH1 2 ADD STOP
    const CODE: &[u8] = &[0x60, 0x01, 0x60, 0x02, 0x01, 0x00];
    const KEY: Key = (B256::repeat_byte(1), SpecId::Prague);

    fn unit(tier: CodeTier) -> CompiledContract {
        compile_standalone(CODE, SpecId::Prague, tier).expect("compiles")
    }

    fn config() -> TierConfig {
        TierConfig { threshold: 1, optimize_after: 1, ..TierConfig::default() }
    }

    fn touch(cache: &mut NativeCache) -> Decision {
        cache.touch(KEY, CODE.len(), &config())
    }

    impl Entry {
        fn state_reason(&self) -> Option<InterpReason> {
            match &self.state {
                State::Interp(reason) => Some(reason.clone()),
                State::Native(_) => None,
            }
        }
    }

    fn held(cache: &NativeCache) -> Option<CodeTier> {
        match &cache.entries[&KEY].state {
            State::Native(unit) => Some(unit.tier()),
            State::Interp(_) => None,
        }
    }

    /// A cache holding KEY's quick code.
    fn quick_cache() -> NativeCache {
        let mut cache = NativeCache::new(1 << 20);
        assert!(matches!(touch(&mut cache), Decision::InterpretAndCompile));
        cache.finish(KEY, Quick, Ok(unit(Quick)));
        assert_eq!(held(&cache), Some(Quick));
        cache
    }

    /// Gas run interpreted makes a contract hot however few its executions; gas run in
    /// quick code makes it due for its optimizing compile.
    #[test]
    fn gas_makes_a_contract_hot_before_its_executions_do() {
        let config = TierConfig {
            threshold: 100,
            gas_threshold: 1000,
            optimize_after: 100,
            optimize_gas: 5000,
            ..TierConfig::default()
        };
        let mut cache = NativeCache::new(1 << 20);
        assert!(matches!(cache.touch(KEY, CODE.len(), &config), Decision::Interpret));
        cache.record(KEY, 999, false);
        assert!(matches!(cache.touch(KEY, CODE.len(), &config), Decision::Interpret));
        cache.record(KEY, 1, false);
        assert!(matches!(cache.touch(KEY, CODE.len(), &config), Decision::InterpretAndCompile));
        let per_byte = |gas: u64| gas * 1024 / CODE.len() as u64;
        assert_eq!(cache.worth(&KEY, Quick), per_byte(1000));
        cache.finish(KEY, Quick, Ok(unit(Quick)));
        assert!(matches!(cache.touch(KEY, CODE.len(), &config), Decision::Native(_)));
        cache.record(KEY, 5000, true);
        assert_eq!(cache.worth(&KEY, Optimizing), per_byte(5000));
        assert!(matches!(
            cache.touch(KEY, CODE.len(), &config),
            Decision::NativeAndCompile(_, CodeTier::Optimizing)
        ));
    }

    /// Of two contracts that ran the same gas, the smaller one's compile is worth more: it
    /// takes a contract out of the interpreter as surely, in less of the worker's time.
    #[test]
    fn the_queue_weighs_gas_by_code_size() {
        let config = TierConfig { threshold: 1, ..TierConfig::default() };
        let small = (B256::repeat_byte(1), SpecId::Prague);
        let large = (B256::repeat_byte(2), SpecId::Prague);
        let mut cache = NativeCache::new(1 << 20);
        cache.touch(small, 100, &config);
        cache.touch(large, 20_000, &config);
        cache.record(small, 50_000, false);
        cache.record(large, 50_000, false);
        assert!(cache.worth(&small, Quick) > cache.worth(&large, Quick));
        // Ten times the gas does not make up for two hundred times the code.
        cache.record(large, 450_000, false);
        assert!(cache.worth(&small, Quick) > cache.worth(&large, Quick));
    }

    /// A partial unit its frames leave often is compiled again in its tier; a full queue or
    /// a failed compile leaves it in place, the queue retrying later, a failure for good.
    #[test]
    fn partial_units_left_often_widen_until_a_compile_fails() {
        let config = TierConfig { threshold: 1, optimize_after: u64::MAX, ..TierConfig::default() };
        let partial = || {
            kiln_codegen::UnitCompiler::new()
                .expect("compiler")
                .compile_covered(CODE, SpecId::Prague, Quick, Some(&[]))
                .expect("compiles")
        };
        let mut cache = NativeCache::new(1 << 20);
        assert!(matches!(cache.touch(KEY, CODE.len(), &config), Decision::InterpretAndCompile));
        cache.finish(KEY, Quick, Ok(partial()));
        let widen = |cache: &mut NativeCache| {
            matches!(cache.touch(KEY, CODE.len(), &config), Decision::NativeAndCompile(_, Quick))
        };
        for _ in 0..WIDEN_AFTER - 1 {
            cache.record_left(KEY);
        }
        assert!(!widen(&mut cache), "seven exits are not enough");
        cache.record_left(KEY);
        assert!(widen(&mut cache));
        assert!(!widen(&mut cache), "one widening at a time");
        cache.queue_full(KEY, Quick);
        assert_eq!(held(&cache), Some(Quick), "the unit stays");
        assert!(widen(&mut cache), "retried");
        cache.finish(KEY, Quick, Ok(partial()));
        assert_eq!(cache.stats().widened, 2);
        // The new unit starts its count afresh.
        assert!(!widen(&mut cache));
        for _ in 0..WIDEN_AFTER {
            cache.record_left(KEY);
        }
        assert!(widen(&mut cache));
        cache.finish(KEY, Quick, Err(InterpReason::CompileFailed("test".into())));
        assert_eq!(held(&cache), Some(Quick), "a failed widening keeps the unit");
        for _ in 0..WIDEN_AFTER {
            cache.record_left(KEY);
        }
        assert!(!widen(&mut cache), "and never widens again");
        // Whole units are never widened.
        let other = (B256::repeat_byte(9), SpecId::Prague);
        cache.touch(other, CODE.len(), &config);
        cache.finish(other, Quick, Ok(unit(Quick)));
        for _ in 0..WIDEN_AFTER {
            cache.record_left(other);
        }
        assert!(matches!(cache.touch(other, CODE.len(), &config), Decision::Native(_)));
    }

    #[test]
    fn a_failed_optimizing_compile_keeps_the_quick_code_for_good() {
        let mut cache = quick_cache();
        assert!(matches!(touch(&mut cache), Decision::NativeAndCompile(_, CodeTier::Optimizing)));
        let slow = InterpReason::CompileTooSlow {
            took: Duration::from_secs(3),
            limit: Duration::from_secs(2),
        };
        cache.finish(KEY, Optimizing, Err(slow));
        assert_eq!((held(&cache), cache.pending), (Some(Quick), 0));
        for _ in 0..5 {
            assert!(matches!(touch(&mut cache), Decision::Native(_)));
        }
        let stats = cache.stats();
        assert_eq!((stats.compile_too_slow, stats.optimized), (1, 0));
        assert_eq!(stats.optimizing.compile_time, Duration::from_secs(3));
    }

    /// Evicted while its optimizing compile ran, which then failed: the contract is cold,
    /// not kept interpreted for good, and compiles quick code again once hot.
    #[test]
    fn a_failed_upgrade_of_evicted_code_leaves_the_contract_cold() {
        let mut cache = quick_cache();
        assert!(matches!(touch(&mut cache), Decision::NativeAndCompile(_, CodeTier::Optimizing)));
        assert!(cache.evict_one());
        cache.finish(KEY, Optimizing, Err(InterpReason::CompileFailed("boom".into())));
        assert_eq!(cache.entries[&KEY].state_reason(), Some(InterpReason::Cold));
        assert!(matches!(touch(&mut cache), Decision::InterpretAndCompile));
    }

    #[test]
    fn a_refused_optimizing_job_keeps_the_quick_code_and_retries() {
        let mut cache = quick_cache();
        assert!(matches!(touch(&mut cache), Decision::NativeAndCompile(_, CodeTier::Optimizing)));
        cache.queue_full(KEY, Optimizing);
        assert_eq!((held(&cache), cache.pending), (Some(Quick), 0));
        assert!(matches!(touch(&mut cache), Decision::NativeAndCompile(_, CodeTier::Optimizing)));
    }

    /// Evicted while its optimizing compile ran, the contract turned hot again and was queued
    /// for quick code too: the optimizing unit, whichever finishes first, is what stays, and
    /// the cache counts one unit's bytes.
    #[test]
    fn a_late_quick_unit_does_not_replace_optimizing_code() {
        let mut cache = quick_cache();
        assert!(matches!(touch(&mut cache), Decision::NativeAndCompile(_, CodeTier::Optimizing)));
        assert!(cache.evict_one());
        assert_eq!((held(&cache), cache.bytes), (None, 0));
        assert!(matches!(touch(&mut cache), Decision::InterpretAndCompile));
        cache.finish(KEY, Optimizing, Ok(unit(Optimizing)));
        cache.finish(KEY, Quick, Ok(unit(Quick)));
        assert_eq!((held(&cache), cache.pending), (Some(Optimizing), 0));
        assert_eq!(cache.bytes, unit(Optimizing).memory_bytes());
        assert_eq!(cache.native, [KEY]);
        assert!(matches!(touch(&mut cache), Decision::Native(_)));
    }
}
