//! The fork `--fork` selects, and the forks a fixture's network name runs under.

use std::fmt;
use std::str::FromStr;

use kiln_runtime::SpecId;

/// A fork as `--fork` names it: a set of EVM rules, or a blob-parameter-only fork
/// (EIP-7892's `BPO1`, `BPO2`, …: Osaka's rules with another blob schedule), which only a
/// blockchain test's network can name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum ForkName {
    Spec(SpecId),
    Bpo(u8),
}

/// A `--fork` value that names no fork.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown fork `{0}` (known: {known}, BPO1, BPO2, …)", known = SpecId::names())]
pub struct UnknownForkName(pub String);

impl FromStr for ForkName {
    type Err = UnknownForkName;

    /// A [`SpecId`] name (any spelling `SpecId` accepts), or `BPO` and a number from 1.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let unknown = || UnknownForkName(s.to_string());
        if s.len() > 3 && s[..3].eq_ignore_ascii_case("bpo") {
            return match s[3..].parse::<u8>() {
                Ok(n) if n > 0 && s[3..].bytes().all(|b| b.is_ascii_digit()) => Ok(Self::Bpo(n)),
                _ => Err(unknown()),
            };
        }
        s.parse().map(Self::Spec).map_err(|_| unknown())
    }
}

impl fmt::Display for ForkName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Spec(spec) => f.write_str(spec.name()),
            Self::Bpo(n) => write!(f, "BPO{n}"),
        }
    }
}

impl ForkName {
    /// Whether this is the fork `spec` (a state test's fork key).
    pub fn is(self, spec: SpecId) -> bool {
        self == Self::Spec(spec)
    }

    /// Whether a blockchain test's `network` runs under this fork at some block: the network
    /// is the fork, or a transition from or to it (`CancunToPragueAtTime15k` for `Cancun` and
    /// for `Prague`). Names compare as forks, so `Petersburg` selects `ConstantinopleFix`.
    pub fn in_network(self, network: &str) -> bool {
        network_forks(network).iter().any(|name| name.parse() == Ok(self))
    }

    /// Where a fork key or network sorts in a report: by activation (BPO forks after
    /// Osaka), names that are no fork first.
    pub fn order_key(name: &str) -> Option<Self> {
        network_forks(name).first()?.parse().ok()
    }
}

/// The fork names a network consists of: `Cancun` → `[Cancun]`, `XToYAtTime15k` or
/// `XToYAt5` → `[X, Y]`. (`kiln::block::ChainConfig::from_network` parses the same names
/// into rules, which lose a BPO fork's name.)
pub fn network_forks(network: &str) -> Vec<&str> {
    match network.split_once("To") {
        Some((from, rest)) => match rest.rsplit_once("At") {
            Some((to, _)) => vec![from, to],
            None => vec![network],
        },
        None => vec![network],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_as_forks() {
        assert_eq!("cancun".parse(), Ok(ForkName::Spec(SpecId::Cancun)));
        assert_eq!("ConstantinopleFix".parse(), Ok(ForkName::Spec(SpecId::Petersburg)));
        assert_eq!("bpo2".parse(), Ok(ForkName::Bpo(2)));
        for bad in ["Amsterdamm", "BPO0", "BPO", "BPOx", "BPO+1", "BPO999"] {
            let err = bad.parse::<ForkName>().unwrap_err();
            assert!(err.to_string().starts_with(&format!("unknown fork `{bad}`")), "{err}");
        }
        assert_eq!(ForkName::Bpo(3).to_string(), "BPO3");
    }

    #[test]
    fn networks_hold_their_forks() {
        let fork = |s: &str| s.parse::<ForkName>().unwrap();
        assert!(fork("cancun").in_network("Cancun"));
        assert!(fork("Cancun").in_network("CancunToPragueAtTime15k"));
        assert!(fork("prague").in_network("CancunToPragueAtTime15k"));
        assert!(fork("BPO2").in_network("BPO1ToBPO2AtTime15k"));
        assert!(fork("Petersburg").in_network("ConstantinopleFix"));
        assert!(fork("London").in_network("BerlinToLondonAt5"));
        assert!(!fork("Prague").in_network("Cancun"));
        assert!(!fork("Prague").in_network("OsakaToBPO1AtTime15k"));
        assert!(!fork("Osaka").in_network("BPO1ToBPO2AtTime15k"));
    }

    #[test]
    fn reports_sort_by_activation() {
        let mut names = ["BPO1ToBPO2AtTime15k", "Osaka", "Amsterdamm", "Cancun", "Frontier"];
        names.sort_by_key(|n| (ForkName::order_key(n), *n));
        assert_eq!(names, ["Amsterdamm", "Frontier", "Cancun", "Osaka", "BPO1ToBPO2AtTime15k"]);
    }
}
