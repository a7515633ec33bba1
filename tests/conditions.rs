//! Issue 13: custom conditions on the real binary. A failing `precondition`
//! stops the plan with its message at the condition; a `postcondition` is
//! checked on the planned object when it is known, else on the applied one,
//! which is saved while its dependents are skipped; an output's precondition
//! guards the output; a `check` block's failed assertion is a warning.

mod common;
use common::{text, Fixture};

const CONFIG: &str = r#"variable "size" {
  type    = number
  default = 3
}
resource "landform_data" "a" {
  input = var.size
  lifecycle {
    precondition {
      condition     = var.size < 10
      error_message = "size must be under 10, got ${var.size}"
    }
    postcondition {
      condition     = self.output == var.size
      error_message = "the output is not the input"
    }
  }
}
output "o" {
  value = landform_data.a.output
  precondition {
    condition     = var.size != 7
    error_message = "seven is not allowed"
  }
}
check "health" {
  assert {
    condition     = var.size > 5
    error_message = "size ${var.size} is small"
  }
}
"#;

#[test]
fn preconditions_stop_the_plan_with_their_message_at_the_condition() {
    let f = Fixture::new("conditions-pre", CONFIG);
    let out = f.run(&["plan", "--var", "size=20"]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(err.contains("Resource precondition failed") && err.contains("main.lf:9:23"), "{err}");
    assert!(err.contains("size must be under 10, got 20"), "{err}");
    let out = f.run(&["apply", "-auto-approve", "--var", "size=7"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("Output precondition failed") && text(&out.stderr).contains("seven is not allowed")
    );
    assert_eq!(f.ok(&["state", "list"]), "");
}

#[test]
fn a_failed_check_warns_and_the_apply_goes_on() {
    let f = Fixture::new("conditions-check", CONFIG);
    let out = f.run(&["apply", "-auto-approve"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let err = text(&out.stderr);
    assert!(err.contains("Warning: Check block assertion failed") && err.contains("size 3 is small"), "{err}");
    assert_eq!(f.ok(&["output", "-raw", "o"]), "3");
    // Passing: no warning.
    let out = f.run(&["plan", "--var", "size=6"]);
    assert!(!text(&out.stderr).contains("Warning"), "{}", text(&out.stderr));
}

#[test]
fn a_postcondition_known_only_after_apply_fails_the_apply_and_skips_dependents() {
    let f = Fixture::new(
        "conditions-post",
        r#"resource "random_id" "r" {
  byte_length = 2
  lifecycle {
    postcondition {
      condition     = length(self.hex) == 6
      error_message = "the id has ${length(self.hex)} hex digits, not 6"
    }
  }
}
resource "landform_data" "after" {
  input = random_id.r.hex
}
"#,
    );
    let out = f.run(&["apply", "-auto-approve"]);
    assert_eq!(out.status.code(), Some(1));
    let all = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert!(all.contains("random_id.r: resource postcondition failed: the id has 4 hex digits, not 6"), "{all}");
    assert!(all.contains("landform_data.after: skipped, because random_id.r failed"), "{all}");
    // The object exists, so it is in the state; the next plan, knowing it, fails at once.
    assert_eq!(f.ok(&["state", "list"]), "random_id.r\n");
    let out = f.run(&["plan"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("Resource postcondition failed") && text(&out.stderr).contains("main.lf:5:23"));
}
