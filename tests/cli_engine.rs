//! End-to-end tests of plan, apply, destroy and the state commands on the real
//! binary, with the built-in local provider.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

mod common;
use common::{text, Fixture};

const BASIC: &str = r#"
variable "release" {
  default = "1.0.0"
}
resource "landform_data" "build" {
  input            = { version = var.release }
  triggers_replace = ["v1"]
}
resource "local_file" "page" {
  for_each = toset(["a", "b"])
  path     = "out/${each.key}.txt"
  content  = "page ${each.key} of ${landform_data.build.output.version}"
}
output "paths" {
  value = [for p in local_file.page : p.path]
}
"#;

#[test]
fn apply_from_empty_then_plan_has_no_changes() {
    let f = Fixture::new("basic", BASIC);
    let out = f.run(&["plan", "--detailed-exitcode"]);
    assert_eq!(out.status.code(), Some(2), "changes pending means exit 2");
    assert!(text(&out.stdout).contains("Plan: 3 to add, 0 to change, 0 to destroy."));
    let applied = f.ok(&["apply", "--auto-approve"]);
    assert!(applied.contains("Apply complete! Resources: 3 added, 0 changed, 0 destroyed."), "{applied}");
    assert!(applied.contains("paths = [\"out/a.txt\", \"out/b.txt\"]"), "{applied}");
    assert_eq!(std::fs::read_to_string(f.path("out/a.txt")).unwrap(), "page a of 1.0.0");
    let again = f.run(&["plan", "--detailed-exitcode"]);
    assert_eq!(again.status.code(), Some(0), "{}", text(&again.stdout));
    assert!(text(&again.stdout).contains("No changes."));
    assert_eq!(f.ok(&["output", "paths", "--json"]).trim(), "[\"out/a.txt\",\"out/b.txt\"]");
}

#[test]
fn a_changed_value_updates_in_place_and_a_force_new_one_replaces() {
    let f = Fixture::new("change", BASIC);
    f.ok(&["apply", "--auto-approve"]);
    let plan = f.ok(&["plan", "--var", "release=2.0.0"]);
    assert!(plan.contains("# landform_data.build will be updated in-place"), "{plan}");
    assert!(plan.contains("~ input.version  = \"1.0.0\" -> \"2.0.0\""), "{plan}");
    assert!(plan.contains("Plan: 0 to add, 3 to change, 0 to destroy."), "{plan}");
    f.ok(&["apply", "--auto-approve", "--var", "release=2.0.0"]);
    assert_eq!(std::fs::read_to_string(f.path("out/b.txt")).unwrap(), "page b of 2.0.0");
    let id_before = f.ok(&["state", "show", "landform_data.build"]);
    f.write(&BASIC.replace("[\"v1\"]", "[\"v2\"]"));
    let plan = f.ok(&["plan", "--var", "release=2.0.0"]);
    assert!(plan.contains("# landform_data.build must be replaced"), "{plan}");
    assert!(plan.contains("~ triggers_replace = [\"v1\"] -> [\"v2\"] # forces replacement"), "{plan}");
    assert!(plan.contains("~ id               = "), "{plan}");
    assert!(plan.contains("-> (known after apply)"), "{plan}");
    f.ok(&["apply", "--auto-approve", "--var", "release=2.0.0"]);
    assert_ne!(f.ok(&["state", "show", "landform_data.build"]), id_before, "a replace makes a new id");
}

#[test]
fn removing_a_block_destroys_it_and_destroy_empties_the_state() {
    let f = Fixture::new("remove", BASIC);
    f.ok(&["apply", "--auto-approve"]);
    f.write(&BASIC.replace("toset([\"a\", \"b\"])", "toset([\"a\"])"));
    let plan = f.ok(&["plan"]);
    assert!(plan.contains("# local_file.page[\"b\"] will be destroyed"), "{plan}");
    assert!(plan.contains("(because key [\"b\"] is not in for_each map)"), "{plan}");
    f.ok(&["apply", "--auto-approve"]);
    assert!(!f.path("out/b.txt").exists());
    let destroyed = f.ok(&["destroy", "--auto-approve"]);
    assert!(destroyed.contains("Destroy complete! Resources: 2 destroyed."), "{destroyed}");
    assert_eq!(f.ok(&["state", "list"]), "");
    assert!(!f.path("out/a.txt").exists());
}

#[test]
fn a_file_changed_or_deleted_outside_landform_is_detected() {
    let f = Fixture::new("drift", BASIC);
    f.ok(&["apply", "--auto-approve"]);
    std::fs::write(f.path("out/a.txt"), "tampered").unwrap();
    std::fs::remove_file(f.path("out/b.txt")).unwrap();
    let plan = f.ok(&["plan"]);
    assert!(plan.contains("# local_file.page[\"a\"] will be updated in-place"), "{plan}");
    assert!(plan.contains("\"tampered\" -> \"page a of 1.0.0\""), "{plan}");
    assert!(plan.contains("# local_file.page[\"b\"] will be created"), "{plan}");
    f.ok(&["apply", "--auto-approve"]);
    assert_eq!(std::fs::read_to_string(f.path("out/a.txt")).unwrap(), "page a of 1.0.0");
    assert!(f.path("out/b.txt").exists());
}

#[test]
fn a_second_apply_fails_at_once_naming_the_lock_holder() {
    let f = Fixture::new("lock", "resource \"local_exec\" \"slow\" {\n  create = \"sleep 3\"\n}\n");
    let mut first = f.cmd(&["apply", "--auto-approve"]).stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
    let lock = f.path(".landform/state/default.lock");
    let start = Instant::now();
    while !lock.exists() && start.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(20));
    }
    let t = Instant::now();
    let second = f.run(&["apply", "--auto-approve"]);
    assert!(t.elapsed() < Duration::from_secs(2), "the second apply fails at once");
    assert_eq!(second.status.code(), Some(1));
    let err = text(&second.stderr);
    assert!(err.contains("the state is locked by another operation"), "{err}");
    assert!(err.contains(&format!("PID:       {}", first.id())), "{err}");
    assert!(err.contains("Operation: apply"), "{err}");
    assert!(err.contains("landform force-unlock "), "{err}");
    // Waiting for the lock works once the first finishes.
    let waited = f.run(&["plan", "--lock-timeout", "20s", "--detailed-exitcode"]);
    assert_eq!(waited.status.code(), Some(0), "{}", text(&waited.stderr));
    assert!(first.wait().unwrap().success());
}

/// A lock file that no process holds is no lock; `force-unlock ID` does not
/// take the lock from a process that still runs.
#[test]
fn a_left_lock_file_is_no_lock_and_a_running_holder_keeps_its_lock() {
    let f = Fixture::new("unlock", BASIC);
    std::fs::create_dir_all(f.path(".landform/state")).unwrap();
    let info = r#"{"id":"abc-123","operation":"apply","who":"ci@runner","pid":999999,"created":"2026-01-01T00:00:00Z","workspace":"default"}"#;
    std::fs::write(f.path(".landform/state/default.lock"), info).unwrap();
    f.ok(&["plan"]);
    f.write("resource \"local_exec\" \"slow\" {\n  create = \"sleep 4\"\n}\n");
    let mut first = f.cmd(&["apply", "--auto-approve"]).stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
    let lock = f.path(".landform/state/default.lock");
    let pid = format!("\"pid\": {}", first.id());
    let start = Instant::now();
    while !std::fs::read_to_string(&lock).unwrap_or_default().contains(&pid)
        && start.elapsed() < Duration::from_secs(10)
    {
        std::thread::sleep(Duration::from_millis(20));
    }
    let blocked = f.run(&["plan"]);
    assert_eq!(blocked.status.code(), Some(1));
    let err = text(&blocked.stderr);
    let id = err.lines().find_map(|l| l.trim().strip_prefix("ID:")).map(str::trim).unwrap_or_default().to_string();
    assert!(!id.is_empty(), "{err}");
    let wrong = f.run(&["force-unlock", "nope"]);
    assert_eq!(wrong.status.code(), Some(1));
    // The holder is running: removing its lock would let a second operation write at once.
    let refused = f.run(&["force-unlock", &id]);
    assert_eq!(refused.status.code(), Some(1));
    assert!(text(&refused.stderr).contains("still running"), "{}", text(&refused.stderr));
    assert!(first.wait().unwrap().success());
    f.ok(&["plan"]);
}

#[test]
fn a_stale_saved_plan_is_refused() {
    let f = Fixture::new("stale", BASIC);
    f.ok(&["plan", "--out", "first.plan"]);
    f.ok(&["plan", "--out", "second.plan"]);
    f.ok(&["apply", "first.plan"]);
    let out = f.run(&["apply", "second.plan"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("The saved plan is stale: the state has changed since it was made"),
        "{}",
        text(&out.stderr)
    );
    f.ok(&["plan", "--var", "release=3", "--out", "third.plan"]);
    f.write(&BASIC.replace("page ${each.key}", "Page ${each.key}"));
    let out = f.run(&["apply", "third.plan"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("the configuration files have changed"), "{}", text(&out.stderr));
    // A current saved plan applies the variables it was made with.
    f.write(BASIC);
    f.ok(&["plan", "--var", "release=3", "--out", "fourth.plan"]);
    // New values beside a saved plan are refused, as in Terraform: they were silently ignored.
    for extra in [&["--var", "release=9"][..], &["--var-file", "none.lfvars"][..]] {
        let out = f.run(&[&["apply", "fourth.plan"][..], extra].concat());
        assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
        assert!(text(&out.stderr).contains("Can't set variables when applying a saved plan"), "{}", text(&out.stderr));
    }
    f.ok(&["apply", "fourth.plan"]);
    assert_eq!(std::fs::read_to_string(f.path("out/a.txt")).unwrap(), "page a of 3");
}

#[test]
fn sigint_mid_apply_stops_cleanly_and_the_next_apply_finishes() {
    let config = "resource \"local_exec\" \"step\" {\n  count  = 6\n  create = \"sleep 0.4; echo ${count.index}\"\n}\n";
    let f = Fixture::new("sigint", config);
    let child = f
        .cmd(&["apply", "--auto-approve", "--parallelism", "1", "--no-progress"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    std::thread::sleep(Duration::from_millis(1100));
    Command::new("kill").args(["-INT", &pid.to_string()]).status().unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(130), "{}\n{}", text(&out.stdout), text(&out.stderr));
    assert!(text(&out.stderr).contains("Interrupt received"));
    let listed = f.ok(&["state", "list"]);
    let done = listed.lines().count();
    assert!((1..6).contains(&done), "some but not all were applied and recorded: {listed}");
    let plan = f.ok(&["plan"]);
    assert!(plan.contains(&format!("Plan: {} to add, 0 to change, 0 to destroy.", 6 - done)), "{plan}");
    f.ok(&["apply", "--auto-approve"]);
    assert_eq!(f.ok(&["state", "list"]).lines().count(), 6);
    assert_eq!(f.run(&["plan", "--detailed-exitcode"]).status.code(), Some(0));
}

#[test]
fn a_failure_skips_its_dependents_but_not_independent_resources() {
    let config = r#"
resource "local_exec" "broken" {
  create = "echo boom >&2; exit 3"
}
resource "landform_data" "after_broken" {
  input = local_exec.broken.stdout
}
resource "landform_data" "independent" {
  input = "fine"
}
"#;
    let f = Fixture::new("failure", config);
    let out = f.run(&["apply", "--auto-approve"]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.contains("Error: local_exec.broken: Command failed: `echo boom >&2; exit 3` exited with status 3: boom"),
        "{err}"
    );
    assert!(
        text(&out.stdout).contains("landform_data.after_broken: skipped, because local_exec.broken failed"),
        "{}",
        text(&out.stdout)
    );
    assert_eq!(f.ok(&["state", "list"]).trim(), "landform_data.independent");
}

#[test]
fn plan_json_has_the_documented_shape() {
    let f = Fixture::new("json", BASIC);
    let out = f.ok(&["plan", "--json"]);
    let j: serde_json::Value = serde_json::from_str(&out).expect("plan --json is JSON");
    assert_eq!(j["format_version"], "1.2");
    let changes = j["resource_changes"].as_array().unwrap();
    let build = changes.iter().find(|c| c["address"] == "landform_data.build").unwrap();
    assert_eq!(build["change"]["actions"], serde_json::json!(["create"]));
    assert_eq!(build["change"]["after"]["input"]["version"], "1.0.0");
    assert_eq!(build["change"]["after_unknown"]["id"], true);
    assert_eq!(build["mode"], "managed");
    let page = changes.iter().find(|c| c["address"] == "local_file.page[\"a\"]").unwrap();
    assert_eq!(page["index"], "a");
    assert_eq!(j["summary"]["add"], 3);
    f.ok(&["apply", "--auto-approve"]);
    f.write(&BASIC.replace("[\"v1\"]", "[\"v2\"]"));
    let j: serde_json::Value = serde_json::from_str(&f.ok(&["plan", "--json"])).unwrap();
    let build = j["resource_changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["address"] == "landform_data.build")
        .unwrap()
        .clone();
    assert_eq!(build["change"]["actions"], serde_json::json!(["delete", "create"]));
    assert_eq!(build["change"]["replace_paths"], serde_json::json!([["triggers_replace"]]));
}

#[test]
fn sensitive_values_never_reach_any_output() {
    let config = r#"
variable "password" {
  default   = "hunter2-secret"
  sensitive = true
}
resource "local_file" "dsn" {
  path    = "out/dsn.txt"
  content = "postgres://app:${var.password}@db/app"
}
output "dsn" {
  value     = local_file.dsn.content
  sensitive = true
}
"#;
    let f = Fixture::new("sensitive", config);
    let mut seen = String::new();
    for args in [
        vec!["plan"],
        vec!["plan", "--json"],
        vec!["apply", "--auto-approve"],
        vec!["show"],
        vec!["show", "--json"],
        vec!["output"],
        vec!["output", "dsn"],
        vec!["output", "--json"],
        vec!["state", "show", "local_file.dsn"],
        vec!["state", "pull"],
    ] {
        let out = f.run(&args);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {}", text(&out.stderr));
        seen.push_str(&text(&out.stdout));
        seen.push_str(&text(&out.stderr));
    }
    assert!(!seen.contains("hunter2"), "a secret leaked:\n{seen}");
    assert!(seen.contains("(sensitive value)"));
    assert_eq!(std::fs::read_to_string(f.path("out/dsn.txt")).unwrap(), "postgres://app:hunter2-secret@db/app");
}

#[test]
fn state_commands_list_show_move_remove_pull_and_push() {
    let f = Fixture::new("state", BASIC);
    f.ok(&["apply", "--auto-approve"]);
    assert_eq!(f.ok(&["state", "list"]), "landform_data.build\nlocal_file.page[\"a\"]\nlocal_file.page[\"b\"]\n");
    assert!(f.ok(&["state", "show", "local_file.page[\"a\"]"]).contains("path           = \"out/a.txt\""));
    let pulled = f.ok(&["state", "pull"]);
    let snap: serde_json::Value = serde_json::from_str(&pulled).unwrap();
    assert_eq!(snap["resources"].as_array().unwrap().len(), 3);
    let serial = snap["serial"].as_u64().unwrap();
    std::fs::write(f.path("backup.json"), &pulled).unwrap();
    f.ok(&["state", "mv", "local_file.page[\"b\"]", "local_file.moved"]);
    assert!(f.ok(&["state", "list"]).contains("local_file.moved"));
    f.ok(&["state", "rm", "local_file.moved"]);
    assert_eq!(f.ok(&["state", "list"]).lines().count(), 2);
    assert!(f.path("out/b.txt").exists(), "state rm leaves the real object");
    let stale = f.run(&["state", "push", "backup.json"]);
    assert_eq!(stale.status.code(), Some(1), "an older serial is refused");
    f.ok(&["state", "push", "backup.json", "--force"]);
    assert_eq!(f.ok(&["state", "list"]).lines().count(), 3);
    let after: serde_json::Value = serde_json::from_str(&f.ok(&["state", "pull"])).unwrap();
    assert!(after["serial"].as_u64().unwrap() > serial);
    assert_eq!(f.run(&["plan", "--detailed-exitcode"]).status.code(), Some(0));
}

/// A state pulled without --show-sensitive has its secrets blanked; pushed
/// back it would replace them with nothing, so push refuses it, naming the
/// way that works. A pull with nothing blanked pushes as before.
#[test]
fn a_pulled_state_with_blanked_secrets_is_not_pushed_back() {
    let f = Fixture::new(
        "push-redacted",
        "variable \"pw\" {\n  type      = string\n  sensitive = true\n  default   = \"hunter2-pushed\"\n}\nresource \"local_file\" \"a\" {\n  path              = \"out/a.txt\"\n  sensitive_content = var.pw\n}\n",
    );
    f.ok(&["apply", "--auto-approve"]);
    let pulled = f.ok(&["state", "pull"]);
    assert!(!pulled.contains("hunter2-pushed"));
    let snap: serde_json::Value = serde_json::from_str(&pulled).unwrap();
    assert_eq!(snap["redacted_values"], true, "{pulled}");
    std::fs::write(f.path("red.json"), &pulled).unwrap();
    for args in [&["state", "push", "red.json"][..], &["state", "push", "red.json", "--force"]] {
        let out = f.run(args);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        assert!(text(&out.stderr).contains("--show-sensitive"), "{}", text(&out.stderr));
    }
    // Edited to get past the check: another value, a second key, another case.
    for (from, to) in [
        ("\"redacted_values\": true", "\"redacted_values\": \"true\""),
        ("\"redacted_values\": true", "\"redacted_values\": 1"),
        ("\"redacted_values\": true", "\"redacted_values\": true, \"redacted_values\": false"),
        ("\"redacted_values\"", "\"Redacted_Values\""),
    ] {
        std::fs::write(f.path("edited.json"), pulled.replacen(from, to, 1)).unwrap();
        assert_eq!(f.run(&["state", "push", "edited.json", "--force"]).status.code(), Some(1), "{to}");
    }
    let full = f.ok(&["state", "pull", "--show-sensitive"]);
    assert!(!full.contains("redacted_values"));
    std::fs::write(f.path("full.json"), &full).unwrap();
    f.ok(&["state", "push", "full.json"]);
    assert_eq!(f.run(&["plan", "--detailed-exitcode"]).status.code(), Some(0), "the secret is still in the state");
    // A file that does not parse is refused by place, never by quoting what it holds.
    std::fs::write(f.path("bad.json"), full.replacen("\"serial\": ", "\"serial\": \"hunter2-pushed\", \"x\": ", 1))
        .unwrap();
    let out = f.run(&["state", "push", "bad.json"]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(err.contains("at line") && !err.contains("hunter2-pushed"), "{err}");
}

/// A selected workspace that cannot be read is an error, never "default":
/// a plan against the wrong workspace's state would plan everything anew.
/// Selecting another mends it.
#[test]
fn a_selection_that_cannot_be_read_is_refused_not_taken_for_default() {
    let f = Fixture::new("ws-selection", "resource \"landform_data\" \"x\" {\n  input = 1\n}\n");
    f.ok(&["apply", "--auto-approve"]);
    let sel = f.path(".landform/state/selected-workspace");
    for bytes in [&b""[..], b"  \n", b"\xff\xfe"] {
        std::fs::write(&sel, bytes).unwrap();
        let out = f.run(&["plan"]);
        assert_eq!(out.status.code(), Some(1), "{bytes:?}");
        assert!(text(&out.stderr).contains("workspace select"), "{}", text(&out.stderr));
    }
    std::fs::remove_file(&sel).unwrap();
    std::fs::create_dir(&sel).unwrap();
    assert_eq!(f.run(&["state", "list"]).status.code(), Some(1));
    std::fs::remove_dir(&sel).unwrap();
    std::fs::write(&sel, b"").unwrap();
    f.ok(&["workspace", "select", "default"]);
    assert_eq!(f.ok(&["state", "list"]), "landform_data.x\n");
}

#[test]
fn workspaces_keep_separate_state() {
    let f = Fixture::new("workspaces", "resource \"landform_data\" \"x\" {\n  input = 1\n}\n");
    // A workspace is created before use; a typo names the ones there are.
    let out = f.run(&["plan", "--workspace", "staging"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("landform workspace new staging"), "{}", text(&out.stderr));
    assert!(f.ok(&["workspace", "new", "staging"]).contains("Created and switched"));
    f.ok(&["workspace", "select", "default"]);
    f.ok(&["apply", "--auto-approve", "--workspace", "staging"]);
    assert_eq!(f.ok(&["state", "list", "--workspace", "staging"]).trim(), "landform_data.x");
    assert_eq!(f.ok(&["state", "list"]).trim(), "");
    let out = f.cmd(&["state", "list"]).env("LANDFORM_WORKSPACE", "staging").output().unwrap();
    assert_eq!(text(&out.stdout).trim(), "landform_data.x");
    let typo = f.run(&["plan", "--workspace", "stagng"]);
    assert!(text(&typo.stderr).contains("Did you mean \"staging\"?"), "{}", text(&typo.stderr));
    // The selection is remembered.
    f.ok(&["workspace", "select", "staging"]);
    assert_eq!(f.ok(&["workspace", "show"]).trim(), "staging");
    assert_eq!(f.ok(&["state", "list"]).trim(), "landform_data.x");
    assert!(f.ok(&["workspace", "list"]).contains("* staging"));
    f.ok(&["workspace", "select", "default"]);
    let del = f.run(&["workspace", "delete", "staging"]);
    assert_eq!(del.status.code(), Some(1), "it still manages a resource");
    f.ok(&["destroy", "--auto-approve", "--workspace", "staging"]);
    f.ok(&["workspace", "delete", "staging"]);
    assert_eq!(f.ok(&["workspace", "list"]).trim(), "* default");
    let bad = f.run(&["plan", "--workspace", "a/b"]);
    assert!(text(&bad.stderr).contains("not a valid workspace name"), "{}", text(&bad.stderr));
}

#[test]
fn prevent_destroy_and_ignore_changes_are_honoured() {
    let config = r#"
variable "v" {
  default = "one"
}
resource "landform_data" "keep" {
  input            = var.v
  triggers_replace = [var.v]
  lifecycle {
    prevent_destroy = true
  }
}
resource "local_file" "f" {
  path    = "out/f.txt"
  content = var.v
  lifecycle {
    ignore_changes = [content]
  }
}
"#;
    let f = Fixture::new("lifecycle", config);
    f.ok(&["apply", "--auto-approve"]);
    let out = f.run(&["plan", "--var", "v=two"]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(err.contains("Error: Instance cannot be destroyed"), "{err}");
    assert!(err.contains("--> main.lf:9:23"), "{err}");
    f.write(&config.replace("prevent_destroy = true", "prevent_destroy = false"));
    let plan = f.ok(&["plan", "--var", "v=two"]);
    assert!(!plan.contains("local_file.f"), "ignore_changes hides the content change:\n{plan}");
}

#[test]
fn target_and_replace_limit_and_force_changes() {
    let config = "resource \"landform_data\" \"a\" {\n  input = 1\n}\nresource \"landform_data\" \"b\" {\n  input = landform_data.a.id\n}\nresource \"landform_data\" \"c\" {\n  input = 3\n}\n";
    let f = Fixture::new("target", config);
    let plan = f.ok(&["plan", "--target", "landform_data.b"]);
    assert!(plan.contains("Plan: 2 to add, 0 to change, 0 to destroy."), "{plan}");
    assert!(!plan.contains("landform_data.c"));
    f.ok(&["apply", "--auto-approve", "--target", "landform_data.b"]);
    assert_eq!(f.ok(&["state", "list"]), "landform_data.a\nlandform_data.b\n");
    f.ok(&["apply", "--auto-approve"]);
    let plan = f.ok(&["plan", "--replace", "landform_data.c"]);
    assert!(plan.contains("# landform_data.c will be replaced, as requested"), "{plan}");
    assert!(plan.contains("Plan: 1 to add, 0 to change, 1 to destroy."), "{plan}");
}

#[test]
fn validate_checks_attributes_against_the_provider_schema() {
    let f = Fixture::new(
        "schema",
        "resource \"local_file\" \"x\" {\n  pth     = \"a\"\n  content = \"b\"\n}\nresource \"aws_lbb\" \"y\" {}\n",
    );
    let out = f.run(&["validate"]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.contains(
            "An argument named \"pth\" is not expected in a resource \"local_file\" block. Did you mean \"path\"?"
        ),
        "{err}"
    );
    assert!(err.contains("Unsupported resource type"), "{err}");
    // path (or Terraform's filename) is required: said when planning.
    f.write("resource \"local_file\" \"x\" {\n  content = \"b\"\n}\n");
    let err = text(&f.run(&["plan"]).stderr);
    assert!(err.contains("A local_file needs path") && err.contains("filename"), "{err}");
}

#[test]
fn graph_prints_dot_and_a_cycle_names_every_node() {
    let f = Fixture::new("graph", BASIC);
    let dot = f.ok(&["graph"]);
    assert!(dot.starts_with("digraph landform {"));
    assert!(dot.contains("\"local_file.page\" -> \"landform_data.build\""), "{dot}");
    f.write("resource \"landform_data\" \"a\" {\n  input = landform_data.b.id\n}\nresource \"landform_data\" \"b\" {\n  input = local.x\n}\nlocals {\n  x = landform_data.a.id\n}\n");
    let out = f.run(&["plan"]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(err.contains("Error: Cycle in configuration"), "{err}");
    for node in ["landform_data.a (main.lf:1:1)", "landform_data.b (main.lf:4:1)", "local.x (main.lf:8:3)"] {
        assert!(err.contains(node), "the cycle names {node}:\n{err}");
    }
}

#[test]
fn parallel_local_exec_runs_concurrently() {
    let config = "resource \"local_exec\" \"s\" {\n  count  = 20\n  create = \"sleep 0.5\"\n}\n";
    let f = Fixture::new("parallel", config);
    let t = Instant::now();
    f.ok(&["apply", "--auto-approve", "--parallelism", "20"]);
    // Twenty half-second sleeps in sequence would take ten seconds.
    assert!(t.elapsed() < Duration::from_secs(6), "took {:?}", t.elapsed());
    assert_eq!(f.ok(&["state", "list"]).lines().count(), 20);
}

#[allow(dead_code)]
fn exists(p: &Path) -> bool {
    p.exists()
}

#[test]
fn apply_asks_for_yes_unless_auto_approved() {
    let f = Fixture::new("confirm", BASIC);
    let answer = |text: &str| {
        let mut child =
            f.cmd(&["apply"]).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
        use std::io::Write;
        child.stdin.take().unwrap().write_all(text.as_bytes()).unwrap();
        child.wait_with_output().unwrap()
    };
    let no = answer("no\n");
    assert_eq!(no.status.code(), Some(1));
    assert!(text(&no.stdout).contains("Only 'yes' will be accepted to approve."));
    assert!(text(&no.stdout).contains("Apply cancelled."));
    assert_eq!(f.ok(&["state", "list"]), "");
    let yes = answer("yes\n");
    assert_eq!(yes.status.code(), Some(0), "{}", text(&yes.stderr));
    assert_eq!(f.ok(&["state", "list"]).lines().count(), 3);
}

#[test]
fn refresh_false_trusts_the_state_and_show_reads_a_saved_plan() {
    let f = Fixture::new("refresh", BASIC);
    f.ok(&["apply", "--auto-approve"]);
    std::fs::write(f.path("out/a.txt"), "tampered").unwrap();
    assert_eq!(f.run(&["plan", "--refresh=false", "--detailed-exitcode"]).status.code(), Some(0));
    assert_eq!(f.run(&["plan", "--detailed-exitcode"]).status.code(), Some(2));
    f.ok(&["plan", "--out", "fix.plan"]);
    let shown = f.ok(&["show", "fix.plan"]);
    assert!(shown.contains("# local_file.page[\"a\"] will be updated in-place"), "{shown}");
    let j: serde_json::Value = serde_json::from_str(&f.ok(&["show", "fix.plan", "--json"])).unwrap();
    assert_eq!(j["summary"]["change"], 1);
    assert!(f.ok(&["graph", "."]).starts_with("digraph"));
}

#[test]
fn create_before_destroy_replace_of_the_same_object_keeps_it() {
    let config = "resource \"local_file\" \"f\" {\n  path    = \"out/f.txt\"\n  content = \"x\"\n  lifecycle {\n    create_before_destroy = true\n  }\n}\n";
    let f = Fixture::new("cbd-same", config);
    f.ok(&["apply", "--auto-approve"]);
    let out = f.ok(&["apply", "--auto-approve", "--replace", "local_file.f"]);
    assert!(out.contains("Resources: 1 added, 0 changed, 1 destroyed."), "{out}");
    assert_eq!(
        std::fs::read_to_string(f.path("out/f.txt")).unwrap(),
        "x",
        "the file written by the replacement survives"
    );
    assert_eq!(f.run(&["plan", "--detailed-exitcode"]).status.code(), Some(0));
}

/// A provider alias becomes part of addresses (`aws.west`): it must be a
/// name, as Terraform says; and `--parallelism 0` (nothing would ever start)
/// is a usage error, exit 1.
#[test]
fn a_provider_alias_must_be_a_name_and_parallelism_at_least_one() {
    let f = Fixture::new("alias-name", "provider \"local\" {\n  alias = \"a/b\"\n}\n");
    let out = f.run(&["validate"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("Invalid provider configuration alias"), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("main.lf:2:"), "{}", text(&out.stderr));
    f.write("provider \"local\" {\n  alias = \"east-1\"\n}\n");
    f.ok(&["validate"]);
    for cmd in ["plan", "apply", "destroy"] {
        let out = f.run(&[cmd, "--parallelism", "0"]);
        assert_eq!(out.status.code(), Some(1), "{cmd}: {}", text(&out.stderr));
        assert!(text(&out.stderr).contains("must be at least 1"), "{cmd}: {}", text(&out.stderr));
    }
}

/// `landform version` (and Terraform's `-version`) print what --version does, exit 0.
#[test]
fn version_subcommand_prints_the_version() {
    let f = Fixture::new("version-cmd", "");
    let flag = f.run(&["--version"]);
    assert_eq!(flag.status.code(), Some(0));
    let shown = text(&flag.stdout);
    assert!(shown.starts_with("landform ") && shown.contains(env!("CARGO_PKG_VERSION")), "{shown}");
    for args in [&["version"][..], &["-version"]] {
        let out = f.run(args);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {}", text(&out.stderr));
        assert_eq!(text(&out.stdout), shown, "{args:?}");
    }
}

/// A filter of `state list` that is not an address is an error (exit 1),
/// not an empty list that looks like an empty state.
#[test]
fn state_list_refuses_a_malformed_address() {
    let f = Fixture::new("state-list-bad", "resource \"landform_data\" \"zz\" {\n  input = 1\n}\n");
    f.ok(&["apply", "--auto-approve"]);
    assert_eq!(f.ok(&["state", "list", "landform_data.zz"]), "landform_data.zz\n");
    assert_eq!(f.ok(&["state", "list", "landform_data.other"]), "");
    for bad in [
        "landform_data.zz[\"",
        "foo bar",
        "foo bar.x",
        "landform_data.zz[x]",
        "landform_data.",
        "module..landform_data.zz",
        "module.a[\"k\".landform_data.zz",
        "",
    ] {
        let out = f.run(&["state", "list", bad]);
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{bad:?}: {}{err}", text(&out.stdout));
        assert!(err.contains("address"), "{bad:?}: {err}");
        assert_eq!(text(&out.stdout), "", "{bad:?}");
    }
}

/// Issue 29 (terraform-aws-modules/s3-bucket): a resource or module call with
/// no instances (`count = 0`, an empty `for_each`) has its body checked as
/// `validate` checks it, never evaluated with the values at hand, as in
/// Terraform: `"${var.zone}--x-s3"` with a null zone is no error when the
/// resource is off. An error any value would make is still one.
#[test]
fn a_body_with_no_instances_is_not_evaluated_with_the_values_at_hand() {
    let child = r#"
variable "zone" {
  type    = string
  default = null
}
resource "landform_data" "dir" {
  count = var.zone != null ? 1 : 0
  input = "${var.zone}--x-s3"
}
"#;
    let f = Fixture::new(
        "no-instances",
        r#"
variable "zone" {
  type    = string
  default = null
}
variable "logging" {
  type    = map(string)
  default = {}
}
resource "landform_data" "off" {
  count = var.zone != null ? 1 : 0
  input = "${var.zone}--x-s3"
}
resource "landform_data" "none" {
  for_each = var.logging
  input    = var.logging["target_bucket"]
}
module "off" {
  source = "./m"
  count  = 0
  zone   = upper(var.zone)
}
module "on" {
  source = "./m"
}
"#,
    );
    std::fs::create_dir_all(f.path("m")).unwrap();
    std::fs::write(f.path("m/main.lf"), child).unwrap();
    let out = f.ok(&["plan"]);
    assert!(out.contains("No changes."), "{out}");

    // A function that does not exist is an error wherever it is.
    f.write(
        r#"
resource "landform_data" "off" {
  count = 0
  input = no_such_function(1)
}
"#,
    );
    let out = f.run(&["plan"]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{}{err}", text(&out.stdout));
    assert!(err.contains("no_such_function"), "{err}");
}

/// Issue 29 (terraform-aws-modules/vpc's outputs): an attribute of the
/// provider's schema that is not set is null in the object others refer to,
/// as in Terraform, not missing (`aws_subnet.public[*].ipv6_cidr_block`).
#[test]
fn an_attribute_left_unset_is_null_to_references_not_missing() {
    let f = Fixture::new(
        "unset-attribute",
        r#"
resource "local_file" "page" {
  path    = "out/page.txt"
  content = "hello"
}
resource "landform_data" "bare" {}
output "unset" {
  value = [local_file.page.content_base64 == null, landform_data.bare.input == null, local_file.page.file_permission]
}
"#,
    );
    let plan = f.ok(&["plan"]);
    assert!(plan.contains("Plan: 2 to add"), "{plan}");
    f.ok(&["apply", "--auto-approve"]);
    let out: serde_json::Value = serde_json::from_str(&f.ok(&["output", "--json", "unset"])).unwrap();
    assert_eq!(out, serde_json::json!([true, true, null]));
    let again = f.ok(&["plan"]);
    assert!(again.contains("No changes."), "{again}");
}
