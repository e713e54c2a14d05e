// A comparison of two versions: the summary in words, then each changed rule side by side with the changed words
// marked, then what changed in the vocabulary and settings.
import { pages } from "./api.js";
import { h, replace } from "./dom.js";
import { wordsBlock } from "./worddiff.js";

const STATUS = { added: "added", removed: "removed", changed: "changed" };
const PARTS = { name: "name", priority: "priority", enabled: "in use", conditions: "conditions", conclusion: "conclusion", because: "because" };

export function renderDiff(root, diff, { ruleset, onlyRule = "", headingLevel = "h2" } = {}) {
  const rules = onlyRule ? diff.rules.filter((r) => r.id === onlyRule) : diff.rules;
  const vocabulary = diff.vocabulary || {};
  const vocabularyParts = [
    vocabulary.added && vocabulary.added.length ? `features added: ${vocabulary.added.join(", ")}` : "",
    vocabulary.removed && vocabulary.removed.length ? `features removed: ${vocabulary.removed.join(", ")}` : "",
    vocabulary.modified && vocabulary.modified.length ? `features changed: ${vocabulary.modified.join(", ")}` : "",
  ].filter(Boolean);
  replace(root,
    h("p", { class: "diff-summary", role: "status" }, diff.summary),
    onlyRule ? h("p", { class: "muted" }, "Only this rule is shown. ",
      h("a", { href: pages.compare(ruleset, diff.from, diff.to) }, "Show every change")) : null,
    vocabularyParts.length && !onlyRule ? h("p", {}, h("strong", {}, "Vocabulary: "), vocabularyParts.join("; "), ".") : null,
    diff.settings_changed && !onlyRule ? h("p", {}, h("strong", {}, "Outcome and settings: "), "changed.") : null,
    rules.length ? rules.map((rule) => h("section", { class: "diff-rule", "aria-label": rule.name_to || rule.name_from, dataset: { rule: rule.id } },
      h(headingLevel === "h2" ? "h3" : "h4", {},
        rule.status === "removed" ? (rule.name_from || rule.id) : h("a", { href: pages.rule(ruleset, rule.id) }, rule.name_to || rule.id),
        h("span", { class: `badge ${rule.status}` }, STATUS[rule.status] || rule.status),
        rule.parts && rule.parts.length ? h("span", { class: "muted" }, `changed: ${rule.parts.map((p) => PARTS[p] || p).join(", ")}`) : null),
      h("div", { class: "two-columns" },
        h("div", {}, h("p", { class: "small-label" }, "Before"), rule.text_from === null ? h("p", { class: "muted" }, "(not there yet)")
          : rule.text_to === null ? h("pre", { class: "rule-text diff-side" }, rule.text_from) : wordsBlock(rule.words.from, "Before")),
        h("div", {}, h("p", { class: "small-label" }, "After"), rule.text_to === null ? h("p", { class: "muted" }, "(removed)")
          : rule.text_from === null ? h("pre", { class: "rule-text diff-side" }, rule.text_to) : wordsBlock(rule.words.to, "After")))))
      : h("p", { class: "muted" }, onlyRule ? "This rule is the same in both versions." : "No rule changed."));
}
