// Webhook deliveries: the recent ones with how far their jobs got, and one delivery's jobs.

import { get, query, throttle, watch } from "../api.js";
import { fill, h, num, table } from "../dom.js";
import * as f from "../format.js";
import { jobsTable, pager } from "./common.js";

const LIMIT = 50;

export async function render(main, context) {
  if (context.id) return renderOne(main, context);
  return renderList(main, context);
}

async function renderList(main, { params, signal }) {
  const offset = Math.max(0, Number(params.get("offset")) || 0);
  const list = h("div", { id: "webhooks-list" }, h("p", { class: "muted" }, "Loading…"));
  main.append(h("h1", null, "Webhook deliveries"), list);
  const load = async () => {
    const reply = await get(`/webhook${query({ limit: LIMIT, offset })}`, { signal });
    const hooks = reply.webhooks || [];
    const rows = hooks.map((hook) => {
      const c = hook.counts || {};
      return h(
        "tr",
        { dataset: { webhookId: hook.webhook_id } },
        h("td", null, h("a", { href: `#/webhooks/${encodeURIComponent(hook.webhook_id)}` }, f.when(hook.created_at) || hook.webhook_id)),
        h("td", null, f.source(hook.source)),
        h("td", null, hook.event_type || ""),
        h("td", null, h("span", { dir: "auto" }, hook.title || "")),
        h("td", { class: "num" }, `${(c.completed ?? 0) + (c.failed ?? 0) + (c.cancelled ?? 0)}/${c.total ?? 0}`),
        h("td", { class: "num" }, String(hook.results?.track_changes ?? 0)),
        h("td", { class: "num" }, String(c.failed ?? 0)),
      );
    });
    fill(
      list,
      rows.length ? table(["Received", "Source", "Event", "Title", num("Done"), num("Changed"), num("Failed")], rows) : h("p", { class: "muted" }, "No deliveries yet."),
      pager(offset, hooks.length, reply.total_size || 0, LIMIT, (o) => {
        location.hash = `#/webhooks${query({ offset: o })}`;
      }),
    );
  };
  await load();
  const reload = throttle(() => load().catch(() => {}), 500);
  // Any change (and the SNAPSHOT after every (re)connect: a change may have come before it).
  watch("/queue:watch", { signal, onEvent: (event) => event.type !== "EVENT_TYPE_HEARTBEAT" && reload() });
}

async function renderOne(main, { id, signal }) {
  const summary = h("div", { class: "panel" }, h("p", { class: "muted" }, "Loading…"));
  const jobs = h("div", { id: "webhook-jobs" });
  main.append(h("h1", null, "Delivery ", h("code", null, id)), summary, h("h2", null, "Jobs"), jobs);
  const path = `/webhook/${encodeURIComponent(id)}`;
  const load = async () => {
    const reply = await get(path, { signal });
    const hook = reply.webhook || {};
    fill(
      summary,
      h(
        "dl",
        { class: "kv" },
        h("dt", null, "Source"),
        h("dd", null, f.source(hook.source)),
        h("dt", null, "Event"),
        h("dd", null, hook.event_type || ""),
        h("dt", null, "Title"),
        h("dd", null, h("span", { dir: "auto" }, hook.title || "")),
        h("dt", null, "Original language"),
        h("dd", null, hook.original_language || "—"),
        h("dt", null, "Received"),
        h("dd", null, f.when(hook.created_at)),
      ),
      h("p", null, h("a", { href: `#/jobs${query({ webhook_id: id })}` }, "These jobs in the jobs list")),
    );
    fill(jobs, jobsTable(reply.jobs || []));
  };
  await load();
  const reload = throttle(() => load().catch(() => {}), 300);
  watch(`${path}:watch`, { signal, onEvent: (event) => event.type !== "EVENT_TYPE_HEARTBEAT" && reload() });
}
