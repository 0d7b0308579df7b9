//! The channel plugin contract (openclaw-host spec section 5) as Rust traits
//! and types: what a host asks of a channel plugin and what it hands it.
//!
//! A plugin has an id, [`ChannelMeta`], [`ChannelCapabilities`] and a
//! [`ConfigAdapter`]; the optional adapters are [`GatewayAdapter`] (run an
//! account until aborted), [`OutboundAdapter`] (send text and media),
//! [`StatusAdapter`] (probe, snapshot), [`AuthAdapter`] (the QR login),
//! [`PairingAdapter`] (sender id label, allow-entry normalization) and
//! [`TargetResolver`] (which targets look like ids). [`ChannelPlugin`] ties
//! them together.
//!
//! The async traits use the [`async_trait`](mod@async_trait) crate so that they stay
//! object-safe: a host keeps plugins and adapters as `Arc<dyn Trait>` and
//! their futures are `Send`, so it can spawn them. Every trait is
//! `Send + Sync`; compile-time checks at the end of this module keep it so.
//!
//! The host's restart policy for crashed accounts is here too, as the pure
//! [`restart_delay`].
//!
//! A gateway adapter runs until the abort signal fires and takes the runtime
//! from its context on every call:
//!
//! ```
//! use async_trait::async_trait;
//! use channel_contract::plugin::{ChannelError, GatewayAdapter, GatewayContext, SnapshotPatch};
//!
//! struct Gateway;
//!
//! #[async_trait]
//! impl GatewayAdapter for Gateway {
//!     async fn start_account(&self, ctx: GatewayContext) -> Result<(), ChannelError> {
//!         ctx.status.merge(SnapshotPatch::new().running(Some(true)));
//!         // ... poll, and for each admitted message use `ctx.runtime` (route,
//!         // record_inbound_session, save_media, dispatch) ...
//!         ctx.cancel.cancelled().await;
//!         ctx.status.merge(SnapshotPatch::new().running(Some(false)));
//!         Ok(())
//!     }
//! }
//! ```

use std::fmt;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

use crate::admission::DmPolicy;
use crate::runtime::{HostRuntime, RuntimeError};
use crate::HostProfile;

// ---------------------------------------------------------------------------
// Identity and capabilities
// ---------------------------------------------------------------------------

/// What a host shows about a channel: its name in lists, pickers and docs.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ChannelMeta {
    /// The channel id, such as `openclaw-weixin`.
    pub id: String,
    /// The display name, such as `Weixin`.
    pub label: String,
    /// The name in the host's channel picker.
    pub selection_label: String,
    /// Where the channel's docs live, such as `/channels/weixin`.
    pub docs_path: String,
    /// One line about the channel.
    pub blurb: String,
    /// Sort order in lists (lower first).
    pub order: i32,
}

impl ChannelMeta {
    /// Meta with an id and a label; the selection label defaults to the
    /// label, the rest is empty. Set the other fields directly.
    pub fn new(id: impl Into<String>, label: impl Into<String>) -> Self {
        let label = label.into();
        Self {
            id: id.into(),
            selection_label: label.clone(),
            label,
            ..Self::default()
        }
    }
}

/// A kind of chat a channel can take part in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum ChatType {
    /// One-to-one chats (all Weixin declares).
    Direct,
    /// Group chats.
    Group,
}

impl ChatType {
    /// The host's text: `direct` or `group`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Direct => "direct",
            Self::Group => "group",
        }
    }
}

/// What a channel can do.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ChannelCapabilities {
    /// The chat kinds it takes part in.
    pub chat_types: Vec<ChatType>,
    /// It sends and receives media.
    pub media: bool,
    /// It can deliver a reply in blocks while the agent is still streaming.
    pub block_streaming: bool,
}

impl ChannelCapabilities {
    /// Capabilities with the given chat kinds, no media, no block streaming.
    pub fn new(chat_types: Vec<ChatType>) -> Self {
        Self {
            chat_types,
            ..Self::default()
        }
    }

    /// Whether `chat_type` is declared.
    pub fn supports(&self, chat_type: ChatType) -> bool {
        self.chat_types.contains(&chat_type)
    }
}

// ---------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------

/// The text of a paused session, shared by [`ChannelError::Paused`], the
/// account's `lastError` and the status line: `paused, N min left, log in
/// again`.
pub fn paused_text(minutes_left: u64) -> String {
    format!("paused, {minutes_left} min left, log in again")
}

/// Whether an error text (such as a snapshot's `lastError`) says that the
/// session is paused.
pub fn is_paused_text(text: &str) -> bool {
    let t = text.trim_start().to_ascii_lowercase();
    t.starts_with("paused") || t.starts_with("session paused")
}

/// Why a channel call failed. Display text names the failing value and never
/// a token: the free-text kinds are scrubbed of bearer tokens, `token=`
/// values and URL query strings when shown.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ChannelError {
    /// The account has no credentials yet: log in first.
    #[error("account is not configured: log in first")]
    NotConfigured,
    /// The server paused the session; it resumes by itself after the pause or
    /// after a new login.
    #[error("session {}", paused_text(*minutes_left))]
    Paused {
        /// Whole minutes until the pause ends.
        minutes_left: u64,
    },
    /// No account id was given and several accounts could be meant.
    #[error("several accounts could be meant ({}): pass an account id", .0.join(", "))]
    Ambiguous(Vec<String>),
    /// No account exists (or none matches the given id).
    #[error("no such account")]
    NoAccount,
    /// The request never got an answer (connection, timeout, TLS).
    #[error("transport failure: {}", scrub_secrets(.0))]
    Transport(String),
    /// The server answered and refused.
    #[error("rejected: {}", scrub_secrets(.0))]
    Rejected(String),
    /// A call into the host runtime failed.
    #[error("host runtime: {0}")]
    Runtime(#[from] RuntimeError),
    /// Anything else.
    #[error("{}", scrub_secrets(.0))]
    Other(String),
}

impl ChannelError {
    /// A stable code for logs and tests, such as `paused`.
    pub fn code(&self) -> &'static str {
        match self {
            Self::NotConfigured => "not-configured",
            Self::Paused { .. } => "paused",
            Self::Ambiguous(_) => "ambiguous",
            Self::NoAccount => "no-account",
            Self::Transport(_) => "transport",
            Self::Rejected(_) => "rejected",
            Self::Runtime(_) => "runtime",
            Self::Other(_) => "other",
        }
    }
}

/// Words whose value is a secret, compared case-insensitively.
const SECRET_WORDS: [&str; 6] = [
    "token",
    "authorization",
    "bearer",
    "secret",
    "password",
    "aes_key",
];

/// Masks what could be a secret in a free-text error: the value after any
/// word holding `token`, `authorization`, `secret`, `password` or `aes_key`
/// and a `=` or `:` (also JSON-quoted, also as the next word), the word after
/// `Bearer`, and the query string of URLs.
pub(crate) fn scrub_secrets(text: &str) -> String {
    const MASK: &str = "****";
    let is_bearer = |w: &str| {
        w.trim_matches(|c: char| !c.is_ascii_alphanumeric())
            .eq_ignore_ascii_case("bearer")
    };
    let mut out = String::with_capacity(text.len());
    let mut mask_next = false;
    let mut rest = text;
    loop {
        let start = rest
            .find(|c: char| !c.is_whitespace())
            .unwrap_or(rest.len());
        out.push_str(&rest[..start]);
        rest = &rest[start..];
        if rest.is_empty() {
            break;
        }
        let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
        let word = &rest[..end];
        rest = &rest[end..];
        if mask_next {
            // `Authorization: Bearer <x>`: the scheme stays, the value goes.
            if is_bearer(word) {
                out.push_str(word);
            } else {
                out.push_str(MASK);
                mask_next = false;
            }
            continue;
        }
        if word.contains("://") {
            let cut = word.find(['?', '#']).unwrap_or(word.len());
            out.push_str(&word[..cut]);
            continue;
        }
        // ASCII lower-casing keeps byte offsets.
        let lower = word.to_ascii_lowercase();
        let key_end = SECRET_WORDS
            .iter()
            .filter_map(|k| lower.find(k).map(|i| i + k.len()))
            .min();
        match key_end {
            Some(k) => match word[k..].find(['=', ':']) {
                Some(rel) => {
                    let sep = k + rel;
                    let value = word[sep + 1..].trim_matches(|c: char| c == '"' || c == '\'');
                    out.push_str(&word[..=sep]);
                    if value.is_empty() {
                        mask_next = true;
                    } else {
                        out.push_str(MASK);
                    }
                }
                None => {
                    out.push_str(word);
                    mask_next = is_bearer(word);
                }
            },
            None => out.push_str(word),
        }
    }
    out
}

// ---------------------------------------------------------------------------
// Config
// ---------------------------------------------------------------------------

/// An account as the config adapter resolved it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ResolvedAccount {
    /// The normalized account id.
    pub account_id: String,
    /// A display name, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Not switched off in the config.
    pub enabled: bool,
    /// Has what it needs to run (for Weixin: a token from a login).
    pub configured: bool,
    /// The channel's own settings for this account, opaque to the host.
    #[serde(default)]
    pub config: serde_json::Value,
}

impl ResolvedAccount {
    /// An enabled, not yet configured account with no settings.
    pub fn new(account_id: impl Into<String>) -> Self {
        Self {
            account_id: account_id.into(),
            enabled: true,
            ..Self::default()
        }
    }
}

/// Lists and resolves a channel's accounts from the host config (the
/// `channels.<id>` section and whatever the channel keeps beside it).
pub trait ConfigAdapter: Send + Sync {
    /// The ids of all accounts, normalized, in a stable order.
    fn list_account_ids(&self, host_config: &serde_json::Value) -> Vec<String>;

    /// Resolves one account; `None` means "the only one" (or `default`).
    /// Several candidates and no id give [`ChannelError::Ambiguous`], none
    /// gives [`ChannelError::NoAccount`].
    fn resolve_account(
        &self,
        host_config: &serde_json::Value,
        account_id: Option<&str>,
    ) -> Result<ResolvedAccount, ChannelError>;

    /// Whether the account has what it needs to run.
    fn is_configured(&self, account: &ResolvedAccount) -> bool {
        account.configured
    }

    /// The static part of the account's snapshot (id, name, enabled,
    /// configured, ...), before any runtime state.
    fn describe(&self, account: &ResolvedAccount) -> AccountSnapshot {
        let mut snapshot = AccountSnapshot::new(account.account_id.clone());
        snapshot.name = account.name.clone();
        snapshot.enabled = Some(account.enabled);
        snapshot.configured = Some(self.is_configured(account));
        snapshot
    }
}

// ---------------------------------------------------------------------------
// Status
// ---------------------------------------------------------------------------

/// The host's account snapshot (`ChannelAccountSnapshot`), field for field.
/// Times are epoch milliseconds; `None` means "unknown" and is left out of
/// JSON and of the status line.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct AccountSnapshot {
    /// `accountId`.
    pub account_id: String,
    /// `name`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// `enabled`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// `configured`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub configured: Option<bool>,
    /// `linked`: logged in (a token is stored).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub linked: Option<bool>,
    /// `running`: the gateway task is up.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub running: Option<bool>,
    /// `connected`: the last poll got an answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connected: Option<bool>,
    /// `lastStartAt`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_start_at: Option<i64>,
    /// `lastStopAt`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_stop_at: Option<i64>,
    /// `lastInboundAt`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_inbound_at: Option<i64>,
    /// `lastOutboundAt`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_outbound_at: Option<i64>,
    /// `lastEventAt`: the last sign of life of the transport.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_event_at: Option<i64>,
    /// `lastError`; a paused session says so here (see [`paused_text`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    /// `dmPolicy`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dm_policy: Option<DmPolicy>,
    /// `allowFrom`: the configured allow-list.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allow_from: Vec<String>,
    /// `baseUrl`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_url: Option<String>,
}

impl AccountSnapshot {
    /// A snapshot of `account_id` with everything else unknown.
    pub fn new(account_id: impl Into<String>) -> Self {
        Self {
            account_id: account_id.into(),
            ..Self::default()
        }
    }

    /// Shallow-merges `patch` into this snapshot: each field the patch sets
    /// replaces this one's.
    pub fn merge(&mut self, patch: SnapshotPatch) {
        patch.apply(self);
    }
}

/// A shallow patch of an [`AccountSnapshot`], as the host's status `set`
/// takes it. A field left `None` keeps the old value; for the snapshot's
/// optional fields `Some(None)` clears it (JSON `null`).
///
/// ```
/// use channel_contract::plugin::{AccountSnapshot, SnapshotPatch};
/// let mut s = AccountSnapshot::new("a");
/// s.merge(SnapshotPatch::new().running(Some(true)).last_error(Some("boom".into())));
/// s.merge(SnapshotPatch::new().last_error(None));
/// assert_eq!((s.running, s.last_error), (Some(true), None));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct SnapshotPatch {
    /// `accountId`.
    pub account_id: Option<String>,
    /// `name`.
    pub name: Option<Option<String>>,
    /// `enabled`.
    pub enabled: Option<Option<bool>>,
    /// `configured`.
    pub configured: Option<Option<bool>>,
    /// `linked`.
    pub linked: Option<Option<bool>>,
    /// `running`.
    pub running: Option<Option<bool>>,
    /// `connected`.
    pub connected: Option<Option<bool>>,
    /// `lastStartAt`.
    pub last_start_at: Option<Option<i64>>,
    /// `lastStopAt`.
    pub last_stop_at: Option<Option<i64>>,
    /// `lastInboundAt`.
    pub last_inbound_at: Option<Option<i64>>,
    /// `lastOutboundAt`.
    pub last_outbound_at: Option<Option<i64>>,
    /// `lastEventAt`.
    pub last_event_at: Option<Option<i64>>,
    /// `lastError`.
    pub last_error: Option<Option<String>>,
    /// `dmPolicy`.
    pub dm_policy: Option<Option<DmPolicy>>,
    /// `allowFrom`.
    pub allow_from: Option<Vec<String>>,
    /// `baseUrl`.
    pub base_url: Option<Option<String>>,
}

macro_rules! patch_setters {
    ($($field:ident : $ty:ty),* $(,)?) => {
        $(
            #[doc = concat!("Sets `", stringify!($field), "` (`None` clears it).")]
            #[must_use]
            pub fn $field(mut self, value: Option<$ty>) -> Self {
                self.$field = Some(value);
                self
            }
        )*
    };
}

impl SnapshotPatch {
    /// An empty patch (changes nothing).
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets `accountId`.
    #[must_use]
    pub fn account_id(mut self, value: impl Into<String>) -> Self {
        self.account_id = Some(value.into());
        self
    }

    /// Sets `allowFrom`.
    #[must_use]
    pub fn allow_from(mut self, value: Vec<String>) -> Self {
        self.allow_from = Some(value);
        self
    }

    patch_setters! {
        name: String,
        enabled: bool,
        configured: bool,
        linked: bool,
        running: bool,
        connected: bool,
        last_start_at: i64,
        last_stop_at: i64,
        last_inbound_at: i64,
        last_outbound_at: i64,
        last_event_at: i64,
        last_error: String,
        dm_policy: DmPolicy,
        base_url: String,
    }

    /// Writes every field this patch sets into `snapshot`.
    pub fn apply(self, snapshot: &mut AccountSnapshot) {
        fn set<T>(slot: &mut T, value: Option<T>) {
            if let Some(v) = value {
                *slot = v;
            }
        }
        set(&mut snapshot.account_id, self.account_id);
        set(&mut snapshot.name, self.name);
        set(&mut snapshot.enabled, self.enabled);
        set(&mut snapshot.configured, self.configured);
        set(&mut snapshot.linked, self.linked);
        set(&mut snapshot.running, self.running);
        set(&mut snapshot.connected, self.connected);
        set(&mut snapshot.last_start_at, self.last_start_at);
        set(&mut snapshot.last_stop_at, self.last_stop_at);
        set(&mut snapshot.last_inbound_at, self.last_inbound_at);
        set(&mut snapshot.last_outbound_at, self.last_outbound_at);
        set(&mut snapshot.last_event_at, self.last_event_at);
        set(&mut snapshot.last_error, self.last_error);
        set(&mut snapshot.dm_policy, self.dm_policy);
        set(&mut snapshot.allow_from, self.allow_from);
        set(&mut snapshot.base_url, self.base_url);
    }
}

/// The status get/set of a running account: a shared snapshot the channel
/// updates and the host reads. Clones share the same snapshot.
#[derive(Debug, Clone, Default)]
pub struct StatusHandle(Arc<Mutex<AccountSnapshot>>);

impl StatusHandle {
    /// A handle holding `initial`.
    pub fn new(initial: AccountSnapshot) -> Self {
        Self(Arc::new(Mutex::new(initial)))
    }

    /// A copy of the current snapshot.
    pub fn get(&self) -> AccountSnapshot {
        self.lock().clone()
    }

    /// Changes the snapshot in place.
    pub fn update(&self, change: impl FnOnce(&mut AccountSnapshot)) {
        change(&mut self.lock());
    }

    /// Shallow-merges `patch` (the host's `setStatus`).
    pub fn merge(&self, patch: SnapshotPatch) {
        patch.apply(&mut self.lock());
    }

    /// The lock; a panic elsewhere while holding it leaves a usable snapshot
    /// (every write is a plain field store), so poisoning is ignored.
    fn lock(&self) -> std::sync::MutexGuard<'_, AccountSnapshot> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// What probing an account found.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ProbeResult {
    /// The account works (status line: `works`, else `probe failed`).
    pub ok: bool,
    /// Why not, or what was checked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

impl ProbeResult {
    /// A passed probe.
    pub fn ok() -> Self {
        Self {
            ok: true,
            detail: None,
        }
    }

    /// A failed probe, with why.
    pub fn failed(detail: impl Into<String>) -> Self {
        Self {
            ok: false,
            detail: Some(detail.into()),
        }
    }
}

/// Probes accounts and builds their snapshots for `channels status`.
///
/// The Weixin channel probes from its monitor's own state (the last poll
/// answered, the session is not paused), never with a poll of its own, which
/// would take messages from the running monitor.
#[async_trait]
pub trait StatusAdapter: Send + Sync {
    /// Checks whether the account works.
    async fn probe(&self, account: &ResolvedAccount) -> ProbeResult;

    /// The account's snapshot: its static facts merged with `runtime`, what
    /// the account's [`StatusHandle`] holds (a bare snapshot when it is not
    /// running).
    async fn snapshot(
        &self,
        account: &ResolvedAccount,
        runtime: &AccountSnapshot,
    ) -> AccountSnapshot;
}

// ---------------------------------------------------------------------------
// Gateway
// ---------------------------------------------------------------------------

/// First restart delay of a crashed account.
pub const RESTART_INITIAL_DELAY: Duration = Duration::from_secs(5);
/// Longest restart delay (the doubling stops here, jitter included).
pub const RESTART_MAX_DELAY: Duration = Duration::from_secs(5 * 60);
/// The jitter added to each delay, as a fraction of it (10 %).
pub const RESTART_JITTER: f64 = 0.1;
/// Restarts before the host gives up on an account.
pub const RESTART_MAX_ATTEMPTS: u32 = 10;
/// Newest hosts reset the restart count after a run this long.
pub const RESTART_STABLE_RUN: Duration = Duration::from_secs(5 * 60);

/// How long the host waits before restart number `attempt` (1-based; 0 is
/// read as 1) of a crashed account: 5 s doubling to at most 5 min, plus
/// `jitter_fraction` (a random sample in `0..=1`, clamped; NaN reads as 0)
/// times 10 % of it, capped at 5 min. `None` after [`RESTART_MAX_ATTEMPTS`]:
/// the host gives up.
///
/// ```
/// use std::time::Duration;
/// use channel_contract::plugin::restart_delay;
/// assert_eq!(restart_delay(1, 0.0), Some(Duration::from_secs(5)));
/// assert_eq!(restart_delay(2, 1.0), Some(Duration::from_secs(11)));
/// assert_eq!(restart_delay(10, 0.5), Some(Duration::from_secs(300)));
/// assert_eq!(restart_delay(11, 0.0), None);
/// ```
pub fn restart_delay(attempt: u32, jitter_fraction: f64) -> Option<Duration> {
    let attempt = attempt.max(1);
    if attempt > RESTART_MAX_ATTEMPTS {
        return None;
    }
    let max_ms = RESTART_MAX_DELAY.as_millis() as f64;
    let base_ms =
        (RESTART_INITIAL_DELAY.as_millis() as f64 * 2f64.powi((attempt - 1) as i32)).min(max_ms);
    let jitter = if jitter_fraction.is_nan() {
        0.0
    } else {
        jitter_fraction.clamp(0.0, 1.0)
    };
    let ms = (base_ms * (1.0 + RESTART_JITTER * jitter))
        .round()
        .min(max_ms);
    // `ms` is in 0..=300_000, so the cast is exact.
    Some(Duration::from_millis(ms as u64))
}

/// Whether a run of `run` resets the restart count on a `profile` host:
/// newest hosts reset it after a stable run of [`RESTART_STABLE_RUN`]; late
/// and early ones only through their health monitor (never here).
pub fn run_resets_restart_count(profile: HostProfile, run: Duration) -> bool {
    profile == HostProfile::Newest && run >= RESTART_STABLE_RUN
}

/// What [`GatewayAdapter::start_account`] and
/// [`GatewayAdapter::stop_account`] get.
///
/// The host runtime surface must be taken from the context on every call
/// (`ctx.runtime`), never cached at registration: the host may hand a new
/// one to each start.
#[derive(Clone)]
#[non_exhaustive]
pub struct GatewayContext {
    /// The account to run.
    pub account: ResolvedAccount,
    /// The abort signal: the account stops when it fires.
    pub cancel: CancellationToken,
    /// The account's status get/set.
    pub status: StatusHandle,
    /// The host runtime surface: routing, session recording, media store,
    /// reply dispatch.
    pub runtime: Arc<dyn HostRuntime>,
}

impl GatewayContext {
    /// A context for `account`.
    pub fn new(
        account: ResolvedAccount,
        cancel: CancellationToken,
        status: StatusHandle,
        runtime: Arc<dyn HostRuntime>,
    ) -> Self {
        Self {
            account,
            cancel,
            status,
            runtime,
        }
    }

    /// The account's id.
    pub fn account_id(&self) -> &str {
        &self.account.account_id
    }
}

impl fmt::Debug for GatewayContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GatewayContext")
            .field("account", &self.account)
            .field("cancelled", &self.cancel.is_cancelled())
            .field("status", &self.status)
            .finish_non_exhaustive()
    }
}

/// Runs accounts.
///
/// `start_account` runs until `ctx.cancel` fires. Returning (or failing)
/// before that means the account crashed; the host restarts it after
/// [`restart_delay`] (5 s doubling to 5 min, 10 % jitter, 10 attempts; newest
/// hosts reset the count after a run stable for 5 min, see
/// [`run_resets_restart_count`]). `stop_account` runs after the abort.
#[async_trait]
pub trait GatewayAdapter: Send + Sync {
    /// Runs the account until `ctx.cancel` fires.
    async fn start_account(&self, ctx: GatewayContext) -> Result<(), ChannelError>;

    /// Cleans up after the abort (the default does nothing).
    async fn stop_account(&self, ctx: GatewayContext) -> Result<(), ChannelError> {
        let _ = ctx;
        Ok(())
    }
}

// ---------------------------------------------------------------------------
// Outbound
// ---------------------------------------------------------------------------

/// The text chunk limit of the Weixin channel, in characters.
pub const TEXT_CHUNK_LIMIT: usize = 4000;

/// How a channel delivers outbound messages.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum DeliveryMode {
    /// The plugin sends itself, from the host process (Weixin).
    #[default]
    Direct,
    /// The host's gateway sends on the plugin's behalf.
    Gateway,
    /// Both, depending on the message.
    Hybrid,
}

/// Media to send: a local file or a URL.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub enum MediaSource {
    /// A local file.
    Path(PathBuf),
    /// A remote file, fetched before sending.
    Url(String),
}

impl MediaSource {
    /// Reads the host's `mediaUrl` string: `http(s)://` is a URL, `file://`
    /// and anything else a local path.
    pub fn parse(raw: &str) -> Self {
        let t = raw.trim();
        let lower = t.to_ascii_lowercase();
        if lower.starts_with("http://") || lower.starts_with("https://") {
            Self::Url(t.to_owned())
        } else if lower.starts_with("file://") {
            Self::Path(PathBuf::from(&t["file://".len()..]))
        } else {
            Self::Path(PathBuf::from(t))
        }
    }
}

/// What [`OutboundAdapter::send_text`] and [`OutboundAdapter::send_media`]
/// get. Like [`GatewayContext`], it carries the runtime surface for this call.
#[derive(Clone)]
#[non_exhaustive]
pub struct OutboundContext {
    /// The target, such as `user:xyz@im.wechat`.
    pub to: String,
    /// The text (a caption for media).
    pub text: String,
    /// Media to send, if any.
    pub media: Option<MediaSource>,
    /// The account to send from; `None` means the only (or default) one.
    pub account_id: Option<String>,
    /// The host runtime surface.
    pub runtime: Arc<dyn HostRuntime>,
}

impl OutboundContext {
    /// A text message to `to`.
    pub fn new(
        to: impl Into<String>,
        text: impl Into<String>,
        runtime: Arc<dyn HostRuntime>,
    ) -> Self {
        Self {
            to: to.into(),
            text: text.into(),
            media: None,
            account_id: None,
            runtime,
        }
    }

    /// With media attached.
    #[must_use]
    pub fn with_media(mut self, media: MediaSource) -> Self {
        self.media = Some(media);
        self
    }

    /// Sent from `account_id`.
    #[must_use]
    pub fn with_account_id(mut self, account_id: impl Into<String>) -> Self {
        self.account_id = Some(account_id.into());
        self
    }
}

impl fmt::Debug for OutboundContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OutboundContext")
            .field("to", &self.to)
            .field("text_chars", &self.text.chars().count())
            .field("media", &self.media)
            .field("account_id", &self.account_id)
            .finish_non_exhaustive()
    }
}

/// What a send delivered.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct DeliveryResult {
    /// Our id of the (last) message sent: the client id we generated.
    pub message_id: String,
    /// The server's id of it, when the server gave one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel_message_id: Option<String>,
    /// The chat it went to, when it differs from the target.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chat_id: Option<String>,
    /// When it was sent, epoch ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<i64>,
}

impl DeliveryResult {
    /// A result with our message id.
    pub fn new(message_id: impl Into<String>) -> Self {
        Self {
            message_id: message_id.into(),
            ..Self::default()
        }
    }

    /// With the server's id.
    #[must_use]
    pub fn with_channel_message_id(mut self, id: impl Into<String>) -> Self {
        self.channel_message_id = Some(id.into());
        self
    }
}

/// Sends messages the host (an agent reply, `openclaw message send`) asks for.
#[async_trait]
pub trait OutboundAdapter: Send + Sync {
    /// How messages are delivered ([`DeliveryMode::Direct`] for Weixin).
    fn delivery_mode(&self) -> DeliveryMode {
        DeliveryMode::Direct
    }

    /// Longest text the host hands to one `send_text`, in characters
    /// ([`TEXT_CHUNK_LIMIT`] for Weixin).
    fn text_chunk_limit(&self) -> usize {
        TEXT_CHUNK_LIMIT
    }

    /// Sends `ctx.text` to `ctx.to`.
    async fn send_text(&self, ctx: OutboundContext) -> Result<DeliveryResult, ChannelError>;

    /// Sends `ctx.media` with `ctx.text` as its caption.
    async fn send_media(&self, ctx: OutboundContext) -> Result<DeliveryResult, ChannelError>;
}

// ---------------------------------------------------------------------------
// Auth, pairing, messaging
// ---------------------------------------------------------------------------

/// What [`AuthAdapter::login`] gets.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct LoginRequest {
    /// The account to log in again, or `None` for a new one.
    pub account_id: Option<String>,
    /// Fires when the user gives up (Ctrl-C).
    pub cancel: CancellationToken,
    /// Print progress details.
    pub verbose: bool,
}

impl LoginRequest {
    /// A login for `account_id` (`None`: a new account).
    pub fn new(account_id: Option<String>) -> Self {
        Self {
            account_id,
            ..Self::default()
        }
    }
}

/// What a login produced.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct LoginResult {
    /// The account logged in (for Weixin the normalized bot id).
    pub account_id: String,
    /// A display name, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The user who confirmed the login (for Weixin: who scanned the QR, the
    /// account's owner).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner_id: Option<String>,
}

impl LoginResult {
    /// A result for `account_id`.
    pub fn new(account_id: impl Into<String>) -> Self {
        Self {
            account_id: account_id.into(),
            ..Self::default()
        }
    }
}

/// Logs an account in (for Weixin: the QR flow).
#[async_trait]
pub trait AuthAdapter: Send + Sync {
    /// Runs the login until it succeeds, fails or `request.cancel` fires.
    async fn login(&self, request: LoginRequest) -> Result<LoginResult, ChannelError>;
}

/// How the channel takes part in pairing.
pub trait PairingAdapter: Send + Sync {
    /// The label of the sender id line of the pairing reply, such as
    /// `Your WeChat user id`.
    fn id_label(&self) -> &str;

    /// An allow-list entry in comparable form.
    fn normalize_allow_entry(&self, entry: &str) -> String;
}

/// Which target strings are ids (rather than names to look up).
pub trait TargetResolver: Send + Sync {
    /// Whether `target` looks like an id of this channel.
    fn looks_like_id(&self, target: &str) -> bool;
}

/// The suffix of a WeChat user id.
pub const WEIXIN_USER_ID_SUFFIX: &str = "@im.wechat";

/// Whether `target` looks like a WeChat user id: after
/// [`normalize_allow_entry`](crate::admission::normalize_allow_entry) (trimmed,
/// a `user:` or channel prefix removed, lower-cased), something ending in
/// `@im.wechat` with a non-empty part before it.
///
/// ```
/// use channel_contract::plugin::looks_like_weixin_user_id;
/// assert!(looks_like_weixin_user_id("user:o9cq80_x@im.wechat"));
/// assert!(!looks_like_weixin_user_id("Alice"));
/// ```
pub fn looks_like_weixin_user_id(target: &str) -> bool {
    // The allow-list normalization strips the prefix and lower-cases.
    let t = crate::admission::normalize_allow_entry(target);
    t.len() > WEIXIN_USER_ID_SUFFIX.len() && t.ends_with(WEIXIN_USER_ID_SUFFIX)
}

/// The Weixin [`TargetResolver`]: [`looks_like_weixin_user_id`].
#[derive(Debug, Clone, Copy, Default)]
pub struct WeixinTargetResolver;

impl TargetResolver for WeixinTargetResolver {
    fn looks_like_id(&self, target: &str) -> bool {
        looks_like_weixin_user_id(target)
    }
}

// ---------------------------------------------------------------------------
// The plugin
// ---------------------------------------------------------------------------

/// A channel plugin: identity, capabilities, the config adapter and the
/// optional adapters (`None` when the channel has none).
pub trait ChannelPlugin: Send + Sync {
    /// The channel's meta.
    fn meta(&self) -> &ChannelMeta;

    /// The channel id (by default the meta's).
    fn id(&self) -> &str {
        &self.meta().id
    }

    /// What the channel can do.
    fn capabilities(&self) -> &ChannelCapabilities;

    /// The config adapter.
    fn config(&self) -> &dyn ConfigAdapter;

    /// The gateway adapter.
    fn gateway(&self) -> Option<&dyn GatewayAdapter> {
        None
    }

    /// The outbound adapter.
    fn outbound(&self) -> Option<&dyn OutboundAdapter> {
        None
    }

    /// The status adapter.
    fn status(&self) -> Option<&dyn StatusAdapter> {
        None
    }

    /// The auth adapter.
    fn auth(&self) -> Option<&dyn AuthAdapter> {
        None
    }

    /// The pairing adapter.
    fn pairing(&self) -> Option<&dyn PairingAdapter> {
        None
    }

    /// The messaging target resolver.
    fn messaging(&self) -> Option<&dyn TargetResolver> {
        None
    }
}

// Compile-time checks: the traits stay object-safe and shareable, the types
// stay `Send + Sync`.
const _: fn() = || {
    fn assert_send_sync<T: ?Sized + Send + Sync>() {}
    assert_send_sync::<Arc<dyn ChannelPlugin + Send + Sync>>();
    assert_send_sync::<Arc<dyn ConfigAdapter + Send + Sync>>();
    assert_send_sync::<Arc<dyn GatewayAdapter + Send + Sync>>();
    assert_send_sync::<Arc<dyn OutboundAdapter + Send + Sync>>();
    assert_send_sync::<Arc<dyn StatusAdapter + Send + Sync>>();
    assert_send_sync::<Arc<dyn AuthAdapter + Send + Sync>>();
    assert_send_sync::<Arc<dyn PairingAdapter + Send + Sync>>();
    assert_send_sync::<Arc<dyn TargetResolver + Send + Sync>>();
    assert_send_sync::<Arc<dyn HostRuntime + Send + Sync>>();
    assert_send_sync::<Arc<dyn HostRuntime>>();
    assert_send_sync::<ChannelMeta>();
    assert_send_sync::<ChannelCapabilities>();
    assert_send_sync::<ChannelError>();
    assert_send_sync::<ResolvedAccount>();
    assert_send_sync::<AccountSnapshot>();
    assert_send_sync::<SnapshotPatch>();
    assert_send_sync::<StatusHandle>();
    assert_send_sync::<ProbeResult>();
    assert_send_sync::<GatewayContext>();
    assert_send_sync::<OutboundContext>();
    assert_send_sync::<DeliveryResult>();
    assert_send_sync::<LoginRequest>();
    assert_send_sync::<LoginResult>();
    assert_send_sync::<MediaSource>();
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn restart_delays_double_to_five_minutes_then_give_up() {
        let secs: Vec<u64> = (1..=10)
            .map(|n| restart_delay(n, 0.0).map(|d| d.as_secs()).unwrap_or(0))
            .collect();
        assert_eq!(secs, [5, 10, 20, 40, 80, 160, 300, 300, 300, 300]);
        assert_eq!(restart_delay(0, 0.0), restart_delay(1, 0.0));
        assert_eq!(restart_delay(11, 0.0), None);
        assert_eq!(restart_delay(u32::MAX, 1.0), None);
    }

    #[test]
    fn restart_jitter_adds_up_to_ten_percent_and_stays_capped() {
        assert_eq!(restart_delay(1, 1.0), Some(Duration::from_millis(5_500)));
        assert_eq!(restart_delay(1, 0.5), Some(Duration::from_millis(5_250)));
        assert_eq!(restart_delay(3, 0.25), Some(Duration::from_millis(20_500)));
        // Clamped and NaN-safe.
        assert_eq!(restart_delay(1, 7.0), Some(Duration::from_millis(5_500)));
        assert_eq!(restart_delay(1, -3.0), Some(Duration::from_secs(5)));
        assert_eq!(restart_delay(1, f64::NAN), Some(Duration::from_secs(5)));
        // 160 s * 1.1 = 176 s; 300 s never grows.
        assert_eq!(restart_delay(6, 1.0), Some(Duration::from_secs(176)));
        assert_eq!(restart_delay(7, 1.0), Some(RESTART_MAX_DELAY));
        assert_eq!(
            restart_delay(6, 1.0).map(|d| d <= RESTART_MAX_DELAY),
            Some(true)
        );
    }

    #[test]
    fn stable_runs_reset_only_on_newest_hosts() {
        let five = Duration::from_secs(300);
        assert!(run_resets_restart_count(HostProfile::Newest, five));
        assert!(!run_resets_restart_count(
            HostProfile::Newest,
            five - Duration::from_millis(1)
        ));
        assert!(!run_resets_restart_count(
            HostProfile::Late,
            Duration::from_secs(3600)
        ));
        assert!(!run_resets_restart_count(
            HostProfile::Early,
            Duration::from_secs(3600)
        ));
    }

    #[test]
    fn weixin_targets() {
        let yes = [
            "o9cq80_x@im.wechat",
            "user:o9cq80_x@im.wechat",
            "USER:O9CQ80_X@IM.WECHAT",
            "  user: a@im.wechat  ",
            "a@Im.WeChat",
        ];
        for t in yes {
            assert!(looks_like_weixin_user_id(t), "{t:?}");
            assert!(WeixinTargetResolver.looks_like_id(t), "{t:?}");
        }
        let no = [
            "",
            "@im.wechat",
            "user:@im.wechat",
            "alice",
            "b0f5860fdecb@im.bot",
            "a@im.wechat.evil",
            "a@im_wechat",
            "group:a@chatroom",
            "日本@im.wechat本",
        ];
        for t in no {
            assert!(!looks_like_weixin_user_id(t), "{t:?}");
        }
        assert!(looks_like_weixin_user_id("日本@im.wechat"));
    }

    #[test]
    fn snapshot_serializes_with_the_host_names_and_omits_unknowns() {
        let mut s = AccountSnapshot::new("b0f5860fdecb-im-bot");
        s.running = Some(true);
        s.last_inbound_at = Some(1_700_000_000_123);
        s.dm_policy = Some(DmPolicy::Allowlist);
        s.allow_from = vec!["a@im.wechat".into()];
        s.base_url = Some("https://ilinkai.weixin.qq.com".into());
        let json = serde_json::to_value(&s).expect("serializes");
        assert_eq!(
            json,
            serde_json::json!({
                "accountId": "b0f5860fdecb-im-bot",
                "running": true,
                "lastInboundAt": 1_700_000_000_123_i64,
                "dmPolicy": "allowlist",
                "allowFrom": ["a@im.wechat"],
                "baseUrl": "https://ilinkai.weixin.qq.com",
            })
        );
        let back: AccountSnapshot = serde_json::from_value(json).expect("deserializes");
        assert_eq!(back, s);
    }

    #[test]
    fn snapshot_field_names_are_exactly_the_spec_fields() {
        let s = AccountSnapshot {
            account_id: "a".into(),
            name: Some("n".into()),
            enabled: Some(true),
            configured: Some(true),
            linked: Some(true),
            running: Some(true),
            connected: Some(true),
            last_start_at: Some(1),
            last_stop_at: Some(2),
            last_inbound_at: Some(3),
            last_outbound_at: Some(4),
            last_event_at: Some(5),
            last_error: Some("e".into()),
            dm_policy: Some(DmPolicy::Pairing),
            allow_from: vec!["x".into()],
            base_url: Some("u".into()),
        };
        let json = serde_json::to_value(&s).expect("serializes");
        let keys: Vec<&str> = json
            .as_object()
            .map(|m| m.keys().map(String::as_str).collect())
            .unwrap_or_default();
        let mut want = vec![
            "accountId",
            "name",
            "enabled",
            "configured",
            "linked",
            "running",
            "connected",
            "lastStartAt",
            "lastStopAt",
            "lastInboundAt",
            "lastOutboundAt",
            "lastEventAt",
            "lastError",
            "dmPolicy",
            "allowFrom",
            "baseUrl",
        ];
        want.sort_unstable();
        let mut keys = keys;
        keys.sort_unstable();
        assert_eq!(keys, want);
    }

    #[test]
    fn status_handle_merges_shallowly_and_is_shared_by_clones() {
        let handle = StatusHandle::new(AccountSnapshot::new("a"));
        let other = handle.clone();
        handle.merge(
            SnapshotPatch::new()
                .running(Some(true))
                .last_error(Some("boom".into()))
                .allow_from(vec!["x".into()]),
        );
        other.merge(SnapshotPatch::new().connected(Some(false)).last_error(None));
        other.update(|s| s.last_event_at = Some(42));
        let s = handle.get();
        assert_eq!(s.account_id, "a");
        assert_eq!(s.running, Some(true));
        assert_eq!(s.connected, Some(false));
        assert_eq!(s.last_error, None);
        assert_eq!(s.allow_from, vec!["x".to_owned()]);
        assert_eq!(s.last_event_at, Some(42));
        // An empty patch changes nothing.
        handle.merge(SnapshotPatch::new());
        assert_eq!(handle.get(), s);
    }

    #[test]
    fn errors_never_show_tokens() {
        let cases = [
            ChannelError::Transport("GET https://h/x?token=abc123 failed".into()),
            ChannelError::Rejected("Authorization: Bearer abc123".into()),
            ChannelError::Other(r#"body {"bot_token":"abc123","x":1}"#.into()),
            ChannelError::Other(r#"body {"context_token": "abc123"}"#.into()),
            ChannelError::Other("bot_token=abc123 rejected".into()),
            ChannelError::Other("ret=1,context_token=abc123".into()),
            ChannelError::Other("bearer abc123".into()),
            ChannelError::Other("POST /ilink/bot/sendmessage?token=abc123".into()),
        ];
        for e in cases {
            let text = e.to_string();
            assert!(!text.contains("abc123"), "{text}");
        }
        assert_eq!(
            ChannelError::Transport("connect https://h/getupdates?x=1: refused".into()).to_string(),
            "transport failure: connect https://h/getupdates refused"
        );
        assert_eq!(
            ChannelError::Rejected("ret=-2 errmsg=bad request".into()).to_string(),
            "rejected: ret=-2 errmsg=bad request"
        );
        // Words about tokens that carry none are kept whole.
        assert_eq!(
            ChannelError::Rejected("stale token (errcode -14)".into()).to_string(),
            "rejected: stale token (errcode -14)"
        );
        assert_eq!(
            ChannelError::Other("Authorization: Bearer abc123 x".into()).to_string(),
            "Authorization: Bearer **** x"
        );
    }

    #[test]
    fn error_texts_and_codes() {
        let paused = ChannelError::Paused { minutes_left: 42 };
        assert_eq!(
            paused.to_string(),
            "session paused, 42 min left, log in again"
        );
        assert!(is_paused_text(&paused.to_string()));
        assert!(is_paused_text(&paused_text(3)));
        assert!(!is_paused_text("transport failure"));
        assert_eq!(paused.code(), "paused");
        let amb = ChannelError::Ambiguous(vec!["a".into(), "b".into()]);
        assert_eq!(
            amb.to_string(),
            "several accounts could be meant (a, b): pass an account id"
        );
        assert_eq!(ChannelError::NoAccount.code(), "no-account");
        let from_runtime: ChannelError = RuntimeError::Dispatch("agent down".into()).into();
        assert_eq!(from_runtime.code(), "runtime");
        assert!(from_runtime.to_string().contains("agent down"));
    }

    #[test]
    fn media_sources() {
        assert_eq!(
            MediaSource::parse(" https://x/y.png "),
            MediaSource::Url("https://x/y.png".into())
        );
        assert_eq!(
            MediaSource::parse("HTTP://x"),
            MediaSource::Url("HTTP://x".into())
        );
        assert_eq!(
            MediaSource::parse("file:///tmp/a.png"),
            MediaSource::Path("/tmp/a.png".into())
        );
        assert_eq!(
            MediaSource::parse("/tmp/a.png"),
            MediaSource::Path("/tmp/a.png".into())
        );
    }

    struct Config;
    impl ConfigAdapter for Config {
        fn list_account_ids(&self, _: &serde_json::Value) -> Vec<String> {
            vec!["a".into()]
        }
        fn resolve_account(
            &self,
            _: &serde_json::Value,
            id: Option<&str>,
        ) -> Result<ResolvedAccount, ChannelError> {
            match id {
                None | Some("a") => Ok(ResolvedAccount::new("a")),
                Some(_) => Err(ChannelError::NoAccount),
            }
        }
    }

    struct Plugin {
        meta: ChannelMeta,
        caps: ChannelCapabilities,
    }
    impl ChannelPlugin for Plugin {
        fn meta(&self) -> &ChannelMeta {
            &self.meta
        }
        fn capabilities(&self) -> &ChannelCapabilities {
            &self.caps
        }
        fn config(&self) -> &dyn ConfigAdapter {
            &Config
        }
        fn messaging(&self) -> Option<&dyn TargetResolver> {
            Some(&WeixinTargetResolver)
        }
    }

    #[test]
    fn a_minimal_plugin_uses_the_defaults() {
        let mut caps = ChannelCapabilities::new(vec![ChatType::Direct]);
        caps.media = true;
        let plugin: Arc<dyn ChannelPlugin> = Arc::new(Plugin {
            meta: ChannelMeta::new("openclaw-weixin", "Weixin"),
            caps,
        });
        assert_eq!(plugin.id(), "openclaw-weixin");
        assert_eq!(plugin.meta().selection_label, "Weixin");
        assert!(plugin.capabilities().supports(ChatType::Direct));
        assert!(!plugin.capabilities().supports(ChatType::Group));
        assert!(
            plugin.gateway().is_none() && plugin.outbound().is_none() && plugin.auth().is_none()
        );
        assert!(plugin
            .messaging()
            .is_some_and(|m| m.looks_like_id("a@im.wechat")));
        let cfg = serde_json::Value::Null;
        let account = plugin
            .config()
            .resolve_account(&cfg, None)
            .expect("resolves");
        assert!(matches!(
            plugin.config().resolve_account(&cfg, Some("b")),
            Err(ChannelError::NoAccount)
        ));
        let described = plugin.config().describe(&account);
        assert_eq!(described.enabled, Some(true));
        assert_eq!(described.configured, Some(false));
        assert_eq!(described.running, None);
    }
}
