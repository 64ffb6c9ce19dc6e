//! Golden tests for the IR, in the manner of Cranelift's filetests: each file under
//! `tests/filetests/` holds EVM assembly and the IR that `kiln_ir::build` makes of it (what
//! `kiln ir` prints). A change to lifting or to a pass shows up as a diff of these files, which
//! a reviewer reads like any other change.
//!
//! File layout: `;` lines are comments (say what the file checks); `fork: NAME` (optional,
//! default Osaka); `code:` then one instruction per line (`PUSH1 0x2a`, `ADD`, `label:` marks
//! the next offset, `PUSH2 @label` pushes it); `ir:` then the expected IR.
//!
//! `KILN_BLESS=1 cargo test -p kiln-ir --test filetests` rewrites the `ir:` part of every file
//! with what the IR is now: for new files and deliberate changes, to be read before committing.

use kiln_frontend::opcode::{immediate_size, info};
use kiln_frontend::SpecId;
use std::collections::HashMap;
use std::path::Path;

struct FileTest {
    fork: SpecId,
    code: Vec<u8>,
    /// Everything up to and including the `ir:` line.
    head: String,
    expected: String,
}

fn opcode_by_name(name: &str) -> Option<u8> {
    (0..=255u8).find(|&op| info(op).is_some_and(|i| i.name.eq_ignore_ascii_case(name)))
}

/// Assembles `lines`: two passes, the first to place labels.
fn assemble(lines: &[&str]) -> Result<Vec<u8>, String> {
    let mut labels: HashMap<&str, usize> = HashMap::new();
    for pass in 0..2 {
        let mut code = Vec::new();
        for (n, line) in lines.iter().enumerate() {
            let line = line.split(';').next().unwrap_or("").trim();
            if line.is_empty() {
                continue;
            }
            if let Some(label) = line.strip_suffix(':') {
                labels.insert(label, code.len());
                continue;
            }
            let mut words = line.split_whitespace();
            let name = words.next().unwrap_or_default();
            let op = opcode_by_name(name).ok_or(format!("line {n}: unknown opcode {name}"))?;
            code.push(op);
            let width = immediate_size(op);
            if width == 0 {
                if words.next().is_some() {
                    return Err(format!("line {n}: {name} takes no immediate"));
                }
                continue;
            }
            let arg = words.next().ok_or(format!("line {n}: {name} needs an immediate"))?;
            let value: u128 = match arg.strip_prefix('@') {
                Some(label) if pass == 0 => labels.get(label).copied().unwrap_or(0) as u128,
                Some(label) => {
                    *labels.get(label).ok_or(format!("line {n}: no label {label}"))? as u128
                }
                None => match arg.strip_prefix("0x") {
                    Some(hex) => u128::from_str_radix(hex, 16),
                    None => arg.parse(),
                }
                .map_err(|e| format!("line {n}: {arg}: {e}"))?,
            };
            let bytes = value.to_be_bytes();
            if width < 16 && value >> (8 * width) != 0 {
                return Err(format!("line {n}: {arg} does not fit {name}"));
            }
            let start = 16usize.saturating_sub(width);
            code.extend(std::iter::repeat_n(0, width.saturating_sub(16)));
            code.extend_from_slice(&bytes[start..]);
        }
        if pass == 1 {
            return Ok(code);
        }
    }
    unreachable!("two passes")
}

fn parse(text: &str) -> Result<FileTest, String> {
    let mut fork = SpecId::Osaka;
    let mut code_lines = Vec::new();
    let mut head = String::new();
    let mut section = "";
    let mut expected = String::new();
    for line in text.lines() {
        if section == "ir" {
            expected.push_str(line);
            expected.push('\n');
            continue;
        }
        head.push_str(line);
        head.push('\n');
        match line.trim() {
            "code:" => section = "code",
            "ir:" => section = "ir",
            _ if section == "code" => code_lines.push(line),
            l if l.starts_with(';') || l.is_empty() => {}
            l => match l.strip_prefix("fork:") {
                Some(name) => fork = name.trim().parse().map_err(|e| format!("{e}"))?,
                None => return Err(format!("unexpected line before code: {l}")),
            },
        }
    }
    if section != "ir" {
        return Err("no `ir:` section".into());
    }
    Ok(FileTest { fork, code: assemble(&code_lines)?, head, expected })
}

#[test]
fn ir_matches_the_golden_files() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/filetests");
    let bless = std::env::var("KILN_BLESS").is_ok_and(|v| v == "1");
    let mut paths: Vec<_> = std::fs::read_dir(&dir)
        .expect("tests/filetests")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "ir"))
        .collect();
    paths.sort();
    assert!(!paths.is_empty(), "no .ir files in {}", dir.display());
    let mut failures = Vec::new();
    for path in &paths {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let text = std::fs::read_to_string(path).expect("read");
        let t = parse(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
        let f = kiln_ir::build(&t.code, t.fork);
        if let Err(e) = kiln_ir::verify(&f) {
            failures.push(format!("{name}: {e}"));
            continue;
        }
        let actual = f.to_string();
        if actual.trim_end() == t.expected.trim_end() {
            continue;
        }
        if bless {
            std::fs::write(path, format!("{}{}", t.head, actual)).expect("write");
        } else {
            failures.push(format!(
                "{name}: the IR differs (KILN_BLESS=1 rewrites it)\n--- expected\n{}--- actual\n{}",
                t.expected, actual
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn the_assembler_places_labels_and_immediates() {
    let code = assemble(&["PUSH2 @end", "JUMP", "PUSH32 0x1", "end:", "JUMPDEST"]).unwrap();
    // PUSH2 (3 bytes), JUMP (1), PUSH32 (33): the label is at 0x25, its JUMPDEST the last byte.
    assert_eq!(code[..3], [0x61, 0x00, 0x25]);
    assert_eq!(code.len(), 0x26);
    assert_eq!(code[4..37], [&[0x7f][..], &[0; 31], &[1]].concat()[..]);
    assert!(assemble(&["PUSH1 0x100"]).is_err());
    assert!(assemble(&["FOO"]).is_err());
}
