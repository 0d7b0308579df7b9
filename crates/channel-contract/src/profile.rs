//! Host eras: where OpenClaw hosts differ, the behaviour of each is selectable.

use serde::{Deserialize, Serialize};

/// Which host era to behave like. The crates follow [`HostProfile::Late`]
/// unless told otherwise.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HostProfile {
    /// Up to 2026.4.x: `open` admits everyone; the 2026.3.22 pairing reply.
    Early,
    /// 2026.5.x, the default.
    #[default]
    Late,
    /// 2026.9.x: strict default-agent selection; the newest pairing reply.
    Newest,
}
