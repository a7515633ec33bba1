//! The plan is data: for each resource instance an action with before and
//! after values. Apply executes a plan; it never recomputes the diff.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::{BTreeMap, BTreeSet};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, PartialOrd, Ord, Hash)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    NoOp,
    Create,
    /// A data source read deferred to apply, because its configuration
    /// depends on values not known until then.
    Read,
    Update,
    DeleteThenCreate,
    CreateThenDelete,
    Delete,
    /// `removed { lifecycle { destroy = false } }`: dropped from the state, the object kept.
    Forget,
}

impl Action {
    /// Terraform's `actions` list, as `show -json` prints it.
    pub fn json_actions(self) -> Vec<&'static str> {
        match self {
            Action::NoOp => vec!["no-op"],
            Action::Create => vec!["create"],
            Action::Read => vec!["read"],
            Action::Update => vec!["update"],
            Action::DeleteThenCreate => vec!["delete", "create"],
            Action::CreateThenDelete => vec!["create", "delete"],
            Action::Delete => vec!["delete"],
            Action::Forget => vec!["forget"],
        }
    }

    pub fn is_replace(self) -> bool {
        matches!(self, Action::DeleteThenCreate | Action::CreateThenDelete)
    }

    /// The verb for progress lines: "Creating", "Destroying"…
    pub fn progress_verb(self) -> (&'static str, &'static str) {
        match self {
            Action::Create => ("Creating...", "Creation complete"),
            Action::Update => ("Modifying...", "Modifications complete"),
            Action::DeleteThenCreate | Action::CreateThenDelete => ("Replacing...", "Replacement complete"),
            Action::Delete => ("Destroying...", "Destruction complete"),
            Action::Read => ("Reading...", "Read complete"),
            Action::NoOp | Action::Forget => ("", ""),
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct ResourceChange {
    pub address: String,
    pub module_address: String,
    /// `managed` or `data`.
    pub mode: String,
    #[serde(rename = "type")]
    pub type_name: String,
    pub name: String,
    pub index: Value,
    pub provider_name: String,
    pub action: Action,
    /// The state before; sensitive attributes are blanked to null.
    pub before: Option<Map<String, Value>>,
    /// The planned state; unknown and sensitive attributes are blanked to null.
    pub after: Option<Map<String, Value>>,
    pub after_unknown: BTreeSet<String>,
    pub sensitive: BTreeSet<String>,
    /// For a replace: the attributes that force it.
    pub replace_paths: Vec<String>,
    /// Why, when it is not the attributes: `replace_by_request`, `delete_because_no_resource_config`…
    pub reason: Option<String>,
    /// For sensitive attributes: whether the value changes (its value is never kept here).
    #[serde(default)]
    pub sensitive_changed: BTreeSet<String>,
    pub dependencies: Vec<String>,
    pub create_before_destroy: bool,
    /// Brought under management by an `import` block: the object's id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub importing: Option<String>,
    /// The address the state recorded it under before a `moved` block.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_address: Option<String>,
    /// A deposed object of the instance (an old object a create_before_destroy
    /// replacement left behind): its key. Its action is `Delete`, or `Forget`
    /// when it is the instance's current object (the same id).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deposed: Option<String>,
}

impl ResourceChange {
    /// What progress lines and errors call it: its address, and for a
    /// deposed object which one (Terraform's words).
    pub fn label(&self) -> String {
        match &self.deposed {
            Some(key) => deposed_label(&self.address, key),
            None => self.address.clone(),
        }
    }

    /// Shown in a plan: an action, or an import or move with no action.
    pub fn is_shown(&self) -> bool {
        self.action != Action::NoOp || self.importing.is_some() || self.previous_address.is_some()
    }
}

/// `local_file.x (deposed object 1a2b3c4d)`.
pub fn deposed_label(addr: &str, key: &str) -> String {
    format!("{addr} (deposed object {key})")
}

/// An instance a `moved` block renames in the state.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct MovedObject {
    pub from: String,
    pub to: String,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct OutputChange {
    pub name: String,
    pub action: Action,
    pub before: Option<Value>,
    pub after: Option<Value>,
    pub after_unknown: bool,
    pub sensitive: bool,
}

/// A saved plan: what to do, and what it was computed against.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Plan {
    pub format_version: u32,
    pub landform_version: String,
    pub workspace: String,
    /// SHA-256 over the configuration files; apply refuses a plan for other files.
    pub config_hash: String,
    /// The state it was planned against; apply refuses when the state moved on.
    pub lineage: String,
    pub serial: u64,
    pub destroy: bool,
    /// `--refresh-only`: no actions; applying it accepts what refresh found.
    #[serde(default)]
    pub refresh_only: bool,
    /// The root module's variable values, so that apply evaluates the same.
    pub variables: BTreeMap<String, Value>,
    /// When it was planned (`plantimestamp()`), so that apply evaluates the same.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub planned_at: Option<String>,
    /// Which of them are sensitive: their texts are redacted from whatever
    /// shows the plan (`crate::sensitivity::remember_plan`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sensitive_variables: Vec<String>,
    pub targets: Vec<String>,
    pub resource_changes: Vec<ResourceChange>,
    pub output_changes: Vec<OutputChange>,
    /// What refresh found changed or deleted outside Landform, in the
    /// arguments the configuration manages (what the plan shows as drift).
    #[serde(default)]
    pub resource_drift: Vec<crate::drift::ResourceDrift>,
    /// The attributes of resources that what the plan changes depends on
    /// (through references, locals, variables and outputs), as Terraform's
    /// `relevant_attributes`: drift elsewhere is not shown in a plan.
    #[serde(default)]
    pub relevant_attributes: Vec<crate::relevant::RelevantAttr>,
    /// Instances refresh found deleted outside Landform: apply drops them from state.
    #[serde(default)]
    pub gone: Vec<String>,
    /// Instances refresh found changed outside Landform, as refresh read them:
    /// apply saves them and evaluates from them, exactly as the plan did.
    #[serde(default)]
    pub refreshed: Vec<landform_state::ResourceRecord>,
    /// Every data source instance read at plan time, as it was read: apply
    /// evaluates from these and never reads them again.
    #[serde(default)]
    pub data_reads: Vec<DataRead>,
    /// Objects an earlier apply stopped while creating, and what became of them.
    #[serde(default)]
    pub interrupted: Vec<InterruptedCreate>,
    /// Rollouts with traffic still to move, run after every resource change.
    #[serde(default)]
    pub rollouts: Vec<crate::rollout::RolloutPlan>,
    /// Instances `moved` blocks rename: apply renames them in the state first.
    #[serde(default)]
    pub moved: Vec<MovedObject>,
    /// What planning warns of (failed `check` assertions, skipped moves), shown
    /// with the plan; not saved in a plan file.
    #[serde(skip)]
    pub warnings: Vec<landform_lang::Diagnostic>,
}

/// A data source instance as planning read it. Its values are kept whole
/// (sensitive ones too: a plan file is private, and sealed with the state key
/// when one is set), with the attributes that were sensitive then.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct DataRead {
    pub address: String,
    pub attributes: Map<String, Value>,
    #[serde(default)]
    pub sensitive: BTreeSet<String>,
}

/// An object an earlier apply was creating when it stopped.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct InterruptedCreate {
    pub address: String,
    /// Found in the real world and adopted into the state (it is in `refreshed`).
    pub adopted: bool,
    /// Found, but another object is recorded at this address: it is left alone.
    #[serde(default)]
    pub left_alone: bool,
}

pub const PLAN_FORMAT_VERSION: u32 = 1;

/// The SHA-256 of a saved plan's bytes, in hex: what a reviewed comment shows
/// and `apply --expect-hash` checks.
pub fn file_hash(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// A plan's bytes as `plan --out` saves them.
pub fn to_file_bytes(plan: &Plan) -> Vec<u8> {
    serde_json::to_vec_pretty(plan).unwrap_or_default()
}

/// Counts for the summary line.
#[derive(Default, Debug, PartialEq, Eq)]
pub struct Summary {
    pub add: usize,
    pub change: usize,
    pub destroy: usize,
    pub read: usize,
    pub import: usize,
    pub forget: usize,
}

impl Plan {
    pub fn summary(&self) -> Summary {
        let mut s = Summary::default();
        for c in &self.resource_changes {
            s.import += usize::from(c.importing.is_some());
            match c.action {
                Action::Create => s.add += 1,
                Action::Update => s.change += 1,
                Action::Delete => s.destroy += 1,
                Action::DeleteThenCreate | Action::CreateThenDelete => {
                    s.add += 1;
                    s.destroy += 1;
                }
                Action::Read => s.read += 1,
                Action::Forget => s.forget += 1,
                Action::NoOp => {}
            }
        }
        s
    }

    /// Drop the values kept only to show the plan. Apply needs the actions,
    /// and `after`: what it computes again must agree with it.
    pub fn strip_values(&mut self) {
        for c in &mut self.resource_changes {
            c.before = None;
        }
    }

    /// Whether every instance in the configuration was planned: not a destroy
    /// (which plans none) and not limited by `--target`.
    pub fn plans_everything(&self) -> bool {
        !self.destroy && !self.refresh_only && self.targets.is_empty()
    }

    /// True when applying would change anything, outputs included.
    pub fn has_changes(&self) -> bool {
        if self.refresh_only {
            return !self.refreshed.is_empty() || !self.gone.is_empty();
        }
        self.resource_changes.iter().any(|c| !matches!(c.action, Action::NoOp | Action::Read) || c.importing.is_some())
            || self.output_changes.iter().any(|o| o.action != Action::NoOp)
            || !self.gone.is_empty()
            || !self.interrupted.is_empty()
            || !self.rollouts.is_empty()
            || !self.moved.is_empty()
    }
}
