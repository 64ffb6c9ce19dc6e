//! Execution modes: how Kiln runs a contract's code.

use std::fmt;

/// How contract code is executed. Every mode is built; [`Mode::is_built`] remains so that a
/// future mode can be named before it runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default, clap::ValueEnum)]
pub enum Mode {
    /// The reference interpreter in `kiln-runtime`.
    #[default]
    Interp,
    /// Compile every contract in memory before running it.
    Jit,
    /// Run contracts from ahead-of-time compiled shared objects.
    Aot,
    /// Interpret cold code, compile hot code in the background.
    Tiered,
}

/// A mode that is named but not implemented yet.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("mode {0} is not built yet (available: {available})", available = Mode::built_names())]
pub struct ModeNotBuilt(pub Mode);

impl Mode {
    pub const ALL: [Mode; 4] = [Mode::Interp, Mode::Jit, Mode::Aot, Mode::Tiered];

    pub fn name(self) -> &'static str {
        match self {
            Mode::Interp => "interp",
            Mode::Jit => "jit",
            Mode::Aot => "aot",
            Mode::Tiered => "tiered",
        }
    }

    pub fn is_built(self) -> bool {
        matches!(self, Mode::Interp | Mode::Jit | Mode::Aot | Mode::Tiered)
    }

    /// `Ok(self)` if this mode can run, so callers can refuse early rather than per test.
    pub fn ensure_built(self) -> Result<Mode, ModeNotBuilt> {
        if self.is_built() {
            Ok(self)
        } else {
            Err(ModeNotBuilt(self))
        }
    }

    fn built_names() -> String {
        Self::ALL.iter().filter(|m| m.is_built()).map(|m| m.name()).collect::<Vec<_>>().join(", ")
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_mode_is_built() {
        for mode in Mode::ALL {
            assert_eq!(mode.ensure_built(), Ok(mode));
        }
        let err = ModeNotBuilt(Mode::Tiered);
        assert_eq!(
            err.to_string(),
            "mode tiered is not built yet (available: interp, jit, aot, tiered)"
        );
    }
}
