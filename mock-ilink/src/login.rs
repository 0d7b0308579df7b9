//! QR login: `get_bot_qrcode`, `get_qrcode_status` and the control calls that
//! play the phone (scan, confirm, expire, verify codes, IDC redirect).

use hyper::StatusCode;
use serde_json::{json, Value};

use crate::checks::{check_base_info, check_headers};
use crate::server::{Ctx, Reply, Shared};
use crate::state::{Login, LoginPhase, State, UploadMode, QR_LIFETIME_MS};

/// Wrong verify codes before a QR is blocked.
const MAX_WRONG_CODES: u32 = 3;

pub(crate) fn get_bot_qrcode(shared: &Shared, ctx: &Ctx) -> Reply {
    let mut state = shared.lock();
    let Some(body) = ctx.json.as_ref().filter(|b| b.is_object()) else {
        state.violate(
            "body.invalid",
            "body is not a JSON object",
            &ctx.path,
            None,
            None,
        );
        return Reply::error(StatusCode::BAD_REQUEST, "body is not a JSON object");
    };
    let qrcode = state.hex(16);
    let base_info = body.get("base_info").filter(|b| !b.is_null());
    let mut findings = check_headers(ctx.method.as_str(), &ctx.headers, base_info, false);
    if base_info.is_some() {
        findings.extend(check_base_info(base_info));
    }
    for (rule, detail) in findings {
        state.violate(rule, detail, &ctx.path, None, Some(&qrcode));
    }
    let local_token_list: Vec<String> = body
        .get("local_token_list")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|t| t.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    let now = state.now_ms();
    state.login_order.push(qrcode.clone());
    state.logins.insert(
        qrcode.clone(),
        Login {
            qrcode: qrcode.clone(),
            local_token_list,
            issued_ms: now,
            polls: 0,
            phase: LoginPhase::Wait,
            user: None,
            verify_code: None,
            wrong_codes: 0,
            redirect_host: None,
            bot_id: None,
        },
    );
    Reply::ok(json!({
        "ret": 0,
        "qrcode": qrcode,
        "qrcode_img_content": format!("https://liteapp.weixin.qq.com/q/mock?qrcode={qrcode}&bot_type=3"),
    }))
}

/// The phase a login is in now, with expiry applied.
fn current_phase(state: &State, login: &Login) -> LoginPhase {
    let terminal = matches!(
        login.phase,
        LoginPhase::Confirmed(_) | LoginPhase::BindedRedirect | LoginPhase::VerifyBlocked
    );
    if !terminal && state.now_ms() - login.issued_ms > QR_LIFETIME_MS {
        LoginPhase::Expired
    } else {
        login.phase.clone()
    }
}

pub(crate) fn get_qrcode_status(shared: &Shared, ctx: &Ctx) -> Reply {
    let mut state = shared.lock();
    let qrcode = ctx.query.get("qrcode").cloned().unwrap_or_default();
    for (rule, detail) in check_headers(ctx.method.as_str(), &ctx.headers, None, false) {
        state.violate(rule, detail, &ctx.path, None, Some(&qrcode));
    }
    let Some(mut login) = state.logins.remove(&qrcode) else {
        return Reply::ok(json!({"ret": 0, "status": "expired"}));
    };
    login.polls += 1;
    let reply = poll(
        &mut state,
        &mut login,
        ctx.query.get("verify_code").map(String::as_str),
    );
    state.logins.insert(qrcode, login);
    Reply::ok(reply)
}

/// Answers one status poll and moves the login on.
fn poll(state: &mut State, login: &mut Login, verify_code: Option<&str>) -> Value {
    let phase = current_phase(state, login);
    login.phase = phase.clone();
    let status = |s: &str| json!({"ret": 0, "status": s});
    match phase {
        LoginPhase::Confirmed(reply) => return reply,
        LoginPhase::BindedRedirect => return status("binded_redirect"),
        LoginPhase::Expired | LoginPhase::VerifyBlocked => return status(phase.status()),
        LoginPhase::NeedVerify => {
            let Some(sent) = verify_code else {
                return status("need_verifycode");
            };
            if login.verify_code.as_deref() == Some(sent.trim()) {
                login.verify_code = None;
                login.phase = LoginPhase::Scanned;
                return status("scaned");
            }
            login.wrong_codes += 1;
            if login.wrong_codes >= MAX_WRONG_CODES {
                login.phase = LoginPhase::VerifyBlocked;
                return status("verify_code_blocked");
            }
            return status("need_verifycode");
        }
        LoginPhase::Wait | LoginPhase::Scanned => {}
    }
    if let Some(host) = login.redirect_host.take() {
        login.phase = LoginPhase::Scanned;
        if login.user.is_none() {
            login.user = Some(state.new_user_id());
        }
        return json!({"ret": 0, "status": "scaned_but_redirect", "redirect_host": host});
    }
    if state.config.auto_login {
        if login.phase == LoginPhase::Wait && login.polls <= 1 {
            login.user = Some(state.new_user_id());
            login.phase = LoginPhase::Scanned;
            return status("scaned");
        }
        if confirm_login(state, login, None, None).is_ok() {
            if let LoginPhase::Confirmed(reply) = &login.phase {
                return reply.clone();
            }
            return status(login.phase.status());
        }
    }
    status(login.phase.status())
}

/// Confirms a login on the phone: creates (or re-logs-in) the bot, or answers
/// `binded_redirect` when a current token of the QR's list belongs to a bot
/// the scanning user owns. Returns `{"bot_id", "token", "owner_user_id"}`.
fn confirm_login(
    state: &mut State,
    login: &mut Login,
    bot_id: Option<String>,
    baseurl: Option<String>,
) -> Result<Value, String> {
    let user = match login.user.clone() {
        Some(u) => u,
        None => {
            let u = state.new_user_id();
            login.user = Some(u.clone());
            u
        }
    };
    if let Some(id) = bound_bot(state, login, &user) {
        login.phase = LoginPhase::BindedRedirect;
        login.bot_id = Some(id.clone());
        let bot = &state.bots[&id];
        return Ok(json!({"bot_id": id, "token": bot.token, "owner_user_id": bot.owner}));
    }
    let (id, token) = match bot_id {
        Some(id) if state.bots.contains_key(&id) => {
            let token = state.rotate_token(&id).ok_or("bot vanished")?;
            if let Some(bot) = state.bots.get_mut(&id) {
                bot.owner = user.clone();
            }
            (id, token)
        }
        other => {
            let bot =
                state.create_bot(other, None, Some(user.clone()), UploadMode::FullUrl, true)?;
            (bot.id.clone(), bot.token.clone())
        }
    };
    let baseurl = baseurl.unwrap_or_else(|| state.base_url.clone());
    login.phase = LoginPhase::Confirmed(json!({
        "ret": 0,
        "status": "confirmed",
        "bot_token": token,
        "ilink_bot_id": id,
        "baseurl": baseurl,
        "ilink_user_id": user,
    }));
    login.bot_id = Some(id.clone());
    Ok(json!({"bot_id": id, "token": token, "owner_user_id": user}))
}

/// The bot `user` owns whose current (not stale) token is in the QR's
/// `local_token_list`, if any: a confirm then answers `binded_redirect`.
fn bound_bot(state: &State, login: &Login, user: &str) -> Option<String> {
    login.local_token_list.iter().find_map(|t| {
        let id = state.bot_of_token(t)?;
        let bot = state.bots.get(id)?;
        (bot.token == *t && !bot.stale && bot.owner == user).then(|| bot.id.clone())
    })
}

/// What the QR's next status poll (without a verify code) answers: its phase,
/// or what a pending redirect or auto-login makes of it (see [`poll`]).
fn next_status(state: &State, login: &Login) -> &'static str {
    match current_phase(state, login) {
        LoginPhase::Wait | LoginPhase::Scanned if login.redirect_host.is_some() => {
            "scaned_but_redirect"
        }
        LoginPhase::Wait if state.config.auto_login && login.polls == 0 => "scaned",
        LoginPhase::Wait | LoginPhase::Scanned if state.config.auto_login => {
            match login
                .user
                .as_deref()
                .and_then(|u| bound_bot(state, login, u))
            {
                Some(_) => "binded_redirect",
                None => "confirmed",
            }
        }
        phase => phase.status(),
    }
}

/// `GET /_mock/logins`.
pub(crate) fn list(state: &State) -> Value {
    let logins: Vec<Value> = state
        .login_order
        .iter()
        .filter_map(|q| state.logins.get(q))
        .map(|l| {
            let mut v = json!({
                "qrcode": l.qrcode,
                "status": next_status(state, l),
                "polls": l.polls,
                "local_token_list": l.local_token_list,
            });
            if let Some(id) = &l.bot_id {
                v["bot_id"] = json!(id);
            }
            v
        })
        .collect();
    json!({ "logins": logins })
}

/// `POST /_mock/logins/{qrcode}/{action}`.
pub(crate) fn act(state: &mut State, qrcode: &str, action: &str, body: &Value) -> Reply {
    let Some(mut login) = state.logins.remove(qrcode) else {
        return Reply::error(StatusCode::NOT_FOUND, format!("unknown QR code {qrcode}"));
    };
    let str_field = |k: &str| body.get(k).and_then(Value::as_str).map(str::to_owned);
    let phase = current_phase(state, &login);
    let finished = matches!(
        phase,
        LoginPhase::Expired
            | LoginPhase::Confirmed(_)
            | LoginPhase::BindedRedirect
            | LoginPhase::VerifyBlocked
    );
    let reply = match action {
        // A finished login keeps answering what it answers "from now on":
        // a scan cannot revive an expired QR, nor a confirm redo a confirmed one.
        "scan" | "confirm" | "verify-code" | "redirect" if finished => Reply::error(
            StatusCode::CONFLICT,
            format!("QR code {qrcode} is already {}", phase.status()),
        ),
        "scan" => {
            login.user = Some(match str_field("user_id") {
                Some(u) => u,
                None => state.new_user_id(),
            });
            login.phase = LoginPhase::Scanned;
            Reply::ok(json!({"ok": true}))
        }
        "confirm" => {
            match confirm_login(state, &mut login, str_field("bot_id"), str_field("baseurl")) {
                Ok(v) => Reply::ok(v),
                Err(e) => Reply::error(StatusCode::CONFLICT, e),
            }
        }
        "expire" => {
            login.phase = LoginPhase::Expired;
            Reply::ok(json!({"ok": true}))
        }
        "verify-code" => {
            match str_field("code").or_else(|| body.get("code").map(|c| c.to_string())) {
                Some(code) => {
                    login.verify_code = Some(code);
                    login.wrong_codes = 0;
                    login.phase = LoginPhase::NeedVerify;
                    Reply::ok(json!({"ok": true}))
                }
                None => Reply::error(StatusCode::BAD_REQUEST, "verify-code needs {\"code\"}"),
            }
        }
        "redirect" => match str_field("redirect_host") {
            Some(host) => {
                login.redirect_host = Some(host);
                Reply::ok(json!({"ok": true}))
            }
            None => Reply::error(
                StatusCode::BAD_REQUEST,
                "redirect needs {\"redirect_host\"}",
            ),
        },
        other => Reply::error(
            StatusCode::NOT_FOUND,
            format!("unknown login action {other}"),
        ),
    };
    state.logins.insert(qrcode.to_owned(), login);
    reply
}
