//! The last messages of each channel, for those who join later or come back after a
//! reconnection.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use crate::wire::Message;

/// At most `cap` messages per channel; the oldest go first.
#[derive(Debug)]
pub struct History {
    cap: usize,
    rooms: Mutex<HashMap<String, VecDeque<Message>>>,
}

impl History {
    /// Keeps `cap` messages per channel.
    pub fn new(cap: usize) -> Self {
        Self {
            cap,
            rooms: Mutex::default(),
        }
    }

    /// Records `msg` in its channel.
    pub fn push(&self, msg: Message) {
        let mut rooms = self.rooms.lock().unwrap_or_else(|e| e.into_inner());
        let room = rooms.entry(msg.room.clone()).or_default();
        if room.len() == self.cap {
            room.pop_front();
        }
        room.push_back(msg);
    }

    /// The channel's messages, oldest first.
    pub fn recent(&self, room: &str) -> Vec<Message> {
        let rooms = self.rooms.lock().unwrap_or_else(|e| e.into_inner());
        rooms
            .get(room)
            .map(|r| r.iter().cloned().collect())
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::User;

    fn msg(room: &str, n: u64) -> Message {
        Message {
            id: n.to_string(),
            room: room.into(),
            from: User {
                id: "x".into(),
                name: "x".into(),
            },
            text: format!("m{n}"),
            ts: n,
        }
    }

    #[test]
    fn bounded_per_room_oldest_first() {
        let h = History::new(3);
        for n in 0..5 {
            h.push(msg("#a", n));
        }
        h.push(msg("#b", 9));
        let texts: Vec<String> = h.recent("#a").into_iter().map(|m| m.text).collect();
        assert_eq!(texts, ["m2", "m3", "m4"]);
        assert_eq!(h.recent("#b").len(), 1);
        assert!(h.recent("#c").is_empty());
    }
}
