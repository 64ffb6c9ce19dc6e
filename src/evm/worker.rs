//! Background compilation: a bounded queue of jobs served by a fixed number of threads.
//! Submitting never blocks: a full queue refuses the job, and the contract stays interpreted.
//! A free worker takes the queued contract that ran the most gas in its present tier per byte
//! of code, quick compiles before optimizing ones ([`Shared::next_job`]), not the oldest: the
//! hot set is compiled first even when a burst of cold contracts was queued before it.

use super::cache::{judge_compile, Key};
use super::stats::InterpReason;
use super::tiers::Shared;
use kiln_codegen::{CodeTier, UnitCompiler};
use kiln_runtime::code::AnalyzedCode;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Instant;

/// Cranelift recurses over large functions; give workers room, as the JIT's callers have.
const WORKER_STACK: usize = 16 << 20;

pub(crate) struct Job {
    pub(crate) key: Key,
    /// The analysis of the frame that queued it: its coverage is read when a worker takes
    /// the job, so that runs meanwhile count.
    pub(crate) code: Arc<AnalyzedCode>,
    pub(crate) tier: CodeTier,
}

#[derive(Default)]
struct Pending {
    jobs: Vec<Job>,
    closed: bool,
}

/// The jobs waiting for a worker.
struct Queue {
    pending: Mutex<Pending>,
    /// Signalled when a job arrives or the queue closes.
    ready: Condvar,
    capacity: usize,
}

impl Queue {
    fn lock(&self) -> MutexGuard<'_, Pending> {
        // Workers never panic while holding the lock (compilation runs outside it).
        self.pending.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The next job ([`Shared::next_job`]), waiting for one; `None` once the queue is closed.
    fn take(&self, shared: &Shared) -> Option<Job> {
        let mut pending = self.lock();
        loop {
            if pending.closed {
                return None;
            }
            if let Some(i) = shared.next_job(pending.jobs.iter().map(|job| (&job.key, job.tier))) {
                return Some(pending.jobs.swap_remove(i));
            }
            pending = self.ready.wait(pending).unwrap_or_else(|e| e.into_inner());
        }
    }
}

pub(crate) struct Workers {
    queue: Arc<Queue>,
}

impl Workers {
    /// Starts `count` workers that compile for `shared`, with room for `capacity` jobs.
    pub(crate) fn spawn(
        shared: &Arc<Shared>,
        count: usize,
        capacity: usize,
    ) -> std::io::Result<Self> {
        let queue = Arc::new(Queue {
            pending: Mutex::default(),
            ready: Condvar::new(),
            capacity: capacity.max(1),
        });
        let workers = Self { queue };
        for i in 0..count {
            let (shared, queue) = (shared.clone(), workers.queue.clone());
            std::thread::Builder::new()
                .name(format!("kiln-compile-{i}"))
                .stack_size(WORKER_STACK)
                .spawn(move || serve(&shared, &queue))?;
        }
        Ok(workers)
    }

    /// Queues `job` unless the queue is full; gives it back then.
    pub(crate) fn try_submit(&self, job: Job) -> Result<(), Job> {
        let mut pending = self.queue.lock();
        if pending.closed || pending.jobs.len() >= self.queue.capacity {
            return Err(job);
        }
        pending.jobs.push(job);
        self.queue.ready.notify_one();
        Ok(())
    }
}

impl Drop for Workers {
    fn drop(&mut self) {
        // Queued jobs are dropped; each worker exits after its current job. Not joined: a
        // compile can take seconds, and dropping an EVM should not wait for one. A detached
        // worker owns everything it touches (its `Arc`s), so it outlives its `Tiers` safely.
        self.queue.lock().closed = true;
        self.queue.ready.notify_all();
    }
}

fn serve(shared: &Shared, queue: &Queue) {
    let mut compiler = UnitCompiler::new().map_err(|e| e.to_string());
    while let Some(job) = queue.take(shared) {
        let start = Instant::now();
        let outcome = match &mut compiler {
            Ok(unit_compiler) => {
                match catch_unwind(AssertUnwindSafe(|| {
                    // Only the blocks runs entered ([`super::config::TierConfig::partial`]).
                    let covered = shared.config.partial.then(|| job.code.coverage_bits());
                    unit_compiler.compile_covered(
                        job.code.bytes(),
                        job.key.1,
                        job.tier,
                        covered.as_deref(),
                    )
                })) {
                    Ok(result) => result.map_err(InterpReason::from),
                    Err(_) => {
                        // The builder context may be half-used: start from a fresh compiler.
                        compiler = UnitCompiler::new().map_err(|e| e.to_string());
                        Err(InterpReason::CompileFailed("the compiler panicked".to_string()))
                    }
                }
            }
            Err(e) => Err(InterpReason::CompileFailed(e.clone())),
        };
        let verdict = judge_compile(outcome, start.elapsed(), shared.config.compile_timeout);
        shared.finish(job.key, job.tier, verdict);
    }
}
