//! The chat itself: who may connect, what each event does, and who hears about it.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use serde::Serialize;
use serde_json::{Value, json};
use sio_server::{ArgError, ConnectError, Event, Namespace, Sid, Socket, SocketIo};

use crate::config::Config;
use crate::rate_limit::TokenBucket;
use crate::store::{Page, Pushed, Store};
use crate::validate::{self, Invalid};
use crate::wire::{
    Auth, ChatError, Dm, HistoryPage, HistoryRequest, Limits, Message, Notice, Presence, Refusal,
    RoomState, SendDm, SendMessage, Session, Typing, TypingNotice, User,
};

/// The chat's namespace.
const NSP: &str = "/";

/// The nickname the middleware accepted, kept in the socket's data for the connect
/// handler and for member lists.
#[derive(Clone)]
struct Nick(String);

/// One connected socket's side of the chat.
struct Member {
    user: User,
    rooms: Mutex<BTreeSet<String>>,
    actions: Mutex<TokenBucket>,
    typing: Mutex<TokenBucket>,
}

impl Member {
    fn in_room(&self, room: &str) -> bool {
        lock(&self.rooms).contains(room)
    }

    /// Refuses unless the socket is in `room`; `to` says what for ("write there").
    fn require(&self, room: &str, to: &str) -> Result<(), Refusal> {
        if self.in_room(room) {
            Ok(())
        } else {
            Err(Refusal::new("not-a-member", format!("Join {room} to {to}")))
        }
    }
}

/// The chat's shared state.
pub struct Chat {
    io: SocketIo,
    cfg: Config,
    store: Store,
    /// Message ids are `<boot>-<n>`, so ids of a restarted server never repeat earlier ones
    /// a page still holds.
    boot: u32,
    seq: AtomicU64,
}

type Answer = Result<Value, Refusal>;

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or_default()
}

fn nick_of(socket: &Socket) -> Option<String> {
    socket.with_extensions(|d| d.get::<Nick>().map(|n| n.0.clone()))
}

fn refusal(e: Invalid) -> Refusal {
    Refusal::new(e.code(), e.to_string())
}

fn malformed(socket: &Socket, event: &str, e: &ArgError) -> Refusal {
    tracing::debug!(socket = %socket.id(), "malformed {event}: {e}");
    Refusal::new("bad-request", format!("Malformed {event}"))
}

/// Acks `answer` if the client asked for an ack.
fn answer(socket: &Socket, ev: &mut Event, answer: Answer) {
    let sent = match answer {
        Ok(v) => ev.ack(&v),
        Err(r) => {
            tracing::debug!(socket = %socket.id(), code = r.code, "{} refused: {}", ev.name(), r.error);
            ev.ack(&r)
        }
    };
    if let Err(e) = sent {
        tracing::debug!("ack not sent: {e}");
    }
}

impl Chat {
    /// Registers the chat on namespace `/` of `io`, with the nickname middleware.
    pub fn install(io: &SocketIo, cfg: Config, store: Store) -> Arc<Chat> {
        let chat = Arc::new(Chat {
            io: io.clone(),
            store,
            boot: rand::random(),
            seq: AtomicU64::new(0),
            cfg,
        });
        let max_name = chat.cfg.max_name;
        let on_connect = chat.clone();
        io.ns(NSP, move |socket| on_connect.connected(socket))
            .middleware(move |socket| async move { check_nickname(&socket, max_name) });
        chat
    }

    fn ns(&self) -> Option<Namespace> {
        self.io.of(NSP)
    }

    fn next_id(&self) -> String {
        format!(
            "{:08x}-{}",
            self.boot,
            self.seq.fetch_add(1, Ordering::Relaxed)
        )
    }

    /// The members of `room`, by name.
    fn users(&self, room: &str) -> Vec<User> {
        let Some(ns) = self.ns() else {
            return Vec::new();
        };
        let mut users: Vec<User> = ns
            .to(room)
            .sockets()
            .iter()
            .filter_map(|s| {
                Some(User {
                    id: s.id().to_string(),
                    name: nick_of(s)?,
                })
            })
            .collect();
        users.sort_by(|a, b| (a.name.to_lowercase(), &a.id).cmp(&(b.name.to_lowercase(), &b.id)));
        users
    }

    fn room_state(&self, room: &str) -> RoomState {
        let page = self.store.recent(room).unwrap_or_else(|e| {
            tracing::error!("{room}: no history: {e}");
            Page::default()
        });
        RoomState {
            room: room.to_owned(),
            users: self.users(room),
            history: page.messages,
            more: page.more,
        }
    }

    fn counts(&self) -> BTreeMap<String, usize> {
        let Some(ns) = self.ns() else {
            return BTreeMap::new();
        };
        self.cfg
            .channels
            .iter()
            .map(|c| (c.clone(), ns.to(c.as_str()).sockets().len()))
            .collect()
    }

    fn emit_to_room(&self, room: &str, event: &str, args: &impl Serialize) {
        if let Some(ns) = self.ns() {
            if let Err(e) = ns.to(room).emit(event, args) {
                tracing::warn!("{event} to {room} not sent: {e}");
            }
        }
    }

    /// Tells `room` that `user` came or went, with its new member list, and everyone the
    /// new counts.
    fn membership_changed(&self, room: &str, user: &User, kind: &'static str) {
        let notice = Notice {
            room,
            kind,
            user,
            ts: now_ms(),
        };
        self.emit_to_room(room, "notice", &notice);
        let presence = Presence {
            room,
            users: self.users(room),
        };
        self.emit_to_room(room, "presence", &presence);
    }

    fn counts_changed(&self) {
        if let Some(ns) = self.ns() {
            let _ = ns.emit("counts", &self.counts());
        }
    }

    /// Takes one token of the socket's rate, or tells it to slow down.
    fn allow(&self, socket: &Socket, member: &Member) -> Result<(), Refusal> {
        if lock(&member.actions).try_take(Instant::now()) {
            return Ok(());
        }
        tracing::info!(socket = %socket.id(), name = %member.user.name, "rate limited");
        let r = Refusal::new(
            "rate-limited",
            "You are sending too fast: wait a moment and try again",
        );
        let _ = socket.emit(
            "chat-error",
            &ChatError {
                code: r.code,
                message: &r.error,
            },
        );
        Err(r)
    }

    fn connected(self: &Arc<Self>, socket: Socket) {
        let Some(name) = nick_of(&socket) else {
            // The middleware always sets it; without it there is no one to chat as.
            tracing::warn!(socket = %socket.id(), "connected without a nickname");
            socket.disconnect();
            return;
        };
        let now = Instant::now();
        let member = Arc::new(Member {
            user: User {
                id: socket.id().to_string(),
                name,
            },
            rooms: Mutex::default(),
            actions: Mutex::new(TokenBucket::new(self.cfg.actions, now)),
            typing: Mutex::new(TokenBucket::new(self.cfg.typing, now)),
        });

        // A page sends the channels it was in, so a reconnection lands where it was.
        let wanted = socket
            .handshake()
            .auth::<Auth>()
            .ok()
            .and_then(|a| a.rooms)
            .unwrap_or_else(|| self.cfg.channels.iter().take(1).cloned().collect());
        let rooms: BTreeSet<String> = wanted
            .into_iter()
            .filter(|r| self.cfg.channels.contains(r))
            .collect();
        for room in &rooms {
            socket.join(room.as_str());
        }
        *lock(&member.rooms) = rooms.clone();

        let session = Session {
            id: member.user.id.clone(),
            name: member.user.name.clone(),
            channels: self.cfg.channels.clone(),
            joined: rooms.iter().map(|r| self.room_state(r)).collect(),
            counts: self.counts(),
            limits: Limits {
                message: self.cfg.max_message,
                name: self.cfg.max_name,
            },
        };
        if let Err(e) = socket.emit("session", &session) {
            tracing::debug!("session not sent: {e}");
        }
        for room in &rooms {
            self.membership_changed(room, &member.user, "join");
        }
        self.counts_changed();
        tracing::info!(socket = %socket.id(), name = %member.user.name, "connected");

        self.listen(&socket, &member);
        let chat = self.clone();
        socket.on_disconnect(move |_, reason| {
            tracing::info!(name = %member.user.name, "disconnected: {}", reason.as_str());
            let rooms = std::mem::take(&mut *lock(&member.rooms));
            for room in &rooms {
                chat.membership_changed(room, &member.user, "leave");
            }
            chat.counts_changed();
        });
    }

    fn listen(self: &Arc<Self>, socket: &Socket, member: &Arc<Member>) {
        let (chat, m) = (self.clone(), member.clone());
        socket.on("message", move |socket, mut ev| {
            let a = chat.message(&socket, &m, ev.arg(0));
            answer(&socket, &mut ev, a);
        });
        let (chat, m) = (self.clone(), member.clone());
        socket.on("dm", move |socket, mut ev| {
            let a = chat.dm(&socket, &m, ev.arg(0));
            answer(&socket, &mut ev, a);
        });
        let (chat, m) = (self.clone(), member.clone());
        socket.on("join", move |socket, mut ev| {
            let a = chat.join(&socket, &m, ev.arg(0));
            answer(&socket, &mut ev, a);
        });
        let (chat, m) = (self.clone(), member.clone());
        socket.on("history", move |socket, mut ev| {
            let a = chat.history(&socket, &m, ev.arg(0));
            answer(&socket, &mut ev, a);
        });
        let (chat, m) = (self.clone(), member.clone());
        socket.on("leave", move |socket, mut ev| {
            let a = chat.leave(&socket, &m, ev.arg(0));
            answer(&socket, &mut ev, a);
        });
        let m = member.clone();
        socket.on("typing", move |socket, ev| typing(&socket, &m, ev.arg(0)));
    }

    fn message(&self, socket: &Socket, m: &Member, req: Result<SendMessage, ArgError>) -> Answer {
        self.allow(socket, m)?;
        let req = req.map_err(|e| malformed(socket, "message", &e))?;
        m.require(&req.room, "write there")?;
        let text = validate::message(&req.text, self.cfg.max_message).map_err(refusal)?;
        let cid = match req.cid {
            Some(cid) => Some(validate::client_id(&cid).map_err(refusal)?.to_owned()),
            None => None,
        };
        let msg = Message {
            id: self.next_id(),
            room: req.room,
            from: m.user.clone(),
            text,
            ts: now_ms(),
            cid,
        };
        // Stored first: a member who joins meanwhile finds it in the history, and the
        // stored order is the order members saw. A failed write still delivers it live.
        match self.store.push(&msg) {
            Ok(Pushed::New) => {}
            // A retry of a message that got here (its ack was lost): its first answer again.
            Ok(Pushed::Again { id, ts }) => return Ok(json!({ "ok": true, "id": id, "ts": ts })),
            Err(e) => tracing::error!("{}: message not stored: {e}", msg.room),
        }
        if let Err(e) = socket.to(msg.room.as_str()).emit("message", &msg) {
            tracing::warn!("message not broadcast: {e}");
        }
        Ok(json!({ "ok": true, "id": msg.id, "ts": msg.ts }))
    }

    /// The page of a channel's history before a message the page has.
    fn history(
        &self,
        socket: &Socket,
        m: &Member,
        req: Result<HistoryRequest, ArgError>,
    ) -> Answer {
        self.allow(socket, m)?;
        let req = req.map_err(|e| malformed(socket, "history", &e))?;
        m.require(&req.room, "read it")?;
        let page = self.store.before(&req.room, &req.before).map_err(|e| {
            tracing::error!("{}: history not read: {e}", req.room);
            Refusal::new("unavailable", "The history cannot be read now")
        })?;
        let answer = HistoryPage {
            ok: true,
            room: req.room,
            messages: page.messages,
            more: page.more,
        };
        serde_json::to_value(answer).map_err(|e| {
            tracing::error!("history not serialized: {e}");
            Refusal::new("unavailable", "The history cannot be read now")
        })
    }

    fn dm(&self, socket: &Socket, m: &Member, req: Result<SendDm, ArgError>) -> Answer {
        self.allow(socket, m)?;
        let req = req.map_err(|e| malformed(socket, "dm", &e))?;
        let text = validate::message(&req.text, self.cfg.max_message).map_err(refusal)?;
        let offline = || Refusal::new("no-such-user", "That user is no longer online");
        let to = Sid::parse(&req.to).ok_or_else(offline)?;
        if to == socket.id() {
            return Err(Refusal::new("dm-self", "That is you"));
        }
        let target = self
            .ns()
            .and_then(|ns| ns.get_socket(to))
            .ok_or_else(offline)?;
        let to_user = User {
            id: to.to_string(),
            name: nick_of(&target).ok_or_else(offline)?,
        };
        let dm = Dm {
            id: self.next_id(),
            from: m.user.clone(),
            to: to_user,
            text,
            ts: now_ms(),
        };
        // The receiver's own room: nobody else is in it.
        if let Err(e) = socket.to(to).emit("dm", &dm) {
            tracing::warn!("dm not sent: {e}");
        }
        Ok(json!({ "ok": true, "id": dm.id, "ts": dm.ts, "to": dm.to }))
    }

    fn channel(
        &self,
        room: Result<String, ArgError>,
        socket: &Socket,
        event: &str,
    ) -> Result<String, Refusal> {
        let room = room.map_err(|e| malformed(socket, event, &e))?;
        if self.cfg.channels.contains(&room) {
            Ok(room)
        } else {
            Err(Refusal::new("no-such-channel", "There is no such channel"))
        }
    }

    fn join(&self, socket: &Socket, m: &Member, room: Result<String, ArgError>) -> Answer {
        self.allow(socket, m)?;
        let room = self.channel(room, socket, "join")?;
        if lock(&m.rooms).insert(room.clone()) {
            socket.join(room.as_str());
            self.membership_changed(&room, &m.user, "join");
            self.counts_changed();
        }
        Ok(json!({ "ok": true, "state": self.room_state(&room) }))
    }

    fn leave(&self, socket: &Socket, m: &Member, room: Result<String, ArgError>) -> Answer {
        self.allow(socket, m)?;
        let room = self.channel(room, socket, "leave")?;
        if lock(&m.rooms).remove(&room) {
            socket.leave(room.as_str());
            self.membership_changed(&room, &m.user, "leave");
            self.counts_changed();
        }
        Ok(json!({ "ok": true }))
    }
}

/// Relays a typing notification to the rest of the channel, dropping it when the socket
/// sends them too fast or the transport is busy: a lost one is replaced by the next.
fn typing(socket: &Socket, m: &Member, req: Result<Typing, ArgError>) {
    if !lock(&m.typing).try_take(Instant::now()) {
        return;
    }
    let Ok(req) = req.map_err(|e| malformed(socket, "typing", &e)) else {
        return;
    };
    if !m.in_room(&req.room) {
        return;
    }
    let notice = TypingNotice {
        room: &req.room,
        from: &m.user,
        typing: req.typing,
    };
    let _ = socket
        .to(req.room.as_str())
        .volatile()
        .emit("typing", &notice);
}

/// The middleware: a nickname of the right length, or a refusal the page shows.
fn check_nickname(socket: &Socket, max: usize) -> Result<(), ConnectError> {
    let auth: Auth = socket.handshake().auth().unwrap_or_else(|e| {
        tracing::debug!(socket = %socket.id(), "unreadable auth: {e}");
        Auth::default()
    });
    match validate::nickname(&auth.name, max) {
        Ok(name) => {
            socket.with_extensions(|d| d.insert(Nick(name)));
            Ok(())
        }
        Err(e) => {
            tracing::info!(socket = %socket.id(), "nickname refused: {e}");
            Err(ConnectError::new(e.to_string()).with_data(json!({ "code": e.code() })))
        }
    }
}
