//! A real HAProxy (Debian's package, which `scripts/test` installs) in front
//! of small HTTP servers whose behaviour a test changes while it runs (share
//! of 500s, delay), and a real Prometheus: what the rollout tests stand on.
//! Included with `#[path]` by the tests that need it.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// How a test server answers, changed by the test as it runs.
#[derive(Default)]
pub struct Behaviour {
    /// The share of requests answered 500, in percent.
    pub fail_percent: AtomicU64,
    /// How long each answer waits.
    pub delay_ms: AtomicU64,
}

impl Behaviour {
    pub fn new(fail_percent: u64, delay_ms: u64) -> Arc<Behaviour> {
        Arc::new(Behaviour { fail_percent: AtomicU64::new(fail_percent), delay_ms: AtomicU64::new(delay_ms) })
    }
}

/// An HTTP server (keep-alive) that answers with its name, as `b` says.
pub fn server(name: &'static str, b: Arc<Behaviour>) -> u16 {
    let counter = Arc::new(AtomicUsize::new(0));
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for s in l.incoming() {
            let Ok(mut s) = s else { continue };
            let (counter, b) = (counter.clone(), b.clone());
            std::thread::spawn(move || {
                let mut buf = [0u8; 4096];
                let mut seen = Vec::new();
                loop {
                    match s.read(&mut buf) {
                        Ok(0) | Err(_) => return,
                        Ok(n) => seen.extend_from_slice(&buf[..n]),
                    }
                    while let Some(end) = seen.windows(4).position(|w| w == b"\r\n\r\n") {
                        seen.drain(..end + 4);
                        let n = counter.fetch_add(1, Ordering::Relaxed) as u64;
                        let delay = b.delay_ms.load(Ordering::Relaxed);
                        if delay > 0 {
                            std::thread::sleep(Duration::from_millis(delay));
                        }
                        let failing = n % 100 < b.fail_percent.load(Ordering::Relaxed);
                        let status = if failing { "500 Internal Server Error" } else { "200 OK" };
                        let reply = format!(
                            "HTTP/1.1 {status}\r\nContent-Length: {}\r\nContent-Type: text/plain\r\n\r\n{name}",
                            name.len()
                        );
                        if s.write_all(reply.as_bytes()).is_err() {
                            return;
                        }
                    }
                }
            });
        }
    });
    port
}

/// A well-behaved server.
pub fn good(name: &'static str) -> u16 {
    server(name, Behaviour::new(0, 0))
}

pub struct Haproxy {
    child: Child,
    pub api: String,
    pub front: u16,
    dir: std::path::PathBuf,
}

impl Haproxy {
    /// HAProxy with backend `app` of the servers `(name, port, weight)`, in order.
    pub fn start(servers: &[(&str, u16, u32)]) -> Haproxy {
        Haproxy::start_with_options(servers, "")
    }

    /// The same, with `options` on every server line (" check inter 60s", say).
    pub fn start_with_options(servers: &[(&str, u16, u32)], options: &str) -> Haproxy {
        let lines: String =
            servers.iter().map(|(n, p, w)| format!("    server {n} 127.0.0.1:{p} weight {w}{options}\n")).collect();
        Haproxy::start_backend(&format!("    balance roundrobin\n{lines}"))
    }

    /// HAProxy whose backend `app` is `body` (its `balance`, `cookie` and
    /// `server` lines).
    pub fn start_backend(body: &str) -> Haproxy {
        let (api_port, front) = (free_port(), free_port());
        let dir = std::env::temp_dir().join(format!("landform-haproxy-{}-{front}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let cfg = format!(
            "global\n    stats socket ipv4@127.0.0.1:{api_port} level admin\ndefaults\n    mode http\n    timeout connect 2s\n    timeout client 10s\n    timeout server 10s\nfrontend fe\n    bind 127.0.0.1:{front}\n    default_backend app\nbackend app\n{body}"
        );
        std::fs::write(dir.join("haproxy.cfg"), cfg).unwrap();
        let child = Haproxy::spawn(&dir, api_port, front);
        Haproxy { child, api: format!("127.0.0.1:{api_port}"), front, dir }
    }

    fn spawn(dir: &std::path::Path, api_port: u16, front: u16) -> Child {
        let bin = ["/usr/sbin/haproxy", "/usr/local/sbin/haproxy", "/usr/bin/haproxy"]
            .into_iter()
            .find(|p| std::path::Path::new(p).exists())
            .expect("HAProxy is not installed");
        let child = Command::new(bin)
            .args(["-db", "-f"])
            .arg(dir.join("haproxy.cfg"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let start = Instant::now();
        while TcpStream::connect(("127.0.0.1", api_port)).is_err() || TcpStream::connect(("127.0.0.1", front)).is_err()
        {
            assert!(start.elapsed() < Duration::from_secs(10), "HAProxy did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        child
    }

    /// Start HAProxy again from its configuration (its runtime weights are lost).
    pub fn restart(&mut self) {
        self.stop();
        let api_port: u16 = self.api.rsplit(':').next().unwrap().parse().unwrap();
        self.child = Haproxy::spawn(&self.dir, api_port, self.front);
    }

    pub fn runtime(&self, cmd: &str) -> String {
        runtime(&self.api, cmd)
    }

    pub fn weight(&self, server: &str) -> String {
        self.runtime(&format!("get weight app/{server}")).split_whitespace().next().unwrap_or_default().to_string()
    }

    /// Stop HAProxy's process (as a crash would): its runtime API is gone.
    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Haproxy {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// One command on HAProxy's runtime API.
pub fn runtime(api: &str, cmd: &str) -> String {
    let mut s = TcpStream::connect(api).unwrap();
    s.write_all(format!("{cmd}\n").as_bytes()).unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out
}

/// One request through the frontend: the body, or an error.
pub fn get(front: u16) -> Result<String, String> {
    let mut s = TcpStream::connect(("127.0.0.1", front)).map_err(|e| e.to_string())?;
    s.set_read_timeout(Some(Duration::from_secs(15))).unwrap();
    s.write_all(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").map_err(|e| e.to_string())?;
    let mut out = String::new();
    s.read_to_string(&mut out).map_err(|e| e.to_string())?;
    if !out.starts_with("HTTP/1.1 200") {
        return Err(out.lines().next().unwrap_or_default().to_string());
    }
    Ok(out.rsplit("\r\n\r\n").next().unwrap_or_default().to_string())
}

/// `clients` clients sending requests through the frontend until stopped:
/// answers by body, and failures.
pub struct Load {
    stop: Arc<AtomicBool>,
    threads: Vec<std::thread::JoinHandle<(std::collections::BTreeMap<String, usize>, usize)>>,
}

impl Load {
    pub fn start(front: u16, clients: usize) -> Load {
        let stop = Arc::new(AtomicBool::new(false));
        let threads = (0..clients)
            .map(|_| {
                let stop = stop.clone();
                std::thread::spawn(move || {
                    let (mut ok, mut failed) = (std::collections::BTreeMap::new(), 0);
                    while !stop.load(Ordering::Relaxed) {
                        match get(front) {
                            Ok(body) => *ok.entry(body).or_insert(0) += 1,
                            Err(_) => failed += 1,
                        }
                    }
                    (ok, failed)
                })
            })
            .collect();
        Load { stop, threads }
    }

    /// Stop: (answers by body, failed requests).
    pub fn stop(self) -> (std::collections::BTreeMap<String, usize>, usize) {
        self.stop.store(true, Ordering::Relaxed);
        let mut all = std::collections::BTreeMap::new();
        let mut failed = 0;
        for t in self.threads {
            let (ok, f) = t.join().unwrap();
            for (k, v) in ok {
                *all.entry(k).or_insert(0) += v;
            }
            failed += f;
        }
        (all, failed)
    }
}

/// `landform_backend` for the servers `(name, weight)` on the runtime API `api`.
pub fn config(api: &str, weights: &[(&str, u32)]) -> String {
    let w: String = weights.iter().map(|(n, w)| format!("    {n} = {w}\n")).collect();
    format!(
        "provider \"haproxy\" {{\n  runtime_api = \"{api}\"\n}}\n\nresource \"haproxy_backend\" \"app\" {{\n  name = \"app\"\n  weights = {{\n{w}  }}\n}}\n"
    )
}

/// A rollout "web" from blue to green on `haproxy_backend.app`; `body` is the
/// rest of the block (steps, pause, analysis…).
pub fn rollout(body: &str) -> String {
    format!(
        "\nrollout \"web\" {{\n  switch = haproxy_backend.app\n  stable = \"blue\"\n  canary = \"green\"\n{body}}}\n"
    )
}

/// A real Prometheus with nothing to scrape: `vector(…)` queries answer.
pub struct Prometheus {
    child: Child,
    pub url: String,
    dir: std::path::PathBuf,
}

impl Prometheus {
    pub fn start() -> Prometheus {
        let bin = ["/usr/bin/prometheus", "/usr/local/bin/prometheus"]
            .into_iter()
            .find(|p| std::path::Path::new(p).exists())
            .expect("Prometheus is not installed: run scripts/test, which installs the Debian package `prometheus`");
        let port = free_port();
        let dir = std::env::temp_dir().join(format!("landform-safety-prometheus-{}-{port}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("prometheus.yml"), "global:\n  scrape_interval: 1s\nscrape_configs: []\n").unwrap();
        let child = Command::new(bin)
            .arg(format!("--config.file={}", dir.join("prometheus.yml").display()))
            .arg(format!("--storage.tsdb.path={}", dir.join("data").display()))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let start = Instant::now();
        loop {
            let ready = TcpStream::connect(("127.0.0.1", port)).ok().and_then(|mut s| {
                s.write_all(b"GET /-/ready HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").ok()?;
                let mut out = String::new();
                s.read_to_string(&mut out).ok()?;
                out.starts_with("HTTP/1.1 200").then_some(())
            });
            if ready.is_some() {
                break;
            }
            assert!(start.elapsed() < Duration::from_secs(30), "Prometheus did not become ready");
            std::thread::sleep(Duration::from_millis(100));
        }
        Prometheus { child, url: format!("http://127.0.0.1:{port}"), dir }
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
