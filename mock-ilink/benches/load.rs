//! Load: the mock binary holds 10,000 concurrent long polls on loopback while
//! control-API calls are timed. Prints the mock's peak RSS and the p50/p99
//! latency of the control calls, next to the aims (RSS under 200 MB, p99 under
//! 50 ms on a 2-core machine).
//!
//! `cargo bench -p mock-ilink` (or `cargo xtask bench mock` once xtask exists).
//! Everything stays on 127.0.0.1 and stops by itself: the polls are bounded in
//! number, the mock is a child of this process and is stopped by its pid.
//! `MOCK_LOAD_POLLS` overrides the number of polls (default 10,000).

use std::io::BufRead as _;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

const CONTROL_CALLS: usize = 2000;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // `cargo test --benches` runs this in test mode: nothing to do there.
    if std::env::args().any(|a| a == "--test") {
        return Ok(());
    }
    let polls: usize = std::env::var("MOCK_LOAD_POLLS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    let mut child = Command::new(env!("CARGO_BIN_EXE_mock-ilink"))
        .args(["--long-poll-ms", "300000", "--max-requests", "1000"])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()?;
    let pid = child.id();
    let first = match child.stdout.take() {
        Some(out) => std::io::BufReader::new(out).lines().next().transpose()?,
        None => None,
    };
    let url = first
        .as_deref()
        .and_then(|l| l.strip_prefix("MOCK_ILINK_URL="))
        .ok_or("the mock printed no MOCK_ILINK_URL line")?
        .to_owned();
    let result = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?
        .block_on(run(&url, pid, polls));
    // Stop the mock by its pid (SIGTERM: it exits cleanly), then reap it.
    let _ = Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status();
    let status = child.wait()?;
    println!("mock exited with {status}");
    result
}

async fn run(url: &str, pid: u32, polls: usize) -> Result<(), Box<dyn std::error::Error>> {
    let http = reqwest::Client::new();
    let addr = url.trim_start_matches("http://").to_owned();
    let rss_idle = peak_rss_kib(pid);

    // One bot per poll: a bot holds one poll at a time.
    let started = Instant::now();
    let mut tokens = Vec::with_capacity(polls);
    for _ in 0..polls {
        let bot: Value = http
            .post(format!("{url}/_mock/bots"))
            .json(&json!({}))
            .send()
            .await?
            .json()
            .await?;
        tokens.push(bot["token"].as_str().unwrap_or_default().to_owned());
    }
    println!("created {polls} bots in {:.1?}", started.elapsed());

    // Open the polls: raw HTTP/1.1 on one connection each, held by the mock.
    let started = Instant::now();
    let mut held = Vec::with_capacity(polls);
    for token in &tokens {
        let body = json!({
            "get_updates_buf": "",
            "base_info": {"channel_version": "2.4.9", "bot_agent": "OpenClaw"}
        })
        .to_string();
        let request = format!(
            "POST /ilink/bot/getupdates HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
             AuthorizationType: ilink_bot_token\r\nX-WECHAT-UIN: MTIzNDU=\r\niLink-App-Id: bot\r\n\
             iLink-App-ClientVersion: 132105\r\nAuthorization: Bearer {token}\r\n\
             Content-Length: {}\r\n\r\n{body}",
            body.len()
        );
        let mut stream = TcpStream::connect(&addr).await?;
        stream.write_all(request.as_bytes()).await?;
        held.push(stream);
    }
    let mut held_now = 0;
    for _ in 0..600 {
        let health: Value = http
            .get(format!("{url}/_mock/health"))
            .send()
            .await?
            .json()
            .await?;
        held_now = health["held_polls"].as_u64().unwrap_or(0) as usize;
        if held_now >= polls {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    println!(
        "{held_now} of {polls} polls held after {:.1?}",
        started.elapsed()
    );

    // Control calls while the polls are held: a mix of reads and writes.
    let mut latencies = Vec::with_capacity(CONTROL_CALLS);
    let bot_ids: Vec<String> = tokens
        .iter()
        .take(50)
        .map(|t| t.split(':').next().unwrap_or_default().to_owned())
        .collect();
    for i in 0..CONTROL_CALLS {
        let bot = &bot_ids[i % bot_ids.len()];
        let t0 = Instant::now();
        let status = match i % 4 {
            0 => http
                .get(format!("{url}/_mock/health"))
                .send()
                .await?
                .status(),
            1 => http
                .get(format!("{url}/_mock/bots/{bot}"))
                .send()
                .await?
                .status(),
            2 => http
                .get(format!("{url}/_mock/violations?since=1000000"))
                .send()
                .await?
                .status(),
            _ => http
                .post(format!("{url}/_mock/clock/advance"))
                .json(&json!({"ms": 1}))
                .send()
                .await?
                .status(),
        };
        latencies.push(t0.elapsed());
        if !status.is_success() {
            return Err(format!("control call {i} answered {status}").into());
        }
    }
    latencies.sort();
    let pct = |p: f64| latencies[((latencies.len() as f64 * p) as usize).min(latencies.len() - 1)];

    // No held poll may have been answered meanwhile.
    let mut answered = 0;
    for stream in &mut held {
        let mut buf = [0u8; 1];
        if let Ok(Ok(n)) =
            tokio::time::timeout(Duration::from_micros(1), stream.read(&mut buf)).await
        {
            if n > 0 {
                answered += 1;
            }
        }
    }
    let rss = peak_rss_kib(pid);
    println!();
    println!("mock-ilink load, {polls} concurrent long polls on loopback");
    println!("  polls held                 {held_now}");
    println!("  polls answered early       {answered}");
    println!(
        "  peak RSS                   {:.1} MB (idle start {:.1} MB; aim < 200 MB)",
        rss as f64 / 1024.0,
        rss_idle as f64 / 1024.0
    );
    println!(
        "  control p50 / p99 / max    {:.2} ms / {:.2} ms / {:.2} ms over {CONTROL_CALLS} calls (aim p99 < 50 ms)",
        pct(0.50).as_secs_f64() * 1e3,
        pct(0.99).as_secs_f64() * 1e3,
        latencies.last().copied().unwrap_or_default().as_secs_f64() * 1e3
    );
    drop(held);
    Ok(())
}

/// VmHWM (peak resident set) of a process, in KiB; 0 where /proc is missing.
fn peak_rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|n| n.parse().ok())
        })
        .unwrap_or(0)
}
