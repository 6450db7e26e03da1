use crate::routing::reply::fixtures::{self, desk, knowledge, reply};
use std::collections::HashSet;

use super::*;
use crate::routing::reply::{DeskCard, IntentOption, ReplyKind, SpecialistCard, SpecialistRole};

fn specialist(id: &str, name: &str, slack: Option<&str>, role: SpecialistRole) -> SpecialistCard {
    SpecialistCard {
        slack_user_id: slack.map(str::to_string),
        ..fixtures::specialist(id, name, role)
    }
}

fn routed(language: Lang) -> Reply {
    let mut r = fixtures::routed(language);
    r.specialists[0].slack_user_id = Some("U0ANNA1".to_string());
    r
}

fn blocks_of(reply: &Reply) -> Vec<Value> {
    let blocks = reply_blocks(reply);
    let blocks = blocks.as_array().expect("blocks is an array").clone();
    assert_within_limits(&blocks);
    blocks
}

fn text_of(block: &Value) -> &str {
    block["text"]["text"].as_str().unwrap_or_default()
}

/// Every interactive element in the message.
fn elements(blocks: &[Value]) -> Vec<&Value> {
    let mut out = Vec::new();
    for b in blocks {
        if let Some(accessory) = b.get("accessory") {
            out.push(accessory);
        }
        if let Some(list) = b["elements"].as_array()
            && b["type"] == "actions"
        {
            out.extend(list);
        }
    }
    out
}

/// Slack's limits, checked on every rendering the tests make.
fn assert_within_limits(blocks: &[Value]) {
    assert!(blocks.len() <= MAX_BLOCKS, "{} blocks", blocks.len());
    for b in blocks {
        if b["type"] == "section" {
            assert!(b.get("text").is_some() || b.get("fields").is_some());
            if let Some(text) = b["text"]["text"].as_str() {
                assert!(!text.is_empty());
                assert!(
                    utf16_len(text) <= MAX_SECTION_TEXT,
                    "section of {}",
                    text.len()
                );
            }
            for f in b["fields"].as_array().into_iter().flatten() {
                assert!(utf16_len(f["text"].as_str().unwrap()) <= MAX_FIELD_TEXT);
            }
        }
        if b["type"] == "actions" {
            let n = b["elements"].as_array().unwrap().len();
            assert!((1..=MAX_ACTIONS_ELEMENTS).contains(&n));
        }
    }
    let mut ids = HashSet::new();
    for e in elements(blocks) {
        assert_eq!(e["type"], "button");
        let text = e["text"]["text"].as_str().unwrap();
        assert!(
            !text.is_empty() && utf16_len(text) <= MAX_BUTTON_TEXT,
            "{text}"
        );
        if let Some(label) = e.get("accessibility_label") {
            assert!(utf16_len(label.as_str().unwrap()) <= MAX_BUTTON_TEXT);
        }
        let id = e["action_id"].as_str().unwrap();
        assert!(ids.insert(id.to_string()), "duplicate action_id {id}");
        let value = e["value"].as_str().unwrap();
        assert!(utf16_len(value) <= MAX_BUTTON_VALUE);
        serde_json::from_str::<Value>(value).expect("button value is JSON");
    }
}

fn value_of(element: &Value) -> Value {
    serde_json::from_str(element["value"].as_str().unwrap()).unwrap()
}

#[test]
fn routed_reply_has_intro_specialists_knowledge_and_feedback() {
    let blocks = blocks_of(&routed(Lang::En));
    assert_eq!(blocks.len(), 6);
    assert_eq!(text_of(&blocks[0]), "For Power BI, this is where to go:");

    // With a Slack id: a mention, no e-mail needed.
    let anna = text_of(&blocks[1]);
    assert!(anna.starts_with("*<@U0ANNA1>* · HR Analytics"), "{anna}");
    assert!(anna.contains("Power BI, dashboards and HR reporting"));
    assert!(!anna.contains("mailto:"));
    assert!(!anna.contains("alternative"));
    // Without: the bold name, labelled as the alternative, with the e-mail address.
    let bram = text_of(&blocks[2]);
    assert!(
        bram.starts_with("*Bram de Vries* · HR Analytics _(alternative)_"),
        "{bram}"
    );
    assert!(bram.contains("<mailto:bram@example.org|bram@example.org>"));
    assert!(!bram.contains("<@"));

    for (n, (block, id)) in blocks[1..3].iter().zip(["anna", "bram"]).enumerate() {
        let button = &block["accessory"];
        assert_eq!(button["text"]["text"], "Contact");
        assert_eq!(button["action_id"], format!("handoff_{n}"));
        let name = if n == 0 {
            "Anna Jansen"
        } else {
            "Bram de Vries"
        };
        assert_eq!(button["accessibility_label"], format!("Contact {name}"));
        assert_eq!(
            value_of(button),
            json!({ "conversation_id": 42, "specialist": id })
        );
        assert!(
            !button["value"].as_str().unwrap().contains(' '),
            "compact JSON"
        );
    }

    let guide = text_of(&blocks[3]);
    assert_eq!(
        guide,
        "*<https://intranet.example.org/guide-1?a=1&amp;b=2|Guide 1>*\nWhat guide 1 explains."
    );
    assert!(text_of(&blocks[4]).contains("|Guide 2>"));

    let feedback = &blocks[5];
    assert_eq!(feedback["type"], "actions");
    let buttons = feedback["elements"].as_array().unwrap();
    assert_eq!(buttons[0]["action_id"], "feedback_helpful");
    assert_eq!(buttons[0]["text"]["text"], "👍 Helpful");
    assert_eq!(
        value_of(&buttons[0]),
        json!({ "conversation_id": 42, "helpful": true })
    );
    assert_eq!(buttons[1]["action_id"], "feedback_not_helpful");
    assert_eq!(buttons[1]["text"]["text"], "👎 Not helpful");
    assert_eq!(
        value_of(&buttons[1]),
        json!({ "conversation_id": 42, "helpful": false })
    );

    let ids: Vec<&str> = elements(&blocks)
        .iter()
        .map(|e| e["action_id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        [
            "handoff_0",
            "handoff_1",
            "feedback_helpful",
            "feedback_not_helpful"
        ]
    );
    for b in &blocks {
        if let Some(text) = b.get("text") {
            assert_eq!(text["verbatim"], true);
        }
    }
}

#[test]
fn unlogged_reply_has_no_feedback_and_null_conversation_in_values() {
    let mut r = routed(Lang::En);
    r.conversation_id = None;
    let blocks = blocks_of(&r);
    assert!(blocks.iter().all(|b| b["type"] != "actions"));
    assert_eq!(
        value_of(&blocks[1]["accessory"]),
        json!({ "conversation_id": null, "specialist": "anna" })
    );
}

#[test]
fn ambiguous_reply_offers_one_button_per_option() {
    let mut r = reply(Lang::Nl, ReplyKind::Ambiguous);
    r.intro = "Bedoel je Opleidingsbudget of Loopbaangesprek?".to_string();
    r.options = vec![
        IntentOption {
            intent: "training_budget".to_string(),
            label: "Opleidingsbudget".to_string(),
        },
        IntentOption {
            intent: "career_talk".to_string(),
            label: "Loopbaangesprek".to_string(),
        },
    ];
    let blocks = blocks_of(&r);
    assert_eq!(blocks.len(), 3);
    assert_eq!(
        text_of(&blocks[0]),
        "Bedoel je Opleidingsbudget of Loopbaangesprek?"
    );
    let options = blocks[1]["elements"].as_array().unwrap();
    assert_eq!(options.len(), 2);
    for (n, (o, (intent, label))) in options
        .iter()
        .zip([
            ("training_budget", "Opleidingsbudget"),
            ("career_talk", "Loopbaangesprek"),
        ])
        .enumerate()
    {
        assert_eq!(o["action_id"], format!("choose_intent_{n}"));
        assert_eq!(o["text"]["text"], label);
        assert_eq!(
            value_of(o),
            json!({ "conversation_id": 42, "intent": intent })
        );
    }
    let feedback = blocks[2]["elements"].as_array().unwrap();
    assert_eq!(feedback[0]["action_id"], "feedback_helpful");
}

#[test]
fn out_of_scope_reply_shows_the_desk() {
    let mut r = reply(Lang::En, ReplyKind::OutOfScope);
    r.intro = "I can't help you with that one, but the HR Service Desk can:".to_string();
    r.desk = Some(desk());
    let blocks = blocks_of(&r);
    assert_eq!(blocks.len(), 3);
    let d = &blocks[1];
    assert_eq!(text_of(d), "*HR Service Desk*");
    let fields: Vec<&str> = d["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["text"].as_str().unwrap())
        .collect();
    assert_eq!(
        fields,
        [
            "*E-mail*\n<mailto:hr@example.org|hr@example.org>",
            "*Phone*\n+31 30 123 45 67",
            "*Website*\n<https://intranet.example.org/hr|https://intranet.example.org/hr>",
            "*Hours*\nMon–Fri 9:00–17:00",
        ]
    );
    assert!(d.get("accessory").is_none());

    // A desk with only a name is still shown; missing parts are left out, not blank.
    r.desk = Some(DeskCard {
        email: None,
        url: None,
        phone: None,
        hours: Some("  ".to_string()),
        ..desk()
    });
    let blocks = blocks_of(&r);
    assert_eq!(
        blocks[1],
        json!({ "type": "section", "text": mrkdwn("*HR Service Desk*".to_string()) })
    );
}

#[test]
fn user_and_catalogue_text_is_escaped() {
    let mut r = routed(Lang::En);
    r.intro = "Who knows about <script>& <!channel>?".to_string();
    r.specialists[1].name = "<script>&".to_string();
    r.specialists[1].email = "x>y@example.org".to_string();
    r.specialists[0].slack_user_id = Some("U1>|<!here>".to_string());
    r.knowledge[0].title = "<b>Tips & tricks</b>".to_string();
    r.knowledge[0].summary = "1 < 2 > 0".to_string();
    r.knowledge[1].url = "javascript:alert(1)".to_string();
    let blocks = blocks_of(&r);

    assert_eq!(
        text_of(&blocks[0]),
        "Who knows about &lt;script&gt;&amp; &lt;!channel&gt;?"
    );
    // A malformed Slack id is not used as a mention: the name is shown instead.
    assert!(text_of(&blocks[1]).starts_with("*Anna Jansen*"));
    let bram = text_of(&blocks[2]);
    assert!(bram.starts_with("*&lt;script&gt;&amp;*"), "{bram}");
    assert!(bram.contains("x&gt;y@example.org") && !bram.contains("x>y"));
    assert_eq!(
        text_of(&blocks[3]),
        "*<https://intranet.example.org/guide-1?a=1&amp;b=2|&lt;b&gt;Tips &amp; tricks&lt;/b&gt;>*\n1 &lt; 2 &gt; 0"
    );
    // Not a web link: shown as its title, not linked.
    assert_eq!(text_of(&blocks[4]), "*Guide 2*\nWhat guide 2 explains.");

    // Every mrkdwn text is escaped (plain_text, like the button's accessibility label, is
    // not parsed by Slack and stays as written).
    let mut texts = Vec::new();
    for b in &blocks {
        texts.extend(b["text"]["text"].as_str());
        for e in b["elements"].as_array().into_iter().flatten() {
            texts.extend(e["text"].as_str());
        }
        for f in b["fields"].as_array().into_iter().flatten() {
            texts.extend(f["text"].as_str());
        }
    }
    for text in texts {
        assert!(!text.contains("<script>") && !text.contains("<!"), "{text}");
    }
    assert_eq!(
        blocks[2]["accessory"]["accessibility_label"],
        "Contact <script>&"
    );
    assert_eq!(
        fallback_text(&r),
        "Who knows about &lt;script&gt;&amp; &lt;!channel&gt;?"
    );
}

#[test]
fn long_texts_are_truncated_with_an_ellipsis() {
    let mut r = routed(Lang::En);
    r.specialists[0].expertise = "spreadsheets ".repeat(400);
    r.intro = "x".repeat(10_000);
    r.knowledge[0].summary = "&".repeat(5_000);
    r.knowledge[0].title = "T".repeat(500);
    r.knowledge[1].url = format!("https://example.org/{}", "p".repeat(5_000));
    r.options = vec![IntentOption {
        intent: "i".to_string(),
        label: "Label ".repeat(40),
    }];
    r.specialists[1].id = "s".repeat(3_000);
    r.specialists[0].name = "Anna ".repeat(100);
    let blocks = blocks_of(&r);

    let intro = text_of(&blocks[0]);
    assert_eq!(utf16_len(intro), MAX_SECTION_TEXT);
    assert!(intro.ends_with('…'));

    let expertise = text_of(&blocks[1]).lines().nth(1).unwrap();
    assert!(utf16_len(expertise) <= MAX_EXPERTISE, "{}", expertise.len());
    assert!(expertise.len() > 150);
    assert!(
        expertise.ends_with("spreadsheets…"),
        "cut at a word: {expertise}"
    );

    // A value that cannot fit is left out instead of cut into invalid JSON.
    assert!(blocks[2].get("accessory").is_none());

    let guide = text_of(&blocks[3]);
    let summary = guide.lines().nth(1).unwrap();
    assert!(summary.ends_with("&amp;…"), "never inside an escape");
    assert!(utf16_len(summary) <= MAX_SUMMARY);
    assert!(guide.contains(&format!("|{}…>*", "T".repeat(MAX_TITLE - 1))));
    // Too long to link safely: the title alone.
    assert_eq!(text_of(&blocks[4]), "*Guide 2*\nWhat guide 2 explains.");

    let option = &blocks[5]["elements"][0];
    assert_eq!(option["action_id"], "choose_intent_0");
    assert!(option["text"]["text"].as_str().unwrap().ends_with("Label…"));
}

#[test]
fn many_parts_stay_within_fifty_blocks_and_keep_feedback() {
    let mut r = routed(Lang::En);
    r.knowledge = (0..60).map(knowledge).collect();
    r.desk = Some(desk());
    let blocks = blocks_of(&r);
    assert_eq!(blocks.len(), MAX_BLOCKS);

    // intro, 2 specialists, 44 knowledge items, note, desk, feedback
    assert_eq!(text_of(&blocks[0]), r.intro);
    assert_eq!(blocks[1]["accessory"]["action_id"], "handoff_0");
    assert_eq!(blocks[2]["accessory"]["action_id"], "handoff_1");
    assert!(text_of(&blocks[46]).contains("|Guide 43>"));
    assert_eq!(blocks[47]["type"], "context");
    assert_eq!(
        blocks[47]["elements"][0]["text"],
        "16 more referrals do not fit in this message."
    );
    assert_eq!(text_of(&blocks[48]), "*HR Service Desk*");
    assert_eq!(blocks[49]["elements"][0]["action_id"], "feedback_helpful");

    // Exactly full needs no note.
    r.knowledge.truncate(45);
    let blocks = blocks_of(&r);
    assert_eq!(blocks.len(), MAX_BLOCKS);
    assert!(blocks.iter().all(|b| b["type"] != "context"));
}

#[test]
fn labels_follow_the_reply_language() {
    let nl = blocks_of(&routed(Lang::Nl));
    assert_eq!(nl[1]["accessory"]["text"]["text"], "Neem contact op");
    assert_eq!(
        nl[1]["accessory"]["accessibility_label"],
        "Neem contact op met Anna Jansen"
    );
    assert!(text_of(&nl[2]).contains("_(alternatief)_"));
    assert_eq!(nl[5]["elements"][0]["text"]["text"], "👍 Nuttig");
    assert_eq!(nl[5]["elements"][1]["text"]["text"], "👎 Niet nuttig");

    let en = blocks_of(&routed(Lang::En));
    assert_eq!(en[1]["accessory"]["text"]["text"], "Contact");
    assert!(text_of(&en[2]).contains("_(alternative)_"));
    assert_eq!(en[5]["elements"][0]["text"]["text"], "👍 Helpful");
    assert_eq!(en[5]["elements"][1]["text"]["text"], "👎 Not helpful");

    let mut r = reply(Lang::Nl, ReplyKind::OutOfScope);
    r.desk = Some(desk());
    let fields = blocks_of(&r)[1]["fields"].clone();
    assert!(
        fields[1]["text"]
            .as_str()
            .unwrap()
            .starts_with("*Telefoon*")
    );
    assert!(
        fields[3]["text"]
            .as_str()
            .unwrap()
            .starts_with("*Bereikbaar*")
    );
}

#[test]
fn directory_matches_show_their_reason() {
    let mut r = reply(Lang::En, ReplyKind::Directory);
    r.intro = "These colleagues know about power bi:".to_string();
    let mut m = specialist(
        "anna",
        "Anna Jansen",
        Some("U0ANNA1"),
        SpecialistRole::Match,
    );
    m.reason = "expertise: power bi".to_string();
    let mut primary = specialist("bram", "Bram", Some("U0BRAM1"), SpecialistRole::Primary);
    primary.reason = "not shown for routed specialists".to_string();
    r.specialists = vec![m, primary];
    let blocks = blocks_of(&r);
    assert!(text_of(&blocks[1]).ends_with("\n_expertise: power bi_"));
    assert!(!text_of(&blocks[2]).contains("not shown"));
}

#[test]
fn empty_intro_is_left_out() {
    let mut r = routed(Lang::En);
    r.intro = "  ".to_string();
    let blocks = blocks_of(&r);
    assert_eq!(blocks[0]["accessory"]["action_id"], "handoff_0");
    assert_eq!(fallback_text(&r), "For Power BI, this is where to go:");
    r.text.clear();
    assert_eq!(fallback_text(&r), "Referral Desk");
}

#[test]
fn fallback_text_is_the_intro_cut_for_notifications() {
    let mut r = routed(Lang::Nl);
    r.intro = "Voor opleidingen kun je hier terecht:\nmeer".to_string();
    assert_eq!(fallback_text(&r), "Voor opleidingen kun je hier terecht:");
    r.intro = "woord ".repeat(100);
    let text = fallback_text(&r);
    assert!(utf16_len(&text) <= MAX_FALLBACK_TEXT);
    assert!(text.ends_with("woord…"));
}

#[test]
fn handoff_intro_mentions_the_asker_and_quotes_the_question() {
    assert_eq!(
        handoff_intro(Lang::Nl, "U0ASKER", "Hoe vraag ik budget aan?"),
        "<@U0ASKER> heeft een vraag voor je via het verwijsloket:\n> Hoe vraag ik budget aan?"
    );
    assert_eq!(
        handoff_intro(
            Lang::En,
            "U0ASKER",
            "Line one & <two>\n\n\n> not a nested quote\n"
        ),
        "<@U0ASKER> has a question for you via the referral desk:\n\
         > Line one &amp; &lt;two&gt;\n>\n> &gt; not a nested quote"
    );
    assert_eq!(
        handoff_intro(Lang::En, "<!channel>", "Hi"),
        "Someone has a question for you via the referral desk:\n> Hi"
    );
    assert_eq!(
        handoff_intro(Lang::Nl, "U1", "  "),
        "<@U1> heeft een vraag voor je via het verwijsloket."
    );
    let long = handoff_intro(Lang::En, "U1", &"a\n".repeat(5_000));
    assert!(utf16_len(&long) <= MAX_SECTION_TEXT);
    assert!(long.ends_with('…'));
    assert!(long.lines().skip(1).all(|l| l.starts_with('>') || l == "…"));
}

#[test]
fn fit_counts_like_slack_and_never_splits_escapes() {
    assert_eq!(fit("abc", 3, true), "abc");
    assert_eq!(fit("abcd", 3, true), "ab…");
    assert_eq!(fit("a&b", 5, true), "a…");
    assert_eq!(fit("a&b", 5, false), "a&b");
    assert_eq!(utf16_len("👍"), 2);
    assert_eq!(fit("👍👍👍", 5, false), "👍👍…");
    assert_eq!(fit("anything", 0, true), "");
}
