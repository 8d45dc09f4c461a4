"""Pulse's built-in playbooks: the motions a customer-success team runs on an account.

The content is data, in playbooks.toml next to this module, read once at import into the
frozen dataclasses below and checked like the KPI catalog (kpis.catalog): a CatalogError names
the playbook and what is wrong. Each playbook lists its steps with a RACI and a due offset
(days after the execution starts), the outcomes it should produce, exit criteria (a data check
against the health score or a KPI, or a manual checkbox) and the default triggers that start or
suggest it. Conditions and checks must pass playbooks.schemas against the default KPI catalog,
so a playbook never asks for a number the health engine would score differently.
"""

from dataclasses import asdict, dataclass
from itertools import pairwise
from pathlib import Path
from typing import Any

from kpis.catalog import DEFAULT_KPIS, CatalogError, require, toml_read, unique_keys
from playbooks.schemas import exit_criteria_problems, trigger_problems

FOLDER = Path(__file__).parent
SHIPPED_KPI_RANGES = {kpi.key: (kpi.min_value, kpi.max_value) for kpi in DEFAULT_KPIS}


@dataclass(frozen=True)
class Raci:
    responsible: tuple[str, ...]
    accountable: str  # exactly one role
    consulted: tuple[str, ...] = ()
    informed: tuple[str, ...] = ()


@dataclass(frozen=True)
class Step:
    title: str
    description: str  # what to do, with what, and what "done" looks like
    raci: Raci
    due_offset_days: int  # days after the execution starts
    required: bool = True


@dataclass(frozen=True)
class ExitCriterion:
    key: str  # snake_case, unique within the playbook
    description: str
    check: dict | None  # a data check (see schemas.CHECKS), or None for a manual checkbox


@dataclass(frozen=True)
class TriggerDefault:
    key: str  # names the trigger within its playbook, so catalog_sync can find it again
    condition: dict  # see schemas.CONDITIONS
    action: str  # "auto_start" | "suggest"
    cooldown_days: int


@dataclass(frozen=True)
class PlaybookSpec:
    key: str
    name: str
    purpose: str
    when_to_use: str
    expected_duration_days: int
    steps: tuple[Step, ...]
    expected_outcomes: tuple[str, ...]
    exit_criteria: tuple[ExitCriterion, ...]
    triggers: tuple[TriggerDefault, ...]


@dataclass(frozen=True)
class PlaybookCatalog:
    roles: tuple[str, ...]
    playbooks: tuple[PlaybookSpec, ...]


def catalog_load(path: Path = FOLDER / "playbooks.toml") -> PlaybookCatalog:
    data = toml_read(path)
    roles = tuple(data["roles"])
    require(len(set(roles)) == len(roles), "playbooks.toml: roles", "a role is listed twice")
    playbooks = tuple(_playbook(entry, roles) for entry in data["playbooks"])
    unique_keys((playbook.key for playbook in playbooks), "playbooks.toml: playbook")
    return PlaybookCatalog(roles, playbooks)


def _playbook(entry: dict, roles: tuple[str, ...]) -> PlaybookSpec:
    where = f"playbooks.toml: playbook {entry.get('key')!r}"
    try:
        playbook = PlaybookSpec(
            **{
                name: entry[name]
                for name in ("key", "name", "purpose", "when_to_use", "expected_duration_days")
            },
            steps=tuple(_step(step, where, roles) for step in entry["steps"]),
            expected_outcomes=tuple(entry["expected_outcomes"]),
            exit_criteria=tuple(ExitCriterion(**{"check": None, **c}) for c in entry["exit_criteria"]),
            triggers=tuple(TriggerDefault(**trigger) for trigger in entry.get("triggers", [])),
        )
    except (TypeError, KeyError) as error:
        raise CatalogError(f"{where}: {error}") from error
    offsets = [step.due_offset_days for step in playbook.steps]
    require(bool(offsets), where, "give at least one step")
    require(all(a <= b for a, b in pairwise(offsets)), where, "steps are due in order (due_offset_days)")
    require(offsets[-1] <= playbook.expected_duration_days, where, "the last step is due within the duration")
    _rules_check(playbook, where)
    return playbook


def _step(entry: dict, where: str, roles: tuple[str, ...]) -> Step:
    where = f"{where}, step {entry.get('title')!r}"
    roles_by_part: dict[str, Any] = {
        name: value if name == "accountable" else tuple(value) for name, value in entry["raci"].items()
    }
    raci = Raci(**roles_by_part)
    require(isinstance(raci.accountable, str), where, "exactly one role is accountable")
    require(bool(raci.responsible), where, "at least one role is responsible")
    named = {raci.accountable, *raci.responsible, *raci.consulted, *raci.informed}
    require(named <= set(roles), where, f"unknown role(s) {', '.join(sorted(named - set(roles)))}")
    return Step(**{**entry, "raci": raci})


def _rules_check(playbook: PlaybookSpec, where: str) -> None:
    """Exit criteria and triggers must pass the schemas tenants' own edits pass."""
    criteria = [asdict(criterion) for criterion in playbook.exit_criteria]
    problems = exit_criteria_problems(criteria, kpis=SHIPPED_KPI_RANGES)
    require(not problems, where, f"exit criteria: {problems}")
    unique_keys((trigger.key for trigger in playbook.triggers), f"{where}: trigger")
    for trigger in playbook.triggers:
        problems = trigger_problems(
            condition=trigger.condition,
            action=trigger.action,
            cooldown_days=trigger.cooldown_days,
            kpis=SHIPPED_KPI_RANGES,
        )
        require(not problems, f"{where}, trigger {trigger.key!r}", str(problems))


SHIPPED = catalog_load()
ROLES = SHIPPED.roles
DEFAULT_PLAYBOOKS = SHIPPED.playbooks


def playbooks_by_key() -> dict[str, PlaybookSpec]:
    return {playbook.key: playbook for playbook in DEFAULT_PLAYBOOKS}
