//! k-anonymity for published tables: primary suppression of every figure with fewer than `k`
//! distinct askers behind it, then complementary (secondary) suppression so that no suppressed
//! figure can be computed back from the figures that are shown.
//!
//! Every figure is a cell in one [`CellGrid`], whatever table shows it: the same figure in two
//! tables is one cell with one state. The tables' arithmetic is written down as
//! [`Relation`]s, `total = part_1 + ... + part_n` (by conversations, which add up; askers
//! nearly do). If a relation's total is shown and exactly one part is hidden, that part is
//! `total - the others`; so a second part (the smallest shown) is hidden too, or the total
//! when nothing else is left. This runs until no relation exposes a hidden part: hiding only
//! ever grows, so it ends. The relations include the margins across periods, topics,
//! outcomes, departments and specialists of one report, so subtracting across breakdowns
//! does not work either.
//!
//! The sum of a relation's hidden parts is known too (the total minus the shown parts), so it
//! must not be a small group either: while it is above zero and below `k` (by conversations or
//! by askers), another part is hidden. Together this is the "at least two suppressed cells per
//! line, with a protected sum" rule of statistical disclosure control: single hidden cells
//! cannot be computed and what is known about a group of them covers at least `k` people's
//! questions.
//!
//! Those two rules look at one relation at a time; an attacker combines them all (the classic
//! case: three relations `T1 = a + b`, `T2 = b + c`, `T3 = a + c` with every total shown and
//! two hidden parts each still give `a = (T1 - T2 + T3) / 2`). So after the rules, an exact
//! audit ([`CellGrid::exposures`]) solves the whole system the way an attacker would:
//! Gaussian elimination over the hidden cells, with the shown cells as constants. A hidden
//! cell is exposed when the equations determine it; a set of hidden cells is exposed when they
//! determine its sum and that sum is a group smaller than k. For each exposure one more cell
//! is hidden and the rules and the audit run again, until the audit finds nothing. A hidden
//! figure of 0 may still be known to be 0 (when everything around it is shown or 0 too): no
//! person is behind it, so it is not protected further.

/// An index into a [`CellGrid`].
pub type CellId = usize;

/// `total = parts[0] + parts[1] + ...`
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Relation {
    pub total: CellId,
    pub parts: Vec<CellId>,
}

/// Counts for every figure of a report, and which are hidden.
#[derive(Debug, Clone, Default)]
pub struct CellGrid {
    pub askers: Vec<u32>,
    pub conversations: Vec<u32>,
    pub hidden: Vec<bool>,
    /// Hidden because fewer than k askers (not only to protect another cell).
    pub small: Vec<bool>,
}

impl CellGrid {
    pub fn with_len(n: usize) -> CellGrid {
        CellGrid {
            askers: vec![0; n],
            conversations: vec![0; n],
            hidden: vec![false; n],
            small: vec![false; n],
        }
    }

    pub fn len(&self) -> usize {
        self.askers.len()
    }

    pub fn is_empty(&self) -> bool {
        self.askers.is_empty()
    }

    /// Hides every cell with fewer than `k` askers, then enough others that none can be
    /// derived through `relations`. Returns (small, complementary) counts over all cells.
    pub fn suppress(&mut self, k: u32, relations: &[Relation]) -> (usize, usize) {
        for id in 0..self.len() {
            if self.askers[id] < k {
                self.hidden[id] = true;
                self.small[id] = true;
            }
        }
        loop {
            self.apply_rules(k, relations);
            let exposures = self.exposures(k, relations);
            if exposures.is_empty() {
                break;
            }
            let mut hid_any = false;
            for exposure in &exposures {
                if let Some(victim) = self.partner_for(exposure, relations) {
                    self.hidden[victim] = true;
                    hid_any = true;
                }
            }
            if !hid_any {
                // every cell related to the exposed ones is hidden already; nothing more to
                // hide (the exposed values can then only be zeros forced by empty totals)
                tracing::warn!(
                    exposures = exposures.len(),
                    "the disclosure audit found figures it could not protect further"
                );
                break;
            }
        }
        let small = self.small.iter().filter(|&&s| s).count();
        let complementary = self.hidden.iter().filter(|&&h| h).count() - small;
        (small, complementary)
    }

    /// The one-relation rules of the module docs, until no relation exposes a hidden part.
    fn apply_rules(&mut self, k: u32, relations: &[Relation]) {
        loop {
            let mut changed = false;
            for relation in relations {
                if self.hidden[relation.total] {
                    continue;
                }
                let (mut hidden_parts, mut mass_conversations, mut mass_askers) = (0, 0, 0);
                for &p in &relation.parts {
                    if self.hidden[p] {
                        hidden_parts += 1;
                        mass_conversations += self.conversations[p];
                        mass_askers += self.askers[p];
                    }
                }
                // one hidden part is the total minus the others; several hidden parts are
                // safe only if what they add up to (also known from the total) is no small
                // group itself
                let exposed = hidden_parts == 1
                    || (hidden_parts > 1
                        && (mass_conversations > 0 || mass_askers > 0)
                        && (mass_conversations < k || mass_askers < k));
                if !exposed {
                    continue;
                }
                // hide the smallest shown part (least information lost), else the total
                let victim = relation
                    .parts
                    .iter()
                    .copied()
                    .filter(|&p| !self.hidden[p])
                    .min_by_key(|&p| (self.conversations[p], self.askers[p], p))
                    .unwrap_or(relation.total);
                self.hidden[victim] = true;
                changed = true;
            }
            if !changed {
                break;
            }
        }
    }

    /// A shown cell whose hiding takes an equation away from the attacker: the smallest shown
    /// part of a relation that involves an exposed cell, else such a relation's total.
    fn partner_for(&self, exposure: &[CellId], relations: &[Relation]) -> Option<CellId> {
        let involved = |r: &Relation| {
            exposure
                .iter()
                .any(|c| r.total == *c || r.parts.contains(c))
        };
        let key = |c: CellId| (self.conversations[c], self.askers[c], c);
        let candidates = relations.iter().filter(|r| involved(r));
        let part = candidates
            .clone()
            .flat_map(|r| r.parts.iter().copied())
            .filter(|&c| !self.hidden[c])
            .min_by_key(|&c| key(c));
        part.or_else(|| {
            candidates
                .map(|r| r.total)
                .filter(|&c| !self.hidden[c])
                .min_by_key(|&c| key(c))
        })
    }

    /// What an attacker who knows every relation and every shown figure can work out: each
    /// hidden cell the equations determine (alone), and each set of hidden cells whose sum
    /// they determine when that sum is a group smaller than `k`.
    pub fn exposures(&self, k: u32, relations: &[Relation]) -> Vec<Vec<CellId>> {
        let unknowns: Vec<CellId> = (0..self.len()).filter(|&c| self.hidden[c]).collect();
        // only hidden figures with someone behind them can be exposed (a month without
        // questions skips the elimination)
        if unknowns
            .iter()
            .all(|&c| self.conversations[c] == 0 && self.askers[c] == 0)
        {
            return Vec::new();
        }
        let mut index = vec![usize::MAX; self.len()];
        for (i, &c) in unknowns.iter().enumerate() {
            index[c] = i;
        }
        // one equation per relation touching a hidden cell: total - parts = (shown values)
        let mut equations: Vec<Vec<(usize, u64)>> = Vec::new();
        for relation in relations {
            let mut terms: Vec<(usize, u64)> = Vec::new();
            if self.hidden[relation.total] {
                terms.push((index[relation.total], 1));
            }
            for &p in &relation.parts {
                if self.hidden[p] {
                    terms.push((index[p], field::neg(1)));
                }
            }
            if !terms.is_empty() {
                equations.push(terms);
            }
        }
        // solve each connected group of unknowns on its own (small dense systems)
        let mut groups = field::UnionFind::new(unknowns.len());
        for terms in &equations {
            for pair in terms.windows(2) {
                groups.union(pair[0].0, pair[1].0);
            }
        }
        let mut by_group: std::collections::BTreeMap<usize, Vec<&Vec<(usize, u64)>>> =
            std::collections::BTreeMap::new();
        for terms in &equations {
            by_group
                .entry(groups.find(terms[0].0))
                .or_default()
                .push(terms);
        }
        let mut found = Vec::new();
        for (_, group) in by_group {
            let mut columns: Vec<usize> =
                group.iter().flat_map(|t| t.iter().map(|x| x.0)).collect();
            columns.sort_unstable();
            columns.dedup();
            let position = |u: usize| columns.binary_search(&u).expect("column of the group");
            let rows: Vec<Vec<u64>> = group
                .iter()
                .map(|terms| {
                    let mut row = vec![0u64; columns.len()];
                    for &(u, coefficient) in terms.iter() {
                        let at = position(u);
                        row[at] = field::add(row[at], coefficient);
                    }
                    row
                })
                .collect();
            for support in field::determined_sums(rows) {
                let cells: Vec<CellId> = support.iter().map(|&c| unknowns[columns[c]]).collect();
                let conversations: u32 = cells.iter().map(|&c| self.conversations[c]).sum();
                let askers: u32 = cells.iter().map(|&c| self.askers[c]).sum();
                // a zero is nobody: knowing it reveals no person (see the module docs)
                let someone = conversations > 0 || askers > 0;
                if someone && (cells.len() == 1 || conversations < k || askers < k) {
                    found.push(cells);
                }
            }
        }
        found
    }
}

/// Exact arithmetic modulo the prime 2^61 - 1: integer equations with small coefficients have
/// the same solutions there as over the rationals (barring a determinant divisible by that
/// prime, which ±1 tables of this size cannot reach), without fractions or rounding.
mod field {
    pub const P: u64 = (1 << 61) - 1;

    pub fn add(a: u64, b: u64) -> u64 {
        let s = a + b;
        if s >= P { s - P } else { s }
    }

    pub fn neg(a: u64) -> u64 {
        if a == 0 { 0 } else { P - a }
    }

    pub fn mul(a: u64, b: u64) -> u64 {
        let product = u128::from(a) * u128::from(b);
        let folded = (product & u128::from(P)) + (product >> 61);
        let folded = (folded & u128::from(P)) + (folded >> 61);
        let r = folded as u64;
        if r >= P { r - P } else { r }
    }

    pub fn pow(mut base: u64, mut exponent: u64) -> u64 {
        let mut result = 1;
        while exponent > 0 {
            if exponent & 1 == 1 {
                result = mul(result, base);
            }
            base = mul(base, base);
            exponent >>= 1;
        }
        result
    }

    pub fn inverse(a: u64) -> u64 {
        pow(a, P - 2)
    }

    /// Reduces `rows` to reduced row echelon form and returns, for every row whose non-zero
    /// coefficients are all equal (the sum of its columns is determined), those columns.
    pub fn determined_sums(mut rows: Vec<Vec<u64>>) -> Vec<Vec<usize>> {
        let width = rows.first().map_or(0, Vec::len);
        let mut pivot_row = 0;
        for column in 0..width {
            let Some(found) = (pivot_row..rows.len()).find(|&r| rows[r][column] != 0) else {
                continue;
            };
            rows.swap(pivot_row, found);
            let scale = inverse(rows[pivot_row][column]);
            for value in rows[pivot_row].iter_mut() {
                *value = mul(*value, scale);
            }
            let pivot = rows[pivot_row].clone();
            for (r, row) in rows.iter_mut().enumerate() {
                if r == pivot_row || row[column] == 0 {
                    continue;
                }
                let factor = neg(row[column]);
                for (value, p) in row.iter_mut().zip(&pivot) {
                    if *p != 0 {
                        *value = add(*value, mul(factor, *p));
                    }
                }
            }
            pivot_row += 1;
            if pivot_row == rows.len() {
                break;
            }
        }
        rows.truncate(pivot_row);
        rows.into_iter()
            .filter_map(|row| {
                let support: Vec<usize> = (0..width).filter(|&c| row[c] != 0).collect();
                let first = row[*support.first()?];
                support.iter().all(|&c| row[c] == first).then_some(support)
            })
            .collect()
    }

    /// Disjoint sets over `0..n`.
    pub struct UnionFind(Vec<usize>);

    impl UnionFind {
        pub fn new(n: usize) -> UnionFind {
            UnionFind((0..n).collect())
        }

        pub fn find(&mut self, mut x: usize) -> usize {
            while self.0[x] != x {
                self.0[x] = self.0[self.0[x]];
                x = self.0[x];
            }
            x
        }

        pub fn union(&mut self, a: usize, b: usize) {
            let (a, b) = (self.find(a), self.find(b));
            if a != b {
                self.0[a] = b;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grid(values: &[(u32, u32)]) -> CellGrid {
        let mut g = CellGrid::with_len(values.len());
        for (i, (askers, conversations)) in values.iter().enumerate() {
            g.askers[i] = *askers;
            g.conversations[i] = *conversations;
        }
        g
    }

    /// No relation may have a shown total and exactly one hidden part.
    fn assert_safe(g: &CellGrid, relations: &[Relation]) {
        for r in relations {
            if !g.hidden[r.total] {
                let hidden = r.parts.iter().filter(|&&p| g.hidden[p]).count();
                assert_ne!(hidden, 1, "{r:?} exposes its one hidden part");
            }
        }
    }

    #[test]
    fn a_lone_small_cell_takes_the_smallest_neighbour_with_it() {
        // total 30 = 12 + 3 + 15: hiding the 3 alone would leave 30 - 12 - 15 = 3
        let mut g = grid(&[(30, 30), (12, 12), (3, 3), (15, 15)]);
        let relations = [Relation {
            total: 0,
            parts: vec![1, 2, 3],
        }];
        assert_eq!(g.suppress(5, &relations), (1, 1));
        assert_eq!(g.hidden, [false, true, true, false]);
        assert_safe(&g, &relations);
    }

    #[test]
    fn hiding_spreads_through_the_margins_of_a_table() {
        // rows a, b; columns x, y; with row and column totals and the grand total
        //        x    y   | row
        //   a   20    2   | 22
        //   b   10   10   | 20
        //  col  30   12   | 42
        let mut g = grid(&[
            (20, 20),
            (2, 2),
            (22, 22),
            (10, 10),
            (10, 10),
            (20, 20),
            (30, 30),
            (12, 12),
            (42, 42),
        ]);
        let (ax, ay, a, bx, by, b, x, y, all) = (0, 1, 2, 3, 4, 5, 6, 7, 8);
        let relations = vec![
            Relation {
                total: a,
                parts: vec![ax, ay],
            },
            Relation {
                total: b,
                parts: vec![bx, by],
            },
            Relation {
                total: x,
                parts: vec![ax, bx],
            },
            Relation {
                total: y,
                parts: vec![ay, by],
            },
            Relation {
                total: all,
                parts: vec![a, b],
            },
            Relation {
                total: all,
                parts: vec![x, y],
            },
        ];
        let (small, complementary) = g.suppress(5, &relations);
        assert_eq!(small, 1);
        assert!(
            complementary >= 3,
            "a 2x2 table needs a rectangle of hidden cells"
        );
        assert!(g.hidden[ay]);
        assert_safe(&g, &relations);
    }

    #[test]
    fn hidden_parts_that_add_up_to_a_small_group_take_another_part_with_them() {
        // 17 = 10 + 6 + 1 + 0: hiding the 1 and the 0 still tells that one person asked
        // about one of the two
        let mut g = grid(&[(17, 17), (10, 10), (6, 6), (1, 1), (0, 0)]);
        let relations = [Relation {
            total: 0,
            parts: vec![1, 2, 3, 4],
        }];
        assert_eq!(g.suppress(5, &relations), (2, 1));
        assert_eq!(g.hidden, [false, false, true, true, true]);
        // an all-zero hidden group reveals nothing: no further hiding
        let mut g = grid(&[(16, 16), (10, 10), (6, 6), (0, 0), (0, 0)]);
        assert_eq!(g.suppress(5, &relations), (2, 0));
    }

    #[test]
    fn a_relation_with_nothing_else_to_hide_hides_its_total() {
        let mut g = grid(&[(10, 10), (2, 2)]);
        let relations = [Relation {
            total: 0,
            parts: vec![1],
        }];
        g.suppress(5, &relations);
        assert_eq!(g.hidden, [true, true]);
    }

    /// Every relation has two hidden parts, yet together they give each one away:
    /// a = (T1 - T2 + T3) / 2. The audit finds it and hides more until it cannot.
    #[test]
    fn the_audit_catches_what_one_relation_at_a_time_misses() {
        // cells: T1 T2 T3 a b c d; T1 = a + b, T2 = b + c, T3 = a + c + d
        let mut g = grid(&[(9, 9), (12, 12), (13, 13), (3, 3), (6, 6), (6, 6), (4, 4)]);
        let relations = [
            Relation {
                total: 0,
                parts: vec![3, 4],
            },
            Relation {
                total: 1,
                parts: vec![4, 5],
            },
            Relation {
                total: 2,
                parts: vec![3, 5, 6],
            },
        ];
        // hide a, b, c by hand, as the one-relation rules would leave them
        for c in [3, 4, 5, 6] {
            g.hidden[c] = true;
        }
        g.hidden[6] = false;
        let exposed = g.exposures(5, &relations);
        assert!(
            exposed.iter().any(|e| e == &vec![3]),
            "a is determined: {exposed:?}"
        );
        // the full procedure leaves nothing determined
        let mut g = grid(&[(9, 9), (12, 12), (13, 13), (3, 3), (6, 6), (6, 6), (4, 4)]);
        g.suppress(5, &relations);
        assert!(g.exposures(5, &relations).is_empty());
        assert!(g.hidden[3], "the small cell stays hidden");
    }

    #[test]
    fn the_audit_reports_small_sums_and_ignores_zeros() {
        // T = a + b + c with a, b hidden: a + b = T - c is known; 2 + 1 is a small group
        let relations = [Relation {
            total: 0,
            parts: vec![1, 2, 3],
        }];
        let mut g = grid(&[(20, 20), (2, 2), (1, 1), (17, 17)]);
        g.hidden[1] = true;
        g.hidden[2] = true;
        assert_eq!(g.exposures(5, &relations), vec![vec![1, 2]]);
        // zeros known to be zero reveal nobody
        let mut g = grid(&[(17, 17), (0, 0), (0, 0), (17, 17)]);
        g.hidden[1] = true;
        g.hidden[2] = true;
        assert!(g.exposures(5, &relations).is_empty());
    }

    #[test]
    fn nothing_is_hidden_when_every_cell_is_large_enough() {
        let mut g = grid(&[(10, 12), (5, 6), (5, 6)]);
        let relations = [Relation {
            total: 0,
            parts: vec![1, 2],
        }];
        assert_eq!(g.suppress(5, &relations), (0, 0));
        assert!(g.hidden.iter().all(|h| !h));
    }
}
