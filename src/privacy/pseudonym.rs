//! Pseudonymous keys for chat users, so conversations can be counted and linked per asker
//! without ever storing who the asker is.
//!
//! A [`Pseudonymiser`] turns a raw platform user id (Slack `U…`, Teams AAD object id) into a
//! keyed hash. The key is a 32-byte secret kept outside the database (a key file created by
//! [`Pseudonymiser::load_or_create`], or a secret from the configuration), so someone with
//! only the database cannot recompute a pseudonym from a known user id. The namespace (channel
//! plus workspace or tenant) is hashed in, so the same raw id in two workspaces gives unrelated
//! keys and reports cannot be joined across them.
//!
//! Losing or replacing the key breaks the link between old and new conversations of the same
//! person; that is also the way to deliberately unlink all history.

use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::thread;
use std::time::{Duration, Instant};

use hmac::{Hmac, Mac};
use rand::RngCore;
use rand::TryRngCore;
use rand::rngs::OsRng;
use secrecy::{ExposeSecret, ExposeSecretMut, SecretBox, SecretString};
use sha2::{Digest, Sha256};

use super::PrivacyError;

/// HMAC-SHA256 key length; also the minimum length of a passphrase-style secret, so that the
/// secret has at least as many bytes as the key it is hashed into.
const KEY_LEN: usize = 32;

/// Separates namespace and raw id in the HMAC input (U+001F, unit separator). Platform ids and
/// workspace ids never contain control characters, so the pair cannot be confused with another
/// pair.
const SEPARATOR: &[u8] = b"\x1f";

/// A key file is 64 hex characters and a newline; anything much larger is not a key file and
/// is not read into memory.
const MAX_KEY_FILE_LEN: u64 = 4096;

/// Another process that just created the key file may not have written it yet; wait this long
/// in total for it before calling the file invalid.
const CONCURRENT_WRITE_WAIT: Duration = Duration::from_millis(500);
const CONCURRENT_WRITE_POLL: Duration = Duration::from_millis(25);

/// Derives pseudonymous user keys. Holds the secret key; `Debug` never shows it.
pub struct Pseudonymiser {
    key: SecretBox<[u8; KEY_LEN]>,
}

impl fmt::Debug for Pseudonymiser {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Pseudonymiser([redacted])")
    }
}

impl Pseudonymiser {
    /// Builds a pseudonymiser from a configured secret: either 64 hex characters (the key
    /// itself, as `openssl rand -hex 32` prints it) or a passphrase of at least 32 bytes,
    /// which is hashed with SHA-256 into the key. Surrounding whitespace is ignored, so a
    /// trailing newline from an env file or a secret mount does not silently change every
    /// pseudonym.
    pub fn from_secret(secret: &SecretString) -> Result<Self, PrivacyError> {
        let text = secret.expose_secret().trim();
        if let Some(key) = decode_hex_key(text) {
            return Ok(Self { key });
        }
        if text.len() < KEY_LEN {
            return Err(PrivacyError::SecretTooShort {
                len: text.len(),
                min: KEY_LEN,
            });
        }
        let key = SecretBox::init_with_mut(|key: &mut [u8; KEY_LEN]| {
            Sha256::new_with_prefix(text.as_bytes()).finalize_into(key.into());
        });
        Ok(Self { key })
    }

    /// A fresh random key from the operating system, for tests and one-off runs whose
    /// pseudonyms need not match any earlier run.
    ///
    /// # Panics
    /// If the operating system's random source fails; a key must never come from anything
    /// weaker.
    pub fn generate() -> Self {
        let key = SecretBox::init_with_mut(|key: &mut [u8; KEY_LEN]| {
            OsRng.unwrap_err().fill_bytes(key);
        });
        Self { key }
    }

    /// Loads the key file at `path`, or creates it with a new random key when it does not
    /// exist, so a deployment gets a stable key on first start without an extra setup step.
    ///
    /// The file holds the key as 64 hex characters. On Unix it is created with mode 0600 (its
    /// directory, if created, 0700), and an existing file that group or others can access is
    /// refused rather than used: a readable key would let anyone with the database re-identify
    /// users. Two processes starting at once agree on one key: creation is exclusive, and the
    /// loser reads the winner's file.
    pub fn load_or_create(path: &Path) -> Result<Self, PrivacyError> {
        loop {
            match open_existing(path)? {
                Some(file) => return read_key_file(path, file),
                None => {
                    if let Some(key) = create_key_file(path)? {
                        return Ok(Self { key });
                    }
                    // Lost the race against another process: read its file.
                }
            }
        }
    }

    /// The pseudonymous key of `raw_id` within `namespace`: lowercase hex of
    /// HMAC-SHA256(key, namespace + U+001F + raw_id), 64 characters. Build the namespace from the
    /// channel and the workspace or tenant id (e.g. `slack:T024BE7LD`), so ids that are only
    /// unique per workspace cannot collide and cannot be linked across workspaces.
    pub fn pseudonymise(&self, namespace: &str, raw_id: &str) -> String {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(self.key.expose_secret())
            .expect("HMAC accepts keys of any length");
        mac.update(namespace.as_bytes());
        mac.update(SEPARATOR);
        mac.update(raw_id.as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }
}

fn decode_hex_key(text: &str) -> Option<SecretBox<[u8; KEY_LEN]>> {
    if text.len() != 2 * KEY_LEN || !text.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    new_key(|key| hex::decode_to_slice(text, key)).ok()
}

/// Fills the key in place on the heap, so no copy of it is left on the stack; on error the
/// partly filled key is zeroed when dropped.
fn new_key<E>(
    fill: impl FnOnce(&mut [u8; KEY_LEN]) -> Result<(), E>,
) -> Result<SecretBox<[u8; KEY_LEN]>, E> {
    let mut key = SecretBox::<[u8; KEY_LEN]>::default();
    fill(key.expose_secret_mut())?;
    Ok(key)
}

/// `Ok(None)` when there is no file yet.
fn open_existing(path: &Path) -> Result<Option<File>, PrivacyError> {
    match File::open(path) {
        Ok(file) => Ok(Some(file)),
        Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(err) => Err(io_error("read", path, err)),
    }
}

fn read_key_file(path: &Path, mut file: File) -> Result<Pseudonymiser, PrivacyError> {
    let deadline = Instant::now() + CONCURRENT_WRITE_WAIT;
    loop {
        check_permissions(path, &file)?;
        // Sized for a key file, so reading one does not reallocate and leave copies behind.
        let mut contents = String::with_capacity(4 * KEY_LEN);
        (&mut file)
            .take(MAX_KEY_FILE_LEN)
            .read_to_string(&mut contents)
            .map_err(|err| match err.kind() {
                io::ErrorKind::InvalidData => invalid_key_file(path),
                _ => io_error("read", path, err),
            })?;
        let contents = SecretString::from(contents);
        if let Some(key) = decode_hex_key(contents.expose_secret().trim()) {
            return Ok(Pseudonymiser { key });
        }
        // A short file may still be being written by the process that created it.
        let maybe_incomplete = contents.expose_secret().trim_end().len() < 2 * KEY_LEN;
        if !maybe_incomplete || Instant::now() >= deadline {
            return Err(invalid_key_file(path));
        }
        thread::sleep(CONCURRENT_WRITE_POLL);
        file = File::open(path).map_err(|err| io_error("read", path, err))?;
    }
}

#[cfg(unix)]
fn check_permissions(path: &Path, file: &File) -> Result<(), PrivacyError> {
    use std::os::unix::fs::PermissionsExt;

    let metadata = file.metadata().map_err(|err| io_error("read", path, err))?;
    let mode = metadata.permissions().mode() & 0o777;
    if !metadata.is_file() {
        return Err(invalid_key_file(path));
    }
    if mode & 0o077 != 0 {
        return Err(PrivacyError::KeyFilePermissions {
            path: path.to_path_buf(),
            mode,
        });
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_permissions(path: &Path, file: &File) -> Result<(), PrivacyError> {
    let metadata = file.metadata().map_err(|err| io_error("read", path, err))?;
    if !metadata.is_file() {
        return Err(invalid_key_file(path));
    }
    Ok(())
}

/// Creates the key file exclusively. `Ok(None)` when another process created it first.
fn create_key_file(path: &Path) -> Result<Option<SecretBox<[u8; KEY_LEN]>>, PrivacyError> {
    if let Some(dir) = path.parent().filter(|dir| !dir.as_os_str().is_empty()) {
        create_private_dir(dir).map_err(|err| io_error("create the directory of", path, err))?;
    }
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = match options.open(path) {
        Ok(file) => file,
        Err(err) if err.kind() == io::ErrorKind::AlreadyExists => return Ok(None),
        Err(err) => return Err(io_error("create", path, err)),
    };
    let key = new_key(|key| OsRng.try_fill_bytes(key))
        .map_err(|err| PrivacyError::Randomness(err.to_string()))?;
    let hex_key = SecretString::from(hex::encode(key.expose_secret()));
    file.write_all(hex_key.expose_secret().as_bytes())
        .and_then(|()| file.write_all(b"\n"))
        .and_then(|()| file.sync_all())
        .map_err(|err| {
            // A half-written file would block every later start; without it, the next start
            // simply tries again.
            let _ = fs::remove_file(path);
            io_error("write", path, err)
        })?;
    tracing::info!(
        path = %path.display(),
        "created a new pseudonymisation key file; back it up, a lost key unlinks all history"
    );
    Ok(Some(key))
}

fn create_private_dir(dir: &Path) -> io::Result<()> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir)
}

fn io_error(action: &'static str, path: &Path, source: io::Error) -> PrivacyError {
    PrivacyError::KeyFileIo {
        action,
        path: path.to_path_buf(),
        source,
    }
}

fn invalid_key_file(path: &Path) -> PrivacyError {
    PrivacyError::InvalidKeyFile {
        path: PathBuf::from(path),
    }
}

#[cfg(test)]
mod tests {
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
        let not_a_key =
            "this is not a key but it is a long enough line of text to not be incomplete";
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
}
