"""The platform pages and the README table describe the config the code really accepts."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

from mentionwatch.config import parse
from mentionwatch.sources.registry import PLATFORMS

DOCS = Path(__file__).resolve().parent.parent / "docs" / "platforms"
TOML_BLOCK = re.compile(r"```toml\n(.*?)```", re.S)


@pytest.mark.parametrize("platform", sorted(PLATFORMS))
def test_every_platform_page_has_a_config_example_the_loader_accepts(platform: str) -> None:
    page = DOCS / f"{platform}.md"
    blocks = TOML_BLOCK.findall(page.read_text(encoding="utf-8"))
    assert blocks, f"{page.name} has no ```toml example"
    for block in blocks:
        config = parse(tomllib.loads(block), Path("config.toml"))
        assert [a.platform for a in config.accounts] == [platform]


def test_the_readme_table_has_one_row_per_platform_linking_its_page() -> None:
    readme = (DOCS.parent.parent / "README.md").read_text(encoding="utf-8")
    table = readme.split("\n## Platforms\n", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in table.splitlines() if line.startswith("| ") and '`"' in line]
    values = [re.search(r'`"(\w+)"`', row).group(1) for row in rows]  # type: ignore[union-attr]
    assert sorted(values) == sorted(PLATFORMS)
    for link in re.findall(r"\]\((docs/platforms/[\w.]+)\)", table):
        assert (DOCS.parent.parent / link).is_file(), link


@pytest.mark.parametrize("platform", sorted(PLATFORMS))
def test_every_key_the_platform_accepts_is_documented_on_its_page(platform: str) -> None:
    spec = PLATFORMS[platform]
    page = (DOCS / f"{platform}.md").read_text(encoding="utf-8")
    keys = {*spec.required, *spec.optional, *spec.secrets}
    if spec.needs_handle:
        keys.add("handle")
    for key in keys:
        assert f"`{key}`" in page, f"{platform}.md does not document `{key}`"
