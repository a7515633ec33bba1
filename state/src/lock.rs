//! The workspace lock: a file created exclusively beside the state, holding
//! who took it. It is taken before the database is opened, so a second
//! operation fails at once and can say who holds the lock.

use crate::{now_rfc3339, random_id, LockError, Locker, Result, StateError};
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::PathBuf;
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

impl Drop for LockGuard {
    fn drop(&mut self) {
        // Remove only our own lock, never one somebody forced and retook.
        if let Ok(text) = std::fs::read_to_string(&self.path) {
            if serde_json::from_str::<LockInfo>(&text).is_ok_and(|i| i.id == self.info.id) {
                let _ = std::fs::remove_file(&self.path);
            }
        }
    }
}

fn who() -> String {
    let user = std::env::var("USER").or_else(|_| std::env::var("LOGNAME")).unwrap_or_else(|_| "unknown".into());
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::fs::read_to_string("/etc/hostname"))
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "unknown".into());
    format!("{user}@{host}")
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
                    // Another process is still writing its lock file.
                    Err(_) => Err(LockError::Held(Box::new(LockInfo {
                        id: "(being written)".into(),
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
        loop {
            match self.try_lock(&info) {
                Ok(()) => return Ok(LockGuard { path: self.path(), info }),
                Err(LockError::Held(h)) if Instant::now() < deadline => {
                    let _ = h;
                    std::thread::sleep(Duration::from_millis(100));
                }
                Err(e) => return Err(e),
            }
        }
    }

    fn force_unlock(&self, id: &str) -> Result<()> {
        let path = self.path();
        let text = std::fs::read_to_string(&path)
            .map_err(|_| StateError(format!("the workspace \"{}\" is not locked", self.workspace)))?;
        let info: LockInfo =
            serde_json::from_str(&text).map_err(|e| StateError(format!("the lock file is damaged: {e}")))?;
        if info.id != id {
            return Err(StateError(format!(
                "the lock ID \"{id}\" does not match the lock held ({}, by {} for {}). Use that ID to remove it.",
                info.id, info.who, info.operation
            )));
        }
        std::fs::remove_file(&path).map_err(|e| StateError(e.to_string()))
    }
}
