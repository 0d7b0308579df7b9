//! OpenClaw host versions: `YYYY.M.D` (until mid 2026) and `YYYY.M.PATCH`,
//! with an optional `v`, prereleases (`-beta.N`, `-alpha.N`), corrections
//! (`-N`, stable) and build metadata.
//!
//! The strict grammar is semver's (parsed with the `semver` crate, which
//! refuses zero-padded numbers); a lenient parse also accepts the
//! zero-padded form users type (`2026.04.15`) and remembers that it did,
//! since the newest hosts do not accept it. Where host semantics differ from
//! semver: late hosts compare only the numeric triple, and the newest rank a
//! correction above its base (`2026.5.12-beta.1 < 2026.5.12 < 2026.5.12-1`),
//! where semver would rank `-1` as a prerelease below it.

use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

/// A prerelease tag.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PreKind {
    /// `-alpha.N`.
    Alpha,
    /// `-beta.N`.
    Beta,
}

/// What follows the numeric triple.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Suffix {
    /// A prerelease: `-beta.N` or `-alpha.N`.
    Pre(PreKind, u64),
    /// A correction release: `-N` (stable, ranks above its base on the newest hosts).
    Correction(u64),
}

/// How two host versions are compared.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum CompareMode {
    /// Late hosts (2026.5.x): only the numeric triple; prereleases ignored.
    #[default]
    NumericTriple,
    /// Newest hosts (2026.9.x): semver order, except that a correction ranks
    /// above its base; zero-padded versions do not parse.
    Semver,
}

/// A parsed host version.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct HostVersion {
    /// The year.
    pub year: u64,
    /// The month.
    pub month: u64,
    /// The day (`YYYY.M.D`) or patch (`YYYY.M.PATCH`).
    pub patch: u64,
    /// A prerelease or correction suffix.
    pub suffix: Option<Suffix>,
    /// Build metadata after `+`, ignored in comparisons.
    pub build: Option<String>,
    /// Whether the input was zero-padded (`2026.04.15`), which only a lenient
    /// parse accepts and the newest hosts refuse.
    pub zero_padded: bool,
}

/// Why a version did not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{input:?} is not a host version (YYYY.M.D or YYYY.M.PATCH, optional -beta.N, -alpha.N or -N): {reason}")]
pub struct VersionError {
    /// The input.
    pub input: String,
    /// What was wrong.
    pub reason: String,
}

fn err(input: &str, reason: impl Into<String>) -> VersionError {
    VersionError {
        input: input.to_owned(),
        reason: reason.into(),
    }
}

fn suffix_of(pre: &str, input: &str) -> Result<Option<Suffix>, VersionError> {
    if pre.is_empty() {
        return Ok(None);
    }
    let number = |s: &str| -> Result<u64, VersionError> {
        if s.is_empty()
            || !s.bytes().all(|b| b.is_ascii_digit())
            || (s.len() > 1 && s.starts_with('0'))
        {
            return Err(err(
                input,
                format!("suffix number {s:?} is not a plain decimal"),
            ));
        }
        s.parse()
            .map_err(|_| err(input, format!("suffix number {s:?} is too large")))
    };
    if let Some(n) = pre.strip_prefix("beta.") {
        return Ok(Some(Suffix::Pre(PreKind::Beta, number(n)?)));
    }
    if let Some(n) = pre.strip_prefix("alpha.") {
        return Ok(Some(Suffix::Pre(PreKind::Alpha, number(n)?)));
    }
    if pre.bytes().all(|b| b.is_ascii_digit()) {
        return Ok(Some(Suffix::Correction(number(pre)?)));
    }
    Err(err(
        input,
        format!("unknown suffix -{pre} (expected -beta.N, -alpha.N or -N)"),
    ))
}

impl HostVersion {
    /// The strict parse of the newest hosts: no zero padding.
    pub fn parse_strict(input: &str) -> Result<Self, VersionError> {
        let v = Self::parse_lenient(input)?;
        if v.zero_padded {
            return Err(err(
                input,
                "zero-padded numbers are not accepted (write 2026.4.15, not 2026.04.15)",
            ));
        }
        Ok(v)
    }

    /// The lenient parse: also accepts zero padding (and says so in
    /// [`HostVersion::zero_padded`]).
    ///
    /// ```
    /// use version_gate::HostVersion;
    /// let v = HostVersion::parse_lenient("v2026.04.15-beta.2+g1").unwrap();
    /// assert_eq!((v.year, v.month, v.patch), (2026, 4, 15));
    /// assert!(v.zero_padded);
    /// assert_eq!(v.to_string(), "2026.4.15-beta.2+g1");
    /// ```
    pub fn parse_lenient(input: &str) -> Result<Self, VersionError> {
        let text = input.trim();
        let text = text.strip_prefix(['v', 'V']).unwrap_or(text);
        if text.is_empty() {
            return Err(err(input, "it is empty"));
        }
        let (text, build) = match text.split_once('+') {
            Some((t, b))
                if !b.is_empty()
                    && b.split('.').all(|p| {
                        !p.is_empty() && p.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-')
                    }) =>
            {
                (t, Some(b.to_owned()))
            }
            Some(_) => return Err(err(input, "build metadata after + is empty or malformed")),
            None => (text, None),
        };
        let (core, pre) = text.split_once('-').unwrap_or((text, ""));
        let parts: Vec<&str> = core.split('.').collect();
        if parts.len() != 3 {
            return Err(err(
                input,
                format!("expected three numbers, found {}", parts.len()),
            ));
        }
        let mut zero_padded = false;
        let mut nums = [0u64; 3];
        for (slot, part) in nums.iter_mut().zip(&parts) {
            if part.is_empty() || !part.bytes().all(|b| b.is_ascii_digit()) {
                return Err(err(input, format!("{part:?} is not a number")));
            }
            if part.len() > 1 && part.starts_with('0') {
                zero_padded = true;
            }
            *slot = part
                .parse()
                .map_err(|_| err(input, format!("{part:?} is too large")))?;
        }
        let [year, month, patch] = nums;
        if !(2000..=9999).contains(&year) {
            return Err(err(input, format!("year {year} is not a four-digit year")));
        }
        if !(1..=12).contains(&month) {
            return Err(err(input, format!("month {month} is not 1 to 12")));
        }
        let suffix = suffix_of(pre, input)?;
        let v = Self {
            year,
            month,
            patch,
            suffix,
            build,
            zero_padded,
        };
        // Cross-check the canonical form against semver's own grammar.
        if semver::Version::parse(&v.to_string()).is_err() {
            return Err(err(input, "not a valid semver version once normalized"));
        }
        Ok(v)
    }

    /// The numeric triple.
    pub fn triple(&self) -> (u64, u64, u64) {
        (self.year, self.month, self.patch)
    }

    /// Whether it is a prerelease (`-beta.N`, `-alpha.N`).
    pub fn is_prerelease(&self) -> bool {
        matches!(self.suffix, Some(Suffix::Pre(..)))
    }

    /// Compares two versions the way `mode` says.
    pub fn compare(&self, other: &Self, mode: CompareMode) -> Ordering {
        let by_triple = self.triple().cmp(&other.triple());
        match mode {
            CompareMode::NumericTriple => by_triple,
            CompareMode::Semver => {
                by_triple.then_with(|| rank(self.suffix).cmp(&rank(other.suffix)))
            }
        }
    }
}

/// Order within one triple on the newest hosts: prereleases, the base, corrections.
fn rank(s: Option<Suffix>) -> (u8, u8, u64) {
    match s {
        Some(Suffix::Pre(kind, n)) => (0, kind as u8, n),
        None => (1, 0, 0),
        Some(Suffix::Correction(n)) => (2, 0, n),
    }
}

impl fmt::Display for HostVersion {
    /// The canonical form: no `v`, no zero padding.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.year, self.month, self.patch)?;
        match self.suffix {
            Some(Suffix::Pre(PreKind::Beta, n)) => write!(f, "-beta.{n}")?,
            Some(Suffix::Pre(PreKind::Alpha, n)) => write!(f, "-alpha.{n}")?,
            Some(Suffix::Correction(n)) => write!(f, "-{n}")?,
            None => {}
        }
        if let Some(b) = &self.build {
            write!(f, "+{b}")?;
        }
        Ok(())
    }
}

impl FromStr for HostVersion {
    type Err = VersionError;

    /// The lenient parse.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse_lenient(s)
    }
}
