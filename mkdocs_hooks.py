"""mkdocs hooks: screenshots that exist when the site is built are shown; missing ones are left out.

A page marks a screenshot with ``<!-- screenshot: images/name.png | what it shows -->``. The
screenshots are taken by the browser tests of the HTML report; a site built before they are
there (or on a machine without a browser) leaves the marker out rather than linking to nothing.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

SCREENSHOT = re.compile(r"<!-- screenshot: (?P<path>\S+) \| (?P<caption>[^>]*?) -->")


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any) -> str:
    page_directory = Path(config["docs_dir"], page.file.src_path).parent

    def shown_if_present(match: re.Match[str]) -> str:
        if not page_directory.joinpath(match["path"]).is_file():
            return ""
        return f"![{match['caption']}]({match['path']})\n\n*{match['caption']}*"

    return SCREENSHOT.sub(shown_if_present, markdown)
