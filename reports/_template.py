"""The report's one HTML template (jinja2, autoescaped). Only layout lives here: every
figure, number and verdict comes from the context built in :mod:`reports._build`."""

from __future__ import annotations

TEMPLATE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>logbench report {{ commit }}</title>
<style>
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1320px; padding: 0 1em; color: #222; }
h1 { margin-bottom: 0; } .sub { color: #666; margin-top: .2em; }
table { border-collapse: collapse; margin: .5em 0 1.5em; font-size: 14px; max-width: 100%; }
th, td { border: 1px solid #ccc; padding: 4px 8px; text-align: left; vertical-align: top; overflow-wrap: break-word; }
th { background: #f0f0f0; }
td.bad { background: #fde2e2; color: #900; } td.na { color: #888; font-style: italic; }
td.good { background: #e3f4e1; } td.best { background: #fff4c2; font-weight: bold; }
td.peer, span.peer, tr.peer td { color: #6b4f2f; font-style: italic; } tr.peer td { opacity: .75; }
.nodata { color: #888; font-style: italic; } figure { margin: 0 0 1.5em; } svg { max-width: 100%; height: auto; }
#summary-table, #rotation-table, #faults-table, #metadata-table, #matrix, #choose table { table-layout: fixed; width: 100%; }
#matrix th:first-child { width: 11%; } #matrix details summary { cursor: pointer; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
#matrix details[open] summary { white-space: normal; } #matrix details div { font-size: 12px; color: #444; margin-top: .3em; }
#words th:nth-child(1) { width: 14%; } #words th:nth-child(2) { width: 18%; }
#recommend td.backends, #words td.backends { font-weight: bold; }
.legend { font-size: 13px; color: #555; }
</style></head>
<body>
<h1>logbench: which logging backend, at what cost</h1>
<p class="sub">Built from <code>{{ source }}</code> · commit {{ commit }} · {{ python }} · {{ machine }}.
Peers (not logbench reference loggers) are marked <span class="peer">(peer)</span> and drawn hatched / dashed.</p>

<section id="choose"><h2>Choose a backend</h2>
<table id="recommend"><thead><tr><th>your program</th><th>recommended</th><th>runners-up</th></tr></thead><tbody>
{% for r in recommendations %}<tr><td>{{ r.question }}</td>
{% if r.missing %}<td class="na" colspan="2">cannot decide: {{ r.missing }}</td>{% else %}<td class="backends">{{ r.recommended }}</td><td>{{ r.runners_up|join(', ') or 'none' }}</td>{% endif %}</tr>
{% endfor %}</tbody></table>
<p class="legend">The same decision as <code>logbench advise {{ source }} --rate LINES_PER_S [--no-loss] [--processes N] [--asyncio] [--max-rss MB]</code>:
reference backends only (peers are compared in the matrix), overhead interpolated over the measured rate sweep, ties by 95% interval.</p>
<table id="matrix"><thead><tr><th>backend</th>{% for c in columns %}<th>{{ c.title }}</th>{% endfor %}</tr></thead><tbody>
{% for backend, row in cells.items() %}<tr class="{{ 'peer' if is_peer(backend) else '' }}"><td>{{ label(backend) }}</td>
{% for c in columns %}{% set cell = row[c.key] %}<td class="{{ cell.css }}"><details><summary>{{ cell.mark }} {{ cell.text }}</summary><div>{{ cell.detail }}</div></details></td>{% endfor %}</tr>
{% endfor %}</tbody></table>
<p class="legend">Marks: ✓ meets the need, ✗ does not, ~ the interval straddles the 5% target, ★ best or statistically tied with the best, · ranked lower, – not supported or not run, ! failed. Open a cell for the figures behind it.</p>
<details><summary>Each need in words</summary>
<table id="words"><thead><tr><th>need</th><th>qualifies</th><th>why (measured)</th></tr></thead><tbody>
{% for c in choices %}<tr class="{{ 'nodata' if not c.has_data else '' }}"><td>{{ c.need }}</td>
<td class="backends">{% for b in c.backends %}{{ label(b) }}{{ ', ' if not loop.last }}{% endfor %}{{ '' if c.backends else ('no data' if not c.has_data else 'none') }}</td>
<td>{{ c.sentence }}</td></tr>
{% endfor %}</tbody></table></details></section>

{% for f in top_figures %}<section id="{{ f.id }}"><h2>{{ f.title }}</h2>
{% if f.svg %}<figure>{{ f.svg|safe }}</figure>{% else %}<p class="nodata">no data: scenario {{ f.scenario }} not run.</p>{% endif %}
</section>
{% endfor %}
<section id="summary"><h2>Summary per backend</h2>{{ summary|safe }}</section>

{% for f in figures %}<section id="{{ f.id }}"><h2>{{ f.title }}</h2>
{% if f.svg %}<figure>{{ f.svg|safe }}</figure>{% else %}<p class="nodata">no data: scenario {{ f.scenario }} not run.</p>{% endif %}
</section>
{% endfor %}
<section id="rotation"><h2>Rotation verdicts</h2>
{% if rotation %}{{ rotation|safe }}{% else %}<p class="nodata">no data: scenario rotation not run.</p>{% endif %}</section>

<section id="faults"><h2>Faults</h2>
{% if faults %}{{ faults|safe }}{% else %}<p class="nodata">no data: scenario faults not run.</p>{% endif %}</section>

<section id="problems"><h2>Failed and unsupported cells</h2>
{% if problems %}{{ problems|safe }}{% else %}<p>none: every cell ran.</p>{% endif %}</section>

<section id="metadata"><h2>Where these numbers came from</h2>{{ metadata|safe }}</section>
</body></html>
"""
