// The rule editor's text mode: the rule as plain text, with line numbers and each problem marked at its line and
// column (a highlighted layer behind the text box, the same letters in the same places).
import { h, replace } from "./dom.js";

export class RuleText {
  constructor(root, { onChange, describedBy = "" }) {
    this.onChange = onChange || (() => {});
    this.area = h("textarea", { id: "rule-text", class: "code", wrap: "off", spellcheck: "false", autocomplete: "off",
      autocapitalize: "off", rows: 8, "aria-describedby": describedBy });
    this.mirror = h("pre", { class: "code mirror", "aria-hidden": "true" });
    this.gutter = h("pre", { class: "gutter", "aria-hidden": "true" });
    replace(root,
      h("label", { for: "rule-text" }, "The rule as text"),
      h("p", { class: "hint" }, "Write it the way you would say it: when … and … then … . Mistakes are marked as you type."),
      h("div", { class: "text-editor" }, this.gutter, h("div", { class: "text-layers" }, this.mirror, this.area)));
    this.problems = [];
    this.area.addEventListener("input", () => { this.layout(); this.onChange(); });
    this.area.addEventListener("scroll", () => { this.mirror.scrollLeft = this.area.scrollLeft; });
  }

  get value() { return this.area.value; }

  set value(text) {
    this.area.value = text;
    this.problems = [];
    this.layout();
  }

  layout() {
    const lines = this.area.value.split("\n").length;
    this.gutter.textContent = Array.from({ length: lines }, (_, i) => String(i + 1)).join("\n");
    this.area.style.height = "auto";
    // Room for every line plus a horizontal scroll bar, so the last line is never hidden under it.
    this.area.style.height = `${Math.max(this.area.scrollHeight + 18, 120)}px`;
    this.paint();
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
    parts.push(text.slice(at), "\n ");
    replace(this.mirror, parts);
  }

  select(problem) {
    const r = this.range(problem);
    this.area.focus();
    if (r) this.area.setSelectionRange(r[0], Math.min(r[1], this.area.value.length));
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
