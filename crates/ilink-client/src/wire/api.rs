//! Request and reply bodies of the endpoints of section 4.
//!
//! Requests omit unset fields; replies accept `null` for any field and ignore
//! fields they do not know. Every reply carries the status triple
//! `ret`/`errcode`/`errmsg`, checked by the client before the body is used.

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use super::enums::{TypingStatus, UploadMediaType};
use super::id::{null_as_default, WireId};
use super::message::WeixinMessage;

/// `base_info`, carried by every POST body except `get_bot_qrcode`'s.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BaseInfo {
    /// The channel's semver, such as `2.4.9`.
    pub channel_version: String,
    /// The sanitized bot agent.
    pub bot_agent: String,
}

/// The status triple every reply may carry.
pub trait ReplyStatus {
    /// `ret`, when present.
    fn ret(&self) -> Option<i64>;
    /// `errcode`, when present.
    fn errcode(&self) -> Option<i64>;
    /// `errmsg`, when present.
    fn errmsg(&self) -> Option<&str>;
}

macro_rules! reply {
    (
        $(#[$meta:meta])*
        pub struct $name:ident {
            $( $(#[$fmeta:meta])* pub $field:ident : $ty:ty, )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
        #[non_exhaustive]
        pub struct $name {
            /// 0 on success; non-zero is an API error.
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub ret: Option<i64>,
            /// Non-zero is an API error.
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub errcode: Option<i64>,
            /// The server's explanation of an error, often empty.
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub errmsg: Option<String>,
            $( $(#[$fmeta])* pub $field: $ty, )*
        }

        impl ReplyStatus for $name {
            fn ret(&self) -> Option<i64> { self.ret }
            fn errcode(&self) -> Option<i64> { self.errcode }
            fn errmsg(&self) -> Option<&str> { self.errmsg.as_deref() }
        }
    };
}

/// Body of `POST ilink/bot/get_bot_qrcode?bot_type=3`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GetBotQrcodeRequest {
    /// Tokens of the last 10 accounts of the index, last first; lets the server
    /// recognise a bot already bound to this gateway.
    #[serde(default, deserialize_with = "null_as_default")]
    pub local_token_list: Vec<String>,
}

reply! {
    /// Reply of `get_bot_qrcode`.
    pub struct GetBotQrcodeReply {
        /// The opaque id to poll the status with.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub qrcode: Option<String>,
        /// The URL to encode in the QR code.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub qrcode_img_content: Option<String>,
    }
}

/// The `status` of a QR status poll.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(from = "String", into = "String")]
#[non_exhaustive]
pub enum QrStatus {
    /// Not scanned yet.
    Wait,
    /// Scanned, awaiting confirmation; a pending verify code was accepted.
    Scaned,
    /// The phone shows digits the user must type.
    NeedVerifycode,
    /// Too many wrong verify codes: fetch a new QR.
    VerifyCodeBlocked,
    /// The QR expired: fetch a new one.
    Expired,
    /// The account lives in another data centre: poll `redirect_host`.
    ScanedButRedirect,
    /// The bot is already bound to this gateway: success with nothing new.
    BindedRedirect,
    /// Login confirmed.
    Confirmed,
    /// A status this crate does not know, kept as received.
    Unknown(String),
}

impl QrStatus {
    /// The wire text of the status.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Wait => "wait",
            Self::Scaned => "scaned",
            Self::NeedVerifycode => "need_verifycode",
            Self::VerifyCodeBlocked => "verify_code_blocked",
            Self::Expired => "expired",
            Self::ScanedButRedirect => "scaned_but_redirect",
            Self::BindedRedirect => "binded_redirect",
            Self::Confirmed => "confirmed",
            Self::Unknown(s) => s,
        }
    }
}

impl From<String> for QrStatus {
    fn from(s: String) -> Self {
        match s.as_str() {
            "wait" => Self::Wait,
            "scaned" => Self::Scaned,
            "need_verifycode" => Self::NeedVerifycode,
            "verify_code_blocked" => Self::VerifyCodeBlocked,
            "expired" => Self::Expired,
            "scaned_but_redirect" => Self::ScanedButRedirect,
            "binded_redirect" => Self::BindedRedirect,
            "confirmed" => Self::Confirmed,
            _ => Self::Unknown(s),
        }
    }
}

impl From<QrStatus> for String {
    fn from(s: QrStatus) -> Self {
        s.as_str().to_owned()
    }
}

impl Default for QrStatus {
    fn default() -> Self {
        Self::Unknown(String::new())
    }
}

reply! {
    /// Reply of `GET ilink/bot/get_qrcode_status`.
    pub struct QrStatusReply {
        /// The login state.
        #[serde(default)]
        pub status: QrStatus,
        /// `confirmed`: the bot token.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub bot_token: Option<String>,
        /// `confirmed`: the account id (`…@im.bot`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub ilink_bot_id: Option<String>,
        /// `confirmed`: the API base to use from now on; may be empty.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub baseurl: Option<String>,
        /// `confirmed`: the WeChat user who scanned, the account's owner.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub ilink_user_id: Option<String>,
        /// `scaned_but_redirect`: `host[:port]` to poll from now on.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub redirect_host: Option<String>,
    }
}

/// Body of `POST ilink/bot/getupdates`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GetUpdatesRequest {
    /// The opaque cursor; `""` the first time or after a reset.
    #[serde(default, deserialize_with = "null_as_default")]
    pub get_updates_buf: String,
    /// The channel's identity.
    pub base_info: BaseInfo,
}

/// The raw reply of getupdates; messages are kept undecoded so that one bad
/// message costs only itself (see [`crate::GetUpdatesResponse`]).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct GetUpdatesReplyRaw {
    /// 0 on success; non-zero is an API error.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ret: Option<i64>,
    /// Non-zero is an API error.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub errcode: Option<i64>,
    /// The server's explanation of an error, often empty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub errmsg: Option<String>,
    /// The messages, each still raw JSON.
    #[serde(default, deserialize_with = "null_as_default")]
    pub msgs: Vec<Box<RawValue>>,
    /// The new cursor.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub get_updates_buf: Option<String>,
    /// When > 0, the client timeout to base the next poll on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub longpolling_timeout_ms: Option<i64>,
}

impl ReplyStatus for GetUpdatesReplyRaw {
    fn ret(&self) -> Option<i64> {
        self.ret
    }
    fn errcode(&self) -> Option<i64> {
        self.errcode
    }
    fn errmsg(&self) -> Option<&str> {
        self.errmsg.as_deref()
    }
}

/// Body of `POST ilink/bot/sendmessage`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SendMessageRequest {
    /// The message to send.
    pub msg: WeixinMessage,
    /// The channel's identity.
    pub base_info: BaseInfo,
}

reply! {
    /// Reply of sendmessage.
    pub struct SendMessageReply {
        /// The server's id of the stored message; absent means unconfirmed.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub message_id: Option<WireId>,
    }
}

/// Body of `POST ilink/bot/getconfig`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GetConfigRequest {
    /// The peer.
    pub ilink_user_id: String,
    /// The peer's context token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context_token: Option<String>,
    /// The channel's identity.
    pub base_info: BaseInfo,
}

reply! {
    /// Reply of getconfig.
    pub struct GetConfigReply {
        /// The ticket sendtyping needs for this peer.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub typing_ticket: Option<String>,
    }
}

/// Body of `POST ilink/bot/sendtyping`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SendTypingRequest {
    /// The peer.
    pub ilink_user_id: String,
    /// The peer's typing ticket from getconfig.
    pub typing_ticket: String,
    /// Typing or cancel.
    pub status: TypingStatus,
    /// The channel's identity.
    pub base_info: BaseInfo,
}

/// Body of `notifystart` and `notifystop`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotifyRequest {
    /// The channel's identity.
    pub base_info: BaseInfo,
}

reply! {
    /// The reply of calls that answer only a status (sendtyping, notify*).
    pub struct StatusReply {}
}

/// Body of `POST ilink/bot/getuploadurl`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GetUploadUrlRequest {
    /// 16 random bytes as hex, naming the upload.
    pub filekey: String,
    /// What is uploaded.
    pub media_type: UploadMediaType,
    /// The peer the media is for.
    pub to_user_id: String,
    /// Plaintext size.
    pub rawsize: u64,
    /// Hex MD5 of the plaintext.
    pub rawfilemd5: String,
    /// Ciphertext size: `ceil((rawsize + 1) / 16) * 16`.
    pub filesize: u64,
    /// Always true: no thumbnail is uploaded.
    pub no_need_thumb: bool,
    /// The AES key as 32 hex characters.
    pub aeskey: String,
    /// The channel's identity.
    pub base_info: BaseInfo,
}

reply! {
    /// Reply of getuploadurl. At least one of the URL forms must be present.
    pub struct GetUploadUrlReply {
        /// A complete upload URL, used when present.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub upload_full_url: Option<String>,
        /// The opaque parameter of the built upload URL.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub upload_param: Option<String>,
        /// The parameter of a thumbnail upload (unused: no_need_thumb).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub thumb_upload_param: Option<String>,
    }
}
