# Orderloop's gateway, workers and CLI in one image (docker-compose.temporal.yml runs it three
# ways). The embedded dev server is not used in this image: Temporal runs in its own container.
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY activities activities
COPY connectors connectors
COPY gateway gateway
COPY orderloop orderloop
COPY workers workers
COPY workflows workflows
COPY orderloop.yaml ./
RUN pip install --no-cache-dir .
ENV ORDERLOOP_CONFIG=/app/orderloop.yaml
USER nobody
CMD ["orderloop", "--help"]
