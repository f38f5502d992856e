"""One report writer for every reproduction: Markdown tables, the claims table, the facts
checked, the table of the notes' criteria against the implemented ones, and the page layout."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any


def markdown_table(header: list[str], rows: list[list[object]]) -> str:
    """A GitHub-flavoured Markdown table; floats printed with 4 significant digits."""

    def fmt(v: object) -> str:
        if isinstance(v, float):
            return f"{v:.4g}"
        if isinstance(v, (list, tuple)):
            return "[" + ", ".join(fmt(x) for x in v) + "]"
        return str(v).replace("|", "\\|")

    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(fmt(v) for v in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def claims_markdown(claims: Sequence[Mapping[str, Any]]) -> str:
    """The claim checks of a summary as a Markdown table."""
    rows = [[c["claim"], c["criterion"], c.get("paper", ""), c["measured"], c.get("seeds", 1),
             "passed" if c["passed"] else "**failed**"] for c in claims]
    return markdown_table(["claim", "criterion (fixed before running)", "paper", "ours", "seeds", "result"], rows)


def facts_markdown(facts: Sequence[Mapping[str, Any]]) -> str:
    """Facts checked (checks that cannot fail) as a Markdown list."""
    return "".join(f"- {'holds' if f['holds'] else '**does not hold**'}: {f['statement']}"
                   + (f" ({f['measured']})" if f.get("measured") not in (None, "") else "") + "\n"
                   for f in facts)


def criteria_markdown(rows: Sequence[tuple[str, str, bool]]) -> str:
    """The table every report carries: the notes' criterion beside the implemented one."""
    return markdown_table(["notes' criterion", "implemented criterion", "same?"],
                          [[notes, ours, "yes" if same else "**no**"] for notes, ours, same in rows])


def claims_count(claims: Sequence[Mapping[str, Any]]) -> str:
    """``"k of n claims pass"``, the phrase the README quotes."""
    return f"{sum(bool(c['passed']) for c in claims)} of {len(claims)} claims pass"


def render_report(*, title: str, preset: str, intro: Sequence[str] = (), claims: Sequence[Mapping[str, Any]] = (),
                  facts: Sequence[Mapping[str, Any]] = (), criteria: Sequence[tuple[str, str, bool]] = (),
                  criteria_commit: str | None = None, sections: Sequence[str] = (),
                  figures: Sequence[str] = ()) -> str:
    """The Markdown page of a run: title, introduction, claims (with the commit that fixed
    their criteria, when the experiment names one), the criteria table, facts checked, the
    experiment's own sections and its figures."""
    parts = [f"# {title} ({preset} preset)\n", *intro]
    if claims:
        fixed = f"criteria fixed in commit {criteria_commit}" if criteria_commit else "criteria fixed in code before running"
        parts += [f"## Claims ({fixed}; {claims_count(claims)})\n", claims_markdown(claims)]
    if criteria:
        parts += ["\n## Notes' criteria and ours\n", criteria_markdown(criteria)]
    if facts:
        parts += ["\n## Facts checked\n", "Checks that cannot fail by construction; not counted as claims.\n",
                  facts_markdown(facts)]
    parts += list(sections)
    if figures:
        parts.append("\n## Figures\n" + "".join(f"\n![{f}](figures/{f})\n" for f in figures))
    return "\n".join(parts)
