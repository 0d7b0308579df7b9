//! Session keys (openclaw-host spec section 2): which conversation a message
//! belongs to, by `session.dmScope`.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::ids::{normalize_account_id, normalize_agent_id, DEFAULT_MAIN_KEY};

/// `session.dmScope`: how direct messages are grouped into sessions.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DmScope {
    /// One session for everything: `agent:<agent>:<mainKey>`.
    #[default]
    Main,
    /// One per peer: `agent:<agent>:direct:<peer>`.
    PerPeer,
    /// One per channel and peer: `agent:<agent>:<channel>:direct:<peer>`.
    PerChannelPeer,
    /// One per account, channel and peer:
    /// `agent:<agent>:<channel>:<account>:direct:<peer>`. The only scope that
    /// keeps two accounts' conversations with one person apart.
    PerAccountChannelPeer,
}

/// `session.identityLinks`: canonical names, each with the peers
/// (`<peer>` or `<channel>:<peer>`) that are the same person.
pub type IdentityLinks = BTreeMap<String, Vec<String>>;

/// A session key. It can only be made by derivation ([`SessionKey::direct`],
/// [`SessionKey::group`], [`SessionKey::main`]), so it is always lower-case
/// and well formed.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct SessionKey(String);

/// What a direct-message session key is derived from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DirectPeer<'a> {
    /// The agent the message is routed to.
    pub agent_id: &'a str,
    /// The channel id, such as `openclaw-weixin`.
    pub channel: &'a str,
    /// The account the message arrived on.
    pub account_id: &'a str,
    /// The sender's id on the channel.
    pub peer_id: &'a str,
}

impl SessionKey {
    /// The main session of an agent: `agent:<agent>:<mainKey>` (`mainKey`
    /// defaults to `main` when empty).
    pub fn main(agent_id: &str, main_key: &str) -> Self {
        let main_key = main_key.trim();
        let main_key = if main_key.is_empty() {
            DEFAULT_MAIN_KEY
        } else {
            main_key
        };
        Self(format!("agent:{}:{}", normalize_agent_id(agent_id), main_key).to_lowercase())
    }

    /// The session of a direct message under `scope`. An empty peer id falls
    /// back to the main session under every scope; identity links apply
    /// unless the scope is `main`.
    ///
    /// ```
    /// use channel_contract::session::{DirectPeer, DmScope, IdentityLinks, SessionKey};
    /// let peer = DirectPeer { agent_id: "main", channel: "openclaw-weixin",
    ///     account_id: "b0f5860fdecb-im-bot", peer_id: "A1@im.wechat" };
    /// let key = SessionKey::direct(DmScope::PerAccountChannelPeer, &peer, "main", &IdentityLinks::new());
    /// assert_eq!(key.as_str(), "agent:main:openclaw-weixin:b0f5860fdecb-im-bot:direct:a1@im.wechat");
    /// ```
    pub fn direct(
        scope: DmScope,
        peer: &DirectPeer<'_>,
        main_key: &str,
        links: &IdentityLinks,
    ) -> Self {
        let peer_id = peer.peer_id.trim();
        if scope == DmScope::Main || peer_id.is_empty() {
            return Self::main(peer.agent_id, main_key);
        }
        let agent = normalize_agent_id(peer.agent_id);
        let channel = peer.channel.trim().to_lowercase();
        let peer_id =
            linked_identity(links, &channel, peer_id).unwrap_or_else(|| peer_id.to_owned());
        let key = match scope {
            DmScope::Main | DmScope::PerPeer => format!("agent:{agent}:direct:{peer_id}"),
            DmScope::PerChannelPeer => format!("agent:{agent}:{channel}:direct:{peer_id}"),
            DmScope::PerAccountChannelPeer => format!(
                "agent:{agent}:{channel}:{}:direct:{peer_id}",
                normalize_account_id(peer.account_id)
            ),
        };
        Self(key.to_lowercase())
    }

    /// The session of a group chat: `agent:<agent>:<channel>:group:<group>`
    /// (unused by Weixin, which declares direct chats only).
    pub fn group(agent_id: &str, channel: &str, group_id: &str) -> Self {
        Self(
            format!(
                "agent:{}:{}:group:{}",
                normalize_agent_id(agent_id),
                channel.trim(),
                group_id.trim()
            )
            .to_lowercase(),
        )
    }

    /// The key as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for SessionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for SessionKey {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// The canonical name that lists `peer` or `<channel>:<peer>`, if any
/// (compared case-insensitively).
fn linked_identity(links: &IdentityLinks, channel: &str, peer: &str) -> Option<String> {
    let bare = peer.to_lowercase();
    let scoped = format!("{channel}:{bare}");
    links.iter().find_map(|(canonical, members)| {
        members
            .iter()
            .map(|m| m.trim().to_lowercase())
            .any(|m| m == bare || m == scoped)
            .then(|| canonical.trim().to_lowercase())
    })
}
