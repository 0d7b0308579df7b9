//! The host runtime surface (openclaw-host spec section 5): what a host
//! offers its channels — routing, session recording, the media store and
//! reply dispatch — as the [`HostRuntime`] trait.
//!
//! The host passes it on every call (in a [`GatewayContext`] or an
//! [`OutboundContext`]); a channel takes it from there each time and never
//! caches it at registration, because the host may replace it between runs.
//! The trait uses [`async_trait`](mod@async_trait) so it is object-safe: hosts hand it out as
//! `Arc<dyn HostRuntime>`.
//!
//! [`GatewayContext`]: crate::plugin::GatewayContext
//! [`OutboundContext`]: crate::plugin::OutboundContext

use std::path::PathBuf;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::inbound::InboundContext;
use crate::routing::{RouteError, RouteInput, RouteResult};

/// A direct message to route: the owned form of [`RouteInput`].
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct RouteRequest {
    /// The channel id.
    pub channel: String,
    /// The account it arrived on.
    pub account_id: String,
    /// The sender.
    pub peer_id: String,
}

impl RouteRequest {
    /// A request for `peer_id` on `channel`/`account_id`.
    pub fn new(
        channel: impl Into<String>,
        account_id: impl Into<String>,
        peer_id: impl Into<String>,
    ) -> Self {
        Self {
            channel: channel.into(),
            account_id: account_id.into(),
            peer_id: peer_id.into(),
        }
    }

    /// The borrowed form [`crate::routing::RoutingConfig::route`] takes.
    pub fn as_input(&self) -> RouteInput<'_> {
        RouteInput {
            channel: &self.channel,
            account_id: &self.account_id,
            peer_id: &self.peer_id,
        }
    }
}

/// One reply of the agent to deliver: text, media, or both.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct AgentReply {
    /// The text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// A media URL or local path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_url: Option<String>,
}

impl AgentReply {
    /// A text reply.
    pub fn text(text: impl Into<String>) -> Self {
        Self {
            text: Some(text.into()),
            media_url: None,
        }
    }

    /// A media reply with an optional caption.
    pub fn media(media_url: impl Into<String>, caption: Option<String>) -> Self {
        Self {
            text: caption,
            media_url: Some(media_url.into()),
        }
    }
}

/// Why a host runtime call failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RuntimeError {
    /// Routing found no agent.
    #[error("routing failed: {0}")]
    Route(#[from] RouteError),
    /// The session store could not record the session.
    #[error("session store: {0}")]
    Session(String),
    /// The media store could not save the file.
    #[error("media store: {0}")]
    Media(String),
    /// The agent run failed.
    #[error("dispatch: {0}")]
    Dispatch(String),
    /// The host is shutting down.
    #[error("host runtime is shutting down")]
    ShuttingDown,
    /// Anything else.
    #[error("{0}")]
    Other(String),
}

/// What a host offers its channels. Implemented by the host (and by
/// `testing::RecordingRuntime`, feature `testing`, in tests); `Send + Sync` and
/// object-safe.
#[async_trait]
pub trait HostRuntime: Send + Sync {
    /// Routes a direct message to an agent and session.
    async fn route(&self, input: RouteRequest) -> Result<RouteResult, RuntimeError>;

    /// Records the session of an inbound message (last channel, peer, ...)
    /// before dispatch.
    async fn record_inbound_session(&self, ctx: &InboundContext) -> Result<(), RuntimeError>;

    /// Saves inbound media in the host's media store; returns where.
    async fn save_media(
        &self,
        bytes: Vec<u8>,
        media_type: &str,
        original_name: Option<&str>,
    ) -> Result<PathBuf, RuntimeError>;

    /// Runs the agent on a message and returns its replies, in order, for the
    /// channel to deliver.
    async fn dispatch(&self, ctx: InboundContext) -> Result<Vec<AgentReply>, RuntimeError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn route_request_borrows_as_route_input() {
        let r = RouteRequest::new("openclaw-weixin", "acc", "a@im.wechat");
        let i = r.as_input();
        assert_eq!(
            (i.channel, i.account_id, i.peer_id),
            ("openclaw-weixin", "acc", "a@im.wechat")
        );
    }

    #[test]
    fn replies_serialize_camel_case() {
        let json = serde_json::to_value(AgentReply::media("https://x/y.png", Some("look".into())))
            .expect("serializes");
        assert_eq!(
            json,
            serde_json::json!({"text": "look", "mediaUrl": "https://x/y.png"})
        );
        let json = serde_json::to_value(AgentReply::text("hi")).expect("serializes");
        assert_eq!(json, serde_json::json!({"text": "hi"}));
    }

    #[test]
    fn route_errors_convert() {
        let e: RuntimeError = RouteError::AgentSelectionRequired.into();
        assert!(e
            .to_string()
            .starts_with("routing failed: agent selection required"));
    }
}
