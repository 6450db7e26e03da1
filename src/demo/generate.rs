//! The generator: draws every conversation from one seeded `StdRng`, in time order, and
//! hands chunks to the writer; routes come from [`crate::routing::route`].

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use chrono::{Datelike, NaiveDate, Weekday};
use rand::distr::Distribution;
use rand::distr::weighted::WeightedIndex;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::catalogue::{Catalogue, Lang};
use crate::nlu::{Decision, Prediction, ScoredIntent};
use crate::routing::{self, Decided, Directory};

use super::plan::*;
use super::{SeedOptions, Stats};
use crate::store::{DEMO_ROWS_PER_CHUNK, DemoRow};

#[derive(Debug, Clone, Copy)]
pub(super) enum Kind {
    Routed,
    Directory,
    Ambiguous,
    Planted(usize),
    Noise,
}

#[derive(Debug)]
pub(super) struct Asker {
    pub(super) key: Arc<str>,
    pub(super) department: Option<&'static str>,
    pub(super) lang: Lang,
    pub(super) channel: usize,
}

#[derive(Debug)]
pub(super) struct IntentPlan {
    pub(super) id: Arc<str>,
    pub(super) nl: Vec<String>,
    pub(super) en: Vec<String>,
    /// Indices into [`Generator::specialists`], in route order.
    pub(super) specialists: Vec<usize>,
    /// Whether the route names knowledge items (what a question without a free specialist
    /// is answered with).
    pub(super) has_knowledge: bool,
    pub(super) not_helpful: f64,
    /// Share of its routed questions answered with low confidence (0.39-0.5).
    pub(super) low_confidence: f64,
    pub(super) partner: usize,
    /// Route when no specialist is available (knowledge and desk only).
    pub(super) bare_route: Arc<str>,
}

#[derive(Debug)]
pub(super) struct SpecialistPlan {
    pub(super) id: Arc<str>,
    pub(super) away_until: Option<NaiveDate>,
    pub(super) last_ms: i64,
}

impl SpecialistPlan {
    /// Away for the three weeks up to and including `away_until`, when that is set: the
    /// catalogue says until when, not since when.
    pub(super) fn available(&self, date: NaiveDate) -> bool {
        self.away_until
            .is_none_or(|until| date > until || date <= until - chrono::Duration::days(21))
    }
}

#[derive(Debug)]
pub(super) struct DirectoryTopic {
    pub(super) topic: String,
    pub(super) specialists: Vec<usize>,
    pub(super) score: f32,
    pub(super) route: Arc<str>,
}

#[derive(Debug)]
pub(super) struct DayPlan {
    pub(super) date: NaiveDate,
    /// UTC milliseconds of local midnight.
    pub(super) midnight_ms: i64,
    pub(super) weekend: bool,
    pub(super) kinds: WeightedIndex<f64>,
    /// Per department group (see [`Generator::groups`]).
    pub(super) intents: Vec<WeightedIndex<f64>>,
}

/// A planted topic only a few askers ask about: the topic's index in [`PLANTED_TOPICS`], its
/// askers and how many conversations it gets.
pub(super) type TinyCluster = (usize, Vec<usize>, usize);

pub(super) struct Generator {
    pub(super) rng: StdRng,
    pub(super) conversations: usize,
    pub(super) store_text: bool,
    pub(super) askers: Vec<Asker>,
    pub(super) asker_weights: WeightedIndex<f64>,
    /// Department group of each asker: index into the department list, `None` last.
    pub(super) groups: Vec<usize>,
    pub(super) days: Vec<DayPlan>,
    pub(super) day_weights: WeightedIndex<f64>,
    pub(super) kinds: Vec<Kind>,
    pub(super) intents: Vec<IntentPlan>,
    pub(super) specialists: Vec<SpecialistPlan>,
    pub(super) directory: Vec<DirectoryTopic>,
    pub(super) directory_weights: WeightedIndex<f64>,
    pub(super) noise: [Vec<String>; 2],
    pub(super) out_of_scope_route: Arc<str>,
    pub(super) ambiguous_routes: BTreeMap<(usize, usize), Arc<str>>,
    pub(super) routes: BTreeMap<(usize, Vec<usize>), Arc<str>>,
    /// For the routes, which [`routing::route`] builds as for the server.
    pub(super) catalogue: Catalogue,
    /// The tiny cluster's askers and how many conversations it gets.
    pub(super) tiny: Option<TinyCluster>,
}

pub(super) fn lang_index(lang: Lang) -> usize {
    match lang {
        Lang::Nl => 0,
        Lang::En => 1,
    }
}

impl Generator {
    pub(super) fn new(catalogue: &Catalogue, options: &SeedOptions, store_text: bool) -> Generator {
        let mut rng = StdRng::seed_from_u64(options.seed);
        let n = options.conversations;

        // specialists and intents
        let specialists: Vec<SpecialistPlan> = catalogue
            .specialists
            .iter()
            .map(|s| SpecialistPlan {
                id: Arc::from(s.id.as_str()),
                away_until: s.away_until,
                last_ms: 0,
            })
            .collect();
        let intents = plan_intents(catalogue, &mut rng);

        let AskerPlan {
            askers,
            asker_weights,
            groups,
        } = plan_askers(options, &mut rng);
        let (kinds, tiny) = plan_kinds(n, askers.len(), &mut rng);
        let small_group = DEPARTMENTS.len();
        let group_name = |g: usize| -> &'static str {
            if g == small_group {
                SMALL_DEPARTMENT
            } else {
                DEPARTMENTS.get(g).map_or("", |(d, _)| *d)
            }
        };

        // days
        let (days, day_weights) = plan_days(catalogue, options, &intents, &kinds, group_name);

        // the directory, searched once per topic
        let (directory, directory_weights) = plan_directory(catalogue, &mut rng);
        let fallback_route = logged_route(catalogue, &out_of_scope(), None);

        let mut noise = [
            catalogue.out_of_scope.nl.clone(),
            catalogue.out_of_scope.en.clone(),
        ];
        noise[0].extend(NOISE_NL.iter().map(|t| t.to_string()));
        noise[1].extend(NOISE_EN.iter().map(|t| t.to_string()));

        Generator {
            rng,
            conversations: n,
            store_text,
            askers,
            asker_weights,
            groups,
            days,
            day_weights,
            kinds,
            intents,
            specialists,
            directory,
            directory_weights,
            noise,
            out_of_scope_route: fallback_route,
            ambiguous_routes: BTreeMap::new(),
            routes: BTreeMap::new(),
            tiny,
            catalogue: catalogue.clone(),
        }
    }

    /// Generates every conversation in time order and hands them to `emit` in chunks for the
    /// writer; stops early when `emit` says the writer has gone (it failed).
    pub(super) fn run(mut self, emit: &mut dyn FnMut(Vec<DemoRow>) -> bool) -> Stats {
        let n = self.conversations;
        let weekday_hours = WeightedIndex::new(WEEKDAY_HOURS).expect("positive hour weights");
        let weekend_hours = WeightedIndex::new(WEEKEND_HOURS).expect("positive hour weights");
        let mut times: Vec<(i64, u32)> = (0..n)
            .map(|_| {
                let d = self.day_weights.sample(&mut self.rng);
                let day = &self.days[d];
                let hour = if day.weekend {
                    weekend_hours.sample(&mut self.rng)
                } else {
                    weekday_hours.sample(&mut self.rng)
                };
                let ms = self.rng.random_range(0..3_600_000_i64);
                (day.midnight_ms + hour as i64 * 3_600_000 + ms, d as u32)
            })
            .collect();
        times.sort_unstable();
        let mut tiny_at = vec![false; n];
        if let Some((_, _, count)) = &self.tiny {
            for i in rand::seq::index::sample(&mut self.rng, n, (*count).min(n)) {
                tiny_at[i] = true;
            }
        }

        let mut stats = Stats {
            planted_askers: vec![BTreeSet::new(); PLANTED_TOPICS.len()],
            ..Stats::default()
        };
        let mut asked = vec![false; self.askers.len()];
        let mut tiny_asked = 0;
        let mut chunk = Vec::with_capacity(DEMO_ROWS_PER_CHUNK);
        for (i, (received_ms, day)) in times.into_iter().enumerate() {
            let (asker, kind) = match (&self.tiny, tiny_at[i]) {
                (Some((k, pool, _)), true) => {
                    tiny_asked += 1;
                    (pool[(tiny_asked - 1) % pool.len()], Kind::Planted(*k))
                }
                _ => {
                    let asker = self.asker_weights.sample(&mut self.rng);
                    let kind = self.kinds[self.days[day as usize].kinds.sample(&mut self.rng)];
                    (asker, kind)
                }
            };
            let row = self.conversation(i as u64, received_ms, day as usize, asker, kind);
            if let Kind::Planted(k) = kind {
                stats.planted_askers[k].insert(asker as u32);
            }
            if !asked[asker] {
                asked[asker] = true;
                stats.askers += 1;
            }
            chunk.push(row);
            if chunk.len() == DEMO_ROWS_PER_CHUNK {
                let full = std::mem::replace(&mut chunk, Vec::with_capacity(DEMO_ROWS_PER_CHUNK));
                if !emit(full) {
                    return stats;
                }
            }
        }
        if !chunk.is_empty() {
            emit(chunk);
        }
        stats
    }
}

/// The askers and how they are drawn.
struct AskerPlan {
    askers: Vec<Asker>,
    asker_weights: WeightedIndex<f64>,
    /// Department group of each asker (see [`Generator::groups`]).
    groups: Vec<usize>,
}

/// A pool of about one asker per six conversations (at least 50), in departments of
/// realistic sizes, a handful in the small department, a few with none; their activity is
/// Zipf-like.
fn plan_askers(options: &SeedOptions, rng: &mut StdRng) -> AskerPlan {
    let pool = (options.conversations / 6).max(50);
    let small_group = DEPARTMENTS.len();
    let none_group = DEPARTMENTS.len() + 1;
    let mut groups = Vec::with_capacity(pool);
    let department_weights = WeightedIndex::new(DEPARTMENTS.iter().map(|(_, w)| *w))
        .expect("positive department weights");
    let channel_weights =
        WeightedIndex::new(CHANNELS.iter().map(|(_, w)| *w)).expect("positive weights");
    let mut askers = Vec::with_capacity(pool);
    for a in 0..pool {
        let group = if rng.random_bool(NO_DEPARTMENT) {
            none_group
        } else {
            department_weights.sample(rng)
        };
        groups.push(group);
        askers.push(Asker {
            key: Arc::from(asker_key(options.seed, a)),
            department: DEPARTMENTS.get(group).map(|(d, _)| *d),
            lang: if rng.random_bool(DUTCH_ASKERS) {
                Lang::Nl
            } else {
                Lang::En
            },
            channel: channel_weights.sample(rng),
        });
    }
    for a in rand::seq::index::sample(rng, pool, SMALL_DEPARTMENT_ASKERS.min(pool / 5)) {
        groups[a] = small_group;
        askers[a].department = Some(SMALL_DEPARTMENT);
    }
    // Zipf-like activity: Pareto-distributed propensities (a few ask a lot, most once or
    // twice), capped so the busiest asks some 35 times as often as the average asker
    let activity: Vec<f64> = (0..pool)
        .map(|_| (1.0 - rng.random::<f64>()).powf(-1.0 / 1.8).min(80.0))
        .collect();
    AskerPlan {
        askers,
        asker_weights: WeightedIndex::new(activity).expect("positive asker weights"),
        groups,
    }
}

/// The kinds of question drawn each day, and the tiny planted cluster (a topic only a few
/// askers ask about, which k-anonymity must keep out of the reports): its askers, drawn from
/// the pool of `pool`, and how many of the `n` conversations it gets.
fn plan_kinds(n: usize, pool: usize, rng: &mut StdRng) -> (Vec<Kind>, Option<TinyCluster>) {
    let mut kinds = vec![Kind::Routed, Kind::Directory, Kind::Ambiguous];
    let mut tiny = None;
    for (k, topic) in PLANTED_TOPICS.iter().enumerate() {
        match topic.max_askers {
            Some(max) => {
                let chosen = rand::seq::index::sample(rng, pool, max.min(pool)).into_vec();
                let count = (n / 25_000).clamp(6, 40).min(n / 20);
                tiny = Some((k, chosen, count));
            }
            None => kinds.push(Kind::Planted(k)),
        }
    }
    kinds.push(Kind::Noise);
    (kinds, tiny)
}

/// One plan per intent (examples, specialists, profile, a confusable partner), drawing from
/// `rng` in the generator's fixed order.
fn plan_intents(catalogue: &Catalogue, rng: &mut StdRng) -> Vec<IntentPlan> {
    let specialist_index = |id: &str| catalogue.specialists.iter().position(|s| s.id == id);
    let mut intents: Vec<IntentPlan> = catalogue
        .intents
        .iter()
        .map(|intent| {
            let profile = INTENT_PROFILES
                .iter()
                .find(|p| p.id == intent.id)
                .unwrap_or(&DEFAULT_PROFILE);
            let mut nl = intent.examples.nl.clone();
            let mut en = intent.examples.en.clone();
            if nl.is_empty() {
                nl = en.clone();
            }
            if en.is_empty() {
                en = nl.clone();
            }
            if nl.is_empty() {
                nl = vec![intent.label(Lang::Nl).to_string()];
                en = vec![intent.label(Lang::En).to_string()];
            }
            let bare_route = logged_route(catalogue, &routed_to(&intent.id), Some(&[]));
            IntentPlan {
                id: Arc::from(intent.id.as_str()),
                nl,
                en,
                specialists: intent
                    .route
                    .specialists
                    .iter()
                    .filter_map(|id| specialist_index(id))
                    .collect(),
                has_knowledge: !intent.route.knowledge.is_empty(),
                not_helpful: profile.not_helpful,
                low_confidence: rng.random_range(0.04..0.14),
                partner: 0,
                bare_route,
            }
        })
        .collect();
    let intent_count = intents.len();
    for i in 0..intent_count {
        let confusable = CONFUSABLE
            .iter()
            .filter(|(a, _)| *a == &*intents[i].id)
            .find_map(|(_, b)| intents.iter().position(|x| &*x.id == *b));
        intents[i].partner = match confusable {
            Some(p) => p,
            None if intent_count > 1 => (i + rng.random_range(1..intent_count)) % intent_count,
            None => i,
        };
    }

    intents
}

/// The days of the range: office-day and seasonal weights, the kinds of question each day,
/// and per department group the intents' weights (seasons, focus, the rising topic).
fn plan_days(
    catalogue: &Catalogue,
    options: &SeedOptions,
    intents: &[IntentPlan],
    kinds: &[Kind],
    group_name: impl Fn(usize) -> &'static str,
) -> (Vec<DayPlan>, WeightedIndex<f64>) {
    let groups_count = DEPARTMENTS.len() + 2; // + Legal + none
    let start = options.end - chrono::Duration::days(i64::from(options.days));
    let rising = rising_intent(catalogue).and_then(|id| intents.iter().position(|i| &*i.id == id));
    let mut days = Vec::with_capacity(options.days as usize);
    let mut day_weights = Vec::with_capacity(options.days as usize);
    for d in 0..options.days {
        let date = start + chrono::Duration::days(i64::from(d));
        let t = (f64::from(d) + 0.5) / f64::from(options.days);
        let month = date.month();
        let midnight_ms = date
            .and_hms_opt(0, 0, 0)
            .expect("midnight")
            .and_utc()
            .timestamp_millis()
            - utc_offset_hours(date) * 3_600_000;
        // growing use of the desk
        day_weights.push(day_factor(date) * (0.75 + 0.5 * t));
        let mut kind_weights = vec![ROUTED, DIRECTORY, AMBIGUOUS];
        let planted: Vec<f64> = kinds
            .iter()
            .filter_map(|k| match k {
                Kind::Planted(p) => {
                    let topic = &PLANTED_TOPICS[*p];
                    Some(topic.share * month_factor(topic.season, month, 1.0))
                }
                _ => None,
            })
            .collect();
        let noise = 1.0
            - PLANTED_TOPICS
                .iter()
                .filter(|t| t.max_askers.is_none())
                .map(|t| t.share)
                .sum::<f64>();
        let total: f64 = planted.iter().sum::<f64>() + noise;
        kind_weights.extend(planted.iter().map(|w| OUT_OF_SCOPE * w / total));
        kind_weights.push(OUT_OF_SCOPE * noise / total);
        let intent_weights: Vec<WeightedIndex<f64>> = (0..groups_count)
            .map(|g| {
                let department = group_name(g);
                let weights = catalogue.intents.iter().enumerate().map(|(i, intent)| {
                    let profile = INTENT_PROFILES
                        .iter()
                        .find(|p| p.id == intent.id)
                        .unwrap_or(&DEFAULT_PROFILE);
                    let focus = DEPARTMENT_FOCUS
                        .iter()
                        .find(|(dep, id, _)| *dep == department && *id == intent.id)
                        .map_or(1.0, |(_, _, f)| *f);
                    let trend = if Some(i) == rising {
                        0.25 + 2.75 * t
                    } else {
                        1.0
                    };
                    profile.weight * month_factor(profile.season, month, 1.0) * focus * trend
                });
                WeightedIndex::new(weights).expect("positive intent weights")
            })
            .collect();
        days.push(DayPlan {
            date,
            midnight_ms,
            weekend: matches!(date.weekday(), Weekday::Sat | Weekday::Sun),
            kinds: WeightedIndex::new(kind_weights).expect("positive kind weights"),
            intents: intent_weights,
        });
    }

    let day_weights = WeightedIndex::new(day_weights).expect("positive day weights");
    (days, day_weights)
}

/// The directory topics (the specialists' tags and a few nobody covers), each searched once
/// with the real directory, and their popularity: a random order with Zipf-like weights.
fn plan_directory(
    catalogue: &Catalogue,
    rng: &mut StdRng,
) -> (Vec<DirectoryTopic>, WeightedIndex<f64>) {
    let specialist_index = |id: &str| catalogue.specialists.iter().position(|s| s.id == id);
    let index = Directory::new(catalogue);
    let mut topics: BTreeSet<String> = catalogue
        .specialists
        .iter()
        .flat_map(|s| s.tags.iter().map(|t| t.to_lowercase()))
        .collect();
    topics.extend(UNKNOWN_TOPICS.iter().map(|t| t.to_string()));
    let directory: Vec<DirectoryTopic> = topics
        .into_iter()
        .map(|topic| {
            // as if everyone were in: the range is months, absences are weeks
            let matches = index.search(catalogue, &topic, NaiveDate::MAX, 3);
            let found: Vec<usize> = matches
                .iter()
                .filter_map(|m| specialist_index(&m.specialist_id))
                .collect();
            let route = logged(catalogue, &Decided::Directory { matches: &matches }, None);
            DirectoryTopic {
                topic,
                specialists: found,
                score: matches.first().map_or(0.0, |m| m.score),
                route,
            }
        })
        .collect();
    // popular topics: a random order with Zipf-like weights
    let mut order: Vec<usize> = (0..directory.len()).collect();
    rand::seq::SliceRandom::shuffle(order.as_mut_slice(), rng);
    let mut topic_weights = vec![0.0; directory.len()];
    for (rank, d) in order.into_iter().enumerate() {
        topic_weights[d] = 1.0 / (rank as f64 + 2.0);
    }
    let directory_weights = WeightedIndex::new(topic_weights).expect("at least the unknown topics");

    (directory, directory_weights)
}

/// The route the pipeline logs for `decided`, from the [`routing::route`] the server calls;
/// `in_turn`: the specialists in the order the rotation gives them (see
/// [`Generator::conversation`]). The language and date do not change which ids are named.
pub(super) fn logged_route(
    catalogue: &Catalogue,
    decided: &Prediction,
    in_turn: Option<&[String]>,
) -> Arc<str> {
    logged(
        catalogue,
        &Decided::Classified {
            prediction: decided,
            choice: None,
        },
        in_turn,
    )
}

pub(super) fn logged(
    catalogue: &Catalogue,
    decided: &Decided<'_>,
    in_turn: Option<&[String]>,
) -> Arc<str> {
    let reply = routing::route(catalogue, decided, Lang::En, NaiveDate::MIN, in_turn);
    Arc::from(reply.route_ids().to_string())
}

/// A confident prediction of `intent`.
pub(super) fn routed_to(intent: &str) -> Prediction {
    prediction(Decision::Routed, &[intent])
}

/// A prediction torn between `a` and `b`.
pub(super) fn ambiguous(a: &str, b: &str) -> Prediction {
    prediction(Decision::Ambiguous, &[a, b])
}

pub(super) fn out_of_scope() -> Prediction {
    prediction(Decision::OutOfScope, &[])
}

pub(super) fn prediction(decision: Decision, intents: &[&str]) -> Prediction {
    Prediction {
        intent: intents.first().map(|i| i.to_string()),
        confidence: 1.0,
        alternatives: intents
            .iter()
            .map(|i| ScoredIntent {
                intent: i.to_string(),
                confidence: 1.0,
            })
            .collect(),
        out_of_scope_probability: 0.0,
        decision,
    }
}
