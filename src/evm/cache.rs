//! The code cache: per (code hash, fork), how often a contract ran and which tier it is in,
//! with compiled units held within a memory budget and evicted least recently used first.
//!
//! The cache is plain data behind the [`super::Tiers`] mutex; it never compiles, so holding
//! the lock is always short.

use super::config::TierConfig;
use super::stats::{ContractStats, InterpReason, Tier, TierStats};
use alloy_primitives::{map::HashMap, B256};
use kiln_codegen::CompiledContract;
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
    native_executions: u64,
    evictions: u64,
    /// The cache's clock at the last native execution: the eviction order.
    last_used: u64,
}

/// What a frame about to run a contract should do.
pub(crate) enum Decision {
    Native(Arc<CompiledContract>),
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
                native_executions: 0,
                evictions: 0,
                last_used: 0,
            }
        });
        entry.executions += 1;
        match &entry.state {
            State::Native(unit) => {
                entry.native_executions += 1;
                entry.last_used = self.clock;
                self.totals.native_executions += 1;
                return Decision::Native(unit.clone());
            }
            State::Interp(InterpReason::Cold) => entry.warmth += 1,
            State::Interp(_) => {}
        }
        self.totals.interp_executions += 1;
        let hot = matches!(entry.state, State::Interp(InterpReason::Cold))
            && entry.warmth >= config.threshold
            && config.workers > 0;
        if hot {
            entry.state = State::Interp(InterpReason::Compiling);
            self.pending += 1;
            Decision::InterpretAndCompile
        } else {
            Decision::Interpret
        }
    }

    /// The queue refused `key`'s job: it is cold again, and retries on its next execution.
    pub(crate) fn queue_full(&mut self, key: Key) {
        self.pending -= 1;
        self.totals.queue_full += 1;
        if let Some(entry) = self.entries.get_mut(&key) {
            entry.state = State::Interp(InterpReason::Cold);
        }
    }

    /// A worker finished `key`: keep the unit (evicting others to fit the budget) or record
    /// why the contract stays interpreted.
    pub(crate) fn finish(&mut self, key: Key, outcome: Result<CompiledContract, InterpReason>) {
        self.pending -= 1;
        let state = match outcome {
            Ok(unit) => {
                self.totals.compiled += 1;
                self.totals.compile_time += unit.compile_time();
                self.admit(key, unit)
            }
            Err(reason) => {
                match &reason {
                    InterpReason::CompileTooSlow { took, .. } => {
                        self.totals.compile_too_slow += 1;
                        self.totals.compile_time += *took;
                    }
                    InterpReason::CompileFailed(_) => self.totals.compile_failed += 1,
                    InterpReason::Unproven(_) => self.totals.unproven += 1,
                    _ => {}
                }
                State::Interp(reason)
            }
        };
        if let Some(entry) = self.entries.get_mut(&key) {
            entry.state = state;
            entry.last_used = self.clock;
        }
    }

    fn admit(&mut self, key: Key, unit: CompiledContract) -> State {
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
            entry.evictions += 1;
            self.totals.evictions += 1;
        }
        true
    }

    pub(crate) fn executions(&self, key: &Key) -> u64 {
        self.entries.get(key).map_or(0, |e| e.executions)
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
