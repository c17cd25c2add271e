"""The package's own exceptions: few and shallow. The CLI maps them to exit code 2, the app to st.error."""

from __future__ import annotations


class AuditError(ValueError):
    """A problem with the user's input that stops the run (a file, a rules file, an option)."""


class RulesError(AuditError):
    """The rules file is malformed; the message names the file and the key."""


class RegistryError(AuditError):
    """The registry cannot be read at all (unreadable file, a required column missing)."""


class StoreError(AuditError):
    """The inspection store refuses a request (an unknown inspection or plaque, a bad correction, a photo missing)."""


class AccessError(AuditError):
    """A signed-in user may not do this (another township's village, a role without the right), or a sign-in is
    refused (wrong password, disabled or locked account); the message names the user, the action and the township."""
