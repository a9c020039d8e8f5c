"""`ruhu forms`: check survey forms and policies, and publish new form versions."""

from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext


@click.group("forms")
def forms_group():
    """Survey form definitions and local policies (FORMS_DIR)."""


@forms_group.command("check")
@click.option("--lock", is_flag=True,
              help="Publish new versions: record their content hash in versions.lock.")
@click.option("--dir", "folder", type=click.Path(file_okay=False, path_type=Path),
              help="The forms folder (default: the app's FORMS_DIR).")
@with_appcontext
def check_command(lock: bool, folder: Path | None):
    """Check every form version and policy; list each problem by file and place."""
    from .services import forms

    root = (folder or Path(current_app.config["FORMS_DIR"])).resolve()
    catalogue, problems = forms.check(root, lock=lock)
    for problem in problems:
        click.secho(problem, fg="red", err=True)
    for form_id, versions in sorted(catalogue.forms.items()):
        click.echo(f"{form_id}: {', '.join(sorted(versions))}")
    if problems:
        click.secho(f"{len(problems)} problem(s)", fg="red", err=True)
        raise SystemExit(1)
    click.echo("forms and policies OK")
