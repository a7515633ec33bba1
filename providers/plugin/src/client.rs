//! The gRPC client of one provider process: the calls of plugin protocol 5
//! or 6 (whichever the handshake settled on: the same messages under other
//! names, `Methods`), with values encoded and decoded by the schema the
//! provider gave. Calls are synchronous (the engine runs providers on
//! blocking threads) and driven on the client's own small tokio runtime.

use crate::cty::{Type, Value};
use crate::process::{Address, PluginProcess, StartOptions};
use crate::schema::ProviderSchema;
use crate::{msgpack, proto, proto6, Error};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;
use tonic::transport::{Channel, Endpoint};

/// hashicorp/aws's schema alone is tens of megabytes in one message.
const MAX_MESSAGE: usize = 512 * 1024 * 1024;
/// What the provider has to stop after it is asked to (go-plugin waits as long).
const STOP_GRACE: Duration = Duration::from_secs(2);

/// What Landform tells providers it is, where Terraform gives its version.
pub const TERRAFORM_VERSION: &str = "1.15.0";

/// The gRPC methods of one protocol version: version 6 renamed version 5's
/// calls and kept their messages (but for the schema's, `proto6`).
struct Methods {
    get_schema: &'static str,
    validate_provider: &'static str,
    validate_resource: &'static str,
    validate_data_source: &'static str,
    upgrade_resource_state: &'static str,
    configure: &'static str,
    read_resource: &'static str,
    plan_resource: &'static str,
    apply_resource: &'static str,
    import_resource: &'static str,
    read_data_source: &'static str,
    stop: &'static str,
}

const V5: Methods = Methods {
    get_schema: "/tfplugin5.Provider/GetSchema",
    validate_provider: "/tfplugin5.Provider/PrepareProviderConfig",
    validate_resource: "/tfplugin5.Provider/ValidateResourceTypeConfig",
    validate_data_source: "/tfplugin5.Provider/ValidateDataSourceConfig",
    upgrade_resource_state: "/tfplugin5.Provider/UpgradeResourceState",
    configure: "/tfplugin5.Provider/Configure",
    read_resource: "/tfplugin5.Provider/ReadResource",
    plan_resource: "/tfplugin5.Provider/PlanResourceChange",
    apply_resource: "/tfplugin5.Provider/ApplyResourceChange",
    import_resource: "/tfplugin5.Provider/ImportResourceState",
    read_data_source: "/tfplugin5.Provider/ReadDataSource",
    stop: "/tfplugin5.Provider/Stop",
};

const V6: Methods = Methods {
    get_schema: "/tfplugin6.Provider/GetProviderSchema",
    validate_provider: "/tfplugin6.Provider/ValidateProviderConfig",
    validate_resource: "/tfplugin6.Provider/ValidateResourceConfig",
    validate_data_source: "/tfplugin6.Provider/ValidateDataResourceConfig",
    upgrade_resource_state: "/tfplugin6.Provider/UpgradeResourceState",
    configure: "/tfplugin6.Provider/ConfigureProvider",
    read_resource: "/tfplugin6.Provider/ReadResource",
    plan_resource: "/tfplugin6.Provider/PlanResourceChange",
    apply_resource: "/tfplugin6.Provider/ApplyResourceChange",
    import_resource: "/tfplugin6.Provider/ImportResourceState",
    read_data_source: "/tfplugin6.Provider/ReadDataSource",
    stop: "/tfplugin6.Provider/StopProvider",
};

/// The plugin protocol versions Landform speaks, as it offers them.
pub const PROTOCOL_VERSIONS: [u32; 2] = [5, 6];

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Severity {
    Error,
    Warning,
}

/// A provider's diagnostic: an error or a warning, maybe about one attribute.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    pub severity: Severity,
    pub summary: String,
    pub detail: String,
    /// The attribute's path in Terraform's syntax (`ingress[0].from_port`).
    pub attribute: Option<String>,
}

impl std::fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.summary)?;
        if let Some(a) = &self.attribute {
            write!(f, " (at {a})")?;
        }
        if !self.detail.is_empty() {
            write!(f, ": {}", self.detail)?;
        }
        Ok(())
    }
}

/// An attribute path as Terraform writes it.
pub fn path_text(p: &proto::AttributePath) -> String {
    let mut out = String::new();
    for s in &p.steps {
        match &s.selector {
            Some(proto::Selector::AttributeName(n)) => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(n);
            }
            Some(proto::Selector::ElementKeyString(k)) => out.push_str(&format!("[{k:?}]")),
            Some(proto::Selector::ElementKeyInt(i)) => out.push_str(&format!("[{i}]")),
            None => {}
        }
    }
    out
}

fn diagnostics(ds: Vec<proto::Diagnostic>) -> Result<Vec<Diagnostic>, Error> {
    let ds: Vec<Diagnostic> = ds
        .into_iter()
        .map(|d| Diagnostic {
            severity: if d.severity == proto::Severity::Warning as i32 { Severity::Warning } else { Severity::Error },
            summary: d.summary,
            detail: d.detail,
            attribute: d.attribute.as_ref().map(path_text).filter(|p| !p.is_empty()),
        })
        .collect();
    if ds.iter().any(|d| d.severity == Severity::Error) {
        return Err(Error::Provider(ds));
    }
    Ok(ds)
}

/// What `pack_plan`'s bytes start with.
const PLAN_MAGIC: &[u8] = b"landform-plan-1\n";

/// A planned change, as the provider answered it.
#[derive(Clone, Debug)]
pub struct PlannedChange {
    /// The planned new state; unknown where only apply can tell.
    pub planned_state: Value,
    pub requires_replace: Vec<String>,
    /// Opaque to Landform: handed back to ApplyResourceChange.
    pub planned_private: Vec<u8>,
    pub legacy_type_system: bool,
    pub warnings: Vec<Diagnostic>,
}

/// A resource's new state after apply or read: `Null` when it is gone.
#[derive(Clone, Debug)]
pub struct NewState {
    pub state: Value,
    /// Opaque to Landform: stored with the state and handed back.
    pub private: Vec<u8>,
    pub warnings: Vec<Diagnostic>,
}

/// One running provider and its gRPC connection. Dropping it asks the
/// provider to shut down (go-plugin's controller), waits briefly, and kills
/// it if it has not exited.
pub struct PluginClient {
    channel: Channel,
    /// Taken in `drop`, to be shut down without blocking whatever thread drops it.
    runtime: Option<tokio::runtime::Runtime>,
    process: PluginProcess,
    schema: OnceLock<ProviderSchema>,
    schema_from_cache: OnceLock<bool>,
    /// The binary, for the schema cache's key.
    path: std::path::PathBuf,
    schema_cache: Option<std::path::PathBuf>,
    /// The cached schema, read while the provider starts (`cached_schema`).
    preloaded: Mutex<Option<std::thread::JoinHandle<Option<ProviderSchema>>>>,
    /// Held while the schema is first read or asked for: never twice at once.
    schema_init: Mutex<()>,
}

/// The schema the cache holds for `binary`, when the provider said it need
/// not be asked for (hashicorp/aws's takes a second or two to ask for, and
/// tenths to read: read while the provider starts).
fn cached_schema(dir: Option<&std::path::Path>, binary: &std::path::Path) -> Option<ProviderSchema> {
    let entry = dir.and_then(|d| crate::schema_cache::entry(d, binary))?;
    let cached = crate::schema_cache::load(&entry).filter(|r| {
        r.server_capabilities.as_ref().is_some_and(|c| c.get_provider_schema_optional) && r.provider.is_some()
    })?;
    ProviderSchema::from_proto(cached).ok()
}

impl PluginClient {
    /// Start the provider at `opts.path` and connect to it.
    pub fn start(opts: &StartOptions) -> Result<PluginClient, Error> {
        crate::process::check_executable(&opts.path)?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("landform-plugin")
            .enable_all()
            .build()
            .map_err(|e| Error::Start(format!("cannot start a runtime: {e}")))?;
        let preloaded = {
            let (dir, binary) = (opts.schema_cache.clone(), opts.path.clone());
            std::thread::Builder::new()
                .name("landform-schema".into())
                .spawn(move || cached_schema(dir.as_deref(), &binary))
                .ok()
        };
        let process = PluginProcess::start(opts)?;
        let channel = match (&process.handshake.server_cert, &process.client_cert) {
            (None, _) => {
                let uri = match &process.handshake.address {
                    Address::Unix(p) => format!("unix:{}", p.display()),
                    Address::Tcp(a) => format!("http://{a}"),
                };
                let endpoint = Endpoint::from_shared(uri.clone())
                    .map_err(|e| Error::Handshake(format!("bad address {uri}: {e}")))?
                    .connect_timeout(Duration::from_secs(10));
                block(&runtime, endpoint.connect())
            }
            (Some(server), Some(cert)) => {
                let config = crate::tls::client_config(cert, server.clone())?;
                let endpoint = Endpoint::from_static("http://localhost").connect_timeout(Duration::from_secs(10));
                block(
                    &runtime,
                    endpoint.connect_with_connector(tls_connector(process.handshake.address.clone(), config)),
                )
            }
            (Some(_), None) => {
                return Err(Error::Handshake("the plugin serves TLS, which Landform did not ask for".into()));
            }
        }
        .map_err(|e| Error::Handshake(format!("cannot connect to {}: {e}", process.name())))?;
        Ok(PluginClient {
            channel,
            runtime: Some(runtime),
            process,
            schema: OnceLock::new(),
            schema_from_cache: OnceLock::new(),
            path: opts.path.clone(),
            schema_cache: opts.schema_cache.clone(),
            preloaded: Mutex::new(preloaded),
            schema_init: Mutex::new(()),
        })
    }

    /// The operating system's id of the provider's process.
    pub fn pid(&self) -> u32 {
        self.process.id()
    }

    /// Whether the connection is TLS with client certificates (AutoMTLS).
    pub fn tls(&self) -> bool {
        self.process.handshake.server_cert.is_some()
    }

    /// Where the plugin listens.
    pub fn address(&self) -> &Address {
        &self.process.handshake.address
    }

    pub fn protocol_version(&self) -> u32 {
        self.process.handshake.protocol_version
    }

    fn methods(&self) -> &'static Methods {
        if self.protocol_version() == 6 {
            &V6
        } else {
            &V5
        }
    }

    /// The provider's last lines on stderr.
    pub fn stderr_tail(&self) -> Vec<String> {
        self.process.stderr_tail()
    }

    fn call<Req, Resp>(&self, method: &'static str, req: Req) -> Result<Resp, Error>
    where
        Req: prost::Message + Send + Sync + 'static,
        Resp: prost::Message + Default + Send + Sync + 'static,
    {
        let mut grpc = tonic::client::Grpc::new(self.channel.clone())
            .max_decoding_message_size(MAX_MESSAGE)
            .max_encoding_message_size(MAX_MESSAGE);
        let path = http::uri::PathAndQuery::from_static(method);
        let Some(rt) = &self.runtime else { return Err(Error::Rpc(format!("{method}: the client is closed"))) };
        let result = block(rt, async move {
            grpc.ready().await.map_err(|e| tonic::Status::unavailable(e.to_string()))?;
            grpc.unary(tonic::Request::new(req), path, tonic_prost::ProstCodec::default()).await
        });
        result.map(tonic::Response::into_inner).map_err(|s| {
            let tail = self.stderr_tail();
            let tail = if tail.is_empty() {
                String::new()
            } else {
                format!("; the provider's last lines on stderr:\n{}", tail.join("\n"))
            };
            Error::Rpc(format!("{method}: {}: {}{tail}", code_text(s.code()), s.message()))
        })
    }

    /// The provider's schema, asked for once, or read from the schema cache
    /// when the provider says it need not be asked.
    pub fn schema(&self) -> Result<&ProviderSchema, Error> {
        if let Some(s) = self.schema.get() {
            return Ok(s);
        }
        let _first = self.schema_init.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(s) = self.schema.get() {
            return Ok(s);
        }
        let preloaded = self.preloaded.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(schema) = preloaded.and_then(|h| h.join().ok()).flatten() {
            let _ = self.schema_from_cache.set(true);
            return Ok(self.schema.get_or_init(|| schema));
        }
        // Not in the cache (or the provider must be asked): asked, and kept there.
        let entry = self.schema_cache.as_deref().and_then(|d| crate::schema_cache::entry(d, &self.path));
        // Version 5's schema is read as version 6's (a subset), and kept so.
        let resp: proto6::GetProviderSchemaResponse = if self.protocol_version() == 6 {
            self.call(self.methods().get_schema, proto::Empty {})?
        } else {
            self.call::<_, proto::GetProviderSchemaResponse>(self.methods().get_schema, proto::Empty {})?.into()
        };
        diagnostics(resp.diagnostics.clone())?;
        if let Some(e) = &entry {
            crate::schema_cache::store(e, &resp);
        }
        let schema = ProviderSchema::from_proto(resp)?;
        let _ = self.schema_from_cache.set(false);
        Ok(self.schema.get_or_init(|| schema))
    }

    /// Whether the schema came from the on-disk cache (`None` before it is read).
    pub fn schema_from_cache(&self) -> Option<bool> {
        self.schema_from_cache.get().copied()
    }

    fn resource_type(&self, type_name: &str) -> Result<(Type, &crate::schema::Block), Error> {
        let s = self.schema()?.resource(type_name)?;
        Ok((s.block.implied_type(), &s.block))
    }

    /// A planned change as bytes that only this provider's plugin reads back
    /// (`unpack_plan`): its planned state, exactly as the provider answered
    /// it (unknowns at any depth), then its planned private data.
    pub fn pack_plan(&self, type_name: &str, plan: &PlannedChange) -> Result<Vec<u8>, Error> {
        let (ty, _) = self.resource_type(type_name)?;
        let state = msgpack::encode(&plan.planned_state, &ty)?;
        let mut out = Vec::with_capacity(PLAN_MAGIC.len() + 4 + state.len() + plan.planned_private.len());
        out.extend_from_slice(PLAN_MAGIC);
        out.extend_from_slice(
            &u32::try_from(state.len()).map_err(|_| Error::Value("planned state too large".into()))?.to_be_bytes(),
        );
        out.extend_from_slice(&state);
        out.extend_from_slice(&plan.planned_private);
        Ok(out)
    }

    /// The planned state and private data `pack_plan` packed; `None` for
    /// bytes it did not make.
    pub fn unpack_plan(&self, type_name: &str, bytes: &[u8]) -> Option<(Value, Vec<u8>)> {
        let rest = bytes.strip_prefix(PLAN_MAGIC)?;
        let (len, rest) = rest.split_first_chunk::<4>()?;
        let len = u32::from_be_bytes(*len) as usize;
        if rest.len() < len {
            return None;
        }
        let (state, private) = rest.split_at(len);
        let (ty, _) = self.resource_type(type_name).ok()?;
        Some((msgpack::decode(state, &ty).ok()?, private.to_vec()))
    }

    fn data_source(&self, type_name: &str) -> Result<&crate::schema::Schema, Error> {
        self.schema()?
            .data_sources
            .get(type_name)
            .ok_or_else(|| Error::Schema(format!("the provider has no data source {type_name:?}")))
    }

    fn dynamic(v: &Value, ty: &Type) -> Result<proto::DynamicValue, Error> {
        Ok(proto::DynamicValue { msgpack: msgpack::encode(v, ty)?, json: Vec::new() })
    }

    fn decode(v: Option<proto::DynamicValue>, ty: &Type) -> Result<Value, Error> {
        match v {
            None => Ok(Value::Null),
            Some(d) if !d.msgpack.is_empty() => msgpack::decode(&d.msgpack, ty),
            Some(d) if !d.json.is_empty() => {
                let j: serde_json::Value = serde_json::from_slice(&d.json)
                    .map_err(|e| Error::Value(format!("the provider's JSON value: {e}")))?;
                Ok(Value::from_json(&j))
            }
            Some(_) => Ok(Value::Null),
        }
    }

    /// Validate and configure the provider with its block's values.
    pub fn configure(&self, config: &Value) -> Result<Vec<Diagnostic>, Error> {
        let block = &self.schema()?.provider.block;
        let ty = block.implied_type();
        let config = block.conform(config);
        let prepared: proto::PrepareProviderConfigResponse = self.call(
            self.methods().validate_provider,
            proto::PrepareProviderConfigRequest { config: Some(Self::dynamic(&config, &ty)?) },
        )?;
        let mut warnings = diagnostics(prepared.diagnostics)?;
        let config = match prepared.prepared_config {
            Some(d) if !d.msgpack.is_empty() => Self::decode(Some(d), &ty)?,
            _ => config,
        };
        let resp: proto::DiagnosticsResponse = self.call(
            self.methods().configure,
            proto::ConfigureRequest {
                terraform_version: TERRAFORM_VERSION.into(),
                config: Some(Self::dynamic(&config, &ty)?),
                client_capabilities: Some(capabilities()),
            },
        )?;
        warnings.extend(diagnostics(resp.diagnostics)?);
        Ok(warnings)
    }

    /// The provider's own checks of a resource's configuration.
    pub fn validate_resource(&self, type_name: &str, config: &Value) -> Result<Vec<Diagnostic>, Error> {
        let (ty, block) = self.resource_type(type_name)?;
        let resp: proto::DiagnosticsResponse = self.call(
            self.methods().validate_resource,
            proto::ValidateConfigRequest {
                type_name: type_name.into(),
                config: Some(Self::dynamic(&block.conform(config), &ty)?),
                client_capabilities: Some(capabilities()),
            },
        )?;
        diagnostics(resp.diagnostics)
    }

    /// The provider's own checks of a data source's configuration.
    pub fn validate_data_source(&self, type_name: &str, config: &Value) -> Result<Vec<Diagnostic>, Error> {
        let block = &self.data_source(type_name)?.block;
        let resp: proto::DiagnosticsResponse = self.call(
            self.methods().validate_data_source,
            proto::ValidateConfigRequest {
                type_name: type_name.into(),
                config: Some(Self::dynamic(&block.conform(config), &block.implied_type())?),
                client_capabilities: Some(capabilities()),
            },
        )?;
        diagnostics(resp.diagnostics)
    }

    /// A state stored as JSON by the provider's schema `version`, brought
    /// to its current schema by the provider.
    pub fn upgrade_resource_state(&self, type_name: &str, version: i64, json: &[u8]) -> Result<NewState, Error> {
        let (ty, _) = self.resource_type(type_name)?;
        let resp: proto::UpgradeResourceStateResponse = self.call(
            self.methods().upgrade_resource_state,
            proto::UpgradeResourceStateRequest {
                type_name: type_name.into(),
                version,
                raw_state: Some(proto::RawState { json: json.to_vec(), flatmap: Default::default() }),
            },
        )?;
        let warnings = diagnostics(resp.diagnostics)?;
        Ok(NewState { state: Self::decode(resp.upgraded_state, &ty)?, private: Vec::new(), warnings })
    }

    /// Plan a change: `prior` Null to create, `config` Null to destroy.
    pub fn plan_resource(
        &self,
        type_name: &str,
        prior: &Value,
        config: &Value,
        prior_private: &[u8],
    ) -> Result<PlannedChange, Error> {
        let (ty, block) = self.resource_type(type_name)?;
        let config = if config.is_null() { Value::Null } else { block.conform(config) };
        // Destroying proposes nothing (Terraform's plan of a delete).
        let proposed =
            if config.is_null() { Value::Null } else { crate::objchange::proposed_new(block, prior, &config) };
        let resp: proto::PlanResourceChangeResponse = self.call(
            self.methods().plan_resource,
            proto::PlanResourceChangeRequest {
                type_name: type_name.into(),
                prior_state: Some(Self::dynamic(prior, &ty)?),
                proposed_new_state: Some(Self::dynamic(&proposed, &ty)?),
                config: Some(Self::dynamic(&config, &ty)?),
                prior_private: prior_private.to_vec(),
                provider_meta: None,
                client_capabilities: Some(capabilities()),
            },
        )?;
        let warnings = diagnostics(resp.diagnostics)?;
        Ok(PlannedChange {
            planned_state: Self::decode(resp.planned_state, &ty)?,
            requires_replace: resp.requires_replace.iter().map(path_text).collect(),
            planned_private: resp.planned_private,
            legacy_type_system: resp.legacy_type_system,
            warnings,
        })
    }

    /// Carry out a planned change; the new state is Null after a destroy.
    pub fn apply_resource(
        &self,
        type_name: &str,
        prior: &Value,
        planned: &Value,
        config: &Value,
        planned_private: &[u8],
    ) -> Result<NewState, Error> {
        let (ty, block) = self.resource_type(type_name)?;
        let config = if config.is_null() { Value::Null } else { block.conform(config) };
        let resp: proto::ApplyResourceChangeResponse = self.call(
            self.methods().apply_resource,
            proto::ApplyResourceChangeRequest {
                type_name: type_name.into(),
                prior_state: Some(Self::dynamic(prior, &ty)?),
                planned_state: Some(Self::dynamic(planned, &ty)?),
                config: Some(Self::dynamic(&config, &ty)?),
                planned_private: planned_private.to_vec(),
                provider_meta: None,
            },
        )?;
        let warnings = diagnostics(resp.diagnostics)?;
        let state = Self::decode(resp.new_state, &ty)?;
        if state.has_unknown() {
            return Err(Error::Value(format!(
                "the provider's new state of a {type_name} still has unknown values after apply"
            )));
        }
        Ok(NewState { state, private: resp.private, warnings })
    }

    /// Refresh: the resource as it is now; Null when it no longer exists.
    pub fn read_resource(&self, type_name: &str, state: &Value, private: &[u8]) -> Result<NewState, Error> {
        let (ty, _) = self.resource_type(type_name)?;
        let resp: proto::ReadResourceResponse = self.call(
            self.methods().read_resource,
            proto::ReadResourceRequest {
                type_name: type_name.into(),
                current_state: Some(Self::dynamic(state, &ty)?),
                private: private.to_vec(),
                provider_meta: None,
                client_capabilities: Some(capabilities()),
            },
        )?;
        let warnings = diagnostics(resp.diagnostics)?;
        Ok(NewState { state: Self::decode(resp.new_state, &ty)?, private: resp.private, warnings })
    }

    /// Read a data source.
    pub fn read_data_source(&self, type_name: &str, config: &Value) -> Result<NewState, Error> {
        let s = self.data_source(type_name)?;
        let ty = s.block.implied_type();
        let config = s.block.conform(config);
        let resp: proto::ReadDataSourceResponse = self.call(
            self.methods().read_data_source,
            proto::ReadDataSourceRequest {
                type_name: type_name.into(),
                config: Some(Self::dynamic(&config, &ty)?),
                provider_meta: None,
                client_capabilities: Some(capabilities()),
            },
        )?;
        let warnings = diagnostics(resp.diagnostics)?;
        Ok(NewState { state: Self::decode(resp.state, &ty)?, private: Vec::new(), warnings })
    }

    /// Import an existing object by its id, then read it (as Terraform does).
    pub fn import_resource(&self, type_name: &str, id: &str) -> Result<NewState, Error> {
        let (ty, _) = self.resource_type(type_name)?;
        let resp: proto::ImportResourceStateResponse = self.call(
            self.methods().import_resource,
            proto::ImportResourceStateRequest {
                type_name: type_name.into(),
                id: id.into(),
                client_capabilities: Some(capabilities()),
            },
        )?;
        let mut warnings = diagnostics(resp.diagnostics)?;
        let Some(imported) = resp.imported_resources.into_iter().find(|r| r.type_name == type_name) else {
            return Err(Error::Value(format!("the provider imported no {type_name} for the id {id:?}")));
        };
        let state = Self::decode(imported.state, &ty)?;
        let mut read = self.read_resource(type_name, &state, &imported.private)?;
        if read.state.is_null() {
            return Err(Error::Value(format!(
                "Cannot import non-existent remote object: no {type_name} has the id {id:?}"
            )));
        }
        warnings.append(&mut read.warnings);
        read.warnings = warnings;
        Ok(read)
    }

    /// Ask the provider to cancel what it is doing (on interrupt).
    pub fn stop(&self) -> Result<(), Error> {
        let resp: proto::StopResponse = self.call(self.methods().stop, proto::Empty {})?;
        if resp.error.is_empty() {
            Ok(())
        } else {
            Err(Error::Rpc(format!("Stop: {}", resp.error)))
        }
    }
}

impl Drop for PluginClient {
    fn drop(&mut self) {
        if !self.process.exited() {
            // go-plugin's controller: the plugin shuts its server down and exits.
            let _ = self.call::<proto::Empty, proto::Empty>("/plugin.GRPCController/Shutdown", proto::Empty {});
            self.process.stop(STOP_GRACE);
        }
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
    }
}

/// A byte stream to the plugin: a unix socket or loopback TCP.
trait Io: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send {}
impl<T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send> Io for T {}

/// Connections to the plugin's address, in TLS with its pinned certificate.
fn tls_connector(
    address: Address,
    config: std::sync::Arc<rustls::ClientConfig>,
) -> impl tower::Service<
    http::Uri,
    Response = hyper_util::rt::TokioIo<tokio_rustls::client::TlsStream<Box<dyn Io>>>,
    Error = std::io::Error,
    Future = impl Send,
> + Send
       + 'static {
    let tls = tokio_rustls::TlsConnector::from(config);
    tower::service_fn(move |_: http::Uri| {
        let (tls, address) = (tls.clone(), address.clone());
        async move {
            let io: Box<dyn Io> = match &address {
                Address::Unix(p) => Box::new(tokio::net::UnixStream::connect(p).await?),
                Address::Tcp(a) => Box::new(tokio::net::TcpStream::connect(a.as_str()).await?),
            };
            let name = rustls::pki_types::ServerName::try_from("localhost").expect("a valid name");
            Ok(hyper_util::rt::TokioIo::new(tls.connect(name, io).await?))
        }
    })
}

fn capabilities() -> proto::ClientCapabilities {
    proto::ClientCapabilities { deferral_allowed: false, write_only_attributes_allowed: false }
}

fn code_text(c: tonic::Code) -> &'static str {
    match c {
        tonic::Code::Unavailable => "the provider is not answering (did it crash?)",
        tonic::Code::Unimplemented => "the provider does not implement this call",
        tonic::Code::ResourceExhausted => "a message was too large",
        tonic::Code::DeadlineExceeded => "timed out",
        _ => "gRPC error",
    }
}

/// Drive a future on the client's runtime from synchronous code, whether or
/// not the caller is itself on a tokio runtime's thread.
fn block<F: std::future::Future>(rt: &tokio::runtime::Runtime, f: F) -> F::Output {
    match tokio::runtime::Handle::try_current() {
        Ok(h) if h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(|| rt.block_on(f))
        }
        _ => rt.block_on(f),
    }
}
