"""HTML and script in model output (rendered by a client, it is an XSS vector).

Types: ``script`` (a ``<script>`` element, spanning to ``</script>`` when present),
``event_handler`` (``onload=``, ``onerror=`` ... inside a tag), ``javascript_url``
(``javascript:``/``vbscript:`` URLs, also in markdown links), ``data_url`` (``data:text/html``,
``data:image/svg+xml``), ``html_tag`` (any other element; 0.9 for active ones such as iframe,
object, embed, form, svg, meta, base, link, style; 0.3 for inert formatting tags like ``<b>``).
"""

from __future__ import annotations

from celgate.detectors._re import Text, compile_re, group_names, spans
from celgate.detectors.base import Finding

HTML_TYPES = frozenset({"script", "html_tag", "event_handler", "javascript_url", "data_url"})
_ACTIVE = {
    "iframe",
    "frame",
    "frameset",
    "object",
    "embed",
    "applet",
    "form",
    "input",
    "button",
    "svg",
    "math",
    "meta",
    "base",
    "link",
    "style",
    "img",
    "image",
    "video",
    "audio",
    "source",
    "textarea",
    "select",
    "details",
    "marquee",
    "template",
    "portal",
}
_RX = compile_re(
    r"(?P<script>(?i:<script\b[^>]*>?))"
    r"|(?P<tag>(?i:</?(?P<name>[a-z][a-z0-9-]{0,30})\b(?P<attrs>[^<>]*)>))"
    r"|(?P<js>(?i:\b(?:javascript|vbscript|livescript)[\s\x00]*:))"
    r"|(?P<data>(?i:\bdata:(?:text/html|image/svg\+xml|application/(?:x-)?javascript|text/javascript)))"
)
_NAMES = group_names(_RX)
_IDX = {n: i for i, n in _NAMES.items()}
_ATTR = compile_re(
    r"(?P<ev>(?i:[\s\"'/]on[a-z]{3,30}\s*=))|(?P<js>(?i:\b(?:javascript|vbscript|livescript)[\s\x00]*:))"
    r"|(?P<data>(?i:\bdata:(?:text/html|image/svg\+xml|application/(?:x-)?javascript|text/javascript)))"
)
_SCRIPT_END = b"</script"


class HtmlDetector:
    name = "html"
    types = HTML_TYPES

    def __init__(self, max_chars: int = 4_000_000) -> None:
        self.max_chars = max_chars

    def scan(self, text: str) -> list[Finding]:
        if "<" not in text and ":" not in text:
            return []
        t = Text(text, self.max_chars)
        out: list[Finding] = []
        lower = None
        for sp in spans(_RX, t.data):
            s, e = sp[0]
            if sp[_IDX["script"]][0] >= 0:
                if lower is None:
                    lower = t.data.lower()
                end = lower.find(_SCRIPT_END, e, e + 1_000_000)
                if end >= 0:
                    close = t.data.find(b">", end, end + 64)
                    e = close + 1 if close >= 0 else end + len(_SCRIPT_END)
                out.append(Finding("script", t.cp(s), t.cp(e), 0.95))
            elif sp[_IDX["tag"]][0] >= 0:
                name = t.s(*sp[_IDX["name"]]).lower()
                fs = t.cp(s)
                a0, a1 = sp[_IDX["attrs"]]
                for at in spans(_ATTR, t.data, a0, a1):
                    es, ee = at[0]
                    if at[1][0] >= 0:
                        out.append(Finding("event_handler", t.cp(es + 1), t.cp(ee), 0.9))
                    elif at[2][0] >= 0:
                        out.append(Finding("javascript_url", t.cp(es), t.cp(ee), 0.9))
                    else:
                        out.append(Finding("data_url", t.cp(es), t.cp(ee), 0.8))
                out.append(Finding("html_tag", fs, t.cp(e), 0.9 if name in _ACTIVE else 0.3))
            elif sp[_IDX["js"]][0] >= 0:
                out.append(Finding("javascript_url", t.cp(s), t.cp(e), 0.9))
            else:
                out.append(Finding("data_url", t.cp(s), t.cp(e), 0.8))
        out.sort(key=lambda f: (f.start, f.end))
        return out
