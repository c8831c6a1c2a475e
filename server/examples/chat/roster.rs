//! Who is where on the other nodes of a cluster (`REDIS_URL`): the members of each channel
//! and the holders of a nickname, as the chat on this node must show and check them.
//!
//! A socket tells the cluster who it is through `socket.data` (`{name, key}`), which every
//! node answers with in `fetchSockets` (`fetch_remote_sockets`). Each node keeps the last
//! member lists it fetched from the others, per channel; when a node's members change it
//! tells the others (the server-side event [`CHANGED`]), and each of them fetches that
//! channel again and gives its own sockets the new list. The notice is sent after the change
//! is made and the fetch is made after the notice arrives, so the last fetch of a burst
//! sees its last change; fetches of one channel run one at a time on a node (a change during
//! one asks for another), so an older list never overwrites a newer one. A node that dies
//! without a word is dropped from the lists at the next refresh (`CHAT_ROSTER_REFRESH_MS`).

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};

use serde_json::{Value, json};
use sio_server::{AdapterError, Namespace, RemoteSocket};

use crate::store::name_key;
use crate::wire::User;

/// The server-side event a node sends the others when a channel's members changed on it;
/// its argument is the channel.
pub const CHANGED: &str = "chat:members-changed";

/// The chat's part of `socket.data`, which other nodes see.
pub fn socket_data(name: &str, key: &str) -> Value {
    json!({ "name": name, "key": key })
}

/// A socket of another node, as the chat sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct Remote {
    /// The socket id.
    pub id: String,
    /// Its nickname.
    pub name: String,
    /// Its person's key.
    pub key: String,
}

impl Remote {
    /// None for a socket that is not (yet) a chat member: no nickname in its data.
    fn from_socket(s: RemoteSocket) -> Option<Remote> {
        let field = |k: &str| s.data.get(k).and_then(Value::as_str).map(str::to_owned);
        Some(Remote {
            name: field("name")?,
            key: field("key")?,
            id: s.id,
        })
    }
}

/// The chat members of `room` on the other nodes.
pub async fn remote_members(ns: &Namespace, room: &str) -> Result<Vec<Remote>, AdapterError> {
    let sockets = ns.to(room).fetch_remote_sockets().await?;
    Ok(sockets
        .into_iter()
        .filter_map(Remote::from_socket)
        .collect())
}

/// The member lists of the other nodes, as last fetched, and which channels are being
/// fetched again.
#[derive(Default)]
pub struct Roster {
    remote: Mutex<HashMap<String, Vec<User>>>,
    /// Channels being fetched; `true`: a change came meanwhile, fetch once more.
    fetching: Mutex<HashMap<String, bool>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Roster {
    /// The members of `room` on other nodes, as last fetched (none before the first fetch).
    pub fn remote(&self, room: &str) -> Vec<User> {
        lock(&self.remote).get(room).cloned().unwrap_or_default()
    }

    /// Whether `room` was ever fetched.
    pub fn known(&self, room: &str) -> bool {
        lock(&self.remote).contains_key(room)
    }

    /// Asks for a fetch of `room`: true when the caller is to run it, false when one is
    /// running already (it will run once more).
    pub fn begin(&self, room: &str) -> bool {
        let mut fetching = lock(&self.fetching);
        match fetching.get_mut(room) {
            Some(again) => {
                *again = true;
                false
            }
            None => {
                fetching.insert(room.to_owned(), false);
                true
            }
        }
    }

    /// Ends a fetch of `room` with its result (None: it failed, the last list stays).
    pub fn end(&self, room: &str, fetched: Option<Vec<Remote>>) -> Ended {
        let mut changed = false;
        if let Some(members) = fetched {
            let users = merge(
                Vec::new(),
                members
                    .into_iter()
                    .map(|r| User {
                        id: r.id,
                        name: r.name,
                    })
                    .collect(),
            );
            let mut remote = lock(&self.remote);
            changed = remote.get(room) != Some(&users);
            remote.insert(room.to_owned(), users);
        }
        let mut fetching = lock(&self.fetching);
        let again = fetching.get(room) == Some(&true);
        if again {
            fetching.insert(room.to_owned(), false);
        } else {
            fetching.remove(room);
        }
        Ended { changed, again }
    }
}

/// What a fetch found, for its caller.
#[derive(Debug, PartialEq)]
pub struct Ended {
    /// The list is not the one fetched before (a first list always is).
    pub changed: bool,
    /// A change came meanwhile: fetch again.
    pub again: bool,
}

/// `local` and `remote` members as one list: sorted by name, one entry per person however
/// many tabs and nodes they are on.
pub fn merge(mut users: Vec<User>, remote: Vec<User>) -> Vec<User> {
    users.extend(remote);
    users.sort_by(|a, b| (name_key(&a.name), &a.id).cmp(&(name_key(&b.name), &b.id)));
    users.dedup_by(|a, b| name_key(&a.name) == name_key(&b.name));
    users
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(id: &str, name: &str) -> User {
        User {
            id: id.into(),
            name: name.into(),
        }
    }

    fn remote(id: &str, name: &str) -> Remote {
        Remote {
            id: id.into(),
            name: name.into(),
            key: format!("key-{name}"),
        }
    }

    #[test]
    fn a_fetch_asked_during_a_fetch_runs_once_after_it() {
        let r = Roster::default();
        assert!(!r.known("#a"));
        assert!(r.begin("#a"));
        assert!(!r.begin("#a"), "one runs already");
        assert!(!r.begin("#a"), "asked twice meanwhile: still one more");
        assert!(r.begin("#b"), "channels are fetched independently");
        let ann = || Some(vec![remote("1", "ann")]);
        assert_eq!(
            r.end("#a", ann()),
            Ended {
                changed: true,
                again: true
            },
            "once more"
        );
        assert_eq!(r.remote("#a"), [user("1", "ann")]);
        assert_eq!(
            r.end("#a", None),
            Ended {
                changed: false,
                again: false
            },
            "done; a failed fetch keeps the list"
        );
        assert_eq!(r.remote("#a"), [user("1", "ann")]);
        assert!(r.known("#a"));
        assert!(r.begin("#a"), "idle again");
        assert!(!r.end("#a", ann()).changed, "the same list");
        assert!(r.end("#b", Some(Vec::new())).changed, "a first list");
        assert!(r.known("#b") && r.remote("#b").is_empty());
    }

    #[test]
    fn merged_lists_have_one_entry_per_person() {
        let local = vec![user("3", "Zed"), user("1", "ann")];
        let remote = vec![user("2", "Ann"), user("4", "bob")];
        assert_eq!(
            merge(local, remote),
            [user("1", "ann"), user("4", "bob"), user("3", "Zed")]
        );
    }

    #[test]
    fn sockets_without_a_nickname_are_not_members() {
        let s = |data: Value| RemoteSocket {
            id: "x".into(),
            rooms: Vec::new(),
            handshake: Value::Null,
            data,
        };
        assert_eq!(
            Remote::from_socket(s(socket_data("ann", "k"))),
            Some(Remote {
                id: "x".into(),
                name: "ann".into(),
                key: "k".into()
            })
        );
        assert_eq!(Remote::from_socket(s(Value::Null)), None);
        assert_eq!(
            Remote::from_socket(s(json!({ "name": 3, "key": "k" }))),
            None
        );
    }
}
