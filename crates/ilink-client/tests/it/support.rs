//! Shared helpers of the integration tests.

use std::time::Duration;

use ilink_client::{IlinkClient, Timeouts};
use wiremock::MockServer;

pub const TOKEN: &str = "tok-0123456789abcdef";

/// Timeouts for tests on a real clock: short pauses, generous call timeouts.
pub fn fast_timeouts() -> Timeouts {
    let mut t = Timeouts::default();
    t.cdn_retry_pause = Duration::from_millis(1);
    t
}

/// A client with a token, API and CDN both pointing at `server`.
pub fn client(server: &MockServer) -> IlinkClient {
    IlinkClient::builder()
        .base_url(server.uri())
        .cdn_base_url(format!("{}/c2c", server.uri()))
        .token(TOKEN)
        .route_tag("42")
        .timeouts(fast_timeouts())
        .build()
        .unwrap()
}

/// A client without a token, as during QR login.
pub fn login_client(server: &MockServer) -> IlinkClient {
    IlinkClient::builder()
        .base_url(server.uri())
        .timeouts(fast_timeouts())
        .build()
        .unwrap()
}

/// The JSON body of the `n`th request the server received.
pub async fn body_of(server: &MockServer, n: usize) -> serde_json::Value {
    let reqs = server.received_requests().await.unwrap();
    serde_json::from_slice(&reqs[n].body).unwrap()
}

/// Answers the `n`th matching request with the `n`th template, repeating the last.
pub struct Sequence {
    replies: Vec<wiremock::ResponseTemplate>,
    next: std::sync::atomic::AtomicUsize,
}

impl Sequence {
    pub fn new(replies: Vec<wiremock::ResponseTemplate>) -> Self {
        Self {
            replies,
            next: std::sync::atomic::AtomicUsize::new(0),
        }
    }

    /// JSON bodies, each with status 200.
    pub fn json(bodies: Vec<serde_json::Value>) -> Self {
        Self::new(
            bodies
                .into_iter()
                .map(|b| wiremock::ResponseTemplate::new(200).set_body_json(b))
                .collect(),
        )
    }
}

impl wiremock::Respond for Sequence {
    fn respond(&self, _: &wiremock::Request) -> wiremock::ResponseTemplate {
        let n = self.next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        self.replies[n.min(self.replies.len() - 1)].clone()
    }
}

/// A mock server of this test's own. wiremock's `MockServer::start` hands out
/// pooled servers, and a request that a previous test abandoned (a timeout
/// test's, say) can still arrive at a pooled server after it was reset.
pub async fn server() -> MockServer {
    MockServer::builder().start().await
}
