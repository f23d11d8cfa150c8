"""The offline deployment checks of `make check-deploy`: they pass on the committed files and catch what they claim."""

from __future__ import annotations

import copy
import importlib.util
import json
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
spec = importlib.util.spec_from_file_location("deploy_check", REPO / "deploy" / "check.py")
check = importlib.util.module_from_spec(spec)
spec.loader.exec_module(check)


def base_docs() -> list[dict]:
    docs = []
    for name in ("config.yaml", "http.yaml", "workers.yaml", "migrate.yaml", "ingress.yaml", "network-policies.yaml"):
        docs += [doc for doc in yaml.safe_load_all((REPO / "deploy/k8s/base" / name).read_text()) if doc]
    for doc in docs:
        for container in doc.get("spec", {}).get("template", {}).get("spec", {}).get("containers", []):
            container["image"] = "registry.example.org/branchwork:0.1.0"  # what the overlays' images: set
    return docs


def problems_of(run) -> list[str]:
    report = check.Report()
    run(report)
    return report.problems


def test_the_base_workloads_pass_and_a_root_container_an_unknown_setting_and_worker_do_not():
    settings = check.known_settings()
    assert problems_of(lambda r: check.check_workloads(r, "base", base_docs(), settings)) == []
    docs = base_docs()
    audit = next(d for d in docs if d["metadata"]["name"] == "branchwork-audit")
    container = audit["spec"]["template"]["spec"]["containers"][0]
    container["securityContext"]["readOnlyRootFilesystem"] = False
    container["env"].append({"name": "BRANCHWORK_NO_SUCH_SETTING", "value": "1"})
    views = next(d for d in docs if d["metadata"]["name"] == "branchwork-audit-views")
    views["spec"]["template"]["spec"]["containers"][0]["args"] = ["worker", "audit", "audit-nothing"]
    audit["spec"]["replicas"] = 1
    found = "\n".join(problems_of(lambda r: check.check_workloads(r, "base", docs, settings)))
    for expected in ("not non-root and read-only", "BRANCHWORK_NO_SUCH_SETTING is not a setting",
                     "audit has no worker audit-nothing", "fewer than 2 replicas",
                     "no Deployment runs worker audit-views"):
        assert expected in found


def test_the_settings_the_code_reads_include_the_per_service_ones():
    settings = check.known_settings()
    assert {"BRANCHWORK_PG_ADMIN_DSN", "BRANCHWORK_AUDIT_URL", "BRANCHWORK_NOTIFY_DATABASE",
            "BRANCHWORK_METRICS_PORT"} <= settings
    assert "BRANCHWORK_HTTP_PORT" not in settings


def test_the_compose_file_passes_and_an_unpinned_image_or_unknown_setting_does_not(tmp_path, monkeypatch):
    settings = check.known_settings()
    assert problems_of(lambda r: check.check_compose(r, settings)) == []
    compose = yaml.safe_load(check.COMPOSE.read_text())
    compose["services"]["kafka-2"]["image"] = "apache/kafka:latest"
    compose["services"]["members"]["environment"]["BRANCHWORK_MEMBER_PORT"] = "1"
    compose["services"]["audit-views"]["command"] = ["views"]
    del compose["services"]["notify-relay"]
    path = tmp_path / "compose.yaml"
    path.write_text(yaml.safe_dump(compose))
    monkeypatch.setattr(check, "COMPOSE", path)
    found = "\n".join(problems_of(lambda r: check.check_compose(r, settings)))
    for expected in ("kafka-2: image", "BRANCHWORK_MEMBER_PORT is not a setting", "`branchwork views`",
                     "no service runs `branchwork relay notify`"):
        assert expected in found


def test_the_dockerfile_passes_and_a_root_user_or_a_compiler_in_the_last_stage_does_not(tmp_path, monkeypatch):
    assert problems_of(check.check_dockerfile) == []
    text = check.DOCKERFILE.read_text().replace("USER 10001:10001", "USER root").replace(
        "fonts-noto-cjk", "fonts-noto-cjk gcc").replace("python:3.11.13-slim-bookworm", "python:3-slim")
    path = tmp_path / "Dockerfile"
    path.write_text(text)
    monkeypatch.setattr(check, "DOCKERFILE", path)
    found = "\n".join(problems_of(check.check_dockerfile))
    assert "runs as root" in found and "build tools" in found and "not pinned" in found


def test_the_dashboard_parses_and_names_only_metrics_that_exist():
    dashboard = json.loads(check.DASHBOARD.read_text())
    known = check.known_metrics()
    named = {name for panel in dashboard["panels"] for target in panel["targets"]
             for name in check.metric_names(target["expr"])}
    assert named and named <= known
    assert problems_of(check.check_observability) == []


def test_an_alert_or_a_panel_on_a_metric_nothing_exposes_is_reported(tmp_path, monkeypatch):
    rules = yaml.safe_load(check.RULES.read_text())
    rules["spec"]["groups"][0]["rules"][0]["expr"] = "branchwork_outbox_age_seconds > 300"
    dashboard = json.loads(check.DASHBOARD.read_text())
    broken = copy.deepcopy(dashboard)
    broken["panels"][0]["targets"][0]["expr"] = "sum(branchwork_relay_sent_total)"
    (tmp_path / "rules.yaml").write_text(yaml.safe_dump(rules))
    (tmp_path / "dashboard.json").write_text(json.dumps(broken))
    monkeypatch.setattr(check, "RULES", tmp_path / "rules.yaml")
    monkeypatch.setattr(check, "DASHBOARD", tmp_path / "dashboard.json")
    found = "\n".join(problems_of(check.check_observability))
    assert "branchwork_outbox_age_seconds" in found and "branchwork_relay_sent_total" in found


@pytest.mark.parametrize("overlay", check.OVERLAYS)
def test_every_overlay_is_a_kustomization_over_the_base(overlay):
    kustomization = yaml.safe_load((REPO / "deploy/k8s/overlays" / overlay / "kustomization.yaml").read_text())
    assert "../../base" in kustomization["resources"]
