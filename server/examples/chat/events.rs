//! The chat itself: who may connect, what each event does, and who hears about it.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use serde::Serialize;
use serde_json::{Value, json};
use sio_server::{ArgError, ConnectError, Event, Namespace, Socket, SocketIo};

use crate::config::Config;
use crate::rate_limit::TokenBucket;
use crate::store::{self, Page, Pushed, Store, name_key};
use crate::validate::{self, Invalid};
use crate::wire::{
    Auth, ChatError, Dm, HistoryPage, HistoryRequest, Limits, Message, Notice, Peer, Presence,
    Refusal, RoomState, SendDm, SendMessage, Session, Typing, TypingNotice, User,
};

/// The chat's namespace.
const NSP: &str = "/";

/// The nickname the middleware accepted and the key of the person asking for it, kept in
/// the socket's data for the connect handler and for member lists.
#[derive(Clone)]
struct Nick {
    name: String,
    key: String,
}

/// Who holds a nickname: their key, their sockets, the name as they wrote it.
struct Holder {
    key: String,
    sockets: usize,
    name: String,
}

/// The refusal of a nickname someone else holds.
const TAKEN: &str = "That nickname is taken: pick another";

/// Direct-message threads listed in a session.
const THREADS: usize = 20;

/// The room of every socket of the person holding `name`: where their direct messages go.
fn person_room(name: &str) -> String {
    format!("user:{}", name_key(name))
}

/// One connected socket's side of the chat.
struct Member {
    user: User,
    rooms: Mutex<BTreeSet<String>>,
    actions: Mutex<TokenBucket>,
    /// History pages: a page reads several at once (its threads, on reconnecting), so they
    /// do not spend the rate of messages.
    reads: Mutex<TokenBucket>,
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
    /// The nicknames held now, by `name_key`.
    names: Mutex<HashMap<String, Holder>>,
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
    socket.with_extensions(|d| d.get::<Nick>().map(|n| n.name.clone()))
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
            names: Mutex::default(),
            boot: rand::random(),
            seq: AtomicU64::new(0),
            cfg,
        });
        let (on_connect, gate) = (chat.clone(), chat.clone());
        io.ns(NSP, move |socket| on_connect.connected(socket))
            .middleware(move |socket| {
                let gate = gate.clone();
                async move { gate.check_nickname(&socket) }
            });
        chat
    }

    /// The middleware: a nickname of the right length that nobody else holds, or a refusal
    /// the page shows.
    fn check_nickname(&self, socket: &Socket) -> Result<(), ConnectError> {
        let auth: Auth = socket.handshake().auth().unwrap_or_else(|e| {
            tracing::debug!(socket = %socket.id(), "unreadable auth: {e}");
            Auth::default()
        });
        let refuse = |message: String, code: &str| {
            tracing::info!(socket = %socket.id(), "nickname refused: {message}");
            Err(ConnectError::new(message).with_data(json!({ "code": code })))
        };
        let name = match validate::nickname(&auth.name, self.cfg.max_name) {
            Ok(name) => name,
            Err(e) => return refuse(e.to_string(), e.code()),
        };
        // Without a (valid) key of its own, a socket is a person of its own.
        let key = auth
            .key
            .filter(|k| validate::client_id(k).is_ok())
            .unwrap_or_else(|| socket.id().to_string());
        if lock(&self.names)
            .get(&name_key(&name))
            .is_some_and(|h| h.key != key)
        {
            return refuse(TAKEN.into(), "name-taken");
        }
        socket.with_extensions(|d| d.insert(Nick { name, key }));
        Ok(())
    }

    /// Takes `name` for the person with `key` (one more socket); false when someone else
    /// holds it (they took it since the middleware looked).
    fn hold(&self, name: &str, key: &str) -> bool {
        let mut names = lock(&self.names);
        let h = names.entry(name_key(name)).or_insert_with(|| Holder {
            key: key.to_owned(),
            sockets: 0,
            name: name.to_owned(),
        });
        if h.key != key {
            return false;
        }
        h.sockets += 1;
        h.name = name.to_owned();
        true
    }

    /// One socket of the holder of `name` is gone; the last one frees the name.
    fn release(&self, name: &str) {
        let mut names = lock(&self.names);
        let key = name_key(name);
        if let Some(h) = names.get_mut(&key) {
            h.sockets = h.sockets.saturating_sub(1);
            if h.sockets == 0 {
                names.remove(&key);
            }
        }
    }

    /// The name of whoever holds `name` now, as they wrote it.
    fn holder(&self, name: &str) -> Option<String> {
        lock(&self.names)
            .get(&name_key(name))
            .map(|h| h.name.clone())
    }

    /// A page's message id, checked.
    fn client_id(cid: Option<String>) -> Result<Option<String>, Refusal> {
        match cid {
            Some(cid) => Ok(Some(validate::client_id(&cid).map_err(refusal)?.to_owned())),
            None => Ok(None),
        }
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
        users.sort_by(|a, b| (name_key(&a.name), &a.id).cmp(&(name_key(&b.name), &b.id)));
        // One person, one entry, however many tabs they have.
        users.dedup_by(|a, b| name_key(&a.name) == name_key(&b.name));
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
        self.allow_in(socket, member, &member.actions)
    }

    /// Takes one token of `bucket`, or tells the socket to slow down.
    fn allow_in(
        &self,
        socket: &Socket,
        member: &Member,
        bucket: &Mutex<TokenBucket>,
    ) -> Result<(), Refusal> {
        if lock(bucket).try_take(Instant::now()) {
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
        let Some(Nick { name, key }) = socket.with_extensions(|d| d.get::<Nick>().cloned()) else {
            // The middleware always sets it; without it there is no one to chat as.
            tracing::warn!(socket = %socket.id(), "connected without a nickname");
            socket.disconnect();
            return;
        };
        if !self.hold(&name, &key) {
            tracing::info!(socket = %socket.id(), "nickname taken meanwhile: {name}");
            let _ = socket.emit(
                "chat-error",
                &ChatError {
                    code: "name-taken",
                    message: TAKEN,
                },
            );
            socket.disconnect();
            return;
        }
        socket.join(person_room(&name));
        let now = Instant::now();
        let member = Arc::new(Member {
            user: User {
                id: socket.id().to_string(),
                name,
            },
            rooms: Mutex::default(),
            actions: Mutex::new(TokenBucket::new(self.cfg.actions, now)),
            reads: Mutex::new(TokenBucket::new(self.cfg.reads, now)),
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
            dms: self
                .store
                .threads(&member.user.name, THREADS)
                .unwrap_or_else(|e| {
                    tracing::error!("no direct-message threads: {e}");
                    Vec::new()
                }),
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
        tracing::info!(socket = %socket.id(), name = %member.user.name, recovered = socket.recovered(), "connected");

        self.listen(&socket, &member);
        let chat = self.clone();
        socket.on_disconnect(move |_, reason| {
            tracing::info!(name = %member.user.name, "disconnected: {}", reason.as_str());
            chat.release(&member.user.name);
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
        let cid = Self::client_id(req.cid)?;
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
        self.allow_in(socket, m, &m.reads)?;
        let req = req.map_err(|e| malformed(socket, "history", &e))?;
        // `@name`: the direct messages with that person; else a channel of one's own.
        let room = match req.room.strip_prefix('@') {
            Some(peer) => store::dm_room(&m.user.name, peer),
            None => {
                m.require(&req.room, "read it")?;
                req.room.clone()
            }
        };
        let page = match &req.before {
            Some(id) => self.store.before(&room, id),
            None => self.store.recent(&room),
        };
        let page = page.map_err(|e| {
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
        let cid = Self::client_id(req.cid)?;
        let to = self
            .holder(&req.to)
            .ok_or_else(|| Refusal::new("no-such-user", "That user is no longer online"))?;
        if name_key(&to) == name_key(&m.user.name) {
            return Err(Refusal::new("dm-self", "That is you"));
        }
        let msg = Message {
            id: self.next_id(),
            room: store::dm_room(&m.user.name, &to),
            from: m.user.clone(),
            text,
            ts: now_ms(),
            cid,
        };
        let to = Peer { name: to };
        match self.store.push(&msg) {
            Ok(Pushed::New) => {}
            Ok(Pushed::Again { id, ts }) => {
                return Ok(json!({ "ok": true, "id": id, "ts": ts, "to": to }));
            }
            Err(e) => tracing::error!("direct message not stored: {e}"),
        }
        if let Err(e) = self.store.touch_thread(&m.user.name, &to.name, msg.ts) {
            tracing::error!("direct-message thread not noted: {e}");
        }
        let ack = json!({ "ok": true, "id": msg.id, "ts": msg.ts, "to": to });
        let dm = Dm {
            id: msg.id,
            from: msg.from,
            to,
            text: msg.text,
            ts: msg.ts,
            cid: msg.cid,
        };
        // The receiver's tabs, and the sender's other tabs (this one has the ack).
        let rooms = [person_room(&dm.to.name), person_room(&dm.from.name)];
        if let Err(e) = socket.to(rooms).emit("dm", &dm) {
            tracing::warn!("dm not sent: {e}");
        }
        Ok(ack)
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
