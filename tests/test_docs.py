"""The README and docs/: short, linked, and every relative link and image resolves."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")), ROOT / "src/latentrw/checkpoints/README.md"]
LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")


def _prose(text: str) -> str:
    """The text without code blocks and inline code, where brackets are not links."""
    return re.sub(r"`[^`\n]*`", "", re.sub(r"```.*?```", "", text, flags=re.S))


def _anchor(title: str) -> str:
    """GitHub's anchor of a heading: lower case, punctuation dropped, spaces to hyphens."""
    title = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", title.replace("`", ""))
    return "".join(ch for ch in title.strip().lower() if ch.isalnum() or ch in " -_").replace(" ", "-")


def _anchors(page: Path) -> set[str]:
    out, seen = set(), {}
    for title in re.findall(r"^#{1,6}\s+(.*?)\s*#*\s*$", re.sub(r"```.*?```", "", page.read_text(), flags=re.S),
                            flags=re.M):
        a = _anchor(title)
        out.add(a if a not in seen else f"{a}-{seen[a]}")
        seen[a] = seen.get(a, 0) + 1
    return out


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_and_image_resolves(page):
    broken = []
    for target in LINK.findall(_prose(page.read_text())):
        if re.match(r"^[a-z]+:", target):
            continue
        path, _, fragment = target.partition("#")
        dest = (page.parent / path).resolve() if path else page
        if not dest.exists():
            broken.append(f"{target}: no such file")
        elif fragment and dest.suffix == ".md" and fragment not in _anchors(dest):
            broken.append(f"{target}: no such heading")
    assert not broken, broken


def test_readme_is_short_and_docs_have_contents_and_no_history():
    readme = (ROOT / "README.md").read_text()
    assert len(readme.splitlines()) <= 250
    assert "bash scripts/setup.sh && .venv/bin/latentrw demo" in readme  # the two commands, the contract
    assert "bash scripts/setup.sh && .venv/bin/python -m pytest" in readme
    for page in PAGES:
        assert not re.search(r"session|sitting", page.read_text(), flags=re.I), page
    for page in sorted((ROOT / "docs").glob("*.md")):
        text = page.read_text()
        contents = set(re.findall(r"^- \[[^\]]+\]\(#([^)]+)\)", text, flags=re.M))
        missing = [h for h in re.findall(r"^## (.+)$", _prose(text), flags=re.M) if _anchor(h) not in contents]
        assert not missing, f"{page.name}: its table of contents lacks {missing}"


def test_the_readme_api_example_imports_from_the_public_api():
    import latentrw

    code = re.search(r"```python\n(.*?)```", (ROOT / "README.md").read_text(), flags=re.S).group(1)
    names = [n.strip() for line in re.findall(r"^from latentrw import (.+)$", code, flags=re.M) for n in line.split(",")]
    assert names and set(names) <= set(latentrw.__all__), set(names) - set(latentrw.__all__)
    assert not re.search(r"^from latentrw\.", code, flags=re.M)  # one import line, from the package itself
