"""The only modules of the worker package that import Parsl (a lint rule keeps it so).

``radio`` is ``ZMQRadio``; ``task_wrapper`` replaces Parsl's per-task monitoring wrapper for
its tasks, guarded against a Parsl whose wrapper has another shape. The node agent needs none
of this, so it runs where Parsl is not installed.
"""
