//! The chat's events, as JSON. Client → server:
//!
//! | event | argument | ack |
//! | --- | --- | --- |
//! | `message` | `{room, text, cid?}` | `{ok, id, ts}` or `{ok: false, code, error}`; the same message again (its `cid`) gets the first one's answer and is not sent twice |
//! | `dm` | `{to: nickname, text, cid?}` | `{ok, id, ts, to: Peer}` or an error (the same `cid` as `message`) |
//! | `join` / `leave` | channel name | `{ok, state: RoomState}` (join) / `{ok}`, or an error |
//! | `history` | `{room, before?: message id}` (`room`: a channel, or `@nickname` for the direct messages with that person) | `{ok, room, messages, more}`: the messages just before (without `before`: the last ones), oldest first |
//! | `typing` | `{room, typing}` (volatile) | none |
//!
//! Server → client: `session` ([`Session`], on every connection), `message`, `dm`,
//! `notice` (`{room, kind: "join" | "leave", user, ts}`), `presence` (`{room, users}`),
//! `counts` (`{channel: people in it}`, on every node), `typing` (`{room, from, typing}`, volatile) and `chat-error`
//! (`{code, message}`, e.g. when sending too fast).
//!
//! The handshake's `auth` is [`Auth`]: the nickname, the page's key, and the channels to be in
//! (a page sends the ones it was in, so a reconnection puts it back where it was). A nickname
//! belongs to whoever holds it, by their key, while they have a socket connected: direct
//! messages go to that person, on every tab they have.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The CONNECT payload.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Auth {
    /// The nickname, checked by the middleware.
    pub name: String,
    /// A secret the page keeps (`validate::client_id`): whoever holds a nickname may open
    /// more sockets with it (tabs, a reconnection before the old socket is gone); others
    /// are refused it. Without one, each socket is a person of its own.
    pub key: Option<String>,
    /// Channels to be in; absent: the first channel.
    pub rooms: Option<Vec<String>>,
}

/// A connected user, as others see it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct User {
    /// The socket id: the room a direct message goes to.
    pub id: String,
    /// The nickname.
    pub name: String,
}

/// A message in a channel.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Message {
    /// Unique per server run (`<boot>-<n>`): pages drop messages they already have.
    pub id: String,
    /// The channel.
    pub room: String,
    /// The author.
    pub from: User,
    /// One line of plain text.
    pub text: String,
    /// Milliseconds since the Unix epoch.
    pub ts: u64,
    /// The sender's id for it (`SendMessage::cid`): its page knows its own message by it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cid: Option<String>,
}

/// Someone, by nickname: who a direct message goes to.
#[derive(Debug, Clone, Serialize)]
pub struct Peer {
    /// The nickname, as its holder wrote it.
    pub name: String,
}

/// A direct message, seen by its two ends only (on all their tabs).
#[derive(Debug, Serialize)]
pub struct Dm {
    /// Unique per server run.
    pub id: String,
    /// The sender.
    pub from: User,
    /// The receiver.
    pub to: Peer,
    /// One line of plain text.
    pub text: String,
    /// Milliseconds since the Unix epoch.
    pub ts: u64,
    /// The sender's id for it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cid: Option<String>,
}

/// A channel as a member sees it on joining.
#[derive(Debug, Serialize)]
pub struct RoomState {
    /// The channel.
    pub room: String,
    /// Who is in it, by name.
    pub users: Vec<User>,
    /// Its last messages, oldest first.
    pub history: Vec<Message>,
    /// Whether it has older ones (`history` asks for them).
    pub more: bool,
}

/// The settings a page needs, sent on every connection.
#[derive(Debug, Serialize)]
pub struct Limits {
    /// Longest message, in characters.
    pub message: usize,
    /// Longest nickname, in characters.
    pub name: usize,
}

/// What a page gets on every connection.
#[derive(Debug, Serialize)]
pub struct Session {
    /// The socket id.
    pub id: String,
    /// The nickname, as the server normalised it.
    pub name: String,
    /// Every channel.
    pub channels: Vec<String>,
    /// The channels the socket is in, with their members and history.
    pub joined: Vec<RoomState>,
    /// Members per channel.
    pub counts: BTreeMap<String, usize>,
    /// The people this nickname has direct messages with, most recent first.
    pub dms: Vec<String>,
    /// Limits to enforce in the page too.
    pub limits: Limits,
}

/// Someone joined or left a channel.
#[derive(Debug, Serialize)]
pub struct Notice<'a> {
    /// The channel.
    pub room: &'a str,
    /// `join` or `leave`.
    pub kind: &'static str,
    /// Who.
    pub user: &'a User,
    /// Milliseconds since the Unix epoch.
    pub ts: u64,
}

/// The members of a channel, after a change.
#[derive(Debug, Serialize)]
pub struct Presence<'a> {
    /// The channel.
    pub room: &'a str,
    /// Who is in it, by name.
    pub users: Vec<User>,
}

/// Someone started or stopped typing in a channel.
#[derive(Debug, Serialize)]
pub struct TypingNotice<'a> {
    /// The channel.
    pub room: &'a str,
    /// Who.
    pub from: &'a User,
    /// Started (`true`) or stopped.
    pub typing: bool,
}

/// `message`'s argument.
#[derive(Debug, Deserialize)]
pub struct SendMessage {
    /// The channel.
    pub room: String,
    /// The text, checked by `validate::message`.
    pub text: String,
    /// The page's own id for this message, the same on every retry (`validate::client_id`):
    /// a message that arrives twice is stored and sent once.
    #[serde(default)]
    pub cid: Option<String>,
}

/// `dm`'s argument.
#[derive(Debug, Deserialize)]
pub struct SendDm {
    /// The receiver's nickname.
    pub to: String,
    /// The text, checked by `validate::message`.
    pub text: String,
    /// The page's own id for it, as [`SendMessage::cid`].
    #[serde(default)]
    pub cid: Option<String>,
}

/// `history`'s argument.
#[derive(Debug, Deserialize)]
pub struct HistoryRequest {
    /// The channel.
    pub room: String,
    /// The id of the oldest message the page has; none: the last page.
    #[serde(default)]
    pub before: Option<String>,
}

/// `history`'s answer.
#[derive(Debug, Serialize)]
pub struct HistoryPage {
    /// Always `true`.
    pub ok: bool,
    /// The channel.
    pub room: String,
    /// The messages just before the one asked about, oldest first.
    pub messages: Vec<Message>,
    /// Whether there are older ones still.
    pub more: bool,
}

/// `typing`'s argument.
#[derive(Debug, Deserialize)]
pub struct Typing {
    /// The channel.
    pub room: String,
    /// Started or stopped.
    #[serde(default)]
    pub typing: bool,
}

/// A refusal: in a `{ok: false, …}` ack and in `chat-error`.
#[derive(Debug, Clone, Serialize)]
pub struct Refusal {
    /// Always `false`.
    pub ok: bool,
    /// Stable, for code.
    pub code: &'static str,
    /// For people.
    pub error: String,
}

impl Refusal {
    /// A refusal with `code` and the sentence to show.
    pub fn new(code: &'static str, error: impl Into<String>) -> Self {
        Self {
            ok: false,
            code,
            error: error.into(),
        }
    }
}

/// The `chat-error` event.
#[derive(Debug, Serialize)]
pub struct ChatError<'a> {
    /// Stable, for code.
    pub code: &'a str,
    /// For people.
    pub message: &'a str,
}
