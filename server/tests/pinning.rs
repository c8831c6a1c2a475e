//! A small argument a handler keeps must not keep the transport's receive buffer alive:
//! here a handler keeps the arguments of a small event that arrived in the same polling
//! body as a 900 KB one, and the heap (counted by this test binary's allocator) must not
//! keep the 900 KB once the session is gone.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::sync::{Arc, Mutex};

use sio_server::{Args, SocketIo};

// Counts the bytes the process has allocated and not freed.
#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

fn live() -> usize {
    dhat::HeapStats::get().curr_bytes
}

#[tokio::test]
async fn a_kept_argument_does_not_pin_the_receive_buffer() {
    let _heap = dhat::Profiler::builder().testing().build();
    let kept: Arc<Mutex<Vec<Args>>> = Arc::default();
    let srv = support::serve(SocketIo::builder().max_payload(2_000_000), |io| {
        let kept = kept.clone();
        io.ns("/", move |socket| {
            let kept = kept.clone();
            socket.on("keep", move |_, ev| {
                kept.lock().unwrap().push(ev.args().clone())
            });
            socket.on("big", |_, _| {});
        });
    })
    .await;
    let before = live();
    let sid = srv.polling_sid().await;
    let (status, _) = srv.http("POST", &srv.poll_path(&sid), "40").await;
    assert_eq!(status, 200);
    let big = format!(r#"42["big","{}"]"#, "x".repeat(900_000));
    let body = format!("{big}\u{1e}42[\"keep\",\"small\"]\u{1e}1");
    let (status, _) = srv.http("POST", &srv.poll_path(&sid), &body).await;
    assert_eq!(status, 200);
    drop((big, body));
    srv.counts_become("/", (0, 0, 0)).await;
    assert_eq!(kept.lock().unwrap()[0].get::<String>(0).unwrap(), "small");
    let grown = live().saturating_sub(before);
    assert!(
        grown < 200_000,
        "{grown} bytes still allocated for one kept small argument"
    );
}
