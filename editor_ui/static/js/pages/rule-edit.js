// The rule editor: form and text modes over one rule, checked on the server as it changes (what it reads, its
// problems beside their fields, the cases it matches); saving asks why; a conflict shows both versions.
import { ApiError, get, onSignedOut, pages, paths, request } from "../api.js";
import { askWhy } from "../dialogs.js";
import { can, h, notice, pageData, plural, replace, timeEl, when } from "../dom.js";
import { formatRule } from "../format.js";
import { mergeView } from "../merge-view.js";
import { OneCase } from "../one-case.js";
import { RuleForm } from "../rule-form.js";
import { RuleText } from "../rule-text.js";
import { fillTitle, START_FROM_KEY } from "../rulesets-common.js";
import { startShell } from "../shell.js";
import { ThresholdExplorer } from "../threshold-explorer.js";
import { ImproveRule } from "../improve-rule.js";
import { failingAfterSave, keepAsTest } from "../expected-tests.js";
import { renderTry, renderTryCounts } from "../try-it.js";
import { combine, wordDiff, wordsBlock } from "../worddiff.js";

startShell();
// If the session ends while someone is writing, keep the page (and the rule): say so, and sign in in a new tab.
onSignedOut(() => {
  replace($("signed-out"), h("div", { class: "notice error", role: "alert" },
    "You have been signed out, so the rule cannot be checked or saved right now. Nothing here is lost: ",
    h("a", { href: "/sign-in", target: "_blank", rel: "noopener" }, "sign in again in a new tab"),
    ", then come back here and save."));
});
const data = pageData();
const rulesetId = data.ruleset;
let ruleId = data.rule || null;
let baseVersion = null;
let mode = "form";
let form;
let text;
let outcome;
let vocabulary;
let dirty = false;
let lastCheck = null;        // {key, mode, result}
let pending = null;          // the check in flight: {key, promise, controller}
let timer = null;
let prefilledWhy = "";        // where a rule started from a suggestion came from
let typedWhy = "";            // the why typed for a save that was refused (someone saved first): kept for the next try
let explorer = null;         // the threshold explorer (authors and reviewers, with reference cases)
let oneCase = null;          // "Try it on one case" (one-case.js)

const $ = (id) => document.getElementById(id);
const units = JSON.parse($("units-data").textContent || "{}");

function payload() {
  const body = mode === "form" ? { ruleset: rulesetId, rule: form.toJSON() } : { ruleset: rulesetId, text: text.value };
  if (ruleId) body.id = ruleId; // the draft replaces this rule when its findings are worked out
  return body;
}

function scheduleCheck() {
  dirty = true;
  clearTimeout(timer);
  $("check-state").textContent = "Checking…";
  timer = setTimeout(() => { runCheck(); }, 350);
}

async function runCheck() {
  clearTimeout(timer);
  const body = payload();
  const key = JSON.stringify(body);
  if (lastCheck && lastCheck.key === key) return lastCheck;
  if (pending && pending.key === key) return pending.promise;
  if (pending) pending.controller.abort();
  const controller = new AbortController();
  const checkedMode = mode;
  const promise = (async () => {
    try {
      const { data: result } = await request("POST", paths.check(), { body, signal: controller.signal });
      lastCheck = { key, mode: checkedMode, result };
      if (mode === checkedMode) show(result);
      return lastCheck;
    } catch (e) {
      if (e.name === "AbortError") return null;
      $("check-state").textContent = `The rule could not be checked: ${e.message}`;
      return null;
    } finally {
      if (pending && pending.controller === controller) pending = null;
    }
  })();
  pending = { key, promise, controller };
  return promise;
}

function show(result) {
  replace($("signed-out"));
  const problems = [...result.errors, ...result.warnings];
  const sentence = $("sentence");
  // What the form holds, always: the server's sentence ("…" for each blank; the canonical text once complete), or
  // the same written here from the form when the server could not read it (issue 15, item 2).
  const words = result.text || result.sentence || (mode === "form" && form ? formatRule(form.toJSON()) : null);
  if (words) {
    sentence.textContent = words;
    sentence.classList.remove("stale");
  } else if (!sentence.textContent) {
    sentence.textContent = "(The rule appears here in words as you fill it in.)";
    sentence.classList.add("stale");
  } else {
    sentence.classList.add("stale");
  }
  let placed;
  if (mode === "form") {
    placed = form.showProblems(problems);
    text.showProblems([]);
  } else {
    text.showProblems(problems);
    placed = problems.map((problem) => ({ problem, message: problem.message }));
  }
  summary(placed, result);
  // Blank fields not yet visited are what is still to fill in, said kindly, not counted as mistakes.
  const mistakes = placed.filter((p) => p.problem.severity !== "warning").length;
  const needed = (placed.needed || []).length;
  $("check-state").textContent = result.valid
    ? (result.warnings.length ? "No mistakes; see the points to check." : "No mistakes found.")
    : mistakes ? `${plural(mistakes, "mistake")} to fix before saving${needed ? "; a few fields are still to fill in" : ""}.`
      : needed ? "A few fields are still to fill in." : `${plural(result.errors.length, "mistake")} to fix before saving.`;
  renderTry($("try"), result, outcome.name, { onKeep: can("rules.write") ? keepCase : null });
  renderTryCounts($("try-counts"), result);
  // A rule switched off decides nothing: there is no precision to explore.
  if (explorer && result.valid && mode === "form" && result.structured && result.structured.enabled !== false) {
    explorer.show(result.structured);
  }
  renderFindings($("rule-findings"), result.findings);
  if (oneCase) oneCase.update(result.structured);
}

// "Keep this case as a test": the person chooses the answer (the recorded one is offered first); saved with a why.
// The whole case is kept: the columns shown and the row's other known values ("case").
async function keepCase(row) {
  const recorded = row.values[outcome.name];
  const answer = await keepAsTest({ ruleset: rulesetId, values: { ...row.values, ...(row.case || {}) }, vocabulary, outcome,
    suggested: recorded === null || recorded === undefined ? null : String(recorded) });
  kept(answer);
}

function kept(answer) {
  if (!answer) return;
  // The tests run on the rules as saved: a failure may only mean that this rule is not saved yet.
  const unsaved = answer.failed && (dirty || !ruleId)
    ? " The tests run on the saved rules: save this rule to see whether it makes them pass." : "";
  replace($("tests-state"), notice(`Kept as a test: the rule set now has ${plural(answer.cases, "test")}`
    + (answer.failed ? `, ${answer.failed} failing.` : ", all passing.") + unsaved, answer.failed ? "warning" : "ok"),
    h("p", {}, h("a", { href: pages.tests(rulesetId) }, "See the tests")));
}

// "Keep this case as a test" from "Try it on one case": the typed values become a row of tests.csv; the answer the
// rule set gives now (with the rule as written) is offered first, and the person chooses.
async function keepTypedCase({ values, answer }) {
  const answered = await keepAsTest({ ruleset: rulesetId, values, vocabulary, outcome,
    suggested: answer === null ? "no answer" : answer,
    said: `With the rule as written, the rule set answers ${answer === null ? "nothing (no answer)" : `“${answer}”`} `
      + "for this case; that is offered first. Choose the answer the rules must give." });
  kept(answered);
  return answered;
}

// What the logic check finds about this rule among the others (rules_dsl/verify.py), beside the form.
function renderFindings(root, findings) {
  if (!root) return;
  if (findings === null || findings === undefined) {
    replace(root, h("p", { class: "muted" }, "Shown once the rule has no mistakes."));
    return;
  }
  if (!findings.length) {
    replace(root, h("p", { class: "muted" }, "No conflict, overlap or impossible condition found."));
    return;
  }
  replace(root, h("ul", { class: "findings" }, findings.map((f) => h("li", { class: `finding finding-${f.kind.replace(" ", "-")}` },
    h("strong", {}, f.kind), " ", f.message))));
}

function summary(placed, result) {
  const root = $("problems-summary");
  // Blank fields not visited yet: what is still to fill in, listed kindly, beside (never instead of) the mistakes.
  const neededMessages = [...new Set((placed.needed || []).map((p) => p.message))];
  const stillNeeded = neededMessages.length ? h("div", { class: "problems still-needed" },
    h("h2", {}, "Still to fill in"),
    h("ul", {}, neededMessages.map((message) => h("li", {}, message)))) : null;
  if (!placed.length) {
    replace(root, stillNeeded);
    return;
  }
  const errors = placed.filter((p) => p.problem.severity !== "warning");
  const warnings = placed.filter((p) => p.problem.severity === "warning");
  const item = ({ problem, path, message }) => {
    const marked = mode === "text" && problem.line ? text.marked(problem) : "";
    const where = mode === "text" && problem.line
      ? `Line ${problem.line}, ${marked ? `at “${marked}”` : "at the end of the line"}: ` : "";
    // Named with its mistake: a list of buttons all called "show" says nothing to a screen reader.
    // (in its content, not aria-label, so that it is no label of the form's fields either).
    const go = h("button", { type: "button", class: "link-button" }, "show",
      h("span", { class: "visually-hidden" }, `: ${where}${message}`));
    go.addEventListener("click", () => (mode === "form" ? form.focusField(path || problem.field || "") : text.select(problem)));
    let use = null;
    if (mode === "text" && problem.suggestion && problem.line && problem.end_line) {
      use = h("button", { type: "button", class: "small" }, `Use “${problem.suggestion}”`);
      use.addEventListener("click", () => text.replaceRange(problem, problem.suggestion));
    } else if (mode === "form" && form.canUse(path, problem.suggestion)) {
      use = h("button", { type: "button", class: "small" }, `Use “${problem.suggestion}”`);
      use.addEventListener("click", () => form.use(path, problem.suggestion));
    }
    const suggested = problem.suggestion && !message.includes(problem.suggestion) ? ` (Suggested: “${problem.suggestion}”.)` : "";
    return h("li", { class: problem.severity === "warning" ? "warning" : "error" }, where, message, suggested, " ", go, use ? [" ", use] : null);
  };
  replace(root, h("div", { class: `problems ${errors.length ? "has-errors" : "only-warnings"}` },
    h("h2", {}, errors.length ? `${plural(errors.length, "mistake")} to fix` : `${plural(warnings.length, "point")} to check`,
      errors.length && warnings.length ? `, ${plural(warnings.length, "point")} to check` : ""),
    h("ul", { "aria-describedby": "rule-text" }, [...errors, ...warnings].map(item)),
    result.valid ? null : h("p", { class: "hint" }, mode === "form" ? "Each one is also shown beside its field." : "Each one is marked in the text.")),
  stillNeeded);
}

// ---- switching between form and text ----------------------------------------------------------------------------

function setMode(next) {
  mode = next;
  $("mode-form").setAttribute("aria-pressed", String(mode === "form"));
  $("mode-text").setAttribute("aria-pressed", String(mode === "text"));
  $("rule-form").hidden = mode !== "form";
  $("rule-text-mode").hidden = mode !== "text";
}

function modeMessage(message) {
  $("mode-message").textContent = message || "";
  $("mode-message").hidden = !message;
}

async function toText() {
  if (mode === "text") return;
  const checked = await runCheck();
  if (!checked) return;
  // The server's canonical text when the form is complete; otherwise the same text with "…" for the blanks.
  text.value = checked.result.text || formatRule(form.toJSON());
  modeMessage(checked.result.text ? "" : "Blank fields show as “…” in the text: fill them in there, or go back to the form.");
  setMode("text");
  lastCheck = null;
  await runCheck();
  text.focus();
}

async function toForm() {
  if (mode === "form") return;
  const checked = await runCheck();
  if (!checked || !checked.result.structured) {
    modeMessage("The text has a mistake that keeps it from being shown as a form (marked below). Fix it first; your text stays as it is.");
    return;
  }
  modeMessage("");
  form.load(checked.result.structured);
  setMode("form");
  lastCheck = null;
  await runCheck();
}

// ---- saving -----------------------------------------------------------------------------------------------------

async function currentText() {
  if (mode === "text") return text.value;
  const checked = await runCheck();
  return checked && checked.result.text ? checked.result.text : "";
}

async function save() {
  const checked = await runCheck();
  if (!checked) return;
  if (!checked.result.valid) {
    form.showAll = true;
    show(checked.result);
    const first = $("problems-summary").querySelector("button");
    $("check-state").textContent = `Fix the ${plural(checked.result.errors.length, "mistake")} first; then save.`;
    if (first) first.focus();
    return;
  }
  const body = mode === "form" ? { rule: form.toJSON() } : { text: text.value };
  await askWhy({
    title: ruleId ? "Save this change" : "Save the new rule",
    intro: h("div", {}, h("p", {}, "The rule will read:"), h("pre", { class: "rule-text small" }, checked.result.text)),
    confirm: "Save",
    initial: typedWhy || prefilledWhy,
    run: async (why) => {
      typedWhy = why;
      try {
        const result = ruleId
          ? await request("PUT", paths.rule(rulesetId, ruleId), { body: { ...body, why }, version: baseVersion })
          : await request("POST", paths.rules(rulesetId), { body: { ...body, why } });
        saved(result.data, result.version);
      } catch (e) {
        if (e instanceof ApiError && e.status === 409) {
          e.handled = true;
          await showConflict(e.details, checked.result.text);
        } else if (e instanceof ApiError && e.problems.length) {
          e.handled = true;
          show({ ...checked.result, valid: false, errors: e.problems.filter((p) => p.severity !== "warning"), warnings: [] });
        } else if (e instanceof ApiError && e.field && e.field !== "why") {
          e.handled = true;
          const problem = { field: e.field, message: e.message, severity: "error" };
          summary(mode === "form" ? form.showProblems([problem]) : [{ problem, message: e.message }], { valid: false });
        }
        throw e;
      }
    },
  });
}

function saved(answer, version) {
  // A save answered "already saved" (sent again after a lost answer) or "saved, being recorded" (the database was
  // slow) carries the rule's id and a message instead of the rule: it is saved all the same.
  const rule = answer.id ? answer : { id: answer.rule || ruleId, name: $("rule-title").textContent };
  const created = !ruleId;
  ruleId = rule.id;
  baseVersion = version;
  dirty = false;
  typedWhy = "";
  prefilledWhy = "";
  replace($("conflict"));
  $("rule-title").textContent = rule.name;
  document.title = `${rule.name} · Rulecraft`;
  const back = h("a", { href: pages.ruleset(rulesetId) }, "Back to the rules");
  if (answer.id) replace($("saved-state"), "Saved by you ", timeEl(new Date().toISOString()), ". ", back);
  else replace($("saved-state"), answer.message, " ", back);
  // Which tests now fail: said, never a reason not to save (authors work step by step).
  failingAfterSave(rulesetId, answer.id ? answer.tests : undefined).then((note) => replace($("tests-state"), note));
  if (created) {
    window.history.replaceState(null, "", pages.rule(rulesetId, ruleId));
    $("link-history").href = pages.ruleHistory(rulesetId, ruleId);
    $("link-blame").href = pages.blame(rulesetId, ruleId);
    $("rule-links").hidden = false;
  }
}

// ---- someone saved first ----------------------------------------------------------------------------------------

async function showConflict(details, mine) {
  const base = details.base_text || "";
  const theirs = details.current_text;
  const root = $("conflict");
  if (theirs === null || theirs === undefined) {
    const again = h("button", { type: "button", class: "primary" }, "Keep my rule: save it as a new rule");
    again.addEventListener("click", () => {
      ruleId = null;
      baseVersion = null;
      replace(root, notice("Your rule will be saved as a new rule. Click Save when you are ready."));
    });
    replace(root, h("section", { class: "conflict", role: "alert" },
      h("h2", {}, "This rule was deleted while you were editing it"),
      h("p", {}, "Your version is still here in the editor; nothing of it is lost."), again));
    return;
  }
  let who = null;
  try {
    const history = await get(paths.ruleHistory(rulesetId, ruleId, 1, 1));
    who = history.versions[0] || null;
  } catch { who = null; }
  const theirDiff = wordDiff(base, theirs);
  const myDiff = wordDiff(base, mine);
  const name = who ? who.author : "Someone";
  // The server's merge of the structured rule (condition by condition); the line-by-line text merge only when a
  // saved version could not be read as a rule.
  const merge = details.merge ? mergeView(details.merge, name) : null;
  const combinedText = merge ? null : combine(base, mine, theirs);
  const canCombine = merge !== null || combinedText !== null;
  const clean = merge ? details.merge.conflicts.length === 0 : combinedText !== null;
  if (who) {
    replace($("saved-state"), `Last changed by ${who.author}, `, timeEl(who.time), who.why ? `: “${who.why}”` : "", ".");
  }
  const choose = (label, primary, action) => {
    const button = h("button", { type: "button", class: primary ? "primary" : "" }, label);
    button.addEventListener("click", action);
    return button;
  };
  const chosen = h("p", { class: "notice info", role: "status", hidden: true });
  // Put a rule in the editor in the mode the person is in (the form stays the form).
  const useRule = async ({ structured = null, ruleText = null }, message) => {
    baseVersion = details.current_version;
    let said = message;
    if (mode === "form") {
      let loaded = structured;
      if (!loaded && ruleText !== null) {
        try {
          const { data: read } = await request("POST", paths.check(), { body: { ruleset: rulesetId, text: ruleText } });
          loaded = read.structured;
        } catch { loaded = null; }
      }
      if (loaded) form.load(loaded);
      else {
        text.value = ruleText;
        setMode("text");
        said += " It is shown as text because it cannot be shown in the form yet.";
      }
    } else if (structured || ruleText !== null) {
      text.value = ruleText !== null ? ruleText : formatRule(structured);
    }
    modeMessage("");
    lastCheck = null;
    runCheck();
    chosen.textContent = said;
    chosen.hidden = false;
    if (mode === "text") text.focus();
  };
  const why = typedWhy ? h("p", {}, "Your reason is kept for when you save: “", typedWhy, "”.") : null;
  const theirsNow = { structured: details.current_structured || null, ruleText: theirs.replace(/\n+$/, "") };
  replace(root, h("section", { class: "conflict", role: "alert", "aria-labelledby": "conflict-title" },
    h("h2", { id: "conflict-title" }, "Someone else saved this rule while you were editing it"),
    h("p", {}, `${name} saved a new version`, who ? [" (", timeEl(who.time), who.why ? `: “${who.why}”` : "", ")"] : "",
      ". Nothing was saved over anyone's work: your version is kept here until you save it."),
    h("div", { class: "three-columns" },
      h("div", {}, h("h3", {}, "When you started"), h("pre", { class: "rule-text diff-side" }, base.replace(/\n+$/, ""))),
      h("div", {}, h("h3", {}, `Saved meanwhile by ${name}`), wordsBlock(theirDiff.to, `Saved by ${name}`)),
      h("div", {}, h("h3", {}, "Your version (not saved yet)"), wordsBlock(myDiff.to, "Your version"))),
    h("p", {}, clean
      ? "You changed different parts of the rule, so both changes can be combined. Check the combined rule before saving."
      : canCombine
        ? "You both changed the same part in different ways: pick one for each below; everything else is combined."
        : "You both changed the same lines. Choose where to start; the other version stays here to copy from."),
    merge ? merge.element : null,
    why,
    h("div", { class: "actions" },
      canCombine ? choose("Combine both changes", true, () => useRule(
        merge ? { structured: merge.resolved() } : { ruleText: combinedText },
        `Both changes are combined in the ${mode === "form" ? "form" : "text"} (see “What is combined” above). ` +
        `Check the rule, then save: it will be saved on top of ${name}'s version.`)) : null,
      choose(`Start from ${name}'s version`, !canCombine, () => useRule(theirsNow,
        `The editor now holds ${name}'s version. Carry your change over (your version is shown above), then save.`)),
      choose("Keep my version", false, () => useRule({},
        `The editor holds your version. Saving replaces ${name}'s version with yours; their change is shown above.`))),
    chosen));
  root.scrollIntoView({ block: "start" });
  root.querySelector("button").focus();
}

// ---- deleting ---------------------------------------------------------------------------------------------------

async function deleteRule() {
  const done = await askWhy({
    title: "Delete this rule",
    intro: h("p", {}, "The rule leaves the rule set. Its history is kept, and it can be brought back later from the history."),
    confirm: "Delete the rule",
    run: (why) => request("DELETE", paths.rule(rulesetId, ruleId), { body: { why }, version: baseVersion }),
  });
  if (done) {
    dirty = false;
    window.location.assign(pages.ruleset(rulesetId));
  }
}

// ---- start ------------------------------------------------------------------------------------------------------

// The explorer and "Improve this rule" need reference cases with their true outcome (they score on the first, the
// default set): asking without them would only be refused (404 without cases, 422 without the outcome column).
async function defaultDataset() {
  try {
    const found = await get(paths.datasets(rulesetId));
    return found.datasets[0] || null;
  } catch { return null; }
}

// The rule as written, for "Improve this rule": what to send, and its structured form; null while it has mistakes.
async function improveDraft() {
  const checked = await runCheck();
  if (!checked || !checked.result.valid || !checked.result.text) return null;
  return { body: { text: checked.result.text }, structured: checked.result.structured };
}

// "Use this" on a candidate of "Improve this rule": the candidate in the form (or the text), the why prefilled
// with where it came from; saved only when the person saves it.
async function useImprovement(change, why) {
  let structured = null;
  try {
    ({ data: { structured } } = await request("POST", paths.check(), { body: { ruleset: rulesetId, text: change.text } }));
  } catch { structured = null; }
  if (mode === "form" && structured) form.load(structured);
  else {
    text.value = change.text;
    if (mode === "form") setMode("text");
  }
  prefilledWhy = why;
  lastCheck = null;
  scheduleCheck();
  replace($("saved-state"), "The editor holds the changed rule. Look at it, try it, then save it with your reason: "
    + "nothing is saved until then.");
  // The person's attention goes to the rule now in the editor (the list that held "Use this" is replaced).
  $("saved-state").scrollIntoView({ block: "start" });
  if (mode === "text") text.focus();
  else document.querySelector("#rule-form input").focus({ preventScroll: true });
}

// A new rule opened by "Start from this" on the suggestions page: the suggested rule, and its why to prefill.
function startedFrom() {
  if (ruleId || new URLSearchParams(window.location.search).get("from") !== "suggestion") return null;
  let stored = null;
  try { stored = JSON.parse(sessionStorage.getItem(START_FROM_KEY) || "null"); } catch { stored = null; }
  sessionStorage.removeItem(START_FROM_KEY);
  if (!stored || stored.ruleset !== rulesetId) return null;
  prefilledWhy = stored.why || "";
  replace($("saved-state"), "Started from a suggested rule. Change it as you see fit: nothing is saved until you save it with your reason.");
  return stored.rule;
}

async function start() {
  fillTitle(rulesetId);
  let ruleset;
  let rule = null;
  try {
    ruleset = await get(paths.ruleset(rulesetId));
    if (ruleId) {
      const answer = await request("GET", paths.rule(rulesetId, ruleId));
      rule = answer.data;
      baseVersion = answer.version;
    }
  } catch (e) {
    replace($("load-error"), notice(e.message, "error"));
    return;
  }
  outcome = ruleset.outcome;
  vocabulary = ruleset.vocabulary;
  form = new RuleForm($("rule-form"), { vocabulary: ruleset.vocabulary, outcome, units, onChange: scheduleCheck });
  text = new RuleText($("rule-text-mode"), { onChange: scheduleCheck, describedBy: "problems-summary" });
  form.load(rule ? rule.structured : startedFrom());
  oneCase = new OneCase($("one-case"), { vocabulary: ruleset.vocabulary, payload,
    onKeep: can("rules.write") ? keepTypedCase : null });
  const dataset = can("rules.suggest") ? await defaultDataset() : null;
  if (can("rules.suggest")) {
    $("improve-panel").hidden = false;
    new ImproveRule($("improve"), { rulesetId, dataset, draft: improveDraft, onUse: useImprovement });
  }
  if (dataset && dataset.label_column) {
    explorer = new ThresholdExplorer($("explorer"), { rulesetId, onPick: (structured) => {
      form.load(structured);
      scheduleCheck();
    } });
  }
  if (rule) {
    $("rule-title").textContent = rule.name;
    document.title = `${rule.name} · Rulecraft`;
    if (rule.last_change) {
      replace($("saved-state"), `Last changed by ${rule.last_change.by}, `, timeEl(rule.last_change.at),
        rule.last_change.why ? `: “${rule.last_change.why}”` : "", ".");
    }
  }
  $("editor").hidden = false;
  setMode("form");
  await runCheck();
  dirty = false;
  if (!rule) document.querySelector("#rule-form input").focus();
}

$("mode-form").addEventListener("click", toForm);
$("mode-text").addEventListener("click", toText);
$("save").addEventListener("click", save);
$("delete-rule").addEventListener("click", deleteRule);
// Enter in a field does not save: saving always goes through the Save button and its "why".
$("rule-form").addEventListener("submit", (event) => event.preventDefault());
window.addEventListener("beforeunload", (event) => {
  if (dirty) { event.preventDefault(); event.returnValue = ""; }
});
start();
