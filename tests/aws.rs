//! The aws provider end to end: the real `landform` binary against moto's
//! standalone server, which speaks the real ELBv2 and EC2 query APIs on
//! loopback. Each test starts its own server on a free port; the VPC and
//! subnets are made through the EC2 API with boto3 (a fixture, not part of
//! the provider), and the tests look at what AWS holds the same way.
//!
//! moto lives in a virtualenv that `scripts/test` installs
//! (`target/test-venv`, or `LANDFORM_TEST_VENV`); without it these tests fail.

mod common;

use common::{answering, text, Fixture, WEIGHTS_BY_NAME};
use serde_json::Value;
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

fn venv() -> PathBuf {
    let dir = std::env::var_os("LANDFORM_TEST_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/test-venv"));
    assert!(
        dir.join("bin/python").exists(),
        "moto is not installed in {}: run scripts/test, which installs moto[server] into that virtualenv",
        dir.display()
    );
    dir
}

/// moto's server on a free loopback port, with a VPC and two subnets.
struct Moto {
    child: Child,
    url: String,
    vpc: String,
    subnets: Vec<String>,
}

impl Moto {
    fn start() -> Moto {
        // Tests run in parallel: a free port can be taken by another server
        // between the check and moto's bind, so a server that exits is retried.
        let (child, url) = (0..5)
            .find_map(|_| {
                let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
                let mut child = Command::new(venv().join("bin/python"))
                    .args(["-m", "moto.server", "-H", "127.0.0.1", "-p", &port.to_string()])
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .spawn()
                    .expect("moto starts");
                let start = Instant::now();
                let mut up = false;
                while start.elapsed() < Duration::from_secs(30) && child.try_wait().ok().flatten().is_none() {
                    if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                        std::thread::sleep(Duration::from_millis(200));
                        up = child.try_wait().ok().flatten().is_none();
                        break;
                    }
                    std::thread::sleep(Duration::from_millis(100));
                }
                if up {
                    return Some((child, format!("http://127.0.0.1:{port}")));
                }
                let _ = child.kill();
                let _ = child.wait();
                None
            })
            .expect("moto's server starts on a free port");
        let mut m = Moto { child, url, vpc: String::new(), subnets: Vec::new() };
        let net = m.py(r#"
vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
a = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.1.0/24", AvailabilityZone="us-east-1a")["Subnet"]["SubnetId"]
b = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.2.0/24", AvailabilityZone="us-east-1b")["Subnet"]["SubnetId"]
out = {"vpc": vpc, "subnets": [a, b]}
"#);
        m.vpc = net["vpc"].as_str().unwrap().to_string();
        m.subnets = net["subnets"].as_array().unwrap().iter().map(|s| s.as_str().unwrap().to_string()).collect();
        m
    }

    /// Run Python with `elb` and `ec2` boto3 clients bound to this server; returns `out` as JSON.
    fn py(&self, code: &str) -> Value {
        let script = format!(
            "import boto3, json\nkw = dict(endpoint_url={url:?}, region_name='us-east-1', aws_access_key_id='testing', aws_secret_access_key='testing')\nelb = boto3.client('elbv2', **kw)\nec2 = boto3.client('ec2', **kw)\nout = None\n{code}\nprint(json.dumps(out, default=str))\n",
            url = self.url
        );
        let o = Command::new(venv().join("bin/python")).arg("-c").arg(script).output().unwrap();
        assert!(o.status.success(), "python failed: {}", text(&o.stderr));
        serde_json::from_slice(&o.stdout).unwrap()
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn example(name: &str) -> Fixture {
    let f = Fixture::new(name, "");
    let text =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/examples/aws-blue-green/main.lf")).unwrap();
    f.write(&text);
    f
}

/// Run landform with the example's variables in the environment (as
/// LANDFORM_VAR_name), so that every command, drift included, sees them.
fn run(f: &Fixture, args: &[&str], m: &Moto) -> Output {
    run_with(f.cmd(args), m)
}

fn run_with(mut cmd: Command, m: &Moto) -> Output {
    cmd.env("LANDFORM_VAR_endpoint", &m.url)
        .env("LANDFORM_VAR_vpc_id", &m.vpc)
        .env("LANDFORM_VAR_subnet_ids", serde_json::to_string(&m.subnets).unwrap())
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env_remove("AWS_PROFILE")
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn ok(f: &Fixture, args: &[&str], m: &Moto) -> String {
    let out = run(f, args, m);
    assert_eq!(out.status.code(), Some(0), "landform {args:?}:\n{}\n{}", text(&out.stdout), text(&out.stderr));
    text(&out.stdout)
}

const WEIGHTS: &str = r#"
lb = elb.describe_load_balancers()["LoadBalancers"]
out = []
for l in lb:
    for li in elb.describe_listeners(LoadBalancerArn=l["LoadBalancerArn"])["Listeners"]:
        for a in li["DefaultActions"]:
            out.append(sorted(g["Weight"] for g in a["ForwardConfig"]["TargetGroups"]))
"#;

#[test]
fn blue_green_applies_replans_clean_shifts_weights_in_place_and_destroys_everything() {
    let m = Moto::start();
    let f = example("aws-bg");
    let applied = ok(&f, &["apply", "--auto-approve"], &m);
    assert!(applied.contains("Apply complete! Resources: 4 added, 0 changed, 0 destroyed."), "{applied}");
    assert_eq!(m.py(WEIGHTS), serde_json::json!([[0, 100]]));
    // A second plan: nothing to do.
    let again = run(&f, &["plan", "--detailed-exitcode"], &m);
    assert_eq!(again.status.code(), Some(0), "{}{}", text(&again.stdout), text(&again.stderr));
    // New weights: an in-place update of the listener alone.
    let shift = ["--var", "blue_weight=75", "--var", "green_weight=25"];
    let plan = ok(&f, &[&["plan"][..], &shift].concat(), &m);
    assert!(plan.contains("Plan: 0 to add, 1 to change, 0 to destroy."), "{plan}");
    assert!(plan.contains("# aws_lb_listener.http will be updated in-place"), "{plan}");
    assert!(plan.contains("~ default_action[0].forward.target_group[0].weight = 100 -> 75"), "{plan}");
    assert!(plan.contains("~ default_action[0].forward.target_group[1].weight = 0 -> 25"), "{plan}");
    ok(&f, &[&["apply", "--auto-approve"][..], &shift].concat(), &m);
    assert_eq!(m.py(WEIGHTS), serde_json::json!([[25, 75]]));
    let again = run(&f, &[&["plan", "--detailed-exitcode"][..], &shift].concat(), &m);
    assert_eq!(again.status.code(), Some(0), "{}", text(&again.stdout));
    // Destroy leaves no load balancer, listener or target group behind.
    let destroyed = ok(&f, &[&["destroy", "--auto-approve"][..], &shift].concat(), &m);
    assert!(destroyed.contains("Resources: 4 destroyed."), "{destroyed}");
    let left = m.py(
        "out = [len(elb.describe_load_balancers()['LoadBalancers']), len(elb.describe_target_groups()['TargetGroups'])]",
    );
    assert_eq!(left, serde_json::json!([0, 0]));
}

/// Issue 10's first Done-means item for the AWS example: it applies, re-plans
/// clean and destroys with its state in PostgreSQL, encrypted, and no row
/// holds an ARN in plain text.
#[test]
fn the_example_applies_replans_clean_and_destroys_with_its_state_in_postgresql() {
    let pg = common::postgres::Postgres::start();
    let m = Moto::start();
    let f = example("aws-pg");
    std::fs::write(f.path("state.key"), "7f".repeat(32)).unwrap();
    let on_pg = |args: &[&str]| {
        let mut c = f.cmd(args);
        c.env("LANDFORM_BACKEND_URL", &pg.url).env("LANDFORM_STATE_KEY_FILE", f.path("state.key"));
        run_with(c, &m)
    };
    let out = on_pg(&["apply", "--auto-approve"]);
    assert_eq!(out.status.code(), Some(0), "{}{}", text(&out.stdout), text(&out.stderr));
    assert!(text(&out.stdout).contains("Resources: 4 added"), "{}", text(&out.stdout));
    assert_eq!(m.py(WEIGHTS), serde_json::json!([[0, 100]]));
    let again = on_pg(&["plan", "--detailed-exitcode"]);
    assert_eq!(again.status.code(), Some(0), "{}{}", text(&again.stdout), text(&again.stderr));
    assert_eq!(pg.sql("SELECT count(*) FROM landform.records WHERE kind = 'r'"), "4");
    let rows = pg.sql("SELECT value FROM landform.records");
    assert!(!rows.contains("arn:aws") && !rows.contains(&m.vpc), "{rows}");
    assert!(!f.path(".landform/state/workspaces").exists(), "a sled state was written");
    let out = on_pg(&["destroy", "--auto-approve"]);
    assert_eq!(out.status.code(), Some(0), "{}{}", text(&out.stdout), text(&out.stderr));
    assert_eq!(pg.sql("SELECT count(*) FROM landform.records WHERE kind = 'r'"), "0");
    let left = m.py("out = len(elb.describe_load_balancers()['LoadBalancers'])");
    assert_eq!(left, serde_json::json!(0));
}

/// Issue 13: a `dynamic` block makes the listener's weighted target groups
/// from a map; it applies, re-plans clean and shifts weights in place,
/// exactly as the written-out blocks do.
#[test]
fn a_dynamic_block_makes_the_weighted_target_groups() {
    let m = Moto::start();
    let f = example("aws-dynamic");
    let main = std::fs::read_to_string(f.path("main.lf")).unwrap();
    let written = "      target_group {\n        arn    = aws_lb_target_group.blue.arn\n        weight = var.blue_weight\n      }\n      target_group {\n        arn    = aws_lb_target_group.green.arn\n        weight = var.green_weight\n      }\n";
    assert!(main.contains(written));
    let dynamic = "      dynamic \"target_group\" {\n        for_each = { blue = var.blue_weight, green = var.green_weight }\n        iterator = tg\n        content {\n          arn    = tg.key == \"blue\" ? aws_lb_target_group.blue.arn : aws_lb_target_group.green.arn\n          weight = tg.value\n        }\n      }\n";
    f.write(&main.replace(written, dynamic));
    ok(&f, &["apply", "--auto-approve"], &m);
    assert_eq!(m.py(WEIGHTS), serde_json::json!([[0, 100]]));
    let again = run(&f, &["plan", "--detailed-exitcode"], &m);
    assert_eq!(again.status.code(), Some(0), "{}{}", text(&again.stdout), text(&again.stderr));
    let shift = ["--var", "blue_weight=75", "--var", "green_weight=25"];
    let plan = ok(&f, &[&["plan"][..], &shift].concat(), &m);
    assert!(plan.contains("Plan: 0 to add, 1 to change, 0 to destroy."), "{plan}");
    assert!(plan.contains("~ default_action[0].forward.target_group[0].weight = 100 -> 75"), "{plan}");
    ok(&f, &[&["apply", "--auto-approve"][..], &shift].concat(), &m);
    assert_eq!(m.py(WEIGHTS), serde_json::json!([[25, 75]]));
    // The written-out blocks describe the same listener: no change.
    f.write(&main);
    let same = run(&f, &[&["plan", "--detailed-exitcode"][..], &shift].concat(), &m);
    assert_eq!(same.status.code(), Some(0), "{}{}", text(&same.stdout), text(&same.stderr));
}

#[test]
fn drift_sees_weights_changed_in_the_console_and_a_deleted_target_group() {
    let m = Moto::start();
    let f = example("aws-drift");
    std::fs::write(
        f.path("canary.lf"),
        "resource \"aws_lb_target_group\" \"canary\" {\n  name     = \"web-canary\"\n  port     = 8080\n  protocol = \"HTTP\"\n  vpc_id   = var.vpc_id\n}\n",
    )
    .unwrap();
    ok(&f, &["apply", "--auto-approve"], &m);
    m.py(
        r#"
l = elb.describe_listeners(LoadBalancerArn=elb.describe_load_balancers()["LoadBalancers"][0]["LoadBalancerArn"])["Listeners"][0]
groups = l["DefaultActions"][0]["ForwardConfig"]["TargetGroups"]
for g in groups:
    g["Weight"] = 10 if g["Weight"] == 100 else 90
elb.modify_listener(ListenerArn=l["ListenerArn"], DefaultActions=[{"Type": "forward", "ForwardConfig": {"TargetGroups": groups}}])
canary = elb.describe_target_groups(Names=["web-canary"])["TargetGroups"][0]["TargetGroupArn"]
elb.delete_target_group(TargetGroupArn=canary)
"#,
    );
    let drift = run(&f, &["drift"], &m);
    let report = text(&drift.stdout);
    assert_eq!(drift.status.code(), Some(2), "{report}{}", text(&drift.stderr));
    assert!(report.contains("# aws_lb_listener.http has changed"), "{report}");
    assert!(report.contains("~ default_action[0].forward.target_group[0].weight = 100 -> 10"), "{report}");
    assert!(report.contains("~ default_action[0].forward.target_group[1].weight = 0 -> 90"), "{report}");
    assert!(report.contains("# aws_lb_target_group.canary has been deleted"), "{report}");
    let json: Value = serde_json::from_slice(&run(&f, &["drift", "--json"], &m).stdout).unwrap();
    assert_eq!(json["summary"]["drifted"], 1);
    assert_eq!(json["summary"]["deleted"], 1);
    let plan = ok(&f, &["plan"], &m);
    // Nothing the plan changes depends on what drifted (Terraform's rule):
    // the plan just puts it back, without an "objects changed outside" note.
    assert!(!plan.contains("Objects changed outside Landform"), "{plan}");
    assert!(plan.contains("# aws_lb_target_group.canary will be created"), "{plan}");
    assert!(plan.contains("~ default_action[0].forward.target_group[0].weight = 10 -> 100"), "{plan}");
    // A plain apply puts the world back.
    ok(&f, &["apply", "--auto-approve"], &m);
    assert_eq!(m.py(WEIGHTS), serde_json::json!([[0, 100]]));
    assert_eq!(run(&f, &["drift"], &m).status.code(), Some(0));
}

/// Issue 26 items 13 and 15: drift takes --var and --var-file as plan does
/// (the provider's endpoint comes from a variable); a variable left unset is
/// named as such, not as "known only after apply"; and a listener changed by
/// hand is reported by its weights alone, without attributes the
/// configuration never set (the action's `order`).
#[test]
fn drift_takes_variables_as_plan_does_and_reports_only_what_the_configuration_set() {
    let m = Moto::start();
    let f = example("aws-drift-vars");
    let main = std::fs::read_to_string(f.path("main.lf")).unwrap();
    let with_default = "variable \"endpoint\" {\n  type        = string\n  default     = \"\"\n";
    assert!(main.contains(with_default));
    f.write(&main.replace(with_default, "variable \"endpoint\" {\n  type        = string\n"));
    ok(&f, &["apply", "--auto-approve"], &m);
    m.py(
        r#"
l = elb.describe_listeners(LoadBalancerArn=elb.describe_load_balancers()["LoadBalancers"][0]["LoadBalancerArn"])["Listeners"][0]
groups = l["DefaultActions"][0]["ForwardConfig"]["TargetGroups"]
for g in groups:
    g["Weight"] = 10 if g["Weight"] == 100 else 90
elb.modify_listener(ListenerArn=l["ListenerArn"], DefaultActions=[{"Type": "forward", "ForwardConfig": {"TargetGroups": groups}}])
"#,
    );
    let bare = |args: &[&str]| {
        f.cmd(args)
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env_remove("AWS_PROFILE")
            .stdin(Stdio::null())
            .output()
            .unwrap()
    };
    // No value for the endpoint: said so, exit 1.
    let out = bare(&["drift"]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{}{err}", text(&out.stdout));
    assert!(err.contains("input variable \"endpoint\"") && err.contains("not set"), "{err}");
    assert!(!err.contains("known only after apply"), "{err}");
    // The same values as --var and a --var-file: the same report as with the environment.
    std::fs::write(f.path("moto.lfvars"), format!("endpoint = \"{}\"\n", m.url)).unwrap();
    let subnets = format!("subnet_ids={}", serde_json::to_string(&m.subnets).unwrap());
    for args in [
        &["drift", "--var", &format!("endpoint={}", m.url), "--var", &format!("vpc_id={}", m.vpc), "--var", &subnets][..],
        &["drift", "--var-file", "moto.lfvars"],
        &["drift", "-var-file=moto.lfvars", "-var", "blue_weight=100"],
    ] {
        let out = bare(args);
        let report = text(&out.stdout);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {report}{}", text(&out.stderr));
        assert!(report.contains("~ default_action[0].forward.target_group[0].weight = 100 -> 10"), "{report}");
        assert!(report.contains("~ default_action[0].forward.target_group[1].weight = 0 -> 90"), "{report}");
        let changed: Vec<&str> = report.lines().filter(|l| l.contains(" = ")).collect();
        assert_eq!(changed.len(), 2, "only the two weights are reported, not {changed:?}:\n{report}");
    }
    let with_env = run(&f, &["drift"], &m);
    assert_eq!(with_env.status.code(), Some(2), "{}", text(&with_env.stderr));
    assert!(!text(&with_env.stdout).contains("order"), "{}", text(&with_env.stdout));
}

#[test]
fn import_brings_an_existing_target_group_under_management() {
    let m = Moto::start();
    let arn = m.py(&format!(
        "out = elb.create_target_group(Name='legacy', Port=80, Protocol='HTTP', VpcId='{}')['TargetGroups'][0]['TargetGroupArn']",
        m.vpc
    ));
    let arn = arn.as_str().unwrap();
    let f = Fixture::new(
        "aws-import",
        &format!(
            "variable \"endpoint\" {{}}\nvariable \"vpc_id\" {{}}\nvariable \"subnet_ids\" {{}}\nprovider \"aws\" {{\n  region   = \"us-east-1\"\n  endpoint = var.endpoint\n}}\nresource \"aws_lb_target_group\" \"legacy\" {{\n  name     = \"legacy\"\n  port     = 80\n  protocol = \"HTTP\"\n  vpc_id   = \"{}\"\n}}\n",
            m.vpc
        ),
    );
    let out = ok(&f, &["import", "aws_lb_target_group.legacy", arn], &m);
    assert!(out.contains("Import successful!"), "{out}");
    assert!(out.contains("No changes."), "{out}");
    let plan = run(&f, &["plan", "--detailed-exitcode"], &m);
    assert_eq!(plan.status.code(), Some(0), "{}{}", text(&plan.stdout), text(&plan.stderr));
    let state = f.ok(&["state", "show", "aws_lb_target_group.legacy"]);
    assert!(state.contains(arn), "{state}");
    // Importing it again, or into an address the configuration lacks, is refused.
    let again = run(&f, &["import", "aws_lb_target_group.legacy", arn], &m);
    assert_eq!(again.status.code(), Some(1));
    assert!(text(&again.stderr).contains("already managed"), "{}", text(&again.stderr));
    let missing = run(&f, &["import", "aws_lb_target_group.other", arn], &m);
    assert_eq!(missing.status.code(), Some(1));
    assert!(text(&missing.stderr).contains("the configuration has no resource aws_lb_target_group.other"));

    // The same through an import block: planned, then saved by apply.
    let arn2 = m.py(&format!(
        "out = elb.create_target_group(Name='legacy2', Port=8080, Protocol='HTTP', VpcId='{}')['TargetGroups'][0]['TargetGroupArn']",
        m.vpc
    ));
    let arn2 = arn2.as_str().unwrap();
    let config = std::fs::read_to_string(f.path("main.lf")).unwrap();
    f.write(&format!(
        "{config}import {{\n  to = aws_lb_target_group.legacy2\n  id = \"{arn2}\"\n}}\nresource \"aws_lb_target_group\" \"legacy2\" {{\n  name     = \"legacy2\"\n  port     = 8080\n  protocol = \"HTTP\"\n  vpc_id   = \"{}\"\n  tags = {{\n    team = \"web\"\n  }}\n}}\n",
        m.vpc
    ));
    let plan = ok(&f, &["plan"], &m);
    assert!(plan.contains("# aws_lb_target_group.legacy2 will be updated in-place"), "{plan}");
    assert!(plan.contains(&format!("# (imported from \"{arn2}\")")), "{plan}");
    assert!(plan.contains("Plan: 1 to import, 0 to add, 1 to change, 0 to destroy."), "{plan}");
    let applied = ok(&f, &["apply", "--auto-approve"], &m);
    assert!(applied.contains("1 imported, 0 added, 1 changed, 0 destroyed"), "{applied}");
    let tags = m.py(&format!("out = elb.describe_tags(ResourceArns=['{arn2}'])['TagDescriptions'][0]['Tags']"));
    assert_eq!(tags, serde_json::json!([{"Key": "team", "Value": "web"}]));
    let plan = run(&f, &["plan", "--detailed-exitcode"], &m);
    assert_eq!(plan.status.code(), Some(0), "{}{}", text(&plan.stdout), text(&plan.stderr));
}

#[test]
fn bad_input_is_refused_when_planning_with_its_position() {
    let m = Moto::start();
    let f = example("aws-bad");
    let base = std::fs::read_to_string(f.path("main.lf")).unwrap();
    // A weight of 1000, pointed at where it is written.
    let out = run(&f, &["plan", "--var", "green_weight=1000"], &m);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("Invalid target group weight"), "{err}");
    assert!(err.contains("default_action[0].forward.target_group[1].weight is 1000"), "{err}");
    assert!(err.contains("main.lf:102:"), "the error points at the weight's line: {err}");
    // Six target groups in one forward.
    let group = "      target_group {\n        arn = aws_lb_target_group.blue.arn\n      }\n";
    std::fs::write(
        f.path("six.lf"),
        format!(
            "resource \"aws_lb_listener\" \"six\" {{\n  load_balancer_arn = aws_lb.web.arn\n  port = 81\n  default_action {{\n    type = \"forward\"\n    forward {{\n{}    }}\n  }}\n}}\n",
            group.repeat(6)
        ),
    )
    .unwrap();
    let out = run(&f, &["plan"], &m);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("Too many blocks"), "{err}");
    assert!(err.contains("No more than 5 \"target_group\" blocks are allowed in a \"forward\" block."), "{err}");
    assert!(err.contains("six.lf:22:"), "the sixth block is pointed at: {err}");
    std::fs::remove_file(f.path("six.lf")).unwrap();
    // A missing required argument; a block where an argument belongs.
    f.write(
        &base
            .replace("  name     = \"${var.name}-blue\"\n", "")
            .replace("  port              = var.certificate_arn == \"\" ? 80 : 443\n", "  port {\n  }\n"),
    );
    let out = run(&f, &["plan"], &m);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("The argument \"name\" is required in a resource \"aws_lb_target_group\" block"), "{err}");
    assert!(err.contains("\"port\" is an argument of a resource \"aws_lb_listener\" block, not a block"), "{err}");
    assert!(err.contains("main.lf:"), "{err}");
}

#[test]
fn an_aws_error_names_the_resource_and_the_code_and_keeps_what_was_created() {
    let m = Moto::start();
    let f = Fixture::new(
        "aws-error",
        &format!(
            r#"
provider "aws" {{
  region   = "us-east-1"
  endpoint = "{url}"
}}
resource "aws_lb_target_group" "blue" {{
  name     = "kept"
  port     = 80
  protocol = "HTTP"
  vpc_id   = "{vpc}"
}}
resource "aws_lb_listener" "http" {{
  load_balancer_arn = "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/missing/0123456789abcdef"
  port              = 80
  default_action {{
    type             = "forward"
    target_group_arn = aws_lb_target_group.blue.arn
  }}
}}
"#,
            url = m.url,
            vpc = m.vpc
        ),
    );
    let out = f
        .cmd(&["apply", "--auto-approve"])
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .output()
        .unwrap();
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{}{err}", text(&out.stdout));
    assert!(err.contains("aws_lb_listener.http: AWS CreateListener failed: LoadBalancerNotFound"), "{err}");
    let list = f.ok(&["state", "list"]);
    assert_eq!(list.trim(), "aws_lb_target_group.blue", "the target group created before the error is kept");
}

/// Every other part in one configuration: listener rules (weighted forward with
/// path and host conditions; a redirect), a fixed-response listener, an
/// attachment, the three data sources, and a second provider configuration
/// (an alias in another region); the default provider finds moto through
/// AWS_ENDPOINT_URL alone.
#[test]
fn rules_attachments_data_sources_and_aliases_apply_replan_clean_and_destroy() {
    let m = Moto::start();
    let config = format!(
        r#"
variable "endpoint" {{}}
variable "vpc_id" {{}}
variable "subnet_ids" {{
  type = list(string)
}}

provider "aws" {{
  region = "us-east-1"
}}

provider "aws" {{
  alias    = "west"
  region   = "us-west-2"
  endpoint = var.endpoint
}}

resource "aws_lb" "web" {{
  name    = "web"
  subnets = var.subnet_ids
}}

resource "aws_lb_target_group" "api" {{
  count       = 2
  name        = "api-${{count.index}}"
  port        = 9000
  protocol    = "HTTP"
  target_type = "ip"
  vpc_id      = var.vpc_id
  health_check {{
    path    = "/ready"
    matcher = "200-299"
  }}
}}

resource "aws_lb_target_group_attachment" "api" {{
  target_group_arn = aws_lb_target_group.api[0].arn
  target_id        = "10.0.1.10"
  port             = 9000
}}

resource "aws_lb_listener" "http" {{
  load_balancer_arn = aws_lb.web.arn
  port              = 80
  default_action {{
    type = "fixed-response"
    fixed_response {{
      content_type = "text/plain"
      message_body = "nothing here"
      status_code  = "404"
    }}
  }}
}}

resource "aws_lb_listener_rule" "api" {{
  listener_arn = aws_lb_listener.http.arn
  priority     = 10
  condition {{
    path_pattern {{
      values = ["/api/*"]
    }}
  }}
  condition {{
    host_header {{
      values = ["example.com"]
    }}
  }}
  action {{
    type = "forward"
    forward {{
      target_group {{
        arn    = aws_lb_target_group.api[0].arn
        weight = 90
      }}
      target_group {{
        arn    = aws_lb_target_group.api[1].arn
        weight = 10
      }}
    }}
  }}
}}

resource "aws_lb_listener_rule" "old" {{
  listener_arn = aws_lb_listener.http.arn
  priority     = 20
  condition {{
    path_pattern {{
      values = ["/old/*"]
    }}
  }}
  action {{
    type = "redirect"
    redirect {{
      status_code = "HTTP_301"
      path        = "/new/"
    }}
  }}
}}

resource "aws_lb_target_group" "west" {{
  provider = aws.west
  name     = "west"
  port     = 80
  protocol = "HTTP"
  vpc_id   = "{west_vpc}"
}}

data "aws_lb" "web" {{
  name       = "web"
  depends_on = [aws_lb.web]
}}

data "aws_lb_target_group" "api" {{
  arn = aws_lb_target_group.api[0].arn
}}

data "aws_lb_target_health" "api" {{
  target_group_arn = aws_lb_target_group_attachment.api.target_group_arn
}}

output "dns" {{
  value = data.aws_lb.web.dns_name
}}

output "api_port" {{
  value = data.aws_lb_target_group.api.port
}}

output "targets" {{
  value = length(data.aws_lb_target_health.api.targets)
}}
"#,
        west_vpc = m.py(
            "ec2w = boto3.client('ec2', endpoint_url=kw['endpoint_url'], region_name='us-west-2', aws_access_key_id='testing', aws_secret_access_key='testing')\nout = ec2w.create_vpc(CidrBlock='10.1.0.0/16')['Vpc']['VpcId']"
        )
        .as_str()
        .unwrap()
    );
    let f = Fixture::new("aws-all", &config);
    let env = |args: &[&str]| {
        let mut c = f.cmd(args);
        c.env("AWS_ENDPOINT_URL", &m.url);
        c
    };
    let go = |args: &[&str]| {
        let out = run_with(env(args), &m);
        assert_eq!(out.status.code(), Some(0), "landform {args:?}:\n{}\n{}", text(&out.stdout), text(&out.stderr));
        text(&out.stdout)
    };
    let applied = go(&["apply", "--auto-approve"]);
    assert!(applied.contains("Apply complete! Resources: 8 added"), "{applied}");
    assert!(applied.contains("api_port = 9000"), "{applied}");
    assert!(applied.contains("targets = 1"), "{applied}");
    // What AWS now holds, read with boto3.
    let seen = m.py(
        r#"
lb = elb.describe_load_balancers(Names=["web"])["LoadBalancers"][0]
li = elb.describe_listeners(LoadBalancerArn=lb["LoadBalancerArn"])["Listeners"][0]
rules = {r["Priority"]: r for r in elb.describe_rules(ListenerArn=li["ListenerArn"])["Rules"]}
api = rules["10"]
westc = boto3.client("elbv2", endpoint_url=kw["endpoint_url"], region_name="us-west-2", aws_access_key_id="testing", aws_secret_access_key="testing")
out = {
  "default": li["DefaultActions"][0]["Type"],
  "weights": sorted(g["Weight"] for g in api["Actions"][0]["ForwardConfig"]["TargetGroups"]),
  "conditions": sorted(c["Field"] for c in api["Conditions"]),
  "redirect": rules["20"]["Actions"][0]["RedirectConfig"]["StatusCode"],
  "west": [t["TargetGroupName"] for t in westc.describe_target_groups()["TargetGroups"]],
  "east": sorted(t["TargetGroupName"] for t in elb.describe_target_groups()["TargetGroups"]),
}
"#,
    );
    assert_eq!(seen["default"], "fixed-response");
    assert_eq!(seen["weights"], serde_json::json!([10, 90]));
    assert_eq!(seen["conditions"], serde_json::json!(["host-header", "path-pattern"]));
    assert_eq!(seen["redirect"], "HTTP_301");
    assert_eq!(seen["west"], serde_json::json!(["west"]), "the alias's target group is in us-west-2");
    assert_eq!(seen["east"], serde_json::json!(["api-0", "api-1"]));
    let plan = run_with(env(&["plan", "--detailed-exitcode"]), &m);
    assert_eq!(plan.status.code(), Some(0), "a second plan is clean:\n{}{}", text(&plan.stdout), text(&plan.stderr));
    // A rule's weights, and another's priority, change in place.
    let changed = config
        .replace("weight = 90", "weight = 50")
        .replace("weight = 10", "weight = 50")
        .replace("priority     = 20", "priority     = 30");
    std::fs::write(f.path("main.lf"), changed).unwrap();
    let plan = go(&["plan"]);
    assert!(plan.contains("# aws_lb_listener_rule.api will be updated in-place"), "{plan}");
    assert!(plan.contains("action[0].forward.target_group[0].weight = 90 -> 50"), "{plan}");
    assert!(plan.contains("priority = 20 -> 30"), "{plan}");
    assert!(plan.contains("Plan: 0 to add, 2 to change, 0 to destroy."), "{plan}");
    go(&["apply", "--auto-approve"]);
    let now = m.py(r#"
lb = elb.describe_load_balancers(Names=["web"])["LoadBalancers"][0]
li = elb.describe_listeners(LoadBalancerArn=lb["LoadBalancerArn"])["Listeners"][0]
out = sorted(r["Priority"] for r in elb.describe_rules(ListenerArn=li["ListenerArn"])["Rules"])
"#);
    assert_eq!(now, serde_json::json!(["10", "30", "default"]));
    let plan = run_with(env(&["plan", "--detailed-exitcode"]), &m);
    assert_eq!(plan.status.code(), Some(0), "{}{}", text(&plan.stdout), text(&plan.stderr));
    let destroyed = go(&["destroy", "--auto-approve"]);
    assert!(destroyed.contains("Resources: 8 destroyed"), "{destroyed}");
    let left = m.py(
        r#"
westc = boto3.client("elbv2", endpoint_url=kw["endpoint_url"], region_name="us-west-2", aws_access_key_id="testing", aws_secret_access_key="testing")
out = [len(elb.describe_load_balancers()["LoadBalancers"]), len(elb.describe_target_groups()["TargetGroups"]), len(westc.describe_target_groups()["TargetGroups"])]
"#,
    );
    assert_eq!(left, serde_json::json!([0, 0, 0]));
}

/// moto behind a proxy that holds each request for `delay_ms`, as the network
/// and AWS's own work do: slow enough to kill an apply in the middle of it.
struct SlowProxy {
    child: Child,
    url: String,
}

const PROXY: &str = include_str!("../bench/slow-proxy.py");

impl SlowProxy {
    fn start(m: &Moto, delay_ms: u64) -> SlowProxy {
        let target = m.url.rsplit(':').next().unwrap().to_string();
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let child = Command::new(venv().join("bin/python"))
            .args(["-c", PROXY, &port.to_string(), &target, &delay_ms.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let start = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(start.elapsed() < Duration::from_secs(10), "the proxy did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        SlowProxy { child, url: format!("http://127.0.0.1:{port}") }
    }
}

impl Drop for SlowProxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// SIGKILL an apply of the example at moments spread over its run, then apply
/// again: each time the second apply converges, a plan after it is clean, and
/// AWS holds each object once (an interrupted create is adopted by name, port
/// or priority, never made twice or refused as a duplicate).
#[test]
fn an_apply_killed_midway_is_finished_by_the_next_with_each_object_once() {
    let m = Moto::start();
    let proxy = SlowProxy::start(&m, 150);
    let trials = [250u64, 400, 550, 700, 850, 1000, 1150, 1300];
    let mut adopted = 0;
    for (i, kill_ms) in trials.iter().enumerate() {
        let name = format!("k{i}");
        let f = example(&format!("aws-kill-{i}"));
        let with = |args: &[&str], endpoint: &str| {
            let mut c = f.cmd(args);
            c.env("LANDFORM_VAR_name", &name);
            let mut c = {
                c.env("LANDFORM_VAR_vpc_id", &m.vpc)
                    .env("LANDFORM_VAR_subnet_ids", serde_json::to_string(&m.subnets).unwrap())
                    .env("AWS_ACCESS_KEY_ID", "testing")
                    .env("AWS_SECRET_ACCESS_KEY", "testing")
                    .env_remove("AWS_PROFILE")
                    .stdin(Stdio::null());
                c
            };
            c.env("LANDFORM_VAR_endpoint", endpoint);
            c
        };
        let mut child =
            with(&["apply", "--auto-approve"], &proxy.url).stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
        std::thread::sleep(Duration::from_millis(*kill_ms));
        let _ = child.kill();
        let _ = child.wait();
        // A request already sent still reaches AWS after its sender died (the
        // proxy holds it 150 ms): the next apply starts once it has landed,
        // as it would in life. (AWS's own creates are idempotent by name for
        // such a late request; moto's are not.)
        std::thread::sleep(Duration::from_millis(600));
        // As a person would: force-unlock with the ID the lock names.
        f.unlock();
        let out = with(&["apply", "--auto-approve"], &m.url).output().unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "trial {i} (killed at {kill_ms} ms): the next apply failed:\n{}\n{}",
            text(&out.stdout),
            text(&out.stderr)
        );
        let said = text(&out.stdout);
        let found: Vec<&str> = said
            .lines()
            .filter(|l| l.contains("found in the real world; apply adopts it"))
            .filter_map(|l| l.trim().strip_prefix("- ")?.split(':').next())
            .collect();
        adopted += found.len();
        let plan = with(&["plan", "--detailed-exitcode"], &m.url).output().unwrap();
        assert_eq!(plan.status.code(), Some(0), "trial {i}: {}{}", text(&plan.stdout), text(&plan.stderr));
        let held = m.py(&format!(
            r#"
lbs = [l for l in elb.describe_load_balancers()["LoadBalancers"] if l["LoadBalancerName"] == "{name}"]
tgs = sorted(t["TargetGroupName"] for t in elb.describe_target_groups()["TargetGroups"] if t["TargetGroupName"].startswith("{name}-"))
out = {{"lbs": len(lbs), "tgs": tgs, "listeners": [len(elb.describe_listeners(LoadBalancerArn=l["LoadBalancerArn"])["Listeners"]) for l in lbs]}}
"#
        ));
        assert_eq!(
            held,
            serde_json::json!({"lbs": 1, "tgs": [format!("{name}-blue"), format!("{name}-green")], "listeners": [1]}),
            "trial {i} (killed at {kill_ms} ms)"
        );
        let listed = text(&with(&["state", "list"], &m.url).output().unwrap().stdout);
        assert_eq!(listed.lines().count(), 4, "trial {i}: each object in the state once:\n{listed}");
        eprintln!("trial {i}: killed at {kill_ms} ms, adopted {found:?}, converged");
    }
    assert!(adopted > 0, "no trial was killed while creating: the test exercised nothing");
}

/// The example's rollout against moto's ELBv2 API: the listener's weights
/// pass through every step (DescribeListeners, polled all along by a second
/// process, sees each one), and a failing HTTP probe of the canary rolls it
/// back.
#[test]
fn a_canary_rollout_on_an_alb_listener_passes_every_step_and_a_failing_probe_rolls_it_back() {
    let m = Moto::start();
    let f = example("aws-rollout");
    std::fs::copy(concat!(env!("CARGO_MANIFEST_DIR"), "/examples/aws-blue-green/rollout.lf"), f.path("rollout.lf"))
        .unwrap();
    let (ok_port, failing_port) = (answering(200), answering(503));
    let with = |args: &[&str], health: u16| {
        let mut c = f.cmd(args);
        c.env("LANDFORM_VAR_canary_health_url", format!("http://127.0.0.1:{health}/healthz"))
            .env("LANDFORM_VAR_pause", "2s")
            .env("LANDFORM_VAR_interval", "500ms");
        run_with(c, &m)
    };
    // The first apply creates the pools and the listener; the rollout runs from the next.
    let out = with(&["apply", "--auto-approve"], ok_port);
    assert_eq!(out.status.code(), Some(0), "{}{}", text(&out.stdout), text(&out.stderr));
    assert!(!text(&out.stdout).contains("rollout.web:"), "{}", text(&out.stdout));
    // Green has no targets yet: traffic is not moved to it.
    let plan = text(&with(&["plan"], ok_port).stdout);
    assert!(
        plan.contains("# rollout.web will move traffic on aws_lb_listener.http from web-blue to web-green"),
        "{plan}"
    );
    assert!(
        plan.contains("weights  = { web-blue = 100, web-green = 0 } -> { web-blue = 0, web-green = 100 }"),
        "{plan}"
    );
    assert!(plan.contains("steps    = [10%, 50%, 100%], pause 2s after each"), "{plan}");
    let out = with(&["apply", "--auto-approve"], ok_port);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("is not healthy: traffic is not moved to it"), "{}", text(&out.stderr));
    assert_eq!(m.py(WEIGHTS_BY_NAME), serde_json::json!({"web-blue": 100, "web-green": 0}));
    m.py(r#"
for t in elb.describe_target_groups()["TargetGroups"]:
    elb.register_targets(TargetGroupArn=t["TargetGroupArn"], Targets=[{"Id": "i-0123456789abcdef0", "Port": 8080}])
"#);
    // A second process reads DescribeListeners all along and records each distinct weight pair.
    let stop = f.path("stop-polling");
    let poller = Command::new(venv().join("bin/python"))
        .arg("-c")
        .arg(format!(
            "import boto3, json, os, time\nelb = boto3.client('elbv2', endpoint_url={url:?}, region_name='us-east-1', aws_access_key_id='testing', aws_secret_access_key='testing')\n{WEIGHTS_BY_NAME}\nseen = []\nwhile not os.path.exists({stop:?}):\n    {poll}\n    w = [out['web-blue'], out['web-green']]\n    if not seen or seen[-1] != w:\n        seen.append(w)\n    time.sleep(0.1)\nprint(json.dumps(seen))\n",
            url = m.url,
            stop = stop.display().to_string(),
            poll = WEIGHTS_BY_NAME.trim().replace('\n', "\n    ")
        ))
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    let out = with(&["apply", "--auto-approve"], ok_port);
    std::fs::write(&stop, "").unwrap();
    let seen: Value = serde_json::from_slice(&poller.wait_with_output().unwrap().stdout).unwrap();
    let said = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{said}{}", text(&out.stderr));
    for step in ["step 1/3:", "step 2/3:", "step 3/3:", "rollout.web: complete: all traffic on web-green"] {
        assert!(said.contains(step), "{said}");
    }
    assert_eq!(seen, serde_json::json!([[100, 0], [90, 10], [50, 50], [0, 100]]), "{said}");
    let again = with(&["plan", "--detailed-exitcode"], ok_port);
    assert_eq!(again.status.code(), Some(0), "{}", text(&again.stdout));
    let status = text(&with(&["rollout", "status", "web"], ok_port).stdout);
    assert!(status.contains("phase:    complete"), "{status}");
    assert!(status.contains("health = 100.0%"), "{status}");

    // Back on blue, in one operation; then a canary whose probe fails is rolled back.
    let out = with(&["rollout", "rollback", "web"], ok_port);
    assert!(text(&out.stdout).contains("rolled back: all traffic is on web-blue again"), "{}", text(&out.stderr));
    assert_eq!(m.py(WEIGHTS_BY_NAME), serde_json::json!({"web-blue": 100, "web-green": 0}));
    let out = with(&["apply", "--auto-approve"], failing_port);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{}{err}", text(&out.stdout));
    assert!(
        err.contains("rollout.web: analysis failed: health was 0.0% of probes succeeding, below the min of 99.0%"),
        "{err}"
    );
    assert!(err.contains("rolled back: all traffic is on web-blue again"), "{err}");
    assert_eq!(m.py(WEIGHTS_BY_NAME), serde_json::json!({"web-blue": 100, "web-green": 0}));
    let status = text(&with(&["rollout", "status", "web"], ok_port).stdout);
    assert!(
        status.contains("phase:    rolled_back") && status.contains("reason:   analysis failed: health"),
        "{status}"
    );
}

/// A listener edited by hand to a plain forward (issue 24, item 14) is drift
/// the rollout does not own: plan says what happened and what to do, status
/// says what the listener does, and abort puts all traffic back on the
/// stable pool as a weighted forward to both again.
#[test]
fn a_listener_edited_by_hand_to_a_plain_forward_stops_the_rollout_and_abort_takes_it_back() {
    let m = Moto::start();
    let f = example("aws-rollout-drift");
    std::fs::copy(concat!(env!("CARGO_MANIFEST_DIR"), "/examples/aws-blue-green/rollout.lf"), f.path("rollout.lf"))
        .unwrap();
    let ok_port = answering(200);
    let with = |args: &[&str]| {
        let mut c = f.cmd(args);
        c.env("LANDFORM_VAR_canary_health_url", format!("http://127.0.0.1:{ok_port}/healthz"))
            .env("LANDFORM_VAR_pause", "200ms")
            .env("LANDFORM_VAR_interval", "100ms");
        run_with(c, &m)
    };
    let out = with(&["apply", "--auto-approve"]);
    assert_eq!(out.status.code(), Some(0), "{}{}", text(&out.stdout), text(&out.stderr));
    m.py(r#"
for t in elb.describe_target_groups()["TargetGroups"]:
    elb.register_targets(TargetGroupArn=t["TargetGroupArn"], Targets=[{"Id": "i-0123456789abcdef0", "Port": 8080}])
"#);
    let out = with(&["apply", "--auto-approve"]);
    assert_eq!(out.status.code(), Some(0), "{}{}", text(&out.stdout), text(&out.stderr));
    assert_eq!(m.py(WEIGHTS_BY_NAME), serde_json::json!({"web-blue": 0, "web-green": 100}));
    // By hand, as the console does: a plain forward to green, no ForwardConfig.
    m.py(r#"
green = [t["TargetGroupArn"] for t in elb.describe_target_groups()["TargetGroups"] if t["TargetGroupName"] == "web-green"][0]
for l in elb.describe_load_balancers()["LoadBalancers"]:
    for li in elb.describe_listeners(LoadBalancerArn=l["LoadBalancerArn"])["Listeners"]:
        elb.modify_listener(ListenerArn=li["ListenerArn"], DefaultActions=[{"Type": "forward", "TargetGroupArn": green}])
out = {}
"#);
    let plan = with(&["plan"]);
    let (said, err) = (text(&plan.stdout), text(&plan.stderr));
    assert_eq!(plan.status.code(), Some(0), "{said}{err}");
    let all = format!("{said}{err}");
    assert!(all.contains("aws_lb_listener.http was changed outside Landform: it forwards to web-green"), "{all}");
    assert!(all.contains("`landform rollout abort web` puts all traffic back on web-blue"), "{all}");
    assert!(!all.contains("forwards to no target group"), "{all}");
    let out = with(&["apply", "--auto-approve"]);
    assert_eq!(out.status.code(), Some(0), "{}{}", text(&out.stdout), text(&out.stderr));
    let status = with(&["rollout", "status", "web"]);
    let said = text(&status.stdout);
    assert_eq!(status.status.code(), Some(0), "{said}{}", text(&status.stderr));
    assert!(
        said.contains("changed:  aws_lb_listener.http was changed outside Landform: it forwards to { web-green = 1 }"),
        "{said}"
    );
    let out = with(&["rollout", "abort", "web"]);
    assert_eq!(out.status.code(), Some(0), "{}{}", text(&out.stdout), text(&out.stderr));
    assert!(text(&out.stdout).contains("all traffic is on web-blue again"), "{}", text(&out.stdout));
    assert_eq!(m.py(WEIGHTS_BY_NAME), serde_json::json!({"web-blue": 100, "web-green": 0}));
    let again = with(&["plan", "--detailed-exitcode"]);
    assert_eq!(again.status.code(), Some(0), "{}{}", text(&again.stdout), text(&again.stderr));
    assert!(!text(&again.stderr).contains("changed outside Landform"), "{}", text(&again.stderr));
    // A plain forward to the stable pool: no traffic on the canary, but abort still takes the listener back.
    m.py(r#"
blue = [t["TargetGroupArn"] for t in elb.describe_target_groups()["TargetGroups"] if t["TargetGroupName"] == "web-blue"][0]
for l in elb.describe_load_balancers()["LoadBalancers"]:
    for li in elb.describe_listeners(LoadBalancerArn=l["LoadBalancerArn"])["Listeners"]:
        elb.modify_listener(ListenerArn=li["ListenerArn"], DefaultActions=[{"Type": "forward", "TargetGroupArn": blue}])
"#);
    let status = text(&with(&["rollout", "status", "web"]).stdout);
    assert!(status.contains("it forwards to { web-blue = 1 }"), "{status}");
    let out = with(&["rollout", "abort", "web"]);
    assert_eq!(out.status.code(), Some(0), "{}{}", text(&out.stdout), text(&out.stderr));
    assert_eq!(m.py(WEIGHTS_BY_NAME), serde_json::json!({"web-blue": 100, "web-green": 0}));
}

/// On a terminal, a rollout-only apply counts the rollout's steps in the
/// progress bar (issue 24, item 22): it was stuck at "0/0 operations".
/// `script` gives the apply a terminal.
#[test]
fn the_progress_bar_of_a_rollout_only_apply_counts_its_steps() {
    let m = Moto::start();
    let f = example("aws-rollout-bar");
    std::fs::copy(concat!(env!("CARGO_MANIFEST_DIR"), "/examples/aws-blue-green/rollout.lf"), f.path("rollout.lf"))
        .unwrap();
    let ok_port = answering(200);
    let vars = |mut c: Command| {
        c.env("LANDFORM_VAR_canary_health_url", format!("http://127.0.0.1:{ok_port}/healthz"))
            .env("LANDFORM_VAR_pause", "300ms")
            .env("LANDFORM_VAR_interval", "100ms");
        c
    };
    let out = run_with(vars(f.cmd(&["apply", "--auto-approve"])), &m);
    assert_eq!(out.status.code(), Some(0), "{}{}", text(&out.stdout), text(&out.stderr));
    m.py(r#"
for t in elb.describe_target_groups()["TargetGroups"]:
    elb.register_targets(TargetGroupArn=t["TargetGroupArn"], Targets=[{"Id": "i-0123456789abcdef0", "Port": 8080}])
"#);
    let mut c = Command::new("script");
    c.arg("-qfec")
        .arg(format!("'{}' apply --auto-approve --no-color", env!("CARGO_BIN_EXE_landform")))
        .arg("/dev/null")
        .current_dir(f.path(""))
        .env("NO_COLOR", "1")
        .env("COLUMNS", "200")
        .env_remove("LANDFORM_WORKSPACE");
    let out = run_with(vars(c), &m);
    let said = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{said}{}", text(&out.stderr));
    assert!(said.contains("rollout.web: complete: all traffic on web-green"), "{said}");
    assert!(!said.contains("0/0 operations"), "{said}");
    assert!(said.contains("/3 operations"), "{said}");
    assert_eq!(m.py(WEIGHTS_BY_NAME), serde_json::json!({"web-blue": 0, "web-green": 100}));
}

/// `cloudwatch` metrics: the canary target group's 5xx share of requests
/// from CloudWatch's AWS/ApplicationELB metrics (moto's CloudWatch API; a
/// second process plays the load balancer, publishing the green pool's counts).
/// 30% of 5xx roll the canary back; clean counts pass every step.
#[test]
fn cloudwatch_error_rates_judge_a_canary_behind_an_alb() {
    let m = Moto::start();
    let f = example("aws-cloudwatch");
    let rollout = r#"
rollout "web" {
  switch = aws_lb_listener.http
  stable = aws_lb_target_group.blue.arn
  canary = aws_lb_target_group.green.arn
  steps  = [50%, 100%]
  pause  = 2s
  progress_deadline = 10s
  analysis {
    interval = 500ms
    metric "errors" {
      source = "cloudwatch"
      max    = 1%
    }
  }
}
"#;
    std::fs::write(f.path("rollout.lf"), rollout).unwrap();
    ok(&f, &["apply", "--auto-approve"], &m);
    m.py(r#"
for t in elb.describe_target_groups()["TargetGroups"]:
    elb.register_targets(TargetGroupArn=t["TargetGroupArn"], Targets=[{"Id": "i-0123456789abcdef0", "Port": 8080}])
"#);
    let plan = ok(&f, &["plan"], &m);
    assert!(plan.contains("errors (cloudwatch error rate of web-green)"), "{plan}");
    // The load balancer's metrics, published every 200 ms with `errors` 5xx in each 100 requests.
    let publish = |errors: u32| {
        let stop = f.path(&format!("stop-{errors}"));
        let child = Command::new(venv().join("bin/python"))
            .arg("-c")
            .arg(format!(
                "import boto3, os, time\nkw = dict(endpoint_url={url:?}, region_name='us-east-1', aws_access_key_id='testing', aws_secret_access_key='testing')\nelb = boto3.client('elbv2', **kw)\ncw = boto3.client('cloudwatch', **kw)\nlb = elb.describe_load_balancers()['LoadBalancers'][0]['LoadBalancerArn'].split(':loadbalancer/')[1]\ngreen = [t['TargetGroupArn'] for t in elb.describe_target_groups()['TargetGroups'] if t['TargetGroupName'] == 'web-green'][0].rsplit(':', 1)[1]\ndims = [{{'Name': 'TargetGroup', 'Value': green}}, {{'Name': 'LoadBalancer', 'Value': lb}}]\nwhile not os.path.exists({stop:?}):\n    cw.put_metric_data(Namespace='AWS/ApplicationELB', MetricData=[{{'MetricName': 'RequestCount', 'Dimensions': dims, 'Value': 100, 'Unit': 'Count'}}, {{'MetricName': 'HTTPCode_Target_5XX_Count', 'Dimensions': dims, 'Value': {errors}, 'Unit': 'Count'}}])\n    time.sleep(0.2)\n",
                url = m.url,
                stop = stop.display().to_string()
            ))
            .spawn()
            .unwrap();
        (child, stop)
    };
    let (mut child, stop) = publish(30);
    let out = run(&f, &["apply", "--auto-approve"], &m);
    std::fs::write(&stop, "").unwrap();
    child.wait().unwrap();
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{}{err}", text(&out.stdout));
    // About 30%: the two sums are read one after the other, so a datapoint published in between
    // can land in one and not the other; any share over the max fails the step.
    assert!(err.contains("rollout.web: analysis failed: errors was") && err.contains("above the max of 1.0%"), "{err}");
    assert!(err.contains("rolled back: all traffic is on web-blue again"), "{err}");
    assert_eq!(m.py(WEIGHTS_BY_NAME), serde_json::json!({"web-blue": 100, "web-green": 0}));
    // Clean counts (a fixed canary, retried by a person: a rolled-back release stays stopped): every step passes.
    let (mut child, stop) = publish(0);
    let out = run(&f, &["rollout", "retry", "web"], &m);
    std::fs::write(&stop, "").unwrap();
    child.wait().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}{}", text(&out.stdout), text(&out.stderr));
    assert!(text(&out.stdout).contains("rollout.web: complete: all traffic on web-green"), "{}", text(&out.stdout));
    assert_eq!(m.py(WEIGHTS_BY_NAME), serde_json::json!({"web-blue": 0, "web-green": 100}));
}

/// A listener rule as the switch: its forward action's weights move through
/// the steps (read with DescribeRules), and `rollout abort` after it puts
/// them back.
#[test]
fn a_rollout_drives_a_listener_rules_weights() {
    let m = Moto::start();
    let f = example("aws-rule-rollout");
    let (port, rule) = (
        answering(200),
        r#"
resource "aws_lb_listener_rule" "api" {
  listener_arn = aws_lb_listener.http.arn
  priority     = 10
  condition {
    path_pattern {
      values = ["/api/*"]
    }
  }
  action {
    type = "forward"
    forward {
      target_group {
        arn    = aws_lb_target_group.blue.arn
        weight = 100
      }
      target_group {
        arn    = aws_lb_target_group.green.arn
        weight = 0
      }
    }
  }
}

variable "probe" {}

rollout "api" {
  switch = aws_lb_listener_rule.api
  stable = aws_lb_target_group.blue.arn
  canary = aws_lb_target_group.green.arn
  steps  = [50%, 100%]
  pause  = 1s
  analysis {
    interval = 250ms
    metric "health" {
      source = "http"
      url    = var.probe
      min    = 99%
    }
  }
}
"#,
    );
    std::fs::write(f.path("rule.lf"), rule).unwrap();
    let with = |args: &[&str]| {
        let mut c = f.cmd(args);
        c.env("LANDFORM_VAR_probe", format!("http://127.0.0.1:{port}/"));
        run_with(c, &m)
    };
    let out = with(&["apply", "--auto-approve"]);
    assert_eq!(out.status.code(), Some(0), "{}{}", text(&out.stdout), text(&out.stderr));
    m.py(r#"
for t in elb.describe_target_groups()["TargetGroups"]:
    elb.register_targets(TargetGroupArn=t["TargetGroupArn"], Targets=[{"Id": "i-0123456789abcdef0", "Port": 8080}])
"#);
    let rule_weights = r#"
names = {t["TargetGroupArn"]: t["TargetGroupName"] for t in elb.describe_target_groups()["TargetGroups"]}
li = elb.describe_listeners(LoadBalancerArn=elb.describe_load_balancers()["LoadBalancers"][0]["LoadBalancerArn"])["Listeners"][0]
out = {}
for r in elb.describe_rules(ListenerArn=li["ListenerArn"])["Rules"]:
    if r["Priority"] == "10":
        for g in r["Actions"][0]["ForwardConfig"]["TargetGroups"]:
            out[names[g["TargetGroupArn"]]] = g["Weight"]
"#;
    assert_eq!(m.py(rule_weights), serde_json::json!({"web-blue": 100, "web-green": 0}));
    let out = with(&["apply", "--auto-approve"]);
    let said = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{said}{}", text(&out.stderr));
    assert!(said.contains("rollout.api: step 1/2:") && said.contains("rollout.api: complete"), "{said}");
    assert_eq!(m.py(rule_weights), serde_json::json!({"web-blue": 0, "web-green": 100}));
    // The listener's own weights were not touched.
    assert_eq!(m.py(WEIGHTS_BY_NAME), serde_json::json!({"web-blue": 100, "web-green": 0}));
    let plan = with(&["plan", "--detailed-exitcode"]);
    assert_eq!(plan.status.code(), Some(0), "{}", text(&plan.stdout));
    let out = with(&["rollout", "abort", "api"]);
    assert!(
        text(&out.stdout).contains("rollout.api: aborted: all traffic is on web-blue again"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(m.py(rule_weights), serde_json::json!({"web-blue": 100, "web-green": 0}));
}
