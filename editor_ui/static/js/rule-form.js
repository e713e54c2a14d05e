// The rule editor's form mode: a rule as rows of feature -> comparison -> value, in groups ("all of", "any of",
// "at least N of", each can be turned around with "not"), nestable; the conclusion, priority, "in use", "because".
//
// The form keeps the rule as a small tree and writes it in the API's structured form (toJSON). While writing it,
// every field gets the path the server uses for it in problems ("when.all[1].values[0]"), so that a problem is
// shown beside its field. The path rules mirror the server's reader exactly: a group of one condition ("all of" or
// "any of") is written as that condition, and "not" adds ".not".
import { h, replace, uid } from "./dom.js";
import { featureCombobox } from "./feature-picker.js";

// Comparisons by feature type: the same table as rules_dsl/checker.py (tests/editor/test_editor_static.py keeps them equal).
export const OPS_BY_TYPE = {
  number: ["is", "is not", "above", "below", "at least", "at most", "between", "one of", "not one of", "is missing", "is known"],
  category: ["is", "is not", "one of", "not one of", "is missing", "is known"],
  boolean: ["is", "is not", "is missing", "is known"],
  text: ["is", "is not", "one of", "not one of", "contains", "does not contain", "is missing", "is known"],
};
const ALL_OPS = ["is", "is not", "above", "below", "at least", "at most", "between", "one of", "not one of", "contains", "does not contain", "is missing", "is known"];
const OP_WORDS = {
  is: "is", "is not": "is not", above: "is above", below: "is below", "at least": "is at least", "at most": "is at most",
  between: "is between", "one of": "is one of", "not one of": "is not one of", contains: "contains",
  "does not contain": "does not contain", "is missing": "is missing (not recorded)", "is known": "is known (recorded)",
};
const NO_VALUE = ["is missing", "is known"];
const LIST = ["one of", "not one of"];
const NUMERIC = ["above", "below", "at least", "at most", "between"];
const DEFAULT_OP = { number: "above", category: "is", boolean: "is", text: "is" };
const TYPE_WORDS = { number: "a number", boolean: "yes or no", text: "words" };
const MODE_WORDS = { all: "All of these are true", any: "Any of these is true", atleast: "At least … of these are true" };

function norm(name) {
  return (name || "").normalize("NFKC").toLocaleLowerCase().split(/\s+/).filter(Boolean).join(" ");
}

export function emptyComparison() {
  return { type: "comparison", feature: "", op: "above", values: [null], not: false };
}

function emptyGroup(mode = "any") {
  return { type: "group", mode, count: 2, items: [emptyComparison(), emptyComparison()], not: false };
}

// ---- structured form <-> tree ------------------------------------------------------------------------------------

function nodeFromJSON(j) {
  if (j && typeof j === "object" && "not" in j) {
    const inner = nodeFromJSON(j.not);
    if (inner.not) return { type: "group", mode: "all", count: 2, items: [inner], not: true };
    inner.not = true;
    return inner;
  }
  if (j && typeof j === "object" && "feature" in j) {
    return { type: "comparison", feature: j.feature || "", op: j.op || "is", values: [...(j.values || [])], not: false };
  }
  if (j && typeof j === "object" && "at_least" in j) {
    return { type: "group", mode: "atleast", count: j.at_least, items: (j.of || []).map(nodeFromJSON), not: false };
  }
  if (j && typeof j === "object" && ("all" in j || "any" in j)) {
    const mode = "all" in j ? "all" : "any";
    return { type: "group", mode, count: 2, items: (j[mode] || []).map(nodeFromJSON), not: false };
  }
  return emptyComparison();
}

function collapses(group) {
  return group.mode !== "atleast" && group.items.length === 1;
}

function itemsKey(group) {
  return group.mode === "atleast" ? "of" : group.mode;
}

function nodeToJSON(node) {
  let core;
  if (node.type === "comparison") {
    core = { feature: node.feature, op: node.op, values: NO_VALUE.includes(node.op) ? [] : node.values };
  } else if (collapses(node)) {
    core = nodeToJSON(node.items[0]);
  } else if (node.mode === "atleast") {
    core = { at_least: node.count, of: node.items.map(nodeToJSON) };
  } else {
    core = { [node.mode]: node.items.map(nodeToJSON) };
  }
  return node.not ? { not: core } : core;
}

function parentPath(path) {
  const m = path.match(/^(.*)(\[\d+\]|\.[^.[\]]+)$/);
  return m ? m[1] : "";
}

// ---- the form ----------------------------------------------------------------------------------------------------

export class RuleForm {
  constructor(root, { vocabulary, outcome, units, onChange, readOnly = false }) {
    this.root = root;
    this.features = vocabulary.features;
    this.outcome = outcome;
    this.units = units || {};
    this.onChange = onChange || (() => {});
    this.readOnly = readOnly;
    this.fields = new Map();
    this.rule = null;
    this.touched = new Set();   // fields the person has been in: blank ones are not scolded before that
    this.showAll = false;       // true after a save was tried: then every problem shows
  }

  feature(name) {
    return this.features.find((f) => norm(f.name) === norm(name) || (f.synonyms || []).some((s) => norm(s) === norm(name)));
  }

  load(structured) {
    const s = structured || {};
    let when = nodeFromJSON(s.when);
    if (when.type !== "group" || when.not) when = { type: "group", mode: "all", count: 2, items: [when], not: false };
    if (!s.when) when = { type: "group", mode: "all", count: 2, items: [emptyComparison()], not: false };
    this.rule = {
      name: s.name || "", priority: Number.isInteger(s.priority) ? s.priority : 0, enabled: s.enabled !== false,
      when, concludes: !structured || s.then !== null,
      label: s.then ? s.then.label : "", confidence: s.then && s.then.confidence != null ? s.then.confidence : null,
      because: s.because || "",
    };
    this.render();
  }

  toJSON() {
    const r = this.rule;
    return {
      name: r.name, priority: r.priority, enabled: r.enabled, when: nodeToJSON(r.when),
      then: r.concludes ? { outcome: this.outcome.name, label: r.label || null, confidence: r.confidence } : null,
      because: r.because.trim() ? r.because : null,
    };
  }

  changed(structural = false) {
    if (structural) this.renderWhen();
    this.onChange();
  }

  // -- fields and their problems --

  field(path, slot, input, blank = null) {
    const entry = this.fields.get(path) || { slot, inputs: [], blank: null };
    entry.slot = entry.slot || slot;
    if (input) entry.inputs.push(input);
    if (blank) entry.blank = blank;
    this.fields.set(path, entry);
    if (input) {
      // Typing in a field counts as having been in it: a value typed and then cleared is said at once, beside
      // the field, with the other problems (not only once the person leaves the field).
      const touch = () => { this.touched.add(path); };
      input.addEventListener("input", touch);
      input.addEventListener("change", touch);
      input.addEventListener("blur", touch);
    }
    if (input && slot) {
      const described = new Set((input.getAttribute("aria-describedby") || "").split(" ").filter(Boolean));
      described.add(slot.id);
      input.setAttribute("aria-describedby", [...described].join(" "));
    }
  }

  // Show each problem beside its field; returns [{problem, path, message}] for the summary.
  showProblems(problems) {
    for (const entry of this.fields.values()) {
      if (entry.slot) replace(entry.slot);
      if (entry.slot) entry.slot.hidden = true;
      for (const input of entry.inputs) input.removeAttribute("aria-invalid");
    }
    const placed = [];
    placed.needed = [];  // blank fields not yet visited: what is still to fill in, not mistakes
    for (const problem of problems) {
      let path = problem.field || "";
      while (path && !this.fields.has(path)) path = parentPath(path);
      const entry = path ? this.fields.get(path) : null;
      const blank = entry && entry.blank ? entry.blank() : null;
      if (blank && problem.severity !== "warning" && !this.showAll && !this.touched.has(path)) {
        placed.needed.push({ problem, path, message: blank });
        continue;
      }
      const message = problem.severity === "error" && blank ? blank : problem.message;
      if (entry && entry.slot) {
        entry.slot.append(h("span", { class: problem.severity === "warning" ? "warning" : "error" },
          problem.severity === "warning" ? "Check: " : "", message));
        // The one-click fix beside the field, as in text mode ("Use 'mean area'").
        if (this.canUse(path, problem.suggestion)) {
          const use = h("button", { type: "button", class: "small use-suggestion" }, `Use “${problem.suggestion}”`);
          use.addEventListener("click", () => this.use(path, problem.suggestion));
          entry.slot.append(" ", use);
        }
        entry.slot.hidden = false;
        if (problem.severity !== "warning") for (const input of entry.inputs) input.setAttribute("aria-invalid", "true");
      }
      placed.push({ problem, path, message });
    }
    return placed;
  }

  // Whether the field at `path` can take `value` in one click: a list that offers it, or a box one types in.
  canUse(path, value) {
    const entry = value ? this.fields.get(path) : null;
    const input = entry && entry.inputs[0];
    if (!input) return false;
    if (input.tagName === "SELECT") return [...input.options].some((o) => o.value === value);
    return input.tagName === "INPUT" && input.type !== "checkbox";
  }

  use(path, value) {
    const input = this.fields.get(path).inputs[0];
    input.value = value;
    input.dispatchEvent(new Event("input", { bubbles: true }));
    input.dispatchEvent(new Event("change", { bubbles: true }));
    this.focusField(path);
  }

  focusField(path) {
    let p = path;
    while (p && !this.fields.has(p)) p = parentPath(p);
    const entry = this.fields.get(p);
    const target = entry && (entry.inputs[0] || entry.slot);
    if (target) {
      target.scrollIntoView({ block: "center" });
      if (target.focus) target.focus();
    }
  }

  slot(path) {
    return h("p", { class: "field-problem", id: uid("problem"), hidden: true, "aria-live": "polite", dataset: { path } });
  }

  // -- rendering --

  render() {
    this.fields = new Map();
    const r = this.rule;
    const nameId = uid("rule-name");
    const nameSlot = this.slot("name");
    const name = h("input", { id: nameId, class: "wide", value: r.name, required: true, autocomplete: "off",
      placeholder: "A short name people will recognise, e.g. Two or more SIRS criteria" });
    name.addEventListener("input", () => { r.name = name.value; this.changed(); });
    this.field("name", nameSlot, name, () => (r.name.trim() ? null : "Give the rule a name."));

    this.whenRoot = h("div", { class: "when-root" });
    const whenSlot = this.slot("when");
    this.field("when", whenSlot, null);

    const then = this.renderThen();

    const priorityId = uid("priority");
    const prioritySlot = this.slot("priority");
    const priority = h("input", { id: priorityId, type: "number", step: 1, value: String(r.priority), class: "short" });
    priority.addEventListener("input", () => {
      r.priority = priority.value === "" ? 0 : Number(priority.value);
      this.changed();
    });
    this.field("priority", prioritySlot, priority);

    const enabledId = uid("enabled");
    const enabled = h("input", { id: enabledId, type: "checkbox", checked: r.enabled });
    enabled.addEventListener("change", () => { r.enabled = enabled.checked; this.changed(); });
    const enabledSlot = this.slot("enabled");
    this.field("enabled", enabledSlot, enabled);

    const becauseId = uid("because");
    const becauseSlot = this.slot("because");
    const because = h("input", { id: becauseId, class: "wide", value: r.because, autocomplete: "off",
      placeholder: "The source: a guideline, a paper, your experience" });
    because.addEventListener("input", () => { r.because = because.value; this.changed(); });
    this.field("because", becauseSlot, because);

    replace(this.root,
      h("div", { class: "field" }, h("label", { for: nameId }, "Name of the rule"), name, nameSlot),
      h("section", { class: "when-section", "aria-label": "Conditions" }, h("h3", {}, "When"), whenSlot, this.whenRoot),
      then,
      h("div", { class: "field-row" },
        h("div", { class: "field" }, h("label", { for: priorityId }, "Priority"), priority,
          h("p", { class: "hint" }, "Rules with a higher priority are tried first."), prioritySlot),
        h("div", { class: "field checkbox-field" }, enabled, h("label", { for: enabledId }, "In use (the rule takes part in decisions)"),
          enabledSlot)),
      h("div", { class: "field" }, h("label", { for: becauseId }, "Because (optional)"), because, becauseSlot));
    this.renderWhen();
  }

  renderWhen() {
    for (const key of [...this.fields.keys()]) if (key.startsWith("when.") || key.startsWith("when[")) this.fields.delete(key);
    const focused = document.activeElement && this.whenRoot.contains(document.activeElement) ? document.activeElement.dataset.key : null;
    replace(this.whenRoot, this.renderGroup(this.rule.when, "when", null, 0));
    if (focused) {
      const again = this.whenRoot.querySelector(`[data-key="${CSS.escape(focused)}"]`);
      if (again) again.focus();
    }
  }

  renderThen() {
    const r = this.rule;
    const concludesId = uid("concludes");
    const concludes = h("input", { id: concludesId, type: "checkbox", checked: r.concludes });
    const thenSlot = this.slot("then");
    this.field("then", thenSlot, concludes);
    const labelId = uid("label");
    const labelSlot = this.slot("then.label");
    const labels = [...this.outcome.labels];
    if (r.label && !labels.some((l) => norm(l) === norm(r.label))) labels.push(r.label);
    const label = h("select", { id: labelId },
      h("option", { value: "" }, "Choose…"),
      labels.map((l) => h("option", { value: l }, this.outcome.labels.includes(l) ? l : `${l} (not one of the outcomes)`)));
    label.value = labels.find((l) => norm(l) === norm(r.label)) || "";
    label.addEventListener("change", () => { r.label = label.value; this.changed(); });
    this.field("then.label", labelSlot, label, () => (r.label ? null : `Choose what the rule concludes about ${this.outcome.name}.`));
    this.field("then.outcome", labelSlot, null);
    const confidenceId = uid("confidence");
    const confidenceSlot = this.slot("then.confidence");
    const confidence = h("input", { id: confidenceId, type: "number", step: "0.05", min: "0", max: "1", class: "short",
      value: r.confidence == null ? "" : String(r.confidence), placeholder: "e.g. 0.8" });
    confidence.addEventListener("input", () => {
      r.confidence = confidence.value === "" ? null : Number(confidence.value);
      this.changed();
    });
    this.field("then.confidence", confidenceSlot, confidence);
    const details = h("div", { class: "then-details", hidden: !r.concludes },
      h("div", { class: "field" },
        h("label", { for: labelId }, `then ${this.outcome.name} is`), label, labelSlot),
      h("div", { class: "field" },
        h("label", { for: confidenceId }, "with confidence (optional, above 0 and at most 1)"), confidence, confidenceSlot));
    concludes.addEventListener("change", () => {
      r.concludes = concludes.checked;
      details.hidden = !r.concludes;
      this.changed();
    });
    return h("section", { class: "then-section", "aria-label": "Conclusion" },
      h("h3", {}, "Then"),
      h("div", { class: "field checkbox-field" }, concludes,
        h("label", { for: concludesId }, `The rule concludes something about ${this.outcome.name}`),
        h("p", { class: "hint" }, "Without a conclusion the rule only marks the cases it matches (a feature for models)."),
        thenSlot),
      details);
  }

  renderGroup(group, path, parent, depth) {
    const inner = group.not ? `${path}.not` : path;
    const top = parent === null;
    const slot = this.slot(path);
    this.field(path, slot, null);
    if (inner !== path) this.field(inner, slot, null);
    const modeId = uid("mode");
    const mode = h("select", { id: modeId, dataset: { key: `${path}:mode` } },
      Object.entries(MODE_WORDS).map(([value, words]) => h("option", { value }, words)));
    mode.value = group.mode;
    mode.addEventListener("change", () => {
      group.mode = mode.value;
      if (group.mode === "atleast" && !(group.count > 0)) group.count = Math.min(2, group.items.length) || 1;
      this.changed(true);
    });
    this.field(`${inner}.all`, slot, mode);
    this.field(`${inner}.any`, slot, mode);
    this.field(`${inner}.of`, slot, mode);
    let count = null;
    if (group.mode === "atleast") {
      const countId = uid("count");
      const input = h("input", { id: countId, type: "number", min: 0, step: 1, class: "tiny", value: group.count == null ? "" : String(group.count),
        dataset: { key: `${path}:count` } });
      input.addEventListener("input", () => {
        group.count = input.value === "" ? null : Number(input.value);
        this.changed();
      });
      this.field(`${inner}.at_least`, slot, input, () => (group.count == null ? "Say how many of the conditions must be true." : null));
      count = h("span", { class: "count" }, h("label", { for: countId }, "How many:"), input);
    }
    let not = null;
    if (!top) {
      const notId = uid("not");
      const box = h("input", { id: notId, type: "checkbox", checked: group.not, dataset: { key: `${path}:not` } });
      box.addEventListener("change", () => { group.not = box.checked; this.changed(true); });
      not = h("span", { class: "not-toggle" }, box, h("label", { for: notId, title: "Turn the whole group around" }, "not"));
    }
    const items = h("ol", { class: "items" }, group.items.map((item, i) => {
      const childPath = collapses(group) ? inner : `${inner}.${itemsKey(group)}[${i}]`;
      return h("li", {}, item.type === "group"
        ? this.renderGroup(item, childPath, group, depth + 1)
        : this.renderComparison(item, childPath, group, i));
    }));
    const add = h("button", { type: "button", class: "small", dataset: { key: `${path}:add` } }, "+ Add a condition");
    add.addEventListener("click", () => {
      group.items.push(emptyComparison());
      this.changed(true);
      const index = group.items.length - 1;
      const childPath = collapses(group) ? inner : `${inner}.${itemsKey(group)}[${index}]`;
      const select = this.whenRoot.querySelector(`[data-key="${CSS.escape(`${childPath}:feature`)}"]`);
      if (select) select.focus();
    });
    const addGroup = depth < 6 ? h("button", { type: "button", class: "small", dataset: { key: `${path}:addgroup` } }, "+ Add a group") : null;
    if (addGroup) addGroup.addEventListener("click", () => {
      const added = emptyGroup();
      added.focusFirst = true;  // a keyboard user goes on where the group appeared (see below)
      group.items.push(added);
      this.changed(true);
    });
    let remove = null;
    if (!top) {
      remove = h("button", { type: "button", class: "small danger-link", dataset: { key: `${path}:remove` } }, "Remove this group");
      remove.addEventListener("click", () => {
        parent.items.splice(parent.items.indexOf(group), 1);
        this.changed(true);
      });
    }
    const legend = h("legend", {}, not, h("label", { for: modeId, class: top ? "" : "visually-hidden" }, top ? "The rule applies when:" : "Group:"), mode, count);
    if (group.focusFirst) {
      delete group.focusFirst;
      // Once the group is on the page: its first field takes the focus.
      queueMicrotask(() => { const first = items.querySelector("input.feature"); if (first) first.focus(); });
    }
    return h("fieldset", { class: `group depth-${Math.min(depth, 3)}${group.not ? " negated" : ""}` },
      legend, slot, items,
      h("div", { class: "group-actions" }, add, addGroup, remove));
  }

  renderComparison(node, path, group, index) {
    const inner = node.not ? `${path}.not` : path;
    const feature = this.feature(node.feature);
    const rowSlot = this.slot(path);
    this.field(path, rowSlot, null);
    if (inner !== path) this.field(inner, rowSlot, null);

    // not
    const notId = uid("not");
    const notBox = h("input", { id: notId, type: "checkbox", checked: node.not, dataset: { key: `${path}:not` } });
    notBox.addEventListener("change", () => { node.not = notBox.checked; this.changed(true); });

    // feature
    const featureId = uid("feature");
    const featureSlot = this.slot(`${inner}.feature`);
    const hintId = uid("feature-hint");
    // The feature is found by typing (names, synonyms, descriptions; feature-picker.js): an ARIA combobox that
    // shows the chosen feature's name. A plain list of 300 names does not serve, and its type-ahead stops at the
    // first space. What is typed and not chosen from the list is kept as typed, so the check can say "no feature
    // called ..., did you mean ..." beside it.
    const picker = featureCombobox({
      features: this.features, label: null, id: featureId, value: feature ? feature.name : node.feature,
      placeholder: "Type to find a feature…", inputClass: "feature", dataset: { key: `${path}:feature` },
      onChoose: (f) => this.setFeature(node, f.name),
      onCommit: (typed) => {
        const found = this.feature(typed);
        this.setFeature(node, found ? found.name : typed.trim());
      },
    });
    const select = picker.input;
    select.setAttribute("aria-describedby", hintId);
    if (this.readOnly) select.readOnly = true;
    this.field(`${inner}.feature`, featureSlot, select, () => (node.feature ? null : "Choose what this condition tests."));

    // comparison
    const opId = uid("op");
    const opSlot = this.slot(`${inner}.op`);
    const ops = feature ? OPS_BY_TYPE[feature.type] : ALL_OPS;
    const opSelect = h("select", { id: opId, dataset: { key: `${path}:op` } },
      [...ops, ...(ops.includes(node.op) ? [] : [node.op])].map((op) => h("option", { value: op }, OP_WORDS[op] || op)));
    opSelect.value = node.op;
    opSelect.addEventListener("change", () => {
      node.op = opSelect.value;
      node.values = fitValues(node.op, node.values, feature);
      this.changed(true);
    });
    this.field(`${inner}.op`, opSlot, opSelect);

    // values
    const valueSlot = this.slot(`${inner}.values`);
    const values = this.renderValues(node, inner, feature, valueSlot);

    const remove = h("button", { type: "button", class: "icon-button", title: "Remove this condition",
      "aria-label": `Remove condition ${index + 1}`, dataset: { key: `${path}:remove` } }, "✕");
    remove.addEventListener("click", () => {
      group.items.splice(group.items.indexOf(node), 1);
      this.changed(true);
    });

    const hint = h("p", { class: "hint feature-hint", id: hintId }, featureHint(feature));
    const cleared = node.cleared ? h("p", { class: "notice warning cleared", role: "status" }, node.cleared) : null;
    node.cleared = "";  // said once, at the change
    return h("div", { class: `condition${node.not ? " negated" : ""}` },
      h("div", { class: "condition-row" },
        h("span", { class: "not-toggle" }, notBox, h("label", { for: notId, title: "Turn this condition around" }, "not")),
        h("div", { class: "cell feature-cell" }, h("label", { for: featureId, class: "small-label" }, "Feature"), picker, featureSlot),
        h("div", { class: "cell op-cell" }, h("label", { for: opId, class: "small-label" }, "Comparison"), opSelect, opSlot),
        h("div", { class: "cell value-cell" }, values, valueSlot),
        remove),
      cleared, hint, rowSlot);
  }

  // A condition's feature chosen (or typed): the comparison follows the type, and what was typed stays when the
  // new feature can hold it (same type; for a category, the values it has); otherwise it is cleared, and the row
  // says so: nothing a person typed disappears without a word.
  setFeature(node, name) {
    if (name === node.feature) {
      this.changed(true);
      return;
    }
    const before = this.feature(node.feature);
    const after = this.feature(name);
    const typed = (node.values || []).filter((v) => v !== null && v !== undefined && v !== "");
    node.feature = name;
    if (!after || !before || before.type !== after.type) node.op = after ? DEFAULT_OP[after.type] : node.op;
    if (after && !OPS_BY_TYPE[after.type].includes(node.op)) node.op = DEFAULT_OP[after.type];
    // A name not in the vocabulary (a typo, to be fixed with "Use ...") keeps everything as it is.
    const fits = (v) => !after || ((before ? before.type === after.type : holds(after, v))
      && (after.type !== "category" || (after.values || []).includes(v)));
    node.values = fitValues(node.op, node.values.map((v) => (fits(v) ? v : null)), after);
    const lost = typed.filter((v) => !node.values.includes(v));
    node.cleared = lost.length && after
      ? `${lost.join(", ")} was cleared: “${after.name}” ${after.type === "category"
        ? `takes ${(after.values || []).join(", ")}` : `takes ${TYPE_WORDS[after.type] || after.type}`}.`
      : "";
    this.changed(true);
  }

  renderValues(node, path, feature, slot) {
    const kind = kindOf(feature, node);
    if (NO_VALUE.includes(node.op)) {
      this.field(`${path}.values`, slot, null);
      return h("span", { class: "small-label" }, "No value needed");
    }
    if (node.op === "between") {
      const [a, b] = [0, 1].map((i) => this.valueInput(node, path, i, kind, feature, slot, i === 0 ? "From" : "and (both included)"));
      this.field(`${path}.values`, slot, null);
      return h("div", { class: "between" }, a, b);
    }
    if (LIST.includes(node.op)) {
      this.field(`${path}.values`, slot, null, () => (node.values.filter((v) => v !== null && v !== "").length ? null : "Choose at least one value."));
      if (kind === "category") return this.checkboxes(node, path, feature, slot);
      const list = h("div", { class: "value-list" },
        node.values.map((_, i) => h("div", { class: "value-item" },
          this.valueInput(node, path, i, kind, feature, slot, `Value ${i + 1}`),
          node.values.length > 1 ? removeButton(() => { node.values.splice(i, 1); this.changed(true); }, `Remove value ${i + 1}`) : null)));
      const add = h("button", { type: "button", class: "small", dataset: { key: `${path}:addvalue` } }, "+ Another value");
      add.addEventListener("click", () => { node.values.push(null); this.changed(true); });
      list.append(add);
      return list;
    }
    this.field(`${path}.values`, slot, null);
    return this.valueInput(node, path, 0, kind, feature, slot, "Value");
  }

  checkboxes(node, path, feature, slot) {
    const allowed = [...feature.values];
    for (const v of node.values) if (typeof v === "string" && !allowed.some((a) => norm(a) === norm(v))) allowed.push(v);
    const box = h("fieldset", { class: "choices" }, h("legend", { class: "small-label" }, "Values (tick one or more)"),
      allowed.map((value, i) => {
        const id = uid("choice");
        const input = h("input", { id, type: "checkbox", checked: node.values.some((v) => norm(v) === norm(value)), dataset: { key: `${path}:choice:${value}` } });
        input.addEventListener("change", () => {
          if (input.checked) node.values.push(value);
          else node.values = node.values.filter((v) => norm(v) !== norm(value));
          this.changed();
        });
        const index = node.values.findIndex((v) => norm(v) === norm(value));
        if (index >= 0) this.field(`${path}.values[${index}]`, slot, input);
        if (i === 0) this.field(`${path}.values`, slot, input);
        return h("span", { class: "choice" }, input, h("label", { for: id }, feature.values.includes(value) ? value : `${value} (not allowed)`));
      }));
    return box;
  }

  valueInput(node, path, i, kind, feature, slot, labelText) {
    const id = uid("value");
    const value = node.values[i];
    const key = `${path}:value:${i}`;
    let control;
    const set = (v) => { node.values[i] = v; this.changed(); };
    const blankWords = { number: "Enter a number.", category: "Choose one of the values.", boolean: "Choose yes or no.", text: "Type the text to look for." };
    if (kind === "number" && (value === null || value === undefined || typeof value === "number" || typeof value === "object")) {
      const number = value && typeof value === "object" ? value.number : value;
      let unit = value && typeof value === "object" ? (value.unit ?? null) : null;
      const input = h("input", { id, type: "number", step: "any", class: "number", value: number == null ? "" : String(number), dataset: { key } });
      const read = () => {
        const n = input.value === "" || Number.isNaN(input.valueAsNumber) ? null : input.valueAsNumber;
        set(n === null ? null : unit ? { number: n, unit } : n);
      };
      input.addEventListener("input", read);
      this.field(`${path}.values[${i}]`, slot, input, () => (node.values[i] == null ? blankWords.number : null));
      const unitControl = this.unitControl(feature, unit, (u) => { unit = u; read(); }, `${key}:unit`, labelText);
      control = h("span", { class: "with-unit" }, input, unitControl);
      return h("span", { class: "value" }, h("label", { for: id, class: "small-label" }, labelText), control);
    }
    if (kind === "category" || kind === "boolean") {
      const options = kind === "boolean" ? [["yes", true], ["no", false]] : feature.values.map((v) => [v, v]);
      if (value !== null && value !== undefined && !options.some(([, v]) => v === value || norm(String(v)) === norm(String(value)))) options.push([`${value} (not allowed)`, value]);
      const select = h("select", { id, dataset: { key } }, h("option", { value: "" }, "Choose…"),
        options.map(([words], n) => h("option", { value: String(n) }, words)));
      const chosen = options.findIndex(([, v]) => v === value || (typeof v === "string" && norm(v) === norm(String(value))));
      select.value = chosen >= 0 ? String(chosen) : "";
      select.addEventListener("change", () => set(select.value === "" ? null : options[Number(select.value)][1]));
      this.field(`${path}.values[${i}]`, slot, select, () => (node.values[i] == null ? blankWords[kind] : null));
      return h("span", { class: "value" }, h("label", { for: id, class: "small-label" }, labelText), select);
    }
    const input = h("input", { id, class: "text-value", value: value == null ? "" : String(value), autocomplete: "off", dataset: { key } });
    input.addEventListener("input", () => set(input.value === "" ? null : input.value));
    this.field(`${path}.values[${i}]`, slot, input, () => (node.values[i] == null ? blankWords.text : null));
    return h("span", { class: "value" }, h("label", { for: id, class: "small-label" }, labelText), input);
  }

  unitControl(feature, unit, onUnit, key, labelText) {
    if (!feature || !feature.unit) {
      if (!unit) return null;
      // A unit typed for a feature measured without one (from text mode: "2 cm"): a choice, so that it can be
      // removed here, as its message says.
      const id = uid("unit");
      const select = h("select", { id, class: "unit-select", dataset: { key } },
        h("option", { value: unit }, unit), h("option", { value: "" }, "no unit"));
      select.value = unit;
      select.addEventListener("change", () => onUnit(select.value || null));
      return h("span", { class: "unit" }, h("label", { for: id, class: "visually-hidden" }, `Unit of ${labelText.toLowerCase()}`), select);
    }
    const own = this.units[feature.unit] || this.units[feature.unit.toLowerCase()];
    const symbols = own ? [...new Set(Object.values(this.units).filter(([, kind]) => kind === own[1]).map(([s]) => s))].filter((s) => s !== own[0] && s !== feature.unit) : [];
    if (unit && unit !== feature.unit && !symbols.includes(unit)) symbols.push(unit);
    if (!symbols.length && !unit) return h("span", { class: "unit" }, feature.unit);
    const id = uid("unit");
    const select = h("select", { id, class: "unit-select", dataset: { key } },
      h("option", { value: "" }, feature.unit),
      unit === feature.unit ? h("option", { value: feature.unit }, `${feature.unit} `) : null,
      symbols.map((s) => h("option", { value: s }, s)));
    select.value = unit || "";
    select.addEventListener("change", () => onUnit(select.value || null));
    return h("span", { class: "unit" }, h("label", { for: id, class: "visually-hidden" }, `Unit of ${labelText.toLowerCase()}`), select);
  }
}

function removeButton(onClick, label) {
  const button = h("button", { type: "button", class: "icon-button", "aria-label": label, title: label }, "✕");
  button.addEventListener("click", onClick);
  return button;
}

function kindOf(feature, node) {
  if (feature) return feature.type;
  const first = node.values.find((v) => v !== null && v !== undefined);
  if (typeof first === "boolean") return "boolean";
  if (typeof first === "number" || (first && typeof first === "object")) return "number";
  if (typeof first === "string") return "text";
  return NUMERIC.includes(node.op) ? "number" : "text";
}

// Whether a value (from a feature not in the vocabulary, e.g. a misspelt one) can stay under `feature`.
function holds(feature, value) {
  if (feature.type === "number") return typeof value === "number" || (typeof value === "string" && value.trim() !== "" && !Number.isNaN(Number(value)));
  if (feature.type === "boolean") return typeof value === "boolean";
  return typeof value === "string";
}

function fitValues(op, values, feature) {
  const kept = (values || []).filter((v) => v !== null && v !== undefined);
  if (NO_VALUE.includes(op)) return [];
  if (op === "between") return [values[0] ?? null, values[1] ?? null];
  if (LIST.includes(op)) return feature && feature.type === "category" ? kept.filter((v) => typeof v === "string") : (kept.length ? kept : [null]);
  return [values[0] ?? null];
}

function featureHint(feature) {
  if (!feature) return "";
  const parts = [];
  if (feature.description) parts.push(feature.description);
  if (feature.synonyms && feature.synonyms.length) parts.push(`Also called: ${feature.synonyms.join(", ")}.`);
  if (feature.range) parts.push(`Usual range: ${feature.range[0]} to ${feature.range[1]}${feature.unit ? ` ${feature.unit}` : ""}.`);
  if (feature.type === "category") parts.push(`Values: ${feature.values.join(", ")}.`);
  if (feature.type === "boolean") parts.push("Yes or no.");
  return parts.join(" ");
}
