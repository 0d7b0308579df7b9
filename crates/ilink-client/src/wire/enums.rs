//! Integer-coded protocol enums. The protocol grows, so every enum keeps values it
//! does not know as `Unknown(n)` instead of failing to decode.

macro_rules! wire_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident = $value:literal, )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
        #[serde(from = "i64", into = "i64")]
        #[non_exhaustive]
        pub enum $name {
            $( $(#[$vmeta])* $variant, )*
            /// A value this crate does not know, kept as received.
            Unknown(i64),
        }

        impl From<i64> for $name {
            fn from(v: i64) -> Self {
                match v {
                    $( $value => Self::$variant, )*
                    other => Self::Unknown(other),
                }
            }
        }

        impl From<$name> for i64 {
            fn from(v: $name) -> i64 {
                match v {
                    $( $name::$variant => $value, )*
                    $name::Unknown(other) => other,
                }
            }
        }
    };
}

wire_enum! {
    /// `message_type`: who wrote the message.
    pub enum MessageType {
        /// 0: unset.
        None = 0,
        /// 1: a WeChat user.
        User = 1,
        /// 2: the bot.
        Bot = 2,
    }
}

wire_enum! {
    /// `message_state`: whether a message is complete.
    pub enum MessageState {
        /// 0: new.
        New = 0,
        /// 1: still being generated.
        Generating = 1,
        /// 2: finished.
        Finish = 2,
    }
}

wire_enum! {
    /// `MessageItem.type`: which `*_item` field the item carries.
    pub enum ItemType {
        /// 0: unset.
        None = 0,
        /// 1: `text_item`.
        Text = 1,
        /// 2: `image_item`.
        Image = 2,
        /// 3: `voice_item`.
        Voice = 3,
        /// 4: `file_item`.
        File = 4,
        /// 5: `video_item`.
        Video = 5,
        /// 11: `tool_call_start_item`.
        ToolCallStart = 11,
        /// 12: `tool_call_result_item`.
        ToolCallResult = 12,
    }
}

wire_enum! {
    /// `media_type` of getuploadurl: what is being uploaded.
    pub enum UploadMediaType {
        /// 1: an image.
        Image = 1,
        /// 2: a video.
        Video = 2,
        /// 3: any other file.
        File = 3,
        /// 4: a voice clip.
        Voice = 4,
    }
}

wire_enum! {
    /// `VoiceItem.encode_type`: the audio codec.
    pub enum VoiceEncodeType {
        /// 1: PCM.
        Pcm = 1,
        /// 2: ADPCM.
        Adpcm = 2,
        /// 3: feature.
        Feature = 3,
        /// 4: Speex.
        Speex = 4,
        /// 5: AMR.
        Amr = 5,
        /// 6: SILK, what WeChat voice notes use.
        Silk = 6,
        /// 7: MP3.
        Mp3 = 7,
        /// 8: Ogg Speex.
        OggSpeex = 8,
    }
}

wire_enum! {
    /// `CDNMedia.encrypt_type`.
    pub enum EncryptType {
        /// 0: only the file id is encrypted.
        FileIdOnly = 0,
        /// 1: thumbnail and mid-size info are packed too.
        Packed = 1,
    }
}

wire_enum! {
    /// `sendtyping` status.
    pub enum TypingStatus {
        /// 1: the bot is typing.
        Typing = 1,
        /// 2: cancel the typing indicator.
        Cancel = 2,
    }
}
