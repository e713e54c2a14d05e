// Pieces shared by the pages of one rule set: its title in the heading, the "earlier version" banner.
import { askWhy } from "./dialogs.js";
import { get, pages, paths, post } from "./api.js";
import { $$, can, h, replace, when } from "./dom.js";

// Where "Start from this" (the suggestions page) leaves a suggested rule and its why for the new-rule form.
export const START_FROM_KEY = "rulecraft.start-from";

export async function fillTitle(rulesetId) {
  try {
    const data = await get(paths.rulesets());
    const rs = data.rulesets.find((r) => r.id === rulesetId);
    if (!rs) return null;
    for (const el of $$("[data-fill=ruleset-title]")) el.textContent = rs.title;
    document.title = `${rs.title} · ${document.title}`;
    return rs;
  } catch {
    return null;
  }
}

export function ruleBody(text) {
  // The rule's text without its first line (the name, shown on its own).
  return (text || "").replace(/\s+$/, "").split("\n").slice(1).join("\n");
}

// "You are looking at an earlier version" with who saved it, when, why; and a way back (restore).
export async function versionBanner(slot, rulesetId, version, { rule = null } = {}) {
  if (!version) return;
  let info = null;
  try { info = await get(paths.versionInfo(rulesetId, version)); } catch { info = null; }
  const what = info && info.release ? `This is release ${info.release}` : "This is an earlier version";
  replace(slot, h("div", { class: "banner earlier", role: "note" },
    h("p", {}, h("strong", {}, what), info ? [`, saved by ${info.author}, ${when(info.time)}`, info.why ? `: “${info.why}”` : ""] : "",
      ". Earlier versions are kept as they were and cannot be changed."),
    h("p", { class: "actions" },
      h("a", { href: rule ? pages.rule(rulesetId, rule) : pages.ruleset(rulesetId) }, "See the current version"),
      h("a", { href: pages.compare(rulesetId, version, "", rule) }, "Compare with the current version"),
      can("rules.write") ? h("button", { type: "button", onclick: () => restoreVersion(rulesetId, version, rule, info) },
        rule ? "Bring this rule back as it was here…" : "Bring back this version…") : null)));
}

export async function restoreVersion(rulesetId, version, rule, info) {
  const what = rule ? "this rule as it was in this version" : "the whole rule set as it was in this version";
  const done = await askWhy({
    title: rule ? "Bring this rule back" : "Bring back this version",
    intro: h("p", {}, `Rulecraft saves ${what} as a new version. Nothing in the history is lost or rewritten.`,
      info ? ` (Saved by ${info.author}, ${when(info.time)}.)` : ""),
    confirm: "Bring it back",
    initial: info ? `Bring back the version of ${when(info.time)}` : "",
    run: (why) => post(paths.restore(rulesetId), { version, why, ...(rule ? { rule } : {}) }),
  });
  if (done) window.location.assign(rule ? pages.rule(rulesetId, rule) : pages.ruleset(rulesetId));
}
