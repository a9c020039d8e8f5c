"""QR codes for household door labels and device enrolment (made with `qrcode`)."""

import io

import qrcode
import qrcode.image.svg


def household_url(base_url: str, qr_token: str) -> str:
    """Return the URL a household label encodes: a plain camera scan opens the app there."""
    return f"{base_url.rstrip('/')}/h/{qr_token}"


def enrolment_url(base_url: str, code: str) -> str:
    """Return the URL an enrolment QR encodes: the app opens and enrols the phone."""
    return f"{base_url.rstrip('/')}/?enrol={code}"


def _make(data: str) -> qrcode.QRCode:
    """Return a QR code with medium error correction (labels get dirty on doors)."""
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, box_size=10, border=4)
    code.add_data(data)
    code.make(fit=True)
    return code


def png(data: str, box_size: int = 10) -> bytes:
    """Return a PNG image of a QR code for `data`."""
    code = _make(data)
    code.box_size = box_size
    buffer = io.BytesIO()
    code.make_image().save(buffer, format="PNG")
    return buffer.getvalue()


def svg(data: str) -> bytes:
    """Return an SVG image of a QR code for `data`."""
    buffer = io.BytesIO()
    _make(data).make_image(image_factory=qrcode.image.svg.SvgPathImage).save(buffer)
    return buffer.getvalue()
