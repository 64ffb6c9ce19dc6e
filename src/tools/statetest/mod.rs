//! The state-test runner: executes execution-spec-tests `state_test` fixtures and reports
//! which cases match their expected post-state root and logs hash.
//!
//! - [`fixture`]: the JSON format as serde types;
//! - [`env`]: fixture → runtime inputs;
//! - [`check`]: judging one executed case;
//! - [`known`]: the known-failures list;
//! - [`runner`]: files, threads, panics;
//! - [`report`]: counts and output;
//! - [`trace`]: one case with an EIP-3155 trace.

pub mod check;
pub mod env;
pub mod fixture;
pub mod known;
pub mod report;
pub mod runner;
pub mod trace;

pub use known::KnownFailures;

/// The post cases in a state-test file's text, counted without parsing it (for a progress
/// bar): each case has one `indexes` object, and nothing else of the format is so named.
pub fn post_cases(text: &str) -> u64 {
    text.matches("\"indexes\"").count() as u64
}
pub use runner::{collect_files, install_panic_capture, run, CollectError, RunOptions};
