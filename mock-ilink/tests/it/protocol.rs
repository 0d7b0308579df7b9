//! Protocol behaviour: long polls, sends, the reply budget, media.

use std::time::{Duration, Instant};

use crate::support::client;
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use ilink_client::builders::{media_item, text_item};
use ilink_client::crypto::AesKey;
use ilink_client::normalize::main_media;
use ilink_client::wire::{MessageItem, TypingStatus, WeixinMessage, WireId};
use ilink_client::{
    ErrorKind, GetUpdatesResponse, IlinkClient, MediaKind, MediaSource, ReplyTarget, SendOutcome,
    SplitLimits,
};
use mock_ilink::api::{
    BotCredentials, FaultSpec, FileSpec, FullUrl, Inbound, InboundItem, KeyForm, MediaSpec, NewBot,
    Violation, VoiceSpec,
};
use mock_ilink::{MockError, MockIlink};
use serde_json::{json, Value};

/// A client timeout comfortably above every hold these tests use.
const POLL_TIMEOUT: Duration = Duration::from_secs(15);

/// A mock whose idle polls are held 360 ms.
fn quick_mock() -> MockIlink {
    MockIlink::builder().long_poll_ms(400).start().unwrap()
}

async fn bot(mock: &MockIlink) -> BotCredentials {
    mock.create_bot(&NewBot::default()).await.unwrap()
}

async fn poll(client: &IlinkClient, cursor: &str) -> GetUpdatesResponse {
    client.get_updates(cursor, POLL_TIMEOUT).await.unwrap()
}

async fn violations(mock: &MockIlink) -> Vec<Violation> {
    mock.violations(None, None).await.unwrap()
}

fn rules(list: &[Violation]) -> Vec<&str> {
    list.iter().map(|v| v.rule.as_str()).collect()
}

async fn assert_no_violations(mock: &MockIlink) {
    let list = violations(mock).await;
    assert!(list.is_empty(), "unexpected violations: {list:?}");
}

/// Waits (polling the mock's health) until exactly `n` getupdates are held.
async fn wait_held(mock: &MockIlink, n: u64) {
    crate::support::wait_for(&format!("{n} held polls"), || async {
        (mock.health().await.unwrap().held_polls == n).then_some(())
    })
    .await;
}

fn text_of(msg: &WeixinMessage) -> String {
    msg.item_list
        .first()
        .and_then(|i| i.text_item.as_ref())
        .and_then(|t| t.text.clone())
        .unwrap_or_default()
}

/// The `base_info` ilink-client sends.
fn base_info() -> Value {
    json!({"channel_version": "2.4.9", "bot_agent": "OpenClaw"})
}

/// The headers of section 2 as ilink-client sends them (2.4.9 → 132105).
fn std_headers(token: Option<&str>) -> Vec<(String, String)> {
    let mut h = vec![
        ("Content-Type".to_owned(), "application/json".to_owned()),
        ("AuthorizationType".to_owned(), "ilink_bot_token".to_owned()),
        // base64 of "1280940056".
        ("X-WECHAT-UIN".to_owned(), "MTI4MDk0MDA1Ng==".to_owned()),
        ("iLink-App-Id".to_owned(), "bot".to_owned()),
        ("iLink-App-ClientVersion".to_owned(), "132105".to_owned()),
    ];
    if let Some(t) = token {
        h.push(("Authorization".to_owned(), format!("Bearer {t}")));
    }
    h
}

/// A raw reply: status, JSON body (if JSON) and headers.
struct RawReply {
    status: u16,
    json: Option<Value>,
    headers: reqwest::header::HeaderMap,
}

/// POSTs `body` verbatim to `url` with exactly `headers`.
async fn post_raw(
    url: &str,
    headers: &[(String, String)],
    body: impl Into<reqwest::Body>,
) -> RawReply {
    let mut req = reqwest::Client::new().post(url);
    for (k, v) in headers {
        req = req.header(k.as_str(), v.as_str());
    }
    let resp = req.body(body).send().await.unwrap();
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let bytes = resp.bytes().await.unwrap();
    RawReply {
        status,
        json: serde_json::from_slice(&bytes).ok(),
        headers,
    }
}

/// POSTs a JSON body to `/ilink/bot/<name>` with the standard headers.
async fn api_raw(mock: &MockIlink, name: &str, token: &str, body: &Value) -> RawReply {
    post_raw(
        &format!("{}/ilink/bot/{name}", mock.base_url()),
        &std_headers(Some(token)),
        body.to_string(),
    )
    .await
}

/// A user writes to the bot and the bot polls: the newest context token.
async fn converse(mock: &MockIlink, b: &BotCredentials, c: &IlinkClient, peer: &str) -> String {
    mock.inbound(&b.bot_id, &Inbound::text(peer, "hello bot"))
        .await
        .unwrap();
    let r = poll(c, "").await;
    r.msgs.last().unwrap().context_token.clone().unwrap()
}

fn text_reply(peer: &str, token: Option<&str>, text: &str) -> WeixinMessage {
    let mut target = ReplyTarget::new(peer);
    target.context_token = token.map(str::to_owned);
    target.message(text_item(text))
}

fn api_ret(err: &ilink_client::Error) -> Option<i64> {
    match err.kind() {
        ErrorKind::Api { ret, .. } => *ret,
        _ => None,
    }
}

async fn outbound_len(mock: &MockIlink, b: &BotCredentials) -> usize {
    mock.outbound(&b.bot_id).await.unwrap().messages.len()
}

/// `n` bytes of deterministic noise.
fn noise(n: usize, seed: u32) -> Vec<u8> {
    let mut x = seed.wrapping_mul(2_654_435_761).wrapping_add(1);
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            (x >> 24) as u8
        })
        .collect()
}

fn md5_hex(data: &[u8]) -> String {
    ilink_client::crypto::md5_hex(data)
}

fn ids(msgs: &[WeixinMessage]) -> Vec<WireId> {
    msgs.iter().map(|m| m.message_id.unwrap()).collect()
}

// ---------------------------------------------------------------- getupdates

#[tokio::test]
async fn getupdates_delivers_injected_messages_in_order_with_fresh_fields() {
    let mock = quick_mock();
    let b = bot(&mock).await;
    let c = client(&mock, &b.token);
    let mut injected = Vec::new();
    for i in 0..3 {
        let v = mock
            .inbound(&b.bot_id, &Inbound::text("u1@im.wechat", format!("m{i}")))
            .await
            .unwrap();
        injected.push(v);
    }
    // An explicit id above 2^53 that no f64 holds exactly.
    let mut exact = Inbound::text("u1@im.wechat", "exact");
    exact.message_id =
        Some(serde_json::value::RawValue::from_string("9007199254740993".into()).unwrap());
    mock.inbound(&b.bot_id, &exact).await.unwrap();

    let r = poll(&c, "").await;
    assert!(!r.timed_out);
    assert!(r.bad_messages.is_empty(), "{:?}", r.bad_messages);
    assert_eq!(r.msgs.len(), 4);
    assert_eq!(r.longpolling_timeout_ms, Some(400));
    assert!(r.get_updates_buf.as_deref().is_some_and(|c| !c.is_empty()));
    let texts: Vec<String> = r.msgs.iter().map(text_of).collect();
    assert_eq!(texts, ["m0", "m1", "m2", "exact"]);
    let seqs: Vec<i64> = r.msgs.iter().map(|m| m.seq.unwrap()).collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "{seqs:?}");
    for (m, v) in r.msgs.iter().zip(&injected) {
        let id = m.message_id.unwrap().get();
        assert!(id > 1 << 53, "{id}");
        // The control reply shows the id as the same bare number.
        assert_eq!(v["message_id"].as_u64(), Some(id));
        assert_eq!(v["seq"].as_i64(), m.seq);
    }
    assert_eq!(r.msgs[3].message_id, Some(WireId(9_007_199_254_740_993)));
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    for m in &r.msgs {
        let t = m.create_time_ms.unwrap();
        assert!((now - t).abs() < 60_000, "create_time_ms {t} vs now {now}");
        assert_eq!(m.from_user_id.as_deref(), Some("u1@im.wechat"));
        assert_eq!(m.to_user_id.as_deref(), Some(b.bot_id.as_str()));
    }
    let tokens: std::collections::HashSet<String> = r
        .msgs
        .iter()
        .map(|m| m.context_token.clone().unwrap())
        .collect();
    assert_eq!(tokens.len(), 4, "a fresh context token per message");
    let status = mock.bot(&b.bot_id).await.unwrap();
    assert_eq!((status.queued, status.delivered), (0, 4));
    assert_no_violations(&mock).await;
}

#[tokio::test]
async fn getupdates_hands_out_at_most_100_per_reply() {
    let mock = quick_mock();
    let b = bot(&mock).await;
    let c = client(&mock, &b.token);
    inject_texts(&mock, &b.bot_id, 150).await;
    let first = poll(&c, "").await;
    assert_eq!(first.msgs.len(), 100);
    assert_eq!(text_of(&first.msgs[0]), "m0");
    assert_eq!(text_of(&first.msgs[99]), "m99");
    let status = mock.bot(&b.bot_id).await.unwrap();
    assert_eq!((status.queued, status.delivered), (50, 100));
    let second = poll(&c, first.get_updates_buf.as_deref().unwrap()).await;
    assert_eq!(second.msgs.len(), 50);
    assert_eq!(text_of(&second.msgs[0]), "m100");
    assert_eq!(text_of(&second.msgs[49]), "m149");
    let mut all = ids(&first.msgs);
    all.extend(ids(&second.msgs));
    let unique: std::collections::HashSet<_> = all.iter().collect();
    assert_eq!(unique.len(), 150);
    assert_no_violations(&mock).await;
}

#[tokio::test]
async fn idle_poll_is_held_about_90_percent_then_answers_empty() {
    let mock = quick_mock();
    let b = bot(&mock).await;
    let c = client(&mock, &b.token);
    let timeout = c.timeouts().next_long_poll(Some(400));
    let started = Instant::now();
    let r = c.get_updates("", timeout).await.unwrap();
    let took = started.elapsed();
    assert!(!r.timed_out, "the server's empty reply must come first");
    assert!(r.msgs.is_empty());
    assert_eq!(r.longpolling_timeout_ms, Some(400));
    assert!(r.get_updates_buf.is_some());
    assert!(took >= Duration::from_millis(300), "held only {took:?}");
    assert!(took < Duration::from_millis(3000), "held {took:?}");
    assert_no_violations(&mock).await;
}

#[tokio::test]
async fn message_injected_while_held_wakes_the_poll_at_once() {
    let mock = MockIlink::builder().long_poll_ms(20_000).start().unwrap();
    let b = bot(&mock).await;
    let c = client(&mock, &b.token);
    let started = Instant::now();
    let held = tokio::spawn({
        let c = c.clone();
        async move { c.get_updates("", Duration::from_secs(30)).await }
    });
    wait_held(&mock, 1).await;
    mock.inbound(&b.bot_id, &Inbound::text("u1@im.wechat", "wake"))
        .await
        .unwrap();
    let r = held.await.unwrap().unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(r.msgs.len(), 1);
    assert_eq!(text_of(&r.msgs[0]), "wake");
    assert_eq!(r.longpolling_timeout_ms, Some(20_000));
    wait_held(&mock, 0).await;
    assert_no_violations(&mock).await;
}

#[tokio::test]
async fn old_cursor_does_not_replay() {
    let mock = quick_mock();
    let b = bot(&mock).await;
    let c = client(&mock, &b.token);
    let first = poll(&c, "").await;
    assert!(first.msgs.is_empty());
    let c1 = first.get_updates_buf.unwrap();
    inject_texts(&mock, &b.bot_id, 2).await;
    let got = poll(&c, &c1).await;
    assert_eq!(got.msgs.len(), 2);
    let c2 = got.get_updates_buf.unwrap();
    assert_ne!(c1, c2);
    // The same old cursor again, and an empty one: nothing comes back.
    for cursor in [c1.as_str(), ""] {
        let again = poll(&c, cursor).await;
        assert!(
            again.msgs.is_empty(),
            "{cursor:?} replayed {:?}",
            again.msgs
        );
    }
    let status = mock.bot(&b.bot_id).await.unwrap();
    assert_eq!((status.queued, status.delivered), (0, 2));
    // A later message still comes to the newest cursor.
    mock.inbound(&b.bot_id, &Inbound::text("u1@im.wechat", "m2"))
        .await
        .unwrap();
    let last = poll(&c, &c2).await;
    assert_eq!(last.msgs.iter().map(text_of).collect::<Vec<_>>(), ["m2"]);
    assert_no_violations(&mock).await;
}

#[tokio::test]
async fn unknown_cursor_is_a_violation_and_treated_as_empty() {
    let mock = quick_mock();
    let b = bot(&mock).await;
    let c = client(&mock, &b.token);
    mock.inbound(&b.bot_id, &Inbound::text("u1@im.wechat", "hi"))
        .await
        .unwrap();
    let r = poll(&c, "cur_never_issued").await;
    assert_eq!(r.msgs.iter().map(text_of).collect::<Vec<_>>(), ["hi"]);
    let list = violations(&mock).await;
    assert_eq!(rules(&list), ["cursor.invalid"], "{list:?}");
    assert_eq!(list[0].bot_id.as_deref(), Some(b.bot_id.as_str()));
    assert_eq!(list[0].path, "/ilink/bot/getupdates");
    // A cursor issued to another bot is not this bot's either.
    let other = bot(&mock).await;
    let theirs = poll(&client(&mock, &other.token), "")
        .await
        .get_updates_buf
        .unwrap();
    let _ = poll(&c, &theirs).await;
    assert_eq!(rules(&violations(&mock).await), ["cursor.invalid"; 2]);
}

#[tokio::test]
async fn null_cursor_is_the_empty_cursor() {
    let mock = quick_mock();
    let b = bot(&mock).await;
    mock.inbound(&b.bot_id, &Inbound::text("u1@im.wechat", "hi"))
        .await
        .unwrap();
    let r = api_raw(
        &mock,
        "getupdates",
        &b.token,
        &json!({"get_updates_buf": null, "base_info": base_info()}),
    )
    .await;
    assert_eq!(r.status, 200);
    let v = r.json.unwrap();
    assert_eq!(v["ret"], 0);
    assert_eq!(v["msgs"].as_array().unwrap().len(), 1);
    // Ids travel as bare JSON numbers, not strings.
    assert!(
        v["msgs"][0]["message_id"].as_u64().unwrap() > 1 << 53,
        "{v}"
    );
    assert!(v["msgs"][0]["seq"].is_u64(), "{v}");
    assert!(v["msgs"][0]["create_time_ms"].is_u64(), "{v}");
    assert_eq!(v["longpolling_timeout_ms"], 400);
    assert!(v["get_updates_buf"].as_str().is_some_and(|c| !c.is_empty()));
    // Absent altogether is the same.
    let r = api_raw(
        &mock,
        "getupdates",
        &b.token,
        &json!({"base_info": base_info()}),
    )
    .await;
    assert_eq!(r.json.unwrap()["ret"], 0);
    assert_no_violations(&mock).await;
}

#[tokio::test]
async fn client_that_goes_away_while_held_takes_nothing() {
    let mock = MockIlink::builder().long_poll_ms(5_000).start().unwrap();
    let b = bot(&mock).await;
    let c = client(&mock, &b.token);
    let r = c.get_updates("", Duration::from_millis(200)).await.unwrap();
    assert!(r.timed_out, "the client gave up first");
    // The mock notices the closed connection and drops the hold.
    wait_held(&mock, 0).await;
    mock.inbound(&b.bot_id, &Inbound::text("u1@im.wechat", "kept"))
        .await
        .unwrap();
    let status = mock.bot(&b.bot_id).await.unwrap();
    assert_eq!((status.queued, status.delivered), (1, 0));
    let r = poll(&c, "").await;
    assert_eq!(r.msgs.iter().map(text_of).collect::<Vec<_>>(), ["kept"]);
    let status = mock.bot(&b.bot_id).await.unwrap();
    assert_eq!((status.queued, status.delivered), (0, 1));
    assert_no_violations(&mock).await;
}

#[tokio::test]
async fn second_poll_while_one_is_held_answers_the_older_and_is_a_violation() {
    let mock = MockIlink::builder().long_poll_ms(20_000).start().unwrap();
    let b = bot(&mock).await;
    // Two clients, two connections: two processes polling one bot.
    let older = client(&mock, &b.token);
    let newer = client(&mock, &b.token);
    let started = Instant::now();
    let first = tokio::spawn(async move { older.get_updates("", Duration::from_secs(30)).await });
    wait_held(&mock, 1).await;
    let second = tokio::spawn(async move { newer.get_updates("", Duration::from_secs(30)).await });
    let r = first.await.unwrap().unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert!(!r.timed_out);
    assert!(r.msgs.is_empty());
    let list = violations(&mock).await;
    assert_eq!(rules(&list), ["getupdates.concurrent"], "{list:?}");
    assert_eq!(list[0].bot_id.as_deref(), Some(b.bot_id.as_str()));
    // The newer one is still held, and gets the next message.
    wait_held(&mock, 1).await;
    mock.inbound(&b.bot_id, &Inbound::text("u1@im.wechat", "to the newer"))
        .await
        .unwrap();
    let r = second.await.unwrap().unwrap();
    assert_eq!(
        r.msgs.iter().map(text_of).collect::<Vec<_>>(),
        ["to the newer"]
    );
}

#[tokio::test]
async fn new_poll_after_the_older_client_went_away_is_no_violation() {
    let mock = MockIlink::builder().long_poll_ms(20_000).start().unwrap();
    let b = bot(&mock).await;
    let older = client(&mock, &b.token);
    let first = tokio::spawn(async move { older.get_updates("", Duration::from_secs(30)).await });
    wait_held(&mock, 1).await;
    // The client restarts: its poll is dropped and the connection closed.
    first.abort();
    assert!(first.await.unwrap_err().is_cancelled());
    wait_held(&mock, 0).await;
    let newer = client(&mock, &b.token);
    let second = tokio::spawn({
        let newer = newer.clone();
        async move { newer.get_updates("", Duration::from_secs(30)).await }
    });
    wait_held(&mock, 1).await;
    mock.inbound(&b.bot_id, &Inbound::text("u1@im.wechat", "after restart"))
        .await
        .unwrap();
    let r = second.await.unwrap().unwrap();
    assert_eq!(
        r.msgs.iter().map(text_of).collect::<Vec<_>>(),
        ["after restart"]
    );
    assert_no_violations(&mock).await;
}

#[tokio::test]
async fn stale_token_answers_the_held_poll_at_once() {
    let mock = MockIlink::builder().long_poll_ms(20_000).start().unwrap();
    let b = bot(&mock).await;
    let c = client(&mock, &b.token);
    let started = Instant::now();
    let held = tokio::spawn(async move { c.get_updates("", Duration::from_secs(30)).await });
    wait_held(&mock, 1).await;
    mock.make_stale(&b.bot_id).await.unwrap();
    let err = held.await.unwrap().unwrap_err();
    assert_eq!(err.kind(), &ErrorKind::StaleToken, "{err}");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert!(mock.bot(&b.bot_id).await.unwrap().token_stale);
    // Not a violation: the real server does this to correct clients.
    assert_no_violations(&mock).await;
}

#[tokio::test]
async fn refreshed_token_answers_the_poll_held_with_the_old_one_at_once() {
    let mock = MockIlink::builder().long_poll_ms(20_000).start().unwrap();
    let b = bot(&mock).await;
    let c = client(&mock, &b.token);
    let started = Instant::now();
    let held = tokio::spawn(async move { c.get_updates("", Duration::from_secs(30)).await });
    wait_held(&mock, 1).await;
    let fresh = mock.refresh_token(&b.bot_id).await.unwrap();
    assert_ne!(fresh, b.token);
    let err = held.await.unwrap().unwrap_err();
    assert_eq!(err.kind(), &ErrorKind::StaleToken, "{err}");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    // The new token polls without tripping over the old poll.
    mock.inbound(&b.bot_id, &Inbound::text("u1@im.wechat", "hi"))
        .await
        .unwrap();
    let r = poll(&client(&mock, &fresh), "").await;
    assert_eq!(r.msgs.len(), 1);
    assert_no_violations(&mock).await;
}

#[tokio::test]
async fn redeliver_fault_repeats_the_last_handed_out_messages() {
    let mock = quick_mock();
    let b = bot(&mock).await;
    let c = client(&mock, &b.token);
    inject_texts(&mock, &b.bot_id, 3).await;
    let first = poll(&c, "").await;
    assert_eq!(first.msgs.len(), 3);
    mock.add_fault(&FaultSpec {
        endpoint: "getupdates".into(),
        kind: "redeliver".into(),
        count: Some(2),
        ..FaultSpec::default()
    })
    .await
    .unwrap();
    mock.inbound(&b.bot_id, &Inbound::text("u1@im.wechat", "m3"))
        .await
        .unwrap();
    let again = poll(&c, first.get_updates_buf.as_deref().unwrap()).await;
    assert_eq!(
        again.msgs.iter().map(text_of).collect::<Vec<_>>(),
        ["m1", "m2", "m3"]
    );
    assert_eq!(ids(&again.msgs[..2]), ids(&first.msgs[1..]));
    assert_eq!(again.msgs[0].seq, first.msgs[1].seq);
    let status = mock.bot(&b.bot_id).await.unwrap();
    assert_eq!((status.queued, status.delivered), (0, 4));
    // The fault is used up: the next poll is held and answers empty.
    let next = poll(&c, again.get_updates_buf.as_deref().unwrap()).await;
    assert!(next.msgs.is_empty());
    assert!(mock.faults().await.unwrap().is_empty());
    assert_no_violations(&mock).await;
}

// ---------------------------------------------------------------- sendmessage

#[tokio::test]
async fn text_reply_is_delivered_and_logged() {
    let mock = quick_mock();
    let b = bot(&mock).await;
    let c = client(&mock, &b.token);
    let peer = "a1b2c3@im.wechat";
    let token = converse(&mock, &b, &c, peer).await;
    let target = ReplyTarget::new(peer)
        .context_token(&token)
        .run_id(ilink_client::builders::new_run_id());
    let msgs = target.text_messages("hello from the bot", SplitLimits::default());
    assert_eq!(msgs.len(), 1);
    let outcome = c.send_message(msgs[0].clone()).await.unwrap();
    let SendOutcome::Delivered {
        message_id,
        client_id,
    } = outcome
    else {
        panic!("not delivered: {outcome:?}");
    };
    let log = mock.outbound(&b.bot_id).await.unwrap().messages;
    assert_eq!(log.len(), 1);
    let sent = &log[0];
    assert_eq!(sent.message_id, message_id.get());
    assert_eq!(sent.msg["client_id"], client_id.as_str());
    assert_eq!(sent.msg["to_user_id"], peer);
    assert_eq!(sent.msg["context_token"], token.as_str());
    assert_eq!(
        sent.msg["item_list"][0]["text_item"]["text"],
        "hello from the bot"
    );
    assert!(sent.media.is_empty());
    assert!(sent.received_at_ms > 0);
    assert_no_violations(&mock).await;
}

#[tokio::test]
async fn repeated_client_id_is_idempotent_and_uses_no_budget() {
    let mock = quick_mock();
    let b = bot(&mock).await;
    let c = client(&mock, &b.token);
    let peer = "u1@im.wechat";
    let token = converse(&mock, &b, &c, peer).await;
    let msg = text_reply(peer, Some(&token), "once");
    let first = c.send_message(msg.clone()).await.unwrap();
    for _ in 0..3 {
        let again = c.send_message(msg.clone()).await.unwrap();
        assert_eq!(again, first);
    }
    assert_eq!(outbound_len(&mock, &b).await, 1);
    // 9 more distinct messages fit the allowance of 10; the repeats used none.
    send_ok(&c, peer, &token, 9).await;
    let err = c
        .send_message(text_reply(peer, Some(&token), "one too many"))
        .await
        .unwrap_err();
    assert_eq!(api_ret(&err), Some(-2), "{err}");
    // A repeat past the allowance still answers as before.
    assert_eq!(c.send_message(msg.clone()).await.unwrap(), first);
    assert_eq!(outbound_len(&mock, &b).await, 10);
    // The same client_id from another bot is another message.
    let other = bot(&mock).await;
    let oc = client(&mock, &other.token);
    let token = converse(&mock, &other, &oc, peer).await;
    let mut again = msg;
    again.context_token = Some(token);
    let theirs = oc.send_message(again).await.unwrap();
    assert_eq!(theirs.client_id(), first.client_id());
    assert_ne!(theirs, first, "a new message_id");
    assert_eq!(outbound_len(&mock, &other).await, 1);
    assert_no_violations(&mock).await;
}

/// A valid bot message as raw JSON.
fn raw_msg(peer: &str, client_id: &str, token: &str) -> Value {
    json!({
        "from_user_id": "",
        "to_user_id": peer,
        "client_id": client_id,
        "message_type": 2,
        "message_state": 2,
        "item_list": [{"type": 1, "text_item": {"text": "hi"}}],
        "context_token": token,
    })
}

#[tokio::test]
async fn invalid_messages_answer_minus_3_and_are_not_stored() {
    let mock = quick_mock();
    let b = bot(&mock).await;
    let c = client(&mock, &b.token);
    let peer = "u1@im.wechat";
    let token = converse(&mock, &b, &c, peer).await;
    let text = json!({"type": 1, "text_item": {"text": "x"}});
    let image = json!({"type": 2, "image_item": {"media": {"encrypt_query_param": "p"}}});
    type Mutation = Box<dyn Fn(&mut Value)>;
    let cases: Vec<(&str, Mutation)> = vec![
        ("no items", Box::new(|m| m["item_list"] = json!([]))),
        (
            "item_list absent",
            Box::new(|m| {
                m.as_object_mut().unwrap().remove("item_list");
            }),
        ),
        ("item_list null", Box::new(|m| m["item_list"] = Value::Null)),
        ("two items", {
            let t = text.clone();
            Box::new(move |m| m["item_list"] = json!([t, t]))
        }),
        ("message_type 1", Box::new(|m| m["message_type"] = json!(1))),
        (
            "message_type absent",
            Box::new(|m| {
                m.as_object_mut().unwrap().remove("message_type");
            }),
        ),
        (
            "message_state 0",
            Box::new(|m| m["message_state"] = json!(0)),
        ),
        (
            "message_state 1",
            Box::new(|m| m["message_state"] = json!(1)),
        ),
        (
            "empty to_user_id",
            Box::new(|m| m["to_user_id"] = json!("")),
        ),
        (
            "null to_user_id",
            Box::new(|m| m["to_user_id"] = Value::Null),
        ),
        ("empty client_id", Box::new(|m| m["client_id"] = json!(""))),
        (
            "client_id absent",
            Box::new(|m| {
                m.as_object_mut().unwrap().remove("client_id");
            }),
        ),
        ("text type with image content", {
            let i = image.clone();
            Box::new(move |m| {
                let mut item = i.clone();
                item["type"] = json!(1);
                m["item_list"] = json!([item]);
            })
        }),
        (
            "image type with text content",
            Box::new(|m| {
                m["item_list"] = json!([{"type": 2, "text_item": {"text": "x"}}]);
            }),
        ),
        (
            "text type, null text_item, image content",
            Box::new(|m| {
                m["item_list"] =
                    json!([{"type": 1, "text_item": null, "image_item": {"media": {}}}]);
            }),
        ),
        (
            "two contents",
            Box::new(|m| {
                m["item_list"] = json!([{"type": 1, "text_item": {"text": "x"}, "image_item": {}}]);
            }),
        ),
        (
            "no content",
            Box::new(|m| m["item_list"] = json!([{"type": 1}])),
        ),
        (
            "only null contents",
            Box::new(|m| {
                m["item_list"] = json!([{"type": 1, "text_item": null, "image_item": null}]);
            }),
        ),
        (
            "unknown type",
            Box::new(|m| {
                m["item_list"] = json!([{"type": 99, "text_item": {"text": "x"}}]);
            }),
        ),
    ];
    for (i, (what, mutate)) in cases.iter().enumerate() {
        let mut msg = raw_msg(peer, &format!("bad-{i}"), &token);
        mutate(&mut msg);
        let before = violations(&mock).await.len();
        let r = api_raw(
            &mock,
            "sendmessage",
            &b.token,
            &json!({"msg": msg, "base_info": base_info()}),
        )
        .await;
        assert_eq!(r.status, 200, "{what}");
        let v = r.json.unwrap();
        assert_eq!(v["ret"], -3, "{what}: {v}");
        assert_eq!(v["errcode"], -3, "{what}: {v}");
        assert!(
            v["errmsg"]
                .as_str()
                .unwrap()
                .starts_with("invalid arguments: "),
            "{what}: {v}"
        );
        assert!(v.get("message_id").is_none(), "{what}: {v}");
        let list = violations(&mock).await;
        assert_eq!(list.len(), before + 1, "{what}: {list:?}");
        assert_eq!(list[before].rule, "sendmessage.invalid", "{what}");
        assert_eq!(list[before].bot_id.as_deref(), Some(b.bot_id.as_str()));
    }
    // A msg that is not an object at all.
    let r = api_raw(
        &mock,
        "sendmessage",
        &b.token,
        &json!({"msg": "text", "base_info": base_info()}),
    )
    .await;
    assert_eq!(r.json.unwrap()["ret"], -3);
    assert_eq!(outbound_len(&mock, &b).await, 0);
    let n = violations(&mock).await.len();
    assert_eq!(n, cases.len() + 1);
    // None of them used the allowance: ten valid sends still pass.
    send_ok(&c, peer, &token, 10).await;
    assert_eq!(violations(&mock).await.len(), n);
}

#[tokio::test]
async fn sdk_style_nulls_are_accepted() {
    let mock = quick_mock();
    let b = bot(&mock).await;
    let c = client(&mock, &b.token);
    let peer = "u1@im.wechat";
    let token = converse(&mock, &b, &c, peer).await;
    let msg = json!({
        "seq": null,
        "message_id": null,
        "from_user_id": "",
        "to_user_id": peer,
        "client_id": "sdk-1",
        "create_time_ms": null,
        "session_id": null,
        "group_id": null,
        "message_type": 2,
        "message_state": 2,
        "item_list": [{
            "type": 1,
            "create_time_ms": null,
            "msg_id": null,
            "ref_msg": null,
            "text_item": {"text": "hi"},
            "image_item": null,
            "voice_item": null,
            "file_item": null,
            "video_item": null,
            "tool_call_start_item": null,
            "tool_call_result_item": null,
        }],
        "context_token": token,
        "run_id": null,
    });
    let r = api_raw(
        &mock,
        "sendmessage",
        &b.token,
        &json!({"msg": msg, "base_info": base_info()}),
    )
    .await;
    let v = r.json.unwrap();
    assert_eq!(v["ret"], 0, "{v}");
    assert!(v["message_id"].as_u64().is_some(), "{v}");
    // A null context token is a missing one: accepted, no violation.
    let mut msg2 = raw_msg(peer, "sdk-2", &token);
    msg2["context_token"] = Value::Null;
    let v = api_raw(
        &mock,
        "sendmessage",
        &b.token,
        &json!({"msg": msg2, "base_info": base_info()}),
    )
    .await
    .json
    .unwrap();
    assert_eq!(v["ret"], 0, "{v}");
    assert_eq!(outbound_len(&mock, &b).await, 2);
    assert_no_violations(&mock).await;
}

#[tokio::test]
async fn text_over_16384_utf8_bytes_answers_minus_2() {
    let mock = quick_mock();
    let b = bot(&mock).await;
    let c = client(&mock, &b.token);
    let peer = "u1@im.wechat";
    let token = converse(&mock, &b, &c, peer).await;
    // 8192 two-byte characters: 16384 bytes, exactly the limit.
    let at_limit = "é".repeat(8192);
    assert_eq!(at_limit.len(), 16384);
    c.send_message(text_reply(peer, Some(&token), &at_limit))
        .await
        .unwrap();
    let over = format!("{at_limit}a");
    let err = c
        .send_message(text_reply(peer, Some(&token), &over))
        .await
        .unwrap_err();
    assert_eq!(api_ret(&err), Some(-2), "{err}");
    let log = mock.outbound(&b.bot_id).await.unwrap().messages;
    assert_eq!(log.len(), 1);
    assert_eq!(
        log[0].msg["item_list"][0]["text_item"]["text"],
        at_limit.as_str()
    );
    let list = violations(&mock).await;
    assert_eq!(rules(&list), ["sendmessage.text_too_long"], "{list:?}");
    // The rejected one used no allowance: 9 more fit.
    send_ok(&c, peer, &token, 9).await;
}

#[tokio::test]
async fn context_token_must_be_the_newest_handed_out() {
    let mock = quick_mock();
    let b = bot(&mock).await;
    let c = client(&mock, &b.token);
    let peer = "u1@im.wechat";
    for t in ["one", "two"] {
        mock.inbound(&b.bot_id, &Inbound::text(peer, t))
            .await
            .unwrap();
    }
    let r = poll(&c, "").await;
    let t1 = r.msgs[0].context_token.clone().unwrap();
    let t2 = r.msgs[1].context_token.clone().unwrap();
    // The newest: fine. None: allowed and not recorded.
    c.send_message(text_reply(peer, Some(&t2), "a"))
        .await
        .unwrap();
    c.send_message(text_reply(peer, None, "b")).await.unwrap();
    assert_no_violations(&mock).await;
    // An older one: accepted, recorded.
    c.send_message(text_reply(peer, Some(&t1), "c"))
        .await
        .unwrap();
    let list = violations(&mock).await;
    assert_eq!(rules(&list), ["context_token.not_newest"], "{list:?}");
    // A third message still queued: its token does not count yet.
    let queued = mock
        .inbound(&b.bot_id, &Inbound::text(peer, "three"))
        .await
        .unwrap();
    let t3 = queued["context_token"].as_str().unwrap().to_owned();
    c.send_message(text_reply(peer, Some(&t2), "d"))
        .await
        .unwrap();
    assert_eq!(violations(&mock).await.len(), 1);
    c.send_message(text_reply(peer, Some(&t3), "e"))
        .await
        .unwrap();
    assert_eq!(
        rules(&violations(&mock).await),
        ["context_token.not_newest"; 2]
    );
    // Once handed out it is the newest, and t2 no longer is.
    let r = poll(&c, "").await;
    assert_eq!(r.msgs[0].context_token.as_deref(), Some(t3.as_str()));
    c.send_message(text_reply(peer, Some(&t3), "f"))
        .await
        .unwrap();
    assert_eq!(violations(&mock).await.len(), 2);
    c.send_message(text_reply(peer, Some(&t2), "g"))
        .await
        .unwrap();
    assert_eq!(violations(&mock).await.len(), 3);
    // Every one of them was stored.
    assert_eq!(outbound_len(&mock, &b).await, 7);
}

// ---------------------------------------------------------------- reply budget

/// Injects `n` texts `m0`, `m1`, ... from `u1@im.wechat` to the bot.
async fn inject_texts(mock: &MockIlink, bot_id: &str, n: usize) {
    for i in 0..n {
        mock.inbound(bot_id, &Inbound::text("u1@im.wechat", format!("m{i}")))
            .await
            .unwrap();
    }
}

/// Sends `n` distinct texts, each of which must be accepted.
async fn send_ok(c: &IlinkClient, peer: &str, token: &str, n: usize) {
    for i in 0..n {
        let outcome = c
            .send_message(text_reply(peer, Some(token), &format!("r{i}")))
            .await
            .unwrap_or_else(|e| panic!("send {i} refused: {e}"));
        assert!(matches!(outcome, SendOutcome::Delivered { .. }));
    }
}

async fn send_refused(c: &IlinkClient, peer: &str, token: Option<&str>) {
    let err = c
        .send_message(text_reply(peer, token, "refused"))
        .await
        .unwrap_err();
    assert!(
        matches!(err.kind(), ErrorKind::Api { ret: Some(-2), .. }),
        "{err}"
    );
}

#[tokio::test]
async fn eleventh_reply_after_one_inbound_is_refused() {
    let mock = quick_mock();
    let b = bot(&mock).await;
    let c = client(&mock, &b.token);
    let peer = "u1@im.wechat";
    let token = converse(&mock, &b, &c, peer).await;
    send_ok(&c, peer, &token, 10).await;
    send_refused(&c, peer, Some(&token)).await;
    send_refused(&c, peer, Some(&token)).await;
    assert_eq!(outbound_len(&mock, &b).await, 10);
    // The raw answer is exactly {"ret": -2, "errmsg": ""}.
    let v = api_raw(
        &mock,
        "sendmessage",
        &b.token,
        &json!({"msg": raw_msg(peer, "raw-1", &token), "base_info": base_info()}),
    )
    .await
    .json
    .unwrap();
    assert_eq!(v, json!({"ret": -2, "errmsg": ""}));
    // Another peer has an allowance of its own.
    let other = "u2@im.wechat";
    let t2 = converse(&mock, &b, &c, other).await;
    send_ok(&c, other, &t2, 10).await;
    send_refused(&c, other, Some(&t2)).await;
    assert_no_violations(&mock).await;
}

#[tokio::test]
async fn each_inbound_resets_the_allowance_to_ten() {
    let mock = quick_mock();
    let b = bot(&mock).await;
    let c = client(&mock, &b.token);
    let peer = "u1@im.wechat";
    let token = converse(&mock, &b, &c, peer).await;
    send_ok(&c, peer, &token, 3).await;
    // Two more inbound messages: the allowance is 10 again, not 17 or 27.
    mock.inbound(&b.bot_id, &Inbound::text(peer, "again"))
        .await
        .unwrap();
    let token = converse(&mock, &b, &c, peer).await;
    send_ok(&c, peer, &token, 10).await;
    send_refused(&c, peer, Some(&token)).await;
    // Exhausted, then a new inbound: 10 more.
    let token = converse(&mock, &b, &c, peer).await;
    send_ok(&c, peer, &token, 10).await;
    send_refused(&c, peer, Some(&token)).await;
    assert_eq!(outbound_len(&mock, &b).await, 23);
    assert_no_violations(&mock).await;
}

#[tokio::test]
async fn reply_window_is_24_hours_after_the_last_inbound() {
    const DAY: u64 = 24 * 3600 * 1000;
    let mock = quick_mock();
    let b = bot(&mock).await;
    let c = client(&mock, &b.token);
    let peer = "u1@im.wechat";
    let token = converse(&mock, &b, &c, peer).await;
    mock.advance_clock(DAY - 2_000).await.unwrap();
    send_ok(&c, peer, &token, 1).await;
    mock.advance_clock(2_001).await.unwrap();
    send_refused(&c, peer, Some(&token)).await;
    // A new inbound opens a new window.
    let token = converse(&mock, &b, &c, peer).await;
    send_ok(&c, peer, &token, 1).await;
    mock.advance_clock(DAY + 1).await.unwrap();
    send_refused(&c, peer, Some(&token)).await;
    assert_eq!(outbound_len(&mock, &b).await, 2);
    assert_no_violations(&mock).await;
}

/// Exactly 24 h after the last inbound is still inside the window. The mock's
/// clock runs on real time, so the test aims at the boundary (learning the
/// latency between a probe send and the edge send as it goes) and retries with
/// a fresh peer until a send lands on it exactly (read back from the outbound
/// log), or a refusal proves the boundary exclusive.
#[tokio::test]
async fn reply_window_is_inclusive_at_exactly_24_hours() {
    const DAY: i64 = 24 * 3600 * 1000;
    let mock = quick_mock();
    let b = bot(&mock).await;
    let c = client(&mock, &b.token);
    let mut lead = 1i64;
    for attempt in 0..300 {
        let peer = format!("p{attempt}@im.wechat");
        let sent = mock
            .inbound(&b.bot_id, &Inbound::text(&peer, "hi"))
            .await
            .unwrap();
        let t_in = sent["create_time_ms"].as_i64().unwrap();
        // A first send tells the mock's time.
        c.send_message(text_reply(&peer, None, "probe"))
            .await
            .unwrap();
        let log = mock.outbound(&b.bot_id).await.unwrap().messages;
        let t_probe = log.last().unwrap().received_at_ms;
        let advance = DAY - (t_probe - t_in) - lead;
        mock.advance_clock(u64::try_from(advance).unwrap())
            .await
            .unwrap();
        match c.send_message(text_reply(&peer, None, "edge")).await {
            Ok(_) => {
                let log = mock.outbound(&b.bot_id).await.unwrap().messages;
                let at = log.last().unwrap().received_at_ms - t_in;
                assert!(at <= DAY, "accepted {at} ms after the inbound");
                if at == DAY {
                    assert_no_violations(&mock).await;
                    return;
                }
                // Aimed too early: the latency was shorter.
                lead = (lead - (DAY - at)).max(0);
            }
            Err(err) => {
                assert_eq!(api_ret(&err), Some(-2), "{err}");
                let rec = mock
                    .requests(Some("/ilink/bot/sendmessage"), None, None)
                    .await
                    .unwrap();
                let answered = rec.last().unwrap().at_ms - t_in;
                assert!(
                    answered > DAY,
                    "refused although answered {answered} ms after the inbound"
                );
                lead += 1;
            }
        }
    }
    panic!("no send landed exactly on the 24 h boundary in 300 attempts");
}

#[tokio::test]
async fn no_reply_to_a_user_who_never_wrote() {
    let mock = quick_mock();
    let b = bot(&mock).await;
    let c = client(&mock, &b.token);
    send_refused(&c, "stranger@im.wechat", None).await;
    // Another user writing does not open the stranger's window.
    let _ = converse(&mock, &b, &c, "friend@im.wechat").await;
    send_refused(&c, "stranger@im.wechat", None).await;
    assert_eq!(outbound_len(&mock, &b).await, 0);
    assert_no_violations(&mock).await;
}

#[tokio::test]
async fn bot_without_reply_budget_is_not_limited() {
    let mock = quick_mock();
    let b = mock
        .create_bot(&NewBot {
            reply_budget: Some(false),
            ..NewBot::default()
        })
        .await
        .unwrap();
    let c = client(&mock, &b.token);
    for i in 0..15 {
        c.send_message(text_reply("stranger@im.wechat", None, &format!("s{i}")))
            .await
            .unwrap();
    }
    let peer = "u1@im.wechat";
    let token = converse(&mock, &b, &c, peer).await;
    mock.advance_clock(48 * 3600 * 1000).await.unwrap();
    send_ok(&c, peer, &token, 12).await;
    assert_eq!(outbound_len(&mock, &b).await, 27);
    assert_no_violations(&mock).await;
}

// ---------------------------------------------------------------- upload + CDN

#[tokio::test]
async fn uploaded_media_is_sent_and_checked_in_both_upload_modes() {
    let mock = quick_mock();
    for mode in [None, Some("full_url"), Some("param")] {
        let b = mock
            .create_bot(&NewBot {
                upload_mode: mode.map(str::to_owned),
                ..NewBot::default()
            })
            .await
            .unwrap();
        let c = client(&mock, &b.token);
        let peer = "u1@im.wechat";
        let token = converse(&mock, &b, &c, peer).await;
        let target = ReplyTarget::new(peer).context_token(&token);
        let cases = [
            (MediaKind::Image, 1000, "image"),
            (MediaKind::File, 32, "file"),
            (MediaKind::Video, 70_000, "video"),
            (MediaKind::Voice, 5, "voice"),
        ];
        for (i, (kind, size, name)) in cases.into_iter().enumerate() {
            let data = noise(size, i as u32 + 7);
            let up = c
                .upload_media(MediaSource::Bytes(data.clone().into()), kind, peer)
                .await
                .unwrap_or_else(|e| panic!("{mode:?} {name}: {e}"));
            assert_eq!(up.raw_size, size as u64);
            assert_eq!(up.cipher_size, (size as u64 / 16 + 1) * 16);
            let stored = mock.cdn_object(&up.download_param).await.unwrap();
            assert_eq!(stored.size, size as u64);
            assert_eq!(stored.md5, md5_hex(&data));
            let msgs = target.media_messages("see this", &up, Some("report.bin"));
            assert_eq!(msgs.len(), 2, "caption and media are two messages");
            for m in msgs {
                c.send_message(m).await.unwrap();
            }
            let log = mock.outbound(&b.bot_id).await.unwrap().messages;
            let (caption, media) = (&log[log.len() - 2], &log[log.len() - 1]);
            assert_eq!(caption.msg["item_list"][0]["text_item"]["text"], "see this");
            assert!(caption.media.is_empty());
            assert_eq!(media.media.len(), 1, "{mode:?} {name}");
            let check = &media.media[0];
            assert_eq!(check.kind, name);
            assert!(check.decrypt_ok, "{mode:?} {name}");
            assert!(check.matches_upload, "{mode:?} {name}");
            assert_eq!(check.size, Some(size as u64));
            assert_eq!(check.md5.as_deref(), Some(md5_hex(&data).as_str()));
        }
        // The getuploadurl replies carried the form the bot was made with.
        let replies = mock
            .requests(Some("/ilink/bot/getuploadurl"), Some(&b.bot_id), None)
            .await
            .unwrap();
        assert_eq!(replies.len(), 4);
        for r in &replies {
            assert_eq!(r.reply["ret"], 0);
            if mode == Some("param") {
                assert!(r.reply["upload_param"].as_str().is_some(), "{:?}", r.reply);
                assert!(r.reply.get("upload_full_url").is_none(), "{:?}", r.reply);
            } else {
                let url = r.reply["upload_full_url"].as_str().unwrap();
                assert!(
                    url.starts_with(&format!("{}/upload?", mock.cdn_base_url())),
                    "{url}"
                );
                assert!(r.reply.get("upload_param").is_none(), "{:?}", r.reply);
            }
        }
        let uploads = mock
            .requests(Some("/c2c/upload"), Some(&b.bot_id), None)
            .await
            .unwrap();
        assert_eq!(uploads.len(), 4);
        assert!(uploads.iter().all(|u| u.status == 200));
        assert!(uploads.iter().all(|u| u.query.contains_key("filekey")));
    }
    assert_no_violations(&mock).await;
}

/// A valid getuploadurl body for `data` encrypted with `key_hex`.
fn upload_body(peer: &str, data: &[u8], key_hex: &str) -> Value {
    json!({
        "filekey": "00112233445566778899aabbccddeeff",
        "media_type": 1,
        "to_user_id": peer,
        "rawsize": data.len(),
        "rawfilemd5": md5_hex(data),
        "filesize": (data.len() / 16 + 1) * 16,
        "no_need_thumb": true,
        "aeskey": key_hex,
        "base_info": base_info(),
    })
}

const KEY_HEX: &str = "0123456789abcdef0123456789abcdef";

#[tokio::test]
async fn bad_getuploadurl_fields_answer_minus_1() {
    let mock = quick_mock();
    let b = bot(&mock).await;
    let peer = "u1@im.wechat";
    let data = noise(10, 1);
    let good = upload_body(peer, &data, KEY_HEX);
    let ok = api_raw(&mock, "getuploadurl", &b.token, &good)
        .await
        .json
        .unwrap();
    assert_eq!(ok["ret"], 0, "{ok}");
    assert!(ok["upload_full_url"].as_str().is_some(), "{ok}");
    assert_no_violations(&mock).await;
    let cases: Vec<(&str, Value)> = vec![
        ("filesize = rawsize", json!({"filesize": 10})),
        ("filesize one block too many", json!({"filesize": 32})),
        ("filesize missing", json!({"filesize": null})),
        (
            "rawsize 16 needs 32",
            json!({"rawsize": 16, "filesize": 16}),
        ),
        ("rawsize missing", json!({"rawsize": null})),
        ("aeskey 31 hex", json!({"aeskey": &KEY_HEX[1..]})),
        ("aeskey 33 hex", json!({"aeskey": format!("{KEY_HEX}0")})),
        (
            "aeskey not hex",
            json!({"aeskey": "zz23456789abcdef0123456789abcdef"}),
        ),
        (
            "aeskey base64",
            json!({"aeskey": "ASNFZ4mrze8BI0VniavN7w=="}),
        ),
        ("aeskey missing", json!({"aeskey": null})),
        ("filekey missing", json!({"filekey": null})),
        ("filekey empty", json!({"filekey": ""})),
        ("rawfilemd5 missing", json!({"rawfilemd5": null})),
        ("media_type 9", json!({"media_type": 9})),
        ("media_type 0", json!({"media_type": 0})),
        ("media_type missing", json!({"media_type": null})),
    ];
    for (i, (what, patch)) in cases.iter().enumerate() {
        let mut body = good.clone();
        for (k, v) in patch.as_object().unwrap() {
            if v.is_null() {
                body.as_object_mut().unwrap().remove(k);
            } else {
                body[k] = v.clone();
            }
        }
        let r = api_raw(&mock, "getuploadurl", &b.token, &body).await;
        assert_eq!(r.status, 200, "{what}");
        let v = r.json.unwrap();
        assert_eq!(v["ret"], -1, "{what}: {v}");
        assert_eq!(v["errcode"], -1, "{what}: {v}");
        assert!(
            v["errmsg"].as_str().is_some_and(|m| !m.is_empty()),
            "{what}: {v}"
        );
        assert!(v.get("upload_full_url").is_none() && v.get("upload_param").is_none());
        let list = violations(&mock).await;
        assert_eq!(list.len(), i + 1, "{what}: {list:?}");
        assert_eq!(list[i].rule, "getuploadurl.invalid", "{what}");
        assert_eq!(list[i].bot_id.as_deref(), Some(b.bot_id.as_str()));
    }
}

async fn cdn_post(
    mock: &MockIlink,
    param: Option<&str>,
    filekey: Option<&str>,
    body: Vec<u8>,
) -> RawReply {
    let mut query = Vec::new();
    if let Some(p) = param {
        query.push(("encrypted_query_param", p));
    }
    if let Some(f) = filekey {
        query.push(("filekey", f));
    }
    let resp = reqwest::Client::new()
        .post(format!("{}/upload", mock.cdn_base_url()))
        .query(&query)
        .header("Content-Type", "application/octet-stream")
        .body(body)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let bytes = resp.bytes().await.unwrap();
    RawReply {
        status,
        json: serde_json::from_slice(&bytes).ok(),
        headers,
    }
}

#[tokio::test]
async fn cdn_upload_must_match_its_getuploadurl() {
    let mock = quick_mock();
    let b = mock
        .create_bot(&NewBot {
            upload_mode: Some("param".into()),
            ..NewBot::default()
        })
        .await
        .unwrap();
    let data = noise(100, 3);
    let body = upload_body("u1@im.wechat", &data, KEY_HEX);
    let filekey = body["filekey"].as_str().unwrap().to_owned();
    let v = api_raw(&mock, "getuploadurl", &b.token, &body)
        .await
        .json
        .unwrap();
    let param = v["upload_param"].as_str().unwrap().to_owned();
    let key = AesKey::from_hex(KEY_HEX).unwrap();
    let ct = ilink_client::crypto::encrypt(&key, &data);
    assert_eq!(ct.len(), 112);
    let mut longer = ct.clone();
    longer.extend_from_slice(&[0; 16]);
    let other_key = AesKey::from_hex("ffeeddccbbaa99887766554433221100").unwrap();
    /// What, upload param, filekey, body, whether the violation names the bot.
    type Case<'a> = (&'a str, Option<&'a str>, Option<&'a str>, Vec<u8>, bool);
    let cases: Vec<Case<'_>> = vec![
        (
            "short body",
            Some(&param),
            Some(&filekey),
            ct[..96].to_vec(),
            true,
        ),
        ("long body", Some(&param), Some(&filekey), longer, true),
        (
            "other key",
            Some(&param),
            Some(&filekey),
            ilink_client::crypto::encrypt(&other_key, &data),
            true,
        ),
        (
            "other plaintext, same size",
            Some(&param),
            Some(&filekey),
            ilink_client::crypto::encrypt(&key, &noise(100, 4)),
            true,
        ),
        (
            "shorter plaintext, same padded size",
            Some(&param),
            Some(&filekey),
            ilink_client::crypto::encrypt(&key, &data[..99]),
            true,
        ),
        (
            "unknown param",
            Some("up_never_issued"),
            Some(&filekey),
            ct.clone(),
            false,
        ),
        ("no param", None, Some(&filekey), ct.clone(), false),
        (
            "wrong filekey",
            Some(&param),
            Some("ffffffffffffffffffffffffffffffff"),
            ct.clone(),
            true,
        ),
        ("no filekey", Some(&param), None, ct.clone(), true),
    ];
    for (i, (what, p, f, body, names_bot)) in cases.into_iter().enumerate() {
        let r = cdn_post(&mock, p, f, body).await;
        assert_eq!(r.status, 400, "{what}");
        assert!(
            r.headers
                .get("x-error-message")
                .is_some_and(|m| !m.is_empty()),
            "{what}: no x-error-message"
        );
        assert!(r.headers.get("x-encrypted-param").is_none(), "{what}");
        let list = violations(&mock).await;
        assert_eq!(list.len(), i + 1, "{what}: {list:?}");
        assert_eq!(list[i].rule, "cdn.upload_invalid", "{what}");
        assert_eq!(list[i].path, "/c2c/upload");
        let expect = names_bot.then_some(b.bot_id.as_str());
        assert_eq!(list[i].bot_id.as_deref(), expect, "{what}");
    }
    // The right body still goes through afterwards.
    let r = cdn_post(&mock, Some(&param), Some(&filekey), ct).await;
    assert_eq!(r.status, 200);
    let dl = r.headers["x-encrypted-param"].to_str().unwrap().to_owned();
    let stored = mock.cdn_object(&dl).await.unwrap();
    assert_eq!(stored.md5, md5_hex(&data));
    assert_eq!(violations(&mock).await.len(), 9);
}

#[tokio::test]
async fn sent_media_items_are_checked_against_their_upload() {
    let mock = quick_mock();
    let b = mock
        .create_bot(&NewBot {
            reply_budget: Some(false),
            ..NewBot::default()
        })
        .await
        .unwrap();
    let c = client(&mock, &b.token);
    let peer = "u1@im.wechat";
    let target = ReplyTarget::new(peer);
    let upload = |kind, n, seed| {
        let c = c.clone();
        async move {
            let data = noise(n, seed);
            let up = c
                .upload_media(MediaSource::Bytes(data.clone().into()), kind, peer)
                .await
                .unwrap();
            (data, up)
        }
    };
    let (_, image) = upload(MediaKind::Image, 300, 1).await;
    let (_, video) = upload(MediaKind::Video, 500, 2).await;
    let (file_data, file) = upload(MediaKind::File, 77, 3).await;
    assert_no_violations(&mock).await;

    // Each case: the item, the rule it must record, whether it decrypts.
    let mut cases: Vec<(&str, MessageItem, &str, bool)> = Vec::new();
    let mut item = media_item(&image, None);
    item.image_item
        .as_mut()
        .unwrap()
        .media
        .as_mut()
        .unwrap()
        .encrypt_query_param = Some("dl_never_issued".into());
    cases.push(("unknown param", item, "media.unknown", false));
    let mut wrong = image.clone();
    wrong.key = AesKey::random();
    cases.push((
        "wrong key",
        media_item(&wrong, None),
        "media.decrypt",
        false,
    ));
    // A wrong key whose garbage happens to end in valid padding.
    let ct = reqwest::get(format!(
        "{}/download?encrypted_query_param={}",
        mock.cdn_base_url(),
        image.download_param
    ))
    .await
    .unwrap()
    .bytes()
    .await
    .unwrap();
    assert_eq!(ct.len() as u64, image.cipher_size);
    let lucky = (0u32..)
        .map(|seed| AesKey::from_hex(&hex::encode(noise(16, seed))).unwrap())
        .find(|k| *k != image.key && ilink_client::crypto::decrypt(k, &ct).is_ok())
        .unwrap();
    let mut wrong = image.clone();
    wrong.key = lucky;
    cases.push((
        "wrong key, valid padding",
        media_item(&wrong, None),
        "media.decrypt",
        false,
    ));
    let mut item = media_item(&image, None);
    item.image_item
        .as_mut()
        .unwrap()
        .media
        .as_mut()
        .unwrap()
        .aes_key = None;
    cases.push(("no key", item, "media.decrypt", false));
    let mut item = media_item(&image, None);
    item.image_item.as_mut().unwrap().mid_size = Some(image.cipher_size + 16);
    cases.push(("mid_size", item, "media.size", true));
    let mut item = media_item(&video, None);
    item.video_item.as_mut().unwrap().video_size = Some(video.raw_size);
    cases.push(("video_size", item, "media.size", true));
    let mut item = media_item(&file, Some("a.txt"));
    item.file_item.as_mut().unwrap().len = Some(file.cipher_size.to_string());
    cases.push(("file len", item, "media.size", true));
    let mut item = media_item(&file, Some("a.txt"));
    item.file_item.as_mut().unwrap().len = Some("seventy-seven".into());
    cases.push(("file len not a number", item, "media.size", true));

    for (i, (what, item, rule, decrypts)) in cases.into_iter().enumerate() {
        let outcome = c.send_message(target.message(item)).await.unwrap();
        assert!(matches!(outcome, SendOutcome::Delivered { .. }), "{what}");
        let log = mock.outbound(&b.bot_id).await.unwrap().messages;
        assert_eq!(log.len(), i + 1, "{what}: stored");
        let check = &log[i].media[0];
        assert_eq!(check.decrypt_ok, decrypts, "{what}: {check:?}");
        if decrypts {
            assert!(check.matches_upload, "{what}");
            assert!(check.size.is_some() && check.md5.is_some(), "{what}");
        } else {
            assert!(!check.matches_upload, "{what}");
            assert_eq!((check.size, check.md5.as_deref()), (None, None), "{what}");
        }
        let list = violations(&mock).await;
        assert_eq!(list.len(), i + 1, "{what}: {list:?}");
        assert_eq!(list[i].rule, rule, "{what}");
        assert_eq!(list[i].bot_id.as_deref(), Some(b.bot_id.as_str()));
    }
    // The right file len is fine.
    c.send_message(target.message(media_item(&file, Some("a.txt"))))
        .await
        .unwrap();
    let log = mock.outbound(&b.bot_id).await.unwrap().messages;
    let check = &log.last().unwrap().media[0];
    assert_eq!(check.size, Some(77));
    assert_eq!(check.md5.as_deref(), Some(md5_hex(&file_data).as_str()));
    assert_eq!(violations(&mock).await.len(), 8);
}

#[tokio::test]
async fn forwarded_inbound_media_decrypts_but_matches_no_upload() {
    let mock = quick_mock();
    let b = bot(&mock).await;
    let c = client(&mock, &b.token);
    let peer = "u1@im.wechat";
    let data = noise(200, 9);
    mock.inbound(
        &b.bot_id,
        &Inbound {
            from_user_id: peer.into(),
            items: vec![InboundItem::Image(MediaSpec {
                data_base64: B64.encode(&data),
                key: KeyForm::Base64Raw,
                full_url: None,
            })],
            quote: None,
            message_id: None,
        },
    )
    .await
    .unwrap();
    let r = poll(&c, "").await;
    let msg = &r.msgs[0];
    let mut item = msg.item_list[0].clone();
    item.ref_msg = None;
    let target = ReplyTarget::new(peer).context_token(msg.context_token.clone().unwrap());
    c.send_message(target.message(item)).await.unwrap();
    let log = mock.outbound(&b.bot_id).await.unwrap().messages;
    let check = &log[0].media[0];
    assert_eq!(check.kind, "image");
    assert!(check.decrypt_ok);
    assert!(!check.matches_upload);
    assert_eq!(check.size, Some(200));
    assert_eq!(check.md5.as_deref(), Some(md5_hex(&data).as_str()));
    assert_no_violations(&mock).await;
}

// ---------------------------------------------------------------- inbound media

fn media_inbound(peer: &str, item: InboundItem) -> Inbound {
    Inbound {
        from_user_id: peer.into(),
        items: vec![item],
        quote: None,
        message_id: None,
    }
}

#[tokio::test]
async fn injected_media_downloads_with_every_key_form() {
    let mock = quick_mock();
    let b = bot(&mock).await;
    let c = client(&mock, &b.token);
    let peer = "u1@im.wechat";
    let forms = [
        KeyForm::HexField,
        KeyForm::Base64Raw,
        KeyForm::Base64Hex,
        KeyForm::None,
    ];
    let mut seed = 100;
    let mut checked = 0;
    for kind in ["image", "file", "video", "voice"] {
        for key in forms {
            // Voice has no full_url; the others with and without.
            let urls: &[Option<FullUrl>] = if kind == "voice" {
                &[None]
            } else {
                &[None, Some(FullUrl::Flag(false)), Some(FullUrl::Flag(true))]
            };
            for full_url in urls {
                seed += 1;
                let data = noise(100 + seed as usize, seed);
                let data_base64 = B64.encode(&data);
                let item = match kind {
                    "image" => InboundItem::Image(MediaSpec {
                        data_base64,
                        key,
                        full_url: full_url.clone(),
                    }),
                    "video" => InboundItem::Video(MediaSpec {
                        data_base64,
                        key,
                        full_url: full_url.clone(),
                    }),
                    "file" => InboundItem::File(FileSpec {
                        file_name: "report.pdf".into(),
                        data_base64,
                        key,
                        full_url: full_url.clone(),
                    }),
                    _ => InboundItem::Voice(VoiceSpec {
                        data_base64,
                        text: None,
                        key,
                    }),
                };
                let what = format!("{kind} {key:?} {full_url:?}");
                let injected = mock.inbound(&b.bot_id, &media_inbound(peer, item)).await;
                if key == KeyForm::HexField && kind != "image" {
                    match injected {
                        Err(MockError::Control { status: 400, .. }) => continue,
                        other => panic!("{what}: {other:?}"),
                    }
                }
                injected.unwrap_or_else(|e| panic!("{what}: {e}"));
                let r = poll(&c, "").await;
                assert_eq!(r.msgs.len(), 1, "{what}");
                let msg = &r.msgs[0];
                let m = main_media(msg).unwrap_or_else(|| panic!("{what}: no media"));
                assert_eq!(m.kind.as_str(), kind, "{what}");
                assert!(!m.quoted);
                let cdn = m.media().unwrap();
                assert_eq!(
                    cdn.full_url.is_some(),
                    *full_url == Some(FullUrl::Flag(true)),
                    "{what}"
                );
                let param = cdn.encrypt_query_param.clone().unwrap();
                let media_key = m.key().unwrap();
                assert_eq!(media_key.is_none(), key == KeyForm::None, "{what}");
                match kind {
                    "image" => {
                        let image = msg.item_list[0].image_item.as_ref().unwrap();
                        assert_eq!(image.aeskey.is_some(), key == KeyForm::HexField, "{what}");
                    }
                    "file" => {
                        let f = msg.item_list[0].file_item.as_ref().unwrap();
                        assert_eq!(f.len.as_deref(), Some(data.len().to_string().as_str()));
                        assert_eq!(m.file_name().as_deref(), Some("report.pdf"));
                    }
                    _ => {}
                }
                let got = c
                    .download_media_to_vec(cdn, m.kind, media_key.as_ref())
                    .await;
                if key == KeyForm::None && kind != "image" {
                    // Keyless file, video and voice are refused by the client;
                    // the CDN still holds the plaintext.
                    let err = got.unwrap_err();
                    assert!(
                        matches!(err.kind(), ErrorKind::MissingKey(_)),
                        "{what}: {err}"
                    );
                    let stored = mock.cdn_object(&param).await.unwrap();
                    assert_eq!(B64.decode(stored.plaintext_base64).unwrap(), data);
                    continue;
                }
                let got = got.unwrap_or_else(|e| panic!("{what}: {e}"));
                assert!(got == data, "{what}: downloaded bytes differ");
                // The mock's own view of the object agrees.
                let stored = mock.cdn_object(&param).await.unwrap();
                assert_eq!(stored.md5, md5_hex(&data), "{what}");
                checked += 1;
            }
        }
    }
    // image 4 forms x 3, file/video 2 keyed forms x 3, voice 2 keyed forms.
    assert_eq!(checked, 12 + 6 + 6 + 2);
    let downloads = mock
        .requests(Some("/c2c/download"), None, None)
        .await
        .unwrap();
    assert_eq!(downloads.len(), checked);
    assert!(downloads.iter().all(|d| d.status == 200));
    assert_no_violations(&mock).await;
}

#[tokio::test]
async fn hex_field_key_is_for_images_only() {
    let mock = quick_mock();
    let b = bot(&mock).await;
    let spec = MediaSpec {
        data_base64: B64.encode(b"data"),
        key: KeyForm::HexField,
        full_url: None,
    };
    let items = [
        InboundItem::Video(spec.clone()),
        InboundItem::File(FileSpec {
            file_name: "f".into(),
            data_base64: spec.data_base64.clone(),
            key: KeyForm::HexField,
            full_url: None,
        }),
        InboundItem::Voice(VoiceSpec {
            data_base64: spec.data_base64.clone(),
            text: None,
            key: KeyForm::HexField,
        }),
    ];
    for item in items {
        let err = mock
            .inbound(&b.bot_id, &media_inbound("u1@im.wechat", item.clone()))
            .await
            .unwrap_err();
        assert!(
            matches!(err, MockError::Control { status: 400, .. }),
            "{item:?}: {err}"
        );
    }
    assert_eq!(mock.bot(&b.bot_id).await.unwrap().queued, 0);
    mock.inbound(
        &b.bot_id,
        &media_inbound("u1@im.wechat", InboundItem::Image(spec)),
    )
    .await
    .unwrap();
    assert_eq!(mock.bot(&b.bot_id).await.unwrap().queued, 1);
}

// ---------------------------------------------------------------- typing, presence

#[tokio::test]
async fn typing_tickets_are_per_peer() {
    let mock = quick_mock();
    let b = bot(&mock).await;
    let c = client(&mock, &b.token);
    let (alice, bob) = ("alice@im.wechat", "bob@im.wechat");
    let token = converse(&mock, &b, &c, alice).await;
    let ticket = c.get_config(alice, Some(&token)).await.unwrap();
    assert!(!ticket.is_empty());
    assert_eq!(
        c.get_config(alice, None).await.unwrap(),
        ticket,
        "stable per peer"
    );
    let bobs = c.get_config(bob, None).await.unwrap();
    assert_ne!(bobs, ticket);
    c.send_typing(alice, &ticket, TypingStatus::Typing)
        .await
        .unwrap();
    c.send_typing(alice, &ticket, TypingStatus::Cancel)
        .await
        .unwrap();
    assert_no_violations(&mock).await;
    let events = mock.typing(&b.bot_id).await.unwrap().events;
    assert_eq!(events.len(), 2);
    assert_eq!(events[0].to, alice);
    assert_eq!(events[0].status, json!(1));
    assert_eq!(events[1].status, json!(2));
    assert!(events.iter().all(|e| e.ticket_ok));

    // Bob's ticket for Alice, and one never issued: answered ret 0, recorded.
    c.send_typing(alice, &bobs, TypingStatus::Typing)
        .await
        .unwrap();
    c.send_typing(bob, "bm90IGEgdGlja2V0", TypingStatus::Typing)
        .await
        .unwrap();
    let events = mock.typing(&b.bot_id).await.unwrap().events;
    assert_eq!(events.len(), 4);
    assert!(!events[2].ticket_ok && !events[3].ticket_ok);
    assert_eq!(events[3].to, bob);
    let list = violations(&mock).await;
    assert_eq!(rules(&list), ["typing.bad_ticket"; 2], "{list:?}");

    // Status 3, with the right ticket.
    let v = api_raw(
        &mock,
        "sendtyping",
        &b.token,
        &json!({"ilink_user_id": alice, "typing_ticket": ticket, "status": 3, "base_info": base_info()}),
    )
    .await
    .json
    .unwrap();
    assert_eq!(v, json!({"ret": 0}));
    let list = violations(&mock).await;
    assert_eq!(list.len(), 3);
    assert_eq!(list[2].rule, "typing.bad_status");
    let events = mock.typing(&b.bot_id).await.unwrap().events;
    assert_eq!(events[4].status, json!(3));
    assert!(events[4].ticket_ok);
}

#[tokio::test]
async fn notify_start_and_stop_set_online() {
    let mock = quick_mock();
    let b = bot(&mock).await;
    let c = client(&mock, &b.token);
    assert!(!mock.bot(&b.bot_id).await.unwrap().online);
    c.notify_start().await.unwrap();
    assert!(mock.bot(&b.bot_id).await.unwrap().online);
    c.notify_stop().await.unwrap();
    assert!(!mock.bot(&b.bot_id).await.unwrap().online);
    let replies = mock
        .requests(Some("/ilink/bot/msg/"), None, None)
        .await
        .unwrap();
    assert_eq!(replies.len(), 2);
    assert!(replies.iter().all(|r| r.reply == json!({"ret": 0})));
    assert_no_violations(&mock).await;
}

// ---------------------------------------------------------------- headers, base_info, body

fn with_header(
    mut headers: Vec<(String, String)>,
    name: &str,
    value: Option<&str>,
) -> Vec<(String, String)> {
    headers.retain(|(k, _)| !k.eq_ignore_ascii_case(name));
    if let Some(v) = value {
        headers.push((name.to_owned(), v.to_owned()));
    }
    headers
}

/// The rules of the violations recorded after `since`.
async fn rules_since(mock: &MockIlink, since: u64) -> Vec<String> {
    mock.violations(None, Some(since))
        .await
        .unwrap()
        .into_iter()
        .map(|v| v.rule)
        .collect()
}

async fn last_violation_seq(mock: &MockIlink) -> u64 {
    violations(mock).await.last().map_or(0, |v| v.seq)
}

#[tokio::test]
async fn header_problems_are_recorded_and_still_answered() {
    let mock = quick_mock();
    let b = bot(&mock).await;
    let url = format!("{}/ilink/bot/msg/notifystart", mock.base_url());
    let std = std_headers(Some(&b.token));
    let body = json!({"base_info": base_info()}).to_string();
    let dev_body =
        json!({"base_info": {"channel_version": "dev", "bot_agent": "OpenClaw"}}).to_string();
    let cases: Vec<(&str, Option<&str>, &str, &[&str])> = vec![
        ("Content-Type", None, &body, &["header.missing"]),
        (
            "Content-Type",
            Some("text/plain"),
            &body,
            &["header.invalid"],
        ),
        (
            "Content-Type",
            Some("application/jsonx"),
            &body,
            &["header.invalid"],
        ),
        (
            "Content-Type",
            Some("application/json; charset=utf-8"),
            &body,
            &[],
        ),
        ("AuthorizationType", None, &body, &["header.missing"]),
        (
            "AuthorizationType",
            Some("Bearer"),
            &body,
            &["header.invalid"],
        ),
        ("X-WECHAT-UIN", None, &body, &["header.missing"]),
        // base64 of "123abc", not base64, empty.
        ("X-WECHAT-UIN", Some("MTIzYWJj"), &body, &["header.invalid"]),
        ("X-WECHAT-UIN", Some("12345"), &body, &["header.invalid"]),
        ("X-WECHAT-UIN", Some(""), &body, &["header.invalid"]),
        // base64 of "42".
        ("X-WECHAT-UIN", Some("NDI="), &body, &[]),
        ("iLink-App-Id", None, &body, &["header.missing"]),
        ("iLink-App-Id", Some(""), &body, &["header.invalid"]),
        ("iLink-App-Id", Some("my-app"), &body, &[]),
        ("iLink-App-ClientVersion", None, &body, &["header.missing"]),
        (
            "iLink-App-ClientVersion",
            Some("abc"),
            &dev_body,
            &["header.invalid"],
        ),
        (
            "iLink-App-ClientVersion",
            Some("2.4.9"),
            &dev_body,
            &["header.invalid"],
        ),
        (
            "iLink-App-ClientVersion",
            Some("-1"),
            &dev_body,
            &["header.invalid"],
        ),
        (
            "iLink-App-ClientVersion",
            Some("16777216"),
            &dev_body,
            &["header.invalid"],
        ),
        ("iLink-App-ClientVersion", Some("16777215"), &dev_body, &[]),
        // Not the packing of base_info's 2.4.9 (132105).
        (
            "iLink-App-ClientVersion",
            Some("132106"),
            &body,
            &["header.invalid"],
        ),
        ("iLink-App-ClientVersion", Some("132106"), &dev_body, &[]),
    ];
    for (name, value, body, expect) in cases {
        let since = last_violation_seq(&mock).await;
        let headers = with_header(std.clone(), name, value);
        let r = post_raw(&url, &headers, body.to_owned()).await;
        assert_eq!(r.status, 200, "{name}: {value:?}");
        assert_eq!(r.json.unwrap(), json!({"ret": 0}), "{name}: {value:?}");
        let list = mock.violations(None, Some(since)).await.unwrap();
        assert_eq!(rules(&list), expect, "{name}: {value:?}: {list:?}");
        for v in &list {
            assert_eq!(v.path, "/ilink/bot/msg/notifystart");
            assert_eq!(v.bot_id.as_deref(), Some(b.bot_id.as_str()));
        }
    }
    // The request was served as if valid.
    assert!(mock.bot(&b.bot_id).await.unwrap().online);
}

#[tokio::test]
async fn missing_authorization_answers_minus_14_and_is_recorded() {
    let mock = quick_mock();
    let b = bot(&mock).await;
    for name in ["msg/notifystart", "getupdates", "sendmessage", "getconfig"] {
        let since = last_violation_seq(&mock).await;
        let r = post_raw(
            &format!("{}/ilink/bot/{name}", mock.base_url()),
            &std_headers(None),
            json!({"base_info": base_info()}).to_string(),
        )
        .await;
        assert_eq!(r.status, 200, "{name}");
        assert_eq!(
            r.json.unwrap(),
            json!({"ret": -14, "errcode": -14, "errmsg": "session timeout"}),
            "{name}"
        );
        assert_eq!(
            rules_since(&mock, since).await,
            ["header.missing"],
            "{name}"
        );
    }
    // A token that is no bot's: -14 too, but the header is there.
    let since = last_violation_seq(&mock).await;
    let r = api_raw(
        &mock,
        "msg/notifystart",
        "nobody:0000",
        &json!({"base_info": base_info()}),
    )
    .await;
    assert_eq!(r.json.unwrap()["ret"], -14);
    assert!(rules_since(&mock, since).await.is_empty());
    assert!(!mock.bot(&b.bot_id).await.unwrap().online);
}

#[tokio::test]
async fn body_that_is_not_a_json_object_is_http_400() {
    let mock = quick_mock();
    let b = bot(&mock).await;
    for name in ["msg/notifystart", "getupdates", "sendmessage"] {
        for body in [
            "",
            "not json",
            "[]",
            "\"text\"",
            "42",
            "null",
            "{\"base_info\":",
        ] {
            let since = last_violation_seq(&mock).await;
            let r = post_raw(
                &format!("{}/ilink/bot/{name}", mock.base_url()),
                &std_headers(Some(&b.token)),
                body.to_owned(),
            )
            .await;
            assert_eq!(r.status, 400, "{name} {body:?}");
            let list = mock.violations(None, Some(since)).await.unwrap();
            assert_eq!(rules(&list), ["body.invalid"], "{name} {body:?}: {list:?}");
            assert_eq!(list[0].bot_id.as_deref(), Some(b.bot_id.as_str()));
        }
    }
    assert!(!mock.bot(&b.bot_id).await.unwrap().online);
}

#[tokio::test]
async fn base_info_problems_are_recorded_and_still_answered() {
    let mock = quick_mock();
    let b = bot(&mock).await;
    let cases: Vec<(Value, &[&str])> = vec![
        (json!({}), &["base_info.missing"]),
        (json!({"base_info": null}), &["base_info.missing"]),
        (json!({"base_info": "2.4.9"}), &["base_info.invalid"]),
        (
            json!({"base_info": {"bot_agent": "OpenClaw"}}),
            &["base_info.invalid"],
        ),
        (
            json!({"base_info": {"channel_version": "", "bot_agent": "OpenClaw"}}),
            &["base_info.invalid"],
        ),
        (
            json!({"base_info": {"channel_version": "2.4.9"}}),
            &["base_info.invalid"],
        ),
        (
            json!({"base_info": {"channel_version": "2.4.9", "bot_agent": null}}),
            &["base_info.invalid"],
        ),
        (
            json!({"base_info": {"channel_version": "2.4.9", "bot_agent": "My Bot"}}),
            &["base_info.invalid"],
        ),
        (
            json!({"base_info": {"channel_version": "2.4.9", "bot_agent": "openclaw"}}),
            &["base_info.invalid"],
        ),
        (
            json!({"base_info": {"channel_version": "2.4.9", "bot_agent": "MyBot/1.0 (unclosed"}}),
            &["base_info.invalid"],
        ),
        (
            json!({"base_info": {"channel_version": "2.4.9", "bot_agent": ""}}),
            &["base_info.invalid"],
        ),
        (
            json!({"base_info": {"channel_version": "2.4.9",
                "bot_agent": "MyBot/1.2.0 (region=cn;env=prod) LangChain/0.3.5"}}),
            &[],
        ),
        (
            json!({"base_info": {"channel_version": "2.4.9", "bot_agent": "MyBot/1.2.0-rc.1+build.5"}}),
            &[],
        ),
        // The header says 132105 (2.4.9): 2.4.11 packs to 132107.
        (
            json!({"base_info": {"channel_version": "2.4.11", "bot_agent": "OpenClaw"}}),
            &["header.invalid"],
        ),
        (
            json!({"base_info": {"channel_version": "2.4.9-beta.1", "bot_agent": "OpenClaw"}}),
            &[],
        ),
        (
            json!({"base_info": {"channel_version": "nightly", "bot_agent": "OpenClaw"}}),
            &[],
        ),
    ];
    for (body, expect) in cases {
        let since = last_violation_seq(&mock).await;
        let r = api_raw(&mock, "msg/notifystart", &b.token, &body).await;
        assert_eq!(r.json.unwrap(), json!({"ret": 0}), "{body}");
        assert_eq!(rules_since(&mock, since).await, expect, "{body}");
    }
    // getupdates with no base_info is still served.
    mock.inbound(&b.bot_id, &Inbound::text("u1@im.wechat", "hi"))
        .await
        .unwrap();
    let since = last_violation_seq(&mock).await;
    let v = api_raw(
        &mock,
        "getupdates",
        &b.token,
        &json!({"get_updates_buf": ""}),
    )
    .await
    .json
    .unwrap();
    assert_eq!(v["msgs"].as_array().unwrap().len(), 1);
    assert_eq!(rules_since(&mock, since).await, ["base_info.missing"]);
}

#[tokio::test]
async fn header_names_match_case_insensitively() {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let mock = quick_mock();
    let b = bot(&mock).await;
    let addr = mock.base_url().trim_start_matches("http://").to_owned();
    let body = json!({"base_info": base_info()}).to_string();
    for style in [
        str::to_owned as fn(&str) -> String,
        str::to_lowercase,
        str::to_uppercase,
    ] {
        let mut head = format!("POST /ilink/bot/msg/notifystart HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n", body.len());
        for (k, v) in std_headers(Some(&b.token)) {
            head.push_str(&format!("{}: {v}\r\n", style(&k)));
        }
        head.push_str("\r\n");
        let mut stream = tokio::net::TcpStream::connect(&addr).await.unwrap();
        stream.write_all(head.as_bytes()).await.unwrap();
        stream.write_all(body.as_bytes()).await.unwrap();
        let mut reply = String::new();
        stream.read_to_string(&mut reply).await.unwrap();
        assert!(reply.starts_with("HTTP/1.1 200"), "{reply}");
        assert!(reply.ends_with(r#"{"ret":0}"#), "{reply}");
    }
    assert!(mock.bot(&b.bot_id).await.unwrap().online);
    assert_no_violations(&mock).await;
}

// ---------------------------------------------------------------- published clients, own client

/// The bot id of a fixture token `<bot_id>:<hex>`.
fn bot_of_token(token: &str) -> &str {
    token.rsplit_once(':').unwrap().0
}

#[tokio::test]
async fn published_clients_login_config_and_presence_requests_raise_no_violation() {
    const PATHS: [&str; 5] = [
        "get_bot_qrcode",
        "get_qrcode_status",
        "notifystart",
        "notifystop",
        "getconfig",
    ];
    let mock = quick_mock();
    let mut replayed = 0;
    for text in [
        include_str!("../../../fixtures/wire/ts-plugin-2.4.9.requests.json"),
        include_str!("../../../fixtures/wire/ilink-sdk-2.4.11.requests.json"),
    ] {
        let records: Vec<Value> = serde_json::from_str(text).unwrap();
        // Create the bots the fixture's tokens name.
        let mut tokens = std::collections::BTreeSet::new();
        for r in &records {
            for (k, v) in r["headers"].as_object().unwrap() {
                if k.eq_ignore_ascii_case("authorization") {
                    let t = v.as_str().unwrap().strip_prefix("Bearer ").unwrap();
                    tokens.insert(t.to_owned());
                }
            }
        }
        assert!(!tokens.is_empty());
        for t in &tokens {
            mock.create_bot(&NewBot {
                bot_id: Some(bot_of_token(t).to_owned()),
                token: Some(t.clone()),
                ..NewBot::default()
            })
            .await
            .unwrap();
        }
        let http = reqwest::Client::new();
        for r in &records {
            let path = r["path"].as_str().unwrap();
            if !PATHS.iter().any(|p| path.ends_with(p)) {
                continue;
            }
            let method =
                reqwest::Method::from_bytes(r["method"].as_str().unwrap().as_bytes()).unwrap();
            let query: Vec<(String, String)> = r["query"]
                .as_object()
                .unwrap()
                .iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_owned()))
                .collect();
            let mut req = http
                .request(method, format!("{}{path}", mock.base_url()))
                .query(&query);
            for (k, v) in r["headers"].as_object().unwrap() {
                if k.eq_ignore_ascii_case("connection") {
                    continue;
                }
                req = req.header(k.as_str(), v.as_str().unwrap());
            }
            if !r["body"].is_null() {
                req = req.body(r["body"].to_string());
            }
            let resp = req.send().await.unwrap();
            assert_eq!(resp.status().as_u16(), 200, "{path}");
            let v: Value = resp.json().await.unwrap();
            assert_eq!(v["ret"], 0, "{path}: {v}");
            replayed += 1;
        }
        let list = violations(&mock).await;
        assert!(list.is_empty(), "{list:?}");
    }
    assert_eq!(replayed, 16 + 11);
    // They were served, not just tolerated: presence went on and off.
    let bots = ["ef550036b041@im.bot", "ffcc7f358717@im.bot"];
    for id in bots {
        let status = mock.bot(id).await.unwrap();
        assert!(!status.online, "{id}: notifystop came last");
    }
    let configs = mock
        .requests(Some("/ilink/bot/getconfig"), None, None)
        .await
        .unwrap();
    assert_eq!(configs.len(), 2);
    assert!(configs
        .iter()
        .all(|r| r.reply["typing_ticket"].as_str().is_some()));
}

#[tokio::test]
async fn a_whole_session_of_ilink_client_raises_no_violation() {
    let mock = quick_mock();
    let b = bot(&mock).await;
    // A configured bot_agent and another channel version (its packing follows).
    let c = IlinkClient::builder()
        .base_url(mock.base_url())
        .cdn_base_url(mock.cdn_base_url())
        .token(&b.token)
        .channel_version("2.4.11")
        .bot_agent("MyBot/1.2.0 (region=cn;env=prod) LangChain/0.3.5")
        .route_tag("7")
        .build()
        .unwrap();
    c.notify_start().await.unwrap();
    let peer = "u1@im.wechat";
    mock.inbound(&b.bot_id, &Inbound::text(peer, "hi"))
        .await
        .unwrap();
    let r = c
        .get_updates("", c.timeouts().next_long_poll(None))
        .await
        .unwrap();
    let msg = &r.msgs[0];
    let token = msg.context_token.clone().unwrap();
    let ticket = c.get_config(peer, Some(&token)).await.unwrap();
    c.send_typing(peer, &ticket, TypingStatus::Typing)
        .await
        .unwrap();
    let target = ReplyTarget::new(peer)
        .context_token(&token)
        .run_id(ilink_client::builders::new_run_id());
    for m in target.text_messages(&"word ".repeat(1000), SplitLimits::default()) {
        c.send_message(m).await.unwrap();
    }
    let up = c
        .upload_media(
            MediaSource::Bytes(noise(5000, 5).into()),
            MediaKind::File,
            peer,
        )
        .await
        .unwrap();
    for m in target.media_messages("", &up, Some("data.bin")) {
        c.send_message(m).await.unwrap();
    }
    c.send_typing(peer, &ticket, TypingStatus::Cancel)
        .await
        .unwrap();
    let _ = c
        .get_updates(
            r.get_updates_buf.as_deref().unwrap(),
            Duration::from_secs(5),
        )
        .await
        .unwrap();
    c.notify_stop().await.unwrap();
    let log = mock.outbound(&b.bot_id).await.unwrap().messages;
    assert_eq!(log.len(), 3, "two text chunks and the file");
    assert!(log[2].media[0].decrypt_ok && log[2].media[0].matches_upload);
    let reqs = mock
        .requests(Some("/ilink/bot/"), None, None)
        .await
        .unwrap();
    assert!(reqs.len() >= 9);
    assert!(reqs
        .iter()
        .all(|r| r.headers["ilink-app-clientversion"] == "132107"));
    // Every reply carries ret as a number, 0 on success.
    for r in &reqs {
        assert_eq!(r.reply["ret"].as_i64(), Some(0), "{} {:?}", r.path, r.reply);
    }
    assert_no_violations(&mock).await;
}

#[tokio::test]
async fn cdn_download_of_an_unknown_param_is_404() {
    let mock = quick_mock();
    let resp = reqwest::get(format!(
        "{}/download?encrypted_query_param=dl_never_issued",
        mock.cdn_base_url()
    ))
    .await
    .unwrap();
    assert_eq!(resp.status().as_u16(), 404);
    let c = client(&mock, "no-token-needed");
    let mut media = ilink_client::wire::CdnMedia::default();
    media.encrypt_query_param = Some("dl_never_issued".into());
    let err = c
        .download_media_to_vec(&media, MediaKind::Image, None)
        .await
        .unwrap_err();
    assert!(
        matches!(err.kind(), ErrorKind::HttpStatus { status: 404, .. }),
        "{err}"
    );
    // CDN calls are never header-checked.
    assert_no_violations(&mock).await;
}

#[tokio::test]
async fn redeliver_fault_answers_at_once_with_nothing_queued() {
    let mock = MockIlink::builder().long_poll_ms(20_000).start().unwrap();
    let b = bot(&mock).await;
    let c = client(&mock, &b.token);
    mock.inbound(&b.bot_id, &Inbound::text("u1@im.wechat", "only"))
        .await
        .unwrap();
    let first = poll(&c, "").await;
    mock.add_fault(&FaultSpec {
        endpoint: "getupdates".into(),
        bot_id: Some(b.bot_id.clone()),
        kind: "redeliver".into(),
        count: Some(5),
        ..FaultSpec::default()
    })
    .await
    .unwrap();
    let started = Instant::now();
    let again = poll(&c, first.get_updates_buf.as_deref().unwrap()).await;
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(ids(&again.msgs), ids(&first.msgs));
    assert_eq!(again.msgs[0].context_token, first.msgs[0].context_token);
    let status = mock.bot(&b.bot_id).await.unwrap();
    assert_eq!((status.queued, status.delivered), (0, 1));
    assert_no_violations(&mock).await;
}
