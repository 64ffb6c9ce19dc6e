//! Counting outcomes and printing them, for state tests and blockchain tests alike: a
//! state-test case is a test's fork key and its position in that fork's list (with the
//! transaction's `indexes`); a blockchain test is one case of its network, with no position.

use std::collections::BTreeMap;
use std::io::{self, Write};

use serde::Serialize;
use serde_json::json;

use super::fork::ForkName;
use super::known::case_id;
use crate::tools::statetest::fixture::Indexes;

/// One failed case, or a file or fork entry that could not be run at all.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure {
    pub file: String,
    /// `-` when the file could not be parsed far enough to know.
    pub test: String,
    /// The fork key (state tests) or network (blockchain tests) as written in the fixture;
    /// `None` for file-level failures.
    pub fork: Option<String>,
    /// The case, when the failure is a case's verdict.
    pub case: Option<CaseAt>,
    pub reason: String,
}

/// Where a failed case is in its test, and its known-failures ID.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CaseAt {
    /// A state-test case's position in `post[fork]` and its transaction's indexes; `None`
    /// for a blockchain test, which is one case of its network.
    pub index: Option<(usize, Indexes)>,
    pub id: String,
}

impl Failure {
    /// The text line: `FAIL file :: test [fork #index dD gG vV] reason` (a blockchain test:
    /// `[network]`).
    pub fn line(&self) -> String {
        let mut line = format!("FAIL {} :: {}", self.file, self.test);
        let index = self.case.as_ref().and_then(|c| c.index);
        match (&self.fork, index) {
            (Some(fork), Some((index, ix))) => {
                line.push_str(&format!(" [{fork} #{index} d{} g{} v{}]", ix.data, ix.gas, ix.value))
            }
            (Some(fork), None) => line.push_str(&format!(" [{fork}]")),
            (None, _) => {}
        }
        line.push(' ');
        line.push_str(&self.reason);
        line
    }
}

/// Which case of which file a verdict is about.
#[derive(Clone, Copy, Debug)]
pub struct CaseKey<'a> {
    pub file: &'a str,
    pub test: &'a str,
    /// The fork key (network) as written in the fixture.
    pub fork: &'a str,
    /// As [`CaseAt::index`].
    pub index: Option<(usize, Indexes)>,
}

/// One case that ran, for `--json-cases` (geth's `evm statetest --json` shape).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CaseResult {
    pub test: String,
    pub fork: String,
    pub index: Option<usize>,
    pub pass: bool,
    /// The state root after the case; `None` when it could not run.
    pub state_root: Option<alloy_primitives::B256>,
    /// Why it failed; empty when it passed.
    pub error: String,
}

/// The verdict on one case after consulting the known-failures list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    Passed,
    Failed(String),
    /// Failed, and listed as a known failure.
    Known,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ForkCounts {
    pub passed: usize,
    pub failed: usize,
    pub known: usize,
}

/// Counts and failures of a run, or of part of one; parts [`merge`](Report::merge) in order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Report {
    pub passed: usize,
    /// Failures that count against the run: not listed as known, or listed but now passing.
    pub failed: usize,
    /// Failures listed in the known-failures list.
    pub known: usize,
    pub by_fork: BTreeMap<String, ForkCounts>,
    pub failures: Vec<Failure>,
    /// Every case that ran, in order.
    pub cases: Vec<CaseResult>,
}

impl Report {
    pub fn record_case(
        &mut self,
        case: CaseKey<'_>,
        state_root: Option<alloy_primitives::B256>,
        verdict: Verdict,
    ) {
        let CaseKey { file, test, fork, index } = case;
        let error = match &verdict {
            Verdict::Passed => String::new(),
            Verdict::Known => "a known failure (listed with --known-failures)".into(),
            Verdict::Failed(reason) => reason.clone(),
        };
        self.cases.push(CaseResult {
            test: test.to_string(),
            fork: fork.to_string(),
            index: index.map(|(i, _)| i),
            pass: matches!(verdict, Verdict::Passed),
            state_root,
            error,
        });
        let counts = self.by_fork.entry(fork.to_string()).or_default();
        match verdict {
            Verdict::Passed => {
                self.passed += 1;
                counts.passed += 1;
            }
            Verdict::Known => {
                self.known += 1;
                counts.known += 1;
            }
            Verdict::Failed(reason) => {
                self.failed += 1;
                counts.failed += 1;
                self.failures.push(Failure {
                    file: file.to_string(),
                    test: test.to_string(),
                    fork: Some(fork.to_string()),
                    case: Some(CaseAt { index, id: case_id(test, fork, index.map(|(i, _)| i)) }),
                    reason,
                });
            }
        }
    }

    /// A failure that is not one case's verdict (unreadable file, unknown fork name, ...).
    pub fn record_failure(&mut self, failure: Failure) {
        self.failed += 1;
        if let Some(fork) = &failure.fork {
            self.by_fork.entry(fork.clone()).or_default().failed += 1;
        }
        self.failures.push(failure);
    }

    pub fn merge(&mut self, other: Report) {
        self.passed += other.passed;
        self.failed += other.failed;
        self.known += other.known;
        for (fork, c) in other.by_fork {
            let counts = self.by_fork.entry(fork).or_default();
            counts.passed += c.passed;
            counts.failed += c.failed;
            counts.known += c.known;
        }
        self.failures.extend(other.failures);
        self.cases.extend(other.cases);
    }

    /// Whether the run should exit successfully.
    pub fn success(&self) -> bool {
        self.failed == 0
    }

    /// Total cases that ran (passed, failed or known).
    pub fn ran(&self) -> usize {
        self.passed + self.failed + self.known
    }

    /// Failure lines, a summary per fork, then `N passed, N failed` as the last line.
    pub fn write_text(&self, out: &mut dyn Write) -> io::Result<()> {
        for failure in &self.failures {
            writeln!(out, "{}", failure.line())?;
        }
        let mut forks: Vec<_> = self.by_fork.iter().collect();
        // Activation order reads better than alphabetical (a transition by its first fork);
        // unparseable names go first.
        forks.sort_by_key(|(name, _)| (ForkName::order_key(name), name.as_str()));
        for (fork, c) in forks {
            write!(out, "{fork}: {} passed, {} failed", c.passed, c.failed)?;
            if c.known > 0 {
                write!(out, ", {} known", c.known)?;
            }
            writeln!(out)?;
        }
        if self.known > 0 {
            writeln!(out, "{} known failures (not counted as failed)", self.known)?;
        }
        writeln!(out, "{} passed, {} failed", self.passed, self.failed)
    }

    pub fn to_json(&self) -> serde_json::Value {
        let by_fork: serde_json::Map<String, serde_json::Value> = self
            .by_fork
            .iter()
            .map(|(fork, c)| {
                (fork.clone(), json!({"passed": c.passed, "failed": c.failed, "known": c.known}))
            })
            .collect();
        let failures: Vec<_> = self
            .failures
            .iter()
            .map(|f| {
                json!({
                    "file": f.file,
                    "test": f.test,
                    "fork": f.fork,
                    "index": f.case.as_ref().and_then(|c| c.index).map(|(i, _)| i),
                    "indexes": f.case.as_ref().and_then(|c| c.index).map(|(_, ix)| ix),
                    "id": f.case.as_ref().map(|c| &c.id),
                    "reason": f.reason,
                })
            })
            .collect();
        json!({
            "passed": self.passed,
            "failed": self.failed,
            "known": self.known,
            "by_fork": by_fork,
            "failures": failures,
        })
    }

    /// Every case that ran as geth's `evm statetest --json` prints them:
    /// `[{"name", "pass", "stateRoot", "fork", "error"}]`, with the case's `index` in the
    /// fork's post list besides.
    pub fn cases_json(&self) -> serde_json::Value {
        self.cases
            .iter()
            .map(|c| {
                json!({
                    "name": c.test,
                    "pass": c.pass,
                    "stateRoot": c.state_root.map(|r| r.to_string()).unwrap_or_default(),
                    "fork": c.fork,
                    "index": c.index,
                    "error": c.error,
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(fork: &'static str, index: usize, indexes: Indexes) -> CaseKey<'static> {
        CaseKey { file: "a.json", test: "t1", fork, index: Some((index, indexes)) }
    }

    fn sample() -> Report {
        let mut r = Report::default();
        let ix = Indexes { data: 1, gas: 0, value: 2 };
        r.record_case(key("Prague", 0, ix), None, Verdict::Passed);
        r.record_case(key("Cancun", 0, ix), None, Verdict::Passed);
        r.record_case(key("Cancun", 1, ix), None, Verdict::Failed("bad root".into()));
        r.record_case(key("Cancun", 2, ix), None, Verdict::Known);
        r.record_failure(Failure {
            file: "b.json".into(),
            test: "-".into(),
            fork: None,
            case: None,
            reason: "invalid JSON".into(),
        });
        r
    }

    #[test]
    fn text_output() {
        let mut out = Vec::new();
        sample().write_text(&mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert_eq!(
            text,
            "FAIL a.json :: t1 [Cancun #1 d1 g0 v2] bad root\n\
             FAIL b.json :: - invalid JSON\n\
             Cancun: 1 passed, 1 failed, 1 known\n\
             Prague: 1 passed, 0 failed\n\
             1 known failures (not counted as failed)\n\
             2 passed, 2 failed\n"
        );
    }

    #[test]
    fn json_output() {
        let v = sample().to_json();
        assert_eq!(v["passed"], 2);
        assert_eq!(v["failed"], 2);
        assert_eq!(v["known"], 1);
        assert_eq!(v["by_fork"]["Cancun"]["failed"], 1);
        assert_eq!(v["failures"][0]["id"], "t1[Cancun#1]");
        assert_eq!(v["failures"][0]["index"], 1);
        assert_eq!(v["failures"][1]["test"], "-");
        assert!(v["failures"][1]["fork"].is_null());
    }

    #[test]
    fn merge_adds_up() {
        let mut a = sample();
        a.merge(sample());
        assert_eq!((a.passed, a.failed, a.known), (4, 4, 2));
        assert_eq!(a.by_fork["Cancun"].passed, 2);
        assert_eq!(a.failures.len(), 4);
        assert!(!a.success());
        assert!(Report::default().success());
    }
}
