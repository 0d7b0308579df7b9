//! The control API's bodies, as typed structs. The server reads them and the
//! [`crate::MockIlink`] handle writes them, so both sides share one definition.

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::{Map, Value};

/// `POST /_mock/bots`: a bot as if its QR login had completed.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct NewBot {
    /// Its id (`<hex>@im.bot`); generated when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bot_id: Option<String>,
    /// Its token; generated when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    /// Its owner (`<hex>@im.wechat`); generated when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner_user_id: Option<String>,
    /// `full_url` (default) or `param`: which form getuploadurl answers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upload_mode: Option<String>,
    /// Whether the reply budget applies (default true).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply_budget: Option<bool>,
}

/// A bot's credentials.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BotCredentials {
    /// The bot's id.
    pub bot_id: String,
    /// Its current token.
    pub token: String,
    /// Its owner.
    pub owner_user_id: String,
}

/// `GET /_mock/bots/{bot_id}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BotStatus {
    /// The bot's id.
    pub bot_id: String,
    /// Its owner.
    pub owner_user_id: String,
    /// Set by notifystart, cleared by notifystop.
    pub online: bool,
    /// Its token is stale: calls answer -14.
    pub token_stale: bool,
    /// Messages not yet handed out.
    pub queued: u64,
    /// Messages handed out at least once.
    pub delivered: u64,
}

/// How an injected media item carries its key.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KeyForm {
    /// `image_item.aeskey` as 32 hex characters (images only).
    HexField,
    /// `media.aes_key` = base64 of the 16 raw bytes.
    #[default]
    Base64Raw,
    /// `media.aes_key` = base64 of the 32 hex characters.
    Base64Hex,
    /// Plaintext on the CDN, no key.
    None,
}

/// `full_url`: `true` for the mock's own download URL, or a URL verbatim.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum FullUrl {
    /// `true`: `<base>/c2c/download?encrypted_query_param=…`; `false`: none.
    Flag(bool),
    /// This URL, verbatim (hostile-input tests).
    Url(String),
}

/// An injected image or video.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MediaSpec {
    /// The plaintext, base64.
    pub data_base64: String,
    /// How the key travels.
    #[serde(default)]
    pub key: KeyForm,
    /// Whether (or where) `media.full_url` points.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub full_url: Option<FullUrl>,
}

/// An injected file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileSpec {
    /// The sender's file name.
    pub file_name: String,
    /// The plaintext, base64.
    pub data_base64: String,
    /// How the key travels.
    #[serde(default)]
    pub key: KeyForm,
    /// Whether (or where) `media.full_url` points.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub full_url: Option<FullUrl>,
}

/// An injected voice clip.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VoiceSpec {
    /// The SILK audio, base64.
    pub data_base64: String,
    /// The server's transcript, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// How the key travels.
    #[serde(default)]
    pub key: KeyForm,
}

/// One item of an injected message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InboundItem {
    /// `{"text": "..."}`.
    Text(String),
    /// `{"image": {...}}`.
    Image(MediaSpec),
    /// `{"file": {...}}`.
    File(FileSpec),
    /// `{"video": {...}}`.
    Video(MediaSpec),
    /// `{"voice": {...}}`.
    Voice(VoiceSpec),
    /// `{"raw": <any JSON>}`: put into `item_list` verbatim.
    Raw(Value),
}

/// A quote of an injected message: becomes the first item's `ref_msg`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Quote {
    /// The quoted message's id: a JSON number or a string of digits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub svr_id: Option<Box<RawValue>>,
    /// The quote's title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// The quoted item.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub item: Option<InboundItem>,
}

/// `POST /_mock/bots/{bot_id}/inbound`: a WeChat user sends the bot a message.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Inbound {
    /// The sender (`<hex>@im.wechat`).
    pub from_user_id: String,
    /// The items, in order.
    pub items: Vec<InboundItem>,
    /// A quote, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quote: Option<Quote>,
    /// The message id to use: a JSON number or a string of digits (even beyond u64).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_id: Option<Box<RawValue>>,
}

impl Inbound {
    /// A text message from `from_user_id`.
    pub fn text(from_user_id: impl Into<String>, text: impl Into<String>) -> Self {
        Self {
            from_user_id: from_user_id.into(),
            items: vec![InboundItem::Text(text.into())],
            quote: None,
            message_id: None,
        }
    }
}

/// The decrypted view of one sent media item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MediaCheck {
    /// `image`, `video`, `file` or `voice`.
    pub kind: String,
    /// Plaintext size, `None` when it does not decrypt.
    pub size: Option<u64>,
    /// Plaintext MD5 (hex), `None` when it does not decrypt.
    pub md5: Option<String>,
    /// Whether the carried key decrypts the upload.
    pub decrypt_ok: bool,
    /// Whether size and MD5 equal those declared at getuploadurl.
    pub matches_upload: bool,
}

/// One accepted sendmessage.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutboundMessage {
    /// The message as sent.
    pub msg: Value,
    /// The id the mock gave it.
    pub message_id: u64,
    /// When it arrived (mock clock, Unix ms).
    pub received_at_ms: i64,
    /// Its media, decrypted by the mock.
    pub media: Vec<MediaCheck>,
}

/// `GET /_mock/bots/{bot_id}/outbound`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutboundLog {
    /// Every accepted sendmessage, in order.
    pub messages: Vec<OutboundMessage>,
}

/// One sendtyping.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TypingEvent {
    /// The peer.
    pub to: String,
    /// The status sent (1 typing, 2 cancel, or whatever came).
    pub status: Value,
    /// Whether the ticket was the one issued for that peer.
    pub ticket_ok: bool,
}

/// `GET /_mock/bots/{bot_id}/typing`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TypingLog {
    /// Every sendtyping, in order.
    pub events: Vec<TypingEvent>,
}

/// One recorded request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RequestRecord {
    /// Sequence number (requests count separately from violations).
    pub seq: u64,
    /// When it was answered (mock clock, Unix ms).
    pub at_ms: i64,
    /// HTTP method.
    pub method: String,
    /// Path without the query.
    pub path: String,
    /// Decoded first values of the query.
    pub query: Map<String, Value>,
    /// Headers, names lower-cased.
    pub headers: Map<String, Value>,
    /// The JSON body, `{"bytes": N}` for a binary one, `null` for none.
    pub body: Value,
    /// The HTTP status answered (0: the connection was dropped by a fault).
    pub status: u16,
    /// The JSON reply, or `null`.
    pub reply: Value,
    /// The bot the request belongs to, if known.
    pub bot_id: Option<String>,
}

/// One violation: a client bug the mock saw.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Violation {
    /// Sequence number.
    pub seq: u64,
    /// The stable rule id, such as `header.missing`.
    pub rule: String,
    /// What was wrong.
    pub detail: String,
    /// The request path.
    pub path: String,
    /// The bot, if known.
    pub bot_id: Option<String>,
    /// The QR code, for violations of a QR login.
    pub qrcode: Option<String>,
}

/// `GET /_mock/cdn/{download_param}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CdnObjectInfo {
    /// Plaintext size.
    pub size: u64,
    /// Plaintext MD5 (hex).
    pub md5: String,
    /// The plaintext, base64.
    pub plaintext_base64: String,
}

/// One QR login.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoginInfo {
    /// The QR code id.
    pub qrcode: String,
    /// What its next poll answers.
    pub status: String,
    /// Status polls so far.
    pub polls: u64,
    /// The tokens its fetch carried.
    pub local_token_list: Vec<String>,
    /// The bot it confirmed (or was redirected to), if any.
    #[serde(default)]
    pub bot_id: Option<String>,
}

/// `POST /_mock/logins/{qrcode}/confirm` options.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Confirm {
    /// Re-login this bot (new token) or create it with this id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bot_id: Option<String>,
    /// The `baseurl` the confirmed poll names (default: the mock's own).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub baseurl: Option<String>,
}

/// `POST /_mock/faults`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct FaultSpec {
    /// The endpoint (`getupdates`, `cdn_upload`, ... or `*`).
    pub endpoint: String,
    /// Only requests of this bot.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bot_id: Option<String>,
    /// `status`, `api_error`, `redeliver`, `delay`, `reset`, `malformed` or `truncate`.
    pub kind: String,
    /// How many matching requests fail (default 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub times: Option<u64>,
    /// For `status`: the HTTP status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// For `api_error`: the `ret`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ret: Option<i64>,
    /// For `redeliver`: how many handed-out messages come again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<u64>,
    /// For `delay`: the delay.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delay_ms: Option<u64>,
}

/// One active fault.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FaultInfo {
    /// Its id.
    pub id: u64,
    /// Its endpoint.
    pub endpoint: String,
    /// Its bot filter.
    pub bot_id: Option<String>,
    /// Its kind.
    pub kind: String,
    /// Uses left.
    pub remaining: u64,
}

/// `GET /_mock/health`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Health {
    /// Always true.
    pub ok: bool,
    /// Request records dropped past `--max-requests`.
    pub requests_dropped: u64,
    /// getupdates requests held right now (an addition to the contract).
    #[serde(default)]
    pub held_polls: u64,
}
