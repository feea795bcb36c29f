"""axe-core, the real library from npm, injected into a JupyterLab page and run there.

Plain functions (no pytest), like jlab.py. `npm ci --prefix tests/browser` installs axe-core
(.ci/run does it); `axe_source()` is None until then.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
AXE_JS = HERE / "node_modules" / "axe-core" / "axe.min.js"
# WCAG 2.0 and 2.1, levels A and AA: what the course promises.
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]

# JupyterLab's <body> is 0 px tall with `overflow: hidden`, so axe thinks every element is
# clipped away and skips the colour-contrast check: give the body the window's height first.
_BODY_HEIGHT_JS = "() => { document.body.style.height = window.innerHeight + 'px'; }"

_RUN_JS = r"""
async ([include, tags]) => {
  const context = { include: include.map((s) => [s]) };
  const found = include.some((s) => document.querySelector(s));
  if (!found) return null;
  const r = await axe.run(context, { runOnly: { type: 'tag', values: tags },
                                     resultTypes: ['violations', 'incomplete'] });
  const brief = (items) => items.map((v) => ({
    id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.map((n) => ({ target: n.target.join(' '), html: n.html.slice(0, 300),
                                 summary: n.failureSummary || '' })),
  }));
  return {
    violations: brief(r.violations), incomplete: brief(r.incomplete),
    passes: r.passes.map((v) => v.id), inapplicable: r.inapplicable.map((v) => v.id),
  };
}
"""


def axe_source() -> str | None:
    """The text of axe.min.js from tests/browser/node_modules, or None when not installed."""
    try:
        return AXE_JS.read_text()
    except OSError:
        return None


@dataclass
class AxeResult:
    """What axe found in one part of the page."""

    violations: list[dict[str, Any]] = field(default_factory=list)
    incomplete: list[dict[str, Any]] = field(default_factory=list)
    passes: list[str] = field(default_factory=list)
    inapplicable: list[str] = field(default_factory=list)

    @property
    def applied(self) -> list[str]:
        """Rules that found something to check (passed, failed or needs review)."""
        got = set(self.passes) | {v["id"] for v in self.violations + self.incomplete}
        return sorted(got)

    def describe(self, items: list[dict[str, Any]] | None = None) -> str:
        """Violations as readable lines: rule, impact, help, and each node."""
        lines = []
        for v in self.violations if items is None else items:
            lines.append(f"{v['id']} ({v['impact']}): {v['help']}")
            for n in v["nodes"]:
                lines.append(f"    {n['target']}: {n['html']}")
                if n["summary"]:
                    lines.append("      " + n["summary"].replace("\n", "\n      "))
        return "\n".join(lines)


def inject(page, source: str) -> None:
    """Load axe into the page (once) and apply the body-height fix."""
    if not page.evaluate("() => typeof window.axe === 'object'"):
        # Run as a plain script: JupyterLab defines no AMD `define`, so axe sets window.axe.
        page.add_script_tag(content=source)
        page.wait_for_function("() => typeof window.axe === 'object'")
    page.evaluate(_BODY_HEIGHT_JS)


_MARK_JS = r"""
(selector) => {
  const found = [...document.querySelectorAll(selector)];
  found.forEach((el, i) => el.setAttribute('data-labkit-axe', String(i)));
  return found.map((el) => {
    const cell = el.closest('[data-windowed-list-index]');
    return cell ? Number(cell.getAttribute('data-windowed-list-index')) : -1;
  });
}
"""
_SCROLL_JS = r"""
(i) => { const el = document.querySelector(`[data-labkit-axe="${i}"]`);
         if (el) el.scrollIntoView({ block: 'start' }); }
"""


def audit_each(page, selector: str, tags: list[str] | None = None) -> dict[int, AxeResult]:
    """Scroll each element matching `selector` into view and run axe over it alone.

    Keyed by the notebook cell's index. Scrolling first matters: axe cannot tell the colours
    behind text that is outside the viewport (it reports "needs review", not a violation).
    """
    cells = page.evaluate(_MARK_JS, selector)
    results: dict[int, AxeResult] = {}
    for i, cell in enumerate(cells):
        page.evaluate(_SCROLL_JS, i)
        got = run(page, [f'[data-labkit-axe="{i}"]'], tags)
        if got is not None:
            results[cell] = got
    return results


def run(page, include: list[str], tags: list[str] | None = None) -> AxeResult | None:
    """Run axe over the elements matching `include` (CSS selectors); None when none match."""
    got = page.evaluate(_RUN_JS, [include, tags or WCAG_TAGS])
    return None if got is None else AxeResult(**got)
