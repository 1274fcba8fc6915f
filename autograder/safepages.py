"""Safe pages: nothing a student wrote runs in the browser of whoever reads a graded notebook.

Formgrader (in the instructor's Jupyter session, which has a terminal) and the feedback pages
render the graded notebooks with nbconvert, which passes HTML in markdown and in ``text/html``
outputs through unchanged. So before a graded notebook is stored:

* the student's written answers (markdown) are rendered to HTML and cleaned with an HTML
  sanitizer (``nh3``, the Python binding of Rust's ``ammonia``): scripts, event handlers,
  iframes, forms, styles and ``javascript:``/``data:`` links are removed, math is kept;
* every output is rebuilt from an allow-list: text streams and errors as text; ``text/html``
  sanitized; ``text/markdown`` as above; PNG and JPEG images; nothing else (no JavaScript, no
  SVG, no widget state). The grading kernel only ever produces text, so in practice every output
  is text.
"""
from __future__ import annotations

import base64
import binascii

import nbformat
import nh3

MAX_TEXT = 256 * 1024
MAX_IMAGE = 2 * 1024 * 1024

# What rendered markdown uses; everything else (script, style, iframe, form, svg, ...) is dropped.
ALLOWED_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "code", "dd", "del", "div", "dl", "dt", "em", "h1", "h2", "h3",
    "h4", "h5", "h6", "hr", "i", "img", "kbd", "li", "ol", "p", "pre", "s", "span", "strong", "sub", "sup",
    "table", "tbody", "td", "th", "thead", "tr", "u", "ul",
}
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "img": {"src", "alt", "title", "width", "height"},
                      "td": {"align"}, "th": {"align"}}
URL_SCHEMES = {"http", "https", "mailto"}


def sanitize_html(html: str) -> str:
    return nh3.clean(html, tags=ALLOWED_TAGS, attributes=ALLOWED_ATTRIBUTES, url_schemes=URL_SCHEMES,
                     link_rel="noopener noreferrer nofollow")


def sanitize_markdown(text: str) -> str:
    """A student's markdown as sanitized HTML that renders the same and runs nothing.

    The markdown is rendered the way nbconvert renders it (math kept for MathJax), sanitized, and
    stored on one line inside a ``<div>``: markdown renderers pass such an HTML block through
    untouched, so nothing in it is read as markdown a second time (nbconvert lets
    ``[x](javascript:...)`` links through, and a blank line would end an HTML block early).
    """
    from nbconvert.filters.markdown_mistune import markdown2html_mistune

    clean = sanitize_html(markdown2html_mistune(text[:MAX_TEXT])).strip()
    return "<div>" + clean.replace("\r", "").replace("\n", "&#10;") + "</div>"


def _text(value: object) -> str:
    if isinstance(value, list):
        value = "".join(v for v in value if isinstance(v, str))
    return value[:MAX_TEXT] if isinstance(value, str) else ""


def _image(value: object) -> str | None:
    data = _text(value) if len(_text(value)) < MAX_IMAGE else ""
    try:
        base64.b64decode(data.replace("\n", ""), validate=True)
    except (binascii.Error, ValueError):
        return None
    return data or None


def safe_output(output: object) -> nbformat.NotebookNode | None:
    """One output rebuilt from the allow-list, or None to drop it."""
    if not isinstance(output, dict):
        return None
    kind = output.get("output_type")
    if kind == "stream":
        return nbformat.v4.new_output("stream", name="stdout", text=_text(output.get("text")))
    if kind == "error":
        tb = output.get("traceback")
        lines = [_text(x) for x in tb[:200]] if isinstance(tb, list) else []
        return nbformat.v4.new_output("error", ename=_text(output.get("ename"))[:200] or "Error",
                                      evalue=_text(output.get("evalue"))[:8000], traceback=lines)
    if kind in ("display_data", "execute_result"):
        data = output.get("data") if isinstance(output.get("data"), dict) else {}
        safe: dict[str, str] = {}
        if "text/plain" in data:
            safe["text/plain"] = _text(data["text/plain"])
        if "text/html" in data:
            safe["text/html"] = sanitize_html(_text(data["text/html"]))
        if "text/markdown" in data:
            safe["text/markdown"] = sanitize_markdown(_text(data["text/markdown"]))
        for mime in ("image/png", "image/jpeg"):
            if mime in data and (image := _image(data[mime])):
                safe[mime] = image
        if not safe:
            return None
        # Shown, never scored: an execute_result would read as partial credit to nbgrader.
        return nbformat.v4.new_output("display_data", data=safe)
    return None


def safe_outputs(outputs: object) -> list[nbformat.NotebookNode]:
    if not isinstance(outputs, list):
        return []
    return [o for o in (safe_output(x) for x in outputs) if o is not None]


def sanitize_notebook(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Every output of every code cell through the allow-list; markdown attachments dropped."""
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = safe_outputs(cell.get("outputs"))
        else:
            cell.pop("attachments", None)
    return nb
