//! Package checks on a plugin directory: `openclaw.plugin.json` and the
//! `openclaw` block of `package.json` (openclaw-host spec section 6).
//!
//! The checks are pure over a [`PackageFiles`] view; [`DirFiles`] is the one
//! implementation that reads a real directory, so the I/O stays at the edge.

use std::path::{Component, Path, PathBuf};

use serde_json::Value;

use crate::compat::{Floor, HostProfile};

/// Read access to a plugin package, by paths relative to its root.
pub trait PackageFiles {
    /// The text of a file, if it exists.
    fn read(&self, rel: &str) -> Option<String>;
    /// Whether a file exists.
    fn exists(&self, rel: &str) -> bool;
}

/// A plugin package on disk.
#[derive(Debug, Clone)]
pub struct DirFiles(pub PathBuf);

impl PackageFiles for DirFiles {
    fn read(&self, rel: &str) -> Option<String> {
        std::fs::read_to_string(self.0.join(rel)).ok()
    }

    fn exists(&self, rel: &str) -> bool {
        self.0.join(rel).is_file()
    }
}

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Severity {
    /// The package cannot load or install.
    Error,
    /// Worth reporting; it still loads.
    Warning,
}

/// One problem with a package.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// How bad it is.
    pub severity: Severity,
    /// A stable code, such as `runtime-entry-missing`.
    pub code: &'static str,
    /// The message, in the host's words where the spec gives them.
    pub message: String,
}

/// Where the check runs, which decides the label of the TypeScript message
/// and whether it is an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckContext {
    /// Loading an installed plugin: an error in the host's managed plugin
    /// root, a warning for a globally installed one.
    Load {
        /// Installed into the host's managed plugin root.
        managed: bool,
    },
    /// Installing a package.
    Install,
}

const TS_EXTENSIONS_LATE: [&str; 3] = ["ts", "mts", "cts"];
const TS_EXTENSIONS_NEWEST: [&str; 4] = ["ts", "mts", "cts", "tsx"];

fn finding(severity: Severity, code: &'static str, message: impl Into<String>) -> Finding {
    Finding {
        severity,
        code,
        message: message.into(),
    }
}

/// Whether a package-relative path stays inside the package.
pub fn stays_inside(rel: &str) -> bool {
    let path = Path::new(rel);
    if path.is_absolute() || rel.starts_with('\\') || rel.contains(':') {
        return false;
    }
    let mut depth: i32 = 0;
    for c in path.components() {
        match c {
            Component::ParentDir => depth -= 1,
            Component::Normal(_) => depth += 1,
            Component::CurDir => {}
            Component::RootDir | Component::Prefix(_) => return false,
        }
        if depth < 0 {
            return false;
        }
    }
    true
}

/// The built files a TypeScript entry may have, in the order the host tries them.
pub fn ts_candidates(entry: &str, profile: HostProfile) -> Vec<String> {
    let rel = entry.trim_start_matches("./");
    let Some((stem, ext)) = rel.rsplit_once('.') else {
        return Vec::new();
    };
    let js: Vec<&str> = match (profile, ext) {
        (HostProfile::Newest, "mts") => vec!["mjs", "js", "cjs"],
        (HostProfile::Newest, "cts") => vec!["cjs", "js", "mjs"],
        _ => vec!["js", "mjs", "cjs"],
    };
    let with = |base: &str| {
        js.iter()
            .map(|e| format!("./{base}.{e}"))
            .collect::<Vec<_>>()
    };
    let mut out = Vec::new();
    match stem.strip_prefix("src/") {
        Some(inner) => {
            out.extend(with(&format!("dist/{inner}")));
            if profile == HostProfile::Newest {
                out.extend(with(&format!("dist/src/{inner}")));
            }
            out.extend(with(stem));
        }
        None => {
            out.extend(with(&format!("dist/{stem}")));
            if profile == HostProfile::Newest {
                out.extend(with(&format!("dist/src/{stem}")));
            }
            out.extend(with(stem));
        }
    }
    out
}

fn strings(v: Option<&Value>) -> Option<Vec<String>> {
    v?.as_array().map(|a| {
        a.iter()
            .filter_map(|x| x.as_str().map(str::to_owned))
            .collect()
    })
}

/// Checks a plugin package. `runtime_floor` is the floor the plugin's own
/// runtime guard enforces (Weixin: 2026.3.22), to report a `minHostVersion`
/// that disagrees with it.
pub fn check_package(
    files: &dyn PackageFiles,
    context: CheckContext,
    profile: HostProfile,
    runtime_floor: Option<&str>,
) -> Vec<Finding> {
    let mut out = Vec::new();
    match files
        .read("openclaw.plugin.json")
        .map(|t| serde_json::from_str::<Value>(&t))
    {
        None => out.push(finding(
            Severity::Error,
            "manifest-missing",
            "openclaw.plugin.json is missing",
        )),
        Some(Err(e)) => out.push(finding(
            Severity::Error,
            "manifest-invalid",
            format!("openclaw.plugin.json is not valid JSON: {e}"),
        )),
        Some(Ok(manifest)) => check_manifest(&manifest, &mut out),
    }
    let package = match files
        .read("package.json")
        .map(|t| serde_json::from_str::<Value>(&t))
    {
        None => {
            out.push(finding(
                Severity::Error,
                "package-missing",
                "package.json is missing",
            ));
            return out;
        }
        Some(Err(e)) => {
            out.push(finding(
                Severity::Error,
                "package-invalid",
                format!("package.json is not valid JSON: {e}"),
            ));
            return out;
        }
        Some(Ok(p)) => p,
    };
    let block = package.get("openclaw").cloned().unwrap_or(Value::Null);
    let extensions = strings(block.get("extensions")).unwrap_or_default();
    let runtime = strings(block.get("runtimeExtensions"));
    for path in extensions.iter().chain(runtime.iter().flatten()) {
        if !stays_inside(path) {
            out.push(finding(
                Severity::Error,
                "entry-escapes",
                format!("entry path escapes the package: {path}"),
            ));
        }
    }
    match &runtime {
        Some(rt) => {
            if rt.len() != extensions.len() {
                out.push(finding(
                    Severity::Error,
                    "runtime-not-paired",
                    format!(
                        "runtimeExtensions ({} entries) must pair with extensions ({} entries) by position",
                        rt.len(),
                        extensions.len()
                    ),
                ));
            }
            for path in rt.iter().filter(|p| stays_inside(p)) {
                if !files.exists(path) {
                    out.push(finding(
                        Severity::Error,
                        "runtime-entry-missing",
                        format!("runtime extension entry not found: {path}"),
                    ));
                }
            }
        }
        None => {
            let ts: &[&str] = match profile {
                HostProfile::Late => &TS_EXTENSIONS_LATE,
                HostProfile::Newest => &TS_EXTENSIONS_NEWEST,
            };
            for entry in extensions.iter().filter(|p| stays_inside(p)) {
                let is_ts = entry
                    .rsplit_once('.')
                    .is_some_and(|(_, ext)| ts.contains(&ext));
                if !is_ts {
                    continue;
                }
                let candidates = ts_candidates(entry, profile);
                if candidates.iter().any(|c| files.exists(c)) {
                    continue;
                }
                let (label, severity) = match context {
                    CheckContext::Install => ("package install", Severity::Error),
                    CheckContext::Load { managed: true } => {
                        ("installed plugin package", Severity::Error)
                    }
                    CheckContext::Load { managed: false } => {
                        ("installed plugin package", Severity::Warning)
                    }
                };
                out.push(finding(
                    severity,
                    "typescript-entry-not-built",
                    format!(
                        "{label} requires compiled runtime output for TypeScript entry {entry}: expected {}. \
                         This is a plugin packaging issue, not a local config problem; \
                         install a published build of the plugin or ask its maintainer to ship compiled output.",
                        candidates.join(", ")
                    ),
                ));
            }
        }
    }
    if let Some(floor_text) = block
        .pointer("/install/minHostVersion")
        .and_then(Value::as_str)
    {
        match Floor::parse(floor_text, false, profile) {
            Err(e) => out.push(finding(Severity::Error, "min-host-invalid", e.to_string())),
            Ok(floor) => {
                let runtime = runtime_floor.and_then(|r| crate::HostVersion::parse_lenient(r).ok());
                if let Some(rt) = runtime.filter(|rt| rt.triple() != floor.min.triple()) {
                    out.push(finding(
                        Severity::Warning,
                        "min-host-disagrees",
                        format!(
                            "install.minHostVersion {floor_text} disagrees with the runtime guard's floor >={rt}: \
                             hosts between them are refused by one and accepted by the other"
                        ),
                    ));
                }
            }
        }
    }
    out
}

fn check_manifest(manifest: &Value, out: &mut Vec<Finding>) {
    if manifest
        .get("id")
        .and_then(Value::as_str)
        .is_none_or(|s| s.trim().is_empty())
    {
        out.push(finding(
            Severity::Error,
            "manifest-id-missing",
            "openclaw.plugin.json is missing \"id\"",
        ));
    }
    if !manifest.get("configSchema").is_some_and(Value::is_object) {
        out.push(finding(
            Severity::Error,
            "manifest-config-schema-missing",
            "openclaw.plugin.json is missing \"configSchema\" (a JSON Schema object)",
        ));
    }
    for channel in strings(manifest.get("channels")).unwrap_or_default() {
        let schema = manifest
            .get("channelConfigs")
            .and_then(|c| c.get(&channel))
            .and_then(|c| c.get("schema"));
        if !schema.is_some_and(Value::is_object) {
            out.push(finding(
                Severity::Error,
                "channel-config-missing",
                format!("channel {channel} has no channelConfigs.{channel}.schema"),
            ));
        }
    }
}
