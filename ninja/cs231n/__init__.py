"""CS231n's track: the learner's NumPy functions, called with CS231n's own signatures and caches,
against trusted torch forwards and autograd (functions.py), one module per assignment file."""
