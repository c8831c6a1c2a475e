//! A front-end written in Rust with sio-client's Rust API and plain `web-sys` DOM: a form
//! that sends a note, the notes the server sends back, and the ack of each send.
//!
//! Built by `wasm-pack build --target web` and loaded by `index.html`, which passes the
//! server's URL as `?server=`. `tests/browser/rust-frontend.test.mjs` runs it in Chromium
//! against the contract server (`emit-as` sends a note back, `echo` acks it).

use serde::{Deserialize, Serialize};
use serde_bytes::ByteBuf;
use sio_client::{ArgsError, Options, Socket, io};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use web_sys::{Document, Event, HtmlFormElement, HtmlInputElement};

/// What the page sends and shows: a text, and its UTF-8 bytes as binary (an attachment on
/// the wire, which JSON text could not carry).
#[derive(Serialize, Deserialize)]
struct Note {
    text: String,
    bytes: ByteBuf,
}

/// Builds the page and connects; runs when the module is instantiated.
#[wasm_bindgen(start)]
pub fn start() -> Result<(), JsValue> {
    let window = web_sys::window().ok_or("no window")?;
    let document = window.document().ok_or("no document")?;
    let search = web_sys::UrlSearchParams::new_with_str(&window.location().search()?)?;
    let server = search.get("server").unwrap_or(window.location().origin()?);

    let body = document.body().ok_or("no body")?;
    body.set_inner_html(
        r#"<p id="status">connecting…</p>
<form id="send"><input id="text" autocomplete="off"><button>Send</button></form>
<ul id="log"></ul>"#,
    );
    let socket = io(&server, Options::default()).ok_or("not a URL")?;

    // (A listener that captured `socket` would make a cycle through its manager: listeners
    // get what they need from their arguments or from the page.)
    let d = document.clone();
    socket.on("connect", move |_| set_text(&d, "status", "connected"));
    let d = document.clone();
    socket.on("disconnect", move |_| {
        set_text(&d, "status", "disconnected")
    });
    let d = document.clone();
    socket.on_serde("note", move |args: Result<(Note,), ArgsError>| match args {
        Ok((note,)) => log(
            &d,
            &format!("note: {} ({} bytes)", note.text, note.bytes.len()),
        ),
        Err(e) => log(&d, &format!("a note that does not fit: {e}")),
    });

    let form: HtmlFormElement = element(&document, "send")?;
    let (d, s) = (document.clone(), socket);
    // The form owns its handler, and the handler the socket: both live as long as the page.
    let on_submit = Closure::<dyn FnMut(Event)>::new(move |ev: Event| {
        ev.prevent_default();
        if let Ok(input) = element::<HtmlInputElement>(&d, "text") {
            send(&d, &s, &input.value());
            input.set_value("");
        }
    })
    .into_js_value();
    form.set_onsubmit(Some(on_submit.unchecked_ref()));
    Ok(())
}

/// Sends `text` as a note to ourselves (`emit-as`), and once more with an ack (`echo`).
fn send(document: &Document, socket: &Socket, text: &str) {
    let note = || Note {
        text: text.to_owned(),
        bytes: ByteBuf::from(text.as_bytes()),
    };
    if let Err(e) = socket.emit_serde("emit-as", &("note", note())) {
        log(document, &format!("not sent: {e}"));
    }
    let (d, ack) = (
        document.clone(),
        socket
            .timeout(5000.0)
            .emit_with_ack_serde("echo", &(note(),)),
    );
    wasm_bindgen_futures::spawn_local(async move {
        match ack.await {
            Ok((note,)) => {
                let note: Note = note;
                log(&d, &format!("ack: {}", note.text));
            }
            Err(e) => log(&d, &format!("no ack: {e}")),
        }
    });
}

fn element<T: JsCast>(document: &Document, id: &str) -> Result<T, JsValue> {
    document
        .get_element_by_id(id)
        .and_then(|e| e.dyn_into::<T>().ok())
        .ok_or_else(|| JsValue::from_str(id))
}

fn set_text(document: &Document, id: &str, text: &str) {
    if let Some(e) = document.get_element_by_id(id) {
        e.set_text_content(Some(text));
    }
}

/// Appends a line to the log.
fn log(document: &Document, line: &str) {
    let (Some(list), Ok(item)) = (
        document.get_element_by_id("log"),
        document.create_element("li"),
    ) else {
        return;
    };
    item.set_text_content(Some(line));
    let _ = list.append_child(&item);
}
