//! The neutral presenter between the reply model and the platforms: what the Slack and Teams
//! renderers share when they turn a [`Reply`] into Block Kit or an Adaptive Card.
//!
//! [`Presented::of`] decides once, for both platforms, what a reply shows: every text on one
//! line and trimmed, the fallbacks for empty catalogue fields (a specialist without a name is
//! shown by id, else as "colleague"; a knowledge item without a title by id), which
//! specialists and knowledge items fit ([`Presented::select`]) and how many are "not shown",
//! the desk's ways in as labelled facts in one order, the "did you mean" options with a label,
//! and the words from [`crate::phrases`]. The platform modules only serialise that model:
//! they decide the JSON shape, count length their own way (Slack in UTF-16 units, Teams in
//! characters), escape their own markup and cut with [`cut`] to the limits below.

use crate::catalogue::Lang;
use crate::phrases::Labels;
use crate::routing::Reply;
use crate::routing::reply::{DeskCard, KnowledgeLink, SpecialistCard, SpecialistRole};

/// A person's name or department.
pub const MAX_NAME: usize = 100;
/// A knowledge item's title.
pub const MAX_TITLE: usize = 200;
/// A specialist's expertise, as shown (the catalogue may hold more).
pub const MAX_EXPERTISE: usize = 200;
/// Why a directory match was shown.
pub const MAX_REASON: usize = 200;
/// One desk contact (e-mail, phone, hours).
pub const MAX_DESK_VALUE: usize = 300;
/// A notification's text.
pub const MAX_FALLBACK_TEXT: usize = 150;

/// A reply as both platforms show it: the parts that have something to show, with their
/// texts trimmed, on one line where they are shown on one line, and fallbacks filled in.
pub struct Presented<'a> {
    pub language: Lang,
    pub labels: &'static Labels,
    /// The logged conversation the buttons refer to; `None` when the reply was not logged.
    pub conversation_id: Option<i64>,
    /// The opening sentence, trimmed; may hold several lines.
    pub intro: &'a str,
    pub specialists: Vec<ShownSpecialist<'a>>,
    pub knowledge: Vec<ShownKnowledge<'a>>,
    pub desk: Option<ShownDesk>,
    /// "Did you mean" options that name an intent.
    pub options: Vec<ShownOption<'a>>,
}

/// A specialist as shown.
#[derive(Debug)]
pub struct ShownSpecialist<'a> {
    /// The position in the reply's list, for ids that must be unique within a message.
    pub index: usize,
    pub card: &'a SpecialistCard,
    /// The name, else the id, else "colleague".
    pub name: String,
    /// Empty when unknown.
    pub department: String,
    /// Empty when unknown.
    pub expertise: String,
    /// Why a directory match was shown; only for matches.
    pub reason: Option<String>,
    /// Named in case the primary cannot help.
    pub alternative: bool,
    /// The e-mail address, trimmed.
    pub email: Option<&'a str>,
}

/// A knowledge item as shown.
#[derive(Debug)]
pub struct ShownKnowledge<'a> {
    pub card: &'a KnowledgeLink,
    /// The title, else the id, else "open".
    pub title: String,
    /// Trimmed; may hold several lines.
    pub summary: &'a str,
    /// Trimmed; each platform decides whether it can be linked.
    pub url: &'a str,
}

/// The desk: its name and its ways in, labelled, in the order both platforms show them.
#[derive(Debug)]
pub struct ShownDesk {
    /// The name, else "Referral Desk".
    pub name: String,
    pub facts: Vec<DeskFact>,
}

/// What a desk fact is, for the platform to decide how to link it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeskFactKind {
    Email,
    Phone,
    Web,
    Hours,
}

/// One way in to the desk: a label in the reply's language and a value on one line.
#[derive(Debug)]
pub struct DeskFact {
    pub kind: DeskFactKind,
    pub label: &'static str,
    pub value: String,
}

/// A "did you mean" option as shown.
#[derive(Debug)]
pub struct ShownOption<'a> {
    /// The position in the reply's list, for ids that must be unique within a message.
    pub index: usize,
    /// The intent's id, as the button's value carries it.
    pub intent: &'a str,
    /// The intent's name, else its id.
    pub label: String,
}

/// How many specialists and knowledge items a message has room for.
#[derive(Debug, Clone, Copy)]
pub enum Room {
    /// One budget for both lists, specialists first, in which the "N more not shown" note
    /// takes one place when it is needed (Slack: the blocks left under 50).
    Shared(usize),
    /// At most this many of each (Teams: a card that stays readable).
    Each {
        specialists: usize,
        knowledge: usize,
    },
}

/// The specialists and knowledge items that fit, and how many of each do not.
#[derive(Debug)]
pub struct Selection<'p, 'a> {
    pub specialists: &'p [ShownSpecialist<'a>],
    pub knowledge: &'p [ShownKnowledge<'a>],
    pub hidden_specialists: usize,
    pub hidden_knowledge: usize,
}

impl Selection<'_, '_> {
    /// Everything left out, for a single "N more not shown" note.
    pub fn hidden(&self) -> usize {
        self.hidden_specialists + self.hidden_knowledge
    }
}

impl<'a> Presented<'a> {
    pub fn of(reply: &'a Reply) -> Presented<'a> {
        let labels = Labels::of(reply.language);
        Presented {
            language: reply.language,
            labels,
            conversation_id: reply.conversation_id,
            intro: reply.intro.trim(),
            specialists: (reply.specialists.iter().enumerate())
                .map(|(index, card)| ShownSpecialist::of(index, card, labels))
                .collect(),
            knowledge: (reply.knowledge.iter())
                .map(|card| ShownKnowledge::of(card, labels))
                .collect(),
            desk: reply.desk.as_ref().and_then(|d| ShownDesk::of(d, labels)),
            options: (reply.options.iter().enumerate())
                .filter(|(_, o)| !o.intent.trim().is_empty())
                .map(|(index, o)| ShownOption {
                    index,
                    intent: &o.intent,
                    label: first_shown([&o.label, &o.intent]).unwrap_or_default(),
                })
                .collect(),
        }
    }

    /// The specialists and knowledge items that fit in `room`, in the reply's order.
    pub fn select(&self, room: Room) -> Selection<'_, 'a> {
        let (specialists, knowledge) = match room {
            Room::Shared(slots) => {
                let parts = self.specialists.len() + self.knowledge.len();
                // the note that says how many more there are takes a place itself
                let room = if parts > slots {
                    slots.saturating_sub(1)
                } else {
                    slots
                };
                let specialists = self.specialists.len().min(room);
                (specialists, self.knowledge.len().min(room - specialists))
            }
            Room::Each {
                specialists,
                knowledge,
            } => (
                self.specialists.len().min(specialists),
                self.knowledge.len().min(knowledge),
            ),
        };
        Selection {
            specialists: &self.specialists[..specialists],
            knowledge: &self.knowledge[..knowledge],
            hidden_specialists: self.specialists.len() - specialists,
            hidden_knowledge: self.knowledge.len() - knowledge,
        }
    }
}

impl<'a> ShownSpecialist<'a> {
    fn of(index: usize, card: &'a SpecialistCard, labels: &Labels) -> ShownSpecialist<'a> {
        let reason = one_line(&card.reason);
        ShownSpecialist {
            index,
            card,
            name: first_shown([&card.name, &card.id]).unwrap_or_else(|| labels.colleague.into()),
            department: one_line(&card.department),
            expertise: one_line(&card.expertise),
            reason: (card.role == SpecialistRole::Match && !reason.is_empty()).then_some(reason),
            alternative: card.role == SpecialistRole::Alternative,
            email: trimmed(&card.email),
        }
    }
}

impl<'a> ShownKnowledge<'a> {
    fn of(card: &'a KnowledgeLink, labels: &Labels) -> ShownKnowledge<'a> {
        ShownKnowledge {
            card,
            title: first_shown([&card.title, &card.id]).unwrap_or_else(|| labels.open.into()),
            summary: card.summary.trim(),
            url: card.url.trim(),
        }
    }
}

impl ShownDesk {
    /// `None` when the desk has neither a name nor a way in.
    fn of(desk: &DeskCard, labels: &Labels) -> Option<ShownDesk> {
        let facts: Vec<DeskFact> = [
            (DeskFactKind::Email, labels.email, &desk.email),
            (DeskFactKind::Phone, labels.phone, &desk.phone),
            (DeskFactKind::Web, labels.web, &desk.url),
            (DeskFactKind::Hours, labels.hours, &desk.hours),
        ]
        .into_iter()
        .filter_map(|(kind, label, value)| {
            let value = one_line(value.as_deref()?);
            (!value.is_empty()).then_some(DeskFact { kind, label, value })
        })
        .collect();
        let name = one_line(&desk.name);
        if name.is_empty() && facts.is_empty() {
            return None;
        }
        Some(ShownDesk {
            name: if name.is_empty() {
                labels.desk_name.to_string()
            } else {
                name
            },
            facts,
        })
    }
}

/// The first of `texts` that has something to show, on one line.
fn first_shown<const N: usize>(texts: [&String; N]) -> Option<String> {
    texts
        .into_iter()
        .map(|t| one_line(t))
        .find(|t| !t.is_empty())
}

/// The trimmed text, or `None` when there is none.
fn trimmed(text: &str) -> Option<&str> {
    Some(text.trim()).filter(|t| !t.is_empty())
}

/// Whitespace (including line breaks) collapsed to single spaces, for texts shown on one line.
pub fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The first line that says what the answer is about, for notifications, screen readers and a
/// card with nothing else to show: the intro's, else the text's, else the desk's name.
pub fn headline(reply: &Reply) -> &str {
    [reply.intro.as_str(), reply.text.as_str()]
        .into_iter()
        .find_map(|t| t.lines().map(str::trim).find(|line| !line.is_empty()))
        .unwrap_or(Labels::of(reply.language).desk_name)
}

/// `text` written with `escape` (the platform's markup for a character, if any) and cut to at
/// most `max` units as `width` counts a character (or its escape's bytes), ending in "…" when
/// cut. Cuts at a word boundary when one is near (a word cut in half reads worse than a
/// slightly shorter text), and never inside an escape.
pub fn cut(
    text: &str,
    max: usize,
    width: impl Fn(char) -> usize,
    escape: impl Fn(char) -> Option<&'static str>,
) -> String {
    let len = |c: char| escape(c).map_or_else(|| width(c), str::len);
    let push = |out: &mut String, c: char| match escape(c) {
        Some(entity) => out.push_str(entity),
        None => out.push(c),
    };
    let mut out = String::new();
    if text.chars().map(len).sum::<usize>() <= max {
        text.chars().for_each(|c| push(&mut out, c));
        return out;
    }
    if max == 0 {
        return out;
    }
    let budget = max - 1; // room for the "…"
    let mut used = 0;
    let mut last_space = None;
    for c in text.chars() {
        if used + len(c) > budget {
            break;
        }
        if c.is_whitespace() {
            last_space = Some((out.len(), used));
        }
        push(&mut out, c);
        used += len(c);
    }
    if let Some((at, kept)) = last_space
        && kept * 5 >= used * 4
    {
        out.truncate(at);
    }
    let trimmed = out.trim_end().len();
    out.truncate(trimmed);
    out.push('…');
    out
}

/// No markup: the text as it is.
pub fn no_escape(_: char) -> Option<&'static str> {
    None
}

#[cfg(test)]
mod tests;
