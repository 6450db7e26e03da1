//! One conversation, drawn: who asks in which language and channel, what kind of question
//! (routed, ambiguous, directory, a planted topic or noise) and what it is answered with, how
//! long the answer took, and the feedback and handoff that follow. Every draw comes from the
//! generator's one `StdRng`, in a fixed order, so the same seed gives the same rows.

use std::sync::Arc;

use rand::Rng;
use rand::distr::Distribution;
use rand::rngs::StdRng;
use rand::seq::IndexedRandom;

use crate::catalogue::Lang;
use crate::store::DemoRow;

use super::generate::{Generator, Kind, ambiguous, lang_index, logged_route, routed_to};
use super::plan::*;

/// What the kind of question decides about a conversation.
struct Answered {
    question: String,
    confidence: f32,
    decision: &'static str,
    route: Arc<str>,
    outcome: &'static str,
    /// Median time to answer, in microseconds.
    latency_median: f64,
    intent: Option<Arc<str>>,
    specialist: Option<Arc<str>>,
    /// Chance that feedback, when given, says "not helpful" (capped later).
    not_helpful: f64,
    /// Chance that the asker hands the question off to the specialist.
    handoff: f64,
}

impl Generator {
    pub(super) fn conversation(
        &mut self,
        n: u64,
        received_ms: i64,
        day: usize,
        asker_index: usize,
        kind: Kind,
    ) -> DemoRow {
        let (lang, channel) = self.draw_language_and_channel(asker_index);
        let answered = match kind {
            Kind::Routed => self.draw_routed(day, asker_index, lang, received_ms),
            Kind::Ambiguous => self.draw_ambiguous(day, asker_index, lang),
            Kind::Directory => self.draw_directory(lang),
            Kind::Planted(k) => self.draw_planted(k, lang),
            Kind::Noise => self.draw_noise(lang),
        };
        let rng = &mut self.rng;
        let not_helpful = f64::min(answered.not_helpful, 0.95);
        let latency_us = draw_latency_us(rng, answered.latency_median);
        let (feedback, feedback_ms) = draw_feedback(rng, channel, not_helpful, received_ms);
        let handoff = i32::from(answered.handoff > 0.0 && rng.random_bool(answered.handoff));
        let asker = &self.askers[asker_index];
        DemoRow {
            n,
            received_ms,
            completed_ms: received_ms + latency_us / 1000 + rng.random_range(1..40),
            channel,
            asker_key: asker.key.clone(),
            department: asker.department,
            language: lang.code(),
            question: self.store_text.then_some(answered.question),
            intent: answered.intent,
            confidence: answered.confidence,
            decision: answered.decision,
            route: answered.route,
            latency_us,
            feedback,
            feedback_ms,
            handoff,
            outcome: answered.outcome,
            specialist: answered.specialist,
        }
    }

    /// Askers mostly write in their own language and use their own channel, not always.
    fn draw_language_and_channel(&mut self, asker_index: usize) -> (Lang, &'static str) {
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
        (lang, channel)
    }

    /// A question routed to an intent of the asker's department's mix: to its specialists,
    /// least recently referred first, as the pipeline balances the load, or to its knowledge
    /// and desk when every specialist is away.
    fn draw_routed(
        &mut self,
        day: usize,
        asker_index: usize,
        lang: Lang,
        received_ms: i64,
    ) -> Answered {
        let rng = &mut self.rng;
        let date = self.days[day].date;
        let i = self.days[day].intents[self.groups[asker_index]].sample(rng);
        let plan = &self.intents[i];
        let low = rng.random_bool(plan.low_confidence);
        let confidence = if low {
            rng.random_range(0.39..0.5)
        } else {
            0.5 + 0.49 * (1.0 - rng.random::<f64>().powf(2.2))
        };
        let question = vary(pick(&plan.nl, &plan.en, lang, rng), lang, rng, true);
        let mut specialist = None;
        let mut handoff = 0.0;
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
        let mut not_helpful = if low { 0.45 } else { plan.not_helpful };
        if outcome != "specialist" {
            not_helpful += 0.06;
        }
        Answered {
            question,
            confidence: confidence as f32,
            decision: "routed",
            route,
            outcome,
            latency_median: 1800.0,
            intent: Some(plan.id.clone()),
            specialist,
            not_helpful,
            handoff,
        }
    }

    /// A question between an intent and its confusable partner: answered with both as options.
    fn draw_ambiguous(&mut self, day: usize, asker_index: usize, lang: Lang) -> Answered {
        let rng = &mut self.rng;
        let i = self.days[day].intents[self.groups[asker_index]].sample(rng);
        let partner = self.intents[i].partner;
        let asked = if rng.random_bool(0.7) { i } else { partner };
        let plan = &self.intents[asked];
        let question = vary(pick(&plan.nl, &plan.en, lang, rng), lang, rng, true);
        let route = self
            .ambiguous_routes
            .entry((i, partner))
            .or_insert_with(|| {
                let asked = ambiguous(&self.intents[i].id, &self.intents[partner].id);
                logged_route(&self.catalogue, &asked, None)
            })
            .clone();
        Answered {
            question,
            confidence: rng.random_range(0.39..0.62),
            decision: "ambiguous",
            route,
            outcome: "ambiguous",
            latency_median: 1900.0,
            intent: Some(self.intents[i].id.clone()),
            specialist: None,
            not_helpful: 0.30,
            handoff: 0.0,
        }
    }

    /// "Who knows about X", answered by the directory search done once per topic.
    fn draw_directory(&mut self, lang: Lang) -> Answered {
        let rng = &mut self.rng;
        let topic = &self.directory[self.directory_weights.sample(rng)];
        let template = match lang {
            Lang::Nl => DIRECTORY_NL.choose(rng),
            Lang::En => DIRECTORY_EN.choose(rng),
        }
        .expect("directory phrasings");
        let (not_helpful, handoff) = if topic.specialists.is_empty() {
            (0.55, 0.0)
        } else {
            (0.20, 0.10)
        };
        Answered {
            question: template.replace("{t}", &topic.topic),
            confidence: topic.score,
            decision: "directory",
            route: topic.route.clone(),
            outcome: "directory",
            latency_median: 2600.0,
            intent: None,
            specialist: None,
            not_helpful,
            handoff,
        }
    }

    /// A question about a planted topic: demand the catalogue does not cover.
    fn draw_planted(&mut self, k: usize, lang: Lang) -> Answered {
        let rng = &mut self.rng;
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
        let confidence = rng.random_range(0.04..0.38);
        let question = vary(&text, lang, rng, true);
        self.out_of_scope(question, confidence, 0.6)
    }

    /// Something the desk is not for at all.
    fn draw_noise(&mut self, lang: Lang) -> Answered {
        let rng = &mut self.rng;
        let noise = &self.noise;
        let question = vary(pick(&noise[0], &noise[1], lang, rng), lang, rng, false);
        let confidence = rng.random_range(0.03..0.36);
        self.out_of_scope(question, confidence, 0.5)
    }

    /// Out of scope: sent to the fallback desk.
    fn out_of_scope(&self, question: String, confidence: f32, not_helpful: f64) -> Answered {
        Answered {
            question,
            confidence,
            decision: "out_of_scope",
            route: self.out_of_scope_route.clone(),
            outcome: "out_of_scope",
            latency_median: 1500.0,
            intent: None,
            specialist: None,
            not_helpful,
            handoff: 0.0,
        }
    }
}

/// Roughly log-normal around `median`, with a slow tail.
fn draw_latency_us(rng: &mut StdRng, median: f64) -> i64 {
    let z = (rng.random::<f64>() + rng.random::<f64>() + rng.random::<f64>() + rng.random::<f64>()
        - 2.0)
        * 3f64.sqrt();
    let mut latency_us = median * (0.45 * z).exp();
    if rng.random_bool(0.008) {
        latency_us *= rng.random_range(5.0..40.0);
    }
    latency_us as i64
}

/// Whether feedback is given (more often on the web than in Slack), what it says and when.
fn draw_feedback(
    rng: &mut StdRng,
    channel: &str,
    not_helpful: f64,
    received_ms: i64,
) -> (Option<&'static str>, Option<i64>) {
    let feedback_rate = match channel {
        "web" => 0.30,
        "slack" => 0.22,
        _ => 0.25,
    };
    if !rng.random_bool(feedback_rate) {
        return (None, None);
    }
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
