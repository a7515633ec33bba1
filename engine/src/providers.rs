//! The registry of providers the binary hands the engine. The engine names
//! no concrete provider: it finds one by the resource types its schema offers.

use landform_provider::{Provider, Schema};
use std::sync::Arc;

#[derive(Default, Clone)]
pub struct Providers {
    list: Vec<Arc<dyn Provider>>,
}

impl Providers {
    pub fn new() -> Providers {
        Providers::default()
    }

    pub fn register(&mut self, p: Arc<dyn Provider>) {
        self.list.push(p);
    }

    /// The provider and schema for a resource (`data = false`) or data source type.
    pub fn for_type(&self, data: bool, type_name: &str) -> Option<(&Arc<dyn Provider>, &Schema)> {
        self.list.iter().find_map(|p| {
            let s = p.schema();
            let map = if data { &s.data_sources } else { &s.resources };
            map.get(type_name).map(|schema| (p, schema))
        })
    }

    pub fn by_name(&self, name: &str) -> Option<&Arc<dyn Provider>> {
        self.list.iter().find(|p| p.name() == name)
    }

    /// Every type name of one kind, for "did you mean".
    pub fn type_names(&self, data: bool) -> Vec<&'static str> {
        self.list
            .iter()
            .flat_map(|p| {
                let s = p.schema();
                let map = if data { &s.data_sources } else { &s.resources };
                map.keys().copied().collect::<Vec<_>>()
            })
            .collect()
    }
}
