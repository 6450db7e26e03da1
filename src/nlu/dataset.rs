//! Labelled question files for evaluation: JSON Lines, one `{"text": ..., "intent": ...}`
//! object per line (other fields are ignored), as used by the public intent benchmarks.

use std::path::{Path, PathBuf};

use serde::Deserialize;

#[derive(Debug, thiserror::Error)]
pub enum DatasetError {
    #[error(
        "cannot read {path}: {cause}\n  hint: check the path; JSONL files have one {{\"text\": ..., \"intent\": ...}} object per line"
    )]
    Read {
        path: PathBuf,
        cause: std::io::Error,
    },
    #[error(
        "{path}:{line}: not a labelled example: {detail}\n  hint: each line must be a JSON object like {{\"text\": \"...\", \"intent\": \"...\"}}"
    )]
    Line {
        path: PathBuf,
        line: usize,
        detail: String,
    },
    #[error("{path}: no examples in the file\n  hint: one JSON object per line")]
    Empty { path: PathBuf },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabelledText {
    pub text: String,
    pub intent: String,
}

#[derive(Deserialize)]
struct Line {
    text: String,
    intent: String,
}

/// Reads a JSONL file; blank lines are skipped, any other bad line is an error naming it.
pub fn read_jsonl(path: &Path) -> Result<Vec<LabelledText>, DatasetError> {
    let content = std::fs::read_to_string(path).map_err(|cause| DatasetError::Read {
        path: path.to_path_buf(),
        cause,
    })?;
    let mut out = Vec::new();
    for (index, line) in content.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let parsed: Line = serde_json::from_str(line).map_err(|err| DatasetError::Line {
            path: path.to_path_buf(),
            line: index + 1,
            detail: err.to_string(),
        })?;
        out.push(LabelledText {
            text: parsed.text,
            intent: parsed.intent,
        });
    }
    if out.is_empty() {
        return Err(DatasetError::Empty {
            path: path.to_path_buf(),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn reads_lines_and_names_the_bad_one() {
        let mut file = tempfile::NamedTempFile::new().unwrap();
        writeln!(file, r#"{{"text": "hoi", "intent": "a", "extra": 1}}"#).unwrap();
        writeln!(file).unwrap();
        writeln!(file, r#"{{"text": "x"}}"#).unwrap();
        let err = read_jsonl(file.path()).unwrap_err().to_string();
        assert!(err.contains(":3: not a labelled example"), "{err}");
        assert!(err.contains("intent"), "{err}");

        let mut good = tempfile::NamedTempFile::new().unwrap();
        writeln!(good, r#"{{"text": "hoi", "intent": "a", "extra": 1}}"#).unwrap();
        let examples = read_jsonl(good.path()).unwrap();
        assert_eq!(
            examples,
            [LabelledText {
                text: "hoi".into(),
                intent: "a".into()
            }]
        );
    }
}
