//! Headers on the engine's answers: Node's `initial_headers` and `headers` hooks and its
//! `cookie` option, over polling and WebSocket, and never on an error.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use http::HeaderValue;
use sio_server::SocketIo;
use sio_server::engine::{Cookie, SameSite};
use support::{serve, sid_of};

/// The values of header `name` (lower case) in a raw answer's head.
fn header_values(raw: &str, name: &str) -> Vec<String> {
    let head = raw.split("\r\n\r\n").next().unwrap_or_default();
    head.lines()
        .filter_map(|l| l.split_once(':'))
        .filter(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.trim().to_owned())
        .collect()
}

#[tokio::test]
async fn hooks_and_cookie_on_the_answers_they_belong_to() {
    let server = serve(
        SocketIo::builder()
            .initial_headers(|h, req| {
                let q = req.uri.query().unwrap_or_default().to_owned();
                h.insert("x-initial", HeaderValue::from_str(&q).unwrap());
            })
            .headers(|h, req| {
                h.insert(
                    "x-every",
                    HeaderValue::from_str(req.method.as_str()).unwrap(),
                );
            })
            .cookie(Cookie::default()),
        |io| {
            io.ns("/", |_| {});
        },
    )
    .await;

    // The polling handshake: the cookie with the new session's id, then both hooks.
    let raw = server
        .exchange("GET", "/socket.io/?EIO=4&transport=polling&k=v", "", "")
        .await;
    let sid = &sid_of(&raw);
    assert_eq!(
        header_values(&raw, "set-cookie"),
        [format!("io={sid}; Path=/; HttpOnly; SameSite=Lax")]
    );
    assert_eq!(
        header_values(&raw, "x-initial"),
        ["EIO=4&transport=polling&k=v"]
    );
    assert_eq!(header_values(&raw, "x-every"), ["GET"]);

    // Later answers of the session: `headers` only.
    let post = server
        .exchange("POST", &server.poll_path(sid), "", "40")
        .await;
    assert_eq!(header_values(&post, "x-every"), ["POST"]);
    assert!(header_values(&post, "x-initial").is_empty());
    assert!(header_values(&post, "set-cookie").is_empty());

    // An error gets none.
    let bad = server
        .exchange(
            "GET",
            "/socket.io/?EIO=4&transport=polling&sid=nope",
            "",
            "",
        )
        .await;
    assert!(bad.starts_with("HTTP/1.1 400"), "{bad}");
    assert!(header_values(&bad, "x-every").is_empty());

    // A WebSocket handshake: the upgrade's answer carries them, with the id the session
    // then has.
    let (mut ws, res) = tokio_tungstenite::connect_async(server.ws_url())
        .await
        .unwrap();
    let open = support::text(&mut ws).await;
    let ws_sid = &sid_of(&open);
    let cookie = res.headers()["set-cookie"].to_str().unwrap();
    assert_eq!(
        cookie,
        format!("io={ws_sid}; Path=/; HttpOnly; SameSite=Lax")
    );
    assert_eq!(res.headers()["x-every"], "GET");
    assert!(res.headers().contains_key("x-initial"));
}

#[tokio::test]
async fn cookie_attributes() {
    let cookie = Cookie {
        name: "sticky".into(),
        path: None,
        domain: Some("example.com".into()),
        http_only: false,
        secure: true,
        same_site: Some(SameSite::None),
        max_age: Some(std::time::Duration::from_secs(60)),
    };
    let server = serve(SocketIo::builder().cookie(cookie), |_| {}).await;
    let raw = server
        .exchange("GET", "/socket.io/?EIO=4&transport=polling", "", "")
        .await;
    let sid = &sid_of(&raw);
    assert_eq!(
        header_values(&raw, "set-cookie"),
        [format!(
            "sticky={sid}; Max-Age=60; Domain=example.com; Secure; SameSite=None"
        )]
    );
}
