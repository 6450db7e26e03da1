//! From a classifier decision to where the asker goes: the intent's specialists, knowledge
//! items and desk, or the fallback desk for what the catalogue does not cover. Texts are
//! resolved in the question's language. `directory` answers "who knows about X" questions
//! from the specialists' expertise.

pub mod directory;

pub use directory::{Directory, DirectoryMatch, directory_topic};

use chrono::NaiveDate;
use serde::Serialize;

use crate::catalogue::{Catalogue, Desk, Lang};
use crate::nlu::{Decision, Prediction};

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SpecialistRef {
    pub id: String,
    pub name: String,
    pub department: String,
    pub email: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub slack_user_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub away_until: Option<NaiveDate>,
    pub available: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KnowledgeRef {
    pub id: String,
    pub title: String,
    pub url: String,
    pub summary: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeskRef {
    pub id: String,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
}

/// An intent offered as one of the "did you mean" options of an ambiguous question.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OptionRef {
    pub intent: String,
    pub description: String,
    pub confidence: f32,
}

/// Where a question is sent, in the asker's language.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ResolvedRoute {
    /// The intent's opening sentence, if HRD wrote one.
    pub reply: String,
    pub specialists: Vec<SpecialistRef>,
    pub knowledge: Vec<KnowledgeRef>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub desk: Option<DeskRef>,
    /// For ambiguous questions: the two intents to choose between.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub options: Vec<OptionRef>,
}

fn desk_ref(desk: &Desk, lang: Lang) -> DeskRef {
    DeskRef {
        id: desk.id.clone(),
        name: desk.name.get(lang).to_string(),
        email: desk.email.clone(),
        url: desk.url.clone(),
        phone: desk.phone.clone(),
    }
}

/// Resolves the route for `prediction` on `today` (for availability).
pub fn resolve(
    catalogue: &Catalogue,
    prediction: &Prediction,
    lang: Lang,
    today: NaiveDate,
) -> ResolvedRoute {
    let intent = prediction
        .intent
        .as_deref()
        .and_then(|id| catalogue.intent(id));
    let Some(intent) = intent.filter(|_| prediction.decision != Decision::OutOfScope) else {
        return ResolvedRoute {
            reply: String::new(),
            specialists: Vec::new(),
            knowledge: Vec::new(),
            desk: Some(desk_ref(catalogue.fallback_desk(), lang)),
            options: Vec::new(),
        };
    };
    let options = if prediction.decision == Decision::Ambiguous {
        prediction
            .alternatives
            .iter()
            .take(2)
            .filter_map(|alt| {
                catalogue.intent(&alt.intent).map(|i| OptionRef {
                    intent: i.id.clone(),
                    description: i.description.clone(),
                    confidence: alt.confidence,
                })
            })
            .collect()
    } else {
        Vec::new()
    };
    ResolvedRoute {
        reply: intent.reply.get(lang).to_string(),
        specialists: intent
            .route
            .specialists
            .iter()
            .filter_map(|id| catalogue.specialist(id))
            .map(|s| SpecialistRef {
                id: s.id.clone(),
                name: s.name.clone(),
                department: s.department.clone(),
                email: s.email.clone(),
                slack_user_id: s.slack_user_id.clone(),
                away_until: s.away_until,
                available: s.is_available(today),
            })
            .collect(),
        knowledge: intent
            .route
            .knowledge
            .iter()
            .filter_map(|id| catalogue.knowledge_item(id))
            .map(|k| KnowledgeRef {
                id: k.id.clone(),
                title: k.title.get(lang).to_string(),
                url: k.url.clone(),
                summary: k.summary.get(lang).to_string(),
            })
            .collect(),
        desk: intent
            .route
            .desk
            .as_deref()
            .and_then(|id| catalogue.desk(id))
            .map(|d| desk_ref(d, lang)),
        options,
    }
}
