//! The tier policy shared by every [`super::Evm`] (and thread) that uses it: counts executions,
//! queues hot contracts for background compilation, and hands out native code once ready.

use super::cache::{Decision, Key, NativeCache};
use super::config::TierConfig;
use super::stats::{InterpReason, TierStats};
use super::worker::{Job, Workers};
use alloy_primitives::{keccak256, B256};
use kiln_codegen::{AotLibrary, CodeTier, CompiledContract};
use kiln_runtime::code::AnalyzedCode;
use kiln_runtime::{NativeCode, NativeFn, SpecId};
use smallvec::SmallVec;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};

/// Why a [`Tiers`] could not start.
#[derive(Debug, thiserror::Error)]
#[error("cannot start the compile workers: {0}")]
pub struct TierError(#[from] std::io::Error);

/// State the compile workers share with the executing threads.
pub(crate) struct Shared {
    pub(crate) config: TierConfig,
    cache: Mutex<NativeCache>,
    /// Signalled whenever a compilation finishes, for [`Tiers::wait_idle`].
    idle: Condvar,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, NativeCache> {
        // Nothing panics while holding the lock except an allocation failure; the cache's
        // counters are still consistent then.
        self.cache.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Which of `jobs` to compile next: quick compiles before optimizing ones, each the
    /// contract that ran the most gas in its present tier per byte of its code
    /// ([`NativeCache::worth`]). A quick compile takes a fifth of the time and takes a
    /// contract out of the interpreter, which gains several times more per execution than
    /// optimizing code gains over quick code.
    pub(crate) fn next_job<'j>(
        &self,
        jobs: impl Iterator<Item = (&'j Key, CodeTier)>,
    ) -> Option<usize> {
        let cache = self.lock();
        jobs.enumerate()
            .max_by_key(|(_, (key, tier))| (*tier == CodeTier::Quick, cache.worth(key, *tier)))
            .map(|(i, _)| i)
    }

    pub(crate) fn finish(
        &self,
        key: Key,
        tier: CodeTier,
        outcome: Result<CompiledContract, InterpReason>,
    ) {
        self.lock().finish(key, tier, outcome);
        self.idle.notify_all();
    }
}

/// A tier policy and its code cache. Share it between EVMs and threads through the `Arc`
/// that [`Tiers::new`] returns.
pub struct Tiers {
    shared: Arc<Shared>,
    aot: Option<AotLibrary>,
    aot_executions: AtomicU64,
    /// Dropping it closes the queue; the workers exit after their current job.
    workers: Workers,
}

impl Tiers {
    /// A policy with its code cache and `config.workers` compile threads.
    pub fn new(config: TierConfig) -> Result<Arc<Self>, TierError> {
        Self::with_aot(config, None)
    }

    /// As [`Tiers::new`], with contracts found in `aot` running from it from their first
    /// execution.
    pub fn with_aot(config: TierConfig, aot: Option<AotLibrary>) -> Result<Arc<Self>, TierError> {
        let shared = Arc::new(Shared {
            cache: Mutex::new(NativeCache::new(config.cache_budget)),
            idle: Condvar::new(),
            config,
        });
        let workers = Workers::spawn(&shared, shared.config.workers, shared.config.queue_capacity)?;
        Ok(Arc::new(Self { shared, aot, aot_executions: AtomicU64::new(0), workers }))
    }

    pub fn config(&self) -> &TierConfig {
        &self.shared.config
    }

    /// What the policy did so far.
    pub fn stats(&self) -> TierStats {
        let mut stats = self.shared.lock().stats();
        stats.aot_executions = self.aot_executions.load(Ordering::Relaxed);
        stats
    }

    /// Blocks until no compilation is queued or running. For tests, benchmarks and `--stats`;
    /// execution itself never waits for the compiler.
    pub fn wait_idle(&self) {
        let mut cache = self.shared.lock();
        while cache.pending > 0 {
            cache = self.shared.idle.wait(cache).unwrap_or_else(|e| e.into_inner());
        }
    }

    /// Whether the next execution of the code with `code_hash` under `spec` runs natively
    /// (from the cache or the AOT library).
    pub fn is_native(&self, code_hash: B256, spec: SpecId) -> bool {
        self.aot.as_ref().is_some_and(|aot| aot.get(code_hash, spec).is_some())
            || self.shared.lock().is_native(&(code_hash, spec))
    }

    /// The per-transaction view frames ask for native code: it keeps every unit it hands out
    /// alive until it is dropped, so eviction can never free code a frame is running or is
    /// suspended in.
    pub fn session(&self) -> Session<'_> {
        Session {
            tiers: self,
            pinned: Vec::new(),
            finished: SmallVec::new(),
            left: SmallVec::new(),
        }
    }

    fn decide(&self, code: &Arc<AnalyzedCode>, spec: SpecId) -> Option<Arc<CompiledContract>> {
        // Initcode is analyzed without a hash; key it by its own.
        let hash = if code.hash() == B256::ZERO { keccak256(code.bytes()) } else { code.hash() };
        let key = (hash, spec);
        let decision = self.shared.lock().touch(key, code.len(), &self.shared.config);
        let submit = |tier: CodeTier| {
            let job = Job { key, code: code.clone(), tier };
            if self.workers.try_submit(job).is_err() {
                self.shared.lock().queue_full(key, tier);
                self.shared.idle.notify_all();
            }
        };
        match decision {
            Decision::Native(unit) => Some(unit),
            Decision::NativeAndCompile(unit, tier) => {
                submit(tier);
                Some(unit)
            }
            Decision::Interpret => None,
            Decision::InterpretAndCompile => {
                submit(self.shared.config.first_tier);
                None
            }
        }
    }

    fn aot_lookup(&self, code: &AnalyzedCode, spec: SpecId) -> Option<NativeFn> {
        let aot = self.aot.as_ref()?;
        let hash = if code.hash() == B256::ZERO { keccak256(code.bytes()) } else { code.hash() };
        let f = aot.get(hash, spec)?;
        self.aot_executions.fetch_add(1, Ordering::Relaxed);
        Some(f)
    }
}

impl std::fmt::Debug for Tiers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tiers")
            .field("config", &self.shared.config)
            .field("aot", &self.aot.as_ref().map(AotLibrary::len))
            .finish_non_exhaustive()
    }
}

/// One transaction's access to a [`Tiers`]; see [`Tiers::session`].
pub struct Session<'a> {
    tiers: &'a Tiers,
    pinned: Vec<Arc<CompiledContract>>,
    /// Frames finished in this transaction (contract, gas used, native), handed to the
    /// cache at once when the session ends: one lock per transaction, not per frame.
    /// Inline for the few frames of a typical transaction: no allocation per transaction.
    finished: SmallVec<[(Key, u64, bool); 4]>,
    /// Contracts whose frames left native code for the interpreter in this transaction.
    left: SmallVec<[Key; 2]>,
}

impl Drop for Session<'_> {
    fn drop(&mut self) {
        if self.finished.is_empty() && self.left.is_empty() {
            return;
        }
        let mut cache = self.tiers.shared.lock();
        for &(key, gas, native) in &self.finished {
            cache.record(key, gas, native);
        }
        for &key in &self.left {
            cache.record_left(key);
        }
    }
}

impl NativeCode for Session<'_> {
    fn lookup(&mut self, code: &Arc<AnalyzedCode>, spec: SpecId) -> Option<NativeFn> {
        if let Some(f) = self.tiers.aot_lookup(code, spec) {
            return Some(f);
        }
        let unit = self.tiers.decide(code, spec)?;
        let entry = unit.entry();
        if !self.pinned.iter().any(|p| Arc::ptr_eq(p, &unit)) {
            self.pinned.push(unit);
        }
        Some(entry)
    }

    fn finished(&mut self, code: &AnalyzedCode, spec: SpecId, gas_used: u64, native: bool) {
        // Initcode has no hash until hashed, and creations are too rare to weigh. Frames of
        // AOT code find no entry in the cache and are not counted.
        if code.hash() != B256::ZERO {
            self.finished.push(((code.hash(), spec), gas_used, native));
        }
    }

    fn records_coverage(&self) -> bool {
        self.tiers.shared.config.partial
    }

    fn left_native(&mut self, code: &AnalyzedCode, spec: SpecId) {
        if code.hash() != B256::ZERO {
            self.left.push((code.hash(), spec));
        }
    }
}
