//! Reading catalogue files and validating them as a whole.
//!
//! Loading never stops at the first problem: every file is parsed, every rule is checked, and
//! all problems are returned together so HRD can fix them in one pass.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde_saphyr::{Location, Spanned};

use super::problem::{CatalogueError, Problem, Severity};
use super::raw::{
    RawDesk, RawExamples, RawFile, RawIntent, RawKnowledgeItem, RawSpecialist, SpannedText,
};
use super::{
    Catalogue, CatalogueSettings, ClassifierSettings, Desk, Examples, Intent, KnowledgeItem, Lang,
    Route, Specialist,
};
use crate::text::normalise;

/// Fewer examples than this in a language gives a warning: the classifier will be unsure.
pub const MIN_EXAMPLES_PER_LANGUAGE: usize = 5;

pub(super) fn load_dir(dir: &Path) -> Result<Catalogue, CatalogueError> {
    let mut problems = Vec::new();
    let files = match find_yaml_files(dir) {
        Ok(files) => files,
        Err(problem) => {
            return Err(CatalogueError::Invalid {
                problems: vec![problem],
            });
        }
    };
    if files.is_empty() {
        return Err(CatalogueError::Invalid {
            problems: vec![Problem {
                severity: Severity::Error,
                file: dir.to_path_buf(),
                line: 0,
                column: 0,
                message: "no catalogue files (*.yaml) in this folder".into(),
                hint: "point --catalogue at the folder with settings.yaml, specialists.yaml and the intent files (the shipped one is `intents/`)".into(),
            }],
        });
    }

    let mut parsed = Vec::new();
    for path in files {
        match std::fs::read_to_string(&path) {
            Ok(text) => match serde_saphyr::from_str::<Option<RawFile>>(&text) {
                Ok(raw) => parsed.push((path, raw.unwrap_or_default())),
                Err(err) => problems.push(yaml_problem(&path, &err)),
            },
            Err(err) => problems.push(Problem {
                severity: Severity::Error,
                file: path,
                line: 0,
                column: 0,
                message: format!("cannot read the file: {err}"),
                hint: "check that the file exists, is readable and is UTF-8 text".into(),
            }),
        }
    }

    // A file that does not parse may hold the settings, intents or ids that other files
    // refer to: checks across files would then report errors that are not there.
    let mut validator = Validator {
        problems: Vec::new(),
        cross_file_checks: problems.is_empty(),
    };
    let catalogue = validator.validate(dir, parsed);
    problems.extend(validator.problems);
    problems.sort_by(|a, b| {
        (&a.file, a.line, a.column, &a.message).cmp(&(&b.file, b.line, b.column, &b.message))
    });
    if problems.iter().any(Problem::is_error) {
        return Err(CatalogueError::Invalid { problems });
    }
    let mut catalogue = catalogue.expect("a catalogue is built whenever there are no errors");
    catalogue.warnings = problems;
    Ok(catalogue)
}

fn find_yaml_files(dir: &Path) -> Result<Vec<PathBuf>, Problem> {
    let mut out = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(folder) = pending.pop() {
        let entries = std::fs::read_dir(&folder).map_err(|err| Problem {
            severity: Severity::Error,
            file: folder.clone(),
            line: 0,
            column: 0,
            message: format!("cannot read the catalogue folder: {err}"),
            hint: "pass --catalogue with the folder that holds the catalogue (the shipped one is `intents/`)".into(),
        })?;
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                pending.push(path);
            } else if matches!(
                path.extension().and_then(|e| e.to_str()),
                Some("yaml" | "yml")
            ) {
                out.push(path);
            }
        }
    }
    out.sort();
    Ok(out)
}

fn yaml_problem(path: &Path, err: &serde_saphyr::Error) -> Problem {
    let location = err.location().unwrap_or(Location::UNKNOWN);
    let detail = err.without_snippet().to_string();
    // The library prefixes its own position; ours comes first in `file:line:col` form.
    let detail = strip_location_suffix(&detail);
    let hint = if detail.contains("unknown field") {
        "check the spelling of the key; intents/README.md lists every key a section accepts"
    } else if detail.contains("missing field") {
        "add the missing key; intents/README.md shows a complete example of each section"
    } else {
        "fix the YAML at this position: indent with spaces, put `- ` before list items, and quote texts that contain `: ` or start with a special character"
    };
    Problem {
        severity: Severity::Error,
        file: path.to_path_buf(),
        line: location.line(),
        column: location.column(),
        message: format!("not a valid catalogue file: {detail}"),
        hint: hint.into(),
    }
}

fn strip_location_suffix(detail: &str) -> String {
    let first_line = detail.lines().next().unwrap_or(detail).trim();
    match first_line.rfind(" at line ") {
        Some(at) => first_line[..at].trim_end_matches(',').to_string(),
        None => first_line.to_string(),
    }
}

/// What the files define, each checked on its own, before the checks across files.
#[derive(Default)]
struct Collected {
    settings: Option<(Site, CatalogueSettings, Site)>,
    desks: Vec<Desk>,
    specialists: Vec<Specialist>,
    knowledge: Vec<KnowledgeItem>,
    intents: Vec<(PathBuf, RawIntent)>,
    out_of_scope: Vec<(PathBuf, RawExamples)>,
    desk_ids: HashMap<String, Site>,
    specialist_ids: HashMap<String, Site>,
    knowledge_ids: HashMap<String, Site>,
    intent_ids: HashMap<String, Site>,
}

/// Where something was defined, for "first defined at" messages.
#[derive(Clone)]
struct Site {
    file: PathBuf,
    line: u64,
    column: u64,
}

impl Site {
    fn of<T>(file: &Path, spanned: &Spanned<T>) -> Site {
        Site {
            file: file.to_path_buf(),
            line: spanned.referenced.line(),
            column: spanned.referenced.column(),
        }
    }

    fn describe(&self) -> String {
        format!("{}:{}", self.file.display(), self.line)
    }
}

struct Validator {
    problems: Vec<Problem>,
    /// False when some file did not parse (see `load_dir`).
    cross_file_checks: bool,
}

impl Validator {
    fn report(&mut self, severity: Severity, site: &Site, message: String, hint: String) {
        self.problems.push(Problem {
            severity,
            file: site.file.clone(),
            line: site.line,
            column: site.column,
            message,
            hint,
        });
    }

    fn error(&mut self, site: &Site, message: String, hint: impl Into<String>) {
        self.report(Severity::Error, site, message, hint.into());
    }

    fn warning(&mut self, site: &Site, message: String, hint: impl Into<String>) {
        self.report(Severity::Warning, site, message, hint.into());
    }

    /// Checks the id's form and uniqueness within its kind; returns whether it is usable.
    fn check_id(
        &mut self,
        kind: &str,
        file: &Path,
        id: &SpannedText,
        seen: &mut HashMap<String, Site>,
    ) -> bool {
        let site = Site::of(file, id);
        let value = id.value.as_str();
        if value.is_empty()
            || !value
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        {
            let suggestion = suggest_id(value);
            self.error(
                &site,
                format!("{kind} id \"{value}\" may only hold lowercase letters, digits and _"),
                format!("rename it, e.g. to \"{suggestion}\", and update the routes that name it"),
            );
            return false;
        }
        if let Some(first) = seen.get(value) {
            self.error(
                &site,
                format!(
                    "duplicate {kind} id \"{value}\" (first defined at {})",
                    first.describe()
                ),
                "give each a unique id, or merge the two entries",
            );
            return false;
        }
        seen.insert(value.to_string(), site);
        true
    }

    fn validate(&mut self, dir: &Path, files: Vec<(PathBuf, RawFile)>) -> Option<Catalogue> {
        let mut found = Collected::default();
        for (file, raw) in files {
            self.collect(&file, raw, &mut found);
        }
        if !self.cross_file_checks {
            // Only the per-file problems found so far count; `load_dir` has the parse errors.
            let _ = self.check_examples(&found.intents, &found.out_of_scope);
            return None;
        }
        self.check_routes(&found);
        let settings = self.check_fallback(dir, found.settings.take(), &found.desk_ids);
        let intents = self.check_examples(&found.intents, &found.out_of_scope);
        self.check_intent_count(dir, &found.intents, intents.len());
        let mut out_of_scope = Examples::default();
        for (_, examples) in found.out_of_scope {
            out_of_scope
                .nl
                .extend(examples.nl.into_iter().map(|t| t.value));
            out_of_scope
                .en
                .extend(examples.en.into_iter().map(|t| t.value));
        }
        Some(Catalogue {
            dir: dir.to_path_buf(),
            settings: settings?,
            intents,
            specialists: found.specialists,
            knowledge: found.knowledge,
            desks: found.desks,
            out_of_scope,
            warnings: Vec::new(),
        })
    }

    /// One file's settings, desks, specialists, knowledge items and intents, each checked on
    /// its own (ids, names, addresses); what passes is added to `found`.
    fn collect(&mut self, file: &Path, raw: RawFile, found: &mut Collected) {
        if let Some(settings) = raw.settings {
            let site = Site::of(file, &settings);
            if let Some((first, _, _)) = &found.settings {
                let first = first.describe();
                self.error(
                    &site,
                    format!("a second `settings` section (the first is at {first})"),
                    "keep one `settings` section in the whole catalogue",
                );
            } else {
                let classifier = self.classifier_settings(file, &settings.value);
                let desk_site = Site::of(file, &settings.value.fallback.desk);
                found.settings = Some((
                    site,
                    CatalogueSettings {
                        fallback_desk: settings.value.fallback.desk.value.clone(),
                        classifier,
                    },
                    desk_site,
                ));
            }
        }
        for desk in raw.desks {
            if self.check_id("desk", file, &desk.id, &mut found.desk_ids) {
                found.desks.push(self.desk(file, desk));
            }
        }
        for person in raw.specialists {
            if self.check_id("specialist", file, &person.id, &mut found.specialist_ids) {
                found.specialists.push(self.specialist(file, person));
            }
        }
        for item in raw.knowledge {
            if self.check_id("knowledge item", file, &item.id, &mut found.knowledge_ids) {
                found.knowledge.push(self.knowledge_item(file, item));
            }
        }
        for intent in raw.intents {
            if self.check_id("intent", file, &intent.id, &mut found.intent_ids) {
                found.intents.push((file.to_path_buf(), intent));
            }
        }
        if let Some(oos) = raw.out_of_scope {
            found.out_of_scope.push((file.to_path_buf(), oos.examples));
        }
    }

    fn desk(&mut self, file: &Path, desk: RawDesk) -> Desk {
        if desk.name.value.is_empty() {
            self.error(
                &Site::of(file, &desk.name),
                format!("desk \"{}\" has no name", desk.id.value),
                "add `name: { nl: ..., en: ... }`",
            );
        }
        if let Some(email) = &desk.email {
            self.check_email(file, email);
        }
        if let Some(url) = &desk.url {
            self.check_url(file, url);
        }
        Desk {
            id: desk.id.value,
            name: desk.name.value,
            email: desk.email.map(|e| e.value),
            url: desk.url.map(|u| u.value),
            phone: desk.phone,
            hours: desk.hours,
        }
    }

    fn specialist(&mut self, file: &Path, person: RawSpecialist) -> Specialist {
        if person.name.value.trim().is_empty() {
            self.error(
                &Site::of(file, &person.name),
                format!("specialist \"{}\" has an empty name", person.id.value),
                "write the name as employees should see it",
            );
        }
        self.check_email(file, &person.email);
        if person.languages.value.is_empty() {
            self.error(
                &Site::of(file, &person.languages),
                format!("specialist \"{}\" speaks no language", person.id.value),
                "list the languages they help in, e.g. `languages: [nl, en]`",
            );
        }
        Specialist {
            id: person.id.value,
            name: person.name.value,
            slack_user_id: person.slack_user_id,
            teams_aad_object_id: person.teams_aad_object_id,
            email: person.email.value,
            department: person.department,
            languages: person.languages.value,
            expertise: person.expertise,
            tags: person.tags,
            away_until: person.away_until,
        }
    }

    fn knowledge_item(&mut self, file: &Path, item: RawKnowledgeItem) -> KnowledgeItem {
        if item.title.value.is_empty() {
            self.error(
                &Site::of(file, &item.title),
                format!("knowledge item \"{}\" has no title", item.id.value),
                "add `title: { nl: ..., en: ... }`",
            );
        }
        self.check_url(file, &item.url);
        KnowledgeItem {
            id: item.id.value,
            title: item.title.value,
            url: item.url.value,
            summary: item.summary,
            tags: item.tags,
        }
    }

    /// Every route names something, and only what is defined.
    fn check_routes(&mut self, found: &Collected) {
        for (file, intent) in &found.intents {
            let route = &intent.route.value;
            let id = &intent.id.value;
            if route.specialists.is_empty() && route.knowledge.is_empty() && route.desk.is_none() {
                self.error(
                    &Site::of(file, &intent.route),
                    format!("the route of intent \"{id}\" sends the asker nowhere"),
                    "name at least one of `specialists: [...]`, `knowledge: [...]` or `desk: ...`",
                );
            }
            for reference in &route.specialists {
                self.check_reference(file, id, "specialist", reference, &found.specialist_ids);
            }
            for reference in &route.knowledge {
                self.check_reference(file, id, "knowledge item", reference, &found.knowledge_ids);
            }
            if let Some(reference) = &route.desk {
                self.check_reference(file, id, "desk", reference, &found.desk_ids);
            }
        }
    }

    /// The settings section exists once and its fallback desk is defined.
    fn check_fallback(
        &mut self,
        dir: &Path,
        settings: Option<(Site, CatalogueSettings, Site)>,
        desk_ids: &HashMap<String, Site>,
    ) -> Option<CatalogueSettings> {
        match settings {
            Some((_, settings, desk_site)) => {
                if !desk_ids.contains_key(&settings.fallback_desk) {
                    let hint = unknown_id_hint("desk", &settings.fallback_desk, desk_ids);
                    self.error(
                        &desk_site,
                        format!(
                            "the fallback desk \"{}\" is not defined",
                            settings.fallback_desk
                        ),
                        hint,
                    );
                }
                Some(settings)
            }
            None => {
                self.error(
                    &Site {
                        file: dir.to_path_buf(),
                        line: 0,
                        column: 0,
                    },
                    "no `settings` section: the bot does not know where to send questions it cannot route".into(),
                    "add settings.yaml with `settings: { fallback: { desk: hrd_desk } }` (see intents/README.md)",
                );
                None
            }
        }
    }

    /// At least two intents, or the classifier has nothing to choose between.
    fn check_intent_count(
        &mut self,
        dir: &Path,
        intents_raw: &[(PathBuf, RawIntent)],
        intent_count: usize,
    ) {
        if intent_count < 2 && !intents_raw.is_empty() {
            let (file, first) = &intents_raw[0];
            self.error(
                &Site::of(file, &first.id),
                "the catalogue has fewer than two intents; the classifier needs at least two to choose between".into(),
                "add another intent",
            );
        } else if intents_raw.is_empty() {
            self.error(
                &Site {
                    file: dir.to_path_buf(),
                    line: 0,
                    column: 0,
                },
                "the catalogue has no intents".into(),
                "add files with an `intents:` section (see intents/README.md)",
            );
        }
    }

    fn classifier_settings(
        &mut self,
        file: &Path,
        raw: &super::raw::RawSettings,
    ) -> ClassifierSettings {
        let mut settings = ClassifierSettings::default();
        let Some(classifier) = &raw.classifier else {
            return settings;
        };
        if let Some(threshold) = &classifier.threshold {
            if (0.0..=1.0).contains(&threshold.value) {
                settings.threshold = threshold.value;
            } else {
                self.error(
                    &Site::of(file, threshold),
                    format!(
                        "classifier threshold {} is not between 0 and 1",
                        threshold.value
                    ),
                    "use a confidence between 0 and 1; 0.30 is the measured default",
                );
            }
        }
        if let Some(margin) = &classifier.ambiguity_margin {
            if (0.0..1.0).contains(&margin.value) {
                settings.ambiguity_margin = margin.value;
            } else {
                self.error(
                    &Site::of(file, margin),
                    format!("ambiguity_margin {} is not between 0 and 1", margin.value),
                    "use a small difference such as 0.10; 0 turns the question back off",
                );
            }
        }
        settings
    }

    fn check_reference(
        &mut self,
        file: &Path,
        intent: &str,
        kind: &str,
        reference: &SpannedText,
        known: &HashMap<String, Site>,
    ) {
        if !known.contains_key(&reference.value) {
            let hint = unknown_id_hint(kind, &reference.value, known);
            self.error(
                &Site::of(file, reference),
                format!(
                    "the route of intent \"{intent}\" names {kind} \"{}\", which is not defined",
                    reference.value
                ),
                hint,
            );
        }
    }

    fn check_email(&mut self, file: &Path, email: &SpannedText) {
        let value = email.value.trim();
        let valid = value
            .split_once('@')
            .is_some_and(|(user, host)| !user.is_empty() && host.contains('.'))
            && !value.contains(char::is_whitespace);
        if !valid {
            self.error(
                &Site::of(file, email),
                format!("\"{value}\" is not an e-mail address"),
                "write it as name@organisation.tld",
            );
        }
    }

    fn check_url(&mut self, file: &Path, url: &SpannedText) {
        let value = url.value.trim();
        if !(value.starts_with("https://") || value.starts_with("http://"))
            || value.contains(char::is_whitespace)
        {
            self.error(
                &Site::of(file, url),
                format!("\"{value}\" is not a web address"),
                "write the full address, starting with https://",
            );
        }
    }

    /// Per-language counts, and that no text appears under two intents (or an intent and the
    /// out-of-scope list): the classifier could not tell them apart either.
    fn check_examples(
        &mut self,
        intents_raw: &[(PathBuf, super::raw::RawIntent)],
        out_of_scope: &[(PathBuf, RawExamples)],
    ) -> Vec<Intent> {
        let mut owner_of: HashMap<String, (String, Site)> = HashMap::new();
        let mut intents = Vec::new();
        let groups = intents_raw
            .iter()
            .map(|(file, intent)| (file, Some(intent), &intent.examples))
            .chain(out_of_scope.iter().map(|(file, ex)| (file, None, ex)));
        for (file, intent, examples) in groups {
            let owner = intent.map_or_else(|| "out_of_scope".to_string(), |i| i.id.value.clone());
            let clean = self.claim_examples(file, &owner, examples, &mut owner_of);
            let Some(intent) = intent else { continue };
            self.check_intent_examples(file, intent, &owner, &clean);
            intents.push(build_intent(owner, intent, clean));
        }
        intents
    }

    /// The examples `owner` may train on: each text is claimed by the first group that has
    /// it, so empty and already-claimed ones are reported and left out.
    fn claim_examples(
        &mut self,
        file: &Path,
        owner: &str,
        examples: &RawExamples,
        owner_of: &mut HashMap<String, (String, Site)>,
    ) -> Examples {
        let mut clean = Examples::default();
        for lang in Lang::ALL {
            for example in examples.get(lang) {
                if !self.claim_example(file, owner, example, owner_of) {
                    continue;
                }
                match lang {
                    Lang::Nl => clean.nl.push(example.value.clone()),
                    Lang::En => clean.en.push(example.value.clone()),
                }
            }
        }
        clean
    }

    /// Records `owner` as the first to use the example's text; false (with the problem
    /// reported) when it is empty or already used, by `owner` or by another group.
    fn claim_example(
        &mut self,
        file: &Path,
        owner: &str,
        example: &SpannedText,
        owner_of: &mut HashMap<String, (String, Site)>,
    ) -> bool {
        let site = Site::of(file, example);
        let key = normalise(&example.value);
        if key.trim().is_empty() {
            self.error(
                &site,
                format!("an empty example in {owner}"),
                "remove the empty line or write the question",
            );
            return false;
        }
        match owner_of.get(&key) {
            Some((first_owner, first_site)) if *first_owner == owner => {
                self.warning(
                    &site,
                    format!(
                        "example \"{}\" appears twice in {owner} (also at {})",
                        example.value,
                        first_site.describe()
                    ),
                    "remove one of the two",
                );
                false
            }
            Some((first_owner, first_site)) => {
                self.error(
                    &site,
                    format!(
                        "example \"{}\" is in {owner} and also in {first_owner} ({})",
                        example.value,
                        first_site.describe()
                    ),
                    "keep it in the one it belongs to; the bot cannot route a question that trains two answers",
                );
                false
            }
            None => {
                owner_of.insert(key, (owner.to_string(), site));
                true
            }
        }
    }

    /// An intent with too few examples (or no description) still loads, but the classifier
    /// (or a colleague editing the catalogue) will struggle with it: say so.
    fn check_intent_examples(
        &mut self,
        file: &Path,
        intent: &RawIntent,
        owner: &str,
        clean: &Examples,
    ) {
        let site = Site::of(file, &intent.id);
        if clean.is_empty() {
            self.error(
                &site,
                format!("intent \"{owner}\" has no examples"),
                "add `examples: { nl: [...], en: [...] }` with 15 or more questions per language",
            );
        } else {
            for lang in Lang::ALL {
                let count = clean.get(lang).len();
                if count < MIN_EXAMPLES_PER_LANGUAGE {
                    self.warning(
                        &site,
                        format!("intent \"{owner}\" has {count} {lang} example{} (fewer than {MIN_EXAMPLES_PER_LANGUAGE})", if count == 1 { "" } else { "s" }),
                        format!("add more {lang} questions as employees would type them; 15 or more works best"),
                    );
                }
            }
        }
        if intent.description.trim().is_empty() {
            self.warning(
                &site,
                format!("intent \"{owner}\" has no description"),
                "add a one-line `description:` so colleagues know what belongs here",
            );
        }
    }
}

/// The catalogue keeps plain values: the positions in the file were only needed for the
/// problems reported while loading.
fn build_intent(id: String, intent: &RawIntent, examples: Examples) -> Intent {
    let route = &intent.route.value;
    Intent {
        id,
        title: intent.title.clone(),
        description: intent.description.clone(),
        route: Route {
            specialists: route.specialists.iter().map(|s| s.value.clone()).collect(),
            knowledge: route.knowledge.iter().map(|s| s.value.clone()).collect(),
            desk: route.desk.as_ref().map(|d| d.value.clone()),
        },
        reply: intent.reply.clone(),
        examples,
    }
}

fn unknown_id_hint(kind: &str, id: &str, known: &HashMap<String, Site>) -> String {
    let closest = known
        .keys()
        .map(|candidate| (edit_distance(id, candidate), candidate))
        .filter(|(distance, candidate)| *distance <= 3.max(candidate.len() / 3))
        .min();
    match closest {
        Some((_, candidate)) => format!(
            "did you mean \"{candidate}\" (defined at {})? Otherwise add a {kind} with this id",
            known[candidate].describe()
        ),
        None => format!("add a {kind} with id \"{id}\", or use one of the ids that exist"),
    }
}

fn suggest_id(value: &str) -> String {
    let mut out = String::new();
    for c in normalise(value).chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c);
        } else if !out.ends_with('_') && !out.is_empty() {
            out.push('_');
        }
    }
    let trimmed = out.trim_end_matches('_');
    if trimmed.is_empty() {
        "my_id".into()
    } else {
        trimmed.into()
    }
}

/// Levenshtein distance over characters, for "did you mean" hints.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut current = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != *cb);
            current[j + 1] = substitution.min(previous[j + 1] + 1).min(current[j] + 1);
        }
        previous = current;
    }
    previous[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edit_distance_counts_single_edits() {
        assert_eq!(edit_distance("sanne_jansen", "sanne_jansen"), 0);
        assert_eq!(edit_distance("sane_jansen", "sanne_jansen"), 1);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("", "abc"), 3);
    }

    #[test]
    fn suggested_ids_are_valid() {
        assert_eq!(suggest_id("Training Budget!"), "training_budget");
        assert_eq!(suggest_id("Ideeën-bus"), "ideeen_bus");
        assert_eq!(suggest_id("???"), "my_id");
    }
}
