# celgate decision service. Build: docker build -t celgate .
# Policies: mount a repository at /policies, or set CELGATE_POLICIES=git+https://…#main
# (token in CELGATE_GIT_TOKEN). Ports: 9090 gRPC (+ Envoy ext_authz/ext_proc), 8080 HTTP.

FROM python:3.11-slim AS build
WORKDIR /src
RUN pip install --no-cache-dir --upgrade pip==25.1.1 wheel==0.45.1
COPY pyproject.toml README.md* ./
COPY server ./server
COPY proto ./proto
COPY policies ./policies
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

FROM python:3.11-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends git=1:2.39.* openssh-client=1:9.2* \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --home-dir /home/celgate --create-home celgate
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/*.whl && rm -rf /wheels
COPY policies /policies
USER 10001
ENV CELGATE_POLICIES=/policies \
    CELGATE_GRPC_ADDR=0.0.0.0:9090 \
    CELGATE_HTTP_ADDR=0.0.0.0:8080 \
    CELGATE_GIT_CACHE_DIR=/home/celgate/git \
    PYTHONUNBUFFERED=1
EXPOSE 9090 8080
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8080/readyz', timeout=2).status != 200)"]
ENTRYPOINT ["celgate", "serve"]
