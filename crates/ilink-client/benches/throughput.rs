//! Throughput of ilink-client's hot paths: AES-128-ECB (PKCS#7) encryption and
//! decryption on 64 MiB (one-shot and streamed in 64 KiB chunks) and 16 KiB, MD5,
//! and decoding a getupdates reply of 100 text messages.
//!
//! After criterion's own report, a summary prints MB/s and messages/s next to
//! `openssl speed -evp aes-128-ecb` and `openssl speed -evp md5` (16384-byte
//! column) when `openssl` is on the PATH, with the ratios.
//!
//! Runs in about a minute: flat sampling, 10 samples, short measurement.

use std::process::Command;
use std::time::{Duration, Instant};

use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, Criterion, SamplingMode, Throughput};
use rand::RngCore as _;

use ilink_client::crypto::{
    decrypt, decrypt_blocks_in_place, encrypt, encrypt_blocks_in_place, md5_hex, AesKey, Decryptor,
    Encryptor, Md5Hasher,
};

/// Size of the large inputs.
const BIG: usize = 64 << 20;
/// Size of the in-cache inputs (openssl speed's largest default block size).
const SMALL: usize = 16 << 10;
/// Chunk size of the streaming benchmarks, like a network read.
const CHUNK: usize = 64 << 10;

fn random_bytes(len: usize) -> Vec<u8> {
    let mut v = vec![0u8; len];
    rand::rng().fill_bytes(&mut v);
    v
}

fn configure<'a>(
    c: &'a mut Criterion,
    name: &str,
    bytes: usize,
    flat: bool,
) -> BenchmarkGroup<'a, WallTime> {
    let mut group = c.benchmark_group(name);
    group
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .throughput(Throughput::Bytes(bytes as u64));
    if flat {
        group.sampling_mode(SamplingMode::Flat);
    }
    group
}

fn aes_big(c: &mut Criterion) {
    let key = AesKey::random();
    let plain = random_bytes(BIG);
    let cipher = encrypt(&key, &plain);
    let mut out: Vec<u8> = Vec::with_capacity(BIG + 16);

    let mut group = configure(c, "aes128_ecb_64MiB", BIG, true);
    group.bench_function("encrypt_stream_64KiB_chunks", |b| {
        b.iter(|| {
            out.clear();
            let mut enc = Encryptor::new(&key);
            for chunk in plain.chunks(CHUNK) {
                enc.update(chunk, &mut out);
            }
            enc.finish(&mut out);
            out.len()
        });
    });
    group.bench_function("decrypt_stream_64KiB_chunks", |b| {
        b.iter(|| {
            out.clear();
            let mut dec = Decryptor::new(&key);
            for chunk in cipher.chunks(CHUNK) {
                dec.update(chunk, &mut out);
            }
            dec.finish(&mut out).map(|()| out.len())
        });
    });
    group.bench_function("encrypt_one_shot_alloc", |b| {
        b.iter(|| encrypt(&key, &plain).len());
    });
    group.bench_function("decrypt_one_shot_alloc", |b| {
        b.iter(|| decrypt(&key, &cipher).map(|p| p.len()));
    });
    let mut buf = plain.clone();
    group.bench_function("encrypt_raw_in_place", |b| {
        b.iter(|| encrypt_blocks_in_place(&key, &mut buf));
    });
    group.finish();
}

fn aes_small(c: &mut Criterion) {
    let key = AesKey::random();
    let mut buf = random_bytes(SMALL);
    let mut group = configure(c, "aes128_ecb_16KiB", SMALL, false);
    group.bench_function("encrypt_raw_in_place", |b| {
        b.iter(|| encrypt_blocks_in_place(&key, &mut buf));
    });
    group.bench_function("decrypt_raw_in_place", |b| {
        b.iter(|| decrypt_blocks_in_place(&key, &mut buf));
    });
    group.finish();
}

fn md5(c: &mut Criterion) {
    let big = random_bytes(BIG);
    let mut group = configure(c, "md5_64MiB", BIG, true);
    group.bench_function("one_shot", |b| b.iter(|| md5_hex(&big)));
    group.bench_function("stream_64KiB_chunks", |b| {
        b.iter(|| {
            let mut h = Md5Hasher::new();
            for chunk in big.chunks(CHUNK) {
                h.update(chunk);
            }
            h.finish_hex()
        });
    });
    group.finish();

    let small = random_bytes(SMALL);
    let mut group = configure(c, "md5_16KiB", SMALL, false);
    group.bench_function("one_shot", |b| b.iter(|| md5_hex(&small)));
    group.finish();
}

/// A getupdates reply body with `n` text messages shaped like real ones.
fn updates_body(n: usize) -> Vec<u8> {
    let msgs: Vec<serde_json::Value> = (0..n)
        .map(|i| {
            serde_json::json!({
                "seq": i, "message_id": 7_340_000_000_000_000_000u64 + i as u64,
                "from_user_id": "e467d326e29dfb28@im.wechat", "to_user_id": "b0f5860fdecb@im.bot",
                "client_id": format!("c-{i}"), "create_time_ms": 1_795_609_867_030u64,
                "session_id": "s-1", "message_type": 1, "message_state": 2,
                "item_list": [{"type": 1, "msg_id": i, "text_item": {"text": format!("message number {i}: 你好，世界")}}],
                "context_token": "ctx_074d3d79326455b10dd006733c430916"
            })
        })
        .collect();
    serde_json::to_vec(&serde_json::json!({
        "ret": 0, "msgs": msgs, "get_updates_buf": "Y3Vyc29yLTE=", "longpolling_timeout_ms": 35000
    }))
    .unwrap_or_default()
}

fn decode(c: &mut Criterion) {
    let body = updates_body(100);
    let mut group = c.benchmark_group("getupdates_decode");
    group
        .sample_size(20)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .throughput(Throughput::Elements(100));
    group.bench_function("100_text_messages", |b| {
        b.iter(|| ilink_client::decode_updates_body(&body).map(|r| r.msgs.len()));
    });
    group.finish();
}

/// Units per second of `f` over about a second, `units` per call.
fn rate(units: f64, mut f: impl FnMut()) -> f64 {
    f();
    let start = Instant::now();
    let mut calls = 0u32;
    while start.elapsed() < Duration::from_secs(1) {
        f();
        calls += 1;
    }
    units * f64::from(calls) / start.elapsed().as_secs_f64()
}

/// openssl's figure in MB/s for blocks of `bytes`, if openssl runs here.
fn openssl_mb_s(algorithm: &str, bytes: usize) -> Option<f64> {
    let bytes = bytes.to_string();
    let out = Command::new("openssl")
        .args([
            "speed", "-evp", algorithm, "-bytes", &bytes, "-seconds", "2",
        ])
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    // The last line is `<name>  <N>k` (thousands of bytes per second).
    let line = text.lines().rev().find(|l| l.trim_end().ends_with('k'))?;
    let kb: f64 = line
        .split_whitespace()
        .last()?
        .trim_end_matches('k')
        .parse()
        .ok()?;
    Some(kb / 1000.0)
}

fn summary() {
    let key = AesKey::random();
    let mut small = random_bytes(SMALL);
    let big = random_bytes(BIG);
    let cipher = encrypt(&key, &big);
    let mut out: Vec<u8> = Vec::with_capacity(BIG + 16);
    let mb = |bytes: usize| bytes as f64 / 1e6;

    let aes_enc_16k = rate(mb(SMALL), || {
        let _ = encrypt_blocks_in_place(&key, &mut small);
    });
    let aes_dec_16k = rate(mb(SMALL), || {
        let _ = decrypt_blocks_in_place(&key, &mut small);
    });
    let aes_enc_64m = rate(mb(BIG), || {
        out.clear();
        let mut enc = Encryptor::new(&key);
        for chunk in big.chunks(CHUNK) {
            enc.update(chunk, &mut out);
        }
        enc.finish(&mut out);
    });
    let aes_dec_64m = rate(mb(BIG), || {
        out.clear();
        let mut dec = Decryptor::new(&key);
        for chunk in cipher.chunks(CHUNK) {
            dec.update(chunk, &mut out);
        }
        let _ = dec.finish(&mut out);
    });
    let mut big_in_place = big.clone();
    let aes_raw_64m = rate(mb(BIG), || {
        let _ = encrypt_blocks_in_place(&key, &mut big_in_place);
    });
    let md5_16k = rate(mb(SMALL), || {
        std::hint::black_box(md5_hex(&small));
    });
    let md5_64m = rate(mb(BIG), || {
        std::hint::black_box(md5_hex(&big));
    });
    let body = updates_body(100);
    let decode = rate(100.0, || {
        let _ = std::hint::black_box(ilink_client::decode_updates_body(&body));
    });
    let ssl_aes = openssl_mb_s("aes-128-ecb", SMALL);
    let ssl_aes_big = openssl_mb_s("aes-128-ecb", BIG);
    let ssl_md5 = openssl_mb_s("md5", SMALL);
    let ratio = |ours: f64, theirs: Option<f64>| {
        theirs.map_or("openssl not run".to_owned(), |t| {
            format!("{t:>9.0} MB/s  ratio {:>5.1}%", 100.0 * ours / t)
        })
    };
    println!();
    println!("summary (MB = 10^6 bytes)               ours           openssl, same block size");
    let rows = [
        ("AES-128-ECB encrypt 16 KiB", aes_enc_16k, ssl_aes),
        ("AES-128-ECB decrypt 16 KiB", aes_dec_16k, ssl_aes),
        (
            "AES-128-ECB encrypt 64 MiB in place",
            aes_raw_64m,
            ssl_aes_big,
        ),
        (
            "AES-128-ECB encrypt 64 MiB streamed",
            aes_enc_64m,
            ssl_aes_big,
        ),
        (
            "AES-128-ECB decrypt 64 MiB streamed",
            aes_dec_64m,
            ssl_aes_big,
        ),
        ("MD5 16 KiB", md5_16k, ssl_md5),
        ("MD5 64 MiB", md5_64m, ssl_md5),
    ];
    for (name, ours, theirs) in rows {
        println!("{name:<36} {ours:>9.0} MB/s   {}", ratio(ours, theirs));
    }
    println!(
        "{:<36} {decode:>9.0} messages/s",
        "getupdates decode, 100 texts"
    );
}

// Written out instead of `criterion_group!`/`criterion_main!`, whose generated
// `pub fn` has no doc comment and trips `missing_docs`.
fn main() {
    let mut c = Criterion::default().configure_from_args();
    aes_big(&mut c);
    aes_small(&mut c);
    md5(&mut c);
    decode(&mut c);
    c.final_summary();
    // `cargo test --benches` runs this binary in test mode: skip the long summary.
    if !std::env::args().any(|a| a == "--test") {
        summary();
    }
}
