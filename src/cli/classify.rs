//! `referral-desk classify`: what the desk would do with a question, without a server.
//! For HRD to try catalogue changes and for debugging routing.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use serde::Serialize;

use crate::catalogue::Lang;
use crate::nlu::{Decision, LanguageDetector, ScoredIntent};
use crate::routing::{self, ResolvedRoute};

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
    route: ResolvedRoute,
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
        let route = routing::resolve(&catalogue, &prediction, language, today);
        let classified = Classified {
            text,
            model: built.kind.as_str(),
            language,
            decision: prediction.decision,
            intent: prediction.intent,
            confidence: prediction.confidence,
            alternatives: prediction.alternatives,
            route,
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
    let route = &c.route;
    if !route.options.is_empty() {
        let _ = writeln!(out, "  asks which one was meant:");
        for option in &route.options {
            let _ = writeln!(out, "    - {} ({})", option.intent, option.description);
        }
    }
    if !route.reply.is_empty() {
        let _ = writeln!(out, "  reply: {}", route.reply);
    }
    for k in &route.knowledge {
        let _ = writeln!(out, "  knowledge: {} <{}>", k.title, k.url);
    }
    for s in &route.specialists {
        let away = match (s.available, s.away_until) {
            (false, Some(until)) => format!(" [away until {until}]"),
            _ => String::new(),
        };
        let _ = writeln!(
            out,
            "  specialist: {} ({}) <{}>{away}",
            s.name, s.department, s.email
        );
    }
    if let Some(desk) = &route.desk {
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
