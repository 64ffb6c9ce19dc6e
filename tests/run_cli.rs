//! End-to-end tests of `kiln run`. Every expected gas figure is derived by hand from the EVM
//! rules (opcode costs, memory expansion, EIP-2929 access costs), not taken from Kiln's output.

use std::path::PathBuf;
use std::process::{Command, Output};

fn kiln(args: &[&str]) -> Output {
    let mut all = vec!["run"];
    all.extend_from_slice(args);
    Command::new(env!("CARGO_BIN_EXE_kiln")).args(&all).output().expect("run kiln")
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Runs and expects exit 0; returns stdout.
fn ok(args: &[&str]) -> String {
    let out = kiln(args);
    assert_eq!(out.status.code(), Some(0), "kiln run {args:?}: {}", stderr(&out));
    stdout(&out)
}

/// Runs and expects exit 2 with `error: ` on stderr; returns stderr.
fn usage_error(args: &[&str]) -> String {
    let out = kiln(args);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "kiln run {args:?}: {err}");
    assert!(err.starts_with("error: "), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    err
}

fn json(args: &[&str]) -> serde_json::Value {
    let mut all = args.to_vec();
    all.push("--json");
    let text = ok(&all);
    assert_eq!(text.lines().count(), 1, "{text}");
    serde_json::from_str(&text).expect("one JSON object")
}

/// The value of the `key: value` line of a text summary.
fn field<'a>(text: &'a str, key: &str) -> &'a str {
    let prefix = format!("{key}: ");
    text.lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .unwrap_or_else(|| panic!("no `{key}` line in {text}"))
}

fn word_hex(v: u64) -> String {
    format!("0x{v:064x}")
}

/// PUSH1 1, PUSH1 2, ADD, PUSH1 0, MSTORE, PUSH1 32, PUSH1 0, RETURN.
const ADD_RETURN: &str = "6001600201600052 60206000f3";
/// Six PUSH1/ADD at 3 each, MSTORE 3 plus one word of memory (3 * 1 + 1 / 512 = 3),
/// RETURN 0 with the memory already paid for.
const ADD_RETURN_GAS: u64 = 6 * 3 + 3 + 3;

#[test]
fn add_and_return_text() {
    let text = ok(&[ADD_RETURN]);
    assert_eq!(field(&text, "status"), "success");
    assert_eq!(field(&text, "gas used"), (21_000 + ADD_RETURN_GAS).to_string());
    assert_eq!(field(&text, "gas used"), "21024");
    assert_eq!(field(&text, "execution gas"), "24");
    assert_eq!(field(&text, "output"), word_hex(3));
    assert_eq!(field(&text, "logs"), "0");
    let root = field(&text, "state root");
    assert!(root.starts_with("0x") && root.len() == 66, "{root}");
}

#[test]
fn add_and_return_json() {
    let v = json(&[ADD_RETURN]);
    assert_eq!(v["status"], "success");
    assert!(v["halt_reason"].is_null());
    assert_eq!(v["gas_used"], 21_024);
    assert_eq!(v["output"], word_hex(3));
    assert_eq!(v["logs"], serde_json::json!([]));
    assert_eq!(v["state_root"].as_str().unwrap().len(), 66);
    // The same run under every supported fork gives the same result.
    for fork in ["Cancun", "prague", "OSAKA"] {
        let w = json(&[ADD_RETURN, "--fork", fork]);
        assert_eq!(w["gas_used"], 21_024, "{fork}");
        assert_eq!(w["output"], word_hex(3), "{fork}");
    }
}

#[test]
fn code_from_a_file_with_whitespace() {
    let dir = std::env::temp_dir().join(format!("kiln-run-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path: PathBuf = dir.join("code.hex");
    std::fs::write(&path, "0x6001 6002 01\n  600052\n\t60206000\nf3\n").unwrap();
    let v = json(&[path.to_str().unwrap()]);
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(v["gas_used"], 21_024);
    assert_eq!(v["output"], word_hex(3));
}

#[test]
fn revert_is_a_result() {
    // As ADD_RETURN but REVERT: same gas, output kept, exit 0.
    let text = ok(&["6001600201600052 60206000fd"]);
    assert_eq!(field(&text, "status"), "revert");
    assert_eq!(field(&text, "gas used"), "21024");
    assert_eq!(field(&text, "output"), word_hex(3));
    let v = json(&["6001600201600052 60206000fd"]);
    assert_eq!(v["status"], "revert");
    assert!(v["halt_reason"].is_null());
}

#[test]
fn invalid_opcode_consumes_all_gas() {
    let text = ok(&["fe", "--gas", "100000"]);
    assert_eq!(field(&text, "status"), "halt (InvalidOpcode)");
    assert_eq!(field(&text, "gas used"), "100000");
    assert_eq!(field(&text, "output"), "0x");

    // The default gas under Osaka is the EIP-7825 cap, 2^24; before Osaka it is 10,000,000.
    let v = json(&["0xfe"]);
    assert_eq!(v["status"], "halt");
    assert_eq!(v["halt_reason"], "InvalidOpcode");
    assert_eq!(v["gas_used"], 16_777_216);
    let v = json(&["0xfe", "--fork", "Prague"]);
    assert_eq!(v["gas_used"], 10_000_000);
    // Hex gas.
    let v = json(&["0xfe", "--gas", "0x10000"]);
    assert_eq!(v["gas_used"], 0x10000);
}

#[test]
fn stack_underflow_halts() {
    // ADD on an empty stack.
    let v = json(&["01", "--gas", "50000"]);
    assert_eq!(v["status"], "halt");
    assert_eq!(v["halt_reason"], "StackUnderflow");
    assert_eq!(v["gas_used"], 50_000);
}

#[test]
fn sstore_cold_slot() {
    // PUSH1 1, PUSH1 0, SSTORE to a cold zero slot: 20000 (set) + 2100 (cold) = 22100.
    let v = json(&["6001600055"]);
    assert_eq!(v["status"], "success");
    assert_eq!(v["gas_used"], 21_000 + 3 + 3 + 22_100);
    // The write changes the state root.
    let empty = json(&["00"]);
    assert_ne!(v["state_root"], empty["state_root"]);
}

#[test]
fn log1_topic_and_data() {
    // PUSH1 0xaa, PUSH1 0, MSTORE8 (3 + 3 memory); PUSH1 0x42 (topic), PUSH1 1 (size),
    // PUSH1 0 (offset), LOG1: 375 + 375 per topic + 8 per data byte.
    let code = "60aa600053 604260016000a1";
    let v = json(&[code]);
    assert_eq!(v["gas_used"], 21_000 + 3 + 3 + 6 + 3 + 3 + 3 + 375 + 375 + 8);
    assert_eq!(
        v["logs"],
        serde_json::json!([{
            "address": "0x1000000000000000000000000000000000000000",
            "topics": [word_hex(0x42)],
            "data": "0xaa",
        }])
    );
    let text = ok(&[code]);
    assert_eq!(field(&text, "logs"), "1");
    assert_eq!(
        field(&text, "log 0"),
        format!(
            "address 0x1000000000000000000000000000000000000000 topics [{}] data 0xaa",
            word_hex(0x42)
        )
    );
}

#[test]
fn calldata_and_value() {
    // PUSH1 0, CALLDATALOAD, PUSH1 0, MSTORE, PUSH1 32, PUSH1 0, RETURN: 3+3+3+6+3+3 = 21.
    // Under Cancun the gas is 21000 + 16 * 2 non-zero bytes + 21.
    let v = json(&["600035600052 60206000f3", "--calldata", "0xbeef", "--fork", "Cancun"]);
    assert_eq!(v["output"], format!("0xbeef{}", "0".repeat(60)));
    assert_eq!(v["gas_used"], 21_000 + 32 + 21);
    // Under Osaka the EIP-7623 floor applies: 21000 + 10 * (4 tokens per non-zero byte) * 2.
    let v = json(&["600035600052 60206000f3", "--calldata", "0xbeef"]);
    assert_eq!(v["gas_used"], 21_000 + 80);

    // CALLVALUE, PUSH1 0, MSTORE, PUSH1 32, PUSH1 0, RETURN.
    let v = json(&["34600052 60206000f3", "--value", "1000000"]);
    assert_eq!(v["output"], word_hex(1_000_000));
    let v = json(&["34600052 60206000f3", "--value", "0xff"]);
    assert_eq!(v["output"], word_hex(255));
}

/// The trace lines and the summary line of a `--trace` run's stderr.
fn trace_of(out: &Output) -> (Vec<serde_json::Value>, serde_json::Value) {
    let text = stderr(out);
    let mut lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}\n{text}")))
        .collect();
    let summary = lines.pop().unwrap_or_else(|| panic!("no summary line: {text}"));
    (lines, summary)
}

#[test]
fn trace_has_one_line_per_instruction() {
    let out = kiln(&[ADD_RETURN, "--trace", "--gas", "100000"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let (trace, summary) = trace_of(&out);
    // PUSH1 PUSH1 ADD PUSH1 MSTORE PUSH1 PUSH1 RETURN.
    assert_eq!(trace.len(), 8, "{}", stderr(&out));
    let pcs: Vec<u64> = trace.iter().map(|t| t["pc"].as_u64().unwrap()).collect();
    assert_eq!(pcs, [0, 2, 4, 5, 7, 8, 10, 12]);
    let ops: Vec<u64> = trace.iter().map(|t| t["op"].as_u64().unwrap()).collect();
    assert_eq!(ops, [0x60, 0x60, 0x01, 0x60, 0x52, 0x60, 0x60, 0xf3]);
    let names: Vec<&str> = trace.iter().map(|t| t["opName"].as_str().unwrap()).collect();
    assert_eq!(names, ["PUSH1", "PUSH1", "ADD", "PUSH1", "MSTORE", "PUSH1", "PUSH1", "RETURN"]);
    // Gas left before each instruction: 100000 - 21000 = 79000, less what ran before; each
    // costs what the next one saw go: MSTORE 3 + 3 for its first word of memory.
    let spent_before = [0u64, 3, 6, 9, 12, 18, 21, 24];
    let costs = [3u64, 3, 3, 3, 6, 3, 3, 0];
    for ((t, spent), cost) in trace.iter().zip(spent_before).zip(costs) {
        assert_eq!(t["gas"], format!("{:#x}", 79_000 - spent), "{t}");
        assert_eq!(t["gasCost"], format!("{cost:#x}"), "{t}");
        assert_eq!(t["depth"], 1, "{t}");
        assert_eq!(t["returnData"], "0x", "{t}");
        assert_eq!(t["refund"], "0x0", "{t}");
        assert!(t.get("error").is_none(), "{t}");
    }
    assert_eq!(trace[5]["memSize"], 32);
    assert_eq!(trace[4]["stack"], serde_json::json!(["0x3", "0x0"]));
    // The EIP's summary line ends the trace, on stderr too.
    assert_eq!(summary["gasUsed"], "0x5220", "{summary}");
    assert_eq!(summary["pass"], true);
    assert_eq!(summary["fork"], "Osaka");
    assert_eq!(summary["output"], word_hex(3));
    assert!(summary["time"].is_u64(), "{summary}");
    // The result stays on stdout, alone.
    let text = stdout(&out);
    assert_eq!(field(&text, "status"), "success");
    assert_eq!(field(&text, "gas used"), "21024");
    assert_eq!(summary["stateRoot"], field(&text, "state root"));
    assert!(!text.contains('{'), "{text}");

    // With --json the JSON result is stdout's only line.
    let out = kiln(&[ADD_RETURN, "--trace", "--json"]);
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["gas_used"], 21_024);
    let (trace, summary) = trace_of(&out);
    assert_eq!(trace.len(), 8);
    assert_eq!(summary["gasUsed"], "0x5220");
}

/// The example of EIP-3155 itself, under Cancun: each line's gasCost is what the instruction
/// took, dynamic parts included (a cold SSTORE, MSTORE8's memory, the precompile call's gas).
#[test]
fn trace_gas_costs_of_the_eip_example() {
    let out =
        kiln(&["604080536040604055604060006040600060025afa6040f3", "--trace", "--fork", "Cancun"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let (trace, summary) = trace_of(&out);
    let cost = |name: &str| -> String {
        let line = trace.iter().find(|t| t["opName"] == name).unwrap_or_else(|| panic!("{name}"));
        line["gasCost"].as_str().unwrap().to_string()
    };
    // 3 + 3 words of memory for 0x40..0x41 (3 * 3 + 9 / 512).
    assert_eq!(cost("MSTORE8"), "0xc");
    // 20000 set + 2100 cold.
    assert_eq!(cost("SSTORE"), "0x5654");
    // STATICCALL: 100 warm (precompiles are warm) plus all but a 64th of what is left, handed
    // to the SHA-256 precompile.
    let call = trace.iter().find(|t| t["opName"] == "STATICCALL").unwrap();
    let gas =
        u64::from_str_radix(call["gas"].as_str().unwrap().trim_start_matches("0x"), 16).unwrap();
    let left = gas - 100;
    assert_eq!(call["gasCost"], format!("{:#x}", 100 + left - left / 64), "{call}");
    // Every line's gas is the previous line's gas less its cost, but after the call, which
    // gets back what the precompile left.
    for pair in trace.windows(2) {
        if pair[0]["opName"] == "STATICCALL" {
            continue;
        }
        let g = |t: &serde_json::Value, k: &str| {
            u64::from_str_radix(t[k].as_str().unwrap().trim_start_matches("0x"), 16).unwrap()
        };
        assert_eq!(g(&pair[0], "gas") - g(&pair[0], "gasCost"), g(&pair[1], "gas"), "{pair:?}");
    }
    // After the call, the precompile's output is the return data.
    let after = &trace[trace.iter().position(|t| t["opName"] == "STATICCALL").unwrap() + 1];
    assert_eq!(after["returnData"].as_str().unwrap().len(), 2 + 64, "{after}");
    assert_eq!(summary["fork"], "Cancun");
    assert_eq!(summary["pass"], true);

    // SLOAD of a cold slot: 2100. EXP with a one-byte exponent: 10 + 50.
    let out = kiln(&["600054 60ff60020a", "--trace", "--fork", "Cancun"]);
    let (trace, _) = trace_of(&out);
    assert_eq!(trace[1]["opName"], "SLOAD");
    assert_eq!(trace[1]["gasCost"], "0x834");
    assert_eq!(trace[4]["opName"], "EXP");
    assert_eq!(trace[4]["gasCost"], "0x3c");
}

/// A failing instruction gets its line, with `error`, and the summary says the run failed.
#[test]
fn trace_failing_instruction_has_an_error_line() {
    // ADD with one item on the stack. A failure consumes the frame's gas: the line costs all
    // that was left.
    let out = kiln(&["600101", "--trace", "--gas", "100000"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let (trace, summary) = trace_of(&out);
    assert_eq!(trace.len(), 2, "{}", stderr(&out));
    assert_eq!(trace[1]["opName"], "ADD");
    assert_eq!(trace[1]["error"], "StackUnderflow");
    assert_eq!(trace[1]["gas"], format!("{:#x}", 79_000 - 3));
    assert_eq!(trace[1]["gasCost"], trace[1]["gas"]);
    assert!(trace[0].get("error").is_none());
    assert_eq!(summary["pass"], false);
    assert_eq!(summary["gasUsed"], "0x186a0");

    // An undefined opcode.
    let out = kiln(&["ef", "--trace"]);
    let (trace, summary) = trace_of(&out);
    assert_eq!(trace.len(), 1, "{}", stderr(&out));
    assert_eq!(trace[0]["op"], 0xef);
    assert_eq!(trace[0]["opName"], "opcode 0xef not defined");
    assert_eq!(trace[0]["error"], "InvalidOpcode");
    assert_eq!(summary["pass"], false);

    // Out of gas: the same.
    let out = kiln(&["6001600055", "--trace", "--gas", "30000", "--fork", "Cancun"]);
    let (trace, _) = trace_of(&out);
    let last = trace.last().unwrap();
    assert_eq!(last["opName"], "SSTORE");
    assert_eq!(last["error"], "OutOfGas");
    assert_eq!(last["gasCost"], last["gas"]);
}

#[test]
fn truncated_push_runs() {
    // PUSH2 with one byte of data: the missing byte reads as zero, then the code ends.
    let v = json(&["6101"]);
    assert_eq!(v["status"], "success");
    assert_eq!(v["gas_used"], 21_003);
    // PUSH32 with no data at all.
    let v = json(&["7f"]);
    assert_eq!(v["status"], "success");
    // Empty code.
    let v = json(&["0x"]);
    assert_eq!(v["status"], "success");
    assert_eq!(v["gas_used"], 21_000);
}

#[test]
fn malformed_code_or_calldata() {
    let err = usage_error(&["0x60zz"]);
    assert!(err.contains("invalid hex character 'z' at position 4"), "{err}");
    let err = usage_error(&["600"]);
    assert!(err.contains("odd number of hex digits"), "{err}");
    let err = usage_error(&["00", "--calldata", "12g4"]);
    assert!(err.contains("--calldata"), "{err}");
    assert!(err.contains("'g' at position 2"), "{err}");
    let err = usage_error(&["no/such/file.hex"]);
    assert!(err.contains("neither an existing file nor valid hex"), "{err}");
}

#[test]
fn bad_numbers() {
    let err = usage_error(&["00", "--value", "12abc"]);
    assert!(err.contains("12abc") && err.contains("not a number"), "{err}");
    let err = usage_error(&["00", "--value=-1"]);
    assert!(err.contains("--value"), "{err}");
    let too_big = format!("0x1{}", "0".repeat(64));
    let err = usage_error(&["00", "--value", &too_big]);
    assert!(err.contains("does not fit in 256 bits"), "{err}");
    // More than the sender's 2^128 wei.
    let err = usage_error(&["00", "--value", "0x100000000000000000000000000000001"]);
    assert!(err.contains("exceeds what the sender can pay"), "{err}");
    let err = usage_error(&["00", "--gas", "lots"]);
    assert!(err.contains("--gas"), "{err}");
    let err = usage_error(&["00", "--gas", "20999"]);
    assert!(err.contains("intrinsic gas 21000"), "{err}");
}

#[test]
fn forks() {
    let err = usage_error(&["00", "--fork", "Amsterdamm"]);
    assert!(err.contains("unknown fork `Amsterdamm`"), "{err}");
    assert!(err.contains("Frontier, Homestead, EIP150, EIP158"), "{err}");
    // Every fork runs under its own rules, named as the fixtures name it or as the fork is
    // known: PUSH0 is Shanghai's, so it halts before.
    for (fork, halts) in [
        ("Frontier", true),
        ("EIP150", true),
        ("TangerineWhistle", true),
        ("paris", true),
        ("Shanghai", false),
        ("Osaka", false),
    ] {
        let v = json(&["5f00", "--fork", fork]);
        assert_eq!(v["halt_reason"] == "InvalidOpcode", halts, "{fork}: {v}");
    }
}

#[test]
fn modes() {
    // Every mode either gives the interpreter's result, state root included, or is refused
    // by name.
    let interp = json(&[ADD_RETURN, "--mode", "interp", "--calldata", "01", "--value", "7"]);
    assert_eq!(interp["output"], word_hex(3));
    for mode in ["jit", "aot", "tiered"] {
        let out = kiln(&[ADD_RETURN, "--mode", mode, "--calldata", "01", "--value", "7", "--json"]);
        match out.status.code() {
            Some(0) => {
                let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
                assert_eq!(v, interp, "{mode}");
                let err = usage_error(&["00", "--mode", mode, "--trace"]);
                assert!(err.contains("a trace needs the interpreter"), "{err}");
            }
            Some(2) => {
                let err = stderr(&out);
                assert!(err.contains(&format!("error: mode {mode} is not built yet")), "{err}");
            }
            code => panic!("{mode}: exit {code:?}: {}", stderr(&out)),
        }
    }
}

#[test]
fn tiered_stats_show_the_tier_and_the_reason() {
    // Threshold 1: the run is interpreted and queues a compile, which --stats waits for.
    let text = ok(&[ADD_RETURN, "--mode", "tiered", "--tier-threshold", "1", "--stats"]);
    assert_eq!(field(&text, "output"), word_hex(3));
    assert!(text.contains("tier executions: 1 interpreted, 0 native, 0 aot"), "{text}");
    assert!(text.contains("tier compiles: 1 compiled"), "{text}");
    assert!(text.contains("Osaka") && text.contains(": native, quick ("), "{text}");
    assert!(text.contains("tier compiles by tier: 1 quick in"), "{text}");

    let args = [ADD_RETURN, "--mode", "tiered", "--tier-threshold", "1", "--stats"];
    let slow = ok(&[&args[..], &["--tier-timeout-ms", "0"]].concat());
    assert!(slow.contains("interpreted: compile too slow"), "{slow}");
    let large = json(&[&args[..], &["--tier-max-size", "4"]].concat());
    let kept = &large["tier_stats"]["kept_interpreted"][0];
    assert_eq!(kept["reason"], "too large (13 bytes, limit 4)", "{large}");
    assert_eq!(large["output"], word_hex(3));

    let err = usage_error(&[ADD_RETURN, "--stats"]);
    assert!(err.contains("need --mode tiered"), "{err}");
}

#[test]
fn gas_over_the_osaka_cap() {
    let err = usage_error(&["00", "--gas", "16777217"]);
    assert!(err.contains("16777216"), "{err}");
    assert!(err.contains("EIP-7825"), "{err}");
    // Exactly the cap is fine, and Prague has no cap.
    let v = json(&["fe", "--gas", "16777216"]);
    assert_eq!(v["gas_used"], 16_777_216);
    let v = json(&["fe", "--gas", "50000000", "--fork", "Prague"]);
    assert_eq!(v["gas_used"], 50_000_000);
}

/// A fresh folder named for `what` holding `add.so`, ADD_RETURN compiled by `kiln compile`
/// (for Osaka); returns the folder and the library's path.
fn add_library(what: &str) -> (PathBuf, PathBuf) {
    let dir = std::env::temp_dir().join(format!("kiln-run-cli-{what}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (hex, lib) = (dir.join("add.hex"), dir.join("add.so"));
    std::fs::write(&hex, ADD_RETURN).unwrap();
    let compiled = Command::new(env!("CARGO_BIN_EXE_kiln"))
        .args(["compile", hex.to_str().unwrap(), "-o", lib.to_str().unwrap()])
        .output()
        .expect("run kiln compile");
    assert_eq!(compiled.status.code(), Some(0), "{}", stderr(&compiled));
    (dir, lib)
}

#[test]
fn aot_library_truncated_is_refused_not_crashed() {
    use std::os::unix::process::ExitStatusExt;
    let (dir, lib) = add_library("aot");
    let cut = dir.join("cut.so");
    let text = ok(&[ADD_RETURN, "--aot", lib.to_str().unwrap()]);
    assert_eq!(field(&text, "output"), word_hex(3));

    // `head -c 3000`: the load segments reach past the end, which dlopen used to map and
    // die of SIGBUS on.
    let bytes = std::fs::read(&lib).unwrap();
    std::fs::write(&cut, &bytes[..3000]).unwrap();
    let out = kiln(&[ADD_RETURN, "--aot", cut.to_str().unwrap()]);
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(out.status.signal(), None, "{}", stderr(&out));
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.starts_with("error: "), "{err}");
    assert!(err.contains("cut.so is corrupt or truncated"), "{err}");
    assert!(err.contains("past the end of the 3000-byte file"), "{err}");
    assert!(stdout(&out).is_empty(), "{}", stdout(&out));
}

#[test]
fn aot_library_without_the_code_says_so_and_contradictory_flags_are_refused() {
    let (dir, lib) = add_library("aot-miss");
    let lib = lib.to_str().unwrap();

    // In the library: no warning.
    let out = kiln(&[ADD_RETURN, "--aot", lib]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stderr(&out).is_empty(), "{}", stderr(&out));
    // Compiled for Osaka only: under Prague the interpreter runs it, and says so.
    let out = kiln(&[ADD_RETURN, "--aot", lib, "--fork", "Prague"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(field(&stdout(&out), "output"), word_hex(3));
    let err = stderr(&out);
    assert!(err.starts_with("warning: ") && err.contains("ran in the interpreter"), "{err}");
    // --aot-strict refuses instead.
    let err = usage_error(&[ADD_RETURN, "--aot", lib, "--fork", "Prague", "--aot-strict"]);
    assert!(err.contains("holds no code") && err.contains("compiled for Prague"), "{err}");
    // A library and another mode contradict each other; --mode aot agrees.
    let err = usage_error(&[ADD_RETURN, "--aot", lib, "--mode", "jit"]);
    assert!(err.contains("cannot run in --mode jit"), "{err}");
    ok(&[ADD_RETURN, "--aot", lib, "--mode", "aot"]);
    usage_error(&[ADD_RETURN, "--aot-strict"]);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn code_from_stdin_or_a_binary_file_and_input_as_calldata() {
    use std::io::Write;
    use std::process::Stdio;
    let mut child = Command::new(env!("CARGO_BIN_EXE_kiln"))
        .args(["run", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run kiln");
    child.stdin.take().unwrap().write_all(format!("0x{ADD_RETURN}\n").as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(field(&stdout(&out), "output"), word_hex(3));

    // The same program as raw bytes in a file.
    let dir = std::env::temp_dir().join(format!("kiln-run-cli-bin-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bin = dir.join("add.bin");
    let hex = ADD_RETURN.replace(' ', "");
    let bytes: Vec<u8> = (0..hex.len() / 2)
        .map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap())
        .collect();
    std::fs::write(&bin, bytes).unwrap();
    let text = ok(&[bin.to_str().unwrap()]);
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(field(&text, "output"), word_hex(3));

    // CALLDATALOAD(0) returned: --input is --calldata.
    let text = ok(&["60003560005260206000f3", "--input", "0x2a"]);
    assert_eq!(field(&text, "output"), format!("0x2a{}", "0".repeat(62)));
}

#[test]
fn bench_times_the_code_in_every_mode() {
    for mode in ["interp", "jit", "aot"] {
        let v = json(&[ADD_RETURN, "--mode", mode, "--bench"]);
        assert_eq!(v["output"], word_hex(3), "{mode}: the result is the one run's");
        let t = &v["timing"];
        assert!(t["runs"].as_u64().unwrap() >= 5, "{mode}: {t}");
        assert!(t["median_ns"].as_u64().unwrap() >= t["min_ns"].as_u64().unwrap(), "{t}");
    }
    let text = ok(&[ADD_RETURN, "--bench"]);
    let line = text.lines().last().unwrap();
    assert!(line.starts_with("time: median ") && line.ends_with(" runs)"), "{line}");
    assert!(json(&[ADD_RETURN])["timing"].is_null());
}
