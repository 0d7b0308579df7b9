//! The message model of section 5: [`WeixinMessage`] and its items.
//!
//! Every field is optional because the server omits what it does not use, and a JSON
//! `null` decodes as absent. Unset fields are never sent (no `null` goes out).
//! Unknown fields are ignored: the server adds fields.

use serde::{Deserialize, Serialize};

use super::enums::{EncryptType, ItemType, MessageState, MessageType, VoiceEncodeType};
use super::id::{null_as_default, WireId};

/// A message as `getupdates` delivers it and `sendmessage` sends it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct WeixinMessage {
    /// Server sequence number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seq: Option<i64>,
    /// The server's uint64 id of the message (lossless).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_id: Option<WireId>,
    /// Sender: a user id (`…@im.wechat`), or `""` for a bot reply.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from_user_id: Option<String>,
    /// Recipient: the bot (`…@im.bot`) inbound, the peer outbound; sent exactly as received.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to_user_id: Option<String>,
    /// The sender's unique id for this request; a repeated one is not sent twice.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// Creation time, Unix milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub create_time_ms: Option<i64>,
    /// Last update, Unix milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub update_time_ms: Option<i64>,
    /// Deletion time, Unix milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delete_time_ms: Option<i64>,
    /// Server session id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_id: Option<String>,
    /// Group id; the channel declares no group support.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_id: Option<String>,
    /// Who wrote it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_type: Option<MessageType>,
    /// Whether it is complete.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_state: Option<MessageState>,
    /// The items, in order; a bot reply carries exactly one.
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub item_list: Vec<MessageItem>,
    /// The peer's context token, echoed in every reply to that peer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context_token: Option<String>,
    /// Groups a reply and its progress messages with the inbound message they answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_id: Option<String>,
}

/// One item of a message: a text, a media object, a tool-call notice.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct MessageItem {
    /// Which `*_item` field is set (wire name `type`).
    #[serde(default, skip_serializing_if = "Option::is_none", rename = "type")]
    pub item_type: Option<ItemType>,
    /// Creation time, Unix milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub create_time_ms: Option<i64>,
    /// Last update, Unix milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub update_time_ms: Option<i64>,
    /// Whether the item is complete (tool-call results).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_completed: Option<bool>,
    /// The item's uint64 id (lossless).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub msg_id: Option<WireId>,
    /// The message this item quotes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ref_msg: Option<Box<RefMessage>>,
    /// Text content.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text_item: Option<TextItem>,
    /// Image content.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_item: Option<ImageItem>,
    /// Voice content.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub voice_item: Option<VoiceItem>,
    /// File content.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_item: Option<FileItem>,
    /// Video content.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub video_item: Option<VideoItem>,
    /// A tool call started (progress message).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_call_start_item: Option<ToolCallStartItem>,
    /// A tool call finished (progress message).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_call_result_item: Option<ToolCallResultItem>,
}

/// A text item.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct TextItem {
    /// The text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
}

/// Where a media object lives on the CDN and how it is encrypted.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct CdnMedia {
    /// The opaque download parameter.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encrypt_query_param: Option<String>,
    /// base64 of the 16 raw key bytes or of the key's 32 hex characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aes_key: Option<String>,
    /// What is encrypted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encrypt_type: Option<EncryptType>,
    /// A complete download URL, preferred over the parameter when present.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub full_url: Option<String>,
}

/// An image item.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ImageItem {
    /// The full image.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media: Option<CdnMedia>,
    /// The thumbnail.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thumb_media: Option<CdnMedia>,
    /// The raw key as 32 hex characters, preferred for images.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aeskey: Option<String>,
    /// A URL of the image.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Ciphertext size of the mid-size image.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mid_size: Option<u64>,
    /// Thumbnail size.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thumb_size: Option<u64>,
    /// Thumbnail height.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thumb_height: Option<u64>,
    /// Thumbnail width.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thumb_width: Option<u64>,
    /// HD image size.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hd_size: Option<u64>,
}

/// A voice item.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct VoiceItem {
    /// The audio.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media: Option<CdnMedia>,
    /// The codec; WeChat sends SILK (6).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encode_type: Option<VoiceEncodeType>,
    /// Bits per sample.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bits_per_sample: Option<u32>,
    /// Sample rate in Hz.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sample_rate: Option<u32>,
    /// Duration in milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub playtime: Option<u64>,
    /// The server's transcript; with it no download is needed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
}

/// A file item.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct FileItem {
    /// The file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media: Option<CdnMedia>,
    /// The sender's file name: metadata only, never a path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_name: Option<String>,
    /// MD5 of the plaintext.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub md5: Option<String>,
    /// Plaintext size as a decimal string.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub len: Option<String>,
}

/// A video item.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct VideoItem {
    /// The video.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media: Option<CdnMedia>,
    /// Ciphertext size.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub video_size: Option<u64>,
    /// Duration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub play_length: Option<u64>,
    /// MD5 of the video.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub video_md5: Option<String>,
    /// The thumbnail.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thumb_media: Option<CdnMedia>,
    /// Thumbnail size.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thumb_size: Option<u64>,
    /// Thumbnail height.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thumb_height: Option<u64>,
    /// Thumbnail width.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thumb_width: Option<u64>,
}

/// A tool call started.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ToolCallStartItem {
    /// The tool's name (`tool` when unknown).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_name: Option<String>,
    /// The host's item id of the call.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_call_id: Option<String>,
}

/// A tool call finished.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ToolCallResultItem {
    /// The tool's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_name: Option<String>,
    /// The host's item id of the call.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_call_id: Option<String>,
    /// `completed`, `failed`, `blocked` or `unknown`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
}

/// A quoted message.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct RefMessage {
    /// The quoted item, when the server includes it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_item: Option<Box<MessageItem>>,
    /// A title of the quote.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// The quoted message's uint64 id (lossless).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub svr_id: Option<WireId>,
    /// Which part of the quoted text is quoted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partial_text: Option<PartialText>,
}

/// The quoted part of a text.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct PartialText {
    /// Start.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start: Option<i64>,
    /// End.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end: Option<i64>,
    /// Start index.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub startindex: Option<i64>,
    /// End index.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endindex: Option<i64>,
    /// MD5 of the quoted text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quotemd5: Option<String>,
}
