//! The CDN under `/c2c`: uploads are checked against the getuploadurl that
//! issued their param; downloads serve stored ciphertext.

use bytes::Bytes;
use hyper::StatusCode;

use crate::crypto;
use crate::server::{Ctx, Reply, Shared};
use crate::state::CdnObject;

/// `POST /c2c/upload?encrypted_query_param=…&filekey=…`.
pub(crate) fn upload(shared: &Shared, ctx: &Ctx) -> Reply {
    let mut state = shared.lock();
    let param = ctx
        .query
        .get("encrypted_query_param")
        .cloned()
        .unwrap_or_default();
    let filekey = ctx.query.get("filekey").cloned().unwrap_or_default();
    let Some(upload) = state.uploads.get(&param).cloned() else {
        return refuse(&mut state, ctx, None, "upload param was never issued");
    };
    let bot = Some(upload.bot_id.clone());
    if upload.filekey != filekey {
        return refuse(
            &mut state,
            ctx,
            bot,
            "filekey was never issued for this upload",
        );
    }
    if ctx.body.len() as u64 != upload.filesize {
        let what = format!(
            "body is {} bytes, filesize was {}",
            ctx.body.len(),
            upload.filesize
        );
        return refuse(&mut state, ctx, bot, &what);
    }
    let Some(plain) = crypto::decrypt(&upload.aeskey, &ctx.body) else {
        return refuse(
            &mut state,
            ctx,
            bot,
            "body does not decrypt with the declared aeskey",
        );
    };
    if plain.len() as u64 != upload.rawsize {
        let what = format!(
            "plaintext is {} bytes, rawsize was {}",
            plain.len(),
            upload.rawsize
        );
        return refuse(&mut state, ctx, bot, &what);
    }
    if !crypto::md5_hex(&plain).eq_ignore_ascii_case(&upload.rawfilemd5) {
        return refuse(
            &mut state,
            ctx,
            bot,
            "plaintext MD5 differs from rawfilemd5",
        );
    }
    let download_param = format!("dl_{}", state.hex(24));
    let key = upload.aeskey;
    state.cdn.insert(
        download_param.clone(),
        CdnObject {
            ciphertext: ctx.body.clone(),
            key: Some(key),
            upload: Some(upload),
        },
    );
    Reply::Bytes {
        status: StatusCode::OK,
        content_type: "application/json",
        headers: vec![("x-encrypted-param", download_param)],
        body: Bytes::from_static(b"{}"),
    }
}

fn refuse(state: &mut crate::state::State, ctx: &Ctx, bot: Option<String>, what: &str) -> Reply {
    state.violate("cdn.upload_invalid", what, &ctx.path, bot.as_deref(), None);
    Reply::cdn_error(StatusCode::BAD_REQUEST, what)
}

/// `GET /c2c/download?encrypted_query_param=…`.
pub(crate) fn download(shared: &Shared, ctx: &Ctx) -> Reply {
    let state = shared.lock();
    let param = ctx
        .query
        .get("encrypted_query_param")
        .cloned()
        .unwrap_or_default();
    match state.cdn.get(&param) {
        Some(object) => Reply::Bytes {
            status: StatusCode::OK,
            content_type: "application/octet-stream",
            headers: Vec::new(),
            body: object.ciphertext.clone(),
        },
        None => Reply::cdn_error(StatusCode::NOT_FOUND, "unknown download param"),
    }
}
