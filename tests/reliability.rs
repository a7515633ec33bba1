//! Regression tests for "nothing lost, ever": apply evaluates what refresh saw,
//! a damaged state is refused and recoverable, a failed commit loses nothing,
//! locks clear, and workspaces and readers do not block each other. Each runs
//! the real binary.

mod common;
use common::{copy_dir, text, Fixture};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn sha256_hex(data: &[u8]) -> String {
    // The expected hash comes from the system's sha256sum, not from Landform.
    let mut child = Command::new("sha256sum").stdin(Stdio::piped()).stdout(Stdio::piped()).spawn().unwrap();
    std::io::Write::write_all(child.stdin.as_mut().unwrap(), data).unwrap();
    let out = child.wait_with_output().unwrap();
    text(&out.stdout).split_whitespace().next().unwrap().to_string()
}

#[test]
fn apply_writes_what_the_plan_showed_after_an_outside_edit() {
    let f = Fixture::new(
        "refresh-seen",
        r#"
variable "v" {
  default = "one"
}
resource "local_file" "a" {
  path    = "a.txt"
  content = var.v
}
resource "local_file" "b" {
  path    = "b.txt"
  content = "a_sha=${local_file.a.content_sha256}"
}
"#,
    );
    f.ok(&["apply", "--auto-approve"]);
    std::fs::write(f.path("a.txt"), "two").unwrap();
    f.ok(&["apply", "--auto-approve", "--var", "v=two"]);
    let b = std::fs::read_to_string(f.path("b.txt")).unwrap();
    assert_eq!(b, format!("a_sha={}", sha256_hex(b"two")), "b must use the hash refresh saw");
    let out = f.run(&["plan", "--detailed-exitcode", "--var", "v=two"]);
    assert_eq!(out.status.code(), Some(0), "apply must converge:\n{}", text(&out.stdout));
}

const TWO_FILES: &str = r#"
resource "local_file" "f" {
  count   = 20
  path    = "out/f-${count.index}.txt"
  content = "file ${count.index}"
}
"#;

fn state_files(f: &Fixture) -> std::path::PathBuf {
    f.path(".landform/state/workspaces/default")
}

fn read_all(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            if e.file_type().unwrap().is_dir() {
                stack.push(e.path());
            } else {
                out.push((e.path().display().to_string(), std::fs::read(e.path()).unwrap()));
            }
        }
    }
    out.sort();
    out
}

/// Damage the state in one way, check that plan, apply and the readers refuse
/// it without writing anything, then recover it.
fn refused_then_recovered(name: &str, damage: &dyn Fn(&Path)) {
    let f = Fixture::new(&format!("damage-{name}"), TWO_FILES);
    f.ok(&["apply", "--auto-approve"]);
    let dir = state_files(&f);
    damage(&dir);
    let before = read_all(&dir);
    for args in [&["plan"][..], &["apply", "--auto-approve"], &["state", "list"], &["output"], &["show"]] {
        let out = f.run(args);
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{name}: {args:?} must fail:\n{}{err}", text(&out.stdout));
        assert!(err.contains("is damaged"), "{name}: {args:?} must say the state is damaged:\n{err}");
        assert!(err.contains("landform state recover"), "{name}: {args:?} must say how to recover:\n{err}");
        assert!(!err.contains("backtrace") && !err.contains("Os {"), "{name}: error in words:\n{err}");
    }
    assert!(read_all(&dir) == before, "{name}: refusing a damaged state must write nothing to it");
    let out = f.ok(&["state", "recover"]);
    assert!(out.contains("20 resource instance(s)"), "{name}: {out}");
    let plan = f.run(&["plan", "--detailed-exitcode"]);
    assert_eq!(plan.status.code(), Some(0), "{name}: after recover:\n{}", text(&plan.stdout));
}

#[test]
fn a_truncated_zeroed_or_deleted_state_is_refused_and_recovered() {
    let set_len = |len: u64| {
        move |d: &Path| {
            std::fs::OpenOptions::new().write(true).open(d.join("db/db")).unwrap().set_len(len).unwrap();
        }
    };
    refused_then_recovered("trunc0", &set_len(0));
    refused_then_recovered("trunc1", &set_len(1));
    refused_then_recovered("trunc100", &set_len(100));
    refused_then_recovered("zeroed", &|d: &Path| {
        let n = std::fs::metadata(d.join("db/db")).unwrap().len();
        std::fs::write(d.join("db/db"), vec![0u8; n as usize]).unwrap();
    });
    refused_then_recovered("deleted", &|d: &Path| std::fs::remove_file(d.join("db/db")).unwrap());
    refused_then_recovered("no-manifest", &|d: &Path| std::fs::remove_file(d.join("manifest.json")).unwrap());
}

#[test]
fn random_bit_flips_in_the_state_are_refused_or_harmless() {
    // A small deterministic generator: the seeds are printed with any failure.
    let mut seed: u64 = 0x5eed_1234_abcd_0001;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let mut refused = 0;
    for trial in 0..8 {
        let r = next();
        let name = format!("flip{trial}");
        let f = Fixture::new(&format!("damage-{name}"), TWO_FILES);
        f.ok(&["apply", "--auto-approve"]);
        let p = state_files(&f).join("db/db");
        let mut data = std::fs::read(&p).unwrap();
        // Flip a bit inside the written part of the file, not its zero padding.
        let used = data.iter().rposition(|b| *b != 0).unwrap() + 1;
        let at = (r % used as u64) as usize;
        data[at] ^= 1 << ((r >> 32) % 8);
        std::fs::write(&p, data).unwrap();
        // A flip in bytes sled no longer reads (a superseded log entry) leaves
        // the state as it was, which the digest proves; any other is refused.
        let out = f.run(&["plan", "--detailed-exitcode"]);
        let err = text(&out.stderr);
        match out.status.code() {
            Some(0) => assert_eq!(f.ok(&["state", "list"]).lines().count(), 20, "{name}: byte {at} of {used}"),
            _ => {
                assert!(err.contains("is damaged"), "{name}: byte {at} of {used}: {err}");
                refused += 1;
                f.ok(&["state", "recover"]);
                let plan = f.run(&["plan", "--detailed-exitcode"]);
                assert_eq!(plan.status.code(), Some(0), "{name}: after recover:\n{}", text(&plan.stdout));
            }
        }
    }
    assert!(refused > 0, "flips in the records must be refused");
}

#[test]
fn a_rolled_back_state_is_refused() {
    let f = Fixture::new("rollback", TWO_FILES);
    f.ok(&["apply", "--auto-approve"]);
    let dir = state_files(&f);
    let old = std::env::temp_dir().join(format!("landform-rollback-db-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&old);
    copy_dir(&dir.join("db"), &old);
    f.write(&TWO_FILES.replace("count   = 20", "count   = 25"));
    f.ok(&["apply", "--auto-approve"]);
    // Put the older database back under the newer manifest: the last commit is lost.
    std::fs::remove_dir_all(dir.join("db")).unwrap();
    copy_dir(&old, &dir.join("db"));
    let out = f.run(&["plan"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("commits were lost"), "{}", text(&out.stderr));
    let _ = std::fs::remove_dir_all(&old);
}

#[test]
fn state_files_are_private() {
    let f = Fixture::new("private", TWO_FILES);
    f.ok(&["apply", "--auto-approve"]);
    use std::os::unix::fs::PermissionsExt;
    for (path, _) in read_all(&f.path(".landform/state")) {
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{path} has mode {mode:o}");
    }
}

#[test]
fn a_failed_commit_exits_1_and_loses_nothing() {
    // Waves of ten files, each after the one before, so that the database
    // fills up in the middle of the apply.
    let mut config = String::new();
    for w in 0..60 {
        let after = if w == 0 { String::new() } else { format!("  depends_on = [local_file.w{}]\n", w - 1) };
        config.push_str(&format!(
            "resource \"local_file\" \"w{w}\" {{\n  count   = 10\n  path    = \"out/w{w}-${{count.index}}.txt\"\n  content = \"file {w} ${{count.index}} ${{join(\"\", [for i in range(40) : \"padding\"])}}\"\n{after}}}\n"
        ));
    }
    let mut recovered = 0;
    for limit in [600, 650, 700, 750, 800, 900] {
        let f = Fixture::new(&format!("fsize-{limit}"), &config);
        if failed_commit_loses_nothing(&f, limit) {
            recovered += 1;
        }
    }
    assert!(recovered > 0, "at least one limit must fail a commit with results in flight");
}

/// Apply under a file-size limit of `limit` KiB; the apply must fail cleanly
/// with every object on disk in the state or in the recovery file, and end,
/// once that is loaded, with nothing left to do. Returns whether a recovery
/// file was needed.
fn failed_commit_loses_nothing(f: &Fixture, limit: u32) -> bool {
    // A file-size limit makes the state database's writes fail as a full disk would.
    let out = Command::new("bash")
        .arg("-c")
        .arg(format!(
            "trap '' XFSZ; ulimit -f {limit}; exec {} apply --auto-approve --no-color",
            env!("CARGO_BIN_EXE_landform")
        ))
        .current_dir(&f.dir)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("the state could not be saved"), "{err}");
    assert!(!err.contains("The state is saved") && !err.contains("Os {"), "{err}");
    let recovery: Vec<_> = std::fs::read_dir(&f.dir)
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with("landform-recovery-"))
        .collect();
    let paths = |snap: &serde_json::Value| -> std::collections::BTreeSet<String> {
        snap["resources"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["attributes"]["path"].as_str().unwrap().to_string())
            .collect()
    };
    let in_recovery = match recovery.first() {
        Some(r) => {
            assert!(err.contains("landform state push"), "{err}");
            paths(&serde_json::from_slice(&std::fs::read(r.path()).unwrap()).unwrap())
        }
        None => Default::default(),
    };
    let state = paths(&serde_json::from_str(&f.ok(&["state", "pull"])).unwrap());
    let files: Vec<_> = std::fs::read_dir(f.path("out")).map(|d| d.flatten().collect()).unwrap_or_default();
    for e in &files {
        let p = format!("out/{}", e.file_name().to_string_lossy());
        assert!(in_recovery.contains(&p) || state.contains(&p), "limit {limit}: {p} is orphaned");
    }
    // The recovery file loads, and then the rest applies.
    if let Some(r) = recovery.first() {
        f.ok(&["state", "push", &r.path().display().to_string()]);
    }
    f.ok(&["apply", "--auto-approve"]);
    let plan = f.run(&["plan", "--detailed-exitcode"]);
    assert_eq!(plan.status.code(), Some(0), "{}", text(&plan.stdout));
    !recovery.is_empty()
}

const SLOW: &str = r#"
resource "local_exec" "slow" {
  create      = "sleep 3"
  update      = "sleep 3"
  environment = { V = "1" }
}
output "x" {
  value = "done"
}
"#;

#[test]
fn readers_and_other_workspaces_work_during_an_apply() {
    let f = Fixture::new("readers", SLOW);
    f.ok(&["apply", "--auto-approve"]);
    f.write(&SLOW.replace("\"1\"", "\"2\""));
    let mut child = f.cmd(&["apply", "--auto-approve"]).stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
    std::thread::sleep(Duration::from_millis(1000));
    let started = Instant::now();
    assert_eq!(f.ok(&["state", "list"]).trim(), "local_exec.slow");
    assert!(f.ok(&["output", "x"]).contains("done"));
    f.ok(&["show"]);
    // Another workspace is another state, with its own lock.
    f.write(&SLOW.replace("sleep 3", "true"));
    f.ok(&["workspace", "new", "other"]);
    f.ok(&["apply", "--auto-approve", "--workspace", "other"]);
    assert!(started.elapsed() < Duration::from_secs(3), "readers must not wait for the apply");
    assert!(child.wait().unwrap().success());
}

/// The lock is the kernel's, not the file's: a lock file left by a process
/// that is gone, or left empty by a full disk, holds nothing, and the next
/// operation takes the lock over it; `force-unlock` still removes such a file.
#[test]
fn a_lock_file_left_by_a_dead_process_or_damaged_is_taken_over() {
    let f = Fixture::new("stale-lock", TWO_FILES);
    f.ok(&["apply", "--auto-approve"]);
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap().trim().to_string();
    // A pid that cannot be running: above the kernel's maximum.
    let lock = format!(
        r#"{{"id":"abc-123","operation":"apply","who":"someone@{host}","pid":4194305,"created":"2026-01-01T00:00:00Z","workspace":"default"}}"#
    );
    std::fs::write(f.path(".landform/state/default.lock"), &lock).unwrap();
    let out = f.run(&["plan", "--detailed-exitcode"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    // An empty lock file, as a full disk leaves it.
    std::fs::write(f.path(".landform/state/default.lock"), "").unwrap();
    let out = f.run(&["plan", "--detailed-exitcode"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    std::fs::write(f.path(".landform/state/default.lock"), "").unwrap();
    f.ok(&["force-unlock", "damaged"]);
    std::fs::write(f.path(".landform/state/default.lock"), &lock).unwrap();
    f.ok(&["force-unlock", "abc-123"]);
    assert!(!f.path(".landform/state/default.lock").exists());
    f.ok(&["plan"]);
}

#[test]
fn the_lock_names_the_user_when_user_is_unset() {
    let f = Fixture::new("lock-user", SLOW);
    let mut child = f
        .cmd(&["apply", "--auto-approve"])
        .env_remove("USER")
        .env_remove("LOGNAME")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(800));
    let lock = std::fs::read_to_string(f.path(".landform/state/default.lock")).unwrap();
    let _ = child.wait();
    let who: serde_json::Value = serde_json::from_str(&lock).unwrap();
    let who = who["who"].as_str().unwrap();
    assert!(!who.starts_with("unknown@"), "{who}");
}

fn sigint(child: &std::process::Child) {
    Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap();
}

fn wait_for(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn an_interrupt_at_the_prompt_or_during_plan_releases_the_lock() {
    let f = Fixture::new("sigint-prompt", TWO_FILES);
    let lock = f.path(".landform/state/default.lock");
    let mut child =
        f.cmd(&["apply"]).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let errors = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = std::io::Read::read_to_string(&mut stderr, &mut s);
        s
    });
    wait_for("the lock", || lock.exists());
    std::thread::sleep(Duration::from_millis(300));
    sigint(&child);
    // Standard input stays open: the prompt is still waiting when the interrupt comes.
    let status = child.wait().unwrap();
    drop(child.stdin.take());
    assert_eq!(status.code(), Some(130), "{}", errors.join().unwrap());
    assert!(!lock.exists(), "the lock must be released");
    // A plan blocked on a server that accepts and never answers (HAProxy's
    // runtime API, read with a 10 s timeout), interrupted. (A data source
    // reading a named pipe blocked here once; pipes are refused now.)
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port();
    f.write(&format!(
        r#"
provider "haproxy" {{
  runtime_api = "127.0.0.1:{port}"
}}
data "haproxy_backend" "blocked" {{
  name = "app"
}}
"#
    ));
    let child = f.cmd(&["plan"]).stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
    wait_for("the lock", || lock.exists());
    std::thread::sleep(Duration::from_millis(300));
    sigint(&child);
    let started = Instant::now();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(130));
    assert!(started.elapsed() < Duration::from_secs(5), "the interrupt took {:?}", started.elapsed());
    assert!(!lock.exists(), "the lock must be released");
    drop(silent);
}

#[test]
fn a_second_interrupt_kills_the_commands_in_flight_and_releases_the_lock() {
    let f = Fixture::new(
        "sigint-twice",
        r#"
resource "local_exec" "quick" {
  create = "touch quick.done"
}
resource "local_exec" "long" {
  create = "sleep 30; touch long.done"
}
"#,
    );
    let lock = f.path(".landform/state/default.lock");
    let started = Instant::now();
    let child = f.cmd(&["apply", "--auto-approve"]).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    wait_for("the quick command", || f.path("quick.done").exists());
    std::thread::sleep(Duration::from_millis(500));
    sigint(&child);
    std::thread::sleep(Duration::from_millis(300));
    sigint(&child);
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(130), "{}", text(&out.stderr));
    assert!(started.elapsed() < Duration::from_secs(15), "the sleep must have been killed");
    assert!(!lock.exists(), "the lock must be released");
    std::thread::sleep(Duration::from_millis(200));
    assert!(!f.path("long.done").exists(), "the killed command must not go on");
    // What finished was recorded; the next apply does only what is left.
    assert_eq!(f.ok(&["state", "list"]).trim(), "local_exec.quick");
    let plan = f.ok(&["plan"]);
    assert!(plan.contains("1 to add"), "{plan}");
}

#[test]
fn a_closed_pipe_ends_output_without_a_panic_and_apply_still_finishes() {
    let f = Fixture::new(
        "closed-pipe",
        "resource \"local_file\" \"f\" {\n  count   = 50\n  path    = \"out/f-${count.index}.txt\"\n  content = \"x\"\n}\n",
    );
    let landform = env!("CARGO_BIN_EXE_landform");
    for cmd in ["plan --json", "apply --auto-approve --no-progress", "state pull", "graph", "state list"] {
        let out = std::process::Command::new("bash")
            .arg("-c")
            .arg(format!("{landform} {cmd} --no-color | head -c1 >/dev/null; echo ${{PIPESTATUS[0]}}"))
            .current_dir(&f.dir)
            .output()
            .unwrap();
        let err = text(&out.stderr);
        assert_eq!(text(&out.stdout).trim(), "0", "{cmd}: {err}");
        assert!(!err.contains("panicked"), "{cmd}: {err}");
    }
    assert_eq!(f.ok(&["state", "list"]).lines().count(), 50, "the apply behind the closed pipe finished");
}

#[test]
fn an_interrupted_create_is_adopted_when_found_and_created_again_when_not() {
    let f = Fixture::new(
        "intents",
        "resource \"local_file\" \"kept\" {\n  path    = \"out/kept.txt\"\n  content = \"k\"\n}\nresource \"local_exec\" \"cmd\" {\n  create = \"echo run >> out/runs.txt\"\n}\n",
    );
    f.ok(&["plan"]);
    // The state an apply killed between its creates and their commit leaves.
    let mut snap: serde_json::Value = serde_json::from_str(&f.ok(&["state", "pull"])).unwrap();
    let pending = |addr: &str, ty: &str, attrs: serde_json::Value| {
        serde_json::json!({"addr": addr, "mode": "managed", "type": ty, "name": addr.split('.').nth(1).unwrap(),
            "provider": "local", "attributes": attrs})
    };
    snap["pending"] = serde_json::json!([
        pending("local_file.kept", "local_file", serde_json::json!({"path": "out/kept.txt", "content": "k"})),
        pending("local_exec.cmd", "local_exec", serde_json::json!({"create": "echo run >> out/runs.txt"})),
    ]);
    std::fs::create_dir_all(f.path("out")).unwrap();
    std::fs::write(f.path("out/kept.txt"), "k").unwrap();
    std::fs::write(f.path("pushed.json"), snap.to_string()).unwrap();
    f.ok(&["state", "push", "pushed.json"]);
    let plan = f.ok(&["plan"]);
    assert!(plan.contains("local_file.kept: found in the real world; apply adopts it"), "{plan}");
    assert!(plan.contains("local_exec.cmd: cannot be found"), "{plan}");
    assert!(plan.contains("Plan: 1 to add"), "only the command is created again:\n{plan}");
    f.ok(&["apply", "--auto-approve"]);
    assert_eq!(f.ok(&["state", "list"]).lines().count(), 2);
    let out = f.run(&["plan", "--detailed-exitcode"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    assert!(!f.ok(&["state", "pull"]).contains("\"pending\""));
}

/// `landform test`: when a run fails part way, what it created is destroyed;
/// what cannot be destroyed keeps its throwaway state, whose path is said —
/// never an orphan (issue 25 item 16).
#[test]
fn a_test_run_that_fails_part_way_is_torn_down_or_its_state_kept() {
    let f = Fixture::new(
        "test-teardown",
        "resource \"local_file\" \"made\" {\n  path    = \"made.txt\"\n  content = \"x\"\n}\nresource \"local_exec\" \"broken\" {\n  create     = \"exit 3\"\n  depends_on = [local_file.made]\n}\n",
    );
    std::fs::write(f.path("t.lftest.lf"), "run \"first\" {\n}\nrun \"second\" {\n}\n").unwrap();
    let out = f.run(&["test"]);
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
    assert!(!f.path("made.txt").exists(), "what the failed runs created was left behind:\n{stdout}{stderr}");
    assert!(!stderr.contains("kept in"), "{stderr}");

    // An object that cannot be destroyed: its state is kept, and said where.
    f.write("resource \"local_exec\" \"stuck\" {\n  create  = \"touch stuck.txt\"\n  destroy = \"exit 4\"\n}\nresource \"local_exec\" \"broken\" {\n  create     = \"exit 3\"\n  depends_on = [local_exec.stuck]\n}\n");
    let out = f.run(&["test"]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let kept = stderr
        .split("state is kept in ")
        .nth(1)
        .and_then(|r| r.split(". Destroy").next())
        .unwrap_or_else(|| panic!("the kept state is not named: {stderr}"));
    assert!(Path::new(kept).join("workspaces/default/manifest.json").exists(), "{kept}: {stderr}");
    let list = f.ok(&["state", "list", "--state", kept]);
    assert_eq!(list.trim(), "local_exec.stuck");
    let _ = std::fs::remove_dir_all(kept);
}

/// Every file under `dir` that holds `marker`.
fn files_holding(dir: &Path, marker: &str) -> Vec<String> {
    read_all(dir)
        .into_iter()
        .filter(|(_, bytes)| bytes.windows(marker.len()).any(|w| w == marker.as_bytes()))
        .map(|(name, _)| name)
        .collect()
}

/// The damaged copy `state recover` keeps is stored as the state is: sealed
/// when a key is set (at once, or when a key is turned on later), rekeyed by
/// `state rekey` — never left in plain text beside an encrypted state
/// (issue 25 item 8).
#[test]
fn the_damaged_copy_recover_keeps_is_sealed_and_rekeyed_with_the_state() {
    let marker = "PLAIN-MARKER-7431";
    let f =
        Fixture::new("damaged-sealed", &format!("resource \"landform_data\" \"a\" {{\n  input = \"{marker}\"\n}}\n"));
    std::fs::write(f.path("key1"), "1111111111111111111111111111111111111111111111111111111111111111").unwrap();
    std::fs::write(f.path("key2"), "2222222222222222222222222222222222222222222222222222222222222222").unwrap();
    let with_key = |key: &str, args: &[&str]| {
        let out = f.cmd(args).env("LANDFORM_STATE_KEY_FILE", f.path(key)).stdin(Stdio::null()).output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{args:?}: {}{}", text(&out.stdout), text(&out.stderr));
        text(&out.stdout)
    };
    let state = f.path(".landform/state");
    // Damaged and recovered with no key: the copy is in plain text, as the state is.
    f.ok(&["apply", "-auto-approve"]);
    std::fs::remove_file(state_files(&f).join("manifest.json")).unwrap();
    f.ok(&["state", "recover"]);
    assert!(!files_holding(&state, marker).is_empty(), "the test plants the marker in plain text");
    // A key turned on (`state rekey` with no key set): the state and the copy are sealed.
    f.ok(&["state", "rekey", "--new-key-file", f.path("key1").to_str().unwrap()]);
    with_key("key1", &["plan"]);
    assert_eq!(files_holding(&state, marker), Vec::<String>::new());
    // Rekeyed: the copy follows the state to the new key.
    let copies: Vec<_> = std::fs::read_dir(state.join("workspaces"))
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with(".damaged-default-"))
        .map(|e| e.path())
        .collect();
    assert_eq!(copies.len(), 1);
    let sealed_with = |id_of: &str| {
        read_all(&copies[0]).iter().all(|(_, b)| String::from_utf8_lossy(b).starts_with(&format!("lfenc2:{id_of}:")))
    };
    let out = f
        .cmd(&["state", "rekey", "--new-key-file", f.path("key2").to_str().unwrap()])
        .env("LANDFORM_STATE_KEY_FILE", f.path("key1"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let key2_id = text(&out.stdout)
        .split("key ID ")
        .nth(1)
        .map(|r| r.chars().take_while(|c| c.is_ascii_alphanumeric()).collect::<String>())
        .unwrap_or_default();
    assert!(!key2_id.is_empty(), "{}", text(&out.stdout));
    assert!(sealed_with(&key2_id), "the copy was not rekeyed to {key2_id}");
    assert_eq!(files_holding(&state, marker), Vec::<String>::new());
    // Damaged and recovered with a key set: the new copy is sealed at once.
    std::fs::remove_file(state_files(&f).join("manifest.json")).unwrap();
    with_key("key2", &["state", "recover"]);
    assert_eq!(files_holding(&state, marker), Vec::<String>::new());
    with_key("key2", &["plan"]);
}
