//! AOT shared objects: compile, link, load, run; refuse what is not a Kiln library.

use alloy_primitives::{keccak256, Address, Bytes, U256};
use kiln_codegen::{AotCompiler, AotLibrary, LoadError};
use kiln_runtime::handler::Transact;
use kiln_runtime::{BlockEnv, CfgEnv, CodeCache, InMemoryDb, NoTracer, SpecId, TxEnv, TxKind};
use std::path::PathBuf;

fn temp(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("kiln-aot-test-{}-{name}", std::process::id()))
}

/// Stores calldata[0] + calldata[1] at slot 0 and returns it.
const CODE: [u8; 16] = [
    0x5f, 0x35, 0x60, 0x20, 0x35, 0x01, 0x80, 0x5f, 0x55, 0x5f, 0x52, 0x60, 0x20, 0x5f, 0xf3, 0x00,
];

fn run(lib: Option<&mut AotLibrary>) -> (kiln_runtime::ExecutionResult, alloy_primitives::B256) {
    let contract = Address::repeat_byte(0xcc);
    let sender = Address::repeat_byte(0x11);
    let mut db = InMemoryDb::new();
    db.insert_account(contract, U256::ZERO, 1, Bytes::copy_from_slice(&CODE), []);
    db.insert_account(sender, U256::from(1u64 << 60), 0, Bytes::new(), []);
    let mut data = vec![0u8; 64];
    data[31] = 40;
    data[63] = 2;
    let tx = TxEnv {
        caller: sender,
        kind: TxKind::Call(contract),
        data: data.into(),
        gas_limit: 100_000,
        ..Default::default()
    };
    let block = BlockEnv { gas_limit: 30_000_000, ..Default::default() };
    let cfg = CfgEnv::new(SpecId::Prague);
    let native = lib.map(|l| l as &mut dyn kiln_runtime::NativeCode);
    let (r, changes) = Transact {
        db: &mut db,
        cfg: &cfg,
        block: &block,
        tx: &tx,
        cache: &mut CodeCache::default(),
        native,
    }
    .run(&mut NoTracer)
    .unwrap();
    kiln_runtime::DatabaseCommit::commit(&mut db, changes);
    (r, db.state_root())
}

#[test]
fn compiled_library_runs_like_the_interpreter() {
    let path = temp("ok.so");
    let mut compiler = AotCompiler::new().unwrap();
    compiler.add(&CODE, SpecId::Prague).unwrap();
    compiler.add(&CODE, SpecId::Prague).unwrap();
    assert_eq!(compiler.len(), 1, "duplicates compile once");
    compiler.write_library(&path).unwrap();
    let mut lib = AotLibrary::open(&path).unwrap();
    std::fs::remove_file(&path).unwrap();
    assert!(lib.get(keccak256(CODE), SpecId::Prague).is_some());
    assert!(lib.get(keccak256(CODE), SpecId::Osaka).is_none(), "compiled for Prague only");
    let native = run(Some(&mut lib));
    let interp = run(None);
    assert_eq!(native, interp);
    assert_eq!(native.0.output()[31], 42);
}

#[test]
fn refuses_files_that_are_not_kiln_libraries() {
    let path = temp("garbage.so");
    std::fs::write(&path, b"not an ELF file").unwrap();
    let err = AotLibrary::open(&path).err().expect("refused");
    assert!(matches!(err, LoadError::Corrupt { .. }), "{err}");
    assert!(err.to_string().contains("not an ELF file"), "{err}");
    std::fs::remove_file(&path).unwrap();

    let missing = AotLibrary::open(&temp("missing.so")).err().expect("refused");
    assert!(missing.to_string().contains("cannot load"), "{missing}");
}

#[test]
fn refuses_a_shared_object_without_a_kiln_header() {
    // A valid shared object that is not Kiln's: an empty C file linked with cc.
    let c = temp("empty.c");
    let so = temp("empty.so");
    std::fs::write(&c, "int kiln_unrelated(void) { return 0; }\n").unwrap();
    let ok = std::process::Command::new("cc")
        .arg("-shared")
        .arg("-fPIC")
        .arg("-o")
        .arg(&so)
        .arg(&c)
        .status();
    if !ok.is_ok_and(|s| s.success()) {
        eprintln!("no C compiler; skipping");
        return;
    }
    let err = AotLibrary::open(&so).err().expect("refused");
    assert!(matches!(err, LoadError::NotKiln { .. }), "{err}");
    let _ = std::fs::remove_file(&c);
    let _ = std::fs::remove_file(&so);
}

/// Links the compiled CODE with `cc -shared` and `flags`; None if the linker refuses them.
fn link_with(name: &str, flags: &[&str]) -> Option<PathBuf> {
    let mut compiler = AotCompiler::new().unwrap();
    compiler.add(&CODE, SpecId::Prague).unwrap();
    let object = temp(&format!("{name}.o"));
    let so = temp(name);
    std::fs::write(&object, compiler.finish().unwrap()).unwrap();
    let status = std::process::Command::new("cc")
        .arg("-shared")
        .args(flags)
        .arg("-o")
        .arg(&so)
        .arg(&object)
        .stderr(std::process::Stdio::null())
        .status();
    let _ = std::fs::remove_file(&object);
    status.is_ok_and(|s| s.success()).then_some(so)
}

#[test]
fn refuses_a_library_linked_with_c_start_up_files() {
    // How `write_library` linked before `-nostdlib`: crti/crtbegin bring DT_INIT, DT_FINI and
    // init/fini arrays, code that would run inside dlopen.
    let Some(so) = link_with("start-up.so", &[]) else {
        eprintln!("no C compiler; skipping");
        return;
    };
    let err = AotLibrary::open(&so).err().expect("refused");
    assert!(matches!(err, LoadError::NotKiln { .. }), "{err}");
    assert!(err.to_string().contains("rebuild it with `kiln compile`"), "{err}");
    let _ = std::fs::remove_file(&so);
}

#[test]
fn loads_other_hash_table_and_relocation_styles() {
    // SysV hash tables only, both kinds, and the relocations packed into DT_RELR (where the
    // linker knows `-z pack-relative-relocs`).
    let styles: [&[&str]; 3] = [
        &["-nostdlib", "-Wl,--hash-style=sysv"],
        &["-nostdlib", "-Wl,--hash-style=both", "-Wl,-z,now"],
        &["-nostdlib", "-Wl,-z,pack-relative-relocs"],
    ];
    let interp = run(None);
    for (i, flags) in styles.iter().enumerate() {
        let Some(so) = link_with(&format!("style-{i}.so"), flags) else {
            eprintln!("the linker refused {flags:?}; skipping it");
            continue;
        };
        let mut lib = AotLibrary::open(&so).unwrap_or_else(|e| panic!("{flags:?}: {e}"));
        std::fs::remove_file(&so).unwrap();
        assert_eq!(run(Some(&mut lib)), interp, "{flags:?}");
    }
}

#[test]
fn a_library_overwritten_after_opening_runs_as_checked() {
    // The loader maps the sealed copy that was checked, not the file: overwriting the file
    // in place (which would show through a mapping of the file itself) changes nothing.
    let path = temp("overwritten.so");
    let mut compiler = AotCompiler::new().unwrap();
    compiler.add(&CODE, SpecId::Prague).unwrap();
    compiler.write_library(&path).unwrap();
    let mut lib = AotLibrary::open(&path).unwrap();
    let len = std::fs::metadata(&path).unwrap().len() as usize;
    let mut file = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
    std::io::Write::write_all(&mut file, &vec![0xcc; len]).unwrap();
    drop(file);
    assert_eq!(run(Some(&mut lib)), run(None));
    std::fs::remove_file(&path).unwrap();
}

// Corrupt libraries. Each corrupt file is opened in a child process (this test binary run
// again for `corrupt_open_child`), so that a loader crash shows as a failed case, named,
// instead of killing the test harness.

/// Set in the child: the intact library the cases corrupt.
const CHILD_BASE: &str = "KILN_AOT_TEST_CORRUPT_BASE";
/// Set in the child: a file with one case per line.
const CHILD_CASES: &str = "KILN_AOT_TEST_CORRUPT_CASES";
/// Set in the child: where it writes each corrupt file (removed by the parent, even after a
/// crash).
const CHILD_SCRATCH: &str = "KILN_AOT_TEST_CORRUPT_SCRATCH";
/// Starts every line of the child's report.
const REPORT: &str = "kiln-corrupt-case";

/// A second contract, so that the index has two entries: RETURNs nothing.
const CODE2: [u8; 5] = [0x5f, 0x5f, 0xf3, 0x00, 0x00];

/// Builds the two-contract library and returns its bytes.
fn two_entry_library(name: &str) -> Vec<u8> {
    let path = temp(name);
    let mut compiler = AotCompiler::new().unwrap();
    compiler.add(&CODE, SpecId::Prague).unwrap();
    compiler.add(&CODE2, SpecId::Osaka).unwrap();
    compiler.write_library(&path).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    let lib = AotLibrary::open(&path).unwrap();
    assert_eq!(lib.len(), 2);
    std::fs::remove_file(&path).unwrap();
    bytes
}

/// A case: `t N` keeps the first N bytes; `f OFFSET MASK` xors the byte at OFFSET with MASK.
fn corrupt(bytes: &[u8], case: &str) -> Vec<u8> {
    let parts: Vec<usize> = case[2..].split(' ').map(|n| n.parse().unwrap()).collect();
    match (&case[..1], &parts[..]) {
        ("t", &[len]) => bytes[..len].to_vec(),
        ("f", &[at, mask]) => {
            let mut out = bytes.to_vec();
            out[at] ^= mask as u8;
            out
        }
        _ => panic!("bad case {case}"),
    }
}

/// What the child reported for the cases.
#[derive(Default, Debug)]
struct Outcomes {
    /// Loaded: (case, entries).
    loaded: Vec<(String, String)>,
    /// Refused: (case, kind of LoadError, message).
    refused: Vec<(String, String, String)>,
    /// Killed the child, or hung in it: (case, how).
    crashed: Vec<(String, String)>,
}

/// Runs the cases against `bytes`, in child processes; after a crash the rest run in a new one.
fn open_in_children(bytes: &[u8], cases: &[String], name: &str) -> Outcomes {
    use std::os::unix::process::ExitStatusExt;
    let base = temp(&format!("{name}-base.so"));
    let list = temp(&format!("{name}-cases.txt"));
    let out_path = temp(&format!("{name}-out.txt"));
    let scratch = temp(&format!("{name}-case.so"));
    std::fs::write(&base, bytes).unwrap();
    let mut outcomes = Outcomes::default();
    let mut rest = cases.to_vec();
    while !rest.is_empty() {
        std::fs::write(&list, rest.join("\n")).unwrap();
        let out = std::fs::File::create(&out_path).unwrap();
        let mut child = std::process::Command::new(std::env::current_exe().unwrap())
            .args(["corrupt_open_child", "--exact", "--nocapture", "--test-threads=1"])
            .env(CHILD_BASE, &base)
            .env(CHILD_CASES, &list)
            .env(CHILD_SCRATCH, &scratch)
            .stdout(out)
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let start = std::time::Instant::now();
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break Some(status);
            }
            if start.elapsed() > std::time::Duration::from_secs(120) {
                child.kill().unwrap();
                child.wait().unwrap();
                break None;
            }
            std::thread::sleep(std::time::Duration::from_millis(5));
        };
        let report = std::fs::read_to_string(&out_path).unwrap();
        let mut begun: Option<String> = None;
        let mut last: Option<String> = None;
        let mut finished = 0;
        let mut done = false;
        // libtest starts the first line itself (`test corrupt_open_child ... `).
        for line in report.lines().filter_map(|l| l.find(REPORT).map(|at| &l[at + REPORT.len()..]))
        {
            let mut fields = line.trim_start().splitn(4, '\t');
            let (what, case) = (fields.next().unwrap(), fields.next().unwrap_or("").to_string());
            match what {
                "begin" => {
                    begun = Some(case.clone());
                    last = Some(case);
                }
                "loaded" => {
                    outcomes.loaded.push((case, fields.next().unwrap().into()));
                    begun = None;
                    finished += 1;
                }
                "refused" => {
                    let kind = fields.next().unwrap().to_string();
                    outcomes.refused.push((case, kind, fields.next().unwrap().into()));
                    begun = None;
                    finished += 1;
                }
                "done" => done = true,
                other => panic!("child reported {other:?}"),
            }
        }
        if done && status.is_some_and(|s| s.success()) {
            assert_eq!(finished, rest.len(), "{report}");
            break;
        }
        let how = match status {
            None => "hung for 120 s".to_string(),
            Some(s) => match s.signal() {
                Some(signal) => format!("killed by signal {signal}"),
                None => format!("exited with {s}"),
            },
        };
        match (begun, last) {
            (Some(case), _) => {
                outcomes.crashed.push((case, how));
                rest.drain(..=finished);
            }
            // Between cases: something an earlier one did (a wild write, say) struck later.
            (None, Some(case)) => {
                outcomes.crashed.push((case, format!("{how} after it was opened")));
                rest.drain(..finished);
            }
            (None, None) => panic!("child {how} before its first case:\n{report}"),
        }
    }
    for path in [&base, &list, &out_path, &scratch] {
        let _ = std::fs::remove_file(path);
    }
    outcomes
}

/// Not a test of its own: opens the cases `open_in_children` hands it, one by one, and
/// reports each before and after, so that the parent knows which case a crash was.
#[test]
fn corrupt_open_child() {
    use std::io::Write;
    let Some(base) = std::env::var_os(CHILD_BASE) else { return };
    let bytes = std::fs::read(base).unwrap();
    let cases = std::fs::read_to_string(std::env::var_os(CHILD_CASES).unwrap()).unwrap();
    let path = PathBuf::from(std::env::var_os(CHILD_SCRATCH).unwrap());
    let mut stdout = std::io::stdout().lock();
    for case in cases.lines() {
        std::fs::write(&path, corrupt(&bytes, case)).unwrap();
        writeln!(stdout, "{REPORT} begin\t{case}").unwrap();
        stdout.flush().unwrap();
        // The library is dropped (unloaded) before the case is reported: a crash in dlclose
        // counts too.
        match AotLibrary::open(&path).map(|lib| lib.len()) {
            Ok(entries) => writeln!(stdout, "{REPORT} loaded\t{case}\t{entries}"),
            Err(e) => {
                let kind = match e {
                    LoadError::Open { .. } => "open",
                    LoadError::NotKiln { .. } => "not-kiln",
                    LoadError::Corrupt { .. } => "corrupt",
                    LoadError::AbiMismatch { .. } => "abi",
                };
                writeln!(stdout, "{REPORT} refused\t{case}\t{kind}\t{e}")
            }
        }
        .unwrap();
        stdout.flush().unwrap();
    }
    writeln!(stdout, "{REPORT} done").unwrap();
}

fn assert_no_crashes(outcomes: &Outcomes) {
    let crashed: Vec<String> =
        outcomes.crashed.iter().map(|(case, how)| format!("case `{case}`: {how}")).collect();
    assert!(crashed.is_empty(), "opening corrupt libraries crashed:\n{}", crashed.join("\n"));
}

#[test]
fn truncated_libraries_are_refused() {
    let bytes = two_entry_library("truncate.so");
    let mut lens: Vec<usize> = (0..=70).collect();
    lens.extend((128..bytes.len()).step_by(64));
    lens.extend((bytes.len() - 70)..bytes.len());
    lens.sort();
    lens.dedup();
    let cases: Vec<String> = lens.iter().map(|n| format!("t {n}")).collect();
    let outcomes = open_in_children(&bytes, &cases, "truncate");
    assert_no_crashes(&outcomes);
    assert!(outcomes.loaded.is_empty(), "truncated libraries loaded: {:?}", outcomes.loaded);
    assert_eq!(outcomes.refused.len(), cases.len());
    for (case, kind, message) in &outcomes.refused {
        assert_eq!(kind, "corrupt", "{case}: {message}");
    }
    let at_3000 = AotLibrary::open(&{
        let path = temp("truncate-3000.so");
        std::fs::write(&path, &bytes[..3000]).unwrap();
        path
    });
    let err = at_3000.err().expect("refused");
    assert!(err.to_string().contains("past the end of the 3000-byte file"), "{err}");
    let _ = std::fs::remove_file(temp("truncate-3000.so"));
    eprintln!("{} truncations of a {}-byte library, all refused", cases.len(), bytes.len());
}

/// A deterministic stream of pseudo-random numbers (xorshift64).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

fn le(bytes: &[u8], at: usize, size: usize) -> usize {
    let mut word = [0u8; 8];
    word[..size].copy_from_slice(&bytes[at..at + size]);
    u64::from_le_bytes(word) as usize
}

#[test]
fn flipped_bytes_never_crash_the_loader() {
    let bytes = two_entry_library("flip.so");
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    // Every byte the loader reads before any code: the ELF header and the program headers,
    // and the file bytes of every load segment that is not code (hash, symbol and string
    // tables, relocations, the dynamic section, the Kiln header and index).
    let mut offsets: Vec<usize> = Vec::new();
    let (phoff, phnum) = (le(&bytes, 0x20, 8), le(&bytes, 0x38, 2));
    offsets.extend(0..phoff + phnum * 56);
    for i in 0..phnum {
        let ph = phoff + i * 56;
        let (ty, flags) = (le(&bytes, ph, 4), le(&bytes, ph + 4, 4));
        let (offset, filesz) = (le(&bytes, ph + 8, 8), le(&bytes, ph + 32, 8));
        if ty == 1 && flags & 1 == 0 {
            offsets.extend(offset..offset + filesz);
        }
    }
    // And 256 anywhere in the file: code, section headers, padding.
    offsets.extend((0..256).map(|_| rng.next() as usize % bytes.len()));
    offsets.sort();
    offsets.dedup();
    // Alternately a single bit, near what the field held, and a random nonzero byte.
    let cases: Vec<String> = offsets
        .iter()
        .enumerate()
        .map(|(i, at)| {
            let mask = if i % 2 == 0 { 1 << (rng.next() % 8) } else { rng.next() % 255 + 1 };
            format!("f {at} {mask}")
        })
        .collect();
    let outcomes = open_in_children(&bytes, &cases, "flip");
    assert_no_crashes(&outcomes);
    assert_eq!(outcomes.loaded.len() + outcomes.refused.len(), cases.len());
    // Both kinds happen: flipped code hashes load (as other hashes), flipped magic does not.
    assert!(outcomes.refused.iter().any(|(case, _, _)| case.starts_with("f 0 ")));
    assert!(!outcomes.loaded.is_empty());
    for (case, entries) in &outcomes.loaded {
        assert!(entries == "2" || entries == "1", "{case}: {entries} entries");
    }
    eprintln!(
        "{} flips of a {}-byte library: {} refused, {} loaded",
        cases.len(),
        bytes.len(),
        outcomes.refused.len(),
        outcomes.loaded.len()
    );
}
