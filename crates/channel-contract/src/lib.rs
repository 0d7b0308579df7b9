//! The OpenClaw host <-> channel contract.
//!
//! What a gateway needs to host any channel, and what the Weixin channel
//! implements: [`ids`] normalization, [`session`] keys, [`routing`],
//! [`admission`] by `dmPolicy`, the file-based [`pairing`] store, the
//! [`plugin`] traits and the [`inbound`] context, the [`runtime`] surface a
//! host offers its channels, [`status_line`] formatting, the [`state`] layout
//! and the [`atomic`] JSON file writes every store uses. No network I/O.
//!
//! ```
//! use channel_contract::routing::{RouteInput, RoutingConfig};
//! use channel_contract::session::DmScope;
//! use channel_contract::HostProfile;
//!
//! let mut config = RoutingConfig::default();
//! config.dm_scope = DmScope::PerAccountChannelPeer;
//! let route = config
//!     .route(RouteInput { channel: "openclaw-weixin", account_id: "b0f5860fdecb@im.bot",
//!                         peer_id: "A1@im.wechat" }, HostProfile::Late)
//!     .unwrap();
//! assert_eq!(route.agent_id, "main");
//! assert_eq!(route.session_key.as_str(),
//!            "agent:main:openclaw-weixin:b0f5860fdecb-im-bot:direct:a1@im.wechat");
//! ```
//!
//! | feature | what it adds |
//! | --- | --- |
//! | `testing` | `testing::RecordingRuntime`, a host runtime double that records what reached the agent |

#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod admission;
pub mod atomic;
pub mod ids;
pub mod inbound;
pub mod lock;
pub mod pairing;
pub mod plugin;
mod profile;
pub mod routing;
pub mod runtime;
pub mod session;
pub mod state;
pub mod status_line;
#[cfg(feature = "testing")]
pub mod testing;

pub use profile::HostProfile;
