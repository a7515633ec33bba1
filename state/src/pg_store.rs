//! The team backend: the state in PostgreSQL, one row per record, so that
//! several machines share one state and one lock.
//!
//! Schema (created on first use, versioned in `meta`; migrations only add):
//! `workspaces(name, lineage, serial)`, `records(workspace, kind, key,
//! value)` with kind `r` (resources), `p` (creations under way), `o`
//! (outputs), `w` (rollouts' progress) and the record's JSON as text (kept
//! byte for byte, unlike jsonb), `locks(workspace, …)` saying who holds the
//! lock. A commit is one transaction that bumps the serial.
//!
//! The lock is a session-level advisory lock held by a connection of its own
//! for as long as the operation runs: when the holder dies, PostgreSQL ends
//! its session and the lock with it; the `locks` row says who holds it.
//!
//! tokio-postgres is async and the storage traits are not: the store owns a
//! small runtime and drives each call to completion on it (inside another
//! runtime's worker, through `block_in_place`, as the aws provider does).

use crate::crypt::{Crypt, OpenError};
use crate::{
    Change, Deposed, LockError, LockInfo, OutputRecord, ResourceRecord, Result, Snapshot, StateError, Storage,
    FORMAT_VERSION,
};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};
use tokio_postgres::{Client, NoTls};

/// The schema version this build writes; older ones are migrated on open.
/// 1: meta, workspaces, records, locks. 2: requests (rollout aborts).
const SCHEMA_VERSION: i64 = 2;

fn words(e: &tokio_postgres::Error) -> String {
    // The server's own message when it sent one; never the connection string.
    match e.as_db_error() {
        Some(db) => format!("{} ({})", db.message(), db.code().code()),
        None => {
            let mut out = e.to_string();
            let mut cause = std::error::Error::source(e);
            while let Some(c) = cause {
                let t = c.to_string();
                if !out.contains(&t) {
                    out.push_str(": ");
                    out.push_str(&t);
                }
                cause = c.source();
            }
            out
        }
    }
}

fn err(what: &str) -> impl Fn(tokio_postgres::Error) -> StateError + '_ {
    move |e| StateError(format!("{what}: {}", words(&e)))
}

/// A quoted SQL identifier.
fn ident(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

/// A runtime of one worker that keeps the connections' tasks running.
fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("landform-pg")
        .enable_all()
        .build()
        .map_err(|e| StateError(format!("cannot start the PostgreSQL client: {e}")))
}

fn run<F: std::future::Future>(rt: &tokio::runtime::Runtime, f: F) -> F::Output {
    if tokio::runtime::Handle::try_current().is_ok() {
        tokio::task::block_in_place(|| rt.block_on(f))
    } else {
        rt.block_on(f)
    }
}

/// TLS for `sslmode=prefer`, `require` (and verify-ca, verify-full): the
/// server's certificate is always verified, against `sslrootcert=FILE` when
/// given, else the system's roots. Without sslmode, or with `disable`, no TLS.
fn tls(target: &PgTarget) -> Result<Option<tokio_postgres_rustls::MakeRustlsConnect>> {
    if !target.tls {
        return Ok(None);
    }
    let mut roots = rustls::RootCertStore::empty();
    match &target.root_cert {
        Some(path) => {
            use rustls::pki_types::pem::PemObject;
            let certs = rustls::pki_types::CertificateDer::pem_file_iter(path)
                .and_then(|i| i.collect::<std::result::Result<Vec<_>, _>>())
                .map_err(|e| StateError(format!("cannot read sslrootcert {path}: {e}")))?;
            for c in certs {
                roots.add(c).map_err(|e| StateError(format!("sslrootcert {path}: {e}")))?;
            }
        }
        None => {
            for c in rustls_native_certs::load_native_certs().certs {
                let _ = roots.add(c);
            }
        }
    }
    let config = rustls::ClientConfig::builder().with_root_certificates(roots).with_no_client_auth();
    Ok(Some(tokio_postgres_rustls::MakeRustlsConnect::new(config)))
}

async fn connect(rt: &tokio::runtime::Handle, target: &PgTarget) -> Result<Client> {
    let fail = |e: tokio_postgres::Error| StateError(format!("cannot connect to the PostgreSQL state: {}", words(&e)));
    let client = match tls(target)? {
        Some(tls) => {
            let (client, conn) = tokio_postgres::connect(&target.url, tls).await.map_err(fail)?;
            rt.spawn(async move {
                let _ = conn.await;
            });
            client
        }
        None => {
            let (client, conn) = tokio_postgres::connect(&target.url, NoTls).await.map_err(fail)?;
            rt.spawn(async move {
                let _ = conn.await;
            });
            client
        }
    };
    // An operation's sessions are idle while providers work: a server's
    // idle_session_timeout must not end them (and the lock with them).
    // Servers before 14 do not know the setting, and need nothing.
    let _ = client.batch_execute("SET idle_session_timeout = 0").await;
    Ok(client)
}

/// Create or migrate the schema: tables are only ever added.
fn migrate(rt: &tokio::runtime::Runtime, client: &Client, schema: &str) -> Result<()> {
    let s = ident(schema);
    let sql = format!(
            "CREATE SCHEMA IF NOT EXISTS {s};
             CREATE TABLE IF NOT EXISTS {s}.meta (key text PRIMARY KEY, value text NOT NULL);
             CREATE TABLE IF NOT EXISTS {s}.workspaces (name text PRIMARY KEY, lineage text NOT NULL, serial bigint NOT NULL);
             CREATE TABLE IF NOT EXISTS {s}.records (
                 workspace text NOT NULL, kind text NOT NULL, key text NOT NULL, value text NOT NULL,
                 PRIMARY KEY (workspace, kind, key));
             CREATE TABLE IF NOT EXISTS {s}.locks (
                 workspace text PRIMARY KEY, id text NOT NULL, operation text NOT NULL, who text NOT NULL,
                 pid integer NOT NULL, created text NOT NULL, backend_pid integer NOT NULL);
             CREATE TABLE IF NOT EXISTS {s}.requests (
                 workspace text NOT NULL, rollout text NOT NULL, kind text NOT NULL, who text NOT NULL, at text NOT NULL,
                 PRIMARY KEY (workspace, rollout, kind));"
        );
    run(rt, async {
            // Two first uses at once: one creates, the other waits for it.
            client.execute("SELECT pg_advisory_lock(7331)", &[]).await?;
            let out = client.batch_execute(&sql).await;
            let version = match out {
                Ok(()) => {
                    let row = client
                        .query_opt(&format!("SELECT value FROM {s}.meta WHERE key = 'schema_version'"), &[])
                        .await?;
                    row.and_then(|r| r.get::<_, String>(0).parse::<i64>().ok())
                }
                Err(e) => {
                    client.execute("SELECT pg_advisory_unlock(7331)", &[]).await?;
                    return Err(e);
                }
            };
            match version {
                None => {
                    client
                        .execute(
                            &format!("INSERT INTO {s}.meta (key, value) VALUES ('schema_version', $1) ON CONFLICT (key) DO NOTHING"),
                            &[&SCHEMA_VERSION.to_string()],
                        )
                        .await?;
                }
                // Older: the tables it lacked were added above; nothing is ever dropped.
                Some(v) if v < SCHEMA_VERSION => {
                    client
                        .execute(
                            &format!("UPDATE {s}.meta SET value = $1 WHERE key = 'schema_version'"),
                            &[&SCHEMA_VERSION.to_string()],
                        )
                        .await?;
                }
                Some(_) => {}
            }
            client.execute("SELECT pg_advisory_unlock(7331)", &[]).await?;
            Ok(version)
        })
        .map_err(err("cannot prepare the PostgreSQL state's tables"))
        .and_then(|v| match v {
            Some(v) if v > SCHEMA_VERSION => Err(StateError(format!(
                "the PostgreSQL state's schema is version {v}, made by a newer Landform; this one knows version {SCHEMA_VERSION}: upgrade Landform"
            ))),
            _ => Ok(()),
        })
}

/// Where a PostgreSQL state is: the URL and the schema that holds its tables.
#[derive(Clone, Debug)]
pub struct PgTarget {
    pub url: String,
    pub schema: String,
    /// `sslmode=require`, `verify-ca` or `verify-full`: TLS, the server verified.
    pub tls: bool,
    /// `sslrootcert=FILE`: the CA that signed the server's certificate.
    pub root_cert: Option<String>,
}

/// PostgreSQL keeps this many bytes of a name and silently drops the rest.
const MAX_IDENTIFIER: usize = 63;

impl PgTarget {
    /// From `postgres://…` (or `postgresql://…`); `?schema=NAME` (default
    /// `landform`) is Landform's and taken off before connecting. A
    /// parameter given twice is an error: which one wins must never be
    /// guessed (`sslmode=require&sslmode=disable` would be plain text).
    pub fn parse(url: &str) -> Result<PgTarget> {
        if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
            return Err(StateError("a backend URL starts with postgres:// (postgres://USER@HOST:PORT/DB)".into()));
        }
        let (base, query) = url.split_once('?').unwrap_or((url, ""));
        let mut schema = "landform".to_string();
        let (mut tls, mut root_cert) = (false, None);
        let mut rest = Vec::new();
        let mut seen = std::collections::BTreeSet::new();
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let name = pair.split_once('=').map_or(pair, |(k, _)| k);
            if !seen.insert(name) {
                return Err(StateError(format!(
                    "the backend URL gives {name} more than once: give it once (which one would count cannot be guessed)"
                )));
            }
            match pair.split_once('=') {
                Some(("schema", v)) if !v.is_empty() => schema = v.to_string(),
                Some(("sslrootcert", v)) if !v.is_empty() => root_cert = Some(v.to_string()),
                // tokio-postgres knows require; verify-ca and verify-full are what it does with TLS here.
                Some(("sslmode", "require" | "verify-ca" | "verify-full")) => {
                    tls = true;
                    rest.push("sslmode=require");
                }
                // As psql: TLS first when the server offers it, plain text only when it does not.
                Some(("sslmode", "prefer" | "allow")) => {
                    tls = true;
                    rest.push("sslmode=prefer");
                }
                Some(("sslmode", "disable")) => rest.push("sslmode=disable"),
                Some(("sslmode", other)) => {
                    return Err(StateError(format!(
                        "the backend URL's sslmode={other} is not one of disable, allow, prefer, require, verify-ca, verify-full"
                    )))
                }
                _ => rest.push(pair),
            }
        }
        let url = if rest.is_empty() { base.to_string() } else { format!("{base}?{}", rest.join("&")) };
        PgTarget { url, schema: String::new(), tls, root_cert }.with_schema(&schema)
    }

    /// This target with its tables in `schema`, which PostgreSQL must be able
    /// to hold whole: a longer name would be cut to 63 bytes, and two names
    /// that share those would share one state.
    pub fn with_schema(mut self, schema: &str) -> Result<PgTarget> {
        if schema.is_empty() || schema.len() > MAX_IDENTIFIER || schema.contains('\0') {
            return Err(StateError(format!(
                "the schema name \"{}\" is {} bytes long: PostgreSQL keeps only the first {MAX_IDENTIFIER} bytes of a name, so two longer names could share one state; choose a name of 1 to {MAX_IDENTIFIER} bytes",
                schema.chars().take(80).collect::<String>(),
                schema.len()
            )));
        }
        self.schema = schema.to_string();
        Ok(self)
    }
}

pub struct PgStore {
    rt: tokio::runtime::Runtime,
    client: tokio::sync::Mutex<Client>,
    schema: String,
    workspace: String,
    crypt: Crypt,
    /// The ID of the lock this store writes under: each write first checks,
    /// in its transaction, that the lock is still held.
    lock_id: Option<String>,
}

impl PgStore {
    /// Connect, create or migrate the schema, and read the workspace's state
    /// (an empty one, with a new lineage, when it has none yet).
    pub fn open(target: &PgTarget, workspace: &str, crypt: &Crypt) -> Result<(PgStore, Snapshot)> {
        let rt = runtime()?;
        let client = run(&rt, connect(rt.handle(), target))?;
        migrate(&rt, &client, &target.schema)?;
        let store = PgStore {
            rt,
            client: tokio::sync::Mutex::new(client),
            schema: target.schema.clone(),
            workspace: workspace.to_string(),
            crypt: crypt.for_workspace(workspace),
            lock_id: None,
        };
        let snap = store.load()?;
        Ok((store, snap))
    }

    /// `open` for an operation that holds the workspace's lock: records not
    /// stored as `crypt` stores them (encryption turned on, off, or to another
    /// key) are written again first, in one transaction.
    /// Every write checks first that `lock` is still held (its session may
    /// have been ended: a restart, a network cut, force-unlock) and stops,
    /// saying so, when it is not.
    pub fn open_locked(
        target: &PgTarget,
        workspace: &str,
        crypt: &Crypt,
        lock: &PgLock,
    ) -> Result<(PgStore, Snapshot)> {
        PgStore::open_under(target, workspace, crypt, &lock.info)
    }

    /// `open_locked` for the lock `lock` describes (taken by `PgLock::take`
    /// or through `PgLocker`).
    pub fn open_under(
        target: &PgTarget,
        workspace: &str,
        crypt: &Crypt,
        lock: &LockInfo,
    ) -> Result<(PgStore, Snapshot)> {
        let (mut store, mut snap) = PgStore::open(target, workspace, crypt)?;
        store.lock_id = Some(lock.id.clone());
        if snap.lineage.is_empty() {
            // A workspace no commit has made yet gets its lineage now, as
            // sled's does when it is created: a plan made before the first
            // commit names the lineage the commits keep.
            PgStore::create_workspace(target, workspace)?;
            snap = store.load()?;
        }
        if store.stale_records()? > 0 {
            store.replace(&snap)?;
        }
        Ok((store, snap))
    }

    /// Ask the operation that holds this workspace's lock (on any machine) to
    /// abort rollout `name` at its next check: a row it takes.
    pub fn request_abort(target: &PgTarget, workspace: &str, name: &str, who: &str) -> Result<()> {
        Self::request(target, |s| {
            (
                format!(
                    "INSERT INTO {s}.requests (workspace, rollout, kind, who, at) VALUES ($1, $2, 'abort', $3, $4)
                     ON CONFLICT (workspace, rollout, kind) DO UPDATE SET who = EXCLUDED.who, at = EXCLUDED.at"
                ),
                vec![workspace.to_string(), name.to_string(), who.to_string(), crate::now_rfc3339()],
            )
        })
    }

    /// Withdraw an abort request (it was acted on, or nobody was running the rollout).
    pub fn clear_abort(target: &PgTarget, workspace: &str, name: &str) -> Result<()> {
        Self::request(target, |s| {
            (
                format!("DELETE FROM {s}.requests WHERE workspace = $1 AND rollout = $2 AND kind = 'abort'"),
                vec![workspace.to_string(), name.to_string()],
            )
        })
    }

    fn request(target: &PgTarget, sql: impl FnOnce(&str) -> (String, Vec<String>)) -> Result<()> {
        let rt = runtime()?;
        let client = run(&rt, connect(rt.handle(), target))?;
        migrate(&rt, &client, &target.schema)?;
        let (sql, args) = sql(&ident(&target.schema));
        let params: Vec<&(dyn tokio_postgres::types::ToSql + Sync)> =
            args.iter().map(|a| a as &(dyn tokio_postgres::types::ToSql + Sync)).collect();
        run(&rt, async { client.execute(&sql, &params).await })
            .map(|_| ())
            .map_err(err("cannot leave the request in the PostgreSQL state"))
    }

    /// How many records are not stored as the key in use would store them.
    fn stale_records(&self) -> Result<i64> {
        let records = self.t("records");
        let (sql, pattern) = match self.crypt.key_id() {
            Some(id) => (
                format!("SELECT count(*) FROM {records} WHERE workspace = $1 AND value NOT LIKE $2"),
                format!("{}{id}:%", crate::crypt::PREFIX),
            ),
            None => (
                format!("SELECT count(*) FROM {records} WHERE workspace = $1 AND value LIKE $2"),
                "lfenc_:%".to_string(),
            ),
        };
        run(&self.rt, async {
            let client = self.client.lock().await;
            client.query_one(&sql, &[&self.workspace, &pattern]).await.map(|r| r.get::<_, i64>(0))
        })
        .map_err(err("cannot read the PostgreSQL state"))
    }

    /// A record's JSON as stored: sealed for its slot when a key is set.
    fn seal(&self, kind: &str, key: &str, json: String) -> String {
        let sealed = self.crypt.seal(&format!("{kind}/{key}"), json.into_bytes());
        String::from_utf8(sealed).unwrap_or_default()
    }

    /// Is this store's lock still held by its session? Called first in a
    /// write's transaction: the lock's row is locked until the write commits,
    /// so another operation cannot take the lock over in between.
    async fn still_locked(
        &self,
        tx: &tokio_postgres::Transaction<'_>,
    ) -> std::result::Result<bool, tokio_postgres::Error> {
        let Some(id) = &self.lock_id else { return Ok(true) };
        let locks = self.t("locks");
        let holder = tx
            .query_opt(
                &format!("SELECT backend_pid FROM {locks} WHERE workspace = $1 AND id = $2 FOR UPDATE"),
                &[&self.workspace, id],
            )
            .await?;
        let Some(row) = holder else { return Ok(false) };
        let pid: i32 = row.get(0);
        tx.query_one(
            "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted AND pid = $1)",
            &[&pid],
        )
        .await
        .map(|r| r.get(0))
    }

    fn lost(&self) -> StateError {
        StateError(format!(
            "the lock on workspace \"{}\" in the PostgreSQL state was lost (its session ended: a server restart, a network cut, an administrator or force-unlock), so nothing more is written under it and no further operation starts; another operation may hold it now",
            self.workspace
        ))
    }

    fn t(&self, table: &str) -> String {
        format!("{}.{}", ident(&self.schema), ident(table))
    }

    pub fn workspace(&self) -> &str {
        &self.workspace
    }

    /// Create an empty workspace (a new lineage, serial 0), if it is not there.
    pub fn create_workspace(target: &PgTarget, name: &str) -> Result<()> {
        let rt = runtime()?;
        let client = run(&rt, connect(rt.handle(), target))?;
        migrate(&rt, &client, &target.schema)?;
        let s = ident(&target.schema);
        run(&rt, async {
            client
                .execute(
                    &format!("INSERT INTO {s}.workspaces (name, lineage, serial) VALUES ($1, $2, 0) ON CONFLICT (name) DO NOTHING"),
                    &[&name, &crate::random_id()],
                )
                .await
        })
        .map(|_| ())
        .map_err(err("cannot create the workspace"))
    }

    /// Delete a workspace and everything it records, in one transaction.
    pub fn delete_workspace(&self) -> Result<()> {
        let (workspaces, records) = (self.t("workspaces"), self.t("records"));
        run(&self.rt, async {
            let mut client = self.client.lock().await;
            let tx = client.transaction().await?;
            tx.execute(&format!("DELETE FROM {records} WHERE workspace = $1"), &[&self.workspace]).await?;
            tx.execute(&format!("DELETE FROM {workspaces} WHERE name = $1"), &[&self.workspace]).await?;
            tx.commit().await
        })
        .map_err(err("cannot delete the workspace"))
    }

    /// The workspaces the PostgreSQL state holds, sorted.
    pub fn workspaces(target: &PgTarget) -> Result<Vec<String>> {
        let rt = runtime()?;
        let client = run(&rt, connect(rt.handle(), target))?;
        migrate(&rt, &client, &target.schema)?;
        let s = ident(&target.schema);
        let rows = run(&rt, async {
            client.query(&format!("SELECT name FROM {s}.workspaces ORDER BY name COLLATE \"C\""), &[]).await
        })
        .map_err(err("cannot list the PostgreSQL state's workspaces"))?;
        Ok(rows.iter().map(|r| r.get(0)).collect())
    }
}

impl Storage for PgStore {
    fn take_abort_request(&self, name: &str) -> Option<String> {
        let requests = self.t("requests");
        run(&self.rt, async {
            let client = self.client.lock().await;
            client
                .query_opt(
                    &format!(
                        "DELETE FROM {requests} WHERE workspace = $1 AND rollout = $2 AND kind = 'abort' RETURNING at"
                    ),
                    &[&self.workspace, &name],
                )
                .await
        })
        .ok()
        .flatten()
        .and_then(|row| row.try_get::<_, String>(0).ok())
    }

    fn load(&self) -> Result<Snapshot> {
        run(&self.rt, async {
            let client = self.client.lock().await;
            let head = client
                .query_opt(
                    &format!("SELECT lineage, serial FROM {} WHERE name = $1", self.t("workspaces")),
                    &[&self.workspace],
                )
                .await?;
            let rows = client
                .query(
                    &format!(
                        "SELECT kind, key, value FROM {} WHERE workspace = $1 ORDER BY kind, key COLLATE \"C\"",
                        self.t("records")
                    ),
                    &[&self.workspace],
                )
                .await?;
            Ok::<_, tokio_postgres::Error>((head, rows))
        })
        .map_err(err("cannot read the PostgreSQL state"))
        .and_then(|(head, rows)| {
            let mut snap = Snapshot::empty(&self.workspace);
            if let Some(h) = head {
                snap.lineage = h.get(0);
                snap.serial = h.get::<_, i64>(1) as u64;
            }
            let mut outputs = BTreeMap::new();
            for r in rows {
                let (kind, key, stored): (String, String, String) = (r.get(0), r.get(1), r.get(2));
                let what = format!("the PostgreSQL state's record {kind}/{key} cannot be read");
                let bad = || StateError(what.clone());
                let value = match self.crypt.open(&format!("{kind}/{key}"), stored.as_bytes()) {
                    Ok(v) => String::from_utf8(v).map_err(|_| bad())?,
                    Err(OpenError::Key(why)) => return Err(StateError(format!("{why}. Nothing was changed."))),
                    Err(e) => {
                        let what =
                            format!("the PostgreSQL state's record {kind}/{key} of workspace \"{}\"", self.workspace);
                        return Err(StateError(format!("{}. Nothing was changed.", e.words(&what))));
                    }
                };
                match kind.as_str() {
                    "r" => snap.resources.push(serde_json::from_str::<ResourceRecord>(&value).map_err(|_| bad())?),
                    "p" => snap.pending.push(serde_json::from_str::<ResourceRecord>(&value).map_err(|_| bad())?),
                    "d" => snap.deposed.push(serde_json::from_str::<Deposed>(&value).map_err(|_| bad())?),
                    "o" => {
                        outputs.insert(key, serde_json::from_str::<OutputRecord>(&value).map_err(|_| bad())?);
                    }
                    "w" => {
                        snap.rollouts.insert(key, serde_json::from_str(&value).map_err(|_| bad())?);
                    }
                    _ => {}
                }
            }
            snap.outputs = outputs;
            snap.format_version = FORMAT_VERSION;
            Ok(snap)
        })
    }

    fn commit(&self, changes: &[Change]) -> Result<u64> {
        fn json<T: serde::Serialize>(v: &T) -> Result<String> {
            erased::Json::text(v)
        }
        let mut puts: Vec<(&str, String, Option<String>)> = Vec::new();
        let mut clear_outputs = false;
        for c in changes {
            match c {
                Change::Put(rec) => {
                    puts.push(("r", rec.addr.clone(), Some(json(rec.as_ref())?)));
                    puts.push(("p", rec.addr.clone(), None));
                }
                Change::Delete(addr) => {
                    puts.push(("r", addr.clone(), None));
                    puts.push(("p", addr.clone(), None));
                }
                Change::Intent(rec) => puts.push(("p", rec.addr.clone(), Some(json(rec.as_ref())?))),
                Change::ClearIntent(addr) => puts.push(("p", addr.clone(), None)),
                Change::Depose(d) => {
                    puts.push(("r", d.record.addr.clone(), None));
                    puts.push(("d", Deposed::slot(&d.record.addr, &d.key), Some(json(d.as_ref())?)));
                }
                Change::DeleteDeposed { addr, key } => puts.push(("d", Deposed::slot(addr, key), None)),
                Change::Outputs(outputs) => {
                    // Every output goes: the stored ones (deleted first, in the
                    // transaction) and those set earlier in this commit.
                    clear_outputs = true;
                    puts.retain(|(kind, _, _)| *kind != "o");
                    for (name, rec) in outputs {
                        puts.push(("o", name.clone(), Some(json(rec)?)));
                    }
                }
                Change::Rollout(name, rec) => {
                    puts.push(("w", name.clone(), rec.as_ref().map(json::<serde_json::Value>).transpose()?))
                }
            }
        }
        let puts: Vec<(&str, String, Option<String>)> =
            puts.into_iter().map(|(kind, key, v)| (kind, key.clone(), v.map(|v| self.seal(kind, &key, v)))).collect();
        let (workspaces, records) = (self.t("workspaces"), self.t("records"));
        run(&self.rt, async {
            let mut client = self.client.lock().await;
            let tx = client.transaction().await?;
            if !self.still_locked(&tx).await? {
                return Ok(None);
            }
            let serial: i64 = tx
                .query_one(
                    &format!(
                        "INSERT INTO {workspaces} (name, lineage, serial) VALUES ($1, $2, 1)
                         ON CONFLICT (name) DO UPDATE SET serial = {workspaces}.serial + 1 RETURNING serial"
                    ),
                    &[&self.workspace, &crate::random_id()],
                )
                .await?
                .get(0);
            if clear_outputs {
                tx.execute(&format!("DELETE FROM {records} WHERE workspace = $1 AND kind = 'o'"), &[&self.workspace])
                    .await?;
            }
            for (kind, key, value) in &puts {
                match value {
                    Some(v) => {
                        tx.execute(
                            &format!(
                                "INSERT INTO {records} (workspace, kind, key, value) VALUES ($1, $2, $3, $4)
                                 ON CONFLICT (workspace, kind, key) DO UPDATE SET value = EXCLUDED.value"
                            ),
                            &[&self.workspace, kind, key, v],
                        )
                        .await?;
                    }
                    None => {
                        tx.execute(
                            &format!("DELETE FROM {records} WHERE workspace = $1 AND kind = $2 AND key = $3"),
                            &[&self.workspace, kind, key],
                        )
                        .await?;
                    }
                }
            }
            tx.commit().await?;
            Ok::<_, tokio_postgres::Error>(Some(serial as u64))
        })
        .map_err(err("cannot commit to the PostgreSQL state"))?
        .ok_or_else(|| self.lost())
    }

    fn replace(&self, snapshot: &Snapshot) -> Result<()> {
        let mut rows: Vec<(&str, String, String)> = Vec::new();
        for r in &snapshot.resources {
            rows.push(("r", r.addr.clone(), erased::Json::text(r)?));
        }
        for r in &snapshot.pending {
            rows.push(("p", r.addr.clone(), erased::Json::text(r)?));
        }
        for d in &snapshot.deposed {
            rows.push(("d", Deposed::slot(&d.record.addr, &d.key), erased::Json::text(d)?));
        }
        for (k, o) in &snapshot.outputs {
            rows.push(("o", k.clone(), erased::Json::text(o)?));
        }
        for (k, w) in &snapshot.rollouts {
            rows.push(("w", k.clone(), erased::Json::text(w)?));
        }
        let rows: Vec<(&str, String, String)> =
            rows.into_iter().map(|(kind, key, v)| (kind, key.clone(), self.seal(kind, &key, v))).collect();
        let (workspaces, records) = (self.t("workspaces"), self.t("records"));
        let lineage = if snapshot.lineage.is_empty() { crate::random_id() } else { snapshot.lineage.clone() };
        run(&self.rt, async {
            let mut client = self.client.lock().await;
            let tx = client.transaction().await?;
            if !self.still_locked(&tx).await? {
                return Ok(false);
            }
            tx.execute(&format!("DELETE FROM {records} WHERE workspace = $1"), &[&self.workspace]).await?;
            tx.execute(
                &format!(
                    "INSERT INTO {workspaces} (name, lineage, serial) VALUES ($1, $2, $3)
                     ON CONFLICT (name) DO UPDATE SET lineage = EXCLUDED.lineage, serial = EXCLUDED.serial"
                ),
                &[&self.workspace, &lineage, &(snapshot.serial as i64)],
            )
            .await?;
            for (kind, key, value) in &rows {
                tx.execute(
                    &format!("INSERT INTO {records} (workspace, kind, key, value) VALUES ($1, $2, $3, $4)"),
                    &[&self.workspace, kind, key, value],
                )
                .await?;
            }
            tx.commit().await.map(|_| true)
        })
        .map_err(err("cannot write the PostgreSQL state"))?
        .then_some(())
        .ok_or_else(|| self.lost())
    }
}

mod erased {
    /// A value stored as its JSON text.
    pub trait Json {
        fn text(&self) -> crate::Result<String>;
    }
    impl<T: serde::Serialize> Json for T {
        fn text(&self) -> crate::Result<String> {
            serde_json::to_string(self).map_err(|e| crate::StateError(e.to_string()))
        }
    }
}

/// The lock of one workspace in a PostgreSQL state: a session-level advisory
/// lock on a connection of its own, released when the guard drops or the
/// process dies.
pub struct PgLock {
    rt: tokio::runtime::Runtime,
    client: Option<std::sync::Arc<Client>>,
    /// A query on the lock's session now and then, so that nothing between
    /// here and the server (a NAT, a firewall, a proxy) drops it for idleness.
    keepalive: Option<tokio::task::JoinHandle<()>>,
    schema: String,
    pub info: LockInfo,
}

/// How often the lock's session is used while it is held.
const KEEPALIVE: Duration = Duration::from_secs(10);

fn lock_key(schema: &str, workspace: &str) -> String {
    format!("landform:{schema}:{workspace}")
}

impl PgLock {
    pub fn take(
        target: &PgTarget,
        workspace: &str,
        operation: &str,
        timeout: Duration,
    ) -> std::result::Result<PgLock, LockError> {
        let rt = runtime().map_err(|e| LockError::Io(e.0))?;
        let client = run(&rt, connect(rt.handle(), target)).map_err(|e| LockError::Io(e.0))?;
        migrate(&rt, &client, &target.schema).map_err(|e| LockError::Io(e.0))?;
        let info = LockInfo {
            id: crate::random_id(),
            operation: operation.to_string(),
            who: crate::lock::who(),
            pid: std::process::id(),
            created: crate::now_rfc3339(),
            workspace: workspace.to_string(),
        };
        let s = ident(&target.schema);
        let key = lock_key(&target.schema, workspace);
        let deadline = Instant::now() + timeout;
        let mut rechecked = false;
        loop {
            let got: bool = run(&rt, async {
                client.query_one("SELECT pg_try_advisory_lock(hashtext($1))", &[&key]).await.map(|r| r.get(0))
            })
            .map_err(|e| LockError::Io(words(&e)))?;
            if got {
                run(&rt, async {
                    client
                        .execute(
                            &format!(
                                "INSERT INTO {s}.locks (workspace, id, operation, who, pid, created, backend_pid)
                                 VALUES ($1, $2, $3, $4, $5, $6, pg_backend_pid())
                                 ON CONFLICT (workspace) DO UPDATE SET id = EXCLUDED.id, operation = EXCLUDED.operation,
                                   who = EXCLUDED.who, pid = EXCLUDED.pid, created = EXCLUDED.created,
                                   backend_pid = EXCLUDED.backend_pid"
                            ),
                            &[&info.workspace, &info.id, &info.operation, &info.who, &(info.pid as i32), &info.created],
                        )
                        .await
                })
                .map_err(|e| LockError::Io(words(&e)))?;
                let client = std::sync::Arc::new(client);
                let pinged = client.clone();
                let keepalive = rt.spawn(async move {
                    loop {
                        tokio::time::sleep(KEEPALIVE).await;
                        if pinged.simple_query("SELECT 1").await.is_err() {
                            // Ended: every write checks the lock, and stops.
                            return;
                        }
                    }
                });
                return Ok(PgLock {
                    rt,
                    client: Some(client),
                    keepalive: Some(keepalive),
                    schema: target.schema.clone(),
                    info,
                });
            }
            if Instant::now() >= deadline {
                // The holder writes its row just after taking the lock: give it a moment,
                // and never name a row left by a session that holds no lock any more.
                let mut holder = None;
                for _ in 0..20 {
                    holder = run(&rt, async {
                        client
                            .query_opt(
                                &format!(
                                    "SELECT id, operation, who, pid, created FROM {s}.locks WHERE workspace = $1
                                     AND backend_pid IN (SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted)"
                                ),
                                &[&workspace],
                            )
                            .await
                    })
                    .ok()
                    .flatten();
                    if holder.is_some() {
                        break;
                    }
                    std::thread::sleep(Duration::from_millis(50));
                }
                // No holder to name: it may have finished meanwhile. Try once more.
                if holder.is_none() && !rechecked {
                    rechecked = true;
                    continue;
                }
                let info = match holder {
                    Some(r) => LockInfo {
                        id: r.get(0),
                        operation: r.get(1),
                        who: r.get(2),
                        pid: r.get::<_, i32>(3) as u32,
                        created: r.get(4),
                        workspace: workspace.to_string(),
                    },
                    None => LockInfo {
                        id: "unknown".into(),
                        operation: "unknown".into(),
                        who: "another session".into(),
                        pid: 0,
                        created: String::new(),
                        workspace: workspace.to_string(),
                    },
                };
                // The holder is alive (its session holds the lock): never "stale".
                let info = LockInfo { pid: if info.is_stale() { 0 } else { info.pid }, ..info };
                return Err(LockError::Held(Box::new(info)));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// End the session that holds the lock `id` (a hung operation): its lock goes with it.
    pub fn force_unlock(target: &PgTarget, workspace: &str, id: &str) -> Result<()> {
        let rt = runtime()?;
        let client = run(&rt, connect(rt.handle(), target))?;
        let s = ident(&target.schema);
        let ended: Option<bool> = run(&rt, async {
            let row = client
                .query_opt(
                    &format!(
                        "SELECT pg_terminate_backend(backend_pid) FROM {s}.locks WHERE workspace = $1 AND id = $2"
                    ),
                    &[&workspace, &id],
                )
                .await?;
            Ok::<_, tokio_postgres::Error>(row.map(|r| r.get(0)))
        })
        .map_err(err("cannot force the PostgreSQL lock"))?;
        match ended {
            Some(_) => {
                let _ = run(&rt, async {
                    client
                        .execute(&format!("DELETE FROM {s}.locks WHERE workspace = $1 AND id = $2"), &[&workspace, &id])
                        .await
                });
                Ok(())
            }
            None => Err(StateError(format!("no lock with ID {id} on workspace \"{workspace}\""))),
        }
    }
}

/// `PgLock` behind the `Locker` trait, as the other backends' locks are.
pub struct PgLocker {
    pub target: PgTarget,
    pub workspace: String,
}

impl crate::Locker for PgLocker {
    fn lock(&self, operation: &str, timeout: Duration) -> std::result::Result<crate::LockGuard, LockError> {
        let lock = PgLock::take(&self.target, &self.workspace, operation, timeout)?;
        Ok(crate::LockGuard::other(lock.info.clone(), Box::new(lock)))
    }

    fn force_unlock(&self, id: &str) -> Result<()> {
        PgLock::force_unlock(&self.target, &self.workspace, id)
    }
}

impl Drop for PgLock {
    fn drop(&mut self) {
        if let Some(k) = self.keepalive.take() {
            k.abort();
        }
        if let Some(client) = self.client.take() {
            let s = ident(&self.schema);
            let key = lock_key(&self.schema, &self.info.workspace);
            let (id, ws) = (self.info.id.clone(), self.info.workspace.clone());
            let _ = run(&self.rt, async move {
                let _ = client
                    .execute(&format!("DELETE FROM {s}.locks WHERE workspace = $1 AND id = $2"), &[&ws, &id])
                    .await;
                client.execute("SELECT pg_advisory_unlock(hashtext($1))", &[&key]).await
            });
        }
    }
}
