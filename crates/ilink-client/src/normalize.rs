//! Pure inbound normalization (section 5): what the agent sees of a message.
//!
//! These functions only read a [`WeixinMessage`]; downloading the chosen media
//! and remembering context tokens are the channel's job.

use crate::crypto::{parse_key, AesKey, KeyError};
use crate::media::MediaKind;
use crate::wire::{CdnMedia, ItemType, MessageItem, WeixinMessage, WireId};

/// Label of an image without text.
pub const IMAGE_LABEL: &str = "[图片]";
/// Label of a video.
pub const VIDEO_LABEL: &str = "[视频]";
/// Label of a file.
pub const FILE_LABEL: &str = "[文件]";
/// Label of a voice clip without transcript.
pub const VOICE_LABEL: &str = "[语音]";

/// The kind of an item, from its `type` or, failing that, the `*_item` it carries.
fn kind_of(item: &MessageItem) -> Option<ItemType> {
    match item.item_type {
        Some(t) if t != ItemType::None => Some(t),
        _ => {
            if item.text_item.is_some() {
                Some(ItemType::Text)
            } else if item.image_item.is_some() {
                Some(ItemType::Image)
            } else if item.voice_item.is_some() {
                Some(ItemType::Voice)
            } else if item.file_item.is_some() {
                Some(ItemType::File)
            } else if item.video_item.is_some() {
                Some(ItemType::Video)
            } else {
                None
            }
        }
    }
}

fn transcript(item: &MessageItem) -> Option<&str> {
    item.voice_item
        .as_ref()
        .and_then(|v| v.text.as_deref())
        .filter(|t| !t.is_empty())
}

/// The body one item gives, if any: text, a voice transcript, or a media label.
pub fn item_body(item: &MessageItem) -> Option<String> {
    match kind_of(item)? {
        ItemType::Text => item.text_item.as_ref()?.text.clone(),
        ItemType::Voice => Some(transcript(item).unwrap_or(VOICE_LABEL).to_owned()),
        ItemType::Image => Some(IMAGE_LABEL.to_owned()),
        ItemType::Video => Some(VIDEO_LABEL.to_owned()),
        ItemType::File => Some(FILE_LABEL.to_owned()),
        _ => None,
    }
}

/// The body the agent sees: the first item, in order, that gives one; else empty.
/// So `[image, text]` gives `[图片]`.
pub fn inbound_body(msg: &WeixinMessage) -> String {
    msg.item_list.iter().find_map(item_body).unwrap_or_default()
}

/// The provider message id: `message_id`, else the first item's `msg_id`.
pub fn provider_message_id(msg: &WeixinMessage) -> Option<WireId> {
    msg.message_id
        .or_else(|| msg.item_list.first().and_then(|i| i.msg_id))
}

/// The key to dedupe a message by: `message_id`, else `client_id`, else `seq`.
pub fn dedupe_key(msg: &WeixinMessage) -> Option<String> {
    if let Some(id) = msg.message_id {
        return Some(format!("id:{id}"));
    }
    if let Some(cid) = msg.client_id.as_deref().filter(|c| !c.is_empty()) {
        return Some(format!("client:{cid}"));
    }
    msg.seq.map(|s| format!("seq:{s}"))
}

/// A media object of a message chosen for download.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct MediaRef<'a> {
    /// The item holding it.
    pub item: &'a MessageItem,
    /// What kind of media it is.
    pub kind: MediaKind,
    /// True when it comes from a quoted message rather than the message itself.
    pub quoted: bool,
}

impl MediaRef<'_> {
    /// The CDN object to download.
    pub fn media(&self) -> Option<&CdnMedia> {
        let i = self.item;
        match self.kind {
            MediaKind::Image => i.image_item.as_ref()?.media.as_ref(),
            MediaKind::Video => i.video_item.as_ref()?.media.as_ref(),
            MediaKind::File => i.file_item.as_ref()?.media.as_ref(),
            MediaKind::Voice => i.voice_item.as_ref()?.media.as_ref(),
        }
    }

    /// The AES key: for images `image_item.aeskey` first, else `media.aes_key`.
    /// `Ok(None)` means no key (an image is then plaintext; other kinds fail to download).
    pub fn key(&self) -> Result<Option<AesKey>, KeyError> {
        let image_hex = match self.kind {
            MediaKind::Image => self
                .item
                .image_item
                .as_ref()
                .and_then(|i| i.aeskey.as_deref()),
            _ => None,
        };
        let field = self.media().and_then(|m| m.aes_key.as_deref());
        parse_key(image_hex, field)
    }

    /// The sender's file name, for a file item (metadata only; see [`safe_file_name`]).
    pub fn file_name(&self) -> Option<String> {
        self.item
            .file_item
            .as_ref()
            .and_then(|f| f.file_name.as_deref())
            .map(safe_file_name)
    }
}

fn media_in<'a>(
    items: impl Iterator<Item = &'a MessageItem> + Clone,
) -> Option<(&'a MessageItem, MediaKind)> {
    let find = |want: ItemType, kind: MediaKind| {
        items
            .clone()
            .find(|i| {
                kind_of(i) == Some(want) && (want != ItemType::Voice || transcript(i).is_none())
            })
            .map(|i| (i, kind))
    };
    find(ItemType::Image, MediaKind::Image)
        .or_else(|| find(ItemType::Video, MediaKind::Video))
        .or_else(|| find(ItemType::File, MediaKind::File))
        .or_else(|| find(ItemType::Voice, MediaKind::Voice))
}

/// The main media to download: image, then video, then file, then voice without
/// transcript; if none, the media a text item quotes (marked as quoted).
pub fn main_media(msg: &WeixinMessage) -> Option<MediaRef<'_>> {
    if let Some((item, kind)) = media_in(msg.item_list.iter()) {
        return Some(MediaRef {
            item,
            kind,
            quoted: false,
        });
    }
    msg.item_list
        .iter()
        .filter(|i| kind_of(i) == Some(ItemType::Text))
        .filter_map(|i| i.ref_msg.as_ref()?.message_item.as_deref())
        .find_map(|quoted| media_in(std::iter::once(quoted)))
        .map(|(item, kind)| MediaRef {
            item,
            kind,
            quoted: true,
        })
}

/// A quote carried by a message.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Quote {
    /// The quoted id: `ref_msg.svr_id`, else `ref_msg.message_item.msg_id`.
    pub id: Option<WireId>,
    /// `title` and the quoted item's body joined by ` | ` (either may be absent).
    pub body: String,
}

/// The first quote of the message's items.
pub fn quote(msg: &WeixinMessage) -> Option<Quote> {
    let r = msg.item_list.iter().find_map(|i| i.ref_msg.as_deref())?;
    let id = r
        .svr_id
        .or_else(|| r.message_item.as_ref().and_then(|m| m.msg_id));
    let parts: Vec<String> = [
        r.title.clone().filter(|t| !t.is_empty()),
        r.message_item.as_deref().and_then(item_body),
    ]
    .into_iter()
    .flatten()
    .collect();
    Some(Quote {
        id,
        body: parts.join(" | "),
    })
}

/// For a text whose first word is `/echo` (case-insensitive, exact word): the rest
/// of the text, trimmed (possibly empty). `None` for any other text.
pub fn echo_command(text: &str) -> Option<&str> {
    let trimmed = text.trim_start();
    let end = trimmed.find(char::is_whitespace).unwrap_or(trimmed.len());
    let (word, rest) = trimmed.split_at(end);
    word.eq_ignore_ascii_case("/echo").then(|| rest.trim())
}

/// A target given by a person or an agent, with a `user:` prefix stripped.
pub fn strip_user_prefix(target: &str) -> &str {
    let t = target.trim();
    match t.get(..5) {
        Some(p) if p.eq_ignore_ascii_case("user:") => t[5..].trim(),
        _ => t,
    }
}

/// A sender's file name made safe to keep as metadata: control characters and
/// path separators removed. It never becomes a path.
pub fn safe_file_name(name: &str) -> String {
    name.chars()
        .filter(|c| !c.is_control() && *c != '/' && *c != '\\')
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn msg(v: serde_json::Value) -> WeixinMessage {
        serde_json::from_value(v).expect("message")
    }

    #[test]
    fn body_takes_the_first_item_that_gives_one() {
        let cases = [
            (
                json!([{"type": 1, "text_item": {"text": "hello"}}]),
                "hello",
            ),
            (
                json!([{"type": 2, "image_item": {}}, {"type": 1, "text_item": {"text": "t"}}]),
                "[图片]",
            ),
            (json!([{"type": 5, "video_item": {}}]), "[视频]"),
            (json!([{"type": 4, "file_item": {}}]), "[文件]"),
            (json!([{"type": 3, "voice_item": {}}]), "[语音]"),
            (
                json!([{"type": 3, "voice_item": {"text": "transcribed"}}]),
                "transcribed",
            ),
            (
                json!([{"type": 11, "tool_call_start_item": {}}, {"type": 1, "text_item": {"text": "after"}}]),
                "after",
            ),
            (
                json!([{"type": 1, "text_item": {}}, {"type": 1, "text_item": {"text": "second"}}]),
                "second",
            ),
            (json!([]), ""),
        ];
        for (items, want) in cases {
            let m = msg(json!({ "item_list": items }));
            assert_eq!(inbound_body(&m), want, "{items}");
        }
    }

    #[test]
    fn provider_id_and_dedupe_key_fall_back_in_order() {
        let m = msg(json!({"message_id": 5, "item_list": [{"msg_id": 6}]}));
        assert_eq!(provider_message_id(&m), Some(WireId(5)));
        assert_eq!(dedupe_key(&m).as_deref(), Some("id:5"));
        let m = msg(
            json!({"client_id": "c1", "seq": 3, "item_list": [{"msg_id": "18446744073709551615"}]}),
        );
        assert_eq!(provider_message_id(&m), Some(WireId(u64::MAX)));
        assert_eq!(dedupe_key(&m).as_deref(), Some("client:c1"));
        let m = msg(json!({"seq": 3}));
        assert_eq!(provider_message_id(&m), None);
        assert_eq!(dedupe_key(&m).as_deref(), Some("seq:3"));
        assert_eq!(dedupe_key(&msg(json!({}))), None);
    }

    #[test]
    fn main_media_priority_and_quoted_media() {
        let m = msg(json!({"item_list": [
            {"type": 3, "voice_item": {}}, {"type": 4, "file_item": {}},
            {"type": 5, "video_item": {}}, {"type": 2, "image_item": {}}
        ]}));
        assert_eq!(main_media(&m).map(|r| r.kind), Some(MediaKind::Image));
        let m = msg(
            json!({"item_list": [{"type": 3, "voice_item": {}}, {"type": 4, "file_item": {}}]}),
        );
        assert_eq!(main_media(&m).map(|r| r.kind), Some(MediaKind::File));
        let m = msg(json!({"item_list": [{"type": 3, "voice_item": {"text": "hi"}}]}));
        assert!(
            main_media(&m).is_none(),
            "voice with transcript needs no download"
        );
        let m = msg(
            json!({"item_list": [{"type": 1, "text_item": {"text": "look"},
            "ref_msg": {"message_item": {"type": 5, "video_item": {"media": {"encrypt_query_param": "p"}}}}}]}),
        );
        let r = main_media(&m).expect("quoted media");
        assert!(r.quoted);
        assert_eq!(r.kind, MediaKind::Video);
        assert_eq!(
            r.media().and_then(|m| m.encrypt_query_param.as_deref()),
            Some("p")
        );
    }

    #[test]
    fn quotes_take_svr_id_then_item_msg_id_and_join_title_and_body() {
        let m = msg(
            json!({"item_list": [{"type": 1, "text_item": {"text": "reply"},
            "ref_msg": {"title": "Alice", "svr_id": "9007199254740993",
                        "message_item": {"type": 1, "msg_id": 4, "text_item": {"text": "original"}}}}]}),
        );
        let q = quote(&m).expect("quote");
        assert_eq!(q.id, Some(WireId(9_007_199_254_740_993)));
        assert_eq!(q.body, "Alice | original");
        let m = msg(
            json!({"item_list": [{"ref_msg": {"message_item": {"msg_id": 4, "type": 2, "image_item": {}}}}]}),
        );
        let q = quote(&m).expect("quote");
        assert_eq!(q.id, Some(WireId(4)));
        assert_eq!(q.body, "[图片]");
        assert!(quote(&msg(json!({"item_list": [{"type": 1}]}))).is_none());
    }

    #[test]
    fn echo_is_an_exact_first_word() {
        assert_eq!(echo_command("/echo hi there"), Some("hi there"));
        assert_eq!(echo_command("  /ECHO"), Some(""));
        assert_eq!(echo_command("/echo\nline"), Some("line"));
        assert_eq!(echo_command("/echoes x"), None);
        assert_eq!(echo_command("say /echo"), None);
    }

    #[test]
    fn targets_and_file_names() {
        assert_eq!(strip_user_prefix("user:abc@im.wechat"), "abc@im.wechat");
        assert_eq!(strip_user_prefix(" USER: abc "), "abc");
        assert_eq!(strip_user_prefix("abc@im.wechat"), "abc@im.wechat");
        assert_eq!(strip_user_prefix("用户"), "用户");
        assert_eq!(safe_file_name("../a/b\\c\u{0}.txt"), "..abc.txt");
    }
}
