//! `state migrate --force` replaces a target workspace only under that
//! workspace's lock: while an apply holds it, migrate refuses, and nothing the
//! apply commits is lost (issue 25 item 2).

mod common;
use common::postgres::Postgres;
use common::{text, Fixture};
use std::process::Stdio;
use std::time::{Duration, Instant};

const CONFIG: &str = "resource \"landform_data\" \"a\" {\n  input = 1\n}\nresource \"local_exec\" \"slow\" {\n  create = \"sleep 4\"\n}\n";

fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let started = Instant::now();
    while !done() {
        assert!(started.elapsed() < Duration::from_secs(20), "waited too long for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn migrate_force_waits_for_the_target_workspace_lock() {
    let pg = Postgres::start();
    let f = Fixture::new("migrate-lock", CONFIG);
    // The source: a sled state.
    f.ok(&["apply", "-auto-approve"]);

    // Target PostgreSQL (its tables made first), where an apply runs and holds the lock.
    let list = f.cmd(&["state", "list"]).env("LANDFORM_BACKEND_URL", &pg.url).output().unwrap();
    assert!(list.status.success(), "{}", text(&list.stderr));
    let apply = f
        .cmd(&["apply", "-auto-approve"])
        .env("LANDFORM_BACKEND_URL", &pg.url)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for("the PostgreSQL apply's lock", || {
        pg.sql("SELECT count(*) FROM landform.locks WHERE workspace = 'default'") == "1"
    });
    let out = f.run(&["state", "migrate", "--to", &pg.url, "--force"]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "migrate replaced a workspace an apply holds:\n{}{err}", text(&out.stdout));
    assert!(err.contains("locked"), "{err}");
    let applied = apply.wait_with_output().unwrap();
    assert!(applied.status.success(), "{}", text(&applied.stderr));
    // The apply's work is all there: nothing to do.
    let plan = f.cmd(&["plan", "-detailed-exitcode"]).env("LANDFORM_BACKEND_URL", &pg.url).output().unwrap();
    assert_eq!(plan.status.code(), Some(0), "{}{}", text(&plan.stdout), text(&plan.stderr));
    // Once it is free, --force replaces it.
    f.ok(&["state", "migrate", "--to", &pg.url, "--force"]);

    // Target sled, where an apply runs and holds the lock.
    let back = f.dir.join("back");
    let back_s = back.to_str().unwrap().to_string();
    let apply = f
        .cmd(&["apply", "-auto-approve", "--state", &back_s])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = format!("\"pid\": {}", apply.id());
    wait_for("the sled apply's lock", || {
        std::fs::read_to_string(back.join("default.lock")).unwrap_or_default().contains(&pid)
    });
    let out = f
        .cmd(&["state", "migrate", "--to", "sled", "--state", &back_s, "--force"])
        .env("LANDFORM_BACKEND_URL", &pg.url)
        .output()
        .unwrap();
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "migrate replaced a workspace an apply holds:\n{}{err}", text(&out.stdout));
    assert!(err.contains("locked"), "{err}");
    let applied = apply.wait_with_output().unwrap();
    assert!(applied.status.success(), "{}", text(&applied.stderr));
    let plan = f.run(&["plan", "-detailed-exitcode", "--state", &back_s]);
    assert_eq!(plan.status.code(), Some(0), "{}{}", text(&plan.stdout), text(&plan.stderr));
}
