//! Engine.IO's HTTP long-polling transport, client side: one keep-alive HTTP/1.1 connection
//! (RST on close, as every connection here), requests one at a time.

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::error::{Error, Result, within};
use crate::ws::{self, Target};

/// Responses above this are not Engine.IO's (nothing here asks for big payloads).
const MAX_RESPONSE: usize = 1 << 20;

/// A polling connection.
pub struct Poll {
    tcp: TcpStream,
    buf: Vec<u8>,
    t: Target,
}

/// The record separator between packets of one polling payload.
pub const SEP: char = '\u{1e}';

/// The query of a request on session `sid` (none: the handshake).
fn query(sid: Option<&str>) -> String {
    match sid {
        Some(sid) => format!("EIO=4&transport=polling&sid={}", encode(sid)),
        None => "EIO=4&transport=polling".to_string(),
    }
}

/// Percent-encodes what is not unreserved in a URL (sids are base64url-like, but a server
/// may choose any characters).
pub fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

impl Poll {
    /// Opens the TCP connection.
    pub async fn connect(t: &Target) -> Result<Poll> {
        let tcp = within(t.step, "tcp connect (polling)", ws::tcp(t)).await?;
        Ok(Poll {
            tcp,
            buf: Vec::with_capacity(1024),
            t: t.clone(),
        })
    }

    /// Writes a GET on `sid` (the handshake if none) without waiting for the answer.
    pub async fn send_get(&mut self, sid: Option<&str>) -> Result<()> {
        let req = format!(
            "GET {}?{} HTTP/1.1\r\nHost: {}\r\nConnection: keep-alive\r\n\r\n",
            self.t.path,
            query(sid),
            self.t.host
        );
        self.tcp
            .write_all(req.as_bytes())
            .await
            .map_err(|e| Error::Io("polling write", e))
    }

    /// GET on `sid` (the handshake if none): the response body, which must be 200.
    pub async fn get(&mut self, sid: Option<&str>) -> Result<String> {
        self.send_get(sid).await?;
        let step = self.t.step;
        within(step, "polling GET", self.read_ok()).await
    }

    /// POST `body` on `sid`; the response must be 200.
    pub async fn post(&mut self, sid: &str, body: &str) -> Result<String> {
        let req = format!(
            "POST {}?{} HTTP/1.1\r\nHost: {}\r\nConnection: keep-alive\r\n\
             Content-Type: text/plain;charset=UTF-8\r\nContent-Length: {}\r\n\r\n{body}",
            self.t.path,
            query(Some(sid)),
            self.t.host,
            body.len()
        );
        self.tcp
            .write_all(req.as_bytes())
            .await
            .map_err(|e| Error::Io("polling write", e))?;
        let step = self.t.step;
        within(step, "polling POST", self.read_ok()).await
    }

    async fn read_ok(&mut self) -> Result<String> {
        let (status, body) = self.read_response().await?;
        if status != 200 {
            return Err(Error::Http(format!(
                "status {status}: {:.120}",
                String::from_utf8_lossy(&body)
            )));
        }
        String::from_utf8(body).map_err(|_| Error::Http("body is not UTF-8".into()))
    }

    async fn fill(&mut self) -> Result<()> {
        if self.buf.len() > MAX_RESPONSE {
            return Err(Error::Http("response over 1 MiB".into()));
        }
        let mut chunk = [0u8; 4096];
        let n = self
            .tcp
            .read(&mut chunk)
            .await
            .map_err(|e| Error::Io("polling read", e))?;
        if n == 0 {
            return Err(Error::Closed("polling connection"));
        }
        self.buf.extend_from_slice(&chunk[..n]);
        Ok(())
    }

    /// One response: status and body (Content-Length or chunked).
    async fn read_response(&mut self) -> Result<(u16, Vec<u8>)> {
        let (head_len, status, length, chunked) = loop {
            let mut headers = [httparse::EMPTY_HEADER; 32];
            let mut res = httparse::Response::new(&mut headers);
            match res.parse(&self.buf) {
                Ok(httparse::Status::Complete(n)) => {
                    let status = res.code.unwrap_or(0);
                    let mut length = None;
                    let mut chunked = false;
                    for h in res.headers.iter() {
                        if h.name.eq_ignore_ascii_case("content-length") {
                            length = std::str::from_utf8(h.value)
                                .ok()
                                .and_then(|v| v.trim().parse::<usize>().ok());
                        } else if h.name.eq_ignore_ascii_case("transfer-encoding") {
                            chunked = String::from_utf8_lossy(h.value)
                                .to_ascii_lowercase()
                                .contains("chunked");
                        }
                    }
                    break (n, status, length, chunked);
                }
                Ok(httparse::Status::Partial) => self.fill().await?,
                Err(e) => return Err(Error::Http(format!("bad response head: {e}"))),
            }
        };
        self.buf.drain(..head_len);
        if chunked {
            return Ok((status, self.read_chunked().await?));
        }
        let len = length.unwrap_or(0);
        if len > MAX_RESPONSE {
            return Err(Error::Http(format!("Content-Length {len} over 1 MiB")));
        }
        while self.buf.len() < len {
            self.fill().await?;
        }
        let body = self.buf.drain(..len).collect();
        Ok((status, body))
    }

    async fn read_chunked(&mut self) -> Result<Vec<u8>> {
        let mut body = Vec::new();
        loop {
            let line_end = loop {
                if let Some(p) = memchr::memmem::find(&self.buf, b"\r\n") {
                    break p;
                }
                self.fill().await?;
            };
            let size_text = String::from_utf8_lossy(&self.buf[..line_end]).to_string();
            let size_hex = size_text.split(';').next().unwrap_or("").trim();
            let size = usize::from_str_radix(size_hex, 16)
                .map_err(|_| Error::Http(format!("bad chunk size {size_hex:?}")))?;
            if body.len() + size > MAX_RESPONSE {
                return Err(Error::Http("chunked body over 1 MiB".into()));
            }
            while self.buf.len() < line_end + 2 + size + 2 {
                self.fill().await?;
            }
            body.extend_from_slice(&self.buf[line_end + 2..line_end + 2 + size]);
            self.buf.drain(..line_end + 2 + size + 2);
            if size == 0 {
                return Ok(body);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sid_is_encoded() {
        assert_eq!(encode("a-b_c"), "a-b_c");
        assert_eq!(encode("a+b/c="), "a%2Bb%2Fc%3D");
    }
}
