//! The byte stream under a WebSocket: reads through one scratch buffer per thread, so an
//! idle connection holds no read buffer of its own beyond tungstenite's small one.
//!
//! tungstenite asks for at most `read_buffer_size` bytes per read (its buffer only grows to
//! hold a frame larger than that). A small buffer keeps idle connections small, but would
//! cost one system call per few hundred bytes of a large message. [`ReadAhead`] reads as
//! much as the socket has (up to [`SCRATCH`] bytes) into the thread's scratch buffer,
//! hands tungstenite what it asked for and keeps the rest, in a buffer that exists only
//! until tungstenite has taken it, which is at once: the driver reads until the socket is
//! drained.

use std::cell::RefCell;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// Bytes read from the socket at most per system call.
pub(crate) const SCRATCH: usize = 64 * 1024;

thread_local! {
    static SCRATCH_BUF: RefCell<Box<[u8]>> = RefCell::new(vec![0; SCRATCH].into_boxed_slice());
}

/// A stream whose reads go through the thread's scratch buffer (see the module docs).
pub(crate) struct ReadAhead<S> {
    inner: S,
    /// Read from the socket, not yet taken by the reader: `rest[pos..]`.
    rest: Vec<u8>,
    pos: usize,
}

impl<S> ReadAhead<S> {
    pub(crate) fn new(inner: S) -> Self {
        Self {
            inner,
            rest: Vec::new(),
            pos: 0,
        }
    }

    /// Bytes read ahead, waiting for the reader.
    #[cfg(test)]
    pub(crate) fn pending(&self) -> usize {
        self.rest.len() - self.pos
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for ReadAhead<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.pos < this.rest.len() {
            let n = (this.rest.len() - this.pos).min(buf.remaining());
            buf.put_slice(&this.rest[this.pos..this.pos + n]);
            this.pos += n;
            if this.pos == this.rest.len() {
                // Gone with the last byte: an idle connection keeps nothing here.
                this.rest = Vec::new();
                this.pos = 0;
            }
            return Poll::Ready(Ok(()));
        }
        if buf.remaining() >= SCRATCH {
            return Pin::new(&mut this.inner).poll_read(cx, buf);
        }
        SCRATCH_BUF.with(|scratch| {
            let Ok(mut scratch) = scratch.try_borrow_mut() else {
                return Pin::new(&mut this.inner).poll_read(cx, buf);
            };
            let mut tmp = ReadBuf::new(&mut scratch[..]);
            ready!(Pin::new(&mut this.inner).poll_read(cx, &mut tmp))?;
            let data = tmp.filled();
            let n = data.len().min(buf.remaining());
            buf.put_slice(&data[..n]);
            if n < data.len() {
                this.rest = data[n..].to_vec();
                this.pos = 0;
            }
            Poll::Ready(Ok(()))
        })
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for ReadAhead<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[tokio::test]
    async fn small_reads_see_every_byte_in_order_and_keep_nothing() {
        let (mut tx, rx) = tokio::io::duplex(SCRATCH * 2);
        let data: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
        tx.write_all(&data).await.unwrap();
        drop(tx);
        let mut r = ReadAhead::new(rx);
        let mut got = Vec::new();
        let mut chunk = [0u8; 300];
        loop {
            let n = r.read(&mut chunk).await.unwrap();
            if n == 0 {
                break;
            }
            got.extend_from_slice(&chunk[..n]);
        }
        assert_eq!(got, data);
        assert_eq!(r.pending(), 0);
        assert_eq!(r.rest.capacity(), 0);
    }

    /// Counts the reads that reach the socket.
    struct Counting<S>(S, std::sync::Arc<std::sync::atomic::AtomicUsize>);

    impl<S: AsyncRead + Unpin> AsyncRead for Counting<S> {
        fn poll_read(
            mut self: Pin<&mut Self>,
            cx: &mut Context<'_>,
            buf: &mut ReadBuf<'_>,
        ) -> Poll<io::Result<()>> {
            let r = Pin::new(&mut self.0).poll_read(cx, buf);
            if r.is_ready() {
                self.1.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
            r
        }
    }

    impl<S: AsyncWrite + Unpin> AsyncWrite for Counting<S> {
        fn poll_write(
            mut self: Pin<&mut Self>,
            cx: &mut Context<'_>,
            buf: &[u8],
        ) -> Poll<io::Result<usize>> {
            Pin::new(&mut self.0).poll_write(cx, buf)
        }
        fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
            Pin::new(&mut self.0).poll_flush(cx)
        }
        fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
            Pin::new(&mut self.0).poll_shutdown(cx)
        }
    }

    #[tokio::test]
    async fn a_small_websocket_read_buffer_reads_large_messages_in_few_system_calls() {
        use futures_util::{SinkExt, StreamExt};
        use tokio_tungstenite::WebSocketStream;
        use tokio_tungstenite::tungstenite::Message;
        use tokio_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};

        let (a, b) = tokio::io::duplex(256 * 1024);
        let reads = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let config = WebSocketConfig::default()
            .read_buffer_size(256)
            .max_message_size(Some(2_000_000))
            .max_frame_size(Some(2_000_000));
        let server_io = ReadAhead::new(Counting(b, reads.clone()));
        let mut server =
            WebSocketStream::from_raw_socket(server_io, Role::Server, Some(config)).await;
        let mut client = WebSocketStream::from_raw_socket(a, Role::Client, None).await;
        let big: Vec<u8> = (0..1_000_000u32).map(|i| (i % 253) as u8).collect();
        let sent = big.clone();
        let writer = tokio::spawn(async move {
            client.send(Message::text("first")).await.unwrap();
            client.send(Message::binary(sent)).await.unwrap();
            for i in 0..100 {
                client
                    .feed(Message::text(format!("small {i}")))
                    .await
                    .unwrap();
            }
            client.flush().await.unwrap();
            client
        });
        let mut next = async || server.next().await.unwrap().unwrap();
        assert_eq!(next().await, Message::text("first"));
        assert_eq!(next().await, Message::binary(big));
        for i in 0..100 {
            assert_eq!(next().await, Message::text(format!("small {i}")));
        }
        let _client = writer.await.unwrap();
        // About 1 MB through a 256 KiB pipe: a few dozen reads at most, where reading
        // 256 bytes at a time would take about 4,000.
        let n = reads.load(std::sync::atomic::Ordering::Relaxed);
        assert!(n < 200, "{n} reads");
        assert_eq!(server.get_ref().pending(), 0);
    }

    #[tokio::test]
    async fn large_reads_go_straight_to_the_socket() {
        let (mut tx, rx) = tokio::io::duplex(SCRATCH * 4);
        let data = vec![7u8; SCRATCH * 2];
        tx.write_all(&data).await.unwrap();
        let mut r = ReadAhead::new(rx);
        let mut big = vec![0u8; SCRATCH * 2];
        let n = r.read(&mut big).await.unwrap();
        assert!(n > 0);
        assert_eq!(r.pending(), 0);
    }
}
