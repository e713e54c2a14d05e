// Finding a feature by typing: an ARIA combobox (WAI-ARIA 1.2 "combobox with listbox popup", list autocomplete)
// over the vocabulary. Words typed match the name, a synonym or the description, in any order ("rate heart"
// finds "heart rate"); names that start with what was typed come first. Arrow keys move, Enter chooses, Escape
// closes (and clears on a second press), and the list shows at most SHOWN matches so 300 features stay quick.
import { h, uid } from "./dom.js";

const SHOWN = 40;
const fold = (s) => String(s || "").normalize("NFKD").replace(/[\u0300-\u036f]/g, "").toLowerCase().trim();

// The features matching `query`, best first: [{feature, why}] where `why` says what matched when not the name.
export function matchFeatures(features, query) {
  const words = fold(query).split(/\s+/).filter(Boolean);
  if (!words.length) return features.map((feature) => ({ feature, why: "", rank: 3 }));
  const found = [];
  for (const feature of features) {
    const name = fold(feature.name);
    const synonyms = (feature.synonyms || []).map(fold);
    const description = fold(feature.description);
    const all = [name, ...synonyms, description].join(" \n ");
    if (!words.every((w) => all.includes(w))) continue;
    const q = words.join(" ");
    let rank = 2;
    let why = "";
    if (name.startsWith(q)) rank = 0;
    else if (words.every((w) => name.includes(w))) rank = 1;
    else {
      const synonym = (feature.synonyms || []).find((s) => words.every((w) => fold(s).includes(w)));
      why = synonym ? `also called “${synonym}”` : (feature.description || "");
    }
    found.push({ feature, why, rank });
  }
  return found.sort((a, b) => a.rank - b.rank || a.feature.name.localeCompare(b.feature.name));
}

// A combobox element; `onChoose(feature)` is called when a feature is chosen. `label` names the field (null: the
// caller labels the input, whose id is `id`). `onCancel`, when given, is called on Escape with the list closed (the
// picker can then be put away).
//
// As a field that holds a feature (the rule form's "Feature"), give `value` (the name shown) and `onCommit(text)`:
// the input keeps the chosen name, and what was typed is committed when the person leaves the field (after the
// focus has moved, so the form can redraw) or when a script sets it ("Use 'temperature'"); Escape with the list
// closed puts the name back.
export function featureCombobox({ features, label, placeholder = "Type a name, synonym or description", onChoose, onCancel = null,
  exclude = () => false, id = null, value = null, onCommit = null, inputClass = "", dataset = {} }) {
  const inputId = id || uid("feature-find");
  const listId = uid("feature-list");
  const input = h("input", { id: inputId, type: "text", role: "combobox", autocomplete: "off", class: `feature-find ${inputClass}`.trim(),
    "aria-autocomplete": "list", "aria-expanded": "false", "aria-controls": listId, placeholder, value: value || "", dataset });
  const list = h("ul", { id: listId, role: "listbox", class: "feature-options", "aria-label": "Matching names", hidden: true });
  const status = h("span", { class: "visually-hidden", role: "status" });
  let shown = [];
  let active = -1;

  const close = () => {
    list.hidden = true;
    input.setAttribute("aria-expanded", "false");
    input.removeAttribute("aria-activedescendant");
    active = -1;
  };
  const highlight = (i) => {
    active = i;
    [...list.children].forEach((li, j) => li.setAttribute("aria-selected", String(j === i)));
    if (i >= 0 && list.children[i]) {
      input.setAttribute("aria-activedescendant", list.children[i].id);
      list.children[i].scrollIntoView({ block: "nearest" });
    } else input.removeAttribute("aria-activedescendant");
  };
  let committed = value || "";
  const choose = (feature) => {
    input.value = onCommit ? feature.name : "";
    committed = input.value;
    close();
    onChoose(feature);
  };
  const commit = () => {
    if (input.value === committed) return;
    committed = input.value;
    onCommit(input.value);
  };
  const open = () => {
    const matches = matchFeatures(features.filter((f) => !exclude(f)), input.value);
    shown = matches.slice(0, SHOWN).map((m) => m.feature);
    list.replaceChildren(...matches.slice(0, SHOWN).map(({ feature, why }, i) => {
      const li = h("li", { id: `${listId}-${i}`, role: "option", "aria-selected": "false", class: "feature-option" },
        h("span", { class: "option-name" }, feature.unit ? `${feature.name} (${feature.unit})` : feature.name),
        why ? h("span", { class: "option-why" }, why) : null);
      li.addEventListener("mousedown", (event) => event.preventDefault()); // keep focus in the input
      li.addEventListener("click", () => choose(feature));
      return li;
    }));
    if (!matches.length) list.replaceChildren(h("li", { class: "feature-option none", "aria-disabled": "true" }, "No feature matches: try fewer letters or another word."));
    list.hidden = false;
    input.setAttribute("aria-expanded", "true");
    status.textContent = matches.length ? `${matches.length} feature${matches.length === 1 ? "" : "s"} match${matches.length > SHOWN ? `; the first ${SHOWN} are listed` : ""}.` : "No feature matches.";
    highlight(matches.length && input.value.trim() ? 0 : -1);
  };

  input.addEventListener("input", (event) => { if (event.isTrusted || !onCommit) open(); });
  input.addEventListener("focus", () => { if (input.value && !onCommit) open(); });
  input.addEventListener("click", () => { if (onCommit && list.hidden) open(); });
  input.addEventListener("blur", () => {
    close();
    if (onCommit) setTimeout(commit, 0);  // once the focus is where the person went
  });
  if (onCommit) input.addEventListener("change", (event) => { if (!event.isTrusted) commit(); });
  input.addEventListener("keydown", (event) => {
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      if (list.hidden) { open(); if (event.key === "ArrowUp") highlight(shown.length - 1); return; }
      if (!shown.length) return;
      const step = event.key === "ArrowDown" ? 1 : -1;
      highlight((active + step + shown.length) % shown.length);
    } else if (event.key === "Enter") {
      if (!list.hidden && active >= 0 && shown[active]) { event.preventDefault(); choose(shown[active]); }
    } else if (event.key === "Tab" && onCommit) {
      // The highlighted match is taken on the way out (list autocomplete with automatic selection).
      if (!list.hidden && active >= 0 && shown[active] && input.value.trim()) choose(shown[active]);
    } else if (event.key === "Escape") {
      if (!list.hidden) { event.preventDefault(); close(); } else if (onCancel) { event.preventDefault(); onCancel(); } else input.value = onCommit ? committed : "";
    }
  });
  const wrap = h("div", { class: "feature-combobox" }, label ? h("label", { for: inputId, class: "small-label" }, label) : null, input, list, status);
  wrap.input = input;
  return wrap;
}
