//! Problems found while loading a catalogue, in the form HRD staff can act on:
//! `file:line:column: error: what is wrong` followed by `hint: how to fix it`.

use std::fmt;
use std::path::PathBuf;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    Warning,
    Error,
}

/// One thing wrong with the catalogue, with where it is and how to fix it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub severity: Severity,
    pub file: PathBuf,
    /// 1-based; 0 when the problem concerns the whole file or folder.
    pub line: u64,
    pub column: u64,
    pub message: String,
    pub hint: String,
}

impl Problem {
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if self.line > 0 {
            write!(f, ":{}", self.line)?;
            if self.column > 0 {
                write!(f, ":{}", self.column)?;
            }
        }
        let label = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        write!(f, ": {label}: {}", self.message)?;
        if !self.hint.is_empty() {
            write!(f, "\n  hint: {}", self.hint)?;
        }
        Ok(())
    }
}

/// The catalogue cannot be used. Displays every problem, errors and warnings, one per
/// paragraph, so the same text serves `check` and every command that refuses to start.
#[derive(Debug, thiserror::Error)]
pub enum CatalogueError {
    #[error("{}", render_invalid(.problems))]
    Invalid { problems: Vec<Problem> },
}

impl CatalogueError {
    pub fn problems(&self) -> &[Problem] {
        match self {
            CatalogueError::Invalid { problems } => problems,
        }
    }
}

fn render_invalid(problems: &[Problem]) -> String {
    let errors = problems.iter().filter(|p| p.is_error()).count();
    let warnings = problems.len() - errors;
    let mut out = format!(
        "the routing catalogue has {errors} error{} and {warnings} warning{}:",
        plural(errors),
        plural(warnings)
    );
    for problem in problems {
        out.push('\n');
        out.push_str(&problem.to_string());
    }
    out.push_str("\nfix the errors above and run `referral-desk check` again");
    out
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}
