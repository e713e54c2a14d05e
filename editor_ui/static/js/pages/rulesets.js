import { get, pages, paths } from "../api.js";
import { can, h, loading, notice, plural, replace, when } from "../dom.js";
import { startShell } from "../shell.js";

startShell();
const root = document.getElementById("rulesets");

async function show() {
  replace(root, loading("Loading the rule sets…"));
  let data;
  try {
    data = await get(paths.rulesets());
  } catch (e) {
    replace(root, notice(e.message, "error"));
    return;
  }
  if (!data.rulesets.length) {
    replace(root, notice("There are no rule sets yet."));
    return;
  }
  const reads = can("rules.read");
  replace(root, h("ul", { class: "cards" }, data.rulesets.map((rs) => h("li", { class: "card ruleset-card" },
    h("h2", {}, h("a", { href: reads ? pages.ruleset(rs.id) : pages.releases(rs.id) }, rs.title)),
    rs.description ? h("p", { class: "description clamp" }, rs.description) : null,
    h("dl", { class: "facts" },
      h("dt", {}, "Decides"), h("dd", {}, `${rs.outcome.name}: ${rs.outcome.labels.join(", ")}`),
      h("dt", {}, "Rules"), h("dd", {}, `${plural(rs.rules, "rule")} (${rs.enabled_rules} in use)`),
      h("dt", {}, "Latest release"),
      h("dd", {}, rs.latest_release ? `${rs.latest_release.name}, approved ${when(rs.latest_release.time)}` : "none yet")),
    h("p", { class: "card-links" },
      reads ? h("a", { href: pages.ruleset(rs.id) }, "Rules") : null,
      reads ? h("a", { href: pages.history(rs.id) }, "History") : null,
      h("a", { href: pages.releases(rs.id) }, reads ? "Releases" : "Releases and downloads"))))));
}

show();
