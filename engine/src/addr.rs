//! Typed resource addresses, displayed in configuration syntax
//! (`module.net.aws_lb.web["a"]`) and parsed back from it.

use serde_json::Value;
use std::fmt;

#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Key {
    None,
    Int(u64),
    Str(String),
}

impl Key {
    pub fn to_json(&self) -> Value {
        match self {
            Key::None => Value::Null,
            Key::Int(i) => Value::from(*i),
            Key::Str(s) => Value::from(s.clone()),
        }
    }
}

/// One resource instance: module path, data or managed, type, name, key.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ResourceAddr {
    pub module: Vec<String>,
    pub data: bool,
    pub type_name: String,
    pub name: String,
    pub key: Key,
}

pub fn module_prefix(module: &[String]) -> String {
    module.iter().map(|m| format!("module.{m}.")).collect()
}

impl ResourceAddr {
    /// The address of the resource block, without the instance key.
    pub fn config_addr(&self) -> String {
        format!(
            "{}{}{}.{}",
            module_prefix(&self.module),
            if self.data { "data." } else { "" },
            self.type_name,
            self.name
        )
    }

    pub fn module_addr(&self) -> String {
        module_prefix(&self.module).trim_end_matches('.').to_string()
    }

    /// Parse `module.a.type.name[0]`, `data.t.n["k"]`, `t.n`, and module
    /// instances: `module.api["eu"].t.n`.
    pub fn parse(s: &str) -> Result<ResourceAddr, String> {
        let bad = || {
            format!("\"{s}\" is not a resource address; write it as TYPE.NAME, TYPE.NAME[0], TYPE.NAME[\"key\"] or module.NAME.TYPE.NAME")
        };
        let parts = split_address(s).ok_or_else(bad)?;
        let mut module = Vec::new();
        let mut i = 0;
        while i + 1 < parts.len() && parts[i] == "module" {
            module.push(parts[i + 1].to_string());
            i += 2;
        }
        let rest = &parts[i..];
        let (data, t, last) = match rest {
            ["data", t, n] => (true, *t, *n),
            [t, n] => (false, *t, *n),
            _ => return Err(bad()),
        };
        let (n, key) = match last.find('[') {
            Some(j) => (&last[..j], parse_key(&last[j..]).ok_or_else(bad)?),
            None => (last, Key::None),
        };
        if !is_identifier(t) || !is_identifier(n) || !module.iter().all(|m| well_formed_element(m)) {
            return Err(bad());
        }
        Ok(ResourceAddr { module, data, type_name: t.to_string(), name: n.to_string(), key })
    }
}

/// A name as the language writes one: a letter or `_`, then letters,
/// digits, `_` and `-`.
fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_alphabetic() || c == '_')
        && chars.all(|c| c.is_alphanumeric() || c == '_' || c == '-')
}

/// A module path element: `NAME` or `NAME[KEY]`.
fn well_formed_element(e: &str) -> bool {
    match e.find('[') {
        Some(i) => is_identifier(&e[..i]) && parse_key(&e[i..]).is_some(),
        None => is_identifier(e),
    }
}

/// `[0]` or `["key"]`.
pub fn parse_key(s: &str) -> Option<Key> {
    let inner = s.strip_prefix('[')?.strip_suffix(']')?;
    if inner.starts_with('"') {
        return serde_json::from_str::<String>(inner).ok().map(Key::Str);
    }
    inner.parse().ok().map(Key::Int)
}

/// An address split at its dots, a dot inside `[…]` or a quoted key not counting.
pub fn split_address(s: &str) -> Option<Vec<&str>> {
    let mut parts = Vec::new();
    let (mut start, mut depth, mut quoted, mut escaped) = (0, 0i32, false, false);
    for (i, c) in s.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            '[' if !quoted => depth += 1,
            ']' if !quoted => depth -= 1,
            '.' if !quoted && depth == 0 => {
                parts.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    if quoted || depth != 0 {
        return None;
    }
    parts.push(&s[start..]);
    Some(parts)
}

/// A module path element: a call's name and, for one instance of a call with
/// count or for_each, its key (`api["eu"]`).
pub fn module_element(element: &str) -> (&str, Key) {
    match element.find('[') {
        Some(i) => (&element[..i], parse_key(&element[i..]).unwrap_or(Key::None)),
        None => (element, Key::None),
    }
}

/// The path element of one instance of a module call.
pub fn instance_element(call: &str, key: &Key) -> String {
    match key {
        Key::None => call.to_string(),
        Key::Int(i) => format!("{call}[{i}]"),
        Key::Str(k) => format!("{call}[{}]", serde_json::to_string(k).unwrap_or_default()),
    }
}

/// What `--target` names, matched as an address, never as a prefix of a
/// string: a module contains everything inside it (`module.api` every
/// instance of the call, `module.api["eu"]` that one), a resource every one
/// of its instances, an instance only itself. `local_file.a` contains
/// neither `local_file.ab` nor `module.x.local_file.a`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    Module(Vec<String>),
    Resource(ResourceAddr),
}

impl Target {
    /// `module.a`, `module.a["k"].module.b`, or a resource address.
    pub fn parse(s: &str) -> Result<Target, String> {
        let parts = split_address(s).unwrap_or_default();
        if !parts.is_empty() && parts.len().is_multiple_of(2) && parts.chunks(2).all(|c| c[0] == "module") {
            let path: Vec<String> = parts.chunks(2).map(|c| c[1].to_string()).collect();
            let well_formed = path.iter().all(|e| well_formed_element(e));
            if !well_formed {
                return Err(format!("\"{s}\" is not a module address; write it as module.NAME or module.NAME[KEY]"));
            }
            return Ok(Target::Module(path));
        }
        ResourceAddr::parse(s).map(Target::Resource)
    }

    /// Whether the instance `addr` is inside what this target names.
    pub fn contains(&self, addr: &ResourceAddr) -> bool {
        match self {
            Target::Module(path) => module_contains(path, &addr.module),
            Target::Resource(t) => {
                t.module.len() == addr.module.len()
                    && module_contains(&t.module, &addr.module)
                    && t.data == addr.data
                    && t.type_name == addr.type_name
                    && t.name == addr.name
                    && (t.key == Key::None || t.key == addr.key)
            }
        }
    }

    /// Whether some instance of the block at `block` (its key ignored) may be inside.
    pub fn touches_block(&self, block: &ResourceAddr) -> bool {
        match self {
            Target::Resource(r) => self.contains(&ResourceAddr { key: r.key.clone(), ..block.clone() }),
            Target::Module(_) => self.contains_block(block),
        }
    }

    /// Whether every instance of the block at `block` (its key ignored) is inside.
    pub fn contains_block(&self, block: &ResourceAddr) -> bool {
        let block = ResourceAddr { key: Key::None, ..block.clone() };
        self.contains(&block)
    }
}

/// Whether the module path `outer` is `inner` or holds it: an element
/// without a key stands for every instance of its call.
fn module_contains(outer: &[String], inner: &[String]) -> bool {
    outer.len() <= inner.len()
        && outer.iter().zip(inner).all(|(o, i)| {
            let ((on, ok), (inn, ik)) = (module_element(o), module_element(i));
            on == inn && (ok == Key::None || ok == ik)
        })
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Target::Module(path) => {
                f.write_str(&path.iter().map(|m| format!("module.{m}")).collect::<Vec<_>>().join("."))
            }
            Target::Resource(r) => r.fmt(f),
        }
    }
}

impl fmt::Display for ResourceAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.config_addr())?;
        match &self.key {
            Key::None => Ok(()),
            Key::Int(i) => write!(f, "[{i}]"),
            Key::Str(s) => write!(f, "[{}]", serde_json::to_string(s).unwrap_or_default()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_round_trip_through_display_and_parse() {
        for s in [
            "aws_lb.web",
            "local_file.page[\"a\"]",
            "data.local_file.motd",
            "module.net.module.sub.x.y[3]",
            "module.api[\"eu.west\"].local_file.x[\"a.b\"]",
            "module.api[2].module.sub.x.y",
        ] {
            assert_eq!(ResourceAddr::parse(s).unwrap().to_string(), s);
        }
        assert!(ResourceAddr::parse("nonsense").is_err());
        assert!(ResourceAddr::parse("a.b[x]").is_err());
    }

    #[test]
    fn targets_contain_addresses_not_string_prefixes() {
        let t = |s: &str| Target::parse(s).unwrap();
        let a = |s: &str| ResourceAddr::parse(s).unwrap();
        let yes = [
            ("landform_data.a", "landform_data.a"),
            ("landform_data.a", "landform_data.a[0]"),
            ("landform_data.a", "landform_data.a[\"k\"]"),
            ("landform_data.a[0]", "landform_data.a[0]"),
            ("data.x.y", "data.x.y"),
            ("module.m", "module.m.x.y"),
            ("module.m", "module.m[0].x.y[2]"),
            ("module.m", "module.m.module.n.x.y"),
            ("module.m[\"eu\"]", "module.m[\"eu\"].x.y"),
            ("module.m.x.y", "module.m.x.y[1]"),
            ("module.m.x.y", "module.m[3].x.y"),
        ];
        for (target, addr) in yes {
            assert!(t(target).contains(&a(addr)), "{target} contains {addr}");
        }
        let no = [
            ("landform_data.a", "landform_data.ab"),
            ("landform_data.a", "landform_data.a_b[0]"),
            ("landform_data.a", "data.landform_data.a"),
            ("landform_data.a", "module.x.landform_data.a"),
            ("landform_data.a[0]", "landform_data.a[1]"),
            ("landform_data.a[0]", "landform_data.a[\"0\"]"),
            ("module.m", "module.mm.x.y"),
            ("module.m", "module.m2[0].x.y"),
            ("module.m", "x.y"),
            ("module.m[\"eu\"]", "module.m[\"us\"].x.y"),
            ("module.m.x.y", "module.m.module.n.x.y"),
            ("module.m.x.y", "module.m.x.yy"),
        ];
        for (target, addr) in no {
            assert!(!t(target).contains(&a(addr)), "{target} does not contain {addr}");
        }
        assert!(t("landform_data.a").contains_block(&a("landform_data.a")));
        assert!(!t("landform_data.a[0]").contains_block(&a("landform_data.a")));
        assert!(t("landform_data.a[0]").touches_block(&a("landform_data.a")));
        assert!(!t("landform_data.a[0]").touches_block(&a("landform_data.ab")));
        assert!(Target::parse("module.").is_err() && Target::parse("module.m[x]").is_err());
        assert_eq!(t("module.m[\"eu\"].module.n").to_string(), "module.m[\"eu\"].module.n");
    }
}
