//! Dutch or English? Chat questions are short ("verlof?", "power bi help"), where general
//! language identifiers guess poorly. This detector learns from the catalogue's own examples,
//! which are labelled by language and written in the organisation's vocabulary, with the same
//! features and model as the intent classifier.

use super::features::{FeatureSettings, Vectorizer};
use super::linear::{SoftmaxModel, TrainSettings};
use crate::catalogue::{Catalogue, Lang};

#[derive(Debug, Clone)]
pub struct LanguageDetector {
    vectorizer: Vectorizer,
    model: SoftmaxModel,
}

impl LanguageDetector {
    /// Trains on every example of the catalogue (intents and out of scope).
    pub fn from_catalogue(catalogue: &Catalogue) -> LanguageDetector {
        let mut samples: Vec<(&str, Lang)> = Vec::new();
        for intent in &catalogue.intents {
            samples.extend(intent.examples.iter().map(|(lang, text)| (text, lang)));
        }
        samples.extend(
            catalogue
                .out_of_scope
                .iter()
                .map(|(lang, text)| (text, lang)),
        );
        LanguageDetector::train(&samples)
    }

    pub fn train(samples: &[(&str, Lang)]) -> LanguageDetector {
        let texts: Vec<&str> = samples.iter().map(|(text, _)| *text).collect();
        let targets: Vec<u32> = samples
            .iter()
            .map(|(_, lang)| u32::from(*lang == Lang::En))
            .collect();
        let (vectorizer, inputs) = Vectorizer::fit_transform(FeatureSettings::default(), &texts);
        let model = SoftmaxModel::train(
            &inputs,
            &targets,
            2,
            vectorizer.dimension(),
            &TrainSettings::default(),
            |_, _| {},
        );
        LanguageDetector { vectorizer, model }
    }

    /// The language of `text`; English when the text gives no clue (e.g. only names).
    pub fn detect(&self, text: &str) -> Lang {
        let features = self.vectorizer.transform(text);
        if features.is_empty() {
            return Lang::En;
        }
        let mut p = Vec::with_capacity(2);
        self.model.probabilities(&features, &mut p);
        if p[0] > p[1] { Lang::Nl } else { Lang::En }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tells_dutch_from_english_on_short_texts() {
        let samples = [
            ("hoe vraag ik verlof aan", Lang::Nl),
            ("wie kan mij helpen met excel", Lang::Nl),
            ("ik wil een cursus volgen", Lang::Nl),
            ("waar vind ik het formulier", Lang::Nl),
            ("how do i request leave", Lang::En),
            ("who can help me with excel", Lang::En),
            ("i want to take a course", Lang::En),
            ("where can i find the form", Lang::En),
        ];
        let detector = LanguageDetector::train(&samples);
        assert_eq!(detector.detect("wie weet iets van verlof?"), Lang::Nl);
        assert_eq!(detector.detect("who knows about leave?"), Lang::En);
        assert_eq!(detector.detect("zzzz"), Lang::En);
    }
}
