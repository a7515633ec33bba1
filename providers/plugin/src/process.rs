//! A provider's process and go-plugin's handshake: the magic cookie and the
//! protocol versions Landform speaks go in the environment, the plugin answers
//! with one line on stdout (`CORE|APP|NETWORK|ADDRESS|PROTOCOL[|CERT]`), and its
//! log on stderr is kept (the last lines, for an error) or, with
//! `LANDFORM_LOG` set, passed through to Landform's stderr.

use crate::Error;
use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

/// The cookie Terraform's provider plugins check before they serve: go-plugin
/// refuses to run as a plugin without it (so a provider run by hand says so).
pub const MAGIC_COOKIE_KEY: &str = "TF_PLUGIN_MAGIC_COOKIE";
pub const MAGIC_COOKIE_VALUE: &str = "d602bf8f470bc67ca7faa0386276bbdd4330efaf76d1a219cb4d6991ca9872b2";

/// How many of the provider's last stderr lines are kept for an error message.
const STDERR_TAIL: usize = 40;
/// One log line is cut at this length (a provider may log whole HTTP bodies).
const LINE_LIMIT: usize = 16 * 1024;

/// Where the plugin listens, as its handshake line said.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Address {
    Unix(PathBuf),
    Tcp(String),
}

/// The handshake line, parsed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Handshake {
    /// The plugin protocol version both sides speak (5 or 6).
    pub protocol_version: u32,
    pub address: Address,
    /// The server's certificate (DER) when it serves TLS (AutoMTLS).
    pub server_cert: Option<Vec<u8>>,
}

/// Parse go-plugin's handshake line, accepting only what Landform can speak:
/// core protocol 1, one of `offered` versions, gRPC.
pub fn parse_handshake(line: &str, offered: &[u32]) -> Result<Handshake, Error> {
    let bad = |why: String| Error::Handshake(format!("{why} (the plugin said {:?})", line.trim_end()));
    let parts: Vec<&str> = line.trim_end_matches(['\r', '\n']).split('|').collect();
    if parts.len() < 5 {
        return Err(bad("not a go-plugin handshake line".into()));
    }
    if parts[0] != "1" {
        return Err(bad(format!("go-plugin core protocol {} is not the 1 Landform speaks", parts[0])));
    }
    let protocol_version: u32 =
        parts[1].parse().map_err(|_| bad(format!("plugin protocol version {:?} is not a number", parts[1])))?;
    if !offered.contains(&protocol_version) {
        return Err(bad(format!(
            "plugin protocol version {protocol_version} was not one of those offered {offered:?}"
        )));
    }
    let address = match parts[2] {
        "unix" => Address::Unix(PathBuf::from(parts[3])),
        "tcp" => {
            let host = parts[3].rsplit_once(':').map(|(h, _)| h.trim_matches(['[', ']'])).unwrap_or("");
            let loopback = host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback());
            if !loopback {
                return Err(bad(format!("the plugin listens on {}, not on a loopback address", parts[3])));
            }
            Address::Tcp(parts[3].to_string())
        }
        other => return Err(bad(format!("network {other:?} is neither unix nor tcp"))),
    };
    if parts[4] != "grpc" {
        return Err(bad(format!("RPC protocol {:?} is not grpc (net/rpc plugins are not supported)", parts[4])));
    }
    let server_cert = match parts.get(5).copied().unwrap_or("") {
        "" => None,
        cert => Some(decode_base64(cert).ok_or_else(|| bad("the server certificate is not base64".into()))?),
    };
    Ok(Handshake { protocol_version, address, server_cert })
}

/// go-plugin writes the server's certificate as unpadded standard base64.
fn decode_base64(s: &str) -> Option<Vec<u8>> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD_NO_PAD.decode(s.trim_end_matches('=')).ok()
}

/// A running plugin process. Dropping it kills the process if it is still
/// running and removes its socket directory; `PluginClient` asks it to stop
/// first.
pub struct PluginProcess {
    child: Child,
    pub handshake: Handshake,
    stderr: Arc<Mutex<VecDeque<String>>>,
    socket_dir: PathBuf,
    name: String,
    /// The certificate offered for AutoMTLS.
    pub client_cert: Option<crate::tls::ClientCert>,
}

/// What to start, and how long to give it.
#[derive(Clone, Debug)]
pub struct StartOptions {
    pub path: PathBuf,
    /// The plugin protocol versions to offer, as `PLUGIN_PROTOCOL_VERSIONS`.
    pub versions: Vec<u32>,
    /// How long the handshake may take (hashicorp/aws needs a few seconds).
    pub timeout: Duration,
    /// The least severe of the provider's log lines passed through to
    /// Landform's stderr (`LANDFORM_LOG`: trace, debug, info, warn or
    /// error); `None` passes nothing through.
    pub log: Option<Level>,
    /// Where provider schemas are cached (`schema_cache::default_dir`); `None` to always ask.
    pub schema_cache: Option<PathBuf>,
    /// go-plugin's AutoMTLS: offer a client certificate, so that the plugin
    /// serves TLS and accepts only this process (as Terraform does).
    pub auto_mtls: bool,
}

impl StartOptions {
    pub fn new(path: impl Into<PathBuf>) -> StartOptions {
        StartOptions {
            path: path.into(),
            versions: crate::client::PROTOCOL_VERSIONS.to_vec(),
            timeout: Duration::from_secs(60),
            log: std::env::var("LANDFORM_LOG").ok().filter(|v| !v.is_empty()).map(|v| Level::parse(&v)),
            schema_cache: crate::schema_cache::default_dir(),
            auto_mtls: true,
        }
    }
}

/// Providers are Go programs, and the largest of them spend most of their
/// start in the garbage collector building their schemas (hashicorp/aws
/// 5.100: 3.4 s of CPU at Go's default `GOGC=100`, 2.4 s at 400; a plan of
/// six resources 2.85 → 2.5 s on 2 cores). They run for one command, so a
/// collector that runs a quarter as often serves them better, with a soft
/// memory limit so that the heap it lets grow stays bounded (past it, Go
/// collects as often as it must). Whoever sets either variable keeps theirs.
fn go_memory(cmd: &mut Command) {
    if std::env::var_os("GOGC").is_none() && std::env::var_os("GOMEMLIMIT").is_none() {
        cmd.env("GOGC", "400").env("GOMEMLIMIT", "2GiB");
    }
}

impl PluginProcess {
    pub fn start(opts: &StartOptions) -> Result<PluginProcess, Error> {
        let name = opts.path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        // The socket goes in a directory of ours, so that nothing is left
        // behind even when the plugin is killed before it can clean up.
        let socket_dir = std::env::temp_dir().join(format!("landform-plugin-{}-{}", std::process::id(), unique()));
        std::fs::create_dir_all(&socket_dir)
            .map_err(|e| Error::Start(format!("cannot create {}: {e}", socket_dir.display())))?;
        let versions = opts.versions.iter().map(u32::to_string).collect::<Vec<_>>().join(",");
        let client_cert = if opts.auto_mtls { Some(crate::tls::client_cert()?) } else { None };
        let mut cmd = Command::new(&opts.path);
        cmd.env(MAGIC_COOKIE_KEY, MAGIC_COOKIE_VALUE)
            .env("PLUGIN_PROTOCOL_VERSIONS", versions)
            .env("PLUGIN_UNIX_SOCKET_DIR", &socket_dir)
            // Only used on systems without unix sockets; the range go-plugin's clients give.
            .env("PLUGIN_MIN_PORT", "10000")
            .env("PLUGIN_MAX_PORT", "25000")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        match &client_cert {
            Some(c) => cmd.env("PLUGIN_CLIENT_CERT", &c.pem),
            None => cmd.env_remove("PLUGIN_CLIENT_CERT"),
        };
        // The Terraform plugin SDKs log at the level TF_LOG names, and at
        // trace without it: megabytes a run, written and thrown away.
        cmd.env("TF_LOG", opts.log.unwrap_or(Level::Warn).name());
        go_memory(&mut cmd);
        let mut child = match cmd.spawn() {
            Ok(c) => c,
            Err(e) => {
                let _ = std::fs::remove_dir_all(&socket_dir);
                return Err(Error::Start(format!("cannot run {}: {e}", opts.path.display())));
            }
        };
        live().insert(child.id());
        let stderr = Arc::new(Mutex::new(VecDeque::new()));
        if let Some(err) = child.stderr.take() {
            let (tail, log, name) = (stderr.clone(), opts.log, name.clone());
            std::thread::spawn(move || drain(err, &tail, log, &name));
        }
        let (tx, rx) = mpsc::channel();
        if let Some(out) = child.stdout.take() {
            let (tail, log, name) = (stderr.clone(), opts.log, name.clone());
            std::thread::spawn(move || {
                let mut lines = BufReader::new(out);
                let mut first = Vec::new();
                // The handshake line is short; a plugin that writes megabytes
                // without a newline is not a plugin.
                let n = (&mut lines).take(LINE_LIMIT as u64).read_until(b'\n', &mut first).unwrap_or(0);
                let _ = tx.send((n > 0).then(|| String::from_utf8_lossy(&first).into_owned()));
                // Whatever else it prints on stdout is log too.
                drain(lines, &tail, log, &name);
            });
        }
        let mut process =
            PluginProcess { child, handshake: placeholder(), stderr, socket_dir, name: name.clone(), client_cert };
        let started = Instant::now();
        let line = loop {
            match rx.recv_timeout(Duration::from_millis(100)) {
                Ok(Some(line)) => break line,
                Ok(None) | Err(mpsc::RecvTimeoutError::Disconnected) => {
                    let status = process.child.wait().ok();
                    return Err(Error::Start(format!(
                        "{} exited before its handshake{}{}",
                        opts.path.display(),
                        status.map(|s| format!(" ({s})")).unwrap_or_default(),
                        process.stderr_tail_text()
                    )));
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    if let Ok(Some(status)) = process.child.try_wait() {
                        return Err(Error::Start(format!(
                            "{} exited before its handshake ({status}){}",
                            opts.path.display(),
                            process.stderr_tail_text()
                        )));
                    }
                    if started.elapsed() > opts.timeout {
                        return Err(Error::Start(format!(
                            "{} gave no handshake within {} s{}",
                            opts.path.display(),
                            opts.timeout.as_secs(),
                            process.stderr_tail_text()
                        )));
                    }
                }
            }
        };
        process.handshake = parse_handshake(&line, &opts.versions)?;
        Ok(process)
    }

    /// The operating system's id of the plugin process.
    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// The provider's last lines on stderr, oldest first.
    pub fn stderr_tail(&self) -> Vec<String> {
        self.stderr.lock().map(|t| t.iter().cloned().collect()).unwrap_or_default()
    }

    fn stderr_tail_text(&self) -> String {
        // The reader threads may still be catching up with a process that just exited.
        std::thread::sleep(Duration::from_millis(50));
        let tail = self.stderr_tail();
        if tail.is_empty() {
            String::new()
        } else {
            format!("; its last lines on stderr:\n{}", tail.join("\n"))
        }
    }

    /// Whether the process has exited.
    pub fn exited(&mut self) -> bool {
        !matches!(self.child.try_wait(), Ok(None))
    }

    /// Wait up to `grace` for the process to exit by itself, then kill it.
    pub fn stop(&mut self, grace: Duration) {
        let start = Instant::now();
        while start.elapsed() < grace {
            if self.exited() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        if !self.exited() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        // Reaped now (its id may be reused): no longer ours to kill.
        live().remove(&self.child.id());
    }

    pub fn name(&self) -> &str {
        &self.name
    }
}

impl Drop for PluginProcess {
    fn drop(&mut self) {
        self.stop(Duration::ZERO);
        let _ = std::fs::remove_dir_all(&self.socket_dir);
    }
}

/// The ids of the plugin processes this process started and has not reaped.
fn live() -> std::sync::MutexGuard<'static, std::collections::BTreeSet<u32>> {
    static LIVE: Mutex<std::collections::BTreeSet<u32>> = Mutex::new(std::collections::BTreeSet::new());
    LIVE.lock().unwrap_or_else(|e| e.into_inner())
}

/// Kill every plugin process this process started, at once and wherever
/// it is (even in its handshake): for a process about to exit on an
/// interrupt, which will not run the clients' `Drop`.
pub fn kill_all() {
    let pids: Vec<rustix::process::Pid> =
        live().iter().filter_map(|pid| i32::try_from(*pid).ok().and_then(rustix::process::Pid::from_raw)).collect();
    for pid in &pids {
        let _ = rustix::process::kill_process(*pid, rustix::process::Signal::KILL);
    }
    // SIGKILL is delivered when the kernel gets to it: reap each one here
    // (for up to 5 s), so that none is still running when Landform exits,
    // however loaded the machine.
    let deadline = Instant::now() + Duration::from_secs(5);
    for pid in pids {
        while let Ok(None) = rustix::process::waitpid(Some(pid), rustix::process::WaitOptions::NOHANG) {
            if Instant::now() >= deadline {
                break;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}

fn placeholder() -> Handshake {
    Handshake { protocol_version: 0, address: Address::Tcp(String::new()), server_cert: None }
}

fn unique() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// A log line's severity, as hclog writes it in the `@level` of a JSON line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Trace,
    Debug,
    Info,
    Warn,
    Error,
}

impl Level {
    /// `LANDFORM_LOG`'s value; anything that names no level means info.
    pub fn parse(s: &str) -> Level {
        match s.to_ascii_lowercase().as_str() {
            "trace" => Level::Trace,
            "debug" => Level::Debug,
            "warn" | "warning" => Level::Warn,
            "error" => Level::Error,
            _ => Level::Info,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Level::Trace => "TRACE",
            Level::Debug => "DEBUG",
            Level::Info => "INFO",
            Level::Warn => "WARN",
            Level::Error => "ERROR",
        }
    }

    /// The level of one line: a JSON line's `@level`; a plain line (a Go
    /// panic, a crash report) counts as an error.
    fn of_line(line: &str) -> Level {
        let Some(i) = line.find("\"@level\":\"") else { return Level::Error };
        let rest = &line[i + 10..];
        Level::parse(rest.split('"').next().unwrap_or(""))
    }
}

/// Read a stream of log lines to its end: keep the last warnings and errors
/// (for an error message), and pass through what `log` admits.
fn drain(r: impl Read, tail: &Mutex<VecDeque<String>>, log: Option<Level>, name: &str) {
    let mut r = BufReader::new(r);
    let mut buf = Vec::new();
    loop {
        buf.clear();
        match (&mut r).take(LINE_LIMIT as u64).read_until(b'\n', &mut buf) {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        let line = String::from_utf8_lossy(&buf).trim_end().to_string();
        if line.is_empty() {
            continue;
        }
        let level = Level::of_line(&line);
        if log.is_some_and(|l| level >= l) {
            eprintln!("[{name}] {line}");
        }
        if level >= Level::Warn {
            if let Ok(mut t) = tail.lock() {
                if t.len() == STDERR_TAIL {
                    t.pop_front();
                }
                t.push_back(line);
            }
        }
    }
}

/// The plugin at `path` exists and is executable.
pub fn check_executable(path: &Path) -> Result<(), Error> {
    use std::os::unix::fs::PermissionsExt;
    let meta = std::fs::metadata(path).map_err(|e| Error::Start(format!("{}: {e}", path.display())))?;
    if !meta.is_file() || meta.permissions().mode() & 0o111 == 0 {
        return Err(Error::Start(format!("{} is not an executable file", path.display())));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handshake_lines() {
        let h = parse_handshake("1|5|unix|/tmp/plugin123|grpc|\n", &[5]).unwrap();
        assert_eq!(h.protocol_version, 5);
        assert_eq!(h.address, Address::Unix("/tmp/plugin123".into()));
        assert_eq!(h.server_cert, None);
        let h = parse_handshake("1|6|tcp|127.0.0.1:10001|grpc|TWFu", &[5, 6]).unwrap();
        assert_eq!(h.address, Address::Tcp("127.0.0.1:10001".into()));
        assert_eq!(h.server_cert, Some(b"Man".to_vec()));
        for (line, why) in [
            ("1|6|unix|/x|grpc|", "not one of those offered"),
            ("2|5|unix|/x|grpc|", "core protocol 2"),
            ("1|5|unix|/x|netrpc|", "not grpc"),
            ("1|5|tcp|10.0.0.1:99|grpc|", "not on a loopback"),
            ("hello world", "not a go-plugin handshake"),
            ("1|x|unix|/x|grpc|", "not a number"),
            ("1|5|unix|/x|grpc|!!", "not base64"),
        ] {
            let e = parse_handshake(line, &[5]).unwrap_err().to_string();
            assert!(e.contains(why), "{line}: {e}");
        }
    }

    #[test]
    fn log_levels_of_json_and_plain_lines() {
        assert_eq!(Level::of_line(r#"{"@level":"trace","@message":"x"}"#), Level::Trace);
        assert_eq!(Level::of_line(r#"{"@caller":"a","@level":"warn"}"#), Level::Warn);
        assert_eq!(Level::of_line("panic: runtime error: index out of range"), Level::Error);
        assert_eq!(Level::parse("DEBUG"), Level::Debug);
        assert_eq!(Level::parse("1"), Level::Info);
    }

    #[test]
    fn base64_without_padding() {
        assert_eq!(decode_base64("TWE").unwrap(), b"Ma");
        assert_eq!(decode_base64("TQ").unwrap(), b"M");
        assert_eq!(decode_base64("TWFuTWE=").unwrap(), b"ManMa");
    }

    #[test]
    fn providers_collect_less_often_unless_told() {
        let mut cmd = Command::new("true");
        go_memory(&mut cmd);
        let envs: Vec<(String, String)> = cmd
            .get_envs()
            .map(|(k, v)| (k.to_string_lossy().into_owned(), v.unwrap_or_default().to_string_lossy().into_owned()))
            .collect();
        if std::env::var_os("GOGC").is_none() && std::env::var_os("GOMEMLIMIT").is_none() {
            assert!(envs.contains(&("GOGC".into(), "400".into())), "{envs:?}");
            assert!(envs.contains(&("GOMEMLIMIT".into(), "2GiB".into())), "{envs:?}");
        } else {
            assert!(envs.is_empty(), "a GOGC or GOMEMLIMIT of the user's was overridden: {envs:?}");
        }
    }
}
