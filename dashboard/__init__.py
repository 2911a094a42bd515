"""The staff dashboard: the admin's index for register staff (issue 14). It reads every app's
statistics, so it sits above them all, as config does; no app imports it."""
