//! Issue 27's invariant: the engine has one walk. No file of `engine/src` but
//! `walk.rs` orders a graph by itself (petgraph's toposort, a hand-written
//! in-degree loop); destroys are nodes of apply's walk, not a phase of their own.

use std::path::Path;

fn sources(dir: &Path, out: &mut Vec<(String, String)>) {
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            sources(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push((p.display().to_string(), std::fs::read_to_string(&p).unwrap()));
        }
    }
}

#[test]
fn no_file_but_walk_rs_orders_a_graph() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&src, &mut files);
    assert!(files.len() > 20, "engine/src not found");
    for (path, text) in &files {
        if path.ends_with("walk.rs") {
            continue;
        }
        for needle in ["toposort", "topo_order", "Topo::new", "indegree", "in_degree"] {
            assert!(!text.contains(needle), "{path} orders a graph by itself ({needle}): walk it with crate::walk");
        }
    }
    assert!(!src.join("apply/delete.rs").exists(), "apply/delete.rs is back: destroys are nodes of the walk");
}
