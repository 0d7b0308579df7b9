//! `mock-ilink`: the mock iLink server as a program, for plugins in any language.
//!
//! The first line on stdout is `MOCK_ILINK_URL=http://HOST:PORT`; logs go to
//! stderr; SIGINT or SIGTERM stop it cleanly.

use std::io::Write as _;
use std::net::SocketAddr;

use clap::Parser;
use mock_ilink::MockConfig;

/// A mock of Tencent's iLink bot server: API, CDN and control API on one port.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// Address to listen on; a non-loopback address only when given explicitly.
    #[arg(long, default_value = "127.0.0.1:0")]
    bind: SocketAddr,
    /// The advertised longpolling_timeout_ms; idle polls are held for 90 % of it.
    #[arg(long, default_value_t = 35_000)]
    long_poll_ms: u64,
    /// Complete every QR login by itself: scanned at the 1st poll, confirmed at the 2nd.
    #[arg(long)]
    auto_login: bool,
    /// Make generated ids, tokens and keys reproducible.
    #[arg(long)]
    seed: Option<u64>,
    /// Request records kept, oldest dropped first.
    #[arg(long, default_value_t = 100_000)]
    max_requests: usize,
}

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("mock-ilink: cannot start a runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let mut config = MockConfig::default();
    config.long_poll_ms = args.long_poll_ms;
    config.auto_login = args.auto_login;
    config.seed = args.seed;
    config.max_requests = args.max_requests;
    let result = runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(args.bind).await?;
        let addr = listener.local_addr()?;
        let mut stdout = std::io::stdout();
        writeln!(stdout, "MOCK_ILINK_URL=http://{addr}")?;
        stdout.flush()?;
        tracing::info!(%addr, "mock-ilink listening");
        mock_ilink::run(listener, config, shutdown_signal()).await
    });
    match result {
        Ok(()) => {
            tracing::info!("mock-ilink stopped");
            std::process::ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("mock-ilink: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
