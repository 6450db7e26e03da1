//! What the Slack and Teams presenters share when they turn a [`Reply`] into Block Kit or an
//! Adaptive Card: the limits on each part of an answer, texts on one line, cutting a text to a
//! length at a word boundary (each platform counts length its own way and escapes its own
//! markup), the headline notifications show, and the words from [`crate::phrases`]. The
//! platform modules only decide the JSON shape.

use crate::phrases::Labels;
use crate::routing::Reply;

/// A person's name or department.
pub const MAX_NAME: usize = 100;
/// A knowledge item's title.
pub const MAX_TITLE: usize = 200;
/// A specialist's expertise, as shown (the catalogue may hold more).
pub const MAX_EXPERTISE: usize = 200;
/// Why a directory match was shown.
pub const MAX_REASON: usize = 200;
/// One desk contact (e-mail, phone, hours).
pub const MAX_DESK_VALUE: usize = 300;
/// A notification's text.
pub const MAX_FALLBACK_TEXT: usize = 150;

/// Whitespace (including line breaks) collapsed to single spaces, for texts shown on one line.
pub fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The first line that says what the answer is about, for notifications, screen readers and a
/// card with nothing else to show: the intro's, else the text's, else the desk's name.
pub fn headline(reply: &Reply) -> &str {
    [reply.intro.as_str(), reply.text.as_str()]
        .into_iter()
        .find_map(|t| t.lines().map(str::trim).find(|line| !line.is_empty()))
        .unwrap_or(Labels::of(reply.language).desk_name)
}

/// `text` written with `escape` (the platform's markup for a character, if any) and cut to at
/// most `max` units as `width` counts a character (or its escape's bytes), ending in "…" when
/// cut. Cuts at a word boundary when one is near (a word cut in half reads worse than a
/// slightly shorter text), and never inside an escape.
pub fn cut(
    text: &str,
    max: usize,
    width: impl Fn(char) -> usize,
    escape: impl Fn(char) -> Option<&'static str>,
) -> String {
    let len = |c: char| escape(c).map_or_else(|| width(c), str::len);
    let push = |out: &mut String, c: char| match escape(c) {
        Some(entity) => out.push_str(entity),
        None => out.push(c),
    };
    let mut out = String::new();
    if text.chars().map(len).sum::<usize>() <= max {
        text.chars().for_each(|c| push(&mut out, c));
        return out;
    }
    if max == 0 {
        return out;
    }
    let budget = max - 1; // room for the "…"
    let mut used = 0;
    let mut last_space = None;
    for c in text.chars() {
        if used + len(c) > budget {
            break;
        }
        if c.is_whitespace() {
            last_space = Some((out.len(), used));
        }
        push(&mut out, c);
        used += len(c);
    }
    if let Some((at, kept)) = last_space
        && kept * 5 >= used * 4
    {
        out.truncate(at);
    }
    let trimmed = out.trim_end().len();
    out.truncate(trimmed);
    out.push('…');
    out
}

/// No markup: the text as it is.
pub fn no_escape(_: char) -> Option<&'static str> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chars(text: &str, max: usize) -> String {
        cut(text, max, |_| 1, no_escape)
    }

    #[test]
    fn cut_keeps_short_texts_and_cuts_long_ones_at_a_word() {
        assert_eq!(chars("Power BI", 8), "Power BI");
        assert_eq!(chars("Power BI dashboards", 11), "Power BI…");
        // the last space too far back: the word is cut instead
        assert_eq!(chars("Power BI dashboards", 12), "Power BI da…");
        assert_eq!(chars("Supercalifragilistic", 6), "Super…");
        assert_eq!(chars("anything", 0), "");
    }

    #[test]
    fn cut_counts_escapes_and_never_splits_one() {
        let amp = |c: char| (c == '&').then_some("&amp;");
        assert_eq!(cut("a&b", 7, |_| 1, amp), "a&amp;b");
        // "a&amp;" would need 6 + the ellipsis
        assert_eq!(cut("a&bcdef", 6, |_| 1, amp), "a…");
        // emoji count double where the platform counts UTF-16
        assert_eq!(cut("👍👍👍", 4, char::len_utf16, no_escape), "👍…");
    }

    #[test]
    fn the_headline_is_the_first_line_with_words() {
        let mut reply = crate::routing::reply::fixtures::reply(
            crate::text::Lang::Nl,
            crate::routing::ReplyKind::Routed,
        );
        reply.intro = "\n  Voor Power BI:\nmeer".into();
        assert_eq!(headline(&reply), "Voor Power BI:");
        reply.intro.clear();
        reply.text.clear();
        assert_eq!(headline(&reply), "Verwijsloket");
    }
}
