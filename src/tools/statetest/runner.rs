//! State tests as a [`Suite`]: each case of each fork of a test, run on a copy of its
//! pre-state and judged by its post-state root and logs hash.

use kiln::{Engine, Evm};
use kiln_runtime::{InMemoryDb, SpecId};

use super::check::judge_with_root;
use super::env::{block_env, cfg_env, pre_state, tx_env};
use super::fixture::{EnvError, PostCase, StateTest};
use crate::tools::exec::ExecError;
use crate::tools::suite::known::case_id;
use crate::tools::suite::report::{CaseKey, Failure, Report};
use crate::tools::suite::{classify, guarded, FileRun, Panic, RunOptions, Suite};
use alloy_primitives::B256;

/// The state-test suite.
pub struct StateTests;

impl Suite for StateTests {
    type Test = StateTest;
    const UNIT: &'static str = "cases";
    /// Each case has one `indexes` object, and nothing else of the format is so named.
    const COUNTED_KEY: &'static str = "indexes";

    /// The pre-state code and the initcode of a create transaction, for every fork of the
    /// test `--fork` selects.
    fn aot_codes(test: &StateTest, opts: &RunOptions, out: &mut Vec<(Vec<u8>, SpecId)>) {
        let specs = test.post.keys().filter_map(|f| f.parse::<SpecId>().ok());
        for spec in specs.filter(|s| opts.selects_spec(*s)) {
            for account in test.pre.values() {
                out.push((account.code.0.to_vec(), spec));
            }
            if test.transaction.to.is_none() {
                for data in &test.transaction.data {
                    out.push((data.0.to_vec(), spec));
                }
            }
        }
    }

    fn run_test(on: &FileRun<'_>, report: &mut Report, name: &str, test: &StateTest) {
        run_test(on, report, name, test);
    }
}

/// Every case of every fork of `test` that the options select.
fn run_test(on: &FileRun<'_>, report: &mut Report, name: &str, test: &StateTest) {
    let FileRun { file, opts, known, engine } = *on;
    // Built lazily: a test whose forks are all skipped or filtered out costs nothing.
    let mut pre: Option<Result<InMemoryDb, CaseError>> = None;
    for (fork_name, cases) in &test.post {
        let spec = match fork_name.parse::<SpecId>() {
            Ok(spec) => spec,
            Err(e) => {
                report.record_failure(Failure {
                    file: file.to_string(),
                    test: name.to_string(),
                    fork: Some(fork_name.clone()),
                    case: None,
                    reason: e.to_string(),
                });
                continue;
            }
        };
        if !opts.selects_spec(spec) {
            continue;
        }
        let pre = pre
            .get_or_insert_with(|| guarded(|| pre_state(&test.pre))?.map_err(CaseError::PreState));
        for (index, case) in cases.iter().enumerate() {
            if opts.index.is_some_and(|want| want != index) {
                continue;
            }
            let outcome = match (&*pre, engine) {
                (Ok(pre), Ok(engine)) => {
                    guarded(|| run_case(test, pre, spec, fork_name, case, engine))
                        .map_err(CaseError::from)
                        .and_then(|r| r)
                }
                (Err(e), _) => Err(e.clone()),
                (Ok(_), Err(e)) => Err(CaseError::Exec(e.clone())),
            };
            let root = outcome.as_ref().ok().map(|(root, _)| *root);
            let listed = known.contains(&case_id(name, fork_name, Some(index)));
            let judged = outcome.map_err(|e| e.to_string()).and_then(|(_, judged)| judged);
            let verdict = classify(judged, listed);
            let key =
                CaseKey { file, test: name, fork: fork_name, index: Some((index, case.indexes)) };
            report.record_case(key, root, verdict);
        }
    }
}

/// Runs one case: the state root after it, and the verdict (`Err` when the case could not run
/// at all).
fn run_case(
    test: &StateTest,
    pre: &InMemoryDb,
    spec: SpecId,
    fork_name: &str,
    case: &PostCase,
    engine: &Engine,
) -> Result<(B256, Result<(), String>), CaseError> {
    let cfg = cfg_env(test, spec, fork_name)?;
    let block = block_env(&test.env)?;
    let tx = tx_env(&test.transaction, &case.indexes, cfg.chain_id)?;
    let mut db = pre.clone();
    let result = Evm::new(&mut db, engine, cfg, block).transact_commit(&tx);
    let root = db.state_root();
    Ok((root, judge_with_root(&result, &db, root, case)))
}

/// Why a case could not run to a verdict.
#[derive(Clone, Debug, thiserror::Error)]
pub enum CaseError {
    #[error("pre-state: {0}")]
    PreState(EnvError),
    #[error(transparent)]
    Env(#[from] EnvError),
    #[error(transparent)]
    Exec(#[from] ExecError),
    #[error(transparent)]
    Panic(#[from] Panic),
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tools::mode::Mode;
    use crate::tools::suite::known::IdForm;
    use crate::tools::suite::{
        collect_files, run, run_fixture_text, thread_engine, CollectError, ForkName, KnownFailures,
    };
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A fixture whose single test (`test_x`) has cases for the forks `post` names (the CLI
    /// tests' fixture). Each case expects a zero state root, which no runtime produces, so it
    /// fails whatever state the runtime is in.
    fn fixture(post: &str) -> String {
        include_str!("../../../tests/data/statetest_one.json")
            .replace(r#""post": {}"#, &format!(r#""post": {post}"#))
    }

    const CASE: &str = r#"{"hash": "0x0000000000000000000000000000000000000000000000000000000000000000",
        "logs": "0x0000000000000000000000000000000000000000000000000000000000000000",
        "txbytes": "0x", "indexes": {"data": 0, "gas": 0, "value": 0}, "state": {}}"#;

    fn run_text(text: String, opts: &RunOptions, known: &KnownFailures) -> Report {
        let engine = thread_engine(opts.mode, &opts.run_tiers());
        run_fixture_text::<StateTests>("dir/f.json", text, opts, known, &engine)
    }

    /// The progress bar's count, without parsing, is the number of cases the runner meets.
    #[test]
    fn post_cases_counts_every_case_of_every_fork() {
        let post = format!(
            r#"{{"Shanghai": [{CASE}, {CASE}], "Amsterdamm": [{CASE}], "Cancun": [{CASE}]}}"#
        );
        assert_eq!(StateTests::count(&fixture(&post)), 4);
        assert_eq!(StateTests::count(&fixture(&format!(r#"{{"Cancun": [{CASE}]}}"#))), 1);
    }

    #[test]
    fn every_known_fork_runs_and_an_unknown_one_fails() {
        let post = format!(
            r#"{{"Frontier": [{CASE}, {CASE}], "Amsterdamm": [{CASE}], "Cancun": [{CASE}]}}"#
        );
        let report = run_text(fixture(&post), &RunOptions::default(), &KnownFailures::default());
        assert_eq!(report.passed, 0);
        assert_eq!(report.failed, 4);
        let ids: Vec<_> = report.failures.iter().map(|f| f.fork.clone().unwrap()).collect();
        assert_eq!(ids, ["Amsterdamm", "Cancun", "Frontier", "Frontier"]);
        let unknown = &report.failures[0];
        assert!(unknown.reason.contains("unknown fork"), "{}", unknown.reason);
        assert_eq!(report.by_fork["Frontier"].failed, 2);
    }

    #[test]
    fn fork_and_filter_restrict() {
        let post = format!(r#"{{"Shanghai": [{CASE}], "Cancun": [{CASE}], "Prague": [{CASE}]}}"#);
        let opts =
            RunOptions { fork: Some(ForkName::Spec(SpecId::Prague)), ..RunOptions::default() };
        let report = run_text(fixture(&post), &opts, &KnownFailures::default());
        assert_eq!(report.ran(), 1);
        assert_eq!(report.failures[0].fork.as_deref(), Some("Prague"));

        let opts = RunOptions { filter: Some("nomatch".into()), ..RunOptions::default() };
        let report = run_text(fixture(&post), &opts, &KnownFailures::default());
        assert_eq!(report, Report::default());

        for filter in ["test_x", "dir/f"] {
            let opts = RunOptions { filter: Some(filter.into()), ..RunOptions::default() };
            let report = run_text(fixture(&post), &opts, &KnownFailures::default());
            assert_eq!(report.ran(), 3, "{filter}");
        }
    }

    #[test]
    fn known_failures_are_counted_apart() {
        let post = format!(r#"{{"Cancun": [{CASE}, {CASE}]}}"#);
        let known =
            KnownFailures::parse("test_x[Cancun#1] # broken on purpose\n", "list", IdForm::Case)
                .unwrap();
        let report = run_text(fixture(&post), &RunOptions::default(), &known);
        assert_eq!((report.failed, report.known), (1, 1));
        assert_eq!(report.failures[0].case.as_ref().and_then(|c| c.index).map(|(i, _)| i), Some(0));
        assert_eq!(report.by_fork["Cancun"].known, 1);
    }

    #[test]
    fn malformed_files_are_one_failure() {
        let opts = RunOptions::default();
        let none = KnownFailures::default();
        let report = run_text("{not json".into(), &opts, &none);
        assert_eq!(report.failed, 1);
        assert_eq!(report.failures[0].test, "-");
        assert!(report.failures[0].reason.starts_with("invalid fixture: "));

        let bad_hex =
            fixture(&format!(r#"{{"Cancun": [{CASE}]}}"#)).replace("\"0x6124", "\"0xq124");
        let report = run_text(bad_hex, &opts, &none);
        assert_eq!(report.failed, 1);
        assert!(report.failures[0].reason.contains("line"), "{}", report.failures[0].reason);

        // Filtered away: the text does not mention the filter.
        let opts = RunOptions { filter: Some("elsewhere".into()), ..RunOptions::default() };
        assert_eq!(run_text("{not json".into(), &opts, &none).failed, 0);
    }

    #[test]
    fn bad_indexes_fail_the_case() {
        let case = CASE.replace(r#""data": 0"#, r#""data": 5"#);
        let report = run_text(
            fixture(&format!(r#"{{"Cancun": [{case}]}}"#)),
            &RunOptions::default(),
            &KnownFailures::default(),
        );
        assert_eq!(report.failed, 1);
        assert!(report.failures[0].reason.contains("data index 5 out of range"));
    }

    #[test]
    fn tiered_mode_judges_as_the_interpreter() {
        let text = || fixture(&format!(r#"{{"Cancun": [{CASE}, {CASE}]}}"#));
        let tiered = RunOptions { mode: Mode::Tiered, ..RunOptions::default() };
        let report = run_text(text(), &tiered, &KnownFailures::default());
        assert_eq!(report, run_text(text(), &RunOptions::default(), &KnownFailures::default()));
        assert!(report.failures[0].reason.contains("state root"), "{}", report.failures[0].reason);
    }

    #[test]
    fn files_are_collected_sorted_and_parallel_results_ordered() {
        let dir = std::env::temp_dir().join(format!("kiln-runner-test-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("sub")).unwrap();
        for name in ["b.json", "a.json", "sub/c.json", "notes.txt"] {
            std::fs::write(dir.join(name), "{bad").unwrap();
        }
        let files = collect_files(&[dir.clone(), dir.join("a.json")]).unwrap();
        let names: Vec<_> = files
            .iter()
            .map(|p| p.strip_prefix(&dir).unwrap().to_str().unwrap().to_string())
            .collect();
        assert_eq!(names, ["a.json", "b.json", "sub/c.json"]);

        let opts = RunOptions { jobs: 2, ..RunOptions::default() };
        let seen = AtomicUsize::new(0);
        let report = run::<StateTests>(&files, &opts, &KnownFailures::default(), &|_, _| {
            seen.fetch_add(1, Ordering::Relaxed);
        });
        assert_eq!(seen.load(Ordering::Relaxed), 3);
        assert_eq!(report.failed, 3);
        let order: Vec<_> = report.failures.iter().map(|f| f.file.clone()).collect();
        let expected: Vec<_> = files.iter().map(|p| p.display().to_string()).collect();
        assert_eq!(order, expected);

        assert!(matches!(collect_files(&[dir.join("missing")]), Err(CollectError::Missing(_))));

        std::fs::remove_dir_all(&dir).unwrap();
    }
}
