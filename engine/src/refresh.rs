//! Refresh: read every managed object through its provider. What it finds is
//! the prior state a plan starts from, and, compared with the state, the
//! drift that plan, `plan --refresh-only` and `landform drift` report.

use crate::drift::{resource_drift, DriftRules, ResourceDrift};
use crate::providers::Providers;
use landform_lang::diag::Diagnostic;
use landform_provider::{ReadRequest, ReadResponse};
use landform_state::{ResourceRecord, Snapshot};
use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Told as refresh goes, for a progress display.
pub trait RefreshProgress: Sync {
    fn total(&self, _n: usize) {}
    fn read(&self, _addr: &str) {}
}

/// No progress display.
pub struct Quiet;
impl RefreshProgress for Quiet {}

/// What refresh found.
pub struct Refreshed<'s> {
    /// Every record still there, borrowed from the snapshot unless refresh
    /// found it changed.
    pub prior: HashMap<String, Cow<'s, ResourceRecord>>,
    /// Instances deleted outside Landform.
    pub gone: Vec<String>,
    /// What of it to tell, sorted by address.
    pub drift: Vec<ResourceDrift>,
    pub diags: Vec<Diagnostic>,
}

impl Refreshed<'_> {
    /// The records refresh changed, sorted by address.
    pub fn changed_records(&self) -> Vec<ResourceRecord> {
        let mut out: Vec<ResourceRecord> =
            self.prior.values().filter_map(|c| if let Cow::Owned(r) = c { Some(r.clone()) } else { None }).collect();
        out.sort_by(|a, b| a.addr.cmp(&b.addr));
        out
    }
}

/// Read each managed record of `state` (all of them when `read` is false:
/// nothing is read and nothing drifts), at most `parallelism` reads at once,
/// as apply bounds its operations: a refresh against a cloud API waits on the
/// network for each object. What it finds is put together in the state's order.
pub fn refresh<'s>(
    providers: &Providers,
    state: &'s Snapshot,
    rules: &DriftRules,
    read: bool,
    parallelism: usize,
    progress: &dyn RefreshProgress,
) -> Refreshed<'s> {
    let mut out = Refreshed { prior: HashMap::new(), gone: Vec::new(), drift: Vec::new(), diags: Vec::new() };
    let to_read: Vec<usize> = if read {
        (0..state.resources.len()).filter(|i| state.resources[*i].mode == "managed").collect()
    } else {
        Vec::new()
    };
    if read {
        progress.total(to_read.len());
    }
    let mut found: Vec<Option<landform_provider::Result<ReadResponse>>> =
        (0..state.resources.len()).map(|_| None).collect();
    let read_one = |i: usize| {
        let rec = &state.resources[i];
        progress.read(&rec.addr);
        providers
            .for_record(&rec.provider, false, &rec.type_name)
            .map(|(p, _)| p.read(ReadRequest { type_name: &rec.type_name, prior: &rec.attributes }))
    };
    let workers = parallelism.max(1).min(to_read.len());
    if workers <= 1 {
        for &i in &to_read {
            found[i] = read_one(i);
        }
    } else {
        let next = AtomicUsize::new(0);
        let results: Vec<Vec<(usize, Option<landform_provider::Result<ReadResponse>>)>> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..workers)
                .map(|_| {
                    s.spawn(|| {
                        let mut mine = Vec::new();
                        loop {
                            let k = next.fetch_add(1, Ordering::Relaxed);
                            let Some(&i) = to_read.get(k) else { break };
                            mine.push((i, read_one(i)));
                        }
                        mine
                    })
                })
                .collect();
            // A provider that panics is a bug; it is reported as an error below, not raised here.
            handles.into_iter().map(|h| h.join().unwrap_or_default()).collect()
        });
        for (i, r) in results.into_iter().flatten() {
            found[i] = r;
        }
    }
    for (i, rec) in state.resources.iter().enumerate() {
        let mut entry = Cow::Borrowed(rec);
        if read && rec.mode == "managed" {
            let schema = providers.for_record(&rec.provider, false, &rec.type_name).map(|(_, s)| s);
            match found[i].take() {
                // No provider for it: kept as it is.
                None if schema.is_none() => {}
                None => {
                    out.diags.push(Diagnostic::global(
                        format!("Error refreshing {}", rec.addr),
                        "the provider stopped while reading it".to_string(),
                    ));
                    continue;
                }
                Some(Ok(ReadResponse::Unchanged)) => {}
                Some(Ok(ReadResponse::Changed(now))) => {
                    out.drift.extend(resource_drift(rec, Some(&now), schema, rules));
                    entry.to_mut().attributes = now;
                }
                // Gone outside Landform: forgotten, and created again if still configured.
                Some(Ok(ReadResponse::Gone)) => {
                    out.drift.extend(resource_drift(rec, None, schema, rules));
                    out.gone.push(rec.addr.clone());
                    continue;
                }
                Some(Err(e)) => {
                    out.diags.push(Diagnostic::global(format!("Error refreshing {}", rec.addr), e.to_string()));
                    continue;
                }
            }
        }
        out.prior.insert(rec.addr.clone(), entry);
    }
    out.drift.sort_by(|a, b| a.address.cmp(&b.address));
    out
}
