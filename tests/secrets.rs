//! The secret-leak scan: a distinctive secret planted through every path a
//! value can take, and every output of every command searched for it.

mod common;
use common::{text, Fixture};

const SECRET: &str = "S3CR3T-canary-7f3a9c";

fn scan(f: &Fixture, args: &[&str]) -> (Option<i32>, String) {
    let out = f.cmd(args).env("LANDFORM_VAR_secret", SECRET).stdin(std::process::Stdio::null()).output().unwrap();
    let all = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert!(!all.contains(SECRET), "landform {args:?} printed the secret:\n{all}");
    (out.status.code(), all)
}

const HAPPY: &str = r#"
variable "secret" {
  type      = string
  sensitive = true
}
resource "landform_data" "keyed" {
  input = { (var.secret) = 1, other = "x" }
}
resource "local_file" "named" {
  path    = "out/${var.secret}.txt"
  content = "hello"
}
resource "local_file" "content" {
  path    = "out/content.txt"
  content = upper(var.secret)
}
resource "local_exec" "cmd" {
  create = "mkdir -p out && echo ${var.secret} > out/exec.txt"
}
output "keyed" {
  value     = landform_data.keyed.output
  sensitive = true
}
output "plain" {
  value = "visible"
}
"#;

#[test]
fn a_secret_on_every_successful_path_reaches_no_output() {
    let f = Fixture::new("leak-happy", HAPPY);
    scan(&f, &["validate"]);
    scan(&f, &["plan"]);
    scan(&f, &["plan", "--json"]);
    let (code, _) = scan(&f, &["plan", "--out", "saved.plan"]);
    assert_eq!(code, Some(0));
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(std::fs::metadata(f.path("saved.plan")).unwrap().permissions().mode() & 0o777, 0o600);
    scan(&f, &["show", "saved.plan"]);
    scan(&f, &["show", "--json", "saved.plan"]);
    scan(&f, &["show", "saved.plan", "--format", "markdown"]);
    scan(&f, &["plan", "--format", "markdown"]);
    let (code, all) = scan(&f, &["apply", "saved.plan"]);
    assert_eq!(code, Some(0), "{all}");
    for args in [
        &["plan"][..],
        &["show"],
        &["show", "--json"],
        &["output"],
        &["output", "--json"],
        &["output", "keyed"],
        &["state", "list"],
        &["state", "show", "local_file.named"],
        &["state", "show", "landform_data.keyed"],
        &["state", "pull"],
        &["graph"],
    ] {
        let (code, all) = scan(&f, args);
        assert_eq!(code, Some(0), "{args:?}: {all}");
    }
    // Changing the secret: the plan shows a sensitive change, not the value.
    let out = f.cmd(&["plan"]).env("LANDFORM_VAR_secret", "S3CR3T-canary-NEW-1").output().unwrap();
    let all = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert!(!all.contains("S3CR3T-canary-NEW-1") && !all.contains(SECRET), "{all}");
    scan(&f, &["destroy", "--auto-approve"]);
    // A plan file overwritten where a readable one stood is private again.
    std::fs::write(f.path("open.plan"), "x").unwrap();
    std::fs::set_permissions(f.path("open.plan"), std::fs::Permissions::from_mode(0o644)).unwrap();
    scan(&f, &["plan", "--out", "open.plan"]);
    assert_eq!(std::fs::metadata(f.path("open.plan")).unwrap().permissions().mode() & 0o777, 0o600);
}

/// Each configuration fails in a way whose error used to quote the secret.
#[test]
fn a_secret_in_every_error_path_reaches_no_output() {
    let var = "variable \"secret\" {\n  sensitive = true\n}\n";
    let cases = [
        (
            "validation",
            "variable \"secret\" {\n  sensitive = true\n  validation {\n    condition     = length(var.secret) > 100\n    error_message = \"too short: ${var.secret}\"\n  }\n}\n".to_string(),
        ),
        ("function", format!("{var}output \"n\" {{\n  value     = tonumber(var.secret)\n  sensitive = true\n}}\n")),
        (
            "conversion",
            "variable \"secret\" {\n  type      = number\n  sensitive = true\n}\n".to_string(),
        ),
        (
            "provider",
            format!("{var}resource \"local_file\" \"p\" {{\n  path            = \"out/p.txt\"\n  content         = \"x\"\n  file_permission = var.secret\n}}\n"),
        ),
        (
            "command",
            format!("{var}resource \"local_exec\" \"fail\" {{\n  create = \"echo ${{var.secret}} >&2; echo ${{var.secret}}; exit 3\"\n}}\n"),
        ),
        ("output", format!("{var}output \"leak\" {{\n  value = {{ (var.secret) = 1 }}\n}}\n")),
        ("duplicate-key", format!("{var}locals {{\n  m = {{ for k in [var.secret, var.secret] : k => 1 }}\n}}\n")),
    ];
    for (name, config) in cases {
        let config = config.replace("error_message", "message");
        let f = Fixture::new(&format!("leak-{name}"), &config);
        let mut failed = false;
        for args in
            [&["validate"][..], &["plan"], &["apply", "--auto-approve"], &["apply", "--auto-approve", "--no-progress"]]
        {
            let (code, _) = scan(&f, args);
            failed |= code != Some(0);
        }
        assert!(failed, "{name}: the configuration was meant to fail somewhere");
    }
}

/// A variables file that does not parse, or holds a line that is wrong in
/// another way, is named by file:line:col but never quoted when the
/// configuration has a sensitive variable: the bad line may be the secret's.
#[test]
fn a_bad_variables_file_never_quotes_a_sensitive_value() {
    const HIDDEN: &str = "Hunter2SecretXYZ";
    let config = r#"
variable "secret" {
  type      = string
  sensitive = true
}
variable "pin" {
  type      = number
  sensitive = true
}
variable "plain" {
  type    = string
  default = "x"
}
"#;
    let f = Fixture::new("leak-varfile", config);
    let check_code = |args: &[&str], env: &[(&str, &str)], file: &str, code: i32| {
        let mut cmd = f.cmd(args);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let out = cmd.stdin(std::process::Stdio::null()).output().unwrap();
        let all = format!("{}{}", text(&out.stdout), text(&out.stderr));
        assert!(!all.contains(HIDDEN), "landform {args:?} printed the secret:\n{all}");
        assert_eq!(out.status.code(), Some(code), "{all}");
        if !file.is_empty() {
            assert!(all.contains(&format!("{file}:1:")), "the place is named: {all}");
        }
        all
    };
    let check = |args: &[&str], env: &[(&str, &str)], file: &str| check_code(args, env, file, 1);
    // A syntax error (an unterminated string): said first and alone.
    std::fs::write(f.path("bad.lfvars"), format!("secret = \"{HIDDEN}\npin = 1\n")).unwrap();
    for cmd in ["plan", "validate", "apply", "drift"] {
        let all = check(&[cmd, "--var-file", "bad.lfvars"], &[], "bad.lfvars");
        let first = all.lines().find(|l| l.contains("Error")).unwrap_or_default().to_string();
        assert!(!all.contains("No value for required variable"), "{cmd}: misleading error:\n{all}");
        assert!(!first.contains("required variable"), "{cmd}: {all}");
    }
    // The same in a file found by itself, and other lines that are wrong.
    let bodies = [
        format!("secret = \"{HIDDEN}\n"),
        format!("secrte = \"{HIDDEN}\"\n"),
        format!("secret = <<EOT\n{HIDDEN}\n"),
        format!("secret {{ v = \"{HIDDEN}\" }}\n"),
        format!("pin = \"{HIDDEN}\"\nsecret = \"a\"\n"),
        format!("pin = \"a\"\nsecret = \"{HIDDEN}\" + 1\n"),
    ];
    for body in &bodies {
        std::fs::write(f.path("landform.lfvars"), body).unwrap();
        let env = [("LANDFORM_VAR_pin", "1"), ("LANDFORM_VAR_secret", "s")];
        // A misspelt name is a value for an undeclared variable: a warning, as in Terraform.
        let code = if body.starts_with("secrte") { 0 } else { 1 };
        let all = check_code(&["plan"], &env, "", code);
        assert!(all.contains("landform.lfvars:"), "{body}: the file is named:\n{all}");
        check_code(&["validate"], &env, "", code);
    }
    std::fs::remove_file(f.path("landform.lfvars")).unwrap();
    // A value that is no number, by --var and by the environment.
    check(&["plan", "--var", &format!("pin={HIDDEN}"), "--var", "secret=s"], &[], "");
    check(&["plan", "--var", "secret=s"], &[("LANDFORM_VAR_pin", HIDDEN)], "");
    check(&["plan", "--var", &format!("secret={HIDDEN}"), "--var", &format!("pin=[{HIDDEN}")], &[], "");
}

/// A failing call with a sensitive argument names the argument at fault
/// without calling it sensitive when it is not, and never shows the secret.
#[test]
fn a_failing_call_names_the_sensitive_argument_rightly() {
    let config = r#"
variable "secret" {
  type      = string
  sensitive = true
}
output "m" {
  value     = regex(var.secret, "zzz")
  sensitive = true
}
"#;
    let f = Fixture::new("call-sensitive-arg", config);
    let (code, all) = scan(&f, &["plan"]);
    assert_eq!(code, Some(1), "{all}");
    assert!(all.contains("argument 2 of \"regex\""), "{all}");
    assert!(!all.contains("argument 2 of \"regex\": the value is not valid here (it is sensitive"), "{all}");
    assert!(all.contains("argument 1 is sensitive"), "{all}");
    // The sensitive argument at fault is said to be so.
    f.write(&config.replace("regex(var.secret, \"zzz\")", "tonumber(var.secret)"));
    let (code, all) = scan(&f, &["plan"]);
    assert_eq!(code, Some(1), "{all}");
    assert!(all.contains("(it is sensitive, so it is not shown)"), "{all}");
}
