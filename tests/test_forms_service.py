"""Forms and policies as served: the API, the versions lock, `ruhu forms check`, and the
assessment with facts from the database."""

import shutil
from datetime import date
from pathlib import Path

import pytest
import yaml

from server.services import forms, policies
from server.services.errors import Invalid
from server.services.household_record import to_record
from tests.conftest import TOWNSHIP_1
from tests.forms_helpers import SURVEY, answers

ROOT = Path(__file__).resolve().parent.parent
FORM_ID = "dibao_household_survey"


@pytest.fixture
def forms_copy(tmp_path) -> Path:
    """A copy of forms/ to break."""
    target = tmp_path / "forms"
    shutil.copytree(ROOT / "forms", target)
    return target


def problems_of(root: Path, lock: bool = False) -> list[str]:
    """Return what `ruhu forms check` would report for a forms folder."""
    return forms.check(root, lock=lock)[1]


# ---- API ----


def test_list_forms(api):
    """The app lists the survey with its newest version."""
    response = api.as_user("inv1").get("/api/v1/forms")
    assert response.status_code == 200
    assert {"id": FORM_ID, "version": "2026.1", "title": SURVEY["title"],
            "versions": ["2026.1"]} in response.get_json()["forms"]


def test_get_form_newest_and_by_version(api):
    """The definition is served as written; ?version= picks a version."""
    user = api.as_user("inv1")
    assert user.get(f"/api/v1/forms/{FORM_ID}").get_json() == SURVEY
    assert user.get(f"/api/v1/forms/{FORM_ID}?version=2026.1").get_json()["version"] == "2026.1"


@pytest.mark.parametrize("url", [f"/api/v1/forms/{FORM_ID}?version=1999.1",
                                 "/api/v1/forms/no_such_form"])
def test_unknown_form_or_version_is_404(api, url):
    """An unknown form or version is 404 with the form.unknown code."""
    response = api.as_user("inv1").get(url)
    assert response.status_code == 404
    assert response.get_json()["code"] == "form.unknown"


@pytest.mark.parametrize("url", ["/api/v1/forms", f"/api/v1/forms/{FORM_ID}", "/api/v1/policies"])
def test_forms_and_policies_need_sign_in(client, url):
    """Without a token: 401."""
    assert client.get(url).status_code == 401


def test_list_policies(api):
    """The phone gets every policy as JSON, with the numbers of the notices."""
    body = api.as_user("inv1").get("/api/v1/policies").get_json()
    by_id = {p["id"]: p for p in body["policies"]}
    assert set(by_id) == {"keshan-2022", "xinmi-2015"}
    assert by_id["keshan-2022"]["areas"]["urban"]["standard"] == 637
    assert by_id["keshan-2022"]["effective_from"] == "2022-03-20"


def test_openapi_documents_the_routes(client):
    """The new routes document themselves in the OpenAPI document."""
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    assert {"/api/v1/forms", "/api/v1/forms/{form_id}", "/api/v1/policies"} <= set(paths)


# ---- versions lock and check ----


def test_shipped_forms_and_policies_pass_the_check():
    """forms/ as committed has no problem."""
    assert problems_of(ROOT / "forms") == []


def test_changed_content_without_version_bump_is_refused(forms_copy):
    """Editing a published version is an error naming the file."""
    path = forms_copy / FORM_ID / "2026.1.yaml"
    path.write_text(path.read_text("utf-8").replace("en: Address}", "en: Home address}"),
                    "utf-8")
    assert problems_of(forms_copy) == [
        f"forms/{FORM_ID}/2026.1.yaml: content changed without a version bump: version 2026.1 "
        "was published with different content; copy the file to a new version and change "
        "that one"]


def test_comment_only_edit_is_not_a_change(forms_copy):
    """Comments and layout are not content: the hash is of the parsed definition."""
    path = forms_copy / FORM_ID / "2026.1.yaml"
    path.write_text("# a note for editors\n" + path.read_text("utf-8"), "utf-8")
    assert problems_of(forms_copy) == []


def test_new_version_must_be_locked_and_lock_publishes_it(forms_copy):
    """A new version is reported until `--lock` publishes it; then both versions load."""
    text = (forms_copy / FORM_ID / "2026.1.yaml").read_text("utf-8")
    new = text.replace('version: "2026.1"', 'version: "2026.2"').replace(
        "en: Address}", "en: Home address}")
    (forms_copy / FORM_ID / "2026.2.yaml").write_text(new, "utf-8")
    assert problems_of(forms_copy) == [
        f"forms/{FORM_ID}/2026.2.yaml: version 2026.2 is not in versions.lock: run "
        "`ruhu forms check --lock` to publish it"]
    catalogue, problems = forms.check(forms_copy, lock=True)
    assert problems == []
    assert sorted(catalogue.forms[FORM_ID]) == ["2026.1", "2026.2"]
    assert set(forms.read_lock(forms_copy / FORM_ID / "versions.lock")) == {"2026.1", "2026.2"}
    assert problems_of(forms_copy) == []


def test_deleting_a_published_version_is_refused(forms_copy):
    """Old versions stay so late submissions still validate."""
    (forms_copy / FORM_ID / "2026.1.yaml").unlink()
    assert problems_of(forms_copy) == [
        f"forms/{FORM_ID}/versions.lock: version 2026.1 is published but its file is gone; "
        "old versions must stay so late submissions still validate"]


def test_file_name_must_match_version(forms_copy):
    """A file named 2026.3 that says 2026.2 is refused."""
    text = (forms_copy / FORM_ID / "2026.1.yaml").read_text("utf-8")
    (forms_copy / FORM_ID / "2026.3.yaml").write_text(
        text.replace('version: "2026.1"', 'version: "2026.2"'), "utf-8")
    assert f'forms/{FORM_ID}/2026.3.yaml: version: "2026.2" must match the file name "2026.3"' \
        in problems_of(forms_copy)


def test_yaml_syntax_error_is_located(forms_copy):
    """Broken YAML is reported with file, line and column."""
    (forms_copy / FORM_ID / "2026.2.yaml").write_text("id: x\nsections: [\n", "utf-8")
    (problem,) = problems_of(forms_copy)
    assert problem.startswith(f"forms/{FORM_ID}/2026.2.yaml:3:1: YAML: ")


def test_malformed_form_reported_by_file_and_path(forms_copy):
    """A definition error carries the file and the place in it."""
    path = forms_copy / FORM_ID / "2026.2.yaml"
    form = yaml.safe_load((forms_copy / FORM_ID / "2026.1.yaml").read_text("utf-8"))
    form["version"] = "2026.2"
    form["sections"][3]["children"][2]["relevant"] = {"foo": [1]}
    path.write_text(yaml.safe_dump(form, allow_unicode=True), "utf-8")
    assert problems_of(forms_copy) == [
        f'forms/{FORM_ID}/2026.2.yaml: sections[3].children[2].relevant: unknown operator "foo"']


def test_policy_naming_a_missing_question_is_refused(forms_copy):
    """A policy's disqualifier must be a yes/no question of the newest form."""
    path = forms_copy / "policies" / "xinmi-2015.yaml"
    path.write_text(path.read_text("utf-8").replace("question: dq_vice", "question: dq_vices"),
                    "utf-8")
    assert problems_of(forms_copy) == [
        'forms/policies/xinmi-2015.yaml: disqualifiers[1].question: no yes/no question '
        '"dq_vices" in the newest form']


def test_broken_policy_is_reported_by_field(forms_copy):
    """A policy error names the file and the field."""
    path = forms_copy / "policies" / "keshan-2022.yaml"
    path.write_text(path.read_text("utf-8").replace("standard: 637", "standard: -637"), "utf-8")
    assert problems_of(forms_copy) == [
        "forms/policies/keshan-2022.yaml: areas.urban.standard: must be positive"]


def test_cli_check_ok_and_failing(runner, forms_copy):
    """`ruhu forms check` exits 0 on good forms and 1 listing the problems otherwise."""
    good = runner.invoke(args=["forms", "check", "--dir", str(forms_copy)])
    assert good.exit_code == 0, good.output
    assert "forms and policies OK" in good.output
    (forms_copy / FORM_ID / "2026.1.yaml").unlink()
    bad = runner.invoke(args=["forms", "check", "--dir", str(forms_copy)])
    assert bad.exit_code == 1
    assert "published but its file is gone" in bad.output


def test_server_refuses_to_serve_a_changed_version(app, forms_copy, monkeypatch):
    """At run time a version whose content no longer matches the lock is not served, once
    the folder is looked at again (at most once per RECHECK_SECONDS, not on every survey)."""
    from server.services import watched_files

    clock = [1000.0]
    monkeypatch.setattr(watched_files, "clock", lambda: clock[0])
    app.config["FORMS_DIR"] = str(forms_copy)
    assert forms.find_form(FORM_ID) is not None
    path = forms_copy / FORM_ID / "2026.1.yaml"
    path.write_text(path.read_text("utf-8").replace("en: Address}", "en: Home address}"),
                    "utf-8")
    clock[0] += watched_files.RECHECK_SECONDS / 2
    assert forms.find_form(FORM_ID) is not None  # not looked at yet
    clock[0] += watched_files.RECHECK_SECONDS
    assert forms.find_form(FORM_ID) is None
    with pytest.raises(Invalid) as caught:
        forms.get_form(FORM_ID, "2026.1")
    assert caught.value.code == "form.unknown"


def test_another_forms_folder_is_read_at_once(app, forms_copy, monkeypatch):
    """A changed FORMS_DIR is not held back by the recheck interval."""
    from server.services import watched_files

    monkeypatch.setattr(watched_files, "clock", lambda: 1000.0)  # time stands still
    assert forms.find_form(FORM_ID) is not None  # the shipped folder, now kept
    path = forms_copy / FORM_ID / "2026.1.yaml"
    path.write_text(path.read_text("utf-8").replace("en: Address}", "en: Home address}"),
                    "utf-8")
    app.config["FORMS_DIR"] = str(forms_copy)
    assert forms.find_form(FORM_ID) is None  # the copy's changed version, read at once


# ---- answers and assessment through the services ----


def test_validate_answers_raises_invalid_with_answer_paths(app):
    """The sync service gets a 422-ready error with paths under answers."""
    given = answers()
    del given["address"]
    with pytest.raises(Invalid) as caught:
        forms.validate_answers(SURVEY, given)
    assert caught.value.code == "answers.invalid"
    assert caught.value.errors == {"answers.address": ["必填 / required"]}
    forms.validate_answers(SURVEY, answers())


def test_policy_for_a_demo_village(app, demo):
    """Demo villages (2302291...) get Keshan 2022."""
    assert policies.policy_for("230229100201", date(2026, 5, 22)).id == "keshan-2022"
    assert policies.policy_for("999999", date(2026, 5, 22)) is None


def test_assess_a_demo_household_with_database_facts(app, demo):
    """Assessing a demo household picks Keshan by village and finds a member registered in
    another household."""
    household, other = demo.households_in("230229100")[:2]
    stranger = next(m for m in other.members if m.id_number)
    given = answers()
    given["members"][2]["member_id_number"] = stranger.id_number
    given["members"][2]["birth_date"] = stranger.birth_date.isoformat()
    given["members"][2]["sex"] = stranger.sex
    given["area_type"] = household.village.area_type
    result = forms.assess(SURVEY, given, to_record(household),
                          forms.HouseholdFacts.of(household))
    assert result["policy_id"] == "keshan-2022"
    elsewhere = next(c for c in result["checks"] if c["id"] == "member_elsewhere")
    assert elsewhere["passed"] is False
    assert other.code in elsewhere["reason"]["en"]


def test_registered_elsewhere_ignores_own_household(app, demo):
    """A member of this very household is not 'registered elsewhere'."""
    household = demo.households_in("230229100")[0]
    own = next(m for m in household.members if m.id_number)
    context = forms.context_for(SURVEY, {"members": [{"id": own.id,
                                                       "member_id_number": own.id_number}]},
                                forms.HouseholdFacts.of(household))
    assert context.id_numbers_elsewhere == {}


def test_a_photo_listed_again_by_another_household_is_one_fact(app, demo):
    """A photo that another household's submissions list again and again (each link of a
    chain of edits lists it) is found once, with that household's code: the query's rows
    do not grow with the other household's submissions."""
    from datetime import datetime

    from server.extensions import db
    from server.models import SubmissionMedia
    from tests.audit_helpers import merged_survey

    household, other = demo.households_in(TOWNSHIP_1)[:2]
    reused = "ab" * 32
    for hour in (9, 10, 11):
        submission = merged_survey(other, demo.user("inv1"),
                                   completed_at=datetime(2026, 5, 22, hour))
        db.session.add(SubmissionMedia(submission_id=submission.id, sha256=reused, size=1,
                                       content_type="image/jpeg"))
    db.session.commit()
    rows = db.session.execute(forms._PHOTOS_ELSEWHERE,
                              {"hashes": [reused], "own": household.id}).all()
    assert [tuple(row) for row in rows] == [(reused, other.code)]
    given = {"photo_housing_exterior": [{"sha256": reused, "category": "housing_exterior"}]}
    seen_from = {h: forms.HouseholdFacts.of(h) for h in (household, other)}
    assert forms.context_for(SURVEY, given, seen_from[household]).photo_hashes_elsewhere == {
        reused: other.code}
    assert forms.context_for(SURVEY, given, seen_from[other]).photo_hashes_elsewhere == {}


def test_a_changed_policy_file_is_used_once_the_recheck_interval_passed(app, tmp_path,
                                                                        monkeypatch):
    """The policy folder is listed at most once per RECHECK_SECONDS (not on every survey),
    and a changed file is in force after that."""
    from server.services import policies, watched_files

    forms = tmp_path / "forms"
    shutil.copytree(Path(app.config["FORMS_DIR"]), forms)
    app.config["FORMS_DIR"] = str(forms)
    app.extensions.pop("ruhu_policies", None)
    clock = [1000.0]
    monkeypatch.setattr(watched_files, "clock", lambda: clock[0])

    def urban_standard() -> float:
        return {p.id: p for p in policies.all_policies()}["keshan-2022"].areas["urban"].standard

    assert urban_standard() == 637
    path = forms / "policies" / "keshan-2022.yaml"
    path.write_text(path.read_text("utf-8").replace("standard: 637", "standard: 700"), "utf-8")
    clock[0] += watched_files.RECHECK_SECONDS / 2
    assert urban_standard() == 637  # not looked at yet
    clock[0] += watched_files.RECHECK_SECONDS
    assert urban_standard() == 700
