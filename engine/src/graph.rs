//! Generic directed-graph utilities: cycles, DOT (the order of a walk is
//! `crate::walk`'s). Knows
//! nothing of resources; the builder in `build.rs` turns configuration into
//! one of these.

use petgraph::graph::{DiGraph, NodeIndex};
use petgraph::Direction;

/// A graph whose edges run from a dependency to what depends on it.
pub struct Dag<N> {
    pub g: DiGraph<N, ()>,
}

impl<N> Default for Dag<N> {
    fn default() -> Self {
        Dag { g: DiGraph::new() }
    }
}

impl<N> Dag<N> {
    pub fn add(&mut self, n: N) -> NodeIndex {
        self.g.add_node(n)
    }

    /// `dependent` depends on `dependency`.
    pub fn depend(&mut self, dependent: NodeIndex, dependency: NodeIndex) {
        if !self.g.contains_edge(dependency, dependent) {
            self.g.add_edge(dependency, dependent, ());
        }
    }

    pub fn dependencies(&self, n: NodeIndex) -> impl Iterator<Item = NodeIndex> + '_ {
        self.g.neighbors_directed(n, Direction::Incoming)
    }

    pub fn dependents(&self, n: NodeIndex) -> impl Iterator<Item = NodeIndex> + '_ {
        self.g.neighbors_directed(n, Direction::Outgoing)
    }

    /// Every cycle (strongly connected component of more than one node, or a
    /// node that depends on itself), each in dependency order.
    pub fn cycles(&self) -> Vec<Vec<NodeIndex>> {
        petgraph::algo::tarjan_scc(&self.g)
            .into_iter()
            .filter(|c| c.len() > 1 || self.g.contains_edge(c[0], c[0]))
            .map(|mut c| {
                c.reverse();
                c
            })
            .collect()
    }

    /// The graph in Graphviz DOT, with each node labelled by `label`.
    pub fn to_dot(&self, label: impl Fn(&N) -> String) -> String {
        let mut out =
            String::from("digraph landform {\n  compound = \"true\"\n  newrank = \"true\"\n  rankdir = \"RL\"\n");
        let mut nodes: Vec<(String, NodeIndex)> = self.g.node_indices().map(|i| (label(&self.g[i]), i)).collect();
        nodes.sort();
        for (l, _) in &nodes {
            out.push_str(&format!(
                "  \"{}\" [label = \"{}\", shape = \"box\"]\n",
                l.replace('"', "\\\""),
                l.replace('"', "\\\"")
            ));
        }
        let mut edges: Vec<(String, String)> = self
            .g
            .edge_indices()
            .filter_map(|e| self.g.edge_endpoints(e))
            .map(|(a, b)| (label(&self.g[b]), label(&self.g[a])))
            .collect();
        edges.sort();
        for (from, to) in edges {
            out.push_str(&format!("  \"{}\" -> \"{}\"\n", from.replace('"', "\\\""), to.replace('"', "\\\"")));
        }
        out.push_str("}\n");
        out
    }
}

#[cfg(test)]
mod tests {
    use super::Dag;

    #[test]
    fn a_chain_has_no_cycle() {
        let mut d = Dag::default();
        let a = d.add("a");
        let b = d.add("b");
        let c = d.add("c");
        d.depend(b, a);
        d.depend(c, b);
        assert!(d.cycles().is_empty());
    }

    #[test]
    fn cycles_name_every_node_and_self_loops_count() {
        let mut d = Dag::default();
        let a = d.add("a");
        let b = d.add("b");
        let c = d.add("c");
        let lone = d.add("lone");
        d.depend(a, b);
        d.depend(b, c);
        d.depend(c, a);
        d.depend(lone, lone);
        let mut cycles: Vec<Vec<&str>> =
            d.cycles().into_iter().map(|c| c.into_iter().map(|i| d.g[i]).collect()).collect();
        cycles.iter_mut().for_each(|c| c.sort());
        cycles.sort();
        assert_eq!(cycles, vec![vec!["a", "b", "c"], vec!["lone"]]);
    }

    #[test]
    fn dot_lists_nodes_and_edges_sorted() {
        let mut d = Dag::default();
        let a = d.add("x.a");
        let b = d.add("x.b");
        d.depend(b, a);
        d.depend(b, a);
        let dot = d.to_dot(|n| n.to_string());
        assert!(dot.contains("\"x.b\" -> \"x.a\""));
        assert_eq!(dot.matches("->").count(), 1, "a repeated dependency is one edge");
    }
}
