"""Reading households within a user's scope: delta download, fetch, QR lookup."""

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import joinedload

from ..extensions import MAX_DB_INT, db
from ..models import ChangeCounter, Household, HouseholdVersion, Region, User
from . import audit, ledger
from .auth import Caller
from .errors import Invalid
from .household_record import FULL_RECORD, ITEM_MODELS, ITEMS
from .register import may_be_qr_token
from .scope import household_in_scope, refuse_outside, scoped_households, village_ids
from .transactions import commit_keeping_loaded

MAX_PAGE = 500

# One household also brings its village and township in the same query: the scope check and
# the village and township names need them (a QR lookup must stay within a few ms).
_ONE_HOUSEHOLD = (*FULL_RECORD, joinedload(Household.village).joinedload(Region.parent))


def parse_cursor(cursor: str | None, user: User) -> tuple[int, bool]:
    """Return (sequence, reset) for a delta cursor ``<scope_epoch>.<seq>``.

    A cursor from an older scope of this user (or none) starts over from 0 with reset=True,
    telling the phone to drop what it holds: households may have left the scope unseen.
    """
    if not cursor:
        return 0, True
    try:
        epoch_text, seq_text = cursor.split(".", 1)
        epoch, seq = int(epoch_text), int(seq_text)
    except ValueError:
        raise Invalid(
            "无效的同步游标 / invalid cursor", errors={"since": ["malformed cursor"]}
        ) from None
    if not 0 <= seq <= MAX_DB_INT:
        raise Invalid("无效的同步游标 / invalid cursor", errors={"since": ["malformed cursor"]})
    if epoch != user.scope_epoch:
        return 0, True
    return seq, False


def delta(user: User, *, since: str | None, limit: int, ip: str | None = None) -> dict:
    """Return households in scope changed after the cursor, plus tombstones. Audited."""
    if not 1 <= limit <= MAX_PAGE:
        raise Invalid("limit 超出范围 / limit out of range", errors={"limit": [f"1..{MAX_PAGE}"]})
    seq, reset = parse_cursor(since, user)
    rows = db.session.scalars(
        scoped_households(user)
        .where(Household.change_seq > seq)
        .order_by(Household.change_seq)
        .limit(limit + 1)
        .options(*FULL_RECORD)
    ).all()
    more = len(rows) > limit
    rows = rows[:limit]
    remaining = 0
    if more:
        upper = rows[-1].change_seq
        # For the phone's progress bar: what the next pages will bring.
        remaining = db.session.scalar(
            select(func.count()).select_from(
                scoped_households(user).where(Household.change_seq > upper).subquery()
            )
        )
    else:
        upper = db.session.scalar(select(ChangeCounter.value).where(ChangeCounter.id == 1)) or 0
    in_scope = village_ids(user)
    tombstones = []
    if not reset:
        # A household that moved out of the user's villages: the version that moved it names
        # the village it came from.
        tombstones = db.session.scalars(
            select(HouseholdVersion.household_id)
            .join(Household)
            .where(
                HouseholdVersion.change_seq > seq,
                HouseholdVersion.change_seq <= upper,
                HouseholdVersion.prev_village_id.in_(in_scope),
                Household.village_id.not_in(in_scope),
            )
            .distinct()
        ).all()
    ledger.annotate(rows)  # the audit's re-visit marker (docs/architecture.md, "Audit")
    audit.record(
        "household.download",
        actor=user,
        object_type="household",
        object_id="*",
        ip=ip,
        detail={"count": len(rows), "ids": [h.id for h in rows], "since": since},
    )
    commit_keeping_loaded()
    return {
        "households": rows,
        "tombstones": [{"id": hid} for hid in tombstones],
        "cursor": f"{user.scope_epoch}.{upper}",
        "more": more,
        "remaining": remaining,
        "reset": reset,
    }


def get(
    user: User, household_id: int, *, ip: str | None = None, as_missing: bool = False
) -> Household:
    """Return one household in the user's scope; the read of its personal data is audited.
    `as_missing`: one outside it is NotFound, as one that does not exist (scope.refuse_outside)."""
    household = household_in_scope(
        user, db.session.get(Household, household_id, options=_ONE_HOUSEHOLD),
        as_missing=as_missing)
    ledger.annotate([household])
    audit.record(
        "household.read", actor=user, object_type="household", object_id=household.id, ip=ip
    )
    commit_keeping_loaded()
    return household


# Each collection's keys on the wire: its columns but the household's id. (The statement is
# household_record.ITEMS, which the merge runs too.)
_ITEM_KEYS = {section: [c.key for c in model.__table__.columns if c.key != "household_id"]
              for section, model in ITEM_MODELS.items()}


def record_items(household_id: int) -> dict[str, list[dict]]:
    """Return {"members": [row, ...], "supporters": ..., ...} for one household.

    Plain rows (dicts) in one statement, not ORM objects loaded in four: the QR lookup is
    made at every door an investigator stands at, and loading the collections was half
    of its time.
    """
    items: dict[str, list[dict]] = {section: [] for section in ITEM_MODELS}
    for row in ITEMS.execute({"household_id": household_id}):
        items[row.section].append({key: getattr(row, key) for key in _ITEM_KEYS[row.section]})
    return items


_VILLAGE = Region.__table__.alias("village")
_TOWNSHIP = Region.__table__.alias("township")
# Built once. One round trip, one plain row (no ORM objects: the household, its village and
# its township were three to load): the household's columns, its village's and township's
# names, the village's path for the scope check and the re-visit marker's probe.
_BY_QR_TOKEN = (
    select(
        *Household.__table__.columns,
        _VILLAGE.c.name.label("village_name"),
        _TOWNSHIP.c.name.label("township_name"),
        _VILLAGE.c.path.label("village_path"),
        ledger.may_need_revisit().label("may_need_revisit"),
    )
    .join(_VILLAGE, _VILLAGE.c.id == Household.village_id)
    .outerjoin(_TOWNSHIP, _TOWNSHIP.c.id == _VILLAGE.c.parent_id)
    .where(Household.qr_token == bindparam("qr_token"))
)
_HOUSEHOLD_KEYS = [c.key for c in Household.__table__.columns]


def lookup_qr(caller: Caller, qr_token: str, *, ip: str | None = None
              ) -> tuple[dict, dict[str, list[dict]]]:
    """Return the household whose label carries this QR token, within the caller's scope,
    and its collections (record_items), as plain data.

    The household is its row's fields with `village_name`, `township_name` ("" for a
    village under no township) and `revisit` (the re-visit marker, as ledger.annotate
    sets it): what the household schema reads from a Household object.
    """
    # Plain statements on the session's connection, not through session.execute (its ORM
    # layer costs Python on every statement).
    if not may_be_qr_token(qr_token):
        refuse_outside(caller, None)  # no such household: 404
    connection = db.session.connection()
    row = connection.execute(_BY_QR_TOKEN, {"qr_token": qr_token}).mappings().one_or_none()
    refuse_outside(caller, row["village_path"] if row is not None else None)
    household = {key: row[key] for key in _HOUSEHOLD_KEYS}
    household["village_name"] = row["village_name"]
    household["township_name"] = row["township_name"] or ""
    household_id = household["id"]
    markers = ledger.revisits([household_id], probed=True) if row["may_need_revisit"] else {}
    household["revisit"] = markers.get(household_id)
    items = record_items(household_id)
    audit.record(
        "household.lookup", actor=caller, object_type="household", object_id=household_id,
        ip=ip,
    )
    db.session.commit()
    return household, items


def region_names(household_ids_villages: set[int]) -> dict[int, dict]:
    """Return {village_id: {"village": name, "township": name}} for the given villages."""
    villages = db.session.scalars(select(Region).where(Region.id.in_(household_ids_villages))).all()
    parents = {
        r.id: r
        for r in db.session.scalars(
            select(Region).where(Region.id.in_({v.parent_id for v in villages if v.parent_id}))
        )
    }
    return {
        v.id: {
            "village": v.name,
            "township": parents[v.parent_id].name if v.parent_id in parents else "",
        }
        for v in villages
    }


def count_in_scope(user: User) -> int:
    """Return how many households the user may see."""
    return db.session.scalar(select(func.count()).select_from(scoped_households(user).subquery()))
