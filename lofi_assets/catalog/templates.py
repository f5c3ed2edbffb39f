"""The catalog's Jinja2 templates (``assets_library/catalog_site/templates/``): pages
(``*.html.j2``, autoescaped) and e-mail or answer texts (``*.txt.j2``, as written)."""

from functools import cache

import jinja2

from lofi_assets.music.styles import assets_library_dir


@cache
def _environment(folder: str) -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(folder),
        autoescape=jinja2.select_autoescape(enabled_extensions=("html.j2",)),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def render(template: str, **values: object) -> str:
    """``template`` rendered with ``values``; an undefined name raises (StrictUndefined)."""
    folder = assets_library_dir() / "catalog_site" / "templates"
    return _environment(str(folder)).get_template(template).render(**values)
