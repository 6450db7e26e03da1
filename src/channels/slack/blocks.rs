//! Slack rendering of a [`Reply`]: the Block Kit `blocks` and the notification `text` for
//! `chat.postMessage`, and the message that introduces an asker to a specialist after they
//! click "Contact".
//!
//! Slack rejects a whole message (`invalid_blocks`) when one field breaks a Block Kit limit,
//! and the catalogue and the asker's words can be any length. So this module never relies on
//! the input being short: every text is cut to its limit with "…", a reply with too many
//! parts drops the surplus with a note instead of exceeding 50 blocks, and a button whose
//! value would not fit is left out rather than sent with a broken value.
//!
//! Every text that an employee or HRD wrote is escaped (`&`, `<`, `>`, the only characters
//! Slack decodes), and every `mrkdwn` text object is `verbatim`, so a question like "who
//! knows about @channel" cannot ping a channel and a catalogue text cannot forge a link or a
//! mention. Only ids that look like Slack ids become `<@…>` mentions.
//!
//! The interactive elements, for the interactivity handler (`n` is the index in the reply's
//! list, so each `action_id` is unique within the message; values are compact JSON):
//!
//! | `action_id`             | value                                                   |
//! |-------------------------|---------------------------------------------------------|
//! | `handoff_<n>`           | `{"conversation_id": 42, "specialist": "<id>"}`         |
//! | `choose_intent_<n>`     | `{"conversation_id": 42, "intent": "<intent id>"}`      |
//! | `feedback_helpful`      | `{"conversation_id": 42, "helpful": true}`              |
//! | `feedback_not_helpful`  | `{"conversation_id": 42, "helpful": false}`             |
//!
//! `conversation_id` is `null` in handoff and option values when the reply was not logged;
//! feedback buttons are only shown for logged replies. Knowledge items are plain links.

use serde_json::{Value, json};

use crate::catalogue::Lang;
use crate::channels::present::{
    self, MAX_DESK_VALUE, MAX_EXPERTISE, MAX_FALLBACK_TEXT, MAX_NAME, MAX_REASON, MAX_TITLE,
    one_line,
};
use crate::phrases::Labels;
use crate::routing::reply::{DeskCard, KnowledgeLink, Reply, SpecialistCard, SpecialistRole};

/// Prefix of the "Contact" buttons' `action_id` (`handoff_0`, `handoff_1`, …): Slack wants
/// action ids unique, so the specialist travels in the value, not in the id.
pub const ACTION_HANDOFF: &str = "handoff";
/// Prefix of the "did you mean" buttons' `action_id` (`choose_intent_0`, …).
pub const ACTION_CHOOSE_INTENT: &str = "choose_intent";
/// `action_id` of the "helpful" feedback button.
pub const ACTION_FEEDBACK_HELPFUL: &str = "feedback_helpful";
/// `action_id` of the "not helpful" feedback button.
pub const ACTION_FEEDBACK_NOT_HELPFUL: &str = "feedback_not_helpful";

/// Block Kit: at most 50 blocks per message.
const MAX_BLOCKS: usize = 50;
/// Block Kit: a section's text is at most 3000 characters.
const MAX_SECTION_TEXT: usize = 3000;
/// Block Kit: a section field is at most 2000 characters.
const MAX_FIELD_TEXT: usize = 2000;
/// Block Kit: a button's text is at most 75 characters.
const MAX_BUTTON_TEXT: usize = 75;
/// Block Kit: a button's value is at most 2000 characters.
const MAX_BUTTON_VALUE: usize = 2000;
/// Block Kit: an actions block holds at most 25 elements.
const MAX_ACTIONS_ELEMENTS: usize = 25;

const MAX_SUMMARY: usize = 1200;
/// Longer URLs are not linked. Together with the caps above this keeps every section below
/// [`MAX_SECTION_TEXT`] without cutting a link in half.
const MAX_URL: usize = 1000;
/// The quoted question in a handoff message; leaves room for the intro line and the `> `
/// quote markers within one section's limit.
const MAX_QUESTION: usize = 2500;

/// The fixed words of the Slack messages in the reply's language.
/// The `blocks` array of `chat.postMessage` for `reply`: the intro, one section per
/// specialist (with a "Contact" button) and per knowledge item, the desk, the "did you mean"
/// buttons and, for logged replies, the feedback buttons. Always within Slack's limits.
pub fn reply_blocks(reply: &Reply) -> Value {
    let labels = Labels::of(reply.language);
    let conversation_id = reply.conversation_id;

    let intro = (!reply.intro.trim().is_empty())
        .then(|| section(fit(reply.intro.trim(), MAX_SECTION_TEXT, true)));
    let desk = reply.desk.as_ref().and_then(|d| desk_block(d, labels));
    let options = options_block(reply);
    let feedback = conversation_id.map(|id| feedback_block(id, labels));

    // Specialists and knowledge share what the fixed blocks leave; the feedback buttons at
    // the end must survive, so the list is what gets cut, with a note saying so.
    let fixed = [
        intro.is_some(),
        desk.is_some(),
        options.is_some(),
        feedback.is_some(),
    ]
    .into_iter()
    .filter(|&present| present)
    .count();
    let parts = reply.specialists.len() + reply.knowledge.len();
    let mut room = MAX_BLOCKS - fixed;
    let hidden = if parts > room {
        room -= 1;
        parts - room
    } else {
        0
    };
    let shown_specialists = reply.specialists.len().min(room);
    let shown_knowledge = reply.knowledge.len().min(room - shown_specialists);

    let mut blocks = Vec::with_capacity(MAX_BLOCKS);
    blocks.extend(intro);
    for (n, s) in reply.specialists.iter().take(shown_specialists).enumerate() {
        blocks.push(specialist_block(n, s, conversation_id, labels));
    }
    for k in reply.knowledge.iter().take(shown_knowledge) {
        blocks.push(knowledge_block(k));
    }
    if hidden > 0 {
        blocks.push(json!({
            "type": "context",
            "elements": [mrkdwn(Labels::more_not_shown(reply.language, hidden))],
        }));
    }
    blocks.extend(desk);
    blocks.extend(options);
    blocks.extend(feedback);
    Value::Array(blocks)
}

/// The message's top-level `text`: what notifications and screen readers show instead of the
/// blocks. The intro says what the answer is about, so that is what is sent, escaped like any
/// other `mrkdwn` text and short enough for a notification.
pub fn fallback_text(reply: &Reply) -> String {
    fit(present::headline(reply), MAX_FALLBACK_TEXT, true)
}

/// The first message in the group DM that a "Contact" click opens between the asker, the
/// specialist and the bot: who asks, then the question quoted. The question is the asker's
/// own text, so it is escaped and each line is quoted separately (a `>` typed by the asker
/// stays text instead of nesting quotes).
pub fn handoff_intro(lang: Lang, asker_user_id: &str, question: &str) -> String {
    let who = match slack_id(asker_user_id) {
        Some(id) => format!("<@{id}>"),
        None => Labels::of(lang).someone.to_string(),
    };
    let head = match lang {
        Lang::Nl => format!("{who} heeft een vraag voor je via het verwijsloket"),
        Lang::En => format!("{who} has a question for you via the referral desk"),
    };
    let question = fit(question.trim(), MAX_QUESTION, true);
    if question.is_empty() {
        return format!("{head}.");
    }
    let mut lines = vec![format!("{head}:")];
    let mut previous_blank = false;
    for line in question.lines().map(str::trim_end) {
        // Runs of empty lines only stretch the quote.
        if line.is_empty() && previous_blank {
            continue;
        }
        previous_blank = line.is_empty();
        lines.push(if line.is_empty() {
            ">".to_string()
        } else {
            format!("> {line}")
        });
    }
    clamp_lines(&lines.join("\n"), MAX_SECTION_TEXT)
}

fn specialist_block(
    n: usize,
    s: &SpecialistCard,
    conversation_id: Option<i64>,
    labels: &Labels,
) -> Value {
    let name = match one_line(&s.name) {
        n if n.is_empty() => s.id.trim().to_string(),
        n => n,
    };
    let mention = s.slack_user_id.as_deref().and_then(slack_id);
    let mut head = match mention {
        Some(id) => format!("*<@{id}>*"),
        None => format!("*{}*", fit(&name, MAX_NAME, true)),
    };
    let department = one_line(&s.department);
    if !department.is_empty() {
        head.push_str(" · ");
        head.push_str(&fit(&department, MAX_NAME, true));
    }
    if s.role == SpecialistRole::Alternative {
        head.push_str(&format!(" _({})_", labels.alternative));
    }
    let mut lines = vec![head];
    let expertise = one_line(&s.expertise);
    if !expertise.is_empty() {
        lines.push(fit(&expertise, MAX_EXPERTISE, true));
    }
    let reason = one_line(&s.reason);
    if s.role == SpecialistRole::Match && !reason.is_empty() {
        lines.push(format!("_{}_", fit(&reason, MAX_REASON, true)));
    }
    // Without a Slack id there is nobody to mention, so the e-mail address is the way in.
    if mention.is_none() && !s.email.trim().is_empty() {
        lines.push(email(&s.email));
    }

    let mut block = section(clamp_lines(&lines.join("\n"), MAX_SECTION_TEXT));
    let value = json!({ "conversation_id": conversation_id, "specialist": s.id });
    if let Some(mut button) = button(labels.contact, format!("{ACTION_HANDOFF}_{n}"), &value) {
        // Several "Contact" buttons in one message sound alike to a screen reader; the
        // label says whom each one contacts.
        let label = (labels.contact_person)(&name);
        button["accessibility_label"] = Value::String(fit(&label, MAX_BUTTON_TEXT, false));
        block["accessory"] = button;
    }
    block
}

fn knowledge_block(k: &KnowledgeLink) -> Value {
    let title = match one_line(&k.title) {
        t if t.is_empty() => k.url.trim().to_string(),
        t => t,
    };
    let head =
        link(&k.url, &title, MAX_TITLE).unwrap_or_else(|| fit(&one_line(&title), MAX_TITLE, true));
    let mut text = format!("*{head}*");
    let summary = k.summary.trim();
    if !summary.is_empty() {
        text.push('\n');
        text.push_str(&fit(summary, MAX_SUMMARY, true));
    }
    section(clamp_lines(&text, MAX_SECTION_TEXT))
}

/// The trimmed text, or `None` when there is none.
fn present(value: &Option<String>) -> Option<&str> {
    value.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

/// The desk as a section: its name, and its ways in as fields (Slack lays them out in two
/// columns, and each field has its own size limit).
fn desk_block(d: &DeskCard, labels: &Labels) -> Option<Value> {
    let mut fields = Vec::new();
    if let Some(e) = present(&d.email) {
        fields.push((labels.email, email(e)));
    }
    if let Some(p) = present(&d.phone) {
        fields.push((labels.phone, fit(&one_line(p), MAX_DESK_VALUE, true)));
    }
    if let Some(u) = present(&d.url) {
        let shown = link(u, u, MAX_DESK_VALUE).unwrap_or_else(|| fit(u, MAX_DESK_VALUE, true));
        fields.push((labels.web, shown));
    }
    if let Some(h) = present(&d.hours) {
        fields.push((labels.hours, fit(h, MAX_DESK_VALUE, true)));
    }
    let name = one_line(&d.name);
    if name.is_empty() && fields.is_empty() {
        return None;
    }
    let mut block = json!({ "type": "section" });
    if !name.is_empty() {
        block["text"] = mrkdwn(format!("*{}*", fit(&name, MAX_NAME, true)));
    }
    if !fields.is_empty() {
        let fields = fields
            .into_iter()
            .map(|(label, value)| {
                mrkdwn(clamp_lines(&format!("*{label}*\n{value}"), MAX_FIELD_TEXT))
            })
            .collect();
        block["fields"] = Value::Array(fields);
    }
    Some(block)
}

/// The "did you mean" buttons: one per option, labelled with the intent's name.
fn options_block(reply: &Reply) -> Option<Value> {
    let elements: Vec<Value> = reply
        .options
        .iter()
        .enumerate()
        .filter_map(|(n, o)| {
            let label = match one_line(&o.label) {
                l if l.is_empty() => o.intent.trim().to_string(),
                l => l,
            };
            let value = json!({ "conversation_id": reply.conversation_id, "intent": o.intent });
            button(&label, format!("{ACTION_CHOOSE_INTENT}_{n}"), &value)
        })
        .take(MAX_ACTIONS_ELEMENTS)
        .collect();
    (!elements.is_empty()).then(|| json!({ "type": "actions", "elements": elements }))
}

fn feedback_block(conversation_id: i64, labels: &Labels) -> Value {
    let elements: Vec<Value> = [
        (labels.helpful, ACTION_FEEDBACK_HELPFUL, true),
        (labels.not_helpful, ACTION_FEEDBACK_NOT_HELPFUL, false),
    ]
    .into_iter()
    .filter_map(|(text, action_id, helpful)| {
        let value = json!({ "conversation_id": conversation_id, "helpful": helpful });
        button(text, action_id.to_string(), &value)
    })
    .collect();
    json!({ "type": "actions", "elements": elements })
}

fn section(text: String) -> Value {
    json!({ "type": "section", "text": mrkdwn(text) })
}

/// A `mrkdwn` text object. `verbatim` stops Slack from turning plain words into mentions or
/// channel links; the explicit `<…>` links and mentions built here still work.
fn mrkdwn(text: String) -> Value {
    json!({ "type": "mrkdwn", "text": text, "verbatim": true })
}

/// A button, or `None` when its value would exceed Slack's limit (a cut value would not
/// parse, and a rejected value would fail the whole message) or it would have no text.
fn button(text: &str, action_id: String, value: &Value) -> Option<Value> {
    let value = value.to_string();
    let text = fit(text.trim(), MAX_BUTTON_TEXT, false);
    if text.is_empty() || utf16_len(&value) > MAX_BUTTON_VALUE {
        return None;
    }
    Some(json!({
        "type": "button",
        "text": { "type": "plain_text", "text": text, "emoji": true },
        "action_id": action_id,
        "value": value,
    }))
}

/// `id` if it looks like a Slack user id (`U…`/`W…`, letters and digits): anything else in a
/// `<@…>` could close the mention and inject formatting.
fn slack_id(id: &str) -> Option<&str> {
    let id = id.trim();
    (!id.is_empty() && id.len() <= 32 && id.chars().all(|c| c.is_ascii_alphanumeric()))
        .then_some(id)
}

/// A `<url|label>` link, or `None` for URLs that are not web or mail links (no `javascript:`
/// from a mistyped catalogue) or too long to link safely.
fn link(url: &str, label: &str, max_label: usize) -> Option<String> {
    let url = url.trim();
    let lower = url.to_ascii_lowercase();
    let scheme_ok = ["https://", "http://", "mailto:"]
        .iter()
        .any(|scheme| lower.starts_with(scheme) && lower.len() > scheme.len());
    if !scheme_ok || url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return None;
    }
    let mut encoded = String::with_capacity(url.len());
    for c in url.chars() {
        match c {
            '&' => encoded.push_str("&amp;"),
            '<' => encoded.push_str("%3C"),
            '>' => encoded.push_str("%3E"),
            '|' => encoded.push_str("%7C"),
            c => encoded.push(c),
        }
    }
    if utf16_len(&encoded) > MAX_URL {
        return None;
    }
    Some(format!(
        "<{encoded}|{}>",
        fit(&one_line(label), max_label, true)
    ))
}

/// An e-mail address as a `mailto:` link, or as text when it cannot be linked.
fn email(address: &str) -> String {
    let address = address.trim();
    link(&format!("mailto:{address}"), address, MAX_NAME)
        .unwrap_or_else(|| fit(address, MAX_NAME, true))
}

/// Length as Slack counts it. Slack's limits are in characters, but emoji and other text
/// outside the Basic Multilingual Plane may count double (UTF-16), so count the stricter way.
fn utf16_len(text: &str) -> usize {
    text.chars().map(char::len_utf16).sum()
}

/// `text` escaped for `mrkdwn` (when `escape`) and cut to at most `max` characters as Slack
/// counts them (UTF-16), ending in "…" when cut ([`present::cut`]).
fn fit(text: &str, max: usize, escape: bool) -> String {
    if escape {
        present::cut(text, max, char::len_utf16, mrkdwn_entity)
    } else {
        present::cut(text, max, char::len_utf16, present::no_escape)
    }
}

/// The characters `mrkdwn` reads as markup.
fn mrkdwn_entity(c: char) -> Option<&'static str> {
    match c {
        '&' => Some("&amp;"),
        '<' => Some("&lt;"),
        '>' => Some("&gt;"),
        _ => None,
    }
}

/// Whole lines of an already formatted text, as many as fit in `max` characters, with "…"
/// when some were dropped: cutting inside a line could break a link or a mention.
fn clamp_lines(text: &str, max: usize) -> String {
    if utf16_len(text) <= max {
        return text.to_string();
    }
    let mut out = String::new();
    let mut used = 0;
    for line in text.lines() {
        let len = utf16_len(line) + usize::from(!out.is_empty());
        if used + len + 2 > max {
            break;
        }
        if !out.is_empty() {
            out.push('\n');
        }
        out.push_str(line);
        used += len;
    }
    if !out.is_empty() {
        out.push('\n');
    }
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use crate::routing::reply::fixtures::{self, desk, knowledge, reply};
    use std::collections::HashSet;

    use super::*;
    use crate::routing::reply::{IntentOption, ReplyKind};

    fn specialist(
        id: &str,
        name: &str,
        slack: Option<&str>,
        role: SpecialistRole,
    ) -> SpecialistCard {
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
}
