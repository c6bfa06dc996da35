// The dashboard's shell: sign-in, navigation by the URL's #fragment, one view at a time.
// Each view gets an AbortSignal that ends its streams when the user moves on.

import { ApiError, auth, events, get } from "./api.js";
import { fill, h } from "./dom.js";
import * as jobs from "./views/jobs.js";
import * as overview from "./views/overview.js";
import * as scans from "./views/scans.js";
import * as stats from "./views/stats.js";
import * as webhooks from "./views/webhooks.js";

const main = document.getElementById("main");
const nav = document.getElementById("nav");
const banner = document.getElementById("connection");
let current = null; // AbortController of the view on screen

// "#/jobs/ID?x=1" -> {page: "jobs", id: "ID", params: URLSearchParams}
function route() {
  const hash = location.hash.replace(/^#\/?/, "");
  const [path, search] = hash.split("?");
  const [page, ...rest] = path.split("/").filter(Boolean);
  return { page: page || "overview", id: rest.map(decodeURIComponent).join("/"), params: new URLSearchParams(search || "") };
}

const VIEWS = {
  overview: overview.render,
  scans: scans.render,
  jobs: jobs.render,
  webhooks: webhooks.render,
  stats: stats.render,
};

function show() {
  if (current) current.abort();
  current = new AbortController();
  if (!auth.key) {
    signIn();
    return;
  }
  nav.hidden = false;
  const { page, id, params } = route();
  for (const link of nav.querySelectorAll("a")) {
    if (link.dataset.page === page) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  const view = VIEWS[page];
  if (!view) {
    fill(main, h("h1", null, "Not found"), h("p", null, "There is no such page. ", h("a", { href: "#/" }, "Back to the overview")));
    return;
  }
  fill(main);
  view(main, { id, params, signal: current.signal }).catch((error) => {
    if (error.name === "AbortError" || current.signal.aborted) return;
    main.append(h("p", { class: "error", role: "alert" }, errorText(error)));
  });
}

export function errorText(error) {
  if (error instanceof ApiError) return error.status ? `${error.message} (${error.status})` : error.message;
  return String(error.message || error);
}

function signIn(message = "") {
  nav.hidden = true;
  const input = h("input", { type: "password", id: "api-key", name: "api-key", autocomplete: "current-password", required: true });
  const status = h("p", { id: "sign-in-error", class: "error", role: "alert" }, message);
  const button = h("button", { type: "submit", class: "primary" }, "Sign in");
  const form = h(
    "form",
    {
      class: "panel signin",
      onsubmit: async (event) => {
        event.preventDefault();
        button.disabled = true;
        status.textContent = "";
        const key = input.value.trim();
        try {
          await get("/queue?next_limit=1", { key });
          auth.set(key);
          show();
        } catch (error) {
          status.textContent =
            error instanceof ApiError && error.status === 401
              ? "The server refused this API key. Check config/api_key on the server."
              : `Cannot sign in: ${errorText(error)}`;
          input.focus();
        } finally {
          button.disabled = false;
        }
      },
    },
    h("h1", null, "Sign in"),
    h("p", { class: "muted" }, "Enter the API key (the server printed it at first start; it is in config/api_key). It is kept in this tab only."),
    h("label", { for: "api-key" }, "API key", input),
    h("div", { class: "actions" }, button),
    status,
  );
  fill(main, form);
  input.focus();
}

events.addEventListener("unauthenticated", () => {
  if (!auth.key) return;
  auth.clear();
  if (current) current.abort();
  signIn("The server refused the API key; sign in again.");
});

events.addEventListener("connection", (event) => {
  banner.hidden = event.detail.up;
  banner.textContent = event.detail.up ? "" : "Connection to the server lost — reconnecting…";
});

document.getElementById("sign-out").addEventListener("click", () => {
  auth.clear();
  show();
});

window.addEventListener("hashchange", show);
show();
