//! Apply does what the plan says or fails: a saved plan is applied with the
//! data it read, an instance whose configuration now evaluates differently
//! fails by name, and conditions left unknown at plan are checked at apply.

mod common;
use common::{text, Fixture};

fn all(out: &std::process::Output) -> String {
    format!("{}{}", text(&out.stdout), text(&out.stderr))
}

/// A `for_each` over a data source's result: the file it reads changes between
/// `plan -out` and `apply`; apply creates the two instances the plan shows.
#[test]
fn a_saved_plan_applies_the_data_it_read_not_a_new_read() {
    let f = Fixture::new(
        "saved-data",
        r#"
data "local_file" "keys" {
  path = "keys.txt"
}
data "local_file" "body" {
  path = "body.txt"
}
resource "local_file" "f" {
  for_each = toset(split(",", trimspace(data.local_file.keys.content)))
  path     = "out/${each.key}.txt"
  content  = data.local_file.body.content
}
"#,
    );
    std::fs::write(f.path("keys.txt"), "a,b").unwrap();
    std::fs::write(f.path("body.txt"), "v1").unwrap();
    let plan = f.ok(&["plan", "--out", "p.plan"]);
    assert!(plan.contains("Plan: 2 to add, 0 to change, 0 to destroy."), "{plan}");
    std::fs::write(f.path("keys.txt"), "a").unwrap();
    std::fs::write(f.path("body.txt"), "v2").unwrap();
    let out = f.run(&["apply", "p.plan"]);
    assert_eq!(out.status.code(), Some(0), "{}", all(&out));
    assert!(text(&out.stdout).contains("2 added"), "{}", all(&out));
    for k in ["a", "b"] {
        assert_eq!(std::fs::read_to_string(f.path(&format!("out/{k}.txt"))).unwrap(), "v1");
    }
    assert_eq!(
        f.ok(&["state", "list"]),
        "data.local_file.body\ndata.local_file.keys\nlocal_file.f[\"a\"]\nlocal_file.f[\"b\"]\n"
    );
    // The state keeps the data as the plan read it, not as the files are now.
    assert!(f.ok(&["state", "show", "data.local_file.keys"]).contains("= \"a,b\""));
}

/// What apply evaluates again (here `file()`) now differs from the saved plan:
/// that instance fails naming the attribute, its dependent is skipped, an
/// unrelated instance is still created, exit 1.
#[test]
fn a_value_that_contradicts_the_saved_plan_fails_that_instance_by_name() {
    let f = Fixture::new(
        "inconsistent",
        r#"
resource "local_file" "changed" {
  path    = "out/changed.txt"
  content = file("input.txt")
}
resource "local_file" "dependent" {
  path    = "out/dependent.txt"
  content = local_file.changed.content
}
resource "local_file" "other" {
  path    = "out/other.txt"
  content = "other"
}
"#,
    );
    std::fs::write(f.path("input.txt"), "v1").unwrap();
    f.ok(&["plan", "--out", "p.plan"]);
    std::fs::write(f.path("input.txt"), "v2").unwrap();
    let out = f.run(&["apply", "p.plan"]);
    let said = all(&out);
    assert_eq!(out.status.code(), Some(1), "{said}");
    assert!(said.contains("inconsistent final plan"), "{said}");
    assert!(said.contains("local_file.changed") && said.contains(".content"), "{said}");
    assert!(!f.path("out/changed.txt").exists(), "{said}");
    assert!(!f.path("out/dependent.txt").exists(), "{said}");
    assert_eq!(std::fs::read_to_string(f.path("out/other.txt")).unwrap(), "other");
    assert_eq!(f.ok(&["state", "list"]), "local_file.other\n");
}

/// The instances apply finds are not the plan's: the one it no longer finds and
/// the new one are errors by address; none is dropped or created silently.
#[test]
fn instances_the_saved_plan_did_not_have_are_errors_not_dropped() {
    let f = Fixture::new(
        "instances",
        r#"
resource "local_file" "f" {
  for_each = toset(split(",", trimspace(file("keys.txt"))))
  path     = "out/${each.key}.txt"
  content  = each.key
}
"#,
    );
    std::fs::write(f.path("keys.txt"), "a,b").unwrap();
    let plan = f.ok(&["plan", "--out", "p.plan"]);
    assert!(plan.contains("Plan: 2 to add"), "{plan}");
    std::fs::write(f.path("keys.txt"), "a,c").unwrap();
    let out = f.run(&["apply", "p.plan"]);
    let said = all(&out);
    assert_eq!(out.status.code(), Some(1), "{said}");
    assert!(said.contains("local_file.f[\"b\"]"), "{said}");
    assert!(said.contains("local_file.f[\"c\"]"), "{said}");
    assert!(!f.path("out/c.txt").exists(), "{said}");
    assert!(!f.ok(&["state", "list"]).contains("local_file.f[\"c\"]"));
}

/// A sensitive variable reaches a data source, whose result a resource copies:
/// the copy is sensitive in the plan, and stays so in the state after apply.
#[test]
fn marks_that_reached_an_attribute_at_plan_stay_in_the_state() {
    const SECRET: &str = "s3cr3t-path-canary.txt";
    let f = Fixture::new(
        "marks",
        r#"
variable "secret" {
  sensitive = true
}
data "local_file" "src" {
  path = var.secret
}
resource "local_file" "copy" {
  path    = "out/copy.txt"
  content = data.local_file.src.path
}
"#,
    );
    std::fs::write(f.path(SECRET), "body").unwrap();
    for saved in [false, true] {
        let _ = std::fs::remove_dir_all(f.path(".landform"));
        let _ = std::fs::remove_dir_all(f.path("out"));
        let plan = f.cmd(&["plan", "--out", "p.plan"]).env("LANDFORM_VAR_secret", SECRET).output().unwrap();
        assert!(!all(&plan).contains(SECRET) && all(&plan).contains("(sensitive value)"), "{}", all(&plan));
        let out = if saved {
            f.run(&["apply", "p.plan"])
        } else {
            f.cmd(&["apply", "--auto-approve"]).env("LANDFORM_VAR_secret", SECRET).output().unwrap()
        };
        assert_eq!(out.status.code(), Some(0), "{}", all(&out));
        assert!(!all(&out).contains(SECRET), "{}", all(&out));
        assert_eq!(std::fs::read_to_string(f.path("out/copy.txt")).unwrap(), SECRET);
        for args in [&["state", "show", "local_file.copy"][..], &["state", "pull"], &["show"], &["show", "--json"]] {
            let out = f.run(args);
            assert_eq!(out.status.code(), Some(0), "{args:?}: {}", all(&out));
            assert!(!all(&out).contains(SECRET), "{args:?} (saved plan: {saved}): {}", all(&out));
        }
    }
}

/// An output precondition that reads a value known only after apply is
/// checked at apply: false, the apply fails (exit 1) with its message.
#[test]
fn an_output_precondition_unknown_at_plan_is_checked_at_apply() {
    let f = Fixture::new(
        "output-pre",
        r#"
resource "random_string" "r" {
  length = 4
}
output "o" {
  value = random_string.r.result
  precondition {
    condition     = length(random_string.r.result) > 10
    error_message = "the result is too short"
  }
}
"#,
    );
    let plan = f.ok(&["plan"]);
    assert!(!plan.contains("too short"), "{plan}");
    let out = f.run(&["apply", "--auto-approve"]);
    let said = all(&out);
    assert_eq!(out.status.code(), Some(1), "{said}");
    assert!(said.contains("Output precondition failed") && said.contains("the result is too short"), "{said}");
    // A passing one at apply is no error.
    f.write(&std::fs::read_to_string(f.path("main.lf")).unwrap().replace("> 10", "> 2"));
    let out = f.run(&["apply", "--auto-approve"]);
    assert_eq!(out.status.code(), Some(0), "{}", all(&out));
}

/// A `check` assertion unknown at plan is evaluated at apply: a warning, as
/// Terraform gives, and the apply succeeds.
#[test]
fn a_check_assertion_unknown_at_plan_is_evaluated_at_apply() {
    let f = Fixture::new(
        "check-apply",
        r#"
resource "random_string" "r" {
  length = 4
}
check "long_enough" {
  assert {
    condition     = length(random_string.r.result) > 10
    error_message = "the result is too short for the check"
  }
}
"#,
    );
    let plan = f.ok(&["plan"]);
    assert!(!plan.contains("too short"), "{plan}");
    let out = f.run(&["apply", "--auto-approve"]);
    let said = all(&out);
    assert_eq!(out.status.code(), Some(0), "{said}");
    assert!(said.contains("Check block assertion failed") && said.contains("too short for the check"), "{said}");
}

/// The state keeps each data source as last read, as Terraform's does: an
/// apply saves what the plan read (an apply with no changes too), a data
/// source the configuration drops leaves the state, and destroy leaves none.
#[test]
fn data_sources_are_kept_in_the_state_as_terraform_keeps_them() {
    let f = Fixture::new(
        "data-state",
        r#"
data "local_file" "in" {
  path = "in.txt"
}
resource "local_file" "out" {
  path    = "out/o.txt"
  content = data.local_file.in.content
}
"#,
    );
    std::fs::write(f.path("in.txt"), "v1").unwrap();
    f.ok(&["apply", "--auto-approve"]);
    assert_eq!(f.ok(&["state", "list"]), "data.local_file.in\nlocal_file.out\n");
    let show: serde_json::Value = serde_json::from_str(&f.ok(&["show", "--json"])).unwrap();
    let data = show["values"]["root_module"]["resources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["address"] == "data.local_file.in")
        .cloned()
        .unwrap_or_default();
    assert_eq!(
        (&data["mode"], &data["values"]["content"]),
        (&serde_json::json!("data"), &serde_json::json!("v1")),
        "{show}"
    );

    // A new value is saved with the change it makes.
    std::fs::write(f.path("in.txt"), "v2").unwrap();
    f.ok(&["apply", "--auto-approve"]);
    let shown = f.ok(&["state", "show", "data.local_file.in"]);
    assert!(shown.contains("= \"v2\""), "{shown}");

    // A data source added with no change anywhere else: the apply says there
    // are no changes, and saves it; then dropped, it leaves the state.
    let with_extra = format!(
        "{}\ndata \"local_file\" \"extra\" {{\n  path = \"in.txt\"\n}}\n",
        std::fs::read_to_string(f.path("main.lf")).unwrap()
    );
    let without = std::fs::read_to_string(f.path("main.lf")).unwrap();
    f.write(&with_extra);
    let out = f.ok(&["apply", "--auto-approve"]);
    assert!(out.contains("No changes."), "{out}");
    assert_eq!(f.ok(&["state", "list"]), "data.local_file.extra\ndata.local_file.in\nlocal_file.out\n");
    let again = f.run(&["plan", "--detailed-exitcode"]);
    assert_eq!(again.status.code(), Some(0), "{}", all(&again));
    f.write(&without);
    f.ok(&["apply", "--auto-approve"]);
    assert_eq!(f.ok(&["state", "list"]), "data.local_file.in\nlocal_file.out\n");

    // Destroy leaves nothing, and a destroy with only data sources left empties the state too.
    f.ok(&["destroy", "--auto-approve"]);
    assert_eq!(f.ok(&["state", "list"]), "");
    f.write("data \"local_file\" \"in\" {\n  path = \"in.txt\"\n}\n");
    f.ok(&["apply", "--auto-approve"]);
    assert_eq!(f.ok(&["state", "list"]), "data.local_file.in\n");
    f.ok(&["destroy", "--auto-approve"]);
    assert_eq!(f.ok(&["state", "list"]), "");
}

/// A data source's record is no resource: `state mv` refuses to move one
/// into a resource address (whose destroy would delete what was only read) or
/// back; `destroy --target` keeps the data sources what is left reads; and a
/// destroy uses the data as last read, so a source gone since fails nothing.
#[test]
fn data_source_records_stay_data_sources_and_destroy_needs_no_new_read() {
    let f = Fixture::new(
        "data-records",
        r#"
data "local_file" "a" {
  path = "a.txt"
}
resource "local_file" "keep" {
  path    = "keep.txt"
  content = data.local_file.a.content
}
resource "landform_data" "gone" {
  input = "x"
}
"#,
    );
    std::fs::write(f.path("a.txt"), "read only").unwrap();
    f.ok(&["apply", "--auto-approve"]);
    for (from, to) in [("data.local_file.a", "local_file.a"), ("local_file.keep", "data.local_file.keep")] {
        let out = f.run(&["state", "mv", from, to]);
        assert_eq!(out.status.code(), Some(1), "{}", all(&out));
        assert!(all(&out).contains("a data source moves only to another data source"), "{}", all(&out));
    }
    f.ok(&["destroy", "--auto-approve", "--target", "landform_data.gone"]);
    assert_eq!(f.ok(&["state", "list"]), "data.local_file.a\nlocal_file.keep\n");
    std::fs::remove_file(f.path("a.txt")).unwrap();
    let out = f.run(&["destroy", "--auto-approve"]);
    assert_eq!(out.status.code(), Some(0), "{}", all(&out));
    assert_eq!(f.ok(&["state", "list"]), "");
    assert!(!f.path("keep.txt").exists());
}

/// `count` given a string that reads as a whole number is that number, as in
/// Terraform (a variable from the command line is a string).
#[test]
fn count_takes_a_string_that_reads_as_a_whole_number() {
    let f = Fixture::new(
        "count-string",
        r#"
variable "n" {}
resource "landform_data" "a" {
  count = var.n
  input = "a${count.index}"
}
resource "landform_data" "b" {
  count = "2"
  input = "b${count.index}"
}
"#,
    );
    let plan = f.ok(&["plan", "--var", "n=3"]);
    assert!(plan.contains("Plan: 5 to add"), "{plan}");
    let out = f.run(&["plan", "--var", "n=two"]);
    assert_eq!(out.status.code(), Some(1), "{}", all(&out));
    assert!(all(&out).contains("whole number"), "{}", all(&out));
}

/// The order apply's operations finished in, as its progress lines say
/// (`--parallelism 1`): "a created", "c updated", "a destroyed"…
fn order(out: &str) -> Vec<String> {
    out.lines()
        .filter_map(|l| {
            let (addr, rest) = l.split_once(": ")?;
            let what = [
                ("Creation complete", "created"),
                ("Modifications complete", "updated"),
                ("Destruction complete", "destroyed"),
            ]
            .iter()
            .find(|(w, _)| rest.starts_with(w))?
            .1;
            // The old object of a create_before_destroy replacement is a deposed object.
            let addr = addr.split(" (deposed object ").next().unwrap_or(addr);
            Some(format!("{} {what}", addr.trim_start_matches("terraform_data.")))
        })
        .collect()
}

/// Apply `first`, then `second` with `v` changed, and return the order of the second apply.
fn second_apply_order(name: &str, first: &str, second: &str) -> Vec<String> {
    let f = Fixture::new(name, first);
    f.ok(&["apply", "--auto-approve", "--parallelism", "1"]);
    f.write(second);
    let out = f.run(&["apply", "--auto-approve", "--parallelism", "1", "--var", "v=2"]);
    assert_eq!(out.status.code(), Some(0), "{}", all(&out));
    order(&text(&out.stdout))
}

const V: &str = "variable \"v\" {\n  default = \"1\"\n}\n";

// The expected orders are Terraform 1.15's on the same graphs, each resource
// with local-exec provisioners writing an ordered log:
// scripts/terraform-apply-order.py prints them.

/// create_before_destroy on `a`, `c` depending on it: the new `a` is created,
/// `c` updated, then the old `a` destroyed.
#[test]
fn create_before_destroy_updates_dependents_before_destroying_the_old_object() {
    let cfg = format!(
        "{V}resource \"terraform_data\" \"a\" {{\n  triggers_replace = var.v\n  lifecycle {{\n    create_before_destroy = true\n  }}\n}}\nresource \"terraform_data\" \"c\" {{\n  input = terraform_data.a.id\n}}\n"
    );
    assert_eq!(second_apply_order("cbd-order", &cfg, &cfg), ["a created", "c updated", "a destroyed"]);
}

/// `b` (depending on `a`) removed while `a` is replaced: `b` goes first.
#[test]
fn a_removed_dependent_is_destroyed_before_what_it_depends_on_is_replaced() {
    let a = format!("{V}resource \"terraform_data\" \"a\" {{\n  triggers_replace = var.v\n}}\n");
    let with_b = format!("{a}resource \"terraform_data\" \"b\" {{\n  input = terraform_data.a.id\n}}\n");
    assert_eq!(second_apply_order("rm-order", &with_b, &a), ["b destroyed", "a destroyed", "a created"]);
}

/// Both replaced, `c` depending on `a`: destroy `c`, destroy `a`, create `a`, create `c`.
#[test]
fn replaced_dependents_are_destroyed_first_and_created_last() {
    let cfg = format!(
        "{V}resource \"terraform_data\" \"a\" {{\n  triggers_replace = var.v\n}}\nresource \"terraform_data\" \"c\" {{\n  triggers_replace = terraform_data.a.id\n}}\n"
    );
    assert_eq!(second_apply_order("both-order", &cfg, &cfg), ["c destroyed", "a destroyed", "a created", "c created"]);
}

/// A module instance the saved plan had is gone at apply (its for_each reads
/// a file that changed): its resources are errors by address, not dropped.
#[test]
fn a_module_instance_the_saved_plan_had_is_an_error_when_gone() {
    let f = Fixture::new(
        "module-instances",
        r#"
module "m" {
  for_each = toset(split(",", trimspace(file("keys.txt"))))
  source   = "./m"
  name     = each.key
}
"#,
    );
    std::fs::create_dir_all(f.path("m")).unwrap();
    std::fs::write(
        f.path("m/main.lf"),
        "variable \"name\" {}\nresource \"local_file\" \"f\" {\n  path    = \"${path.root}/out/${var.name}.txt\"\n  content = var.name\n}\n",
    )
    .unwrap();
    std::fs::write(f.path("keys.txt"), "a,b").unwrap();
    let plan = f.ok(&["plan", "--out", "p.plan"]);
    assert!(plan.contains("Plan: 2 to add"), "{plan}");
    std::fs::write(f.path("keys.txt"), "a").unwrap();
    let out = f.run(&["apply", "p.plan"]);
    let said = all(&out);
    assert_eq!(out.status.code(), Some(1), "{said}");
    assert!(said.contains("module.m[\"b\"].local_file.f"), "{said}");
}

/// Issue 27: `c` depends on `a`, which is replaced with create_before_destroy,
/// and `c`'s new object fails: the old `a` is not destroyed (what depends on
/// it was not updated), and stays in the state as a deposed object for the
/// next apply. Terraform 1.15 (scripts/terraform-apply-order.py cbd-fail):
/// destroy c, create a, c fails, nothing more.
#[test]
fn a_failed_dependent_keeps_the_old_object_of_a_create_before_destroy_replacement() {
    let cfg = format!(
        "{V}resource \"terraform_data\" \"a\" {{\n  triggers_replace = var.v\n  lifecycle {{\n    create_before_destroy = true\n  }}\n}}\nresource \"local_exec\" \"c\" {{\n  create = \"test ${{var.v}} = 1 && echo ${{terraform_data.a.id}}\"\n}}\n"
    );
    let f = Fixture::new("cbd-fail-order", &cfg);
    f.ok(&["apply", "--auto-approve", "--parallelism", "1"]);
    let out = f.run(&["apply", "--auto-approve", "--parallelism", "1", "--var", "v=2"]);
    assert_eq!(out.status.code(), Some(1), "{}", all(&out));
    assert_eq!(order(&text(&out.stdout)), ["local_exec.c destroyed", "a created"], "{}", all(&out));
    let pulled: serde_json::Value = serde_json::from_str(&f.ok(&["state", "pull"])).unwrap();
    assert_eq!(pulled["deposed"][0]["record"]["addr"], "terraform_data.a", "{pulled}");
    let plan = f.ok(&["plan", "--var", "v=2"]);
    assert!(plan.contains("# terraform_data.a (deposed object "), "{plan}");
}
