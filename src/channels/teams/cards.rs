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
    self, MAX_DESK_VALUE, MAX_EXPERTISE, MAX_FALLBACK_TEXT, MAX_NAME, MAX_REASON, MAX_TITLE,
    one_line,
};
use crate::phrases::{Labels, Phrases, Welcome};
use crate::routing::reply::{DeskCard, KnowledgeLink, Reply, SpecialistCard, SpecialistRole};

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
    let labels = Labels::of(reply.language);
    // Buttons that post back need a bot to receive them and a logged conversation to refer to.
    let submit_id = match mode {
        CardMode::Bot => reply.conversation_id,
        CardMode::Webhook => None,
    };
    let question = question
        .map(str::trim)
        .filter(|q| !q.is_empty())
        .map(|q| cap(q, MAX_QUESTION));

    let mut body = Vec::new();
    let intro = multiline(&reply.intro, MAX_INTRO);
    if !intro.is_empty() {
        body.push(text_block(intro));
    }

    for s in reply.specialists.iter().take(MAX_SPECIALISTS) {
        body.push(specialist_container(
            s,
            labels,
            submit_id,
            question.as_deref(),
        ));
    }
    if reply.specialists.len() > MAX_SPECIALISTS {
        let hidden = reply.specialists.len() - MAX_SPECIALISTS;
        body.push(subtle(Labels::more_specialists(reply.language, hidden)));
    }

    for k in reply.knowledge.iter().take(MAX_KNOWLEDGE) {
        body.push(knowledge_container(k, labels));
    }
    if reply.knowledge.len() > MAX_KNOWLEDGE {
        let hidden = reply.knowledge.len() - MAX_KNOWLEDGE;
        body.push(subtle(Labels::more_knowledge(reply.language, hidden)));
    }

    if let Some(desk) = reply.desk.as_ref().and_then(|d| desk_container(d, labels)) {
        body.push(desk);
    }
    body.extend(options(reply, submit_id, question.as_deref()));

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
    s: &SpecialistCard,
    labels: &Labels,
    submit_id: Option<i64>,
    question: Option<&str>,
) -> Value {
    let name = match one_line(&s.name) {
        n if n.is_empty() => match one_line(&s.id) {
            id if id.is_empty() => labels.colleague.to_string(),
            id => id,
        },
        n => n,
    };
    let mut items =
        vec![text_block(escape_markdown(&cap(&name, MAX_NAME))).with("weight", "Bolder")];

    let mut line = escape_markdown(&cap(&one_line(&s.department), MAX_NAME));
    if s.role == SpecialistRole::Alternative {
        if !line.is_empty() {
            line.push_str(" · ");
        }
        line.push_str(&format!("_({})_", labels.alternative));
    }
    if !line.is_empty() {
        items.push(text_block(line).with("spacing", "None"));
    }
    let reason = one_line(&s.reason);
    if s.role == SpecialistRole::Match && !reason.is_empty() {
        items.push(
            text_block(escape_markdown(&cap(&reason, MAX_REASON)))
                .with("spacing", "None")
                .with("isSubtle", true),
        );
    }
    let expertise = one_line(&s.expertise);
    if !expertise.is_empty() {
        items.push(
            text_block(escape_markdown(&cap(&expertise, MAX_EXPERTISE)))
                .with("spacing", "Small")
                .with("isSubtle", true),
        );
    }
    if let Some(email) = email_markdown(&s.email) {
        items.push(text_block(email).with("spacing", "Small"));
    }

    let mut actions = Vec::new();
    if let Some(url) = web_url(&s.teams_chat_url) {
        actions.push(open_url(&(labels.chat_with)(&name), url));
    }
    let reachable = s
        .teams_aad_object_id
        .as_deref()
        .is_some_and(|id| !id.trim().is_empty());
    if let Some(conversation_id) = submit_id
        && reachable
        && !s.id.trim().is_empty()
    {
        let mut data = json!({
            "action": ACTION_HANDOFF,
            "conversation_id": conversation_id,
            "specialist": s.id,
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

fn knowledge_container(k: &KnowledgeLink, labels: &Labels) -> Value {
    let url = web_url(&k.url);
    let title = [k.title.as_str(), k.id.as_str()]
        .into_iter()
        .map(one_line)
        .find(|t| !t.is_empty())
        .unwrap_or_else(|| labels.open.to_string());
    let mut items =
        vec![text_block(escape_markdown(&cap(&title, MAX_TITLE))).with("weight", "Bolder")];
    let summary = multiline(&k.summary, MAX_SUMMARY);
    if !summary.is_empty() {
        items.push(text_block(summary).with("spacing", "Small"));
    }
    match url {
        Some(url) => items.push(json!({
            "type": "ActionSet",
            "actions": [open_url(labels.open, url)],
        })),
        None => {
            let shown = one_line(&k.url);
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

/// The desk: its name, its ways in as facts, and a button to its website. `None` when the
/// desk has nothing to show.
fn desk_container(d: &DeskCard, labels: &Labels) -> Option<Value> {
    let present = |v: &Option<String>| v.as_deref().map(one_line).filter(|v| !v.is_empty());
    let mut facts = Vec::new();
    if let Some(e) = present(&d.email) {
        let value = email_markdown(&e).unwrap_or_else(|| escape_markdown(&cap(&e, MAX_NAME)));
        facts.push(fact(labels.email, value));
    }
    if let Some(p) = present(&d.phone) {
        facts.push(fact(
            labels.phone,
            escape_markdown(&cap(&p, MAX_DESK_VALUE)),
        ));
    }
    if let Some(h) = present(&d.hours) {
        facts.push(fact(
            labels.hours,
            escape_markdown(&cap(&h, MAX_DESK_VALUE)),
        ));
    }
    let url = d.url.as_deref().and_then(web_url);
    if url.is_none()
        && let Some(u) = present(&d.url)
    {
        facts.push(fact(labels.web, escape_markdown(&cap(&u, MAX_DESK_VALUE))));
    }

    let name = one_line(&d.name);
    if name.is_empty() && facts.is_empty() && url.is_none() {
        return None;
    }
    let name = if name.is_empty() {
        labels.desk_name.to_string()
    } else {
        name
    };
    let mut items =
        vec![text_block(escape_markdown(&cap(&name, MAX_NAME))).with("weight", "Bolder")];
    if !facts.is_empty() {
        items.push(json!({ "type": "FactSet", "facts": facts }));
    }
    if let Some(url) = url {
        items.push(json!({
            "type": "ActionSet",
            "actions": [open_url(labels.website, url)],
        }));
    }
    Some(container(items))
}

/// The "did you mean" options: buttons when they can post back, a list otherwise.
fn options(reply: &Reply, submit_id: Option<i64>, question: Option<&str>) -> Vec<Value> {
    let options: Vec<(String, &str)> = reply
        .options
        .iter()
        .filter(|o| !o.intent.trim().is_empty())
        .map(|o| {
            let label = match one_line(&o.label) {
                l if l.is_empty() => one_line(&o.intent),
                l => l,
            };
            (label, o.intent.as_str())
        })
        .take(MAX_OPTIONS)
        .collect();
    if options.is_empty() {
        return Vec::new();
    }
    match submit_id {
        Some(conversation_id) => {
            let actions: Vec<Value> = options
                .iter()
                .map(|(label, intent)| {
                    let mut data = json!({
                        "action": ACTION_CHOOSE,
                        "conversation_id": conversation_id,
                        "intent": intent,
                    });
                    if let Some(q) = question {
                        data["q"] = json!(q);
                    }
                    submit(label, data)
                })
                .collect();
            vec![json!({ "type": "ActionSet", "spacing": "Medium", "actions": actions })]
        }
        None => options
            .iter()
            .map(|(label, _)| {
                text_block(format!("• {}", escape_markdown(&cap(label, MAX_TITLE))))
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
mod tests {
    use super::*;
    use crate::routing::reply::fixtures::{self, desk, knowledge, reply};
    use crate::routing::reply::{IntentOption, ReplyKind};

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
        r.specialists[0].teams_aad_object_id =
            Some("00000000-aaaa-4000-8000-000000000001".to_string());
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
            facts[3],
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
}
