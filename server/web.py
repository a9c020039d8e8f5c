"""Serving the investigator app (pwa/) and the household label URL /h/<qr_token>."""

from pathlib import Path

from flask import Flask, abort, send_from_directory


def init_app(app: Flask) -> None:
    """Register the routes that serve the PWA shell."""
    pwa_dir = Path(app.config["PWA_DIR"])

    @app.get("/")
    def app_shell():
        """Serve the app's shell page."""
        if not (pwa_dir / "index.html").exists():
            abort(404)
        return send_from_directory(pwa_dir, "index.html", max_age=0)

    @app.get("/h/<qr_token>")
    def household_label(qr_token: str):
        """Open the app at a household: the URL a door label's QR code encodes."""
        if not (pwa_dir / "index.html").exists():
            abort(404)
        return send_from_directory(pwa_dir, "index.html", max_age=0)
