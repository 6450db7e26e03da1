use super::*;
use crate::routing::reply::fixtures::{self, desk, knowledge, reply};
use crate::routing::reply::{DeskCard, IntentOption, ReplyKind, SpecialistCard, SpecialistRole};

/// Element and action types of Adaptive Cards 1.4 that these cards may use.
const KNOWN_TYPES: [&str; 9] = [
    "AdaptiveCard",
    "TextBlock",
    "Container",
    "ColumnSet",
    "Column",
    "FactSet",
    "ActionSet",
    "Action.OpenUrl",
    "Action.Submit",
];

fn specialist(id: &str, name: &str, aad: Option<&str>, role: SpecialistRole) -> SpecialistCard {
    SpecialistCard {
        teams_aad_object_id: aad.map(str::to_string),
        ..fixtures::specialist(id, name, role)
    }
}

fn routed(language: Lang) -> Reply {
    let mut r = fixtures::routed(language);
    r.specialists[0].teams_aad_object_id = Some("00000000-aaaa-4000-8000-000000000001".to_string());
    r
}

fn ambiguous(language: Lang) -> Reply {
    let mut r = reply(language, ReplyKind::Ambiguous);
    r.intro = "Did you mean Training budget or Career talk?".to_string();
    r.options = vec![
        IntentOption {
            intent: "training_budget".to_string(),
            label: "Training budget".to_string(),
        },
        IntentOption {
            intent: "career_talk".to_string(),
            label: "Career talk".to_string(),
        },
    ];
    r
}

/// Everything at once: specialists who can be messaged, knowledge, desk and options.
fn everything() -> Reply {
    let mut r = routed(Lang::En);
    r.specialists[1].teams_aad_object_id = Some("00000000-bbbb".to_string());
    r.desk = Some(desk());
    r.options = ambiguous(Lang::En).options;
    r
}

/// Calls `f` on every JSON value in the tree, depth first.
fn walk<'a>(value: &'a Value, f: &mut impl FnMut(&'a Value)) {
    f(value);
    match value {
        Value::Array(items) => items.iter().for_each(|v| walk(v, f)),
        Value::Object(map) => map.values().for_each(|v| walk(v, f)),
        _ => {}
    }
}

/// Every object in the card with the given `type`.
fn of_type<'a>(card: &'a Value, kind: &str) -> Vec<&'a Value> {
    let mut out = Vec::new();
    walk(card, &mut |v| {
        if v.get("type").and_then(Value::as_str) == Some(kind) {
            out.push(v);
        }
    });
    out
}

/// Every `Action.Submit` in the order shown: the body's, then the card's own actions.
fn submits(card: &Value) -> Vec<&Value> {
    let mut out = of_type(&card["body"], "Action.Submit");
    out.extend(of_type(&card["actions"], "Action.Submit"));
    out
}

/// What every card must satisfy: the 1.4 shape, known types only, text wherever Adaptive
/// Cards requires it, valid button targets, and `data` objects.
fn assert_valid(card: &Value) {
    assert_eq!(card["type"], "AdaptiveCard");
    assert_eq!(card["version"], "1.4");
    assert_eq!(card["$schema"], SCHEMA);
    assert!(!card["body"].as_array().unwrap().is_empty());
    if let Some(actions) = card.get("actions") {
        assert!(!actions.as_array().unwrap().is_empty());
    }
    walk(card, &mut |v| {
        let Some(object) = v.as_object() else {
            return;
        };
        // Submit data is ours, not an element: its keys are not card properties.
        if object.contains_key("action") && object.contains_key("conversation_id") {
            return;
        }
        if let Some(kind) = object.get("type") {
            let kind = kind.as_str().expect("type is a string");
            assert!(KNOWN_TYPES.contains(&kind), "unknown type {kind}");
            match kind {
                "TextBlock" => {
                    assert!(!v["text"].as_str().unwrap().trim().is_empty(), "{v}");
                    assert_eq!(v["wrap"], true);
                }
                "Container" => assert!(!v["items"].as_array().unwrap().is_empty()),
                "ActionSet" => assert!(!v["actions"].as_array().unwrap().is_empty()),
                "FactSet" => {
                    for f in v["facts"].as_array().unwrap() {
                        assert!(!f["title"].as_str().unwrap().is_empty());
                        assert!(!f["value"].as_str().unwrap().is_empty());
                    }
                }
                "Action.OpenUrl" => {
                    assert!(!v["title"].as_str().unwrap().is_empty());
                    let url = v["url"].as_str().unwrap();
                    assert!(web_url(url) == Some(url), "{url}");
                }
                "Action.Submit" => {
                    assert!(!v["title"].as_str().unwrap().is_empty());
                    assert!(v["data"].is_object());
                }
                _ => {}
            }
        }
        for (key, value) in object {
            if let Some(s) = value.as_str() {
                assert!(!s.trim().is_empty(), "empty {key} in {v}");
            }
        }
    });
}

fn card_of(reply: &Reply, mode: CardMode, question: Option<&str>) -> Value {
    let card = reply_card(reply, mode, question);
    assert_valid(&card);
    card
}

fn body_items(card: &Value) -> &Vec<Value> {
    card["body"].as_array().unwrap()
}

fn texts(element: &Value) -> Vec<&str> {
    of_type(element, "TextBlock")
        .into_iter()
        .map(|t| t["text"].as_str().unwrap())
        .collect()
}

#[test]
fn routed_reply_has_intro_specialists_knowledge_and_feedback() {
    let r = routed(Lang::En);
    let card = card_of(&r, CardMode::Bot, Some("Who can help with Power BI?"));
    assert_eq!(card["lang"], "en");
    let body = body_items(&card);
    assert_eq!(body.len(), 5);
    assert_eq!(body[0]["type"], "TextBlock");
    assert_eq!(body[0]["text"], "For Power BI, this is where to go:");

    let anna = texts(&body[1]);
    assert_eq!(
        anna,
        [
            "Anna Jansen",
            "HR Analytics",
            "Power BI, dashboards and HR reporting",
            "[anna@example.org](mailto:anna@example.org)",
        ]
    );
    assert_eq!(body[1]["items"][0]["weight"], "Bolder");
    assert_eq!(body[1]["items"][2]["isSubtle"], true);
    let bram = texts(&body[2]);
    assert_eq!(bram[0], "Bram de Vries");
    assert_eq!(bram[1], "HR Analytics · _(alternative)_");

    for (container, s) in body[1..3].iter().zip(&r.specialists) {
        let set = container["items"].as_array().unwrap().last().unwrap();
        assert_eq!(set["type"], "ActionSet");
        let chat = &set["actions"][0];
        assert_eq!(chat["type"], "Action.OpenUrl");
        assert_eq!(chat["title"], format!("Chat with {}", s.name));
        assert_eq!(chat["url"], s.teams_chat_url);
        assert_eq!(
            chat["url"],
            format!("https://teams.microsoft.com/l/chat/0/0?users={}", s.email)
        );
    }

    for (container, n) in body[3..5].iter().zip(1..) {
        assert_eq!(
            texts(container),
            [format!("Guide {n}"), format!("What guide {n} explains.")]
        );
        let open = of_type(container, "Action.OpenUrl");
        assert_eq!(open.len(), 1);
        assert_eq!(open[0]["title"], "Open");
        assert_eq!(
            open[0]["url"],
            format!("https://intranet.example.org/guide-{n}?a=1&b=2")
        );
    }

    let actions = card["actions"].as_array().unwrap();
    assert_eq!(actions.len(), 2);
    assert_eq!(actions[0]["type"], "Action.Submit");
    assert_eq!(actions[0]["title"], "👍 Helpful");
    assert_eq!(
        actions[0]["data"],
        json!({ "action": "feedback", "conversation_id": 42, "helpful": true })
    );
    assert_eq!(actions[1]["title"], "👎 Not helpful");
    assert_eq!(
        actions[1]["data"],
        json!({ "action": "feedback", "conversation_id": 42, "helpful": false })
    );
}

#[test]
fn handoff_button_only_for_messageable_specialists_in_bot_mode() {
    let r = routed(Lang::En);
    let card = card_of(&r, CardMode::Bot, Some("  Who can help with Power BI?\n"));
    let body = body_items(&card);
    let anna = of_type(&body[1], "Action.Submit");
    assert_eq!(anna.len(), 1);
    assert_eq!(anna[0]["title"], "Pass my question on");
    assert_eq!(
        anna[0]["data"],
        json!({
            "action": "handoff",
            "conversation_id": 42,
            "specialist": "anna",
            "q": "Who can help with Power BI?",
        })
    );
    // Bram has no Teams object id: the bot cannot message him, so only the chat link.
    assert!(of_type(&body[2], "Action.Submit").is_empty());
    assert_eq!(of_type(&body[2], "Action.OpenUrl").len(), 1);

    // Without the question the button still works; "q" is left out.
    for question in [None, Some("   ")] {
        let card = card_of(&r, CardMode::Bot, question);
        let data = &of_type(&body_items(&card)[1], "Action.Submit")[0]["data"];
        assert_eq!(
            *data,
            json!({ "action": "handoff", "conversation_id": 42, "specialist": "anna" })
        );
    }

    // A long question is cut to the limit, on a character boundary.
    let long = "wat kost één cursus? ".repeat(100);
    let card = card_of(&r, CardMode::Bot, Some(&long));
    let q = of_type(&body_items(&card)[1], "Action.Submit")[0]["data"]["q"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(q.chars().count() <= MAX_QUESTION);
    assert!(q.chars().count() > MAX_QUESTION - 30);
    assert!(q.ends_with('…'));

    let card = card_of(&r, CardMode::Webhook, Some("Who?"));
    assert!(submits(&card).is_empty());
}

#[test]
fn ambiguous_reply_offers_one_choose_button_per_option() {
    let card = card_of(&ambiguous(Lang::En), CardMode::Bot, None);
    let body = body_items(&card);
    assert_eq!(body.len(), 2);
    assert_eq!(
        body[0]["text"],
        "Did you mean Training budget or Career talk?"
    );
    assert_eq!(body[1]["type"], "ActionSet");
    let options = body[1]["actions"].as_array().unwrap();
    assert_eq!(options.len(), 2);
    for (o, (intent, label)) in options.iter().zip([
        ("training_budget", "Training budget"),
        ("career_talk", "Career talk"),
    ]) {
        assert_eq!(o["type"], "Action.Submit");
        assert_eq!(o["title"], label);
        assert_eq!(
            o["data"],
            json!({ "action": "choose", "conversation_id": 42, "intent": intent })
        );
    }
    // Plus the feedback buttons.
    assert_eq!(submits(&card).len(), 4);
}

#[test]
fn options_are_listed_as_text_when_they_cannot_post_back() {
    let mut unlogged = ambiguous(Lang::En);
    unlogged.conversation_id = None;
    for (r, mode) in [
        (ambiguous(Lang::En), CardMode::Webhook),
        (unlogged, CardMode::Bot),
    ] {
        let card = card_of(&r, mode, None);
        assert!(submits(&card).is_empty());
        assert_eq!(
            texts(&card),
            [
                "Did you mean Training budget or Career talk?",
                "• Training budget",
                "• Career talk",
            ]
        );
    }
}

#[test]
fn out_of_scope_reply_shows_the_desk() {
    let mut r = reply(Lang::En, ReplyKind::OutOfScope);
    r.intro = "I can't help you with that one, but the HR Service Desk can:".to_string();
    r.desk = Some(desk());
    let card = card_of(&r, CardMode::Bot, None);
    let body = body_items(&card);
    assert_eq!(body.len(), 2);
    let d = &body[1];
    assert_eq!(d["items"][0]["text"], "HR Service Desk");
    assert_eq!(d["items"][0]["weight"], "Bolder");
    assert_eq!(
        d["items"][1],
        json!({
            "type": "FactSet",
            "facts": [
                { "title": "E-mail", "value": "[hr@example.org](mailto:hr@example.org)" },
                { "title": "Phone", "value": "+31 30 123 45 67" },
                { "title": "Hours", "value": "Mon–Fri 9:00–17:00" },
            ],
        })
    );
    let open = of_type(d, "Action.OpenUrl");
    assert_eq!(open.len(), 1);
    assert_eq!(open[0]["url"], "https://intranet.example.org/hr");
    assert_eq!(open[0]["title"], "Go to the website");

    // A desk with only a name is still shown; missing parts are left out, not blank.
    r.desk = Some(DeskCard {
        email: None,
        url: None,
        phone: None,
        hours: Some("  ".to_string()),
        ..desk()
    });
    let card = card_of(&r, CardMode::Bot, None);
    assert_eq!(body_items(&card)[1]["items"].as_array().unwrap().len(), 1);

    // A desk URL that is not a web link is shown, not linked.
    r.desk = Some(DeskCard {
        url: Some("intranet/hr".to_string()),
        ..desk()
    });
    let card = card_of(&r, CardMode::Bot, None);
    assert!(of_type(&card, "Action.OpenUrl").is_empty());
    let facts = &body_items(&card)[1]["items"][1]["facts"];
    assert_eq!(
        facts[2],
        json!({ "title": "Website", "value": "intranet/hr" })
    );

    // An empty desk is left out.
    r.desk = Some(DeskCard {
        id: "x".to_string(),
        name: " ".to_string(),
        email: None,
        url: None,
        phone: None,
        hours: None,
    });
    assert_eq!(body_items(&card_of(&r, CardMode::Bot, None)).len(), 1);
}

#[test]
fn webhook_cards_have_no_submit_anywhere() {
    let r = everything();
    let bot = card_of(&r, CardMode::Bot, Some("Who?"));
    // handoff x2, choose x2, feedback x2
    assert_eq!(submits(&bot).len(), 6);

    let card = card_of(&r, CardMode::Webhook, Some("Who?"));
    let mut kinds = Vec::new();
    walk(&card, &mut |v| {
        if let Some(kind) = v.get("type").and_then(Value::as_str) {
            kinds.push(kind);
        }
        if let Some(s) = v.as_str() {
            assert_ne!(s, "Action.Submit");
        }
    });
    assert!(!kinds.contains(&"Action.Submit"));
    assert!(card.get("actions").is_none());
    assert!(!card.to_string().contains("conversation_id"));
    // The links stay: two chats, two guides, the desk's website.
    assert_eq!(of_type(&card, "Action.OpenUrl").len(), 5);
}

#[test]
fn unlogged_replies_have_no_submits() {
    let mut r = everything();
    r.conversation_id = None;
    let card = card_of(&r, CardMode::Bot, Some("Who?"));
    assert!(submits(&card).is_empty());
    assert!(card.get("actions").is_none());
    assert_eq!(of_type(&card, "Action.OpenUrl").len(), 5);
}

#[test]
fn escape_markdown_neutralises_formatting() {
    assert_eq!(
        escape_markdown("plain text, 1 + 1 = 2."),
        "plain text, 1 + 1 = 2."
    );
    assert_eq!(escape_markdown("*bold* _it_"), "\\*bold\\* \\_it\\_");
    assert_eq!(
        escape_markdown("[click](https://evil.example)"),
        "\\[click\\](https://evil.example)"
    );
    assert_eq!(escape_markdown("`code` a\\b"), "\\`code\\` a\\\\b");
    assert_eq!(escape_markdown("- item"), "\\- item");
    assert_eq!(escape_markdown("  + item"), "\\+ item");
    assert_eq!(escape_markdown("# Heading"), "\\# Heading");
    assert_eq!(escape_markdown("> quote"), "\\> quote");
    assert_eq!(escape_markdown("=== "), "\\=== ");
    assert_eq!(escape_markdown("2024. A year"), "2024\\. A year");
    assert_eq!(escape_markdown("1) first"), "1\\) first");
    assert_eq!(escape_markdown("12 months"), "12 months");
    assert_eq!(escape_markdown("1."), "1\\.");
    assert_eq!(
        escape_markdown("2.5 days, +31 6, -5%, #1"),
        "2.5 days, +31 6, -5%, #1"
    );
    assert_eq!(escape_markdown("---"), "\\---");
    assert_eq!(escape_markdown("## h"), "\\## h");
    assert_eq!(escape_markdown("-"), "\\-");
    assert_eq!(escape_markdown("a - b # c 1. d"), "a - b # c 1. d");
    assert_eq!(
        escape_markdown("one\r\n- two\n3. three"),
        "one\n\\- two\n3\\. three"
    );
    assert_eq!(escape_markdown("*"), "\\*");
    assert_eq!(escape_markdown("één_twee"), "één\\_twee");
    assert_eq!(escape_markdown(""), "");
}

#[test]
fn user_and_catalogue_text_is_escaped_in_cards() {
    let mut r = routed(Lang::En);
    r.intro = "Who knows about *power_bi* [x](https://evil.example)?".to_string();
    r.specialists[0].name = "- **Anna**".to_string();
    r.specialists[0].department = "1. Analytics".to_string();
    r.specialists[0].expertise = "`sql` & _python_".to_string();
    r.specialists[1].email = "bram [at] example.org".to_string();
    r.knowledge[0].title = "# Tips_and_tricks".to_string();
    r.knowledge[0].summary = "Line one\n\n\n- line two".to_string();
    r.knowledge[1].url = "javascript:alert(1)".to_string();
    let card = card_of(&r, CardMode::Bot, Some("*hi*"));
    let body = body_items(&card);

    assert_eq!(
        body[0]["text"],
        "Who knows about \\*power\\_bi\\* \\[x\\](https://evil.example)?"
    );
    let anna = texts(&body[1]);
    assert_eq!(anna[0], "\\- \\*\\*Anna\\*\\*");
    assert_eq!(anna[1], "1\\. Analytics");
    assert_eq!(anna[2], "\\`sql\\` & \\_python\\_");
    // Button titles are plain text: the name as written.
    assert_eq!(
        of_type(&body[1], "Action.OpenUrl")[0]["title"],
        "Chat with - **Anna**"
    );
    // The question travels as typed; it is escaped where it is shown.
    assert_eq!(of_type(&body[1], "Action.Submit")[0]["data"]["q"], "*hi*");

    // Not an address that can be linked: shown as text.
    assert_eq!(texts(&body[2])[3], "bram \\[at\\] example.org");

    assert_eq!(
        texts(&body[3]),
        ["\\# Tips\\_and\\_tricks", "Line one\n\n\\- line two"]
    );
    // Not a web link: no button, the URL shown as text.
    assert!(of_type(&body[4], "Action.OpenUrl").is_empty());
    assert_eq!(
        texts(&body[4]),
        ["Guide 2", "What guide 2 explains.", "javascript:alert(1)"]
    );
}

#[test]
fn only_web_urls_become_buttons() {
    assert_eq!(
        web_url(" https://example.org/a?b=1 "),
        Some("https://example.org/a?b=1")
    );
    assert_eq!(web_url("HTTP://example.org"), Some("HTTP://example.org"));
    for bad in [
        "",
        "https://",
        "https:///path",
        "ftp://example.org",
        "javascript:alert(1)",
        "https://exa mple.org",
        "https://example.org/\"onclick",
        "mailto:a@example.org",
        "éééé://x",
    ] {
        assert_eq!(web_url(bad), None, "{bad}");
    }
    assert_eq!(
        web_url(&format!("https://example.org/{}", "p".repeat(3000))),
        None
    );

    let mut r = routed(Lang::En);
    r.specialists[0].teams_chat_url = "not a url".to_string();
    let card = card_of(&r, CardMode::Bot, None);
    // No chat link, but the handoff button remains.
    let actions = of_type(&body_items(&card)[1], "Action.OpenUrl");
    assert!(actions.is_empty());
    assert_eq!(of_type(&body_items(&card)[1], "Action.Submit").len(), 1);
}

#[test]
fn long_texts_are_cut_and_long_lists_say_how_many_more() {
    let mut r = routed(Lang::En);
    r.specialists[0].expertise = "spreadsheets ".repeat(400);
    r.specialists[0].name = "Anna ".repeat(100);
    r.knowledge[0].summary = "word ".repeat(1000);
    r.intro = "x".repeat(10_000);
    let card = card_of(&r, CardMode::Bot, None);
    let body = body_items(&card);
    let intro = body[0]["text"].as_str().unwrap();
    assert_eq!(intro.chars().count(), MAX_INTRO);
    assert!(intro.ends_with('…'));

    let anna = texts(&body[1]);
    assert!(anna[0].chars().count() <= MAX_NAME && anna[0].ends_with("Anna…"));
    let expertise = anna[2];
    assert!(expertise.chars().count() <= MAX_EXPERTISE);
    assert!(expertise.chars().count() > 150);
    assert!(expertise.ends_with("spreadsheets…"), "{expertise}");
    let chat = of_type(&body[1], "Action.OpenUrl")[0]["title"]
        .as_str()
        .unwrap();
    assert!(chat.chars().count() <= MAX_ACTION_TITLE && chat.ends_with('…'));

    let summary = texts(&body[3])[1];
    assert!(summary.chars().count() <= MAX_SUMMARY);
    assert!(summary.ends_with("word…"));

    let mut r = routed(Lang::En);
    r.specialists = (0..9)
        .map(|n| {
            specialist(
                &format!("s{n}"),
                &format!("S {n}"),
                None,
                SpecialistRole::Match,
            )
        })
        .collect();
    r.knowledge = (0..7).map(knowledge).collect();
    let card = card_of(&r, CardMode::Bot, None);
    let body = body_items(&card);
    // intro, 6 specialists, note, 6 knowledge items, note
    assert_eq!(body.len(), 15);
    assert_eq!(body[6]["items"][0]["text"], "S 5");
    assert_eq!(body[7]["text"], "3 more colleagues not shown.");
    assert_eq!(body[7]["isSubtle"], true);
    assert_eq!(body[13]["items"][0]["text"], "Guide 5");
    assert_eq!(body[14]["text"], "1 more link not shown.");

    r.language = Lang::Nl;
    let card = card_of(&r, CardMode::Bot, None);
    assert_eq!(
        body_items(&card)[7]["text"],
        "Nog 3 collega's niet getoond."
    );
    assert_eq!(body_items(&card)[14]["text"], "Nog 1 link niet getoond.");
}

#[test]
fn cap_cuts_on_char_boundaries() {
    assert_eq!(cap("abc", 3), "abc");
    assert_eq!(cap("abcd", 3), "ab…");
    assert_eq!(cap("ééééé", 3), "éé…");
    assert_eq!(cap("👍👍👍👍", 2), "👍…");
    assert_eq!(cap("one two three", 12), "one two thr…");
    assert_eq!(cap("one two three four", 16), "one two three…");
    assert_eq!(cap("anything", 0), "");
}

#[test]
fn labels_follow_the_reply_language() {
    let card = card_of(&everything_in(Lang::Nl), CardMode::Bot, Some("Wie?"));
    assert_eq!(card["lang"], "nl");
    let body = body_items(&card);
    assert_eq!(texts(&body[2])[1], "HR Analytics · _(alternatief)_");
    let anna = &body[1]["items"].as_array().unwrap().last().unwrap()["actions"];
    assert_eq!(anna[0]["title"], "Chat met Anna Jansen");
    assert_eq!(anna[1]["title"], "Vraag doorzetten");
    assert_eq!(of_type(&body[3], "Action.OpenUrl")[0]["title"], "Openen");
    let desk = &body[5];
    let facts: Vec<&str> = desk["items"][1]["facts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["title"].as_str().unwrap())
        .collect();
    assert_eq!(facts, ["E-mail", "Telefoon", "Bereikbaar"]);
    assert_eq!(
        of_type(desk, "Action.OpenUrl")[0]["title"],
        "Naar de website"
    );
    assert_eq!(card["actions"][0]["title"], "👍 Nuttig");
    assert_eq!(card["actions"][1]["title"], "👎 Niet nuttig");

    let en = card_of(&everything_in(Lang::En), CardMode::Bot, Some("Who?"));
    let anna = &body_items(&en)[1]["items"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()["actions"];
    assert_eq!(anna[1]["title"], "Pass my question on");
}

fn everything_in(lang: Lang) -> Reply {
    let mut r = everything();
    r.language = lang;
    r
}

#[test]
fn directory_matches_show_their_reason() {
    let mut r = reply(Lang::En, ReplyKind::Directory);
    r.intro = "These colleagues know about power bi:".to_string();
    let mut m = specialist("anna", "Anna Jansen", None, SpecialistRole::Match);
    m.reason = "expertise: power bi".to_string();
    let mut primary = specialist("bram", "Bram", None, SpecialistRole::Primary);
    primary.reason = "not shown for routed specialists".to_string();
    r.specialists = vec![m, primary];
    let card = card_of(&r, CardMode::Bot, None);
    let body = body_items(&card);
    assert_eq!(texts(&body[1])[2], "expertise: power bi");
    assert!(!card.to_string().contains("not shown"));
}

#[test]
fn parse_submit_round_trips_every_button() {
    let r = everything();
    let card = card_of(&r, CardMode::Bot, Some("Who knows \"Power BI\"?"));
    let parsed: Vec<CardAction> = submits(&card)
        .into_iter()
        .map(|s| parse_submit(&s["data"]).expect("parses"))
        .collect();
    let handoff = |specialist: &str| CardAction::Handoff {
        conversation_id: 42,
        specialist: specialist.to_string(),
        question: Some("Who knows \"Power BI\"?".to_string()),
    };
    let choose = |intent: &str| CardAction::Choose {
        conversation_id: 42,
        intent: intent.to_string(),
        question: Some("Who knows \"Power BI\"?".to_string()),
    };
    assert_eq!(
        parsed,
        [
            handoff("anna"),
            handoff("bram"),
            choose("training_budget"),
            choose("career_talk"),
            CardAction::Feedback {
                conversation_id: 42,
                helpful: true
            },
            CardAction::Feedback {
                conversation_id: 42,
                helpful: false
            },
        ]
    );

    let card = card_of(&routed(Lang::Nl), CardMode::Bot, None);
    let data = &submits(&card)[0]["data"];
    assert_eq!(
        parse_submit(data),
        Some(CardAction::Handoff {
            conversation_id: 42,
            specialist: "anna".to_string(),
            question: None
        })
    );
    // As Teams delivers it: the data, possibly with keys of its own.
    let mut delivered = data.clone();
    delivered["msteams"] = json!({ "type": "messageBack" });
    assert_eq!(parse_submit(&delivered), parse_submit(data));
}

#[test]
fn parse_submit_rejects_junk() {
    for junk in [
        json!(null),
        json!("feedback"),
        json!([{ "action": "feedback", "conversation_id": 1, "helpful": true }]),
        json!({}),
        json!({ "action": "feedback", "helpful": true }),
        json!({ "action": "feedback", "conversation_id": null, "helpful": true }),
        json!({ "action": "feedback", "conversation_id": "42", "helpful": true }),
        json!({ "action": "feedback", "conversation_id": 4.5, "helpful": true }),
        json!({ "action": "feedback", "conversation_id": u64::MAX, "helpful": true }),
        json!({ "action": "feedback", "conversation_id": 42 }),
        json!({ "action": "feedback", "conversation_id": 42, "helpful": "true" }),
        json!({ "action": "delete", "conversation_id": 42 }),
        json!({ "action": 1, "conversation_id": 42 }),
        json!({ "conversation_id": 42, "helpful": true }),
        json!({ "action": "choose", "conversation_id": 42 }),
        json!({ "action": "choose", "conversation_id": 42, "intent": "" }),
        json!({ "action": "choose", "conversation_id": 42, "intent": 7 }),
        json!({ "action": "handoff", "conversation_id": 42 }),
        json!({ "action": "handoff", "conversation_id": 42, "specialist": " " }),
        json!({ "action": "handoff", "conversation_id": 42, "specialist": ["a"] }),
        json!({ "action": "handoff", "conversation_id": 42, "specialist": "a", "q": 5 }),
    ] {
        assert_eq!(parse_submit(&junk), None, "{junk}");
    }
    assert_eq!(
        parse_submit(&json!({
            "action": "handoff", "conversation_id": 7, "specialist": "a", "q": null
        })),
        Some(CardAction::Handoff {
            conversation_id: 7,
            specialist: "a".to_string(),
            question: None
        })
    );
}

#[test]
fn welcome_explains_the_bot_and_the_privacy_notice() {
    for lang in Lang::ALL {
        for retention in [Some(30), Some(1), None] {
            let card = welcome_card(lang, retention);
            assert_valid(&card);
            assert!(submits(&card).is_empty());
            assert_eq!(card["lang"], lang.code());
            let all = texts(&card).join("\n");
            let text = welcome_text(lang, retention);
            for t in [&all, &text] {
                assert!(t.contains("Power BI"), "{t}");
                match (lang, retention) {
                    (Lang::En, Some(30)) => {
                        assert!(t.contains("without your name"));
                        assert!(t.contains("pseudonymous"));
                        assert!(t.contains("which topics are in demand"));
                        assert!(t.contains("deleted after 30 days"));
                    }
                    (Lang::En, Some(1)) => assert!(t.contains("deleted after 1 day.")),
                    (Lang::En, None) => {
                        assert!(t.contains("I keep no question texts at all"));
                        assert!(!t.contains("deleted after"));
                    }
                    (Lang::Nl, Some(30)) => {
                        assert!(t.contains("zonder je naam"));
                        assert!(t.contains("pseudonieme"));
                        assert!(t.contains("na 30 dagen verwijderd"));
                    }
                    (Lang::Nl, Some(1)) => assert!(t.contains("na 1 dag verwijderd")),
                    (Lang::Nl, None) => {
                        assert!(t.contains("bewaar ik helemaal niet"));
                        assert!(!t.contains("verwijderd"));
                    }
                    _ => unreachable!(),
                }
            }
        }
    }
    let en = welcome_text(Lang::En, Some(90));
    assert!(en.starts_with("Hi! I'm the referral desk.\n\n"));
    assert!(en.contains(
        "For example:\n- How do I apply for a training budget?\n- Who knows about Power BI?"
    ));
    assert!(welcome_text(Lang::Nl, None).contains("- Wie weet veel van Power BI?"));
}

#[test]
fn handoff_card_quotes_the_question_and_links_the_asker() {
    let card = handoff_card(
        Lang::En,
        "Carla_B",
        Some("carla+hr@example.org"),
        "How do I *apply*?\n\n- for a course",
        Some("Training budget"),
    );
    assert_valid(&card);
    let body = body_items(&card);
    assert_eq!(body[0]["text"], "**Carla\\_B** asked the referral desk:");
    assert_eq!(body[1]["type"], "Container");
    assert_eq!(body[1]["style"], "emphasis");
    assert_eq!(
        body[1]["items"][0]["text"],
        "How do I \\*apply\\*?\n\n\\- for a course"
    );
    assert_eq!(
        body[2]["facts"],
        json!([{ "title": "Topic", "value": "Training budget" }])
    );
    assert_eq!(body[3]["text"], "Reply to them directly in Teams.");
    let actions = card["actions"].as_array().unwrap();
    assert_eq!(actions.len(), 1);
    assert_eq!(actions[0]["type"], "Action.OpenUrl");
    assert_eq!(actions[0]["title"], "Chat with Carla_B");
    assert_eq!(
        actions[0]["url"],
        "https://teams.microsoft.com/l/chat/0/0?users=carla%2Bhr@example.org"
    );

    // No usable address: no button. No name, no topic, no question: still a valid card.
    for upn in [None, Some(""), Some("not an address"), Some("a@b")] {
        let card = handoff_card(Lang::Nl, " ", upn, "  ", Some(" "));
        assert_valid(&card);
        assert!(card.get("actions").is_none(), "{upn:?}");
        assert_eq!(
            texts(&card),
            [
                "**Iemand** stelde het verwijsloket een vraag:",
                "Reageer rechtstreeks in Teams."
            ]
        );
    }

    let long = handoff_card(Lang::En, "A", None, &"vraag ".repeat(500), None);
    let quoted = body_items(&long)[1]["items"][0]["text"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(quoted.chars().count() <= MAX_QUESTION && quoted.ends_with("vraag…"));
}

#[test]
fn confirmations_in_both_languages() {
    assert_eq!(
        passed_on_text(Lang::En, "Anna Jansen"),
        "I have passed your question on to Anna Jansen; they will contact you in Teams."
    );
    assert_eq!(
        passed_on_text(Lang::Nl, "Anna Jansen"),
        "Ik heb je vraag doorgezet naar Anna Jansen; die neemt via Teams contact met je op."
    );
    assert!(passed_on_text(Lang::En, " ").contains("on to the specialist;"));
    assert_eq!(
        not_on_teams_text(Lang::En, "Bram", "bram@example.org"),
        "I can't pass your question on to Bram in Teams. Please e-mail it to bram@example.org."
    );
    assert_eq!(
        not_on_teams_text(Lang::Nl, "Bram", "bram@example.org"),
        "Ik kan je vraag niet via Teams aan Bram doorgeven. Mail je vraag naar bram@example.org."
    );
    assert_eq!(
        not_on_teams_text(Lang::En, "Bram", ""),
        "I can't pass your question on to Bram in Teams."
    );
    assert_eq!(feedback_thanks_text(Lang::En), "Thanks for your feedback!");
    assert_eq!(feedback_thanks_text(Lang::Nl), "Bedankt voor je feedback!");
}

#[test]
fn fallback_text_is_the_intro_cut_for_notifications() {
    let mut r = routed(Lang::Nl);
    r.intro = "Voor opleidingen kun je hier terecht:\nmeer".to_string();
    assert_eq!(fallback_text(&r), "Voor opleidingen kun je hier terecht:");
    r.intro = "woord ".repeat(100);
    let text = fallback_text(&r);
    assert!(text.chars().count() <= MAX_FALLBACK_TEXT && text.ends_with("woord…"));
    r.intro = " ".to_string();
    assert_eq!(fallback_text(&r), "For Power BI, this is where to go:");
    r.text.clear();
    assert_eq!(fallback_text(&r), "Verwijsloket");
}

#[test]
fn an_empty_reply_still_makes_a_valid_card() {
    let mut r = reply(Lang::En, ReplyKind::Routed);
    r.conversation_id = None;
    r.intro.clear();
    let card = card_of(&r, CardMode::Bot, None);
    assert_eq!(texts(&card), ["For Power BI, this is where to go:"]);
    r.text.clear();
    let card = card_of(&r, CardMode::Webhook, None);
    assert_eq!(texts(&card), ["Referral Desk"]);
}

#[test]
fn attachment_wraps_the_card() {
    let card = welcome_card(Lang::En, Some(90));
    let a = attachment(card.clone());
    assert_eq!(
        a,
        json!({ "contentType": "application/vnd.microsoft.card.adaptive", "content": card })
    );
}

#[test]
fn every_card_uses_only_adaptive_cards_1_4_types() {
    let mut cards = vec![
        welcome_card(Lang::Nl, None),
        handoff_card(Lang::En, "A", Some("a@example.org"), "q", Some("t")),
    ];
    for lang in Lang::ALL {
        for mode in [CardMode::Bot, CardMode::Webhook] {
            let mut r = everything_in(lang);
            cards.push(reply_card(&r, mode, Some("q")));
            r.conversation_id = None;
            cards.push(reply_card(&r, mode, None));
        }
    }
    for card in &cards {
        assert_valid(card);
        walk(card, &mut |v| {
            if let Some(kind) = v.get("type").and_then(Value::as_str)
                && !v.as_object().unwrap().contains_key("conversation_id")
            {
                assert!(KNOWN_TYPES.contains(&kind), "{kind}");
            }
        });
    }
}
