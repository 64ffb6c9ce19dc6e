//! Hard forks. Every gas constant, opcode and precompile is selected by a [`SpecId`].

use std::fmt;
use std::str::FromStr;

/// An Ethereum hard fork, in activation order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(u8)]
pub enum SpecId {
    Frontier,
    Homestead,
    TangerineWhistle,
    SpuriousDragon,
    Byzantium,
    Constantinople,
    Petersburg,
    Istanbul,
    Berlin,
    London,
    Paris,
    Shanghai,
    Cancun,
    Prague,
    Osaka,
}

/// A fork name that Kiln does not know.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown fork `{0}` (known: {known})", known = SpecId::names())]
pub struct UnknownFork(pub String);

impl SpecId {
    /// How many forks there are.
    pub const COUNT: usize = 15;

    /// The fork that is live on mainnet today.
    pub const LATEST: SpecId = SpecId::Osaka;

    /// Every fork, in activation order (`ALL[spec as usize] == spec`).
    pub const ALL: [SpecId; Self::COUNT] = [
        SpecId::Frontier,
        SpecId::Homestead,
        SpecId::TangerineWhistle,
        SpecId::SpuriousDragon,
        SpecId::Byzantium,
        SpecId::Constantinople,
        SpecId::Petersburg,
        SpecId::Istanbul,
        SpecId::Berlin,
        SpecId::London,
        SpecId::Paris,
        SpecId::Shanghai,
        SpecId::Cancun,
        SpecId::Prague,
        SpecId::Osaka,
    ];

    const NAMES: [&'static str; Self::COUNT] = [
        "Frontier",
        "Homestead",
        "EIP150",
        "EIP158",
        "Byzantium",
        "Constantinople",
        "ConstantinopleFix",
        "Istanbul",
        "Berlin",
        "London",
        "Paris",
        "Shanghai",
        "Cancun",
        "Prague",
        "Osaka",
    ];

    /// The canonical name, as used in the `post` section of state tests.
    pub fn name(self) -> &'static str {
        Self::NAMES[self as usize]
    }

    /// Whether `self` includes the rules of `other`.
    #[inline]
    pub fn is_enabled_in(self, other: SpecId) -> bool {
        self >= other
    }

    /// Every fork's name, for messages: `Frontier, Homestead, EIP150, ...`.
    pub fn names() -> String {
        Self::NAMES.join(", ")
    }

    pub fn all() -> impl Iterator<Item = SpecId> {
        Self::ALL.into_iter()
    }
}

impl fmt::Display for SpecId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for SpecId {
    type Err = UnknownFork;

    /// Accepts the state-test names (`EIP150`, `EIP158`, `ConstantinopleFix`, ...)
    /// case-insensitively, plus the forks' own names and common aliases (`TangerineWhistle`,
    /// `SpuriousDragon`, `Petersburg`, `Merge`, `Tangerine`, `Spurious`).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let lower = s.to_ascii_lowercase();
        let alias = match lower.as_str() {
            "petersburg" | "constantinoplefix" => Some(SpecId::Petersburg),
            "merge" | "paris" => Some(SpecId::Paris),
            "tangerinewhistle" | "tangerine" => Some(SpecId::TangerineWhistle),
            "spuriousdragon" | "spurious" => Some(SpecId::SpuriousDragon),
            _ => None,
        };
        if let Some(spec) = alias {
            return Ok(spec);
        }
        Self::ALL
            .into_iter()
            .find(|spec| spec.name().eq_ignore_ascii_case(s))
            .ok_or_else(|| UnknownFork(s.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for spec in SpecId::all() {
            assert_eq!(spec.name().parse::<SpecId>().unwrap(), spec);
        }
        assert_eq!("osaka".parse::<SpecId>().unwrap(), SpecId::Osaka);
        assert_eq!("Merge".parse::<SpecId>().unwrap(), SpecId::Paris);
        // The fixtures' names and the forks' own.
        let names = [
            ("EIP150", SpecId::TangerineWhistle),
            ("TangerineWhistle", SpecId::TangerineWhistle),
            ("EIP158", SpecId::SpuriousDragon),
            ("SpuriousDragon", SpecId::SpuriousDragon),
            ("ConstantinopleFix", SpecId::Petersburg),
            ("Petersburg", SpecId::Petersburg),
            ("Constantinople", SpecId::Constantinople),
        ];
        for (name, spec) in names {
            assert_eq!(name.parse::<SpecId>().unwrap(), spec, "{name}");
        }
        assert_eq!(SpecId::TangerineWhistle.name(), "EIP150");
    }

    #[test]
    fn unknown_fork_is_named() {
        let err = "Amsterdamm".parse::<SpecId>().unwrap_err();
        assert!(err.to_string().contains("Amsterdamm"));
        assert!(err.to_string().contains("Osaka"));
    }

    #[test]
    fn order_is_activation_order() {
        assert!(SpecId::Osaka.is_enabled_in(SpecId::Prague));
        assert!(!SpecId::Cancun.is_enabled_in(SpecId::Prague));
        assert!(SpecId::ALL.iter().enumerate().all(|(i, s)| *s as usize == i));
    }
}
