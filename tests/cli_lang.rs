//! End-to-end tests of `validate` and `fmt` on the real binary.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn landform(args: &[&str], dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_landform"))
        .args(args)
        .current_dir(dir)
        .env_remove("NO_COLOR")
        .env_remove("LANDFORM_VAR_env")
        .output()
        .expect("run landform")
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("landform-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn validate_accepts_the_quickstart() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = landform(&["-C", "examples/quickstart", "validate"], root);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("Success! The configuration is valid."));
}

#[test]
fn validate_reports_every_error_with_file_line_and_column_and_exits_1() {
    let dir = temp_dir("errors");
    std::fs::write(dir.join("main.lf"), "locals {\n  a = \"a\" + 1\n  b = var.nope\n}\nresoruce \"x\" \"y\" {}\n")
        .unwrap();
    let out = landform(&["validate", "--no-color"], &dir);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(err.contains("Error: Invalid operand\n --> main.lf:2:7"), "{err}");
    assert!(err.contains("--> main.lf:3:7"), "{err}");
    assert!(err.contains("Did you mean \"resource\"?"), "{err}");
    assert!(err.contains("  a = \"a\" + 1\n  |       ^^^"), "the source line and caret are shown:\n{err}");
    assert!(!err.contains("\x1b["), "--no-color means no escape codes");
}

#[test]
fn validate_json_prints_machine_readable_diagnostics() {
    let dir = temp_dir("json");
    std::fs::write(dir.join("main.lf"), "locals {\n  x = lenght([1])\n}\n").unwrap();
    let out = landform(&["validate", "--json"], &dir);
    assert_eq!(out.status.code(), Some(1));
    let j: serde_json::Value = serde_json::from_slice(&out.stdout).expect("stdout is JSON");
    assert_eq!(j["valid"], false);
    assert_eq!(j["error_count"], 1);
    let d = &j["diagnostics"][0];
    assert_eq!(d["severity"], "error");
    assert_eq!(d["summary"], "Call to unknown function");
    assert_eq!(d["range"]["filename"], "main.lf");
    assert_eq!(d["range"]["start"]["line"], 2);
    assert_eq!(d["range"]["start"]["column"], 7);
    assert_eq!(d["range"]["end"]["column"], 13);
}

/// The variable's validation rule passes only for one value, so exit codes show
/// which source won.
fn precedence_fixture(expected: &str) -> PathBuf {
    let dir = temp_dir(&format!("prec-{expected}"));
    std::fs::write(
        dir.join("main.lf"),
        format!(
            "variable \"env\" {{\n  default = \"default\"\n  validation {{\n    condition = var.env == \"{expected}\"\n    message   = \"got ${{var.env}}\"\n  }}\n}}\n"
        ),
    )
    .unwrap();
    std::fs::write(dir.join("prod.lfvars"), "env = \"file\"\n").unwrap();
    dir
}

#[test]
fn variables_take_precedence_default_then_env_then_var_file_then_flag() {
    let run = |expected: &str, args: &[&str], env: Option<&str>| {
        let dir = precedence_fixture(expected);
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_landform"));
        cmd.args(args).current_dir(&dir).env_remove("LANDFORM_VAR_env");
        if let Some(v) = env {
            cmd.env("LANDFORM_VAR_env", v);
        }
        let out = cmd.output().unwrap();
        (out.status.code(), text(&out.stderr))
    };
    assert_eq!(run("default", &["validate"], None).0, Some(0));
    assert_eq!(run("env", &["validate"], Some("env")).0, Some(0));
    assert_eq!(run("file", &["validate", "--var-file", "prod.lfvars"], Some("env")).0, Some(0));
    assert_eq!(run("flag", &["validate", "--var-file", "prod.lfvars", "--var", "env=flag"], Some("env")).0, Some(0));
    let (code, err) = run("flag", &["validate", "--var-file", "prod.lfvars"], Some("env"));
    assert_eq!(code, Some(1));
    assert!(err.contains("got file"), "{err}");
}

/// As Terraform 1.15: a variables file (found or named) setting a variable
/// the configuration does not declare — one a deleted rollout block used,
/// say — is a warning naming the file; on the command line it is an error.
#[test]
fn a_variables_file_setting_an_undeclared_variable_is_a_warning_and_a_flag_an_error() {
    let dir = temp_dir("undeclared");
    std::fs::write(dir.join("main.lf"), "variable \"a\" {\n  default = 1\n}\n\noutput \"o\" {\n  value = var.a\n}\n")
        .unwrap();
    std::fs::write(dir.join("landform.lfvars"), "a = 2\npause = \"1m\"\n").unwrap();
    std::fs::write(dir.join("x.lfvars"), "other = 3\n").unwrap();
    for args in [&["plan", "--no-color"][..], &["plan", "--no-color", "--var-file", "x.lfvars"]] {
        let out = landform(args, &dir);
        let (said, err) = (text(&out.stdout), text(&out.stderr));
        assert_eq!(out.status.code(), Some(0), "{args:?}: {said}{err}");
        assert!(err.contains("Warning: Value for undeclared variable"), "{args:?}: {err}");
        assert!(err.contains("\"pause\" by landform.lfvars"), "{args:?}: {err}");
        assert!(!err.contains("Error"), "{args:?}: {err}");
        assert!(said.contains("o = 2"), "{args:?}: {said}");
    }
    let err = text(&landform(&["plan", "--no-color", "--var-file", "x.lfvars"], &dir).stderr);
    assert!(err.contains("\"other\" by x.lfvars"), "{err}");
    let out = landform(&["plan", "--no-color", "--var", "zz=1"], &dir);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("Error: Value for undeclared variable"), "{}", text(&out.stderr));
}

#[test]
fn missing_required_variable_is_an_error_that_names_the_fixes() {
    let dir = temp_dir("required");
    std::fs::write(dir.join("main.lf"), "variable \"region\" {\n  type = string\n}\n").unwrap();
    // validate checks without values, as Terraform does; plan needs them.
    assert_eq!(landform(&["validate"], &dir).status.code(), Some(0));
    let out = landform(&["plan", "--no-color"], &dir);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(err.contains("No value for required variable"), "{err}");
    assert!(err.contains("LANDFORM_VAR_region"), "{err}");
    let ok = landform(&["validate", "--var", "region=eu-west-1"], &dir);
    assert_eq!(ok.status.code(), Some(0), "{}", text(&ok.stderr));
}

#[test]
fn fmt_check_reports_and_changes_nothing_then_fmt_rewrites() {
    let dir = temp_dir("fmt");
    let messy = "locals {\nname=\"x\"\n    a_longer = 1\n}\n";
    std::fs::write(dir.join("main.lf"), messy).unwrap();
    let check = landform(&["fmt", "--check", "--diff"], &dir);
    assert_eq!(check.status.code(), Some(1));
    assert!(text(&check.stdout).contains("main.lf"));
    assert!(text(&check.stdout).contains("+  name     = \"x\""), "{}", text(&check.stdout));
    assert_eq!(std::fs::read_to_string(dir.join("main.lf")).unwrap(), messy, "--check writes nothing");
    let fmt = landform(&["fmt"], &dir);
    assert_eq!(fmt.status.code(), Some(0));
    assert_eq!(
        std::fs::read_to_string(dir.join("main.lf")).unwrap(),
        "locals {\n  name     = \"x\"\n  a_longer = 1\n}\n"
    );
    let again = landform(&["fmt", "--check"], &dir);
    assert_eq!(again.status.code(), Some(0), "formatted files pass --check");
    assert!(text(&again.stdout).is_empty());
}

#[test]
fn fmt_refuses_a_file_with_syntax_errors() {
    let dir = temp_dir("fmt-bad");
    std::fs::write(dir.join("main.lf"), "locals {\n  a =\n}\n").unwrap();
    let out = landform(&["fmt", "--no-color"], &dir);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("--> main.lf:3:1"), "{}", text(&out.stderr));
    assert_eq!(std::fs::read_to_string(dir.join("main.lf")).unwrap(), "locals {\n  a =\n}\n");
}

#[test]
fn global_flags_work_before_or_after_the_command() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let before = landform(&["-C", "examples/quickstart", "--no-color", "validate"], root);
    let after = landform(&["validate", "-C", "examples/quickstart", "--no-color"], root);
    assert_eq!(before.status.code(), Some(0));
    assert_eq!(after.status.code(), Some(0));
    let version = landform(&["--version"], root);
    assert!(text(&version.stdout).starts_with("landform "));
    let help = landform(&["fmt", "--help"], root);
    assert!(text(&help.stdout).contains("--check"));
}

/// `validate` checks rollout blocks without a state or values: a literal
/// that is wrong is reported at its position; what depends on variables or
/// resources (known only at plan time) is left for the plan. The rollout
/// examples validate clean.
#[test]
fn validate_checks_rollout_blocks() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for example in ["examples/canary-haproxy", "examples/aws-blue-green"] {
        let out = landform(&["-C", example, "validate"], root);
        assert_eq!(out.status.code(), Some(0), "{example}: {}", text(&out.stderr));
    }
    let dir = temp_dir("validate-rollout");
    std::fs::write(
        dir.join("main.lf"),
        r#"variable "pause" {
  type = duration
}

provider "haproxy" {
  runtime_api = "127.0.0.1:9999"
}

resource "haproxy_backend" "app" {
  name    = "app"
  weights = { blue = 100, green = 0 }
}

rollout "web" {
  switch   = haproxy_backend.app
  stable   = "blue"
  canary   = "green"
  strategy = "fast"
  steps    = [5%, 50%]
  pause    = var.pause
  analysis {
    metric "p" {
      source = "prometheus"
      max    = 1
    }
  }
}
"#,
    )
    .unwrap();
    let out = landform(&["validate", "--no-color"], &dir);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("Invalid rollout strategy") && err.contains("main.lf:18:14"), "{err}");
    assert!(!err.contains("Invalid rollout pause"), "a variable is not known to validate: {err}");
    let fixed = std::fs::read_to_string(dir.join("main.lf")).unwrap().replace("\"fast\"", "\"canary\"");
    std::fs::write(dir.join("main.lf"), &fixed).unwrap();
    let err = text(&landform(&["validate", "--no-color"], &dir).stderr);
    assert!(err.contains("Invalid rollout steps") && err.contains("main.lf:19:14"), "{err}");
    std::fs::write(dir.join("main.lf"), fixed.replace("[5%, 50%]", "[5%, 50%, 100%]")).unwrap();
    let err = text(&landform(&["validate", "--no-color"], &dir).stderr);
    assert!(err.contains("Incomplete metric") && err.contains("A prometheus metric needs url"), "{err}");
    // Hostile: thousands of steps and gates are refused, at once.
    std::fs::write(
        dir.join("main.lf"),
        fixed.replace(
            "[5%, 50%]",
            "flatten([for j in range(0, 100) : [for i in range(1, 101) : (j * 100 + i) / 10000]])",
        ),
    )
    .unwrap();
    let start = std::time::Instant::now();
    let err = text(&landform(&["validate", "--no-color"], &dir).stderr);
    assert!(err.contains("steps are at most 100 rising percentages"), "{err}");
    assert!(start.elapsed() < std::time::Duration::from_secs(10));
}

/// Issue 26 item 14: a usage error exits 1 on every command (Terraform's code),
/// never clap's 2, which drift and plan --detailed-exitcode use for "changes
/// found"; --help and --version still exit 0. The commands are read from the
/// binary's own help, so a new one is covered.
#[test]
fn usage_errors_exit_1_on_every_command_and_help_exits_0() {
    let dir = temp_dir("usage");
    let help = landform(&["--help"], &dir);
    assert_eq!(help.status.code(), Some(0), "{}", text(&help.stderr));
    let help = text(&help.stdout);
    let commands: Vec<&str> = help
        .lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        // A description's continuation lines are indented further.
        .filter(|l| !l[2..].starts_with(' '))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|c| *c != "help")
        .collect();
    assert!(commands.len() >= 15 && commands.contains(&"drift") && commands.contains(&"plan"), "{help}");
    for c in &commands {
        let out = landform(&[c, "--no-such-flag"], &dir);
        assert_eq!(out.status.code(), Some(1), "landform {c} --no-such-flag:\n{}", text(&out.stderr));
        assert!(text(&out.stderr).contains("--no-such-flag"), "{}", text(&out.stderr));
        let out = landform(&[c, "--help"], &dir);
        assert_eq!(out.status.code(), Some(0), "landform {c} --help:\n{}", text(&out.stderr));
        // A flag given twice is no usage error (the last one counts), as in Terraform.
        let out = landform(&[c, "--no-color", "--no-color", "--help"], &dir);
        assert_eq!(out.status.code(), Some(0), "landform {c} --no-color --no-color:\n{}", text(&out.stderr));
    }
    for args in
        [&["no-such-command"][..], &[], &["plan", "--parallelism", "many"], &["drift", "--every"], &["state", "mv"]]
    {
        let out = landform(args, &dir);
        assert_eq!(out.status.code(), Some(1), "landform {args:?}:\n{}", text(&out.stderr));
    }
    for args in [&["--version"][..], &["help"], &["help", "plan"]] {
        let out = landform(args, &dir);
        assert_eq!(out.status.code(), Some(0), "landform {args:?}:\n{}", text(&out.stderr));
    }
}
