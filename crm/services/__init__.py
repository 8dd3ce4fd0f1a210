"""Every write with its rules lives in a service: `<entity>_<action>`, keyword-only arguments,
atomic, full_clean() before save. Modules by area; import from the module."""
