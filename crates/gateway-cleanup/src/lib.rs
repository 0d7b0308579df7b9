//! Stale OpenClaw gateway cleanup with the no-ancestor-kill rule.
//!
//! Before a gateway (re)binds its port it kills stale gateways still holding
//! it. The rule: the current process, its parent and every further ancestor
//! (and `OPENCLAW_GATEWAY_SERVICE_PID`) are never signalled, whatever the
//! matcher says. Before 2026.4.18 only the current pid was spared, so a
//! channel helper child that ran the cleanup killed its own parent gateway,
//! a restart loop under systemd.
//!
//! Linux only for finding listeners (`/proc/net/tcp{,6}` and `/proc/<pid>/fd`).
//!
//! ```no_run
//! use gateway_cleanup::{cleanup_stale_gateways, resolve_port, CleanupOptions};
//!
//! let port = resolve_port(None, std::env::var("OPENCLAW_GATEWAY_PORT").ok().as_deref(), None);
//! let mut options = CleanupOptions::default();
//! options.dry_run = true;
//! let report = cleanup_stale_gateways(port, &options);
//! println!("would stop {:?}, sparing {:?}", report.targets, report.protected);
//! ```
//!
//! | feature | what it adds |
//! | --- | --- |
//! | `legacy-exclude-only-self` | TEST ONLY: `CleanupOptions::legacy_exclude_only_self`, the old bug, so a test can show it |

#![cfg_attr(test, allow(clippy::unwrap_used))]

mod cleanup;
mod matcher;
mod port;
pub mod procfs;
mod protect;

pub use cleanup::{cleanup_stale_gateways, CleanupOptions, Report};
pub use matcher::GatewayMatcher;
pub use port::{resolve_port, DEFAULT_GATEWAY_PORT};
pub use protect::{protected_pids, service_pid_from_env, MAX_ANCESTORS, SERVICE_PID_ENV};
