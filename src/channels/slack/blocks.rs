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
    self, DeskFactKind, MAX_DESK_VALUE, MAX_EXPERTISE, MAX_FALLBACK_TEXT, MAX_NAME, MAX_REASON,
    MAX_TITLE, Presented, Room, ShownDesk, ShownKnowledge, ShownSpecialist, one_line,
};
use crate::phrases::Labels;
use crate::routing::reply::Reply;

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

/// The `blocks` array of `chat.postMessage` for `reply`: the intro, one section per
/// specialist (with a "Contact" button) and per knowledge item, the desk, the "did you mean"
/// buttons and, for logged replies, the feedback buttons. Always within Slack's limits.
pub fn reply_blocks(reply: &Reply) -> Value {
    let shown = Presented::of(reply);
    let intro =
        (!shown.intro.is_empty()).then(|| section(fit(shown.intro, MAX_SECTION_TEXT, true)));
    let desk = shown.desk.as_ref().map(desk_block);
    let options = options_block(&shown);
    let feedback = shown
        .conversation_id
        .map(|id| feedback_block(id, shown.labels));

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
    let selection = shown.select(Room::Shared(MAX_BLOCKS - fixed));

    let mut blocks = Vec::with_capacity(MAX_BLOCKS);
    blocks.extend(intro);
    for s in selection.specialists {
        blocks.push(specialist_block(s, shown.conversation_id, shown.labels));
    }
    for k in selection.knowledge {
        blocks.push(knowledge_block(k));
    }
    if selection.hidden() > 0 {
        blocks.push(json!({
            "type": "context",
            "elements": [mrkdwn(Labels::more_not_shown(shown.language, selection.hidden()))],
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

fn specialist_block(s: &ShownSpecialist, conversation_id: Option<i64>, labels: &Labels) -> Value {
    let mention = s.card.slack_user_id.as_deref().and_then(slack_id);
    let mut head = match mention {
        Some(id) => format!("*<@{id}>*"),
        None => format!("*{}*", fit(&s.name, MAX_NAME, true)),
    };
    if !s.department.is_empty() {
        head.push_str(" · ");
        head.push_str(&fit(&s.department, MAX_NAME, true));
    }
    if s.alternative {
        head.push_str(&format!(" _({})_", labels.alternative));
    }
    let mut lines = vec![head];
    if !s.expertise.is_empty() {
        lines.push(fit(&s.expertise, MAX_EXPERTISE, true));
    }
    if let Some(reason) = &s.reason {
        lines.push(format!("_{}_", fit(reason, MAX_REASON, true)));
    }
    // Without a Slack id there is nobody to mention, so the e-mail address is the way in.
    if mention.is_none()
        && let Some(address) = s.email
    {
        lines.push(email(address));
    }

    let mut block = section(clamp_lines(&lines.join("\n"), MAX_SECTION_TEXT));
    let value = json!({ "conversation_id": conversation_id, "specialist": s.card.id });
    let action_id = format!("{ACTION_HANDOFF}_{}", s.index);
    if let Some(mut button) = button(labels.contact, action_id, &value) {
        // Several "Contact" buttons in one message sound alike to a screen reader; the
        // label says whom each one contacts.
        let label = (labels.contact_person)(&s.name);
        button["accessibility_label"] = Value::String(fit(&label, MAX_BUTTON_TEXT, false));
        block["accessory"] = button;
    }
    block
}

fn knowledge_block(k: &ShownKnowledge) -> Value {
    let head = link(k.url, &k.title, MAX_TITLE).unwrap_or_else(|| fit(&k.title, MAX_TITLE, true));
    let mut text = format!("*{head}*");
    if !k.summary.is_empty() {
        text.push('\n');
        text.push_str(&fit(k.summary, MAX_SUMMARY, true));
    }
    section(clamp_lines(&text, MAX_SECTION_TEXT))
}

/// The desk as a section: its name, and its ways in as fields (Slack lays them out in two
/// columns, and each field has its own size limit).
fn desk_block(d: &ShownDesk) -> Value {
    let fields: Vec<Value> = (d.facts.iter())
        .map(|fact| {
            let value = &fact.value;
            let shown = match fact.kind {
                DeskFactKind::Email => email(value),
                DeskFactKind::Web => link(value, value, MAX_DESK_VALUE)
                    .unwrap_or_else(|| fit(value, MAX_DESK_VALUE, true)),
                DeskFactKind::Phone | DeskFactKind::Hours => fit(value, MAX_DESK_VALUE, true),
            };
            let text = format!("*{}*\n{shown}", fact.label);
            mrkdwn(clamp_lines(&text, MAX_FIELD_TEXT))
        })
        .collect();
    let mut block = section(format!("*{}*", fit(&d.name, MAX_NAME, true)));
    if !fields.is_empty() {
        block["fields"] = Value::Array(fields);
    }
    block
}

/// The "did you mean" buttons: one per option, labelled with the intent's name.
fn options_block(shown: &Presented) -> Option<Value> {
    let elements: Vec<Value> = (shown.options.iter())
        .filter_map(|o| {
            let value = json!({ "conversation_id": shown.conversation_id, "intent": o.intent });
            button(
                &o.label,
                format!("{ACTION_CHOOSE_INTENT}_{}", o.index),
                &value,
            )
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
mod tests;
