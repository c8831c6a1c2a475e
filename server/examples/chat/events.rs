//! The chat itself: who may connect, what each event does, and who hears about it.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde::Serialize;
use serde_json::{Value, json};
use sio_server::{ArgError, ConnectError, Event, Namespace, Socket, SocketIo};

use crate::config::Config;
use crate::rate_limit::TokenBucket;
use crate::roster::{self, Roster};
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

/// The pauses after each failed fetch of other nodes' members; after the last, the list
/// stays as it was until the next change or refresh.
const FETCH_TRIES: [Duration; 3] = [
    Duration::from_millis(500),
    Duration::from_secs(1),
    Duration::ZERO,
];

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
    /// Direct messages are handled one at a time, in the order they came: finding their
    /// recipient may mean asking the other nodes.
    dm_turn: tokio::sync::Mutex<()>,
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
    /// The nicknames held on this node now, by `name_key`.
    names: Mutex<HashMap<String, Holder>>,
    /// The members of the other nodes of a cluster.
    roster: Roster,
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
            roster: Roster::default(),
            boot: rand::random(),
            seq: AtomicU64::new(0),
            cfg,
        });
        let (on_connect, gate, changed) = (chat.clone(), chat.clone(), chat.clone());
        io.ns(NSP, move |socket| on_connect.connected(socket))
            .middleware(move |socket| {
                let gate = gate.clone();
                async move { gate.check_nickname(&socket).await }
            })
            .on_server_side(roster::CHANGED, move |ev| match ev.arg::<String>(0) {
                Ok(room) if changed.cfg.channels.contains(&room) => {
                    tracing::debug!("{room}: members changed on another node");
                    changed.refresh(&room);
                }
                _ => tracing::debug!("{}: not a channel: {:?}", roster::CHANGED, ev.args()),
            });
        if chat.cfg.cluster {
            tokio::spawn(refresh_now_and_then(Arc::downgrade(&chat)));
        }
        chat
    }

    /// The middleware: a nickname of the right length that nobody else holds (on any node),
    /// or a refusal the page shows.
    async fn check_nickname(&self, socket: &Socket) -> Result<(), ConnectError> {
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
        if self.held_elsewhere(&name, &key).await {
            return refuse(TAKEN.into(), "name-taken");
        }
        socket.with_extensions(|d| d.insert(Nick { name, key }));
        Ok(())
    }

    /// Whether a socket of another node holds `name` for someone else than `key`. When the
    /// other nodes cannot be asked, the chat stays open: false, with a warning.
    async fn held_elsewhere(&self, name: &str, key: &str) -> bool {
        let Some(ns) = self.ns().filter(|_| self.cfg.cluster) else {
            return false;
        };
        match roster::remote_members(&ns, &person_room(name)).await {
            Ok(holders) => holders.iter().any(|h| h.key != key),
            Err(e) => {
                tracing::warn!("nickname {name:?} not checked on the other nodes: {e}");
                false
            }
        }
    }

    /// The name of whoever holds `name` now on any node, as they wrote it.
    async fn holder_anywhere(&self, name: &str) -> Option<String> {
        if let Some(here) = self.holder(name) {
            return Some(here);
        }
        let ns = self.ns().filter(|_| self.cfg.cluster)?;
        match roster::remote_members(&ns, &person_room(name)).await {
            Ok(holders) => holders.into_iter().next().map(|h| h.name),
            Err(e) => {
                tracing::warn!("{name:?} not looked up on the other nodes: {e}");
                None
            }
        }
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

    /// The members of `room` on every node, by name.
    fn users(&self, room: &str) -> Vec<User> {
        let Some(ns) = self.ns() else {
            return Vec::new();
        };
        let here: Vec<User> = ns
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
        roster::merge(here, self.roster.remote(room))
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

    /// The people in each channel, on every node.
    fn counts(&self) -> BTreeMap<String, usize> {
        self.cfg
            .channels
            .iter()
            .map(|c| (c.clone(), self.users(c).len()))
            .collect()
    }

    fn emit_to_room(&self, room: &str, event: &str, args: &impl Serialize) {
        if let Some(ns) = self.ns() {
            if let Err(e) = ns.to(room).emit(event, args) {
                tracing::warn!("{event} to {room} not sent: {e}");
            }
        }
    }

    /// Tells `room` (on every node) that `user` came or went, gives this node's members of
    /// it the new member list and tells the other nodes to do the same; the caller sends
    /// the counts ([`counts_changed`](Self::counts_changed)).
    fn membership_changed(self: &Arc<Self>, room: &str, user: &User, kind: &'static str) {
        let notice = Notice {
            room,
            kind,
            user,
            ts: now_ms(),
        };
        self.emit_to_room(room, "notice", &notice);
        self.show_members(room);
        if !self.cfg.cluster {
            return;
        }
        if let Some(ns) = self.ns() {
            if let Err(e) = ns.server_side_emit(roster::CHANGED, room) {
                tracing::warn!("{room}: other nodes not told of its members: {e}");
            }
        }
        if !self.roster.known(room) {
            self.refresh(room);
        }
    }

    /// Gives this node's members of `room` its member list.
    fn show_members(&self, room: &str) {
        let Some(ns) = self.ns() else {
            return;
        };
        let presence = Presence {
            room,
            users: self.users(room),
        };
        // Each node tells its own sockets: the others' lists are their own to send.
        if let Err(e) = ns.broadcast().local().to(room).emit("presence", &presence) {
            tracing::warn!("presence of {room} not sent: {e}");
        }
    }

    /// Gives every socket of this node the counts of the channels.
    fn counts_changed(&self) {
        if let Some(ns) = self.ns() {
            let _ = ns.broadcast().local().emit("counts", &self.counts());
        }
    }

    /// Fetches the members of `room` on the other nodes again, and shows them here if they
    /// changed; a fetch asked for while one runs is made once after it.
    fn refresh(self: &Arc<Self>, room: &str) {
        if !self.roster.begin(room) {
            return;
        }
        let (chat, room) = (self.clone(), room.to_owned());
        tokio::spawn(async move {
            loop {
                let fetched = chat.fetch_members(&room).await;
                let ended = chat.roster.end(&room, fetched);
                tracing::debug!("{room}: members of other nodes fetched: {ended:?}");
                if ended.changed {
                    chat.show_members(&room);
                    chat.counts_changed();
                }
                if !ended.again {
                    break;
                }
            }
        });
    }

    /// The members of `room` on the other nodes, asked up to [`FETCH_TRIES`] times: a node
    /// that is shutting down is counted but may not answer (the ask then times out), and
    /// once it is gone it is not counted.
    async fn fetch_members(&self, room: &str) -> Option<Vec<roster::Remote>> {
        let ns = self.ns()?;
        for (i, pause) in FETCH_TRIES.iter().enumerate() {
            match roster::remote_members(&ns, room).await {
                Ok(members) => return Some(members),
                Err(e) => tracing::warn!(
                    "{room}: members of other nodes not fetched (try {}): {e}",
                    i + 1
                ),
            }
            tokio::time::sleep(*pause).await;
        }
        None
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
            dm_turn: tokio::sync::Mutex::new(()),
        });
        socket.set_data(roster::socket_data(&member.user.name, &key));

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

        if self.cfg.cluster {
            self.check_race(&socket, &member.user.name, &key);
        }
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

    /// Two people can take one nickname on two nodes at once, each node's middleware
    /// finding it free. Each socket holding a name looks again once it is in its person's
    /// room: of two that took it at once, the later one to look sees the other, and whoever
    /// sees someone else gives it up (both may: then both try again).
    fn check_race(self: &Arc<Self>, socket: &Socket, name: &str, key: &str) {
        let (chat, socket, name, key) = (
            self.clone(),
            socket.clone(),
            name.to_owned(),
            key.to_owned(),
        );
        tokio::spawn(async move {
            if chat.held_elsewhere(&name, &key).await {
                tracing::info!(socket = %socket.id(), "nickname {name:?} taken on another node meanwhile");
                let _ = socket.emit(
                    "chat-error",
                    &ChatError {
                        code: "name-taken",
                        message: TAKEN,
                    },
                );
                socket.disconnect();
            }
        });
    }

    fn listen(self: &Arc<Self>, socket: &Socket, member: &Arc<Member>) {
        let (chat, m) = (self.clone(), member.clone());
        socket.on("message", move |socket, mut ev| {
            let a = chat.message(&socket, &m, ev.arg(0));
            answer(&socket, &mut ev, a);
        });
        let (chat, m) = (self.clone(), member.clone());
        socket.on_async("dm", move |socket, mut ev| {
            let (chat, m) = (chat.clone(), m.clone());
            async move {
                let _turn = m.dm_turn.lock().await;
                let a = chat.dm(&socket, &m, ev.arg(0)).await;
                answer(&socket, &mut ev, a);
            }
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

    async fn dm(&self, socket: &Socket, m: &Member, req: Result<SendDm, ArgError>) -> Answer {
        self.allow(socket, m)?;
        let req = req.map_err(|e| malformed(socket, "dm", &e))?;
        let text = validate::message(&req.text, self.cfg.max_message).map_err(refusal)?;
        let cid = Self::client_id(req.cid)?;
        let to = self
            .holder_anywhere(&req.to)
            .await
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

    fn join(
        self: &Arc<Self>,
        socket: &Socket,
        m: &Member,
        room: Result<String, ArgError>,
    ) -> Answer {
        self.allow(socket, m)?;
        let room = self.channel(room, socket, "join")?;
        if lock(&m.rooms).insert(room.clone()) {
            socket.join(room.as_str());
            self.membership_changed(&room, &m.user, "join");
            self.counts_changed();
        }
        Ok(json!({ "ok": true, "state": self.room_state(&room) }))
    }

    fn leave(
        self: &Arc<Self>,
        socket: &Socket,
        m: &Member,
        room: Result<String, ArgError>,
    ) -> Answer {
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

/// Fetches every channel's members on the other nodes at start and then every
/// `CHAT_ROSTER_REFRESH_MS`: a node that went away without a word leaves the lists, and a
/// node that just started learns them. Ends with the chat.
async fn refresh_now_and_then(chat: std::sync::Weak<Chat>) {
    let Some(every) = chat.upgrade().map(|c| c.cfg.roster_refresh) else {
        return;
    };
    let mut ticks = tokio::time::interval(every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        let Some(chat) = chat.upgrade() else {
            return;
        };
        for room in &chat.cfg.channels {
            chat.refresh(room);
        }
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
