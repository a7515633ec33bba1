//! Which values of an instance are hidden, as Terraform marks them: the
//! attributes its provider's schema calls sensitive, and every path whose
//! configured value was marked (`input.dsn_hash`, `tags["db pass"]`,
//! `input[1]`) — not its siblings, not the object around it, and not what the
//! provider computes. The language carries marks on values at any depth
//! (`landform_lang::Value::Sensitive`); here they become the paths that plans
//! and state records keep (`sensitive` of a change, `sensitive_attributes` of
//! a record: path texts, a top-level attribute's being its name), and come
//! back as marks when other expressions read the instance. Plan, apply, state
//! commands, outputs and every renderer ask this module, and nothing else,
//! what to hide.

use landform_lang::Value;
use serde_json::{Map, Value as Json};
use std::collections::BTreeSet;

pub use landform_provider::path::{json_at_mut, parse_path, path_text, Step};

/// The path of each value inside `v` that `found` picks (what is inside one
/// is not looked at), through lists and objects and their marks.
pub fn paths_where(v: &Value, found: &dyn Fn(&Value) -> bool, at: &mut Vec<Step>, out: &mut BTreeSet<String>) {
    if found(v) {
        out.insert(path_text(at));
        return;
    }
    match v.unmark().0 {
        Value::List(items) => {
            for (i, x) in items.iter().enumerate() {
                at.push(Step::Index(i));
                paths_where(x, found, at, out);
                at.pop();
            }
        }
        Value::Object(m) => {
            for (k, x) in m {
                at.push(Step::Key(k.clone()));
                paths_where(x, found, at, out);
                at.pop();
            }
        }
        _ => {}
    }
}

/// The paths at which an instance's configuration (an object) is marked,
/// as cty's `UnmarkDeepWithPaths` finds them.
pub fn config_paths(config: &Value) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    match config {
        // A wholly marked configuration: every attribute of it.
        Value::Sensitive(inner) => {
            if let Value::Object(m) = inner.unmark().0 {
                out.extend(m.keys().map(|k| path_text(&[Step::Key(k.clone())])));
            }
        }
        v => paths_where(v, &|x| matches!(x, Value::Sensitive(_)), &mut Vec::new(), &mut out),
    }
    out
}

/// What an instance hides: the schema's sensitive attributes and the paths
/// its configuration marked. What the provider computes is not marked (it is
/// not in Terraform either); a secret it copies verbatim is still redacted
/// wherever it is printed, as every remembered secret text is.
pub fn instance_sensitive(schema: &landform_provider::Schema, from_config: &BTreeSet<String>) -> BTreeSet<String> {
    let mut out = schema.sensitive();
    out.extend(from_config.iter().cloned());
    out
}

/// An instance's secrets, to find a provider's copies of them: the
/// configured values at its hidden paths, and which attributes the
/// configuration set (a copy is looked for only in the others).
#[derive(Clone, Debug, Default)]
pub struct Secrets {
    values: Vec<Json>,
    configured: BTreeSet<String>,
}

/// The secrets of an instance with this configuration and these hidden paths.
pub fn secret_values(config: &Map<String, Json>, paths: &BTreeSet<String>) -> Secrets {
    let configured = config.iter().filter(|(_, v)| !v.is_null()).map(|(k, _)| k.clone()).collect();
    let config = Json::Object(config.clone());
    let values = paths
        .iter()
        .filter_map(|p| {
            let mut at = &config;
            for s in parse_path(p) {
                at = match (at, s) {
                    (Json::Object(m), Step::Key(k)) => m.get(&k)?,
                    (Json::Array(a), Step::Index(i)) => a.get(i)?,
                    _ => return None,
                };
            }
            Some(at.clone())
        })
        .filter(substantial)
        .collect();
    Secrets { values, configured }
}

/// Landform's one addition to Terraform's marks: where an object the provider
/// planned or returned holds a verbatim copy of one of the instance's secrets
/// (`landform_data`'s `output` is its `input`), that place is hidden too.
/// Terraform leaves such a copy unmarked and prints it; a secret never prints
/// here. Texts shorter than the redaction step's minimum, numbers and bools
/// are not taken for copies.
pub fn copied_paths(secrets: &Secrets, obj: &Map<String, Json>) -> BTreeSet<String> {
    fn walk(v: &Json, secrets: &[Json], at: &mut Vec<Step>, out: &mut BTreeSet<String>) {
        let key_copied =
            matches!(v, Json::Object(m) if m.keys().any(|k| secrets.iter().any(|s| s.as_str() == Some(k))));
        if key_copied || (substantial(v) && secrets.contains(v)) {
            out.insert(path_text(at));
            return;
        }
        match v {
            Json::Object(m) => {
                for (k, x) in m {
                    at.push(Step::Key(k.clone()));
                    walk(x, secrets, at, out);
                    at.pop();
                }
            }
            Json::Array(a) => {
                for (i, x) in a.iter().enumerate() {
                    at.push(Step::Index(i));
                    walk(x, secrets, at, out);
                    at.pop();
                }
            }
            _ => {}
        }
    }
    let mut out = BTreeSet::new();
    if secrets.values.is_empty() {
        return out;
    }
    for (k, v) in obj.iter().filter(|(k, _)| !secrets.configured.contains(*k)) {
        walk(v, &secrets.values, &mut vec![Step::Key(k.clone())], &mut out);
    }
    out
}

/// What a data source's result hides: the paths its read hid, and wherever
/// the result holds a verbatim copy of a value at one of them.
pub fn hidden_in_read(attributes: &Map<String, Json>, sensitive: &BTreeSet<String>) -> BTreeSet<String> {
    let mut secrets = secret_values(attributes, sensitive);
    secrets.configured.clear();
    let mut out = sensitive.clone();
    out.extend(copied_paths(&secrets, attributes));
    out
}

fn substantial(v: &Json) -> bool {
    match v {
        Json::String(s) => s.chars().count() >= landform_lang::secrets::MIN_LEN,
        Json::Array(a) => !a.is_empty(),
        Json::Object(m) => !m.is_empty(),
        _ => false,
    }
}

/// `v` marked at each of `paths`. A path into a value not known yet marks
/// that unknown value; a path to nothing marks nothing.
pub fn mark_paths(mut v: Value, paths: &BTreeSet<String>) -> Value {
    for p in paths {
        mark_at(&mut v, &parse_path(p));
    }
    v
}

fn mark_at(v: &mut Value, steps: &[Step]) {
    let Some((first, rest)) = steps.split_first() else {
        if !v.is_sensitive() {
            *v = std::mem::replace(v, Value::Null).sensitive();
        }
        return;
    };
    let inner = match v {
        Value::Sensitive(_) => return,
        Value::Unknown => {
            *v = Value::Unknown.sensitive();
            return;
        }
        Value::Object(m) => match first {
            Step::Key(k) => m.get_mut(k),
            Step::Index(i) => m.get_mut(&i.to_string()),
        },
        Value::List(l) => match first {
            Step::Index(i) => l.get_mut(*i),
            Step::Key(k) => k.parse::<usize>().ok().and_then(|i| l.get_mut(i)),
        },
        _ => None,
    };
    if let Some(inner) = inner {
        mark_at(inner, rest);
    }
}

/// An instance's value as expressions see it: its attributes, unknown ones
/// unknown (whole attributes by name, values inside one by path), marked at
/// its sensitive paths.
pub fn instance_value(obj: &Map<String, Json>, unknown: &BTreeSet<String>, paths: &BTreeSet<String>) -> Value {
    let mut m: std::collections::BTreeMap<String, Value> =
        obj.iter().map(|(k, v)| (k.clone(), Value::from_json(v))).collect();
    let mut inside = Vec::new();
    for k in unknown {
        match parse_path(k).as_slice() {
            [Step::Key(name)] => {
                m.insert(name.clone(), Value::Unknown);
            }
            steps => inside.push(steps.to_vec()),
        }
    }
    let mut v = Value::object(m);
    for steps in inside {
        unknown_at(&mut v, &steps);
    }
    mark_paths(v, paths)
}

/// Make the value at `steps` unknown, if the value has that path.
fn unknown_at(v: &mut Value, steps: &[Step]) {
    let Some((first, rest)) = steps.split_first() else {
        *v = Value::Unknown;
        return;
    };
    let inner = match (v, first) {
        (Value::Object(m), Step::Key(k)) => m.get_mut(k),
        (Value::List(l), Step::Index(i)) => l.get_mut(*i),
        _ => None,
    };
    if let Some(inner) = inner {
        unknown_at(inner, rest);
    }
}

/// An object with null at each hidden path: what plans and JSON keep.
pub fn redact(obj: &Map<String, Json>, paths: &BTreeSet<String>) -> Map<String, Json> {
    let mut out = Json::Object(obj.clone());
    for p in paths {
        if let Some(v) = json_at_mut(&mut out, &parse_path(p)) {
            *v = Json::Null;
        }
    }
    match out {
        Json::Object(m) => m,
        _ => Map::new(),
    }
}

/// Terraform's `sensitive_values` / `after_sensitive` for these paths:
/// `{"input": {"dsn_hash": true}}`, a list as `[false, true]`.
pub fn flags(paths: &BTreeSet<String>) -> Json {
    let mut out = Json::Object(Map::new());
    for p in paths {
        let steps = parse_path(p);
        let mut at = &mut out;
        for (n, s) in steps.iter().enumerate() {
            let last = n + 1 == steps.len();
            if at == &Json::Bool(true) {
                break;
            }
            let fresh = |last: bool, next: Option<&Step>| match (last, next) {
                (true, _) => Json::Bool(true),
                (false, Some(Step::Index(_))) => Json::Array(Vec::new()),
                _ => Json::Object(Map::new()),
            };
            let next = steps.get(n + 1);
            at = match (at, s) {
                (Json::Object(m), Step::Key(k)) => {
                    let slot = m.entry(k.clone()).or_insert_with(|| fresh(last, next));
                    if last {
                        *slot = Json::Bool(true);
                    }
                    slot
                }
                (Json::Array(a), Step::Index(i)) => {
                    while a.len() <= *i {
                        a.push(Json::Bool(false));
                    }
                    if last || a[*i] == Json::Bool(false) {
                        a[*i] = fresh(last, next);
                    }
                    &mut a[*i]
                }
                // A path that does not fit the shape others gave: hide the whole.
                (other, _) => {
                    *other = Json::Bool(true);
                    break;
                }
            };
        }
    }
    out
}

/// Terraform's `sensitive_values`, `before_sensitive` and `after_sensitive`
/// of a value (its `SensitiveAsBool`): `true` where a path is hidden; a list
/// as an array as long as the value's, `false` for each element with
/// nothing hidden; an object or map with an entry for each element that is
/// not `false` (so a nested object or list is there even with nothing
/// hidden in it); `false` for a null, unknown or primitive value.
/// Every hidden path is `true` in it even where the value no longer has it
/// (an unknown attribute left out of a plan's values): the shape is taken
/// from the value, the hiding never.
pub fn shaped_flags(values: &Map<String, Json>, paths: &BTreeSet<String>) -> Json {
    let hidden: Vec<Vec<Step>> = paths.iter().map(|p| parse_path(p)).collect();
    let mut at = Vec::new();
    let mut out = object_flags(values, &hidden, &mut at);
    overlay(&mut out, flags(paths));
    out
}

/// `src`'s `true`s put into `dst`, which keeps its shape where it has one.
fn overlay(dst: &mut Json, src: Json) {
    match (dst, src) {
        (_, Json::Bool(false)) => {}
        (Json::Object(d), Json::Object(s)) => {
            for (k, v) in s {
                overlay(d.entry(k).or_insert(Json::Bool(false)), v);
            }
        }
        (Json::Array(d), Json::Array(s)) => {
            for (i, v) in s.into_iter().enumerate() {
                while d.len() <= i {
                    d.push(Json::Bool(false));
                }
                overlay(&mut d[i], v);
            }
        }
        (Json::Bool(true), _) => {}
        (d, s @ (Json::Object(_) | Json::Array(_))) if *d == Json::Bool(false) => *d = s,
        (d, _) => *d = Json::Bool(true),
    }
}

fn as_bool(value: &Json, hidden: &[Vec<Step>], at: &mut Vec<Step>) -> Json {
    if hidden.contains(at) {
        return Json::Bool(true);
    }
    match value {
        Json::Array(items) => {
            let mut out = Vec::with_capacity(items.len());
            for (i, v) in items.iter().enumerate() {
                at.push(Step::Index(i));
                out.push(as_bool(v, hidden, at));
                at.pop();
            }
            Json::Array(out)
        }
        Json::Object(m) => object_flags(m, hidden, at),
        _ => Json::Bool(false),
    }
}

fn object_flags(m: &Map<String, Json>, hidden: &[Vec<Step>], at: &mut Vec<Step>) -> Json {
    let mut out = Map::new();
    for (k, v) in m {
        at.push(Step::Key(k.clone()));
        let f = as_bool(v, hidden, at);
        at.pop();
        if f != Json::Bool(false) {
            out.insert(k.clone(), f);
        }
    }
    Json::Object(out)
}

/// The top-level attributes that hold a hidden value: what a display that
/// shows attributes whole hides whole.
pub fn attributes(paths: &BTreeSet<String>) -> BTreeSet<String> {
    paths
        .iter()
        .filter_map(|p| match parse_path(p).into_iter().next() {
            Some(Step::Key(k)) => Some(k),
            _ => None,
        })
        .collect()
}

/// Whether the attribute `name` holds a hidden value.
pub fn touches(paths: &BTreeSet<String>, name: &str) -> bool {
    paths.iter().any(|p| matches!(parse_path(p).first(), Some(Step::Key(k)) if k == name))
}

/// Remember, for the one redaction step (`landform_lang::secrets`), the
/// texts a state holds at hidden places: a provider may have copied one into
/// an attribute that is not marked (Terraform does not mark what a provider
/// computes), and no output may show it there either.
pub fn remember_state(snap: &landform_state::Snapshot) {
    for r in snap.resources.iter().chain(snap.deposed.iter().map(|d| &d.record)) {
        if r.sensitive_attributes.is_empty() {
            continue;
        }
        let hidden: BTreeSet<String> = r.sensitive_attributes.iter().cloned().collect();
        remember_marked(&instance_value(&r.attributes, &BTreeSet::new(), &hidden));
    }
    for o in snap.outputs.values().filter(|o| o.sensitive) {
        landform_lang::secrets::remember(&Value::from_json(&o.value));
    }
}

/// Remember the texts of a saved plan's sensitive variables and of the
/// hidden places of the records it holds, for the same reason.
pub fn remember_plan(plan: &crate::Plan) {
    for name in &plan.sensitive_variables {
        if let Some(v) = plan.variables.get(name) {
            landform_lang::secrets::remember(&Value::from_json(v));
        }
    }
    for r in &plan.refreshed {
        let hidden: BTreeSet<String> = r.sensitive_attributes.iter().cloned().collect();
        remember_marked(&instance_value(&r.attributes, &BTreeSet::new(), &hidden));
    }
    for d in &plan.data_reads {
        remember_marked(&instance_value(&d.attributes, &BTreeSet::new(), &d.sensitive));
    }
}

/// A plan keeps no secret text in what it shows: a value a provider computed
/// by copying or transforming a secret is not marked (as in Terraform), so
/// every remembered secret text left in the changes' and outputs' values is
/// replaced by `(sensitive value)` before the plan is shown or saved — a
/// later `show` of the saved plan may not know the secret.
pub fn redact_copies(plan: &mut crate::Plan) {
    for c in &mut plan.resource_changes {
        for m in [&mut c.before, &mut c.after].into_iter().flatten() {
            let mut v = Json::Object(std::mem::take(m));
            redact_texts(&mut v);
            if let Json::Object(o) = v {
                *m = o;
            }
        }
    }
    for o in &mut plan.output_changes {
        for v in [&mut o.before, &mut o.after].into_iter().flatten() {
            redact_texts(v);
        }
    }
}

/// Every remembered secret text in `v` replaced, as `redact_copies` does.
pub(crate) fn redact_texts(v: &mut Json) {
    use landform_lang::secrets::redact;
    match v {
        Json::String(s) => {
            if let std::borrow::Cow::Owned(r) = redact(s) {
                *s = r;
            }
        }
        Json::Array(a) => a.iter_mut().for_each(redact_texts),
        Json::Object(m) => {
            *m = std::mem::take(m)
                .into_iter()
                .map(|(k, mut x)| {
                    redact_texts(&mut x);
                    (redact(&k).into_owned(), x)
                })
                .collect();
        }
        _ => {}
    }
}

fn remember_marked(v: &Value) {
    match v {
        Value::Sensitive(_) => landform_lang::secrets::remember(v),
        Value::List(items) => items.iter().for_each(remember_marked),
        Value::Object(m) => m.values().for_each(remember_marked),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(p: &[&str]) -> BTreeSet<String> {
        p.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn paths_read_back_as_written() {
        for steps in [
            vec![Step::Key("input".into())],
            vec![Step::Key("input".into()), Step::Key("dsn_hash".into())],
            vec![Step::Key("input".into()), Step::Index(1), Step::Key("a b\"]".into())],
            vec![Step::Key("tags".into()), Step::Key("x.y".into()), Step::Index(0)],
        ] {
            assert_eq!(parse_path(&path_text(&steps)), steps, "{}", path_text(&steps));
        }
        assert_eq!(parse_path("not a path["), vec![Step::Key("not a path[".into())]);
    }

    #[test]
    fn marks_become_paths_and_paths_marks() {
        let s = || Value::string("x").sensitive();
        let obj = |kv: Vec<(&str, Value)>| Value::Object(kv.into_iter().map(|(k, v)| (k.to_string(), v)).collect());
        let config = obj(vec![
            ("input", obj(vec![("major", Value::from(15usize)), ("hash", s())])),
            ("list", Value::tuple(vec![Value::Null, s()])),
            ("plain", Value::string("p")),
        ]);
        let paths = config_paths(&config);
        assert_eq!(paths, set(&["input.hash", "list[1]"]));
        assert_eq!(mark_paths(config.unmark_deep().0, &paths), config);
        assert_eq!(flags(&paths), serde_json::json!({"input": {"hash": true}, "list": [false, true]}));
        let json = serde_json::json!({"input": {"major": 15, "hash": "h"}, "list": [1, 2], "plain": "p"});
        let redacted = redact(json.as_object().unwrap(), &paths);
        assert_eq!(
            Json::Object(redacted),
            serde_json::json!({"input": {"major": 15, "hash": null}, "list": [1, null], "plain": "p"})
        );
        assert_eq!(attributes(&paths), set(&["input", "list"]));
        assert!(touches(&paths, "input") && !touches(&paths, "plain"));
    }

    #[test]
    fn a_providers_copy_of_a_secret_is_hidden_and_nothing_else() {
        let config = serde_json::json!({
            "input": {"major": 15, "hash": "h4sh-of-secret"},
            "key": {"s3cr3t-key": 1},
            "name": "s3cr3t-name",
        });
        let paths = set(&["input.hash", "key", "name"]);
        let secrets = secret_values(config.as_object().unwrap(), &paths);
        let planned = serde_json::json!({
            "input": {"major": 15, "hash": "h4sh-of-secret"},
            "key": {"s3cr3t-key": 1},
            "name": "s3cr3t-name",
            "output": {"major": 15, "hash": "h4sh-of-secret", "nested": [{"s3cr3t-key": 1}], "by_name": {"s3cr3t-name": 2}},
            "id": "15",
        });
        assert_eq!(
            copied_paths(&secrets, planned.as_object().unwrap()),
            set(&["output.by_name", "output.hash", "output.nested[0]"])
        );
    }
}
