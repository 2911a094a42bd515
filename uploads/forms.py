"""The upload form of registration files (SPEC §11); the file's rules are the service's."""

from django import forms
from django.utils.translation import gettext_lazy as _


class RegistrationFileForm(forms.Form):
    file = forms.FileField(
        label=_("Registration file"),
        help_text=_("A .csv or .txt file in the layout described above."),
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.txt,text/csv,text/plain"}),
    )
