//! The `aws` provider: Application Load Balancer resources (ELBv2) on the
//! official AWS SDK for Rust.
//!
//! The provider trait is synchronous; the SDK is async. The provider owns one
//! small tokio runtime and drives each SDK call to completion on it. The
//! engine calls providers from plain or blocking threads (plan, refresh,
//! apply's jobs); where a call comes from inside another runtime's worker (a
//! data source read by apply's coordinator), it is wrapped in
//! `block_in_place`, so no runtime is ever entered from inside another. The
//! SDK client is built on first use, so `validate` and plans of other
//! providers never need AWS credentials.

mod data;
mod lb;
mod listener;
mod schema;
mod switch;
mod values;

use aws_sdk_elasticloadbalancingv2 as elb;
use landform_provider::{
    default_plan, ApplyRequest, ApplyResponse, ImportRequest, Object, PlanRequest, PlanResponse, Provider,
    ProviderError, ProviderSchema, ReadDataRequest, ReadRequest, ReadResponse, Result, Sample, SampleRequest,
    TrafficSwitch, ValidateRequest,
};
use std::sync::OnceLock;

/// The `provider "aws" { ... }` block.
#[derive(Clone, Debug, Default)]
pub struct Settings {
    pub region: Option<String>,
    pub profile: Option<String>,
    /// An endpoint for every service (a local emulator); else `AWS_ENDPOINT_URL` or AWS's own.
    pub endpoint: Option<String>,
}

impl Settings {
    /// From the provider block's evaluated arguments.
    pub fn from_config(config: &Object) -> Settings {
        let s = |k: &str| config.get(k).and_then(|v| v.as_str()).filter(|s| !s.is_empty()).map(String::from);
        Settings { region: s("region"), profile: s("profile"), endpoint: s("endpoint") }
    }
}

pub struct AwsProvider {
    schema: ProviderSchema,
    settings: Settings,
    runtime: OnceLock<std::result::Result<tokio::runtime::Runtime, String>>,
    config: OnceLock<aws_config::SdkConfig>,
    client: OnceLock<elb::Client>,
    cloudwatch: OnceLock<aws_sdk_cloudwatch::Client>,
}

impl AwsProvider {
    pub fn new(settings: Settings) -> AwsProvider {
        AwsProvider {
            schema: schema::schema(),
            settings,
            runtime: OnceLock::new(),
            config: OnceLock::new(),
            client: OnceLock::new(),
            cloudwatch: OnceLock::new(),
        }
    }

    /// Drive a future to completion on the provider's runtime.
    fn run<F: std::future::Future>(&self, f: F) -> Result<F::Output> {
        let rt = self
            .runtime
            .get_or_init(|| {
                tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .thread_name("landform-aws")
                    .enable_all()
                    .build()
                    .map_err(|e| e.to_string())
            })
            .as_ref()
            .map_err(|e| ProviderError::new("Cannot start the AWS provider", e.clone()))?;
        Ok(if tokio::runtime::Handle::try_current().is_ok() {
            tokio::task::block_in_place(|| rt.block_on(f))
        } else {
            rt.block_on(f)
        })
    }

    /// The ELBv2 client: credentials and region through aws-config's standard
    /// chain (environment, profile, SSO, IMDS), retries with backoff on
    /// throttling and 5xx through the SDK's standard retry mode.
    fn client(&self) -> Result<&elb::Client> {
        if let Some(c) = self.client.get() {
            return Ok(c);
        }
        let config = self.sdk_config()?;
        Ok(self.client.get_or_init(|| elb::Client::new(config)))
    }

    /// The CloudWatch client, for rollouts' `cloudwatch` metrics.
    fn cloudwatch(&self) -> Result<&aws_sdk_cloudwatch::Client> {
        if let Some(c) = self.cloudwatch.get() {
            return Ok(c);
        }
        let config = self.sdk_config()?;
        Ok(self.cloudwatch.get_or_init(|| aws_sdk_cloudwatch::Client::new(config)))
    }

    fn sdk_config(&self) -> Result<&aws_config::SdkConfig> {
        if let Some(c) = self.config.get() {
            return Ok(c);
        }
        let settings = self.settings.clone();
        let config = self.run(async move {
            let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest())
                .retry_config(aws_config::retry::RetryConfig::standard().with_max_attempts(5));
            if let Some(r) = settings.region {
                loader = loader.region(aws_config::Region::new(r));
            }
            if let Some(p) = settings.profile {
                loader = loader.profile_name(p);
            }
            if let Some(e) = settings.endpoint {
                loader = loader.endpoint_url(e);
            }
            loader.load().await
        })?;
        if config.region().is_none() {
            return Err(ProviderError::new(
                "No AWS region",
                "Set region in the provider \"aws\" block, or the AWS_REGION environment variable, or a region in your AWS profile.",
            ));
        }
        Ok(self.config.get_or_init(|| config))
    }

    /// A target group's requests and 5xx answers behind a load balancer, as
    /// CloudWatch sums them (AWS/ApplicationELB RequestCount and
    /// HTTPCode_Target_5XX_Count over the last three hours): counters whose
    /// difference between two samples is the traffic in between.
    fn counts(&self, switch: &Object, target_group: &str) -> Result<(u64, u64)> {
        use aws_sdk_cloudwatch::types::{Dimension, Statistic};
        // app/NAME/ID from the listener's or rule's ARN; targetgroup/NAME/ID from the group's.
        let arn = switch.get("arn").and_then(|v| v.as_str()).unwrap_or_default();
        let lb = arn.split('/').skip(1).take(3).collect::<Vec<_>>().join("/");
        let tg = target_group.rsplit(':').next().unwrap_or_default().to_string();
        let cw = self.cloudwatch()?.clone();
        let now = std::time::SystemTime::now();
        let sum = |metric: &'static str| {
            let (cw, lb, tg) = (cw.clone(), lb.clone(), tg.clone());
            async move {
                let out = cw
                    .get_metric_statistics()
                    .namespace("AWS/ApplicationELB")
                    .metric_name(metric)
                    .dimensions(Dimension::builder().name("TargetGroup").value(tg).build())
                    .dimensions(Dimension::builder().name("LoadBalancer").value(lb).build())
                    .start_time((now - std::time::Duration::from_secs(3 * 3600)).into())
                    .end_time((now + std::time::Duration::from_secs(60)).into())
                    .period(60)
                    .statistics(Statistic::Sum)
                    .send()
                    .await
                    .map_err(|e| aws_error("GetMetricStatistics", e))?;
                Ok::<u64, ProviderError>(out.datapoints().iter().filter_map(|d| d.sum()).sum::<f64>().max(0.0) as u64)
            }
        };
        let requests = self.run(sum("RequestCount"))??;
        let errors = self.run(sum("HTTPCode_Target_5XX_Count"))??;
        Ok((requests, errors))
    }
}

/// An SDK error as a provider error naming the operation, AWS's error code and its message.
pub(crate) fn aws_error<E, R>(op: &str, e: elb::error::SdkError<E, R>) -> ProviderError
where
    E: elb::error::ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug + 'static,
{
    use elb::error::ProvideErrorMetadata;
    match (e.code(), e.message()) {
        (Some(code), Some(msg)) => ProviderError::new(format!("AWS {op} failed"), format!("{code}: {msg}")),
        (Some(code), None) => ProviderError::new(format!("AWS {op} failed"), code.to_string()),
        _ => ProviderError::new(format!("AWS {op} failed"), error_chain(&e)),
    }
}

/// An error and its sources in words, each said once, with what to do for
/// the failures a user can fix (no credentials, an endpoint that does not answer).
fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut next = Some(e);
    while let Some(err) = next {
        let text = err.to_string();
        if !text.is_empty() && !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        next = err.source();
    }
    let mut out = parts.join(": ");
    if out.contains("no credentials found") || out.contains("CredentialsNotLoaded") {
        out.push_str("\n\nGive AWS credentials through the environment (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY), a profile (AWS_PROFILE, or profile in the provider \"aws\" block), SSO (aws sso login) or an instance role.");
    } else if out.contains("Connection refused") || out.contains("dns error") || out.contains("timed out") {
        out.push_str("\n\nThe AWS endpoint could not be reached: check the network, or the endpoint in the provider \"aws\" block (or AWS_ENDPOINT_URL) when using an emulator.");
    }
    out
}

/// Whether an SDK error says the object does not exist.
pub(crate) fn not_found<E, R>(e: &elb::error::SdkError<E, R>) -> bool
where
    E: elb::error::ProvideErrorMetadata,
{
    use elb::error::ProvideErrorMetadata;
    e.code().is_some_and(|c| c.ends_with("NotFound") || c.ends_with("NotFoundException"))
}

impl Provider for AwsProvider {
    fn name(&self) -> &'static str {
        "aws"
    }

    fn schema(&self) -> &ProviderSchema {
        &self.schema
    }

    fn validate(&self, req: ValidateRequest) -> Vec<ProviderError> {
        values::validate(req.type_name, req.config)
    }

    fn plan(&self, req: PlanRequest) -> Result<PlanResponse> {
        let schema = self.schema.resource(req.type_name)?;
        Ok(default_plan(schema, &req))
    }

    fn apply(&self, req: ApplyRequest) -> Result<ApplyResponse> {
        let client = self.client()?;
        let t = req.type_name;
        let state = match (req.prior, req.config) {
            (None, Some(config)) => Some(self.run(lb::create(client, t, config))??),
            (Some(prior), Some(config)) => Some(self.run(lb::update(client, t, prior, config))??),
            (Some(prior), None) => {
                self.run(lb::delete(client, t, prior))??;
                None
            }
            (None, None) => None,
        };
        Ok(ApplyResponse { state, ..ApplyResponse::default() })
    }

    fn read(&self, req: ReadRequest) -> Result<ReadResponse> {
        let client = self.client()?;
        match self.run(lb::read(client, req.type_name, req.prior))?? {
            None => Ok(ReadResponse::Gone),
            Some(now) if values::same(&now, req.prior) => Ok(ReadResponse::Unchanged),
            Some(now) => Ok(ReadResponse::Changed(now)),
        }
    }

    /// An object an interrupted apply may have created: found by what AWS
    /// keeps unique (a name, a port, a priority), so the next apply adopts it
    /// rather than failing on a duplicate or making a second one.
    fn adopt(&self, req: ReadRequest) -> Result<ReadResponse> {
        let client = self.client()?;
        let Some(id) = self.run(lb::find(client, req.type_name, req.prior))?? else { return Ok(ReadResponse::Gone) };
        let mut prior = req.prior.clone();
        prior.insert("id".into(), serde_json::json!(id));
        Ok(match self.run(lb::read(client, req.type_name, &prior))?? {
            Some(now) => ReadResponse::Changed(now),
            None => ReadResponse::Gone,
        })
    }

    fn read_data(&self, req: ReadDataRequest) -> Result<Object> {
        let client = self.client()?;
        self.run(data::read(client, req.type_name, req.config))?
    }

    /// A rollout's target group behind a listener switch: healthy when at
    /// least one registered target is (an ALB answers 503 for a group with
    /// none), from DescribeTargetHealth; its requests and 5xx answers from
    /// CloudWatch when counts are wanted.
    fn sample(&self, req: SampleRequest) -> Result<Option<Sample>> {
        if !req.type_name.starts_with("aws_lb_listener") {
            return Ok(None);
        }
        let client = self.client()?;
        let out = self
            .run(client.describe_target_health().target_group_arn(req.target).send())?
            .map_err(|e| aws_error("DescribeTargetHealth", e))?;
        let healthy = out
            .target_health_descriptions()
            .iter()
            .any(|d| d.target_health().and_then(|h| h.state()).is_some_and(|s| s.as_str() == "healthy"));
        let (requests, errors) = if req.counts { self.counts(req.state, req.target)? } else { (0, 0) };
        Ok(Some(Sample { requests, errors, healthy: Some(healthy), response_ms: None, responses: 0, generation: None }))
    }

    fn switch(&self, type_name: &str) -> Option<&dyn TrafficSwitch> {
        match type_name {
            "aws_lb_listener" => Some(&switch::LISTENER),
            "aws_lb_listener_rule" => Some(&switch::RULE),
            _ => None,
        }
    }

    fn import(&self, req: ImportRequest) -> Result<Object> {
        let client = self.client()?;
        let prior = lb::import_prior(req.type_name, req.id)?;
        match self.run(lb::read(client, req.type_name, &prior))?? {
            Some(now) => Ok(now),
            None => Err(ProviderError::new(
                "Cannot import a non-existent object",
                format!("AWS has no {} with the id {}.", req.type_name, req.id),
            )),
        }
    }
}
