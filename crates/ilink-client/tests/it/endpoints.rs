//! Every endpoint of section 4 against wiremock: its request (path, headers,
//! body) and every error shape (non-2xx, ret != 0, -14, malformed and truncated
//! JSON, client timeout under a paused clock).

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use ilink_client::wire::{GetUploadUrlRequest, TypingStatus, UploadMediaType};
use ilink_client::{ErrorKind, IlinkClient, ReplyTarget, SendOutcome, SplitLimits};
use serde_json::json;
use wiremock::matchers::{header, header_exists, method, path, query_param};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

use crate::support::{body_of, client, TOKEN};

type Outcome = Result<String, ilink_client::Error>;
type Call = for<'a> fn(&'a IlinkClient) -> Pin<Box<dyn Future<Output = Outcome> + 'a>>;

/// One endpoint: how to call it and the reply of a success.
struct Endpoint {
    name: &'static str,
    method: &'static str,
    path: &'static str,
    ok_body: serde_json::Value,
    long_poll: bool,
    call: Call,
}

fn upload_request() -> GetUploadUrlRequest {
    GetUploadUrlRequest {
        filekey: "00112233445566778899aabbccddeeff".into(),
        media_type: UploadMediaType::Image,
        to_user_id: "u@im.wechat".into(),
        rawsize: 5,
        rawfilemd5: "5d41402abc4b2a76b9719d911017c592".into(),
        filesize: 16,
        no_need_thumb: true,
        aeskey: "000102030405060708090a0b0c0d0e0f".into(),
        base_info: ilink_client::wire::BaseInfo {
            channel_version: String::new(),
            bot_agent: String::new(),
        },
    }
}

fn endpoints() -> Vec<Endpoint> {
    vec![
        Endpoint {
            name: "get_bot_qrcode",
            method: "POST",
            path: "/ilink/bot/get_bot_qrcode",
            ok_body: json!({"qrcode": "q1", "qrcode_img_content": "https://qr/q1"}),
            long_poll: false,
            call: |c| Box::pin(async move { c.get_bot_qrcode(&[]).await.map(|q| q.qrcode) }),
        },
        Endpoint {
            name: "get_qrcode_status",
            method: "GET",
            path: "/ilink/bot/get_qrcode_status",
            ok_body: json!({"status": "scaned"}),
            long_poll: true,
            call: |c| {
                Box::pin(async move {
                    c.get_qrcode_status(None, "q1", None)
                        .await
                        .map(|r| r.status.as_str().to_owned())
                })
            },
        },
        Endpoint {
            name: "getupdates",
            method: "POST",
            path: "/ilink/bot/getupdates",
            ok_body: json!({"ret": 0, "msgs": [{"message_id": 7}], "get_updates_buf": "c2"}),
            long_poll: true,
            call: |c| {
                Box::pin(async move {
                    c.get_updates("c1", Duration::from_secs(35))
                        .await
                        .map(|r| format!("{} {:?}", r.msgs.len(), r.get_updates_buf))
                })
            },
        },
        Endpoint {
            name: "sendmessage",
            method: "POST",
            path: "/ilink/bot/sendmessage",
            ok_body: json!({"ret": 0, "message_id": 18446744073709551615u64}),
            long_poll: false,
            call: |c| {
                Box::pin(async move {
                    let msg = ReplyTarget::new("u@im.wechat")
                        .context_token("ctx")
                        .text_messages("hi", SplitLimits::default())
                        .remove(0);
                    c.send_message(msg).await.map(|o| match o {
                        SendOutcome::Delivered { message_id, .. } => message_id.to_string(),
                        other => format!("{other:?}"),
                    })
                })
            },
        },
        Endpoint {
            name: "getconfig",
            method: "POST",
            path: "/ilink/bot/getconfig",
            ok_body: json!({"ret": 0, "typing_ticket": "dGlja2V0"}),
            long_poll: false,
            call: |c| Box::pin(async move { c.get_config("u@im.wechat", Some("ctx")).await }),
        },
        Endpoint {
            name: "sendtyping",
            method: "POST",
            path: "/ilink/bot/sendtyping",
            ok_body: json!({"ret": 0}),
            long_poll: false,
            call: |c| {
                Box::pin(async move {
                    c.send_typing("u@im.wechat", "dGlja2V0", TypingStatus::Typing)
                        .await
                        .map(|()| "ok".into())
                })
            },
        },
        Endpoint {
            name: "notifystart",
            method: "POST",
            path: "/ilink/bot/msg/notifystart",
            ok_body: json!({"ret": 0}),
            long_poll: false,
            call: |c| Box::pin(async move { c.notify_start().await.map(|()| "ok".into()) }),
        },
        Endpoint {
            name: "notifystop",
            method: "POST",
            path: "/ilink/bot/msg/notifystop",
            ok_body: json!({"ret": 0}),
            long_poll: false,
            call: |c| Box::pin(async move { c.notify_stop().await.map(|()| "ok".into()) }),
        },
        Endpoint {
            name: "getuploadurl",
            method: "POST",
            path: "/ilink/bot/getuploadurl",
            ok_body: json!({"ret": 0, "upload_param": "p1"}),
            long_poll: false,
            call: |c| {
                Box::pin(async move {
                    c.get_upload_url(upload_request())
                        .await
                        .map(|r| r.upload_param.unwrap_or_default())
                })
            },
        },
    ]
}

async fn serve(ep: &Endpoint, response: ResponseTemplate) -> MockServer {
    let server = crate::support::server().await;
    Mock::given(method(ep.method))
        .and(path(ep.path))
        .respond_with(response)
        .mount(&server)
        .await;
    server
}

#[tokio::test]
async fn every_endpoint_succeeds_with_the_headers_of_section_2() {
    let expected = [
        ("get_bot_qrcode", "q1"),
        ("get_qrcode_status", "scaned"),
        ("getupdates", "1 Some(\"c2\")"),
        ("sendmessage", "18446744073709551615"),
        ("getconfig", "dGlja2V0"),
        ("sendtyping", "ok"),
        ("notifystart", "ok"),
        ("notifystop", "ok"),
        ("getuploadurl", "p1"),
    ];
    for ep in endpoints() {
        let server = serve(&ep, ResponseTemplate::new(200).set_body_json(&ep.ok_body)).await;
        let got = (ep.call)(&client(&server)).await.unwrap();
        let want = expected.iter().find(|(n, _)| *n == ep.name).unwrap().1;
        assert_eq!(got, want, "{}", ep.name);

        let reqs = server.received_requests().await.unwrap();
        assert_eq!(reqs.len(), 1, "{}", ep.name);
        let req = &reqs[0];
        let h = |name: &str| {
            req.headers
                .get(name)
                .map(|v| v.to_str().unwrap().to_owned())
        };
        assert_eq!(h("iLink-App-Id").as_deref(), Some("bot"), "{}", ep.name);
        assert_eq!(
            h("iLink-App-ClientVersion").as_deref(),
            Some("132105"),
            "{}",
            ep.name
        );
        assert_eq!(h("SKRouteTag").as_deref(), Some("42"), "{}", ep.name);
        if ep.method == "GET" {
            // The QR status poll carries only the app headers.
            assert_eq!(h("Authorization"), None);
            assert_eq!(h("X-WECHAT-UIN"), None);
            assert_eq!(h("AuthorizationType"), None);
            continue;
        }
        assert_eq!(
            h("Content-Type").as_deref(),
            Some("application/json"),
            "{}",
            ep.name
        );
        assert_eq!(
            h("AuthorizationType").as_deref(),
            Some("ilink_bot_token"),
            "{}",
            ep.name
        );
        assert_eq!(
            h("Authorization"),
            Some(format!("Bearer {TOKEN}")),
            "{}",
            ep.name
        );
        let uin = h("X-WECHAT-UIN").unwrap();
        let decoded =
            base64::Engine::decode(&base64::engine::general_purpose::STANDARD, uin).unwrap();
        let text = String::from_utf8(decoded).unwrap();
        assert!(text.parse::<u32>().is_ok(), "{}: uin {text}", ep.name);
        let body: serde_json::Value = serde_json::from_slice(&req.body).unwrap();
        if ep.name == "get_bot_qrcode" {
            assert_eq!(body, json!({"local_token_list": []}));
            assert_eq!(req.url.query(), Some("bot_type=3"));
        } else {
            assert_eq!(
                body["base_info"],
                json!({"channel_version": "2.4.9", "bot_agent": "OpenClaw"}),
                "{}",
                ep.name
            );
        }
    }
}

#[tokio::test]
async fn x_wechat_uin_is_new_per_request() {
    let server = crate::support::server().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"ret": 0})))
        .mount(&server)
        .await;
    let c = client(&server);
    for _ in 0..8 {
        c.notify_start().await.unwrap();
    }
    let reqs = server.received_requests().await.unwrap();
    let uins: std::collections::HashSet<_> = reqs
        .iter()
        .map(|r| {
            r.headers
                .get("X-WECHAT-UIN")
                .unwrap()
                .to_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert!(uins.len() >= 7, "{uins:?}");
}

#[tokio::test]
async fn non_2xx_is_an_http_status_error() {
    for ep in endpoints() {
        let server = serve(
            &ep,
            ResponseTemplate::new(502).insert_header("x-error-message", "bad gateway"),
        )
        .await;
        let err = (ep.call)(&client(&server)).await.unwrap_err();
        assert_eq!(
            err.kind(),
            &ErrorKind::HttpStatus {
                status: 502,
                message: Some("bad gateway".into())
            },
            "{}",
            ep.name
        );
        assert_eq!(err.endpoint(), Some(ep.name));
        assert!(err.is_retryable());
    }
}

#[tokio::test]
async fn nonzero_ret_is_an_api_error() {
    for ep in endpoints() {
        let server = serve(
            &ep,
            ResponseTemplate::new(200).set_body_json(json!({"ret": -2, "errmsg": "freq limit"})),
        )
        .await;
        let err = (ep.call)(&client(&server)).await.unwrap_err();
        assert_eq!(
            err.kind(),
            &ErrorKind::Api {
                ret: Some(-2),
                errcode: None,
                errmsg: Some("freq limit".into())
            },
            "{}",
            ep.name
        );
        let server = serve(
            &ep,
            ResponseTemplate::new(200).set_body_json(json!({"errcode": 5})),
        )
        .await;
        let err = (ep.call)(&client(&server)).await.unwrap_err();
        assert!(
            matches!(
                err.kind(),
                ErrorKind::Api {
                    errcode: Some(5),
                    ..
                }
            ),
            "{}: {err}",
            ep.name
        );
    }
}

#[tokio::test]
async fn minus_14_is_a_stale_token() {
    for ep in endpoints() {
        for body in [
            json!({"ret": -14}),
            json!({"ret": 0, "errcode": -14, "errmsg": "session timeout"}),
        ] {
            let server = serve(&ep, ResponseTemplate::new(200).set_body_json(&body)).await;
            let err = (ep.call)(&client(&server)).await.unwrap_err();
            assert_eq!(err.kind(), &ErrorKind::StaleToken, "{}: {body}", ep.name);
            assert!(!err.to_string().contains(TOKEN));
        }
    }
}

#[tokio::test]
async fn malformed_and_truncated_json_are_decode_errors() {
    for ep in endpoints() {
        for (body, what) in [
            (r#"{"ret": 0, "#.to_owned(), "truncated JSON"),
            ("<html>oops</html>".to_owned(), "malformed JSON"),
            (r#"{"ret": "zero"}"#.to_owned(), "unexpected JSON shape"),
        ] {
            let server = serve(
                &ep,
                ResponseTemplate::new(200).set_body_string(body.clone()),
            )
            .await;
            let err = (ep.call)(&client(&server)).await.unwrap_err();
            match err.kind() {
                ErrorKind::Decode(msg) => assert!(msg.starts_with(what), "{}: {msg}", ep.name),
                other => panic!("{}: {body}: {other:?}", ep.name),
            }
        }
    }
}

/// With the clock paused, the runtime jumps to the client timeout while the
/// server holds the request (for an hour of real time): long polls give an
/// empty reply, the others a timeout error.
#[tokio::test(start_paused = true)]
async fn client_timeouts_under_a_paused_clock() {
    for ep in endpoints() {
        let server = serve(
            &ep,
            ResponseTemplate::new(200)
                .set_body_json(&ep.ok_body)
                .set_delay(Duration::from_secs(3600)),
        )
        .await;
        let c = client(&server);
        let result = tokio::time::timeout(Duration::from_secs(600), (ep.call)(&c))
            .await
            .unwrap_or_else(|_| panic!("{}: the client timeout never fired", ep.name));
        if ep.long_poll {
            let got = result.unwrap();
            let empty = if ep.name == "getupdates" {
                "0 None"
            } else {
                "wait"
            };
            assert_eq!(got, empty, "{}", ep.name);
        } else {
            let err = result.unwrap_err();
            assert_eq!(err.kind(), &ErrorKind::Timeout, "{}", ep.name);
        }
    }
}

#[tokio::test(start_paused = true)]
async fn getupdates_timeout_reports_timed_out_and_keeps_no_cursor() {
    let server = crate::support::server().await;
    Mock::given(path("/ilink/bot/getupdates"))
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(3600)))
        .mount(&server)
        .await;
    let reply = client(&server)
        .get_updates("keep-me", Duration::from_secs(35))
        .await
        .unwrap();
    assert!(reply.timed_out);
    assert!(reply.msgs.is_empty());
    assert_eq!(reply.get_updates_buf, None);
}

#[tokio::test]
async fn dropping_a_call_cancels_it_at_once() {
    let server = crate::support::server().await;
    Mock::given(path("/ilink/bot/getupdates"))
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(3600)))
        .mount(&server)
        .await;
    let c = client(&server);
    let task = tokio::spawn(async move { c.get_updates("", Duration::from_secs(3600)).await });
    // Wait until the request is on the server, then cancel the call.
    while server.received_requests().await.unwrap().is_empty() {
        tokio::task::yield_now().await;
    }
    task.abort();
    let joined = tokio::time::timeout(Duration::from_secs(10), task)
        .await
        .expect("the aborted call finished at once");
    assert!(joined.unwrap_err().is_cancelled());
}

#[tokio::test]
async fn getupdates_sends_the_cursor_and_uses_the_hint_rule() {
    let server = crate::support::server().await;
    Mock::given(path("/ilink/bot/getupdates"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"ret": 0, "msgs": [], "get_updates_buf": "", "longpolling_timeout_ms": 300000}),
        ))
        .mount(&server)
        .await;
    let c = client(&server);
    let reply = c
        .get_updates("cursor-1", Duration::from_secs(35))
        .await
        .unwrap();
    assert_eq!(body_of(&server, 0).await["get_updates_buf"], "cursor-1");
    assert_eq!(
        reply.get_updates_buf, None,
        "an empty cursor is not a new cursor"
    );
    let t = c.timeouts();
    assert_eq!(
        t.next_long_poll(reply.longpolling_timeout_ms),
        Duration::from_secs(125)
    );
    assert_eq!(t.next_long_poll(Some(30_000)), Duration::from_secs(35));
    assert_eq!(t.next_long_poll(Some(0)), Duration::from_secs(35));
    assert_eq!(t.next_long_poll(None), Duration::from_secs(35));
}

#[tokio::test]
async fn sendmessage_without_message_id_is_unconfirmed() {
    let server = crate::support::server().await;
    Mock::given(path("/ilink/bot/sendmessage"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"ret": 0})))
        .mount(&server)
        .await;
    let msg = ReplyTarget::new("u")
        .text_messages("x", SplitLimits::default())
        .remove(0);
    let client_id = msg.client_id.clone().unwrap();
    let outcome = client(&server).send_message(msg).await.unwrap();
    assert_eq!(outcome, SendOutcome::Unconfirmed { client_id });
}

#[tokio::test]
async fn getuploadurl_without_either_url_is_an_error() {
    let server = crate::support::server().await;
    Mock::given(path("/ilink/bot/getuploadurl"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"ret": 0, "upload_param": ""})),
        )
        .mount(&server)
        .await;
    let err = client(&server)
        .get_upload_url(upload_request())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), &ErrorKind::NoUploadUrl);
}

#[tokio::test]
async fn getconfig_without_ticket_is_a_decode_error() {
    let server = crate::support::server().await;
    Mock::given(path("/ilink/bot/getconfig"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"ret": 0})))
        .mount(&server)
        .await;
    let err = client(&server).get_config("u", None).await.unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::Decode(_)), "{err}");
    assert_eq!(body_of(&server, 0).await.get("context_token"), None);
}

#[tokio::test]
async fn qr_status_poll_sends_code_and_goes_to_the_redirect_base() {
    let main = crate::support::server().await;
    let other = crate::support::server().await;
    Mock::given(path("/ilink/bot/get_qrcode_status"))
        .and(query_param("qrcode", "q 1&x"))
        .and(query_param("verify_code", "123456"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"status": "scaned"})))
        .expect(1)
        .mount(&other)
        .await;
    let c = client(&main);
    let reply = c
        .get_qrcode_status(Some(&other.uri()), "q 1&x", Some("123456"))
        .await
        .unwrap();
    assert_eq!(reply.status.as_str(), "scaned");
    assert!(main.received_requests().await.unwrap().is_empty());
}

#[tokio::test]
async fn oversized_replies_are_refused() {
    let server = crate::support::server().await;
    let huge = format!(r#"{{"ret":0,"errmsg":"{}"}}"#, "x".repeat(65 * 1024 * 1024));
    Mock::given(path("/ilink/bot/msg/notifystart"))
        .respond_with(ResponseTemplate::new(200).set_body_string(huge))
        .mount(&server)
        .await;
    let err = client(&server).notify_start().await.unwrap_err();
    assert_eq!(
        err.kind(),
        &ErrorKind::TooLarge {
            limit: 64 * 1024 * 1024
        }
    );
}

#[tokio::test]
async fn no_token_means_no_authorization_header() {
    let server = crate::support::server().await;
    Mock::given(path("/ilink/bot/get_bot_qrcode"))
        .and(header("AuthorizationType", "ilink_bot_token"))
        .and(header_exists("X-WECHAT-UIN"))
        .respond_with(|req: &Request| {
            let status = if req.headers.contains_key("authorization") {
                400
            } else {
                200
            };
            ResponseTemplate::new(status)
                .set_body_json(json!({"qrcode": "q", "qrcode_img_content": "u"}))
        })
        .mount(&server)
        .await;
    let qr = crate::support::login_client(&server)
        .get_bot_qrcode(&["t1".into(), "t2".into()])
        .await
        .unwrap();
    assert_eq!(qr.qrcode, "q");
    assert_eq!(
        body_of(&server, 0).await,
        json!({"local_token_list": ["t1", "t2"]})
    );
}

#[test]
fn builder_rejects_bad_urls_and_versions() {
    for (base, version) in [
        ("ftp://x", "2.4.9"),
        ("not a url", "2.4.9"),
        ("http://x", "2.4"),
    ] {
        let err = IlinkClient::builder()
            .base_url(base)
            .channel_version(version)
            .build()
            .unwrap_err();
        assert!(
            matches!(err.kind(), ErrorKind::Config(_)),
            "{base} {version}: {err}"
        );
    }
}

#[tokio::test]
async fn bot_agent_is_sanitized_into_base_info() {
    let server = crate::support::server().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"ret": 0})))
        .mount(&server)
        .await;
    let c = IlinkClient::builder()
        .base_url(format!("{}/", server.uri()))
        .token(TOKEN)
        .bot_agent("MyBot/1.2.0 bad!agent (region=cn; env=prod)")
        .channel_version("2.4.11")
        .build()
        .unwrap();
    c.notify_stop().await.unwrap();
    let reqs = server.received_requests().await.unwrap();
    assert_eq!(
        reqs[0].url.path(),
        "/ilink/bot/msg/notifystop",
        "exactly one slash"
    );
    assert_eq!(
        reqs[0].headers.get("iLink-App-ClientVersion").unwrap(),
        "132107"
    );
    assert!(reqs[0].headers.get("SKRouteTag").is_none());
    let body = body_of(&server, 0).await;
    assert_eq!(body["base_info"]["bot_agent"], "MyBot/1.2.0");
    assert_eq!(body["base_info"]["channel_version"], "2.4.11");
}
