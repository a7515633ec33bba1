//! The sled backend's own tests: opening, migrating, encrypting, and what
//! crashes and killed processes leave behind.

use super::*;

/// Creating a workspace closes a database and opens it again at once;
/// sled's background thread may still hold its lock for a moment.
#[test]
fn a_new_workspace_opens_every_time() {
    let base = std::env::temp_dir().join(format!("landform-new-ws-{}", std::process::id()));
    for i in 0..40 {
        let dir = base.join(i.to_string());
        let (store, snap) = SledStore::open(&dir, "default", &Crypt::none()).expect("a new workspace opens");
        assert_eq!(snap.serial, 0);
        store.commit(&[Change::Delete("x".into())]).expect("and commits");
    }
    let _ = std::fs::remove_dir_all(&base);
}

/// A process killed while sled wrote a snapshot leaves half of one behind.
#[test]
fn an_unfinished_sled_snapshot_is_not_damage() {
    let dir = std::env::temp_dir().join(format!("landform-snap-gen-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    {
        let (store, _) = SledStore::open(&dir, "default", &Crypt::none()).unwrap();
        store.commit(&[Change::Put(Box::new(record("local_file.a", "kept")))]).unwrap();
    }
    let db = workspace_dir(&dir, "default").unwrap().join("db");
    let half = db.join("snap.7FFFFFFFFFFFFFFF.generating");
    let plant = || std::fs::write(&half, b"\x01\x02\x03\x04\x05\x06\x07\x08\x09").unwrap();
    // sled on its own calls this database corrupted: the test below can fail.
    plant();
    let raw = sled::Config::new().path(&db).open();
    assert!(matches!(raw, Err(sled::Error::Corruption { .. })), "sled opened it: {:?}", raw.err());
    plant();
    let read = read_snapshot(&dir, "default", &Crypt::none()).expect("a reader reads it");
    assert_eq!(read.resources[0].attributes["content"], "kept");
    plant();
    let (store, snap) = SledStore::open(&dir, "default", &Crypt::none()).expect("a writer opens it");
    assert_eq!(snap.resources[0].attributes["content"], "kept");
    assert!(!half.exists());
    // While a process has the database open, the file is its own to finish.
    plant();
    drop_unfinished_snapshots(&db);
    assert!(half.exists(), "a snapshot the database's holder is writing was removed");
    drop(store);
    let _ = std::fs::remove_dir_all(&dir);
}

/// A process killed while it checked a copy of the state leaves the copy;
/// the next one removes it.
#[cfg(target_os = "linux")]
#[test]
fn copies_left_by_killed_processes_are_removed() {
    let dir = std::env::temp_dir().join(format!("landform-sweep-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    drop(SledStore::open(&dir, "default", &Crypt::none()).unwrap());
    let mut child = std::process::Command::new("true").spawn().unwrap();
    let dead = child.id();
    child.wait().unwrap();
    let left = std::env::temp_dir().join(format!("landform-check-{dead}-left"));
    let mine = std::env::temp_dir().join(format!("landform-check-{}-mine", std::process::id()));
    for d in [&left, &mine] {
        std::fs::create_dir_all(d).unwrap();
        std::fs::write(d.join("db"), b"state").unwrap();
    }
    read_snapshot(&dir, "default", &Crypt::none()).unwrap();
    assert!(!left.exists(), "a dead process's copy is still there");
    assert!(mine.exists(), "a running process's copy was removed");
    let _ = std::fs::remove_dir_all(&mine);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_state_of_the_first_layout_is_migrated() {
    let dir = std::env::temp_dir().join(format!("landform-legacy-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    {
        // One database for every workspace, a tree per workspace.
        let db = open_db(&dir.join("db")).unwrap();
        let tree = db.open_tree("ws:default").unwrap();
        let rec = serde_json::json!({"addr": "local_file.a", "mode": "managed", "type": "local_file", "name": "a",
            "provider": "local", "attributes": {"id": "a.txt"}});
        tree.insert("r/local_file.a", serde_json::to_vec(&rec).unwrap()).unwrap();
        tree.insert("o/x", serde_json::to_vec(&serde_json::json!({"value": 1})).unwrap()).unwrap();
        tree.insert("m/lineage", "old-lineage").unwrap();
        tree.insert("m/serial", "7").unwrap();
        db.flush().unwrap();
    }
    let (_store, snap) = SledStore::open(&dir, "default", &Crypt::none()).unwrap();
    assert_eq!(snap.resources.len(), 1);
    assert_eq!(snap.resources[0].addr, "local_file.a");
    assert_eq!(snap.outputs.len(), 1);
    assert_eq!((snap.lineage.as_str(), snap.serial), ("old-lineage", 7));
    drop(_store);
    let _ = std::fs::remove_dir_all(&dir);
}

fn record(addr: &str, content: &str) -> ResourceRecord {
    serde_json::from_value(serde_json::json!({"addr": addr, "mode": "managed", "type": "local_file", "name": "a",
        "provider": "local", "attributes": {"id": addr, "content": content}}))
    .unwrap()
}

fn key(b: u8) -> Crypt {
    Crypt::with_key(crate::StateKey::parse(&format!("{b:02x}").repeat(32)).unwrap())
}

/// Every file under `dir` that holds `needle`.
fn files_holding(dir: &Path, needle: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(files_holding(&p, needle));
        } else if std::fs::read(&p).unwrap().windows(needle.len()).any(|w| w == needle.as_bytes()) {
            out.push(p);
        }
    }
    out
}

#[test]
fn a_key_turned_on_leaves_no_value_readable_in_any_file() {
    let dir = std::env::temp_dir().join(format!("landform-enc-on-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    {
        let (store, _) = SledStore::open(&dir, "default", &Crypt::none()).unwrap();
        store.commit(&[Change::Put(Box::new(record("local_file.a", "plain-canary-1")))]).unwrap();
        store.commit(&[Change::Put(Box::new(record("local_file.a", "plain-canary-2")))]).unwrap();
        let snap = store.load().unwrap();
        store.save_backup(&snap).unwrap();
    }
    // Without a key, the values are there to read: the scan below can fail.
    assert!(!files_holding(&dir, "plain-canary-1").is_empty());
    // A key alone does not read plain records (anyone could have written them) ...
    let e = SledStore::open(&dir, "default", &key(1)).err().expect("refused").0;
    assert!(e.contains("record r/local_file.a") && e.contains("not encrypted"), "{e}");
    // ... `state rekey` from no key asks for them to be read, and seals them.
    let (store, snap) = SledStore::open(&dir, "default", &key(1).accepting_plain()).unwrap();
    assert_eq!(snap.resources[0].attributes["content"], "plain-canary-2");
    store.commit(&[Change::Put(Box::new(record("local_file.b", "plain-canary-3")))]).unwrap();
    drop(store);
    for canary in ["plain-canary-1", "plain-canary-2", "plain-canary-3"] {
        assert_eq!(files_holding(&dir, canary), Vec::<PathBuf>::new(), "{canary} is readable");
    }
    // No key, or another: refused with the key ID it needs, and nothing changed.
    let manifest = std::fs::read(workspace_dir(&dir, "default").unwrap().join("manifest.json")).unwrap();
    for other in [Crypt::none(), key(2)] {
        let e = SledStore::open(&dir, "default", &other).err().expect("refused").0;
        assert!(e.contains(key(1).key_id().unwrap()) && !e.contains("damaged"), "{e}");
        let e = read_snapshot(&dir, "default", &other).unwrap_err().0;
        assert!(e.contains("encrypted"), "{e}");
    }
    assert_eq!(std::fs::read(workspace_dir(&dir, "default").unwrap().join("manifest.json")).unwrap(), manifest);
    let (_, snap) = SledStore::open(&dir, "default", &key(1)).unwrap();
    assert_eq!(snap.resources.len(), 2);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_rebuild_stopped_between_its_renames_is_finished_on_open() {
    let base = std::env::temp_dir().join(format!("landform-enc-crash-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&base);
    let (before, after) = (base.join("before"), base.join("after"));
    {
        let (store, _) = SledStore::open(&before, "default", &Crypt::none()).unwrap();
        store.commit(&[Change::Put(Box::new(record("local_file.a", "crash-canary")))]).unwrap();
    }
    copy_dir(&before, &after).unwrap();
    drop(SledStore::open(&after, "default", &key(3).accepting_plain()).unwrap());
    // The state of a rebuild stopped after `db` became `db.old` and before
    // `db.new` became `db`: the manifest names the new database as pending.
    let (b, a) = (workspace_dir(&before, "default").unwrap(), workspace_dir(&after, "default").unwrap());
    let mut m = read_manifest(&b).unwrap().unwrap();
    let done = read_manifest(&a).unwrap().unwrap();
    m.pending = Some(Point { lineage: done.lineage, serial: done.serial, digest: done.digest });
    write_manifest(&b, &m).unwrap();
    std::fs::rename(b.join("db"), b.join("db.old")).unwrap();
    copy_dir(&a.join("db"), &b.join("db.new")).unwrap();
    // A reader sees the new database; the next writer swaps it in.
    assert_eq!(read_snapshot(&before, "default", &key(3)).unwrap().resources.len(), 1);
    let (_store, snap) = SledStore::open(&before, "default", &key(3)).unwrap();
    assert_eq!(snap.resources[0].attributes["content"], "crash-canary");
    assert!(!b.join("db.old").exists() && !b.join("db.new").exists());
    assert_eq!(files_holding(&b, "crash-canary"), Vec::<PathBuf>::new());
    drop(_store);
    let _ = std::fs::remove_dir_all(&base);
}

/// A deposed object is a record of its own (`d/KEY/ADDR`): deposing takes the
/// instance's current record away in the same commit, it survives a reopen
/// (the manifest's digest counts it), an address with `/` in its key is kept
/// whole, and deleting it leaves the instance's new record alone.
#[test]
fn a_deposed_object_is_kept_apart_from_its_instance_and_survives_a_reopen() {
    let dir = std::env::temp_dir().join(format!("landform-deposed-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let addr = r#"local_file.a["x/y"]"#;
    let old = crate::Deposed { key: crate::Deposed::new_key(), record: record(addr, "old") };
    {
        let (store, _) = SledStore::open(&dir, "default", &key(4)).unwrap();
        store.commit(&[Change::Put(Box::new(record(addr, "old")))]).unwrap();
        store.commit(&[Change::Depose(Box::new(old.clone()))]).unwrap();
        let snap = store.load().unwrap();
        assert!(snap.resources.is_empty());
        assert_eq!(snap.deposed, vec![old.clone()]);
        store.commit(&[Change::Put(Box::new(record(addr, "new")))]).unwrap();
    }
    let (store, snap) = SledStore::open(&dir, "default", &key(4)).unwrap();
    assert_eq!(snap.deposed, vec![old.clone()]);
    assert_eq!(snap.resources[0].attributes["content"], "new");
    let mut expected = snap.clone();
    store.commit(&[Change::DeleteDeposed { addr: addr.into(), key: old.key.clone() }]).unwrap();
    expected.apply(&[Change::DeleteDeposed { addr: addr.into(), key: old.key.clone() }]);
    drop(store);
    let (_store, snap) = SledStore::open(&dir, "default", &key(4)).unwrap();
    assert!(snap.deposed.is_empty());
    assert_eq!(snap.resources, expected.resources);
    drop(_store);
    let _ = std::fs::remove_dir_all(&dir);
}

/// A checkpoint appends what changed since the last one to `backup.log`
/// (with a key set, sealed), reading the backup gives the state committed at
/// the last checkpoint, a torn frame at its end is not read, and once the log
/// outgrows `backup.json` the next checkpoint writes the whole state again.
#[test]
fn checkpoints_append_what_changed_and_the_backup_reads_as_the_last_one() {
    for crypt in [Crypt::none(), key(5)] {
        let dir = std::env::temp_dir().join(format!("landform-backup-log-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let ws = workspace_dir(&dir, "default").unwrap();
        let (store, snap) = SledStore::open(&dir, "default", &crypt).unwrap();
        store.save_backup(&snap).unwrap();
        let many: Vec<Change> =
            (0..50).map(|i| Change::Put(Box::new(record(&format!("local_file.f[{i}]"), "first")))).collect();
        store.commit(&many).unwrap();
        store.checkpoint().unwrap();
        let log = ws.join("backup.log");
        assert!(log.exists(), "the first checkpoint after the whole state appends a frame");
        assert_eq!(read_backup(&ws, &store.crypt).unwrap(), store.load().unwrap());
        // Changes after the last checkpoint are not the last good state.
        store.commit(&[Change::Delete("local_file.f[3]".into())]).unwrap();
        let kept = read_backup(&ws, &store.crypt).unwrap();
        assert_eq!(kept.resources.len(), 50);
        // A frame torn by a crash reads as the checkpoint before it.
        let whole = std::fs::read(&log).unwrap();
        let mut torn = whole.clone();
        torn.extend_from_slice(&whole[..whole.len() / 2]);
        std::fs::write(&log, &torn).unwrap();
        assert_eq!(read_backup(&ws, &store.crypt).unwrap(), kept);
        std::fs::write(&log, &whole).unwrap();
        // The log is longer than backup.json (an empty state): the whole state is written.
        store.commit(&[Change::Put(Box::new(record("local_file.g", "secret-canary")))]).unwrap();
        store.checkpoint().unwrap();
        assert!(!log.exists(), "the whole state replaces the log");
        let now = store.load().unwrap();
        assert_eq!(read_backup(&ws, &store.crypt).unwrap(), now);
        // Small changes append again, and the backup follows them.
        store.commit(&[Change::Put(Box::new(record("local_file.h", "secret-canary")))]).unwrap();
        store.checkpoint().unwrap();
        assert!(log.exists());
        assert_eq!(read_backup(&ws, &store.crypt).unwrap(), store.load().unwrap());
        if crypt.is_on() {
            assert_eq!(files_holding(&ws, "secret-canary"), Vec::<PathBuf>::new());
        }
        // Recovered from it, the state is the last checkpoint's.
        let at = store.load().unwrap();
        drop(store);
        std::fs::write(ws.join("db/db"), b"").unwrap();
        let (restored, _) = SledStore::recover(&dir, "default", &crypt).unwrap();
        assert_eq!((restored.resources, restored.serial), (at.resources, at.serial));
        let _ = std::fs::remove_dir_all(&dir);
    }
}

#[test]
fn a_records_private_data_is_base64_and_none_may_be_null_or_absent() {
    let mut r = record("a.b", "x");
    r.private = b"{\"schema_version\":\"1\"}".to_vec();
    let text = serde_json::to_value(&r).unwrap();
    assert_eq!(text["private"], "eyJzY2hlbWFfdmVyc2lvbiI6IjEifQ==");
    assert_eq!(serde_json::from_value::<ResourceRecord>(text).unwrap(), r);
    for none in [serde_json::json!(null), serde_json::json!("")] {
        let mut v = serde_json::to_value(record("a.b", "x")).unwrap();
        v["private"] = none;
        assert!(serde_json::from_value::<ResourceRecord>(v).unwrap().private.is_empty());
    }
    let absent = serde_json::to_value(record("a.b", "x")).unwrap();
    assert!(absent.get("private").is_none(), "none is not written");
    let mut bad = absent.clone();
    bad["private"] = serde_json::json!("not base64!");
    assert!(serde_json::from_value::<ResourceRecord>(bad).is_err());
}
