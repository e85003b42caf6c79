"""The browser workspaces: server-rendered pages for planners, the land bureau and the
public, on one shell (``templates/base.html``) — see ``shared/WEB.md``.

Pages call the same functions as the JSON API; nothing here re-implements a query, a
rule or a permission. Templates are Jinja2 with Babel message catalogs (English message
ids, Chinese the default language); static assets are files of this package.
"""
