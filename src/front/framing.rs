//! Where a client is within its HTTP/1.1 requests, judged from the bytes it
//! sends: receiving a head, a body (by `Content-Length` or chunked), or
//! between requests. The front door needs only that much to bound the time a
//! head may take and to tell a request in flight from an idle connection;
//! Rocket (hyper) still parses and judges every request itself.
//!
//! Where this reading and hyper's could differ (a head too large to keep, a
//! `Transfer-Encoding` other than chunked, conflicting lengths) hyper refuses
//! the request and closes the connection; the tracker then gives up framing
//! (`Opaque`) and the connection is bounded by its idle time alone.

/// The longest head kept for reading its framing headers; hyper refuses
/// larger heads anyway (431), and closes.
const MAX_HEAD: usize = 64 * 1024;

/// What the client's latest bytes changed.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    /// A new request head began (its time limit starts now).
    pub head_started: bool,
    /// A request arrived complete (head and body): the server owes an answer.
    pub completed: bool,
    /// The client spoke HTTP/2 without being offered it: close.
    pub refused: bool,
}

#[derive(Debug)]
enum State {
    /// Nothing of the next request has arrived.
    Between,
    /// A head is arriving; `overflow` once it outgrew `MAX_HEAD`.
    Head {
        buf: Vec<u8>,
        overflow: bool,
    },
    /// This many body bytes are still to come.
    Body(u64),
    Chunked(Chunk),
    /// Framing unknown (see the module doc): bytes only count as activity.
    Opaque,
}

#[derive(Debug, Clone, Copy)]
enum Chunk {
    /// A chunk-size line: its value so far, its digit count, and whether an
    /// extension (ignored up to the line's end) has begun.
    Size {
        value: u64,
        digits: u8,
        ext: bool,
    },
    Data(u64),
    /// The CRLF after a chunk's data.
    DataEnd,
    /// The trailer section after the last chunk; ends at an empty line.
    Trailer {
        line_start: bool,
    },
}

/// The framing tracker of one connection's client-to-server bytes.
#[derive(Debug)]
pub struct Requests {
    state: State,
}

impl Requests {
    /// A fresh connection: its first head is already due (the caller timed
    /// it from the accept).
    pub fn new() -> Self {
        Self {
            state: State::Head {
                buf: Vec::new(),
                overflow: false,
            },
        }
    }

    /// Whether a request head is being received.
    pub fn in_head(&self) -> bool {
        matches!(self.state, State::Head { .. })
    }

    /// Whether the client is between requests or framing is unknown, as
    /// opposed to in the middle of sending one.
    pub fn between(&self) -> bool {
        matches!(self.state, State::Between | State::Opaque)
    }

    /// Reads `bytes`, the next ones the client sent.
    pub fn feed(&mut self, mut bytes: &[u8]) -> Progress {
        let mut progress = Progress::default();
        while !bytes.is_empty() {
            match &mut self.state {
                State::Opaque => break,
                State::Between => {
                    progress.head_started = true;
                    self.state = State::Head {
                        buf: Vec::new(),
                        overflow: false,
                    };
                }
                State::Head { buf, overflow } => {
                    let Some(used) = take_head(buf, overflow, bytes) else {
                        break;
                    };
                    bytes = &bytes[used..];
                    let next = if *overflow {
                        State::Opaque
                    } else if buf.starts_with(b"PRI * HTTP/2.0") {
                        progress.refused = true;
                        State::Opaque
                    } else {
                        body_of(buf)
                    };
                    self.state = next;
                    if matches!(self.state, State::Between) {
                        progress.completed = true;
                    }
                }
                State::Body(left) => {
                    let used = usize::try_from(*left).map_or(bytes.len(), |l| l.min(bytes.len()));
                    *left -= used as u64;
                    bytes = &bytes[used..];
                    if *left == 0 {
                        self.state = State::Between;
                        progress.completed = true;
                    }
                }
                State::Chunked(chunk) => {
                    let (used, next) = chunk_step(*chunk, bytes);
                    bytes = &bytes[used..];
                    self.state = match next {
                        Some(Some(chunk)) => State::Chunked(chunk),
                        Some(None) => {
                            progress.completed = true;
                            State::Between
                        }
                        None => State::Opaque,
                    };
                }
            }
        }
        progress
    }
}

/// Adds head bytes to `buf` and returns how many of `bytes` belonged to the
/// head once its end (an empty line) is found; `None` if it goes on.
fn take_head(buf: &mut Vec<u8>, overflow: &mut bool, bytes: &[u8]) -> Option<usize> {
    for (i, &byte) in bytes.iter().enumerate() {
        // Empty lines before a request line are allowed (and skipped).
        if buf.is_empty() && (byte == b'\r' || byte == b'\n') {
            continue;
        }
        if buf.len() >= MAX_HEAD {
            // Keep only the last bytes, enough to see the end.
            *overflow = true;
            buf.drain(..buf.len() - 2);
        }
        buf.push(byte);
        if byte == b'\n' && (buf.ends_with(b"\n\n") || buf.ends_with(b"\n\r\n")) {
            return Some(i + 1);
        }
    }
    None
}

/// What follows a complete head: its body's framing, as RFC 9112 §6.3
/// reads it (chunked wins over a length; no length, no body).
fn body_of(head: &[u8]) -> State {
    let text = String::from_utf8_lossy(head);
    let mut length: Option<u64> = None;
    let mut chunked = None;
    for line in text.split('\n').skip(1) {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        if name.eq_ignore_ascii_case("content-length") {
            for part in value.split(',') {
                match (part.trim().parse::<u64>(), length) {
                    (Ok(n), None) => length = Some(n),
                    (Ok(n), Some(seen)) if n == seen => {}
                    _ => return State::Opaque,
                }
            }
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            let last = value.rsplit(',').next().unwrap_or("").trim();
            chunked = Some(last.eq_ignore_ascii_case("chunked"));
        }
    }
    match (chunked, length) {
        (Some(true), _) => State::Chunked(Chunk::Size {
            value: 0,
            digits: 0,
            ext: false,
        }),
        (Some(false), _) => State::Opaque,
        (None, Some(n)) if n > 0 => State::Body(n),
        (None, _) => State::Between,
    }
}

/// One step of chunked decoding: bytes used, then `Some(Some(next))`,
/// `Some(None)` once the body ended, or `None` on a malformed body.
fn chunk_step(chunk: Chunk, bytes: &[u8]) -> (usize, Option<Option<Chunk>>) {
    let byte = bytes[0];
    let next = match chunk {
        Chunk::Data(left) => {
            let used = usize::try_from(left).map_or(bytes.len(), |l| l.min(bytes.len()));
            let left = left - used as u64;
            let next = if left == 0 {
                Chunk::DataEnd
            } else {
                Chunk::Data(left)
            };
            return (used, Some(Some(next)));
        }
        Chunk::Size { value, digits, ext } => match byte {
            b'\n' if digits == 0 => return (1, None),
            b'\n' if value == 0 => Chunk::Trailer { line_start: true },
            b'\n' => Chunk::Data(value),
            b'\r' => chunk,
            _ if ext => chunk,
            _ => match (byte as char).to_digit(16) {
                Some(_) if digits >= 15 => return (1, None),
                Some(d) => Chunk::Size {
                    value: value * 16 + u64::from(d),
                    digits: digits + 1,
                    ext: false,
                },
                None => Chunk::Size {
                    value,
                    digits,
                    ext: true,
                },
            },
        },
        Chunk::DataEnd => match byte {
            b'\r' => chunk,
            b'\n' => Chunk::Size {
                value: 0,
                digits: 0,
                ext: false,
            },
            _ => return (1, None),
        },
        Chunk::Trailer { line_start } => match byte {
            b'\n' if line_start => return (1, Some(None)),
            b'\n' => Chunk::Trailer { line_start: true },
            b'\r' => chunk,
            _ => Chunk::Trailer { line_start: false },
        },
    };
    (1, Some(Some(next)))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds `bytes` one at a time (the worst split) and in one piece,
    /// and returns the progress both ways, which must agree.
    fn feed_both(bytes: &[u8]) -> (Progress, Requests) {
        let mut whole = Requests::new();
        let at_once = whole.feed(bytes);
        let mut split = Requests::new();
        let mut dribbled = Progress::default();
        for byte in bytes {
            let p = split.feed(std::slice::from_ref(byte));
            dribbled.head_started |= p.head_started;
            dribbled.completed |= p.completed;
            dribbled.refused |= p.refused;
        }
        assert_eq!(at_once.completed, dribbled.completed, "{bytes:?}");
        assert_eq!(whole.between(), split.between());
        (at_once, whole)
    }

    #[test]
    fn a_get_completes_at_the_empty_line_and_a_second_request_starts_a_head() {
        let (progress, mut requests) = feed_both(b"GET /api/health HTTP/1.1\r\nHost: x\r\n\r\n");
        assert!(progress.completed);
        assert!(requests.between());
        let next = requests.feed(b"GET / HTTP/1.1\r\n");
        assert!(next.head_started && !next.completed);
        assert!(requests.in_head());
    }

    #[test]
    fn a_head_sent_a_line_at_a_time_is_not_complete_until_its_empty_line() {
        let mut requests = Requests::new();
        for line in [&b"GET / HTTP/1.1\r\n"[..], b"Host: x\r\n", b"X-A: 1\r\n"] {
            assert!(!requests.feed(line).completed);
            assert!(requests.in_head());
        }
        assert!(requests.feed(b"\r\n").completed);
    }

    #[test]
    fn a_body_by_length_completes_after_its_last_byte() {
        let head = b"POST /api/x HTTP/1.1\r\nContent-Length: 5\r\n\r\nabc";
        let (progress, mut requests) = feed_both(head);
        assert!(!progress.completed && !requests.between());
        assert!(requests.feed(b"de").completed);
    }

    #[test]
    fn a_chunked_body_completes_after_its_last_chunk_and_trailers() {
        let body = b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n\
                     5;ext=1\r\nhello\r\nA\r\n0123456789\r\n0\r\nX-T: y\r\n\r\n";
        let (progress, requests) = feed_both(body);
        assert!(progress.completed && requests.between());
        let (unfinished, requests) = feed_both(&body[..body.len() - 2]);
        assert!(!unfinished.completed && !requests.between());
    }

    #[test]
    fn leading_empty_lines_start_a_head_but_do_not_end_it() {
        let mut requests = Requests::new();
        assert!(!requests.feed(b"\r\n\r\n\r\n").completed);
        assert!(requests.in_head());
        assert!(requests.feed(b"GET / HTTP/1.1\r\n\r\n").completed);
    }

    #[test]
    fn unknown_framing_gives_up_and_http2_is_refused() {
        let (_, gzip) = feed_both(b"POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n");
        assert!(matches!(gzip.state, State::Opaque));
        let (_, twice) =
            feed_both(b"POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n");
        assert!(matches!(twice.state, State::Opaque));
        let (h2, _) = feed_both(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
        assert!(h2.refused);
    }

    #[test]
    fn a_head_past_the_limit_is_not_kept() {
        let mut requests = Requests::new();
        requests.feed(b"GET / HTTP/1.1\r\n");
        let filler = vec![b'a'; MAX_HEAD * 2];
        requests.feed(&filler);
        assert!(requests.in_head());
        assert!(!requests.feed(b"\r\n\r\n").completed);
        assert!(matches!(requests.state, State::Opaque));
    }
}
