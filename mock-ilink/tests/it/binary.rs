//! The `mock-ilink` program: its first stdout line, `--auto-login`, `--seed`,
//! and a clean exit on SIGTERM and SIGINT. Each test signals only the process it
//! spawned, by pid, and tags it with a marker of its own.

use std::io::BufRead as _;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use ilink_client::login::{LoginFlow, LoginOptions, LoginOutcome, LoginPrompt};
use ilink_client::{IlinkClient, QrCode};

struct Silent;

impl LoginPrompt for Silent {
    fn show_qr(&mut self, _: &QrCode, _: u32) {}

    async fn verify_code(&mut self, _: u32) -> Option<String> {
        None
    }
}

/// Starts the binary with `args`; returns it and the URL of its first line.
fn spawn(args: &[&str]) -> (Child, String) {
    let marker = format!("mock-ilink-test-{}-{}", std::process::id(), rand_suffix());
    let mut child = Command::new(env!("CARGO_BIN_EXE_mock-ilink"))
        .args(args)
        .env("MOCK_ILINK_TEST_MARKER", marker)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let line = std::io::BufReader::new(stdout)
        .lines()
        .next()
        .unwrap()
        .unwrap();
    let url = line
        .strip_prefix("MOCK_ILINK_URL=http://")
        .map(|rest| format!("http://{rest}"))
        .unwrap_or_else(|| panic!("first line {line:?}"));
    (child, url)
}

fn rand_suffix() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}

/// Sends `signal` to the child by its pid and waits for its exit (5 s at most).
fn stop(mut child: Child, signal: &str) -> std::process::ExitStatus {
    let pid = child.id();
    let status = Command::new("kill")
        .args([&format!("-{signal}"), &pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let (tx, rx) = std::sync::mpsc::channel();
    let waiter = std::thread::spawn(move || {
        let status = child.wait();
        let _ = tx.send(());
        (child, status)
    });
    if rx.recv_timeout(Duration::from_secs(5)).is_err() {
        // Still running: end it by its pid so nothing outlives the test.
        let _ = Command::new("kill")
            .args(["-KILL", &pid.to_string()])
            .status();
        panic!("the mock did not exit within 5 s of SIG{signal}");
    }
    let (_, status) = waiter.join().unwrap();
    status.unwrap()
}

#[tokio::test]
async fn auto_login_completes_with_no_control_call_and_sigterm_exits_cleanly() {
    let (child, url) = spawn(&["--auto-login", "--long-poll-ms", "500"]);
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    let anonymous = IlinkClient::builder().base_url(&url).build().unwrap();
    let mut options = LoginOptions::default();
    options.poll_interval = Duration::from_millis(5);
    let outcome = LoginFlow::new(anonymous.clone(), options)
        .wait(&mut Silent)
        .await
        .unwrap();
    let LoginOutcome::Confirmed(ok) = outcome else {
        panic!("{outcome:?}")
    };
    assert_eq!(ok.base_url.as_deref(), Some(url.as_str()));
    let client = anonymous
        .with_session(ok.bot_token, ok.base_url.as_deref())
        .unwrap();
    let idle = client
        .get_updates("", Duration::from_secs(5))
        .await
        .unwrap();
    assert!(!idle.timed_out && idle.msgs.is_empty());
    assert_eq!(idle.longpolling_timeout_ms, Some(500));
    // No control call was made: only protocol requests are in the log.
    let log: serde_json::Value = reqwest::get(format!("{url}/_mock/requests"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let paths: Vec<&str> = log["requests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["path"].as_str().unwrap())
        .collect();
    assert!(
        paths.iter().all(|p| p.starts_with("/ilink/bot/")),
        "{paths:?}"
    );
    assert_eq!(
        paths
            .iter()
            .filter(|p| p.ends_with("get_qrcode_status"))
            .count(),
        2
    );
    let status = stop(child, "TERM");
    assert!(status.success(), "{status}");
}

/// `POST /_mock/bots {}` on the mock at `url`.
async fn create_bot(url: &str) -> serde_json::Value {
    reqwest::Client::new()
        .post(format!("{url}/_mock/bots"))
        .body("{}")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[tokio::test]
async fn sigint_exits_cleanly_and_seed_makes_ids_reproducible() {
    let mut bots = Vec::new();
    for _ in 0..2 {
        let (child, url) = spawn(&["--seed", "42"]);
        let bot = create_bot(&url).await;
        bots.push(bot);
        let status = stop(child, "INT");
        assert!(status.success(), "{status}");
    }
    assert_eq!(bots[0], bots[1], "same seed, same bot");
    let (child, url) = spawn(&["--seed", "43"]);
    let other = create_bot(&url).await;
    assert_ne!(other["token"], bots[0]["token"]);
    assert!(stop(child, "TERM").success());
}
