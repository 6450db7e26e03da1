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
        let small = self.small.iter().filter(|&&s| s).count();
        let complementary = self.hidden.iter().filter(|&&h| h).count() - small;
        (small, complementary)
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
