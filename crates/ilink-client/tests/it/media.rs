//! CDN media against wiremock: upload (both URL forms, retries, 4xx, missing
//! header, streaming from a file) and download (every key form, plaintext image,
//! cap, bad padding, refused URLs).

use base64::Engine as _;
use ilink_client::crypto::{self, padded_size, AesKey};
use ilink_client::normalize::main_media;
use ilink_client::wire::{CdnMedia, WeixinMessage};
use ilink_client::{ErrorKind, MediaKind, MediaSource};
use serde_json::json;
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

use crate::support::{body_of, client, Sequence};

fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 31 % 251) as u8).collect()
}

async fn mount_upload_url(server: &MockServer, reply: serde_json::Value) {
    Mock::given(path("/ilink/bot/getuploadurl"))
        .respond_with(ResponseTemplate::new(200).set_body_json(reply))
        .mount(server)
        .await;
}

/// The CDN upload requests the server received.
async fn cdn_uploads(server: &MockServer) -> Vec<Request> {
    server
        .received_requests()
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.url.path().ends_with("/upload"))
        .collect()
}

fn ok_upload() -> ResponseTemplate {
    ResponseTemplate::new(200).insert_header("x-encrypted-param", "dl-param-1")
}

#[tokio::test]
async fn upload_bytes_to_the_built_url() {
    let server = crate::support::server().await;
    mount_upload_url(&server, json!({"ret": 0, "upload_param": "up&param=1"})).await;
    Mock::given(method("POST"))
        .and(path("/c2c/upload"))
        .and(query_param("encrypted_query_param", "up&param=1"))
        .respond_with(ok_upload())
        .expect(1)
        .mount(&server)
        .await;
    let data = pattern(100_003);
    let up = client(&server)
        .upload_media(
            MediaSource::Bytes(data.clone().into()),
            MediaKind::Image,
            "u@im.wechat",
        )
        .await
        .unwrap();

    let req = body_of(&server, 0).await;
    assert_eq!(req["media_type"], 1);
    assert_eq!(req["to_user_id"], "u@im.wechat");
    assert_eq!(req["rawsize"], 100_003);
    assert_eq!(req["filesize"], padded_size(100_003));
    assert_eq!(req["rawfilemd5"], crypto::md5_hex(&data));
    assert_eq!(req["no_need_thumb"], true);
    assert_eq!(req["filekey"], up.filekey.as_str());
    assert_eq!(req["aeskey"], up.key.to_hex());
    assert_eq!(up.download_param, "dl-param-1");
    assert_eq!(up.raw_size, 100_003);
    assert_eq!(up.cipher_size, 100_016);

    let cdn = &cdn_uploads(&server).await[0];
    let q = |k: &str| {
        cdn.url
            .query_pairs()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.into_owned())
    };
    assert_eq!(q("filekey").as_deref(), Some(up.filekey.as_str()));
    assert_eq!(
        cdn.headers.get("content-type").unwrap(),
        "application/octet-stream"
    );
    assert_eq!(cdn.headers.get("content-length").unwrap(), "100016");
    assert_eq!(cdn.body.len(), 100_016);
    assert_eq!(crypto::decrypt(&up.key, &cdn.body).unwrap(), data);
    // The message item's key is base64 of the key's hex text.
    let field = up.cdn_media().aes_key.unwrap();
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(field)
        .unwrap();
    assert_eq!(decoded, up.key.to_hex().as_bytes());
}

#[tokio::test]
async fn upload_a_file_streamed_to_the_full_url() {
    let server = crate::support::server().await;
    let full = format!("{}/direct/upload?x=1", server.uri());
    mount_upload_url(
        &server,
        json!({"ret": 0, "upload_full_url": full, "upload_param": "ignored"}),
    )
    .await;
    Mock::given(method("POST"))
        .and(path("/direct/upload"))
        .respond_with(ok_upload())
        .expect(1)
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("clip.mp4");
    let data = pattern(3 * 1024 * 1024 + 7);
    std::fs::write(&file, &data).unwrap();
    let kind = MediaKind::from_path(&file);
    assert_eq!(kind, MediaKind::Video);
    let up = client(&server)
        .upload_media(MediaSource::Path(file), kind, "u@im.wechat")
        .await
        .unwrap();
    assert_eq!(body_of(&server, 0).await["media_type"], 2);
    let cdn = server
        .received_requests()
        .await
        .unwrap()
        .into_iter()
        .find(|r| r.url.path() == "/direct/upload")
        .unwrap();
    assert_eq!(cdn.body.len() as u64, padded_size(data.len() as u64));
    assert_eq!(crypto::decrypt(&up.key, &cdn.body).unwrap(), data);
}

#[tokio::test]
async fn upload_retries_5xx_and_succeeds_on_the_third_attempt() {
    let server = crate::support::server().await;
    mount_upload_url(&server, json!({"ret": 0, "upload_param": "p"})).await;
    Mock::given(path("/c2c/upload"))
        .respond_with(Sequence::new(vec![
            ResponseTemplate::new(503),
            ResponseTemplate::new(500),
            ok_upload(),
        ]))
        .mount(&server)
        .await;
    let up = client(&server)
        .upload_media(MediaSource::Bytes(pattern(40).into()), MediaKind::File, "u")
        .await
        .unwrap();
    let uploads = cdn_uploads(&server).await;
    assert_eq!(uploads.len(), 3);
    // Each attempt sends the whole ciphertext again.
    for u in &uploads {
        assert_eq!(crypto::decrypt(&up.key, &u.body).unwrap(), pattern(40));
    }
}

#[tokio::test]
async fn upload_gives_up_after_three_attempts() {
    let server = crate::support::server().await;
    mount_upload_url(&server, json!({"ret": 0, "upload_param": "p"})).await;
    Mock::given(path("/c2c/upload"))
        .respond_with(ResponseTemplate::new(502))
        .mount(&server)
        .await;
    let err = client(&server)
        .upload_media(MediaSource::Bytes(pattern(10).into()), MediaKind::File, "u")
        .await
        .unwrap_err();
    assert!(
        matches!(err.kind(), ErrorKind::HttpStatus { status: 502, .. }),
        "{err}"
    );
    assert_eq!(cdn_uploads(&server).await.len(), 3);
}

#[tokio::test]
async fn upload_4xx_aborts_at_once_with_the_server_message() {
    let server = crate::support::server().await;
    mount_upload_url(&server, json!({"ret": 0, "upload_param": "p"})).await;
    Mock::given(path("/c2c/upload"))
        .respond_with(ResponseTemplate::new(403).insert_header("x-error-message", "file too big"))
        .mount(&server)
        .await;
    let err = client(&server)
        .upload_media(MediaSource::Bytes(pattern(10).into()), MediaKind::File, "u")
        .await
        .unwrap_err();
    assert_eq!(
        err.kind(),
        &ErrorKind::HttpStatus {
            status: 403,
            message: Some("file too big".into())
        }
    );
    assert_eq!(err.endpoint(), Some("cdn upload"));
    assert_eq!(cdn_uploads(&server).await.len(), 1);
}

#[tokio::test]
async fn upload_200_without_header_is_a_failure_and_so_is_201() {
    for reply in [
        ResponseTemplate::new(200),
        ResponseTemplate::new(201).insert_header("x-encrypted-param", "p"),
    ] {
        let server = crate::support::server().await;
        mount_upload_url(&server, json!({"ret": 0, "upload_param": "p"})).await;
        Mock::given(path("/c2c/upload"))
            .respond_with(reply)
            .mount(&server)
            .await;
        let err = client(&server)
            .upload_media(MediaSource::Bytes(pattern(10).into()), MediaKind::File, "u")
            .await
            .unwrap_err();
        assert!(
            matches!(
                err.kind(),
                ErrorKind::MissingEncryptedParam | ErrorKind::HttpStatus { status: 201, .. }
            ),
            "{err}"
        );
        assert_eq!(cdn_uploads(&server).await.len(), 3);
    }
}

#[tokio::test]
async fn upload_of_a_missing_file_is_an_io_error() {
    let server = crate::support::server().await;
    let err = client(&server)
        .upload_media(
            MediaSource::Path("/nonexistent/x.png".into()),
            MediaKind::Image,
            "u",
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind(), &ErrorKind::Io);
    assert!(server.received_requests().await.unwrap().is_empty());
}

/// A message with one media item, as the server would send it.
fn inbound(item: serde_json::Value) -> WeixinMessage {
    serde_json::from_value(json!({"message_id": 1, "item_list": [item]})).unwrap()
}

async fn serve_cdn(server: &MockServer, route: &str, body: Vec<u8>) {
    Mock::given(method("GET"))
        .and(path(route))
        .respond_with(ResponseTemplate::new(200).set_body_bytes(body))
        .mount(server)
        .await;
}

#[tokio::test]
async fn download_decrypts_with_every_key_form() {
    let server = crate::support::server().await;
    let key = AesKey::new(*b"0123456789abcdef");
    let data = pattern(70_001);
    serve_cdn(&server, "/c2c/download", crypto::encrypt(&key, &data)).await;
    let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
    let media =
        |aes_key: Option<String>| json!({"encrypt_query_param": "dl 1", "aes_key": aes_key});
    let items = [
        // Image: image_item.aeskey (hex) wins over a wrong media.aes_key.
        json!({"type": 2, "image_item": {"aeskey": key.to_hex(), "media": media(Some(b64(b"garbage")))}}),
        // File: base64 of the raw 16 bytes.
        json!({"type": 4, "file_item": {"file_name": "../../etc/passwd", "media": media(Some(b64(key.as_bytes())))}}),
        // Video: base64 of the 32 hex characters.
        json!({"type": 5, "video_item": {"media": media(Some(b64(key.to_hex().as_bytes())))}}),
        // Voice without transcript.
        json!({"type": 3, "voice_item": {"encode_type": 6, "media": media(Some(key.to_media_field()))}}),
    ];
    let c = client(&server);
    for item in items {
        let msg = inbound(item.clone());
        let m = main_media(&msg).unwrap();
        let key = m.key().unwrap();
        let got = c
            .download_media_to_vec(m.media().unwrap(), m.kind, key.as_ref())
            .await
            .unwrap();
        assert_eq!(got, data, "{item}");
        if m.kind == MediaKind::File {
            assert_eq!(m.file_name().as_deref(), Some("....etcpasswd"));
        }
    }
    let reqs = server.received_requests().await.unwrap();
    assert!(reqs
        .iter()
        .all(|r| r.url.query() == Some("encrypted_query_param=dl+1")));
}

#[tokio::test]
async fn download_prefers_full_url_on_the_cdn_host() {
    let server = crate::support::server().await;
    let key = AesKey::random();
    serve_cdn(&server, "/elsewhere/obj", crypto::encrypt(&key, b"hello")).await;
    let mut media = CdnMedia::default();
    media.full_url = Some(format!("{}/elsewhere/obj?sig=1", server.uri()));
    media.encrypt_query_param = Some("unused".into());
    let got = client(&server)
        .download_media_to_vec(&media, MediaKind::File, Some(&key))
        .await
        .unwrap();
    assert_eq!(got, b"hello");
}

#[tokio::test]
async fn an_image_without_key_downloads_as_plaintext_but_a_file_errors() {
    let server = crate::support::server().await;
    serve_cdn(&server, "/c2c/download", b"\x89PNG plain".to_vec()).await;
    let c = client(&server);
    let msg = inbound(
        json!({"type": 2, "image_item": {"aeskey": "", "media": {"encrypt_query_param": "p", "aes_key": ""}}}),
    );
    let m = main_media(&msg).unwrap();
    assert_eq!(m.key().unwrap(), None, "an empty key string is no key");
    let got = c
        .download_media_to_vec(m.media().unwrap(), m.kind, None)
        .await
        .unwrap();
    assert_eq!(got, b"\x89PNG plain");
    for kind in [MediaKind::File, MediaKind::Video, MediaKind::Voice] {
        let err = c
            .download_media_to_vec(m.media().unwrap(), kind, None)
            .await
            .unwrap_err();
        assert_eq!(err.kind(), &ErrorKind::MissingKey(kind.as_str()));
    }
}

#[tokio::test]
async fn download_cap_is_enforced_while_reading() {
    let server = crate::support::server().await;
    let key = AesKey::random();
    serve_cdn(
        &server,
        "/c2c/download",
        crypto::encrypt(&key, &pattern(5000)),
    )
    .await;
    let mut media = CdnMedia::default();
    media.encrypt_query_param = Some("p".into());
    let c = client(&server);
    let mut sink = Vec::new();
    let err = c
        .download_media(&media, MediaKind::File, Some(&key), 4096, &mut sink)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), &ErrorKind::TooLarge { limit: 4096 });
    // Exactly at the cap is fine: 5000 bytes with a 5000-byte cap.
    let mut sink = Vec::new();
    let n = c
        .download_media(&media, MediaKind::File, Some(&key), 5000, &mut sink)
        .await
        .unwrap();
    assert_eq!(n, 5000);
    assert_eq!(sink, pattern(5000));
}

#[tokio::test]
async fn bad_padding_and_bad_keys_are_errors() {
    let server = crate::support::server().await;
    let key = AesKey::random();
    let mut ct = crypto::encrypt(&key, b"sixteen bytes!!!");
    let n = ct.len();
    ct[n - 1] ^= 0x55;
    serve_cdn(&server, "/c2c/download", ct).await;
    let mut media = CdnMedia::default();
    media.encrypt_query_param = Some("p".into());
    let err = client(&server)
        .download_media_to_vec(&media, MediaKind::File, Some(&key))
        .await
        .unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::Crypto(_)), "{err}");

    let b64 = base64::engine::general_purpose::STANDARD.encode([7u8; 20]);
    let msg = inbound(
        json!({"type": 4, "file_item": {"media": {"encrypt_query_param": "p", "aes_key": b64}}}),
    );
    let err = main_media(&msg).unwrap().key().unwrap_err();
    assert!(err.to_string().contains("20"), "{err}");
}

#[tokio::test]
async fn download_non_2xx_is_an_error() {
    let server = crate::support::server().await;
    Mock::given(path("/c2c/download"))
        .respond_with(ResponseTemplate::new(404))
        .mount(&server)
        .await;
    let mut media = CdnMedia::default();
    media.encrypt_query_param = Some("p".into());
    let err = client(&server)
        .download_media_to_vec(&media, MediaKind::Image, None)
        .await
        .unwrap_err();
    assert!(
        matches!(err.kind(), ErrorKind::HttpStatus { status: 404, .. }),
        "{err}"
    );
    let empty = CdnMedia::default();
    let err = client(&server)
        .download_media_to_vec(&empty, MediaKind::Image, None)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), &ErrorKind::NoMediaLocation);
}

#[tokio::test]
async fn full_url_to_other_private_hosts_or_schemes_is_refused() {
    let server = crate::support::server().await;
    let c = client(&server);
    let port = server.address().port();
    for url in [
        format!("http://127.0.0.2:{port}/x"),
        "http://10.1.2.3/x".to_owned(),
        "http://169.254.169.254/latest/meta-data".to_owned(),
        "http://[::1]/x".to_owned(),
        "file:///etc/passwd".to_owned(),
        "ftp://cdn.example/x".to_owned(),
        "http://localhost/x".to_owned(),
    ] {
        let mut media = CdnMedia::default();
        media.full_url = Some(url.clone());
        let err = c
            .download_media_to_vec(&media, MediaKind::Image, None)
            .await
            .unwrap_err();
        assert!(
            matches!(err.kind(), ErrorKind::RefusedUrl(_)),
            "{url}: {err}"
        );
    }
    // A public address passes the check (nothing is fetched here).
    c.check_media_url("https://8.8.8.8/x").await.unwrap();
    assert!(server.received_requests().await.unwrap().is_empty());
}
