//! The `.lock` file protocol the host's stores share, so two processes (a
//! gateway and a CLI approving a pairing, say) never lose each other's writes.
//!
//! A lock on `<file>` is the file `<file>.lock`, created exclusively and
//! holding `{"pid", "createdAt"}`. It is stale, and taken over, when its pid is
//! dead, when it is older than 30 s, or (no readable payload) when its mtime
//! is. A busy lock is retried 10 times after the first attempt, 100 ms
//! doubling to 10 s, times a jitter of 1 to 2. Within a process the lock is
//! re-entrant for the thread that holds it and excludes other threads.

use std::collections::HashMap;
use std::fs;
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};
use std::sync::{Condvar, Mutex, OnceLock};
use std::thread::ThreadId;
use std::time::{Duration, SystemTime};

use chrono::{DateTime, Utc};
use rand::Rng as _;
use serde::{Deserialize, Serialize};

/// A lock older than this is stale.
pub const STALE_AFTER: Duration = Duration::from_secs(30);
/// Retries after the first attempt.
pub const RETRIES: u32 = 10;
const FIRST_BACKOFF: Duration = Duration::from_millis(100);
const MAX_BACKOFF: Duration = Duration::from_secs(10);

/// The lock could not be taken.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LockError {
    /// Another holder kept it through every retry.
    #[error("lock {path} is held by another process (pid {holder:?}) after {RETRIES} retries")]
    Busy {
        /// The lock file.
        path: PathBuf,
        /// The holder's pid, if its payload says.
        holder: Option<u32>,
    },
    /// The lock file could not be created or read.
    #[error("lock {path}: {source}")]
    Io {
        /// The lock file.
        path: PathBuf,
        /// The cause.
        source: io::Error,
    },
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Payload {
    pid: u32,
    created_at: String,
}

/// Which thread of this process holds which lock, and how deeply.
struct Registry {
    held: Mutex<HashMap<PathBuf, (ThreadId, usize)>>,
    released: Condvar,
}

fn registry() -> &'static Registry {
    static REGISTRY: OnceLock<Registry> = OnceLock::new();
    REGISTRY.get_or_init(|| Registry {
        held: Mutex::new(HashMap::new()),
        released: Condvar::new(),
    })
}

/// A held lock; dropping it releases the lock (the outermost hold removes the file).
#[derive(Debug)]
#[must_use = "the lock is released when the guard is dropped"]
pub struct LockGuard {
    lock_path: PathBuf,
}

/// The lock file of `file`: `<file>.lock`.
pub fn lock_path_of(file: &Path) -> PathBuf {
    let mut name = file.as_os_str().to_owned();
    name.push(".lock");
    PathBuf::from(name)
}

/// Takes the lock on `file`, waiting as the protocol says.
pub fn lock(file: &Path) -> Result<LockGuard, LockError> {
    let lock_path = lock_path_of(file);
    let me = std::thread::current().id();
    let reg = registry();
    {
        let mut held = reg
            .held
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        loop {
            match held.get_mut(&lock_path) {
                Some((owner, depth)) if *owner == me => {
                    *depth += 1;
                    return Ok(LockGuard { lock_path });
                }
                Some(_) => {
                    held = reg
                        .released
                        .wait(held)
                        .unwrap_or_else(std::sync::PoisonError::into_inner);
                }
                None => {
                    held.insert(lock_path.clone(), (me, 1));
                    break;
                }
            }
        }
    }
    match acquire_file(&lock_path) {
        Ok(()) => Ok(LockGuard { lock_path }),
        Err(e) => {
            forget(&lock_path);
            Err(e)
        }
    }
}

fn forget(lock_path: &Path) {
    let reg = registry();
    let mut held = reg
        .held
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    held.remove(lock_path);
    reg.released.notify_all();
}

impl Drop for LockGuard {
    fn drop(&mut self) {
        let reg = registry();
        let mut held = reg
            .held
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let outermost = match held.get_mut(&self.lock_path) {
            Some((_, depth)) if *depth > 1 => {
                *depth -= 1;
                false
            }
            _ => true,
        };
        if outermost {
            let _ = fs::remove_file(&self.lock_path);
            held.remove(&self.lock_path);
            reg.released.notify_all();
        }
    }
}

/// The pause before retry `n` (from 0): 100 ms doubling to 10 s, times 1 to 2.
pub fn backoff(n: u32, jitter: f64) -> Duration {
    let base = FIRST_BACKOFF
        .saturating_mul(1u32 << n.min(16))
        .min(MAX_BACKOFF);
    base.mul_f64(1.0 + jitter.clamp(0.0, 1.0))
}

fn acquire_file(lock_path: &Path) -> Result<(), LockError> {
    if let Some(dir) = lock_path.parent() {
        crate::atomic::create_private_dir(dir).map_err(|e| LockError::Io {
            path: lock_path.to_owned(),
            source: io::Error::other(e.to_string()),
        })?;
    }
    let mut holder = None;
    for attempt in 0..=RETRIES {
        // Taking over a stale lock is followed by a new try at once, not by a
        // pause, so a lock that turns stale on the last try is still taken.
        let mut takeovers = 0;
        loop {
            match try_create(lock_path) {
                Ok(()) => return Ok(()),
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                    let (stale, pid) = is_stale(lock_path);
                    holder = pid;
                    if stale && takeovers < 3 {
                        takeovers += 1;
                        tracing::warn!(lock = %lock_path.display(), ?pid, "taking over a stale lock");
                        let _ = fs::remove_file(lock_path);
                        continue;
                    }
                    break;
                }
                Err(source) => {
                    return Err(LockError::Io {
                        path: lock_path.to_owned(),
                        source,
                    })
                }
            }
        }
        if attempt < RETRIES {
            std::thread::sleep(backoff(attempt, rand::rng().random::<f64>()));
        }
    }
    Err(LockError::Busy {
        path: lock_path.to_owned(),
        holder,
    })
}

fn try_create(lock_path: &Path) -> io::Result<()> {
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let mut file = options.open(lock_path)?;
    let payload = Payload {
        pid: std::process::id(),
        created_at: Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
    };
    let text = serde_json::to_string(&payload).unwrap_or_default();
    file.write_all(text.as_bytes())?;
    file.sync_all()
}

/// Whether a lock file is stale, and the pid it names.
fn is_stale(lock_path: &Path) -> (bool, Option<u32>) {
    let payload = fs::read(lock_path)
        .ok()
        .and_then(|b| serde_json::from_slice::<Payload>(&b).ok());
    match payload {
        Some(p) => {
            let old = DateTime::parse_from_rfc3339(&p.created_at)
                .map(|t| {
                    Utc::now()
                        .signed_duration_since(t)
                        .to_std()
                        .is_ok_and(|age| age > STALE_AFTER)
                })
                .unwrap_or(true);
            (old || !pid_alive(p.pid), Some(p.pid))
        }
        None => {
            let old = fs::metadata(lock_path)
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| SystemTime::now().duration_since(t).ok())
                .is_some_and(|age| age > STALE_AFTER);
            (old, None)
        }
    }
}

/// Whether a process is alive. On Linux, `/proc/<pid>` exists; elsewhere the
/// age rule alone decides (a live pid is assumed).
fn pid_alive(pid: u32) -> bool {
    if cfg!(target_os = "linux") {
        let status = fs::read_to_string(format!("/proc/{pid}/status"));
        // A zombie has exited: it holds nothing.
        status.is_ok_and(|s| {
            !s.lines()
                .any(|l| l.starts_with("State:") && l.contains('Z'))
        })
    } else {
        true
    }
}
