//! Refresh: read every managed object through its provider. What it finds is
//! the prior state a plan starts from, and, compared with the state, the
//! drift that plan, `plan --refresh-only` and `landform drift` report.

use crate::drift::{resource_drift, DriftRules, ResourceDrift};
use crate::providers::Providers;
use landform_lang::diag::Diagnostic;
use landform_provider::{ReadAnswer, ReadRequest, ReadResponse, UpgradeRequest};
use landform_state::{ResourceRecord, Snapshot};
use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
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
    let mut found: Vec<Option<landform_provider::Result<ReadAnswer>>> =
        (0..state.resources.len()).map(|_| None).collect();
    // Objects stored by an older schema version are brought to the current
    // one first, read or not: whatever reads them next expects its shape.
    let (mut upgraded, failed) = upgrade_all(providers, state, parallelism, &mut out.diags);
    let read_one = |i: usize| {
        let rec = upgraded.get(&i).unwrap_or(&state.resources[i]);
        progress.read(&rec.addr);
        providers.for_record(&rec.provider, false, &rec.type_name).map(|(p, _)| {
            p.read_answer(ReadRequest { type_name: &rec.type_name, prior: &rec.attributes, private: &rec.private })
        })
    };
    for (i, r) in in_parallel(&to_read, parallelism, read_one) {
        found[i] = r;
    }
    for (i, original) in state.resources.iter().enumerate() {
        if failed.contains(&i) {
            continue;
        }
        let up = upgraded.remove(&i);
        let rec = up.as_ref().unwrap_or(original);
        let (mut now, mut private) = (None, None);
        if read && rec.mode == "managed" {
            let schema = providers.for_record(&rec.provider, false, &rec.type_name).map(|(_, s)| s);
            let answer = found[i].take().map(|r| {
                r.map(|a| {
                    out.diags.extend(a.warnings.iter().map(|w| read_warning(&rec.addr, w)));
                    private = a.private;
                    a.response
                })
            });
            match answer {
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
                Some(Ok(ReadResponse::Changed(found))) => {
                    out.drift.extend(resource_drift(rec, Some(&found), schema, rules));
                    now = Some(found);
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
        let mut entry = match (up, now) {
            (None, None) => Cow::Borrowed(original),
            (Some(up), None) => Cow::Owned(up),
            (up, Some(attributes)) => {
                Cow::Owned(ResourceRecord { attributes, ..up.unwrap_or_else(|| original.clone()) })
            }
        };
        // The provider's private data, when its read changed it.
        if let Some(p) = private {
            entry.to_mut().private = p;
        }
        out.prior.insert(original.addr.clone(), entry);
    }
    out.drift.sort_by(|a, b| a.address.cmp(&b.address));
    out
}

/// A provider's warning about reading an object, with its address.
fn read_warning(addr: &str, w: &landform_provider::ProviderError) -> Diagnostic {
    Diagnostic {
        severity: landform_lang::diag::Severity::Warning,
        summary: format!("{addr}: {}", w.summary),
        detail: w.detail.clone(),
        span: None,
    }
}

/// `f` of each of `items`, at most `parallelism` at once, with the item each answers.
fn in_parallel<T: Send>(items: &[usize], parallelism: usize, f: impl Fn(usize) -> T + Sync) -> Vec<(usize, T)> {
    let workers = parallelism.max(1).min(items.len());
    if workers <= 1 {
        return items.iter().map(|&i| (i, f(i))).collect();
    }
    let next = AtomicUsize::new(0);
    let results: Vec<Vec<(usize, T)>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                s.spawn(|| {
                    let mut mine = Vec::new();
                    loop {
                        let k = next.fetch_add(1, Ordering::Relaxed);
                        let Some(&i) = items.get(k) else { break };
                        mine.push((i, f(i)));
                    }
                    mine
                })
            })
            .collect();
        // A provider that panics is a bug; what it did not answer is reported as an error by the caller.
        handles.into_iter().map(|h| h.join().unwrap_or_default()).collect()
    });
    results.into_iter().flatten().collect()
}

/// The schema version a managed record's provider has for its type, when a
/// provider is there for it.
fn current_version(rec: &ResourceRecord, providers: &Providers) -> Option<u64> {
    (rec.mode == "managed")
        .then(|| providers.for_record(&rec.provider, false, &rec.type_name).map(|(_, s)| s.version))?
}

/// Each managed record stored by another schema version than its provider's
/// (every one, for a provider that upgrades every object: a plugin), brought
/// to the current one by the provider (Terraform's UpgradeResourceState), at
/// most `parallelism` at once, by its index in the snapshot: only those the
/// upgrade changed. One the provider cannot upgrade, or stored by a newer
/// version than the provider's, is an error naming it, and among the failed.
pub fn upgrade_all(
    providers: &Providers,
    state: &Snapshot,
    parallelism: usize,
    diags: &mut Vec<Diagnostic>,
) -> (HashMap<usize, ResourceRecord>, HashSet<usize>) {
    let (mut out, mut failed) = (HashMap::new(), HashSet::new());
    let mut todo = Vec::new();
    for (i, rec) in state.resources.iter().enumerate() {
        let Some(version) = current_version(rec, providers) else { continue };
        let Some((p, _)) = providers.for_record(&rec.provider, false, &rec.type_name) else { continue };
        if rec.schema_version > version {
            diags.push(Diagnostic::global(
                format!("Resource instance managed by newer provider version: {}", rec.addr),
                format!(
                    "The state's object was written by version {} of the {} schema, and this provider has version {version}: it is a newer provider's. Use that provider version (or newer) with this state.",
                    rec.schema_version, rec.type_name
                ),
            ));
            failed.insert(i);
        } else if rec.schema_version != version || p.upgrades_every_object() {
            todo.push(i);
        }
    }
    let upgrade_one = |i: usize| {
        let rec = &state.resources[i];
        let (p, schema) = providers.for_record(&rec.provider, false, &rec.type_name)?;
        let req = UpgradeRequest { type_name: &rec.type_name, version: rec.schema_version, state: &rec.attributes };
        Some((schema.version, p.upgrade(req)))
    };
    for (i, answer) in in_parallel(&todo, parallelism, upgrade_one) {
        let rec = &state.resources[i];
        match answer {
            Some((version, Ok(attributes))) if version != rec.schema_version || attributes != rec.attributes => {
                out.insert(i, ResourceRecord { attributes, schema_version: version, ..rec.clone() });
            }
            Some((_, Ok(_))) => {}
            Some((version, Err(e))) => {
                diags.push(Diagnostic::global(
                    format!("Error upgrading {}", rec.addr),
                    format!(
                        "its object is stored by version {} of the {} schema and the provider could not bring it to version {version}: {e}",
                        rec.schema_version, rec.type_name
                    ),
                ));
                failed.insert(i);
            }
            None => {}
        }
    }
    (out, failed)
}
