//! Subcommands of the `kiln` tool, one file each.
//!
//! Exit codes: 0 success, 1 the command ran and found failures, 2 the command could not run
//! (bad arguments, missing files); the latter always prints `error: ...` to stderr.

pub mod bench;
pub mod blocktest;
pub mod compile;
pub mod disasm;
pub mod ir;
pub mod run;
pub mod statetest;
pub mod suite;
pub mod tier;

use std::fmt::Display;
use std::io::{self, IsTerminal, Write};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};
use kiln_runtime::SpecId;

/// Exit status for errors that stopped a command from running.
pub const USAGE_ERROR: u8 = 2;

/// An error that ends a command; printed as `error: {message}`.
pub type CliError = Box<dyn std::error::Error>;

pub fn print_error(e: &dyn Display) {
    // Writing to stderr can fail (closed descriptor); there is nowhere left to report that.
    let _ = writeln!(io::stderr(), "error: {e}");
}

pub fn print_warning(e: &dyn Display) {
    let _ = writeln!(io::stderr(), "warning: {e}");
}

/// Writes `text` to stdout. A closed pipe (`kiln disasm ... | head`) is not an error: the
/// reader has what it wanted.
pub fn emit(text: &[u8]) -> Result<(), CliError> {
    let mut out = io::stdout().lock();
    match out.write_all(text).and_then(|()| out.flush()) {
        Err(e) if e.kind() != io::ErrorKind::BrokenPipe => Err(e.into()),
        _ => Ok(()),
    }
}

/// A bar of `len` steps on an interactive stderr; hidden otherwise so that logs and pipes stay
/// clean. `unit` names the steps (`files`), after the count.
pub fn progress_bar(len: u64, unit: &str) -> ProgressBar {
    if !io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(len);
    let template = format!("{{bar:40}} {{pos}}/{{len}} {unit} [{{elapsed_precise}}] {{wide_msg}}");
    if let Ok(style) = ProgressStyle::with_template(&template) {
        bar.set_style(style);
    }
    bar
}

/// Progress of a long run on a stderr that is not a terminal (a CI log, a file), where the bar
/// is hidden: a line every 30 s at most (`KILN_PROGRESS_EVERY=SECONDS` changes that), so that
/// minutes of silence do not look like a hang.
pub struct LogProgress {
    enabled: bool,
    every: Duration,
    total: usize,
    unit: &'static str,
    /// What a step runs (`cases`).
    runs: &'static str,
    start: Instant,
    last: Mutex<Instant>,
    done: AtomicUsize,
    cases: AtomicUsize,
    failed: AtomicUsize,
}

impl LogProgress {
    /// Progress over `total` steps named `unit` (`files`), each running some `runs`
    /// (`cases`).
    pub fn new(total: usize, unit: &'static str, runs: &'static str) -> Self {
        let now = Instant::now();
        LogProgress {
            enabled: !io::stderr().is_terminal(),
            every: std::env::var("KILN_PROGRESS_EVERY")
                .ok()
                .and_then(|s| s.trim().parse().ok())
                .map_or(Duration::from_secs(30), Duration::from_secs_f64),
            total,
            unit,
            runs,
            start: now,
            last: Mutex::new(now),
            done: AtomicUsize::new(0),
            cases: AtomicUsize::new(0),
            failed: AtomicUsize::new(0),
        }
    }

    /// One step done, which ran `cases` of the `runs` of which `failed` failed.
    pub fn step(&self, cases: usize, failed: usize) {
        let done = self.done.fetch_add(1, Ordering::Relaxed) + 1;
        let cases = self.cases.fetch_add(cases, Ordering::Relaxed) + cases;
        let failed = self.failed.fetch_add(failed, Ordering::Relaxed) + failed;
        if !self.enabled {
            return;
        }
        let Ok(mut last) = self.last.lock() else { return };
        if last.elapsed() < self.every {
            return;
        }
        *last = Instant::now();
        let _ = writeln!(
            io::stderr(),
            "progress: {done}/{} {}, {cases} {} run, {failed} failed, {:.0} s",
            self.total,
            self.unit,
            self.runs,
            self.start.elapsed().as_secs_f64()
        );
    }
}

/// The help of a `--fork` option: what it picks, then the forks it accepts.
pub fn fork_help(what: &str) -> String {
    format!("{what}: {} [default: {}]", SpecId::names(), SpecId::LATEST)
}

/// A `--fork` value naming a fork.
pub fn parse_fork(name: &str) -> Result<SpecId, String> {
    name.parse().map_err(|e: kiln_frontend::UnknownFork| e.to_string())
}
