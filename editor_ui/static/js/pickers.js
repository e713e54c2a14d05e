// The pickers the analysis and impact views share: which reference cases, and which column to split them by.
import { h, replace } from "./dom.js";
import { count } from "./figures.js";

export function fillDatasetSelect(select, datasets, chosen, { needOutcome = false } = {}) {
  replace(select, datasets.map((d) => h("option", { value: String(d.id), disabled: needOutcome && !d.label_column },
    `${d.name}${d.name.includes(String(d.rows)) ? "" : ` (${count(d.rows)})`}${d.label_column ? "" : ": no true outcome"}`)));
  const usable = datasets.filter((d) => !needOutcome || d.label_column);
  const pick = usable.find((d) => String(d.id) === String(chosen)) || usable[0];
  if (pick) select.value = String(pick.id);
  return pick || null;
}

// "Do not split", then the columns named for splitting when the cases were added, then every other column.
export function fillSplitSelect(select, dataset, chosen) {
  const suggested = dataset ? dataset.group_columns : [];
  const others = dataset ? dataset.columns.filter((c) => c !== dataset.label_column && !suggested.includes(c)) : [];
  replace(select, h("option", { value: "" }, "Do not split"),
    suggested.length ? h("optgroup", { label: "Named for splitting when the cases were added" }, suggested.map((c) => h("option", { value: c }, c))) : null,
    others.length ? h("optgroup", { label: suggested.length ? "Other columns" : "Columns of the reference cases" }, others.map((c) => h("option", { value: c }, c))) : null);
  select.value = [...select.options].some((o) => o.value === chosen) ? chosen : "";
}
