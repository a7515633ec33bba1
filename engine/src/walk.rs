//! The walk: hands out a dependency graph's nodes as their dependencies
//! complete. It knows nothing of resources; what a node does is its driver's
//! (the planner visits one node at a time; apply starts many and completes
//! them as their provider calls return). Nodes are numbered `0..len`.
//!
//! **Invariant:** this is the engine's one topological order: planning and
//! apply (its destroys included) both walk through it.

/// Which nodes are ready to start, which wait, and for what.
pub struct Walk {
    /// For each node, how many of its dependencies have not completed.
    waits: Vec<usize>,
    dependents: Vec<Vec<usize>>,
    dependencies: Vec<Vec<usize>>,
    /// Ready nodes, taken from the end.
    ready: Vec<usize>,
    completed: Vec<bool>,
}

impl Walk {
    /// A walk of `len` nodes where each `(node, dependency)` pair says that
    /// `node` starts only after `dependency` completed. Repeated pairs count once.
    pub fn new(len: usize, edges: impl IntoIterator<Item = (usize, usize)>) -> Walk {
        let mut dependencies: Vec<Vec<usize>> = vec![Vec::new(); len];
        let mut dependents: Vec<Vec<usize>> = vec![Vec::new(); len];
        for (node, dependency) in edges {
            if node < len && dependency < len && !dependencies[node].contains(&dependency) {
                dependencies[node].push(dependency);
                dependents[dependency].push(node);
            }
        }
        let waits: Vec<usize> = dependencies.iter().map(Vec::len).collect();
        // The lowest-numbered node is taken last, as apply's loop always did.
        let ready = (0..len).filter(|n| waits[*n] == 0).collect();
        Walk { waits, dependents, dependencies, ready, completed: vec![false; len] }
    }

    /// A node whose dependencies have all completed, if any is left.
    pub fn next_ready(&mut self) -> Option<usize> {
        self.ready.pop()
    }

    /// `n` completed: what waited only for it becomes ready.
    pub fn complete(&mut self, n: usize) {
        if n >= self.completed.len() || std::mem::replace(&mut self.completed[n], true) {
            return;
        }
        for &d in &self.dependents[n] {
            self.waits[d] -= 1;
            if self.waits[d] == 0 {
                self.ready.push(d);
            }
        }
    }

    /// What `n` waits for.
    pub fn dependencies(&self, n: usize) -> &[usize] {
        &self.dependencies[n]
    }

    /// Every node in an order the walk allows, one at a time: what a driver
    /// that completes each node as it visits it sees. Nodes on a cycle are
    /// left out (the builders refuse cycles before anything is walked).
    /// The same order as `new`'s walk completed node by node, kept in flat
    /// arrays (the planner walks every local and variable of a configuration).
    pub fn sequential(len: usize, edges: impl IntoIterator<Item = (usize, usize)>) -> Vec<usize> {
        // Each (node, dependency) pair once, in the order first given.
        let mut pairs: Vec<(usize, usize)> = edges.into_iter().filter(|&(n, d)| n < len && d < len).collect();
        let mut seen = std::collections::HashSet::with_capacity(pairs.len());
        pairs.retain(|p| seen.insert(*p));
        drop(seen);
        let mut waits = vec![0u32; len];
        // The dependents of each node, contiguous, in the order given.
        let mut start = vec![0u32; len + 1];
        for &(n, d) in &pairs {
            waits[n] += 1;
            start[d + 1] += 1;
        }
        for i in 0..len {
            start[i + 1] += start[i];
        }
        let mut next = start.clone();
        let mut dependents = vec![0u32; pairs.len()];
        for &(n, d) in &pairs {
            dependents[next[d] as usize] = n as u32;
            next[d] += 1;
        }
        drop(next);
        // Lowest-numbered first: the order nodes were added in, where it is free.
        let mut ready: Vec<usize> = (0..len).rev().filter(|n| waits[*n] == 0).collect();
        let mut out = Vec::with_capacity(len);
        while let Some(n) = ready.pop() {
            out.push(n);
            for &d in &dependents[start[n] as usize..start[n + 1] as usize] {
                let d = d as usize;
                waits[d] -= 1;
                if waits[d] == 0 {
                    ready.push(d);
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::Walk;

    #[test]
    fn a_node_starts_only_after_everything_it_waits_for_completed() {
        // 2 waits for 0 and 1; 3 waits for 2.
        let mut w = Walk::new(4, [(2, 0), (2, 1), (3, 2), (2, 0)]);
        let mut first = vec![w.next_ready().unwrap(), w.next_ready().unwrap()];
        first.sort();
        assert_eq!(first, [0, 1]);
        assert_eq!(w.next_ready(), None);
        w.complete(0);
        w.complete(0);
        assert_eq!(w.next_ready(), None);
        w.complete(1);
        assert_eq!(w.next_ready(), Some(2));
        w.complete(2);
        assert_eq!(w.next_ready(), Some(3));
        assert_eq!(w.dependencies(2), [0, 1]);
    }

    #[test]
    fn the_sequential_order_puts_dependencies_first_and_leaves_out_cycles() {
        let order = Walk::sequential(5, [(0, 3), (1, 0), (4, 4)]);
        assert_eq!(order, [2, 3, 0, 1]);
    }
}
