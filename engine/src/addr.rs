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

    /// Parse `module.a.type.name[0]`, `data.t.n["k"]`, `t.n`.
    pub fn parse(s: &str) -> Result<ResourceAddr, String> {
        let bad = || {
            format!("\"{s}\" is not a resource address; write it as TYPE.NAME, TYPE.NAME[0], TYPE.NAME[\"key\"] or module.NAME.TYPE.NAME")
        };
        let (path, key) = match s.find('[') {
            Some(i) => {
                let inner = s[i..].strip_prefix('[').and_then(|r| r.strip_suffix(']')).ok_or_else(bad)?;
                let key = if let Some(q) = inner.strip_prefix('"').and_then(|r| r.strip_suffix('"')) {
                    Key::Str(q.to_string())
                } else {
                    Key::Int(inner.parse().map_err(|_| bad())?)
                };
                (&s[..i], key)
            }
            None => (s, Key::None),
        };
        let parts: Vec<&str> = path.split('.').collect();
        let mut module = Vec::new();
        let mut i = 0;
        while i + 1 < parts.len() && parts[i] == "module" {
            module.push(parts[i + 1].to_string());
            i += 2;
        }
        let rest = &parts[i..];
        let (data, t, n) = match rest {
            ["data", t, n] => (true, t, n),
            [t, n] => (false, t, n),
            _ => return Err(bad()),
        };
        if t.is_empty() || n.is_empty() {
            return Err(bad());
        }
        Ok(ResourceAddr { module, data, type_name: t.to_string(), name: n.to_string(), key })
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
        for s in ["aws_lb.web", "local_file.page[\"a\"]", "data.local_file.motd", "module.net.module.sub.x.y[3]"] {
            assert_eq!(ResourceAddr::parse(s).unwrap().to_string(), s);
        }
        assert!(ResourceAddr::parse("nonsense").is_err());
        assert!(ResourceAddr::parse("a.b[x]").is_err());
    }
}
