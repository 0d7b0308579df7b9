//! The bot endpoints of `/ilink/bot/*` (all but the two QR ones): auth, the
//! header and `base_info` checks, getupdates with its long-poll hold, and the
//! validation of what a bot sends.

use std::sync::Arc;
use std::time::Duration;

use hyper::StatusCode;
use serde_json::{json, Value};
use tokio::sync::oneshot;

use crate::checks::{check_base_info, check_headers};
use crate::crypto;
use crate::server::{Ctx, Reply, Shared};
use crate::state::{HeldPoll, State, UploadMode, MAX_BATCH, REPLY_WINDOW_MS};

/// Largest text item the server stores, in UTF-8 bytes.
const MAX_TEXT_BYTES: usize = 16384;

fn stale_reply() -> Reply {
    Reply::ok(json!({"ret": -14, "errcode": -14, "errmsg": "session timeout"}))
}

/// Handles a POST to `/ilink/bot/*` other than `get_bot_qrcode`.
pub(crate) async fn handle(shared: &Arc<Shared>, ctx: &Ctx, redeliver: Option<usize>) -> Reply {
    let name = ctx.path.trim_start_matches("/ilink/bot/");
    let body = {
        let mut state = shared.lock();
        let bot_id = ctx
            .token()
            .and_then(|t| state.bot_of_token(t))
            .map(str::to_owned);
        let Some(body) = ctx.json.as_ref().filter(|b| b.is_object()) else {
            state.violate(
                "body.invalid",
                "body is not a JSON object",
                &ctx.path,
                bot_id.as_deref(),
                None,
            );
            return Reply::error(StatusCode::BAD_REQUEST, "body is not a JSON object");
        };
        let base_info = body.get("base_info").filter(|b| !b.is_null());
        let mut findings = check_headers(ctx.method.as_str(), &ctx.headers, base_info, true);
        findings.extend(check_base_info(base_info));
        for (rule, detail) in findings {
            state.violate(rule, detail, &ctx.path, bot_id.as_deref(), None);
        }
        if current_bot(&state, ctx).is_none() {
            return stale_reply();
        }
        body
    };
    match name {
        "getupdates" => getupdates(shared, ctx, body, redeliver).await,
        "sendmessage" => with_bot(shared, ctx, |state, bot_id| {
            send_message(state, bot_id, &ctx.path, body)
        }),
        "getuploadurl" => with_bot(shared, ctx, |state, bot_id| {
            get_upload_url(state, bot_id, &ctx.path, body)
        }),
        "getconfig" => with_bot(shared, ctx, |state, bot_id| get_config(state, bot_id, body)),
        "sendtyping" => with_bot(shared, ctx, |state, bot_id| {
            send_typing(state, bot_id, &ctx.path, body)
        }),
        "msg/notifystart" | "msg/notifystop" => with_bot(shared, ctx, |state, bot_id| {
            if let Some(bot) = state.bots.get_mut(bot_id) {
                bot.online = name == "msg/notifystart";
            }
            Reply::ok(json!({"ret": 0}))
        }),
        other => Reply::error(StatusCode::NOT_FOUND, format!("unknown endpoint {other}")),
    }
}

/// The bot whose current, non-stale token the request carries.
fn current_bot(state: &State, ctx: &Ctx) -> Option<String> {
    let token = ctx.token()?;
    let id = state.bot_of_token(token)?;
    let bot = state.bots.get(id)?;
    (bot.token == token && !bot.stale).then(|| id.to_owned())
}

fn with_bot(shared: &Shared, ctx: &Ctx, f: impl FnOnce(&mut State, &str) -> Reply) -> Reply {
    let mut state = shared.lock();
    match current_bot(&state, ctx) {
        Some(id) => f(&mut state, &id),
        None => stale_reply(),
    }
}

/// Removes the held-poll registration when the poll ends, including when hyper
/// drops it because the client went away.
struct HeldGuard<'a> {
    shared: &'a Shared,
    bot_id: String,
    poll_id: u64,
}

impl Drop for HeldGuard<'_> {
    fn drop(&mut self) {
        let mut state = self.shared.lock();
        if let Some(bot) = state.bots.get_mut(&self.bot_id) {
            if bot.held.as_ref().is_some_and(|h| h.id == self.poll_id) {
                bot.held = None;
            }
        }
    }
}

async fn getupdates(
    shared: &Arc<Shared>,
    ctx: &Ctx,
    body: &Value,
    redeliver: Option<usize>,
) -> Reply {
    let hold = {
        let mut state = shared.lock();
        let Some(bot_id) = current_bot(&state, ctx) else {
            return stale_reply();
        };
        let cursor = body
            .get("get_updates_buf")
            .and_then(Value::as_str)
            .unwrap_or("");
        let known = state
            .bots
            .get(&bot_id)
            .is_some_and(|b| b.cursors.contains(cursor));
        if !cursor.is_empty() && !known {
            state.violate(
                "cursor.invalid",
                format!("cursor {cursor:?} was never issued to this bot"),
                &ctx.path,
                Some(&bot_id),
                None,
            );
        }
        if let Some(n) = redeliver {
            return batch_reply(&mut state, &bot_id, n);
        }
        Duration::from_millis(state.config.long_poll_ms * 9 / 10)
    };
    let deadline = tokio::time::Instant::now() + hold;
    // Messages already queued are answered at once; otherwise this poll is
    // registered as the bot's held one, releasing an older one.
    let (guard, mut release) = {
        let mut state = shared.lock();
        let Some(bot_id) = current_bot(&state, ctx) else {
            return stale_reply();
        };
        if state.bots.get(&bot_id).is_some_and(|b| !b.queue.is_empty()) {
            return batch_reply(&mut state, &bot_id, 0);
        }
        let poll_id = state.next_poll_id;
        state.next_poll_id += 1;
        let (tx, rx) = oneshot::channel();
        let older = state.bots.get_mut(&bot_id).and_then(|b| {
            b.held.replace(HeldPoll {
                id: poll_id,
                release: tx,
            })
        });
        if let Some(older) = older {
            // Its registration still exists, so its connection is still open.
            let _ = older.release.send(());
            state.violate(
                "getupdates.concurrent",
                "a second poll while one is held on an open connection",
                &ctx.path,
                Some(&bot_id),
                None,
            );
        }
        let guard = HeldGuard {
            shared,
            bot_id,
            poll_id,
        };
        (guard, rx)
    };
    loop {
        let Some(notify) = shared
            .lock()
            .bots
            .get(&guard.bot_id)
            .map(|b| b.notify.clone())
        else {
            return stale_reply();
        };
        let notified = notify.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        // Checked after registering for wake-ups, so a message queued or a
        // token gone stale in between is not missed.
        {
            let mut state = shared.lock();
            let Some(bot_id) = current_bot(&state, ctx) else {
                return stale_reply();
            };
            if state.bots.get(&bot_id).is_some_and(|b| !b.queue.is_empty()) {
                return batch_reply(&mut state, &bot_id, 0);
            }
        }
        tokio::select! {
            () = &mut notified => continue,
            _ = &mut release => break,
            () = tokio::time::sleep_until(deadline) => break,
        }
    }
    drop(guard);
    let mut state = shared.lock();
    match current_bot(&state, ctx) {
        Some(bot_id) => empty_reply(&mut state, &bot_id),
        None => stale_reply(),
    }
}

fn new_cursor(state: &mut State, bot_id: &str) -> String {
    let cursor = format!("cur_{}", state.hex(12));
    if let Some(bot) = state.bots.get_mut(bot_id) {
        bot.cursors.insert(cursor.clone());
    }
    cursor
}

fn empty_reply(state: &mut State, bot_id: &str) -> Reply {
    let cursor = new_cursor(state, bot_id);
    Reply::ok(json!({
        "ret": 0,
        "msgs": [],
        "get_updates_buf": cursor,
        "longpolling_timeout_ms": state.config.long_poll_ms,
    }))
}

/// A reply with the last `redeliver` handed-out messages again, then up to
/// [`MAX_BATCH`] queued ones, which count as handed out from now on.
fn batch_reply(state: &mut State, bot_id: &str, redeliver: usize) -> Reply {
    let cursor = new_cursor(state, bot_id);
    let long_poll_ms = state.config.long_poll_ms;
    let Some(bot) = state.bots.get_mut(bot_id) else {
        return stale_reply();
    };
    let again = bot.delivered.len().saturating_sub(redeliver);
    let mut raws: Vec<String> = bot.delivered[again..]
        .iter()
        .map(|m| m.raw.get().to_owned())
        .collect();
    let take = bot.queue.len().min(MAX_BATCH);
    for msg in bot.queue.drain(..take).collect::<Vec<_>>() {
        if let Some(token) = &msg.context_token {
            bot.peers
                .entry(msg.peer.to_lowercase())
                .or_default()
                .newest_token = Some(token.clone());
        }
        raws.push(msg.raw.get().to_owned());
        bot.delivered.push(msg);
    }
    Reply::RawJson(format!(
        r#"{{"ret":0,"msgs":[{}],"get_updates_buf":{},"longpolling_timeout_ms":{}}}"#,
        raws.join(","),
        Value::String(cursor),
        long_poll_ms
    ))
}

fn invalid_send(state: &mut State, bot_id: &str, path: &str, what: &str) -> Reply {
    state.violate("sendmessage.invalid", what, path, Some(bot_id), None);
    Reply::ok(json!({"ret": -3, "errcode": -3, "errmsg": format!("invalid arguments: {what}")}))
}

/// The item field each item type carries.
fn item_field(item_type: i64) -> Option<&'static str> {
    Some(match item_type {
        1 => "text_item",
        2 => "image_item",
        3 => "voice_item",
        4 => "file_item",
        5 => "video_item",
        11 => "tool_call_start_item",
        12 => "tool_call_result_item",
        _ => return None,
    })
}

const ITEM_FIELDS: [&str; 7] = [
    "text_item",
    "image_item",
    "voice_item",
    "file_item",
    "video_item",
    "tool_call_start_item",
    "tool_call_result_item",
];

/// What is wrong with a bot message's shape, if anything.
pub(crate) fn message_problem(msg: &Value) -> Option<String> {
    let items = match msg.get("item_list") {
        Some(Value::Array(items)) => items,
        _ => return Some("item_list is missing".into()),
    };
    if items.len() != 1 {
        return Some(format!(
            "item_list has {} items, not exactly one",
            items.len()
        ));
    }
    if msg.get("message_type").and_then(Value::as_i64) != Some(2) {
        return Some("message_type is not 2 (BOT)".into());
    }
    if msg.get("message_state").and_then(Value::as_i64) != Some(2) {
        return Some("message_state is not 2 (FINISH)".into());
    }
    for field in ["to_user_id", "client_id"] {
        if msg
            .get(field)
            .and_then(Value::as_str)
            .is_none_or(str::is_empty)
        {
            return Some(format!("{field} is missing or empty"));
        }
    }
    let item = &items[0];
    let present: Vec<&str> = ITEM_FIELDS
        .iter()
        .copied()
        .filter(|f| item.get(*f).is_some_and(|v| !v.is_null()))
        .collect();
    let item_type = item.get("type").and_then(Value::as_i64).unwrap_or(0);
    match item_field(item_type) {
        Some(field) if present == [field] => None,
        _ => Some(format!(
            "item type {item_type} does not match its content {present:?}"
        )),
    }
}

fn send_message(state: &mut State, bot_id: &str, path: &str, body: &Value) -> Reply {
    let Some(msg) = body.get("msg").filter(|m| m.is_object()) else {
        return invalid_send(state, bot_id, path, "msg is missing");
    };
    if let Some(problem) = message_problem(msg) {
        return invalid_send(state, bot_id, path, &problem);
    }
    let client_id = msg["client_id"].as_str().unwrap_or_default().to_owned();
    if let Some(id) = state
        .bots
        .get(bot_id)
        .and_then(|b| b.client_ids.get(&client_id))
    {
        return Reply::ok(json!({"ret": 0, "message_id": id}));
    }
    let item = &msg["item_list"][0];
    if let Some(text) = item.pointer("/text_item/text").and_then(Value::as_str) {
        if text.len() > MAX_TEXT_BYTES {
            state.violate(
                "sendmessage.text_too_long",
                format!("text item of {} bytes", text.len()),
                path,
                Some(bot_id),
                None,
            );
            return Reply::ok(json!({"ret": -2, "errmsg": ""}));
        }
    }
    let to = msg["to_user_id"].as_str().unwrap_or_default().to_owned();
    let now = state.now_ms();
    let Some(bot) = state.bots.get_mut(bot_id) else {
        return stale_reply();
    };
    let peer = bot.peers.entry(to.to_lowercase()).or_default();
    if bot.reply_budget {
        let in_window = peer
            .last_inbound_ms
            .is_some_and(|t| now - t <= REPLY_WINDOW_MS);
        if !in_window || peer.allowance == 0 {
            return Reply::ok(json!({"ret": -2, "errmsg": ""}));
        }
        peer.allowance -= 1;
    }
    let newest = peer.newest_token.clone();
    if let Some(token) = msg.get("context_token").and_then(Value::as_str) {
        if newest.as_deref() != Some(token) {
            state.violate(
                "context_token.not_newest",
                format!("context_token is not the newest handed out for {to}"),
                path,
                Some(bot_id),
                None,
            );
        }
    }
    let media = check_media(state, bot_id, path, item);
    let message_id = state.next_message_id;
    state.next_message_id += 1;
    if let Some(bot) = state.bots.get_mut(bot_id) {
        bot.client_ids.insert(client_id, message_id);
        bot.outbound.push(json!({
            "msg": msg,
            "message_id": message_id,
            "received_at_ms": now,
            "media": media,
        }));
    }
    Reply::ok(json!({"ret": 0, "message_id": message_id}))
}

/// Decrypts a sent media item with the key it carries and compares it with
/// its upload; records `media.*` violations.
fn check_media(state: &mut State, bot_id: &str, path: &str, item: &Value) -> Vec<Value> {
    let (kind, field) = match item.get("type").and_then(Value::as_i64) {
        Some(2) => ("image", "image_item"),
        Some(3) => ("voice", "voice_item"),
        Some(4) => ("file", "file_item"),
        Some(5) => ("video", "video_item"),
        _ => return Vec::new(),
    };
    let content = &item[field];
    let param = content
        .pointer("/media/encrypt_query_param")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let Some(object) = state.cdn.get(param).cloned() else {
        state.violate(
            "media.unknown",
            format!("{kind} download param {param:?} was never issued"),
            path,
            Some(bot_id),
            None,
        );
        return vec![
            json!({"kind": kind, "size": null, "md5": null, "decrypt_ok": false, "matches_upload": false}),
        ];
    };
    let key_text = content
        .get("aeskey")
        .and_then(Value::as_str)
        .filter(|k| !k.is_empty() && kind == "image")
        .or_else(|| content.pointer("/media/aes_key").and_then(Value::as_str));
    // A key other than the one the object was encrypted with does not
    // decrypt it, even when its garbage happens to end in valid padding.
    let plain = key_text
        .and_then(crypto::parse_key)
        .filter(|key| object.key.is_none_or(|k| k == *key))
        .and_then(|key| crypto::decrypt(&key, &object.ciphertext));
    let Some(plain) = plain else {
        state.violate(
            "media.decrypt",
            format!("{kind} aes_key does not decrypt its upload"),
            path,
            Some(bot_id),
            None,
        );
        return vec![
            json!({"kind": kind, "size": null, "md5": null, "decrypt_ok": false, "matches_upload": false}),
        ];
    };
    let size = plain.len() as u64;
    let md5 = crypto::md5_hex(&plain);
    let matches_upload = object
        .upload
        .as_ref()
        .is_some_and(|u| u.rawsize == size && u.rawfilemd5.eq_ignore_ascii_case(&md5));
    let cipher_size = object.ciphertext.len() as u64;
    let size_problem = match kind {
        "image" => content
            .get("mid_size")
            .and_then(Value::as_u64)
            .filter(|s| *s != cipher_size)
            .map(|s| format!("mid_size {s} is not the ciphertext size {cipher_size}")),
        "video" => content
            .get("video_size")
            .and_then(Value::as_u64)
            .filter(|s| *s != cipher_size)
            .map(|s| format!("video_size {s} is not the ciphertext size {cipher_size}")),
        "file" => match content
            .get("len")
            .and_then(Value::as_str)
            .map(str::parse::<u64>)
        {
            Some(Ok(len)) if len == size => None,
            other => Some(format!(
                "file len {other:?} is not the plaintext size {size}"
            )),
        },
        _ => None,
    };
    if let Some(problem) = size_problem {
        state.violate("media.size", problem, path, Some(bot_id), None);
    }
    vec![
        json!({"kind": kind, "size": size, "md5": md5, "decrypt_ok": true, "matches_upload": matches_upload}),
    ]
}

fn get_upload_url(state: &mut State, bot_id: &str, path: &str, body: &Value) -> Reply {
    let text = |k: &str| {
        body.get(k)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
    };
    let number = |k: &str| body.get(k).and_then(Value::as_u64);
    let problem = if text("filekey").is_none() {
        Some("filekey is missing".to_owned())
    } else if text("rawfilemd5").is_none() {
        Some("rawfilemd5 is missing".to_owned())
    } else if !matches!(body.get("media_type").and_then(Value::as_i64), Some(1..=4)) {
        Some(format!(
            "unknown media_type {}",
            body.get("media_type").unwrap_or(&Value::Null)
        ))
    } else if !text("aeskey")
        .is_some_and(|k| k.len() == 32 && k.bytes().all(|b| b.is_ascii_hexdigit()))
    {
        Some("aeskey is not 32 hex characters".to_owned())
    } else {
        match (number("rawsize"), number("filesize")) {
            (Some(raw), Some(file)) if crypto::padded_size(raw) == file => None,
            (raw, file) => Some(format!(
                "filesize {file:?} is not the padded size of rawsize {raw:?}"
            )),
        }
    };
    if let Some(what) = problem {
        state.violate(
            "getuploadurl.invalid",
            what.clone(),
            path,
            Some(bot_id),
            None,
        );
        return Reply::ok(json!({"ret": -1, "errcode": -1, "errmsg": what}));
    }
    let aeskey: [u8; 16] = text("aeskey")
        .and_then(|k| hex::decode(k).ok())
        .and_then(|k| k.try_into().ok())
        .unwrap_or_default();
    let filekey = text("filekey").unwrap_or_default().to_owned();
    let upload = crate::state::Upload {
        bot_id: bot_id.to_owned(),
        filekey: filekey.clone(),
        rawsize: number("rawsize").unwrap_or_default(),
        rawfilemd5: text("rawfilemd5").unwrap_or_default().to_owned(),
        filesize: number("filesize").unwrap_or_default(),
        aeskey,
    };
    let param = format!("up_{}", state.hex(20));
    state.uploads.insert(param.clone(), upload);
    let mode = state
        .bots
        .get(bot_id)
        .map_or(UploadMode::FullUrl, |b| b.upload_mode);
    match mode {
        UploadMode::FullUrl => Reply::ok(json!({
            "ret": 0,
            "upload_full_url": format!(
                "{}/c2c/upload?encrypted_query_param={}&filekey={}",
                state.base_url,
                crate::server::encode_component(&param),
                crate::server::encode_component(&filekey)
            ),
        })),
        UploadMode::Param => Reply::ok(json!({"ret": 0, "upload_param": param})),
    }
}

fn get_config(state: &mut State, bot_id: &str, body: &Value) -> Reply {
    let Some(peer_id) = body
        .get("ilink_user_id")
        .and_then(Value::as_str)
        .filter(|p| !p.is_empty())
    else {
        return Reply::ok(
            json!({"ret": -3, "errcode": -3, "errmsg": "invalid arguments: ilink_user_id"}),
        );
    };
    let fresh = {
        use base64::Engine as _;
        let hex = state.hex(12);
        base64::engine::general_purpose::STANDARD.encode(hex)
    };
    let Some(bot) = state.bots.get_mut(bot_id) else {
        return stale_reply();
    };
    let peer = bot.peers.entry(peer_id.to_lowercase()).or_default();
    let ticket = peer.typing_ticket.get_or_insert(fresh).clone();
    Reply::ok(json!({"ret": 0, "typing_ticket": ticket}))
}

fn send_typing(state: &mut State, bot_id: &str, path: &str, body: &Value) -> Reply {
    let to = body
        .get("ilink_user_id")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let ticket = body
        .get("typing_ticket")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let status = body.get("status").cloned().unwrap_or(Value::Null);
    let Some(bot) = state.bots.get_mut(bot_id) else {
        return stale_reply();
    };
    let issued = bot
        .peers
        .get(&to.to_lowercase())
        .and_then(|p| p.typing_ticket.clone());
    let ticket_ok = issued.as_deref() == Some(ticket);
    bot.typing_events
        .push(json!({"to": to, "status": status, "ticket_ok": ticket_ok}));
    if !ticket_ok {
        state.violate(
            "typing.bad_ticket",
            format!("ticket not issued for {to}"),
            path,
            Some(bot_id),
            None,
        );
    }
    if !matches!(status.as_i64(), Some(1 | 2)) {
        state.violate(
            "typing.bad_status",
            format!("status {status} is not 1 or 2"),
            path,
            Some(bot_id),
            None,
        );
    }
    Reply::ok(json!({"ret": 0}))
}
