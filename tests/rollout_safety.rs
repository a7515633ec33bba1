//! Rollouts that never hurt production (issue 24): a bad canary is rolled
//! back at the first step whatever way it is bad, and a rollout never moves
//! on without positive evidence. Each test drives the real binary against a
//! real HAProxy (and Prometheus) under load.

mod common;
#[path = "common/haproxy.rs"]
mod haproxy_env;

use common::{text, Fixture};
use haproxy_env::{config, good, rollout, server, Behaviour, Haproxy, Load};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The first apply creates the switch at blue 100, green 0; then the rollout is added.
fn fixture(name: &str, h: &Haproxy, weights: &[(&str, u32)], body: &str) -> Fixture {
    let f = Fixture::new(name, &config(&h.api, weights));
    f.ok(&["apply", "--auto-approve"]);
    f.write(&format!("{}{}", config(&h.api, weights), rollout(body)));
    f
}

/// Apply under `clients` clients of load: (exit code, stdout, stderr, seconds it took).
fn apply_under_load(f: &Fixture, h: &Haproxy, clients: usize) -> (Option<i32>, String, String, f64) {
    let load = Load::start(h.front, clients);
    let started = Instant::now();
    let out = f.run(&["apply", "--auto-approve"]);
    let took = started.elapsed().as_secs_f64();
    let (answers, failed) = load.stop();
    eprintln!("answers {answers:?}, {failed} failed, in {took:.1}s");
    (out.status.code(), text(&out.stdout), text(&out.stderr), took)
}

fn rolled_back_at_the_first_step(h: &Haproxy, code: Option<i32>, out: &str, err: &str) {
    assert_eq!(code, Some(1), "{out}{err}");
    assert!(out.contains("step 1/"), "{out}");
    assert!(!out.contains("step 2/"), "it went past the first step: {out}{err}");
    assert!(!out.contains("complete: all traffic on green"), "{out}");
    assert!(err.contains("rolled back: all traffic is on blue again"), "{err}");
    assert_eq!((h.weight("blue"), h.weight("green")), ("100".to_string(), "0".to_string()));
}

/// Done means 2: a canary failing 30% of requests, `pause` equal to
/// `interval` and `failure_limit = 1`: the first step's one sample fails and
/// is tolerated, but the step has no passing sample, so it samples again;
/// the second failure is over the limit. (It used to move on at each step
/// and reach 100%.)
#[test]
fn a_canary_failing_30_percent_is_rolled_back_at_the_first_step_when_pause_equals_interval() {
    let h = Haproxy::start(&[("blue", good("blue"), 100), ("green", server("green", Behaviour::new(30, 0)), 0)]);
    let body = "  steps  = [5%, 25%, 50%, 100%]\n  pause  = 1s\n  analysis {\n    interval      = 1s\n    failure_limit = 1\n    metric \"errors\" {\n      source = \"haproxy\"\n      max    = 1%\n    }\n  }\n";
    let f = fixture("safety-30", &h, &[("blue", 100), ("green", 0)], body);
    let (code, out, err, _) = apply_under_load(&f, &h, 2);
    rolled_back_at_the_first_step(&h, code, &out, &err);
    assert!(err.contains("analysis failed: errors was"), "{err}");
    assert!(err.contains("(2 failed samples in this rollout, failure_limit 1)"), "{err}");
}

/// Failures count over the whole rollout, not per step: a canary that fails
/// for the first 0.7 s after each weight change (one failed sample per step,
/// then passing ones) has its second failure at the second step, over
/// `failure_limit = 1`. (A per-step count let it reach 100%.)
#[test]
fn failures_count_over_the_whole_rollout_not_per_step() {
    let green = Behaviour::new(0, 0);
    let h = Haproxy::start(&[("blue", good("blue"), 100), ("green", server("green", green.clone()), 0)]);
    let body = "  steps  = [20%, 50%, 100%]\n  pause  = 3s\n  analysis {\n    interval      = 1s\n    failure_limit = 1\n    metric \"errors\" {\n      source = \"haproxy\"\n      max    = 1%\n    }\n  }\n";
    let f = fixture("safety-whole-run", &h, &[("blue", 100), ("green", 0)], body);
    // Green fails every request for 700 ms after each change of its weight.
    let stop = Arc::new(AtomicBool::new(false));
    let flipper = {
        let (api, stop, green) = (h.api.clone(), stop.clone(), green.clone());
        std::thread::spawn(move || {
            let mut last = String::from("0");
            while !stop.load(Ordering::Relaxed) {
                let w = haproxy_env::runtime(&api, "get weight app/green");
                let w = w.split_whitespace().next().unwrap_or_default().to_string();
                if w != last && w != "0" {
                    green.fail_percent.store(100, Ordering::Relaxed);
                    std::thread::sleep(Duration::from_millis(700));
                    green.fail_percent.store(0, Ordering::Relaxed);
                }
                last = w;
                std::thread::sleep(Duration::from_millis(10));
            }
        })
    };
    let (code, out, err, _) = apply_under_load(&f, &h, 2);
    stop.store(true, Ordering::Relaxed);
    flipper.join().unwrap();
    assert_eq!(code, Some(1), "{out}{err}");
    assert!(out.contains("step 2/3"), "the first step had passing samples after its failure: {out}{err}");
    assert!(!out.contains("step 3/3"), "the second failure of the run is over the limit: {out}{err}");
    assert!(err.contains("(2 failed samples in this rollout, failure_limit 1)"), "{err}");
    assert_eq!((h.weight("blue"), h.weight("green")), ("100".to_string(), "0".to_string()));
    let status = f.ok(&["rollout", "status", "web"]);
    assert!(status.contains("phase:    rolled_back"), "{status}");
}

/// A dead canary (nothing listens on its port, no health check): HAProxy
/// answers the clients 503 and counts `econ`, while the server's `req_tot`
/// and `hrsp_5xx` stay 0. Connection errors are errors: rolled back at the
/// first step, long before the progress deadline.
#[test]
fn a_canary_that_refuses_connections_is_rolled_back_at_the_first_step() {
    let dead = haproxy_env::free_port();
    let h = Haproxy::start(&[("blue", good("blue"), 100), ("green", dead, 0)]);
    let body = "  steps  = [10%, 50%, 100%]\n  pause  = 1s\n  progress_deadline = 60s\n  analysis {\n    interval      = 1s\n    failure_limit = 1\n    metric \"errors\" {\n      source = \"haproxy\"\n      max    = 1%\n    }\n  }\n";
    let f = fixture("safety-dead", &h, &[("blue", 100), ("green", 0)], body);
    let (code, out, err, took) = apply_under_load(&f, &h, 4);
    rolled_back_at_the_first_step(&h, code, &out, &err);
    assert!(err.contains("analysis failed: errors was 100.0%"), "{err}");
    assert!(!err.contains("inconclusive"), "{err}");
    assert!(took < 30.0, "it took {took:.1}s: the failures were not seen");
}

/// `stat = "response_time"` measures the interval: a canary that served
/// 1,500 fast requests of an earlier release, then is slow (401 ms) on every
/// request, is rolled back at the first step with max 200ms. HAProxy's own
/// `rtime` is a running average that its fast history holds down (it showed
/// a few ms and the canary was promoted).
#[test]
fn a_canary_slow_on_every_request_is_rolled_back_at_the_first_step() {
    let green = Behaviour::new(0, 0);
    let h = Haproxy::start(&[("blue", good("blue"), 100), ("green", server("green", green.clone()), 0)]);
    // Green's history: 1,500 fast answers.
    h.runtime("set server app/green weight 100");
    h.runtime("set server app/blue weight 0");
    for _ in 0..1500 {
        haproxy_env::get(h.front).unwrap();
    }
    h.runtime("set server app/blue weight 100");
    h.runtime("set server app/green weight 0");
    green.delay_ms.store(401, Ordering::Relaxed);
    let body = "  steps  = [10%, 50%, 100%]\n  pause  = 2s\n  progress_deadline = 60s\n  analysis {\n    interval      = 2s\n    failure_limit = 1\n    metric \"latency\" {\n      source = \"haproxy\"\n      stat   = \"response_time\"\n      max    = 200ms\n    }\n  }\n";
    let f = fixture("safety-slow", &h, &[("blue", 100), ("green", 0)], body);
    let (code, out, err, _) = apply_under_load(&f, &h, 6);
    rolled_back_at_the_first_step(&h, code, &out, &err);
    assert!(err.contains("analysis failed: latency was"), "{err}");
    assert!(err.contains("above the max of 200ms"), "{err}");
}

/// A Prometheus query that returns several series: every one must pass. A
/// canary bad on only one of them (0 and 0.9, max 0.01) is rolled back at the
/// first step; it used to be judged on the first series alone and promoted.
/// With min, the lowest series decides; a series without a number is no data.
#[test]
fn a_canary_bad_on_one_of_several_prometheus_series_is_rolled_back_at_the_first_step() {
    let prom = haproxy_env::Prometheus::start();
    let h = Haproxy::start(&[("blue", good("blue"), 100), ("green", good("green"), 0)]);
    let metric = |name: &str, query: &str, bound: &str| {
        format!(
            "  steps  = [10%, 50%, 100%]\n  pause  = 1s\n  progress_deadline = 4s\n  analysis {{\n    interval      = 500ms\n    failure_limit = 0\n    metric \"{name}\" {{\n      source = \"prometheus\"\n      url    = \"{}\"\n      query  = \"{query}\"\n      {bound}\n    }}\n  }}\n",
            prom.url
        )
    };
    let two = r#"vector(0) or label_replace(vector(0.9), \"route\", \"checkout\", \"\", \"\")"#;
    let f = fixture("safety-series", &h, &[("blue", 100), ("green", 0)], &metric("errors", two, "max = 0.01"));
    let (code, out, err, _) = apply_under_load(&f, &h, 1);
    rolled_back_at_the_first_step(&h, code, &out, &err);
    assert!(err.contains("analysis failed: errors was 0.9, above the max of 0.01"), "{err}");

    // With min: the lowest series decides (0.2 of 0.2 and 0.99, min 0.95).
    let low = r#"vector(0.99) or label_replace(vector(0.2), \"route\", \"checkout\", \"\", \"\")"#;
    f.write(&format!(
        "{}{}",
        config(&h.api, &[("blue", 100), ("green", 0)]),
        rollout(&metric("ok", low, "min = 0.95"))
    ));
    let (code, out, err, _) = apply_under_load(&f, &h, 1);
    rolled_back_at_the_first_step(&h, code, &out, &err);
    assert!(err.contains("analysis failed: ok was 0.2, below the min of 0.95"), "{err}");

    // A series that is NaN (no traffic to divide by) has not passed: no data, never promoted.
    let nan = r#"vector(0) or label_replace(vector(0) / 0, \"route\", \"checkout\", \"\", \"\")"#;
    f.write(&format!(
        "{}{}",
        config(&h.api, &[("blue", 100), ("green", 0)]),
        rollout(&metric("errors", nan, "max = 0.01"))
    ));
    let (code, out, err, _) = apply_under_load(&f, &h, 1);
    assert_eq!(code, Some(1), "{out}{err}");
    assert!(!out.contains("step 2/"), "{out}");
    assert!(err.contains("returned no data"), "{err}");
    assert_eq!(h.weight("green"), "0");
}

/// Weights are shares of the whole backend: with a second stable server
/// (blue2) beside blue, green gets the step's share of all the traffic (as
/// HAProxy's weights divide it), the output says each server's true share,
/// 100% leaves nothing on blue or blue2, and a rollback puts both back.
#[test]
fn a_second_stable_server_does_not_dilute_the_canarys_share() {
    let h = Haproxy::start(&[("blue", good("blue"), 100), ("blue2", good("blue2"), 100), ("green", good("green"), 0)]);
    let weights = [("blue", 100), ("blue2", 100), ("green", 0)];
    let body = "  steps  = [10%, 50%, 100%]\n  pause  = 1s\n  analysis {\n    interval      = 250ms\n    metric \"errors\" {\n      source = \"haproxy\"\n      max    = 1%\n    }\n  }\n";
    let f = fixture("safety-share", &h, &weights, body);
    let plan = f.ok(&["plan"]);
    assert!(
        plan.contains("weights  = { blue = 100, blue2 = 100, green = 0 } -> { blue = 0, blue2 = 0, green = 200 }"),
        "{plan}"
    );
    // HAProxy's weights at the first step, read while the apply runs, once
    // all three have been set.
    let watcher = {
        let api = h.api.clone();
        std::thread::spawn(move || {
            let start = Instant::now();
            while start.elapsed() < Duration::from_secs(30) {
                let w = |s: &str| -> f64 {
                    haproxy_env::runtime(&api, &format!("get weight app/{s}"))
                        .split_whitespace()
                        .next()
                        .and_then(|w| w.parse().ok())
                        .unwrap_or(0.0)
                };
                let (b, b2, g) = (w("blue"), w("blue2"), w("green"));
                // The provider raises green before it lowers blue and blue2
                // (never every server at 0 on the way), so a read between the
                // two commands sees green's new weight beside the old ones:
                // the step has landed when the weights sum to 200 again.
                if g > 0.0 && b + b2 + g == 200.0 {
                    return g / (b + b2 + g);
                }
                std::thread::sleep(Duration::from_millis(10));
            }
            0.0
        })
    };
    let (code, out, err, _) = apply_under_load(&f, &h, 2);
    let first = watcher.join().unwrap();
    assert_eq!(code, Some(0), "{out}{err}");
    assert!((first - 0.10).abs() < 0.005, "green had {first:.3} of the backend at the 10% step");
    assert!(out.contains("step 1/3: green 10%, blue 45%, blue2 45%"), "{out}");
    assert!(out.contains("step 2/3: green 50%, blue 25%, blue2 25%"), "{out}");
    assert!(out.contains("step 3/3: green 100%, blue 0%, blue2 0%"), "{out}");
    assert_eq!((h.weight("blue"), h.weight("blue2"), h.weight("green")), ("0".into(), "0".into(), "200".into()));
    let out = f.ok(&["rollout", "rollback", "web"]);
    assert!(out.contains("all traffic is on blue again"), "{out}");
    assert_eq!((h.weight("blue"), h.weight("blue2"), h.weight("green")), ("100".into(), "100".into(), "0".into()));
}

/// A step that rounds to a weight of 0 for the canary (0.4% of a backend
/// whose weights sum to 100) would move nothing and then fail at its
/// deadline: refused at plan time, pointing at the steps.
#[test]
fn a_step_that_rounds_to_nothing_is_refused_at_plan_time() {
    let h = Haproxy::start(&[("blue", good("blue"), 100), ("green", good("green"), 0)]);
    let body = "  steps  = [0.4%, 100%]\n  pause  = 1s\n";
    let f = fixture("safety-zero-step", &h, &[("blue", 100), ("green", 0)], body);
    for cmd in [&["plan"][..], &["apply", "--auto-approve"]] {
        let out = f.run(cmd);
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{err}");
        assert!(err.contains("Unreachable rollout step"), "{err}");
        assert!(err.contains("The step 0.4% gives green 0%"), "{err}");
        assert!(err.contains("--> main.lf:17:12"), "{err}");
    }
    assert_eq!((h.weight("blue"), h.weight("green")), ("100".to_string(), "0".to_string()));
    // Two steps with the same weights: the second is unreachable too.
    f.write(&format!(
        "{}{}",
        config(&h.api, &[("blue", 100), ("green", 0)]),
        rollout("  steps  = [10%, 10.2%, 100%]\n  pause  = 1s\n")
    ));
    let err = text(&f.run(&["plan"]).stderr);
    assert!(err.contains("The step 10.2% gives green 10%"), "{err}");
}

/// Killed (kill -9) right after the first step is committed: the next apply
/// resumes at that step and analyses it again before it passes, so a bad
/// canary is rolled back there and never gets the next step's share (it used
/// to move on to 50% at once).
#[test]
fn a_step_resumed_after_kill_9_is_analysed_again_before_it_passes() {
    let h = Haproxy::start(&[("blue", good("blue"), 100), ("green", server("green", Behaviour::new(30, 0)), 0)]);
    let body = "  steps  = [25%, 50%, 100%]\n  pause  = 2s\n  analysis {\n    interval      = 500ms\n    failure_limit = 0\n    metric \"errors\" {\n      source = \"haproxy\"\n      max    = 1%\n    }\n  }\n";
    let f = fixture("safety-resume", &h, &[("blue", 100), ("green", 0)], body);
    let mut child = f
        .cmd(&["apply", "--auto-approve"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let start = Instant::now();
    // Both weights set (HAProxy raises green before it lowers blue).
    while h.weight("green") != "25" || h.weight("blue") != "75" {
        assert!(start.elapsed() < Duration::from_secs(20), "the first step never came");
        std::thread::sleep(Duration::from_millis(5));
    }
    child.kill().unwrap(); // SIGKILL: nothing of the step's analysis ran
    child.wait().unwrap();
    f.unlock();
    let (code, out, err, _) = apply_under_load(&f, &h, 2);
    assert_eq!(code, Some(1), "{out}{err}");
    assert!(out.contains("resuming at 25% on green"), "{out}");
    assert!(out.contains("analysing the step it resumes at again before going on"), "{out}");
    assert!(!out.contains("step 2/3"), "it moved on without analysing the resumed step: {out}{err}");
    assert!(err.contains("analysis failed: errors was"), "{err}");
    assert_eq!((h.weight("blue"), h.weight("green")), ("100".to_string(), "0".to_string()));
}

/// A rollback that fails (HAProxy's runtime API gone for 6 s) is retried
/// until the stable weights read back, and the record says so; it is never
/// left as `rolled_back` with a next step to go on from.
#[test]
fn a_failing_rollback_is_retried_until_the_stable_weights_read_back() {
    let mut h = Haproxy::start(&[("blue", good("blue"), 100), ("green", server("green", Behaviour::new(30, 0)), 0)]);
    let body = "  steps  = [25%, 50%, 100%]\n  pause  = 2s\n  analysis {\n    interval      = 1s\n    failure_limit = 0\n    consecutive_error_limit = 0\n    metric \"errors\" {\n      source = \"haproxy\"\n      max    = 1%\n    }\n  }\n";
    let f = fixture("safety-rollback-retry", &h, &[("blue", 100), ("green", 0)], body);
    let child = f
        .cmd(&["apply", "--auto-approve"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while h.weight("green") != "25" {
        assert!(start.elapsed() < Duration::from_secs(20), "the first step never came");
        std::thread::sleep(Duration::from_millis(5));
    }
    // The runtime API goes away mid-step: the analysis errors, the rollback fails, and HAProxy is back 6 s later.
    h.stop();
    std::thread::sleep(Duration::from_secs(6));
    h.restart();
    h.runtime("set server app/green weight 25");
    h.runtime("set server app/blue weight 75");
    let out = child.wait_with_output().unwrap();
    let (said, err) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(1), "{said}{err}");
    assert!(said.contains("the rollback failed") && said.contains("trying again"), "{said}{err}");
    assert!(err.contains("rolled back: all traffic is on blue again (after"), "{err}");
    assert_eq!((h.weight("blue"), h.weight("green")), ("100".to_string(), "0".to_string()));
    let status = f.ok(&["rollout", "status", "web"]);
    assert!(status.contains("phase:    rolled_back"), "{status}");
    assert!(!status.contains("next: step 2"), "{status}");
}

/// A rollout that rolled back stays stopped: an apply for an unrelated
/// change neither moves traffic to the canary again nor fails; a person's
/// `rollout retry` runs it again, and so does a new release (a change to the
/// rollout block). It used to run the same bad canary on every apply.
#[test]
fn a_rolled_back_rollout_stays_stopped_until_a_new_release_or_a_retry() {
    let green = Behaviour::new(30, 0);
    let h = Haproxy::start(&[("blue", good("blue"), 100), ("green", server("green", green.clone()), 0)]);
    let weights = [("blue", 100), ("green", 0)];
    let body = "  steps  = [25%, 100%]\n  pause  = 1s\n  analysis {\n    interval      = 250ms\n    metric \"errors\" {\n      source = \"haproxy\"\n      max    = 1%\n    }\n  }\n";
    let f = fixture("safety-stopped", &h, &weights, body);
    let (code, _, err, _) = apply_under_load(&f, &h, 2);
    assert_eq!(code, Some(1), "{err}");
    // An unrelated change: applied, and the canary gets nothing.
    f.write(&format!("{}{}output \"unrelated\" {{\n  value = 1\n}}\n", config(&h.api, &weights), rollout(body)));
    let (code, out, err, _) = apply_under_load(&f, &h, 2);
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(!out.contains("step 1/"), "{out}");
    assert!(err.contains("Rollout stopped") && err.contains("rolled back: analysis failed"), "{err}");
    assert_eq!(h.weight("green"), "0");
    let status = f.ok(&["rollout", "status", "web"]);
    assert!(status.contains("phase:    rolled_back") && status.contains("landform rollout retry web"), "{status}");
    assert!(!status.contains("next: step"), "{status}");
    // A person fixed green and retries: it runs from its first step.
    green.fail_percent.store(0, Ordering::Relaxed);
    let load = Load::start(h.front, 2);
    let out = f.ok(&["rollout", "retry", "web"]);
    load.stop();
    assert!(
        out.contains("retried by") && out.contains("step 1/2") && out.contains("complete: all traffic on green"),
        "{out}"
    );
    // The next release once green has everything: the pools swapped (blue, idle now, gets it) is a new canary.
    let swapped = rollout(body)
        .replace("stable = \"blue\"", "stable = \"x\"")
        .replace("canary = \"green\"", "canary = \"blue\"")
        .replace("stable = \"x\"", "stable = \"green\"");
    f.write(&format!("{}{swapped}", config(&h.api, &weights)));
    let plan = f.ok(&["plan"]);
    assert!(plan.contains("1 rollout to run.") && plan.contains("from green to blue"), "{plan}");
    // Rolled back by hand: stopped; a new release (other steps) runs again.
    f.write(&format!("{}{}", config(&h.api, &weights), rollout(body)));
    f.ok(&["rollout", "rollback", "web"]);
    assert_eq!(h.weight("green"), "0");
    assert!(!f.ok(&["plan"]).contains("rollout to run"));
    f.write(&format!("{}{}", config(&h.api, &weights), rollout(&body.replace("[25%, 100%]", "[10%, 100%]"))));
    assert!(f.ok(&["plan"]).contains("1 rollout to run."));
}

/// `rollout abort` to a stable server HAProxy reports DOWN would send every
/// request to it (all 503): refused, saying why and what `--force` does, the
/// weights left as they were; with `--force` the traffic moves and it warns.
#[test]
fn abort_to_a_stable_server_that_is_down_is_refused_without_force() {
    let h =
        Haproxy::start_with_options(&[("blue", good("blue"), 100), ("green", good("green"), 0)], " check inter 60s");
    let body = "  steps  = [25%, 100%]\n  pause  = 60s\n";
    let f = fixture("safety-down-stable", &h, &[("blue", 100), ("green", 0)], body);
    let mut child = f
        .cmd(&["apply", "--auto-approve"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while h.weight("green") != "25" || h.weight("blue") != "75" {
        assert!(start.elapsed() < Duration::from_secs(20), "the first step never came");
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    f.unlock();
    h.runtime("set server app/blue health down");
    assert!(h.runtime("show stat").lines().any(|l| l.starts_with("app,blue,") && l.contains(",DOWN,")));
    let out = f.run(&["rollout", "abort", "web"]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("blue is not healthy") && err.contains("--force"), "{err}");
    assert_eq!((h.weight("blue"), h.weight("green")), ("75".to_string(), "25".to_string()));
    let out = f.run(&["rollout", "abort", "web", "--force"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("--force: all traffic is moved to it anyway"), "{}", text(&out.stderr));
    assert_eq!((h.weight("blue"), h.weight("green")), ("100".to_string(), "0".to_string()));
}

/// Done means 3 and 4: with `interval = 5m`, `rollout abort` from another
/// shell reaches the running apply within a second (it neither waits for the
/// state's lock nor for the interval), and `rollout status` reads the state
/// while the apply runs, and says the truth after a kill -9.
#[test]
fn an_abort_reaches_a_running_apply_within_a_second_and_status_reads_while_it_runs() {
    let h = Haproxy::start(&[("blue", good("blue"), 100), ("green", good("green"), 0)]);
    let body = "  steps  = [25%, 100%]\n  pause  = 10m\n  analysis {\n    interval      = 5m\n    metric \"errors\" {\n      source = \"haproxy\"\n      max    = 1%\n    }\n  }\n";
    let f = fixture("safety-abort-fast", &h, &[("blue", 100), ("green", 0)], body);
    let load = Load::start(h.front, 1);
    let apply = f
        .cmd(&["apply", "--auto-approve"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while h.weight("green") != "25" {
        assert!(start.elapsed() < Duration::from_secs(20), "the first step never came");
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(500));
    // Status while the apply holds the state.
    let status = f.run(&["rollout", "status", "web"]);
    let said = text(&status.stdout);
    assert_eq!(status.status.code(), Some(0), "{said}{}", text(&status.stderr));
    assert!(said.contains("green at 25%, blue at 75%") && said.contains("phase:    running (apply by"), "{said}");
    // The abort, and the moment HAProxy has green at 0 again.
    let asked = Instant::now();
    let abort = f
        .cmd(&["rollout", "abort", "web"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    while h.weight("green") != "0" {
        assert!(asked.elapsed() < Duration::from_secs(30), "the abort never landed");
        std::thread::sleep(Duration::from_millis(10));
    }
    let took = asked.elapsed();
    let abort = abort.wait_with_output().unwrap();
    let applied = apply.wait_with_output().unwrap();
    load.stop();
    eprintln!("green at 0 {took:?} after the abort was run");
    assert!(took <= Duration::from_secs(1), "the abort took {took:?} to land");
    assert_eq!(abort.status.code(), Some(0), "{}", text(&abort.stderr));
    assert!(
        text(&abort.stdout).contains("aborted: the apply that was running it put all traffic back on blue"),
        "{}",
        text(&abort.stdout)
    );
    assert_eq!(applied.status.code(), Some(1));
    assert!(
        text(&applied.stderr)
            .contains("aborted by `landform rollout abort`; rolled back: all traffic is on blue again"),
        "{}",
        text(&applied.stderr)
    );
}

/// An abort request left behind (a `rollout abort` interrupted before any
/// apply took it) is for the run that was under way when it was made: a
/// later run ignores it, drops it, and completes.
#[test]
fn an_abort_request_left_behind_never_aborts_a_later_rollout() {
    let h = Haproxy::start(&[("blue", good("blue"), 100), ("green", good("green"), 0)]);
    let body = "  steps  = [50%, 100%]\n  pause  = 1s\n";
    let f = fixture("safety-stale-abort", &h, &[("blue", 100), ("green", 0)], body);
    let request = f.path(".landform/state/workspaces/default/rollout-abort-web");
    std::fs::write(&request, "2026-01-01T00:00:00Z").unwrap();
    let (code, out, err, _) = apply_under_load(&f, &h, 1);
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(out.contains("complete: all traffic on green"), "{out}");
    assert!(!request.exists(), "the stale request was dropped");
}

/// `rollout status` after the apply running the rollout was killed (kill -9):
/// not "running", but interrupted, and what the next apply does.
#[test]
fn rollout_status_after_kill_9_says_the_run_was_interrupted() {
    let h = Haproxy::start(&[("blue", good("blue"), 100), ("green", good("green"), 0)]);
    let body = "  steps  = [25%, 100%]\n  pause  = 60s\n";
    let f = fixture("safety-status-killed", &h, &[("blue", 100), ("green", 0)], body);
    let mut child = f
        .cmd(&["apply", "--auto-approve"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while h.weight("green") != "25" || h.weight("blue") != "75" {
        assert!(start.elapsed() < Duration::from_secs(20), "the first step never came");
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(300));
    child.kill().unwrap();
    child.wait().unwrap();
    let status = f.ok(&["rollout", "status", "web"]);
    assert!(status.contains("green at 25%, blue at 75%"), "{status}");
    assert!(status.contains("phase:    interrupted: the apply that ran it stopped without finishing"), "{status}");
    assert!(!status.contains("phase:    running"), "{status}");
}

/// Values and bounds are shown in the unit they were written in: a
/// duration as a duration (not "<= 20%" for 200ms), a Prometheus number as
/// a number (not "<= 25000%" for 250), and status shows the last response
/// time as a duration (not "5.3%" for 53 ms). The estimate counts only the
/// steps still to take.
#[test]
fn bounds_and_values_are_shown_in_their_own_units() {
    let prom = haproxy_env::Prometheus::start();
    let h = Haproxy::start(&[("blue", good("blue"), 100), ("green", good("green"), 0)]);
    let body = format!(
        "  steps  = [50%, 100%]\n  pause  = 2s\n  analysis {{\n    interval      = 500ms\n    metric \"latency\" {{\n      source = \"haproxy\"\n      stat   = \"response_time\"\n      max    = 200ms\n    }}\n    metric \"queue\" {{\n      source = \"prometheus\"\n      url    = \"{}\"\n      query  = \"vector(3)\"\n      max    = 250\n    }}\n    metric \"p99\" {{\n      source = \"prometheus\"\n      url    = \"{}\"\n      query  = \"vector(0.01)\"\n      max    = 500ms\n    }}\n  }}\n",
        prom.url, prom.url
    );
    let f = fixture("safety-units", &h, &[("blue", 100), ("green", 0)], &body);
    let plan = f.ok(&["plan"]);
    assert!(plan.contains("latency (haproxy response time of green) <= 200ms"), "{plan}");
    assert!(plan.contains("queue (prometheus vector(3)) <= 250;"), "{plan}");
    assert!(plan.contains("p99 (prometheus vector(0.01)) <= 500ms"), "{plan}");
    assert!(plan.contains("# about 4s if every step passes"), "{plan}");
    let (code, out, err, _) = apply_under_load(&f, &h, 2);
    assert_eq!(code, Some(0), "{out}{err}");
    let status = f.ok(&["rollout", "status", "web"]);
    assert!(status.contains("queue = 3") && status.contains("p99 = 10ms"), "{status}");
    assert!(status.contains("latency = ") && status.contains("ms,") && !status.contains("latency = 0."), "{status}");
}

/// A webhook receiver on loopback: the JSON bodies POSTed to it.
fn receiver() -> (String, Arc<std::sync::Mutex<Vec<serde_json::Value>>>) {
    use std::io::{Read, Write};
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://127.0.0.1:{}/hook", l.local_addr().unwrap().port());
    let got: Arc<std::sync::Mutex<Vec<serde_json::Value>>> = Arc::default();
    let seen = got.clone();
    std::thread::spawn(move || {
        for s in l.incoming() {
            let Ok(mut s) = s else { continue };
            let mut buf = Vec::new();
            let mut chunk = [0u8; 4096];
            // Headers, then Content-Length bytes of body.
            let body = loop {
                match s.read(&mut chunk) {
                    Ok(0) | Err(_) => break None,
                    Ok(n) => buf.extend_from_slice(&chunk[..n]),
                }
                let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else { continue };
                let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
                let len: usize = head
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length:").map(|v| v.trim().parse().unwrap_or(0)))
                    .unwrap_or(0);
                if buf.len() >= end + 4 + len {
                    break Some(buf[end + 4..end + 4 + len].to_vec());
                }
            };
            if let Some(b) = body.and_then(|b| serde_json::from_slice(&b).ok()) {
                seen.lock().unwrap().push(b);
            }
            let _ = s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        }
    });
    (url, got)
}

/// A manual rollback sends the webhook message an apply would
/// (`LANDFORM_NOTIFY` or `--notify`), and after completion `abort` honours
/// the rollback window as `rollback` does.
#[test]
fn manual_rollbacks_notify_and_abort_honours_the_rollback_window() {
    let h = Haproxy::start(&[("blue", good("blue"), 100), ("green", good("green"), 0)]);
    let body = "  steps  = [50%, 100%]\n  pause  = 500ms\n  rollback_window = 3s\n";
    let f = fixture("safety-manual", &h, &[("blue", 100), ("green", 0)], body);
    f.ok(&["apply", "--auto-approve"]);
    assert_eq!(h.weight("green"), "100");
    let (url, got) = receiver();
    let out = f.cmd(&["rollout", "rollback", "web"]).env("LANDFORM_NOTIFY", &url).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let events: Vec<String> =
        got.lock().unwrap().iter().map(|b| b["event"].as_str().unwrap_or_default().to_string()).collect();
    assert_eq!(events, vec!["rollout_rolled_back".to_string()], "{:?}", got.lock().unwrap());
    assert!(!text(&out.stdout).contains(&url) && !text(&out.stderr).contains(&url));
    // Again to 100%, then past the window: abort is refused as rollback is.
    f.ok(&["rollout", "retry", "web"]);
    assert_eq!(h.weight("green"), "100");
    std::thread::sleep(Duration::from_secs(5));
    let out = f.run(&["rollout", "abort", "web"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));
    assert!(text(&out.stderr).contains("rollback window closed"), "{}", text(&out.stderr));
    assert_eq!(h.weight("green"), "100");
}

/// `drift` tells the truth about a rollout's switch: when nothing could be
/// read it does not say "No drift", and weights changed by hand on a switch a
/// rollout owns are not offered back through `landform apply` (an apply
/// never writes them) but through the rollout's commands.
#[test]
fn drift_says_what_it_could_read_and_how_a_rollouts_weights_go_back() {
    let mut h = Haproxy::start(&[("blue", good("blue"), 100), ("green", good("green"), 0)]);
    let body = "  steps  = [50%, 100%]\n  pause  = 500ms\n  gates  = [100%]\n";
    let f = fixture("safety-drift", &h, &[("blue", 100), ("green", 0)], body);
    f.ok(&["apply", "--auto-approve"]);
    assert_eq!(h.weight("green"), "50");
    h.runtime("set server app/green weight 10");
    let drift = f.run(&["drift"]);
    let said = text(&drift.stdout);
    assert_eq!(drift.status.code(), Some(2), "{said}");
    assert!(said.contains("haproxy_backend.app's weights belong to rollout.web"), "{said}");
    assert!(said.contains("landform rollout abort web"), "{said}");
    assert!(!said.contains("To put the real world back as configured: landform apply"), "{said}");
    // HAProxy gone: nothing could be read, and drift does not say all is well.
    h.stop();
    let drift = f.run(&["drift"]);
    let said = format!("{}{}", text(&drift.stdout), text(&drift.stderr));
    assert!(!said.contains("No drift"), "{said}");
    assert!(said.contains("1 of 1 resource could not be read"), "{said}");
    assert_ne!(drift.status.code(), Some(0), "{said}");
}

/// A rollout's name must be one commands can name (`rollout "web/prod"` or
/// `""` could never be aborted), and removing a rollout block whose canary
/// has traffic warns that the plan sets the weights in one step.
#[test]
fn rollout_names_are_identifiers_and_removing_a_rollout_warns() {
    let h = Haproxy::start(&[("blue", good("blue"), 100), ("green", good("green"), 0)]);
    let weights = [("blue", 100), ("green", 0)];
    let f = fixture("safety-names", &h, &weights, "  steps  = [100%]\n  pause  = 500ms\n");
    for bad in ["web/prod", ""] {
        f.write(&format!(
            "{}{}",
            config(&h.api, &weights),
            rollout("  steps  = [100%]\n").replace("rollout \"web\"", &format!("rollout \"{bad}\""))
        ));
        for cmd in [&["validate"][..], &["plan"]] {
            let out = f.run(cmd);
            assert_eq!(out.status.code(), Some(1), "{cmd:?} {bad:?}: {}", text(&out.stdout));
            assert!(text(&out.stderr).contains("Invalid rollout name"), "{}", text(&out.stderr));
        }
    }
    f.write(&format!("{}{}", config(&h.api, &weights), rollout("  steps  = [100%]\n  pause  = 500ms\n")));
    f.ok(&["apply", "--auto-approve"]);
    assert_eq!(h.weight("green"), "100");
    f.write(&config(&h.api, &weights));
    let plan = f.run(&["plan"]);
    let err = text(&plan.stderr);
    assert!(err.contains("Rollout removed") && err.contains("sets its weights as configured in one step"), "{err}");
}

/// A secret in a Prometheus query reaches no output, even when an error
/// quotes the request URL-encoded (a "Prometheus" that answers something
/// other than JSON): not apply's error, not `rollout status`, not the
/// webhook's record.
#[test]
fn a_secret_in_a_prometheus_query_reaches_no_output_even_url_encoded() {
    let h = Haproxy::start(&[("blue", good("blue"), 100), ("green", good("green"), 0)]);
    let not_prometheus = good("not-json");
    let weights = [("blue", 100), ("green", 0)];
    let secret = "s3cr3t value/4711";
    let body = format!(
        "  steps  = [50%, 100%]\n  pause  = 500ms\n  analysis {{\n    interval      = 250ms\n    consecutive_error_limit = 0\n    metric \"q\" {{\n      source = \"prometheus\"\n      url    = \"http://127.0.0.1:{not_prometheus}\"\n      query  = \"sum(up{{token=\\\"${{var.token}}\\\"}})\"\n      max    = 1\n    }}\n  }}\n"
    );
    let f = fixture("safety-secret-query", &h, &weights, &body);
    f.write(&format!("{}variable \"token\" {{\n  sensitive = true\n}}\n{}", config(&h.api, &weights), rollout(&body)));
    let (url, got) = receiver();
    let out = f.cmd(&["apply", "--auto-approve", "--notify", &url]).env("LANDFORM_VAR_token", secret).output().unwrap();
    let mut seen = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(1), "{seen}");
    assert!(seen.contains("Prometheus's answer is not JSON"), "{seen}");
    let status = f.cmd(&["rollout", "status", "web"]).env("LANDFORM_VAR_token", secret).output().unwrap();
    seen.push_str(&text(&status.stdout));
    std::thread::sleep(Duration::from_millis(500));
    seen.push_str(&serde_json::to_string(&*got.lock().unwrap()).unwrap());
    assert!(got.lock().unwrap().iter().any(|b| b["event"] == "rollout_rolled_back"), "{seen}");
    for form in ["s3cr3t", "s3cr3t+value", "s3cr3t%20value"] {
        assert!(!seen.contains(form), "{form} reached the output: {seen}");
    }
}
