use std::collections::{BTreeMap, BTreeSet};

use sqlx::Row as _;

use chrono::{Datelike, Weekday};

use super::plan::*;
use super::*;
use crate::store::ConversationRecord;

fn catalogue() -> Catalogue {
    Catalogue::load(std::path::Path::new("intents")).expect("the shipped catalogue loads")
}

fn settings(url: &str) -> Settings {
    let mut settings = Settings::load_with_env(None, Vec::new()).expect("default settings");
    settings.database.url = url.to_string().into();
    settings
}

fn sqlite_url(dir: &tempfile::TempDir) -> String {
    format!("sqlite://{}", dir.path().join("desk.db").display())
}

fn options(conversations: usize, seed: u64) -> SeedOptions {
    SeedOptions {
        conversations,
        days: 182,
        end: NaiveDate::from_ymd_opt(2026, 11, 27).expect("a date"),
        seed,
        force: false,
    }
}

/// A conversation with its inbox row, as stored.
#[derive(Debug, Clone, PartialEq)]
struct Logged {
    id: i64,
    inbox_id: i64,
    received_ms: i64,
    channel: String,
    asker_key: String,
    department: Option<String>,
    language: String,
    question: Option<String>,
    intent: Option<String>,
    confidence: f32,
    decision: String,
    route: String,
    latency_us: i64,
    feedback: Option<String>,
    feedback_ms: Option<i64>,
    handoff: i64,
    outcome: Option<String>,
    specialist: Option<String>,
    delivery_id: String,
    status: String,
    text: Option<String>,
    inbox: (i64, String, String, Option<String>),
    completed_ms: Option<i64>,
}

const LOGGED: &str = "SELECT c.id, c.inbox_id, c.received_ms, c.channel, c.asker_key, \
    c.department, c.language, c.question, c.intent, c.confidence, c.decision, c.route, \
    c.latency_us, c.feedback, c.feedback_ms, CAST(c.handoff AS BIGINT) AS handoff, \
    c.outcome, c.specialist, i.delivery_id, i.status, i.text, \
    i.received_ms AS inbox_received_ms, i.channel AS inbox_channel, \
    i.asker_key AS inbox_asker_key, i.department AS inbox_department, i.completed_ms \
    FROM conversations c JOIN inbox i ON i.id = c.inbox_id ORDER BY c.id";

macro_rules! fetch_logged {
    ($name:ident, $db:ty) => {
        async fn $name(pool: &sqlx::Pool<$db>) -> Vec<Logged> {
            sqlx::query(LOGGED)
                .fetch_all(pool)
                .await
                .expect("reading the log back")
                .iter()
                .map(|r| Logged {
                    id: r.get("id"),
                    inbox_id: r.get("inbox_id"),
                    received_ms: r.get("received_ms"),
                    channel: r.get("channel"),
                    asker_key: r.get("asker_key"),
                    department: r.get("department"),
                    language: r.get("language"),
                    question: r.get("question"),
                    intent: r.get("intent"),
                    confidence: r.get("confidence"),
                    decision: r.get("decision"),
                    route: r.get("route"),
                    latency_us: r.get("latency_us"),
                    feedback: r.get("feedback"),
                    feedback_ms: r.get("feedback_ms"),
                    handoff: r.get("handoff"),
                    outcome: r.get("outcome"),
                    specialist: r.get("specialist"),
                    delivery_id: r.get("delivery_id"),
                    status: r.get("status"),
                    text: r.get("text"),
                    inbox: (
                        r.get("inbox_received_ms"),
                        r.get("inbox_channel"),
                        r.get("inbox_asker_key"),
                        r.get("inbox_department"),
                    ),
                    completed_ms: r.get("completed_ms"),
                })
                .collect()
        }
    };
}
fetch_logged!(fetch_sqlite, sqlx::Sqlite);

async fn sqlite_pool(url: &str) -> sqlx::SqlitePool {
    sqlx::SqlitePool::connect(url)
        .await
        .expect("the seeded file opens")
}

fn share(rows: &[Logged], keep: impl Fn(&Logged) -> bool) -> f64 {
    rows.iter().filter(|r| keep(r)).count() as f64 / rows.len() as f64
}

/// Everything a seeded database must satisfy, on either backend.
fn check_seeded(
    rows: &[Logged],
    catalogue: &Catalogue,
    options: &SeedOptions,
    summary: &SeedSummary,
) {
    let n = options.conversations;
    assert_eq!(
        rows.len(),
        n,
        "one conversation row per seeded conversation"
    );
    assert_eq!(summary.conversations, n);
    let prefix = format!("seed:{}:", options.seed);
    let start_ms = (options.end - chrono::Duration::days(i64::from(options.days)))
        .and_hms_opt(0, 0, 0)
        .unwrap()
        .and_utc()
        .timestamp_millis();
    let end_ms = options
        .end
        .and_hms_opt(0, 0, 0)
        .unwrap()
        .and_utc()
        .timestamp_millis();
    let threshold = catalogue.settings.classifier.threshold;
    let mut delivery_ids = BTreeSet::new();
    for r in rows {
        // the inbox row
        assert!(r.delivery_id.starts_with(&prefix), "{}", r.delivery_id);
        assert!(delivery_ids.insert(r.delivery_id.clone()));
        assert_eq!(r.status, "done");
        assert_eq!(r.text, None);
        assert_eq!(
            r.inbox,
            (
                r.received_ms,
                r.channel.clone(),
                r.asker_key.clone(),
                r.department.clone()
            )
        );
        assert!(r.completed_ms.unwrap() > r.received_ms);
        // the conversation
        assert!(
            r.received_ms >= start_ms - 2 * 3_600_000 && r.received_ms < end_ms,
            "{} out of range",
            r.received_ms
        );
        assert_eq!(r.asker_key.len(), 64);
        assert!(r.asker_key.bytes().all(|b| b.is_ascii_hexdigit()));
        assert!(["web", "slack", "teams"].contains(&r.channel.as_str()));
        assert!(["nl", "en"].contains(&r.language.as_str()));
        assert!(r.latency_us > 0);
        let route: serde_json::Value = serde_json::from_str(&r.route).expect("route is JSON");
        // stored exactly as the pipeline stores `Reply::route_ids()`
        assert_eq!(route.to_string(), r.route);
        let record = ConversationRecord {
            received_ms: r.received_ms,
            channel: r.channel.clone(),
            asker_key: r.asker_key.clone(),
            department: r.department.clone(),
            language: r.language.clone(),
            question: r.question.clone(),
            intent: r.intent.clone(),
            confidence: r.confidence,
            decision: r.decision.clone(),
            route: route.clone(),
            latency_us: r.latency_us,
        };
        assert_eq!(r.outcome.as_deref(), Some(record.outcome()), "{r:?}");
        assert_eq!(
            r.specialist.as_deref(),
            record.referred_specialist(),
            "{r:?}"
        );
        let ids = |part: &str| -> Vec<String> {
            route[part]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_str().unwrap().to_string())
                .collect()
        };
        for id in ids("specialists") {
            assert!(catalogue.specialist(&id).is_some(), "{id}");
        }
        let question = r.question.as_deref().expect("texts are stored by default");
        assert!(!question.is_empty());
        match r.decision.as_str() {
            "routed" => {
                let intent = catalogue.intent(r.intent.as_deref().unwrap()).unwrap();
                assert!((0.39..=0.99).contains(&r.confidence), "{r:?}");
                for id in ids("specialists") {
                    assert!(intent.route.specialists.contains(&id));
                }
                assert!(ids("specialists").len() <= 2);
                assert_eq!(ids("knowledge"), intent.route.knowledge);
                assert_eq!(route["desk"].as_str(), intent.route.desk.as_deref());
                assert!(ids("options").is_empty());
                assert!(planted_topic_of(question).is_none());
            }
            "ambiguous" => {
                let options = ids("options");
                assert_eq!(options.len(), 2);
                assert_ne!(options[0], options[1]);
                assert_eq!(r.intent.as_deref(), Some(options[0].as_str()));
                assert!(options.iter().all(|o| catalogue.intent(o).is_some()));
                assert!((0.39..0.62).contains(&r.confidence));
            }
            "directory" => {
                assert_eq!(r.intent, None);
                assert!(
                    crate::routing::directory_topic(question).is_some(),
                    "{question}"
                );
                if ids("specialists").is_empty() {
                    assert_eq!(r.confidence, 0.0);
                    assert_eq!(
                        route["desk"].as_str(),
                        Some(catalogue.settings.fallback_desk.as_str())
                    );
                }
            }
            "out_of_scope" => {
                assert_eq!(r.intent, None);
                // out of scope: best - p(oos) < threshold, and p(oos) <= 1 - best
                assert!(r.confidence < (1.0 + threshold) / 2.0, "{r:?}");
                assert_eq!(
                    route["desk"].as_str(),
                    Some(catalogue.settings.fallback_desk.as_str())
                );
            }
            other => panic!("unexpected decision {other}"),
        }
        match (&r.feedback, r.feedback_ms) {
            (None, None) => {}
            (Some(f), Some(at)) => {
                assert!(f == "helpful" || f == "not_helpful");
                assert!(at > r.received_ms);
            }
            other => panic!("feedback without its time or the other way round: {other:?}"),
        }
        assert!(
            r.handoff == 0
                || r.outcome.as_deref() == Some("specialist")
                || r.decision == "directory"
        );
    }

    // the mix
    let decision = |d: &'static str| share(rows, move |r| r.decision == d);
    assert!(
        (0.74..0.86).contains(&decision("routed")),
        "{}",
        decision("routed")
    );
    assert!((0.03..0.07).contains(&decision("directory")));
    assert!((0.03..0.07).contains(&decision("ambiguous")));
    assert!((0.07..0.13).contains(&decision("out_of_scope")));
    let dutch = share(rows, |r| r.language == "nl");
    assert!((0.5..0.7).contains(&dutch), "{dutch}");
    let feedback = share(rows, |r| r.feedback.is_some());
    assert!((0.18..0.32).contains(&feedback), "{feedback}");
    let specialist: Vec<&Logged> = rows
        .iter()
        .filter(|r| r.outcome.as_deref() == Some("specialist"))
        .collect();
    let handoffs = specialist.iter().filter(|r| r.handoff == 1).count() as f64;
    let handoff_rate = handoffs / specialist.len() as f64;
    assert!((0.10..0.20).contains(&handoff_rate), "{handoff_rate}");
    let low = share(rows, |r| r.decision == "routed" && r.confidence < 0.5);
    assert!(low > 0.02, "some low-confidence routed questions: {low}");
    assert!(share(rows, |r| r.question.as_deref().unwrap().contains("[email]")) > 0.0);
    let not_helpful = |keep: &dyn Fn(&Logged) -> bool| {
        let rated: Vec<&Logged> = rows
            .iter()
            .filter(|r| keep(r) && r.feedback.is_some())
            .collect();
        rated
            .iter()
            .filter(|r| r.feedback.as_deref() == Some("not_helpful"))
            .count() as f64
            / rated.len().max(1) as f64
    };
    let routed = not_helpful(&|r| r.decision == "routed");
    let worse = not_helpful(&|r| {
        r.decision == "routed"
            && matches!(
                r.intent.as_deref(),
                Some("hybrid_work" | "supplier_management")
            )
    });
    assert!(
        worse > routed + 0.1,
        "the worse intents {worse}, all routed {routed}"
    );

    // time: weekdays, office hours
    let local = |r: &Logged| {
        chrono::DateTime::from_timestamp_millis(r.received_ms)
            .unwrap()
            .naive_utc()
            + chrono::Duration::hours(utc_offset_hours(
                chrono::DateTime::from_timestamp_millis(r.received_ms)
                    .unwrap()
                    .date_naive(),
            ))
    };
    let weekend = share(rows, |r| {
        matches!(local(r).weekday(), Weekday::Sat | Weekday::Sun)
    });
    assert!(weekend < 0.06, "{weekend}");
    let office = share(rows, |r| {
        (8..18).contains(&chrono::Timelike::hour(&local(r)))
    });
    assert!(office > 0.8, "{office}");

    // askers and departments
    let askers: BTreeSet<&str> = rows.iter().map(|r| r.asker_key.as_str()).collect();
    assert_eq!(summary.askers, askers.len());
    let mut departments: BTreeMap<Option<&str>, BTreeSet<&str>> = BTreeMap::new();
    for r in rows {
        departments
            .entry(r.department.as_deref())
            .or_default()
            .insert(&r.asker_key);
    }
    for (name, _) in DEPARTMENTS {
        assert!(departments[&Some(*name)].len() >= 5, "{name}");
    }
    let legal = departments
        .get(&Some(SMALL_DEPARTMENT))
        .map_or(0, |a| a.len());
    assert!((1..=SMALL_DEPARTMENT_ASKERS).contains(&legal), "{legal}");
    assert!(departments.contains_key(&None));
    let busiest = rows
        .iter()
        .fold(BTreeMap::<&str, usize>::new(), |mut m, r| {
            *m.entry(&r.asker_key).or_default() += 1;
            m
        })
        .into_values()
        .max()
        .unwrap();
    assert!(
        busiest >= 4 * n / askers.len(),
        "Zipf-like: a few ask a lot"
    );

    // the planted topics: what the summary says is what the database holds
    assert_eq!(summary.planted.len(), PLANTED_TOPICS.len());
    for (topic, planted) in PLANTED_TOPICS.iter().zip(&summary.planted) {
        assert_eq!(planted.name, topic.name);
        assert_eq!(planted.keywords, topic.keywords);
        let asked: Vec<&Logged> = rows
            .iter()
            .filter(|r| {
                let q = r.question.as_deref().unwrap().to_lowercase();
                topic.keywords.iter().any(|k| q.contains(k))
            })
            .collect();
        assert!(asked.iter().all(|r| r.decision == "out_of_scope"));
        let askers: BTreeSet<&str> = asked.iter().map(|r| r.asker_key.as_str()).collect();
        assert_eq!(askers.len(), planted.askers, "{}", topic.name);
        match topic.max_askers {
            Some(max) => assert!((1..=max).contains(&planted.askers) && max < 5),
            None => assert!(planted.askers >= 5, "{}: {}", topic.name, planted.askers),
        }
    }

    // the rising topic
    let rising = rising_intent(catalogue).unwrap();
    let quarter = (end_ms - start_ms) / 4;
    let rising_share = |from: i64, to: i64| {
        let period: Vec<&Logged> = rows
            .iter()
            .filter(|r| r.received_ms >= from && r.received_ms < to)
            .collect();
        period
            .iter()
            .filter(|r| r.intent.as_deref() == Some(rising))
            .count() as f64
            / period.len() as f64
    };
    let first = rising_share(i64::MIN, start_ms + quarter);
    let last = rising_share(end_ms - quarter, i64::MAX);
    assert!(last > 2.0 * first, "{rising}: {first} then {last}");
}

#[tokio::test]
async fn seeds_5000_realistic_conversations_into_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let url = sqlite_url(&dir);
    let catalogue = catalogue();
    let options = options(5000, 7);
    let summary = seed_demo(&settings(&url), &catalogue, &options, None)
        .await
        .expect("seeding works");
    let pool = sqlite_pool(&url).await;
    let rows = fetch_sqlite(&pool).await;
    check_seeded(&rows, &catalogue, &options, &summary);
    let inbox: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM inbox")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(inbox, 5000);
    // every row is marked, and the referral load of real questions is left alone
    let marked: (i64, i64) = sqlx::query_as(
        "SELECT (SELECT COUNT(*) FROM conversations WHERE demo = 1), \
         (SELECT COUNT(*) FROM inbox WHERE demo = 1)",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(marked, (5000, 5000));
    let load: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM specialist_load")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(load, 0);
    // the planted topics as a report would find them, in SQL
    for planted in &summary.planted {
        let like: Vec<String> = planted
            .keywords
            .iter()
            .map(|k| format!("LOWER(question) LIKE '%{k}%'"))
            .collect();
        let askers: i64 = sqlx::query_scalar(&format!(
            "SELECT COUNT(DISTINCT asker_key) FROM conversations WHERE {}",
            like.join(" OR ")
        ))
        .fetch_one(&pool)
        .await
        .unwrap();
        assert_eq!(askers as usize, planted.askers, "{}", planted.name);
    }
}

#[tokio::test]
async fn the_same_seed_gives_the_same_rows() {
    let catalogue = catalogue();
    let mut seeded = Vec::new();
    for seed in [11, 11, 12] {
        let dir = tempfile::tempdir().unwrap();
        let url = sqlite_url(&dir);
        seed_demo(&settings(&url), &catalogue, &options(1500, seed), None)
            .await
            .unwrap();
        seeded.push(fetch_sqlite(&sqlite_pool(&url).await).await);
    }
    assert_eq!(seeded[0].len(), 1500);
    assert_eq!(seeded[0], seeded[1]);
    assert_ne!(seeded[0], seeded[2]);
}

#[tokio::test]
async fn a_seed_already_in_the_database_is_refused_and_another_appends() {
    let dir = tempfile::tempdir().unwrap();
    let url = sqlite_url(&dir);
    let catalogue = catalogue();
    let settings = settings(&url);
    seed_demo(&settings, &catalogue, &options(700, 1), None)
        .await
        .unwrap();
    let again = seed_demo(&settings, &catalogue, &options(50, 1), None)
        .await
        .expect_err("the same seed twice");
    let message = format!("{again:#}");
    assert!(
        message.contains("already holds 700 conversations seeded with --seed 1"),
        "{message}"
    );
    let mut without_texts = settings.clone();
    without_texts.log.store_text = false;
    seed_demo(&without_texts, &catalogue, &options(300, 2), None)
        .await
        .unwrap();
    let pool = sqlite_pool(&url).await;
    let rows = fetch_sqlite(&pool).await;
    assert_eq!(rows.len(), 1000);
    assert!(rows.iter().all(|r| r.id == r.inbox_id));
    let second: Vec<&Logged> = rows
        .iter()
        .filter(|r| r.delivery_id.starts_with("seed:2:"))
        .collect();
    assert_eq!(second.len(), 300);
    assert!(second.iter().all(|r| r.question.is_none()));
    assert!(second.iter().all(|r| r.id > 700));
    // the database's own ids carry on after the seeded ones
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO inbox (delivery_id, channel, conversation, asker_key, received_ms) \
         VALUES ('web:after', 'web', 'x', 'y', 0) RETURNING id",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(id, 1001);
}

#[test]
fn planted_keywords_belong_to_their_topic_only() {
    let catalogue = catalogue();
    for topic in PLANTED_TOPICS {
        assert!(topic.keywords.iter().all(|k| *k == k.to_lowercase()));
        for template in topic.nl.iter().chain(topic.en) {
            for place in PLACES {
                let text = template.replace("{place}", place);
                assert_eq!(
                    planted_topic_of(&text).map(|t| t.name),
                    Some(topic.name),
                    "{text}"
                );
                let others = PLANTED_TOPICS
                    .iter()
                    .filter(|o| o.name != topic.name)
                    .flat_map(|o| o.keywords.iter())
                    .filter(|k| text.to_lowercase().contains(**k))
                    .count();
                assert_eq!(others, 0, "{text}");
            }
        }
    }
    let mut other_texts: Vec<String> = Vec::new();
    for intent in &catalogue.intents {
        other_texts.extend(intent.examples.iter().map(|(_, t)| t.to_string()));
    }
    other_texts.extend(catalogue.out_of_scope.iter().map(|(_, t)| t.to_string()));
    other_texts.extend(NOISE_NL.iter().chain(NOISE_EN).map(|t| t.to_string()));
    for tag in catalogue.specialists.iter().flat_map(|s| &s.tags) {
        for phrasing in DIRECTORY_NL.iter().chain(DIRECTORY_EN) {
            other_texts.push(phrasing.replace("{t}", tag));
        }
    }
    for affix in [
        PREFIX_NL, PREFIX_EN, SUFFIX_NL, SUFFIX_EN, EMAIL_NL, EMAIL_EN, PHONE_NL, PHONE_EN,
    ]
    .concat()
    {
        other_texts.push(affix.to_string());
    }
    for text in &other_texts {
        assert!(planted_topic_of(text).is_none(), "{text}");
    }
}

#[test]
fn directory_phrasings_are_directory_questions() {
    for phrasing in DIRECTORY_NL.iter().chain(DIRECTORY_EN) {
        let text = phrasing.replace("{t}", "power bi");
        assert_eq!(
            crate::routing::directory_topic(&text).as_deref(),
            Some("power bi"),
            "{text}"
        );
    }
}

#[test]
fn dutch_summer_time() {
    let day = |m, d| NaiveDate::from_ymd_opt(2026, m, d).unwrap();
    assert_eq!(utc_offset_hours(day(3, 28)), 1);
    assert_eq!(utc_offset_hours(day(3, 29)), 2);
    assert_eq!(utc_offset_hours(day(10, 24)), 2);
    assert_eq!(utc_offset_hours(day(10, 25)), 1);
    assert_eq!(utc_offset_hours(day(12, 31)), 1);
}

#[test]
fn the_rising_topic_of_the_shipped_catalogue() {
    assert_eq!(rising_intent(&catalogue()), Some("ai_automation"));
}
