"""``make check-deploy``: the deployment descriptors checked offline, without a Docker engine or a cluster.

What it checks, and what it cannot:
- every kustomize overlay renders (kustomize, pinned in deploy/check.sh), and every rendered object of a
  built-in kind validates against the OpenAPI schemas of Kubernetes ``K8S_VERSION`` (strict: unknown fields
  fail); objects of the operators' kinds (Strimzi, CloudNativePG, Prometheus Operator) have no schema
  here and are checked only for the fields the platform relies on;
- the workloads: non-root read-only containers, probes, replicas, commands that the ``branchwork`` CLI
  parses, settings that the code reads, secrets and config maps that exist or are declared external;
- the compose file against the Compose Specification schema, plus pinned images, known commands, real
  settings, health checks and ``depends_on`` conditions; every relay and worker has a service;
- the Dockerfile's shape (pinned base, stages, non-root user, no build tools in the final stage) — the
  image itself is not built here;
- the generated files (event catalogue, kustomize base) are current; the alert rules and the Grafana
  dashboard name only metrics that exist.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
from importlib import resources
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from shared import cli, metrics  # noqa: E402
from shared.config import DEFAULT_PORTS  # noqa: E402

K8S_VERSION = "1.34.0"
OVERLAYS = ("dev", "prod")
OPERATOR_KINDS = {  # kind → fields the platform relies on
    "Kafka": ("spec.kafka.listeners", "spec.kafka.config"),
    "KafkaNodePool": ("spec.replicas", "spec.roles", "spec.storage"),
    "Cluster": ("spec.instances", "spec.storage", "spec.enableSuperuserAccess"),
    "PrometheusRule": ("spec.groups",),
}
EXTERNAL_SECRETS = {"branchwork-secrets", "branchwork-pg-admin", "branchwork-postgres-superuser", "branchwork-tls"}
BUILD_TOOLS = re.compile(r"\b(gcc|g\+\+|make|build-essential|cargo|rustc|golang|libpq-dev|python3-dev|pip install)\b")
COMPOSE = REPO / "deploy" / "compose" / "compose.yaml"
DOCKERFILE = REPO / "deploy" / "Dockerfile"
DASHBOARD = REPO / "deploy" / "monitoring" / "grafana-dashboard.json"
RULES = REPO / "deploy" / "k8s" / "components" / "monitoring" / "prometheus-rules.yaml"


class Report:
    def __init__(self) -> None:
        self.problems: list[str] = []

    def check(self, ok: bool, problem: str) -> None:
        if not ok:
            self.problems.append(problem)

    def section(self, title: str, before: int, detail: str = "") -> None:
        failed = len(self.problems) - before
        print(f"{'ok  ' if not failed else 'FAIL'} {title}{f' ({detail})' if detail else ''}")
        for problem in self.problems[before:]:
            print(f"       {problem}")


# --- what is real: settings, commands, workers, metrics ---------------------------------------------------------

def known_settings() -> set[str]:
    """Every BRANCHWORK_* variable the code reads: literal names, and per-service templates for each service."""
    names: set[str] = set()
    for path in [*REPO.glob("shared/**/*.py"), *REPO.glob("services/**/*.py"), *REPO.glob("contracts/**/*.py")]:
        text = path.read_text(encoding="utf-8")
        names.update(re.findall(r"[\"'](BRANCHWORK_[A-Z0-9_]+)[\"']", text))
        for suffix in re.findall(r"f[\"']BRANCHWORK_\{[a-z_.()]+\}_([A-Z0-9_]+)[\"']", text):
            names.update(f"BRANCHWORK_{service.upper()}_{suffix}" for service in cli.SERVICES)
    return names


def command_problem(args: list[str]) -> str | None:
    """Why ``branchwork ARGS`` would not run, or None."""
    try:
        parsed = cli.parser().parse_args(args)
    except SystemExit:
        return f"`branchwork {' '.join(args)}` is not a command the CLI accepts"
    if parsed.command == "worker" and parsed.name not in cli.SERVICES.service(parsed.service).worker_names():
        return f"`branchwork {' '.join(args)}`: {parsed.service} has no worker {parsed.name}"
    return None


def all_workers() -> set[tuple[str, str]]:
    return {(service, name) for service in cli.SERVICES for name in cli.SERVICES.service(service).worker_names()}


def known_metrics() -> set[str]:
    """Every series name the platform exposes: counters and histograms, database gauges, consumer lag."""
    from prometheus_client import REGISTRY
    for service in cli.SERVICES:
        __import__(f"services.{service}.app")
    names = {name for names in REGISTRY._collector_to_names.values() for name in names}
    gauges = list(metrics.COMMON_GAUGES)
    for service in cli.SERVICES:
        gauges += list(cli.SERVICES.service(service).gauges)
    return names | {gauge.name for gauge in gauges} | {"branchwork_consumer_lag"}


def metric_names(expression: str) -> set[str]:
    """The metric names a PromQL expression reads (names of the platform's own series)."""
    return set(re.findall(r"\b(branchwork_[a-z0-9_]+)\b", expression))


# --- Kubernetes ------------------------------------------------------------------------------------------------

def render(kustomize: str, overlay: str) -> list[dict]:
    path = REPO / "deploy" / "k8s" / "overlays" / overlay
    built = subprocess.run([kustomize, "build", str(path)], capture_output=True, text=True, check=False)
    if built.returncode != 0:
        raise RuntimeError(f"kustomize build {overlay}: {built.stderr.strip()}")
    return [doc for doc in yaml.safe_load_all(built.stdout) if doc]


def field(doc: dict, dotted: str):
    for part in dotted.split("."):
        if not isinstance(doc, dict) or part not in doc:
            return None
        doc = doc[part]
    return doc


def validate_objects(report: Report, overlay: str, docs: list[dict]) -> tuple[int, list[str]]:
    import kubernetes_validate
    validated, skipped = 0, []
    for doc in docs:
        name = f"{overlay}: {doc.get('kind')}/{field(doc, 'metadata.name')}"
        if doc.get("kind") in OPERATOR_KINDS:
            skipped.append(doc["kind"])
            for required in OPERATOR_KINDS[doc["kind"]]:
                report.check(field(doc, required) is not None, f"{name}: no {required}")
            continue
        try:
            kubernetes_validate.validate(doc, K8S_VERSION, strict=True)
            validated += 1
        except kubernetes_validate.ValidationError as error:
            report.check(False, f"{name}: {error.message} at {'.'.join(map(str, error.path))}")
        except kubernetes_validate.SchemaNotFoundError:
            report.check(False, f"{name}: no schema for {doc.get('apiVersion')} {doc.get('kind')}")
    return validated, sorted(set(skipped))


def check_workloads(report: Report, overlay: str, docs: list[dict], settings: set[str]) -> None:
    by_kind: dict[str, dict[str, dict]] = {}
    for doc in docs:
        by_kind.setdefault(doc["kind"], {})[doc["metadata"]["name"]] = doc
    secrets, config_maps = set(by_kind.get("Secret", {})), by_kind.get("ConfigMap", {})
    for config in config_maps.values():
        for key in config.get("data", {}):
            report.check(key in settings, f"{overlay}: ConfigMap {config['metadata']['name']} sets {key}, "
                                          "which no code reads")
    seen = set()
    for kind in ("Deployment", "Job"):
        for name, doc in by_kind.get(kind, {}).items():
            pod = doc["spec"]["template"]["spec"]
            for container in pod["containers"]:
                seen.add(tuple(container["args"][:3]))
                _check_container(report, f"{overlay}: {kind}/{name}", container, pod, settings, secrets,
                                 set(config_maps))
            if kind == "Deployment" and doc["metadata"]["labels"].get("branchwork/tier") == "http":
                report.check(doc["spec"]["replicas"] >= 2, f"{overlay}: {name} runs fewer than 2 replicas")
                probes = pod["containers"][0]
                report.check(field(probes, "readinessProbe.httpGet.path") == "/readyz",
                             f"{name}: readiness not /readyz")
                report.check(field(probes, "livenessProbe.httpGet.path") == "/healthz",
                             f"{name}: liveness not /healthz")
    for service in cli.SERVICES:
        report.check(("serve", service) in seen, f"{overlay}: no Deployment serves {service}")
        http = f"branchwork-{service}"
        for kind in ("Service", "PodDisruptionBudget", "HorizontalPodAutoscaler"):
            wanted = service if kind == "Service" else http
            report.check(wanted in by_kind.get(kind, {}), f"{overlay}: no {kind} {wanted}")
    for service in cli.publishing_services():
        report.check(("relay", service) in seen, f"{overlay}: no Deployment runs the {service} relay")
    for service, name in all_workers():
        if name not in {"notify-mailbox"}:
            report.check(("worker", service, name) in seen, f"{overlay}: no Deployment runs worker {name}")
    report.check(("setup",) in seen, f"{overlay}: no migration Job runs `branchwork setup`")
    for wanted in ("Ingress", "NetworkPolicy"):
        report.check(bool(by_kind.get(wanted)), f"{overlay}: no {wanted}")


def _check_container(report: Report, where: str, container: dict, pod: dict, settings: set[str],
                     secrets: set[str], config_maps: set[str]) -> None:
    problem = command_problem(container["args"])
    report.check(problem is None, f"{where}: {problem}")
    image = container["image"]
    report.check(("@sha256:" in image or re.search(r":[\w.-]+$", image.split("/")[-1]) is not None)
                 and not image.endswith(":latest"), f"{where}: image {image} is not pinned")
    security = {**pod.get("securityContext", {}), **container.get("securityContext", {})}
    report.check(security.get("runAsNonRoot") is True and security.get("readOnlyRootFilesystem") is True
                 and security.get("allowPrivilegeEscalation") is False, f"{where}: not non-root and read-only")
    report.check(bool(field(container, "resources.requests")) and bool(field(container, "resources.limits")),
                 f"{where}: no resource requests and limits")
    for variable in container.get("env", []):
        report.check(variable["name"] in settings, f"{where}: {variable['name']} is not a setting")
        secret = field(variable, "valueFrom.secretKeyRef.name")
        if secret:
            report.check(secret in secrets or secret in EXTERNAL_SECRETS, f"{where}: unknown secret {secret}")
    for source in container.get("envFrom", []):
        name = field(source, "configMapRef.name")
        report.check(name is None or name in config_maps, f"{where}: no ConfigMap {name}")


# --- compose and the Dockerfile -------------------------------------------------------------------------------

def check_compose(report: Report, settings: set[str]) -> int:
    import jsonschema
    compose = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    schema = json.loads(resources.files("check_jsonschema.builtin_schemas.vendor").joinpath(
        "compose-spec.json").read_text(encoding="utf-8"))
    for error in jsonschema.Draft7Validator(schema).iter_errors(compose):
        report.check(False, f"compose: {error.message} at {'.'.join(map(str, error.path))}")
    services = compose["services"]
    commands = set()
    for name, service in services.items():
        image = re.sub(r"\$\{\w+:-([^}]*)\}", r"\1", service.get("image", ""))  # a variable's default
        report.check(("@sha256:" in image or re.search(r":\d+(\.\d+)+[\w.-]*$", image) is not None)
                     and "$" not in image, f"compose: {name}: image {image!r} is not pinned to a release")
        branchwork = "build" in service
        if branchwork:
            problem = command_problem(service.get("command", []))
            report.check(problem is None, f"compose: {name}: {problem}")
            commands.add(tuple(service.get("command", [])[:3]))
            for variable in service.get("environment", {}):
                report.check(variable in settings, f"compose: {name}: {variable} is not a setting")
        if service.get("restart") != "no":
            report.check("healthcheck" in service, f"compose: {name} has no health check")
        for dependency, condition in (service.get("depends_on") or {}).items():
            report.check(dependency in services, f"compose: {name} depends on unknown {dependency}")
            report.check(condition.get("condition") in ("service_healthy", "service_completed_successfully"),
                         f"compose: {name} waits for {dependency} without a condition")
    expected = {("serve", s) for s in cli.SERVICES} | {("relay", s) for s in cli.publishing_services()} | {
        ("worker", s, n) for s, n in all_workers()} | {("setup",)}
    for missing in sorted(expected - commands):
        report.check(False, f"compose: no service runs `branchwork {' '.join(missing)}`")
    kafka = [name for name, service in services.items() if service.get("image", "").startswith("apache/kafka:")]
    report.check(len(kafka) == 3, f"compose: {len(kafka)} Kafka nodes, not 3")
    for name in kafka:
        report.check(services[name]["environment"].get("KAFKA_PROCESS_ROLES") == "broker,controller",
                     f"compose: {name} is not a KRaft node")
    return len(services)


def check_dockerfile(report: Report) -> None:
    text = DOCKERFILE.read_text(encoding="utf-8")
    lines = [line.strip() for line in re.sub(r"\\\n", " ", text).splitlines() if line.strip()
             and not line.strip().startswith("#")]
    args = dict(re.findall(r"^ARG (\w+)=(\S+)", "\n".join(lines), re.M))
    stages = [line for line in lines if line.startswith("FROM ")]
    report.check(len(stages) >= 2, "Dockerfile: not multi-stage")
    for stage in stages:
        image = re.sub(r"\$\{(\w+)\}", lambda m: args.get(m.group(1), m.group(0)), stage.split()[1])
        report.check("@sha256:" in image or re.search(r":\d+\.\d+\.\d+", image) is not None,
                     f"Dockerfile: base {image} is not pinned to a digest or an exact release")
    final = lines[lines.index(stages[-1]):]
    users = [line.split()[1] for line in final if line.startswith("USER ")]
    report.check(bool(users) and users[-1].split(":")[0] not in ("0", "root"), "Dockerfile: final stage runs as root")
    for line in final:
        if line.startswith("RUN "):
            report.check(not BUILD_TOOLS.search(line), f"Dockerfile: build tools in the final stage: {line[:80]}")
    report.check(any(line.startswith("COPY --from=") for line in final), "Dockerfile: final stage copies no build")
    report.check('ENTRYPOINT ["branchwork"]' in final, "Dockerfile: the entry point is not `branchwork`")
    for port in DEFAULT_PORTS.values():
        report.check(str(port) in text, f"Dockerfile: port {port} not exposed")


# --- generated files and observability ------------------------------------------------------------------------

def check_generated(report: Report) -> None:
    from shared import catalogue
    stale = catalogue.stale(cli.CATALOGUE_DIR, catalogue.render(cli.catalogue_topics(), cli._version()))
    report.check(not stale, f"docs/events is stale: {stale[:5]} (run: .venv/bin/branchwork catalogue)")
    generated = subprocess.run([sys.executable, str(REPO / "deploy" / "k8s" / "generate.py"), "--check"],
                               capture_output=True, text=True, cwd=REPO, check=False)
    report.check(generated.returncode == 0, generated.stderr.strip())


def check_observability(report: Report) -> int:
    known = known_metrics()
    rules = yaml.safe_load(RULES.read_text(encoding="utf-8"))
    expressions = [(rule["alert"], rule["expr"]) for group in rules["spec"]["groups"] for rule in group["rules"]]
    for alert, expression in expressions:
        for name in metric_names(expression) - known:
            report.check(False, f"alert {alert} reads {name}, which nothing exposes")
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    for panel in dashboard["panels"]:
        for target in panel.get("targets", []):
            for name in metric_names(target["expr"]) - known:
                report.check(False, f"dashboard panel {panel['title']!r} reads {name}, which nothing exposes")
    operations_doc = (REPO / "docs" / "operations.md").read_text(encoding="utf-8")
    documented = set(re.findall(r"^\| `(branchwork_[a-z0-9_]+)`", operations_doc, re.M))
    own = {name for name in known if name.startswith("branchwork_")}
    exposed = {re.sub(r"_(total|bucket|count|sum|created)$", "", name) for name in own}
    for name in sorted(exposed - documented):
        report.check(False, f"docs/operations.md does not describe {name}")
    for name in sorted(documented - exposed):
        report.check(False, f"docs/operations.md describes {name}, which nothing exposes")
    return len(expressions)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kustomize", required=True, help="the kustomize binary (deploy/check.sh builds it)")
    args = parser.parse_args(argv)
    report, settings = Report(), known_settings()
    before = len(report.problems)
    check_generated(report)
    report.section("generated files are current (docs/events, deploy/k8s/base)", before)
    for overlay in OVERLAYS:
        before = len(report.problems)
        docs = render(args.kustomize, overlay)
        validated, skipped = validate_objects(report, overlay, docs)
        check_workloads(report, overlay, docs, settings)
        report.section(f"k8s overlay {overlay}", before, f"{len(docs)} objects, {validated} validated against "
                       f"Kubernetes {K8S_VERSION} schemas (strict); not validated (operator kinds, no schema): "
                       f"{', '.join(skipped) or 'none'}")
    before = len(report.problems)
    count = check_compose(report, settings)
    report.section("compose", before, f"{count} services against the Compose Specification schema")
    before = len(report.problems)
    check_dockerfile(report)
    report.section("Dockerfile shape (not built: no Docker engine here)", before)
    before = len(report.problems)
    rules = check_observability(report)
    report.section("alert rules, Grafana dashboard, metrics documented", before, f"{rules} alert rules")
    print("check-deploy: " + ("passed" if not report.problems else f"{len(report.problems)} problem(s)"))
    return 1 if report.problems else 0


if __name__ == "__main__":
    sys.exit(main())
