//! The control API under `/_mock/`: JSON in, JSON out. It plays the WeChat
//! side (users, phones, the clock) and shows what the client did.

use base64::Engine as _;
use hyper::{Method, StatusCode};
use serde::de::DeserializeOwned;
use serde_json::{json, Value};

use crate::api::{FaultSpec, FullUrl, Inbound, InboundItem, KeyForm, NewBot, Quote};
use crate::crypto;
use crate::server::{encode_component, Ctx, Reply, Shared};
use crate::state::{
    CdnObject, Fault, FaultKind, QueuedMessage, State, UploadMode, REPLY_ALLOWANCE,
};

/// Parses a control body; an empty body is `{}`.
fn body<T: DeserializeOwned>(ctx: &Ctx) -> Result<T, Reply> {
    let bytes: &[u8] = if ctx.body.iter().all(u8::is_ascii_whitespace) {
        b"{}"
    } else {
        &ctx.body
    };
    serde_json::from_slice(bytes)
        .map_err(|e| Reply::error(StatusCode::BAD_REQUEST, format!("malformed body: {e}")))
}

fn unknown_bot(id: &str) -> Reply {
    Reply::error(StatusCode::NOT_FOUND, format!("unknown bot {id}"))
}

pub(crate) fn handle(shared: &Shared, ctx: &Ctx) -> Reply {
    let segments: Vec<String> = ctx
        .path
        .trim_start_matches("/_mock")
        .split('/')
        .filter(|s| !s.is_empty())
        .map(decode_component_path)
        .collect();
    let seg: Vec<&str> = segments.iter().map(String::as_str).collect();
    let method = &ctx.method;
    let mut state = shared.lock();
    let result = match (method, seg.as_slice()) {
        (&Method::GET, ["health"]) => Ok(Reply::ok(json!({
            "ok": true,
            "requests_dropped": state.requests_dropped,
            // An addition to the contract: how many getupdates are held right now.
            "held_polls": state.bots.values().filter(|b| b.held.is_some()).count(),
        }))),
        (&Method::POST, ["reset"]) => {
            state.reset();
            Ok(Reply::ok(json!({"ok": true})))
        }
        (&Method::POST, ["bots"]) => create_bot(&mut state, ctx),
        (&Method::POST, ["clock", "advance"]) => body::<Value>(ctx).and_then(|b| {
            let ms = b.get("ms").and_then(Value::as_i64).ok_or_else(|| {
                Reply::error(StatusCode::BAD_REQUEST, "clock/advance needs {\"ms\": N}")
            })?;
            state.clock_offset_ms = state.clock_offset_ms.saturating_add(ms.max(0));
            Ok(Reply::ok(
                json!({"ok": true, "offset_ms": state.clock_offset_ms}),
            ))
        }),
        (&Method::GET, ["bots", id]) => match state.bots.get(*id) {
            Some(bot) => Ok(Reply::ok(json!({
                "bot_id": bot.id,
                "owner_user_id": bot.owner,
                "online": bot.online,
                "token_stale": bot.stale,
                "queued": bot.queue.len(),
                "delivered": bot.delivered.len(),
            }))),
            None => Err(unknown_bot(id)),
        },
        (&Method::POST, ["bots", id, "stale"]) => {
            if state.make_stale(id) {
                Ok(Reply::ok(json!({"ok": true})))
            } else {
                Err(unknown_bot(id))
            }
        }
        (&Method::POST, ["bots", id, "refresh"]) => match state.rotate_token(id) {
            Some(token) => Ok(Reply::ok(json!({ "token": token }))),
            None => Err(unknown_bot(id)),
        },
        (&Method::POST, ["bots", id, "inbound"]) => {
            body::<Inbound>(ctx).and_then(|b| inbound(&mut state, id, b))
        }
        (&Method::GET, ["bots", id, "outbound"]) => match state.bots.get(*id) {
            Some(bot) => Ok(Reply::ok(json!({ "messages": bot.outbound }))),
            None => Err(unknown_bot(id)),
        },
        (&Method::GET, ["bots", id, "typing"]) => match state.bots.get(*id) {
            Some(bot) => Ok(Reply::ok(json!({ "events": bot.typing_events }))),
            None => Err(unknown_bot(id)),
        },
        (&Method::GET, ["requests"]) => Ok(requests(&state, ctx)),
        (&Method::GET, ["violations"]) => Ok(violations(&state, ctx)),
        (&Method::GET, ["cdn", param]) => cdn_object(&state, param),
        (&Method::GET, ["logins"]) => Ok(Reply::ok(crate::login::list(&state))),
        (&Method::POST, ["logins", qrcode, action]) => {
            body::<Value>(ctx).map(|b| crate::login::act(&mut state, qrcode, action, &b))
        }
        (&Method::POST, ["faults"]) => {
            body::<FaultSpec>(ctx).and_then(|f| add_fault(&mut state, f))
        }
        (&Method::GET, ["faults"]) => Ok(Reply::ok(json!({
            "faults": state.faults.iter().map(|f| json!({
                "id": f.id, "endpoint": f.endpoint, "bot_id": f.bot_id, "kind": f.kind.name(), "remaining": f.remaining,
            })).collect::<Vec<_>>()
        }))),
        (&Method::DELETE, ["faults"]) => {
            state.faults.clear();
            Ok(Reply::ok(json!({"ok": true})))
        }
        (&Method::DELETE, ["faults", id]) => {
            let before = state.faults.len();
            state.faults.retain(|f| f.id.to_string() != *id);
            if state.faults.len() < before {
                Ok(Reply::ok(json!({"ok": true})))
            } else {
                Err(Reply::error(
                    StatusCode::NOT_FOUND,
                    format!("unknown fault {id}"),
                ))
            }
        }
        _ => Err(Reply::error(
            StatusCode::NOT_FOUND,
            format!("no control call {} {}", ctx.method, ctx.path),
        )),
    };
    result.unwrap_or_else(|reply| reply)
}

/// Path segments are percent-decoded, but `+` stays a plus.
fn decode_component_path(s: &str) -> String {
    percent_encoding::percent_decode_str(s)
        .decode_utf8_lossy()
        .into_owned()
}

fn create_bot(state: &mut State, ctx: &Ctx) -> Result<Reply, Reply> {
    let spec: NewBot = body(ctx)?;
    let mode = match spec.upload_mode.as_deref() {
        None | Some("full_url") => UploadMode::FullUrl,
        Some("param") => UploadMode::Param,
        Some(other) => {
            return Err(Reply::error(
                StatusCode::BAD_REQUEST,
                format!("upload_mode {other:?} is not full_url or param"),
            ))
        }
    };
    let bot = state
        .create_bot(
            spec.bot_id,
            spec.token,
            spec.owner_user_id,
            mode,
            spec.reply_budget.unwrap_or(true),
        )
        .map_err(|e| Reply::error(StatusCode::CONFLICT, e))?;
    Ok(Reply::ok(
        json!({"bot_id": bot.id, "token": bot.token, "owner_user_id": bot.owner}),
    ))
}

fn add_fault(state: &mut State, spec: FaultSpec) -> Result<Reply, Reply> {
    const ENDPOINTS: [&str; 12] = [
        "getupdates",
        "sendmessage",
        "getuploadurl",
        "getconfig",
        "sendtyping",
        "notifystart",
        "notifystop",
        "get_bot_qrcode",
        "get_qrcode_status",
        "cdn_upload",
        "cdn_download",
        "*",
    ];
    if !ENDPOINTS.contains(&spec.endpoint.as_str()) {
        return Err(Reply::error(
            StatusCode::BAD_REQUEST,
            format!("unknown fault endpoint {:?}", spec.endpoint),
        ));
    }
    let missing = |what: &str| {
        Reply::error(
            StatusCode::BAD_REQUEST,
            format!("fault kind {} needs {what}", spec.kind),
        )
    };
    let kind = match spec.kind.as_str() {
        "status" => FaultKind::Status(spec.status.ok_or_else(|| missing("status"))?),
        "api_error" => FaultKind::ApiError(spec.ret.ok_or_else(|| missing("ret"))?),
        "redeliver" => FaultKind::Redeliver(
            usize::try_from(spec.count.ok_or_else(|| missing("count"))?).unwrap_or(usize::MAX),
        ),
        "delay" => FaultKind::Delay(spec.delay_ms.ok_or_else(|| missing("delay_ms"))?),
        "reset" => FaultKind::Reset,
        "malformed" => FaultKind::Malformed,
        "truncate" => FaultKind::Truncate,
        other => {
            return Err(Reply::error(
                StatusCode::BAD_REQUEST,
                format!("unknown fault kind {other:?}"),
            ))
        }
    };
    let id = state.next_fault;
    state.next_fault += 1;
    state.faults.push(Fault {
        id,
        endpoint: spec.endpoint,
        bot_id: spec.bot_id,
        kind,
        remaining: spec.times.unwrap_or(1).max(1),
    });
    Ok(Reply::ok(json!({ "id": id })))
}

fn since(ctx: &Ctx) -> u64 {
    ctx.query
        .get("since")
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

fn requests(state: &State, ctx: &Ctx) -> Reply {
    let path = ctx.query.get("path").map(String::as_str).unwrap_or("");
    let bot = ctx.query.get("bot_id").filter(|b| !b.is_empty());
    let since = since(ctx);
    let list: Vec<&Value> = state
        .requests
        .iter()
        .filter(|r| r["seq"].as_u64().unwrap_or(0) > since)
        .filter(|r| r["path"].as_str().unwrap_or("").contains(path))
        .filter(|r| bot.is_none_or(|b| r["bot_id"].as_str() == Some(b)))
        .collect();
    Reply::ok(json!({ "requests": list }))
}

fn violations(state: &State, ctx: &Ctx) -> Reply {
    let bot = ctx.query.get("bot_id").filter(|b| !b.is_empty());
    let since = since(ctx);
    let list: Vec<&Value> = state
        .violations
        .iter()
        .filter(|v| v["seq"].as_u64().unwrap_or(0) > since)
        .filter(|v| bot.is_none_or(|b| v["bot_id"].as_str() == Some(b)))
        .collect();
    Reply::ok(json!({ "violations": list }))
}

fn cdn_object(state: &State, param: &str) -> Result<Reply, Reply> {
    let object = state.cdn.get(param).ok_or_else(|| {
        Reply::error(
            StatusCode::NOT_FOUND,
            format!("unknown download param {param}"),
        )
    })?;
    let plain = match object.key {
        Some(key) => crypto::decrypt(&key, &object.ciphertext)
            .ok_or_else(|| Reply::error(StatusCode::CONFLICT, "stored object does not decrypt"))?,
        None => object.ciphertext.to_vec(),
    };
    Ok(Reply::ok(json!({
        "size": plain.len(),
        "md5": crypto::md5_hex(&plain),
        "plaintext_base64": base64::engine::general_purpose::STANDARD.encode(&plain),
    })))
}

/// Marks an id whose digits must be written as a bare JSON number (they may
/// exceed u64, which `serde_json::Value` cannot hold).
const ID_MARK: &str = "\u{1}ID:";

/// The digits of an id given as a JSON number or a string of digits.
fn id_digits(raw: &serde_json::value::RawValue, what: &str) -> Result<String, Reply> {
    let text = raw.get().trim();
    let digits = text
        .strip_prefix('"')
        .and_then(|t| t.strip_suffix('"'))
        .unwrap_or(text);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Reply::error(
            StatusCode::BAD_REQUEST,
            format!("{what} {text} is not a number or a string of digits"),
        ));
    }
    Ok(digits.to_owned())
}

/// Serializes `v`, turning marked ids into bare numbers.
fn to_raw(v: &Value) -> String {
    let text = v.to_string();
    let marker = "\"\\u0001ID:";
    let mut out = String::with_capacity(text.len());
    let mut rest = text.as_str();
    while let Some(start) = rest.find(marker) {
        out.push_str(&rest[..start]);
        let after = &rest[start + marker.len()..];
        let end = after.find('"').unwrap_or(after.len());
        out.push_str(&after[..end]);
        rest = after.get(end + 1..).unwrap_or("");
    }
    out.push_str(rest);
    out
}

fn inbound(state: &mut State, bot_id: &str, spec: Inbound) -> Result<Reply, Reply> {
    if !state.bots.contains_key(bot_id) {
        return Err(unknown_bot(bot_id));
    }
    let mut items = spec
        .items
        .iter()
        .map(|item| build_item(state, item))
        .collect::<Result<Vec<Value>, Reply>>()?;
    if let Some(quote) = &spec.quote {
        let ref_msg = build_quote(state, quote)?;
        match items.first_mut().and_then(Value::as_object_mut) {
            Some(first) => {
                first.insert("ref_msg".into(), ref_msg);
            }
            None => {
                return Err(Reply::error(
                    StatusCode::BAD_REQUEST,
                    "a quote needs an item to attach to",
                ))
            }
        }
    }
    let message_id = match &spec.message_id {
        Some(raw) => format!("{ID_MARK}{}", id_digits(raw, "message_id")?),
        None => {
            let id = state.next_message_id;
            state.next_message_id += 1;
            format!("{ID_MARK}{id}")
        }
    };
    let seq = state.next_seq;
    state.next_seq += 1;
    let context_token = format!("ctx_{}", state.hex(16));
    let now = state.now_ms();
    let msg = json!({
        "seq": seq,
        "message_id": message_id,
        "from_user_id": spec.from_user_id,
        "to_user_id": bot_id,
        "create_time_ms": now,
        "message_type": 1,
        "message_state": 2,
        "item_list": items,
        "context_token": context_token,
    });
    let raw_text = to_raw(&msg);
    let raw = serde_json::value::RawValue::from_string(raw_text.clone())
        .map_err(|e| Reply::error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
    let bot = state
        .bots
        .get_mut(bot_id)
        .ok_or_else(|| unknown_bot(bot_id))?;
    let peer = bot
        .peers
        .entry(spec.from_user_id.to_lowercase())
        .or_default();
    peer.last_inbound_ms = Some(now);
    peer.allowance = REPLY_ALLOWANCE;
    bot.queue.push_back(QueuedMessage {
        raw,
        peer: spec.from_user_id.clone(),
        context_token: Some(context_token),
    });
    bot.notify.notify_waiters();
    Ok(Reply::RawJson(format!(r#"{{"message":{raw_text}}}"#)))
}

fn build_quote(state: &mut State, quote: &Quote) -> Result<Value, Reply> {
    let mut ref_msg = serde_json::Map::new();
    if let Some(raw) = &quote.svr_id {
        ref_msg.insert(
            "svr_id".into(),
            json!(format!("{ID_MARK}{}", id_digits(raw, "svr_id")?)),
        );
    }
    if let Some(title) = &quote.title {
        ref_msg.insert("title".into(), json!(title));
    }
    if let Some(item) = &quote.item {
        ref_msg.insert("message_item".into(), build_item(state, item)?);
    }
    Ok(Value::Object(ref_msg))
}

/// Stores media on the CDN as asked and returns its `media` object, the
/// image `aeskey` (hex form), and the ciphertext size.
fn store_media(
    state: &mut State,
    data_base64: &str,
    key_form: KeyForm,
    full_url: Option<&FullUrl>,
    image: bool,
) -> Result<(Value, Option<String>, usize, usize), Reply> {
    let plain = base64::engine::general_purpose::STANDARD
        .decode(data_base64.trim())
        .map_err(|e| Reply::error(StatusCode::BAD_REQUEST, format!("data_base64: {e}")))?;
    if key_form == KeyForm::HexField && !image {
        return Err(Reply::error(
            StatusCode::BAD_REQUEST,
            "key hex_field exists only for images",
        ));
    }
    let key = (key_form != KeyForm::None).then(|| state.random_key());
    let ciphertext = match &key {
        Some(k) => crypto::encrypt(k, &plain),
        None => plain.clone(),
    };
    let param = format!("dl_{}", state.hex(24));
    let size = ciphertext.len();
    state.cdn.insert(
        param.clone(),
        CdnObject {
            ciphertext: ciphertext.into(),
            key,
            upload: None,
        },
    );
    let mut media = json!({"encrypt_query_param": param, "encrypt_type": 1});
    let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
    let mut hex_field = None;
    match (key_form, key) {
        (KeyForm::HexField, Some(k)) => hex_field = Some(hex::encode(k)),
        (KeyForm::Base64Raw, Some(k)) => media["aes_key"] = json!(b64(&k)),
        (KeyForm::Base64Hex, Some(k)) => media["aes_key"] = json!(b64(hex::encode(k).as_bytes())),
        _ => {}
    }
    match full_url {
        Some(FullUrl::Flag(true)) => {
            media["full_url"] = json!(format!(
                "{}/c2c/download?encrypted_query_param={}",
                state.base_url,
                encode_component(&param)
            ));
        }
        Some(FullUrl::Url(url)) => media["full_url"] = json!(url),
        _ => {}
    }
    Ok((media, hex_field, size, plain.len()))
}

fn build_item(state: &mut State, item: &InboundItem) -> Result<Value, Reply> {
    Ok(match item {
        InboundItem::Text(text) => json!({"type": 1, "text_item": {"text": text}}),
        InboundItem::Image(m) => {
            let (media, hex_field, size, _) =
                store_media(state, &m.data_base64, m.key, m.full_url.as_ref(), true)?;
            let mut image = json!({"media": media, "mid_size": size});
            if let Some(hex) = hex_field {
                image["aeskey"] = json!(hex);
            }
            json!({"type": 2, "image_item": image})
        }
        InboundItem::Video(m) => {
            let (media, _, size, _) =
                store_media(state, &m.data_base64, m.key, m.full_url.as_ref(), false)?;
            json!({"type": 5, "video_item": {"media": media, "video_size": size}})
        }
        InboundItem::File(f) => {
            let (media, _, _, plain_len) =
                store_media(state, &f.data_base64, f.key, f.full_url.as_ref(), false)?;
            json!({"type": 4, "file_item": {"media": media, "file_name": f.file_name, "len": plain_len.to_string()}})
        }
        InboundItem::Voice(v) => {
            let (media, _, _, _) = store_media(state, &v.data_base64, v.key, None, false)?;
            let mut voice = json!({"media": media, "encode_type": 6});
            if let Some(text) = &v.text {
                voice["text"] = json!(text);
            }
            json!({"type": 3, "voice_item": voice})
        }
        InboundItem::Raw(raw) => raw.clone(),
    })
}
