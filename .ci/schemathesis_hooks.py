"""Schemathesis hooks for .ci/schemathesis.

The admin run must not lock its own admin out: a PATCH of that account with
`must_change_password: true` or a new `password` (a temporary one) would
make every later request a `403 password_change_required`; a role change
or deactivation (allowed once schemathesis has created a second admin)
would make them `403`/`401`. Each is a documented answer, so nothing would
fail, but the rest of the run would test nothing. So PATCH and DELETE of
`/api/users/{id}` on that one account go to an id no account has (a `404`);
every other account stays fair game.
"""

import os

import schemathesis

PROTECTED_ID = os.environ.get("CLINICDESK_PROTECTED_ID", "")
# No account has it: ids are positive.
NO_SUCH_ACCOUNT = 0


def _is_protected(value) -> bool:
    try:
        return str(int(str(value).strip())) == PROTECTED_ID
    except ValueError:
        return False


@schemathesis.hook
def before_call(context, case, kwargs):
    if case.operation.path != "/api/users/{id}" or case.method.upper() not in ("PATCH", "DELETE"):
        return
    if case.path_parameters and _is_protected(case.path_parameters.get("id")):
        case.path_parameters["id"] = NO_SUCH_ACCOUNT
