use super::*;
use crate::routing::reply::fixtures::{self, desk, knowledge, routed};
use crate::routing::reply::{IntentOption, SpecialistRole};
use crate::text::Lang;

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

#[test]
fn a_shared_budget_shows_specialists_first_and_keeps_a_place_for_the_note() {
    let mut r = routed(Lang::En);
    r.specialists = (0..60)
        .map(|n| fixtures::specialist(&format!("s{n}"), "Someone", SpecialistRole::Match))
        .collect();
    r.knowledge = (0..5).map(knowledge).collect();
    let shown = Presented::of(&r);

    // 65 parts in 10 places: 9 shown, the tenth place is the "56 more" note
    let fits = shown.select(Room::Shared(10));
    assert_eq!(fits.specialists.len(), 9);
    assert!(fits.knowledge.is_empty());
    assert_eq!((fits.hidden_specialists, fits.hidden_knowledge), (51, 5));
    assert_eq!(fits.hidden(), 56);
    // the list's own positions, for ids unique within a message
    assert_eq!(fits.specialists[8].index, 8);

    // everything fits: no note, so no place kept for one
    let all = shown.select(Room::Shared(65));
    assert_eq!(
        (all.specialists.len(), all.knowledge.len(), all.hidden()),
        (60, 5, 0)
    );

    // a budget per list: each list is cut on its own
    let each = shown.select(Room::Each {
        specialists: 6,
        knowledge: 6,
    });
    assert_eq!((each.specialists.len(), each.knowledge.len()), (6, 5));
    assert_eq!((each.hidden_specialists, each.hidden_knowledge), (54, 0));

    // no room at all: nothing shown, everything counted
    let none = shown.select(Room::Shared(0));
    assert_eq!((none.specialists.len(), none.hidden()), (0, 65));
}

#[test]
fn empty_catalogue_fields_fall_back_to_an_id_then_a_word() {
    let mut r = routed(Lang::Nl);
    r.specialists[0].name = " \n ".into();
    r.specialists[1].name = String::new();
    r.specialists[1].id = String::new();
    r.specialists[1].department = " HR\nAnalytics ".into();
    r.knowledge[0].title = "  ".into();
    r.knowledge[1].title = String::new();
    r.knowledge[1].id = String::new();
    let shown = Presented::of(&r);
    assert_eq!(shown.specialists[0].name, "anna");
    assert_eq!(shown.specialists[1].name, "Collega");
    assert_eq!(shown.specialists[1].department, "HR Analytics");
    assert!(shown.specialists[1].alternative);
    assert_eq!(shown.knowledge[0].title, "k1");
    assert_eq!(shown.knowledge[1].title, "Openen");
}

#[test]
fn only_directory_matches_carry_a_reason_and_blank_emails_are_none() {
    let mut r = routed(Lang::En);
    r.specialists[0].reason = "power bi".into();
    r.specialists[0].email = "  ".into();
    r.specialists[1].role = SpecialistRole::Match;
    r.specialists[1].reason = "  dashboards \n".into();
    let shown = Presented::of(&r);
    assert_eq!(shown.specialists[0].reason, None);
    assert_eq!(shown.specialists[0].email, None);
    assert_eq!(shown.specialists[1].reason.as_deref(), Some("dashboards"));
    assert_eq!(shown.specialists[1].email, Some("bram@example.org"));
}

#[test]
fn the_desk_is_labelled_facts_in_one_order_or_nothing() {
    let mut r = routed(Lang::Nl);
    r.desk = Some(desk());
    let shown = Presented::of(&r);
    let d = shown.desk.expect("a desk");
    assert_eq!(d.name, "HR Service Desk");
    let facts: Vec<(DeskFactKind, &str, &str)> = (d.facts.iter())
        .map(|f| (f.kind, f.label, f.value.as_str()))
        .collect();
    assert_eq!(
        facts,
        [
            (DeskFactKind::Email, "E-mail", "hr@example.org"),
            (DeskFactKind::Phone, "Telefoon", "+31 30 123 45 67"),
            (
                DeskFactKind::Web,
                "Website",
                "https://intranet.example.org/hr"
            ),
            (DeskFactKind::Hours, "Bereikbaar", "Mon–Fri 9:00–17:00"),
        ]
    );

    // no name but a way in: named as the desk
    let mut nameless = desk();
    nameless.name = " ".into();
    nameless.email = None;
    nameless.url = None;
    nameless.hours = Some("\n".into());
    r.desk = Some(nameless.clone());
    let d = Presented::of(&r).desk.expect("a desk with a phone number");
    assert_eq!(d.name, "Verwijsloket");
    assert_eq!(d.facts.len(), 1);

    // nothing to show: no desk
    nameless.phone = None;
    r.desk = Some(nameless);
    assert!(Presented::of(&r).desk.is_none());
}

#[test]
fn options_without_an_intent_are_dropped_and_keep_their_positions() {
    let mut r = routed(Lang::En);
    r.options = vec![
        IntentOption {
            intent: " ".into(),
            label: "Nothing".into(),
        },
        IntentOption {
            intent: "leave".into(),
            label: String::new(),
        },
        IntentOption {
            intent: "training_budget".into(),
            label: "Training\nbudget".into(),
        },
    ];
    let shown = Presented::of(&r);
    let options: Vec<(usize, &str, &str)> = (shown.options.iter())
        .map(|o| (o.index, o.intent, o.label.as_str()))
        .collect();
    assert_eq!(
        options,
        [
            (1, "leave", "leave"),
            (2, "training_budget", "Training budget")
        ]
    );
}
