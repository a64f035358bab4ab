"""The life of a command, from the command line to its exit code: Hydra's composition, the check
of the whole config (checks.py, with the signatures of its targets read by signatures.py), run
folders (run_dirs.py), resume= (resume.py) and the one-line errors (launch.py). Nothing here
imports torch or Lightning, so a mistake is answered before they load."""
