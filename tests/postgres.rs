//! The PostgreSQL state backend end to end: a real PostgreSQL (Debian's
//! `postgresql` package, which `scripts/test` installs), started by each test
//! on a free loopback port in a directory of its own, and the real binary
//! with `LANDFORM_BACKEND_URL`. Without PostgreSQL these tests fail.

mod common;

use common::postgres::Postgres;
use common::{copy_example, text, Fixture};
use std::path::Path;
use std::process::{Child, Output, Stdio};
use std::time::{Duration, Instant};

fn quickstart(name: &str) -> Fixture {
    let f = Fixture::new(name, "");
    copy_example("quickstart", &f.dir);
    f
}

fn on(f: &Fixture, pg: &Postgres, args: &[&str]) -> Output {
    f.cmd(args).env("LANDFORM_BACKEND_URL", &pg.url).stdin(Stdio::null()).output().unwrap()
}

fn ok(f: &Fixture, pg: &Postgres, args: &[&str]) -> String {
    let out = on(f, pg, args);
    assert_eq!(out.status.code(), Some(0), "landform {args:?}:\n{}\n{}", text(&out.stdout), text(&out.stderr));
    text(&out.stdout)
}

/// Done means 1: the quickstart applies, re-plans with no changes and
/// destroys with its state in PostgreSQL; nothing is written on disk.
#[test]
fn the_quickstart_applies_replans_clean_and_destroys_on_postgresql() {
    let pg = Postgres::start();
    let f = quickstart("pg-quickstart");
    let out = ok(&f, &pg, &["apply", "--auto-approve"]);
    assert!(out.contains("Apply complete! Resources: 5 added, 0 changed, 0 destroyed."), "{out}");
    assert!(!f.path(".landform/state/workspaces/default/db").exists(), "a sled state was written");
    assert_eq!(pg.sql("SELECT count(*) FROM landform.records WHERE kind = 'r'"), "5");
    let plan = on(&f, &pg, &["plan", "--detailed-exitcode"]);
    assert_eq!(plan.status.code(), Some(0), "{}", text(&plan.stdout));
    let listed = ok(&f, &pg, &["state", "list"]);
    assert_eq!(listed.lines().count(), 5, "{listed}");
    assert!(ok(&f, &pg, &["output", "pages"]).contains("index.html"));
    // Read-only commands see it; drift finds nothing.
    assert_eq!(on(&f, &pg, &["drift"]).status.code(), Some(0));
    let out = ok(&f, &pg, &["destroy", "--auto-approve"]);
    assert!(out.contains("Resources: 5 destroyed."), "{out}");
    assert_eq!(pg.sql("SELECT count(*) FROM landform.records WHERE kind = 'r'"), "0");
    // The URL (which may carry a password) is never printed.
    let bad =
        f.cmd(&["plan"]).env("LANDFORM_BACKEND_URL", "postgres://landform:hunter2pw@127.0.0.1:9/x").output().unwrap();
    assert_eq!(bad.status.code(), Some(1));
    let said = format!("{}{}", text(&bad.stdout), text(&bad.stderr));
    assert!(said.contains("cannot connect to the PostgreSQL state"), "{said}");
    assert!(!said.contains("hunter2pw"), "{said}");
}

/// Done means 2: two applies started together on one state: one proceeds,
/// the other fails at once naming the holder; with --lock-timeout it waits
/// and then succeeds. Over 20 rounds the serial rises by exactly the
/// commits made and every object is in the state once.
#[test]
fn two_applies_at_once_one_waits_or_fails_naming_the_holder() {
    let pg = Postgres::start();
    let f = quickstart("pg-race");
    ok(&f, &pg, &["apply", "--auto-approve"]);
    let mut contended = 0;
    for round in 0..20 {
        let release = format!("release=2.{round}.0");
        let spawn = |extra: &[&str]| -> Child {
            f.cmd(&[&["apply", "--auto-approve", "--no-progress", "--var", &release][..], extra].concat())
                .env("LANDFORM_BACKEND_URL", &pg.url)
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        };
        let wait = round % 2 == 1;
        let extra: &[&str] = if wait { &["--lock-timeout", "60s"] } else { &[] };
        let (a, b) = (spawn(extra), spawn(extra));
        let (a, b) = (a.wait_with_output().unwrap(), b.wait_with_output().unwrap());
        let codes = (a.status.code(), b.status.code());
        if wait {
            assert_eq!(codes, (Some(0), Some(0)), "round {round}: {}{}", text(&a.stderr), text(&b.stderr));
        } else {
            let (won, lost) = match codes {
                (Some(0), Some(1)) => (&a, &b),
                (Some(1), Some(0)) => (&b, &a),
                // One finished before the other started (a loaded machine): no overlap, no contention.
                (Some(0), Some(0)) => continue,
                other => panic!("round {round}: exit codes {other:?}: {}{}", text(&a.stderr), text(&b.stderr)),
            };
            contended += 1;
            let err = text(&lost.stderr);
            assert!(err.contains("the state is locked by another operation"), "round {round}: {err}");
            assert!(err.contains("Operation: apply"), "{err}");
            assert!(text(&won.stdout).contains("Apply complete!"));
        }
        let listed = ok(&f, &pg, &["state", "list"]);
        assert_eq!(listed.lines().count(), 5, "round {round}: {listed}");
        assert_eq!(pg.sql("SELECT count(*) FROM landform.locks"), "0", "round {round}: a lock row was left");
    }
    assert!(contended >= 3, "only {contended} of 10 rounds had the two applies overlap: the test exercised little");
    let plan = on(&f, &pg, &["plan", "--detailed-exitcode", "--var", "release=2.19.0"]);
    assert_eq!(plan.status.code(), Some(0), "{}", text(&plan.stdout));
}

/// Done means 3: kill -9 of the lock holder: PostgreSQL ends its session and
/// the lock with it, so the next apply proceeds at once and completes.
#[test]
fn a_killed_holder_frees_the_lock_within_seconds() {
    let pg = Postgres::start();
    let f = quickstart("pg-kill");
    ok(&f, &pg, &["apply", "--auto-approve"]);
    // An apply that holds the lock for as long as we like: one waiting for its confirmation.
    let mut holder = f
        .cmd(&["apply", "--var", "release=3.0.0"])
        .env("LANDFORM_BACKEND_URL", &pg.url)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while pg.sql("SELECT count(*) FROM landform.locks") != "1" {
        assert!(start.elapsed() < Duration::from_secs(20), "the first apply never took the lock");
        std::thread::sleep(Duration::from_millis(50));
    }
    let blocked = on(&f, &pg, &["apply", "--auto-approve", "--var", "release=3.0.0"]);
    assert_eq!(blocked.status.code(), Some(1));
    assert!(text(&blocked.stderr).contains("locked by another operation"), "{}", text(&blocked.stderr));
    holder.kill().unwrap();
    holder.wait().unwrap();
    let killed = Instant::now();
    let out = on(&f, &pg, &["apply", "--auto-approve", "--var", "release=3.0.0", "--lock-timeout", "20s"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(killed.elapsed() < Duration::from_secs(10), "the lock was free only after {:?}", killed.elapsed());
    assert!(text(&out.stdout).contains("Apply complete!"));
}

/// Done means 4: sled → PostgreSQL → sled round-trips `state pull` byte for
/// byte, every workspace with its lineage and serial; a target that holds a
/// workspace already is refused without --force.
#[test]
fn state_migrate_round_trips_sled_to_postgresql_and_back() {
    let pg = Postgres::start();
    let f = quickstart("pg-migrate");
    f.ok(&["apply", "--auto-approve"]);
    f.ok(&["workspace", "new", "staging"]);
    f.ok(&["apply", "--auto-approve", "--var", "env=staging"]);
    f.ok(&["workspace", "select", "default"]);
    let pull = |f: &Fixture, env: Option<&str>, ws: &str| {
        let mut c = f.cmd(&["state", "pull", "--show-sensitive", "--workspace", ws]);
        if let Some(url) = env {
            c.env("LANDFORM_BACKEND_URL", url);
        }
        let out = c.output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        out.stdout
    };
    let before = [pull(&f, None, "default"), pull(&f, None, "staging")];
    let out = f.ok(&["state", "migrate", "--to", &pg.url]);
    assert!(out.contains("Migrated 2 workspace(s) to PostgreSQL"), "{out}");
    let on_pg = [pull(&f, Some(&pg.url), "default"), pull(&f, Some(&pg.url), "staging")];
    assert_eq!(text(&on_pg[0]), text(&before[0]));
    assert_eq!(on_pg, before);
    // Again: refused, the target holds them now.
    let again = f.run(&["state", "migrate", "--to", &pg.url]);
    assert_eq!(again.status.code(), Some(1));
    assert!(
        text(&again.stderr).contains("already holds workspace \"default\"") && text(&again.stderr).contains("--force")
    );
    // The copy is the state: staging (applied last; both share the pages' files) plans clean from it.
    let plan = on(&f, &pg, &["plan", "--detailed-exitcode", "--workspace", "staging", "--var", "env=staging"]);
    assert_eq!(plan.status.code(), Some(0), "{}", text(&plan.stdout));
    // And back, into another directory.
    let back = f.dir.join("back");
    let out = f
        .cmd(&["state", "migrate", "--to", "sled", "--state", back.to_str().unwrap()])
        .env("LANDFORM_BACKEND_URL", &pg.url)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    for (i, ws) in ["default", "staging"].iter().enumerate() {
        let out = f
            .cmd(&["state", "pull", "--show-sensitive", "--workspace", ws, "--state", back.to_str().unwrap()])
            .output()
            .unwrap();
        assert_eq!(out.stdout, before[i], "workspace {ws} after sled → PostgreSQL → sled");
    }
}

/// Workspaces live in PostgreSQL too: created, listed, used, refused for
/// deletion while they manage resources, deleted; nothing in the local
/// state directory but the selection.
#[test]
fn workspaces_on_postgresql() {
    let pg = Postgres::start();
    let f = quickstart("pg-workspaces");
    let out = ok(&f, &pg, &["workspace", "new", "staging"]);
    assert!(out.contains("Created and switched to workspace \"staging\"."), "{out}");
    assert_eq!(pg.sql("SELECT name FROM landform.workspaces ORDER BY name"), "staging");
    let listed = ok(&f, &pg, &["workspace", "list"]);
    assert!(listed.contains("* staging") && listed.contains("  default"), "{listed}");
    ok(&f, &pg, &["apply", "--auto-approve", "--var", "env=staging"]);
    ok(&f, &pg, &["workspace", "select", "default"]);
    let refused = on(&f, &pg, &["workspace", "delete", "staging"]);
    assert_eq!(refused.status.code(), Some(1));
    assert!(text(&refused.stderr).contains("still manages 5 resource instance(s)"), "{}", text(&refused.stderr));
    ok(&f, &pg, &["destroy", "--auto-approve", "--workspace", "staging", "--var", "env=staging"]);
    assert!(ok(&f, &pg, &["workspace", "delete", "staging"]).contains("Deleted workspace \"staging\"."));
    assert!(!ok(&f, &pg, &["workspace", "list"]).contains("staging"));
    let missing = on(&f, &pg, &["plan", "--workspace", "staging"]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(text(&missing.stderr).contains("the workspace \"staging\" does not exist"), "{}", text(&missing.stderr));
    assert!(!f.path(".landform/state/workspaces").exists(), "a sled workspace was made");
}

/// TLS: a server that accepts only TLS connections, with a certificate from
/// a CA of the test's own. `sslmode=require&sslrootcert=CA` applies and
/// re-plans; without sslmode the server refuses the connection; with
/// sslmode but not the CA, the certificate is refused. The URL is never printed.
#[test]
fn tls_with_sslmode_require_verifies_the_server() {
    let pg = Postgres::start_with(true);
    let f = quickstart("pg-tls");
    let ca = pg.dir.join("ca.pem");
    let url = format!("{}?sslmode=require&sslrootcert={}", pg.url, ca.display());
    let run =
        |url: &str, args: &[&str]| f.cmd(args).env("LANDFORM_BACKEND_URL", url).stdin(Stdio::null()).output().unwrap();
    let out = run(&url, &["apply", "--auto-approve"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(run(&url, &["plan", "--detailed-exitcode"]).status.code(), Some(0));
    assert_eq!(pg.sql("SELECT count(*) FROM landform.records WHERE kind = 'r'"), "5");
    let plain = run(&pg.url, &["plan"]);
    assert_eq!(plain.status.code(), Some(1));
    let err = text(&plain.stderr);
    assert!(err.contains("cannot connect to the PostgreSQL state") && err.contains("no encryption"), "{err}");
    let unverified = run(&format!("{}?sslmode=require", pg.url), &["plan"]);
    assert_eq!(unverified.status.code(), Some(1));
    let err = text(&unverified.stderr);
    assert!(
        err.contains("cannot connect to the PostgreSQL state") && err.to_lowercase().contains("certificate"),
        "{err}"
    );
    assert!(!err.contains("postgres://"), "{err}");
}

const ENCRYPTED: &str = r#"
variable "token" {
  type      = string
  sensitive = true
  default   = "tok-canary-5150"
}
variable "word" {
  type    = string
  default = "canary-plain-4242"
}
resource "landform_data" "a" {
  input = { word = var.word, token = var.token }
}
resource "local_file" "f" {
  path    = "${path.module}/out.txt"
  content = "canary-file-7788"
}
output "content" { value = local_file.f.content }
"#;

/// Every file under `dir` (skipping `skip`) that holds one of `needles`, with the needle.
fn files_holding(dir: &Path, skip: &[&str], needles: &[&str]) -> Vec<String> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if skip.iter().any(|s| p.file_name().is_some_and(|n| n == *s)) {
            continue;
        }
        if p.is_dir() {
            out.extend(files_holding(&p, skip, needles));
        } else {
            let bytes = std::fs::read(&p).unwrap();
            for n in needles {
                if bytes.windows(n.len()).any(|w| w == n.as_bytes()) {
                    out.push(format!("{} holds {n}", p.display()));
                }
            }
        }
    }
    out
}

/// Done means 5: with encryption on, no attribute value appears in plain text
/// in the sled files (database, backup, saved plan) or in the PostgreSQL
/// rows; a missing or wrong key is a clear error that changes nothing;
/// `state rekey` rotates the key.
#[test]
fn encryption_leaves_no_attribute_value_readable_in_sled_files_or_postgresql_rows() {
    let canaries = ["canary-plain-4242", "tok-canary-5150", "canary-file-7788", "canary-plain-9999"];
    let f = Fixture::new("encryption", ENCRYPTED);
    let skip = ["main.lf", "out.txt", "key1", "key2"];
    let key1 = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
    std::fs::write(f.path("key1"), format!("{key1}\n")).unwrap();
    std::fs::write(f.path("key2"), "qrvOLu8sQ1dYWWNkZWZnaGlqa2xtbm9wcXJzdHV2d3g=").unwrap();
    let with = |key: &str, args: &[&str]| {
        let mut c = f.cmd(args);
        c.env("LANDFORM_STATE_KEY_FILE", f.path(key)).stdin(Stdio::null());
        c.output().unwrap()
    };
    // Without a key the values are in the files: the scans below can fail.
    f.ok(&["apply", "--auto-approve"]);
    assert!(!files_holding(&f.dir, &skip, &canaries).is_empty());
    // The key turned on: a plain state is not read with it (a plain record
    // could have been written by anyone) ...
    let out = with("key1", &["plan", "-out", "p.plan"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("not encrypted although a state key is set"), "{}", text(&out.stderr));
    // ... it is encrypted when asked: `state rekey` with no key set yet.
    f.ok(&["state", "rekey", "--new-key-file", f.path("key1").to_str().unwrap()]);
    let out = with("key1", &["plan", "-out", "p.plan"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let out = with("key1", &["apply", "--auto-approve", "--var", "word=canary-plain-9999"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(files_holding(&f.dir, &skip, &canaries), Vec::<String>::new());
    // ... and the values are all there to whom holds the key.
    let out = with("key1", &["state", "pull", "--show-sensitive"]);
    assert!(text(&out.stdout).contains("canary-plain-9999") && text(&out.stdout).contains("tok-canary-5150"));
    // No key, or a wrong one: exit 1 naming the key ID needed, nothing written.
    let manifest = std::fs::read(f.path(".landform/state/workspaces/default/manifest.json")).unwrap();
    for out in [f.run(&["apply", "--auto-approve"]), with("key2", &["state", "list"]), f.run(&["apply", "p.plan"])] {
        assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));
        let err = text(&out.stderr);
        assert!(err.contains("encrypted") && err.contains("LANDFORM_STATE_KEY") && !err.contains(key1), "{err}");
    }
    assert_eq!(std::fs::read(f.path(".landform/state/workspaces/default/manifest.json")).unwrap(), manifest);

    // To PostgreSQL, sealed with the same key: no value in any row.
    let pg = Postgres::start();
    let out = with("key1", &["state", "migrate", "--to", &pg.url]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let on_pg = |key: &str, args: &[&str]| {
        let mut c = f.cmd(args);
        c.env("LANDFORM_BACKEND_URL", &pg.url).env("LANDFORM_STATE_KEY_FILE", f.path(key)).stdin(Stdio::null());
        c.output().unwrap()
    };
    let out = on_pg("key1", &["apply", "--auto-approve", "--var", "word=canary-plain-4242"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let rows = pg.sql("SELECT kind || ' ' || key || ' ' || value FROM landform.records ORDER BY kind, key");
    let everything = format!("{rows}\n{}", pg.sql("SELECT row_to_json(w)::text FROM landform.workspaces w"));
    assert!(rows.contains("lfenc2:") && rows.contains("r local_file.f"), "{rows}");
    for c in canaries {
        assert!(!everything.contains(c), "{c} is in a row:\n{everything}");
    }
    // Rekey on PostgreSQL: the old key no longer reads it, the new one does.
    let mut c = f.cmd(&["state", "rekey", "--new-key-file", f.path("key2").to_str().unwrap()]);
    c.env("LANDFORM_BACKEND_URL", &pg.url).env("LANDFORM_STATE_KEY_FILE", f.path("key1"));
    let out = c.output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(on_pg("key1", &["state", "list"]).status.code(), Some(1));
    let out = on_pg("key2", &["plan", "--detailed-exitcode", "--var", "word=canary-plain-4242"]);
    assert_eq!(out.status.code(), Some(0), "{}{}", text(&out.stdout), text(&out.stderr));
    let rows = pg.sql("SELECT value FROM landform.records");
    assert!(!rows.is_empty() && !canaries.iter().any(|c| rows.contains(c)), "{rows}");
    // The sled state it was copied from keeps key1.
    let sled = with("key2", &["state", "list"]);
    assert!(sled.status.code() == Some(1) && text(&sled.stderr).contains("key ID"), "{}", text(&sled.stderr));
}

/// Issue 25 item 10 (done means 5): the lock's session is kept alive through
/// the server's idle_session_timeout (a second apply is refused all along);
/// a lock whose session is ended anyway stops the apply before its next
/// operation, saying so, and nothing it did is lost.
#[test]
fn the_lock_outlives_idle_session_timeout_and_a_lost_lock_stops_the_apply_saying_so() {
    let pg = Postgres::start();
    pg.sql("ALTER DATABASE landform SET idle_session_timeout = '1s'");
    let config = r#"
resource "local_exec" "a" {
  create = "touch a.started; sleep 4; echo a >> ran.txt"
}
resource "local_exec" "b" {
  create     = "echo b >> ran.txt"
  depends_on = [local_exec.a]
}
"#;
    let spawn = |f: &Fixture, ws: &str| {
        f.cmd(&["apply", "--auto-approve", "--no-progress"])
            .env("LANDFORM_BACKEND_URL", &pg.url)
            .env("LANDFORM_WORKSPACE", ws)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let wait_for = |p: &Path| {
        let start = Instant::now();
        while !p.exists() && start.elapsed() < Duration::from_secs(30) {
            std::thread::sleep(Duration::from_millis(50));
        }
        assert!(p.exists(), "{} never appeared", p.display());
    };
    let ran = |f: &Fixture| std::fs::read_to_string(f.path("ran.txt")).unwrap_or_default();

    // Idle for longer than the server allows: the lock is still held.
    let f = Fixture::new("pg-lock-alive", config);
    let first = spawn(&f, "default");
    wait_for(&f.path("a.started"));
    std::thread::sleep(Duration::from_millis(2500));
    let second =
        f.cmd(&["apply", "--auto-approve"]).env("LANDFORM_BACKEND_URL", &pg.url).stdin(Stdio::null()).output().unwrap();
    let first = first.wait_with_output().unwrap();
    assert_eq!(second.status.code(), Some(1), "a second apply ran beside the first: {}", text(&second.stdout));
    assert!(text(&second.stderr).contains("locked"), "{}", text(&second.stderr));
    assert_eq!(first.status.code(), Some(0), "{}{}", text(&first.stdout), text(&first.stderr));
    assert_eq!(ran(&f), "a\nb\n");

    // The lock's session ended from outside (an administrator, a restart):
    // the apply stops before b, says why, and loses nothing.
    let g = Fixture::new("pg-lock-lost", config);
    ok(&g, &pg, &["workspace", "new", "two"]);
    let apply = spawn(&g, "two");
    wait_for(&g.path("a.started"));
    let ended = pg.sql("SELECT count(pg_terminate_backend(backend_pid)) FROM landform.locks WHERE workspace = 'two'");
    assert_eq!(ended, "1");
    let out = apply.wait_with_output().unwrap();
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{}{err}", text(&out.stdout));
    assert!(err.contains("lock on workspace \"two\"") && err.contains("was lost"), "{err}");
    assert_eq!(ran(&g), "a\n", "b started after the lock was lost");
    let on_two = |args: &[&str]| {
        let out = g
            .cmd(args)
            .env("LANDFORM_BACKEND_URL", &pg.url)
            .env("LANDFORM_WORKSPACE", "two")
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{args:?}: {}{}", text(&out.stdout), text(&out.stderr));
    };
    // What a did is in the state or in the recovery file the error names.
    let recovery: Vec<_> = std::fs::read_dir(&g.dir)
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with("landform-recovery-"))
        .collect();
    for r in &recovery {
        on_two(&["state", "push", r.path().to_str().unwrap()]);
    }
    on_two(&["apply", "--auto-approve"]);
    assert_eq!(ran(&g), "a\nb\n", "a ran once, b once");
}

/// Issue 25 items 11 and 14: `sslmode=prefer` tries TLS first, as psql
/// does (a server that takes only TLS is reached); a parameter given twice
/// (`sslmode=require&sslmode=disable`) is an error, never the last one
/// silently; a schema name PostgreSQL would cut to 63 bytes is refused.
#[test]
fn sslmode_prefer_uses_tls_and_a_repeated_parameter_or_an_overlong_schema_is_refused() {
    let tls = Postgres::start_with(true);
    let f = quickstart("pg-sslmode");
    let run =
        |url: &str, args: &[&str]| f.cmd(args).env("LANDFORM_BACKEND_URL", url).stdin(Stdio::null()).output().unwrap();
    let ca = tls.dir.join("ca.pem");
    for mode in ["prefer", "allow"] {
        let out = run(&format!("{}?sslmode={mode}&sslrootcert={}", tls.url, ca.display()), &["state", "list"]);
        assert_eq!(out.status.code(), Some(0), "sslmode={mode} did not use TLS: {}", text(&out.stderr));
    }
    drop(tls);
    let pg = Postgres::start();
    for query in ["sslmode=require&sslmode=disable", "sslmode=disable&sslmode=disable", "schema=a&schema=b"] {
        let out = run(&format!("{}?{query}", pg.url), &["apply", "--auto-approve"]);
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{query} was taken: {}{err}", text(&out.stdout));
        assert!(err.contains("more than once"), "{query}: {err}");
    }
    let out = run(&format!("{}?sslmode=sometimes", pg.url), &["state", "list"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    // Two names that share their first 63 bytes would be one schema.
    let long = format!("{}{}", "s".repeat(63), "a");
    let out = run(&format!("{}?schema={long}", pg.url), &["apply", "--auto-approve"]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{}{err}", text(&out.stdout));
    assert!(err.contains("63 bytes") && err.contains("64 bytes long"), "{err}");
    std::fs::write(
        f.path("backend.lf"),
        format!("backend \"postgres\" {{\n  url    = env(\"LANDFORM_PG_URL\")\n  schema = \"{long}\"\n}}\n"),
    )
    .unwrap();
    let out =
        f.cmd(&["apply", "--auto-approve"]).env("LANDFORM_PG_URL", &pg.url).stdin(Stdio::null()).output().unwrap();
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{}{err}", text(&out.stdout));
    assert!(err.contains("63 bytes"), "{err}");
    assert_eq!(pg.sql(&format!("SELECT count(*) FROM pg_namespace WHERE nspname LIKE '{}%'", "s".repeat(20))), "0");
}

/// Issue 25 item 9: with a key set, a record in plain text (which anyone who
/// can write the database could forge) or a sealed record copied from another
/// workspace is refused, naming it; it is never read, never sealed again.
#[test]
fn with_a_key_a_plain_or_copied_postgresql_record_is_refused_naming_it_and_never_resealed() {
    let pg = Postgres::start();
    let f = Fixture::new("pg-forged", ENCRYPTED);
    std::fs::write(f.path("key1"), "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff").unwrap();
    let run = |workspace: &str, key: bool, args: &[&str]| {
        let mut c = f.cmd(args);
        c.env("LANDFORM_BACKEND_URL", &pg.url).env("LANDFORM_WORKSPACE", workspace).stdin(Stdio::null());
        if key {
            c.env("LANDFORM_STATE_KEY_FILE", f.path("key1"));
        }
        c.output().unwrap()
    };
    let ok = |workspace: &str, key: bool, args: &[&str]| {
        let out = run(workspace, key, args);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {}{}", text(&out.stdout), text(&out.stderr));
    };
    ok("default", true, &["apply", "--auto-approve"]);
    for ws in ["dev", "plain"] {
        ok("default", true, &["workspace", "new", ws]);
    }
    ok("dev", true, &["apply", "--auto-approve"]);
    ok("plain", false, &["apply", "--auto-approve"]);
    let value = |ws: &str, key: &str| {
        pg.sql(&format!("SELECT value FROM landform.records WHERE workspace = '{ws}' AND kind = 'r' AND key = '{key}'"))
    };
    // A forged record: the plain one, put in place of the sealed one.
    pg.sql(
        "UPDATE landform.records SET value = (SELECT value FROM landform.records WHERE workspace = 'plain' AND kind = 'r' AND key = 'landform_data.a') WHERE workspace = 'default' AND kind = 'r' AND key = 'landform_data.a'",
    );
    let forged = value("default", "landform_data.a");
    assert!(forged.starts_with('{'), "{forged}");
    for args in [&["plan"][..], &["apply", "--auto-approve"], &["state", "list"]] {
        let out = run("default", true, args);
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?} read a plain record: {}{err}", text(&out.stdout));
        assert!(err.contains("record r/landform_data.a") && err.contains("not encrypted"), "{err}");
    }
    assert_eq!(value("default", "landform_data.a"), forged, "the forged record was sealed as if it were ours");
    // A sealed record copied from workspace dev into default: it does not open there.
    pg.sql(
        "UPDATE landform.records SET value = (SELECT value FROM landform.records WHERE workspace = 'dev' AND kind = 'r' AND key = 'local_file.f') WHERE workspace = 'default' AND kind = 'r' AND key = 'local_file.f'",
    );
    pg.sql("UPDATE landform.records SET value = (SELECT value FROM landform.records WHERE workspace = 'dev' AND kind = 'r' AND key = 'landform_data.a') WHERE workspace = 'default' AND kind = 'r' AND key = 'landform_data.a'");
    let out = run("default", true, &["plan"]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "a record of workspace dev opened in default: {}{err}", text(&out.stdout));
    assert!(err.contains("of workspace \"default\"") && err.contains("does not decrypt"), "{err}");
    // dev itself is untouched and reads.
    ok("dev", true, &["plan"]);
}

/// The issue's other way to choose the backend: a `backend "postgres"` block
/// whose URL comes from the environment; errors point at the block.
#[test]
fn a_backend_block_keeps_the_state_in_postgresql() {
    let pg = Postgres::start();
    let f = quickstart("pg-block");
    let block = "backend \"postgres\" {\n  url    = env(\"LANDFORM_PG_URL\")\n  schema = \"team\"\n}\n";
    std::fs::write(f.path("backend.lf"), block).unwrap();
    let run = |args: &[&str]| f.cmd(args).env("LANDFORM_PG_URL", &pg.url).stdin(Stdio::null()).output().unwrap();
    let out = run(&["apply", "--auto-approve"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let port = pg.url.rsplit(':').next().unwrap().split('/').next().unwrap().to_string();
    assert!(!text(&out.stdout).contains(&port) && !text(&out.stderr).contains(&port));
    assert_eq!(pg.sql("SELECT count(*) > 0 FROM team.records WHERE workspace = 'default'"), "t");
    assert!(!f.path(".landform/state/workspaces").exists(), "a sled state was written");
    let out = run(&["plan", "--detailed-exitcode"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    let listed = run(&["state", "list"]);
    assert!(text(&listed.stdout).contains("landform_data.build"), "{}", text(&listed.stdout));
    // The variable unset: an error at the block, and no sled state made instead.
    let out = f.run(&["state", "list"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("backend.lf:2:") && text(&out.stderr).contains("LANDFORM_PG_URL"),
        "{}",
        text(&out.stderr)
    );
    assert!(!f.path(".landform/state/workspaces").exists());
    // A reference: refused by validate, at its position.
    std::fs::write(f.path("backend.lf"), "backend \"postgres\" {\n  url = var.env\n}\n").unwrap();
    let out = f.run(&["validate"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("Reference in a backend setting"), "{}", text(&out.stderr));
    std::fs::write(f.path("backend.lf"), block).unwrap();
    let out = run(&["destroy", "--auto-approve"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(pg.sql("SELECT count(*) FROM team.records WHERE workspace = 'default' AND kind = 'r'"), "0");
}

/// Issue 14: Terraform's own spelling, `terraform { backend "pg" { conn_str,
/// schema_name } }` (or PG_CONN_STR), is Landform's PostgreSQL backend; other
/// Terraform backends and `cloud` are refused at their line.
#[test]
fn terraforms_pg_backend_block_is_the_postgresql_backend_and_others_are_refused() {
    let pg = Postgres::start();
    let f = quickstart("tf-pg-block");
    std::fs::write(f.path("backend.lf"), "terraform {\n  backend \"pg\" {\n    schema_name = \"tfteam\"\n  }\n}\n")
        .unwrap();
    let run = |args: &[&str]| f.cmd(args).env("PG_CONN_STR", &pg.url).stdin(Stdio::null()).output().unwrap();
    let out = run(&["apply", "-auto-approve"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(pg.sql("SELECT count(*) > 0 FROM tfteam.records WHERE workspace = 'default'"), "t");
    assert!(!f.path(".landform/state/workspaces").exists(), "a sled state was written");
    let out = run(&["destroy", "-auto-approve"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    for (block, line) in
        [("backend \"s3\" {\n    bucket = \"b\"\n  }", "backend.lf:2:11"), ("cloud {\n  }", "backend.lf:2:3")]
    {
        std::fs::write(f.path("backend.lf"), format!("terraform {{\n  {block}\n}}\n")).unwrap();
        let out = f.run(&["validate"]);
        assert_eq!(out.status.code(), Some(1));
        let err = text(&out.stderr);
        assert!(err.contains("Unsupported backend") && err.contains(line) && err.contains("backend \"pg\""), "{err}");
    }
}

/// Issue 27: a deposed object (the old object of a create_before_destroy
/// replacement whose destroy failed) is a row of its own in PostgreSQL
/// (kind `d`), read back by the next plan and removed when the next apply
/// destroys it.
#[test]
fn a_deposed_object_is_kept_in_postgresql_until_it_is_destroyed() {
    let pg = Postgres::start();
    let cfg = r#"
variable "v" {
  default = "1"
}
resource "local_exec" "e" {
  create  = "echo ${var.v} > e-${var.v}.txt"
  destroy = "test -e allow && rm -f e-${var.v}.txt"
  lifecycle {
    create_before_destroy = true
  }
}
"#;
    let f = Fixture::new("pg-deposed", cfg);
    ok(&f, &pg, &["apply", "--auto-approve"]);
    let out = on(&f, &pg, &["apply", "--auto-approve", "--var", "v=2"]);
    assert_eq!(out.status.code(), Some(1), "{}{}", text(&out.stdout), text(&out.stderr));
    assert_eq!(pg.sql("SELECT count(*) FROM landform.records WHERE kind = 'd'"), "1");
    assert_eq!(pg.sql("SELECT count(*) FROM landform.records WHERE kind = 'r'"), "1");
    let plan = ok(&f, &pg, &["plan", "--var", "v=2"]);
    assert!(plan.contains("(deposed object ") && plan.contains("1 to destroy"), "{plan}");
    std::fs::write(f.path("allow"), "").unwrap();
    ok(&f, &pg, &["apply", "--auto-approve", "--var", "v=2"]);
    assert_eq!(pg.sql("SELECT count(*) FROM landform.records WHERE kind = 'd'"), "0");
    assert!(!f.path("e-1.txt").exists() && f.path("e-2.txt").exists());
}
