//! Small-cell protection: primary suppression of every cell below the threshold, then
//! complementary suppression until no published line gives a suppressed cell away.
//!
//! A line is a set of cells bound by one sum (parts and their total, e.g. the roles of
//! priority P1 and the P1 total). If exactly one cell of a line is suppressed, the others
//! give it by subtraction; so the smallest other cell of that line is suppressed too,
//! and the lines are checked again until none has exactly one suppressed cell. Tables
//! that share a total (every table of triaged cases has the same priority totals) share
//! the cell, so a total suppressed for one table is suppressed in all.

use std::collections::{BTreeMap, BTreeSet};

/// Cells by id, and the lines that bind them.
#[derive(Debug, Default, Clone)]
pub struct Grid {
    pub values: BTreeMap<String, u64>,
    pub lines: Vec<Vec<String>>,
}

impl Grid {
    /// Sets a cell.
    pub fn put(&mut self, id: String, value: u64) {
        self.values.insert(id, value);
    }

    /// Adds a sum: the `parts` add up to `total` (both are set as cells).
    pub fn sum(&mut self, parts: Vec<(String, u64)>, total: String) {
        let value = parts.iter().map(|(_, v)| v).sum();
        let mut line: Vec<String> = Vec::with_capacity(parts.len() + 1);
        for (id, v) in parts {
            self.values.insert(id.clone(), v);
            line.push(id);
        }
        self.values.insert(total.clone(), value);
        line.push(total);
        self.lines.push(line);
    }

    /// Binds cells already set: `parts` add up to `total`.
    pub fn bind(&mut self, parts: Vec<String>, total: String) {
        let mut line = parts;
        line.push(total);
        self.lines.push(line);
    }

    /// The value of a cell (0 if never set).
    pub fn value(&self, id: &str) -> u64 {
        self.values.get(id).copied().unwrap_or(0)
    }

    /// The cells to withhold: below `threshold`, and what complements them.
    pub fn suppressed(&self, threshold: u64) -> BTreeSet<String> {
        // extend, not collect: collect sorts with its own copy of the stable sort (shared::order).
        let mut hidden = BTreeSet::new();
        hidden.extend(self.values.iter().filter(|(_, v)| **v < threshold).map(|(id, _)| id.clone()));
        loop {
            let mut changed = false;
            for line in &self.lines {
                if line.iter().filter(|id| hidden.contains(*id)).count() != 1 {
                    continue;
                }
                // The smallest other cell hides the least (ties: the first part).
                let partner = line.iter().filter(|id| !hidden.contains(*id)).min_by_key(|id| self.value(id)).cloned();
                if let Some(id) = partner {
                    hidden.insert(id);
                    changed = true;
                }
            }
            if !changed {
                return hidden;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cells(pairs: &[(&str, u64)]) -> Vec<(String, u64)> {
        pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
    }

    #[test]
    fn a_lone_small_cell_takes_the_next_smallest_of_its_line_with_it() {
        let mut g = Grid::default();
        g.sum(cells(&[("a", 2), ("b", 9), ("c", 7)]), "t".into());
        let hidden = g.suppressed(5);
        assert_eq!(hidden, ["a", "c"].iter().map(|s| s.to_string()).collect());
    }

    #[test]
    fn a_shared_total_hidden_by_one_table_is_protected_in_the_other() {
        let mut g = Grid::default();
        // Table 1: P1 = 3 (small), P2 = 20 → total 23.
        g.sum(cells(&[("x/P1", 3), ("x/P2", 20)]), "total/P".into());
        // Table 2 has no small cell but shares the total of table 1's line... (via id)
        g.sum(cells(&[("y/a", 11), ("y/b", 12)]), "total/P".into());
        let hidden = g.suppressed(5);
        // x/P1 hidden, so x/P2 or total/P follows; if the total hides, table 2 must hide one more.
        for line in &g.lines {
            let n = line.iter().filter(|id| hidden.contains(*id)).count();
            assert_ne!(n, 1, "{line:?} {hidden:?}");
        }
        assert!(hidden.contains("x/P1"));
    }

    #[test]
    fn nothing_small_hides_nothing() {
        let mut g = Grid::default();
        g.sum(cells(&[("a", 5), ("b", 6)]), "t".into());
        assert!(g.suppressed(5).is_empty());
    }
}
