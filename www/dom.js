// DOM helpers. Everything a user typed reaches the page through text nodes, attribute values
// or CSS custom properties, never through HTML parsing.

/** An element: `h("li", { class: "x", onclick: fn }, "text", child…)`. */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value == null || value === false) continue;
    if (key.startsWith("on")) {
      if (typeof value !== "function") throw new TypeError(`${key} must be a function`);
      el.addEventListener(key.slice(2), value);
    } else if (key === "class") {
      el.className = value;
    } else {
      el.setAttribute(key, value === true ? "" : String(value));
    }
  }
  el.append(...children.flat().filter((c) => c != null && c !== false).map((c) => (c instanceof Node ? c : String(c))));
  return el;
}

/** Replaces the children of `el`. */
export function fill(el, ...children) {
  el.replaceChildren(...children.flat().filter((c) => c != null && c !== false));
  return el;
}

/** "14:05" in the reader's locale. */
export function timeOf(ts) {
  return new Date(ts).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
}

/** A stable hue for a name, so each author keeps a colour. */
export function hueOf(name) {
  let x = 0x811c9dc5; // FNV-1a: similar names still get distant hues
  for (const c of name) x = Math.imul(x ^ c.codePointAt(0), 0x01000193) >>> 0;
  return x % 360;
}

/** A round badge with the first letter of `name`. */
export function avatar(name) {
  const el = h("span", { class: "avatar", "aria-hidden": "true" }, [...name][0]?.toUpperCase() ?? "?");
  el.style.setProperty("--hue", hueOf(name));
  return el;
}
