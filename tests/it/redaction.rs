//! Precision and recall of [`redact`] per kind of personal data, on a labelled set of Dutch
//! and English questions as employees type them to the HR desk (`tests/data/redaction.jsonl`,
//! fictional data written for this test). A change that lets personal data through into the
//! conversation log, or that starts redacting ordinary HR wording, fails here.
//!
//! Each line of the set is `{"lang", "text", "spans": [{"kind", "text"}]}`: the spans are the
//! exact substrings that must disappear behind the kind's placeholder. Sentences without spans
//! are hard negatives (dates that are no birth dates, amounts, versions, room numbers, a
//! capitalised word after "collega" ...).
//!
//! Scoring: the output is aligned with the input (everything outside a placeholder must be
//! copied unchanged, which also checks that only the personal data is replaced), so every
//! placeholder maps back to the input range it replaced. A label is *found* when replaced
//! ranges cover it and one of them carries the label's placeholder. A placeholder is a *false
//! positive* when it overlaps no label of its kind (a card redacted as `[number]` is a missed
//! card and a false `[number]`). It is *too wide* when it is right but also swallowed letters
//! or digits that no label covers.
//!
//! `cargo test --release --test redaction -- --nocapture` prints the table, the misses, the
//! false positives and the speed. Speed is not asserted: the machines are shared and noisy.

use std::collections::BTreeMap;
use std::sync::LazyLock;
use std::time::Instant;

use referral_desk::privacy::redact;
use regex::Regex;
use serde::Deserialize;

const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/redaction.jsonl");

/// The labelled kinds and their placeholders, in table order.
const KINDS: [(&str, &str); 10] = [
    ("email", "[email]"),
    ("phone", "[phone]"),
    ("iban", "[iban]"),
    ("bsn", "[bsn]"),
    ("card", "[card]"),
    ("number", "[number]"),
    ("address", "[address]"),
    ("postcode", "[postcode]"),
    ("birth_date", "[birth_date]"),
    ("name", "[name]"),
];

/// Minimum recall per kind. Checksummed and strongly shaped kinds (cards, IBANs, BSNs, e-mail,
/// phone, long numbers, postcodes and addresses) must all be caught: every labelled one is,
/// and a miss there is a bug, not an ambiguity. Names and birth dates depend on cues and
/// context. Birth dates measure 1.00 (22 of 22); the floor of 0.9 leaves room for two misses.
/// Names measure 0.90 (56 of 62): the set deliberately holds names that no cue announces
/// ("ruzie met Pieter", "ik ben Mark Visser") and lowercase names, which a cue-based rule
/// cannot catch, so the floor of 0.85 allows three more misses before failing. Before the
/// card, address, birth-date and name rules all five of these recalls were 0.
const RECALL_FLOORS: [(&str, f64); 10] = [
    ("email", 1.0),
    ("phone", 1.0),
    ("iban", 1.0),
    ("bsn", 1.0),
    ("card", 1.0),
    ("number", 1.0),
    ("address", 1.0),
    ("postcode", 1.0),
    ("birth_date", 0.9),
    ("name", 0.85),
];

/// Minimum precision over all placeholders: ordinary HR wording must survive, or reports
/// lose their meaning. Measured: 0.99 (2 false positives in 149 placeholders, both an office
/// address).
const OVERALL_PRECISION_FLOOR: f64 = 0.95;

/// Minimum precision for the context-dependent kinds, where false positives would come from
/// (measured 1.00 for both; old start dates and capitalised department names are the risk).
const PRECISION_FLOORS: [(&str, f64); 2] = [("birth_date", 0.9), ("name", 0.9)];

#[derive(Deserialize)]
struct Sentence {
    lang: String,
    text: String,
    spans: Vec<Span>,
}

#[derive(Deserialize)]
struct Span {
    kind: String,
    text: String,
}

fn load() -> Vec<Sentence> {
    let data = std::fs::read_to_string(DATA).expect("the labelled set is part of the repository");
    data.lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
        .map(|(i, line)| {
            let sentence: Sentence =
                serde_json::from_str(line).unwrap_or_else(|e| panic!("{DATA}:{}: {e}", i + 1));
            for span in &sentence.spans {
                assert!(
                    placeholder(&span.kind).is_some(),
                    "{DATA}:{}: unknown kind {:?}",
                    i + 1,
                    span.kind
                );
                assert!(
                    sentence.text.contains(&span.text),
                    "{DATA}:{}: span {:?} is not in the text",
                    i + 1,
                    span.text
                );
            }
            sentence
        })
        .collect()
}

fn placeholder(kind: &str) -> Option<&'static str> {
    KINDS.iter().find(|(k, _)| *k == kind).map(|(_, p)| *p)
}

static PLACEHOLDER_RE: LazyLock<Regex> = LazyLock::new(|| {
    let alternatives: Vec<String> = KINDS.iter().map(|(_, p)| regex::escape(p)).collect();
    Regex::new(&alternatives.join("|")).expect("placeholder pattern is valid")
});

/// A placeholder in the output and the byte range of the input it replaced.
#[derive(Debug)]
struct Replacement {
    kind: &'static str,
    start: usize,
    end: usize,
}

/// Maps every placeholder in `output` back to the input range it replaced, on the assumption
/// that everything between placeholders is copied from `input` unchanged. `None` when that
/// assumption fails: the redactor changed text it should have left alone.
fn align(input: &str, output: &str) -> Option<Vec<Replacement>> {
    let mut literals = Vec::new();
    let mut kinds = Vec::new();
    let mut last = 0;
    for m in PLACEHOLDER_RE.find_iter(output) {
        literals.push(&output[last..m.start()]);
        let (kind, _) = KINDS
            .iter()
            .find(|(_, p)| *p == m.as_str())
            .expect("the pattern only matches placeholders");
        kinds.push(*kind);
        last = m.end();
    }
    literals.push(&output[last..]);
    let mut replacements = Vec::new();
    place(input, 0, &literals, &kinds, &mut replacements).then_some(replacements)
}

/// Backtracking: `literals[0]` must start at `pos`; each following placeholder covers a
/// non-empty range, shortest first, after which the next literal must follow.
fn place(
    input: &str,
    pos: usize,
    literals: &[&str],
    kinds: &[&'static str],
    out: &mut Vec<Replacement>,
) -> bool {
    if !input[pos..].starts_with(literals[0]) {
        return false;
    }
    let start = pos + literals[0].len();
    let Some((&kind, rest_kinds)) = kinds.split_first() else {
        return start == input.len();
    };
    for end in (start + 1..=input.len()).filter(|&e| input.is_char_boundary(e)) {
        if !input[end..].starts_with(literals[1]) {
            continue;
        }
        out.push(Replacement { kind, start, end });
        if place(input, end, &literals[1..], rest_kinds, out) {
            return true;
        }
        out.pop();
    }
    false
}

/// Counts for one kind.
#[derive(Default, Clone, Copy)]
struct Score {
    labelled: usize,
    found: usize,
    /// Placeholders of this kind that overlap a label of this kind.
    correct: usize,
    false_positives: usize,
    too_wide: usize,
}

impl Score {
    fn add(&mut self, other: Score) {
        self.labelled += other.labelled;
        self.found += other.found;
        self.correct += other.correct;
        self.false_positives += other.false_positives;
        self.too_wide += other.too_wide;
    }

    fn precision(&self) -> Option<f64> {
        let placed = self.correct + self.false_positives;
        (placed > 0).then(|| self.correct as f64 / placed as f64)
    }

    fn recall(&self) -> Option<f64> {
        (self.labelled > 0).then(|| self.found as f64 / self.labelled as f64)
    }
}

struct Evaluation {
    per_kind: BTreeMap<&'static str, Score>,
    per_lang: BTreeMap<String, Score>,
    /// Human-readable lines for every miss and false positive.
    problems: Vec<String>,
    /// Sentences whose output could not be aligned with the input.
    misaligned: Vec<String>,
    /// Sentences where a second redaction changed the output.
    not_idempotent: Vec<String>,
}

fn evaluate(set: &[Sentence]) -> Evaluation {
    let mut eval = Evaluation {
        per_kind: KINDS.iter().map(|(k, _)| (*k, Score::default())).collect(),
        per_lang: BTreeMap::new(),
        problems: Vec::new(),
        misaligned: Vec::new(),
        not_idempotent: Vec::new(),
    };
    for sentence in set {
        let text = &sentence.text;
        let output = redact(text);
        if redact(&output) != output {
            eval.not_idempotent.push(text.clone());
        }
        let Some(replacements) = align(text, &output) else {
            eval.misaligned.push(format!("{text:?} -> {output:?}"));
            continue;
        };
        // Label ranges; a text labelled twice takes successive occurrences.
        let mut labels: Vec<(&str, usize, usize)> = Vec::new();
        for span in &sentence.spans {
            let start = text
                .match_indices(span.text.as_str())
                .map(|(i, _)| i)
                .find(|&i| !labels.iter().any(|&(_, s, _)| s == i))
                .expect("checked when loading");
            labels.push((span.kind.as_str(), start, start + span.text.len()));
        }
        let mut sentence_score: BTreeMap<&str, Score> = BTreeMap::new();
        for &(kind, start, end) in &labels {
            let covered =
                (start..end).all(|i| replacements.iter().any(|r| r.start <= i && i < r.end));
            let right_kind = replacements
                .iter()
                .any(|r| r.kind == kind && r.start < end && start < r.end);
            let score = sentence_score.entry(kind).or_default();
            score.labelled += 1;
            if covered && right_kind {
                score.found += 1;
            } else {
                eval.problems.push(format!(
                    "missed {kind} {:?} in {text:?} -> {output:?}",
                    &text[start..end]
                ));
            }
        }
        for r in &replacements {
            let score = sentence_score.entry(r.kind).or_default();
            let right = labels
                .iter()
                .any(|&(kind, s, e)| kind == r.kind && s < r.end && r.start < e);
            if !right {
                score.false_positives += 1;
                eval.problems.push(format!(
                    "false {} for {:?} in {text:?}",
                    r.kind,
                    &text[r.start..r.end]
                ));
                continue;
            }
            score.correct += 1;
            let unlabelled_content = text[r.start..r.end].char_indices().any(|(i, c)| {
                let at = r.start + i;
                c.is_alphanumeric() && !labels.iter().any(|&(_, s, e)| s <= at && at < e)
            });
            if unlabelled_content {
                score.too_wide += 1;
                eval.problems.push(format!(
                    "too wide {} {:?} in {text:?}",
                    r.kind,
                    &text[r.start..r.end]
                ));
            }
        }
        for (kind, score) in sentence_score {
            let kind = KINDS
                .iter()
                .map(|(k, _)| *k)
                .find(|k| *k == kind)
                .expect("kinds are checked when loading");
            eval.per_kind.get_mut(kind).expect("all kinds").add(score);
            eval.per_lang
                .entry(sentence.lang.clone())
                .or_default()
                .add(score);
        }
    }
    eval
}

fn ratio(value: Option<f64>) -> String {
    value.map_or_else(|| "-".to_string(), |v| format!("{v:.2}"))
}

fn table(eval: &Evaluation) -> String {
    let mut out = String::from(
        "| kind | labelled | found | false positives | too wide | precision | recall |\n\
         |---|---:|---:|---:|---:|---:|---:|\n",
    );
    let mut total = Score::default();
    let mut row = |name: &str, s: &Score| {
        out.push_str(&format!(
            "| {name} | {} | {} | {} | {} | {} | {} |\n",
            s.labelled,
            s.found,
            s.false_positives,
            s.too_wide,
            ratio(s.precision()),
            ratio(s.recall())
        ));
    };
    for (kind, score) in &eval.per_kind {
        row(kind, score);
        total.add(*score);
    }
    row("**all**", &total);
    for (lang, score) in &eval.per_lang {
        row(&format!("all ({lang})"), score);
    }
    out
}

/// Prints the time to redact the whole set 1000 times, per sentence. Not asserted: the
/// machines this runs on are shared, and a timing floor would fail at random.
fn report_speed(set: &[Sentence]) {
    const ROUNDS: usize = 1000;
    let started = Instant::now();
    for _ in 0..ROUNDS {
        for sentence in set {
            std::hint::black_box(redact(std::hint::black_box(&sentence.text)));
        }
    }
    let elapsed = started.elapsed();
    println!(
        "redaction speed: {} sentences x {ROUNDS} in {:.2} s = {:.1} µs per sentence",
        set.len(),
        elapsed.as_secs_f64(),
        elapsed.as_secs_f64() * 1e6 / (set.len() * ROUNDS) as f64
    );
}

#[test]
fn redaction_meets_its_floors_on_the_labelled_set() {
    let set = load();
    let nl = set.iter().filter(|s| s.lang == "nl").count();
    let en = set.iter().filter(|s| s.lang == "en").count();
    assert_eq!(nl + en, set.len(), "every sentence is nl or en");
    assert!(set.len() >= 100, "the set has {} sentences", set.len());
    assert!(
        nl * 3 >= set.len() && en * 3 >= set.len(),
        "nl {nl}, en {en}"
    );

    let eval = evaluate(&set);
    println!(
        "redaction on {} sentences ({nl} nl, {en} en):\n{}",
        set.len(),
        table(&eval)
    );
    for problem in &eval.problems {
        println!("  {problem}");
    }
    report_speed(&set);

    assert!(
        eval.misaligned.is_empty(),
        "text outside the personal data was changed:\n{}",
        eval.misaligned.join("\n")
    );
    assert!(
        eval.not_idempotent.is_empty(),
        "a second redaction changed the output of:\n{}",
        eval.not_idempotent.join("\n")
    );
    let mut failures = Vec::new();
    for (kind, floor) in RECALL_FLOORS {
        let recall = eval.per_kind[kind].recall().unwrap_or(0.0);
        if recall < floor {
            failures.push(format!("{kind} recall {recall:.3} < {floor}"));
        }
    }
    for (kind, floor) in PRECISION_FLOORS {
        // No placeholders at all is not precise, it is a miss: counted as 0.
        let precision = eval.per_kind[kind].precision().unwrap_or(0.0);
        if precision < floor {
            failures.push(format!("{kind} precision {precision:.3} < {floor}"));
        }
    }
    let mut total = Score::default();
    eval.per_kind.values().for_each(|s| total.add(*s));
    let precision = total.precision().unwrap_or(0.0);
    if precision < OVERALL_PRECISION_FLOOR {
        failures.push(format!(
            "overall precision {precision:.3} < {OVERALL_PRECISION_FLOOR}"
        ));
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn alignment_maps_placeholders_back_to_their_input() {
    // The scorer itself: a wrong alignment would make every number above meaningless.
    let replacements = align("bel 06 12345678 of a@b.nl!", "bel [phone] of [email]!")
        .expect("the output is the input with two ranges replaced");
    let ranges: Vec<_> = replacements
        .iter()
        .map(|r| (r.kind, r.start, r.end))
        .collect();
    assert_eq!(ranges, [("phone", 4, 15), ("email", 19, 25)]);
    assert!(align("bel 06 12345678", "Bel [phone]").is_none());
    assert!(align("bel 06 12345678", "bel [phone] extra").is_none());
    assert!(align("abc", "abc").is_some_and(|r| r.is_empty()));
}
