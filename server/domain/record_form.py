"""The built-in record form: one question per master-record field, bound to it.

Form id ``ruhu.record``, version ``1``. Its answers are the record's own field names
(``{"address": ..., "members": [{"id": ..., "name": ...}]}``), so any client can send a
plain record edit through the same submission path as a survey, and the sync tests do not
depend on the survey forms. Surveys use their own forms (services/forms.py).
"""

from .record import COLLECTION_FIELDS, FIELD_LABELS, HOUSEHOLD_FIELDS, SECTION_LABELS

RECORD_FORM_ID = "ruhu.record"
RECORD_FORM_VERSION = "1"
TITLE = {"zh": "户档案修改", "en": "Record edit"}


def record_form() -> dict:
    """Return the definition of the built-in record form, its questions labelled in both
    languages with the record's own field names (domain/record.py), as the console names
    them elsewhere: an edit sent through it reads like a survey's answers."""
    household = [{"name": name, "type": "text", "bind": f"household.{name}",
                  "label": dict(FIELD_LABELS[name])}
                 for name in HOUSEHOLD_FIELDS if name != "code"]
    repeats = [
        {"name": section, "type": "repeat", "bind": section,
         "label": dict(SECTION_LABELS[section]),
         "children": [{"name": name, "type": "text", "bind": name,
                       "label": dict(FIELD_LABELS[name])} for name in fields]}
        for section, fields in COLLECTION_FIELDS.items()
    ]
    return {
        "id": RECORD_FORM_ID,
        "version": RECORD_FORM_VERSION,
        "title": dict(TITLE),
        "sections": [{"name": "record", "type": "group", "label": dict(TITLE),
                      "children": household + repeats}],
    }
