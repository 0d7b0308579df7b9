//! Helpers shared by the integration tests.

use std::future::Future;
use std::time::Duration;

use ilink_client::IlinkClient;
use mock_ilink::MockIlink;

/// Retries `f` (10 ms apart, bounded) until it gives `Some`.
pub async fn wait_for<T, F, Fut>(what: &str, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    for _ in 0..1000 {
        if let Some(v) = f().await {
            return v;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("timed out waiting for {what}");
}

/// An ilink-client for `token`, with the mock as API and CDN.
pub fn client(mock: &MockIlink, token: &str) -> IlinkClient {
    IlinkClient::builder()
        .base_url(mock.base_url())
        .cdn_base_url(mock.cdn_base_url())
        .token(token)
        .build()
        .unwrap()
}
