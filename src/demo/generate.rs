//! The generator: draws every conversation from one seeded `StdRng`, in time order, and
//! hands chunks to the writer; routes come from [`crate::routing::route`].

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use chrono::{Datelike, NaiveDate, Weekday};
use rand::distr::Distribution;
use rand::distr::weighted::WeightedIndex;
use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use tokio::sync::mpsc;

use crate::catalogue::{Catalogue, Lang};
use crate::nlu::{Decision, Prediction, ScoredIntent};
use crate::routing::{self, Decided, Directory};

use super::plan::*;
use super::{Message, Row, SeedOptions, Stats};

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
    pub(super) tiny: Option<(usize, Vec<usize>, usize)>,
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

        // askers
        let pool = (n / 6).max(50);
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
                department_weights.sample(&mut rng)
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
                channel: channel_weights.sample(&mut rng),
            });
        }
        for a in rand::seq::index::sample(&mut rng, pool, SMALL_DEPARTMENT_ASKERS.min(pool / 5)) {
            groups[a] = small_group;
            askers[a].department = Some(SMALL_DEPARTMENT);
        }
        // Zipf-like activity: Pareto-distributed propensities (a few ask a lot, most once or
        // twice), capped so the busiest asks some 35 times as often as the average asker
        let activity: Vec<f64> = (0..pool)
            .map(|_| (1.0 - rng.random::<f64>()).powf(-1.0 / 1.8).min(80.0))
            .collect();
        let asker_weights = WeightedIndex::new(activity).expect("positive asker weights");
        let group_name = |g: usize| -> &'static str {
            if g == small_group {
                SMALL_DEPARTMENT
            } else {
                DEPARTMENTS.get(g).map_or("", |(d, _)| *d)
            }
        };

        // kinds of question
        let mut kinds = vec![Kind::Routed, Kind::Directory, Kind::Ambiguous];
        let mut tiny = None;
        for (k, topic) in PLANTED_TOPICS.iter().enumerate() {
            match topic.max_askers {
                Some(max) => {
                    let chosen = rand::seq::index::sample(&mut rng, pool, max.min(pool)).into_vec();
                    let count = (n / 25_000).clamp(6, 40).min(n / 20);
                    tiny = Some((k, chosen, count));
                }
                None => kinds.push(Kind::Planted(k)),
            }
        }
        kinds.push(Kind::Noise);

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

    /// Generates every conversation in time order, in chunks for the writer; stops early when
    /// the writer has gone (it failed).
    pub(super) fn run<A>(
        mut self,
        bind: impl Fn(Vec<Row>) -> anyhow::Result<(A, A)>,
        chunks: mpsc::Sender<Message<A>>,
    ) {
        let send = |chunk: Vec<Row>| {
            let rows = chunk.len();
            let message = match bind(chunk) {
                Ok((inbox, conversations)) => Message::Chunk(rows, inbox, conversations),
                Err(err) => Message::Failed(err),
            };
            let failed = matches!(message, Message::Failed(_));
            chunks.blocking_send(message).is_ok() && !failed
        };
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
        let mut chunk = Vec::with_capacity(ROWS_PER_STATEMENT);
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
            if chunk.len() == ROWS_PER_STATEMENT {
                let full = std::mem::replace(&mut chunk, Vec::with_capacity(ROWS_PER_STATEMENT));
                if !send(full) {
                    return;
                }
            }
        }
        if !chunk.is_empty() && !send(chunk) {
            return;
        }
        let _ = chunks.blocking_send(Message::Done(stats));
    }

    pub(super) fn conversation(
        &mut self,
        n: u64,
        received_ms: i64,
        day: usize,
        asker_index: usize,
        kind: Kind,
    ) -> Row {
        let rng = &mut self.rng;
        let asker = &self.askers[asker_index];
        let lang = if rng.random_bool(0.92) {
            asker.lang
        } else {
            match asker.lang {
                Lang::Nl => Lang::En,
                Lang::En => Lang::Nl,
            }
        };
        let channel = if rng.random_bool(0.85) {
            CHANNELS[asker.channel].0
        } else {
            CHANNELS.choose(rng).expect("channels").0
        };
        let date = self.days[day].date;
        let mut intent = None;
        let mut specialist = None;
        let mut not_helpful;
        let mut handoff = 0.0;
        let (question, confidence, decision, route, outcome, latency_median) = match kind {
            Kind::Routed => {
                let i = self.days[day].intents[self.groups[asker_index]].sample(rng);
                let plan = &self.intents[i];
                let low = rng.random_bool(plan.low_confidence);
                let confidence = if low {
                    rng.random_range(0.39..0.5)
                } else {
                    0.5 + 0.49 * (1.0 - rng.random::<f64>().powf(2.2))
                };
                let text = vary(pick(&plan.nl, &plan.en, lang, rng), lang, rng, true);
                // the pipeline's load balancing: least recently referred first
                let mut available: Vec<usize> = plan
                    .specialists
                    .iter()
                    .copied()
                    .filter(|s| self.specialists[*s].available(date))
                    .collect();
                let (route, outcome) = if available.is_empty() {
                    let outcome = if plan.has_knowledge {
                        "knowledge"
                    } else {
                        "desk"
                    };
                    (plan.bare_route.clone(), outcome)
                } else {
                    let latest = available
                        .iter()
                        .map(|s| self.specialists[*s].last_ms)
                        .max()
                        .unwrap_or(0);
                    available.sort_by_key(|s| self.specialists[*s].last_ms);
                    available.truncate(2);
                    let first = &mut self.specialists[available[0]];
                    first.last_ms = received_ms.max(latest + 1);
                    specialist = Some(first.id.clone());
                    let route = self
                        .routes
                        .entry((i, available))
                        .or_insert_with_key(|(_, in_turn)| {
                            let in_turn: Vec<String> = in_turn
                                .iter()
                                .map(|s| self.specialists[*s].id.to_string())
                                .collect();
                            logged_route(&self.catalogue, &routed_to(&plan.id), Some(&in_turn))
                        })
                        .clone();
                    handoff = 0.15;
                    (route, "specialist")
                };
                not_helpful = if low { 0.45 } else { plan.not_helpful };
                if outcome != "specialist" {
                    not_helpful += 0.06;
                }
                intent = Some(plan.id.clone());
                (text, confidence as f32, "routed", route, outcome, 1800.0)
            }
            Kind::Ambiguous => {
                let i = self.days[day].intents[self.groups[asker_index]].sample(rng);
                let partner = self.intents[i].partner;
                let asked = if rng.random_bool(0.7) { i } else { partner };
                let plan = &self.intents[asked];
                let text = vary(pick(&plan.nl, &plan.en, lang, rng), lang, rng, true);
                let route = self
                    .ambiguous_routes
                    .entry((i, partner))
                    .or_insert_with(|| {
                        let asked = ambiguous(&self.intents[i].id, &self.intents[partner].id);
                        logged_route(&self.catalogue, &asked, None)
                    })
                    .clone();
                intent = Some(self.intents[i].id.clone());
                not_helpful = 0.30;
                let confidence = rng.random_range(0.39..0.62);
                (text, confidence, "ambiguous", route, "ambiguous", 1900.0)
            }
            Kind::Directory => {
                let topic = &self.directory[self.directory_weights.sample(rng)];
                let template = match lang {
                    Lang::Nl => DIRECTORY_NL.choose(rng),
                    Lang::En => DIRECTORY_EN.choose(rng),
                }
                .expect("directory phrasings");
                let text = template.replace("{t}", &topic.topic);
                if topic.specialists.is_empty() {
                    not_helpful = 0.55;
                } else {
                    not_helpful = 0.20;
                    handoff = 0.10;
                }
                (
                    text,
                    topic.score,
                    "directory",
                    topic.route.clone(),
                    "directory",
                    2600.0,
                )
            }
            Kind::Planted(k) => {
                let topic = &PLANTED_TOPICS[k];
                let template = match lang {
                    Lang::Nl => topic.nl.choose(rng),
                    Lang::En => topic.en.choose(rng),
                }
                .expect("planted templates");
                let text = if template.contains("{place}") {
                    template.replace("{place}", PLACES.choose(rng).expect("places"))
                } else {
                    template.to_string()
                };
                not_helpful = 0.6;
                let confidence = rng.random_range(0.04..0.38);
                (
                    vary(&text, lang, rng, true),
                    confidence,
                    "out_of_scope",
                    self.out_of_scope_route.clone(),
                    "out_of_scope",
                    1500.0,
                )
            }
            Kind::Noise => {
                let noise = &self.noise;
                let text = vary(pick(&noise[0], &noise[1], lang, rng), lang, rng, false);
                not_helpful = 0.5;
                let confidence = rng.random_range(0.03..0.36);
                (
                    text,
                    confidence,
                    "out_of_scope",
                    self.out_of_scope_route.clone(),
                    "out_of_scope",
                    1500.0,
                )
            }
        };
        not_helpful = f64::min(not_helpful, 0.95);
        // roughly log-normal latency, with a slow tail
        let z =
            (rng.random::<f64>() + rng.random::<f64>() + rng.random::<f64>() + rng.random::<f64>()
                - 2.0)
                * 3f64.sqrt();
        let mut latency_us = latency_median * (0.45 * z).exp();
        if rng.random_bool(0.008) {
            latency_us *= rng.random_range(5.0..40.0);
        }
        let latency_us = latency_us as i64;
        let feedback_rate = match channel {
            "web" => 0.30,
            "slack" => 0.22,
            _ => 0.25,
        };
        let (feedback, feedback_ms) = if rng.random_bool(feedback_rate) {
            let verdict = if rng.random_bool(not_helpful) {
                "not_helpful"
            } else {
                "helpful"
            };
            let delay_ms = match rng.random_range(0..100) {
                0..70 => rng.random_range(5_000..180_000),
                70..95 => rng.random_range(180_000..7_200_000),
                _ => rng.random_range(7_200_000..259_200_000),
            };
            (Some(verdict), Some(received_ms + delay_ms))
        } else {
            (None, None)
        };
        let handoff = i32::from(handoff > 0.0 && rng.random_bool(handoff));
        Row {
            n,
            received_ms,
            completed_ms: received_ms + latency_us / 1000 + rng.random_range(1..40),
            channel,
            asker_key: asker.key.clone(),
            department: asker.department,
            language: lang.code(),
            question: self.store_text.then_some(question),
            intent,
            confidence,
            decision,
            route,
            latency_us,
            feedback,
            feedback_ms,
            handoff,
            outcome,
            specialist,
        }
    }
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

pub(super) fn pick<'a>(
    nl: &'a [String],
    en: &'a [String],
    lang: Lang,
    rng: &mut StdRng,
) -> &'a str {
    let texts = match lang {
        Lang::Nl => nl,
        Lang::En => en,
    };
    texts
        .choose(rng)
        .or_else(|| nl.first())
        .map_or("?", String::as_str)
}

/// A template as someone would type it: a greeting, a capital, a question mark, thanks, and
/// now and then an e-mail address or phone number (as redaction leaves them: `[email]`).
pub(super) fn vary(text: &str, lang: Lang, rng: &mut StdRng, contact: bool) -> String {
    let l = lang_index(lang);
    let mut out = String::with_capacity(text.len() + 32);
    if rng.random_bool(0.08) {
        out.push_str([PREFIX_NL, PREFIX_EN][l].choose(rng).expect("prefixes"));
        out.push_str(text);
    } else {
        out.push_str(text);
        if rng.random_bool(0.12)
            && let Some(first) = out.get_mut(0..1)
        {
            first.make_ascii_uppercase();
        }
    }
    if rng.random_bool(0.10) && !out.ends_with('?') {
        out.push('?');
    }
    if contact && rng.random_bool(0.025) {
        out.push_str([EMAIL_NL, EMAIL_EN][l].choose(rng).expect("tails"));
    } else if contact && rng.random_bool(0.006) {
        out.push_str([PHONE_NL, PHONE_EN][l].choose(rng).expect("tails"));
    }
    if rng.random_bool(0.05) {
        out.push_str([SUFFIX_NL, SUFFIX_EN][l].choose(rng).expect("suffixes"));
    }
    out
}
