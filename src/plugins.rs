//! Terraform's provider plugins in a configuration: a provider the root
//! module requires by source address (`required_providers { aws = { source
//! = "hashicorp/aws" } }`) and that is in a filesystem mirror is started as a
//! plugin and registered under its local name, in place of a built-in
//! provider of that name. `local` and `haproxy` stay Landform's own.

use landform_lang::diag::Diagnostic;
use landform_lang::module::LoadedModule;
use landform_lang::syntax::Body;
use landform_lang::{Evaluator, Host, Scope};
use landform_provider_plugin::mirror::{Found, SourceAddr};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

/// The root module's required providers that are plugins: the locked and
/// installed version, or without a lock file the newest in a mirror.
pub fn required(tree: &LoadedModule) -> (BTreeMap<String, (SourceAddr, Found)>, Vec<Diagnostic>) {
    crate::provider_install::resolve(tree)
}

/// A provider block's nested blocks (`endpoints { ec2 = … }`) added to its
/// settings, each kind as a list of objects; the plugin's schema says how it nests.
pub fn add_blocks(
    body: &Body,
    scope: &Scope,
    host: &dyn Host,
    config: &mut serde_json::Map<String, serde_json::Value>,
    diags: &mut Vec<Diagnostic>,
) {
    for b in body.blocks() {
        let mut obj = serde_json::Map::new();
        for a in b.body.attributes() {
            let mut ev = Evaluator::new(host);
            let v = ev.eval(&a.value, scope);
            diags.append(&mut ev.diags);
            if v.contains_unknown() {
                diags.push(Diagnostic::error(
                    "Provider setting not known when planning",
                    format!("\"{}\" in the provider's {} block depends on a value known only after apply. Landform needs provider settings when it plans: use variables, locals or literals.", a.name.name, b.kind.name),
                    a.value.span,
                ));
                continue;
            }
            obj.insert(a.name.name.clone(), v.unmark_deep().0.to_json());
        }
        add_blocks(&b.body, scope, host, &mut obj, diags);
        let list = config.entry(b.kind.name.clone()).or_insert_with(|| serde_json::Value::Array(Vec::new()));
        if let serde_json::Value::Array(items) = list {
            items.push(serde_json::Value::Object(obj));
        }
    }
}

/// The plugins this command started, one per configuration, reused by every
/// later call with the same configuration and stopped when the command ends.
struct Running {
    key: String,
    provider: Arc<dyn landform_provider::Provider>,
}

static RUNNING: Mutex<Vec<Running>> = Mutex::new(Vec::new());

/// Whether a plugin is configured as soon as it starts (in the background),
/// rather than at its first use: every command but `validate`, which never
/// configures a provider (as Terraform's does not).
static EARLY_CONFIGURE: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(true);

/// Configure plugins only when first used (`validate`).
pub fn configure_when_used() {
    EARLY_CONFIGURE.store(false, std::sync::atomic::Ordering::Relaxed);
}

fn running() -> std::sync::MutexGuard<'static, Vec<Running>> {
    RUNNING.lock().unwrap_or_else(|e| e.into_inner())
}

/// Start one configuration of a plugin, or find it running.
pub fn start(
    name: &str,
    (addr, found): &(SourceAddr, Found),
    config: serde_json::Map<String, serde_json::Value>,
    span: Option<landform_lang::source::Span>,
) -> Result<Arc<dyn landform_provider::Provider>, Diagnostic> {
    let key = format!("{name}\0{}\0{}", found.path.display(), serde_json::Value::Object(config.clone()));
    if let Some(r) = running().iter().find(|r| r.key == key) {
        return Ok(r.provider.clone());
    }
    let opts = landform_provider_plugin::StartOptions::new(&found.path);
    let started = if EARLY_CONFIGURE.load(std::sync::atomic::Ordering::Relaxed) {
        landform_provider_plugin::PluginProvider::start_configuring(name, &opts, config)
    } else {
        landform_provider_plugin::PluginProvider::start(name, &opts, config)
    };
    match started.map(|p| p.with_source(&addr.to_string())) {
        Ok(p) => {
            let provider: Arc<dyn landform_provider::Provider> = Arc::new(p);
            running().push(Running { key, provider: provider.clone() });
            Ok(provider)
        }
        Err(e) => {
            let (summary, detail) = (
                "Failed to start provider",
                format!("The provider {addr} {} ({}) did not start: {e}", found.version, found.path.display()),
            );
            Err(match span {
                Some(span) => Diagnostic::error(summary, detail, span),
                None => Diagnostic::global(summary, detail),
            })
        }
    }
}

/// The command is over: ask each plugin to shut down (and kill it if it
/// does not within its grace period).
pub fn stop_all() {
    let list = std::mem::take(&mut *running());
    drop(list);
    // One still held by its early configuration (a command that ended first) is killed.
    landform_provider_plugin::process::kill_all();
}

/// The process is exiting at once (an interrupt): kill every plugin now,
/// including one still in its handshake.
pub fn kill_all() {
    landform_provider_plugin::process::kill_all();
}
