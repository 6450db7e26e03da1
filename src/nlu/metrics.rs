//! Evaluation metrics for intent classification with an out-of-scope option, and the
//! threshold search behind `eval --threshold auto`.
//!
//! Definitions (as in the CLINC150 paper, Larson et al. 2019):
//! - *accuracy*: share of all examples whose final decision is right; out of scope counts as
//!   a label of its own.
//! - *in-scope accuracy*: over in-scope examples only; predicting out of scope is wrong.
//! - *oos recall / precision*: for the out-of-scope label.
//! - *macro-F1*: unweighted mean F1 over every label that occurs as truth or prediction.
//! - *ECE*: expected calibration error of the model's top probability (over all classes, the
//!   out-of-scope class included) against whether that top class is right, 15 equal-width bins.

use std::collections::BTreeMap;

use serde::Serialize;

use super::classifier::Scores;

/// The label used for out-of-scope in reports.
pub const OUT_OF_SCOPE: &str = "oos";

/// One evaluated example. `None` labels mean out of scope.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    pub truth: Option<String>,
    pub predicted: Option<String>,
    /// The model's top probability (over all classes).
    pub confidence: f32,
    /// Whether the model's top class (the out-of-scope class included) is the truth.
    pub top_correct: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LabelMetrics {
    pub intent: String,
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
    pub support: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Confusion {
    pub truth: String,
    pub predicted: String,
    pub count: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Metrics {
    pub examples: usize,
    pub in_scope_examples: usize,
    pub oos_examples: usize,
    pub accuracy: f64,
    pub in_scope_accuracy: f64,
    /// `None` when the test set has no out-of-scope examples.
    pub oos_recall: Option<f64>,
    /// `None` when nothing was predicted out of scope.
    pub oos_precision: Option<f64>,
    pub macro_f1: f64,
    pub ece: f64,
    pub per_intent: Vec<LabelMetrics>,
    /// The ten most frequent mistakes, most frequent first.
    pub confusions: Vec<Confusion>,
}

fn label(l: &Option<String>) -> &str {
    l.as_deref().unwrap_or(OUT_OF_SCOPE)
}

fn ratio(numerator: usize, denominator: usize) -> Option<f64> {
    (denominator > 0).then(|| numerator as f64 / denominator as f64)
}

pub fn compute(outcomes: &[Outcome]) -> Metrics {
    let n = outcomes.len();
    let correct = outcomes.iter().filter(|o| o.truth == o.predicted).count();
    let in_scope: Vec<&Outcome> = outcomes.iter().filter(|o| o.truth.is_some()).collect();
    let in_scope_correct = in_scope.iter().filter(|o| o.truth == o.predicted).count();
    let oos_examples = n - in_scope.len();
    let oos_hits = outcomes
        .iter()
        .filter(|o| o.truth.is_none() && o.predicted.is_none())
        .count();
    let oos_predicted = outcomes.iter().filter(|o| o.predicted.is_none()).count();

    // label -> (true positives, predicted count, support)
    let mut counts: BTreeMap<&str, (usize, usize, usize)> = BTreeMap::new();
    let mut confusion_counts: BTreeMap<(&str, &str), usize> = BTreeMap::new();
    for o in outcomes {
        let (t, p) = (label(&o.truth), label(&o.predicted));
        counts.entry(t).or_default().2 += 1;
        counts.entry(p).or_default().1 += 1;
        if t == p {
            counts.entry(t).or_default().0 += 1;
        } else {
            *confusion_counts.entry((t, p)).or_default() += 1;
        }
    }
    let per_intent: Vec<LabelMetrics> = counts
        .iter()
        .map(|(intent, &(tp, predicted, support))| {
            let precision = ratio(tp, predicted).unwrap_or(0.0);
            let recall = ratio(tp, support).unwrap_or(0.0);
            let f1 = if precision + recall > 0.0 {
                2.0 * precision * recall / (precision + recall)
            } else {
                0.0
            };
            LabelMetrics {
                intent: intent.to_string(),
                precision,
                recall,
                f1,
                support,
            }
        })
        .collect();
    let macro_f1 = if per_intent.is_empty() {
        0.0
    } else {
        per_intent.iter().map(|m| m.f1).sum::<f64>() / per_intent.len() as f64
    };
    let mut confusions: Vec<Confusion> = confusion_counts
        .into_iter()
        .map(|((truth, predicted), count)| Confusion {
            truth: truth.to_string(),
            predicted: predicted.to_string(),
            count,
        })
        .collect();
    // stable sort: ties stay in label order
    confusions.sort_by_key(|c| std::cmp::Reverse(c.count));
    confusions.truncate(10);

    Metrics {
        examples: n,
        in_scope_examples: in_scope.len(),
        oos_examples,
        accuracy: ratio(correct, n).unwrap_or(0.0),
        in_scope_accuracy: ratio(in_scope_correct, in_scope.len()).unwrap_or(0.0),
        oos_recall: ratio(oos_hits, oos_examples),
        oos_precision: ratio(oos_hits, oos_predicted),
        macro_f1,
        ece: expected_calibration_error(outcomes, 15),
        per_intent,
        confusions,
    }
}

pub fn expected_calibration_error(outcomes: &[Outcome], bins: usize) -> f64 {
    if outcomes.is_empty() {
        return 0.0;
    }
    // per bin: (count, sum of confidence, correct count)
    let mut table = vec![(0usize, 0.0f64, 0usize); bins];
    for o in outcomes {
        let confidence = f64::from(o.confidence.clamp(0.0, 1.0));
        let bin = ((confidence * bins as f64) as usize).min(bins - 1);
        table[bin].0 += 1;
        table[bin].1 += confidence;
        table[bin].2 += usize::from(o.top_correct);
    }
    let n = outcomes.len() as f64;
    table
        .iter()
        .filter(|(count, _, _)| *count > 0)
        .map(|&(count, confidence, correct)| {
            let c = count as f64;
            (c / n) * (correct as f64 / c - confidence / c).abs()
        })
        .sum()
}

/// An example scored for choosing the decision thresholds.
#[derive(Debug, Clone)]
pub struct ThresholdSample {
    pub is_out_of_scope: bool,
    /// Whether the best intent is the true one (always false for out-of-scope examples).
    pub best_correct: bool,
    /// Whether the second-best intent is the true one.
    pub second_correct: bool,
    pub scores: Scores,
}

/// Decision thresholds chosen on validation (or out-of-fold) predictions.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct TunedDecision {
    pub threshold: f32,
    /// (in-scope accuracy + oos recall) / 2 at the threshold, on the tuning data.
    pub objective: f64,
    pub in_scope_accuracy: f64,
    pub oos_recall: f64,
    /// The ambiguity margin that gives the best expected outcome (see [`choose_margin`]).
    pub ambiguity_margin: f32,
}

/// Chooses the out-of-scope threshold, then the ambiguity margin at that threshold. `None`
/// when the samples hold no out-of-scope examples or no in-scope ones (nothing to trade off).
pub fn tune_decisions(samples: &[ThresholdSample]) -> Option<TunedDecision> {
    let oos = samples.iter().filter(|s| s.is_out_of_scope).count();
    let in_scope = samples.len() - oos;
    if oos == 0 || in_scope == 0 {
        return None;
    }
    let rates = |threshold: f32| {
        let mut in_scope_hits = 0usize;
        let mut oos_hits = 0usize;
        for s in samples {
            let rejected = s.scores.is_out_of_scope(threshold);
            if s.is_out_of_scope {
                oos_hits += usize::from(rejected);
            } else {
                in_scope_hits += usize::from(!rejected && s.best_correct);
            }
        }
        (
            in_scope_hits as f64 / in_scope as f64,
            oos_hits as f64 / oos as f64,
        )
    };
    let threshold = best_on_grid(1000, |t| {
        let (a, r) = rates(t);
        (a + r) / 2.0
    });
    let (in_scope_accuracy, oos_recall) = rates(threshold);
    Some(TunedDecision {
        threshold,
        objective: (in_scope_accuracy + oos_recall) / 2.0,
        in_scope_accuracy,
        oos_recall,
        ambiguity_margin: choose_margin(samples, threshold),
    })
}

/// The ambiguity margin in [0, 0.5) that maximises the expected outcome over the in-scope
/// questions that pass `threshold`, scoring a right referral +1, a wrong one -1, and asking
/// "did you mean A or B?" +0.5 when the answer is among the two (one extra click) and -0.5
/// when it is not. So the bot asks exactly where a plain referral is more often wrong than
/// right.
pub fn choose_margin(samples: &[ThresholdSample], threshold: f32) -> f32 {
    let passing: Vec<&ThresholdSample> = samples
        .iter()
        .filter(|s| !s.is_out_of_scope && !s.scores.is_out_of_scope(threshold))
        .collect();
    best_on_grid(500, |margin| {
        passing
            .iter()
            .map(|s| {
                let asked = s.scores.best_probability - s.scores.second_probability < margin;
                match (asked, s.best_correct || s.second_correct, s.best_correct) {
                    (true, true, _) => 0.5,
                    (true, false, _) => -0.5,
                    (false, _, true) => 1.0,
                    (false, _, false) => -1.0,
                }
            })
            .sum::<f64>()
    })
}

/// The grid point `i / 1000` (i in 0..=last) with the highest `objective`; among equally good
/// points the middle of the longest run, which generalises better than an edge.
fn best_on_grid(last: usize, objective: impl Fn(f32) -> f64) -> f32 {
    let values: Vec<f64> = (0..=last).map(|i| objective(i as f32 / 1000.0)).collect();
    let best = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let mut run_start = None;
    let mut best_run: Option<(usize, usize)> = None;
    for (i, v) in values.iter().enumerate() {
        if (*v - best).abs() < 1e-12 {
            let start = *run_start.get_or_insert(i);
            match best_run {
                Some((s, e)) if e - s >= i - start => {}
                _ => best_run = Some((start, i)),
            }
        } else {
            run_start = None;
        }
    }
    let (start, end) = best_run.expect("the maximum is on the grid");
    ((start + end) / 2) as f32 / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn o(truth: Option<&str>, predicted: Option<&str>, confidence: f32) -> Outcome {
        Outcome {
            truth: truth.map(String::from),
            predicted: predicted.map(String::from),
            confidence,
            top_correct: truth == predicted,
        }
    }

    /// Hand-computed example: 6 examples, labels a, b and oos.
    ///   truth a -> a (0.9), a -> b (0.6), b -> b (0.8), b -> oos (0.3), oos -> oos (0.7),
    ///   oos -> a (0.5)
    /// accuracy 3/6; in-scope accuracy 2/4; oos recall 1/2, oos precision 1/2.
    /// a: tp 1, predicted 2, support 2 -> P 0.5 R 0.5 F1 0.5
    /// b: tp 1, predicted 2, support 2 -> P 0.5 R 0.5 F1 0.5
    /// oos: tp 1, predicted 2, support 2 -> F1 0.5; macro-F1 0.5.
    /// ECE with 15 bins: bins hold {0.9:1 ok}, {0.6:0}, {0.8:1}, {0.3:0}, {0.7:1}, {0.5:0}; each
    /// alone, so ECE = (0.1 + 0.6 + 0.2 + 0.3 + 0.3 + 0.5) / 6 = 2.0 / 6.
    #[test]
    fn metrics_match_a_hand_computed_example() {
        let outcomes = [
            o(Some("a"), Some("a"), 0.9),
            o(Some("a"), Some("b"), 0.6),
            o(Some("b"), Some("b"), 0.8),
            o(Some("b"), None, 0.3),
            o(None, None, 0.7),
            o(None, Some("a"), 0.5),
        ];
        let m = compute(&outcomes);
        assert_eq!(m.examples, 6);
        assert_eq!((m.in_scope_examples, m.oos_examples), (4, 2));
        assert!((m.accuracy - 0.5).abs() < 1e-12);
        assert!((m.in_scope_accuracy - 0.5).abs() < 1e-12);
        assert_eq!(m.oos_recall, Some(0.5));
        assert_eq!(m.oos_precision, Some(0.5));
        assert!((m.macro_f1 - 0.5).abs() < 1e-12);
        assert!((m.ece - 2.0 / 6.0).abs() < 1e-6, "{}", m.ece);
        let labels: Vec<_> = m.per_intent.iter().map(|l| l.intent.as_str()).collect();
        assert_eq!(labels, ["a", "b", "oos"]);
        assert_eq!(m.confusions.len(), 3);
        assert!(m.confusions.iter().all(|c| c.count == 1));
    }

    #[test]
    fn f1_and_confusions_with_uneven_counts() {
        // a: support 3, predicted 4 (tp 3) -> P .75 R 1 F1 6/7; b: support 2, predicted 1, tp 1
        let outcomes = [
            o(Some("a"), Some("a"), 0.9),
            o(Some("a"), Some("a"), 0.9),
            o(Some("a"), Some("a"), 0.9),
            o(Some("b"), Some("a"), 0.9),
            o(Some("b"), Some("b"), 0.9),
        ];
        let m = compute(&outcomes);
        let a = &m.per_intent[0];
        assert!((a.precision - 0.75).abs() < 1e-12 && (a.recall - 1.0).abs() < 1e-12);
        assert!((a.f1 - 6.0 / 7.0).abs() < 1e-12);
        let b = &m.per_intent[1];
        assert!((b.f1 - 2.0 / 3.0).abs() < 1e-12);
        assert!((m.macro_f1 - (6.0 / 7.0 + 2.0 / 3.0) / 2.0).abs() < 1e-12);
        assert_eq!(m.oos_recall, None);
        assert_eq!(
            m.confusions,
            [Confusion {
                truth: "b".into(),
                predicted: "a".into(),
                count: 1
            }]
        );
    }

    fn sample(is_oos: bool, best_correct: bool, p: f32) -> ThresholdSample {
        ThresholdSample {
            is_out_of_scope: is_oos,
            best_correct,
            second_correct: false,
            scores: Scores {
                best: 0,
                second: 0,
                best_probability: p,
                second_probability: 0.0,
                out_of_scope_probability: 0.0,
                top_probability: p,
            },
        }
    }

    #[test]
    fn threshold_separates_confident_in_scope_from_unsure_oos() {
        // in-scope at 0.8 and 0.9, oos at 0.2 and 0.4: any threshold in (0.4, 0.8] is perfect
        let samples = [
            sample(false, true, 0.8),
            sample(false, true, 0.9),
            sample(true, false, 0.2),
            sample(true, false, 0.4),
        ];
        let tuned = tune_decisions(&samples).unwrap();
        let t = tuned.threshold;
        assert!((tuned.objective - 1.0).abs() < 1e-12);
        assert_eq!((tuned.in_scope_accuracy, tuned.oos_recall), (1.0, 1.0));
        assert!(t > 0.4 && t <= 0.8, "{t}");
        assert!((t - 0.6).abs() < 0.002, "middle of the plateau, got {t}");
        assert!(tune_decisions(&samples[..2]).is_none());
    }

    #[test]
    fn margin_asks_where_the_top_two_are_close_and_the_first_is_often_wrong() {
        let pair = |best_correct: bool, p1: f32, p2: f32| ThresholdSample {
            is_out_of_scope: false,
            best_correct,
            second_correct: !best_correct,
            scores: Scores {
                best: 0,
                second: 1,
                best_probability: p1,
                second_probability: p2,
                out_of_scope_probability: 0.0,
                top_probability: p1,
            },
        };
        // close calls (gap 0.05) are wrong 2 of 3 times; clear ones (gap 0.6) always right
        let samples = [
            pair(false, 0.45, 0.40),
            pair(false, 0.45, 0.40),
            pair(true, 0.45, 0.40),
            pair(true, 0.8, 0.2),
            pair(true, 0.8, 0.2),
        ];
        let margin = choose_margin(&samples, 0.0);
        assert!(margin > 0.05 && margin <= 0.6, "{margin}");
        // when close calls are always right, asking only costs: a margin below their gap
        let right: Vec<_> = (0..3).map(|_| pair(true, 0.45, 0.40)).collect();
        let margin = choose_margin(&right, 0.0);
        assert!(margin <= 0.05, "{margin}");
    }
}
