"""The `agora` command line: the composition root above training and serving.

It is the one package allowed to import both (tests aside), and nothing imports it. Each file is
one command group, named as the command: `agora data` is `cli/data.py`, `agora train` is
`cli/train.py`, and so on; `cli/main.py` attaches them all. `cli/launcher.py` is the one way to
start the HTTP service, and `cli/exit_codes.py` the one exit-code convention.
"""
