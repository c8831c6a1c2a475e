//! Who may talk to the engine: the `Origin` allow list (WebSocket upgrades, which CORS does
//! not cover, and polling alike) and Node's `allow_request` hook, as a client sees them:
//! Node's 403 `{"code":4,"message":…}` or the session it asked for.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use sio_server::SocketIo;
use support::{Server, serve, sid_of};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

async fn request(
    server: &Server,
    method: &str,
    path: &str,
    headers: &str,
    body: &str,
) -> (u16, String) {
    server.http_with(method, path, headers, body).await
}

const HANDSHAKE: &str = "/socket.io/?EIO=4&transport=polling";
const FORBIDDEN: &str = r#"{"code":4,"message":"Forbidden"}"#;

/// A WebSocket handshake with these headers: Ok, or the HTTP status it was refused with.
async fn ws_with(server: &Server, headers: &[(&str, &str)]) -> Result<(), u16> {
    let mut req = server.ws_url().into_client_request().unwrap();
    for (k, v) in headers {
        req.headers_mut().insert(
            http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
            v.parse().unwrap(),
        );
    }
    match tokio_tungstenite::connect_async(req).await {
        Ok(_) => Ok(()),
        Err(tokio_tungstenite::tungstenite::Error::Http(res)) => Err(res.status().as_u16()),
        Err(e) => panic!("{e}"),
    }
}

#[tokio::test]
async fn only_allowed_origins_get_in_over_both_transports() {
    let builder = SocketIo::builder().allowed_origins(["https://good.example"]);
    let server = serve(builder, |_| {}).await;
    let good = "Origin: https://good.example\r\n";
    let evil = "Origin: https://evil.example\r\n";

    let (status, body) = request(&server, "GET", HANDSHAKE, good, "").await;
    assert_eq!(status, 200, "{body}");
    let sid = sid_of(&body);
    assert_eq!(
        request(&server, "GET", HANDSHAKE, evil, "").await,
        (403, FORBIDDEN.to_owned())
    );
    // A native client sends no Origin.
    assert_eq!(request(&server, "GET", HANDSHAKE, "", "").await.0, 200);
    // A page of another site cannot post packets into a session either.
    let path = server.poll_path(&sid);
    assert_eq!(
        request(&server, "POST", &path, evil, "40").await,
        (403, FORBIDDEN.to_owned())
    );
    assert_eq!(request(&server, "POST", &path, good, "40").await.0, 200);

    assert_eq!(
        ws_with(&server, &[("origin", "https://evil.example")]).await,
        Err(403)
    );
    assert_eq!(
        ws_with(&server, &[("origin", "HTTPS://GOOD.EXAMPLE")]).await,
        Ok(())
    );
    assert_eq!(ws_with(&server, &[]).await, Ok(()));
}

#[tokio::test]
async fn allow_request_decides_each_handshake() {
    let asked = Arc::new(AtomicUsize::new(0));
    let count = asked.clone();
    let builder = SocketIo::builder().allow_request(move |req| {
        count.fetch_add(1, Ordering::SeqCst);
        let key = req.headers.get("x-key").and_then(|v| v.to_str().ok()) == Some("k");
        let polling = req
            .uri
            .query()
            .is_some_and(|q| q.contains("transport=polling"));
        Box::pin(async move {
            // (An async check, as a lookup would be.)
            tokio::task::yield_now().await;
            if key {
                Ok(())
            } else {
                Err(format!("no key (polling: {polling})"))
            }
        })
    });
    let server = serve(builder, |_| {}).await;

    let (status, body) = request(&server, "GET", HANDSHAKE, "", "").await;
    assert_eq!(
        (status, body.as_str()),
        (403, r#"{"code":4,"message":"no key (polling: true)"}"#)
    );
    let (status, body) = request(&server, "GET", HANDSHAKE, "x-key: k\r\n", "").await;
    assert_eq!(status, 200, "{body}");
    // Requests of an open session are not asked about again, as in Node.
    let before = asked.load(Ordering::SeqCst);
    let path = server.poll_path(&sid_of(&body));
    assert_eq!(request(&server, "POST", &path, "", "40").await.0, 200);
    assert_eq!(asked.load(Ordering::SeqCst), before);

    assert_eq!(ws_with(&server, &[]).await, Err(403));
    assert_eq!(ws_with(&server, &[("x-key", "k")]).await, Ok(()));
}

/// Node's `connection_error`: every refused request, with Node's code and message and the
/// request, and nothing for the requests that get in.
#[tokio::test]
async fn every_refusal_is_reported() {
    let seen: Arc<std::sync::Mutex<Vec<(u8, String, String)>>> = Arc::default();
    let log = seen.clone();
    let builder = SocketIo::builder()
        .allowed_origins(["https://good.example"])
        .on_connection_error(move |err| {
            let origin = err
                .headers
                .get("origin")
                .map(|v| v.to_str().unwrap().to_owned());
            let what = format!("{} {} {}", err.method, err.uri, origin.unwrap_or_default());
            log.lock()
                .unwrap()
                .push((err.code, err.message.clone(), what));
        });
    let server = serve(builder, |_| {}).await;
    let refused = [
        ("GET", "/socket.io/?EIO=4&transport=carrier-pigeon", "", 400),
        (
            "GET",
            "/socket.io/?EIO=4&transport=polling&sid=nope",
            "",
            400,
        ),
        ("POST", HANDSHAKE, "", 400),
        ("GET", "/socket.io/?EIO=3&transport=polling", "", 400),
        ("GET", HANDSHAKE, "Origin: https://evil.example\r\n", 403),
    ];
    for (method, path, headers, status) in refused {
        assert_eq!(
            request(&server, method, path, headers, "").await.0,
            status,
            "{method} {path}"
        );
    }
    assert_eq!(request(&server, "GET", HANDSHAKE, "", "").await.0, 200);
    let seen = seen.lock().unwrap().clone();
    let want: Vec<(u8, String, String)> = [
        (
            0,
            "Transport unknown",
            "GET /socket.io/?EIO=4&transport=carrier-pigeon ",
        ),
        (
            1,
            "Session ID unknown",
            "GET /socket.io/?EIO=4&transport=polling&sid=nope ",
        ),
        (
            2,
            "Bad handshake method",
            "POST /socket.io/?EIO=4&transport=polling ",
        ),
        (
            5,
            "Unsupported protocol version",
            "GET /socket.io/?EIO=3&transport=polling ",
        ),
        (
            4,
            "Forbidden",
            "GET /socket.io/?EIO=4&transport=polling https://evil.example",
        ),
    ]
    .into_iter()
    .map(|(c, m, w)| (c, m.to_owned(), w.to_owned()))
    .collect();
    assert_eq!(seen, want);
}

/// What a tower layer found out about the handshake request reaches the sockets, when the
/// app keeps it (`carry_extensions`), and only what it keeps.
#[tokio::test]
async fn request_extensions_carried_to_the_handshake() {
    #[derive(Clone)]
    struct User(String);
    #[derive(Clone)]
    struct Other;

    let (layer, io) = SocketIo::builder()
        .carry_extensions(|req, kept| {
            if let Some(u) = req.extensions.get::<User>() {
                kept.insert(u.clone());
            }
        })
        .build_layer();
    io.ns("/", |socket| {
        let ext = socket.handshake().extensions();
        let user = ext.get::<User>().map(|u| u.0.clone());
        let _ = socket.emit("whoami", (user, ext.get::<Other>().is_some()));
    });
    let auth = axum::middleware::from_fn(
        |mut req: axum::extract::Request, next: axum::middleware::Next| {
            let name = req
                .headers()
                .get("x-user")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            if let Some(name) = name {
                req.extensions_mut().insert(User(name));
            }
            req.extensions_mut().insert(Other);
            next.run(req)
        },
    );
    let app = axum::Router::new().layer(layer).layer(auth);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move { axum::serve(listener, app).await });

    let url = format!("ws://127.0.0.1:{port}/socket.io/?EIO=4&transport=websocket");
    let mut req =
        tokio_tungstenite::tungstenite::client::IntoClientRequest::into_client_request(url)
            .unwrap();
    req.headers_mut()
        .insert("x-user", http::HeaderValue::from_static("ada"));
    let (mut ws, _) = tokio_tungstenite::connect_async(req).await.unwrap();
    assert!(support::text(&mut ws).await.starts_with("0{"));
    futures_util::SinkExt::send(&mut ws, tokio_tungstenite::tungstenite::Message::text("40"))
        .await
        .unwrap();
    assert!(support::text(&mut ws).await.starts_with("40{"));
    assert_eq!(support::text(&mut ws).await, r#"42["whoami","ada",false]"#);
}
