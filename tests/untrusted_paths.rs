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

/// `init` in `f`, given at most `secs` seconds: a hang is a failure, not a stuck test.
fn init_within(f: &Fixture, secs: u64) -> std::process::Output {
    let child = f
        .cmd(&["init"])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    match rx.recv_timeout(std::time::Duration::from_secs(secs)) {
        Ok(out) => out.unwrap(),
        Err(_) => {
            let _ = std::process::Command::new("kill").args(["-9", &pid.to_string()]).status();
            panic!("init did not finish within {secs} s");
        }
    }
}

/// The lock file and the manifest are data anyone can edit: a subdirectory
/// or directory in them that leaves `.landform/modules` is refused, and
/// nothing outside is loaded as the module.
#[test]
fn a_lock_file_subdir_outside_the_modules_is_refused() {
    let f = Fixture::new("lock-subdir", "");
    let repo = f.dir.join("upstream");
    std::fs::create_dir_all(repo.join("sub")).unwrap();
    git(&repo, &["init", "-q"]);
    std::fs::write(repo.join("sub/main.lf"), "output \"id\" {\n  value = \"from-git\"\n}\n").unwrap();
    git(&repo, &["add", "-A"]);
    git(&repo, &["commit", "-qm", "module"]);
    // What an attacker would have loaded instead: a directory outside the modules.
    std::fs::create_dir_all(f.dir.join("evil")).unwrap();
    std::fs::write(f.dir.join("evil/main.lf"), "output \"id\" {\n  value = \"EVIL\"\n}\n").unwrap();
    f.write(&format!(
        "module \"m\" {{\n  source = \"git::file://{}//sub\"\n}}\noutput \"id\" {{\n  value = module.m.id\n}}\n",
        repo.display()
    ));
    f.ok(&["init"]);
    f.ok(&["apply", "-auto-approve"]);
    assert_eq!(f.ok(&["output", "id"]).trim(), "from-git");

    let lock = std::fs::read_to_string(f.path(".landform.lock.json")).unwrap();
    for subdir in ["../../../evil", "/etc", "sub/../../../../evil"] {
        std::fs::write(f.path(".landform.lock.json"), lock.replace("\"sub\"", &format!("\"{subdir}\""))).unwrap();
        let out = f.run(&["init"]);
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "init must refuse subdir {subdir:?}:\n{}{err}", text(&out.stdout));
        assert!(err.contains(".landform.lock.json") && err.contains("main.lf:2:"), "{err}");
        let plan = f.run(&["plan"]);
        assert!(!text(&plan.stdout).contains("EVIL") && !text(&plan.stderr).contains("EVIL"), "{}", text(&plan.stdout));
    }
    std::fs::write(f.path(".landform.lock.json"), &lock).unwrap();
    f.ok(&["init"]);
    // The manifest the loader reads, edited to point outside: not loaded.
    let manifest = std::fs::read_to_string(f.path(".landform/modules/modules.json")).unwrap();
    std::fs::write(
        f.path(".landform/modules/modules.json"),
        manifest.replace(".landform/modules/m/sub", ".landform/modules/../../evil"),
    )
    .unwrap();
    let plan = f.run(&["plan"]);
    assert!(!text(&plan.stdout).contains("EVIL"), "{}", text(&plan.stdout));
    assert_eq!(plan.status.code(), Some(1), "{}", text(&plan.stderr));
}

/// A git module is data too: a URL is never read as an option of git, a
/// link in it that leads outside is not read, and links that make a loop
/// (`a -> .`) do not make init walk forever.
#[test]
fn git_urls_are_never_options() {
    let f = Fixture::new("git-hostile", "");
    // A URL that begins with `-` is a URL (here a repository beside the
    // configuration), never options of git's.
    module_repository(&f.dir.join("-repo"));
    f.write("module \"m\" {\n  source = \"git::-repo\"\n}\noutput \"id\" {\n  value = module.m.id\n}\n");
    let out = init_within(&f, 60);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    f.ok(&["apply", "-auto-approve"]);
    assert_eq!(f.ok(&["output", "id"]).trim(), "from-git");
    f.write("module \"m\" {\n  source = \"git::--upload-pack=touch pwned\"\n}\n");
    let out = init_within(&f, 60);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("repository '--upload-pack=touch pwned' does not exist"),
        "git read the URL as an option: {err}"
    );
    assert!(!f.path("pwned").exists(), "git ran the URL as an option");
}

#[test]
fn links_in_a_git_module_neither_lead_out_nor_loop() {
    let f = Fixture::new("git-links", "");
    let secret = f.dir.join("secret.txt");
    std::fs::write(&secret, "TOP-SECRET-4242 is not configuration\n").unwrap();
    let repo = f.dir.join("upstream");
    module_repository(&repo);
    std::os::unix::fs::symlink(&secret, repo.join("leak.lf")).unwrap();
    std::os::unix::fs::symlink("../secret.txt", repo.join("relative.lf")).unwrap();
    std::os::unix::fs::symlink(".", repo.join("a")).unwrap();
    std::os::unix::fs::symlink(".", repo.join("b")).unwrap();
    std::os::unix::fs::symlink("main.lf", repo.join("inside.lf.txt")).unwrap();
    git(&repo, &["add", "-A"]);
    git(&repo, &["commit", "-qm", "links"]);
    f.write(&format!(
        "module \"m\" {{\n  source = \"git::file://{}\"\n}}\noutput \"id\" {{\n  value = module.m.id\n}}\n",
        repo.display()
    ));
    let out = init_within(&f, 60);
    assert_eq!(out.status.code(), Some(0), "{}{}", text(&out.stdout), text(&out.stderr));
    assert!(!f.path(".landform/modules/m/leak.lf").exists() && !f.path(".landform/modules/m/relative.lf").exists());
    assert!(f.path(".landform/modules/m/inside.lf.txt").exists(), "a link inside the module is kept");
    let plan = f.run(&["plan"]);
    let said = format!("{}{}", text(&plan.stdout), text(&plan.stderr));
    assert_eq!(plan.status.code(), Some(0), "{said}");
    assert!(!said.contains("TOP-SECRET"), "a file outside the module was read: {said}");
    // A second init finds it as locked, walking the same links.
    let again = init_within(&f, 60);
    assert!(text(&again.stdout).contains("up to date"), "{}", text(&again.stdout));
}

/// `state migrate --to sled` makes a directory for each workspace a
/// PostgreSQL state names: a row named to climb out of the state directory is
/// refused, and nothing is written outside it.
#[test]
fn workspace_names_from_the_database_stay_in_the_state_directory() {
    let pg = common::postgres::Postgres::start();
    let f = Fixture::new("migrate-names", "resource \"landform_data\" \"a\" {\n  input = 1\n}\n");
    let on_pg = |args: &[&str]| f.cmd(args).env("LANDFORM_BACKEND_URL", &pg.url).output().unwrap();
    let out = on_pg(&["apply", "-auto-approve"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    for name in ["../../escaped", "../escaped", "/tmp/escaped-abs", "a/../../escaped"] {
        pg.sql(&format!(
            "INSERT INTO landform.workspaces SELECT '{name}', lineage, serial FROM landform.workspaces WHERE name = 'default';
             INSERT INTO landform.records SELECT '{name}', kind, key, value FROM landform.records WHERE workspace = 'default'"
        ));
        let back = f.dir.join("back");
        let out = on_pg(&["state", "migrate", "--to", "sled", "--state", back.to_str().unwrap()]);
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{name}: {}{err}", text(&out.stdout));
        assert!(err.contains(name), "the error names the workspace {name:?}: {err}");
        for escaped in [f.dir.join("escaped"), back.join("escaped"), "/tmp/escaped-abs".into()] {
            assert!(!escaped.exists(), "{name}: {} was written", escaped.display());
        }
        pg.sql(&format!("DELETE FROM landform.records WHERE workspace = '{name}'; DELETE FROM landform.workspaces WHERE name = '{name}'"));
    }
}

/// A state file is data too: `state push` refuses a record whose address is
/// not in Landform's form (an escape sequence in a name, a raw control
/// character in a key), so no address from a file reaches a terminal raw.
#[test]
fn a_pushed_state_with_hostile_addresses_is_refused() {
    let f = Fixture::new(
        "push-hostile",
        "resource \"landform_data\" \"a\" {\n  for_each = toset([\"x\"])\n  input    = 1\n}\n",
    );
    f.ok(&["apply", "-auto-approve"]);
    let pulled = f.ok(&["state", "pull"]);
    for (from, to) in [
        ("landform_data.a[\\\"x\\\"]", "landform_data.a\\u001b[2J[\\\"x\\\"]"),
        ("landform_data.a[\\\"x\\\"]", "landform_data.a[\\\"x\\u001b[2J\\\"]"),
        ("\"name\": \"a\"", "\"name\": \"b\""),
    ] {
        assert!(pulled.contains(from), "{pulled}");
        std::fs::write(f.path("hostile.json"), pulled.replace(from, to)).unwrap();
        let out = f.run(&["state", "push", "--force", "hostile.json"]);
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{to}: {err}");
        assert!(err.contains("nothing was pushed") && !err.contains('\x1b'), "{to}: {err}");
    }
    std::fs::write(f.path("same.json"), &pulled).unwrap();
    f.ok(&["state", "push", "--force", "same.json"]);
    let plan = f.run(&["plan", "-detailed-exitcode"]);
    assert_eq!(plan.status.code(), Some(0), "{}", text(&plan.stdout));
}
