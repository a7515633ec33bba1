//! `apply --notify URL`: a webhook message when a rollout starts, takes a
//! step, pauses for a person, completes or rolls back. The messages go out in
//! order from a thread of their own, so apply never waits on the receiver;
//! the ones still queued are sent (for a few seconds at most) before apply
//! exits. Each is retried on errors, 429 and 5xx. The URL may carry a token:
//! it is never printed.

use landform_engine::apply::{Event, Progress};
use std::sync::mpsc::{channel, Sender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub struct Notifier {
    inner: Arc<dyn Progress>,
    tx: Mutex<Option<Sender<(String, serde_json::Value)>>>,
    worker: Mutex<Option<std::thread::JoinHandle<()>>>,
}

/// The words of a rollout event, for people (Slack-compatible `text`).
fn text(name: &str, event: &str, record: &serde_json::Value) -> String {
    let weights = record["weights"]
        .as_object()
        .map(|w| w.iter().map(|(k, v)| format!("{k} = {v}")).collect::<Vec<_>>().join(", "))
        .unwrap_or_default();
    let canary = landform_engine::rollout::pool(record["canary"].as_str().unwrap_or("the canary"));
    let stable = landform_engine::rollout::pool(record["stable"].as_str().unwrap_or("the stable pool"));
    let what = match event {
        "started" => format!("started moving traffic from {stable} to {canary}"),
        "resumed" => format!("resumed at {{ {weights} }}"),
        "step" => {
            format!("step {}/{}: {{ {weights} }}", record["step"], record["steps"].as_array().map_or(0, Vec::len))
        }
        "paused" => format!("paused for a person at {{ {weights} }}: `landform rollout promote {name}` goes on"),
        "complete" => format!("complete: all traffic on {canary}"),
        "rolled_back" | "aborted" => {
            format!(
                "{} to {stable}: {}",
                event.replace('_', " "),
                record["reason"].as_str().unwrap_or("no reason recorded")
            )
        }
        other => other.to_string(),
    };
    landform_lang::secrets::redact(&format!("rollout.{name}: {what}")).into_owned()
}

impl Notifier {
    pub fn new(inner: Arc<dyn Progress>, urls: Vec<String>) -> Notifier {
        landform_lang::secrets::remember_texts(urls.clone());
        let (tx, rx) = channel::<(String, serde_json::Value)>();
        let worker = std::thread::spawn(move || {
            let client = match crate::http::Client::new("rollout notifications", Duration::from_secs(5), 64 << 10) {
                Ok(c) => c,
                Err(e) => {
                    crate::errln!("notify: cannot send notifications: {e}");
                    return;
                }
            };
            for (event, body) in rx {
                for url in &urls {
                    send(&client, url, &event, &body);
                }
            }
        });
        Notifier { inner, tx: Mutex::new(Some(tx)), worker: Mutex::new(Some(worker)) }
    }

    /// Send what is queued (waiting at most `limit`), then stop.
    pub fn finish(&self, limit: Duration) {
        drop(self.tx.lock().ok().and_then(|mut t| t.take()));
        let Some(worker) = self.worker.lock().ok().and_then(|mut w| w.take()) else { return };
        let start = Instant::now();
        while !worker.is_finished() && start.elapsed() < limit {
            std::thread::sleep(Duration::from_millis(20));
        }
        if worker.is_finished() {
            let _ = worker.join();
        } else {
            crate::errln!("notify: some notifications were not sent before apply ended");
        }
    }
}

fn send(client: &crate::http::Client, url: &str, event: &str, body: &serde_json::Value) {
    let mut delay = Duration::from_millis(500);
    for attempt in 1..=4 {
        let req = crate::http::Request::new(reqwest::Method::POST, url).json(body);
        let why = match client.send(req) {
            Ok(r) if r.status().is_success() => return,
            Ok(r) if r.status().is_client_error() && r.status().as_u16() != 429 => {
                crate::errln!("notify: the receiver refused {event} with {}; not retrying", r.status());
                return;
            }
            Ok(r) => format!("the receiver answered {}", r.status()),
            Err(e) => e,
        };
        if attempt == 4 {
            crate::errln!("notify: could not send {event}: {why}");
            return;
        }
        std::thread::sleep(delay);
        delay *= 2;
    }
}

impl Progress for Notifier {
    fn event(&self, e: Event) {
        if let Event::Rollout { name, event, record } = &e {
            // The record's words (a reason quoting an error) carry no secret either.
            let record =
                serde_json::from_str::<serde_json::Value>(&landform_lang::secrets::redact(&record.to_string()))
                    .unwrap_or_else(|_| record.clone());
            let body = serde_json::json!({
                "text": text(name, event, &record),
                "event": format!("rollout_{event}"),
                "rollout": name,
                "record": record,
            });
            if let Some(tx) = self.tx.lock().ok().and_then(|t| t.clone()) {
                let _ = tx.send((event.clone(), body));
            }
        }
        self.inner.event(e);
    }
}
