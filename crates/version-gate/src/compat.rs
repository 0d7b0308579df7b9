//! `install.minHostVersion` floors, the Weixin runtime guard, the plugin-line
//! table and the install policy, with the messages a user sees.

use std::cmp::Ordering;

use crate::host_version::{CompareMode, HostVersion};

/// Which host era to behave like.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum HostProfile {
    /// 2026.5.x: compare numeric triples; zero padding tolerated.
    #[default]
    Late,
    /// 2026.9.x: semver order with corrections above their base; zero-padded
    /// versions are an unknown host version (and an invalid floor).
    Newest,
}

impl HostProfile {
    fn mode(self) -> CompareMode {
        match self {
            Self::Late => CompareMode::NumericTriple,
            Self::Newest => CompareMode::Semver,
        }
    }

    fn parse(self, v: &str) -> Result<HostVersion, crate::VersionError> {
        match self {
            Self::Late => HostVersion::parse_lenient(v),
            Self::Newest => HostVersion::parse_strict(v),
        }
    }
}

/// A `minHostVersion` floor: `>=x.y.z[-pre][+build]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Floor {
    /// The lowest host version allowed.
    pub min: HostVersion,
}

/// Why a floor is invalid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("minHostVersion {input:?} is invalid: {reason}")]
pub struct FloorError {
    /// The floor as written.
    pub input: String,
    /// What is wrong.
    pub reason: String,
}

impl Floor {
    /// Parses `>=x.y.z[-pre][+build]`; `allow_bare` also takes `x.y.z` (some
    /// install paths do).
    pub fn parse(input: &str, allow_bare: bool, profile: HostProfile) -> Result<Self, FloorError> {
        let text = input.trim();
        let version = match text.strip_prefix(">=") {
            Some(v) => v.trim(),
            None if allow_bare => text,
            None => {
                return Err(FloorError {
                    input: input.to_owned(),
                    reason: "it must look like >=x.y.z".to_owned(),
                })
            }
        };
        if version.starts_with(['v', 'V']) {
            return Err(FloorError {
                input: input.to_owned(),
                reason: "no v prefix in a floor".to_owned(),
            });
        }
        profile
            .parse(version)
            .map(|min| Self { min })
            .map_err(|e| FloorError {
                input: input.to_owned(),
                reason: e.reason,
            })
    }
}

/// The four results of checking a host against a floor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Compatibility {
    /// The host is new enough.
    Ok,
    /// The floor cannot be read.
    Invalid(FloorError),
    /// The host version is missing or unreadable.
    UnknownHostVersion {
        /// What the host reported.
        found: String,
    },
    /// The host is older than the floor.
    Incompatible {
        /// The host version found.
        found: String,
        /// The floor needed.
        needed: String,
    },
}

/// Checks a host version against a `minHostVersion` floor.
///
/// ```
/// use version_gate::{check_floor, Compatibility, HostProfile};
/// assert_eq!(check_floor(Some("2026.5.12"), ">=2026.5.12", HostProfile::Late), Compatibility::Ok);
/// assert!(matches!(check_floor(Some("2026.4.15"), ">=2026.5.12", HostProfile::Late),
///                  Compatibility::Incompatible { .. }));
/// ```
pub fn check_floor(host: Option<&str>, floor: &str, profile: HostProfile) -> Compatibility {
    let floor = match Floor::parse(floor, false, profile) {
        Ok(f) => f,
        Err(e) => return Compatibility::Invalid(e),
    };
    let found = host.unwrap_or("").trim();
    let Ok(version) = profile.parse(found) else {
        return Compatibility::UnknownHostVersion {
            found: found.to_owned(),
        };
    };
    if version.compare(&floor.min, profile.mode()) == Ordering::Less {
        Compatibility::Incompatible {
            found: version.to_string(),
            needed: format!(">={}", floor.min),
        }
    } else {
        Compatibility::Ok
    }
}

/// The Weixin 2.x runtime floor.
pub const WEIXIN_RUNTIME_FLOOR: &str = "2026.3.22";
/// The npm package of the Weixin channel plugin.
pub const WEIXIN_PACKAGE: &str = "@tencent-weixin/openclaw-weixin";

/// What the Weixin runtime guard decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GuardOutcome {
    /// The host is new enough.
    Pass,
    /// The host version is empty or `unknown`: the check is skipped, with this warning.
    Skipped(String),
    /// The host is too old: this message names both cures.
    TooOld(String),
    /// The host version cannot be read (the published guard throws here).
    Unparseable(String),
}

/// The Weixin runtime guard: the host's numeric triple (prerelease stripped)
/// must be at least [`WEIXIN_RUNTIME_FLOOR`].
pub fn weixin_runtime_guard(host: Option<&str>) -> GuardOutcome {
    let found = host.unwrap_or("").trim();
    if found.is_empty() || found.eq_ignore_ascii_case("unknown") {
        return GuardOutcome::Skipped(format!(
            "OpenClaw host version is {}: skipping the openclaw-weixin compatibility check (needs >= {WEIXIN_RUNTIME_FLOOR})",
            if found.is_empty() { "not reported" } else { "unknown" }
        ));
    }
    let Ok(version) = HostVersion::parse_lenient(found) else {
        return GuardOutcome::Unparseable(format!(
            "cannot read the OpenClaw host version {found:?}; openclaw-weixin needs >= {WEIXIN_RUNTIME_FLOOR}"
        ));
    };
    let floor = HostVersion::parse_lenient(WEIXIN_RUNTIME_FLOOR).ok();
    match floor {
        Some(floor) if version.compare(&floor, CompareMode::NumericTriple) == Ordering::Less => {
            GuardOutcome::TooOld(too_old_message(
                &version.to_string(),
                &format!(">={WEIXIN_RUNTIME_FLOOR}"),
            ))
        }
        _ => GuardOutcome::Pass,
    }
}

/// The message a user sees when the host is too old: the version found, the
/// floor needed, and both cures.
pub fn too_old_message(found: &str, needed: &str) -> String {
    format!(
        "openclaw-weixin needs OpenClaw {needed}, but this host is {found}. \
         Either upgrade OpenClaw (npm install -g openclaw@latest), \
         or install the legacy plugin line for older hosts: \
         openclaw plugins install {WEIXIN_PACKAGE}@legacy"
    )
}

/// A plugin line: which hosts it supports and its npm tag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PluginLine {
    /// The plugin's major version.
    pub major: u64,
    /// The lowest host (inclusive).
    pub min_host: &'static str,
    /// The first host it no longer supports, if any.
    pub below_host: Option<&'static str>,
    /// The npm dist-tag.
    pub tag: &'static str,
}

/// The Weixin plugin lines: 2.x for hosts >= 2026.3.22 (`latest`), 1.x for
/// hosts >= 2026.1.0 and < 2026.3.22 (`legacy`).
pub const PLUGIN_LINES: [PluginLine; 2] = [
    PluginLine {
        major: 2,
        min_host: "2026.3.22",
        below_host: None,
        tag: "latest",
    },
    PluginLine {
        major: 1,
        min_host: "2026.1.0",
        below_host: Some("2026.3.22"),
        tag: "legacy",
    },
];

/// The plugin line for a host version, if any supports it.
pub fn line_for_host(host: &str) -> Option<&'static PluginLine> {
    let v = HostVersion::parse_lenient(host).ok()?;
    PLUGIN_LINES.iter().find(|line| {
        let at_least = HostVersion::parse_lenient(line.min_host)
            .is_ok_and(|m| v.compare(&m, CompareMode::NumericTriple) != Ordering::Less);
        let below = line.below_host.is_none_or(|b| {
            HostVersion::parse_lenient(b)
                .is_ok_and(|b| v.compare(&b, CompareMode::NumericTriple) == Ordering::Less)
        });
        at_least && below
    })
}

/// A published plugin version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Published {
    /// Its semver.
    pub version: semver::Version,
    /// Its `install.minHostVersion`, if declared.
    pub min_host_version: Option<String>,
    /// The dist-tags pointing at it.
    pub tags: Vec<String>,
}

/// What the user asked to install.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InstallSpec {
    /// A bare name or `@latest`.
    Latest,
    /// `@<exact version>`.
    Exact(semver::Version),
    /// `@<tag>` other than `latest`.
    Tag(String),
}

impl InstallSpec {
    /// Parses the part after `@` (empty or `latest` → [`InstallSpec::Latest`]).
    pub fn parse(spec: &str) -> Self {
        let s = spec.trim().trim_start_matches('@');
        if s.is_empty() || s == "latest" {
            return Self::Latest;
        }
        match semver::Version::parse(s.trim_start_matches('v')) {
            Ok(v) => Self::Exact(v),
            Err(_) => Self::Tag(s.to_owned()),
        }
    }
}

/// Why nothing can be installed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum InstallError {
    /// No such version or tag is published.
    #[error("{0} is not published")]
    NotPublished(String),
    /// The chosen version needs a newer host.
    #[error("{version} cannot be installed: {message}")]
    Incompatible {
        /// The version.
        version: String,
        /// The user-facing message with both cures.
        message: String,
    },
    /// No stable version supports this host.
    #[error("no stable version supports OpenClaw {host}: {message}")]
    NoCompatibleVersion {
        /// The host.
        host: String,
        /// The user-facing message with both cures.
        message: String,
    },
    /// The host version cannot be read.
    #[error("unknown OpenClaw host version {0:?}")]
    UnknownHost(String),
}

fn compatible(p: &Published, host: &str, profile: HostProfile) -> Result<(), String> {
    match p.min_host_version.as_deref() {
        None => Ok(()),
        Some(floor) => match check_floor(Some(host), floor, profile) {
            Compatibility::Ok => Ok(()),
            Compatibility::Incompatible { found, needed } => Err(too_old_message(&found, &needed)),
            Compatibility::Invalid(e) => Err(e.to_string()),
            Compatibility::UnknownHostVersion { found } => {
                Err(format!("unknown OpenClaw host version {found:?}"))
            }
        },
    }
}

/// What `openclaw plugins install <pkg>@<spec>` would install on `host`: a
/// bare or `@latest` spec stays on stable releases and, when the newest needs
/// a newer host, takes the newest older compatible one; exact versions and
/// explicit tags fail when incompatible.
pub fn resolve_install(
    host: &str,
    published: &[Published],
    spec: &InstallSpec,
    profile: HostProfile,
) -> Result<semver::Version, InstallError> {
    if profile.parse(host).is_err() {
        return Err(InstallError::UnknownHost(host.to_owned()));
    }
    let chosen = match spec {
        InstallSpec::Latest => {
            let mut stable: Vec<&Published> = published
                .iter()
                .filter(|p| p.version.pre.is_empty())
                .collect();
            stable.sort_by(|a, b| b.version.cmp(&a.version));
            let newest_floor = stable.first().and_then(|p| p.min_host_version.clone());
            return stable
                .iter()
                .find(|p| compatible(p, host, profile).is_ok())
                .map(|p| p.version.clone())
                .ok_or_else(|| InstallError::NoCompatibleVersion {
                    host: host.to_owned(),
                    message: too_old_message(
                        host,
                        newest_floor.as_deref().unwrap_or("a newer host"),
                    ),
                });
        }
        InstallSpec::Exact(v) => published
            .iter()
            .find(|p| p.version == *v)
            .ok_or_else(|| InstallError::NotPublished(v.to_string()))?,
        InstallSpec::Tag(tag) => published
            .iter()
            .find(|p| p.tags.iter().any(|t| t == tag))
            .ok_or_else(|| InstallError::NotPublished(format!("tag {tag}")))?,
    };
    compatible(chosen, host, profile)
        .map(|()| chosen.version.clone())
        .map_err(|message| InstallError::Incompatible {
            version: chosen.version.to_string(),
            message,
        })
}
