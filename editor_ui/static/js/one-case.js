// "Try it on one case": the author types one patient's values (the rule's features listed, any other feature
// added by typing its name) and sees each condition hold, fail or stay unknown, and what the whole rule set would
// answer with the deciding rule (POST /api/check/case). Nothing typed here is saved, unless an author keeps the
// case as a test (onKeep: "Keep this case as a test…", with the answer the person chooses and a why).
import { request } from "./api.js";
import { featureCombobox } from "./feature-picker.js";
import { h, plural, replace, uid } from "./dom.js";

const RESULT_WORDS = { true: "holds", false: "does not hold", unknown: "unknown" };

// Every feature a structured rule (or condition) names, in order.
export function ruleFeatures(structured) {
  const out = [];
  const stack = [structured && structured.when];
  while (stack.length) {
    const node = stack.shift();
    if (!node || typeof node !== "object") continue;
    if (Array.isArray(node)) { stack.unshift(...node); continue; }
    if (typeof node.feature === "string" && node.feature) out.push(node.feature);
    for (const value of Object.values(node)) if (value && typeof value === "object") stack.push(value);
  }
  return [...new Set(out)];
}

export class OneCase {
  constructor(root, { vocabulary, payload, onKeep = null }) {
    this.root = root;
    this.onKeep = onKeep;             // ({values by data column, answer}) => kept as a test; null: not offered
    this.features = vocabulary.features;
    this.payload = payload;           // () => the body of POST /api/check (ruleset, text | rule, id)
    this.values = new Map();          // feature name -> typed value (string, "" = unknown)
    this.added = [];                  // features added by the person, beyond the rule's own
    this.ruleNames = [];
    this.timer = null;
    this.controller = null;
    this.fieldsRoot = h("div", { class: "one-case-fields" });
    this.result = h("div", { class: "one-case-result", "aria-live": "polite" });
    this.picker = featureCombobox({ features: this.features, label: "Add to the case (type a name)",
      exclude: (f) => this.shownNames().includes(f.name),
      onChoose: (f) => { this.added.push(f.name); this.renderFields(); this.focusValue(f.name); this.schedule(); } });
    const clearButton = h("button", { type: "button", class: "link-button" }, "Clear the values");
    clearButton.addEventListener("click", () => { this.values.clear(); this.renderFields(); this.schedule(); });
    replace(root,
      h("p", { class: "hint" }, "Type one patient's values. A value left blank is unknown: a condition on it is neither met nor failed, as when the rules run on data. Nothing here is saved."),
      h("div", { class: "one-case-grid" },
        h("div", {}, this.fieldsRoot, this.picker, h("p", {}, clearButton)),
        this.result));
    this.renderFields();
  }

  feature(name) {
    const n = String(name).toLowerCase();
    return this.features.find((f) => f.name.toLowerCase() === n || (f.synonyms || []).some((s) => s.toLowerCase() === n));
  }

  shownNames() {
    return [...new Set([...this.ruleNames, ...this.added])];
  }

  // The rule changed (its check answered): list its features and try again.
  update(structured) {
    const names = structured ? [...new Set(ruleFeatures(structured).filter((n) => this.feature(n)).map((n) => this.feature(n).name))] : this.ruleNames;
    if (names.join("\n") !== this.ruleNames.join("\n")) {
      this.ruleNames = names;
      this.renderFields();
    }
    this.schedule();
  }

  focusValue(name) {
    const el = this.fieldsRoot.querySelector(`[data-feature="${CSS.escape(name)}"]`);
    if (el) el.focus();
  }

  renderFields() {
    const names = this.shownNames();
    if (!names.length) {
      replace(this.fieldsRoot, h("p", { class: "muted" }, "The rule's features appear here once it names one."));
      return;
    }
    replace(this.fieldsRoot, h("dl", { class: "one-case-values" }, names.map((name) => {
      const f = this.feature(name);
      const id = uid("case");
      const value = this.values.get(name) ?? "";
      let control;
      if (f.type === "category" || f.type === "boolean") {
        const options = f.type === "boolean" ? ["yes", "no"] : f.values;
        control = h("select", { id, dataset: { feature: name } }, h("option", { value: "" }, "unknown"),
          options.map((v) => h("option", { value: v }, v)));
        control.value = value;
        control.addEventListener("change", () => { this.values.set(name, control.value); this.schedule(); });
      } else {
        control = h("input", { id, type: "text", dataset: { feature: name }, inputmode: f.type === "number" ? "decimal" : null,
          placeholder: "unknown", value, size: f.type === "number" ? 8 : 16 });
        control.addEventListener("input", () => { this.values.set(name, control.value); this.schedule(); });
      }
      const remove = this.added.includes(name) && !this.ruleNames.includes(name)
        ? h("button", { type: "button", class: "link-button", "aria-label": `Remove ${name} from the case` }, "remove") : null;
      if (remove) remove.addEventListener("click", () => { this.added = this.added.filter((n) => n !== name); this.values.delete(name); this.renderFields(); this.schedule(); });
      return h("div", { class: "one-case-value" },
        h("dt", {}, h("label", { for: id }, name)),
        h("dd", {}, control, f.unit ? h("span", { class: "unit" }, ` ${f.unit}`) : null, remove ? [" ", remove] : null));
    })));
  }

  // The case as the API reads it, and what cannot be read as its feature's type (said here, before sending).
  caseBody() {
    const out = {};
    const problems = [];
    for (const name of this.shownNames()) {
      const f = this.feature(name);
      const raw = (this.values.get(name) ?? "").trim();
      if (raw === "") continue;
      if (f.type === "number") {
        const number = raw.replace(",", ".");
        if (/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(number)) out[name] = Number(number);
        else problems.push(`${name}: “${raw}” is not a number. Type digits (e.g. 7.5)${f.unit ? ` in ${f.unit}` : ""}, or leave it blank for unknown.`);
      } else if (f.type === "boolean") out[name] = raw === "yes";
      else out[name] = raw;
    }
    return { body: out, problems };
  }

  schedule() {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.run(), 250);
  }

  async run() {
    if (this.controller) this.controller.abort();
    const { body, problems } = this.caseBody();
    if (problems.length) {
      replace(this.result, h("ul", { class: "notice error", role: "alert" }, problems.map((p) => h("li", {}, p))));
      return;
    }
    const controller = new AbortController();
    this.controller = controller;
    try {
      const { data } = await request("POST", "/api/check/case", { body: { ...this.payload(), case: body }, signal: controller.signal });
      this.show(data);
    } catch (e) {
      if (e.name === "AbortError") return;
      e.handled = true;
      const where = e.field && e.field.startsWith("case.") ? e.field.slice(5) : null;
      replace(this.result, h("p", { class: "notice error", role: "alert" }, where ? `${where}: ` : "", e.message));
    } finally {
      if (this.controller === controller) this.controller = null;
    }
  }

  show(data) {
    const parts = [];
    if (data.conditions) {
      parts.push(h("h3", {}, "This rule"));
      parts.push(h("ul", { class: "one-case-conditions" }, data.conditions.map((c) => h("li", { class: `truth truth-${c.result}` },
        h("span", { class: `badge truth-badge ${c.result}` }, RESULT_WORDS[c.result]), " ", h("code", {}, c.text),
        c.result === "unknown" && c.missing.length ? h("span", { class: "muted" }, ` (no value for ${c.missing.join(", ")})`) : null))));
      const rule = data.rule;
      const whole = rule.result === "true"
        ? (rule.enabled ? "All its conditions hold: the rule fires." : "All its conditions hold, but the rule is switched off.")
        : rule.result === "false" ? "A condition does not hold: the rule does not fire."
          : "Not known with these values, so the rule does not fire (a rule fires only when its condition surely holds).";
      parts.push(h("p", { class: `one-case-whole truth-${rule.result}` }, h("strong", {}, whole)));
    } else {
      parts.push(h("p", { class: "muted" }, "Once the rule is complete and has no mistakes, each of its conditions is shown on this case here."));
    }
    const d = data.decision;
    parts.push(h("h3", {}, "The whole rule set"));
    const deciding = d.deciding_rules.map((r) => `“${r.name}”`).join(", ");
    parts.push(h("p", { class: "one-case-answer" }, d.abstained ? "No answer: the rules abstain." : ["Answers ", h("strong", {}, d.label), "."],
      deciding ? [" Decided by ", deciding, "."] : null));
    parts.push(h("p", { class: "muted" }, d.reason));
    if (data.note) parts.push(h("p", { class: "hint" }, data.note));
    for (const w of data.warnings || []) parts.push(h("p", { class: "notice warning" }, w.message));
    const keep = this.keepButton(d);
    if (keep) parts.push(h("p", { class: "one-case-keep" }, keep));
    replace(this.result, parts);
  }

  // The typed values by the feature's data column (as tests.csv names its columns), as typed: "yes"/"no" for
  // yes/no features, numbers as written with a point.
  typedByColumn() {
    const out = {};
    for (const name of this.shownNames()) {
      const f = this.feature(name);
      const raw = (this.values.get(name) ?? "").trim();
      if (raw !== "") out[f.column || f.name] = f.type === "number" ? raw.replace(",", ".") : raw;
    }
    return out;
  }

  // "Keep this case as a test…": offered once a value is typed; the rule set's answer now is offered first.
  keepButton(decision) {
    if (!this.onKeep) return null;
    const values = this.typedByColumn();
    if (!Object.keys(values).length) return null;
    const button = h("button", { type: "button", class: "small" }, "Keep this case as a test…");
    const said = h("span", { class: "muted", role: "status" });
    button.addEventListener("click", async () => {
      const kept = await this.onKeep({ values, answer: decision.abstained ? null : decision.label });
      // Said here too: the page's notice is at its top, far from this panel.
      said.textContent = kept ? ` Kept: the rule set now has ${plural(kept.cases, "test")}.` : "";
    });
    return [button, said];
  }
}
