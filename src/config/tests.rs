use super::*;

fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn defaults_without_file_or_environment() {
    let s = Settings::load_with_env(None, env(&[])).unwrap();
    assert_eq!(s.server.bind.to_string(), "0.0.0.0:8080");
    assert_eq!(s.database.describe(), "sqlite://./data/referral-desk.db");
    assert_eq!(s.database.sqlite_dir(), Some(PathBuf::from("./data")));
    assert_eq!(s.catalogue.dir, PathBuf::from("intents"));
    assert!(s.log.store_text);
    assert_eq!(s.log.retention_days, 90);
    assert!(s.privacy.pseudonym_key.is_none());
}

#[test]
fn file_then_environment() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.toml");
    std::fs::write(
        &path,
        "[server]\nbind = \"127.0.0.1:9000\"\n[log]\nstore_text = false\nretention_days = 30\n",
    )
    .unwrap();
    let s = Settings::load_with_env(
        Some(&path),
        env(&[
            ("REFERRAL_DESK__LOG__RETENTION_DAYS", "7"),
            (
                "REFERRAL_DESK__DATABASE__URL",
                "postgres://u:hunter2@db.internal/hr",
            ),
            ("OTHER", "x"),
        ]),
    )
    .unwrap();
    assert_eq!(s.server.bind.to_string(), "127.0.0.1:9000");
    assert!(!s.log.store_text);
    assert_eq!(s.log.retention_days, 7);
    assert_eq!(s.database.describe(), "postgres://db.internal/hr");
    assert!(!format!("{s:?}").contains("hunter2"), "secrets never print");
    assert_eq!(s.database.sqlite_dir(), None);
}

#[test]
fn slack_needs_both_secrets() {
    let err = Settings::load_with_env(
        None,
        env(&[("REFERRAL_DESK__SLACK__SIGNING_SECRET", "s3cr3t")]),
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("slack.bot_token") && !err.contains("s3cr3t"),
        "{err}"
    );
    let s = Settings::load_with_env(
        None,
        env(&[
            ("REFERRAL_DESK__SLACK__SIGNING_SECRET", "s3cr3t"),
            ("REFERRAL_DESK__SLACK__BOT_TOKEN", "xoxb-1"),
        ]),
    )
    .unwrap();
    assert!(s.slack.is_enabled());
    assert!(!format!("{s:?}").contains("xoxb-1"));
    // an empty token (a `.env` line left blank) would switch Slack on without replies
    let err = Settings::load_with_env(
        None,
        env(&[
            ("REFERRAL_DESK__SLACK__SIGNING_SECRET", "s3cr3t"),
            ("REFERRAL_DESK__SLACK__BOT_TOKEN", " "),
        ]),
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("slack.bot_token") && err.contains("is empty"),
        "{err}"
    );
}

#[test]
fn teams_partial_configuration_fails_with_the_key_to_fix() {
    let cases: &[(&[(&str, &str)], &str)] = &[
        (
            &[("REFERRAL_DESK__TEAMS__APP_ID", "app-1")],
            "teams.app_password",
        ),
        (
            &[("REFERRAL_DESK__TEAMS__APP_PASSWORD", "pw-secret")],
            "teams.app_id",
        ),
        (
            &[
                ("REFERRAL_DESK__TEAMS__APP_ID", "app-1"),
                ("REFERRAL_DESK__TEAMS__APP_PASSWORD", "pw-secret"),
                ("REFERRAL_DESK__TEAMS__APP_TYPE", "single_tenant"),
            ],
            "teams.tenant_id",
        ),
        (
            &[("REFERRAL_DESK__TEAMS__WEBHOOK_HMAC_KEY", "not base64!")],
            "teams.webhook_hmac_key",
        ),
        (
            &[
                ("REFERRAL_DESK__TEAMS__APP_ID", "app-1"),
                ("REFERRAL_DESK__TEAMS__APP_PASSWORD", "pw-secret"),
                ("REFERRAL_DESK__TEAMS__APP_TYPE", "some_tenant"),
            ],
            "app_type",
        ),
    ];
    for (vars, key) in cases {
        let err = Settings::load_with_env(None, env(vars))
            .unwrap_err()
            .to_string();
        assert!(err.contains(key), "{vars:?}: {err}");
        assert!(!err.contains("pw-secret"), "{err}");
    }
}

#[test]
fn teams_token_authority_follows_the_app_type() {
    let multi = Settings::load_with_env(
        None,
        env(&[
            ("REFERRAL_DESK__TEAMS__APP_ID", "app-1"),
            ("REFERRAL_DESK__TEAMS__APP_PASSWORD", "pw-secret"),
        ]),
    )
    .unwrap();
    assert!(multi.teams.bot_enabled());
    assert_eq!(
        multi.teams.token_endpoint(),
        "https://login.microsoftonline.com/botframework.com/oauth2/v2.0/token"
    );
    assert!(!format!("{multi:?}").contains("pw-secret"));
    let single = Settings::load_with_env(
        None,
        env(&[
            ("REFERRAL_DESK__TEAMS__APP_ID", "app-1"),
            ("REFERRAL_DESK__TEAMS__APP_PASSWORD", "pw-secret"),
            ("REFERRAL_DESK__TEAMS__APP_TYPE", "single_tenant"),
            ("REFERRAL_DESK__TEAMS__TENANT_ID", "tenant-9"),
            (
                "REFERRAL_DESK__TEAMS__SERVICE_URL_ALLOWLIST",
                "smba.trafficmanager.net, http://localhost:3978",
            ),
        ]),
    )
    .unwrap();
    assert_eq!(
        single.teams.token_endpoint(),
        "https://login.microsoftonline.com/tenant-9/oauth2/v2.0/token"
    );
    assert_eq!(
        single.teams.service_url_allowlist,
        ["smba.trafficmanager.net", "http://localhost:3978"]
    );
    let webhook_only = Settings::load_with_env(
        None,
        env(&[("REFERRAL_DESK__TEAMS__WEBHOOK_HMAC_KEY", "c2VjcmV0LWtleQ==")]),
    )
    .unwrap();
    assert!(!webhook_only.teams.bot_enabled());
    assert!(webhook_only.teams.webhook_hmac_key.is_some());
}

/// Issue 13, item 19: a refused configuration names the key, never the value (which may
/// be a secret under the wrong key or of the wrong type).
#[test]
fn a_refused_configuration_never_repeats_a_value() {
    const SECRET: &str = "xoxb-SECRET-4242";
    let dir = tempfile::tempdir().unwrap();
    let files = [
        format!("[analytics]\ntokens = \"{SECRET}\"\n"),
        format!("[analytics]\nenabled = \"{SECRET}\"\n"),
        format!("[slack]\nbot_token = [\"{SECRET}\"]\n"),
        format!("[slack]\nbot_token = \"{SECRET}\n"),
        format!("[slack]\nbot_token = '{SECRET}\n"),
        format!("[slack]\nbot_token = {SECRET}\n"),
        format!("slack = \"{SECRET}\"\n"),
        format!("[server]\nbind = \"{SECRET}\"\n"),
    ];
    for (i, text) in files.iter().enumerate() {
        let path = dir.path().join(format!("c{i}.toml"));
        std::fs::write(&path, text).unwrap();
        let err = Settings::load_with_env(Some(&path), env(&[]))
            .unwrap_err()
            .to_string();
        assert!(!err.contains("SECRET-4242"), "{text:?} gave: {err}");
        assert!(!err.trim().is_empty());
    }
    for vars in [
        [("REFERRAL_DESK__SLACK", SECRET)],
        [("REFERRAL_DESK__ANALYTICS__ENABLED", SECRET)],
        [("REFERRAL_DESK__SERVER__BIND", SECRET)],
        [("REFERRAL_DESK__OUTBOX__MAX_ATTEMPTS", SECRET)],
        [("REFERRAL_DESK__SERVER__TRUSTED_PROXIES", SECRET)],
    ] {
        let err = Settings::load_with_env(None, env(&vars))
            .unwrap_err()
            .to_string();
        assert!(!err.contains("SECRET-4242"), "{vars:?} gave: {err}");
        // the key is still named so the operator knows what to fix
        let key = vars[0]
            .0
            .trim_start_matches("REFERRAL_DESK__")
            .to_lowercase();
        let last = key.rsplit("__").next().unwrap();
        assert!(err.contains(last), "{vars:?} gave: {err}");
    }
}

#[test]
fn trusted_proxies_timeouts_and_framing_are_checked() {
    let s = Settings::load_with_env(
        None,
        env(&[
            (
                "REFERRAL_DESK__SERVER__TRUSTED_PROXIES",
                "10.0.0.0/8, 192.0.2.7",
            ),
            (
                "REFERRAL_DESK__WEB__FRAME_ANCESTORS",
                "'self',https://intranet.example.nl",
            ),
        ]),
    )
    .unwrap();
    assert_eq!(s.server.trusted_proxies, ["10.0.0.0/8", "192.0.2.7"]);
    assert!(s.server.secure_cookies, "secure by default");
    assert_eq!(
        s.web.frame_ancestors,
        ["'self'", "https://intranet.example.nl"]
    );
    for (vars, key) in [
        (
            [("REFERRAL_DESK__SERVER__TRUSTED_PROXIES", "proxy.internal")],
            "server.trusted_proxies",
        ),
        (
            [("REFERRAL_DESK__SERVER__REQUEST_TIMEOUT_SECONDS", "0")],
            "server.request_timeout_seconds",
        ),
        (
            [("REFERRAL_DESK__WEB__FRAME_ANCESTORS", "x; script-src *")],
            "web.frame_ancestors",
        ),
        (
            [("REFERRAL_DESK__METRICS__BIND", "0.0.0.0:8080")],
            "metrics.bind",
        ),
    ] {
        let err = Settings::load_with_env(None, env(&vars))
            .unwrap_err()
            .to_string();
        assert!(err.contains(key), "{vars:?}: {err}");
    }
}

#[test]
fn bad_values_name_the_key() {
    let err = Settings::load_with_env(None, env(&[("REFERRAL_DESK__SERVER__BIND", "port 80")]))
        .unwrap_err()
        .to_string();
    assert!(err.contains("bind"), "{err}");
    let err = Settings::load_with_env(None, env(&[("REFERRAL_DESK__DATABASE__URL", "mysql://x")]))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("database.url") && err.contains("sqlite://"),
        "{err}"
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.toml");
    std::fs::write(&path, "[server]\nbnd = \"127.0.0.1:1\"\n").unwrap();
    let err = Settings::load_with_env(Some(&path), env(&[]))
        .unwrap_err()
        .to_string();
    assert!(err.contains("bnd"), "{err}");
    let err = Settings::load_with_env(Some(&dir.path().join("none.toml")), env(&[]))
        .unwrap_err()
        .to_string();
    assert!(err.contains("none.toml"), "{err}");
}

/// The environment is read here and only here: the embedding cache variable CI and developers
/// share is a default (the file and `REFERRAL_DESK__CLASSIFIER__EMBEDDING_CACHE` win), and
/// `RUST_LOG` reaches the log filter through the settings.
#[test]
fn the_shared_embedding_cache_and_rust_log_come_in_through_the_settings() {
    let s = Settings::load_with_env(None, env(&[])).unwrap();
    assert_eq!(
        s.classifier.embedding_cache,
        Some(PathBuf::from("data/embeddings"))
    );
    assert_eq!(s.telemetry.rust_log, None);

    let s = Settings::load_with_env(
        None,
        env(&[
            ("REFERRAL_DESK_EMBEDDING_CACHE", "/cache/shared"),
            ("RUST_LOG", "referral_desk=debug"),
        ]),
    )
    .unwrap();
    assert_eq!(
        s.classifier.embedding_cache,
        Some(PathBuf::from("/cache/shared"))
    );
    assert_eq!(s.telemetry.rust_log.as_deref(), Some("referral_desk=debug"));

    let s = Settings::load_with_env(
        None,
        env(&[
            ("REFERRAL_DESK_EMBEDDING_CACHE", "/cache/shared"),
            ("REFERRAL_DESK__CLASSIFIER__EMBEDDING_CACHE", "/cache/mine"),
        ]),
    )
    .unwrap();
    assert_eq!(
        s.classifier.embedding_cache,
        Some(PathBuf::from("/cache/mine"))
    );

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("desk.toml");
    std::fs::write(&file, "[classifier]\nembedding_cache = \"/cache/file\"\n").unwrap();
    let s = Settings::load_with_env(
        Some(&file),
        env(&[("REFERRAL_DESK_EMBEDDING_CACHE", "/cache/shared")]),
    )
    .unwrap();
    assert_eq!(
        s.classifier.embedding_cache,
        Some(PathBuf::from("/cache/file"))
    );
}
