//! The Slack channel against a local fake Slack Web API (wiremock): signed events in, the exact
//! `chat.postMessage` requests out, retries and outages handled.

mod support;

use std::time::Duration;

use referral_desk::channels::slack::SlackVerifier;
use referral_desk::config::Settings;
use serde_json::{Value, json};
use support::{TestApp, eventually, sqlite_url, test_settings};
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const SECRET: &str = "test-signing-secret";
const TOKEN: &str = "xoxb-test-token";
const FORM: &str = "application/x-www-form-urlencoded";

fn slack_settings(dir: &std::path::Path, fake_slack: &MockServer) -> Settings {
    let mut settings = test_settings(&sqlite_url(dir));
    settings.slack.signing_secret = Some(SECRET.to_string().into());
    settings.slack.bot_token = Some(TOKEN.to_string().into());
    settings.slack.team_id = Some("T1".into());
    settings.slack.api_base_url = fake_slack.uri();
    settings.outbox.retry_base_ms = 100;
    settings.outbox.retry_max_seconds = 1;
    settings
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// Posts `raw` to `path` signed as Slack signs requests, now.
async fn signed_post(
    app: &TestApp,
    path: &str,
    content_type: &str,
    raw: String,
) -> reqwest::Response {
    let timestamp = now();
    let signature = SlackVerifier::new(SECRET).sign(timestamp, raw.as_bytes());
    app.client
        .post(app.url(path))
        .header("X-Slack-Request-Timestamp", timestamp.to_string())
        .header("X-Slack-Signature", signature)
        .header("content-type", content_type)
        .body(raw)
        .send()
        .await
        .unwrap()
}

async fn post_event(app: &TestApp, body: &Value) -> reqwest::Response {
    signed_post(app, "/slack/events", "application/json", body.to_string()).await
}

fn dm(event_id: &str, text: &str) -> Value {
    json!({
        "type": "event_callback", "team_id": "T1", "event_id": event_id, "event_time": now(),
        "event": {"type": "message", "channel_type": "im", "user": "UASKER1", "channel": "D_ASKER", "ts": "1700000000.000100", "text": text}
    })
}

async fn posted(fake_slack: &MockServer) -> Vec<Value> {
    fake_slack
        .received_requests()
        .await
        .unwrap_or_default()
        .iter()
        .filter(|r| r.url.path() == "/chat.postMessage")
        .map(|r| serde_json::from_slice(&r.body).unwrap())
        .collect()
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

async fn ok_slack() -> MockServer {
    let fake_slack = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/chat.postMessage"))
        .and(header("authorization", format!("Bearer {TOKEN}").as_str()))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"ok": true, "ts": "1.2"})))
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
