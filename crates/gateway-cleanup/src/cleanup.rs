//! The cleanup itself: find the gateways holding the port, spare the
//! protected set, SIGTERM the rest, SIGKILL survivors, wait for the port.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

use crate::matcher::GatewayMatcher;
use crate::procfs::{self, ProcessInfo};
use crate::protect::{protected_pids, service_pid_from_env};

/// How the cleanup runs.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct CleanupOptions {
    /// Which listeners are gateways.
    pub matcher: GatewayMatcher,
    /// Only report; signal nothing.
    pub dry_run: bool,
    /// Wait after SIGTERM before SIGKILL (600 ms).
    pub term_grace: Duration,
    /// Wait after SIGKILL (400 ms).
    pub kill_grace: Duration,
    /// How long to wait for the port to be free (2 s); then warn and go on.
    pub port_wait: Duration,
    /// How often to look at the port meanwhile (50 ms).
    pub port_poll: Duration,
    /// The pid whose ancestry is protected (this process).
    pub self_pid: u32,
    /// A service manager's gateway pid to protect (`OPENCLAW_GATEWAY_SERVICE_PID`).
    pub service_pid: Option<u32>,
    /// TEST ONLY: protect nothing but `self_pid`, the bug fixed in 2026.4.18.
    #[cfg(feature = "legacy-exclude-only-self")]
    pub legacy_exclude_only_self: bool,
}

impl Default for CleanupOptions {
    fn default() -> Self {
        Self {
            matcher: GatewayMatcher::Default,
            dry_run: false,
            term_grace: Duration::from_millis(600),
            kill_grace: Duration::from_millis(400),
            port_wait: Duration::from_secs(2),
            port_poll: Duration::from_millis(50),
            self_pid: std::process::id(),
            service_pid: service_pid_from_env(),
            #[cfg(feature = "legacy-exclude-only-self")]
            legacy_exclude_only_self: false,
        }
    }
}

impl CleanupOptions {
    /// The defaults with another matcher.
    pub fn with_matcher(matcher: GatewayMatcher) -> Self {
        Self {
            matcher,
            ..Self::default()
        }
    }
}

/// What the cleanup found and did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Report {
    /// The port looked at.
    pub port: u16,
    /// Listeners on the port that the matcher calls gateways.
    pub found: Vec<ProcessInfo>,
    /// Listeners the matcher does not call gateways (never signalled).
    pub ignored: Vec<u32>,
    /// Gateways spared because they are in the protected set.
    pub protected: Vec<u32>,
    /// Gateways that would be (dry run) or were signalled.
    pub targets: Vec<u32>,
    /// Targets gone after SIGTERM (or already gone).
    pub terminated: Vec<u32>,
    /// Targets that needed SIGKILL.
    pub killed: Vec<u32>,
    /// Targets still running at the end.
    pub survivors: Vec<u32>,
    /// Whether the port was free at the end.
    pub port_free: bool,
    /// Whether this was a dry run.
    pub dry_run: bool,
}

fn signal(pid: u32, sig: Signal) {
    let Ok(raw) = i32::try_from(pid) else {
        return;
    };
    match kill(Pid::from_raw(raw), sig) {
        Ok(()) | Err(Errno::ESRCH) => {}
        Err(e) => tracing::warn!(pid, ?sig, error = %e, "cannot signal a stale gateway"),
    }
}

/// Cleans up stale gateways holding `port`. No pid of the protected set is
/// ever signalled, whatever the matcher says.
pub fn cleanup_stale_gateways(port: u16, options: &CleanupOptions) -> Report {
    let mut report = Report {
        port,
        dry_run: options.dry_run,
        ..Report::default()
    };
    for pid in procfs::listeners(port) {
        match procfs::process(pid) {
            Some(info) if options.matcher.matches(&info) => report.found.push(info),
            _ => report.ignored.push(pid),
        }
    }
    let protected: BTreeSet<u32> = protection(options);
    for info in &report.found {
        if protected.contains(&info.pid) {
            report.protected.push(info.pid);
        } else {
            report.targets.push(info.pid);
        }
    }
    if !report.protected.is_empty() {
        tracing::info!(pids = ?report.protected, "sparing gateways in this process's ancestry");
    }
    if options.dry_run || report.targets.is_empty() {
        report.port_free = procfs::listeners(port).is_empty();
        return report;
    }
    for &pid in &report.targets {
        tracing::info!(pid, port, "SIGTERM to a stale gateway");
        signal(pid, Signal::SIGTERM);
    }
    std::thread::sleep(options.term_grace);
    let (alive, gone): (Vec<u32>, Vec<u32>) = report
        .targets
        .iter()
        .partition(|pid| procfs::is_running(**pid));
    report.terminated = gone;
    for &pid in &alive {
        tracing::warn!(
            pid,
            port,
            "SIGKILL to a stale gateway that outlived SIGTERM"
        );
        signal(pid, Signal::SIGKILL);
    }
    report.killed = alive;
    if !report.killed.is_empty() {
        std::thread::sleep(options.kill_grace);
    }
    report.survivors = report
        .targets
        .iter()
        .copied()
        .filter(|pid| procfs::is_running(*pid))
        .collect();
    let deadline = Instant::now() + options.port_wait;
    loop {
        if procfs::listeners(port).is_empty() {
            report.port_free = true;
            break;
        }
        if Instant::now() >= deadline {
            tracing::warn!(port, "port still in use after the cleanup; going on");
            break;
        }
        std::thread::sleep(options.port_poll);
    }
    report
}

fn protection(options: &CleanupOptions) -> BTreeSet<u32> {
    #[cfg(feature = "legacy-exclude-only-self")]
    if options.legacy_exclude_only_self {
        return BTreeSet::from([options.self_pid]);
    }
    protected_pids(options.self_pid, options.service_pid)
}
