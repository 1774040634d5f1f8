"""The proxies' image: built from conformance/images/proxies/Dockerfile, FROM a base image.

The base is chosen in this order:

1. ``CORRAL_CONFORMANCE_BASE`` when set (any image; pulled if it is not present).
2. The stock ``debian:bookworm-slim`` when the engine already has it.
3. The base bootstrapped by an earlier run (``corral-conformance/debian:bookworm``): cached.
4. A pull of the stock image, tried only on an engine that was already running before the
   suite (a developer's Docker, which can usually reach a registry) and unless
   ``CORRAL_CONFORMANCE_OFFLINE=1``.
5. Otherwise a bootstrap: ``debootstrap --variant=minbase bookworm`` from this machine's
   apt mirror, imported as ``corral-conformance/debian:bookworm``.

The corral image (deploy/docker/Dockerfile, for test_docker.py) is built FROM
``CORRAL_CONFORMANCE_PYTHON_BASE`` when set, else the stock ``python:3.11-slim`` when the
engine has it (or can pull it, under the same rule as 4.), else a Python image derived
from the base above (images/python/Dockerfile: Debian's python3 and python3-venv).

Every image this module creates is tagged under ``corral-conformance/`` and labelled
``org.corral.conformance=1``. Clean-up only removes older ``corral-conformance/proxies``
and ``corral-conformance/python`` tags and the corral image's previous build; it never
touches another tag, shared or not.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import docker
from docker.errors import DockerException, ImageNotFound
from testcontainers.core.image import DockerImage

STOCK_BASE = "debian:bookworm-slim"
STOCK_PYTHON = "python:3.11-slim"
BOOTSTRAP_BASE = "corral-conformance/debian:bookworm"
PROXIES_REPO = "corral-conformance/proxies"
PYTHON_REPO = "corral-conformance/python"
CORRAL_IMAGE = "corral-conformance/corral:latest"
LABEL = "org.corral.conformance"
IMAGES_DIR = Path(__file__).resolve().parent.parent / "images"
ROOT = IMAGES_DIR.parent.parent
CORRAL_DOCKERFILE = "deploy/docker/Dockerfile"
HOST_CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")
DEFAULT_MIRROR = "http://deb.debian.org/debian"


@dataclass
class BaseImage:
    name: str
    how: str  # "env", "stock", "cached bootstrap", "pulled", "bootstrapped"
    seconds: float = 0.0


@dataclass
class ProxiesImage:
    tag: str
    base: BaseImage
    built: bool
    seconds: float


def _has(client: docker.DockerClient, name: str) -> bool:
    try:
        client.images.get(name)
        return True
    except ImageNotFound:
        return False


def apt_mirror(root: Path = Path("/etc/apt")) -> str:
    """The URI this machine's apt uses for Debian bookworm's main suite."""
    candidates: list[tuple[str, list[str]]] = []
    for path in sorted((root / "sources.list.d").glob("*.sources")):
        for stanza in re.split(r"\n\s*\n", path.read_text()):
            fields: dict[str, str] = {}
            for line in stanza.splitlines():
                if line.startswith("#") or ":" not in line:
                    continue
                key, _, value = line.partition(":")
                fields[key.strip().lower()] = value.strip()
            if fields.get("enabled", "yes").lower() == "no":
                continue
            if "deb" in fields.get("types", "").split():
                candidates.append((fields.get("uris", ""), fields.get("suites", "").split()))
    legacy = [root / "sources.list", *sorted((root / "sources.list.d").glob("*.list"))]
    for path in legacy:
        if not path.exists():
            continue
        for line in path.read_text().splitlines():
            words = re.sub(r"\[[^]]*\]", "", line).split()
            if len(words) >= 3 and words[0] == "deb":
                candidates.append((words[1], [words[2]]))
    for uris, suites in candidates:
        if "bookworm" in suites and uris:
            return uris.split()[0]
    return DEFAULT_MIRROR


def apt_install(*packages: str) -> None:
    if os.geteuid() != 0:
        raise RuntimeError(f"needs {' '.join(packages)}: install them (apt-get install ...)")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-q"], check=True, env=env)
    subprocess.run(
        ["apt-get", "install", "-y", "-q", "--no-install-recommends", *packages],
        check=True,
        env=env,
    )


def bootstrap_base(client: docker.DockerClient, tag: str = BOOTSTRAP_BASE) -> None:
    """debootstrap a minimal bookworm from the machine's mirror and import it as ``tag``."""
    if shutil.which("debootstrap") is None:
        apt_install("debootstrap")
    mirror = apt_mirror()
    with tempfile.TemporaryDirectory(prefix="corral-debootstrap-", dir="/var/tmp") as tmp:
        root = Path(tmp) / "root"
        subprocess.run(
            ["debootstrap", "--variant=minbase", "bookworm", str(root), mirror],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        # Leave apt lists and caches out of the image; the Dockerfile runs apt-get update.
        for junk in ("var/cache/apt/archives", "var/lib/apt/lists"):
            for entry in (root / junk).iterdir():
                if entry.is_file():
                    entry.unlink()
        tarball = Path(tmp) / "root.tar"
        subprocess.run(["tar", "-C", str(root), "-cf", str(tarball), "."], check=True)
        repo, _, version = tag.partition(":")
        client.api.import_image_from_file(
            str(tarball),
            repository=repo,
            tag=version or "latest",
            changes=[f"LABEL {LABEL}=1", 'CMD ["bash"]'],
        )


def choose_base(client: docker.DockerClient, engine_started_here: bool) -> BaseImage:
    began = time.monotonic()
    forced = os.environ.get("CORRAL_CONFORMANCE_BASE")
    if forced:
        if not _has(client, forced):
            client.images.pull(forced)
        return BaseImage(forced, "env", time.monotonic() - began)
    if _has(client, STOCK_BASE):
        return BaseImage(STOCK_BASE, "stock")
    if _has(client, BOOTSTRAP_BASE):
        return BaseImage(BOOTSTRAP_BASE, "cached bootstrap")
    offline = os.environ.get("CORRAL_CONFORMANCE_OFFLINE") == "1"
    if not engine_started_here and not offline:
        try:
            client.images.pull(STOCK_BASE)
            return BaseImage(STOCK_BASE, "pulled", time.monotonic() - began)
        except DockerException:
            pass
    bootstrap_base(client)
    return BaseImage(BOOTSTRAP_BASE, "bootstrapped", time.monotonic() - began)


def image_tag(client: docker.DockerClient, repo: str, folder: Path, base: str) -> str:
    """A tag that changes with the files of ``folder`` and with the base image."""
    digest = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            digest.update(path.name.encode() + b"\0" + path.read_bytes())
    digest.update(str(client.images.get(base).id).encode())
    return f"{repo}:{digest.hexdigest()[:12]}"


def proxies_tag(client: docker.DockerClient, base: str) -> str:
    """A tag that changes with the Dockerfile and with the base image it is built on."""
    return image_tag(client, PROXIES_REPO, IMAGES_DIR / "proxies", base)


def ensure_proxies_image(client: docker.DockerClient, base: BaseImage) -> ProxiesImage:
    """Build the proxies image unless this exact one exists; drop our older builds' tags."""
    began = time.monotonic()
    tag = proxies_tag(client, base.name)
    built = False
    if not _has(client, tag):
        image = DockerImage(
            path=IMAGES_DIR / "proxies",
            tag=tag,
            clean_up=False,
            buildargs={"BASE": base.name},
            labels={LABEL: "1"},
            rm=True,
            forcerm=True,
        )
        image.build()
        built = True
    remove_stale_proxies(client, keep=tag)
    return ProxiesImage(tag, base, built, time.monotonic() - began)


def _python_base(client: docker.DockerClient, base: BaseImage) -> tuple[str, str]:
    """A Python image derived from ``base``: built once per base and CA bundle, cached."""
    with tempfile.TemporaryDirectory(prefix="corral-python-") as tmp:
        context = Path(tmp)
        shutil.copy(IMAGES_DIR / "python" / "Dockerfile", context / "Dockerfile")
        bundle = HOST_CA_BUNDLE.read_bytes() if HOST_CA_BUNDLE.exists() else b""
        (context / "host-ca-certificates.crt").write_bytes(bundle)
        tag = image_tag(client, PYTHON_REPO, context, base.name)
        if _has(client, tag):
            return tag, f"derived from {base.name}, cached"
        _build(client, str(context), "Dockerfile", tag, base.name)
    remove_stale(client, PYTHON_REPO, keep=tag)
    return tag, f"derived from {base.name}, built"


def choose_python_base(
    client: docker.DockerClient, base: BaseImage, engine_started_here: bool
) -> tuple[str, str]:
    """The BASE for deploy/docker/Dockerfile, and how it was obtained."""
    forced = os.environ.get("CORRAL_CONFORMANCE_PYTHON_BASE")
    if forced:
        if not _has(client, forced):
            client.images.pull(forced)
        return forced, "env"
    if _has(client, STOCK_PYTHON):
        return STOCK_PYTHON, "stock"
    offline = os.environ.get("CORRAL_CONFORMANCE_OFFLINE") == "1"
    if not engine_started_here and not offline:
        try:
            client.images.pull(STOCK_PYTHON)
            return STOCK_PYTHON, "pulled"
        except DockerException:
            pass
    return _python_base(client, base)


def _build(client: docker.DockerClient, path: str, dockerfile: str, tag: str, base: str) -> str:
    """Build an image (the engine's layer cache applies); its id. A failure shows the log."""
    try:
        image, _ = client.images.build(
            path=path,
            dockerfile=dockerfile,
            tag=tag,
            buildargs={"BASE": base},
            labels={LABEL: "1"},
            rm=True,
            forcerm=True,
        )
    except docker.errors.BuildError as error:
        log = "".join(str(chunk.get("stream", chunk.get("error", ""))) for chunk in error.build_log)
        raise RuntimeError(f"building {tag} failed: {error}\n{log[-6000:]}") from None
    return str(image.id)


@dataclass
class CorralImage:
    tag: str
    base: str
    how: str
    seconds: float


def build_corral_image(client: docker.DockerClient, python_base: str, how: str) -> CorralImage:
    """deploy/docker/Dockerfile built from the repository, FROM ``python_base``.

    Built on every run (the layer cache makes an unchanged tree cheap); the previous
    build's image is removed when the tag moves to a new one.
    """
    began = time.monotonic()
    previous = client.images.get(CORRAL_IMAGE).id if _has(client, CORRAL_IMAGE) else None
    new = _build(client, str(ROOT), CORRAL_DOCKERFILE, CORRAL_IMAGE, python_base)
    if previous is not None and previous != new:
        try:
            client.images.remove(previous, noprune=False)
        except DockerException:
            pass  # still used by a container: left for next time
    return CorralImage(CORRAL_IMAGE, python_base, how, time.monotonic() - began)


def remove_stale_proxies(client: docker.DockerClient, keep: str) -> list[str]:
    """Untag our earlier proxies builds (an image is deleted only when no tag is left)."""
    return remove_stale(client, PROXIES_REPO, keep)


def remove_stale(client: docker.DockerClient, repo: str, keep: str) -> list[str]:
    """Untag our earlier builds in ``repo`` (an image is deleted when no tag is left)."""
    removed = []
    for image in client.images.list(name=repo, filters={"label": f"{LABEL}=1"}):
        for tag in image.tags:
            if tag.startswith(repo + ":") and tag != keep:
                try:
                    client.images.remove(tag, noprune=False)
                    removed.append(tag)
                except DockerException:
                    pass  # still used by a container of another run: left for next time
    return removed
