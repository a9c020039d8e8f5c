"""The household aggregate: the master record, its members, supporters, assets, incomes
and its append-only version history."""

import uuid
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import JSON, Boolean, Date, DateTime, ForeignKey, Integer, Numeric, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .clock import utcnow
from .filled_index import filled_index


def new_uuid() -> str:
    """Return a random UUID string, the stable identity of a member or list item."""
    return str(uuid.uuid4())


HOUSEHOLD_STATUSES = ("applicant", "pending_review", "covered", "suspended", "closed")


class Household(db.Model):
    """The master record of one household (户)."""

    __tablename__ = "household"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    # Opaque random token printed on the door label: never derived from an ID number.
    qr_token: Mapped[str] = mapped_column(String(40), unique=True)
    village_id: Mapped[int] = mapped_column(ForeignKey("region.id"), index=True)
    area_type: Mapped[str] = mapped_column(String(8))
    address: Mapped[str] = mapped_column(String(255), default="")
    phone: Mapped[str | None] = mapped_column(String(32))
    lat: Mapped[float | None]
    lon: Mapped[float | None]
    status: Mapped[str] = mapped_column(String(16), default="applicant")
    benefit_class: Mapped[str | None] = mapped_column(String(8))
    hardship_cause: Mapped[str | None] = mapped_column(String(32))
    staff_relative: Mapped[bool] = mapped_column(Boolean, default=False)
    disputed: Mapped[bool] = mapped_column(Boolean, default=False)
    version: Mapped[int] = mapped_column(Integer, default=0)
    next_review_on: Mapped[date | None] = mapped_column(Date)
    # Global, commit-ordered change sequence: the cursor of the app's delta download.
    change_seq: Mapped[int] = mapped_column(Integer, default=0, index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)

    village = relationship("Region")
    members: Mapped[list["Member"]] = relationship(
        back_populates="household", cascade="all, delete-orphan", order_by="Member.position"
    )
    supporters: Mapped[list["Supporter"]] = relationship(
        cascade="all, delete-orphan", order_by="Supporter.position"
    )
    assets: Mapped[list["Asset"]] = relationship(
        cascade="all, delete-orphan", order_by="Asset.position"
    )
    incomes: Mapped[list["IncomeItem"]] = relationship(
        cascade="all, delete-orphan", order_by="IncomeItem.position"
    )


class Member(db.Model):
    """A person registered in the household; identified by a UUID that never changes."""

    __tablename__ = "member"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_uuid)
    household_id: Mapped[int] = mapped_column(ForeignKey("household.id"), index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    name: Mapped[str] = mapped_column(String(64))
    id_number: Mapped[str | None] = mapped_column(String(18), index=True)
    relation: Mapped[str] = mapped_column(String(16), default="self")
    sex: Mapped[str | None] = mapped_column(String(8))
    birth_date: Mapped[date | None] = mapped_column(Date)
    health: Mapped[str | None] = mapped_column(String(32))
    disability_grade: Mapped[str | None] = mapped_column(String(8))
    work_ability: Mapped[str | None] = mapped_column(String(16))
    occupation: Mapped[str | None] = mapped_column(String(64))
    co_resident: Mapped[bool] = mapped_column(Boolean, default=True)
    died_on: Mapped[date | None] = mapped_column(Date)

    household: Mapped[Household] = relationship(back_populates="members")


class Supporter(db.Model):
    """A legally obligated supporter (赡养/抚养/扶养义务人) living outside the household."""

    __tablename__ = "supporter"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_uuid)
    household_id: Mapped[int] = mapped_column(ForeignKey("household.id"), index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    name: Mapped[str] = mapped_column(String(64))
    id_number: Mapped[str | None] = mapped_column(String(18))
    relation: Mapped[str] = mapped_column(String(16))
    household_size: Mapped[int | None]
    monthly_income: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))


class Asset(db.Model):
    """A piece of property: housing, vehicle, deposit, securities, business, machinery ..."""

    __tablename__ = "asset"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_uuid)
    household_id: Mapped[int] = mapped_column(ForeignKey("household.id"), index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    category: Mapped[str] = mapped_column(String(16))
    description: Mapped[str] = mapped_column(String(255), default="")
    quantity: Mapped[float | None]
    value: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))


class IncomeItem(db.Model):
    """One income line of the household, optionally of one member, in yuan per period."""

    __tablename__ = "income_item"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_uuid)
    household_id: Mapped[int] = mapped_column(ForeignKey("household.id"), index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    member_id: Mapped[str | None] = mapped_column(String(36))
    category: Mapped[str] = mapped_column(String(32))
    amount: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    period: Mapped[str] = mapped_column(String(8), default="month")
    note: Mapped[str | None] = mapped_column(String(255))


class HouseholdVersion(db.Model):
    """One append-only version of a household: full record snapshot plus what changed."""

    __tablename__ = "household_version"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Found through uq_household_version (household_id, version), led by it.
    household_id: Mapped[int] = mapped_column(ForeignKey("household.id"))
    version: Mapped[int] = mapped_column(Integer)
    # The whole record at this version: the base of later three-way merges.
    snapshot: Mapped[dict] = mapped_column(JSON)
    changes: Mapped[list] = mapped_column(JSON, default=list)
    cause: Mapped[str] = mapped_column(String(24))
    source_ref: Mapped[str | None] = mapped_column(String(64), index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    village_id: Mapped[int] = mapped_column(Integer, index=True)
    # Filled only by a move; indexed where filled (__table_args__).
    prev_village_id: Mapped[int | None] = mapped_column(Integer)
    change_seq: Mapped[int] = mapped_column(Integer, index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    note: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        db.UniqueConstraint("household_id", "version", name="uq_household_version"),
        filled_index("ix_household_version_prev_village_id", "prev_village_id"),
    )
