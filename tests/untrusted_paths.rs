//! Names and paths Landform reads from files it does not control — block
//! labels, the lock file, a downloaded module — never become a path outside
//! the directory meant for them, nor an escape sequence on a terminal
//! (issue 25: items 1, 13, 17, 18, 20).

mod common;
use common::{text, Fixture};
use std::path::Path;

fn git(dir: &Path, args: &[&str]) {
    let out = std::process::Command::new("git")
        .args(["-c", "user.email=t@example.com", "-c", "user.name=t", "-c", "init.defaultBranch=main"])
        .args(args)
        .current_dir(dir)
        .output()
        .expect("git runs");
    assert!(out.status.success(), "git {args:?}: {}", text(&out.stderr));
}

/// A git repository holding one module, `output "id"`, at its top.
fn module_repository(dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    git(dir, &["init", "-q"]);
    std::fs::write(dir.join("main.lf"), "output \"id\" {\n  value = \"from-git\"\n}\n").unwrap();
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "-qm", "module"]);
}

/// `validate`, `plan` and `init` refuse `config`, exit 1, with `summary` at `at`.
fn refused(f: &Fixture, config: &str, summary: &str, at: &str) {
    f.write(config);
    for cmd in ["validate", "plan", "init"] {
        let out = f.run(&[cmd]);
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{cmd} of {config:?} must exit 1:\n{}{err}", text(&out.stdout));
        assert!(err.contains(summary), "{cmd} of {config:?} must say {summary:?}:\n{err}");
        assert!(err.contains(&format!("--> {at}")), "{cmd} of {config:?} must point at {at}:\n{err}");
        assert!(
            !err.contains('\x1b') && !text(&out.stdout).contains('\x1b'),
            "an escape sequence reached the terminal"
        );
    }
}

#[test]
fn every_label_of_every_block_is_an_identifier() {
    let f = Fixture::new("labels", "");
    for bad in ["..", "a/b", "", "1a", "a b", "a\\u001b[2J", "a\\nb", "../../x"] {
        refused(&f, &format!("module \"{bad}\" {{\n  source = \"./m\"\n}}\n"), "Invalid module name", "main.lf:1:8");
        refused(&f, &format!("resource \"landform_data\" \"{bad}\" {{\n}}\n"), "Invalid resource name", "main.lf:1:26");
        refused(&f, &format!("resource \"{bad}\" \"a\" {{\n}}\n"), "Invalid resource type name", "main.lf:1:10");
        refused(&f, &format!("data \"landform_data\" \"{bad}\" {{\n}}\n"), "Invalid data source name", "main.lf:1:22");
        refused(&f, &format!("variable \"{bad}\" {{\n}}\n"), "Invalid variable name", "main.lf:1:10");
        refused(&f, &format!("output \"{bad}\" {{\n  value = 1\n}}\n"), "Invalid output name", "main.lf:1:8");
        refused(&f, &format!("provider \"{bad}\" {{\n}}\n"), "Invalid provider name", "main.lf:1:10");
        refused(
            &f,
            &format!(
                "check \"{bad}\" {{\n  assert {{\n    condition     = true\n    error_message = \"x\"\n  }}\n}}\n"
            ),
            "Invalid check block name",
            "main.lf:1:7",
        );
        // Nested blocks too.
        refused(
            &f,
            &format!("resource \"local_exec\" \"e\" {{\n  create = \"true\"\n  dynamic \"{bad}\" {{\n    for_each = []\n    content {{}}\n  }}\n}}\n"),
            "Invalid block label",
            "main.lf:3:11",
        );
    }
    // A raw escape character in the file is never echoed to the terminal either.
    refused(&f, "resource \"landform_data\" \"a\x1b[2Jb\" {\n}\n", "Invalid resource name", "main.lf:1:26");
    // What Terraform accepts stays accepted: dashes, a leading underscore, Unicode letters.
    f.write("resource \"landform_data\" \"café-1\" {\n  input = 1\n}\nvariable \"_x\" {\n  default = 1\n}\n");
    f.ok(&["validate"]);
}

/// A root `module ".."` with a remote source once made init replace
/// `.landform/modules/..`: the whole `.landform` directory, state included.
#[test]
fn a_module_named_dot_dot_leaves_the_state_alone() {
    let f = Fixture::new("labels-dotdot", "resource \"landform_data\" \"kept\" {\n  input = 1\n}\n");
    f.ok(&["apply", "-auto-approve"]);
    let repo = f.dir.join("upstream");
    module_repository(&repo);
    let config = format!(
        "resource \"landform_data\" \"kept\" {{\n  input = 1\n}}\nmodule \"..\" {{\n  source = \"git::file://{}\"\n}}\n",
        repo.display()
    );
    f.write(&config);
    let out = f.run(&["init"]);
    assert!(f.path(".landform/state").is_dir(), "init removed the state:\n{}{}", text(&out.stdout), text(&out.stderr));
    refused(&f, &config, "Invalid module name", "main.lf:4:8");
    f.write("resource \"landform_data\" \"kept\" {\n  input = 1\n}\n");
    let out = f.run(&["plan", "-detailed-exitcode"]);
    assert_eq!(out.status.code(), Some(0), "the state is intact:\n{}{}", text(&out.stdout), text(&out.stderr));
}
