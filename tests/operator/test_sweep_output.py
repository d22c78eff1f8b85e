"""`hub sweep` says what it did to deliveries as well as to events."""

from __future__ import annotations

from hub.cli import main
from hub.deliveries import Delivery
from hub.services import hub_of


def invoke(app, *args):
    return app.test_cli_runner().invoke(main, list(args))


def test_sweep_prints_the_deliveries_it_sent(make_app):
    app = make_app()
    hub = hub_of(app)
    idle = invoke(app, "sweep")
    assert idle.exit_code == 0, idle.output
    assert "deliveries: 0 sent, 0 failed (will retry), 0 dead, 0 skipped" in idle.output

    # Two due deliveries whose runner never came (a crashed process left them pending).
    told = hub.store.clock() - 10
    hub.store.add_deliveries(
        [Delivery.new("evt_a", "evt_a", "telegram", str(chat), "hi", {}, now=told + chat) for chat in (1, 2)]
    )
    hub.store.release_deliveries("evt_a")
    swept = invoke(app, "sweep")
    assert swept.exit_code == 0, swept.output
    assert "ran 0: 0 done" in swept.output
    assert "deliveries: 2 sent, 0 failed (will retry), 0 dead" in swept.output
    assert [d.status for d in hub.store.deliveries(event_id="evt_a")] == ["sent", "sent"]


def test_deliveries_lists_them_with_phone_numbers_masked(make_app):
    app = make_app()
    hub = hub_of(app)
    assert invoke(app, "deliveries").output == "no deliveries yet\n"
    told = hub.store.clock() - 10
    hub.store.add_deliveries([Delivery.new("evt_b", "evt_b", "sms", "+15551234567", "hi", {}, now=told)])
    hub.store.release_deliveries("evt_b")
    listed = invoke(app, "deliveries", "--status", "pending")
    assert listed.exit_code == 0, listed.output
    assert "+••••••4567" in listed.output and "+15551234567" not in listed.output
    assert " pending " in listed.output
    assert invoke(app, "deliveries", "--status", "dead").output == "no deliveries match\n"
    assert invoke(app, "deliveries", "--status", "lost").exit_code != 0, "an unknown status is refused"
