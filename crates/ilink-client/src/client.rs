//! [`IlinkClient`]: one per account, with a method per endpoint of section 4.

use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use serde::de::DeserializeOwned;
use serde::Serialize;
use tracing::{debug, warn};

use crate::bot_agent::{sanitize_bot_agent, DEFAULT_BOT_AGENT};
use crate::error::{Error, ErrorKind, Result};
use crate::redact::{redact_body, redact_url, truncate_chars, MAX_LOGGED_BODY_CHARS};
use crate::version::pack_client_version;
use crate::wire::{
    BaseInfo, GetBotQrcodeReply, GetBotQrcodeRequest, GetConfigReply, GetConfigRequest,
    GetUpdatesReplyRaw, GetUpdatesRequest, GetUploadUrlReply, GetUploadUrlRequest, NotifyRequest,
    QrStatus, QrStatusReply, ReplyStatus, SendMessageReply, SendMessageRequest, SendTypingRequest,
    StatusReply, TypingStatus, WeixinMessage, WireId,
};

/// The real API base.
pub const DEFAULT_BASE_URL: &str = "https://ilinkai.weixin.qq.com";
/// The real CDN base.
pub const DEFAULT_CDN_BASE_URL: &str = "https://novac2c.cdn.weixin.qq.com/c2c";
/// The app id the published plugin ships.
pub const DEFAULT_APP_ID: &str = "bot";
/// The channel version this client speaks the wire of (the plugin line it follows).
pub const DEFAULT_CHANNEL_VERSION: &str = "2.4.9";
/// API reply bodies are read up to this many bytes and refused beyond.
pub const MAX_REPLY_BYTES: u64 = 64 * 1024 * 1024;
/// The longest long-poll hint honoured.
pub const MAX_LONG_POLL_HINT: Duration = Duration::from_secs(120);
/// How far the client timeout stays above the server's advertised hold.
pub const LONG_POLL_MARGIN: Duration = Duration::from_secs(5);

/// The client-side timeouts of the calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Timeouts {
    /// getupdates and the QR status poll, until the server hints otherwise (35 s).
    pub long_poll: Duration,
    /// sendmessage and getuploadurl (15 s).
    pub regular: Duration,
    /// getconfig, sendtyping, notifystart/stop (10 s).
    pub light: Duration,
    /// get_bot_qrcode (15 s).
    pub qr_fetch: Duration,
    /// A CDN transfer that moves no byte for this long fails (30 s).
    pub cdn_stall: Duration,
    /// Pause before the 2nd CDN upload attempt, doubled before the 3rd (500 ms, then 1 s).
    pub cdn_retry_pause: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Self {
            long_poll: Duration::from_secs(35),
            regular: Duration::from_secs(15),
            light: Duration::from_secs(10),
            qr_fetch: Duration::from_secs(15),
            cdn_stall: Duration::from_secs(30),
            cdn_retry_pause: Duration::from_millis(500),
        }
    }
}

impl Timeouts {
    /// The client timeout for the next getupdates after a reply with this
    /// `longpolling_timeout_ms`: the hint (capped at 120 s) plus 5 s, so the
    /// server's idle reply always wins the race; the default without a hint.
    pub fn next_long_poll(&self, hint_ms: Option<i64>) -> Duration {
        match hint_ms {
            Some(ms) if ms > 0 => {
                let hint = Duration::from_millis(ms.unsigned_abs()).min(MAX_LONG_POLL_HINT);
                hint + LONG_POLL_MARGIN
            }
            _ => self.long_poll,
        }
    }
}

/// Builds an [`IlinkClient`]; see [`IlinkClient::builder`].
#[derive(Debug, Clone)]
#[must_use]
pub struct ClientBuilder {
    base_url: String,
    cdn_base_url: String,
    token: Option<String>,
    app_id: String,
    channel_version: String,
    bot_agent: String,
    route_tag: Option<String>,
    timeouts: Timeouts,
    http: Option<reqwest::Client>,
}

impl Default for ClientBuilder {
    fn default() -> Self {
        Self {
            base_url: DEFAULT_BASE_URL.to_owned(),
            cdn_base_url: DEFAULT_CDN_BASE_URL.to_owned(),
            token: None,
            app_id: DEFAULT_APP_ID.to_owned(),
            channel_version: DEFAULT_CHANNEL_VERSION.to_owned(),
            bot_agent: DEFAULT_BOT_AGENT.to_owned(),
            route_tag: None,
            timeouts: Timeouts::default(),
            http: None,
        }
    }
}

impl ClientBuilder {
    /// The API base (the account's stored `baseUrl`, or a mock's URL).
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = url.into();
        self
    }

    /// The CDN base (the account's `cdnBaseUrl` override, or a mock's).
    pub fn cdn_base_url(mut self, url: impl Into<String>) -> Self {
        self.cdn_base_url = url.into();
        self
    }

    /// The bot token; without one, no `Authorization` header is sent (QR login).
    pub fn token(mut self, token: impl Into<String>) -> Self {
        self.token = Some(token.into());
        self
    }

    /// The `iLink-App-Id` (default `bot`).
    pub fn app_id(mut self, app_id: impl Into<String>) -> Self {
        self.app_id = app_id.into();
        self
    }

    /// The channel's semver, sent in `base_info` and packed into `iLink-App-ClientVersion`.
    pub fn channel_version(mut self, version: impl Into<String>) -> Self {
        self.channel_version = version.into();
        self
    }

    /// The configured bot agent; it is sanitized by [`ClientBuilder::build`].
    pub fn bot_agent(mut self, bot_agent: impl Into<String>) -> Self {
        self.bot_agent = bot_agent.into();
        self
    }

    /// The `SKRouteTag` header value, sent on every call when set.
    pub fn route_tag(mut self, tag: impl Into<String>) -> Self {
        self.route_tag = Some(tag.into());
        self
    }

    /// The client-side timeouts.
    pub fn timeouts(mut self, timeouts: Timeouts) -> Self {
        self.timeouts = timeouts;
        self
    }

    /// A `reqwest::Client` to share a connection pool with other accounts.
    pub fn http_client(mut self, http: reqwest::Client) -> Self {
        self.http = Some(http);
        self
    }

    /// Validates the settings and builds the client.
    pub fn build(self) -> Result<IlinkClient> {
        let base_url = parse_base(&self.base_url, "base URL")?;
        let cdn_base_url = parse_base(&self.cdn_base_url, "CDN base URL")?;
        let client_version = pack_client_version(&self.channel_version)?;
        let http = match self.http {
            Some(http) => http,
            None => reqwest::Client::builder()
                .build()
                .map_err(|e| Error::new(ErrorKind::Config("HTTP client".into())).with_source(e))?,
        };
        let cdn_host = cdn_base_url.host_str().map(str::to_ascii_lowercase);
        Ok(IlinkClient {
            inner: Arc::new(Inner {
                http,
                base_url: trim_slash(base_url.as_str()),
                cdn_base_url: trim_slash(cdn_base_url.as_str()),
                cdn_host,
                token: self.token,
                app_id: self.app_id,
                client_version: client_version.to_string(),
                base_info: BaseInfo {
                    channel_version: self.channel_version,
                    bot_agent: sanitize_bot_agent(&self.bot_agent),
                },
                route_tag: self.route_tag,
                timeouts: self.timeouts,
            }),
        })
    }
}

fn parse_base(raw: &str, what: &str) -> Result<url::Url> {
    let parsed = url::Url::parse(raw.trim()).map_err(|e| {
        Error::new(ErrorKind::Config(format!("{what} {:?}", redact_url(raw)))).with_source(e)
    })?;
    match parsed.scheme() {
        "http" | "https" => Ok(parsed),
        other => Err(Error::new(ErrorKind::Config(format!(
            "{what} must be http or https, not {other:?}"
        )))),
    }
}

fn trim_slash(s: &str) -> String {
    s.trim_end_matches('/').to_owned()
}

/// Joins a base and a path with exactly one `/`.
pub(crate) fn join_url(base: &str, path: &str) -> String {
    format!(
        "{}/{}",
        base.trim_end_matches('/'),
        path.trim_start_matches('/')
    )
}

#[derive(Debug, Clone)]
struct Inner {
    http: reqwest::Client,
    base_url: String,
    cdn_base_url: String,
    cdn_host: Option<String>,
    token: Option<String>,
    app_id: String,
    client_version: String,
    base_info: BaseInfo,
    route_tag: Option<String>,
    timeouts: Timeouts,
}

/// A client of one iLink account: cheap to clone, safe to share between tasks.
///
/// Every call's future can be dropped to cancel it at once (the connection is
/// abandoned), which is how a monitor stops an in-flight long poll.
#[derive(Debug, Clone)]
pub struct IlinkClient {
    inner: Arc<Inner>,
}

/// What getupdates gave: the messages that decoded, the ones that did not, and the cursor.
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct GetUpdatesResponse {
    /// The messages that decoded, in order.
    pub msgs: Vec<WeixinMessage>,
    /// Messages that failed to decode; the rest of the batch and the cursor are kept.
    pub bad_messages: Vec<BadMessage>,
    /// The new cursor, when the server sent a non-empty one; persist it.
    pub get_updates_buf: Option<String>,
    /// The server's long-poll hint for the next call, if any.
    pub longpolling_timeout_ms: Option<i64>,
    /// True when the client timeout ran out: an empty reply, keep the cursor.
    pub timed_out: bool,
}

/// A message of a getupdates batch that did not decode.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct BadMessage {
    /// Its position in the batch.
    pub index: usize,
    /// Why it failed (no message content is included).
    pub error: String,
}

/// The outcome of a sendmessage that the server accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SendOutcome {
    /// `ret: 0` with a `message_id`: stored by the server.
    Delivered {
        /// The server's id.
        message_id: WireId,
        /// Our `client_id` of the request.
        client_id: String,
    },
    /// `ret: 0` without a `message_id`: seen for messages that never arrived.
    Unconfirmed {
        /// Our `client_id` of the request.
        client_id: String,
    },
}

impl SendOutcome {
    /// The `client_id` of the request.
    pub fn client_id(&self) -> &str {
        match self {
            Self::Delivered { client_id, .. } | Self::Unconfirmed { client_id } => client_id,
        }
    }
}

/// A QR code to show: the id to poll with and the URL to encode.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct QrCode {
    /// The opaque id for status polls.
    pub qrcode: String,
    /// The URL the QR image encodes.
    pub url: String,
}

impl IlinkClient {
    /// Starts a builder with the real hosts and the plugin's defaults.
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }

    /// The API base, without a trailing `/`.
    pub fn base_url(&self) -> &str {
        &self.inner.base_url
    }

    /// The CDN base, without a trailing `/`.
    pub fn cdn_base_url(&self) -> &str {
        &self.inner.cdn_base_url
    }

    /// The lower-cased host of the CDN base, the one non-public host `full_url` may name.
    pub(crate) fn cdn_host(&self) -> Option<&str> {
        self.inner.cdn_host.as_deref()
    }

    /// The timeouts in force.
    pub fn timeouts(&self) -> Timeouts {
        self.inner.timeouts
    }

    /// Whether a bot token is set.
    pub fn has_token(&self) -> bool {
        self.inner.token.is_some()
    }

    /// The `base_info` sent with every POST.
    pub fn base_info(&self) -> &BaseInfo {
        &self.inner.base_info
    }

    pub(crate) fn http(&self) -> &reqwest::Client {
        &self.inner.http
    }

    /// A client for the same settings with another token and base URL, as after a
    /// login whose `baseurl` names the account's data centre.
    pub fn with_session(&self, token: impl Into<String>, base_url: Option<&str>) -> Result<Self> {
        let base_url = match base_url.filter(|b| !b.trim().is_empty()) {
            Some(b) => trim_slash(parse_base(b, "base URL")?.as_str()),
            None => self.inner.base_url.clone(),
        };
        let mut inner = Inner::clone(&self.inner);
        inner.base_url = base_url;
        inner.token = Some(token.into());
        Ok(Self {
            inner: Arc::new(inner),
        })
    }

    /// `POST ilink/bot/get_bot_qrcode?bot_type=3`: fetches a login QR code.
    /// `local_token_list` holds the tokens of the last 10 accounts, last first.
    pub async fn get_bot_qrcode(&self, local_token_list: &[String]) -> Result<QrCode> {
        const EP: &str = "get_bot_qrcode";
        let body = GetBotQrcodeRequest {
            local_token_list: local_token_list.to_vec(),
        };
        let reply: GetBotQrcodeReply = self
            .post(
                EP,
                "ilink/bot/get_bot_qrcode?bot_type=3",
                &body,
                self.inner.timeouts.qr_fetch,
            )
            .await?;
        match (reply.qrcode, reply.qrcode_img_content) {
            (Some(qrcode), Some(url)) if !qrcode.is_empty() => Ok(QrCode { qrcode, url }),
            _ => Err(Error::new(ErrorKind::Decode(
                "reply lacks qrcode or qrcode_img_content".into(),
            ))
            .at(EP)),
        }
    }

    /// `GET ilink/bot/get_qrcode_status`: one long poll of a QR code's state.
    ///
    /// `poll_base` overrides the API base (after an IDC redirect). A client-side
    /// timeout answers `wait`, as the spec asks; other failures are errors, which
    /// the login flow also counts as `wait`.
    pub async fn get_qrcode_status(
        &self,
        poll_base: Option<&str>,
        qrcode: &str,
        verify_code: Option<&str>,
    ) -> Result<QrStatusReply> {
        const EP: &str = "get_qrcode_status";
        let base = poll_base.unwrap_or(&self.inner.base_url);
        let mut url =
            url::Url::parse(&join_url(base, "ilink/bot/get_qrcode_status")).map_err(|e| {
                Error::new(ErrorKind::Config(format!("poll base {base:?}"))).with_source(e)
            })?;
        url.query_pairs_mut().append_pair("qrcode", qrcode);
        if let Some(code) = verify_code {
            url.query_pairs_mut().append_pair("verify_code", code);
        }
        let mut req = self
            .inner
            .http
            .get(url.as_str())
            .header("iLink-App-Id", &self.inner.app_id)
            .header("iLink-App-ClientVersion", &self.inner.client_version);
        if let Some(tag) = &self.inner.route_tag {
            req = req.header("SKRouteTag", tag);
        }
        debug!(endpoint = EP, url = redact_url(url.as_str()), "GET");
        match self
            .exchange(EP, req, self.inner.timeouts.long_poll)
            .await
            .and_then(|bytes| decode_reply::<QrStatusReply>(EP, &bytes))
        {
            Err(e) if e.kind() == &ErrorKind::Timeout => Ok(QrStatusReply {
                status: QrStatus::Wait,
                ..QrStatusReply::default()
            }),
            other => other,
        }
    }

    /// `POST ilink/bot/getupdates`: one long poll for inbound messages.
    ///
    /// `timeout` is the client timeout (see [`Timeouts::next_long_poll`]); when it
    /// runs out the reply is empty with [`GetUpdatesResponse::timed_out`] set.
    /// Messages are decoded one by one, so a bad one lands in
    /// [`GetUpdatesResponse::bad_messages`] while the rest and the cursor are kept.
    pub async fn get_updates(&self, cursor: &str, timeout: Duration) -> Result<GetUpdatesResponse> {
        const EP: &str = "getupdates";
        let body = GetUpdatesRequest {
            get_updates_buf: cursor.to_owned(),
            base_info: self.inner.base_info.clone(),
        };
        let raw: GetUpdatesReplyRaw =
            match self.post(EP, "ilink/bot/getupdates", &body, timeout).await {
                Ok(raw) => raw,
                Err(e) if e.kind() == &ErrorKind::Timeout => {
                    debug!(endpoint = EP, "client timeout: empty reply");
                    return Ok(GetUpdatesResponse {
                        timed_out: true,
                        ..GetUpdatesResponse::default()
                    });
                }
                Err(e) => return Err(e),
            };
        Ok(decode_updates(raw))
    }

    /// `POST ilink/bot/sendmessage`. A non-zero `ret` is an error; `ret: 0`
    /// without a `message_id` is [`SendOutcome::Unconfirmed`].
    pub async fn send_message(&self, msg: WeixinMessage) -> Result<SendOutcome> {
        const EP: &str = "sendmessage";
        let client_id = msg.client_id.clone().unwrap_or_default();
        if msg.context_token.as_deref().is_none_or(str::is_empty) {
            warn!(
                endpoint = EP,
                client_id, "sending without a context token; delivery may fail upstream"
            );
        }
        let body = SendMessageRequest {
            msg,
            base_info: self.inner.base_info.clone(),
        };
        let reply: SendMessageReply = self
            .post(
                EP,
                "ilink/bot/sendmessage",
                &body,
                self.inner.timeouts.regular,
            )
            .await?;
        Ok(match reply.message_id {
            Some(message_id) => SendOutcome::Delivered {
                message_id,
                client_id,
            },
            None => {
                warn!(
                    endpoint = EP,
                    client_id, "ret 0 without message_id: unconfirmed"
                );
                SendOutcome::Unconfirmed { client_id }
            }
        })
    }

    /// `POST ilink/bot/getconfig`: the peer's typing ticket.
    pub async fn get_config(&self, peer: &str, context_token: Option<&str>) -> Result<String> {
        const EP: &str = "getconfig";
        let body = GetConfigRequest {
            ilink_user_id: peer.to_owned(),
            context_token: context_token.map(str::to_owned),
            base_info: self.inner.base_info.clone(),
        };
        let reply: GetConfigReply = self
            .post(EP, "ilink/bot/getconfig", &body, self.inner.timeouts.light)
            .await?;
        reply
            .typing_ticket
            .filter(|t| !t.is_empty())
            .ok_or_else(|| Error::new(ErrorKind::Decode("reply lacks typing_ticket".into())).at(EP))
    }

    /// `POST ilink/bot/sendtyping`: shows (or cancels) the typing indicator.
    pub async fn send_typing(
        &self,
        peer: &str,
        typing_ticket: &str,
        status: TypingStatus,
    ) -> Result<()> {
        let body = SendTypingRequest {
            ilink_user_id: peer.to_owned(),
            typing_ticket: typing_ticket.to_owned(),
            status,
            base_info: self.inner.base_info.clone(),
        };
        let _: StatusReply = self
            .post(
                "sendtyping",
                "ilink/bot/sendtyping",
                &body,
                self.inner.timeouts.light,
            )
            .await?;
        Ok(())
    }

    /// `POST ilink/bot/msg/notifystart`: the account starts (before its first poll).
    pub async fn notify_start(&self) -> Result<()> {
        self.notify("notifystart", "ilink/bot/msg/notifystart")
            .await
    }

    /// `POST ilink/bot/msg/notifystop`: the account stops. It has its own timeout,
    /// so it still goes out after the long poll was cancelled.
    pub async fn notify_stop(&self) -> Result<()> {
        self.notify("notifystop", "ilink/bot/msg/notifystop").await
    }

    async fn notify(&self, endpoint: &'static str, path: &str) -> Result<()> {
        let body = NotifyRequest {
            base_info: self.inner.base_info.clone(),
        };
        let _: StatusReply = self
            .post(endpoint, path, &body, self.inner.timeouts.light)
            .await?;
        Ok(())
    }

    /// `POST ilink/bot/getuploadurl`. `base_info` is filled in by the client.
    /// A reply with neither URL form is [`ErrorKind::NoUploadUrl`].
    pub async fn get_upload_url(
        &self,
        mut request: GetUploadUrlRequest,
    ) -> Result<GetUploadUrlReply> {
        const EP: &str = "getuploadurl";
        request.base_info = self.inner.base_info.clone();
        let reply: GetUploadUrlReply = self
            .post(
                EP,
                "ilink/bot/getuploadurl",
                &request,
                self.inner.timeouts.regular,
            )
            .await?;
        let has = |v: &Option<String>| v.as_deref().is_some_and(|s| !s.is_empty());
        if !has(&reply.upload_full_url) && !has(&reply.upload_param) {
            return Err(Error::new(ErrorKind::NoUploadUrl).at(EP));
        }
        Ok(reply)
    }

    /// POSTs a JSON body with the headers of section 2 and decodes the checked reply.
    async fn post<Req: Serialize, Rep: DeserializeOwned + ReplyStatus>(
        &self,
        endpoint: &'static str,
        path: &str,
        body: &Req,
        timeout: Duration,
    ) -> Result<Rep> {
        let url = join_url(&self.inner.base_url, path);
        let bytes = serde_json::to_vec(body)
            .map_err(|e| Error::new(ErrorKind::Decode(e.to_string())).at(endpoint))?;
        debug!(
            endpoint,
            url = redact_url(&url),
            body = %redact_body(&bytes),
            "POST"
        );
        let mut req = self
            .inner
            .http
            .post(&url)
            .header("Content-Type", "application/json")
            .header("AuthorizationType", "ilink_bot_token")
            .header("X-WECHAT-UIN", random_uin())
            .header("iLink-App-Id", &self.inner.app_id)
            .header("iLink-App-ClientVersion", &self.inner.client_version);
        if let Some(token) = &self.inner.token {
            req = req.header("Authorization", format!("Bearer {token}"));
        }
        if let Some(tag) = &self.inner.route_tag {
            req = req.header("SKRouteTag", tag);
        }
        let reply = self.exchange(endpoint, req.body(bytes), timeout).await?;
        decode_reply(endpoint, &reply)
    }

    /// Sends a request and reads its body (bounded), all under `timeout`.
    async fn exchange(
        &self,
        endpoint: &'static str,
        req: reqwest::RequestBuilder,
        timeout: Duration,
    ) -> Result<Vec<u8>> {
        let work = async {
            let resp = req.send().await.map_err(Error::from_reqwest)?;
            if !resp.status().is_success() {
                return Err(status_error(resp).await);
            }
            read_bounded(resp, MAX_REPLY_BYTES).await
        };
        match tokio::time::timeout(timeout, work).await {
            Ok(result) => result.map_err(|e| e.at(endpoint)),
            Err(_) => Err(Error::new(ErrorKind::Timeout).at(endpoint)),
        }
    }
}

/// A fresh `X-WECHAT-UIN`: base64 of the decimal text of a random u32.
fn random_uin() -> String {
    base64::engine::general_purpose::STANDARD.encode(rand::random::<u32>().to_string())
}

/// The error of a reply with an unwanted HTTP status, with the server's message
/// from `x-error-message` or else the start of the body (secrets masked).
pub(crate) async fn status_error(resp: reqwest::Response) -> Error {
    let status = resp.status().as_u16();
    let header = resp
        .headers()
        .get("x-error-message")
        .and_then(|v| v.to_str().ok())
        .map(|m| truncate_chars(m, MAX_LOGGED_BODY_CHARS));
    let message = match header {
        Some(m) => Some(m),
        None => {
            let body = read_bounded(resp, 4096).await.unwrap_or_default();
            let masked = match serde_json::from_slice::<serde_json::Value>(&body) {
                Ok(_) => redact_body(&body),
                Err(_) => {
                    truncate_chars(String::from_utf8_lossy(&body).trim(), MAX_LOGGED_BODY_CHARS)
                }
            };
            (!masked.is_empty()).then_some(masked)
        }
    };
    Error::new(ErrorKind::HttpStatus { status, message })
}

/// Reads a reply body up to `limit` bytes; more is [`ErrorKind::TooLarge`].
pub(crate) async fn read_bounded(mut resp: reqwest::Response, limit: u64) -> Result<Vec<u8>> {
    if resp.content_length().is_some_and(|len| len > limit) {
        return Err(Error::new(ErrorKind::TooLarge { limit }));
    }
    let mut out = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(Error::from_reqwest)? {
        if out.len() as u64 + chunk.len() as u64 > limit {
            return Err(Error::new(ErrorKind::TooLarge { limit }));
        }
        out.extend_from_slice(&chunk);
    }
    Ok(out)
}

/// Decodes a reply and checks its `ret`/`errcode`.
fn decode_reply<Rep: DeserializeOwned + ReplyStatus>(
    endpoint: &'static str,
    bytes: &[u8],
) -> Result<Rep> {
    debug!(endpoint, body = %redact_body(bytes), "reply");
    let reply: Rep = serde_json::from_slice(bytes)
        .map_err(|e| Error::new(ErrorKind::Decode(describe_json_error(&e))).at(endpoint))?;
    let failed = |v: Option<i64>| v.is_some_and(|v| v != 0);
    if failed(reply.ret()) || failed(reply.errcode()) {
        return Err(Error::api(
            reply.ret(),
            reply.errcode(),
            reply.errmsg().map(str::to_owned),
        )
        .at(endpoint));
    }
    Ok(reply)
}

/// A serde_json error described by category and position only: its own text can
/// quote a value from the body, and a body can hold a token.
pub(crate) fn describe_json_error(e: &serde_json::Error) -> String {
    let text = e.to_string();
    let what = match e.classify() {
        serde_json::error::Category::Io => "I/O error",
        serde_json::error::Category::Syntax => "malformed JSON",
        // The id decoder's own messages name only the id, which is safe to show.
        serde_json::error::Category::Data if text.starts_with("id ") => return text,
        serde_json::error::Category::Data => "unexpected JSON shape",
        serde_json::error::Category::Eof => "truncated JSON",
    };
    format!("{what} at line {} column {}", e.line(), e.column())
}

/// Turns a raw getupdates reply into the response, decoding messages one by one.
pub fn decode_updates(raw: GetUpdatesReplyRaw) -> GetUpdatesResponse {
    let mut msgs = Vec::with_capacity(raw.msgs.len());
    let mut bad_messages = Vec::new();
    for (index, m) in raw.msgs.iter().enumerate() {
        match serde_json::from_str::<WeixinMessage>(m.get()) {
            Ok(msg) => msgs.push(msg),
            Err(e) => {
                let error = describe_json_error(&e);
                warn!(index, error, "skipping a message that does not decode");
                bad_messages.push(BadMessage { index, error });
            }
        }
    }
    GetUpdatesResponse {
        msgs,
        bad_messages,
        get_updates_buf: raw.get_updates_buf.filter(|c| !c.is_empty()),
        longpolling_timeout_ms: raw.longpolling_timeout_ms,
        timed_out: false,
    }
}

/// Decodes a getupdates reply body, checking its status, as [`IlinkClient::get_updates`] does.
pub fn decode_updates_body(body: &[u8]) -> Result<GetUpdatesResponse> {
    decode_reply::<GetUpdatesReplyRaw>("getupdates", body).map(decode_updates)
}
