"""`ruhu audit`: import cross-check lists and payment rolls from the server's command line.

Every import names the county supervisor or admin it is done for (`--user`): the audit log
says who imported what, as it does for uploads through the console or the API.
"""

from pathlib import Path

import click
from flask.cli import with_appcontext

from .domain.audit_lists import LIST_KIND_IDS
from .services.errors import ServiceError

FILE = click.Path(exists=True, dir_okay=False, path_type=Path)


def _user(username: str):
    """Return the named account, or fail."""
    from .cli import _fail
    from .services import users

    try:
        return users.get_by_username(username)
    except ServiceError as error:
        _fail(error)


@click.group("audit")
def audit_group():
    """The audit (清查): cross-check lists and payment rolls."""


@audit_group.command("import-list")
@click.argument("kind", type=click.Choice(LIST_KIND_IDS))
@click.argument("file", type=FILE)
@click.option("--user", "username", required=True, help="County supervisor or admin importing.")
@click.option("--source", default="", help="The department or archive the list comes from.")
@click.option("--as-of", type=click.DateTime(formats=["%Y-%m-%d"]), help="The list's date.")
@with_appcontext
def import_list_command(kind: str, file: Path, username: str, source: str, as_of):
    """Import a list (CSV or XLSX) and flag every match; nothing is stored if a row is bad."""
    from .cli import _fail
    from .services import crosscheck

    try:
        summary = crosscheck.import_list(
            file,
            kind,
            actor=_user(username),
            source=source,
            as_of=as_of.date() if as_of else None,
        )
    except ServiceError as error:
        _fail(error)
    click.echo(
        f"list {summary.list.id}: {summary.rows} rows, {summary.matched_rows} matched "
        f"({summary.strong} strong, {summary.weak} weak), {summary.new_flags} new flags, "
        f"{summary.seen_flags} seen again, {len(summary.households)} households to re-visit"
    )


@audit_group.command("import-roll")
@click.argument("township_code")
@click.argument("period")
@click.argument("file", type=FILE)
@click.option("--user", "username", required=True, help="County supervisor or admin importing.")
@with_appcontext
def import_roll_command(township_code: str, period: str, file: Path, username: str):
    """Import a township's payment roll for a month (YYYY-MM) and list every mismatch."""
    from .cli import _fail
    from .domain.audit_roll import describe
    from .services import payment_roll

    try:
        roll = payment_roll.import_roll(file, township_code, period, actor=_user(username))
    except ServiceError as error:
        _fail(error)
    click.echo(
        f"roll {roll.id}: {roll.row_count} rows, {roll.total_amount} yuan, "
        f"{roll.mismatch_count} mismatches"
    )
    for stored in roll.mismatches:
        click.echo(f"  {stored.kind:20} {describe(stored.as_found())}")


def _echo_withdrawal(withdrawal) -> None:
    """Print what withdrawing or replacing a roll did to its ledger entries."""
    closed = ", ".join(f"#{e.id}" for e in withdrawal.closed_entries) or "none"
    kept = ", ".join(f"#{e.id} ({e.state})" for e in withdrawal.entries_to_review) or "none"
    click.echo(f"  entries closed with it: {closed}")
    click.echo(f"  worked-on entries kept, to look at: {kept}")


@audit_group.command("replace-roll")
@click.argument("roll_id", type=int)
@click.argument("file", type=FILE)
@click.option("--reason", required=True, help="Why the roll is replaced (kept on record).")
@click.option("--user", "username", required=True, help="County supervisor or admin replacing.")
@with_appcontext
def replace_roll_command(roll_id: int, file: Path, reason: str, username: str):
    """Import the right file in place of a wrongly imported roll (same township and month)."""
    from .cli import _fail
    from .services import payment_roll

    try:
        withdrawal = payment_roll.replace_roll(file, roll_id, reason, actor=_user(username))
    except ServiceError as error:
        _fail(error)
    new = withdrawal.replacement
    click.echo(f"roll {roll_id} superseded by roll {new.id}: {new.mismatch_count} mismatches")
    _echo_withdrawal(withdrawal)


@audit_group.command("withdraw-roll")
@click.argument("roll_id", type=int)
@click.option("--reason", required=True, help="Why the roll is withdrawn (kept on record).")
@click.option("--user", "username", required=True, help="County supervisor or admin withdrawing.")
@with_appcontext
def withdraw_roll_command(roll_id: int, reason: str, username: str):
    """Withdraw a wrongly imported roll; its month may then be imported again."""
    from .cli import _fail
    from .services import payment_roll

    try:
        withdrawal = payment_roll.withdraw_roll(_user(username), roll_id, reason)
    except ServiceError as error:
        _fail(error)
    click.echo(f"roll {roll_id} withdrawn")
    _echo_withdrawal(withdrawal)
