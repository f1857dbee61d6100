"""Infrastructure every room shares: errors, atomic writers, data safety and languages.

:mod:`~qualmodel.core.errors` (one-line user errors), :mod:`~qualmodel.core.atomic` (the one
writer of files and folders: temporary name, then rename), :mod:`~qualmodel.core.safety`
(overlap and overwrite rules, the safe YAML loader) and :mod:`~qualmodel.core.i18n` (message
catalogues in ``locales/``, number and date formats).
"""
