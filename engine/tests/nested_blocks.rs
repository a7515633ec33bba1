//! Nested blocks in schemas, through the engine: validation with
//! file:line:col, coercion, plans that diff and render inside blocks by path,
//! force-new attributes inside blocks, and `ignore_changes` on nested paths.
//! A small provider of its own stands in for the load balancer resources.

use landform_engine::planner::{plan, validate_schemas, PlanContext, PlanOptions};
use landform_engine::render::{plan_json, render_plan, Colors};
use landform_engine::{Action, Plan, Providers};
use landform_lang::module::{load_tree, ModuleFs};
use landform_lang::{NoHost, SourceMap};
use landform_provider::{
    default_plan, ApplyRequest, ApplyResponse, AttrType, Attribute, BlockType, Nesting, PlanRequest, PlanResponse,
    Provider, ProviderSchema, ReadDataRequest, ReadRequest, ReadResponse, Result, Schema,
};
use landform_state::{ResourceRecord, Snapshot};
use serde_json::json;
use std::collections::BTreeMap;
use std::sync::Arc;

struct Lb {
    schema: ProviderSchema,
}

impl Lb {
    fn new() -> Lb {
        use AttrType::*;
        let a = Attribute::new;
        let target_group = Schema::new(0, [("arn", a(String).required()), ("weight", a(Number))]);
        let forward =
            Schema::new(0, []).block("target_group", BlockType::new(Nesting::List, target_group).min(1).max(5));
        let action =
            Schema::new(0, [("type", a(String).required())]).block("forward", BlockType::new(Nesting::Single, forward));
        let health = Schema::new(0, [("path", a(String)), ("port", a(Number).force_new())]);
        let listener = Schema::new(0, [("port", a(Number).required()), ("id", a(String).computed())])
            .block("default_action", BlockType::new(Nesting::List, action).min(1).max(2))
            .block("health_check", BlockType::new(Nesting::Single, health));
        let mut schema = ProviderSchema::default();
        schema.resources.insert("lb_listener", listener);
        Lb { schema }
    }
}

impl Provider for Lb {
    fn name(&self) -> &'static str {
        "lb"
    }
    fn schema(&self) -> &ProviderSchema {
        &self.schema
    }
    fn plan(&self, req: PlanRequest) -> Result<PlanResponse> {
        Ok(default_plan(&self.schema.resources[req.type_name], &req))
    }
    fn apply(&self, req: ApplyRequest) -> Result<ApplyResponse> {
        Ok(ApplyResponse { state: req.config.cloned(), ..ApplyResponse::default() })
    }
    fn read(&self, _req: ReadRequest) -> Result<ReadResponse> {
        Ok(ReadResponse::Unchanged)
    }
    fn read_data(&self, _req: ReadDataRequest) -> Result<landform_provider::Object> {
        Ok(Default::default())
    }
}

struct OneFile(String);

impl ModuleFs for OneFile {
    fn read_module(&self, _dir: &str) -> std::result::Result<Vec<(String, String)>, String> {
        Ok(vec![("main.lf".into(), self.0.clone())])
    }
}

fn providers() -> Providers {
    let mut p = Providers::new();
    p.register(Arc::new(Lb::new()));
    p
}

/// Validation diagnostics as `line:col summary: detail`.
fn validate(text: &str) -> Vec<String> {
    let mut sources = SourceMap::new();
    let (tree, diags) = load_tree(&OneFile(text.into()), ".", &mut sources);
    assert!(diags.is_empty(), "{diags:?}");
    validate_schemas(&tree, &providers())
        .iter()
        .map(|d| {
            let (line, col) = d.span.and_then(|s| sources.get(s.file).map(|f| f.line_col(s.start))).unwrap_or((0, 0));
            format!("{line}:{col} {}: {}", d.summary, d.detail)
        })
        .collect()
}

fn plan_with(text: &str, prior: Option<serde_json::Value>) -> Plan {
    let mut sources = SourceMap::new();
    let (tree, diags) = load_tree(&OneFile(text.into()), ".", &mut sources);
    assert!(diags.is_empty(), "{diags:?}");
    let (checked, diags) = landform_lang::check::check_tree(&tree, &BTreeMap::new(), &NoHost);
    assert!(diags.is_empty(), "{diags:?}");
    let mut state = Snapshot::empty("default");
    if let Some(attrs) = prior {
        state.resources.push(ResourceRecord {
            addr: "lb_listener.http".into(),
            mode: "managed".into(),
            type_name: "lb_listener".into(),
            name: "http".into(),
            module: String::new(),
            index_key: serde_json::Value::Null,
            provider: "lb".into(),
            schema_version: 0,
            attributes: attrs.as_object().unwrap().clone(),
            sensitive_attributes: Vec::new(),
            dependencies: Vec::new(),
            create_before_destroy: false,
            private: Vec::new(),
        });
    }
    let providers = providers();
    let ctx = PlanContext {
        tree: &tree,
        sources: &sources,
        providers: &providers,
        host: &NoHost,
        state: &state,
        variables: checked.vars,
        progress: &landform_engine::refresh::Quiet,
    };
    plan(&ctx, &PlanOptions { refresh: true, ..Default::default() }).unwrap_or_else(|d| panic!("{d:?}"))
}

const LISTENER: &str = r#"
resource "lb_listener" "http" {
  port = "80"
  default_action {
    type = "forward"
    forward {
      target_group {
        arn    = "blue"
        weight = 75
      }
      target_group {
        arn    = "green"
        weight = WEIGHT
      }
    }
  }
  health_check {
    path = "/health"
    port = PORT
  }
  IGNORE
}
"#;

fn listener(weight: u32, port: u32, ignore: &str) -> String {
    LISTENER.replace("WEIGHT", &weight.to_string()).replace("PORT", &port.to_string()).replace("IGNORE", ignore)
}

/// The state after applying `listener(25, 8080, "")`.
fn applied() -> serde_json::Value {
    json!({
        "id": "l-1",
        "port": 80,
        "default_action": [{
            "type": "forward",
            "forward": { "target_group": [{ "arn": "blue", "weight": 75 }, { "arn": "green", "weight": 25 }] }
        }],
        "health_check": { "path": "/health", "port": 8080 }
    })
}

#[test]
fn validation_checks_inside_blocks_with_positions_and_suggestions() {
    let got = validate(
        r#"resource "lb_listener" "a" {
  port = 80
  defualt_action {
    type = "forward"
  }
  health_check = { path = "/" }
}

resource "lb_listener" "b" {
  port = 80
  default_action {
    forward {
      target_group {
        weight = 1
        wieght = 2
      }
    }
  }
  default_action { type = "fixed" }
  default_action { type = "fixed" }
  port {
  }
}
"#,
    );
    let expect = [
        "1:1 Insufficient blocks: At least 1 \"default_action\" block is required in a resource \"lb_listener\" block.",
        "3:3 Unsupported block type: Blocks of type \"defualt_action\" are not expected in a resource \"lb_listener\" block. Did you mean \"default_action\"? Its blocks are: default_action, health_check.",
        "6:3 Unsupported argument: \"health_check\" is a block in a resource \"lb_listener\" block, not an argument: write it as health_check { ... }",
        "11:3 Missing required argument: The argument \"type\" is required in a \"default_action\" block, but no definition was found.",
        "13:7 Missing required argument: The argument \"arn\" is required in a \"target_group\" block, but no definition was found.",
        "15:9 Unsupported argument: An argument named \"wieght\" is not expected in a \"target_group\" block. Did you mean \"weight\"? The arguments of target_group are: arn, weight.",
        "20:3 Too many blocks: No more than 2 \"default_action\" blocks are allowed in a resource \"lb_listener\" block.",
        "21:3 Unsupported block type: \"port\" is an argument of a resource \"lb_listener\" block, not a block: write it as port = ...",
    ];
    let mut got_sorted = got.clone();
    got_sorted.sort();
    let mut expect = expect.map(String::from).to_vec();
    expect.sort();
    assert_eq!(got_sorted, expect, "{got:#?}");
}

#[test]
fn blocks_plan_as_lists_and_objects_and_a_weight_change_is_an_update_shown_by_path() {
    let create = plan_with(&listener(25, 8080, ""), None);
    let c = &create.resource_changes[0];
    assert_eq!(c.action, Action::Create);
    let mut after = c.after.clone().unwrap();
    after.insert("id".into(), json!("l-1"));
    // "80" is coerced to the number the schema wants; a single block is an object.
    assert_eq!(serde_json::Value::Object(after), applied());

    let same = plan_with(&listener(25, 8080, ""), Some(applied()));
    assert_eq!(same.resource_changes[0].action, Action::NoOp);

    let update = plan_with(&listener(50, 8080, ""), Some(applied()));
    assert_eq!(update.resource_changes[0].action, Action::Update);
    let text = render_plan(&update, &Colors::NONE);
    assert!(text.contains("      ~ default_action[0].forward.target_group[1].weight = 25 -> 50\n"), "{text}");
    assert!(!text.contains("target_group[0]"), "only what changed is shown:\n{text}");
    let j = plan_json(&update, None, None, None);
    assert_eq!(
        j["resource_changes"][0]["change"]["after"]["default_action"][0]["forward"]["target_group"][1]["weight"],
        50
    );
}

#[test]
fn a_force_new_attribute_inside_a_block_replaces_and_says_so() {
    let p = plan_with(&listener(25, 9090, ""), Some(applied()));
    let c = &p.resource_changes[0];
    assert_eq!(c.action, Action::DeleteThenCreate);
    assert_eq!(c.replace_paths, ["health_check.port"]);
    let j = plan_json(&p, None, None, None);
    assert_eq!(j["resource_changes"][0]["change"]["replace_paths"], json!([["health_check", "port"]]));
    let text = render_plan(&p, &Colors::NONE);
    assert!(text.contains("# lb_listener.http must be replaced"), "{text}");
}

#[test]
fn ignore_changes_on_a_nested_path_keeps_the_state_value() {
    let ignore = "lifecycle {\n    ignore_changes = [default_action[0].forward.target_group[1].weight]\n  }";
    let p = plan_with(&listener(60, 8080, ignore), Some(applied()));
    assert_eq!(p.resource_changes[0].action, Action::NoOp, "{}", render_plan(&p, &Colors::NONE));
    // Other changes in the same block are still planned.
    let p = plan_with(&listener(60, 8080, ignore).replace("/health", "/ready"), Some(applied()));
    let text = render_plan(&p, &Colors::NONE);
    assert!(text.contains("~ health_check.path"), "{text}");
    assert!(!text.contains("weight"), "{text}");
}
