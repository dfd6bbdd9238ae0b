# gitward's own image: Python, git, ssh, helm and gitward, built by `gitward ci`
# (see gitward-ci.yaml beside this file). Two inputs come from outside:
#   BASE_IMAGE       a Debian-based image with python3 (the dev registry's
#                    `gitward dev base-image`, or python:3.11-slim-bookworm);
#   --build-context helm=DIR   a directory holding the helm binary (the pinned
#                    build of tools/build.sh, or docker-image://<an image with /helm>);
#   --secret id=ca,src=FILE    the CA bundle to trust while installing from PyPI.
ARG BASE_IMAGE=docker.io/library/python:3.11-slim-bookworm
FROM ${BASE_IMAGE}
ARG DEBIAN_FRONTEND=noninteractive
RUN apt-get update -qq \
 && apt-get install -y -qq --no-install-recommends git openssh-client ca-certificates python3-venv \
 && rm -rf /var/lib/apt/lists/*
COPY --from=helm helm /usr/local/bin/helm
# The locked environment (uv.lock), as scripts/setup makes it, without the dev tools.
COPY pyproject.toml uv.lock README.md /src/
COPY gitward /src/gitward
# The build host's trusted CAs (a secret: mounted for this step only, never
# in the image) reach PyPI through a proxy that re-signs TLS, if there is one.
RUN --mount=type=secret,id=ca,target=/run/secrets/ca \
    export SSL_CERT_FILE=/run/secrets/ca PIP_CERT=/run/secrets/ca \
 && /usr/bin/python3 -m venv /opt/gitward \
 && /opt/gitward/bin/pip install -q --no-cache-dir uv==0.13.9 \
 && cd /src \
 && UV_PROJECT_ENVIRONMENT=/opt/gitward UV_PYTHON_DOWNLOADS=never /opt/gitward/bin/uv sync \
      --frozen --no-dev --no-editable --no-cache --compile-bytecode --quiet \
 && /opt/gitward/bin/pip uninstall -q -y uv \
 && ln -s /opt/gitward/bin/gitward /usr/local/bin/gitward \
 && rm -rf /src
# No root: the controller needs none.
USER 65532:65532
ENV HOME=/tmp GITWARD_HELM=/usr/local/bin/helm
ENTRYPOINT ["gitward"]
CMD ["controller", "--help"]
