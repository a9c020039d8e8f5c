"""The household as the app downloads it (the master record for prefill)."""

from marshmallow import Schema, fields

from .common import UtcDateTime, plain_dump


class MemberSchema(Schema):
    """A household member."""

    id = fields.String(dump_only=True)
    position = fields.Integer()
    name = fields.String()
    id_number = fields.String(allow_none=True)
    relation = fields.String()
    sex = fields.String(allow_none=True)
    birth_date = fields.Date(allow_none=True)
    health = fields.String(allow_none=True)
    disability_grade = fields.String(allow_none=True)
    work_ability = fields.String(allow_none=True)
    occupation = fields.String(allow_none=True)
    co_resident = fields.Boolean()
    died_on = fields.Date(allow_none=True)


class SupporterSchema(Schema):
    """A legally obligated supporter."""

    id = fields.String(dump_only=True)
    position = fields.Integer()
    name = fields.String()
    id_number = fields.String(allow_none=True)
    relation = fields.String()
    household_size = fields.Integer(allow_none=True)
    monthly_income = fields.Float(allow_none=True)


class AssetSchema(Schema):
    """A piece of property."""

    id = fields.String(dump_only=True)
    position = fields.Integer()
    category = fields.String()
    description = fields.String()
    quantity = fields.Float(allow_none=True)
    value = fields.Float(allow_none=True)


class IncomeSchema(Schema):
    """An income line."""

    id = fields.String(dump_only=True)
    position = fields.Integer()
    member_id = fields.String(allow_none=True)
    category = fields.String()
    amount = fields.Float()
    period = fields.String()
    note = fields.String(allow_none=True)


class HouseholdHeadSchema(Schema):
    """A household's own fields, without its collections."""

    id = fields.Integer(dump_only=True)
    code = fields.String(dump_only=True)
    qr_token = fields.String(dump_only=True)
    version = fields.Integer(dump_only=True)
    village_id = fields.Integer(dump_only=True)
    village_name = fields.Function(lambda h: h.village.name, dump_only=True)
    township_name = fields.Function(
        lambda h: h.village.parent.name if h.village.parent else "", dump_only=True
    )
    area_type = fields.String(dump_only=True)
    address = fields.String(dump_only=True)
    phone = fields.String(dump_only=True, allow_none=True)
    lat = fields.Float(dump_only=True, allow_none=True)
    lon = fields.Float(dump_only=True, allow_none=True)
    status = fields.String(dump_only=True)
    benefit_class = fields.String(dump_only=True, allow_none=True)
    hardship_cause = fields.String(dump_only=True, allow_none=True)
    staff_relative = fields.Boolean(dump_only=True)
    disputed = fields.Boolean(dump_only=True)
    next_review_on = fields.Date(dump_only=True, allow_none=True)
    # The audit's re-visit marker (docs/architecture.md, "Audit"): null, or
    # {"reasons": [...], "assigned_to": user id | null}; set by services.ledger.annotate.
    revisit = fields.Function(
        lambda h: getattr(h, "revisit", None), dump_only=True, allow_none=True
    )
    updated_at = UtcDateTime(dump_only=True)


class RecordItemsSchema(Schema):
    """A household's collections (from its rows, or plain dicts of them)."""

    members = fields.List(fields.Nested(MemberSchema), dump_only=True)
    supporters = fields.List(fields.Nested(SupporterSchema), dump_only=True)
    assets = fields.List(fields.Nested(AssetSchema), dump_only=True)
    incomes = fields.List(fields.Nested(IncomeSchema), dump_only=True)


class HouseholdSchema(HouseholdHeadSchema, RecordItemsSchema):
    """A household with its whole master record."""


class TombstoneSchema(Schema):
    """A household that left the caller's scope: the phone deletes its copy."""

    id = fields.Integer(dump_only=True)


class HouseholdDeltaSchema(Schema):
    """One page of the delta download."""

    households = fields.List(fields.Nested(HouseholdSchema), dump_only=True)
    tombstones = fields.List(fields.Nested(TombstoneSchema), dump_only=True)
    cursor = fields.String(dump_only=True, metadata={"description": "pass as ?since= next time"})
    more = fields.Boolean(dump_only=True, metadata={"description": "another page is waiting"})
    remaining = fields.Integer(
        dump_only=True, metadata={"description": "households the next pages will bring"}
    )
    reset = fields.Boolean(dump_only=True, metadata={"description": "drop local copies first"})


class DeltaQuerySchema(Schema):
    """Query parameters of the delta download."""

    since = fields.String(load_default=None)
    limit = fields.Integer(load_default=200)


household_schema = HouseholdSchema()
household_head_schema = HouseholdHeadSchema()
record_items_schema = RecordItemsSchema()
# The QR lookup's household and collections are plain data (services.households.lookup_qr):
# the same answer.
dump_household_head = plain_dump(household_head_schema)
dump_record_items = plain_dump(record_items_schema)
household_delta_schema = HouseholdDeltaSchema()
delta_query_schema = DeltaQuerySchema()
