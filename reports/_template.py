"""The report's one HTML template (jinja2, autoescaped). Only layout lives here: every
figure, number and verdict comes from the context built in :mod:`reports._build`."""

from __future__ import annotations

TEMPLATE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>logbench report {{ commit }}</title>
<style>
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1200px; color: #222; }
h1 { margin-bottom: 0; } .sub { color: #666; margin-top: .2em; }
table { border-collapse: collapse; margin: .5em 0 1.5em; font-size: 14px; }
th, td { border: 1px solid #ccc; padding: 4px 8px; text-align: left; vertical-align: top; }
th { background: #f0f0f0; }
td.bad { background: #fde2e2; color: #900; } td.na { color: #888; font-style: italic; }
td.peer, span.peer { color: #6b4f2f; font-style: italic; }
.nodata { color: #888; font-style: italic; } figure { margin: 0 0 1.5em; } svg { max-width: 100%; height: auto; }
#choose table { table-layout: fixed; width: 100%; }
#choose th:nth-child(1) { width: 14%; } #choose th:nth-child(2) { width: 22%; }
#choose td.backends { font-weight: bold; }
</style></head>
<body>
<h1>logbench: which logging backend, at what cost</h1>
<p class="sub">Built from <code>{{ source }}</code> · commit {{ commit }} · {{ python }} · {{ machine }}.
Peers (not logbench reference loggers) are marked <span class="peer">(peer)</span> and drawn hatched / dashed.</p>

<section id="choose"><h2>Choose a backend</h2>
<table><thead><tr><th>need</th><th>qualifies</th><th>why (measured)</th></tr></thead><tbody>
{% for c in choices %}<tr class="{{ 'nodata' if not c.has_data else '' }}"><td>{{ c.need }}</td>
<td class="backends">{% for b in c.backends %}{{ label(b) }}{{ ', ' if not loop.last }}{% endfor %}{{ '' if c.backends else ('no data' if not c.has_data else 'none') }}</td>
<td>{{ c.sentence }}</td></tr>
{% endfor %}</tbody></table></section>

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
