// Jobs: a filterable, paged list (filters live in the URL: #/jobs?status=...&offset=50) and a
// job's own page with its tracks, the chosen one and why, and cancel / retry.

import { del, get, post, query, throttle, watch } from "../api.js";
import { fill, h, num, pathText, table } from "../dom.js";
import * as f from "../format.js";
import { badge, enumSelect, jobsTable, pager } from "./common.js";

const LIMIT = 50;
const STATUSES = ["QUEUED", "RUNNING", "WAITING_FOR_SPACE", "COMPLETED", "FAILED", "CANCELLED"].map((s) => [`JOB_STATUS_${s}`, s.toLowerCase().replaceAll("_", " ")]);
const SOURCES = ["SONARR", "RADARR", "MANUAL"].map((s) => [`SOURCE_${s}`, s.toLowerCase()]);
const CONTAINERS = ["MKV", "MP4"].map((s) => [`CONTAINER_${s}`, s.toLowerCase()]);
const FILTERS = ["status", "source", "container", "batch_id", "webhook_id"];

export async function render(main, context) {
  if (context.id) return renderJob(main, context);
  return renderList(main, context);
}

async function renderList(main, { params, signal }) {
  const filters = Object.fromEntries(FILTERS.map((name) => [name, params.get(name) || ""]));
  const offset = Math.max(0, Number(params.get("offset")) || 0);
  const go = (changes) => {
    const next = { ...filters, offset: 0, ...changes };
    location.hash = `#/jobs${query(next)}`;
  };
  const form = h(
    "form",
    {
      class: "grid panel",
      id: "job-filters",
      onsubmit: (event) => {
        event.preventDefault();
        const data = new FormData(event.target);
        go(Object.fromEntries(FILTERS.map((name) => [name, String(data.get(name) || "").trim()])));
      },
    },
    enumSelect("status", "Status", STATUSES, filters.status),
    enumSelect("source", "Source", SOURCES, filters.source),
    enumSelect("container", "Container", CONTAINERS, filters.container),
    h("label", { for: "f-batch" }, "Batch", h("input", { type: "text", id: "f-batch", name: "batch_id", value: filters.batch_id })),
    h("label", { for: "f-webhook" }, "Webhook", h("input", { type: "text", id: "f-webhook", name: "webhook_id", value: filters.webhook_id })),
    h("div", { class: "actions" }, h("button", { type: "submit", class: "primary" }, "Filter"), h("button", { type: "button", onclick: () => go(Object.fromEntries(FILTERS.map((n) => [n, ""]))) }, "Clear")),
  );
  const list = h("div", { id: "jobs-list" }, h("p", { class: "muted" }, "Loading…"));
  main.append(h("h1", null, "Jobs"), form, list);

  const load = async () => {
    const reply = await get(`/jobs${query({ ...filters, limit: LIMIT, offset })}`, { signal });
    const jobs = reply.jobs || [];
    fill(list, jobsTable(jobs, { empty: "No job matches these filters." }), pager(offset, jobs.length, reply.total_size || 0, LIMIT, (o) => go({ offset: o })));
  };
  await load();
  const reload = throttle(() => load().catch(() => {}), 500);
  watch("/queue:watch", {
    signal,
    onEvent(event) {
      if (event.type !== "EVENT_TYPE_HEARTBEAT") reload();
    },
  });
}

const WRITE_METHODS = {
  none: "nothing written",
  in_place: "in place (MP4 track header flags)",
  mkvpropedit: "mkvpropedit (MKV header edited in place)",
  remux: "remux (ffmpeg -c copy into a new file)",
};

function trackRows(job) {
  // Job.audio_tracks (every audio track as read, default before -> after) when the server
  // reports them; otherwise the chosen track alone.
  const chosen = job.selected_track;
  const tracks = Array.isArray(job.audio_tracks) ? job.audio_tracks : [];
  if (tracks.length) {
    return tracks.map((track, position) => {
      const index = track.index ?? position;
      const isChosen = Boolean(chosen) && (chosen.index ?? 0) === index;
      const flags = [
        track.commentary ? "commentary" : "",
        track.visual_impaired ? "audio description" : "",
        track.hearing_impaired ? "hearing impaired" : "",
        track.original ? "original" : "",
        track.forced ? "forced" : "",
      ].filter(Boolean);
      const before = track.default_before ? "default" : "—";
      const after = track.default_after ? "default" : "—";
      return h(
        "tr",
        { class: isChosen ? "chosen" : null, dataset: { trackIndex: index } },
        h("td", { class: "num" }, String(index)),
        h("td", null, track.ietf || track.language || "und"),
        h("td", null, h("span", { dir: "auto" }, track.title || "")),
        h("td", null, track.codec || ""),
        h("td", { class: "num" }, track.channels ? String(track.channels) : ""),
        h("td", null, flags.join(", ")),
        h("td", { class: "nowrap" }, before === after ? before : `${before} → ${after}`),
        h("td", null, isChosen ? h("strong", null, "chosen") : ""),
      );
    });
  }
  if (!chosen) return [];
  return [
    h(
      "tr",
      { class: "chosen", dataset: { trackIndex: chosen.index ?? 0 } },
      h("td", { class: "num" }, String(chosen.index ?? 0)),
      h("td", null, chosen.language || "und"),
      h("td", null, ""),
      h("td", null, ""),
      h("td", null, ""),
      h("td", null, ""),
      h("td", null, ""),
      h("td", null, h("strong", null, "chosen")),
    ),
  ];
}

function jobDetails(job, actions) {
  const status = f.jobStatus(job.status);
  const language = job.language
    ? `${job.language} (from ${f.languageSourceText(job.language_source)})`
    : f.unspecified(f.languageSource(job.language_source)) === "none"
      ? "none decided"
      : "";
  const rows = [
    ["File", pathText(job.file_path, "span")],
    ["Status", badge(status)],
    ["Result", f.unspecified(f.result(job.result)) ? badge(f.result(job.result)) : ""],
    ["Reason", job.reason_code ? h("span", null, h("code", null, job.reason_code), " ", h("span", { dir: "auto" }, job.reason || "")) : job.reason || ""],
    ["Language aimed for", language],
    ["Track changed", job.track_changed ? "yes" : job.dry_run ? "no (dry run)" : "no"],
    ["Written by", WRITE_METHODS[f.unspecified(f.enumName(job.write_method, "WRITE_METHOD_"))] || ""],
    ["Write note", job.write_note ? h("span", { dir: "auto" }, job.write_note) : ""],
    null, // the rest: below the tracks
    ["Container", f.unspecified(f.container(job.container))],
    ["Source", f.unspecified(f.source(job.source))],
    ["Priority", f.unspecified(f.priority(job.priority))],
    ["Attempts", String(job.attempts ?? 0)],
    ["Created", f.when(job.created_at)],
    ["Started", f.when(job.started_at)],
    ["Finished", f.when(job.completed_at)],
    ["Duration", f.duration(job.duration_ms)],
    ["Worker", job.worker_id || ""],
    ["Batch", job.batch_id ? h("a", { href: `#/scans/${encodeURIComponent(job.batch_id)}` }, job.batch_id) : ""],
    ["Webhook", job.webhook_id ? h("a", { href: `#/webhooks/${encodeURIComponent(job.webhook_id)}` }, job.webhook_id) : ""],
  ];
  const cut = rows.indexOf(null);
  const kv = (items, attrs) =>
    h("dl", { class: "kv panel", ...attrs }, items.filter(([, value]) => value !== "").map(([name, value]) => [h("dt", null, name), h("dd", null, value)]));
  const tracks = trackRows(job);
  const reportsTracks = Array.isArray(job.audio_tracks) && job.audio_tracks.length;
  return [
    kv(rows.slice(0, cut), { id: "job-details", dataset: { status } }),
    actions,
    h("h2", null, "Audio tracks"),
    tracks.length
      ? table([num("#"), "Language", "Title", "Codec", num("Channels"), "Flags", "Default", ""], tracks, { id: "tracks" })
      : h("p", { class: "muted" }, "No track chosen yet."),
    tracks.length && !reportsTracks ? h("p", { class: "muted" }, "This server reports only the chosen track, not the file's whole track list.") : null,
    job.language
      ? h("p", { id: "why" }, `Why: the language aimed for is ${job.language}, decided by ${f.languageSourceText(job.language_source)}.`)
      : null,
    h("h2", null, "Details"),
    kv(rows.slice(cut + 1), { id: "job-more" }),
  ];
}

async function renderJob(main, { id, signal }) {
  const body = h("div", null, h("p", { class: "muted" }, "Loading…"));
  const message = h("p", { role: "status", id: "job-message" });
  main.append(h("h1", null, "Job ", h("code", null, id)), message, body);
  let job = null;

  const act = async (label, run) => {
    message.textContent = "";
    message.className = "";
    try {
      const reply = await run();
      if (reply && reply.job) show(reply.job);
      message.textContent = `${label}: done.`;
      if (reply && reply.job) restart();
    } catch (error) {
      message.className = "error";
      message.textContent = `${label} failed: ${error.message}`;
    }
  };

  const show = (next) => {
    job = next;
    const status = f.jobStatus(job.status);
    const actions = h(
      "div",
      { class: "actions" },
      ["queued", "waiting_for_space", "running"].includes(status)
        ? h("button", { type: "button", class: "danger", id: "cancel-job", onclick: () => act("Cancel", () => del(`/jobs/${encodeURIComponent(id)}`, { signal })) }, "Cancel job")
        : null,
      ["failed", "cancelled"].includes(status)
        ? h("button", { type: "button", class: "primary", id: "retry-job", onclick: () => act("Retry", () => post(`/jobs/${encodeURIComponent(id)}:retry`, {}, { signal })) }, "Retry job")
        : null,
    );
    fill(body, jobDetails(job, actions));
  };

  // Follow the job until it ends; a retry starts following it again.
  let follow = null;
  const restart = () => {
    if (follow) follow.abort();
    follow = new AbortController();
    signal.addEventListener("abort", () => follow.abort());
    watch(`/jobs/${encodeURIComponent(id)}:watch`, {
      signal: follow.signal,
      onEvent(event) {
        if (event.job && event.job.job_id) show(event.job);
      },
      onError(error) {
        fill(body, h("p", { class: "error", role: "alert" }, error.status === 5 ? `No job ${id}.` : error.message));
      },
    });
  };
  restart();
}
