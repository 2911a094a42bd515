"""Third-party text in exports a person opens in a spreadsheet (SPEC §17)."""

# A cell starting with one of these is read as a formula (or a DDE command) by spreadsheets.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value: str) -> str:
    """Text a spreadsheet shows as text: a leading quote defuses a formula."""
    return f"'{value}" if value.startswith(FORMULA_STARTS) else value
