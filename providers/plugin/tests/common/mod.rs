//! What the plugin tests need from the machine: the real hashicorp/aws
//! provider in the Terraform filesystem mirror, and moto's server. Each is
//! required: a test fails, never skips, when one is missing.
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The filesystem mirror (`LANDFORM_PLUGIN_MIRROR`, else /opt/tf-plugins).
pub fn mirror() -> PathBuf {
    std::env::var_os("LANDFORM_PLUGIN_MIRROR").map(PathBuf::from).unwrap_or_else(|| PathBuf::from("/opt/tf-plugins"))
}

/// hashicorp/aws 5.100.0 (plugin protocol 5) in the mirror.
/// Writes `DIR/cli.tfrc`, a Terraform CLI configuration that installs
/// hashicorp's providers from the mirror, for Terraform as the oracle.
pub fn write_terraform_cli_config(dir: &std::path::Path) {
    std::fs::write(
        dir.join("cli.tfrc"),
        format!(
            "provider_installation {{\n  filesystem_mirror {{\n    path    = \"{}\"\n    include = [\"registry.terraform.io/hashicorp/*\"]\n  }}\n}}\n",
            mirror().display()
        ),
    )
    .unwrap();
}

pub fn aws_provider() -> PathBuf {
    let p = mirror().join("registry.terraform.io/hashicorp/aws/5.100.0/linux_amd64/terraform-provider-aws_v5.100.0_x5");
    assert!(
        p.is_file(),
        "hashicorp/aws 5.100.0 is not in the Terraform filesystem mirror at {}: install it there (HOST/NAMESPACE/TYPE/VERSION/OS_ARCH) or set LANDFORM_PLUGIN_MIRROR",
        p.display()
    );
    p
}

/// Options to start hashicorp/aws with, asking it for its schema every time
/// (the cache is tested on its own, in a directory of its own).
pub fn aws_options() -> landform_provider_plugin::StartOptions {
    let mut o = landform_provider_plugin::StartOptions::new(aws_provider());
    o.schema_cache = None;
    o
}

/// The processes whose environment holds `KEY=VALUE`: a test marks the
/// commands it runs, and so every provider they start, with a value of its own.
pub fn processes_marked(key: &str, value: &str) -> Vec<u32> {
    let needle = format!("{key}={value}");
    let Ok(entries) = std::fs::read_dir("/proc") else { return Vec::new() };
    entries
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/environ"))
                .is_ok_and(|env| env.split(|b| *b == 0).any(|kv| kv == needle.as_bytes()))
        })
        .collect()
}

/// Whether a process with this id exists (a zombie counts: it was not reaped).
pub fn process_exists(pid: u32) -> bool {
    std::path::Path::new(&format!("/proc/{pid}")).exists()
}

/// The lines of `ps` naming this process id.
pub fn ps_lines(pid: u32) -> Vec<String> {
    let out = Command::new("ps").args(["-eo", "pid=,stat=,args="]).output().expect("ps runs");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.split_whitespace().next() == Some(&pid.to_string()))
        .map(str::to_string)
        .collect()
}

pub fn venv() -> PathBuf {
    // The repository's target/test-venv, from this crate or from the root package.
    let dir = std::env::var_os("LANDFORM_TEST_VENV").map(PathBuf::from).unwrap_or_else(|| {
        let here = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
        here.ancestors()
            .map(|d| d.join("target/test-venv"))
            .find(|d| d.exists())
            .unwrap_or(here.join("target/test-venv"))
    });
    assert!(
        dir.join("bin/python").exists(),
        "moto is not installed in {}: run scripts/test, which installs moto[server] into that virtualenv",
        dir.display()
    );
    dir
}

/// moto's server on a free loopback port.
pub struct Moto {
    child: Child,
    pub url: String,
}

impl Moto {
    pub fn start() -> Moto {
        let (child, url) = (0..5)
            .find_map(|_| {
                let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
                let mut child = Command::new(venv().join("bin/python"))
                    .args(["-m", "moto.server", "-H", "127.0.0.1", "-p", &port.to_string()])
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .spawn()
                    .expect("moto starts");
                let start = Instant::now();
                while start.elapsed() < Duration::from_secs(30) && child.try_wait().ok().flatten().is_none() {
                    if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                        std::thread::sleep(Duration::from_millis(200));
                        if child.try_wait().ok().flatten().is_none() {
                            return Some((child, format!("http://127.0.0.1:{port}")));
                        }
                        break;
                    }
                    std::thread::sleep(Duration::from_millis(100));
                }
                let _ = child.kill();
                let _ = child.wait();
                None
            })
            .expect("moto's server starts on a free port");
        Moto { child, url }
    }

    /// Run Python with an `ec2` boto3 client bound to this server; returns `out` as JSON.
    pub fn py(&self, code: &str) -> serde_json::Value {
        let script = format!(
            "import boto3, json\nkw = dict(endpoint_url={url:?}, region_name='us-east-1', aws_access_key_id='testing', aws_secret_access_key='testing')\nec2 = boto3.client('ec2', **kw)\nout = None\n{code}\nprint(json.dumps(out, default=str))\n",
            url = self.url
        );
        let o = Command::new(venv().join("bin/python")).arg("-c").arg(script).output().unwrap();
        assert!(o.status.success(), "python failed: {}", String::from_utf8_lossy(&o.stderr));
        serde_json::from_slice(&o.stdout).unwrap()
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
