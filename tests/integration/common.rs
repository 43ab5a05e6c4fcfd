//! Helpers shared by the end-to-end tests.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The binary under test: `KGREC_TEST_BIN` when set, else cargo's. Worktrees that share one
/// `CARGO_TARGET_DIR` overwrite each other's `target/debug/kgrec`; pointing this at the
/// worktree's own `target/debug/deps/kgrec-<hash>` keeps a test run on the code it was built from.
pub fn binary() -> PathBuf {
    std::env::var_os("KGREC_TEST_BIN")
        .map_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_kgrec")), PathBuf::from)
}

pub fn kgrec(data: &Path) -> Command {
    let mut cmd = Command::new(binary());
    cmd.arg("--data").arg(data).env_remove("KGREC_DATA");
    cmd
}

pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(name)
}

/// A file of `../shared/datasets`, or `None` (and a note) when the data sets are absent; under
/// `KGREC_REQUIRE_DATA=1` a missing one fails the test instead.
pub use kgrec_kg::testdata::shared_dataset;

/// Copies the directory tree `from` to `to` (created).
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

pub fn run(cmd: &mut Command) -> Output {
    cmd.output().expect("kgrec runs")
}

/// Runs `cmd` with `input` on its standard input.
pub fn run_stdin(cmd: &mut Command, input: &[u8]) -> Output {
    use std::io::Write;
    let mut child = cmd
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("kgrec runs");
    child.stdin.take().unwrap().write_all(input).unwrap();
    child.wait_with_output().unwrap()
}

pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Runs a command that must succeed and returns its stdout.
pub fn ok(cmd: &mut Command) -> String {
    let out = run(cmd);
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}\n{}",
        out.status,
        stderr(&out)
    );
    stdout(&out)
}

/// Writes `text` to the file `name` in `dir` and returns its path.
pub fn write_file(dir: &Path, name: &str, text: impl AsRef<[u8]>) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

/// Checks that a command failed as bad input: exit code 2 and every needle in its message.
pub fn expect_bad_input(out: &Output, what: &Path, needles: &[&str]) {
    let err = stderr(out);
    assert_eq!(out.status.code(), Some(2), "{what:?}: {err}");
    for needle in needles {
        assert!(
            err.contains(needle),
            "{what:?}: expected {needle:?} in {err:?}"
        );
    }
}

/// Imports the fixture graph `movies.ttl` into `data` and returns the import's summary line.
pub fn import_movie_graph(data: &Path) -> String {
    ok(kgrec(data)
        .args(["import", "kg"])
        .arg(fixture("movies.ttl")))
}

pub fn stats(data: &Path) -> serde_json::Value {
    let text = ok(kgrec(data).args(["stats", "--format", "json"]));
    serde_json::from_str(&text).unwrap()
}

pub fn triples(data: &Path) -> u64 {
    stats(data)["triples"].as_u64().unwrap()
}

/// Writes `n` synthetic N-Triples statements: films with directors, genres and labels.
pub fn write_synthetic_ntriples(path: &Path, n: usize) {
    use std::fmt::Write;
    let mut text = String::with_capacity(n * 90);
    for i in 0..n {
        let film = i / 3;
        match i % 3 {
            0 => writeln!(
                text,
                "<http://example.org/film/{film}> <http://example.org/director> <http://example.org/person/{}> .",
                film % 997
            ),
            1 => writeln!(
                text,
                "<http://example.org/film/{film}> <http://example.org/genre> <http://example.org/genre/{}> .",
                film % 31
            ),
            _ => writeln!(
                text,
                "<http://example.org/film/{film}> <http://www.w3.org/2000/01/rdf-schema#label> \"Film {film}\"@en ."
            ),
        }
        .unwrap();
    }
    std::fs::write(path, text).unwrap();
}

/// An answer of the HTTP client below.
#[derive(Debug)]
pub struct HttpResponse {
    pub status: u16,
    /// Header names in lower case.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl HttpResponse {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {} {}", self.status, self.text()))
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The error code of an error answer (`{"error": {"code", "message"}}`), checked for shape.
    pub fn error_code(&self) -> String {
        let v = self.json();
        let message = v["error"]["message"].as_str().unwrap_or("");
        assert!(!message.is_empty(), "no error message: {v}");
        assert_eq!(self.header("content-type"), Some("application/json"), "{v}");
        v["error"]["code"].as_str().unwrap_or("").to_owned()
    }
}

/// A minimal HTTP/1.1 client on a fresh connection (`Connection: close`): enough for the
/// service's tests, malformed and huge requests included. The body is written on another
/// thread so that a server answering before reading it all (413) is read, not deadlocked.
pub fn http(
    addr: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> std::io::Result<HttpResponse> {
    use std::io::{Read, Write};
    use std::net::TcpStream;
    use std::time::Duration;
    let mut stream = TcpStream::connect(addr)?;
    stream.set_read_timeout(Some(Duration::from_secs(120)))?;
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    if !body.is_empty() || method == "POST" {
        head.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes())?;
    let mut writer = stream.try_clone()?;
    let body = body.to_vec();
    let sender = std::thread::spawn(move || {
        // The server may answer and close before reading it all: not an error here.
        let _ = writer.write_all(&body);
    });
    let mut raw = Vec::new();
    let read = stream.read_to_end(&mut raw);
    let _ = sender.join();
    if raw.is_empty() {
        read?;
    }
    parse_response(&raw)
}

fn parse_response(raw: &[u8]) -> std::io::Result<HttpResponse> {
    let bad = |what: &str| std::io::Error::new(std::io::ErrorKind::InvalidData, what.to_owned());
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| bad("no end of the head"))?;
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut lines = head.split("\r\n");
    let status: u16 = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| bad("no status"))?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let mut body = raw[split + 4..].to_vec();
    let chunked = headers
        .iter()
        .any(|(k, v)| k == "transfer-encoding" && v.contains("chunked"));
    if chunked {
        let mut out = Vec::new();
        let mut rest = body.as_slice();
        loop {
            let end = rest
                .windows(2)
                .position(|w| w == b"\r\n")
                .ok_or_else(|| bad("bad chunk"))?;
            let size = usize::from_str_radix(String::from_utf8_lossy(&rest[..end]).trim(), 16)
                .map_err(|_| bad("bad chunk size"))?;
            rest = &rest[end + 2..];
            if size == 0 {
                break;
            }
            out.extend_from_slice(rest.get(..size).ok_or_else(|| bad("short chunk"))?);
            rest = rest.get(size + 2..).unwrap_or(&[]);
        }
        body = out;
    } else if let Some(n) = headers
        .iter()
        .find(|(k, _)| k == "content-length")
        .and_then(|(_, v)| v.parse::<usize>().ok())
    {
        if body.len() < n {
            return Err(bad("short body"));
        }
        body.truncate(n);
    }
    Ok(HttpResponse {
        status,
        headers,
        body,
    })
}

/// A `kgrec serve` on a data directory, on a port the system chose (read from its first line
/// of output). Dropped, the process is killed.
pub struct Server {
    pub child: std::process::Child,
    pub addr: String,
    log: PathBuf,
}

impl Server {
    /// Starts `kgrec --data DATA serve --addr 127.0.0.1:0 EXTRA...` and waits for its address.
    pub fn start(data: &Path, extra: &[&str]) -> Server {
        let mut cmd = kgrec(data);
        cmd.args(["serve", "--addr", "127.0.0.1:0"]).args(extra);
        Server::spawn(
            cmd,
            data.with_extension(format!("serve-{}.log", std::process::id())),
        )
    }

    /// Starts `cmd` (a `kgrec serve` on port 0, however it is run), its standard error into
    /// `log`, and waits for its address.
    pub fn spawn(mut cmd: Command, log: PathBuf) -> Server {
        use std::io::BufRead;
        let mut child = cmd
            .stdout(std::process::Stdio::piped())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = std::io::BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let line = rx
            .recv_timeout(std::time::Duration::from_secs(60))
            .unwrap_or_default();
        let Some(addr) = line.trim().strip_prefix("listening on http://") else {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "kgrec serve did not start: {line:?}\n{}",
                std::fs::read_to_string(&log).unwrap_or_default()
            );
        };
        Server {
            addr: addr.to_owned(),
            child,
            log,
        }
    }

    /// The server's standard error so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> HttpResponse {
        http(&self.addr, method, path, headers, body)
            .unwrap_or_else(|e| panic!("{method} {path}: {e}\n{}", self.log()))
    }

    pub fn get(&self, path: &str) -> HttpResponse {
        self.request("GET", path, &[], b"")
    }

    pub fn post_json(&self, path: &str, body: &str) -> HttpResponse {
        self.request(
            "POST",
            path,
            &[("Content-Type", "application/json")],
            body.as_bytes(),
        )
    }

    /// SIGTERM, then the exit status (at most `seconds` later).
    pub fn terminate(self, seconds: u64) -> std::process::ExitStatus {
        self.sigterm();
        self.wait(seconds)
    }

    /// Sends SIGTERM.
    pub fn sigterm(&self) {
        let pid = self.child.id().to_string();
        assert!(
            Command::new("kill")
                .args(["-TERM", &pid])
                .status()
                .unwrap()
                .success()
        );
    }

    /// The exit status, within `seconds`.
    pub fn wait(mut self, seconds: u64) -> std::process::ExitStatus {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(seconds);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "kgrec serve still runs {seconds} s after SIGTERM\n{}",
                self.log()
            );
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }

    /// SIGKILL: no shutdown of any kind.
    pub fn kill9(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// `application/x-www-form-urlencoded` encoding of a value.
pub fn form_encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Imports `graph`, then the interactions `rows` with their `links`, into `data`, quietly.
pub fn import_linked(data: &Path, graph: &Path, rows: &Path, links: &Path) {
    ok(kgrec(data).args(["import", "kg", "-q"]).arg(graph));
    ok(kgrec(data)
        .args(["import", "interactions", "-q"])
        .arg(rows)
        .arg("--link")
        .arg(links));
}
