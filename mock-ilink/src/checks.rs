//! The header and `base_info` checks of `/ilink/bot/*` requests. A failed check
//! is a violation the request is still answered with, so a client's bug is
//! visible, not hidden.
//!
//! Written from the spec independently of `ilink-client`, so one misreading
//! cannot hide on both sides of the wire.

use base64::Engine as _;
use hyper::header::HeaderMap;
use serde_json::Value;

/// One failed check: its rule id and what was wrong.
pub(crate) type Finding = (&'static str, String);

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).map(|v| v.to_str().unwrap_or("\u{fffd}"))
}

/// Checks the headers of a `/ilink/bot/*` request (names case-insensitive).
/// `bot_call` is false for the two QR endpoints, which carry no token.
pub(crate) fn check_headers(
    method: &str,
    headers: &HeaderMap,
    base_info: Option<&Value>,
    bot_call: bool,
) -> Vec<Finding> {
    let mut out = Vec::new();
    let mut require =
        |name: &str, ok: &dyn Fn(&str) -> bool, what: &str| match header(headers, name) {
            None => out.push(("header.missing", format!("{name} is missing"))),
            Some(v) if !ok(v) => out.push(("header.invalid", format!("{name} {v:?}: {what}"))),
            Some(_) => {}
        };
    require(
        "iLink-App-Id",
        &|v| !v.trim().is_empty(),
        "must not be empty",
    );
    require(
        "iLink-App-ClientVersion",
        &|v| {
            v.parse::<u32>().is_ok_and(|n| n <= 0x00FF_FFFF)
                && v.bytes().all(|b| b.is_ascii_digit())
        },
        "must be a decimal at most 0xFFFFFF",
    );
    if method == "POST" {
        require(
            "Content-Type",
            &|v| {
                v.split(';')
                    .next()
                    .is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json"))
            },
            "must be application/json",
        );
        require(
            "AuthorizationType",
            &|v| v == "ilink_bot_token",
            "must be ilink_bot_token",
        );
        require("X-WECHAT-UIN", &is_uin, "must be base64 of decimal digits");
    }
    if bot_call && header(headers, "Authorization").is_none() {
        out.push(("header.missing", "Authorization is missing".to_owned()));
    }
    // The client version must be the packing of base_info's semver, when it parses.
    if let (Some(version), Some(sent)) = (
        base_info
            .and_then(|b| b.get("channel_version"))
            .and_then(Value::as_str)
            .and_then(pack_semver),
        header(headers, "iLink-App-ClientVersion").and_then(|v| v.parse::<u32>().ok()),
    ) {
        if version != sent {
            out.push((
                "header.invalid",
                format!("iLink-App-ClientVersion {sent} is not the packing {version} of base_info.channel_version"),
            ));
        }
    }
    out
}

fn is_uin(v: &str) -> bool {
    base64::engine::general_purpose::STANDARD
        .decode(v.trim())
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .is_some_and(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
}

/// `major << 16 | minor << 8 | patch` (each masked to 8 bits) of a semver.
pub(crate) fn pack_semver(v: &str) -> Option<u32> {
    let core = v.split(['-', '+']).next()?;
    let mut parts = core.split('.');
    let mut packed = 0u32;
    for _ in 0..3 {
        let n: u32 = parts.next()?.parse().ok()?;
        packed = (packed << 8) | (n & 0xff);
    }
    parts.next().is_none().then_some(packed)
}

/// Checks `base_info`: an object with a non-empty `channel_version` and a
/// `bot_agent` that is `OpenClaw` or follows the grammar. `None` = absent.
pub(crate) fn check_base_info(base_info: Option<&Value>) -> Vec<Finding> {
    let Some(b) = base_info.filter(|b| !b.is_null()) else {
        return vec![("base_info.missing", "base_info is missing".to_owned())];
    };
    let Some(obj) = b.as_object() else {
        return vec![("base_info.invalid", "base_info is not an object".to_owned())];
    };
    let mut out = Vec::new();
    match obj.get("channel_version").and_then(Value::as_str) {
        Some(v) if !v.trim().is_empty() => {}
        _ => out.push((
            "base_info.invalid",
            "channel_version is missing or empty".to_owned(),
        )),
    }
    match obj.get("bot_agent").and_then(Value::as_str) {
        Some(agent) if bot_agent_ok(agent) => {}
        Some(agent) => out.push((
            "base_info.invalid",
            format!("bot_agent {agent:?} does not follow the grammar"),
        )),
        None => out.push(("base_info.invalid", "bot_agent is missing".to_owned())),
    }
    out
}

/// `OpenClaw`, or `product *( SP product )` with
/// `product = name "/" version [ SP "(" comment ")" ]`, at most 256 bytes.
pub(crate) fn bot_agent_ok(s: &str) -> bool {
    if s == "OpenClaw" {
        return true;
    }
    if s.is_empty() || s.len() > 256 {
        return false;
    }
    let name_ok = |t: &str| {
        (1..=32).contains(&t.len())
            && t.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b))
    };
    let version_ok = |t: &str| {
        (1..=32).contains(&t.len())
            && t.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"_.+-".contains(&b))
    };
    let mut rest = s;
    loop {
        // product: up to the next space.
        let end = rest.find(' ').unwrap_or(rest.len());
        let Some((name, version)) = rest[..end].split_once('/') else {
            return false;
        };
        if !name_ok(name) || !version_ok(version) {
            return false;
        }
        rest = &rest[end..];
        if rest.is_empty() {
            return true;
        }
        rest = &rest[1..];
        // An optional " (comment)".
        if let Some(after) = rest.strip_prefix('(') {
            let Some(close) = after.find(')') else {
                return false;
            };
            let comment = &after[..close];
            if !(1..=64).contains(&comment.len())
                || !comment
                    .bytes()
                    .all(|b| (0x20..=0x7e).contains(&b) && b != b'(')
            {
                return false;
            }
            rest = &after[close + 1..];
            if rest.is_empty() {
                return true;
            }
            let Some(next) = rest.strip_prefix(' ') else {
                return false;
            };
            rest = next;
        }
        if rest.is_empty() {
            return false;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bot_agents() {
        for ok in [
            "OpenClaw",
            "MyBot/1.2.0",
            "MyBot/1.2.0 (region=cn;env=prod)",
            "MyBot/1.2.0 LangChain/0.3.5",
            "MyBot/1.2.0-rc.1+build.5",
            "A/1 (x y) B/2",
        ] {
            assert!(bot_agent_ok(ok), "{ok}");
        }
        for bad in [
            "",
            "OpenClaw ",
            "openclaw",
            "MyBot",
            "MyBot/",
            "/1.0",
            "My Bot/1.0",
            "MyBot/1.0  B/2",
            "MyBot/1.0 ()",
            "MyBot/1.0 (unclosed",
            "MyBot/1.0 (a(b))",
            "MyBot/1.0 (c) (d)",
            "MyBot/1.0 (c)B/2",
            "MyBot/1.0 ",
            "Bot/1.0 (é)",
        ] {
            assert!(!bot_agent_ok(bad), "{bad}");
        }
        assert!(!bot_agent_ok(&format!("A/1{}", " B/2".repeat(80))));
    }

    #[test]
    fn semver_packing() {
        assert_eq!(pack_semver("2.4.9"), Some(132_105));
        assert_eq!(pack_semver("2.4.11"), Some(132_107));
        assert_eq!(pack_semver("2.4.11-beta.1"), Some(132_107));
        assert_eq!(pack_semver("2.4"), None);
        assert_eq!(pack_semver("2.4.9.1"), None);
    }

    #[test]
    fn uin() {
        assert!(is_uin("MTI4MDk0MDA1Ng=="));
        assert!(!is_uin("bm90IGRpZ2l0cw=="));
        assert!(!is_uin("!!"));
    }
}

/// Every request the two published clients really send passes the stateless
/// checks: headers, `base_info`, body shape and message shape.
#[cfg(test)]
mod fixtures {
    use super::*;
    use hyper::header::{HeaderName, HeaderValue};

    fn records() -> Vec<Value> {
        let mut all = Vec::new();
        for text in [
            include_str!("../../fixtures/wire/ts-plugin-2.4.9.requests.json"),
            include_str!("../../fixtures/wire/ilink-sdk-2.4.11.requests.json"),
        ] {
            let list: Vec<Value> = serde_json::from_str(text).expect("fixture JSON");
            all.extend(list);
        }
        all
    }

    #[test]
    fn published_clients_trigger_no_stateless_violation() {
        let records = records();
        assert!(records.len() > 60);
        let mut checked = 0;
        for r in records {
            let path = r["path"].as_str().unwrap_or_default();
            if !path.starts_with("/ilink/bot/") {
                continue;
            }
            let method = r["method"].as_str().unwrap_or_default();
            let mut headers = HeaderMap::new();
            for (k, v) in r["headers"].as_object().into_iter().flatten() {
                let name = HeaderName::from_bytes(k.as_bytes()).expect("header name");
                let value =
                    HeaderValue::from_str(v.as_str().unwrap_or_default()).expect("header value");
                headers.insert(name, value);
            }
            let body = &r["body"];
            let qr = path.ends_with("get_bot_qrcode") || path.ends_with("get_qrcode_status");
            let base_info = body.get("base_info").filter(|b| !b.is_null());
            let mut findings = check_headers(method, &headers, base_info, !qr);
            if !qr || base_info.is_some() {
                findings.extend(check_base_info(base_info));
            }
            if method == "POST" {
                assert!(body.is_object(), "{path}: body is not an object");
            }
            if path.ends_with("sendmessage") {
                if let Some(problem) = crate::protocol::message_problem(&body["msg"]) {
                    findings.push(("sendmessage.invalid", problem));
                }
            }
            assert!(findings.is_empty(), "{method} {path}: {findings:?}");
            checked += 1;
        }
        assert!(checked > 40, "{checked}");
    }
}
