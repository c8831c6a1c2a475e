// The real admin UI (the built UI of npm @socket.io/admin-ui 0.5.1) for browser tests: served
// from its own origin, opened in Chromium without its CDN fonts and icons, logged in through
// its connection dialog, screenshotted to tests/artifacts/admin-ui-*.png.
import { mkdir } from "node:fs/promises";
import path from "node:path";
import { TESTS_DIR } from "./harness.mjs";
import { serveDir, pageWithErrors } from "./browser.mjs";

const UI_DIR = path.join(TESTS_DIR, "node_modules", "@socket.io", "admin-ui", "ui", "dist");
const ARTIFACTS = path.join(TESTS_DIR, "artifacts");

/** Serves the UI's files on 127.0.0.1 (free port): `{ url, close }`. */
export async function serveUi() {
  await mkdir(ARTIFACTS, { recursive: true });
  return serveDir(UI_DIR);
}

/** The UI in a new page of `browser`. */
export async function openUi(browser, uiUrl) {
  const page = await pageWithErrors(browser);
  await page.route(/fonts\.googleapis\.com|cdn\.jsdelivr\.net/, (route) => route.abort());
  await page.goto(`${uiUrl}/index.html`);
  return page;
}

/** Fills the connection dialog and submits it. */
export async function logIn(page, serverUrl, password = "admin-secret") {
  await page.getByLabel("Server URL").fill(serverUrl);
  await page.getByLabel("Username").fill("admin");
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Connect" }).click();
}

/** Goes to one of the UI's views (its router is in the URL's hash). */
export async function show(page, uiUrl, route) {
  await page.goto(`${uiUrl}/index.html#${route}`);
}

/** A screenshot once the page's transitions have ended. */
export async function shot(page, name) {
  // A cancelled animation rejects its promise: that ends it too.
  await page.evaluate(() => Promise.all(document.getAnimations().map((a) => a.finished.catch(() => {}))));
  await page.screenshot({ path: path.join(ARTIFACTS, `admin-ui-${name}.png`), fullPage: true });
}
