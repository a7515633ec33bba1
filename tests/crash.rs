//! The crash harness: apply a 300-resource configuration, SIGKILL it at a
//! random moment, apply again, and require that every trial converges to
//! "No changes" with every object in the state exactly once.
//!
//! `LANDFORM_CRASH_TRIALS` sets the number of trials (default 10; `scripts/test`
//! runs 100) and `LANDFORM_CRASH_SEED` the first seed. Every trial prints its
//! seed, where it was killed and what it found.

mod common;
use common::{text, Fixture};
use std::collections::BTreeSet;
use std::process::Stdio;
use std::time::{Duration, Instant};

const CONFIG: &str = r#"
variable "v" {
  default = "1"
}
resource "landform_data" "d" {
  count = 100
  input = "data ${count.index} v${var.v}"
}
resource "local_file" "f" {
  count   = 100
  path    = "out/f-${count.index}.txt"
  content = landform_data.d[count.index].output
}
resource "local_exec" "e" {
  count  = 100
  create = "sleep 0.0${count.index % 5}; echo ${local_file.f[count.index].content_sha256} > out/e-${count.index}-v${var.v}.txt"
  destroy = "rm -f out/e-${count.index}-v${var.v}.txt"
}
"#;

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// Start an apply and kill it with SIGKILL after `after`.
fn killed_apply(f: &Fixture, v: &str, after: Duration) -> bool {
    let mut child = f
        .cmd(&["apply", "--auto-approve", "--no-progress", "--var", &format!("v={v}")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + after;
    while Instant::now() < deadline {
        if child.try_wait().unwrap().is_some() {
            return false;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    let _ = child.kill();
    let _ = child.wait();
    // Commands the apply started run on in their own process groups; let them end.
    std::thread::sleep(Duration::from_millis(100));
    true
}

/// No `force-unlock` first: a killed apply's lock went with it.
fn apply(f: &Fixture, v: &str) {
    f.ok(&["apply", "--auto-approve", "--no-progress", "--var", &format!("v={v}")]);
}

/// Converged: no changes, and the state and the files on disk name the same
/// objects, each once.
fn check_converged(f: &Fixture, v: &str, trial: &str, instances: usize) -> usize {
    let out = f.run(&["plan", "--detailed-exitcode", "--var", &format!("v={v}")]);
    assert_eq!(out.status.code(), Some(0), "{trial}: did not converge:\n{}{}", text(&out.stdout), text(&out.stderr));
    let pulled: serde_json::Value = serde_json::from_str(&f.ok(&["state", "pull"])).unwrap();
    let resources = pulled["resources"].as_array().unwrap();
    let addrs: Vec<&str> = resources.iter().map(|r| r["addr"].as_str().unwrap()).collect();
    let unique: BTreeSet<&str> = addrs.iter().copied().collect();
    assert_eq!(addrs.len(), unique.len(), "{trial}: an address is in the state twice");
    assert_eq!(unique.len(), instances, "{trial}: the state has {} instances, not {instances}", unique.len());
    assert!(pulled.get("pending").is_none(), "{trial}: pending records left: {}", pulled["pending"]);
    assert!(pulled.get("deposed").is_none(), "{trial}: deposed objects left: {}", pulled["deposed"]);
    let mut recorded: BTreeSet<String> = BTreeSet::new();
    for r in resources {
        match r["type"].as_str().unwrap() {
            "local_file" => recorded.insert(r["attributes"]["path"].as_str().unwrap().to_string()),
            "local_exec" => {
                let cmd = r["attributes"]["create"].as_str().unwrap();
                let file = cmd.rsplit("> ").next().unwrap().to_string();
                recorded.insert(file)
            }
            _ => true,
        };
    }
    let on_disk: BTreeSet<String> = std::fs::read_dir(f.path("out"))
        .unwrap()
        .flatten()
        .map(|e| format!("out/{}", e.file_name().to_string_lossy()))
        .collect();
    let orphans: Vec<_> = on_disk.difference(&recorded).collect();
    let missing: Vec<_> = recorded.difference(&on_disk).collect();
    assert!(orphans.is_empty(), "{trial}: objects on disk that the state does not know: {orphans:?}");
    assert!(missing.is_empty(), "{trial}: objects in the state that do not exist: {missing:?}");
    on_disk.len()
}

#[test]
fn sigkill_at_random_moments_always_converges() {
    let trials: u64 = std::env::var("LANDFORM_CRASH_TRIALS").ok().and_then(|s| s.parse().ok()).unwrap_or(10);
    let first: u64 = std::env::var("LANDFORM_CRASH_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(0x1a4d_f04d);
    // How long a whole apply takes here, to spread the kills over it.
    let probe = Fixture::new("crash-probe", CONFIG);
    let started = Instant::now();
    probe.ok(&["apply", "--auto-approve", "--no-progress"]);
    let span = started.elapsed().as_millis().max(50) as u64;
    println!("crash harness: {trials} trials, a full apply takes {span} ms here");
    let mut converged = 0;
    for t in 0..trials {
        let seed = first.wrapping_add(t).max(1);
        let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
        let f = Fixture::new(&format!("crash-{t}"), CONFIG);
        // Half the trials are killed creating everything; half are killed
        // changing it (updates, and replacements whose old object goes first).
        let (from, to) = if rng.next().is_multiple_of(2) { (None, "1") } else { (Some("1"), "2") };
        if let Some(v) = from {
            apply(&f, v);
        }
        let at = Duration::from_millis(rng.next() % (span * 11 / 10));
        let killed = killed_apply(&f, to, at);
        // Sometimes the apply that recovers is killed as well.
        let killed_again =
            rng.next().is_multiple_of(4) && { killed_apply(&f, to, Duration::from_millis(rng.next() % span)) };
        apply(&f, to);
        let trial = format!("trial {t} (seed {seed})");
        let objects = check_converged(&f, to, &trial, 300);
        converged += 1;
        println!(
            "{trial}: {} v{to}, killed after {} ms{}{}: converged, {objects} objects on disk, each in the state once",
            if from.is_some() { "changing to" } else { "creating" },
            at.as_millis(),
            if killed { "" } else { " (it had finished)" },
            if killed_again { ", and its recovery killed too" } else { "" }
        );
        let _ = std::fs::remove_dir_all(&f.dir);
    }
    println!("crash harness: {converged}/{trials} trials converged");
    let _ = std::fs::remove_dir_all(&probe.dir);
}

/// Every instance replaced with `create_before_destroy`, each new object at a
/// new path: the old one must be in the state (deposed) from before its
/// successor is created until it is destroyed.
const CBD: &str = r#"
variable "v" {
  default = "1"
}
resource "local_file" "f" {
  count   = 40
  path    = "out/f-${count.index}-v${var.v}.txt"
  content = "file ${count.index} v${var.v}"
  lifecycle {
    create_before_destroy = true
  }
}
resource "local_exec" "e" {
  count   = 40
  create  = "sleep 0.0${count.index % 5}; echo ${local_file.f[count.index].path} > out/e-${count.index}-v${var.v}.txt"
  destroy = "rm -f out/e-${count.index}-v${var.v}.txt"
  lifecycle {
    create_before_destroy = true
  }
}
"#;

/// Issue 27: SIGKILL during an apply that replaces every instance with
/// `create_before_destroy` (and sometimes during the apply that recovers):
/// the next apply destroys every old object, so that each file on disk
/// belongs to exactly one object in the state, none missing, none stray.
#[test]
fn sigkill_during_create_before_destroy_leaves_no_stray_objects() {
    let trials: u64 = std::env::var("LANDFORM_CRASH_TRIALS").ok().and_then(|s| s.parse().ok()).unwrap_or(10);
    let first: u64 = std::env::var("LANDFORM_CRASH_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(0xcbd0_cbd0);
    let probe = Fixture::new("crash-cbd-probe", CBD);
    probe.ok(&["apply", "--auto-approve", "--no-progress"]);
    let started = Instant::now();
    apply(&probe, "2");
    let span = started.elapsed().as_millis().max(50) as u64;
    let _ = std::fs::remove_dir_all(&probe.dir);
    println!("create_before_destroy crash harness: {trials} trials, a replacing apply takes {span} ms here");
    for t in 0..trials {
        let seed = first.wrapping_add(t).max(1);
        let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
        let f = Fixture::new(&format!("crash-cbd-{t}"), CBD);
        apply(&f, "1");
        let at = Duration::from_millis(rng.next() % (span * 11 / 10));
        let killed = killed_apply(&f, "2", at);
        let killed_again =
            rng.next().is_multiple_of(3) && { killed_apply(&f, "2", Duration::from_millis(rng.next() % span)) };
        apply(&f, "2");
        let trial = format!("cbd trial {t} (seed {seed})");
        let objects = check_converged(&f, "2", &trial, 80);
        println!(
            "{trial}: killed after {} ms{}{}: converged, {objects} objects on disk, each in the state once",
            at.as_millis(),
            if killed { "" } else { " (it had finished)" },
            if killed_again { ", and its recovery killed too" } else { "" }
        );
        let _ = std::fs::remove_dir_all(&f.dir);
    }
}

const SMALL: &str = r#"
variable "v" {
  default = "1"
}
resource "local_exec" "e" {
  count   = 20
  create  = "sleep 0.0${count.index % 5}; echo ${count.index} > out/e-${count.index}-v${var.v}.txt"
  destroy = "rm -f out/e-${count.index}-v${var.v}.txt"
}
"#;

/// Issue 25 item 23: the lock of an apply killed with SIGKILL goes with it
/// (the kernel releases it), so the next command proceeds with no
/// `force-unlock`, twenty times in a row, and apply converges each time.
#[test]
fn twenty_sigkilled_applies_in_a_row_leave_no_lock() {
    let f = Fixture::new("crash-lock", SMALL);
    std::fs::create_dir_all(f.path("out")).unwrap();
    f.ok(&["apply", "--auto-approve", "--no-progress"]);
    let lock = f.path(".landform/state/default.lock");
    let mut rng = Rng(0x5eed_1234_abcd_0001);
    for t in 0..20 {
        let v = format!("{}", t + 2);
        let mut child = f
            .cmd(&["apply", "--auto-approve", "--no-progress", "--var", &format!("v={v}")])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // Killed while it holds the lock: its details are in the lock file.
        let pid = format!("\"pid\": {}", child.id());
        let started = Instant::now();
        while !std::fs::read_to_string(&lock).unwrap_or_default().contains(&pid) {
            assert!(started.elapsed() < Duration::from_secs(20), "trial {t}: the apply never took the lock");
            assert!(child.try_wait().unwrap().is_none(), "trial {t}: the apply ended before it took the lock");
            std::thread::sleep(Duration::from_millis(1));
        }
        std::thread::sleep(Duration::from_millis(rng.next() % 400));
        let finished = child.try_wait().unwrap().is_some();
        let _ = child.kill();
        let _ = child.wait();
        std::thread::sleep(Duration::from_millis(100));
        // No manual step: the next plan runs.
        let plan = f.run(&["plan", "--no-progress", "--detailed-exitcode", "--var", &format!("v={v}")]);
        let said = format!("{}{}", text(&plan.stdout), text(&plan.stderr));
        assert!(
            matches!(plan.status.code(), Some(0 | 2)),
            "trial {t}: the plan after a killed apply{} failed:\n{said}",
            if finished { " (it had finished)" } else { "" }
        );
        assert!(!said.contains("locked"), "trial {t}: {said}");
        f.ok(&["apply", "--auto-approve", "--no-progress", "--var", &format!("v={v}")]);
        let again = f.run(&["plan", "--detailed-exitcode", "--var", &format!("v={v}")]);
        assert_eq!(again.status.code(), Some(0), "trial {t}: did not converge:\n{}", text(&again.stdout));
        let on_disk = std::fs::read_dir(f.path("out")).unwrap().count();
        assert_eq!(on_disk, 20, "trial {t}: {on_disk} files for 20 objects");
    }
    let _ = std::fs::remove_dir_all(&f.dir);
}
