"""Editor support: what ``netspec check`` knows, shown while a spec is being typed.

``analysis`` runs the pipeline on a document's text (never torch) and maps problems and IR nodes back to
lines; ``outline`` reads the raw tree for the layer outline, definitions and the layers' spans;
``complete`` answers completions from the text around the cursor (which need not parse); ``server`` is
the language server (pygls) that ``netspec lsp`` runs over stdio; ``watch`` re-runs a command when a file
is saved (``netspec check --watch``).
"""
