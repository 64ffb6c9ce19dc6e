//! Background compilation: a bounded queue of jobs served by a fixed number of threads.
//! Submitting never blocks: a full queue refuses the job, and the contract stays interpreted.

use super::cache::{judge_compile, Key};
use super::tiers::Shared;
use alloy_primitives::Bytes;
use kiln_codegen::UnitCompiler;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Instant;

/// Cranelift recurses over large functions; give workers room, as the JIT's callers have.
const WORKER_STACK: usize = 16 << 20;

pub(crate) struct Job {
    pub(crate) key: Key,
    pub(crate) code: Bytes,
}

pub(crate) struct Workers {
    sender: Option<SyncSender<Job>>,
    handles: Vec<JoinHandle<()>>,
}

impl Workers {
    /// Starts `count` workers that compile for `shared`, with room for `capacity` jobs.
    pub(crate) fn spawn(
        shared: &Arc<Shared>,
        count: usize,
        capacity: usize,
    ) -> std::io::Result<Self> {
        let (sender, receiver) = sync_channel::<Job>(capacity.max(1));
        let receiver = Arc::new(Mutex::new(receiver));
        let mut workers = Self { sender: Some(sender), handles: Vec::new() };
        for i in 0..count {
            let (shared, receiver) = (shared.clone(), receiver.clone());
            let handle = std::thread::Builder::new()
                .name(format!("kiln-compile-{i}"))
                .stack_size(WORKER_STACK)
                .spawn(move || serve(&shared, &receiver))?;
            workers.handles.push(handle);
        }
        Ok(workers)
    }

    /// Queues `job` unless the queue is full (or the workers are gone); gives it back then.
    pub(crate) fn try_submit(&self, job: Job) -> Result<(), Job> {
        match &self.sender {
            Some(sender) => sender.try_send(job).map_err(|e| match e {
                TrySendError::Full(job) | TrySendError::Disconnected(job) => job,
            }),
            None => Err(job),
        }
    }
}

impl Drop for Workers {
    fn drop(&mut self) {
        // Closing the channel ends each worker after its current job.
        self.sender.take();
        for handle in self.handles.drain(..) {
            let _ = handle.join();
        }
    }
}

fn serve(shared: &Shared, receiver: &Mutex<Receiver<Job>>) {
    let mut compiler = UnitCompiler::new().map_err(|e| e.to_string());
    loop {
        // A poisoned lock only means another worker panicked while waiting; the receiver
        // itself is still sound.
        let job = match receiver.lock().unwrap_or_else(|e| e.into_inner()).recv() {
            Ok(job) => job,
            Err(_) => return,
        };
        let start = Instant::now();
        let outcome = match &mut compiler {
            Ok(unit_compiler) => {
                match catch_unwind(AssertUnwindSafe(|| unit_compiler.compile(&job.code, job.key.1)))
                {
                    Ok(result) => result.map_err(|e| e.to_string()),
                    Err(_) => {
                        // The builder context may be half-used: start from a fresh compiler.
                        compiler = UnitCompiler::new().map_err(|e| e.to_string());
                        Err("the compiler panicked".to_string())
                    }
                }
            }
            Err(e) => Err(e.clone()),
        };
        let verdict = judge_compile(outcome, start.elapsed(), shared.config.compile_timeout);
        shared.finish(job.key, verdict);
    }
}
