"""The Docker Compose stack: structure, credentials via the env file, health check, scalable workers, the image.

Where the docker CLI has its compose plugin, the file is resolved by ``docker compose config`` (on a copy, with
``.env.example`` as ``.env``); elsewhere (e.g. a machine with the docker client only) it is parsed with pyyaml and
compose's variable interpolation is checked by hand. Both branches check the same structure.
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
DOCKER = ROOT / "docker"
COMPOSE_FILE = DOCKER / "docker-compose.yml"
ENV_EXAMPLE = DOCKER / ".env.example"
SERVICES = {"db", "setup", "worker", "jupyter"}
APP_SERVICES = ("setup", "worker", "jupyter")
# compose interpolation: ${NAME}, ${NAME:-default}, ${NAME-default}, ${NAME:?error}, ${NAME?error}
INTERPOLATION = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}")


def read_env_file(path: Path) -> dict[str, str]:
    values = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            name, _, value = line.partition("=")
            values[name.strip()] = value.strip()
    return values


def docker_compose_available() -> bool:
    if shutil.which("docker") is None:
        return False
    try:
        probe = subprocess.run(["docker", "compose", "version"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return probe.returncode == 0


@dataclass
class ComposeModel:
    source: str  # "docker compose config" or "pyyaml"
    services: dict
    raw_text: str


def resolved_by_docker_compose(tmp_path: Path) -> ComposeModel:
    # a copy, so that the user's own docker/.env is neither needed nor read
    copy = tmp_path / "docker"
    copy.mkdir()
    for name in ("docker-compose.yml", "Dockerfile"):
        shutil.copy(DOCKER / name, copy / name)
    shutil.copy(ENV_EXAMPLE, copy / ".env")
    result = subprocess.run(
        ["docker", "compose", "-f", str(copy / "docker-compose.yml"), "config", "--format", "json"],
        capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return ComposeModel("docker compose config", json.loads(result.stdout)["services"], COMPOSE_FILE.read_text())


def parsed_by_pyyaml() -> ComposeModel:
    text = COMPOSE_FILE.read_text()
    return ComposeModel("pyyaml", yaml.safe_load(text)["services"], text)


@pytest.fixture(scope="module")
def compose(tmp_path_factory) -> ComposeModel:
    if docker_compose_available():
        return resolved_by_docker_compose(tmp_path_factory.mktemp("compose"))
    return parsed_by_pyyaml()


# ---- helpers that read both the raw and the resolved form ----
def env_file_paths(service: dict) -> list[str]:
    entries = service.get("env_file", [])
    entries = [entries] if isinstance(entries, (str, dict)) else entries
    return [entry["path"] if isinstance(entry, dict) else entry for entry in entries]


def environment(service: dict) -> dict:
    env = service.get("environment", {})
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return env


def command_text(service: dict) -> str:
    command = service.get("command", "")
    return command if isinstance(command, str) else " ".join(command)


def shell_script(service: dict) -> str:
    """The script of a ``sh -c <script>`` command, with compose's ``$$`` escape undone where compose did not."""
    command = service["command"]
    command = shlex.split(command) if isinstance(command, str) else list(command)
    assert command[:2] == ["sh", "-c"], command
    return command[2].replace("$$", "$")


def expand_like_sh(script: str, values: dict[str, str]) -> str:
    """``${NAME:-default}`` / ``${NAME:?message}`` as sh expands them with the env file's values."""

    def replace(match: re.Match) -> str:
        name, operator, argument = match.groups()
        if values.get(name):
            return values[name]
        assert operator in (":-", "-"), f"{name} is not set in {ENV_EXAMPLE.name} and has no default"
        return argument

    return INTERPOLATION.sub(replace, script)


def depends_condition(service: dict, name: str) -> str:
    dependencies = service.get("depends_on", {})
    assert isinstance(dependencies, dict), f"depends_on must name conditions, got {dependencies!r}"
    return dependencies[name]["condition"]


# ---- the branch-specific checks ----
def test_the_compose_file_is_checked_the_strongest_way_available_here(compose):
    if docker_compose_available():
        assert compose.source == "docker compose config"
        # compose resolved the file's own ${...} (not the $$-escaped ones meant for the containers' shell)
        interpolated = {name for name, _, _ in INTERPOLATION.findall(compose.raw_text.replace("$$", ""))}
        resolved = json.dumps(compose.services)
        assert interpolated and not [name for name in interpolated if "${" + name in resolved]
        assert environment(compose.services["db"])["MYSQL_ROOT_PASSWORD"] == read_env_file(ENV_EXAMPLE)["DJ_PASS"]
    else:
        assert compose.source == "pyyaml"
        # compose would interpolate ${NAME} from docker/.env: every required variable must be in .env.example
        variables = read_env_file(ENV_EXAMPLE)
        unescaped = compose.raw_text.replace("$$", "")
        for name, operator, _ in INTERPOLATION.findall(unescaped):
            assert name in variables or operator in (":-", "-"), f"${{{name}}} is neither in .env.example nor defaulted"
        assert environment(compose.services["db"])["MYSQL_ROOT_PASSWORD"].startswith("${DJ_PASS")


# ---- the shared structure ----
def test_services(compose):
    assert set(compose.services) == SERVICES


def test_database_service(compose):
    db = compose.services["db"]
    assert db["image"] == "mysql:8.0"
    assert "--max-allowed-packet=1G" in command_text(db)
    health = db["healthcheck"]
    test = health["test"] if isinstance(health["test"], str) else " ".join(health["test"])
    assert "mysqladmin ping" in test
    # the check uses the credentials the container was started with, not a literal
    assert re.search(r"\$\$?MYSQL_ROOT_PASSWORD", test)
    assert "--user=root" in test
    assert health["retries"] >= 1


def test_app_services_take_credentials_from_the_env_file(compose):
    example = read_env_file(ENV_EXAMPLE)
    assert {"DJ_USER", "DJ_PASS", "EXPERIMENT", "JUPYTER_TOKEN"} <= set(example)
    for name in APP_SERVICES:
        service = compose.services[name]
        assert [Path(path).name for path in env_file_paths(service)] == [".env"], name
        env = environment(service)
        assert env["DJ_HOST"] == "db", name
        # DJ_USER / DJ_PASS come from the env file only
        if compose.source == "pyyaml":
            assert "DJ_PASS" not in env and "DJ_USER" not in env, name
        assert depends_condition(service, "db") == "service_healthy", name
        build = service["build"]
        assert Path(build["dockerfile"]).name == "Dockerfile" and "docker" in str(build["dockerfile"]), name


def test_no_credentials_in_the_compose_file(compose):
    text = compose.raw_text
    secrets = {k: v for k, v in read_env_file(ENV_EXAMPLE).items() if re.search("PASS|TOKEN", k)}
    for name, value in secrets.items():
        assert value not in text, f"the value of {name} from .env.example appears in the compose file"
    # every password / token setting in the file is a variable reference, never a literal
    settings = re.findall(r"(?<![\w{$])([A-Z_]*(?:PASS|PASSWORD|PWD|TOKEN)[A-Z_]*)\s*[:=]\s*\"?([^\s\";]+)", text)
    assert settings  # MYSQL_ROOT_PASSWORD at least
    for key, value in settings:
        assert value.startswith("$"), f"{key} is set to a literal in {COMPOSE_FILE.name}"
    assert not re.search(r"(?<=\s)-p\S|--password", text), "a password on a command line"
    # the user's copy of the env file is never committed
    assert ".env" in (DOCKER / ".gitignore").read_text().split()


def test_worker_is_a_long_lived_worker_and_scales(compose):
    worker = compose.services["worker"]
    # N replicas: no fixed container name, no fixed host port
    assert "container_name" not in worker and "ports" not in worker
    assert depends_condition(worker, "setup") == "service_completed_successfully"
    argv = shlex.split(expand_like_sh(shell_script(worker), read_env_file(ENV_EXAMPLE)))
    # exec: the worker is the container's main process, so `docker compose stop` signals it, not a shell
    assert argv[0] == "exec"
    argv = argv[1:]
    assert argv[:2] == ["neural-cotraining", "worker"]
    from neural_cotraining.cli.main import build_parser

    arguments = build_parser().parse_args(argv[1:])  # the CLI accepts the command line as written
    assert arguments.command == "worker" and arguments.idle_exit is not None and arguments.idle_exit > 0
    # the grace period lets the worker finish its epoch and checkpoint before docker kills it
    grace = str(worker.get("stop_grace_period", ""))
    assert re.match(r"^[1-9]\d*m", grace), f"stop_grace_period {grace!r}: give the epoch minutes, not seconds"
    # /configs in the image holds the repository's configs/ (see the Dockerfile)
    assert (ROOT / "configs" / Path(arguments.experiment).relative_to("/configs")).is_file()


def test_setup_adds_the_experiment_before_the_workers(compose):
    argv = shlex.split(expand_like_sh(shell_script(compose.services["setup"]), read_env_file(ENV_EXAMPLE)))
    from neural_cotraining.cli.main import build_parser

    arguments = build_parser().parse_args(argv[1:])
    assert argv[0] == "neural-cotraining" and arguments.command == "add"
    assert (ROOT / "configs" / Path(arguments.experiment).relative_to("/configs")).is_file()


def test_jupyter_serves_the_examples(compose):
    jupyter = compose.services["jupyter"]
    ports = jupyter["ports"]
    published = [p if isinstance(p, str) else f"{p.get('published')}:{p['target']}" for p in ports]
    assert any(p.endswith("8888:8888") for p in published)
    script = shell_script(jupyter)
    assert "jupyter lab" in script and "--port=8888" in script and "--ip=0.0.0.0" in script
    assert "JUPYTER_TOKEN" in script
    volumes = [v if isinstance(v, str) else f"{v['source']}:{v['target']}" for v in jupyter["volumes"]]
    assert any(v.split(":")[0].rstrip("/").endswith("examples") and ":/examples" in v for v in volumes)


def test_dockerfile_installs_the_package_with_the_constraints():
    text = (DOCKER / "Dockerfile").read_text()
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.strip().startswith("#")]
    assert lines[0] == "FROM python:3.11-slim"
    assert any(line.startswith("COPY") and "constraints.txt" in line for line in lines)
    installs = [line for line in lines if line.startswith("RUN") and "pip install" in line]
    assert any(re.search(r"-c constraints\.txt \.(\s|$)", line) for line in installs), installs
    assert any("jupyterlab" in line for line in installs)
    assert "torchvision" not in " ".join(installs)
    assert (ROOT / "constraints.txt").read_text().count("torch==") == 1
    # the experiment files end up in /configs, following the demo's symlink
    assert any("/configs" in line and "cp -rL" in line for line in lines)
    assert (DOCKER / "Dockerfile.dockerignore").is_file()


def test_readme_gives_the_commands():
    text = (DOCKER / "README.md").read_text()
    assert "cp docker/.env.example docker/.env" in text
    assert "--scale worker=" in text
    assert "docker compose -f docker/docker-compose.yml up" in text
