"""The engine for a tapped forward: any model given as parameters(g), inputs(g, batch_size) and
forward(tap, **tensors) (ninja/tapped/model.py), and what the engine derives from it: the reference
gradients and the cut forward (model.py), local blame (blame.py), the generic named mistakes
(diagnose.py), the exercise that checks a learner's file or notebook on it (exercise.py), the
learner's own tensors by role (roles.py), and exercises written as files (files.py)."""
