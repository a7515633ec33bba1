//! The workspace lock: an OS lock (`flock`) on the file `DIR/WORKSPACE.lock`
//! beside the state, which holds who took it. The kernel releases the lock
//! when its process ends, however it ends — `kill -9` and a machine's crash
//! included — so a crash never leaves the state locked: the next operation
//! takes the lock over the file left behind. The file's text is only there to
//! say who holds the lock. It is taken before the database is opened, so a
//! second operation fails at once and can say who holds it.

use crate::{now_rfc3339, random_id, LockError, Locker, Result, StateError};
use serde::{Deserialize, Serialize};
use std::fs::File;
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

/// Held while an operation runs; released on drop, and (a file lock) by the
/// kernel when the process ends without dropping it.
pub struct LockGuard {
    held: Held,
    pub info: LockInfo,
}

/// What keeps a lock held.
enum Held {
    /// The open lock file: its OS lock lasts as long as it stays open.
    File { path: PathBuf, _file: File },
    /// Another backend's hold (a PostgreSQL session, an in-memory entry),
    /// which releases the lock when dropped.
    Other { _hold: Box<dyn std::any::Any + Send> },
}

impl std::fmt::Debug for LockGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LockGuard").field("info", &self.info).finish_non_exhaustive()
    }
}

impl LockGuard {
    /// A lock held by `hold`, which releases it when dropped.
    pub(crate) fn other(info: LockInfo, hold: Box<dyn std::any::Any + Send>) -> LockGuard {
        LockGuard { held: Held::Other { _hold: hold }, info }
    }
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
        if let Held::File { path, .. } = &self.held {
            remove_if_ours(path, &self.info.id);
            if let Ok(mut held) = HELD.lock() {
                held.retain(|(_, id)| id != &self.info.id);
            }
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
    fn path(&self) -> std::result::Result<PathBuf, String> {
        crate::files::join_inside(&self.dir, &format!("{}.lock", self.workspace))
            .map_err(|e| format!("the workspace name {e}"))
    }

    fn try_lock(&self, info: &LockInfo) -> std::result::Result<File, LockError> {
        use rustix::fs::{flock, FlockOperation};
        let path = self.path().map_err(LockError::Io)?;
        let io = |e: std::io::Error| LockError::Io(format!("{}: {}", path.display(), crate::files::io_words(&e)));
        // The holder removes the file as it releases the lock: a file opened
        // just before that is not the lock any more, so open it again.
        for _ in 0..100 {
            let mut opts = std::fs::OpenOptions::new();
            opts.read(true).write(true).create(true).truncate(false);
            #[cfg(unix)]
            {
                use std::os::unix::fs::OpenOptionsExt;
                opts.mode(0o600);
            }
            let mut file = opts.open(&path).map_err(io)?;
            match flock(&file, FlockOperation::NonBlockingLockExclusive) {
                Ok(()) => {
                    if !same_file(&file, &path) {
                        continue;
                    }
                    // Whatever a crashed holder left is replaced by who holds it now.
                    let text = serde_json::to_string_pretty(info).unwrap_or_default();
                    file.set_len(0)
                        .and_then(|_| file.write_all(text.as_bytes()))
                        .and_then(|_| file.sync_all())
                        .map_err(io)?;
                    return Ok(file);
                }
                Err(e) if e == rustix::io::Errno::WOULDBLOCK => {
                    return Err(LockError::Held(Box::new(self.holder(&path))))
                }
                Err(e) => return Err(io(e.into())),
            }
        }
        Err(LockError::Io(format!("{}: the lock file keeps being replaced", path.display())))
    }

    /// Who holds the lock, from the file's text.
    fn holder(&self, path: &Path) -> LockInfo {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        // The holder may still be writing its details.
        serde_json::from_str::<LockInfo>(&text).unwrap_or_else(|_| LockInfo {
            id: DAMAGED_LOCK_ID.into(),
            operation: "unknown".into(),
            who: "unknown".into(),
            pid: 0,
            created: String::new(),
            workspace: self.workspace.clone(),
        })
    }
}

/// Whether process `pid` of this host is gone or exiting (a zombie, or dead
/// and not yet reaped), so that a lock it holds is about to be released.
fn exiting(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // The state is the field after the command's closing parenthesis.
        Ok(stat) => {
            stat.rsplit_once(')').is_some_and(|(_, rest)| matches!(rest.trim_start().chars().next(), Some('Z' | 'X')))
        }
        Err(_) => true,
    }
}

/// Whether the open `file` is the one at `path` now.
fn same_file(file: &File, path: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (file.metadata(), std::fs::metadata(path)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
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
        let path = self.path().map_err(LockError::Io)?;
        loop {
            match self.try_lock(&info) {
                Ok(file) => {
                    if let Ok(mut held) = HELD.lock() {
                        held.push((path.clone(), info.id.clone()));
                    }
                    return Ok(LockGuard { held: Held::File { path, _file: file }, info });
                }
                // A holder killed a moment ago may still be exiting: the kernel
                // releases its lock when it is gone, so wait a little for that.
                Err(LockError::Held(h))
                    if Instant::now() < deadline
                        || (h.id == DAMAGED_LOCK_ID && tries < 10)
                        || (h.pid != 0 && exiting(h.pid) && tries < 50) =>
                {
                    // An unreadable lock file may be one another process is still writing.
                    tries += 1;
                    std::thread::sleep(Duration::from_millis(if h.id == DAMAGED_LOCK_ID { 30 } else { 100 }));
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Remove the lock file `id` names. A lock a running process holds is
    /// not removed: two operations would then write the state at once, and
    /// the lock goes by itself when that process ends (stop it).
    fn force_unlock(&self, id: &str) -> Result<()> {
        use rustix::fs::{flock, FlockOperation};
        let path = self.path().map_err(StateError)?;
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(&path)
            .map_err(|_| StateError(format!("the workspace \"{}\" is not locked", self.workspace)))?;
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        let info = serde_json::from_str::<LockInfo>(&text).ok();
        match &info {
            None if id != DAMAGED_LOCK_ID => {
                return Err(StateError(format!(
                    "the lock file {} is empty or damaged, so it names no lock ID; remove it with: landform force-unlock {DAMAGED_LOCK_ID}",
                    path.display()
                )))
            }
            Some(info) if info.id != id => {
                return Err(StateError(format!(
                    "the lock ID \"{id}\" does not match the lock held ({}, by {} for {}). Use that ID to remove it.",
                    info.id, info.who, info.operation
                )))
            }
            _ => {}
        }
        if let Err(e) = flock(&file, FlockOperation::NonBlockingLockExclusive) {
            let by = info.map_or_else(
                || "another process".to_string(),
                |i| format!("pid {} ({}, {} since {})", i.pid, i.who, i.operation, i.created),
            );
            return Err(StateError(if e == rustix::io::Errno::WOULDBLOCK {
                format!("the lock is held by {by}, which is still running: removing it would let two operations write the state at once. Wait for it, or stop it: its lock is released when it ends.")
            } else {
                format!("cannot check the lock {}: {}", path.display(), crate::files::io_words(&e.into()))
            }));
        }
        std::fs::remove_file(&path).map_err(|e| StateError(crate::files::io_words(&e)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_zombie_or_gone_holder_is_exiting_and_a_live_one_is_not() {
        assert!(!exiting(std::process::id()));
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        // Exited but not reaped: a zombie, whose locks the kernel has let go.
        let until = std::time::Instant::now() + Duration::from_secs(5);
        while !exiting(pid) && std::time::Instant::now() < until {
            std::thread::sleep(Duration::from_millis(10));
        }
        assert!(exiting(pid), "a zombie is exiting");
        child.wait().unwrap();
        assert!(exiting(pid), "a reaped process is gone");
    }

    #[test]
    fn the_lock_is_held_until_dropped_and_a_left_file_holds_nothing() {
        let dir = std::env::temp_dir().join(format!("lf-lock-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let locker = FileLocker { dir: dir.clone(), workspace: "default".into() };
        let held = locker.lock("apply", Duration::ZERO).unwrap();
        match locker.lock("plan", Duration::ZERO) {
            Err(LockError::Held(h)) => assert_eq!(h.id, held.info.id),
            other => panic!("a second lock was taken: {other:?}"),
        }
        drop(held);
        assert!(!dir.join("default.lock").exists());
        // What a killed process leaves: the file, with nobody holding it.
        std::fs::write(dir.join("default.lock"), "{\"id\":\"gone\"}").unwrap();
        let again = locker.lock("plan", Duration::ZERO).unwrap();
        assert!(std::fs::read_to_string(dir.join("default.lock")).unwrap().contains(&again.info.id));
        assert!(locker.force_unlock(&again.info.id).unwrap_err().0.contains("still running"));
        drop(again);
        let bad = FileLocker { dir: dir.clone(), workspace: "../x".into() };
        assert!(matches!(bad.lock("plan", Duration::ZERO), Err(LockError::Io(_))));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
