// The rule editor's text mode: the rule as plain text, with line numbers and each problem marked at its line and
// column (a highlighted layer behind the text box, the same letters in the same places).
import { h, replace } from "./dom.js";

export class RuleText {
  constructor(root, { onChange, describedBy = "" }) {
    this.onChange = onChange || (() => {});
    this.area = h("textarea", { id: "rule-text", class: "code", wrap: "soft", spellcheck: "false", autocomplete: "off",
      autocapitalize: "off", rows: 8, "aria-describedby": describedBy });
    this.mirror = h("pre", { class: "code mirror", "aria-hidden": "true" });
    this.gutter = h("div", { class: "gutter", "aria-hidden": "true" });
    replace(root,
      h("label", { for: "rule-text" }, "The rule as text"),
      h("p", { class: "hint" }, "Write it the way you would say it: when … and … then … . Mistakes are marked as you type."),
      h("div", { class: "text-editor" }, this.gutter, h("div", { class: "text-layers" }, this.mirror, this.area)));
    this.problems = [];
    this.area.addEventListener("input", () => { this.layout(); this.onChange(); });
    // Lines wrap at the box's width: when it changes, the gutter's numbers follow their lines again.
    if (window.ResizeObserver) new ResizeObserver(() => this.layout()).observe(this.area);
  }

  get value() { return this.area.value; }

  set value(text) {
    this.area.value = text;
    this.problems = [];
    this.layout();
  }

  layout() {
    this.area.style.height = "auto";
    this.area.style.height = `${Math.max(this.area.scrollHeight + 4, 120)}px`;
    this.paint();
    // Each line's number as tall as the line's wrapped rows in the layer of marks (which wraps like the box).
    const rows = [...this.mirror.children];
    replace(this.gutter, rows.slice(0, this.area.value.split("\n").length).map((row, i) => {
      const number = h("div", {}, String(i + 1));
      number.style.height = `${row.offsetHeight}px`;  // through the style object: the page's CSP allows no style=""
      return number;
    }));
  }

  offset(line, column) {
    const lines = this.area.value.split("\n");
    let at = 0;
    for (let i = 0; i < Math.min(line - 1, lines.length); i += 1) at += lines[i].length + 1;
    return Math.min(at + Math.max(column - 1, 0), this.area.value.length);
  }

  range(problem) {
    if (!problem.line) return null;
    const start = this.offset(problem.line, problem.column || 1);
    let end = problem.end_line ? this.offset(problem.end_line, problem.end_column || 1) : start;
    if (end <= start) {
      const word = /^\S+/.exec(this.area.value.slice(start));
      end = start + (word ? word[0].length : 1);
    }
    return [start, end];
  }

  showProblems(problems) {
    this.problems = problems;
    this.paint();
  }

  paint() {
    const text = this.area.value;
    const marks = this.problems.map((p) => ({ p, r: this.range(p) })).filter((m) => m.r).sort((a, b) => a.r[0] - b.r[0]);
    const parts = [];
    let at = 0;
    for (const { p, r } of marks) {
      const [start, end] = [Math.max(r[0], at), r[1]];
      if (end <= start) continue;
      parts.push(text.slice(at, start));
      const piece = text.slice(start, Math.min(end, text.length));
      // A problem at the end of a line ("Expected a number after 'is above'"): a one-space mark there.
      const shown = piece === "" || piece === "\n" ? " " : piece;
      parts.push(h("mark", { class: p.severity === "warning" ? "warning" : "error", title: p.message }, shown));
      if (piece === "\n") parts.push("\n");
      at = Math.min(end, text.length);
    }
    parts.push(text.slice(at));
    replace(this.mirror, ...toLines(parts));
  }

  select(problem) {
    const r = this.range(problem);
    this.area.focus();
    if (r) this.area.setSelectionRange(r[0], Math.min(r[1], this.area.value.length));
    // Bring the marked place into view (the box grows with its text, so the page scrolls, not the box).
    const mark = [...this.mirror.querySelectorAll("mark")].find((m) => m.title === problem.message);
    if (mark) mark.scrollIntoView({ block: "center" });
  }

  // "at 'mean aera'": the words a problem marks, for messages that say where it is.
  marked(problem) {
    const r = this.range(problem);
    if (!r) return "";
    return this.area.value.slice(r[0], r[1]).split("\n")[0].trim();
  }

  // Put `replacement` where the problem is (e.g. the suggested spelling), as if typed.
  replaceRange(problem, replacement) {
    const r = this.range(problem);
    if (!r) return;
    this.area.focus();
    this.area.setRangeText(replacement, r[0], r[1], "end");
    this.layout();
    this.onChange();
  }

  focus() { this.area.focus(); }
}

// The mirror's pieces (text and marks) as one block per line of the text, so that each line wraps on its own as
// in the text box, and the gutter can read each line's height.
function toLines(parts) {
  const lines = [[]];
  for (const part of parts) {
    if (typeof part !== "string") {
      lines[lines.length - 1].push(part);
      continue;
    }
    const pieces = part.split("\n");
    pieces.forEach((piece, i) => {
      if (i > 0) lines.push([]);
      if (piece) lines[lines.length - 1].push(piece);
    });
  }
  return lines.map((line) => h("div", {}, ...line));
}
