"""The config wing: settings, their precedence, the TOML file and endpoint profiles.

Modules: ``settings`` (``Settings``, load and save), ``precedence`` (flags > environment >
file > defaults), ``file`` (reading and writing ``config.toml`` with line numbers in errors),
``profiles`` and ``params`` (settings, flags and form fields to ``GenerationParams``).
"""

from __future__ import annotations

from agentdeck import lazy_face

_EXPORTS = {
    name: "settings"
    for name in ("DEMO", "SIM_MODEL", "Profile", "Settings", "Timeouts", "UIPrefs",
                 "delete_profile", "load_settings", "save_settings", "set_profile")
}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_face(__name__, _EXPORTS)
