//! A request whose target a URI cannot hold unencoded (`?filter=<http://...>`, a `"`) is refused
//! by hyper's request-line parser before any handler runs, with a `400` and an empty body. This
//! listener reads each connection's first request line itself and answers such a request with
//! the service's JSON error, which says to percent-encode; every other byte goes to hyper
//! untouched. Only a connection's first request is looked at (a later one on a kept-alive
//! connection is hyper's to refuse): clients that send such targets (curl, a browser's address
//! bar turned script) open a connection per command.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use axum::extract::connect_info::Connected;
use axum::serve::IncomingStream;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};

/// The longest request line looked at; a longer one goes to hyper as it is.
const LINE_LIMIT: usize = 16 * 1024;

/// [`TcpListener`] whose connections are [`Guarded`].
pub struct GuardedListener(pub TcpListener);

/// The client's address, as `ConnectInfo` (the rate limiter's key).
#[derive(Debug, Clone, Copy)]
pub struct Peer(pub SocketAddr);

impl axum::serve::Listener for GuardedListener {
    type Io = Guarded;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        let (stream, addr) = axum::serve::Listener::accept(&mut self.0).await;
        (Guarded::new(stream), addr)
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        self.0.local_addr()
    }
}

impl Connected<IncomingStream<'_, GuardedListener>> for Peer {
    fn connect_info(stream: IncomingStream<'_, GuardedListener>) -> Self {
        Peer(*stream.remote_addr())
    }
}

/// Where a connection is: reading its first request line, passing bytes through, or writing
/// the refusal.
enum State {
    Line(Vec<u8>),
    Pass { held: Vec<u8>, at: usize },
    Refuse { answer: Vec<u8>, at: usize },
    Closed,
}

/// A connection whose first request line is checked ([`GuardedListener`]).
pub struct Guarded {
    stream: TcpStream,
    state: State,
}

impl Guarded {
    fn new(stream: TcpStream) -> Self {
        Self {
            stream,
            state: State::Line(Vec::new()),
        }
    }
}

/// The JSON refusal of a request line whose target is not a URI, or `None` when it is one (or
/// is not a request line at all: hyper says what is wrong with that).
fn refusal(line: &[u8]) -> Option<Vec<u8>> {
    let line = std::str::from_utf8(line).ok()?;
    let mut words = line.trim_end().split(' ');
    let (_method, target) = (words.next()?, words.next()?);
    if target.is_empty() || axum::http::Uri::try_from(target).is_ok() {
        return None;
    }
    let bad: String = target
        .chars()
        .filter(|c| {
            matches!(c, '<' | '>' | '"' | '\\' | '^' | '`' | '{' | '}' | '|')
                || !c.is_ascii_graphic()
        })
        .fold(String::new(), |mut s, c| {
            if !s.contains(c) {
                s.push(c);
            }
            s
        });
    let message = format!(
        "the request target holds characters a URL cannot carry unencoded ({}): percent-encode \
         the query's values (`<` is %3C, `>` is %3E, `\"` is %22), e.g. with `curl -G URL \
         --data-urlencode 'filter=<http://...>=<http://...>'`",
        if bad.is_empty() {
            "not a URI".to_owned()
        } else {
            bad.chars()
                .map(|c| c.to_string())
                .collect::<Vec<_>>()
                .join(" ")
        }
    );
    let body =
        serde_json::json!({"error": {"code": "bad_request", "message": message}}).to_string();
    Some(
        format!(
            "HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\ncontent-length: \
             {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        )
        .into_bytes(),
    )
}

impl AsyncRead for Guarded {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        out: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        loop {
            match &mut this.state {
                State::Line(line) => {
                    let mut chunk = [0u8; 4096];
                    let mut buf = ReadBuf::new(&mut chunk);
                    ready!(Pin::new(&mut this.stream).poll_read(cx, &mut buf))?;
                    let read = buf.filled();
                    let ended = read.is_empty();
                    line.extend_from_slice(read);
                    let end = line.iter().position(|&b| b == b'\n');
                    if !ended && end.is_none() && line.len() < LINE_LIMIT {
                        continue;
                    }
                    let held = std::mem::take(line);
                    this.state = match end.and_then(|e| refusal(&held[..e])) {
                        Some(answer) => State::Refuse { answer, at: 0 },
                        None => State::Pass { held, at: 0 },
                    };
                }
                State::Pass { held, at } => {
                    if *at < held.len() {
                        let n = out.remaining().min(held.len() - *at);
                        out.put_slice(&held[*at..*at + n]);
                        *at += n;
                        return Poll::Ready(Ok(()));
                    }
                    return Pin::new(&mut this.stream).poll_read(cx, out);
                }
                State::Refuse { answer, at } => {
                    while *at < answer.len() {
                        let n = ready!(Pin::new(&mut this.stream).poll_write(cx, &answer[*at..]))?;
                        if n == 0 {
                            break;
                        }
                        *at += n;
                    }
                    ready!(Pin::new(&mut this.stream).poll_flush(cx))?;
                    this.state = State::Closed;
                }
                // End of stream for hyper: it saw no request and closes the connection.
                State::Closed => return Poll::Ready(Ok(())),
            }
        }
    }
}

impl AsyncWrite for Guarded {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write(cx, data)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::refusal;

    #[test]
    fn only_targets_that_are_not_uris_are_refused() {
        assert!(refusal(b"GET /v1/users/1/recommendations?k=5 HTTP/1.1\r").is_none());
        assert!(refusal(b"GET /v1/users/1/recommendations?filter=a|b HTTP/1.1\r").is_none());
        let answer = refusal(b"GET /v1/x?filter=<http://a>=<http://b> HTTP/1.1\r").unwrap();
        let text = String::from_utf8(answer).unwrap();
        assert!(text.starts_with("HTTP/1.1 400 Bad Request\r\n"), "{text}");
        assert!(text.contains("percent-encode"), "{text}");
        assert!(text.contains("\"code\":\"bad_request\""), "{text}");
        assert!(refusal(b"not a request").is_none());
    }
}
