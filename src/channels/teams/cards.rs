//! Teams rendering of a [`Reply`]: the Adaptive Card (version 1.4, the highest Teams renders
//! for bots) and the plain texts around it, the welcome on install, and the message a
//! specialist receives when an asker passes their question on.
//!
//! Every text that an employee or HRD wrote goes through [`escape_markdown`] before it lands in
//! a `TextBlock` or a fact (the parts of a card that Teams renders as its markdown subset), so
//! a catalogue title like `*new*` or a question that starts with `1.` reads as typed instead
//! of turning into emphasis or a list, and `[text](url)` cannot forge a link. Long texts are
//! cut with "…", and a reply shows at most [`MAX_SPECIALISTS`] specialists and
//! [`MAX_KNOWLEDGE`] knowledge items, with a note saying how many more there are. Only `http`
//! and `https` URLs become buttons; anything else is shown as text.
//!
//! The card comes in two modes. A [`CardMode::Bot`] card (sent by the bot) has buttons that
//! post back; a [`CardMode::Webhook`] card (the answer to an outgoing webhook) has none,
//! because outgoing webhooks only allow `Action.OpenUrl`.
//!
//! The `Action.Submit` buttons of a bot card and their `data` (Teams delivers it as the
//! activity's `value`; [`parse_submit`] reads it back):
//!
//! | Button                      | `data`                                                             |
//! |-----------------------------|--------------------------------------------------------------------|
//! | "Pass my question on"       | `{"action":"handoff","conversation_id":42,"specialist":"<id>","q":"…"}` |
//! | a "did you mean" option     | `{"action":"choose","conversation_id":42,"intent":"<intent id>","q":"…"}` |
//! | 👍 / 👎                     | `{"action":"feedback","conversation_id":42,"helpful":true}`        |
//!
//! Buttons that post back are only shown for logged replies (`conversation_id` set); the
//! handoff button only for specialists with a Teams (AAD) object id, who can be messaged.
//! `q` is the asker's question (at most [`MAX_QUESTION`] characters), left out when unknown;
//! an option carries it on to the answer it gets, whose handoff buttons then pass on the
//! question as asked rather than the option's name.

use serde_json::{Value, json};

use crate::catalogue::Lang;
use crate::channels::present::{
    self, DeskFactKind, MAX_DESK_VALUE, MAX_EXPERTISE, MAX_FALLBACK_TEXT, MAX_NAME, MAX_REASON,
    MAX_TITLE, Presented, Room, ShownDesk, ShownKnowledge, ShownSpecialist, one_line,
};
use crate::phrases::{Labels, Phrases, Welcome};
use crate::routing::reply::Reply;

/// The `contentType` of an Adaptive Card attachment.
pub const CONTENT_TYPE: &str = "application/vnd.microsoft.card.adaptive";
/// The card schema named in every card.
pub const SCHEMA: &str = "http://adaptivecards.io/schemas/adaptive-card.json";
/// The Adaptive Cards version: 1.4 is the highest Teams renders for bot messages.
pub const VERSION: &str = "1.4";

/// `data.action` of the "Pass my question on" button.
pub const ACTION_HANDOFF: &str = "handoff";
/// `data.action` of a "did you mean" option.
pub const ACTION_CHOOSE: &str = "choose";
/// `data.action` of the 👍/👎 buttons.
pub const ACTION_FEEDBACK: &str = "feedback";

/// Specialists shown in one card; more would push the knowledge and the desk out of view.
pub const MAX_SPECIALISTS: usize = 6;
/// Knowledge items shown in one card.
pub const MAX_KNOWLEDGE: usize = 6;
/// The question carried in a handoff button and quoted to the specialist.
pub const MAX_QUESTION: usize = 1000;

const MAX_INTRO: usize = 1000;
const MAX_SUMMARY: usize = 600;
const MAX_TOPIC: usize = 200;
/// Teams cuts long button titles; names are cut so that "Chat with <name>" stays readable.
const MAX_ACTION_TITLE: usize = 60;
/// Teams shows a handful of buttons per set; "did you mean" offers two in practice.
const MAX_OPTIONS: usize = 6;
/// Longer URLs are shown as text rather than risked as a button.
const MAX_URL: usize = 2048;
/// An e-mail address (RFC 5321 path limit).
const MAX_EMAIL: usize = 254;

/// Who gets the card: the bot (buttons may post back) or an outgoing webhook's answer
/// (only `Action.OpenUrl` allowed).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CardMode {
    Bot,
    Webhook,
}

/// What the user clicked on a card, from an `Action.Submit`'s `value` (or the `action.data`
/// of an `adaptiveCard/action` invoke).
#[derive(Debug, Clone, PartialEq)]
pub enum CardAction {
    /// 👍 or 👎 on a reply.
    Feedback { conversation_id: i64, helpful: bool },
    /// A "did you mean" option; `question` as the asker typed it, when known.
    Choose {
        conversation_id: i64,
        intent: String,
        question: Option<String>,
    },
    /// "Pass my question on" to a specialist; `question` as the asker typed it, when known.
    Handoff {
        conversation_id: i64,
        specialist: String,
        question: Option<String>,
    },
}

/// The Adaptive Card for `reply`: the intro, one container per specialist (with a chat
/// button, and in bot mode a "Pass my question on" button), per knowledge item, the desk,
/// the "did you mean" options and, for logged replies in bot mode, 👍/👎.
///
/// `question` is the asker's question; it travels in the handoff buttons so that the
/// specialist gets it as asked.
pub fn reply_card(reply: &Reply, mode: CardMode, question: Option<&str>) -> Value {
    let shown = Presented::of(reply);
    let labels = shown.labels;
    // Buttons that post back need a bot to receive them and a logged conversation to refer to.
    let submit_id = match mode {
        CardMode::Bot => shown.conversation_id,
        CardMode::Webhook => None,
    };
    let question = question
        .map(str::trim)
        .filter(|q| !q.is_empty())
        .map(|q| cap(q, MAX_QUESTION));

    let mut body = Vec::new();
    let intro = multiline(shown.intro, MAX_INTRO);
    if !intro.is_empty() {
        body.push(text_block(intro));
    }

    let selection = shown.select(Room::Each {
        specialists: MAX_SPECIALISTS,
        knowledge: MAX_KNOWLEDGE,
    });
    for s in selection.specialists {
        body.push(specialist_container(
            s,
            labels,
            submit_id,
            question.as_deref(),
        ));
    }
    if selection.hidden_specialists > 0 {
        let more = Labels::more_specialists(shown.language, selection.hidden_specialists);
        body.push(subtle(more));
    }
    for k in selection.knowledge {
        body.push(knowledge_container(k, labels));
    }
    if selection.hidden_knowledge > 0 {
        let more = Labels::more_knowledge(shown.language, selection.hidden_knowledge);
        body.push(subtle(more));
    }

    if let Some(desk) = &shown.desk {
        body.push(desk_container(desk, labels));
    }
    body.extend(options(&shown, submit_id, question.as_deref()));

    // A card needs something to show, even for a reply that came back empty.
    if body.is_empty() {
        body.push(text_block(escape_markdown(&fallback_text(reply))));
    }

    let mut card = card(reply.language, body);
    if let Some(id) = submit_id {
        card["actions"] = json!([
            submit(labels.helpful, feedback_data(id, true)),
            submit(labels.not_helpful, feedback_data(id, false)),
        ]);
    }
    card
}

/// The attachment that carries `card` in an activity.
pub fn attachment(card: Value) -> Value {
    json!({ "contentType": CONTENT_TYPE, "content": card })
}

/// The activity's `text` next to the card: the first line of the intro, short enough for a
/// notification. Teams shows an activity's `text` together with its card, so the whole answer
/// ([`crate::routing::reply::render_text`], in `reply.text`) would appear twice. Plain text.
pub fn fallback_text(reply: &Reply) -> String {
    cap(present::headline(reply), MAX_FALLBACK_TEXT)
}

/// The welcome sent when the bot is installed, in `lang`: who the bot is, two example
/// questions, and what is logged. `retention_days` is how long the (redacted) question texts
/// are kept; `None` when no question texts are kept at all.
pub fn welcome_card(lang: Lang, retention_days: Option<u32>) -> Value {
    let w = Welcome::of(lang, retention_days);
    let mut body = vec![
        text_block(w.title.to_string())
            .with("size", "Medium")
            .with("weight", "Bolder"),
        text_block(w.what.to_string()),
        text_block(w.for_example.to_string()).with("spacing", "Medium"),
    ];
    for example in w.examples {
        body.push(text_block(format!("• {example}")).with("spacing", "Small"));
    }
    body.push(json!({
        "type": "Container",
        "separator": true,
        "spacing": "Medium",
        "items": [
            text_block(format!("**{}** {}", w.privacy, w.privacy_text))
                .with("isSubtle", true)
                .with("size", "Small"),
        ],
    }));
    card(lang, body)
}

/// The welcome as plain text (for the activity's `text` and clients without cards).
pub fn welcome_text(lang: Lang, retention_days: Option<u32>) -> String {
    let w = Welcome::of(lang, retention_days);
    let examples: Vec<String> = w.examples.iter().map(|e| format!("- {e}")).collect();
    format!(
        "{}\n\n{}\n\n{}\n{}\n\n{} {}",
        w.title,
        w.what,
        w.for_example,
        examples.join("\n"),
        w.privacy,
        w.privacy_text
    )
}

/// The message a specialist receives when an asker passes their question on: who asks, the
/// question quoted, the topic when known, and a button to chat with the asker (when their
/// e-mail address or UPN is known and usable in a link).
pub fn handoff_card(
    lang: Lang,
    asker_name: &str,
    asker_upn: Option<&str>,
    question: &str,
    topic: Option<&str>,
) -> Value {
    let labels = Labels::of(lang);
    let name = match one_line(asker_name) {
        n if n.is_empty() => labels.someone.to_string(),
        n => cap(&n, MAX_NAME),
    };
    let mut body = vec![text_block((labels.asked)(&format!(
        "**{}**",
        escape_markdown(&name)
    )))];
    let question = multiline(question, MAX_QUESTION);
    if !question.is_empty() {
        body.push(json!({
            "type": "Container",
            "style": "emphasis",
            "items": [text_block(question)],
        }));
    }
    if let Some(topic) = topic.map(one_line).filter(|t| !t.is_empty()) {
        body.push(json!({
            "type": "FactSet",
            "facts": [fact(labels.topic, escape_markdown(&cap(&topic, MAX_TOPIC)))],
        }));
    }
    body.push(text_block(labels.reply_in_teams.to_string()).with("spacing", "Medium"));

    let mut card = card(lang, body);
    if let Some(url) = asker_upn.and_then(chat_url) {
        card["actions"] = json!([open_url(&(labels.chat_with)(&name), &url)]);
    }
    card
}

/// Tells the asker that their question went to `specialist_name`. Plain text.
pub fn passed_on_text(lang: Lang, specialist_name: &str) -> String {
    Phrases::passed_on_in_teams(lang, &display_name(lang, specialist_name))
}

/// Tells the asker that `specialist_name` cannot be reached through the bot, and how to
/// reach them instead. Plain text.
pub fn not_on_teams_text(lang: Lang, specialist_name: &str, email: &str) -> String {
    Phrases::not_on_teams(lang, &display_name(lang, specialist_name), &one_line(email))
}

/// Thanks for a 👍/👎. Plain text.
pub fn feedback_thanks_text(lang: Lang) -> String {
    Phrases::feedback_thanks(lang).to_string()
}

/// What the user clicked, from the `value` of an `Action.Submit` (or the `action.data` of an
/// `adaptiveCard/action` invoke); `None` for anything this module did not build: an unknown
/// action, a missing or non-integer `conversation_id`, missing or mistyped fields.
pub fn parse_submit(value: &Value) -> Option<CardAction> {
    let data = value.as_object()?;
    let conversation_id = data.get("conversation_id")?.as_i64()?;
    let text = |key: &str| {
        data.get(key)
            .and_then(Value::as_str)
            .filter(|s| !s.trim().is_empty())
            .map(str::to_string)
    };
    // `q`: absent, null or a string; anything else is not a button of ours
    let question = || match data.get("q") {
        None | Some(Value::Null) => Some(None),
        Some(Value::String(q)) => Some((!q.trim().is_empty()).then(|| q.clone())),
        Some(_) => None,
    };
    match data.get("action")?.as_str()? {
        ACTION_FEEDBACK => Some(CardAction::Feedback {
            conversation_id,
            helpful: data.get("helpful")?.as_bool()?,
        }),
        ACTION_CHOOSE => Some(CardAction::Choose {
            conversation_id,
            intent: text("intent")?,
            question: question()?,
        }),
        ACTION_HANDOFF => {
            let question = question()?;
            Some(CardAction::Handoff {
                conversation_id,
                specialist: text("specialist")?,
                question,
            })
        }
        _ => None,
    }
}

/// `text` with the characters that the Adaptive Cards markdown subset would act on escaped,
/// so it renders as written: `\`, `*`, `_`, `[`, `]` and backticks anywhere, and a list,
/// heading, quote or rule marker at the start of a line (`- `, `+ `, `# `, `>`, `---`, `===`,
/// `1. `, `1) `).
/// Leading indentation is dropped (four spaces would start a code block).
pub fn escape_markdown(text: &str) -> String {
    text.split('\n')
        .map(|line| escape_line(line.trim_end_matches('\r')))
        .collect::<Vec<_>>()
        .join("\n")
}

fn escape_line(line: &str) -> String {
    let line = line.trim_start();
    let mut chars = line.chars();
    let first = chars.next();
    let second = chars.next();
    let ends_marker = |c: Option<char>| c.is_none_or(char::is_whitespace);
    let digits = line.chars().take_while(char::is_ascii_digit).count();
    // Only what would start a list, a heading, a quote or a rule: "-5%" and "+31" stay as
    // they are, so hosts that show a backslash literally show as few as possible.
    let marker = match first {
        Some('-') if ends_marker(second) || second == Some('-') => Some(0),
        Some('+') if ends_marker(second) => Some(0),
        Some('#') if ends_marker(second) || second == Some('#') => Some(0),
        Some('=') if ends_marker(second) || second == Some('=') => Some(0),
        Some('>') => Some(0),
        Some(c)
            if c.is_ascii_digit()
                && line[digits..].starts_with(['.', ')'])
                && ends_marker(line[digits + 1..].chars().next()) =>
        {
            Some(digits)
        }
        _ => None,
    };
    let mut out = String::with_capacity(line.len() + 4);
    for (at, c) in line.char_indices() {
        if Some(at) == marker || matches!(c, '\\' | '*' | '_' | '[' | ']' | '`') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

fn specialist_container(
    s: &ShownSpecialist,
    labels: &Labels,
    submit_id: Option<i64>,
    question: Option<&str>,
) -> Value {
    let mut items =
        vec![text_block(escape_markdown(&cap(&s.name, MAX_NAME))).with("weight", "Bolder")];

    let mut line = escape_markdown(&cap(&s.department, MAX_NAME));
    if s.alternative {
        if !line.is_empty() {
            line.push_str(" · ");
        }
        line.push_str(&format!("_({})_", labels.alternative));
    }
    if !line.is_empty() {
        items.push(text_block(line).with("spacing", "None"));
    }
    if let Some(reason) = &s.reason {
        items.push(
            text_block(escape_markdown(&cap(reason, MAX_REASON)))
                .with("spacing", "None")
                .with("isSubtle", true),
        );
    }
    if !s.expertise.is_empty() {
        items.push(
            text_block(escape_markdown(&cap(&s.expertise, MAX_EXPERTISE)))
                .with("spacing", "Small")
                .with("isSubtle", true),
        );
    }
    if let Some(email) = s.email.and_then(email_markdown) {
        items.push(text_block(email).with("spacing", "Small"));
    }

    let mut actions = Vec::new();
    if let Some(url) = web_url(&s.card.teams_chat_url) {
        actions.push(open_url(&(labels.chat_with)(&s.name), url));
    }
    let reachable = (s.card.teams_aad_object_id.as_deref()).is_some_and(|id| !id.trim().is_empty());
    if let Some(conversation_id) = submit_id
        && reachable
        && !s.card.id.trim().is_empty()
    {
        let mut data = json!({
            "action": ACTION_HANDOFF,
            "conversation_id": conversation_id,
            "specialist": s.card.id,
        });
        if let Some(q) = question {
            data["q"] = Value::String(q.to_string());
        }
        actions.push(submit(labels.pass_on, data));
    }
    if !actions.is_empty() {
        items.push(json!({ "type": "ActionSet", "actions": actions }));
    }
    container(items)
}

fn knowledge_container(k: &ShownKnowledge, labels: &Labels) -> Value {
    let mut items =
        vec![text_block(escape_markdown(&cap(&k.title, MAX_TITLE))).with("weight", "Bolder")];
    let summary = multiline(k.summary, MAX_SUMMARY);
    if !summary.is_empty() {
        items.push(text_block(summary).with("spacing", "Small"));
    }
    match web_url(k.url) {
        Some(url) => items.push(json!({
            "type": "ActionSet",
            "actions": [open_url(labels.open, url)],
        })),
        None => {
            let shown = one_line(k.url);
            if !shown.is_empty() {
                items.push(
                    text_block(escape_markdown(&cap(&shown, MAX_DESK_VALUE)))
                        .with("spacing", "Small")
                        .with("isSubtle", true),
                );
            }
        }
    }
    container(items)
}

/// The desk: its name, its ways in as facts, and a button to its website (a desk URL that is
/// not a web link is shown as a fact instead).
fn desk_container(d: &ShownDesk, labels: &Labels) -> Value {
    let mut facts = Vec::new();
    let mut website = None;
    for f in &d.facts {
        let value = match f.kind {
            DeskFactKind::Email => email_markdown(&f.value),
            // a web link is the button below the facts; anything else is shown as written
            DeskFactKind::Web => match web_url(&f.value) {
                Some(url) => {
                    website = Some(url);
                    None
                }
                None => Some(escape_markdown(&cap(&f.value, MAX_DESK_VALUE))),
            },
            DeskFactKind::Phone | DeskFactKind::Hours => {
                Some(escape_markdown(&cap(&f.value, MAX_DESK_VALUE)))
            }
        };
        facts.extend(value.map(|value| fact(f.label, value)));
    }
    let mut items =
        vec![text_block(escape_markdown(&cap(&d.name, MAX_NAME))).with("weight", "Bolder")];
    if !facts.is_empty() {
        items.push(json!({ "type": "FactSet", "facts": facts }));
    }
    if let Some(url) = website {
        items.push(json!({
            "type": "ActionSet",
            "actions": [open_url(labels.website, url)],
        }));
    }
    container(items)
}

/// The "did you mean" options: buttons when they can post back, a list otherwise.
fn options(shown: &Presented, submit_id: Option<i64>, question: Option<&str>) -> Vec<Value> {
    let options = &shown.options[..shown.options.len().min(MAX_OPTIONS)];
    if options.is_empty() {
        return Vec::new();
    }
    match submit_id {
        Some(conversation_id) => {
            let actions: Vec<Value> = options
                .iter()
                .map(|o| {
                    let mut data = json!({
                        "action": ACTION_CHOOSE,
                        "conversation_id": conversation_id,
                        "intent": o.intent,
                    });
                    if let Some(q) = question {
                        data["q"] = json!(q);
                    }
                    submit(&o.label, data)
                })
                .collect();
            vec![json!({ "type": "ActionSet", "spacing": "Medium", "actions": actions })]
        }
        None => options
            .iter()
            .map(|o| {
                text_block(format!("• {}", escape_markdown(&cap(&o.label, MAX_TITLE))))
                    .with("spacing", "Small")
            })
            .collect(),
    }
}

fn feedback_data(conversation_id: i64, helpful: bool) -> Value {
    json!({
        "action": ACTION_FEEDBACK,
        "conversation_id": conversation_id,
        "helpful": helpful,
    })
}

fn card(lang: Lang, body: Vec<Value>) -> Value {
    json!({
        "type": "AdaptiveCard",
        "$schema": SCHEMA,
        "version": VERSION,
        "lang": lang.code(),
        "body": body,
    })
}

/// Adds a property to a card element.
trait With {
    fn with(self, key: &str, value: impl Into<Value>) -> Self;
}

impl With for Value {
    fn with(mut self, key: &str, value: impl Into<Value>) -> Value {
        self[key] = value.into();
        self
    }
}

/// A wrapping `TextBlock`; `text` must already be markdown (escaped where it is not ours).
fn text_block(text: String) -> Value {
    json!({ "type": "TextBlock", "text": text, "wrap": true })
}

fn subtle(text: String) -> Value {
    text_block(text)
        .with("isSubtle", true)
        .with("size", "Small")
        .with("spacing", "Small")
}

fn container(items: Vec<Value>) -> Value {
    json!({ "type": "Container", "separator": true, "spacing": "Medium", "items": items })
}

fn fact(title: &str, value: String) -> Value {
    json!({ "title": title, "value": value })
}

/// A link button; `title` is plain text (button titles are not markdown).
fn open_url(title: &str, url: &str) -> Value {
    json!({
        "type": "Action.OpenUrl",
        "title": cap(&one_line(title), MAX_ACTION_TITLE),
        "url": url,
    })
}

fn submit(title: &str, data: Value) -> Value {
    json!({
        "type": "Action.Submit",
        "title": cap(&one_line(title), MAX_ACTION_TITLE),
        "data": data,
    })
}

/// `url` when it is an `http`/`https` URL that is safe to put in a button: no `javascript:`
/// from a mistyped catalogue, no spaces or control characters, not absurdly long.
fn web_url(url: &str) -> Option<&str> {
    let url = url.trim();
    let lower = url.get(..8).unwrap_or(url).to_ascii_lowercase();
    let rest = if lower.starts_with("https://") {
        &url[8..]
    } else if lower.starts_with("http://") {
        &url[7..]
    } else {
        return None;
    };
    let host_ok = rest
        .split(['/', '?', '#'])
        .next()
        .is_some_and(|host| !host.is_empty());
    let chars_ok = !url
        .chars()
        .any(|c| c.is_whitespace() || c.is_control() || matches!(c, '"' | '<' | '>' | '\\'));
    (host_ok && chars_ok && url.len() <= MAX_URL).then_some(url)
}

/// Whether `address` looks like an e-mail address that can go into a link as is.
fn linkable_email(address: &str) -> bool {
    let allowed =
        |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '%' | '+' | '-' | '\'');
    match address.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && address.len() <= MAX_EMAIL
                && local.chars().all(allowed)
                && domain
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-'))
        }
        None => false,
    }
}

/// An e-mail address as a markdown `mailto:` link, or as text when it cannot be linked;
/// `None` when there is no address.
fn email_markdown(address: &str) -> Option<String> {
    let address = address.trim();
    if address.is_empty() {
        None
    } else if linkable_email(address) {
        Some(format!("[{}](mailto:{address})", escape_markdown(address)))
    } else {
        Some(escape_markdown(&cap(&one_line(address), MAX_NAME)))
    }
}

/// The Teams deep link that opens a chat with `upn`, or `None` when it is not an address.
fn chat_url(upn: &str) -> Option<String> {
    let upn = upn.trim();
    if !linkable_email(upn) {
        return None;
    }
    let mut encoded = String::with_capacity(upn.len());
    for b in upn.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'@' | b'.' | b'_' | b'-' | b'~') {
            encoded.push(char::from(b));
        } else {
            encoded.push_str(&format!("%{b:02X}"));
        }
    }
    Some(format!(
        "https://teams.microsoft.com/l/chat/0/0?users={encoded}"
    ))
}

fn display_name(lang: Lang, name: &str) -> String {
    match one_line(name) {
        n if n.is_empty() => Labels::of(lang).the_specialist.to_string(),
        n => cap(&n, MAX_NAME),
    }
}

/// A text that may have several lines, cut to `max` characters and escaped; each line becomes
/// a paragraph (a single line break is not reliably shown in a `TextBlock`).
fn multiline(text: &str, max: usize) -> String {
    cap(text.trim(), max)
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .map(escape_markdown)
        .collect::<Vec<_>>()
        .join("\n\n")
}

/// `text` cut to at most `max` characters (not bytes), ending in "…" when cut
/// ([`present::cut`]); escaping is separate ([`escape_markdown`]).
fn cap(text: &str, max: usize) -> String {
    present::cut(text, max, |_| 1, present::no_escape)
}

#[cfg(test)]
mod tests;
