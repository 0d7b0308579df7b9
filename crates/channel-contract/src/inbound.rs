//! The inbound message context (openclaw-host spec section 5): what a channel
//! hands the host for each admitted message, with idiomatic Rust names that
//! map 1:1 to the host's PascalCase fields (`Body`, `From`, `MessageSidFull`,
//! ...), and serialized under those host names.
//!
//! Media is held as an ordered list ([`InboundMedia`]); it serializes both as
//! the host's single form (`MediaPath`/`MediaType`, the first item) and its
//! list form (`MediaPaths`/`MediaTypes`). Provider message ids stay strings of
//! digits (`MessageSidFull`), so a 64-bit id never passes through an `f64`.
//!
//! Only `Serialize` is derived: the context is built by a channel and read by
//! a host, and a [`SessionKey`] can only be made by derivation.

use std::path::{Path, PathBuf};

use serde::{Serialize, Serializer};

use crate::plugin::ChatType;
use crate::session::SessionKey;

/// One media item of an inbound message, saved by the host's media store.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct InboundMedia {
    /// Where the host saved it.
    pub path: PathBuf,
    /// Its MIME type, such as `image/jpeg`.
    pub media_type: String,
}

impl InboundMedia {
    /// A media item.
    pub fn new(path: impl Into<PathBuf>, media_type: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            media_type: media_type.into(),
        }
    }
}

/// The host's inbound message context (`MsgContext`), field for field.
///
/// ```
/// use channel_contract::inbound::InboundContext;
/// use channel_contract::session::SessionKey;
///
/// let ctx = InboundContext::new("openclaw-weixin", "b0f5860fdecb-im-bot",
///         "a1@im.wechat", "b0f5860fdecb@im.bot", "hello", SessionKey::main("main", "main"))
///     .with_message_sid_full("18446744073709551615");
/// let json = serde_json::to_value(&ctx).unwrap();
/// assert_eq!(json["Body"], "hello");
/// assert_eq!(json["MessageSidFull"], "18446744073709551615");
/// assert_eq!(json["CommandAuthorized"], false);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
#[non_exhaustive]
pub struct InboundContext {
    /// `Body`: the message text the agent sees.
    pub body: String,
    /// `From`: the sender.
    pub from: String,
    /// `To`: the bot account it was sent to.
    pub to: String,
    /// `AccountId`: the account it arrived on (normalized).
    pub account_id: String,
    /// `OriginatingChannel`: the channel id replies go out on.
    pub originating_channel: String,
    /// `OriginatingTo`: where replies go (the sender, for a direct chat).
    pub originating_to: String,
    /// `MessageSid`: the message's id as the channel reports it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message_sid: Option<String>,
    /// `MessageSidFull`: the provider's message id, lossless (a string of
    /// digits, never a float).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message_sid_full: Option<String>,
    /// `Timestamp`: when it was sent, epoch ms.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<i64>,
    /// `Provider`: the channel id.
    pub provider: String,
    /// `ChatType`: `direct` or `group`.
    pub chat_type: ChatType,
    /// `SessionKey`: the session routing chose.
    pub session_key: SessionKey,
    /// `MediaPath`/`MediaType` (the first item) and `MediaPaths`/`MediaTypes`
    /// (all, in order).
    #[serde(flatten, serialize_with = "serialize_media")]
    pub media: Vec<InboundMedia>,
    /// `ReplyToId`: the id of the message this one quotes or answers.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reply_to_id: Option<String>,
    /// `ReplyToBody`: that message's text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reply_to_body: Option<String>,
    /// `ReplyToIsQuote`: the reference is a quote (shown only when set).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reply_to_is_quote: Option<bool>,
    /// `CommandBody`: the text as a command, when it is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub command_body: Option<String>,
    /// `CommandAuthorized`: the sender may run commands (default `false`).
    pub command_authorized: bool,
}

impl InboundContext {
    /// A direct-chat context with the required fields. `Provider` and
    /// `OriginatingChannel` are `channel`, `OriginatingTo` is `from` (replies
    /// go back to the sender); the rest is empty, `CommandAuthorized` false.
    pub fn new(
        channel: impl Into<String>,
        account_id: impl Into<String>,
        from: impl Into<String>,
        to: impl Into<String>,
        body: impl Into<String>,
        session_key: SessionKey,
    ) -> Self {
        let channel = channel.into();
        let from = from.into();
        Self {
            body: body.into(),
            originating_to: from.clone(),
            from,
            to: to.into(),
            account_id: account_id.into(),
            originating_channel: channel.clone(),
            message_sid: None,
            message_sid_full: None,
            timestamp: None,
            provider: channel,
            chat_type: ChatType::Direct,
            session_key,
            media: Vec::new(),
            reply_to_id: None,
            reply_to_body: None,
            reply_to_is_quote: None,
            command_body: None,
            command_authorized: false,
        }
    }

    /// With `MessageSid`.
    #[must_use]
    pub fn with_message_sid(mut self, sid: impl Into<String>) -> Self {
        self.message_sid = Some(sid.into());
        self
    }

    /// With `MessageSidFull` (the provider id as its decimal digits).
    #[must_use]
    pub fn with_message_sid_full(mut self, sid: impl Into<String>) -> Self {
        self.message_sid_full = Some(sid.into());
        self
    }

    /// With `Timestamp` (epoch ms).
    #[must_use]
    pub fn with_timestamp(mut self, epoch_ms: i64) -> Self {
        self.timestamp = Some(epoch_ms);
        self
    }

    /// With one more media item (kept in order).
    #[must_use]
    pub fn with_media(mut self, media: InboundMedia) -> Self {
        self.media.push(media);
        self
    }

    /// With the message it refers to: `ReplyToId`, `ReplyToBody`,
    /// `ReplyToIsQuote`.
    #[must_use]
    pub fn with_reply_to(
        mut self,
        id: Option<String>,
        body: Option<String>,
        is_quote: bool,
    ) -> Self {
        self.reply_to_id = id;
        self.reply_to_body = body;
        self.reply_to_is_quote = Some(is_quote);
        self
    }

    /// With `CommandBody` and `CommandAuthorized`.
    #[must_use]
    pub fn with_command(mut self, command_body: impl Into<String>, authorized: bool) -> Self {
        self.command_body = Some(command_body.into());
        self.command_authorized = authorized;
        self
    }

    /// `MediaPath`: the first media item's path.
    pub fn media_path(&self) -> Option<&Path> {
        self.media.first().map(|m| m.path.as_path())
    }

    /// `MediaType`: the first media item's type.
    pub fn media_type(&self) -> Option<&str> {
        self.media.first().map(|m| m.media_type.as_str())
    }
}

/// The host's media fields, single and list forms, left out when empty.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct MediaFields<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    media_path: Option<&'a Path>,
    #[serde(skip_serializing_if = "Option::is_none")]
    media_type: Option<&'a str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    media_paths: Vec<&'a Path>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    media_types: Vec<&'a str>,
}

fn serialize_media<S: Serializer>(
    media: &[InboundMedia],
    serializer: S,
) -> Result<S::Ok, S::Error> {
    MediaFields {
        media_path: media.first().map(|m| m.path.as_path()),
        media_type: media.first().map(|m| m.media_type.as_str()),
        media_paths: media.iter().map(|m| m.path.as_path()).collect(),
        media_types: media.iter().map(|m| m.media_type.as_str()).collect(),
    }
    .serialize(serializer)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::{DirectPeer, DmScope, IdentityLinks};

    fn key() -> SessionKey {
        SessionKey::direct(
            DmScope::PerAccountChannelPeer,
            &DirectPeer {
                agent_id: "main",
                channel: "openclaw-weixin",
                account_id: "b0f5860fdecb-im-bot",
                peer_id: "A1@im.wechat",
            },
            "main",
            &IdentityLinks::new(),
        )
    }

    fn ctx() -> InboundContext {
        InboundContext::new(
            "openclaw-weixin",
            "b0f5860fdecb-im-bot",
            "a1@im.wechat",
            "b0f5860fdecb@im.bot",
            "hi there",
            key(),
        )
    }

    #[test]
    fn serializes_with_the_host_names() {
        let c = ctx()
            .with_message_sid("7")
            .with_message_sid_full("18446744073709551615")
            .with_timestamp(1_700_000_000_123)
            .with_media(InboundMedia::new("/m/1.jpg", "image/jpeg"))
            .with_media(InboundMedia::new("/m/2.mp4", "video/mp4"))
            .with_reply_to(Some("6".into()), Some("earlier".into()), true)
            .with_command("/status", true);
        let json = serde_json::to_value(&c).expect("serializes");
        assert_eq!(
            json,
            serde_json::json!({
                "Body": "hi there",
                "From": "a1@im.wechat",
                "To": "b0f5860fdecb@im.bot",
                "AccountId": "b0f5860fdecb-im-bot",
                "OriginatingChannel": "openclaw-weixin",
                "OriginatingTo": "a1@im.wechat",
                "MessageSid": "7",
                "MessageSidFull": "18446744073709551615",
                "Timestamp": 1_700_000_000_123_i64,
                "Provider": "openclaw-weixin",
                "ChatType": "direct",
                "SessionKey": "agent:main:openclaw-weixin:b0f5860fdecb-im-bot:direct:a1@im.wechat",
                "MediaPath": "/m/1.jpg",
                "MediaType": "image/jpeg",
                "MediaPaths": ["/m/1.jpg", "/m/2.mp4"],
                "MediaTypes": ["image/jpeg", "video/mp4"],
                "ReplyToId": "6",
                "ReplyToBody": "earlier",
                "ReplyToIsQuote": true,
                "CommandBody": "/status",
                "CommandAuthorized": true,
            })
        );
    }

    #[test]
    fn message_sid_full_stays_exact_in_the_json_text() {
        let c = ctx().with_message_sid_full("18446744073709551615");
        let text = serde_json::to_string(&c).expect("serializes");
        assert!(
            text.contains(r#""MessageSidFull":"18446744073709551615""#),
            "{text}"
        );
        // The float a JS host would get from a bare number is not it.
        assert_ne!(
            format!("{}", 18_446_744_073_709_551_615_u64 as f64),
            "18446744073709551615"
        );
    }

    #[test]
    fn a_bare_context_leaves_out_unknowns_and_defaults_command_authorized() {
        let c = ctx();
        assert!(!c.command_authorized);
        assert_eq!(c.media_path(), None);
        assert_eq!(c.media_type(), None);
        let json = serde_json::to_value(&c).expect("serializes");
        let mut keys: Vec<&str> = json
            .as_object()
            .map(|m| m.keys().map(String::as_str).collect())
            .unwrap_or_default();
        keys.sort_unstable();
        assert_eq!(
            keys,
            [
                "AccountId",
                "Body",
                "ChatType",
                "CommandAuthorized",
                "From",
                "OriginatingChannel",
                "OriginatingTo",
                "Provider",
                "SessionKey",
                "To"
            ]
        );
        assert_eq!(json["CommandAuthorized"], false);
    }

    #[test]
    fn media_accessors_give_the_first_item() {
        let c = ctx()
            .with_media(InboundMedia::new("/m/a.png", "image/png"))
            .with_media(InboundMedia::new("/m/b.bin", "application/octet-stream"));
        assert_eq!(c.media_path(), Some(Path::new("/m/a.png")));
        assert_eq!(c.media_type(), Some("image/png"));
        assert_eq!(c.media.len(), 2);
    }
}
