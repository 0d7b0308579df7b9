//! Where the host keeps its state: the state directory, the credentials
//! directory and the config file, from the environment as the host resolves
//! them (ilink-protocol spec section 6, openclaw-host spec section 4).

use std::path::{Path, PathBuf};

/// The resolved locations.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct StateLayout {
    /// `$OPENCLAW_STATE_DIR`, else `$CLAWDBOT_STATE_DIR`, else `~/.openclaw`.
    pub state_dir: PathBuf,
    /// `$OPENCLAW_OAUTH_DIR`, else `<state>/credentials`.
    pub credentials_dir: PathBuf,
    /// `$OPENCLAW_CONFIG`, else `<state>/openclaw.json`.
    pub config_path: PathBuf,
}

/// Why the layout could not be resolved.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LayoutError {
    /// No state dir variable is set and there is no home directory.
    #[error(
        "cannot find the state directory: set OPENCLAW_STATE_DIR (no home directory is known)"
    )]
    NoHome,
}

impl StateLayout {
    /// Resolves the layout from this process's environment and home directory.
    pub fn from_env() -> Result<Self, LayoutError> {
        let home = std::env::var_os("HOME").map(PathBuf::from);
        Self::resolve(|k| std::env::var(k).ok(), home.as_deref())
    }

    /// Resolves the layout from `env` (a variable lookup) and `home`. Empty
    /// variables count as unset; a leading `~/` means `home`.
    ///
    /// ```
    /// use channel_contract::state::StateLayout;
    /// use std::path::Path;
    /// let env = |k: &str| (k == "OPENCLAW_STATE_DIR").then(|| "~/claw".to_owned());
    /// let layout = StateLayout::resolve(env, Some(Path::new("/home/u"))).unwrap();
    /// assert_eq!(layout.state_dir, Path::new("/home/u/claw"));
    /// assert_eq!(layout.credentials_dir, Path::new("/home/u/claw/credentials"));
    /// assert_eq!(layout.config_path, Path::new("/home/u/claw/openclaw.json"));
    /// ```
    pub fn resolve(
        env: impl Fn(&str) -> Option<String>,
        home: Option<&Path>,
    ) -> Result<Self, LayoutError> {
        let var = |k: &str| {
            env(k)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
                .map(|v| expand_home(&v, home))
        };
        let state_dir = match var("OPENCLAW_STATE_DIR").or_else(|| var("CLAWDBOT_STATE_DIR")) {
            Some(dir) => dir,
            None => home.ok_or(LayoutError::NoHome)?.join(".openclaw"),
        };
        let credentials_dir =
            var("OPENCLAW_OAUTH_DIR").unwrap_or_else(|| state_dir.join("credentials"));
        let config_path = var("OPENCLAW_CONFIG").unwrap_or_else(|| state_dir.join("openclaw.json"));
        Ok(Self {
            state_dir,
            credentials_dir,
            config_path,
        })
    }

    /// A layout rooted at `state_dir` with the default sub-paths.
    pub fn at(state_dir: impl Into<PathBuf>) -> Self {
        let state_dir = state_dir.into();
        Self {
            credentials_dir: state_dir.join("credentials"),
            config_path: state_dir.join("openclaw.json"),
            state_dir,
        }
    }

    /// A channel's own directory under the state dir, such as `<state>/openclaw-weixin`.
    pub fn channel_dir(&self, channel: &str) -> PathBuf {
        self.state_dir.join(channel)
    }
}

fn expand_home(value: &str, home: Option<&Path>) -> PathBuf {
    match (value.strip_prefix("~/"), home) {
        (Some(rest), Some(home)) => home.join(rest),
        _ if value == "~" => home.map_or_else(|| PathBuf::from(value), Path::to_owned),
        _ => PathBuf::from(value),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |k| {
            vars.iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| (*v).to_owned())
        }
    }

    #[test]
    fn precedence_and_defaults() {
        let home = Some(Path::new("/h"));
        let l = StateLayout::resolve(env(&[]), home).unwrap();
        assert_eq!(l, StateLayout::at("/h/.openclaw"));
        let l = StateLayout::resolve(env(&[("CLAWDBOT_STATE_DIR", "/c")]), home).unwrap();
        assert_eq!(l.state_dir, Path::new("/c"));
        let l = StateLayout::resolve(
            env(&[("CLAWDBOT_STATE_DIR", "/c"), ("OPENCLAW_STATE_DIR", "/o")]),
            home,
        )
        .unwrap();
        assert_eq!(l.state_dir, Path::new("/o"));
        let l = StateLayout::resolve(
            env(&[
                ("OPENCLAW_STATE_DIR", " "),
                ("OPENCLAW_OAUTH_DIR", "/creds"),
                ("OPENCLAW_CONFIG", "/etc/claw.json"),
            ]),
            home,
        )
        .unwrap();
        assert_eq!(
            l.state_dir,
            Path::new("/h/.openclaw"),
            "empty counts as unset"
        );
        assert_eq!(l.credentials_dir, Path::new("/creds"));
        assert_eq!(l.config_path, Path::new("/etc/claw.json"));
        assert_eq!(
            StateLayout::resolve(env(&[]), None),
            Err(LayoutError::NoHome)
        );
        assert_eq!(
            StateLayout::at("/s").channel_dir("openclaw-weixin"),
            Path::new("/s/openclaw-weixin")
        );
    }
}
