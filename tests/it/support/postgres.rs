//! The PostgreSQL server the tests use, found or started.
//!
//! In order: the server `REFERRAL_DESK_TEST_POSTGRES` names (it must answer: a URL someone
//! set on purpose is never silently replaced; the value `throwaway` asks for a throwaway server
//! even when another answers); the one at `127.0.0.1:5432` (database `test`,
//! as `.ci/run` and the usual machine have it); else a throwaway server started from this
//! machine's PostgreSQL binaries (`initdb`, `pg_ctl`, found on `PATH`, in
//! `/usr/lib/postgresql/*/bin`, or in `REFERRAL_DESK_TEST_PG_BINDIR`) in a temporary folder on a
//! free loopback port, shared by every test binary of the same `cargo test` and stopped by a
//! watchdog when that cargo process exits. When none of these works, the tests that need
//! PostgreSQL skip (see `skip.rs`), naming what was tried.
//!
//! Each test then works in a schema of its own ([`PgSchema`]).

use std::net::{SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

use super::skip::skip;

/// The server on the usual machine (`.ci/run` starts it).
const DEFAULT_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

/// How long a test waits for PostgreSQL to answer before it calls it unreachable.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);

/// The base URL of a PostgreSQL server for tests, or `None` after the calling test was marked
/// skipped (see the module docs for where it comes from).
pub fn postgres_url() -> Option<String> {
    static SERVER: OnceLock<Result<String, String>> = OnceLock::new();
    match SERVER.get_or_init(find_or_start) {
        Ok(url) => Some(url.clone()),
        Err(why) => {
            skip("no PostgreSQL", why);
            None
        }
    }
}

/// `url` with any password replaced by `***`, for messages.
pub fn shown(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        _ => url.to_string(),
    }
}

/// A pool on `url` that gives up after [`CONNECT_TIMEOUT`], with a message naming the URL.
pub async fn connect(url: &str) -> sqlx::PgPool {
    sqlx::postgres::PgPoolOptions::new()
        .max_connections(2)
        .acquire_timeout(CONNECT_TIMEOUT)
        .connect(url)
        .await
        .unwrap_or_else(|error| {
            panic!(
                "PostgreSQL at {} refused the tests' connection: {error}",
                shown(url)
            )
        })
}

fn find_or_start() -> Result<String, String> {
    let wanted = std::env::var("REFERRAL_DESK_TEST_POSTGRES").ok();
    if wanted.as_deref() == Some("throwaway") {
        return start_throwaway("REFERRAL_DESK_TEST_POSTGRES=throwaway").map_err(|why| {
            format!("no throwaway server (REFERRAL_DESK_TEST_POSTGRES=throwaway): {why}")
        });
    }
    if let Some(url) = wanted {
        return if !answers(&url) {
            Err(format!(
                "nothing answers at {} (REFERRAL_DESK_TEST_POSTGRES) within {} s; start that \
                 server or unset the variable",
                shown(&url),
                CONNECT_TIMEOUT.as_secs()
            ))
        } else {
            accepts(&url).map(|()| url.clone()).map_err(|error| {
                format!(
                    "{} (REFERRAL_DESK_TEST_POSTGRES) refused the tests: {error}",
                    shown(&url)
                )
            })
        };
    }
    let usual = if answers(DEFAULT_URL) {
        match accepts(DEFAULT_URL) {
            Ok(()) => return Ok(DEFAULT_URL.to_string()),
            Err(error) => format!("{DEFAULT_URL} refused the tests ({error})"),
        }
    } else {
        format!(
            "nothing answers at {DEFAULT_URL} within {} s",
            CONNECT_TIMEOUT.as_secs()
        )
    };
    start_throwaway(&usual).map_err(|why| {
        format!(
            "{usual} and no throwaway server could be started: {why}. Install PostgreSQL's \
             server package, or start one at 127.0.0.1:5432 with trust authentication and a \
             database `test` (.ci/services does either), or set REFERRAL_DESK_TEST_POSTGRES"
        )
    })
}

/// Whether the server at `url` lets the tests in (authentication, database), within
/// [`CONNECT_TIMEOUT`]. On a thread of its own: callers are inside a test's runtime.
fn accepts(url: &str) -> Result<(), String> {
    let url = url.to_string();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|error| error.to_string())?;
        runtime.block_on(async {
            let pool = sqlx::postgres::PgPoolOptions::new()
                .max_connections(1)
                .acquire_timeout(CONNECT_TIMEOUT)
                .connect(&url)
                .await
                .map_err(|error| error.to_string())?;
            pool.close().await;
            Ok(())
        })
    })
    .join()
    .unwrap_or_else(|_| Err("the connection check panicked".to_string()))
}

/// Whether something accepts TCP connections where `url` points (a URL without a host, such
/// as a Unix socket one, is left to the driver).
fn answers(url: &str) -> bool {
    let Ok(parsed) = reqwest::Url::parse(url) else {
        return false;
    };
    let Some(host) = parsed.host_str().filter(|host| !host.is_empty()) else {
        return true;
    };
    let port = parsed.port().unwrap_or(5432);
    let Ok(addresses) = (host, port).to_socket_addrs() else {
        return false;
    };
    addresses
        .into_iter()
        .any(|address: SocketAddr| TcpStream::connect_timeout(&address, CONNECT_TIMEOUT).is_ok())
}

/// Starts (or joins) this `cargo test` run's throwaway server and returns its URL.
fn start_throwaway(because: &str) -> Result<String, String> {
    let bin = server_binaries()?;
    let cargo = std::os::unix::process::parent_id();
    // in the system's temporary folder: as root the server runs as `postgres`, which cannot
    // enter a target folder under /root
    let base = std::env::temp_dir().join(format!("referral-desk-test-postgres-{cargo}"));
    // one test binary at a time: the first starts the server, the others find its URL
    let lock = std::fs::File::create(base.with_extension("lock"))
        .map_err(|error| format!("cannot create the lock beside {}: {error}", base.display()))?;
    lock.lock()
        .map_err(|error| format!("cannot lock {}: {error}", base.display()))?;
    let url_file = base.join("url");
    if let Ok(url) = std::fs::read_to_string(&url_file)
        && answers(&url)
    {
        return Ok(url);
    }
    let _ = std::fs::remove_dir_all(&base);
    std::fs::create_dir_all(&base)
        .map_err(|error| format!("cannot create {}: {error}", base.display()))?;
    let run_as = server_user(&base)?;
    let data = base.join("data");
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map_err(|error| format!("no free loopback port: {error}"))?
        .port();
    run(
        &run_as,
        &bin.join("initdb"),
        &[
            "-D",
            path_str(&data),
            "-A",
            "trust",
            "-U",
            "postgres",
            "-E",
            "UTF8",
            "--locale=C",
            "--no-sync",
        ],
        &base.join("initdb.log"),
    )?;
    let options = format!(
        "-p {port} -c listen_addresses=127.0.0.1 -k {} -c fsync=off -c synchronous_commit=off \
         -c full_page_writes=off -c max_connections=300",
        base.display()
    );
    run(
        &run_as,
        &bin.join("pg_ctl"),
        &[
            "-D",
            path_str(&data),
            "-l",
            path_str(&base.join("server.log")),
            "-w",
            "-t",
            "60",
            "-o",
            &options,
            "start",
        ],
        &base.join("pg_ctl.log"),
    )?;
    start_watchdog(cargo, &run_as, &bin, &data, &base)?;
    let url = format!("postgres://postgres@127.0.0.1:{port}/postgres");
    std::fs::write(&url_file, &url)
        .map_err(|error| format!("cannot write {}: {error}", url_file.display()))?;
    use std::io::Write;
    let _ = writeln!(
        std::io::stderr(),
        "note: {because}; started a throwaway PostgreSQL at 127.0.0.1:{port} from {} in {} \
         (stopped when cargo exits)",
        bin.display(),
        base.display()
    );
    Ok(url)
}

/// The folder holding `initdb` and `pg_ctl`.
fn server_binaries() -> Result<PathBuf, String> {
    let has_both = |dir: &Path| dir.join("initdb").is_file() && dir.join("pg_ctl").is_file();
    if let Some(dir) = std::env::var_os("REFERRAL_DESK_TEST_PG_BINDIR") {
        let dir = PathBuf::from(dir);
        return if has_both(&dir) {
            Ok(dir)
        } else {
            Err(format!(
                "no initdb and pg_ctl in {} (REFERRAL_DESK_TEST_PG_BINDIR)",
                dir.display()
            ))
        };
    }
    let on_path = std::env::var_os("PATH")
        .map(|path| std::env::split_paths(&path).collect::<Vec<_>>())
        .unwrap_or_default();
    if let Some(dir) = on_path.into_iter().find(|dir| has_both(dir)) {
        return Ok(dir);
    }
    // Debian and Ubuntu keep them out of PATH, one folder per major version
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let major = entry.file_name().to_str()?.parse().ok()?;
            Some((major, entry.path().join("bin")))
        })
        .filter(|(_, dir)| has_both(dir))
        .collect();
    versions.sort();
    versions.pop().map(|(_, dir)| dir).ok_or_else(|| {
        "initdb and pg_ctl are not installed (not on PATH, not in /usr/lib/postgresql/*/bin)"
            .to_string()
    })
}

/// Who runs the server: this user, or, as root (initdb refuses root), the `postgres` account,
/// which then gets `base`. `None` means this user.
fn server_user(base: &Path) -> Result<Option<String>, String> {
    use std::os::unix::fs::MetadataExt;
    let running_as_root = std::fs::metadata(base)
        .map(|meta| meta.uid() == 0)
        .unwrap_or(false);
    if !running_as_root {
        return Ok(None);
    }
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
    let Some((uid, gid)) = passwd.lines().find_map(|line| {
        let fields: Vec<&str> = line.split(':').collect();
        (fields.first() == Some(&"postgres") && fields.len() > 3)
            .then(|| Some((fields[2].parse().ok()?, fields[3].parse().ok()?)))
            .flatten()
    }) else {
        return Err(
            "initdb refuses to run as root and there is no `postgres` account to run it as"
                .to_string(),
        );
    };
    std::os::unix::fs::chown(base, Some(uid), Some(gid))
        .map_err(|error| format!("cannot give {} to postgres: {error}", base.display()))?;
    Ok(Some("postgres".to_string()))
}

/// Runs `program args` (as `run_as` when given), its output into `log`; an error quotes the log.
fn run(run_as: &Option<String>, program: &Path, args: &[&str], log: &Path) -> Result<(), String> {
    let mut command = match run_as {
        Some(user) => {
            let mut command = Command::new("runuser");
            command.args(["-u", user, "--"]).arg(program);
            command
        }
        None => Command::new(program),
    };
    let output = std::fs::File::create(log)
        .map_err(|error| format!("cannot create {}: {error}", log.display()))?;
    let errors = output
        .try_clone()
        .map_err(|error| format!("cannot write {}: {error}", log.display()))?;
    // into a file, not a pipe: the server that pg_ctl leaves running would hold a pipe open
    let status = command
        .args(args)
        .stdin(Stdio::null())
        .stdout(output)
        .stderr(errors)
        .status()
        .map_err(|error| format!("cannot run {}: {error}", program.display()))?;
    if status.success() {
        Ok(())
    } else {
        let said = std::fs::read_to_string(log).unwrap_or_default();
        Err(format!(
            "{} failed ({status}): {}",
            program.display(),
            said.trim()
        ))
    }
}

/// A detached shell that waits for the `cargo` process to exit, then stops the server and
/// removes its folder; in its own process group, so Ctrl-C on cargo does not kill it first.
fn start_watchdog(
    cargo: u32,
    run_as: &Option<String>,
    bin: &Path,
    data: &Path,
    base: &Path,
) -> Result<(), String> {
    use std::os::unix::process::CommandExt;
    let prefix = match run_as {
        Some(user) => format!("runuser -u {user} -- "),
        None => String::new(),
    };
    let script = format!(
        "while kill -0 {cargo} 2>/dev/null; do sleep 1; done; \
         {prefix}'{pg_ctl}' -D '{data}' stop -m immediate >/dev/null 2>&1; rm -rf '{base}' '{base}.lock'",
        pg_ctl = bin.join("pg_ctl").display(),
        data = data.display(),
        base = base.display(),
    );
    Command::new("sh")
        .args(["-c", &script])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()
        .map(drop)
        .map_err(|error| format!("cannot start the watchdog that stops the server: {error}"))
}

fn path_str(path: &Path) -> &str {
    path.to_str().expect("the target folder's path is UTF-8")
}

/// The pseudonymisation key of PostgreSQL test apps (required there, so replicas agree).
pub const TEST_PSEUDONYM_KEY: &str =
    "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

/// A schema of its own on the test server, dropped by [`PgSchema::drop`]. The URL selects it.
pub struct PgSchema {
    pub name: String,
    pub url: String,
    /// The server's URL without the schema, for admin connections.
    pub server: String,
}

impl PgSchema {
    /// A new schema, or `None` after the calling test was marked skipped (no server).
    pub async fn create() -> Option<PgSchema> {
        let server = postgres_url()?;
        let name = format!("rd_test_{:016x}", rand::random::<u64>());
        let admin = connect(&server).await;
        sqlx::query(&format!("CREATE SCHEMA {name}"))
            .execute(&admin)
            .await
            .unwrap();
        admin.close().await;
        let separator = if server.contains('?') { '&' } else { '?' };
        let url = format!("{server}{separator}options=-csearch_path%3D{name}");
        Some(PgSchema { name, url, server })
    }

    /// Test app settings on this schema, with the pseudonym key PostgreSQL requires.
    pub fn settings(&self) -> referral_desk::config::Settings {
        self.settings_at(&self.url)
    }

    /// As [`PgSchema::settings`], reaching the schema through `url` (e.g. a proxy).
    pub fn settings_at(&self, url: &str) -> referral_desk::config::Settings {
        let mut settings = super::test_settings(url);
        settings.privacy.pseudonym_key = Some(TEST_PSEUDONYM_KEY.to_string().into());
        settings
    }

    pub async fn drop(self) {
        let admin = connect(&self.server).await;
        drop_schema(&admin, &self.name).await;
        admin.close().await;
    }
}

/// `DROP SCHEMA name CASCADE`, again after a deadlock: an app still writing (its start-up
/// retention, a worker) holds row locks the drop's exclusive locks may cross, and PostgreSQL
/// then cancels one of the two.
pub async fn drop_schema(admin: &sqlx::PgPool, name: &str) {
    let mut attempts = 0;
    loop {
        match sqlx::query(&format!("DROP SCHEMA {name} CASCADE"))
            .execute(admin)
            .await
        {
            Ok(_) => return,
            Err(sqlx::Error::Database(error))
                if error.code().as_deref() == Some("40P01") && attempts < 20 =>
            {
                attempts += 1;
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(error) => panic!("cannot drop the test schema {name}: {error}"),
        }
    }
}
