//! The protected set: pids the cleanup never signals, whatever the matcher says.

use std::collections::BTreeSet;

use crate::procfs::parent_of;

/// How many ancestors are walked at most.
pub const MAX_ANCESTORS: usize = 32;
/// The environment variable naming a service manager's gateway pid to protect.
pub const SERVICE_PID_ENV: &str = "OPENCLAW_GATEWAY_SERVICE_PID";

/// The current process, its parent and every further ancestor (up to
/// [`MAX_ANCESTORS`] levels, stopping at an unreadable entry or a repeat;
/// pid 1 may be in the set), plus `service_pid`.
pub fn protected_pids(self_pid: u32, service_pid: Option<u32>) -> BTreeSet<u32> {
    let mut set = BTreeSet::new();
    set.insert(self_pid);
    let mut pid = self_pid;
    for _ in 0..MAX_ANCESTORS {
        let Some(parent) = parent_of(pid) else {
            break;
        };
        if parent == 0 || !set.insert(parent) {
            break;
        }
        pid = parent;
    }
    if let Some(p) = service_pid.filter(|p| *p > 0) {
        set.insert(p);
    }
    set
}

/// The pid in `OPENCLAW_GATEWAY_SERVICE_PID`, if it holds one.
pub fn service_pid_from_env() -> Option<u32> {
    std::env::var(SERVICE_PID_ENV)
        .ok()
        .and_then(|v| v.trim().parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn includes_self_parent_ancestors_and_service_pid() {
        let me = std::process::id();
        let set = protected_pids(me, Some(4_000_000));
        assert!(set.contains(&me));
        let parent = parent_of(me).expect("a parent");
        assert!(set.contains(&parent));
        assert!(set.contains(&4_000_000));
        // The chain reaches the root of this pid namespace (pid 1 allowed).
        assert!(set.contains(&1) || set.len() > MAX_ANCESTORS);
    }
}
