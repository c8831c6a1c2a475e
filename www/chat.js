// The chat page, on any socket.io-client-compatible `io` (the wasm client or the npm one).
// Server events are described in server/examples/chat/wire.rs.
import { h, fill, timeOf, avatar } from "./dom.js";

const NAME_KEY = "sio-chat-name";
// This browser's secret: the server lets whoever holds a nickname use it from more tabs and
// reconnections, and refuses it to others.
const KEY_KEY = "sio-chat-key";
const TYPING_EVERY_MS = 2_000; // a "typing" refresh at most this often
const TYPING_IDLE_MS = 3_000; // "stopped typing" after this long without a keystroke
const TYPING_SHOWN_MS = 5_000; // others' indicator fades if no refresh comes
const GROUP_MS = 5 * 60_000; // consecutive messages of one author within this share a header
const SEND_TIMEOUT_MS = 10_000; // a send unanswered this long is sent again (the server keeps it once)
// What a page keeps, however long it stays open: messages shown per conversation (the oldest
// go, "Load older messages" brings them back) and message ids remembered against doubles.
const MAX_SHOWN = 300;
const KEEP_SHOWN = 250;
const MAX_SEEN = 5_000;
const TITLE = document.title;

/** The calendar day of `ts` in the reader's time zone. */
const dayOf = (ts) => new Date(ts).toDateString();
/** "Today", "Yesterday", or the date. */
function dayLabel(ts) {
  const now = Date.now();
  if (dayOf(ts) === dayOf(now)) return "Today";
  if (dayOf(ts) === dayOf(now - 86_400_000)) return "Yesterday";
  const d = new Date(ts);
  const year = d.getFullYear() === new Date(now).getFullYear() ? undefined : "numeric";
  return d.toLocaleDateString([], { weekday: "long", month: "long", day: "numeric", year });
}

/** A page's id for a message it sends, the same on every retry. */
const newCid = () => [...crypto.getRandomValues(new Uint8Array(12))].map((b) => b.toString(16).padStart(2, "0")).join("");

/** Replaces the page with an error (the client could not load). */
export function showFatal(text) {
  fill(document.getElementById("app"), h("div", { class: "fatal", role: "alert" }, text));
}

/** Starts the chat with `io` (socket.io-client's `io`); `client`: {name, other: {href, label}}. */
export function startChat(io, client) {
  const chat = new Chat(io, client);
  chat.start();
  return chat;
}

/** One conversation: a channel ("#general") or a direct one ("@<socket id>"). */
class Conv {
  constructor(key, title, peer = null) {
    this.key = key;
    this.title = title;
    this.peer = peer; // {name} of the other person, for direct messages
    this.list = h("ol", { class: "messages", "aria-label": `Messages in ${title}`, hidden: true });
    this.unread = 0;
    this.typers = new Map(); // socket id → {name, timer}
    this.last = null; // {author, ts} of the last message, for grouping
    this.lastDay = null; // the day of the last message, for day separators
    this.shown = 0; // messages in the list
    this.oldest = null; // id of the first message shown: where "load older" goes back from
    this.older = null; // the "load older" row, while the server has older messages
  }

  get isRoom() {
    return this.peer === null;
  }
}

class Chat {
  constructor(io, client) {
    this.io = io;
    this.client = client;
    this.socket = null;
    this.name = localStorage.getItem(NAME_KEY) || "";
    this.me = null; // {id, name} once the server accepted us
    this.key = localStorage.getItem(KEY_KEY) || newCid();
    localStorage.setItem(KEY_KEY, this.key);
    this.channels = [];
    this.joined = new Set();
    this.counts = {};
    this.members = new Map(); // channel → [{id, name}]
    this.convs = new Map();
    this.active = null;
    this.limits = { message: 500, name: 24 };
    this.seen = new Set(); // message ids already shown
    this.outbox = new Map(); // cid → how to settle an own message still waiting for its answer
    this.state = "idle"; // idle (no nickname yet), connecting, connected, reconnecting, offline
    this.attempt = 0;
    this.typing = { room: null, sentAt: 0, idle: null };
    this.drawer = null; // on small screens: "side" (channels) or "people" when one is open
  }

  start() {
    this.build();
    if (this.name) this.connect(this.name);
    else this.showLogin();
    addEventListener("online", () => this.renderStatus());
    addEventListener("offline", () => this.renderStatus());
    // Leaving the page says goodbye at once, so the others see "left" now rather than when
    // the server's heartbeat gives up; a page restored from the back/forward cache comes back.
    addEventListener("pagehide", () => this.socket?.disconnect());
    addEventListener("pageshow", (e) => e.persisted && this.socket?.connect());
    addEventListener("keydown", (e) => e.key === "Escape" && this.openDrawer(null));
    // Back on the page: what arrived in the open conversation meanwhile is read.
    document.addEventListener("visibilitychange", () => {
      const conv = this.convs.get(this.active);
      if (!document.hidden && conv?.unread) {
        conv.unread = 0;
        this.renderAll();
      }
    });
  }

  /** Opens the channels ("side") or members ("people") drawer of small screens, or none. */
  openDrawer(which) {
    this.drawer = which;
    this.el.chat.classList.toggle("show-side", which === "side");
    this.el.chat.classList.toggle("show-people", which === "people");
    this.el.sideBtn.setAttribute("aria-expanded", String(which === "side"));
    this.el.peopleBtn.setAttribute("aria-expanded", String(which === "people"));
  }

  // ------------------------------------------------------------------ connection

  connect(name) {
    this.name = name;
    if (!this.socket) {
      // A function: re-read at every (re)connection, so the server puts this page back in
      // the channels it was in.
      const auth = (cb) => cb({ name: this.name, key: this.key, rooms: this.me ? [...this.joined] : undefined });
      this.socket = this.io({ auth });
      this.listen(this.socket);
    } else {
      this.socket.disconnect();
      this.socket.connect();
    }
    this.setState("connecting");
  }

  listen(s) {
    s.on("connect", () => {
      this.attempt = 0;
      this.setState("connected");
    });
    s.on("connect_error", (err) => {
      // An active socket is retried by its manager; an inactive one was refused.
      if (s.active) return;
      this.setState("offline");
      this.showLogin(err.message);
    });
    s.on("disconnect", () => {
      this.setState(s.active ? "reconnecting" : "offline");
      for (const conv of this.convs.values()) this.clearTypers(conv);
    });
    s.io.on("reconnect_attempt", (n) => {
      this.attempt = n;
      this.setState("reconnecting");
    });
    s.io.on("reconnect_failed", () => this.setState("offline"));
    s.io.on("open", () => s.io.engine?.on?.("upgrade", () => this.renderStatus()));
    s.on("session", (x) => this.onSession(x));
    s.on("message", (m) => this.onMessage(m));
    s.on("dm", (m) => this.onDm(m));
    s.on("notice", (n) => this.onNotice(n));
    s.on("presence", (p) => this.onPresence(p));
    s.on("counts", (c) => {
      this.counts = c;
      this.renderChannels();
    });
    s.on("typing", (t) => this.onTyping(t));
    s.on("chat-error", (e) => this.flash(e.message));
  }

  setState(state) {
    this.state = state;
    this.renderStatus();
    this.renderHead();
    this.renderPending();
  }

  // ------------------------------------------------------------------ server events

  onSession(x) {
    this.me = { id: x.id, name: x.name };
    this.name = x.name;
    localStorage.setItem(NAME_KEY, x.name);
    this.channels = x.channels;
    this.limits = x.limits;
    this.counts = x.counts;
    this.joined = new Set(x.joined.map((r) => r.room));
    for (const room of this.channels) this.conv(room);
    for (const st of x.joined) this.applyRoom(st);
    for (const name of x.dms) this.dmConv({ name });
    // Direct messages sent meanwhile: the threads already read get their news.
    for (const conv of this.convs.values()) if (!conv.isRoom && conv.loaded) this.loadPage(conv, null);
    this.hideLogin();
    this.el.input.maxLength = this.limits.message;
    const current = this.convs.get(this.active);
    if (!current || (current.isRoom && !this.joined.has(current.key))) {
      this.show(x.joined[0]?.room ?? this.channels[0]);
    } else {
      this.show(this.active);
    }
    this.renderMe();
  }

  applyRoom(st) {
    const conv = this.conv(st.room);
    this.members.set(st.room, st.users);
    for (const m of st.history) this.addMessage(conv, m);
    this.setOlder(conv, st.more);
  }

  /** Shows or removes the "load older" row at the top of a channel. */
  setOlder(conv, more) {
    if (!more || !conv.oldest) {
      conv.older?.remove();
      conv.older = null;
      return;
    }
    if (!conv.older) {
      const button = h("button", { type: "button", class: "older", onclick: () => this.loadOlder(conv) }, "Load older messages");
      conv.older = h("li", { class: "older-row" }, button);
    }
    conv.list.prepend(conv.older);
  }

  /** "Load older messages": the page before the first message shown. */
  loadOlder(conv) {
    const button = conv.older?.querySelector("button");
    if (!button || button.disabled || !this.socket?.connected) return;
    button.disabled = true;
    fill(button, "Loading…");
    this.loadPage(conv, conv.oldest, () => {
      button.disabled = false;
      fill(button, "Load older messages");
    });
  }

  /** A page of history (`before` a message id; null: the last page): what is older than
   *  what is shown goes above it, the view kept still; what is newer (sent while this page
   *  was away) after it. */
  loadPage(conv, before, done) {
    conv.loaded = true;
    const room = conv.isRoom ? conv.key : `@${conv.peer.name}`;
    this.socket.timeout(10_000).emit("history", { room, before: before ?? undefined }, (err, res) => {
      done?.();
      if (err || !res?.ok) {
        this.flash(res?.error ?? "Older messages could not be loaded: try again");
        return;
      }
      const fresh = res.messages.filter((m) => !this.seen.has(m.id));
      const first = conv.firstTs ?? Infinity;
      // Grouped among themselves; the last message's grouping is the newest's business.
      const last = conv.last;
      conv.last = null;
      const items = fresh
        .filter((m) => m.ts < first)
        .map((m) => {
          this.remember(m.id);
          const li = this.messageItem(conv, m.from.name, m.text, m.ts, this.isMe(m.from));
          li.mid = m.id;
          return li;
        });
      conv.shown += items.length;
      conv.last = last;
      const box = this.el.lists;
      const height = box.scrollHeight;
      if (conv.older) conv.older.after(...items);
      else conv.list.prepend(...items);
      if (items.length) {
        conv.oldest = res.messages[0].id;
        conv.firstTs = res.messages[0].ts;
        this.relabelDays(conv);
      }
      if (conv.key === this.active) box.scrollTop += box.scrollHeight - height;
      for (const m of fresh) if (m.ts >= first) this.addMessage(conv, { ...m, room: conv.key });
      conv.oldest ??= res.messages[0]?.id;
      if (before !== null || !conv.older) this.setOlder(conv, res.more);
    });
  }

  /** Whether `user` is the person of this page (any of their tabs). */
  isMe(user) {
    return Boolean(this.me) && user.name.toLowerCase() === this.me.name.toLowerCase();
  }

  onMessage(m) {
    const conv = this.conv(m.room);
    this.dropTyper(conv, m.from.id);
    this.addMessage(conv, m);
  }

  onDm(dm) {
    const conv = this.dmConv(this.isMe(dm.from) ? dm.to : dm.from);
    this.addMessage(conv, { ...dm, room: conv.key });
  }

  onNotice(n) {
    const mine = this.isMe(n.user);
    // Our own join is announced before the join's ack makes the channel ours.
    if (!this.joined.has(n.room) && !(mine && n.kind === "join")) return;
    const conv = this.conv(n.room);
    const who = mine ? "You" : n.user.name;
    const what = n.kind === "join" ? "joined" : "left";
    if (n.kind === "leave") this.dropTyper(conv, n.user.id);
    this.append(conv, h("li", { class: "notice" }, h("span", {}, `${who} ${what} ${n.room}`), h("time", {}, timeOf(n.ts))));
    conv.last = null;
  }

  onPresence(p) {
    this.members.set(p.room, p.users);
    if (this.active === p.room) {
      this.renderMembers();
      this.renderHead();
    }
  }

  onTyping(t) {
    const conv = this.convs.get(t.room);
    if (!conv || this.isMe(t.from)) return;
    this.dropTyper(conv, t.from.id);
    if (t.typing) {
      const timer = setTimeout(() => this.dropTyper(conv, t.from.id), TYPING_SHOWN_MS);
      conv.typers.set(t.from.id, { name: t.from.name, timer });
      this.renderTyping();
    }
  }

  // ------------------------------------------------------------------ conversations

  conv(room) {
    let conv = this.convs.get(room);
    if (!conv) {
      conv = new Conv(room, room);
      this.convs.set(room, conv);
      this.el.lists.append(conv.list);
    }
    return conv;
  }

  dmConv(peer) {
    const key = `@${peer.name.toLowerCase()}`;
    let conv = this.convs.get(key);
    if (!conv) {
      conv = new Conv(key, `@${peer.name}`, { name: peer.name });
      this.convs.set(key, conv);
      this.el.lists.append(conv.list);
      this.renderDms();
    }
    return conv;
  }

  addMessage(conv, m) {
    if (this.seen.has(m.id)) return;
    // An own message whose answer was lost, in the history the server sent again: that is
    // its answer.
    const own = m.cid && this.outbox.get(m.cid);
    if (own) return own({ ok: true, id: m.id, ts: m.ts });
    this.remember(m.id);
    conv.oldest ??= m.id;
    conv.firstTs ??= m.ts;
    const mine = this.isMe(m.from);
    const li = this.messageItem(conv, m.from.name, m.text, m.ts, mine);
    li.mid = m.id;
    this.append(conv, li);
    // Unread: elsewhere than the open conversation, or while the page is not looked at.
    if (!mine && (conv.key !== this.active || document.hidden)) {
      conv.unread += 1;
      conv.isRoom ? this.renderChannels() : this.renderDms();
      this.renderTitle();
    }
  }

  /** Remembers a message id against doubles; the oldest are forgotten past MAX_SEEN (a
   *  history replay only brings recent ones). */
  remember(id) {
    this.seen.add(id);
    if (this.seen.size <= MAX_SEEN) return;
    for (const old of this.seen) {
      this.seen.delete(old);
      if (this.seen.size <= MAX_SEEN - 500) break;
    }
  }

  /** "(3) sio chat": the unread messages of every conversation, in the tab's title. */
  renderTitle() {
    let n = 0;
    for (const c of this.convs.values()) n += c.unread;
    document.title = n ? `(${n}) ${TITLE}` : TITLE;
  }

  /** The day separators of a conversation, laid again (after older messages came in). */
  relabelDays(conv) {
    for (const d of conv.list.querySelectorAll("li.day")) d.remove();
    let day = null;
    for (const li of conv.list.querySelectorAll("li.msg")) {
      if (dayOf(li.ts) !== day) li.before(this.dayItem(li.ts));
      day = dayOf(li.ts);
    }
    conv.lastDay = day;
  }

  dayItem(ts) {
    return h("li", { class: "day", role: "separator" }, h("span", {}, dayLabel(ts)));
  }

  /** Past MAX_SHOWN messages, the oldest leave the page (down to KEEP_SHOWN); "Load older
   *  messages" brings them back. */
  trim(conv) {
    if (conv.shown <= MAX_SHOWN) return;
    const box = this.el.lists;
    const height = box.scrollHeight;
    const msgs = [...conv.list.querySelectorAll("li.msg")];
    const keep = msgs[msgs.length - KEEP_SHOWN];
    // Everything before the first message kept goes (messages, notices, separators), but
    // the "load older" row.
    for (let node = conv.list.firstChild; node && node !== keep; ) {
      const next = node.nextSibling;
      if (node !== conv.older) node.remove();
      // (Forgotten, so that "load older" can show it again.)
      if (node.mid) this.seen.delete(node.mid);
      node = next;
    }
    conv.shown = KEEP_SHOWN;
    conv.oldest = keep.mid ?? conv.oldest;
    conv.firstTs = keep.ts;
    this.relabelDays(conv);
    this.setOlder(conv, true);
    if (conv.key === this.active) box.scrollTop -= height - box.scrollHeight;
  }

  messageItem(conv, author, text, ts, mine) {
    const grouped = conv.last && conv.last.author === author && ts - conv.last.ts < GROUP_MS && dayOf(ts) === dayOf(conv.last.ts);
    conv.last = { author, ts };
    const time = h("time", {}, timeOf(ts));
    const li = h(
      "li",
      { class: `msg${mine ? " mine" : ""}${grouped ? " grouped" : ""}` },
      avatar(author),
      h(
        "div",
        { class: "body" },
        h("div", { class: "meta" }, h("span", { class: "author" }, author), time),
        h("div", { class: "line" }, h("p", { class: "text" }, text)),
      ),
    );
    li.time = time;
    li.ts = ts;
    return li;
  }

  append(conv, li) {
    const box = this.el.lists;
    const atBottom = box.scrollHeight - box.scrollTop - box.clientHeight < 40;
    if (li.ts !== undefined) {
      if (dayOf(li.ts) !== conv.lastDay) conv.list.append(this.dayItem(li.ts));
      conv.lastDay = dayOf(li.ts);
      conv.shown += 1;
    }
    conv.list.append(li);
    if (conv.key === this.active && atBottom) box.scrollTop = box.scrollHeight;
    this.trim(conv);
  }

  show(key) {
    const conv = this.convs.get(key);
    if (!conv) return;
    if (this.active !== key) this.stopTyping();
    this.active = key;
    conv.unread = 0;
    this.openDrawer(null);
    this.renderTitle();
    for (const c of this.convs.values()) c.list.hidden = c !== conv;
    this.el.lists.scrollTop = this.el.lists.scrollHeight;
    // A direct-message thread shows its history the first time it is opened.
    if (!conv.isRoom && !conv.loaded && this.socket?.connected) this.loadPage(conv, null);
    this.renderAll();
  }

  // ------------------------------------------------------------------ sending

  send(event) {
    event.preventDefault();
    const conv = this.convs.get(this.active);
    const text = this.el.input.value.trim();
    if (!conv || !text || !this.canWrite(conv)) return;
    if (text.length > this.limits.message) {
      this.flash(`Messages are at most ${this.limits.message} characters`);
      return;
    }
    this.el.input.value = "";
    this.stopTyping();
    this.renderCounter();

    const li = this.messageItem(conv, this.me.name, text, Date.now(), true);
    const status = h("span", { class: "status" });
    li.querySelector(".line").append(status);
    li.pending = status;
    this.append(conv, li);
    this.renderPending(li);
    // While offline the client keeps the emit and sends it on reconnection; the ack then
    // turns "queued" into "sent".
    let cid;
    const settle = (res) => {
      if (!li.pending) return;
      li.pending = null;
      this.outbox.delete(cid);
      if (res?.ok) {
        this.remember(res.id);
        li.mid = res.id;
        conv.oldest ??= res.id;
        conv.firstTs ??= res.ts;
        li.time.textContent = timeOf(res.ts);
        fill(status, "✓ sent");
        status.className = "status sent";
      } else {
        fill(status, `not sent: ${res?.error ?? "no answer"}`);
        status.className = "status failed";
        li.classList.add("failed");
      }
    };
    // Nothing lost, nothing doubled: an answer that does not come (the link died after the
    // server got it, say) sends the message again, with the same `cid`, which the server
    // stores and delivers once; and the history a reconnection brings settles it too.
    cid = newCid();
    this.outbox.set(cid, settle);
    const [name, payload] = conv.isRoom ? ["message", { room: conv.key, text, cid }] : ["dm", { to: conv.peer.name, text, cid }];
    const attempt = () => {
      if (!li.pending) return;
      this.socket.timeout(SEND_TIMEOUT_MS).emit(name, payload, (err, res) => {
        if (!err) return settle(res);
        if (this.socket.connected) attempt();
        else this.socket.once("connect", attempt);
      });
    };
    attempt();
  }

  /** Own messages still waiting for the server's ack say whether they wait for the network. */
  renderPending(only) {
    const items = only ? [only] : [...this.el.lists.querySelectorAll("li.mine")];
    for (const li of items) {
      if (!li.pending) continue;
      const queued = this.state !== "connected";
      fill(li.pending, queued ? "queued: sends when back online" : "sending…");
      li.pending.className = `status ${queued ? "queued" : "sending"}`;
    }
  }

  onInput() {
    this.renderCounter();
    const conv = this.convs.get(this.active);
    if (!conv?.isRoom || !this.socket?.connected) return;
    if (!this.el.input.value.trim()) return this.stopTyping();
    const now = Date.now();
    if (this.typing.room !== conv.key || now - this.typing.sentAt > TYPING_EVERY_MS) {
      // Volatile: a notification lost while offline would only be stale when it arrived.
      this.socket.volatile.emit("typing", { room: conv.key, typing: true });
      this.typing.room = conv.key;
      this.typing.sentAt = now;
    }
    clearTimeout(this.typing.idle);
    this.typing.idle = setTimeout(() => this.stopTyping(), TYPING_IDLE_MS);
  }

  stopTyping() {
    clearTimeout(this.typing.idle);
    if (this.typing.room && this.socket?.connected) {
      this.socket.volatile.emit("typing", { room: this.typing.room, typing: false });
    }
    this.typing.room = null;
    this.typing.sentAt = 0;
  }

  dropTyper(conv, id) {
    const t = conv.typers.get(id);
    if (!t) return;
    clearTimeout(t.timer);
    conv.typers.delete(id);
    if (conv.key === this.active) this.renderTyping();
  }

  clearTypers(conv) {
    for (const id of [...conv.typers.keys()]) this.dropTyper(conv, id);
  }

  join(room) {
    this.socket.emit("join", room, (res) => {
      if (!res?.ok) return this.flash(res?.error ?? "Could not join");
      this.joined.add(room);
      this.applyRoom(res.state);
      this.show(room);
    });
  }

  leave(room) {
    this.socket.emit("leave", room, (res) => {
      if (!res?.ok) return this.flash(res?.error ?? "Could not leave");
      this.joined.delete(room);
      this.members.delete(room);
      this.clearTypers(this.conv(room));
      if (this.active === room && this.joined.size) this.show([...this.joined][0]);
      else this.renderAll();
    });
  }

  canWrite(conv) {
    return Boolean(this.me) && (!conv.isRoom || this.joined.has(conv.key));
  }

  flash(text) {
    fill(this.el.flash, text);
    this.el.flash.hidden = false;
    clearTimeout(this.flashTimer);
    this.flashTimer = setTimeout(() => (this.el.flash.hidden = true), 6_000);
  }

  // ------------------------------------------------------------------ the page

  build() {
    const el = (this.el = {});
    el.status = h("div", { class: "conn", role: "status", "aria-live": "polite" });
    el.me = h("div", { class: "me" });
    el.channels = h("ul", { class: "channel-list", "aria-label": "Channels" });
    el.dms = h("ul", { class: "dm-list", "aria-label": "Direct messages" });
    el.title = h("h1", { class: "conv-title" });
    el.sub = h("span", { class: "conv-sub" });
    el.headAction = h("div", { class: "conv-action" });
    el.lists = h("div", { class: "scroller" });
    el.typing = h("div", { class: "typing", "aria-live": "polite" });
    el.flash = h("div", { class: "flash", role: "alert", hidden: true });
    el.input = h("input", {
      class: "compose-input",
      type: "text",
      autocomplete: "off",
      maxlength: this.limits.message,
      "aria-label": "Message",
      oninput: () => this.onInput(),
      onblur: () => this.stopTyping(),
    });
    el.counter = h("span", { class: "counter", "aria-live": "off" });
    el.sendBtn = h("button", { type: "submit", class: "send" }, "Send");
    el.composer = h("form", { class: "composer", onsubmit: (e) => this.send(e) }, el.input, el.counter, el.sendBtn);
    el.membersTitle = h("h2", {});
    el.members = h("ul", { class: "member-list", "aria-label": "Members" });
    el.login = this.buildLogin();
    // Small screens: the channels and the members are drawers over the conversation.
    const drawerBtn = (which, label, cls) =>
      h("button", { type: "button", class: `drawer-btn ${cls}`, "aria-expanded": "false", onclick: () => this.openDrawer(this.drawer === which ? null : which) }, label);
    el.sideBtn = drawerBtn("side", "☰", "side-btn");
    el.sideBtn.setAttribute("aria-label", "Channels");
    el.peopleBtn = drawerBtn("people", "People", "people-btn");

    const other = this.client.other;
    el.chat = h(
      "div",
      { class: "chat" },
      h(
        "header",
        { class: "top" },
        el.sideBtn,
        h("div", { class: "brand" }, h("span", { class: "logo" }, "sio"), h("span", {}, "chat"), h("span", { class: "client" }, this.client.name)),
        el.status,
        el.peopleBtn,
        el.me,
      ),
      h(
        "nav",
        { class: "side" },
        h("h2", {}, "Channels"),
        el.channels,
        h("h2", {}, "Direct messages"),
        el.dms,
        h("a", { class: "other-client", href: other.href }, `${other.label} →`),
      ),
      h(
        "main",
        { class: "room" },
        h("header", { class: "conv-head" }, h("div", {}, el.title, el.sub), el.headAction),
        el.lists,
        el.typing,
        el.flash,
        el.composer,
      ),
      h("aside", { class: "people" }, el.membersTitle, el.members),
      // Closes an open drawer.
      h("div", { class: "backdrop", onclick: () => this.openDrawer(null) }),
    );
    fill(document.getElementById("app"), el.chat, el.login);
    this.renderAll();
  }

  buildLogin() {
    const input = h("input", {
      id: "nick",
      type: "text",
      autocomplete: "nickname",
      "aria-label": "Nickname",
      placeholder: "e.g. ferris",
    });
    const error = h("p", { class: "login-error", role: "alert" });
    const cancel = h("button", { type: "button", class: "secondary", onclick: () => this.hideLogin() }, "Cancel");
    const form = h(
      "form",
      {
        class: "card",
        onsubmit: (e) => {
          e.preventDefault();
          fill(error);
          const name = input.value.trim();
          if (name === this.me?.name && this.socket?.connected) this.hideLogin();
          else this.connect(name);
        },
      },
      h("h2", {}, "Welcome to sio chat"),
      h("p", { class: "lede" }, "A Socket.IO chat served by a Rust server. Pick a nickname to join #general."),
      h("label", { for: "nick" }, "Nickname"),
      input,
      error,
      h("div", { class: "actions" }, cancel, h("button", { type: "submit" }, "Join the chat")),
    );
    const overlay = h("div", { class: "overlay", hidden: true }, form);
    Object.assign(overlay, { input, error, cancel });
    return overlay;
  }

  showLogin(error = "") {
    const l = this.el.login;
    l.input.value = this.name;
    fill(l.error, error);
    l.cancel.hidden = !this.me || !this.socket?.connected;
    l.hidden = false;
    l.input.focus();
    l.input.select();
  }

  hideLogin() {
    this.el.login.hidden = true;
  }

  renderAll() {
    this.renderStatus();
    this.renderMe();
    this.renderChannels();
    this.renderDms();
    this.renderHead();
    this.renderMembers();
    this.renderTyping();
    this.renderComposer();
  }

  renderStatus() {
    let text;
    let cls = this.state;
    if (this.state === "connected") {
      const transport = this.socket?.io?.engine?.transport?.name;
      text = transport ? h("span", {}, "connected", h("span", { class: "via" }, ` · ${transport}`)) : "connected";
    } else if (this.state === "reconnecting") {
      text = this.attempt ? `reconnecting (attempt ${this.attempt})` : "reconnecting…";
    } else if (this.state === "connecting") {
      text = "connecting…";
    } else if (this.state === "idle") {
      text = "not connected";
    } else {
      text = "offline";
      cls = "offline";
    }
    if (!navigator.onLine && this.state !== "connected") {
      text = "offline";
      cls = "offline";
    }
    fill(this.el.status, h("span", { class: "dot", "aria-hidden": "true" }), text);
    this.el.status.className = `conn ${cls}`;
  }

  renderMe() {
    if (!this.me) return fill(this.el.me);
    this.el.me.title = `You are ${this.me.name}`;
    fill(
      this.el.me,
      avatar(this.me.name),
      h("span", { class: "me-name" }, this.me.name),
      h("button", { type: "button", class: "link", onclick: () => this.showLogin() }, "change"),
    );
  }

  renderChannels() {
    fill(
      this.el.channels,
      this.channels.map((room) => {
        const conv = this.conv(room);
        const joined = this.joined.has(room);
        const count = this.counts[room] ?? 0;
        return h(
          "li",
          { class: `channel${room === this.active ? " active" : ""}${joined ? " joined" : ""}` },
          h(
            "button",
            {
              type: "button",
              class: "open",
              title: joined ? `Open ${room}` : `Join ${room}`,
              onclick: () => (joined ? this.show(room) : this.join(room)),
            },
            h("span", { class: "name" }, room),
            conv.unread ? h("span", { class: "unread", "aria-label": `${conv.unread} unread` }, conv.unread) : null,
            h("span", { class: "count", title: `${count} online` }, count),
          ),
          h(
            "button",
            {
              type: "button",
              class: "toggle",
              "aria-label": `${joined ? "Leave" : "Join"} ${room}`,
              onclick: () => (joined ? this.leave(room) : this.join(room)),
            },
            joined ? "leave" : "join",
          ),
        );
      }),
    );
  }

  renderDms() {
    const dms = [...this.convs.values()].filter((c) => !c.isRoom);
    fill(
      this.el.dms,
      dms.length
        ? dms.map((c) =>
            h(
              "li",
              { class: `channel dm${c.key === this.active ? " active" : ""}` },
              h(
                "button",
                { type: "button", class: "open", onclick: () => this.show(c.key) },
                h("span", { class: "name" }, c.title),
                c.unread ? h("span", { class: "unread", "aria-label": `${c.unread} unread` }, c.unread) : null,
              ),
            ),
          )
        : h("li", { class: "hint" }, "Pick someone in the member list to message them privately."),
    );
  }

  renderHead() {
    const conv = this.convs.get(this.active);
    if (!conv) {
      fill(this.el.title, this.state === "connecting" ? "Connecting…" : "");
      fill(this.el.sub);
      fill(this.el.headAction);
      return;
    }
    fill(this.el.title, conv.title);
    if (!conv.isRoom) {
      fill(this.el.sub, "private conversation: nobody else sees it");
      fill(this.el.headAction);
    } else if (this.joined.has(conv.key)) {
      const n = this.members.get(conv.key)?.length ?? 0;
      fill(this.el.sub, `${n} online`);
      fill(this.el.headAction);
    } else {
      fill(this.el.sub, "you are not in this channel");
      fill(this.el.headAction, h("button", { type: "button", onclick: () => this.join(conv.key) }, `Join ${conv.key}`));
    }
  }

  renderMembers() {
    const conv = this.convs.get(this.active);
    if (!conv || !conv.isRoom || !this.joined.has(conv.key)) {
      fill(this.el.membersTitle, conv && !conv.isRoom ? "Direct message" : "Members");
      const hint = conv && !conv.isRoom ? `Only you and ${conv.peer.name} see these messages.` : null;
      fill(this.el.members, hint && h("li", { class: "hint" }, hint));
      return;
    }
    const users = this.members.get(conv.key) ?? [];
    fill(this.el.membersTitle, `Online in ${conv.key} — ${users.length}`);
    fill(
      this.el.members,
      users.map((u) => {
        const me = this.isMe(u);
        return h(
          "li",
          { class: `member${me ? " me" : ""}` },
          avatar(u.name),
          h("span", { class: "name" }, u.name),
          me
            ? h("span", { class: "you" }, "you")
            : h(
                "button",
                {
                  type: "button",
                  class: "dm-btn",
                  "aria-label": `Message ${u.name}`,
                  title: `Message ${u.name} privately`,
                  onclick: () => this.show(this.dmConv(u).key),
                },
                "message",
              ),
        );
      }),
    );
  }

  renderTyping() {
    const conv = this.convs.get(this.active);
    const names = conv ? [...conv.typers.values()].map((t) => t.name) : [];
    const text =
      names.length === 0
        ? ""
        : names.length === 1
          ? `${names[0]} is typing…`
          : names.length === 2
            ? `${names[0]} and ${names[1]} are typing…`
            : "Several people are typing…";
    fill(this.el.typing, text);
  }

  renderComposer() {
    const conv = this.convs.get(this.active);
    const ok = conv && this.canWrite(conv);
    this.el.input.disabled = !ok;
    this.el.sendBtn.disabled = !ok;
    this.el.input.placeholder = !conv ? "" : ok ? `Message ${conv.title}` : `Join ${conv.key} to write here`;
    this.renderCounter();
    if (ok && this.el.login.hidden) this.el.input.focus();
  }

  renderCounter() {
    const n = this.el.input.value.length;
    const max = this.limits.message;
    fill(this.el.counter, n > max * 0.8 ? `${n}/${max}` : "");
    this.el.counter.classList.toggle("full", n >= max);
  }
}
