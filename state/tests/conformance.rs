//! The storage conformance suite, as OpenTofu's statemgr `TestFull`: one
//! function, `conforms`, that every backend runs — sled, PostgreSQL (a real
//! server on loopback, started by the test) and in-memory. Each backend is
//! reached only through the `Storage` and `Locker` traits, plus what a
//! backend adapter below knows of how it keeps its bytes (to look for plain
//! text at rest, and to damage them).

#[path = "../../tests/common/postgres.rs"]
mod postgres;

use landform_state::{
    Change, Crypt, Deposed, FileLocker, LockError, LockInfo, Locker, MemBackend, OutputRecord, PgLocker, PgStore,
    PgTarget, ResourceRecord, SledStore, Snapshot, StateKey, Storage,
};
use serde_json::json;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// For `tests/common/postgres.rs`.
fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

type Opened = landform_state::Result<(Arc<dyn Storage>, Snapshot)>;

/// What the suite needs to know of a backend beyond the traits.
trait Backend {
    fn locker(&self, workspace: &str) -> Box<dyn Locker + Send>;
    /// Open a workspace for writing, as an operation holding `lock` does.
    fn open(&self, workspace: &str, crypt: &Crypt, lock: &LockInfo) -> Opened;
    /// Every byte the backend keeps for a workspace.
    fn at_rest(&self, workspace: &str) -> Vec<u8>;
    /// Damage what the backend keeps of a workspace's records, by its own means.
    fn damage(&self, workspace: &str);
}

// ---------------------------------------------------------------- the suite

/// Everything a backend must do. Each part uses workspaces of its own.
fn conforms(b: &dyn Backend) {
    a_new_workspace_has_a_lineage_that_commits_keep(b);
    every_kind_of_record_round_trips_in_address_order(b);
    replace_sets_the_whole_state_lineage_and_serial(b);
    workspaces_are_independent(b);
    a_held_lock_is_refused_named_and_released_on_drop(b);
    concurrent_commits_each_get_their_own_serial(b);
    with_a_key_nothing_is_plain_at_rest_and_a_wrong_key_reads_nothing(b);
    damaged_data_is_refused_every_time(b);
}

fn hold(b: &dyn Backend, ws: &str, operation: &str) -> landform_state::LockGuard {
    b.locker(ws).lock(operation, Duration::from_secs(10)).unwrap_or_else(|e| panic!("lock {ws}: {e}"))
}

fn record(addr: &str, content: &str) -> ResourceRecord {
    ResourceRecord {
        addr: addr.to_string(),
        mode: "managed".into(),
        type_name: "local_file".into(),
        name: addr.rsplit('.').next().unwrap_or(addr).to_string(),
        module: String::new(),
        index_key: serde_json::Value::Null,
        provider: "local".into(),
        schema_version: 0,
        attributes: json!({ "content": content }).as_object().unwrap().clone(),
        sensitive_attributes: Vec::new(),
        dependencies: Vec::new(),
        create_before_destroy: false,
        private: Vec::new(),
    }
}

fn put(r: ResourceRecord) -> Change {
    Change::Put(Box::new(r))
}

/// The snapshot a backend must give back: resources and pending records in
/// byte order of their addresses (what `state list` shows).
fn expected(mut s: Snapshot) -> Snapshot {
    s.resources.sort_by(|a, b| a.addr.cmp(&b.addr));
    s.pending.sort_by(|a, b| a.addr.cmp(&b.addr));
    s.deposed.sort_by(|a, b| Deposed::slot(&a.record.addr, &a.key).cmp(&Deposed::slot(&b.record.addr, &b.key)));
    s
}

fn deposed(addr: &str, key: &str, content: &str) -> Change {
    Change::Depose(Box::new(Deposed { key: key.into(), record: record(addr, content) }))
}

fn a_new_workspace_has_a_lineage_that_commits_keep(b: &dyn Backend) {
    let lock = hold(b, "fresh", "apply");
    let (store, snap) = b.open("fresh", &Crypt::none(), &lock.info).unwrap();
    assert_eq!((snap.serial, snap.resources.len(), snap.outputs.len()), (0, 0, 0), "a new workspace is empty");
    assert!(!snap.lineage.is_empty(), "a new workspace has a lineage before its first commit");
    assert_eq!(snap.workspace, "fresh");
    assert_eq!(store.commit(&[put(record("local_file.a", "one"))]).unwrap(), 1);
    let after = store.load().unwrap();
    assert_eq!(after.lineage, snap.lineage, "a commit keeps the lineage");
    assert_eq!(after.serial, 1);
    drop(store);
    let (store, again) = b.open("fresh", &Crypt::none(), &lock.info).unwrap();
    assert_eq!((again.lineage.as_str(), again.serial), (snap.lineage.as_str(), 1), "reopened");
    assert_eq!(again.resources, vec![record("local_file.a", "one")]);
    // A commit of nothing still moves the serial: every commit is a new state.
    assert_eq!(store.commit(&[]).unwrap(), 2);
}

fn every_kind_of_record_round_trips_in_address_order(b: &dyn Backend) {
    let lock = hold(b, "round", "apply");
    let (store, start) = b.open("round", &Crypt::none(), &lock.info).unwrap();
    let mut rich = record("module.net[\"é\"].local_file.page[\"a b\"]", "ünïcode \"quoted\" \\ \n new line");
    rich.module = "module.net[\"é\"]".into();
    rich.index_key = json!("a b");
    rich.attributes.insert(
        "nested".into(),
        json!({"list": [1, 2.5, -0.0, 1e300, 12345678901234567890u64], "null": null, "t": true}),
    );
    rich.attributes.insert("secret".into(), json!("hidden"));
    rich.sensitive_attributes = vec!["secret".into()];
    rich.dependencies = vec!["local_file.a".into(), "module.other.x.y".into()];
    rich.create_before_destroy = true;
    rich.schema_version = 3;
    let mut counted = record("local_file.c[10]", "ten");
    counted.index_key = json!(10);
    // Orders that differ between byte order and a language's collation.
    let names = ["local_file.B", "local_file.a_b", "local_file.aB", "local_file.a", "local_file.c[2]"];
    let mut changes: Vec<Change> = names.iter().map(|n| put(record(n, n))).collect();
    changes.push(put(rich.clone()));
    changes.push(put(counted.clone()));
    changes.push(Change::Intent(Box::new(record("local_file.pending", "planned"))));
    changes.push(Change::Intent(Box::new(record("local_file.B", "replacing"))));
    // Old objects of create_before_destroy replacements: the current record
    // goes, the deposed one stays under its key beside the successor's intent.
    changes.push(put(record("local_file.cbd", "old")));
    changes.push(deposed("local_file.cbd", "0a0b0c0d", "old"));
    changes.push(Change::Intent(Box::new(record("local_file.cbd", "new"))));
    changes.push(deposed("local_file.cbd", "ffff0000", "older"));
    changes.push(deposed("module.m.local_file.x[\"k\"]", "12345678", "x"));
    let outputs: BTreeMap<String, OutputRecord> = [
        ("plain".to_string(), OutputRecord { value: json!({"a": [1, "two"]}), sensitive: false }),
        ("secret".to_string(), OutputRecord { value: json!("s3cr3t"), sensitive: true }),
    ]
    .into();
    changes.push(Change::Outputs(outputs.clone()));
    changes.push(Change::Rollout("web".into(), Some(json!({"phase": "PAUSED", "step": 2, "weights": [75, 25]}))));
    changes.push(Change::Rollout("gone".into(), Some(json!({"phase": "DONE"}))));
    let serial = store.commit(&changes).unwrap();
    assert_eq!(serial, start.serial + 1);
    let mut model = start.clone();
    model.apply(&changes);
    model.serial = serial;
    let model = expected(model);
    let loaded = store.load().unwrap();
    assert_eq!(loaded, model, "what was committed is what is read");
    let order: Vec<&str> = loaded.resources.iter().map(|r| r.addr.as_str()).collect();
    let mut sorted = order.clone();
    sorted.sort();
    assert_eq!(order, sorted, "records come back in byte order of their addresses");

    // Each kind of change undoes what it should, and nothing else.
    let changes = vec![
        Change::Delete("local_file.a".into()),
        Change::ClearIntent("local_file.pending".into()),
        Change::DeleteDeposed { addr: "local_file.cbd".into(), key: "0a0b0c0d".into() },
        // A deposed object that is not there is no error.
        Change::DeleteDeposed { addr: "local_file.none".into(), key: "00000000".into() },
        // A Put clears the intent of the same address.
        put(record("local_file.B", "replaced")),
        Change::Outputs([("only".to_string(), OutputRecord { value: json!(1), sensitive: false })].into()),
        Change::Rollout("gone".into(), None),
        // Within one commit, changes apply in order.
        put(record("local_file.twice", "first")),
        Change::Delete("local_file.twice".into()),
        Change::Intent(Box::new(record("local_file.late", "x"))),
        put(record("local_file.late", "made")),
        // A second set of outputs replaces the first, made in the same commit too.
        Change::Outputs([("first".to_string(), OutputRecord { value: json!(1), sensitive: false })].into()),
        Change::Outputs([("only".to_string(), OutputRecord { value: json!(2), sensitive: false })].into()),
    ];
    let serial = store.commit(&changes).unwrap();
    let mut model = model.clone();
    model.apply(&changes);
    model.serial = serial;
    let model = expected(model);
    assert_eq!(store.load().unwrap(), model);
    assert!(model.pending.len() == 1 && model.outputs.len() == 1 && model.rollouts.len() == 1);
    assert_eq!(model.deposed.len(), 2, "one deposed object destroyed, two left");
    drop(store);
    let (_, reopened) = b.open("round", &Crypt::none(), &lock.info).unwrap();
    assert_eq!(reopened, model, "and it is still there when opened again");
}

fn replace_sets_the_whole_state_lineage_and_serial(b: &dyn Backend) {
    let lock = hold(b, "pushed", "state push");
    let (store, _) = b.open("pushed", &Crypt::none(), &lock.info).unwrap();
    store.commit(&[put(record("local_file.old", "old")), Change::Rollout("r".into(), Some(json!(1)))]).unwrap();
    let mut pushed = Snapshot::empty("pushed");
    pushed.lineage = "11111111-2222-4333-a444-555555555555".into();
    pushed.serial = 41;
    pushed.resources = vec![record("local_file.new", "new")];
    pushed.pending = vec![record("local_file.p", "p")];
    pushed.deposed = vec![Deposed { key: "abcdef01".into(), record: record("local_file.new", "older") }];
    pushed.outputs.insert("o".into(), OutputRecord { value: json!("v"), sensitive: false });
    store.replace(&pushed).unwrap();
    assert_eq!(store.load().unwrap(), pushed, "replace keeps nothing of the old state");
    assert_eq!(store.commit(&[]).unwrap(), 42, "commits go on from the replaced serial");
    drop(store);
    let (store, reopened) = b.open("pushed", &Crypt::none(), &lock.info).unwrap();
    assert_eq!((reopened.lineage.as_str(), reopened.serial), (pushed.lineage.as_str(), 42));
    // A state pushed with no lineage does not leave the workspace without one.
    let nameless = Snapshot { lineage: String::new(), serial: 50, ..pushed.clone() };
    store.replace(&nameless).unwrap();
    let after = store.load().unwrap();
    assert!(!after.lineage.is_empty(), "replace left the workspace with no lineage");
    assert_eq!(after.serial, 50);
    // An older state pushed with --force is the state from then on, also when opened again.
    let older = Snapshot { serial: 3, ..pushed.clone() };
    store.replace(&older).unwrap();
    drop(store);
    let (store, reopened) = b.open("pushed", &Crypt::none(), &lock.info).expect("an older state replaced is no damage");
    assert_eq!(reopened, older);
    assert_eq!(store.commit(&[]).unwrap(), 4);
}

fn workspaces_are_independent(b: &dyn Backend) {
    let lock_a = hold(b, "ws-a", "apply");
    // A lock on one workspace does not hold another.
    let lock_b = b.locker("ws-b").lock("apply", Duration::ZERO).expect("another workspace's lock is free");
    let (a, snap_a) = b.open("ws-a", &Crypt::none(), &lock_a.info).unwrap();
    let (bs, snap_b) = b.open("ws-b", &Crypt::none(), &lock_b.info).unwrap();
    assert_ne!(snap_a.lineage, snap_b.lineage, "each workspace has a lineage of its own");
    a.commit(&[put(record("local_file.only_a", "a"))]).unwrap();
    a.commit(&[Change::Outputs([("x".to_string(), OutputRecord { value: json!(1), sensitive: false })].into())])
        .unwrap();
    bs.commit(&[put(record("local_file.only_b", "b"))]).unwrap();
    let (la, lb) = (a.load().unwrap(), bs.load().unwrap());
    assert_eq!((la.serial, lb.serial), (2, 1));
    assert_eq!(la.resources, vec![record("local_file.only_a", "a")]);
    assert_eq!(lb.resources, vec![record("local_file.only_b", "b")]);
    assert!(lb.outputs.is_empty(), "outputs of one workspace never show in another");
    assert_eq!(lb.workspace, "ws-b");
}

fn a_held_lock_is_refused_named_and_released_on_drop(b: &dyn Backend) {
    let locker = b.locker("locked");
    let held = locker.lock("apply", Duration::ZERO).unwrap();
    assert_eq!((held.info.operation.as_str(), held.info.workspace.as_str()), ("apply", "locked"));
    match locker.lock("plan", Duration::ZERO) {
        Err(LockError::Held(h)) => {
            assert_eq!((h.id.as_str(), h.operation.as_str()), (held.info.id.as_str(), "apply"), "names the holder")
        }
        other => panic!("a second lock was taken while the first is held: {other:?}"),
    }
    // Another locker of the same workspace (another process) is refused too.
    assert!(matches!(b.locker("locked").lock("plan", Duration::from_millis(300)), Err(LockError::Held(_))));
    assert!(locker.force_unlock("not-the-id").is_err(), "force-unlock with another ID is refused");
    assert!(matches!(locker.lock("plan", Duration::ZERO), Err(LockError::Held(_))), "and the lock stays held");
    drop(held);
    let again = locker.lock("plan", Duration::ZERO).expect("a released lock can be taken again");
    assert_ne!(again.info.id, "", "each lock has an ID");

    // Of several lockers racing for a free lock, exactly one gets it.
    drop(again);
    let lockers: Vec<_> = (0..4).map(|_| b.locker("raced")).collect();
    let barrier = std::sync::Barrier::new(lockers.len());
    let won: Vec<_> = std::thread::scope(|s| {
        let handles: Vec<_> = lockers
            .into_iter()
            .map(|l| {
                let barrier = &barrier;
                s.spawn(move || {
                    barrier.wait();
                    l.lock("apply", Duration::ZERO).ok()
                })
            })
            .collect();
        handles.into_iter().filter_map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(won.len(), 1, "{} lockers took one lock at once", won.len());
    drop(won);
    let again = locker.lock("plan", Duration::ZERO).unwrap();

    // A waiter gets the lock once the holder lets go, within its timeout.
    let start = Instant::now();
    let waited = std::thread::scope(|s| {
        let other = b.locker("locked");
        let waiter = s.spawn(move || other.lock("apply", Duration::from_secs(20)).map(|g| g.info.id.clone()));
        std::thread::sleep(Duration::from_millis(400));
        drop(again);
        waiter.join().unwrap()
    });
    assert!(waited.is_ok(), "the waiter did not get the lock: {waited:?}");
    assert!(start.elapsed() >= Duration::from_millis(350), "the waiter got the lock while it was held");
}

fn concurrent_commits_each_get_their_own_serial(b: &dyn Backend) {
    let lock = hold(b, "busy", "apply");
    let (store, _) = b.open("busy", &Crypt::none(), &lock.info).unwrap();
    let (threads, each) = (4, 6);
    let serials: Vec<u64> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let store = store.clone();
                s.spawn(move || {
                    (0..each)
                        .map(|i| store.commit(&[put(record(&format!("local_file.t{t}_{i}"), "x"))]).unwrap())
                        .collect::<Vec<u64>>()
                })
            })
            .collect();
        handles.into_iter().flat_map(|h| h.join().unwrap()).collect()
    });
    let distinct: BTreeSet<u64> = serials.iter().copied().collect();
    assert_eq!(distinct, (1..=(threads * each) as u64).collect(), "each commit has a serial of its own");
    let snap = store.load().unwrap();
    assert_eq!((snap.serial, snap.resources.len()), ((threads * each) as u64, threads * each), "no commit lost");
}

fn key(b: u8) -> StateKey {
    StateKey::parse(&format!("{b:02x}").repeat(32)).unwrap()
}

fn contains(hay: &[u8], needle: &str) -> bool {
    hay.windows(needle.len()).any(|w| w == needle.as_bytes())
}

fn with_a_key_nothing_is_plain_at_rest_and_a_wrong_key_reads_nothing(b: &dyn Backend) {
    let marker = "marker-7d1e0c";
    let changes = |ws: &str| {
        vec![
            put(record(&format!("local_file.{ws}"), marker)),
            Change::Outputs([("o".to_string(), OutputRecord { value: json!(marker), sensitive: true })].into()),
            Change::Rollout("r".into(), Some(json!({ "why": marker }))),
        ]
    };
    // Without a key the marker is found: the search below can fail.
    let plain = hold(b, "plain", "apply");
    let (store, _) = b.open("plain", &Crypt::none(), &plain.info).unwrap();
    store.commit(&changes("plain")).unwrap();
    drop(store);
    assert!(contains(&b.at_rest("plain"), marker), "the plain text is where the test looks");

    let sealed = Crypt::with_key(key(1));
    let lock = hold(b, "sealed", "apply");
    let (store, _) = b.open("sealed", &sealed, &lock.info).unwrap();
    store.commit(&changes("sealed")).unwrap();
    let want = store.load().unwrap();
    assert_eq!(want.resources[0].attributes["content"], marker);
    drop(store);
    assert!(!contains(&b.at_rest("sealed"), marker), "a value is in plain text at rest with a key set");
    for (what, crypt) in [("no key", Crypt::none()), ("another key", Crypt::with_key(key(2)))] {
        match b.open("sealed", &crypt, &lock.info).and_then(|(s, _)| s.load()) {
            Ok(s) => panic!("read with {what}: {s:?}"),
            Err(e) => assert!(!e.0.is_empty() && !e.0.contains(marker), "{what}: {e}"),
        }
    }
    let (_, again) = b.open("sealed", &sealed, &lock.info).expect("the right key still reads it");
    assert_eq!(again, want, "failed reads changed nothing");

    // `state rekey`: a key turned on for a plain state (asked for), then
    // changed, then turned off; each time every record is stored anew.
    let (_, before) = b.open("plain", &Crypt::none(), &plain.info).unwrap();
    let turned_on = Crypt::with_key(key(3)).accepting_plain();
    let (_, on) = b.open("plain", &turned_on, &plain.info).expect("a plain state opens when asked to be encrypted");
    assert_eq!(on.resources, before.resources);
    assert!(!contains(&b.at_rest("plain"), marker), "a plain value stayed at rest after the key was turned on");
    let changed = Crypt::with_key(key(4)).also_reading(key(3));
    let (_, then) = b.open("plain", &changed, &plain.info).expect("the old key reads it while the new one seals");
    assert_eq!(then.resources, before.resources);
    assert!(b.open("plain", &Crypt::with_key(key(3)), &plain.info).is_err(), "the old key alone still reads it");
    let off = Crypt::none().also_reading(key(4));
    let (_, plain_again) = b.open("plain", &off, &plain.info).expect("the key is turned off");
    assert_eq!(plain_again.resources, before.resources);
    assert!(contains(&b.at_rest("plain"), marker), "turned off, the state is plain again");
}

fn damaged_data_is_refused_every_time(b: &dyn Backend) {
    let lock = hold(b, "damaged", "apply");
    let (store, _) = b.open("damaged", &Crypt::none(), &lock.info).unwrap();
    store.commit(&[put(record("local_file.a", "a")), put(record("local_file.b", "b"))]).unwrap();
    drop(store);
    b.damage("damaged");
    for attempt in ["first", "second"] {
        match b.open("damaged", &Crypt::none(), &lock.info).and_then(|(s, _)| s.load()) {
            Ok(s) => {
                panic!("{attempt} open of a damaged state read {} records, serial {}", s.resources.len(), s.serial)
            }
            Err(e) => assert!(!e.0.is_empty(), "{attempt}: an error says why"),
        }
    }
}

// ---------------------------------------------------------------- the backends

struct Sled {
    dir: PathBuf,
}

impl Sled {
    fn workspace_dir(&self, ws: &str) -> PathBuf {
        landform_state::workspace_dir(&self.dir, ws).unwrap()
    }
}

fn files_under(dir: &Path, out: &mut Vec<u8>) {
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            files_under(&p, out);
        } else if let Ok(bytes) = std::fs::read(&p) {
            out.extend(bytes);
        }
    }
}

impl Backend for Sled {
    fn locker(&self, workspace: &str) -> Box<dyn Locker + Send> {
        Box::new(FileLocker { dir: self.dir.clone(), workspace: workspace.to_string() })
    }
    fn open(&self, workspace: &str, crypt: &Crypt, _lock: &LockInfo) -> Opened {
        SledStore::open(&self.dir, workspace, crypt).map(|(s, snap)| (Arc::new(s) as Arc<dyn Storage>, snap))
    }
    fn at_rest(&self, workspace: &str) -> Vec<u8> {
        let mut out = Vec::new();
        files_under(&self.workspace_dir(workspace), &mut out);
        out
    }
    fn damage(&self, workspace: &str) {
        let db = self.workspace_dir(workspace).join("db").join("db");
        let len = std::fs::metadata(&db).unwrap().len();
        std::fs::write(&db, vec![0u8; len as usize]).unwrap();
    }
}

#[test]
fn sled_conforms() {
    let dir = std::env::temp_dir().join(format!("landform-conformance-sled-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    conforms(&Sled { dir: dir.clone() });
    let _ = std::fs::remove_dir_all(&dir);
}

struct Pg {
    server: postgres::Postgres,
    target: PgTarget,
}

impl Backend for Pg {
    fn locker(&self, workspace: &str) -> Box<dyn Locker + Send> {
        Box::new(PgLocker { target: self.target.clone(), workspace: workspace.to_string() })
    }
    fn open(&self, workspace: &str, crypt: &Crypt, lock: &LockInfo) -> Opened {
        PgStore::open_under(&self.target, workspace, crypt, lock)
            .map(|(s, snap)| (Arc::new(s) as Arc<dyn Storage>, snap))
    }
    fn at_rest(&self, workspace: &str) -> Vec<u8> {
        self.server
            .sql(&format!(
                "SELECT coalesce(string_agg(kind || key || value, ''), '') FROM landform.records WHERE workspace = '{workspace}'"
            ))
            .into_bytes()
    }
    fn damage(&self, workspace: &str) {
        self.server.sql(&format!(
            "UPDATE landform.records SET value = left(value, length(value) / 2) WHERE workspace = '{workspace}' AND kind = 'r'"
        ));
    }
}

#[test]
fn postgres_conforms() {
    let server = postgres::Postgres::start();
    let target = PgTarget::parse(&server.url).unwrap();
    conforms(&Pg { server, target });
}

/// Most servers sort text by a language's rules (en_US), not byte by byte:
/// the state's order must not depend on it.
#[test]
fn postgres_with_a_language_collation_conforms() {
    let server = postgres::Postgres::start();
    let port = server.url.rsplit(':').next().unwrap().split('/').next().unwrap().to_string();
    for sql in [
        "DROP DATABASE landform",
        "CREATE DATABASE landform LOCALE_PROVIDER icu ICU_LOCALE 'en-US' LOCALE 'C' TEMPLATE template0",
    ] {
        let out = std::process::Command::new("psql")
            .args(["-h", "127.0.0.1", "-p", &port, "-U", "landform", "-d", "postgres", "-c", sql])
            .output()
            .unwrap();
        assert!(out.status.success(), "{sql}: {}", text(&out.stderr));
    }
    let sorted = server.sql("SELECT string_agg(x, ' ' ORDER BY x) FROM (VALUES ('B'), ('a')) v(x)");
    assert_eq!(sorted, "a B", "the database sorts by a language's rules");
    let target = PgTarget::parse(&server.url).unwrap();
    conforms(&Pg { server, target });
}

struct Memory(MemBackend);

impl Backend for Memory {
    fn locker(&self, workspace: &str) -> Box<dyn Locker + Send> {
        Box::new(self.0.locker(workspace))
    }
    fn open(&self, workspace: &str, crypt: &Crypt, lock: &LockInfo) -> Opened {
        self.0.open_locked(workspace, crypt, lock).map(|(s, snap)| (Arc::new(s) as Arc<dyn Storage>, snap))
    }
    fn at_rest(&self, workspace: &str) -> Vec<u8> {
        self.0.stored(workspace).unwrap().into_iter().flat_map(|(k, v)| k.into_bytes().into_iter().chain(v)).collect()
    }
    fn damage(&self, workspace: &str) {
        for (slot, bytes) in self.0.stored(workspace).unwrap() {
            if slot.starts_with("r/") {
                self.0.set_stored(workspace, &slot, bytes[..bytes.len() / 2].to_vec()).unwrap();
            }
        }
    }
}

#[test]
fn memory_conforms() {
    conforms(&Memory(MemBackend::new()));
}

/// Only the in-memory and PostgreSQL stores can tell that their lock was
/// taken away under them (a file lock cannot be): a store opened under a
/// lock that force-unlock removed writes nothing more.
#[test]
fn a_memory_store_whose_lock_was_forced_writes_nothing() {
    let backend = MemBackend::new();
    let locker = backend.locker("default");
    let held = locker.lock("apply", Duration::ZERO).unwrap();
    let (store, _) = backend.open_locked("default", &Crypt::none(), &held.info).unwrap();
    store.commit(&[put(record("local_file.a", "a"))]).unwrap();
    locker.force_unlock(&held.info.id).unwrap();
    let err = store.commit(&[put(record("local_file.b", "b"))]).unwrap_err();
    assert!(err.0.contains("lost"), "{err}");
    let other = locker.lock("plan", Duration::ZERO).expect("the lock is free after force-unlock");
    let (_, snap) = backend.open_locked("default", &Crypt::none(), &other.info).unwrap();
    assert_eq!(snap.resources, vec![record("local_file.a", "a")]);
    drop(held);
    assert!(
        matches!(locker.lock("x", Duration::ZERO), Err(LockError::Held(_))),
        "dropping a forced guard frees nothing"
    );
}
