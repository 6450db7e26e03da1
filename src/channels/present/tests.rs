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
