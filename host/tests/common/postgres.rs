//! A throwaway PostgreSQL cluster for a test: `initdb` in a temporary directory, started with
//! `pg_ctl` on 127.0.0.1 and a free port, as the `postgres` user when the tests run as root
//! (PostgreSQL refuses to run as root). Stopped by its process id when dropped.

#![allow(
    dead_code,
    clippy::expect_used,
    clippy::panic,
    reason = "test code shared by several test crates, each using part of it"
)]

use std::path::{Path, PathBuf};
use std::process::Command;

/// A running cluster; its superuser is `tollgate`, trusted on 127.0.0.1.
#[derive(Debug)]
pub struct Postgres {
    dir: PathBuf,
    bin: PathBuf,
    port: u16,
    tls: bool,
}

/// The directory of PostgreSQL's server programs (`TOLLGATE_PG_BIN`, or Debian's newest).
fn bin_dir() -> PathBuf {
    if let Ok(dir) = std::env::var("TOLLGATE_PG_BIN") {
        return PathBuf::from(dir);
    }
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .expect("PostgreSQL is installed (scripts/setup.sh installs Debian's `postgresql`)")
        .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
        .filter(|bin| bin.join("initdb").exists())
        .collect();
    versions.sort();
    versions
        .pop()
        .expect("a PostgreSQL version under /usr/lib/postgresql")
}

fn is_root() -> bool {
    std::fs::metadata("/proc/self")
        .map(|m| std::os::unix::fs::MetadataExt::uid(&m) == 0)
        .unwrap_or(false)
}

/// A command run as the `postgres` user when the tests run as root.
fn as_postgres(program: &Path) -> Command {
    if is_root() {
        let mut command = Command::new("runuser");
        command.args(["-u", "postgres", "--"]).arg(program);
        command
    } else {
        Command::new(program)
    }
}

fn run(mut command: Command, what: &str) {
    let output = command.output().unwrap_or_else(|e| panic!("{what}: {e}"));
    assert!(
        output.status.success(),
        "{what} failed: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

impl Postgres {
    /// Creates and starts a cluster.
    pub fn start(name: &str) -> Postgres {
        Postgres::create(name, false)
    }

    /// Creates and starts a cluster that accepts only TLS connections over TCP, with a
    /// self-signed certificate for 127.0.0.1 (made with `openssl`).
    pub fn start_tls_only(name: &str) -> Postgres {
        Postgres::create(name, true)
    }

    fn create(name: &str, tls: bool) -> Postgres {
        let dir = std::env::temp_dir().join(format!("tollgate-pg-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("cluster dir");
        if is_root() {
            run(
                {
                    let mut c = Command::new("chown");
                    c.arg("postgres:postgres").arg(&dir);
                    c
                },
                "chown",
            );
        }
        let bin = bin_dir();
        let mut initdb = as_postgres(&bin.join("initdb"));
        initdb
            .arg("-D")
            .arg(dir.join("data"))
            .args(["-U", "tollgate", "-A", "trust", "-E", "UTF8", "--no-sync"])
            .env("LC_ALL", "C");
        run(initdb, "initdb");
        if tls {
            let data = dir.join("data");
            let mut openssl = as_postgres(Path::new("openssl"));
            openssl
                .args([
                    "req",
                    "-x509",
                    "-newkey",
                    "ec",
                    "-pkeyopt",
                    "ec_paramgen_curve:P-256",
                ])
                .args(["-nodes", "-days", "1", "-subj", "/CN=127.0.0.1"])
                .arg("-keyout")
                .arg(data.join("server.key"))
                .arg("-out")
                .arg(data.join("server.crt"));
            run(openssl, "openssl req");
            std::fs::write(
                data.join("pg_hba.conf"),
                "local all all trust\nhostssl all all 127.0.0.1/32 trust\n",
            )
            .expect("pg_hba.conf");
        }
        let cluster = Postgres {
            dir,
            bin,
            port: free_port(),
            tls,
        };
        cluster.resume();
        cluster
    }

    /// Starts the (stopped) cluster again on its port.
    pub fn resume(&self) {
        let mut pg_ctl = as_postgres(&self.bin.join("pg_ctl"));
        pg_ctl
            .arg("-D")
            .arg(self.dir.join("data"))
            .arg("-l")
            .arg(self.dir.join("log"))
            .arg("-o")
            .arg(format!(
                "-p {} -c listen_addresses=127.0.0.1 -k {} -c fsync=off -c max_connections=200{}",
                self.port,
                self.dir.display(),
                if self.tls { " -c ssl=on" } else { "" }
            ))
            .args(["-w", "-t", "60", "start"]);
        run(pg_ctl, "pg_ctl start");
    }

    /// The postmaster's process id, while it runs.
    pub fn pid(&self) -> Option<i32> {
        std::fs::read_to_string(self.dir.join("data/postmaster.pid"))
            .ok()?
            .lines()
            .next()?
            .trim()
            .parse()
            .ok()
    }

    /// Stops the cluster (fast shutdown: sessions are disconnected) and waits until it is gone.
    pub fn stop(&self) {
        let Some(pid) = self.pid() else { return };
        let _ = Command::new("kill")
            .args(["-INT", &pid.to_string()])
            .status();
        for _ in 0..600 {
            if !Path::new(&format!("/proc/{pid}")).exists() {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        let _ = Command::new("kill")
            .args(["-KILL", &pid.to_string()])
            .status();
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The URL of database `db` (created by [`Postgres::create_database`]).
    pub fn url(&self, db: &str) -> String {
        format!("postgres://tollgate@127.0.0.1:{}/{db}", self.port)
    }

    /// Creates a database (over the cluster's socket, which takes no TLS).
    pub fn create_database(&self, db: &str) {
        let mut createdb = as_postgres(&self.bin.join("createdb"));
        createdb.args([
            "-h",
            &self.dir.display().to_string(),
            "-p",
            &self.port.to_string(),
            "-U",
            "tollgate",
            db,
        ]);
        run(createdb, "createdb");
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
