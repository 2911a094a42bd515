"""The roles of register staff in the admin (SPEC §1, §3, §14): one permission group each.

The groups and their permissions are made by migration `register.0013_staff_roles`; a
superuser puts a staff user in a group and in a register's staff. What a role may do in which
register follows from both: the group says what, the register's staff list says where.
"""

SERVICE_DESK = "service desk"
COMPLAINTS = "complaints"
ACCOUNTING = "accounting"
# Not a person: the operator's IVR, calling the API with a staff key (register.models.StaffApiKey).
IVR = "ivr"
