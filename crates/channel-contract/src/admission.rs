//! Admission (openclaw-host spec section 4): whether a direct message reaches
//! routing, by `dmPolicy`, the effective allow-list and the account owner.

use serde::{Deserialize, Serialize};

use crate::HostProfile;

/// `dmPolicy`: who may talk to the bot.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DmPolicy {
    /// Listed senders; strangers get a pairing challenge (the default).
    #[default]
    Pairing,
    /// Listed senders only; strangers are dropped silently.
    Allowlist,
    /// Late hosts: only if the list holds `"*"`; early hosts: everyone.
    Open,
    /// Nobody.
    Disabled,
}

impl DmPolicy {
    /// The config text: `pairing`, `allowlist`, `open` or `disabled`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pairing => "pairing",
            Self::Allowlist => "allowlist",
            Self::Open => "open",
            Self::Disabled => "disabled",
        }
    }
}

/// What admission decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Decision {
    /// Route the message.
    Allow,
    /// Issue (or keep) a pairing request and drop the message.
    Challenge,
    /// Drop the message silently.
    Drop,
}

/// Why, as a stable code for logs and tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Reason {
    /// `dmPolicy: disabled`.
    PolicyDisabled,
    /// The sender is the account's owner (the WeChat user who scanned the QR).
    Owner,
    /// The sender is in the effective allow-list.
    Listed,
    /// `open` and the list holds `"*"` (late), or `open` on an early host.
    Open,
    /// `open` on a late host without `"*"` in the list.
    OpenWithoutWildcard,
    /// `pairing` and the sender is unknown.
    PairingRequired,
    /// `allowlist` and the sender is unknown.
    NotAllowed,
}

impl Reason {
    /// The code as text, such as `pairing-required`.
    pub fn code(self) -> &'static str {
        match self {
            Self::PolicyDisabled => "policy-disabled",
            Self::Owner => "owner",
            Self::Listed => "listed",
            Self::Open => "open",
            Self::OpenWithoutWildcard => "open-without-wildcard",
            Self::PairingRequired => "pairing-required",
            Self::NotAllowed => "not-allowed",
        }
    }
}

/// The inputs of one admission decision.
#[derive(Debug, Clone, Copy)]
pub struct AdmissionInput<'a> {
    /// The account's `dmPolicy`.
    pub policy: DmPolicy,
    /// The config `allowFrom` entries.
    pub config_allow_from: &'a [String],
    /// The pairing store's approved entries (consulted only under `pairing`).
    pub store_allow_from: &'a [String],
    /// The account's owner, if known.
    pub owner: Option<&'a str>,
    /// The sender.
    pub sender: &'a str,
}

/// An allow-list entry or sender id in comparable form: trimmed, a
/// `user:` or `openclaw-weixin:` prefix removed, lower-cased (peers are
/// looked up case-insensitively).
pub fn normalize_allow_entry(entry: &str) -> String {
    let t = entry.trim();
    let lower = t.to_lowercase();
    let stripped = ["openclaw-weixin:", "weixin:", "user:"]
        .iter()
        .find_map(|p| lower.strip_prefix(p))
        .unwrap_or(&lower);
    stripped.trim().to_owned()
}

/// The effective allow-list: config entries, plus the store's under `pairing`.
pub fn effective_allow_list(input: &AdmissionInput<'_>) -> Vec<String> {
    let mut list: Vec<String> = input
        .config_allow_from
        .iter()
        .map(|e| normalize_allow_entry(e))
        .collect();
    if input.policy == DmPolicy::Pairing {
        list.extend(
            input
                .store_allow_from
                .iter()
                .map(|e| normalize_allow_entry(e)),
        );
    }
    list.retain(|e| !e.is_empty());
    list.dedup();
    list
}

/// Decides whether a direct message is admitted.
///
/// ```
/// use channel_contract::admission::{admit, AdmissionInput, Decision, DmPolicy, Reason};
/// use channel_contract::HostProfile;
/// let input = AdmissionInput { policy: DmPolicy::Pairing, config_allow_from: &[],
///     store_allow_from: &[], owner: Some("owner@im.wechat"), sender: "stranger@im.wechat" };
/// assert_eq!(admit(&input, HostProfile::Late), (Decision::Challenge, Reason::PairingRequired));
/// ```
pub fn admit(input: &AdmissionInput<'_>, profile: HostProfile) -> (Decision, Reason) {
    if input.policy == DmPolicy::Disabled {
        return (Decision::Drop, Reason::PolicyDisabled);
    }
    let sender = normalize_allow_entry(input.sender);
    if input
        .owner
        .is_some_and(|o| !sender.is_empty() && normalize_allow_entry(o) == sender)
    {
        return (Decision::Allow, Reason::Owner);
    }
    let list = effective_allow_list(input);
    match input.policy {
        DmPolicy::Open => {
            if profile == HostProfile::Early || list.iter().any(|e| e == "*") {
                (Decision::Allow, Reason::Open)
            } else {
                (Decision::Drop, Reason::OpenWithoutWildcard)
            }
        }
        _ if !sender.is_empty() && list.contains(&sender) => (Decision::Allow, Reason::Listed),
        DmPolicy::Pairing => (Decision::Challenge, Reason::PairingRequired),
        _ => (Decision::Drop, Reason::NotAllowed),
    }
}
