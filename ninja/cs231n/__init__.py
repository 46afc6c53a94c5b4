"""CS231n's track: the learner's NumPy functions, called with CS231n's own signatures and caches,
against trusted torch forwards and autograd, one module per assignment file. The map: learner.py
(calling the learner's code), cases.py (Case, Unit, the trusted side), mistakes.py (Mistake, Diagnosis,
named causes, ast), judge.py (results), exercise.py (FunctionsExercise), cifar.py (--data)."""
