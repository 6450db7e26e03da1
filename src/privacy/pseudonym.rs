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
mod tests;
