// The threshold explorer of the rule form: for a number condition (above / below / at least / at most) of the
// rule, a small plot of its precision and coverage on the reference cases as that threshold moves, the current
// threshold marked. Clicking the plot (or Enter on a focused point, arrows to move) sets the threshold in the form.
import { paths, request } from "./api.js";
import { h, replace } from "./dom.js";

const SVG = "http://www.w3.org/2000/svg";
const MOVABLE = ["above", "below", "at least", "at most"];
const W = 300;
const H = 130;
const PAD = 6;

function s(tag, attrs = {}) {
  const el = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attrs)) el.setAttribute(key, String(value));
  return el;
}

const percent = (x) => (x === null || x === undefined ? "–" : `${Math.round(x * 100)}%`);

// Two significant digits: a threshold a person would write.
export function roundThreshold(value) {
  if (!value) return 0;
  const digits = 2 - 1 - Math.floor(Math.log10(Math.abs(value)));
  const factor = 10 ** Math.max(digits, -6);
  return Math.round(value * factor) / factor;
}

// The top-level conditions joined by "and" that have a threshold to move: [{index, feature}].
export function movable(structured) {
  // A rule without a conclusion has no precision to plot (it is a feature only).
  if (!structured || !structured.when || !structured.then) return [];
  const items = structured.when.all || [structured.when];
  return items.map((item, index) => ({ item, index }))
    .filter(({ item }) => item.feature && MOVABLE.includes(item.op) && item.values && item.values.length === 1)
    .map(({ item, index }) => ({ index, feature: item.feature }));
}

// The structured rule with condition ``index``'s threshold set to ``value`` (in the feature's unit).
export function withThreshold(structured, index, value, unit) {
  const copy = JSON.parse(JSON.stringify(structured));
  const item = copy.when.all ? copy.when.all[index] : copy.when;
  item.values = [unit ? { number: value, unit } : value];
  return copy;
}

export class ThresholdExplorer {
  constructor(root, { rulesetId, onPick }) {
    this.root = root;
    this.rulesetId = rulesetId;
    this.onPick = onPick;
    this.key = null;
    this.chosen = 0;
  }

  async show(structured) {
    const choices = movable(structured);
    if (!choices.length) {
      this.root.hidden = true;
      this.key = null;
      return;
    }
    const chosen = choices.find((c) => c.index === this.chosen) || choices[0];
    const key = JSON.stringify([structured, chosen.index]);
    if (key === this.key) return;
    this.key = key;
    let curve;
    try {
      ({ data: curve } = await request("POST", paths.explore(this.rulesetId),
        { body: { rule: structured, condition: chosen.index, points: 60 } }));
    } catch (e) {
      this.root.hidden = false;
      replace(this.root, h("h2", {}, "Move a threshold"), h("p", { class: "muted" }, e.message));
      return;
    }
    if (key !== this.key) return;
    this.root.hidden = false;
    const pick = h("select", { id: "explore-condition", "aria-label": "Condition whose threshold moves" },
      choices.map((c) => h("option", { value: c.index, selected: c.index === chosen.index }, c.feature)));
    pick.addEventListener("change", () => {
      this.chosen = Number(pick.value);
      this.key = null;
      this.show(structured);
    });
    const readout = h("p", { class: "muted", id: "explore-readout", "aria-live": "polite" });
    replace(this.root, h("h2", {}, "Move a threshold"),
      choices.length > 1 ? pick : h("p", {}, curve.feature),
      this.plot(curve, structured, readout, chosen.index),
      h("p", { class: "hint" }, `Precision (solid) and share of cases the rule fires on (dashed) on “${curve.dataset.name}”, `,
        `as the threshold of “${curve.feature} ${curve.op}” moves. Click to set it.`),
      readout);
  }

  plot(curve, structured, readout, index) {
    const t = curve.thresholds;
    const lo = t[0];
    const hi = t[t.length - 1];
    const x = (v) => PAD + ((v - lo) / (hi - lo || 1)) * (W - 2 * PAD);
    const y = (share) => H - PAD - share * (H - 2 * PAD);
    const line = (values, cls) => {
      const points = values.map((v, i) => (v === null ? null : `${x(t[i]).toFixed(1)},${y(v).toFixed(1)}`)).filter(Boolean);
      return s("polyline", { points: points.join(" "), class: cls, fill: "none" });
    };
    const svg = s("svg", { viewBox: `0 0 ${W} ${H}`, class: "explorer-plot", role: "img", tabindex: 0, id: "explore-plot",
      "aria-label": `Precision and coverage as ${curve.feature} moves from ${lo} to ${hi}; now ${curve.current}` });
    svg.append(s("rect", { x: 0, y: 0, width: W, height: H, class: "explorer-frame", fill: "none" }),
      line(curve.precision, "explorer-precision"), line(curve.coverage, "explorer-coverage"),
      s("line", { x1: x(curve.current), x2: x(curve.current), y1: 0, y2: H, class: "explorer-current" }));
    const at = (value) => {
      let best = 0;
      for (let i = 1; i < t.length; i += 1) if (Math.abs(t[i] - value) < Math.abs(t[best] - value)) best = i;
      return best;
    };
    const say = (value) => {
      const i = at(value);
      readout.textContent = `At ${value}${curve.unit ? ` ${curve.unit}` : ""}: right in ${percent(curve.precision[i])}, `
        + `fires on ${percent(curve.coverage[i])} of the cases (${curve.support[i]}).`;
    };
    const set = (value) => {
      say(value);
      this.onPick(withThreshold(structured, index, value, curve.unit));
    };
    say(curve.current);
    svg.addEventListener("click", (event) => {
      const box = svg.getBoundingClientRect();
      const share = (event.clientX - box.left) / box.width;
      const raw = lo + ((share * W - PAD) / (W - 2 * PAD)) * (hi - lo);
      set(roundThreshold(Math.min(hi, Math.max(lo, raw))));
    });
    svg.addEventListener("keydown", (event) => {
      const step = (hi - lo) / 50;
      if (event.key === "ArrowRight" || event.key === "ArrowLeft") {
        event.preventDefault();
        set(roundThreshold(curve.current + (event.key === "ArrowRight" ? step : -step)));
      }
    });
    return svg;
  }
}
