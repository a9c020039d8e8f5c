"""Local 低保 policies from FORMS_DIR/policies/*.yaml, and the one in force for a region."""

import json
import logging
from datetime import date
from pathlib import Path

from flask import current_app

from ..domain.policy import Policy, PolicyError
from ..domain.policy import policy_for as choose_policy
from .watched_files import kept

log = logging.getLogger(__name__)


def _json_native(data: object) -> object:
    """Return YAML data as JSON-native values (an unquoted date becomes its ISO string)."""
    return json.loads(json.dumps(data, ensure_ascii=False, default=str))


def scan(folder: Path) -> tuple[list[Policy], list[str]]:
    """Load every policy file in a folder; return the policies and the problems found."""
    from .forms import load_yaml  # the YAML reading (with located errors) lives there

    loaded, problems = [], []
    if not folder.is_dir():
        return loaded, [f"{folder}: policies folder not found"]
    root = folder.parent
    seen: dict[str, Path] = {}
    for path in sorted(folder.glob("*.yaml")):
        shown = str(path.relative_to(root.parent)) if root.parent in path.parents else str(path)
        data, problem = load_yaml(path, root)
        if problem:
            problems.append(problem)
            continue
        try:
            policy = Policy.from_dict(_json_native(data))
        except PolicyError as exc:
            problems += [f"{shown}: {error}" for error in exc.errors]
            continue
        if policy.id != path.stem:
            problems.append(f'{shown}: id: "{policy.id}" must match the file name "{path.stem}"')
            continue
        if policy.id in seen:
            problems.append(f"{shown}: id: duplicate of {seen[policy.id].name}")
            continue
        seen[policy.id] = path
        loaded.append(policy)
    return loaded, problems


def _load(folder: Path) -> list[Policy]:
    """Load the policies of a folder, logging the files that cannot be used."""
    loaded, problems = scan(folder)
    for problem in problems:
        log.error("policy not used: %s", problem)
    return loaded


def all_policies() -> list[Policy]:
    """Return the policies of this app's FORMS_DIR (reloaded when a file changes: looked at
    at most once a second, see watched_files)."""
    folder = Path(current_app.config["FORMS_DIR"]) / "policies"
    return kept("ruhu_policies", folder, lambda f: f.glob("*.yaml"), _load)


def policy_for(region_code: str, on: date) -> Policy | None:
    """Return the policy in force for a region code (e.g. a village's) on a date."""
    return choose_policy(all_policies(), region_code or "", on)


def list_policies() -> list[dict]:
    """Return every policy as the JSON the phone computes with (pwa/js/policy.js)."""
    return [policy.raw for policy in sorted(all_policies(), key=lambda p: p.id)]
