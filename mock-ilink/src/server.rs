//! The HTTP side: an accept loop on hyper, routing by path, the fault layer and
//! the request log. One port serves the API, the CDN (`/c2c`) and the control
//! API (`/_mock/`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use hyper::body::Incoming;
use hyper::header::{HeaderMap, HeaderValue, CONTENT_TYPE};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::{json, Value};
use tokio::net::TcpListener;
use tokio::task::JoinSet;

use crate::state::{FaultKind, MockConfig, State};
use crate::{cdn, control, login, protocol};

/// Largest request body read (a CDN upload of 100 MiB plus padding fits).
const MAX_BODY: usize = 128 * 1024 * 1024;

/// State shared by every connection.
#[derive(Debug)]
pub(crate) struct Shared {
    state: Mutex<State>,
}

impl Shared {
    pub fn new(config: MockConfig, base_url: String) -> Arc<Self> {
        Arc::new(Self {
            state: Mutex::new(State::new(config, base_url)),
        })
    }

    /// Locks the state. A panic while it was held leaves it usable (the mock
    /// keeps serving rather than failing every later request).
    pub fn lock(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// One request, read whole.
#[derive(Debug)]
pub(crate) struct Ctx {
    pub method: Method,
    pub path: String,
    pub query: HashMap<String, String>,
    pub headers: HeaderMap,
    pub body: Bytes,
    /// The body parsed as JSON once, if it is JSON.
    pub json: Option<Value>,
}

impl Ctx {
    /// The bearer token, if an `Authorization: Bearer …` header is present.
    pub fn token(&self) -> Option<&str> {
        let value = self.headers.get("authorization")?.to_str().ok()?;
        let token = value
            .strip_prefix("Bearer ")
            .or_else(|| value.strip_prefix("bearer "))?;
        Some(token.trim())
    }
}

/// What a handler answers.
#[derive(Debug)]
pub(crate) enum Reply {
    /// A JSON body with a status.
    Json(StatusCode, Value),
    /// Pre-serialized JSON text (getupdates replies carry ids beyond `Value`).
    RawJson(String),
    /// Bytes with a content type and extra headers.
    Bytes {
        status: StatusCode,
        content_type: &'static str,
        headers: Vec<(&'static str, String)>,
        body: Bytes,
    },
    /// Drop the connection with no answer.
    Reset,
}

impl Reply {
    pub fn ok(v: Value) -> Self {
        Self::Json(StatusCode::OK, v)
    }

    /// A control-API error: `{"error": what}` with `status`.
    pub fn error(status: StatusCode, what: impl Into<String>) -> Self {
        Self::Json(status, json!({ "error": what.into() }))
    }

    /// A CDN error: an empty body with `x-error-message`.
    pub fn cdn_error(status: StatusCode, what: &str) -> Self {
        Self::Bytes {
            status,
            content_type: "text/plain",
            headers: vec![("x-error-message", what.to_owned())],
            body: Bytes::from(what.to_owned()),
        }
    }
}

/// The fault endpoint name of a protocol or CDN path, if it has one.
pub(crate) fn endpoint_of(path: &str) -> Option<&'static str> {
    Some(match path {
        "/ilink/bot/getupdates" => "getupdates",
        "/ilink/bot/sendmessage" => "sendmessage",
        "/ilink/bot/getuploadurl" => "getuploadurl",
        "/ilink/bot/getconfig" => "getconfig",
        "/ilink/bot/sendtyping" => "sendtyping",
        "/ilink/bot/msg/notifystart" => "notifystart",
        "/ilink/bot/msg/notifystop" => "notifystop",
        "/ilink/bot/get_bot_qrcode" => "get_bot_qrcode",
        "/ilink/bot/get_qrcode_status" => "get_qrcode_status",
        "/c2c/upload" => "cdn_upload",
        "/c2c/download" => "cdn_download",
        _ => return None,
    })
}

/// Serves `listener` until `shutdown` resolves; open connections are then dropped.
pub(crate) async fn serve(
    listener: TcpListener,
    shared: Arc<Shared>,
    shutdown: impl std::future::Future<Output = ()>,
) {
    let mut connections = JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                let _ = stream.set_nodelay(true);
                let shared = shared.clone();
                connections.spawn(async move {
                    let service = hyper::service::service_fn(move |req| handle(shared.clone(), req));
                    let _ = hyper::server::conn::http1::Builder::new()
                        .keep_alive(true)
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
    connections.abort_all();
}

/// The error that makes hyper drop a connection without answering.
#[derive(Debug, thiserror::Error)]
#[error("connection reset by an injected fault")]
struct ResetFault;

async fn handle(
    shared: Arc<Shared>,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, ResetFault> {
    let (parts, body) = req.into_parts();
    let body = match http_body_util::Limited::new(body, MAX_BODY).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(_) => {
            return Ok(to_response(Reply::error(
                StatusCode::PAYLOAD_TOO_LARGE,
                "body too large or unreadable",
            )))
        }
    };
    let query = parts
        .uri
        .query()
        .map(|q| {
            // The first value of each key, decoded (`+` is a space).
            let mut map = HashMap::new();
            for (k, v) in url::form_urlencoded::parse(q.as_bytes()) {
                map.entry(k.into_owned()).or_insert_with(|| v.into_owned());
            }
            map
        })
        .unwrap_or_default();
    let ctx = Ctx {
        method: parts.method,
        path: parts.uri.path().to_owned(),
        query,
        headers: parts.headers,
        json: serde_json::from_slice(&body).ok(),
        body,
    };

    if ctx.path.starts_with("/_mock/") || ctx.path == "/_mock" {
        return Ok(to_response(control::handle(&shared, &ctx)));
    }

    let endpoint = endpoint_of(&ctx.path);
    let bot_id = bot_of_request(&shared, &ctx);
    let fault = endpoint.and_then(|ep| take_fault(&shared, ep, bot_id.as_deref()));
    let reply = match fault {
        Some(FaultKind::Delay(ms)) => {
            tokio::time::sleep(Duration::from_millis(ms)).await;
            route(&shared, &ctx, None).await
        }
        Some(FaultKind::Redeliver(n)) => route(&shared, &ctx, Some(n)).await,
        Some(FaultKind::Status(status)) => Reply::Json(
            StatusCode::from_u16(status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE),
            json!({"ret": -1, "errmsg": "injected fault"}),
        ),
        Some(FaultKind::ApiError(ret)) => {
            Reply::ok(json!({"ret": ret, "errcode": ret, "errmsg": "injected fault"}))
        }
        Some(FaultKind::Malformed) => Reply::Bytes {
            status: StatusCode::OK,
            content_type: "application/json",
            headers: Vec::new(),
            body: Bytes::from_static(b"<html>injected fault: not JSON</html>"),
        },
        Some(FaultKind::Truncate) => truncated(),
        Some(FaultKind::Reset) => Reply::Reset,
        None => route(&shared, &ctx, None).await,
    };
    record(&shared, &ctx, &reply, bot_id);
    match reply {
        Reply::Reset => Err(ResetFault),
        other => Ok(to_response(other)),
    }
}

/// A 200 whose JSON is cut in half (with a matching length), made without
/// touching any state: a fault acts before anything changes.
fn truncated() -> Reply {
    let text = json!({
        "ret": 0,
        "msgs": [],
        "errmsg": "injected truncate fault: this reply is cut in half",
    })
    .to_string();
    Reply::Bytes {
        status: StatusCode::OK,
        content_type: "application/json",
        headers: Vec::new(),
        body: Bytes::from(text[..text.len() / 2].to_owned()),
    }
}

async fn route(shared: &Arc<Shared>, ctx: &Ctx, redeliver: Option<usize>) -> Reply {
    match (ctx.method.as_str(), ctx.path.as_str()) {
        ("POST", "/ilink/bot/get_bot_qrcode") => login::get_bot_qrcode(shared, ctx),
        ("GET", "/ilink/bot/get_qrcode_status") => login::get_qrcode_status(shared, ctx),
        ("POST", "/c2c/upload") => cdn::upload(shared, ctx),
        ("GET", "/c2c/download") => cdn::download(shared, ctx),
        ("POST", path) if path.starts_with("/ilink/bot/") => {
            protocol::handle(shared, ctx, redeliver).await
        }
        _ => Reply::error(
            StatusCode::NOT_FOUND,
            format!("no route {} {}", ctx.method, ctx.path),
        ),
    }
}

/// The bot a request belongs to: by its token, or for CDN calls by the upload
/// or download param it names.
fn bot_of_request(shared: &Shared, ctx: &Ctx) -> Option<String> {
    let state = shared.lock();
    if let Some(token) = ctx.token() {
        if let Some(bot) = state.bot_of_token(token) {
            return Some(bot.to_owned());
        }
    }
    let param = ctx.query.get("encrypted_query_param")?;
    state
        .uploads
        .get(param)
        .map(|u| u.bot_id.clone())
        .or_else(|| {
            state
                .cdn
                .get(param)
                .and_then(|o| o.upload.as_ref().map(|u| u.bot_id.clone()))
        })
}

/// Takes one use of the first fault matching the endpoint and bot.
fn take_fault(shared: &Shared, endpoint: &str, bot_id: Option<&str>) -> Option<FaultKind> {
    let mut state = shared.lock();
    let idx = state.faults.iter().position(|f| {
        (f.endpoint == "*" || f.endpoint == endpoint)
            && f.bot_id.as_deref().is_none_or(|b| Some(b) == bot_id)
            && !(matches!(f.kind, FaultKind::Redeliver(_)) && endpoint != "getupdates")
    })?;
    let fault = &mut state.faults[idx];
    let kind = fault.kind.clone();
    fault.remaining = fault.remaining.saturating_sub(1);
    if fault.remaining == 0 {
        state.faults.remove(idx);
    }
    Some(kind)
}

/// Adds the request and its answer to the log.
fn record(shared: &Shared, ctx: &Ctx, reply: &Reply, bot_id: Option<String>) {
    let headers: serde_json::Map<String, Value> = ctx
        .headers
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_ascii_lowercase(),
                Value::String(String::from_utf8_lossy(v.as_bytes()).into_owned()),
            )
        })
        .collect();
    let body = if ctx.body.is_empty() {
        Value::Null
    } else {
        match &ctx.json {
            Some(v) => v.clone(),
            None => json!({ "bytes": ctx.body.len() }),
        }
    };
    let (status, reply_json) = match reply {
        Reply::Json(status, v) => (status.as_u16(), v.clone()),
        Reply::RawJson(text) => (200, serde_json::from_str(text).unwrap_or(Value::Null)),
        Reply::Bytes { status, .. } => (status.as_u16(), Value::Null),
        Reply::Reset => (0, Value::Null),
    };
    let record = json!({
        "method": ctx.method.as_str(),
        "path": ctx.path,
        "query": ctx.query,
        "headers": headers,
        "body": body,
        "status": status,
        "reply": reply_json,
        "bot_id": bot_id,
    });
    shared.lock().record(record);
}

fn to_response(reply: Reply) -> Response<Full<Bytes>> {
    let (status, content_type, headers, body) = match reply {
        Reply::Json(status, v) => (
            status,
            "application/json",
            Vec::new(),
            Bytes::from(v.to_string()),
        ),
        Reply::RawJson(text) => (
            StatusCode::OK,
            "application/json",
            Vec::new(),
            Bytes::from(text),
        ),
        Reply::Bytes {
            status,
            content_type,
            headers,
            body,
        } => (status, content_type, headers, body),
        Reply::Reset => (
            StatusCode::INTERNAL_SERVER_ERROR,
            "text/plain",
            Vec::new(),
            Bytes::new(),
        ),
    };
    let mut resp = Response::new(Full::new(body));
    *resp.status_mut() = status;
    resp.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    for (name, value) in headers {
        if let Ok(v) = HeaderValue::from_str(&value) {
            resp.headers_mut().insert(name, v);
        }
    }
    resp
}

/// Percent-encodes a query component.
pub(crate) fn encode_component(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
}
