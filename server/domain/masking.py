"""Masking of personal data for lists and public postings (domain.md, Privacy)."""


def mask_id_number(id_number: str | None) -> str | None:
    """Mask an ID number like ``35**************23``: first two and last two kept."""
    if not id_number:
        return id_number
    if len(id_number) <= 4:
        return "*" * len(id_number)
    return id_number[:2] + "*" * (len(id_number) - 4) + id_number[-2:]


def mask_phone(phone: str | None) -> str | None:
    """Mask a phone number like ``138****1234``."""
    if not phone:
        return phone
    if len(phone) < 7:
        return "*" * len(phone)
    return phone[:3] + "*" * (len(phone) - 7) + phone[-4:]


def mask_name(name: str | None) -> str | None:
    """Mask a name for labels and postings: keep the family name, e.g. ``张**``."""
    if not name:
        return name
    return name[0] + "*" * (len(name) - 1)
