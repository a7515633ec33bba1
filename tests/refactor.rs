//! Issue 13: refactoring without destroying. `moved` blocks rename a
//! resource, an instance or a whole module in the state, and the objects are
//! neither destroyed nor created; `removed { lifecycle { destroy = false } }`
//! forgets a resource and leaves its object where it is.

mod common;
use common::{text, Fixture};

fn file(name: &str, content: &str) -> String {
    format!("resource \"local_file\" \"{name}\" {{\n  path    = \"${{path.module}}/{name}.txt\"\n  content = \"{content}\"\n}}\n")
}

/// The object's identity: the file's inode, which a destroy and create would change.
fn inode(f: &Fixture, name: &str) -> u64 {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(f.path(name)).unwrap().ino()
}

#[test]
fn moved_renames_a_resource_and_a_whole_module_without_touching_their_objects() {
    let f = Fixture::new("moved", &format!("{}module \"web\" {{\n  source = \"./web\"\n}}\n", file("a", "A")));
    std::fs::create_dir_all(f.path("web")).unwrap();
    std::fs::write(
        f.path("web/main.lf"),
        "resource \"local_file\" \"m\" {\n  path    = \"${path.module}/../m.txt\"\n  content = \"M\"\n}\n",
    )
    .unwrap();
    f.ok(&["apply", "-auto-approve"]);
    let (a, m) = (inode(&f, "a.txt"), inode(&f, "m.txt"));
    // The block renamed (its path kept), the module call renamed, and moved blocks saying so.
    f.write(&format!(
        "{}module \"site\" {{\n  source = \"./web\"\n}}\nmoved {{\n  from = local_file.a\n  to   = local_file.b\n}}\nmoved {{\n  from = module.web\n  to   = module.site\n}}\n",
        file("b", "A").replace("b.txt", "a.txt")
    ));
    let plan = f.ok(&["plan"]);
    assert!(plan.contains("# local_file.a has moved to local_file.b"), "{plan}");
    assert!(plan.contains("# module.web.local_file.m has moved to module.site.local_file.m"), "{plan}");
    assert!(plan.contains("Plan: 0 to add, 0 to change, 0 to destroy."), "{plan}");
    let json = f.ok(&["plan", "-json"]);
    assert!(json.contains("\"previous_address\": \"local_file.a\""), "{json}");
    // Saved and applied: the state renamed, the objects the same.
    f.ok(&["plan", "-out", "p.plan"]);
    let out = f.ok(&["apply", "p.plan"]);
    assert!(out.contains("0 added, 0 changed, 0 destroyed"), "{out}");
    assert_eq!((inode(&f, "a.txt"), inode(&f, "m.txt")), (a, m));
    assert_eq!(f.ok(&["state", "list"]), "local_file.b\nmodule.site.local_file.m\n");
    let again = f.run(&["plan", "-detailed-exitcode"]);
    assert_eq!(again.status.code(), Some(0), "{}", text(&again.stdout));
    assert!(text(&again.stdout).contains("No changes."));
}

#[test]
fn chained_moves_and_an_instance_gaining_count() {
    let f = Fixture::new("moved-chain", &file("a", "A"));
    f.ok(&["apply", "-auto-approve"]);
    let a = inode(&f, "a.txt");
    // a → b → c in two blocks (declared in reverse), c given count: the object becomes c[0].
    f.write(
        "resource \"local_file\" \"c\" {\n  count   = 1\n  path    = \"${path.module}/a.txt\"\n  content = \"A\"\n}\nmoved {\n  from = local_file.b\n  to   = local_file.c\n}\nmoved {\n  from = local_file.a\n  to   = local_file.b\n}\nmoved {\n  from = local_file.c\n  to   = local_file.c[0]\n}\n"
    );
    let plan = f.ok(&["plan"]);
    assert!(plan.contains("# local_file.a has moved to local_file.c[0]"), "{plan}");
    f.ok(&["apply", "-auto-approve"]);
    assert_eq!(inode(&f, "a.txt"), a);
    assert_eq!(f.ok(&["state", "list"]), "local_file.c[0]\n");
    assert_eq!(f.run(&["plan", "-detailed-exitcode"]).status.code(), Some(0));
}

#[test]
fn removed_forgets_a_resource_and_keeps_its_object() {
    let f = Fixture::new("removed", &format!("{}{}", file("keep", "K"), file("old", "O")));
    f.ok(&["apply", "-auto-approve"]);
    f.write(&format!(
        "{}removed {{\n  from = local_file.old\n  lifecycle {{\n    destroy = false\n  }}\n}}\n",
        file("keep", "K")
    ));
    let plan = f.ok(&["plan"]);
    assert!(plan.contains("# local_file.old will no longer be managed by Landform"), "{plan}");
    assert!(plan.contains("Plan: 0 to add, 0 to change, 0 to destroy, 1 to forget."), "{plan}");
    assert!(f.ok(&["plan", "-json"]).contains("\"forget\""));
    let out = f.ok(&["apply", "-auto-approve"]);
    assert!(out.contains("1 forgotten"), "{out}");
    assert_eq!(std::fs::read_to_string(f.path("old.txt")).unwrap(), "O");
    assert_eq!(f.ok(&["state", "list"]), "local_file.keep\n");
    assert_eq!(f.run(&["plan", "-detailed-exitcode"]).status.code(), Some(0));
    // destroy = true (the default) is an ordinary destroy.
    f.write(&format!("{}removed {{\n  from = local_file.keep\n}}\n", ""));
    let plan = f.ok(&["plan"]);
    assert!(plan.contains("# local_file.keep will be destroyed"), "{plan}");
}

#[test]
fn moves_that_cannot_be_are_refused_at_their_block() {
    let f = Fixture::new("moved-bad", &file("a", "A"));
    f.ok(&["apply", "-auto-approve"]);
    let cases = [
        // The old resource still declared.
        (format!("{}{}moved {{\n  from = local_file.a\n  to   = local_file.b\n}}\n", file("a", "A"), file("b", "B")), "still declared"),
        // Another type.
        ("resource \"random_id\" \"r\" {\n  byte_length = 2\n}\nmoved {\n  from = local_file.a\n  to   = random_id.r\n}\n".to_string(), "different types"),
        // A quoted address.
        (format!("{}moved {{\n  from = \"local_file.a\"\n  to   = local_file.b\n}}\n", file("b", "A")), "without quotes"),
        // removed for what is still declared.
        (format!("{}removed {{\n  from = local_file.a\n  lifecycle {{\n    destroy = false\n  }}\n}}\n", file("a", "A")), "still in the configuration"),
    ];
    for (config, said) in cases {
        f.write(&config);
        let out = f.run(&["plan"]);
        assert_eq!(out.status.code(), Some(1), "{config}");
        let err = text(&out.stderr);
        assert!(err.contains(said) && err.contains("main.lf:"), "{config}\n{err}");
    }
    assert_eq!(f.ok(&["state", "list"]), "local_file.a\n");
}

/// `from = x  to = x[0]` takes only the instance without a key, and an
/// instance moves to a resource that lost its count.
#[test]
fn instance_moves_follow_count_being_added_and_taken_away() {
    let counted = "resource \"local_file\" \"x\" {\n  count   = 2\n  path    = \"${path.module}/x${count.index}.txt\"\n  content = \"X\"\n}\n";
    let f = Fixture::new("moved-count", counted);
    f.ok(&["apply", "-auto-approve"]);
    let first = inode(&f, "x0.txt");
    // count removed: x[0] becomes x; x[1] is destroyed.
    f.write("resource \"local_file\" \"x\" {\n  path    = \"${path.module}/x0.txt\"\n  content = \"X\"\n}\nmoved {\n  from = local_file.x[0]\n  to   = local_file.x\n}\n");
    let plan = f.ok(&["plan"]);
    assert!(plan.contains("# local_file.x[0] has moved to local_file.x"), "{plan}");
    assert!(plan.contains("# local_file.x[1] will be destroyed"), "{plan}");
    f.ok(&["apply", "-auto-approve"]);
    assert_eq!(f.ok(&["state", "list"]), "local_file.x\n");
    assert_eq!(inode(&f, "x0.txt"), first);
    // count back: x becomes x[0] (and x[1] is created), never x[1] becoming x[0].
    f.write(&format!("{counted}moved {{\n  from = local_file.x\n  to   = local_file.x[0]\n}}\n"));
    let plan = f.ok(&["plan"]);
    assert!(plan.contains("# local_file.x has moved to local_file.x[0]"), "{plan}");
    assert!(plan.contains("Plan: 1 to add, 0 to change, 0 to destroy."), "{plan}");
    f.ok(&["apply", "-auto-approve"]);
    assert_eq!(inode(&f, "x0.txt"), first);
    assert_eq!(f.run(&["plan", "-detailed-exitcode"]).status.code(), Some(0));
}
