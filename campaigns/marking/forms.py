"""Call file forms (SPEC §8.1, §8.2): the upload, and the settings a draft is read with."""

from django import forms
from django.utils.translation import gettext_lazy as _

from campaigns.models import FileKind


class CallFileUploadForm(forms.Form):
    file = forms.FileField(
        label=_("Call file"),
        help_text=_("A .csv, .txt or .xlsx file with one telephone number a row."),
        widget=forms.ClearableFileInput(
            attrs={
                "accept": ".csv,.txt,.xlsx,text/csv,text/plain,"
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
            }
        ),
        # An empty file gets the intake's message, which says what a file must hold.
        allow_empty_file=True,
    )


# Select values for the delimiters: a tab as an option's value would not survive every browser.
DELIMITERS = {"semicolon": ";", "comma": ",", "pipe": "|", "tab": "\t"}
ENCODINGS = [
    ("utf-8", _("UTF-8")),
    ("utf-8-sig", _("UTF-8 with byte order mark")),
    ("cp1252", _("Windows-1252 (Western European)")),
    ("latin-1", _("Latin-1 (ISO 8859-1)")),
]
YES, NO = "yes", "no"
# The settings form's element id, for a field placed outside it.
SETTINGS_FORM_ID = "call-file-settings"
# The column choices were listed for this dialect; another dialect lists other columns.
DIALECT_SEPARATOR = "|"


def dialect_key(*, encoding: str, delimiter: str, has_header: bool) -> str:
    """What the column choices depend on: another delimiter, say, gives other columns."""
    return DIALECT_SEPARATOR.join(
        [encoding, delimiter.encode("unicode_escape").decode(), str(has_header)]
    )


def column_label(detected, index: int) -> str:
    """A column by its header name where there is one, else by its position."""
    name = ""
    if detected.header is not None and index <= len(detected.header):
        name = detected.header[index - 1].strip()
    if name:
        return _("%(name)s (column %(number)s)") % {"name": name, "number": index}
    return _("column %(number)s") % {"number": index}


class CallFileSettingsForm(forms.Form):
    """The detected settings of an uploaded call file, for the user to correct (SPEC §8.2).

    Built on the detection the preview shows: its columns are the choices. A spreadsheet has no
    encoding or delimiter to choose.
    """

    encoding = forms.ChoiceField(label=_("Character encoding"), choices=ENCODINGS)
    delimiter = forms.ChoiceField(
        label=_("Delimiter"),
        choices=[
            ("semicolon", _("semicolon (;)")),
            ("comma", _("comma (,)")),
            ("pipe", _("pipe (|)")),
            ("tab", _("tab")),
        ],
    )
    has_header = forms.ChoiceField(
        label=_("First row"),
        choices=[(YES, _("column names")), (NO, _("data, like the rest"))],
    )
    # Numbers picked from the detected columns; whether a column exists is the intake's to say,
    # since another delimiter gives other columns.
    phone_column = forms.IntegerField(
        label=_("Telephone number column"),
        min_value=1,
        widget=forms.Select,
        help_text=_("The column holding the telephone numbers to mark."),
    )
    opt_in_column = forms.IntegerField(
        label=_("Opt-in date column"),
        min_value=1,
        required=False,
        widget=forms.Select,
        help_text=_(
            "Optional: the date a consumer asked to be called. A registered number with a later "
            "opt-in date is marked callable."
        ),
    )
    # Shown beside the count of repeats, outside the form's element (see the template): the
    # `form` attribute ties it to the form.
    leave_out_duplicates = forms.BooleanField(
        label=_("Leave out the repeated numbers"),
        required=False,
        widget=forms.CheckboxInput(attrs={"form": SETTINGS_FORM_ID}),
    )
    dialect = forms.CharField(widget=forms.HiddenInput)

    def __init__(self, *args, detected, **kwargs):
        settings = detected.settings
        kwargs.setdefault(
            "initial",
            {
                "encoding": settings.encoding,
                "delimiter": next(
                    (code for code, char in DELIMITERS.items() if char == settings.delimiter), ""
                ),
                "has_header": YES if settings.has_header else NO,
                "phone_column": settings.phone_column,
                "opt_in_column": settings.opt_in_column or "",
                "dialect": dialect_key(
                    encoding=settings.encoding,
                    delimiter=settings.delimiter,
                    has_header=settings.has_header,
                ),
            },
        )
        super().__init__(*args, **kwargs)
        columns = [
            (index, column_label(detected, index)) for index in range(1, detected.columns + 1)
        ]
        self.fields["phone_column"].widget.choices = columns
        self.fields["opt_in_column"].widget.choices = [("", _("none")), *columns]
        if settings.kind == FileKind.XLSX:
            del self.fields["encoding"], self.fields["delimiter"]

    def clean(self):
        cleaned = super().clean()
        phone, opt_in = cleaned.get("phone_column"), cleaned.get("opt_in_column")
        if phone is not None and phone == opt_in:
            self.add_error(
                "opt_in_column", _("The opt-in dates cannot be in the telephone number column.")
            )
        return cleaned

    def settings_fields(self) -> list:
        """The fields of how the file is read: the choice about repeats is shown with them."""
        return [field for field in self.visible_fields() if field.name != "leave_out_duplicates"]

    def columns_listed_for_posted_dialect(self) -> bool:
        """Whether the column numbers chosen were listed for the dialect now chosen."""
        overrides = self.overrides()
        return self.cleaned_data["dialect"] == dialect_key(
            encoding=overrides.get("encoding", ""),
            delimiter=overrides.get("delimiter", ""),
            has_header=overrides["has_header"],
        )

    def overrides(self) -> dict:
        """The settings as the intake takes them."""
        data = self.cleaned_data
        overrides = {
            "has_header": data["has_header"] == YES,
            "phone_column": data["phone_column"],
            # 0 says "none": the intake would otherwise detect one again.
            "opt_in_column": data["opt_in_column"] or 0,
        }
        if "encoding" in self.fields:
            overrides["encoding"] = data["encoding"]
            overrides["delimiter"] = DELIMITERS[data["delimiter"]]
        return overrides
