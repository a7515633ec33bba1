//! State: what Landform believes the world is. Small traits (`Storage` to read
//! and commit, `Locker` to serialize operations) so that the sled backend and
//! a PostgreSQL one can sit side by side without the engine knowing which.
//!
//! **Invariant:** a commit is atomic and durable before it returns: a crash
//! loses nothing that was committed and never leaves half a change.

pub mod crypt;
pub mod files;
mod lock;
pub mod mem;
mod pg_store;
mod sled_store;
mod time;

pub use crypt::{Crypt, StateKey};
pub use lock::{release_all_held, FileLocker, LockGuard, LockInfo, DAMAGED_LOCK_ID};
pub use mem::{MemBackend, MemLocker, MemStorage};
pub use pg_store::{PgLock, PgLocker, PgStore, PgTarget};
pub use sled_store::{abort_request_file, read_snapshot, workspace_dir, workspaces, SledStore};
pub use time::now_rfc3339;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// One resource instance as last applied.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct ResourceRecord {
    /// The full address: `module.net.local_file.page["a"]`.
    pub addr: String,
    /// `managed` or `data`.
    pub mode: String,
    #[serde(rename = "type")]
    pub type_name: String,
    pub name: String,
    /// The module path, `""` for the root, else `module.a.module.b`.
    #[serde(default)]
    pub module: String,
    /// `null`, a count index, or a for_each key.
    #[serde(default)]
    pub index_key: Value,
    pub provider: String,
    #[serde(default)]
    pub schema_version: u64,
    pub attributes: Map<String, Value>,
    /// Attribute names whose values are never shown.
    #[serde(default)]
    pub sensitive_attributes: Vec<String>,
    /// Addresses of the resources (config level) this one depends on.
    #[serde(default)]
    pub dependencies: Vec<String>,
    #[serde(default)]
    pub create_before_destroy: bool,
    /// The provider's private data about the object (Terraform's `private`),
    /// opaque to Landform: handed back to the provider with the object.
    /// Stored as base64, as Terraform's state stores it.
    #[serde(default, skip_serializing_if = "Vec::is_empty", with = "private_data")]
    pub private: Vec<u8>,
}

/// `ResourceRecord::private` as a base64 string.
mod private_data {
    use base64::Engine as _;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&base64::engine::general_purpose::STANDARD.encode(bytes))
    }

    /// Terraform writes none as an absent field; null is taken as none too.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let text = Option::<String>::deserialize(d)?.unwrap_or_default();
        base64::engine::general_purpose::STANDARD
            .decode(text.as_bytes())
            .map_err(|e| serde::de::Error::custom(format!("private is not base64: {e}")))
    }
}

/// An object replaced by a newer one at the same address and not yet
/// destroyed: the old object of a `create_before_destroy` replacement from
/// the moment its successor starts being created. An apply that stops in
/// between leaves it here, and the next plan destroys it.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Deposed {
    /// Eight hex digits telling it from the instance's other deposed objects.
    pub key: String,
    pub record: ResourceRecord,
}

impl Deposed {
    /// A new deposed key, as Terraform makes them (`1a2b3c4d`).
    pub fn new_key() -> String {
        random_id()[..8].to_string()
    }
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct OutputRecord {
    pub value: Value,
    #[serde(default)]
    pub sensitive: bool,
}

/// The whole state of one workspace, as `state pull` prints it.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Snapshot {
    pub format_version: u32,
    pub lineage: String,
    pub serial: u64,
    pub workspace: String,
    pub resources: Vec<ResourceRecord>,
    pub outputs: BTreeMap<String, OutputRecord>,
    /// Objects an apply started to create and stopped before it could save
    /// the result (a crash, a kill): their planned configuration. The next
    /// plan looks for each in the real world, adopts it or creates it again.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pending: Vec<ResourceRecord>,
    /// Each rollout's progress by name: its phase, step, weights, last
    /// analysis values and why it stopped (the engine's `RolloutRecord`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub rollouts: BTreeMap<String, Value>,
    /// Old objects replaced by newer ones and not yet destroyed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub deposed: Vec<Deposed>,
}

pub const FORMAT_VERSION: u32 = 1;

impl Snapshot {
    /// The state of a workspace that has none yet.
    pub fn empty(workspace: &str) -> Snapshot {
        Snapshot {
            format_version: FORMAT_VERSION,
            lineage: String::new(),
            serial: 0,
            workspace: workspace.to_string(),
            resources: Vec::new(),
            outputs: BTreeMap::new(),
            pending: Vec::new(),
            rollouts: BTreeMap::new(),
            deposed: Vec::new(),
        }
    }

    /// Apply changes in order, as a commit of them would.
    pub fn apply(&mut self, changes: &[Change]) {
        for c in changes {
            match c {
                Change::Put(rec) => {
                    self.resources.retain(|r| r.addr != rec.addr);
                    self.pending.retain(|r| r.addr != rec.addr);
                    self.resources.push((**rec).clone());
                }
                Change::Delete(addr) => {
                    self.resources.retain(|r| &r.addr != addr);
                    self.pending.retain(|r| &r.addr != addr);
                }
                Change::Outputs(o) => self.outputs = o.clone(),
                Change::Intent(rec) => {
                    self.pending.retain(|r| r.addr != rec.addr);
                    self.pending.push((**rec).clone());
                }
                Change::ClearIntent(addr) => self.pending.retain(|r| &r.addr != addr),
                Change::Rollout(name, Some(v)) => {
                    self.rollouts.insert(name.clone(), v.clone());
                }
                Change::Rollout(name, None) => {
                    self.rollouts.remove(name);
                }
                Change::Depose(d) => {
                    self.resources.retain(|r| r.addr != d.record.addr);
                    self.deposed.retain(|x| !(x.record.addr == d.record.addr && x.key == d.key));
                    self.deposed.push((**d).clone());
                }
                Change::DeleteDeposed { addr, key } => {
                    self.deposed.retain(|x| !(&x.record.addr == addr && &x.key == key));
                }
            }
        }
    }
}

/// One change in a commit.
#[derive(Clone, Debug)]
pub enum Change {
    Put(Box<ResourceRecord>),
    Delete(String),
    /// Replace all outputs.
    Outputs(BTreeMap<String, OutputRecord>),
    /// About to create this object: recorded before the provider is called.
    /// A `Put` or `Delete` of the same address clears it.
    Intent(Box<ResourceRecord>),
    /// The creation recorded by an `Intent` did not happen, or was settled.
    ClearIntent(String),
    /// A rollout's progress record by name, or `None` to forget it.
    Rollout(String, Option<Value>),
    /// The instance's current object becomes this deposed object: its record
    /// leaves the instance (before its replacement is created).
    Depose(Box<Deposed>),
    /// A deposed object was destroyed (or found to be the current one).
    DeleteDeposed {
        addr: String,
        key: String,
    },
}

impl Deposed {
    /// The slot a store keeps it under, after its kind: `KEY/ADDR`. The key
    /// has a fixed length, so the address may hold any character.
    pub fn slot(addr: &str, key: &str) -> String {
        format!("{key}/{addr}")
    }
}

#[derive(Debug)]
pub struct StateError(pub String);

impl std::fmt::Display for StateError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for StateError {}

pub type Result<T> = std::result::Result<T, StateError>;

/// Reading and committing one workspace's state.
pub trait Storage: Send + Sync {
    fn load(&self) -> Result<Snapshot>;
    /// Apply changes atomically and durably; returns the new serial.
    fn commit(&self, changes: &[Change]) -> Result<u64>;
    /// Replace the whole state (for `state push`), keeping nothing of the old.
    fn replace(&self, snapshot: &Snapshot) -> Result<()>;
    /// Keep `snap` as the last good state where the backend needs one beside
    /// it (sled: a file it can be restored from); a database that keeps its
    /// own durable copies needs none.
    fn save_backup(&self, snap: &Snapshot) -> Result<()> {
        let _ = snap;
        Ok(())
    }
    /// Keep the state as committed now as the last good one, at a cost that
    /// follows what changed since the last one kept (sled: a frame appended
    /// to its backup log); a database that keeps its own durable copies
    /// needs none.
    fn checkpoint(&self) -> Result<()> {
        Ok(())
    }
    /// Take (consume) a request that `landform rollout abort`, run by another
    /// process or on another machine, left for the operation holding the lock.
    /// When it was made (RFC 3339), if there was one.
    fn take_abort_request(&self, name: &str) -> Option<String> {
        let _ = name;
        None
    }
}

/// Serializing operations on one workspace.
pub trait Locker {
    /// Take the lock, waiting up to `timeout`; on failure, say who holds it.
    fn lock(&self, operation: &str, timeout: std::time::Duration) -> std::result::Result<LockGuard, LockError>;
    /// Remove a lock left behind, if its ID matches.
    fn force_unlock(&self, id: &str) -> Result<()>;
}

#[derive(Debug)]
pub enum LockError {
    Held(Box<LockInfo>),
    Io(String),
}

impl std::fmt::Display for LockError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LockError::Held(info) if info.id == lock::DAMAGED_LOCK_ID => write!(
                f,
                "the state of workspace \"{}\" is locked by a lock file that is empty or damaged (left by a crash or a full disk).\n\nIf no other operation is running, remove it with: landform force-unlock {}",
                info.workspace,
                lock::DAMAGED_LOCK_ID
            ),
            LockError::Held(info) if info.is_stale() => write!(
                f,
                "the state is locked by pid {}, which is no longer running (lock ID {}, taken by {} for {} at {}).\n\nThe operation that took it crashed. Remove the lock with: landform force-unlock {}",
                info.pid, info.id, info.who, info.operation, info.created, info.id
            ),
            LockError::Held(info) => write!(
                f,
                "the state is locked by another operation.\n\nLock Info:\n  ID:        {}\n  Operation: {}\n  Who:       {}\n  PID:       {}\n  Created:   {}\n  Workspace: {}\n\nLandform takes a lock so that two operations never change the state at once. Wait for the other operation to finish, retry with --lock-timeout 30s, or, if no operation is running (it crashed), remove the lock with: landform force-unlock {}",
                info.id, info.operation, info.who, info.pid, info.created, info.workspace, info.id
            ),
            LockError::Io(e) => write!(f, "cannot take the state lock: {e}"),
        }
    }
}

/// A random identifier (UUID v4 form) from the system's random source.
pub fn random_id() -> String {
    use std::io::Read;
    let mut b = [0u8; 16];
    if std::fs::File::open("/dev/urandom").and_then(|mut f| f.read_exact(&mut b)).is_err() {
        let t = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
        b = (t ^ u128::from(std::process::id())).to_le_bytes();
    }
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!("{}-{}-4{}-a{}-{}", &h[0..8], &h[8..12], &h[13..16], &h[17..20], &h[20..32])
}
