"""deploy/kubernetes/: the manifests are valid Kubernetes objects and stop pods gracefully.

Validation is offline: kubernetes-validate ships the API's JSON schemas, and strict mode
rejects fields the API does not have (a misspelt probe setting would otherwise be dropped
silently by kubectl's client-side defaults). The container's arguments are parsed by
corral's own configuration loader, so the timing rules below use the values corral will
really run with.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from corral.config import load_config
from kubernetes_validate import utils as kv

MANIFESTS = Path(__file__).resolve().parents[4] / "deploy" / "kubernetes"
# The oldest Kubernetes minor still maintained when these were written, and the newest the
# validator knows: the manifests must be valid for both.
VERSIONS = ["1.30.0", kv.latest_version() + ".0"]


def documents() -> list[tuple[str, dict[str, Any]]]:
    found = []
    for path in sorted(MANIFESTS.glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            if doc:
                found.append((path.name, doc))
    return found


def one(kind: str) -> dict[str, Any]:
    (doc,) = [doc for _, doc in documents() if doc["kind"] == kind]
    return doc


def container() -> dict[str, Any]:
    (only,) = one("Deployment")["spec"]["template"]["spec"]["containers"]
    return only


def corral_config() -> Any:
    env = {item["name"]: item["value"] for item in container().get("env", [])}
    return load_config(container()["args"], env)


def test_every_manifest_is_a_deployment_service_or_ingress() -> None:
    kinds = sorted(doc["kind"] for _, doc in documents())
    assert kinds == ["Deployment", "Ingress", "Service"]


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("name,doc", documents(), ids=lambda v: v if isinstance(v, str) else "")
def test_manifest_validates_strictly_against_the_api_schema(
    name: str, doc: dict[str, Any], version: str
) -> None:
    validated = kv.validate(doc, version, strict=True)
    assert validated == kv.major_minor(version)


def test_validator_rejects_a_misspelt_field() -> None:
    """The check above can fail: strict validation catches an unknown probe field."""
    deployment = one("Deployment")
    broken = yaml.safe_load(yaml.safe_dump(deployment))
    broken["spec"]["template"]["spec"]["containers"][0]["readinessProbe"]["periodSecond"] = 5
    with pytest.raises(kv.ValidationError):
        kv.validate(broken, VERSIONS[-1], strict=True)


def test_grace_period_covers_the_pre_stop_sleep_and_corrals_graceful_timeout() -> None:
    """The kubelet's grace period runs from the start of preStop: the sleep, then TERM and
    corral's --graceful-timeout must both fit in it, or KILL cuts requests in flight."""
    spec = one("Deployment")["spec"]["template"]["spec"]
    command = container()["lifecycle"]["preStop"]["exec"]["command"]
    assert command[0] == "sleep", command
    pre_stop = int(command[1])
    graceful = corral_config().graceful_timeout
    assert graceful == 25
    assert spec["terminationGracePeriodSeconds"] > pre_stop + graceful, (
        spec["terminationGracePeriodSeconds"],
        pre_stop,
        graceful,
    )


def test_corral_binds_the_port_the_probes_and_the_service_use() -> None:
    (port,) = container()["ports"]
    assert corral_config().bind == [f"0.0.0.0:{port['containerPort']}"]
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert container()[probe]["httpGet"]["port"] == port["name"], probe
    (service_port,) = one("Service")["spec"]["ports"]
    assert service_port["targetPort"] == port["name"]


def test_liveness_gives_up_later_than_readiness() -> None:
    """A pod that stops answering leaves the Service first and is restarted only later."""
    ready, alive = container()["readinessProbe"], container()["livenessProbe"]
    assert (
        ready["periodSeconds"] * ready["failureThreshold"]
        < alive["periodSeconds"] * alive["failureThreshold"]
    )


def test_service_and_ingress_reach_the_deployments_pods() -> None:
    deployment, service, ingress = one("Deployment"), one("Service"), one("Ingress")
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert deployment["spec"]["selector"]["matchLabels"].items() <= labels.items()
    assert service["spec"]["selector"].items() <= labels.items()
    backends = [
        path["backend"]["service"]
        for rule in ingress["spec"]["rules"]
        for path in rule["http"]["paths"]
    ]
    assert backends == [{"name": service["metadata"]["name"], "port": {"name": "http"}}]


def test_pods_run_as_the_images_non_root_user() -> None:
    """The uid the Dockerfile's USER names (10001), so runAsNonRoot can verify it."""
    pod = one("Deployment")["spec"]["template"]["spec"]["securityContext"]
    dockerfile = (MANIFESTS.parent / "docker" / "Dockerfile").read_text()
    assert pod["runAsNonRoot"] is True
    assert f"USER {pod['runAsUser']}:{pod['runAsGroup']}" in dockerfile.splitlines()
