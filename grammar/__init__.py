"""The netspec DSL grammar (``netspec.lark``), installed as the package ``netspec.grammar``."""
