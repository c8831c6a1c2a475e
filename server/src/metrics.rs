//! The server's counters for Prometheus (feature `metrics`): [`Metrics`] renders
//! [`SocketIo::stats`] in the OpenMetrics text format, which Prometheus scrapes, through
//! `prometheus-client`. Mount its text on a route of the app:
//!
//! ```
//! use axum::{Router, routing::get};
//! use sio_server::{SocketIo, metrics::Metrics};
//!
//! let (layer, io) = SocketIo::new_layer();
//! // (Shared: axum clones the handler.)
//! let metrics = std::sync::Arc::new(Metrics::new(&io));
//! let app: Router = Router::new()
//!     .route("/metrics", get(move || {
//!         let text = metrics.render();
//!         async move { ([(http::header::CONTENT_TYPE, Metrics::CONTENT_TYPE)], text) }
//!     }))
//!     .layer(layer);
//! # let _ = app;
//! ```
//!
//! Every value is read at scrape time from the server's own counts ([`crate::stats`]):
//! nothing is updated per packet for Prometheus.
//!
//! | metric | labels | what |
//! | --- | --- | --- |
//! | `socketio_engine_sessions` | `transport` | Engine.IO sessions open now |
//! | `socketio_engine_sessions_opened_total` | `transport` | sessions opened, by the transport of their handshake |
//! | `socketio_engine_sessions_closed_total` | `reason` | sessions closed (`buffer full`: the peer read too slowly) |
//! | `socketio_engine_packets_total` | `direction` | message packets received (`in`) and queued (`out`) |
//! | `socketio_engine_bytes_total` | `direction` | their payload bytes |
//! | `socketio_volatile_dropped_total` | | volatile packets dropped |
//! | `socketio_namespaces` | | namespaces |
//! | `socketio_sockets` | `namespace` | sockets connected now |
//! | `socketio_rooms` | `namespace` | rooms with members now |
//! | `socketio_connects_total` | | sockets that joined a namespace |
//! | `socketio_disconnects_total` | `reason` | sockets that left one, by Node's reason strings |
//! | `socketio_broadcasts_total` | | broadcasts, once each |
//! | `socketio_ack_timeouts_total` | | acks not answered in time, per socket |

use std::fmt::{self, Write as _};

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::registry::Registry;

use crate::SocketIo;
use crate::stats::close_label;

/// The `prometheus-client` this module is built on, for collectors of other crates (an
/// adapter's counts) to be registered with the same version.
pub use prometheus_client;

/// A Prometheus registry holding a server's metrics; add the app's own to it
/// ([`registry_mut`](Self::registry_mut)) to serve them on the same route.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
}

impl Metrics {
    /// The `Content-Type` of [`render`](Self::render)'s text.
    pub const CONTENT_TYPE: &'static str =
        "application/openmetrics-text; version=1.0.0; charset=utf-8";

    /// The metrics of `io` (the table in the [module docs](self)).
    pub fn new(io: &SocketIo) -> Self {
        let mut registry = Registry::default();
        registry.register_collector(Box::new(ServerCollector(io.clone())));
        Self { registry }
    }

    /// The registry, to register more metrics or collectors (an app's own, an adapter's).
    pub fn registry_mut(&mut self) -> &mut Registry {
        &mut self.registry
    }

    /// Every metric, in the OpenMetrics text format.
    pub fn render(&self) -> String {
        let mut out = String::new();
        if let Err(e) = prometheus_client::encoding::text::encode(&mut out, &self.registry) {
            // Only a metric that fails to encode itself gets here: say so in the scrape.
            tracing::warn!(error = %e, "a metric could not be encoded");
            let _ = writeln!(out, "# sio-server: a metric could not be encoded");
        }
        out
    }
}

#[derive(Debug)]
struct ServerCollector(SocketIo);

fn counter(
    enc: &mut DescriptorEncoder<'_>,
    name: &str,
    help: &str,
    label: &str,
    values: &[(&str, u64)],
) -> fmt::Result {
    let c = ConstCounter::new(0u64);
    let mut m = enc.encode_descriptor(name, help, None, c.metric_type())?;
    for (value, n) in values {
        ConstCounter::new(*n).encode(m.encode_family(&[(label, *value)])?)?;
    }
    Ok(())
}

fn plain_counter(enc: &mut DescriptorEncoder<'_>, name: &str, help: &str, n: u64) -> fmt::Result {
    let c = ConstCounter::new(n);
    c.encode(enc.encode_descriptor(name, help, None, c.metric_type())?)
}

fn gauge(
    enc: &mut DescriptorEncoder<'_>,
    name: &str,
    help: &str,
    label: &str,
    values: &[(&str, i64)],
) -> fmt::Result {
    let g = ConstGauge::new(0i64);
    let mut m = enc.encode_descriptor(name, help, None, g.metric_type())?;
    for (value, n) in values {
        ConstGauge::new(*n).encode(m.encode_family(&[(label, *value)])?)?;
    }
    Ok(())
}

fn int(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

impl Collector for ServerCollector {
    fn encode(&self, mut enc: DescriptorEncoder<'_>) -> fmt::Result {
        let s = self.0.stats();
        let e = &mut enc;
        gauge(
            e,
            "socketio_engine_sessions",
            "Engine.IO sessions open now, by transport",
            "transport",
            &[
                ("polling", int(s.polling_sessions)),
                ("websocket", int(s.websocket_sessions)),
            ],
        )?;
        let opened: Vec<_> = s
            .sessions_opened
            .iter()
            .map(|(t, n)| (t.as_str(), *n))
            .collect();
        counter(
            e,
            "socketio_engine_sessions_opened",
            "Engine.IO sessions opened, by the transport of their handshake",
            "transport",
            &opened,
        )?;
        let closed: Vec<_> = s
            .sessions_closed
            .iter()
            .map(|(r, n)| (close_label(*r), *n))
            .collect();
        counter(
            e,
            "socketio_engine_sessions_closed",
            "Engine.IO sessions closed, by reason",
            "reason",
            &closed,
        )?;
        let t = s.traffic;
        counter(
            e,
            "socketio_engine_packets",
            "Engine.IO message packets received and queued",
            "direction",
            &[("in", t.packets_in), ("out", t.packets_out)],
        )?;
        counter(
            e,
            "socketio_engine_bytes",
            "Payload bytes of those packets",
            "direction",
            &[("in", t.bytes_in), ("out", t.bytes_out)],
        )?;
        plain_counter(
            e,
            "socketio_volatile_dropped",
            "Volatile packets dropped because their connection could not take them at once",
            s.volatile_dropped,
        )?;
        let g = ConstGauge::new(int(s.namespaces.len()));
        g.encode(e.encode_descriptor(
            "socketio_namespaces",
            "Namespaces",
            None,
            g.metric_type(),
        )?)?;
        let sockets: Vec<_> = s
            .namespaces
            .iter()
            .map(|n| (n.name.as_str(), int(n.sockets)))
            .collect();
        gauge(
            e,
            "socketio_sockets",
            "Sockets connected now, by namespace",
            "namespace",
            &sockets,
        )?;
        let rooms: Vec<_> = s
            .namespaces
            .iter()
            .map(|n| (n.name.as_str(), int(n.rooms)))
            .collect();
        gauge(
            e,
            "socketio_rooms",
            "Rooms with members now, by namespace",
            "namespace",
            &rooms,
        )?;
        plain_counter(
            e,
            "socketio_connects",
            "Sockets that joined a namespace",
            s.connects,
        )?;
        let gone: Vec<_> = s
            .disconnects
            .iter()
            .map(|(r, n)| (r.as_str(), *n))
            .collect();
        counter(
            e,
            "socketio_disconnects",
            "Sockets that left a namespace, by reason",
            "reason",
            &gone,
        )?;
        plain_counter(
            e,
            "socketio_broadcasts",
            "Broadcasts, each counted once",
            s.broadcasts,
        )?;
        plain_counter(
            e,
            "socketio_ack_timeouts",
            "Acks that did not come in time, one per socket awaited",
            s.ack_timeouts,
        )
    }
}
