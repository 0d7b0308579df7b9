//! Everything the mock remembers: bots, logins, uploads, faults, the request
//! log and the violations, behind one mutex (the mock is test infrastructure:
//! simple and correct beats clever).

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use rand::rngs::StdRng;
use rand::{Rng as _, SeedableRng as _};
use serde_json::value::RawValue;
use serde_json::Value;
use tokio::sync::{oneshot, Notify};

/// The mock's settings.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct MockConfig {
    /// The `longpolling_timeout_ms` advertised; idle polls are held for 90 % of it.
    pub long_poll_ms: u64,
    /// Every QR is scanned at its 1st status poll and confirmed at its 2nd.
    pub auto_login: bool,
    /// Makes generated ids, tokens and keys reproducible.
    pub seed: Option<u64>,
    /// Request records kept; older ones are dropped first.
    pub max_requests: usize,
}

impl Default for MockConfig {
    fn default() -> Self {
        Self {
            long_poll_ms: 35_000,
            auto_login: false,
            seed: None,
            max_requests: 100_000,
        }
    }
}

/// Most messages one getupdates reply carries.
pub(crate) const MAX_BATCH: usize = 100;
/// Messages a bot may send per inbound message.
pub(crate) const REPLY_ALLOWANCE: u32 = 10;
/// How long after a user's last message the bot may still send to them.
pub(crate) const REPLY_WINDOW_MS: i64 = 24 * 3600 * 1000;
/// How long a QR code lives unless confirmed.
pub(crate) const QR_LIFETIME_MS: i64 = 120_000;

/// How uploads are answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum UploadMode {
    FullUrl,
    Param,
}

/// What a peer did last, for the reply budget and context tokens.
#[derive(Debug, Default)]
pub(crate) struct Peer {
    pub last_inbound_ms: Option<i64>,
    pub allowance: u32,
    /// The newest context token handed out in a getupdates reply.
    pub newest_token: Option<String>,
    pub typing_ticket: Option<String>,
}

/// A getupdates held open, waiting for messages.
#[derive(Debug)]
pub(crate) struct HeldPoll {
    pub id: u64,
    /// Sending on it answers the held poll with `msgs: []` at once.
    pub release: oneshot::Sender<()>,
}

#[derive(Debug)]
pub(crate) struct Bot {
    pub id: String,
    pub token: String,
    pub owner: String,
    pub upload_mode: UploadMode,
    pub reply_budget: bool,
    pub online: bool,
    pub stale: bool,
    /// Messages not yet handed out, pre-serialized (ids may exceed u64).
    pub queue: VecDeque<QueuedMessage>,
    /// Messages handed out at least once, in order.
    pub delivered: Vec<QueuedMessage>,
    pub cursors: HashSet<String>,
    /// Keyed by the peer id lower-cased: peers are looked up case-insensitively.
    pub peers: HashMap<String, Peer>,
    pub outbound: Vec<Value>,
    /// client_id → message_id of accepted sends.
    pub client_ids: HashMap<String, u64>,
    pub typing_events: Vec<Value>,
    pub held: Option<HeldPoll>,
    pub notify: Arc<Notify>,
}

/// A message waiting in (or handed out from) a bot's queue.
#[derive(Debug, Clone)]
pub(crate) struct QueuedMessage {
    pub raw: Box<RawValue>,
    pub peer: String,
    pub context_token: Option<String>,
}

/// The state of one QR login.
#[derive(Debug)]
pub(crate) struct Login {
    pub qrcode: String,
    pub local_token_list: Vec<String>,
    pub issued_ms: i64,
    pub polls: u64,
    pub phase: LoginPhase,
    /// The user who scanned, once someone did.
    pub user: Option<String>,
    pub verify_code: Option<String>,
    pub wrong_codes: u32,
    pub redirect_host: Option<String>,
    pub bot_id: Option<String>,
}

/// Where a login stands: what its next poll answers.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum LoginPhase {
    Wait,
    Scanned,
    NeedVerify,
    VerifyBlocked,
    Expired,
    Confirmed(Value),
    BindedRedirect,
}

impl LoginPhase {
    pub fn status(&self) -> &'static str {
        match self {
            Self::Wait => "wait",
            Self::Scanned => "scaned",
            Self::NeedVerify => "need_verifycode",
            Self::VerifyBlocked => "verify_code_blocked",
            Self::Expired => "expired",
            Self::Confirmed(_) => "confirmed",
            Self::BindedRedirect => "binded_redirect",
        }
    }
}

/// A getuploadurl the mock answered: what the upload must match.
#[derive(Debug, Clone)]
pub(crate) struct Upload {
    pub bot_id: String,
    pub filekey: String,
    pub rawsize: u64,
    pub rawfilemd5: String,
    pub filesize: u64,
    pub aeskey: [u8; 16],
}

/// An object on the mock's CDN.
#[derive(Debug, Clone)]
pub(crate) struct CdnObject {
    pub ciphertext: bytes::Bytes,
    pub key: Option<[u8; 16]>,
    /// Set for uploads: the upload param it came from.
    pub upload: Option<Upload>,
}

/// An injected fault.
#[derive(Debug, Clone)]
pub(crate) struct Fault {
    pub id: u64,
    pub endpoint: String,
    pub bot_id: Option<String>,
    pub kind: FaultKind,
    pub remaining: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum FaultKind {
    Status(u16),
    ApiError(i64),
    Redeliver(usize),
    Delay(u64),
    Reset,
    Malformed,
    Truncate,
}

impl FaultKind {
    pub fn name(&self) -> &'static str {
        match self {
            Self::Status(_) => "status",
            Self::ApiError(_) => "api_error",
            Self::Redeliver(_) => "redeliver",
            Self::Delay(_) => "delay",
            Self::Reset => "reset",
            Self::Malformed => "malformed",
            Self::Truncate => "truncate",
        }
    }
}

/// Everything, behind the one mutex.
#[derive(Debug)]
pub(crate) struct State {
    pub config: MockConfig,
    pub base_url: String,
    pub rng: StdRng,
    pub clock_offset_ms: i64,
    pub bots: HashMap<String, Bot>,
    /// Every token ever issued → its bot (old and stale tokens still name it).
    pub tokens: HashMap<String, String>,
    pub logins: HashMap<String, Login>,
    /// Login qrcodes in issue order, for the listing.
    pub login_order: Vec<String>,
    /// Upload param → upload.
    pub uploads: HashMap<String, Upload>,
    /// Download param → object.
    pub cdn: HashMap<String, CdnObject>,
    pub faults: Vec<Fault>,
    pub next_fault: u64,
    pub requests: VecDeque<Value>,
    pub requests_dropped: u64,
    pub request_seq: u64,
    pub violations: Vec<Value>,
    pub violation_seq: u64,
    pub next_seq: u64,
    pub next_message_id: u64,
    pub next_poll_id: u64,
}

impl State {
    pub fn new(config: MockConfig, base_url: String) -> Self {
        let rng = match config.seed {
            Some(seed) => StdRng::seed_from_u64(seed),
            None => StdRng::from_os_rng(),
        };
        Self {
            config,
            base_url,
            rng,
            clock_offset_ms: 0,
            bots: HashMap::new(),
            tokens: HashMap::new(),
            logins: HashMap::new(),
            login_order: Vec::new(),
            uploads: HashMap::new(),
            cdn: HashMap::new(),
            faults: Vec::new(),
            next_fault: 1,
            requests: VecDeque::new(),
            requests_dropped: 0,
            request_seq: 0,
            violations: Vec::new(),
            violation_seq: 0,
            next_seq: 1,
            next_message_id: (1 << 53) + 1000,
            next_poll_id: 1,
        }
    }

    /// Forgets everything but the settings; held polls are released.
    pub fn reset(&mut self) {
        for bot in self.bots.values_mut() {
            if let Some(held) = bot.held.take() {
                let _ = held.release.send(());
            }
            bot.notify.notify_waiters();
        }
        let fresh = Self::new(self.config.clone(), self.base_url.clone());
        *self = fresh;
    }

    /// The mock clock: real time plus the offset `clock/advance` grew.
    pub fn now_ms(&self) -> i64 {
        let real = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
        real.saturating_add(self.clock_offset_ms)
    }

    /// `n` random bytes as lower-case hex.
    pub fn hex(&mut self, n: usize) -> String {
        let bytes: Vec<u8> = (0..n).map(|_| self.rng.random()).collect();
        hex::encode(bytes)
    }

    pub fn random_key(&mut self) -> [u8; 16] {
        self.rng.random()
    }

    pub fn new_user_id(&mut self) -> String {
        format!("{}@im.wechat", self.hex(8))
    }

    pub fn new_token(&mut self, bot_id: &str) -> String {
        format!("{bot_id}:{}", self.hex(20))
    }

    /// Records a violation of `rule`.
    pub fn violate(
        &mut self,
        rule: &str,
        detail: impl Into<String>,
        path: &str,
        bot_id: Option<&str>,
        qrcode: Option<&str>,
    ) {
        self.violation_seq += 1;
        let detail = detail.into();
        tracing::info!(rule, detail, path, "violation");
        self.violations.push(serde_json::json!({
            "seq": self.violation_seq,
            "rule": rule,
            "detail": detail,
            "path": path,
            "bot_id": bot_id,
            "qrcode": qrcode,
        }));
    }

    /// Records an answered request, dropping the oldest past the cap.
    pub fn record(&mut self, mut record: Value) {
        self.request_seq += 1;
        if let Some(obj) = record.as_object_mut() {
            obj.insert("seq".into(), self.request_seq.into());
            obj.insert("at_ms".into(), self.now_ms().into());
        }
        self.requests.push_back(record);
        while self.requests.len() > self.config.max_requests {
            self.requests.pop_front();
            self.requests_dropped += 1;
        }
    }

    /// The bot a token names (current, old or stale).
    pub fn bot_of_token(&self, token: &str) -> Option<&str> {
        self.tokens.get(token).map(String::as_str)
    }

    /// Creates a bot as if its QR login had completed.
    pub fn create_bot(
        &mut self,
        bot_id: Option<String>,
        token: Option<String>,
        owner: Option<String>,
        upload_mode: UploadMode,
        reply_budget: bool,
    ) -> Result<&Bot, String> {
        let id = match bot_id {
            Some(id) => id,
            None => format!("{}@im.bot", self.hex(6)),
        };
        if self.bots.contains_key(&id) {
            return Err(format!("bot {id} exists"));
        }
        let token = match token {
            Some(t) => t,
            None => self.new_token(&id),
        };
        let owner = match owner {
            Some(o) => o,
            None => self.new_user_id(),
        };
        self.tokens.insert(token.clone(), id.clone());
        let bot = Bot {
            id: id.clone(),
            token,
            owner,
            upload_mode,
            reply_budget,
            online: false,
            stale: false,
            queue: VecDeque::new(),
            delivered: Vec::new(),
            cursors: HashSet::new(),
            peers: HashMap::new(),
            outbound: Vec::new(),
            client_ids: HashMap::new(),
            typing_events: Vec::new(),
            held: None,
            notify: Arc::new(Notify::new()),
        };
        Ok(self.bots.entry(id).or_insert(bot))
    }

    /// Gives a bot a new current token; the old one answers -14 from now on,
    /// including a poll it holds (answered at once).
    pub fn rotate_token(&mut self, bot_id: &str) -> Option<String> {
        let token = self.new_token(bot_id);
        let bot = self.bots.get_mut(bot_id)?;
        bot.token = token.clone();
        bot.stale = false;
        bot.notify.notify_waiters();
        self.tokens.insert(token.clone(), bot_id.to_owned());
        Some(token)
    }

    /// Marks a bot's token stale and answers its held poll (with -14) at once.
    pub fn make_stale(&mut self, bot_id: &str) -> bool {
        match self.bots.get_mut(bot_id) {
            Some(bot) => {
                bot.stale = true;
                bot.notify.notify_waiters();
                true
            }
            None => false,
        }
    }
}
