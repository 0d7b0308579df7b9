//! Control API, QR login and faults.

use std::collections::VecDeque;
use std::future::Future;
use std::time::Duration;

use ilink_client::wire::{QrStatus, TypingStatus, WeixinMessage};
use ilink_client::{ErrorKind, IlinkClient, QrCode, ReplyTarget, SplitLimits};
use mock_ilink::api::{Confirm, FaultSpec, Inbound, NewBot};
use mock_ilink::{MockError, MockIlink};
use serde_json::{json, Value};

use crate::support::client;
use crate::support::wait_for;

/// The client timeout of getupdates calls.
const POLL_TIMEOUT: Duration = Duration::from_secs(5);

fn mock() -> MockIlink {
    MockIlink::builder().long_poll_ms(300).start().unwrap()
}

fn anon_client(mock: &MockIlink) -> IlinkClient {
    IlinkClient::builder()
        .base_url(mock.base_url())
        .cdn_base_url(mock.cdn_base_url())
        .build()
        .unwrap()
}

async fn new_bot(mock: &MockIlink) -> (mock_ilink::api::BotCredentials, IlinkClient) {
    let bot = mock.create_bot(&NewBot::default()).await.unwrap();
    let c = client(mock, &bot.token);
    (bot, c)
}

/// A raw control-API call: (status, JSON body or `null`).
async fn raw(
    mock: &MockIlink,
    method: reqwest::Method,
    path: &str,
    body: Option<&str>,
) -> (u16, Value) {
    let mut req = reqwest::Client::new().request(method, format!("{}{path}", mock.base_url()));
    if let Some(b) = body {
        req = req.body(b.to_owned());
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    let bytes = resp.bytes().await.unwrap();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

fn control_status(err: &MockError) -> u16 {
    match err {
        MockError::Control { status, .. } => *status,
        other => panic!("expected a control error, got {other:?}"),
    }
}

fn text_of(msg: &WeixinMessage) -> String {
    msg.item_list[0]
        .text_item
        .as_ref()
        .and_then(|t| t.text.clone())
        .unwrap_or_default()
}

// ---------------------------------------------------------------- health, reset, bots

#[tokio::test]
async fn health_answers_ok_and_counts_dropped_requests() {
    let mock = MockIlink::builder().max_requests(3).start().unwrap();
    let (status, body) = raw(&mock, reqwest::Method::GET, "/_mock/health", None).await;
    assert_eq!(status, 200);
    assert_eq!(body["ok"], json!(true));
    assert_eq!(body["requests_dropped"], json!(0));

    let (_, c) = new_bot(&mock).await;
    for _ in 0..5 {
        c.notify_start().await.unwrap();
    }
    let health = mock.health().await.unwrap();
    assert!(health.ok);
    assert_eq!(health.requests_dropped, 2);
    let kept = mock.requests(None, None, None).await.unwrap();
    assert_eq!(kept.len(), 3);
    // The oldest were dropped: the kept ones are the last three.
    let seqs: Vec<u64> = kept.iter().map(|r| r.seq).collect();
    assert_eq!(seqs, vec![3, 4, 5]);
}

#[tokio::test]
async fn reset_forgets_bots_faults_clock_and_logs() {
    let mock = mock();
    let (bot, c) = new_bot(&mock).await;
    c.notify_start().await.unwrap();
    mock.add_fault(&FaultSpec {
        endpoint: "getconfig".into(),
        kind: "status".into(),
        status: Some(503),
        ..FaultSpec::default()
    })
    .await
    .unwrap();
    // A request without headers leaves a violation.
    let (status, _) = raw(
        &mock,
        reqwest::Method::POST,
        "/ilink/bot/get_bot_qrcode?bot_type=3",
        Some("{}"),
    )
    .await;
    assert_eq!(status, 200);
    anon_client(&mock).get_bot_qrcode(&[]).await.unwrap();
    let ten_days = 10 * 24 * 3600 * 1000;
    mock.advance_clock(ten_days).await.unwrap();
    c.notify_stop().await.unwrap();
    let before = mock.requests(None, None, None).await.unwrap();
    let real_now = || {
        i64::try_from(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_millis(),
        )
        .unwrap()
    };
    // The clock offset shows in the record's time.
    assert!(before.last().unwrap().at_ms > real_now() + i64::try_from(ten_days).unwrap() - 60_000);
    assert!(!mock.violations(None, None).await.unwrap().is_empty());
    assert_eq!(mock.faults().await.unwrap().len(), 1);
    assert_eq!(mock.logins().await.unwrap().len(), 2);

    mock.reset().await.unwrap();

    let err = mock.bot(&bot.bot_id).await.unwrap_err();
    assert_eq!(control_status(&err), 404);
    assert!(mock.faults().await.unwrap().is_empty());
    assert!(mock.requests(None, None, None).await.unwrap().is_empty());
    assert!(mock.violations(None, None).await.unwrap().is_empty());
    assert!(mock.logins().await.unwrap().is_empty());
    // The old token names no bot any more.
    assert_eq!(
        c.notify_start().await.unwrap_err().kind(),
        &ErrorKind::StaleToken
    );
    // The clock offset is gone: a new record is stamped with real time.
    let after = mock.requests(None, None, None).await.unwrap();
    assert_eq!(after.len(), 1);
    assert_eq!(after[0].seq, 1, "sequence numbers restart");
    assert!((after[0].at_ms - real_now()).abs() < 60_000);
    // The getconfig fault is gone too: a new bot's getconfig succeeds.
    let (_, c2) = new_bot(&mock).await;
    c2.get_config("u@im.wechat", None).await.unwrap();
}

#[tokio::test]
async fn create_bot_generates_or_takes_ids_and_refuses_duplicates() {
    let mock = mock();
    let generated = mock.create_bot(&NewBot::default()).await.unwrap();
    let (id_hex, id_suffix) = generated.bot_id.split_once('@').unwrap();
    assert_eq!(id_suffix, "im.bot");
    assert_eq!(id_hex.len(), 12);
    assert!(id_hex.bytes().all(|b| b.is_ascii_hexdigit()));
    let (owner_hex, owner_suffix) = generated.owner_user_id.split_once('@').unwrap();
    assert_eq!(owner_suffix, "im.wechat");
    assert!(!owner_hex.is_empty() && owner_hex.bytes().all(|b| b.is_ascii_hexdigit()));
    assert!(!generated.token.is_empty());
    client(&mock, &generated.token)
        .notify_start()
        .await
        .unwrap();

    let given = mock
        .create_bot(&NewBot {
            bot_id: Some("0123456789ab@im.bot".into()),
            token: Some("my-token".into()),
            owner_user_id: Some("feedface@im.wechat".into()),
            ..NewBot::default()
        })
        .await
        .unwrap();
    assert_eq!(given.bot_id, "0123456789ab@im.bot");
    assert_eq!(given.token, "my-token");
    assert_eq!(given.owner_user_id, "feedface@im.wechat");
    client(&mock, "my-token").notify_start().await.unwrap();
    let status = mock.bot("0123456789ab@im.bot").await.unwrap();
    assert_eq!(status.owner_user_id, "feedface@im.wechat");
    assert!(status.online);

    // An existing bot_id: 409 with an error text.
    let (status, body) = raw(
        &mock,
        reqwest::Method::POST,
        "/_mock/bots",
        Some(r#"{"bot_id": "0123456789ab@im.bot"}"#),
    )
    .await;
    assert_eq!(status, 409);
    assert!(body["error"].as_str().is_some_and(|e| !e.is_empty()));
    // The first bot keeps its token.
    client(&mock, "my-token").notify_stop().await.unwrap();

    // An empty body means {}.
    let (status, body) = raw(&mock, reqwest::Method::POST, "/_mock/bots", Some("")).await;
    assert_eq!(status, 200);
    assert!(body["bot_id"].as_str().unwrap().ends_with("@im.bot"));
    assert!(body["token"].as_str().is_some_and(|t| !t.is_empty()));
    assert!(body["owner_user_id"]
        .as_str()
        .unwrap()
        .ends_with("@im.wechat"));

    // A bad upload_mode is a malformed body.
    let (status, body) = raw(
        &mock,
        reqwest::Method::POST,
        "/_mock/bots",
        Some(r#"{"upload_mode": "ftp"}"#),
    )
    .await;
    assert_eq!(status, 400);
    assert!(body["error"].is_string());
}

#[tokio::test]
async fn seeded_mocks_generate_the_same_ids() {
    let a = MockIlink::builder().seed(7).start().unwrap();
    let b = MockIlink::builder().seed(7).start().unwrap();
    let bot_a = a.create_bot(&NewBot::default()).await.unwrap();
    let bot_b = b.create_bot(&NewBot::default()).await.unwrap();
    assert_eq!(bot_a, bot_b);
    let c = MockIlink::builder().seed(8).start().unwrap();
    assert_ne!(c.create_bot(&NewBot::default()).await.unwrap(), bot_a);
}

#[tokio::test]
async fn bot_status_tracks_online_stale_queued_and_delivered() {
    let mock = mock();
    let (bot, c) = new_bot(&mock).await;
    let s = mock.bot(&bot.bot_id).await.unwrap();
    assert_eq!(s.bot_id, bot.bot_id);
    assert_eq!(s.owner_user_id, bot.owner_user_id);
    assert!(!s.online && !s.token_stale);
    assert_eq!((s.queued, s.delivered), (0, 0));

    c.notify_start().await.unwrap();
    assert!(mock.bot(&bot.bot_id).await.unwrap().online);
    c.notify_stop().await.unwrap();
    assert!(!mock.bot(&bot.bot_id).await.unwrap().online);

    for text in ["one", "two"] {
        mock.inbound(&bot.bot_id, &Inbound::text("u1@im.wechat", text))
            .await
            .unwrap();
    }
    let s = mock.bot(&bot.bot_id).await.unwrap();
    assert_eq!((s.queued, s.delivered), (2, 0));
    let got = c.get_updates("", POLL_TIMEOUT).await.unwrap();
    assert_eq!(got.msgs.len(), 2);
    let s = mock.bot(&bot.bot_id).await.unwrap();
    assert_eq!((s.queued, s.delivered), (0, 2));
    mock.inbound(&bot.bot_id, &Inbound::text("u1@im.wechat", "three"))
        .await
        .unwrap();
    let s = mock.bot(&bot.bot_id).await.unwrap();
    assert_eq!((s.queued, s.delivered), (1, 2));

    mock.make_stale(&bot.bot_id).await.unwrap();
    assert!(mock.bot(&bot.bot_id).await.unwrap().token_stale);
}

#[tokio::test]
async fn stale_token_answers_minus_14_until_refresh() {
    let mock = mock();
    let (bot, c) = new_bot(&mock).await;
    c.notify_start().await.unwrap();
    mock.make_stale(&bot.bot_id).await.unwrap();
    assert_eq!(
        c.notify_start().await.unwrap_err().kind(),
        &ErrorKind::StaleToken
    );
    assert_eq!(
        c.get_updates("", POLL_TIMEOUT).await.unwrap_err().kind(),
        &ErrorKind::StaleToken
    );
    assert_eq!(
        c.get_config("u@im.wechat", None).await.unwrap_err().kind(),
        &ErrorKind::StaleToken
    );
    // The exact reply.
    let stale = mock
        .requests(Some("getconfig"), Some(&bot.bot_id), None)
        .await
        .unwrap();
    assert_eq!(
        stale[0].reply,
        json!({"ret": -14, "errcode": -14, "errmsg": "session timeout"})
    );
    assert_eq!(stale[0].status, 200);

    let fresh = mock.refresh_token(&bot.bot_id).await.unwrap();
    assert!(!fresh.is_empty());
    assert_ne!(fresh, bot.token);
    assert!(!mock.bot(&bot.bot_id).await.unwrap().token_stale);
    let c2 = client(&mock, &fresh);
    c2.notify_start().await.unwrap();
    c2.get_config("u@im.wechat", None).await.unwrap();
    // The old token stays dead.
    assert_eq!(
        c.notify_start().await.unwrap_err().kind(),
        &ErrorKind::StaleToken
    );
    // A token nobody issued answers -14 as well.
    assert_eq!(
        client(&mock, "nobody's-token")
            .notify_start()
            .await
            .unwrap_err()
            .kind(),
        &ErrorKind::StaleToken
    );
}

#[tokio::test]
async fn clock_advance_expires_qr_codes_after_120_s() {
    let mock = mock();
    let anon = anon_client(&mock);
    let qr = anon.get_bot_qrcode(&[]).await.unwrap();
    let status = anon
        .get_qrcode_status(None, &qr.qrcode, None)
        .await
        .unwrap();
    assert_eq!(status.status, QrStatus::Wait);
    mock.advance_clock(110_000).await.unwrap();
    let status = anon
        .get_qrcode_status(None, &qr.qrcode, None)
        .await
        .unwrap();
    assert_eq!(status.status, QrStatus::Wait);
    mock.advance_clock(11_000).await.unwrap();
    assert_eq!(mock.logins().await.unwrap()[0].status, "expired");
    let status = anon
        .get_qrcode_status(None, &qr.qrcode, None)
        .await
        .unwrap();
    assert_eq!(status.status, QrStatus::Expired);
    // A fresh QR lives its own 120 s.
    let qr2 = anon.get_bot_qrcode(&[]).await.unwrap();
    let status = anon
        .get_qrcode_status(None, &qr2.qrcode, None)
        .await
        .unwrap();
    assert_eq!(status.status, QrStatus::Wait);
    // An unknown qrcode answers expired.
    let status = anon
        .get_qrcode_status(None, "no-such-qr", None)
        .await
        .unwrap();
    assert_eq!(status.status, QrStatus::Expired);

    // A malformed advance body is a 400.
    let (status, body) = raw(
        &mock,
        reqwest::Method::POST,
        "/_mock/clock/advance",
        Some(r#"{"ms": "soon"}"#),
    )
    .await;
    assert_eq!(status, 400);
    assert!(body["error"].is_string());
}

// ---------------------------------------------------------------- requests, violations, cdn

#[tokio::test]
async fn requests_are_recorded_and_filtered() {
    let mock = mock();
    let (a, ca) = new_bot(&mock).await;
    let (b, cb) = new_bot(&mock).await;
    ca.notify_start().await.unwrap();
    cb.notify_start().await.unwrap();
    let ticket = ca.get_config("u1@im.wechat", None).await.unwrap();
    ca.send_typing("u1@im.wechat", &ticket, TypingStatus::Typing)
        .await
        .unwrap();
    let anon = anon_client(&mock);
    let qr = anon.get_bot_qrcode(&[]).await.unwrap();
    anon.get_qrcode_status(None, &qr.qrcode, None)
        .await
        .unwrap();
    let uploaded = ca
        .upload_media(
            ilink_client::MediaSource::Bytes(bytes::Bytes::from_static(b"a picture, honest")),
            ilink_client::MediaKind::Image,
            "u1@im.wechat",
        )
        .await
        .unwrap();

    let all = mock.requests(None, None, None).await.unwrap();
    let paths: Vec<&str> = all.iter().map(|r| r.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "/ilink/bot/msg/notifystart",
            "/ilink/bot/msg/notifystart",
            "/ilink/bot/getconfig",
            "/ilink/bot/sendtyping",
            "/ilink/bot/get_bot_qrcode",
            "/ilink/bot/get_qrcode_status",
            "/ilink/bot/getuploadurl",
            "/c2c/upload",
        ]
    );
    assert!(all.windows(2).all(|w| w[0].seq < w[1].seq));

    // Path substring filter.
    let starts = mock
        .requests(Some("notifystart"), None, None)
        .await
        .unwrap();
    assert_eq!(starts.len(), 2);
    assert_eq!(starts[0].bot_id.as_deref(), Some(a.bot_id.as_str()));
    assert_eq!(starts[1].bot_id.as_deref(), Some(b.bot_id.as_str()));
    // Bot filter: A's calls, the CDN upload included (named by its getuploadurl).
    let of_a = mock.requests(None, Some(&a.bot_id), None).await.unwrap();
    let paths: Vec<&str> = of_a.iter().map(|r| r.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "/ilink/bot/msg/notifystart",
            "/ilink/bot/getconfig",
            "/ilink/bot/sendtyping",
            "/ilink/bot/getuploadurl",
            "/c2c/upload",
        ]
    );
    let of_b = mock.requests(None, Some(&b.bot_id), None).await.unwrap();
    assert_eq!(of_b.len(), 1);
    // since is exclusive.
    let after = mock.requests(None, None, Some(all[2].seq)).await.unwrap();
    assert_eq!(after.len(), all.len() - 3);
    assert_eq!(after[0].seq, all[3].seq);
    let none = mock
        .requests(None, None, Some(all.last().unwrap().seq))
        .await
        .unwrap();
    assert!(none.is_empty());
    // Filters combine.
    let combined = mock
        .requests(Some("notifystart"), Some(&a.bot_id), Some(all[0].seq))
        .await
        .unwrap();
    assert!(combined.is_empty());

    // One record in detail.
    let start = &all[0];
    assert_eq!(start.method, "POST");
    assert_eq!(start.status, 200);
    assert_eq!(start.reply, json!({"ret": 0}));
    assert!(start.query.is_empty());
    assert!(start.headers.keys().all(|k| *k == k.to_lowercase()));
    assert_eq!(start.headers["authorizationtype"], json!("ilink_bot_token"));
    assert_eq!(
        start.headers["authorization"],
        json!(format!("Bearer {}", a.token))
    );
    assert_eq!(start.headers["ilink-app-id"], json!("bot"));
    assert_eq!(start.headers["content-type"], json!("application/json"));
    assert!(start.headers.contains_key("x-wechat-uin"));
    assert!(start.headers.contains_key("ilink-app-clientversion"));
    assert!(start.body["base_info"]["channel_version"].is_string());
    // The QR fetch: query decoded, no bot.
    let fetch = &all[4];
    assert_eq!(fetch.query.get("bot_type"), Some(&json!("3")));
    assert_eq!(fetch.bot_id, None);
    assert_eq!(fetch.reply["qrcode"], json!(qr.qrcode));
    assert!(fetch.body.get("local_token_list").is_some());
    // The status poll: a GET without a body.
    let poll = &all[5];
    assert_eq!(poll.method, "GET");
    assert_eq!(poll.body, Value::Null);
    assert_eq!(poll.query.get("qrcode"), Some(&json!(qr.qrcode)));
    assert_eq!(poll.reply["status"], json!("wait"));
    // The CDN upload: a binary body.
    let uploads = mock
        .requests(Some("/c2c/upload"), None, None)
        .await
        .unwrap();
    assert_eq!(uploads.len(), 1);
    assert_eq!(uploads[0].body, json!({ "bytes": uploaded.cipher_size }));
    assert_eq!(uploads[0].bot_id.as_deref(), Some(a.bot_id.as_str()));
    assert_eq!(uploads[0].status, 200);
    assert_eq!(uploads[0].reply, Value::Null);
    assert!(uploads[0].query.contains_key("encrypted_query_param"));

    // A stale and then an old token still name their bot.
    mock.make_stale(&a.bot_id).await.unwrap();
    assert!(ca.notify_stop().await.is_err());
    mock.refresh_token(&a.bot_id).await.unwrap();
    assert!(ca.notify_stop().await.is_err());
    let last = all.last().unwrap().seq;
    let rejected = mock.requests(None, None, Some(last)).await.unwrap();
    assert_eq!(rejected.len(), 2);
    for r in &rejected {
        assert_eq!(r.bot_id.as_deref(), Some(a.bot_id.as_str()));
        assert_eq!(r.reply["ret"], json!(-14));
    }

    // The raw shape: exactly the contract's fields.
    let (status, body) = raw(
        &mock,
        reqwest::Method::GET,
        "/_mock/requests?path=%2Fc2c%2Fupload",
        None,
    )
    .await;
    assert_eq!(status, 200);
    let rec = body["requests"][0].as_object().unwrap();
    let mut keys: Vec<&str> = rec.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "at_ms", "body", "bot_id", "headers", "method", "path", "query", "reply", "seq",
            "status"
        ]
    );
}

#[tokio::test]
async fn upload_mode_chooses_full_url_or_param() {
    let mock = mock();
    for (mode, want_full) in [
        (None, true),
        (Some("full_url"), true),
        (Some("param"), false),
    ] {
        let bot = mock
            .create_bot(&NewBot {
                upload_mode: mode.map(str::to_owned),
                ..NewBot::default()
            })
            .await
            .unwrap();
        let c = client(&mock, &bot.token);
        let data = b"some bytes to upload";
        let up = c
            .upload_media(
                ilink_client::MediaSource::Bytes(bytes::Bytes::from_static(data)),
                ilink_client::MediaKind::File,
                "u1@im.wechat",
            )
            .await
            .unwrap();
        let rec = mock
            .requests(Some("getuploadurl"), Some(&bot.bot_id), None)
            .await
            .unwrap();
        let reply = rec[0].reply.as_object().unwrap();
        assert_eq!(reply.contains_key("upload_full_url"), want_full, "{mode:?}");
        assert_eq!(reply.contains_key("upload_param"), !want_full, "{mode:?}");
        if want_full {
            let url = reply["upload_full_url"].as_str().unwrap();
            assert!(url.starts_with(&format!("{}/c2c/upload?", mock.base_url())));
        }
        // Either way the upload lands and the mock can show its plaintext.
        let obj = mock.cdn_object(&up.download_param).await.unwrap();
        assert_eq!(obj.size, data.len() as u64);
    }
}

#[tokio::test]
async fn violations_are_recorded_with_bot_or_qrcode_and_filtered() {
    let mock = mock();
    let (a, ca) = new_bot(&mock).await;
    let (b, _) = new_bot(&mock).await;
    // A well-behaved client leaves none.
    ca.notify_start().await.unwrap();
    anon_client(&mock).get_bot_qrcode(&[]).await.unwrap();
    assert!(mock.violations(None, None).await.unwrap().is_empty());

    // A QR fetch by raw reqwest, with no header at all.
    let resp = reqwest::Client::new()
        .post(format!(
            "{}/ilink/bot/get_bot_qrcode?bot_type=3",
            mock.base_url()
        ))
        .body(r#"{"local_token_list": []}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let qrcode = resp.json::<Value>().await.unwrap()["qrcode"]
        .as_str()
        .unwrap()
        .to_owned();
    let qr_violations = mock.violations(None, None).await.unwrap();
    assert!(!qr_violations.is_empty());
    for v in &qr_violations {
        assert_eq!(v.qrcode.as_deref(), Some(qrcode.as_str()));
        assert_eq!(v.bot_id, None);
        assert_eq!(v.path, "/ilink/bot/get_bot_qrcode");
        assert_eq!(v.rule, "header.missing");
    }
    let details: Vec<&str> = qr_violations.iter().map(|v| v.detail.as_str()).collect();
    assert!(
        details.iter().any(|d| d.contains("iLink-App-Id")),
        "{details:?}"
    );
    assert!(
        details.iter().any(|d| d.contains("Content-Type")),
        "{details:?}"
    );
    // ... and a status poll of it, also bare.
    let (status, _) = raw(
        &mock,
        reqwest::Method::GET,
        &format!("/ilink/bot/get_qrcode_status?qrcode={qrcode}"),
        None,
    )
    .await;
    assert_eq!(status, 200);
    let last_qr = qr_violations.last().unwrap().seq;
    let poll_violations = mock.violations(None, Some(last_qr)).await.unwrap();
    assert!(!poll_violations.is_empty());
    assert!(poll_violations
        .iter()
        .all(|v| v.qrcode.as_deref() == Some(qrcode.as_str())
            && v.path == "/ilink/bot/get_qrcode_status"));

    // A bot call with only its token: header and base_info violations of bot A.
    let resp = reqwest::Client::new()
        .post(format!("{}/ilink/bot/msg/notifystop", mock.base_url()))
        .header("Authorization", format!("Bearer {}", a.token))
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.json::<Value>().await.unwrap(), json!({"ret": 0}));
    assert!(!mock.bot(&a.bot_id).await.unwrap().online, "still answered");
    let of_a = mock.violations(Some(&a.bot_id), None).await.unwrap();
    let rules: Vec<&str> = of_a.iter().map(|v| v.rule.as_str()).collect();
    assert!(rules.contains(&"header.missing"), "{rules:?}");
    assert!(rules.contains(&"base_info.missing"), "{rules:?}");
    assert!(of_a
        .iter()
        .all(|v| v.bot_id.as_deref() == Some(a.bot_id.as_str())
            && v.qrcode.is_none()
            && v.path == "/ilink/bot/msg/notifystop"));
    assert!(mock
        .violations(Some(&b.bot_id), None)
        .await
        .unwrap()
        .is_empty());

    // A body that is not a JSON object: HTTP 400 and body.invalid.
    let resp = reqwest::Client::new()
        .post(format!("{}/ilink/bot/getconfig", mock.base_url()))
        .header("Authorization", format!("Bearer {}", b.token))
        .body("[not json")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 400);
    let of_b = mock.violations(Some(&b.bot_id), None).await.unwrap();
    assert_eq!(of_b.len(), 1);
    assert_eq!(of_b[0].rule, "body.invalid");

    // since is exclusive and sequence numbers increase.
    let all = mock.violations(None, None).await.unwrap();
    assert!(all.windows(2).all(|w| w[0].seq < w[1].seq));
    let tail = mock.violations(None, Some(all[0].seq)).await.unwrap();
    assert_eq!(tail.len(), all.len() - 1);
    assert_eq!(tail[0].seq, all[1].seq);
    // Requests and violations count seq separately.
    let reqs = mock.requests(None, None, None).await.unwrap();
    assert_eq!(all[0].seq, 1);
    assert_eq!(reqs[0].seq, 1);
}

#[tokio::test]
async fn cdn_object_shows_the_plaintext_of_an_inbound_image() {
    use base64::Engine as _;
    let mock = mock();
    let (bot, c) = new_bot(&mock).await;
    let picture: Vec<u8> = (0..=255u8).cycle().take(1000).collect();
    let b64 = base64::engine::general_purpose::STANDARD.encode(&picture);
    let inbound: Inbound = serde_json::from_value(json!({
        "from_user_id": "u1@im.wechat",
        "items": [{"image": {"data_base64": b64, "key": "base64_raw"}}],
    }))
    .unwrap();
    let msg = mock.inbound(&bot.bot_id, &inbound).await.unwrap();
    let param = msg["item_list"][0]["image_item"]["media"]["encrypt_query_param"]
        .as_str()
        .unwrap()
        .to_owned();
    let obj = mock.cdn_object(&param).await.unwrap();
    assert_eq!(obj.size, 1000);
    assert_eq!(obj.plaintext_base64, b64);
    let md5 = {
        use md5::Digest as _;
        hex::encode(md5::Md5::digest(&picture))
    };
    assert_eq!(obj.md5, md5);
    // The client downloads and decrypts the same bytes.
    let got = c.get_updates("", POLL_TIMEOUT).await.unwrap();
    let media = got.msgs[0].item_list[0]
        .image_item
        .as_ref()
        .unwrap()
        .media
        .clone()
        .unwrap();
    let key = ilink_client::crypto::parse_key(None, media.aes_key.as_deref())
        .unwrap()
        .unwrap();
    let downloaded = c
        .download_media_to_vec(&media, ilink_client::MediaKind::Image, Some(&key))
        .await
        .unwrap();
    assert_eq!(downloaded, picture);
    // An unknown param: 404 with an error.
    let err = mock.cdn_object("dl_nope").await.unwrap_err();
    assert_eq!(control_status(&err), 404);
}

// ---------------------------------------------------------------- logins by control calls

/// Fetches a QR code through ilink-client with these local tokens.
async fn fetch_qr(mock: &MockIlink, tokens: &[String]) -> (IlinkClient, String) {
    let anon = anon_client(mock);
    let qr = anon.get_bot_qrcode(tokens).await.unwrap();
    (anon, qr.qrcode)
}

/// One status poll's raw reply, as recorded by the mock.
async fn last_poll_reply(mock: &MockIlink) -> Value {
    let polls = mock
        .requests(Some("get_qrcode_status"), None, None)
        .await
        .unwrap();
    polls.last().unwrap().reply.clone()
}

#[tokio::test]
async fn logins_list_status_polls_tokens_and_bot() {
    let mock = mock();
    let tokens = vec!["tok-1".to_owned(), "tok-2".to_owned()];
    let (anon, q) = fetch_qr(&mock, &tokens).await;
    let logins = mock.logins().await.unwrap();
    assert_eq!(logins.len(), 1);
    assert_eq!(logins[0].qrcode, q);
    assert_eq!(logins[0].status, "wait");
    assert_eq!(logins[0].polls, 0);
    assert_eq!(logins[0].local_token_list, tokens);
    assert_eq!(logins[0].bot_id, None);
    for n in 1..=3 {
        anon.get_qrcode_status(None, &q, None).await.unwrap();
        assert_eq!(mock.logins().await.unwrap()[0].polls, n);
    }
    mock.scan(&q, None).await.unwrap();
    assert_eq!(mock.logins().await.unwrap()[0].status, "scaned");
    let reply = anon.get_qrcode_status(None, &q, None).await.unwrap();
    assert_eq!(reply.status, QrStatus::Scaned);
    let creds = mock.confirm(&q, &Confirm::default()).await.unwrap();
    let login = &mock.logins().await.unwrap()[0];
    assert_eq!(login.status, "confirmed");
    assert_eq!(login.bot_id.as_deref(), Some(creds.bot_id.as_str()));
    assert_eq!(login.polls, 4);
    // A second QR is listed after the first.
    let (_, q2) = fetch_qr(&mock, &[]).await;
    let logins = mock.logins().await.unwrap();
    assert_eq!(
        logins.iter().map(|l| l.qrcode.as_str()).collect::<Vec<_>>(),
        [q.as_str(), q2.as_str()]
    );
    assert!(logins[1].local_token_list.is_empty());
}

#[tokio::test]
async fn scan_then_confirm_creates_a_working_bot() {
    let mock = mock();
    let (anon, q) = fetch_qr(&mock, &[]).await;
    mock.scan(&q, Some("5ca11e5@im.wechat")).await.unwrap();
    let creds = mock.confirm(&q, &Confirm::default()).await.unwrap();
    assert_eq!(creds.owner_user_id, "5ca11e5@im.wechat");
    assert!(creds.bot_id.ends_with("@im.bot"));
    // Every later poll gives the same confirmed reply.
    let first = anon.get_qrcode_status(None, &q, None).await.unwrap();
    let raw_first = last_poll_reply(&mock).await;
    let second = anon.get_qrcode_status(None, &q, None).await.unwrap();
    assert_eq!(first, second);
    assert_eq!(raw_first, last_poll_reply(&mock).await);
    assert_eq!(first.status, QrStatus::Confirmed);
    assert_eq!(first.bot_token.as_deref(), Some(creds.token.as_str()));
    assert_eq!(first.ilink_bot_id.as_deref(), Some(creds.bot_id.as_str()));
    assert_eq!(first.ilink_user_id.as_deref(), Some("5ca11e5@im.wechat"));
    assert_eq!(first.baseurl.as_deref(), Some(mock.base_url()));
    let status = mock.bot(&creds.bot_id).await.unwrap();
    assert_eq!(status.owner_user_id, "5ca11e5@im.wechat");
    client(&mock, &creds.token).notify_start().await.unwrap();
    // Actions on an unknown QR: 404.
    let err = mock.scan("no-such-qr", None).await.unwrap_err();
    assert_eq!(control_status(&err), 404);
    let err = mock
        .confirm("no-such-qr", &Confirm::default())
        .await
        .unwrap_err();
    assert_eq!(control_status(&err), 404);
}

#[tokio::test]
async fn confirm_without_scan_uses_a_fresh_user_and_baseurl_as_asked() {
    let mock = mock();
    let owner_of_existing = mock
        .create_bot(&NewBot::default())
        .await
        .unwrap()
        .owner_user_id;
    let (anon, q) = fetch_qr(&mock, &[]).await;
    let creds = mock
        .confirm(
            &q,
            &Confirm {
                baseurl: Some(String::new()),
                ..Confirm::default()
            },
        )
        .await
        .unwrap();
    assert!(creds.owner_user_id.ends_with("@im.wechat"));
    assert_ne!(creds.owner_user_id, owner_of_existing);
    anon.get_qrcode_status(None, &q, None).await.unwrap();
    let reply = last_poll_reply(&mock).await;
    assert_eq!(reply["status"], json!("confirmed"));
    assert_eq!(
        reply["baseurl"],
        json!(""),
        "an empty baseurl only when asked"
    );
    assert_eq!(reply["ilink_user_id"], json!(creds.owner_user_id));

    // Another base URL, verbatim; and a given new bot_id is used.
    let (anon, q) = fetch_qr(&mock, &[]).await;
    let creds = mock
        .confirm(
            &q,
            &Confirm {
                bot_id: Some("aaaaaaaaaaaa@im.bot".into()),
                baseurl: Some("https://idc2.example".into()),
            },
        )
        .await
        .unwrap();
    assert_eq!(creds.bot_id, "aaaaaaaaaaaa@im.bot");
    let reply = anon.get_qrcode_status(None, &q, None).await.unwrap();
    assert_eq!(reply.baseurl.as_deref(), Some("https://idc2.example"));
    assert_eq!(reply.ilink_bot_id.as_deref(), Some("aaaaaaaaaaaa@im.bot"));
}

#[tokio::test]
async fn confirm_of_an_existing_bot_rotates_its_token() {
    let mock = mock();
    let (bot, old) = new_bot(&mock).await;
    old.notify_start().await.unwrap();
    let (anon, q) = fetch_qr(&mock, &[]).await;
    mock.scan(&q, Some("ab12@im.wechat")).await.unwrap();
    let creds = mock
        .confirm(
            &q,
            &Confirm {
                bot_id: Some(bot.bot_id.clone()),
                ..Confirm::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(creds.bot_id, bot.bot_id);
    assert_ne!(creds.token, bot.token);
    assert_eq!(creds.owner_user_id, "ab12@im.wechat");
    let reply = anon.get_qrcode_status(None, &q, None).await.unwrap();
    assert_eq!(reply.bot_token.as_deref(), Some(creds.token.as_str()));
    assert_eq!(
        old.notify_start().await.unwrap_err().kind(),
        &ErrorKind::StaleToken
    );
    client(&mock, &creds.token).notify_stop().await.unwrap();
    let status = mock.bot(&bot.bot_id).await.unwrap();
    assert_eq!(status.owner_user_id, "ab12@im.wechat");
    assert!(!status.token_stale);
}

#[tokio::test]
async fn confirm_answers_binded_redirect_for_a_bound_bot_of_the_same_user() {
    let mock = mock();
    let bot = mock
        .create_bot(&NewBot {
            owner_user_id: Some("0a0e@im.wechat".into()),
            ..NewBot::default()
        })
        .await
        .unwrap();
    let tokens = vec!["unknown-token".to_owned(), bot.token.clone()];
    let (anon, q) = fetch_qr(&mock, &tokens).await;
    mock.scan(&q, Some("0a0e@im.wechat")).await.unwrap();
    let named = mock.confirm(&q, &Confirm::default()).await.unwrap();
    assert_eq!(named.bot_id, bot.bot_id);
    assert_eq!(named.owner_user_id, "0a0e@im.wechat");
    assert_eq!(named.token, bot.token, "nothing new: the token stays");
    for _ in 0..2 {
        let reply = anon.get_qrcode_status(None, &q, None).await.unwrap();
        assert_eq!(reply.status, QrStatus::BindedRedirect);
        let raw_reply = last_poll_reply(&mock).await;
        let keys: Vec<&String> = raw_reply.as_object().unwrap().keys().collect();
        assert!(
            keys.iter().all(|k| *k == "status" || *k == "ret"),
            "binded_redirect carries no other field: {raw_reply}"
        );
    }
    let login = &mock.logins().await.unwrap()[0];
    assert_eq!(login.status, "binded_redirect");
    assert_eq!(login.bot_id.as_deref(), Some(bot.bot_id.as_str()));
    client(&mock, &bot.token).notify_start().await.unwrap();

    // Another user scanning the same list gets a new bot.
    let (_, q) = fetch_qr(&mock, &tokens).await;
    mock.scan(&q, Some("0b0e@im.wechat")).await.unwrap();
    let other = mock.confirm(&q, &Confirm::default()).await.unwrap();
    assert_ne!(other.bot_id, bot.bot_id);
    assert_eq!(mock.logins().await.unwrap()[1].status, "confirmed");

    // A stale token does not count.
    mock.make_stale(&bot.bot_id).await.unwrap();
    let (_, q) = fetch_qr(&mock, &tokens).await;
    mock.scan(&q, Some("0a0e@im.wechat")).await.unwrap();
    let fresh = mock.confirm(&q, &Confirm::default()).await.unwrap();
    assert_ne!(fresh.bot_id, bot.bot_id);
    assert_eq!(mock.logins().await.unwrap()[2].status, "confirmed");
}

#[tokio::test]
async fn expire_makes_polls_answer_expired() {
    let mock = mock();
    let (anon, q) = fetch_qr(&mock, &[]).await;
    mock.scan(&q, None).await.unwrap();
    mock.expire(&q).await.unwrap();
    assert_eq!(mock.logins().await.unwrap()[0].status, "expired");
    for _ in 0..2 {
        let reply = anon.get_qrcode_status(None, &q, None).await.unwrap();
        assert_eq!(reply.status, QrStatus::Expired);
    }
    let err = mock.expire("no-such-qr").await.unwrap_err();
    assert_eq!(control_status(&err), 404);
}

#[tokio::test]
async fn verify_code_is_asked_until_right_then_scaned() {
    let mock = mock();
    let (anon, q) = fetch_qr(&mock, &[]).await;
    mock.require_verify_code(&q, "4711").await.unwrap();
    assert_eq!(mock.logins().await.unwrap()[0].status, "need_verifycode");
    let poll = |code: Option<&'static str>| {
        let anon = anon.clone();
        let q = q.clone();
        async move { anon.get_qrcode_status(None, &q, code).await.unwrap().status }
    };
    assert_eq!(poll(None).await, QrStatus::NeedVerifycode);
    assert_eq!(poll(Some("0000")).await, QrStatus::NeedVerifycode);
    assert_eq!(poll(Some("1111")).await, QrStatus::NeedVerifycode);
    assert_eq!(poll(Some("4711")).await, QrStatus::Scaned);
    assert_eq!(poll(None).await, QrStatus::Scaned);
    assert_eq!(mock.logins().await.unwrap()[0].status, "scaned");
    let creds = mock.confirm(&q, &Confirm::default()).await.unwrap();
    assert_eq!(poll(None).await, QrStatus::Confirmed);
    client(&mock, &creds.token).notify_start().await.unwrap();
}

#[tokio::test]
async fn third_wrong_verify_code_blocks_the_qr_for_good() {
    let mock = mock();
    let (anon, q) = fetch_qr(&mock, &[]).await;
    mock.require_verify_code(&q, "4711").await.unwrap();
    let poll = |code: Option<&'static str>| {
        let anon = anon.clone();
        let q = q.clone();
        async move { anon.get_qrcode_status(None, &q, code).await.unwrap().status }
    };
    assert_eq!(poll(Some("1")).await, QrStatus::NeedVerifycode);
    assert_eq!(poll(Some("2")).await, QrStatus::NeedVerifycode);
    assert_eq!(poll(Some("3")).await, QrStatus::VerifyCodeBlocked);
    assert_eq!(
        mock.logins().await.unwrap()[0].status,
        "verify_code_blocked"
    );
    assert_eq!(poll(Some("4711")).await, QrStatus::VerifyCodeBlocked);
    assert_eq!(poll(None).await, QrStatus::VerifyCodeBlocked);
    // Not even the clock moves it to expired.
    mock.advance_clock(200_000).await.unwrap();
    assert_eq!(poll(None).await, QrStatus::VerifyCodeBlocked);
    // Nor a new code.
    let err = mock.require_verify_code(&q, "4711").await.unwrap_err();
    assert_eq!(control_status(&err), 409);
    assert_eq!(poll(Some("4711")).await, QrStatus::VerifyCodeBlocked);

    // A verify-code call needs a code.
    let (_, q2) = fetch_qr(&mock, &[]).await;
    let (status, body) = raw(
        &mock,
        reqwest::Method::POST,
        &format!("/_mock/logins/{q2}/verify-code"),
        Some("{}"),
    )
    .await;
    assert_eq!(status, 400);
    assert!(body["error"].is_string());
}

#[tokio::test]
async fn redirect_answers_scaned_but_redirect_once_and_any_host_is_served() {
    let mock = mock();
    let (anon, q) = fetch_qr(&mock, &[]).await;
    mock.redirect(&q, "idc2.example:8443").await.unwrap();
    assert_eq!(login_of(&mock, &q).await.status, "scaned_but_redirect");
    let reply = anon.get_qrcode_status(None, &q, None).await.unwrap();
    assert_eq!(reply.status, QrStatus::ScanedButRedirect);
    assert_eq!(reply.redirect_host.as_deref(), Some("idc2.example:8443"));
    // Later polls, whatever Host they name, answer scaned.
    let resp = reqwest::Client::new()
        .get(format!(
            "{}/ilink/bot/get_qrcode_status?qrcode={q}",
            mock.base_url()
        ))
        .header("Host", "idc2.example:8443")
        .header("iLink-App-Id", "bot")
        .header("iLink-App-ClientVersion", "132105")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    assert_eq!(
        resp.json::<Value>().await.unwrap()["status"],
        json!("scaned")
    );
    let reply = anon.get_qrcode_status(None, &q, None).await.unwrap();
    assert_eq!(reply.status, QrStatus::Scaned);
    let recorded = mock
        .requests(Some("get_qrcode_status"), None, None)
        .await
        .unwrap();
    assert_eq!(recorded[1].headers["host"], json!("idc2.example:8443"));
    mock.confirm(&q, &Confirm::default()).await.unwrap();
    let reply = anon.get_qrcode_status(None, &q, None).await.unwrap();
    assert_eq!(reply.status, QrStatus::Confirmed);
    assert!(mock.violations(None, None).await.unwrap().is_empty());
}

// ---------------------------------------------------------------- logins through ilink-client

/// A prompt that records what it was shown and answers verify codes from a list.
#[derive(Debug, Default)]
struct TestPrompt {
    shown: Vec<(String, u32)>,
    statuses: Vec<String>,
    codes: VecDeque<String>,
    asked: Vec<u32>,
}

impl ilink_client::LoginPrompt for TestPrompt {
    fn show_qr(&mut self, qr: &QrCode, number: u32) {
        self.shown.push((qr.qrcode.clone(), number));
    }

    fn on_status(&mut self, status: &QrStatus) {
        self.statuses.push(status.as_str().to_owned());
    }

    fn verify_code(&mut self, attempt: u32) -> impl Future<Output = Option<String>> + Send {
        self.asked.push(attempt);
        let code = self.codes.pop_front();
        async move { code }
    }
}

fn fast_options(local_tokens: Vec<String>) -> ilink_client::LoginOptions {
    let mut options = ilink_client::LoginOptions::with_local_tokens(local_tokens);
    options.poll_interval = Duration::from_millis(5);
    options.overall_timeout = Duration::from_secs(30);
    options
}

type FlowResult = (
    ilink_client::LoginFlow,
    TestPrompt,
    ilink_client::LoginOutcome,
);

/// Runs a login flow against the mock as a task.
fn spawn_flow(
    mock: &MockIlink,
    options: ilink_client::LoginOptions,
    prompt: TestPrompt,
) -> tokio::task::JoinHandle<FlowResult> {
    let anon = anon_client(mock);
    tokio::spawn(async move {
        let mut prompt = prompt;
        let mut flow = ilink_client::LoginFlow::new(anon, options);
        let outcome = flow.wait(&mut prompt).await.unwrap();
        (flow, prompt, outcome)
    })
}

/// Waits until the mock has issued `n` QR codes and returns the `n`th (from 1).
async fn nth_qr(mock: &MockIlink, n: usize) -> String {
    wait_for("a QR code", || async {
        mock.logins()
            .await
            .unwrap()
            .get(n - 1)
            .map(|l| l.qrcode.clone())
    })
    .await
}

/// The QR's listing.
async fn login_of(mock: &MockIlink, qrcode: &str) -> mock_ilink::api::LoginInfo {
    mock.logins()
        .await
        .unwrap()
        .into_iter()
        .find(|l| l.qrcode == qrcode)
        .unwrap()
}

/// Waits until the QR was polled `more` times after now: those polls arrived
/// after every control call made before this one.
async fn wait_more_polls(mock: &MockIlink, qrcode: &str, more: u64) {
    let target = login_of(mock, qrcode).await.polls + more;
    wait_for("status polls", || async {
        (login_of(mock, qrcode).await.polls >= target).then_some(())
    })
    .await;
}

fn confirmed(outcome: ilink_client::LoginOutcome) -> ilink_client::LoginSuccess {
    match outcome {
        ilink_client::LoginOutcome::Confirmed(success) => success,
        other => panic!("expected a confirmed login, got {other:?}"),
    }
}

#[tokio::test]
async fn auto_login_completes_with_no_control_call() {
    let mock = MockIlink::builder()
        .long_poll_ms(300)
        .auto_login(true)
        .start()
        .unwrap();
    let (flow, prompt, outcome) =
        spawn_flow(&mock, fast_options(Vec::new()), TestPrompt::default())
            .await
            .unwrap();
    let success = confirmed(outcome);
    assert_eq!(flow.codes_shown(), 1);
    assert_eq!(prompt.statuses, ["scaned", "confirmed"]);
    assert!(success.account_id.ends_with("@im.bot"));
    assert_eq!(success.base_url.as_deref(), Some(mock.base_url()));
    let user = success.user_id.clone().unwrap();
    let status = mock.bot(&success.account_id).await.unwrap();
    assert_eq!(status.owner_user_id, user);
    let polls = mock
        .requests(Some("get_qrcode_status"), None, None)
        .await
        .unwrap();
    assert_eq!(
        polls.len(),
        2,
        "scanned at the 1st poll, confirmed at the 2nd"
    );

    // The credentials work.
    let c = anon_client(&mock)
        .with_session(&success.bot_token, success.base_url.as_deref())
        .unwrap();
    c.notify_start().await.unwrap();
    mock.inbound(&success.account_id, &Inbound::text(&user, "hi bot"))
        .await
        .unwrap();
    let got = c.get_updates("", POLL_TIMEOUT).await.unwrap();
    assert_eq!(got.msgs.len(), 1);
    assert_eq!(text_of(&got.msgs[0]), "hi bot");
    // The owner may be answered.
    let target = ReplyTarget::new(user).context_token(got.msgs[0].context_token.clone().unwrap());
    for msg in target.text_messages("hello owner", SplitLimits::default()) {
        c.send_message(msg).await.unwrap();
    }
    assert_eq!(
        mock.outbound(&success.account_id)
            .await
            .unwrap()
            .messages
            .len(),
        1
    );
    assert!(mock.violations(None, None).await.unwrap().is_empty());
}

#[tokio::test]
async fn login_flow_completes_on_scan_and_confirm() {
    let mock = mock();
    let flow = spawn_flow(&mock, fast_options(Vec::new()), TestPrompt::default());
    let q = nth_qr(&mock, 1).await;
    wait_more_polls(&mock, &q, 1).await;
    mock.scan(&q, Some("5ca2@im.wechat")).await.unwrap();
    wait_more_polls(&mock, &q, 1).await;
    let creds = mock.confirm(&q, &Confirm::default()).await.unwrap();
    let (flow, prompt, outcome) = flow.await.unwrap();
    let success = confirmed(outcome);
    assert_eq!(success.bot_token, creds.token);
    assert_eq!(success.account_id, creds.bot_id);
    assert_eq!(success.user_id.as_deref(), Some("5ca2@im.wechat"));
    assert_eq!(flow.codes_shown(), 1);
    assert!(prompt.statuses.contains(&"scaned".to_owned()));
    client(&mock, &success.bot_token)
        .notify_start()
        .await
        .unwrap();
}

#[tokio::test]
async fn login_flow_gives_up_after_three_expired_qr_codes() {
    let mock = mock();
    let flow = spawn_flow(&mock, fast_options(Vec::new()), TestPrompt::default());
    for n in 1..=3 {
        let q = nth_qr(&mock, n).await;
        mock.expire(&q).await.unwrap();
    }
    let (flow, prompt, outcome) = flow.await.unwrap();
    assert_eq!(
        outcome,
        ilink_client::LoginOutcome::QrLimitReached { codes: 3 }
    );
    assert_eq!(flow.codes_shown(), 3);
    // The 1st code is shown by wait() too (no start()), then the 2 refreshes.
    assert_eq!(
        prompt.shown.iter().map(|(_, n)| *n).collect::<Vec<_>>(),
        [1, 2, 3]
    );
    let logins = mock.logins().await.unwrap();
    assert_eq!(logins.len(), 3);
    assert!(logins.iter().all(|l| l.status == "expired" && l.polls >= 1));
}

#[tokio::test]
async fn login_flow_expired_by_the_clock_fetches_a_new_qr() {
    let mock = mock();
    let flow = spawn_flow(&mock, fast_options(Vec::new()), TestPrompt::default());
    let q1 = nth_qr(&mock, 1).await;
    mock.advance_clock(121_000).await.unwrap();
    let q2 = nth_qr(&mock, 2).await;
    assert_ne!(q1, q2);
    mock.confirm(&q2, &Confirm::default()).await.unwrap();
    let (flow, _, outcome) = flow.await.unwrap();
    confirmed(outcome);
    assert_eq!(flow.codes_shown(), 2);
}

#[tokio::test]
async fn login_flow_sends_the_verify_code_the_prompt_gives() {
    let mock = mock();
    let prompt = TestPrompt {
        codes: ["0000", " 4711 "].map(str::to_owned).into(),
        ..TestPrompt::default()
    };
    let flow = spawn_flow(&mock, fast_options(Vec::new()), prompt);
    let q = nth_qr(&mock, 1).await;
    mock.require_verify_code(&q, "4711").await.unwrap();
    // need_verifycode, the wrong code, the right one (scaned), one more.
    wait_more_polls(&mock, &q, 4).await;
    assert_eq!(login_of(&mock, &q).await.status, "scaned");
    mock.confirm(&q, &Confirm::default()).await.unwrap();
    let (_, prompt, outcome) = flow.await.unwrap();
    confirmed(outcome);
    assert_eq!(
        prompt.asked,
        [1, 2],
        "asked twice: the first code was wrong"
    );
    let codes: Vec<Value> = mock
        .requests(Some("get_qrcode_status"), None, None)
        .await
        .unwrap()
        .into_iter()
        .filter_map(|r| r.query.get("verify_code").cloned())
        .collect();
    assert_eq!(codes, [json!("0000"), json!("4711")]);
}

#[tokio::test]
async fn login_flow_fetches_a_new_qr_after_verify_code_blocked() {
    let mock = mock();
    let prompt = TestPrompt {
        codes: ["1", "2", "3"].map(str::to_owned).into(),
        ..TestPrompt::default()
    };
    let flow = spawn_flow(&mock, fast_options(Vec::new()), prompt);
    let q1 = nth_qr(&mock, 1).await;
    mock.require_verify_code(&q1, "4711").await.unwrap();
    let q2 = nth_qr(&mock, 2).await;
    assert_eq!(
        mock.logins().await.unwrap()[0].status,
        "verify_code_blocked"
    );
    mock.confirm(&q2, &Confirm::default()).await.unwrap();
    let (flow, prompt, outcome) = flow.await.unwrap();
    confirmed(outcome);
    assert_eq!(flow.codes_shown(), 2);
    assert_eq!(prompt.asked, [1, 2, 3]);
    assert!(prompt.statuses.contains(&"verify_code_blocked".to_owned()));
}

#[tokio::test]
async fn login_flow_follows_an_idc_redirect_to_the_same_mock() {
    let mock = mock();
    let host = mock.base_url().trim_start_matches("http://").to_owned();
    let flow = spawn_flow(&mock, fast_options(Vec::new()), TestPrompt::default());
    let q = nth_qr(&mock, 1).await;
    mock.redirect(&q, &host).await.unwrap();
    // The redirect poll, then one on the redirected base.
    wait_more_polls(&mock, &q, 2).await;
    assert_eq!(login_of(&mock, &q).await.status, "scaned");
    mock.confirm(&q, &Confirm::default()).await.unwrap();
    let (flow, prompt, outcome) = flow.await.unwrap();
    confirmed(outcome);
    assert_eq!(flow.poll_base(), Some(format!("http://{host}").as_str()));
    assert!(prompt.statuses.contains(&"scaned_but_redirect".to_owned()));
    let replies: Vec<Value> = mock
        .requests(Some("get_qrcode_status"), None, None)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.reply["status"].clone())
        .collect();
    assert_eq!(
        replies
            .iter()
            .filter(|s| **s == json!("scaned_but_redirect"))
            .count(),
        1
    );
    assert_eq!(replies.last(), Some(&json!("confirmed")));
}

#[tokio::test]
async fn login_flow_ends_already_bound_on_binded_redirect() {
    let mock = mock();
    let bot = mock
        .create_bot(&NewBot {
            owner_user_id: Some("0a11@im.wechat".into()),
            ..NewBot::default()
        })
        .await
        .unwrap();
    let flow = spawn_flow(
        &mock,
        fast_options(vec![bot.token.clone()]),
        TestPrompt::default(),
    );
    let q = nth_qr(&mock, 1).await;
    assert_eq!(
        mock.logins().await.unwrap()[0].local_token_list,
        std::slice::from_ref(&bot.token)
    );
    mock.scan(&q, Some("0a11@im.wechat")).await.unwrap();
    let named = mock.confirm(&q, &Confirm::default()).await.unwrap();
    assert_eq!(named.bot_id, bot.bot_id);
    let (_, _, outcome) = flow.await.unwrap();
    assert_eq!(outcome, ilink_client::LoginOutcome::AlreadyBound);
    // The bot's token still works.
    client(&mock, &bot.token).notify_start().await.unwrap();
}

#[tokio::test]
async fn auto_login_listing_shows_what_the_next_poll_answers() {
    let mock = MockIlink::builder().auto_login(true).start().unwrap();
    let (anon, q) = fetch_qr(&mock, &[]).await;
    assert_eq!(login_of(&mock, &q).await.status, "scaned");
    let reply = anon.get_qrcode_status(None, &q, None).await.unwrap();
    assert_eq!(reply.status, QrStatus::Scaned);
    assert_eq!(login_of(&mock, &q).await.status, "confirmed");
    let reply = anon.get_qrcode_status(None, &q, None).await.unwrap();
    assert_eq!(reply.status, QrStatus::Confirmed);
    let login = login_of(&mock, &q).await;
    assert_eq!(login.status, "confirmed");
    assert_eq!(login.bot_id, reply.ilink_bot_id);

    // The owner scanning a QR that lists its bot's token: binded_redirect.
    let bot = mock
        .create_bot(&NewBot {
            owner_user_id: Some("0a12@im.wechat".into()),
            ..NewBot::default()
        })
        .await
        .unwrap();
    let (anon, q) = fetch_qr(&mock, std::slice::from_ref(&bot.token)).await;
    mock.scan(&q, Some("0a12@im.wechat")).await.unwrap();
    assert_eq!(login_of(&mock, &q).await.status, "binded_redirect");
    let reply = anon.get_qrcode_status(None, &q, None).await.unwrap();
    assert_eq!(reply.status, QrStatus::BindedRedirect);
    assert_eq!(
        login_of(&mock, &q).await.bot_id.as_deref(),
        Some(bot.bot_id.as_str())
    );
}

// ---------------------------------------------------------------- faults

fn fault(endpoint: &str, kind: &str) -> FaultSpec {
    FaultSpec {
        endpoint: endpoint.into(),
        kind: kind.into(),
        ..FaultSpec::default()
    }
}

#[tokio::test]
async fn faults_are_added_listed_and_deleted() {
    let mock = mock();
    let (bot, c) = new_bot(&mock).await;
    let first = mock
        .add_fault(&FaultSpec {
            status: Some(503),
            times: Some(2),
            ..fault("getconfig", "status")
        })
        .await
        .unwrap();
    let second = mock
        .add_fault(&FaultSpec {
            bot_id: Some(bot.bot_id.clone()),
            delay_ms: Some(10),
            ..fault("notifystart", "delay")
        })
        .await
        .unwrap();
    let third = mock.add_fault(&fault("*", "reset")).await.unwrap();
    assert!(first < second && second < third);
    let listed = mock.faults().await.unwrap();
    assert_eq!(listed.len(), 3);
    assert_eq!(listed[0].id, first);
    assert_eq!(listed[0].endpoint, "getconfig");
    assert_eq!(listed[0].kind, "status");
    assert_eq!(listed[0].bot_id, None);
    assert_eq!(listed[0].remaining, 2);
    assert_eq!(listed[1].bot_id.as_deref(), Some(bot.bot_id.as_str()));
    assert_eq!(listed[1].kind, "delay");
    assert_eq!(listed[1].remaining, 1);
    assert_eq!(listed[2].endpoint, "*");

    // Delete one: the others stay.
    mock.delete_faults(Some(third)).await.unwrap();
    let ids: Vec<u64> = mock.faults().await.unwrap().iter().map(|f| f.id).collect();
    assert_eq!(ids, [first, second]);
    let err = mock.delete_faults(Some(third)).await.unwrap_err();
    assert_eq!(control_status(&err), 404);
    let (status, body) = raw(&mock, reqwest::Method::DELETE, "/_mock/faults/9999", None).await;
    assert_eq!(status, 404);
    assert!(body["error"].as_str().is_some_and(|e| !e.is_empty()));

    // Using a fault counts it down.
    assert!(c.get_config("u@im.wechat", None).await.is_err());
    assert_eq!(mock.faults().await.unwrap()[0].remaining, 1);

    // Delete all.
    mock.delete_faults(None).await.unwrap();
    assert!(mock.faults().await.unwrap().is_empty());
    c.get_config("u@im.wechat", None).await.unwrap();

    // Bad specs: 400 with an error.
    for body in [
        r#"{"endpoint": "getmessages", "kind": "status", "status": 500}"#,
        r#"{"endpoint": "getupdates", "kind": "explode"}"#,
        r#"{"endpoint": "getupdates", "kind": "status"}"#,
        r#"{"endpoint": "getupdates", "kind": "api_error"}"#,
        r#"{"endpoint": "getupdates", "kind": "delay"}"#,
        r#"{"endpoint": "getupdates", "kind": "redeliver"}"#,
        r#"{"kind": "reset"}"#,
        r#"{"endpoint": "getupdates", "kind": "reset""#,
    ] {
        let (status, reply) = raw(&mock, reqwest::Method::POST, "/_mock/faults", Some(body)).await;
        assert_eq!(status, 400, "{body}");
        assert!(
            reply["error"].as_str().is_some_and(|e| !e.is_empty()),
            "{body}"
        );
    }
    assert!(mock.faults().await.unwrap().is_empty());
}

#[tokio::test]
async fn status_fault_is_an_http_status_error() {
    let mock = mock();
    let (bot, c) = new_bot(&mock).await;
    mock.add_fault(&FaultSpec {
        status: Some(503),
        ..fault("notifystart", "status")
    })
    .await
    .unwrap();
    let err = c.notify_start().await.unwrap_err();
    assert!(
        matches!(err.kind(), ErrorKind::HttpStatus { status: 503, .. }),
        "{:?}",
        err.kind()
    );
    assert!(
        !mock.bot(&bot.bot_id).await.unwrap().online,
        "no state change"
    );
    let rec = mock
        .requests(Some("notifystart"), None, None)
        .await
        .unwrap();
    assert_eq!(rec[0].status, 503);
    // One use only (times defaults to 1).
    c.notify_start().await.unwrap();
    assert!(mock.bot(&bot.bot_id).await.unwrap().online);
    // Faults are not violations.
    assert!(mock.violations(None, None).await.unwrap().is_empty());
}

#[tokio::test]
async fn api_error_fault_is_an_api_error() {
    let mock = mock();
    let (_, c) = new_bot(&mock).await;
    mock.add_fault(&FaultSpec {
        ret: Some(-1),
        ..fault("getconfig", "api_error")
    })
    .await
    .unwrap();
    let err = c.get_config("u@im.wechat", None).await.unwrap_err();
    match err.kind() {
        ErrorKind::Api { ret, .. } => assert_eq!(*ret, Some(-1)),
        other => panic!("expected an API error, got {other:?}"),
    }
    c.get_config("u@im.wechat", None).await.unwrap();
}

#[tokio::test]
async fn malformed_fault_is_a_decode_error() {
    let mock = mock();
    let (bot, c) = new_bot(&mock).await;
    c.notify_start().await.unwrap();
    mock.add_fault(&fault("notifystop", "malformed"))
        .await
        .unwrap();
    let err = c.notify_stop().await.unwrap_err();
    match err.kind() {
        ErrorKind::Decode(what) => assert!(what.starts_with("malformed JSON"), "{what}"),
        other => panic!("expected a decode error, got {other:?}"),
    }
    assert!(
        mock.bot(&bot.bot_id).await.unwrap().online,
        "no state change"
    );
    let rec = mock.requests(Some("notifystop"), None, None).await.unwrap();
    assert_eq!(rec[0].status, 200);
}

#[tokio::test]
async fn truncate_fault_is_a_decode_error_not_a_transport_one() {
    let mock = mock();
    let (bot, c) = new_bot(&mock).await;
    mock.add_fault(&fault("getupdates", "truncate"))
        .await
        .unwrap();
    let err = c.get_updates("", POLL_TIMEOUT).await.unwrap_err();
    match err.kind() {
        ErrorKind::Decode(what) => assert!(what.starts_with("truncated JSON"), "{what}"),
        other => panic!("expected a decode error, got {other:?}"),
    }
    // On the wire: a 200 whose Content-Length matches the half-JSON sent.
    mock.add_fault(&fault("getupdates", "truncate"))
        .await
        .unwrap();
    let resp = reqwest::Client::new()
        .post(format!("{}/ilink/bot/getupdates", mock.base_url()))
        .header("Authorization", format!("Bearer {}", bot.token))
        .header("Content-Type", "application/json")
        .body(r#"{"get_updates_buf": ""}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let length = resp.content_length().unwrap();
    let body = resp.bytes().await.unwrap();
    assert_eq!(length, body.len() as u64);
    assert!(!body.is_empty());
    let parsed: Result<Value, _> = serde_json::from_slice(&body);
    assert!(parsed.unwrap_err().is_eof());
}

#[tokio::test]
async fn reset_fault_is_a_transport_error() {
    let mock = mock();
    let (_, c) = new_bot(&mock).await;
    let ticket = c.get_config("u1@im.wechat", None).await.unwrap();
    mock.add_fault(&fault("sendtyping", "reset")).await.unwrap();
    let err = c
        .send_typing("u1@im.wechat", &ticket, TypingStatus::Typing)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), &ErrorKind::Transport);
    let rec = mock.requests(Some("sendtyping"), None, None).await.unwrap();
    assert_eq!(
        rec[0].status, 0,
        "a dropped connection is recorded with status 0"
    );
    assert_eq!(rec[0].reply, Value::Null);
    c.send_typing("u1@im.wechat", &ticket, TypingStatus::Typing)
        .await
        .unwrap();
}

#[tokio::test]
async fn delay_fault_delays_only_its_bot_then_serves() {
    let mock = mock();
    let (a, ca) = new_bot(&mock).await;
    let (b, cb) = new_bot(&mock).await;
    mock.add_fault(&FaultSpec {
        bot_id: Some(a.bot_id.clone()),
        delay_ms: Some(300),
        ..fault("notifystart", "delay")
    })
    .await
    .unwrap();
    // Another bot's call does not match the filter.
    cb.notify_start().await.unwrap();
    assert!(mock.bot(&b.bot_id).await.unwrap().online);
    let left = mock.faults().await.unwrap();
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].remaining, 1);
    // The filtered bot's call is held, then served normally.
    let started = std::time::Instant::now();
    ca.notify_start().await.unwrap();
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert!(mock.bot(&a.bot_id).await.unwrap().online);
    assert!(mock.faults().await.unwrap().is_empty());
    let rec = mock
        .requests(Some("notifystart"), Some(&a.bot_id), None)
        .await
        .unwrap();
    assert_eq!(rec[0].reply, json!({"ret": 0}));
}

#[tokio::test]
async fn times_counts_failures_then_calls_succeed() {
    let mock = mock();
    let (_, c) = new_bot(&mock).await;
    mock.add_fault(&FaultSpec {
        status: Some(500),
        times: Some(3),
        ..fault("getconfig", "status")
    })
    .await
    .unwrap();
    for left in [2, 1] {
        assert!(matches!(
            c.get_config("u@im.wechat", None).await.unwrap_err().kind(),
            ErrorKind::HttpStatus { status: 500, .. }
        ));
        assert_eq!(mock.faults().await.unwrap()[0].remaining, left);
    }
    assert!(c.get_config("u@im.wechat", None).await.is_err());
    assert!(mock.faults().await.unwrap().is_empty());
    c.get_config("u@im.wechat", None).await.unwrap();
}

#[tokio::test]
async fn star_fault_hits_every_endpoint_but_never_the_control_api() {
    let mock = mock();
    let id = mock
        .add_fault(&FaultSpec {
            ret: Some(-5),
            times: Some(3),
            ..fault("*", "api_error")
        })
        .await
        .unwrap();
    // Control calls pass through and use none of it.
    let (_, c) = new_bot(&mock).await;
    mock.health().await.unwrap();
    assert_eq!(mock.faults().await.unwrap()[0].remaining, 3);
    let is_injected =
        |e: &ilink_client::Error| matches!(e.kind(), ErrorKind::Api { ret: Some(-5), .. });
    assert!(is_injected(
        &anon_client(&mock).get_bot_qrcode(&[]).await.unwrap_err()
    ));
    assert!(is_injected(&c.notify_start().await.unwrap_err()));
    // The CDN too: an unknown download param answers the fault, not a 404.
    let (status, body) = raw(
        &mock,
        reqwest::Method::GET,
        "/c2c/download?encrypted_query_param=nothing",
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(body["ret"], json!(-5));
    assert!(mock.faults().await.unwrap().iter().all(|f| f.id != id));
    c.notify_start().await.unwrap();
    let (status, _) = raw(
        &mock,
        reqwest::Method::GET,
        "/c2c/download?encrypted_query_param=nothing",
        None,
    )
    .await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn faults_on_getupdates_hand_out_nothing() {
    let mock = mock();
    let (bot, c) = new_bot(&mock).await;
    mock.inbound(&bot.bot_id, &Inbound::text("u1@im.wechat", "keep me"))
        .await
        .unwrap();
    type Expected = fn(&ErrorKind) -> bool;
    let kinds: [(FaultSpec, Expected); 5] = [
        (
            FaultSpec {
                status: Some(503),
                ..fault("getupdates", "status")
            },
            |k| matches!(k, ErrorKind::HttpStatus { status: 503, .. }),
        ),
        (
            FaultSpec {
                ret: Some(-1),
                ..fault("getupdates", "api_error")
            },
            |k| matches!(k, ErrorKind::Api { ret: Some(-1), .. }),
        ),
        (fault("getupdates", "malformed"), |k| {
            matches!(k, ErrorKind::Decode(_))
        }),
        (fault("getupdates", "truncate"), |k| {
            matches!(k, ErrorKind::Decode(_))
        }),
        (fault("getupdates", "reset"), |k| {
            matches!(k, ErrorKind::Transport)
        }),
    ];
    for (spec, expected) in kinds {
        mock.add_fault(&spec).await.unwrap();
        let err = c.get_updates("", POLL_TIMEOUT).await.unwrap_err();
        assert!(expected(err.kind()), "{}: {:?}", spec.kind, err.kind());
        let status = mock.bot(&bot.bot_id).await.unwrap();
        assert_eq!((status.queued, status.delivered), (1, 0), "{}", spec.kind);
    }
    let got = c.get_updates("", POLL_TIMEOUT).await.unwrap();
    assert_eq!(got.msgs.len(), 1);
    assert_eq!(text_of(&got.msgs[0]), "keep me");
    let status = mock.bot(&bot.bot_id).await.unwrap();
    assert_eq!((status.queued, status.delivered), (0, 1));
}

#[tokio::test]
async fn a_faulted_sendmessage_stores_nothing_and_uses_no_budget() {
    let mock = mock();
    let (bot, c) = new_bot(&mock).await;
    mock.inbound(&bot.bot_id, &Inbound::text("u1@im.wechat", "hello"))
        .await
        .unwrap();
    let got = c.get_updates("", POLL_TIMEOUT).await.unwrap();
    let target =
        ReplyTarget::new("u1@im.wechat").context_token(got.msgs[0].context_token.clone().unwrap());
    let reply = |text: &str| {
        target
            .text_messages(text, SplitLimits::default())
            .pop()
            .unwrap()
    };
    let first = reply("first");
    for kind in ["status", "api_error", "malformed", "truncate", "reset"] {
        mock.add_fault(&FaultSpec {
            status: Some(503),
            ret: Some(-1),
            ..fault("sendmessage", kind)
        })
        .await
        .unwrap();
        assert!(c.send_message(first.clone()).await.is_err(), "{kind}");
        assert!(
            mock.outbound(&bot.bot_id)
                .await
                .unwrap()
                .messages
                .is_empty(),
            "{kind} stored a message"
        );
    }
    // The same client_id now goes through: the faulted calls did not record it.
    c.send_message(first).await.unwrap();
    // The allowance of 10 is whole: 9 more pass, the 11th is refused.
    for n in 2..=10 {
        c.send_message(reply(&format!("reply {n}"))).await.unwrap();
    }
    let err = c.send_message(reply("one too many")).await.unwrap_err();
    assert!(
        matches!(err.kind(), ErrorKind::Api { ret: Some(-2), .. }),
        "{:?}",
        err.kind()
    );
    let sent = mock.outbound(&bot.bot_id).await.unwrap().messages;
    assert_eq!(sent.len(), 10);
    assert_eq!(
        text_of(&serde_json::from_value(sent[0].msg.clone()).unwrap()),
        "first"
    );
}

// ---------------------------------------------------------------- errors and path encoding

#[tokio::test]
async fn unknown_bots_qr_codes_and_faults_answer_404_with_an_error() {
    let mock = mock();
    let bot = "000000000000@im.bot";
    let calls: &[(reqwest::Method, String, Option<&str>)] = &[
        (reqwest::Method::GET, format!("/_mock/bots/{bot}"), None),
        (
            reqwest::Method::POST,
            format!("/_mock/bots/{bot}/stale"),
            Some(""),
        ),
        (
            reqwest::Method::POST,
            format!("/_mock/bots/{bot}/refresh"),
            Some(""),
        ),
        (
            reqwest::Method::POST,
            format!("/_mock/bots/{bot}/inbound"),
            Some(r#"{"from_user_id": "u@im.wechat", "items": [{"text": "hi"}]}"#),
        ),
        (
            reqwest::Method::GET,
            format!("/_mock/bots/{bot}/outbound"),
            None,
        ),
        (
            reqwest::Method::GET,
            format!("/_mock/bots/{bot}/typing"),
            None,
        ),
        (
            reqwest::Method::POST,
            "/_mock/logins/nope/scan".into(),
            Some("{}"),
        ),
        (
            reqwest::Method::POST,
            "/_mock/logins/nope/confirm".into(),
            Some("{}"),
        ),
        (
            reqwest::Method::POST,
            "/_mock/logins/nope/expire".into(),
            None,
        ),
        (
            reqwest::Method::POST,
            "/_mock/logins/nope/verify-code".into(),
            Some(r#"{"code": "1"}"#),
        ),
        (
            reqwest::Method::POST,
            "/_mock/logins/nope/redirect".into(),
            Some(r#"{"redirect_host": "h"}"#),
        ),
        (reqwest::Method::DELETE, "/_mock/faults/12345".into(), None),
        (reqwest::Method::GET, "/_mock/cdn/dl_nope".into(), None),
    ];
    for (method, path, body) in calls {
        let (status, reply) = raw(&mock, method.clone(), path, *body).await;
        assert_eq!(status, 404, "{method} {path}");
        assert!(
            reply["error"].as_str().is_some_and(|e| !e.is_empty()),
            "{method} {path}: {reply}"
        );
    }
    // The typed methods surface the same.
    for err in [
        mock.bot(bot).await.unwrap_err(),
        mock.make_stale(bot).await.unwrap_err(),
        mock.refresh_token(bot).await.unwrap_err(),
        mock.inbound(bot, &Inbound::text("u@im.wechat", "hi"))
            .await
            .unwrap_err(),
        mock.outbound(bot).await.unwrap_err(),
        mock.typing(bot).await.unwrap_err(),
        mock.require_verify_code("nope", "1").await.unwrap_err(),
        mock.redirect("nope", "h").await.unwrap_err(),
    ] {
        match err {
            MockError::Control { status, error } => {
                assert_eq!(status, 404);
                assert!(!error.is_empty());
            }
            other => panic!("expected a control error, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn malformed_control_bodies_answer_400_with_an_error() {
    let mock = mock();
    let bot = mock.create_bot(&NewBot::default()).await.unwrap();
    let (_, q) = fetch_qr(&mock, &[]).await;
    let id = &bot.bot_id;
    let calls: Vec<(String, &str)> = vec![
        ("/_mock/bots".into(), "{not json"),
        ("/_mock/bots".into(), r#"{"bot_id": 5}"#),
        ("/_mock/clock/advance".into(), "{}"),
        ("/_mock/clock/advance".into(), "[1"),
        (format!("/_mock/bots/{id}/inbound"), "{}"),
        (
            format!("/_mock/bots/{id}/inbound"),
            r#"{"from_user_id": "u", "items": [{"gif": {}}]}"#,
        ),
        (format!("/_mock/bots/{id}/inbound"), "nonsense"),
        (format!("/_mock/logins/{q}/scan"), "{oops"),
        (format!("/_mock/logins/{q}/confirm"), "[1,"),
        (format!("/_mock/logins/{q}/redirect"), "{}"),
        ("/_mock/faults".into(), "{"),
    ];
    for (path, body) in calls {
        let (status, reply) = raw(&mock, reqwest::Method::POST, &path, Some(body)).await;
        assert_eq!(status, 400, "POST {path} {body}");
        assert!(
            reply["error"].as_str().is_some_and(|e| !e.is_empty()),
            "POST {path} {body}: {reply}"
        );
    }
    // Nothing happened to the bot or the QR.
    assert_eq!(mock.bot(id).await.unwrap().queued, 0);
    assert_eq!(login_of(&mock, &q).await.status, "wait");
}

#[tokio::test]
async fn bot_ids_work_with_a_raw_at_and_percent_encoded() {
    let mock = mock();
    let bot = mock.create_bot(&NewBot::default()).await.unwrap();
    let raw_id = bot.bot_id.clone();
    assert!(raw_id.contains('@'));
    let encoded = raw_id.replace('@', "%40");
    for id in [&raw_id, &encoded] {
        let (status, body) = raw(
            &mock,
            reqwest::Method::GET,
            &format!("/_mock/bots/{id}"),
            None,
        )
        .await;
        assert_eq!(status, 200, "{id}");
        assert_eq!(body["bot_id"], json!(raw_id));
        let (status, body) = raw(
            &mock,
            reqwest::Method::POST,
            &format!("/_mock/bots/{id}/inbound"),
            Some(r#"{"from_user_id": "u@im.wechat", "items": [{"text": "hi"}]}"#),
        )
        .await;
        assert_eq!(status, 200, "{id}");
        assert_eq!(body["message"]["to_user_id"], json!(raw_id));
        for sub in ["outbound", "typing"] {
            let (status, _) = raw(
                &mock,
                reqwest::Method::GET,
                &format!("/_mock/bots/{id}/{sub}"),
                None,
            )
            .await;
            assert_eq!(status, 200, "{id} {sub}");
        }
    }
    assert_eq!(mock.bot(&raw_id).await.unwrap().queued, 2);
    let (status, _) = raw(
        &mock,
        reqwest::Method::POST,
        &format!("/_mock/bots/{raw_id}/stale"),
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert!(mock.bot(&raw_id).await.unwrap().token_stale);
    let (status, body) = raw(
        &mock,
        reqwest::Method::POST,
        &format!("/_mock/bots/{encoded}/refresh"),
        None,
    )
    .await;
    assert_eq!(status, 200);
    let token = body["token"].as_str().unwrap();
    client(&mock, token).notify_start().await.unwrap();
    // Request and violation filters take the id too.
    let (status, body) = raw(
        &mock,
        reqwest::Method::GET,
        &format!("/_mock/requests?bot_id={encoded}"),
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(body["requests"].as_array().unwrap().len(), 1);
    // A fault named by the raw id matches the bot.
    mock.add_fault(&FaultSpec {
        bot_id: Some(raw_id.clone()),
        status: Some(502),
        ..fault("notifystop", "status")
    })
    .await
    .unwrap();
    assert!(matches!(
        client(&mock, token).notify_stop().await.unwrap_err().kind(),
        ErrorKind::HttpStatus { status: 502, .. }
    ));
}

#[tokio::test]
async fn unknown_control_paths_answer_404() {
    let mock = mock();
    for (method, path) in [
        (reqwest::Method::GET, "/_mock/nothing"),
        (reqwest::Method::GET, "/_mock/reset"),
        (reqwest::Method::DELETE, "/_mock/bots"),
        (reqwest::Method::GET, "/_mock/"),
    ] {
        let (status, body) = raw(&mock, method.clone(), path, None).await;
        assert_eq!(status, 404, "{method} {path}");
        assert!(body["error"].is_string(), "{method} {path}");
    }
    // Control calls are never recorded as requests.
    assert!(mock.requests(None, None, None).await.unwrap().is_empty());
}

#[tokio::test]
async fn a_finished_login_keeps_its_answer() {
    let mock = mock();
    let poll = |anon: IlinkClient, q: String| async move {
        anon.get_qrcode_status(None, &q, None).await.unwrap()
    };
    // Expired by the control API: a scan does not revive it.
    let (anon, q) = fetch_qr(&mock, &[]).await;
    mock.expire(&q).await.unwrap();
    let err = mock.scan(&q, None).await.unwrap_err();
    assert_eq!(control_status(&err), 409);
    let err = mock.confirm(&q, &Confirm::default()).await.unwrap_err();
    assert_eq!(control_status(&err), 409);
    assert_eq!(
        poll(anon.clone(), q.clone()).await.status,
        QrStatus::Expired
    );
    // Expired by the clock: nor does a confirm.
    let (anon, q) = fetch_qr(&mock, &[]).await;
    mock.scan(&q, None).await.unwrap();
    mock.advance_clock(121_000).await.unwrap();
    let err = mock.confirm(&q, &Confirm::default()).await.unwrap_err();
    assert_eq!(control_status(&err), 409);
    assert_eq!(
        poll(anon.clone(), q.clone()).await.status,
        QrStatus::Expired
    );
    // Confirmed: later polls answer the same confirmed reply, whatever follows.
    let (anon, q) = fetch_qr(&mock, &[]).await;
    let creds = mock.confirm(&q, &Confirm::default()).await.unwrap();
    let first = poll(anon.clone(), q.clone()).await;
    for err in [
        mock.scan(&q, None).await.unwrap_err(),
        mock.confirm(&q, &Confirm::default()).await.unwrap_err(),
        mock.require_verify_code(&q, "1").await.unwrap_err(),
        mock.redirect(&q, "h:1").await.unwrap_err(),
    ] {
        assert_eq!(control_status(&err), 409);
    }
    assert_eq!(poll(anon.clone(), q.clone()).await, first);
    assert_eq!(first.bot_token.as_deref(), Some(creds.token.as_str()));
    // And a confirmed QR does not expire.
    mock.advance_clock(200_000).await.unwrap();
    assert_eq!(poll(anon.clone(), q.clone()).await, first);
    client(&mock, &creds.token).notify_start().await.unwrap();
}

#[tokio::test]
async fn reset_answers_a_held_poll_at_once() {
    // The default 35 s hold: only the reset can end this poll quickly.
    let mock = MockIlink::start().unwrap();
    let (_, c) = new_bot(&mock).await;
    let poll = tokio::spawn(async move {
        let started = std::time::Instant::now();
        let result = c.get_updates("", Duration::from_secs(20)).await;
        (started.elapsed(), result)
    });
    wait_for("the poll to be held", || async {
        (mock.health().await.unwrap().held_polls == 1).then_some(())
    })
    .await;
    mock.reset().await.unwrap();
    let (elapsed, result) = poll.await.unwrap();
    assert!(elapsed < Duration::from_secs(10), "{elapsed:?}");
    // Its bot is gone, so its token is no bot's.
    assert_eq!(result.unwrap_err().kind(), &ErrorKind::StaleToken);
    assert_eq!(mock.health().await.unwrap().held_polls, 0);
}

#[tokio::test]
async fn login_flow_counts_failed_status_polls_as_wait() {
    let mock = MockIlink::builder().auto_login(true).start().unwrap();
    for kind in ["reset", "malformed", "truncate"] {
        mock.add_fault(&fault("get_qrcode_status", kind))
            .await
            .unwrap();
    }
    mock.add_fault(&FaultSpec {
        status: Some(524),
        ..fault("get_qrcode_status", "status")
    })
    .await
    .unwrap();
    let (flow, _, outcome) = spawn_flow(&mock, fast_options(Vec::new()), TestPrompt::default())
        .await
        .unwrap();
    let success = confirmed(outcome);
    assert_eq!(flow.codes_shown(), 1);
    assert!(mock.faults().await.unwrap().is_empty());
    let polls = mock
        .requests(Some("get_qrcode_status"), None, None)
        .await
        .unwrap();
    let statuses: Vec<u16> = polls.iter().map(|p| p.status).collect();
    assert_eq!(statuses, [0, 200, 200, 524, 200, 200]);
    // Faulted polls changed nothing: the login counts only the two served ones.
    let login = &mock.logins().await.unwrap()[0];
    assert_eq!(login.polls, 2);
    assert_eq!(login.bot_id.as_deref(), Some(success.account_id.as_str()));
}

#[tokio::test]
async fn login_flow_fails_when_the_qr_cannot_be_fetched() {
    let mock = MockIlink::builder().auto_login(true).start().unwrap();
    mock.add_fault(&FaultSpec {
        status: Some(503),
        ..fault("get_bot_qrcode", "status")
    })
    .await
    .unwrap();
    let mut flow = ilink_client::LoginFlow::new(anon_client(&mock), fast_options(Vec::new()));
    let err = flow.wait(&mut TestPrompt::default()).await.unwrap_err();
    assert!(
        matches!(err.kind(), ErrorKind::HttpStatus { status: 503, .. }),
        "{:?}",
        err.kind()
    );
    assert!(mock.logins().await.unwrap().is_empty(), "no QR was issued");
    // The next attempt gets one.
    let outcome = flow.wait(&mut TestPrompt::default()).await.unwrap();
    confirmed(outcome);
}
