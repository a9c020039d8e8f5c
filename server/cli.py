"""The `ruhu` command."""

import click
from flask import Flask
from flask.cli import FlaskGroup, with_appcontext  # noqa: F401


def init_app(app: Flask) -> None:
    """Attach the ruhu commands to the app's CLI."""
    app.cli.add_command(init_command)


@click.command("init")
@with_appcontext
def init_command():
    """Create the database or migrate it to the newest schema."""
    from flask import current_app

    from . import migrate

    migrate.upgrade(current_app._get_current_object())
    click.echo("database ready: " + current_app.config["SQLALCHEMY_DATABASE_URI"].split("@")[-1])


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
    )
    cli(prog_name="ruhu")
