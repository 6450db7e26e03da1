//! `referral-desk embed`: the sentence vectors the embedding model gives questions, without a
//! server. For checking that a model folder loads and works, and for comparing vectors with
//! another implementation (`--json`).

use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::bail;
use clap::Args;
use serde::Serialize;

use crate::nlu::embedding::{CandleEmbedder, Embedder};

#[derive(Debug, Args)]
pub struct EmbedArgs {
    /// Sentence-transformers model folder (config.json, tokenizer.json, model.safetensors,
    /// 1_Pooling/config.json).
    /// Default: classifier.model_dir of the settings (`models/all-MiniLM-L6-v2`).
    #[arg(long, value_name = "DIR")]
    pub model_dir: Option<PathBuf>,
    #[command(flatten)]
    pub config: super::ConfigArgs,
    /// One JSON object per text on its own line, with the full vector, instead of a summary.
    #[arg(long)]
    pub json: bool,
    /// The texts to embed.
    #[arg(required = true, value_name = "TEXT")]
    pub texts: Vec<String>,
}

#[derive(Debug, Serialize)]
struct Embedded<'a> {
    text: &'a str,
    embedding: &'a [f32],
}

pub fn run(args: EmbedArgs) -> anyhow::Result<ExitCode> {
    let model_dir = match &args.model_dir {
        Some(dir) => dir.clone(),
        None => args.config.load()?.classifier.model_dir,
    };
    if !model_dir.is_dir() {
        bail!(
            "no embedding model at {}: run `models/fetch` to install all-MiniLM-L6-v2 there, or \
             pass --model-dir with a sentence-transformers folder",
            model_dir.display()
        );
    }
    let embedder = CandleEmbedder::load(&model_dir)?;
    let texts: Vec<&str> = args.texts.iter().map(String::as_str).collect();
    let vectors = embedder.embed_batch(&texts)?;
    for (text, vector) in texts.iter().zip(&vectors) {
        if args.json {
            let line = serde_json::to_string(&Embedded {
                text,
                embedding: vector,
            })?;
            println!("{line}");
        } else {
            print!("{}", render_text(text, vector));
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The text, then the vector's dimension, norm (1 for a normalised vector) and first values.
fn render_text(text: &str, vector: &[f32]) -> String {
    let norm = vector.iter().map(|v| v * v).sum::<f32>().sqrt();
    let head: Vec<String> = vector.iter().take(6).map(|v| format!("{v:+.4}")).collect();
    let mut out = String::new();
    let _ = writeln!(out, "{text:?}");
    let _ = writeln!(
        out,
        "  dimension: {}   norm: {norm:.4}   [{}, …]",
        vector.len(),
        head.join(", ")
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_form_shows_dimension_norm_and_first_values() {
        let out = render_text("hoi", &[0.6, -0.8, 0.0]);
        assert_eq!(
            out,
            "\"hoi\"\n  dimension: 3   norm: 1.0000   [+0.6000, -0.8000, +0.0000, …]\n"
        );
    }
}
