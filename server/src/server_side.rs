//! Events between the servers of a cluster (Node's `serverSideEmit`): an event a node sends
//! to the *other* nodes of its namespace, received by handlers registered with
//! [`Namespace::on_server_side`](crate::Namespace::on_server_side), not by clients.

use std::borrow::Cow;
use std::sync::{Arc, Mutex};

use bytes::{BufMut, Bytes, BytesMut};
use serde::Serialize;
use sio_protocol::json::{self, Value};

use crate::adapter::AdapterError;
use crate::args::{ArgError, Args, EmitArgs};

pub(crate) type ServerSideFn = Arc<dyn Fn(ServerSideEvent) + Send + Sync>;
/// The server-side handlers of a namespace, by event name, in registration order.
pub(crate) type ServerSideHandlers = Arc<Vec<(Cow<'static, str>, ServerSideFn)>>;

/// Why a server-side emit with acks did not get every other node's answer.
#[derive(Debug, thiserror::Error)]
pub enum ServerSideError {
    /// The arguments could not be serialized.
    #[error(transparent)]
    Args(#[from] ArgError),
    /// Some nodes did not answer within the adapter's request timeout (Node's message).
    /// `responses` holds the answers that came.
    #[error("timeout reached: only {} responses received out of {expected}", responses.len())]
    Timeout {
        /// The answers that came, one per node, in arrival order.
        responses: Vec<Value>,
        /// How many nodes were expected to answer.
        expected: usize,
    },
    /// The cluster cannot be reached (Redis down).
    #[error("cluster unavailable: {0}")]
    Unavailable(String),
}

impl From<AdapterError> for ServerSideError {
    fn from(e: AdapterError) -> Self {
        match e {
            AdapterError::Timeout { expected, .. } => ServerSideError::Timeout {
                responses: Vec::new(),
                expected,
            },
            AdapterError::Unavailable(m) => ServerSideError::Unavailable(m),
            AdapterError::Unsupported(m) => ServerSideError::Unavailable(m.to_owned()),
        }
    }
}

type Reply = Box<dyn FnOnce(Value) + Send>;

/// The answer to one server-side event: the first [`send`](Self::send) of any handler of
/// the event is the node's answer (as in Node, only one argument goes back); later ones do
/// nothing. Cheap to clone.
#[derive(Clone)]
pub struct ServerSideAck(Arc<Mutex<Option<Reply>>>);

impl std::fmt::Debug for ServerSideAck {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ServerSideAck")
    }
}

impl ServerSideAck {
    /// An ack that calls `reply` with the answer (for cluster adapters).
    pub fn new(reply: impl FnOnce(Value) + Send + 'static) -> Self {
        Self(Arc::new(Mutex::new(Some(Box::new(reply)))))
    }

    /// Answers with `value` (binary allowed); does nothing if an answer was already sent.
    pub fn send(&self, value: impl Serialize) -> Result<(), ArgError> {
        let value = to_value(&value)?;
        let reply = self.0.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(reply) = reply {
            reply(value);
        }
        Ok(())
    }
}

/// An event from another node of the cluster.
#[derive(Debug)]
pub struct ServerSideEvent {
    name: String,
    args: Args,
    ack: Option<ServerSideAck>,
}

impl ServerSideEvent {
    /// The event name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The arguments (the same [`Args`] as a client's event: binary included).
    pub fn args(&self) -> &Args {
        &self.args
    }

    /// Argument `i` as `T` (shorthand for `args().get(i)`).
    pub fn arg<T: serde::de::DeserializeOwned>(&self, i: usize) -> Result<T, ArgError> {
        self.args.get(i)
    }

    /// Whether the sending node waits for an answer.
    pub fn wants_ack(&self) -> bool {
        self.ack.is_some()
    }

    /// The answer's sender, if the sending node waits for one (to answer later).
    pub fn take_ack(&mut self) -> Option<ServerSideAck> {
        self.ack.take()
    }

    /// Answers with `value`; does nothing if no answer is expected or one was sent.
    pub fn ack(&mut self, value: impl Serialize) -> Result<(), ArgError> {
        match self.ack.take() {
            Some(ack) => ack.send(value),
            None => Ok(()),
        }
    }
}

/// One value as a [`Value`], binary kept.
fn to_value<T: Serialize + ?Sized>(v: &T) -> Result<Value, ArgError> {
    let mut out = BytesMut::new();
    let mut attachments = Vec::new();
    json::encode_value(&mut out, v, &mut attachments)?;
    let text = std::str::from_utf8(&out)
        .map_err(|e| ArgError::Encode(serde::ser::Error::custom(format!("not UTF-8: {e}"))))?;
    Ok(json::decode_arg(text, &attachments)?)
}

/// `[event, ...args]` as values, binary kept: what goes to the other nodes.
pub(crate) fn event_values(event: &str, args: &dyn EmitArgs) -> Result<Vec<Value>, ArgError> {
    let mut out = BytesMut::with_capacity(64);
    let mut attachments = Vec::new();
    out.put_u8(b'[');
    json::encode_value(&mut out, event, &mut attachments)?;
    let mark = out.len();
    out.put_u8(b',');
    if args.write_args(&mut out, &mut attachments)? == 0 {
        out.truncate(mark);
    }
    out.put_u8(b']');
    let text = std::str::from_utf8(&out)
        .map_err(|e| ArgError::Encode(serde::ser::Error::custom(format!("not UTF-8: {e}"))))?;
    Ok(json::decode_arg(text, &attachments)?)
}

/// The arguments of a received server-side event as [`Args`].
fn values_to_args(values: &[Value]) -> Result<Args, ArgError> {
    let mut out = BytesMut::with_capacity(64);
    let attachments = json::encode_args(&mut out, values)?;
    let body: Bytes = out.freeze();
    let text = std::str::from_utf8(&body)
        .map_err(|e| ArgError::Encode(serde::ser::Error::custom(format!("not UTF-8: {e}"))))?;
    let spans = json::split_args(text)?;
    Ok(Args::new(body, spans, attachments))
}

/// Calls the handlers of `data[0]` with the rest; returns how many there were. A packet
/// that does not start with an event name reaches nobody.
pub(crate) fn dispatch(
    nsp: &str,
    handlers: &[(Cow<'static, str>, ServerSideFn)],
    data: &[Value],
    ack: Option<ServerSideAck>,
) -> Result<usize, ArgError> {
    let name = match data.first() {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => return Ok(0),
    };
    let matching: Vec<&ServerSideFn> = handlers
        .iter()
        .filter(|(n, _)| *n == name)
        .map(|(_, f)| f)
        .collect();
    if matching.is_empty() {
        return Ok(0);
    }
    let args = values_to_args(&data[1..])?;
    let site = crate::catch::Site {
        callback: crate::catch::Callback::ServerSide(&*name),
        nsp,
        socket: None,
    };
    for f in &matching {
        let event = ServerSideEvent {
            name: name.clone(),
            args: args.clone(),
            ack: ack.clone(),
        };
        crate::catch::call(site, || f(event));
    }
    Ok(matching.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Without a cluster adapter there are no other nodes: nobody gets the event, no answers.
    #[tokio::test]
    async fn one_node_reaches_nobody() -> Result<(), ServerSideError> {
        let (_layer, io) = crate::SocketIo::builder().build_layer();
        let called = Arc::new(Mutex::new(0));
        let c = called.clone();
        io.on_server_side("ping", move |mut ev| {
            *c.lock().unwrap_or_else(|e| e.into_inner()) += 1;
            let _ = ev.ack("pong");
        });
        io.server_side_emit("ping", ())?;
        assert!(io.server_side_emit_with_ack("ping", &1).await?.is_empty());
        assert_eq!(*called.lock().unwrap_or_else(|e| e.into_inner()), 0);
        Ok(())
    }

    #[test]
    fn values_both_ways() -> Result<(), ArgError> {
        let data = event_values("hello", &("world", crate::Binary::from(vec![1u8, 2])))?;
        assert_eq!(data.len(), 3);
        assert_eq!(data[0], Value::String("hello".into()));
        assert_eq!(data[2], Value::Binary(Bytes::from_static(&[1, 2])));
        assert_eq!(event_values("e", &())?, vec![Value::String("e".into())]);

        let got: Arc<Mutex<Vec<(String, String, bool)>>> = Arc::default();
        let seen = got.clone();
        let f: ServerSideFn = Arc::new(move |mut ev: ServerSideEvent| {
            let s: String = ev.arg(0).unwrap_or_default();
            let wants = ev.wants_ack();
            let _ = ev.ack("pong");
            seen.lock()
                .unwrap_or_else(|e| e.into_inner())
                .push((ev.name().to_owned(), s, wants));
        });
        let handlers = vec![
            (Cow::Borrowed("hello"), f.clone()),
            (Cow::Borrowed("hello"), f),
        ];
        let answers: Arc<Mutex<Vec<Value>>> = Arc::default();
        let a = answers.clone();
        let ack = ServerSideAck::new(move |v| a.lock().unwrap_or_else(|e| e.into_inner()).push(v));
        assert_eq!(dispatch("/", &handlers, &data, Some(ack))?, 2);
        assert_eq!(dispatch("/", &handlers, &[Value::Null], None)?, 0);
        assert_eq!(
            dispatch("/", &handlers, &[Value::String("other".into())], None)?,
            0
        );
        let got = got.lock().unwrap_or_else(|e| e.into_inner()).clone();
        assert_eq!(got.len(), 2);
        assert_eq!(got[0], ("hello".into(), "world".into(), true));
        // Two handlers acked: the first answer only.
        assert_eq!(
            *answers.lock().unwrap_or_else(|e| e.into_inner()),
            vec![Value::String("pong".into())]
        );
        Ok(())
    }
}
