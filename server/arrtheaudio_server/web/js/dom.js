// Building DOM nodes without ever parsing HTML: every server string becomes a text node, so a
// file named "<img src=x onerror=alert(1)>.mkv" is shown as those characters and runs nothing.

const SVG_NS = "http://www.w3.org/2000/svg";

function append(parent, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    parent.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

function apply(node, attrs) {
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key.startsWith("on") && typeof value === "function") {
      node.addEventListener(key.slice(2), value);
    } else if (key === "dataset") {
      Object.assign(node.dataset, value);
    } else if (key === "value" || key === "checked") {
      node[key] = value;
    } else {
      node.setAttribute(key, value === true ? "" : String(value));
    }
  }
}

/** h("a", {href: "#/jobs"}, "Jobs") — an element with attributes and text/element children. */
export function h(tag, attrs, ...children) {
  const node = document.createElement(tag);
  apply(node, attrs);
  append(node, children);
  return node;
}

/** The same for SVG elements (the jobs-per-day chart). */
export function s(tag, attrs, ...children) {
  const node = document.createElementNS(SVG_NS, tag);
  apply(node, attrs);
  append(node, children);
  return node;
}

/** Replace every child of ``node``. */
export function fill(node, ...children) {
  node.replaceChildren();
  append(node, children);
  return node;
}

/** A file path that keeps its own direction (Arabic/Hebrew names) and wraps anywhere. */
export function pathText(path, tag = "span") {
  return h(tag, { class: "path", dir: "auto" }, path || "");
}

/** A table inside a horizontal scroller (narrow screens scroll the table, not the page). */
export function table(headers, rows, attrs = {}) {
  return h(
    "div",
    { class: "scroll" },
    h(
      "table",
      attrs,
      h("thead", null, h("tr", null, headers.map((label) => h("th", { scope: "col", class: label.num ? "num" : null }, label.text ?? label)))),
      h("tbody", null, rows),
    ),
  );
}

export function num(text) {
  return { text, num: true };
}
