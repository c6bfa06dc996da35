// Turning the API's JSON (enum names, RFC 3339 times, milliseconds) into short labels.

/** "JOB_STATUS_WAITING_FOR_SPACE" -> "waiting_for_space" (the prefix is the enum's name). */
export function enumName(value, prefix) {
  if (!value) return "";
  const text = String(value);
  return (text.startsWith(prefix) ? text.slice(prefix.length) : text).toLowerCase();
}

export const jobStatus = (v) => enumName(v, "JOB_STATUS_");
export const batchStatus = (v) => enumName(v, "BATCH_STATUS_");
export const result = (v) => enumName(v, "JOB_RESULT_");
export const source = (v) => enumName(v, "SOURCE_");
export const container = (v) => enumName(v, "CONTAINER_");
export const priority = (v) => enumName(v, "PRIORITY_");
export const languageSource = (v) => enumName(v, "LANGUAGE_SOURCE_");

const LANGUAGE_SOURCES = {
  arr: "the Sonarr/Radarr webhook",
  arr_library: "your Sonarr/Radarr library",
  tmdb: "TMDB",
  heuristic: "the file or folder name",
  priority: "the language priority list",
  none: "nothing (no language decided)",
};

export function languageSourceText(value) {
  const name = languageSource(value);
  return LANGUAGE_SOURCES[name] || name || "";
}

export function unspecified(name) {
  return !name || name === "unspecified" ? "" : name;
}

export function when(stamp) {
  if (!stamp) return "";
  const date = new Date(stamp);
  if (Number.isNaN(date.getTime())) return "";
  return date.toLocaleString(undefined, { dateStyle: "short", timeStyle: "medium" });
}

export function duration(ms) {
  if (!ms && ms !== 0) return "";
  if (ms < 1000) return `${Math.round(ms)} ms`;
  return seconds(ms / 1000);
}

export function seconds(total) {
  if (!total || total < 0) return "";
  if (total < 60) return `${total.toFixed(total < 10 ? 1 : 0)} s`;
  const m = Math.floor(total / 60);
  const s = Math.round(total % 60);
  if (m < 60) return `${m} min ${s} s`;
  return `${Math.floor(m / 60)} h ${m % 60} min`;
}

export function percent(value) {
  return `${Math.round((value || 0) * 10) / 10} %`;
}
