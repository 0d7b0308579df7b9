//! Client of Tencent's iLink bot API, as spoken by OpenClaw's WeChat (Weixin) channel.
//!
//! This crate does the wire work of the channel and keeps no files: the
//! [`wire`] types with serde (lossless 64-bit ids, `null` as absent, unknown
//! enum values kept), an [`IlinkClient`] with one method per endpoint, the QR
//! [`login`] flow, CDN media with AES-128-ECB ([`crypto`], [`media`]), outbound
//! message [`builders`] with [`text_split`]ting, pure inbound [`normalize`]ation,
//! the `bot_agent` sanitizer and the [`redact`]ion used by every log line.
//!
//! ```no_run
//! use ilink_client::{IlinkClient, SplitLimits, ReplyTarget};
//!
//! # async fn run() -> ilink_client::Result<()> {
//! let client = IlinkClient::builder()
//!     .base_url("http://127.0.0.1:8080")
//!     .token("bot-token")
//!     .build()?;
//! let timeout = client.timeouts().long_poll;
//! let batch = client.get_updates("", timeout).await?;
//! for msg in &batch.msgs {
//!     let peer = msg.from_user_id.clone().unwrap_or_default();
//!     let mut target = ReplyTarget::new(peer);
//!     target.context_token = msg.context_token.clone();
//!     let body = ilink_client::normalize::inbound_body(msg);
//!     for reply in target.text_messages(&body, SplitLimits::default()) {
//!         client.send_message(reply).await?;
//!     }
//! }
//! # Ok(()) }
//! ```
//!
//! Logging goes through `tracing`; no log line carries a token, a context token
//! or a query string.

pub mod bot_agent;
pub mod builders;
mod client;
pub mod crypto;
mod error;
pub mod login;
pub mod media;
pub mod normalize;
mod qr_render;
pub mod redact;
pub mod text_split;
mod version;
pub mod wire;

pub use builders::ReplyTarget;
pub use client::{
    decode_updates, decode_updates_body, BadMessage, ClientBuilder, GetUpdatesResponse,
    IlinkClient, QrCode, SendOutcome, Timeouts, DEFAULT_APP_ID, DEFAULT_BASE_URL,
    DEFAULT_CDN_BASE_URL, DEFAULT_CHANNEL_VERSION, MAX_REPLY_BYTES,
};
pub use error::{Error, ErrorKind, Result, STALE_TOKEN_CODE};
pub use login::{LoginFlow, LoginOptions, LoginOutcome, LoginPrompt, LoginSuccess};
pub use media::{MediaKind, MediaSource, UploadedMedia, MAX_MEDIA_BYTES};
pub use qr_render::render_qr_terminal;
pub use text_split::SplitLimits;
pub use version::pack_client_version;
