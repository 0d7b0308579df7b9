//! [`MockIlink`]: the in-process handle. It runs the server on a runtime thread
//! of its own (so a test's paused clock cannot end its holds), and offers a
//! typed method for every call of the control API, made over HTTP like any
//! other client of the contract would.

use std::net::SocketAddr;
use std::sync::Arc;
use std::thread::JoinHandle;

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{json, Value};
use tokio::sync::oneshot;

use crate::api::{
    BotCredentials, BotStatus, CdnObjectInfo, Confirm, FaultInfo, FaultSpec, Health, Inbound,
    LoginInfo, NewBot, OutboundLog, RequestRecord, TypingLog, Violation,
};
use crate::server::{encode_component, Shared};
use crate::state::MockConfig;

/// What can go wrong talking to the mock.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MockError {
    /// The mock could not be started.
    #[error("cannot start the mock: {0}")]
    Start(#[from] std::io::Error),
    /// The control call never got an answer.
    #[error("control call failed: {0}")]
    Http(#[from] reqwest::Error),
    /// The control API answered an error.
    #[error("control call answered HTTP {status}: {error}")]
    Control {
        /// The HTTP status.
        status: u16,
        /// The `error` text of the reply.
        error: String,
    },
}

/// Builds a [`MockIlink`]: where it listens and how it behaves.
#[derive(Debug, Clone)]
#[must_use]
pub struct MockBuilder {
    bind: SocketAddr,
    config: MockConfig,
}

impl Default for MockBuilder {
    fn default() -> Self {
        Self {
            bind: SocketAddr::from(([127, 0, 0, 1], 0)),
            config: MockConfig::default(),
        }
    }
}

impl MockBuilder {
    /// The address to listen on (default `127.0.0.1:0`, a free port).
    pub fn bind(mut self, addr: SocketAddr) -> Self {
        self.bind = addr;
        self
    }

    /// The advertised `longpolling_timeout_ms` (default 35000; held 90 %).
    pub fn long_poll_ms(mut self, ms: u64) -> Self {
        self.config.long_poll_ms = ms;
        self
    }

    /// Completes every QR login by itself (scanned at the 1st poll, confirmed at the 2nd).
    pub fn auto_login(mut self, on: bool) -> Self {
        self.config.auto_login = on;
        self
    }

    /// Makes generated ids, tokens and keys reproducible.
    pub fn seed(mut self, seed: u64) -> Self {
        self.config.seed = Some(seed);
        self
    }

    /// Request records kept (default 100,000).
    pub fn max_requests(mut self, n: usize) -> Self {
        self.config.max_requests = n;
        self
    }

    /// Binds and starts serving on a runtime thread of its own.
    pub fn start(self) -> Result<MockIlink, MockError> {
        let listener = std::net::TcpListener::bind(self.bind)?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let base_url = format!("http://{addr}");
        let shared = Shared::new(self.config, base_url.clone());
        let (tx, rx) = oneshot::channel::<()>();
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()?;
        let thread = std::thread::Builder::new()
            .name("mock-ilink".into())
            .spawn(move || {
                runtime.block_on(async move {
                    match tokio::net::TcpListener::from_std(listener) {
                        Ok(listener) => {
                            crate::server::serve(listener, shared, async {
                                let _ = rx.await;
                            })
                            .await;
                        }
                        Err(e) => tracing::error!(error = %e, "mock-ilink cannot listen"),
                    }
                });
            })?;
        Ok(MockIlink {
            base_url,
            http: reqwest::Client::new(),
            shutdown: Some(tx),
            thread: Some(thread),
        })
    }
}

/// A running mock iLink server; stops when dropped.
#[derive(Debug)]
pub struct MockIlink {
    base_url: String,
    http: reqwest::Client,
    shutdown: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Drop for MockIlink {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl MockIlink {
    /// Starts a mock on a free loopback port with the defaults.
    pub fn start() -> Result<Self, MockError> {
        Self::builder().start()
    }

    /// A builder for other settings.
    pub fn builder() -> MockBuilder {
        MockBuilder::default()
    }

    /// The API base, `http://127.0.0.1:PORT`.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The CDN base, `http://127.0.0.1:PORT/c2c`.
    pub fn cdn_base_url(&self) -> String {
        format!("{}/c2c", self.base_url)
    }

    async fn call<T: DeserializeOwned>(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&(impl Serialize + ?Sized)>,
    ) -> Result<T, MockError> {
        let mut req = self
            .http
            .request(method, format!("{}/_mock/{path}", self.base_url));
        if let Some(body) = body {
            req = req.json(body);
        }
        let resp = req.send().await?;
        let status = resp.status();
        if !status.is_success() {
            let v: Value = resp.json().await.unwrap_or(Value::Null);
            return Err(MockError::Control {
                status: status.as_u16(),
                error: v["error"].as_str().unwrap_or("").to_owned(),
            });
        }
        Ok(resp.json().await?)
    }

    async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T, MockError> {
        self.call(reqwest::Method::GET, path, None::<&Value>).await
    }

    async fn post<T: DeserializeOwned>(
        &self,
        path: &str,
        body: &(impl Serialize + ?Sized),
    ) -> Result<T, MockError> {
        self.call(reqwest::Method::POST, path, Some(body)).await
    }

    /// `GET /_mock/health`.
    pub async fn health(&self) -> Result<Health, MockError> {
        self.get("health").await
    }

    /// `POST /_mock/reset`: forget everything.
    pub async fn reset(&self) -> Result<(), MockError> {
        self.post::<Value>("reset", &json!({})).await.map(drop)
    }

    /// `POST /_mock/bots`: a bot as if its QR login had completed.
    pub async fn create_bot(&self, spec: &NewBot) -> Result<BotCredentials, MockError> {
        self.post("bots", spec).await
    }

    /// `POST /_mock/clock/advance`.
    pub async fn advance_clock(&self, ms: u64) -> Result<(), MockError> {
        self.post::<Value>("clock/advance", &json!({ "ms": ms }))
            .await
            .map(drop)
    }

    /// `GET /_mock/bots/{bot_id}`.
    pub async fn bot(&self, bot_id: &str) -> Result<BotStatus, MockError> {
        self.get(&format!("bots/{}", encode_component(bot_id)))
            .await
    }

    /// `POST /_mock/bots/{bot_id}/stale`.
    pub async fn make_stale(&self, bot_id: &str) -> Result<(), MockError> {
        self.post::<Value>(
            &format!("bots/{}/stale", encode_component(bot_id)),
            &json!({}),
        )
        .await
        .map(drop)
    }

    /// `POST /_mock/bots/{bot_id}/refresh`: a new current token.
    pub async fn refresh_token(&self, bot_id: &str) -> Result<String, MockError> {
        let v: Value = self
            .post(
                &format!("bots/{}/refresh", encode_component(bot_id)),
                &json!({}),
            )
            .await?;
        Ok(v["token"].as_str().unwrap_or_default().to_owned())
    }

    /// `POST /_mock/bots/{bot_id}/inbound`: the message as it will be delivered.
    pub async fn inbound(&self, bot_id: &str, message: &Inbound) -> Result<Value, MockError> {
        let v: Value = self
            .post(
                &format!("bots/{}/inbound", encode_component(bot_id)),
                message,
            )
            .await?;
        Ok(v["message"].clone())
    }

    /// `GET /_mock/bots/{bot_id}/outbound`.
    pub async fn outbound(&self, bot_id: &str) -> Result<OutboundLog, MockError> {
        self.get(&format!("bots/{}/outbound", encode_component(bot_id)))
            .await
    }

    /// `GET /_mock/bots/{bot_id}/typing`.
    pub async fn typing(&self, bot_id: &str) -> Result<TypingLog, MockError> {
        self.get(&format!("bots/{}/typing", encode_component(bot_id)))
            .await
    }

    /// `GET /_mock/requests?path=&bot_id=&since=`.
    pub async fn requests(
        &self,
        path: Option<&str>,
        bot_id: Option<&str>,
        since: Option<u64>,
    ) -> Result<Vec<RequestRecord>, MockError> {
        let q = query(&[("path", path), ("bot_id", bot_id)], since);
        let v: Value = self.get(&format!("requests{q}")).await?;
        Ok(serde_json::from_value(v["requests"].clone()).unwrap_or_default())
    }

    /// `GET /_mock/violations?bot_id=&since=`.
    pub async fn violations(
        &self,
        bot_id: Option<&str>,
        since: Option<u64>,
    ) -> Result<Vec<Violation>, MockError> {
        let q = query(&[("bot_id", bot_id)], since);
        let v: Value = self.get(&format!("violations{q}")).await?;
        Ok(serde_json::from_value(v["violations"].clone()).unwrap_or_default())
    }

    /// `GET /_mock/cdn/{download_param}`.
    pub async fn cdn_object(&self, download_param: &str) -> Result<CdnObjectInfo, MockError> {
        self.get(&format!("cdn/{}", encode_component(download_param)))
            .await
    }

    /// `GET /_mock/logins`.
    pub async fn logins(&self) -> Result<Vec<LoginInfo>, MockError> {
        let v: Value = self.get("logins").await?;
        Ok(serde_json::from_value(v["logins"].clone()).unwrap_or_default())
    }

    async fn login_action<T: DeserializeOwned>(
        &self,
        qrcode: &str,
        action: &str,
        body: &Value,
    ) -> Result<T, MockError> {
        self.post(
            &format!("logins/{}/{action}", encode_component(qrcode)),
            body,
        )
        .await
    }

    /// `POST /_mock/logins/{qrcode}/scan` (a fresh user when `user_id` is `None`).
    pub async fn scan(&self, qrcode: &str, user_id: Option<&str>) -> Result<(), MockError> {
        let body = match user_id {
            Some(u) => json!({ "user_id": u }),
            None => json!({}),
        };
        self.login_action::<Value>(qrcode, "scan", &body)
            .await
            .map(drop)
    }

    /// `POST /_mock/logins/{qrcode}/confirm`.
    pub async fn confirm(
        &self,
        qrcode: &str,
        options: &Confirm,
    ) -> Result<BotCredentials, MockError> {
        let body = serde_json::to_value(options).unwrap_or_else(|_| json!({}));
        self.login_action(qrcode, "confirm", &body).await
    }

    /// `POST /_mock/logins/{qrcode}/expire`.
    pub async fn expire(&self, qrcode: &str) -> Result<(), MockError> {
        self.login_action::<Value>(qrcode, "expire", &json!({}))
            .await
            .map(drop)
    }

    /// `POST /_mock/logins/{qrcode}/verify-code`.
    pub async fn require_verify_code(&self, qrcode: &str, code: &str) -> Result<(), MockError> {
        self.login_action::<Value>(qrcode, "verify-code", &json!({ "code": code }))
            .await
            .map(drop)
    }

    /// `POST /_mock/logins/{qrcode}/redirect`.
    pub async fn redirect(&self, qrcode: &str, redirect_host: &str) -> Result<(), MockError> {
        self.login_action::<Value>(
            qrcode,
            "redirect",
            &json!({ "redirect_host": redirect_host }),
        )
        .await
        .map(drop)
    }

    /// `POST /_mock/faults` → the fault's id.
    pub async fn add_fault(&self, fault: &FaultSpec) -> Result<u64, MockError> {
        let v: Value = self.post("faults", fault).await?;
        Ok(v["id"].as_u64().unwrap_or_default())
    }

    /// `GET /_mock/faults`.
    pub async fn faults(&self) -> Result<Vec<FaultInfo>, MockError> {
        let v: Value = self.get("faults").await?;
        Ok(serde_json::from_value(v["faults"].clone()).unwrap_or_default())
    }

    /// `DELETE /_mock/faults` (`id` `None`) or `DELETE /_mock/faults/{id}`.
    pub async fn delete_faults(&self, id: Option<u64>) -> Result<(), MockError> {
        let path = match id {
            Some(id) => format!("faults/{id}"),
            None => "faults".to_owned(),
        };
        self.call::<Value>(reqwest::Method::DELETE, &path, None::<&Value>)
            .await
            .map(drop)
    }
}

fn query(pairs: &[(&str, Option<&str>)], since: Option<u64>) -> String {
    let mut parts: Vec<String> = pairs
        .iter()
        .filter_map(|(k, v)| v.map(|v| format!("{k}={}", encode_component(v))))
        .collect();
    if let Some(s) = since {
        parts.push(format!("since={s}"));
    }
    if parts.is_empty() {
        String::new()
    } else {
        format!("?{}", parts.join("&"))
    }
}

/// Serves the mock on `listener` until `shutdown` resolves. For embedding the
/// mock in a program of one's own; tests use [`MockIlink`].
pub async fn run(
    listener: tokio::net::TcpListener,
    config: MockConfig,
    shutdown: impl std::future::Future<Output = ()>,
) -> std::io::Result<()> {
    let addr = listener.local_addr()?;
    let shared: Arc<Shared> = Shared::new(config, format!("http://{addr}"));
    crate::server::serve(listener, shared, shutdown).await;
    Ok(())
}
