//! A provider's schema as Landform keeps it: owned, with each attribute's
//! cty type parsed, and nested blocks with their nesting mode. Converted once
//! from the protocol's messages.

use crate::cty::Type;
use crate::proto;
use crate::Error;
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
            let t = b.block.implied_type();
            attrs.insert(
                k.clone(),
                match b.nesting {
                    Nesting::Single | Nesting::Group => t,
                    Nesting::List => Type::List(Box::new(t)),
                    Nesting::Set => Type::Set(Box::new(t)),
                    Nesting::Map => Type::Map(Box::new(t)),
                },
            );
        }
        Type::object(attrs)
    }

    fn from_proto(b: proto::SchemaBlock, path: &str) -> Result<Block, Error> {
        let mut block = Block { description: b.description, deprecated: b.deprecated, ..Block::default() };
        for a in b.attributes {
            let ty = Type::from_json_bytes(&a.r#type).map_err(|e| Error::Schema(format!("{path}.{}: {e}", a.name)))?;
            block.attributes.insert(
                a.name,
                Attribute {
                    ty,
                    description: a.description,
                    required: a.required,
                    optional: a.optional,
                    computed: a.computed,
                    sensitive: a.sensitive,
                    deprecated: a.deprecated,
                    write_only: a.write_only,
                },
            );
        }
        for nb in b.block_types {
            let inner_path = format!("{path}.{}", nb.type_name);
            let nesting = match proto::NestingMode::try_from(nb.nesting) {
                Ok(proto::NestingMode::Single) => Nesting::Single,
                Ok(proto::NestingMode::List) => Nesting::List,
                Ok(proto::NestingMode::Set) => Nesting::Set,
                Ok(proto::NestingMode::Map) => Nesting::Map,
                Ok(proto::NestingMode::Group) => Nesting::Group,
                _ => return Err(Error::Schema(format!("{inner_path}: unknown nesting mode {}", nb.nesting))),
            };
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

impl Schema {
    pub fn from_proto(s: Option<proto::Schema>, path: &str) -> Result<Schema, Error> {
        let s = s.unwrap_or_default();
        Ok(Schema { version: s.version, block: Block::from_proto(s.block.unwrap_or_default(), path)? })
    }
}

impl ProviderSchema {
    pub fn from_proto(r: proto::GetProviderSchemaResponse) -> Result<ProviderSchema, Error> {
        let convert = |m: BTreeMap<String, proto::Schema>| -> Result<BTreeMap<String, Schema>, Error> {
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
