//! The pairing store (openclaw-host spec section 4): pending requests of
//! strangers, and the approved allow-list, in the file layout the host and the
//! published plugin share.
//!
//! - pending: `<credentials>/<channel>-pairing.json` =
//!   `{"version": 1, "requests": [{"id", "code", "createdAt", "lastSeenAt", "meta": {"accountId", ...}}]}`
//! - approved: `<credentials>/<channel>-<account>-allowFrom.json` =
//!   `{"version": 1, "allowFrom": [...]}` (the `default` account also reads the
//!   legacy `<channel>-allowFrom.json`).
//!
//! Every change holds the file's `.lock` ([`crate::lock`]) and writes
//! atomically ([`crate::atomic`]); approving holds the pairing lock and,
//! inside it, the allow-list lock, so concurrent approvals lose nothing.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{DateTime, Duration as ChronoDuration, SecondsFormat, Utc};
use rand::Rng as _;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::atomic::{read_json, write_json, FileError};
use crate::ids::{file_name_key, normalize_account_id, KeyError, DEFAULT_ACCOUNT_ID};
use crate::lock::{lock, LockError};
use crate::HostProfile;

/// The characters of a pairing code: no 0, O, 1 or I.
pub const CODE_ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
/// Characters in a pairing code.
pub const CODE_LEN: usize = 8;
/// How long a request lives.
pub const REQUEST_TTL_SECS: i64 = 3600;
/// Pending requests per channel and account.
pub const MAX_PENDING: usize = 3;
/// What the host may send a sender once approved.
pub const APPROVED_NOTICE: &str = "✅ OpenClaw access approved. Send a message to start chatting.";

/// A pending pairing request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PairingRequest {
    /// The sender's id.
    pub id: String,
    /// The code the owner approves with.
    pub code: String,
    /// When it was created (ISO 8601).
    pub created_at: String,
    /// When the sender last wrote (ISO 8601).
    pub last_seen_at: String,
    /// `{"accountId", ...}`: other keys are kept as read.
    #[serde(default)]
    pub meta: Map<String, Value>,
}

impl PairingRequest {
    /// The account the request is for (`default` when unset).
    pub fn account_id(&self) -> String {
        self.meta
            .get("accountId")
            .and_then(Value::as_str)
            .map_or_else(|| DEFAULT_ACCOUNT_ID.to_owned(), normalize_account_id)
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
struct PendingFile {
    version: u32,
    #[serde(default)]
    requests: Vec<PairingRequest>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct AllowFile {
    version: u32,
    #[serde(default)]
    allow_from: Vec<String>,
}

/// What a message from a stranger did to the store.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum UpsertOutcome {
    /// A new request: reply with its code.
    Created {
        /// The code.
        code: String,
    },
    /// The sender already has a pending request: no new reply.
    Existing {
        /// Its code, unchanged.
        code: String,
    },
    /// The account already has [`MAX_PENDING`] requests: no code, no reply.
    CapReached,
}

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PairingError {
    /// A file could not be read or written.
    #[error(transparent)]
    File(#[from] FileError),
    /// A lock could not be taken.
    #[error(transparent)]
    Lock(#[from] LockError),
    /// The channel or account id cannot name a file.
    #[error("bad file-name key: {0}")]
    Key(#[from] KeyError),
}

/// The clock the store reads; injectable for tests of the TTL.
pub type Clock = Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>;

/// The pairing store of one channel under a credentials directory.
#[derive(Clone)]
pub struct PairingStore {
    dir: PathBuf,
    channel: String,
    clock: Clock,
}

impl std::fmt::Debug for PairingStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PairingStore")
            .field("dir", &self.dir)
            .field("channel", &self.channel)
            .finish_non_exhaustive()
    }
}

fn iso(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

fn parse_iso(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// A fresh pairing code from the thread's cryptographic RNG.
pub fn generate_code() -> String {
    let mut rng = rand::rng();
    (0..CODE_LEN)
        .map(|_| char::from(CODE_ALPHABET[rng.random_range(0..CODE_ALPHABET.len())]))
        .collect()
}

/// A code not among `taken` (compared case-insensitively).
pub fn unique_code<'a>(taken: impl Iterator<Item = &'a str> + Clone) -> String {
    loop {
        let code = generate_code();
        if !taken.clone().any(|t| t.eq_ignore_ascii_case(&code)) {
            return code;
        }
    }
}

impl PairingStore {
    /// The store of `channel` under the credentials directory `dir`.
    pub fn new(dir: impl Into<PathBuf>, channel: &str) -> Result<Self, PairingError> {
        Ok(Self {
            dir: dir.into(),
            channel: file_name_key(channel)?,
            clock: Arc::new(Utc::now),
        })
    }

    /// The same store reading time from `clock`.
    #[must_use]
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// `<dir>/<channel>-pairing.json`.
    pub fn pending_path(&self) -> PathBuf {
        self.dir.join(format!("{}-pairing.json", self.channel))
    }

    /// `<dir>/<channel>-<account>-allowFrom.json`.
    pub fn allow_from_path(&self, account_id: &str) -> Result<PathBuf, PairingError> {
        let account = file_name_key(&normalize_account_id(account_id))?;
        Ok(self
            .dir
            .join(format!("{}-{account}-allowFrom.json", self.channel)))
    }

    /// The legacy `<dir>/<channel>-allowFrom.json` of the default account.
    pub fn legacy_allow_from_path(&self) -> PathBuf {
        self.dir.join(format!("{}-allowFrom.json", self.channel))
    }

    fn load_pending(&self) -> Result<PendingFile, PairingError> {
        Ok(
            read_json::<PendingFile>(&self.pending_path())?.unwrap_or(PendingFile {
                version: 1,
                requests: Vec::new(),
            }),
        )
    }

    fn save_pending(&self, file: &PendingFile) -> Result<(), PairingError> {
        Ok(write_json(&self.pending_path(), file)?)
    }

    /// Drops expired requests; true when any was dropped.
    fn prune(&self, file: &mut PendingFile) -> bool {
        let now = (self.clock)();
        let before = file.requests.len();
        file.requests.retain(|r| {
            parse_iso(&r.created_at)
                .is_some_and(|t| now < t + ChronoDuration::seconds(REQUEST_TTL_SECS))
        });
        file.requests.len() != before
    }

    /// Records a message from `sender` on `account_id`: a new request with a
    /// fresh code, the existing one (its `lastSeenAt` updated), or nothing when
    /// the account has [`MAX_PENDING`] requests already.
    pub fn upsert(
        &self,
        account_id: &str,
        sender: &str,
        mut meta: Map<String, Value>,
    ) -> Result<UpsertOutcome, PairingError> {
        let account = normalize_account_id(account_id);
        let _guard = lock(&self.pending_path())?;
        let mut file = self.load_pending()?;
        let pruned = self.prune(&mut file);
        let now = iso((self.clock)());
        let existing = file
            .requests
            .iter_mut()
            .find(|r| r.account_id() == account && r.id.trim().eq_ignore_ascii_case(sender.trim()));
        if let Some(request) = existing {
            request.last_seen_at = now;
            let code = request.code.clone();
            self.save_pending(&file)?;
            return Ok(UpsertOutcome::Existing { code });
        }
        let pending = file
            .requests
            .iter()
            .filter(|r| r.account_id() == account)
            .count();
        if pending >= MAX_PENDING {
            if pruned {
                self.save_pending(&file)?;
            }
            return Ok(UpsertOutcome::CapReached);
        }
        let code = unique_code(file.requests.iter().map(|r| r.code.as_str()));
        meta.insert("accountId".into(), Value::String(account));
        file.version = 1;
        file.requests.push(PairingRequest {
            id: sender.trim().to_owned(),
            code: code.clone(),
            created_at: now.clone(),
            last_seen_at: now,
            meta,
        });
        self.save_pending(&file)?;
        Ok(UpsertOutcome::Created { code })
    }

    /// Pending requests, oldest first (of one account, or all).
    pub fn list(&self, account_id: Option<&str>) -> Result<Vec<PairingRequest>, PairingError> {
        let _guard = lock(&self.pending_path())?;
        let mut file = self.load_pending()?;
        if self.prune(&mut file) {
            self.save_pending(&file)?;
        }
        let account = account_id.map(normalize_account_id);
        let mut list: Vec<PairingRequest> = file
            .requests
            .into_iter()
            .filter(|r| account.as_ref().is_none_or(|a| r.account_id() == *a))
            .collect();
        list.sort_by(|a, b| a.created_at.cmp(&b.created_at));
        Ok(list)
    }

    /// Approves the request with `code` (trimmed, case-insensitive), of
    /// `account_id` when given: removes it and appends its sender to the
    /// account's allow-list. `Ok(None)` when no such request is pending.
    pub fn approve(
        &self,
        code: &str,
        account_id: Option<&str>,
    ) -> Result<Option<PairingRequest>, PairingError> {
        let code = code.trim();
        let account = account_id.map(normalize_account_id);
        let _pending_guard = lock(&self.pending_path())?;
        let mut file = self.load_pending()?;
        let pruned = self.prune(&mut file);
        let found = file.requests.iter().position(|r| {
            r.code.eq_ignore_ascii_case(code)
                && account.as_ref().is_none_or(|a| r.account_id() == *a)
        });
        let Some(index) = found else {
            if pruned {
                self.save_pending(&file)?;
            }
            return Ok(None);
        };
        let request = file.requests.remove(index);
        {
            let allow_path = self.allow_from_path(&request.account_id())?;
            let _allow_guard = lock(&allow_path)?;
            let mut allow = read_json::<AllowFile>(&allow_path)?.unwrap_or_default();
            allow.version = 1;
            let id = request.id.trim();
            if id != "*" && !allow.allow_from.iter().any(|e| e.eq_ignore_ascii_case(id)) {
                allow.allow_from.push(id.to_owned());
            }
            write_json(&allow_path, &allow)?;
        }
        self.save_pending(&file)?;
        Ok(Some(request))
    }

    /// The approved entries of an account (the default account also reads
    /// the legacy file).
    pub fn allow_from(&self, account_id: &str) -> Result<Vec<String>, PairingError> {
        let account = normalize_account_id(account_id);
        let mut out = read_json::<AllowFile>(&self.allow_from_path(&account)?)?
            .unwrap_or_default()
            .allow_from;
        if account == DEFAULT_ACCOUNT_ID {
            let legacy =
                read_json::<AllowFile>(&self.legacy_allow_from_path())?.unwrap_or_default();
            for e in legacy.allow_from {
                if !out.iter().any(|x| x.eq_ignore_ascii_case(&e)) {
                    out.push(e);
                }
            }
        }
        out.retain(|e| e.trim() != "*");
        Ok(out)
    }

    /// The credentials directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

/// The reply to a new sender, lines joined with `\n`, as the host era sends it.
/// `id_line` is the channel's sender-id line (Weixin: `Your WeChat user id: <id>`).
pub fn pairing_reply(channel: &str, code: &str, id_line: &str, profile: HostProfile) -> String {
    let command = format!("openclaw pairing approve {channel} {code}");
    let fence = |s: &str| format!("```\n{s}\n```");
    let lines: Vec<String> = match profile {
        HostProfile::Early => vec![
            "OpenClaw: access not configured.".into(),
            String::new(),
            id_line.into(),
            String::new(),
            format!("Pairing code: {code}"),
            String::new(),
            "Ask the bot owner to approve with:".into(),
            command,
        ],
        HostProfile::Late => vec![
            "OpenClaw: access not configured.".into(),
            String::new(),
            id_line.into(),
            String::new(),
            "Pairing code:".into(),
            fence(code),
            String::new(),
            "Ask the bot owner to approve with:".into(),
            command.clone(),
            fence(&command),
        ],
        HostProfile::Newest => vec![
            "OpenClaw: access not configured.".into(),
            String::new(),
            id_line.into(),
            "Pairing code:".into(),
            fence(code),
            String::new(),
            "Ask the bot owner to approve with:".into(),
            fence(&command),
        ],
    };
    lines.join("\n")
}

/// The Weixin channel's sender-id line.
pub fn weixin_id_line(sender: &str) -> String {
    format!("Your WeChat user id: {sender}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairing_reply_of_each_era() {
        let id = weixin_id_line("a1@im.wechat");
        assert_eq!(id, "Your WeChat user id: a1@im.wechat");
        let early = pairing_reply("openclaw-weixin", "ABCD2345", &id, HostProfile::Early);
        assert_eq!(
            early,
            "OpenClaw: access not configured.\n\nYour WeChat user id: a1@im.wechat\n\n\
             Pairing code: ABCD2345\n\nAsk the bot owner to approve with:\n\
             openclaw pairing approve openclaw-weixin ABCD2345"
        );
        let late = pairing_reply("openclaw-weixin", "ABCD2345", &id, HostProfile::Late);
        assert_eq!(
            late,
            "OpenClaw: access not configured.\n\nYour WeChat user id: a1@im.wechat\n\n\
             Pairing code:\n```\nABCD2345\n```\n\nAsk the bot owner to approve with:\n\
             openclaw pairing approve openclaw-weixin ABCD2345\n\
             ```\nopenclaw pairing approve openclaw-weixin ABCD2345\n```"
        );
        let newest = pairing_reply("openclaw-weixin", "ABCD2345", &id, HostProfile::Newest);
        assert_eq!(
            newest,
            "OpenClaw: access not configured.\n\nYour WeChat user id: a1@im.wechat\n\
             Pairing code:\n```\nABCD2345\n```\n\nAsk the bot owner to approve with:\n\
             ```\nopenclaw pairing approve openclaw-weixin ABCD2345\n```"
        );
        assert!(APPROVED_NOTICE.starts_with("✅ OpenClaw access approved."));
    }
}
