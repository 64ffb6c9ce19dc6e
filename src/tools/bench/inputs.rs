//! The fixtures `kiln bench` runs: files and directories given on the command line, or the
//! embedded default set.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::tools::fixture::{
    collect_fixture_files, load_file, load_text, BenchFixture, FixtureError,
};

/// The default set, shipped in the binary so that `kiln bench` needs no files: two pure
/// arithmetic loops, a token transfer (storage-bound), a ray tracer (compute-bound, large
/// contract) and 10k keccak hashes (hash-bound).
pub const EMBEDDED: [(&str, &str); 5] = [
    ("fibonacci-calldata.json", include_str!("../../../benches/fixtures/fibonacci-calldata.json")),
    ("factorial.json", include_str!("../../../benches/fixtures/factorial.json")),
    ("erc20_transfer.json", include_str!("../../../benches/fixtures/erc20_transfer.json")),
    ("snailtracer.json", include_str!("../../../benches/fixtures/snailtracer.json")),
    ("hash_10k.json", include_str!("../../../benches/fixtures/hash_10k.json")),
];

/// Every fixture under `paths` (the embedded set when empty), each with its display name,
/// and every file or test that could not be loaded. A bad file does not stop the others.
pub fn load(paths: &[PathBuf]) -> (Vec<(String, BenchFixture)>, Vec<FixtureError>) {
    let mut fixtures = Vec::new();
    let mut errors = Vec::new();
    if paths.is_empty() {
        for (file, text) in EMBEDDED {
            match load_text(&Path::new("embedded").join(file), text) {
                Ok(loaded) => fixtures.extend(loaded),
                Err(e) => errors.push(e),
            }
        }
    } else {
        let mut files = Vec::new();
        // Path by path, so that a missing one does not keep the others from running.
        for path in paths {
            match collect_fixture_files(std::slice::from_ref(path)) {
                Ok(found) => files.extend(found),
                Err(e) => errors.push(e),
            }
        }
        files.sort();
        files.dedup();
        for file in files {
            match load_file(&file) {
                Ok(loaded) => fixtures.extend(loaded),
                Err(e) => errors.push(e),
            }
        }
    }
    (name_uniquely(fixtures), errors)
}

/// Test names, prefixed by their directory where two files hold the same name
/// (`contracts/snailtracer` and `evmone-suite/snailtracer`).
fn name_uniquely(fixtures: Vec<BenchFixture>) -> Vec<(String, BenchFixture)> {
    let mut count: HashMap<&str, usize> = HashMap::new();
    for f in &fixtures {
        *count.entry(f.name.as_str()).or_default() += 1;
    }
    let repeated: Vec<bool> = fixtures.iter().map(|f| count[f.name.as_str()] > 1).collect();
    fixtures
        .into_iter()
        .zip(repeated)
        .map(|(f, repeated)| {
            let dir = f.file.parent().and_then(Path::file_name).map(|d| d.to_string_lossy());
            let name = match dir {
                Some(dir) if repeated => format!("{dir}/{}", f.name),
                _ => f.name.clone(),
            };
            (name, f)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_set_loads() {
        let (fixtures, errors) = load(&[]);
        assert!(errors.is_empty(), "{errors:?}");
        let names: Vec<&str> = fixtures.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names,
            ["fibonacci-calldata", "factorial", "erc20_transfer", "snailtracer", "hash_10k"]
        );
    }

    #[test]
    fn a_missing_path_is_an_error_and_the_rest_still_load() {
        let dir = std::env::temp_dir().join(format!("kiln-bench-inputs-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("fact.json"), EMBEDDED[1].1).unwrap();
        std::fs::write(dir.join("bad.json"), "{").unwrap();
        let (fixtures, errors) = load(&[dir.clone(), dir.join("missing.json")]);
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(fixtures.len(), 1);
        assert_eq!(errors.len(), 2, "{errors:?}");
        assert!(errors.iter().any(|e| e.name.ends_with("missing.json")), "{errors:?}");
        assert!(errors.iter().any(|e| e.name.ends_with("bad.json")), "{errors:?}");
    }
}
