//! The registry of providers the binary hands the engine. The engine names
//! no concrete provider: it finds one by the resource types its schema offers,
//! or, for a resource with `provider = aws.west`, by that configuration's key.

use landform_lang::config::Resource;
use landform_provider::{Provider, Schema, TrafficSwitch};
use std::sync::Arc;

struct Entry {
    /// `aws` for the default configuration, `aws.west` for an alias.
    key: String,
    provider: Arc<dyn Provider>,
}

#[derive(Default, Clone)]
pub struct Providers {
    list: Vec<Arc<Entry>>,
}

impl Providers {
    pub fn new() -> Providers {
        Providers::default()
    }

    /// The default configuration of a provider.
    pub fn register(&mut self, p: Arc<dyn Provider>) {
        self.list.push(Arc::new(Entry { key: p.name().to_string(), provider: p }));
    }

    /// A configuration with an alias (`provider "aws" { alias = "west" }`).
    pub fn register_alias(&mut self, alias: &str, p: Arc<dyn Provider>) {
        self.list.push(Arc::new(Entry { key: format!("{}.{alias}", p.name()), provider: p }));
    }

    /// The default provider and schema for a resource (`data = false`) or data source type.
    pub fn for_type(&self, data: bool, type_name: &str) -> Option<(&Arc<dyn Provider>, &Schema)> {
        self.list.iter().filter(|e| e.key == e.provider.name()).find_map(|e| schema_of(e, data, type_name))
    }

    /// The provider a resource block uses: its `provider = NAME.ALIAS`, else
    /// the default for its type. Also returns the configuration's key.
    pub fn for_resource(&self, r: &Resource) -> Option<(&Arc<dyn Provider>, &Schema, &str)> {
        let data = r.mode == landform_lang::config::Mode::Data;
        match provider_ref(r) {
            Some(key) => self.list.iter().filter(|e| e.key == key).find_map(|e| {
                let (p, s) = schema_of(e, data, &r.type_name)?;
                Some((p, s, e.key.as_str()))
            }),
            None => self
                .list
                .iter()
                .filter(|e| e.key == e.provider.name())
                .find_map(|e| schema_of(e, data, &r.type_name).map(|(p, s)| (p, s, e.key.as_str()))),
        }
    }

    /// The provider a state record was made with (its `provider` key), else the default for its type.
    pub fn for_record(&self, key: &str, data: bool, type_name: &str) -> Option<(&Arc<dyn Provider>, &Schema)> {
        self.list
            .iter()
            .filter(|e| e.key == key)
            .find_map(|e| schema_of(e, data, type_name))
            .or_else(|| self.for_type(data, type_name))
    }

    /// Every resource type that is a traffic switch (`Provider::switch`), for
    /// rollouts, in the order the providers were registered.
    pub fn switches(&self) -> Vec<(&'static str, &dyn TrafficSwitch)> {
        self.list
            .iter()
            .filter(|e| e.key == e.provider.name())
            .flat_map(|e| {
                let p = &e.provider;
                p.schema().resources.keys().filter_map(move |t| Some((*t, p.switch(t)?)))
            })
            .collect()
    }

    /// A configuration by its key: `local`, `aws`, `aws.west`.
    pub fn by_name(&self, key: &str) -> Option<&Arc<dyn Provider>> {
        self.list.iter().find(|e| e.key == key).map(|e| &e.provider)
    }

    /// The keys of every configuration, for messages.
    pub fn keys(&self) -> Vec<&str> {
        self.list.iter().map(|e| e.key.as_str()).collect()
    }

    /// Every type name of one kind, for "did you mean".
    pub fn type_names(&self, data: bool) -> Vec<&'static str> {
        let mut out: Vec<&'static str> = self
            .list
            .iter()
            .filter(|e| e.key == e.provider.name())
            .flat_map(|e| {
                let s = e.provider.schema();
                let map = if data { &s.data_sources } else { &s.resources };
                map.keys().copied().collect::<Vec<_>>()
            })
            .collect();
        out.dedup();
        out
    }
}

fn schema_of<'a>(e: &'a Entry, data: bool, type_name: &str) -> Option<(&'a Arc<dyn Provider>, &'a Schema)> {
    let s = e.provider.schema();
    let map = if data { &s.data_sources } else { &s.resources };
    map.get(type_name).map(|schema| (&e.provider, schema))
}

/// `provider = aws.west` of a resource block, as `aws.west`.
pub fn provider_ref(r: &Resource) -> Option<String> {
    let e = r.provider.as_ref()?;
    let (root, path) = e.as_traversal()?;
    Some(std::iter::once(root.name.clone()).chain(path).collect::<Vec<_>>().join("."))
}
