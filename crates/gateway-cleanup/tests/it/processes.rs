//! The no-ancestor-kill rule with real processes.

use std::io::{BufRead as _, BufReader};
use std::net::SocketAddr;
use std::os::unix::process::ExitStatusExt as _;
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use gateway_cleanup::procfs::is_running;
use gateway_cleanup::{cleanup_stale_gateways, CleanupOptions, GatewayMatcher};

/// Longest a role process lives, so nothing outlives a failed test.
const ROLE_LIFETIME: Duration = Duration::from_secs(60);

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// A marker no other process on the machine carries.
fn marker(what: &str) -> String {
    format!(
        "gc-test-{what}-{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::SeqCst)
    )
}

/// A free loopback port.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The entry point of the role processes: does nothing unless this binary was
/// re-executed with `GC_ROLE` set by one of the tests below.
#[test]
fn role() {
    let Ok(role) = std::env::var("GC_ROLE") else {
        return;
    };
    let port: u16 = std::env::var("GC_PORT").unwrap().parse().unwrap();
    let depth: u32 = std::env::var("GC_DEPTH")
        .ok()
        .and_then(|d| d.parse().ok())
        .unwrap_or(0);
    let marker = std::env::var("GC_MARKER").unwrap();
    match role.as_str() {
        "gateway" => {
            let socket =
                socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
            socket.set_reuse_port(true).unwrap();
            socket.set_reuse_address(true).unwrap();
            socket
                .bind(&SocketAddr::from(([127, 0, 0, 1], port)).into())
                .unwrap();
            socket.listen(16).unwrap();
            println!("READY {}", std::process::id());
            if depth > 0 {
                let status = spawn_role(
                    if depth > 1 { "middle" } else { "cleaner" },
                    port,
                    depth - 1,
                    &marker,
                    &RoleOptions::default(),
                )
                .wait()
                .unwrap();
                println!("CHILD_EXIT {}", status.code().unwrap_or(-1));
            }
            std::thread::sleep(ROLE_LIFETIME);
            drop(socket);
        }
        "middle" => {
            let next = if depth > 1 { "middle" } else { "cleaner" };
            let status = spawn_role(next, port, depth - 1, &marker, &RoleOptions::default())
                .wait()
                .unwrap();
            std::process::exit(status.code().unwrap_or(1));
        }
        "cleaner" => {
            let mut options = CleanupOptions::with_matcher(GatewayMatcher::argv_marker(marker));
            options.port_wait = Duration::from_millis(200);
            options.legacy_exclude_only_self = std::env::var("GC_LEGACY").is_ok();
            let report = cleanup_stale_gateways(port, &options);
            let line = format!(
                "REPORT found={:?} protected={:?} targets={:?}\n",
                report.found.iter().map(|p| p.pid).collect::<Vec<_>>(),
                report.protected,
                report.targets
            );
            std::fs::write(std::env::var("GC_REPORT_FILE").unwrap(), line).unwrap();
        }
        other => panic!("unknown role {other}"),
    }
}

/// How a role process starts (inherited by the processes it starts in turn).
#[derive(Default)]
struct RoleOptions {
    /// Ignore SIGTERM, like a stuck gateway.
    ignore_term: bool,
    /// Where the cleaner writes its report.
    report_file: Option<std::path::PathBuf>,
    /// Run the cleaner with the old exclude-only-self rule.
    legacy: bool,
}

/// Re-executes this test binary in `role`; the marker is also an argv entry
/// (an extra test filter that matches nothing), which is what the matcher reads.
fn spawn_role(role: &str, port: u16, depth: u32, marker: &str, opts: &RoleOptions) -> Child {
    let exe = std::env::current_exe().unwrap();
    let mut cmd = if opts.ignore_term {
        // An ignored signal stays ignored across exec: `trap "" TERM` then exec.
        let mut c = Command::new("sh");
        c.arg("-c").arg(r#"trap "" TERM; exec "$0" "$@""#).arg(&exe);
        c
    } else {
        Command::new(&exe)
    };
    cmd.args([
        "--exact",
        "processes::role",
        "--nocapture",
        "--test-threads=1",
        marker,
    ])
    .env("GC_ROLE", role)
    .env("GC_PORT", port.to_string())
    .env("GC_DEPTH", depth.to_string())
    .env("GC_MARKER", marker)
    .stdout(Stdio::piped())
    .stderr(Stdio::null());
    if let Some(report) = &opts.report_file {
        cmd.env("GC_REPORT_FILE", report);
    }
    if opts.legacy {
        cmd.env("GC_LEGACY", "1");
    }
    cmd.spawn().unwrap()
}

/// A role process of a test: killed (by its pid, through its handle) and
/// reaped when dropped, so nothing outlives the test.
struct Started {
    child: Child,
    lines: BufReader<ChildStdout>,
}

impl Started {
    fn new(mut child: Child) -> Self {
        let stdout = child.stdout.take().unwrap();
        Self {
            child,
            lines: BufReader::new(stdout),
        }
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The next stdout line holding `prefix`, from the prefix on (the test
    /// harness of the re-executed binary prints text of its own); blocks until it comes.
    fn line(&mut self, prefix: &str) -> String {
        loop {
            let mut s = String::new();
            if self.lines.read_line(&mut s).unwrap() == 0 {
                panic!(
                    "process {} closed stdout before a {prefix:?} line",
                    self.pid()
                );
            }
            // The harness may print `test processes::role ... ` before it.
            if let Some(at) = s.find(prefix) {
                return s[at..].trim_end().to_owned();
            }
        }
    }

    /// Waits for the exit (10 s at most) and returns the signal that ended it.
    fn exit_signal(&mut self) -> Option<i32> {
        for _ in 0..1000 {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.signal();
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        panic!("process {} did not exit", self.pid());
    }
}

impl Drop for Started {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts a fake gateway (and, with `depth` > 0, a chain of `depth` processes
/// below it ending in the cleaner); returns it once it listens.
fn gateway(port: u16, depth: u32, marker: &str, opts: &RoleOptions) -> Started {
    let mut g = Started::new(spawn_role("gateway", port, depth, marker, opts));
    let ready = g.line("READY");
    assert_eq!(ready, format!("READY {}", g.pid()));
    g
}

fn with_report(file: &std::path::Path) -> RoleOptions {
    RoleOptions {
        report_file: Some(file.to_owned()),
        ..RoleOptions::default()
    }
}

/// The text of a file another process writes when done (10 s at most).
fn wait_for_file(path: &std::path::Path) -> String {
    for _ in 0..1000 {
        if let Ok(text) = std::fs::read_to_string(path) {
            if text.ends_with('\n') {
                return text;
            }
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    panic!("{} was never written", path.display());
}

fn report_path(marker: &str) -> std::path::PathBuf {
    std::env::temp_dir().join(format!("{marker}.report"))
}

#[test]
fn a_helper_child_of_the_gateway_spares_its_parent() {
    let port = free_port();
    let m = marker("helper");
    let report = report_path(&m);
    let mut g = gateway(port, 1, &m, &with_report(&report));
    assert_eq!(
        g.line("CHILD_EXIT"),
        "CHILD_EXIT 0",
        "the cleaner ran and exited cleanly"
    );
    let text = std::fs::read_to_string(&report).unwrap();
    let pid = g.pid();
    assert!(text.contains(&format!("found=[{pid}]")), "{text}");
    assert!(text.contains(&format!("protected=[{pid}]")), "{text}");
    assert!(text.contains("targets=[]"), "{text}");
    assert!(is_running(pid), "the gateway survived its helper's cleanup");
    let _ = std::fs::remove_file(report);
}

#[test]
fn an_ancestor_three_levels_up_survives() {
    let port = free_port();
    let m = marker("ancestor");
    let report = report_path(&m);
    let mut g = gateway(port, 3, &m, &with_report(&report));
    assert_eq!(g.line("CHILD_EXIT"), "CHILD_EXIT 0");
    let text = std::fs::read_to_string(&report).unwrap();
    assert!(text.contains(&format!("protected=[{}]", g.pid())), "{text}");
    assert!(text.contains("targets=[]"), "{text}");
    assert!(is_running(g.pid()));
    let _ = std::fs::remove_file(report);
}

#[test]
fn the_old_rule_kills_the_parent_gateway() {
    let port = free_port();
    let m = marker("legacy");
    let report = report_path(&m);
    let opts = RoleOptions {
        legacy: true,
        ..with_report(&report)
    };
    let mut g = gateway(port, 1, &m, &opts);
    // The helper child signals its own parent: the gateway dies of SIGTERM.
    assert_eq!(
        g.exit_signal(),
        Some(15),
        "the buggy variant killed the parent gateway"
    );
    // The orphaned cleaner writes its report once its grace periods are over.
    let text = wait_for_file(&report);
    assert!(text.contains(&format!("targets=[{}]", g.pid())), "{text}");
    let _ = std::fs::remove_file(report);
}

#[test]
fn stale_gateways_are_terminated_and_a_stubborn_one_killed() {
    let port = free_port();
    let m = marker("stale");
    let mut polite = gateway(port, 0, &m, &RoleOptions::default());
    let stubborn_opts = RoleOptions {
        ignore_term: true,
        ..RoleOptions::default()
    };
    let mut stubborn = gateway(port, 0, &m, &stubborn_opts);
    let other_marker = marker("unrelated");
    let unrelated = gateway(port, 0, &other_marker, &RoleOptions::default());
    let mut options = CleanupOptions::with_matcher(GatewayMatcher::argv_marker(m.clone()));
    options.port_wait = Duration::from_millis(300);
    let report = cleanup_stale_gateways(port, &options);
    let mut targets = report.targets.clone();
    targets.sort_unstable();
    let mut want = vec![polite.pid(), stubborn.pid()];
    want.sort_unstable();
    assert_eq!(targets, want, "{report:?}");
    assert_eq!(report.terminated, vec![polite.pid()], "{report:?}");
    assert_eq!(report.killed, vec![stubborn.pid()], "{report:?}");
    assert!(report.survivors.is_empty(), "{report:?}");
    assert!(report.ignored.contains(&unrelated.pid()), "{report:?}");
    assert_eq!(polite.exit_signal(), Some(15));
    assert_eq!(stubborn.exit_signal(), Some(9), "SIGKILL after the grace");
    // The process with another marker was never signalled.
    assert!(is_running(unrelated.pid()));
    assert!(
        !report.port_free,
        "the unrelated listener still holds the port"
    );
}

#[test]
fn dry_run_only_reports() {
    let port = free_port();
    let m = marker("dry");
    let g = gateway(port, 0, &m, &RoleOptions::default());
    let mut options = CleanupOptions::with_matcher(GatewayMatcher::argv_marker(m.clone()));
    options.dry_run = true;
    let report = cleanup_stale_gateways(port, &options);
    assert!(report.dry_run);
    assert_eq!(report.targets, vec![g.pid()]);
    assert!(report.terminated.is_empty() && report.killed.is_empty());
    assert!(is_running(g.pid()));
}

#[test]
fn the_service_pid_is_protected() {
    let port = free_port();
    let m = marker("service");
    let g = gateway(port, 0, &m, &RoleOptions::default());
    let mut options = CleanupOptions::with_matcher(GatewayMatcher::argv_marker(m.clone()));
    options.service_pid = Some(g.pid());
    options.port_wait = Duration::from_millis(100);
    let report = cleanup_stale_gateways(port, &options);
    assert_eq!(report.protected, vec![g.pid()]);
    assert!(report.targets.is_empty());
    assert!(is_running(g.pid()));
}

#[test]
fn a_free_port_needs_nothing() {
    let port = free_port();
    let report = cleanup_stale_gateways(
        port,
        &CleanupOptions::with_matcher(GatewayMatcher::argv_marker(marker("none"))),
    );
    assert!(report.found.is_empty() && report.targets.is_empty());
    assert!(report.port_free);
}
