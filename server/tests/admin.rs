//! The admin UI's protocol where the interop suite does not go (it drives the contract
//! server, in development mode with commands on): read-only and production mode from a raw
//! client, and the errors of `instrument`.

#![cfg(feature = "admin")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::Duration;

use futures_util::SinkExt;
use sio_server::SocketIo;
use sio_server::admin::{AdminAuth, AdminError, AdminMode, AdminOptions, instrument};
use support::{serve, text};
use tokio_tungstenite::tungstenite::Message;

#[tokio::test]
async fn read_only_production_mode_offers_no_commands_and_tells_no_events() {
    let server = serve(SocketIo::builder(), |io| {
        io.ns("/", |_| {});
        let opts = AdminOptions {
            readonly: true,
            mode: AdminMode::Production,
            // Only the report sent at start: this test must not race a periodic one.
            stats_interval: Duration::from_secs(3600),
            ..AdminOptions::new(AdminAuth::Disabled)
        };
        instrument(io, opts).unwrap();
    })
    .await;

    let mut admin = server.ws().await;
    admin.send(Message::text("40/admin,")).await.unwrap();
    assert!(text(&mut admin).await.starts_with("40/admin,{\"sid\""));
    assert_eq!(
        text(&mut admin).await,
        r#"42/admin,["config",{"supportedFeatures":["AGGREGATED_EVENTS"]}]"#
    );

    // A socket connects, joins a room by command and is disconnected by another: refused.
    let user = server.ws_connected().await;
    for cmd in [
        r#"42/admin,["join","/","r"]"#,
        r#"42/admin,["emit","/",null,"ev",1]"#,
        r#"42/admin,["_disconnect","/",true]"#,
    ] {
        admin.send(Message::text(cmd)).await.unwrap();
    }
    // Packets of one connection are handled in order: once the answer to this CONNECT is
    // in, the commands were handled, and nothing came before it (no `socket_connected`).
    admin.send(Message::text("40/nowhere,")).await.unwrap();
    assert_eq!(
        text(&mut admin).await,
        r#"44/nowhere,{"message":"Invalid namespace"}"#
    );
    let ns = server.io.of("/").unwrap();
    // One socket, in its own-id room only.
    assert_eq!((ns.socket_count(), ns.room_count()), (1, 1));
    drop(user);
}

#[tokio::test]
async fn instrument_refuses_a_bad_hash_and_a_second_call() {
    let (_layer, io) = SocketIo::new_layer();
    let bad = AdminOptions::new(AdminAuth::basic("admin", "admin-secret"));
    assert!(matches!(instrument(&io, bad), Err(AdminError::InvalidHash)));
    instrument(&io, AdminOptions::new(AdminAuth::Disabled)).unwrap();
    let again = instrument(&io, AdminOptions::new(AdminAuth::Disabled));
    assert!(matches!(again, Err(AdminError::AlreadyInstrumented)));
    // In production mode too, where no observer follows the sockets.
    let (_layer, io) = SocketIo::new_layer();
    let production = || AdminOptions {
        mode: AdminMode::Production,
        ..AdminOptions::new(AdminAuth::Disabled)
    };
    instrument(&io, production()).unwrap();
    let again = instrument(&io, production());
    assert!(matches!(again, Err(AdminError::AlreadyInstrumented)));
}

#[test]
fn instrument_needs_a_runtime() {
    let (_layer, io) = SocketIo::new_layer();
    let r = instrument(&io, AdminOptions::new(AdminAuth::Disabled));
    assert!(matches!(r, Err(AdminError::NoRuntime)));
}
