// Compare any two versions or releases of a rule set: the changed text, and what the change does to the outcomes.
import { get, pages, paths } from "../api.js";
import { renderDiff } from "../diff-view.js";
import { h, loading, notice, pageData, releaseWords, replace, when } from "../dom.js";
import { impactPanel } from "../impact-view.js";
import { fillTitle } from "../rulesets-common.js";
import { startShell } from "../shell.js";

startShell();
const { ruleset, rule } = pageData();
const root = document.getElementById("diff");
const impactRoot = document.getElementById("impact");
const fromSelect = document.getElementById("from");
const toSelect = document.getElementById("to");

function short(text, n = 60) {
  const line = (text || "").split("\n")[0];
  return line.length > n ? `${line.slice(0, n - 1)}…` : line;
}

async function options() {
  const [history, releases] = await Promise.all([
    get(paths.history(ruleset, 1, 100)),
    get(paths.releases(ruleset)).catch(() => ({ releases: [] })),
  ]);
  const released = releases.releases.filter((r) => r.status === "approved" && r.name);
  const choices = [
    ...released.map((r) => ({ kind: "release", value: r.name, words: releaseWords(r) })),
    ...history.versions.map((v) => ({ kind: "version", value: v.version,
      words: `${when(v.time)} · ${v.author}: ${short(v.why)}${v.release ? ` (release ${v.release})` : ""}` })),
  ];
  return { choices, released, history };
}

function fill(select, choices, chosen) {
  replace(select,
    h("optgroup", { label: "Releases" }, choices.filter((c) => c.kind === "release").map((c) => h("option", { value: c.value }, c.words))),
    h("optgroup", { label: "Saved versions, newest first" }, choices.filter((c) => c.kind === "version").map((c) => h("option", { value: c.value }, c.words))));
  if (chosen && ![...select.options].some((o) => o.value === chosen)) {
    // An older save than the list holds: named by who saved it, when and why (its id stays out of sight).
    const option = h("option", { value: chosen }, "An earlier saved version");
    select.append(option);
    get(paths.versionInfo(ruleset, chosen))
      .then((v) => { option.textContent = `${when(v.time)} · ${v.author}: ${short(v.why)}`; })
      .catch(() => { /* the generic words stay */ });
  }
  if (chosen) select.value = chosen;
}

async function compare(from, to) {
  replace(root, loading("Comparing…"));
  replace(impactRoot);
  try {
    const diff = await get(paths.diff(ruleset, from, to));
    renderDiff(root, diff, { ruleset, onlyRule: rule });
  } catch (e) {
    replace(root, notice(e.message, "error"));
    return;
  }
  // Beside the text of the change: what it does to the answers on the reference cases.
  replace(impactRoot, impactPanel({ ruleset, from, to, diffRoot: root }));
}

async function start() {
  fillTitle(ruleset);
  const query = new URLSearchParams(window.location.search);
  let choices;
  let history;
  let released;
  try {
    ({ choices, history, released } = await options());
  } catch (e) {
    replace(root, notice(e.message, "error"));
    return;
  }
  const newest = history.versions[0] ? history.versions[0].version : "";
  const defaultFrom = released.length ? released[released.length - 1].name
    : (history.versions[1] ? history.versions[1].version : newest);
  const from = query.get("from") || defaultFrom;
  const to = query.get("to") || newest;
  fill(fromSelect, choices, from);
  fill(toSelect, choices, to);
  compare(from, to);
}

document.getElementById("pickers").addEventListener("submit", (event) => {
  event.preventDefault();
  const url = pages.compare(ruleset, fromSelect.value, toSelect.value, rule);
  window.history.replaceState(null, "", url);
  compare(fromSelect.value, toSelect.value);
});
start();
