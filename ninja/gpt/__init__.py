"""The transformer track: a tiny character-level GPT on the names makemore ships, as tapped-model
exercise files (see docs/gpt.md).

    data.py     the names as one stream of characters, batches of sequences
    model.py    the one-block GPT, one small step a line (gpt1, gpt2, gpt3)
    model2.py   a two-block GPT, one layer a line (gpt4, and the training of gpt5)
    mistakes.py the named mistakes of this track, as formulas on the trusted forward
    gpt1.py ... the exercise files
"""
