//! The default backend: one sled 0.34 database per workspace, in
//! `STATE_DIR/workspaces/NAME/db`, with keys prefixed `r/` (resources), `p/`
//! (creations under way), `d/` (deposed objects, `d/KEY/ADDR`), `o/`
//! (outputs), `w/` (rollouts' progress) and `m/`
//! (metadata), so that one batch commits records and the new serial together.
//!
//! sled alone cannot tell a damaged or rolled-back database from a young one:
//! truncated, it opens empty. So beside it sits `manifest.json`, small and
//! replaced atomically, naming the lineage, the serial and a digest of every
//! record. A commit first writes the manifest with the commit it is about to
//! make as `pending`, then commits to sled, then writes the manifest again; a
//! database that matches neither is refused. A damaged database is first
//! opened as a copy, so that sled's recovery never rewrites the original, and
//! `backup.json` with `backup.log` keep the last good state for `landform
//! state recover` (`sled_store/backup.rs`).

use crate::crypt::{Crypt, OpenError};
use crate::files::{copy_dir, io_words, make_private, sync_dir, write_atomic};
use crate::{Change, Deposed, OutputRecord, ResourceRecord, Result, Snapshot, StateError, Storage, FORMAT_VERSION};
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// An order-independent digest of a set of key/value entries: the XOR of each
/// entry's SHA-256, so that a commit updates it from the entries it changes.
#[derive(Clone, Copy, Default, PartialEq, Eq, Debug)]
struct SetDigest([u8; 32]);

impl SetDigest {
    fn toggle(&mut self, key: &[u8], value: &[u8]) {
        let mut h = Sha256::new();
        h.update((key.len() as u64).to_le_bytes());
        h.update(key);
        h.update(value);
        for (a, b) in self.0.iter_mut().zip(h.finalize()) {
            *a ^= b;
        }
    }

    fn hex(&self) -> String {
        self.0.iter().map(|b| format!("{b:02x}")).collect()
    }
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
struct Point {
    lineage: String,
    serial: u64,
    digest: String,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
struct Manifest {
    format_version: u32,
    workspace: String,
    lineage: String,
    serial: u64,
    digest: String,
    /// A commit under way: the database may hold it or the one before.
    #[serde(default)]
    pending: Option<Point>,
    /// The serial `backup.json` holds.
    #[serde(default)]
    backup_serial: Option<u64>,
}

/// Where a workspace's files live: `STATE_DIR/workspaces/NAME`, for a name
/// that stays inside it (names also come from database rows, in `state
/// migrate`).
pub fn workspace_dir(state_dir: &Path, workspace: &str) -> Result<PathBuf> {
    crate::files::join_inside(&state_dir.join("workspaces"), workspace)
        .map_err(|e| StateError(format!("the workspace name {e}")))
}

/// The workspaces that have a state, sorted.
pub fn workspaces(state_dir: &Path) -> Vec<String> {
    let mut out: Vec<String> = std::fs::read_dir(state_dir.join("workspaces"))
        .map(|rd| {
            rd.flatten()
                .filter(|e| {
                    e.path().join("manifest.json").exists() && !e.file_name().to_string_lossy().starts_with('.')
                })
                .filter_map(|e| e.file_name().to_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}

/// One workspace's state, open for writing. The caller holds the workspace lock.
pub struct SledStore {
    dir: PathBuf,
    name: String,
    db: sled::Db,
    meta: Mutex<Meta>,
    crypt: Crypt,
    /// The keys committed since the backup's serial, when the backup holds
    /// the state this store opened or checkpointed (`None`: not known, so the
    /// next checkpoint writes the whole state).
    since_backup: Mutex<Option<HashSet<Vec<u8>>>>,
}

#[derive(Clone)]
struct Meta {
    lineage: String,
    serial: u64,
    digest: SetDigest,
    backup_serial: Option<u64>,
}

fn sled_words(e: &sled::Error) -> String {
    match e {
        sled::Error::Io(_) if is_locked(e) => "it is in use by another process".into(),
        sled::Error::Io(io) => io_words(io),
        sled::Error::Corruption { .. } => "its data is corrupted".into(),
        sled::Error::CollectionNotFound(_) => "a part of it is missing".into(),
        sled::Error::Unsupported(s) => format!("sled refused an operation ({s})"),
        sled::Error::ReportableBug(s) => format!("sled reported an internal error ({s})"),
    }
}

/// sled's word for a database another handle holds (an `Other` I/O error).
fn is_locked(e: &sled::Error) -> bool {
    matches!(e, sled::Error::Io(io) if io.kind() == std::io::ErrorKind::WouldBlock || io.to_string().contains("could not acquire lock"))
}

fn open_db(path: &Path) -> std::result::Result<sled::Db, sled::Error> {
    drop_unfinished_snapshots(path);
    // A database this process just closed may still be locked for a moment:
    // sled's background thread lets go of the file after the handle drops.
    let mut waited = 0;
    loop {
        let result = sled::Config::new()
            .path(path)
            .mode(sled::Mode::HighThroughput)
            // The state is small; sled's default 1 GB page cache would only hold memory.
            .cache_capacity(4 * 1024 * 1024)
            .open();
        match result {
            Err(e) if is_locked(&e) && waited < 5000 => {
                std::thread::sleep(std::time::Duration::from_millis(20));
                waited += 20;
            }
            other => return other,
        }
    }
}

/// sled 0.34 writes a snapshot of its page table to `snap.LSN.generating` and
/// renames it to `snap.LSN` when it is whole, yet when it opens it reads the
/// last of *all* `snap.*` files, the unfinished one too: a process killed while
/// writing one (every open writes one) left a database sled calls corrupted
/// (spacejam/sled#1527, #1533). An unfinished snapshot was never in use, and the
/// finished one before it and the log after it hold everything, so it goes.
/// Only a writer holding the workspace's lock, or a reader's private copy, opens
/// a database; and sled's own lock on `db` is taken first (and let go before
/// sled takes it), so that no process that has it open is writing the file.
fn drop_unfinished_snapshots(path: &Path) {
    let Ok(db) = std::fs::File::open(path.join("db")) else { return };
    if db.try_lock().is_err() {
        return;
    }
    let Ok(entries) = std::fs::read_dir(path) else { return };
    for e in entries.flatten() {
        let name = e.file_name();
        let name = name.to_string_lossy();
        if name.starts_with("snap.") && name.ends_with(".generating") {
            let _ = std::fs::remove_file(e.path());
        }
    }
}

/// Why a database was not read: a key it needs was not given, or it is damaged.
enum Bad {
    Key(String),
    Damaged(String),
}

impl From<String> for Bad {
    fn from(why: String) -> Bad {
        Bad::Damaged(why)
    }
}

impl From<&str> for Bad {
    fn from(why: &str) -> Bad {
        Bad::Damaged(why.to_string())
    }
}

impl Bad {
    /// The error for a workspace: a key error as it is, damage with the way back.
    fn into_error(self, dir: &Path, workspace: &str, crypt: &Crypt) -> StateError {
        match self {
            Bad::Key(why) => StateError(format!("{why}. Nothing was changed.")),
            Bad::Damaged(why) => damaged(dir, workspace, &why, crypt),
        }
    }
}

/// A stored value, opened: key errors as they are, a value that does not
/// decrypt as damage of `what`.
fn unseal(crypt: &Crypt, k: &[u8], v: &[u8], what: impl FnOnce() -> String) -> std::result::Result<Vec<u8>, Bad> {
    crypt.open(&String::from_utf8_lossy(k), v).map_err(|e| match e {
        OpenError::Key(why) => Bad::Key(why),
        // Not damage that `state recover` should repair by itself: refused, named.
        OpenError::Unsealed | OpenError::OldBinding => Bad::Key(e.words(&what())),
        OpenError::Damaged => Bad::Damaged(e.words(&what())),
    })
}

/// What a database holds, read.
struct Read {
    snap: Snapshot,
    digest: SetDigest,
    /// Records not stored as `crypt` would store them now: in plain text while
    /// a key is set, or sealed with another key (or with one while none is).
    stale: usize,
}

/// A state's records by slot, as the database keys them (`r/ADDR`, `o/NAME`…).
#[derive(Default)]
struct Parts {
    resources: BTreeMap<String, ResourceRecord>,
    pending: BTreeMap<String, ResourceRecord>,
    deposed: BTreeMap<String, Deposed>,
    outputs: BTreeMap<String, OutputRecord>,
    rollouts: BTreeMap<String, serde_json::Value>,
    lineage: String,
    serial: u64,
}

impl Parts {
    fn of(snap: Snapshot) -> Parts {
        Parts {
            resources: snap.resources.into_iter().map(|r| (r.addr.clone(), r)).collect(),
            pending: snap.pending.into_iter().map(|r| (r.addr.clone(), r)).collect(),
            deposed: snap.deposed.into_iter().map(|d| (Deposed::slot(&d.record.addr, &d.key), d)).collect(),
            outputs: snap.outputs,
            rollouts: snap.rollouts,
            lineage: snap.lineage,
            serial: snap.serial,
        }
    }

    /// Set an entry from its key and its opened value (`None`: removed).
    fn set(&mut self, k: &[u8], v: Option<&[u8]>) -> std::result::Result<(), Bad> {
        fn parse<T: serde::de::DeserializeOwned>(
            v: &[u8],
            what: impl FnOnce() -> String,
        ) -> std::result::Result<T, Bad> {
            serde_json::from_slice(v).map_err(|_| Bad::Damaged(what()))
        }
        let name = |rest: &[u8]| String::from_utf8_lossy(rest).into_owned();
        if let Some(addr) = k.strip_prefix(b"r/") {
            let at = name(addr);
            match v {
                Some(v) => drop(
                    self.resources.insert(at, parse(v, || format!("the record of {} cannot be read", name(addr)))?),
                ),
                None => drop(self.resources.remove(&at)),
            }
        } else if let Some(addr) = k.strip_prefix(b"p/") {
            let at = name(addr);
            match v {
                Some(v) => drop(
                    self.pending
                        .insert(at, parse(v, || format!("the pending record of {} cannot be read", name(addr)))?),
                ),
                None => drop(self.pending.remove(&at)),
            }
        } else if let Some(slot) = k.strip_prefix(b"d/") {
            let at = name(slot);
            match v {
                Some(v) => drop(
                    self.deposed.insert(at, parse(v, || format!("the deposed record {} cannot be read", name(slot)))?),
                ),
                None => drop(self.deposed.remove(&at)),
            }
        } else if let Some(n) = k.strip_prefix(b"o/") {
            let at = name(n);
            match v {
                Some(v) => drop(
                    self.outputs.insert(at, parse(v, || format!("the record of output {} cannot be read", name(n)))?),
                ),
                None => drop(self.outputs.remove(&at)),
            }
        } else if let Some(n) = k.strip_prefix(b"w/") {
            let at = name(n);
            match v {
                Some(v) => drop(
                    self.rollouts.insert(at, parse(v, || format!("the record of rollout {} cannot be read", name(n)))?),
                ),
                None => drop(self.rollouts.remove(&at)),
            }
        } else if k == b"m/lineage" {
            self.lineage = v.map(|v| String::from_utf8_lossy(v).into_owned()).unwrap_or_default();
        } else if k == b"m/serial" {
            self.serial = v
                .and_then(|v| std::str::from_utf8(v).ok())
                .and_then(|s| s.parse().ok())
                .ok_or(Bad::Damaged("its serial cannot be read".into()))?;
        }
        Ok(())
    }

    /// Take in the entries another part of the same database held (no key in both).
    fn merge(&mut self, mut other: Parts) {
        self.resources.append(&mut other.resources);
        self.pending.append(&mut other.pending);
        self.deposed.append(&mut other.deposed);
        self.outputs.append(&mut other.outputs);
        self.rollouts.append(&mut other.rollouts);
        if self.lineage.is_empty() {
            self.lineage = other.lineage;
        }
        self.serial = self.serial.max(other.serial);
    }

    fn snapshot(self, workspace: &str) -> Snapshot {
        Snapshot {
            format_version: FORMAT_VERSION,
            lineage: self.lineage,
            serial: self.serial,
            workspace: workspace.to_string(),
            resources: self.resources.into_values().collect(),
            outputs: self.outputs,
            pending: self.pending.into_values().collect(),
            rollouts: self.rollouts,
            deposed: self.deposed.into_values().collect(),
        }
    }
}

/// Is this key one of a record (counted in the digest, sealed with a key)?
fn is_record(k: &[u8]) -> bool {
    [&b"r/"[..], b"p/", b"d/", b"o/", b"w/"].iter().any(|p| k.starts_with(p))
}

/// Read every entry of a database: the snapshot and the digest of its records.
/// Opening and parsing the records is most of what reading a state costs, so
/// a large state is read on two threads, each taking half of the entries.
fn read_db(db: &sled::Db, workspace: &str, crypt: &Crypt) -> std::result::Result<Read, Bad> {
    let entries: Vec<(sled::IVec, sled::IVec)> =
        db.iter().collect::<std::result::Result<_, _>>().map_err(|e| Bad::Damaged(sled_words(&e)))?;
    let read_part = |part: &[(sled::IVec, sled::IVec)]| -> std::result::Result<(Parts, SetDigest, usize), Bad> {
        let mut digest = SetDigest::default();
        let mut stale = 0;
        let mut parts = Parts::default();
        for (k, stored) in part {
            if is_record(k) {
                digest.toggle(k, stored);
                if !crypt.is_current(stored) {
                    stale += 1;
                }
            }
            if k.starts_with(b"m/") {
                parts.set(k, Some(stored))?;
            } else {
                let v = unseal(crypt, k, stored, || format!("the record {}", String::from_utf8_lossy(k)))?;
                parts.set(k, Some(&v))?;
            }
        }
        Ok((parts, digest, stale))
    };
    let (parts, digest, stale) = if entries.len() < 2048 {
        read_part(&entries)?
    } else {
        let (first, second) = entries.split_at(entries.len() / 2);
        let (a, b) = std::thread::scope(|s| {
            let b = s.spawn(|| read_part(second));
            (read_part(first), b.join())
        });
        // The first error in key order is the one told.
        let (a, b) = (a?, b.map_err(|_| Bad::Damaged("a record could not be read".into()))??);
        let mut joined = a;
        joined.0.merge(b.0);
        for (x, y) in joined.1 .0.iter_mut().zip(b.1 .0) {
            *x ^= y;
        }
        joined.2 += b.2;
        joined
    };
    Ok(Read { snap: parts.snapshot(workspace), digest, stale })
}

/// Does the database hold the commit `snap` was read from: its lineage and serial?
fn same_commit(db: &sled::Db, snap: &Snapshot) -> std::result::Result<(), String> {
    let meta =
        |k: &str| db.get(k).map_err(|e| sled_words(&e)).map(|v| v.map(|v| String::from_utf8_lossy(&v).into_owned()));
    let (lineage, serial) = (meta("m/lineage")?.unwrap_or_default(), meta("m/serial")?.unwrap_or_default());
    if lineage != snap.lineage || serial != snap.serial.to_string() {
        return Err(format!(
            "the database holds serial {serial} of lineage {lineage}, but its copy held serial {} of {}",
            snap.serial, snap.lineage
        ));
    }
    Ok(())
}

/// Does what the database holds match the manifest (or the commit it names as pending)?
fn check(manifest: &Manifest, snap: &Snapshot, digest: &SetDigest) -> std::result::Result<(), String> {
    let pending_lineage = manifest.pending.as_ref().is_some_and(|p| p.lineage == snap.lineage);
    if snap.lineage != manifest.lineage && !pending_lineage {
        return Err(if snap.lineage.is_empty() && snap.serial == 0 {
            format!("the database is empty, but the manifest says it holds serial {}", manifest.serial)
        } else {
            format!("the database's lineage {} is not the manifest's {}", snap.lineage, manifest.lineage)
        });
    }
    let hex = digest.hex();
    if snap.serial == manifest.serial && hex == manifest.digest {
        return Ok(());
    }
    if let Some(p) = &manifest.pending {
        if snap.lineage == p.lineage && snap.serial == p.serial && hex == p.digest {
            return Ok(());
        }
    }
    if snap.serial < manifest.serial {
        return Err(format!(
            "the database holds serial {}, older than the serial {} last committed: commits were lost",
            snap.serial, manifest.serial
        ));
    }
    if snap.serial != manifest.serial {
        return Err(format!("the database holds serial {}, but the manifest says {}", snap.serial, manifest.serial));
    }
    Err(format!("the records of serial {} do not match their digest: some were changed or lost", snap.serial))
}

fn read_manifest(dir: &Path) -> std::result::Result<Option<Manifest>, String> {
    let path = dir.join("manifest.json");
    match std::fs::read(&path) {
        Ok(bytes) => serde_json::from_slice(&bytes).map(Some).map_err(|_| "its manifest.json cannot be read".into()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(format!("its manifest.json cannot be read: {}", io_words(&e))),
    }
}

fn write_manifest(dir: &Path, m: &Manifest) -> Result<()> {
    let bytes = serde_json::to_vec_pretty(m).map_err(|e| StateError(e.to_string()))?;
    write_atomic(&dir.join("manifest.json"), &bytes)
        .map_err(|e| StateError(format!("cannot write {}: {}", dir.join("manifest.json").display(), io_words(&e))))
}

fn damaged(dir: &Path, workspace: &str, why: &str, crypt: &Crypt) -> StateError {
    let backup = match read_backup(dir, crypt) {
        Ok(b) => format!(
            " The last good state (serial {}, {} resource instance(s)) is in {}: restore it with `landform state recover`{}.",
            b.serial,
            b.resources.len(),
            dir.join("backup.json").display(),
            if workspace == "default" { String::new() } else { format!(" --workspace {workspace}") }
        ),
        Err(_) => " There is no backup of it to recover from.".into(),
    };
    StateError(format!(
        "the state of workspace \"{workspace}\" in {} is damaged: {why}. Landform refuses to read it, so as not to plan from a wrong state, and has changed nothing.{backup}",
        dir.display()
    ))
}

fn read_backup(dir: &Path, crypt: &Crypt) -> std::result::Result<Snapshot, String> {
    backup::read(dir, crypt)
}

/// Open a copy of the database in a temporary directory and check it, so that
/// sled's recovery of a damaged database never writes to the original.
fn check_copy(dir: &Path, workspace: &str, manifest: &Manifest, crypt: &Crypt) -> Result<Read> {
    sweep_abandoned_copies();
    let tmp = std::env::temp_dir().join(format!("landform-check-{}-{}", std::process::id(), crate::random_id()));
    let result = (|| {
        copy_dir(&live_db(dir), &tmp).map_err(|e| format!("its database cannot be copied: {}", io_words(&e)))?;
        make_private(&tmp);
        let db = open_db(&tmp).map_err(|e| format!("its database cannot be opened: {}", sled_words(&e)))?;
        let read = read_db(&db, workspace, crypt)?;
        drop(db);
        check(manifest, &read.snap, &read.digest)?;
        Ok(read)
    })();
    let _ = std::fs::remove_dir_all(&tmp);
    result.map_err(|bad: Bad| bad.into_error(dir, workspace, crypt))
}

/// Remove the copies `check_copy` left behind in processes that were killed
/// before they could: each holds the whole state, values and all.
fn sweep_abandoned_copies() {
    let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else { return };
    for e in entries.flatten() {
        let name = e.file_name();
        let Some(rest) = name.to_str().and_then(|n| n.strip_prefix("landform-check-")) else { continue };
        let Some(pid) = rest.split('-').next().and_then(|p| p.parse::<u32>().ok()) else { continue };
        if pid != std::process::id() && !process_alive(pid) {
            let _ = std::fs::remove_dir_all(e.path());
        }
    }
}

/// Is a process running? Where that cannot be told, it is taken to be.
fn process_alive(pid: u32) -> bool {
    if cfg!(target_os = "linux") {
        Path::new("/proc").join(pid.to_string()).exists()
    } else {
        true
    }
}

/// Read a workspace's state without opening its database for writing: what
/// `state list`, `output` and `show` use, so that they work during an apply.
/// Nothing in the state directory is written. A workspace with no state reads
/// as empty.
pub fn read_snapshot(state_dir: &Path, workspace: &str, crypt: &Crypt) -> Result<Snapshot> {
    let crypt = &crypt.for_workspace(workspace);
    let dir = workspace_dir(state_dir, workspace)?;
    let mut last = None;
    // An apply may commit while the copy is taken; a copy that does not match
    // is taken again before the state is called damaged.
    for attempt in 0..5 {
        let manifest = read_manifest(&dir).map_err(|why| damaged(&dir, workspace, &why, crypt))?;
        let Some(manifest) = manifest else {
            if dir.join("db").exists() {
                return Err(damaged(&dir, workspace, "its manifest.json is missing", crypt));
            }
            return Ok(Snapshot::empty(workspace));
        };
        if !live_db(&dir).join("db").exists() {
            return Err(damaged(&dir, workspace, "its database file db/db is missing", crypt));
        }
        match check_copy(&dir, workspace, &manifest, crypt) {
            Ok(read) => return Ok(read.snap),
            // A key error does not go away with another copy.
            Err(e) if !e.0.contains("is damaged") => return Err(e),
            Err(e) => last = Some(e),
        }
        std::thread::sleep(std::time::Duration::from_millis(50 * (attempt + 1)));
    }
    // A copy taken while another operation commits may never match: say so,
    // rather than call a busy state damaged.
    let holder = std::fs::read_to_string(state_dir.join(format!("{workspace}.lock")))
        .ok()
        .and_then(|t| serde_json::from_str::<crate::LockInfo>(&t).ok());
    // The lock this process holds itself (`drift` reads under its lock) is
    // no other operation: what stands is the damage.
    if holder.is_some_and(|h| !h.is_stale() && h.pid != std::process::id()) {
        return Err(StateError(format!(
            "the state of workspace \"{workspace}\" is being written by another operation, which holds its lock; try again when it has finished"
        )));
    }
    Err(last.unwrap_or_else(|| StateError("cannot read the state".into())))
}

impl SledStore {
    /// Open a workspace's state for writing (creating it if it has none) and
    /// read it. A damaged or rolled-back state is refused, and nothing written.
    pub fn open(state_dir: &Path, workspace: &str, crypt: &Crypt) -> Result<(SledStore, Snapshot)> {
        let crypt = &crypt.for_workspace(workspace);
        let dir = workspace_dir(state_dir, workspace)?;
        let damaged = |why: &str| damaged(&dir, workspace, why, crypt);
        let manifest = read_manifest(&dir).map_err(|why| damaged(&why))?;
        let db_file = dir.join("db").join("db");
        let (manifest, checked) = match manifest {
            Some(m) => {
                settle_rebuild(&dir);
                if !db_file.exists() {
                    return Err(damaged("its database file db/db is missing"));
                }
                if m.workspace != workspace {
                    return Err(damaged(&format!("its manifest names workspace \"{}\"", m.workspace)));
                }
                let read = check_copy(&dir, workspace, &m, crypt)?;
                if read.stale > 0 {
                    // Encryption turned on, off, or to another key: the whole
                    // database is written again, so that no old value stays
                    // behind in sled's log; so are the damaged copies
                    // `state recover` kept.
                    let m = rebuild(&dir, &read.snap, crypt, &m)?;
                    reseal_damaged_copies(&dir, workspace, crypt)?;
                    (m, None)
                } else {
                    (m, Some(read))
                }
            }
            None if dir.join("db").exists() => return Err(damaged("its manifest.json is missing")),
            None => (Self::create(state_dir, &dir, workspace, crypt)?, None),
        };
        let db = open_db(&dir.join("db")).map_err(|e| {
            StateError(format!("cannot open the state database in {}: {}", dir.display(), sled_words(&e)))
        })?;
        make_private(state_dir);
        let (snap, digest) = match checked {
            // The copy just checked holds the same bytes as the database (the
            // workspace lock keeps every other writer out): its reading is the
            // database's, read once. Its lineage and serial say it is.
            Some(read) => {
                same_commit(&db, &read.snap).map_err(|why| damaged(&why))?;
                (read.snap, read.digest)
            }
            // A new or rebuilt database: read what was just written.
            None => {
                let Read { snap, digest, .. } =
                    read_db(&db, workspace, crypt).map_err(|bad| bad.into_error(&dir, workspace, crypt))?;
                (snap, digest)
            }
        };
        check(&manifest, &snap, &digest).map_err(|why| damaged(&why))?;
        let meta =
            Meta { lineage: snap.lineage.clone(), serial: snap.serial, digest, backup_serial: manifest.backup_serial };
        let since = (manifest.backup_serial == Some(snap.serial)).then(HashSet::new);
        let store = SledStore {
            dir,
            name: workspace.to_string(),
            db,
            meta: Mutex::new(meta),
            crypt: crypt.clone(),
            since_backup: Mutex::new(since),
        };
        if manifest.pending.is_some() || manifest.serial != snap.serial {
            // The last commit was interrupted between sled and the manifest: settle it.
            let meta = store.meta.lock().map_err(poisoned)?.clone();
            store.write_meta(&meta, None)?;
        }
        Ok((store, snap))
    }

    /// A new, empty workspace: its manifest first, then the database.
    /// It is built in a temporary directory beside its place and renamed into
    /// place whole, so that a crash never leaves half a workspace.
    fn create(state_dir: &Path, final_dir: &Path, workspace: &str, crypt: &Crypt) -> Result<Manifest> {
        let parent = final_dir.parent().unwrap_or(state_dir);
        let dir = &parent.join(format!(".new-{workspace}-{}", crate::random_id()));
        std::fs::create_dir_all(dir)
            .map_err(|e| StateError(format!("cannot create {}: {}", dir.display(), io_words(&e))))?;
        make_private(state_dir);
        let result = Self::fill_new(state_dir, dir, workspace, crypt).and_then(|m| {
            std::fs::rename(dir, final_dir)
                .map_err(|e| StateError(format!("cannot create {}: {}", final_dir.display(), io_words(&e))))?;
            sync_dir(parent);
            Ok(m)
        });
        if result.is_err() {
            let _ = std::fs::remove_dir_all(dir);
        }
        result
    }

    fn fill_new(state_dir: &Path, dir: &Path, workspace: &str, crypt: &Crypt) -> Result<Manifest> {
        let lineage = crate::random_id();
        let db = open_db(&dir.join("db")).map_err(|e| {
            StateError(format!("cannot create the state database in {}: {}", dir.display(), sled_words(&e)))
        })?;
        // Anything a legacy database (one shared by every workspace) holds comes along.
        let legacy = legacy_snapshot(state_dir, workspace);
        let mut digest = SetDigest::default();
        let mut batch = sled::Batch::default();
        let (lineage, serial) = match &legacy {
            Some(s) => {
                for rec in &s.resources {
                    let k = format!("r/{}", rec.addr);
                    let v = crypt.seal(&k, serde_json::to_vec(rec).unwrap_or_default());
                    digest.toggle(k.as_bytes(), &v);
                    batch.insert(k.into_bytes(), v);
                }
                for (name, rec) in &s.outputs {
                    let k = format!("o/{name}");
                    let v = crypt.seal(&k, serde_json::to_vec(rec).unwrap_or_default());
                    digest.toggle(k.as_bytes(), &v);
                    batch.insert(k.into_bytes(), v);
                }
                (if s.lineage.is_empty() { lineage } else { s.lineage.clone() }, s.serial)
            }
            None => (lineage, 0),
        };
        batch.insert("m/lineage", lineage.as_bytes());
        batch.insert("m/serial", serial.to_string().as_bytes());
        let m = Manifest {
            format_version: FORMAT_VERSION,
            workspace: workspace.to_string(),
            lineage: lineage.clone(),
            serial,
            digest: digest.hex(),
            pending: None,
            backup_serial: None,
        };
        db.apply_batch(batch).and_then(|_| db.flush().map(|_| ())).map_err(|e| {
            StateError(format!("cannot create the state database in {}: {}", dir.display(), sled_words(&e)))
        })?;
        drop(db);
        write_manifest(dir, &m)?;
        sync_dir(dir);
        Ok(m)
    }

    pub fn workspace(&self) -> &str {
        &self.name
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn write_meta(&self, meta: &Meta, pending: Option<&Meta>) -> Result<()> {
        write_manifest(
            &self.dir,
            &Manifest {
                format_version: FORMAT_VERSION,
                workspace: self.name.clone(),
                lineage: meta.lineage.clone(),
                serial: meta.serial,
                digest: meta.digest.hex(),
                pending: pending.map(|p| Point {
                    lineage: p.lineage.clone(),
                    serial: p.serial,
                    digest: p.digest.hex(),
                }),
                backup_serial: meta.backup_serial,
            },
        )
    }

    /// Is `backup.json` there, sealed with the key in use (or plain without one)?
    fn backup_is_current(&self) -> bool {
        let Ok(mut f) = std::fs::File::open(self.dir.join("backup.json")) else { return false };
        let mut head = [0u8; 64];
        let n = std::io::Read::read(&mut f, &mut head).unwrap_or(0);
        Crypt::sealed_with(&head[..n]).as_deref() == self.crypt.key_id()
    }

    /// Keep `snap` as the last good state, unless it is already kept: the
    /// whole of it in `backup.json`, the log emptied.
    pub fn save_backup(&self, snap: &Snapshot) -> Result<()> {
        let mut meta = self.meta.lock().map_err(poisoned)?;
        if meta.backup_serial == Some(snap.serial) && self.backup_is_current() {
            return Ok(());
        }
        let bytes = self.crypt.seal("backup.json", serde_json::to_vec(snap).map_err(|e| StateError(e.to_string()))?);
        // The manifest stops naming a backup serial before the log goes, so
        // that no crash leaves it naming one the files do not hold.
        if meta.backup_serial.is_some() {
            meta.backup_serial = None;
            self.write_meta(&meta, None)?;
        }
        *self.since_backup.lock().map_err(poisoned)? = None;
        match std::fs::remove_file(self.dir.join(backup::LOG)) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(StateError(format!("cannot write the state backup: {}", io_words(&e))))
            }
            _ => {}
        }
        write_atomic(&self.dir.join("backup.json"), &bytes)
            .map_err(|e| StateError(format!("cannot write the state backup: {}", io_words(&e))))?;
        meta.backup_serial = Some(snap.serial);
        self.write_meta(&meta, None)?;
        if snap.serial == meta.serial && snap.lineage == meta.lineage {
            *self.since_backup.lock().map_err(poisoned)? = Some(HashSet::new());
        }
        Ok(())
    }

    /// Keep the state as committed now as the last good one: a frame of
    /// what changed since the backup's serial appended to its log, or, when
    /// that is not known or the log has outgrown `backup.json`, the whole state.
    pub fn checkpoint(&self) -> Result<()> {
        {
            let mut meta = self.meta.lock().map_err(poisoned)?;
            let current = self.backup_is_current();
            if meta.backup_serial == Some(meta.serial) && current {
                return Ok(());
            }
            let mut since = self.since_backup.lock().map_err(poisoned)?;
            let (base, log) = backup::sizes(&self.dir);
            if let (Some(keys), Some(from), true, true) = (since.as_ref(), meta.backup_serial, current, log <= base) {
                let mut keys: Vec<&Vec<u8>> = keys.iter().collect();
                keys.sort();
                let mut entries = Vec::with_capacity(keys.len());
                let mut text = true;
                for k in keys {
                    let v = self.db.get(k).map_err(|e| StateError(sled_words(&e)))?;
                    let v = v.map(|v| String::from_utf8(v.to_vec()));
                    text &= !matches!(v, Some(Err(_)));
                    entries.push((String::from_utf8_lossy(k).into_owned(), v.and_then(|v| v.ok())));
                }
                if text {
                    let frame = backup::Frame { lineage: meta.lineage.clone(), from, to: meta.serial, entries };
                    if backup::append(&self.dir, &frame).is_ok() {
                        meta.backup_serial = Some(meta.serial);
                        *since = Some(HashSet::new());
                        return self.write_meta(&meta, None);
                    }
                }
            }
        }
        let snap = self.load()?;
        self.save_backup(&snap)
    }

    /// Replace a damaged database by the last good state in `backup.json`. The
    /// damaged database is kept beside it, renamed. Returns the restored state
    /// and where the damaged one went.
    pub fn recover(state_dir: &Path, workspace: &str, crypt: &Crypt) -> Result<(Snapshot, PathBuf)> {
        let crypt = &crypt.for_workspace(workspace);
        let dir = workspace_dir(state_dir, workspace)?;
        let backup = read_backup(&dir, crypt).map_err(|e| {
            StateError(format!("there is no usable backup in {} ({e}); nothing was changed", dir.display()))
        })?;
        // The damaged workspace is kept whole beside the new one.
        // Two recoveries within a second must not meet: a copy already kept
        // under this second's name is never overwritten.
        let stamp = format!(".damaged-{workspace}-{}", crate::now_rfc3339().replace(':', ""));
        let kept = (0..)
            .map(|n| dir.with_file_name(if n == 0 { stamp.clone() } else { format!("{stamp}.{n}") }))
            .find(|p| !p.exists())
            .expect("an unused name");
        std::fs::rename(&dir, &kept)
            .map_err(|e| StateError(format!("cannot move {} aside: {}", dir.display(), io_words(&e))))?;
        // With a key set, the copy holds no value in plain text.
        reseal_damaged(&kept, crypt)?;
        let (store, _) = SledStore::open(state_dir, workspace, crypt)?;
        let mut restored = backup.clone();
        restored.workspace = workspace.to_string();
        store.replace(&restored)?;
        store.save_backup(&restored)?;
        Ok((restored, kept))
    }

    fn commit_batch(&self, meta: &mut Meta, batch: sled::Batch, next: Meta) -> Result<u64> {
        // Say what is about to be committed, commit it, then say it was.
        self.write_meta(meta, Some(&next))?;
        self.db
            .apply_batch(batch)
            .map_err(|e| StateError(format!("cannot commit to the state: {}", sled_words(&e))))?;
        self.db.flush().map_err(|e| StateError(format!("cannot commit to the state: {}", sled_words(&e))))?;
        *meta = next;
        // The commit is durable now; a manifest not rewritten is settled on the next open.
        let _ = self.write_meta(meta, None);
        Ok(meta.serial)
    }
}

/// Store every file of a damaged copy (`.damaged-NAME-TIME`, kept by `state
/// recover`) as `crypt` stores values: sealed with its key, each file bound
/// to its path in the copy, or in plain text with no key. A copy sealed with
/// a key `crypt` does not read is left as it is (sealed).
pub fn reseal_damaged(copy: &Path, crypt: &Crypt) -> Result<()> {
    let mut stack = vec![copy.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else { continue };
        for e in entries.flatten() {
            let Ok(t) = e.file_type() else { continue };
            if t.is_dir() {
                stack.push(e.path());
                continue;
            }
            if !t.is_file() {
                continue;
            }
            let p = e.path();
            let slot = format!("damaged/{}", p.strip_prefix(copy).unwrap_or(&p).to_string_lossy());
            let stored =
                std::fs::read(&p).map_err(|e| StateError(format!("cannot read {}: {}", p.display(), io_words(&e))))?;
            let plain = if Crypt::is_sealed(&stored) {
                match crypt.open(&slot, &stored) {
                    Ok(plain) => plain,
                    Err(_) => continue,
                }
            } else {
                stored.clone()
            };
            let again = crypt.seal(&slot, plain);
            if again != stored {
                write_atomic(&p, &again)
                    .map_err(|e| StateError(format!("cannot write {}: {}", p.display(), io_words(&e))))?;
            }
        }
    }
    Ok(())
}

/// `reseal_damaged` for every damaged copy of the workspace at `dir`.
fn reseal_damaged_copies(dir: &Path, workspace: &str, crypt: &Crypt) -> Result<()> {
    let (Some(parent), prefix) = (dir.parent(), format!(".damaged-{workspace}-")) else { return Ok(()) };
    for e in std::fs::read_dir(parent).into_iter().flatten().flatten() {
        if e.file_name().to_string_lossy().starts_with(&prefix) && e.file_type().is_ok_and(|t| t.is_dir()) {
            reseal_damaged(&e.path(), crypt)?;
        }
    }
    Ok(())
}

fn poisoned<T>(_: T) -> StateError {
    StateError("the state store is unusable after an earlier failure".into())
}

/// Where `landform rollout abort NAME` asks the operation holding a sled
/// workspace's lock to abort the rollout: a file beside the state.
pub fn abort_request_file(workspace_dir: &Path, name: &str) -> PathBuf {
    workspace_dir.join(format!("rollout-abort-{name}"))
}

impl Storage for SledStore {
    fn take_abort_request(&self, name: &str) -> Option<String> {
        let path = abort_request_file(&self.dir, name);
        let at = std::fs::read_to_string(&path).ok()?;
        std::fs::remove_file(&path).ok()?;
        Some(at.trim().to_string())
    }

    /// The last good state in `backup.json`, which `state recover` restores.
    fn save_backup(&self, snap: &Snapshot) -> Result<()> {
        SledStore::save_backup(self, snap)
    }

    fn checkpoint(&self) -> Result<()> {
        SledStore::checkpoint(self)
    }

    fn load(&self) -> Result<Snapshot> {
        let read = read_db(&self.db, &self.name, &self.crypt)
            .map_err(|bad| bad.into_error(&self.dir, &self.name, &self.crypt))?;
        Ok(read.snap)
    }

    fn commit(&self, changes: &[Change]) -> Result<u64> {
        let mut meta = self.meta.lock().map_err(poisoned)?;
        let mut next = meta.clone();
        next.serial += 1;
        let mut batch = sled::Batch::default();
        // The value each key will have after this commit, for the digest.
        let mut after: HashMap<Vec<u8>, Option<Vec<u8>>> = HashMap::new();
        for c in changes {
            match c {
                Change::Put(rec) => {
                    after.insert(format!("r/{}", rec.addr).into_bytes(), Some(to_json(rec.as_ref())?));
                    after.insert(format!("p/{}", rec.addr).into_bytes(), None);
                }
                Change::Delete(addr) => {
                    after.insert(format!("r/{addr}").into_bytes(), None);
                    after.insert(format!("p/{addr}").into_bytes(), None);
                }
                Change::Intent(rec) => {
                    after.insert(format!("p/{}", rec.addr).into_bytes(), Some(to_json(rec.as_ref())?));
                }
                Change::ClearIntent(addr) => {
                    after.insert(format!("p/{addr}").into_bytes(), None);
                }
                Change::Depose(d) => {
                    after.insert(format!("r/{}", d.record.addr).into_bytes(), None);
                    let slot = Deposed::slot(&d.record.addr, &d.key);
                    after.insert(format!("d/{slot}").into_bytes(), Some(to_json(d.as_ref())?));
                }
                Change::DeleteDeposed { addr, key } => {
                    after.insert(format!("d/{}", Deposed::slot(addr, key)).into_bytes(), None);
                }
                Change::Rollout(name, rec) => {
                    let v = rec.as_ref().map(to_json).transpose()?;
                    after.insert(format!("w/{name}").into_bytes(), v);
                }
                Change::Outputs(outputs) => {
                    // Every output goes: those stored, and those set earlier in this commit.
                    for (k, v) in after.iter_mut() {
                        if k.starts_with(b"o/") {
                            *v = None;
                        }
                    }
                    for item in self.db.scan_prefix("o/") {
                        let (k, _) = item.map_err(|e| StateError(sled_words(&e)))?;
                        after.insert(k.to_vec(), None);
                    }
                    for (name, rec) in outputs {
                        after.insert(format!("o/{name}").into_bytes(), Some(to_json(rec)?));
                    }
                }
            }
        }
        if let Some(keys) = self.since_backup.lock().map_err(poisoned)?.as_mut() {
            keys.extend(after.keys().cloned());
        }
        for (k, v) in after {
            let v = v.map(|v| self.crypt.seal(&String::from_utf8_lossy(&k), v));
            let old = self.db.get(&k).map_err(|e| StateError(sled_words(&e)))?;
            if let Some(old) = &old {
                next.digest.toggle(&k, old);
            }
            match v {
                Some(v) => {
                    next.digest.toggle(&k, &v);
                    batch.insert(k, v);
                }
                None if old.is_some() => batch.remove(k),
                None => {}
            }
        }
        batch.insert("m/serial", next.serial.to_string().as_bytes());
        self.commit_batch(&mut meta, batch, next)
    }

    fn replace(&self, snapshot: &Snapshot) -> Result<()> {
        // A state pushed with no lineage gets one, as PostgreSQL's does.
        let named;
        let snapshot = if snapshot.lineage.is_empty() {
            named = Snapshot { lineage: crate::random_id(), ..snapshot.clone() };
            &named
        } else {
            snapshot
        };
        let mut meta = self.meta.lock().map_err(poisoned)?;
        *self.since_backup.lock().map_err(poisoned)? = None;
        let mut batch = sled::Batch::default();
        for item in self.db.iter() {
            let (k, _) = item.map_err(|e| StateError(sled_words(&e)))?;
            batch.remove(k);
        }
        let digest = fill_batch(&mut batch, snapshot, &self.crypt)?;
        let next = Meta {
            lineage: snapshot.lineage.clone(),
            serial: snapshot.serial,
            digest,
            backup_serial: meta.backup_serial,
        };
        self.commit_batch(&mut meta, batch, next).map(|_| ())
    }
}

impl Drop for SledStore {
    fn drop(&mut self) {
        let _ = self.db.flush();
        make_private(&self.dir);
    }
}

/// Every record of `snap`, sealed as `crypt` seals, with its lineage and
/// serial, into `batch`: the digest of the records.
fn fill_batch(batch: &mut sled::Batch, snap: &Snapshot, crypt: &Crypt) -> Result<SetDigest> {
    let mut entries = Vec::new();
    for rec in &snap.resources {
        entries.push((format!("r/{}", rec.addr), to_json(rec)?));
    }
    for (name, rec) in &snap.outputs {
        entries.push((format!("o/{name}"), to_json(rec)?));
    }
    for rec in &snap.pending {
        entries.push((format!("p/{}", rec.addr), to_json(rec)?));
    }
    for d in &snap.deposed {
        entries.push((format!("d/{}", Deposed::slot(&d.record.addr, &d.key)), to_json(d)?));
    }
    for (name, rec) in &snap.rollouts {
        entries.push((format!("w/{name}"), to_json(rec)?));
    }
    let mut digest = SetDigest::default();
    for (k, v) in entries {
        let v = crypt.seal(&k, v);
        digest.toggle(k.as_bytes(), &v);
        batch.insert(k.into_bytes(), v);
    }
    batch.insert("m/lineage", snap.lineage.as_bytes());
    batch.insert("m/serial", snap.serial.to_string().as_bytes());
    Ok(digest)
}

/// The database directory to read: `db`, or the rebuilt `db.new` when a crash
/// came between the two renames that swap it in.
fn live_db(dir: &Path) -> PathBuf {
    let (db, new) = (dir.join("db"), dir.join("db.new"));
    if !db.join("db").exists() && new.join("db").exists() {
        new
    } else {
        db
    }
}

/// Finish or undo a rebuild a crash interrupted: a complete `db.new` whose
/// `db` is gone is swapped in; a `db.new` beside a `db` is an unfinished
/// build; a `db.old` is the database a rebuild replaced. Either may hold
/// values as they were before the rebuild, so neither is kept.
fn settle_rebuild(dir: &Path) {
    let (db, new, old) = (dir.join("db"), dir.join("db.new"), dir.join("db.old"));
    if new.exists() {
        if !db.join("db").exists() && new.join("db").exists() {
            let _ = std::fs::remove_dir_all(&db);
            let _ = std::fs::rename(&new, &db);
        } else {
            let _ = std::fs::remove_dir_all(&new);
        }
    }
    if old.exists() && db.join("db").exists() {
        let _ = std::fs::remove_dir_all(&old);
    }
    sync_dir(dir);
}

/// Write `snap` into a new database, every record stored as `crypt` stores
/// it, and swap it in for the old one, which is deleted: sled keeps
/// overwritten values in its log, and a key turned on or changed must leave
/// none of them readable. The manifest names the new database as pending
/// before the swap, so that a crash at any point leaves one that matches.
fn rebuild(dir: &Path, snap: &Snapshot, crypt: &Crypt, m: &Manifest) -> Result<Manifest> {
    let (db_dir, new, old) = (dir.join("db"), dir.join("db.new"), dir.join("db.old"));
    let fail = |what: &str, e: String| {
        StateError(format!("cannot rewrite the state database in {}: {what}: {e}", dir.display()))
    };
    let _ = std::fs::remove_dir_all(&new);
    let db = open_db(&new).map_err(|e| fail("creating it", sled_words(&e)))?;
    let mut batch = sled::Batch::default();
    let digest = fill_batch(&mut batch, snap, crypt)?;
    db.apply_batch(batch).and_then(|_| db.flush().map(|_| ())).map_err(|e| fail("writing it", sled_words(&e)))?;
    drop(db);
    make_private(&new);
    let point = Point { lineage: snap.lineage.clone(), serial: snap.serial, digest: digest.hex() };
    write_manifest(dir, &Manifest { pending: Some(point), ..m.clone() })?;
    std::fs::rename(&db_dir, &old).map_err(|e| fail("moving the old one aside", io_words(&e)))?;
    std::fs::rename(&new, &db_dir).map_err(|e| fail("moving the new one into place", io_words(&e)))?;
    sync_dir(dir);
    let settled = Manifest {
        lineage: snap.lineage.clone(),
        serial: snap.serial,
        digest: digest.hex(),
        pending: None,
        ..m.clone()
    };
    write_manifest(dir, &settled)?;
    let _ = std::fs::remove_dir_all(&old);
    // The backup holds every value too: sealed again, or removed when it
    // cannot be read with the keys given.
    let backup = dir.join("backup.json");
    if backup.exists() {
        match read_backup(dir, crypt) {
            Ok(b) => {
                let bytes = crypt.seal("backup.json", to_json(&b)?);
                write_atomic(&backup, &bytes)
                    .map_err(|e| StateError(format!("cannot write the state backup: {}", io_words(&e))))?;
                // Its log is in `backup.json` now, and may hold values sealed as they were.
                let _ = std::fs::remove_file(dir.join(backup::LOG));
            }
            Err(_) => {
                let _ = std::fs::remove_file(&backup);
                let _ = std::fs::remove_file(dir.join(backup::LOG));
            }
        }
    }
    sync_dir(dir);
    Ok(settled)
}

fn to_json<T: Serialize>(v: &T) -> Result<Vec<u8>> {
    serde_json::to_vec(v).map_err(|e| StateError(e.to_string()))
}

/// The state of `workspace` in a database of the first layout (one sled
/// database at `STATE_DIR/db`, a tree per workspace), if it has any.
fn legacy_snapshot(state_dir: &Path, workspace: &str) -> Option<Snapshot> {
    let path = state_dir.join("db");
    if !path.join("db").exists() {
        return None;
    }
    let db = open_db(&path).ok()?;
    let tree = db.open_tree(format!("ws:{workspace}")).ok()?;
    let meta = |k: &str| tree.get(k).ok().flatten().map(|v| String::from_utf8_lossy(&v).into_owned());
    let mut resources = Vec::new();
    for item in tree.scan_prefix("r/") {
        resources.push(serde_json::from_slice(&item.ok()?.1).ok()?);
    }
    let mut outputs = BTreeMap::new();
    for item in tree.scan_prefix("o/") {
        let (k, v) = item.ok()?;
        outputs.insert(String::from_utf8_lossy(&k[2..]).into_owned(), serde_json::from_slice(&v).ok()?);
    }
    if resources.is_empty() && outputs.is_empty() {
        return None;
    }
    Some(Snapshot {
        format_version: FORMAT_VERSION,
        lineage: meta("m/lineage").unwrap_or_default(),
        serial: meta("m/serial").and_then(|s| s.parse().ok()).unwrap_or(0),
        workspace: workspace.to_string(),
        resources,
        outputs,
        pending: Vec::new(),
        rollouts: BTreeMap::new(),
        deposed: Vec::new(),
    })
}

mod backup;
#[cfg(test)]
mod tests;
