"""Safe, fair autograding with nbgrader (instructors): ``python -m dgmlib.autograde HW``.

* :mod:`.sandbox`: the kernel of each submission runs isolated (namespaces, unprivileged user, hidden
  course folder, limits, no left-over processes).
* :mod:`.guard`: inside that kernel, tamper evidence for the machinery that runs the tests.
* :mod:`.preprocessors`: nbgrader preprocessors: the guarded execution with a notebook time budget and
  dead-kernel recovery; stderr shown as output instead of scoring 0.
* :mod:`.config`: ``configure(c, root)`` sets them up from nbgrader_config.py.
"""
