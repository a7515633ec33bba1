//! How rollouts measure `http` and `prometheus` metrics: the engine asks, the
//! CLI's HTTP client (reqwest, blocking, on apply's blocking threads) answers.
//! No answer, or an empty query result, is no data: inconclusive, never a pass.

use crate::http::Request;
use landform_engine::rollout::{Measure, MetricSpec};
use std::time::Duration;

pub struct Http;

/// The blocking client runs a runtime of its own, which may not be dropped
/// inside apply's: built on first use, on a blocking thread, and never dropped.
/// It follows the one HTTP policy (crate::http): TLS unless loopback, a
/// deadline, a size limit on every answer.
static CLIENT: std::sync::OnceLock<Result<crate::http::Client, String>> = std::sync::OnceLock::new();

fn client() -> Result<&'static crate::http::Client, String> {
    CLIENT
        .get_or_init(|| crate::http::Client::new("rollout analysis", Duration::from_secs(5), 16 << 20))
        .as_ref()
        .map_err(Clone::clone)
}

/// Probes of an `http` metric per interval.
const PROBES: usize = 5;
/// Probes per interval of an `http` metric that measures latency.
const LATENCY_PROBES: usize = 20;

impl Measure for Http {
    fn measure(&self, m: &MetricSpec) -> Result<Option<f64>, String> {
        let url = m.url.as_deref().ok_or("no url")?;
        // A URL the HTTP policy refuses is an analysis error, said once,
        // never a probe that merely failed (which would read as a bad canary).
        let parsed = reqwest::Url::parse(url).map_err(|e| format!("{} is not a URL: {e}", m.shown_url()))?;
        crate::http::check_url(&parsed)?;
        match m.source.as_str() {
            // A latency percentile of the probes answered with a 2xx or 3xx;
            // none answered is no data.
            "http" if m.percentile.is_some() => {
                let c = client()?;
                let mut took: Vec<f64> = (0..LATENCY_PROBES)
                    .filter_map(|_| {
                        let start = std::time::Instant::now();
                        let r = c
                            .send(Request::get(url))
                            .ok()
                            .filter(|r| r.status().is_success() || r.status().is_redirection())?;
                        r.bytes().ok()?;
                        (start.elapsed().as_secs_f64()).into()
                    })
                    .collect();
                if took.is_empty() {
                    return Ok(None);
                }
                took.sort_by(f64::total_cmp);
                // Nearest rank.
                let p = m.percentile.unwrap_or(95.0) / 100.0;
                let rank = ((p * took.len() as f64).ceil() as usize).clamp(1, took.len());
                Ok(Some(took[rank - 1]))
            }
            // The share of probes answered with a 2xx or 3xx.
            "http" => {
                let c = client()?;
                let ok = (0..PROBES)
                    .filter(|_| {
                        c.send(Request::get(url)).is_ok_and(|r| r.status().is_success() || r.status().is_redirection())
                    })
                    .count();
                Ok(Some(ok as f64 / PROBES as f64))
            }
            // An instant query: every series it returns must pass, so the
            // worst of them is judged (the highest against a max, the lowest
            // against a min). None, or a series without a number, is no data.
            "prometheus" => {
                let query = m.query.as_deref().ok_or("no query")?;
                let endpoint = reqwest::Url::parse_with_params(
                    &format!("{}/api/v1/query", url.trim_end_matches('/')),
                    &[("query", query)],
                )
                .map_err(|e| format!("{} is not a URL: {e}", m.shown_url()))?;
                let resp = client()?
                    .send(Request::get(endpoint.as_str()))
                    .map_err(|e| format!("Prometheus at {} did not answer: {e}", m.shown_url()))?;
                let status = resp.status();
                let body = resp.json().map_err(|e| format!("Prometheus's {}", e.trim_start_matches("the ")))?;
                if !status.is_success() || body["status"] != "success" {
                    return Err(format!(
                        "Prometheus refused the query ({status}): {}",
                        body["error"].as_str().unwrap_or("no reason given")
                    ));
                }
                let result = &body["data"]["result"];
                let values: Vec<&serde_json::Value> = match body["data"]["resultType"].as_str() {
                    Some("vector") => result.as_array().into_iter().flatten().map(|s| &s["value"][1]).collect(),
                    Some("scalar") => vec![&result[1]],
                    other => {
                        return Err(format!(
                            "the query returns a {}: a metric needs an instant vector or a scalar",
                            other.unwrap_or("result of no known type")
                        ))
                    }
                };
                let numbers: Vec<Option<f64>> = values
                    .into_iter()
                    .map(|v| v.as_str().and_then(|s| s.parse::<f64>().ok()).filter(|v| v.is_finite()))
                    .collect();
                Ok(worst(m, &numbers))
            }
            other => Err(format!("no way to measure {other} metrics")),
        }
    }
}

/// The series that decides a metric: each must pass, so the one out of
/// bounds (the highest against a max, else the lowest against a min), else
/// the one nearest a bound. None when there is no series, or one of them
/// has no number (a series without data has not passed).
fn worst(m: &MetricSpec, series: &[Option<f64>]) -> Option<f64> {
    let values: Vec<f64> = series.iter().copied().collect::<Option<Vec<f64>>>()?;
    let high = values.iter().copied().reduce(f64::max)?;
    let low = values.iter().copied().reduce(f64::min)?;
    match (m.max, m.min) {
        (Some(x), _) if high > x => Some(high),
        (_, Some(x)) if low < x => Some(low),
        (None, Some(_)) => Some(low),
        _ => Some(high),
    }
}
