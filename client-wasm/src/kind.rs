//! What a manager's browser callback `(kind, value)` is about. Timers, transports, and the
//! JS functions handed to the page all call back through the `dispatch` export with the
//! manager's number and an `i32` kind (a `u32` in JS's signed numbers: imports of `i32`s
//! need no JS wrapper): [`Kind`] is the only place that packs and unpacks it.
//!
//! glue.js adds a transport event ([`Ev`]) to the kind it is given (`t + DATA`); its
//! constants are checked against [`Ev`] by the test below.

/// Sessions a manager counts before its transport ids wrap (`engine::IDS` each: the
/// transports it may try, the upgrade probe), so that a transport kind never reaches
/// [`SOCKET`].
pub(crate) const EPOCHS: u32 = 1 << 24;

/// The bit of a socket's kinds.
const SOCKET: u32 = 1 << 31;
/// Transport kinds start here: `id << 4 | op << 2 | ev`, with ids from `engine::IDS` on.
const TRANSPORT: u32 = 32;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// The manager's connection attempt timed out (`timeout`).
    ConnectTimeout,
    /// The reconnection delay is over.
    Reconnect,
    /// No ping from the server in time.
    PingTimeout,
    /// The browser went offline (glue.js `onOffline`).
    Offline,
    /// Socket number `.0` (its index on the manager).
    Socket(u32, SocketCb),
    /// Transport `.0` (unique per session: a replaced transport's events are dropped), its
    /// request (`op`) and what happened.
    Transport(u32, Op, Ev),
}

/// A socket's own callbacks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SocketCb {
    /// The `auth` function passed its payload back (value: the payload).
    Auth = 0,
    /// glue.js sends a packet of the socket (value: `[frames, args, flags]`, see
    /// `socket::send`); the kind is the one glue.js `bindSocket` is given.
    Send = 1,
}

/// Which request of a polling transport reports (a WebSocket's events are all `Get`'s).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Op {
    Get = 0,
    Post = 1,
    /// The Blobs of a POST were read.
    Blobs = 2,
}

/// What happened to a transport.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ev {
    /// A WebSocket opened.
    Open = 0,
    /// A WebSocket message, a successful response (its body), or the Blobs read.
    Data = 1,
    /// A WebSocket closed (value: the `CloseEvent`).
    Close = 2,
    /// A network error; for HTTP, also an error status (value: the error or the status).
    Error = 3,
}

impl Kind {
    // Inlined: the callers pass constants, which then fold to the number.
    #[inline(always)]
    pub(crate) const fn encode(self) -> i32 {
        (match self {
            Kind::ConnectTimeout => 1,
            Kind::Reconnect => 2,
            Kind::PingTimeout => 3,
            Kind::Offline => 4,
            Kind::Socket(index, cb) => SOCKET | index << 2 | cb as u32,
            Kind::Transport(id, op, ev) => id << 4 | (op as u32) << 2 | ev as u32,
        }) as i32
    }

    /// The kind of `k` made by [`encode`](Self::encode); `None` for a manager kind it
    /// does not make.
    pub(crate) fn decode(k: i32) -> Option<Kind> {
        let k = k as u32;
        if k & SOCKET != 0 {
            let cb = match k & 3 {
                0 => SocketCb::Auth,
                // (2, 3: never made)
                _ => SocketCb::Send,
            };
            return Some(Kind::Socket((k & !SOCKET) >> 2, cb));
        }
        Some(match k {
            1 => Kind::ConnectTimeout,
            2 => Kind::Reconnect,
            3 => Kind::PingTimeout,
            4 => Kind::Offline,
            k if k >= TRANSPORT => {
                let op = match (k >> 2) & 3 {
                    0 => Op::Get,
                    1 => Op::Post,
                    // (3: never made)
                    _ => Op::Blobs,
                };
                let ev = match k & 3 {
                    0 => Ev::Open,
                    1 => Ev::Data,
                    2 => Ev::Close,
                    _ => Ev::Error,
                };
                Kind::Transport(k >> 4, op, ev)
            }
            _ => return None,
        })
    }
}

/// The kind glue.js is given for transport `id`'s request `op`: it adds the [`Ev`].
#[inline(always)]
pub(crate) const fn transport(id: u32, op: Op) -> i32 {
    Kind::Transport(id, op, Ev::Open).encode()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_comes_back_as_it_went() {
        let mut kinds = alloc::vec![
            Kind::ConnectTimeout,
            Kind::Reconnect,
            Kind::PingTimeout,
            Kind::Offline
        ];
        for i in [0, 1, 7, (1 << 29) - 1] {
            for cb in [SocketCb::Auth, SocketCb::Send] {
                kinds.push(Kind::Socket(i, cb));
            }
        }
        // The highest id: the probe of the last session before the ids wrap.
        for id in [
            4,
            7,
            1000,
            EPOCHS * crate::engine::IDS + crate::engine::IDS - 1,
        ] {
            for op in [Op::Get, Op::Post, Op::Blobs] {
                for ev in [Ev::Open, Ev::Data, Ev::Close, Ev::Error] {
                    kinds.push(Kind::Transport(id, op, ev));
                }
            }
        }
        for k in kinds {
            assert_eq!(
                Kind::decode(k.encode()),
                Some(k),
                "{k:?} as {:#x}",
                k.encode()
            );
        }
        assert_eq!(Kind::decode(0), None);
        assert_eq!(Kind::decode(5), None);
    }

    /// glue.js adds these to the kinds of transports.
    #[test]
    fn glue_js_adds_these_event_codes() {
        let decl = alloc::format!(
            "const OPEN = {}, DATA = {}, CLOSE = {}, ERROR = {};",
            Ev::Open as u32,
            Ev::Data as u32,
            Ev::Close as u32,
            Ev::Error as u32
        );
        assert!(
            crate::js_source::GLUE.contains(decl.as_str()),
            "glue.js declares `{decl}`"
        );
    }
}
