//! The routing catalogue: what employees ask about and where the desk sends them.
//!
//! HRD staff edit it as YAML files in `intents/` (see `intents/README.md` for the format).
//! [`Catalogue::load`] reads every file, validates the whole catalogue and returns either a
//! catalogue that is safe to serve or a [`CatalogueError`] listing *every* problem with
//! `file:line` and a fix hint. `referral-desk check` prints the same messages, and every
//! other command refuses a broken catalogue with them, so no half-valid catalogue reaches
//! employees.
//!
//! The types here are the validated, location-free view that the rest of the product uses;
//! the span-carrying YAML shapes live in `raw.rs` and never leave this module.

mod load;
mod problem;
mod raw;

use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

pub use problem::{CatalogueError, Problem, Severity};

pub use crate::text::Lang;

/// A text in one or both languages. HRD may fill in only one; readers then get that one
/// rather than nothing.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LocalText {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nl: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub en: Option<String>,
}

impl LocalText {
    /// The text in `lang`, else in the other language, else the empty string.
    pub fn get(&self, lang: Lang) -> &str {
        let (first, second) = match lang {
            Lang::Nl => (&self.nl, &self.en),
            Lang::En => (&self.en, &self.nl),
        };
        first.as_deref().or(second.as_deref()).unwrap_or("")
    }

    pub fn is_empty(&self) -> bool {
        self.nl.as_deref().is_none_or(|t| t.trim().is_empty())
            && self.en.as_deref().is_none_or(|t| t.trim().is_empty())
    }
}

/// Example questions per language.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Examples {
    pub nl: Vec<String>,
    pub en: Vec<String>,
}

impl Examples {
    pub fn get(&self, lang: Lang) -> &[String] {
        match lang {
            Lang::Nl => &self.nl,
            Lang::En => &self.en,
        }
    }

    /// Every example with its language, Dutch first.
    pub fn iter(&self) -> impl Iterator<Item = (Lang, &str)> {
        self.nl
            .iter()
            .map(|t| (Lang::Nl, t.as_str()))
            .chain(self.en.iter().map(|t| (Lang::En, t.as_str())))
    }

    pub fn len(&self) -> usize {
        self.nl.len() + self.en.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Where an intent sends the asker. At least one part is present (validated at load).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Route {
    pub specialists: Vec<String>,
    pub knowledge: Vec<String>,
    pub desk: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Intent {
    pub id: String,
    /// Short name shown to employees, e.g. as a "did you mean" option.
    pub title: LocalText,
    pub description: String,
    pub route: Route,
    /// Opening sentence of the answer; empty when HRD wrote none.
    pub reply: LocalText,
    pub examples: Examples,
}

impl Intent {
    /// The intent's name for employees: its title, else its description, else its id.
    pub fn label(&self, lang: Lang) -> &str {
        if !self.title.is_empty() {
            self.title.get(lang)
        } else if !self.description.trim().is_empty() {
            &self.description
        } else {
            &self.id
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Specialist {
    pub id: String,
    pub name: String,
    pub slack_user_id: Option<String>,
    pub teams_aad_object_id: Option<String>,
    pub email: String,
    pub department: String,
    pub languages: Vec<Lang>,
    pub expertise: String,
    pub tags: Vec<String>,
    /// No referrals go to this person up to and including this date.
    pub away_until: Option<NaiveDate>,
}

impl Specialist {
    /// What a specialist is searched on: expertise, tags and department, as one text (also
    /// what is embedded for semantic lookups).
    pub fn expertise_text(&self) -> String {
        format!(
            "{} {} {}",
            self.expertise,
            self.tags.join(" "),
            self.department
        )
    }

    /// Whether the specialist can take referrals on `today`.
    pub fn is_available(&self, today: NaiveDate) -> bool {
        self.away_until.is_none_or(|until| today > until)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KnowledgeItem {
    pub id: String,
    pub title: LocalText,
    pub url: String,
    pub summary: LocalText,
    pub tags: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Desk {
    pub id: String,
    pub name: LocalText,
    pub email: Option<String>,
    pub url: Option<String>,
    pub phone: Option<String>,
    pub hours: LocalText,
}

/// Classifier decision thresholds; chosen on validation data (see README "Measured").
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ClassifierSettings {
    /// The best intent must beat the out-of-scope class by this much (with no out-of-scope
    /// examples: have this confidence), otherwise the question is out of scope.
    pub threshold: f32,
    /// Top two confidences closer than this mean the bot asks which one was meant.
    pub ambiguity_margin: f32,
}

impl Default for ClassifierSettings {
    fn default() -> Self {
        Self {
            threshold: 0.30,
            ambiguity_margin: 0.10,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct CatalogueSettings {
    /// The desk that answers what the bot cannot route.
    pub fallback_desk: String,
    pub classifier: ClassifierSettings,
}

/// A validated routing catalogue. Every id a route names exists.
#[derive(Debug, Clone, PartialEq)]
pub struct Catalogue {
    pub dir: PathBuf,
    pub settings: CatalogueSettings,
    pub intents: Vec<Intent>,
    pub specialists: Vec<Specialist>,
    pub knowledge: Vec<KnowledgeItem>,
    pub desks: Vec<Desk>,
    /// Questions the desk does not handle, so the classifier learns to say so.
    pub out_of_scope: Examples,
    /// Problems that do not stop the catalogue from working (e.g. few examples).
    pub warnings: Vec<Problem>,
}

impl Catalogue {
    /// Reads and validates every `*.yaml` file below `dir`.
    pub fn load(dir: impl AsRef<Path>) -> Result<Catalogue, CatalogueError> {
        load::load_dir(dir.as_ref())
    }

    pub fn intent(&self, id: &str) -> Option<&Intent> {
        self.intents.iter().find(|i| i.id == id)
    }

    pub fn specialist(&self, id: &str) -> Option<&Specialist> {
        self.specialists.iter().find(|s| s.id == id)
    }

    pub fn knowledge_item(&self, id: &str) -> Option<&KnowledgeItem> {
        self.knowledge.iter().find(|k| k.id == id)
    }

    pub fn desk(&self, id: &str) -> Option<&Desk> {
        self.desks.iter().find(|d| d.id == id)
    }

    /// The desk for questions the bot cannot route; validated to exist at load.
    pub fn fallback_desk(&self) -> &Desk {
        self.desk(&self.settings.fallback_desk)
            .expect("fallback desk validated at load")
    }

    /// Training texts with their intent ids, and the out-of-scope examples labelled `None`.
    pub fn training_examples(&self) -> Vec<(&str, Option<&str>)> {
        let mut out = Vec::new();
        for intent in &self.intents {
            for (_, text) in intent.examples.iter() {
                out.push((text, Some(intent.id.as_str())));
            }
        }
        for (_, text) in self.out_of_scope.iter() {
            out.push((text, None));
        }
        out
    }
}
