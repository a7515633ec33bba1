//! Drift for people and machines: the "Objects changed outside Landform"
//! section of a plan, `landform drift`'s report as text, markdown (for an issue
//! or a pull request) and JSON (documented in docs/json-format.md, schema in
//! docs/drift.schema.json).

use super::{heredoc, show, Colors};
use crate::drift::{DriftStatus, ResourceDrift};
use serde_json::{json, Value};
use std::fmt::Write;

/// One drifted or deleted resource as a block, Terraform's way.
pub fn render_resource_drift(d: &ResourceDrift, col: &Colors) -> String {
    let mut out = String::new();
    let kind = if d.mode == "data" { "data" } else { "resource" };
    match d.status {
        DriftStatus::Deleted => {
            let _ = writeln!(out, "  {}# {}{} has been deleted", col.bold, d.address, col.reset);
            let _ = writeln!(out, "  {}-{} {kind} \"{}\" \"{}\" {{", col.red, col.reset, d.type_name, d.name);
            let before = d.before.clone().unwrap_or_default();
            let rows: Vec<(&String, String)> = before
                .iter()
                .filter(|(k, v)| !v.is_null() || crate::sensitivity::touches(&d.sensitive, k))
                .map(|(k, v)| {
                    (
                        k,
                        if crate::sensitivity::touches(&d.sensitive, k) {
                            "(sensitive value)".into()
                        } else {
                            short(v)
                        },
                    )
                })
                .collect();
            let width = rows.iter().map(|r| r.0.len()).max().unwrap_or(0);
            for (k, v) in rows {
                let _ = writeln!(out, "      {}-{} {k:width$} = {v} -> null", col.red, col.reset);
            }
        }
        DriftStatus::Drifted => {
            let _ = writeln!(out, "  {}# {}{} has changed", col.bold, d.address, col.reset);
            let _ = writeln!(out, "  {}~{} {kind} \"{}\" \"{}\" {{", col.yellow, col.reset, d.type_name, d.name);
            let width = d.changes.iter().map(|c| c.path.len()).max().unwrap_or(0);
            for c in &d.changes {
                let text = if c.sensitive {
                    "(sensitive value)".to_string()
                } else if let Some(h) = heredoc(Some(&c.before), &c.after, col) {
                    h
                } else {
                    format!("{} -> {}", show(&c.before), show(&c.after))
                };
                let (sym, colour) = match (&c.before, &c.after) {
                    (Value::Null, _) if !c.sensitive => ("+", col.green),
                    (_, Value::Null) if !c.sensitive => ("-", col.red),
                    _ => ("~", col.yellow),
                };
                let _ = writeln!(out, "      {colour}{sym}{} {:width$} = {text}", col.reset, c.path);
            }
        }
    }
    let _ = writeln!(out, "    }}");
    out
}

/// A value on one line, cut short: a report says what changed, not everything.
fn short(v: &Value) -> String {
    let s = show(v);
    if s.chars().count() > 120 {
        format!("{}…", s.chars().take(119).collect::<String>())
    } else {
        s
    }
}

/// The section a plan opens with when refresh found drift.
pub fn render_drift_section(drift: &[ResourceDrift], refresh_only: bool, col: &Colors) -> String {
    if drift.is_empty() {
        return String::new();
    }
    let mut out = format!(
        "\n{}Note: Objects changed outside Landform{}\n\nLandform detected the following changes made outside of Landform since the last \"landform apply\"{}:\n\n",
        col.bold,
        col.reset,
        if refresh_only { "" } else { " which may have affected this plan" }
    );
    for d in drift {
        out.push_str(&render_resource_drift(d, col));
        out.push('\n');
    }
    if refresh_only {
        out.push_str("This is a refresh-only plan, so Landform will not take any actions to undo these. If you were expecting these changes then you can apply this plan to record the updated values in the Landform state without changing any remote objects.\n");
    } else {
        out.push_str("Unless you have made equivalent changes to your configuration, or ignored the relevant attributes using ignore_changes, the following plan may include actions to undo or respond to these changes.\n");
        let _ = writeln!(out, "\n{}", "─".repeat(77));
    }
    out
}

/// The result of one drift check.
#[derive(Debug, Clone)]
pub struct DriftReport {
    pub workspace: String,
    /// RFC 3339, UTC.
    pub checked_at: String,
    /// Managed instances read.
    pub checked: usize,
    pub resources: Vec<ResourceDrift>,
    /// Instances that could not be read: address and error.
    pub errors: Vec<(String, String)>,
    /// Each rollout's record as the state holds it (for the checker's metrics).
    pub rollouts: std::collections::BTreeMap<String, serde_json::Value>,
}

impl DriftReport {
    pub fn count(&self, status: DriftStatus) -> usize {
        self.resources.iter().filter(|r| r.status == status).count()
    }

    /// What a webhook compares between checks: which instances drifted how.
    pub fn fingerprint(&self) -> Vec<(String, DriftStatus, Vec<String>)> {
        self.resources
            .iter()
            .map(|r| (r.address.clone(), r.status, r.changes.iter().map(|c| c.path.clone()).collect()))
            .collect()
    }

    /// A one-line summary: "2 resources changed outside Landform (1 drifted, 1 deleted)".
    pub fn headline(&self) -> String {
        let read = self.checked.saturating_sub(self.errors.len());
        if self.resources.is_empty() && !self.errors.is_empty() {
            return format!(
                "Drift unknown in workspace \"{}\": {} of {} resource{} could not be read; {read} read match the state.",
                self.workspace,
                self.errors.len(),
                self.checked,
                if self.checked == 1 { "" } else { "s" },
            );
        }
        if self.resources.is_empty() {
            return format!(
                "No drift: the {} resource{} in workspace \"{}\" match the state.",
                self.checked,
                if self.checked == 1 { "" } else { "s" },
                self.workspace
            );
        }
        format!(
            "Drift in workspace \"{}\": {} resource{} changed outside Landform ({} drifted, {} deleted) of {} checked.",
            self.workspace,
            self.resources.len(),
            if self.resources.len() == 1 { "" } else { "s" },
            self.count(DriftStatus::Drifted),
            self.count(DriftStatus::Deleted),
            self.checked
        )
    }

    pub fn text(&self, col: &Colors) -> String {
        let mut out = format!("{}{}{}\n", col.bold, self.headline(), col.reset);
        if !self.resources.is_empty() {
            out.push('\n');
        }
        for d in &self.resources {
            out.push_str(&render_resource_drift(d, col));
            out.push('\n');
        }
        // A rollout's switch: its weights are the rollout's, which an apply never writes back.
        let owned: Vec<(String, String)> = self
            .resources
            .iter()
            .filter_map(|d| {
                self.rollouts
                    .iter()
                    .find(|(_, r)| r["switch"].as_str() == Some(d.address.as_str()))
                    .map(|(name, _)| (d.address.clone(), name.clone()))
            })
            .collect();
        if !self.resources.is_empty() {
            out.push_str("To accept these changes into the state: landform apply --refresh-only\n");
            if owned.len() < self.resources.len() {
                out.push_str("To put the real world back as configured: landform apply\n");
            }
            for (addr, name) in owned {
                let _ = writeln!(
                    out,
                    "{addr}'s weights belong to rollout.{name}, which an apply does not write back: `landform rollout status {name}` says where it stands, `landform rollout abort {name}` puts all traffic on its stable pool"
                );
            }
        }
        out
    }

    /// For an issue or a pull request comment.
    pub fn markdown(&self) -> String {
        let mut out = format!("### Landform drift: workspace `{}`\n\n", md_code(&self.workspace));
        if self.resources.is_empty() {
            let _ = writeln!(out, "✅ No drift: the {} resources checked match the state.", self.checked);
        } else {
            let _ = writeln!(
                out,
                "⚠️ **{} resource{} changed outside Landform** — {} drifted, {} deleted, of {} checked.\n",
                self.resources.len(),
                if self.resources.len() == 1 { "" } else { "s" },
                self.count(DriftStatus::Drifted),
                self.count(DriftStatus::Deleted),
                self.checked
            );
            out.push_str("| Resource | Status | Attribute | Before | After |\n|---|---|---|---|---|\n");
            for d in &self.resources {
                let addr = format!("`{}`", md_code(&d.address));
                match d.status {
                    DriftStatus::Deleted => {
                        let _ = writeln!(out, "| {addr} | deleted | | | |");
                    }
                    DriftStatus::Drifted => {
                        for c in &d.changes {
                            let (b, a) = if c.sensitive {
                                ("(sensitive value)".to_string(), "(sensitive value)".to_string())
                            } else {
                                (md_value(&c.before), md_value(&c.after))
                            };
                            let _ = writeln!(out, "| {addr} | drifted | `{}` | {b} | {a} |", md_code(&c.path));
                        }
                    }
                }
            }
            out.push_str("\n<details><summary>Details</summary>\n\n```diff\n");
            for d in &self.resources {
                out.push_str(&render_resource_drift(d, &Colors::NONE).replace("```", "'''"));
            }
            out.push_str(
                "```\n\n</details>\n\nAccept with `landform apply --refresh-only`, or restore with `landform apply`.\n",
            );
        }
        if !self.errors.is_empty() {
            let _ = writeln!(out, "\n**{} resource(s) could not be read:**\n", self.errors.len());
            for (addr, e) in &self.errors {
                let _ = writeln!(out, "- `{}`: {}", md_code(addr), md_text(e));
            }
        }
        out
    }

    /// The stable JSON form (docs/drift.schema.json).
    pub fn json(&self) -> Value {
        let resources: Vec<Value> = self
            .resources
            .iter()
            .map(|d| {
                json!({
                    "address": d.address,
                    "module_address": if d.module_address.is_empty() { Value::Null } else { json!(d.module_address) },
                    "mode": d.mode,
                    "type": d.type_name,
                    "name": d.name,
                    "index": d.index,
                    "provider_name": d.provider_name,
                    "status": d.status,
                    "changes": d.changes.iter().map(|c| json!({
                        "path": c.path,
                        "before": c.before,
                        "after": c.after,
                        "sensitive": c.sensitive,
                    })).collect::<Vec<_>>(),
                })
            })
            .collect();
        json!({
            "format_version": "1.0",
            "landform_version": env!("CARGO_PKG_VERSION"),
            "workspace": self.workspace,
            "checked_at": self.checked_at,
            "summary": {
                "checked": self.checked,
                "drifted": self.count(DriftStatus::Drifted),
                "deleted": self.count(DriftStatus::Deleted),
                "errors": self.errors.len(),
            },
            "resources": resources,
            "errors": self.errors.iter().map(|(a, e)| json!({"address": a, "error": e})).collect::<Vec<_>>(),
        })
    }
}

/// Terraform's `resource_drift` entries of `show -json`.
pub fn resource_drift_json(drift: &[ResourceDrift]) -> Vec<Value> {
    drift
        .iter()
        .map(|d| {
            let sensitive: serde_json::Map<String, Value> =
                d.sensitive.iter().map(|s| (s.clone(), Value::Bool(true))).collect();
            json!({
                "address": d.address,
                "module_address": if d.module_address.is_empty() { Value::Null } else { json!(d.module_address) },
                "mode": d.mode,
                "type": d.type_name,
                "name": d.name,
                "index": d.index,
                "provider_name": d.provider_name,
                "change": {
                    "actions": [if d.status == DriftStatus::Deleted { "delete" } else { "update" }],
                    "before": d.before,
                    "after": d.after,
                    "after_unknown": {},
                    "before_sensitive": sensitive,
                    "after_sensitive": sensitive,
                },
            })
        })
        .collect()
}

/// Text inside a markdown code span: backticks would end it, newlines break the table.
fn md_code(s: &str) -> String {
    s.replace('`', "'").replace(['\n', '\r'], " ").replace('|', "\\|")
}

fn md_text(s: &str) -> String {
    s.replace(['\n', '\r'], " ").replace('|', "\\|")
}

fn md_value(v: &Value) -> String {
    format!("`{}`", md_code(&short(v)))
}
