// Statistics: today, lifetime, per container and source, and jobs per day as an SVG bar chart.

import { get, throttle, watch } from "../api.js";
import { fill, h, num, s, table } from "../dom.js";
import * as f from "../format.js";

function outcomeRow(name, o) {
  const stats = o || {};
  return h(
    "tr",
    null,
    h("th", { scope: "row" }, name),
    ...[stats.total, stats.success, stats.failed, stats.skipped, stats.track_changes].map((n) => h("td", { class: "num" }, String(n ?? 0))),
    h("td", { class: "num" }, f.percent((stats.success_rate || 0) * 100)),
    h("td", { class: "num" }, f.duration(stats.avg_duration_ms)),
  );
}

const COLUMNS = ["", num("Total"), num("Success"), num("Failed"), num("Skipped"), num("Tracks changed"), num("Success rate"), num("Avg duration")];
const SERIES = [
  ["success", "#1a7f37", "success"],
  ["skipped", "#8c959f", "skipped"],
  ["failed", "#cf222e", "failed"],
];

/** Stacked bars per day (success, skipped, failed), drawn from the data: no chart library. */
export function chart(days) {
  const width = 720;
  const height = 220;
  const pad = { top: 12, right: 8, bottom: 28, left: 36 };
  const peak = Math.max(1, ...days.map((d) => d.total || 0));
  const step = (width - pad.left - pad.right) / Math.max(days.length, 1);
  const y = (n) => pad.top + (height - pad.top - pad.bottom) * (1 - n / peak);
  const svg = s(
    "svg",
    { viewBox: `0 0 ${width} ${height}`, role: "img", "aria-labelledby": "chart-title", id: "daily-chart" },
    s("title", { id: "chart-title" }, `Jobs finished per day over the last ${days.length} days (peak ${peak})`),
  );
  for (const tick of [0, Math.ceil(peak / 2), peak]) {
    svg.append(
      s("line", { x1: pad.left, x2: width - pad.right, y1: y(tick), y2: y(tick), stroke: "#d1d9e0" }),
      s("text", { x: pad.left - 6, y: y(tick) + 4, "text-anchor": "end", "font-size": 11, fill: "#59636e" }, String(tick)),
    );
  }
  days.forEach((day, index) => {
    let base = 0;
    const x = pad.left + index * step + step * 0.15;
    const group = s("g", { dataset: { date: day.date, total: day.total || 0 } }, s("title", null, `${day.date}: ${day.total || 0} jobs`));
    for (const [key, color] of SERIES) {
      const n = day[key] || 0;
      if (!n) continue;
      group.append(s("rect", { x, width: Math.max(step * 0.7, 1), y: y(base + n), height: y(base) - y(base + n), fill: color }));
      base += n;
    }
    svg.append(group);
    if (index % Math.ceil(days.length / 6) === 0 || index === days.length - 1) {
      svg.append(s("text", { x: x + step * 0.35, y: height - 8, "text-anchor": "middle", "font-size": 11, fill: "#59636e" }, day.date.slice(5)));
    }
  });
  const legend = h(
    "div",
    { class: "legend" },
    SERIES.map(([, color, label]) => h("span", null, h("span", { class: "sw", style: null, dataset: { color } }), label)),
  );
  // Swatch colours through the DOM (the CSP allows no inline style attributes either).
  for (const swatch of legend.querySelectorAll(".sw")) swatch.style.background = swatch.dataset.color;
  return h("div", { class: "chart panel" }, svg, legend);
}

export async function render(main, { signal }) {
  const body = h("div", null, h("p", { class: "muted" }, "Loading…"));
  main.append(h("h1", null, "Statistics"), body);

  const load = async () => {
    const [stats, daily] = await Promise.all([get("/stats", { signal }), get("/stats/daily", { signal })]);
    const rows = [outcomeRow("today", stats.today), outcomeRow("lifetime", stats.lifetime)];
    const containers = (stats.containers || []).map((c) => outcomeRow(f.unspecified(f.container(c.container)) || "unknown", c.stats));
    const sources = (stats.sources || []).map((c) => outcomeRow(f.unspecified(f.source(c.source)) || "unknown", c.stats));
    const days = daily.days || [];
    fill(
      body,
      h("h2", null, "Finished jobs"),
      table(COLUMNS, rows, { id: "outcomes" }),
      h("h2", null, "Per container"),
      containers.length ? table(COLUMNS, containers, { id: "per-container" }) : h("p", { class: "muted" }, "No finished jobs yet."),
      h("h2", null, "Per source"),
      sources.length ? table(COLUMNS, sources, { id: "per-source" }) : h("p", { class: "muted" }, "No finished jobs yet."),
      h("h2", null, `Jobs per day (last ${days.length} days, UTC)`),
      chart(days),
      h(
        "details",
        null,
        h("summary", null, "The same as a table"),
        table(
          ["Day", num("Total"), num("Success"), num("Skipped"), num("Failed"), num("Tracks changed")],
          days.map((d) => h("tr", null, h("td", null, d.date), ...[d.total, d.success, d.skipped, d.failed, d.track_changes].map((n) => h("td", { class: "num" }, String(n ?? 0))))),
        ),
      ),
    );
  };
  await load();
  const reload = throttle(() => load().catch(() => {}), 1000);
  watch("/queue:watch", {
    signal,
    onEvent(event) {
      if (event.type !== "EVENT_TYPE_HEARTBEAT") reload(); // the SNAPSHOT too: changes may predate it
    },
  });
}
