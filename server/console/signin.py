"""Signing in and out of the console, and switching its language."""

from flask import g, redirect, render_template, request, session, url_for

from ..services import console_auth
from ..services.errors import Forbidden, TooManyRequests, Unauthorized
from . import bp
from .access import client_ip, end_session, safe_next, start_session
from .i18n import LANGUAGES


@bp.route("/login", methods=["GET", "POST"])
def login():
    """Show the sign-in form; on POST check the password, the rate limit and the role."""
    next_url = safe_next(request.values.get("next"), url_for("console.index"))
    if g.user is not None:
        return redirect(next_url)
    if request.method == "GET":
        return render_template("console/login.html", next_url=next_url)
    username = request.form.get("username", "").strip()[:64]
    password = request.form.get("password", "")
    try:
        user = console_auth.sign_in(username, password, ip=client_ip())
    except Forbidden:
        return render_template("console/refused.html"), 403
    except TooManyRequests as error:
        page = render_template(
            "console/login.html", next_url=next_url, username=username, error="login.too_many",
            error_params={"minutes": error.errors.get("retry_after_minutes", 1)},
        )
        return page, 429, error.headers
    except Unauthorized:
        page = render_template(
            "console/login.html", next_url=next_url, username=username, error="login.wrong"
        )
        return page, 401
    start_session(user)
    return redirect(next_url)


@bp.post("/logout")
def logout():
    """End the console session."""
    if g.user is not None:
        console_auth.sign_out(g.user, ip=client_ip())
    end_session()
    return redirect(url_for("console.login"))


@bp.post("/language")
def set_language():
    """Switch the console between Chinese and English, then go back where the user was."""
    lang = request.form.get("lang")
    if lang in LANGUAGES:
        session["lang"] = lang
    return redirect(safe_next(request.form.get("next"), url_for("console.index")))
