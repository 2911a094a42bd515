"""One way to write dates, times and numbers per language across the portal, the admin, mails and
the API's messages (issue #12), never month before day (`FORMAT_MODULE_PATH`).

Django's own English formats are American (12/07/2026, and 12/07/2026 typed in a form is read as
7 December); ours write and read days first. Thousands are not grouped anywhere
(`USE_THOUSAND_SEPARATOR` stays off): amounts are short and ids must not become 1.234.
"""
