//! The `haproxy` provider: traffic weights and dynamic servers of a running
//! HAProxy, through its runtime API (`stats socket ... level admin`, on TCP
//! or a unix socket). Nothing is reloaded and no connection is dropped:
//! `set server ... weight` only changes where new requests go.
//!
//! - `haproxy_backend`: the weights of the servers of a backend HAProxy's
//!   configuration declares (`weights = { blue = 100, green = 0 }`). Weights
//!   that rise are set before weights that fall, so the backend never has
//!   every server at 0 on the way. Destroying it forgets it: the weights stay.
//! - `haproxy_server`: a dynamic server (`add server`, `set server ... state`,
//!   `del server` after draining), in a backend that allows them.
//!
//! Each command is one line over a fresh connection; HAProxy's reply ends
//! when it closes the connection. Names are checked before they are put in a
//! command, so no value can add a command of its own.

use landform_provider::{
    default_plan, ApplyRequest, ApplyResponse, AttrType, Attribute, ImportRequest, IsolateRequest, Object, PlanRequest,
    PlanResponse, Provider, ProviderError, ProviderSchema, ReadDataRequest, ReadRequest, ReadResponse, Result, Sample,
    SampleRequest, Schema, TrafficSwitch, ValidateRequest,
};
use serde_json::{json, Value};
use std::io::{Read, Write};
use std::time::Duration;

/// The `provider "haproxy" { runtime_api = "..." }` block.
#[derive(Clone, Debug, Default)]
pub struct Settings {
    /// `HOST:PORT`, or `unix:/path` (or an absolute path) for a unix socket.
    pub runtime_api: Option<String>,
}

impl Settings {
    pub fn from_config(config: &Object) -> Settings {
        Settings { runtime_api: config.get("runtime_api").and_then(Value::as_str).map(String::from) }
    }
}

pub struct HaproxyProvider {
    schema: ProviderSchema,
    settings: Settings,
}

const WEIGHT_MAX: i64 = 256;

impl HaproxyProvider {
    pub fn new(settings: Settings) -> HaproxyProvider {
        use AttrType::*;
        let a = Attribute::new;
        let mut schema = ProviderSchema::default();
        schema.resources.insert(
            "haproxy_backend",
            Schema::new(
                0,
                [
                    ("name", a(String).required().force_new().describe("A backend in HAProxy's configuration")),
                    ("weights", a(Map).required().describe("Server name → weight, 0 to 256")),
                    ("servers", a(List).computed().describe("Every server of the backend, by name")),
                    ("id", a(String).computed()),
                ],
            ),
        );
        schema.resources.insert(
            "haproxy_server",
            Schema::new(
                0,
                [
                    ("backend", a(String).required().force_new()),
                    ("name", a(String).required().force_new()),
                    ("address", a(String).required().force_new()),
                    ("port", a(Number).required().force_new()),
                    ("weight", a(Number).optional_computed().describe("0 to 256; HAProxy's default is 1")),
                    ("state", a(String).optional_computed().describe("ready, drain or maint")),
                    ("id", a(String).computed()),
                ],
            ),
        );
        schema.data_sources.insert(
            "haproxy_backend",
            Schema::new(
                0,
                [
                    ("name", a(String).required()),
                    ("weights", a(Map).computed()),
                    ("servers", a(List).computed().describe("[{ name, address, port, weight, state }]")),
                ],
            ),
        );
        HaproxyProvider { schema, settings }
    }

    fn api(&self) -> Result<&str> {
        self.settings.runtime_api.as_deref().filter(|s| !s.is_empty()).ok_or_else(|| {
            ProviderError::new(
                "No HAProxy runtime API",
                "Set runtime_api in the provider \"haproxy\" block: HOST:PORT of a `stats socket ipv4@HOST:PORT level admin` line in HAProxy's global section, or unix:/path/to/socket.",
            )
        })
    }

    /// One runtime API command and HAProxy's whole reply.
    fn call(&self, cmd: &str) -> Result<String> {
        let api = self.api()?;
        let fail = |e: std::io::Error| {
            ProviderError::new(
                "HAProxy's runtime API did not answer",
                format!("{api}: {e}. Check that HAProxy is running with `stats socket {api} level admin` in its global section."),
            )
        };
        let mut reply = String::new();
        let timeout = Some(Duration::from_secs(10));
        if let Some(path) = api.strip_prefix("unix:").or_else(|| api.starts_with('/').then_some(api)) {
            let mut s = std::os::unix::net::UnixStream::connect(path).map_err(fail)?;
            s.set_read_timeout(timeout).map_err(fail)?;
            s.write_all(format!("{cmd}\n").as_bytes()).map_err(fail)?;
            s.read_to_string(&mut reply).map_err(fail)?;
        } else {
            use std::net::ToSocketAddrs;
            let addr =
                api.to_socket_addrs().map_err(fail)?.next().ok_or_else(|| fail(std::io::Error::other("no address")))?;
            let mut s = std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(5)).map_err(fail)?;
            s.set_read_timeout(timeout).map_err(fail)?;
            s.write_all(format!("{cmd}\n").as_bytes()).map_err(fail)?;
            s.read_to_string(&mut reply).map_err(fail)?;
        }
        Ok(reply)
    }

    /// Which run of HAProxy answers: its pid and start time, from `show info`.
    fn generation(&self) -> Result<u64> {
        let info = self.call("show info")?;
        let field = |name: &str| {
            info.lines().find_map(|l| l.strip_prefix(name).and_then(|v| v.strip_prefix(": ")).map(str::trim))
        };
        let pid: u64 = field("Pid").and_then(|v| v.parse().ok()).unwrap_or(0);
        let started: u64 = field("Start_time_sec").and_then(|v| v.parse().ok()).unwrap_or(0);
        Ok(started.wrapping_mul(1_000_003) ^ pid)
    }

    /// A command whose success is an empty reply (or one of `ok`).
    fn command(&self, cmd: &str, ok: &[&str]) -> Result<()> {
        let reply = self.call(cmd)?;
        let text = reply.trim();
        if text.is_empty() || ok.iter().any(|o| text.starts_with(o)) {
            Ok(())
        } else {
            Err(ProviderError::new("HAProxy refused a command", format!("`{cmd}`: {text}")))
        }
    }

    /// The servers of a backend, or None when HAProxy has no such backend.
    fn servers(&self, backend: &str) -> Result<Option<Vec<ServerState>>> {
        let reply = self.call(&format!("show servers state {backend}"))?;
        if reply.contains("Can't find backend") {
            return Ok(None);
        }
        let mut out = Vec::new();
        for line in reply.lines() {
            let f: Vec<&str> = line.split_whitespace().collect();
            if line.starts_with('#') || f.len() < 19 || f[1] != backend {
                continue;
            }
            let admin: u32 = f[6].parse().unwrap_or(0);
            let state = if admin & 0x08 != 0 && admin & !0x08 == 0 {
                "drain"
            } else if admin != 0 {
                "maint"
            } else {
                "ready"
            };
            out.push(ServerState {
                name: f[3].to_string(),
                address: f[4].to_string(),
                port: f[18].parse().unwrap_or(0),
                weight: f[7].parse().unwrap_or(0),
                state,
            });
        }
        Ok(Some(out))
    }

    fn backend_object(&self, name: &str, only: Option<&Object>) -> Result<Option<Object>> {
        let Some(servers) = self.servers(name)? else { return Ok(None) };
        let weights: serde_json::Map<String, Value> = servers
            .iter()
            .filter(|s| only.is_none_or(|o| o.contains_key(&s.name)))
            .map(|s| (s.name.clone(), json!(s.weight)))
            .collect();
        let mut o = Object::new();
        o.insert("name".into(), json!(name));
        o.insert("weights".into(), Value::Object(weights));
        o.insert("servers".into(), json!(servers.iter().map(|s| s.name.clone()).collect::<Vec<_>>()));
        o.insert("id".into(), json!(name));
        Ok(Some(o))
    }

    fn apply_backend(&self, config: &Object) -> Result<Object> {
        let name = s(config, "name");
        let want = weights(config);
        let Some(servers) = self.servers(&name)? else {
            return Err(ProviderError::new(
                "No such backend",
                format!("HAProxy has no backend \"{name}\": haproxy_backend manages the weights of a backend HAProxy's configuration declares."),
            )
            .on("name"));
        };
        for server in want.keys() {
            if !servers.iter().any(|s| &s.name == server) {
                return Err(ProviderError::new(
                    "No such server",
                    format!(
                        "backend \"{name}\" has no server \"{server}\"; its servers are: {}.",
                        servers.iter().map(|s| s.name.as_str()).collect::<Vec<_>>().join(", ")
                    ),
                )
                .on(format!("weights.{server}")));
            }
        }
        // Rising weights first, then falling ones: never every server at 0 on the way.
        let now = |n: &str| servers.iter().find(|s| s.name == n).map_or(0, |s| s.weight);
        let mut order: Vec<(&String, i64)> = want.iter().map(|(k, v)| (k, *v)).collect();
        order.sort_by_key(|(k, v)| (*v <= now(k), k.to_string()));
        for (server, w) in order {
            if now(server) != w {
                self.command(&format!("set server {name}/{server} weight {w}"), &[]).map_err(|e| {
                    if e.detail.contains("static LB algorithm") {
                        ProviderError::new("Static load-balancing algorithm", static_algorithm(&name, "a static hash"))
                            .on(format!("weights.{server}"))
                    } else {
                        e
                    }
                })?;
            }
        }
        self.backend_object(&name, Some(&want.keys().map(|k| (k.clone(), Value::Null)).collect()))?
            .ok_or_else(|| ProviderError::new("Backend gone", format!("HAProxy's backend \"{name}\" disappeared")))
    }

    fn server_object(&self, backend: &str, name: &str) -> Result<Option<Object>> {
        let Some(servers) = self.servers(backend)? else { return Ok(None) };
        Ok(servers.into_iter().find(|s| s.name == name).map(|s| {
            let mut o = Object::new();
            o.insert("backend".into(), json!(backend));
            o.insert("name".into(), json!(s.name));
            o.insert("address".into(), json!(s.address));
            o.insert("port".into(), json!(s.port));
            o.insert("weight".into(), json!(s.weight));
            o.insert("state".into(), json!(s.state));
            o.insert("id".into(), json!(format!("{backend}/{}", s.name)));
            o
        }))
    }

    fn apply_server(&self, prior: Option<&Object>, config: &Object) -> Result<Object> {
        let (b, n) = (s(config, "backend"), s(config, "name"));
        let target = format!("{b}/{n}");
        if prior.is_none() {
            let mut cmd = format!("add server {target} {}:{}", s(config, "address"), num(config, "port").unwrap_or(0));
            if let Some(w) = num(config, "weight") {
                cmd.push_str(&format!(" weight {w}"));
            }
            self.command(&cmd, &["New server registered"])?;
        } else if let Some(w) = num(config, "weight") {
            self.command(&format!("set server {target} weight {w}"), &[])?;
        }
        // A new server starts in maintenance: ready unless asked otherwise.
        let state = config.get("state").and_then(Value::as_str).unwrap_or("ready");
        self.command(&format!("set server {target} state {state}"), &[])?;
        self.server_object(&b, &n)?.ok_or_else(|| {
            ProviderError::new("Server not found", format!("HAProxy does not list {target} after adding it"))
        })
    }

    fn delete_server(&self, prior: &Object) -> Result<()> {
        let (b, n) = (s(prior, "backend"), s(prior, "name"));
        if self.server_object(&b, &n)?.is_none() {
            return Ok(());
        }
        let target = format!("{b}/{n}");
        // Out of rotation first; then close what is left, and remove it.
        self.command(&format!("set server {target} state maint"), &[])?;
        self.command(&format!("shutdown sessions server {target}"), &[])?;
        let mut last = String::new();
        for _ in 0..50 {
            let reply = self.call(&format!("del server {target}"))?;
            if reply.contains("Server deleted") {
                return Ok(());
            }
            last = reply.trim().to_string();
            std::thread::sleep(Duration::from_millis(100));
        }
        Err(ProviderError::new("HAProxy refused a command", format!("`del server {target}`: {last}")))
    }
}

struct ServerState {
    name: String,
    address: String,
    port: i64,
    weight: i64,
    state: &'static str,
}

/// Balancing algorithms that take no weight set at run time but 0% and
/// 100% (`static-rr`), or ignore weights (`first`). Hashes are static too
/// unless `hash-type consistent`: `show stat` does not tell, HAProxy refuses
/// the weight when it is set.
const IGNORE_WEIGHTS: &[&str] = &["static-rr", "first"];

fn static_algorithm(backend: &str, algorithm: &str) -> String {
    format!(
        "HAProxy's backend \"{backend}\" balances with {algorithm}, which ignores weights set at run time (it takes only 0% and 100%): a rollout cannot shift a share of traffic on it. Use a dynamic algorithm in HAProxy's configuration: `balance roundrobin`, `leastconn` or `random`, or a hash with `hash-type consistent`."
    )
}

fn s(o: &Object, k: &str) -> String {
    o.get(k).and_then(Value::as_str).unwrap_or_default().to_string()
}

fn num(o: &Object, k: &str) -> Option<i64> {
    o.get(k).and_then(Value::as_f64).map(|f| f as i64)
}

/// A number, or a string holding one (`--var w=50` on an untyped variable).
fn number(v: &Value) -> Option<f64> {
    v.as_f64().or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()))
}

fn weights(o: &Object) -> std::collections::BTreeMap<String, i64> {
    o.get("weights")
        .and_then(Value::as_object)
        .map(|m| m.iter().map(|(k, v)| (k.clone(), number(v).unwrap_or(-1.0) as i64)).collect())
        .unwrap_or_default()
}

/// Names go into commands: letters, digits and `-_.:` only.
fn check_name(v: &str, what: &str, attr: &str, errs: &mut Vec<ProviderError>) {
    if v.is_empty() || !v.chars().all(|c| c.is_ascii_alphanumeric() || "-_.:".contains(c)) {
        errs.push(
            ProviderError::new(
                format!("Invalid {what}"),
                format!("\"{v}\" is not a HAProxy {what}: use letters, digits, '-', '_', '.' and ':'."),
            )
            .on(attr),
        );
    }
}

/// A `haproxy_backend` as a rollout's switch: its `weights` by server name.
struct BackendSwitch;

impl TrafficSwitch for BackendSwitch {
    fn weights_attribute(&self) -> &'static str {
        "weights"
    }

    fn weights(&self, attrs: &Object) -> Option<Object> {
        attrs.get("weights")?.as_object().cloned()
    }

    fn with_weights(&self, attrs: &Object, weights: &Object) -> Object {
        let mut out = attrs.clone();
        out.insert("weights".into(), Value::Object(weights.clone()));
        out
    }

    fn max_weight(&self) -> u32 {
        WEIGHT_MAX as u32
    }

    fn lone_target_is_drift(&self) -> bool {
        false
    }

    fn lacks_target(&self) -> &'static str {
        "manages no server"
    }

    fn metric_source(&self) -> Option<landform_provider::MetricSource> {
        Some(landform_provider::MetricSource {
            name: "haproxy",
            description:
                "the canary server's 5xx share of requests, from HAProxy's statistics (haproxy_backend switches)",
            response_time: true,
        })
    }
}

impl Provider for HaproxyProvider {
    fn name(&self) -> &'static str {
        "haproxy"
    }

    fn schema(&self) -> &ProviderSchema {
        &self.schema
    }

    fn validate(&self, req: ValidateRequest) -> Vec<ProviderError> {
        let mut errs = Vec::new();
        let c = req.config;
        match req.type_name {
            "haproxy_backend" => {
                if let Some(n) = c.get("name").and_then(Value::as_str) {
                    check_name(n, "backend name", "name", &mut errs);
                }
                if let Some(m) = c.get("weights").and_then(Value::as_object) {
                    for (k, v) in m {
                        check_name(k, "server name", &format!("weights.{k}"), &mut errs);
                        match number(v) {
                            Some(w) if w.fract() == 0.0 && (0.0..=WEIGHT_MAX as f64).contains(&w) => {}
                            None if v.is_null() => {}
                            _ => errs.push(
                                ProviderError::new(
                                    "Invalid weight",
                                    format!(
                                        "weights.{k} is {}: HAProxy's weights are whole numbers from 0 to {WEIGHT_MAX}.",
                                        number(v).map_or(v.to_string(), |n| n.to_string())
                                    ),
                                )
                                .on(format!("weights.{k}")),
                            ),
                        }
                    }
                }
            }
            "haproxy_server" => {
                for (k, what) in [("backend", "backend name"), ("name", "server name")] {
                    if let Some(v) = c.get(k).and_then(Value::as_str) {
                        check_name(v, what, k, &mut errs);
                    }
                }
                if let Some(a) = c.get("address").and_then(Value::as_str) {
                    if a.is_empty() || a.chars().any(|c| c.is_whitespace() || c == ';') {
                        errs.push(
                            ProviderError::new("Invalid address", format!("\"{a}\" is not an address")).on("address"),
                        );
                    }
                }
                if let Some(w) = c.get("weight").and_then(Value::as_f64) {
                    if w.fract() != 0.0 || !(0.0..=WEIGHT_MAX as f64).contains(&w) {
                        errs.push(
                            ProviderError::new("Invalid weight", format!("weight is {w}: from 0 to {WEIGHT_MAX}"))
                                .on("weight"),
                        );
                    }
                }
                if let Some(st) = c.get("state").and_then(Value::as_str) {
                    if !["ready", "drain", "maint"].contains(&st) {
                        errs.push(
                            ProviderError::new("Invalid state", format!("state is \"{st}\": ready, drain or maint"))
                                .on("state"),
                        );
                    }
                }
            }
            _ => {}
        }
        errs
    }

    fn plan(&self, req: PlanRequest) -> Result<PlanResponse> {
        let schema = self.schema.resource(req.type_name)?;
        let mut resp = default_plan(schema, &req);
        // Weights are numbers, however they were written ("50" from an untyped variable).
        if let Some(Value::Object(m)) = resp.planned.get_mut("weights") {
            for v in m.values_mut() {
                if let Some(n) = number(v).filter(|n| n.fract() == 0.0) {
                    *v = json!(n as i64);
                }
            }
        }
        if req.type_name == "haproxy_backend" && resp.planned.get("id").is_none_or(Value::is_null) {
            // The id is the backend's name, known now.
            if let Some(n) = req.config.get("name").filter(|v| v.is_string()) {
                resp.planned.insert("id".into(), n.clone());
                resp.unknown.remove("id");
            }
        }
        Ok(resp)
    }

    fn apply(&self, req: ApplyRequest) -> Result<ApplyResponse> {
        let state = match (req.type_name, req.prior, req.config) {
            ("haproxy_backend", _, Some(config)) => Some(self.apply_backend(config)?),
            // Forgotten: the weights stay as they are.
            ("haproxy_backend", Some(_), None) => None,
            ("haproxy_server", prior, Some(config)) => Some(self.apply_server(prior, config)?),
            ("haproxy_server", Some(prior), None) => {
                self.delete_server(prior)?;
                None
            }
            (_, None, None) => None,
            (t, _, _) => return Err(ProviderError::new("Unknown resource type", t.to_string())),
        };
        Ok(ApplyResponse { state, ..ApplyResponse::default() })
    }

    fn read(&self, req: ReadRequest) -> Result<ReadResponse> {
        let now = match req.type_name {
            "haproxy_backend" => {
                let only = req.prior.get("weights").and_then(Value::as_object);
                self.backend_object(&s(req.prior, "name"), only)?
            }
            "haproxy_server" => self.server_object(&s(req.prior, "backend"), &s(req.prior, "name"))?,
            t => return Err(ProviderError::new("Unknown resource type", t.to_string())),
        };
        Ok(match now {
            None => ReadResponse::Gone,
            Some(now) if &now == req.prior => ReadResponse::Unchanged,
            Some(now) => ReadResponse::Changed(now),
        })
    }

    fn adopt(&self, req: ReadRequest) -> Result<ReadResponse> {
        match req.type_name {
            "haproxy_server" => Ok(match self.server_object(&s(req.prior, "backend"), &s(req.prior, "name"))? {
                Some(o) => ReadResponse::Changed(o),
                None => ReadResponse::Gone,
            }),
            // Setting weights again is harmless: nothing to adopt.
            _ => Ok(ReadResponse::Gone),
        }
    }

    fn read_data(&self, req: ReadDataRequest) -> Result<Object> {
        let name = s(req.config, "name");
        let Some(servers) = self.servers(&name)? else {
            return Err(ProviderError::new("No such backend", format!("HAProxy has no backend \"{name}\"")).on("name"));
        };
        let mut o = Object::new();
        o.insert("name".into(), json!(name));
        o.insert("weights".into(), Value::Object(servers.iter().map(|s| (s.name.clone(), json!(s.weight))).collect()));
        o.insert(
            "servers".into(),
            json!(servers
                .iter()
                .map(|s| json!({ "name": s.name, "address": s.address, "port": s.port, "weight": s.weight, "state": s.state }))
                .collect::<Vec<_>>()),
        );
        Ok(o)
    }

    /// A server's requests and failures, from `show stat`. A server's
    /// `hrsp_*` count only the answers the server itself gave: a refused or
    /// failed connection (`econ`) and a response error or abort (`eresp`)
    /// are answered by HAProxy (503, 502, 504) and never show there, so they
    /// are added to both the requests and the errors.
    fn sample(&self, req: SampleRequest) -> Result<Option<Sample>> {
        if req.type_name != "haproxy_backend" {
            return Ok(None);
        }
        let backend = s(req.state, "name");
        let generation = self.generation()?;
        let reply = self.call("show stat")?;
        let mut lines = reply.lines();
        let header: Vec<&str> = lines.next().unwrap_or_default().trim_start_matches("# ").split(',').collect();
        let col = |name: &str| header.iter().position(|h| *h == name);
        let status = col("status");
        let lines: Vec<&str> = lines.collect();
        // A rollout moves traffic by weight: an algorithm that ignores the
        // weights set at run time would leave it where it is (or all of it).
        if let (Some(px), Some(sv), Some(algo)) = (col("pxname"), col("svname"), col("algo")) {
            let algorithm = lines.iter().map(|l| l.split(',').collect::<Vec<_>>()).find_map(|f| {
                (f.get(px) == Some(&backend.as_str()) && f.get(sv) == Some(&"BACKEND"))
                    .then(|| f.get(algo).map(|a| a.to_string()))
                    .flatten()
            });
            if let Some(a) = algorithm.filter(|a| IGNORE_WEIGHTS.contains(&a.as_str())) {
                return Err(ProviderError::new("Static load-balancing algorithm", static_algorithm(&backend, &a)));
            }
        }
        let answers: Vec<Option<usize>> =
            ["hrsp_1xx", "hrsp_2xx", "hrsp_3xx", "hrsp_4xx", "hrsp_5xx", "hrsp_other"].iter().map(|h| col(h)).collect();
        let (Some(px), Some(sv), Some(req_tot), Some(e5), Some(econ), Some(eresp)) =
            (col("pxname"), col("svname"), col("req_tot"), col("hrsp_5xx"), col("econ"), col("eresp"))
        else {
            return Err(ProviderError::new(
                "Unexpected HAProxy statistics",
                "show stat has no req_tot, hrsp_5xx, econ or eresp column",
            ));
        };
        for line in lines {
            let f: Vec<&str> = line.split(',').collect();
            if f.get(px) == Some(&backend.as_str()) && f.get(sv) == Some(&req.target) {
                let n = |i: usize| f.get(i).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
                // UP (or going down but still up): may take traffic; DOWN,
                // MAINT, DRAIN, NOLB: not; no check: nothing tells.
                let healthy = status.and_then(|i| f.get(i)).and_then(|s| {
                    if s.starts_with("no check") {
                        None
                    } else {
                        Some(s.starts_with("UP"))
                    }
                });
                let answered: u64 = answers.iter().flatten().map(|i| n(*i)).sum();
                let failed = n(econ) + n(eresp);
                let response_ms = col("rtime").and_then(|i| f.get(i)).and_then(|v| v.parse::<f64>().ok());
                return Ok(Some(Sample {
                    requests: answered + failed,
                    errors: n(e5) + failed,
                    healthy,
                    response_ms,
                    responses: n(req_tot),
                    generation: Some(generation),
                }));
            }
        }
        Err(ProviderError::new(
            "No such server",
            format!("HAProxy's backend \"{backend}\" has no server \"{}\"", req.target),
        ))
    }

    fn isolate(&self, req: IsolateRequest) -> Result<bool> {
        if req.type_name != "haproxy_backend" {
            return Ok(false);
        }
        let backend = s(req.state, "name");
        // Maintenance takes no traffic at all, persistent sessions included
        // (weight 0 and drain still take those); ready undoes it.
        let state = if req.on { "maint" } else { "ready" };
        self.command(&format!("set server {backend}/{} state {state}", req.target), &[])?;
        Ok(true)
    }

    fn switch(&self, type_name: &str) -> Option<&dyn TrafficSwitch> {
        (type_name == "haproxy_backend").then_some(&BackendSwitch as &dyn TrafficSwitch)
    }

    fn import(&self, req: ImportRequest) -> Result<Object> {
        let found = match req.type_name {
            "haproxy_backend" => self.backend_object(req.id, None)?,
            "haproxy_server" => {
                let (b, n) = req.id.split_once('/').ok_or_else(|| {
                    ProviderError::new("Invalid import id", "A haproxy_server is imported as BACKEND/SERVER.")
                })?;
                self.server_object(b, n)?
            }
            t => return Err(ProviderError::new("Unknown resource type", t.to_string())),
        };
        found.ok_or_else(|| {
            ProviderError::new(
                "Cannot import a non-existent object",
                format!("HAProxy has no {} \"{}\".", req.type_name.trim_start_matches("haproxy_"), req.id),
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_backends_weights_are_its_weights_attribute_and_only_a_backend_is_a_switch() {
        let p = HaproxyProvider::new(Settings::default());
        assert!(p.switch("haproxy_server").is_none());
        let s = p.switch("haproxy_backend").unwrap();
        let attrs = json!({ "name": "app", "weights": { "blue": 100, "green": 0 } }).as_object().cloned().unwrap();
        assert_eq!(Value::Object(s.weights(&attrs).unwrap()), json!({ "blue": 100, "green": 0 }));
        let w = json!({ "blue": 50, "green": 50 }).as_object().cloned().unwrap();
        let out = s.with_weights(&attrs, &w);
        assert_eq!(Value::Object(out), json!({ "name": "app", "weights": { "blue": 50, "green": 50 } }));
        assert_eq!(s.weights_attribute(), "weights");
        assert_eq!(
            (s.max_weight(), s.metric_source().map(|m| (m.name, m.response_time))),
            (256, Some(("haproxy", true)))
        );
    }
}
