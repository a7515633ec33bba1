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
        if t.is_empty() || n.is_empty() || t.contains('[') || module.iter().any(|m| m.is_empty()) {
            return Err(bad());
        }
        Ok(ResourceAddr { module, data, type_name: t.to_string(), name: n.to_string(), key })
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
}
