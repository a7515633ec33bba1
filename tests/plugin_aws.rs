//! A `.lf` configuration that requires hashicorp/aws: the real `landform`
//! binary finds the provider in the Terraform filesystem mirror, runs it as a
//! plugin, and plans, applies, re-plans, updates and destroys an `aws_vpc`
//! against moto's server; boto3 checks each step, and no provider process
//! outlives a command.

mod common;
#[path = "../providers/plugin/tests/common/mod.rs"]
mod plugin;

use common::{text, Fixture};
use plugin::{processes_marked, Moto};

fn config(moto: &Moto, cidr: &str, name: &str) -> String {
    format!(
        r#"terraform {{
  required_providers {{
    aws = {{ source = "hashicorp/aws" }}
  }}
}}

provider "aws" {{
  region                      = "us-east-1"
  access_key                  = "testing"
  secret_key                  = "testing"
  skip_credentials_validation = true
  skip_requesting_account_id  = true
  skip_metadata_api_check     = true
  endpoints {{
    ec2 = "{url}"
    sts = "{url}"
  }}
}}

resource "aws_vpc" "main" {{
  cidr_block = "{cidr}"
  tags = {{ Name = "{name}" }}
}}
"#,
        url = moto.url
    )
}

struct Run<'a> {
    f: &'a Fixture,
    mark: String,
}

impl Run<'_> {
    /// Run landform with the mirror and a mark every process it starts inherits.
    fn run(&self, args: &[&str]) -> std::process::Output {
        let mut c = self.f.cmd(args);
        c.env("LANDFORM_PLUGIN_MIRROR", plugin::mirror())
            .env("LANDFORM_PLUGIN_CACHE_DIR", self.f.path(".schema-cache"))
            .env("LANDFORM_TEST_MARK", &self.mark);
        let out = c.stdin(std::process::Stdio::null()).output().unwrap();
        let left = processes_marked("LANDFORM_TEST_MARK", &self.mark);
        assert!(
            left.is_empty(),
            "landform {args:?} left processes behind: {:?}",
            left.iter().map(|p| plugin::ps_lines(*p)).collect::<Vec<_>>()
        );
        out
    }

    fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert_eq!(out.status.code(), Some(0), "landform {args:?}:\n{}\n{}", text(&out.stdout), text(&out.stderr));
        text(&out.stdout)
    }
}

fn vpcs(moto: &Moto) -> serde_json::Value {
    moto.py("out = {v['VpcId']: {'cidr': v['CidrBlock'], 'tags': {t['Key']: t['Value'] for t in v.get('Tags', [])}} for v in ec2.describe_vpcs()['Vpcs'] if not v['IsDefault']}")
}

#[test]
fn an_aws_vpc_through_the_hashicorp_aws_plugin_plans_applies_updates_and_destroys() {
    plugin::aws_provider();
    let moto = Moto::start();
    let f = Fixture::new("plugin-aws-vpc", &config(&moto, "10.3.0.0/16", "landform"));
    let r = Run { f: &f, mark: format!("plugin-aws-{}", std::process::id()) };

    let plan = r.ok(&["plan"]);
    assert!(plan.contains("# aws_vpc.main will be created"), "{plan}");
    assert!(plan.contains("+ cidr_block") && plan.contains("\"10.3.0.0/16\""), "{plan}");
    // Computed by the provider, unknown until apply.
    assert!(plan.contains("+ arn") && plan.contains("(known after apply)"), "{plan}");
    assert!(plan.contains("Plan: 1 to add, 0 to change, 0 to destroy."), "{plan}");
    assert_eq!(vpcs(&moto), serde_json::json!({}), "plan changes nothing");

    let out = r.ok(&["apply", "--auto-approve"]);
    assert!(out.contains("Apply complete! Resources: 1 added"), "{out}");
    let v = vpcs(&moto);
    let ids: Vec<&String> = v.as_object().unwrap().keys().collect();
    assert_eq!(ids.len(), 1, "{v}");
    let id = ids[0].clone();
    assert_eq!(v[&id]["cidr"], "10.3.0.0/16");
    assert_eq!(v[&id]["tags"]["Name"], "landform");
    let state = r.ok(&["state", "show", "aws_vpc.main"]);
    assert!(state.contains(&id), "{state}");

    let again = r.ok(&["plan"]);
    assert!(again.contains("No changes."), "{again}");

    f.write(&config(&moto, "10.3.0.0/16", "renamed"));
    let out = r.ok(&["apply", "--auto-approve"]);
    assert!(out.contains("~ tags.Name") || out.contains("~ tags"), "{out}");
    assert!(out.contains("0 added, 1 changed, 0 destroyed"), "{out}");
    let v = vpcs(&moto);
    assert_eq!(v[&id]["tags"]["Name"], "renamed", "updated in place: {v}");

    f.write(&config(&moto, "10.4.0.0/16", "renamed"));
    let replan = r.ok(&["plan"]);
    assert!(replan.contains("must be replaced") && replan.contains("# forces replacement"), "{replan}");

    let out = r.ok(&["destroy", "--auto-approve"]);
    assert!(out.contains("Destroy complete! Resources: 1 destroyed."), "{out}");
    assert_eq!(vpcs(&moto), serde_json::json!({}));
}

#[test]
fn a_value_the_provider_rejects_is_an_error_at_its_line_with_exit_1() {
    plugin::aws_provider();
    let moto = Moto::start();
    let f = Fixture::new("plugin-aws-bad-cidr", &config(&moto, "not-a-cidr", "x"));
    let r = Run { f: &f, mark: format!("plugin-aws-bad-{}", std::process::id()) };
    let out = r.run(&["plan"]);
    let all = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(1), "{all}");
    assert!(all.contains("aws_vpc.main") && all.contains("cidr_block"), "{all}");
}

#[test]
fn an_interrupt_stops_landform_and_its_provider_process() {
    plugin::aws_provider();
    let moto = Moto::start();
    let f = Fixture::new("plugin-aws-interrupt", &config(&moto, "10.5.0.0/16", "x"));
    let mark = format!("plugin-aws-int-{}", std::process::id());
    let mut child = f
        .cmd(&["plan"])
        .env("LANDFORM_PLUGIN_MIRROR", plugin::mirror())
        .env("LANDFORM_PLUGIN_CACHE_DIR", f.path(".schema-cache"))
        .env("LANDFORM_TEST_MARK", &mark)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Wait for the provider to be running (its process carries the mark too).
    let start = std::time::Instant::now();
    let provider = loop {
        let marked: Vec<u32> =
            processes_marked("LANDFORM_TEST_MARK", &mark).into_iter().filter(|p| *p != child.id()).collect();
        if let Some(p) = marked.first() {
            break *p;
        }
        assert!(start.elapsed() < std::time::Duration::from_secs(60), "no provider process started");
        assert!(child.try_wait().unwrap().is_none(), "landform ended before its provider started");
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    assert!(plugin::ps_lines(provider)[0].contains("terraform-provider-aws"), "{:?}", plugin::ps_lines(provider));
    std::process::Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(130), "{status}");
    // Landform killed it before exiting: it is gone or a zombie now, not
    // running on as an orphan (which would die later, if at all, of a
    // broken pipe on its next log line).
    let stat = std::fs::read_to_string(format!("/proc/{provider}/stat")).unwrap_or_default();
    let state = stat.rsplit_once(')').and_then(|(_, r)| r.split_whitespace().next()).unwrap_or("gone").to_string();
    assert!(state == "gone" || state == "Z" || state == "X", "the provider is in state {state} after landform exited");
    // Give the kernel a moment to reap it through init.
    let start = std::time::Instant::now();
    while plugin::process_exists(provider) && start.elapsed() < std::time::Duration::from_secs(5) {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let left = processes_marked("LANDFORM_TEST_MARK", &mark);
    assert!(left.is_empty(), "{:?}", left.iter().map(|p| plugin::ps_lines(*p)).collect::<Vec<_>>());
}
