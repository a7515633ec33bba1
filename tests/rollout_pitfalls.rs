//! The pitfalls other rollout tools fell into (the design note's list, from
//! Argo Rollouts' and Flagger's issues and HAProxy's documentation), each
//! with a test on the real binary against a real HAProxy. Where the test
//! lives elsewhere, this list names it:
//!
//! | pitfall | what Landform does | test |
//! |---|---|---|
//! | argo #2864, #4433: traffic sent to a pool that cannot take it | health gate before each step; weights written and read back | `haproxy::traffic_never_moves_to_a_canary_that_is_down`, `the_final_step_is_verified_before_the_rollout_is_complete` |
//! | argo #3333, #3926, #4595: complete while the old pool still took traffic | every step verified by reading the switch back, the last one too | `the_final_step_is_verified_before_the_rollout_is_complete` |
//! | argo #4841, #1838: traffic still reached the canary after an abort | a constant abort target (the run's baseline), read back; the canary cut off (HAProxy maintenance) so sessions that stick to it move too | `after_an_abort_no_request_reaches_the_canary_not_even_a_sticky_one`, `rollout_safety::abort_to_a_stable_server_that_is_down_is_refused_without_force` |
//! | argo #4479: every measurement errored or failed, yet Successful | a step passes only on a passing sample; errors in a row over the limit fail it | `a_metric_that_only_errors_never_passes`, `rollout_safety::a_canary_failing_30_percent_is_rolled_back_at_the_first_step_when_pause_equals_interval` |
//! | argo #4792: flaky metrics roll back good releases | `for` windows (consecutive failures) beside a total `failure_limit` | `haproxy::for_windows_canary_versus_stable_and_consecutive_errors` |
//! | argo #3015: stuck after an inconclusive analysis and a promote | no data fails the step at its progress deadline, recorded with why; `rollout retry` runs it again | `no_data_ends_at_the_progress_deadline_with_a_recorded_decision_and_retry_runs_again` |
//! | argo #720: a stale state applied twice | one operation holds the state's lock; a second apply is refused and moves nothing | `a_second_apply_while_a_rollout_runs_is_refused_and_moves_nothing` |
//! | flagger #1581, #1035; argo #1466, #3503, #1548: empty results judged differently per source | one outcome, no data, decided by the engine: never a pass, never a failure | `haproxy::http_probes_and_prometheus_queries_judge_a_canary_and_no_data_never_passes` |
//! | HAProxy: a reload loses the weights set at run time and starts the counters again | the switch's process is watched; the step's weights are set again and the interval dropped | `a_reload_that_loses_the_weights_has_them_set_again` |
//! | HAProxy: static algorithms ignore weights | refused before any traffic moves, saying which algorithms work | `a_backend_whose_algorithm_ignores_weights_is_refused_before_traffic_moves` |
//! | HAProxy: 5xx blind spot (its own 502/503s are not in the server's `hrsp_5xx`) | connection and response errors (`econ`, `eresp`) count as errors | `rollout_safety::a_canary_that_refuses_connections_is_rolled_back_at_the_first_step` |

mod common;
#[path = "common/haproxy.rs"]
mod haproxy_env;

use common::{text, Fixture};
use haproxy_env::{config, good, rollout, server, Behaviour, Haproxy, Load};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

/// The first apply sets the switch to `weights`; then the rollout is added.
fn fixture(name: &str, h: &Haproxy, weights: &[(&str, u32)], body: &str) -> Fixture {
    let f = Fixture::new(name, &config(&h.api, weights));
    f.ok(&["apply", "--auto-approve"]);
    f.write(&format!("{}{}", config(&h.api, weights), rollout(body)));
    f
}

fn spawn(f: &Fixture, args: &[&str]) -> Child {
    f.cmd(args).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap()
}

fn wait_for(what: &str, limit: Duration, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < limit, "{what} never came");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// One request through the frontend with `cookie` (may be empty): (body or
/// status line, the `SRV` cookie HAProxy set, if any).
fn get_with_cookie(front: u16, cookie: &str) -> (String, Option<String>) {
    let mut s = TcpStream::connect(("127.0.0.1", front)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(15))).unwrap();
    let cookie = if cookie.is_empty() { String::new() } else { format!("Cookie: {cookie}\r\n") };
    s.write_all(format!("GET / HTTP/1.1\r\nHost: x\r\n{cookie}Connection: close\r\n\r\n").as_bytes()).unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    let set = out
        .lines()
        .find_map(|l| l.strip_prefix("set-cookie: ").or_else(|| l.strip_prefix("Set-Cookie: ")))
        .map(|c| c.split(';').next().unwrap_or_default().to_string());
    let body = if out.starts_with("HTTP/1.1 200") {
        out.rsplit("\r\n\r\n").next().unwrap_or_default().to_string()
    } else {
        out.lines().next().unwrap_or_default().to_string()
    };
    (body, set)
}

/// HAProxy: a reload (or restart) loses the weights set at run time — here
/// the configuration gives the canary as much as the stable server, so a
/// reload in the middle of a 10% step would hand it half the traffic. The
/// rollout sees the new process, sets the step's weights again at once, and
/// drops the interval's measurement; the rollout then completes.
#[test]
fn a_reload_that_loses_the_weights_has_them_set_again() {
    let mut h = Haproxy::start(&[("blue", good("blue"), 100), ("green", good("green"), 100)]);
    let body = "  steps  = [10%, 100%]\n  pause  = 8s\n  analysis {\n    interval      = 500ms\n    failure_limit = 0\n    metric \"errors\" {\n      source = \"haproxy\"\n      max    = 1%\n    }\n  }\n";
    // Landform's weights: all on blue before the rollout.
    let f = fixture("pitfall-reload", &h, &[("blue", 100), ("green", 0)], body);
    let load = Load::start(h.front, 2);
    let apply = spawn(&f, &["apply", "--auto-approve"]);
    wait_for("the first step", Duration::from_secs(20), || !["0", ""].contains(&h.weight("green").as_str()));
    let step = (h.weight("blue"), h.weight("green"));
    std::thread::sleep(Duration::from_millis(1500));
    // The reload: back to the configuration's 100/100.
    h.restart();
    let reloaded = Instant::now();
    assert_eq!(h.weight("green"), "100", "the restart did not lose the weights: the test proves nothing");
    wait_for("the step's weights set again", Duration::from_secs(4), || (h.weight("blue"), h.weight("green")) == step);
    eprintln!("weights {step:?} set again {:?} after the reload", reloaded.elapsed());
    let out = apply.wait_with_output().unwrap();
    load.stop();
    let (said, err) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "{said}{err}");
    assert!(said.contains("restarted (its counters started again): the step's weights"), "{said}");
    assert!(said.contains("complete: all traffic on green"), "{said}");
}

/// HAProxy: `balance static-rr` (and `first`) ignore the weights set at run
/// time: the rollout is refused before any traffic moves, and says which
/// algorithms work. A hash balanced by a static map (`balance source`) is
/// refused by HAProxy when the first weight is set: the same advice, and the
/// weights stay as they were.
#[test]
fn a_backend_whose_algorithm_ignores_weights_is_refused_before_traffic_moves() {
    for (balance, says) in [("static-rr", "balances with static-rr"), ("source", "hash-type consistent")] {
        let (b, g) = (good("blue"), good("green"));
        let h = Haproxy::start_backend(&format!(
            "    balance {balance}\n    server blue 127.0.0.1:{b} weight 100\n    server green 127.0.0.1:{g} weight 0\n"
        ));
        let body = "  steps  = [25%, 100%]\n  pause  = 1s\n";
        let f = fixture(&format!("pitfall-static-{balance}"), &h, &[("blue", 100), ("green", 0)], body);
        let out = f.run(&["apply", "--auto-approve"]);
        let (said, err) = (text(&out.stdout), text(&out.stderr));
        assert_eq!(out.status.code(), Some(1), "{balance}: {said}{err}");
        assert!(err.contains(says) && err.contains("dynamic algorithm"), "{balance}: {err}");
        assert!(!said.contains("complete"), "{balance}: {said}");
        assert_eq!((h.weight("blue"), h.weight("green")), ("100".into(), "0".into()), "{balance}");
    }
}

/// Argo #4841, #1838: after an abort, traffic still reached the canary. A
/// weight of 0 still takes sessions that stick to a server (HAProxy's
/// cookie persistence): the abort also puts the canary in maintenance, so a
/// client holding the canary's cookie is served by the stable server. The
/// next run (`rollout retry`, then apply) lets the canary take traffic again.
#[test]
fn after_an_abort_no_request_reaches_the_canary_not_even_a_sticky_one() {
    let (b, g) = (good("blue"), good("green"));
    let h = Haproxy::start_backend(&format!(
        "    balance roundrobin\n    cookie SRV insert indirect nocache\n    server blue 127.0.0.1:{b} weight 100 cookie b\n    server green 127.0.0.1:{g} weight 0 cookie g\n"
    ));
    let body = "  steps  = [50%, 100%]\n  pause  = 10m\n";
    let f = fixture("pitfall-sticky-abort", &h, &[("blue", 100), ("green", 0)], body);
    let apply = spawn(&f, &["apply", "--auto-approve"]);
    wait_for("the first step", Duration::from_secs(20), || h.weight("green") != "0");
    // A client that lands on green keeps its cookie.
    let mut sticky = None;
    for _ in 0..50 {
        if let (body, Some(cookie)) = get_with_cookie(h.front, "") {
            if body == "green" {
                sticky = Some(cookie);
                break;
            }
        }
    }
    let sticky = sticky.expect("no request reached green at 50%");
    assert_eq!(get_with_cookie(h.front, &sticky).0, "green", "the cookie does not stick: the test proves nothing");
    let abort = f.run(&["rollout", "abort", "web"]);
    assert_eq!(abort.status.code(), Some(0), "{}{}", text(&abort.stdout), text(&abort.stderr));
    let applied = apply.wait_with_output().unwrap();
    assert_eq!(applied.status.code(), Some(1), "{}", text(&applied.stderr));
    assert_eq!(h.weight("green"), "0");
    let answers: Vec<String> = (0..20).map(|_| get_with_cookie(h.front, &sticky).0).collect();
    assert!(answers.iter().all(|a| a == "blue"), "after the abort the sticky client got: {answers:?}");
    // A new release (the rollout block changed) runs again: green takes traffic again.
    f.write(&format!(
        "{}{}",
        config(&h.api, &[("blue", 100), ("green", 0)]),
        rollout("  steps  = [50%, 100%]\n  pause  = 1s\n")
    ));
    let out = f.run(&["apply", "--auto-approve"]);
    assert_eq!(out.status.code(), Some(0), "{}{}", text(&out.stdout), text(&out.stderr));
    assert!(text(&out.stdout).contains("complete: all traffic on green"), "{}", text(&out.stdout));
    let answers: Vec<String> = (0..10).map(|_| get_with_cookie(h.front, "").0).collect();
    assert!(answers.iter().all(|a| a == "green"), "after the new run: {answers:?}");
}

/// Argo #4479: a run where every measurement errored was Successful. Here a
/// metric whose source never answers fails the step once its errors in a
/// row pass the limit; the rollout never completes and traffic goes back.
#[test]
fn a_metric_that_only_errors_never_passes() {
    let h = Haproxy::start(&[("blue", good("blue"), 100), ("green", good("green"), 0)]);
    let closed = haproxy_env::free_port();
    let body = format!(
        "  steps  = [25%, 100%]\n  pause  = 1s\n  analysis {{\n    interval = 200ms\n    consecutive_error_limit = 2\n    metric \"latency\" {{\n      source = \"prometheus\"\n      url    = \"http://127.0.0.1:{closed}\"\n      query  = \"vector(0)\"\n      max    = 1\n    }}\n  }}\n"
    );
    let f = fixture("pitfall-only-errors", &h, &[("blue", 100), ("green", 0)], &body);
    let load = Load::start(h.front, 1);
    let out = f.run(&["apply", "--auto-approve"]);
    load.stop();
    let (said, err) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(1), "{said}{err}");
    assert!(err.contains("analysis error") && err.contains("consecutive_error_limit 2"), "{err}");
    assert!(err.contains("rolled back: all traffic is on blue again"), "{err}");
    assert!(!said.contains("complete"), "{said}");
    assert_eq!((h.weight("blue"), h.weight("green")), ("100".into(), "0".into()));
}

/// Argo #3015: a rollout stuck after an inconclusive analysis. No data (the
/// canary gets no requests) ends the step at its progress deadline, with the
/// decision and why recorded (`rollout status`), traffic back on the stable
/// pool; a person's `rollout retry` runs it again, and with traffic it completes.
#[test]
fn no_data_ends_at_the_progress_deadline_with_a_recorded_decision_and_retry_runs_again() {
    let h = Haproxy::start(&[("blue", good("blue"), 100), ("green", good("green"), 0)]);
    let body = "  steps  = [25%, 100%]\n  pause  = 1s\n  progress_deadline = 3s\n  analysis {\n    interval = 500ms\n    metric \"errors\" {\n      source = \"haproxy\"\n      max    = 1%\n    }\n  }\n";
    let f = fixture("pitfall-inconclusive", &h, &[("blue", 100), ("green", 0)], body);
    let started = Instant::now();
    let out = f.run(&["apply", "--auto-approve"]);
    let (said, err) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(1), "{said}{err}");
    assert!(started.elapsed() < Duration::from_secs(30), "it took {:?}", started.elapsed());
    assert!(err.contains("analysis inconclusive") && err.contains("received no requests"), "{err}");
    assert_eq!((h.weight("blue"), h.weight("green")), ("100".into(), "0".into()));
    let status = f.ok(&["rollout", "status", "web"]);
    assert!(status.contains("phase:    rolled_back") && status.contains("inconclusive"), "{status}");
    // Not run again by itself…
    let again = f.run(&["apply", "--auto-approve"]);
    assert_eq!(again.status.code(), Some(0), "{}", text(&again.stderr));
    assert_eq!(h.weight("green"), "0");
    // …but when a person retries it (which runs it at once), with traffic this time.
    let load = Load::start(h.front, 2);
    let out = f.run(&["rollout", "retry", "web"]);
    load.stop();
    assert_eq!(out.status.code(), Some(0), "{}{}", text(&out.stdout), text(&out.stderr));
    assert!(text(&out.stdout).contains("complete: all traffic on green"), "{}", text(&out.stdout));
}

/// Argo #720: a stale state applied twice. While a rollout runs, a second
/// apply is refused by the state's lock (exit 1, who holds it) and moves no
/// weight; the rollout goes on.
#[test]
fn a_second_apply_while_a_rollout_runs_is_refused_and_moves_nothing() {
    let h = Haproxy::start(&[("blue", good("blue"), 100), ("green", good("green"), 0)]);
    let body = "  steps  = [25%, 100%]\n  pause  = 4s\n";
    let f = fixture("pitfall-second-apply", &h, &[("blue", 100), ("green", 0)], body);
    let apply = spawn(&f, &["apply", "--auto-approve"]);
    wait_for("the first step", Duration::from_secs(20), || h.weight("green") == "25");
    let second = f.run(&["apply", "--auto-approve"]);
    let err = text(&second.stderr);
    assert_eq!(second.status.code(), Some(1), "{}{err}", text(&second.stdout));
    assert!(err.contains("lock"), "{err}");
    assert_eq!(h.weight("green"), "25", "the second apply moved a weight");
    let out = apply.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!((h.weight("blue"), h.weight("green")), ("0".into(), "100".into()));
}

/// Argo #3333, #3926, #4595: a rollout said complete while the old pool
/// still took traffic. Every step, the last one too, is read back from the
/// switch before it counts: when "complete" is printed HAProxy already
/// sends everything to green, and a request right then reaches green.
#[test]
fn the_final_step_is_verified_before_the_rollout_is_complete() {
    let failing = Behaviour::new(0, 0);
    let h = Haproxy::start(&[("blue", good("blue"), 100), ("green", server("green", failing), 0)]);
    let body = "  steps  = [50%, 100%]\n  pause  = 500ms\n";
    let f = fixture("pitfall-verify-last", &h, &[("blue", 100), ("green", 0)], body);
    let mut apply = spawn(&f, &["apply", "--auto-approve"]);
    let mut stdout = apply.stdout.take().unwrap();
    let mut seen = String::new();
    let mut buf = [0u8; 256];
    while !seen.contains("complete: all traffic on green") {
        let n = stdout.read(&mut buf).unwrap();
        assert!(n > 0, "the apply ended without completing: {seen}");
        seen.push_str(&String::from_utf8_lossy(&buf[..n]));
    }
    // The moment it says so, HAProxy already has it.
    assert_eq!((h.weight("blue"), h.weight("green")), ("0".into(), "100".into()));
    let answers: Vec<String> = (0..10).map(|_| get_with_cookie(h.front, "").0).collect();
    assert!(answers.iter().all(|a| a == "green"), "{answers:?}");
    assert_eq!(apply.wait().unwrap().code(), Some(0));
}
