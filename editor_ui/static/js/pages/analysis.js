// How good the rules are on a set of reference cases: the whole rule set against the simplest alternative, each
// rule's coverage, overlaps, conflicts and precision, what the cases it fires on really were, and the same by
// group with the largest differences between groups said in words. Plots first; every figure also in a table.
import { get, pages, paths } from "../api.js";
import { barChart, single } from "../charts.js";
import { can, h, loading, notice, pageData, plural, releaseWords, replace } from "../dom.js";
import { ABSTAIN, count, groupColour, groupValue, labelColours, labelPlain, labelWords, orderGroups, percent } from "../figures.js";
import { fillDatasetSelect, fillSplitSelect } from "../pickers.js";
import { fillTitle } from "../rulesets-common.js";
import { startShell } from "../shell.js";

startShell();
const { ruleset } = pageData();
const root = document.getElementById("analysis");
const form = document.getElementById("analysis-pickers");
const datasetSelect = document.getElementById("dataset");
const versionSelect = document.getElementById("version");
const groupSelect = document.getElementById("group");
const MAX_GROUPS_PLOTTED = 8;
let rs = null;
let datasets = [];
let shown = 0;

// ---- the pickers ------------------------------------------------------------------------------------------------
function fillDatasets(chosen) {
  fillDatasetSelect(datasetSelect, datasets, chosen, { needOutcome: true });
}

function fillGroups(chosen) {
  fillSplitSelect(groupSelect, datasets.find((d) => String(d.id) === datasetSelect.value), chosen);
}

function fillVersions(releases, chosen) {
  const released = releases.filter((r) => r.status === "approved" && r.name).sort((a, b) => b.id - a.id);
  replace(versionSelect, h("option", { value: "" }, "The latest version"),
    released.map((r) => h("option", { value: r.name }, releaseWords(r))));
  if (chosen && ![...versionSelect.options].some((o) => o.value === chosen)) {
    versionSelect.append(h("option", { value: chosen }, "An earlier version (from the address of this page)"));
  }
  versionSelect.value = chosen || "";
}

function choices() {
  return { dataset: datasetSelect.value, version: versionSelect.value, group: groupSelect.value };
}

// ---- the whole rule set -----------------------------------------------------------------------------------------
function keyFigure(value, what, detail) {
  return h("div", { class: "key-figure" }, h("span", { class: "key-value" }, value), h("span", { class: "key-what" }, what),
    detail ? h("span", { class: "key-detail" }, detail) : null);
}

function wholeRuleSet(data, colour) {
  const s = data.summary;
  const abstained = s.predicted_labels[ABSTAIN] || 0;
  const correct = Math.round(s.accuracy * s.rows);
  const base = s.baseline;
  const labels = Object.keys(s.true_labels);
  const answers = Object.keys(s.predicted_labels);
  const gain = s.gain_over_baseline;
  const unknown = labels.filter((l) => s.true_labels[l] > 0 && !rs.outcome.labels.includes(l));
  return h("section", { class: "analysis-section", "aria-labelledby": "whole-heading" },
    h("h2", { id: "whole-heading" }, "The whole rule set"),
    unknown.length ? notice(`The true outcomes of these cases include ${unknown.map(labelWords).join(", ")}, which the rules never `
      + `answer (they answer ${rs.outcome.labels.map(labelWords).join(" or ")}). Those cases always count as wrong answers.`, "warning") : null,
    h("div", { class: "key-figures" },
      keyFigure(percent(s.accuracy, 1), "right answers", `${correct} of ${count(s.rows)}; a case the rules do not answer counts as wrong`),
      keyFigure(percent(s.coverage, 1), "of the cases answered",
        abstained ? `the rules gave no answer for ${count(abstained)}` : "the rules answered every case"),
      keyFigure(percent(base.accuracy, 1), `always answering ${labelWords(base.label)}`, "the most common true outcome: the simplest alternative to beat"
        + (gain === null ? "" : `; the rules do ${plural(Math.abs(Math.round(gain * 100)), "point")} ${gain >= 0 ? "better" : "worse"}`))),
    h("div", { class: "chart-grid" },
      barChart({
        title: "Right answers: the rules against the simplest alternative",
        description: "Share of all reference cases answered correctly.",
        rows: [
          { label: "These rules", bars: [single(s.accuracy, "bar-main", percent(s.accuracy),
            `These rules are right on ${correct} of ${count(s.rows)} (${percent(s.accuracy)}).`)] },
          { label: "These rules, on the cases they answer", bars: [single(s.accuracy_answered, "bar-main-light", percent(s.accuracy_answered),
            `On the ${count(s.rows - abstained)} they answer, the rules are right ${percent(s.accuracy_answered)} of the time.`)] },
          { label: `Always answering ${labelWords(base.label)}`, bars: [single(base.accuracy, "bar-baseline", percent(base.accuracy),
            `Always answering ${labelWords(base.label)}, the most common true outcome, would be right on ${percent(base.accuracy)} of the cases.`)] },
        ],
      }),
      barChart({
        title: "The rules’ answers beside the true outcomes",
        description: "Number of reference cases.",
        max: s.rows,
        legendItems: [...new Set([...labels, ...answers])].filter((l) => (s.true_labels[l] || 0) + (s.predicted_labels[l] || 0) > 0)
          .map((l) => ({ cls: colour(l), text: labelPlain(l) })),
        rows: [
          { label: "True outcomes", bars: [{ segments: labels.map((l) => ({ value: s.true_labels[l], cls: colour(l) })), text: String(s.rows),
            detail: `True outcomes: ${labels.map((l) => `${s.true_labels[l]} ${labelPlain(l)}`).join(", ")}.` }] },
          { label: "The rules’ answers", bars: [{ segments: answers.map((l) => ({ value: s.predicted_labels[l], cls: colour(l) })), text: String(s.rows),
            detail: `The rules answer: ${answers.map((l) => `${s.predicted_labels[l]} ${labelPlain(l)}`).join(", ")}.` }] },
        ],
      })));
}

// ---- rule by rule -----------------------------------------------------------------------------------------------
function ordered(rules, known) {
  const priority = (r) => (known.get(r.id) ? known.get(r.id).priority : 0);
  return [...rules].sort((a, b) => priority(b) - priority(a) || a.name.localeCompare(b.name));
}

function concludes(rule) {
  return rule.label ? `→ ${rule.label}` : "feature only";
}

function firesSentence(rule, rows) {
  const together = rule.label
    ? `; together with another concluding rule on ${percent(rule.overlaps)} of all cases, with one that concludes differently on ${percent(rule.conflicts)}`
    : `; it concludes nothing (a feature only), and fires together with a concluding rule on ${percent(rule.overlaps)} of all cases`;
  return `“${rule.name}” fires on ${rule.fires} of ${count(rows)} (${percent(rule.coverage)})${together}.`;
}

// where: "" for all cases, or " on cases where <column> is <group>".
function precisionBar(rule, where = "") {
  if (!rule.label) return { empty: "no conclusion, so no precision", text: "–", detail: `“${rule.name}” concludes nothing, so it has no precision.` };
  if (!rule.fires) return { empty: "never fires", text: "–", detail: `“${rule.name}” never fires${where}, so its precision there is not known.` };
  return {
    segments: [{ value: rule.precision, cls: "bar-precision" }], text: percent(rule.precision),
    detail: `When “${rule.name}” fires${where} (${count(rule.fires)}), its conclusion “${rule.label}” is the true outcome in `
      + `${rule.correct} (${percent(rule.precision)}).`,
  };
}

function ruleByRule(data, rules, colour, labels) {
  const rows = data.summary.rows;
  const most = Math.max(1, ...rules.map((r) => r.fires));
  return h("section", { class: "analysis-section", "aria-labelledby": "rules-heading" },
    h("h2", { id: "rules-heading" }, "Rule by rule"),
    h("p", { class: "hint" }, "Highest priority first. Rules without a conclusion are features for models only: they fire, but decide nothing, so they have no precision. "
      + "Point at a bar, or press Tab to reach a plot and then the arrow keys, to read its figures below the plot."),
    h("div", { class: "chart-grid" },
      barChart({
        title: "How often each rule fires",
        description: "Share of all reference cases; the darker parts are cases where other rules fire too.",
        overlay: true,
        legendItems: [{ cls: "cov-all", text: "fires" }, { cls: "cov-overlap", text: "…together with another concluding rule" },
          { cls: "cov-conflict", text: "…with a rule that concludes differently" }],
        rows: rules.map((r) => ({ label: r.name, note: concludes(r), bars: [{
          segments: [{ value: r.coverage, cls: "cov-all" }, { value: r.overlaps || 0, cls: "cov-overlap" }, { value: r.conflicts || 0, cls: "cov-conflict" }],
          text: percent(r.coverage), detail: firesSentence(r, rows) }] })),
      }),
      barChart({
        title: "Precision: when the rule fires, how often its conclusion is right",
        description: "Share of the cases it fires on whose true outcome is its conclusion.",
        rows: rules.map((r) => ({ label: r.name, note: concludes(r), bars: [precisionBar(r)] })),
      }),
      barChart({
        className: "wide",
        title: "What the cases each rule fires on really were",
        description: "Number of cases it fires on, by their true outcome.",
        max: most,
        legendItems: labels.map((l) => ({ cls: colour(l), text: `really ${l}` })),
        rows: rules.map((r) => ({ label: r.name, note: concludes(r), bars: [{
          segments: labels.map((l) => ({ value: r.fires_by_label[l] || 0, cls: colour(l) })), text: String(r.fires),
          detail: `“${r.name}” fires on ${count(r.fires)}: ${labels.map((l) => `${r.fires_by_label[l] || 0} really ${l}`).join(", ")}.` }] })),
      })),
    h("details", { class: "figures" }, h("summary", {}, "The figures as a table"),
      h("div", { class: "table-wrap" }, h("table", { class: "figures-table", id: "rule-figures" },
        h("caption", {}, `Each rule on ${count(rows)}`),
        h("thead", {}, h("tr", {},
          ["Rule", "Concludes", "Fires on", "Coverage", "Overlaps", "Conflicts", "Precision"].map((c, i) => h("th", { scope: "col", class: i > 1 ? "number" : "" }, c)),
          labels.map((l) => h("th", { scope: "col", class: "number" }, `Fires on really ${l}`)))),
        h("tbody", {}, rules.map((r) => h("tr", { dataset: { rule: r.id } },
          h("th", { scope: "row" }, r.name),
          h("td", {}, r.label || "nothing (feature)"),
          h("td", { class: "number" }, String(r.fires)),
          h("td", { class: "number" }, percent(r.coverage)),
          h("td", { class: "number" }, percent(r.overlaps)),
          h("td", { class: "number" }, r.label ? percent(r.conflicts) : "–"),
          h("td", { class: "number" }, r.label ? percent(r.precision) : "–"),
          labels.map((l) => h("td", { class: "number" }, String(r.fires_by_label[l] || 0))))))))));
}

// ---- by group ---------------------------------------------------------------------------------------------------
function gapSentence(gap, column, names, split) {
  const hi = groupValue(gap.high_group, split);
  const lo = groupValue(gap.low_group, split);
  const name = names.get(gap.rule) || gap.rule;
  const where = `where ${column} is`;
  switch (gap.figure) {
    case "rule coverage":
      return `“${name}” fires on ${percent(gap.high)} of the cases ${where} ${hi}, but on ${percent(gap.low)} of those ${where} ${lo}.`;
    case "rule precision":
      return `When “${name}” fires, its conclusion is right ${percent(gap.high)} of the time ${where} ${hi}, but ${percent(gap.low)} of the time ${where} ${lo}.`;
    case "accuracy":
      return `The rules are right on ${percent(gap.high)} of the cases ${where} ${hi}, but on ${percent(gap.low)} of those ${where} ${lo}.`;
    case "coverage":
      return `The rules answer ${percent(gap.high)} of the cases ${where} ${hi}, but ${percent(gap.low)} of those ${where} ${lo}.`;
    default:
      return `${gap.figure}: ${percent(gap.high)} ${where} ${hi}, ${percent(gap.low)} ${where} ${lo}.`;
  }
}

function bySubgroup(data, rules) {
  const sub = data.subgroups;
  const column = sub.group_column;
  const split = data.split;
  const table = new Map(sub.groups.map((g) => [g.group, g]));
  const groups = orderGroups([...table.keys()], split);
  const names = new Map(rules.map((r) => [r.id, r.name]));
  const perGroup = new Map(groups.map((g) => [g, new Map(sub.by_group[g].rules.map((r) => [r.id, r]))]));
  const colours = new Map(groups.map((g, i) => [g, groupColour(i)]));
  const groupLegend = groups.map((g) => ({ cls: colours.get(g), text: `${g} (${count(table.get(g).rows)})` }));
  const bar = (g, value, text, detail) => single(value, colours.get(g), text, detail, { name: g });
  const rowsOf = (g) => table.get(g).rows;
  const plotted = groups.length <= MAX_GROUPS_PLOTTED;
  return h("section", { class: "analysis-section", "aria-labelledby": "groups-heading" },
    h("h2", { id: "groups-heading" }, `By ${column}`),
    h("p", {}, split && split.bands
      ? `The cases are cut into ${groups.length} bands of ${column}, each holding about as many cases (a value on a boundary goes to the higher band): `
      : `${groups.length} groups: `, groups.map((g) => `${g} (${count(rowsOf(g))})`).join(", "), "."),
    h("div", { class: "gaps", role: "note", "aria-labelledby": "gaps-heading" },
      h("h3", { id: "gaps-heading" }, "Largest differences between groups"),
      gapList("In being right", largest(sub, ["accuracy", "rule precision"]), column, names, split),
      gapList("In how often the rules answer and fire", largest(sub, ["coverage", "rule coverage"]), column, names, split),
      h("p", { class: "hint" }, "Groups of fewer than 10 cases (for a rule’s precision: groups where it fires on fewer than 10) are left out of "
        + "this comparison. A rule that reads the very measurement the groups are cut from fires differently in each group by design; "
        + "a difference in being right says more.")),
    h("div", { class: "chart-grid" },
      barChart({
        title: "The whole rule set in each group",
        legendItems: groupLegend,
        rows: [
          { label: "Right answers", bars: groups.map((g) => bar(g, table.get(g).accuracy, percent(table.get(g).accuracy),
            `On the ${rowsOf(g)} ${wherePhrase(column, g, split)}, the rules are right on ${percent(table.get(g).accuracy)}.`)) },
          { label: "Cases answered", bars: groups.map((g) => bar(g, table.get(g).coverage, percent(table.get(g).coverage),
            `The rules answer ${percent(table.get(g).coverage)} of the ${rowsOf(g)} ${wherePhrase(column, g, split)}.`)) },
          { label: "Always answering the group’s most common outcome", bars: groups.map((g) => bar(g, table.get(g).baseline_accuracy,
            percent(table.get(g).baseline_accuracy), `On the ${rowsOf(g)} ${wherePhrase(column, g, split)}, always answering their most `
            + `common outcome is right on ${percent(table.get(g).baseline_accuracy)}.`)) },
        ],
      }),
      plotted ? barChart({
        title: "How often each rule fires, by group",
        legendItems: groupLegend,
        rows: rules.map((r) => ({ label: r.name, note: concludes(r), bars: groups.map((g) => {
          const x = perGroup.get(g).get(r.id);
          return bar(g, x.coverage, percent(x.coverage),
            `“${r.name}” fires on ${x.fires} of the ${rowsOf(g)} ${wherePhrase(column, g, split)} (${percent(x.coverage)}).`);
        }) })),
      }) : null,
      plotted ? barChart({
        title: "Precision by group",
        description: "Rules with a conclusion only.",
        legendItems: groupLegend,
        rows: rules.filter((r) => r.label).map((r) => ({ label: r.name, note: concludes(r), bars: groups.map((g) => {
          const p = precisionBar(perGroup.get(g).get(r.id), ` on ${wherePhrase(column, g, split)}`);
          return p.empty ? { name: g, ...p } : { name: g, ...p, segments: [{ value: p.segments[0].value, cls: colours.get(g) }] };
        }) })),
      }) : h("p", { class: "notice info" }, `${groups.length} groups are too many to plot rule by rule; the table below has every figure.`)),
    h("details", { class: "figures" }, h("summary", {}, "The figures by group as tables"),
      h("div", { class: "table-wrap" }, h("table", { class: "figures-table", id: "group-figures" },
        h("caption", {}, `The whole rule set by ${column}`),
        h("thead", {}, h("tr", {}, ["Group", "Cases", "Share of all", "Right answers", "Answered", "Most common outcome alone"]
          .map((c, i) => h("th", { scope: "col", class: i ? "number" : "" }, c)))),
        h("tbody", {}, groups.map((g) => {
          const x = table.get(g);
          return h("tr", {}, h("th", { scope: "row" }, g), h("td", { class: "number" }, String(x.rows)), h("td", { class: "number" }, percent(x.share)),
            h("td", { class: "number" }, percent(x.accuracy)), h("td", { class: "number" }, percent(x.coverage)), h("td", { class: "number" }, percent(x.baseline_accuracy)));
        })))),
      h("div", { class: "table-wrap" }, h("table", { class: "figures-table", id: "rule-group-figures" },
        h("caption", {}, `Each rule by ${column}: fires on (coverage) · precision`),
        h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Rule"), groups.map((g) => h("th", { scope: "col", class: "number" }, g)))),
        h("tbody", {}, rules.map((r) => h("tr", {}, h("th", { scope: "row" }, r.name), groups.map((g) => {
          const x = perGroup.get(g).get(r.id);
          return h("td", { class: "number" }, `${x.fires} (${percent(x.coverage)})${r.label ? ` · ${x.fires ? percent(x.precision) : "–"}` : ""}`);
        }))))))));
}

// The largest gaps of the given kinds, largest first (from gaps_by_figure; from the overall list otherwise).
function largest(sub, figures, top = 5) {
  const pool = sub.gaps_by_figure ? figures.flatMap((f) => sub.gaps_by_figure[f] || []) : sub.gaps.filter((g) => figures.includes(g.figure));
  return pool.sort((a, b) => b.gap - a.gap).slice(0, top);
}

function gapList(title, gaps, column, names, split) {
  return h("div", { class: "gap-list" }, h("h4", {}, title),
    gaps.length ? h("ul", {}, gaps.map((gap) => h("li", { dataset: { figure: gap.figure, rule: gap.rule || "" } },
      gapSentence(gap, column, names, split), " ", h("span", { class: "badge gap" }, `${plural(Math.max(1, Math.round(gap.gap * 100)), "point")} apart`))))
      : h("p", {}, "No difference between groups large enough to compare."));
}

function wherePhrase(column, group, split) {
  return `cases where ${column} is ${groupValue(group, split)}`;
}

// ---- showing it -------------------------------------------------------------------------------------------------
async function show() {
  const chosen = choices();
  window.history.replaceState(null, "", pages.analysis(ruleset, chosen));
  const dataset = datasets.find((d) => String(d.id) === chosen.dataset);
  replace(root, loading(`Measuring the rules on ${dataset ? count(dataset.rows) : "the reference cases"}…`));
  const ticket = ++shown;
  let data;
  let list;
  try {
    [data, list] = await Promise.all([get(paths.analysis(ruleset, chosen)), get(paths.rules(ruleset, chosen.version))]);
  } catch (e) {
    if (ticket === shown) replace(root, notice(e.message, "error"));
    return;
  }
  if (ticket !== shown) return;  // a newer choice is on its way
  const known = new Map(list.rules.map((r) => [r.id, r]));
  const rules = ordered(data.rules, known);
  const labels = [...new Set([...rs.outcome.labels, ...Object.keys(data.summary.true_labels)])].filter((l) => l !== ABSTAIN);
  const colour = labelColours([...labels, ABSTAIN]);
  replace(root,
    h("p", { class: "analysis-status", role: "status" }, `${data.dataset.name}: ${count(data.summary.rows)}, `,
      chosen.version ? `release ${chosen.version}` : "the latest version", " of the rules",
      data.subgroups ? `, split by ${data.subgroups.group_column}` : "", "."),
    wholeRuleSet(data, colour),
    ruleByRule(data, rules, colour, labels),
    data.subgroups ? bySubgroup(data, rules) : null);
}

async function start() {
  const query = new URLSearchParams(window.location.search);
  let releases;
  try {
    let list;
    [rs, list, releases] = await Promise.all([fillTitle(ruleset), get(paths.datasets(ruleset)),
      get(paths.releases(ruleset)).catch(() => ({ releases: [] }))]);
    datasets = list.datasets;
  } catch (e) {
    replace(root, notice(e.message, "error"));
    return;
  }
  if (!rs) {
    replace(root, notice("There is no such rule set.", "error"));
    return;
  }
  if (!datasets.some((d) => d.label_column)) {
    form.hidden = true;
    replace(root, notice(datasets.length ? "None of the reference cases of this rule set has its true outcome recorded, so the rules cannot be measured yet."
      : "This rule set has no reference cases yet, so the rules cannot be measured yet."),
    h("p", {}, h("a", { href: pages.referenceCases(ruleset) }, can("datasets.write") ? "Add reference cases" : "About reference cases")));
    return;
  }
  fillDatasets(query.get("dataset") || "");
  fillVersions(releases.releases, query.get("version") || "");
  fillGroups(query.get("group") || "");
  show();
}

datasetSelect.addEventListener("change", () => { fillGroups(groupSelect.value); show(); });
versionSelect.addEventListener("change", show);
groupSelect.addEventListener("change", show);
form.addEventListener("submit", (event) => { event.preventDefault(); show(); });
start();
