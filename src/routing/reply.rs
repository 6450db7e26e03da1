//! The reply model every channel renders: the answer's text plus structured parts
//! (specialists with contact options, knowledge links, "did you mean" options, the desk).
//! [`super::route`] builds it; web chat returns it as JSON; Slack and Teams present it through
//! `channels::present` as Block Kit and Adaptive Cards.

use serde::{Deserialize, Serialize};

use crate::catalogue::{Catalogue, Desk, Intent, KnowledgeItem, Lang, Specialist};
pub use crate::phrases::Phrases;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReplyKind {
    /// Referred to an intent's specialists, knowledge and/or desk.
    Routed,
    /// Asks which of two intents was meant.
    Ambiguous,
    /// Not for this desk: the fallback desk.
    OutOfScope,
    /// A "who knows about X" answer from the specialist directory.
    Directory,
}

impl ReplyKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ReplyKind::Routed => "routed",
            ReplyKind::Ambiguous => "ambiguous",
            ReplyKind::OutOfScope => "out_of_scope",
            ReplyKind::Directory => "directory",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SpecialistRole {
    /// The person the asker is referred to.
    Primary,
    /// Named in case the primary cannot help.
    Alternative,
    /// A directory match.
    Match,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpecialistCard {
    pub id: String,
    pub name: String,
    pub department: String,
    pub email: String,
    pub teams_chat_url: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slack_user_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub teams_aad_object_id: Option<String>,
    pub expertise: String,
    pub role: SpecialistRole,
    /// Why this person: for directory matches, the words that matched.
    pub reason: String,
}

impl SpecialistCard {
    pub fn new(s: &Specialist, role: SpecialistRole, reason: String) -> SpecialistCard {
        SpecialistCard {
            id: s.id.clone(),
            name: s.name.clone(),
            department: s.department.clone(),
            email: s.email.clone(),
            teams_chat_url: format!("https://teams.microsoft.com/l/chat/0/0?users={}", s.email),
            slack_user_id: s.slack_user_id.clone(),
            teams_aad_object_id: s.teams_aad_object_id.clone(),
            expertise: s.expertise.clone(),
            role,
            reason,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KnowledgeLink {
    pub id: String,
    pub title: String,
    pub url: String,
    pub summary: String,
}

impl KnowledgeLink {
    pub fn new(k: &KnowledgeItem, lang: Lang) -> KnowledgeLink {
        KnowledgeLink {
            id: k.id.clone(),
            title: k.title.get(lang).to_string(),
            url: k.url.clone(),
            summary: k.summary.get(lang).to_string(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IntentOption {
    pub intent: String,
    pub label: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeskCard {
    pub id: String,
    pub name: String,
    pub email: Option<String>,
    pub url: Option<String>,
    pub phone: Option<String>,
    pub hours: Option<String>,
}

impl DeskCard {
    pub fn new(d: &Desk, lang: Lang) -> DeskCard {
        let hours = d.hours.get(lang);
        DeskCard {
            id: d.id.clone(),
            name: d.name.get(lang).to_string(),
            email: d.email.clone(),
            url: d.url.clone(),
            phone: d.phone.clone(),
            hours: (!hours.is_empty()).then(|| hours.to_string()),
        }
    }
}

/// What the desk answers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reply {
    /// The logged conversation, for feedback; absent until logged.
    pub conversation_id: Option<i64>,
    pub language: Lang,
    pub decision: ReplyKind,
    pub intent: Option<String>,
    pub confidence: f32,
    /// The whole answer as plain text, for channels that show only text.
    pub text: String,
    /// The opening sentence.
    pub intro: String,
    pub specialists: Vec<SpecialistCard>,
    pub knowledge: Vec<KnowledgeLink>,
    pub options: Vec<IntentOption>,
    pub desk: Option<DeskCard>,
}

/// Stands for the asker's own words in a reply as it is stored (a "who knows about ..."
/// answer names the topic as asked): the stored reply answers a repeated delivery without
/// keeping a copy of the question. U+FFFC (object replacement character) is not something a
/// catalogue or a phrase contains.
pub const QUOTE_MARK: &str = "\u{FFFC}";

/// What a repeated delivery shows for the quote when it cannot quote itself (its text is no
/// question that names a topic).
const QUOTE_UNKNOWN: &str = "…";

impl Reply {
    /// An empty reply of `kind` about `intent`: [`super::route`] fills in the rest with the
    /// `with_*` steps, then [`Reply::finished`] writes its plain text.
    pub fn new(lang: Lang, kind: ReplyKind, intent: Option<&Intent>, confidence: f32) -> Reply {
        Reply {
            conversation_id: None,
            language: lang,
            decision: kind,
            intent: intent.map(|i| i.id.clone()),
            confidence,
            text: String::new(),
            intro: String::new(),
            specialists: Vec::new(),
            knowledge: Vec::new(),
            options: Vec::new(),
            desk: None,
        }
    }

    pub fn with_intro(self, intro: String) -> Reply {
        Reply { intro, ..self }
    }

    pub fn with_specialists(self, specialists: Vec<SpecialistCard>) -> Reply {
        Reply {
            specialists,
            ..self
        }
    }

    pub fn with_knowledge(self, knowledge: Vec<KnowledgeLink>) -> Reply {
        Reply { knowledge, ..self }
    }

    pub fn with_options(self, options: Vec<IntentOption>) -> Reply {
        Reply { options, ..self }
    }

    pub fn with_desk(self, desk: Option<DeskCard>) -> Reply {
        Reply { desk, ..self }
    }

    /// The reply with its plain-text form ([`render_text`]) written.
    pub fn finished(mut self) -> Reply {
        self.text = render_text(&self);
        self
    }

    /// The reply with its [`QUOTE_MARK`] replaced by `quote` (or "…" without one) and its
    /// plain text rendered again; unchanged when it quotes nothing.
    pub fn quoting(mut self, quote: Option<&str>) -> Reply {
        if self.intro.contains(QUOTE_MARK) {
            self.intro = self
                .intro
                .replacen(QUOTE_MARK, quote.unwrap_or(QUOTE_UNKNOWN), 1);
            self.text = render_text(&self);
        }
        self
    }

    /// Ids of everything the reply named, for the conversation log.
    pub fn route_ids(&self) -> serde_json::Value {
        serde_json::json!({
            "specialists": self.specialists.iter().map(|s| &s.id).collect::<Vec<_>>(),
            "knowledge": self.knowledge.iter().map(|k| &k.id).collect::<Vec<_>>(),
            "desk": self.desk.as_ref().map(|d| &d.id),
            "options": self.options.iter().map(|o| &o.intent).collect::<Vec<_>>(),
        })
    }
}

/// Renders the plain-text form of a reply (for `text` and text-only channels).
pub fn render_text(reply: &Reply) -> String {
    let mut lines = vec![reply.intro.clone()];
    for k in &reply.knowledge {
        lines.push(format!("- {}: {} {}", k.title, k.summary, k.url).replace("  ", " "));
    }
    for s in &reply.specialists {
        let prefix = match s.role {
            SpecialistRole::Alternative => format!("- ({}) ", Phrases::alternative(reply.language)),
            _ => "- ".to_string(),
        };
        let reason = if s.reason.is_empty() {
            String::new()
        } else {
            format!(" [{}]", s.reason)
        };
        lines.push(format!(
            "{prefix}{} ({}), {}{reason}",
            s.name, s.department, s.email
        ));
    }
    for o in &reply.options {
        lines.push(format!("- {}", o.label));
    }
    if let Some(d) = &reply.desk {
        let contact: Vec<&str> = [&d.email, &d.phone, &d.url, &d.hours]
            .into_iter()
            .filter_map(|v| v.as_deref())
            .collect();
        lines.push(format!("- {}: {}", d.name, contact.join(", ")));
    }
    lines.retain(|l| !l.trim().is_empty());
    lines.join("\n")
}

/// Specialist ids of a route that can take referrals on `today`, in catalogue order.
pub fn available_specialists<'a>(
    catalogue: &'a Catalogue,
    ids: &'a [String],
    today: chrono::NaiveDate,
) -> impl Iterator<Item = &'a Specialist> + 'a {
    ids.iter()
        .filter_map(|id| catalogue.specialist(id))
        .filter(move |s| s.is_available(today))
}

/// Replies for the channel renderers' tests (Slack blocks, Teams cards).
#[cfg(test)]
pub(crate) mod fixtures {
    use super::*;

    /// A specialist card without channel ids (each channel's tests add theirs).
    pub fn specialist(id: &str, name: &str, role: SpecialistRole) -> SpecialistCard {
        SpecialistCard {
            id: id.to_string(),
            name: name.to_string(),
            department: "HR Analytics".to_string(),
            email: format!("{id}@example.org"),
            teams_chat_url: format!(
                "https://teams.microsoft.com/l/chat/0/0?users={id}@example.org"
            ),
            slack_user_id: None,
            teams_aad_object_id: None,
            expertise: "Power BI, dashboards and HR reporting".to_string(),
            role,
            reason: String::new(),
        }
    }

    pub fn knowledge(n: usize) -> KnowledgeLink {
        KnowledgeLink {
            id: format!("k{n}"),
            title: format!("Guide {n}"),
            url: format!("https://intranet.example.org/guide-{n}?a=1&b=2"),
            summary: format!("What guide {n} explains."),
        }
    }

    pub fn desk() -> DeskCard {
        DeskCard {
            id: "hr-service".to_string(),
            name: "HR Service Desk".to_string(),
            email: Some("hr@example.org".to_string()),
            url: Some("https://intranet.example.org/hr".to_string()),
            phone: Some("+31 30 123 45 67".to_string()),
            hours: Some("Mon–Fri 9:00–17:00".to_string()),
        }
    }

    /// A routed reply about Power BI: Anna (first) and Bram (the alternative), without
    /// channel ids (each channel's tests add theirs), and two knowledge items.
    pub fn routed(language: Lang) -> Reply {
        let mut r = reply(language, ReplyKind::Routed);
        r.specialists = vec![
            specialist("anna", "Anna Jansen", SpecialistRole::Primary),
            specialist("bram", "Bram de Vries", SpecialistRole::Alternative),
        ];
        r.knowledge = vec![knowledge(1), knowledge(2)];
        r
    }

    /// A logged reply (conversation 42) about Power BI, with nothing in it yet.
    pub fn reply(language: Lang, decision: ReplyKind) -> Reply {
        Reply {
            conversation_id: Some(42),
            language,
            decision,
            intent: Some("power_bi".to_string()),
            confidence: 0.9,
            text: "For Power BI, this is where to go:".to_string(),
            intro: "For Power BI, this is where to go:".to_string(),
            specialists: Vec::new(),
            knowledge: Vec::new(),
            options: Vec::new(),
            desk: None,
        }
    }
}
