//! Plans and state in `terraform show -json`'s format, on the real binary:
//! golden files of both formats (modules, count and for_each instances,
//! nested blocks, a sensitive value, a replace, drift, output changes), each
//! plan checked against docs/terraform-plan.schema.json, and checkov — a real
//! consumer of Terraform plans — reading Landform's plan of the AWS example.
//!
//! `UPDATE_EXPECT=1` rewrites the golden files. checkov lives in a virtualenv
//! that `scripts/test` installs (`target/checkov-venv`, or `LANDFORM_CHECKOV_VENV`);
//! without it the checkov test fails.

mod common;

use common::{text, Fixture};
use serde_json::Value;
use std::path::{Path, PathBuf};

const SECRET: &str = "s3cr3t-t0ken-value";

static COUNTER: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

const CONFIG: &str = r#"
variable "token" {
  default   = "s3cr3t-t0ken-value"
  sensitive = true
}

variable "pages" {
  default = {
    home  = "Welcome"
    about = "About us"
  }
}

variable "release" {
  default = "1"
}

resource "local_file" "page" {
  for_each = var.pages
  path     = "out/${each.key}.html"
  content  = "<h1>${each.value}</h1>"
}

resource "landform_data" "build" {
  count            = 2
  input            = "build-${count.index}"
  triggers_replace = var.release
}

resource "local_file" "secret" {
  path    = "out/token"
  content = var.token
}

module "site" {
  source = "./modules/site"
  name   = "web"
}

output "pages" {
  value = [for p in local_file.page : p.path]
}

output "release" {
  value = var.release
}

output "token" {
  value     = local_file.secret.content
  sensitive = true
}
"#;

const MODULE: &str = r#"
variable "name" {}

resource "local_file" "manifest" {
  path    = "out/${var.name}.json"
  content = jsonencode({ name = var.name })
}

output "path" {
  value = local_file.manifest.path
}
"#;

fn schema() -> jsonschema::Validator {
    let text =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/terraform-plan.schema.json")).unwrap();
    jsonschema::validator_for(&serde_json::from_str(&text).unwrap()).unwrap()
}

fn check_plan_format(json: &Value, what: &str) {
    let errors: Vec<String> = schema().iter_errors(json).map(|e| format!("{e} at {}", e.instance_path())).collect();
    assert!(errors.is_empty(), "{what} breaks Terraform's plan format:\n{}", errors.join("\n"));
}

/// What changes from run to run: versions, lineage, serial, the plan's hash, random ids.
fn normalize(v: &mut Value) {
    match v {
        Value::Object(m) => {
            for (k, x) in m.iter_mut() {
                if k == "landform_version" {
                    *x = Value::String("(version)".into());
                } else if k == "lineage" {
                    *x = Value::String("(lineage)".into());
                } else if k == "plan_hash" {
                    // Covers the state's lineage.
                    *x = Value::String("(hash)".into());
                } else if k == "serial" {
                    // Results that arrive together are committed together: the count varies.
                    *x = Value::String("(serial)".into());
                } else {
                    normalize(x);
                }
            }
        }
        Value::Array(a) => a.iter_mut().for_each(normalize),
        Value::String(s) if s.len() == 36 && s.matches('-').count() == 4 => *s = "(uuid)".into(),
        _ => {}
    }
}

fn golden(name: &str, mut actual: Value) {
    normalize(&mut actual);
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/tfjson").join(name);
    let text = serde_json::to_string_pretty(&actual).unwrap() + "\n";
    if std::env::var_os("UPDATE_EXPECT").is_some() {
        std::fs::write(&path, &text).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(expected == text, "{} differs (UPDATE_EXPECT=1 rewrites it):\n{text}", path.display());
}

fn json_of(out: &str) -> Value {
    serde_json::from_str(out).unwrap_or_else(|e| panic!("not JSON ({e}):\n{out}"))
}

#[test]
fn plan_and_state_json_follow_terraforms_format() {
    let f = Fixture::new("tfjson", CONFIG);
    std::fs::create_dir_all(f.path("modules/site")).unwrap();
    std::fs::write(f.path("modules/site/main.lf"), MODULE).unwrap();
    // From empty: creates, for_each and count instances, a module, outputs.
    let created = json_of(&f.ok(&["plan", "--json"]));
    check_plan_format(&created, "the first plan");
    golden("create.plan.json", created);
    f.ok(&["apply", "--auto-approve"]);
    let state = json_of(&f.ok(&["show", "--json"]));
    assert_eq!(state["values"]["root_module"]["child_modules"][0]["address"], "module.site");
    assert_eq!(state["values"]["outputs"]["token"]["value"], Value::Null);
    golden("state.json", state);
    // Drift (a file edited by hand), a replace (triggers_replace), an output change.
    std::fs::write(f.path("out/home.html"), "edited by hand").unwrap();
    let out = f.ok(&["plan", "--json", "--var", "release=2", "--out", "p.plan"]);
    let plan =
        json_of(out.lines().take_while(|l| !l.starts_with("Saved the plan")).collect::<Vec<_>>().join("\n").as_str());
    check_plan_format(&plan, "the plan with drift and a replace");
    let changes = plan["resource_changes"].as_array().unwrap();
    let build = changes.iter().find(|c| c["address"] == "landform_data.build[0]").unwrap();
    assert_eq!(build["change"]["actions"], serde_json::json!(["delete", "create"]));
    assert_eq!(build["change"]["replace_paths"], serde_json::json!([["triggers_replace"]]));
    assert_eq!(plan["resource_drift"][0]["address"], "local_file.page[\"home\"]");
    let prior = plan["prior_state"]["values"]["root_module"]["resources"].as_array().unwrap();
    let home = prior.iter().find(|r| r["address"] == "local_file.page[\"home\"]").unwrap();
    assert_eq!(home["values"]["content"], "edited by hand", "the prior state is the refreshed one");
    let secret = &by_address(&plan["planned_values"]["root_module"]["resources"], "local_file.secret");
    assert_eq!(secret["values"]["content"], Value::Null);
    assert_eq!(secret["sensitive_values"]["content"], true);
    // Issue 29: an unchanged object is shown as it is, before and after, as
    // Terraform shows it (its secrets null in both).
    let same: Vec<&Value> = changes
        .iter()
        .filter(|c| c["change"]["actions"] == serde_json::json!(["no-op"]) && c["module_address"].is_null())
        .collect();
    assert!(!same.is_empty(), "{changes:?}");
    for c in same {
        let was = prior.iter().find(|r| r["address"] == c["address"]).unwrap();
        assert_eq!(c["change"]["before"], was["values"], "{}", c["address"]);
        assert_eq!(c["change"]["after"], was["values"], "{}", c["address"]);
    }
    golden("update.plan.json", plan.clone());
    // A saved plan shows the same.
    let shown = json_of(&f.ok(&["show", "p.plan", "--json"]));
    assert_eq!(shown, plan, "show PLANFILE --json is plan --json");
    for out in [&f.ok(&["show", "--json"]), &f.ok(&["show", "p.plan", "--json"]), &out] {
        assert!(!out.contains(SECRET), "the secret leaked:\n{out}");
    }
}

fn aws_plan(vars: &[&str]) -> Value {
    let f = Fixture::new(
        &format!("tfjson-aws-{}", vars.len() + COUNTER.fetch_add(1, std::sync::atomic::Ordering::SeqCst) * 10),
        "",
    );
    f.write(&std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/examples/aws-blue-green/main.lf")).unwrap());
    let mut args =
        vec!["plan", "--json", "--var", "vpc_id=vpc-0example", "--var", "subnet_ids=[\"subnet-a\",\"subnet-b\"]"];
    args.extend_from_slice(vars);
    // From an empty state a plan asks AWS nothing.
    let out = f.cmd(&args).env("AWS_ACCESS_KEY_ID", "none").env("AWS_SECRET_ACCESS_KEY", "none").output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    json_of(&text(&out.stdout))
}

#[test]
fn nested_blocks_are_lists_of_objects_as_terraform_shows_them() {
    let plan = aws_plan(&[]);
    check_plan_format(&plan, "the AWS example's plan");
    let listener = by_address(&plan["planned_values"]["root_module"]["resources"], "aws_lb_listener.http");
    assert_eq!(listener["values"]["default_action"][0]["type"], "forward");
    assert_eq!(listener["values"]["default_action"][0]["forward"][0]["target_group"][1]["weight"], 0);
    let conf = by_address(&plan["configuration"]["root_module"]["resources"], "aws_lb_listener.http");
    assert_eq!(conf["expressions"]["default_action"][0]["type"]["constant_value"], "forward");
    assert_eq!(
        conf["expressions"]["default_action"][0]["forward"][0]["target_group"][0]["arn"]["references"],
        serde_json::json!(["aws_lb_target_group.blue.arn", "aws_lb_target_group.blue"])
    );
    assert_eq!(plan["configuration"]["provider_config"]["aws"]["name"], "aws");
    golden("aws.plan.json", plan);
}

/// The entry of a JSON list of resources with this address.
fn by_address(list: &Value, address: &str) -> Value {
    list.as_array().unwrap().iter().find(|r| r["address"] == address).unwrap_or_else(|| panic!("no {address}")).clone()
}

fn checkov() -> PathBuf {
    let venv = std::env::var_os("LANDFORM_CHECKOV_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/checkov-venv"));
    let bin = venv.join("bin/checkov");
    assert!(
        bin.exists(),
        "checkov is not installed in {}: run scripts/test, which installs it into that virtualenv",
        venv.display()
    );
    bin
}

/// checkov's verdict on one check for a plan: "passed" or "failed" per resource.
fn verdicts(plan: &Value, check: &str) -> Vec<(String, String)> {
    let dir = std::env::temp_dir().join(format!("landform-checkov-{}-{check}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("plan.json");
    std::fs::write(&file, serde_json::to_string_pretty(plan).unwrap()).unwrap();
    let out = std::process::Command::new(checkov())
        .args([
            "-f",
            file.to_str().unwrap(),
            "--framework",
            "terraform_plan",
            "--skip-download",
            "-o",
            "json",
            "-c",
            check,
        ])
        .env("BC_SKIP_MAPPING", "TRUE")
        .output()
        .unwrap();
    let report = json_of(&text(&out.stdout));
    let results = &report["results"];
    assert!(
        results.is_object(),
        "checkov found no resources in the plan:\n{}\n{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    let mut v = Vec::new();
    for (kind, key) in [("passed", "passed_checks"), ("failed", "failed_checks")] {
        for c in results[key].as_array().unwrap() {
            v.push((c["resource"].as_str().unwrap().to_string(), kind.to_string()));
        }
    }
    v
}

#[test]
fn checkov_reads_landform_plans_and_fails_an_http_listener() {
    let http = aws_plan(&[]);
    assert_eq!(verdicts(&http, "CKV_AWS_2"), vec![("aws_lb_listener.http".to_string(), "failed".to_string())]);
    let https = aws_plan(&["--var", "certificate_arn=arn:aws:acm:us-east-1:123456789012:certificate/example"]);
    assert_eq!(verdicts(&https, "CKV_AWS_2"), vec![("aws_lb_listener.http".to_string(), "passed".to_string())]);
}

/// `sensitive_values`, `before_sensitive` and `after_sensitive` have the
/// value's shape, as Terraform's `SensitiveAsBool` gives them: a list as
/// long as the value with `false` for what is not hidden, a nested object
/// present even with nothing hidden, and `false` where there is no value.
/// The expected shapes are Terraform 1.15.5's for the same configuration with
/// `terraform_data` (plan and `show -json` after apply agree on `input`).
#[test]
fn sensitivity_flags_have_the_shape_of_the_value_as_terraforms() {
    let f = Fixture::new(
        "tfjson-shapes",
        r#"
variable "secret" {
  type      = string
  sensitive = true
  default   = "zz-shape-secret"
}
resource "landform_data" "a" {
  input = { lst = ["p", var.secret, "q"], a = { b = "x" } }
}
resource "landform_data" "b" {
  input = [[var.secret, "x"], ["y"]]
}
"#,
    );
    let want_a = serde_json::json!({"a": {}, "lst": [false, true, false]});
    let want_b = serde_json::json!([[true, false], [false]]);
    let plan: Value = serde_json::from_str(&f.ok(&["plan", "--json"])).unwrap();
    for c in plan["resource_changes"].as_array().unwrap() {
        let want = if c["address"] == "landform_data.a" { &want_a } else { &want_b };
        assert_eq!(c["change"]["before_sensitive"], false, "nothing before a create");
        assert_eq!(&c["change"]["after_sensitive"]["input"], want, "{}", c["address"]);
    }
    f.ok(&["apply", "--auto-approve"]);
    let shown: Value = serde_json::from_str(&f.ok(&["show", "--json"])).unwrap();
    for r in shown["values"]["root_module"]["resources"].as_array().unwrap() {
        let want = if r["address"] == "landform_data.a" { &want_a } else { &want_b };
        assert_eq!(&r["sensitive_values"]["input"], want, "{}", r["address"]);
    }
    let gone: Value = serde_json::from_str(&f.ok(&["plan", "--destroy", "--json"])).unwrap();
    for c in gone["resource_changes"].as_array().unwrap() {
        assert_eq!(c["change"]["after_sensitive"], false, "nothing after a delete");
    }
    assert!(!text(&f.run(&["show", "--json"]).stdout).contains("zz-shape-secret"));
}
