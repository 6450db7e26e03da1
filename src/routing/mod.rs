//! Where a question goes, decided in one place: [`route`] turns what was decided about a
//! question (the classifier's prediction, the asker's "did you mean" pick, or the directory's
//! matches for a "who knows about X" question) into the [`Reply`] every channel presents, in
//! the asker's language. It is synchronous and pure: the server's pipeline, `referral-desk
//! classify` and the demo generator all call it, so what they show cannot differ.
//!
//! The only input it does not compute is whose turn it is among an intent's available
//! specialists (least recently referred first): that is shared state, kept by the store
//! across replicas. The caller asks [`specialists_to_rotate`] for the candidates, lets the
//! store order them, and passes the order in; without one (classify) catalogue order is used.
//!
//! - [`reply`]: the reply model (specialists with their role, knowledge links, options, desk)
//!   and its plain-text form;
//! - [`directory`]: the specialist directory behind "who knows about X" questions.

pub mod directory;
pub mod reply;

pub use directory::{Directory, DirectoryMatch, directory_topic};
pub use reply::{
    DeskCard, IntentOption, KnowledgeLink, Phrases, QUOTE_MARK, Reply, ReplyKind, SpecialistCard,
    SpecialistRole, render_text,
};

use chrono::NaiveDate;

use crate::catalogue::{Catalogue, Intent, Lang};
use crate::nlu::{Decision, Prediction};

/// At most this many specialists are offered for an intent: whose turn it is, and one
/// alternative in case that person cannot help.
pub const OFFERED_SPECIALISTS: usize = 2;

/// What was decided about a question: the input of [`route`].
#[derive(Debug, Clone, Copy)]
pub enum Decided<'a> {
    /// A "who knows about X" question and the directory's matches, best first.
    Directory { matches: &'a [DirectoryMatch] },
    /// The classifier's prediction; `choice` is an intent the asker picked from a "did you
    /// mean" answer, which overrides it.
    Classified {
        prediction: &'a Prediction,
        choice: Option<&'a str>,
    },
}

/// The outcome of a classified question, before it is put into words.
enum Outcome<'a> {
    OutOfScope,
    /// Two intents to choose between.
    Ambiguous(&'a Intent, [&'a Intent; 2]),
    Routed(&'a Intent),
}

/// Whether the question goes to an intent, which, and with what confidence.
fn outcome<'a>(
    catalogue: &'a Catalogue,
    prediction: &Prediction,
    choice: Option<&str>,
) -> (Outcome<'a>, f32) {
    let chosen = choice.and_then(|id| catalogue.intent(id));
    let decision = if chosen.is_some() {
        Decision::Routed
    } else {
        prediction.decision
    };
    let intent = chosen.or_else(|| {
        prediction
            .intent
            .as_deref()
            .and_then(|id| catalogue.intent(id))
    });
    // a pick keeps the confidence the classifier had in that intent
    let confidence = match chosen {
        Some(i) => prediction
            .alternatives
            .iter()
            .find(|a| a.intent == i.id)
            .map_or(prediction.confidence, |a| a.confidence),
        None => prediction.confidence,
    };
    let Some(intent) = intent.filter(|_| decision != Decision::OutOfScope) else {
        return (Outcome::OutOfScope, confidence);
    };
    if decision == Decision::Ambiguous {
        let options: Vec<&Intent> = prediction
            .alternatives
            .iter()
            .take(2)
            .filter_map(|a| catalogue.intent(&a.intent))
            .collect();
        if let [a, b] = options.as_slice() {
            return (Outcome::Ambiguous(intent, [a, b]), confidence);
        }
    }
    (Outcome::Routed(intent), confidence)
}

/// The specialists whose turn the store decides for `decided`: the available specialists of
/// the intent the question is routed to, in catalogue order; none when it is not routed.
pub fn specialists_to_rotate(
    catalogue: &Catalogue,
    decided: &Decided<'_>,
    today: NaiveDate,
) -> Vec<String> {
    match decided {
        Decided::Classified { prediction, choice } => match outcome(catalogue, prediction, *choice)
        {
            (Outcome::Routed(intent), _) => available_ids(catalogue, intent, today),
            _ => Vec::new(),
        },
        Decided::Directory { .. } => Vec::new(),
    }
}

/// Ids of `intent`'s specialists who can take referrals on `today`, in catalogue order.
fn available_ids(catalogue: &Catalogue, intent: &Intent, today: NaiveDate) -> Vec<String> {
    reply::available_specialists(catalogue, &intent.route.specialists, today)
        .map(|s| s.id.clone())
        .collect()
}

/// The reply for `decided`, in `lang`, with availability as of `today`. `in_turn` is the
/// order of [`specialists_to_rotate`] the store decided (whose turn first); `None` offers
/// them in catalogue order. A directory answer quotes the asker's topic as [`QUOTE_MARK`]
/// (see [`Reply::quoting`]).
pub fn route(
    catalogue: &Catalogue,
    decided: &Decided<'_>,
    lang: Lang,
    today: NaiveDate,
    in_turn: Option<&[String]>,
) -> Reply {
    let reply = match decided {
        Decided::Directory { matches } => directory_reply(catalogue, matches, lang),
        Decided::Classified { prediction, choice } => {
            match outcome(catalogue, prediction, *choice) {
                (Outcome::OutOfScope, confidence) => {
                    let desk = DeskCard::new(catalogue.fallback_desk(), lang);
                    Reply::new(lang, ReplyKind::OutOfScope, None, confidence)
                        .with_intro(Phrases::out_of_scope(lang, &desk.name))
                        .with_desk(Some(desk))
                }
                (Outcome::Ambiguous(intent, options), confidence) => {
                    let options = options.map(|i| IntentOption {
                        intent: i.id.clone(),
                        label: i.label(lang).to_string(),
                    });
                    Reply::new(lang, ReplyKind::Ambiguous, Some(intent), confidence)
                        .with_intro(Phrases::did_you_mean(
                            lang,
                            &options[0].label,
                            &options[1].label,
                        ))
                        .with_options(options.to_vec())
                }
                (Outcome::Routed(intent), confidence) => {
                    routed_reply(catalogue, intent, lang, today, in_turn, confidence)
                }
            }
        }
    };
    reply.finished()
}

fn directory_reply(catalogue: &Catalogue, matches: &[DirectoryMatch], lang: Lang) -> Reply {
    let Some(best) = matches.first() else {
        let desk = DeskCard::new(catalogue.fallback_desk(), lang);
        return Reply::new(lang, ReplyKind::Directory, None, 0.0)
            .with_intro(Phrases::directory_none(lang, QUOTE_MARK, &desk.name))
            .with_desk(Some(desk));
    };
    let specialists = matches
        .iter()
        .filter_map(|m| {
            let s = catalogue.specialist(&m.specialist_id)?;
            let reason = if m.matched.is_empty() {
                String::new()
            } else {
                Phrases::matches_on(lang, &m.matched.join(", "))
            };
            Some(SpecialistCard::new(s, SpecialistRole::Match, reason))
        })
        .collect();
    Reply::new(lang, ReplyKind::Directory, None, best.score)
        .with_intro(Phrases::directory(lang, QUOTE_MARK))
        .with_specialists(specialists)
}

fn routed_reply(
    catalogue: &Catalogue,
    intent: &Intent,
    lang: Lang,
    today: NaiveDate,
    in_turn: Option<&[String]>,
    confidence: f32,
) -> Reply {
    let catalogue_order: Vec<String>;
    let order = match in_turn {
        Some(order) => order,
        None => {
            catalogue_order = available_ids(catalogue, intent, today);
            &catalogue_order
        }
    };
    let specialists = order
        .iter()
        .filter_map(|id| catalogue.specialist(id))
        .take(OFFERED_SPECIALISTS)
        .enumerate()
        .map(|(i, s)| {
            let role = if i == 0 {
                SpecialistRole::Primary
            } else {
                SpecialistRole::Alternative
            };
            SpecialistCard::new(s, role, String::new())
        })
        .collect();
    let knowledge = intent
        .route
        .knowledge
        .iter()
        .filter_map(|id| catalogue.knowledge_item(id))
        .map(|k| KnowledgeLink::new(k, lang))
        .collect();
    let desk = intent
        .route
        .desk
        .as_deref()
        .and_then(|id| catalogue.desk(id))
        .map(|d| DeskCard::new(d, lang));
    let intro = match intent.reply.get(lang) {
        "" => Phrases::routed_default(lang, intent.label(lang)),
        text => text.to_string(),
    };
    Reply::new(lang, ReplyKind::Routed, Some(intent), confidence)
        .with_intro(intro)
        .with_specialists(specialists)
        .with_knowledge(knowledge)
        .with_desk(desk)
}

#[cfg(test)]
mod tests;
