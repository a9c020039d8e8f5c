"""Payment rolls (发放花名册): import a township's roll, its mismatches, ledger entries; a
wrong roll is withdrawn or replaced, never deleted."""

from flask import g, request

from ..schemas.audit import (
    ledger_entries_schema,
    payment_roll_schema,
    payment_rolls_schema,
    roll_import_form_schema,
    roll_to_ledger_schema,
    roll_withdraw_schema,
    roll_withdrawal_schema,
)
from ..services import payment_roll
from ..services.audit_files import saved_upload
from . import bp
from .auth_context import client_ip, require_user


@bp.post("/audit/payment-rolls")
@require_user("supervisor", "admin")
def import_payment_roll():
    """Import a township's payment roll for a month and reconcile it with the record.
    ---
    post:
      tags: [audit]
      summary: Import a payment roll (county supervisors and admins)
      security: [{bearer: []}]
      requestBody:
        required: true
        content:
          multipart/form-data:
            schema:
              type: object
              required: [file, township_code, period]
              properties:
                file: {type: string, format: binary}
                township_code: {type: string}
                period: {type: string, pattern: "^[0-9]{4}-(0[1-9]|1[0-2])$"}
      responses:
        201:
          content:
            application/json:
              schema: PaymentRollSchema
        403: error
        409:
          description: >-
            payment_roll.period_taken: the township's month already has a current roll
            (errors: roll_id, imported_at); nothing was imported. To correct a wrong roll,
            replace it (POST /audit/payment-rolls/{roll_id}/replace) or withdraw it.
          content:
            application/json:
              schema: ErrorSchema
        422: error
    """
    form = roll_import_form_schema.load(request.form.to_dict())
    with saved_upload(request.files.get("file")) as (path, name):
        roll = payment_roll.import_roll(
            path,
            form["township_code"],
            form["period"],
            actor=g.user,
            filename=name,
            ip=client_ip(),
        )
    return payment_roll_schema.dump(roll), 201


@bp.get("/audit/payment-rolls")
@require_user("supervisor", "admin")
def list_payment_rolls():
    """Return the imported rolls, newest first.
    ---
    get:
      tags: [audit]
      summary: Imported payment rolls (county supervisors and admins)
      security: [{bearer: []}]
      responses:
        200:
          content:
            application/json:
              schema:
                type: array
                items: PaymentRollSchema
        403: error
    """
    return payment_rolls_schema.dump(payment_roll.rolls(g.user, ip=client_ip()))


@bp.get("/audit/payment-rolls/<int:roll_id>")
@require_user("supervisor", "admin")
def get_payment_roll(roll_id: int):
    """Return one roll with every mismatch.
    ---
    get:
      tags: [audit]
      summary: One payment roll and its mismatches
      security: [{bearer: []}]
      parameters:
        - {in: path, name: roll_id, required: true, schema: {type: integer, minimum: 1, maximum: 2147483647}}
      responses:
        200:
          content:
            application/json:
              schema: PaymentRollSchema
        403: error
        404: error
    """
    return payment_roll_schema.dump(payment_roll.get_roll(g.user, roll_id, ip=client_ip()))


@bp.post("/audit/payment-rolls/<int:roll_id>/ledger")
@require_user("supervisor", "admin")
def payment_roll_to_ledger(roll_id: int):
    """Make ledger entries of a roll's mismatches (all of them when no ids are given).
    ---
    post:
      tags: [audit]
      summary: Ledger entries from roll mismatches
      security: [{bearer: []}]
      parameters:
        - {in: path, name: roll_id, required: true, schema: {type: integer, minimum: 1, maximum: 2147483647}}
      requestBody:
        content:
          application/json:
            schema: RollToLedgerSchema
      responses:
        200:
          content:
            application/json:
              schema:
                type: array
                items: LedgerEntrySchema
        403: error
        404: error
        422: error
    """
    data = roll_to_ledger_schema.load(request.get_json(silent=True) or {})
    entries = payment_roll.to_ledger(g.user, roll_id, data["mismatch_ids"], ip=client_ip())
    return ledger_entries_schema.dump(entries)


@bp.post("/audit/payment-rolls/<int:roll_id>/replace")
@require_user("supervisor", "admin")
def replace_payment_roll(roll_id: int):
    """Import a corrected roll of the same township and month in place of a wrong one.
    ---
    post:
      tags: [audit]
      summary: Replace a wrongly imported roll (county supervisors and admins of its township)
      description: >-
        The new roll is reconciled as any import; the old one stays on record as superseded
        (who, when, why). Entries made of the old roll's mismatches that nobody worked on are
        closed as unfounded, naming the replacement; those someone worked on stay open and
        are listed in entries_to_review (carried over to the new roll's mismatch of the same
        household and category, if it has one).
      security: [{bearer: []}]
      parameters:
        - {in: path, name: roll_id, required: true, schema: {type: integer, minimum: 1, maximum: 2147483647}}
      requestBody:
        required: true
        content:
          multipart/form-data:
            schema:
              type: object
              required: [file, reason]
              properties:
                file: {type: string, format: binary}
                reason: {type: string, minLength: 1, maxLength: 2000}
      responses:
        201:
          content:
            application/json:
              schema: RollWithdrawalSchema
        403: error
        404: error
        409:
          description: >-
            payment_roll.not_current: the roll was already replaced or withdrawn (errors:
            roll_id, state, replaced_by, withdrawn_at, withdrawn_by); nothing changed.
          content:
            application/json:
              schema: ErrorSchema
        422: error
    """
    form = roll_withdraw_schema.load(request.form.to_dict())
    with saved_upload(request.files.get("file")) as (path, name):
        withdrawal = payment_roll.replace_roll(
            path, roll_id, form["reason"], actor=g.user, filename=name, ip=client_ip()
        )
    return roll_withdrawal_schema.dump(withdrawal), 201


@bp.post("/audit/payment-rolls/<int:roll_id>/withdraw")
@require_user("supervisor", "admin")
def withdraw_payment_roll(roll_id: int):
    """Withdraw a wrongly imported roll without a replacement.
    ---
    post:
      tags: [audit]
      summary: Withdraw a wrongly imported roll (county supervisors and admins of its township)
      description: >-
        The roll stays on record as withdrawn (who, when, why) and its month may be imported
        again. Entries made of its mismatches that nobody worked on are closed as unfounded;
        those someone worked on stay open and are listed in entries_to_review.
      security: [{bearer: []}]
      parameters:
        - {in: path, name: roll_id, required: true, schema: {type: integer, minimum: 1, maximum: 2147483647}}
      requestBody:
        required: true
        content:
          application/json:
            schema: RollWithdrawSchema
      responses:
        200:
          content:
            application/json:
              schema: RollWithdrawalSchema
        403: error
        404: error
        409:
          description: >-
            payment_roll.not_current: the roll was already replaced or withdrawn; nothing
            changed.
          content:
            application/json:
              schema: ErrorSchema
        422: error
    """
    data = roll_withdraw_schema.load(request.get_json(silent=True) or {})
    withdrawal = payment_roll.withdraw_roll(g.user, roll_id, data["reason"], ip=client_ip())
    return roll_withdrawal_schema.dump(withdrawal)
