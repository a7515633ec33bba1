//! Drift: what changed outside Landform, attribute by attribute. Refresh reads
//! each object; this module decides which differences from the state are
//! worth telling — only the arguments the configuration manages, never
//! computed attributes the user never set, never what `ignore_changes`,
//! `--ignore` or `.landformignore` silence — and names each by its path.

use crate::addr::{Key, ResourceAddr};
use landform_lang::module::LoadedModule;
use landform_lang::syntax::Item;
use landform_provider::Schema;
use landform_state::ResourceRecord;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value as Json};
use std::collections::{BTreeSet, HashMap};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DriftStatus {
    /// The object exists, with arguments changed outside Landform.
    Drifted,
    /// The object no longer exists.
    Deleted,
}

/// One attribute that changed: its path (`content`, `tags.env`,
/// `rules[0].weight`), and its values unless it is sensitive.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct AttrDrift {
    pub path: String,
    /// `null` when sensitive.
    pub before: Json,
    pub after: Json,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub sensitive: bool,
}

/// One resource instance changed or deleted outside Landform.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct ResourceDrift {
    pub address: String,
    pub module_address: String,
    pub mode: String,
    #[serde(rename = "type")]
    pub type_name: String,
    pub name: String,
    pub index: Json,
    pub provider_name: String,
    pub status: DriftStatus,
    pub changes: Vec<AttrDrift>,
    /// The object as the state had it and as it is now (`None` when deleted),
    /// sensitive attributes blanked to null: for `resource_drift` in plan JSON.
    pub before: Option<Map<String, Json>>,
    pub after: Option<Map<String, Json>>,
    pub sensitive: BTreeSet<String>,
}

/// What the configuration says of one resource block, for drift: the
/// arguments it sets and those `ignore_changes` names. Read from the syntax
/// alone, so `landform drift` needs no variable values.
#[derive(Clone, Debug)]
struct BlockRules {
    /// What the block sets: its arguments and blocks by name, and within
    /// nested blocks by dotted path without indices (`default_action.forward`).
    set: BTreeSet<String>,
    ignore: crate::lifecycle::Ignored,
}

/// `--ignore ADDR[.attr]` and a `.landformignore` line: a module, a resource,
/// or one instance, and optionally an attribute path within it.
#[derive(Clone, Debug, PartialEq)]
pub struct IgnoreRule {
    module: Vec<String>,
    /// `None` for a whole module.
    resource: Option<(bool, String, String)>,
    key: Key,
    attr: Option<String>,
    pub text: String,
}

impl IgnoreRule {
    /// Parse `module.web`, `local_file.page`, `local_file.page["a"]`,
    /// `local_file.page.content`, `module.x.data.t.n[0].tags.env`.
    pub fn parse(s: &str) -> Result<IgnoreRule, String> {
        let bad = |why: &str| {
            format!("\"{s}\" is not an address to ignore ({why}); write it as TYPE.NAME, TYPE.NAME[\"key\"], module.NAME, optionally followed by .ATTRIBUTE")
        };
        let segs = segments(s).ok_or_else(|| bad("unbalanced brackets or quotes"))?;
        let mut i = 0;
        let mut module = Vec::new();
        while i + 1 < segs.len() && segs[i].0 == "module" && segs[i].1.is_none() {
            if segs[i + 1].1.is_some() {
                return Err(bad("module instances are not supported"));
            }
            module.push(segs[i + 1].0.clone());
            i += 2;
        }
        if i == segs.len() {
            if module.is_empty() {
                return Err(bad("it is empty"));
            }
            return Ok(IgnoreRule { module, resource: None, key: Key::None, attr: None, text: s.to_string() });
        }
        let data = segs[i].0 == "data" && segs[i].1.is_none();
        if data {
            i += 1;
        }
        if i + 1 >= segs.len() || segs[i].1.is_some() {
            return Err(bad("a resource address is TYPE.NAME"));
        }
        let (type_name, name) = (segs[i].0.clone(), segs[i + 1].0.clone());
        let key = match &segs[i + 1].1 {
            None => Key::None,
            Some(k) => parse_key(k).ok_or_else(|| bad("an index is [0] or [\"key\"]"))?,
        };
        let rest: Vec<String> = segs[i + 2..]
            .iter()
            .map(|(n, idx)| format!("{}{}", n, idx.as_ref().map(|k| format!("[{k}]")).unwrap_or_default()))
            .collect();
        if [&type_name, &name].iter().any(|p| p.is_empty()) || rest.iter().any(String::is_empty) {
            return Err(bad("an empty part"));
        }
        let attr = (!rest.is_empty()).then(|| rest.join("."));
        Ok(IgnoreRule { module, resource: Some((data, type_name, name)), key, attr, text: s.to_string() })
    }

    fn matches(&self, a: &ResourceAddr) -> bool {
        match &self.resource {
            None => a.module.starts_with(&self.module),
            Some((data, t, n)) => {
                a.module == self.module
                    && a.data == *data
                    && &a.type_name == t
                    && &a.name == n
                    && (self.key == Key::None || self.key == a.key)
            }
        }
    }
}

fn parse_key(k: &str) -> Option<Key> {
    if let Some(q) = k.strip_prefix('"').and_then(|r| r.strip_suffix('"')) {
        Some(Key::Str(q.to_string()))
    } else {
        k.parse().ok().map(Key::Int)
    }
}

/// `a.b["c.d"][0]` as `[("a", None), ("b", Some("\"c.d\"")), …]`; a second
/// index on one segment is kept in its name.
fn segments(s: &str) -> Option<Vec<(String, Option<String>)>> {
    let mut out: Vec<(String, Option<String>)> = vec![(String::new(), None)];
    let mut chars = s.trim().chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '.' => out.push((String::new(), None)),
            '[' => {
                let mut inner = String::new();
                let mut quoted = false;
                loop {
                    let c = chars.next()?;
                    match c {
                        '"' => {
                            quoted = !quoted;
                            inner.push(c);
                        }
                        ']' if !quoted => break,
                        _ => inner.push(c),
                    }
                }
                let last = out.last_mut()?;
                match &last.1 {
                    None => last.1 = Some(inner),
                    Some(_) => last.0.push_str(&format!("[{inner}]")),
                }
            }
            ']' | '"' => return None,
            _ => {
                let last = out.last_mut()?;
                if last.1.is_some() {
                    return None;
                }
                last.0.push(c);
            }
        }
    }
    Some(out)
}

/// Everything that decides what counts as drift.
#[derive(Clone, Debug, Default)]
pub struct DriftRules {
    blocks: HashMap<String, BlockRules>,
    ignore: Vec<IgnoreRule>,
    /// Attribute paths another owner changes on purpose (a rollout moving a
    /// listener's weights): by instance address.
    owned: HashMap<String, Vec<String>>,
}

impl DriftRules {
    /// Rules from the configuration: per resource block, the arguments it
    /// sets and its `ignore_changes`.
    pub fn from_config(tree: &LoadedModule) -> DriftRules {
        let mut blocks = HashMap::new();
        let mut stack = vec![(tree, Vec::<String>::new())];
        while let Some((m, path)) = stack.pop() {
            for (name, child) in &m.children {
                let mut p = path.clone();
                p.push(name.clone());
                stack.push((child, p));
            }
            for r in &m.module.resources {
                let addr = ResourceAddr {
                    module: path.clone(),
                    data: r.mode == landform_lang::config::Mode::Data,
                    type_name: r.type_name.clone(),
                    name: r.name.clone(),
                    key: Key::None,
                };
                let mut set = BTreeSet::new();
                set_paths(&r.config, "", &mut set);
                blocks.insert(addr.config_addr(), BlockRules { set, ignore: crate::lifecycle::ignored(r) });
            }
        }
        DriftRules { blocks, ..Default::default() }
    }

    pub fn ignore(&mut self, rule: IgnoreRule) {
        self.ignore.push(rule);
    }

    /// Paths of an instance that another part of Landform owns.
    pub fn own(&mut self, addr: &str, path: &str) {
        self.owned.entry(addr.to_string()).or_default().push(path.to_string());
    }

    /// Whether a whole instance is silenced (`--ignore ADDR`).
    fn silenced(&self, a: &ResourceAddr) -> bool {
        self.ignore.iter().any(|r| r.attr.is_none() && r.matches(a))
    }

    /// Whether a change at `path` of the instance is silenced.
    fn ignored_path(&self, a: &ResourceAddr, addr: &str, path: &str) -> bool {
        let under = |p: &str| path == p || path.starts_with(&format!("{p}.")) || path.starts_with(&format!("{p}["));
        self.ignore.iter().any(|r| r.matches(a) && r.attr.as_deref().is_some_and(under))
            || self.owned.get(addr).is_some_and(|ps| ps.iter().any(|p| under(p)))
            || self.blocks.get(&a.config_addr()).is_some_and(|b| b.ignore.nested_paths().iter().any(|p| under(p)))
    }

    /// The top-level attributes of a record whose changes are drift.
    fn managed(&self, a: &ResourceAddr, schema: &Schema) -> BTreeSet<String> {
        let block = self.blocks.get(&a.config_addr());
        let mut out = BTreeSet::new();
        for (name, attr) in &schema.attributes {
            let argument = attr.is_argument();
            let set_in_config = block.is_none_or(|b| b.set.contains(*name));
            // Optional and computed: managed only when the configuration sets it.
            if !argument || (attr.computed && !set_in_config) {
                continue;
            }
            if block.is_some_and(|b| b.ignore.whole(name)) {
                continue;
            }
            out.insert(name.to_string());
        }
        for name in schema.blocks.keys() {
            if block.is_none_or(|b| !b.ignore.whole(name)) {
                out.insert(name.to_string());
            }
        }
        out
    }
}

/// The address of a state record, typed.
pub fn record_addr(rec: &ResourceRecord) -> Option<ResourceAddr> {
    ResourceAddr::parse(&rec.addr).ok()
}

use crate::sensitivity::redact;

/// What refresh found for a record, as drift to tell, if any: `now` is the
/// object as read (`None`: deleted).
pub fn resource_drift(
    rec: &ResourceRecord,
    now: Option<&Map<String, Json>>,
    schema: Option<&Schema>,
    rules: &DriftRules,
) -> Option<ResourceDrift> {
    let addr = record_addr(rec)?;
    if rules.silenced(&addr) {
        return None;
    }
    let sensitive: BTreeSet<String> = rec.sensitive_attributes.iter().cloned().collect();
    let base = |status, changes| ResourceDrift {
        address: rec.addr.clone(),
        module_address: rec.module.clone(),
        mode: rec.mode.clone(),
        type_name: rec.type_name.clone(),
        name: rec.name.clone(),
        index: rec.index_key.clone(),
        provider_name: rec.provider.clone(),
        status,
        changes,
        before: Some(redact(&rec.attributes, &sensitive)),
        after: now.map(|n| redact(n, &sensitive)),
        sensitive: sensitive.clone(),
    };
    let Some(now) = now else { return Some(base(DriftStatus::Deleted, Vec::new())) };
    let managed = match schema {
        Some(s) => rules.managed(&addr, s),
        // A type no provider offers now: every attribute counts.
        None => rec.attributes.keys().chain(now.keys()).cloned().collect(),
    };
    let mut changes = Vec::new();
    for name in &managed {
        let before = rec.attributes.get(name).unwrap_or(&Json::Null);
        let after = now.get(name).unwrap_or(&Json::Null);
        if crate::sensitivity::touches(&sensitive, name) {
            if before != after && !rules.ignored_path(&addr, &rec.addr, name) {
                changes.push(AttrDrift { path: name.clone(), before: Json::Null, after: Json::Null, sensitive: true });
            }
            continue;
        }
        diff_paths(name.clone(), before, after, &mut changes);
    }
    changes.retain(|c| c.sensitive || !rules.ignored_path(&addr, &rec.addr, &c.path));
    // Inside nested blocks too: a computed attribute the configuration never
    // set (a listener action's `order`) is the provider's, not drift.
    if let (Some(schema), Some(block)) = (schema, rules.blocks.get(&addr.config_addr())) {
        changes.retain(|c| c.sensitive || !unset_computed(schema, &c.path, &block.set));
    }
    (!changes.is_empty()).then(|| base(DriftStatus::Drifted, changes))
}

/// The arguments and blocks a body sets, by dotted path under `prefix`
/// (a `dynamic` block by the name of the blocks it makes).
fn set_paths(body: &landform_lang::syntax::Body, prefix: &str, out: &mut BTreeSet<String>) {
    for i in &body.items {
        match i {
            Item::Attribute(a) => {
                out.insert(format!("{prefix}{}", a.name.name));
            }
            Item::Block(b) => {
                let (name, inner) = match b.as_dynamic() {
                    Some(d) => (d.name, d.content),
                    None => (b.kind.name.as_str(), Some(&b.body)),
                };
                out.insert(format!("{prefix}{name}"));
                if let Some(inner) = inner {
                    set_paths(inner, &format!("{prefix}{name}."), out);
                }
            }
        }
    }
}

/// Whether a change at `path` (`default_action[0].order`) is to a computed
/// attribute of a nested block that the configuration does not set there.
fn unset_computed(schema: &Schema, path: &str, set: &BTreeSet<String>) -> bool {
    // The names along the path, without the indices and keys in brackets.
    let mut names = Vec::new();
    let mut name = String::new();
    let mut depth = 0;
    let mut quoted = false;
    let mut escaped = false;
    for c in path.chars() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' if depth > 0 => quoted = !quoted,
            '[' if !quoted => depth += 1,
            ']' if !quoted => depth -= 1,
            '.' if depth == 0 => names.push(std::mem::take(&mut name)),
            _ if depth == 0 => name.push(c),
            _ => {}
        }
    }
    names.push(name);
    let mut block = schema;
    let mut seen = String::new();
    for (i, n) in names.iter().enumerate() {
        if !seen.is_empty() {
            seen.push('.');
        }
        seen.push_str(n);
        if let Some(b) = block.blocks.get(n.as_str()) {
            block = &b.block;
            continue;
        }
        // Top-level attributes are `managed`'s to decide.
        return i > 0 && block.attributes.get(n.as_str()).is_some_and(|a| a.computed) && !set.contains(&seen);
    }
    false
}

/// The leaf paths where two values differ. Null and absent are the same;
/// lists of different lengths differ as a whole.
pub fn diff_paths(path: String, before: &Json, after: &Json, out: &mut Vec<AttrDrift>) {
    match (before, after) {
        (a, b) if a == b => {}
        (Json::Object(a), Json::Object(b)) => {
            let keys: BTreeSet<&String> = a.keys().chain(b.keys()).collect();
            for k in keys {
                let sub = if landform_lang::value::is_identifier(k) {
                    format!("{path}.{k}")
                } else {
                    format!("{path}[{}]", serde_json::to_string(k).unwrap_or_default())
                };
                diff_paths(sub, a.get(k).unwrap_or(&Json::Null), b.get(k).unwrap_or(&Json::Null), out);
            }
        }
        (Json::Array(a), Json::Array(b)) if a.len() == b.len() => {
            for (i, (x, y)) in a.iter().zip(b).enumerate() {
                diff_paths(format!("{path}[{i}]"), x, y, out);
            }
        }
        _ => out.push(AttrDrift { path, before: before.clone(), after: after.clone(), sensitive: false }),
    }
}

/// Read a `.landformignore`: one address per line, `#` comments. Errors
/// name the line.
pub fn parse_ignore_file(name: &str, text: &str) -> Result<Vec<IgnoreRule>, String> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.split_once('#').map_or(line, |(l, _)| l).trim();
        if line.is_empty() {
            continue;
        }
        out.push(IgnoreRule::parse(line).map_err(|e| format!("{name}:{}: {e}", n + 1))?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn paths_name_the_leaf_that_changed() {
        let mut out = Vec::new();
        let before = json!({"env": "dev", "weird key": 1, "list": [1, 2], "n": null});
        let after = json!({"env": "prod", "weird key": 1, "list": [1, 3]});
        diff_paths("tags".into(), &before, &after, &mut out);
        let paths: Vec<&str> = out.iter().map(|c| c.path.as_str()).collect();
        assert_eq!(paths, ["tags.env", "tags.list[1]"]);
        let mut out = Vec::new();
        diff_paths("rules".into(), &json!([1]), &json!([1, 2]), &mut out);
        assert_eq!(out[0].path, "rules");
        let mut out = Vec::new();
        diff_paths("m".into(), &json!({"a b": 1}), &json!({"a b": 2}), &mut out);
        assert_eq!(out[0].path, "m[\"a b\"]");
    }

    #[test]
    fn ignore_rules_parse_modules_resources_instances_and_attributes() {
        let r = IgnoreRule::parse("module.web").unwrap();
        assert_eq!((r.module.clone(), r.resource.clone()), (vec!["web".to_string()], None));
        let r = IgnoreRule::parse("local_file.page[\"a.b\"].content").unwrap();
        assert_eq!(r.key, Key::Str("a.b".into()));
        assert_eq!(r.attr.as_deref(), Some("content"));
        let r = IgnoreRule::parse("module.x.data.t.n[0].tags.env").unwrap();
        assert_eq!(r.resource, Some((true, "t".into(), "n".into())));
        assert_eq!((r.key.clone(), r.attr.as_deref()), (Key::Int(0), Some("tags.env")));
        let r = IgnoreRule::parse("aws_lb_listener.http.default_action[0].weight").unwrap();
        assert_eq!(r.attr.as_deref(), Some("default_action[0].weight"));
        for bad in ["", "local_file", "a.b[", "a.b[x]", "a..b", "module.m[0].a.b"] {
            assert!(IgnoreRule::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_rule_matches_its_instances_and_paths_below_it() {
        let mut rules = DriftRules::default();
        rules.ignore(IgnoreRule::parse("local_file.page.tags").unwrap());
        rules.ignore(IgnoreRule::parse("module.m").unwrap());
        let a = ResourceAddr::parse("local_file.page[\"x\"]").unwrap();
        assert!(rules.ignored_path(&a, "", "tags.env"));
        assert!(rules.ignored_path(&a, "", "tags"));
        assert!(!rules.ignored_path(&a, "", "tagsx"));
        assert!(!rules.silenced(&a));
        assert!(rules.silenced(&ResourceAddr::parse("module.m.module.n.t.n").unwrap()));
        assert!(!rules.silenced(&ResourceAddr::parse("module.mm.t.n").unwrap()));
    }

    #[test]
    fn ignore_files_name_the_bad_line() {
        let rules =
            parse_ignore_file(".landformignore", "# team rules\nlocal_file.a.content  # edited by ops\n\n").unwrap();
        assert_eq!(rules.len(), 1);
        let e = parse_ignore_file(".landformignore", "local_file.a\nnonsense\n").unwrap_err();
        assert!(e.starts_with(".landformignore:2: "), "{e}");
    }
}
