//! Builders of outbound bot messages: text (split to the limits), image, video
//! and file items exactly as section 4.6 says, and caption + media as two messages.

use std::time::{SystemTime, UNIX_EPOCH};

use crate::media::{MediaKind, UploadedMedia};
use crate::text_split::{split_text, SplitLimits};
use crate::wire::{
    FileItem, ImageItem, ItemType, MessageItem, MessageState, MessageType, TextItem, VideoItem,
    VoiceItem, WeixinMessage,
};

/// A fresh `client_id` in the plugin's form: `openclaw-weixin:<unix ms>-<8 hex>`.
pub fn new_client_id() -> String {
    let ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis());
    format!("openclaw-weixin:{ms}-{:08x}", rand::random::<u32>())
}

/// A fresh `run_id`: a UUID, one per inbound message answered.
pub fn new_run_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// Who a reply goes to and what it echoes: the peer, its newest context token,
/// and the run id of the inbound message it answers (none for proactive sends).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReplyTarget {
    /// The peer's user id, exactly as received (a `user:` prefix already stripped).
    pub to_user_id: String,
    /// The peer's newest context token, if known.
    pub context_token: Option<String>,
    /// The run id, if this answers an inbound message.
    pub run_id: Option<String>,
}

impl ReplyTarget {
    /// A target with no context token and no run id.
    pub fn new(to_user_id: impl Into<String>) -> Self {
        Self {
            to_user_id: to_user_id.into(),
            ..Self::default()
        }
    }

    /// Sets the context token.
    #[must_use]
    pub fn context_token(mut self, token: impl Into<String>) -> Self {
        self.context_token = Some(token.into());
        self
    }

    /// Sets the run id.
    #[must_use]
    pub fn run_id(mut self, run_id: impl Into<String>) -> Self {
        self.run_id = Some(run_id.into());
        self
    }

    /// One bot message carrying exactly `item`, with a fresh `client_id`.
    pub fn message(&self, item: MessageItem) -> WeixinMessage {
        WeixinMessage {
            from_user_id: Some(String::new()),
            to_user_id: Some(self.to_user_id.clone()),
            client_id: Some(new_client_id()),
            message_type: Some(MessageType::Bot),
            message_state: Some(MessageState::Finish),
            item_list: vec![item],
            context_token: self.context_token.clone().filter(|t| !t.is_empty()),
            run_id: self.run_id.clone(),
            ..WeixinMessage::default()
        }
    }

    /// The messages of a text reply, split to `limits`. Empty text gives no
    /// message at all (the plugin sends one without `item_list`, a bug).
    pub fn text_messages(&self, text: &str, limits: SplitLimits) -> Vec<WeixinMessage> {
        split_text(text, limits)
            .into_iter()
            .map(|chunk| self.message(text_item(chunk)))
            .collect()
    }

    /// The messages of a media reply: the caption's text first (when non-empty),
    /// then the media item.
    pub fn media_messages(
        &self,
        caption: &str,
        media: &UploadedMedia,
        file_name: Option<&str>,
    ) -> Vec<WeixinMessage> {
        let mut out = self.text_messages(caption, SplitLimits::default());
        out.push(self.message(media_item(media, file_name)));
        out
    }
}

/// A text item.
pub fn text_item(text: &str) -> MessageItem {
    MessageItem {
        item_type: Some(ItemType::Text),
        text_item: Some(TextItem {
            text: Some(text.to_owned()),
        }),
        ..MessageItem::default()
    }
}

/// The item referring to uploaded media, by its kind:
/// - image: `image_item: {media, mid_size: <ciphertext size>}`;
/// - video: `video_item: {media, video_size: <ciphertext size>}`;
/// - file: `file_item: {media, file_name, len: "<plaintext size>"}` (`file_name`
///   defaults to `file`);
/// - voice: `voice_item: {media}`.
pub fn media_item(media: &UploadedMedia, file_name: Option<&str>) -> MessageItem {
    let cdn = Some(media.cdn_media());
    match media.kind {
        MediaKind::Image => MessageItem {
            item_type: Some(ItemType::Image),
            image_item: Some(ImageItem {
                media: cdn,
                mid_size: Some(media.cipher_size),
                ..ImageItem::default()
            }),
            ..MessageItem::default()
        },
        MediaKind::Video => MessageItem {
            item_type: Some(ItemType::Video),
            video_item: Some(VideoItem {
                media: cdn,
                video_size: Some(media.cipher_size),
                ..VideoItem::default()
            }),
            ..MessageItem::default()
        },
        MediaKind::Voice => MessageItem {
            item_type: Some(ItemType::Voice),
            voice_item: Some(VoiceItem {
                media: cdn,
                ..VoiceItem::default()
            }),
            ..MessageItem::default()
        },
        MediaKind::File => MessageItem {
            item_type: Some(ItemType::File),
            file_item: Some(FileItem {
                media: cdn,
                file_name: Some(file_name.unwrap_or("file").to_owned()),
                len: Some(media.raw_size.to_string()),
                ..FileItem::default()
            }),
            ..MessageItem::default()
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_id_has_the_plugin_form() {
        let id = new_client_id();
        let rest = id.strip_prefix("openclaw-weixin:").expect("prefix");
        let (ms, hex) = rest.split_once('-').expect("dash");
        assert!(ms.parse::<u64>().is_ok(), "{id}");
        assert_eq!(hex.len(), 8, "{id}");
        assert!(hex.bytes().all(|b| b.is_ascii_hexdigit()), "{id}");
        assert_ne!(new_client_id(), new_client_id());
    }

    #[test]
    fn bot_reply_fields() {
        let target = ReplyTarget::new("u@im.wechat")
            .context_token("ctx")
            .run_id("run-1");
        let msgs = target.text_messages("hello", SplitLimits::default());
        assert_eq!(msgs.len(), 1);
        let m = &msgs[0];
        assert_eq!(m.from_user_id.as_deref(), Some(""));
        assert_eq!(m.to_user_id.as_deref(), Some("u@im.wechat"));
        assert_eq!(m.message_type, Some(MessageType::Bot));
        assert_eq!(m.message_state, Some(MessageState::Finish));
        assert_eq!(m.item_list.len(), 1);
        assert_eq!(m.context_token.as_deref(), Some("ctx"));
        assert_eq!(m.run_id.as_deref(), Some("run-1"));
        assert!(target.text_messages("", SplitLimits::default()).is_empty());
    }

    #[test]
    fn long_text_becomes_several_messages_with_distinct_client_ids() {
        let text = "x".repeat(9000);
        let msgs = ReplyTarget::new("u").text_messages(&text, SplitLimits::default());
        assert_eq!(msgs.len(), 3);
        let ids: std::collections::HashSet<_> = msgs.iter().map(|m| m.client_id.clone()).collect();
        assert_eq!(ids.len(), 3);
    }
}
