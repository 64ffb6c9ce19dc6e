//! End-to-end tests of the `kiln` binary: exit codes, messages and output shapes.
//!
//! Every fixture here is chosen so that its outcome does not depend on the runtime being
//! correct (malformed files, unknown forks, impossible expected roots).

use std::path::PathBuf;
use std::process::{Command, Output};

fn kiln(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kiln")).args(args).output().expect("run kiln")
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A fresh directory for one test, removed on drop.
/// Runs `kiln` and expects exit 2 with `error: ` on stderr and no panic; returns stderr.
fn usage_error(args: &[&str]) -> String {
    let out = kiln(args);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "kiln {args:?}: {err}");
    assert!(err.contains("error: "), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    err
}

struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("kiln-cli-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }

    fn write(&self, name: &str, text: &str) -> String {
        let path = self.0.join(name);
        std::fs::write(&path, text).unwrap();
        path.to_str().unwrap().to_string()
    }

    fn path(&self) -> &str {
        self.0.to_str().unwrap()
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A one-test fixture (`test_x`, a value transfer) with the given `post` object.
fn fixture(post: &str) -> String {
    include_str!("data/statetest_one.json").replace(r#""post": {}"#, &format!(r#""post": {post}"#))
}

/// A case expecting an all-zero state root, which no execution can produce.
const IMPOSSIBLE_CASE: &str = r#"{"hash": "0x0000000000000000000000000000000000000000000000000000000000000000",
    "logs": "0x0000000000000000000000000000000000000000000000000000000000000000",
    "txbytes": "0x", "indexes": {"data": 0, "gas": 0, "value": 0}, "state": {}}"#;

#[test]
fn disasm_hex_argument() {
    let out = kiln(&["disasm", "6001600201"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), "0000: PUSH1 0x01\n0002: PUSH1 0x02\n0004: ADD\n");
}

#[test]
fn disasm_file_argument() {
    let dir = TempDir::new("disasm-file");
    let file = dir.write("code.hex", "0x7f1234\n");
    let out = kiln(&["disasm", &file]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), "0000: PUSH32 0x1234 (truncated, 2 of 32 bytes)\n");
}

#[test]
fn disasm_malformed_hex() {
    let err = usage_error(&["disasm", "0x60zz"]);
    assert!(err.starts_with("error: "), "{err}");
    assert!(err.contains("invalid hex character 'z' at position 4"), "{err}");

    assert!(usage_error(&["disasm", "600"]).contains("odd number of hex digits"));
}

#[test]
fn disasm_missing_file() {
    assert!(usage_error(&["disasm", "does/not/exist.hex"])
        .contains("neither an existing file nor valid hex"));
}

#[test]
fn statetest_unknown_fork_is_a_usage_error() {
    let dir = TempDir::new("unknown-fork");
    let err = usage_error(&["statetest", "--fork", "Amsterdamm", dir.path()]);
    assert!(err.contains("error:"), "{err}");
    assert!(err.contains("unknown fork `Amsterdamm`"), "{err}");
}

#[test]
fn statetest_tier_flags_need_tiered_mode() {
    let dir = TempDir::new("mode");
    assert!(usage_error(&["statetest", "--tier-threshold", "1", dir.path()])
        .contains("error: the --tier-* flags and --stats need --mode tiered"));
}

#[test]
fn statetest_missing_path_is_a_usage_error() {
    let err = usage_error(&["statetest", "/definitely/not/here.json"]);
    assert!(err.contains("error: /definitely/not/here.json: no such file"), "{err}");
}

#[test]
fn statetest_malformed_fixture_is_one_failure() {
    let dir = TempDir::new("malformed");
    dir.write("broken.json", "{\"t\": {\"env\": ");
    dir.write("ignored.txt", "not a fixture");
    let out = kiln(&["statetest", "--json", dir.path()]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let text = stdout(&out);
    assert_eq!(text.lines().count(), 1, "exactly one JSON object: {text}");
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["passed"], 0);
    assert_eq!(v["failed"], 1);
    assert_eq!(v["known"], 0);
    assert!(v.get("skipped").is_none(), "every fork runs: nothing is skipped");
    assert!(v["by_fork"].as_object().unwrap().is_empty());
    let failures = v["failures"].as_array().unwrap();
    assert_eq!(failures.len(), 1);
    let f = &failures[0];
    assert!(f["file"].as_str().unwrap().ends_with("broken.json"));
    assert_eq!(f["test"], "-");
    assert!(f["fork"].is_null());
    assert!(f["index"].is_null());
    assert!(f["reason"].as_str().unwrap().starts_with("invalid fixture"));
}

#[test]
fn statetest_text_output_ends_with_totals() {
    let dir = TempDir::new("text");
    dir.write(
        "f.json",
        &fixture(&format!(r#"{{"Shanghai": [{IMPOSSIBLE_CASE}], "Cancun": [{IMPOSSIBLE_CASE}]}}"#)),
    );
    let out = kiln(&["statetest", dir.path()]);
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    let lines: Vec<_> = text.lines().collect();
    assert!(
        lines[0].starts_with("FAIL ") && lines[0].contains(":: test_x [Cancun #0 d0 g0 v0] "),
        "{text}"
    );
    assert!(lines[1].contains(":: test_x [Shanghai #0 d0 g0 v0] "), "{text}");
    assert_eq!(lines[2], "Shanghai: 0 passed, 1 failed");
    assert_eq!(lines[3], "Cancun: 0 passed, 1 failed");
    assert_eq!(*lines.last().unwrap(), "0 passed, 2 failed");
}

#[test]
fn statetest_filter_and_fork_restrict() {
    let dir = TempDir::new("filter");
    dir.write("f.json", &fixture(&format!(r#"{{"Cancun": [{IMPOSSIBLE_CASE}]}}"#)));
    // Nothing matched: a filter typo, a fork the files do not hold, an empty folder.
    let out = kiln(&["statetest", "--filter", "no_such_test", dir.path()]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(stdout(&out).lines().last(), Some("0 passed, 0 failed"));
    assert!(stderr(&out).contains("error: no test case matched"), "{}", stderr(&out));

    let err = usage_error(&["statetest", "--fork", "Prague", dir.path()]);
    assert!(err.contains("error: no test case matched"), "{err}");

    let empty = TempDir::new("empty");
    let err = usage_error(&["statetest", empty.path()]);
    assert!(err.contains("error: no test case matched"), "{err}");

    let out = kiln(&["statetest", "--fork", "cancun", "--filter", "test_x", dir.path()]);
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn statetest_known_failures() {
    let dir = TempDir::new("known");
    let file = dir.write(
        "f.json",
        &fixture(&format!(r#"{{"Cancun": [{IMPOSSIBLE_CASE}, {IMPOSSIBLE_CASE}]}}"#)),
    );
    let list = dir.write(
        "known.txt",
        "# expected failures\ntest_x[Cancun#0]  # impossible root\ntest_x[Cancun#1]\n",
    );
    let out = kiln(&["statetest", "--json", "--known-failures", &list, &file]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    let v: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!((v["failed"].as_u64(), v["known"].as_u64()), (Some(0), Some(2)));

    let text = kiln(&["statetest", "--known-failures", &list, &file]);
    assert_eq!(stdout(&text).lines().last(), Some("0 passed, 0 failed"));

    let bad = dir.write("bad.txt", "test_x\n");
    let err = usage_error(&["statetest", "--known-failures", &bad, &file]);
    assert!(err.contains("bad.txt:1:"), "{err}");
}

/// The factorial contract fixture shipped with `kiln bench`'s embedded set.
const FACTORIAL: &str = include_str!("../benches/fixtures/factorial.json");

#[test]
fn bench_json_reports_every_mode_agreeing() {
    let dir = TempDir::new("bench-json");
    let file = dir.write("factorial.json", FACTORIAL);
    let out = kiln(&["bench", "--json", "--time", "0.02", &file]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("one JSON object");
    // The default fork is the same in every subcommand.
    assert_eq!(v["fork"], "Osaka");
    let fixtures = v["fixtures"].as_array().unwrap();
    assert_eq!(fixtures.len(), 1);
    let f = &fixtures[0];
    assert_eq!(f["name"], "factorial");
    assert_eq!(f["agree"], true);
    for mode in ["interp", "jit", "aot", "revm"] {
        let m = &f["modes"][mode];
        let median = m["median_ns"].as_u64().unwrap_or_else(|| panic!("{mode}: {m}"));
        assert!(m["min_ns"].as_u64().unwrap() <= median, "{mode}: {m}");
        assert!(median <= m["max_ns"].as_u64().unwrap(), "{mode}: {m}");
        assert!(m["runs"].as_u64().unwrap() >= 5, "{mode}: {m}");
    }
    for mode in ["jit", "aot"] {
        assert!(f["modes"][mode]["compile_ns"].as_u64().unwrap() > 0, "{mode}");
        assert!(f["modes"][mode]["code_bytes"].as_u64().unwrap() > 0, "{mode}");
    }
    assert_eq!(f["modes"]["interp"]["speedup_vs_interp"], 1.0);
    assert_eq!(f["native"]["loop"], "factorial");
    assert_eq!(v["errors"].as_array().unwrap().len(), 0);
}

#[test]
fn bench_reports_a_bad_fixture_by_name_and_runs_the_others() {
    let dir = TempDir::new("bench-bad");
    dir.write("factorial.json", FACTORIAL);
    dir.write("broken.json", "{\"t\": ");
    let out = kiln(&["bench", "--modes", "interp,jit", "--time", "0.01", dir.path()]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("broken.json: invalid fixture JSON"), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("| factorial "), "{text}");
    assert!(text.contains("FAILED") && text.contains("broken.json"), "{text}");
    // Only the modes asked for are run.
    assert!(!text.lines().any(|l| l.contains("| revm ")), "{text}");
}

#[test]
fn bench_plot_draws_each_mode_of_each_fixture() {
    let dir = TempDir::new("bench-plot");
    let file = dir.write("factorial.json", FACTORIAL);
    let svg = format!("{}/speedups.svg", dir.path());
    let out =
        kiln(&["bench", "--modes", "interp,jit,aot", "--time", "0.01", "--plot", &svg, &file]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = std::fs::read_to_string(&svg).expect("the chart is written");
    assert!(text.starts_with("<svg"), "{text}");
    assert!(text.contains("Speedup over interp"), "{text}");
    for label in ["factorial", "jit", "aot"] {
        assert!(text.contains(&format!("\n{label}\n")), "{label} missing: {text}");
    }
    let err = usage_error(&["bench", "--modes", "interp", "--plot", &svg]);
    assert!(err.contains("--plot draws speedups, which need at least two modes"), "{err}");
}

#[test]
fn bench_refuses_unknown_modes() {
    let err = usage_error(&["bench", "--modes", "interp,fast"]);
    assert!(err.contains("unknown mode \"fast\""), "{err}");
    usage_error(&["bench", "--time", "-1"]);
}

#[test]
fn bench_missing_path_is_a_usage_error() {
    let out = kiln(&["bench", "--time", "0.01", "/definitely/not/here.json"]);
    assert_eq!(out.status.code(), Some(2), "{}", stdout(&out));
    let err = stderr(&out);
    assert_eq!(err.trim(), "error: /definitely/not/here.json: no such file or directory");
    assert!(stdout(&out).is_empty(), "{}", stdout(&out));
}

#[test]
fn compile_counts_each_contract_once() {
    let dir = TempDir::new("compile-count");
    // PUSH1 1 PUSH1 2 ADD STOP (6 bytes), given twice, and PUSH0 STOP (2 bytes).
    let a = dir.write("a.hex", "6001600201 00");
    let again = dir.write("again.hex", "600160020100");
    let b = dir.write("b.hex", "5f00");
    let lib = format!("{}/lib.so", dir.path());
    let out = kiln(&["compile", &a, &again, &b, "-o", &lib]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.starts_with("compiled 2 contracts (8 bytes of code) for Osaka"), "{text}");
    let out = kiln(&["compile", &b, "-o", &lib]);
    assert!(stdout(&out).starts_with("compiled 1 contract (2 bytes of code)"), "{}", stdout(&out));
}

#[test]
fn statetest_run_selects_test_names_by_regex() {
    let dir = TempDir::new("run-regex");
    dir.write("f.json", &fixture(&format!(r#"{{"Cancun": [{IMPOSSIBLE_CASE}]}}"#)));
    // The test is test_x: a regex that matches it runs it (and it fails), one that does not
    // runs nothing.
    let out = kiln(&["statetest", "--run", "^test_[xy]$", dir.path()]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_eq!(stdout(&out).lines().last(), Some("0 passed, 1 failed"));
    let err = usage_error(&["statetest", "--run", "^test_y$", dir.path()]);
    assert!(err.contains("no test case matched"), "{err}");
    let err = usage_error(&["statetest", "--run", "(", dir.path()]);
    assert!(err.contains("regex parse error"), "{err}");
}

#[test]
fn statetest_without_a_terminal_logs_progress() {
    let dir = TempDir::new("progress");
    dir.write("a.json", &fixture(&format!(r#"{{"Cancun": [{IMPOSSIBLE_CASE}]}}"#)));
    dir.write("b.json", &fixture(&format!(r#"{{"Cancun": [{IMPOSSIBLE_CASE}]}}"#)));
    let out = Command::new(env!("CARGO_BIN_EXE_kiln"))
        .args(["statetest", "-j", "1", dir.path()])
        .env("KILN_PROGRESS_EVERY", "0")
        .output()
        .expect("run kiln");
    let err = stderr(&out);
    assert!(err.contains("progress: 1/2 files, 1 cases run, 1 failed, "), "{err}");
    assert!(err.contains("progress: 2/2 files, 2 cases run, 2 failed, "), "{err}");
}

#[test]
fn statetest_json_cases_lists_every_case_in_geths_shape() {
    let dir = TempDir::new("json-cases");
    dir.write(
        "f.json",
        &fixture(&format!(r#"{{"Cancun": [{IMPOSSIBLE_CASE}, {IMPOSSIBLE_CASE}]}}"#)),
    );
    let out = kiln(&["statetest", "--json-cases", dir.path()]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let cases: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("one JSON array");
    let cases = cases.as_array().expect("an array");
    assert_eq!(cases.len(), 2);
    for (i, c) in cases.iter().enumerate() {
        assert_eq!(c["name"], "test_x");
        assert_eq!(c["fork"], "Cancun");
        assert_eq!(c["index"], i);
        assert_eq!(c["pass"], false);
        // The root the run produced, which is not the all-zero one the case expects.
        let root = c["stateRoot"].as_str().unwrap();
        assert!(
            root.starts_with("0x") && root.len() == 66 && root != format!("0x{}", "0".repeat(64))
        );
        assert!(c["error"].as_str().unwrap().starts_with("state root mismatch: got"), "{c}");
    }
    assert_eq!(kiln(&["statetest", "--json", "--json-cases", dir.path()]).status.code(), Some(2));
}

#[test]
fn bench_help_names_every_mode() {
    let out = kiln(&["bench", "--help"]);
    let help = stdout(&out);
    let line = help.lines().find(|l| l.contains("--modes")).expect("--modes in the help");
    for mode in ["interp", "jit", "aot", "tiered", "revm"] {
        assert!(line.contains(mode), "{line}");
    }
}

/// `fixture`, with code at the transaction's target and gas to run it.
fn fixture_with_code(post: &str, code: &str) -> String {
    fixture(post).replace(r#"["0x5208"]"#, r#"["0x0186a0"]"#).replace(
        r#""pre": {"#,
        &format!(
            r#""pre": {{"0x1ad41edb9130201ba8476168bcbf9bafe279f89d":
                {{"nonce": "0x01", "balance": "0x00", "code": "{code}", "storage": {{}}}},"#
        ),
    )
}

#[test]
fn statetest_trace_traces_one_selected_case_to_stderr() {
    let dir = TempDir::new("trace");
    // PUSH1 1, PUSH1 1, ADD, then the implicit STOP.
    let file = dir.write(
        "f.json",
        &fixture_with_code(
            &format!(r#"{{"Cancun": [{IMPOSSIBLE_CASE}, {IMPOSSIBLE_CASE}]}}"#),
            "0x6001600101",
        ),
    );
    // Two cases match: a trace covers one, and the refusal says which matched.
    let err = usage_error(&["statetest", "--trace", &file]);
    assert!(err.contains("--trace traces one case and 2 match"), "{err}");
    assert!(err.contains("test_x[Cancun#0], test_x[Cancun#1]"), "{err}");
    assert!(err.contains("--index N"), "{err}");

    let out = kiln(&["statetest", "--trace", "--index", "1", &file]);
    // The case expects an impossible root: it fails, and says so on stdout as usual.
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.starts_with("traced test_x[Cancun#1] in the interpreter (trace on stderr)\n"),
        "{text}"
    );
    assert_eq!(text.lines().last(), Some("0 passed, 1 failed"), "{text}");
    let err = stderr(&out);
    let lines: Vec<serde_json::Value> = err
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    let names: Vec<&str> = lines[..4].iter().map(|l| l["opName"].as_str().unwrap()).collect();
    assert_eq!(names, ["PUSH1", "PUSH1", "ADD", "STOP"], "{err}");
    assert_eq!(lines[2]["gasCost"], "0x3");
    let summary = &lines[4];
    assert_eq!(lines.len(), 5, "{err}");
    assert_eq!(summary["fork"], "Cancun");
    assert_eq!(summary["pass"], true);
    // 21000 + 9 for the code.
    assert_eq!(summary["gasUsed"], "0x5211");
    let root = summary["stateRoot"].as_str().unwrap();
    assert!(root.len() == 66 && root != format!("0x{}", "0".repeat(64)), "{root}");

    // A compiled mode is not traced: the case runs in the interpreter, and a warning says so.
    let out = kiln(&["statetest", "--trace", "--index", "0", "--mode", "jit", &file]);
    if out.status.code() != Some(2) {
        let err = stderr(&out);
        assert!(
            err.starts_with("warning: --trace runs test_x[Cancun#0] in the interpreter"),
            "{err}"
        );
        assert_eq!(err.lines().count(), 1 + 5, "{err}");
    }

    // --json says which case was traced.
    let out = kiln(&["statetest", "--trace", "--index", "0", "--json", &file]);
    let v: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(v["traced"]["case"], "test_x[Cancun#0]");
    assert_eq!(v["traced"]["mode"], "interp");

    let err = usage_error(&["statetest", "--trace", "--run", "nothing", &file]);
    assert!(err.contains("no test case matched"), "{err}");
}

/// One blockchain test from execution-spec-tests v5.4.0
/// (`cancun/eip7516_blobgasfee/test_blobbasefee_before_fork.json`): a
/// `ShanghaiToCancunAtTime15k` chain of one valid block with one transaction.
const BLOCKTEST: &str = include_str!("data/blocktest_one.json");
const BLOCKTEST_NETWORK: &str = "ShanghaiToCancunAtTime15k";

/// A change to a fixture's one test.
type Corruption = fn(&mut serde_json::Value);

/// `BLOCKTEST` with `change` applied to its one test; the test's name.
fn blocktest_with(change: impl FnOnce(&mut serde_json::Value)) -> (String, String) {
    let mut file: serde_json::Value = serde_json::from_str(BLOCKTEST).unwrap();
    let (name, test) = file.as_object_mut().unwrap().iter_mut().next().unwrap();
    let name = name.clone();
    change(test);
    (serde_json::to_string(&file).unwrap(), name)
}

/// A fresh directory holding `BLOCKTEST` as `t.json`, and that file's path.
fn blocktest_dir(name: &str) -> (TempDir, String) {
    let dir = TempDir::new(name);
    let file = dir.write("t.json", BLOCKTEST);
    (dir, file)
}

#[test]
fn blocktest_passes_and_reports_per_network() {
    let (_dir, file) = blocktest_dir("blocktest-pass");
    for mode in ["interp", "aot"] {
        let out = kiln(&["blocktest", "--mode", mode, &file]);
        assert_eq!(out.status.code(), Some(0), "{mode}: {}{}", stdout(&out), stderr(&out));
        let text = stdout(&out);
        let lines: Vec<_> = text.lines().collect();
        assert_eq!(
            lines,
            [&format!("{BLOCKTEST_NETWORK}: 1 passed, 0 failed"), "1 passed, 0 failed"]
        );
    }
    let out = kiln(&["blocktest", "--json", &file]);
    let v: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("one JSON object");
    assert_eq!((v["passed"].as_u64(), v["failed"].as_u64()), (Some(1), Some(0)));
    assert_eq!(v["by_fork"][BLOCKTEST_NETWORK]["passed"], 1);
}

#[test]
fn blocktest_corrupted_fixture_is_a_failure_line() {
    let dir = TempDir::new("blocktest-corrupt");
    let corruptions: [(&str, Corruption); 2] = [
        ("balance", |t| {
            let post = t["postState"].as_object_mut().unwrap();
            let account = post.values_mut().next().unwrap();
            account["balance"] = "0x0123456789".into();
        }),
        ("lastblockhash", |t| {
            t["lastblockhash"] = format!("0x{}", "11".repeat(32)).into();
        }),
    ];
    for (what, corrupt) in corruptions {
        let (text, name) = blocktest_with(corrupt);
        let file = dir.write(&format!("{what}.json"), &text);
        for mode in ["interp", "aot"] {
            let out = kiln(&["blocktest", "--mode", mode, &file]);
            assert_eq!(out.status.code(), Some(1), "{what} {mode}: {}", stderr(&out));
            let text = stdout(&out);
            let first = text.lines().next().unwrap();
            assert!(
                first.starts_with(&format!("FAIL {file} :: {name} [{BLOCKTEST_NETWORK}] ")),
                "{what} {mode}: {text}"
            );
            assert!(first.contains(what), "{what} {mode}: {first}");
            assert_eq!(text.lines().last(), Some("0 passed, 1 failed"), "{text}");
        }
    }
}

#[test]
fn blocktest_malformed_fixture_is_one_failure_not_a_panic() {
    let dir = TempDir::new("blocktest-malformed");
    let file = dir.write("broken.json", &BLOCKTEST[..BLOCKTEST.len() / 2]);
    let (wrong_type, _) = blocktest_with(|t| t["blocks"] = "none".into());
    dir.write("wrong.json", &wrong_type);
    let out = kiln(&["blocktest", dir.path()]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(!err.contains("panic"), "{err}");
    let text = stdout(&out);
    let lines: Vec<_> = text.lines().collect();
    assert!(lines[0].starts_with(&format!("FAIL {file} :: - invalid fixture: ")), "{text}");
    assert!(lines[0].contains(" at line "), "{text}");
    assert!(lines[1].contains("wrong.json :: - invalid fixture: invalid type"), "{text}");
    assert_eq!(lines.last(), Some(&"0 passed, 2 failed"), "{text}");
}

#[test]
fn blocktest_selection_by_fork_and_filter() {
    let (_dir, file) = blocktest_dir("blocktest-select");
    // A transition network belongs to both its forks.
    for fork in ["Shanghai", "cancun"] {
        let out = kiln(&["blocktest", "--fork", fork, &file]);
        assert_eq!(stdout(&out).lines().last(), Some("1 passed, 0 failed"), "{fork}");
    }
    // Nothing selected: an error, not a pass.
    for args in [["--fork", "Prague"], ["--filter", "no_such_test"], ["--run", "^nothing$"]] {
        let out = kiln(&["blocktest", args[0], args[1], &file]);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert_eq!(stdout(&out).lines().last(), Some("0 passed, 0 failed"), "{args:?}");
        assert!(stderr(&out).contains("error: no test case matched: nothing ran"), "{args:?}");
    }
    let empty = TempDir::new("blocktest-empty");
    assert!(usage_error(&["blocktest", empty.path()]).contains("no test case matched"));
    // An unknown fork is refused before anything runs.
    let err = usage_error(&["blocktest", "--fork", "Amsterdamm", &file]);
    assert!(err.contains("unknown fork `Amsterdamm`"), "{err}");
    assert!(usage_error(&["blocktest", "/definitely/not/here.json"]).contains("no such file"));
}

#[test]
fn blocktest_known_failures() {
    let dir = TempDir::new("blocktest-known");
    let (corrupt, name) =
        blocktest_with(|t| t["lastblockhash"] = format!("0x{}", "11".repeat(32)).into());
    let bad = dir.write("bad.json", &corrupt);
    let good = dir.write("good.json", BLOCKTEST);
    let list = dir.write("known.txt", &format!("{name}[{BLOCKTEST_NETWORK}]  # corrupted\n"));
    let out = kiln(&["blocktest", "--known-failures", &list, &bad]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    let text = stdout(&out);
    assert!(text.contains("1 known failures (not counted as failed)"), "{text}");
    // A listed test that passes fails the run, so the list only shrinks.
    let out = kiln(&["blocktest", "--json", "--known-failures", &list, &good]);
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    let failure = &v["failures"][0];
    assert_eq!(failure["id"], format!("{name}[{BLOCKTEST_NETWORK}]"));
    assert!(failure["reason"].as_str().unwrap().starts_with("fixed (remove from list)"));
    // State-test IDs are not blockchain-test IDs.
    let wrong = dir.write("wrong.txt", &format!("{name}[{BLOCKTEST_NETWORK}#0]\n"));
    let err = usage_error(&["blocktest", "--known-failures", &wrong, &good]);
    assert!(err.contains("wrong.txt:1: expected `test_name[Network]`"), "{err}");
}
