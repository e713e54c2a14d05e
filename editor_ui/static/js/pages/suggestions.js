// "Suggest rules": candidates from the reference cases with their figures; "Start from this" opens the rule form
// filled in (via sessionStorage), where the person edits, tries and saves it with a why of their own.
import { get, pages, paths, request } from "../api.js";
import { h, notice, pageData, plural, replace } from "../dom.js";
import { fillTitle, START_FROM_KEY } from "../rulesets-common.js";
import { startShell } from "../shell.js";

startShell();
const rulesetId = pageData().ruleset;
const $ = (id) => document.getElementById(id);

const percent = (share) => (share === null || share === undefined ? "–" : `${Math.round(share * 100)}%`);

function figures(s) {
  return h("p", { class: "figures" },
    `Right in ${percent(s.precision)} of the ${plural(s.support, "case")} it fires on; `,
    `${percent(s.heldout_precision)} of ${plural(s.heldout_support, "case")} held out from the search. `,
    `Catches ${percent(s.recall)} of the “${s.label}” cases.`);
}

function nearMisses(s) {
  if (!s.near_misses) return null;
  return h("p", { class: "muted" }, `${plural(s.near_misses, "“" + s.label + "” case")} miss it by one condition.`);
}

function overlaps(s) {
  if (!s.overlaps.length) return h("p", { class: "muted" }, "No existing rule fires on these cases.");
  return h("p", { class: "muted" }, "Existing rules on the same cases: ",
    s.overlaps.slice(0, 3).map((o, i) => [i ? "; " : "", `${o.name} (${percent(o.share)})`]));
}

function subgroups(s) {
  if (!s.subgroups) return null;
  return h("p", { class: "muted" }, "By group: ", Object.entries(s.subgroups).map(([g, f], i) =>
    [i ? "; " : "", `${g}: right in ${percent(f.precision)} of ${f.support}`]));
}

function card(s, index) {
  const start = h("button", { type: "button", class: "primary start-from" }, "Start from this");
  start.addEventListener("click", () => {
    sessionStorage.setItem(START_FROM_KEY, JSON.stringify({ ruleset: rulesetId, rule: s.rule, why: s.why }));
    window.location.assign(`${pages.newRule(rulesetId)}?from=suggestion`);
  });
  return h("li", { class: "suggestion" },
    h("h2", {}, `${index + 1}. For “${s.label}”`),
    h("pre", { class: "rule-text" }, s.text),
    figures(s), nearMisses(s), overlaps(s), subgroups(s), start);
}

async function suggest(event) {
  if (event) event.preventDefault();
  const root = $("suggestions");
  replace(root, h("p", { class: "muted" }, "Looking for rules in the reference cases…"));
  const body = { max: 10 };
  if ($("target").value) body.target = $("target").value;
  if ($("group").value) body.group = $("group").value;
  try {
    const { data } = await request("POST", paths.suggestions(rulesetId), { body });
    if (!data.suggestions.length) {
      replace(root, notice("No short rule does clearly better than chance on these cases, or the existing rules already cover what they show."));
      return;
    }
    // Large data sets are searched on a sample (said, never silently); every figure still uses all the cases.
    const sampled = data.searched && data.search_cases && data.searched < data.search_cases
      ? h("p", { class: "muted sampled" }, `The search looked at a sample of ${data.searched.toLocaleString()} of `
        + `${data.search_cases.toLocaleString()} cases; every figure below counts all of them.`) : null;
    replace(root, h("p", {}, `From the reference cases “${data.dataset.name}” (${plural(data.dataset.rows, "case")}):`),
      sampled, h("ol", { class: "suggestions" }, data.suggestions.map(card)));
  } catch (e) {
    replace(root, notice(e.message, "error"));
  }
}

async function start() {
  fillTitle(rulesetId);
  try {
    const ruleset = await get(paths.ruleset(rulesetId));
    replace($("target"), h("option", { value: "" }, "every label"),
      ruleset.outcome.labels.map((label) => h("option", { value: label }, label)));
    const sets = await get(paths.datasets(rulesetId));
    const first = (sets.datasets || sets)[0];
    const columns = first && first.group_columns ? first.group_columns : [];
    replace($("group"), h("option", { value: "" }, "no groups"), columns.map((c) => h("option", { value: c }, c)));
  } catch (e) {
    replace($("suggestions"), notice(e.message, "error"));
  }
}

$("suggest-pickers").addEventListener("submit", suggest);
start();
