//! Allocation-free HTTP/1.x request-head parser: method, request-target, version, `Host`,
//! `User-Agent`, and the authority of `CONNECT host:port` and absolute-URI requests
//! (`GET http://host/path`, as sent to proxies). Everything returned borrows from the input.
//!
//! Only the request head is read (up to the empty line). The caller follows the stream: how
//! long a head may grow is its limit (a head cut there is read with [`parse_cut_head`]), and
//! it skips the body by [`Framing`] (`Content-Length`, or chunks read with [`chunk_size`]).
//! Every index is checked, so hostile bytes give [`HttpParse::NotHttp`] or
//! [`HttpParse::Incomplete`], never a panic.

#![deny(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

/// Request methods we recognise (RFC 9110 and the common WebDAV ones). A payload that does
/// not start with one of these followed by a space is not an HTTP request.
const METHODS: &[&[u8]] = &[
    b"GET",
    b"POST",
    b"HEAD",
    b"PUT",
    b"DELETE",
    b"OPTIONS",
    b"CONNECT",
    b"PATCH",
    b"TRACE",
    b"PROPFIND",
    b"PROPPATCH",
    b"MKCOL",
    b"COPY",
    b"MOVE",
    b"LOCK",
    b"UNLOCK",
];

/// The facts of one request head, borrowed from the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HttpRequest<'a> {
    /// Method token (`GET`, `CONNECT`, ...).
    pub method: &'a [u8],
    /// Request-target as sent (origin-form path, absolute URI, or `host:port` for CONNECT).
    pub target: &'a [u8],
    /// Protocol version token (`HTTP/1.1`).
    pub version: &'a [u8],
    /// Value of the first `Host` header, trimmed, with any `:port` removed.
    pub host: Option<&'a [u8]>,
    /// Port of the `Host` header, when it had a valid one.
    pub host_port: Option<u16>,
    /// Host of a CONNECT target or of an absolute-URI target, without the port.
    pub authority: Option<&'a [u8]>,
    /// Port of that authority, when present and valid.
    pub authority_port: Option<u16>,
    /// Value of the first `User-Agent` header, trimmed.
    pub user_agent: Option<&'a [u8]>,
    /// Bytes of the head including the final empty line.
    pub head_len: usize,
    /// `Content-Length`, when present and a number.
    pub content_length: Option<u64>,
    /// `Transfer-Encoding` ends in `chunked` (it then wins over `Content-Length`).
    pub chunked: bool,
}

impl<'a> HttpRequest<'a> {
    /// The name the request is for: the `Host` header, else the CONNECT/absolute-URI authority.
    pub fn hostname(&self) -> Option<&'a [u8]> {
        self.host.or(self.authority)
    }

    /// The port that goes with [`HttpRequest::hostname`].
    pub fn port(&self) -> Option<u16> {
        if self.host.is_some() {
            self.host_port
        } else {
            self.authority_port
        }
    }

    /// True for `CONNECT`: the bytes after the proxy's answer are a tunnel (often TLS).
    pub fn is_connect(&self) -> bool {
        self.method == b"CONNECT"
    }
}

/// Outcome of [`parse_request_head`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HttpParse<'a> {
    /// A complete head.
    Complete(HttpRequest<'a>),
    /// Starts like a request, but the head has not ended yet: more bytes are needed.
    Incomplete,
    /// Not an HTTP/1.x request (or a head too long or malformed to be worth more bytes).
    NotHttp,
}

/// Cheap check: the bytes start with a known method and a space (or could still, when fewer
/// bytes than the method are present: `b"GE"` answers true).
pub fn looks_like_request(data: &[u8]) -> bool {
    METHODS.iter().any(|m| {
        let n = data.len().min(m.len() + 1);
        let mut want = m.iter().copied().chain(std::iter::once(b' '));
        data.iter().take(n).all(|b| want.next() == Some(*b))
    }) && !data.is_empty()
}

/// `data` without leading and trailing spaces.
fn trim_spaces(mut data: &[u8]) -> &[u8] {
    while let [b' ', rest @ ..] = data {
        data = rest;
    }
    while let [rest @ .., b' '] = data {
        data = rest;
    }
    data
}

/// Parse the request head at the start of `data`. A head without its empty line yet is
/// [`HttpParse::Incomplete`] however long it is: the caller bounds what it holds.
pub fn parse_request_head(data: &[u8]) -> HttpParse<'_> {
    if !looks_like_request(data) {
        return HttpParse::NotHttp;
    }
    let Some(end) = head_end(data, 0) else {
        return HttpParse::Incomplete;
    };
    match data.get(..end).and_then(parse_head) {
        Some(req) => HttpParse::Complete(req),
        None => HttpParse::NotHttp,
    }
}

/// Parse a whole head: `head` ends where [`head_end`] found its empty line.
pub fn parse_head(head: &[u8]) -> Option<HttpRequest<'_>> {
    if !looks_like_request(head) {
        return None;
    }
    parse_lines(head)
}

/// The start of a head longer than the caller holds (cut at its limit, the empty line not
/// seen): the request line and every header line complete in `data`. `head_len` is the
/// length of those lines, where the rest of the head continues. `None` when not even the
/// request line is complete, or it is not a request.
pub fn parse_cut_head(data: &[u8]) -> Option<HttpRequest<'_>> {
    if !looks_like_request(data) {
        return None;
    }
    let end = data.iter().rposition(|b| *b == b'\n')? + 1;
    parse_lines(data.get(..end)?)
}

/// End of the head (the offset after its empty line: `LF LF` or `LF CR LF`) in `data`,
/// looking from `from` on. A caller that holds a growing head resumes from
/// `data.len() - 2` of the previous look, so each byte is looked at about once.
pub fn head_end(data: &[u8], from: usize) -> Option<usize> {
    let mut at = from;
    loop {
        let lf = at + data.get(at..)?.iter().position(|b| *b == b'\n')?;
        match data.get(lf + 1..lf + 3) {
            Some([b'\n', _]) => return Some(lf + 2),
            Some([b'\r', b'\n']) => return Some(lf + 3),
            None if data.get(lf + 1) == Some(&b'\n') => return Some(lf + 2),
            _ => at = lf + 1,
        }
    }
}

/// The request line and header lines of `head` (whole lines, up to and maybe including the
/// empty line); `head_len` is `head.len()`.
fn parse_lines(head: &[u8]) -> Option<HttpRequest<'_>> {
    let end = head.len();
    let mut lines = head.split(|b| *b == b'\n').map(trim_cr);
    let request_line = lines.next()?;
    // method SP request-target SP version; a target with unescaped spaces (seen in attack
    // traffic) keeps everything between the first space and the last, as tshark reads it.
    let request_line = trim_spaces(request_line);
    let first_space = request_line.iter().position(|b| *b == b' ')?;
    let (method, rest) = request_line.split_at(first_space);
    let rest = trim_spaces(rest);
    let (target, version) = match rest.iter().rposition(|b| *b == b' ') {
        Some(last)
            if rest
                .get(last + 1..)
                .is_some_and(|v| v.starts_with(b"HTTP/")) =>
        {
            (
                trim_spaces(rest.get(..last).unwrap_or(b"")),
                rest.get(last + 1..).unwrap_or(b""),
            )
        }
        // HTTP/0.9 style: no version.
        _ if !rest.contains(&b' ') => (rest, &b""[..]),
        _ => return None,
    };
    if target.is_empty() {
        return None;
    }
    let mut req = HttpRequest {
        method,
        target,
        version,
        host: None,
        host_port: None,
        authority: None,
        authority_port: None,
        user_agent: None,
        head_len: end,
        content_length: None,
        chunked: false,
    };
    if method == b"CONNECT" {
        let (h, p) = split_host_port(target);
        req.authority = non_empty(h);
        req.authority_port = p;
    } else if let Some(rest) =
        strip_prefix_ci(target, b"http://").or_else(|| strip_prefix_ci(target, b"https://"))
    {
        let auth_end = rest
            .iter()
            .position(|b| matches!(b, b'/' | b'?' | b'#'))
            .unwrap_or(rest.len());
        let auth = rest.get(..auth_end).unwrap_or(b"");
        // Drop userinfo (`user:pass@host`).
        let auth = match auth.iter().rposition(|b| *b == b'@') {
            Some(at) => auth.get(at + 1..).unwrap_or(b""),
            None => auth,
        };
        let (h, p) = split_host_port(auth);
        req.authority = non_empty(h);
        req.authority_port = p;
    }
    let mut framing = Framing::default();
    for line in lines {
        if line.is_empty() {
            break;
        }
        let Some((name, value)) = header(line) else {
            continue;
        };
        if req.host.is_none() && name.eq_ignore_ascii_case(b"host") {
            let (h, p) = split_host_port(value);
            req.host = non_empty(h);
            req.host_port = p;
        } else if req.user_agent.is_none() && name.eq_ignore_ascii_case(b"user-agent") {
            req.user_agent = non_empty(value);
        } else {
            framing.note(name, value);
        }
    }
    req.content_length = framing.content_length;
    req.chunked = framing.chunked;
    Some(req)
}

/// A header line's name and trimmed value; `None` without a colon.
fn header(line: &[u8]) -> Option<(&[u8], &[u8])> {
    let colon = line.iter().position(|b| *b == b':')?;
    Some((line.get(..colon)?, trim(line.get(colon + 1..)?)))
}

/// How a request's body is delimited (RFC 9112 section 6.3): chunked wins over a length; neither
/// means no body.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Framing {
    /// `Content-Length`, when present and a number.
    pub content_length: Option<u64>,
    /// `Transfer-Encoding` ends in `chunked`.
    pub chunked: bool,
}

impl Framing {
    /// The framing a parsed head declared.
    pub fn of(req: &HttpRequest<'_>) -> Framing {
        Framing {
            content_length: req.content_length,
            chunked: req.chunked,
        }
    }

    /// Note one header line (without its line end) of the head, if it is about framing.
    pub fn note_line(&mut self, line: &[u8]) {
        if let Some((name, value)) = header(trim_cr(line)) {
            self.note(name, value);
        }
    }

    fn note(&mut self, name: &[u8], value: &[u8]) {
        if name.eq_ignore_ascii_case(b"content-length") {
            self.content_length = std::str::from_utf8(value).ok().and_then(|v| v.parse().ok());
        } else if name.eq_ignore_ascii_case(b"transfer-encoding") {
            self.chunked = value
                .rsplit(|b| *b == b',')
                .next()
                .is_some_and(|last| trim(last).eq_ignore_ascii_case(b"chunked"));
        }
    }
}

/// The size of a chunk from its size line (without the line end): hex digits, then maybe
/// `;extensions`. `None` when it is not a size (more than 16 digits, not hex).
pub fn chunk_size(line: &[u8]) -> Option<u64> {
    let hex = trim(line.split(|b| *b == b';').next().unwrap_or(b""));
    if hex.is_empty() || hex.len() > 16 {
        return None;
    }
    u64::from_str_radix(std::str::from_utf8(hex).ok()?, 16).ok()
}

fn non_empty(s: &[u8]) -> Option<&[u8]> {
    (!s.is_empty()).then_some(s)
}

/// `host:port`, `[v6]:port`, or a bare host. A port that is not a number is left in the host.
fn split_host_port(s: &[u8]) -> (&[u8], Option<u16>) {
    let search_from = if s.first() == Some(&b'[') {
        s.iter().position(|b| *b == b']').unwrap_or(0)
    } else {
        0
    };
    let Some(colon) = s
        .get(search_from..)
        .and_then(|t| t.iter().rposition(|b| *b == b':'))
        .map(|i| i + search_from)
    else {
        return (s, None);
    };
    // A bare IPv6 address without brackets has several colons: keep it whole.
    if search_from == 0 && s.iter().filter(|b| **b == b':').count() > 1 {
        return (s, None);
    }
    let host = s.get(..colon).unwrap_or(b"");
    let port = s.get(colon + 1..).unwrap_or(b"");
    if port.is_empty() {
        return (host, None);
    }
    match std::str::from_utf8(port).ok().and_then(|p| p.parse().ok()) {
        Some(p) => (host, Some(p)),
        None => (s, None),
    }
}

fn strip_prefix_ci<'a>(s: &'a [u8], prefix: &[u8]) -> Option<&'a [u8]> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| s.get(prefix.len()..))
        .flatten()
}

fn trim_cr(line: &[u8]) -> &[u8] {
    line.strip_suffix(b"\r").unwrap_or(line)
}

fn trim(s: &[u8]) -> &[u8] {
    let start = s
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(s.len());
    let end = s
        .iter()
        .rposition(|b| !b.is_ascii_whitespace())
        .map_or(start, |i| i + 1);
    s.get(start..end.max(start)).unwrap_or(b"")
}

#[cfg(test)]
#[allow(clippy::indexing_slicing, clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;

    fn complete(data: &[u8]) -> HttpRequest<'_> {
        match parse_request_head(data) {
            HttpParse::Complete(r) => r,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn host_header_and_user_agent() {
        let r = complete(
            b"GET /a?b HTTP/1.1\r\nhost: Dnl-01.Geo.Kaspersky.com:8080\r\nUser-Agent:  KAV \r\n\r\nbody",
        );
        assert_eq!(r.method, b"GET");
        assert_eq!(r.target, b"/a?b");
        assert_eq!(r.hostname(), Some(&b"Dnl-01.Geo.Kaspersky.com"[..]));
        assert_eq!(r.port(), Some(8080));
        assert_eq!(r.user_agent, Some(&b"KAV"[..]));
        assert_eq!(r.head_len, 77);
    }

    #[test]
    fn connect_and_absolute_uri() {
        let r = complete(b"CONNECT secure.newegg.com:443 HTTP/1.1\r\n\r\n");
        assert!(r.is_connect());
        assert_eq!(r.hostname(), Some(&b"secure.newegg.com"[..]));
        assert_eq!(r.port(), Some(443));
        let r = complete(b"GET http://user@upd.kaspersky.com/x HTTP/1.0\r\n\r\n");
        assert_eq!(r.authority, Some(&b"upd.kaspersky.com"[..]));
        assert_eq!(r.port(), None);
        let r = complete(b"GET http://[::1]:81/ HTTP/1.1\r\nHost: [::1]:81\r\n\r\n");
        assert_eq!(r.host, Some(&b"[::1]"[..]));
        assert_eq!(r.host_port, Some(81));
    }

    #[test]
    fn framing_and_chunks() {
        let r = complete(b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: gzip, chunked\r\nContent-Length: 50\r\n\r\n");
        assert_eq!(
            Framing::of(&r),
            Framing {
                content_length: Some(50),
                chunked: true
            }
        );
        let mut f = Framing::default();
        f.note_line(b"content-length:  12 \r");
        f.note_line(b"Cookie: Content-Length: 99");
        f.note_line(b"no colon");
        assert_eq!(f.content_length, Some(12));
        f.note_line(b"Transfer-Encoding: chunked, gzip");
        assert!(!f.chunked);
        f.note_line(b"transfer-encoding:Chunked");
        assert!(f.chunked);
        assert_eq!(chunk_size(b"1a"), Some(26));
        assert_eq!(chunk_size(b" 0 ;name=value"), Some(0));
        assert_eq!(chunk_size(b"ffffffffffffffff"), Some(u64::MAX));
        assert_eq!(chunk_size(b"10000000000000000"), None);
        assert_eq!(chunk_size(b"zz"), None);
        assert_eq!(chunk_size(b""), None);
    }

    #[test]
    fn head_end_from_any_point() {
        let head = b"GET / HTTP/1.1\r\nHost: a\r\n\r\nBODY";
        let end = head.len() - 4;
        for from in 0..end - 2 {
            assert_eq!(head_end(head, from), Some(end), "{from}");
        }
        // Resuming 2 bytes before the end of each growing prefix finds it once complete.
        let mut from = 0;
        for n in 0..head.len() {
            match head_end(&head[..n], from) {
                Some(got) => {
                    assert_eq!((n, got), (end, end));
                    break;
                }
                None => from = n.saturating_sub(2),
            }
            assert!(n < end);
        }
        assert_eq!(head_end(b"GET / HTTP/1.0\n\n", 0), Some(16));
        assert_eq!(head_end(b"GET /\nA: b\n\r", 0), None);
        assert_eq!(head_end(b"GET /\nA: b\n\rx\n\n", 0), Some(15));
    }

    #[test]
    fn a_head_cut_gives_its_complete_lines() {
        let head = b"GET /a HTTP/1.1\r\nHost: big.example:8080\r\nCookie: aaaaaaaa";
        // No empty line: incomplete however long it grows; the caller bounds it.
        assert_eq!(parse_request_head(head), HttpParse::Incomplete);
        let r = parse_cut_head(head).unwrap();
        assert_eq!(r.hostname(), Some(&b"big.example"[..]));
        assert_eq!(r.port(), Some(8080));
        assert_eq!(r.head_len, 41);
        assert_eq!(&head[r.head_len..], b"Cookie: aaaaaaaa");
        // The request line alone, or not even that.
        assert_eq!(parse_cut_head(b"GET /x HTTP/1.1\r\nHo").unwrap().host, None);
        assert_eq!(parse_cut_head(b"GET /xxxxxxxxxxxx"), None);
        assert_eq!(parse_cut_head(b"HTTP/1.1 200 OK\r\n"), None);
        let mut long = b"GET / HTTP/1.1\r\n".to_vec();
        long.resize(100_000, b'x');
        assert_eq!(parse_request_head(&long), HttpParse::Incomplete);
    }

    #[test]
    fn incomplete_and_not_http() {
        assert_eq!(
            parse_request_head(b"GET / HTTP/1.1\r\nHost: a"),
            HttpParse::Incomplete
        );
        assert_eq!(parse_request_head(b"GE"), HttpParse::Incomplete);
        assert_eq!(
            parse_request_head(b"HTTP/1.1 200 OK\r\n\r\n"),
            HttpParse::NotHttp
        );
        assert_eq!(
            parse_request_head(b"GETX / HTTP/1.1\r\n\r\n"),
            HttpParse::NotHttp
        );
        assert_eq!(parse_request_head(b""), HttpParse::NotHttp);
        assert_eq!(
            parse_request_head(b"GET / SMTP/1\r\n\r\n"),
            HttpParse::NotHttp
        );
    }

    #[test]
    fn every_truncation_is_handled() {
        let full =
            b"CONNECT a.example:443 HTTP/1.1\r\nHost: a.example:443\r\nUser-Agent: x\r\n\r\n";
        for cut in 0..full.len() {
            let r = parse_request_head(&full[..cut]);
            assert!(
                matches!(r, HttpParse::Incomplete | HttpParse::NotHttp),
                "{cut}"
            );
        }
        assert!(matches!(parse_request_head(full), HttpParse::Complete(_)));
        // Garbage of every byte value never panics.
        for b in 0..=255u8 {
            let mut g = b"GET ".to_vec();
            g.extend(std::iter::repeat_n(b, 40));
            g.extend_from_slice(b"\r\n\r\n");
            let _ = parse_request_head(&g);
        }
    }
}
