//! The QR login flow: every status of the table, the refresh limit, verify-code
//! retry, IDC redirect, freshness and the overall timeout.

use std::collections::VecDeque;
use std::time::Duration;

use ilink_client::login::{LoginFlow, LoginOptions, LoginOutcome, LoginPrompt};
use ilink_client::wire::QrStatus;
use ilink_client::{ErrorKind, QrCode};
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::{login_client, Sequence};

#[derive(Default)]
struct Prompt {
    shown: Vec<String>,
    statuses: Vec<QrStatus>,
    codes: VecDeque<Option<String>>,
    asked: Vec<u32>,
}

impl LoginPrompt for Prompt {
    fn show_qr(&mut self, qr: &QrCode, number: u32) {
        // The server hands out q1, q2, ... so a code's number is in its name.
        assert_eq!(qr.qrcode, format!("q{number}"));
        self.shown.push(qr.qrcode.clone());
    }

    fn on_status(&mut self, status: &QrStatus) {
        self.statuses.push(status.clone());
    }

    async fn verify_code(&mut self, attempt: u32) -> Option<String> {
        self.asked.push(attempt);
        self.codes.pop_front().flatten()
    }
}

fn fast() -> LoginOptions {
    let mut o = LoginOptions::with_local_tokens(vec!["old-token".into()]);
    o.poll_interval = Duration::from_millis(1);
    o
}

/// A server whose QR fetches hand out `q1`, `q2`, ... and whose status polls
/// answer `statuses` in order (repeating the last).
async fn server_with(statuses: Vec<serde_json::Value>) -> MockServer {
    let server = crate::support::server().await;
    let qrs = (1..=5)
        .map(|n| json!({"qrcode": format!("q{n}"), "qrcode_img_content": format!("https://qr/q{n}")}))
        .collect();
    Mock::given(method("POST"))
        .and(path("/ilink/bot/get_bot_qrcode"))
        .respond_with(Sequence::json(qrs))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/ilink/bot/get_qrcode_status"))
        .respond_with(Sequence::json(statuses))
        .mount(&server)
        .await;
    server
}

/// The (qrcode, verify_code) of each status poll the server received.
async fn polls(server: &MockServer) -> Vec<(String, Option<String>)> {
    server
        .received_requests()
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.url.path().ends_with("get_qrcode_status"))
        .map(|r| {
            let q = |k: &str| {
                r.url
                    .query_pairs()
                    .find(|(n, _)| n == k)
                    .map(|(_, v)| v.into_owned())
            };
            (q("qrcode").unwrap(), q("verify_code"))
        })
        .collect()
}

async fn run(server: &MockServer, prompt: &mut Prompt) -> LoginOutcome {
    LoginFlow::new(login_client(server), fast())
        .wait(prompt)
        .await
        .unwrap()
}

fn confirmed() -> serde_json::Value {
    json!({"status": "confirmed", "bot_token": "bot-token-xyz", "ilink_bot_id": "b0f5860fdecb@im.bot",
           "baseurl": "https://idc2.example", "ilink_user_id": "owner@im.wechat"})
}

#[tokio::test]
async fn wait_then_scaned_then_confirmed() {
    let server = server_with(vec![
        json!({"status": "wait"}),
        json!({"status": "scaned"}),
        confirmed(),
    ])
    .await;
    let mut prompt = Prompt::default();
    let LoginOutcome::Confirmed(ok) = run(&server, &mut prompt).await else {
        panic!("not confirmed")
    };
    assert_eq!(ok.bot_token, "bot-token-xyz");
    assert_eq!(ok.account_id, "b0f5860fdecb@im.bot");
    assert_eq!(ok.base_url.as_deref(), Some("https://idc2.example"));
    assert_eq!(ok.user_id.as_deref(), Some("owner@im.wechat"));
    assert!(
        !format!("{ok:?}").contains("bot-token-xyz"),
        "Debug hides the token"
    );
    assert_eq!(prompt.shown, ["q1"]);
    assert_eq!(prompt.statuses, [QrStatus::Scaned, QrStatus::Confirmed]);
    assert_eq!(polls(&server).await.len(), 3);
    let fetch = &server.received_requests().await.unwrap()[0];
    let body: serde_json::Value = serde_json::from_slice(&fetch.body).unwrap();
    assert_eq!(body, json!({"local_token_list": ["old-token"]}));
}

#[tokio::test]
async fn confirmed_with_empty_baseurl_keeps_none() {
    let server = server_with(vec![
        json!({"status": "confirmed", "bot_token": "t", "ilink_bot_id": "b@im.bot", "baseurl": ""}),
    ])
    .await;
    let LoginOutcome::Confirmed(ok) = run(&server, &mut Prompt::default()).await else {
        panic!("not confirmed")
    };
    assert_eq!(ok.base_url, None);
    assert_eq!(ok.user_id, None);
}

#[tokio::test]
async fn need_verifycode_sends_the_code_on_the_next_poll_and_retries_when_wrong() {
    let server = server_with(vec![
        json!({"status": "need_verifycode"}),
        json!({"status": "need_verifycode"}),
        json!({"status": "scaned"}),
        json!({"status": "wait"}),
        confirmed(),
    ])
    .await;
    let mut prompt = Prompt {
        codes: VecDeque::from([Some("111111".into()), Some(" 222222 ".into())]),
        ..Prompt::default()
    };
    assert!(matches!(
        run(&server, &mut prompt).await,
        LoginOutcome::Confirmed(_)
    ));
    assert_eq!(prompt.asked, [1, 2], "asked again after a wrong code");
    let codes: Vec<_> = polls(&server).await.into_iter().map(|(_, c)| c).collect();
    assert_eq!(
        codes,
        [
            None,
            Some("111111".into()),
            Some("222222".into()),
            None,
            None
        ],
        "the code goes on the next poll; scaned clears it"
    );
}

#[tokio::test]
async fn no_verify_code_cancels() {
    let server = server_with(vec![json!({"status": "need_verifycode"})]).await;
    let mut prompt = Prompt {
        codes: VecDeque::from([None]),
        ..Prompt::default()
    };
    assert_eq!(run(&server, &mut prompt).await, LoginOutcome::Cancelled);
}

#[tokio::test]
async fn verify_code_blocked_fetches_a_new_qr_and_drops_the_code() {
    let server = server_with(vec![
        json!({"status": "need_verifycode"}),
        json!({"status": "verify_code_blocked"}),
        json!({"status": "wait"}),
        confirmed(),
    ])
    .await;
    let mut prompt = Prompt {
        codes: VecDeque::from([Some("999999".into())]),
        ..Prompt::default()
    };
    assert!(matches!(
        run(&server, &mut prompt).await,
        LoginOutcome::Confirmed(_)
    ));
    assert_eq!(prompt.shown, ["q1", "q2"]);
    assert_eq!(
        polls(&server).await,
        [
            ("q1".into(), None),
            ("q1".into(), Some("999999".into())),
            ("q2".into(), None),
            ("q2".into(), None)
        ]
    );
}

#[tokio::test]
async fn expired_refreshes_up_to_three_qrs_in_all() {
    let server = server_with(vec![json!({"status": "expired"})]).await;
    let mut prompt = Prompt::default();
    assert_eq!(
        run(&server, &mut prompt).await,
        LoginOutcome::QrLimitReached { codes: 3 }
    );
    assert_eq!(prompt.shown, ["q1", "q2", "q3"]);
    let fetches = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.url.path().ends_with("get_bot_qrcode"))
        .count();
    assert_eq!(fetches, 3);
}

#[tokio::test]
async fn expired_then_confirmed_on_the_second_qr() {
    let server = server_with(vec![json!({"status": "expired"}), confirmed()]).await;
    let mut prompt = Prompt::default();
    assert!(matches!(
        run(&server, &mut prompt).await,
        LoginOutcome::Confirmed(_)
    ));
    assert_eq!(
        polls(&server).await,
        [("q1".into(), None), ("q2".into(), None)]
    );
}

#[tokio::test]
async fn idc_redirect_polls_the_redirect_host_with_the_current_scheme() {
    // The main server redirects to the IDC server, which sees the QR expire;
    // the refresh goes back to the configured base, where the login completes.
    let main = crate::support::server().await;
    let idc = crate::support::server().await;
    let redirect_host = idc.address().to_string();
    let qrs = (1..=3)
        .map(|n| json!({"qrcode": format!("q{n}"), "qrcode_img_content": "u"}))
        .collect();
    Mock::given(path("/ilink/bot/get_bot_qrcode"))
        .respond_with(Sequence::json(qrs))
        .mount(&main)
        .await;
    Mock::given(path("/ilink/bot/get_qrcode_status"))
        .respond_with(Sequence::json(vec![
            json!({"status": "scaned"}),
            json!({"status": "scaned_but_redirect", "redirect_host": redirect_host}),
            confirmed(),
        ]))
        .mount(&main)
        .await;
    Mock::given(path("/ilink/bot/get_qrcode_status"))
        .respond_with(Sequence::json(vec![
            json!({"status": "wait"}),
            json!({"status": "expired"}),
        ]))
        .mount(&idc)
        .await;
    let mut prompt = Prompt::default();
    let mut flow = LoginFlow::new(login_client(&main), fast());
    assert!(matches!(
        flow.wait(&mut prompt).await.unwrap(),
        LoginOutcome::Confirmed(_)
    ));
    assert_eq!(
        polls(&idc).await,
        [("q1".into(), None), ("q1".into(), None)]
    );
    assert_eq!(
        polls(&main).await,
        [
            ("q1".into(), None),
            ("q1".into(), None),
            ("q2".into(), None)
        ]
    );
    assert!(prompt.statuses.contains(&QrStatus::ScanedButRedirect));
}

#[tokio::test]
async fn redirect_without_host_keeps_the_current_host() {
    let server = server_with(vec![json!({"status": "scaned_but_redirect"}), confirmed()]).await;
    let mut flow = LoginFlow::new(login_client(&server), fast());
    assert!(matches!(
        flow.wait(&mut Prompt::default()).await.unwrap(),
        LoginOutcome::Confirmed(_)
    ));
    assert_eq!(flow.poll_base(), None);
    assert_eq!(polls(&server).await.len(), 2);
}

#[tokio::test]
async fn binded_redirect_is_already_bound() {
    let server = server_with(vec![json!({"status": "binded_redirect"})]).await;
    assert_eq!(
        run(&server, &mut Prompt::default()).await,
        LoginOutcome::AlreadyBound
    );
}

#[tokio::test]
async fn confirmed_without_token_or_bot_id_fails() {
    for (reply, missing) in [
        (
            json!({"status": "confirmed", "ilink_bot_id": "b@im.bot"}),
            "bot_token",
        ),
        (
            json!({"status": "confirmed", "bot_token": "t", "ilink_bot_id": ""}),
            "ilink_bot_id",
        ),
    ] {
        let server = server_with(vec![reply]).await;
        match run(&server, &mut Prompt::default()).await {
            LoginOutcome::Failed { reason } => assert!(reason.contains(missing), "{reason}"),
            other => panic!("{other:?}"),
        }
    }
}

#[tokio::test]
async fn unknown_statuses_and_failed_polls_count_as_wait() {
    let server = crate::support::server().await;
    Mock::given(path("/ilink/bot/get_bot_qrcode"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"qrcode": "q1", "qrcode_img_content": "u"})),
        )
        .mount(&server)
        .await;
    Mock::given(path("/ilink/bot/get_qrcode_status"))
        .respond_with(Sequence::new(vec![
            ResponseTemplate::new(200).set_body_json(json!({"status": "teleported"})),
            ResponseTemplate::new(524),
            ResponseTemplate::new(200).set_body_string("{not json"),
            ResponseTemplate::new(200).set_body_json(confirmed()),
        ]))
        .mount(&server)
        .await;
    let mut prompt = Prompt::default();
    assert!(matches!(
        run(&server, &mut prompt).await,
        LoginOutcome::Confirmed(_)
    ));
    assert_eq!(polls(&server).await.len(), 4);
    assert_eq!(prompt.shown, ["q1"], "no refresh for failed polls");
}

/// The clock is paused only once the QR code is fetched: while paused, the
/// runtime jumps to the next timer whenever it waits on a socket, so polls end
/// by their own timeouts (as `wait`) and the overall deadline is reached in no
/// real time.
#[tokio::test]
async fn overall_timeout_ends_the_login() {
    let server = server_with(vec![json!({"status": "wait"})]).await;
    let mut options = LoginOptions::default();
    options.overall_timeout = Duration::from_secs(20);
    let mut flow = LoginFlow::new(login_client(&server), options);
    flow.start().await.unwrap();
    tokio::time::pause();
    let started = tokio::time::Instant::now();
    let outcome = flow.wait(&mut Prompt::default()).await.unwrap();
    assert_eq!(outcome, LoginOutcome::TimedOut);
    let elapsed = started.elapsed();
    assert!(elapsed >= Duration::from_secs(20), "{elapsed:?}");
    assert!(elapsed < Duration::from_secs(21), "{elapsed:?}");
}

#[tokio::test]
async fn a_qr_is_fresh_for_five_minutes() {
    let server = server_with(vec![confirmed()]).await;
    let mut flow = LoginFlow::new(login_client(&server), fast());
    assert!(!flow.is_fresh());
    assert_eq!(flow.start().await.unwrap().qrcode, "q1");
    assert!(flow.is_fresh());
    tokio::time::pause();
    tokio::time::advance(Duration::from_secs(299)).await;
    assert!(flow.is_fresh());
    assert_eq!(
        flow.start().await.unwrap().qrcode,
        "q1",
        "a fresh code is reused"
    );
    tokio::time::advance(Duration::from_secs(2)).await;
    assert!(!flow.is_fresh());
    // Back on the real clock for the network part.
    tokio::time::resume();
    let mut prompt = Prompt::default();
    assert!(matches!(
        flow.wait(&mut prompt).await.unwrap(),
        LoginOutcome::Confirmed(_)
    ));
    assert_eq!(
        prompt.shown,
        ["q2"],
        "a stale code is replaced before polling"
    );
    assert_eq!(polls(&server).await, [("q2".into(), None)]);
}

#[tokio::test]
async fn a_failed_qr_fetch_is_an_error() {
    let server = crate::support::server().await;
    Mock::given(path("/ilink/bot/get_bot_qrcode"))
        .respond_with(ResponseTemplate::new(500))
        .mount(&server)
        .await;
    let err = LoginFlow::new(login_client(&server), fast())
        .wait(&mut Prompt::default())
        .await
        .unwrap_err();
    assert!(
        matches!(err.kind(), ErrorKind::HttpStatus { status: 500, .. }),
        "{err}"
    );
}

#[test]
fn qr_renders_for_a_terminal_with_the_url_beneath() {
    let url = "https://liteapp.weixin.qq.com/q/7GiQu1?qrcode=abc&bot_type=3";
    let text = ilink_client::render_qr_terminal(url).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(*lines.last().unwrap(), url);
    let picture = &lines[..lines.len() - 1];
    assert!(picture.len() > 10);
    let width = picture[0].chars().count();
    assert!(
        picture.iter().all(|l| l.chars().count() == width),
        "a square picture"
    );
    assert!(picture
        .iter()
        .any(|l| l.contains('█') || l.contains('▀') || l.contains('▄')));
}
