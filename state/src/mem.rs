//! The in-memory backend: a state that lives as long as its `MemBackend`, for
//! the engine's tests (OpenTofu's `statemgr` fake). It keeps what the other
//! backends keep, the way they keep it — each record stored as its JSON text
//! sealed for its slot (`r/ADDR`) by the workspace's `Crypt`, a lineage and a
//! serial per workspace, one lock per workspace that a store opened under it
//! checks before every write — so that the conformance suite
//! (`state/tests/conformance.rs`) holds it to the same rules as sled and
//! PostgreSQL.

use crate::crypt::{Crypt, OpenError};
use crate::{
    Change, Deposed, LockError, LockGuard, LockInfo, Locker, OutputRecord, ResourceRecord, Result, Snapshot,
    StateError, Storage, FORMAT_VERSION,
};
use std::collections::BTreeMap;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// Every workspace of one in-memory state, and their locks. Clones share it.
#[derive(Clone, Default)]
pub struct MemBackend {
    shared: Arc<Shared>,
}

#[derive(Default)]
struct Shared {
    data: Mutex<Data>,
    /// Signalled when a lock is released.
    freed: Condvar,
}

#[derive(Default)]
struct Data {
    workspaces: BTreeMap<String, Workspace>,
    locks: BTreeMap<String, LockInfo>,
}

#[derive(Clone, Default)]
struct Workspace {
    lineage: String,
    serial: u64,
    /// Records by slot (`r/ADDR`, `p/ADDR`, `o/NAME`, `w/NAME`), as stored.
    records: BTreeMap<String, Vec<u8>>,
}

fn poisoned<T>(_: T) -> StateError {
    StateError("the in-memory state is unusable after an earlier failure".into())
}

impl MemBackend {
    pub fn new() -> MemBackend {
        MemBackend::default()
    }

    /// A backend holding `snap` as its workspace `snap.workspace`, in plain text.
    pub fn seeded(snap: &Snapshot) -> Result<MemBackend> {
        let backend = MemBackend::new();
        let (store, _) = backend.open(&snap.workspace, &Crypt::none())?;
        store.replace(snap)?;
        Ok(backend)
    }

    fn data(&self) -> Result<MutexGuard<'_, Data>> {
        self.shared.data.lock().map_err(poisoned)
    }

    /// Open a workspace (creating it, with a new lineage, when it has none)
    /// and read it. The caller holds its lock, as with `SledStore::open`.
    pub fn open(&self, workspace: &str, crypt: &Crypt) -> Result<(MemStorage, Snapshot)> {
        self.data()?
            .workspaces
            .entry(workspace.to_string())
            .or_insert_with(|| Workspace { lineage: crate::random_id(), ..Workspace::default() });
        let store = MemStorage {
            backend: self.clone(),
            workspace: workspace.to_string(),
            crypt: crypt.for_workspace(workspace),
            lock_id: None,
        };
        let snap = store.load()?;
        Ok((store, snap))
    }

    /// `open` for an operation holding `lock`: every write checks first that
    /// the lock is still held (force-unlock may have taken it away), and
    /// records not stored as `crypt` stores them are stored again, as
    /// `PgStore::open_locked` does.
    pub fn open_locked(&self, workspace: &str, crypt: &Crypt, lock: &LockInfo) -> Result<(MemStorage, Snapshot)> {
        let (mut store, snap) = self.open(workspace, crypt)?;
        store.lock_id = Some(lock.id.clone());
        if !store.still_locked(&*self.data()?) {
            return Err(store.lost());
        }
        // Encryption turned on, off or to another key (`state rekey`): every
        // record is stored again as the key in use stores it, as the other
        // backends do when opened under the lock.
        let stale = self.stored(workspace)?.iter().any(|(_, v)| !store.crypt.is_current(v));
        if stale {
            store.replace(&snap)?;
        }
        Ok((store, snap))
    }

    /// The lock of one workspace.
    pub fn locker(&self, workspace: &str) -> MemLocker {
        MemLocker { backend: self.clone(), workspace: workspace.to_string() }
    }

    /// The workspaces that have a state, sorted.
    pub fn workspaces(&self) -> Result<Vec<String>> {
        Ok(self.data()?.workspaces.keys().cloned().collect())
    }

    /// What the backend holds for a workspace, slot by slot, as stored.
    pub fn stored(&self, workspace: &str) -> Result<Vec<(String, Vec<u8>)>> {
        let data = self.data()?;
        Ok(data
            .workspaces
            .get(workspace)
            .map(|w| w.records.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default())
    }

    /// Overwrite one stored slot as it is kept: for tests of damaged data.
    pub fn set_stored(&self, workspace: &str, slot: &str, bytes: Vec<u8>) -> Result<()> {
        let mut data = self.data()?;
        let ws = data.workspaces.entry(workspace.to_string()).or_default();
        ws.records.insert(slot.to_string(), bytes);
        Ok(())
    }
}

/// One workspace's state in a `MemBackend`.
pub struct MemStorage {
    backend: MemBackend,
    workspace: String,
    crypt: Crypt,
    /// The lock this store writes under, when opened with `open_locked`.
    lock_id: Option<String>,
}

impl MemStorage {
    pub fn workspace(&self) -> &str {
        &self.workspace
    }

    fn still_locked(&self, data: &Data) -> bool {
        match &self.lock_id {
            Some(id) => data.locks.get(&self.workspace).is_some_and(|l| &l.id == id),
            None => true,
        }
    }

    fn lost(&self) -> StateError {
        StateError(format!(
            "the lock on workspace \"{}\" in the in-memory state was lost (force-unlock), so nothing more is written under it",
            self.workspace
        ))
    }

    fn seal(&self, slot: &str, json: String) -> Vec<u8> {
        self.crypt.seal(slot, json.into_bytes())
    }

    /// Apply `write` to a copy of the workspace and keep the copy only when
    /// it succeeds: a commit is all or nothing.
    fn write(&self, write: impl FnOnce(&mut Workspace) -> Result<u64>) -> Result<u64> {
        let mut data = self.backend.data()?;
        if !self.still_locked(&data) {
            return Err(self.lost());
        }
        let mut ws = data.workspaces.get(&self.workspace).cloned().unwrap_or_default();
        let serial = write(&mut ws)?;
        data.workspaces.insert(self.workspace.clone(), ws);
        Ok(serial)
    }
}

fn json<T: serde::Serialize>(v: &T) -> Result<String> {
    serde_json::to_string(v).map_err(|e| StateError(e.to_string()))
}

impl Storage for MemStorage {
    fn load(&self) -> Result<Snapshot> {
        let ws = self.backend.data()?.workspaces.get(&self.workspace).cloned().unwrap_or_default();
        let mut snap = Snapshot::empty(&self.workspace);
        snap.lineage = ws.lineage;
        snap.serial = ws.serial;
        snap.format_version = FORMAT_VERSION;
        for (slot, stored) in &ws.records {
            let bad =
                || StateError(format!("the in-memory state's record {slot} cannot be read. Nothing was changed."));
            let text = match self.crypt.open(slot, stored) {
                Ok(v) => String::from_utf8(v).map_err(|_| bad())?,
                Err(OpenError::Key(why)) => return Err(StateError(format!("{why}. Nothing was changed."))),
                Err(e) => {
                    let what = format!("the in-memory state's record {slot} of workspace \"{}\"", self.workspace);
                    return Err(StateError(format!("{}. Nothing was changed.", e.words(&what))));
                }
            };
            let (kind, key) = slot.split_once('/').ok_or_else(bad)?;
            match kind {
                "r" => snap.resources.push(serde_json::from_str::<ResourceRecord>(&text).map_err(|_| bad())?),
                "p" => snap.pending.push(serde_json::from_str::<ResourceRecord>(&text).map_err(|_| bad())?),
                "d" => snap.deposed.push(serde_json::from_str::<Deposed>(&text).map_err(|_| bad())?),
                "o" => {
                    snap.outputs
                        .insert(key.to_string(), serde_json::from_str::<OutputRecord>(&text).map_err(|_| bad())?);
                }
                "w" => {
                    snap.rollouts.insert(key.to_string(), serde_json::from_str(&text).map_err(|_| bad())?);
                }
                _ => return Err(bad()),
            }
        }
        Ok(snap)
    }

    fn commit(&self, changes: &[Change]) -> Result<u64> {
        // Everything is serialized and sealed before anything changes.
        let mut puts: Vec<(String, Option<Vec<u8>>)> = Vec::new();
        let mut put = |slot: String, v: Option<String>| {
            let v = v.map(|v| self.seal(&slot, v));
            puts.push((slot, v));
        };
        for c in changes {
            match c {
                Change::Put(rec) => {
                    put(format!("r/{}", rec.addr), Some(json(rec.as_ref())?));
                    put(format!("p/{}", rec.addr), None);
                }
                Change::Delete(addr) => {
                    put(format!("r/{addr}"), None);
                    put(format!("p/{addr}"), None);
                }
                Change::Intent(rec) => put(format!("p/{}", rec.addr), Some(json(rec.as_ref())?)),
                Change::ClearIntent(addr) => put(format!("p/{addr}"), None),
                Change::Depose(d) => {
                    put(format!("r/{}", d.record.addr), None);
                    put(format!("d/{}", Deposed::slot(&d.record.addr, &d.key)), Some(json(d.as_ref())?));
                }
                Change::DeleteDeposed { addr, key } => put(format!("d/{}", Deposed::slot(addr, key)), None),
                Change::Outputs(outputs) => {
                    // The marker "o/": every output before this change goes.
                    put("o/".into(), None);
                    for (name, rec) in outputs {
                        put(format!("o/{name}"), Some(json(rec)?));
                    }
                }
                Change::Rollout(name, rec) => put(format!("w/{name}"), rec.as_ref().map(json).transpose()?),
            }
        }
        self.write(|ws| {
            for (slot, v) in puts {
                match v {
                    Some(v) => {
                        ws.records.insert(slot, v);
                    }
                    // The marker of an `Outputs` change: every output goes first.
                    None if slot == "o/" => ws.records.retain(|k, _| !k.starts_with("o/")),
                    None => {
                        ws.records.remove(&slot);
                    }
                }
            }
            if ws.lineage.is_empty() {
                ws.lineage = crate::random_id();
            }
            ws.serial += 1;
            Ok(ws.serial)
        })
    }

    fn replace(&self, snapshot: &Snapshot) -> Result<()> {
        let mut records = BTreeMap::new();
        for r in &snapshot.resources {
            let slot = format!("r/{}", r.addr);
            records.insert(slot.clone(), self.seal(&slot, json(r)?));
        }
        for r in &snapshot.pending {
            let slot = format!("p/{}", r.addr);
            records.insert(slot.clone(), self.seal(&slot, json(r)?));
        }
        for d in &snapshot.deposed {
            let slot = format!("d/{}", Deposed::slot(&d.record.addr, &d.key));
            records.insert(slot.clone(), self.seal(&slot, json(d)?));
        }
        for (name, o) in &snapshot.outputs {
            let slot = format!("o/{name}");
            records.insert(slot.clone(), self.seal(&slot, json(o)?));
        }
        for (name, w) in &snapshot.rollouts {
            let slot = format!("w/{name}");
            records.insert(slot.clone(), self.seal(&slot, json(w)?));
        }
        let lineage = if snapshot.lineage.is_empty() { crate::random_id() } else { snapshot.lineage.clone() };
        self.write(|ws| {
            *ws = Workspace { lineage, serial: snapshot.serial, records };
            Ok(ws.serial)
        })
        .map(|_| ())
    }
}

/// The lock of one workspace of a `MemBackend`.
pub struct MemLocker {
    backend: MemBackend,
    workspace: String,
}

/// Held while a `MemLocker`'s lock is: releases it when dropped.
struct MemHold {
    backend: MemBackend,
    workspace: String,
    id: String,
}

impl Drop for MemHold {
    fn drop(&mut self) {
        if let Ok(mut data) = self.backend.shared.data.lock() {
            if data.locks.get(&self.workspace).is_some_and(|l| l.id == self.id) {
                data.locks.remove(&self.workspace);
            }
        }
        self.backend.shared.freed.notify_all();
    }
}

impl Locker for MemLocker {
    fn lock(&self, operation: &str, timeout: Duration) -> std::result::Result<LockGuard, LockError> {
        let info = LockInfo {
            id: crate::random_id(),
            operation: operation.to_string(),
            who: crate::lock::who(),
            pid: std::process::id(),
            created: crate::now_rfc3339(),
            workspace: self.workspace.clone(),
        };
        let deadline = Instant::now() + timeout;
        let shared = &self.backend.shared;
        let mut data = shared.data.lock().map_err(|_| LockError::Io("the in-memory state is unusable".into()))?;
        loop {
            match data.locks.get(&self.workspace) {
                None => break,
                Some(holder) => {
                    let left = deadline.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        return Err(LockError::Held(Box::new(holder.clone())));
                    }
                    data = shared
                        .freed
                        .wait_timeout(data, left)
                        .map_err(|_| LockError::Io("the in-memory state is unusable".into()))?
                        .0;
                }
            }
        }
        data.locks.insert(self.workspace.clone(), info.clone());
        let hold = MemHold { backend: self.backend.clone(), workspace: self.workspace.clone(), id: info.id.clone() };
        Ok(LockGuard::other(info, Box::new(hold)))
    }

    /// Remove the lock `id` names, whoever holds it (a store opened under it
    /// then refuses to write).
    fn force_unlock(&self, id: &str) -> Result<()> {
        let mut data = self.backend.data()?;
        match data.locks.get(&self.workspace) {
            None => Err(StateError(format!("the workspace \"{}\" is not locked", self.workspace))),
            Some(held) if held.id != id => Err(StateError(format!(
                "the lock ID \"{id}\" does not match the lock held ({}, by {} for {}). Use that ID to remove it.",
                held.id, held.who, held.operation
            ))),
            Some(_) => {
                data.locks.remove(&self.workspace);
                drop(data);
                self.backend.shared.freed.notify_all();
                Ok(())
            }
        }
    }
}
