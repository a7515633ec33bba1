//! `--target` names addresses, matched as addresses: a resource contains its
//! instances and a module what is inside it, never what merely begins with
//! the same text (issue 25 item 3).

mod common;
use common::{text, Fixture};

const BOTH: &str = "resource \"landform_data\" \"a\" {\n  input = 1\n}\nresource \"landform_data\" \"ab\" {\n  input = 2\n}\nresource \"landform_data\" \"a_b\" {\n  count = 2\n  input = 3\n}\n";
const ONLY_A: &str = "resource \"landform_data\" \"a\" {\n  input = 1\n}\n";

fn state_list(f: &Fixture) -> Vec<String> {
    f.ok(&["state", "list"]).lines().map(str::to_string).collect()
}

#[test]
fn a_target_never_matches_an_address_that_only_begins_like_it() {
    let f = Fixture::new("targets", BOTH);
    f.ok(&["apply", "-auto-approve"]);
    // ab and a_b are orphans now: only an untargeted plan destroys them.
    f.write(ONLY_A);
    let plan = f.ok(&["plan", "--target", "landform_data.a"]);
    assert!(!plan.contains("landform_data.ab") && !plan.contains("landform_data.a_b"), "{plan}");
    f.ok(&["apply", "-auto-approve", "--target", "landform_data.a"]);
    assert_eq!(state_list(&f).len(), 4, "{:?}", state_list(&f));
    let destroy = f.ok(&["plan", "-destroy", "--target", "landform_data.a"]);
    assert!(destroy.contains("landform_data.a will be destroyed"), "{destroy}");
    assert!(!destroy.contains("landform_data.ab") && !destroy.contains("landform_data.a_b"), "{destroy}");
    f.ok(&["destroy", "-auto-approve", "--target", "landform_data.a"]);
    assert_eq!(state_list(&f), ["landform_data.a_b[0]", "landform_data.a_b[1]", "landform_data.ab"]);
    // One instance is only that instance.
    f.ok(&["destroy", "-auto-approve", "--target", "landform_data.a_b[1]"]);
    assert_eq!(state_list(&f), ["landform_data.a_b[0]", "landform_data.ab"]);
}

#[test]
fn a_module_target_contains_every_instance_of_the_call_and_nothing_else() {
    let f = Fixture::new("targets-modules", "");
    std::fs::create_dir_all(f.path("m")).unwrap();
    std::fs::write(f.path("m/main.lf"), "resource \"landform_data\" \"x\" {\n  input = 1\n}\n").unwrap();
    let config = |n: usize| {
        format!(
            "module \"m\" {{\n  source = \"./m\"\n  count  = {n}\n}}\nmodule \"mm\" {{\n  source = \"./m\"\n}}\nresource \"landform_data\" \"x\" {{\n  input = 1\n}}\n"
        )
    };
    f.write(&config(2));
    let plan = f.ok(&["plan", "--target", "module.m"]);
    assert!(plan.contains("module.m[0].landform_data.x") && plan.contains("module.m[1].landform_data.x"), "{plan}");
    assert!(!plan.contains("module.mm.") && !plan.contains("# landform_data.x"), "{plan}");
    f.ok(&["apply", "-auto-approve"]);
    // module.m[1] is an orphan now; a target of module.mm or of module.m[0] leaves it.
    f.write(&config(1));
    for other in ["module.mm", "module.m[0]", "landform_data.x"] {
        let plan = f.ok(&["plan", "--target", other]);
        assert!(!plan.contains("module.m[1]"), "--target {other}: {plan}");
    }
    let plan = f.ok(&["plan", "--target", "module.m"]);
    assert!(plan.contains("module.m[1].landform_data.x will be destroyed"), "{plan}");
    let out = f.run(&["plan", "--target", "module.m[x]"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
}
