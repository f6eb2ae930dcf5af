"""Sample images (and models) bundled with upscope; installed as the package ``upscope.samples``.

See samples/README.md for the origin and licence of each file.
"""
