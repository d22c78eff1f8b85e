"""Twilio, declared for the provider registry: plain data, code named by string."""

from __future__ import annotations

from hub.providers import Described, DoctorCheck, Header, Provider, Route, Sender, Setting, Simulation

# Twilio posts forms; hub also takes the same fields as JSON.
_FORM = {
    "required": True,
    "content": {
        "application/x-www-form-urlencoded": {"schema": {"type": "object"}},
        "application/json": {"schema": {"type": "object"}},
    },
}
_SIGNED = (Header("X-Twilio-Signature"),)

TWILIO = Provider(
    name="twilio",
    title="Twilio",
    settings=(
        Setting("TWILIO_ACCOUNT_SID", secret=True),
        Setting("TWILIO_AUTH_TOKEN", secret=True),
        Setting("TWILIO_FROM_NUMBER", secret=True),
        Setting("HUB_TWILIO_MPS", shown=False),
    ),
    routes=(
        Route(
            "/webhooks/twilio/sms",
            "twilio_sms",
            verify="integrations.twilio:verify_sms",
            respond="integrations.twilio:respond_sms",
            secret_setting="TWILIO_AUTH_TOKEN",
            inline_slots=5,  # TwiML answers with several messages
            described=Described(
                "An inbound SMS; answered with TwiML.",
                headers=_SIGNED,
                body=_FORM,
                answers={
                    "200": {
                        "description": "TwiML",
                        "content": {"application/xml": {"schema": {"type": "string"}}},
                    }
                },
                rejects=("403",),
            ),
        ),
        Route(
            "/webhooks/twilio/status",
            "twilio_status",
            verify="integrations.twilio:verify_status",
            respond="integrations.twilio:respond_status",
            secret_setting="TWILIO_AUTH_TOKEN",
            described=Described(
                "An SMS delivery-status callback.",
                headers=_SIGNED,
                body=_FORM,
                answers={"200": {"description": "Recorded."}, "204": {"description": "Recorded."}},
                rejects=("403",),
            ),
        ),
    ),
    senders=(Sender("sms", send="integrations.twilio:send_text", refusal="integrations.twilio:SmsRejected"),),
    webhook_setup="integrations.twilio:setup_webhook",
    doctor=DoctorCheck("integrations.twilio:doctor_probe", needs=("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN")),
    simulation=Simulation("integrations.samples:simulate_twilio"),
)
