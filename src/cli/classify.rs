//! `referral-desk classify`: what the desk would do with a question, without a server.
//! For HRD to try catalogue changes and for debugging routing.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use serde::Serialize;

use crate::catalogue::Lang;
use crate::nlu::{Decision, LanguageDetector, ScoredIntent};
use crate::routing::{self, Decided, Reply, SpecialistRole};

#[derive(Debug, Args)]
pub struct ClassifyArgs {
    /// Folder with the catalogue's YAML files (default: catalogue.dir, `intents`).
    #[arg(long, value_name = "DIR")]
    pub catalogue: Option<PathBuf>,
    #[command(flatten)]
    pub config: super::ConfigArgs,
    /// One JSON object per question on its own line, instead of text.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub model: super::ModelArgs,
    /// The questions to classify.
    #[arg(required = true, value_name = "TEXT")]
    pub texts: Vec<String>,
}

#[derive(Debug, Serialize)]
struct Classified<'a> {
    text: &'a str,
    /// lexical, embedding or hybrid
    model: &'static str,
    language: Lang,
    decision: Decision,
    intent: Option<String>,
    confidence: f32,
    alternatives: Vec<ScoredIntent>,
    /// What the server would answer (specialists in catalogue order: the server's rotation
    /// lives in its database).
    reply: Reply,
    /// Specialists of the route who are away today, so not offered.
    away: Vec<Away>,
}

#[derive(Debug, Serialize)]
struct Away {
    id: String,
    name: String,
    until: Option<chrono::NaiveDate>,
}

pub fn run(args: ClassifyArgs) -> anyhow::Result<ExitCode> {
    let settings = args.config.load()?;
    let catalogue =
        super::load_catalogue(&super::catalogue_dir(args.catalogue.as_deref(), &settings))?;
    let built = args.model.build(&settings, &catalogue)?;
    let classifier = &built.classifier;
    let languages = LanguageDetector::from_catalogue(&catalogue);
    let today = chrono::Local::now().date_naive();
    let embeddings = match &built.embedder {
        Some(embedder) => {
            let texts: Vec<&str> = args.texts.iter().map(String::as_str).collect();
            Some(embedder.embed_batch(&texts)?)
        }
        None => None,
    };
    for (i, text) in args.texts.iter().enumerate() {
        let language = languages.detect(text);
        // as the server does: the embedding only for languages the model knows
        let embedding = embeddings
            .as_ref()
            .filter(|_| built.embedding_languages.contains(&language))
            .map(|e| e[i].as_slice());
        let prediction = classifier.predict_with(text, embedding);
        let decided = Decided::Classified {
            prediction: &prediction,
            choice: None,
        };
        let reply = routing::route(&catalogue, &decided, language, today, None);
        let away = reply
            .intent
            .as_deref()
            .filter(|_| reply.decision == crate::routing::ReplyKind::Routed)
            .and_then(|id| catalogue.intent(id))
            .map(|intent| {
                intent
                    .route
                    .specialists
                    .iter()
                    .filter_map(|id| catalogue.specialist(id))
                    .filter(|s| !s.is_available(today))
                    .map(|s| Away {
                        id: s.id.clone(),
                        name: s.name.clone(),
                        until: s.away_until,
                    })
                    .collect()
            })
            .unwrap_or_default();
        let classified = Classified {
            text,
            model: built.kind.as_str(),
            language,
            decision: prediction.decision,
            intent: prediction.intent,
            confidence: prediction.confidence,
            alternatives: prediction.alternatives,
            reply,
            away,
        };
        if args.json {
            println!("{}", serde_json::to_string(&classified)?);
        } else {
            print!("{}", render_text(&classified));
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn render_text(c: &Classified<'_>) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{:?} [{}]", c.text, c.language);
    let intent = c.intent.as_deref().unwrap_or("-");
    let _ = writeln!(
        out,
        "  decision: {}   intent: {}   confidence: {:.2}",
        c.decision.as_str(),
        intent,
        c.confidence
    );
    let alternatives: Vec<String> = c
        .alternatives
        .iter()
        .map(|a| format!("{} {:.2}", a.intent, a.confidence))
        .collect();
    let _ = writeln!(out, "  top 3: {}", alternatives.join(", "));
    let reply = &c.reply;
    if !reply.options.is_empty() {
        let _ = writeln!(out, "  asks which one was meant:");
        for option in &reply.options {
            let _ = writeln!(out, "    - {} ({})", option.intent, option.label);
        }
    }
    let _ = writeln!(out, "  reply: {}", reply.intro);
    for k in &reply.knowledge {
        let _ = writeln!(out, "  knowledge: {} <{}>", k.title, k.url);
    }
    for s in &reply.specialists {
        let role = match s.role {
            SpecialistRole::Alternative => " (alternative)",
            _ => "",
        };
        let _ = writeln!(
            out,
            "  specialist: {} ({}) <{}>{role}",
            s.name, s.department, s.email
        );
    }
    for person in &c.away {
        let until = person
            .until
            .map_or_else(String::new, |until| format!(" until {until}"));
        let _ = writeln!(out, "  not offered: {} [away{until}]", person.name);
    }
    if let Some(desk) = &reply.desk {
        let contact = desk.email.as_deref().or(desk.url.as_deref()).unwrap_or("");
        let fallback = if c.decision == Decision::OutOfScope {
            " (fallback)"
        } else {
            ""
        };
        let _ = writeln!(out, "  desk: {}{fallback} <{contact}>", desk.name);
    }
    out
}
