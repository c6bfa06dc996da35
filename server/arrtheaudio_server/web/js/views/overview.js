// Overview: queue counts and workers, the running jobs and the next ones — live from /queue:watch.

import { get, throttle, watch } from "../api.js";
import { fill, h, pathText, table } from "../dom.js";
import * as f from "../format.js";
import { countCards, fileName, jobLink, jobsTable } from "./common.js";

export async function render(main, { signal }) {
  const counts = h("div", null, countCards({}, { total: 0, active: 0 }));
  const running = h("div", { id: "running-jobs" });
  const upcoming = h("div", { id: "next-jobs" });
  main.append(
    h("h1", null, "Overview"),
    counts,
    h("h2", null, "Running now"),
    running,
    h("h2", null, "Next in the queue"),
    upcoming,
  );

  const refresh = throttle(async () => {
    try {
      const queue = await get("/queue?next_limit=10", { signal });
      fill(running, jobsTable(queue.current_jobs || [], { empty: "No job is running." }));
      const rows = (queue.next_jobs || []).map(({ position, job }) =>
        h(
          "tr",
          null,
          h("td", { class: "num" }, String(position)),
          h("td", null, jobLink(job, pathText(fileName(job.file_path)))),
          h("td", null, f.priority(job.priority)),
          h("td", null, f.source(job.source)),
        ),
      );
      fill(upcoming, rows.length ? table(["#", "File", "Priority", "Source"], rows) : h("p", { class: "muted" }, "The queue is empty."));
    } catch (error) {
      if (error.name !== "AbortError") fill(running, h("p", { class: "error" }, error.message));
    }
  }, 250);

  watch("/queue:watch", {
    signal,
    onEvent(event) {
      if (event.type === "EVENT_TYPE_HEARTBEAT") return;
      fill(counts, countCards(event.counts, event.workers));
      refresh();
    },
    onError(error) {
      fill(running, h("p", { class: "error" }, error.message));
    },
  });
}
