"""The demo's weather (``running_sandboxes(weather=True)``): on every platform a truncated body
and a mid-body disconnect wait on a later page of the lead stream. A sync with the demo's own
configuration meets both on every platform and still loads exactly what a clean sync loads."""

from __future__ import annotations

import yaml

from leadflow.cli.demo import TOKENS, demo_config, running_sandboxes
from leadflow.config.settings import parse_settings
from leadflow.sandbox.weather import is_later_lead_page
from tests.reliability.platforms import PLATFORMS, fresh_warehouse, snapshot, sync_platform

FAST = {"backoff_seconds": 0.01}  # the demo's backoff (1 s) is only slower, not different


def test_the_demo_weather_hits_a_later_lead_page_of_every_platform_and_loses_nothing(tmp_path):
    with running_sandboxes(contacts=300, weather=True) as boxes:
        boxes_by_platform = boxes.platforms()
        assert all(len(box.faults) == 2 for box in boxes_by_platform.values())
        text = demo_config(boxes, "sqlite://")
        assert "page_size: 200" in text  # Mailchimp's audiences get a second page
        settings = parse_settings(yaml.safe_load(text), origin="<demo>", env=TOKENS)
        for platform in PLATFORMS:
            box, source = boxes_by_platform[platform], settings.sources[platform]
            source = source.model_copy(update=FAST)
            stormy = fresh_warehouse(f"sqlite:///{tmp_path / f'{platform}-weather.db'}")
            outcome = sync_platform(source, stormy, "weather")
            assert not outcome.errors, outcome.errors
            assert len(box.faults) == 0, f"{platform}: the weather never came"
            hit = [r for r in box.requests if r.fault in ("transform", "disconnect")]
            assert sorted(r.fault for r in hit) == ["disconnect", "transform"], platform
            assert all(is_later_lead_page(platform, r) for r in hit), platform
            calm = fresh_warehouse(f"sqlite:///{tmp_path / f'{platform}-calm.db'}")
            assert not sync_platform(source, calm, "calm").errors
            after, clean = snapshot(stormy, platform), snapshot(calm, platform)
            assert after.hashes == clean.hashes and after.rows == len(clean.hashes), platform
            assert after.quarantined == clean.quarantined, platform
            stormy.dispose()
            calm.dispose()
