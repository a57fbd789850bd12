"""Tools to run llmviz for a whole class on one JupyterHub: start the hub of deploy/hub/ from a script, add learners,
start their servers, and drive their kernels. Used by the hub's smoke test and the classroom load test; nothing in the
rest of llmviz imports this package."""

from llmviz.classroom.hub import Hub, HubError
from llmviz.classroom.kernel import Kernel, KernelError

__all__ = ["Hub", "HubError", "Kernel", "KernelError"]
