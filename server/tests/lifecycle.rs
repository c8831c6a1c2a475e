//! Every session, socket and room has one owner that ends it, whatever order events come
//! in: clients that leave in the middle of a middleware, middlewares that refuse after
//! joining rooms, handlers that panic, dynamic namespaces that empty, and the Engine.IO
//! states Node guards (packets after a close, two upgrade probes, a connect timeout during
//! a middleware, a slow POST body, close frames, acks that never come). Each test asserts on
//! what a client sees or on the counts the server exposes to operators.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use futures_util::SinkExt;
use sio_server::{AckError, Adapter, ConnectError, MemoryAdapter, SocketIo};
use support::{eventually, next, serve, text, until_closed};
use tokio::sync::{Notify, Semaphore, mpsc};
use tokio_tungstenite::tungstenite::Message;

/// A middleware that parks until the test opens `gate`, after saying it started.
fn gated(
    started: &Arc<Notify>,
    gate: &Arc<Semaphore>,
) -> impl Fn(sio_server::Socket) -> futures_util::future::BoxFuture<'static, Result<(), ConnectError>>
+ Send
+ Sync
+ 'static {
    let (started, gate) = (started.clone(), gate.clone());
    move |socket| {
        let (started, gate) = (started.clone(), gate.clone());
        Box::pin(async move {
            socket.join("lobby");
            started.notify_one();
            let _ = gate.acquire().await;
            Ok(())
        })
    }
}

// Single-threaded runtime: once a task signals from inside a middleware and the test task
// runs again, that task's poll (the rest of its connect) has finished.
#[tokio::test]
async fn a_client_that_leaves_during_a_middleware_leaves_nothing_behind() {
    let started = Arc::new(Notify::new());
    let gate = Arc::new(Semaphore::new(0));
    let connected = Arc::new(AtomicUsize::new(0));
    let (done_tx, mut done_rx) = mpsc::unbounded_channel();
    let srv = serve(SocketIo::builder(), |io| {
        let c = connected.clone();
        io.ns("/", move |_| {
            c.fetch_add(1, Ordering::SeqCst);
        })
        .middleware(gated(&started, &gate))
        .middleware(move |_| {
            let done = done_tx.clone();
            async move {
                let _ = done.send(());
                Ok(())
            }
        });
    })
    .await;
    let mut ws = srv.ws().await;
    ws.send(Message::text("40")).await.unwrap();
    started.notified().await;
    assert_eq!(srv.counts("/"), (1, 0, 1), "the middleware joined a room");
    drop(ws);
    // The session's end reaches the socket that is still connecting: its rooms go.
    srv.counts_become("/", (0, 0, 0)).await;
    // The middlewares then accept: the socket must not join a namespace nobody reads.
    gate.add_permits(1);
    done_rx.recv().await.unwrap();
    assert_eq!(srv.counts("/"), (0, 0, 0));
    assert_eq!(
        connected.load(Ordering::SeqCst),
        0,
        "no connection handler ran"
    );
}

#[tokio::test]
async fn a_middleware_that_joins_rooms_then_refuses_leaves_no_room() {
    let token = Arc::new(());
    let srv = serve(SocketIo::builder(), |io| {
        let token = token.clone();
        io.ns("/", |_| {}).middleware(move |socket| {
            let token = token.clone();
            async move {
                socket.join(["a", "b"]);
                // A handler holding the socket: the refusal must drop it (a cycle otherwise).
                let s = socket.clone();
                socket.on("x", move |_, _| {
                    let _ = (&s, &token);
                });
                Err(ConnectError::new("nope"))
            }
        });
    })
    .await;
    let mut ws = srv.ws().await;
    ws.send(Message::text("40")).await.unwrap();
    assert_eq!(text(&mut ws).await, r#"44{"message":"nope"}"#);
    assert_eq!(
        srv.counts("/"),
        (1, 0, 0),
        "the session stays, without rooms"
    );
    assert_eq!(
        Arc::strong_count(&token),
        2,
        "only the test and the factory hold it"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_handler_is_logged_and_the_session_goes_on() {
    let left = Arc::new(AtomicUsize::new(0));
    let srv = serve(SocketIo::builder(), |io| {
        let left = left.clone();
        io.ns("/", move |socket| {
            socket.join("r");
            socket.on("boom", |_, _| panic!("handler bug"));
            socket.on_async("boom-later", |_, _| async {
                tokio::task::yield_now().await;
                panic!("async handler bug");
            });
            socket.on("echo", |_, mut ev| {
                let args = ev.args().to_raw();
                let _ = ev.ack(args);
            });
            socket.on_disconnecting(|_, _| panic!("disconnecting bug"));
            let left = left.clone();
            socket.on_disconnect(move |_, _| {
                left.fetch_add(1, Ordering::SeqCst);
                panic!("disconnect bug");
            });
        });
        io.ns("/mw", |_| {})
            .middleware(|_| async { panic!("middleware bug") });
    })
    .await;
    let mut ws = srv.ws_connected().await;
    let mut other = srv.ws_connected().await;
    for _ in 0..3 {
        ws.send(Message::text(r#"42["boom"]"#)).await.unwrap();
        ws.send(Message::text(r#"42["boom-later"]"#)).await.unwrap();
    }
    ws.send(Message::text(r#"421["echo","still here"]"#))
        .await
        .unwrap();
    assert_eq!(text(&mut ws).await, r#"431["still here"]"#);
    // A middleware that panics refuses the socket; the session goes on.
    ws.send(Message::text("40/mw,")).await.unwrap();
    assert_eq!(
        text(&mut ws).await,
        r#"44/mw,{"message":"middleware error"}"#
    );
    other
        .send(Message::text(r#"422["echo","me too"]"#))
        .await
        .unwrap();
    assert_eq!(text(&mut other).await, r#"432["me too"]"#);
    assert_eq!(srv.counts("/"), (2, 2, 3));
    drop(ws);
    drop(other);
    // Panicking disconnect handlers do not stop the cleanup.
    srv.counts_become("/", (0, 0, 0)).await;
    assert_eq!(left.load(Ordering::SeqCst), 2);
}

/// An adapter that counts how many were made and closed.
struct Counted {
    inner: MemoryAdapter,
    closed: Arc<AtomicUsize>,
}

impl Adapter for Counted {
    fn add_all(&self, sid: sio_server::Sid, rooms: &[sio_server::Room]) {
        self.inner.add_all(sid, rooms)
    }
    fn del(&self, sid: sio_server::Sid, room: &str) {
        self.inner.del(sid, room)
    }
    fn del_all(&self, sid: sio_server::Sid) {
        self.inner.del_all(sid)
    }
    fn rooms_of(&self, sid: sio_server::Sid) -> Vec<sio_server::Room> {
        self.inner.rooms_of(sid)
    }
    fn rooms(&self) -> Vec<sio_server::Room> {
        self.inner.rooms()
    }
    fn select(
        &self,
        opts: &sio_server::BroadcastOptions,
        local: &sio_server::LocalSockets<'_>,
        f: &mut dyn FnMut(sio_server::Sid),
    ) {
        self.inner.select(opts, local, f)
    }
    fn close(&self) {
        self.closed.fetch_add(1, Ordering::SeqCst);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn emptied_dynamic_namespaces_are_removed_and_their_adapters_closed() {
    let made = Arc::new(AtomicUsize::new(0));
    let closed = Arc::new(AtomicUsize::new(0));
    // The factory may look at the server: it runs outside the namespace lock.
    let handle: Arc<OnceLock<SocketIo>> = Arc::default();
    let builder = {
        let (made, closed, handle) = (made.clone(), closed.clone(), handle.clone());
        SocketIo::builder().adapter(move |_| {
            if let Some(io) = handle.get() {
                let _ = io.namespace_count();
            }
            made.fetch_add(1, Ordering::SeqCst);
            Counted {
                inner: MemoryAdapter::new(),
                closed: closed.clone(),
            }
        })
    };
    let srv = serve(builder, |io| {
        let _ = handle.set(io.clone());
        io.dyn_ns(|n| n.starts_with("/dyn-"), |socket| socket.join("r"))
            .middleware(|socket| async move {
                if socket.ns().ends_with("-x") {
                    socket.join("doomed");
                    return Err(ConnectError::new("refused"));
                }
                Ok(())
            });
    })
    .await;
    let base = srv.io.namespace_count();
    let mut ws = srv.ws().await;
    for i in 0..30 {
        ws.send(Message::text(format!("40/dyn-{i},")))
            .await
            .unwrap();
        assert!(
            text(&mut ws)
                .await
                .starts_with(&format!("40/dyn-{i},{{\"sid\""))
        );
    }
    ws.send(Message::text("40/dyn-x,")).await.unwrap();
    assert_eq!(text(&mut ws).await, r#"44/dyn-x,{"message":"refused"}"#);
    assert_eq!(
        srv.io.namespace_count(),
        base + 30,
        "the refused one is gone"
    );
    for i in 0..15 {
        ws.send(Message::text(format!("41/dyn-{i},")))
            .await
            .unwrap();
    }
    // A round trip on a namespace still connected: the disconnects were handled before.
    ws.send(Message::text("40/dyn-0,")).await.unwrap();
    assert!(text(&mut ws).await.starts_with("40/dyn-0,"));
    assert_eq!(srv.io.namespace_count(), base + 16);
    drop(ws);
    eventually("every child namespace is gone", || {
        srv.io.namespace_count() == base
    })
    .await;
    let made_dyn = made.load(Ordering::SeqCst) - base;
    assert_eq!(made_dyn, 32, "30, dyn-x, and dyn-0 again");
    assert_eq!(
        closed.load(Ordering::SeqCst),
        made_dyn,
        "every child adapter closed"
    );
}

#[tokio::test]
async fn the_number_of_dynamic_namespaces_is_capped() {
    let srv = serve(SocketIo::builder().max_dynamic_namespaces(2), |io| {
        io.dyn_ns(|n| n.starts_with("/d"), |_| {});
    })
    .await;
    let mut ws = srv.ws().await;
    for n in ["/d1", "/d2"] {
        ws.send(Message::text(format!("40{n},"))).await.unwrap();
        assert!(text(&mut ws).await.starts_with(&format!("40{n},{{")));
    }
    ws.send(Message::text("40/d3,")).await.unwrap();
    assert_eq!(
        text(&mut ws).await,
        r#"44/d3,{"message":"Invalid namespace"}"#
    );
    ws.send(Message::text("41/d1,")).await.unwrap();
    ws.send(Message::text("40/d3,")).await.unwrap();
    assert!(text(&mut ws).await.starts_with("40/d3,{"), "room again");
}

#[tokio::test]
async fn without_cleanup_dynamic_namespaces_stay_as_in_node() {
    let srv = serve(
        SocketIo::builder().cleanup_empty_child_namespaces(false),
        |io| {
            io.dyn_ns(|n| n.starts_with("/d"), |_| {});
        },
    )
    .await;
    let mut ws = srv.ws().await;
    ws.send(Message::text("40/d1,")).await.unwrap();
    assert!(text(&mut ws).await.starts_with("40/d1,{"));
    ws.send(Message::text("41/d1,")).await.unwrap();
    drop(ws);
    srv.counts_become("/d1", (0, 0, 0)).await;
    assert!(srv.io.of("/d1").is_some());
}

#[tokio::test]
async fn every_handler_of_an_event_runs_in_order_and_once_runs_once() {
    let seen: Arc<Mutex<Vec<String>>> = Arc::default();
    let srv = serve(SocketIo::builder(), |io| {
        let seen = seen.clone();
        io.ns("/", move |socket| {
            let log = |tag: &'static str| {
                let seen = seen.clone();
                move |_: sio_server::Socket, ev: sio_server::Event| {
                    let arg: String = ev.arg(0).unwrap_or_default();
                    seen.lock().unwrap().push(format!("{tag}:{arg}"));
                }
            };
            socket.on("e", log("first"));
            socket.once("e", log("once"));
            socket.on("e", log("third"));
            // Two handlers that both ack: the client gets the first ack only.
            socket.on("ask", |_, mut ev| {
                let _ = ev.ack("from the first");
            });
            socket.on("ask", |_, mut ev| {
                let _ = ev.ack("from the second");
            });
            socket.on("echo", |_, mut ev| {
                let args = ev.args().to_raw();
                let _ = ev.ack(args);
            });
        });
    })
    .await;
    let mut ws = srv.ws_connected().await;
    ws.send(Message::text(r#"42["e","1"]"#)).await.unwrap();
    ws.send(Message::text(r#"42["e","2"]"#)).await.unwrap();
    ws.send(Message::text(r#"427["ask"]"#)).await.unwrap();
    ws.send(Message::text(r#"428["echo","end"]"#))
        .await
        .unwrap();
    assert_eq!(text(&mut ws).await, r#"437["from the first"]"#);
    assert_eq!(
        text(&mut ws).await,
        r#"438["end"]"#,
        "one ack for 7, no second"
    );
    assert_eq!(
        *seen.lock().unwrap(),
        ["first:1", "once:1", "third:1", "first:2", "third:2"]
    );
}

#[tokio::test]
async fn packets_after_a_parse_error_are_not_handled() {
    let handled = Arc::new(AtomicUsize::new(0));
    let srv = serve(SocketIo::builder(), |io| {
        let handled = handled.clone();
        io.ns("/", move |socket| {
            let handled = handled.clone();
            socket.on("mark", move |_, _| {
                handled.fetch_add(1, Ordering::SeqCst);
            });
        });
    })
    .await;
    for bad in ["9", "4x", r#"42["mark""#] {
        let mut ws = srv.ws_connected().await;
        // Both frames in one write, so that the server reads them in one go.
        ws.feed(Message::text(bad)).await.unwrap();
        ws.feed(Message::text(r#"42["mark"]"#)).await.unwrap();
        ws.flush().await.unwrap();
        until_closed(&mut ws).await;
    }
    srv.counts_become("/", (0, 0, 0)).await;
    assert_eq!(handled.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn only_one_upgrade_probe_at_a_time() {
    let srv = serve(SocketIo::builder(), |_| {}).await;
    let sid = srv.polling_sid().await;
    let url = format!("{}&sid={sid}", srv.ws_url());
    let (mut first, _) = tokio_tungstenite::connect_async(&url).await.unwrap();
    match tokio_tungstenite::connect_async(&url).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(res)) => {
            assert_eq!(res.status(), 400)
        }
        other => panic!("a second probe must be refused, got {other:?}"),
    }
    first.send(Message::text("2probe")).await.unwrap();
    assert_eq!(text(&mut first).await, "3probe");
    first.send(Message::text("5")).await.unwrap();
    first.send(Message::text("40")).await.unwrap();
    assert!(text(&mut first).await.starts_with("40{"));
    // Once upgraded, no probe at all.
    assert!(tokio_tungstenite::connect_async(&url).await.is_err());
}

#[tokio::test]
async fn a_failed_probe_gives_the_upgrade_back() {
    let srv = serve(SocketIo::builder(), |_| {}).await;
    let sid = srv.polling_sid().await;
    let url = format!("{}&sid={sid}", srv.ws_url());
    let (mut first, _) = tokio_tungstenite::connect_async(&url).await.unwrap();
    first.send(Message::text("nonsense")).await.unwrap();
    until_closed(&mut first).await;
    let (mut second, _) = tokio_tungstenite::connect_async(&url).await.unwrap();
    second.send(Message::text("2probe")).await.unwrap();
    assert_eq!(text(&mut second).await, "3probe");
}

#[tokio::test]
async fn the_connect_timeout_applies_while_a_middleware_runs() {
    let started = Arc::new(Notify::new());
    let gate = Arc::new(Semaphore::new(0));
    let srv = serve(
        SocketIo::builder().connect_timeout(Duration::from_millis(100)),
        |io| {
            io.ns("/", |_| {}).middleware(gated(&started, &gate));
        },
    )
    .await;
    let mut ws = srv.ws().await;
    ws.send(Message::text("40")).await.unwrap();
    started.notified().await;
    // As Node: no namespace connected by the deadline, the session closes.
    let texts = until_closed(&mut ws).await;
    assert!(texts.is_empty(), "{texts:?}");
    srv.counts_become("/", (0, 0, 0)).await;
    gate.add_permits(1);
}

#[tokio::test]
async fn an_ack_that_never_comes_times_out() {
    let (tx, mut rx) = mpsc::unbounded_channel();
    let srv = serve(
        SocketIo::builder().ack_timeout(Duration::from_millis(50)),
        |io| {
            io.ns("/", move |socket| {
                let tx = tx.clone();
                tokio::spawn(async move {
                    let r = socket.emit_with_ack("question", ()).await;
                    let _ = tx.send(matches!(r, Err(AckError::Timeout)));
                });
            });
        },
    )
    .await;
    let mut ws = srv.ws_connected().await;
    assert!(text(&mut ws).await.starts_with(r#"420["question"]"#));
    assert!(rx.recv().await.unwrap(), "the ack timed out");
}

#[tokio::test]
async fn a_polling_body_that_never_ends_closes_its_session() {
    let srv = serve(
        SocketIo::builder()
            .post_timeout(Duration::from_millis(100))
            .ping_interval(Duration::from_secs(300)),
        |_| {},
    )
    .await;
    // Connected first, so that no connect timeout can end the session instead.
    let sid = srv.polling_connected().await;
    let head = format!(
        "POST {} HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n42[",
        srv.poll_path(&sid)
    );
    let _stalled = srv.raw(&head).await;
    // The pending poll ends with the session: a close packet, or "unknown session".
    let path = srv.poll_path(&sid);
    let get = srv.http("GET", &path, "");
    let (status, body) = tokio::time::timeout(Duration::from_secs(10), get)
        .await
        .expect("the session outlived its stalled POST");
    assert!(
        (status == 200 && body == "1") || status == 400,
        "{status} {body}"
    );
    srv.counts_become("/", (0, 0, 0)).await;
}

#[tokio::test]
async fn a_close_frame_from_the_client_is_answered() {
    let srv = serve(SocketIo::builder(), |_| {}).await;
    let mut ws = srv.ws_connected().await;
    ws.send(Message::Close(None)).await.unwrap();
    match next(&mut ws).await {
        Some(Message::Close(_)) => {}
        other => panic!("expected the server's close frame, got {other:?}"),
    }
    srv.counts_become("/", (0, 0, 0)).await;
}

#[tokio::test]
async fn an_aborted_poll_closes_its_session_as_in_node() {
    let srv = serve(
        SocketIo::builder().ping_interval(Duration::from_secs(300)),
        |_| {},
    )
    .await;
    let sid = srv.polling_connected().await;
    let head = format!("GET {} HTTP/1.1\r\nHost: x\r\n\r\n", srv.poll_path(&sid));
    let tcp = srv.raw(&head).await;
    // Both GETs reached the handler; the second is parked there when the client leaves.
    srv.polls.acquire_many(2).await.unwrap().forget();
    drop(tcp);
    // Not the ping timeout (5 minutes away): the aborted request itself ends the session.
    srv.counts_become("/", (0, 0, 0)).await;
}
