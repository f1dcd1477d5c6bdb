"""The report's inline style sheet and script: no file, font or library is fetched when it opens."""

from __future__ import annotations

VERDICT_COLOURS = {  # background, text: told apart without colour too (each cell says its verdict)
    "passed": ("#c8e6c9", "#1b5e20"),
    "failed": ("#e53935", "#ffffff"),
    "error": ("#8e24aa", "#ffffff"),
    "not_judged": ("#b0bec5", "#263238"),
    "not_applicable": ("#eeeeee", "#616161"),
    "skipped": ("#fff59d", "#5d4037"),
}

STYLE = """
:root { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; font-size: 14px; color: #212121; }
body { margin: 0 16px 32px; }
h1 { font-size: 1.5em; margin: 14px 0 4px; } h2 { font-size: 1.2em; margin: 22px 0 8px; } h3 { font-size: 1.05em; margin: 4px 0 8px; }
.summary { font-size: 1.1em; margin: 0 0 8px; } .summary .bad { color: #c62828; font-weight: 600; }
.summary .good { color: #2e7d32; font-weight: 600; }
table { border-collapse: collapse; } td, th { padding: 3px 8px; }
.facts td, .facts th { border-bottom: 1px solid #e0e0e0; text-align: left; vertical-align: top; }
.facts th { font-weight: 600; white-space: nowrap; } .num { text-align: right; font-variant-numeric: tabular-nums; }
.columns { display: flex; flex-wrap: wrap; gap: 24px; align-items: flex-start; }
.legend span { display: inline-block; border-radius: 3px; }
.versions { margin: 4px 0; color: #424242; } .versions b { font-weight: 600; }
.legend span { padding: 1px 8px; margin: 2px 6px 2px 0; }
.filters { display: flex; flex-wrap: wrap; gap: 8px 18px; align-items: center; margin: 8px 0; padding: 8px;
  background: #f5f5f5; border-radius: 4px; }
.filters fieldset { border: 0; padding: 0; margin: 0; } .filters legend { font-weight: 600; float: left; margin-right: 6px; }
.filters label { margin-right: 8px; white-space: nowrap; }
.matrix-wrap { overflow: auto; max-height: 70vh; border: 1px solid #bdbdbd; }
table.matrix th { position: sticky; top: 0; background: #fafafa; z-index: 2; border-bottom: 2px solid #9e9e9e;
  white-space: nowrap; font-weight: 600; }
table.matrix th.name, table.matrix td.name { position: sticky; left: 0; background: #ffffff; z-index: 1; text-align: left;
  max-width: 420px; overflow-wrap: anywhere; border-right: 1px solid #bdbdbd; }
table.matrix th.name { z-index: 3; background: #fafafa; }
table.matrix td { border-bottom: 1px solid #eeeeee; text-align: center; white-space: nowrap; }
table.matrix td.cell { cursor: pointer; min-width: 48px; }
table.matrix td.cell:focus, table.matrix td.cell.selected { outline: 3px solid #1565c0; outline-offset: -3px; }
table.matrix td.dim { opacity: 0.25; } table.matrix td.none { background: #ffffff; color: #bdbdbd; cursor: default; }
.kind { color: #757575; font-size: 0.9em; }
#details { margin-top: 12px; padding: 10px 12px; border: 1px solid #bdbdbd; border-radius: 4px; background: #fcfcfc; }
#details dl { display: grid; grid-template-columns: max-content 1fr; gap: 4px 12px; margin: 0; }
#details dt { font-weight: 600; } #details dd { margin: 0; overflow-wrap: anywhere; white-space: pre-wrap; }
#details dd.cause { font-weight: 600; }
pre { background: #f5f5f5; padding: 8px; overflow: auto; max-height: 360px; font-size: 12px; white-space: pre; }
.script span { font-weight: 600; } button.copy { margin-left: 8px; }
.note { color: #616161; font-size: 0.92em; max-width: 900px; }
.warning { color: #e65100; }
"""


def verdict_style() -> str:
    """One CSS rule per verdict, for the cells, the legend and the detail panel's border.

    Example:
        >>> ".v-failed" in verdict_style()
        True
    """
    return "\n".join(f".v-{name} {{ background: {back}; color: {text}; }}\n#details section.v-{name} {{ border-left: 6px solid {back}; "
                     f"padding-left: 8px; background: transparent; color: inherit; }}"
                     for name, (back, text) in VERDICT_COLOURS.items())


SCRIPT = """
(function () {
  "use strict";
  const matrix = document.getElementById("matrix");
  if (!matrix) { return; }
  const rows = Array.from(matrix.querySelectorAll("tbody tr"));
  const placeholder = document.getElementById("details-placeholder");
  function show(cell) {
    document.querySelectorAll("#details section.detail").forEach(function (s) { s.hidden = true; });
    matrix.querySelectorAll("td.selected").forEach(function (c) { c.classList.remove("selected"); });
    const panel = document.getElementById("detail-" + cell.dataset.cell);
    if (!panel) { return; }
    placeholder.hidden = true;
    panel.hidden = false;
    cell.classList.add("selected");
  }
  matrix.addEventListener("click", function (event) {
    const cell = event.target.closest("td.cell");
    if (cell) { show(cell); }
  });
  matrix.addEventListener("keydown", function (event) {
    const cell = event.target.closest("td.cell");
    if (cell && (event.key === "Enter" || event.key === " ")) { event.preventDefault(); show(cell); }
  });
  document.querySelectorAll("button.copy").forEach(function (button) {
    button.addEventListener("click", function () {
      const code = button.parentElement.querySelector("pre");
      const text = code.textContent;
      function selected() {
        const range = document.createRange();
        range.selectNodeContents(code);
        const selection = window.getSelection();
        selection.removeAllRanges();
        selection.addRange(range);
        let copied = false;
        try { copied = document.execCommand("copy"); } catch (error) { copied = false; }
        button.textContent = copied ? "copied" : "selected: press Ctrl+C";
      }
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(text).then(function () { button.textContent = "copied"; }, selected);
      } else { selected(); }
    });
  });
  const nameFilter = document.getElementById("filter-check");
  const kindFilter = document.getElementById("filter-kind");
  const formatBoxes = Array.from(document.querySelectorAll("input.filter-format"));
  const verdictBoxes = Array.from(document.querySelectorAll("input.filter-verdict"));
  const counter = document.getElementById("shown-count");
  function apply() {
    const text = nameFilter.value.trim().toLowerCase();
    const kind = kindFilter.value;
    const formats = new Set(formatBoxes.filter(function (b) { return b.checked; }).map(function (b) { return b.value; }));
    const verdicts = new Set(verdictBoxes.filter(function (b) { return b.checked; }).map(function (b) { return b.value; }));
    matrix.querySelectorAll("[data-format]").forEach(function (c) { c.hidden = !formats.has(c.dataset.format); });
    let shown = 0;
    rows.forEach(function (row) {
      const cells = row.querySelectorAll("td.cell[data-format]");
      let matching = cells.length === 0;
      cells.forEach(function (cell) {
        const wanted = verdicts.has(cell.dataset.verdict);
        cell.classList.toggle("dim", !wanted);
        if (wanted && formats.has(cell.dataset.format)) { matching = true; }
      });
      const visible = matching && row.dataset.name.toLowerCase().includes(text) && (kind === "" || row.dataset.kind === kind);
      row.hidden = !visible;
      if (visible) { shown += 1; }
    });
    counter.textContent = shown + " of " + rows.length + " checks shown";
  }
  [nameFilter, kindFilter].concat(formatBoxes, verdictBoxes).forEach(function (input) {
    input.addEventListener("input", apply);
    input.addEventListener("change", apply);
  });
  apply();
})();
"""
