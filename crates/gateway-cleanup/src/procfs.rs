//! What the operating system says about processes and listening sockets,
//! read from `/proc` on Linux (no shelling out to `lsof`).

use std::collections::HashSet;
use std::fs;

/// What is known of a process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessInfo {
    /// Its pid.
    pub pid: u32,
    /// Its parent's pid, if readable.
    pub ppid: Option<u32>,
    /// Its command name (`/proc/<pid>/comm`).
    pub name: String,
    /// Its argv.
    pub argv: Vec<String>,
}

/// Reads a process; `None` when it is gone or unreadable.
pub fn process(pid: u32) -> Option<ProcessInfo> {
    // A process whose status cannot be read is gone (or not ours to see).
    fs::metadata(format!("/proc/{pid}/status")).ok()?;
    let ppid = parent_of(pid);
    let name = fs::read_to_string(format!("/proc/{pid}/comm"))
        .map(|s| s.trim_end().to_owned())
        .unwrap_or_default();
    let argv = fs::read(format!("/proc/{pid}/cmdline"))
        .map(|b| {
            b.split(|c| *c == 0)
                .filter(|a| !a.is_empty())
                .map(|a| String::from_utf8_lossy(a).into_owned())
                .collect()
        })
        .unwrap_or_default();
    Some(ProcessInfo {
        pid,
        ppid,
        name,
        argv,
    })
}

/// The parent of a process, from `/proc/<pid>/status` `PPid:`.
pub fn parent_of(pid: u32) -> Option<u32> {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("PPid:"))
        .and_then(|v| v.trim().parse().ok())
}

/// Whether a process still runs (a zombie has exited).
pub fn is_running(pid: u32) -> bool {
    fs::read_to_string(format!("/proc/{pid}/status")).is_ok_and(|s| {
        !s.lines()
            .any(|l| l.starts_with("State:") && l.contains('Z'))
    })
}

/// The inodes of sockets listening on TCP `port` (IPv4 and IPv6).
pub fn listening_inodes(port: u16) -> HashSet<u64> {
    let mut out = HashSet::new();
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
        let Ok(text) = fs::read_to_string(table) else {
            continue;
        };
        for line in text.lines().skip(1) {
            let cols: Vec<&str> = line.split_whitespace().collect();
            // sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
            let (Some(local), Some(state), Some(inode)) = (cols.get(1), cols.get(3), cols.get(9))
            else {
                continue;
            };
            let local_port = local
                .rsplit_once(':')
                .and_then(|(_, p)| u16::from_str_radix(p, 16).ok());
            if *state == "0A" && local_port == Some(port) {
                if let Ok(inode) = inode.parse() {
                    out.insert(inode);
                }
            }
        }
    }
    out
}

/// The pids holding any of `inodes` open, from `/proc/<pid>/fd`.
pub fn pids_holding(inodes: &HashSet<u64>) -> Vec<u32> {
    if inodes.is_empty() {
        return Vec::new();
    }
    let Ok(dir) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    let mut pids: Vec<u32> = dir
        .filter_map(Result::ok)
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            fs::read_dir(format!("/proc/{pid}/fd")).is_ok_and(|fds| {
                fds.filter_map(Result::ok).any(|fd| {
                    fs::read_link(fd.path()).ok().is_some_and(|target| {
                        target
                            .to_str()
                            .and_then(|t| t.strip_prefix("socket:["))
                            .and_then(|t| t.strip_suffix(']'))
                            .and_then(|n| n.parse::<u64>().ok())
                            .is_some_and(|n| inodes.contains(&n))
                    })
                })
            })
        })
        .collect();
    pids.sort_unstable();
    pids
}

/// The pids listening on TCP `port`.
pub fn listeners(port: u16) -> Vec<u32> {
    pids_holding(&listening_inodes(port))
}
