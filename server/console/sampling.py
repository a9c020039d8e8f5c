"""Sampling draws: draw (seeded, recorded) and look at the draws in force."""

from flask import flash, g, redirect, render_template, request, url_for

from ..services import sampling
from ..services.errors import ServiceError
from ..services.region_tree import scope_tree
from . import bp
from .access import client_ip
from .i18n import translate
from .nav import NavItem, register

register(NavItem("console.sampling_page", "nav.sampling", also=("console.sampling_run",)))


@bp.get("/sampling")
def sampling_page():
    """Show the draw form with each township's policy share, and the recent draws (the
    draws only, for a user who may not draw: a village's supervisor)."""
    drawing = sampling.may_draw(g.user)
    plans = sampling.plan(g.user, g.user.region.code) if drawing else []
    return render_template(
        "console/sampling.html",
        drawing=drawing,
        plans=plans,
        # Each draw as the user may see it: its villages and households in their villages.
        runs=[(seen, sampling.verify(seen.run)) for seen in sampling.runs(g.user)],
        tree=scope_tree(g.user),
        floor=max((p.policy_share for p in plans), default=1.0),
    )


@bp.post("/sampling")
def draw_sample():
    """Draw a sample and record it."""
    form = request.form
    try:
        share = float(form["share"]) / 100 if form.get("share") else None
    except ValueError:
        share = -1.0
    try:
        run = sampling.draw(
            g.user,
            form.get("region") or g.user.region.code,
            seed=form.get("seed") or None,
            share=share,
            reported=form.get("reported", "").replace("，", ",").replace(",", " ").split(),
            note=form.get("note", ""),
            ip=client_ip(),
        )
    except ServiceError as error:
        flash(error.message, "error")
        return redirect(url_for("console.sampling_page"))
    flash(translate("sampling.drawn", seed=run.seed), "success")
    return redirect(url_for("console.sampling_run", run_id=run.id))


@bp.get("/sampling/<int:run_id>")
def sampling_run(run_id: int):
    """Show one draw: its seed, each township's candidates and drawn villages, the
    households always visited, and whether the seed reproduces it; of the townships,
    villages and households, those in the user's scope only (sampling.RunInScope)."""
    seen = sampling.get_run(g.user, run_id)
    tree = scope_tree(g.user)
    names = {v.code: v.name for node in tree for v in node.villages}
    names.update({node.region.code: node.region.name for node in tree})
    return render_template(
        "console/sampling_run.html", run=seen.run, parts=seen.townships, names=names,
        drawn_villages=seen.villages, households=seen.households,
        verified=sampling.verify(seen.run), redrawn=sampling.redraw(seen.run),
    )
