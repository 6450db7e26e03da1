//! The YAML shapes of catalogue files, exactly as HRD writes them. Ids, references and
//! examples carry their source location so validation can point at the offending line.
//! Unknown keys are rejected: a misspelt `exmples:` must not silently train nothing.

use chrono::NaiveDate;
use serde::Deserialize;
use serde_saphyr::Spanned;

use super::{Lang, LocalText};

pub type SpannedText = Spanned<String>;

/// One catalogue file; any section may appear in any file.
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RawFile {
    pub settings: Option<Spanned<RawSettings>>,
    #[serde(default)]
    pub desks: Vec<RawDesk>,
    #[serde(default)]
    pub specialists: Vec<RawSpecialist>,
    #[serde(default)]
    pub knowledge: Vec<RawKnowledgeItem>,
    #[serde(default)]
    pub intents: Vec<RawIntent>,
    pub out_of_scope: Option<RawOutOfScope>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSettings {
    pub fallback: RawFallback,
    #[serde(default)]
    pub classifier: Option<RawClassifierSettings>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawFallback {
    pub desk: SpannedText,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawClassifierSettings {
    pub threshold: Option<Spanned<f32>>,
    pub ambiguity_margin: Option<Spanned<f32>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDesk {
    pub id: SpannedText,
    pub name: Spanned<LocalText>,
    pub email: Option<SpannedText>,
    pub url: Option<SpannedText>,
    pub phone: Option<String>,
    #[serde(default)]
    pub hours: LocalText,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSpecialist {
    pub id: SpannedText,
    pub name: SpannedText,
    pub slack_user_id: Option<String>,
    pub teams_aad_object_id: Option<String>,
    pub email: SpannedText,
    #[serde(default)]
    pub department: String,
    pub languages: Spanned<Vec<Lang>>,
    #[serde(default)]
    pub expertise: String,
    #[serde(default)]
    pub tags: Vec<String>,
    pub away_until: Option<NaiveDate>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawKnowledgeItem {
    pub id: SpannedText,
    pub title: Spanned<LocalText>,
    pub url: SpannedText,
    #[serde(default)]
    pub summary: LocalText,
    #[serde(default)]
    pub tags: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawIntent {
    pub id: SpannedText,
    #[serde(default)]
    pub title: LocalText,
    #[serde(default)]
    pub description: String,
    pub route: Spanned<RawRoute>,
    #[serde(default)]
    pub reply: LocalText,
    #[serde(default)]
    pub examples: RawExamples,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RawRoute {
    #[serde(default)]
    pub specialists: Vec<SpannedText>,
    #[serde(default)]
    pub knowledge: Vec<SpannedText>,
    pub desk: Option<SpannedText>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RawExamples {
    #[serde(default)]
    pub nl: Vec<SpannedText>,
    #[serde(default)]
    pub en: Vec<SpannedText>,
}

impl RawExamples {
    pub fn get(&self, lang: Lang) -> &[SpannedText] {
        match lang {
            Lang::Nl => &self.nl,
            Lang::En => &self.en,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawOutOfScope {
    #[serde(default)]
    pub examples: RawExamples,
}
