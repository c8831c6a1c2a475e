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
use prometheus_client::metrics::TypedMetric;
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

/// One metric family: `name`, with a sample per `(value of label, metric)`.
fn family<'a, M: EncodeMetric + TypedMetric>(
    enc: &mut DescriptorEncoder<'_>,
    name: &str,
    help: &str,
    label: &str,
    samples: impl IntoIterator<Item = (&'a str, M)>,
) -> fmt::Result {
    let mut m = enc.encode_descriptor(name, help, None, M::TYPE)?;
    for (value, metric) in samples {
        metric.encode(m.encode_family(&[(label, value)])?)?;
    }
    Ok(())
}

/// A metric without labels.
fn single<M: EncodeMetric + TypedMetric>(
    enc: &mut DescriptorEncoder<'_>,
    name: &str,
    help: &str,
    metric: M,
) -> fmt::Result {
    metric.encode(enc.encode_descriptor(name, help, None, M::TYPE)?)
}

fn count(n: u64) -> ConstCounter<u64> {
    ConstCounter::new(n)
}

fn gauge(n: usize) -> ConstGauge<i64> {
    ConstGauge::new(i64::try_from(n).unwrap_or(i64::MAX))
}

impl Collector for ServerCollector {
    fn encode(&self, mut enc: DescriptorEncoder<'_>) -> fmt::Result {
        let s = self.0.stats();
        let e = &mut enc;
        family(
            e,
            "socketio_engine_sessions",
            "Engine.IO sessions open now, by transport",
            "transport",
            [
                ("polling", gauge(s.polling_sessions)),
                ("websocket", gauge(s.websocket_sessions)),
                ("webtransport", gauge(s.webtransport_sessions)),
            ],
        )?;
        family(
            e,
            "socketio_engine_sessions_opened",
            "Engine.IO sessions opened, by the transport of their handshake",
            "transport",
            s.sessions_opened
                .iter()
                .map(|(t, n)| (t.as_str(), count(*n))),
        )?;
        family(
            e,
            "socketio_engine_sessions_closed",
            "Engine.IO sessions closed, by reason",
            "reason",
            s.sessions_closed
                .iter()
                .map(|(r, n)| (close_label(*r), count(*n))),
        )?;
        let t = s.traffic;
        family(
            e,
            "socketio_engine_packets",
            "Engine.IO message packets received and queued",
            "direction",
            [("in", count(t.packets_in)), ("out", count(t.packets_out))],
        )?;
        family(
            e,
            "socketio_engine_bytes",
            "Payload bytes of those packets",
            "direction",
            [("in", count(t.bytes_in)), ("out", count(t.bytes_out))],
        )?;
        single(
            e,
            "socketio_volatile_dropped",
            "Volatile packets dropped because their connection could not take them at once",
            count(s.volatile_dropped),
        )?;
        single(
            e,
            "socketio_namespaces",
            "Namespaces",
            gauge(s.namespaces.len()),
        )?;
        family(
            e,
            "socketio_sockets",
            "Sockets connected now, by namespace",
            "namespace",
            s.namespaces
                .iter()
                .map(|n| (n.name.as_str(), gauge(n.sockets))),
        )?;
        family(
            e,
            "socketio_rooms",
            "Rooms with members now, by namespace",
            "namespace",
            s.namespaces
                .iter()
                .map(|n| (n.name.as_str(), gauge(n.rooms))),
        )?;
        single(
            e,
            "socketio_connects",
            "Sockets that joined a namespace",
            count(s.connects),
        )?;
        family(
            e,
            "socketio_disconnects",
            "Sockets that left a namespace, by reason",
            "reason",
            s.disconnects.iter().map(|(r, n)| (r.as_str(), count(*n))),
        )?;
        single(
            e,
            "socketio_broadcasts",
            "Broadcasts, each counted once",
            count(s.broadcasts),
        )?;
        single(
            e,
            "socketio_ack_timeouts",
            "Acks that did not come in time, one per socket awaited",
            count(s.ack_timeouts),
        )
    }
}
