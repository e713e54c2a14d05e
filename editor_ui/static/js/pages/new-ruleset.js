// A new rule set, started in the browser (authors and admins): title and id, what it decides (outcome, answers,
// how rules combine, the answer when none fires), the features, drafted from a CSV file of cases by the server
// (POST /api/rulesets/draft: nothing saved) and editable one by one, and a why. "Create" sends it all to
// POST /api/rulesets; a refusal is shown beside the field it concerns. Then the new rule set opens, ready for its
// first rule. A box (ticked once a file is drafted) keeps the file's cases with the new rule set, in the same
// request (server/services/starting.py): with the outcome column, the whole file becomes its reference cases;
// without one, its first 20 cases become its examples. So "Try it" shows matches as soon as the first rule is typed.
import { ApiError, pages, paths, request, upload } from "../api.js";
import { h, notice, replace, uid } from "../dom.js";
import { startShell } from "../shell.js";

startShell();

const HEADINGS = ["Name in the rules", "Kind of value", "Unit", "Usual range or allowed values", "Description", "Column in the data", ""];
const TYPES = { number: "a number", category: "one of a list", boolean: "yes or no", text: "free text" };
const POLICIES = {
  "first match": ["First match", "Rules are tried from the highest priority down; the first one that fires gives the answer."],
  "weighted vote": ["Weighted vote", "Every rule that fires votes for its answer with its confidence; the answer with the most weight wins."],
};
const lines = (text) => text.split("\n").map((s) => s.trim()).filter(Boolean);
const words = (text) => text.trim().split(/\s+/).filter(Boolean).join(" ");
const draftPath = (outcome) => `/api/rulesets/draft${outcome ? `?outcome=${encodeURIComponent(outcome)}` : ""}`;

// ---- fields with a place for their problem ------------------------------------------------------------------------
const slots = new Map();   // field path as the server names it -> {control, problem}

function field(path, label, control, hint = "") {
  control.id = control.id || uid("in");
  const problem = h("p", { class: "field-error", id: uid("problem"), hidden: true });
  const hintEl = hint ? h("p", { class: "hint", id: uid("hint") }, hint) : null;
  control.setAttribute("aria-describedby", [hintEl && hintEl.id, problem.id].filter(Boolean).join(" "));
  slots.set(path, { control, problem });
  return h("div", { class: "field" }, h("label", { for: control.id }, label), control, hintEl, problem);
}

function say(path, message) {
  const slot = slots.get(path);
  if (!slot) return false;
  slot.problem.append(h("span", {}, message), " ");
  slot.problem.hidden = false;
  slot.control.setAttribute("aria-invalid", "true");
  return true;
}

// Before a new try at creating: the draft's own problems (file, outcome column) stay until a file is drafted again.
function clearProblems() {
  for (const [path, { control, problem }] of slots) {
    if (path === "file" || path === "outcome") continue;
    replace(problem);
    problem.hidden = true;
    control.removeAttribute("aria-invalid");
  }
  for (const row of rows) row.clear();
}

// ---- about: title and id ------------------------------------------------------------------------------------------
const title = h("input", { type: "text", autocomplete: "off", class: "wide", maxlength: 200 });
const rulesetId = h("input", { type: "text", autocomplete: "off", maxlength: 64, spellcheck: "false" });
const description = h("textarea", { rows: 2 });
let idTyped = false;

// The id the server would derive from the title (rules_dsl.ruleset.slugify): lower-case letters, digits, hyphens;
// never a name Windows keeps for a device, nor "new" (rules_dsl/layout.py: the server refuses "aux", makes "aux-2").
const NOT_AN_ID = /^(con|prn|aux|nul|com[0-9]|lpt[0-9]|new)$/;
function slug(text) {
  const ascii = text.normalize("NFKD").replace(/[^\x00-\x7f]/g, "").toLowerCase();
  const id = ascii.replace(/[^a-z0-9]+/g, "-").replace(/^-+|-+$/g, "").slice(0, 50).replace(/-+$/, "");
  return NOT_AN_ID.test(id) ? `${id}-2` : id;
}
title.addEventListener("input", () => { if (!idTyped) rulesetId.value = slug(title.value); });
rulesetId.addEventListener("input", () => { idTyped = rulesetId.value !== ""; });

replace(document.getElementById("about"), h("div", { class: "grid-2" },
  field("title", "Title", title, "For example: Breast mass triage"),
  field("id", "Id (in addresses)", rulesetId, "Made from the title; change it if you like: lower-case letters, digits and hyphens."),
  field("description", "Description (optional)", description)));

// ---- what it decides ----------------------------------------------------------------------------------------------
const outcomeName = h("input", { type: "text", autocomplete: "off" });
const labels = h("textarea", { rows: 3 });
const fallback = h("select", {});
const policyName = uid("policy");
const policyRadios = Object.entries(POLICIES).map(([value, [label, explain]], i) => {
  const id = uid("policy");
  const radio = h("input", { type: "radio", name: policyName, id, value, checked: i === 0 });
  return h("div", { class: "policy-choice" }, radio, h("label", { for: id }, h("strong", {}, label), " — ", explain));
});
const policyBox = h("fieldset", { class: "policy-choices" }, h("legend", {}, "How rules combine into one answer"), policyRadios);
const policyProblem = h("p", { class: "field-error", id: uid("problem"), hidden: true });
policyBox.setAttribute("aria-describedby", policyProblem.id);
slots.set("policy", { control: policyBox, problem: policyProblem });
let labelsFromDraft = false;   // filled from the outcome column and not changed since: a new draft may replace them
let nameFromDraft = false;
outcomeName.addEventListener("input", () => { nameFromDraft = false; });

function refillDefault() {
  const chosen = fallback.value;
  replace(fallback, h("option", { value: "abstain" }, "No answer: the case goes to a person"),
    lines(labels.value).map((l) => h("option", { value: l }, `The answer is “${l}”`)));
  fallback.value = [...fallback.options].some((o) => o.value === chosen) ? chosen : "abstain";
}
labels.addEventListener("input", () => { labelsFromDraft = false; refillDefault(); });
refillDefault();

replace(document.getElementById("decides"), h("div", { class: "grid-2" },
  field("outcome.name", "What the rule set decides (the outcome)", outcomeName, "For example: diagnosis, sepsis risk"),
  field("outcome.labels", "Possible answers, one per line", labels, "For example: benign and malignant. Filled in from the outcome column of a CSV file."),
  h("div", { class: "field span" }, policyBox, policyProblem),
  field("default", "When no rule fires", fallback)));

// ---- the features -------------------------------------------------------------------------------------------------
let rows = [];
const removed = new Set();    // columns whose feature the person removed (a new draft does not bring them back)
const body = h("tbody", {});
const featuresRoot = document.getElementById("features");

// One feature's row. `f.column` is its data column; a feature added by hand has none yet (`added`: its number), and
// reads the column of its name.
function featureRow(f, seen, added = 0) {
  const column = added ? "" : f.column || f.name;
  const label = (what) => (added ? `${what} of new feature ${added}` : `${what} of the feature from column ${column}`);
  const name = h("input", { type: "text", autocomplete: "off", "aria-label": label("Name"), value: f.name });
  const type = h("select", { "aria-label": label("Kind of value") },
    Object.entries(TYPES).map(([v, w]) => h("option", { value: v }, w)));
  type.value = f.type;
  const unit = h("input", { type: "text", autocomplete: "off", class: "short", "aria-label": label("Unit"), value: f.unit || "" });
  const low = h("input", { type: "number", step: "any", class: "short", "aria-label": label("Lowest usual value"), value: f.range ? f.range[0] : "" });
  const high = h("input", { type: "number", step: "any", class: "short", "aria-label": label("Highest usual value"), value: f.range ? f.range[1] : "" });
  const values = h("textarea", { rows: 2, "aria-label": label("Allowed values, one per line") });
  values.value = (f.values || []).join("\n");
  const about = h("input", { type: "text", autocomplete: "off", "aria-label": label("Description"), value: f.description || "" });
  const remove = h("button", { type: "button", class: "small danger-link", "aria-label": added ? `Remove new feature ${added}` : `Remove the feature from column ${column}` }, "Remove");
  const rangeBox = h("span", { class: "range" }, low, h("span", { "aria-hidden": "true" }, " to "), high);
  const show = () => {
    unit.hidden = type.value !== "number";
    rangeBox.hidden = type.value !== "number";
    values.hidden = type.value !== "category";
  };
  type.addEventListener("change", () => {
    show();
    tr.querySelector(".values-cell").dataset.label = type.value === "category" ? "Allowed values" : "Usual range";
  });
  show();
  const problem = h("td", { colspan: 7, class: "field-error" });
  const seenText = seen ? `${seen.filled} of ${seen.filled + seen.missing} filled${seen.examples.length ? `; e.g. ${seen.examples.slice(0, 3).join(", ")}` : ""}` : "";
  // data-label: what each cell is, said above it on a phone where the table is one card per feature (app.css)
  const tr = h("tr", { dataset: { column } },
    h("td", { dataset: { label: HEADINGS[0] } }, name), h("td", { dataset: { label: HEADINGS[1] } }, type),
    h("td", { dataset: { label: HEADINGS[2] } }, unit),
    h("td", { dataset: { label: type.value === "category" ? "Allowed values" : "Usual range" }, class: "values-cell" }, rangeBox, values),
    h("td", { dataset: { label: HEADINGS[4] } }, about),
    h("td", { class: "column-cell", dataset: { label: HEADINGS[5] } }, added ? h("span", { class: "hint" }, "Its name") : h("code", {}, column),
      seenText ? h("span", { class: "hint" }, seenText) : null),
    h("td", { class: "remove-cell" }, remove));
  const problemRow = h("tr", { class: "row-problem", hidden: true }, problem);
  const row = {
    column, tr, problemRow,
    controls: { name, type, unit, range: low, values, description: about, column: name },
    read() {
      const spec = { name: words(name.value), type: type.value };
      if (column && column !== spec.name) spec.column = column;
      if (type.value === "number" && unit.value.trim()) spec.unit = unit.value.trim();
      if (type.value === "number" && (low.value !== "" || high.value !== "")) {
        spec.range = [low.value === "" ? null : Number(low.value), high.value === "" ? null : Number(high.value)];
      }
      if (type.value === "category") spec.values = lines(values.value);
      if (about.value.trim()) spec.description = about.value.trim();
      return spec;
    },
    say(key, message) {
      problem.append(h("span", {}, message), " ");
      problemRow.hidden = false;
      (this.controls[key] || name).setAttribute("aria-invalid", "true");
    },
    clear() {
      replace(problem);
      problemRow.hidden = true;
      for (const c of Object.values(this.controls)) c.removeAttribute("aria-invalid");
    },
  };
  remove.addEventListener("click", () => {
    removed.add(column);
    rows = rows.filter((r) => r !== row);
    tr.remove();
    problemRow.remove();
    showCount();
    addButton.focus();
  });
  return row;
}

const count = h("p", { class: "hint", "aria-live": "polite" });
const addButton = h("button", { type: "button" }, "+ Add a feature");
let addedCount = 0;
addButton.addEventListener("click", () => {
  addedCount += 1;
  const row = featureRow({ name: "", type: "number" }, null, addedCount);
  rows.push(row);
  body.append(row.tr, row.problemRow);
  row.controls.name.focus();
  showCount();
});

function showCount() {
  count.textContent = rows.length ? `${rows.length === 1 ? "One feature" : `${rows.length} features`}.` : "No features yet: draft them from a CSV file or add them one by one.";
}

function showFeatures() {
  replace(body, rows.map((r) => [r.tr, r.problemRow]));
  showCount();
}

replace(featuresRoot, h("div", { class: "table-wrap" }, h("table", { class: "draft-table" },
  h("caption", {}, "Features"),
  h("thead", {}, h("tr", {}, HEADINGS.map((t) => h("th", { scope: "col" }, t)))),
  body)), count, h("div", { class: "actions" }, addButton));
showCount();

// ---- drafting from a CSV file -------------------------------------------------------------------------------------
const file = h("input", { type: "file", accept: ".csv,text/csv" });
const outcomeColumn = h("select", {}, h("option", { value: "" }, "Choose a file first"));
outcomeColumn.disabled = true;
const draftMessage = h("div", { "aria-live": "polite" });
const EXAMPLE_ROWS = 20;   // server/services/starting.py
const keepCases = h("input", { type: "checkbox", id: uid("keep"), checked: true });
const keepHint = h("p", { class: "hint", id: uid("hint") });
const keepProblem = h("p", { class: "field-error", id: uid("problem"), hidden: true });
keepCases.setAttribute("aria-describedby", `${keepHint.id} ${keepProblem.id}`);
slots.set("cases", { control: keepCases, problem: keepProblem });
const keepBox = h("div", { class: "field checkbox-field keep-cases", hidden: true }, keepCases,
  h("label", { for: keepCases.id }, "Keep the cases of this file, so that “Try it” shows which of them your first rule matches"),
  keepHint, keepProblem);
let drafted = null;   // the file the features were last drafted from

// What keeping the cases means, in plain words, for the outcome column chosen (or none).
function explainKeeping() {
  const chosen = outcomeColumn.value;
  keepHint.textContent = chosen
    ? `All the cases of the file are kept on the server as the rule set's reference cases, each with its true answer from the column “${chosen}”. Only people who may read this rule set see them.`
    : `No outcome column is chosen, so only the first ${EXAMPLE_ROWS} cases are kept, in the columns the features read, as the rule set's example cases. They are saved with its first version: everyone who may read the rule set sees them, in every version.`;
}

async function draft(outcome) {
  const chosen = file.files && file.files[0];
  if (!chosen) return;
  for (const path of ["file", "outcome"]) {
    const slot = slots.get(path);
    replace(slot.problem);
    slot.problem.hidden = true;
    slot.control.removeAttribute("aria-invalid");
  }
  replace(draftMessage, h("p", { class: "loading", role: "status" }, "Reading the file…"));
  let answer;
  try {
    answer = await upload(draftPath(outcome), chosen, "text/csv");
  } catch (e) {
    replace(draftMessage);
    drafted = null;
    keepBox.hidden = true;
    if (!say(e.field === "outcome" ? "outcome" : "file", e.message)) replace(draftMessage, notice(e.message, "error"));
    return;
  }
  const columns = answer.columns.map((c) => c.column);
  if (!outcome && answer.suggested_outcome && !outcomeColumn.dataset.chosen) {
    outcomeColumn.dataset.chosen = "suggested";
    fillOutcomeColumns(columns, answer.suggested_outcome);
    await draft(answer.suggested_outcome);
    return;
  }
  fillOutcomeColumns(columns, outcome);
  drafted = chosen;
  keepBox.hidden = false;
  explainKeeping();
  const seen = new Map(answer.columns.map((c) => [c.column, c]));
  const kept = new Map(rows.filter((r) => r.column).map((r) => [r.column, r]));
  const added = rows.filter((r) => !r.column);
  rows = answer.features.filter((f) => !removed.has(f.column || f.name))
    .map((f) => kept.get(f.column || f.name) || featureRow(f, seen.get(f.column || f.name))).concat(added);
  showFeatures();
  if (outcome && (nameFromDraft || !outcomeName.value.trim())) {
    outcomeName.value = outcomeWords(outcome);
    nameFromDraft = true;
  }
  if (outcome && (labelsFromDraft || !labels.value.trim())) {
    labels.value = answer.outcome.labels.join("\n");
    labelsFromDraft = true;
    refillDefault();
  }
  replace(draftMessage, notice(summary(answer, outcome), "ok"),
    answer.notes.map((n) => notice(n, "warning")));
}

function outcomeWords(column) {
  const w = column.replace(/([a-z])([A-Z])/g, "$1 $2").toLowerCase().match(/[^\W_]+/gu);
  return w ? w.join(" ") : column;
}

function summary(answer, outcome) {
  const drafted = answer.features.length;
  const first = `Read ${answer.rows === 1 ? "one case" : `${answer.rows} cases`}: ${drafted === 1 ? "one feature" : `${drafted} features`} drafted.`;
  const then = outcome
    ? ` The column “${outcome}” holds the outcome (${answer.outcome.labels.join(", ") || "no values"}); it is not a feature.`
    : " No column was chosen as the outcome.";
  return `${first}${then} Check each guess below.`;
}

function fillOutcomeColumns(columns, chosen) {
  replace(outcomeColumn, h("option", { value: "" }, "None of them"), columns.map((c) => h("option", { value: c }, c)));
  outcomeColumn.value = chosen || "";
  outcomeColumn.disabled = false;
}

file.addEventListener("change", () => {
  delete outcomeColumn.dataset.chosen;
  removed.clear();
  rows = rows.filter((r) => !r.column);
  draft("");
});
outcomeColumn.addEventListener("change", () => {
  outcomeColumn.dataset.chosen = "person";
  removed.delete(outcomeColumn.value);
  draft(outcomeColumn.value);
});

replace(document.getElementById("draft"), h("div", { class: "grid-2" },
  field("file", "Draft the features from a CSV file", file, "A table saved as CSV (comma-separated, UTF-8), the column names on the first line. Its first 1,000 cases are read to guess the features; the cases are kept only if you say so below."),
  field("outcome", "Column with the outcome", outcomeColumn, "It is not a feature: its values become the possible answers.")),
draftMessage, keepBox);

// ---- why and create -----------------------------------------------------------------------------------------------
const why = h("textarea", { rows: 2 });
replace(document.getElementById("why"), field("why", "Why are you starting this rule set?", why, "Kept with the first version, so reviewers and auditors know why."));

const form = document.getElementById("new-ruleset");
const message = document.getElementById("create-message");
const createButton = document.getElementById("create");

// Leaving with something typed asks first (as the rule editor does); a created rule set leaves freely.
let dirty = false;
form.addEventListener("input", () => { dirty = true; });
form.addEventListener("change", () => { dirty = true; });
window.addEventListener("beforeunload", (event) => {
  if (dirty) { event.preventDefault(); event.returnValue = ""; }
});

function placeProblem(p, sentNames) {
  const path = p.field || "";
  if (path.startsWith("features")) {
    const rest = path.slice("features.".length);
    const match = sentNames.filter(([n]) => rest === n || rest.startsWith(`${n}.`)).sort((a, b) => b[0].length - a[0].length)[0];
    if (match) {
      const key = rest.slice(match[0].length + 1).split(".")[0];
      match[1].say(key, p.message);
      return true;
    }
  }
  let at = path;
  while (at && !slots.has(at)) at = at.includes(".") ? at.slice(0, at.lastIndexOf(".")) : "";
  return at ? say(at, p.message) : false;
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  clearProblems();
  replace(message);
  const features = rows.map((r) => r.read());
  const policy = form.querySelector(`input[name="${policyName}"]:checked`).value;
  const payload = {
    settings: {
      title: title.value.trim(), description: description.value.trim(),
      outcome: { name: words(outcomeName.value), labels: lines(labels.value) },
      policy, default: fallback.value,
    },
    vocabulary: { features },
    why: why.value.trim(),
  };
  if (rulesetId.value.trim()) payload.id = rulesetId.value.trim();
  if (drafted && keepCases.checked) {
    let text;
    try {
      text = await drafted.text();
    } catch {
      say("cases", "The file cannot be read again (was it moved or changed?). Choose it again, or clear this box.");
      replace(message, notice("Not created yet: the cases could not be read.", "error"));
      keepCases.focus();
      return;
    }
    payload.cases = { csv: text, outcome_column: outcomeColumn.value || null, name: `Cases from ${drafted.name}`.slice(0, 100) };
  }
  const unnamed = rows.filter((r) => !r.read().name);
  if (unnamed.length) {
    for (const r of unnamed) r.say("name", "Give this feature a name, or remove it.");
    replace(message, notice("Not created yet: every feature needs a name.", "error"));
    unnamed[0].controls.name.focus();
    return;
  }
  createButton.disabled = true;
  try {
    const answer = await request("POST", paths.rulesets(), { body: payload });
    dirty = false;
    // What became of the cases is said on the rule set's page (a failure to keep them too: the rule set is made).
    if (answer.data.cases) {
      try { sessionStorage.setItem(`rulecraft.created-cases.${answer.data.id}`, JSON.stringify(answer.data.cases)); } catch { /* not said */ }
    }
    window.location.assign(`${pages.ruleset(answer.data.id)}?created=1`);
  } catch (e) {
    createButton.disabled = false;
    if (!(e instanceof ApiError)) throw e;
    const problems = e.problems.length ? e.problems : [{ field: e.field, message: e.message }];
    const sentNames = rows.map((r, i) => [features[i].name, r]);
    const unplaced = problems.filter((p) => !placeProblem(p, sentNames));
    replace(message, h("div", { class: "notice error", role: "alert" },
      h("p", {}, h("strong", {}, "The rule set was not created. "),
        unplaced.length < problems.length ? "What to fix is written beside each marked field." : ""),
      unplaced.length ? h("ul", {}, unplaced.map((p) => h("li", {}, p.message))) : null));
    const first = form.querySelector("[aria-invalid=true]");
    if (first) first.focus();
  }
});
