"""Every Python example in docs/guides runs as written."""

from __future__ import annotations

import pathlib
import re
import runpy
import sys

import pytest

GUIDES = pathlib.Path(__file__).parent.parent / "docs" / "guides"
BLOCK = re.compile(r"```python\n(.*?)```", re.DOTALL)
EXAMPLES = [
    (path.name, i, code)
    for path in sorted(GUIDES.glob("*.md"))
    for i, code in enumerate(BLOCK.findall(path.read_text()))
]


@pytest.mark.parametrize(("guide", "index", "code"), EXAMPLES, ids=[f"{g}#{i}" for g, i, _ in EXAMPLES])
def test_guide_example_runs(
    guide: str, index: int, code: str, tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    script = tmp_path / f"{guide.removesuffix('.md')}_{index}.py"
    script.write_text(code)
    sys.modules.pop(script.stem, None)
    runpy.run_path(str(script), run_name="__main__")
