"""Google Sheets calls: append a row to GOOGLE_SHEET_ID."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from integrations.google_api import apis

if TYPE_CHECKING:
    from hub.context import Context
    from hub.outbox import CallResult


def append_sheet_row(ctx: Context, values: list[Any]) -> CallResult | None:
    """Append one row to GOOGLE_SHEET_ID (recorded only, in dry-run); None when no sheet is set."""
    sheet_id = ctx.settings.google_sheet_id
    if not sheet_id:
        return None
    row = ["" if v is None else v if isinstance(v, int | float | bool) else str(v) for v in values]
    payload = {"spreadsheet_id": sheet_id, "range": "A1", "values": [row]}

    def send() -> dict[str, Any]:
        google = apis(ctx.hub)
        # RAW, not USER_ENTERED: a chat user's "=IMPORTXML(...)" stays text, never a formula.
        request = (
            google.service("sheets", "v4")
            .spreadsheets()
            .values()
            .append(
                spreadsheetId=sheet_id,
                range="A1",
                valueInputOption="RAW",
                insertDataOption="INSERT_ROWS",
                body={"values": [row]},
            )
        )
        answer = google.execute(request)
        return {"ref": answer.get("updates", {}).get("updatedRange", "")}

    return ctx.call("google", "sheets.values.append", payload, send)
