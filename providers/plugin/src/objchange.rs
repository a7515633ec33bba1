//! The values Terraform computes before it asks a provider to plan: the
//! configuration as the schema's full object (`conform`), and the proposed
//! new state (`proposed_new`): the configuration, with each computed
//! attribute the configuration leaves null keeping its prior value.

use crate::cty::Value;
use crate::schema::{Block, NestedBlock, Nesting};
use std::collections::BTreeMap;

impl Block {
    /// The value every object of this block has when nothing is set: attributes
    /// null, no nested blocks (a group block is there, empty).
    pub fn empty_value(&self) -> Value {
        let mut m: BTreeMap<String, Value> = self.attributes.keys().map(|k| (k.clone(), Value::Null)).collect();
        for (k, b) in &self.blocks {
            m.insert(k.clone(), b.empty_value());
        }
        Value::Map(m)
    }

    /// `v` as a full object of this block: absent attributes null, absent
    /// nested blocks as the nesting mode has them (none: null, an empty list
    /// or map, or an empty group). Names the schema lacks are left in, for
    /// the encoder to refuse with their path.
    pub fn conform(&self, v: &Value) -> Value {
        let Value::Map(given) = v else { return v.clone() };
        let mut m = given.clone();
        for (k, a) in &self.attributes {
            let cur = m.entry(k.clone()).or_insert(Value::Null);
            // A nested attribute's objects are full objects too; null stays null.
            if let Some(n) = &a.nested {
                if !matches!(cur, Value::Null | Value::Unknown) {
                    *cur = n.conform(cur);
                }
            }
        }
        for (k, b) in &self.blocks {
            let cur = m.remove(k).unwrap_or(Value::Null);
            m.insert(k.clone(), b.conform(&cur));
        }
        Value::Map(m)
    }
}

impl NestedBlock {
    fn empty_value(&self) -> Value {
        match self.nesting {
            Nesting::Single => Value::Null,
            Nesting::Group => self.block.empty_value(),
            Nesting::List | Nesting::Set => Value::List(Vec::new()),
            Nesting::Map => Value::Map(BTreeMap::new()),
        }
    }

    fn conform(&self, v: &Value) -> Value {
        match (self.nesting, v) {
            (_, Value::Unknown) => Value::Unknown,
            (_, Value::Null) => self.empty_value(),
            (Nesting::Single | Nesting::Group, _) => self.block.conform(v),
            (Nesting::List | Nesting::Set, Value::List(items)) => {
                Value::List(items.iter().map(|i| self.block.conform(i)).collect())
            }
            // A single block written where a list is expected.
            (Nesting::List | Nesting::Set, Value::Map(_)) => Value::List(vec![self.block.conform(v)]),
            (Nesting::Map, Value::Map(m)) => {
                Value::Map(m.iter().map(|(k, i)| (k.clone(), self.block.conform(i))).collect())
            }
            _ => v.clone(),
        }
    }
}

/// The proposed new state for `config` over `prior` (null when creating).
pub fn proposed_new(schema: &Block, prior: &Value, config: &Value) -> Value {
    if config.is_null() && prior.is_null() {
        return Value::Null;
    }
    let prior = if prior.is_null() { schema.empty_value() } else { prior.clone() };
    proposed(schema, &prior, config)
}

fn proposed(schema: &Block, prior: &Value, config: &Value) -> Value {
    if matches!(config, Value::Null | Value::Unknown) {
        return prior.clone();
    }
    let mut out = BTreeMap::new();
    for (name, attr) in &schema.attributes {
        let c = config.get(name).unwrap_or(&Value::Null);
        let p = prior.get(name).unwrap_or(&Value::Null);
        let v = match &attr.nested {
            _ if attr.computed && c.is_null() => p.clone(),
            // As Terraform does: computed attributes nested in it keep theirs too.
            Some(n) if !c.is_null() => proposed_block(n, p, c),
            _ => c.clone(),
        };
        out.insert(name.clone(), v);
    }
    for (name, b) in &schema.blocks {
        let c = config.get(name).unwrap_or(&Value::Null);
        let p = prior.get(name).unwrap_or(&Value::Null);
        out.insert(name.clone(), proposed_block(b, p, c));
    }
    Value::Map(out)
}

fn proposed_block(b: &NestedBlock, prior: &Value, config: &Value) -> Value {
    if matches!(config, Value::Unknown) {
        return Value::Unknown;
    }
    match (b.nesting, config) {
        (Nesting::Single, Value::Null) => config.clone(),
        (Nesting::Single | Nesting::Group, _) => proposed_new(&b.block, prior, config),
        (Nesting::List, Value::List(items)) => Value::List(
            items
                .iter()
                .enumerate()
                .map(|(i, c)| match prior {
                    Value::List(p) if i < p.len() => proposed_new(&b.block, &p[i], c),
                    Value::Unknown => proposed(&b.block, &Value::Unknown, c),
                    _ => c.clone(),
                })
                .collect(),
        ),
        (Nesting::Map, Value::Map(items)) => Value::Map(
            items
                .iter()
                .map(|(k, c)| {
                    let v = match prior.get(k) {
                        Some(p) => proposed_new(&b.block, p, c),
                        None => c.clone(),
                    };
                    (k.clone(), v)
                })
                .collect(),
        ),
        (Nesting::Set, Value::List(items)) => {
            // Each configured element takes the first unused prior element
            // that agrees with it on every attribute the configuration sets.
            let priors: &[Value] = match prior {
                Value::List(p) => p,
                _ => &[],
            };
            let mut used = vec![false; priors.len()];
            Value::List(
                items
                    .iter()
                    .map(|c| {
                        let found = priors.iter().enumerate().find(|(i, p)| !used[*i] && agrees(&b.block, p, c));
                        match found {
                            Some((i, p)) => {
                                used[i] = true;
                                proposed_new(&b.block, p, c)
                            }
                            None => proposed_new(&b.block, &Value::Null, c),
                        }
                    })
                    .collect(),
            )
        }
        _ => config.clone(),
    }
}

/// Whether a prior set element could be the one `config` describes: every
/// attribute the configuration sets (and nested block it writes) is equal.
fn agrees(schema: &Block, prior: &Value, config: &Value) -> bool {
    schema.attributes.iter().all(|(name, attr)| {
        let c = config.get(name).unwrap_or(&Value::Null);
        (attr.computed && c.is_null()) || c.has_unknown() || prior.get(name).unwrap_or(&Value::Null) == c
    }) && schema.blocks.keys().all(|name| {
        let c = config.get(name).unwrap_or(&Value::Null);
        c.has_unknown() || prior.get(name).unwrap_or(&Value::Null) == c
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cty::Type;
    use crate::schema::Attribute;

    fn attr(computed: bool, optional: bool) -> Attribute {
        Attribute {
            ty: Type::String,
            description: String::new(),
            required: !computed && !optional,
            optional,
            computed,
            sensitive: false,
            deprecated: false,
            write_only: false,
            nested: None,
        }
    }

    fn schema() -> Block {
        let inner = Block {
            attributes: [("port".to_string(), attr(false, true)), ("path".to_string(), attr(true, true))].into(),
            ..Block::default()
        };
        Block {
            attributes: [
                ("name".to_string(), attr(false, false)),
                ("id".to_string(), attr(true, false)),
                ("tags".to_string(), attr(true, true)),
            ]
            .into(),
            blocks: [(
                "check".to_string(),
                NestedBlock { nesting: Nesting::List, min_items: 0, max_items: 0, block: inner },
            )]
            .into(),
            ..Block::default()
        }
    }

    #[test]
    fn computed_attributes_keep_their_prior_value_unless_configured() {
        let s = schema();
        let config = s.conform(&Value::object([
            ("name", Value::string("a")),
            ("check", Value::List(vec![Value::object([("port", Value::string("80"))])])),
        ]));
        // Creating: nothing prior, computed attributes null.
        let created = proposed_new(&s, &Value::Null, &config);
        assert_eq!(created.get("id"), Some(&Value::Null));
        assert_eq!(created.get("check").unwrap(), config.get("check").unwrap());
        let prior = Value::object([
            ("name", Value::string("old")),
            ("id", Value::string("i-1")),
            ("tags", Value::string("t")),
            ("check", Value::List(vec![Value::object([("port", Value::string("8")), ("path", Value::string("/"))])])),
        ]);
        let p = proposed_new(&s, &prior, &config);
        assert_eq!(p.get("name"), Some(&Value::string("a")));
        assert_eq!(p.get("id"), Some(&Value::string("i-1")));
        assert_eq!(p.get("tags"), Some(&Value::string("t")));
        let check = Value::List(vec![Value::object([("port", Value::string("80")), ("path", Value::string("/"))])]);
        assert_eq!(p.get("check"), Some(&check));
        // An absent list block conforms to an empty list.
        assert_eq!(s.conform(&Value::object([("name", Value::string("a"))])).get("check"), Some(&Value::List(vec![])));
    }
}
