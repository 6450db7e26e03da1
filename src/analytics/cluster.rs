//! Generic clustering behind the emerging topics ([`super::topics`]): cosine similarity of
//! sparse unit vectors through an inverted index, average-linkage (UPGMA) agglomeration with
//! the nearest-neighbour chain, cutting the dendrogram where the sampled silhouette is best,
//! and assigning what was left out of the agglomeration to the nearest centroid. Nothing here
//! knows about questions or askers: rows, weights and labels only.

use std::thread;

use rustc_hash::FxHashMap;

use super::topics::MIN_CENTROID_SIMILARITY;
use crate::nlu::SparseVector;

/// Candidate cuts: similarity thresholds `FIRST_CUT + i * CUT_STEP` up to `LAST_CUT`.
pub(super) const FIRST_CUT: f32 = 0.10;
pub(super) const LAST_CUT: f32 = 0.90;
pub(super) const CUT_STEP: f32 = 0.025;
/// The coarsest cut whose silhouette is at least this share of the best one wins.
pub(super) const SILHOUETTE_TOLERANCE: f64 = 0.95;
pub(super) const MAX_THREADS: usize = 4;

pub(super) fn dot(a: &SparseVector, b: &SparseVector) -> f32 {
    let (mut i, mut j, mut sum) = (0, 0, 0.0f32);
    while i < a.indices.len() && j < b.indices.len() {
        match a.indices[i].cmp(&b.indices[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                sum += a.values[i] * b.values[j];
                i += 1;
                j += 1;
            }
        }
    }
    sum
}

/// Unit-length weighted mean of unit vectors.
pub(super) fn centroid<'a>(parts: impl Iterator<Item = (&'a SparseVector, f64)>) -> SparseVector {
    let mut sum: FxHashMap<u32, f64> = FxHashMap::default();
    for (v, w) in parts {
        for (i, x) in v.iter() {
            *sum.entry(i).or_default() += w * f64::from(x);
        }
    }
    let mut entries: Vec<(u32, f64)> = sum.into_iter().collect();
    entries.sort_unstable_by_key(|(i, _)| *i);
    let norm = entries.iter().map(|(_, x)| x * x).sum::<f64>().sqrt();
    let scale = if norm > 0.0 { 1.0 / norm } else { 0.0 };
    SparseVector {
        indices: entries.iter().map(|(i, _)| *i).collect(),
        values: entries.iter().map(|(_, x)| (x * scale) as f32).collect(),
    }
}

pub(super) fn thread_count(work_items: usize) -> usize {
    if work_items < 256 {
        return 1;
    }
    thread::available_parallelism()
        .map_or(1, |n| n.get())
        .clamp(1, MAX_THREADS)
}

/// The full `h × h` cosine similarity matrix, row-major, with `-inf` on the diagonal (a text
/// is never its own neighbour). Computed through an inverted index (for each word, the texts
/// with it), so pairs without a common word cost nothing.
pub(super) fn similarity_matrix(rows: &[&SparseVector], dimension: usize) -> Vec<f32> {
    let h = rows.len();
    let mut matrix = vec![0f32; h * h];
    if h == 0 {
        return matrix;
    }
    let mut offsets = vec![0usize; dimension + 1];
    for row in rows {
        for index in &row.indices {
            offsets[*index as usize + 1] += 1;
        }
    }
    for i in 0..dimension {
        offsets[i + 1] += offsets[i];
    }
    let mut fill = offsets.clone();
    let mut postings = vec![(0u32, 0f32); offsets[dimension]];
    for (j, row) in rows.iter().enumerate() {
        for (index, value) in row.iter() {
            postings[fill[index as usize]] = (j as u32, value);
            fill[index as usize] += 1;
        }
    }
    let threads = thread_count(h);
    {
        // Rows dealt round-robin: early rows have more pairs (j > i) to compute.
        let mut buckets: Vec<Vec<(usize, &mut [f32])>> = (0..threads).map(|_| Vec::new()).collect();
        for (i, row) in matrix.chunks_mut(h).enumerate() {
            buckets[i % threads].push((i, row));
        }
        let (offsets, postings) = (&offsets, &postings);
        thread::scope(|scope| {
            for bucket in buckets {
                scope.spawn(move || {
                    for (i, out) in bucket {
                        for (index, value) in rows[i].iter() {
                            let list =
                                &postings[offsets[index as usize]..offsets[index as usize + 1]];
                            let after = list.partition_point(|(j, _)| *j as usize <= i);
                            for (j, other) in &list[after..] {
                                out[*j as usize] += value * other;
                            }
                        }
                    }
                });
            }
        });
    }
    // Mirror the upper triangle, in tiles for the cache.
    const TILE: usize = 64;
    for bi in (0..h).step_by(TILE) {
        for bj in (0..=bi).step_by(TILE) {
            for i in bi..(bi + TILE).min(h) {
                for j in bj..(bj + TILE).min(i) {
                    matrix[i * h + j] = matrix[j * h + i];
                }
            }
        }
    }
    for i in 0..h {
        matrix[i * h + i] = f32::NEG_INFINITY;
    }
    matrix
}

/// `count` evenly spaced positions in `0..n` (all of them when `n <= count`).
pub(super) fn systematic_sample(n: usize, count: usize) -> Vec<usize> {
    if n <= count {
        return (0..n).collect();
    }
    (0..count).map(|k| k * n / count).collect()
}

/// One merge of the dendrogram: two clusters (each named by one of its points) and the
/// average similarity between them.
#[derive(Debug, Clone, Copy)]
pub(super) struct Merge {
    pub(super) a: u32,
    pub(super) b: u32,
    pub(super) similarity: f32,
}

/// Weighted average linkage (UPGMA) by the nearest-neighbour chain; overwrites the matrix.
/// Returns the merges at least as similar as the lowest cut (`FIRST_CUT`), in the order
/// found (not sorted by similarity).
pub(super) fn average_linkage(matrix: &mut [f32], h: usize, weights: &[f64]) -> Vec<Merge> {
    let mut weight = weights.to_vec();
    let mut active: Vec<u32> = (0..h as u32).collect();
    let mut merges = Vec::with_capacity(h.saturating_sub(1));
    let mut chain: Vec<u32> = Vec::new();
    let mut retired = vec![false; h];
    while active.len() > 1 {
        if chain.is_empty() {
            chain.push(active[0]);
        }
        let merge = loop {
            let a = *chain.last().expect("the chain is not empty");
            let previous = (chain.len() >= 2).then(|| chain[chain.len() - 2]);
            let row = &matrix[a as usize * h..(a as usize + 1) * h];
            // Ties go to the previous element of the chain, which ends the chain there.
            let (mut best, mut best_similarity) = match previous {
                Some(p) => (p, row[p as usize]),
                None => (u32::MAX, f32::NEG_INFINITY),
            };
            for &x in &active {
                // The diagonal is -inf, so `a` itself never wins.
                if row[x as usize] > best_similarity {
                    best = x;
                    best_similarity = row[x as usize];
                }
            }
            if best == u32::MAX || best_similarity < FIRST_CUT {
                // Nothing is similar enough to `a` for any cut, and (the chain's similarities
                // grow towards its end) nothing to the rest of the chain either. Whatever
                // these clusters would still merge with, UPGMA would do it below every cut
                // (merges are monotone), and without changing a merge above one: retire them.
                for x in chain.drain(..) {
                    retired[x as usize] = true;
                }
                active.retain(|x| !retired[*x as usize]);
                break None;
            }
            if Some(best) == previous {
                chain.truncate(chain.len() - 2);
                break Some((a, best, best_similarity));
            }
            chain.push(best);
        };
        let Some((a, b, similarity)) = merge else {
            continue;
        };
        let (keep, gone) = (a.min(b) as usize, a.max(b) as usize);
        let (wk, wg) = (weight[keep], weight[gone]);
        let total = wk + wg;
        active.retain(|x| *x as usize != gone);
        for &x in &active {
            let x = x as usize;
            if x == keep {
                continue;
            }
            let merged = ((wk * f64::from(matrix[keep * h + x])
                + wg * f64::from(matrix[gone * h + x]))
                / total) as f32;
            matrix[keep * h + x] = merged;
            matrix[x * h + keep] = merged;
        }
        weight[keep] = total;
        merges.push(Merge {
            a: keep as u32,
            b: gone as u32,
            similarity,
        });
    }
    merges
}

/// Cluster labels (the smallest point of each cluster) of the cut at `threshold`: the
/// clusters formed by every merge at least that similar.
pub(super) fn cut(merges: &[Merge], h: usize, threshold: f32) -> Vec<u32> {
    fn find(parent: &mut [u32], mut x: u32) -> u32 {
        while parent[x as usize] != x {
            let up = parent[parent[x as usize] as usize];
            parent[x as usize] = up;
            x = up;
        }
        x
    }
    let mut parent: Vec<u32> = (0..h as u32).collect();
    for m in merges.iter().filter(|m| m.similarity >= threshold) {
        let (ra, rb) = (find(&mut parent, m.a), find(&mut parent, m.b));
        if ra != rb {
            parent[ra.max(rb) as usize] = ra.min(rb);
        }
    }
    (0..h as u32).map(|x| find(&mut parent, x)).collect()
}

/// A sampled text and its positive similarities to the other texts (vectors have no negative
/// weights, so all others are 0).
pub(super) struct SampleRow {
    pub(super) point: usize,
    pub(super) similar: Vec<(u32, f32)>,
}

/// Mean silhouette of the sample under `labels` (cosine distance; singletons score 0), or
/// `None` when the cut has a single cluster (the silhouette is undefined).
pub(super) fn silhouette(labels: &[u32], sample: &[SampleRow]) -> Option<f64> {
    const SINGLE: u32 = u32::MAX;
    let h = labels.len();
    let mut size = vec![0u32; h];
    for label in labels {
        size[*label as usize] += 1;
    }
    let clusters = size.iter().filter(|s| **s > 0).count();
    if clusters < 2 {
        return None;
    }
    // Clusters of two or more get a slot for similarity sums; singletons are compared one
    // by one, and only the most similar one matters.
    let mut slot_of_label = vec![SINGLE; h];
    let mut slot_size: Vec<f64> = Vec::new();
    for (label, s) in size.iter().enumerate() {
        if *s >= 2 {
            slot_of_label[label] = slot_size.len() as u32;
            slot_size.push(f64::from(*s));
        }
    }
    let slot: Vec<u32> = labels.iter().map(|l| slot_of_label[*l as usize]).collect();
    let mut sums = vec![0f64; slot_size.len()];
    let mut touched: Vec<u32> = Vec::new();
    let mut total = 0.0;
    for row in sample {
        let own = slot[row.point];
        if own == SINGLE {
            continue;
        }
        let mut nearest_single = 0f32;
        let mut similar_singles = 0;
        for (j, similarity) in &row.similar {
            let s = slot[*j as usize];
            if s == SINGLE {
                nearest_single = nearest_single.max(*similarity);
                similar_singles += 1;
            } else {
                if sums[s as usize] == 0.0 {
                    touched.push(s);
                }
                sums[s as usize] += f64::from(*similarity);
            }
        }
        // Distances are at most 1 (no negative similarities) and another cluster exists, so
        // the clusters without a similar text (distance 1) need no visit.
        let mut b: f64 = 1.0;
        if similar_singles > 0 {
            b = b.min(1.0 - f64::from(nearest_single));
        }
        let own = own as usize;
        let a = 1.0 - sums[own] / (slot_size[own] - 1.0);
        for s in touched.drain(..) {
            let s = s as usize;
            if s != own {
                b = b.min(1.0 - sums[s] / slot_size[s]);
            }
            sums[s] = 0.0;
        }
        let denominator = a.max(b);
        if denominator > 0.0 {
            total += (b - a) / denominator;
        }
    }
    Some(total / sample.len() as f64)
}

/// Labels of the chosen cut (see the module docs); every text on its own when no cut has
/// two or more clusters.
pub(super) fn best_cut(merges: &[Merge], h: usize, sample: &[SampleRow]) -> Vec<u32> {
    let steps = ((LAST_CUT - FIRST_CUT) / CUT_STEP).round() as usize;
    let mut thresholds: Vec<f32> = Vec::new();
    let mut last_count = usize::MAX;
    for step in 0..=steps {
        let t = FIRST_CUT + step as f32 * CUT_STEP;
        let count = merges.iter().filter(|m| m.similarity >= t).count();
        // A threshold that adds no merge gives the same partition as the one before.
        if count != last_count {
            thresholds.push(t);
            last_count = count;
        }
    }
    let threads = thread_count(h).min(thresholds.len().max(1));
    let scores: Vec<Option<f64>> = thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let thresholds = &thresholds;
                scope.spawn(move || {
                    thresholds
                        .iter()
                        .enumerate()
                        .filter(|(i, _)| i % threads == t)
                        .map(|(i, threshold)| {
                            let labels = cut(merges, h, *threshold);
                            (i, silhouette(&labels, sample))
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        let mut scores = vec![None; thresholds.len()];
        for handle in handles {
            for (i, score) in handle.join().expect("a silhouette thread panicked") {
                scores[i] = score;
            }
        }
        scores
    });
    let best = scores
        .iter()
        .flatten()
        .copied()
        .fold(f64::NEG_INFINITY, f64::max);
    // No cut beats leaving every text on its own (silhouette 0).
    if best.is_nan() || best <= 0.0 {
        return (0..h as u32).collect();
    }
    // Thresholds ascend, so the first one close enough to the best is the coarsest.
    let chosen = thresholds
        .iter()
        .zip(&scores)
        .find(|(_, score)| {
            score.is_some_and(|s| s >= best - (1.0 - SILHOUETTE_TOLERANCE) * best.abs())
        })
        .map(|(t, _)| *t)
        .expect("the best score is among the scores");
    cut(merges, h, chosen)
}

/// Texts that were not agglomerated join the most similar centroid when close enough.
pub(super) fn assign_leftovers(
    leftovers: &[u32],
    vectors: &[SparseVector],
    centroids: &[SparseVector],
    members: &mut [Vec<u32>],
) {
    if leftovers.is_empty() || centroids.is_empty() {
        return;
    }
    let mut postings: FxHashMap<u32, Vec<(u32, f32)>> = FxHashMap::default();
    for (c, centroid) in centroids.iter().enumerate() {
        for (i, x) in centroid.iter() {
            postings.entry(i).or_default().push((c as u32, x));
        }
    }
    let mut scores = vec![0f32; centroids.len()];
    let mut touched: Vec<u32> = Vec::new();
    for &t in leftovers {
        for (i, x) in vectors[t as usize].iter() {
            for (c, y) in postings.get(&i).into_iter().flatten() {
                if scores[*c as usize] == 0.0 {
                    touched.push(*c);
                }
                scores[*c as usize] += x * y;
            }
        }
        let mut best: Option<(f32, u32)> = None;
        for &c in &touched {
            let s = scores[c as usize];
            if best.is_none_or(|(bs, bc)| s > bs || (s == bs && c < bc)) {
                best = Some((s, c));
            }
        }
        if let Some((s, c)) = best
            && s >= MIN_CENTROID_SIMILARITY
        {
            members[c as usize].push(t);
        }
        for c in touched.drain(..) {
            scores[c as usize] = 0.0;
        }
    }
}
