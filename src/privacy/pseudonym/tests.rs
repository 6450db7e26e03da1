use super::*;

const HEX_KEY: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

fn from(secret: &str) -> Result<Pseudonymiser, PrivacyError> {
    Pseudonymiser::from_secret(&SecretString::from(secret))
}

fn fixed() -> Pseudonymiser {
    from(HEX_KEY).expect("64 hex characters are a valid key")
}

#[test]
fn same_input_gives_same_pseudonym() {
    let p = fixed();
    assert_eq!(
        p.pseudonymise("slack:T024BE7LD", "U023BECGF"),
        p.pseudonymise("slack:T024BE7LD", "U023BECGF")
    );
    assert_eq!(
        fixed().pseudonymise("slack:T024BE7LD", "U023BECGF"),
        p.pseudonymise("slack:T024BE7LD", "U023BECGF")
    );
}

#[test]
fn matches_hmac_sha256_of_namespace_separator_and_id() {
    let mut mac =
        <Hmac<Sha256> as Mac>::new_from_slice(&hex::decode(HEX_KEY).expect("test key is hex"))
            .expect("HMAC accepts keys of any length");
    mac.update(b"teams:tenant-1\x1f29:1abc");
    let expected = hex::encode(mac.finalize().into_bytes());
    assert_eq!(fixed().pseudonymise("teams:tenant-1", "29:1abc"), expected);
}

#[test]
fn namespaces_separate_the_same_raw_id() {
    let p = fixed();
    assert_ne!(
        p.pseudonymise("slack:T1", "U023BECGF"),
        p.pseudonymise("slack:T2", "U023BECGF")
    );
    assert_ne!(
        p.pseudonymise("slack:T1", "U023BECGF"),
        p.pseudonymise("teams:T1", "U023BECGF")
    );
    // The separator keeps the boundary: moving characters across it changes the result.
    assert_ne!(p.pseudonymise("ab", "c"), p.pseudonymise("a", "bc"));
}

#[test]
fn different_keys_give_different_pseudonyms() {
    let a = Pseudonymiser::generate();
    let b = Pseudonymiser::generate();
    assert_ne!(
        a.pseudonymise("slack:T1", "U1"),
        b.pseudonymise("slack:T1", "U1")
    );
    assert_ne!(
        fixed().pseudonymise("slack:T1", "U1"),
        a.pseudonymise("slack:T1", "U1")
    );
}

#[test]
fn output_is_64_lowercase_hex_and_does_not_contain_the_raw_id() {
    let p = fixed();
    for raw in ["U023BECGF", "abc", "", "29:1f3a9c", "00000000"] {
        let out = p.pseudonymise("slack:T1", raw);
        assert_eq!(out.len(), 64);
        assert!(
            out.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        );
        if raw.len() >= 3 {
            assert!(
                !out.contains(&raw.to_lowercase()),
                "{raw} leaked into {out}"
            );
        }
    }
}

#[test]
fn debug_does_not_leak_the_key() {
    let p = fixed();
    let debug = format!("{p:?}");
    assert_eq!(debug, "Pseudonymiser([redacted])");
    assert!(!format!("{p:#?}").contains("0001020304"));
}

#[test]
fn passphrase_secret_is_hashed_into_the_key() {
    let phrase = "correct horse battery staple, but longer";
    let p = from(phrase).expect("40 bytes is long enough");
    let q = from(&format!("  {phrase}\n")).expect("whitespace is trimmed");
    assert_eq!(p.pseudonymise("n", "u"), q.pseudonymise("n", "u"));

    let hashed = hex::encode(Sha256::digest(phrase.as_bytes()));
    let r = from(&hashed).expect("hex key");
    assert_eq!(p.pseudonymise("n", "u"), r.pseudonymise("n", "u"));
}

#[test]
fn hex_key_is_decoded_not_hashed() {
    let upper = from(&HEX_KEY.to_uppercase()).expect("hex is case-insensitive");
    assert_eq!(upper.pseudonymise("n", "u"), fixed().pseudonymise("n", "u"));
}

#[test]
fn rejects_a_too_short_secret() {
    let err = from("only-31-bytes-xxxxxxxxxxxxxxxxx").expect_err("31 bytes is too short");
    assert!(matches!(
        err,
        PrivacyError::SecretTooShort { len: 31, min: 32 }
    ));
    let message = err.to_string();
    assert!(message.contains("at least 32 bytes"), "{message}");
    assert!(!message.contains("only-31-bytes"), "{message}");
    assert!(from("").is_err());
    assert!(from("32-bytes-exactly-xxxxxxxxxxxxxxx").is_ok());
}

#[test]
fn load_or_create_creates_a_private_key_file_and_reloads_it() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("keys").join("pseudonym.key");
    let created = Pseudonymiser::load_or_create(&path).expect("creates the key");

    let contents = fs::read_to_string(&path).expect("key file exists");
    assert_eq!(contents.trim_end().len(), 64);
    assert!(contents.trim_end().bytes().all(|b| b.is_ascii_hexdigit()));

    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = fs::metadata(&path).expect("metadata").permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    let reloaded = Pseudonymiser::load_or_create(&path).expect("reloads the key");
    assert_eq!(
        created.pseudonymise("slack:T1", "U1"),
        reloaded.pseudonymise("slack:T1", "U1")
    );
    let from_hex = from(contents.trim_end()).expect("the file holds a hex key");
    assert_eq!(
        created.pseudonymise("slack:T1", "U1"),
        from_hex.pseudonymise("slack:T1", "U1")
    );
}

#[test]
fn concurrent_load_or_create_agrees_on_one_key() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("pseudonym.key");
    let pseudonyms: Vec<String> = thread::scope(|scope| {
        let handles: Vec<_> = (0..8)
            .map(|_| {
                scope.spawn(|| {
                    Pseudonymiser::load_or_create(&path)
                        .expect("load or create")
                        .pseudonymise("n", "u")
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("thread did not panic"))
            .collect()
    });
    assert!(pseudonyms.windows(2).all(|w| w[0] == w[1]));
}

#[cfg(unix)]
#[test]
fn rejects_a_world_readable_key_file() {
    use std::os::unix::fs::PermissionsExt;

    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("pseudonym.key");
    fs::write(&path, format!("{HEX_KEY}\n")).expect("write key");
    fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).expect("chmod");

    let err = Pseudonymiser::load_or_create(&path).expect_err("0644 must be refused");
    assert!(matches!(
        err,
        PrivacyError::KeyFilePermissions { mode: 0o644, .. }
    ));
    let message = err.to_string();
    assert!(message.contains(&path.display().to_string()), "{message}");
    assert!(message.contains("chmod 600"), "{message}");
    assert!(!message.contains(HEX_KEY), "{message}");

    fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).expect("chmod");
    let p = Pseudonymiser::load_or_create(&path).expect("0600 is accepted");
    assert_eq!(p.pseudonymise("n", "u"), fixed().pseudonymise("n", "u"));
}

#[test]
fn rejects_a_key_file_that_is_not_a_key() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("pseudonym.key");
    let not_a_key = "this is not a key but it is a long enough line of text to not be incomplete";
    fs::write(&path, not_a_key).expect("write");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).expect("chmod");
    }

    let err = Pseudonymiser::load_or_create(&path).expect_err("not hex");
    assert!(matches!(err, PrivacyError::InvalidKeyFile { .. }));
    let message = err.to_string();
    assert!(message.contains(&path.display().to_string()), "{message}");
    assert!(!message.contains("long enough"), "{message}");
    // The bad file is left alone for the operator to inspect.
    assert_eq!(fs::read_to_string(&path).expect("still there"), not_a_key);
}
