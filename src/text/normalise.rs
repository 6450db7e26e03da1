//! Text normalisation shared by training, classification and the catalogue check.
//!
//! Employees type fast: capitals, accents and odd Unicode forms vary. Normalising makes
//! `Ideeën`, `ideeen` and `IDEEËN` the same word, so a feature learnt from one matches the
//! others. Steps: Unicode NFKC (folds compatibility forms such as ligatures and full-width
//! letters), lowercase, then diacritics removed (NFD and drop combining marks), and typographic
//! quotes/dashes mapped to ASCII.

use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

/// Normalises `text` for matching (see the module docs).
///
/// ```
/// use referral_desk::text::normalise;
/// assert_eq!(normalise("Ideeën voor ＡＩ"), "ideeen voor ai");
/// ```
pub fn normalise(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let lowered: String = text.nfkc().flat_map(char::to_lowercase).collect();
    for c in lowered.nfd() {
        if is_combining_mark(c) {
            continue;
        }
        out.push(match c {
            '\u{2018}' | '\u{2019}' | '\u{201a}' | '\u{2032}' | '`' | '\u{b4}' => '\'',
            '\u{201c}' | '\u{201d}' | '\u{201e}' => '"',
            '\u{2010}'..='\u{2015}' => '-',
            'ß' => 's',
            _ => c,
        });
    }
    out
}

/// Splits normalised text into word tokens: maximal runs of letters and digits. An apostrophe
/// inside a word keeps it together (`'s`, `zo'n`), since Dutch writes those as one word.
pub fn tokens(normalised: &str) -> impl Iterator<Item = &str> {
    normalised
        .split(|c: char| !(c.is_alphanumeric() || c == '\''))
        .map(|t| t.trim_matches('\''))
        .filter(|t| !t.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dutch_diacritics_fold_to_plain_letters() {
        assert_eq!(normalise("ideeën"), "ideeen");
        assert_eq!(normalise("Ideeën"), normalise("IDEEEN"));
        assert_eq!(normalise("één café, naïef"), "een cafe, naief");
    }

    #[test]
    fn compatibility_forms_and_typography_are_folded() {
        // full-width letters, the "fi" ligature and curly quotes
        assert_eq!(normalise("ＰＯＷＥＲ ＢＩ"), "power bi");
        assert_eq!(normalise("ﬁnance"), "finance");
        assert_eq!(normalise("“zo’n” – test"), "\"zo'n\" - test");
    }

    #[test]
    fn tokens_split_on_punctuation_and_keep_inner_apostrophes() {
        let text = normalise("Wie kan me helpen met Power-BI? Zo'n dashboard... 'quoted'");
        let got: Vec<_> = tokens(&text).collect();
        assert_eq!(
            got,
            [
                "wie",
                "kan",
                "me",
                "helpen",
                "met",
                "power",
                "bi",
                "zo'n",
                "dashboard",
                "quoted"
            ]
        );
    }

    #[test]
    fn digits_are_tokens() {
        let text = normalise("360 feedback in Q3");
        assert_eq!(
            tokens(&text).collect::<Vec<_>>(),
            ["360", "feedback", "in", "q3"]
        );
    }
}
