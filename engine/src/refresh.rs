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
/// nothing is read and nothing drifts).
pub fn refresh<'s>(
    providers: &Providers,
    state: &'s Snapshot,
    rules: &DriftRules,
    read: bool,
    progress: &dyn RefreshProgress,
) -> Refreshed<'s> {
    let mut out = Refreshed { prior: HashMap::new(), gone: Vec::new(), drift: Vec::new(), diags: Vec::new() };
    if read {
        progress.total(state.resources.iter().filter(|r| r.mode == "managed").count());
    }
    for rec in &state.resources {
        let mut entry = Cow::Borrowed(rec);
        if read && rec.mode == "managed" {
            progress.read(&rec.addr);
            if let Some((p, schema)) = providers.for_record(&rec.provider, false, &rec.type_name) {
                match p.read(ReadRequest { type_name: &rec.type_name, prior: &rec.attributes }) {
                    Ok(ReadResponse::Unchanged) => {}
                    Ok(ReadResponse::Changed(now)) => {
                        out.drift.extend(resource_drift(rec, Some(&now), Some(schema), rules));
                        entry.to_mut().attributes = now;
                    }
                    // Gone outside Landform: forgotten, and created again if still configured.
                    Ok(ReadResponse::Gone) => {
                        out.drift.extend(resource_drift(rec, None, Some(schema), rules));
                        out.gone.push(rec.addr.clone());
                        continue;
                    }
                    Err(e) => {
                        out.diags.push(Diagnostic::global(format!("Error refreshing {}", rec.addr), e.to_string()));
                        continue;
                    }
                }
            }
        }
        out.prior.insert(rec.addr.clone(), entry);
    }
    out.drift.sort_by(|a, b| a.address.cmp(&b.address));
    out
}
