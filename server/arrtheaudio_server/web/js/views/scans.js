// Library scans: start one with every option, the list of scans, and a scan's page with its
// live progress (from /batch/{id}:watch), ETA, paged per-file results, cancel and retry.

import { del, get, post, query, throttle, watch } from "../api.js";
import { fill, h, num, pathText, table } from "../dom.js";
import * as f from "../format.js";
import { badge, jobsTable, pager } from "./common.js";

const LIMIT = 50;

export async function render(main, context) {
  if (context.id) return renderScan(main, context);
  return renderList(main, context);
}

function field(id, label, input) {
  input.id = id;
  return h("label", { for: id }, label, input);
}

function startForm(onStarted) {
  const error = h("p", { class: "error", role: "alert", id: "start-error" });
  const form = h(
    "form",
    {
      class: "grid panel",
      id: "start-scan",
      onsubmit: async (event) => {
        event.preventDefault();
        const data = new FormData(form);
        error.textContent = "";
        const body = {
          path: String(data.get("path") || "").trim(),
          pattern: String(data.get("pattern") || "").trim(),
          recursive: data.get("recursive") === "on",
          dry_run: data.get("dry_run") === "on",
          priority: String(data.get("priority") || "PRIORITY_NORMAL"),
          min_size_mb: Number(data.get("min_size_mb") || 0),
          max_age_days: Number(data.get("max_age_days") || 0),
          exclude_patterns: String(data.get("exclude_patterns") || "")
            .split("\n")
            .map((line) => line.trim())
            .filter(Boolean),
        };
        try {
          const started = await post("/batch", body);
          onStarted(started.batch_id);
        } catch (failure) {
          error.textContent = `The scan was not started: ${failure.message}`;
        }
      },
    },
    field("scan-path", "Folder (absolute, inside a media root)", h("input", { type: "text", name: "path", required: true, placeholder: "/media/tv" })),
    field("scan-pattern", "File name pattern", h("input", { type: "text", name: "pattern", placeholder: "*.mkv (empty: every MKV and MP4)" })),
    field(
      "scan-priority",
      "Priority",
      h("select", { name: "priority" }, h("option", { value: "PRIORITY_NORMAL" }, "normal"), h("option", { value: "PRIORITY_HIGH" }, "high"), h("option", { value: "PRIORITY_LOW" }, "low")),
    ),
    field("scan-min-size", "Minimum size (MiB)", h("input", { type: "number", name: "min_size_mb", min: 0, step: "any", value: "0" })),
    field("scan-max-age", "Modified within (days, 0 = any)", h("input", { type: "number", name: "max_age_days", min: 0, step: "any", value: "0" })),
    field("scan-excludes", "Leave out (one glob per line)", h("textarea", { name: "exclude_patterns", rows: 2, placeholder: "**/extras/**" })),
    h("label", { class: "check", for: "scan-recursive" }, h("input", { type: "checkbox", id: "scan-recursive", name: "recursive", checked: true }), "Include subfolders"),
    h("label", { class: "check", for: "scan-dry-run" }, h("input", { type: "checkbox", id: "scan-dry-run", name: "dry_run" }), "Dry run (report only, change nothing)"),
    h("div", { class: "actions" }, h("button", { type: "submit", class: "primary", id: "start-scan-button" }, "Start scan")),
    error,
  );
  return form;
}

function progressCell(batch) {
  const p = batch.progress || {};
  return `${p.completed ?? 0}/${p.total ?? 0} (${Math.floor(p.percent ?? 0)} %)`;
}

async function renderList(main, { params, signal }) {
  const offset = Math.max(0, Number(params.get("offset")) || 0);
  const list = h("div", { id: "scans-list" }, h("p", { class: "muted" }, "Loading…"));
  main.append(
    h("h1", null, "Library scans"),
    h("h2", null, "Start a scan"),
    startForm((id) => {
      location.hash = `#/scans/${encodeURIComponent(id)}`;
    }),
    h("h2", null, "Scans"),
    list,
  );
  const load = async () => {
    const reply = await get(`/batch${query({ limit: LIMIT, offset })}`, { signal });
    const batches = reply.batches || [];
    const rows = batches.map((batch) =>
      h(
        "tr",
        { dataset: { batchId: batch.batch_id } },
        h("td", null, h("a", { href: `#/scans/${encodeURIComponent(batch.batch_id)}` }, pathText(batch.path))),
        h("td", null, badge(f.batchStatus(batch.status))),
        h("td", { class: "num" }, progressCell(batch)),
        h("td", { class: "num" }, String(batch.results?.track_changes ?? 0)),
        h("td", { class: "num" }, String(batch.progress?.failed ?? 0)),
        h("td", null, batch.dry_run ? "dry run" : ""),
        h("td", null, f.when(batch.created_at)),
      ),
    );
    fill(
      list,
      rows.length ? table(["Folder", "Status", num("Progress"), num("Changed"), num("Failed"), "", "Started"], rows) : h("p", { class: "muted" }, "No scans yet."),
      pager(offset, batches.length, reply.total_size || 0, LIMIT, (o) => {
        location.hash = `#/scans${query({ offset: o })}`;
      }),
    );
  };
  await load();
  const reload = throttle(() => load().catch(() => {}), 500);
  watch("/queue:watch", { signal, onEvent: (event) => event.type !== "EVENT_TYPE_HEARTBEAT" && reload() });
}

async function renderScan(main, { id, params, signal }) {
  const offset = Math.max(0, Number(params.get("offset")) || 0);
  const summary = h("div", { class: "panel", id: "scan-summary" }, h("p", { class: "muted" }, "Loading…"));
  const message = h("p", { role: "status", id: "scan-message" });
  const results = h("div", { id: "scan-results" });
  main.append(h("h1", null, "Scan ", h("code", null, id)), summary, message, h("h2", null, "Files"), results);
  const path = `/batch/${encodeURIComponent(id)}`;

  const act = async (label, run) => {
    message.className = "";
    message.textContent = "";
    try {
      const reply = await run();
      message.textContent =
        reply.cancelled_jobs !== undefined ? `Cancelled ${reply.cancelled_jobs} jobs that had not started.` : `${reply.retried_jobs ?? 0} failed jobs queued again.`;
      follow();
    } catch (error) {
      message.className = "error";
      message.textContent = `${label} failed: ${error.message}`;
    }
  };

  const showBatch = (batch) => {
    const p = batch.progress || {};
    const status = f.batchStatus(batch.status);
    const active = status === "scanning" || status === "running";
    const bar = h("div", null);
    bar.style.width = `${Math.min(100, p.percent || 0)}%`;
    fill(
      summary,
      h(
        "dl",
        { class: "kv" },
        h("dt", null, "Folder"),
        h("dd", null, pathText(batch.path)),
        h("dt", null, "Status"),
        h("dd", { id: "scan-status", dataset: { status } }, badge(status), batch.dry_run ? " dry run" : ""),
        h("dt", null, "Progress"),
        h(
          "dd",
          null,
          h("div", { class: "bar", role: "progressbar", "aria-valuemin": 0, "aria-valuemax": 100, "aria-valuenow": Math.floor(p.percent || 0), id: "scan-progress" }, bar),
          h("span", { id: "scan-percent" }, `${Math.floor(p.percent || 0)} %`),
          ` — ${p.completed ?? 0} of ${p.total ?? 0} files done, ${p.running ?? 0} running, ${p.queued ?? 0} waiting`,
        ),
        h("dt", null, "Time left"),
        h("dd", { id: "scan-eta" }, active ? f.seconds(p.eta_seconds) || "estimating…" : "—"),
        h("dt", null, "Results"),
        h("dd", null, `${batch.results?.track_changes ?? 0} changed, ${batch.results?.skipped ?? 0} skipped, ${p.failed ?? 0} failed, ${p.cancelled ?? 0} cancelled`),
        h("dt", null, "Options"),
        h(
          "dd",
          null,
          [
            batch.pattern ? `pattern ${batch.pattern}` : "every MKV/MP4",
            batch.recursive ? "with subfolders" : "this folder only",
            f.priority(batch.priority) + " priority",
            batch.min_size_mb ? `≥ ${batch.min_size_mb} MiB` : "",
            batch.max_age_days ? `modified within ${batch.max_age_days} days` : "",
            (batch.exclude_patterns || []).length ? `excluding ${batch.exclude_patterns.join(", ")}` : "",
          ]
            .filter(Boolean)
            .join(" · "),
        ),
        batch.error ? [h("dt", null, "Error"), h("dd", { class: "error" }, batch.error)] : null,
      ),
      h(
        "div",
        { class: "actions" },
        active ? h("button", { type: "button", class: "danger", id: "cancel-scan", onclick: () => act("Cancel", () => del(path)) }, "Cancel scan") : null,
        (p.failed ?? 0) > 0 ? h("button", { type: "button", id: "retry-scan", onclick: () => act("Retry", () => post(`${path}:retry`)) }, "Retry failed files") : null,
        (p.failed ?? 0) > 0 ? h("a", { href: `#/jobs${query({ batch_id: id, status: "JOB_STATUS_FAILED" })}`, id: "scan-failed-jobs" }, "Its failed jobs") : null,
      ),
    );
  };

  const loadPage = async () => {
    const reply = await get(`${path}${query({ limit: LIMIT, offset })}`, { signal });
    fill(
      results,
      jobsTable(reply.jobs || [], { empty: "No files found (yet)." }),
      pager(offset, (reply.jobs || []).length, reply.total_jobs || 0, LIMIT, (o) => {
        location.hash = `#/scans/${encodeURIComponent(id)}${query({ offset: o })}`;
      }),
    );
  };
  const reloadPage = throttle(() => loadPage().catch(() => {}), 300);

  let current = null;
  const follow = () => {
    if (current) current.abort();
    current = new AbortController();
    signal.addEventListener("abort", () => current.abort());
    watch(`${path}:watch`, {
      signal: current.signal,
      onEvent(event) {
        if (event.batch && event.batch.batch_id) showBatch(event.batch);
        if (event.type !== "EVENT_TYPE_HEARTBEAT") reloadPage();
      },
      onError(error) {
        fill(summary, h("p", { class: "error", role: "alert" }, error.status === 5 ? `No scan ${id}.` : error.message));
      },
    });
  };
  follow();
}
