//! Issue 13: `count` and `for_each` on module calls, on the real binary:
//! every instance planned, applied and addressed (`module.site["eu"]`), the
//! instances' outputs as a map (for_each) or a list (count), one instance
//! removed destroying only its objects, `--target` on one instance, and a
//! module moved into an instance with `moved` and nothing recreated.

mod common;
use common::{text, Fixture};
use std::os::unix::fs::MetadataExt;

const REGION: &str = "variable \"code\" {}\nvariable \"title\" {}\nresource \"local_file\" \"page\" {\n  path    = \"${path.module}/../out-${var.code}.txt\"\n  content = var.title\n}\noutput \"page\" {\n  value = local_file.page.path\n}\n";

fn config(regions: &[(&str, &str)]) -> String {
    let map: String = regions.iter().map(|(k, v)| format!("    {k} = \"{v}\"\n")).collect();
    format!(
        "variable \"regions\" {{\n  default = {{\n{map}  }}\n}}\nmodule \"site\" {{\n  source   = \"./region\"\n  for_each = var.regions\n  code     = each.key\n  title    = each.value\n}}\nmodule \"counted\" {{\n  source = \"./region\"\n  count  = 2\n  code   = \"n${{count.index}}\"\n  title  = \"number ${{count.index}}\"\n}}\noutput \"pages\" {{\n  value = {{ for k, m in module.site : k => m.page }}\n}}\noutput \"second\" {{\n  value = module.counted[1].page\n}}\n"
    )
}

fn fixture(name: &str, regions: &[(&str, &str)]) -> Fixture {
    let f = Fixture::new(name, &config(regions));
    std::fs::create_dir_all(f.path("region")).unwrap();
    std::fs::write(f.path("region/main.lf"), REGION).unwrap();
    f
}

fn inode(f: &Fixture, file: &str) -> u64 {
    std::fs::metadata(f.path(file)).unwrap().ino()
}

#[test]
fn a_module_for_each_over_three_regions_applies_and_one_region_is_removed() {
    let three = [("eu", "Europe"), ("us", "America"), ("ap", "Asia")];
    let f = fixture("module-for-each", &three);
    let out = f.ok(&["apply", "-auto-approve"]);
    assert!(out.contains("Apply complete! Resources: 5 added"), "{out}");
    assert_eq!(
        f.ok(&["state", "list"]),
        "module.counted[0].local_file.page\nmodule.counted[1].local_file.page\nmodule.site[\"ap\"].local_file.page\nmodule.site[\"eu\"].local_file.page\nmodule.site[\"us\"].local_file.page\n"
    );
    assert_eq!(std::fs::read_to_string(f.path("out-ap.txt")).unwrap(), "Asia");
    assert_eq!(f.ok(&["output", "-raw", "second"]), "region/../out-n1.txt");
    assert!(f.ok(&["output", "-json", "pages"]).contains("\"eu\":\"region/../out-eu.txt\""));
    assert_eq!(f.run(&["plan", "-detailed-exitcode"]).status.code(), Some(0));
    // One region gone: only its page is destroyed.
    let (eu, us) = (inode(&f, "out-eu.txt"), inode(&f, "out-us.txt"));
    f.write(&config(&three[..2]));
    let plan = f.ok(&["plan"]);
    assert!(plan.contains("# module.site[\"ap\"].local_file.page will be destroyed"), "{plan}");
    assert!(plan.contains("Plan: 0 to add, 0 to change, 1 to destroy."), "{plan}");
    f.ok(&["apply", "-auto-approve"]);
    assert!(!f.path("out-ap.txt").exists());
    assert_eq!((inode(&f, "out-eu.txt"), inode(&f, "out-us.txt")), (eu, us));
    assert_eq!(f.run(&["plan", "-detailed-exitcode"]).status.code(), Some(0));
    // One instance targeted.
    f.write(&config(&[("eu", "Europa"), ("us", "Amerika")]));
    let plan = f.ok(&["plan", "-target", "module.site[\"eu\"]"]);
    assert!(
        plan.contains("module.site[\"eu\"].local_file.page must be replaced")
            || plan.contains("module.site[\"eu\"].local_file.page will be updated"),
        "{plan}"
    );
    assert!(!plan.contains("module.site[\"us\"].local_file.page"), "{plan}");
    let out = f.ok(&["destroy", "-auto-approve"]);
    assert!(out.contains("Resources: 4 destroyed."), "{out}");
}

#[test]
fn a_module_moves_into_an_instance_without_recreating_its_objects() {
    let f = Fixture::new(
        "module-move-instance",
        "module \"web\" {\n  source = \"./region\"\n  code   = \"eu\"\n  title  = \"Europe\"\n}\n",
    );
    std::fs::create_dir_all(f.path("region")).unwrap();
    std::fs::write(f.path("region/main.lf"), REGION).unwrap();
    f.ok(&["apply", "-auto-approve"]);
    let before = inode(&f, "out-eu.txt");
    f.write("module \"site\" {\n  source   = \"./region\"\n  for_each = toset([\"eu\"])\n  code     = each.key\n  title    = \"Europe\"\n}\nmoved {\n  from = module.web\n  to   = module.site[\"eu\"]\n}\n");
    let plan = f.ok(&["plan"]);
    assert!(plan.contains("# module.web.local_file.page has moved to module.site[\"eu\"].local_file.page"), "{plan}");
    assert!(plan.contains("Plan: 0 to add, 0 to change, 0 to destroy."), "{plan}");
    f.ok(&["apply", "-auto-approve"]);
    assert_eq!(inode(&f, "out-eu.txt"), before);
    assert_eq!(f.run(&["plan", "-detailed-exitcode"]).status.code(), Some(0));
}

#[test]
fn instances_that_cannot_be_known_when_planning_are_refused_at_the_expression() {
    let f = Fixture::new(
        "module-for-each-unknown",
        "resource \"random_id\" \"r\" {\n  byte_length = 2\n}\nmodule \"site\" {\n  source   = \"./region\"\n  for_each = toset([random_id.r.hex])\n  code     = each.key\n  title    = \"x\"\n}\n",
    );
    std::fs::create_dir_all(f.path("region")).unwrap();
    std::fs::write(f.path("region/main.lf"), REGION).unwrap();
    let out = f.run(&["plan"]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(err.contains("main.lf:6:14") && err.contains("known only after apply"), "{err}");
}

/// Issue 14: count and for_each on module calls inside child modules, as
/// real modules have them (terraform-aws-eks's node groups, terraform-aws-rds's
/// role associations): the instances nest, apply, re-plan clean, and a
/// smaller count destroys only what it drops.
#[test]
fn module_calls_repeat_inside_repeated_modules() {
    let f = Fixture::new(
        "module-nested-repetition",
        "module \"region\" {\n  source   = \"./modules/region\"\n  for_each = { eu = 2, us = 1 }\n  name     = each.key\n  sites    = each.value\n}\noutput \"ids\" {\n  value = { for k, m in module.region : k => m.ids }\n}\n",
    );
    std::fs::create_dir_all(f.path("modules/region")).unwrap();
    std::fs::create_dir_all(f.path("modules/site")).unwrap();
    std::fs::write(
        f.path("modules/region/main.lf"),
        "variable \"name\" {}\nvariable \"sites\" {\n  type = number\n}\nmodule \"site\" {\n  source = \"../site\"\n  count  = var.sites\n  label  = \"${var.name}-${count.index}\"\n}\noutput \"ids\" {\n  value = module.site[*].id\n}\n",
    )
    .unwrap();
    std::fs::write(
        f.path("modules/site/main.lf"),
        "variable \"label\" {}\nresource \"landform_data\" \"x\" {\n  input = var.label\n}\noutput \"id\" {\n  value = landform_data.x.output\n}\n",
    )
    .unwrap();
    f.ok(&["validate"]);
    f.ok(&["apply", "-auto-approve"]);
    let listed = f.ok(&["state", "list"]);
    for a in [
        "module.region[\"eu\"].module.site[0].landform_data.x",
        "module.region[\"eu\"].module.site[1].landform_data.x",
        "module.region[\"us\"].module.site[0].landform_data.x",
    ] {
        assert!(listed.contains(a), "{a} not in:\n{listed}");
    }
    assert_eq!(f.ok(&["output", "-json", "ids"]).trim(), r#"{"eu":["eu-0","eu-1"],"us":["us-0"]}"#);
    let again = f.run(&["plan", "-detailed-exitcode"]);
    assert_eq!(again.status.code(), Some(0), "{}", text(&again.stdout));
    f.write(&std::fs::read_to_string(f.path("main.lf")).unwrap().replace("eu = 2", "eu = 1"));
    let out = f.ok(&["apply", "-auto-approve"]);
    assert!(
        out.contains("0 added, 0 changed, 1 destroyed") && out.contains("module.region[\"eu\"].module.site[1]"),
        "{out}"
    );
    // A nested count that depends on a resource: refused at its expression.
    std::fs::write(
        f.path("modules/region/main.lf"),
        "variable \"name\" {}\nvariable \"sites\" {}\nresource \"landform_data\" \"n\" {\n  input = 1\n}\nmodule \"site\" {\n  source = \"../site\"\n  count  = landform_data.n.output\n  label  = var.name\n}\noutput \"ids\" {\n  value = []\n}\n",
    )
    .unwrap();
    let out = f.run(&["plan"]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(err.contains("modules/region/main.lf:8:12") && err.contains("known only after apply"), "{err}");
}
