# JupyterHub for one class on one machine: every learner logs in with the class password and gets a JupyterLab of
# their own, on the project's Python, opening llmviz's tour. `make hub` starts it; docs/classroom.md explains it.
# Everything is set by environment variables, so nobody edits this file for a class:
#   LLMVIZ_HUB_PASSWORD        the class password (8+ characters); any learner name logs in with it
#   LLMVIZ_HUB_ADMIN_PASSWORD  the teacher's password (32+ characters; default: one made once, kept in
#                              LLMVIZ_HUB_STATE/teacher-password); the teacher logs in as LLMVIZ_HUB_ADMIN
#   LLMVIZ_HUB_ADMIN           the teacher's user name (default: teacher)
#   LLMVIZ_HUB_USERS           optional: "ada,bob,..." lets only these names in; unset, any name may log in
#   LLMVIZ_HUB_SPAWNER         simple (default: NO isolation), system (one OS user per learner) or systemd (OS users
#                              with memory and CPU limits); see "Isolation" below
#   LLMVIZ_HUB_MEM_LIMIT       memory per learner for the systemd spawner (default from deploy/sizing.json)
#   LLMVIZ_HUB_IDLE_TIMEOUT    seconds without activity before a learner's server is stopped (default 3600)
#   LLMVIZ_HUB_PORT            the port learners open (default 8000); LLMVIZ_HUB_API_PORT, LLMVIZ_HUB_PROXY_API_PORT
#                              the hub's and the proxy's internal ports (default 8081 and 8001)
#   LLMVIZ_HUB_STATE           where the hub keeps its database, cookie secret and learners' homes (default build/hub)
#   LLMVIZ_HUB_SERVICE_TOKEN   optional: an API token with admin rights, for the load test and the smoke test
#   LLMVIZ_HUB_SERVER_ARGS     optional: extra command-line arguments for every learner's server
#   LLMVIZ_CACHE               the shared, read-only folder holding SmolLM2's converted copy (default ~/.cache/llmviz)
# Everything listens on 127.0.0.1 only. To serve a real class, put a TLS-terminating reverse proxy (nginx, Caddy) in
# front of port 8000 and keep these on loopback.
import json
import os
import pwd
import secrets
import shutil
import sys
from pathlib import Path

c = get_config()  # noqa: F821  (JupyterHub defines get_config when it loads this file)

REPO = Path(__file__).resolve().parents[2]
STATE = Path(os.environ.get("LLMVIZ_HUB_STATE") or REPO / "build" / "hub").resolve()
STATE.mkdir(parents=True, exist_ok=True)
STATE.chmod(0o700)  # the database, cookie secret and teacher's password: for the hub's user only
# The project's own Python runs the hub and every learner's server, so both see the same llmviz and widgets.
BIN = Path(sys.executable).parent
SIZING = json.loads((REPO / "deploy" / "sizing.json").read_text())


def setting(name: str, default: str = "") -> str:
    return os.environ.get(name, "").strip() or default


# --- Network: the hub, its proxy and every learner's server on loopback only --------------------------------------
c.JupyterHub.bind_url = f"http://127.0.0.1:{setting('LLMVIZ_HUB_PORT', '8000')}"
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = int(setting("LLMVIZ_HUB_API_PORT", "8081"))
c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{setting('LLMVIZ_HUB_PROXY_API_PORT', '8001')}"
# configurable-http-proxy comes from npm; set-up installs it into .venv/node when it is not on PATH.
_local_proxy = BIN.parent / "node" / "node_modules" / ".bin" / "configurable-http-proxy"
_proxy = shutil.which("configurable-http-proxy") or (str(_local_proxy) if _local_proxy.exists() else None)
if _proxy is None:
    sys.exit("llmviz hub: configurable-http-proxy is missing. Run `make setup` (it installs it with npm into "
             ".venv/node), or `npm install -g configurable-http-proxy@5`.")
c.ConfigurableHTTPProxy.command = [_proxy]
c.JupyterHub.db_url = f"sqlite:///{STATE / 'jupyterhub.sqlite'}"
c.JupyterHub.cookie_secret_file = str(STATE / "jupyterhub_cookie_secret")
c.JupyterHub.pid_file = str(STATE / "jupyterhub.pid")
# Stopping the hub stops the proxy and every learner's server with it.
c.JupyterHub.cleanup_servers = True
c.JupyterHub.cleanup_proxy = True

# --- Login: one class password for learners, a separate one for the teacher (admin) -------------------------------
# SharedPasswordAuthenticator (JupyterHub >= 5.3): anyone with the class password can log in as any non-admin name,
# including another learner's. Fine for a lesson on a loopback or campus-only hub; not for graded work.
c.JupyterHub.authenticator_class = "shared-password"
_password = setting("LLMVIZ_HUB_PASSWORD")
if len(_password) < 8:
    sys.exit("llmviz hub: set LLMVIZ_HUB_PASSWORD to the class password (8 characters or more), e.g. "
             "`LLMVIZ_HUB_PASSWORD=... make hub`.")
c.SharedPasswordAuthenticator.user_password = _password
_admin = setting("LLMVIZ_HUB_ADMIN", "teacher")
c.Authenticator.admin_users = {_admin}
# The teacher's password: 32+ characters, different from the class password (JupyterHub refuses otherwise). Without
# LLMVIZ_HUB_ADMIN_PASSWORD one is made once and kept, readable by the hub's user only, in the state folder.
_admin_file = STATE / "teacher-password"
if not setting("LLMVIZ_HUB_ADMIN_PASSWORD") and not _admin_file.exists():
    _admin_file.touch(mode=0o600)
    _admin_file.write_text(secrets.token_urlsafe(32) + "\n")
    print(f"llmviz hub: the teacher logs in as {_admin!r} with the password in {_admin_file}", file=sys.stderr)
c.SharedPasswordAuthenticator.admin_password = setting("LLMVIZ_HUB_ADMIN_PASSWORD") or _admin_file.read_text().strip()
# JupyterHub 5+ lets nobody in until one of these is set.
_users = [name.strip() for name in setting("LLMVIZ_HUB_USERS").split(",") if name.strip()]
if _users:
    c.Authenticator.allowed_users = set(_users)
else:
    c.Authenticator.allow_all = True

# --- Isolation ---------------------------------------------------------------------------------------------------
# simple:  SimpleLocalProcessSpawner. Every learner's server runs as the SAME OS user as the hub (root here), with a
#          home under LLMVIZ_HUB_STATE/homes. NO isolation: a learner's code can read and kill the others' work and
#          use all memory and CPU. For a trusted lesson on a machine nobody else uses, and for the tests.
# system:  LocalProcessSpawner. One OS user per learner (create the accounts first: `useradd -m ada`), so learners
#          cannot read each other's files. NO memory or CPU limits: one runaway kernel can still starve the class.
# systemd: SystemdSpawner (`pip install jupyterhub-systemdspawner`; needs systemd as PID 1 and a root hub). The same
#          OS users as `system`, each server in its own cgroup with the memory and CPU limits below. Real isolation.
MODE = setting("LLMVIZ_HUB_SPAWNER", "simple")
if MODE == "simple":
    c.JupyterHub.spawner_class = "jupyterhub.spawner.SimpleLocalProcessSpawner"
    c.SimpleLocalProcessSpawner.home_dir_template = str(STATE / "homes" / "{username}")
elif MODE == "system":
    c.JupyterHub.spawner_class = "jupyterhub.spawner.LocalProcessSpawner"
elif MODE == "systemd":
    c.JupyterHub.spawner_class = "systemdspawner.SystemdSpawner"
    # The measured peak of one learner on SmolLM2, with headroom (deploy/sizing.json, docs/classroom.md).
    c.SystemdSpawner.mem_limit = setting("LLMVIZ_HUB_MEM_LIMIT", f"{SIZING['smollm2-135m']['limit_gb']}G")
    c.SystemdSpawner.cpu_limit = float(setting("LLMVIZ_HUB_CPU_LIMIT", "1"))
    c.SystemdSpawner.readonly_paths = ["/"]  # learners read the shared model, never change it...
    c.SystemdSpawner.readwrite_paths = ["/home/{USERNAME}"]  # ...and write only their home
    c.SystemdSpawner.isolate_tmp = True
else:
    sys.exit(f"llmviz hub: LLMVIZ_HUB_SPAWNER={MODE!r}; use simple, system or systemd (see docs/classroom.md).")

# --- Learners' servers: the project's Python, JupyterLab opening the tour -----------------------------------------
c.Spawner.cmd = [str(BIN / "jupyterhub-singleuser")]
c.Spawner.ip = "127.0.0.1"
# Each learner works on a copy of the notebooks in their home (copied at first start, never overwritten), so one
# learner's edits never reach another's.
COURSE = "llmviz-notebooks"
c.Spawner.default_url = f"/lab/tree/{COURSE}/00_tour.ipynb"
# Importing torch and llmviz on a busy machine can take a while when a whole class starts at once.
c.Spawner.start_timeout = 180
c.Spawner.http_timeout = 120
# The shared cache: SmolLM2 converted once by the teacher (`make setup`), read by every learner. Learners' HOMEs
# differ, so without LLMVIZ_CACHE each kernel would look in its own ~/.cache and fall back to the tiny model.
from llmviz.registry import CACHE_DIR  # noqa: E402  (the project's Python runs this file; llmviz is installed)

c.Spawner.environment = {
    "LLMVIZ_CACHE": str(CACHE_DIR),
    # One torch thread per kernel: a class shares the cores, and threads fighting each other made torch 5-10x slower.
    "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
    "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
}
if setting("LLMVIZ_MODEL"):
    c.Spawner.environment["LLMVIZ_MODEL"] = setting("LLMVIZ_MODEL")
_args = ["--ServerApp.ip=127.0.0.1"]
if os.geteuid() == 0 and MODE == "simple":
    # Only the simple spawner runs learners as root (system and systemd switch user first); jupyter-server refuses to
    # start as root without this, and the hub then reports only "500".
    _args.append("--allow-root")
# A kernel left idle for an hour is shut down inside a running server too: a class leaves many tabs open.
_args += ["--MappingKernelManager.cull_idle_timeout=3600", "--MappingKernelManager.cull_interval=300"]
# Extra arguments for every learner's server, e.g. the browser tests' --LabApp.expose_app_in_browser=True.
_args += setting("LLMVIZ_HUB_SERVER_ARGS").split()


def copy_course(spawner):
    """pre_spawn_hook: give a learner the notebooks at first start (their edits are never overwritten later)."""
    if MODE == "simple":
        home = Path(spawner.home_dir)
    else:  # a real account: its home, and the copy must belong to it
        entry = pwd.getpwnam(spawner.user.name)
        home = Path(entry.pw_dir)
    course = home / COURSE
    if not course.exists():
        home.mkdir(parents=True, exist_ok=True)
        shutil.copytree(REPO / "notebooks", course)
        if MODE != "simple":
            for path in [course, *course.rglob("*")]:
                os.chown(path, entry.pw_uid, entry.pw_gid)


c.Spawner.pre_spawn_hook = copy_course

c.Spawner.args = _args

# --- Idle culling: stop servers nobody has used for LLMVIZ_HUB_IDLE_TIMEOUT seconds, freeing their memory ---------
c.JupyterHub.services = [{
    "name": "idle-culler",
    "command": [sys.executable, "-m", "jupyterhub_idle_culler",
                f"--timeout={setting('LLMVIZ_HUB_IDLE_TIMEOUT', '3600')}", "--cull-every=300"],
}]
c.JupyterHub.load_roles = [{
    "name": "idle-culler", "services": ["idle-culler"],
    "scopes": ["list:users", "read:users:activity", "read:servers", "delete:servers"],
}]
# An admin token for scripts on this machine (benchmarks/classroom.py, tests/test_hub.py), only when one is given.
if setting("LLMVIZ_HUB_SERVICE_TOKEN"):
    c.JupyterHub.services.append({"name": "llmviz-driver", "api_token": setting("LLMVIZ_HUB_SERVICE_TOKEN")})
    c.JupyterHub.load_roles.append({"name": "llmviz-driver", "services": ["llmviz-driver"],
                                    "scopes": ["admin:users", "admin:servers", "access:servers", "tokens"]})
