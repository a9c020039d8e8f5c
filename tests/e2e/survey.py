"""Filling the household survey through the app's screens, as an investigator would."""

from pathlib import Path

from PIL import Image, ImageDraw

VISIT_DATE = "2026-11-20"


def make_photos(folder: Path, count: int, size=(3000, 2000)) -> list[Path]:
    """Write `count` different camera-sized JPEGs (the app must shrink them)."""
    paths = []
    for index in range(count):
        image = Image.new("RGB", size, (40 + 50 * index % 200, 120, 90))
        draw = ImageDraw.Draw(image)
        for step in range(0, size[0], 97):
            draw.line(
                [(step, 0), (size[0] - step, size[1])], fill=(255, 255 - index * 20, 40), width=9
            )
        draw.ellipse([500 + index * 40, 400, 1500, 1400], outline=(10, 10, 200), width=30)
        path = folder / f"photo-{index}.jpg"
        image.save(path, quality=95)
        paths.append(path)
    return paths


class SurveyFiller:
    """Fills every shown question of the current survey with plausible answers.

    `answers` overrides text-like answers by question name (e.g. {"address": "..."}).
    Photos come from `photos` (set on the gallery input); signatures are drawn with the mouse.
    """

    def __init__(self, page, photos: list[Path], answers: dict | None = None):
        self.page = page
        self.photos = list(photos)
        self.answers = answers or {}
        self.photo_index = 0

    def next_photos(self, count: int) -> list[str]:
        """Return the next `count` photo files (cycling)."""
        chosen = []
        for _ in range(count):
            chosen.append(str(self.photos[self.photo_index % len(self.photos)]))
            self.photo_index += 1
        return chosen

    def choose_teammate(self) -> None:
        """Pick the second investigator on the review tab."""
        self.page.click("nav.sections button[data-section=review]")
        self.page.wait_for_selector("#teammate")
        self.page.select_option("#teammate", index=1)

    def fill_all(self) -> None:
        """Visit each section in turn and answer everything shown."""
        names = self.page.eval_on_selector_all(
            "nav.sections button[data-section]", "bs => bs.map(b => b.dataset.section)"
        )
        for name in names:
            if name == "review":
                continue
            self.page.click(f"nav.sections button[data-section={name}]")
            self.page.wait_for_selector("#section h2")
            for _ in range(4):
                if not self.fill_section():
                    break

    def fill_section(self) -> bool:
        """Answer the empty shown fields of this section; return whether anything changed."""
        changed = False
        for repeat in self.page.locator("#section .repeat:visible").all():
            if repeat.locator(".repeat-item").count() == 0 and self.repeat_required(repeat):
                repeat.locator("button.block").click()
                changed = True
        fields = self.page.locator("#section .field[data-type]")
        for index in range(fields.count()):
            field = fields.nth(index)
            if field.is_visible() and self.fill_field(field):
                changed = True
        return changed

    def repeat_required(self, repeat) -> bool:
        """Tell whether a repeat must have an item (the form marks it required)."""
        return repeat.get_attribute("data-name") in ("members", "neighbours")

    def fill_field(self, field) -> bool:
        """Answer one field if it is empty; return whether it was."""
        kind = field.get_attribute("data-type")
        name = field.get_attribute("data-name")
        if kind in ("text", "integer", "decimal", "money"):
            box = field.locator("input").first
            if name in self.answers:
                if box.input_value() != str(self.answers[name]):
                    box.fill(str(self.answers[name]))
                    return True
                return False
            if box.input_value():
                return False
            value = {"text": "已核实", "integer": "2", "decimal": "60", "money": "300"}[kind]
            if name == "big_purchase_amount":
                value = "2000"
            box.fill(value)
            return True
        if kind == "date":
            box = field.locator("input")
            if name == "visit_date":
                # A new survey starts on today's date; these surveys are dated VISIT_DATE.
                if box.input_value() == VISIT_DATE:
                    return False
                box.fill(VISIT_DATE)
                return True
            if box.input_value() or name == "died_on":
                return False
            box.fill("1980-05-01")
            return True
        if kind in ("select_one", "yes_no", "select_multiple"):
            return self.choose(field, kind, name)
        if kind == "geopoint":
            if field.locator(".small").inner_text().strip():
                return False
            field.locator("button").click()
            field.locator(".small").filter(has_text=",").wait_for()
            return True
        if kind == "photo":
            return self.add_photos(field, name)
        if kind == "signature":
            return self.sign(field, name)
        return False

    def choose(self, field, kind, name) -> bool:
        """Pick a choice when none is picked ("no" for yes/no, the first choice otherwise)."""
        select = field.locator("select")
        if select.count():
            if select.input_value():
                return False
            select.select_option(index=1)
            return True
        if field.locator("input:checked").count():
            return False
        labels = field.locator("label.choice")
        if name in self.answers:
            labels.filter(has_text=str(self.answers[name])).first.click()
        elif kind == "yes_no":
            labels.nth(1).click()
        else:
            labels.first.click()
        return True

    def add_photos(self, field, name) -> bool:
        """Add as many photos as the question's minimum (when it is required)."""
        if name == "photo_thumbprint":
            return False
        have = field.locator(".thumb").count()
        need = {"photo_housing_interior": 2}.get(name, 1)
        if have >= need:
            return False
        field.locator("input[data-role=gallery]").set_input_files(self.next_photos(need - have))
        field.locator(".thumb img").nth(need - 1).wait_for(timeout=20000)
        return True

    def sign(self, field, name) -> bool:
        """Draw a signature with the finger (mouse) and accept it."""
        if field.locator(".sig-img").count() or name == "sig_investigator_3":
            return False
        canvas = field.locator("canvas.sigpad")
        canvas.scroll_into_view_if_needed()
        box = canvas.bounding_box()
        mouse = self.page.mouse
        # Each signer's stroke differs (identical pictures would be one file).
        swing = 10 + 7 * (sum(map(ord, name)) % 9)
        mouse.move(box["x"] + 20, box["y"] + box["height"] / 2)
        mouse.down()
        for step in range(1, 12):
            mouse.move(
                box["x"] + 20 + step * 25, box["y"] + box["height"] / 2 + (-1) ** step * swing
            )
        mouse.up()
        signer = field.locator("input")
        if not signer.input_value():
            # Without the signer's name the signature is not taken (the server refuses it).
            field.locator("button.primary").click()
            self.page.wait_for_selector(".toast:has-text('请填写签名人姓名')")
            assert field.locator(".sig-img").count() == 0
            signer.fill({"sig_household": "刘国庆"}.get(name, "调查员" + name[-1]))
        field.locator("button.primary").click()
        field.locator(".sig-img").wait_for()
        return True


def fill_and_finish(page, photos: list[Path], answers: dict | None = None) -> str:
    """Fill the open survey completely, finish it and return its instance id."""
    filler = SurveyFiller(page, photos, answers)
    filler.choose_teammate()
    filler.fill_all()
    page.click("nav.sections button[data-section=review]")
    page.wait_for_selector("#finish")
    errors = page.locator("#errors li").all_inner_texts()
    assert not errors, errors
    instance_id = page.evaluate("location.hash.split('/').pop()")
    page.click("#finish")
    page.wait_for_url("**/#/sync")
    return instance_id


def make_it_refused(page, instance_id: str) -> None:
    """Give a queued survey an answer the server refuses (an answer to a question the form
    does not have, as a phone on an old build could send)."""
    page.evaluate(
        """async (id) => {
            const db = await import("/js/db.js");
            const item = await db.get("outbox", id);
            item.payload.answers.no_such_question = 1;
            await db.put("outbox", item);
        }""",
        instance_id,
    )
