//! `landform drift --every`: a long-lived drift checker. One check at start,
//! then one every interval (plus jitter, so that many checkers do not call a
//! provider's API at the same moment), never two at once. A failing check is
//! logged and counted, and the next interval tries again; a round in which an
//! apply holds the state is skipped and said. Metrics in Prometheus' text
//! format at `/metrics` (prometheus-client, served by hyper); a webhook
//! message when drift appears, changes or is resolved (reqwest, rustls). The
//! webhook URL may carry a token: it is never printed.

use crate::drift_cmd::{check, print_report, CheckError, Format};
use crate::CommonArgs;
use landform_engine::drift::DriftRules;
use landform_engine::render::drift::DriftReport;
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use serde_json::json;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

pub struct Options {
    pub every: Duration,
    pub metrics_addr: Option<std::net::SocketAddr>,
    pub notify: Option<String>,
    pub format: Format,
    pub color: bool,
    /// At most N objects read at once in each check.
    pub parallelism: usize,
}

type Labels = Vec<(String, String)>;

/// The checker's metrics, all labelled by workspace.
struct Metrics {
    registry: Registry,
    resources: Family<Labels, Gauge>,
    last_check: Family<Labels, Gauge<f64, AtomicU64>>,
    last_duration: Family<Labels, Gauge<f64, AtomicU64>>,
    checks: Family<Labels, Counter>,
    failed: Family<Labels, Counter>,
    skipped: Family<Labels, Counter>,
    up: Family<Labels, Gauge>,
    rollout_step: Family<Labels, Gauge>,
    rollout_weight: Family<Labels, Gauge>,
    rollout_phase: Family<Labels, Gauge>,
}

impl Metrics {
    fn new() -> Metrics {
        let mut m = Metrics {
            registry: Registry::default(),
            resources: Family::default(),
            last_check: Family::default(),
            last_duration: Family::default(),
            checks: Family::default(),
            failed: Family::default(),
            skipped: Family::default(),
            up: Family::default(),
            rollout_step: Family::default(),
            rollout_weight: Family::default(),
            rollout_phase: Family::default(),
        };
        let r = &mut m.registry;
        r.register(
            "landform_drift_resources",
            "Resource instances changed (status=drifted) or deleted (status=deleted) outside Landform, at the last check",
            m.resources.clone(),
        );
        r.register(
            "landform_drift_last_check_timestamp_seconds",
            "When the last completed check ended, in seconds since the Unix epoch",
            m.last_check.clone(),
        );
        r.register(
            "landform_drift_last_check_duration_seconds",
            "How long the last completed check took",
            m.last_duration.clone(),
        );
        r.register("landform_drift_checks", "Checks completed, failed ones included", m.checks.clone());
        r.register(
            "landform_drift_checks_failed",
            "Checks that failed or could not read every resource",
            m.failed.clone(),
        );
        r.register(
            "landform_drift_checks_skipped",
            "Rounds skipped because another operation held the state",
            m.skipped.clone(),
        );
        r.register("landform_drift_up", "1 when the last check succeeded, 0 when it failed", m.up.clone());
        r.register(
            "landform_rollout_step",
            "Steps a rollout has taken in its current run, as the state recorded them at the last check",
            m.rollout_step.clone(),
        );
        r.register(
            "landform_rollout_weight",
            "A rollout switch's weight for each pool (server or target group), as the state recorded it",
            m.rollout_weight.clone(),
        );
        r.register(
            "landform_rollout_phase",
            "1 for a rollout's phase (running, paused, complete, rolled_back, aborted), 0 for the others",
            m.rollout_phase.clone(),
        );
        m
    }

    fn text(&self) -> String {
        let mut out = String::new();
        let _ = encode(&mut out, &self.registry);
        out
    }
}

fn ws(workspace: &str) -> Labels {
    vec![("workspace".into(), workspace.into())]
}

/// Run until SIGTERM or SIGINT. Returns the exit code: 0 after a clean stop.
pub fn serve(common: &CommonArgs, providers: &landform_engine::Providers, rules: &DriftRules, opts: Options) -> u8 {
    let fail = |m: &str| {
        crate::errln!("{}", crate::ui::error_line(m, opts.color));
        1
    };
    if let Some(url) = &opts.notify {
        // Whatever prints it by mistake prints it redacted.
        landform_lang::secrets::remember_texts([url.clone()]);
        match reqwest::Url::parse(url) {
            Ok(u) => {
                if let Err(e) = crate::http::check_url(&u) {
                    return fail(&format!("--notify: {e}"));
                }
            }
            _ => return fail("--notify must be an http:// or https:// URL"),
        }
    }
    let rt = match tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build() {
        Ok(rt) => rt,
        Err(e) => return fail(&format!("cannot start: {e}")),
    };
    let metrics = Arc::new(Metrics::new());
    let _serving = crate::signals::Serving::start();
    let stop = crate::signals::stop_flag();
    // The listener is bound before the first check, so a busy port fails at once.
    let listener = match opts.metrics_addr {
        Some(addr) => match std::net::TcpListener::bind(addr).and_then(|l| l.set_nonblocking(true).map(|_| l)) {
            Ok(l) => Some(l),
            Err(e) => return fail(&format!("cannot serve metrics on {addr}: {e}")),
        },
        None => None,
    };
    let rules = Arc::new(rules.clone());
    let providers = providers.clone();
    let common = common.clone();
    rt.block_on(async move {
        if let Some(l) = listener {
            let addr = l.local_addr().ok();
            match tokio::net::TcpListener::from_std(l) {
                Ok(l) => {
                    tokio::spawn(serve_metrics(l, metrics.clone()));
                    if let Some(a) = addr {
                        log(&format!("serving metrics at http://{a}/metrics"));
                    }
                }
                Err(e) => log(&format!("cannot serve metrics: {e}")),
            }
        }
        // Messages go out in order on a task of their own, so that a slow or
        // failing receiver never delays a check.
        // A thread, because the shared HTTP client is a blocking one.
        let notifier = opts.notify.clone().map(|url| {
            let (tx, rx) = std::sync::mpsc::channel::<(&'static str, serde_json::Value)>();
            std::thread::spawn(move || {
                let client = match crate::http::Client::new("drift webhook", Duration::from_secs(10), 64 << 10) {
                    Ok(c) => c,
                    Err(e) => return log(&format!("webhook: cannot send notifications: {e}")),
                };
                for (event, body) in rx {
                    notify(&client, &url, event, &body);
                }
            });
            tx
        });
        let labels = ws(&common.workspace);
        for f in [&metrics.checks, &metrics.failed, &metrics.skipped] {
            let _ = f.get_or_create(&labels);
        }
        metrics.resources.get_or_create(&status_labels(&common.workspace, "drifted")).set(0);
        metrics.resources.get_or_create(&status_labels(&common.workspace, "deleted")).set(0);
        let mut last: Option<Vec<(String, landform_engine::drift::DriftStatus, Vec<String>)>> = None;
        log(&format!(
            "checking workspace \"{}\" for drift every {}",
            common.workspace,
            landform_lang::value::format_duration(opts.every.as_millis() as u64)
        ));
        loop {
            let started = Instant::now();
            let (c, r, p) = (common.clone(), rules.clone(), providers.clone());
            let parallelism = opts.parallelism;
            let task = tokio::task::spawn_blocking(move || {
                check(&c, &p, &r, Duration::ZERO, parallelism, &landform_engine::refresh::Quiet)
            });
            let outcome = tokio::select! {
                o = task => o,
                _ = stopped() => break,
            };
            let elapsed = started.elapsed();
            match outcome {
                Ok(Ok(report)) => {
                    metrics.checks.get_or_create(&labels).inc();
                    let ok = report.errors.is_empty();
                    if !ok {
                        metrics.failed.get_or_create(&labels).inc();
                        for (addr, e) in &report.errors {
                            log(&format!("{addr}: cannot be read: {e}"));
                        }
                    }
                    metrics.up.get_or_create(&labels).set(ok as i64);
                    let drifted = report.count(landform_engine::drift::DriftStatus::Drifted);
                    let deleted = report.count(landform_engine::drift::DriftStatus::Deleted);
                    metrics.resources.get_or_create(&status_labels(&common.workspace, "drifted")).set(drifted as i64);
                    metrics.resources.get_or_create(&status_labels(&common.workspace, "deleted")).set(deleted as i64);
                    metrics.last_check.get_or_create(&labels).set(unix_now());
                    export_rollouts(&metrics, &common.workspace, &report.rollouts);
                    metrics.last_duration.get_or_create(&labels).set(elapsed.as_secs_f64());
                    log(&format!("{} ({:.2}s)", report.headline(), elapsed.as_secs_f64()));
                    let now = report.fingerprint();
                    let event = match &last {
                        None if now.is_empty() => None,
                        None => Some("drift_detected"),
                        Some(prev) if prev == &now => None,
                        Some(prev) if prev.is_empty() => Some("drift_detected"),
                        Some(_) if now.is_empty() => Some("drift_resolved"),
                        Some(_) => Some("drift_changed"),
                    };
                    if last.is_none() || event.is_some() {
                        print_report(&report, opts.format, opts.color);
                    }
                    last = Some(now);
                    if let (Some(event), Some(tx)) = (event, &notifier) {
                        let _ = tx.send((event, message(event, &report)));
                    }
                }
                Ok(Err(CheckError::Locked(why))) => {
                    metrics.skipped.get_or_create(&labels).inc();
                    log(&format!("skipped this round: another operation holds the state. {}", first_line(&why)));
                }
                Ok(Err(CheckError::Failed(why))) => {
                    metrics.checks.get_or_create(&labels).inc();
                    metrics.failed.get_or_create(&labels).inc();
                    metrics.up.get_or_create(&labels).set(0);
                    log(&format!("check failed, trying again at the next interval: {why}"));
                }
                Err(e) => {
                    metrics.checks.get_or_create(&labels).inc();
                    metrics.failed.get_or_create(&labels).inc();
                    metrics.up.get_or_create(&labels).set(0);
                    log(&format!("check failed, trying again at the next interval: {e}"));
                }
            }
            let wait = opts.every + jitter(opts.every);
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = stopped() => break,
            }
        }
        log("stopped");
    });
    rt.shutdown_timeout(Duration::from_millis(200));
    drop(stop);
    0
}

/// Each rollout's step, weights and phase, from its record in the state.
fn export_rollouts(m: &Metrics, workspace: &str, rollouts: &std::collections::BTreeMap<String, serde_json::Value>) {
    for (name, rec) in rollouts {
        let base = vec![("workspace".to_string(), workspace.to_string()), ("rollout".to_string(), name.clone())];
        m.rollout_step.get_or_create(&base).set(rec["step"].as_i64().unwrap_or(0));
        if let Some(w) = rec["weights"].as_object() {
            for (target, v) in w {
                let mut l = base.clone();
                l.push(("target".into(), target.clone()));
                m.rollout_weight.get_or_create(&l).set(v.as_f64().unwrap_or(0.0) as i64);
            }
        }
        for phase in ["running", "paused", "complete", "rolled_back", "aborted"] {
            let mut l = base.clone();
            l.push(("phase".into(), phase.into()));
            m.rollout_phase.get_or_create(&l).set((rec["phase"] == phase) as i64);
        }
    }
}

fn status_labels(workspace: &str, status: &str) -> Labels {
    vec![("workspace".into(), workspace.into()), ("status".into(), status.into())]
}

fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or(s)
}

fn log(msg: &str) {
    crate::errln!("{} drift: {msg}", landform_state::now_rfc3339());
}

fn unix_now() -> f64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs_f64()).unwrap_or(0.0)
}

/// Up to a tenth of the interval (at most a minute), different on every call.
fn jitter(every: Duration) -> Duration {
    static SEQ: AtomicU64 = AtomicU64::new(0);
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(SEQ.fetch_add(1, Ordering::Relaxed));
    h.write_u128(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_nanos());
    let max = (every / 10).min(Duration::from_secs(60)).as_millis() as u64;
    Duration::from_millis(if max == 0 { 0 } else { h.finish() % max })
}

/// Resolves once SIGTERM or SIGINT asked the checker to stop.
async fn stopped() {
    let flag = crate::signals::stop_flag();
    while !flag.load(Ordering::SeqCst) {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Metrics connections served at once: a scraper needs one or two; the rest
/// wait in the listen queue instead of taking the files a check needs.
const METRICS_CONNECTIONS: usize = 16;
/// How long a metrics connection may take to send its request, and to live.
const METRICS_HEADER_TIMEOUT: Duration = Duration::from_secs(10);
const METRICS_CONNECTION_LIFE: Duration = Duration::from_secs(30);

async fn serve_metrics(listener: tokio::net::TcpListener, metrics: Arc<Metrics>) {
    use http_body_util::Full;
    use hyper::{body::Bytes, Response, StatusCode};
    let slots = Arc::new(tokio::sync::Semaphore::new(METRICS_CONNECTIONS));
    let mut backoff = Duration::from_millis(10);
    loop {
        let Ok(slot) = slots.clone().acquire_owned().await else { return };
        let stream = match listener.accept().await {
            Ok((stream, _)) => {
                backoff = Duration::from_millis(10);
                stream
            }
            Err(e) => {
                // Out of files (EMFILE, ENFILE) or memory: the failed
                // connection stays queued, so retrying at once would spin.
                log(&format!("metrics: cannot accept a connection: {e}; waiting {} ms", backoff.as_millis()));
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(1));
                continue;
            }
        };
        let metrics = metrics.clone();
        tokio::spawn(async move {
            let _slot = slot;
            let service = hyper::service::service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                let metrics = metrics.clone();
                async move {
                    let resp = match (req.method(), req.uri().path()) {
                        (&hyper::Method::GET, "/metrics") => Response::builder()
                            .header("content-type", "application/openmetrics-text; version=1.0.0; charset=utf-8")
                            .body(Full::new(Bytes::from(metrics.text()))),
                        (&hyper::Method::GET, "/") => Response::builder()
                            .header("content-type", "text/plain; charset=utf-8")
                            .body(Full::new(Bytes::from("landform drift checker: metrics at /metrics\n"))),
                        _ => Response::builder()
                            .status(StatusCode::NOT_FOUND)
                            .body(Full::new(Bytes::from("not found\n"))),
                    };
                    resp.map_err(|e| e.to_string())
                }
            });
            let io = hyper_util::rt::TokioIo::new(stream);
            // One request per connection, which must come soon: an idle
            // connection is dropped, never kept while files run out.
            let conn = hyper::server::conn::http1::Builder::new()
                .timer(hyper_util::rt::TokioTimer::new())
                .header_read_timeout(METRICS_HEADER_TIMEOUT)
                .keep_alive(false)
                .serve_connection(io, service);
            let _ = tokio::time::timeout(METRICS_CONNECTION_LIFE, conn).await;
        });
    }
}

/// The webhook message: `text` for Slack-compatible receivers, the rest for programs.
fn message(event: &str, report: &DriftReport) -> serde_json::Value {
    let mut text = if event == "drift_resolved" {
        format!(
            "Landform: drift resolved in workspace \"{}\": all {} resources match the state.",
            report.workspace, report.checked
        )
    } else {
        format!("Landform: {}", report.headline())
    };
    for d in report.resources.iter().take(10) {
        let what = match d.status {
            landform_engine::drift::DriftStatus::Deleted => "deleted".to_string(),
            landform_engine::drift::DriftStatus::Drifted => {
                d.changes.iter().map(|c| c.path.as_str()).collect::<Vec<_>>().join(", ")
            }
        };
        text.push_str(&format!("\n• {}: {what}", d.address));
    }
    if report.resources.len() > 10 {
        text.push_str(&format!("\n… and {} more", report.resources.len() - 10));
    }
    json!({
        "text": text,
        "event": event,
        "workspace": report.workspace,
        "report": report.json(),
    })
}

/// An error and its causes ("error sending request: connection refused"),
/// which never include the URL.
pub(crate) fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        let text = c.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        cause = c.source();
    }
    out
}

/// POST the message, retrying with backoff on errors, 429 and 5xx.
fn notify(client: &crate::http::Client, url: &str, event: &str, body: &serde_json::Value) {
    let mut delay = Duration::from_secs(1);
    for attempt in 1..=4 {
        let why = match client.send(crate::http::Request::new(reqwest::Method::POST, url).json(body)) {
            Ok(r) if r.status().is_success() => {
                log(&format!("webhook: sent {event}"));
                return;
            }
            Ok(r) if r.status().is_client_error() && r.status().as_u16() != 429 => {
                log(&format!("webhook: the receiver refused {event} with {}; not retrying", r.status()));
                return;
            }
            Ok(r) => format!("the receiver answered {}", r.status()),
            Err(e) => e,
        };
        let stop = crate::signals::stop_flag();
        if attempt == 4 || stop.load(Ordering::SeqCst) {
            log(&format!("webhook: could not send {event}: {why}"));
            return;
        }
        log(&format!("webhook: attempt {attempt} failed ({why}); retrying in {}s", delay.as_secs()));
        let until = Instant::now() + delay;
        while Instant::now() < until {
            if stop.load(Ordering::SeqCst) {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        delay *= 2;
    }
}
