//! A provider's schema as Landform keeps it: owned, with each attribute's
//! cty type parsed, nested blocks with their nesting mode, and protocol 6's
//! nested attribute types as nested blocks of attributes. Converted once
//! from the protocol's messages: version 5's are a subset of version 6's,
//! so they are read as those (`From` below) and converted by one code path.

use crate::cty::Type;
use crate::Error;
use crate::{proto, proto6};
use std::collections::BTreeMap;

#[derive(Clone, Debug, PartialEq)]
pub struct Attribute {
    pub ty: Type,
    pub description: String,
    pub required: bool,
    pub optional: bool,
    pub computed: bool,
    pub sensitive: bool,
    pub deprecated: bool,
    pub write_only: bool,
    /// Protocol 6's nested attribute type: its attributes as a block's,
    /// nested single, list, set or map (never group, no blocks inside).
    /// `ty` is then its implied type.
    pub nested: Option<Box<NestedBlock>>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Nesting {
    Single,
    List,
    Set,
    Map,
    /// Like single, but never null: an absent block is one with every attribute null.
    Group,
}

#[derive(Clone, Debug, PartialEq)]
pub struct NestedBlock {
    pub nesting: Nesting,
    pub min_items: u64,
    /// 0 for no limit.
    pub max_items: u64,
    pub block: Block,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Block {
    pub attributes: BTreeMap<String, Attribute>,
    pub blocks: BTreeMap<String, NestedBlock>,
    pub description: String,
    pub deprecated: bool,
}

/// One resource type's, data source's or the provider's own schema.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Schema {
    pub version: i64,
    pub block: Block,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct ProviderSchema {
    pub provider: Schema,
    pub resources: BTreeMap<String, Schema>,
    pub data_sources: BTreeMap<String, Schema>,
    pub provider_meta: Option<Schema>,
    /// The provider can plan a destroy (PlanResourceChange with a null proposal).
    pub plan_destroy: bool,
}

impl Block {
    /// The type of a value of this block: an object of its attributes and,
    /// per nesting mode, its nested blocks.
    pub fn implied_type(&self) -> Type {
        let mut attrs: BTreeMap<String, Type> =
            self.attributes.iter().map(|(k, a)| (k.clone(), a.ty.clone())).collect();
        for (k, b) in &self.blocks {
            attrs.insert(k.clone(), b.implied_type());
        }
        Type::object(attrs)
    }

    fn from_proto(b: proto6::SchemaBlock, path: &str) -> Result<Block, Error> {
        let mut block = Block { description: b.description, deprecated: b.deprecated, ..Block::default() };
        for a in b.attributes {
            let (name, attr) = Attribute::from_proto(a, path)?;
            block.attributes.insert(name, attr);
        }
        for nb in b.block_types {
            let inner_path = format!("{path}.{}", nb.type_name);
            let nesting = nesting(nb.nesting, &inner_path)?;
            let inner = Block::from_proto(nb.block.unwrap_or_default(), &inner_path)?;
            block.blocks.insert(
                nb.type_name,
                NestedBlock {
                    nesting,
                    min_items: nb.min_items.max(0) as u64,
                    max_items: nb.max_items.max(0) as u64,
                    block: inner,
                },
            );
        }
        Ok(block)
    }
}

impl Attribute {
    fn from_proto(a: proto6::SchemaAttribute, path: &str) -> Result<(String, Attribute), Error> {
        let here = format!("{path}.{}", a.name);
        let nested = match a.nested_type {
            None => None,
            Some(o) => {
                let nesting = nesting(o.nesting, &here)?;
                if nesting == Nesting::Group {
                    return Err(Error::Schema(format!("{here}: a nested attribute type cannot nest as a group")));
                }
                let mut block = Block::default();
                for inner in o.attributes {
                    let (name, attr) = Attribute::from_proto(inner, &here)?;
                    block.attributes.insert(name, attr);
                }
                Some(Box::new(NestedBlock { nesting, min_items: 0, max_items: 0, block }))
            }
        };
        let ty = match &nested {
            Some(n) => n.implied_type(),
            None => Type::from_json_bytes(&a.r#type).map_err(|e| Error::Schema(format!("{here}: {e}")))?,
        };
        let attr = Attribute {
            ty,
            description: a.description,
            required: a.required,
            optional: a.optional,
            computed: a.computed,
            sensitive: a.sensitive,
            deprecated: a.deprecated,
            write_only: a.write_only,
            nested,
        };
        Ok((a.name, attr))
    }

    /// Whether this attribute, or one nested in it, is sensitive.
    pub fn any_sensitive(&self) -> bool {
        self.sensitive
            || self.nested.as_ref().is_some_and(|n| n.block.attributes.values().any(Attribute::any_sensitive))
    }
}

impl NestedBlock {
    /// The type of this nested block's value, by its nesting mode.
    pub fn implied_type(&self) -> Type {
        let t = self.block.implied_type();
        match self.nesting {
            Nesting::Single | Nesting::Group => t,
            Nesting::List => Type::List(Box::new(t)),
            Nesting::Set => Type::Set(Box::new(t)),
            Nesting::Map => Type::Map(Box::new(t)),
        }
    }
}

fn nesting(n: i32, path: &str) -> Result<Nesting, Error> {
    match proto::NestingMode::try_from(n) {
        Ok(proto::NestingMode::Single) => Ok(Nesting::Single),
        Ok(proto::NestingMode::List) => Ok(Nesting::List),
        Ok(proto::NestingMode::Set) => Ok(Nesting::Set),
        Ok(proto::NestingMode::Map) => Ok(Nesting::Map),
        Ok(proto::NestingMode::Group) => Ok(Nesting::Group),
        _ => Err(Error::Schema(format!("{path}: unknown nesting mode {n}"))),
    }
}

impl Schema {
    pub fn from_proto(s: Option<proto6::Schema>, path: &str) -> Result<Schema, Error> {
        let s = s.unwrap_or_default();
        Ok(Schema { version: s.version, block: Block::from_proto(s.block.unwrap_or_default(), path)? })
    }
}

impl ProviderSchema {
    pub fn from_proto(r: proto6::GetProviderSchemaResponse) -> Result<ProviderSchema, Error> {
        let convert = |m: BTreeMap<String, proto6::Schema>| -> Result<BTreeMap<String, Schema>, Error> {
            m.into_iter().map(|(k, s)| Ok((k.clone(), Schema::from_proto(Some(s), &k)?))).collect()
        };
        Ok(ProviderSchema {
            provider: Schema::from_proto(r.provider, "provider")?,
            resources: convert(r.resource_schemas)?,
            data_sources: convert(r.data_source_schemas)?,
            provider_meta: r.provider_meta.map(|s| Schema::from_proto(Some(s), "provider_meta")).transpose()?,
            plan_destroy: r.server_capabilities.is_some_and(|c| c.plan_destroy),
        })
    }

    pub fn resource(&self, type_name: &str) -> Result<&Schema, Error> {
        self.resources
            .get(type_name)
            .ok_or_else(|| Error::Schema(format!("the provider has no resource type {type_name:?}")))
    }
}

// Protocol 5's schema as protocol 6's: the same fields, no nested types.

impl From<proto::GetProviderSchemaResponse> for proto6::GetProviderSchemaResponse {
    fn from(r: proto::GetProviderSchemaResponse) -> Self {
        let map = |m: BTreeMap<String, proto::Schema>| m.into_iter().map(|(k, s)| (k, s.into())).collect();
        proto6::GetProviderSchemaResponse {
            provider: r.provider.map(Into::into),
            resource_schemas: map(r.resource_schemas),
            data_source_schemas: map(r.data_source_schemas),
            diagnostics: r.diagnostics,
            provider_meta: r.provider_meta.map(Into::into),
            server_capabilities: r.server_capabilities,
        }
    }
}

impl From<proto::Schema> for proto6::Schema {
    fn from(s: proto::Schema) -> Self {
        proto6::Schema { version: s.version, block: s.block.map(Into::into) }
    }
}

impl From<proto::SchemaBlock> for proto6::SchemaBlock {
    fn from(b: proto::SchemaBlock) -> Self {
        proto6::SchemaBlock {
            version: b.version,
            attributes: b.attributes.into_iter().map(Into::into).collect(),
            block_types: b
                .block_types
                .into_iter()
                .map(|nb| proto6::SchemaNestedBlock {
                    type_name: nb.type_name,
                    block: nb.block.map(Into::into),
                    nesting: nb.nesting,
                    min_items: nb.min_items,
                    max_items: nb.max_items,
                })
                .collect(),
            description: b.description,
            deprecated: b.deprecated,
        }
    }
}

impl From<proto::SchemaAttribute> for proto6::SchemaAttribute {
    fn from(a: proto::SchemaAttribute) -> Self {
        proto6::SchemaAttribute {
            name: a.name,
            r#type: a.r#type,
            nested_type: None,
            description: a.description,
            required: a.required,
            optional: a.optional,
            computed: a.computed,
            sensitive: a.sensitive,
            deprecated: a.deprecated,
            write_only: a.write_only,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cty::Value;
    use prost::Message;

    fn attr(name: &str, ty: &str, flags: &str) -> proto6::SchemaAttribute {
        proto6::SchemaAttribute {
            name: name.into(),
            r#type: ty.as_bytes().to_vec(),
            required: flags.contains('r'),
            optional: flags.contains('o'),
            computed: flags.contains('c'),
            sensitive: flags.contains('s'),
            ..Default::default()
        }
    }

    /// A protocol 6 resource with a nested attribute: a list of objects, one
    /// of whose attributes is computed and another sensitive.
    fn v6_response() -> proto6::GetProviderSchemaResponse {
        let rules = proto6::SchemaAttribute {
            name: "rules".into(),
            nested_type: Some(proto6::SchemaObject {
                attributes: vec![
                    attr("port", "\"number\"", "r"),
                    attr("key", "\"string\"", "os"),
                    attr("arn", "\"string\"", "c"),
                ],
                nesting: proto::NestingMode::List as i32,
            }),
            optional: true,
            ..Default::default()
        };
        let block =
            proto6::SchemaBlock { attributes: vec![attr("name", "\"string\"", "r"), rules], ..Default::default() };
        proto6::GetProviderSchemaResponse {
            resource_schemas: [("pyv_x".to_string(), proto6::Schema { version: 1, block: Some(block) })].into(),
            ..Default::default()
        }
    }

    #[test]
    fn a_nested_attribute_type_is_a_nested_block_of_attributes_with_its_implied_type() {
        // Through the wire, as the provider sends it.
        let bytes = v6_response().encode_to_vec();
        let s =
            ProviderSchema::from_proto(proto6::GetProviderSchemaResponse::decode(bytes.as_slice()).unwrap()).unwrap();
        let block = &s.resource("pyv_x").unwrap().block;
        let rules = &block.attributes["rules"];
        let nested = rules.nested.as_ref().unwrap();
        assert_eq!(nested.nesting, Nesting::List);
        let elem = Type::object([("port", Type::Number), ("key", Type::String), ("arn", Type::String)]);
        assert_eq!(rules.ty, Type::List(Box::new(elem.clone())));
        assert!(rules.any_sensitive() && !rules.sensitive && !block.attributes["name"].any_sensitive());
        assert_eq!(block.implied_type(), Type::object([("name", Type::String), ("rules", Type::List(Box::new(elem)))]));

        // The configuration's objects are full objects, and a computed
        // attribute inside keeps its prior value in the proposal.
        let config = block.conform(&Value::object([
            ("name", Value::string("n")),
            ("rules", Value::List(vec![Value::object([("port", Value::Number(80.into()))])])),
        ]));
        let rule = &config.get("rules").unwrap();
        let Value::List(items) = rule else { panic!("{rule:?}") };
        assert_eq!(items[0].get("arn"), Some(&Value::Null));
        let prior = Value::object([
            ("name", Value::string("n")),
            (
                "rules",
                Value::List(vec![Value::object([
                    ("port", Value::Number(80.into())),
                    ("key", Value::Null),
                    ("arn", Value::string("arn:1")),
                ])]),
            ),
        ]);
        let proposed = crate::objchange::proposed_new(block, &prior, &config);
        assert_eq!(proposed, prior);
    }

    #[test]
    fn protocol_5_schemas_read_as_protocol_6_keep_every_field() {
        let v5 = proto::GetProviderSchemaResponse {
            resource_schemas: [(
                "aws_x".to_string(),
                proto::Schema {
                    version: 2,
                    block: Some(proto::SchemaBlock {
                        attributes: vec![proto::SchemaAttribute {
                            name: "password".into(),
                            r#type: b"\"string\"".to_vec(),
                            optional: true,
                            sensitive: true,
                            write_only: true,
                            ..Default::default()
                        }],
                        ..Default::default()
                    }),
                },
            )]
            .into(),
            ..Default::default()
        };
        let s = ProviderSchema::from_proto(v5.into()).unwrap();
        let a = &s.resource("aws_x").unwrap().block.attributes["password"];
        assert!(a.optional && a.sensitive && a.write_only && a.nested.is_none());
        assert_eq!(s.resource("aws_x").unwrap().version, 2);
    }
}
