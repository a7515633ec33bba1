//! Lifecycle rules hold, or are refused with a clear error — never ignored.

mod common;
use common::{text, Fixture};

fn protected(expr: &str) -> String {
    format!(
        r#"
variable "protect" {{
  default = true
}}
locals {{
  protect = true
}}
resource "landform_data" "db" {{
  input = "precious"
  lifecycle {{
    prevent_destroy = {expr}
  }}
}}
"#
    )
}

#[test]
fn prevent_destroy_from_a_variable_a_local_or_an_expression_holds() {
    for expr in ["var.protect", "local.protect", "1 == 1", "true"] {
        let f = Fixture::new("protect", &protected(expr));
        f.ok(&["validate"]);
        f.ok(&["apply", "--auto-approve"]);
        let out = f.run(&["destroy", "--auto-approve"]);
        assert_eq!(out.status.code(), Some(1), "{expr}: destroy must be refused");
        assert!(text(&out.stderr).contains("Instance cannot be destroyed"), "{expr}: {}", text(&out.stderr));
        assert_eq!(f.ok(&["state", "list"]).trim(), "landform_data.db", "{expr}: nothing destroyed");
    }
    let f = Fixture::new("protect-off", &protected("var.protect"));
    f.ok(&["apply", "--auto-approve"]);
    f.ok(&["destroy", "--auto-approve", "--var", "protect=false"]);
    assert_eq!(f.ok(&["state", "list"]).trim(), "");
}

#[test]
fn prevent_destroy_that_cannot_be_known_when_planning_is_an_error() {
    for (expr, says) in [("\"yes\"", "must be true or false"), ("landform_data.other.output", "not \"landform_data\"")]
    {
        let config = protected(expr) + "resource \"landform_data\" \"other\" {\n  input = true\n}\n";
        let f = Fixture::new("protect-bad", &config);
        let out = f.run(&["validate"]);
        assert_eq!(out.status.code(), Some(1), "{expr}");
        let err = text(&out.stderr);
        assert!(err.contains("Invalid lifecycle value") && err.contains(says), "{expr}: {err}");
    }
}

const TRIGGERED: &str = r#"
variable "schema" {
  default = "v1"
}
resource "local_exec" "migrate" {
  create      = "true"
  update      = "true"
  environment = { SCHEMA = var.schema }
}
resource "landform_data" "app" {
  input = "app"
  lifecycle {
    replace_triggered_by = [local_exec.migrate]
  }
}
resource "landform_data" "by_attr" {
  input = "x"
  lifecycle {
    replace_triggered_by = [local_exec.migrate.environment]
  }
}
resource "landform_data" "untouched" {
  input = "y"
  lifecycle {
    replace_triggered_by = [local_exec.migrate.create]
  }
}
"#;

#[test]
fn replace_triggered_by_replaces_when_what_it_watches_changes() {
    let f = Fixture::new("triggers", TRIGGERED);
    f.ok(&["apply", "--auto-approve"]);
    let id_before = f.ok(&["state", "show", "landform_data.app"]);
    let plan = f.ok(&["plan", "--var", "schema=v2"]);
    assert!(plan.contains("# landform_data.app will be replaced due to changes in replace_triggered_by"), "{plan}");
    assert!(plan.contains("# landform_data.by_attr will be replaced due to changes in replace_triggered_by"), "{plan}");
    assert!(!plan.contains("landform_data.untouched"), "an unchanged attribute triggers nothing:\n{plan}");
    assert!(plan.contains("Plan: 2 to add, 1 to change, 2 to destroy."), "{plan}");
    f.ok(&["apply", "--auto-approve", "--var", "schema=v2"]);
    assert_ne!(f.ok(&["state", "show", "landform_data.app"]), id_before, "a new object");
    let out = f.run(&["plan", "--detailed-exitcode", "--var", "schema=v2"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
}

#[test]
fn ignore_changes_all_keeps_everything_and_a_typo_is_reported() {
    let config = r#"
variable "v" {
  default = "one"
}
resource "local_file" "f" {
  path    = "out/f.txt"
  content = var.v
  lifecycle {
    ignore_changes = all
  }
}
"#;
    let f = Fixture::new("ignore-all", config);
    f.ok(&["apply", "--auto-approve"]);
    let out = f.run(&["plan", "--detailed-exitcode", "--var", "v=two"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    f.write(&config.replace("ignore_changes = all", "ignore_changes = [contnet]"));
    let out = f.run(&["validate"]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(err.contains("no argument named \"contnet\"") && err.contains("Did you mean \"content\"?"), "{err}");
}

#[test]
fn dependents_of_a_create_before_destroy_replacement_see_the_new_object() {
    let config = r#"
variable "name" {
  default = "a"
}
resource "local_file" "cfg" {
  path    = "out/${var.name}.txt"
  content = "config"
  lifecycle {
    create_before_destroy = true
  }
}
resource "landform_data" "user" {
  input = local_file.cfg.id
}
output "used" {
  value = landform_data.user.output
}
"#;
    let f = Fixture::new("cbd-dependents", config);
    f.ok(&["apply", "--auto-approve"]);
    let out = f.ok(&["apply", "--auto-approve", "--var", "name=b"]);
    assert!(out.contains("Apply complete!"), "{out}");
    assert_eq!(f.ok(&["output", "used"]).trim(), "out/b.txt");
    assert!(f.path("out/b.txt").exists() && !f.path("out/a.txt").exists());
    let plan = f.run(&["plan", "--detailed-exitcode", "--var", "name=b"]);
    assert_eq!(plan.status.code(), Some(0), "{}", text(&plan.stdout));
}

#[test]
fn outputs_stay_in_the_state_after_a_partial_failure() {
    let config = r#"
variable "fail" {
  default = "false"
}
resource "local_exec" "step" {
  create = "${var.fail} && true"
}
resource "landform_data" "ok" {
  input = "kept"
}
output "kept" {
  value = landform_data.ok.output
}
output "step" {
  value = local_exec.step.id
}
"#;
    let f = Fixture::new("outputs-kept", &config.replace("\"false\"", "\"true\""));
    f.ok(&["apply", "--auto-approve"]);
    let before = f.ok(&["output", "step"]);
    // Replacing the step fails now; the outputs that depended on it stay.
    f.write(&config.replace("&& true", "&& false"));
    let out = f.run(&["apply", "--auto-approve", "--var", "fail=true"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert_eq!(f.ok(&["output", "kept"]).trim(), "kept");
    assert_eq!(f.ok(&["output", "step"]), before);
}

/// Issue 27: the old object of a create_before_destroy replacement is a
/// deposed object of its instance from before the new one is created until
/// it is destroyed. When its destroy fails it stays in the state: `state
/// list` and `state show` show it, the next plan says it will be destroyed
/// (Terraform's words), and the next apply destroys it.
#[test]
fn an_old_object_whose_destroy_failed_stays_deposed_and_the_next_apply_destroys_it() {
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
    let f = Fixture::new("cbd-deposed", cfg);
    f.ok(&["apply", "--auto-approve"]);
    let out = f.run(&["apply", "--auto-approve", "--var", "v=2"]);
    let said = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(1), "{said}");
    assert!(said.contains("local_exec.e (deposed object "), "{said}");
    assert!(f.path("e-1.txt").exists() && f.path("e-2.txt").exists());

    // The state holds both: the new object, and the old one, deposed.
    assert_eq!(f.ok(&["state", "list"]), "local_exec.e\n");
    let shown = f.ok(&["state", "show", "local_exec.e"]);
    assert!(shown.contains("e-2.txt") && shown.contains("(deposed object ") && shown.contains("e-1.txt"), "{shown}");
    let pulled: serde_json::Value = serde_json::from_str(&f.ok(&["state", "pull"])).unwrap();
    let key = pulled["deposed"][0]["key"].as_str().unwrap().to_string();
    assert_eq!(key.len(), 8, "{pulled}");
    assert!(pulled["deposed"][0]["record"]["attributes"]["create"].as_str().unwrap().contains("e-1.txt"));

    let plan = f.run(&["plan", "--detailed-exitcode", "--var", "v=2"]);
    let said = text(&plan.stdout);
    assert_eq!(plan.status.code(), Some(2), "{said}{}", text(&plan.stderr));
    assert!(said.contains(&format!("# local_exec.e (deposed object {key}) will be destroyed")), "{said}");
    assert!(said.contains("(left over from a partially-failed replacement of this instance)"), "{said}");
    assert!(said.contains("Plan: 0 to add, 0 to change, 1 to destroy."), "{said}");
    let json = f.ok(&["plan", "--var", "v=2", "--json"]);
    assert!(
        json.contains(&format!("\"deposed\":\"{key}\"")) || json.contains(&format!("\"deposed\": \"{key}\"")),
        "{json}"
    );

    std::fs::write(f.path("allow"), "").unwrap();
    let done = f.ok(&["apply", "--auto-approve", "--var", "v=2"]);
    assert!(done.contains(&format!("local_exec.e (deposed object {key}): Destruction complete")), "{done}");
    assert!(!f.path("e-1.txt").exists() && f.path("e-2.txt").exists());
    let pulled: serde_json::Value = serde_json::from_str(&f.ok(&["state", "pull"])).unwrap();
    assert!(pulled.get("deposed").is_none(), "{pulled}");
    let again = f.run(&["plan", "--detailed-exitcode", "--var", "v=2"]);
    assert_eq!(again.status.code(), Some(0), "{}", text(&again.stdout));
}
