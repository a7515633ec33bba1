//! What an experienced Terraform user hit in the first hour: each a
//! regression test on the real binary.

mod common;
use common::{text, Fixture};

#[test]
fn a_saved_plan_carries_its_variables() {
    let f =
        Fixture::new("saved-vars", "variable \"env\" {}\nresource \"landform_data\" \"x\" {\n  input = var.env\n}\n");
    f.ok(&["plan", "--var", "env=prod", "--out", "p.plan"]);
    // No --var now: the plan has it.
    f.ok(&["apply", "p.plan"]);
    assert!(f.ok(&["state", "show", "landform_data.x"]).contains("\"prod\""));
}

#[test]
fn validate_needs_no_variable_values_and_finds_cycles_and_wrong_literal_types() {
    let f = Fixture::new(
        "validate-gaps",
        "variable \"token\" {\n  type = string\n}\nresource \"landform_data\" \"x\" {\n  input = var.token\n}\n",
    );
    f.ok(&["validate"]);
    f.write("resource \"landform_data\" \"a\" {\n  input = landform_data.b.output\n}\nresource \"landform_data\" \"b\" {\n  input = landform_data.a.output\n}\n");
    let out = f.run(&["validate"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("cycle"), "{}", text(&out.stderr));
    f.write("resource \"random_string\" \"s\" {\n  length = \"six\"\n}\n");
    let out = f.run(&["validate"]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(err.contains("Incorrect attribute value type") && err.contains("--> main.lf:2:12"), "{err}");
}

#[test]
fn number_and_duration_literals_are_read_exactly_or_refused() {
    let out = |e: &str| format!("output \"x\" {{\n  value = {e}\n}}\n");
    let f = Fixture::new("numbers", &out("1e-3 * 1000"));
    f.ok(&["apply", "--auto-approve"]);
    assert_eq!(f.ok(&["output", "x"]).trim(), "1");
    // As in Terraform, numbers keep every digit (issue 16)...
    let nines = "9".repeat(400);
    f.write(&out(&format!("{nines} + 1")));
    f.ok(&["apply", "--auto-approve"]);
    assert_eq!(f.ok(&["output", "-json", "x"]).trim(), format!("1{}", "0".repeat(400)));
    // ...up to Landform's limit, far past any real number.
    for (e, says) in [
        ("1e100000", "Invalid number"),
        ("18446744073709551615ms + 1ms", "Invalid duration"),
        ("9223372036854775807ms + 9223372036854775807ms + 10ms", "Duration out of range"),
        ("99999999999999999999h", "Invalid duration"),
    ] {
        f.write(&out(e));
        let r = f.run(&["validate"]);
        assert_eq!(r.status.code(), Some(1), "{e}");
        assert!(text(&r.stderr).contains(says), "{e}: {}", text(&r.stderr));
    }
}

#[test]
fn a_byte_order_mark_and_crlf_line_endings_are_read() {
    let f = Fixture::new("bom-crlf", "");
    let config = "\u{feff}output \"x\" {\r\n  value = <<EOT\r\nline one\r\nline two\r\nEOT\r\n}\r\n";
    std::fs::write(f.path("main.lf"), config).unwrap();
    f.ok(&["validate"]);
    f.ok(&["apply", "--auto-approve"]);
    let json = f.ok(&["output", "--json"]);
    assert!(json.contains("line one\\nline two\\n") && !json.contains("\\r"), "{json}");
}

#[test]
fn environment_names_that_are_not_names_are_refused() {
    let f = Fixture::new(
        "env-names",
        "resource \"local_exec\" \"x\" {\n  create      = \"true\"\n  environment = { \"PATH=/x:\" = \"y\" }\n}\n",
    );
    let out = f.run(&["plan"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("Invalid environment variable name"), "{}", text(&out.stderr));
}

#[test]
fn a_data_source_that_depends_on_a_pending_resource_is_read_during_apply() {
    let f = Fixture::new(
        "deferred-read",
        r#"
resource "local_file" "src" {
  path    = "out/src.txt"
  content = "hello"
}
data "local_file" "read" {
  path       = "out/src.txt"
  depends_on = [local_file.src]
}
output "read" {
  value = data.local_file.read.content
}
"#,
    );
    let plan = f.ok(&["plan"]);
    assert!(plan.contains("<= data \"local_file\" \"read\""), "{plan}");
    let out = f.ok(&["apply", "--auto-approve"]);
    assert!(out.contains("data.local_file.read: Read complete"), "{out}");
    assert_eq!(f.ok(&["output", "read"]).trim(), "hello");
}

#[test]
fn a_sensitive_in_place_change_reads_as_one() {
    let f = Fixture::new(
        "sensitive-update",
        "variable \"s\" {\n  sensitive = true\n}\nresource \"landform_data\" \"x\" {\n  input = var.s\n}\n",
    );
    f.ok(&["apply", "--auto-approve", "--var", "s=first-value"]);
    let plan = f.ok(&["plan", "--var", "s=second-value"]);
    assert!(plan.contains("~ input  = (sensitive value)"), "{plan}");
    assert!(!plan.contains("= null"), "{plan}");
}

#[test]
fn module_targets_whole_resource_moves_and_address_filters() {
    let f = Fixture::new(
        "targets-state",
        "module \"api\" {\n  source = \"./api\"\n}\nresource \"landform_data\" \"page\" {\n  count = 2\n  input = count.index\n}\n",
    );
    std::fs::create_dir_all(f.path("api")).unwrap();
    std::fs::write(f.path("api/main.lf"), "resource \"landform_data\" \"svc\" {\n  input = \"svc\"\n}\n").unwrap();
    let out = f.ok(&["apply", "--auto-approve", "--target", "module.api"]);
    assert!(out.contains("1 added"), "{out}");
    assert_eq!(f.ok(&["state", "list"]).trim(), "module.api.landform_data.svc");
    f.ok(&["apply", "--auto-approve"]);
    assert_eq!(f.ok(&["state", "list", "landform_data.page"]).lines().count(), 2);
    assert_eq!(f.ok(&["state", "list", "module.api"]).trim(), "module.api.landform_data.svc");
    let moved = f.ok(&["state", "mv", "landform_data.page", "landform_data.site"]);
    assert!(moved.contains("Successfully moved 2 object(s)."), "{moved}");
    assert_eq!(f.ok(&["state", "list", "landform_data.site"]).trim(), "landform_data.site[0]\nlandform_data.site[1]");
    let rm = f.run(&["state", "rm"]);
    assert_eq!(rm.status.code(), Some(1), "an address is required (a usage error exits 1): {}", text(&rm.stderr));
}

#[test]
fn terraform_single_dash_flags_work_and_hints_keep_the_directory() {
    let f = Fixture::new("tf-flags", "variable \"v\" {}\nresource \"landform_data\" \"x\" {\n  input = var.v\n}\n");
    let dir = f.dir.display().to_string();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_landform"))
        .args([&format!("-chdir={dir}"), "plan", "-var", "v=1", "-no-color", "-out", "p.plan"])
        .current_dir(std::env::temp_dir())
        .output()
        .unwrap();
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", text(&out.stderr));
    assert!(stdout.contains(&format!("landform -C {dir} apply p.plan")), "{stdout}");
    f.ok(&["apply", "-auto-approve", "-var", "v=2"]);
    assert!(f.ok(&["state", "show", "landform_data.x"]).contains("\"2\""));
}

#[test]
fn a_literal_format_string_is_checked_by_validate_and_errors_are_said_once() {
    let f = Fixture::new(
        "format-validate",
        "variable \"x\" {}\nresource \"landform_data\" \"d\" {\n  count = 3\n  input = format(\"%03d-%s-%y\", 7, var.x)\n}\n",
    );
    let out = f.run(&["validate"]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(err.contains("unsupported format verb %y"), "{err}");
    f.write("resource \"landform_data\" \"d\" {\n  count = 3\n  input = tonumber(\"seven\")\n}\n");
    let err = text(&f.run(&["plan"]).stderr);
    assert_eq!(err.matches("Invalid function argument").count(), 1, "one error, not one per instance:\n{err}");
}

#[test]
fn numbers_print_as_terraform_prints_them_and_output_changes_are_sorted_and_aligned() {
    let f = Fixture::new(
        "numbers-outputs",
        "output \"zeta\" {\n  value = 0.1 + 0.2\n}\noutput \"a\" {\n  value = \"v${0.1 + 0.2}\"\n}\n",
    );
    let plan = f.ok(&["plan"]);
    let a = plan.find("+ a    = \"v0.3\"").unwrap_or_else(|| panic!("{plan}"));
    let z = plan.find("+ zeta = 0.3").unwrap_or_else(|| panic!("{plan}"));
    assert!(a < z, "sorted by name:\n{plan}");
}

#[test]
fn optional_object_fields_and_a_clear_word_on_dynamic_blocks() {
    let f = Fixture::new(
        "optional-fields",
        "variable \"o\" {\n  type    = object({ a = optional(number), b = optional(number, 3), c = string })\n  default = { c = \"x\" }\n}\noutput \"o\" {\n  value = var.o\n}\n",
    );
    f.ok(&["apply", "--auto-approve"]);
    assert_eq!(f.ok(&["output", "--json", "o"]).trim(), r#"{"a":null,"b":3,"c":"x"}"#);
    // A dynamic block of a type the resource has no blocks of: said at its label.
    f.write("resource \"landform_data\" \"x\" {\n  input = 1\n  dynamic \"tag\" {\n    for_each = [1]\n    content {\n      a = 1\n    }\n  }\n}\n");
    let err = text(&f.run(&["validate"]).stderr);
    assert!(err.contains("main.lf:3:11") && err.contains("has no \"tag\" blocks"), "{err}");
}

/// Issue 13: dynamic blocks are checked like the blocks they make: the
/// content against the nested block's schema, the iterator bound in it,
/// for_each required.
#[test]
fn dynamic_blocks_are_checked_like_the_blocks_they_make() {
    let listener = |inner: &str| {
        format!(
            "resource \"aws_lb_listener\" \"l\" {{\n  load_balancer_arn = \"arn:aws:x\"\n  port = 80\n  protocol = \"HTTP\"\n  default_action {{\n    type = \"forward\"\n    forward {{\n{inner}    }}\n  }}\n}}\n"
        )
    };
    let f = Fixture::new(
        "dynamic-checks",
        &listener("      dynamic \"target_group\" {\n        for_each = [\"a\", \"b\"]\n        iterator = g\n        content {\n          arn    = g.value\n          weight = g.key\n        }\n      }\n"),
    );
    f.ok(&["validate"]);
    f.write(&listener("      dynamic \"target_group\" {\n        for_each = [1]\n        content {\n          arn  = \"x\"\n          wieght = 1\n        }\n      }\n"));
    let err = text(&f.run(&["validate"]).stderr);
    assert!(err.contains("\"wieght\"") && err.contains("Did you mean \"weight\"?"), "{err}");
    f.write(&listener(
        "      dynamic \"target_group\" {\n        content {\n          arn = \"x\"\n        }\n      }\n",
    ));
    let err = text(&f.run(&["validate"]).stderr);
    assert!(err.contains("needs for_each"), "{err}");
    f.write(&listener("      dynamic \"target_group\" {\n        for_each = [1]\n        content {\n          arn = target_grp.value\n        }\n      }\n"));
    let err = text(&f.run(&["validate"]).stderr);
    assert!(err.contains("target_grp"), "{err}");
}

#[test]
fn the_workspace_is_known_in_expressions() {
    let f = Fixture::new(
        "workspace-expr",
        "resource \"landform_data\" \"x\" {\n  input = \"in-${landform.workspace}\"\n}\noutput \"w\" {\n  value = terraform.workspace\n}\n",
    );
    f.ok(&["apply", "--auto-approve"]);
    assert_eq!(f.ok(&["output", "w"]).trim(), "default");
    f.ok(&["workspace", "new", "prod"]);
    let plan = f.ok(&["plan"]);
    assert!(plan.contains("\"in-prod\"") && plan.contains("w = \"prod\""), "{plan}");
}

#[test]
fn multi_line_strings_are_shown_as_heredocs_with_a_line_diff() {
    let f = Fixture::new(
        "heredoc-render",
        "variable \"v\" {\n  default = \"two\"\n}\nresource \"local_file\" \"f\" {\n  path    = \"out/f.txt\"\n  content = \"one\\n${var.v}\\nthree\\n\"\n}\n",
    );
    let plan = f.ok(&["plan"]);
    assert!(
        plan.contains("+ content        = <<-EOT\n            one\n            two\n            three\n        EOT"),
        "{plan}"
    );
    f.ok(&["apply", "--auto-approve"]);
    let plan = f.ok(&["plan", "--var", "v=TWO"]);
    assert!(
        plan.contains("            one\n          - two\n          + TWO\n            three\n        EOT"),
        "{plan}"
    );
}

#[test]
fn fmt_normalises_spacing_inside_expressions() {
    let f = Fixture::new(
        "fmt-spacing",
        "locals {\n  a = {a=1,   b = \"x  y\"}\n  b = [1,2 ,  3]\n  c = upper( \"x\" )\n  e = { for k,v in {} : k=>v }\n  d = 1   # keep  this\n}\n",
    );
    f.ok(&["fmt"]);
    let out = std::fs::read_to_string(f.path("main.lf")).unwrap();
    assert_eq!(
        out,
        // As `terraform fmt` writes it (one space before a comment that has no neighbour to align with).
        "locals {\n  a = { a = 1, b = \"x  y\" }\n  b = [1, 2, 3]\n  c = upper(\"x\")\n  e = { for k, v in {} : k => v }\n  d = 1 # keep  this\n}\n"
    );
    f.ok(&["fmt", "--check"]);
}

#[test]
fn import_blocks_and_the_import_command_bring_existing_files_under_management() {
    let resource = "resource \"local_file\" \"page\" {\n  path    = \"page.txt\"\n  content = \"hello\"\n}\n";
    let f = Fixture::new("import-block", &format!("import {{\n  to = local_file.page\n  id = var.page\n}}\nvariable \"page\" {{\n  default = \"page.txt\"\n}}\n{resource}"));
    std::fs::write(f.path("page.txt"), "hello").unwrap();
    // The plan reads the object and shows it whole; nothing else changes.
    let plan = f.ok(&["plan", "--out", "p.plan"]);
    assert!(plan.contains("# local_file.page will be imported"), "{plan}");
    assert!(plan.contains("content        = \"hello\""), "{plan}");
    assert!(plan.contains("Plan: 1 to import, 0 to add, 0 to change, 0 to destroy."), "{plan}");
    let json: serde_json::Value = serde_json::from_str(&f.ok(&["plan", "--json"])).unwrap();
    assert_eq!(json["resource_changes"][0]["change"]["importing"]["id"], "page.txt");
    assert_eq!(json["resource_changes"][0]["change"]["actions"][0], "no-op");
    assert_eq!(json["summary"]["import"], 1);
    // Nothing is in the state until apply.
    assert_eq!(f.ok(&["state", "list"]).trim(), "");
    let applied = f.ok(&["apply", "p.plan"]);
    assert!(applied.contains("Resources: 1 imported, 0 added, 0 changed, 0 destroyed."), "{applied}");
    assert!(f.ok(&["state", "list"]).contains("local_file.page"));
    // The block has done its work and may stay: the next plan is clean.
    let again = f.run(&["plan", "--detailed-exitcode"]);
    assert_eq!(again.status.code(), Some(0), "{}", text(&again.stdout));

    // An import that the configuration then changes: imported and updated in one apply.
    let g = Fixture::new(
        "import-block-update",
        &format!(
            "import {{\n  to = local_file.page\n  id = \"page.txt\"\n}}\n{}",
            resource.replace("hello", "hello world")
        ),
    );
    std::fs::write(g.path("page.txt"), "hello").unwrap();
    let plan = g.ok(&["plan"]);
    assert!(plan.contains("# local_file.page will be updated in-place\n  # (imported from \"page.txt\")"), "{plan}");
    assert!(plan.contains("Plan: 1 to import, 0 to add, 1 to change, 0 to destroy."), "{plan}");
    let applied = g.ok(&["apply", "--auto-approve"]);
    assert!(applied.contains("1 imported, 0 added, 1 changed"), "{applied}");
    assert_eq!(std::fs::read_to_string(g.path("page.txt")).unwrap(), "hello world");

    // Mistakes point at what is wrong.
    let h = Fixture::new(
        "import-block-bad",
        &format!("import {{\n  to = local_file.page\n  id = \"missing.txt\"\n}}\nimport {{\n  to = local_file.other\n  id = \"page.txt\"\n}}\nimport {{\n  to = \"local_file.page\"\n  id = \"x\"\n}}\n{resource}"),
    );
    let out = h.run(&["plan"]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("written without quotes"), "{err}");
    assert!(err.contains("main.lf:10:8"), "{err}");
    h.write(&format!("import {{\n  to = local_file.page\n  id = \"missing.txt\"\n}}\nimport {{\n  to = local_file.other\n  id = \"page.txt\"\n}}\n{resource}"));
    let out = h.run(&["plan"]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("main.lf:3:8"), "a missing object points at its id: {err}");
    assert!(err.contains("missing.txt"), "{err}");
    assert!(err.contains("main.lf:6:8"), "an undeclared resource points at the address: {err}");
    assert!(err.contains("the configuration has no resource local_file.other"), "{err}");
    assert_eq!(h.ok(&["state", "list"]).trim(), "", "a failed plan imports nothing");

    // The command does the same in one step, and shows what the configuration would change.
    let c = Fixture::new("import-command", &resource.replace("hello", "hello world"));
    std::fs::write(c.path("page.txt"), "hello").unwrap();
    let out = c.ok(&["import", "local_file.page", "page.txt"]);
    assert!(out.contains("Import successful!"), "{out}");
    assert!(out.contains("~ content"), "the plan after it shows the change to come: {out}");
    assert_eq!(std::fs::read_to_string(c.path("page.txt")).unwrap(), "hello", "import changes nothing in the world");
    let again = c.run(&["import", "local_file.page", "page.txt"]);
    assert_eq!(again.status.code(), Some(1));
    assert!(text(&again.stderr).contains("already managed"), "{}", text(&again.stderr));
}

/// Issue 13's CLI odds and ends: `apply -destroy` as `destroy`, and
/// `output -raw NAME` for scripts (never a sensitive one).
#[test]
fn apply_destroy_and_output_raw() {
    let f = Fixture::new(
        "apply-destroy-raw",
        "variable \"t\" {\n  default   = \"hunter2-secret\"\n  sensitive = true\n}\nresource \"landform_data\" \"x\" {\n  input = \"v\"\n}\noutput \"word\" {\n  value = \"two words\"\n}\noutput \"n\" {\n  value = 42\n}\noutput \"l\" {\n  value = [1]\n}\noutput \"s\" {\n  value     = var.t\n  sensitive = true\n}\n",
    );
    f.ok(&["apply", "-auto-approve"]);
    assert_eq!(f.ok(&["output", "-raw", "word"]), "two words");
    assert_eq!(f.ok(&["output", "--raw", "n"]), "42");
    for name in ["l", "s"] {
        let out = f.run(&["output", "-raw", name]);
        assert_eq!(out.status.code(), Some(1));
        assert!(!text(&out.stdout).contains("hunter2") && !text(&out.stderr).contains("hunter2"));
    }
    let out = f.ok(&["apply", "-destroy", "-auto-approve"]);
    assert!(out.contains("Resources: 1 destroyed."), "{out}");
    assert_eq!(f.ok(&["state", "list"]), "");
}

/// Issue 13: `templatefile` and directives in heredocs, on the real binary;
/// a broken template file is an error naming it and its line.
#[test]
fn templatefile_and_heredoc_directives() {
    let f = Fixture::new(
        "templates",
        r#"variable "names" {
  default = ["web", "api"]
}
locals {
  listing = <<-EOT
    %{ for n in var.names ~}
    - ${n}
    %{ endfor ~}
    %{ if length(var.names) > 1 }many%{ else }one%{ endif }
  EOT
}
resource "local_file" "conf" {
  path    = "${path.module}/out.conf"
  content = templatefile("${path.module}/backends.tftpl", { names = var.names, port = 8080 })
}
output "listing" {
  value = local.listing
}
"#,
    );
    std::fs::write(
        f.path("backends.tftpl"),
        "%{ for i, n in names ~}\nserver ${n} 10.0.0.${i + 1}:${port}\n%{ endfor ~}\n# 100% done, $${not} %%{interpolated}\n",
    )
    .unwrap();
    f.ok(&["apply", "-auto-approve"]);
    assert_eq!(
        std::fs::read_to_string(f.path("out.conf")).unwrap(),
        "server web 10.0.0.1:8080\nserver api 10.0.0.2:8080\n# 100% done, ${not} %{interpolated}\n"
    );
    // Terraform's answer: the lines after a `~}` keep their indentation (the
    // marker took the newline, so they no longer start a line of the heredoc).
    assert_eq!(f.ok(&["output", "-json", "listing"]).trim(), r#""    - web\n    - api\n    many\n""#);
    // A directive left open: the file and the line, at the call.
    std::fs::write(f.path("backends.tftpl"), "line one\n%{ for n in names }\n${n}\n").unwrap();
    let out = f.run(&["plan"]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(err.contains("backends.tftpl, line 2") && err.contains("endfor"), "{err}");
    // A variable the template uses but was not given.
    std::fs::write(f.path("backends.tftpl"), "${missing}\n").unwrap();
    let err = text(&f.run(&["plan"]).stderr);
    assert!(err.contains("backends.tftpl") && err.contains("missing"), "{err}");
}

/// Issue 13: `landform { required_version }` is checked at load; Terraform's
/// `terraform { required_version, required_providers }` is read and left alone.
#[test]
fn required_version_is_checked_and_terraform_settings_are_accepted() {
    let f = Fixture::new("required-version", "landform {\n  required_version = \">= 99.0\"\n}\n");
    let out = f.run(&["plan"]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(err.contains("main.lf:2:22") && err.contains("needs Landform >= 99.0"), "{err}");
    f.write("landform {\n  required_version = \">= 0.1, < 99\"\n}\nterraform {\n  required_version = \">= 1.9\"\n  required_providers {\n    aws = {\n      source  = \"hashicorp/aws\"\n      version = \"~> 5.0\"\n    }\n  }\n}\n");
    f.ok(&["validate"]);
    f.write("landform {\n  required_version = \"soon\"\n}\n");
    let err = text(&f.run(&["validate"]).stderr);
    assert!(err.contains("not a version constraint"), "{err}");
}

/// Issue 13: `landform console` reads expressions from standard input, with
/// the state's values and multi-line input; secrets stay hidden; an error
/// is said with its position and makes the exit status 1.
#[test]
fn console_evaluates_expressions_against_the_configuration_and_state() {
    use std::io::Write;
    let f = Fixture::new(
        "console",
        "variable \"n\" {\n  default = 2\n}\nvariable \"secret\" {\n  default   = \"hunter2-console\"\n  sensitive = true\n}\nlocals {\n  twice = var.n * 2\n}\nresource \"landform_data\" \"a\" {\n  count = 2\n  input = \"v${count.index}\"\n}\n",
    );
    f.ok(&["apply", "-auto-approve"]);
    let console = |input: &str| {
        let mut child = f
            .cmd(&["console"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
        child.wait_with_output().unwrap()
    };
    let out = console(
        "local.twice\nlandform_data.a[1].output\n{\n  a = [1,\n  2]\n}\nvar.secret\ncidrhost(\"10.0.0.0/24\", 5)\n",
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        "4\n\"v1\"\n{\n  \"a\" = [\n    1,\n    2,\n  ]\n}\n(sensitive value)\n\"10.0.0.5\"\n"
    );
    let out = console("upper(var.nope)\n1 + 1\n");
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("<console>:1:7") && text(&out.stdout) == "2\n", "{}", text(&out.stderr));
    assert!(!text(&console("var.secret\nnonsensitive(var.secret) == \"x\"\n").stdout).contains("hunter2"));
}

/// `terraform console` works in a directory with no configuration (an empty
/// one): so does Landform's; a plan there still says there is nothing to plan.
#[test]
fn console_needs_no_configuration() {
    use std::io::Write;
    let dir = std::env::temp_dir().join(format!("landform-console-empty-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_landform"))
        .args(["-C", dir.to_str().unwrap(), "console"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(b"upper(\"a\")\n1 + 1\n").unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!((out.status.code(), text(&out.stdout).as_str()), (Some(0), "\"A\"\n2\n"), "{}", text(&out.stderr));
    let plan = std::process::Command::new(env!("CARGO_BIN_EXE_landform"))
        .args(["-C", dir.to_str().unwrap(), "plan", "--no-color"])
        .output()
        .unwrap();
    assert_eq!(plan.status.code(), Some(1));
    assert!(text(&plan.stderr).contains("No configuration files"), "{}", text(&plan.stderr));
    let _ = std::fs::remove_dir_all(&dir);
}

/// Issue 13: `landform test` runs a passing and a failing suite: each run
/// plans or applies in a throwaway state, assertions see resources and
/// outputs, a failed one is said at its condition with its message, and
/// what the runs created is destroyed after.
#[test]
fn landform_test_runs_passing_and_failing_suites() {
    let f = Fixture::new(
        "lftest",
        "variable \"name\" {\n  type    = string\n  default = \"web\"\n}\nresource \"local_file\" \"page\" {\n  path    = \"${path.module}/${var.name}.html\"\n  content = \"<h1>${var.name}</h1>\"\n}\noutput \"path\" {\n  value = local_file.page.path\n}\n",
    );
    std::fs::write(
        f.path("pass.lftest.lf"),
        "variables {\n  name = \"test\"\n}\nrun \"plans\" {\n  command = plan\n  assert {\n    condition     = local_file.page.content == \"<h1>test</h1>\"\n    error_message = \"wrong content\"\n  }\n}\nrun \"applies\" {\n  variables {\n    name = \"api\"\n  }\n  assert {\n    condition     = output.path == \"./api.html\" && fileexists(\"api.html\")\n    error_message = \"the path is ${output.path}\"\n  }\n}\n",
    )
    .unwrap();
    let out = f.ok(&["test", "pass.lftest.lf"]);
    assert!(
        out.contains("  run \"plans\"... pass\n  run \"applies\"... pass")
            && out.contains("Success! 2 passed, 0 failed."),
        "{out}"
    );
    assert!(!f.path("api.html").exists(), "the run's file was not destroyed");
    assert_eq!(f.ok(&["state", "list"]), "");
    std::fs::create_dir_all(f.path("tests")).unwrap();
    std::fs::write(
        f.path("tests/fail.lftest.lf"),
        "run \"wrong\" {\n  command = plan\n  assert {\n    condition     = local_file.page.content == \"nope\"\n    error_message = \"the page says ${local_file.page.content}\"\n  }\n}\n",
    )
    .unwrap();
    let out = f.run(&["test"]);
    assert_eq!(out.status.code(), Some(1));
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert!(stdout.contains("run \"wrong\"... fail") && stdout.contains("Failure! 2 passed, 1 failed."), "{stdout}");
    assert!(stderr.contains("tests/fail.lftest.lf:4:21") && stderr.contains("the page says <h1>web</h1>"), "{stderr}");
    // The configuration itself never reads test files.
    f.ok(&["validate"]);
}

/// Issue 14's names on the real binary: Terraform's `error_message` in a
/// validation, `ephemeral` variables (never shown), `path.cwd`, a null for a
/// variable that is not nullable meaning its default, and a provisioner said
/// in words that point to local_exec.
#[test]
fn terraform_spellings_of_validation_ephemeral_cwd_nullable_and_provisioners() {
    let f = Fixture::new(
        "tf-spellings",
        "variable \"env\" {\n  default = \"dev\"\n  validation {\n    condition     = contains([\"dev\", \"prod\"], var.env)\n    error_message = \"env must be dev or prod\"\n  }\n}\nvariable \"token\" {\n  default   = \"tok-ephemeral-1234\"\n  ephemeral = true\n}\nvariable \"size\" {\n  type     = number\n  default  = 3\n  nullable = false\n}\noutput \"cwd\" {\n  value = path.cwd\n}\noutput \"size\" {\n  value = var.size\n}\n",
    );
    let out = f.run(&["plan", "--var", "env=qa"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("env must be dev or prod"), "{}", text(&out.stderr));
    let out = f.ok(&["apply", "-auto-approve", "--var", "size=null"]);
    assert!(!out.contains("tok-ephemeral"), "{out}");
    assert_eq!(f.ok(&["output", "-raw", "size"]), "3");
    let cwd = std::fs::canonicalize(&f.dir).unwrap();
    assert_eq!(std::path::Path::new(&f.ok(&["output", "-raw", "cwd"])), cwd.as_path());
    f.write("resource \"landform_data\" \"x\" {\n  input = 1\n  provisioner \"local-exec\" {\n    command = \"echo hi\"\n  }\n}\n");
    let err = text(&f.run(&["validate"]).stderr);
    assert!(
        err.contains("Provisioners are not supported") && err.contains("local_exec") && err.contains("main.lf:3:3"),
        "{err}"
    );
}

/// Issue 13's port check: examples/from-terraform, a Terraform configuration
/// ported by renaming its files, applies and re-plans clean.
#[test]
fn the_from_terraform_example_applies_and_replans_clean() {
    let f = Fixture::new("from-terraform", "");
    std::fs::remove_file(f.path("main.lf")).unwrap();
    common::copy_example("from-terraform", &f.dir);
    let out = f.ok(&["apply", "-auto-approve"]);
    assert!(out.contains("Apply complete! Resources: 10 added, 0 changed, 0 destroyed."), "{out}");
    let index = std::fs::read_to_string(f.path("public/dev/index.html")).unwrap();
    assert!(
        index.contains("<title>Index — landform-docs-dev</title>") && index.contains("DEVELOPMENT BUILD"),
        "{index}"
    );
    assert!(!std::fs::read_to_string(f.path("public/prod/index.html")).unwrap().contains("banner"));
    assert_eq!(
        std::fs::read_to_string(f.path("public/prod/upstreams.conf")).unwrap(),
        // Terraform renders this heredoc the same (checked with Terraform 1.15):
        // the `~}` markers take the newlines, so those lines keep their indentation.
        "upstream landform-docs-prod {\n      server 10.0.0.10:8080;\n      server 10.0.0.11:8080;\n      server 10.0.0.12:8080;\n    }\n"
    );
    assert!(std::fs::read_to_string(f.path("public/sitemap.txt")).unwrap().contains("prod/pricing.html"));
    assert_eq!(f.run(&["plan", "-detailed-exitcode"]).status.code(), Some(0));
    assert!(f.ok(&["output", "-json", "backends"]).contains("\"prod\":[\"10.0.0.10\",\"10.0.0.11\",\"10.0.0.12\"]"));
}

/// The functions that read the machine (their answers depend on it, so they
/// are not in the Terraform corpus): fileset, fileexists, abspath,
/// pathexpand, and base64gzip (its bytes are zlib's; they unzip to the text).
#[test]
fn functions_that_read_the_machine() {
    let f = Fixture::new(
        "machine-functions",
        "output \"set\" {\n  value = fileset(path.module, \"files/**/*.txt\")\n}\noutput \"exists\" {\n  value = [fileexists(\"files/a.txt\"), fileexists(\"files/none.txt\")]\n}\noutput \"abs\" {\n  value = abspath(\"files/../files/a.txt\")\n}\noutput \"home\" {\n  value = pathexpand(\"~/x\")\n}\noutput \"gz\" {\n  value = base64gzip(\"hello landform\")\n}\n",
    );
    std::fs::create_dir_all(f.path("files/sub")).unwrap();
    for p in ["files/a.txt", "files/sub/b.txt", "files/c.md"] {
        std::fs::write(f.path(p), "x").unwrap();
    }
    f.cmd(&["apply", "-auto-approve"]).env("HOME", "/home/landform").output().unwrap();
    assert_eq!(f.ok(&["output", "-json", "set"]).trim(), r#"["files/a.txt","files/sub/b.txt"]"#);
    assert_eq!(f.ok(&["output", "-json", "exists"]).trim(), "[true,false]");
    let abs = f.ok(&["output", "-raw", "abs"]);
    assert!(abs.starts_with('/') && abs.ends_with("/files/a.txt") && !abs.contains(".."), "{abs}");
    assert_eq!(f.ok(&["output", "-raw", "home"]), "/home/landform/x");
    let gz = f.ok(&["output", "-raw", "gz"]);
    use base64::Engine as _;
    let bytes = base64::engine::general_purpose::STANDARD.decode(gz.trim()).unwrap();
    let mut text = String::new();
    std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&bytes[..]), &mut text).unwrap();
    assert_eq!(text, "hello landform");
}

/// Issue 16: numbers in the plan, the state and the outputs are Terraform's:
/// every digit, no exponent for integers, no binary noise; they read back
/// from the state as the same values, so the next plan has nothing to do.
#[test]
fn numbers_keep_every_digit_through_plan_state_and_outputs() {
    let f = Fixture::new(
        "numbers-exact",
        "locals {\n  n = {\n    sum   = 0.1 + 0.2\n    big   = 12345678901234567890\n    large = 1e21\n    third = 1/3\n    tiny  = 1/1152921504606846976\n    typed = \"${0.5 * 3}\"\n  }\n}\nresource \"landform_data\" \"d\" {\n  input = local.n\n}\noutput \"n\" {\n  value = local.n\n}\n",
    );
    let third = format!("0.{}5", "3".repeat(154));
    let plan = f.ok(&["plan"]);
    for want in ["= 0.3", "= 12345678901234567890", "= 1000000000000000000000", third.as_str(), "= 1.5"] {
        assert!(plan.contains(want), "{want} not in:\n{plan}");
    }
    assert!(!plan.contains("0.30000000000000004") && !plan.contains("e+21") && !plan.contains("1e21"), "{plan}");
    f.ok(&["apply", "-auto-approve"]);
    let want = format!(
        r#"{{"big":12345678901234567890,"large":1000000000000000000000,"sum":0.3,"third":{third},"tiny":0.0000000000000000008673617379884035,"typed":1.5}}"#
    );
    assert_eq!(f.ok(&["output", "-json", "n"]).trim(), want);
    let state = f.ok(&["state", "pull"]);
    for n in ["12345678901234567890", "1000000000000000000000", third.as_str(), "0.0000000000000000008673617379884035"]
    {
        assert!(state.contains(n), "{n} not in the state:\n{state}");
    }
    assert!(!state.contains("e+") && !state.contains("e21"), "{state}");
    let again = f.run(&["plan", "-detailed-exitcode"]);
    assert_eq!(again.status.code(), Some(0), "the state reads back as the same numbers:\n{}", text(&again.stdout));
    let json = f.ok(&["show", "-json"]);
    assert!(json.contains("12345678901234567890") && json.contains(&third), "{json}");
}

/// Issue 14: validate judges what Terraform judges. Every variable is
/// unknown (a resource switched off by `count = var.on ? 1 : 0` is not
/// evaluated with the default's null); a call to a function that does not
/// exist is found wherever it is; a for variable's missing attribute is
/// said as one.
#[test]
fn validate_judges_what_terraform_judges() {
    let f = Fixture::new(
        "validate-like-terraform",
        "variable \"on\" {\n  default = false\n}\nvariable \"cfg\" {\n  type    = object({ name = string })\n  default = null\n}\nresource \"landform_data\" \"x\" {\n  count = var.on ? 1 : 0\n  input = var.cfg.name\n}\n",
    );
    f.ok(&["validate"]);
    for (expr, at) in [("try(nosuchfn(1), 2)", "main.lf:2:15"), ("true ? 1 : otherbad(2)", "main.lf:2:22")] {
        f.write(&format!("output \"x\" {{\n  value = {expr}\n}}\n"));
        let out = f.run(&["validate"]);
        assert_eq!(out.status.code(), Some(1), "{expr}");
        let err = text(&out.stderr);
        assert!(err.contains("Call to unknown function") && err.contains(at), "{expr}: {err}");
        assert_eq!(err.matches("Call to unknown function").count(), 1, "said once: {err}");
    }
    f.write("output \"x\" {\n  value = [for s in [{ a = 1 }] : s.b]\n}\n");
    let err = text(&f.run(&["validate"]).stderr);
    assert!(
        err.contains("Unsupported attribute")
            && err.contains("no")
            && err.contains("\"b\"")
            && !err.contains("undeclared resource"),
        "{err}"
    );
}

/// Issue 14: hashicorp/local's local_file arguments (`filename`,
/// `sensitive_content`, `directory_permission`, `file_permission`), and a
/// resource of a provider the configuration asks for in required_providers
/// but Landform lacks: named in one clear error when it is planned.
#[test]
fn hashicorp_local_arguments_and_a_required_provider_landform_lacks() {
    let f = Fixture::new(
        "local-file-terraform",
        "terraform {\n  required_providers {\n    tls = {\n      source = \"hashicorp/tls\"\n    }\n  }\n}\nresource \"local_file\" \"f\" {\n  filename             = \"${path.module}/out/a.txt\"\n  sensitive_content    = \"hush-4242\"\n  directory_permission = \"0750\"\n  file_permission      = \"0640\"\n}\n",
    );
    let applied = f.ok(&["apply", "-auto-approve"]);
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &str| std::fs::metadata(f.path(p)).unwrap().permissions().mode() & 0o777;
    assert_eq!((mode("out"), mode("out/a.txt")), (0o750, 0o640));
    assert_eq!(std::fs::read_to_string(f.path("out/a.txt")).unwrap(), "hush-4242");
    for said in [applied, f.ok(&["plan"]), f.ok(&["state", "pull"]), f.ok(&["show"])] {
        assert!(!said.contains("hush-4242"), "{said}");
    }
    std::fs::write(f.path("tls.lf"), "resource \"tls_private_key\" \"k\" {\n  algorithm = \"RSA\"\n}\n").unwrap();
    let out = f.run(&["plan"]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert_eq!(err.matches("Error:").count(), 1, "{err}");
    assert!(err.contains("tls.lf:1:1") && err.contains("provider \"tls\" (hashicorp/tls)"), "{err}");
}

/// Issue 26 item 9: Terraform's built-in `terraform_data` (input, output,
/// triggers_replace, id) plans, applies, re-plans clean, updates in place and
/// is replaced when triggers_replace changes, as `landform_data` is.
#[test]
fn terraform_data_plans_applies_and_replans_clean() {
    let config = |version: &str, env: &str| {
        format!(
            "resource \"terraform_data\" \"build\" {{\n  input            = {{ version = \"{version}\" }}\n  triggers_replace = [\"{env}\"]\n}}\n\noutput \"version\" {{\n  value = terraform_data.build.output.version\n}}\n\noutput \"id\" {{\n  value = terraform_data.build.id\n}}\n"
        )
    };
    let f = Fixture::new("terraform-data", &config("1.0", "dev"));
    f.ok(&["validate"]);
    let out = f.ok(&["apply", "-auto-approve"]);
    assert!(out.contains("Apply complete! Resources: 1 added, 0 changed, 0 destroyed."), "{out}");
    assert_eq!(f.ok(&["output", "-raw", "version"]), "1.0");
    let id = f.ok(&["output", "-raw", "id"]);
    assert_eq!(id.len(), 36, "{id}");
    assert_eq!(f.run(&["plan", "-detailed-exitcode"]).status.code(), Some(0));
    f.write(&config("1.1", "dev"));
    let plan = f.ok(&["plan"]);
    assert!(plan.contains("# terraform_data.build will be updated in-place"), "{plan}");
    f.ok(&["apply", "-auto-approve"]);
    assert_eq!(f.ok(&["output", "-raw", "version"]), "1.1");
    assert_eq!(f.ok(&["output", "-raw", "id"]), id);
    f.write(&config("1.1", "prod"));
    let plan = f.ok(&["plan"]);
    assert!(plan.contains("# terraform_data.build must be replaced"), "{plan}");
    f.ok(&["apply", "-auto-approve"]);
    assert_ne!(f.ok(&["output", "-raw", "id"]), id);
    assert_eq!(f.run(&["plan", "-detailed-exitcode"]).status.code(), Some(0));
}

/// Issue 26 items 10 and 11: a type the aliased provider lacks is said to be
/// missing from that provider (not the alias to be missing), and validate
/// goes on checking resource types and arguments after an unknown provider.
#[test]
fn validate_names_the_provider_a_type_is_missing_from_and_goes_on_after_an_unknown_provider() {
    let f = Fixture::new(
        "alias-type",
        "provider \"aws\" {\n  alias  = \"replica\"\n  region = \"eu-west-1\"\n}\n\nresource \"aws_s3_bucket\" \"b\" {\n  provider = aws.replica\n  bucket   = \"x\"\n}\n",
    );
    let out = f.run(&["validate"]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("uses provider aws.replica, which has no resource type \"aws_s3_bucket\""), "{err}");
    assert!(!err.contains("no provider block configures it") && !err.contains("use one of"), "{err}");
    f.write("provider \"google\" {\n  project = \"p\"\n}\n\nresource \"local_file\" \"f\" {\n  path    = \"x\"\n  contnet = \"typo\"\n}\n\nresource \"random_strin\" \"s\" {\n  length = 4\n}\n");
    let out = f.run(&["validate"]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("Unknown provider"), "{err}");
    assert!(err.contains("contnet"), "an argument error after the unknown provider: {err}");
    assert!(err.contains("random_strin") && err.contains("Unsupported resource type"), "{err}");
}

/// Issue 26 item 9: `terraform_remote_state` reads a Terraform state file
/// (the local backend) as Terraform does, defaults under its outputs; another
/// backend, or a sensitive output, is refused in words.
#[test]
fn terraform_remote_state_reads_the_local_backend_and_refuses_others_clearly() {
    let f = Fixture::new(
        "remote-state",
        "data \"terraform_remote_state\" \"net\" {\n  backend  = \"local\"\n  config   = { path = \"net/terraform.tfstate\" }\n  defaults = { region = \"eu-west-1\", vpc_id = \"none\" }\n}\n\noutput \"vpc\" {\n  value = data.terraform_remote_state.net.outputs.vpc_id\n}\n\noutput \"region\" {\n  value = data.terraform_remote_state.net.outputs.region\n}\n",
    );
    std::fs::create_dir_all(f.path("net")).unwrap();
    let state = |sensitive: bool| {
        format!("{{\"version\": 4, \"terraform_version\": \"1.15.5\", \"serial\": 3, \"lineage\": \"x\", \"outputs\": {{\"vpc_id\": {{\"value\": \"vpc-123\", \"type\": \"string\"}}, \"token\": {{\"value\": \"t0k3n-REMOTE\", \"type\": \"string\", \"sensitive\": {sensitive}}}}}, \"resources\": []}}")
    };
    std::fs::write(f.path("net/terraform.tfstate"), state(false)).unwrap();
    f.ok(&["apply", "-auto-approve"]);
    assert_eq!(f.ok(&["output", "-raw", "vpc"]), "vpc-123");
    assert_eq!(f.ok(&["output", "-raw", "region"]), "eu-west-1");
    assert_eq!(f.run(&["plan", "-detailed-exitcode"]).status.code(), Some(0));
    std::fs::write(f.path("net/terraform.tfstate"), state(true)).unwrap();
    let out = f.run(&["plan"]);
    let said = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(1), "{said}");
    assert!(said.contains("\"token\"") && said.contains("sensitive") && !said.contains("t0k3n-REMOTE"), "{said}");
    f.write("data \"terraform_remote_state\" \"net\" {\n  backend = \"s3\"\n  config  = { bucket = \"b\", key = \"k\" }\n}\n");
    let out = f.run(&["plan"]);
    let said = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(1), "{said}");
    assert!(said.contains("only the \"local\" backend") && said.contains("\"s3\""), "{said}");
}

/// Issue 26 item 3: the functions a Terraform module calls are there —
/// `filebase64sha256` hashes the file (not its path: no "did you mean
/// base64sha256"), `templatestring` renders a template held in a local,
/// `plantimestamp` is known in the plan, `bcrypt` after apply, and `core::`
/// names the built-ins. The values are Terraform 1.15's for the same files.
#[test]
fn terraform_functions_a_module_calls_work_on_files_beside_it() {
    let f = Fixture::new(
        "functions-26",
        r#"locals {
  template = "$${a}-$${upper(b)}"
}

resource "landform_data" "x" {
  input = {
    hash     = filebase64sha256("${path.module}/lambda.zip")
    md5      = filemd5("${path.module}/lambda.zip")
    rendered = templatestring(local.template, { a = 1, b = "x" })
    upper    = core::upper("a")
    rows     = csvdecode("name,port\nweb,80\n")
    planned  = plantimestamp()
  }
}

resource "landform_data" "password" {
  input = bcrypt("s3cret")
}

output "x" {
  value = landform_data.x.output
}

output "password" {
  value = landform_data.password.output
}
"#,
    );
    std::fs::write(f.path("lambda.zip"), "hello, world\n").unwrap();
    let out = f.run(&["validate"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let plan = f.ok(&["plan"]);
    assert!(plan.contains("planned = \"20"), "plantimestamp is known when planning: {plan}");
    assert!(plan.contains("+ input  = (known after apply)"), "bcrypt is known at apply: {plan}");
    f.ok(&["apply", "-auto-approve"]);
    let x: serde_json::Value = serde_json::from_str(&f.ok(&["output", "-json", "x"])).unwrap();
    assert_eq!(x["hash"], "hT/5N2Kgbdv3IsTr6d3WbY9j3a6pf1IcPswg2nyXYCA=");
    assert_eq!(x["md5"], "22c3683b094136c3398391ae71b20f04");
    assert_eq!(x["rendered"], "1-X");
    assert_eq!(x["upper"], "A");
    assert_eq!(x["rows"], serde_json::json!([{ "name": "web", "port": "80" }]));
    let hash = f.ok(&["output", "-raw", "password"]);
    assert!(hash.starts_with("$2a$10$") && hash.len() == 60, "{hash}");
    f.write("output \"x\" {\n  value = templatestring(\"$${a}\", { a = 1 })\n}\n");
    let out = f.run(&["validate"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("does not take a literal template"), "{}", text(&out.stderr));
}

/// Issue 26 item 3: a saved plan applies with the plantimestamp() it showed,
/// however much later it is applied.
#[test]
fn a_saved_plan_applies_with_its_own_plantimestamp() {
    let f = Fixture::new(
        "plantimestamp",
        "resource \"landform_data\" \"x\" {\n  input = plantimestamp()\n}\n\noutput \"at\" {\n  value = landform_data.x.output\n}\n",
    );
    let plan = f.ok(&["plan", "-out", "p.plan"]);
    let shown = plan.lines().find(|l| l.contains("+ input")).and_then(|l| l.split('"').nth(1)).unwrap().to_string();
    std::thread::sleep(std::time::Duration::from_millis(1100));
    f.ok(&["apply", "p.plan"]);
    assert_eq!(f.ok(&["output", "-raw", "at"]), shown);
}

/// Issue 26 items 4-6 on the binary: typed variables are lists, sets and
/// maps, `==` compares types, a `for` over a set keys by element, a set has
/// no index, and a set-typed value in state re-plans clean. The expected
/// outputs are what Terraform 1.15 printed for the same configuration.
#[test]
fn typed_variables_compare_by_type_and_sets_have_no_index() {
    let vars = "variable \"l\" {\n  type    = list(string)\n  default = [\"b\", \"a\"]\n}\nvariable \"s\" {\n  type    = set(string)\n  default = [\"b\", \"a\", \"b\"]\n}\nvariable \"m\" {\n  type    = map(number)\n  default = { a = 1 }\n}\nvariable \"la\" {\n  type    = list(any)\n  default = [1, \"a\"]\n}\n";
    let outputs = [
        ("l_eq_tuple", "var.l == [\"b\", \"a\"]", "false"),
        ("l_eq_list", "var.l == tolist([\"b\", \"a\"])", "true"),
        ("l_empty", "var.l == []", "false"),
        ("s_eq", "var.s == toset([\"a\", \"b\"])", "true"),
        ("s_keys", "[for k, v in var.s : k]", "[\"a\",\"b\"]"),
        ("m_eq_obj", "var.m == { a = 1 }", "false"),
        ("m_eq_map", "var.m == tomap({ a = 1 })", "true"),
        ("la", "var.la", "[\"1\",\"a\"]"),
        ("same", "terraform_data.x[\"a\"].output == [for k, v in var.s : k]", "true"),
    ];
    let mut config = format!(
        "{vars}resource \"terraform_data\" \"x\" {{\n  for_each = var.s\n  input    = [for k, v in var.s : k]\n}}\nresource \"terraform_data\" \"s\" {{\n  input = var.s\n}}\n"
    );
    for (name, expr, _) in &outputs {
        config.push_str(&format!("output \"{name}\" {{\n  value = {expr}\n}}\n"));
    }
    let f = Fixture::new("typed-values", &config);
    f.ok(&["apply", "-auto-approve"]);
    for (name, _, want) in &outputs {
        let got: serde_json::Value = serde_json::from_str(&f.ok(&["output", "-json", name])).unwrap();
        assert_eq!(got.to_string(), *want, "{name}");
    }
    // The set went to state as JSON and comes back equal: nothing to change.
    assert_eq!(f.run(&["plan", "-detailed-exitcode"]).status.code(), Some(0));
    for (expr, says, at) in [
        ("var.s[0]", "Elements of a set are identified only by their value", "main.lf:17:30"),
        ("element(var.s, 0)", "cannot read elements from set of string", "main.lf:17:24"),
        ("concat(var.s, [\"c\"])", "all arguments must be lists or tuples; got set of string", "main.lf:17:31"),
        ("slice(var.s, 0, 1)", "cannot slice a set", "main.lf:17:30"),
    ] {
        f.write(&format!("{vars}output \"bad\" {{ value = {expr} }}\n"));
        let out = f.run(&["plan"]);
        assert_eq!(out.status.code(), Some(1), "{expr}");
        let err = text(&out.stderr);
        assert!(err.contains(says) && err.contains(at), "{expr}: {err}");
    }
}
