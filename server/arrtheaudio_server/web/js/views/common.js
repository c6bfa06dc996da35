// Pieces several pages share: status badges, the jobs table, a pager, counters.

import { h, num, pathText, table } from "../dom.js";
import * as f from "../format.js";

export function badge(name) {
  const label = name || "—";
  return h("span", { class: `badge s-${label}` }, label.replaceAll("_", " "));
}

export function jobLink(job, text) {
  return h("a", { href: `#/jobs/${encodeURIComponent(job.job_id)}` }, text ?? job.job_id);
}

export function fileName(path) {
  const cut = (path || "").lastIndexOf("/");
  return cut >= 0 ? path.slice(cut + 1) : path || "";
}

export function jobOutcome(job) {
  const name = f.unspecified(f.result(job.result));
  return name ? badge(name) : "";
}

/** Jobs as a table: file (linking to the job), status, result, reason, container, attempts, time. */
export function jobsTable(jobs, { empty = "No jobs." } = {}) {
  if (!jobs.length) return h("p", { class: "muted" }, empty);
  const rows = jobs.map((job) =>
    h(
      "tr",
      { dataset: { jobId: job.job_id } },
      h("td", null, jobLink(job, pathText(fileName(job.file_path))), h("div", { class: "muted" }, pathText(job.file_path, "small"))),
      h("td", null, badge(f.jobStatus(job.status))),
      h("td", null, jobOutcome(job)),
      h("td", null, job.reason_code || ""),
      h("td", null, f.unspecified(f.container(job.container))),
      h("td", { class: "num" }, String(job.attempts ?? 0)),
      h("td", { class: "num" }, job.completed_at ? f.duration(job.duration_ms) : ""),
    ),
  );
  return table(["File", "Status", "Result", "Reason", "Container", num("Attempts"), num("Duration")], rows, { class: "jobs" });
}

/** "1–50 of 120" with previous/next buttons; ``go(offset)`` is called on a click. */
export function pager(offset, count, total, limit, go) {
  const prev = h("button", { type: "button", disabled: offset <= 0, onclick: () => go(Math.max(0, offset - limit)) }, "← Previous");
  const next = h("button", { type: "button", disabled: offset + count >= total, onclick: () => go(offset + limit) }, "Next →");
  const shown = total ? `${offset + 1}–${offset + count} of ${total}` : "0 of 0";
  return h("div", { class: "pager" }, prev, h("span", { class: "muted" }, shown), next);
}

export function card(label, value, attrs = {}) {
  return h("div", { class: "card", ...attrs }, h("div", { class: "n" }, String(value ?? 0)), h("div", { class: "l" }, label));
}

export function countCards(counts, workers) {
  const c = counts || {};
  return h(
    "div",
    { class: "cards", id: "queue-counts" },
    card("queued", c.queued, { dataset: { count: "queued" } }),
    card("running", c.running, { dataset: { count: "running" } }),
    card("waiting for space", c.waiting_for_space, { dataset: { count: "waiting_for_space" } }),
    card("completed", c.completed, { dataset: { count: "completed" } }),
    card("failed", c.failed, { dataset: { count: "failed" } }),
    card("cancelled", c.cancelled, { dataset: { count: "cancelled" } }),
    workers ? card(`workers busy of ${workers.total ?? 0}`, workers.active, { dataset: { count: "workers" } }) : null,
  );
}

/** A <select> of an enum's values with an "any" first option. */
export function enumSelect(name, label, values, current) {
  const select = h(
    "select",
    { name, id: `f-${name}` },
    h("option", { value: "" }, "any"),
    values.map(([value, text]) => h("option", { value, selected: value === current ? true : null }, text)),
  );
  return h("label", { for: `f-${name}` }, label, select);
}
