"""``geo-service key …``: API keys for the staff roles."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from geo_service.cli_common import DbOption, cli_actor, console, open_store

key_app = typer.Typer(help="API 密钥 (API keys for staff roles)", no_args_is_help=True)


@key_app.command("create")
def key_create(
    name: Annotated[str, typer.Option(help="holder's name, e.g. 招商部 张三")],
    # Text, checked against geo_service.auth.Role in the command: typing it as the enum
    # would import the store (sqlalchemy, geopandas) for every command's --help.
    role: Annotated[str, typer.Option(help="planner, land_bureau or admin", metavar="ROLE")],
    db: DbOption = None,
) -> None:
    """创建密钥; 密钥只显示一次 (create a key; it is shown once)."""
    from geo_service import auth

    roles = [r.value for r in auth.Role]
    if role not in roles:
        raise typer.BadParameter(f"{role!r} is not one of {roles}", param_hint="'--role'")
    credential, key = auth.create_key(open_store(db), name=name, role=role, actor=cli_actor())
    console.print(f"密钥 #{credential.id} ({credential.role}) for {credential.name}:")
    print(key)


@key_app.command("list")
def key_list(db: DbOption = None) -> None:
    """列出密钥 (list keys; the keys themselves are not stored)."""
    from geo_service import auth

    table = Table("id", "name", "role", "prefix", "created", "revoked")
    for c in auth.list_keys(open_store(db)):
        table.add_row(
            str(c.id),
            c.name,
            c.role.value,
            c.key_prefix + "…",
            f"{c.created_at:%Y-%m-%d %H:%M}",
            f"{c.revoked_at:%Y-%m-%d %H:%M}" if c.revoked_at else "",
        )
    console.print(table)


@key_app.command("revoke")
def key_revoke(
    credential_id: Annotated[int, typer.Argument(help="id from `key list`")], db: DbOption = None
) -> None:
    """吊销密钥 (revoke a key)."""
    from geo_service import auth

    auth.revoke_key(open_store(db), credential_id, actor=cli_actor())
    console.print(f"密钥 #{credential_id} 已吊销 (revoked)")
