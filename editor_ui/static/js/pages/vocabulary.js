// The vocabulary (features) and the outcome / policy settings of a rule set: read by everyone who reads rules,
// changed by authors (with a why). A change that would break rules is refused with the list of those rules.
import { ApiError, get, pages, paths, request } from "../api.js";
import { askWhy } from "../dialogs.js";
import { can, h, loading, notice, pageData, replace, uid } from "../dom.js";
import { fillTitle } from "../rulesets-common.js";
import { startShell } from "../shell.js";

startShell();
const { ruleset } = pageData();
const editable = can("rules.write");
const TYPES = { number: "a number", category: "one of a list of values", boolean: "yes or no", text: "free text" };
const POLICIES = { "first match": "The first rule that fires decides (highest priority first)", "weighted vote": "Rules that fire vote, weighted by their confidence" };
let version = null;
let features = [];
let settings = null;
const slots = new Map();

const lines = (text) => text.split("\n").map((s) => s.trim()).filter(Boolean);

function slot(path) {
  const el = h("p", { class: "field-problem", id: uid("problem"), hidden: true });
  slots.set(path, el);
  return el;
}

function showProblems(problems, prefix) {
  for (const [path, el] of slots) if (path.startsWith(prefix)) { replace(el); el.hidden = true; }
  const unplaced = [];
  for (const p of problems) {
    let path = p.field || "";
    while (path && !slots.has(path)) path = path.includes(".") ? path.slice(0, path.lastIndexOf(".")) : "";
    const el = path ? slots.get(path) : null;
    if (el) {
      el.append(h("span", { class: "error" }, p.message));
      el.hidden = false;
      const card = el.closest("details");
      if (card) card.open = true;
    } else unplaced.push(p);
  }
  return unplaced;
}

function input(label, value, { path, type = "text", hint = "", area = false, attrs = {} } = {}) {
  const id = uid("in");
  const problem = path ? slot(path) : null;
  const control = area ? h("textarea", { id, rows: 2, ...attrs }) : h("input", { id, type, autocomplete: "off", ...attrs });
  control.value = value == null ? "" : String(value);
  if (problem) control.setAttribute("aria-describedby", problem.id);
  return { control, el: h("div", { class: `field${area ? " span" : ""}` }, h("label", { for: id }, label), control, hint ? h("p", { class: "hint" }, hint) : null, problem) };
}

// ---- features -----------------------------------------------------------------------------------------------------

function featureCard(f, index) {
  const key = `features.${f.name}`;
  const name = input("Plain name", f.name, { path: key, hint: "How people say it, e.g. heart rate" });
  const typeId = uid("type");
  const type = h("select", { id: typeId }, Object.entries(TYPES).map(([v, words]) => h("option", { value: v }, words)));
  type.value = f.type;
  const typeSlot = slot(`${key}.type`);
  const unit = input("Unit", f.unit, { path: `${key}.unit`, hint: "e.g. mm, kg, °C, years (numbers only)" });
  const values = input("Allowed values, one per line", (f.values || []).join("\n"), { path: `${key}.values`, area: true });
  const low = input("Usual range: lowest", f.range ? f.range[0] : "", { type: "number", attrs: { step: "any" } });
  const high = input("highest", f.range ? f.range[1] : "", { type: "number", attrs: { step: "any" }, path: `${key}.range` });
  const synonyms = input("Other names, one per line", (f.synonyms || []).join("\n"), { path: `${key}.synonyms`, area: true });
  const description = input("Description", f.description, { path: `${key}.description`, area: true, hint: "What it means and how it is measured, for the people writing rules." });
  const column = input("Column in the data", f.column && f.column !== f.name ? f.column : "", { path: `${key}.column`, hint: "Only if the data calls it differently." });
  const showFor = () => {
    unit.el.hidden = type.value !== "number";
    low.el.hidden = type.value !== "number";
    high.el.hidden = type.value !== "number";
    values.el.hidden = type.value !== "category";
  };
  type.addEventListener("change", showFor);
  showFor();
  const remove = h("button", { type: "button", class: "small danger-link" }, "Remove this feature");
  const card = h("details", { class: "feature-editor", open: !f.name },
    h("summary", {}, h("strong", { class: "feature-name" }, f.name || "New feature"), " ", h("span", { class: "muted" }, featureSummary(f))),
    h("div", { class: "grid" }, name.el,
      h("div", { class: "field" }, h("label", { for: typeId }, "Kind of value"), type, typeSlot),
      unit.el, low.el, high.el, values.el, synonyms.el, column.el, description.el),
    h("div", { class: "actions" }, remove),
    slot(`${key}.__card`));
  remove.addEventListener("click", () => { card.remove(); });
  card.read = () => {
    const spec = { type: type.value };
    if (type.value === "number" && unit.control.value.trim()) spec.unit = unit.control.value.trim();
    if (type.value === "category") spec.values = lines(values.control.value);
    if (type.value === "number" && (low.control.value !== "" || high.control.value !== "")) {
      spec.range = [low.control.value === "" ? null : Number(low.control.value), high.control.value === "" ? null : Number(high.control.value)];
    }
    if (lines(synonyms.control.value).length) spec.synonyms = lines(synonyms.control.value);
    if (column.control.value.trim()) spec.column = column.control.value.trim();
    if (description.control.value.trim()) spec.description = description.control.value.trim();
    return [name.control.value.trim(), spec];
  };
  return card;
}

function featureSummary(f) {
  const parts = [TYPES[f.type] || f.type];
  if (f.unit) parts.push(f.unit);
  if (f.values) parts.push(f.values.join(", "));
  if (f.range) parts.push(`usually ${f.range[0]} to ${f.range[1]}`);
  const text = parts.join(" · ") + (f.description ? ` — ${f.description}` : "");
  return text.length > 140 ? `${text.slice(0, 139)}…` : text;
}

function readOnlyFeatures(root) {
  replace(root, h("div", { class: "table-wrap" }, h("table", {},
    h("thead", {}, h("tr", {}, ["Feature", "Kind of value", "Unit", "Allowed values or usual range", "Other names", "Description"].map((t) => h("th", { scope: "col" }, t)))),
    h("tbody", {}, features.map((f) => h("tr", {},
      h("th", { scope: "row" }, f.name), h("td", {}, TYPES[f.type] || f.type), h("td", {}, f.unit || ""),
      h("td", {}, f.values ? f.values.join(", ") : f.range ? `${f.range[0]} to ${f.range[1]}` : ""),
      h("td", {}, (f.synonyms || []).join(", ")), h("td", { class: "description" }, f.description || "")))))));
}

function editableFeatures(root, saved = false) {
  for (const path of [...slots.keys()]) if (path.startsWith("features")) slots.delete(path);
  const list = h("div", {}, features.map(featureCard));
  const add = h("button", { type: "button" }, "+ Add a feature");
  add.addEventListener("click", () => {
    const card = featureCard({ name: "", type: "number" }, list.children.length);
    list.append(card);
    card.querySelector("input").focus();
  });
  const message = h("div", { "aria-live": "polite" });
  const save = h("button", { type: "button", class: "primary" }, "Save the vocabulary…");
  save.addEventListener("click", async () => {
    replace(message);
    const entries = [...list.children].map((card) => card.read());
    const body = { features: Object.fromEntries(entries) };
    if (entries.some(([n]) => !n)) {
      replace(message, notice("Every feature needs a plain name.", "error"));
      return;
    }
    await askWhy({
      title: "Save the vocabulary",
      confirm: "Save",
      run: async (why) => {
        try {
          const answer = await request("PUT", paths.vocabulary(ruleset), { body: { vocabulary: body, why }, version });
          version = answer.version;
          features = answer.data.features;
          editableFeatures(root, true);
        } catch (e) {
          if (e instanceof ApiError && e.status === 422) {
            e.handled = true;
            refused(message, e, "features");
          }
          throw e;
        }
      },
    });
  });
  if (saved) replace(message, notice("The vocabulary is saved.", "ok"));
  replace(root, list, h("div", { class: "actions" }, add, save), message);
}

// Refusals: "would break rules" lists the rules (with links); other problems go beside their fields.
function refused(message, error, prefix) {
  const unplaced = showProblems(error.problems, prefix);
  if (error.code === "breaks-rules") {
    const broken = [...new Set(error.problems.filter((p) => p.file && p.file.startsWith("rules/")).map((p) => p.file.slice(6).replace(/\.rule$/, "")))];
    replace(message, h("div", { class: "notice error", role: "alert" },
      h("p", {}, h("strong", {}, "Not saved. "), error.message),
      h("ul", {}, broken.map((id) => h("li", {}, h("a", { href: pages.rule(ruleset, id), dataset: { rule: id } }, id),
        ": ", [...new Set(error.problems.filter((p) => p.file === `rules/${id}.rule`).map((p) => p.message))].join(" "))))));
    nameRules(message);
    return;
  }
  replace(message, h("div", { class: "notice error", role: "alert" }, h("p", {}, h("strong", {}, "Not saved. "), error.message),
    unplaced.length ? h("ul", {}, unplaced.map((p) => h("li", {}, p.message))) : null));
}

// ---- settings -----------------------------------------------------------------------------------------------------

function readOnlySettings(root) {
  const s = settings;
  replace(root, h("dl", { class: "facts" },
    h("dt", {}, "Title"), h("dd", {}, s.title),
    h("dt", {}, "Decides"), h("dd", {}, `${s.outcome.name}: ${s.outcome.labels.join(", ")}`),
    h("dt", {}, "About the outcome"), h("dd", {}, s.outcome.description || "—"),
    h("dt", {}, "How rules combine"), h("dd", {}, POLICIES[s.policy] || s.policy),
    h("dt", {}, "When no rule fires"), h("dd", {}, s.default === "abstain" ? "No answer: the case goes to a person" : `The answer is “${s.default}”`)));
}

function editableSettings(root) {
  const s = settings;
  const title = input("Title", s.title, { path: "title" });
  const description = input("Description", s.description, { path: "description", area: true });
  const outcomeName = input("What the rule set decides (the outcome)", s.outcome.name, { path: "outcome.name", hint: "e.g. diagnosis, sepsis risk" });
  const labels = input("Possible answers, one per line", s.outcome.labels.join("\n"), { path: "outcome.labels", area: true });
  const outcomeDescription = input("About the outcome", s.outcome.description, { path: "outcome.description", area: true });
  const policyId = uid("policy");
  const policy = h("select", { id: policyId }, Object.entries(POLICIES).map(([v, words]) => h("option", { value: v }, words)));
  policy.value = s.policy;
  const policySlot = slot("policy");
  const defaultId = uid("default");
  const fallback = h("select", { id: defaultId });
  const defaultSlot = slot("default");
  const refill = () => {
    const chosen = fallback.value || s.default;
    replace(fallback, h("option", { value: "abstain" }, "No answer: the case goes to a person"),
      lines(labels.control.value).map((l) => h("option", { value: l }, `The answer is “${l}”`)));
    fallback.value = [...fallback.options].some((o) => o.value === chosen) ? chosen : "abstain";
  };
  labels.control.addEventListener("input", refill);
  refill();
  const message = h("div", { "aria-live": "polite" });
  const save = h("button", { type: "button", class: "primary" }, "Save the outcome and settings…");
  save.addEventListener("click", async () => {
    replace(message);
    const body = {
      title: title.control.value.trim(), description: description.control.value.trim(),
      outcome: { name: outcomeName.control.value.trim(), labels: lines(labels.control.value), description: outcomeDescription.control.value.trim() },
      policy: policy.value, default: fallback.value,
    };
    await askWhy({
      title: "Save the outcome and settings",
      confirm: "Save",
      run: async (why) => {
        try {
          const answer = await request("PUT", paths.settings(ruleset), { body: { settings: body, why }, version });
          version = answer.version;
          settings = answer.data.settings;
          showProblems([], "");
          replace(message, notice("The outcome and settings are saved.", "ok"));
        } catch (e) {
          if (e instanceof ApiError && e.status === 422) {
            e.handled = true;
            refused(message, e, "");
          }
          throw e;
        }
      },
    });
  });
  replace(root, h("div", { class: "feature-editor" }, h("div", { class: "grid" },
    title.el, outcomeName.el,
    h("div", { class: "field" }, h("label", { for: policyId }, "How rules combine into one answer"), policy, policySlot),
    h("div", { class: "field" }, h("label", { for: defaultId }, "When no rule fires"), fallback, defaultSlot),
    labels.el, outcomeDescription.el, description.el)),
  h("div", { class: "actions" }, save), message);
}

async function start() {
  fillTitle(ruleset);
  const featuresRoot = document.getElementById("features");
  const settingsRoot = document.getElementById("settings");
  replace(featuresRoot, loading());
  try {
    const [vocabulary, current] = await Promise.all([request("GET", paths.vocabulary(ruleset)), request("GET", paths.settings(ruleset))]);
    version = vocabulary.version;
    features = vocabulary.data.features;
    settings = current.data.settings;
  } catch (e) {
    replace(document.getElementById("vocabulary-status"), notice(e.message, "error"));
    replace(featuresRoot);
    return;
  }
  if (editable) {
    editableFeatures(featuresRoot);
    editableSettings(settingsRoot);
  } else {
    readOnlyFeatures(featuresRoot);
    readOnlySettings(settingsRoot);
  }
}

start();

// The rules a refusal lists, by their names (their ids, file names, move to the tooltip) once the names are read.
async function nameRules(root) {
  try {
    const names = new Map((await get(paths.rules(ruleset))).rules.map((r) => [r.id, r.name]));
    for (const link of root.querySelectorAll("a[data-rule]")) {
      const name = names.get(link.dataset.rule);
      if (name) {
        link.textContent = name;
        link.title = `rule id: ${link.dataset.rule}`;
      }
    }
  } catch { /* the ids stay */ }
}
