//! The cluster core without Redis: two sio nodes in this process, joined by a transport
//! that only moves bytes (Node's classic formats, [`sio_cluster::wire`]) between them.
//! What a client of one node sees of the other is the core's doing, whatever the backend.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../../server/tests/support/mod.rs"]
mod support;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use futures_util::SinkExt;
use sio_cluster::wire::{self, RequestType, WireOpts, WirePacket};
use sio_cluster::{Answer, Ask, ClusterAdapter, Incoming, Receiver, Transport};
use sio_server::adapter::{AdapterError, AdapterFuture};
use sio_server::{Sid, SocketIo};
use tokio_tungstenite::tungstenite::Message;

/// The nodes of one in-process cluster: each namespace adapter's uid and receiver.
#[derive(Clone, Default)]
struct Bus(Arc<Mutex<Vec<(String, Receiver)>>>);

impl Bus {
    /// Hands `bytes` to every other node, later (as a network would), decoded by `decode`.
    fn send(&self, from: &str, bytes: Vec<u8>, decode: fn(&[u8]) -> Option<Incoming>) {
        let others: Vec<Receiver> = self
            .0
            .lock()
            .unwrap()
            .iter()
            .filter(|(uid, _)| uid != from)
            .map(|(_, r)| r.clone())
            .collect();
        for r in others {
            let bytes = bytes.clone();
            tokio::spawn(async move {
                if let Some(msg) = decode(&bytes) {
                    r.receive(msg);
                }
            });
        }
    }
}

/// A transport over the [`Bus`]: broadcasts in the classic msgpack format, requests and
/// answers as JSON, which is all this test needs (`fetchSockets`, `socketsJoin`).
struct Loopback {
    uid: String,
    bus: Bus,
    next_id: AtomicU64,
}

impl Transport for Loopback {
    fn uid(&self) -> &str {
        &self.uid
    }

    fn request_id(&self) -> String {
        format!(
            "{}-{}",
            self.uid,
            self.next_id.fetch_add(1, Ordering::Relaxed)
        )
    }

    fn broadcast(&self, packet: &WirePacket, opts: &WireOpts) {
        let bytes = wire::encode_broadcast_of(&self.uid, packet, opts);
        self.bus.send(&self.uid, bytes, |b| {
            Some(Incoming::Broadcast(wire::decode_broadcast(b).ok()?, None))
        });
    }

    fn supports(&self, ask: &Ask<'_>) -> Result<(), AdapterError> {
        match ask {
            Ask::Fetch(_) | Ask::Join(..) => Ok(()),
            _ => Err(AdapterError::Unsupported("not in this test transport")),
        }
    }

    fn request(&self, ask: &Ask<'_>, request_id: Option<&str>) {
        let json = match *ask {
            Ask::Fetch(opts) => serde_json::json!({
                "uid": self.uid, "type": RequestType::RemoteFetch as u8,
                "requestId": request_id, "opts": wire::opts_json(opts),
            }),
            Ask::Join(opts, rooms) => serde_json::json!({
                "uid": self.uid, "type": RequestType::RemoteJoin as u8,
                "opts": wire::opts_json(opts),
                "rooms": rooms.iter().map(|r| r.to_string()).collect::<Vec<_>>(),
            }),
            _ => return,
        };
        self.bus
            .send(&self.uid, json.to_string().into_bytes(), |b| {
                Some(Incoming::Request(wire::decode_request(b).ok()?))
            });
    }

    fn answer(&self, _requester: Option<&str>, request_id: &str, answer: Answer<'_>) {
        if let Answer::Sockets(sockets) = answer {
            let json = serde_json::json!({ "requestId": request_id, "sockets": sockets });
            self.bus
                .send(&self.uid, json.to_string().into_bytes(), |b| {
                    Some(Incoming::Response(wire::decode_request(b).ok()?))
                });
        }
    }

    fn server_count(&self) -> AdapterFuture<usize> {
        let n = self.bus.0.lock().unwrap().len();
        Box::pin(std::future::ready(Ok(n)))
    }
}

/// A node of the bus's cluster, serving `/` on a free port.
async fn node(bus: &Bus, name: &str) -> support::Server {
    let (bus, name) = (bus.clone(), name.to_owned());
    let builder = SocketIo::builder().adapter(move |nsp| {
        let bus = bus.clone();
        let uid = format!("{name}{nsp}");
        ClusterAdapter::new(nsp, std::time::Duration::from_secs(5), |receiver| {
            bus.0.lock().unwrap().push((uid.clone(), receiver));
            Box::new(Loopback {
                uid,
                bus,
                next_id: AtomicU64::new(0),
            })
        })
    });
    support::serve(builder, |io| {
        io.ns("/", |_socket| {});
    })
    .await
}

#[tokio::test]
async fn a_node_reaches_the_other_nodes_sockets_through_any_transport() {
    let bus = Bus::default();
    let a = node(&bus, "a").await;
    let b = node(&bus, "b").await;
    let mut client = b.ws_connected().await;

    // A broadcast from a reaches b's client, encoded once on a and decoded on b.
    a.io.emit("news", "hello").unwrap();
    assert_eq!(support::text(&mut client).await, r#"42["news","hello"]"#);

    // fetchSockets: b answers a's request with its socket.
    let remote =
        a.io.of("/")
            .unwrap()
            .broadcast()
            .fetch_remote_sockets()
            .await
            .unwrap();
    assert_eq!(remote.len(), 1, "{remote:?}");
    let sid = remote[0].id.clone();

    // socketsJoin from a makes b's socket join; a broadcast to the room then reaches it,
    // and one to another room does not.
    a.io.sockets_join("blue");
    support::eventually("b's socket joined blue", || {
        b.io.of("/").unwrap().to("blue").sockets().len() == 1
    })
    .await;
    a.io.to("green").emit("color", "green").unwrap();
    a.io.to("blue").emit("color", "blue").unwrap();
    assert_eq!(support::text(&mut client).await, r#"42["color","blue"]"#);
    let fetched = Sid::parse(&sid).and_then(|sid| b.io.of("/")?.get_socket(sid));
    assert!(fetched.is_some(), "the fetched id is b's socket");
    client.send(Message::Close(None)).await.unwrap();
}
