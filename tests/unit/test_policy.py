"""The policy file: the shipped one is valid, and mistakes are named by their key."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from geoplan.assessment.policy import PolicyError, load_policy, parse_policy
from geoplan.config import REPO_ROOT, Settings
from geoplan.vocab import AREA_SLUGS, USE_CATEGORIES

SHIPPED = REPO_ROOT / "layers" / "policy.toml"


def shipped_data() -> dict:
    return tomllib.loads(SHIPPED.read_text(encoding="utf-8"))


def test_shipped_policy_is_valid_and_versioned():
    policy = load_policy(SHIPPED)
    assert policy.version and policy.updated.year >= 2025
    assert set(USE_CATEGORIES) <= set(policy.uses)
    assert set(AREA_SLUGS) <= set(policy.areas)
    # Every rule cites a known document; the municipal strategy is cited for every focus area.
    for slug in AREA_SLUGS:
        assert any(c.source == "ns2025" for r in policy.areas[slug].rules for c in r.cite), slug


def test_settings_default_policy_file_follows_layers_dir(tmp_path: Path):
    assert Settings(layers_dir=tmp_path).policy_file == tmp_path / "policy.toml"
    assert Settings(policy_file=tmp_path / "x.toml").policy_file == tmp_path / "x.toml"


def test_named_use_wins_over_its_profile():
    policy = load_policy(SHIPPED)
    # stasjonsområdet names "hotel" as preferred and the rest of hotel/restaurant as accepted.
    assert policy.classify("stasjonsomradet", "hotel").id == "stasjonsomradet.preferred"
    assert policy.classify("stasjonsomradet", "restaurant").id == "stasjonsomradet.accepted"
    assert policy.classify("visperud", "city_logistics_terminal").id == "visperud.preferred"
    assert policy.classify("visperud", "warehousing").id == "visperud.discouraged"
    assert policy.classify("visperud", "culture") is None  # unlisted


def test_required_class_by_size():
    policy = load_policy(SHIPPED)
    assert policy.required_class("office", 1500, None, None)[:2] == (
        "B",
        "abc.workplace_intensive.base",
    )
    cls, rule, why = policy.required_class("office", 1500, 150, None)
    assert (cls, rule) == ("A", "abc.workplace_intensive.class_a") and "150 employees" in why[0]
    assert policy.required_class("logistics", 50000, 10, None)[0] == "C"


@pytest.mark.parametrize(
    ("mutate", "key"),
    [
        (
            lambda d: d["location_classes"]["A"].update(max_walk_min="ten"),
            "location_classes.A.max_walk_min",
        ),
        (
            lambda d: d["location_classes"]["A"].update(hub_modes=["tram"]),
            "location_classes.A.hub_modes",
        ),
        (lambda d: d["uses"].pop("office"), "uses"),
        (lambda d: d["uses"]["retail"].update(profile="shops"), "uses.retail.profile"),
        (
            lambda d: d["areas"]["visperud"]["rules"][0]["categories"].append("spaceport"),
            "areas.visperud.rules[0].categories",
        ),
        (
            lambda d: d["areas"]["ahus"]["rules"][0]["cite"][0].update(source="nowhere"),
            "areas.ahus.rules[0].cite[0].source",
        ),
        (lambda d: d["areas"].pop("losbydalen"), "areas"),
        (
            lambda d: d["profiles"]["hotel_restaurant"].update(requires_class="D"),
            "profiles.hotel_restaurant.requires_class",
        ),
        (lambda d: d["assessment"].update(typo=1), "assessment.typo"),
        (
            lambda d: d["areas"]["sentrum"]["rules"][1].update(id="sentrum.preferred"),
            "areas.sentrum.rules[1].id",
        ),
        (
            lambda d: d["areas"]["sentrum"]["rules"][2]["categories"].append("visitor_intensive"),
            "areas.sentrum.rules[2].categories",
        ),
        (
            lambda d: d["areas"]["fjellhamar"]["rules"][3].pop("max_floor_area_m2"),
            "areas.fjellhamar.rules[3]",
        ),
        (lambda d: d.pop("version"), "version"),
    ],
)
def test_bad_policy_names_the_key(mutate, key):
    data = shipped_data()
    mutate(data)
    with pytest.raises(PolicyError) as exc:
        parse_policy(data, origin="test.toml")
    assert exc.value.field == key
    assert key in str(exc.value) and "test.toml" in str(exc.value)


def test_bad_toml_and_missing_file(tmp_path: Path):
    bad = tmp_path / "policy.toml"
    bad.write_text("version = \n", encoding="utf-8")
    with pytest.raises(PolicyError, match="not valid TOML"):
        load_policy(bad)
    with pytest.raises(PolicyError, match="not found"):
        load_policy(tmp_path / "missing.toml")


def test_edited_file_is_reread(tmp_path: Path):
    copy = tmp_path / "policy.toml"
    text = SHIPPED.read_text(encoding="utf-8")
    copy.write_text(text, encoding="utf-8")
    assert load_policy(copy).version == "1.0.0"
    copy.write_text(text.replace('version = "1.0.0"', 'version = "1.0.1-local"'), "utf-8")
    assert load_policy(copy).version == "1.0.1-local"
