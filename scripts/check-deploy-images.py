#!/usr/bin/env python3
"""Checks what hadolint does not know about antpath's images and their tags.

- deploy/Dockerfile has a final stage per service (bff, worker, sweeper, sim); each runs as a
  non-root USER, and the bff and worker stages declare a HEALTHCHECK (the sweeper is a one-shot
  CronJob: HEALTHCHECK NONE); every base image names a tag other than `latest`; no ADD fetches
  a URL.
- The release workflow builds and pushes each service's target as `<app>:v<version>`.
- Every image the Kubernetes manifests name is one of those, at the workspace's version, and
  the migration Job's name carries the version (Jobs are immutable: one per release).

Prints each problem and exits 1 if there is any.
"""

import pathlib
import re
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
SERVICES = ["bff", "worker", "sweeper"]
TARGETS = SERVICES + ["sim"]
NEEDS_HEALTHCHECK = {"bff", "worker"}

problems = []


def dockerfile_stages(text):
    """(stage name, base image, list of (instruction, args)) per FROM, continuation lines joined."""
    lines = re.sub(r"\\\n", " ", text).splitlines()
    stages = []
    for line in lines:
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        instruction, _, args = line.partition(" ")
        instruction = instruction.upper()
        if instruction == "FROM":
            match = re.match(r"(?:--\S+\s+)*(\S+)(?:\s+AS\s+(\S+))?", args, re.IGNORECASE)
            stages.append((match.group(2) or "", match.group(1), []))
        elif stages:
            stages[-1][2].append((instruction, args.strip()))
    return stages


stages = dockerfile_stages((ROOT / "deploy/Dockerfile").read_text())
names = {name for name, _, _ in stages}
for name, base, body in stages:
    if base not in names:
        image, _, tag = base.rpartition(":") if ":" in base.split("/")[-1] else (base, "", "")
        if not tag or tag == "latest":
            problems.append(f"Dockerfile stage {name or base}: base image {base} needs a pinned tag")
    for instruction, args in body:
        if instruction == "ADD" and re.search(r"https?://", args):
            problems.append(f"Dockerfile stage {name}: ADD of a URL ({args}); download in RUN and verify it")
for target in TARGETS:
    stage = next((s for s in stages if s[0] == target), None)
    if stage is None:
        problems.append(f"Dockerfile has no `{target}` target")
        continue
    users = [args for instruction, args in stage[2] if instruction == "USER"]
    if not users or users[-1].split(":")[0] in ("0", "root"):
        problems.append(f"Dockerfile target {target} must end as a non-root USER")
    checks = [args for instruction, args in stage[2] if instruction == "HEALTHCHECK"]
    if target in NEEDS_HEALTHCHECK and not any(c.upper().find("CMD") >= 0 and "/healthz" in c for c in checks):
        problems.append(f"Dockerfile target {target} needs a HEALTHCHECK on /healthz")
    if not any(instruction == "ENTRYPOINT" for instruction, _ in stage[2]):
        problems.append(f"Dockerfile target {target} has no ENTRYPOINT")

version = re.search(r'^version = "([^"]+)"', (ROOT / "Cargo.toml").read_text(), re.MULTILINE).group(1)
tag = f"v{version}"

workflow = (ROOT / ".github/workflows/release.yml").read_text()
# The images are tagged with the version the release job read from Cargo.toml, either directly
# from its step output or through a VERSION variable set from it.
tagged = ":v${{ needs.version.outputs.version }}" in workflow or (
    ":v$VERSION" in workflow and "VERSION: ${{ steps.version.outputs.version }}" in workflow
)
if "--target $app" not in workflow or not tagged:
    problems.append("release.yml must build `--target $app` and tag `:v<version>` for each service")
for service in SERVICES:
    if not re.search(rf"for app in [^\n;]*\b{service}\b", workflow):
        problems.append(f"release.yml does not build and push the {service} image")

for path in sorted((ROOT / "deploy/kubernetes").glob("*.yaml")):
    text = path.read_text()
    for image in re.findall(r"^\s*image:\s*(\S+)", text, re.MULTILINE):
        repo, _, image_tag = image.rpartition(":")
        app = repo.rsplit("/", 1)[-1]
        if app not in SERVICES:
            problems.append(f"{path.name}: image {image} is not one the release pushes ({', '.join(SERVICES)})")
        if image_tag != tag:
            problems.append(f"{path.name}: image {image} must use the released tag :{tag}")
    for job in re.findall(r"^  name: (antpath-migrate\S*)$", text, re.MULTILINE):
        if job != f"antpath-migrate-{tag.replace('.', '-')}":
            problems.append(f"{path.name}: the migration Job must be named antpath-migrate-{tag.replace('.', '-')}")

for problem in problems:
    print(f"check-deploy: {problem}", file=sys.stderr)
if problems:
    sys.exit(1)
print(f"images: {len(TARGETS)} targets, non-root, health checks on {', '.join(sorted(NEEDS_HEALTHCHECK))}; manifests use :{tag}")
