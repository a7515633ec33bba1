//! The haproxy provider end to end: a real HAProxy (Debian's package, which
//! `scripts/test` installs) in front of two small HTTP servers that answer
//! "blue" and "green", driven through its runtime API by the real binary.
//! Without HAProxy these tests fail.

mod common;

use common::{text, Fixture};
// The shared helpers of the rollout tests: a real Prometheus.
#[path = "common/haproxy.rs"]
mod haproxy_env;
use haproxy_env::Prometheus;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// An HTTP server that answers every request with its name.
fn server(name: &'static str) -> u16 {
    server_failing(name, 0)
}

/// The same, answering 500 to `percent` of requests.
fn server_failing(name: &'static str, percent: u64) -> u16 {
    let counter = Arc::new(AtomicUsize::new(0));
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for s in l.incoming() {
            let Ok(mut s) = s else { continue };
            let counter = counter.clone();
            std::thread::spawn(move || {
                let mut buf = [0u8; 4096];
                let mut seen = Vec::new();
                // Keep-alive: answer each request on the connection.
                loop {
                    match s.read(&mut buf) {
                        Ok(0) | Err(_) => return,
                        Ok(n) => seen.extend_from_slice(&buf[..n]),
                    }
                    while let Some(end) = seen.windows(4).position(|w| w == b"\r\n\r\n") {
                        seen.drain(..end + 4);
                        let n = counter.fetch_add(1, Ordering::Relaxed) as u64;
                        let status = if n % 100 < percent { "500 Internal Server Error" } else { "200 OK" };
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

/// An HTTP server that answers "slow" after `delay_ms`.
fn server_slow(delay_ms: u64) -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for s in l.incoming() {
            let Ok(mut s) = s else { continue };
            std::thread::spawn(move || {
                let mut buf = [0u8; 4096];
                let _ = s.read(&mut buf);
                std::thread::sleep(Duration::from_millis(delay_ms));
                let _ = s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\nConnection: close\r\n\r\nslow");
            });
        }
    });
    port
}

struct Haproxy {
    child: Child,
    api: String,
    front: u16,
    _dir: std::path::PathBuf,
}

impl Haproxy {
    fn start() -> Haproxy {
        Haproxy::start_with(server("blue"), server("green"))
    }

    fn start_with(blue: u16, green: u16) -> Haproxy {
        let bin = ["/usr/sbin/haproxy", "/usr/local/sbin/haproxy", "/usr/bin/haproxy"]
            .into_iter()
            .find(|p| std::path::Path::new(p).exists())
            .expect("HAProxy is not installed: run scripts/test, which installs the Debian package `haproxy`");
        let (api_port, front) = (free_port(), free_port());
        let dir = std::env::temp_dir().join(format!("landform-haproxy-{}-{front}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let sock = dir.join("admin.sock").display().to_string();
        let cfg = format!(
            "global\n    stats socket ipv4@127.0.0.1:{api_port} level admin\n    stats socket {sock} level admin\ndefaults\n    mode http\n    timeout connect 2s\n    timeout client 10s\n    timeout server 10s\nfrontend fe\n    bind 127.0.0.1:{front}\n    default_backend app\nbackend app\n    balance roundrobin\n    server blue 127.0.0.1:{blue} weight 100\n    server green 127.0.0.1:{green} weight 0\n"
        );
        std::fs::write(dir.join("haproxy.cfg"), cfg).unwrap();
        let _ = sock;
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
        Haproxy { child, api: format!("127.0.0.1:{api_port}"), front, _dir: dir }
    }

    fn runtime(&self, cmd: &str) -> String {
        let mut s = TcpStream::connect(&self.api).unwrap();
        s.write_all(format!("{cmd}\n").as_bytes()).unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).unwrap();
        out
    }

    fn weight(&self, server: &str) -> String {
        self.runtime(&format!("get weight app/{server}")).split_whitespace().next().unwrap_or_default().to_string()
    }

    fn get(&self) -> Result<String, String> {
        get(self.front)
    }

    fn spread(&self, n: usize) -> (usize, usize) {
        let mut blue = 0;
        let mut green = 0;
        for _ in 0..n {
            match self.get().as_deref() {
                Ok("blue") => blue += 1,
                Ok("green") => green += 1,
                other => panic!("a request failed: {other:?}"),
            }
        }
        (blue, green)
    }
}

impl Drop for Haproxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One request through the frontend: the body, or an error.
fn get(front: u16) -> Result<String, String> {
    let mut s = TcpStream::connect(("127.0.0.1", front)).map_err(|e| e.to_string())?;
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s.write_all(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").map_err(|e| e.to_string())?;
    let mut out = String::new();
    s.read_to_string(&mut out).map_err(|e| e.to_string())?;
    if !out.starts_with("HTTP/1.1 200") {
        return Err(out.lines().next().unwrap_or_default().to_string());
    }
    Ok(out.rsplit("\r\n\r\n").next().unwrap_or_default().to_string())
}

fn config(api: &str) -> String {
    format!(
        r#"
variable "blue" {{
  default = 100
}}
variable "green" {{
  default = 0
}}

provider "haproxy" {{
  runtime_api = "{api}"
}}

resource "haproxy_backend" "app" {{
  name = "app"
  weights = {{
    blue  = var.blue
    green = var.green
  }}
}}
"#
    )
}

#[test]
fn weights_shift_traffic_without_a_failed_request_and_drift_is_seen() {
    let h = Haproxy::start();
    let f = Fixture::new("haproxy-weights", &config(&h.api));
    let out = f.ok(&["apply", "--auto-approve"]);
    assert!(out.contains("Apply complete! Resources: 1 added"), "{out}");
    assert_eq!(h.spread(20), (20, 0));
    let plan = f.run(&["plan", "--detailed-exitcode"]);
    assert_eq!(plan.status.code(), Some(0), "{}", text(&plan.stdout));

    // Traffic keeps flowing while the weights move: not one request fails.
    let stop = Arc::new(AtomicBool::new(false));
    let (ok, failed) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let front = h.front;
    let load = {
        let (stop, ok, failed) = (stop.clone(), ok.clone(), failed.clone());
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                match get(front) {
                    Ok(_) => ok.fetch_add(1, Ordering::Relaxed),
                    Err(_) => failed.fetch_add(1, Ordering::Relaxed),
                };
            }
        })
    };
    for (b, g) in [("75", "25"), ("50", "50"), ("0", "100")] {
        let out = f.ok(&["apply", "--auto-approve", "--var", &format!("blue={b}"), "--var", &format!("green={g}")]);
        assert!(out.contains("Resources: 0 added, 1 changed, 0 destroyed."), "{out}");
        assert_eq!((h.weight("blue"), h.weight("green")), (b.to_string(), g.to_string()));
    }
    std::thread::sleep(Duration::from_millis(200));
    stop.store(true, Ordering::Relaxed);
    load.join().unwrap();
    assert_eq!(failed.load(Ordering::Relaxed), 0, "requests failed during the shift");
    assert!(ok.load(Ordering::Relaxed) > 50, "the load ran: {} requests", ok.load(Ordering::Relaxed));
    assert_eq!(h.spread(20), (0, 20), "all traffic on green");

    // Someone changes a weight by hand: drift names it; apply puts it back.
    h.runtime("set server app/blue weight 30");
    let drift = f.cmd(&["drift"]).env("LANDFORM_VAR_blue", "0").env("LANDFORM_VAR_green", "100").output().unwrap();
    assert_eq!(drift.status.code(), Some(2), "{}", text(&drift.stdout));
    assert!(text(&drift.stdout).contains("weights.blue"), "{}", text(&drift.stdout));
    let plan = f.ok(&["plan", "--var", "blue=0", "--var", "green=100"]);
    // The plan puts the weight back; nothing depends on it, so (as Terraform)
    // it says no "objects changed outside" first.
    assert!(!plan.contains("Objects changed outside Landform"), "{plan}");
    assert!(plan.contains("~ weights.blue = 30 -> 0"), "{plan}");
    f.ok(&["apply", "--auto-approve", "--var", "blue=0", "--var", "green=100"]);
    assert_eq!(h.weight("blue"), "0");

    // Destroy forgets the backend: the weights stay where they are.
    f.ok(&["destroy", "--auto-approve", "--var", "blue=0", "--var", "green=100"]);
    assert_eq!((h.weight("blue"), h.weight("green")), ("0".to_string(), "100".to_string()));
    // And an existing backend is imported with its weights.
    let out = f.ok(&["import", "--var", "blue=0", "--var", "green=100", "haproxy_backend.app", "app"]);
    assert!(out.contains("Import successful!") && out.contains("No changes."), "{out}");
}

#[test]
fn dynamic_servers_are_added_drained_and_removed() {
    let h = Haproxy::start();
    let red = server("red");
    let f = Fixture::new(
        "haproxy-server",
        &format!(
            "{}\nresource \"haproxy_server\" \"red\" {{\n  backend = \"app\"\n  name    = \"red\"\n  address = \"127.0.0.1\"\n  port    = {red}\n  weight  = 100\n}}\n",
            config(&h.api)
        ),
    );
    f.ok(&["apply", "--auto-approve", "--var", "blue=0"]);
    // Only red carries weight now.
    for _ in 0..10 {
        assert_eq!(h.get().as_deref(), Ok("red"));
    }
    let listed = h.runtime("show servers state app");
    assert!(listed.contains(" red "), "{listed}");
    assert!(f.run(&["plan", "--var", "blue=0", "--detailed-exitcode"]).status.code() == Some(0));
    // Drained: no new requests, still listed.
    let cfg = std::fs::read_to_string(f.path("main.lf")).unwrap();
    f.write(&cfg.replace("  weight  = 100\n", "  weight  = 100\n  state   = \"drain\"\n"));
    f.ok(&["apply", "--auto-approve", "--var", "blue=100"]);
    assert_eq!(h.spread(10), (10, 0));
    // Removed with destroy.
    f.ok(&["destroy", "--auto-approve", "--var", "blue=100"]);
    assert!(!h.runtime("show servers state app").contains(" red "));
}

#[test]
fn bad_input_and_haproxys_refusals_are_clear() {
    let h = Haproxy::start();
    let f = Fixture::new("haproxy-bad", &config(&h.api));
    // A weight HAProxy cannot take, pointed at where it is written.
    let out = f.run(&["plan", "--var", "green=300"]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("weights.green is 300: HAProxy's weights are whole numbers from 0 to 256"), "{err}");
    assert!(err.contains("main.lf:17:13"), "{err}");
    // A backend HAProxy does not have: the error names the resource.
    f.write(&config(&h.api).replace("name = \"app\"", "name = \"nope\""));
    let out = f.run(&["apply", "--auto-approve"]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("haproxy_backend.app") && err.contains("HAProxy has no backend \"nope\""), "{err}");
    // A server name that would smuggle a second command is refused before anything is sent.
    f.write(&config(&h.api).replace("green = var.green", "\"green weight 0\\nshutdown\" = 1"));
    let out = f.run(&["plan"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("is not a HAProxy server name"), "{}", text(&out.stderr));
    // HAProxy not answering: says where it looked.
    f.write(&config("127.0.0.1:9"));
    let out = f.run(&["apply", "--auto-approve"]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1));
    assert!(err.contains("HAProxy's runtime API did not answer") && err.contains("127.0.0.1:9"), "{err}");
}

const ROLLOUT: &str = r#"
rollout "web" {
  switch = haproxy_backend.app
  stable = "blue"
  canary = "green"
  steps  = [25%, 50%, 100%]
  pause  = 1s
  analysis {
    interval      = 250ms
    failure_limit = 0
    metric "errors" {
      source = "haproxy"
      max    = 1%
    }
  }
}
"#;

/// Requests through the frontend until stopped: (succeeded, failed).
fn load(front: u16, stop: Arc<AtomicBool>) -> std::thread::JoinHandle<(usize, usize)> {
    std::thread::spawn(move || {
        let (mut ok, mut failed) = (0, 0);
        while !stop.load(Ordering::Relaxed) {
            match get(front) {
                Ok(_) => ok += 1,
                Err(_) => failed += 1,
            }
        }
        (ok, failed)
    })
}

/// The canary's weight as HAProxy reports it, polled every 20 ms into
/// `weight` (and the moment it last changed) until `stop`.
fn watch_weight(
    api: String,
    weight: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
) -> std::thread::JoinHandle<Vec<(Instant, usize)>> {
    std::thread::spawn(move || {
        let mut changes = Vec::new();
        while !stop.load(Ordering::Relaxed) {
            let mut s = TcpStream::connect(&api).unwrap();
            s.write_all(b"get weight app/green\n").unwrap();
            let mut out = String::new();
            s.read_to_string(&mut out).unwrap();
            let w: usize = out.split_whitespace().next().and_then(|w| w.parse().ok()).unwrap_or(0);
            if changes.last().is_none_or(|(_, last)| *last != w) {
                changes.push((Instant::now(), w));
            }
            weight.store(w, Ordering::SeqCst);
            std::thread::sleep(Duration::from_millis(20));
        }
        changes
    })
}

/// Answers by the canary weight HAProxy reported when they came: (blue, green, failed).
type ByWeight = std::collections::BTreeMap<usize, (usize, usize, usize)>;

/// Done means 1: HAProxy in front of v1 (blue) and v2 (green), a load
/// generator sending requests through it for the whole of a canary rollout
/// 0 → 5 → 25 → 50 → 100%: no request fails out of at least 20,000, and the
/// share of green answers at each weight (as HAProxy reports it) follows the steps.
#[test]
fn a_canary_rollout_under_load_loses_no_request_and_the_canary_share_follows_the_steps() {
    let h = Haproxy::start();
    let f = Fixture::new("haproxy-rollout", &config(&h.api));
    f.ok(&["apply", "--auto-approve"]);
    let rollout = ROLLOUT.replace("[25%, 50%, 100%]", "[5%, 25%, 50%, 100%]").replace("pause  = 1s", "pause  = 3s");
    f.write(&format!("{}{rollout}", config(&h.api)));
    // The plan shows the rollout as one entry.
    let plan = f.ok(&["plan"]);
    assert!(plan.contains("# rollout.web will move traffic on haproxy_backend.app from blue to green"), "{plan}");
    assert!(plan.contains("steps    = [5%, 25%, 50%, 100%], pause 3s after each"), "{plan}");
    assert!(plan.contains("1 rollout to run."), "{plan}");
    let json: serde_json::Value = serde_json::from_str(&f.ok(&["plan", "--json"])).unwrap();
    assert_eq!(json["rollouts"][0]["steps"], serde_json::json!([0.05, 0.25, 0.5, 1.0]));
    // Four clients; each answer counted under the canary weight HAProxy reported when it came.
    let (stop, weight) = (Arc::new(AtomicBool::new(false)), Arc::new(AtomicUsize::new(0)));
    let watcher = watch_weight(h.api.clone(), weight.clone(), stop.clone());
    let counts: Arc<std::sync::Mutex<ByWeight>> = Arc::default();
    let clients: Vec<_> = (0..4)
        .map(|_| {
            let (stop, weight, counts, front) = (stop.clone(), weight.clone(), counts.clone(), h.front);
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    let answer = get(front);
                    let w = weight.load(Ordering::SeqCst);
                    let mut c = counts.lock().unwrap();
                    let e = c.entry(w).or_default();
                    match answer.as_deref() {
                        Ok("green") => e.1 += 1,
                        Ok(_) => e.0 += 1,
                        Err(_) => e.2 += 1,
                    }
                }
            })
        })
        .collect();
    let out = f.run(&["apply", "--auto-approve"]);
    // At least 20,000 requests, the last of them at 100%.
    let total = || counts.lock().unwrap().values().map(|(b, g, e)| b + g + e).sum::<usize>();
    let start = Instant::now();
    while total() < 20_000 && start.elapsed() < Duration::from_secs(120) {
        std::thread::sleep(Duration::from_millis(100));
    }
    stop.store(true, Ordering::Relaxed);
    for c in clients {
        c.join().unwrap();
    }
    watcher.join().unwrap();
    let said = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{said}{}", text(&out.stderr));
    for step in ["step 1/4: green 5%, blue 95%", "step 2/4: green 25%, blue 75%", "step 3/4: green 50%, blue 50%"] {
        assert!(said.contains(step), "{said}");
    }
    assert!(said.contains("step 4/4: green 100%, blue 0%"), "{said}");
    assert!(said.contains("rollout.web: complete: all traffic on green"), "{said}");
    let counts = counts.lock().unwrap().clone();
    let failed: usize = counts.values().map(|c| c.2).sum();
    let total: usize = counts.values().map(|(b, g, e)| b + g + e).sum();
    eprintln!("requests by green weight (blue, green, failed): {counts:?}");
    assert_eq!(failed, 0, "{failed} of {total} requests failed during the rollout");
    assert!(total >= 20_000, "only {total} requests");
    for w in [0, 5, 25, 50, 100] {
        let (b, g, _) = counts.get(&w).copied().unwrap_or_default();
        assert!(b + g >= 200, "too few requests at {w}%: {counts:?}");
        let share = g as f64 / (b + g) as f64;
        assert!((share - w as f64 / 100.0).abs() <= 0.03, "at {w}% the green share was {share:.3}: {counts:?}");
    }
    assert_eq!((h.weight("blue"), h.weight("green")), ("0".to_string(), "100".to_string()));
    // Done: the rollout owns the weights, and the plan is clean.
    let again = f.run(&["plan", "--detailed-exitcode"]);
    assert_eq!(again.status.code(), Some(0), "{}", text(&again.stdout));
}

/// Done means 2: v2 answers 500 to 30% of requests. The analysis fails at the
/// first step, v2's weight is back to 0 within 1 s of the failed check (as
/// HAProxy reports it), apply exits 1 naming the metric, and the errors
/// clients saw stay within 5% of the traffic of one analysis interval.
#[test]
fn a_bad_canary_is_rolled_back_within_a_second_of_the_failed_check() {
    let bad = Haproxy::start_with(server("blue"), server_failing("green", 30));
    let g = Fixture::new("haproxy-rollback", &config(&bad.api));
    g.ok(&["apply", "--auto-approve"]);
    let rollout = ROLLOUT
        .replace("[25%, 50%, 100%]", "[5%, 25%, 50%, 100%]")
        .replace("interval      = 250ms", "interval      = 1s");
    g.write(&format!("{}{rollout}", config(&bad.api)));
    let (stop, weight) = (Arc::new(AtomicBool::new(false)), Arc::new(AtomicUsize::new(0)));
    let watcher = watch_weight(bad.api.clone(), weight, stop.clone());
    let traffic: Vec<_> = (0..2).map(|_| load(bad.front, stop.clone())).collect();
    let started = Instant::now();
    let mut child = g.cmd(&["apply", "--auto-approve"]).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    // Each line of apply's output with the moment it came.
    let stdout = child.stdout.take().unwrap();
    let lines = std::thread::spawn(move || {
        use std::io::BufRead;
        std::io::BufReader::new(stdout).lines().map_while(Result::ok).map(|l| (Instant::now(), l)).collect::<Vec<_>>()
    });
    let mut stderr = String::new();
    child.stderr.take().unwrap().read_to_string(&mut stderr).unwrap();
    let status = child.wait().unwrap();
    let lines = lines.join().unwrap();
    let elapsed = started.elapsed();
    std::thread::sleep(Duration::from_millis(200));
    stop.store(true, Ordering::Relaxed);
    let changes = watcher.join().unwrap();
    let (ok, failed) = traffic.into_iter().map(|t| t.join().unwrap()).fold((0, 0), |a, b| (a.0 + b.0, a.1 + b.1));
    let said: String = lines.iter().map(|(_, l)| format!("{l}\n")).collect();
    assert_eq!(status.code(), Some(1), "{said}{stderr}");
    assert!(stderr.contains("rollout.web: analysis failed: errors was"), "{stderr}");
    assert!(stderr.contains("above the max of 1.0%"), "{stderr}");
    assert!(stderr.contains("rolled back: all traffic is on blue again"), "{stderr}");
    assert!(!said.contains("step 2/4"), "it stopped at the first step: {said}");
    assert_eq!((bad.weight("blue"), bad.weight("green")), ("100".to_string(), "0".to_string()));
    // The failed check, as apply said it, and the moment HAProxy had green at 0 again.
    let (failed_at, _) = lines
        .iter()
        .find(|(_, l)| l.starts_with("rollout.web: errors = "))
        .unwrap_or_else(|| panic!("no failed check reported: {said}"));
    let went_up = changes.iter().position(|(_, w)| *w > 0).expect("the canary never got traffic");
    let (back_at, _) = changes[went_up..].iter().find(|(_, w)| *w == 0).expect("HAProxy never had green at 0 again");
    let took = back_at.saturating_duration_since(*failed_at);
    eprintln!("green's weight back to 0 {took:?} after the failed check; {failed} of {} requests failed", ok + failed);
    assert!(took <= Duration::from_secs(1), "green was back at 0 only {took:?} after the failed check");
    // 5% of the traffic of one analysis interval (1 s), at the rate the clients ran.
    let rate = (ok + failed) as f64 / elapsed.as_secs_f64();
    assert!(failed > 0, "the canary's 500s reached no client: the test exercised nothing");
    assert!((failed as f64) <= 0.05 * rate * 1.0, "{failed} errors at {rate:.0} requests/s");
    // The state says so: the next plan does not run it again for this release, and status tells why it stopped.
    let plan = g.run(&["plan"]);
    assert!(!text(&plan.stdout).contains("rollout to run"), "{}", text(&plan.stdout));
    assert!(text(&plan.stderr).contains("Rollout stopped"), "{}", text(&plan.stderr));
    let status = g.ok(&["rollout", "status", "web"]);
    assert!(status.contains("phase:    rolled_back"), "{status}");
    assert!(status.contains("reason:   analysis failed: errors was"), "{status}");
}

#[test]
fn a_rollout_killed_midway_resumes_from_the_step_it_recorded() {
    let h = Haproxy::start();
    let f = Fixture::new("haproxy-resume", &config(&h.api));
    f.ok(&["apply", "--auto-approve"]);
    f.write(&format!("{}{}", config(&h.api), ROLLOUT.replace("pause  = 1s", "pause  = 3s")));
    let stop = Arc::new(AtomicBool::new(false));
    let traffic = load(h.front, stop.clone());
    let mut child = f.cmd(&["apply", "--auto-approve"]).stdout(Stdio::piped()).stderr(Stdio::null()).spawn().unwrap();
    // Killed during the first step's pause: 25% is recorded in the state.
    let start = Instant::now();
    while h.weight("green") != "25" {
        assert!(start.elapsed() < Duration::from_secs(20), "the first step never came");
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(500));
    child.kill().unwrap();
    child.wait().unwrap();
    f.unlock();
    let plan = f.ok(&["plan"]);
    assert!(plan.contains("weights  = { blue = 75, green = 25 } -> { blue = 0, green = 100 }"), "{plan}");
    let status = f.ok(&["rollout", "status", "web"]);
    assert!(status.contains("green at 25%, blue at 75%"), "{status}");
    assert!(status.contains("next: step 2 of 3 (an apply resumes here)"), "{status}");
    let out = f.ok(&["apply", "--auto-approve"]);
    stop.store(true, Ordering::Relaxed);
    let (_, failed) = traffic.join().unwrap();
    assert!(out.contains("rollout.web: resuming at 25% on green"), "{out}");
    assert!(!out.contains("step 1/3: green"), "the step already taken is not taken again: {out}");
    assert!(out.contains("analysing the step it resumes at again before going on"), "{out}");
    assert!(out.contains("step 2/3") && out.contains("complete: all traffic on green"), "{out}");
    assert_eq!(failed, 0);
    assert_eq!((h.weight("blue"), h.weight("green")), ("0".to_string(), "100".to_string()));
    // Complete; a rollback within the window is one operation.
    let status = f.ok(&["rollout", "status", "web"]);
    assert!(status.contains("complete: all traffic on green"), "{status}");
    let out = f.ok(&["rollout", "rollback", "web"]);
    assert!(out.contains("all traffic is on blue again"), "{out}");
    assert_eq!((h.weight("blue"), h.weight("green")), ("100".to_string(), "0".to_string()));
    // Rolled back by hand: stopped for this release; a retry is a person's decision.
    let plan = f.run(&["plan"]);
    assert!(!text(&plan.stdout).contains("rollout to run"), "{}", text(&plan.stdout));
    assert!(text(&plan.stderr).contains("landform rollout retry web"), "{}", text(&plan.stderr));
}

#[test]
fn rollout_abort_puts_all_traffic_back_on_the_stable_server() {
    let h = Haproxy::start();
    let f = Fixture::new("haproxy-abort", &config(&h.api));
    f.ok(&["apply", "--auto-approve"]);
    f.write(&format!("{}{}", config(&h.api), ROLLOUT.replace("pause  = 1s", "pause  = 30s")));
    let stop = Arc::new(AtomicBool::new(false));
    let traffic = load(h.front, stop.clone());
    let mut child = f.cmd(&["apply", "--auto-approve"]).stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
    let start = Instant::now();
    while h.weight("green") != "25" {
        assert!(start.elapsed() < Duration::from_secs(20), "the first step never came");
        std::thread::sleep(Duration::from_millis(50));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    f.unlock();
    let out = f.ok(&["rollout", "abort", "web"]);
    stop.store(true, Ordering::Relaxed);
    let (_, failed) = traffic.join().unwrap();
    assert!(out.contains("rollout.web: aborted: all traffic is on blue again"), "{out}");
    assert_eq!((h.weight("blue"), h.weight("green")), ("100".to_string(), "0".to_string()));
    assert_eq!(failed, 0);
    // Recorded: the rollout would start again from the beginning.
    let status = f.ok(&["rollout", "status", "web"]);
    assert!(status.contains("green at 0%, blue at 100%") && status.contains("phase:    aborted"), "{status}");
    assert!(status.contains("stopped:  no apply runs it again for this release"), "{status}");
    assert!(f.ok(&["rollout", "abort", "web"]).contains("nothing to abort"));
    let unknown = f.run(&["rollout", "status", "nope"]);
    assert_eq!(unknown.status.code(), Some(1));
    assert!(text(&unknown.stderr).contains("its rollouts are: web"), "{}", text(&unknown.stderr));
}

#[test]
fn traffic_never_moves_to_a_canary_that_is_down() {
    let h = Haproxy::start();
    let f = Fixture::new("haproxy-unhealthy", &config(&h.api));
    f.ok(&["apply", "--auto-approve"]);
    h.runtime("set server app/green state maint");
    f.write(&format!("{}{ROLLOUT}", config(&h.api)));
    let out = f.run(&["apply", "--auto-approve"]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("rollout.web: green is not healthy: traffic is not moved to it"), "{err}");
    assert!(!text(&out.stdout).contains("step 1/3"), "{}", text(&out.stdout));
    assert_eq!((h.weight("blue"), h.weight("green")), ("100".to_string(), "0".to_string()));
}

fn rollout_with(metrics: &str) -> String {
    format!(
        "rollout \"web\" {{\n  switch = haproxy_backend.app\n  stable = \"blue\"\n  canary = \"green\"\n  steps  = [50%, 100%]\n  pause  = 1s\n  progress_deadline = 3s\n  analysis {{\n    interval      = 250ms\n    failure_limit = 0\n{metrics}  }}\n}}\n"
    )
}

#[test]
fn http_probes_and_prometheus_queries_judge_a_canary_and_no_data_never_passes() {
    let prom = Prometheus::start();
    let healthy = server("ok");
    let failing = server_failing("down", 100);
    // Both pass: the probes succeed, the query is under its max.
    let h = Haproxy::start();
    let f = Fixture::new("rollout-sources", &config(&h.api));
    f.ok(&["apply", "--auto-approve"]);
    let metrics = format!(
        "    metric \"health\" {{\n      source = \"http\"\n      url    = \"http://127.0.0.1:{healthy}/\"\n      min    = 99%\n    }}\n    metric \"latency\" {{\n      source = \"prometheus\"\n      url    = \"{}\"\n      query  = \"vector(0.2)\"\n      max    = 500ms\n    }}\n    metric \"p95\" {{\n      source = \"http\"\n      url    = \"http://127.0.0.1:{healthy}/\"\n      stat   = \"p95\"\n      max    = 500ms\n    }}\n",
        prom.url
    );
    f.write(&format!("{}{}", config(&h.api), rollout_with(&metrics)));
    let plan = f.ok(&["plan"]);
    assert!(plan.contains("health (http success of http://127.0.0.1:"), "{plan}");
    assert!(plan.contains("latency (prometheus vector(0.2))"), "{plan}");
    assert!(plan.contains("p95 (http p95 latency of http://127.0.0.1:"), "{plan}");
    let out = f.ok(&["apply", "--auto-approve"]);
    assert!(out.contains("rollout.web: complete: all traffic on green"), "{out}");

    // Probes that fail: rolled back.
    let h = Haproxy::start();
    let g = Fixture::new("rollout-http-fails", &config(&h.api));
    g.ok(&["apply", "--auto-approve"]);
    let metrics = format!(
        "    metric \"health\" {{\n      source = \"http\"\n      url    = \"http://127.0.0.1:{failing}/\"\n      min    = 99%\n    }}\n"
    );
    g.write(&format!("{}{}", config(&h.api), rollout_with(&metrics)));
    let out = g.run(&["apply", "--auto-approve"]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("analysis failed: health was 0.0% of probes succeeding, below the min of 99.0%"), "{err}");
    assert_eq!((h.weight("blue"), h.weight("green")), ("100".to_string(), "0".to_string()));

    // Probes answered, but slowly: the p95 latency is over its max.
    let h = Haproxy::start();
    let s = Fixture::new("rollout-http-slow", &config(&h.api));
    s.ok(&["apply", "--auto-approve"]);
    let slow = server_slow(300);
    let metrics = format!(
        "    metric \"p95\" {{\n      source = \"http\"\n      url    = \"http://127.0.0.1:{slow}/\"\n      stat   = \"p95\"\n      max    = 100ms\n    }}\n"
    );
    s.write(&format!("{}{}", config(&h.api), rollout_with(&metrics)));
    let out = s.run(&["apply", "--auto-approve"]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("analysis failed: p95 was 3"), "{err}");
    assert!(err.contains("(p95 of probe latency), above the max of 100ms"), "{err}");
    assert_eq!((h.weight("blue"), h.weight("green")), ("100".to_string(), "0".to_string()));

    // A query that finds nothing: inconclusive, never a pass.
    let h = Haproxy::start();
    let n = Fixture::new("rollout-no-data", &config(&h.api));
    n.ok(&["apply", "--auto-approve"]);
    let metrics = format!(
        "    metric \"errors\" {{\n      source = \"prometheus\"\n      url    = \"{}\"\n      query  = \"up{{job=\\\"nothing\\\"}}\"\n      max    = 1\n    }}\n",
        prom.url
    );
    n.write(&format!("{}{}", config(&h.api), rollout_with(&metrics)));
    let out = n.run(&["apply", "--auto-approve"]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("analysis inconclusive: metric errors: the query up{job=\"nothing\"} returned no data within the progress deadline of 3s, and a metric without data never passes"), "{err}");
    assert!(err.contains("rolled back: all traffic is on blue again"), "{err}");
    assert_eq!((h.weight("blue"), h.weight("green")), ("100".to_string(), "0".to_string()));
}

/// Done means 5: blue/green. Green is analysed through its own address while
/// it has no traffic, then takes all of it at once (HAProxy never reports a
/// weight in between); `rollout rollback` within the window is one operation
/// back, and refused once the window has closed. A green whose own address
/// fails its checks never gets traffic.
#[test]
fn blue_green_switches_at_once_after_the_idle_pool_passes_and_rolls_back_within_its_window() {
    let (blue, green) = (server("blue"), server("green"));
    let h = Haproxy::start_with(blue, green);
    let f = Fixture::new("haproxy-blue-green", &config(&h.api));
    f.ok(&["apply", "--auto-approve"]);
    let rollout = |probe: u16, window: &str| {
        format!(
            "rollout \"web\" {{\n  switch   = haproxy_backend.app\n  stable   = \"blue\"\n  canary   = \"green\"\n  strategy = \"blue_green\"\n  pause    = 1s\n  rollback_window = {window}\n  analysis {{\n    interval = 250ms\n    metric \"ready\" {{\n      source = \"http\"\n      url    = \"http://127.0.0.1:{probe}/healthz\"\n      min    = 99%\n    }}\n    metric \"errors\" {{\n      source = \"haproxy\"\n      max    = 1%\n    }}\n  }}\n}}\n"
        )
    };
    f.write(&format!("{}{}", config(&h.api), rollout(green, "3s")));
    let plan = f.ok(&["plan"]);
    assert!(plan.contains("strategy = \"blue_green\""), "{plan}");
    assert!(plan.contains("green is analysed through its own address first, then takes all traffic at once"), "{plan}");
    let (stop, weight) = (Arc::new(AtomicBool::new(false)), Arc::new(AtomicUsize::new(0)));
    let watcher = watch_weight(h.api.clone(), weight, stop.clone());
    let traffic = load(h.front, stop.clone());
    let out = f.ok(&["apply", "--auto-approve"]);
    std::thread::sleep(Duration::from_millis(100));
    stop.store(true, Ordering::Relaxed);
    let (_, failed) = traffic.join().unwrap();
    let seen: Vec<usize> = watcher.join().unwrap().into_iter().map(|(_, w)| w).collect();
    assert!(out.contains("rollout.web: analysing green through its own address before the switch"), "{out}");
    assert!(out.contains("step 1/1: green 100%, blue 0%"), "{out}");
    assert!(out.contains("complete: all traffic on green"), "{out}");
    assert_eq!(seen, vec![0, 100], "HAProxy's weights for green, in order: switched at once");
    assert_eq!(failed, 0);
    // Within the window: back in one operation, recorded.
    let status = f.ok(&["rollout", "status", "web"]);
    assert!(status.contains("`landform rollout rollback web` puts it back on blue for"), "{status}");
    let out = f.ok(&["rollout", "rollback", "web"]);
    assert!(out.contains("rollout.web: rolled back: all traffic is on blue again"), "{out}");
    assert_eq!((h.weight("blue"), h.weight("green")), ("100".to_string(), "0".to_string()));
    // Past the window: refused, the weights untouched.
    let stop = Arc::new(AtomicBool::new(false));
    let traffic = load(h.front, stop.clone());
    // Rolled back, it stays stopped until a person retries it.
    assert!(!f.ok(&["apply", "--auto-approve"]).contains("step 1/1"));
    assert_eq!(h.weight("green"), "0");
    f.ok(&["rollout", "retry", "web"]);
    stop.store(true, Ordering::Relaxed);
    traffic.join().unwrap();
    std::thread::sleep(Duration::from_secs(5));
    let late = f.run(&["rollout", "rollback", "web"]);
    assert_eq!(late.status.code(), Some(1));
    assert!(text(&late.stderr).contains("rollback window closed"), "{}", text(&late.stderr));
    assert_eq!(h.weight("green"), "100");

    // A green whose own address fails its checks: traffic never moves.
    let h = Haproxy::start_with(server("blue"), server("green"));
    let g = Fixture::new("haproxy-blue-green-bad", &config(&h.api));
    g.ok(&["apply", "--auto-approve"]);
    g.write(&format!("{}{}", config(&h.api), rollout(server_failing("down", 100), "1h")));
    let out = g.run(&["apply", "--auto-approve"]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("analysis failed: ready was 0.0% of probes succeeding"), "{err}");
    assert!(err.contains("traffic never moved: all of it is on blue"), "{err}");
    assert_eq!((h.weight("blue"), h.weight("green")), ("100".to_string(), "0".to_string()));
}

/// A webhook receiver on loopback: every POST body, in order.
fn receiver() -> (u16, Arc<std::sync::Mutex<Vec<serde_json::Value>>>) {
    let got: Arc<std::sync::Mutex<Vec<serde_json::Value>>> = Arc::default();
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let keep = got.clone();
    std::thread::spawn(move || {
        for s in l.incoming() {
            let Ok(mut s) = s else { continue };
            let mut seen = Vec::new();
            let mut buf = [0u8; 8192];
            while let Ok(n) = s.read(&mut buf) {
                if n == 0 {
                    break;
                }
                seen.extend_from_slice(&buf[..n]);
                let Some(end) = seen.windows(4).position(|w| w == b"\r\n\r\n") else { continue };
                let head = String::from_utf8_lossy(&seen[..end]).to_ascii_lowercase();
                let len: usize = head
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length:"))
                    .and_then(|v| v.trim().parse().ok())
                    .unwrap_or(0);
                if seen.len() >= end + 4 + len {
                    if let Ok(v) = serde_json::from_slice(&seen[end + 4..end + 4 + len]) {
                        keep.lock().unwrap().push(v);
                    }
                    let _ = s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
                    break;
                }
            }
        }
    });
    (port, got)
}

/// A gate: apply stops before the gated step and says how to go on;
/// `rollout promote` passes it and finishes the rollout. Every event reaches
/// the --notify webhook, whose URL (with its token) is never printed.
#[test]
fn a_gate_waits_for_a_person_and_every_rollout_event_reaches_the_webhook() {
    let h = Haproxy::start();
    let f = Fixture::new("haproxy-gate", &config(&h.api));
    f.ok(&["apply", "--auto-approve"]);
    f.write(&format!("{}{}", config(&h.api), ROLLOUT.replace("pause  = 1s", "pause  = 1s\n  gates  = [50%]")));
    let (port, got) = receiver();
    let url = format!("http://127.0.0.1:{port}/hook?token=hunter2-webhook-token");
    let stop = Arc::new(AtomicBool::new(false));
    let traffic = load(h.front, stop.clone());
    let out = f.run(&["apply", "--auto-approve", "--notify", &url]);
    let said = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "{said}");
    assert!(said.contains("step 1/3: green 25%, blue 75%"), "{said}");
    assert!(
        said.contains("rollout.web: paused before 50% on green: run `landform rollout promote web` to go on"),
        "{said}"
    );
    assert!(!said.contains("step 2/3"), "{said}");
    assert!(
        said.contains("Apply complete! Resources: 0 added, 0 changed, 0 destroyed. rollout.web paused before 50% (landform rollout promote web)."),
        "{said}"
    );
    assert_eq!(h.weight("green"), "25");
    let plan = f.ok(&["plan"]);
    assert!(plan.contains("# paused before 50%: waiting for `landform rollout promote web`"), "{plan}");
    let status = f.ok(&["rollout", "status", "web"]);
    assert!(
        status.contains("phase:    paused") && status.contains("waiting for `landform rollout promote web`"),
        "{status}"
    );
    // A second apply does not pass the gate either.
    assert!(f.ok(&["apply", "--auto-approve"]).contains("paused before 50%"));
    assert_eq!(h.weight("green"), "25");
    let out = f.run(&["rollout", "promote", "web", "--notify", &url]);
    let promoted = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "{promoted}");
    assert!(promoted.contains("rollout.web: promoted past the gate at 50%"), "{promoted}");
    assert!(
        promoted.contains("step 2/3: green 50%") && promoted.contains("complete: all traffic on green"),
        "{promoted}"
    );
    assert_eq!(h.weight("green"), "100");
    stop.store(true, Ordering::Relaxed);
    assert_eq!(traffic.join().unwrap().1, 0);
    let again = f.run(&["rollout", "promote", "web"]);
    assert_eq!(again.status.code(), Some(1));
    assert!(text(&again.stderr).contains("is not waiting at a gate"), "{}", text(&again.stderr));
    // The webhook heard each event, in order; the token was never printed.
    let events: Vec<String> =
        got.lock().unwrap().iter().map(|v| v["event"].as_str().unwrap_or_default().to_string()).collect();
    assert_eq!(
        events,
        [
            "rollout_started",
            "rollout_step",
            "rollout_paused",
            "rollout_resumed",
            "rollout_step",
            "rollout_step",
            "rollout_complete"
        ],
        "{:?}",
        got.lock().unwrap()
    );
    assert!(got.lock().unwrap()[2]["text"].as_str().unwrap().contains("landform rollout promote web"));
    assert!(!said.contains("hunter2") && !promoted.contains("hunter2"));
    // The drift checker's metrics endpoint exports the rollout's step, weights and phase.
    let port = free_port();
    let mut checker = f
        .cmd(&["drift", "--every", "1s", "--metrics-addr", &format!("127.0.0.1:{port}")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let start = Instant::now();
    let mut metrics = String::new();
    while start.elapsed() < Duration::from_secs(20) {
        metrics = TcpStream::connect(("127.0.0.1", port))
            .and_then(|mut s| {
                s.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")?;
                let mut out = String::new();
                s.read_to_string(&mut out).map(|_| out)
            })
            .unwrap_or_default();
        if metrics.contains("landform_rollout_step") {
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    let _ = checker.kill();
    let _ = checker.wait();
    assert!(metrics.contains(r#"landform_rollout_step{workspace="default",rollout="web"} 3"#), "{metrics}");
    assert!(
        metrics.contains(r#"landform_rollout_weight{workspace="default",rollout="web",target="green"} 100"#),
        "{metrics}"
    );
    assert!(
        metrics.contains(r#"landform_rollout_phase{workspace="default",rollout="web",phase="complete"} 1"#),
        "{metrics}"
    );
}

/// The finer rules of analysis, end to end: a breach fails only once it has
/// lasted its `for` window (and a step does not pass while one is pending);
/// `compare = "stable"` fails a canary significantly worse than the stable
/// server though under its max; measurement errors fail the step only past
/// `consecutive_error_limit` in a row.
#[test]
fn for_windows_canary_versus_stable_and_consecutive_errors() {
    let analysis = |metrics: &str, extra: &str| {
        format!(
            "rollout \"web\" {{\n  switch = haproxy_backend.app\n  stable = \"blue\"\n  canary = \"green\"\n  steps  = [50%, 100%]\n  pause  = 1s\n  progress_deadline = 20s\n  analysis {{\n    interval = 250ms\n{extra}{metrics}  }}\n}}\n"
        )
    };
    let run_with = |h: &Haproxy, name: &str, rollout: String| {
        let f = Fixture::new(name, &config(&h.api));
        f.ok(&["apply", "--auto-approve"]);
        f.write(&format!("{}{rollout}", config(&h.api)));
        let stop = Arc::new(AtomicBool::new(false));
        let traffic = load(h.front, stop.clone());
        let started = Instant::now();
        let out = f.run(&["apply", "--auto-approve"]);
        stop.store(true, Ordering::Relaxed);
        traffic.join().unwrap();
        (out, started.elapsed())
    };
    // `for = 2s`: the failing canary is judged only after its breach lasted 2 s, past the 1 s pause.
    let h = Haproxy::start_with(server("blue"), server_failing("green", 30));
    let (out, took) = run_with(
        &h,
        "rollout-for",
        analysis(
            "    metric \"errors\" {\n      source = \"haproxy\"\n      max    = 1%\n      for    = 2s\n    }\n",
            "",
        ),
    );
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("analysis failed: errors was") && err.contains("for 2s, above the max of 1.0%"), "{err}");
    assert!(took >= Duration::from_secs(2), "judged after {took:?}, before its for window");
    assert_eq!(h.weight("green"), "0");

    // Under its max (50%), but clearly worse than blue: rolled back by the comparison.
    let h = Haproxy::start_with(server("blue"), server_failing("green", 10));
    let (out, _) = run_with(
        &h,
        "rollout-compare",
        analysis(
            "    metric \"errors\" {\n      source  = \"haproxy\"\n      max     = 50%\n      compare = \"stable\"\n    }\n",
            "",
        )
        .replace("pause  = 1s", "pause  = 3s"),
    );
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("analysis failed: errors of green is significantly worse than blue's"), "{err}");
    assert!(err.contains("Mann-Whitney p = "), "{err}");
    assert_eq!(h.weight("green"), "0");
    // The same comparison passes a canary as good as blue.
    let h = Haproxy::start();
    let (out, _) = run_with(
        &h,
        "rollout-compare-ok",
        analysis(
            "    metric \"errors\" {\n      source  = \"haproxy\"\n      max     = 50%\n      compare = \"stable\"\n    }\n",
            "",
        ),
    );
    assert_eq!(out.status.code(), Some(0), "{}{}", text(&out.stdout), text(&out.stderr));

    // HAProxy's own response time for the canary (stat = "response_time"): a slow green is rolled back.
    let h = Haproxy::start_with(server("blue"), server_slow(300));
    let (out, _) = run_with(
        &h,
        "rollout-rtime",
        analysis(
            "    metric \"latency\" {\n      source = \"haproxy\"\n      stat   = \"response_time\"\n      max    = 100ms\n    }\n",
            "",
        ),
    );
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("analysis failed: latency was 3"), "{err}");
    assert!(err.contains("on green (average response time), above the max of 100ms"), "{err}");
    assert_eq!(h.weight("green"), "0");

    // A Prometheus that does not answer: errors, tolerated twice in a row, failing the third time.
    let h = Haproxy::start();
    let (out, _) = run_with(
        &h,
        "rollout-errors",
        analysis(
            "    metric \"p95\" {\n      source = \"prometheus\"\n      url    = \"http://127.0.0.1:9\"\n      query  = \"vector(1)\"\n      max    = 2\n    }\n",
            "    consecutive_error_limit = 2\n",
        ),
    );
    let said = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(1), "{said}");
    assert!(said.contains("(1 in a row, consecutive_error_limit 2)"), "{said}");
    assert!(said.contains("analysis error: metric p95: Prometheus at http://127.0.0.1:9 did not answer"), "{said}");
    assert!(said.contains("(3 measurements in a row failed, consecutive_error_limit 2)"), "{said}");
    assert_eq!(h.weight("green"), "0");
}

/// `rollout abort` while an apply is running the rollout (and holds the
/// state's lock): the apply rolls back at its next check and stops, and the
/// abort returns once it has, within seconds, not at the end of the pause.
#[test]
fn rollout_abort_stops_a_running_apply_at_its_next_check() {
    let h = Haproxy::start();
    let f = Fixture::new("haproxy-abort-running", &config(&h.api));
    f.ok(&["apply", "--auto-approve"]);
    f.write(&format!("{}{}", config(&h.api), ROLLOUT.replace("pause  = 1s", "pause  = 60s")));
    let stop = Arc::new(AtomicBool::new(false));
    let traffic = load(h.front, stop.clone());
    let apply = f.cmd(&["apply", "--auto-approve"]).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let start = Instant::now();
    while h.weight("green") != "25" {
        assert!(start.elapsed() < Duration::from_secs(20), "the first step never came");
        std::thread::sleep(Duration::from_millis(50));
    }
    let asked = Instant::now();
    let out = f.ok(&["rollout", "abort", "web"]);
    let took = asked.elapsed();
    assert!(out.contains("rollout.web: aborted: the apply that was running it put all traffic back on blue"), "{out}");
    assert!(took < Duration::from_secs(10), "the abort took {took:?}");
    let applied = apply.wait_with_output().unwrap();
    stop.store(true, Ordering::Relaxed);
    let (_, failed) = traffic.join().unwrap();
    let err = text(&applied.stderr);
    assert_eq!(applied.status.code(), Some(1), "{err}");
    assert!(
        err.contains("rollout.web: aborted by `landform rollout abort`; rolled back: all traffic is on blue again"),
        "{err}"
    );
    assert_eq!((h.weight("blue"), h.weight("green")), ("100".to_string(), "0".to_string()));
    assert_eq!(failed, 0);
    let status = f.ok(&["rollout", "status", "web"]);
    assert!(status.contains("phase:    aborted"), "{status}");
    // The request was consumed: the next apply runs the rollout again.
    assert!(f.path(".landform/state/workspaces/default").is_dir());
    assert!(!f.path(".landform/state/workspaces/default/rollout-abort-web").exists());
}

/// The same with the state in PostgreSQL and the abort run from another
/// directory (another machine: no file is shared): the request travels
/// through the database to the apply holding the lock.
#[test]
fn rollout_abort_reaches_an_apply_on_another_machine_through_postgresql() {
    let pg = common::postgres::Postgres::start();
    let h = Haproxy::start();
    let (a, b) = (Fixture::new("haproxy-abort-pg-a", &config(&h.api)), Fixture::new("haproxy-abort-pg-b", ""));
    let on = |f: &Fixture, args: &[&str]| {
        let mut c = f.cmd(args);
        c.env("LANDFORM_BACKEND_URL", &pg.url).stdin(Stdio::null());
        c
    };
    let ok = |f: &Fixture, args: &[&str]| {
        let out = on(f, args).output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{args:?}: {}{}", text(&out.stdout), text(&out.stderr));
        text(&out.stdout)
    };
    ok(&a, &["apply", "--auto-approve"]);
    let slow = format!("{}{}", config(&h.api), ROLLOUT.replace("pause  = 1s", "pause  = 60s"));
    a.write(&slow);
    b.write(&slow);
    let apply = on(&a, &["apply", "--auto-approve"]).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let start = Instant::now();
    while h.weight("green") != "25" {
        assert!(start.elapsed() < Duration::from_secs(20), "the first step never came");
        std::thread::sleep(Duration::from_millis(50));
    }
    let asked = Instant::now();
    let out = ok(&b, &["rollout", "abort", "web"]);
    let took = asked.elapsed();
    assert!(out.contains("rollout.web: aborted: the apply that was running it put all traffic back on blue"), "{out}");
    assert!(took < Duration::from_secs(10), "the abort took {took:?}");
    let applied = apply.wait_with_output().unwrap();
    assert_eq!(applied.status.code(), Some(1), "{}", text(&applied.stderr));
    assert!(text(&applied.stderr).contains("aborted by `landform rollout abort`"), "{}", text(&applied.stderr));
    assert_eq!((h.weight("blue"), h.weight("green")), ("100".to_string(), "0".to_string()));
    assert!(ok(&b, &["rollout", "status", "web"]).contains("phase:    aborted"));
    assert_eq!(pg.sql("SELECT count(*) FROM landform.requests"), "0");
    assert!(!a.path(".landform/state/workspaces").exists() && !b.path(".landform/state/workspaces").exists());
}

/// A secret in a metric's URL (a probe token from a sensitive variable)
/// reaches no output: the plan, its JSON, a saved plan shown as text, JSON or
/// markdown by another process, apply's errors, status, and the state.
#[test]
fn a_secret_in_a_metric_url_reaches_no_output() {
    let h = Haproxy::start();
    let f = Fixture::new("haproxy-secret", &config(&h.api));
    f.ok(&["apply", "--auto-approve"]);
    let secret = "s3cr3t-probe-token-4711";
    f.write(&format!(
        "{}variable \"token\" {{\n  sensitive = true\n}}\n{}",
        config(&h.api),
        rollout_with(
            "    metric \"health\" {\n      source = \"http\"\n      url    = \"http://127.0.0.1:9/health?token=${var.token}\"\n      min    = 99%\n    }\n    metric \"q\" {\n      source = \"prometheus\"\n      url    = \"http://127.0.0.1:9/\"\n      query  = \"up{token=\\\"${var.token}\\\"}\"\n      max    = 1\n    }\n"
        )
    ));
    let with = |args: &[&str]| {
        let mut c = f.cmd(args);
        c.env("LANDFORM_VAR_token", secret);
        c.output().unwrap()
    };
    let mut seen = String::new();
    for args in [&["plan"][..], &["plan", "--json"], &["plan", "--out", "saved.plan"]] {
        let out = with(args);
        seen.push_str(&text(&out.stdout));
        seen.push_str(&text(&out.stderr));
    }
    assert!(seen.contains("health (http success of (sensitive value))"), "{seen}");
    // Another process, which never evaluated the variable, shows the saved plan.
    for args in [
        &["show", "saved.plan"][..],
        &["show", "--json", "saved.plan"],
        &["show", "--format", "markdown", "saved.plan"],
    ] {
        let out = f.run(args);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        seen.push_str(&text(&out.stdout));
    }
    let out = f.run(&["apply", "--auto-approve", "saved.plan"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    seen.push_str(&text(&out.stdout));
    seen.push_str(&text(&out.stderr));
    seen.push_str(&text(&with(&["rollout", "status", "web"]).stdout));
    assert!(!seen.contains(secret), "the secret was printed:\n{seen}");
    let state = f.ok(&["state", "pull"]);
    assert!(!state.contains(secret));
}

/// The runtime API over a unix socket; and a switch a rollout owns: weights
/// changed by hand afterwards are drift against the rollout's last committed
/// weights (not the configuration's), and the plan does not "correct" them
/// back to the configuration: it offers the rollout from where they are.
#[test]
fn a_unix_socket_runtime_api_and_drift_against_the_rollouts_weights() {
    let h = Haproxy::start();
    let api = format!("unix:{}", h._dir.join("admin.sock").display());
    let f = Fixture::new("haproxy-unix", &config(&api));
    f.ok(&["apply", "--auto-approve"]);
    f.write(&format!("{}{}", config(&api), ROLLOUT));
    let stop = Arc::new(AtomicBool::new(false));
    let traffic = load(h.front, stop.clone());
    let out = f.ok(&["apply", "--auto-approve"]);
    stop.store(true, Ordering::Relaxed);
    assert_eq!(traffic.join().unwrap().1, 0);
    assert!(out.contains("rollout.web: complete: all traffic on green"), "{out}");
    assert_eq!((h.weight("blue"), h.weight("green")), ("0".to_string(), "100".to_string()));
    // Clean: drift compares with what the rollout committed.
    assert_eq!(f.run(&["drift"]).status.code(), Some(0));
    h.runtime("set weight app/blue 50");
    h.runtime("set weight app/green 50");
    let drift = f.run(&["drift"]);
    let said = text(&drift.stdout);
    assert_eq!(drift.status.code(), Some(2), "{said}");
    assert!(said.contains("haproxy_backend.app") && said.contains("weights"), "{said}");
    let plan = f.ok(&["plan"]);
    assert!(!plan.contains("will be updated in-place"), "{plan}");
    assert!(plan.contains("weights  = { blue = 50, green = 50 } -> { blue = 0, green = 100 }"), "{plan}");
}
