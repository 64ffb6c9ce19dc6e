//! What every mode must agree on before it is timed: per transaction, the status, gas used,
//! output, logs and the state root after it (which covers every state change).

use alloy_primitives::{hex, Address, Bytes, B256};
use kiln_runtime::{EvmError, ExecutionResult, InMemoryDb};

/// The observable result of one transaction in one mode.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcome {
    /// `success`, `revert`, `halt` or `invalid`.
    pub status: &'static str,
    pub gas_used: u64,
    pub output: Bytes,
    /// `(address, topics, data)` of each log; none for a failed transaction (its receipt has
    /// none).
    pub logs: Vec<(Address, Vec<B256>, Bytes)>,
    /// The state root after the transaction was committed.
    pub state_root: B256,
    /// The halt reason or rejection, for messages only: engines name them differently.
    pub detail: String,
}

/// How an executed transaction ended, whichever engine ran it.
pub enum End {
    Success,
    Revert,
    /// With the engine's name for the reason.
    Halt(String),
}

impl Outcome {
    /// The outcome of a transaction that executed and ended as `end`.
    pub fn executed(
        end: End,
        gas_used: u64,
        output: Bytes,
        logs: Vec<(Address, Vec<B256>, Bytes)>,
        state_root: B256,
    ) -> Self {
        let (status, detail) = match end {
            End::Success => ("success", String::new()),
            End::Revert => ("revert", String::new()),
            End::Halt(reason) => ("halt", reason),
        };
        Outcome { status, gas_used, output, logs, state_root, detail }
    }

    /// Kiln's outcome for one transaction; `post` is the state with it committed.
    pub fn from_kiln(result: &Result<ExecutionResult, EvmError>, post: &InMemoryDb) -> Self {
        let state_root = post.state_root();
        let r = match result {
            Ok(r) => r,
            Err(e) => return Outcome::invalid(e.to_string(), state_root),
        };
        let end = match r {
            ExecutionResult::Success { .. } => End::Success,
            ExecutionResult::Revert { .. } => End::Revert,
            ExecutionResult::Halt { reason, .. } => End::Halt(format!("{reason:?}")),
        };
        let logs = r.logs().iter().map(|l| (l.address, l.topics.clone(), l.data.clone()));
        let output = Bytes::copy_from_slice(r.output());
        Outcome::executed(end, r.gas_used(), output, logs.collect(), state_root)
    }

    pub fn invalid(detail: String, state_root: B256) -> Self {
        Outcome {
            status: "invalid",
            gas_used: 0,
            output: Bytes::new(),
            logs: Vec::new(),
            state_root,
            detail,
        }
    }

    pub fn summary(&self) -> String {
        let mut s =
            format!("{} gas {} output {} bytes", self.status, self.gas_used, self.output.len());
        if !self.logs.is_empty() {
            s += &format!(" logs {}", self.logs.len());
        }
        if !self.detail.is_empty() {
            s += &format!(" ({})", self.detail);
        }
        s
    }
}

/// `None` when `a` and `b` agree; otherwise what differs, naming the two modes.
pub fn disagreement(a_name: &str, a: &Outcome, b_name: &str, b: &Outcome) -> Option<String> {
    let mut diffs = Vec::new();
    if a.status != b.status {
        diffs.push(format!("status {a_name} {} vs {b_name} {}", a.status, b.status));
    }
    if a.gas_used != b.gas_used {
        diffs.push(format!("gas used {a_name} {} vs {b_name} {}", a.gas_used, b.gas_used));
    }
    if a.output != b.output {
        diffs.push(format!(
            "output {a_name} 0x{} vs {b_name} 0x{}",
            short_hex(&a.output),
            short_hex(&b.output)
        ));
    }
    if a.logs != b.logs {
        diffs.push(format!("logs differ ({a_name} {} vs {b_name} {})", a.logs.len(), b.logs.len()));
    }
    if a.state_root != b.state_root {
        diffs.push(format!("state root {a_name} {} vs {b_name} {}", a.state_root, b.state_root));
    }
    if diffs.is_empty() {
        None
    } else {
        Some(format!("{}; {a_name}: {}; {b_name}: {}", diffs.join(", "), a.summary(), b.summary()))
    }
}

/// Every disagreement of each mode's outcomes with the first mode's, one line per
/// transaction; also a fixture whose transactions are all rejected.
pub fn compare_modes(outcomes: &[(&str, Vec<Outcome>)]) -> Vec<String> {
    let Some(((first_name, first), rest)) = outcomes.split_first() else {
        return Vec::new();
    };
    let mut problems = Vec::new();
    for (name, other) in rest {
        if other.len() != first.len() {
            problems.push(format!(
                "{first_name} ran {} transactions, {name} {}",
                first.len(),
                other.len()
            ));
            continue;
        }
        for (i, (a, b)) in first.iter().zip(other).enumerate() {
            if let Some(diff) = disagreement(first_name, a, name, b) {
                problems.push(format!("tx {i}: {diff}"));
            }
        }
    }
    // A rejected transaction among others is part of the workload (a node checks it too);
    // a fixture whose every transaction is rejected measures nothing.
    if let Some(rejected) = first.first().filter(|_| first.iter().all(|o| o.status == "invalid")) {
        problems
            .push(format!("every transaction is rejected, nothing to time: {}", rejected.detail));
    }
    problems
}

fn short_hex(bytes: &[u8]) -> String {
    const MAX: usize = 64;
    let text = hex::encode(&bytes[..bytes.len().min(MAX)]);
    if bytes.len() > MAX {
        format!("{text}… ({} bytes)", bytes.len())
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outcome(gas: u64) -> Outcome {
        Outcome {
            status: "success",
            gas_used: gas,
            output: Bytes::from_static(&[1]),
            logs: Vec::new(),
            state_root: B256::ZERO,
            detail: String::new(),
        }
    }

    #[test]
    fn differences_are_named_per_mode_and_transaction() {
        let same = [("interp", vec![outcome(5)]), ("jit", vec![outcome(5)])];
        assert!(compare_modes(&same).is_empty());

        let differ =
            [("interp", vec![outcome(5)]), ("jit", vec![outcome(5)]), ("revm", vec![outcome(6)])];
        let problems = compare_modes(&differ);
        assert_eq!(problems.len(), 1);
        assert!(problems[0].starts_with("tx 0: gas used interp 5 vs revm 6"), "{problems:?}");

        let mut rejected = outcome(0);
        rejected.status = "invalid";
        let problems = compare_modes(&[("interp", vec![rejected.clone()])]);
        assert!(problems[0].contains("nothing to time"), "{problems:?}");
        assert!(compare_modes(&[("interp", vec![outcome(5), rejected])]).is_empty());
    }
}
