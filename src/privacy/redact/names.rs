//! Person names in a question: a name after a cue ("mijn naam is", "my manager", "Dear",
//! "met") as capitalised words, initials and particles, minus the words that only look like
//! names (pronouns, clause words, organisational units). Part of [`super::redact`].

use std::sync::LazyLock;

use regex::Regex;
use rustc_hash::FxHashSet;
use unicode_normalization::char::is_combining_mark;

use super::{NAME, glued_to_previous, replace_ranges, starts_with_number, window_after, word_set};

/// Words that announce a person's name:
/// - roles: `collega`, `oud-collega`, `collega's`, `colleague`, `co-worker`, and, only after a
///   possessive, role and family words that are also ordinary nouns: `mijn (nieuwe)
///   manager/leidinggevende/teamleider/baas`, `my boss/team lead/line manager`, `mijn
///   partner/zoon`, `my wife/daughter` ("mijn manager Piet", but not "de manager Finance");
/// - titles: `dhr.`, `mevr.`, `mw.`, `meneer`, `mevrouw`, `de heer`, `Mr`, `Mrs`, `Ms`, `Dr`,
///   `Drs`, `Ir`, `Prof`, `Mx`, `Miss` (capitalised or lowercase, with or without a period;
///   not all-caps, which is `MS Teams`);
/// - introductions: `mijn naam is`, `ik heet`, `naam:`, `my name is`, `name:`, and a
///   possessive with a noun and `heet`/`is called` ("mijn vriendin heet Sophie", treated as
///   a role);
/// - sign-offs: `Groet,`, `Met vriendelijke groet,`, `mvg`, `Kind regards,`, `Regards,`.
static NAME_CUE_RE: LazyLock<Regex> = LazyLock::new(|| {
    let possessive = r"(?:mijn|m'n|mn|onze|ons|zijn|haar|je|jouw|uw|my|our|his|her|your|their)";
    let adjective =
        r"(?:nieuwe|oude|vorige|huidige|directe|eigen|new|old|former|previous|current|direct)";
    let owned = r"(?:line\s+manager|manager|leidinggevende|teamleider|teamleidster|teamlead|team\s?lead(?:er)?|baas|chef|afdelingshoofd|supervisor|boss|coach|mentor|buddy|(?:hr[\s-]?)?adviseur|(?:hr\s+)?advisor|partner|vrouw|man|echtgenoot|echtgenote|vriend|vriendin|zoon|dochter|moeder|vader|broer|zus|wife|husband|spouse|girlfriend|boyfriend|son|daughter|mother|father|brother|sister)";
    let role = format!(
        r"(?i:(?:(?:oud|ex)-)?collega(?:'s)?|colleagues?|co-?workers?|{possessive}\s+(?:{adjective}\s+)?{owned})"
    );
    let title = r"(?i:meneer|mevrouw|de\s+heer|dhr\.?|mevr\.?|mw\.?)|(?:[Mm]rs|[Mm]r|[Mm]s|[Dd]rs|[Dd]r|[Ii]r|[Pp]rof|Mx|Miss)\b\.?";
    let intro = r"(?i:(?:mijn|zijn|haar|my|his|her|their)\s+(?:naam|name)\s+is|(?:ik|hij|zij|ze)\s+heet|(?:naam|name)\s*:)";
    let called = format!(
        r"(?i:{possessive}\s+[\p{{L}}'’\-]+\s+(?:heet|heten|is\s+called|are\s+called|is\s+named))"
    );
    let sign = r"(?i:(?:met\s+)?vriendelijke\s+groet(?:en)?|groet(?:en|jes)?|mvg|gr\.|(?:kind|best|warm)\s+regards|regards|cheers)\s*,?";
    Regex::new(&format!(
        r"\b(?:(?P<called>{called})|(?P<role>{role})|(?P<title>{title})|(?P<intro>{intro})|(?P<sign>{sign}))"
    ))
    .expect("name cue pattern is valid")
});

/// What announced a name; it decides what may follow.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Cue {
    /// Role or family word: first names mostly, so a capitalised department or programme
    /// ("Collega Ondersteuning") must not pass; "is Name" and ", Name," apposition allowed;
    /// several names may follow ("collega's Sanne en Joost").
    Role,
    /// Title: a surname follows, possibly starting with a particle ("mevr. van Dijk").
    Title,
    /// Introduction or sign-off.
    Other,
}

/// Capitalised words that are never (part of) a name after a cue: pronouns, greetings,
/// weekdays, nationalities, departments and tools employees mention, and titles (the name
/// comes after them: "my manager Ms. Okafor").
const NOT_NAMES: &str = "Ik Je Jij Hij Zij Ze Wij We Jullie Het Dat Die Dit Deze Daar Hier Er Niet Wel Ja Nee He \
    She It They You The This That There Here Not Yes No Hoi Hallo Hi Hello Dear Beste Thanks \
    Bedankt Dank Please Graag Sorry Ok Oké Okay Maandag Dinsdag Woensdag Donderdag Vrijdag \
    Zaterdag Zondag Monday Tuesday Wednesday Thursday Friday Saturday Sunday Nederlands \
    Nederlandse Nederlander Duits Duitse Engels Engelse Belgisch Belgische Frans Franse \
    Spaans Spaanse Turks Turkse Marokkaans Marokkaanse Pools Poolse Surinaams Surinaamse \
    Dutch English German British American French Spanish Turkish Moroccan Polish Indian \
    Chinese Italian Team Teams Support Finance Sales Marketing Legal Operations Facilities \
    Facilitair Payroll Recruitment Personeelszaken Salarisadministratie Directie Management \
    Office Outlook Word Excel Slack Zoom Servicedesk Helpdesk Service Communicatie Inkoop \
    Verkoop Logistiek Productie Development Engineering Planning Training Academy Portal \
    Intranet Mr Mrs Ms Dr Drs Ir Prof Mx Miss Dhr Mevr Mw Meneer Mevrouw Heer";
static NOT_NAME_SET: LazyLock<FxHashSet<&str>> = LazyLock::new(|| word_set(NOT_NAMES));

/// Capitalised words that start a new clause. One of them right after a cue is only a name
/// when a surname follows ("my colleague Can Yilmaz", not "Mijn collega Heeft …").
const CLAUSE_WORDS: &str = "Is Was Has Had Have Can Could Will Would Should Does Did Do Are Were May Might Must Kan \
    Kun Mag Moet Wil Zal Zou Heeft Wordt Werd Zegt Vindt Doet Gaat Says Said And Or But En \
    Of Maar Want Dus Als If When Wanneer Wat What Who Wie Why Waarom How Hoe Waar Where";
static CLAUSE_WORD_SET: LazyLock<FxHashSet<&str>> = LazyLock::new(|| word_set(CLAUSE_WORDS));

/// Surname particles (tussenvoegsels and their foreign kin).
const PARTICLES: &str = "van de der den ter ten te 't ’t het in op uit aan la le du da di del della dos das von \
    zu el al bin ibn";
static PARTICLE_SET: LazyLock<FxHashSet<&str>> = LazyLock::new(|| word_set(PARTICLES));

/// Particles that only occur after another one ("van het Hof", "in 't Veld"): on their own
/// they are ordinary words ("Mrs Williams in payroll").
const INNER_PARTICLES: &str = "het in op uit aan";
static INNER_PARTICLE_SET: LazyLock<FxHashSet<&str>> = LazyLock::new(|| word_set(INNER_PARTICLES));

/// Endings of the Dutch nouns for departments, programmes and services ("Collega
/// Ondersteuning", "Personeelsdienst"): not a first name after a role word.
const UNIT_ENDINGS: &str = "heid schap teit isme zaken dienst afdeling desk beheer centrum center";

/// Person names after the cues of [`NAME_CUE_RE`]: a first name or initials and capitalised
/// surnames with their particles ("collega Jan de Vries", "mevr. J. Kuipers", "Mr. de Wit",
/// "my manager Sarah O'Connor"). Only capitalised words count, so a cue followed by
/// ordinary lowercase words never loses them; the cue itself stays for the meaning
/// ("collega [name]").
pub(super) fn redact_names(text: &str) -> String {
    let mut ranges = Vec::new();
    let mut pos = 0;
    while let Some(caps) = NAME_CUE_RE.captures_at(text, pos) {
        let cue = caps.get(0).expect("group 0 always matches");
        pos = cue.end();
        // "[name]:" is no "name:" cue
        if text[..cue.start()].ends_with('[') || glued_to_previous(text, cue.start()) {
            continue;
        }
        let kind = if caps.name("role").is_some() || caps.name("called").is_some() {
            Cue::Role
        } else if caps.name("title").is_some() {
            Cue::Title
        } else {
            Cue::Other
        };
        for (start, end) in names_after(text, cue.end(), kind) {
            ranges.push((start, end, NAME));
            pos = end;
        }
    }
    replace_ranges(text, &ranges)
}

/// The names that follow a cue ending at `at`.
fn names_after(text: &str, at: usize, cue: Cue) -> Vec<(usize, usize)> {
    let rest = &text[at..];
    let gap = rest.len() - rest.trim_start().len();
    let after_punctuation = text[..at].ends_with([':', ',']);
    let mut names = Vec::new();
    if ((1..=3).contains(&gap) || (gap == 0 && after_punctuation))
        && let Some(end) = name_at(text, at + gap, cue, false)
    {
        names.push((at + gap, end));
    }
    if cue != Cue::Role {
        return names;
    }
    if names.is_empty() {
        // "mijn leidinggevende is Karin Vos", "my manager, Kees, says"
        if rest.starts_with(" is ")
            && let Some(end) = name_at(text, at + 4, cue, false)
        {
            names.push((at + 4, end));
        } else if rest.starts_with(", ")
            && let Some(end) =
                name_at(text, at + 2, cue, false).filter(|&e| text[e..].starts_with(','))
        {
            names.push((at + 2, end));
        }
    }
    // "collega's Sanne en Joost", "my colleagues Tom, Priya and Anna"
    while let Some(&(_, end)) = names.last() {
        let Some(separator) = [" en ", " and ", " & ", ", "]
            .into_iter()
            .find(|s| text[end..].starts_with(s))
        else {
            break;
        };
        let start = end + separator.len();
        match name_at(text, start, cue, true) {
            Some(next) => names.push((start, next)),
            None => break,
        }
    }
    names
}

/// Where the name starting at `pos` ends: initials or a first name (or, after a title only, a
/// particle: "mevr. van Dijk"; after "collega" a lowercase "van" is a preposition), then up
/// to three surnames, each optionally after particles. `listed` is for the second and later
/// names of a list, which cannot start with a clause word.
fn name_at(text: &str, pos: usize, cue: Cue, listed: bool) -> Option<usize> {
    let mut end = if let Some(after) = initials(text, pos) {
        let surname = text[after..].strip_prefix(' ').map_or(after, |_| after + 1);
        name_word(text, particles(text, surname).unwrap_or(surname))?
    } else if let Some(surname) = (cue == Cue::Title).then(|| particles(text, pos)).flatten() {
        name_word(text, surname)?
    } else {
        let end = capitalised_word(text, pos)?;
        let word = &text[pos..end];
        if NOT_NAME_SET.contains(word) || (cue == Cue::Role && is_unit(word)) {
            return None;
        }
        if CLAUSE_WORD_SET.contains(word) {
            // only with a surname: "Can Yilmaz"
            if listed {
                return None;
            }
            let next = text[end..].strip_prefix(' ').map(|_| end + 1)?;
            name_word(text, particles(text, next).unwrap_or(next))?;
        }
        end
    };
    for _ in 0..3 {
        let Some(next) = text[end..].strip_prefix(' ').map(|_| end + 1) else {
            break;
        };
        match name_word(text, particles(text, next).unwrap_or(next)) {
            Some(e) => end = e,
            None => break,
        }
    }
    Some(end)
}

/// A capitalised word that can be part of a name.
fn name_word(text: &str, pos: usize) -> Option<usize> {
    let end = capitalised_word(text, pos)?;
    let word = &text[pos..end];
    (!NOT_NAME_SET.contains(word) && !CLAUSE_WORD_SET.contains(word)).then_some(end)
}

/// A department or programme noun ("Ondersteuning"); `-ing` only for long words, as short
/// ones are also first names (Henning, Ming).
fn is_unit(word: &str) -> bool {
    let lower = word.to_lowercase();
    UNIT_ENDINGS.split_whitespace().any(|e| lower.ends_with(e))
        || (lower.ends_with("ing") && lower.chars().count() >= 9)
        || (lower.ends_with("tie") && lower.chars().count() >= 6)
}

/// End of a capitalised word at `pos` ("Jan", "O'Connor", "Anna-Lena", "Zoë", "Çelik"),
/// without a possessive `'s`. It needs a lowercase letter: all-caps words are acronyms (`HR`,
/// `ICT`, `MS`) and `I` is a pronoun. A digit or letter right after means it is no word.
pub(super) fn capitalised_word(text: &str, pos: usize) -> Option<usize> {
    let rest = &text[pos..];
    let mut chars = rest.char_indices().peekable();
    let (_, first) = chars.next()?;
    if !first.is_uppercase() {
        return None;
    }
    let mut end = first.len_utf8();
    let mut lowercase = false;
    while let Some((i, c)) = chars.next() {
        if c.is_alphabetic() || is_combining_mark(c) {
            lowercase |= c.is_lowercase();
            end = i + c.len_utf8();
        } else if matches!(c, '\'' | '’' | '-')
            && chars.peek().is_some_and(|&(_, n)| n.is_alphabetic())
        {
            end = i + c.len_utf8();
        } else {
            break;
        }
    }
    let word = &rest[..end];
    let end = word
        .strip_suffix("'s")
        .or_else(|| word.strip_suffix("’s"))
        .map_or(end, str::len);
    let next_is_word = rest[end..]
        .chars()
        .next()
        .is_some_and(|c| c.is_alphanumeric() && !matches!(c, '\'' | '’'));
    (lowercase && !next_is_word && !starts_with_number(&rest[end..])).then_some(pos + end)
}

/// End of initials at `pos` (`J.`, `J.P.`, `A. B.`), which must be followed by a space.
fn initials(text: &str, pos: usize) -> Option<usize> {
    let mut end = pos;
    loop {
        let mut chars = text[end..].chars();
        match (chars.next(), chars.next()) {
            (Some(c), Some('.')) if c.is_uppercase() => end += c.len_utf8() + 1,
            _ => break,
        }
        // "A. B." or "A.B."
        if text[end..].starts_with(' ') && initials_follow(&text[end + 1..]) {
            end += 1;
        }
    }
    (end > pos && text[end..].starts_with(' ')).then_some(end)
}

fn initials_follow(text: &str) -> bool {
    let mut chars = text.chars();
    matches!((chars.next(), chars.next()), (Some(c), Some('.')) if c.is_uppercase())
}

/// Where the capitalised word after up to three particles at `pos` starts ("van den Berg",
/// "van 't Hof", "el Amrani", "De Vries", "Van der Berg"); an inner particle ("het", "in")
/// cannot come first.
fn particles(text: &str, pos: usize) -> Option<usize> {
    let mut at = pos;
    for count in 0..3 {
        // particles are short: look no further than the next few characters
        let Some(word_end) = window_after(text, at, 8)
            .find(char::is_whitespace)
            .map(|i| at + i)
        else {
            break;
        };
        let word = &text[at..word_end];
        let lower = word.to_lowercase();
        let is_particle = PARTICLE_SET.contains(lower.as_str())
            && (count > 0 || !INNER_PARTICLE_SET.contains(lower.as_str()));
        if !is_particle || !text[word_end..].starts_with(' ') {
            break;
        }
        at = word_end + 1;
    }
    (at > pos && capitalised_word(text, at).is_some()).then_some(at)
}
