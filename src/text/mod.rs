//! Text at the bottom layer: the two languages the desk answers in ([`Lang`]) and the
//! normalisation every comparison of words goes through ([`normalise`], [`tokens`]). The
//! catalogue check, the classifier, the specialist directory and the topic clustering all
//! normalise the same way because they all call this module; it imports nothing of the crate.

use std::fmt;

use serde::{Deserialize, Serialize};

mod normalise;

pub use normalise::{normalise, tokens};

/// The languages the desk answers in. Questions in other languages are answered in English.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    Nl,
    En,
}

impl Lang {
    pub const ALL: [Lang; 2] = [Lang::Nl, Lang::En];

    pub fn code(self) -> &'static str {
        match self {
            Lang::Nl => "nl",
            Lang::En => "en",
        }
    }

    /// The language of a stored code or a locale (`nl`, `nl-NL`, `nl-BE`); English otherwise.
    pub fn from_code(code: &str) -> Lang {
        let primary = code.split(['-', '_']).next().unwrap_or_default();
        if primary.eq_ignore_ascii_case("nl") {
            Lang::Nl
        } else {
            Lang::En
        }
    }
}

impl fmt::Display for Lang {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}
