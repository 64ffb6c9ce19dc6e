//! The known-failures list: cases that are expected to fail for now.
//!
//! One case per line, `TESTID  # reason`, where TESTID is `test_name[Fork#index]` for a state
//! test's case (index = the case's position in the fixture's `post[Fork]` list) and
//! `test_name[Network]` for a blockchain test (one network, no position). Blank lines and
//! lines starting with `#` are ignored. Test names may themselves contain spaces, `[` and `]`,
//! so the ID is the shortest prefix ending in such a group that is followed only by a comment.

use std::collections::HashMap;
use std::path::Path;

/// The ID a case has in a known-failures list: `test[Fork#index]`, or `test[Network]` without
/// an index.
pub fn case_id(test: &str, fork: &str, index: Option<usize>) -> String {
    match index {
        Some(index) => format!("{test}[{fork}#{index}]"),
        None => format!("{test}[{fork}]"),
    }
}

/// Which IDs a list holds: a state-test list names cases, a blockchain-test list tests.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IdForm {
    /// `test_name[Fork#index]`.
    Case,
    /// `test_name[Network]`.
    Test,
}

impl IdForm {
    fn pattern(self) -> &'static str {
        match self {
            IdForm::Case => "test_name[Fork#index]",
            IdForm::Test => "test_name[Network]",
        }
    }
}

#[derive(Clone, Debug, Default)]
pub struct KnownFailures {
    /// ID → reason (possibly empty).
    entries: HashMap<String, String>,
}

#[derive(Debug, thiserror::Error)]
pub enum KnownFailuresError {
    #[error("cannot read known-failures file {path}: {source}")]
    Read { path: String, source: std::io::Error },
    #[error("{path}:{line}: expected `{pattern}`, optionally followed by `# reason`")]
    Syntax { path: String, line: usize, pattern: &'static str },
}

impl KnownFailures {
    pub fn load(path: &Path, form: IdForm) -> Result<Self, KnownFailuresError> {
        let text = std::fs::read_to_string(path).map_err(|source| KnownFailuresError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Self::parse(&text, &path.display().to_string(), form)
    }

    /// Parses list text of IDs in `form`; `origin` names it in errors.
    pub fn parse(text: &str, origin: &str, form: IdForm) -> Result<Self, KnownFailuresError> {
        let mut entries = HashMap::new();
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (id, reason) =
                split_entry(line, form).ok_or_else(|| KnownFailuresError::Syntax {
                    path: origin.to_string(),
                    line: n + 1,
                    pattern: form.pattern(),
                })?;
            entries.insert(id.to_string(), reason.to_string());
        }
        Ok(Self { entries })
    }

    pub fn contains(&self, id: &str) -> bool {
        self.entries.contains_key(id)
    }

    #[cfg(test)]
    pub fn reason(&self, id: &str) -> Option<&str> {
        self.entries.get(id).map(String::as_str)
    }

    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    #[cfg(test)]
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// Splits `line` into (ID, reason).
fn split_entry(line: &str, form: IdForm) -> Option<(&str, &str)> {
    for (i, _) in line.match_indices(']') {
        let id = &line[..=i];
        let rest = line[i + 1..].trim_start();
        if !(rest.is_empty() || rest.starts_with('#')) || !is_id(id, form) {
            continue;
        }
        let reason = rest.strip_prefix('#').unwrap_or(rest).trim();
        return Some((id, reason));
    }
    None
}

fn is_id(id: &str, form: IdForm) -> bool {
    let Some(body) = id.strip_suffix(']') else {
        return false;
    };
    let Some(open) = body.rfind('[') else {
        return false;
    };
    let group = &body[open + 1..];
    let (fork, index) = match (form, group.split_once('#')) {
        (IdForm::Case, Some((fork, index))) => (fork, Some(index)),
        (IdForm::Test, None) => (group, None),
        _ => return false,
    };
    open > 0
        && !fork.is_empty()
        && fork.chars().all(|c| c.is_ascii_alphanumeric())
        && index.is_none_or(|i| !i.is_empty() && i.chars().all(|c| c.is_ascii_digit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids() {
        assert_eq!(case_id("t", "Cancun", Some(3)), "t[Cancun#3]");
        assert_eq!(case_id("t", "CancunToPragueAtTime15k", None), "t[CancunToPragueAtTime15k]");
    }

    #[test]
    fn parses_entries_with_awkward_names() {
        let text = "\
# comment line

plain[Cancun#0]
tests/x.py::test_a[fork_Cancun-state_test-multiple_calls_single beneficiary][Prague#12]   # gas off by 100
  spaced_name with #hash[Osaka#1]#no space before comment
";
        let known = KnownFailures::parse(text, "list", IdForm::Case).unwrap();
        assert_eq!(known.len(), 3);
        assert!(!known.is_empty());
        assert_eq!(known.reason("plain[Cancun#0]"), Some(""));
        assert_eq!(
            known.reason(
                "tests/x.py::test_a[fork_Cancun-state_test-multiple_calls_single beneficiary][Prague#12]"
            ),
            Some("gas off by 100")
        );
        assert_eq!(
            known.reason("spaced_name with #hash[Osaka#1]"),
            Some("no space before comment")
        );
        assert!(!known.contains("plain[Cancun#1]"));
    }

    #[test]
    fn rejects_malformed_lines() {
        for bad in [
            "no_brackets",
            "t[Cancun]",
            "t[Cancun#x]",
            "[Cancun#0]",
            "t[Cancun#0] trailing words",
            "t[Can-cun#0]",
        ] {
            let text = format!("ok[Cancun#0]\n{bad}\n");
            let err = KnownFailures::parse(&text, "list", IdForm::Case).unwrap_err();
            assert!(err.to_string().starts_with("list:2:"), "{bad}: {err}");
        }
    }

    #[test]
    fn test_ids_name_a_network_without_an_index() {
        let text =
            "tests/x.py::test_a[fork_Cancun-blockchain_test][CancunToPragueAtTime15k] # why\n";
        let known = KnownFailures::parse(text, "list", IdForm::Test).unwrap();
        assert_eq!(
            known
                .reason("tests/x.py::test_a[fork_Cancun-blockchain_test][CancunToPragueAtTime15k]"),
            Some("why")
        );
        for bad in ["t[Cancun#0]", "t", "[Cancun]", "t[Can-cun]"] {
            let err = KnownFailures::parse(bad, "list", IdForm::Test).unwrap_err();
            assert!(err.to_string().contains("expected `test_name[Network]`"), "{bad}: {err}");
        }
    }
}
