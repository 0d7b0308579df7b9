//! Routing (openclaw-host spec section 3): which agent gets a message, and
//! under which session key.

use serde::{Deserialize, Serialize};

use crate::ids::{normalize_account_id, normalize_agent_id, DEFAULT_ACCOUNT_ID, DEFAULT_AGENT_ID};
use crate::session::{DirectPeer, DmScope, IdentityLinks, SessionKey};
use crate::HostProfile;

/// An agent of the host's config.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentEntry {
    /// The agent's id.
    pub id: String,
    /// Marked as the default agent.
    #[serde(default)]
    pub default: bool,
}

/// The peer a binding is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeerMatch {
    /// `direct` or `group`.
    pub kind: String,
    /// The peer id, or `*` for any peer.
    pub id: String,
}

/// What a binding matches.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BindingMatch {
    /// The channel id.
    pub channel: String,
    /// The account: an id, `*` for any, or absent for the `default` account only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_id: Option<String>,
    /// A peer, for peer bindings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peer: Option<PeerMatch>,
}

/// `{agentId, match}`: send what matches to this agent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Binding {
    /// The agent.
    pub agent_id: String,
    /// What it matches.
    #[serde(rename = "match")]
    pub match_: BindingMatch,
}

/// Which tier a route came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum MatchedBy {
    /// A binding naming this exact peer.
    Peer,
    /// A binding with `peer.id: "*"`.
    PeerWildcard,
    /// A binding naming the exact account (or none: the default account), no peer.
    Account,
    /// A binding with `accountId: "*"`, no peer.
    Channel,
    /// No binding: the default agent.
    Default,
}

/// What routing decided.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RouteResult {
    /// The agent that gets the message.
    pub agent_id: String,
    /// The message's session.
    pub session_key: SessionKey,
    /// The agent's main session.
    pub main_session_key: SessionKey,
    /// Which tier matched.
    pub matched_by: MatchedBy,
}

/// Why routing failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RouteError {
    /// Newest hosts: several agents and no unique default.
    #[error("agent selection required: several agents and no unique default (hint: add a channel binding)")]
    AgentSelectionRequired,
}

/// The routing config of a host.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RoutingConfig {
    /// The agents, in config order.
    #[serde(default)]
    pub agents: Vec<AgentEntry>,
    /// The bindings, in config order.
    #[serde(default)]
    pub bindings: Vec<Binding>,
    /// `session.dmScope`.
    #[serde(default)]
    pub dm_scope: DmScope,
    /// `session.mainKey` (default `main`).
    #[serde(default)]
    pub main_key: String,
    /// `session.identityLinks`.
    #[serde(default)]
    pub identity_links: IdentityLinks,
}

/// A direct message to route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RouteInput<'a> {
    /// The channel id.
    pub channel: &'a str,
    /// The account it arrived on.
    pub account_id: &'a str,
    /// The sender.
    pub peer_id: &'a str,
}

impl RoutingConfig {
    /// Routes a direct message: exact peer, then peer wildcard, then account,
    /// then channel bindings (first match wins within a tier), else the
    /// default agent.
    pub fn route(
        &self,
        input: RouteInput<'_>,
        profile: HostProfile,
    ) -> Result<RouteResult, RouteError> {
        let account = normalize_account_id(input.account_id);
        let channel = input.channel.trim().to_lowercase();
        let peer = input.peer_id.trim().to_lowercase();
        let candidates = || {
            self.bindings.iter().filter(|b| {
                b.match_.channel.trim().eq_ignore_ascii_case(&channel)
                    && match b.match_.account_id.as_deref().map(str::trim) {
                        None => account == DEFAULT_ACCOUNT_ID,
                        Some("*") => true,
                        Some(id) => normalize_account_id(id) == account,
                    }
            })
        };
        let direct_peer = |b: &&Binding, want_wildcard: bool| {
            b.match_.peer.as_ref().is_some_and(|p| {
                p.kind.eq_ignore_ascii_case("direct")
                    && if want_wildcard {
                        p.id.trim() == "*"
                    } else {
                        p.id.trim() != "*" && p.id.trim().eq_ignore_ascii_case(&peer)
                    }
            })
        };
        let tiers: [(MatchedBy, Option<&Binding>); 4] = [
            (
                MatchedBy::Peer,
                candidates().find(|b| direct_peer(b, false)),
            ),
            (
                MatchedBy::PeerWildcard,
                candidates().find(|b| direct_peer(b, true)),
            ),
            (
                MatchedBy::Account,
                candidates().find(|b| {
                    b.match_.peer.is_none()
                        && b.match_.account_id.as_deref().map(str::trim) != Some("*")
                }),
            ),
            (
                MatchedBy::Channel,
                candidates().find(|b| {
                    b.match_.peer.is_none()
                        && b.match_.account_id.as_deref().map(str::trim) == Some("*")
                }),
            ),
        ];
        let (agent_id, matched_by) =
            match tiers.into_iter().find_map(|(tier, b)| b.map(|b| (b, tier))) {
                Some((binding, tier)) => (normalize_agent_id(&binding.agent_id), tier),
                None => (self.default_agent(profile)?, MatchedBy::Default),
            };
        let session_key = SessionKey::direct(
            self.dm_scope,
            &DirectPeer {
                agent_id: &agent_id,
                channel: &channel,
                account_id: &account,
                peer_id: &peer,
            },
            &self.main_key,
            &self.identity_links,
        );
        Ok(RouteResult {
            main_session_key: SessionKey::main(&agent_id, &self.main_key),
            agent_id,
            session_key,
            matched_by,
        })
    }

    /// The default agent. Late hosts: the one marked default, else the first
    /// listed, else `main`. Newest hosts: only a unique `default: true` agent
    /// or the only agent; several agents and no unique default is an error.
    pub fn default_agent(&self, profile: HostProfile) -> Result<String, RouteError> {
        let marked: Vec<&AgentEntry> = self.agents.iter().filter(|a| a.default).collect();
        match profile {
            HostProfile::Early | HostProfile::Late => {
                Ok(marked.first().or(self.agents.first().as_ref()).map_or_else(
                    || DEFAULT_AGENT_ID.to_owned(),
                    |a| normalize_agent_id(&a.id),
                ))
            }
            HostProfile::Newest => match (marked.as_slice(), self.agents.as_slice()) {
                ([only], _) => Ok(normalize_agent_id(&only.id)),
                (_, []) => Ok(DEFAULT_AGENT_ID.to_owned()),
                (_, [only]) => Ok(normalize_agent_id(&only.id)),
                _ => Err(RouteError::AgentSelectionRequired),
            },
        }
    }
}
