//! Plan rendering: the human form, Terraform-familiar, and the JSON form in
//! the spirit of `terraform show -json` (documented in docs/json-format.md).

use crate::plan::{Action, OutputChange, Plan, ResourceChange};
use serde_json::{json, Map, Value};
use std::collections::BTreeSet;
use std::fmt::Write;

/// A JSON object whose values are moved in: `serde_json::json!` serializes
/// each value it is given again (a deep copy), which for a plan's or a
/// state's values is most of the time and memory `--json` takes.
macro_rules! obj {
    ({ $($k:literal : $v:expr),* $(,)? }) => {{
        let mut m = serde_json::Map::new();
        $( m.insert($k.to_string(), serde_json::Value::from($v)); )*
        serde_json::Value::Object(m)
    }};
}

pub mod drift;
pub mod markdown;
pub mod tfjson;

#[derive(Clone, Copy)]
pub struct Colors {
    pub green: &'static str,
    pub yellow: &'static str,
    pub red: &'static str,
    pub cyan: &'static str,
    pub bold: &'static str,
    pub dim: &'static str,
    pub reset: &'static str,
}

impl Colors {
    pub const NONE: Colors = Colors { green: "", yellow: "", red: "", cyan: "", bold: "", dim: "", reset: "" };
    pub const ANSI: Colors = Colors {
        green: "\x1b[32m",
        yellow: "\x1b[33m",
        red: "\x1b[31m",
        cyan: "\x1b[36m",
        bold: "\x1b[1m",
        dim: "\x1b[2m",
        reset: "\x1b[0m",
    };
}

/// A multi-line string as a heredoc, as Terraform shows one; with the value
/// it replaces, as a line diff. `None` when neither has more than one line.
pub(crate) fn heredoc(before: Option<&Value>, after: &Value, col: &Colors) -> Option<String> {
    let new = after.as_str()?;
    let old = before.and_then(Value::as_str);
    if !new.contains('\n') && !old.is_some_and(|o| o.contains('\n')) {
        return None;
    }
    let mut out = String::from("<<-EOT\n");
    match old {
        None => {
            for line in new.lines() {
                let _ = writeln!(out, "            {line}");
            }
        }
        Some(old) => {
            for change in similar::TextDiff::from_lines(old, new).iter_all_changes() {
                let line = change.value().trim_end_matches('\n');
                let _ = match change.tag() {
                    similar::ChangeTag::Delete => writeln!(out, "          {}-{} {line}", col.red, col.reset),
                    similar::ChangeTag::Insert => writeln!(out, "          {}+{} {line}", col.green, col.reset),
                    similar::ChangeTag::Equal => writeln!(out, "            {line}"),
                };
            }
        }
    }
    out.push_str("        EOT");
    Some(out)
}

/// A JSON value in configuration syntax, short enough to read in a plan.
pub fn show(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::String(s) => landform_lang::value::quote(s),
        Value::Array(items) => format!("[{}]", items.iter().map(show).collect::<Vec<_>>().join(", ")),
        Value::Object(m) => {
            if m.is_empty() {
                return "{}".into();
            }
            let inner: Vec<String> = m
                .iter()
                .map(|(k, v)| {
                    let k =
                        if landform_lang::value::is_identifier(k) { k.clone() } else { landform_lang::value::quote(k) };
                    format!("{k} = {}", show(v))
                })
                .collect();
            format!("{{ {} }}", inner.join(", "))
        }
        other => other.to_string(),
    }
}

/// A value at `path` as a plan shows it, each value at a path in `unknown`
/// (inside an attribute known in part) as `(known after apply)`.
pub fn show_at(v: &Value, path: &str, unknown: &BTreeSet<String>) -> String {
    if unknown.contains(path) {
        return "(known after apply)".into();
    }
    if !unknown.iter().any(|u| u.starts_with(path)) {
        return show(v);
    }
    match v {
        Value::Array(items) => {
            let shown: Vec<String> =
                items.iter().enumerate().map(|(i, x)| show_at(x, &format!("{path}[{i}]"), unknown)).collect();
            format!("[{}]", shown.join(", "))
        }
        Value::Object(m) if !m.is_empty() => {
            let inner: Vec<String> = m
                .iter()
                .map(|(k, x)| {
                    let (shown_key, sub) = if landform_lang::value::is_identifier(k) {
                        (k.clone(), format!("{path}.{k}"))
                    } else {
                        (landform_lang::value::quote(k), format!("{path}[{}]", Value::String(k.clone())))
                    };
                    format!("{shown_key} = {}", show_at(x, &sub, unknown))
                })
                .collect();
            format!("{{ {} }}", inner.join(", "))
        }
        other => show(other),
    }
}

fn header(c: &ResourceChange, col: &Colors) -> (String, String) {
    let (sym, colour, what) = match c.action {
        Action::Create => ("+", col.green, "will be created".to_string()),
        Action::Update => ("~", col.yellow, "will be updated in-place".to_string()),
        Action::DeleteThenCreate if c.reason.as_deref() == Some("replace_by_request") => {
            ("-/+", col.red, "will be replaced, as requested".to_string())
        }
        Action::CreateThenDelete if c.reason.as_deref() == Some("replace_by_request") => {
            ("+/-", col.green, "will be replaced, as requested".to_string())
        }
        Action::DeleteThenCreate | Action::CreateThenDelete if c.reason.as_deref() == Some("replace_by_triggers") => (
            if c.action == Action::DeleteThenCreate { "-/+" } else { "+/-" },
            if c.action == Action::DeleteThenCreate { col.red } else { col.green },
            "will be replaced due to changes in replace_triggered_by".to_string(),
        ),
        Action::DeleteThenCreate => ("-/+", col.red, "must be replaced".to_string()),
        Action::CreateThenDelete => ("+/-", col.green, "must be replaced".to_string()),
        Action::Delete => ("-", col.red, "will be destroyed".to_string()),
        Action::Read => ("<=", col.cyan, "will be read during apply".to_string()),
        Action::NoOp if c.importing.is_some() => (" ", "", "will be imported".to_string()),
        Action::Forget => (".", col.dim, "will no longer be managed by Landform".to_string()),
        Action::NoOp => (" ", "", "is unchanged".to_string()),
    };
    let mut h = match (&c.previous_address, c.action, &c.importing) {
        // Only moved: Terraform's words, from the old address to the new.
        (Some(prev), Action::NoOp, None) => {
            format!("  {}# {prev}{} has moved to {}{}{}", col.bold, col.reset, col.bold, c.address, col.reset)
        }
        (Some(prev), _, _) => {
            format!(
                "  {}# {}{} {what}\n  {}# (moved from {prev}){}",
                col.bold, c.address, col.reset, col.dim, col.reset
            )
        }
        _ => format!("  {}# {}{} {what}", col.bold, c.label(), col.reset),
    };
    if c.deposed.is_some() {
        let why = if c.action == Action::Forget {
            "(it is the instance's current object: it is only removed from the state's deposed objects)"
        } else {
            "(left over from a partially-failed replacement of this instance)"
        };
        let _ = write!(h, "\n  {}# {why}{}", col.dim, col.reset);
    }
    if let (Some(id), false) = (&c.importing, c.action == Action::NoOp) {
        let _ = write!(h, "\n  {}# (imported from \"{id}\"){}", col.dim, col.reset);
    }
    let because = match c.reason.as_deref() {
        Some("delete_because_no_resource_config") => Some(format!("{} is not in configuration", c.address)),
        Some("delete_because_count_index") => Some(format!("index [{}] is out of range for count", c.index)),
        Some("delete_because_each_key") => Some(format!("key [{}] is not in for_each map", c.index)),
        Some("forget_because_removed") => {
            Some("a removed block forgets it: the object itself is kept, and Landform no longer manages it".to_string())
        }
        Some("delete_because_wrong_repetition") => Some("the resource's count or for_each changed".to_string()),
        _ => None,
    };
    if let Some(b) = because {
        let _ = write!(h, "\n  {}# (because {b}){}", col.dim, col.reset);
    }
    (format!("{colour}{sym}{}", col.reset), h)
}

/// One resource change as a block of lines.
pub fn render_change(c: &ResourceChange, col: &Colors) -> String {
    let mut out = String::new();
    let (sym, head) = header(c, col);
    let _ = writeln!(out, "{head}");
    let kind = if c.mode == "data" { "data" } else { "resource" };
    let pad = if sym.contains('/') {
        ""
    } else if c.action == Action::Read {
        " "
    } else {
        "  "
    };
    let _ = writeln!(out, "{pad}{sym} {kind} \"{}\" \"{}\" {{", c.type_name, c.name);
    let empty = Map::new();
    let before = c.before.as_ref().unwrap_or(&empty);
    let after = c.after.as_ref().unwrap_or(&empty);
    let mut names: BTreeSet<&String> = before.keys().chain(after.keys()).collect();
    // Attributes unknown as a whole (the others are in `after`, known in part).
    names.extend(c.after_unknown.iter().filter(|u| !u.contains(['.', '['])));
    let mut rows: Vec<Row> = Vec::new();
    let mut hidden = 0;
    for name in names {
        let attribute = Attribute {
            c,
            col,
            name,
            before: before.get(name).filter(|v| !v.is_null()),
            after: after.get(name).filter(|v| !v.is_null()),
            configured: after.contains_key(name),
            sensitive: crate::sensitivity::touches(&c.sensitive, name),
            unknown: c.after_unknown.contains(name),
            unknown_inside: c
                .after_unknown
                .iter()
                .filter(|u| {
                    u.len() > name.len() && u.starts_with(name.as_str()) && u[name.len()..].starts_with(['.', '['])
                })
                .cloned()
                .collect(),
        };
        rows.extend(attribute.rows(&mut hidden));
    }
    let width = rows.iter().map(|r| r.1.len()).max().unwrap_or(0);
    for (s, n, v) in &rows {
        let _ = writeln!(out, "      {s} {n:width$} = {v}");
    }
    if hidden > 0 {
        let _ = writeln!(
            out,
            "        {}# ({hidden} unchanged attribute{} hidden){}",
            col.dim,
            if hidden == 1 { "" } else { "s" },
            col.reset
        );
    }
    let _ = writeln!(out, "    }}");
    out
}

/// A line of a resource change: its symbol, the attribute's path, and what it shows.
type Row = (String, String, String);

/// One attribute of a resource change, as the plan shows it.
struct Attribute<'a> {
    c: &'a ResourceChange,
    col: &'a Colors,
    name: &'a String,
    /// The values before and after, nulls left out.
    before: Option<&'a Value>,
    after: Option<&'a Value>,
    /// Whether the value after is there at all (null included).
    configured: bool,
    sensitive: bool,
    unknown: bool,
    /// The paths of the values known only after apply inside an attribute
    /// known in part (`default_action[0].forward[0].target_group[1].arn`).
    unknown_inside: BTreeSet<String>,
}

impl Attribute<'_> {
    /// The attribute's rows: none when it does not show or did not change
    /// (`hidden` counts those the plan says it hides).
    fn rows(&self, hidden: &mut usize) -> Vec<Row> {
        let (c, col, name, b, a, sens, unknown) =
            (self.c, self.col, self.name, self.before, self.after, self.sensitive, self.unknown);
        let row = match c.action {
            Action::Create | Action::Read => {
                if a.is_none() && !unknown && !(sens && self.configured) {
                    return Vec::new();
                }
                let text = if sens && !unknown {
                    "(sensitive value)".to_string()
                } else {
                    a.and_then(|a| heredoc(None, a, col)).unwrap_or(self.after_text())
                };
                (format!("{}+{}", col.green, col.reset), name.clone(), text)
            }
            Action::Delete => {
                if b.is_none() && !sens {
                    return Vec::new();
                }
                let text = if sens {
                    "(sensitive value)".to_string()
                } else {
                    format!("{} -> null", b.map(|b| self.shown(b)).unwrap_or_default())
                };
                (format!("{}-{}", col.red, col.reset), name.clone(), text)
            }
            // An import that changes nothing: what was read, in full.
            Action::NoOp => {
                let Some(b) = b else { return Vec::new() };
                let text =
                    if sens { "(sensitive value)".to_string() } else { heredoc(None, b, col).unwrap_or(self.shown(b)) };
                (" ".to_string(), name.clone(), text)
            }
            _ => return self.updated(hidden),
        };
        vec![row]
    }

    /// A value as shown: hidden when sensitive.
    fn shown(&self, v: &Value) -> String {
        if self.sensitive {
            "(sensitive value)".to_string()
        } else {
            show(v)
        }
    }

    /// The value after, at `path` inside the attribute, as shown: what is
    /// known only after apply said so.
    fn shown_after(&self, v: &Value, path: &str) -> String {
        if self.sensitive {
            "(sensitive value)".to_string()
        } else {
            show_at(v, path, &self.unknown_inside)
        }
    }

    /// The value after, as shown.
    fn after_text(&self) -> String {
        if self.unknown {
            "(known after apply)".to_string()
        } else {
            self.after.map(|a| self.shown_after(a, self.name)).unwrap_or_else(|| "null".into())
        }
    }

    /// The note of an attribute that forces the resource's replacement.
    fn forces(&self) -> String {
        if self.c.replace_paths.contains(self.name) {
            format!(" {}# forces replacement{}", self.col.red, self.col.reset)
        } else {
            String::new()
        }
    }

    /// The rows of an attribute of an update or replacement.
    fn updated(&self, hidden: &mut usize) -> Vec<Row> {
        let (c, col, name, b, a, sens, unknown) =
            (self.c, self.col, self.name, self.before, self.after, self.sensitive, self.unknown);
        let changed = if sens {
            c.sensitive_changed.contains(name)
        } else {
            unknown || b != a || !self.unknown_inside.is_empty()
        };
        if !changed {
            if b.is_some() {
                *hidden += 1;
            }
            return Vec::new();
        }
        // Inside nested blocks, maps and lists: one row per leaf that changed, by path.
        if let (Some(bv), Some(av), false, false) = (b, a, sens, unknown) {
            if let Some(rows) = self.changed_leaves(bv, av) {
                return rows;
            }
        }
        let (forces, after_text) = (self.forces(), self.after_text());
        let row = match (b, a, unknown) {
            // Hidden values are blanked in the plan: that they change is all it says.
            _ if sens => (format!("{}~{}", col.yellow, col.reset), name.clone(), format!("(sensitive value){forces}")),
            (None, _, _) => (format!("{}+{}", col.green, col.reset), name.clone(), format!("{after_text}{forces}")),
            (Some(bv), None, false) if !sens => {
                (format!("{}-{}", col.red, col.reset), name.clone(), format!("{} -> null{forces}", self.shown(bv)))
            }
            (Some(bv), _, _) => {
                let text = if sens {
                    format!("(sensitive value){forces}")
                } else if let Some(h) = a.filter(|_| !unknown).and_then(|a| heredoc(Some(bv), a, col)) {
                    format!("{h}{forces}")
                } else {
                    format!("{} -> {after_text}{forces}", self.shown(bv))
                };
                (format!("{}~{}", col.yellow, col.reset), name.clone(), text)
            }
        };
        vec![row]
    }

    /// One row per leaf that changed inside nested blocks, maps and lists
    /// of blocks; `None` when the attribute reads best whole.
    fn changed_leaves(&self, bv: &Value, av: &Value) -> Option<Vec<Row>> {
        let (c, col, name) = (self.c, self.col, self.name);
        let mut leaves = Vec::new();
        // A list of plain values reads best whole: ["v1"] -> ["v2"].
        let blocks = |v: &Value| v.as_array().is_some_and(|a| a.iter().any(Value::is_object));
        if (bv.is_object() && av.is_object()) || (blocks(bv) && blocks(av)) {
            // What is known only after apply differs from any value before.
            let mut av = av.clone();
            for p in &self.unknown_inside {
                let steps = crate::sensitivity::parse_path(p);
                if let Some(at) = crate::sensitivity::json_at_mut(&mut av, &steps[1..]) {
                    *at = Value::String("\u{0}(known after apply)".into());
                }
            }
            crate::drift::diff_paths(name.clone(), bv, &av, &mut leaves);
        }
        let whole = leaves.len() == 1 && &leaves[0].path == name;
        if leaves.is_empty() || whole {
            return None;
        }
        let rows = leaves.into_iter().map(|l| {
            let forces = if c.replace_paths.contains(&l.path) || c.replace_paths.contains(name) {
                format!(" {}# forces replacement{}", col.red, col.reset)
            } else {
                String::new()
            };
            match (&l.before, &l.after) {
                (Value::Null, after) => (
                    format!("{}+{}", col.green, col.reset),
                    l.path.clone(),
                    format!("{}{forces}", show_at(after, &l.path, &self.unknown_inside)),
                ),
                (before, Value::Null) => {
                    (format!("{}-{}", col.red, col.reset), l.path, format!("{} -> null{forces}", show(before)))
                }
                (before, after) => (
                    format!("{}~{}", col.yellow, col.reset),
                    l.path.clone(),
                    format!("{} -> {}{forces}", show(before), show_at(after, &l.path, &self.unknown_inside)),
                ),
            }
        });
        Some(rows.collect())
    }
}

fn render_output(o: &OutputChange, width: usize, col: &Colors) -> Option<String> {
    let name = format!("{:width$}", o.name);
    let val = |v: &Option<Value>, unknown: bool| {
        if o.sensitive {
            "(sensitive value)".to_string()
        } else if unknown {
            "(known after apply)".to_string()
        } else {
            v.as_ref().map(show).unwrap_or_else(|| "null".into())
        }
    };
    Some(match o.action {
        Action::NoOp => return None,
        Action::Create => format!("  {}+{} {} = {}", col.green, col.reset, name, val(&o.after, o.after_unknown)),
        Action::Delete => format!("  {}-{} {} = {} -> null", col.red, col.reset, name, val(&o.before, false)),
        _ => format!(
            "  {}~{} {} = {} -> {}",
            col.yellow,
            col.reset,
            name,
            val(&o.before, false),
            val(&o.after, o.after_unknown)
        ),
    })
}

/// The whole plan for a person.
/// What became of the objects an earlier apply stopped while creating.
fn render_interrupted(plan: &Plan, col: &Colors) -> String {
    if plan.interrupted.is_empty() {
        return String::new();
    }
    let mut out = format!("\n{}Note:{} an earlier apply stopped while creating these objects:\n", col.bold, col.reset);
    for i in &plan.interrupted {
        let what = if i.adopted {
            "found in the real world; apply adopts it into the state"
        } else if i.left_alone {
            "found, but another object is recorded at this address; it is left alone (delete it by hand if unwanted)"
        } else {
            "cannot be found (or its provider cannot tell); it is created again"
        };
        let _ = writeln!(out, "  - {}: {what}", i.address);
    }
    out
}

pub fn render_plan(plan: &Plan, col: &Colors) -> String {
    let mut out = render_interrupted(plan, col);
    out.push_str(&drift::render_drift_section(&crate::relevant::shown_drift(plan), plan.refresh_only, col));
    if plan.refresh_only {
        if plan.resource_drift.is_empty() {
            let _ = write!(out, "\n{}No changes.{} Your infrastructure still matches the configuration.\n\nLandform has checked that the real remote objects still match the result of your most recent changes, and found no differences.\n", col.bold, col.reset);
        }
        return out;
    }
    let visible: Vec<&ResourceChange> = plan.resource_changes.iter().filter(|c| c.is_shown()).collect();
    // Sorted by name and aligned, like the attributes of a resource.
    let mut changed: Vec<&OutputChange> = plan.output_changes.iter().filter(|o| o.action != Action::NoOp).collect();
    changed.sort_by(|a, b| a.name.cmp(&b.name));
    let width = changed.iter().map(|o| o.name.len()).max().unwrap_or(0);
    let outputs: Vec<String> = changed.iter().filter_map(|o| render_output(o, width, col)).collect();
    if visible.is_empty() && outputs.is_empty() && plan.interrupted.is_empty() && plan.rollouts.is_empty() {
        out.push_str(&format!(
            "\n{}No changes.{} Your infrastructure matches the configuration.\n\nLandform has compared your real infrastructure against your configuration and found no differences, so no changes are needed.\n",
            col.bold, col.reset
        ));
        return out;
    }
    if !visible.is_empty() || !plan.rollouts.is_empty() {
        let mut legend = Vec::new();
        let has = |f: &dyn Fn(Action) -> bool| visible.iter().any(|c| f(c.action));
        if has(&|a| a == Action::Create) {
            legend.push(format!("  {}+{} create", col.green, col.reset));
        }
        if has(&|a| a == Action::Update) {
            legend.push(format!("  {}~{} update in-place", col.yellow, col.reset));
        }
        if has(&|a| a == Action::Delete) {
            legend.push(format!("  {}-{} destroy", col.red, col.reset));
        }
        if has(&|a| a == Action::DeleteThenCreate) {
            legend.push(format!("{}-/+{} destroy and then create replacement", col.red, col.reset));
        }
        if has(&|a| a == Action::CreateThenDelete) {
            legend.push(format!("{}+/-{} create replacement and then destroy", col.green, col.reset));
        }
        if has(&|a| a == Action::Read) {
            legend.push(format!(" {}<={} read (data resources)", col.cyan, col.reset));
        }
        if legend.is_empty() {
            let _ = writeln!(out, "\nLandform used the selected providers to generate the following execution plan.\n");
        } else {
            let _ = writeln!(out, "\nLandform used the selected providers to generate the following execution plan.\nResource actions are indicated with the following symbols:\n{}\n", legend.join("\n"));
        }
        let _ = writeln!(out, "Landform will perform the following actions:\n");
        for c in &visible {
            out.push_str(&render_change(c, col));
            out.push('\n');
        }
        for r in &plan.rollouts {
            out.push_str(&crate::rollout::render(r, col.bold, col.reset));
            out.push('\n');
        }
        let _ = writeln!(out, "{}Plan:{} {}", col.bold, col.reset, plan_counts(plan));
    }
    if !outputs.is_empty() {
        let _ = writeln!(out, "\nChanges to Outputs:\n{}", outputs.join("\n"));
    }
    out
}

/// What the summary line counts: `1 to import, 2 to add, 0 to change, 0 to
/// destroy. 1 rollout to run.` (the import and rollout parts only when there are any).
pub fn plan_counts(plan: &Plan) -> String {
    let s = plan.summary();
    let imports = if s.import > 0 { format!("{} to import, ", s.import) } else { String::new() };
    let rollouts = match plan.rollouts.len() {
        0 => String::new(),
        1 => " 1 rollout to run.".to_string(),
        n => format!(" {n} rollouts to run."),
    };
    let forget = if s.forget > 0 { format!(", {} to forget", s.forget) } else { String::new() };
    format!("{imports}{} to add, {} to change, {} to destroy{forget}.{rollouts}", s.add, s.change, s.destroy)
}

/// `default_action[0].forward.target_group[1].weight` as Terraform's path
/// steps: `["default_action", 0, "forward", "target_group", 1, "weight"]`.
pub fn path_steps(path: &str) -> Vec<Value> {
    let mut out = Vec::new();
    for part in path.split('.') {
        let mut rest = part;
        if let Some(i) = rest.find('[') {
            out.push(json!(&rest[..i]));
            rest = &rest[i..];
            while let Some(inner) = rest.strip_prefix('[').and_then(|r| r.split_once(']')) {
                let (idx, after) = inner;
                out.push(match idx.parse::<u64>() {
                    Ok(n) => json!(n),
                    Err(_) => json!(idx.trim_matches('"')),
                });
                rest = after;
            }
        } else {
            out.push(json!(rest));
        }
    }
    out
}

/// The plan as JSON in `terraform show -json`'s plan representation, with
/// Landform's own fields beside it; documented in docs/json-format.md.
/// `state` is the state the plan was made from (for `prior_state` and the
/// values of unchanged instances) and `config` the configuration it was made
/// from; a part whose source is not given is left out.
pub fn plan_json(
    plan: &Plan,
    state: Option<&landform_state::Snapshot>,
    config: Option<&landform_lang::module::LoadedModule>,
    schemas: tfjson::Schemas,
) -> Value {
    let prior = state.map(|st| tfjson::refreshed_prior(plan, st));
    // The plan keeps no copy of an unchanged object's values; as Terraform
    // shows it, its `before` and `after` are the object as it is.
    let unchanged: std::collections::HashMap<&str, Map<String, Value>> = prior
        .iter()
        .flat_map(|p| &p.resources)
        .map(|r| {
            (
                r.addr.as_str(),
                crate::sensitivity::redact(&r.attributes, &r.sensitive_attributes.iter().cloned().collect()),
            )
        })
        .collect();
    let changes: Vec<Value> = plan
        .resource_changes
        .iter()
        .map(|c| {
            let same = (c.action == Action::NoOp && c.before.is_none() && c.after.is_none())
                .then(|| unchanged.get(c.address.as_str()))
                .flatten();
            match same {
                Some(values) => {
                    let mut c = c.clone();
                    (c.before, c.after) = (Some(values.clone()), Some(values.clone()));
                    change_json(&c, schemas)
                }
                None => change_json(c, schemas),
            }
        })
        .collect();
    let outputs = output_changes_json(plan);
    let s = plan.summary();
    let mut out = obj!({
        "format_version": tfjson::TERRAFORM_FORMAT_VERSION,
        "terraform_version": tfjson::TERRAFORM_COMPATIBLE_VERSION,
        "landform_version": plan.landform_version.as_str(),
        "workspace": plan.workspace.as_str(),
        "destroy": plan.destroy,
        "refresh_only": plan.refresh_only,
        "planned_values": tfjson::planned_values(plan, prior.as_ref(), schemas),
        "resource_changes": changes,
        "resource_drift": drift::resource_drift_json(&plan.resource_drift),
        "output_changes": outputs,
        "relevant_attributes": tfjson::relevant_attributes(plan),
        "rollouts": plan.rollouts.iter().map(crate::rollout::shown_json).collect::<Vec<_>>(),
        "summary": json!({ "import": s.import, "add": s.add, "change": s.change, "destroy": s.destroy, "forget": s.forget, "move": plan.moved.len() }),
        "applyable": plan.has_changes(),
        "complete": true,
        "errored": false,
    });
    if let Some(p) = &prior {
        out["prior_state"] = obj!({
            "format_version": "1.0",
            "terraform_version": tfjson::TERRAFORM_COMPATIBLE_VERSION,
            "landform_version": plan.landform_version.as_str(),
            "values": tfjson::state_values(p, schemas),
        });
    }
    if let Some(tree) = config {
        let known = configured_sensitivity(plan, prior.as_ref());
        let lookup = |addr: &str| known.get(addr).cloned().unwrap_or_default();
        out["configuration"] = tfjson::configuration(tree, &lookup);
        out["variables"] = tfjson::variables(plan, tree);
        tfjson::full_provider_names(&mut out, tree);
    }
    out
}

/// One resource change as `resource_changes` shows it.
fn change_json(c: &ResourceChange, schemas: tfjson::Schemas) -> Value {
    let shaped = |m: &Option<Map<String, Value>>| {
        m.clone().map(|mut m| {
            if let Some((_, schema)) = schemas.and_then(|p| p.for_type(c.mode == "data", &c.type_name)) {
                tfjson::blocks_as_lists(&mut m, schema);
            }
            m
        })
    };
    // As Terraform: `false` where there is no value (before a create, after a delete).
    // Terraform's SensitiveAsBool and UnknownAsBool: flags in the value's shape.
    let shaped_flags = |m: &Option<Map<String, Value>>, paths: &BTreeSet<String>| match m {
        Some(m) => tfjson::sensitive_shape(schemas, &c.mode, &c.type_name, m, paths),
        None => Value::Bool(false),
    };
    let sensitive = |m: &Option<Map<String, Value>>| shaped_flags(m, &c.sensitive);
    // Terraform's omitUnknowns: an unknown value inside a block known in
    // part is left out of its object (a list keeps its place, as null).
    let inside: Vec<&String> = c.after_unknown.iter().filter(|u| u.contains(['.', '['])).collect();
    let known_after = (!inside.is_empty()).then(|| c.after.clone()).flatten().map(|mut m| {
        for p in &inside {
            let steps = crate::sensitivity::parse_path(p);
            if let Some((crate::sensitivity::Step::Key(k), parent)) = steps.split_last() {
                let mut whole = Value::Object(std::mem::take(&mut m));
                if let Some(Value::Object(o)) = crate::sensitivity::json_at_mut(&mut whole, parent) {
                    o.remove(k);
                }
                if let Value::Object(back) = whole {
                    m = back;
                }
            }
        }
        m
    });
    let after = shaped(if inside.is_empty() { &c.after } else { &known_after }).map(|mut m| {
        // A collection unknown as a whole whose elements are unknown values
        // is not in `after` (cty's UnknownAsNull: a set with an unknown
        // element is unknown whole).
        m.retain(|k, v| {
            let unknown_items = v.as_array().is_some_and(|a| a.iter().any(Value::is_null));
            !(unknown_items && c.after_unknown.contains(k))
        });
        m
    });
    let mut v = obj!({
        "address": c.address.as_str(),
        "module_address": if c.module_address.is_empty() { Value::Null } else { json!(c.module_address) },
        "mode": c.mode.as_str(),
        "type": c.type_name.as_str(),
        "name": c.name.as_str(),
        "index": c.index.clone(),
        "provider_name": c.provider_name.as_str(),
        "change": obj!({
            "actions": c.action.json_actions(),
            "before": shaped(&c.before),
            "after": after,
            // Terraform's: `{}` for a value wholly known (a delete's null too).
            "after_unknown": if c.after_unknown.is_empty() {
                Value::Object(Map::new())
            } else {
                shaped_flags(&c.after, &c.after_unknown)
            },
            "before_sensitive": sensitive(&c.before),
            "after_sensitive": sensitive(&c.after),
            "replace_paths": c.replace_paths.iter().map(|p| Value::from(path_steps(p))).collect::<Vec<_>>(),
        }),
    });
    // Terraform's reason names, present only when there is one.
    if let Some(r) = c.reason.as_deref().filter(|r| *r != "delete_by_request") {
        v["action_reason"] = json!(r);
    }
    // As Terraform: present only on an import.
    if let Some(id) = &c.importing {
        v["change"]["importing"] = json!({ "id": id });
    }
    // As Terraform: present only on a moved object.
    if let Some(prev) = &c.previous_address {
        v["previous_address"] = json!(prev);
    }
    // As Terraform: a deposed object's key.
    if let Some(key) = &c.deposed {
        v["deposed"] = json!(key);
    }
    v
}

/// The plan's output changes as `output_changes` shows them.
fn output_changes_json(plan: &Plan) -> Map<String, Value> {
    plan.output_changes
        .iter()
        .map(|o| {
            (
                o.name.clone(),
                json!({
                    "actions": o.action.json_actions(),
                    "before": o.before,
                    "after": o.after,
                    "after_unknown": o.after_unknown,
                    "before_sensitive": o.before.is_some() && o.sensitive,
                    "after_sensitive": o.sensitive,
                }),
            )
        })
        .collect()
}

/// Each resource's hidden attributes and provider by configuration address,
/// from the plan's changes and the prior state: constants set on a
/// sensitive attribute are left out of the configuration.
fn configured_sensitivity(
    plan: &Plan,
    prior: Option<&landform_state::Snapshot>,
) -> std::collections::HashMap<String, (BTreeSet<String>, Option<String>)> {
    let mut known: std::collections::HashMap<String, (BTreeSet<String>, Option<String>)> =
        std::collections::HashMap::new();
    let records =
        prior.iter().flat_map(|p| p.resources.iter().map(|r| (&r.addr, &r.sensitive_attributes, &r.provider)));
    let changes = plan.resource_changes.iter().map(|c| (&c.address, &c.sensitive, &c.provider_name));
    // Whole attributes: a constant there is left out if anything in it is hidden.
    for (addr, sensitive, provider) in changes
        .map(|(a, s, p)| (a, crate::sensitivity::attributes(s), p))
        .chain(records.map(|(a, s, p)| (a, crate::sensitivity::attributes(&s.iter().cloned().collect()), p)))
    {
        if let Ok(a) = crate::addr::ResourceAddr::parse(addr) {
            let e = known.entry(a.config_addr()).or_default();
            e.0.extend(sensitive);
            e.1.get_or_insert_with(|| provider.clone());
        }
    }
    known
}
