//! Logs a bot account in by QR code and echoes every text it receives.
//!
//! ```text
//! cargo run -p ilink-client --example echo_bot -- [BASE_URL]
//! ```
//!
//! `BASE_URL` defaults to the real iLink host; point it at a mock-ilink server to
//! try it offline. Verify codes are read from standard input. Stop with Ctrl-C.

use std::io::BufRead as _;

use ilink_client::login::{LoginFlow, LoginOptions, LoginOutcome, LoginPrompt};
use ilink_client::normalize::inbound_body;
use ilink_client::wire::{MessageType, QrStatus};
use ilink_client::{IlinkClient, QrCode, ReplyTarget, SplitLimits};

struct Terminal;

impl LoginPrompt for Terminal {
    fn show_qr(&mut self, qr: &QrCode, number: u32) {
        match ilink_client::render_qr_terminal(&qr.url) {
            Ok(picture) => println!("QR code {number}: scan it with WeChat\n{picture}"),
            Err(e) => println!("QR code {number}: {} ({e})", qr.url),
        }
    }

    fn on_status(&mut self, status: &QrStatus) {
        println!("login: {}", status.as_str());
    }

    async fn verify_code(&mut self, attempt: u32) -> Option<String> {
        if attempt > 1 {
            println!("that code was wrong");
        }
        println!("type the digits shown on the phone:");
        tokio::task::spawn_blocking(|| std::io::stdin().lock().lines().next()?.ok())
            .await
            .ok()
            .flatten()
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let base = std::env::args()
        .nth(1)
        .unwrap_or_else(|| ilink_client::DEFAULT_BASE_URL.to_owned());
    let anonymous = IlinkClient::builder().base_url(&base).build()?;
    let mut flow = LoginFlow::new(anonymous.clone(), LoginOptions::default());
    let login = match flow.wait(&mut Terminal).await? {
        LoginOutcome::Confirmed(ok) => ok,
        other => {
            println!("login ended: {other:?}");
            return Ok(());
        }
    };
    println!("logged in as {}", login.account_id);
    let client = anonymous.with_session(login.bot_token, login.base_url.as_deref())?;
    client.notify_start().await.ok();

    let mut cursor = String::new();
    let mut timeout = client.timeouts().long_poll;
    loop {
        let batch = tokio::select! {
            batch = client.get_updates(&cursor, timeout) => batch?,
            _ = tokio::signal::ctrl_c() => break,
        };
        timeout = client
            .timeouts()
            .next_long_poll(batch.longpolling_timeout_ms);
        if let Some(next) = batch.get_updates_buf {
            cursor = next;
        }
        for msg in batch.msgs {
            if msg.message_type != Some(MessageType::User) {
                continue;
            }
            let Some(peer) = msg.from_user_id.clone() else {
                continue;
            };
            let mut target = ReplyTarget::new(peer);
            target.context_token = msg.context_token.clone();
            let text = format!("echo: {}", inbound_body(&msg));
            for reply in target.text_messages(&text, SplitLimits::default()) {
                if let Err(e) = client.send_message(reply).await {
                    println!("send failed: {e}");
                }
            }
        }
    }
    client.notify_stop().await.ok();
    Ok(())
}
