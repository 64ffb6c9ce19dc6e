//! The fixture files a run goes over.

use std::path::{Path, PathBuf};

/// Directory nesting beyond which [`collect_files`] stops descending (guards symlink loops).
const MAX_DEPTH: usize = 64;

#[derive(Debug, thiserror::Error)]
pub enum CollectError {
    #[error("{}: no such file or directory", .0.display())]
    Missing(PathBuf),
    #[error("cannot read {}: {source}", path.display())]
    Io { path: PathBuf, source: std::io::Error },
}

/// The fixture files under `paths`: files as given, directories searched recursively for
/// `.json` files; sorted and without duplicates.
pub fn collect_files(paths: &[PathBuf]) -> Result<Vec<PathBuf>, CollectError> {
    let mut files = Vec::new();
    for path in paths {
        let meta = std::fs::metadata(path).map_err(|source| {
            if source.kind() == std::io::ErrorKind::NotFound {
                CollectError::Missing(path.clone())
            } else {
                CollectError::Io { path: path.clone(), source }
            }
        })?;
        if meta.is_dir() {
            walk(path, &mut files, 0)?;
        } else {
            files.push(path.clone());
        }
    }
    files.sort();
    files.dedup();
    Ok(files)
}

fn walk(dir: &Path, files: &mut Vec<PathBuf>, depth: usize) -> Result<(), CollectError> {
    if depth > MAX_DEPTH {
        return Ok(());
    }
    let io = |source| CollectError::Io { path: dir.to_path_buf(), source };
    for entry in std::fs::read_dir(dir).map_err(io)? {
        let path = entry.map_err(io)?.path();
        // `metadata` follows symlinks; a dangling one is simply not a fixture.
        let Ok(meta) = std::fs::metadata(&path) else {
            continue;
        };
        if meta.is_dir() {
            walk(&path, files, depth + 1)?;
        } else if path.extension().is_some_and(|e| e == "json") {
            files.push(path);
        }
    }
    Ok(())
}

/// Every test of every fixture file under `dir`, for the tests that go over a whole shared
/// fixture set: `None` (with a note printed) when `dir` is absent, so that a checkout without
/// the fixtures still passes; a file that does not read or parse fails the calling test.
#[cfg(test)]
pub(crate) fn each_fixture_test<T: serde::de::DeserializeOwned>(
    dir: &Path,
    mut f: impl FnMut(&Path, &str, &T),
) -> Option<usize> {
    if !dir.is_dir() {
        println!("note: {} is absent; skipping", dir.display());
        return None;
    }
    let files = collect_files(&[dir.to_path_buf()]).expect("listing the fixtures");
    for path in &files {
        let text = std::fs::read_to_string(path).expect("reading a fixture");
        let file: std::collections::BTreeMap<String, T> =
            serde_json::from_str(&text).expect("a fixture that loads");
        for (name, test) in &file {
            f(path, name, test);
        }
    }
    Some(files.len())
}
