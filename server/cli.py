"""The `ruhu` command: init, demo, serve, user, import-households (and feature groups)."""

import gc
import os
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import FlaskGroup, with_appcontext

from .cli_audit import audit_group
from .cli_forms import forms_group
from .services.errors import ServiceError


def init_app(app: Flask) -> None:
    """Attach the ruhu commands to the app's CLI."""
    for command in (
        init_command,
        demo_command,
        serve_command,
        user_group,
        import_command,
        backup_command,
        release_held_command,
        restore_command,
    ):
        app.cli.add_command(command)
    app.cli.add_command(forms_group)
    app.cli.add_command(audit_group)


def _fail(error: ServiceError) -> None:
    """Print a refused use case readably and exit non-zero."""
    click.secho(error.message, fg="red", err=True)
    for key, messages in error.errors.items():
        for message in messages if isinstance(messages, list) else [messages]:
            click.echo(f"  {key}: {message}" if key != "rows" else f"  {message}", err=True)
    raise SystemExit(1)


@click.command("init")
@with_appcontext
def init_command():
    """Create the database or migrate it to the newest schema."""
    from . import migrate

    migrate.upgrade(current_app._get_current_object())
    click.echo("database ready: " + current_app.config["SQLALCHEMY_DATABASE_URI"].split("@")[-1])


@click.command("demo")
@click.option("--households", default=60, show_default=True, help="How many demo households.")
@click.option("--password", default=None, help="Password for the demo accounts.")
@with_appcontext
def demo_command(households: int, password: str | None):
    """Load a demo county (克山县) with households and accounts, and print the accounts."""
    from sqlalchemy import func, select

    from . import migrate
    from .extensions import db
    from .models import Region
    from .services import demo

    migrate.upgrade(current_app._get_current_object())
    if db.session.scalar(select(func.count()).select_from(Region)):
        click.echo("demo data already present; nothing loaded")
        return
    try:
        county = demo.load_demo(households=households, password=password or demo.DEFAULT_PASSWORD)
    except ServiceError as error:
        _fail(error)
    click.echo(
        f"loaded {county.county.name}: {len(county.townships)} townships, "
        f"{len(county.villages)} villages, {county.household_count} households"
    )
    click.echo(f"accounts (password: {county.password}):")
    for username, role, region, display in demo.ACCOUNTS:
        click.echo(f"  {username:6} {role:13} {region:10} {display}")


def settle_heap() -> None:
    """Collect once, then keep what the process holds at start (the app, its mappers and
    modules) out of later full garbage collections. A full collection walks every object
    not frozen: in a serving process it stopped every request for about 100 ms now and then
    (80–120 ms at each of those pauses, measured in bench/sync_bench.py), 15 ms with this."""
    gc.collect()
    gc.freeze()


def pin_to_cpu(cpu: int) -> None:
    """Run this process on one core, the threads it starts later too (they inherit it).

    With one `ruhu serve` per core, each on its own, a process holding SQLite's write lock
    no longer shares its core with the other process's merge, and its caches stay warm:
    on two cores about a tenth more merges a second (bench/README.md, merge pass 11).
    """
    if not hasattr(os, "sched_setaffinity"):
        raise click.UsageError("--cpu needs Linux (a process cannot be pinned to a core here)")
    allowed = sorted(os.sched_getaffinity(0))
    if cpu not in allowed:
        raise click.BadParameter(
            f"core {cpu} is not one this process may run on ({', '.join(map(str, allowed))})",
            param_hint="'--cpu'",
        )
    os.sched_setaffinity(0, {cpu})


@click.command("serve")
@click.option(
    "--host",
    default="0.0.0.0",
    show_default=True,
    help="Address to listen on (0.0.0.0 = reachable from phones on the LAN).",
)
@click.option("--port", default=8000, show_default=True)
@click.option("--threads", default=8, show_default=True)
@click.option(
    "--cpu",
    type=int,
    default=None,
    help="Run this process on this core only (0, 1, ...): one process per core, each on "
    "its own (docs/deploy.md). Linux only.",
)
def serve_command(host: str, port: int, threads: int, cpu: int | None):
    """Run the production WSGI server (waitress, as http_server sets it up)."""
    from . import http_server

    app = current_app._get_current_object()
    if cpu is not None:
        pin_to_cpu(cpu)
    where = "" if cpu is None else f", core {cpu}"
    click.echo(f"Ruhu serving on http://{host}:{port}/ (data: {app.config['DATA_DIR']}{where})")
    settle_heap()
    http_server.serve(app, host=host, port=port, threads=threads)


@click.group("user")
def user_group():
    """Manage accounts."""


@user_group.command("add")
@click.argument("username")
@click.option("--role", type=click.Choice(["investigator", "supervisor", "admin"]), required=True)
@click.option("--region", "region_code", required=True, help="Region code of the user's scope.")
@click.option("--name", "display_name", default="", help="Display name.")
@click.password_option()
@with_appcontext
def user_add(username, role, region_code, display_name, password):
    """Create an account."""
    from .services import users

    try:
        users.add_user(
            username,
            role=role,
            region_code=region_code,
            password=password,
            display_name=display_name,
        )
    except ServiceError as error:
        _fail(error)
    click.echo(f"added {username} ({role}, {region_code})")


@user_group.command("disable")
@click.argument("username")
@with_appcontext
def user_disable(username):
    """Disable an account and revoke its devices."""
    from .services import users

    try:
        users.set_active(username, False)
    except ServiceError as error:
        _fail(error)
    click.echo(f"disabled {username}")


@user_group.command("enable")
@click.argument("username")
@with_appcontext
def user_enable(username):
    """Enable a disabled account."""
    from .services import users

    try:
        users.set_active(username, True)
    except ServiceError as error:
        _fail(error)
    click.echo(f"enabled {username}")


@user_group.command("passwd")
@click.argument("username")
@click.password_option()
@with_appcontext
def user_passwd(username, password):
    """Set an account's password."""
    from .services import users

    try:
        users.set_password(username, password)
    except ServiceError as error:
        _fail(error)
    click.echo(f"password changed for {username}")


@click.command("import-households")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@with_appcontext
def import_command(file: Path):
    """Import households from CSV or XLSX (all rows valid, or nothing imported)."""
    from .services.import_households import import_households

    try:
        result = import_households(file)
    except ServiceError as error:
        _fail(error)
    click.echo(f"imported {result.households} households, {result.members} members")


@click.command("backup")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path), required=False)
@with_appcontext
def backup_command(file: Path | None):
    """Back up the database and the media folder into one .tar.gz file."""
    from datetime import datetime

    from .services.backup import create_backup

    app = current_app._get_current_object()
    file = (
        file
        or Path(app.config["DATA_DIR"]) / "backups" / f"ruhu-{datetime.now():%Y%m%d-%H%M%S}.tar.gz"
    )
    create_backup(app, file)
    click.echo(f"backup written: {file}")


@click.command("restore")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Overwrite a database that already holds data.")
@with_appcontext
def restore_command(file: Path, force: bool):
    """Restore a backup made by `ruhu backup` (stop the server first)."""
    from .services.backup import restore_backup

    try:
        result = restore_backup(current_app._get_current_object(), file, force=force)
    except ServiceError as error:
        _fail(error)
    click.echo(
        f"restored the backup of {result['created_at']} ({result['media_files']} media files)"
    )


@click.command("release-held")
@with_appcontext
def release_held_command():
    """Merge offline-chain links whose predecessor never came within RUHU_SYNC_HOLD_SECONDS.

    Run it from cron (e.g. hourly); the server also does this when outcomes are listed.
    """
    from .services import sync

    released = sync.release_overdue()
    click.echo(f"released {released} held submissions")


def _create_app():
    """Build the app for the CLI."""
    from . import create_app

    return create_app()


def main() -> None:
    """Entry point of the `ruhu` console script."""
    cli = FlaskGroup(
        create_app=_create_app,
        add_default_commands=False,
        add_version_option=False,
        load_dotenv=False,
        help="Ruhu (入户): 低保 household survey server. Configured by RUHU_* variables (README).",
    )
    # Flask's --app/--env-file/--debug options mean nothing here: the app is always Ruhu's.
    cli.params = [p for p in cli.params if p.name not in ("app", "env_file", "debug")]
    cli(prog_name="ruhu")
