//! The modes `kiln bench` compares: Kiln's execution modes and the revm baseline.

use std::fmt;

use crate::tools::mode::Mode;

/// One column of the benchmark.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Engine {
    Kiln(Mode),
    /// revm 43's interpreter, the baseline (needs the `revm-baseline` feature).
    Revm,
}

impl Engine {
    /// The default `--modes`: every engine this build can run.
    pub fn all() -> Vec<Engine> {
        let mut all: Vec<Engine> = Mode::ALL
            .into_iter()
            .filter(|m| Self::kiln_mode_benchable(*m))
            .map(Engine::Kiln)
            .collect();
        if cfg!(feature = "revm-baseline") {
            all.push(Engine::Revm);
        }
        all
    }

    pub fn name(self) -> &'static str {
        match self {
            Engine::Kiln(mode) => mode.name(),
            Engine::Revm => "revm",
        }
    }

    /// The names `--modes` accepts, for messages.
    fn available() -> String {
        Engine::all().iter().map(|e| e.name()).collect::<Vec<_>>().join(", ")
    }

    /// Kiln modes the benchmark knows how to prepare (all of them).
    fn kiln_mode_benchable(mode: Mode) -> bool {
        matches!(mode, Mode::Interp | Mode::Jit | Mode::Aot | Mode::Tiered)
    }

    /// Parses one name of `--modes`.
    pub fn parse(name: &str) -> Result<Engine, EngineError> {
        let name = name.trim();
        if name == "revm" {
            return if cfg!(feature = "revm-baseline") {
                Ok(Engine::Revm)
            } else {
                Err(EngineError::NoRevm)
            };
        }
        match Mode::ALL.into_iter().find(|m| m.name() == name) {
            Some(mode) if Self::kiln_mode_benchable(mode) => Ok(Engine::Kiln(mode)),
            Some(mode) => Err(EngineError::NotBenchable(mode)),
            None => Err(EngineError::Unknown(name.to_string())),
        }
    }

    /// Parses a comma-separated `--modes` list; duplicates are dropped, order is kept.
    pub fn parse_list(list: &str) -> Result<Vec<Engine>, EngineError> {
        let mut engines = Vec::new();
        for name in list.split(',').filter(|n| !n.trim().is_empty()) {
            let engine = Engine::parse(name)?;
            if !engines.contains(&engine) {
                engines.push(engine);
            }
        }
        if engines.is_empty() {
            return Err(EngineError::Empty);
        }
        Ok(engines)
    }
}

/// A `--modes` value that names no engine this build can time.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum EngineError {
    #[error("unknown mode {0:?} (available: {avail})", avail = Engine::available())]
    Unknown(String),
    #[error("mode {0} cannot be benchmarked yet (available: {avail})", avail = Engine::available())]
    NotBenchable(Mode),
    #[error("mode revm needs the `revm-baseline` cargo feature, which this build of kiln was compiled without")]
    NoRevm,
    #[error("no modes given")]
    Empty,
}

impl fmt::Display for Engine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mode_lists_parse_in_order() {
        let engines = Engine::parse_list("jit, interp,jit").unwrap();
        assert_eq!(engines, [Engine::Kiln(Mode::Jit), Engine::Kiln(Mode::Interp)]);
        let err = Engine::parse_list("interp,fast").unwrap_err();
        assert_eq!(err, EngineError::Unknown("fast".into()));
        assert!(err.to_string().contains("unknown mode \"fast\" (available: interp,"), "{err}");
        assert_eq!(Engine::parse_list("tiered").unwrap(), [Engine::Kiln(Mode::Tiered)]);
        assert!(Engine::parse_list(",").is_err());
    }

    #[cfg(feature = "revm-baseline")]
    #[test]
    fn revm_is_a_mode_with_the_baseline_feature() {
        assert_eq!(Engine::parse("revm"), Ok(Engine::Revm));
        assert_eq!(Engine::all().last(), Some(&Engine::Revm));
    }
}
