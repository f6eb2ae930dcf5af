"""Presentation: rich tables and terminal pictures (tables.py etc.), matplotlib figures (plots.py).

Nothing outside ``upscope.render`` and ``upscope.cli``/``upscope.commands`` prints or draws.
"""
