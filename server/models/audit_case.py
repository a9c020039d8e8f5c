"""The audit (清查) aggregates: cross-check lists and their flags, the rectification ledger,
payment rolls and review assignments.

The table `audit_entry` is the access log (models/audit.py); everything here is named after
what it holds: crosscheck_*, ledger_*, payment_roll_*, review_assignment.
"""

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import JSON, Date, DateTime, ForeignKey, Integer, Numeric, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .clock import utcnow

# ---- cross-check lists (信息比对) ------------------------------------------------------------


class CrosscheckList(db.Model):
    """One imported list from another department (deaths, payroll, vehicles ...)."""

    __tablename__ = "crosscheck_list"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(24), index=True)
    source: Mapped[str] = mapped_column(String(100), default="")
    as_of: Mapped[date | None] = mapped_column(Date)
    filename: Mapped[str] = mapped_column(String(255), default="")
    file_sha256: Mapped[str] = mapped_column(String(64))
    imported_by: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    imported_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    row_count: Mapped[int] = mapped_column(Integer, default=0)
    matched_rows: Mapped[int] = mapped_column(Integer, default=0)
    new_flags: Mapped[int] = mapped_column(Integer, default=0)
    # Where the raw upload was kept (RUHU_AUDIT_KEEP_UPLOADS); None: it was not kept.
    kept_path: Mapped[str | None] = mapped_column(String(255))


class CrosscheckRow(db.Model):
    """A row of a list that matched someone: the evidence behind a flag.

    Rows that match nobody are not stored: a county's whole death register or payroll is
    not 低保 data (个人信息保护法: collect only what the purpose needs).
    """

    __tablename__ = "crosscheck_row"

    id: Mapped[int] = mapped_column(primary_key=True)
    list_id: Mapped[int] = mapped_column(ForeignKey("crosscheck_list.id"), index=True)
    row_number: Mapped[int] = mapped_column(Integer)
    id_number: Mapped[str] = mapped_column(String(18))
    name: Mapped[str] = mapped_column(String(64))
    birth_date: Mapped[date] = mapped_column(Date)
    detail: Mapped[dict] = mapped_column(JSON, default=dict)


class CrosscheckFlag(db.Model):
    """A person of a household named by a kind of list: one flag, however often re-imported."""

    __tablename__ = "crosscheck_flag"

    id: Mapped[int] = mapped_column(primary_key=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("household.id"), index=True)
    person_kind: Mapped[str] = mapped_column(String(12))  # member | supporter
    person_id: Mapped[str] = mapped_column(String(36))
    list_kind: Mapped[str] = mapped_column(String(24))
    category: Mapped[str] = mapped_column(String(32))
    # The strongest match so far: a weak flag becomes strong when a later list says so.
    strength: Mapped[str] = mapped_column(String(8))
    ledger_entry_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_entry.id"))
    first_list_id: Mapped[int] = mapped_column(ForeignKey("crosscheck_list.id"))
    last_list_id: Mapped[int] = mapped_column(ForeignKey("crosscheck_list.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)

    matches: Mapped[list["CrosscheckMatch"]] = relationship(
        cascade="all, delete-orphan", order_by="CrosscheckMatch.id"
    )
    ledger_entry: Mapped["LedgerEntry | None"] = relationship()

    # The key that keeps re-imports from duplicating flags.
    __table_args__ = (
        db.UniqueConstraint(
            "household_id", "person_id", "list_kind", name="uq_crosscheck_flag_person"
        ),
    )


class CrosscheckMatch(db.Model):
    """One list row behind a flag, and how strongly it matched."""

    __tablename__ = "crosscheck_match"

    id: Mapped[int] = mapped_column(primary_key=True)
    flag_id: Mapped[int] = mapped_column(ForeignKey("crosscheck_flag.id"), index=True)
    row_id: Mapped[int] = mapped_column(ForeignKey("crosscheck_row.id"))
    strength: Mapped[str] = mapped_column(String(8))

    row: Mapped[CrosscheckRow] = relationship()


# ---- rectification ledger (整改台账) ---------------------------------------------------------


class LedgerEntry(db.Model):
    """One problem found, and where its rectification stands (domain/audit_ledger.py)."""

    __tablename__ = "ledger_entry"

    id: Mapped[int] = mapped_column(primary_key=True)
    # None only for money paid to a household the record does not know (a roll mismatch).
    household_id: Mapped[int | None] = mapped_column(ForeignKey("household.id"), index=True)
    member_id: Mapped[str | None] = mapped_column(String(36))
    # The responsible township (责任乡镇): scope for township supervisors.
    township_id: Mapped[int] = mapped_column(ForeignKey("region.id"), index=True)
    category: Mapped[str] = mapped_column(String(32), index=True)
    source: Mapped[str] = mapped_column(String(16))
    # What found it: "flag:<id>", "mismatch:<id>", "check:<instance_id>:<check id>"; one
    # entry per finding (unique with source), None for entries made by hand.
    source_ref: Mapped[str | None] = mapped_column(String(120))
    description: Mapped[str] = mapped_column(Text, default="")
    actions: Mapped[list] = mapped_column(JSON, default=list)
    found_on: Mapped[date] = mapped_column(Date)
    found_by: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    due_on: Mapped[date] = mapped_column(Date, index=True)
    state: Mapped[str] = mapped_column(String(12), default="open", index=True)
    resolution: Mapped[str | None] = mapped_column(String(12))
    amount_to_recover: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(DateTime)

    household = relationship("Household")
    township = relationship("Region")
    transitions: Mapped[list["LedgerTransition"]] = relationship(
        order_by="LedgerTransition.id", viewonly=True
    )

    __table_args__ = (db.UniqueConstraint("source", "source_ref", name="uq_ledger_entry_source"),)


class LedgerTransition(db.Model):
    """One state change of an entry (append-only): who, when, why, on what evidence."""

    __tablename__ = "ledger_transition"

    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("ledger_entry.id"), index=True)
    # None for the entry's creation.
    from_state: Mapped[str | None] = mapped_column(String(12))
    to_state: Mapped[str] = mapped_column(String(12))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    comment: Mapped[str] = mapped_column(Text, default="")
    evidence: Mapped[list] = mapped_column(JSON, default=list)

    actor = relationship("User")


# ---- payment rolls (发放花名册) --------------------------------------------------------------


class PaymentRoll(db.Model):
    """One township's payment roll for one month, as imported, with its reconciliation."""

    __tablename__ = "payment_roll"

    id: Mapped[int] = mapped_column(primary_key=True)
    township_id: Mapped[int] = mapped_column(ForeignKey("region.id"), index=True)
    period: Mapped[str] = mapped_column(String(7))  # YYYY-MM
    filename: Mapped[str] = mapped_column(String(255), default="")
    file_sha256: Mapped[str] = mapped_column(String(64))
    imported_by: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    imported_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    row_count: Mapped[int] = mapped_column(Integer, default=0)
    total_amount: Mapped[Decimal] = mapped_column(Numeric(14, 2), default=0)
    mismatch_count: Mapped[int] = mapped_column(Integer, default=0)
    kept_path: Mapped[str | None] = mapped_column(String(255))
    # A wrong roll is corrected, never deleted (docs/architecture.md, "Payment rolls"):
    # "current" until withdrawn alone ("withdrawn") or by a roll replacing it ("superseded");
    # one current roll per township and month.
    state: Mapped[str] = mapped_column(String(12), default="current", server_default="current")
    # The roll this one replaced (at most one roll replaces a roll).
    replaces_id: Mapped[int | None] = mapped_column(
        ForeignKey("payment_roll.id"), unique=True, index=True
    )
    withdrawn_at: Mapped[datetime | None] = mapped_column(DateTime)
    withdrawn_by: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    withdrawn_reason: Mapped[str | None] = mapped_column(Text)

    township = relationship("Region")
    mismatches: Mapped[list["PaymentRollMismatch"]] = relationship(
        cascade="all, delete-orphan", order_by="PaymentRollMismatch.id"
    )
    replaces: Mapped["PaymentRoll | None"] = relationship(
        remote_side=[id], foreign_keys=[replaces_id], back_populates="replaced_by"
    )
    replaced_by: Mapped["PaymentRoll | None"] = relationship(
        foreign_keys=[replaces_id], back_populates="replaces", uselist=False
    )
    importer = relationship("User", foreign_keys=[imported_by])
    withdrawer = relationship("User", foreign_keys=[withdrawn_by])


class PaymentRollRow(db.Model):
    """One household row of a roll: who is paid, for how many persons, how much."""

    __tablename__ = "payment_roll_row"

    id: Mapped[int] = mapped_column(primary_key=True)
    roll_id: Mapped[int] = mapped_column(ForeignKey("payment_roll.id"), index=True)
    row_number: Mapped[int] = mapped_column(Integer)
    household_code: Mapped[str] = mapped_column(String(32))
    household_id: Mapped[int | None] = mapped_column(ForeignKey("household.id"))
    name: Mapped[str] = mapped_column(String(64), default="")
    id_number: Mapped[str | None] = mapped_column(String(18))
    persons: Mapped[int] = mapped_column(Integer)
    amount: Mapped[Decimal] = mapped_column(Numeric(12, 2))


class PaymentRollMismatch(db.Model):
    """A difference between a roll and the record (domain/audit_roll.py)."""

    __tablename__ = "payment_roll_mismatch"

    id: Mapped[int] = mapped_column(primary_key=True)
    roll_id: Mapped[int] = mapped_column(ForeignKey("payment_roll.id"), index=True)
    row_number: Mapped[int | None] = mapped_column(Integer)
    household_id: Mapped[int | None] = mapped_column(ForeignKey("household.id"))
    household_code: Mapped[str] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(24))
    category: Mapped[str] = mapped_column(String(32))
    facts: Mapped[dict] = mapped_column(JSON, default=dict)
    ledger_entry_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_entry.id"))

    def as_found(self):
        """Return the mismatch as the reconciliation found it (domain/audit_roll.Mismatch)."""
        from ..domain.audit_roll import Mismatch

        return Mismatch(self.kind, self.household_code, self.household_id, self.row_number,
                        self.facts)


# ---- review calendar -------------------------------------------------------------------------


class ReviewAssignment(db.Model):
    """Which investigator is to carry out a household's periodic review (one per household)."""

    __tablename__ = "review_assignment"

    id: Mapped[int] = mapped_column(primary_key=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("household.id"), unique=True)
    investigator_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    assigned_by: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    assigned_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    investigator = relationship("User", foreign_keys=[investigator_id])
