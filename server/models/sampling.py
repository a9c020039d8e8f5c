"""Sampling draws (抽查): which whole villages, and which households besides, must be visited.

A draw is reproducible: its seed and the candidate villages of each township are recorded,
so anyone can draw again and get the same villages (services/sampling.py). The newest draw
covering a township is the one in force for that township.
"""

from datetime import datetime

from sqlalchemy import JSON, DateTime, Float, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .clock import utcnow

# Why a household must be visited: its village was drawn, or the policy's always_visit list.
SAMPLE_REASONS = ("sampled_village", "staff_relative", "disputed", "reported")


class SamplingRun(db.Model):
    """One recorded draw over a region (a township, or every township of a county)."""

    __tablename__ = "sampling_run"

    id: Mapped[int] = mapped_column(primary_key=True)
    region_id: Mapped[int] = mapped_column(ForeignKey("region.id"), index=True)
    policy_id: Mapped[str | None] = mapped_column(String(64))
    village_share: Mapped[float] = mapped_column(Float)
    seed: Mapped[str] = mapped_column(String(64))
    # {"townships": {code: {"candidates": [village codes], "drawn": [village codes]}},
    #  "reported": [household codes], "algorithm": "..."}: enough to redraw and compare.
    params: Mapped[dict] = mapped_column(JSON, default=dict)
    note: Mapped[str | None] = mapped_column(Text)
    drawn_by: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    drawn_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    region = relationship("Region")
    villages: Mapped[list["SampleVillage"]] = relationship(
        cascade="all, delete-orphan", order_by="SampleVillage.id"
    )
    households: Mapped[list["SampleHousehold"]] = relationship(
        cascade="all, delete-orphan", order_by="SampleHousehold.id"
    )


class SampleVillage(db.Model):
    """A whole village drawn: every household in it is to be visited."""

    __tablename__ = "sample_village"

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("sampling_run.id"))
    township_id: Mapped[int] = mapped_column(ForeignKey("region.id"))
    village_id: Mapped[int] = mapped_column(ForeignKey("region.id"), index=True)

    village = relationship("Region", foreign_keys=[village_id])

    # "The newest draw of a township" is max(run_id) per township_id: one index answers it.
    __table_args__ = (db.Index("ix_sample_village_township_run", "township_id", "run_id"),)


class SampleHousehold(db.Model):
    """A household that must be visited whatever the draw (staff relative, disputed, reported)."""

    __tablename__ = "sample_household"

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("sampling_run.id"), index=True)
    township_id: Mapped[int] = mapped_column(ForeignKey("region.id"))
    household_id: Mapped[int] = mapped_column(ForeignKey("household.id"), index=True)
    reason: Mapped[str] = mapped_column(String(20))

    household = relationship("Household")
