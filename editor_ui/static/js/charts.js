// Plots drawn as SVG, with no library: horizontal bars (single, stacked, or nested), optionally several bars per
// row (one per group). Every bar can be reached with the keyboard (Tab to the chart, then the arrow keys) and by
// pointing at it; its figures are then read out below the plot and given to screen readers as its label. Colours
// come from classes in app.css (the Content-Security-Policy forbids inline styles); every value is set as text.
import { h, replace, uid } from "./dom.js";

const SVG = "http://www.w3.org/2000/svg";

function s(tag, attrs = {}, ...children) {
  const el = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value !== null && value !== undefined && value !== false) el.setAttribute(key, String(value));
  }
  for (const child of children.flat()) {
    if (child !== null && child !== undefined && child !== false) el.append(child instanceof Node ? child : String(child));
  }
  return el;
}

// Roughly how many characters of 12-13px text fit in a width (for shortening group names, never rule names).
function fit(text, width, size = 12) {
  const most = Math.max(4, Math.floor(width / (size * 0.56)));
  return text.length > most ? `${text.slice(0, most - 1)}…` : text;
}

export function legend(items) {
  return h("ul", { class: "legend" }, items.map((item) => h("li", {},
    h("span", { class: `swatch ${item.cls}`, "aria-hidden": "true" }), item.text)));
}

/**
 * A horizontal bar chart.
 *
 * rows: [{ label, note?, bars: [{ name?, segments: [{ value, cls }], text, detail, empty? }] }]
 *   label: what the row is (a rule), written above its bars; name: the bar's group, written left of it;
 *   text: the figure written at the end of the row; detail: the full sentence read out on focus or hover;
 *   empty: a bar with nothing to draw (e.g. no precision for a rule without a conclusion), shown as text.
 * max: the value the full width stands for (1 for shares); overlay: segments drawn from zero over each other
 *   (largest first) instead of one after the other; legendItems: [{cls, text}]. className "wide": the whole row.
 */
export function barChart({ title, description = "", rows, max = 1, overlay = false, legendItems = null, className = "" }) {
  const readout = h("p", { class: "chart-readout", "aria-hidden": "true" });
  const titleId = uid("chart");
  const wrap = h("div", { class: "plot-wrap" });
  const figure = h("figure", { class: `chart ${className}` },
    h("figcaption", { id: titleId }, h("span", { class: "chart-title" }, title), description ? h("span", { class: "chart-description" }, description) : null),
    legendItems ? legend(legendItems) : null, wrap, readout);
  // Drawn at the width the page gives it (and again when that changes), so the text keeps its size.
  let drawnAt = 0;
  const draw = (available) => {
    const width = Math.max(300, Math.floor(available) - 8);
    if (Math.abs(width - drawnAt) < 2) return;
    drawnAt = width;
    const focused = wrap.contains(document.activeElement);
    replace(wrap, plot({ rows, max, overlay, width, titleId, readout }));
    if (focused) wrap.querySelector("g.bar[tabindex='0']")?.focus();
  };
  draw(600);
  if (typeof ResizeObserver === "function") {
    new ResizeObserver((entries) => {
      for (const entry of entries) if (entry.contentRect.width > 0) draw(entry.contentRect.width);
    }).observe(wrap);
  }
  return figure;
}

function plot({ rows, max, overlay, width, titleId, readout }) {
  const nameWidth = rows.some((r) => r.bars.some((b) => b.name)) ? Math.min(150, Math.round(width * 0.22)) : 0;
  const valueWidth = 64;
  const plotWidth = width - nameWidth - valueWidth - 8;
  const barHeight = rows.some((r) => r.bars.length > 1) ? 12 : 15;
  const bars = [];
  const body = [];
  let y = 4;
  for (const row of rows) {
    body.push(s("text", { x: 0, y: y + 13, class: "row-label" }, row.label,
      row.note ? s("tspan", { class: "row-note" }, `  ${row.note}`) : null));
    y += 19;
    for (const bar of row.bars) {
      const x0 = nameWidth;
      const group = s("g", { class: "bar", tabindex: -1, role: "img", "aria-label": bar.detail || bar.text || "" });
      group.append(s("title", {}, bar.detail || bar.text || ""));
      group.append(s("rect", { class: "hit", x: -3, y: y - 3, width: width + 6, height: barHeight + 6, rx: 3 }));
      if (bar.name) group.append(s("text", { x: 0, y: y + barHeight - 2, class: "bar-name" }, fit(bar.name, nameWidth - 6)));
      group.append(s("rect", { class: "track", x: x0, y, width: plotWidth, height: barHeight, rx: 2 }));
      if (bar.empty) {
        group.append(s("text", { x: x0 + 6, y: y + barHeight - 3, class: "bar-empty" }, bar.empty));
      } else {
        let offset = 0;
        const segments = overlay ? [...bar.segments].sort((a, b) => b.value - a.value) : bar.segments;
        for (const segment of segments) {
          const share = max > 0 ? Math.max(0, segment.value) / max : 0;
          const w = Math.min(plotWidth, share * plotWidth);
          if (w > 0) {
            group.append(s("rect", { class: `segment ${segment.cls}`, x: x0 + (overlay ? 0 : offset), y, width: Math.max(w, 1.5), height: barHeight }));
          }
          if (!overlay) offset += w;
        }
      }
      group.append(s("text", { x: width, y: y + barHeight - 2, class: "bar-value", "text-anchor": "end" }, bar.text || ""));
      const show = () => { readout.textContent = bar.detail || bar.text || ""; };
      group.addEventListener("mouseenter", show);
      group.addEventListener("focus", show);
      bars.push(group);
      body.push(group);
      y += barHeight + 5;
    }
    y += 7;
  }
  if (bars.length) bars[0].setAttribute("tabindex", "0");
  const svg = s("svg", { class: "plot", viewBox: `-4 0 ${width + 8} ${y}`, width: width + 8, height: y, role: "group", "aria-labelledby": titleId }, body);
  svg.addEventListener("keydown", (event) => {
    const at = bars.indexOf(document.activeElement);
    if (at < 0) return;
    const to = { ArrowDown: at + 1, ArrowRight: at + 1, ArrowUp: at - 1, ArrowLeft: at - 1, Home: 0, End: bars.length - 1 }[event.key];
    if (to === undefined) return;
    event.preventDefault();
    const next = bars[Math.max(0, Math.min(bars.length - 1, to))];
    for (const b of bars) b.setAttribute("tabindex", b === next ? "0" : "-1");
    next.focus();
  });
  svg.addEventListener("mouseleave", () => {
    if (!bars.includes(document.activeElement)) readout.textContent = "";
  });
  return svg;
}

// One bar of one segment (the common case).
export function single(value, cls, text, detail, extra = {}) {
  return { segments: [{ value: value || 0, cls }], text, detail, ...extra };
}

// Shading for a table of counts: a class from 0 (none) to 5 (the largest count).
export function shade(count, largest) {
  if (!count || !largest) return "shade-0";
  return `shade-${Math.max(1, Math.min(5, Math.ceil((count / largest) * 5)))}`;
}
