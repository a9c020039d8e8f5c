"""The audit (清查) on the wire: cross-check lists and flags, ledger entries, reviews, rolls."""


from marshmallow import EXCLUDE, Schema, fields, validate

from .. import county_clock
from ..domain.audit_categories import ACTION_IDS, CATEGORY_IDS
from ..domain.audit_ledger import RESOLUTIONS, STATES, is_overdue
from ..domain.audit_lists import LIST_KIND_IDS
from .common import DB_COUNT, DB_ID, UtcDateTime

# Text without NUL characters (PostgreSQL cannot store them), and region codes (digits).
NO_NUL = validate.Regexp(r"^[^\x00]*$", error="must not contain NUL characters")
CODE = validate.Regexp(r"^[0-9]{1,32}$", error="a region code (digits)")
# Yuan, up to what a Numeric(12, 2) column holds with room to spare.
MONEY = validate.Range(0, 1_000_000_000)


class Label(fields.Dict):
    """A {"zh", "en"} text."""


# ---- cross-check lists -----------------------------------------------------------------------


class ListImportFormSchema(Schema):
    """The form fields sent with a list file (multipart)."""

    class Meta:
        # The multipart body also carries the file; other parts are not ours to refuse.
        unknown = EXCLUDE

    kind = fields.String(required=True, validate=validate.OneOf(LIST_KIND_IDS))
    source = fields.String(load_default="", validate=[validate.Length(max=100), NO_NUL])
    as_of = fields.Date(load_default=None, allow_none=True)


class CrosscheckListSchema(Schema):
    """An imported list (no rows: those are read one list at a time)."""

    id = fields.Integer(dump_only=True)
    kind = fields.String(dump_only=True)
    source = fields.String(dump_only=True)
    as_of = fields.Date(dump_only=True, allow_none=True)
    filename = fields.String(dump_only=True)
    file_sha256 = fields.String(dump_only=True)
    imported_by = fields.Integer(dump_only=True, allow_none=True)
    imported_at = UtcDateTime(dump_only=True)
    row_count = fields.Integer(dump_only=True)
    matched_rows = fields.Integer(dump_only=True)
    new_flags = fields.Integer(dump_only=True)
    kept = fields.Function(lambda lst: lst.kept_path is not None, dump_only=True)


class CrosscheckRowSchema(Schema):
    """A stored (matched) row of a list."""

    row_number = fields.Integer(dump_only=True)
    id_number = fields.String(dump_only=True)
    name = fields.String(dump_only=True)
    birth_date = fields.Date(dump_only=True)
    detail = fields.Dict(dump_only=True)


class ListImportSchema(Schema):
    """What an import found."""

    list = fields.Nested(CrosscheckListSchema, dump_only=True)
    rows = fields.Integer(dump_only=True)
    matched_rows = fields.Integer(dump_only=True)
    strong = fields.Integer(dump_only=True)
    weak = fields.Integer(dump_only=True)
    new_flags = fields.Integer(dump_only=True)
    seen_flags = fields.Integer(dump_only=True)
    households = fields.Function(lambda s: len(s.households), dump_only=True)


class ListDetailSchema(CrosscheckListSchema):
    """A list with its matched rows."""

    rows = fields.List(fields.Nested(CrosscheckRowSchema), dump_only=True)


class FlagMatchSchema(Schema):
    """One list row behind a flag."""

    list_id = fields.Integer()
    row_number = fields.Integer()
    strength = fields.String()
    name = fields.String()
    birth_date = fields.String()
    detail = fields.Dict()


class FlagSchema(Schema):
    """A person of a household named by a kind of list."""

    id = fields.Integer()
    household_id = fields.Integer()
    household_code = fields.String(allow_none=True)
    village = fields.String(allow_none=True)
    township = fields.String(allow_none=True)
    person_kind = fields.String(metadata={"description": "member | supporter"})
    person_id = fields.String()
    person_name = fields.String()
    list_kind = fields.String()
    list_label = Label()
    category = fields.String()
    category_label = Label()
    strength = fields.String(metadata={"description": "strong (ID number) | weak (name + birth)"})
    ledger_entry_id = fields.Integer(allow_none=True)
    ledger_state = fields.String(allow_none=True)
    created_at = UtcDateTime()
    matches = fields.List(fields.Nested(FlagMatchSchema))


class FlagPageSchema(Schema):
    """A page of flags."""

    flags = fields.List(fields.Nested(FlagSchema), dump_only=True)
    total = fields.Integer(dump_only=True)


class FlagQuerySchema(Schema):
    """Filters of the flag list."""

    household_id = fields.Integer(load_default=None, validate=DB_ID)
    category = fields.String(load_default=None, validate=validate.OneOf(CATEGORY_IDS))
    list_kind = fields.String(load_default=None, validate=validate.OneOf(LIST_KIND_IDS))
    strength = fields.String(load_default=None, validate=validate.OneOf(("strong", "weak")))
    township_code = fields.String(load_default=None, validate=CODE)
    state = fields.String(load_default=None, validate=validate.OneOf(("active", "closed")))
    limit = fields.Integer(load_default=100, validate=validate.Range(1, 500))
    offset = fields.Integer(load_default=0, validate=DB_COUNT)


class QueueItemSchema(Schema):
    """A household with active flags."""

    household_id = fields.Function(lambda i: i["household"].id)
    household_code = fields.Function(lambda i: i["household"].code)
    village = fields.Function(lambda i: i["household"].village.name)
    township = fields.Function(
        lambda i: i["household"].village.parent.name if i["household"].village.parent else ""
    )
    status = fields.Function(lambda i: i["household"].status)
    flags = fields.Integer()
    strong = fields.Integer()


# ---- ledger ----------------------------------------------------------------------------------


class TransitionSchema(Schema):
    """One stored state change."""

    id = fields.Integer(dump_only=True)
    from_state = fields.String(dump_only=True, allow_none=True)
    to_state = fields.String(dump_only=True)
    actor_id = fields.Integer(dump_only=True, allow_none=True)
    actor_name = fields.Function(lambda t: t.actor.display_name if t.actor else "", dump_only=True)
    at = UtcDateTime(dump_only=True)
    comment = fields.String(dump_only=True)
    evidence = fields.List(fields.Dict(), dump_only=True)


class LedgerEntrySchema(Schema):
    """A ledger entry with where it stands."""

    id = fields.Integer(dump_only=True)
    household_id = fields.Integer(dump_only=True, allow_none=True)
    household_code = fields.Function(
        lambda e: e.household.code if e.household else None, dump_only=True
    )
    village = fields.Function(
        lambda e: e.household.village.name if e.household else None, dump_only=True
    )
    member_id = fields.String(dump_only=True, allow_none=True)
    township_code = fields.Function(lambda e: e.township.code, dump_only=True)
    township = fields.Function(lambda e: e.township.name, dump_only=True)
    category = fields.String(dump_only=True)
    source = fields.String(dump_only=True)
    source_ref = fields.String(dump_only=True, allow_none=True)
    description = fields.String(dump_only=True)
    actions = fields.List(fields.String(), dump_only=True)
    found_on = fields.Date(dump_only=True)
    found_by = fields.Integer(dump_only=True, allow_none=True)
    due_on = fields.Date(dump_only=True)
    state = fields.String(dump_only=True)
    overdue = fields.Function(
        lambda e: is_overdue(e.state, e.due_on, county_clock.today()), dump_only=True
    )
    resolution = fields.String(dump_only=True, allow_none=True)
    amount_to_recover = fields.Float(dump_only=True, allow_none=True)
    created_at = UtcDateTime(dump_only=True)
    updated_at = UtcDateTime(
        dump_only=True,
        metadata={"description": "when the entry last changed: send it back as "
                                 "seen_updated_at with an edit"},
    )
    closed_at = UtcDateTime(dump_only=True, allow_none=True)
    transitions = fields.List(fields.Nested(TransitionSchema), dump_only=True)


class LedgerPageSchema(Schema):
    """A page of entries."""

    entries = fields.List(fields.Nested(LedgerEntrySchema), dump_only=True)
    total = fields.Integer(dump_only=True)


class LedgerQuerySchema(Schema):
    """Filters of the ledger list."""

    state = fields.String(
        load_default=None, validate=validate.OneOf((*STATES, "overdue", "active"))
    )
    category = fields.String(load_default=None, validate=validate.OneOf(CATEGORY_IDS))
    source = fields.String(
        load_default=None,
        validate=validate.OneOf(("check", "crosscheck", "payment_roll", "manual")),
    )
    township_code = fields.String(load_default=None, validate=CODE)
    household_id = fields.Integer(load_default=None, validate=DB_ID)
    limit = fields.Integer(load_default=100, validate=validate.Range(1, 500))
    offset = fields.Integer(load_default=0, validate=DB_COUNT)


class LedgerCreateSchema(Schema):
    """A problem a supervisor found by hand."""

    household_id = fields.Integer(required=True, validate=DB_ID)
    member_id = fields.String(
        load_default=None, allow_none=True, validate=[validate.Length(max=36), NO_NUL]
    )
    category = fields.String(required=True, validate=validate.OneOf(CATEGORY_IDS))
    actions = fields.List(
        fields.String(validate=validate.OneOf(ACTION_IDS)),
        required=True,
        validate=validate.Length(min=1),
    )
    description = fields.String(load_default="", validate=[validate.Length(max=2000), NO_NUL])
    due_on = fields.Date(load_default=None, allow_none=True)
    amount_to_recover = fields.Float(load_default=None, allow_none=True, validate=MONEY)


class FromCheckSchema(Schema):
    """A failed check of a survey to enter in the ledger."""

    instance_id = fields.String(required=True, validate=[validate.Length(min=1, max=36), NO_NUL])
    check_id = fields.String(required=True, validate=[validate.Length(min=1, max=80), NO_NUL])


class LedgerUpdateSchema(Schema):
    """What may change on an open entry."""

    category = fields.String(validate=validate.OneOf(CATEGORY_IDS))
    actions = fields.List(
        fields.String(validate=validate.OneOf(ACTION_IDS)), validate=validate.Length(min=1)
    )
    description = fields.String(validate=[validate.Length(max=2000), NO_NUL])
    due_on = fields.Date()
    amount_to_recover = fields.Float(allow_none=True, validate=MONEY)
    seen_updated_at = UtcDateTime(
        load_default=None,
        metadata={"description": "the entry's updated_at as the editor saw it: if the entry "
                                 "was edited or moved since, the edit is refused (409 "
                                 "ledger.stale) instead of overwriting that change"},
    )


class EvidenceSchema(Schema):
    """One piece of verifying evidence."""

    kind = fields.String(required=True, validate=validate.OneOf(("survey", "document", "note")))
    instance_id = fields.String(validate=[validate.Length(max=36), NO_NUL])
    sha256 = fields.String(validate=validate.Regexp(r"^[0-9a-f]{64}$"))
    caption = fields.String(validate=[validate.Length(max=200), NO_NUL])
    text = fields.String(validate=[validate.Length(max=2000), NO_NUL])


class TransitionRequestSchema(Schema):
    """A state change asked for."""

    to_state = fields.String(required=True, validate=validate.OneOf(STATES))
    comment = fields.String(load_default="", validate=[validate.Length(max=2000), NO_NUL])
    evidence = fields.List(fields.Nested(EvidenceSchema), load_default=list)
    resolution = fields.String(
        load_default=None, allow_none=True, validate=validate.OneOf(RESOLUTIONS)
    )
    from_state = fields.String(
        load_default=None,
        validate=validate.OneOf(STATES),
        metadata={"description": "the state the mover saw: if the entry has left it since, "
                                 "the move is refused (409 ledger.stale_state) instead of "
                                 "being made from a state the mover did not see"},
    )


class ProgressRowSchema(Schema):
    """Progress of one township and category."""

    township = fields.String()
    township_code = fields.String()
    category = fields.String()
    category_label = Label()
    total = fields.Integer()
    open = fields.Integer()
    in_progress = fields.Integer()
    rectified = fields.Integer()
    closed = fields.Integer()
    overdue = fields.Integer()
    closed_share = fields.Float()


# ---- review calendar -------------------------------------------------------------------------


class ReviewQuerySchema(Schema):
    """Filters of the review calendar."""

    township_code = fields.String(load_default=None, validate=CODE)
    village_code = fields.String(load_default=None, validate=CODE)
    within_days = fields.Integer(load_default=30, validate=validate.Range(0, 400))
    assigned_to = fields.Integer(load_default=None, validate=DB_ID)


class ReviewDueSchema(Schema):
    """A household due for its periodic review."""

    household_id = fields.Integer()
    household_code = fields.String()
    township_code = fields.String()
    township = fields.String()
    village_code = fields.String()
    village = fields.String()
    due_on = fields.Date()
    overdue = fields.Boolean()
    days_overdue = fields.Integer()
    interval_months = fields.Integer(allow_none=True)
    reasons = fields.List(fields.String(), metadata={"description": "what shortens the interval"})
    basis = fields.String(metadata={"description": "recorded | computed"})
    last_reviewed_on = fields.Date(allow_none=True)
    assigned_to = fields.Integer(allow_none=True)
    assigned_name = fields.String(allow_none=True)


class ReviewCalendarSchema(Schema):
    """The households due, overdue first."""

    today = fields.Date()
    until = fields.Date()
    households = fields.List(fields.Nested(ReviewDueSchema))


class AssignSchema(Schema):
    """Assign (or, with investigator_id null, unassign) households' reviews."""

    household_ids = fields.List(
        fields.Integer(validate=DB_ID), required=True, validate=validate.Length(min=1, max=500)
    )
    investigator_id = fields.Integer(required=True, allow_none=True, validate=DB_ID)


# ---- payment rolls ---------------------------------------------------------------------------


class RollImportFormSchema(Schema):
    """The form fields sent with a roll file (multipart)."""

    class Meta:
        # The multipart body also carries the file; other parts are not ours to refuse.
        unknown = EXCLUDE

    township_code = fields.String(required=True, validate=CODE)
    period = fields.String(required=True, validate=validate.Regexp(r"^\d{4}-(0[1-9]|1[0-2])$"))


class MismatchSchema(Schema):
    """A difference between a roll and the record."""

    id = fields.Integer(dump_only=True)
    row_number = fields.Integer(dump_only=True, allow_none=True)
    household_id = fields.Integer(dump_only=True, allow_none=True)
    household_code = fields.String(dump_only=True)
    kind = fields.String(dump_only=True)
    category = fields.String(dump_only=True)
    facts = fields.Dict(dump_only=True)
    ledger_entry_id = fields.Integer(dump_only=True, allow_none=True)


class PaymentRollSchema(Schema):
    """An imported roll with its reconciliation."""

    id = fields.Integer(dump_only=True)
    township_code = fields.Function(lambda r: r.township.code, dump_only=True)
    township = fields.Function(lambda r: r.township.name, dump_only=True)
    period = fields.String(dump_only=True)
    filename = fields.String(dump_only=True)
    file_sha256 = fields.String(dump_only=True)
    imported_at = UtcDateTime(dump_only=True)
    row_count = fields.Integer(dump_only=True)
    total_amount = fields.Float(dump_only=True)
    mismatch_count = fields.Integer(dump_only=True)
    state = fields.String(
        dump_only=True,
        metadata={"description": "current | superseded (replaced by another roll) | withdrawn"},
    )
    replaces_id = fields.Integer(dump_only=True, allow_none=True)
    replaced_by_id = fields.Function(
        lambda r: r.replaced_by.id if r.replaced_by else None, dump_only=True, allow_none=True
    )
    withdrawn_at = UtcDateTime(dump_only=True, allow_none=True)
    withdrawn_by = fields.Function(
        lambda r: r.withdrawer.username if r.withdrawer else None, dump_only=True, allow_none=True
    )
    withdrawn_reason = fields.String(dump_only=True, allow_none=True)
    mismatches = fields.List(fields.Nested(MismatchSchema), dump_only=True)


class RollToLedgerSchema(Schema):
    """Which mismatches become ledger entries (null or absent: all of them)."""

    mismatch_ids = fields.List(
        fields.Integer(validate=DB_ID),
        load_default=None,
        allow_none=True,
        validate=validate.Length(max=5000),
    )


class RollWithdrawSchema(Schema):
    """Why a roll is withdrawn or replaced (required: the roll stays on record with it).

    Sent as JSON to withdraw, as a form field beside the file to replace."""

    class Meta:
        # A replacement's multipart body also carries the file.
        unknown = EXCLUDE

    reason = fields.String(required=True, validate=[validate.Length(min=1, max=2000), NO_NUL])


class RollWithdrawalSchema(Schema):
    """What withdrawing or replacing a roll did."""

    roll = fields.Nested(PaymentRollSchema, dump_only=True)
    replacement = fields.Nested(PaymentRollSchema, dump_only=True, allow_none=True)
    closed_entries = fields.List(
        fields.Nested(LedgerEntrySchema),
        dump_only=True,
        metadata={"description": "entries nobody had worked on, closed with the roll"},
    )
    entries_to_review = fields.List(
        fields.Nested(LedgerEntrySchema),
        dump_only=True,
        metadata={
            "description": "entries someone had worked on: they stay open for a supervisor to "
            "look at (carried over to the replacement's mismatch of the same household and "
            "category, if any)"
        },
    )


list_import_form_schema = ListImportFormSchema()
list_import_schema = ListImportSchema()
crosscheck_list_schema = CrosscheckListSchema()
crosscheck_lists_schema = CrosscheckListSchema(many=True)
crosscheck_rows_schema = CrosscheckRowSchema(many=True)
flag_query_schema = FlagQuerySchema()
flag_page_schema = FlagPageSchema()
queue_schema = QueueItemSchema(many=True)
ledger_entry_schema = LedgerEntrySchema()
ledger_page_schema = LedgerPageSchema()
ledger_query_schema = LedgerQuerySchema()
ledger_create_schema = LedgerCreateSchema()
ledger_update_schema = LedgerUpdateSchema()
transition_request_schema = TransitionRequestSchema()
progress_schema = ProgressRowSchema(many=True)
review_query_schema = ReviewQuerySchema()
review_calendar_schema = ReviewCalendarSchema()
assign_schema = AssignSchema()
roll_import_form_schema = RollImportFormSchema()
payment_roll_schema = PaymentRollSchema()
payment_rolls_schema = PaymentRollSchema(many=True, exclude=("mismatches",))
roll_to_ledger_schema = RollToLedgerSchema()
roll_withdraw_schema = RollWithdrawSchema()
roll_withdrawal_schema = RollWithdrawalSchema()
ledger_entries_schema = LedgerEntrySchema(many=True)
from_check_schema = FromCheckSchema()
