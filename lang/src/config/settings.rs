//! The settings blocks: `landform {}` and Terraform's `terraform {}` (its
//! `required_providers`, `backend` and `cloud`), and Landform's `backend`.

use super::{Backend, Builder};
use crate::source::Span;
use crate::syntax::{Block, Expr, Ident};

impl Builder<'_> {
    /// `landform { required_version = "…" }`, or Terraform's `terraform { … }`:
    /// Landform enforces its own block's version; Terraform's versions are
    /// not Landform's, so `terraform { required_version }` and
    /// `required_providers` are read and left alone.
    pub(super) fn settings(&mut self, block: &Block) {
        let kind = block.kind.name.as_str();
        let (attrs, blocks): (&[&str], &[&str]) = if kind == "terraform" {
            (&["required_version", "experiments"], &["required_providers", "backend", "cloud", "provider_meta"])
        } else {
            (&["required_version"], &[])
        };
        let found = self.schema(&block.body, kind, attrs, blocks);
        if kind == "terraform" {
            for b in block.body.blocks() {
                match b.kind.name.as_str() {
                    "required_providers" => {
                        for a in b.body.attributes() {
                            let source = match &a.value.kind {
                                crate::syntax::ExprKind::Object(items) => items
                                    .iter()
                                    .find(|i| matches!(&i.key, crate::syntax::ObjectKey::Name(n) if n.name == "source"))
                                    .and_then(|i| i.value.as_static_string()),
                                _ => a.value.as_static_string(),
                            };
                            self.module
                                .required_providers
                                .insert(a.name.name.clone(), source.unwrap_or_else(|| a.name.name.clone()));
                            let version = match &a.value.kind {
                                crate::syntax::ExprKind::Object(items) => items.iter().find(
                                    |i| matches!(&i.key, crate::syntax::ObjectKey::Name(n) if n.name == "version"),
                                ),
                                _ => None,
                            };
                            if let Some(v) = version {
                                match v.value.as_static_string() {
                                    Some(text) => {
                                        self.module
                                            .required_provider_versions
                                            .insert(a.name.name.clone(), (text, v.value.span));
                                    }
                                    None => self.err(
                                        "Invalid version constraint",
                                        "A provider's version constraint is a string: version = \"~> 5.0\"".into(),
                                        v.value.span,
                                    ),
                                }
                            }
                        }
                    }
                    "backend" => self.terraform_backend(b),
                    "cloud" => self.err(
                        "Unsupported backend",
                        "HCP Terraform (the cloud block) keeps state where Landform cannot. Landform keeps its state in .landform (the default) or in PostgreSQL: backend \"pg\" { conn_str = \"...\" }. Remove the cloud block.".into(),
                        b.kind.span,
                    ),
                    _ => {}
                }
            }
        }
        let Some(a) = found.get("required_version") else { return };
        let Some(text) = a.value.as_static_string() else {
            self.err(
                "Invalid required_version",
                "required_version is a version constraint written as a string: required_version = \">= 0.2\"".into(),
                a.value.span,
            );
            return;
        };
        if let Err(e) = crate::version::Constraint::parse(&text) {
            self.err("Invalid required_version", e, a.value.span);
            return;
        }
        if kind == "landform" && self.declare("landform:required_version".into(), "Landform settings", block.kind.span)
        {
            self.module.required_version = Some((text, a.value.span));
        }
    }

    /// Terraform's `backend` inside `terraform {}`: `pg` is Landform's
    /// PostgreSQL backend (`conn_str`, `schema_name`), `local` is the default;
    /// any other is refused, saying what Landform has.
    fn terraform_backend(&mut self, block: &Block) {
        let Some(l) = self.labels(block, &["type"]) else { return };
        let span = block.kind.span;
        match l[0].as_str() {
            "local" => {}
            "pg" => {
                if !self.declare("backend:".into(), "Backend configuration", span) {
                    return;
                }
                let found = self.schema(&block.body, "backend", &["conn_str", "schema_name"], &[]);
                if let Some(r) = found.values().flat_map(|a| crate::refs::references(&a.value)).next() {
                    self.err(
                        "Reference in a backend setting",
                        "The backend is chosen before variables, locals and resources are evaluated: write the value, or leave conn_str out and set PG_CONN_STR or LANDFORM_BACKEND_URL.".into(),
                        r.span,
                    );
                    return;
                }
                let url = match found.get("conn_str") {
                    Some(a) => a.value.clone(),
                    // Terraform's pg backend reads PG_CONN_STR when conn_str is not set.
                    None => Expr {
                        kind: crate::syntax::ExprKind::Call(
                            Ident { name: "env".into(), span },
                            vec![Expr {
                                kind: crate::syntax::ExprKind::Template(vec![crate::syntax::TemplatePart::Literal(
                                    "PG_CONN_STR".into(),
                                )]),
                                span,
                            }],
                            false,
                        ),
                        span,
                    },
                };
                let schema = found.get("schema_name").map(|a| a.value.clone());
                self.module.backend = Some(Backend { kind: "postgres".into(), url, schema, span });
            }
            other => self.err(
                "Unsupported backend",
                format!("Terraform's backend \"{other}\" keeps state where Landform cannot. Landform keeps its state in .landform (the default: remove the block) or in PostgreSQL: backend \"pg\" {{ conn_str = \"postgres://...\" }}."),
                block.labels[0].span,
            ),
        }
    }

    pub(super) fn backend(&mut self, kind: String, block: &Block, span: Span) {
        if kind != "postgres" {
            let hint = if kind == "pg" { " Terraform's \"pg\" backend is \"postgres\" here." } else { "" };
            self.err(
                "Unsupported backend",
                format!("Landform keeps its state in sled (the default: no backend block) or in PostgreSQL: backend \"postgres\" {{ url = env(\"LANDFORM_PG_URL\") }}. There is no backend \"{kind}\".{hint}"),
                block.labels[0].span,
            );
            return;
        }
        self.no_blocks(&block.body, "backend");
        let found = self.schema(&block.body, "backend", &["url", "schema"], &[]);
        for a in found.values() {
            if let Some(r) = crate::refs::references(&a.value).first() {
                self.err(
                    "Reference in a backend setting",
                    format!("The backend is chosen before variables, locals and resources are evaluated, so its settings cannot refer to \"{}\". Write the value, or read it from the environment with env(\"NAME\").", r.subject().unwrap_or_else(|| r.root.clone())),
                    r.span,
                );
                return;
            }
        }
        let Some(url) = self.require(&found, "url", "backend", block.kind.span) else { return };
        let url = url.value.clone();
        let schema = found.get("schema").map(|a| a.value.clone());
        self.module.backend = Some(Backend { kind, url, schema, span });
    }
}
