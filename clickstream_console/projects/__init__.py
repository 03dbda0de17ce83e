"""Projects & apps: the project's summary, its apps, registering an app, and what the SDKs of
an app need (its ``amplifyconfiguration.json``, the web SDK's init call)."""
