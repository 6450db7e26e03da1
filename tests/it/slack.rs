//! The Slack channel against a local fake Slack Web API (wiremock): signed events in, the exact
//! `chat.postMessage` requests out, retries and outages handled.

use crate::support;

use std::time::Duration;

use referral_desk::channels::slack::SlackVerifier;
use referral_desk::config::Settings;
use serde_json::{Value, json};
use support::slack::{
    RememberingSlack, SECRET, dm, now, ok_posted, ok_slack, post_event, posted, signed_post,
    with_slack,
};
use support::{TestApp, eventually, sqlite_url, test_settings};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const FORM: &str = "application/x-www-form-urlencoded";

fn slack_settings(dir: &std::path::Path, fake_slack: &MockServer) -> Settings {
    let mut settings = with_slack(test_settings(&sqlite_url(dir)), fake_slack);
    settings.outbox.retry_base_ms = 100;
    settings.outbox.retry_max_seconds = 1;
    settings
}

/// A fake Slack whose first `n` postMessage calls get `failure`, and later ones `{"ok": true}`.
async fn failing_slack(failure: ResponseTemplate, n: u64) -> MockServer {
    let fake_slack = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/chat.postMessage"))
        .respond_with(failure)
        .up_to_n_times(n)
        .with_priority(1)
        .mount(&fake_slack)
        .await;
    Mock::given(method("POST"))
        .and(path("/chat.postMessage"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"ok": true})))
        .with_priority(2)
        .mount(&fake_slack)
        .await;
    fake_slack
}

#[tokio::test]
async fn a_direct_message_gets_one_reply_with_blocks() {
    let dir = tempfile::tempdir().unwrap();
    let fake_slack = ok_slack().await;
    let app = TestApp::spawn(slack_settings(dir.path(), &fake_slack)).await;
    let response = post_event(&app, &dm("Ev1", "wie kan me helpen met power bi?")).await;
    assert_eq!(response.status(), 200);
    assert!(
        eventually(Duration::from_secs(10), || async {
            posted(&fake_slack).await.len() == 1
        })
        .await
    );
    let message = &posted(&fake_slack).await[0];
    assert_eq!(message["channel"], "D_ASKER");
    assert!(
        message.get("thread_ts").is_none(),
        "DMs are answered in the DM"
    );
    let blocks = message["blocks"].as_array().unwrap();
    assert!(!blocks.is_empty());
    let rendered = message["blocks"].to_string();
    // Anna is mentioned by her Slack id; Carla has none and is named
    assert!(
        rendered.contains("<@U0TEST0001>") || rendered.contains("Carla Charts"),
        "{rendered}"
    );
    assert!(
        rendered.contains("feedback_helpful"),
        "feedback buttons carry the conversation"
    );
    let conversation = app.store().conversations(0, 10).await.unwrap()[0].id;
    assert!(
        rendered.contains(&format!("conversation_id\\\":{conversation}")),
        "{rendered}"
    );
    assert!(message["text"].as_str().is_some_and(|t| !t.is_empty()));
    let rows = app.store().conversations(0, 10).await.unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].record.channel, "slack");
    assert_eq!(rows[0].record.intent.as_deref(), Some("data_skills"));
    assert!(!rows[0].record.asker_key.contains("UASKER1"));
    app.stop().await;
}

#[tokio::test]
async fn a_mention_is_answered_in_its_thread_and_retries_are_ignored() {
    let dir = tempfile::tempdir().unwrap();
    let fake_slack = ok_slack().await;
    let app = TestApp::spawn(slack_settings(dir.path(), &fake_slack)).await;
    let mention = json!({
        "type": "event_callback", "team_id": "T1", "event_id": "Ev2", "event_time": now(),
        "event": {"type": "app_mention", "user": "UASKER1", "channel": "C_TEAM", "ts": "1700000000.000200", "text": "<@U_BOT> mijn laptop is kapot"}
    });
    for _ in 0..4 {
        assert_eq!(post_event(&app, &mention).await.status(), 200);
    }
    assert!(
        eventually(Duration::from_secs(10), || async {
            posted(&fake_slack).await.len() == 1
        })
        .await
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    let messages = posted(&fake_slack).await;
    assert_eq!(messages.len(), 1, "four deliveries, one reply");
    assert_eq!(messages[0]["channel"], "C_TEAM");
    assert_eq!(messages[0]["thread_ts"], "1700000000.000200");
    assert_eq!(app.store().conversations(0, 10).await.unwrap().len(), 1);
    app.stop().await;
}

#[tokio::test]
async fn bots_and_other_workspaces_are_ignored_and_unsigned_requests_refused() {
    let dir = tempfile::tempdir().unwrap();
    let fake_slack = ok_slack().await;
    let app = TestApp::spawn(slack_settings(dir.path(), &fake_slack)).await;
    let mut bot = dm("Ev3", "ik ben een bot");
    bot["event"]["bot_id"] = json!("B_SELF");
    let mut elsewhere = dm("Ev4", "laptop kapot");
    elsewhere["team_id"] = json!("T_OTHER");
    for body in [&bot, &elsewhere] {
        assert_eq!(post_event(&app, body).await.status(), 200);
    }
    let challenge = json!({"type": "url_verification", "challenge": "abc123"});
    let answer: Value = post_event(&app, &challenge).await.json().await.unwrap();
    assert_eq!(answer["challenge"], "abc123");
    let unsigned = app
        .client
        .post(app.url("/slack/events"))
        .body(challenge.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(unsigned.status(), 401);
    assert!(
        unsigned.text().await.unwrap().is_empty(),
        "no detail for the caller"
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(posted(&fake_slack).await.is_empty());
    assert!(app.store().conversations(0, 10).await.unwrap().is_empty());
    app.stop().await;
}

#[tokio::test]
async fn rate_limits_are_honoured_and_the_message_is_sent_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    let fake_slack = failing_slack(
        ResponseTemplate::new(429).insert_header("Retry-After", "1"),
        1,
    )
    .await;
    let app = TestApp::spawn(slack_settings(dir.path(), &fake_slack)).await;
    let started = std::time::Instant::now();
    post_event(&app, &dm("Ev5", "hoe vraag ik vakantie aan")).await;
    assert!(
        eventually(Duration::from_secs(10), || async {
            posted(&fake_slack).await.len() == 2
        })
        .await
    );
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "waited for Retry-After"
    );
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(
        posted(&fake_slack).await.len(),
        2,
        "one refused, one delivered, no more"
    );
    let id = app.store().conversations(0, 10).await.unwrap()[0].id;
    assert_eq!(
        app.store().reply_status(id).await.unwrap().as_deref(),
        Some("sent")
    );
    app.stop().await;
}

#[tokio::test]
async fn a_reply_waits_out_a_slack_outage() {
    let dir = tempfile::tempdir().unwrap();
    let fake_slack = failing_slack(ResponseTemplate::new(503), 3).await;
    let app = TestApp::spawn(slack_settings(dir.path(), &fake_slack)).await;
    post_event(&app, &dm("Ev6", "laptop kapot")).await;
    assert!(
        eventually(Duration::from_secs(15), || async {
            posted(&fake_slack).await.len() == 4
        })
        .await,
        "three failures, then delivered"
    );
    let id = app.store().conversations(0, 10).await.unwrap()[0].id;
    assert!(
        eventually(Duration::from_secs(5), || async {
            app.store().reply_status(id).await.unwrap().as_deref() == Some("sent")
        })
        .await
    );
    let metrics = app.metrics().await;
    assert!(
        metrics.contains("referral_desk_reply_failures_total{channel=\"slack\"} 3"),
        "{metrics}"
    );
    app.stop().await;
}

#[tokio::test]
async fn slack_errors_are_counted_and_not_retried() {
    let dir = tempfile::tempdir().unwrap();
    let fake_slack = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/chat.postMessage"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"ok": false, "error": "channel_not_found"})),
        )
        .mount(&fake_slack)
        .await;
    let app = TestApp::spawn(slack_settings(dir.path(), &fake_slack)).await;
    post_event(&app, &dm("Ev7", "laptop kapot")).await;
    assert!(
        eventually(Duration::from_secs(10), || async {
            posted(&fake_slack).await.len() == 1
        })
        .await
    );
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(
        posted(&fake_slack).await.len(),
        1,
        "a permanent error is not retried"
    );
    let id = app.store().conversations(0, 10).await.unwrap()[0].id;
    assert_eq!(
        app.store().reply_status(id).await.unwrap().as_deref(),
        Some("failed")
    );
    let metrics = app.metrics().await;
    assert!(
        metrics.contains(
            "referral_desk_channel_api_errors_total{channel=\"slack\",error=\"channel_not_found\"} 1"
        ),
        "{metrics}"
    );
    app.stop().await;
}

#[tokio::test]
async fn without_slack_settings_the_routes_are_not_mounted() {
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn(test_settings(&sqlite_url(dir.path()))).await;
    let response = app
        .client
        .post(app.url("/slack/events"))
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    app.stop().await;
}

async fn post_command(app: &TestApp, fields: &[(&str, &str)]) -> Value {
    let raw = serde_urlencoded::to_string(fields).unwrap();
    let response = signed_post(app, "/slack/commands", FORM, raw).await;
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

fn command<'a>(name: &'a str, text: &'a str, trigger: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("command", name),
        ("text", text),
        ("team_id", "T1"),
        ("user_id", "UASKER1"),
        ("channel_id", "C_TEAM"),
        ("trigger_id", trigger),
        ("response_url", "https://hooks.slack.com/commands/T1/1/x"),
    ]
}

#[tokio::test]
async fn slash_commands_answer_in_the_response() {
    let dir = tempfile::tempdir().unwrap();
    let fake_slack = ok_slack().await;
    let app = TestApp::spawn(slack_settings(dir.path(), &fake_slack)).await;

    let ask = post_command(
        &app,
        &command("/ask", "hoeveel verlofuren heb ik nog", "t1"),
    )
    .await;
    assert_eq!(ask["response_type"], "ephemeral");
    assert!(!ask["blocks"].as_array().unwrap().is_empty());
    let public = post_command(&app, &command("/ask", "laptop kapot --public", "t2")).await;
    assert_eq!(public["response_type"], "in_channel");

    let who = post_command(&app, &command("/whoknows", "dashboards", "t3")).await;
    assert!(who["blocks"].to_string().contains("<@U0TEST0001>"), "{who}");

    let empty = post_command(&app, &command("/ask", "  ", "t4")).await;
    assert!(empty["text"].as_str().unwrap().contains("/ask"));

    let help = post_command(&app, &command("/referral-help", "", "t5")).await;
    let help = help["text"].as_str().unwrap();
    assert!(help.contains("Privacy") && help.contains("90"), "{help}");

    let rows = app.store().conversations(0, 10).await.unwrap();
    assert_eq!(rows.len(), 3, "/ask twice and /whoknows are logged");
    assert_eq!(rows[0].record.intent.as_deref(), Some("leave"));
    assert_eq!(rows[2].record.decision, "directory");
    assert!(
        posted(&fake_slack).await.is_empty(),
        "answered inline, nothing posted"
    );
    app.stop().await;
}

async fn post_action(app: &TestApp, payload: &Value) -> reqwest::Response {
    let raw = serde_urlencoded::to_string([("payload", payload.to_string())]).unwrap();
    signed_post(app, "/slack/interactivity", FORM, raw).await
}

fn click(action_id: &str, value: Value) -> Value {
    json!({
        "type": "block_actions",
        "team": {"id": "T1"},
        "user": {"id": "UASKER1"},
        "channel": {"id": "C_TEAM"},
        "trigger_id": format!("trigger-{action_id}"),
        "container": {"type": "message", "message_ts": "1700000000.000900", "channel_id": "C_TEAM"},
        "message": {"ts": "1700000000.000900", "thread_ts": "1700000000.000200", "blocks": []},
        "actions": [{"action_id": action_id, "value": value.to_string(), "type": "button"}]
    })
}

#[tokio::test]
async fn buttons_store_feedback_and_a_picked_option_is_routed_in_the_thread() {
    let dir = tempfile::tempdir().unwrap();
    let fake_slack = ok_slack().await;
    let app = TestApp::spawn(slack_settings(dir.path(), &fake_slack)).await;
    let asked = post_command(&app, &command("/ask", "how much do i have left", "t9")).await;
    assert!(asked["blocks"].is_array());
    let conversation = app.store().conversations(0, 10).await.unwrap()[0].id;

    let response = post_action(
        &app,
        &click(
            "feedback_not_helpful",
            json!({"conversation_id": conversation, "helpful": false}),
        ),
    )
    .await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        app.store().conversations(0, 10).await.unwrap()[0]
            .feedback
            .as_deref(),
        Some("not_helpful")
    );

    let response = post_action(
        &app,
        &click(
            "choose_intent_1",
            json!({"conversation_id": conversation, "intent": "leave"}),
        ),
    )
    .await;
    assert_eq!(response.status(), 200);
    assert!(
        eventually(Duration::from_secs(10), || async {
            posted(&fake_slack).await.len() == 1
        })
        .await
    );
    let message = &posted(&fake_slack).await[0];
    assert_eq!(message["channel"], "C_TEAM");
    assert_eq!(message["thread_ts"], "1700000000.000200");
    let rows = app.store().conversations(0, 10).await.unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[1].record.intent.as_deref(), Some("leave"));
    assert_eq!(rows[1].record.decision, "routed");
    assert_eq!(rows[1].record.language, rows[0].record.language);

    let forged = app
        .client
        .post(app.url("/slack/interactivity"))
        .header("X-Slack-Request-Timestamp", now().to_string())
        .header("X-Slack-Signature", "v0=00")
        .body("payload=%7B%7D")
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 401);
    app.stop().await;
}

#[tokio::test]
async fn contact_opens_a_group_dm_with_the_question_as_asked() {
    let dir = tempfile::tempdir().unwrap();
    let fake_slack = ok_slack().await;
    let asked = "wie kan me helpen met power bi? mail me op jan@example.com";
    Mock::given(method("POST"))
        .and(path("/conversations.history"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "ok": true,
            "messages": [{"ts": "1700000000.000100", "user": "UASKER1", "text": asked}]
        })))
        .mount(&fake_slack)
        .await;
    Mock::given(method("POST"))
        .and(path("/conversations.open"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"ok": true, "channel": {"id": "G_GROUP"}})),
        )
        .mount(&fake_slack)
        .await;
    let app = TestApp::spawn(slack_settings(dir.path(), &fake_slack)).await;
    post_event(&app, &dm("Ev10", asked)).await;
    assert!(
        eventually(Duration::from_secs(10), || async {
            posted(&fake_slack).await.len() == 1
        })
        .await
    );
    // the Contact button of the specialist who is on Slack (Anna)
    let reply = posted(&fake_slack).await.remove(0);
    let button = reply["blocks"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|b| b.get("accessory"))
        .find(|a| a["value"].as_str().unwrap_or("").contains("anna_data"))
        .expect("a Contact button for Anna")
        .clone();
    let value: Value = serde_json::from_str(button["value"].as_str().unwrap()).unwrap();
    assert_eq!(value["channel"], "D_ASKER");
    assert_eq!(value["ts"], "1700000000.000100");

    let mut payload = click(button["action_id"].as_str().unwrap(), value);
    payload["channel"] = json!({"id": "D_ASKER"});
    payload["message"] = json!({"ts": "1700000000.000900", "blocks": []});
    assert_eq!(post_action(&app, &payload).await.status(), 200);

    let requests = fake_slack.received_requests().await.unwrap();
    let opened: Value = requests
        .iter()
        .find(|r| r.url.path() == "/conversations.open")
        .map(|r| serde_json::from_slice(&r.body).unwrap())
        .expect("a group DM is opened");
    assert_eq!(opened["users"], "UASKER1,U0TEST0001");
    let messages = posted(&fake_slack).await;
    let intro = messages
        .iter()
        .find(|m| m["channel"] == "G_GROUP")
        .expect("the question is posted in the group DM");
    let text = intro["text"].as_str().unwrap();
    assert!(
        text.contains("<@UASKER1>") && text.contains("jan@example.com"),
        "{text}"
    );
    assert!(
        messages
            .iter()
            .any(|m| m["channel"] == "D_ASKER"
                && m["text"].as_str().unwrap_or("").contains("Anna Data")),
        "the asker is told"
    );
    let rows = app.store().conversations(0, 10).await.unwrap();
    assert!(rows[0].handoff);
    let logged = rows[0].record.question.as_deref().unwrap();
    assert!(
        logged.contains("[email]") && !logged.contains("jan@"),
        "{logged}"
    );
    app.stop().await;
}

#[tokio::test]
async fn every_forged_or_stale_request_is_refused_before_it_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let fake_slack = ok_slack().await;
    let app = TestApp::spawn(slack_settings(dir.path(), &fake_slack)).await;
    let body = dm("EvForged", "laptop kapot").to_string();
    let signer = SlackVerifier::new(SECRET);
    let t = now();
    let good = signer.sign(t, body.as_bytes());
    let reserialised = serde_json::to_string_pretty(&dm("EvForged", "laptop kapot")).unwrap();
    // (name, body, timestamp headers, signature headers)
    let cases: Vec<(&str, String, Vec<String>, Vec<String>)> = vec![
        (
            "tampered body",
            body.replace("kapot", "stuk!"),
            vec![t.to_string()],
            vec![good.clone()],
        ),
        (
            "wrong secret",
            body.clone(),
            vec![t.to_string()],
            vec![SlackVerifier::new("not-the-secret").sign(t, body.as_bytes())],
        ),
        (
            "stale timestamp",
            body.clone(),
            vec![(t - 301).to_string()],
            vec![signer.sign(t - 301, body.as_bytes())],
        ),
        (
            "future timestamp",
            body.clone(),
            vec![(t + 301).to_string()],
            vec![signer.sign(t + 301, body.as_bytes())],
        ),
        (
            "missing timestamp",
            body.clone(),
            vec![],
            vec![good.clone()],
        ),
        (
            "missing signature",
            body.clone(),
            vec![t.to_string()],
            vec![],
        ),
        (
            "repeated timestamp",
            body.clone(),
            vec![t.to_string(), t.to_string()],
            vec![good.clone()],
        ),
        (
            "repeated signature",
            body.clone(),
            vec![t.to_string()],
            vec![good.clone(), good.clone()],
        ),
        (
            "v1 prefix",
            body.clone(),
            vec![t.to_string()],
            vec![good.replacen("v0=", "v1=", 1)],
        ),
        (
            "re-serialised JSON",
            reserialised,
            vec![t.to_string()],
            vec![good.clone()],
        ),
    ];
    for (name, body, timestamps, signatures) in cases {
        let mut request = app.client.post(app.url("/slack/events")).body(body);
        for value in &timestamps {
            request = request.header("X-Slack-Request-Timestamp", value);
        }
        for value in &signatures {
            request = request.header("X-Slack-Signature", value);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 401, "{name}");
        assert!(
            response.text().await.unwrap().is_empty(),
            "{name}: no detail"
        );
    }
    // the genuine request still passes
    let response = app
        .client
        .post(app.url("/slack/events"))
        .header("X-Slack-Request-Timestamp", t.to_string())
        .header("X-Slack-Signature", good)
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(app.store().conversations(0, 10).await.unwrap().len(), 1);
    app.stop().await;
}

/// The requests the fake Slack received for `method` (`/chat.postEphemeral`, ...), as JSON.
async fn calls(fake_slack: &MockServer, method: &str) -> Vec<Value> {
    fake_slack
        .received_requests()
        .await
        .unwrap_or_default()
        .iter()
        .filter(|r| r.url.path() == method)
        .map(|r| serde_json::from_slice(&r.body).unwrap())
        .collect()
}

/// `ok_slack` that also answers `chat.postEphemeral`, `conversations.open` (group `G_GROUP`)
/// and `conversations.history` with `history` (the messages Slack would have).
async fn full_slack(history: Value) -> MockServer {
    let fake_slack = ok_slack().await;
    Mock::given(method("POST"))
        .and(path("/chat.postEphemeral"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"ok": true, "message_ts": "1.3"})),
        )
        .mount(&fake_slack)
        .await;
    Mock::given(method("POST"))
        .and(path("/conversations.open"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"ok": true, "channel": {"id": "G_GROUP"}})),
        )
        .mount(&fake_slack)
        .await;
    Mock::given(method("POST"))
        .and(path("/conversations.history"))
        .respond_with(move |request: &wiremock::Request| {
            // only the message at `latest`, as Slack answers `inclusive` with `limit: 1`
            let asked: Value = serde_json::from_slice(&request.body).unwrap();
            let messages: Vec<Value> = history
                .as_array()
                .unwrap()
                .iter()
                .filter(|m| m["ts"] == asked["latest"])
                .cloned()
                .collect();
            ResponseTemplate::new(200).set_body_json(json!({"ok": true, "messages": messages}))
        })
        .mount(&fake_slack)
        .await;
    fake_slack
}

/// Every button in a message's blocks (section accessories and actions elements).
fn buttons(message: &Value) -> Vec<Value> {
    let mut found = Vec::new();
    for block in message["blocks"].as_array().into_iter().flatten() {
        found.extend(block.get("accessory").cloned());
        found.extend(block["elements"].as_array().into_iter().flatten().cloned());
    }
    found
        .into_iter()
        .filter(|b| b["type"] == "button" && b["value"].is_string())
        .collect()
}

fn value_of(button: &Value) -> Value {
    serde_json::from_str(button["value"].as_str().unwrap()).unwrap()
}

/// A click by `user` on `button`, in `channel` on the message `message_ts` (in `thread_ts`).
fn click_by(
    user: &str,
    button: &Value,
    channel: &str,
    message_ts: &str,
    thread_ts: Option<&str>,
) -> Value {
    let mut payload = click(button["action_id"].as_str().unwrap(), value_of(button));
    payload["user"] = json!({"id": user});
    payload["trigger_id"] = json!(format!("trigger-{user}-{}", rand::random::<u32>()));
    payload["channel"] = json!({"id": channel});
    payload["container"] =
        json!({"type": "message", "message_ts": message_ts, "channel_id": channel});
    payload["message"] = json!({"ts": message_ts, "blocks": []});
    if let Some(thread) = thread_ts {
        payload["container"]["thread_ts"] = json!(thread);
        payload["message"]["thread_ts"] = json!(thread);
    }
    payload
}

const NOT_YOURS: &str = "Only the person who asked can use these buttons.";

/// Issue 13, item 13: in a channel anyone can click *Contact* on someone's @mention thread;
/// only the asker's click opens the group DM.
#[tokio::test]
async fn item13_someone_elses_contact_click_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let asked = "wie kan me helpen met power bi? ik zit tegen een burn-out aan";
    let fake_slack = full_slack(json!([
        {"ts": "1700000000.000200", "user": "UASKER1", "text": format!("<@U_BOT> {asked}")}
    ]))
    .await;
    let app = TestApp::spawn(slack_settings(dir.path(), &fake_slack)).await;
    let mention = json!({
        "type": "event_callback", "team_id": "T1", "event_id": "Ev13", "event_time": now(),
        "event": {"type": "app_mention", "user": "UASKER1", "channel": "C_TEAM", "ts": "1700000000.000200", "text": format!("<@U_BOT> {asked}")}
    });
    post_event(&app, &mention).await;
    assert!(
        eventually(Duration::from_secs(10), || async {
            posted(&fake_slack).await.len() == 1
        })
        .await
    );
    let reply = posted(&fake_slack).await.remove(0);
    let contact = buttons(&reply)
        .into_iter()
        .find(|b| value_of(b)["specialist"] == "anna_data")
        .expect("a Contact button for Anna");

    let mallory = click_by(
        "UOTHER",
        &contact,
        "C_TEAM",
        "1700000000.000900",
        Some("1700000000.000200"),
    );
    assert_eq!(post_action(&app, &mallory).await.status(), 200);
    assert!(
        calls(&fake_slack, "/conversations.open").await.is_empty(),
        "no group DM for someone else"
    );
    assert_eq!(posted(&fake_slack).await.len(), 1, "nothing posted");
    let notes = calls(&fake_slack, "/chat.postEphemeral").await;
    assert_eq!(notes.len(), 1, "{notes:?}");
    assert_eq!(notes[0]["user"], "UOTHER");
    assert_eq!(notes[0]["channel"], "C_TEAM");
    assert!(
        notes[0]["text"].as_str().unwrap().contains(NOT_YOURS),
        "{}",
        notes[0]
    );
    assert!(!app.store().conversations(0, 10).await.unwrap()[0].handoff);

    // the asker's own click does it
    let own = click_by(
        "UASKER1",
        &contact,
        "C_TEAM",
        "1700000000.000900",
        Some("1700000000.000200"),
    );
    assert_eq!(post_action(&app, &own).await.status(), 200);
    let opened = calls(&fake_slack, "/conversations.open").await;
    assert_eq!(opened.len(), 1);
    assert_eq!(opened[0]["users"], "UASKER1,U0TEST0001");
    let group = posted(&fake_slack)
        .await
        .into_iter()
        .find(|m| m["channel"] == "G_GROUP")
        .expect("the question in the group DM");
    let text = group["text"].as_str().unwrap();
    assert!(
        text.contains("<@UASKER1>") && text.contains("burn-out"),
        "{text}"
    );
    assert!(app.store().conversations(0, 10).await.unwrap()[0].handoff);
    // in the channel, the confirmation is for the asker's eyes only
    let notes = calls(&fake_slack, "/chat.postEphemeral").await;
    assert_eq!(notes.len(), 2);
    assert_eq!(notes[1]["user"], "UASKER1");
    assert!(notes[1]["text"].as_str().unwrap().contains("Anna Data"));
    app.stop().await;
}

/// Issue 13, item 13: on an `/ask --public` answer, someone else's feedback and "did you
/// mean" pick change nothing; the asker's work.
#[tokio::test]
async fn item13_someone_elses_feedback_and_pick_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let fake_slack = full_slack(json!([])).await;
    let app = TestApp::spawn(slack_settings(dir.path(), &fake_slack)).await;
    let answer = post_command(
        &app,
        &command("/ask", "budget for a power bi course --public", "t13"),
    )
    .await;
    assert_eq!(answer["response_type"], "in_channel");
    let all = buttons(&answer);
    let pick = all
        .iter()
        .find(|b| value_of(b)["intent"] == "data_skills")
        .expect("a \"did you mean\" option for data skills")
        .clone();
    let not_helpful = all
        .iter()
        .find(|b| b["action_id"] == "feedback_not_helpful")
        .unwrap()
        .clone();
    let store = app.store();

    for button in [&not_helpful, &pick] {
        let payload = click_by("UOTHER", button, "C_TEAM", "1700000000.000900", None);
        assert_eq!(post_action(&app, &payload).await.status(), 200);
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let rows = store.conversations(0, 10).await.unwrap();
    assert_eq!(rows.len(), 1, "no follow-up question from someone else");
    assert_eq!(rows[0].feedback, None, "no feedback from someone else");
    assert_eq!(store.inbox_stats().await.unwrap().depth, 0);
    assert!(posted(&fake_slack).await.is_empty());
    let notes = calls(&fake_slack, "/chat.postEphemeral").await;
    assert_eq!(notes.len(), 2);
    assert!(
        notes
            .iter()
            .all(|n| n["user"] == "UOTHER" && n["text"].as_str().unwrap().contains(NOT_YOURS))
    );

    // the asker's clicks count
    for button in [&not_helpful, &pick] {
        let payload = click_by("UASKER1", button, "C_TEAM", "1700000000.000900", None);
        assert_eq!(post_action(&app, &payload).await.status(), 200);
    }
    assert!(
        eventually(Duration::from_secs(10), || async {
            posted(&fake_slack).await.len() == 1
        })
        .await,
        "the picked option is answered"
    );
    let rows = store.conversations(0, 10).await.unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0].feedback.as_deref(), Some("not_helpful"));
    assert_eq!(rows[1].record.intent.as_deref(), Some("data_skills"));
    assert_eq!(rows[1].record.asker_key, rows[0].record.asker_key);
    app.stop().await;
}

/// Issue 13, item 15: ask, get "did you mean", pick, click *Contact* on the follow-up: the
/// group DM gets the question as first asked, not the option's name.
#[tokio::test]
async fn item15_contact_after_a_pick_passes_on_the_original_question() {
    let dir = tempfile::tempdir().unwrap();
    let asked = "budget for a power bi course";
    let fake_slack = full_slack(json!([
        {"ts": "1700000000.000100", "user": "UASKER1", "text": asked},
        {"ts": "1700000000.000500", "user": "U_BOT", "text": "Did you mean …?"},
    ]))
    .await;
    let app = TestApp::spawn(slack_settings(dir.path(), &fake_slack)).await;
    post_event(&app, &dm("Ev15", asked)).await;
    assert!(
        eventually(Duration::from_secs(10), || async {
            posted(&fake_slack).await.len() == 1
        })
        .await
    );
    let ambiguous = posted(&fake_slack).await.remove(0);
    let pick = buttons(&ambiguous)
        .into_iter()
        .find(|b| value_of(b)["intent"] == "data_skills")
        .expect("a \"did you mean\" option for data skills");
    let value = value_of(&pick);
    assert_eq!(
        value["channel"], "D_ASKER",
        "the pick says where the question is"
    );
    assert_eq!(value["ts"], "1700000000.000100");
    let payload = click_by("UASKER1", &pick, "D_ASKER", "1700000000.000500", None);
    assert_eq!(post_action(&app, &payload).await.status(), 200);
    assert!(
        eventually(Duration::from_secs(10), || async {
            posted(&fake_slack).await.len() == 2
        })
        .await,
        "the pick is answered"
    );
    let follow_up = posted(&fake_slack).await.remove(1);
    assert_eq!(follow_up["channel"], "D_ASKER");
    let contact = buttons(&follow_up)
        .into_iter()
        .find(|b| value_of(b)["specialist"] == "anna_data")
        .expect("a Contact button for Anna on the follow-up");
    assert_eq!(value_of(&contact)["ts"], "1700000000.000100");

    let click = click_by("UASKER1", &contact, "D_ASKER", "1700000000.000600", None);
    assert_eq!(post_action(&app, &click).await.status(), 200);
    let messages = posted(&fake_slack).await;
    let group = messages
        .iter()
        .find(|m| m["channel"] == "G_GROUP")
        .expect("the question in the group DM");
    let text = group["text"].as_str().unwrap();
    assert!(text.contains(asked), "{text}");
    assert!(
        messages
            .iter()
            .any(|m| m["channel"] == "D_ASKER"
                && m["text"].as_str().unwrap_or("").contains("Anna Data")),
        "the asker is told"
    );
    let rows = app.store().conversations(0, 10).await.unwrap();
    assert_eq!(rows.len(), 2);
    assert!(rows[1].handoff, "the follow-up's handoff is logged");
    app.stop().await;
}

/// Issue 13, item 15: a handoff Slack does not let through is no bare 500: the asker is told
/// how to reach the specialist.
#[tokio::test]
async fn item15_a_failed_handoff_tells_the_asker_how_to_reach_the_specialist() {
    let dir = tempfile::tempdir().unwrap();
    let fake_slack = ok_slack().await;
    Mock::given(method("POST"))
        .and(path("/conversations.history"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"ok": true, "messages": []})))
        .mount(&fake_slack)
        .await;
    Mock::given(method("POST"))
        .and(path("/conversations.replies"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"ok": false, "error": "thread_not_found"})),
        )
        .mount(&fake_slack)
        .await;
    let app = TestApp::spawn(slack_settings(dir.path(), &fake_slack)).await;
    post_event(&app, &dm("Ev15b", "wie kan me helpen met power bi?")).await;
    assert!(
        eventually(Duration::from_secs(10), || async {
            posted(&fake_slack).await.len() == 1
        })
        .await
    );
    let reply = posted(&fake_slack).await.remove(0);
    let contact = buttons(&reply)
        .into_iter()
        .find(|b| value_of(b)["specialist"] == "anna_data")
        .unwrap();
    let click = click_by("UASKER1", &contact, "D_ASKER", "1700000000.000900", None);
    assert_eq!(post_action(&app, &click).await.status(), 200);
    let messages = posted(&fake_slack).await;
    assert_eq!(messages.len(), 2, "{messages:?}");
    assert_eq!(messages[1]["channel"], "D_ASKER");
    let told = messages[1]["text"].as_str().unwrap();
    assert!(told.contains("anna@example.org"), "{told}");
    assert!(!app.store().conversations(0, 10).await.unwrap()[0].handoff);
    app.stop().await;
}

/// A pick on an `/ask` answer only the asker saw is answered only to them (not posted in the
/// channel), and its *Contact* buttons still carry the question as asked.
#[tokio::test]
async fn a_pick_on_an_answer_only_the_asker_saw_is_answered_only_to_them() {
    let dir = tempfile::tempdir().unwrap();
    let fake_slack = full_slack(json!([])).await;
    let app = TestApp::spawn(slack_settings(dir.path(), &fake_slack)).await;
    let asked = "budget for a power bi course";
    let answer = post_command(&app, &command("/ask", asked, "t15")).await;
    assert_eq!(answer["response_type"], "ephemeral");
    let pick = buttons(&answer)
        .into_iter()
        .find(|b| value_of(b)["intent"] == "data_skills")
        .unwrap();
    let mut payload = click_by("UASKER1", &pick, "C_TEAM", "1700000000.000900", None);
    payload["container"]["is_ephemeral"] = json!(true);
    payload.as_object_mut().unwrap().remove("message");
    assert_eq!(post_action(&app, &payload).await.status(), 200);
    assert!(
        eventually(Duration::from_secs(10), || async {
            calls(&fake_slack, "/chat.postEphemeral").await.len() == 1
        })
        .await
    );
    assert!(
        posted(&fake_slack).await.is_empty(),
        "nothing in the channel"
    );
    let follow_up = calls(&fake_slack, "/chat.postEphemeral").await.remove(0);
    assert_eq!(follow_up["user"], "UASKER1");
    assert_eq!(follow_up["channel"], "C_TEAM");
    assert!(follow_up.get("thread_ts").is_none());
    let contact = buttons(&follow_up)
        .into_iter()
        .find(|b| value_of(b)["specialist"] == "anna_data")
        .expect("a Contact button");
    assert_eq!(value_of(&contact)["q"], asked);
    app.stop().await;
}

/// Issue 13, item 10: once a Slack reply is sent (or given up), nothing stored names the
/// asker, their DM or the channel.
#[tokio::test]
async fn item10_slack_ids_are_gone_once_the_reply_is_sent() {
    let dir = tempfile::tempdir().unwrap();
    let fake_slack = ok_slack().await;
    let app = TestApp::spawn(slack_settings(dir.path(), &fake_slack)).await;
    post_event(&app, &dm("Ev10a", "laptop kapot")).await;
    let mention = json!({
        "type": "event_callback", "team_id": "T1", "event_id": "Ev10b", "event_time": now(),
        "event": {"type": "app_mention", "user": "UASKER2", "channel": "C_TEAM", "ts": "1700000000.000300", "text": "<@U_BOT> wachtwoord vergeten"}
    });
    post_event(&app, &mention).await;
    post_command(&app, &command("/ask", "hoe vraag ik vakantie aan", "t10")).await;
    let store = app.store();
    assert!(
        eventually(Duration::from_secs(10), || async {
            let rows = store.conversations(0, 10).await.unwrap();
            let mut sent = 0;
            for row in &rows {
                if store.reply_status(row.id).await.unwrap().as_deref() == Some("sent") {
                    sent += 1;
                }
            }
            rows.len() == 3 && sent == 2
        })
        .await
    );
    let url = sqlite_url(dir.path());
    let kept = support::dump::places_of(
        &url,
        &[
            "UASKER1",
            "UASKER2",
            "D_ASKER",
            "C_TEAM",
            "1700000000.000100",
            "1700000000.000300",
        ],
    )
    .await;
    assert!(kept.is_empty(), "raw Slack ids kept: {kept:#?}");
    app.stop().await;
}

/// Slack stores the reply but its answer comes after the client's 10 s timeout: before, the
/// retry posted it again. Now the retry looks for the reply's metadata first.
#[tokio::test]
async fn a_late_answer_from_slack_does_not_make_a_second_reply() {
    let dir = tempfile::tempdir().unwrap();
    let (fake_slack, stored) = RememberingSlack::start(|n| match n {
        0 => ok_posted().set_delay(Duration::from_secs(12)),
        _ => ok_posted(),
    })
    .await;
    let app = TestApp::spawn(slack_settings(dir.path(), &fake_slack)).await;
    assert_eq!(
        post_event(&app, &dm("EvLATE", "laptop kapot"))
            .await
            .status(),
        200
    );
    assert!(
        eventually(Duration::from_secs(25), || async {
            let Some(logged) = app.store().conversations(0, 10).await.unwrap().pop() else {
                return false;
            };
            app.store()
                .reply_status(logged.id)
                .await
                .unwrap()
                .as_deref()
                == Some("sent")
        })
        .await,
        "the reply is recorded as sent once it was found"
    );
    let lookups = lookups_made(&fake_slack).await;
    assert_eq!(stored.lock().unwrap().len(), 1, "posted once");
    assert_eq!(lookups, 1, "one lookup, in the DM's history");
    let message = stored.lock().unwrap()[0].clone();
    assert_eq!(message["metadata"]["event_type"], "referral_desk_reply");
    app.stop().await;
}

/// The process stops after Slack stored the reply and before the desk recorded it (here: the
/// runtime is stopped while the answer hangs): before, the next start posted it a second time.
#[tokio::test]
async fn a_reply_posted_just_before_a_crash_is_not_posted_again_after_the_restart() {
    let dir = tempfile::tempdir().unwrap();
    let (fake_slack, stored) = RememberingSlack::start(|n| match n {
        0 => ok_posted().set_delay(Duration::from_secs(60)),
        _ => ok_posted(),
    })
    .await;
    let settings = slack_settings(dir.path(), &fake_slack);
    let app = TestApp::spawn(settings.clone()).await;
    post_event(&app, &dm("EvCRASH", "laptop kapot")).await;
    assert!(
        eventually(Duration::from_secs(10), || async {
            stored.lock().unwrap().len() == 1
        })
        .await
    );
    // the grace period (2 s) ends with the send still in flight: the worker is dropped there
    app.stop().await;
    let id = {
        let app = TestApp::spawn(settings).await;
        let started = std::time::Instant::now();
        let id = app.store().conversations(0, 10).await.unwrap()[0].id;
        assert!(
            eventually(Duration::from_secs(10), || async {
                app.store().reply_status(id).await.unwrap().as_deref() == Some("sent")
            })
            .await,
            "settled after the restart"
        );
        // released at start, not after the lease (30 s)
        assert!(
            started.elapsed() < Duration::from_secs(8),
            "{:?}",
            started.elapsed()
        );
        app.stop().await;
        id
    };
    assert_eq!(
        stored.lock().unwrap().len(),
        1,
        "conversation {id} got one reply"
    );
    assert_eq!(lookups_made(&fake_slack).await, 1);
}

async fn lookups_made(fake_slack: &MockServer) -> usize {
    fake_slack
        .received_requests()
        .await
        .unwrap_or_default()
        .iter()
        .filter(|r| r.url.path() == "/conversations.history")
        .count()
}

/// A direct message event from `user` in their own DM channel `D{user}`.
fn dm_from(user: &str, event_id: &str, text: &str) -> Value {
    let mut event = dm(event_id, text);
    event["event"]["user"] = json!(user);
    event["event"]["channel"] = json!(format!("D{user}"));
    event
}

/// A 429 limits the app's use of `chat.postMessage`, not one reply: before, other replies
/// kept calling it inside the `Retry-After` window (12 and 65 calls in two runs), which in
/// production draws more 429s.
#[tokio::test]
async fn a_rate_limit_pauses_every_reply_until_its_retry_after() {
    let dir = tempfile::tempdir().unwrap();
    let fake_slack = failing_slack(
        ResponseTemplate::new(429).insert_header("Retry-After", "2"),
        1,
    )
    .await;
    let app = TestApp::spawn(slack_settings(dir.path(), &fake_slack)).await;
    post_event(&app, &dm_from("UFIRST", "EvRL0", "laptop kapot")).await;
    assert!(
        eventually(Duration::from_secs(10), || async {
            posted(&fake_slack).await.len() == 1
        })
        .await
    );
    let limited = std::time::Instant::now();
    for n in 1..=5 {
        let event = dm_from(&format!("UOTHER{n}"), &format!("EvRL{n}"), "laptop kapot");
        assert_eq!(post_event(&app, &event).await.status(), 200);
    }
    tokio::time::sleep(Duration::from_millis(1200).saturating_sub(limited.elapsed())).await;
    assert_eq!(
        posted(&fake_slack).await.len(),
        1,
        "nothing is posted inside the Retry-After window"
    );
    assert!(
        eventually(Duration::from_secs(10), || async {
            posted(&fake_slack).await.len() == 7
        })
        .await,
        "then all six replies go out, the refused one once more"
    );
    let channels: std::collections::BTreeSet<String> = posted(&fake_slack)
        .await
        .iter()
        .skip(1)
        .map(|m| m["channel"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(channels.len(), 6, "one reply per asker: {channels:?}");
    app.stop().await;
}

/// With the lexical model a question is answered before Slack gets its 200: by the time the
/// acknowledgement arrives the conversation is logged and its reply queued (before, it waited
/// in the inbox for a worker, two more writes and a wake-up later). Slack's retry of the same
/// event is acknowledged and changes nothing.
#[tokio::test]
async fn a_question_is_logged_and_its_reply_queued_by_the_time_it_is_acknowledged() {
    let dir = tempfile::tempdir().unwrap();
    let fake_slack = ok_slack().await;
    let app = TestApp::spawn(slack_settings(dir.path(), &fake_slack)).await;
    let event = dm("EvARRIVAL", "wie kan me helpen met Power BI?");
    assert_eq!(post_event(&app, &event).await.status(), 200);
    let logged = app.store().conversations(0, 10).await.unwrap();
    assert_eq!(logged.len(), 1, "logged before the acknowledgement");
    assert!(
        app.store()
            .reply_status(logged[0].id)
            .await
            .unwrap()
            .is_some(),
        "its reply is queued"
    );
    // Slack delivers again when it missed the 200
    assert_eq!(post_event(&app, &event).await.status(), 200);
    assert!(
        eventually(Duration::from_secs(10), || async {
            app.store()
                .reply_status(logged[0].id)
                .await
                .unwrap()
                .as_deref()
                == Some("sent")
        })
        .await
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(posted(&fake_slack).await.len(), 1, "one reply");
    assert_eq!(app.store().conversations(0, 10).await.unwrap().len(), 1);
    app.stop().await;
}
