//! The channels' history, in SQLite (one file, `chat.sqlite3` under `DATA_DIR`): it outlives
//! the server, pages go back through it ("load older"), and every chat process of one machine
//! can open the same file. A channel keeps its last `keep` messages; older ones are deleted
//! as new ones come.
//!
//! Writes happen in the event handler, under one lock: an insert into a WAL-mode database
//! takes microseconds, and doing it before the broadcast keeps the stored order the order
//! members saw.

use std::path::Path;
use std::sync::{Mutex, MutexGuard};

use rusqlite::{Connection, OptionalExtension, params};

use crate::wire::{Message, User};

/// How far past `keep` a channel may grow before it is trimmed back (one delete per this
/// many inserts into it, not one per insert).
const SLACK: i64 = 64;

/// What can go wrong with the database.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The data directory could not be made.
    #[error("cannot create the data directory {0}: {1}")]
    Dir(String, std::io::Error),
    /// SQLite refused.
    #[error("history database: {0}")]
    Sqlite(#[from] rusqlite::Error),
}

/// Some messages of a channel, oldest first, and whether older ones exist.
#[derive(Debug, Default, PartialEq)]
pub struct Page {
    /// Oldest first.
    pub messages: Vec<Message>,
    /// Whether the channel has messages before the first of these.
    pub more: bool,
}

/// What [`Store::push`] did with a message.
#[derive(Debug, PartialEq)]
pub enum Pushed {
    /// Stored.
    New,
    /// A message with its `cid` was stored already (a page's retry): its id and time.
    Again { id: String, ts: u64 },
}

/// The history of every channel.
pub struct Store {
    db: Mutex<Connection>,
    /// Messages per page (what a join shows, what "load older" adds).
    page: usize,
    /// Messages kept per channel.
    keep: usize,
}

impl Store {
    /// Opens (or creates) `dir/chat.sqlite3`.
    pub fn open(dir: &Path, page: usize, keep: usize) -> Result<Store, StoreError> {
        std::fs::create_dir_all(dir).map_err(|e| StoreError::Dir(dir.display().to_string(), e))?;
        let db = Connection::open(dir.join("chat.sqlite3"))?;
        // WAL: readers do not wait for the writer, and another process may share the file;
        // NORMAL sync is durable across a process crash, which is what a demo needs.
        db.pragma_update(None, "journal_mode", "WAL")?;
        db.pragma_update(None, "synchronous", "NORMAL")?;
        db.busy_timeout(std::time::Duration::from_secs(5))?;
        Self::with(db, page, keep)
    }

    /// A store in memory, gone with the process (tests).
    #[cfg(test)]
    pub fn in_memory(page: usize, keep: usize) -> Result<Store, StoreError> {
        Self::with(Connection::open_in_memory()?, page, keep)
    }

    fn with(db: Connection, page: usize, keep: usize) -> Result<Store, StoreError> {
        db.execute_batch(
            "CREATE TABLE IF NOT EXISTS messages (
                 seq INTEGER PRIMARY KEY,
                 id TEXT NOT NULL UNIQUE,
                 room TEXT NOT NULL,
                 from_id TEXT NOT NULL,
                 from_name TEXT NOT NULL,
                 text TEXT NOT NULL,
                 ts INTEGER NOT NULL,
                 cid TEXT
             );
             CREATE INDEX IF NOT EXISTS messages_by_room ON messages (room, seq);
             CREATE UNIQUE INDEX IF NOT EXISTS messages_by_cid ON messages (cid);
             -- Messages per room since its last trim, counted with each insert.
             CREATE TABLE IF NOT EXISTS room_sizes (room TEXT PRIMARY KEY, n INTEGER NOT NULL);
             -- Who has direct messages with whom: `me` and `peer` are the nicknames' keys
             -- (`dm_room`), `peer_name` the peer's name as last written.
             CREATE TABLE IF NOT EXISTS threads (
                 me TEXT NOT NULL,
                 peer TEXT NOT NULL,
                 peer_name TEXT NOT NULL,
                 last INTEGER NOT NULL,
                 PRIMARY KEY (me, peer)
             );",
        )?;
        Ok(Store {
            db: Mutex::new(db),
            page: page.max(1),
            keep: keep.max(page).max(1),
        })
    }

    fn db(&self) -> MutexGuard<'_, Connection> {
        self.db.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Records `msg` at the end of its channel, unless a message with its `cid` is there
    /// already (in whichever process stored it: the unique index decides).
    pub fn push(&self, msg: &Message) -> Result<Pushed, StoreError> {
        let db = self.db();
        let stored = db
            .prepare_cached(
                "INSERT INTO messages (id, room, from_id, from_name, text, ts, cid)
                 VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (cid) DO NOTHING",
            )?
            .execute(params![
                msg.id,
                msg.room,
                msg.from.id,
                msg.from.name,
                msg.text,
                i64::try_from(msg.ts).unwrap_or(i64::MAX),
                msg.cid,
            ])?;
        if stored == 0 {
            let (id, ts): (String, i64) = db
                .prepare_cached("SELECT id, ts FROM messages WHERE cid = ?")?
                .query_row([&msg.cid], |r| Ok((r.get(0)?, r.get(1)?)))?;
            let ts = u64::try_from(ts).unwrap_or_default();
            return Ok(Pushed::Again { id, ts });
        }
        let n: i64 = db
            .prepare_cached(
                "INSERT INTO room_sizes (room, n) VALUES (?, 1)
                 ON CONFLICT (room) DO UPDATE SET n = n + 1 RETURNING n",
            )?
            .query_row([&msg.room], |r| r.get(0))?;
        if n > i64::try_from(self.keep)
            .unwrap_or(i64::MAX)
            .saturating_add(SLACK)
        {
            self.trim(&db, &msg.room)?;
        }
        Ok(Pushed::New)
    }

    /// Notes that `a` and `b` (display names) have a direct-message thread, active now.
    pub fn touch_thread(&self, a: &str, b: &str, ts: u64) -> Result<(), StoreError> {
        let db = self.db();
        let mut stmt = db.prepare_cached(
            "INSERT INTO threads (me, peer, peer_name, last) VALUES (?, ?, ?, ?)
             ON CONFLICT (me, peer) DO UPDATE SET peer_name = excluded.peer_name, last = excluded.last",
        )?;
        let ts = i64::try_from(ts).unwrap_or(i64::MAX);
        stmt.execute(params![name_key(a), name_key(b), b, ts])?;
        stmt.execute(params![name_key(b), name_key(a), a, ts])?;
        Ok(())
    }

    /// The people `name` has direct messages with, most recent first (at most `limit`).
    pub fn threads(&self, name: &str, limit: usize) -> Result<Vec<String>, StoreError> {
        let db = self.db();
        let mut stmt = db.prepare_cached(
            "SELECT peer_name FROM threads WHERE me = ? ORDER BY last DESC LIMIT ?",
        )?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = stmt.query_map(params![name_key(name), limit], |r| r.get(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Deletes what `room` has past its last `keep` messages.
    fn trim(&self, db: &Connection, room: &str) -> Result<(), StoreError> {
        let keep = i64::try_from(self.keep).unwrap_or(i64::MAX);
        db.prepare_cached(
            "DELETE FROM messages WHERE room = ?1 AND seq <= (
                 SELECT seq FROM messages WHERE room = ?1 ORDER BY seq DESC LIMIT 1 OFFSET ?2)",
        )?
        .execute(params![room, keep])?;
        db.prepare_cached("UPDATE room_sizes SET n = ?2 WHERE room = ?1")?
            .execute(params![room, keep])?;
        Ok(())
    }

    /// The last page of `room`.
    pub fn recent(&self, room: &str) -> Result<Page, StoreError> {
        self.page_before(&self.db(), room, i64::MAX)
    }

    /// The page of `room` just before the message `id`; empty when `id` is not one of its
    /// messages (any more).
    pub fn before(&self, room: &str, id: &str) -> Result<Page, StoreError> {
        // One lock for both reads: no trim between them.
        let db = self.db();
        let seq: Option<i64> = db
            .prepare_cached("SELECT seq FROM messages WHERE id = ? AND room = ?")?
            .query_row(params![id, room], |r| r.get(0))
            .optional()?;
        match seq {
            Some(seq) => self.page_before(&db, room, seq),
            None => Ok(Page::default()),
        }
    }

    fn page_before(&self, db: &Connection, room: &str, seq: i64) -> Result<Page, StoreError> {
        let mut stmt = db.prepare_cached(
            "SELECT id, room, from_id, from_name, text, ts, cid FROM messages
             WHERE room = ? AND seq < ? ORDER BY seq DESC LIMIT ?",
        )?;
        // One more than a page says whether there is more.
        let limit = i64::try_from(self.page + 1).unwrap_or(i64::MAX);
        let mut messages = stmt
            .query_map(params![room, seq, limit], |r| {
                Ok(Message {
                    id: r.get(0)?,
                    room: r.get(1)?,
                    from: User {
                        id: r.get(2)?,
                        name: r.get(3)?,
                    },
                    text: r.get(4)?,
                    ts: u64::try_from(r.get::<_, i64>(5)?).unwrap_or_default(),
                    cid: r.get(6)?,
                })
            })?
            .collect::<Result<Vec<_>, _>>()?;
        let more = messages.len() > self.page;
        messages.truncate(self.page);
        messages.reverse();
        Ok(Page { messages, more })
    }
}

/// A nickname as the chat compares them: two that differ in case are one person.
pub fn name_key(name: &str) -> String {
    name.to_lowercase()
}

/// The history "room" of the direct messages between `a` and `b`, whichever writes.
pub fn dm_room(a: &str, b: &str) -> String {
    let (a, b) = (name_key(a), name_key(b));
    let (x, y) = if a <= b { (a, b) } else { (b, a) };
    // A newline cannot be in a nickname (`validate::nickname` makes one line).
    format!("dm:{x}\n{y}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn direct_threads_by_person() {
        assert_eq!(dm_room("Bob", "alice"), dm_room("Alice", "bob"));
        assert_ne!(dm_room("alice", "bob"), dm_room("alice", "carol"));
        let s = Store::in_memory(10, 100).unwrap();
        s.touch_thread("Alice", "Bob", 1).unwrap();
        s.touch_thread("alice", "Carol", 2).unwrap();
        s.touch_thread("ALICE", "bob", 3).unwrap();
        assert_eq!(s.threads("alice", 10).unwrap(), ["bob", "Carol"]);
        assert_eq!(s.threads("Carol", 10).unwrap(), ["alice"]);
        assert!(s.threads("dave", 10).unwrap().is_empty());
    }

    fn msg(room: &str, n: u64) -> Message {
        Message {
            id: format!("m{n}"),
            room: room.into(),
            from: User {
                id: "x".into(),
                name: "x".into(),
            },
            text: format!("text {n}"),
            ts: n,
            cid: None,
        }
    }

    fn texts(p: &Page) -> Vec<&str> {
        p.messages.iter().map(|m| m.text.as_str()).collect()
    }

    #[test]
    fn pages_go_back_oldest_first() {
        let s = Store::in_memory(2, 100).unwrap();
        for n in 0..5 {
            s.push(&msg("#a", n)).unwrap();
        }
        s.push(&msg("#b", 9)).unwrap();
        let last = s.recent("#a").unwrap();
        assert_eq!((texts(&last), last.more), (vec!["text 3", "text 4"], true));
        let older = s.before("#a", "m3").unwrap();
        assert_eq!(
            (texts(&older), older.more),
            (vec!["text 1", "text 2"], true)
        );
        let first = s.before("#a", "m1").unwrap();
        assert_eq!((texts(&first), first.more), (vec!["text 0"], false));
        assert_eq!(s.before("#a", "m0").unwrap(), Page::default());
        // Another channel's message, or one that does not exist: nothing.
        assert_eq!(s.before("#a", "m9").unwrap(), Page::default());
        assert_eq!(s.before("#a", "nope").unwrap(), Page::default());
        assert_eq!(texts(&s.recent("#b").unwrap()), ["text 9"]);
        assert_eq!(s.recent("#c").unwrap(), Page::default());
    }

    #[test]
    fn a_message_id_is_stored_once() {
        let s = Store::in_memory(10, 100).unwrap();
        let first = Message {
            cid: Some("cid-0001".into()),
            ..msg("#a", 1)
        };
        assert_eq!(s.push(&first).unwrap(), Pushed::New);
        // A retry: a new server id and time, the page's same cid.
        let again = Message {
            id: "other".into(),
            ts: 7,
            ..first.clone()
        };
        let earlier = Pushed::Again {
            id: "m1".into(),
            ts: 1,
        };
        assert_eq!(s.push(&again).unwrap(), earlier);
        assert_eq!(s.push(&msg("#a", 2)).unwrap(), Pushed::New);
        assert_eq!(s.push(&msg("#a", 3)).unwrap(), Pushed::New);
        let page = s.recent("#a").unwrap();
        assert_eq!(texts(&page), ["text 1", "text 2", "text 3"]);
        assert_eq!(page.messages[0].cid.as_deref(), Some("cid-0001"));
    }

    #[test]
    fn every_channel_keeps_its_last_messages() {
        let s = Store::in_memory(10, 10).unwrap();
        let size = |room: &str| -> i64 {
            let db = s.db();
            db.query_row(
                "SELECT COUNT(*) FROM messages WHERE room = ?",
                [room],
                |r| r.get(0),
            )
            .unwrap()
        };
        // Two channels in turn: each is trimmed on its own count.
        for n in 0..500 {
            s.push(&msg(if n % 2 == 0 { "#a" } else { "#b" }, n))
                .unwrap();
            assert!(
                size("#a") <= 10 + SLACK && size("#b") <= 10 + SLACK,
                "at {n}"
            );
        }
        assert!(size("#a") >= 10 && size("#b") >= 10);
        // The last ones are the ones kept.
        let last = s.recent("#a").unwrap();
        assert_eq!(last.messages.last().unwrap().text, "text 498");
    }

    #[test]
    fn the_file_outlives_the_store() {
        let dir = std::env::temp_dir().join(format!("sio-chat-store-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        Store::open(&dir, 5, 100)
            .unwrap()
            .push(&msg("#a", 1))
            .unwrap();
        let again = Store::open(&dir, 5, 100).unwrap();
        assert_eq!(texts(&again.recent("#a").unwrap()), ["text 1"]);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
