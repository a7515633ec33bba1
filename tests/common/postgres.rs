//! A real PostgreSQL for the tests that keep their state in it: Debian's
//! `postgresql` package (which `scripts/test` installs), started on a free
//! loopback port in a directory of its own, stopped when dropped.
//! `state/tests/conformance.rs` includes this file too (`#[path]`): it may
//! use only `std` and `super::text`.

use super::text;
use std::path::{Path, PathBuf};
use std::process::Command;

fn bin_dir() -> PathBuf {
    let root = Path::new("/usr/lib/postgresql");
    let mut versions: Vec<PathBuf> = std::fs::read_dir(root)
        .map(|d| d.filter_map(|e| e.ok()).map(|e| e.path().join("bin")).filter(|p| p.join("initdb").exists()).collect())
        .unwrap_or_default();
    versions.sort();
    versions
        .pop()
        .expect("PostgreSQL is not installed: run scripts/test, which installs the Debian package `postgresql`")
}

pub struct Postgres {
    pub dir: PathBuf,
    pub url: String,
    /// Connections only over TLS (`hostssl`), with a certificate from `ca.pem`.
    tls: bool,
}

/// Run a PostgreSQL program as the `postgres` user when we are root (it refuses to run as root).
pub fn pg_cmd(program: &str) -> Command {
    let path = bin_dir().join(program);
    let root = std::fs::read_to_string("/proc/self/status")
        .map(|s| s.lines().any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(1) == Some("0")))
        .unwrap_or(false);
    if root {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(path);
        c
    } else {
        Command::new(path)
    }
}

fn openssl(args: &[&str], dir: &Path) {
    let out = Command::new("openssl").args(args).current_dir(dir).output().unwrap();
    assert!(out.status.success(), "openssl {args:?}: {}", text(&out.stderr));
}

impl Postgres {
    pub fn start() -> Postgres {
        Postgres::start_with(false)
    }

    pub fn start_with(tls: bool) -> Postgres {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let dir = std::env::temp_dir().join(format!("landform-pg-{}-{port}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let _ = Command::new("chown").args(["postgres:postgres"]).arg(&dir).status();
        let data = dir.join("data");
        let out = pg_cmd("initdb").args(["-A", "trust", "-U", "landform", "-D"]).arg(&data).output().unwrap();
        assert!(out.status.success(), "initdb failed: {}", text(&out.stderr));
        let mut ssl = String::new();
        if tls {
            // A CA of the test's own, and a server certificate for 127.0.0.1 it signed.
            openssl(
                &[
                    "req",
                    "-x509",
                    "-newkey",
                    "rsa:2048",
                    "-nodes",
                    "-keyout",
                    "ca.key",
                    "-out",
                    "ca.pem",
                    "-days",
                    "2",
                    "-subj",
                    "/CN=landform-test-ca",
                ],
                &dir,
            );
            openssl(
                &[
                    "req",
                    "-newkey",
                    "rsa:2048",
                    "-nodes",
                    "-keyout",
                    "server.key",
                    "-out",
                    "server.csr",
                    "-subj",
                    "/CN=127.0.0.1",
                ],
                &dir,
            );
            std::fs::write(dir.join("san.ext"), "subjectAltName=IP:127.0.0.1\n").unwrap();
            openssl(
                &[
                    "x509",
                    "-req",
                    "-in",
                    "server.csr",
                    "-CA",
                    "ca.pem",
                    "-CAkey",
                    "ca.key",
                    "-CAcreateserial",
                    "-out",
                    "server.crt",
                    "-days",
                    "2",
                    "-extfile",
                    "san.ext",
                ],
                &dir,
            );
            for f in ["server.crt", "server.key"] {
                std::fs::copy(dir.join(f), data.join(f)).unwrap();
                let _ = Command::new("chown").arg("postgres:postgres").arg(data.join(f)).status();
                let _ = Command::new("chmod").arg("600").arg(data.join(f)).status();
            }
            // Only TLS connections over TCP.
            let hba = data.join("pg_hba.conf");
            std::fs::write(&hba, "local all all trust\nhostssl all all 127.0.0.1/32 trust\n").unwrap();
            ssl = " -c ssl=on -c ssl_cert_file=server.crt -c ssl_key_file=server.key".into();
        }
        let out = pg_cmd("pg_ctl")
            .arg("-D")
            .arg(&data)
            .args(["-l"])
            .arg(dir.join("log"))
            .arg("-o")
            .arg(format!("-p {port} -k {} -c listen_addresses=127.0.0.1{ssl}", dir.display()))
            .args(["-w", "start"])
            .output()
            .unwrap();
        assert!(out.status.success(), "PostgreSQL did not start: {}{}", text(&out.stdout), text(&out.stderr));
        let out = Command::new("psql")
            .args([
                "-h",
                "127.0.0.1",
                "-p",
                &port.to_string(),
                "-U",
                "landform",
                "-d",
                "postgres",
                "-c",
                "CREATE DATABASE landform",
            ])
            .env("PGSSLMODE", if tls { "require" } else { "prefer" })
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", text(&out.stderr));
        Postgres { dir, url: format!("postgres://landform@127.0.0.1:{port}/landform"), tls }
    }

    pub fn sql(&self, q: &str) -> String {
        let port = self.url.rsplit(':').next().unwrap().split('/').next().unwrap().to_string();
        let out = Command::new("psql")
            .args(["-h", "127.0.0.1", "-p", &port, "-U", "landform", "-d", "landform", "-At", "-c", q])
            .env("PGSSLMODE", if self.tls { "require" } else { "prefer" })
            .output()
            .unwrap();
        assert!(out.status.success(), "{q}: {}", text(&out.stderr));
        text(&out.stdout).trim().to_string()
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        let _ = pg_cmd("pg_ctl").arg("-D").arg(self.dir.join("data")).args(["-m", "immediate", "stop"]).output();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
