//! `kiln blocktest PATH...`: runs every blockchain test under the paths through the
//! library's block executor, the blocks' transactions in the chosen mode (interp, jit or
//! tiered; `--mode aot` is refused by name until it is built), and reports a line per
//! failure, a per-network table and `N passed, N failed` (or one JSON object), then with
//! `--stats` the tier policy's statistics. Exit codes as `kiln statetest`: 0 when nothing
//! failed, 1 when something did, 2 when nothing ran or a path is missing. Still to come
//! (`docs/blocks.md`): `--mode aot`, a progress line, and the state-test report's shared code.

use std::collections::BTreeMap;
use std::num::NonZeroUsize;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use serde_json::json;

use crate::tools::blocktest::fixture::FixtureFile;
use crate::tools::blocktest::run::{run_test, Outcome};
use crate::tools::exec;
use crate::tools::mode::Mode;
use crate::tools::statetest;

use super::{emit, CliError, USAGE_ERROR};

#[derive(clap::Args)]
pub struct Args {
    /// Fixture files, or directories searched recursively for `.json` files.
    #[arg(required = true, value_name = "PATH")]
    paths: Vec<PathBuf>,
    /// How the blocks' contract code is executed (`aot` not yet; system calls are always
    /// interpreted).
    #[arg(long, value_enum, default_value_t = Mode::Interp)]
    mode: Mode,
    /// Run only tests of this network, or of a transition to or from this fork (`Cancun`,
    /// `CancunToPragueAtTime15k`, `BPO1`; any case).
    #[arg(long, value_name = "NAME")]
    fork: Option<String>,
    /// Run only tests whose file path or test name contains TEXT.
    #[arg(long, value_name = "TEXT")]
    filter: Option<String>,
    /// Print one JSON object instead of text.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    tier: super::tier::TierArgs,
    /// Files run in parallel [default: available cores].
    #[arg(short = 'j', long, value_name = "N")]
    jobs: Option<NonZeroUsize>,
}

/// One failed test, or a file that could not be loaded (`test` is `-`).
struct Failure {
    file: String,
    test: String,
    network: String,
    reason: String,
}

#[derive(Default)]
struct Report {
    /// network → (passed, failed)
    networks: BTreeMap<String, (usize, usize)>,
    failures: Vec<Failure>,
}

/// Whether `network` is `fork` or a transition from or to it.
fn network_matches(network: &str, fork: &str) -> bool {
    let (network, fork) = (network.to_ascii_lowercase(), fork.to_ascii_lowercase());
    network == fork
        || network.starts_with(&format!("{fork}to"))
        || network.contains(&format!("to{fork}at"))
}

pub fn run(args: Args) -> Result<ExitCode, CliError> {
    if args.mode == Mode::Aot {
        return Err("kiln blocktest does not run --mode aot yet: use interp, jit or tiered".into());
    }
    let mode = args.mode.ensure_built()?;
    let tiers = args.tier.configure(mode)?;
    let files = statetest::collect_files(&args.paths)?;
    let jobs = args.jobs.map_or_else(
        || std::thread::available_parallelism().map_or(1, NonZeroUsize::get),
        NonZeroUsize::get,
    );
    statetest::install_panic_capture();
    let next = AtomicUsize::new(0);
    let report = Mutex::new(Report::default());
    std::thread::scope(|scope| {
        for _ in 0..jobs.min(files.len().max(1)) {
            scope.spawn(|| {
                // One engine per thread: its compiled code and analyses serve every test the
                // thread runs (tiered threads share the one policy).
                let engine = match exec::engine(mode, tiers.as_ref(), None) {
                    Ok(engine) => engine,
                    Err(e) => {
                        let reason = format!("{} mode cannot start: {e}", mode.name());
                        let failure = Failure {
                            file: "-".into(),
                            test: "-".into(),
                            network: "-".into(),
                            reason,
                        };
                        report.lock().unwrap().failures.push(failure);
                        return;
                    }
                };
                while let Some(path) = files.get(next.fetch_add(1, Ordering::Relaxed)) {
                    let file = path.display().to_string();
                    let parsed =
                        std::fs::read_to_string(path).map_err(|e| e.to_string()).and_then(|t| {
                            serde_json::from_str::<FixtureFile>(&t).map_err(|e| e.to_string())
                        });
                    let tests = match parsed {
                        Ok(tests) => tests,
                        Err(reason) => {
                            let failure =
                                Failure { file, test: "-".into(), network: "-".into(), reason };
                            report.lock().unwrap().failures.push(failure);
                            continue;
                        }
                    };
                    for (name, test) in &tests {
                        if args.fork.as_deref().is_some_and(|f| !network_matches(&test.network, f))
                        {
                            continue;
                        }
                        if args
                            .filter
                            .as_deref()
                            .is_some_and(|f| !file.contains(f) && !name.contains(f))
                        {
                            continue;
                        }
                        let outcome = statetest::runner::guarded(|| run_test(test, &engine))
                            .unwrap_or_else(|panic| Outcome::Fail(format!("panic: {}", panic.0)));
                        let reason = match outcome {
                            Outcome::Pass { .. } => None,
                            Outcome::Fail(reason) => Some(reason),
                            Outcome::Unsupported(what) => Some(format!("unsupported: {what}")),
                        };
                        let mut report = report.lock().unwrap();
                        let counts = report.networks.entry(test.network.clone()).or_default();
                        match reason {
                            None => counts.0 += 1,
                            Some(reason) => {
                                counts.1 += 1;
                                report.failures.push(Failure {
                                    file: file.clone(),
                                    test: name.clone(),
                                    network: test.network.clone(),
                                    reason,
                                });
                            }
                        }
                    }
                }
            });
        }
    });
    let stats = args.tier.stats(tiers.as_ref());
    let mut report = report.into_inner().unwrap();
    report.failures.sort_by(|a, b| (&a.file, &a.test).cmp(&(&b.file, &b.test)));
    let passed: usize = report.networks.values().map(|c| c.0).sum();
    let failed = report.failures.len();

    let text = if args.json {
        let networks: serde_json::Map<_, _> = report
            .networks
            .iter()
            .map(|(n, (p, f))| (n.clone(), json!({"passed": p, "failed": f})))
            .collect();
        let failures: Vec<_> = report
            .failures
            .iter()
            .map(|f| json!({"file": f.file, "test": f.test, "network": f.network, "reason": f.reason}))
            .collect();
        let mut object = json!({
            "passed": passed,
            "failed": failed,
            "networks": networks,
            "failures": failures,
        });
        if let Some(stats) = &stats {
            object["tier_stats"] = stats.to_json();
        }
        let mut text = serde_json::to_string(&object)?;
        text.push('\n');
        text
    } else {
        let mut text = String::new();
        for f in &report.failures {
            text.push_str(&format!("FAIL {} :: {} [{}] {}\n", f.file, f.test, f.network, f.reason));
        }
        if !report.networks.is_empty() {
            text.push_str(&format!("{:<28} {:>7} {:>7}\n", "network", "passed", "failed"));
            for (network, (p, f)) in &report.networks {
                text.push_str(&format!("{network:<28} {p:>7} {f:>7}\n"));
            }
        }
        text.push_str(&format!("{passed} passed, {failed} failed\n"));
        if let Some(stats) = &stats {
            stats.write_text(&mut text, super::statetest::STATS_LISTED)?;
        }
        text
    };
    emit(text.as_bytes())?;
    Ok(if passed + failed == 0 {
        USAGE_ERROR.into()
    } else if failed > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

#[cfg(test)]
mod tests {
    use super::network_matches;

    #[test]
    fn fork_selection() {
        assert!(network_matches("Cancun", "cancun"));
        assert!(network_matches("CancunToPragueAtTime15k", "Cancun"));
        assert!(network_matches("CancunToPragueAtTime15k", "prague"));
        assert!(network_matches("BPO1ToBPO2AtTime15k", "BPO2"));
        assert!(!network_matches("Prague", "Cancun"));
        assert!(!network_matches("OsakaToBPO1AtTime15k", "Prague"));
    }
}
