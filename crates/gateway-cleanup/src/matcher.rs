//! Which listeners count as a gateway.

use std::fmt;
use std::sync::Arc;

use crate::procfs::ProcessInfo;

/// Decides whether a listener on the gateway port is a gateway.
#[derive(Clone)]
pub enum GatewayMatcher {
    /// The host's rule: the command name contains `openclaw`, or the argv
    /// contains `gateway` and either an entry script (`dist/index.js`,
    /// `openclaw.mjs`) or the executable `openclaw`.
    Default,
    /// A caller's own rule (tests match only their own marker this way).
    Custom(Arc<dyn Fn(&ProcessInfo) -> bool + Send + Sync>),
}

impl fmt::Debug for GatewayMatcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Default => f.write_str("GatewayMatcher::Default"),
            Self::Custom(_) => f.write_str("GatewayMatcher::Custom(..)"),
        }
    }
}

impl GatewayMatcher {
    /// A matcher for processes whose argv holds `marker` as a whole argument.
    pub fn argv_marker(marker: impl Into<String>) -> Self {
        let marker = marker.into();
        Self::Custom(Arc::new(move |p: &ProcessInfo| p.argv.contains(&marker)))
    }

    /// Whether `p` is a gateway.
    pub fn matches(&self, p: &ProcessInfo) -> bool {
        match self {
            Self::Default => default_rule(p),
            Self::Custom(f) => f(p),
        }
    }
}

fn default_rule(p: &ProcessInfo) -> bool {
    if p.name.to_lowercase().contains("openclaw") {
        return true;
    }
    let has_gateway = p.argv.iter().any(|a| a == "gateway");
    let entry = p.argv.iter().any(|a| {
        let base = a.rsplit('/').next().unwrap_or(a);
        a.ends_with("dist/index.js") || base == "openclaw.mjs" || base == "openclaw"
    });
    has_gateway && entry
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(name: &str, argv: &[&str]) -> ProcessInfo {
        ProcessInfo {
            pid: 10,
            ppid: Some(1),
            name: name.into(),
            argv: argv.iter().map(|a| (*a).to_owned()).collect(),
        }
    }

    #[test]
    fn default_rule_cases() {
        let m = GatewayMatcher::Default;
        assert!(m.matches(&info("openclaw-gatewa", &[])));
        assert!(m.matches(&info(
            "node",
            &[
                "node",
                "/usr/lib/openclaw/dist/index.js",
                "gateway",
                "--port",
                "18789"
            ]
        )));
        assert!(m.matches(&info("node", &["node", "/opt/openclaw.mjs", "gateway"])));
        assert!(m.matches(&info("bun", &["/usr/local/bin/openclaw", "gateway"])));
        assert!(!m.matches(&info("node", &["node", "dist/index.js", "serve"])));
        assert!(!m.matches(&info("nginx", &["nginx", "gateway"])));
        assert!(!m.matches(&info("python3", &["python3", "-m", "http.server"])));
        let marker = GatewayMatcher::argv_marker("m-1");
        assert!(marker.matches(&info("x", &["x", "m-1"])));
        assert!(!marker.matches(&info("x", &["x", "m-10"])));
    }
}
