//! Execution modes: how Kiln runs a contract's code.

use std::fmt;

/// How contract code is executed. Only [`Mode::Interp`] exists today; the other variants are
/// accepted by the command line so that scripts can name them, and are refused with a clear
/// error until they are built.
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
        matches!(self, Mode::Interp | Mode::Jit | Mode::Aot)
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
    fn interp_and_jit_are_built() {
        assert_eq!(Mode::Interp.ensure_built(), Ok(Mode::Interp));
        assert_eq!(Mode::Jit.ensure_built(), Ok(Mode::Jit));
        let err = Mode::Tiered.ensure_built().unwrap_err();
        assert_eq!(err.to_string(), "mode tiered is not built yet (available: interp, jit, aot)");
    }
}
