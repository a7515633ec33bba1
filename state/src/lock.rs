//! The workspace lock: a file created exclusively beside the state, holding
//! who took it. It is taken before the database is opened, so a second
//! operation fails at once and can say who holds the lock.

use crate::{now_rfc3339, random_id, LockError, Locker, Result, StateError};
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct LockInfo {
    pub id: String,
    pub operation: String,
    /// `user@host`.
    pub who: String,
    pub pid: u32,
    pub created: String,
    pub workspace: String,
}

/// Locks as files `DIR/WORKSPACE.lock`.
pub struct FileLocker {
    pub dir: PathBuf,
    pub workspace: String,
}

/// Held while an operation runs; released on drop.
#[derive(Debug)]
pub struct LockGuard {
    path: PathBuf,
    pub info: LockInfo,
}

/// The locks this process holds, so that an exit by signal can release them.
static HELD: std::sync::Mutex<Vec<(PathBuf, String)>> = std::sync::Mutex::new(Vec::new());

/// Remove a lock file if it is still the lock `id`, never one somebody forced and retook.
fn remove_if_ours(path: &Path, id: &str) {
    if let Ok(text) = std::fs::read_to_string(path) {
        if serde_json::from_str::<LockInfo>(&text).is_ok_and(|i| i.id == id) {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// Release every lock this process holds: for exits that skip destructors
/// (an interrupt at a prompt, a second Ctrl-C).
pub fn release_all_held() {
    if let Ok(mut held) = HELD.lock() {
        for (path, id) in held.drain(..) {
            remove_if_ours(&path, &id);
        }
    }
}

impl Drop for LockGuard {
    fn drop(&mut self) {
        remove_if_ours(&self.path, &self.info.id);
        if let Ok(mut held) = HELD.lock() {
            held.retain(|(_, id)| id != &self.info.id);
        }
    }
}

/// The user's name: `$USER`, `$LOGNAME`, else the name of the process's uid.
fn user_name() -> String {
    if let Some(u) = ["USER", "LOGNAME"].iter().filter_map(|v| std::env::var(v).ok()).find(|u| !u.is_empty()) {
        return u;
    }
    let uid = std::fs::read_to_string("/proc/self/status").ok().and_then(|s| {
        s.lines().find_map(|l| l.strip_prefix("Uid:").and_then(|r| r.split_whitespace().next().map(str::to_string)))
    });
    let Some(uid) = uid else { return "unknown".into() };
    std::fs::read_to_string("/etc/passwd")
        .ok()
        .and_then(|p| {
            p.lines().find_map(|l| {
                let f: Vec<&str> = l.split(':').collect();
                (f.len() > 2 && f[2] == uid).then(|| f[0].to_string())
            })
        })
        .unwrap_or_else(|| format!("uid {uid}"))
}

fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::fs::read_to_string("/etc/hostname"))
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "unknown".into())
}

/// Is a process of this host still running? (Unknown counts as running.)
fn pid_running(pid: u32) -> bool {
    if !Path::new("/proc/self").exists() {
        return true;
    }
    Path::new(&format!("/proc/{pid}")).exists()
}

impl LockInfo {
    /// A lock taken on this host by a process that is no longer running.
    pub fn is_stale(&self) -> bool {
        self.pid != 0 && self.who.rsplit('@').next() == Some(host_name().as_str()) && !pid_running(self.pid)
    }
}

/// The ID under which `force-unlock` removes a lock file that cannot be read.
pub const DAMAGED_LOCK_ID: &str = "damaged";

pub(crate) fn who() -> String {
    let user = user_name();
    format!("{user}@{}", host_name())
}

impl FileLocker {
    fn path(&self) -> PathBuf {
        self.dir.join(format!("{}.lock", self.workspace))
    }

    fn try_lock(&self, info: &LockInfo) -> std::result::Result<(), LockError> {
        let path = self.path();
        match std::fs::OpenOptions::new().write(true).create_new(true).open(&path) {
            Ok(mut f) => {
                let text = serde_json::to_string_pretty(info).unwrap_or_default();
                f.write_all(text.as_bytes()).and_then(|_| f.sync_all()).map_err(|e| LockError::Io(e.to_string()))
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                let text = std::fs::read_to_string(&path).unwrap_or_default();
                match serde_json::from_str::<LockInfo>(&text) {
                    Ok(holder) => Err(LockError::Held(Box::new(holder))),
                    // Another process may still be writing its lock file; one
                    // that stays unreadable was left by a crash or a full disk.
                    Err(_) => Err(LockError::Held(Box::new(LockInfo {
                        id: DAMAGED_LOCK_ID.into(),
                        operation: "unknown".into(),
                        who: "unknown".into(),
                        pid: 0,
                        created: String::new(),
                        workspace: self.workspace.clone(),
                    }))),
                }
            }
            Err(e) => Err(LockError::Io(format!("{}: {e}", path.display()))),
        }
    }
}

impl Locker for FileLocker {
    fn lock(&self, operation: &str, timeout: Duration) -> std::result::Result<LockGuard, LockError> {
        std::fs::create_dir_all(&self.dir).map_err(|e| LockError::Io(e.to_string()))?;
        let info = LockInfo {
            id: random_id(),
            operation: operation.to_string(),
            who: who(),
            pid: std::process::id(),
            created: now_rfc3339(),
            workspace: self.workspace.clone(),
        };
        let deadline = Instant::now() + timeout;
        let mut tries = 0;
        loop {
            match self.try_lock(&info) {
                Ok(()) => {
                    if let Ok(mut held) = HELD.lock() {
                        held.push((self.path(), info.id.clone()));
                    }
                    return Ok(LockGuard { path: self.path(), info });
                }
                Err(LockError::Held(h)) if Instant::now() < deadline || (h.id == DAMAGED_LOCK_ID && tries < 10) => {
                    // An unreadable lock file may be one another process is still writing.
                    tries += 1;
                    std::thread::sleep(Duration::from_millis(if h.id == DAMAGED_LOCK_ID { 30 } else { 100 }));
                }
                Err(e) => return Err(e),
            }
        }
    }

    fn force_unlock(&self, id: &str) -> Result<()> {
        let path = self.path();
        let text = std::fs::read_to_string(&path)
            .map_err(|_| StateError(format!("the workspace \"{}\" is not locked", self.workspace)))?;
        let Ok(info) = serde_json::from_str::<LockInfo>(&text) else {
            if id != DAMAGED_LOCK_ID {
                return Err(StateError(format!(
                    "the lock file {} is empty or damaged, so it names no lock ID; remove it with: landform force-unlock {DAMAGED_LOCK_ID}",
                    path.display()
                )));
            }
            return std::fs::remove_file(&path).map_err(|e| StateError(crate::files::io_words(&e)));
        };
        if info.id != id {
            return Err(StateError(format!(
                "the lock ID \"{id}\" does not match the lock held ({}, by {} for {}). Use that ID to remove it.",
                info.id, info.who, info.operation
            )));
        }
        std::fs::remove_file(&path).map_err(|e| StateError(crate::files::io_words(&e)))
    }
}
