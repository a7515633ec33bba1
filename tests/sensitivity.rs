//! Sensitive marks as Terraform sets them, on the real binary: every case of
//! tests/data/sensitivity/cases.lf is planned by Landform and its plan JSON
//! (`after_sensitive` of each resource, `after_sensitive` of each output, or
//! the error) compared with Terraform 1.15's answer cached in cases.json
//! (made by scripts/terraform-sensitivity.py, checked again by scripts/test);
//! Landform hides more only inside an attribute Terraform plans as unknown
//! (a provider's copy of a secret), which the comparison leaves out.
//! Then the two configurations that earlier releases applied and the secret
//! that a `for` over a sensitive value once printed.

mod common;

use common::{text, Fixture};
use serde_json::{json, Value};
use std::collections::BTreeMap;

fn data(name: &str) -> String {
    std::fs::read_to_string(format!("{}/tests/data/sensitivity/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

/// The cases of cases.lf: (name, configuration).
fn cases() -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for line in data("cases.lf").lines() {
        if let Some(name) = line.strip_prefix("# case: ") {
            out.push((name.trim().to_string(), String::new()));
        } else if let Some((_, text)) = out.last_mut() {
            text.push_str(line);
            text.push('\n');
        }
    }
    out
}

/// Every path where a `sensitive_values` structure is true, written as the
/// oracle script writes them (`input`, `input.a`, `input[1]`, `input["a b"]`).
fn paths(flags: &Value, at: &str, out: &mut Vec<String>) {
    match flags {
        Value::Bool(true) => out.push(at.to_string()),
        Value::Object(m) => {
            for (k, v) in m {
                let ident = k.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
                    && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
                let step = match (ident, at.is_empty()) {
                    (false, _) => format!("[{}]", serde_json::to_string(k).unwrap()),
                    (true, true) => k.clone(),
                    (true, false) => format!(".{k}"),
                };
                paths(v, &format!("{at}{step}"), out);
            }
        }
        Value::Array(a) => {
            for (i, v) in a.iter().enumerate() {
                paths(v, &format!("{at}[{i}]"), out);
            }
        }
        _ => {}
    }
}

/// Landform's answer for a configuration, in the oracle's form. A line
/// `# file: PATH` starts another file (a module's).
fn landform_answer(name: &str, config: &str) -> (Value, String) {
    let mut files = vec![("main.lf".to_string(), String::new())];
    for line in config.lines() {
        match line.strip_prefix("# file: ") {
            Some(path) => files.push((path.trim().to_string(), String::new())),
            None => {
                let body = &mut files.last_mut().unwrap().1;
                body.push_str(line);
                body.push('\n');
            }
        }
    }
    let f = Fixture::new(&format!("sens-{name}"), &files[0].1);
    for (path, body) in &files[1..] {
        std::fs::create_dir_all(f.path(path).parent().unwrap()).unwrap();
        std::fs::write(f.path(path), body).unwrap();
    }
    let out = f.run(&["plan", "--json"]);
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    if out.status.code() != Some(0) {
        let summary = stderr.lines().find_map(|l| l.trim().strip_prefix("Error: ")).unwrap_or("error").to_string();
        return (json!({ "error": summary }), stderr);
    }
    let plan: Value = serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{name}: plan JSON: {e}\n{stdout}"));
    let mut resources = BTreeMap::new();
    for c in plan["resource_changes"].as_array().unwrap() {
        let mut p = Vec::new();
        paths(&c["change"]["after_sensitive"], "", &mut p);
        p.sort();
        resources.insert(c["address"].as_str().unwrap().to_string(), json!(p));
    }
    let outputs: BTreeMap<String, Value> = plan["output_changes"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, o)| (k.clone(), json!(o["after_sensitive"] == json!(true))))
        .collect();
    (json!({ "resources": resources, "outputs": outputs }), stderr)
}

#[test]
fn every_case_marks_what_terraform_marks() {
    let prelude = data("prelude.lf");
    let answers: Vec<Value> = serde_json::from_str(&data("cases.json")).unwrap();
    let answers: BTreeMap<&str, &Value> =
        answers.iter().map(|a| (a["case"].as_str().unwrap(), &a["terraform"])).collect();
    let cases = cases();
    assert!(cases.len() >= 40, "only {} cases", cases.len());
    let mut differ = Vec::new();
    for (name, config) in &cases {
        let want = answers
            .get(name.as_str())
            .unwrap_or_else(|| panic!("{name}: no cached answer: run scripts/terraform-sensitivity.py --update"));
        let (mut got, stderr) = landform_answer(name, &format!("{prelude}{config}"));
        let mut want = (*want).clone();
        // Where Terraform plans an attribute the provider computes as unknown
        // (`output`, `id`), it says nothing of marks inside it; Landform, which
        // knows `landform_data`'s output at plan time, hides a copy of a
        // secret there (sensitivity::copied_paths). Those paths alone are
        // left out of the comparison; every other path must be the same.
        if let (Some(unknown), Some(resources)) = (want.get("unknown").cloned(), got.get_mut("resources")) {
            for (addr, paths) in resources.as_object_mut().unwrap() {
                let computed: Vec<&str> =
                    unknown[addr].as_array().map(|a| a.iter().filter_map(Value::as_str).collect()).unwrap_or_default();
                paths.as_array_mut().unwrap().retain(|p| {
                    let attr = p.as_str().unwrap().split(['.', '[']).next().unwrap_or("");
                    !computed.contains(&attr)
                });
            }
        }
        if let Some(w) = want.as_object_mut() {
            w.remove("unknown");
        }
        if got != want {
            differ.push(format!("{name}: Terraform {want}, Landform {got}\n{stderr}"));
        }
    }
    assert!(
        differ.is_empty(),
        "{} of {} cases differ from Terraform:\n{}",
        differ.len(),
        cases.len(),
        differ.join("\n")
    );
}

/// Apply `config` with `secret` planted in a sensitive variable: the exit
/// code and everything printed, which must never hold the secret.
fn apply(f: &Fixture, secret: &str, var: &str) -> String {
    let out = f.cmd(&["apply", "--auto-approve"]).env(format!("LANDFORM_VAR_{var}"), secret).output().unwrap();
    let all = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "{all}");
    assert!(!all.contains(secret), "apply printed the secret:\n{all}");
    all
}

/// Issue 26 item 1: Terraform marks the path that holds the secret, not its
/// siblings: `db_major` is not sensitive and prints as Terraform prints it.
#[test]
fn a_sibling_of_a_secret_is_not_sensitive_and_prints() {
    let f = Fixture::new(
        "sens-db-major",
        r#"
variable "db_password" {
  type      = string
  sensitive = true
}
resource "landform_data" "database" {
  input = {
    major    = 15
    dsn_hash = sha256("postgres://app:${var.db_password}@db/app")
  }
}
output "db_major" {
  value = landform_data.database.output.major
}
"#,
    );
    let all = apply(&f, "pw-7c1e9a-secret", "db_password");
    assert!(all.contains("db_major = 15"), "{all}");
    assert_eq!(f.ok(&["output", "db_major"]).trim(), "15");
    let pulled: Value = serde_json::from_str(&f.ok(&["state", "pull"])).unwrap();
    let rec = &pulled["resources"][0];
    // The path that holds the secret is hidden, its sibling is not (and
    // neither is the provider's copy of the sibling in `output`).
    assert_eq!(rec["sensitive_attributes"], json!(["input.dsn_hash", "output.dsn_hash"]), "{rec}");
    assert_eq!(rec["attributes"]["input"], json!({ "dsn_hash": null, "major": 15 }), "{rec}");
    // And a plan after the apply changes nothing and still accepts the output.
    let out =
        f.cmd(&["plan", "--detailed-exitcode"]).env("LANDFORM_VAR_db_password", "pw-7c1e9a-secret").output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}{}", text(&out.stdout), text(&out.stderr));
}

/// Issue 26 item 2: the length of a list of instances whose elements hold a
/// marked attribute is not marked.
#[test]
fn the_length_of_instances_holding_a_secret_is_not_sensitive() {
    let f = Fixture::new(
        "sens-token-files",
        r#"
variable "api_token" {
  type      = string
  sensitive = true
}
resource "local_file" "token" {
  count   = var.api_token == null ? 0 : 1
  path    = "out/token"
  content = var.api_token
}
output "token_files" {
  value = length(local_file.token)
}
"#,
    );
    let all = apply(&f, "tok-5d2b8e-secret", "api_token");
    assert!(all.contains("token_files = 1"), "{all}");
    assert_eq!(f.ok(&["output", "token_files"]).trim(), "1");
    assert_eq!(std::fs::read_to_string(f.path("out/token")).unwrap(), "tok-5d2b8e-secret");
}

const WORDS_SECRET: &str = "Quokka_Zephyr_Marmot-4d7e";

/// Every output of `landform args` with the secret planted: none holds the
/// secret, a word of it, or a quoted character of it.
fn scan(f: &Fixture, args: &[&str]) -> (Option<i32>, String) {
    let out = f.cmd(args).env("LANDFORM_VAR_secret", WORDS_SECRET).stdin(std::process::Stdio::null()).output().unwrap();
    let all = format!("{}{}", text(&out.stdout), text(&out.stderr));
    for word in [WORDS_SECRET, "Quokka", "Zephyr", "Marmot", "QUOKKA", "quokka", "marmot-4d7e"] {
        assert!(!all.contains(word), "landform {args:?} printed {word:?}:\n{all}");
    }
    for c in WORDS_SECRET.chars().filter(|c| c.is_ascii_alphanumeric()) {
        assert!(!all.contains(&format!("\"{c}\"")), "landform {args:?} quoted the character {c:?}:\n{all}");
    }
    (out.status.code(), all)
}

/// Issue 25 item 4: inside a `for` over a sensitive collection each element
/// is sensitive, so no error quotes one — word by word or character by
/// character — and what the elements build stays hidden everywhere.
#[test]
fn the_elements_of_a_secret_collection_never_print() {
    let prelude = "variable \"secret\" {\n  type      = string\n  sensitive = true\n}\n";
    let failing = [
        "[for w in split(\"_\", var.secret) : tonumber(lower(w))]",
        "[for c in split(\"\", var.secret) : tonumber(c)]",
        "[for w in split(\"_\", var.secret) : w + 1]",
        "[for w in split(\"_\", var.secret) : { a = 1 }[w]]",
        "[for i, w in split(\"_\", var.secret) : [1, 2][w]]",
        "{ for w in split(\"\", var.secret) : w => 1 }",
        "[for w in split(\"_\", var.secret) : w if w]",
    ];
    for (i, expr) in failing.iter().enumerate() {
        let f = Fixture::new(
            &format!("sens-for-{i}"),
            &format!("{prelude}resource \"landform_data\" \"x\" {{\n  input = {expr}\n}}\n"),
        );
        for args in [&["validate"][..], &["plan"], &["plan", "--json"], &["apply", "--auto-approve"]] {
            let (code, all) = scan(&f, args);
            assert_ne!(code, Some(0), "{expr}: landform {args:?} accepted it:\n{all}");
            assert_eq!(code, Some(1), "{expr}: landform {args:?}:\n{all}");
        }
    }
    // What the elements build is sensitive: refused as a plain output, hidden everywhere once applied.
    let config = format!(
        "{prelude}resource \"landform_data\" \"x\" {{\n  input = [for w in split(\"_\", var.secret) : upper(w)]\n}}\n"
    );
    let refused = Fixture::new(
        "sens-for-output",
        &format!("{config}output \"w\" {{\n  value = [for w in split(\"_\", var.secret) : w]\n}}\n"),
    );
    let (code, all) = scan(&refused, &["plan"]);
    assert_eq!(code, Some(1), "{all}");
    assert!(all.contains("Output refers to sensitive values"), "{all}");
    let f = Fixture::new(
        "sens-for-ok",
        &format!("{config}output \"w\" {{\n  value     = [for w in split(\"_\", var.secret) : lower(w)]\n  sensitive = true\n}}\n"),
    );
    scan(&f, &["plan", "--out", "saved.plan"]);
    scan(&f, &["show", "saved.plan"]);
    scan(&f, &["show", "--json", "saved.plan"]);
    let (code, all) = scan(&f, &["apply", "saved.plan"]);
    assert_eq!(code, Some(0), "{all}");
    for args in [
        &["show"][..],
        &["show", "--json"],
        &["state", "pull"],
        &["state", "show", "landform_data.x"],
        &["output"],
        &["output", "--json"],
        &["plan"],
        &["plan", "--json"],
    ] {
        let (code, all) = scan(&f, args);
        assert_eq!(code, Some(0), "{args:?}: {all}");
    }
}

/// Users upgrading keep a state whose records an earlier release marked
/// whole (every computed attribute too): the output that release refused
/// now plans and applies, and prints what Terraform prints.
#[test]
fn a_state_marked_by_an_earlier_release_does_not_refuse_the_output() {
    let resource = r#"
variable "db_password" {
  type      = string
  sensitive = true
}
resource "landform_data" "database" {
  input = {
    major    = 15
    dsn_hash = sha256("postgres://app:${var.db_password}@db/app")
  }
}
"#;
    let f = Fixture::new("sens-upgrade", resource);
    apply(&f, "pw-51ab0c-secret", "db_password");
    // The record as the earlier release wrote it.
    let pulled = f.cmd(&["state", "pull", "--show-sensitive"]).output().unwrap();
    let mut state: Value = serde_json::from_slice(&pulled.stdout).unwrap();
    state["resources"][0]["sensitive_attributes"] = json!(["id", "input", "output"]);
    state["serial"] = json!(state["serial"].as_u64().unwrap() + 1);
    std::fs::write(f.path("old.json"), serde_json::to_vec(&state).unwrap()).unwrap();
    f.ok(&["state", "push", "old.json"]);
    f.write(&format!("{resource}output \"db_major\" {{\n  value = landform_data.database.output.major\n}}\n"));
    let all = apply(&f, "pw-51ab0c-secret", "db_password");
    assert!(all.contains("db_major = 15"), "{all}");
    assert_eq!(f.ok(&["output", "db_major"]).trim(), "15");
}
