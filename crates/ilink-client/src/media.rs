//! CDN media: upload (section 4.6) and download (section 4.7).
//!
//! Memory stays flat in the file's size: an upload hashes the file in one
//! streaming pass, then encrypts and sends it in chunks (a retry reopens the
//! file); a download decrypts as it reads and enforces the size cap as it goes.

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures_util::StreamExt as _;
use tokio::io::{AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _};
use tracing::{debug, info, warn};

use crate::client::{join_url, status_error, IlinkClient};
use crate::crypto::{padded_size, AesKey, Decryptor, Encryptor, Md5Hasher};
use crate::error::{Error, ErrorKind, Result};
use crate::redact::{redact_url, truncate_chars};
use crate::wire::{CdnMedia, EncryptType, GetUploadUrlRequest, UploadMediaType};

/// Plaintext cap of one inbound media object: 100 MiB.
pub const MAX_MEDIA_BYTES: u64 = 100 * 1024 * 1024;
/// Chunk size of the streaming passes.
const CHUNK: usize = 256 * 1024;
/// Upload attempts in all.
const UPLOAD_ATTEMPTS: u32 = 3;

/// The kind of a media object, which decides its upload `media_type` and message item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum MediaKind {
    /// An image (item type 2, upload type 1).
    Image,
    /// A video (item type 5, upload type 2).
    Video,
    /// Any other file (item type 4, upload type 3).
    File,
    /// A voice clip (item type 3, upload type 4).
    Voice,
}

impl MediaKind {
    /// The kind for a MIME type: `video/*` → video, `image/*` → image, else file.
    pub fn from_mime(mime: &str) -> Self {
        let top = mime.split('/').next().unwrap_or_default().trim();
        if top.eq_ignore_ascii_case("video") {
            Self::Video
        } else if top.eq_ignore_ascii_case("image") {
            Self::Image
        } else {
            Self::File
        }
    }

    /// The kind for a file name, from the MIME type its extension suggests
    /// (`mime_guess`); unknown extensions are files.
    pub fn from_path(path: impl AsRef<Path>) -> Self {
        mime_guess::from_path(path)
            .first()
            .map_or(Self::File, |m| Self::from_mime(m.essence_str()))
    }

    /// The `media_type` of getuploadurl.
    pub fn upload_type(self) -> UploadMediaType {
        match self {
            Self::Image => UploadMediaType::Image,
            Self::Video => UploadMediaType::Video,
            Self::File => UploadMediaType::File,
            Self::Voice => UploadMediaType::Voice,
        }
    }

    /// A lower-case name for messages and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Image => "image",
            Self::Video => "video",
            Self::File => "file",
            Self::Voice => "voice",
        }
    }
}

/// What to upload: a file on disk (streamed) or bytes in memory.
#[derive(Debug, Clone)]
pub enum MediaSource {
    /// A file, read in chunks; a retry reopens it.
    Path(PathBuf),
    /// Bytes already in memory.
    Bytes(Bytes),
}

impl MediaSource {
    /// The source's file name, if it is a path.
    pub fn file_name(&self) -> Option<String> {
        match self {
            Self::Path(p) => p.file_name().map(|n| n.to_string_lossy().into_owned()),
            Self::Bytes(_) => None,
        }
    }
}

/// A finished upload: what a message item needs to refer to it.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct UploadedMedia {
    /// The kind uploaded.
    pub kind: MediaKind,
    /// The CDN's download parameter (`x-encrypted-param`).
    pub download_param: String,
    /// The key the ciphertext was made with.
    pub key: AesKey,
    /// The upload's file key (16 random bytes as hex).
    pub filekey: String,
    /// Plaintext size.
    pub raw_size: u64,
    /// Ciphertext size.
    pub cipher_size: u64,
    /// Hex MD5 of the plaintext.
    pub raw_md5: String,
}

impl std::fmt::Debug for UploadedMedia {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UploadedMedia")
            .field("kind", &self.kind)
            .field("download_param", &truncate_chars(&self.download_param, 8))
            .field("raw_size", &self.raw_size)
            .field("cipher_size", &self.cipher_size)
            .field("raw_md5", &self.raw_md5)
            .finish_non_exhaustive()
    }
}

impl UploadedMedia {
    /// The `media` object of the message item: download param, key as base64 of
    /// its hex text, `encrypt_type: 1`.
    pub fn cdn_media(&self) -> CdnMedia {
        CdnMedia {
            encrypt_query_param: Some(self.download_param.clone()),
            aes_key: Some(self.key.to_media_field()),
            encrypt_type: Some(EncryptType::Packed),
            full_url: None,
        }
    }
}

/// Size and MD5 of a source, in one streaming pass.
async fn digest(source: &MediaSource) -> Result<(u64, String)> {
    match source {
        MediaSource::Bytes(b) => {
            let mut h = Md5Hasher::new();
            h.update(b);
            Ok((b.len() as u64, h.finish_hex()))
        }
        MediaSource::Path(path) => {
            let mut file = tokio::fs::File::open(path).await.map_err(Error::io)?;
            let mut h = Md5Hasher::new();
            let mut buf = vec![0u8; CHUNK];
            loop {
                let n = file.read(&mut buf).await.map_err(Error::io)?;
                if n == 0 {
                    break;
                }
                h.update(&buf[..n]);
            }
            Ok((h.bytes_in(), h.finish_hex()))
        }
    }
}

/// The encrypted body of one upload attempt, produced chunk by chunk. `progress`
/// counts bytes handed to the connection, for the stall watchdog.
fn encrypted_body(
    source: MediaSource,
    key: AesKey,
    progress: Arc<AtomicU64>,
) -> impl futures_util::Stream<Item = std::io::Result<Bytes>> + Send + 'static {
    enum Reader {
        File(tokio::fs::File),
        Bytes(Bytes),
        Done,
    }
    let start = match source {
        MediaSource::Bytes(b) => Ok(Reader::Bytes(b)),
        MediaSource::Path(p) => Err(p),
    };
    futures_util::stream::unfold(
        (Some(start), Some(Encryptor::new(&key))),
        move |(state, enc)| {
            let progress = progress.clone();
            async move {
                let mut enc = enc?;
                let reader = match state? {
                    Ok(r) => r,
                    Err(path) => match tokio::fs::File::open(&path).await {
                        Ok(f) => Reader::File(f),
                        Err(e) => return Some((Err(e), (None, None))),
                    },
                };
                let mut out = Vec::with_capacity(CHUNK + 16);
                let next = match reader {
                    Reader::Bytes(mut b) => {
                        let take = b.len().min(CHUNK);
                        let head = b.split_to(take);
                        enc.update(&head, &mut out);
                        if b.is_empty() {
                            Reader::Done
                        } else {
                            Reader::Bytes(b)
                        }
                    }
                    Reader::File(mut f) => {
                        let mut buf = vec![0u8; CHUNK];
                        match f.read(&mut buf).await {
                            Ok(0) => Reader::Done,
                            Ok(n) => {
                                enc.update(&buf[..n], &mut out);
                                Reader::File(f)
                            }
                            Err(e) => return Some((Err(e), (None, None))),
                        }
                    }
                    Reader::Done => {
                        enc.finish(&mut out);
                        progress.fetch_add(out.len() as u64, Ordering::Relaxed);
                        return Some((Ok(Bytes::from(out)), (None, None)));
                    }
                };
                progress.fetch_add(out.len() as u64, Ordering::Relaxed);
                Some((Ok(Bytes::from(out)), (Some(Ok(next)), Some(enc))))
            }
        },
    )
}

/// The pause after failed attempt number `attempt` (from 1): `base`, then doubling.
fn retry_pause(base: Duration, attempt: u32) -> Duration {
    base.saturating_mul(1 << attempt.saturating_sub(1).min(16))
}

/// Runs `work` but fails it with [`ErrorKind::Timeout`] once `progress` has not
/// moved for `stall`.
async fn with_stall_watchdog<T>(
    work: impl std::future::Future<Output = Result<T>>,
    progress: Arc<AtomicU64>,
    stall: Duration,
) -> Result<T> {
    let watchdog = async {
        let mut last = progress.load(Ordering::Relaxed);
        loop {
            tokio::time::sleep(stall).await;
            let now = progress.load(Ordering::Relaxed);
            if now == last {
                return;
            }
            last = now;
        }
    };
    tokio::select! {
        result = work => result,
        () = watchdog => Err(Error::new(ErrorKind::Timeout)),
    }
}

impl IlinkClient {
    /// Uploads media for `to_user_id`: MD5 pass, getuploadurl, encrypted CDN POST
    /// with retries (4xx aborts; 5xx, network errors and a 200 without
    /// `x-encrypted-param` are retried, 3 attempts in all, after 500 ms then 1 s).
    pub async fn upload_media(
        &self,
        source: MediaSource,
        kind: MediaKind,
        to_user_id: &str,
    ) -> Result<UploadedMedia> {
        let (raw_size, raw_md5) = digest(&source).await?;
        let key = AesKey::random();
        let filekey = hex::encode(rand::random::<[u8; 16]>());
        let cipher_size = padded_size(raw_size);
        let reply = self
            .get_upload_url(GetUploadUrlRequest {
                filekey: filekey.clone(),
                media_type: kind.upload_type(),
                to_user_id: to_user_id.to_owned(),
                rawsize: raw_size,
                rawfilemd5: raw_md5.clone(),
                filesize: cipher_size,
                no_need_thumb: true,
                aeskey: key.to_hex(),
                base_info: self.base_info().clone(),
            })
            .await?;
        let url = match reply.upload_full_url.filter(|u| !u.is_empty()) {
            Some(full) => {
                self.check_media_url(&full).await?;
                full
            }
            None => {
                let param = reply.upload_param.unwrap_or_default();
                self.cdn_url(
                    "upload",
                    &[("encrypted_query_param", &param), ("filekey", &filekey)],
                )?
            }
        };

        let mut attempt = 0;
        let download_param = loop {
            attempt += 1;
            match self.upload_attempt(&url, &source, &key, cipher_size).await {
                Ok(param) => break param,
                Err(e) => {
                    let retry = attempt < UPLOAD_ATTEMPTS
                        && !matches!(e.kind(), ErrorKind::HttpStatus { status, .. } if (400..500).contains(status))
                        && !matches!(e.kind(), ErrorKind::Io);
                    if !retry {
                        return Err(e);
                    }
                    warn!(attempt, error = %e, "CDN upload failed; retrying");
                    tokio::time::sleep(retry_pause(self.timeouts().cdn_retry_pause, attempt)).await;
                }
            }
        };
        info!(
            kind = kind.as_str(),
            raw_size, cipher_size, "uploaded media"
        );
        Ok(UploadedMedia {
            kind,
            download_param,
            key,
            filekey,
            raw_size,
            cipher_size,
            raw_md5,
        })
    }

    async fn upload_attempt(
        &self,
        url: &str,
        source: &MediaSource,
        key: &AesKey,
        cipher_size: u64,
    ) -> Result<String> {
        const EP: &str = "cdn upload";
        debug!(endpoint = EP, url = redact_url(url), cipher_size, "POST");
        let progress = Arc::new(AtomicU64::new(0));
        let body = encrypted_body(source.clone(), key.clone(), progress.clone());
        let request = self
            .http()
            .post(url)
            .header("Content-Type", "application/octet-stream")
            .header("Content-Length", cipher_size)
            .body(reqwest::Body::wrap_stream(body));
        let work = async {
            let resp = request.send().await.map_err(Error::from_reqwest)?;
            // Only 200 counts: another 2xx is a failure too (and is retried).
            if resp.status().as_u16() != 200 {
                return Err(status_error(resp).await);
            }
            resp.headers()
                .get("x-encrypted-param")
                .and_then(|v| v.to_str().ok())
                .filter(|v| !v.is_empty())
                .map(str::to_owned)
                .ok_or_else(|| Error::new(ErrorKind::MissingEncryptedParam))
        };
        with_stall_watchdog(work, progress, self.timeouts().cdn_stall)
            .await
            .map_err(|e| e.at(EP))
    }

    /// Downloads a media object into `sink`, decrypting as it reads; returns the
    /// plaintext size. `key` `None` downloads plaintext, which only an image may be
    /// (use [`crate::crypto::parse_key`] to pick the key from an item). More than
    /// `cap` plaintext bytes is [`ErrorKind::TooLarge`].
    ///
    /// On an error, whatever was already written to `sink` must be discarded:
    /// write to a temporary file and rename it only after success.
    pub async fn download_media<W: AsyncWrite + Unpin>(
        &self,
        media: &CdnMedia,
        kind: MediaKind,
        key: Option<&AesKey>,
        cap: u64,
        sink: &mut W,
    ) -> Result<u64> {
        const EP: &str = "cdn download";
        if key.is_none() && kind != MediaKind::Image {
            return Err(Error::new(ErrorKind::MissingKey(kind.as_str())).at(EP));
        }
        let url = self.download_url(media).await.map_err(|e| e.at(EP))?;
        debug!(endpoint = EP, url = redact_url(&url), "GET");
        let progress = Arc::new(AtomicU64::new(0));
        let watched = progress.clone();
        let work = async {
            let resp = self
                .http()
                .get(&url)
                .send()
                .await
                .map_err(Error::from_reqwest)?;
            if !resp.status().is_success() {
                return Err(status_error(resp).await);
            }
            let cipher_cap = if key.is_some() { cap + 16 } else { cap };
            if resp.content_length().is_some_and(|len| len > cipher_cap) {
                return Err(Error::new(ErrorKind::TooLarge { limit: cap }));
            }
            let mut decryptor = key.map(Decryptor::new);
            let mut stream = resp.bytes_stream();
            let mut received = 0u64;
            let mut written = 0u64;
            let mut out = Vec::with_capacity(CHUNK + 16);
            while let Some(chunk) = stream.next().await {
                let chunk = chunk.map_err(Error::from_reqwest)?;
                progress.fetch_add(chunk.len() as u64, Ordering::Relaxed);
                received += chunk.len() as u64;
                if received > cipher_cap {
                    return Err(Error::new(ErrorKind::TooLarge { limit: cap }));
                }
                out.clear();
                let plain: &[u8] = match decryptor.as_mut() {
                    Some(d) => {
                        d.update(&chunk, &mut out);
                        &out
                    }
                    None => &chunk,
                };
                written += plain.len() as u64;
                sink.write_all(plain).await.map_err(Error::io)?;
            }
            if let Some(d) = decryptor {
                out.clear();
                d.finish(&mut out)?;
                written += out.len() as u64;
                sink.write_all(&out).await.map_err(Error::io)?;
            }
            if written > cap {
                return Err(Error::new(ErrorKind::TooLarge { limit: cap }));
            }
            sink.flush().await.map_err(Error::io)?;
            Ok(written)
        };
        with_stall_watchdog(work, watched, self.timeouts().cdn_stall)
            .await
            .map_err(|e| e.at(EP))
    }

    /// [`IlinkClient::download_media`] into memory, with the 100 MiB cap.
    pub async fn download_media_to_vec(
        &self,
        media: &CdnMedia,
        kind: MediaKind,
        key: Option<&AesKey>,
    ) -> Result<Vec<u8>> {
        let mut out = Vec::new();
        self.download_media(media, kind, key, MAX_MEDIA_BYTES, &mut out)
            .await?;
        Ok(out)
    }

    /// The URL of a media object: its checked `full_url`, else the built CDN URL.
    async fn download_url(&self, media: &CdnMedia) -> Result<String> {
        if let Some(full) = media.full_url.as_deref().filter(|u| !u.is_empty()) {
            self.check_media_url(full).await?;
            return Ok(full.to_owned());
        }
        let param = media
            .encrypt_query_param
            .as_deref()
            .filter(|p| !p.is_empty())
            .ok_or_else(|| Error::new(ErrorKind::NoMediaLocation))?;
        self.cdn_url("download", &[("encrypted_query_param", param)])
    }

    /// `<cdn>/<path>?<pairs>`, the pairs URL-encoded.
    fn cdn_url(&self, path: &str, pairs: &[(&str, &str)]) -> Result<String> {
        let mut url = url::Url::parse(&join_url(self.cdn_base_url(), path))
            .map_err(|e| Error::new(ErrorKind::Config(format!("CDN {path} URL"))).with_source(e))?;
        url.query_pairs_mut().extend_pairs(pairs);
        Ok(url.into())
    }

    /// A URL from the network is followed only with http(s), and only to a public
    /// address or to the configured CDN base's own host.
    pub async fn check_media_url(&self, raw: &str) -> Result<()> {
        let refused = |why: &str| {
            Err(Error::new(ErrorKind::RefusedUrl(format!(
                "{} ({why})",
                redact_url(raw)
            ))))
        };
        let Ok(url) = url::Url::parse(raw) else {
            return refused("not a URL");
        };
        if !matches!(url.scheme(), "http" | "https") {
            return refused("scheme is not http or https");
        }
        let Some(host) = url.host_str().map(str::to_ascii_lowercase) else {
            return refused("no host");
        };
        if self.cdn_host() == Some(host.as_str()) {
            return Ok(());
        }
        let port = url.port_or_known_default().unwrap_or(443);
        let addrs: Vec<IpAddr> = match url.host() {
            Some(url::Host::Ipv4(ip)) => vec![IpAddr::V4(ip)],
            Some(url::Host::Ipv6(ip)) => vec![IpAddr::V6(ip)],
            _ => match tokio::net::lookup_host((host.as_str(), port)).await {
                Ok(addrs) => addrs.map(|a| a.ip()).collect(),
                Err(_) => return refused("host does not resolve"),
            },
        };
        if addrs.is_empty() || !addrs.iter().all(|ip| is_public(*ip)) {
            return refused("not a public address");
        }
        Ok(())
    }
}

/// Whether an address is publicly routable (not loopback, private, link-local,
/// shared, documentation, multicast, unspecified or otherwise reserved).
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, c, _] = v4.octets();
            !(v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_broadcast()
                || v4.is_documentation()
                || v4.is_unspecified()
                || v4.is_multicast()
                || a == 0
                || (a == 100 && (64..128).contains(&b))
                || (a == 192 && b == 0 && c == 0)
                || (a == 198 && (b == 18 || b == 19))
                || a >= 240)
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public(IpAddr::V4(v4));
            }
            let first = v6.segments()[0];
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (first & 0xfe00) == 0xfc00
                || (first & 0xffc0) == 0xfe80
                || first == 0x2001 && v6.segments()[1] == 0x0db8)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mime_routing() {
        assert_eq!(MediaKind::from_mime("video/mp4"), MediaKind::Video);
        assert_eq!(MediaKind::from_mime("image/png"), MediaKind::Image);
        assert_eq!(MediaKind::from_mime("application/pdf"), MediaKind::File);
        assert_eq!(MediaKind::from_path("a/b/clip.MP4"), MediaKind::Video);
        assert_eq!(MediaKind::from_path("photo.jpeg"), MediaKind::Image);
        assert_eq!(MediaKind::from_path("notes.txt"), MediaKind::File);
        assert_eq!(MediaKind::from_path("no-extension"), MediaKind::File);
        assert_eq!(MediaKind::Voice.upload_type(), UploadMediaType::Voice);
    }

    #[test]
    fn default_retry_pauses_are_500ms_then_1s() {
        let base = crate::Timeouts::default().cdn_retry_pause;
        assert_eq!(retry_pause(base, 1), Duration::from_millis(500));
        assert_eq!(retry_pause(base, 2), Duration::from_secs(1));
    }

    #[test]
    fn public_address_rules() {
        for ip in ["8.8.8.8", "1.1.1.1", "2606:4700::1111"] {
            assert!(is_public(ip.parse().expect("ip")), "{ip}");
        }
        for ip in [
            "127.0.0.1",
            "127.0.0.2",
            "10.0.0.1",
            "172.16.5.4",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "::1",
            "fe80::1",
            "fd00::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
        ] {
            assert!(!is_public(ip.parse().expect("ip")), "{ip}");
        }
    }
}
