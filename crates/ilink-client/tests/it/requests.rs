//! insta snapshots of every request body the client sends (random fields
//! redacted), and a check that each has the same shape as what the published
//! plugin sends (the captured wire fixtures, copied to `fixtures/wire` at the workspace root).

use std::collections::BTreeSet;
use std::time::Duration;

use ilink_client::wire::TypingStatus;
use ilink_client::{IlinkClient, MediaKind, MediaSource, ReplyTarget, SplitLimits};
use insta::assert_json_snapshot;
use serde_json::{json, Value};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

/// A server that answers every endpoint with a success.
async fn answering_server() -> MockServer {
    let server = crate::support::server().await;
    Mock::given(path("/ilink/bot/getuploadurl"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"ret": 0, "upload_param": "up-param"})),
        )
        .mount(&server)
        .await;
    Mock::given(path("/c2c/upload"))
        .respond_with(ResponseTemplate::new(200).insert_header("x-encrypted-param", "dl-param"))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"status": "wait"})))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "ret": 0, "message_id": 1, "typing_ticket": "dGlja2V0", "msgs": [],
            "qrcode": "q1", "qrcode_img_content": "https://qr/q1"
        })))
        .mount(&server)
        .await;
    server
}

fn client(server: &MockServer) -> IlinkClient {
    IlinkClient::builder()
        .base_url(server.uri())
        .cdn_base_url(format!("{}/c2c", server.uri()))
        .token("tok")
        .build()
        .unwrap()
}

async fn last(server: &MockServer, endpoint: &str) -> Request {
    server
        .received_requests()
        .await
        .unwrap()
        .into_iter()
        .rev()
        .find(|r| r.url.path().ends_with(endpoint))
        .unwrap()
}

async fn last_body(server: &MockServer, endpoint: &str) -> Value {
    serde_json::from_slice(&last(server, endpoint).await.body).unwrap()
}

fn target() -> ReplyTarget {
    ReplyTarget::new("e467d326e29dfb28@im.wechat").context_token("ctx_074d3d79")
}

/// Runs every call once and returns each request body under a name.
async fn every_body() -> Vec<(&'static str, Value)> {
    let server = answering_server().await;
    let c = client(&server);
    let mut out = Vec::new();

    c.get_bot_qrcode(&["b@im.bot:tok".into()]).await.unwrap();
    out.push(("get_bot_qrcode", last_body(&server, "get_bot_qrcode").await));
    c.get_updates("", Duration::from_secs(35)).await.unwrap();
    out.push(("getupdates_first", last_body(&server, "getupdates").await));
    c.get_updates("cursor-7", Duration::from_secs(35))
        .await
        .unwrap();
    out.push(("getupdates_cursor", last_body(&server, "getupdates").await));
    let text = target()
        .run_id("run-1")
        .text_messages("reply 51118fe0", SplitLimits::default());
    c.send_message(text[0].clone()).await.unwrap();
    out.push(("sendmessage_text", last_body(&server, "sendmessage").await));
    c.get_config("e467d326e29dfb28@im.wechat", Some("ctx_074d3d79"))
        .await
        .unwrap();
    out.push(("getconfig", last_body(&server, "getconfig").await));
    c.send_typing(
        "e467d326e29dfb28@im.wechat",
        "dGlja2V0",
        TypingStatus::Typing,
    )
    .await
    .unwrap();
    out.push(("sendtyping_typing", last_body(&server, "sendtyping").await));
    c.send_typing(
        "e467d326e29dfb28@im.wechat",
        "dGlja2V0",
        TypingStatus::Cancel,
    )
    .await
    .unwrap();
    out.push(("sendtyping_cancel", last_body(&server, "sendtyping").await));
    c.notify_start().await.unwrap();
    out.push(("notifystart", last_body(&server, "notifystart").await));
    c.notify_stop().await.unwrap();
    out.push(("notifystop", last_body(&server, "notifystop").await));

    let plain: Vec<u8> = (0..793u32).map(|i| (i % 256) as u8).collect();
    for (kind, file_name, name_url, name_msg) in [
        (
            MediaKind::Image,
            None,
            "getuploadurl_image",
            "sendmessage_image",
        ),
        (
            MediaKind::Video,
            None,
            "getuploadurl_video",
            "sendmessage_video",
        ),
        (
            MediaKind::File,
            Some("report.pdf"),
            "getuploadurl_file",
            "sendmessage_file",
        ),
    ] {
        let up = c
            .upload_media(
                MediaSource::Bytes(plain.clone().into()),
                kind,
                "e467d326e29dfb28@im.wechat",
            )
            .await
            .unwrap();
        out.push((name_url, last_body(&server, "getuploadurl").await));
        let msgs = target().media_messages("", &up, file_name);
        assert_eq!(msgs.len(), 1, "no caption, one message");
        c.send_message(msgs[0].clone()).await.unwrap();
        out.push((name_msg, last_body(&server, "sendmessage").await));
    }
    let up = c
        .upload_media(
            MediaSource::Bytes(plain.into()),
            MediaKind::Image,
            "e467d326e29dfb28@im.wechat",
        )
        .await
        .unwrap();
    let msgs = target().media_messages("a caption", &up, None);
    assert_eq!(msgs.len(), 2, "caption first, then the media");
    for m in msgs {
        c.send_message(m).await.unwrap();
    }
    let reqs = server.received_requests().await.unwrap();
    let sends: Vec<Value> = reqs
        .iter()
        .filter(|r| r.url.path().ends_with("sendmessage"))
        .map(|r| serde_json::from_slice(&r.body).unwrap())
        .collect();
    out.push((
        "sendmessage_caption_then_media",
        json!(sends[sends.len() - 2..]),
    ));
    out
}

#[tokio::test]
async fn request_bodies() {
    for (name, body) in every_body().await {
        assert_json_snapshot!(name, body, {
            ".msg.client_id" => "[client_id]",
            "[].msg.client_id" => "[client_id]",
            ".filekey" => "[filekey]",
            ".aeskey" => "[aeskey]",
            ".**.aes_key" => "[aes_key]",
        });
    }
}

#[tokio::test]
async fn qr_status_poll_and_cdn_upload_requests() {
    let server = answering_server().await;
    let c = client(&server);
    c.get_qrcode_status(None, "q1", Some("123456"))
        .await
        .unwrap();
    let poll = last(&server, "get_qrcode_status").await;
    assert!(poll.body.is_empty());
    assert_json_snapshot!("get_qrcode_status_query", poll.url.query());
    let up = c
        .upload_media(
            MediaSource::Bytes(vec![1u8; 5009].into()),
            MediaKind::File,
            "u",
        )
        .await
        .unwrap();
    let cdn = last(&server, "/c2c/upload").await;
    let query: Vec<(String, String)> = cdn
        .url
        .query_pairs()
        .map(|(k, v)| {
            let v = if k == "filekey" {
                "[filekey]".into()
            } else {
                v.into_owned()
            };
            (k.into_owned(), v)
        })
        .collect();
    assert_json_snapshot!(
        "cdn_upload",
        json!({"query": query, "bytes": cdn.body.len()})
    );
    assert_eq!(cdn.body.len() as u64, up.cipher_size);
}

/// Every JSON path of a value (array items collapsed to `[]`).
fn shape(v: &Value, prefix: String, out: &mut BTreeSet<String>) {
    match v {
        Value::Object(map) => {
            for (k, v) in map {
                if !v.is_null() {
                    shape(v, format!("{prefix}.{k}"), out);
                }
            }
        }
        Value::Array(items) => items
            .iter()
            .for_each(|i| shape(i, format!("{prefix}[]"), out)),
        _ => {
            out.insert(prefix);
        }
    }
}

fn shape_of(v: &Value) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    shape(v, String::new(), &mut out);
    out
}

/// The shapes of the bodies the published plugin sent to `endpoint`.
fn plugin_shapes(endpoint: &str) -> Vec<BTreeSet<String>> {
    let text = include_str!("../../../../fixtures/wire/ts-plugin-2.4.9.requests.json");
    let records: Vec<Value> = serde_json::from_str(text).unwrap();
    records
        .iter()
        .filter(|r| r["path"].as_str().unwrap().ends_with(endpoint))
        .map(|r| shape_of(&r["body"]))
        .collect()
}

#[tokio::test]
async fn bodies_have_the_published_plugins_shape() {
    for (name, body) in every_body().await {
        let endpoint = if name == "get_bot_qrcode" {
            name
        } else {
            name.split('_').next().unwrap()
        };
        let theirs = plugin_shapes(endpoint);
        assert!(!theirs.is_empty(), "{name}: no fixture for {endpoint}");
        let bodies: Vec<Value> = match body {
            Value::Array(items) => items,
            one => vec![one],
        };
        for mut b in bodies {
            // run_id is ours alone (the plugin captured none) and video was not captured.
            if let Some(msg) = b.get_mut("msg").and_then(Value::as_object_mut) {
                msg.remove("run_id");
            }
            let ours = shape_of(&b);
            let is_video =
                ours.iter().any(|p| p.contains("video_item")) || (name == "getuploadurl_video");
            if is_video {
                continue;
            }
            assert!(
                theirs.contains(&ours),
                "{name}: our shape {ours:#?} is none of the plugin's {theirs:#?}"
            );
        }
    }
}
