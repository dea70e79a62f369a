"""console.ui: the Textual console (the only package that imports textual).

Entry point: :class:`console.ui.app.ConsoleApp` (hosted by
``console.commands.run.run_app``). Layout: ``app.py`` is the hub of bindings and
workers; ``screens/`` the main screen and dialogs; ``widgets/`` one widget per
module; ``themes/`` one TOML file per theme; ``format.py`` pure text helpers.
Nothing here is imported by the engine or any package below it.
"""
