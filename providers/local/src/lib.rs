//! The built-in `local` provider: resources that live on this machine, so the
//! quickstart needs nothing installed. `landform_data` (also as Terraform's `terraform_data`),
//! `local_file`, `local_exec`, `random_id`, `random_string`, and the
//! `local_file` data source.

use base64::Engine as _;
use landform_provider::{
    default_plan, ApplyRequest, ApplyResponse, AttrType, Attribute, ImportRequest, Object, PlanRequest, PlanResponse,
    Provider, ProviderError, ProviderSchema, ReadDataRequest, ReadRequest, ReadResponse, Result, Schema,
    ValidateRequest,
};
use serde_json::{json, Value};
use sha2::Digest;
use std::collections::BTreeSet;
use std::io::Read;
use std::process::Command;

pub struct LocalProvider {
    schema: ProviderSchema,
}

impl Default for LocalProvider {
    fn default() -> Self {
        Self::new()
    }
}

impl LocalProvider {
    pub fn new() -> LocalProvider {
        use AttrType::*;
        let a = Attribute::new;
        let mut schema = ProviderSchema::default();
        // Terraform's built-in `terraform_data` is the same resource, so a
        // Terraform configuration that uses it ports unchanged.
        for name in ["landform_data", "terraform_data"] {
            schema.resources.insert(
                name,
                Schema::new(
                    0,
                    [
                        ("input", a(Any).describe("Any value; stored, and copied to output")),
                        ("triggers_replace", a(Any).force_new().describe("A change replaces the resource")),
                        ("output", a(Any).computed()),
                        ("id", a(String).computed()),
                    ],
                ),
            );
        }
        schema.resources.insert(
            "local_file",
            Schema::new(
                0,
                [
                    // `path`, or hashicorp/local's name for it, `filename`.
                    ("path", a(String).optional_computed().force_new()),
                    ("filename", a(String).force_new()),
                    ("content", a(String)),
                    ("content_base64", a(String)),
                    // hashicorp/local's: content kept out of every output.
                    ("sensitive_content", a(String).sensitive()),
                    ("file_permission", a(String)),
                    ("directory_permission", a(String)),
                    ("content_sha256", a(String).computed()),
                    ("id", a(String).computed()),
                ],
            ),
        );
        schema.resources.insert(
            "local_exec",
            Schema::new(
                0,
                [
                    ("create", a(String).required().force_new().describe("Shell command run on create")),
                    ("update", a(String).describe("Shell command run on update")),
                    ("destroy", a(String).describe("Shell command run on destroy")),
                    ("environment", a(Map)),
                    ("working_dir", a(String)),
                    ("triggers", a(Any).force_new()),
                    ("stdout", a(String).computed()),
                    ("id", a(String).computed()),
                ],
            ),
        );
        schema.resources.insert(
            "random_id",
            Schema::new(
                0,
                [
                    ("byte_length", a(Number).required().force_new()),
                    ("keepers", a(Map).force_new()),
                    ("id", a(String).computed()),
                    ("hex", a(String).computed()),
                    ("b64_std", a(String).computed()),
                ],
            ),
        );
        schema.resources.insert(
            "random_string",
            Schema::new(
                0,
                [
                    ("length", a(Number).required().force_new()),
                    ("special", a(Bool).force_new()),
                    ("upper", a(Bool).force_new()),
                    ("numeric", a(Bool).force_new()),
                    ("keepers", a(Map).force_new()),
                    ("result", a(String).computed()),
                    ("id", a(String).computed()),
                ],
            ),
        );
        schema.data_sources.insert(
            "local_file",
            Schema::new(
                0,
                [
                    ("path", a(String).required()),
                    ("content", a(String).computed()),
                    ("content_base64", a(String).computed()),
                    ("content_sha256", a(String).computed()),
                ],
            ),
        );
        // Terraform's built-in data source, for the backend whose state is
        // a file here: `backend = "local"`, `config = { path = "…" }`.
        schema.data_sources.insert(
            "terraform_remote_state",
            Schema::new(
                0,
                [
                    ("backend", a(String).required()),
                    ("config", a(Any)),
                    ("defaults", a(Any)),
                    ("workspace", a(String)),
                    ("outputs", a(Any).computed()),
                ],
            ),
        );
        LocalProvider { schema }
    }
}

fn s<'a>(o: &'a Object, k: &str) -> Option<&'a str> {
    o.get(k).and_then(Value::as_str)
}

fn sha256_hex(bytes: &[u8]) -> String {
    sha2::Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

fn random_bytes(n: usize) -> Result<Vec<u8>> {
    let mut buf = vec![0u8; n];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut buf))
        .map_err(|e| ProviderError::new("Cannot read random bytes", e.to_string()))?;
    Ok(buf)
}

fn uuid() -> Result<String> {
    let b = random_bytes(16)?;
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    Ok(format!("{}-{}-4{}-a{}-{}", &h[0..8], &h[8..12], &h[13..16], &h[17..20], &h[20..32]))
}

/// The bytes a local_file holds: `content`, `sensitive_content` or decoded
/// `content_base64` (one of them).
fn file_bytes(config: &Object) -> Result<Vec<u8>> {
    let given: Vec<&str> =
        ["content", "sensitive_content", "content_base64"].into_iter().filter(|k| s(config, k).is_some()).collect();
    if given.len() > 1 {
        return Err(ProviderError::new(
            "Conflicting arguments",
            format!("Set one of content, sensitive_content and content_base64, not {}.", given.join(" and ")),
        )
        .on(given[1]));
    }
    match given.first() {
        Some(&"content_base64") => base64::engine::general_purpose::STANDARD
            .decode(s(config, "content_base64").unwrap_or_default())
            .map_err(|e| ProviderError::new("Invalid content_base64", e.to_string()).on("content_base64")),
        Some(k) => Ok(s(config, k).unwrap_or_default().as_bytes().to_vec()),
        None => Ok(Vec::new()),
    }
}

/// An octal mode argument (`"0644"`).
fn mode(config: &Object, key: &str, default: &str) -> Result<u32> {
    let m = s(config, key).unwrap_or(default);
    u32::from_str_radix(m, 8).map_err(|_| {
        ProviderError::new(format!("Invalid {key}"), format!("\"{m}\" is not an octal mode such as \"0644\".")).on(key)
    })
}

fn run_shell(command: &str, config: &Object) -> Result<String> {
    let mut cmd = Command::new("sh");
    cmd.arg("-c").arg(command);
    // A process group of its own: a Ctrl-C at the terminal lets it finish (the
    // first interrupt stops only new work), and a second one kills the group.
    #[cfg(unix)]
    std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
    if let Some(dir) = s(config, "working_dir") {
        if !std::path::Path::new(dir).is_dir() {
            return Err(ProviderError::new("Invalid working_dir", format!("the directory {dir} does not exist"))
                .on("working_dir"));
        }
        cmd.current_dir(dir);
    }
    if let Some(Value::Object(env)) = config.get("environment") {
        for (k, v) in env {
            cmd.env(k, v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string()));
        }
    }
    let out = cmd.output().map_err(|e| ProviderError::new("Cannot run command", format!("{command}: {e}")))?;
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        return Err(ProviderError::new(
            "Command failed",
            format!(
                "`{command}` exited with {}: {}",
                out.status.code().map_or("a signal".to_string(), |c| format!("status {c}")),
                stderr.trim()
            ),
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

impl Provider for LocalProvider {
    fn name(&self) -> &'static str {
        "local"
    }

    fn schema(&self) -> &ProviderSchema {
        &self.schema
    }

    fn validate(&self, req: ValidateRequest) -> Vec<ProviderError> {
        let mut errors = Vec::new();
        if req.type_name == "local_file" {
            let given = |k: &str| req.config.contains_key(k) || req.unknown.contains(k);
            if !given("path") && !given("filename") {
                errors.push(ProviderError::new(
                    "Missing required argument",
                    "A local_file needs path: the file to write (Terraform's name for it, filename, works too).",
                ));
            }
            if req.config.contains_key("path") && req.config.contains_key("filename") {
                errors.push(
                    ProviderError::new("Conflicting arguments", "path and filename name the same thing: keep one.")
                        .on("filename"),
                );
            }
        }
        if req.type_name == "local_exec" {
            if let Some(Value::Object(env)) = req.config.get("environment") {
                for k in env.keys() {
                    let valid = k.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
                        && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
                    if !valid {
                        errors.push(
                            ProviderError::new(
                                "Invalid environment variable name",
                                format!("\"{k}\" is not an environment variable name: use letters, digits and _, not starting with a digit."),
                            )
                            .on("environment"),
                        );
                    }
                }
            }
        }
        errors
    }

    fn plan(&self, req: PlanRequest) -> Result<PlanResponse> {
        let (config, unknown) = with_path(req.type_name, req.config, req.unknown);
        let req = PlanRequest { config: &config, unknown: &unknown, ..req };
        let schema = &self.schema.resources[req.type_name];
        let mut resp = default_plan(schema, &req);
        match req.type_name {
            // output follows input, and is known whenever input is.
            "landform_data" | "terraform_data" => {
                if req.unknown.contains("input") {
                    resp.unknown.insert("output".into());
                    resp.planned.remove("output");
                } else {
                    resp.unknown.remove("output");
                    resp.planned.insert("output".into(), req.config.get("input").cloned().unwrap_or(Value::Null));
                }
            }
            // The hash follows the content, so it is known whenever the content is.
            "local_file" => {
                if !["content", "sensitive_content", "content_base64"].iter().any(|k| req.unknown.contains(*k)) {
                    let bytes = file_bytes(req.config)?;
                    resp.unknown.remove("content_sha256");
                    resp.planned.insert("content_sha256".into(), json!(sha256_hex(&bytes)));
                } else {
                    resp.unknown.insert("content_sha256".into());
                    resp.planned.remove("content_sha256");
                }
                if let Some(p) = s(req.config, "path") {
                    resp.unknown.remove("id");
                    resp.planned.insert("id".into(), json!(p));
                }
            }
            "random_id" => {
                if let Some(n) = req.config.get("byte_length").and_then(Value::as_f64) {
                    if !(1.0..=1024.0).contains(&n) || n.fract() != 0.0 {
                        return Err(ProviderError::new(
                            "Invalid byte_length",
                            "byte_length is a whole number from 1 to 1024.",
                        )
                        .on("byte_length"));
                    }
                }
            }
            "random_string" => {
                if let Some(n) = req.config.get("length").and_then(Value::as_f64) {
                    if !(1.0..=4096.0).contains(&n) || n.fract() != 0.0 {
                        return Err(ProviderError::new("Invalid length", "length is a whole number from 1 to 4096.")
                            .on("length"));
                    }
                }
            }
            _ => {}
        }
        Ok(resp)
    }

    fn apply(&self, req: ApplyRequest) -> Result<ApplyResponse> {
        let normalized = req.config.map(|c| with_path(req.type_name, c, &BTreeSet::new()).0);
        let req = ApplyRequest { config: normalized.as_ref(), ..req };
        let Some(config) = req.config else {
            // Delete.
            if let Some(prior) = req.prior {
                match req.type_name {
                    "local_file" => {
                        if let Some(p) = s(prior, "path") {
                            match std::fs::remove_file(p) {
                                Ok(()) => {}
                                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                                Err(e) => return Err(ProviderError::new("Cannot delete file", format!("{p}: {e}"))),
                            }
                        }
                    }
                    "local_exec" => {
                        if let Some(cmd) = s(prior, "destroy") {
                            run_shell(cmd, prior)?;
                        }
                    }
                    _ => {}
                }
            }
            return Ok(ApplyResponse::default());
        };
        let mut state = config.clone();
        let id = req.prior.and_then(|p| s(p, "id")).map(str::to_string);
        match req.type_name {
            "landform_data" | "terraform_data" => {
                state.insert("output".into(), config.get("input").cloned().unwrap_or(Value::Null));
                state.insert(
                    "id".into(),
                    json!(match id {
                        Some(id) => id,
                        None => uuid()?,
                    }),
                );
            }
            "local_file" => {
                let path = s(config, "path").ok_or_else(|| ProviderError::new("Missing path", "").on("path"))?;
                let bytes = file_bytes(config)?;
                let mode_value = mode(config, "file_permission", "0644")?;
                let dir_mode = mode(config, "directory_permission", "0777")?;
                if let Some(parent) = std::path::Path::new(path).parent() {
                    // The directories this creates get directory_permission (as hashicorp/local's do).
                    let mut missing = Vec::new();
                    let mut d = parent;
                    while !d.as_os_str().is_empty() && !d.exists() {
                        missing.push(d.to_path_buf());
                        d = d.parent().unwrap_or(std::path::Path::new(""));
                    }
                    if !parent.as_os_str().is_empty() {
                        std::fs::create_dir_all(parent).map_err(|e| {
                            ProviderError::new("Cannot create directory", format!("{}: {e}", parent.display()))
                        })?;
                    }
                    #[cfg(unix)]
                    for d in missing {
                        use std::os::unix::fs::PermissionsExt;
                        std::fs::set_permissions(&d, std::fs::Permissions::from_mode(dir_mode)).map_err(|e| {
                            ProviderError::new("Cannot set permissions", format!("{}: {e}", d.display()))
                        })?;
                    }
                }
                std::fs::write(path, &bytes)
                    .map_err(|e| ProviderError::new("Cannot write file", format!("{path}: {e}")))?;
                let mode = mode_value;
                #[cfg(unix)]
                {
                    use std::os::unix::fs::PermissionsExt;
                    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
                        .map_err(|e| ProviderError::new("Cannot set permissions", format!("{path}: {e}")))?;
                }
                state.insert("content_sha256".into(), json!(sha256_hex(&bytes)));
                state.insert("id".into(), json!(path));
            }
            "local_exec" => {
                let command = match (req.prior, s(config, "update")) {
                    (None, _) => s(config, "create"),
                    (Some(_), Some(update)) => Some(update),
                    (Some(_), None) => None,
                };
                let stdout = match command {
                    Some(c) => run_shell(c, config)?,
                    None => req.prior.and_then(|p| s(p, "stdout")).unwrap_or_default().to_string(),
                };
                state.insert("stdout".into(), json!(stdout));
                state.insert(
                    "id".into(),
                    json!(match id {
                        Some(id) => id,
                        None => uuid()?,
                    }),
                );
            }
            "random_id" => {
                if let Some(prior) = req.prior {
                    for k in ["id", "hex", "b64_std"] {
                        state.insert(k.into(), prior.get(k).cloned().unwrap_or(Value::Null));
                    }
                } else {
                    let n = config.get("byte_length").and_then(Value::as_f64).unwrap_or(8.0) as usize;
                    let bytes = random_bytes(n)?;
                    state.insert("id".into(), json!(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&bytes)));
                    state.insert("hex".into(), json!(bytes.iter().map(|b| format!("{b:02x}")).collect::<String>()));
                    state.insert("b64_std".into(), json!(base64::engine::general_purpose::STANDARD.encode(&bytes)));
                }
            }
            "random_string" => {
                if let Some(prior) = req.prior {
                    for k in ["id", "result"] {
                        state.insert(k.into(), prior.get(k).cloned().unwrap_or(Value::Null));
                    }
                } else {
                    let n = config.get("length").and_then(Value::as_f64).unwrap_or(16.0) as usize;
                    let flag = |k: &str| config.get(k).and_then(Value::as_bool).unwrap_or(true);
                    let mut alphabet: Vec<u8> = b"abcdefghijklmnopqrstuvwxyz".to_vec();
                    if flag("upper") {
                        alphabet.extend_from_slice(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ");
                    }
                    if flag("numeric") {
                        alphabet.extend_from_slice(b"0123456789");
                    }
                    if flag("special") {
                        alphabet.extend_from_slice(b"!#$%&*()-_=+[]{}<>:?");
                    }
                    let result: String =
                        random_bytes(n)?.iter().map(|b| alphabet[*b as usize % alphabet.len()] as char).collect();
                    state.insert("result".into(), json!(result));
                    state.insert("id".into(), json!(result));
                }
            }
            other => return Err(ProviderError::new("Unknown resource type", other.to_string())),
        }
        Ok(ApplyResponse { state: Some(state), ..ApplyResponse::default() })
    }

    fn read(&self, req: ReadRequest) -> Result<ReadResponse> {
        if req.type_name != "local_file" {
            return Ok(ReadResponse::Unchanged);
        }
        // A file edited or deleted outside Landform shows up here.
        let Some(path) = s(req.prior, "path") else { return Ok(ReadResponse::Unchanged) };
        match std::fs::read(path) {
            Ok(bytes) => {
                let hash = sha256_hex(&bytes);
                if s(req.prior, "content_sha256") == Some(hash.as_str()) {
                    return Ok(ReadResponse::Unchanged);
                }
                let mut now = req.prior.clone();
                now.insert("content_sha256".into(), json!(hash));
                if req.prior.contains_key("sensitive_content") {
                    now.insert("sensitive_content".into(), json!(String::from_utf8_lossy(&bytes)));
                } else if req.prior.contains_key("content_base64") {
                    now.insert(
                        "content_base64".into(),
                        json!(base64::engine::general_purpose::STANDARD.encode(&bytes)),
                    );
                } else {
                    now.insert("content".into(), json!(String::from_utf8_lossy(&bytes)));
                }
                Ok(ReadResponse::Changed(now))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(ReadResponse::Gone),
            Err(e) => Err(ProviderError::new("Cannot read file", format!("{path}: {e}"))),
        }
    }

    /// `landform import local_file.x PATH`: the file as it is.
    fn import(&self, req: ImportRequest) -> Result<Object> {
        if req.type_name != "local_file" {
            return Err(ProviderError::new(
                "Import not supported",
                format!("Resources of type {} cannot be imported: only local_file can.", req.type_name),
            ));
        }
        let bytes = std::fs::read(req.id)
            .map_err(|e| ProviderError::new("Cannot import the file", format!("{}: {e}", req.id)))?;
        let mut o = Object::new();
        o.insert("path".into(), json!(req.id));
        o.insert("id".into(), json!(req.id));
        o.insert("content_sha256".into(), json!(sha256_hex(&bytes)));
        match String::from_utf8(bytes) {
            Ok(text) => o.insert("content".into(), json!(text)),
            Err(e) => {
                o.insert("content_base64".into(), json!(base64::engine::general_purpose::STANDARD.encode(e.as_bytes())))
            }
        };
        Ok(o)
    }

    /// A file is found by its path; anything else cannot be told apart from
    /// what was there before, so it is created again.
    fn adopt(&self, req: ReadRequest) -> Result<ReadResponse> {
        if req.type_name != "local_file" {
            return Ok(ReadResponse::Gone);
        }
        let Some(path) = s(req.prior, "path") else { return Ok(ReadResponse::Gone) };
        let mut found = req.prior.clone();
        found.insert("id".into(), json!(path));
        found.remove("content_sha256");
        Ok(match self.read(ReadRequest { type_name: req.type_name, prior: &found, private: &[] })? {
            ReadResponse::Unchanged => ReadResponse::Changed(found),
            other => other,
        })
    }

    fn read_data(&self, req: ReadDataRequest) -> Result<Object> {
        match req.type_name {
            "local_file" => {
                let path = s(req.config, "path").ok_or_else(|| ProviderError::new("Missing path", "").on("path"))?;
                let bytes = read_regular(path)
                    .map_err(|e| ProviderError::new("Cannot read file", format!("{path}: {e}")).on("path"))?;
                let mut out = req.config.clone();
                out.insert("content".into(), json!(String::from_utf8_lossy(&bytes)));
                out.insert("content_base64".into(), json!(base64::engine::general_purpose::STANDARD.encode(&bytes)));
                out.insert("content_sha256".into(), json!(sha256_hex(&bytes)));
                Ok(out)
            }
            "terraform_remote_state" => remote_state(req.config),
            other => Err(ProviderError::new("Unknown data source", other.to_string())),
        }
    }
}

/// The largest file a data source reads: as large as any value may be.
const MAX_READ: u64 = 64 << 20;

/// A regular file's bytes, at most `MAX_READ` of them: a named pipe nobody
/// writes to, a device that never ends or a huge file is refused, never
/// waited on or read into memory whole.
fn read_regular(path: &str) -> std::result::Result<Vec<u8>, String> {
    landform_provider::files::read_regular(std::path::Path::new(path), MAX_READ).map_err(|e| match e.kind() {
        std::io::ErrorKind::InvalidInput => {
            "not a regular file (a directory, a named pipe or a device); a data source reads only files".into()
        }
        std::io::ErrorKind::FileTooLarge => {
            format!("the file is larger than {} MiB, the most a value may hold", MAX_READ >> 20)
        }
        _ => e.to_string(),
    })
}

/// `terraform_remote_state` with the local backend: the root outputs of a
/// Terraform state file (format 4), over `defaults`. Other backends are
/// refused by name, and so is a sensitive output (it would lose its mark).
fn remote_state(config: &Object) -> Result<Object> {
    let backend = s(config, "backend").unwrap_or_default();
    if backend != "local" {
        return Err(ProviderError::new(
            "Unsupported backend",
            format!("terraform_remote_state reads only the \"local\" backend here (a Terraform state file: config = {{ path = \"…/terraform.tfstate\" }}), not \"{backend}\"."),
        )
        .on("backend"));
    }
    let settings = config.get("config").and_then(Value::as_object);
    let workspace = s(config, "workspace").unwrap_or("default");
    let setting = |k: &str| settings.and_then(|c| c.get(k)).and_then(Value::as_str);
    // Terraform's local backend keeps other workspaces under terraform.tfstate.d.
    let path = match (setting("path"), workspace) {
        (Some(p), "default") => p.to_string(),
        (None, "default") => "terraform.tfstate".to_string(),
        (_, ws) => format!("{}/{ws}/terraform.tfstate", setting("workspace_dir").unwrap_or("terraform.tfstate.d")),
    };
    let text = std::fs::read_to_string(&path)
        .map_err(|e| ProviderError::new("Cannot read the remote state", format!("{path}: {e}")).on("config"))?;
    let state: Value = serde_json::from_str(&text)
        .map_err(|e| ProviderError::new("Invalid remote state", format!("{path} is not a Terraform state: {e}")))?;
    let mut outputs = config.get("defaults").and_then(Value::as_object).cloned().unwrap_or_default();
    for (name, o) in state.get("outputs").and_then(Value::as_object).into_iter().flatten() {
        if o.get("sensitive").and_then(Value::as_bool) == Some(true) {
            return Err(ProviderError::new(
                "Sensitive remote output",
                format!("The output \"{name}\" of {path} is sensitive; Landform does not read sensitive outputs of a remote state."),
            ));
        }
        outputs.insert(name.clone(), o.get("value").cloned().unwrap_or(Value::Null));
    }
    let mut out = config.clone();
    out.insert("outputs".into(), Value::Object(outputs));
    Ok(out)
}

/// A local_file written with Terraform's `filename`: its path, as Landform
/// names it, is the same (and unknown when it is).
fn with_path(type_name: &str, config: &Object, unknown: &BTreeSet<String>) -> (Object, BTreeSet<String>) {
    let (mut config, mut unknown) = (config.clone(), unknown.clone());
    if type_name == "local_file" && !config.contains_key("path") {
        if let Some(f) = config.get("filename").cloned() {
            config.insert("path".into(), f);
        }
        if unknown.contains("filename") {
            unknown.insert("path".into());
        }
    }
    (config, unknown)
}
