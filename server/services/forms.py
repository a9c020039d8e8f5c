"""Survey form definitions from FORMS_DIR: loading, checking, serving, and assessing answers.

Layout: ``<FORMS_DIR>/<form_id>/<version>.yaml`` (every version stays, so late submissions
of an old version still validate) and ``<FORMS_DIR>/<form_id>/versions.lock``, one line per
published version: ``<version> sha256:<hash of the definition's canonical JSON>``. A file
whose content no longer matches its locked hash was changed without a version bump: it is
refused (by `ruhu forms check` and at run time), because phones holding the old content
under the same version would validate and show different questions.
"""

import functools
import logging
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

import yaml
from flask import current_app
from sqlalchemy import bindparam, literal_column, null, select, union_all

from .. import county_clock
from ..domain import forms as form_rules
from ..domain.assessment import AssessmentContext, member_id_numbers, photo_hashes
from ..domain.assessment import assess as assess_submission
from ..models import Household, Member
from ..models.submission import Submission, SubmissionMedia
from . import policies
from .errors import Invalid
from .plain_sql import Plain
from .watched_files import kept

log = logging.getLogger(__name__)
LOCK_FILE = "versions.lock"
# Folders of FORMS_DIR that hold other data, not forms.
NOT_FORMS = frozenset({"policies", "vectors"})


@dataclass
class Catalogue:
    """Every valid form version found, the problems found, and versions not yet locked."""

    forms: dict[str, dict[str, dict]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    unlocked: list[tuple[Path, str, str]] = field(default_factory=list)  # (lock, version, hash)


def read_lock(path: Path) -> dict[str, str]:
    """Read a versions.lock file into {version: hash} (missing file: empty)."""
    if not path.exists():
        return {}
    locked = {}
    for line in path.read_text("utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            version, _, digest = line.partition(" ")
            locked[version] = digest.strip()
    return locked


def write_lock(path: Path, locked: dict[str, str]) -> None:
    """Write a versions.lock file, versions in order."""
    lines = ["# Published versions and the hash of their content: never edit a locked version,",
             "# add a new one. Updated by `ruhu forms check --lock`."]
    lines += [f"{v} {locked[v]}" for v in sorted(locked, key=form_rules.version_key)]
    path.write_text("\n".join(lines) + "\n", "utf-8")


def _shown(path: Path, root: Path) -> str:
    """Return a path as editors know it: relative to the folder holding FORMS_DIR."""
    try:
        return str(path.relative_to(root.parent))
    except ValueError:
        return str(path)


def load_yaml(path: Path, root: Path) -> tuple[object, str | None]:
    """Parse a YAML file; return (data, None) or (None, a located error)."""
    try:
        return yaml.safe_load(path.read_text("utf-8")), None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}:{mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        return None, f"{_shown(path, root)}{where}: YAML: {problem}"


def scan(root: Path) -> Catalogue:
    """Load and check every form version under `root` (FORMS_DIR)."""
    catalogue = Catalogue()
    if not root.is_dir():
        catalogue.errors.append(f"{root}: forms folder not found")
        return catalogue
    for folder in sorted(p for p in root.iterdir() if p.is_dir() and p.name not in NOT_FORMS):
        files = sorted(folder.glob("*.yaml"))
        lock_path = folder / LOCK_FILE
        if not files and not lock_path.exists():
            continue
        locked = read_lock(lock_path)
        seen = set()
        for path in files:
            _load_version(path, folder, root, locked, lock_path, catalogue)
            seen.add(path.stem)
        for version in sorted(set(locked) - seen, key=form_rules.version_key):
            catalogue.errors.append(
                f"{_shown(lock_path, root)}: version {version} is published but its file is "
                "gone; old versions must stay so late submissions still validate")
    return catalogue


def _load_version(path: Path, folder: Path, root: Path, locked: dict, lock_path: Path,
                  catalogue: Catalogue) -> None:
    """Load one version file into the catalogue, noting its problems."""
    shown = _shown(path, root)
    definition, problem = load_yaml(path, root)
    if problem:
        catalogue.errors.append(problem)
        return
    problems = form_rules.validate_definition(definition, shown)
    if not problems:
        if definition["id"] != folder.name:
            problems.append(f'{shown}: id: "{definition["id"]}" must match its folder '
                            f'"{folder.name}"')
        if definition["version"] != path.stem:
            problems.append(f'{shown}: version: "{definition["version"]}" must match the file '
                            f'name "{path.stem}"')
    if problems:
        catalogue.errors.extend(problems)
        return
    digest = form_rules.content_hash(definition)
    version = definition["version"]
    if version in locked and locked[version] != digest:
        catalogue.errors.append(
            f"{shown}: content changed without a version bump: version {version} was "
            f"published with different content; copy the file to a new version and change "
            f"that one")
        return
    if version not in locked:
        catalogue.unlocked.append((lock_path, version, digest))
    catalogue.forms.setdefault(definition["id"], {})[version] = definition


def check(root: Path, *, lock: bool = False) -> tuple[Catalogue, list[str]]:
    """Check every form and policy for `ruhu forms check`; with lock, publish new versions.

    Returns the catalogue and every problem (an unpublished version is one, unless locked
    now). Policies must load and name only yes/no questions of the newest survey.
    """
    catalogue = scan(root)
    problems = list(catalogue.errors)
    for lock_path, version, digest in catalogue.unlocked:
        if lock:
            locked = read_lock(lock_path)
            locked[version] = digest
            write_lock(lock_path, locked)
        else:
            problems.append(f"{_shown(lock_path.parent / (version + '.yaml'), root)}: version "
                            f"{version} is not in {LOCK_FILE}: run `ruhu forms check --lock` "
                            "to publish it")
    loaded, policy_problems = policies.scan(root / "policies")
    problems += policy_problems
    problems += _policy_questions(loaded, catalogue, root)
    return catalogue, problems


def _policy_questions(loaded: list, catalogue: Catalogue, root: Path) -> list[str]:
    """Check that policies name yes/no (or select) questions the newest forms have."""
    newest = [versions[max(versions, key=form_rules.version_key)]
              for versions in catalogue.forms.values()]
    kinds: dict[str, str] = {}
    for form in newest:
        for place in form_rules.walk(form):
            kinds[place.question.get("name")] = place.question.get("type")
    problems = []
    for policy in loaded if newest else []:
        shown = _shown(root / "policies" / f"{policy.id}.yaml", root)
        for index, item in enumerate(policy.disqualifiers):
            if kinds.get(item.question) != "yes_no":
                problems.append(f"{shown}: disqualifiers[{index}].question: no yes/no question "
                                f'"{item.question}" in the newest form')
        for index, item in enumerate(policy.six_no_items):
            wanted = "select_multiple" if item.missing_choice else "yes_no"
            if kinds.get(item.question) != wanted:
                problems.append(f"{shown}: six_no.items[{index}].question: no {wanted} "
                                f'question "{item.question}" in the newest form')
    return problems


def _form_files(root: Path) -> list[Path]:
    """Return the files the catalogue is made of: form versions and their lock files."""
    return [p for p in root.glob("*/*") if p.suffix == ".yaml" or p.name == LOCK_FILE]


def _load_catalogue(root: Path) -> Catalogue:
    """Scan the forms folder, logging the forms that cannot be served."""
    found = scan(root)
    for problem in found.errors:
        log.error("form not served: %s", problem)
    return found


def catalogue() -> Catalogue:
    """Return the forms of this app's FORMS_DIR, reloaded when a file there changes
    (looked at at most once a second, see watched_files)."""
    root = Path(current_app.config["FORMS_DIR"])
    return kept("ruhu_forms", root, _form_files, _load_catalogue)


def _newest(versions: dict[str, dict]) -> dict:
    """Return the newest version of a form."""
    return versions[max(versions, key=form_rules.version_key)]


def list_forms() -> list[dict]:
    """Summaries of the published forms: id, newest version, title, and all versions."""
    return [
        {"id": form_id, "version": _newest(versions)["version"],
         "title": _newest(versions)["title"],
         "versions": sorted(versions, key=form_rules.version_key)}
        for form_id, versions in sorted(catalogue().forms.items())
    ]


def find_form(form_id: str, version: str | None = None) -> dict | None:
    """Return a form definition (newest version by default), or None.

    The definition is the catalogue's own, shared by every request (a deep copy per call
    cost 2.6 ms for the survey): treat it as read-only. Callers that need to change it
    must copy it themselves.
    """
    versions = catalogue().forms.get(form_id)
    if not versions:
        return None
    return _newest(versions) if version is None else versions.get(version)


def get_form(form_id: str, version: str | None = None) -> dict:
    """Return a form definition; an unknown form or version is Invalid (form.unknown)."""
    definition = find_form(form_id, version)
    if definition is None:
        raise Invalid("未知问卷或版本 / unknown form or version", code="form.unknown",
                      errors={"form_version" if version else "form_id":
                              [f"{form_id} {version or ''}".strip()]})
    return definition


def validate_answers(form: dict, answers: dict, now: datetime | None = None) -> None:
    """Raise Invalid (answers.invalid) with field-level errors when answers do not fit
    (a visit dated after today, at `now`, among them)."""
    latest = form_rules.latest_visit_date(now or datetime.now(UTC))
    errors = form_rules.validate_answers(form, answers, latest)
    if errors:
        raise Invalid("答案不符合问卷 / answers do not fit the form", code="answers.invalid",
                      errors={f"answers.{path}": messages for path, messages in errors.items()})


def _iso(moment: datetime | None) -> str | None:
    """Return a stored time as ISO 8601 (stored times without zone are UTC)."""
    if moment is None:
        return None
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).isoformat()


def visit_date(answers: dict, submission: Submission | None) -> date:
    """Return the day of the visit: the answer, else the county's day the
    survey was completed on, else the county's today."""
    answered = answers.get("visit_date")
    if isinstance(answered, str):
        try:
            return date.fromisoformat(answered)
        except ValueError:
            pass
    if submission is not None and submission.completed_at is not None:
        return county_clock.day_of(submission.completed_at)
    return county_clock.today()


# Built once: every survey's assessment runs them. A photo listed again by each link of a
# chain of edits, or by every re-visit, is one row per household, not one per submission.
_PHOTOS_ELSEWHERE = (
    select(SubmissionMedia.sha256, Household.code)
    .join(Submission, SubmissionMedia.submission_id == Submission.id)
    .join(Household, Submission.household_id == Household.id)
    .where(SubmissionMedia.sha256.in_(bindparam("hashes", expanding=True)),
           Household.id != bindparam("own"))
    .distinct()
)
_REGISTERED_ELSEWHERE = (
    select(Member.id_number, Household.code)
    .join(Household, Member.household_id == Household.id)
    .where(Member.id_number.in_(bindparam("numbers", expanding=True)),
           Household.id != bindparam("own"),
           Member.died_on.is_(None), Member.co_resident.is_(True))
)


@functools.cache
def _facts_elsewhere(photos: bool, numbers: bool) -> Plain:
    """The one statement that gathers a survey's outside facts, each row tagged by its kind:
    photos used by another household (_PHOTOS_ELSEWHERE), ID numbers registered in another
    household (_REGISTERED_ELSEWHERE) and ID numbers an imported death list names
    (crosscheck.ON_DEATH_LISTS), each as scoped as on its own. Only the parts that have
    values are in it: one round trip instead of three."""
    from .crosscheck import ON_DEATH_LISTS  # crosscheck reaches this module through ledger

    parts = []
    if photos:
        parts.append(_PHOTOS_ELSEWHERE.add_columns(literal_column("'photo'").label("kind")))
    if numbers:
        parts.append(_REGISTERED_ELSEWHERE.add_columns(
            literal_column("'registered'").label("kind")))
        parts.append(ON_DEATH_LISTS.add_columns(null().label("code"),
                                                literal_column("'deceased'").label("kind")))
    return Plain(union_all(*parts))


@dataclass(frozen=True)
class HouseholdFacts:
    """What an assessment needs of the household: which one it is (to tell "another
    household"), where it is (a visit's location), and its village's code (the policy)."""

    id: int
    lat: float | None
    lon: float | None
    village_code: str

    @classmethod
    def of(cls, household: Household | None) -> "HouseholdFacts | None":
        """Take the facts from a household row (None for no household)."""
        if household is None:
            return None
        village = household.village
        return cls(household.id, household.lat, household.lon,
                   village.code if village is not None else "")


def context_for(form: dict, answers: dict, household: HouseholdFacts | None,
                submission: Submission | None = None) -> AssessmentContext:
    """Gather the outside facts the checks need from the database."""
    photos = photo_hashes(form, answers)
    numbers = member_id_numbers(form, answers)
    # Ids are positive: without a household yet, "another household" is any household.
    own = household.id if household is not None else -1
    hashes = [p for p in photos if p]
    numbers = sorted({n.strip().upper() for n in numbers if isinstance(n, str) and n.strip()})
    found: dict[str, list] = {"photo": [], "registered": [], "deceased": []}
    if hashes or numbers:
        statement = _facts_elsewhere(bool(hashes), bool(numbers))
        params = {"own": own, "hashes": hashes, "numbers": numbers}
        for value, code, kind in statement.execute(params):
            found[kind].append((value, code))
    location = None
    if household is not None and household.lat is not None and household.lon is not None:
        location = (household.lat, household.lon)
    return AssessmentContext(
        visit_date=visit_date(answers, submission),
        investigator_ids=list(submission.investigator_ids or []) if submission else None,
        visit_start=_iso(submission.started_at) if submission else None,
        visit_end=_iso(submission.completed_at) if submission else None,
        household_location=location,
        photo_hashes_elsewhere=dict(found["photo"]),
        id_numbers_elsewhere=dict(found["registered"]),
        deceased_id_numbers={value for value, _ in found["deceased"]},
    )


def assess(form: dict, answers: dict, record: dict, household: HouseholdFacts | None,
           submission: Submission | None = None, changes: dict | None = None) -> dict:
    """Assess a submission against the policy of the household's village on the visit day
    (`changes`: the answers' bound changes when the caller has them, else worked out)."""
    context = context_for(form, answers, household, submission)
    region = household.village_code if household is not None else ""
    policy = policies.policy_for(region, context.visit_date)
    return assess_submission(form, answers, record, policy, context, changes)
