"""The catalog data files: read into the dataclasses, and refused with a message that names the
file, the entry and what to give when they break a rule the code relies on."""

import shutil
from pathlib import Path

import pytest

from kpis import catalog
from kpis.catalog import CatalogError, catalog_load
from playbooks import catalog as playbook_catalog


def folder_with(tmp_path: Path, name: str, old: str, new: str) -> Path:
    """A copy of the shipped KPI catalog folder with one text replaced in one file."""
    for source in catalog.FOLDER.glob("*.toml"):
        shutil.copy(source, tmp_path)
    text = (tmp_path / name).read_text()
    assert old in text
    (tmp_path / name).write_text(text.replace(old, new, 1))
    return tmp_path


def playbooks_with(tmp_path: Path, old: str, new: str) -> Path:
    text = (playbook_catalog.FOLDER / "playbooks.toml").read_text()
    assert old in text
    path = tmp_path / "playbooks.toml"
    path.write_text(text.replace(old, new, 1))
    return path


def test_the_shipped_files_load_into_the_dataclasses():
    loaded = catalog_load()
    assert loaded == catalog.SHIPPED
    assert len(loaded.kpis) == 25 and len(loaded.category_weights) == 5
    assert isinstance(loaded.kpis[0], catalog.CatalogKpi) and isinstance(loaded.kpis[0].worst, float)
    assert len(loaded.best_practices) == 2 * (25 + 5)
    assert len(loaded.benchmarks) == 6 * 25
    assert playbook_catalog.catalog_load() == playbook_catalog.SHIPPED


def test_a_range_out_of_order_is_refused(tmp_path):
    folder = folder_with(tmp_path, "kpis.toml", "worst = 10\ncritical = 40", "worst = 50\ncritical = 40")
    with pytest.raises(CatalogError, match=r"kpis.toml: KPI 'active_user_ratio': worst, critical, healthy"):
        catalog_load(folder)


def test_a_range_outside_the_possible_values_is_refused(tmp_path):
    folder = folder_with(
        tmp_path,
        "kpis.toml",
        "best = 90\nmin_value = 0\nmax_value = 100",
        "best = 90\nmin_value = 0\nmax_value = 80",
    )
    with pytest.raises(
        CatalogError, match="keep worst, critical, healthy and best within min_value and max_value"
    ):
        catalog_load(folder)


def test_an_unknown_category_is_refused(tmp_path):
    folder = folder_with(tmp_path, "kpis.toml", 'category = "Support"', 'category = "Suport"')
    with pytest.raises(
        CatalogError, match=r"KPI 'ticket_volume': give a category of \[\[categories\]\] \(not 'Suport'\)"
    ):
        catalog_load(folder)


def test_a_kpi_key_used_twice_is_refused(tmp_path):
    folder = folder_with(tmp_path, "kpis.toml", 'key = "feature_adoption"', 'key = "active_user_ratio"')
    with pytest.raises(CatalogError, match="KPI 'active_user_ratio': give each entry its own key"):
        catalog_load(folder)


def test_a_missing_field_is_named(tmp_path):
    folder = folder_with(tmp_path, "kpis.toml", 'unit = "%"\n', "")
    with pytest.raises(CatalogError, match="KPI 'active_user_ratio'.*unit"):
        catalog_load(folder)


def test_advice_for_an_unknown_kpi_or_band_is_refused(tmp_path):
    folder = folder_with(tmp_path, "best_practices.toml", "[kpi.csat.risk]", "[kpi.csatt.risk]")
    with pytest.raises(CatalogError, match="best_practices.toml: csatt: no KPI in kpis.toml has this key"):
        catalog_load(folder)
    folder = folder_with(tmp_path, "best_practices.toml", "[kpi.csat.risk]", "[kpi.csat.healthy]")
    with pytest.raises(CatalogError, match="best_practices.toml: kpi.csat: give advice for risk or critical"):
        catalog_load(folder)


def test_a_syntax_error_names_the_file_and_line(tmp_path):
    folder = folder_with(tmp_path, "benchmarks.toml", "quartile_scores = [", "quartile_scores = ((")
    with pytest.raises(CatalogError, match=r"benchmarks.toml: .*line 8"):
        catalog_load(folder)


def test_a_step_with_two_accountable_roles_is_refused(tmp_path):
    path = playbooks_with(tmp_path, 'accountable = "CS Manager"', 'accountable = ["CS Manager", "CSM"]')
    with pytest.raises(
        CatalogError, match="step 'Frame the sprint and pick the contacts': exactly one role is accountable"
    ):
        playbook_catalog.catalog_load(path)


def test_an_unknown_role_is_refused(tmp_path):
    path = playbooks_with(tmp_path, 'responsible = ["CSM"]', 'responsible = ["CMS"]')
    with pytest.raises(CatalogError, match=r"unknown role\(s\) CMS"):
        playbook_catalog.catalog_load(path)


def test_a_role_listed_twice_is_refused(tmp_path):
    path = playbooks_with(tmp_path, '  "Finance",\n]', '  "Finance",\n  "CSM",\n]')
    with pytest.raises(CatalogError, match="playbooks.toml: roles: a role is listed twice"):
        playbook_catalog.catalog_load(path)


def test_steps_due_out_of_order_are_refused(tmp_path):
    path = playbooks_with(tmp_path, "due_offset_days = 2", "due_offset_days = 20")
    with pytest.raises(CatalogError, match="playbook 'voc_sprint': steps are due in order"):
        playbook_catalog.catalog_load(path)


def test_a_trigger_must_pass_the_schemas_against_the_kpi_catalog(tmp_path):
    path = playbooks_with(tmp_path, 'kpi = "nps", value = 0', 'kpi = "nps", value = 500')
    with pytest.raises(CatalogError, match="trigger 'nps_below'.*from -100 to 100"):
        playbook_catalog.catalog_load(path)
    path = playbooks_with(tmp_path, 'kpi = "nps", value = 0', 'kpi = "promoters", value = 0')
    with pytest.raises(CatalogError, match="trigger 'nps_below'.*condition.kpi"):
        playbook_catalog.catalog_load(path)


def test_an_exit_criterion_must_pass_the_schemas(tmp_path):
    path = playbooks_with(tmp_path, 'type = "band_is", band = "healthy"', 'type = "band_is", band = "fine"')
    with pytest.raises(
        CatalogError, match=r"playbook 'expansion_timing': exit criteria: .*exit_criteria\[0\].check.band"
    ):
        playbook_catalog.catalog_load(path)


def test_trigger_keys_are_unique_within_a_playbook(tmp_path):
    path = playbooks_with(tmp_path, 'key = "csat_below"', 'key = "nps_below"')
    with pytest.raises(
        CatalogError, match="playbook 'voc_sprint': trigger 'nps_below': give each entry its own key"
    ):
        playbook_catalog.catalog_load(path)
