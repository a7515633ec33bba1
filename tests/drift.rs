//! Drift end to end on the real binary: `landform drift` and its exit codes,
//! drift in plans, `--refresh-only`, what is silenced, the JSON schema, and
//! the scheduled checker scraped by a real Prometheus server, with a webhook
//! receiver and SIGTERM.

mod common;

use common::{text, Fixture};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const CONFIG: &str = r#"
variable "token" {
  type      = string
  sensitive = true
  default   = "s3cr3t-DRIFT-token"
}

resource "local_file" "page" {
  for_each = toset(["a", "b"])
  path     = "${path.module}/out/${each.key}.txt"
  content  = "page ${each.key}"
}

resource "local_file" "notes" {
  path    = "${path.module}/out/notes.txt"
  content = "kept by ops"
  lifecycle {
    ignore_changes = [content]
  }
}

resource "local_file" "secret" {
  path    = "${path.module}/out/secret.txt"
  content = var.token
}
"#;

fn serial(f: &Fixture) -> u64 {
    let pulled: serde_json::Value = serde_json::from_str(&f.ok(&["state", "pull"])).unwrap();
    pulled["serial"].as_u64().unwrap()
}

/// The lock file of an apply just started, once it holds the state.
fn wait_for_lock(f: &Fixture) -> std::path::PathBuf {
    let lock = f.path(".landform/state/default.lock");
    let start = Instant::now();
    while !lock.exists() && start.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(20));
    }
    lock
}

fn all_output(out: &std::process::Output) -> String {
    format!("{}{}", text(&out.stdout), text(&out.stderr))
}

#[test]
fn drift_reports_edits_and_deletes_and_refresh_only_accepts_them() {
    let f = Fixture::new("drift-cycle", CONFIG);
    f.ok(&["apply", "--auto-approve"]);
    let clean = f.run(&["drift"]);
    assert_eq!(clean.status.code(), Some(0), "{}", all_output(&clean));
    assert!(text(&clean.stdout).contains("No drift: the 4 resources"), "{}", text(&clean.stdout));

    // Edited by hand: exit 2, the attribute with before and after.
    std::fs::write(f.path("out/a.txt"), "edited by hand").unwrap();
    std::fs::write(f.path("out/notes.txt"), "ops wrote this").unwrap();
    std::fs::write(f.path("out/secret.txt"), "rotated by hand").unwrap();
    let out = f.run(&["drift"]);
    let report = text(&out.stdout);
    assert_eq!(out.status.code(), Some(2), "{}", all_output(&out));
    assert!(report.contains("# local_file.page[\"a\"] has changed"), "{report}");
    assert!(report.contains("~ content = \"page a\" -> \"edited by hand\""), "{report}");
    // An attribute under ignore_changes is never reported; a computed one the user never set neither.
    assert!(!report.contains("local_file.notes"), "{report}");
    assert!(!report.contains("content_sha256"), "{report}");
    // A sensitive attribute is reported without its values.
    assert!(report.contains("# local_file.secret has changed"), "{report}");
    assert!(report.contains("~ content = (sensitive value)"), "{report}");
    for format in
        [&["drift"][..], &["drift", "--json"], &["drift", "--format", "markdown"], &["plan"], &["plan", "--json"]]
    {
        let o = f.run(format);
        assert!(!all_output(&o).contains("s3cr3t-DRIFT-token"), "{format:?} leaks the secret");
    }

    // A plan shows drift only where what it changes depends on it, as
    // Terraform does: nothing refers to these files, so the plan just puts
    // them back; a refresh-only plan shows all of it in its own section.
    let plan = f.ok(&["plan"]);
    assert!(!plan.contains("Objects changed outside Landform"), "{plan}");
    assert!(plan.contains("\"edited by hand\" -> \"page a\""), "{plan}");
    let refresh = f.ok(&["plan", "--refresh-only"]);
    let section = refresh.find("Objects changed outside Landform").expect(&refresh);
    assert!(refresh[section..].contains("~ content = \"page a\" -> \"edited by hand\""), "{refresh}");
    assert!(!refresh[section..].contains("local_file.notes"), "{refresh}");
    // With a resource that reads the edited file's content, the plan says
    // the drift may have affected it, before the actions.
    f.write(&format!(
        "{CONFIG}\nresource \"local_file\" \"copy\" {{\n  path    = \"${{path.module}}/out/copy.txt\"\n  content = local_file.page[\"a\"].content\n}}\n"
    ));
    let plan = f.ok(&["plan"]);
    let section = plan.find("Objects changed outside Landform").expect(&plan);
    let actions = plan.find("Landform will perform the following actions").expect(&plan);
    assert!(section < actions, "{plan}");
    assert!(plan[section..actions].contains("~ content = \"page a\" -> \"edited by hand\""), "{plan}");
    assert!(!plan[section..actions].contains("local_file.notes"), "{plan}");
    assert!(!plan[section..actions].contains("local_file.secret"), "nothing depends on the secret's file: {plan}");
    let json: serde_json::Value = serde_json::from_str(&f.ok(&["plan", "--json"])).unwrap();
    assert!(
        json["relevant_attributes"]
            .as_array()
            .unwrap()
            .contains(&serde_json::json!({"resource": "local_file.page", "attribute": ["content"]})),
        "{}",
        json["relevant_attributes"]
    );
    f.write(CONFIG);
    let json: serde_json::Value = serde_json::from_str(&f.ok(&["plan", "--json"])).unwrap();
    let drift = json["resource_drift"].as_array().unwrap();
    let a = drift.iter().find(|d| d["address"] == "local_file.page[\"a\"]").expect("a in resource_drift");
    assert_eq!(a["change"]["actions"], serde_json::json!(["update"]));
    assert_eq!(a["change"]["after"]["content"], "edited by hand");

    // Deleted by hand: reported as deleted.
    std::fs::remove_file(f.path("out/b.txt")).unwrap();
    let out = f.run(&["drift"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stdout).contains("# local_file.page[\"b\"] has been deleted"), "{}", text(&out.stdout));
    assert!(text(&out.stdout).contains("(2 drifted, 1 deleted) of 4 checked"), "{}", text(&out.stdout));

    // drift changes nothing in the state.
    let before = serial(&f);
    f.run(&["drift"]);
    assert_eq!(serial(&f), before);

    // --refresh-only: the plan shows only drift; applying it accepts the world.
    let plan = f.run(&["plan", "--refresh-only", "--detailed-exitcode"]);
    assert_eq!(plan.status.code(), Some(2), "{}", all_output(&plan));
    assert!(text(&plan.stdout).contains("This is a refresh-only plan"), "{}", text(&plan.stdout));
    assert!(!text(&plan.stdout).contains("will be created"), "{}", text(&plan.stdout));
    f.ok(&["apply", "--refresh-only", "--auto-approve"]);
    assert_eq!(std::fs::read_to_string(f.path("out/a.txt")).unwrap(), "edited by hand", "nothing is changed");
    assert!(!f.path("out/b.txt").exists(), "nothing is created");
    assert_eq!(serial(&f), before + 1);
    let out = f.run(&["drift"]);
    assert_eq!(out.status.code(), Some(0), "{}", all_output(&out));
    // Nothing left to accept: the serial does not move.
    let again = f.run(&["plan", "--refresh-only", "--detailed-exitcode"]);
    assert_eq!(again.status.code(), Some(0), "{}", all_output(&again));
    assert!(text(&again.stdout).contains("No changes."), "{}", text(&again.stdout));
    f.ok(&["apply", "--refresh-only", "--auto-approve"]);
    assert_eq!(serial(&f), before + 1);

    // A plain apply puts the world back as configured.
    f.ok(&["apply", "--auto-approve"]);
    assert_eq!(std::fs::read_to_string(f.path("out/a.txt")).unwrap(), "page a");
    assert_eq!(std::fs::read_to_string(f.path("out/b.txt")).unwrap(), "page b");
    assert_eq!(f.run(&["drift"]).status.code(), Some(0));
}

#[test]
fn ignore_flags_and_the_ignore_file_silence_expected_drift() {
    let f = Fixture::new("drift-ignore", CONFIG);
    f.ok(&["apply", "--auto-approve"]);
    std::fs::write(f.path("out/a.txt"), "edited").unwrap();
    std::fs::remove_file(f.path("out/b.txt")).unwrap();
    let out = f.run(&["drift", "--ignore", "local_file.page[\"a\"].content", "--ignore", "local_file.page[\"b\"]"]);
    assert_eq!(out.status.code(), Some(0), "{}", all_output(&out));
    // The same from .landformignore, for a team; the plan's drift section honours it too.
    std::fs::write(f.path(".landformignore"), "# expected\nlocal_file.page  # edited by the deploy bot\n").unwrap();
    assert_eq!(f.run(&["drift"]).status.code(), Some(0));
    assert!(!f.ok(&["plan"]).contains("Objects changed outside Landform"));
    // A bad rule is an error naming its line, not silently nothing.
    std::fs::write(f.path(".landformignore"), "local_file.page\nnot an address\n").unwrap();
    let out = f.run(&["drift"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains(".landformignore:2: "), "{}", text(&out.stderr));
    std::fs::remove_file(f.path(".landformignore")).unwrap();
    let out = f.run(&["drift", "--ignore", "nonsense"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("invalid --ignore"), "{}", text(&out.stderr));
}

#[test]
fn drift_json_validates_against_the_documented_schema() {
    let schema: serde_json::Value =
        serde_json::from_str(include_str!("../docs/drift.schema.json")).expect("the schema is JSON");
    let validator = jsonschema::validator_for(&schema).expect("the schema is a valid JSON Schema");
    let f = Fixture::new("drift-json", CONFIG);
    f.ok(&["apply", "--auto-approve"]);
    let check = |expect_code: i32| {
        let out = f.run(&["drift", "--json"]);
        assert_eq!(out.status.code(), Some(expect_code), "{}", all_output(&out));
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("stdout is only JSON");
        let errors: Vec<String> = validator.iter_errors(&v).map(|e| format!("{e} at {}", e.instance_path())).collect();
        assert!(errors.is_empty(), "{errors:?}\n{v:#}");
        v
    };
    let v = check(0);
    assert_eq!(v["summary"]["checked"], 4);
    std::fs::write(f.path("out/a.txt"), "edited").unwrap();
    std::fs::write(f.path("out/secret.txt"), "edited").unwrap();
    std::fs::remove_file(f.path("out/b.txt")).unwrap();
    let v = check(2);
    assert_eq!(v["summary"], serde_json::json!({"checked": 4, "drifted": 2, "deleted": 1, "errors": 0}));
    let secret = v["resources"].as_array().unwrap().iter().find(|r| r["address"] == "local_file.secret").unwrap();
    assert_eq!(
        secret["changes"],
        serde_json::json!([{"path": "content", "before": null, "after": null, "sensitive": true}])
    );
    // The schema rejects what it should: it is not a schema that accepts anything.
    let mut broken = v.clone();
    broken["resources"][0]["status"] = "changed".into();
    assert!(!validator.is_valid(&broken));
}

#[test]
fn drift_waits_for_an_apply_holding_the_state() {
    let f = Fixture::new("drift-lock", "resource \"local_exec\" \"slow\" {\n  create = \"sleep 2\"\n}\n");
    let mut apply = f.cmd(&["apply", "--auto-approve"]).stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
    wait_for_lock(&f);
    let busy = f.run(&["drift"]);
    assert_eq!(busy.status.code(), Some(1));
    assert!(text(&busy.stderr).contains("locked by another operation"), "{}", text(&busy.stderr));
    let waited = f.run(&["drift", "--lock-timeout", "20s"]);
    assert_eq!(waited.status.code(), Some(0), "{}", all_output(&waited));
    assert!(apply.wait().unwrap().success());
}

/// A damaged state is named as damaged by drift, as by every other command,
/// not blamed on the lock drift itself holds while it reads; and a
/// configuration error is told at once even with a --lock-timeout to spend
/// behind an apply.
#[test]
fn drift_names_a_damaged_state_and_a_bad_configuration_at_once() {
    let f = Fixture::new("drift-damaged", "resource \"landform_data\" \"a\" {\n  input = 1\n}\n");
    f.ok(&["apply", "--auto-approve"]);
    let manifest = f.path(".landform/state/workspaces/default/manifest.json");
    let mut m: serde_json::Value = serde_json::from_slice(&std::fs::read(&manifest).unwrap()).unwrap();
    m["serial"] = serde_json::json!(m["serial"].as_u64().unwrap() + 3);
    std::fs::write(&manifest, m.to_string()).unwrap();
    for args in [&["drift"][..], &["drift", "--json"], &["drift", "--lock-timeout", "2s"]] {
        let out = f.run(args);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        let err = text(&out.stderr);
        assert!(err.contains("is damaged") && err.contains("state recover"), "{args:?}: {err}");
        assert!(!err.contains("another operation"), "{args:?}: {err}");
    }

    let f = Fixture::new("drift-bad-config", "resource \"local_exec\" \"slow\" {\n  create = \"sleep 3\"\n}\n");
    let mut apply = f.cmd(&["apply", "--auto-approve"]).stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
    let lock = wait_for_lock(&f);
    std::fs::write(f.path("broken.lf"), "resource \"landform_data\" \"b\" {\n").unwrap();
    let start = Instant::now();
    let out = f.run(&["drift", "--lock-timeout", "20s"]);
    let took = start.elapsed();
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("broken.lf"), "{}", text(&out.stderr));
    assert!(lock.exists() && took < Duration::from_secs(2), "the error waited {took:?} for the lock");
    assert!(apply.wait().unwrap().success());
}

// ---- the scheduled checker ----

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A webhook receiver: records each POST body, answers 200.
fn webhook_receiver() -> (u16, Arc<Mutex<Vec<serde_json::Value>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let got = Arc::new(Mutex::new(Vec::new()));
    let sink = got.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut reader = BufReader::new(stream);
            let mut len = 0;
            let mut line = String::new();
            while reader.read_line(&mut line).is_ok_and(|n| n > 0) && line != "\r\n" {
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    len = v.trim().parse().unwrap_or(0);
                }
                line.clear();
            }
            let mut body = vec![0; len];
            if reader.read_exact(&mut body).is_ok() {
                if let Ok(v) = serde_json::from_slice(&body) {
                    sink.lock().unwrap().push(v);
                }
            }
            let _ = reader.get_mut().write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok");
        }
    });
    (port, got)
}

/// The metrics page once `done` holds of it (or the last one after 20 s).
fn wait_metrics(port: u16, done: impl Fn(&str) -> bool) -> String {
    let start = Instant::now();
    let mut body = String::new();
    while start.elapsed() < Duration::from_secs(20) {
        body = http_get(port, "/metrics").unwrap_or_default();
        if done(&body) {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    body
}

fn http_get(port: u16, path: &str) -> Option<String> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(s, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    out.split_once("\r\n\r\n").map(|(_, body)| body.to_string())
}

fn url_encode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"_-.".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// Prometheus from the Debian package, scraping `target` every second.
struct Prometheus {
    child: Child,
    port: u16,
    dir: std::path::PathBuf,
}

impl Prometheus {
    fn start(target: u16) -> Prometheus {
        let bin = ["/usr/bin/prometheus", "/usr/local/bin/prometheus"]
            .into_iter()
            .find(|p| std::path::Path::new(p).exists())
            .expect("the prometheus server is not installed: run scripts/test, which installs the Debian package `prometheus`, or apt-get install prometheus");
        let dir = std::env::temp_dir().join(format!("landform-prometheus-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("prometheus.yml"),
            format!("global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: landform-drift\n    static_configs:\n      - targets: ['127.0.0.1:{target}']\n"),
        )
        .unwrap();
        let port = free_port();
        let child = Command::new(bin)
            .arg(format!("--config.file={}", dir.join("prometheus.yml").display()))
            .arg(format!("--storage.tsdb.path={}", dir.join("data").display()))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("prometheus starts");
        Prometheus { child, port, dir }
    }

    /// The value of an instant query with one series, once there is one.
    fn query(&self, q: &str) -> Option<f64> {
        let body = http_get(self.port, &format!("/api/v1/query?query={}", url_encode(q)))?;
        let v: serde_json::Value = serde_json::from_str(&body).ok()?;
        v["data"]["result"][0]["value"][1].as_str()?.parse().ok()
    }

    fn wait_for(&self, q: &str, want: f64, within: Duration) -> Result<(), String> {
        let start = Instant::now();
        let mut last = None;
        while start.elapsed() < within {
            last = self.query(q);
            if last == Some(want) {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(250));
        }
        Err(format!("{q} is {last:?}, not {want}, after {within:?}"))
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[test]
fn the_scheduled_checker_is_scraped_by_prometheus_notifies_on_changes_and_stops_on_sigterm() {
    let f = Fixture::new("drift-every", CONFIG);
    f.ok(&["apply", "--auto-approve"]);
    std::fs::write(f.path("out/a.txt"), "edited by hand").unwrap();
    std::fs::write(f.path("out/secret.txt"), "rotated by hand").unwrap();
    let (hook, messages) = webhook_receiver();
    let metrics = free_port();
    let token = "hook-token-5f2b9c";
    let mut checker = f
        .cmd(&[
            "drift",
            "--every",
            "1s",
            "--metrics-addr",
            &format!("127.0.0.1:{metrics}"),
            "--notify",
            &format!("http://127.0.0.1:{hook}/services/{token}"),
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let prometheus = Prometheus::start(metrics);
    let drifted = r#"landform_drift_resources{job="landform-drift",workspace="default",status="drifted"}"#;
    let result = (|| {
        prometheus.wait_for(drifted, 2.0, Duration::from_secs(60))?;
        prometheus.wait_for(r#"landform_drift_up{workspace="default"}"#, 1.0, Duration::from_secs(20))?;
        // Resolve it: accept the edit into the state (the checker never blocks the apply for long).
        let out = f.run(&["apply", "--refresh-only", "--auto-approve", "--lock-timeout", "20s"]);
        if out.status.code() != Some(0) {
            return Err(format!("apply --refresh-only failed: {}", all_output(&out)));
        }
        prometheus.wait_for(drifted, 0.0, Duration::from_secs(30))?;
        // A few more checks with no change: no more messages.
        let checks = r#"landform_drift_checks_total{workspace="default"}"#;
        let now = prometheus.query(checks).unwrap_or(0.0);
        prometheus.wait_for(checks, now + 3.0, Duration::from_secs(30)).or_else(|_| {
            prometheus
                .query(checks)
                .filter(|n| *n >= now + 3.0)
                .map(|_| ())
                .ok_or("the checker stopped checking".to_string())
        })
    })();
    let stopped_at = Instant::now();
    rustix::process::kill_process(rustix::process::Pid::from_child(&checker), rustix::process::Signal::TERM).unwrap();
    let status = loop {
        if let Some(s) = checker.try_wait().unwrap() {
            break Some(s);
        }
        if stopped_at.elapsed() > Duration::from_secs(5) {
            let _ = checker.kill();
            break None;
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let took = stopped_at.elapsed();
    let mut out = String::new();
    let mut err = String::new();
    checker.stdout.take().unwrap().read_to_string(&mut out).unwrap();
    checker.stderr.take().unwrap().read_to_string(&mut err).unwrap();
    result.unwrap_or_else(|e| panic!("{e}\nchecker stdout:\n{out}\nchecker stderr:\n{err}"));
    assert_eq!(status.and_then(|s| s.code()), Some(0), "a clean stop\n{err}");
    assert!(took < Duration::from_secs(1), "SIGTERM stopped the checker in {took:?}");
    let got = messages.lock().unwrap().clone();
    let events: Vec<&str> = got.iter().map(|m| m["event"].as_str().unwrap_or("")).collect();
    assert_eq!(events, ["drift_detected", "drift_resolved"], "{got:#?}");
    assert!(got[0]["text"].as_str().unwrap().contains("local_file.page[\"a\"]: content"), "{:#}", got[0]);
    assert_eq!(got[0]["report"]["summary"]["drifted"], 2);
    for m in &got {
        assert!(!m.to_string().contains("s3cr3t-DRIFT-token"), "a webhook message carries the secret: {m}");
    }
    assert!(!out.contains("s3cr3t-DRIFT-token") && !err.contains("s3cr3t-DRIFT-token"));
    assert!(!out.contains(token) && !err.contains(token), "the webhook URL's token is never printed");
    assert!(err.contains("webhook: sent drift_detected"), "{err}");
}

#[test]
fn the_checker_skips_a_round_while_an_apply_holds_the_state_and_survives_failures() {
    let f = Fixture::new("drift-skip", "resource \"local_exec\" \"slow\" {\n  create = \"sleep 3\"\n}\n");
    let mut apply = f.cmd(&["apply", "--auto-approve"]).stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
    wait_for_lock(&f);
    let metrics = free_port();
    let mut checker = f
        .cmd(&["drift", "--every", "1s", "--metrics-addr", &format!("127.0.0.1:{metrics}")])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    assert!(apply.wait().unwrap().success(), "the checker never blocks the apply");
    // A round after the apply succeeds.
    let start = Instant::now();
    let mut body = String::new();
    while start.elapsed() < Duration::from_secs(20) {
        body = http_get(metrics, "/metrics").unwrap_or_default();
        if body.contains("landform_drift_up{workspace=\"default\"} 1") {
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    // A check that fails (the state made unreadable) is counted and logged;
    // the checker goes on, and recovers when the state does.
    let manifest = f.path(".landform/state/workspaces/default/manifest.json");
    let good = std::fs::read(&manifest).unwrap();
    std::fs::write(&manifest, b"{ damaged").unwrap();
    let metric = |body: &str, name: &str| {
        body.lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|n| n.parse::<f64>().ok())
    };
    let failed_seen = wait_metrics(metrics, |b| metric(b, "landform_drift_up{") == Some(0.0));
    std::fs::write(&manifest, &good).unwrap();
    let recovered = wait_metrics(metrics, |b| metric(b, "landform_drift_up{") == Some(1.0));
    rustix::process::kill_process(rustix::process::Pid::from_child(&checker), rustix::process::Signal::TERM).unwrap();
    let status = checker.wait().unwrap();
    let mut err = String::new();
    checker.stderr.take().unwrap().read_to_string(&mut err).unwrap();
    assert!(body.contains("landform_drift_up{workspace=\"default\"} 1"), "{body}\n{err}");
    assert!(err.contains("skipped this round: another operation holds the state"), "{err}");
    let skipped = body
        .lines()
        .find(|l| l.starts_with("landform_drift_checks_skipped_total"))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|n| n.parse::<f64>().ok());
    assert!(skipped.is_some_and(|n| n >= 1.0), "{body}");
    assert!(
        metric(&failed_seen, "landform_drift_checks_failed_total").is_some_and(|n| n >= 1.0),
        "{failed_seen}\n{err}"
    );
    assert!(err.contains("check failed, trying again at the next interval"), "{err}");
    assert!(metric(&recovered, "landform_drift_up{") == Some(1.0), "{recovered}\n{err}");
    assert_eq!(status.code(), Some(0));
    // A busy metrics port is an error at once, not a checker without metrics.
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let out = f.run(&["drift", "--every", "1s", "--metrics-addr", &format!("127.0.0.1:{port}")]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("cannot serve metrics"), "{}", text(&out.stderr));
}

/// CPU time (user + system, in clock ticks) a process has used so far.
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name (which is in parentheses): utime and stime are the 12th and 13th.
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let f: Vec<&str> = rest.split_whitespace().collect();
    f.get(11).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0)
        + f.get(12).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0)
}

/// Issue 25 item 21: idle connections to the metrics port are dropped after
/// a timeout and never take the files a check needs; at the file limit the
/// accept loop waits instead of spinning a core.
#[test]
fn idle_metrics_connections_are_dropped_and_never_starve_checks_or_spin_the_accept_loop() {
    let f = Fixture::new("drift-idle-conns", CONFIG);
    f.ok(&["apply", "--auto-approve"]);
    let metrics = free_port();
    // A low file limit, as a service might have: 64 files.
    let mut checker = Command::new("sh")
        .args(["-c", "ulimit -n 64 && exec \"$0\" \"$@\"", env!("CARGO_BIN_EXE_landform")])
        .args(["drift", "--every", "1s", "--no-color", "--metrics-addr", &format!("127.0.0.1:{metrics}")])
        .current_dir(&f.dir)
        .env("NO_COLOR", "1")
        .env_remove("LANDFORM_WORKSPACE")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = checker.id();
    let first = wait_metrics(metrics, |b| b.contains("landform_drift_checks_total"));
    assert!(first.contains("landform_drift_checks_total"), "{first}");
    // More idle connections than the process has files.
    let idle: Vec<TcpStream> = (0..150).filter_map(|_| TcpStream::connect(("127.0.0.1", metrics)).ok()).collect();
    let before = cpu_ticks(pid);
    std::thread::sleep(Duration::from_secs(4));
    let spent = cpu_ticks(pid) - before;
    // The first idle connection is closed by the checker within its timeout.
    let mut probe = idle[0].try_clone().unwrap();
    probe.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let mut buf = [0u8; 16];
    let closed = matches!(probe.read(&mut buf), Ok(0)) || matches!(probe.read(&mut buf), Ok(0));
    drop(idle);
    drop(probe);
    // Checks still run once the queue is cleared, and the page answers.
    let after = wait_metrics(metrics, |b| b.contains("landform_drift_up{workspace=\"default\"} 1"));
    let _ = checker.kill();
    let mut err = String::new();
    checker.stderr.take().unwrap().read_to_string(&mut err).unwrap();
    let _ = checker.wait();
    assert!(closed, "an idle connection was kept open\n{err}");
    // 100 ticks a second: a spinning loop would use nearly 400 in 4 s.
    assert!(spent < 150, "the checker used {spent} ticks of CPU in 4 s with idle connections\n{err}");
    assert!(
        !err.contains("check failed") && !err.contains("cannot be read"),
        "a check failed while the connections were idle:\n{err}"
    );
    assert!(after.contains("landform_drift_up{workspace=\"default\"} 1"), "{after}\n{err}");
}
