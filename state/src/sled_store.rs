//! The default backend: a sled 0.34 database. One tree per workspace, keys
//! prefixed `r/` (resources), `o/` (outputs) and `m/` (metadata), so that one
//! batch commits records and the new serial together.

use crate::{Change, OutputRecord, ResourceRecord, Result, Snapshot, StateError, Storage, FORMAT_VERSION};
use std::path::Path;

pub struct SledBackend {
    db: sled::Db,
}

pub struct SledWorkspace {
    db: sled::Db,
    tree: sled::Tree,
    name: String,
}

fn err(e: impl std::fmt::Display) -> StateError {
    StateError(e.to_string())
}

impl SledBackend {
    /// Open (or create, mode 0700) the database in `dir`.
    pub fn open(dir: &Path) -> Result<SledBackend> {
        std::fs::create_dir_all(dir).map_err(|e| err(format!("cannot create {}: {e}", dir.display())))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let _ = std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700));
        }
        let db = sled::Config::new()
            .path(dir.join("db"))
            .mode(sled::Mode::HighThroughput)
            // The state is small; sled's default 1 GB page cache would only hold memory.
            .cache_capacity(16 * 1024 * 1024)
            .open()
            .map_err(|e| err(format!("cannot open the state database in {}: {e}", dir.display())))?;
        Ok(SledBackend { db })
    }

    pub fn workspace(&self, name: &str) -> Result<SledWorkspace> {
        let tree = self.db.open_tree(format!("ws:{name}")).map_err(err)?;
        Ok(SledWorkspace { db: self.db.clone(), tree, name: name.to_string() })
    }

    /// The workspaces that have any state.
    pub fn workspaces(&self) -> Vec<String> {
        self.db
            .tree_names()
            .iter()
            .filter_map(|n| std::str::from_utf8(n).ok()?.strip_prefix("ws:").map(str::to_string))
            .collect()
    }
}

impl SledWorkspace {
    fn meta(&self, key: &str) -> Result<Option<String>> {
        Ok(self.tree.get(format!("m/{key}")).map_err(err)?.map(|v| String::from_utf8_lossy(&v).into_owned()))
    }

    fn serial(&self) -> Result<u64> {
        Ok(self.meta("serial")?.and_then(|s| s.parse().ok()).unwrap_or(0))
    }

    /// The lineage, created on first use.
    fn lineage(&self) -> Result<String> {
        if let Some(l) = self.meta("lineage")? {
            return Ok(l);
        }
        let l = crate::random_id();
        self.tree.insert("m/lineage", l.as_bytes()).map_err(err)?;
        self.db.flush().map_err(err)?;
        Ok(l)
    }
}

impl Storage for SledWorkspace {
    fn load(&self) -> Result<Snapshot> {
        let mut resources = Vec::new();
        for item in self.tree.scan_prefix("r/") {
            let (_, v) = item.map_err(err)?;
            let rec: ResourceRecord =
                serde_json::from_slice(&v).map_err(|e| err(format!("a state record is damaged: {e}")))?;
            resources.push(rec);
        }
        let mut outputs = std::collections::BTreeMap::new();
        for item in self.tree.scan_prefix("o/") {
            let (k, v) = item.map_err(err)?;
            let name = String::from_utf8_lossy(&k[2..]).into_owned();
            let rec: OutputRecord = serde_json::from_slice(&v).map_err(err)?;
            outputs.insert(name, rec);
        }
        Ok(Snapshot {
            format_version: FORMAT_VERSION,
            lineage: self.lineage()?,
            serial: self.serial()?,
            workspace: self.name.clone(),
            resources,
            outputs,
        })
    }

    fn commit(&self, changes: &[Change]) -> Result<u64> {
        let serial = self.serial()? + 1;
        let mut batch = sled::Batch::default();
        for c in changes {
            match c {
                Change::Put(rec) => {
                    let v = serde_json::to_vec(rec).map_err(err)?;
                    batch.insert(format!("r/{}", rec.addr).into_bytes(), v);
                }
                Change::Delete(addr) => batch.remove(format!("r/{addr}").into_bytes()),
                Change::Outputs(outputs) => {
                    for item in self.tree.scan_prefix("o/") {
                        let (k, _) = item.map_err(err)?;
                        batch.remove(k);
                    }
                    for (name, rec) in outputs.iter() {
                        batch.insert(format!("o/{name}").into_bytes(), serde_json::to_vec(&rec).map_err(err)?);
                    }
                }
            }
        }
        batch.insert("m/serial", serial.to_string().as_bytes());
        self.tree.apply_batch(batch).map_err(err)?;
        self.db.flush().map_err(err)?;
        Ok(serial)
    }

    fn replace(&self, snapshot: &Snapshot) -> Result<()> {
        let mut batch = sled::Batch::default();
        for item in self.tree.iter() {
            let (k, _) = item.map_err(err)?;
            batch.remove(k);
        }
        for rec in &snapshot.resources {
            batch.insert(format!("r/{}", rec.addr).into_bytes(), serde_json::to_vec(rec).map_err(err)?);
        }
        for (name, rec) in &snapshot.outputs {
            batch.insert(format!("o/{name}").into_bytes(), serde_json::to_vec(rec).map_err(err)?);
        }
        batch.insert("m/lineage", snapshot.lineage.as_bytes());
        batch.insert("m/serial", snapshot.serial.to_string().as_bytes());
        self.tree.apply_batch(batch).map_err(err)?;
        self.db.flush().map_err(err)?;
        Ok(())
    }
}
