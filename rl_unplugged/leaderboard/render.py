"""Rendering of the board: Markdown, one static HTML page, PNG plots.

Every user string goes through `md_escape` (Markdown: backslash escapes only) or
`html.escape` (HTML) exactly once, at the point of output; plot labels have mathtext
`$` escaped. The HTML page is self-contained (inline CSS and script, no CDN), carries a
Content-Security-Policy that allows only its own inline script (by sha256), and sorts
tables by clicking headers.
"""

from __future__ import annotations

import base64
import hashlib
import html
import re
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

# Characters that make Markdown (GitHub's included) anywhere in a line: emphasis, code,
# links and images ('[' ']'), raw HTML and autolinks ('<' '>'), table cells ('|'),
# strikethrough ('~'), entities ('&') and math ('$'). '(' ')' '!' only act next to a
# bracket, which is escaped. HTML escaping is not Markdown's: `&#x27;` would show as is.
_MD_INLINE = re.compile(r"([\\`*_\[\]<>|~&$])")
# What makes a block only at the start of a line: a heading, a list item (-, +, 1. 1)),
# a thematic break or setext underline (=).
_MD_LINE_START = re.compile(r"^([#+\-=]|\d+(?=[.)]))")


def md_escape(text: Any, limit: int | None = None) -> str:
    """Escapes a user string for Markdown text and table cells (one line, no HTML escaping).

    Backslash escapes only what Markdown would interpret, so the text reads as written:
    "a task's <b>" -> "a task's \\<b\\>".
    """
    s = " ".join(str(text).split())  # No newlines: they would break table rows.
    if limit is not None and len(s) > limit:
        s = s[:limit] + "…"
    s = _MD_INLINE.sub(r"\\\1", s)
    return _MD_LINE_START.sub(lambda m: "\\" + m.group(1) if not m.group(1).isdigit()
                             else m.group(1) + "\\", s)


def h(text: Any) -> str:
    return html.escape(str(text), quote=True)


def plot_label(text: str, limit: int = 30) -> str:
    s = " ".join(str(text).split())
    s = s[:limit] + ("…" if len(s) > limit else "")
    return s.replace("\\", "\\\\").replace("$", r"\$")


def fmt_ci(est: Sequence[float] | None) -> str:
    if est is None:
        return "pending"
    return f"{est[0]:.3f} [{est[1]:.3f}, {est[2]:.3f}]"


_SCRIPT = """
document.querySelectorAll('table.sortable').forEach(function (table) {
  table.querySelectorAll('th').forEach(function (th, col) {
    th.addEventListener('click', function () {
      var body = table.tBodies[0];
      var rows = Array.prototype.slice.call(body.rows);
      var asc = th.getAttribute('data-dir') !== 'asc';
      table.querySelectorAll('th').forEach(function (o) { o.removeAttribute('data-dir'); });
      th.setAttribute('data-dir', asc ? 'asc' : 'desc');
      rows.sort(function (a, b) {
        var x = a.cells[col].getAttribute('data-v'), y = b.cells[col].getAttribute('data-v');
        var nx = parseFloat(x), ny = parseFloat(y), r;
        if (!isNaN(nx) && !isNaN(ny)) { r = nx - ny; }
        else if (!isNaN(nx)) { r = -1; } else if (!isNaN(ny)) { r = 1; }
        else { r = String(x).localeCompare(String(y)); }
        return asc ? r : -r;
      });
      rows.forEach(function (row) { body.appendChild(row); });
    });
  });
});
"""

_CSS = """
body { font-family: system-ui, sans-serif; margin: 2em; color: #222; }
table { border-collapse: collapse; margin: 1em 0; }
th, td { border: 1px solid #ccc; padding: 4px 8px; text-align: left; }
th { background: #f0f0f0; cursor: pointer; user-select: none; }
th[data-dir=asc]::after { content: " \\25B2"; } th[data-dir=desc]::after { content: " \\25BC"; }
code { font-size: 90%; } img { max-width: 100%; } .pending { color: #a60; }
"""


def _script_hash() -> str:
    digest = hashlib.sha256(_SCRIPT.encode()).digest()
    return "sha256-" + base64.b64encode(digest).decode()


def _cell(text: str, sort_value: Any, raw_html: bool = False) -> str:
    content = text if raw_html else h(text)
    return f'<td data-v="{h(sort_value)}">{content}</td>'


def _protocol_doc(task_id: str) -> str:
    """The protocol doc of a task, relative to the board root (`rlu protocols render`)."""
    return f"protocols/{task_id.replace('/', '-')}.md"


def _protocol_summary(entry: Mapping[str, Any]) -> str:
    versions = sorted({(r["protocol_version"], r["protocol_hash"][:12])
                       for r in entry["results"].values()})
    return ", ".join(f"v{v} {hh}" for v, hh in versions[:3]) + (
        f" (+{len(versions) - 3})" if len(versions) > 3 else "")


def render_html(board: Mapping[str, Any]) -> str:
    """The static page of a built board (see `board.build_board`)."""
    parts = [
        "<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
        f"img-src 'self' data:; style-src 'unsafe-inline'; script-src '{_script_hash()}'\">",
        "<title>rl_unplugged leaderboard</title>", f"<style>{_CSS}</style></head><body>",
        "<h1>rl_unplugged leaderboard</h1>",
        f"<p>Built from {len(board['entries'])} submission(s) under the current protocols "
        f"(v{board.get('version', '?')}){_retired_count(board)}. Normalised score = (return "
        "&minus; random) / (expert &minus; random) per task, mean over the protocol's "
        "evaluation episodes per run; aggregates over runs &times; tasks with 95% "
        f"stratified-bootstrap CIs ({board['reps']} replications, seed {board['seed']}, "
        "rliable). A task score above 1.2 is flagged: it points at a weak expert "
        "reference. Click a column header to sort.</p>",
    ]
    if not board["entries"]:
        parts.append(f"<p>{h(_no_entries(board))}</p>")
    for track in board["tracks"]:
        parts.append(f"<h2 id=\"track-{h(track['track'])}\">Track: {h(track['track'])} "
                     f"({len(track['tasks'])} tasks)</h2>")
        if track["pending"]:
            parts.append(f"<p class=\"pending\">Aggregates pending: {h(track['pending'])}</p>")
        parts.append('<table class="sortable"><thead><tr><th>Entry</th><th>Authors</th>'
                     "<th>Selection</th><th>Runs</th><th>IQM</th><th>Median</th><th>Mean</th>"
                     "<th>Optimality gap</th><th>Protocols</th><th>Details</th></tr>"
                     "</thead><tbody>")
        for name in track["entries"]:
            entry = board["entries"][name]
            est = track["estimates"].get(name)
            sel = _selection(entry)
            cells = [_cell(entry["name"], entry["name"].casefold()),
                     _cell(entry["authors"], entry["authors"].casefold()),
                     _cell(sel, sel), _cell(str(entry["num_runs"]), entry["num_runs"])]
            for metric in ("IQM", "Median", "Mean", "Optimality Gap"):
                v = None if est is None else est[metric]
                cells.append(_cell(fmt_ci(v), "" if v is None else f"{v[0]:.6g}"))
            cells.append(_cell(_protocol_summary(entry), _protocol_summary(entry)))
            cells.append(_cell(f'<a href="#{entry["anchor"]}">per task</a>', entry["anchor"],
                               raw_html=True))
            parts.append("<tr>" + "".join(cells) + "</tr>")
        parts.append("</tbody></table>")
        for kind, title in (("aggregates", "Aggregate metrics"),
                            ("profiles", "Performance profiles")):
            if kind in track["plots"]:
                parts.append(f'<p><img alt="{h(title)} ({h(track["track"])})" '
                             f'src="{h(track["plots"][kind])}"></p>')
        if track["improvement"]:
            parts.append("<h3>Probability of improvement P(row &gt; column)</h3>"
                         '<table class="sortable"><thead><tr><th>Entry</th>'
                         + "".join(f"<th>{h(n)}</th>" for n in track["entries"])
                         + "</tr></thead><tbody>")
            for x in track["entries"]:
                row = [_cell(x, x.casefold())]
                for y in track["entries"]:
                    v = track["improvement"].get((x, y))
                    row.append(_cell("—" if v is None else fmt_ci(v),
                                     "" if v is None else f"{v[0]:.6g}"))
                parts.append("<tr>" + "".join(row) + "</tr>")
            parts.append("</tbody></table>")
    if board["entries"]:
        parts.append("<h2>Per-task breakdown</h2>")
    for name, entry in board["entries"].items():
        parts += _entry_html(name, entry, "h3", _protocol_doc)
    for section in board.get("retired", ()):
        parts += _retired_html(section)
    parts.append(f"<script>{_SCRIPT}</script></body></html>")
    return "\n".join(parts) + "\n"


def _retired_count(board: Mapping[str, Any]) -> str:
    counts = [f"{len(s['entries'])} under retired protocol v{s['version']}"
              for s in board.get("retired", ())]
    return "".join(f", {c}" for c in counts)


def _no_entries(board: Mapping[str, Any]) -> str:
    if board.get("retired"):
        return (f"No submissions under the current protocols (v{board.get('version', '?')}) "
                "yet; entries of retired protocol versions are listed at the end, apart.")
    return "No submissions yet."


def _retired_intro(section: Mapping[str, Any]) -> str:
    """Why a retired section is apart (plain text; each renderer escapes it)."""
    v = section["version"]
    return (f"These entries were scored under protocol v{v}, retired because "
            f"{section['why'] or 'it was superseded'}. They are shown for the record and "
            "enter no track or aggregate above. Their normalised scores use the "
            f"v{v} references and are not comparable with the current tracks. To move an "
            "entry to the current board, re-evaluate it under the current protocols")


def _entry_html(name: str, entry: Mapping[str, Any], heading: str,
                protocol_link) -> list[str]:
    """One entry's per-task table (and its flags, each linking `protocol_link(task)`)."""
    parts = [f'<{heading} id="{entry["anchor"]}">{h(name)}</{heading}>',
             f"<p>{h(entry['description'])}</p>"]
    if entry.get("url"):
        parts.append(f'<p><a rel="nofollow noopener" href="{h(entry["url"])}">'
                     f"{h(entry['url'])}</a></p>")
    parts.append(f"<p>Track {h(entry['track'])}; package {h(entry['package_version'])}; "
                 f"date {h(entry['date'])}; file <code>{h(entry['file'])}</code></p>")
    parts.append('<table class="sortable"><thead><tr><th>Task</th><th>Protocol</th>'
                 "<th>Runs</th><th>Mean return</th><th>Std over runs</th>"
                 "<th>Normalised mean</th></tr></thead><tbody>")
    for task_id, row in entry["tasks"].items():
        norm = row["normalised_mean"]
        parts.append("<tr>" + "".join([
            _cell(task_id, task_id),
            _cell(f"v{row['protocol_version']} {row['protocol_hash'][:12]}",
                  row["protocol_hash"]),
            _cell(str(row["runs"]), row["runs"]),
            _cell(f"{row['mean_return']:.4g}", f"{row['mean_return']:.6g}"),
            _cell(f"{row['std_return']:.4g}", f"{row['std_return']:.6g}"),
            _cell("pending" if norm is None else f"{norm:.4g}"
                  + (" (flagged)" if row.get("flag") else ""),
                  "" if norm is None else f"{norm:.6g}")]) + "</tr>")
    parts.append("</tbody></table>")
    flags = [(t, row["flag"]) for t, row in entry["tasks"].items() if row.get("flag")]
    if flags:
        parts.append('<ul class="flags">' + "".join(
            f'<li><strong>Flag</strong> {h(t)}: {h(text)} (<a href="'
            f'{h(protocol_link(t))}">protocol</a>)</li>' for t, text in flags) + "</ul>")
    return parts


def _retired_html(section: Mapping[str, Any]) -> list[str]:
    v = section["version"]
    parts = [f'<h2 id="retired-v{v}">Retired: protocol v{v}</h2>',
             f"<p>{h(_retired_intro(section))} (<a href=\"{h(section['migration'])}\">"
             f"migration</a>). Frozen v{v} protocols: "
             f'<a href="{h(section["protocols_file"])}">'
             f"<code>{h(section['protocols_file'].removeprefix('../'))}</code></a>.</p>",
             '<table class="sortable"><thead><tr><th>Entry</th><th>Authors</th>'
             "<th>Track</th><th>Selection</th><th>Runs</th><th>Protocols</th><th>Details</th>"
             "</tr></thead><tbody>"]
    for name, entry in section["entries"].items():
        sel = _selection(entry)
        parts.append("<tr>" + "".join([
            _cell(name, name.casefold()), _cell(entry["authors"], entry["authors"].casefold()),
            _cell(entry["track"], entry["track"]), _cell(sel, sel),
            _cell(str(entry["num_runs"]), entry["num_runs"]),
            _cell(_protocol_summary(entry), _protocol_summary(entry)),
            _cell(f'<a href="#{entry["anchor"]}">per task</a>', entry["anchor"],
                  raw_html=True)]) + "</tr>")
    parts.append("</tbody></table>")
    for name, entry in section["entries"].items():
        parts += _entry_html(f"{name} (protocol v{v})", entry, "h3",
                             lambda _t: section["protocols_file"])
    return parts


def _selection(entry: Mapping[str, Any]) -> str:
    return entry["selection"]["method"] + (
        f" ({entry['selection']['name']})" if entry["selection"].get("name") else "")


def render_markdown(board: Mapping[str, Any]) -> str:
    """LEADERBOARD.md of a built board."""
    lines = ["# rl_unplugged leaderboard", "",
             "Generated by `rlu leaderboard build`; do not edit. Normalised score = "
             "(return - random) / (expert - random) per task; aggregates over runs x tasks "
             f"with 95% stratified-bootstrap CIs ({board['reps']} replications, seed "
             f"{board['seed']}, rliable). A task score above 1.2 is flagged: it points at a "
             "weak expert reference, not a superhuman entry. See `leaderboard.html` for a "
             "sortable page.", "",
             f"Entries under the current protocols (v{board.get('version', '?')}): "
             f"{len(board['entries'])}{_retired_count(board)}.", ""]
    if not board["entries"]:
        lines += [_no_entries(board), ""]
    for track in board["tracks"]:
        lines += [f"## Track: {md_escape(track['track'])} ({len(track['tasks'])} tasks)", ""]
        if track["pending"]:
            lines += [f"Aggregates pending: {md_escape(track['pending'])}", ""]
        lines += ["| Entry | Authors | Selection | Runs | IQM | Median | Mean | "
                  "Optimality gap | Protocols |", "|" + "---|" * 9]
        for name in track["entries"]:
            entry = board["entries"][name]
            est = track["estimates"].get(name)
            sel = _selection(entry)
            # Our own number formatting: nothing to escape (and escaping clutters it).
            metrics = [fmt_ci(None if est is None else est[m])
                       for m in ("IQM", "Median", "Mean", "Optimality Gap")]
            lines.append("| " + " | ".join(
                [f"[{md_escape(name)}](#{entry['anchor']})", md_escape(entry["authors"], 80),
                 md_escape(sel), str(entry["num_runs"]), *metrics,
                 md_escape(_protocol_summary(entry))]) + " |")
        lines.append("")
        for kind in ("aggregates", "profiles"):
            if kind in track["plots"]:
                lines += [f"![{kind} {md_escape(track['track'])}]({track['plots'][kind]})", ""]
        if track["improvement"]:  # As in the HTML page.
            names = track["entries"]
            lines += ["Probability of improvement P(row > column), 95% CI:", "",
                      "| Entry | " + " | ".join(md_escape(n) for n in names) + " |",
                      "|" + "---|" * (len(names) + 1)]
            for x in names:
                cells = ["—" if track["improvement"].get((x, y)) is None
                         else fmt_ci(track["improvement"][(x, y)]) for y in names]
                lines.append(f"| {md_escape(x)} | " + " | ".join(cells) + " |")
            lines.append("")
    if board["entries"]:
        lines += ["## Per-task breakdown", ""]
    for name, entry in board["entries"].items():
        lines += _entry_markdown(name, entry, _protocol_doc)
    for section in board.get("retired", ()):
        lines += _retired_markdown(section)
    return "\n".join(lines)


def _entry_markdown(name: str, entry: Mapping[str, Any], protocol_link) -> list[str]:
    """One entry's per-task table (and its flags, each linking `protocol_link(task)`)."""
    lines = [f'<a id="{entry["anchor"]}"></a>', "", f"### {md_escape(name)}", "",
             md_escape(entry["description"], 500) or "(no description)", "",
             "| Task | Protocol | Runs | Mean return | Std over runs | Normalised mean |",
             "|" + "---|" * 6]
    for task_id, row in entry["tasks"].items():
        norm = row["normalised_mean"]
        flagged = " (flagged)" if row.get("flag") else ""
        lines.append(f"| {md_escape(task_id)} | v{row['protocol_version']} "
                     f"`{row['protocol_hash'][:12]}` | {row['runs']} | "
                     f"{row['mean_return']:.4g} | {row['std_return']:.4g} | "
                     f"{'pending' if norm is None else f'{norm:.4g}'}{flagged} |")
    lines.append("")
    for task_id, row in entry["tasks"].items():
        if row.get("flag"):
            lines.append(f"- **Flag** {md_escape(task_id)}: {md_escape(row['flag'])} "
                         f"([protocol]({protocol_link(task_id)}))")
    if any(row.get("flag") for row in entry["tasks"].values()):
        lines.append("")
    return lines


def _retired_markdown(section: Mapping[str, Any]) -> list[str]:
    v = section["version"]
    frozen = section["protocols_file"]
    lines = [f'<a id="retired-v{v}"></a>', "", f"## Retired: protocol v{v}", "",
             f"{md_escape(_retired_intro(section))} ([migration]({section['migration']})). "
             f"Frozen v{v} protocols: "
             f"[`{frozen.removeprefix('../')}`]({frozen}).", "",
             "| Entry | Authors | Track | Selection | Runs | Protocols |", "|" + "---|" * 6]
    for name, entry in section["entries"].items():
        lines.append("| " + " | ".join(
            [f"[{md_escape(name)}](#{entry['anchor']})", md_escape(entry["authors"], 80),
             md_escape(entry["track"]), md_escape(_selection(entry)), str(entry["num_runs"]),
             md_escape(_protocol_summary(entry))]) + " |")
    lines.append("")
    for name, entry in section["entries"].items():
        lines += _entry_markdown(f"{name} (protocol v{v})", entry, lambda _t: frozen)
    return lines


def _plot_labels(names: Sequence[str], limit: int = 80) -> list[str]:
    """Plot labels of entry names: mathtext-safe, cut only beyond `limit` (the schema's
    longest name); a label shared by two names (cut alike) gets its entry number."""
    labels = [plot_label(n, limit) for n in names]
    return [f"{label} #{i}" if labels.count(label) > 1 else label
            for i, label in enumerate(labels)]


def plot_aggregates(estimates: Mapping[str, Mapping[str, Sequence[float]]], path) -> None:
    """Saves `aggregates_figure(estimates)` as a PNG."""
    aggregates_figure(estimates).savefig(path, dpi=100)


def aggregates_figure(estimates: Mapping[str, Mapping[str, Sequence[float]]]):
    """Aggregate bars with 95% CIs, one panel per metric, entries top to bottom.

    Drawn with matplotlib directly (rliable's `plot_interval_estimates` fixes the panel
    widths, so its tick labels collided across panels and long names were cut): the
    constrained layout keeps every tick label and the whole (wrapped) entry name.
    """
    import textwrap

    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    names = list(estimates)
    metrics = ("IQM", "Median", "Mean", "Optimality Gap")
    labels = [textwrap.fill(label, 34) for label in _plot_labels(names)]
    rows = max(label.count("\n") + 1 for label in labels)
    fig = Figure(figsize=(11.5, 0.9 + 0.32 * rows * len(names)), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, len(metrics), sharey=True)
    colors = [f"C{i % 10}" for i in range(len(names))]
    for ax, metric in zip(axes, metrics, strict=True):
        for i, name in enumerate(names):
            point, low, high = estimates[name][metric]
            ax.barh(i, high - low, left=low, height=0.6, color=colors[i], alpha=0.75)
            ax.plot([point, point], [i - 0.3, i + 0.3], color="black", lw=1.2)
        ax.set_title(metric, fontsize=11)
        ax.xaxis.set_major_locator(MaxNLocator(4))
        ax.grid(axis="x", alpha=0.3)
        for side in ("top", "right", "left"):
            ax.spines[side].set_visible(False)
        ax.tick_params(axis="y", length=0)
    axes[0].set_yticks(range(len(names)), labels, fontsize=9)
    axes[0].invert_yaxis()  # First entry on top (shared y: one inversion for all).
    fig.supxlabel("Normalised score (95% stratified-bootstrap CIs)", fontsize=10)
    return fig


def plot_profiles(profiles: Mapping[str, np.ndarray], cis: Mapping[str, np.ndarray],
                  taus: np.ndarray, path) -> None:
    """Performance profiles with CI bands (rliable's `plot_performance_profiles`)."""
    from matplotlib.figure import Figure
    from rliable import plot_utils

    names = list(profiles)
    labels = dict(zip(names, _plot_labels(names), strict=True))
    fig = Figure(figsize=(7, 4))
    ax = fig.add_subplot()
    plot_utils.plot_performance_profiles({labels[n]: profiles[n] for n in names}, taus,
                                         performance_profile_cis={labels[n]: cis[n]
                                                                  for n in names},
                                         ax=ax, xlabel=r"Normalised score ($\tau$)")
    ax.legend(loc="upper right", fontsize=8)
    fig.savefig(path, dpi=100, bbox_inches="tight")
