"""One execution engine for grading, the mistake bank and mutation analysis.

    jobs      what runs (a notebook's code cells and files) and what comes back (outputs)
    executor  runs cells inside the child process: captures outputs, guards test cells
    zygote    the fork server inside the sandbox: torch imported once, one child per notebook
    sandbox   bubblewrap, cgroups and rlimits around each zygote
    pool      sandboxed slots run notebooks in parallel (``Engine``)
    scan      static scan of answer cells for runtime-patching APIs
    nbgrader_execute  nbgrader's Execute preprocessor replaced by this engine
"""
