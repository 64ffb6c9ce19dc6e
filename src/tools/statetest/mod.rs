//! The state-test runner: executes execution-spec-tests `state_test` fixtures and reports
//! which cases match their expected post-state root and logs hash.
//!
//! - [`fixture`]: the JSON format as serde types;
//! - [`env`]: fixture → runtime inputs;
//! - [`check`]: judging one executed case;
//! - [`runner`]: a file's tests as a [`crate::tools::suite::Suite`] (the files, threads,
//!   panics, known failures and report are the shared ones of [`crate::tools::suite`]);
//! - [`trace`]: one case with an EIP-3155 trace.

pub mod check;
pub mod env;
pub mod fixture;
pub mod runner;
pub mod trace;

pub use runner::StateTests;
