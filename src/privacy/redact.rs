//! Redaction of personal data in question texts before they are stored or logged.
//!
//! HRD wants to see *what* people ask, not *who* asks, where they live or which account, card,
//! phone or citizen service number they happen to paste into the chat. [`redact`] replaces
//! those with typed placeholders so demand reports keep their meaning ("my [iban] changed",
//! "collega [name] pest mij") without the data itself:
//!
//! | placeholder | what | how it is recognised |
//! |---|---|---|
//! | `[email]` | e-mail addresses | shape |
//! | `[iban]` | IBANs, any country, spaced or not | ISO 13616 mod-97 check |
//! | `[card]` | payment card numbers, unbroken or in groups (`4111 1111 1111 1111`, `5500-0000-0000-0004`) | 13–19 digits, Luhn check |
//! | `[bsn]` | Dutch citizen service numbers (`123456782`, `1234.56.782`, `123 456 782`) | elfproef |
//! | `[phone]` | Dutch and international phone numbers | digit count per prefix |
//! | `[address]` | postcode with house number (`1234 AB 12`), street with house number (`Kerkstraat 12`), or both (`Kerkstraat 12, 1234 AB`); the city stays | Dutch postcode and street-name shapes |
//! | `[postcode]` | a postcode on its own, when clearly one (`postcode 1234 AB`, `1234AB`) | shape and context |
//! | `[name]` | names after a role, title, introduction or sign-off (`collega Jan de Vries`, `mijn manager Piet`, `dhr. Jansen`, `Mr. Patel`, `Groet, Anouk`) | cue words, capitalisation |
//! | `[birth_date]` | full dates after or before a birth cue (`geboren op 12 maart 1985`, `DOB 12/3/85`), and full dates 15 to 100 years old that are not start dates | date shapes, cues, year |
//! | `[number]` | any other run of 7 or more digits, and card-shaped digit groups that fail the Luhn check | length |
//!
//! The rules run in the order of the table, each on the output of the previous one.
//! Checksummed identifiers are only labelled as such when the checksum holds; anything that
//! fails falls through to the later, more generic rules, and every run of 7 or more digits ends
//! up redacted one way or another. Years, times, amounts, short numbers, recent and future
//! dates and lowercase words are left alone, because they carry the meaning of HR questions
//! ("verlof in week 12", "€ 250 budget", "mijn contract loopt af op 1 maart 2027").
//!
//! Only the personal data is replaced, never the words around it, so redacted questions still
//! cluster by topic. Not caught: names without a cue ("ik heb ruzie met Pieter") or typed in
//! lowercase ("mijn manager piet"), street addresses outside the Netherlands, a birth year on
//! its own, and dates of birth without a year.
//!
//! The function is idempotent, so text can safely be redacted again at a later stage:
//! placeholders contain no digits, `@` or capitals, and the context checks treat a placeholder
//! that replaced digits like the digits it replaced. It never panics and runs in linear time
//! on any input: every candidate is bounded in length and context windows are fixed.

use std::sync::LazyLock;

use chrono::Datelike;
use regex::Regex;
use rustc_hash::FxHashSet;

mod names;

use names::{capitalised_word, redact_names};

const EMAIL: &str = "[email]";
const IBAN: &str = "[iban]";
const BSN: &str = "[bsn]";
const PHONE: &str = "[phone]";
const NUMBER: &str = "[number]";
const CARD: &str = "[card]";
const ADDRESS: &str = "[address]";
const POSTCODE: &str = "[postcode]";
const BIRTH_DATE: &str = "[birth_date]";
const NAME: &str = "[name]";

/// Unicode `\w` so that addresses with accented local parts (`josé@…`) are caught too.
static EMAIL_RE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"[\w.%+\-]+@[\w\-]+(?:\.[\w\-]+)*\.\w{2,}").expect("e-mail pattern is valid")
});

/// Deliberately loose (an optional space between any two characters, any case): the mod-97
/// check in [`iban_end`] is what decides, so the pattern only has to find the candidates,
/// including IBANs whose spacing was mangled by copy and paste.
static IBAN_RE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\b[A-Za-z]{2}[0-9]{2}(?: ?[A-Za-z0-9]){11,30}\b").expect("IBAN pattern is valid")
});

/// The ways people write a BSN: bare, `1234.56.782` (as printed on Dutch documents) and
/// three groups of three.
static BSN_RE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"\b(?:[0-9]{9}|[0-9]{4}[. ][0-9]{2}[. ][0-9]{3}|[0-9]{3}[ .\-][0-9]{3}[ .\-][0-9]{3})\b",
    )
    .expect("BSN pattern is valid")
});

/// Candidates only: digit groups separated by single spaces, dashes or dots, starting with
/// `+`/`00` (international) or `0`/`(0…)` (Dutch national). Whether a candidate (or a prefix
/// of it) is a phone number is decided by [`phone_end`] from its digit count. The repetitions
/// are bounded so a candidate stays short: long digit soups cannot make the per-candidate
/// checks quadratic.
static PHONE_RE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?:\+|\b00)[0-9]{1,3}(?:[ .\-]?(?:\([0-9]{1,4}\)|[0-9]{1,12})){1,8}|(?:\(0[0-9]{1,4}\)|\b0[0-9]{1,12})(?:[ .\-]?(?:\([0-9]{1,4}\)|[0-9]{1,12})){0,8}",
    )
    .expect("phone pattern is valid")
});

/// A country calling code right before a BSN-shaped number (`+31 612345678`) means it is a
/// phone number; the BSN rule runs first, so it has to know.
static COUNTRY_CODE_BEFORE_RE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?:\+|\b00)[0-9]{1,3} ?(?:\(0\) ?)?$").expect("country code pattern is valid")
});

/// Unicode digits too: a long run in any script is just as identifying.
static LONG_NUMBER_RE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\d{7,}").expect("number pattern is valid"));

/// Replaces personal data in `text` with typed placeholders; see the module docs for the rules.
pub fn redact(text: &str) -> String {
    let text = EMAIL_RE.replace_all(text, EMAIL);
    let text = replace_checked(&text, &IBAN_RE, IBAN, iban_end);
    // Cards before BSNs and phones: their digit groups must not be taken apart.
    let text = redact_cards(&text);
    let text = replace_checked(&text, &BSN_RE, BSN, bsn_end);
    let text = replace_checked(&text, &PHONE_RE, PHONE, phone_end);
    // Addresses before names: "mevr. De Vries, Kerkstraat 12" keeps the street as an address.
    let text = redact_addresses(&text);
    // Names before dates: whether an old date follows "sinds" must not change when a name in
    // between becomes a placeholder on a second pass.
    let text = redact_names(&text);
    let text = redact_birth_dates(&text);
    LONG_NUMBER_RE.replace_all(&text, NUMBER).into_owned()
}

/// Replaces the candidates of `re` that `accept` confirms. `accept` gets the whole text and
/// the candidate's range and returns where the accepted part ends, so a candidate that
/// swallowed a trailing word or year can be cut back. A rejected candidate is retried from its
/// next character, so a valid match starting inside it is not lost.
fn replace_checked(
    text: &str,
    re: &Regex,
    placeholder: &str,
    accept: fn(&str, usize, usize) -> Option<usize>,
) -> String {
    let mut out = String::with_capacity(text.len());
    let mut copied = 0;
    let mut pos = 0;
    while pos <= text.len() {
        let Some(m) = re.find_at(text, pos) else {
            break;
        };
        match accept(text, m.start(), m.end()) {
            Some(end) => {
                out.push_str(&text[copied..m.start()]);
                out.push_str(placeholder);
                copied = end;
                pos = end;
            }
            None => {
                pos = m.start() + text[m.start()..].chars().next().map_or(1, char::len_utf8);
            }
        }
    }
    out.push_str(&text[copied..]);
    out
}

fn iban_end(text: &str, start: usize, end: usize) -> Option<usize> {
    // On a second pass a placeholder may border what was the middle of a longer word.
    if ends_with_number(&text[..start]) {
        return None;
    }
    let candidate = &text[start..end];
    // Longest first: a 4-character word after an IBAN ("… 7034 voor") is matched as a group.
    token_ends(candidate, |c| c.is_ascii_alphanumeric())
        .rev()
        .find(|&len| iban_valid(&candidate[..len]) && !starts_with_number(&text[start + len..]))
        .map(|len| start + len)
}

/// ISO 13616: 2 letters, 2 check digits (02-98), 11-30 alphanumerics, and mod 97 == 1 after
/// moving the first four characters to the end.
fn iban_valid(candidate: &str) -> bool {
    let compact: Vec<u8> = candidate
        .bytes()
        .filter(|b| *b != b' ')
        .map(|b| b.to_ascii_uppercase())
        .collect();
    if !(15..=34).contains(&compact.len()) {
        return false;
    }
    let (head, bban) = compact.split_at(4);
    if !head[..2].iter().all(u8::is_ascii_uppercase)
        || !head[2..].iter().all(u8::is_ascii_digit)
        || !bban.iter().all(u8::is_ascii_alphanumeric)
    {
        return false;
    }
    let check = (head[2] - b'0') * 10 + (head[3] - b'0');
    if !(2..=98).contains(&check) {
        return false;
    }
    let mut remainder: u32 = 0;
    for &b in bban.iter().chain(head) {
        let value = match b {
            b'0'..=b'9' => u32::from(b - b'0'),
            _ => u32::from(b - b'A') + 10,
        };
        let scale = if value >= 10 { 100 } else { 10 };
        remainder = (remainder * scale + value) % 97;
    }
    remainder == 1
}

fn bsn_end(text: &str, start: usize, end: usize) -> Option<usize> {
    let digits: Vec<u32> = text[start..end]
        .chars()
        .filter_map(|c| c.to_digit(10))
        .collect();
    let ok = elfproef(&digits)
        && !embedded_in_number(text, start, end)
        && !COUNTRY_CODE_BEFORE_RE.is_match(&text[..start]);
    ok.then_some(end)
}

/// The BSN 11-test: 9·d1 + 8·d2 + … + 2·d8 − 1·d9 must be a non-zero multiple of 11.
fn elfproef(digits: &[u32]) -> bool {
    if digits.len() != 9 {
        return false;
    }
    let sum: i64 = digits
        .iter()
        .zip([9, 8, 7, 6, 5, 4, 3, 2, -1])
        .map(|(&d, w)| i64::from(d) * w)
        .sum();
    sum != 0 && sum % 11 == 0
}

fn phone_end(text: &str, start: usize, end: usize) -> Option<usize> {
    if preceded_by_number(text, start) {
        return None;
    }
    let candidate = &text[start..end];
    // Longest first, so a number is never cut short and leaves digits behind; cutting back
    // drops a year or count that only followed after a space.
    token_ends(candidate, |c| c.is_ascii_digit() || c == ')')
        .rev()
        .find(|&len| phone_valid(&candidate[..len]) && !followed_by_number(text, start + len))
        .map(|len| start + len)
}

/// Dutch national numbers have exactly 10 digits (`0` + area/mobile code + subscriber).
/// International numbers are 8 to 15 digits (E.164) after `+`/`00` and without the Dutch trunk
/// `(0)`; for +31 and +1 (NANP) the length is fixed, which keeps a following year out.
fn phone_valid(candidate: &str) -> bool {
    let without_trunk = candidate.replace("(0)", "");
    let digits: String = without_trunk.chars().filter(char::is_ascii_digit).collect();
    if candidate.starts_with('+') {
        international_valid(&digits)
    } else if let Some(rest) = digits.strip_prefix("00") {
        international_valid(rest)
    } else {
        digits.len() == 10 && digits.starts_with('0')
    }
}

/// `digits` starts with the country calling code.
fn international_valid(digits: &str) -> bool {
    if digits.starts_with("31") || digits.starts_with('1') {
        digits.len() == 11
    } else {
        (8..=15).contains(&digits.len())
    }
}

/// Byte lengths of the prefixes of `candidate` that end a token: the last character satisfies
/// `is_token` and the next one does not (or the candidate ends). Ascending order.
fn token_ends(
    candidate: &str,
    is_token: fn(char) -> bool,
) -> impl DoubleEndedIterator<Item = usize> {
    let mut ends = Vec::new();
    let mut chars = candidate.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        let next_is_token = chars.peek().is_some_and(|&(_, n)| is_token(n));
        if is_token(c) && !next_is_token {
            ends.push(i + c.len_utf8());
        }
    }
    ends.into_iter()
}

/// True when the range is part of a larger number such as `1.234.567.890` or `12-111222333`:
/// then it is an amount or reference, and the `[number]` rule decides.
fn embedded_in_number(text: &str, start: usize, end: usize) -> bool {
    preceded_by_number(text, start) || followed_by_number(text, end)
}

fn preceded_by_number(text: &str, start: usize) -> bool {
    let before = &text[..start];
    ends_with_number(before)
        || before
            .strip_suffix(NUMBER_JOINERS)
            .is_some_and(ends_with_number)
}

fn followed_by_number(text: &str, end: usize) -> bool {
    let after = &text[end..];
    starts_with_number(after)
        || after
            .strip_prefix(NUMBER_JOINERS)
            .is_some_and(starts_with_number)
}

/// Characters that join digit groups into one larger number: dates, times, amounts.
const NUMBER_JOINERS: &[char] = &['.', ',', ':', '/', '-'];

/// Placeholders that replaced digits count as digits here, so that a second [`redact`] sees
/// the same neighbourhood as the first and leaves the text unchanged.
const NUMBER_PLACEHOLDERS: [&str; 8] = [
    IBAN, BSN, PHONE, NUMBER, CARD, ADDRESS, POSTCODE, BIRTH_DATE,
];

fn ends_with_number(s: &str) -> bool {
    s.ends_with(|c: char| c.is_ascii_digit()) || NUMBER_PLACEHOLDERS.iter().any(|p| s.ends_with(p))
}

fn starts_with_number(s: &str) -> bool {
    s.starts_with(|c: char| c.is_ascii_digit())
        || NUMBER_PLACEHOLDERS.iter().any(|p| s.starts_with(p))
}

// ---------------------------------------------------------------------------------------------
// Payment cards
// ---------------------------------------------------------------------------------------------

/// Runs of ASCII digit groups joined by single spaces or dashes. The pattern only finds the
/// runs; which groups of a run form a card is decided by [`redact_cards`].
static DIGIT_RUN_RE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"[0-9]+(?:[ \-][0-9]+)*").expect("digit run pattern is valid"));

/// Payment card numbers (ISO/IEC 7812): 13 to 19 digits that pass the Luhn check, in one piece
/// or in groups separated by single spaces or dashes, see [`card_layout`]. A run of groups may
/// hold other numbers too (`ticket 12 4111 1111 1111 1111`): the groups are tried from the
/// left, longest card first, and a card must not continue a number (`12-4111…`).
///
/// Grouped numbers in card layout that fail the check become `[number]`: most likely a card
/// number with one mistyped digit, whose other digits are still the card. Unbroken runs that
/// fail are left to the `[number]` rule, as before.
fn redact_cards(text: &str) -> String {
    let mut ranges = Vec::new();
    for run in DIGIT_RUN_RE.find_iter(text) {
        let groups = digit_groups(text, run.start(), run.end());
        let cards = pick_groups(text, &groups, 0, groups.len(), |g| {
            card_layout(text, g) && luhn_valid(text, g)
        });
        let mut from = 0;
        let end = (groups.len(), groups.len());
        for &(i, j) in cards.iter().chain(std::iter::once(&end)) {
            let mistyped = pick_groups(text, &groups, from, i, |g| {
                g.len() > 1 && card_layout(text, g) && !all_years(text, g)
            });
            for (a, b) in mistyped {
                ranges.push((groups[a].0, groups[b - 1].1, NUMBER));
            }
            if i < groups.len() {
                ranges.push((groups[i].0, groups[j - 1].1, CARD));
            }
            from = j;
        }
    }
    replace_ranges(text, &ranges)
}

/// Byte ranges of the digit groups of the run `start..end` (digits separated by one byte).
fn digit_groups(text: &str, start: usize, end: usize) -> Vec<(usize, usize)> {
    let bytes = text.as_bytes();
    let mut groups = Vec::new();
    let mut i = start;
    while i < end {
        let group_start = i;
        while i < end && bytes[i].is_ascii_digit() {
            i += 1;
        }
        groups.push((group_start, i));
        i += 1;
    }
    groups
}

/// Picks, from the left, the longest runs of at most five groups in `lo..hi` that `accept`
/// and that do not continue a number on either side. Returns group index ranges.
fn pick_groups(
    text: &str,
    groups: &[(usize, usize)],
    lo: usize,
    hi: usize,
    accept: impl Fn(&[(usize, usize)]) -> bool,
) -> Vec<(usize, usize)> {
    let mut picked = Vec::new();
    let mut i = lo;
    while i < hi {
        let longest = (i + 1..=hi.min(i + 5)).rev().find(|&j| {
            accept(&groups[i..j])
                && !preceded_by_number(text, groups[i].0)
                && !followed_by_number(text, groups[j - 1].1)
        });
        match longest {
            Some(j) => {
                picked.push((i, j));
                i = j;
            }
            None => i += 1,
        }
    }
    picked
}

/// 13 to 19 digits starting with 2–6 (the networks people carry: Mastercard, Amex, Diners,
/// JCB, Visa, Maestro, Discover, UnionPay; this keeps most reference numbers out), either
/// unbroken or as printed on cards: a first group of four, then groups of three to six
/// (`4-4-4-4`, `4-6-5`, `4-4-4-4-3`).
fn card_layout(text: &str, groups: &[(usize, usize)]) -> bool {
    let digits: usize = groups.iter().map(|(s, e)| e - s).sum();
    let first = text.as_bytes()[groups[0].0];
    let printed = || {
        groups[0].1 - groups[0].0 == 4
            && groups[1..].iter().all(|(s, e)| (3..=6).contains(&(e - s)))
    };
    (13..=19).contains(&digits)
        && (b'2'..=b'6').contains(&first)
        && (groups.len() == 1 || printed())
}

/// The Luhn check digit test (ISO/IEC 7812-1) over the digits of `groups`.
fn luhn_valid(text: &str, groups: &[(usize, usize)]) -> bool {
    let digits = text[groups[0].0..groups[groups.len() - 1].1]
        .bytes()
        .filter(u8::is_ascii_digit)
        .map(|b| u32::from(b - b'0'));
    let sum: u32 = digits
        .rev()
        .enumerate()
        .map(|(i, d)| match (i % 2 == 1, d * 2) {
            (false, _) => d,
            (true, doubled) if doubled > 9 => doubled - 9,
            (true, doubled) => doubled,
        })
        .sum();
    sum.is_multiple_of(10)
}

/// `2024 2025 2026 2027`: a list of years, not a mistyped card.
fn all_years(text: &str, groups: &[(usize, usize)]) -> bool {
    groups
        .iter()
        .all(|&(s, e)| e - s == 4 && matches!(&text[s..s + 2], "19" | "20"))
}

// ---------------------------------------------------------------------------------------------
// Dutch addresses
// ---------------------------------------------------------------------------------------------

/// A house number with an optional addition: `12`, `12a`, `18-2`, `7-hs`.
const HOUSE_NUMBER: &str = r"[1-9][0-9]{0,4}(?:[A-Za-z]{1,2}|-[0-9A-Za-z]{1,4})?";

/// Name particles inside street names (`Burgemeester de Withstraat`) and surnames.
const STREET_PARTICLES: &str = r"(?:van|de|der|den|het|'t|ter|ten|te|la|le)";

/// Dutch postcode candidates: four digits without a leading zero, an optional space, two
/// letters. [`postcode_range`] decides, from the letters and the context.
static POSTCODE_RE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\b[1-9][0-9]{3} ?[A-Za-z]{2}\b").expect("postcode pattern is valid")
});

/// A house number right after a postcode: `1234 AB 12`, `1234AB, huisnummer 22`, `… nr. 4`.
static HOUSE_NUMBER_AFTER_RE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!(
        r"^(?:, ?| )(?:(?i:huisnummer|huisnr\.?|nummer|nr\.?|no\.?|number) ?)?{HOUSE_NUMBER}"
    ))
    .expect("house number pattern is valid")
});

/// A street and house number right before a postcode (`Kerkstraat 12, 1234 AB`): up to three
/// capitalised words (with particles) and the street word, which may be lowercase only when it
/// ends like a street name.
static STREET_BEFORE_RE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!(
        r"\b(?P<street>(?:\p{{Lu}}[\p{{L}}\p{{M}}'’.\-]*\s(?:{STREET_PARTICLES}\s)*){{0,3}}(?:\p{{Lu}}[\p{{L}}\p{{M}}'’\-]*|\p{{Ll}}[\p{{L}}\p{{M}}]*{STREET_SUFFIXES}))\s{HOUSE_NUMBER},?\s$"
    ))
    .expect("street pattern is valid")
});

/// A street and house number without a postcode (`Lindelaan 4`): the street word must be
/// capitalised and end like a Dutch street name.
static STREET_RE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!(
        r"\b(?:\p{{Lu}}[\p{{L}}\p{{M}}'’.\-]*\s(?:{STREET_PARTICLES}\s)*){{0,3}}\p{{Lu}}[\p{{L}}\p{{M}}'’\-]*?{STREET_SUFFIXES}\s{HOUSE_NUMBER}"
    ))
    .expect("street pattern is valid")
});

/// How Dutch street names end. Deliberately without `dam`, `haven`, `veld`, `ring`: too many
/// place and ordinary names end that way (`Rotterdam 3`).
const STREET_SUFFIXES: &str = r"(?:straat|laan|weg|plein|gracht|kade|singel|dijk|dreef|steeg|pad|plantsoen|hof|markt|park|wal|baan|boulevard)";

/// Capitalised words before a street that belong to the sentence, not to the street name.
const NOT_STREET_WORDS: &str = "Naar Op In Aan Bij Mijn Ons Onze Ik Wij We Het Een Adres Address To At On My Our The Is \
    Hi Hoi Stuur Send Woon Live Nieuw New";
static NOT_STREET_WORD_SET: LazyLock<FxHashSet<&str>> =
    LazyLock::new(|| word_set(NOT_STREET_WORDS));

/// A word such as "postcode" shortly before a postcode.
static POSTCODE_CUE_RE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)(?:^|[^\p{L}\p{N}\]])(?:postcode|post code|postal code|zip ?code|zip)\b[^0-9\[\].?!;\n]{0,15}$")
        .expect("postcode cue pattern is valid")
});

/// Dutch postcodes with what comes with them: postcode and house number, street and house
/// number, or both, become `[address]`; the city stays (it says little about who asks and
/// matters for travel and office questions). A postcode on its own becomes `[postcode]` when
/// it is clearly one: after a word like "postcode", written without a space (`1234AB`), or
/// before a place name. Then a street with house number and a Dutch street-name ending.
fn redact_addresses(text: &str) -> String {
    let mut ranges = Vec::new();
    let mut pos = 0;
    for m in POSTCODE_RE.find_iter(text) {
        if m.start() < pos {
            continue;
        }
        if let Some(range) = postcode_range(text, m.start(), m.end(), pos) {
            pos = range.1;
            ranges.push(range);
        }
    }
    let text = replace_ranges(text, &ranges);

    let mut ranges = Vec::new();
    for m in STREET_RE.find_iter(&text) {
        if ends_address(&text, m.end()) && !glued_to_previous(&text, m.start()) {
            ranges.push((
                trim_sentence_words(&text, m.start(), m.end()),
                m.end(),
                ADDRESS,
            ));
        }
    }
    replace_ranges(&text, &ranges)
}

/// The range to redact for the postcode candidate `start..end`, and its placeholder. A street
/// before it is only taken from `not_before` on (the end of the previous address).
fn postcode_range(
    text: &str,
    start: usize,
    end: usize,
    not_before: usize,
) -> Option<(usize, usize, &'static str)> {
    let code = &text[start..end];
    let letters = &code[code.len() - 2..];
    let spaced = code.len() == 7;
    let upper = letters.bytes().all(|b| b.is_ascii_uppercase());
    // Not issued, and "SS" is the one a reader should not see in a postcode either.
    if matches!(letters.to_ascii_uppercase().as_str(), "SA" | "SD" | "SS")
        || preceded_by_number(text, start)
        || followed_by_number(text, end)
    {
        return None;
    }
    let cue = POSTCODE_CUE_RE.is_match(window_before(text, start, 40));
    let house_number = HOUSE_NUMBER_AFTER_RE
        .find(&text[end..])
        .map(|m| end + m.end())
        .filter(|&e| ends_address(text, e));
    let window = window_before(text, start, 100);
    let offset = start - window.len();
    let street = STREET_BEFORE_RE
        .captures(window)
        .and_then(|c| c.name("street"))
        // a street name has lowercase letters: "AB 12, 1234 CD" is no street
        .filter(|s| s.as_str().chars().any(char::is_lowercase))
        .filter(|s| !glued_to_previous(text, offset + s.start()))
        .map(|s| trim_sentence_words(text, offset + s.start(), offset + s.end()))
        .filter(|&s| s >= not_before);
    // Lowercase letters (`1234ab`) only when nothing else could be meant.
    if !upper && (spaced || !(cue || house_number.is_some() || street.is_some())) {
        return None;
    }
    match (street, house_number) {
        (None, None) => {
            let place = text[end..]
                .strip_prefix(' ')
                .is_some_and(|rest| capitalised_word(rest, 0).is_some_and(|e| e >= 3));
            (cue || !spaced || place).then_some((start, end, POSTCODE))
        }
        (street, house_number) => Some((
            street.unwrap_or(start),
            house_number.unwrap_or(end),
            ADDRESS,
        )),
    }
}

/// A house number ends the address at `end` unless a letter, digit or joined number follows
/// (`12:30`, `12,5`).
fn ends_address(text: &str, end: usize) -> bool {
    !text[end..].starts_with(char::is_alphanumeric) && !followed_by_number(text, end)
}

/// Moves `start` past capitalised sentence words ("Naar Kerkstraat 12") that the street
/// pattern took for part of the street name.
fn trim_sentence_words(text: &str, mut start: usize, end: usize) -> usize {
    while let Some((word, rest)) = text[start..end].split_once(char::is_whitespace) {
        if !NOT_STREET_WORD_SET.contains(word) {
            break;
        }
        start = end - rest.len();
    }
    start
}

// ---------------------------------------------------------------------------------------------
// Dates of birth
// ---------------------------------------------------------------------------------------------

const MONTHS: &str = "januari|februari|maart|april|mei|juni|juli|augustus|september|oktober|november|december|january|february|march|may|june|july|august|october|sept|jan|feb|mrt|mar|apr|jun|jul|aug|sep|okt|oct|nov|dec";

/// Full dates: `12-03-1985`, `12/3/85`, `12.03.1985`, `1985-03-12`, `12 maart 1985`,
/// `5th of June 1979`, `12-mrt-1985`, `March 12, 1985`. Which of them are dates of birth is
/// decided by [`is_birth_date`].
static DATE_RE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!(
        r"(?i)\b(?:(?P<d1>[0-9]{{1,2}})(?P<s1>[-/.])(?P<m1>[0-9]{{1,2}})(?P<t1>[-/.])(?P<y1>[0-9]{{4}}|[0-9]{{2}})|(?P<y2>[0-9]{{4}})(?P<s2>[-/.])(?P<m2>[0-9]{{1,2}})(?P<t2>[-/.])(?P<d2>[0-9]{{1,2}})|(?P<d3>[0-9]{{1,2}})(?:st|nd|rd|th|ste|de|e)?(?:\s+of)?(?:\s+|-)(?P<n3>{MONTHS})\.?,?(?:\s+|-)(?P<y3>[0-9]{{4}})|(?P<n4>{MONTHS})\.?\s+(?P<d4>[0-9]{{1,2}})(?:st|nd|rd|th)?,?\s+(?P<y4>[0-9]{{4}}))\b"
    ))
    .expect("date pattern is valid")
});

/// Cue patterns start after a character that is no letter, digit or `]` rather than at `\b`:
/// a placeholder that replaces digits glued to a cue ("123456789geboren") on the first pass
/// must not make it a cue on the second.
///
/// A birth cue shortly before a date: "geboren op", "geb.", "geboortedatum:", "bevallen op",
/// "born on", "gave birth on", "date of birth is", "DOB", "birthday", "verjaardag". The words in between may not hold
/// digits, placeholders or a sentence end, so the cue belongs to this date and not to an
/// earlier one (which also keeps a second redaction from finding new cues).
static BIRTH_CUE_BEFORE_RE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)(?:^|[^\p{L}\p{N}\]])(?:(?:geboren|geboortedatum|geboorte|bevallen|bevalling|born|birth|birthday|birthdate|verjaardag|jarig)\b|geb\b\.?|date\s+of\s+birth\b|birth\s+date\b|d\.?o\.?b\b\.?)[^0-9\[\].?!;\n]{0,30}$")
        .expect("birth cue pattern is valid")
});

/// A birth cue shortly after a date: "op 7 oktober 1983 geboren", "… bevallen".
static BIRTH_CUE_AFTER_RE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)^[^0-9\[\].?!;\n]{0,20}?\b(?:geboren|bevallen|born)(?:$|[^\p{L}\p{N}\[])")
        .expect("birth cue pattern is valid")
});

/// Words that say an old date is a start or a change, not a birth: "sinds 1 september 1998",
/// "joined on 1 February 2004", "came into force on 1 January 2000".
static NOT_BIRTH_CUE_RE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)(?:^|[^\p{L}\p{N}\]])(?:sinds|sedert|per|in\s+dienst|ingegaan|ingevoerd|van\s+kracht|in\s+werking|jubileum|since|joined|started|hired|employed|effective|in(?:to)?\s+force|anniversary)\b[^0-9\[\].?!;\n]{0,20}$")
        .expect("not-birth cue pattern is valid")
});

fn redact_birth_dates(text: &str) -> String {
    let mut ranges = Vec::new();
    for caps in DATE_RE.captures_iter(text) {
        let whole = caps.get(0).expect("group 0 always matches");
        if is_birth_date(text, &caps, whole.start(), whole.end()) {
            ranges.push((whole.start(), whole.end(), BIRTH_DATE));
        }
    }
    replace_ranges(text, &ranges)
}

/// Which full dates are dates of birth:
/// - any valid date right after or before a birth cue ("geboren op 2 juni 2024", "DOB
///   12/3/85"), including children's and two-digit years;
/// - a valid date with a four-digit year 15 to 100 years back, unless a word like "sinds" or
///   "joined" makes it a start date. In HR questions a full date that old is a date of birth far
///   more often than anything else ("ik ben van 12 maart 1961, kan ik …"); recent and future
///   dates (deadlines, training days, contract ends) are never touched without a cue.
fn is_birth_date(text: &str, caps: &regex::Captures, start: usize, end: usize) -> bool {
    let Some((year, four_digits)) = parse_date(caps) else {
        return false;
    };
    if preceded_by_number(text, start) || followed_by_number(text, end) {
        return false;
    }
    let cued = BIRTH_CUE_BEFORE_RE.is_match(window_before(text, start, 60))
        || BIRTH_CUE_AFTER_RE.is_match(window_after(text, end, 40));
    if cued || !four_digits {
        return cued;
    }
    let this_year = chrono::Utc::now().year();
    (this_year - 100..=this_year - 15).contains(&year)
        && !NOT_BIRTH_CUE_RE.is_match(window_before(text, start, 40))
}

/// The year of a date match and whether it was written with four digits, when the day and
/// month are valid. Numeric dates may be day-month or month-day (`12/3/1985`, `3/12/1985`).
fn parse_date(caps: &regex::Captures) -> Option<(i32, bool)> {
    let num = |name: &str| caps.name(name).and_then(|m| m.as_str().parse::<u32>().ok());
    let day_ok = |d: u32| (1..=31).contains(&d);
    let month_ok = |m: u32| (1..=12).contains(&m);
    let (valid, year) = if let (Some(a), Some(b)) = (num("d1"), num("m1")) {
        let same_separator =
            caps.name("s1").map(|m| m.as_str()) == caps.name("t1").map(|m| m.as_str());
        (
            same_separator && ((day_ok(a) && month_ok(b)) || (month_ok(a) && day_ok(b))),
            caps.name("y1"),
        )
    } else if let (Some(m), Some(d)) = (num("m2"), num("d2")) {
        let same_separator =
            caps.name("s2").map(|m| m.as_str()) == caps.name("t2").map(|m| m.as_str());
        (same_separator && month_ok(m) && day_ok(d), caps.name("y2"))
    } else if let Some(d) = num("d3") {
        (day_ok(d), caps.name("y3"))
    } else {
        (num("d4").is_some_and(day_ok), caps.name("y4"))
    };
    let year = year?;
    let value = year.as_str().parse().ok()?;
    valid.then_some((value, year.len() == 4))
}

// ---------------------------------------------------------------------------------------------
// Shared helpers
// ---------------------------------------------------------------------------------------------

/// Whether the text before `at` runs straight into it: a letter, digit or placeholder. The
/// patterns' `\b` already rules out letters and digits, but a placeholder that a later rule
/// puts there on the first pass would make a new word boundary on a second one.
fn glued_to_previous(text: &str, at: usize) -> bool {
    text[..at].ends_with(|c: char| c.is_alphanumeric() || c == ']')
}

/// The words of a space-separated list.
fn word_set(list: &'static str) -> FxHashSet<&'static str> {
    list.split_whitespace().collect()
}

/// Replaces the sorted, non-overlapping byte `ranges` of `text` by their placeholders.
fn replace_ranges(text: &str, ranges: &[(usize, usize, &str)]) -> String {
    let mut out = String::with_capacity(text.len());
    let mut copied = 0;
    for &(start, end, placeholder) in ranges {
        if start < copied {
            // overlapping ranges are a bug in a rule; keep the first rather than panic
            debug_assert!(false, "overlapping redaction ranges");
            continue;
        }
        out.push_str(&text[copied..start]);
        out.push_str(placeholder);
        copied = end;
    }
    out.push_str(&text[copied..]);
    out
}

/// At most `len` bytes of `text` before `at`, cut at a character boundary.
fn window_before(text: &str, at: usize, len: usize) -> &str {
    let mut start = at.saturating_sub(len);
    while !text.is_char_boundary(start) {
        start += 1;
    }
    &text[start..at]
}

/// At most `len` bytes of `text` from `at`, cut at a character boundary.
fn window_after(text: &str, at: usize, len: usize) -> &str {
    let mut end = (at + len).min(text.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[at..end]
}

#[cfg(test)]
mod tests;
