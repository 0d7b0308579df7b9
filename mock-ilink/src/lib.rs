//! A mock of Tencent's iLink bot server, for testing WeChat channel
//! implementations in any language.
//!
//! One loopback port serves the iLink API (`/ilink/bot/*`), its CDN (`/c2c`)
//! and a control API (`/_mock/`) that plays the WeChat side: scan QR codes,
//! send messages to a bot, read what the bot sent, break things on purpose.
//! What a client gets wrong is answered as the real server would and recorded
//! as a violation with a stable rule id, so a test can assert on it.
//!
//! The library never uses `ilink-client`: the mock is the oracle the client is
//! checked against, so the two must not share a reading of the spec.
//!
//! ```no_run
//! use mock_ilink::{api::Inbound, api::NewBot, MockIlink};
//!
//! # async fn demo() -> Result<(), mock_ilink::MockError> {
//! let mock = MockIlink::start()?;
//! let bot = mock.create_bot(&NewBot::default()).await?;
//! mock.inbound(&bot.bot_id, &Inbound::text("u1@im.wechat", "hello")).await?;
//! // Point the client under test at mock.base_url() with bot.token, then:
//! let sent = mock.outbound(&bot.bot_id).await?;
//! let problems = mock.violations(None, None).await?;
//! # let _ = (sent, problems);
//! # Ok(()) }
//! ```

pub mod api;
mod cdn;
mod checks;
mod control;
mod crypto;
mod handle;
mod login;
mod protocol;
mod server;
mod state;

pub use handle::{run, MockBuilder, MockError, MockIlink};
pub use state::MockConfig;
