"""Renderers: evidence graph + validated records -> the published Markdown reference.

``paths`` decides where pages go (safe names, contained writes), ``mermaid`` draws the
module dependency diagram from the evidence, ``markdown`` writes the pages.
"""

from pipeline.render.markdown import (
    code_span,
    escape_text,
    fence,
    render_architecture,
    render_index,
    render_module_page,
    render_signature,
)
from pipeline.render.mermaid import module_dependency_diagram
from pipeline.render.paths import (
    ARCHITECTURE_PAGE,
    INDEX_PAGE,
    anchor_id,
    module_pages,
    page_path,
    page_paths,
    safe_join,
    write_pages,
)

__all__ = [
    "ARCHITECTURE_PAGE",
    "INDEX_PAGE",
    "anchor_id",
    "code_span",
    "escape_text",
    "fence",
    "module_dependency_diagram",
    "module_pages",
    "page_path",
    "page_paths",
    "render_architecture",
    "render_index",
    "render_module_page",
    "render_signature",
    "safe_join",
    "write_pages",
]
