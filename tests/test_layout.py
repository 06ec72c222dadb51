"""The layout a newcomer meets: a top level that shows the design, no file
too long to read, and a README whose "where things live" matches the tree."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PKG = ROOT / "tinyae"
MAX_LINES = 800
MAX_TOP_LEVEL = 24


def _where_things_live():
    readme = (ROOT / "README.md").read_text()
    start = readme.index("Where things live")
    return readme[start:readme.index("\n## ", start)]


def _top_level():
    return sorted(p.name for p in PKG.iterdir()
                  if p.name != "__pycache__" and (p.suffix == ".py" or p.is_dir()))


def test_the_top_level_is_small():
    entries = _top_level()
    assert len(entries) <= MAX_TOP_LEVEL, entries


def test_no_source_file_is_too_long():
    long = {str(p.relative_to(ROOT)): n for p in PKG.rglob("*.py")
            if (n := len(p.read_text().splitlines())) > MAX_LINES}
    assert not long, f"over {MAX_LINES} lines: {long}"


def test_readme_names_every_top_level_entry_and_only_real_paths():
    text = _where_things_live()
    private = {"__init__.py", "__main__.py", "_validation.py"}
    for entry in _top_level():
        if entry in private:
            continue
        name = entry[:-3] if entry.endswith(".py") else entry
        assert re.search(rf"tinyae[/.]{re.escape(name)}\b", text), \
            f"README's 'where things live' does not mention tinyae/{entry}"
    for path in re.findall(r"`(tinyae/[\w/.<>]+)`", text):
        if "<" in path:                                   # a pattern: tinyae/functional/<family>.py
            assert (ROOT / path.split("<")[0]).is_dir(), path
        else:
            assert (ROOT / path).exists(), f"README names {path}, which does not exist"


def test_layers_mirror_the_op_families():
    layers = {p.stem for p in (PKG / "layers").glob("*.py")} - {"__init__"}
    assert {"base", "dense", "image", "transformer", "coding"} <= layers
    for folder in ("functional", "kernels"):
        assert (PKG / folder / "dense.py").exists() and (PKG / folder / "conv.py").exists()
