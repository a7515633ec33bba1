//! Commands that read or edit the state directly: state list/show/rm/mv/
//! pull/push, output, show, graph, force-unlock.

use crate::run;
use crate::{ui, CommonArgs};
use landform_engine::render::show;
use landform_engine::ResourceAddr;
use landform_state::{Change, Locker, ResourceRecord, Snapshot};
use std::path::PathBuf;

fn fail(msg: &str, color: bool) -> u8 {
    crate::errln!("{}", ui::error_line(msg, color));
    1
}

/// Open the state to change it, keeping the state as it is now as the last good one.
fn load(common: &CommonArgs, op: &str, color: bool) -> Result<(run::OpenState, Snapshot), u8> {
    let (st, snap) = run::open_and_load(common, op, color)?;
    if let Err(e) = st.storage.save_backup(&snap) {
        return Err(fail(&e.to_string(), color));
    }
    Ok((st, snap))
}

/// Does a record belong to an address given as `type.name` (all instances) or `type.name[key]`?
fn matches(rec: &ResourceRecord, wanted: &str) -> bool {
    rec.addr == wanted || ResourceAddr::parse(&rec.addr).is_ok_and(|a| a.config_addr() == wanted)
}

pub fn list(common: &CommonArgs, filters: &[String], color: bool) -> u8 {
    // A filter is an address: a module or resource contains what is inside it.
    // One that is not an address is an error, not an empty list.
    let mut targets = Vec::new();
    for f in filters {
        match landform_engine::addr::Target::parse(f) {
            Ok(t) => targets.push(t),
            Err(e) => return fail(&format!("invalid address {f:?}: {e}"), color),
        }
    }
    let Ok(snap) = run::read_state(common, color) else { return 1 };
    let wanted = |r: &&ResourceRecord| {
        filters.is_empty()
            || filters.iter().any(|f| matches(r, f))
            || ResourceAddr::parse(&r.addr).is_ok_and(|a| targets.iter().any(|t| t.contains(&a)))
    };
    // An instance whose only object is deposed (an interrupted replacement
    // left it) is listed too: the state holds it until an apply destroys it.
    let deposed = snap.deposed.iter().map(|d| &d.record);
    let mut addrs: Vec<&str> = snap.resources.iter().chain(deposed).filter(wanted).map(|r| r.addr.as_str()).collect();
    addrs.sort();
    addrs.dedup();
    for a in addrs {
        crate::outln!("{a}");
    }
    0
}

pub fn render_record(rec: &ResourceRecord) -> String {
    render_object(rec, &rec.addr)
}

/// A record under a heading: its address, or a deposed object's label.
fn render_object(rec: &ResourceRecord, heading: &str) -> String {
    let mut out = format!(
        "# {}:\n{} \"{}\" \"{}\" {{\n",
        heading,
        if rec.mode == "data" { "data" } else { "resource" },
        rec.type_name,
        rec.name
    );
    let width = rec.attributes.keys().map(String::len).max().unwrap_or(0);
    for (k, v) in &rec.attributes {
        if v.is_null() {
            continue;
        }
        let hidden: std::collections::BTreeSet<String> = rec.sensitive_attributes.iter().cloned().collect();
        let text =
            if landform_engine::sensitivity::touches(&hidden, k) { "(sensitive value)".to_string() } else { show(v) };
        out.push_str(&format!("    {k:width$} = {text}\n"));
    }
    out.push_str("}\n");
    out
}

pub fn show_addr(common: &CommonArgs, addr: &str, color: bool) -> u8 {
    let Ok(snap) = run::read_state(common, color) else { return 1 };
    let found: Vec<&ResourceRecord> = snap.resources.iter().filter(|r| matches(r, addr)).collect();
    let deposed: Vec<&landform_state::Deposed> = snap.deposed.iter().filter(|d| matches(&d.record, addr)).collect();
    if found.is_empty() && deposed.is_empty() {
        return fail(
            &format!("no resource instance {addr} in the state; `landform state list` shows what is there"),
            color,
        );
    }
    for r in found {
        crate::out!("{}", render_record(r));
    }
    // Old objects an interrupted replacement left, which the next apply destroys.
    for d in deposed {
        let label = landform_engine::plan::deposed_label(&d.record.addr, &d.key);
        crate::out!("{}", render_object(&d.record, &label));
    }
    0
}

pub fn rm(common: &CommonArgs, addrs: &[String], color: bool) -> u8 {
    let Ok((st, snap)) = load(common, "state rm", color) else { return 1 };
    let mut changes = Vec::new();
    for a in addrs {
        let found: Vec<&ResourceRecord> = snap.resources.iter().filter(|r| matches(r, a)).collect();
        let deposed: Vec<&landform_state::Deposed> = snap.deposed.iter().filter(|d| matches(&d.record, a)).collect();
        if found.is_empty() && deposed.is_empty() {
            return fail(&format!("no resource instance {a} in the state; nothing was removed"), color);
        }
        for r in found {
            changes.push(Change::Delete(r.addr.clone()));
            crate::outln!("Removed {}", r.addr);
        }
        // The instance goes whole, with its deposed objects.
        for d in deposed {
            changes.push(Change::DeleteDeposed { addr: d.record.addr.clone(), key: d.key.clone() });
            crate::outln!("Removed {}", landform_engine::plan::deposed_label(&d.record.addr, &d.key));
        }
    }
    let n = changes.len();
    if let Err(e) = st.storage.commit(&changes) {
        return fail(&format!("cannot save the state: {e}"), color);
    }
    crate::outln!("Successfully removed {n} resource instance(s). Landform no longer manages them; the real objects are untouched.");
    0
}

pub fn mv(common: &CommonArgs, from: &str, to: &str, color: bool) -> u8 {
    let Ok((st, snap)) = load(common, "state mv", color) else { return 1 };
    let to_addr = match ResourceAddr::parse(to) {
        Ok(a) => a,
        Err(e) => return fail(&e, color),
    };
    // One instance by its address, or every instance of a resource, each keeping its key.
    let exact: Vec<&ResourceRecord> = snap.resources.iter().filter(|r| r.addr == from).collect();
    let whole = exact.is_empty();
    let moving: Vec<&ResourceRecord> =
        if whole { snap.resources.iter().filter(|r| matches(r, from)).collect() } else { exact };
    if moving.is_empty() {
        return fail(
            &format!("no resource instance {from} in the state; `landform state list` shows what is there"),
            color,
        );
    }
    if whole && to_addr.key != landform_engine::addr::Key::None {
        return fail(
            &format!("{from} is a whole resource: move it to a resource address without an index, not {to}"),
            color,
        );
    }
    let mut changes = Vec::new();
    let mut moved_to = Vec::new();
    for rec in &moving {
        // As Terraform: a data source moves only to a data source address, a resource only to a resource's.
        if to_addr.data != (rec.mode == "data") {
            let (what, to_what) =
                if rec.mode == "data" { ("a data source", "a resource") } else { ("a resource", "a data source") };
            return fail(
                &format!(
                    "cannot move {what} ({}) to {to_what} address ({to}): a data source moves only to another data source's address, a resource only to another resource's",
                    rec.addr
                ),
                color,
            );
        }
        if to_addr.type_name != rec.type_name {
            return fail(
                &format!("cannot move a {} to a {}: the types differ", rec.type_name, to_addr.type_name),
                color,
            );
        }
        let mut target = to_addr.clone();
        if whole {
            target.key = ResourceAddr::parse(&rec.addr).map(|a| a.key).unwrap_or(landform_engine::addr::Key::None);
        }
        let new_addr = target.to_string();
        if snap.resources.iter().any(|r| r.addr == new_addr) {
            return fail(
                &format!("{new_addr} already exists in the state; remove it first or choose another address"),
                color,
            );
        }
        let mut moved = (*rec).clone();
        moved.addr = new_addr.clone();
        moved.name = target.name.clone();
        moved.module = target.module_addr();
        moved.index_key = target.key.to_json();
        // Its deposed objects move with it, before its record (a deposed
        // object put in place clears the instance's current record).
        for d in snap.deposed.iter().filter(|d| d.record.addr == rec.addr) {
            let mut d2 = d.clone();
            d2.record.addr = moved.addr.clone();
            d2.record.name = moved.name.clone();
            d2.record.module = moved.module.clone();
            d2.record.index_key = moved.index_key.clone();
            changes.push(Change::DeleteDeposed { addr: d.record.addr.clone(), key: d.key.clone() });
            changes.push(Change::Depose(Box::new(d2)));
        }
        changes.push(Change::Delete(rec.addr.clone()));
        changes.push(Change::Put(Box::new(moved)));
        moved_to.push((rec.addr.clone(), new_addr));
    }
    if let Err(e) = st.storage.commit(&changes) {
        return fail(&format!("cannot save the state: {e}"), color);
    }
    for (a, b) in &moved_to {
        crate::outln!("Move \"{a}\" to \"{b}\"");
    }
    crate::outln!("Successfully moved {} object(s).", moved_to.len());
    0
}

/// The key a pulled state carries when values were blanked in it: pushed
/// back, it would replace them with nothing, so `state push` refuses it.
const REDACTED: &str = "redacted_values";

/// Does a file say, anywhere, that values were blanked in it? Any
/// `"redacted_values"` key (in any case, however often) with a value other
/// than `false` counts: a file edited to get past the check with `"true"`,
/// `1` or a second key is refused as the original is.
fn marked_redacted(text: &[u8]) -> bool {
    let lower = text.to_ascii_lowercase();
    let key = format!("\"{REDACTED}\"").into_bytes();
    let mut at = 0;
    while let Some(i) = lower[at..].windows(key.len()).position(|w| w == key.as_slice()) {
        let rest = lower[at + i + key.len()..].trim_ascii_start();
        if let Some(value) = rest.strip_prefix(b":") {
            if !value.trim_ascii_start().starts_with(b"false") {
                return true;
            }
        }
        at += i + key.len();
    }
    false
}

/// The state as JSON; sensitive attribute values are blanked unless asked for.
pub fn pull(common: &CommonArgs, show_sensitive: bool, color: bool) -> u8 {
    let Ok(mut snap) = run::read_state(common, color) else { return 1 };
    if show_sensitive {
        // Asked for with --show-sensitive: written as it is, not redacted.
        let text = serde_json::to_string_pretty(&snap).unwrap_or_default() + "\n";
        let _ = std::io::Write::write_all(&mut std::io::stdout().lock(), text.as_bytes());
        return 0;
    }
    let mut blanked = false;
    for r in snap.resources.iter_mut().chain(snap.deposed.iter_mut().map(|d| &mut d.record)) {
        let hidden = r.sensitive_attributes.iter().cloned().collect();
        let redacted = landform_engine::sensitivity::redact(&r.attributes, &hidden);
        blanked |= redacted != r.attributes;
        r.attributes = redacted;
    }
    for o in snap.outputs.values_mut() {
        if o.sensitive {
            blanked |= !o.value.is_null();
            o.value = serde_json::Value::Null;
        }
    }
    let mut text = serde_json::to_string_pretty(&snap).unwrap_or_default();
    // A secret a provider copied into an attribute not marked is redacted too.
    if blanked || landform_lang::secrets::redact(&text) != text {
        // First, the state's own fields after it in their order.
        if let Some(rest) = text.strip_prefix("{\n") {
            text = format!("{{\n  \"{REDACTED}\": true,\n{rest}");
        }
    }
    crate::outln!("{text}");
    0
}

/// What is wrong with a record's address, if anything: it is in the form
/// Landform writes (`module.NAME[KEY].TYPE.NAME[KEY]`, keys as JSON), its
/// names are identifiers, and it agrees with the record's fields — so an
/// address from a file never brings a control character to a terminal.
fn record_problem(r: &ResourceRecord) -> Option<&'static str> {
    use landform_lang::parse::labels::is_identifier;
    let Ok(a) = ResourceAddr::parse(&r.addr) else { return Some("has no resource address") };
    let names_ok = is_identifier(&a.type_name)
        && is_identifier(&a.name)
        && a.module.iter().all(|m| is_identifier(landform_engine::addr::module_element(m).0));
    if !names_ok || a.to_string() != r.addr {
        return Some("has an address that is not in Landform's form (names are identifiers, keys are quoted)");
    }
    if a.type_name != r.type_name || a.name != r.name || a.data != (r.mode == "data") || a.module_addr() != r.module {
        return Some("does not agree with its own type, name, mode or module");
    }
    None
}

pub fn push(common: &CommonArgs, file: &PathBuf, force: bool, color: bool) -> u8 {
    let text = match std::fs::read(file) {
        Ok(t) => t,
        Err(e) => return fail(&format!("cannot read {}: {e}", file.display()), color),
    };
    // A recovery file written while the state was encrypted is encrypted too.
    let text = if landform_state::Crypt::is_sealed(&text) {
        match run::crypt(common).and_then(|c| c.open_file("state", &text, &file.display().to_string())) {
            Ok(t) => t,
            Err(e) => return fail(&e, color),
        }
    } else {
        text
    };
    if marked_redacted(&text) {
        return fail(
            &format!(
                "{} is a state pulled without --show-sensitive: its sensitive values were blanked, and pushing it would replace them with nothing. Pull it again with `landform state pull --show-sensitive` to push it back (or remove its \"{REDACTED}\" field if losing those values is what you mean); nothing was pushed",
                file.display()
            ),
            color,
        );
    }
    let new: Snapshot = match serde_json::from_slice(&text) {
        Ok(s) => s,
        Err(e) => {
            return fail(
                // serde's words quote the value they refused, and a state's
                // values can be secrets: the place and the kind of fault only.
                &format!(
                    "{} is not a Landform state (the format `landform state pull` prints): {} at line {} column {}",
                    file.display(),
                    match e.classify() {
                        serde_json::error::Category::Io => "it cannot be read",
                        serde_json::error::Category::Syntax => "it is not valid JSON",
                        serde_json::error::Category::Eof => "it ends too early",
                        serde_json::error::Category::Data => "a field is missing or has the wrong type",
                    },
                    e.line(),
                    e.column()
                ),
                color,
            );
        }
    };
    if let Some(bad) = new.resources.iter().find_map(|r| record_problem(r).map(|why| (r, why))) {
        return fail(
            &format!(
                "{} is not a state Landform wrote: the record {:?} {}; nothing was pushed",
                file.display(),
                bad.0.addr,
                bad.1
            ),
            color,
        );
    }
    let Ok((st, cur)) = load(common, "state push", color) else { return 1 };
    if !force && !cur.resources.is_empty() {
        if new.lineage != cur.lineage {
            return fail(&format!("the pushed state has lineage {}, but this workspace's is {}: they are different states. Use --force to replace it anyway.", new.lineage, cur.lineage), color);
        }
        if new.serial < cur.serial {
            return fail(&format!("the pushed state (serial {}) is older than this workspace's (serial {}). Use --force to replace it anyway.", new.serial, cur.serial), color);
        }
    }
    let mut new = new;
    new.serial = new.serial.max(cur.serial + 1);
    if let Err(e) = st.storage.replace(&new) {
        return fail(&format!("cannot save the state: {e}"), color);
    }
    crate::outln!(
        "Pushed {} resource instance(s) to workspace \"{}\" (serial {}).",
        new.resources.len(),
        st.workspace,
        new.serial
    );
    0
}

/// `output -raw NAME`: a string, number or bool exactly as it is, for
/// scripts. Unlike Terraform, never a sensitive one: no output shows a secret.
pub fn output_raw(common: &CommonArgs, name: &str, color: bool) -> u8 {
    let Ok(snap) = run::read_state(common, color) else { return 1 };
    let Some(o) = snap.outputs.get(name) else {
        return fail(
            &format!(
                "no output named \"{name}\" in the state; run apply first, or check the name with `landform output`"
            ),
            color,
        );
    };
    if o.sensitive {
        return fail(&format!("output \"{name}\" is sensitive: Landform never prints a sensitive value"), color);
    }
    let text = match &o.value {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Number(n) => n.to_string(),
        serde_json::Value::Bool(b) => b.to_string(),
        serde_json::Value::Null => {
            return fail(&format!("output \"{name}\" is null; -raw prints only strings, numbers and bools"), color)
        }
        _ => {
            return fail(
                &format!(
                    "output \"{name}\" is a list or an object; -raw prints only strings, numbers and bools: use --json"
                ),
                color,
            )
        }
    };
    crate::out!("{text}");
    0
}

pub fn output(common: &CommonArgs, name: Option<&str>, json: bool, color: bool) -> u8 {
    let Ok(snap) = run::read_state(common, color) else { return 1 };
    if let Some(n) = name {
        let Some(o) = snap.outputs.get(n) else {
            return fail(
                &format!(
                    "no output named \"{n}\" in the state; run apply first, or check the name with `landform output`"
                ),
                color,
            );
        };
        if json {
            crate::outln!(
                "{}",
                if o.sensitive { "null".into() } else { serde_json::to_string(&o.value).unwrap_or_default() }
            );
        } else if o.sensitive {
            crate::outln!("(sensitive value)");
        } else {
            match &o.value {
                serde_json::Value::String(s) => crate::outln!("{s}"),
                v => crate::outln!("{}", show(v)),
            }
        }
        return 0;
    }
    if json {
        let m: serde_json::Map<String, serde_json::Value> = snap
            .outputs
            .iter()
            .map(|(k, o)| (k.clone(), serde_json::json!({ "sensitive": o.sensitive, "value": if o.sensitive { serde_json::Value::Null } else { o.value.clone() } })))
            .collect();
        crate::outln!("{}", serde_json::to_string_pretty(&m).unwrap_or_default());
    } else {
        for (k, o) in &snap.outputs {
            crate::outln!("{k} = {}", if o.sensitive { "(sensitive value)".into() } else { show(&o.value) });
        }
    }
    0
}

pub fn show_cmd(common: &CommonArgs, plan_file: Option<&PathBuf>, format: run::PlanFormat, color: bool) -> u8 {
    let json = format == run::PlanFormat::Json;
    if let Some(p) = plan_file {
        let (plan, hash) = match run::read_plan_file(common, p) {
            Ok(x) => x,
            Err(e) => return fail(&format!("cannot read the plan {}: {e}", p.display()), color),
        };
        if json {
            // The configuration and state it was made from, when they are still those.
            let mut sources = landform_lang::SourceMap::new();
            let (tree, _) = landform_lang::module::load_tree(&crate::inputs::DiskFs, ".", &mut sources);
            let same_config =
                tree.syntax_errors == 0 && landform_engine::planner::config_hash(&sources) == plan.config_hash;
            let state =
                run::read_state_quiet(common).ok().filter(|s| s.lineage == plan.lineage && s.serial == plan.serial);
            run::print_plan_json(&plan, state.as_ref(), same_config.then_some(&tree), &hash);
        } else if format == run::PlanFormat::Markdown {
            crate::out!("{}", run::plan_markdown(&plan, &hash, landform_engine::render::markdown::GITHUB_LIMIT));
        } else {
            run::print_plan(&plan, false, color);
        }
        return 0;
    }
    if format == run::PlanFormat::Markdown {
        return fail("--format markdown shows a saved plan: landform show PLANFILE --format markdown", color);
    }
    let Ok(snap) = run::read_state(common, color) else { return 1 };
    if json {
        // Terraform's state representation; hidden values are null there.
        let j = landform_engine::render::tfjson::state_json(&snap, Some(&run::schema_providers()));
        crate::outln!("{}", serde_json::to_string_pretty(&j).unwrap_or_default());
        return 0;
    }
    if snap.resources.is_empty() {
        crate::outln!("The state is empty. No resources are represented.");
        return 0;
    }
    let mut recs: Vec<&ResourceRecord> = snap.resources.iter().collect();
    recs.sort_by(|a, b| a.addr.cmp(&b.addr));
    for r in recs {
        crate::outln!("{}", render_record(r));
    }
    if !snap.outputs.is_empty() {
        crate::outln!("\nOutputs:\n");
        for (k, o) in &snap.outputs {
            crate::outln!("{k} = {}", if o.sensitive { "(sensitive value)".into() } else { show(&o.value) });
        }
    }
    0
}

pub fn recover(common: &CommonArgs, color: bool) -> u8 {
    let dir = run::state_dir(common);
    let locker = landform_state::FileLocker { dir: dir.clone(), workspace: common.workspace.clone() };
    let _lock = match locker.lock("state recover", common.lock_timeout) {
        Ok(l) => l,
        Err(e) => return fail(&e.to_string(), color),
    };
    let crypt = match run::crypt(common) {
        Ok(c) => c,
        Err(e) => return fail(&e, color),
    };
    if landform_state::read_snapshot(&dir, &common.workspace, &crypt).is_ok() {
        return fail(
            &format!("the state of workspace \"{}\" is not damaged; there is nothing to recover", common.workspace),
            color,
        );
    }
    match landform_state::SledStore::recover(&dir, &common.workspace, &crypt) {
        Ok((snap, kept)) => {
            crate::outln!(
                "Restored the last good state of workspace \"{}\": serial {}, {} resource instance(s). The damaged state was kept in {}.\nRun `landform plan` to see how the real infrastructure differs from it.",
                common.workspace,
                snap.serial,
                snap.resources.len(),
                kept.display()
            );
            0
        }
        Err(e) => fail(&e.to_string(), color),
    }
}

/// `state migrate --to URL|sled`: every workspace of the state in use, copied
/// with its lineage and serial to the other backend. Each source workspace is
/// locked while it is read; a target workspace that holds anything is left
/// alone unless --force.
pub fn migrate(common: &CommonArgs, to: &str, force: bool, color: bool) -> u8 {
    use landform_state::{PgStore, PgTarget, SledStore, Storage};
    let dir = run::state_dir(common);
    let crypt = match run::crypt(common) {
        Ok(c) => c,
        Err(e) => return fail(&e, color),
    };
    let from_pg = run::pg_target(common).transpose();
    let from_pg = match from_pg {
        Ok(t) => t,
        Err(e) => return fail(&e, color),
    };
    let to_pg = if to == "sled" {
        None
    } else {
        landform_lang::secrets::remember_texts([to.to_string()]);
        match PgTarget::parse(to) {
            Ok(t) => Some(t),
            Err(e) => return fail(&format!("--to: {e} (or `sled`)"), color),
        }
    };
    if from_pg.is_none() && to_pg.is_none() {
        return fail("the state in use is already sled: give --to postgres://… (or run with --backend-url to migrate from PostgreSQL to sled)", color);
    }
    let names = match &from_pg {
        Some(t) => match PgStore::workspaces(t) {
            Ok(n) => n,
            Err(e) => return fail(&e.to_string(), color),
        },
        None => landform_state::workspaces(&dir),
    };
    if names.is_empty() {
        return fail("the state in use holds no workspace: nothing to migrate", color);
    }
    // A name read from the database becomes a directory: it must be one.
    if to_pg.is_none() {
        if let Some(Err(e)) = names.iter().map(|n| crate::check_workspace_name(n)).find(Result::is_err) {
            return fail(&format!("{e}; nothing was copied"), color);
        }
    }
    // Lock and open every target first: refuse before writing anything. A
    // target is replaced only under its own lock, held until it is written,
    // so that no operation on it (an apply) commits in between.
    type Opened = (Box<dyn std::any::Any>, Box<dyn Storage>, Snapshot);
    let mut targets: Vec<(String, Box<dyn Storage>, Snapshot)> = Vec::new();
    let mut target_locks: Vec<Box<dyn std::any::Any>> = Vec::new();
    for name in &names {
        let opened: Result<Opened, String> = match &to_pg {
            Some(t) => landform_state::PgLock::take(t, name, "state migrate", common.lock_timeout)
                .map_err(|e| e.to_string())
                .and_then(|lock| {
                    PgStore::open_locked(t, name, &crypt, &lock)
                        .map(|(s, snap)| {
                            (Box::new(lock) as Box<dyn std::any::Any>, Box::new(s) as Box<dyn Storage>, snap)
                        })
                        .map_err(|e| e.to_string())
                }),
            None => landform_state::FileLocker { dir: dir.clone(), workspace: name.clone() }
                .lock("state migrate", common.lock_timeout)
                .map_err(|e| e.to_string())
                .and_then(|lock| {
                    SledStore::open(&dir, name, &crypt)
                        .map(|(s, snap)| {
                            (Box::new(lock) as Box<dyn std::any::Any>, Box::new(s) as Box<dyn Storage>, snap)
                        })
                        .map_err(|e| e.to_string())
                }),
        };
        let (lock, store, existing) = match opened {
            Ok(x) => x,
            Err(e) => return fail(&format!("workspace \"{name}\": {e}"), color),
        };
        let holds = !existing.resources.is_empty() || !existing.outputs.is_empty() || existing.serial > 0;
        if holds && !force {
            return fail(
                &format!("the target already holds workspace \"{name}\" (serial {}); nothing was copied. Add --force to overwrite it.", existing.serial),
                color,
            );
        }
        targets.push((name.clone(), store, existing));
        target_locks.push(lock);
    }
    let mut copied = 0;
    for (name, store, _) in targets {
        let mut c = common.clone();
        c.workspace = name.clone();
        let (held, snap) = match run::open_and_load(&c, "state migrate", color) {
            Ok(x) => x,
            Err(code) => return code,
        };
        if let Err(e) = store.replace(&snap) {
            return fail(&format!("workspace \"{name}\": {e} ({copied} workspace(s) copied before it)"), color);
        }
        drop(held);
        crate::outln!(
            "workspace \"{name}\": {} resource(s), serial {}, lineage {}",
            snap.resources.len(),
            snap.serial,
            snap.lineage
        );
        copied += 1;
    }
    drop(target_locks);
    crate::outln!(
        "Migrated {copied} workspace(s) to {}. Use it with {}.",
        if to_pg.is_some() { "PostgreSQL" } else { "sled" },
        if to_pg.is_some() { "--backend-url (or LANDFORM_BACKEND_URL)" } else { "no --backend-url" }
    );
    0
}

/// `state rekey`: every workspace of the state in use read with the current
/// key (or none) and written again whole with the new one (or none), one
/// workspace at a time, each in one commit under its lock. Values sealed with
/// either key are read, so that a rekey stopped halfway is finished by running
/// it again.
pub fn rekey(common: &CommonArgs, new_key_file: Option<&std::path::Path>, decrypt: bool, color: bool) -> u8 {
    use landform_state::{Crypt, StateKey};
    let current = match run::crypt(common) {
        Ok(c) => c,
        Err(e) => return fail(&e, color),
    };
    let new_text = match (std::env::var("LANDFORM_STATE_NEW_KEY").ok().filter(|k| !k.is_empty()), new_key_file) {
        _ if decrypt => None,
        (_, Some(path)) => match std::fs::read_to_string(path) {
            Ok(t) => Some(t),
            Err(e) => {
                let why = landform_state::files::io_words(&e);
                return fail(&format!("cannot read the new key file {}: {why}", path.display()), color);
            }
        },
        (Some(k), None) => Some(k),
        (None, None) => {
            return fail(
                "say what to rekey to: --new-key-file FILE (or LANDFORM_STATE_NEW_KEY), or --decrypt to store the state unencrypted",
                color,
            )
        }
    };
    let target = match new_text {
        Some(t) => {
            landform_lang::secrets::remember_texts([t.trim().to_string()]);
            match StateKey::parse(&t) {
                Ok(k) => Crypt::with_key(k),
                Err(e) => return fail(&format!("the new key: {e}"), color),
            }
        }
        None => Crypt::none(),
    };
    // Read with the current key and the new one, write with the new one.
    // Rekey is where values in the older binding (slot only) are read and
    // sealed again for their workspace; plain values are read only when the
    // state has no key yet (encrypting a plain state is asked for here, and
    // nowhere else).
    let mut crypt = target.clone().also_reading_from(&current).accepting_old_binding();
    if !current.is_on() {
        crypt = crypt.accepting_plain();
    }
    let names = match run::pg_target(common) {
        Some(t) => match t.and_then(|t| landform_state::PgStore::workspaces(&t).map_err(|e| e.to_string())) {
            Ok(n) => n,
            Err(e) => return fail(&e, color),
        },
        None => landform_state::workspaces(&run::state_dir(common)),
    };
    if names.is_empty() {
        return fail("the state in use holds no workspace: nothing to rekey", color);
    }
    let to = match target.key_id() {
        Some(id) => format!("encrypted with key ID {id}"),
        None => "stored unencrypted".into(),
    };
    for name in &names {
        let mut c = common.clone();
        c.workspace = name.clone();
        let (held, snap) = match run::open_with(&c, "state rekey", &crypt, color) {
            Ok(x) => x,
            Err(code) => return code,
        };
        // Opening it wrote every record again as the new key stores it.
        if let Err(e) = held.storage.save_backup(&snap) {
            return fail(&format!("workspace \"{name}\": {e}; its state is as it was"), color);
        }
        drop(held);
        crate::outln!(
            "workspace \"{name}\": {} resource(s) and {} output(s) {to}",
            snap.resources.len(),
            snap.outputs.len()
        );
    }
    crate::outln!(
        "Rekeyed {} workspace(s). From now on, {}. Plan files saved before this cannot be applied; make new ones.",
        names.len(),
        match target.key_id() {
            Some(_) => "give the new key (LANDFORM_STATE_KEY or --state-key-file)",
            None => "give no state key",
        }
    );
    0
}

pub fn force_unlock(common: &CommonArgs, id: &str, color: bool) -> u8 {
    if let Some(target) = run::pg_target(common) {
        // PostgreSQL: the session holding the lock is ended, and its lock with it.
        return match target
            .and_then(|t| landform_state::PgLock::force_unlock(&t, &common.workspace, id).map_err(|e| e.to_string()))
        {
            Ok(()) => {
                crate::outln!("Landform state has been successfully unlocked!");
                0
            }
            Err(e) => fail(&e, color),
        };
    }
    let locker = landform_state::FileLocker { dir: run::state_dir(common), workspace: common.workspace.clone() };
    match locker.force_unlock(id) {
        Ok(()) => {
            crate::outln!("Landform state has been successfully unlocked!");
            0
        }
        Err(e) => fail(&e.to_string(), color),
    }
}

pub fn graph(color: bool) -> u8 {
    let mut sources = landform_lang::SourceMap::new();
    let (tree, diags) = landform_lang::module::load_tree(&crate::inputs::DiskFs, ".", &mut sources);
    if diags.iter().any(|d| d.is_error()) {
        crate::print_diagnostics(&diags, &sources, color);
        return 1;
    }
    match landform_engine::build::build(&tree, &sources) {
        Ok(g) => {
            crate::out!("{}", g.to_dot());
            0
        }
        Err(d) => {
            crate::print_diagnostics(&d, &sources, color);
            1
        }
    }
}
