// The JSON API on the same origin (Envoy's transcoder), with the API key as a header.
// The key lives in sessionStorage (gone when the tab closes) and never goes into a URL.

const KEY = "arrtheaudio.apiKey";

export const auth = {
  get key() {
    return sessionStorage.getItem(KEY) || "";
  },
  set(key) {
    sessionStorage.setItem(KEY, key);
  },
  clear() {
    sessionStorage.removeItem(KEY);
  },
};

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

/** Listeners for "the server said the key is wrong" and "the connection is up/down". */
export const events = new EventTarget();

function headers(key, json) {
  const out = { "X-Api-Key": key ?? auth.key, Accept: "application/json" };
  if (json) out["Content-Type"] = "application/json";
  return out;
}

async function failure(response) {
  let message = `${response.status} ${response.statusText}`;
  try {
    const body = await response.json();
    if (body && body.message) message = body.message;
  } catch {
    // not JSON (a proxy page): the status line says enough
  }
  if (response.status === 401) events.dispatchEvent(new Event("unauthenticated"));
  return new ApiError(response.status, message);
}

/** One call: GET/POST/DELETE ``path`` (with a JSON body for POST); resolves to the parsed answer. */
export async function call(method, path, body, { key, signal } = {}) {
  let response;
  try {
    response = await fetch(path, {
      method,
      headers: headers(key, body !== undefined),
      body: body === undefined ? undefined : JSON.stringify(body),
      signal,
      cache: "no-store",
    });
  } catch (error) {
    if (error.name === "AbortError") throw error;
    throw new ApiError(0, "the server cannot be reached");
  }
  if (!response.ok) throw await failure(response);
  return response.json();
}

export const get = (path, options) => call("GET", path, undefined, options);
export const post = (path, body = {}, options) => call("POST", path, body, options);
export const del = (path, options) => call("DELETE", path, undefined, options);

/** Query string from an object, leaving out empty values. */
export function query(params) {
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) {
    if (value !== "" && value !== null && value !== undefined && value !== 0) search.set(name, value);
  }
  const text = search.toString();
  return text ? `?${text}` : "";
}

const UNAVAILABLE = 14;
let down = 0; // watchers currently waiting to reconnect

function connection(delta) {
  down = Math.max(0, down + delta);
  events.dispatchEvent(new CustomEvent("connection", { detail: { up: down === 0 } }));
}

/**
 * Follow a ``:watch`` stream (newline-delimited JSON) with fetch + ReadableStream: EventSource
 * cannot send the key as a header. ``onEvent`` gets every event (SNAPSHOT first, after every
 * reconnect too, so the view re-reads its state). The stream reconnects with backoff when the
 * server goes away (restart, Envoy's 503, a cut connection, an in-band UNAVAILABLE) and stops
 * after a final event, a real error (``onError``) or ``signal`` aborting.
 */
export function watch(path, { onEvent, onError, signal }) {
  let delay = 250;
  let waiting = false;

  const setWaiting = (value) => {
    if (value === waiting) return;
    waiting = value;
    connection(value ? 1 : -1);
  };
  signal.addEventListener("abort", () => setWaiting(false));

  const sleep = (ms) =>
    new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      signal.addEventListener("abort", () => {
        clearTimeout(timer);
        resolve();
      });
    });

  async function once() {
    const response = await fetch(path, { headers: headers(), signal, cache: "no-store" });
    if (!response.ok) {
      const error = await failure(response);
      // 502/503/504: Envoy cannot reach the server (restarting): try again.
      if (response.status >= 502 && response.status <= 504) return "retry";
      throw error;
    }
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return "retry"; // closed without a final event: the server went away
      buffer += decoder.decode(value, { stream: true });
      let newline;
      while ((newline = buffer.indexOf("\n")) >= 0) {
        const line = buffer.slice(0, newline).trim();
        buffer = buffer.slice(newline + 1);
        if (!line) continue;
        const event = JSON.parse(line);
        if (event.error && event.error.code) {
          if (event.error.code === UNAVAILABLE) return "retry";
          throw new ApiError(event.error.code, event.error.message);
        }
        setWaiting(false);
        delay = 250;
        onEvent(event);
        if (event.final) return "done";
      }
    }
  }

  (async () => {
    while (!signal.aborted) {
      let outcome;
      try {
        outcome = await once();
      } catch (error) {
        if (signal.aborted) return;
        if (error instanceof ApiError) {
          setWaiting(false);
          if (onError) onError(error);
          return;
        }
        outcome = "retry"; // network error: connection refused or reset
      }
      if (outcome === "done" || signal.aborted) return;
      setWaiting(true);
      await sleep(delay);
      delay = Math.min(delay * 2, 5000);
    }
  })();
}

/**
 * Call (async) ``fn`` at most once per ``ms`` however often ``kick`` is called, one run at a
 * time, and always once more after the last kick: list views re-read their page when the queue
 * stream says something changed, and a slow answer can never overwrite a newer one.
 */
export function throttle(fn, ms) {
  let timer = null;
  let running = false;
  let again = false;
  let last = 0;
  const run = async () => {
    timer = null;
    running = true;
    again = false;
    last = Date.now();
    try {
      await fn();
    } finally {
      running = false;
      if (again) kick();
    }
  };
  const kick = () => {
    if (running) {
      again = true;
      return;
    }
    if (!timer) timer = setTimeout(run, Math.max(0, last + ms - Date.now()));
  };
  return kick;
}
