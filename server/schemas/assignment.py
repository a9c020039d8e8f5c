"""Sampling assignments on the wire (GET /api/v1/assignments)."""

from marshmallow import Schema, fields

from ..models.sampling import SAMPLE_REASONS


class AssignmentSchema(Schema):
    """One household to visit and why."""

    household_id = fields.Integer(dump_only=True)
    household_code = fields.String(dump_only=True)
    village_id = fields.Integer(dump_only=True)
    reasons = fields.List(
        fields.String(metadata={"enum": list(SAMPLE_REASONS)}), dump_only=True
    )
    sample_id = fields.Integer(dump_only=True, metadata={"description": "the draw"})


class AssignmentsSchema(Schema):
    """The caller's assignments."""

    assignments = fields.List(fields.Nested(AssignmentSchema), dump_only=True)


assignments_schema = AssignmentsSchema()
