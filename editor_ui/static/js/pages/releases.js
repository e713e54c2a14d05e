// Releases: authors ask for one (notes drafted from the reasons given since the last release); reviewers see what
// changed since the last release and approve or turn it down with a comment (never their own request); ML
// engineers download released bundles.
import { ApiError, get, pages, paths, post, request } from "../api.js";
import { renderDiff } from "../diff-view.js";
import { impactPanel } from "../impact-view.js";
import { actionWords, can, h, loading, me, notice, pageData, plural, replace, ruleLink, sameName, timeEl, uid } from "../dom.js";
import { fillTitle } from "../rulesets-common.js";
import { startShell } from "../shell.js";

startShell();
const { ruleset } = pageData();
const requestRoot = document.getElementById("request");
const root = document.getElementById("releases");
const shadowRoot = document.getElementById("shadow");
const STATUS = { requested: "waiting for a reviewer", approving: "being approved", approved: "released", rejected: "turned down" };

async function requestForm() {
  if (!can("releases.request")) return;
  let draft;
  let known;
  try {
    [draft, known] = await Promise.all([get(paths.draft(ruleset)), get(paths.releases(ruleset))]);
  } catch (e) {
    replace(requestRoot, notice(e.message, "error"));
    return;
  }
  // Nothing to ask for when the latest version is released already, or already waiting for a reviewer.
  if (draft.previous && draft.previous.version === draft.version) {
    replace(requestRoot, notice(`The latest version is release ${draft.previous.name}: there is nothing new to release yet.`));
    return;
  }
  if (known.releases.some((r) => r.version === draft.version && r.status === "requested")) {
    replace(requestRoot, notice("A release of the latest version has been asked for and is waiting for a reviewer."));
    return;
  }
  const id = uid("notes");
  const notes = h("textarea", { id, rows: 5, class: "wide" });
  notes.value = draft.notes;
  const message = h("div", { "aria-live": "polite" });
  const button = h("button", { type: "submit", class: "primary" }, "Ask for a release");
  const form = h("form", { class: "section-card", novalidate: true },
    h("h2", {}, "Ask for a release of the latest version"),
    h("p", { class: "muted" }, draft.previous ? `Changes since release ${draft.previous.name} (drafted from the reasons people gave; edit as you like):`
      : "This will be the first release. Notes (drafted from the reasons people gave; edit as you like):"),
    h("label", { for: id }, "Release notes"), notes,
    h("div", { class: "actions" }, button), message);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    button.disabled = true;
    try {
      await post(paths.releases(ruleset), { version: draft.version, notes: notes.value });
      replace(requestRoot, notice("Asked. A reviewer will look at it; the request is below.", "ok"));
      showReleases();
    } catch (e) {
      replace(message, notice(e.message, e.status === 409 ? "warning" : "error"));
    } finally {
      button.disabled = false;
    }
  });
  replace(requestRoot, form);
}

async function showReleases() {
  replace(root, loading("Loading the releases…"));
  let data;
  try {
    data = await get(paths.releases(ruleset));
  } catch (e) {
    replace(root, notice(e.message, "error"));
    return;
  }
  if (!data.releases.length) {
    replace(root, notice("No release has been asked for yet."));
    return;
  }
  // Oldest first, to find each request's previous release.
  const ordered = [...data.releases].sort((a, b) => a.id - b.id);
  const previous = new Map();
  let last = null;
  for (const r of ordered) {
    previous.set(r.id, last);
    if (r.status === "approved") last = r;
  }
  replace(root, h("h2", {}, "Requests and releases, newest first"), data.releases.map((r) => release(r, previous.get(r.id))));
}

function release(r, before) {
  const section = h("section", { class: "release", "aria-label": r.name ? `Release ${r.name}` : `Request ${r.id}` },
    h("h3", {}, r.name ? `Release ${r.name}` : "Release request",
      h("span", { class: `badge ${r.status}` }, STATUS[r.status] || r.status)),
    releaseTimes(r),
    h("pre", { class: "notes" }, r.notes || ""),
    r.comment ? h("p", {}, h("strong", {}, "Reviewer's comment: "), r.comment) : null,
    // The version id stays in the tooltip (for engineers): the release's name says which rules these are.
    r.status === "approved" && can("rules.read") && r.name ? h("p", { class: "release-version" },
      h("a", { href: pages.ruleset(ruleset, r.version), title: `version ${r.version}` }, `Open the rules of release ${r.name}`)) : null,
    r.status === "approved" ? h("p", { class: "bundle-hash" }, r.bundle_hash
      ? ["Bundle hash, recorded at approval: ", h("code", {}, r.bundle_hash),
        " (check a downloaded file with ", h("code", {}, "rulecraft verify"), ")"]
      : "No bundle hash was recorded for this release (it was approved before hashes were recorded).") : null);
  const gate = gatePanel(r);
  if (gate) section.append(gate);
  if (r.status === "approved" && can("bundles.read") && r.name) {
    section.append(h("p", {}, h("a", { class: "button", href: paths.bundle(ruleset, r.name), download: `${ruleset}-${r.name}.json` },
      `Download release ${r.name} (bundle file)`)));
    if (document.body.dataset.role === "ml-engineer") {
      section.append(h("p", { class: "hint" }, "Or pin it in Python: ",
        h("code", {}, `rules_dsl.load_from_server("${window.location.origin}", "${ruleset}", version="${r.name}", token=...)`)));
    }
  }
  if (r.status === "requested" && r.newer_versions && r.newer_versions.count) section.append(savedSince(r));
  if (r.status === "requested" && can("rules.read")) {
    const diffRoot = h("div", {}, loading("Loading what changed…"));
    section.append(h("details", { open: can("releases.decide") },
      h("summary", {}, before ? `What changed since release ${before.name}` : "What this first release contains"), diffRoot));
    if (before) {
      get(paths.diff(ruleset, before.version, r.version))
        .then((diff) => {
          renderDiff(diffRoot, diff, { ruleset, headingLevel: "h3" });
          // What the release would change in the answers on the reference cases, beside its text.
          diffRoot.append(impactPanel({ ruleset, from: before.version, to: r.version, level: 4, diffRoot }));
        })
        .catch((e) => replace(diffRoot, notice(e.message, "error")));
    } else {
      get(paths.rules(ruleset, r.version))
        .then((rules) => replace(diffRoot, h("ul", {}, rules.rules.map((rule) => h("li", {}, h("a", { href: pages.rule(ruleset, rule.id, r.version) }, rule.name))))))
        .catch((e) => replace(diffRoot, notice(e.message, "error")));
    }
  }
  if (r.status === "requested" && can("releases.decide")) {
    section.append(sameName(r.requested_by, me())
      ? notice("You asked for this release, so another reviewer decides on it.", "info")
      : decision(r));
  }
  return section;
}

// When it was asked for and when it was decided, both labelled: a release's rules were saved before either.
function releaseTimes(r) {
  const decided = r.status === "rejected" ? "Turned down" : "Approved";
  return h("dl", { class: "release-times" },
    h("div", {}, h("dt", {}, "Asked for"), " ", h("dd", {}, `by ${r.requested_by || "someone"}, `, timeEl(r.requested_at))),
    r.decided_at ? h("div", {}, h("dt", {}, decided), " ",
      h("dd", {}, r.decided_by ? `by ${r.decided_by}, ` : "", timeEl(r.decided_at))) : null);
}

// Saves made after the requested version (issue 15, item 9): said plainly before "Approve", with who, when and why
// of each, and a link to compare the requested version with the current one. Approving stays possible: the request
// is for that exact version.
const NOW = {
  "as-release": (n) => `The rule set now reads exactly as release ${n.release}: what this request asks to release has been undone since.`,
  "as-before-request": () => "The last change in this request has been undone since: the rule set now reads as it did before it.",
  "as-requested": () => "The later changes cancel out: the rule set now reads exactly as this request.",
};

function savedSince(r) {
  const n = r.newer_versions;
  const last = n.versions[0];
  const saves = n.count === 1 ? "1 change was saved" : `${n.count} changes were saved`;
  const lead = [`${saves} after this request`];
  if (last) lead.push(n.count === 1 ? ": " : "; the last one: ", `${last.author}, `, timeEl(last.time), last.why ? `, “${firstLine(last.why)}”` : "");
  const items = n.versions.map((v) => h("li", {}, timeEl(v.time), ` · ${v.author} ${actionWords(v.action)}`,
    v.rule ? [" ", can("rules.read") ? ruleLink(pages.ruleHistory(ruleset, v.rule), v.rule_name, v.rule) : (v.rule_name || v.rule)] : "",
    v.why ? [": ", h("q", {}, firstLine(v.why))] : ""));
  const more = n.versions.length ? n.count - n.versions.length : 0;  // no list for those who may not read rules
  return h("section", { class: "notice warning saved-since", "aria-label": "Saved after this request" },
    h("p", {}, h("strong", {}, lead, ".")),
    n.current_is && NOW[n.current_is] ? h("p", {}, NOW[n.current_is](n)) : h("p", {}, "The rule set now differs from the version asked for."),
    items.length ? h("ul", {}, items) : null,
    more > 0 ? h("p", {}, `And ${plural(more, "older save")} after the request`,
      can("rules.read") ? [" (", h("a", { href: pages.history(ruleset) }, "see the history"), ")"] : "", ".") : null,
    can("rules.read") ? h("p", {}, h("a", { class: "button", href: pages.compare(ruleset, r.version, n.current) },
      "Compare the version asked for with the current one")) : null,
    can("releases.decide") ? h("p", { class: "muted" }, "Approving releases the version as it was asked for, not the current one.") : null);
}

function firstLine(text) {
  return (text || "").trim().split("\n")[0];
}

// The release gate (ruleset.yaml gate:) as measured at the request and, once decided, at the approval: each
// criterion with its figure, its limit and whether it passed; an override's reason when a failing gate was approved.
function gateTable(measured, caption) {
  return h("div", { class: "table-wrap" }, h("table", { class: "gate" },
    h("caption", {}, caption),
    h("thead", {}, h("tr", {}, ["Criterion", "Measured", "Limit", "Result"].map((c) => h("th", { scope: "col" }, c)))),
    h("tbody", {}, measured.criteria.map((c) => h("tr", { class: c.passed ? "gate-passed" : "gate-failed" },
      h("th", { scope: "row" }, c.words, c.detail ? h("span", { class: "muted gate-detail" }, ` (${c.detail})`) : ""),
      h("td", {}, c.figure), h("td", {}, c.limit),
      h("td", {}, h("span", { class: `badge ${c.passed ? "approved" : "rejected"}` }, c.passed ? "passes" : "fails")))))));
}

function gatePanel(r) {
  if (!r.gate) return null;
  const approval = r.gate.approval;
  const measured = approval || r.gate.request;
  if (!measured) return null;
  const when = approval ? "at the approval" : "when the release was asked for";
  const on = measured.dataset ? ` on the reference cases “${measured.dataset}”` : "";
  const against = measured.compared_with ? `, compared with release ${measured.compared_with}` : "";
  return h("section", { class: `gate-panel ${measured.passed ? "gate-ok" : "gate-not-ok"}`, "aria-label": "Release gate" },
    h("h4", {}, "Release gate: ", measured.passed ? "passes" : `fails (${plural(measured.criteria.filter((c) => !c.passed).length, "criterion", "criteria")})`),
    h("p", { class: "muted" }, `Measured ${when}${on}${against}.`),
    gateTable(measured, `The release gate, measured ${when}`),
    r.gate_override ? h("p", { class: "gate-override" }, h("strong", {}, "Approved although the gate failed. Reason given: "), r.gate_override) : null);
}

function gateFails(r) {
  const measured = r.gate && (r.gate.approval || r.gate.request);
  return Boolean(measured && !measured.passed);
}

function decision(r) {
  const id = uid("comment");
  const comment = h("textarea", { id, rows: 2, class: "wide" });
  const message = h("div", { "aria-live": "polite" });
  const overrideId = uid("override");
  const override = h("textarea", { id: overrideId, rows: 2, class: "wide" });
  const overrideField = h("div", { class: "field override-field", hidden: !gateFails(r) },
    h("label", { for: overrideId }, "Why approve although the release gate fails? (needed to approve; kept in the release and the audit log)"),
    override);
  const approve = h("button", { type: "button", class: "primary" }, "Approve the release");
  const reject = h("button", { type: "button" }, "Turn it down");
  const decide = async (how) => {
    if (how === "reject" && !comment.value.trim()) {
      replace(message, notice("Say why you turn it down, so the author knows what to change.", "error"));
      comment.focus();
      return;
    }
    if (how === "approve" && !overrideField.hidden && !override.value.trim()) {
      replace(message, notice("This version fails the release gate (see above). To approve it all the same, say why in the box for the override; or turn it down so the author can fix it.", "error"));
      override.focus();
      return;
    }
    approve.disabled = true;
    reject.disabled = true;
    try {
      const body = { comment: comment.value };
      if (how === "approve" && !overrideField.hidden) body.override = override.value.trim();
      const done = await post(paths.decide(ruleset, r.id, how), body);
      replace(message, notice(how === "approve" ? `Approved: this version is now release ${done.name}.` : "Turned down.", "ok"));
      setTimeout(() => { showReleases(); showShadow(); }, 1200);
    } catch (e) {
      approve.disabled = false;
      reject.disabled = false;
      if (e instanceof ApiError && e.code === "gate-failed") {
        // Measured again at approval: the gate fails now (the rules or the reference cases changed since the request).
        overrideField.hidden = false;
        if (e.details.gate) message.before(gatePanel({ gate: { approval: e.details.gate } }));
        override.focus();
      }
      replace(message, notice(e instanceof ApiError ? e.message : String(e), "error"));
    }
  };
  approve.addEventListener("click", () => decide("approve"));
  reject.addEventListener("click", () => decide("reject"));
  return h("div", { class: "decision" },
    h("label", { for: id }, "Your comment (needed when you turn it down)"), comment, overrideField,
    h("div", { class: "actions" }, approve, reject), message);
}

// A running shadow (the candidate answering live predictions beside the release): its counts, as the API gives
// them; reviewers and admins start and stop it.
async function showShadow() {
  if (!shadowRoot) return;
  let data;
  let released = false;
  try {
    const [shadow, known] = await Promise.all([get(paths.shadow(ruleset)), get(paths.releases(ruleset))]);
    data = shadow;
    released = known.releases.some((r) => r.status === "approved");
  } catch (e) {
    if (e.status === 404 || e.status === 403) { replace(shadowRoot); return; }
    replace(shadowRoot, notice(e.message, "error"));
    return;
  }
  const s = data.shadow;
  const parts = [h("h2", {}, "Shadow run on live predictions")];
  if (!s && !released) {
    replace(shadowRoot);  // a shadow runs beside a release: nothing to say before the first one
    return;
  }
  if (!s) {
    parts.push(h("p", { class: "muted" }, "No shadow run yet. In a shadow run, the latest saved version answers every live prediction of the latest release beside it, without changing the released answers, and the differences are counted here."));
  } else {
    parts.push(h("p", { class: "shadow-summary" }, s.summary),
      h("p", { class: "muted" }, s.running ? "Running" : `Ended${s.end_reason ? ` (${s.end_reason})` : ""}`,
        ": the candidate is ", s.follows_latest_save ? "the latest saved version (follows the latest save)"
          : h("span", { title: `version ${s.candidate}` }, "a chosen saved version"), ` beside release ${s.release}`,
        s.started_by ? `, started by ${s.started_by}` : "", ", since ", timeEl(s.since), "."),
      h("ul", { class: "shadow-counts" },
        h("li", {}, `${plural(s.cases, "live case")} answered by both`),
        h("li", {}, `${s.different} answered differently`),
        s.failed ? h("li", {}, `${s.failed} the candidate could not answer`) : null,
        s.dropped ? h("li", {}, `${s.dropped} not compared (the server was busy)`) : null),
      s.by_rule.length ? h("div", { class: "table-wrap" }, h("table", { class: "shadow-rules" },
        h("caption", {}, "Rules that took part in the different answers"),
        h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Rule"), h("th", { scope: "col" }, "Different answers"))),
        h("tbody", {}, s.by_rule.map((b) => h("tr", {}, h("th", { scope: "row" }, b.rule), h("td", { class: "number" }, String(b.different))))))) : null,
      h("p", { class: "muted" }, s.values_kept ? "A sample of the disagreeing cases is kept with their values (the rule set allows it)."
        : "The disagreeing cases' values are not kept (the rule set does not allow it)."));
  }
  if (can("releases.decide")) {
    const button = h("button", { type: "button" }, s && s.running ? "Stop the shadow run" : "Start a shadow run of the latest save");
    const message = h("div", { "aria-live": "polite" });
    button.addEventListener("click", async () => {
      button.disabled = true;
      try {
        await request(s && s.running ? "DELETE" : "POST", paths.shadow(ruleset), { body: s && s.running ? undefined : {} });
        showShadow();
      } catch (e) {
        button.disabled = false;
        replace(message, notice(e.message, e.status === 409 ? "warning" : "error"));
      }
    });
    parts.push(h("div", { class: "actions" }, button), message);
  }
  replace(shadowRoot, h("section", { class: "section-card shadow" }, parts));
}

fillTitle(ruleset);
requestForm();
showReleases();
showShadow();
